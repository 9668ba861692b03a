// Operating stakewatch like a Prometheus exporter (issue #8), against the real binary: SIGTERM
// within 10 s with a stuck Alertmanager and state persisted; structured logs without secrets;
// configuration reload (SIGHUP, POST /-/reload) that keeps the old configuration on error;
// `stakewatch check config`; TLS, basic auth and request limits through the daemon; and
// expensive queries that must not starve /metrics scrapes.
//
// Every process is a child on loopback ports chosen at run time; the beacon node is
// `stakewatch simulate`. Certificates come from the openssl CLI and bcrypt hashes from htpasswd
// (apache2-utils), never from the code under test.
#include <httplib.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "support/process.h"

namespace stakewatch {
namespace {

using testing::FreePort;
using testing::HttpGet;
using testing::LogField;
using testing::MakeTempDir;
using testing::ParseMetricsText;
using testing::ReadFile;
using testing::RunShell;
using testing::StakewatchBinary;
using testing::Subprocess;
using testing::WriteFile;

class Operate : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTempDir("stakewatch-operate"); }

  // A simulated beacon node with `validators` validators and 50 ms slots.
  void StartSim(int validators = 64) {
    auto sim = Subprocess::Start(
        {StakewatchBinary(), "simulate", "--listen-address=127.0.0.1", "--port=0",
         absl::StrCat("--validators=", validators), "--slot-time=0.05", "--seed=8",
         absl::StrCat("--genesis-time=", absl::ToUnixSeconds(absl::Now()) - 10)},
        dir_ + "/sim");
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    auto line = sim_->WaitForOutput("simulator listening", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    sim_port_ = std::stoi(LogField(*line, "port"));
  }

  // Starts `stakewatch run` with the config file at dir_/stakewatch.yml and `extra` flags.
  void StartDaemon(const std::vector<std::string>& extra, bool wait_started = true) {
    port_ = FreePort();
    std::vector<std::string> argv = {StakewatchBinary(), "run",
                                     absl::StrCat("--config.file=", dir_, "/stakewatch.yml"),
                                     absl::StrCat("--web.listen-address=127.0.0.1:", port_)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = Subprocess::Start(argv, dir_ + "/stakewatch");
    ASSERT_TRUE(p.ok()) << p.status();
    proc_ = std::move(*p);
    if (wait_started) {
      ASSERT_TRUE(proc_->WaitForOutput("stakewatch started", absl::Seconds(30)).ok())
          << proc_->Stdout() << proc_->Stderr();
    }
  }

  std::map<std::string, double> Metrics() { return testing::ScrapeMetrics("127.0.0.1", port_); }

  // Polls /metrics until `series` reaches at least `min` (or 60 s pass); returns the last value.
  double WaitFor(const std::string& series, double min) {
    return testing::WaitForMetric("127.0.0.1", port_, series, min, absl::Seconds(60));
  }

  // Polls until `path` answers 200 (60 s at most).
  bool WaitReady(const std::string& path = "/-/ready") {
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (absl::Now() < deadline) {
      auto r = HttpGet("127.0.0.1", port_, path);
      if (r.ok() && r->status == 200) return true;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return false;
  }

  std::string dir_;
  std::unique_ptr<Subprocess> sim_;
  int sim_port_ = 0;
  std::unique_ptr<Subprocess> proc_;
  int port_ = 0;
};

// A TCP listener that accepts connections and never answers: an Alertmanager that hangs.
class Blackhole {
 public:
  Blackhole() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 64);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Blackhole() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST_F(Operate, SigtermStopsWithinTenSecondsAndPersistsState) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  Blackhole am;  // the notifier's requests hang: the drain has to give up on time
  ASSERT_TRUE(WriteFile(dir_ + "/always.rules.yml",
                        "groups:\n  - name: always\n    interval: 1s\n    rules:\n"
                        "      - alert: AlwaysFiring\n        expr: vector(1)\n"
                        "        labels: {severity: info}\n")
                  .ok());
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml",
                        absl::StrCat("storage:\n  path: ", dir_, "/data\n",
                                     "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n",
                                     "rule_files: [always.rules.yml]\n",
                                     "alerting:\n  alertmanagers:\n    - timeout: 30s\n"
                                     "      static_configs: [{targets: ['127.0.0.1:",
                                     am.port(), "']}]\n", "beacon:\n  nodes: [\"http://127.0.0.1:",
                                     sim_port_, "\"]\n  poll_interval: 50ms\n",
                                     "validators:\n  groups:\n    - name: solo\n"
                                     "      indices: [\"0-15\"]\n"))
                  .ok());
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--rules.alert.resend-delay=1s"}));
  ASSERT_TRUE(WaitReady()) << proc_->Stderr();
  // The alert fires and is being sent: the request hangs in the black hole (its 30 s timeout
  // is far beyond the 10 s allowed for shutdown).
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  bool firing = false;
  while (!firing && absl::Now() < deadline) {
    auto r = HttpGet("127.0.0.1", port_, "/api/v1/alerts");
    firing = r.ok() && absl::StrContains(r->body, "\"state\":\"firing\"");
    if (!firing) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(firing) << proc_->Stderr();
  absl::SleepFor(absl::Seconds(2));  // resend delay 1s: a batch is in flight
  const absl::Time start = absl::Now();
  const int status = proc_->Stop(SIGTERM, absl::Seconds(30));
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(10)) << "SIGTERM took " << took;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  const std::string log = proc_->Stdout() + proc_->Stderr();
  EXPECT_TRUE(absl::StrContains(log, "msg=stopped")) << log;
  // Alert state and progress are on disk.
  absl::StatusOr<std::string> alerts = ReadFile(dir_ + "/data/alerts.json");
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  EXPECT_TRUE(absl::StrContains(*alerts, "AlwaysFiring")) << *alerts;
  EXPECT_TRUE(absl::StrContains(*alerts, "\"firing\"")) << *alerts;
  absl::StatusOr<std::string> progress = ReadFile(dir_ + "/data/progress");
  EXPECT_TRUE(progress.ok()) << progress.status();
}

