// The rules engine inside a running daemon: `stakewatch run` with rule_files scrapes its own
// /metrics (job "stakewatch"), evaluates the rules on schedule, writes recording-rule output and
// ALERTS into its series store, exports the rule self-metrics, and reloads on POST /-/reload and
// SIGHUP, keeping the old rules when a new file is invalid.
#include <signal.h>

#include <httplib.h>

#include <filesystem>
#include <map>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
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

constexpr char kGood[] = R"(groups:
  - name: self
    interval: 1s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: SelfScraped
        expr: job:up:sum{job="stakewatch"} == 1
        labels: {severity: info}
        annotations:
          summary: "{{ $labels.job }} scraped, {{ $value }} target(s) up in {{ $externalLabels.cluster }}"
)";

class DaemonRules : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("sw-daemon-rules");
    port_ = FreePort();
    std::filesystem::create_directories(dir_ + "/rules");
    ASSERT_TRUE(WriteFile(dir_ + "/rules/self.yml", kGood).ok());
    ASSERT_TRUE(WriteFile(dir_ + "/stakewatch.yml",
                          absl::StrCat("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                                       "  external_labels: {cluster: lab}\n"
                                       "rule_files: [\"rules/*.yml\"]\n"
                                       "storage:\n  path: ",
                                       dir_, "/data\n"))
                    .ok());
    absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(
        {StakewatchBinary(), "run", absl::StrCat("--config.file=", dir_, "/stakewatch.yml"),
         absl::StrCat("--web.listen-address=127.0.0.1:", port_), "--web.enable-lifecycle"},
        dir_ + "/stakewatch");
    ASSERT_TRUE(p.ok()) << p.status();
    proc_ = std::move(*p);
    ASSERT_TRUE(proc_->WaitForOutput("stakewatch started", absl::Seconds(20)).ok())
        << proc_->Stderr();
  }

  std::map<std::string, double> Metrics() { return testing::ScrapeMetrics("127.0.0.1", port_); }

  // Polls /metrics until `series` reaches at least `min` (generous deadline; not a timing test).
  double WaitFor(const std::string& series, double min) {
    return testing::WaitForMetric("127.0.0.1", port_, series, min, absl::Seconds(30));
  }

  std::string Group() const {
    return absl::StrCat("{rule_group=\"", dir_, "/rules/self.yml;self\"}");
  }

  std::string dir_;
  std::string body_;  // the last API answer (kept alive for simdjson's views)
  int port_ = 0;
  std::unique_ptr<Subprocess> proc_;
};

TEST_F(DaemonRules, EvaluatesOnScheduleWithItsOwnSeries) {
  // Each pass writes the recording (1 sample), ALERTS and ALERTS_FOR_STATE (1 each) once the
  // self-scrape has produced `up`.
  EXPECT_GE(WaitFor("stakewatch_rule_group_last_evaluation_samples" + Group(), 3), 3);
  EXPECT_GE(WaitFor("stakewatch_rule_evaluations_total" + Group(), 6), 6);
  std::map<std::string, double> m = Metrics();
  EXPECT_EQ(m["stakewatch_rule_group_rules" + Group()], 2);
  EXPECT_EQ(m["stakewatch_rule_group_interval_seconds" + Group()], 1);
  EXPECT_EQ(m["stakewatch_rule_evaluation_failures_total" + Group()], 0);
  EXPECT_EQ(m["stakewatch_rules_config_last_reload_successful"], 1);
}

TEST_F(DaemonRules, InvalidReloadKeepsTheOldRules) {
  ASSERT_GE(WaitFor("stakewatch_rule_evaluations_total" + Group(), 2), 2);
  ASSERT_TRUE(
      WriteFile(dir_ + "/rules/broken.yml",
                "groups:\n  - name: broken\n    rules:\n      - record: x\n        expr: sum(\n")
          .ok());
  httplib::Client client("127.0.0.1", port_);
  httplib::Result r = client.Post("/-/reload");
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(absl::StrContains(r->body, "failed to reload config:")) << r->body;
  EXPECT_TRUE(absl::StrContains(r->body, "broken.yml")) << r->body;
  std::map<std::string, double> m = Metrics();
  EXPECT_EQ(m["stakewatch_rules_config_last_reload_successful"], 0);
  // The old group keeps being evaluated.
  const double before = m["stakewatch_rule_evaluations_total" + Group()];
  EXPECT_GE(WaitFor("stakewatch_rule_evaluations_total" + Group(), before + 4), before + 4);
  EXPECT_TRUE(absl::StrContains(proc_->Stdout() + proc_->Stderr(),
                                "rule files reload failed; the previous rules keep running"));

  // Fixed file + SIGHUP: reloaded, and the new group runs too.
  ASSERT_TRUE(WriteFile(dir_ + "/rules/broken.yml",
                        "groups:\n  - name: broken\n    interval: 1s\n    rules:\n"
                        "      - record: x\n        expr: vector(1)\n")
                  .ok());
  ASSERT_EQ(kill(proc_->pid(), SIGHUP), 0);
  EXPECT_EQ(WaitFor("stakewatch_rules_config_last_reload_successful", 1), 1);
  EXPECT_GE(WaitFor(absl::StrCat("stakewatch_rule_evaluations_total{rule_group=\"", dir_,
                                 "/rules/broken.yml;broken\"}"),
                    2),
            2);
}

