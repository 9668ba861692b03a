// stakewatch's notifier against a real Alertmanager 0.25 (Debian's prometheus-alertmanager),
// end to end: stakewatch scrapes a target run by this test (`e2e_condition`), evaluates an
// alerting rule on it, and sends the alert to one or two Alertmanagers, which route it to a
// webhook receiver run by this test. Everything runs as child processes on free loopback ports.
//
//   PayloadFiringThenResolved: the webhook payload (labels with external labels and
//     alert_relabel_configs applied, annotations, startsAt = when it started firing,
//     generatorURL, status firing then resolved) and the notifier's self-metrics.
//   HaPairBothReceiveOneNotification: two clustered Alertmanagers both hold the alert (so
//     stakewatch sent to both) and the webhook is notified once (Alertmanager's de-duplication).
//   OutageThenDelivered: the only Alertmanager is stopped for longer than the resend period while
//     the alert starts firing; when it is back the alert is delivered, then resolved.
//   RestartWhilePending: stakewatch is stopped while the alert is pending and started again; the
//     `for` timer is not restarted (it continues without the downtime, as Prometheus's
//     RestoreForState does) and the alert fires on that schedule.
//
// Expected values come from the test's own inputs (the rule, the configuration, the clock), not
// from stakewatch's output. Timeouts are generous: these are not timing tests.
#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
using testing::MakeTempDir;
using testing::ParseMetricsText;
using testing::StakewatchBinary;
using testing::Subprocess;
using testing::WriteFile;

constexpr char kAlertmanager[] = "/usr/bin/prometheus-alertmanager";
constexpr char kExternalUrl[] = "http://sw.e2e:9999";
constexpr char kAlertName[] = "E2EConditionTrue";

absl::Time ParseRfc3339(const std::string& s) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, s, &t, &err)) {
    ADD_FAILURE() << "bad time \"" << s << "\": " << err;
    return absl::InfinitePast();
  }
  return t;
}

// One notification Alertmanager POSTed to the webhook, reduced to what the tests check.
struct Notification {
  absl::Time received;
  std::string receiver;
  std::string status;
  struct Alert {
    std::string status;
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::string starts_at;
    std::string ends_at;
    std::string generator_url;
  };
  std::vector<Alert> alerts;
  std::map<std::string, std::string> common_labels;
  std::string raw;
};

std::map<std::string, std::string> StringMap(simdjson::dom::element e) {
  std::map<std::string, std::string> out;
  simdjson::dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) return out;
  for (auto f : o) {
    std::string_view v;
    if (f.value.get_string().get(v) == simdjson::SUCCESS) out[std::string(f.key)] = v;
  }
  return out;
}

std::string Str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  return e[key].get_string().get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
}

// The webhook receiver: an HTTP server that records every POST /hook.
class Webhook {
 public:
  Webhook() {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      Notification n;
      n.received = absl::Now();
      n.raw = req.body;
      simdjson::dom::parser parser;
      simdjson::dom::element doc;
      if (parser.parse(req.body).get(doc) == simdjson::SUCCESS) {
        n.receiver = Str(doc, "receiver");
        n.status = Str(doc, "status");
        n.common_labels = StringMap(doc["commonLabels"].value_unsafe());
        simdjson::dom::array alerts;
        if (doc["alerts"].get_array().get(alerts) == simdjson::SUCCESS) {
          for (simdjson::dom::element a : alerts) {
            n.alerts.push_back({Str(a, "status"), StringMap(a["labels"].value_unsafe()),
                                StringMap(a["annotations"].value_unsafe()), Str(a, "startsAt"),
                                Str(a, "endsAt"), Str(a, "generatorURL")});
          }
        }
      }
      absl::MutexLock l(&mu_);
      received_.push_back(std::move(n));
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib's stop() is a no-op until the accept loop runs.
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~Webhook() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<Notification> All() {
    absl::MutexLock l(&mu_);
    return received_;
  }
  // The first notification with `status` received at or after `since`.
  std::optional<Notification> WaitFor(const std::string& status, absl::Time since,
                                      absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      for (const Notification& n : All()) {
        if (n.status == status && n.received >= since) return n;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return std::nullopt;
  }
  int Count(const std::string& status) {
    int c = 0;
    for (const Notification& n : All()) c += n.status == status;
    return c;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  absl::Mutex mu_;
  std::vector<Notification> received_ ABSL_GUARDED_BY(mu_);
};

// The scrape target: /metrics with `e2e_condition <value>`.
class Target {
 public:
  Target() {
    server_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          absl::StrCat("# TYPE e2e_condition gauge\ne2e_condition ", value_.load(), "\n"),
          "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // httplib's stop() is a no-op until the accept loop runs.
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~Target() {
    server_.stop();
    thread_.join();
  }
  void Set(int v) { value_ = v; }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> value_{0};
};

class NotifyE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kAlertmanager)) {
      GTEST_SKIP() << kAlertmanager << " not installed (Debian package prometheus-alertmanager)";
    }
    dir_ = MakeTempDir("sw-notify-e2e");
  }