// Every source hangs (a beacon node, a validator client and Web3Signer that accept connections
// and never answer, with 30 s timeouts): shutdown must still end within 10 s.
TEST_F(Operate, SigtermWithHungSourcesStillStopsWithinTenSeconds) {
  Blackhole bn, vc, signer;
  ASSERT_TRUE(
      WriteFile(
          dir_ + "/stakewatch.yml",
          absl::StrCat("storage:\n  path: ", dir_, "/data\n",
                       "beacon:\n  nodes: [\"http://127.0.0.1:", bn.port(), "\"]\n  timeout: 30s\n",
                       "validator_clients:\n  - name: vc\n    url: http://127.0.0.1:", vc.port(),
                       "/metrics\n    timeout: 30s\n",
                       "web3signer:\n  url: http://127.0.0.1:", signer.port(), "\n  timeout: 30s\n",
                       "validators:\n  groups:\n    - name: solo\n"
                       "      indices: [1]\n"))
          .ok());
  ASSERT_NO_FATAL_FAILURE(StartDaemon({}));
  absl::SleepFor(absl::Seconds(2));  // every poller is inside its first request
  const absl::Time start = absl::Now();
  const int status = proc_->Stop(SIGTERM, absl::Seconds(60));
  const absl::Duration took = absl::Now() - start;
  EXPECT_LT(took, absl::Seconds(10)) << "SIGTERM took " << took;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(Operate, LogsAreOneJsonEventPerLineAndNeverHoldASecret) {
  ASSERT_NO_FATAL_FAILURE(StartSim());
  const std::vector<std::string> secrets = {"beaconsecret1", "deadnodesecret2", "ampassword3",
                                            "scrapetoken4",  "dbpassword5",     "vcpassword6"};
  ASSERT_TRUE(WriteFile(dir_ + "/db.dsn",
                        "postgres://signer:dbpassword5@127.0.0.1:1/web3signer?connect_timeout=1\n")
                  .ok());
  const std::string config = absl::StrCat(
      "storage:\n  path: ", dir_, "/data\n",
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n",
      "alerting:\n  alertmanagers:\n    - basic_auth: {username: am, password: ampassword3}\n"
      "      static_configs: [{targets: ['127.0.0.1:1']}]\n",
      "rule_files: [always.rules.yml]\n",
      "scrape_configs:\n  - job_name: other\n    authorization: {credentials: scrapetoken4}\n"
      "    static_configs: [{targets: ['127.0.0.1:1']}]\n",
      "validator_clients:\n  - name: vc\n    url: http://vc:vcpassword6@127.0.0.1:1/metrics\n",
      "slashing_db:\n  dsn_file: ", dir_, "/db.dsn\n",
      "beacon:\n  nodes: [\"http://u:deadnodesecret2@127.0.0.1:1\", "
      "\"http://u:beaconsecret1@127.0.0.1:",
      sim_port_, "\"]\n  poll_interval: 50ms\n",
      "validators:\n  groups:\n    - name: solo\n      indices: [\"0-15\"]\n");
  ASSERT_TRUE(WriteFile(dir_ + "/always.rules.yml",
                        "groups:\n  - name: always\n    interval: 1s\n    rules:\n"
                        "      - alert: AlwaysFiring\n        expr: vector(1)\n")
                  .ok());
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml", config).ok());
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({"--log.level=debug", "--log.format=json", "--web.enable-lifecycle"}, false));
  ASSERT_TRUE(WaitReady()) << proc_->Stderr();
  // Failures everywhere for a while, then a reload with a broken file and one with a good file.
  absl::SleepFor(absl::Seconds(4));
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml", config + "bogus_key: dbpassword5\n").ok());
  ASSERT_EQ(kill(proc_->pid(), SIGHUP), 0);
  absl::SleepFor(absl::Seconds(1));
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml", config).ok());
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Post("/-/reload");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(proc_->Stop(SIGTERM, absl::Seconds(30)), 0);

  const std::string out = proc_->Stdout() + proc_->Stderr();
  for (const std::string& s : secrets) EXPECT_FALSE(absl::StrContains(out, s)) << s << "\n" << out;
  // One JSON object per line, each with a timestamp, a level and a message.
  simdjson::dom::parser parser;
  size_t lines = 0;
  bool saw_reload_error = false, saw_source_failing = false;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    ++lines;
    simdjson::dom::element e;
    ASSERT_EQ(parser.parse(line.data(), line.size()).get(e), simdjson::SUCCESS) << line;
    ASSERT_TRUE(e.is_object()) << line;
    std::string_view msg;
    EXPECT_EQ(e["ts"].get(msg), simdjson::SUCCESS) << line;
    EXPECT_EQ(e["level"].get(msg), simdjson::SUCCESS) << line;
    ASSERT_EQ(e["msg"].get(msg), simdjson::SUCCESS) << line;
    if (msg.rfind("configuration reload failed", 0) == 0) {
      saw_reload_error = true;
      std::string_view err_view;
      ASSERT_EQ(e["err"].get(err_view), simdjson::SUCCESS) << line;
      const std::string err(err_view);
      // The error names the file and line of the bad key.
      EXPECT_TRUE(absl::StrContains(err, "stakewatch.yml:")) << err;
      EXPECT_TRUE(absl::StrContains(err, "bogus_key")) << err;
    }
    if (msg == "source failing") saw_source_failing = true;
  }
  EXPECT_GT(lines, 10u);
  EXPECT_TRUE(saw_reload_error) << out;
  EXPECT_TRUE(saw_source_failing) << out;
}

