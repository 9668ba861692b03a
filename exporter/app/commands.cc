#include "app/commands.h"

#include <httplib.h>
#include <signal.h>

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "app/daemon.h"
#include "app/flags.h"
#include "common/log.h"
#include "common/strings.h"
#include "config/config.h"
#include "sim/server.h"
#include "sim/simulator.h"

namespace stakewatch::app {
namespace {

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

int Fail(const absl::Status& status) {
  std::cerr << "stakewatch: " << status.message() << "\n";
  return 1;
}

// Applies --log.level and --log.format.
absl::Status ApplyLogFlags(const std::string& level, const std::string& format) {
  absl::StatusOr<LogLevel> l = ParseLogLevel(level);
  if (!l.ok()) return l.status();
  absl::StatusOr<LogFormat> f = ParseLogFormat(format);
  if (!f.ok()) return f.status();
  SetLogLevel(*l);
  SetLogFormat(*f);
  return absl::OkStatus();
}

}  // namespace

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal(const std::function<void()>& on_hangup) {
  sigset_t set = TerminationSignals();
  while (true) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      if (on_hangup) {
        LogInfo("SIGHUP received; reloading the configuration");
        on_hangup();
      } else {
        LogInfo("SIGHUP received; nothing to reload");
      }
      continue;
    }
    return sig;
  }
}

namespace {

// Prometheus's default --web.external-url: http://<hostname>:<port of the first listener>.
std::string DefaultExternalUrl(const std::vector<std::string>& listen) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) std::snprintf(host, sizeof(host), "localhost");
  std::string port = "9787";
  if (!listen.empty()) {
    const size_t colon = listen[0].rfind(':');
    if (colon != std::string::npos) port = listen[0].substr(colon + 1);
  }
  return absl::StrCat("http://", host, ":", port);
}

}  // namespace