  struct Am {
    int web_port = 0;
    int cluster_port = 0;
    std::string storage;
    std::unique_ptr<Subprocess> proc;
    std::string Url() const {
      return absl::StrCat("http://127.0.0.1:", web_port, "/api/v2/alerts");
    }
  };

  // Writes the Alertmanager configuration (everything to the webhook, resolves included).
  std::string AmConfig() {
    const std::string path = dir_ + "/alertmanager.yml";
    EXPECT_TRUE(WriteFile(path, absl::StrCat("route:\n  receiver: hook\n"
                                             "  group_by: [alertname, group, cluster]\n"
                                             "  group_wait: 1s\n  group_interval: 2s\n"
                                             "  repeat_interval: 1h\n"
                                             "receivers:\n  - name: hook\n    webhook_configs:\n"
                                             "      - url: http://127.0.0.1:",
                                             hook_.port(), "/hook\n        send_resolved: true\n"))
                    .ok());
    return path;
  }

  // Starts (or restarts, with the same ports and storage) an Alertmanager. `peers`: the cluster
  // ports of the other members; empty: clustering off.
  void StartAm(Am& am, const std::vector<int>& peers = {}) {
    if (am.web_port == 0) {
      am.web_port = FreePort();
      am.cluster_port = FreePort();
      am.storage = MakeTempDir("sw-notify-am");
    }
    std::vector<std::string> argv = {
        kAlertmanager, "--config.file=" + AmConfig(), "--storage.path=" + am.storage,
        absl::StrCat("--web.listen-address=127.0.0.1:", am.web_port), "--log.level=debug"};
    if (peers.empty()) {
      argv.push_back("--cluster.listen-address=");
    } else {
      argv.push_back(absl::StrCat("--cluster.listen-address=127.0.0.1:", am.cluster_port));
      for (int p : peers) argv.push_back(absl::StrCat("--cluster.peer=127.0.0.1:", p));
      argv.push_back("--cluster.peer-timeout=6s");
      argv.push_back("--cluster.gossip-interval=100ms");
      argv.push_back("--cluster.pushpull-interval=1s");
      argv.push_back("--cluster.settle-timeout=5s");
    }
    absl::StatusOr<std::unique_ptr<Subprocess>> p =
        Subprocess::Start(argv, absl::StrCat(dir_, "/am-", am.web_port));
    ASSERT_TRUE(p.ok()) << p.status();
    am.proc = std::move(*p);
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      absl::StatusOr<testing::HttpResult> r = HttpGet("127.0.0.1", am.web_port, "/-/ready");
      if (r.ok() && r->status == 200) return;
      absl::SleepFor(absl::Milliseconds(100));
    }
    FAIL() << "Alertmanager did not become ready: " << am.proc->Stderr();
  }

  // Writes stakewatch's configuration and rules, then starts it (again, for a restart).
  void StartStakewatch(const std::vector<const Am*>& ams, const std::string& for_duration) {
    std::vector<std::string> targets;
    for (const Am* am : ams) targets.push_back(absl::StrCat("127.0.0.1:", am->web_port));
    ASSERT_TRUE(
        WriteFile(dir_ + "/rules.yml",
                  absl::StrCat("groups:\n  - name: e2e\n    interval: 1s\n    rules:\n"
                               "      - alert: ",
                               kAlertName,
                               "\n        expr: e2e_condition > 0\n        for: ", for_duration,
                               "\n        labels: {severity: critical, group: g1}\n"
                               "        annotations:\n"
                               "          summary: \"job {{ $labels.job }} condition "
                               "is {{ $value }}\"\n"
                               "          runbook_url: https://example.invalid/rb#e2e\n"))
            .ok());
    ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml",
                          absl::StrCat("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                       "  external_labels: {cluster: e2e}\n"
                                       "rule_files: [rules.yml]\n"
                                       "scrape_configs:\n  - job_name: e2e\n    static_configs:\n"
                                       "      - targets: ['127.0.0.1:",
                                       target_.port(),
                                       "']\n"
                                       "alerting:\n  alert_relabel_configs:\n"
                                       "    - target_label: relabeled\n      replacement: 'yes'\n"
                                       "  alertmanagers:\n    - static_configs:\n"
                                       "        - targets: ['",
                                       absl::StrJoin(targets, "', '"),
                                       "']\n"
                                       "storage:\n  path: ",
                                       dir_, "/data\n"))
                    .ok());
    if (sw_port_ == 0) sw_port_ = FreePort();
    absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(
        {StakewatchBinary(), "run", absl::StrCat("--config.file=", dir_, "/stakewatch.yml"),
         absl::StrCat("--web.listen-address=127.0.0.1:", sw_port_),
         std::string("--web.external-url=") + kExternalUrl, "--rules.alert.resend-delay=2s",
         "--rules.alert.for-grace-period=1s"},
        absl::StrCat(dir_, "/stakewatch-", ++sw_starts_));
    ASSERT_TRUE(p.ok()) << p.status();
    sw_ = std::move(*p);
    ASSERT_TRUE(sw_->WaitForOutput("stakewatch started", absl::Seconds(30)).ok()) << sw_->Stderr();
  }

  std::map<std::string, double> SwMetrics() {
    absl::StatusOr<testing::HttpResult> r = HttpGet("127.0.0.1", sw_port_, "/metrics");
    if (!r.ok() || r->status != 200) return {};
    return ParseMetricsText(r->body);
  }

  // stakewatch's own view of the alert (/api/v1/alerts): state and activeAt.
  struct SwAlert {
    std::string state;
    absl::Time active_at;
  };
  std::optional<SwAlert> SwAlertState() {
    absl::StatusOr<testing::HttpResult> r = HttpGet("127.0.0.1", sw_port_, "/api/v1/alerts");
    if (!r.ok() || r->status != 200) return std::nullopt;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    if (parser.parse(r->body).get(doc) != simdjson::SUCCESS) return std::nullopt;
    simdjson::dom::array alerts;
    if (doc["data"]["alerts"].get_array().get(alerts) != simdjson::SUCCESS) return std::nullopt;
    for (simdjson::dom::element a : alerts) {
      if (StringMap(a["labels"].value_unsafe())["alertname"] != kAlertName) continue;
      return SwAlert{Str(a, "state"), ParseRfc3339(Str(a, "activeAt"))};
    }
    return std::nullopt;
  }
  std::optional<SwAlert> WaitForSwState(const std::string& state, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      std::optional<SwAlert> a = SwAlertState();
      if (a.has_value() && a->state == state) return a;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return std::nullopt;
  }

  // Whether Alertmanager `am` holds an active alert named kAlertName.
  bool AmHasAlert(const Am& am) {
    absl::StatusOr<testing::HttpResult> r =
        HttpGet("127.0.0.1", am.web_port, "/api/v2/alerts?active=true");
    return r.ok() && r->status == 200 &&
           absl::StrContains(r->body, absl::StrCat("\"alertname\":\"", kAlertName, "\""));
  }

  std::string dir_;
  Webhook hook_;
  Target target_;
  int sw_port_ = 0;
  int sw_starts_ = 0;
  std::unique_ptr<Subprocess> sw_;
};