TEST_F(Operate, ReloadAppliesWhatItCanAndKeepsTheOldConfigurationOnError) {
  auto write_rules = [&](const std::string& name, const std::string& alert) {
    return WriteFile(dir_ + "/" + name,
                     absl::StrCat("groups:\n  - name: ", alert, "\n    interval: 1s\n    rules:\n",
                                  "      - alert: ", alert, "\n        expr: vector(1)\n"));
  };
  ASSERT_TRUE(write_rules("a.rules.yml", "First").ok());
  ASSERT_TRUE(write_rules("b.rules.yml", "Second").ok());
  auto config = [&](const std::string& rule_file, const std::string& env,
                    const std::string& extra) {
    return absl::StrCat("storage:\n  path: ", dir_,
                        "/data\nglobal:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                        "  external_labels: {env: ",
                        env, "}\nrule_files: [", rule_file, "]\n", extra);
  };
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml", config("a.rules.yml", "one", "")).ok());
  ASSERT_NO_FATAL_FAILURE(StartDaemon({}));
  auto alert_names = [&]() {
    auto r = HttpGet("127.0.0.1", port_, "/api/v1/alerts");
    return r.ok() ? r->body : std::string();
  };
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!absl::StrContains(alert_names(), "First") && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(absl::StrContains(alert_names(), "First"));

  // Without --web.enable-lifecycle, POST /-/reload is refused as Prometheus refuses it.
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Post("/-/reload");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "Lifecycle API is not enabled.\n");

  // A broken file: nothing changes, the failure is a metric and a log line naming file:line.
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml",
                        config("b.rules.yml", "two", "beacon:\n  poll_interval: banana\n"))
                  .ok());
  ASSERT_EQ(kill(proc_->pid(), SIGHUP), 0);
  ASSERT_TRUE(proc_->WaitForOutput("configuration reload failed", absl::Seconds(10)).ok());
  std::map<std::string, double> m = Metrics();
  EXPECT_EQ(m["stakewatch_config_last_reload_successful"], 0);
  const std::string log = proc_->Stderr() + proc_->Stdout();
  EXPECT_TRUE(absl::StrContains(log, "stakewatch.yml:9:")) << log;  // poll_interval's line
  absl::SleepFor(absl::Seconds(2));
  EXPECT_TRUE(absl::StrContains(alert_names(), "First"));
  EXPECT_FALSE(absl::StrContains(alert_names(), "Second"));
  auto status = HttpGet("127.0.0.1", port_, "/status");
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(absl::StrContains(status->body, "banana")) << "the status page shows the error";

  // A rule file that does not parse: also refused as a whole (the config part is valid).
  ASSERT_TRUE(WriteFile(dir_ + "/b.rules.yml",
                        "groups:\n  - name: x\n    rules:\n"
                        "      - alert: Broken\n        expr: sum(\n")
                  .ok());
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml", config("b.rules.yml", "two", "")).ok());
  ASSERT_EQ(kill(proc_->pid(), SIGHUP), 0);
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(Metrics()["stakewatch_config_last_reload_successful"], 0);
  EXPECT_TRUE(absl::StrContains(alert_names(), "First"));

  // A good file: the new rule file and external labels apply; a new validators section is
  // noted as needing a restart.
  ASSERT_TRUE(write_rules("b.rules.yml", "Second").ok());
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml",
                        config("b.rules.yml", "two",
                               "validators:\n  groups:\n    - name: g\n      indices: [1]\n"))
                  .ok());
  ASSERT_EQ(kill(proc_->pid(), SIGHUP), 0);
  EXPECT_EQ(WaitFor("stakewatch_config_last_reload_successful", 1), 1);
  const absl::Time deadline2 = absl::Now() + absl::Seconds(30);
  while (!absl::StrContains(alert_names(), "Second") && absl::Now() < deadline2) {
    absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(absl::StrContains(alert_names(), "Second"));
  EXPECT_FALSE(absl::StrContains(alert_names(), "\"First\""));
  m = Metrics();
  EXPECT_EQ(m["stakewatch_config_restart_pending"], 1);
  EXPECT_TRUE(proc_->WaitForOutput("take effect only after a restart", absl::Seconds(5)).ok());
  EXPECT_TRUE(absl::StrContains(proc_->Stderr() + proc_->Stdout(), "sections=validators"));
}