int RunCommand(const std::vector<std::string>& args) {
  FlagSet flags("stakewatch run");
  std::string config_file = "stakewatch.yml";
  std::vector<std::string> listen = {":9787"};
  std::string telemetry_path = "/metrics";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  flags.String("config.file", &config_file, "stakewatch configuration file path.");
  flags.StringList("web.listen-address", &listen,
                   "Addresses on which to expose metrics and the web interface (repeatable).");
  flags.String("web.telemetry-path", &telemetry_path, "Path under which to expose metrics.");
  flags.String("log.level", &log_level,
               "Only log messages with the given severity or above: "
               "debug, info, warn, error.");
  flags.String("log.format", &log_format, "Output format of log messages: logfmt or json.");
  std::string web_config_file;
  bool enable_lifecycle = false;
  int64_t max_concurrency = 20;
  flags.String("web.config.file", &web_config_file,
               "Path to a configuration file that can enable TLS or authentication "
               "(exporter-toolkit's format).");
  flags.Bool("web.enable-lifecycle", &enable_lifecycle,
             "Enable reloading the configuration via HTTP (POST /-/reload).");
  flags.Int("query.max-concurrency", &max_concurrency,
            "Maximum number of queries executed concurrently (further ones wait, as many again "
            "at most).");
  std::string external_url;
  std::string resend_delay = "1m";
  std::string query_timeout = "2m";
  std::string lookback_delta = "5m";
  int64_t max_samples = 50'000'000;
  flags.String("web.external-url", &external_url,
               "The URL under which stakewatch is reachable (for $externalURL in alert templates "
               "and alert generator URLs). Default: http://<hostname>:<port>.");
  flags.String("rules.alert.resend-delay", &resend_delay,
               "Minimum amount of time to wait before resending an alert to Alertmanager.");
  std::string outage_tolerance = "1h";
  std::string grace_period = "10m";
  int64_t queue_capacity = 10000;
  std::string drain_timeout = "5s";
  flags.String("rules.alert.for-outage-tolerance", &outage_tolerance,
               "Max time to tolerate a stakewatch outage for restoring \"for\" state of alerts.");
  flags.String("rules.alert.for-grace-period", &grace_period,
               "Minimum duration between alert and restored \"for\" state.");
  flags.Int("alertmanager.notification-queue-capacity", &queue_capacity,
            "The capacity of the queue for pending Alertmanager notifications.");
  flags.String("alertmanager.drain-timeout", &drain_timeout,
               "How long shutdown may spend sending the notifications still queued.");
  flags.String("query.timeout", &query_timeout,
               "Maximum time a query may take before being "
               "aborted.");
  flags.String("query.lookback-delta", &lookback_delta,
               "The maximum lookback duration for retrieving metrics during expression "
               "evaluations.");
  flags.Int("query.max-samples", &max_samples,
            "Maximum number of samples a single query can load into memory.");
  if (absl::Status s = flags.Parse(args); !s.ok()) return Fail(s);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (absl::Status s = ApplyLogFlags(log_level, log_format); !s.ok()) return Fail(s);
  query::EngineOptions engine;
  {
    absl::StatusOr<absl::Duration> d = config::ParsePrometheusDuration(query_timeout);
    if (!d.ok())
      return Fail(
          absl::InvalidArgumentError("--query.timeout: " + std::string(d.status().message())));
    engine.timeout = *d;
    d = config::ParsePrometheusDuration(lookback_delta);
    if (!d.ok() || *d <= absl::ZeroDuration()) {
      return Fail(absl::InvalidArgumentError("--query.lookback-delta: not a positive duration"));
    }
    engine.lookback_delta_ms = absl::ToInt64Milliseconds(*d);
    if (max_samples <= 0)
      return Fail(absl::InvalidArgumentError("--query.max-samples must be > 0"));
    engine.max_samples = max_samples;
  }
  absl::StatusOr<absl::Duration> resend = config::ParsePrometheusDuration(resend_delay);
  if (!resend.ok()) {
    return Fail(absl::InvalidArgumentError("--rules.alert.resend-delay: " +
                                           std::string(resend.status().message())));
  }
  absl::Duration durations[3];
  {
    const std::pair<const char*, const std::string*> named[3] = {
        {"--rules.alert.for-outage-tolerance", &outage_tolerance},
        {"--rules.alert.for-grace-period", &grace_period},
        {"--alertmanager.drain-timeout", &drain_timeout}};
    for (int i = 0; i < 3; ++i) {
      absl::StatusOr<absl::Duration> d = config::ParsePrometheusDuration(*named[i].second);
      if (!d.ok()) {
        return Fail(absl::InvalidArgumentError(std::string(named[i].first) + ": " +
                                               std::string(d.status().message())));
      }
      durations[i] = *d;
    }
  }
  if (queue_capacity <= 0) {
    return Fail(
        absl::InvalidArgumentError("--alertmanager.notification-queue-capacity must be > 0"));
  }
  if (max_concurrency <= 0 || max_concurrency > 1000) {
    return Fail(absl::InvalidArgumentError("--query.max-concurrency must be in [1, 1000]"));
  }
  absl::StatusOr<std::string> config_text = config::ReadConfigFile(config_file);
  if (!config_text.ok()) return Fail(config_text.status());
  absl::StatusOr<config::Config> cfg = config::ParseConfig(*config_text, config_file);
  if (!cfg.ok()) return Fail(cfg.status());

  DaemonOptions options;
  options.config = std::move(*cfg);
  options.config_file = config_file;
  options.config_text = std::move(*config_text);
  options.web_config_file = web_config_file;
  options.enable_lifecycle = enable_lifecycle;
  options.query_max_concurrency = static_cast<int>(max_concurrency);
  options.listen_addresses = listen;
  options.telemetry_path = telemetry_path;
  options.config_dir = std::filesystem::path(config_file).parent_path().string();
  if (options.config_dir.empty()) options.config_dir = ".";
  options.external_url = external_url.empty() ? DefaultExternalUrl(listen) : external_url;
  while (!options.external_url.empty() && options.external_url.back() == '/') {
    options.external_url.pop_back();
  }
  options.resend_delay = *resend;
  options.restore.outage_tolerance = durations[0];
  options.restore.grace_period = durations[1];
  options.notification_queue_capacity = static_cast<size_t>(queue_capacity);
  options.notifier_drain_timeout = durations[2];
  options.engine = engine;
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Create(std::move(options));
  if (!daemon.ok()) return Fail(daemon.status());
  if (absl::Status s = (*daemon)->Start(); !s.ok()) return Fail(s);
  LogInfo("stakewatch started", {{"version", StakewatchVersion()}, {"config", config_file}});
  Daemon* d = daemon->get();
  const int sig = WaitForTerminationSignal([d] { (void)d->Reload(); });
  const absl::Time stop_start = absl::Now();
  LogInfo("shutting down", {{"signal", absl::StrCat(sig)}});
  // Shutdown is bounded (9 s, or the drain timeout + 2 s if longer): alert state and progress are
  // already on disk and the notifier is drained first, so what a hard exit can cut short is only
  // a source's request in flight.
  const absl::Duration limit = std::max(absl::Seconds(9), durations[2] + absl::Seconds(2));
  auto stopped = std::make_shared<absl::Notification>();
  std::thread stopper([d, stopped] {
    d->Stop();
    stopped->Notify();
  });
  if (!stopped->WaitForNotificationWithTimeout(limit)) {
    LogWarn("shutdown did not finish in time; exiting without waiting for sources in flight",
            {{"limit", absl::FormatDuration(limit)}});
    std::fflush(nullptr);
    std::_Exit(0);
  }
  stopper.join();
  LogInfo("stopped", {{"took", absl::FormatDuration(absl::Now() - stop_start)}});
  return 0;
}