TEST_F(NotifyE2E, PayloadFiringThenResolved) {
  Am am;
  StartAm(am);
  StartStakewatch({&am}, "2s");
  const absl::Time set_at = absl::Now();
  target_.Set(1);

  std::optional<Notification> firing = hook_.WaitFor("firing", set_at, absl::Seconds(60));
  ASSERT_TRUE(firing.has_value()) << sw_->Stderr() << am.proc->Stderr();
  EXPECT_EQ(firing->receiver, "hook");
  ASSERT_EQ(firing->alerts.size(), 1u) << firing->raw;
  const Notification::Alert& a = firing->alerts[0];
  EXPECT_EQ(a.status, "firing");
  const std::map<std::string, std::string> want_labels = {
      {"alertname", kAlertName},  // the rule's name
      {"cluster", "e2e"},         // global.external_labels
      {"group", "g1"},            // rule labels
      {"severity", "critical"},
      {"instance", absl::StrCat("127.0.0.1:", target_.port())},  // from the scrape
      {"job", "e2e"},
      {"relabeled", "yes"},  // alert_relabel_configs
  };
  EXPECT_EQ(a.labels, want_labels) << firing->raw;
  // $labels are the sample's labels (Prometheus's rule labels are not among them).
  EXPECT_EQ(a.annotations.at("summary"), "job e2e condition is 1");
  EXPECT_EQ(a.annotations.at("runbook_url"), "https://example.invalid/rb#e2e");
  // url.QueryEscape("e2e_condition > 0"): space -> '+', '>' -> %3E.
  EXPECT_EQ(a.generator_url,
            std::string(kExternalUrl) + "/graph?g0.expr=e2e_condition+%3E+0&g0.tab=1");
  // Alertmanager zeroes an endsAt that is still in the future (reference §5).
  EXPECT_EQ(a.ends_at, "0001-01-01T00:00:00Z");
  EXPECT_EQ(firing->common_labels.at("cluster"), "e2e");

  // startsAt is when the alert started firing: `for` (2s) after it became active, at an
  // evaluation (1s interval), with the millisecond precision Prometheus sends (Alertmanager
  // re-prints it in Go's RFC 3339 with trailing zeros trimmed).
  std::optional<SwAlert> sw = SwAlertState();
  ASSERT_TRUE(sw.has_value());
  EXPECT_EQ(sw->state, "firing");
  const absl::Time starts = ParseRfc3339(a.starts_at);
  EXPECT_GE(starts - sw->active_at, absl::Seconds(2) - absl::Milliseconds(1)) << a.starts_at;
  EXPECT_LE(starts - sw->active_at, absl::Seconds(3)) << a.starts_at;
  EXPECT_EQ(absl::ToUnixNanos(starts) % 1'000'000, 0) << a.starts_at;

  // Self-metrics, named after Prometheus's.
  std::map<std::string, double> m = SwMetrics();
  const std::string am_label = absl::StrCat("{alertmanager=\"", am.Url(), "\"}");
  EXPECT_GE(m["stakewatch_notifications_sent_total" + am_label], 1);
  EXPECT_EQ(m["stakewatch_notifications_errors_total" + am_label], 0);
  EXPECT_EQ(m["stakewatch_notifications_dropped_total"], 0);
  EXPECT_EQ(m["stakewatch_notifications_queue_capacity"], 10000);
  EXPECT_EQ(m["stakewatch_notifications_alertmanagers_discovered"], 1);

  // Resolve: Alertmanager reports it resolved with endsAt = the first evaluation that no longer
  // saw the condition.
  const absl::Time cleared_at = absl::Now();
  target_.Set(0);
  std::optional<Notification> resolved = hook_.WaitFor("resolved", cleared_at, absl::Seconds(60));
  ASSERT_TRUE(resolved.has_value()) << sw_->Stderr();
  ASSERT_EQ(resolved->alerts.size(), 1u);
  EXPECT_EQ(resolved->alerts[0].status, "resolved");
  EXPECT_EQ(resolved->alerts[0].starts_at, a.starts_at);
  const absl::Time ends = ParseRfc3339(resolved->alerts[0].ends_at);
  EXPECT_GE(ends, cleared_at - absl::Seconds(1));
  EXPECT_LE(ends, cleared_at + absl::Seconds(5));
}

