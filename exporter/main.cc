// stakewatch: Ethereum validator monitoring for Prometheus, Grafana and Alertmanager.
//
//   stakewatch [run] [--config.file=stakewatch.yml] [--web.listen-address=:9787] ...
//   stakewatch demo [--validators=N] [--slot-time=SECONDS] [--web.listen-address=ADDR]
//   stakewatch report --beacon-node=URL --validators=SPEC --epochs=FROM[:TO] [--format=F]
//   stakewatch simulate --port=P --validators=N --slot-time=SECONDS ...
//   stakewatch check rules|config|web-config FILE...
//   stakewatch healthcheck [--url=URL]
//   stakewatch --version
#include <iostream>
#include <string>
#include <vector>

#include "app/check_rules.h"
#include "app/commands.h"
#include "app/report.h"
#include "app/self_metrics.h"
#include "app/test_command.h"
#include "sim/server.h"

namespace {

constexpr char kUsage[] =
    "usage: stakewatch [COMMAND] [FLAGS]\n"
    "\n"
    "Commands:\n"
    "  run       the monitoring daemon (default)\n"
    "  demo      a simulated chain and the daemon watching it\n"
    "  report    one-shot accounting of an epoch range (table, json or csv)\n"
    "  simulate  serve a deterministic simulated beacon chain\n"
    "  check     check files: check rules|config|web-config FILE...\n"
    "  healthcheck  exit 0 if a URL (default http://127.0.0.1:9787/-/healthy) answers 200\n"
    "  test      run PromQL test scripts: test promql FILE...\n"
    "\n"
    "Run 'stakewatch COMMAND --help' for a command's flags; 'stakewatch --version'.\n";

}  // namespace

int main(int argc, char** argv) {
  stakewatch::app::BlockTerminationSignals();
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string command = "run";
  if (!args.empty() && !args[0].empty() && args[0][0] != '-') {
    command = args[0];
    args.erase(args.begin());
  }
  if (command == "run" && !args.empty() && (args[0] == "--version" || args[0] == "version")) {
    command = "version";
  }
  if (command == "version") {
    std::cout << "stakewatch, version " << stakewatch::app::StakewatchVersion()
              << " (revision: " << stakewatch::app::StakewatchRevision() << ")\n";
    return 0;
  }
  if (command == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (command == "run") return stakewatch::app::RunCommand(args);
  if (command == "demo") return stakewatch::app::DemoCommand(args);
  if (command == "healthcheck") return stakewatch::app::HealthcheckCommand(args);
  if (command == "report") return stakewatch::app::ReportCommand(args);
  if (command == "check") return stakewatch::app::CheckCommand(args);
  if (command == "test") return stakewatch::app::TestCommand(args, std::cout, std::cerr);
  if (command == "simulate") {
    absl::Status s = stakewatch::sim::RunSimulateCommand(args);
    if (!s.ok()) {
      std::cerr << "stakewatch simulate: " << s.message() << "\n";
      return 1;
    }
    return 0;
  }
  std::cerr << "stakewatch: unknown command \"" << command << "\"\n\n" << kUsage;
  return 2;
}