int HealthcheckCommand(const std::vector<std::string>& args) {
  FlagSet flags("stakewatch healthcheck");
  std::string url = "http://127.0.0.1:9787/-/healthy";
  std::string timeout = "5s";
  std::string ca_file;
  bool insecure = false;
  std::string user;
  std::string password_file;
  flags.String("url", &url, "URL to GET; exit 0 if it answers 200 (for container HEALTHCHECKs).");
  flags.String("timeout", &timeout, "Connect and read timeout.");
  flags.String("ca-file", &ca_file, "CA certificate to verify an https URL's server with.");
  flags.Bool("insecure-skip-verify", &insecure, "Do not verify an https URL's certificate.");
  flags.String("user", &user, "Basic-auth user name (with --password-file).");
  flags.String("password-file", &password_file, "File holding the basic-auth password.");
  if (absl::Status s = flags.Parse(args); !s.ok()) return Fail(s);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  absl::StatusOr<absl::Duration> t = config::ParsePrometheusDuration(timeout);
  if (!t.ok() || *t <= absl::ZeroDuration()) {
    return Fail(absl::InvalidArgumentError("--timeout: not a positive duration"));
  }
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos ||
      (url.compare(0, scheme_end, "http") != 0 && url.compare(0, scheme_end, "https") != 0)) {
    return Fail(absl::InvalidArgumentError("--url must start with http:// or https://"));
  }
  const size_t path_start = url.find('/', scheme_end + 3);
  const std::string base = url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(base);
  if (!client.is_valid()) return Fail(absl::InvalidArgumentError("--url: cannot parse " + base));
  const auto micros = absl::ToInt64Microseconds(*t);
  client.set_connection_timeout(micros / 1000000, micros % 1000000);
  client.set_read_timeout(micros / 1000000, micros % 1000000);
  if (!ca_file.empty()) client.set_ca_cert_path(ca_file.c_str());
  client.enable_server_certificate_verification(!insecure);
  if (!user.empty()) {
    std::ifstream in(password_file);
    std::string password;
    if (!in || !std::getline(in, password)) {
      return Fail(absl::InvalidArgumentError("--password-file: cannot read " + password_file));
    }
    client.set_basic_auth(user.c_str(), password.c_str());
  }
  httplib::Result r = client.Get(path.c_str());
  if (!r) {
    std::cerr << "stakewatch healthcheck: " << base << path << ": " << httplib::to_string(r.error())
              << "\n";
    return 1;
  }
  if (r->status != 200) {
    std::cerr << "stakewatch healthcheck: " << base << path << " answered " << r->status << "\n";
    return 1;
  }
  return 0;
}