TEST_F(Operate, CheckConfigReportsFileLineErrors) {
  ASSERT_TRUE(WriteFile(dir_ + "/ok.rules.yml",
                        "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: "
                        "vector(1)\n")
                  .ok());
  ASSERT_TRUE(WriteFile(dir_ + "/good.yml",
                        "rule_files: [ok.rules.yml]\nbeacon:\n"
                        "  nodes: [\"http://localhost:5052\"]\n")
                  .ok());
  std::string out;
  EXPECT_EQ(RunShell(StakewatchBinary() + " check config " + dir_ + "/good.yml", &out), 0) << out;
  EXPECT_TRUE(absl::StrContains(out, "SUCCESS: 1 rule files found")) << out;
  EXPECT_TRUE(absl::StrContains(out, "SUCCESS: 1 rules found")) << out;

  ASSERT_TRUE(WriteFile(dir_ + "/bad.yml",
                        "beacon:\n  nodes: [\"http://localhost:5052\"]\n"
                        "  timeout: forever\n")
                  .ok());
  EXPECT_EQ(RunShell(StakewatchBinary() + " check config " + dir_ + "/bad.yml", &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, dir_ + "/bad.yml:3:")) << out;
  EXPECT_TRUE(absl::StrContains(out, "FAILED")) << out;

  ASSERT_TRUE(WriteFile(dir_ + "/broken.rules.yml",
                        "groups:\n  - name: g\n    rules:\n      - record: x\n        expr: sum(\n")
                  .ok());
  ASSERT_TRUE(WriteFile(dir_ + "/rules-bad.yml", "rule_files: [broken.rules.yml]\n").ok());
  EXPECT_EQ(RunShell(StakewatchBinary() + " check config " + dir_ + "/rules-bad.yml", &out), 1)
      << out;
  EXPECT_TRUE(absl::StrContains(out, "broken.rules.yml")) << out;
}