TEST_F(DaemonRules, ReloadAnswersLikePrometheus) {
  httplib::Client client("127.0.0.1", port_);
  httplib::Result get = client.Get("/-/reload");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 405);
  httplib::Result post = client.Post("/-/reload");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_EQ(post->body, "");
}

// Grafana's view: the Prometheus HTTP API of the running daemon answers from the same store the
// rules write to.
TEST_F(DaemonRules, HttpApiServesRulesAlertsAndQueries) {
  ASSERT_GE(WaitFor("stakewatch_rule_group_last_evaluation_samples" + Group(), 3), 3);
  simdjson::dom::parser parser;
  auto get = [&](const std::string& path) -> simdjson::dom::element {
    absl::StatusOr<testing::HttpResult> r = HttpGet("127.0.0.1", port_, path);
    EXPECT_TRUE(r.ok() && r->status == 200) << path << ": " << (r.ok() ? r->body : "no answer");
    body_ = r.ok() ? r->body : "{}";
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(body_).get(doc), simdjson::SUCCESS) << body_;
    return doc;
  };
  auto str = [](simdjson::dom::element e) {
    std::string_view v;
    return e.get(v) == simdjson::SUCCESS ? std::string(v) : std::string("<not a string>");
  };

  // The recording rule's output, written by the rule from the self-scraped `up`.
  simdjson::dom::element q = get("/api/v1/query?query=job:up:sum");
  EXPECT_EQ(str(q["status"]), "success");
  EXPECT_EQ(str(q["data"]["resultType"]), "vector");
  simdjson::dom::array result = q["data"]["result"].get_array();
  ASSERT_EQ(result.size(), 1u) << body_;
  EXPECT_EQ(str(result.at(0)["metric"]["__name__"]), "job:up:sum");
  EXPECT_EQ(str(result.at(0)["metric"]["job"]), "stakewatch");
  EXPECT_EQ(str(result.at(0)["value"].at(1)), "1");

  // The alert, firing (for: 0) with its annotation expanded, without external labels.
  simdjson::dom::element a = get("/api/v1/alerts");
  simdjson::dom::array alerts = a["data"]["alerts"].get_array();
  ASSERT_EQ(alerts.size(), 1u) << body_;
  EXPECT_EQ(str(alerts.at(0)["labels"]["alertname"]), "SelfScraped");
  EXPECT_EQ(str(alerts.at(0)["labels"]["severity"]), "info");
  EXPECT_EQ(str(alerts.at(0)["state"]), "firing");
  EXPECT_EQ(str(alerts.at(0)["annotations"]["summary"]),
            "stakewatch scraped, 1 target(s) up in lab");
  EXPECT_TRUE(alerts.at(0)["labels"]["cluster"].error() == simdjson::NO_SUCH_FIELD);

  // ALERTS as Prometheus writes it.
  simdjson::dom::element al = get("/api/v1/query?query=ALERTS");
  simdjson::dom::array al_result = al["data"]["result"].get_array();
  ASSERT_EQ(al_result.size(), 1u) << body_;
  EXPECT_EQ(str(al_result.at(0)["metric"]["alertstate"]), "firing");

  // The rules, with health.
  simdjson::dom::element r = get("/api/v1/rules");
  simdjson::dom::array groups = r["data"]["groups"].get_array();
  ASSERT_EQ(groups.size(), 1u) << body_;
  EXPECT_EQ(str(groups.at(0)["name"]), "self");
  simdjson::dom::array rules = groups.at(0)["rules"].get_array();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(str(rules.at(0)["type"]), "recording");
  EXPECT_EQ(str(rules.at(0)["health"]), "ok");
  EXPECT_EQ(str(rules.at(1)["type"]), "alerting");
  EXPECT_EQ(str(rules.at(1)["state"]), "firing");

  // What Grafana asks for when it builds a query.
  simdjson::dom::element names = get("/api/v1/label/__name__/values");
  bool has_up = false, has_recording = false;
  for (simdjson::dom::element n : names["data"].get_array()) {
    has_up |= str(n) == "up";
    has_recording |= str(n) == "job:up:sum";
  }
  EXPECT_TRUE(has_up && has_recording) << body_;
  simdjson::dom::element md = get("/api/v1/metadata?metric=stakewatch_rule_evaluations_total");
  EXPECT_EQ(str(md["data"]["stakewatch_rule_evaluations_total"].at(0)["type"]), "counter");
  simdjson::dom::element bi = get("/api/v1/status/buildinfo");
  EXPECT_FALSE(str(bi["data"]["version"]).empty());

  // POST form, as Grafana sends queries by default.
  httplib::Client client("127.0.0.1", port_);
  httplib::Result post =
      client.Post("/api/v1/query", "query=sum(up)&time=1", "application/x-www-form-urlencoded");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200) << post->body;
  EXPECT_TRUE(absl::StrContains(post->body, "\"resultType\":\"vector\"")) << post->body;
}

}  // namespace
}  // namespace stakewatch
