// Tests the shipped Alertmanager configuration (alertmanager/) with the real Alertmanager 0.25
// tools (Debian's /usr/bin/amtool and /usr/bin/prometheus-alertmanager):
//  - no secret is written inline: every one is read from a file under /etc/alertmanager/secrets/;
//  - `amtool check-config` accepts the file (secret paths and the template glob rewritten to
//    temporary files and the checked-in templates);
//  - `amtool config routes test` sends every alert of the routing table testdata/routes.yml, and
//    every alert of rules/*.rules.yml when such files exist, to the receiver that its severity
//    calls for (ExpectedReceiver below, written from the issue, not from the configuration);
//  - every template string of the configuration renders (`amtool template render`) and the
//    notification text shows the status, the alert count, the group, the value and the runbook;
//  - a running Alertmanager, given the configuration with its receivers replaced by a webhook
//    served by this test, marks each target alert of each inhibition rule `inhibitedBy` its
//    source, and not when the group or cluster differs; critical alerts reach the page receiver,
//    inhibited ones do not.
// Each test is skipped with a message when the binaries are not installed.
#include <glob.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "support/process.h"
#include "yaml-cpp/yaml.h"

namespace stakewatch::testing {
namespace {

using Labels = std::map<std::string, std::string>;
using ::testing::HasSubstr;

constexpr char kAmtool[] = "/usr/bin/amtool";
constexpr char kAlertmanager[] = "/usr/bin/prometheus-alertmanager";
constexpr char kShippedSecretDir[] = "/etc/alertmanager/secrets/";
constexpr char kShippedTemplateDir[] = "/etc/alertmanager/templates/";
const std::string kConfig = STAKEWATCH_SOURCE_DIR "/alertmanager/alertmanager.yml";
const std::string kTemplateDir = STAKEWATCH_SOURCE_DIR "/alertmanager/templates/";
const std::string kTestdata = STAKEWATCH_SOURCE_DIR "/test/alertmanager/testdata/";

// The receiver each severity must reach (issue #6): critical pages, warning notifies, info stays
// on dashboards. An alert without a known severity must still notify somebody.
std::string ExpectedReceiver(const std::string& severity) {
  if (severity == "critical") return "page";
  if (severity == "info") return "dashboard-only";
  return "notify";
}

const std::vector<std::string>& Severities() {
  static const auto* kSeverities = new std::vector<std::string>{"critical", "warning", "info"};
  return *kSeverities;
}

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv[0] with argv, waits for it and captures its output.
RunResult RunCommand(const std::vector<std::string>& argv) {
  RunResult r;
  const std::string dir = MakeTempDir("am-run");
  const std::string out_path = dir + "/stdout";
  const std::string err_path = dir + "/stderr";
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int in = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = ReadFile(out_path).value_or("");
  r.err = ReadFile(err_path).value_or("");
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  rmdir(dir.c_str());
  return r;
}

std::string ShippedConfigText() {
  absl::StatusOr<std::string> text = ReadFile(kConfig);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.value_or("");
}

// Calls fn(key, value) for every scalar in `root`; `key` is the nearest enclosing map key.
void ForEachScalar(const YAML::Node& root,
                   const std::function<void(const std::string&, const std::string&)>& fn) {
  std::vector<std::pair<std::string, YAML::Node>> stack = {{"", root}};
  while (!stack.empty()) {
    const auto [key, node] = stack.back();
    stack.pop_back();
    if (node.IsMap()) {
      for (const auto& kv : node) stack.emplace_back(kv.first.as<std::string>(), kv.second);
    } else if (node.IsSequence()) {
      for (const auto& child : node) stack.emplace_back(key, child);
    } else if (node.IsScalar()) {
      fn(key, node.Scalar());
    }
  }
}

// Names of the secret files the configuration references under /etc/alertmanager/secrets/.
std::set<std::string> SecretFileNames(const std::string& text) {
  std::set<std::string> names;
  ForEachScalar(YAML::Load(text), [&](const std::string&, const std::string& value) {
    if (absl::StartsWith(value, kShippedSecretDir)) {
      names.insert(value.substr(strlen(kShippedSecretDir)));
    }
  });
  return names;
}

// The shipped configuration made checkable in a fresh temporary directory: each secret file is
// created there with a dummy value, and the template glob points at the checked-in templates.
// Returns the path of the rewritten configuration.
std::string PrepareConfig(const std::string& text, const std::string& dir) {
  const std::string secrets = dir + "/secrets/";
  EXPECT_EQ(mkdir(secrets.c_str(), 0700), 0);
  for (const std::string& name : SecretFileNames(text)) {
    EXPECT_TRUE(WriteFile(secrets + name, "dummy-" + name + "\n").ok());
  }
  const std::string config = dir + "/alertmanager.yml";
  EXPECT_TRUE(WriteFile(config, absl::StrReplaceAll(text, {{kShippedSecretDir, secrets},
                                                           {kShippedTemplateDir, kTemplateDir}}))
                  .ok());
  return config;
}

// A temporary directory, removed when the test passed (kept for inspection when it failed).
class ScopedTempDir {
 public:
  explicit ScopedTempDir(const std::string& prefix) : path_(MakeTempDir(prefix)) {}
  ~ScopedTempDir() {
    if (!::testing::Test::HasFailure()) std::filesystem::remove_all(path_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool HaveAmtool() { return access(kAmtool, X_OK) == 0; }

// `amtool config routes test` for `labels`, verifying `want`; returns the receivers printed.
void ExpectRoute(const std::string& config, const Labels& labels, const std::string& want) {
  std::vector<std::string> argv = {
      kAmtool, "config", "routes", "test", "--config.file=" + config, "--verify.receivers=" + want};
  for (const auto& [k, v] : labels) argv.push_back(absl::StrCat(k, "=", v));
  const RunResult r = RunCommand(argv);
  SCOPED_TRACE(absl::StrJoin(argv, " "));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(absl::StripAsciiWhitespace(r.out), want);
}

// severity -> alert names, from testdata/routes.yml.
std::map<std::string, std::set<std::string>> RoutingTable() {
  std::map<std::string, std::set<std::string>> table;
  const YAML::Node root = YAML::LoadFile(kTestdata + "routes.yml");
  for (const auto& entry : root) {
    for (const auto& name : entry.second) {
      table[entry.first.as<std::string>()].insert(name.as<std::string>());
    }
  }
  return table;
}

TEST(AlertmanagerConfigTest, EverySecretIsReadFromAFile) {
  const std::string text = ShippedConfigText();
  // The inline forms of every secret Alertmanager 0.25 knows; each has a *_file variant or an
  // http_config credentials_file alternative.
  const std::set<std::string> inline_secret_keys = {"api_url",
                                                    "routing_key",
                                                    "service_key",
                                                    "auth_password",
                                                    "auth_secret",
                                                    "password",
                                                    "credentials",
                                                    "bearer_token",
                                                    "api_key",
                                                    "api_secret",
                                                    "token",
                                                    "user_key",
                                                    "bot_token",
                                                    "slack_api_url",
                                                    "smtp_auth_password",
                                                    "smtp_auth_secret",
                                                    "opsgenie_api_key",
                                                    "victorops_api_key",
                                                    "wechat_api_secret",
                                                    "telegram_api_url"};
  std::vector<std::string> found;
  ForEachScalar(YAML::Load(text), [&](const std::string& key, const std::string&) {
    if (inline_secret_keys.count(key)) found.push_back(key);
  });
  EXPECT_THAT(found, ::testing::IsEmpty());
  // One file per secret: SMTP password, Slack webhook URL, PagerDuty key, webhook token.
  EXPECT_THAT(SecretFileNames(text),
              ::testing::UnorderedElementsAre("smtp_password", "slack_webhook_url",
                                              "pagerduty_routing_key", "webhook_token"));
}

TEST(AlertmanagerConfigTest, AmtoolCheckConfigSucceeds) {
  if (!HaveAmtool()) GTEST_SKIP() << kAmtool << " not installed (Debian: prometheus-alertmanager)";
  const ScopedTempDir dir("am-check");
  const std::string config = PrepareConfig(ShippedConfigText(), dir.path());
  const RunResult r = RunCommand({kAmtool, "check-config", config});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("SUCCESS"));
  // The rewritten template glob found and parsed stakewatch.tmpl.
  EXPECT_THAT(r.out, HasSubstr(" - 1 templates"));
}

TEST(AlertmanagerConfigTest, RoutingTableAlertsReachTheirReceiver) {
  if (!HaveAmtool()) GTEST_SKIP() << kAmtool << " not installed (Debian: prometheus-alertmanager)";
  const ScopedTempDir dir("am-routes");
  const std::string config = PrepareConfig(ShippedConfigText(), dir.path());
  const auto table = RoutingTable();
  ASSERT_EQ(table.size(), 3u);
  size_t checked = 0;
  for (const auto& [severity, names] : table) {
    ASSERT_THAT(Severities(), ::testing::Contains(severity));
    for (const std::string& name : names) {
      ExpectRoute(config, {{"alertname", name}, {"severity", severity}, {"group", "g1"}},
                  ExpectedReceiver(severity));
      ++checked;
    }
  }
  EXPECT_EQ(checked, 46u);  // 13 critical + 30 warning + 3 info in routes.yml.
  // The cluster external label does not change the route.
  ExpectRoute(config,
              {{"alertname", "BeaconNodeDown"}, {"severity", "critical"}, {"cluster", "c1"}},
              "page");
  // Without a known severity an alert still notifies.
  ExpectRoute(config, {{"alertname", "Unlabelled"}, {"group", "g1"}}, "notify");
  ExpectRoute(config, {{"alertname", "Misspelt"}, {"severity", "Critical"}}, "notify");
}

TEST(AlertmanagerConfigTest, ShippedRulesReachTheirReceiver) {
  if (!HaveAmtool()) GTEST_SKIP() << kAmtool << " not installed (Debian: prometheus-alertmanager)";
  glob_t g{};
  std::vector<std::string> files;
  if (glob(STAKEWATCH_SOURCE_DIR "/rules/*.rules.yml", 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) files.push_back(g.gl_pathv[i]);
  }
  globfree(&g);
  if (files.empty()) GTEST_SKIP() << "no rules/*.rules.yml yet (issue #7)";
  const ScopedTempDir dir("am-rules");
  const std::string config = PrepareConfig(ShippedConfigText(), dir.path());
  const auto table = RoutingTable();
  for (const std::string& file : files) {
    const YAML::Node root = YAML::LoadFile(file);
    for (const auto& group : root["groups"]) {
      for (const auto& rule : group["rules"]) {
        if (!rule["alert"]) continue;
        Labels labels;
        const YAML::Node rule_labels =
            rule["labels"] ? rule["labels"] : YAML::Node(YAML::NodeType::Map);
        for (const auto& kv : rule_labels) {
          const std::string value = kv.second.as<std::string>();
          // A templated value is only known at evaluation time.
          if (!absl::StrContains(value, "{{")) labels[kv.first.as<std::string>()] = value;
        }
        labels["alertname"] = rule["alert"].as<std::string>();
        labels.emplace("group", "g1");
        const std::string severity = labels.count("severity") ? labels["severity"] : "";
        SCOPED_TRACE(absl::StrCat(file, ": ", labels["alertname"], " severity=", severity));
        EXPECT_THAT(Severities(), ::testing::Contains(severity));
        EXPECT_TRUE(table.count(severity) && table.at(severity).count(labels["alertname"]))
            << "add the alert to test/alertmanager/testdata/routes.yml";
        ExpectRoute(config, labels, ExpectedReceiver(severity));
      }
    }
  }
}

// Renders `text` with stakewatch.tmpl and testdata/notification.json.
RunResult Render(const std::string& text, bool html = false) {
  std::vector<std::string> argv = {kAmtool,
                                   "template",
                                   "render",
                                   "--template.glob=" + kTemplateDir + "*.tmpl",
                                   "--template.data=" + kTestdata + "notification.json",
                                   "--template.text=" + text};
  if (html) argv.push_back("--template.type=html");
  return RunCommand(argv);
}

TEST(AlertmanagerConfigTest, EveryConfiguredTemplateRenders) {
  if (!HaveAmtool()) GTEST_SKIP() << kAmtool << " not installed (Debian: prometheus-alertmanager)";
  // Every templated string of the configuration, with the key it belongs to.
  std::vector<std::pair<std::string, std::string>> templated;
  ForEachScalar(YAML::Load(ShippedConfigText()),
                [&](const std::string& key, const std::string& value) {
                  if (absl::StrContains(value, "{{")) templated.emplace_back(key, value);
                });
  EXPECT_GE(templated.size(), 10u);
  for (const auto& [key, text] : templated) {
    const RunResult r = Render(text, key == "html");
    EXPECT_EQ(r.exit_code, 0) << key << ": " << text << "\n" << r.out << r.err;
    EXPECT_FALSE(absl::StripAsciiWhitespace(r.out).empty()) << key << ": " << text;
  }
}

TEST(AlertmanagerConfigTest, NotificationShowsGroupValueAndRunbook) {
  if (!HaveAmtool()) GTEST_SKIP() << kAmtool << " not installed (Debian: prometheus-alertmanager)";
  // Values from testdata/notification.json: one firing and one resolved alert of group lido-a.
  const RunResult title = Render(R"({{ template "stakewatch.title" . }})");
  EXPECT_EQ(title.exit_code, 0) << title.err;
  EXPECT_EQ(absl::StripAsciiWhitespace(title.out),
            "[FIRING:1] GroupAttestationsMissed group=lido-a cluster=mainnet-1");
  for (const auto& [name, html] :
       std::vector<std::pair<std::string, bool>>{{"stakewatch.slack.text", false},
                                                 {"stakewatch.email.text", false},
                                                 {"stakewatch.email.html", true}}) {
    const RunResult r = Render(absl::StrCat("{{ template \"", name, "\" . }}"), html);
    SCOPED_TRACE(name);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("1 firing, 1 resolved"));
    EXPECT_THAT(r.out, HasSubstr("lido-a"));
    EXPECT_THAT(r.out, HasSubstr("12.5% of attestations missed in the last 2 epochs"));
    EXPECT_THAT(r.out, HasSubstr("3% missed"));
    EXPECT_THAT(r.out, HasSubstr("https://example.org/docs/runbooks.md#groupattestationsmissed"));
    EXPECT_THAT(r.out, HasSubstr("FIRING"));
    EXPECT_THAT(r.out, HasSubstr("RESOLVED"));
  }
  // PagerDuty's firing details list only the firing alert.
  const RunResult firing = Render(R"({{ template "stakewatch.text" .Alerts.Firing }})");
  EXPECT_THAT(firing.out, HasSubstr("12.5% of attestations"));
  EXPECT_THAT(firing.out, ::testing::Not(HasSubstr("3% missed")));
}

// ---------------------------------------------------------------------------------------------
// A running Alertmanager.

// Receives webhook notifications on 127.0.0.1 and records the alerts per receiver (URL path).
class WebhookSink {
 public:
  WebhookSink() {
    server_.Post(R"(/(.*))", [this](const httplib::Request& req, httplib::Response& res) {
      const YAML::Node body = YAML::Load(req.body);
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& alert : body["alerts"]) {
        received_[req.matches[1]].push_back(alert["labels"].as<Labels>());
      }
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~WebhookSink() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<Labels> Received(const std::string& receiver) {
    std::lock_guard<std::mutex> lock(mu_);
    return received_[receiver];
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, std::vector<Labels>> received_;
};

// The configuration with every integration of every receiver replaced by the sink's webhook at
// /<receiver name>; routes, timings and inhibitions are untouched.
std::string WithWebhookReceivers(const std::string& config_path, int port) {
  YAML::Node root = YAML::LoadFile(config_path);
  YAML::Node receivers(YAML::NodeType::Sequence);
  for (const auto& original : root["receivers"]) {
    YAML::Node r;
    r["name"] = original["name"];
    if (original.size() > 1) {
      YAML::Node hook;
      hook["url"] =
          absl::StrCat("http://127.0.0.1:", port, "/", original["name"].as<std::string>());
      hook["send_resolved"] = false;
      r["webhook_configs"].push_back(hook);
    }
    receivers.push_back(r);
  }
  root["receivers"] = receivers;
  return YAML::Dump(root);
}

std::string LabelsString(const Labels& labels) {
  return absl::StrCat("{", absl::StrJoin(labels, ",", absl::PairFormatter("=")), "}");
}

std::string JsonString(const std::string& s) {
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}}), "\"");
}

std::string AlertsJson(const std::vector<Labels>& alerts) {
  std::vector<std::string> items;
  for (const Labels& labels : alerts) {
    std::vector<std::string> pairs;
    for (const auto& [k, v] : labels) pairs.push_back(JsonString(k) + ":" + JsonString(v));
    items.push_back(absl::StrCat(R"({"labels":{)", absl::StrJoin(pairs, ","),
                                 R"(},"annotations":{"summary":"test"}})"));
  }
  return absl::StrCat("[", absl::StrJoin(items, ","), "]");
}

struct AlertState {
  std::string fingerprint;
  std::vector<std::string> inhibited_by;
  std::vector<std::string> receivers;
};

// GET /api/v2/alerts, keyed by label set. (yaml-cpp reads the JSON.)
std::map<Labels, AlertState> GetAlerts(int port) {
  std::map<Labels, AlertState> out;
  absl::StatusOr<HttpResult> res = HttpGet("127.0.0.1", port, "/api/v2/alerts");
  if (!res.ok() || res->status != 200) return out;
  for (const auto& a : YAML::Load(res->body)) {
    AlertState s;
    s.fingerprint = a["fingerprint"].as<std::string>();
    for (const auto& fp : a["status"]["inhibitedBy"])
      s.inhibited_by.push_back(fp.as<std::string>());
    for (const auto& r : a["receivers"]) s.receivers.push_back(r["name"].as<std::string>());
    out[a["labels"].as<Labels>()] = s;
  }
  return out;
}

struct InhibitionCase {
  std::string name;
  Labels source;
  Labels target;
  bool inhibited;
};

// Each case uses its own cluster (or, once, none), so that only its own source can mute its target.
std::vector<InhibitionCase> InhibitionCases() {
  auto a = [](const std::string& alertname, const std::string& severity, Labels extra) {
    extra["alertname"] = alertname;
    extra["severity"] = severity;
    return extra;
  };
  return {
      {"critical mutes the warning of the same alert, group and cluster",
       a("GroupAttestationsMissed", "critical", {{"group", "g1"}, {"cluster", "c01"}}),
       a("GroupAttestationsMissed", "warning", {{"group", "g1"}, {"cluster", "c01"}}), true},
      {"critical does not mute the warning of another group",
       a("GroupAttestationsMissed", "critical", {{"group", "g1"}, {"cluster", "c02"}}),
       a("GroupAttestationsMissed", "warning", {{"group", "g2"}, {"cluster", "c02"}}), false},
      {"critical does not mute the warning in another cluster",
       a("GroupAttestationsMissed", "critical", {{"group", "g1"}, {"cluster", "c03"}}),
       a("GroupAttestationsMissed", "warning", {{"group", "g1"}, {"cluster", "c03-other"}}), false},
      {"critical does not mute a warning of another alert",
       a("ValidatorSlashed", "critical", {{"group", "g1"}, {"cluster", "c04"}}),
       a("GroupBalanceFalling", "warning", {{"group", "g1"}, {"cluster", "c04"}}), false},
      {"beacon node down mutes missed proposals of every group of its cluster",
       a("BeaconNodeDown", "critical", {{"instance", "bn1"}, {"cluster", "c05"}}),
       a("ProposalMissed", "warning", {{"group", "g7"}, {"cluster", "c05"}}), true},
      {"all beacon nodes down mute the slow SLO burn",
       a("AllBeaconNodesDown", "critical", {{"cluster", "c06"}}),
       a("AttestationSloSlowBurn", "warning", {{"group", "g1"}, {"cluster", "c06"}}), true},
      {"beacon node not synced mutes wrong head votes",
       a("BeaconNodeNotSynced", "warning", {{"instance", "bn1"}, {"cluster", "c07"}}),
       a("GroupWrongHeadVotes", "warning", {{"group", "g1"}, {"cluster", "c07"}}), true},
      {"beacon node down does not mute missed duties in another cluster",
       a("BeaconNodeDown", "critical", {{"instance", "bn1"}, {"cluster", "c08"}}),
       a("ValidatorAttestationsMissed", "warning", {{"group", "g1"}, {"cluster", "c08-other"}}),
       false},
      {"beacon node down does not mute a wrong fee recipient",
       a("BeaconNodeDown", "critical", {{"instance", "bn1"}, {"cluster", "c09"}}),
       a("WrongFeeRecipient", "warning", {{"group", "g1"}, {"cluster", "c09"}}), false},
      {"validator client down mutes the missed attestations of its group",
       a("ValidatorClientDown", "critical", {{"group", "g1"}, {"cluster", "c10"}}),
       a("GroupAttestationsMissed", "warning", {{"group", "g1"}, {"cluster", "c10"}}), true},
      {"validator client down does not mute another group",
       a("ValidatorClientDown", "critical", {{"group", "g1"}, {"cluster", "c11"}}),
       a("GroupAttestationsMissed", "warning", {{"group", "g2"}, {"cluster", "c11"}}), false},
      {"all beacon nodes down mute the per-node alerts",
       a("AllBeaconNodesDown", "critical", {{"cluster", "c12"}}),
       a("BeaconNodeFewPeers", "warning", {{"instance", "bn2"}, {"cluster", "c12"}}), true},
      {"slashing database down mutes its signing lag",
       a("SlashingDbDown", "critical", {{"cluster", "c13"}}),
       a("SlashingDbSigningLag", "warning", {{"cluster", "c13"}}), true},
      {"slashing database down mutes the (critical) stalled signing",
       a("SlashingDbDown", "critical", {{"cluster", "c14"}}),
       a("SlashingDbSigningStalled", "critical", {{"cluster", "c14"}}), true},
      {"slashing database down does not mute the vacuum reminder",
       a("SlashingDbDown", "critical", {{"cluster", "c15"}}),
       a("SlashingDbVacuumOverdue", "info", {{"cluster", "c15"}}), false},
      {"slashing database down does not mute another cluster",
       a("SlashingDbDown", "critical", {{"cluster", "c16"}}),
       a("SlashingDbSlow", "warning", {{"cluster", "c16-other"}}), false},
      {"a cluster label missing on both sides counts as equal", a("SlashingDbDown", "critical", {}),
       a("SlashingDbConnectionsNearLimit", "warning", {}), true},
      {"fast SLO burn mutes slow SLO burn of the same group",
       a("AttestationSloFastBurn", "critical", {{"group", "g1"}, {"cluster", "c17"}}),
       a("AttestationSloSlowBurn", "warning", {{"group", "g1"}, {"cluster", "c17"}}), true},
      {"full disk mutes the filling-up forecast of the same filesystem",
       a("HostDiskFull", "critical",
         {{"instance", "h1"}, {"mountpoint", "/data"}, {"cluster", "c18"}}),
       a("HostDiskFillingUp", "warning",
         {{"instance", "h1"}, {"mountpoint", "/data"}, {"cluster", "c18"}}),
       true},
      {"full disk does not mute another filesystem",
       a("HostDiskFull", "critical",
         {{"instance", "h1"}, {"mountpoint", "/data"}, {"cluster", "c19"}}),
       a("HostDiskFillingUp", "warning",
         {{"instance", "h1"}, {"mountpoint", "/"}, {"cluster", "c19"}}),
       false},
  };
}

TEST(AlertmanagerConfigTest, RunningAlertmanagerInhibitsAndPages) {
  if (access(kAlertmanager, X_OK) != 0) {
    GTEST_SKIP() << kAlertmanager << " not installed (Debian: prometheus-alertmanager)";
  }
  const ScopedTempDir tmp("am-live");
  const std::string& dir = tmp.path();
  WebhookSink sink;
  const std::string config = dir + "/live.yml";
  ASSERT_TRUE(
      WriteFile(config, WithWebhookReceivers(PrepareConfig(ShippedConfigText(), dir), sink.port()))
          .ok());
  const int port = FreePort();
  auto am = Subprocess::Start(
      {kAlertmanager, "--config.file=" + config, "--storage.path=" + dir + "/data",
       absl::StrCat("--web.listen-address=127.0.0.1:", port), "--cluster.listen-address="},
      dir + "/alertmanager");
  ASSERT_TRUE(am.ok()) << am.status();
  ASSERT_TRUE((*am)->WaitForOutput("Listening on", absl::Seconds(30)).ok()) << (*am)->Stderr();
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    absl::StatusOr<HttpResult> r = HttpGet("127.0.0.1", port, "/-/ready");
    ready = r.ok() && r->status == 200;
    if (!ready) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(ready) << (*am)->Stderr();

  const std::vector<InhibitionCase> cases = InhibitionCases();
  std::vector<Labels> posted;
  for (const InhibitionCase& c : cases) {
    posted.push_back(c.source);
    posted.push_back(c.target);
  }
  httplib::Client client("127.0.0.1", port);
  auto post = client.Post("/api/v2/alerts", AlertsJson(posted), "application/json");
  ASSERT_TRUE(post) << httplib::to_string(post.error());
  ASSERT_EQ(post->status, 200) << post->body;

  // The inhibitor learns of source alerts asynchronously: wait for the expected inhibitions,
  // then give the others a moment to (wrongly) appear.
  std::map<Labels, AlertState> alerts;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    alerts = GetAlerts(port);
    bool all = alerts.size() == posted.size();
    for (const InhibitionCase& c : cases) {
      if (c.inhibited)
        all = all && alerts.count(c.target) && !alerts[c.target].inhibited_by.empty();
    }
    if (all) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  absl::SleepFor(absl::Seconds(1));
  alerts = GetAlerts(port);

  for (const Labels& labels : posted) {
    ASSERT_TRUE(alerts.count(labels)) << LabelsString(labels) << " missing from GET";
    EXPECT_THAT(alerts[labels].receivers,
                ::testing::ElementsAre(ExpectedReceiver(labels.at("severity"))))
        << labels.at("alertname");
  }
  for (const InhibitionCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(alerts[c.source].inhibited_by, ::testing::IsEmpty());
    if (c.inhibited) {
      EXPECT_THAT(alerts[c.target].inhibited_by,
                  ::testing::ElementsAre(alerts[c.source].fingerprint));
    } else {
      EXPECT_THAT(alerts[c.target].inhibited_by, ::testing::IsEmpty());
    }
  }

  // Critical alerts are paged after the critical route's group_wait; inhibited ones never are.
  std::set<Labels> want_paged;
  std::set<Labels> muted_critical;
  for (const InhibitionCase& c : cases) {
    want_paged.insert(c.source);  // Every source in the cases is critical or warning.
    if (c.target.at("severity") == "critical") {
      (c.inhibited ? muted_critical : want_paged).insert(c.target);
    }
  }
  std::erase_if(want_paged, [](const Labels& l) { return l.at("severity") != "critical"; });
  std::set<Labels> paged;
  const absl::Time page_deadline = absl::Now() + absl::Seconds(45);
  while (absl::Now() < page_deadline) {
    const std::vector<Labels> received = sink.Received("page");
    paged = std::set<Labels>(received.begin(), received.end());
    if (std::includes(paged.begin(), paged.end(), want_paged.begin(), want_paged.end())) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  for (const Labels& l : want_paged) {
    EXPECT_TRUE(paged.count(l)) << "not paged: " << LabelsString(l);
  }
  for (const Labels& l : muted_critical) {
    EXPECT_FALSE(paged.count(l)) << "paged although inhibited: " << LabelsString(l);
  }
  EXPECT_FALSE(paged.empty());
  EXPECT_EQ((*am)->Stop(), 0) << (*am)->Stderr();
}

}  // namespace
}  // namespace stakewatch::testing