// TLS + basic auth through the daemon, with material made by openssl and htpasswd.
class Secured : public Operate {
 protected:
  void SetUp() override {
    Operate::SetUp();
    const std::string d = dir_;
    std::string out;
    const std::string cmd = absl::StrCat(
        "cd ", d,
        " && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key "
        "-out ca.crt"
        " && openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out "
        "server.csr"
        " && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext"
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 "
        "-extfile san.ext -out server.crt"
        " && htpasswd -nbB -C 5 alice correct-horse > htpasswd");
    ASSERT_EQ(RunShell(cmd, &out), 0) << out;
    absl::StatusOr<std::string> line = ReadFile(d + "/htpasswd");
    ASSERT_TRUE(line.ok());
    std::string hash(absl::StripAsciiWhitespace(line->substr(line->find(':') + 1)));
    ASSERT_TRUE(
        WriteFile(d + "/web.yml", absl::StrCat("tls_server_config:\n  cert_file: server.crt\n"
                                               "  key_file: server.key\n  min_version: TLS12\n"
                                               "http_server_config:\n  headers:\n"
                                               "    X-Frame-Options: deny\n"
                                               "basic_auth_users:\n  alice: '",
                                               hash, "'\n"))
            .ok());
    ASSERT_TRUE(
        WriteFile(d + "/stakewatch.yml", absl::StrCat("storage:\n  path: ", d, "/data\n")).ok());
    ASSERT_NO_FATAL_FAILURE(StartDaemon({"--web.config.file=" + d + "/web.yml"}));
  }