int DemoCommand(const std::vector<std::string>& args) {
  FlagSet flags("stakewatch demo");
  std::vector<std::string> listen = {"127.0.0.1:9787"};
  uint64_t validators = 2000;
  double slot_time = 0.25;
  uint64_t seed = 1;
  std::string log_level = "warn";
  flags.StringList("web.listen-address", &listen, "Address of the daemon's /metrics.");
  flags.Uint("validators", &validators, "Validators on the simulated chain (all monitored).");
  flags.Double("slot-time", &slot_time, "Seconds per simulated slot.");
  flags.Uint("seed", &seed, "Seed of the simulated chain.");
  flags.String("log.level", &log_level, "Log level: debug, info, warn, error.");
  if (absl::Status s = flags.Parse(args); !s.ok()) return Fail(s);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  if (absl::Status s = ApplyLogFlags(log_level, "logfmt"); !s.ok()) return Fail(s);
  if (validators == 0 || validators > 1100000) {
    return Fail(absl::InvalidArgumentError("--validators must be between 1 and 1100000"));
  }
  if (!(slot_time >= 0.01)) return Fail(absl::InvalidArgumentError("--slot-time must be >= 0.01"));

  // The simulated chain, with a few faults so that the numbers have something to show.
  std::vector<std::string> sim_args = {"--listen-address=127.0.0.1",
                                       "--port=0",
                                       absl::StrCat("--validators=", validators),
                                       absl::StrCat("--slot-time=", slot_time),
                                       absl::StrCat("--seed=", seed),
                                       "--missed-slot-rate=0.03",
                                       "--missed-attestation-rate=0.01",
                                       "--late-attestation-rate=0.05",
                                       "--wrong-head-rate=0.02",
                                       "--duplicate-inclusion-rate=0.05"};
  absl::StatusOr<sim::SimOptions> sim_options = sim::ParseSimFlags(sim_args);
  if (!sim_options.ok()) return Fail(sim_options.status());
  absl::StatusOr<std::unique_ptr<sim::ChainSimulator>> chain =
      sim::ChainSimulator::Create(*sim_options, Clock::Real());
  if (!chain.ok()) return Fail(chain.status());
  sim::SimServer sim_server(chain->get(), "127.0.0.1", 0);
  if (absl::Status s = sim_server.Start(); !s.ok()) return Fail(s);
  const std::string node = absl::StrCat("http://127.0.0.1:", sim_server.port());

  // Two groups, as an operator would configure them, in a generated configuration file that
  // goes through the same loader as `stakewatch run`'s.
  const uint64_t split = std::max<uint64_t>(1, validators / 10);
  // The demo's chain is new every run: keep its progress in a fresh temporary directory.
  std::string state_dir = "/tmp/stakewatch-demo-XXXXXX";
  if (mkdtemp(state_dir.data()) == nullptr) {
    return Fail(absl::InternalError("cannot create a temporary directory under /tmp"));
  }
  std::string yaml =
      absl::StrCat("storage:\n  path: ", state_dir, "\n", "beacon:\n  nodes: [\"", node,
                   "\"]\n  poll_interval: ", static_cast<int64_t>(slot_time * 1000), "ms\n",
                   "validators:\n  groups:\n", "    - name: solo\n      labels: {operator: me}\n",
                   "      indices: [\"0-", split - 1, "\"]\n");
  if (split < validators) {
    absl::StrAppend(&yaml, "    - name: pool\n      labels: {operator: acme}\n",
                    "      indices: [\"", split, "-", validators - 1, "\"]\n");
  }
  absl::StatusOr<config::Config> cfg = config::ParseConfig(yaml, "demo.yml");
  if (!cfg.ok()) return Fail(cfg.status());
  DaemonOptions options;
  options.listen_addresses = listen;
  options.config = std::move(*cfg);
  options.on_epoch = [](const accounting::EpochResult& r, absl::Duration took) {
    uint64_t included = 0, missed = 0, delay_sum = 0, proposed = 0, missed_blocks = 0;
    for (const auto& a : r.attestations) {
      if (a.included) {
        ++included;
        delay_sum += a.inclusion_delay;
      } else {
        ++missed;
      }
    }
    for (const auto& p : r.proposals) {
      (p.outcome == accounting::ProposalOutcome::kProposed ? proposed : missed_blocks)++;
    }
    std::cout << absl::StrFormat(
                     "epoch %d: attestations %d included, %d missed, mean inclusion delay %.2f "
                     "slots; proposals %d proposed, %d missed; processed in %d ms",
                     r.epoch, included, missed,
                     included ? static_cast<double>(delay_sum) / included : 0.0, proposed,
                     missed_blocks, absl::ToInt64Milliseconds(took))
              << std::endl;
  };
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Create(std::move(options));
  if (!daemon.ok()) return Fail(daemon.status());
  if (absl::Status s = (*daemon)->Start(); !s.ok()) return Fail(s);
  std::cout << "stakewatch demo: generated configuration:\n" << yaml << "\n";
  std::cout << "stakewatch demo: simulated beacon node at " << node << " with " << validators
            << " validators, " << slot_time << " s slots\n"
            << "metrics: http://" << (*daemon)->bound_addresses()[0] << "/metrics\n"
            << "press Ctrl-C to stop; one line per processed epoch follows" << std::endl;
  WaitForTerminationSignal();
  (*daemon)->Stop();
  sim_server.Stop();
  return 0;
}

}  // namespace stakewatch::app
