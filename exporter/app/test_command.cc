#include "app/test_command.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "promql/parser.h"
#include "promqltest/script.h"
#include "query/promqltest_engine.h"
#include "unittest/test_rules.h"

namespace stakewatch::app {
namespace {

constexpr char kUsage[] =
    "usage: stakewatch test promql FILE...\n"
    "  Runs PromQL test scripts in Prometheus's promqltest format against stakewatch's engine.\n"
    "usage: stakewatch test rules TEST_FILE...\n"
    "  Runs rule unit tests in promtool's format (as `promtool test rules`).\n";

int TestPromql(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  if (files.empty()) {
    err << kUsage;
    return 2;
  }
  int passed = 0, failed = 0;
  promqltest::ParseOptions options;
  options.validate_expr = [](std::string_view e) { return promql::ParseExpr(e).status(); };
  for (const std::string& path : files) {
    std::ifstream in(path);
    if (!in) {
      err << path << ": cannot open file\n";
      ++failed;
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    absl::StatusOr<promqltest::Script> script = promqltest::ParseScript(ss.str(), options);
    if (!script.ok()) {
      err << path << ":" << script.status().message() << "\n";
      ++failed;
      continue;
    }
    query::PromqlTestEngine engine;
    promqltest::RunReport report = promqltest::RunScript(*script, engine);
    for (const promqltest::CaseResult& c : report.cases) {
      if (c.passed) continue;
      out << path << ":" << c.line << ": FAILED: " << c.command << "\n    " << c.message << "\n";
    }
    passed += report.passed;
    failed += report.failed;
  }
  out << passed << " passed, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace

int TestCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "rules") {
    return unittest::TestRulesCommand(std::vector<std::string>(args.begin() + 1, args.end()), out,
                                      err);
  }
  if (args[0] == "promql") {
    return TestPromql(std::vector<std::string>(args.begin() + 1, args.end()), out, err);
  }
  err << "stakewatch test: unknown subcommand \"" << args[0] << "\"\n" << kUsage;
  return 2;
}

}  // namespace stakewatch::app