  std::unique_ptr<httplib::SSLClient> Client() {
    auto c = std::make_unique<httplib::SSLClient>("127.0.0.1", port_);
    c->set_ca_cert_path((dir_ + "/ca.crt").c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(5);
    c->set_read_timeout(10);
    return c;
  }
};

TEST_F(Secured, BasicAuthOverTls) {
  auto c = Client();
  auto none = c->Get("/metrics");
  ASSERT_TRUE(none) << httplib::to_string(none.error());
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate").rfind("Basic", 0), 0u);
  EXPECT_EQ(none->body, "Unauthorized\n");

  c->set_basic_auth("alice", "wrong-horse");
  auto wrong = c->Get("/metrics");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  c->set_basic_auth("mallory", "correct-horse");
  auto unknown = c->Get("/metrics");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 401);
  // Every path is protected, the health endpoints too (as exporter-toolkit does).
  auto health = c->Get("/-/healthy");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 401);

  c->set_basic_auth("alice", "correct-horse");
  auto ok = c->Get("/metrics");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(absl::StrContains(ok->body, "stakewatch_build_info")) << ok->body.substr(0, 300);
  EXPECT_EQ(ok->get_header_value("X-Frame-Options"), "deny");
  // The four refusals above are counted.
  std::map<std::string, double> m = ParseMetricsText(ok->body);
  EXPECT_EQ(m["stakewatch_web_auth_failures_total"], 4);
}

// `stakewatch healthcheck` (the container HEALTHCHECK) against the TLS + basic-auth listener.
TEST_F(Secured, HealthcheckCommandSpeaksTlsAndBasicAuth) {
  ASSERT_TRUE(WriteFile(dir_ + "/password", "correct-horse\n").ok());
  const std::string base =
      absl::StrCat(StakewatchBinary(), " healthcheck --url=https://127.0.0.1:", port_,
                   "/-/healthy --ca-file=", dir_, "/ca.crt");
  std::string out;
  EXPECT_EQ(RunShell(base + " --user=alice --password-file=" + dir_ + "/password", &out), 0) << out;
  EXPECT_EQ(RunShell(base, &out), 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "answered 401")) << out;
  // Without the CA the server's certificate does not verify.
  EXPECT_EQ(
      RunShell(absl::StrCat(StakewatchBinary(), " healthcheck --url=https://127.0.0.1:", port_,
                            "/-/healthy --user=alice --password-file=", dir_, "/password"),
               &out),
      1)
      << out;
}