TEST_F(NotifyE2E, HaPairBothReceiveOneNotification) {
  Am a, b;
  a.web_port = FreePort();
  a.cluster_port = FreePort();
  a.storage = MakeTempDir("sw-notify-am");
  b.web_port = FreePort();
  b.cluster_port = FreePort();
  b.storage = MakeTempDir("sw-notify-am");
  StartAm(a, {b.cluster_port});
  StartAm(b, {a.cluster_port});
  StartStakewatch({&a, &b}, "1s");
  const absl::Time set_at = absl::Now();
  target_.Set(1);

  std::optional<Notification> firing = hook_.WaitFor("firing", set_at, absl::Seconds(60));
  ASSERT_TRUE(firing.has_value()) << sw_->Stderr();
  // Both Alertmanagers hold the alert: stakewatch sent it to each (alerts are not gossiped).
  EXPECT_TRUE(AmHasAlert(a));
  EXPECT_TRUE(AmHasAlert(b));
  // The second member waits one peer timeout (6s; longer than two group intervals, so the
  // members' flush ticks cannot straddle it) and then sees the first one's notification log: no
  // second notification. Wait well past that, with stakewatch re-sending meanwhile.
  absl::SleepFor(absl::Seconds(14));
  EXPECT_EQ(hook_.Count("firing"), 1) << "notifications: " << hook_.All().size();
  std::map<std::string, double> m = SwMetrics();
  EXPECT_GE(m[absl::StrCat("stakewatch_notifications_sent_total{alertmanager=\"", a.Url(), "\"}")],
            2);
  EXPECT_GE(m[absl::StrCat("stakewatch_notifications_sent_total{alertmanager=\"", b.Url(), "\"}")],
            2);
  EXPECT_EQ(m["stakewatch_notifications_alertmanagers_discovered"], 2);

  const int firing_before_resolve = hook_.Count("firing");
  EXPECT_EQ(firing_before_resolve, 1);

  // The resolve reaches the webhook. Not asserted: that it arrives once. When an alert resolves
  // while the second member is waiting out its peer timeout with a snapshot that still had it
  // firing, Alertmanager 0.25 sends that stale "firing" and then a second "resolved" (its
  // DedupStage compares against the other member's newer log entry). That is Alertmanager's
  // behaviour, seen with any sender; what must hold is that the last word is "resolved".
  const absl::Time cleared_at = absl::Now();
  target_.Set(0);
  ASSERT_TRUE(hook_.WaitFor("resolved", cleared_at, absl::Seconds(60)).has_value());
  absl::SleepFor(absl::Seconds(14));
  std::vector<Notification> all = hook_.All();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.back().status, "resolved");
}

TEST_F(NotifyE2E, OutageThenDelivered) {
  Am am;
  StartAm(am);
  StartStakewatch({&am}, "1s");
  const std::string errors =
      absl::StrCat("stakewatch_notifications_errors_total{alertmanager=\"", am.Url(), "\"}");

  // Alertmanager goes down, then the alert starts firing.
  EXPECT_EQ(am.proc->Stop(SIGTERM), 0);
  target_.Set(1);
  std::optional<SwAlert> sw = WaitForSwState("firing", absl::Seconds(60));
  ASSERT_TRUE(sw.has_value()) << sw_->Stderr();
  // Longer than the resend period (2s delay, 1s interval: a send every 3s): at least three
  // failed sends, each counted; with every Alertmanager down the batches are dropped.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline && SwMetrics()[errors] < 3) absl::SleepFor(absl::Milliseconds(200));
  std::map<std::string, double> m = SwMetrics();
  EXPECT_GE(m[errors], 3);
  EXPECT_GE(m["stakewatch_notifications_dropped_total"], 3);
  EXPECT_EQ(hook_.Count("firing"), 0);

  // Back: the next resend delivers the alert, with its original startsAt.
  const absl::Time back_at = absl::Now();
  StartAm(am);
  std::optional<Notification> firing = hook_.WaitFor("firing", back_at, absl::Seconds(60));
  ASSERT_TRUE(firing.has_value()) << sw_->Stderr();
  ASSERT_EQ(firing->alerts.size(), 1u);
  const absl::Time starts = ParseRfc3339(firing->alerts[0].starts_at);
  EXPECT_GE(starts - sw->active_at, absl::Seconds(1) - absl::Milliseconds(1));
  EXPECT_LE(starts - sw->active_at, absl::Seconds(2));
  EXPECT_LT(starts, back_at);  // it fired during the outage

  const absl::Time cleared_at = absl::Now();
  target_.Set(0);
  std::optional<Notification> resolved = hook_.WaitFor("resolved", cleared_at, absl::Seconds(60));
  ASSERT_TRUE(resolved.has_value()) << sw_->Stderr();
  EXPECT_EQ(resolved->alerts[0].starts_at, firing->alerts[0].starts_at);
}