TEST_F(Secured, PlainHttpToTheTlsListenerIsRefused) {
  httplib::Client plain("127.0.0.1", port_);
  plain.set_connection_timeout(5);
  plain.set_read_timeout(5);
  auto r = plain.Get("/metrics");
  // Either no HTTP answer at all or an error status; never the metrics.
  if (r) {
    EXPECT_NE(r->status, 200);
    EXPECT_FALSE(absl::StrContains(r->body, "stakewatch_build_info"));
  }
  // The TLS listener still serves afterwards.
  auto c = Client();
  c->set_basic_auth("alice", "correct-horse");
  auto ok = c->Get("/-/healthy");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(Secured, HeaderAndBodySizesAreLimited) {
  auto c = Client();
  c->set_basic_auth("alice", "correct-horse");
  // 12 headers of 7 KiB: each line is under cpp-httplib's 8 KiB line limit, the section is over
  // the daemon's 64 KiB limit.
  httplib::Headers big;
  for (int i = 0; i < 12; ++i) big.emplace(absl::StrCat("X-Pad-", i), std::string(7 * 1024, 'a'));
  auto r = c->Get("/metrics", big);
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 431);
  // One header line over 8 KiB.
  httplib::Headers line = {{"X-Long", std::string(9 * 1024, 'b')}};
  auto r2 = c->Get("/metrics", line);
  if (r2) {
    EXPECT_EQ(r2->status, 400);
  }
  // A 2 MiB body to the query API (limit 1 MiB).
  auto c2 = Client();
  c2->set_basic_auth("alice", "correct-horse");
  std::string body = "query=" + std::string(2 << 20, '1');
  auto r3 = c2->Post("/api/v1/query", body, "application/x-www-form-urlencoded");
  ASSERT_TRUE(r3) << httplib::to_string(r3.error());
  EXPECT_EQ(r3->status, 413);
  // A normal request still works.
  auto c3 = Client();
  c3->set_basic_auth("alice", "correct-horse");
  auto ok = c3->Get("/-/healthy");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// Expensive queries (timeout and sample limit) while Prometheus-like scrapes of /metrics go on:
// every scrape must answer within a 10 s scrape timeout (Prometheus's default), every query
// must end with an error, not run on.
TEST_F(Operate, ExpensiveQueriesDoNotStarveScrapes) {
  ASSERT_NO_FATAL_FAILURE(StartSim(2000));
  ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml",
                        absl::StrCat("storage:\n  path: ", dir_, "/data\n",
                                     "global:\n  scrape_interval: 1s\n",
                                     "beacon:\n  nodes: [\"http://127.0.0.1:", sim_port_,
                                     "\"]\n  poll_interval: 50ms\n",
                                     "validators:\n  per_validator_metrics: true\n  groups:\n"
                                     "    - name: all\n      indices: [\"0-1999\"]\n"))
                  .ok());
  ASSERT_NO_FATAL_FAILURE(StartDaemon(
      {"--query.timeout=3s", "--query.max-samples=5000000", "--query.max-concurrency=2"}));
  ASSERT_TRUE(WaitReady()) << proc_->Stderr();
  absl::SleepFor(absl::Seconds(3));  // a few self-scrapes in the store

  std::atomic<bool> done{false};
  absl::Mutex mu;
  std::vector<int> query_status;
  std::vector<std::string> query_bodies;
  std::vector<std::thread> queries;
  const char* kExpensive[] = {
      // Millions of subquery steps over thousands of series: hits the timeout or the limit.
      "count(count_over_time({__name__=~\".+\"}[10m:1ms]))",
      "sum(rate({__name__=~\"eth_.*\"}[30m:1ms]))",
  };
  for (int i = 0; i < 8; ++i) {
    queries.emplace_back([&, i] {
      httplib::Client c("127.0.0.1", port_);
      c.set_read_timeout(60);
      httplib::Params p = {{"query", kExpensive[i % 2]}};
      auto r = c.Post("/api/v1/query", p);
      absl::MutexLock l(&mu);
      query_status.push_back(r ? r->status : -1);
      query_bodies.push_back(r ? r->body : httplib::to_string(r.error()));
    });
  }
  int scrapes = 0, failed = 0;
  absl::Duration slowest;
  const absl::Time until = absl::Now() + absl::Seconds(8);
  while (absl::Now() < until) {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(10);
    c.set_read_timeout(10);
    const absl::Time t = absl::Now();
    auto r = c.Get("/metrics");
    const absl::Duration took = absl::Now() - t;
    slowest = std::max(slowest, took);
    ++scrapes;
    if (!r || r->status != 200 || !absl::StrContains(r->body, "stakewatch_build_info")) ++failed;
    absl::SleepFor(absl::Milliseconds(250));
  }
  for (std::thread& t : queries) t.join();
  EXPECT_EQ(failed, 0) << "of " << scrapes << " scrapes";
  EXPECT_LT(slowest, absl::Seconds(10)) << "the slowest scrape";
  ASSERT_EQ(query_status.size(), 8u);
  // 2 run, 2 wait, the other 4 are refused at once (each query outlives their arrival).
  int refused = 0;
  for (const std::string& b : query_bodies) {
    refused += absl::StrContains(b, "too many concurrent queries") ? 1 : 0;
  }
  EXPECT_GE(refused, 1);
  for (size_t i = 0; i < query_status.size(); ++i) {
    // 503 timeout (also in the queue) or unavailable, 422 too many samples: never 200.
    EXPECT_TRUE(query_status[i] == 503 || query_status[i] == 422)
        << query_status[i] << " " << query_bodies[i].substr(0, 300);
  }
  // The daemon is still healthy.
  auto h = HttpGet("127.0.0.1", port_, "/-/healthy");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->status, 200);
}

}  // namespace
}  // namespace stakewatch