TEST_F(NotifyE2E, RestartWhilePending) {
  Am am;
  StartAm(am);
  StartStakewatch({&am}, "20s");
  target_.Set(1);
  std::optional<SwAlert> pending = WaitForSwState("pending", absl::Seconds(60));
  ASSERT_TRUE(pending.has_value()) << sw_->Stderr();
  const absl::Time active_at = pending->active_at;
  // Pending for about 8 of its 20 seconds, then stakewatch stops (SIGTERM) and comes back 4 s
  // later.
  absl::SleepFor(absl::Seconds(8) - (absl::Now() - active_at));
  ASSERT_EQ(WaitForSwState("pending", absl::Seconds(1)).has_value(), true);
  const absl::Time down_at = absl::Now();
  EXPECT_EQ(sw_->Stop(SIGTERM), 0);
  absl::SleepFor(absl::Seconds(4));
  const absl::Time restart_at = absl::Now();
  StartStakewatch({&am}, "20s");
  const absl::Duration downtime = restart_at - down_at;

  // Right after the restart the alert is pending again, its activeAt moved by the downtime.
  std::optional<SwAlert> restored = WaitForSwState("pending", absl::Seconds(10));
  ASSERT_TRUE(restored.has_value()) << sw_->Stderr();
  EXPECT_GE(restored->active_at - active_at, downtime - absl::Seconds(2));
  EXPECT_LE(restored->active_at - active_at, downtime + absl::Seconds(3));

  std::optional<Notification> firing = hook_.WaitFor("firing", restart_at, absl::Seconds(60));
  ASSERT_TRUE(firing.has_value()) << sw_->Stderr();
  const absl::Time starts = ParseRfc3339(firing->alerts[0].starts_at);
  // It waited its whole `for` of observed time ...
  EXPECT_GE(starts - active_at, absl::Seconds(20));
  // ... and no more than the downtime (plus start-up and evaluation slack) on top.
  EXPECT_LE(starts - active_at, absl::Seconds(20) + downtime + absl::Seconds(4));
  // A restarted timer could not fire before restart + 20s.
  EXPECT_LT(starts, restart_at + absl::Seconds(20));
}

}  // namespace
}  // namespace stakewatch
