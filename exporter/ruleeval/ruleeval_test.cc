// Tests of the rule evaluator against hand-computed expectations from Prometheus 2.42's
// semantics (prometheus-semantics.md section 1; rules/alerting.go, recording.go, manager.go).
// The PromQL engine is replaced by a table of canned vectors per (query text, timestamp).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "exposition/series_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ruleeval/group.h"
#include "ruleeval/manager.h"
#include "ruleeval/rule.h"
#include "tsdb/storage.h"

namespace stakewatch::ruleeval {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr int64_t kMin = 60'000;            // one minute in ms
constexpr int64_t kT0 = 1'000'000'000'000;  // 2001-09-09T01:46:40Z, a whole minute
absl::Time T(int64_t ms) { return absl::FromUnixMillis(ms); }

// Answers from a table keyed by (canonical query text, ts); absent entries give an empty vector.
class CannedQuery {
 public:
  void Set(const std::string& text, int64_t ts, query::Vector v) { table_[{text, ts}] = v; }
  void Fail(const std::string& text, int64_t ts, absl::Status s) { errors_[{text, ts}] = s; }
  // The same vector at every minute in [from, to].
  void SetRange(const std::string& text, int64_t from, int64_t to, const query::Vector& v) {
    for (int64_t t = from; t <= to; t += kMin) Set(text, t, v);
  }
  // The same vector at every timestamp (for slotted evaluation times).
  void Always(const std::string& text, query::Vector v) { always_[text] = std::move(v); }
  QueryFunc Func() {
    return [this](const promql::Expr&, std::string_view text,
                  int64_t ts) -> absl::StatusOr<query::Vector> {
      calls.push_back({std::string(text), ts});
      auto e = errors_.find({std::string(text), ts});
      if (e != errors_.end()) return e->second;
      auto it = table_.find({std::string(text), ts});
      query::Vector v;
      if (it != table_.end()) {
        v = it->second;
      } else if (auto a = always_.find(std::string(text)); a != always_.end()) {
        v = a->second;
      }
      for (auto& s : v) s.t_ms = ts;
      return v;
    };
  }
  std::vector<std::pair<std::string, int64_t>> calls;

 private:
  std::map<std::pair<std::string, int64_t>, query::Vector> table_;
  std::map<std::pair<std::string, int64_t>, absl::Status> errors_;
  std::map<std::string, query::Vector> always_;
};

query::VSample S(tsdb::Labels l, double v) { return query::VSample{std::move(l), 0, v}; }

rules::Rule Recording(std::string name, std::string expr,
                      std::map<std::string, std::string> labels = {}) {
  rules::Rule r;
  r.record = std::move(name);
  r.expr = std::move(expr);
  r.labels = std::move(labels);
  return r;
}

rules::Rule Alerting(std::string name, std::string expr,
                     absl::Duration for_d = absl::ZeroDuration(),
                     std::map<std::string, std::string> labels = {},
                     std::map<std::string, std::string> annotations = {}) {
  rules::Rule r;
  r.alert = std::move(name);
  r.expr = std::move(expr);
  r.for_duration = for_d;
  r.labels = std::move(labels);
  r.annotations = std::move(annotations);
  return r;
}

std::unique_ptr<AlertingRule> MakeAlert(const rules::Rule& r) {
  auto a = AlertingRule::Create(r);
  EXPECT_TRUE(a.ok()) << a.status();
  return a.ok() ? *std::move(a) : nullptr;
}

// All samples of series `name` (any labels) in [from, to], as (labels, t, v).
std::vector<tsdb::Series> Read(const tsdb::Storage& st, const std::string& name, int64_t from,
                               int64_t to) {
  auto r = st.Select({{tsdb::Matcher::Type::kEqual, "__name__", name}}, from, to);
  EXPECT_TRUE(r.ok());
  return r.ok() ? *r : std::vector<tsdb::Series>{};
}

// ---------------------------------------------------------------------------------------------
// Recording rules (recording.go).

TEST(RecordingRule, SetsNameThenRuleLabelsOverride) {
  CannedQuery q;
  q.Set("foo", kT0,
        {S({{"__name__", "foo"}, {"job", "a"}, {"l", "x"}}, 1),
         S({{"__name__", "foo"}, {"job", "b"}}, 2)});
  auto r = RecordingRule::Create(Recording("job:foo", "foo", {{"l", "override"}}));
  ASSERT_TRUE(r.ok());
  auto out = (*r)->Eval(kT0, {.query = q.Func()}, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_THAT(*out, SizeIs(2));
  EXPECT_EQ((*out)[0].metric,
            (tsdb::Labels{{"__name__", "job:foo"}, {"job", "a"}, {"l", "override"}}));
  EXPECT_EQ((*out)[1].metric,
            (tsdb::Labels{{"__name__", "job:foo"}, {"job", "b"}, {"l", "override"}}));
  EXPECT_EQ((*out)[0].t_ms, kT0);
  EXPECT_EQ((*out)[1].v, 2);
}

TEST(RecordingRule, ScalarResultBecomesNameOnlySeries) {
  CannedQuery q;
  q.Set("1 + 1", kT0, {S({}, 2)});  // EngineQueryFunc's scalar: one sample, no labels
  auto r = RecordingRule::Create(Recording("two", "1+1"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->query_text(), "1 + 1");
  auto out = (*r)->Eval(kT0, {.query = q.Func()}, 0);
  ASSERT_TRUE(out.ok());
  ASSERT_THAT(*out, SizeIs(1));
  EXPECT_EQ((*out)[0].metric, (tsdb::Labels{{"__name__", "two"}}));
}

TEST(RecordingRule, DuplicateLabelsetAfterRuleLabels) {
  CannedQuery q;
  q.Set("foo", kT0,
        {S({{"__name__", "foo"}, {"l", "1"}}, 1), S({{"__name__", "foo"}, {"l", "2"}}, 2)});
  auto r = RecordingRule::Create(Recording("x", "foo", {{"l", "same"}}));
  ASSERT_TRUE(r.ok());
  auto out = (*r)->Eval(kT0, {.query = q.Func()}, 0);
  EXPECT_EQ(out.status().message(),
            "vector contains metrics with the same labelset after applying rule labels");
}

TEST(RecordingRule, Limit) {  // recording_test.go TestRecordingEvalWithLimit-style
  CannedQuery q;
  q.Set("foo", kT0,
        {S({{"__name__", "foo"}, {"i", "1"}}, 1), S({{"__name__", "foo"}, {"i", "2"}}, 2)});
  auto r = RecordingRule::Create(Recording("x", "foo"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->Eval(kT0, {.query = q.Func()}, 1).status().message(),
            "exceeded limit of 1 with 2 series");
  EXPECT_TRUE((*r)->Eval(kT0, {.query = q.Func()}, 2).ok());
  EXPECT_TRUE((*r)->Eval(kT0, {.query = q.Func()}, 0).ok());
}

// ---------------------------------------------------------------------------------------------
// Alerting rules (alerting.go).

const tsdb::Labels kUp0{{"__name__", "up"}, {"instance", "a"}, {"job", "vc"}};

TEST(AlertingRule, PendingFiringResolvedTiming) {
  CannedQuery q;
  // up == 0 is true from 0m to 6m, false from 7m.
  q.SetRange("up == 0", kT0, kT0 + 6 * kMin, {S(kUp0, 0)});
  auto rule = MakeAlert(Alerting("Down", "up == 0", absl::Minutes(5), {{"severity", "page"}}));
  const tsdb::Labels alert_labels{
      {"alertname", "Down"}, {"instance", "a"}, {"job", "vc"}, {"severity", "page"}};
  const tsdb::Labels pending{
      {"__name__", "ALERTS"}, {"alertname", "Down"}, {"alertstate", "pending"},
      {"instance", "a"},      {"job", "vc"},         {"severity", "page"}};
  const tsdb::Labels firing{{"__name__", "ALERTS"}, {"alertname", "Down"}, {"alertstate", "firing"},
                            {"instance", "a"},      {"job", "vc"},         {"severity", "page"}};
  const tsdb::Labels for_state{{"__name__", "ALERTS_FOR_STATE"},
                               {"alertname", "Down"},
                               {"instance", "a"},
                               {"job", "vc"},
                               {"severity", "page"}};
  const double active_s = kT0 / 1000.0;

  for (int m = 0; m <= 4; ++m) {
    auto out = rule->Eval(kT0 + m * kMin, {.query = q.Func()}, 0);
    ASSERT_TRUE(out.ok());
    ASSERT_THAT(*out, SizeIs(2)) << m;
    EXPECT_EQ((*out)[0].metric, pending) << m;
    EXPECT_EQ((*out)[0].v, 1);
    EXPECT_EQ((*out)[1].metric, for_state);
    EXPECT_EQ((*out)[1].v, active_s);
    EXPECT_EQ((*out)[1].t_ms, kT0 + m * kMin);
  }
  // 5m after ActiveAt: firing (ts - ActiveAt >= for).
  auto out = rule->Eval(kT0 + 5 * kMin, {.query = q.Func()}, 0);
  ASSERT_TRUE(out.ok());
  ASSERT_THAT(*out, SizeIs(2));
  EXPECT_EQ((*out)[0].metric, firing);
  EXPECT_EQ((*out)[1].v, active_s);
  std::vector<Alert> alerts = rule->AllAlerts();
  ASSERT_THAT(alerts, SizeIs(1));
  EXPECT_EQ(alerts[0].labels, alert_labels);
  EXPECT_EQ(alerts[0].state, AlertState::kFiring);
  EXPECT_EQ(alerts[0].active_at, T(kT0));
  EXPECT_EQ(alerts[0].fired_at, T(kT0 + 5 * kMin));
  EXPECT_EQ(rule->State(), AlertState::kFiring);

  ASSERT_TRUE(rule->Eval(kT0 + 6 * kMin, {.query = q.Func()}, 0).ok());
  // 7m: gone: inactive, ResolvedAt = 7m, no output.
  out = rule->Eval(kT0 + 7 * kMin, {.query = q.Func()}, 0);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, IsEmpty());
  alerts = rule->AllAlerts();
  ASSERT_THAT(alerts, SizeIs(1));
  EXPECT_EQ(alerts[0].state, AlertState::kInactive);
  EXPECT_EQ(alerts[0].resolved_at, T(kT0 + 7 * kMin));
  EXPECT_EQ(alerts[0].fired_at, T(kT0 + 5 * kMin));
}

TEST(AlertingRule, ForZeroFiresOnFirstEvaluation) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 0)});
  auto rule = MakeAlert(Alerting("Down", "up == 0"));
  auto out = rule->Eval(kT0, {.query = q.Func()}, 0);
  ASSERT_TRUE(out.ok());
  ASSERT_THAT(*out, SizeIs(2));
  EXPECT_EQ((*out)[0].metric.Get("alertstate"), "firing");
  EXPECT_EQ(rule->AllAlerts()[0].fired_at, T(kT0));
}

TEST(AlertingRule, ActiveAlertsExcludesResolved) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 0)});
  auto rule = MakeAlert(Alerting("Down", "up == 0"));
  ASSERT_TRUE(rule->Eval(kT0, {.query = q.Func()}, 0).ok());
  EXPECT_THAT(rule->ActiveAlerts(), SizeIs(1));
  ASSERT_TRUE(rule->Eval(kT0 + kMin, {.query = q.Func()}, 0).ok());
  EXPECT_THAT(rule->ActiveAlerts(), IsEmpty());
  EXPECT_THAT(rule->AllAlerts(), SizeIs(1));
}

TEST(AlertingRule, PendingAlertIsDeletedAtOnce) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 0)});
  auto rule = MakeAlert(Alerting("Down", "up == 0", absl::Minutes(5)));
  ASSERT_TRUE(rule->Eval(kT0, {.query = q.Func()}, 0).ok());
  ASSERT_THAT(rule->AllAlerts(), SizeIs(1));
  ASSERT_TRUE(rule->Eval(kT0 + kMin, {.query = q.Func()}, 0).ok());
  EXPECT_THAT(rule->AllAlerts(), IsEmpty());
}

TEST(AlertingRule, ResolvedRetentionIs15Minutes) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 0)});
  auto rule = MakeAlert(Alerting("Down", "up == 0"));
  ASSERT_TRUE(rule->Eval(kT0, {.query = q.Func()}, 0).ok());         // firing
  ASSERT_TRUE(rule->Eval(kT0 + kMin, {.query = q.Func()}, 0).ok());  // resolved at 1m
  // Kept while ts - ResolvedAt <= 15m.
  ASSERT_TRUE(rule->Eval(kT0 + 16 * kMin, {.query = q.Func()}, 0).ok());
  ASSERT_THAT(rule->AllAlerts(), SizeIs(1));
  EXPECT_EQ(rule->AllAlerts()[0].resolved_at, T(kT0 + kMin));
  // Deleted once more than 15m have passed.
  ASSERT_TRUE(rule->Eval(kT0 + 16 * kMin + 1000, {.query = q.Func()}, 0).ok());
  EXPECT_THAT(rule->AllAlerts(), IsEmpty());
}

TEST(AlertingRule, ReturningWithinRetentionGetsFreshActiveAt) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 0)});
  q.Set("up == 0", kT0 + 3 * kMin, {S(kUp0, 0)});
  auto rule = MakeAlert(Alerting("Down", "up == 0", absl::Minutes(2)));
  ASSERT_TRUE(rule->Eval(kT0, {.query = q.Func()}, 0).ok());
  // Pending then absent at 1m: deleted; back at 3m: new ActiveAt = 3m.
  ASSERT_TRUE(rule->Eval(kT0 + kMin, {.query = q.Func()}, 0).ok());
  auto out = rule->Eval(kT0 + 3 * kMin, {.query = q.Func()}, 0);
  ASSERT_TRUE(out.ok());
  ASSERT_THAT(*out, SizeIs(2));
  EXPECT_EQ((*out)[1].v, (kT0 + 3 * kMin) / 1000.0);

  // A resolved (inactive, retained) alert is replaced too.
  CannedQuery q2;
  q2.Set("up == 0", kT0, {S(kUp0, 0)});
  q2.Set("up == 0", kT0 + 2 * kMin, {S(kUp0, 5)});
  auto r2 = MakeAlert(Alerting("Down", "up == 0"));
  ASSERT_TRUE(r2->Eval(kT0, {.query = q2.Func()}, 0).ok());
  ASSERT_TRUE(r2->Eval(kT0 + kMin, {.query = q2.Func()}, 0).ok());
  ASSERT_EQ(r2->AllAlerts()[0].state, AlertState::kInactive);
  ASSERT_TRUE(r2->Eval(kT0 + 2 * kMin, {.query = q2.Func()}, 0).ok());
  auto a = r2->AllAlerts();
  ASSERT_THAT(a, SizeIs(1));
  EXPECT_EQ(a[0].state, AlertState::kFiring);
  EXPECT_EQ(a[0].active_at, T(kT0 + 2 * kMin));
  EXPECT_EQ(a[0].resolved_at, ZeroTime());
  EXPECT_EQ(a[0].value, 5);
}

TEST(AlertingRule, ExistingAlertUpdatesValueAndAnnotationsNotLabels) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 1)});
  q.Set("up == 0", kT0 + kMin, {S(kUp0, 20)});
  auto rule = MakeAlert(Alerting("Down", "up == 0", absl::Minutes(5),
                                 {{"sev", "{{ if gt $value 10.0 }}high{{ else }}low{{ end }}"}},
                                 {{"v", "{{ $value }}"}}));
  ASSERT_TRUE(rule->Eval(kT0, {.query = q.Func()}, 0).ok());
  EXPECT_EQ(rule->AllAlerts()[0].labels.Get("sev"), "low");
  // At 1m the label template gives "high": a different identity, so the "low" alert (pending)
  // is dropped and a new one starts.
  ASSERT_TRUE(rule->Eval(kT0 + kMin, {.query = q.Func()}, 0).ok());
  auto a = rule->AllAlerts();
  ASSERT_THAT(a, SizeIs(1));
  EXPECT_EQ(a[0].labels.Get("sev"), "high");
  EXPECT_EQ(a[0].annotations.at("v"), "20");
  EXPECT_EQ(a[0].active_at, T(kT0 + kMin));

  // Same identity: value and annotations follow, ActiveAt stays.
  CannedQuery q2;
  q2.Set("up == 0", kT0, {S(kUp0, 1)});
  q2.Set("up == 0", kT0 + kMin, {S(kUp0, 2)});
  auto r2 = MakeAlert(Alerting("Down", "up == 0", absl::Minutes(5), {}, {{"v", "{{ $value }}"}}));
  ASSERT_TRUE(r2->Eval(kT0, {.query = q2.Func()}, 0).ok());
  ASSERT_TRUE(r2->Eval(kT0 + kMin, {.query = q2.Func()}, 0).ok());
  a = r2->AllAlerts();
  ASSERT_THAT(a, SizeIs(1));
  EXPECT_EQ(a[0].value, 2);
  EXPECT_EQ(a[0].annotations.at("v"), "2");
  EXPECT_EQ(a[0].active_at, T(kT0));
}

TEST(AlertingRule, KeepFiringFor) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 0)});
  q.Set("up == 0", kT0 + 4 * kMin, {S(kUp0, 0)});
  rules::Rule spec = Alerting("Down", "up == 0");
  spec.keep_firing_for = absl::Minutes(2);
  auto rule = MakeAlert(spec);
  ASSERT_TRUE(rule->Eval(kT0, {.query = q.Func()}, 0).ok());  // firing (for 0)
  // Absent at 1m and 2m: still firing (1m: since=1m, 0 < 2m; 2m: 1m < 2m), ALERTS says firing.
  for (int m : {1, 2}) {
    auto out = rule->Eval(kT0 + m * kMin, {.query = q.Func()}, 0);
    ASSERT_TRUE(out.ok());
    ASSERT_THAT(*out, SizeIs(2)) << m;
    EXPECT_EQ((*out)[0].metric.Get("alertstate"), "firing");
    EXPECT_EQ(rule->AllAlerts()[0].keep_firing_since, T(kT0 + kMin));
  }
  // 3m: 2m since KeepFiringSince, not < 2m: resolved at 3m.
  auto out = rule->Eval(kT0 + 3 * kMin, {.query = q.Func()}, 0);
  ASSERT_TRUE(out.ok());
  EXPECT_THAT(*out, IsEmpty());
  EXPECT_EQ(rule->AllAlerts()[0].state, AlertState::kInactive);
  EXPECT_EQ(rule->AllAlerts()[0].resolved_at, T(kT0 + 3 * kMin));

  // Present again resets KeepFiringSince.
  auto r2 = MakeAlert(spec);
  CannedQuery q2;
  q2.Set("up == 0", kT0, {S(kUp0, 0)});
  q2.Set("up == 0", kT0 + 2 * kMin, {S(kUp0, 0)});
  ASSERT_TRUE(r2->Eval(kT0, {.query = q2.Func()}, 0).ok());
  ASSERT_TRUE(r2->Eval(kT0 + kMin, {.query = q2.Func()}, 0).ok());
  ASSERT_TRUE(r2->Eval(kT0 + 2 * kMin, {.query = q2.Func()}, 0).ok());
  EXPECT_EQ(r2->AllAlerts()[0].keep_firing_since, ZeroTime());
  ASSERT_TRUE(r2->Eval(kT0 + 3 * kMin, {.query = q2.Func()}, 0).ok());
  ASSERT_TRUE(r2->Eval(kT0 + 4 * kMin, {.query = q2.Func()}, 0).ok());
  EXPECT_EQ(r2->AllAlerts()[0].state, AlertState::kFiring);  // 4m - 3m = 1m < 2m
}

TEST(AlertingRule, LimitClearsAllState) {
  CannedQuery q;
  const query::Vector two{S({{"__name__", "up"}, {"i", "1"}}, 0),
                          S({{"__name__", "up"}, {"i", "2"}}, 0)};
  q.Set("up == 0", kT0, two);
  auto rule = MakeAlert(Alerting("Down", "up == 0", absl::Minutes(5)));
  auto out = rule->Eval(kT0, {.query = q.Func()}, 1);
  EXPECT_EQ(out.status().message(), "exceeded limit of 1 with 2 alerts");
  EXPECT_THAT(rule->AllAlerts(), IsEmpty());
  EXPECT_TRUE(rule->Eval(kT0, {.query = q.Func()}, 2).ok());
  EXPECT_THAT(rule->AllAlerts(), SizeIs(2));
}

TEST(AlertingRule, DuplicateLabelsetAfterAlertLabels) {
  CannedQuery q;
  // Different only in __name__, which alert labels drop.
  q.Set("a or b", kT0,
        {S({{"__name__", "a"}, {"x", "1"}}, 1), S({{"__name__", "b"}, {"x", "1"}}, 1)});
  auto rule = MakeAlert(Alerting("A", "a or b"));
  EXPECT_EQ(rule->Eval(kT0, {.query = q.Func()}, 0).status().message(),
            "vector contains metrics with the same labelset after applying alert labels");
}

TEST(AlertingRule, QueryErrorLeavesStateAlone) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 0)});
  q.Fail("up == 0", kT0 + kMin, absl::UnavailableError("boom"));
  auto rule = MakeAlert(Alerting("Down", "up == 0", absl::Minutes(5)));
  ASSERT_TRUE(rule->Eval(kT0, {.query = q.Func()}, 0).ok());
  EXPECT_EQ(rule->Eval(kT0 + kMin, {.query = q.Func()}, 0).status().message(), "boom");
  ASSERT_THAT(rule->AllAlerts(), SizeIs(1));
  EXPECT_EQ(rule->AllAlerts()[0].state, AlertState::kPending);
}

TEST(AlertingRule, Templates) {
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 1234567)});
  q.Set("node_count", kT0, {S({{"__name__", "node_count"}}, 3)});
  auto rule = MakeAlert(
      Alerting("Down", "up == 0", absl::ZeroDuration(),
               {{"severity", "{{ if gt $value 1000.0 }}critical{{ else }}warning{{ end }}"},
                {"empty", "{{ $labels.nonexistent }}"}},
               {{"summary",
                 "{{ $labels.instance }} of {{ $labels.__name__ }} is {{ $value }} in "
                 "{{ $externalLabels.cluster }}"},
                {"url", "{{ $externalURL }}/alerts"},
                {"nodes", "{{ query \"node_count\" | first | value }} nodes"},
                {"human", "{{ $value | humanize }}"},
                {"bad", "{{ query \"(\" }}"}}));
  ASSERT_NE(rule, nullptr);
  EvalContext ctx{.query = q.Func(),
                  .external_labels = tsdb::Labels{{"cluster", "lab"}},
                  .external_url = "http://prom:9090"};
  auto out = rule->Eval(kT0, ctx, 0);
  ASSERT_TRUE(out.ok()) << out.status();
  auto a = rule->AllAlerts();
  ASSERT_THAT(a, SizeIs(1));
  // `empty` expands to "" and is dropped from the alert's labels.
  EXPECT_EQ(
      a[0].labels,
      (tsdb::Labels{
          {"alertname", "Down"}, {"instance", "a"}, {"job", "vc"}, {"severity", "critical"}}));
  EXPECT_EQ(a[0].annotations.at("summary"), "a of up is 1.234567e+06 in lab");
  EXPECT_EQ(a[0].annotations.at("url"), "http://prom:9090/alerts");
  EXPECT_EQ(a[0].annotations.at("nodes"), "3 nodes");
  EXPECT_EQ(a[0].annotations.at("human"), "1.235M");
  EXPECT_THAT(a[0].annotations.at("bad"), ::testing::StartsWith("<error expanding template: "));
  EXPECT_THAT(a[0].annotations.at("bad"), ::testing::HasSubstr("parse error"));
  // The template query ran at the evaluation time.
  EXPECT_THAT(q.calls, ::testing::Contains(std::make_pair(std::string("node_count"), kT0)));
  // ALERTS carries the raw rule label where the templated one expanded to "" (Prometheus
  // overlays alert labels on the unexpanded rule labels).
  ASSERT_THAT(*out, SizeIs(2));
  EXPECT_EQ((*out)[0].metric.Get("empty"), "{{ $labels.nonexistent }}");
  EXPECT_EQ((*out)[0].metric.Get("severity"), "critical");
}

// Ported from Prometheus's rules/alerting_test.go TestAlertingRuleLabelsUpdate: the series
// http_requests{job="app-server",instance="0"} 75 85 70 70 stale (1m steps), so
// `http_requests < 100` returns those values at 0m..3m and nothing at 4m.
TEST(AlertingRulePorted, LabelsUpdate) {
  CannedQuery q;
  const tsdb::Labels series{
      {"__name__", "http_requests"}, {"instance", "0"}, {"job", "app-server"}};
  const double values[] = {75, 85, 70, 70};
  for (int i = 0; i < 4; ++i) q.Set("http_requests < 100", i * kMin, {S(series, values[i])});
  auto rule = MakeAlert(
      Alerting("HTTPRequestRateLow", "http_requests < 100", absl::Minutes(1),
               {{"severity", "{{ if lt $value 80.0 }}critical{{ else }}warning{{ end }}"}}));
  const std::pair<const char*, const char*> want[] = {{"pending", "critical"},
                                                      {"pending", "warning"},
                                                      {"pending", "critical"},
                                                      {"firing", "critical"}};
  for (int i = 0; i < 4; ++i) {
    auto res = rule->Eval(i * kMin, {.query = q.Func()}, 0);
    ASSERT_TRUE(res.ok());
    query::Vector alerts;
    for (const auto& s : *res) {
      if (s.metric.Get("__name__") == "ALERTS") {
        alerts.push_back(s);
      } else {
        EXPECT_EQ(s.metric.Get("__name__"), "ALERTS_FOR_STATE");
      }
    }
    ASSERT_THAT(alerts, SizeIs(1)) << i;
    EXPECT_EQ(alerts[0].metric, (tsdb::Labels{{"__name__", "ALERTS"},
                                              {"alertname", "HTTPRequestRateLow"},
                                              {"alertstate", want[i].first},
                                              {"instance", "0"},
                                              {"job", "app-server"},
                                              {"severity", want[i].second}}))
        << i;
    EXPECT_EQ(alerts[0].t_ms, i * kMin);
    EXPECT_EQ(alerts[0].v, 1);
  }
  auto res = rule->Eval(4 * kMin, {.query = q.Func()}, 0);
  ASSERT_TRUE(res.ok());
  EXPECT_THAT(*res, IsEmpty());
}

// Ported from TestAlertingRuleExternalLabelsInTemplate, ...ExternalURLInTemplate and
// ...EmptyLabelFromTemplate (data `http_requests 75 ...`, evaluated at 0).
TEST(AlertingRulePorted, ExternalLabelsUrlAndEmptyLabel) {
  CannedQuery q;
  const tsdb::Labels series{
      {"__name__", "http_requests"}, {"instance", "0"}, {"job", "app-server"}};
  q.Set("http_requests < 100", 0, {S(series, 75)});
  auto alerts_label = [&](const rules::Rule& spec, const EvalContext& ctx) {
    auto rule = MakeAlert(spec);
    auto res = rule->Eval(0, ctx, 0);
    EXPECT_TRUE(res.ok());
    EXPECT_THAT(*res, SizeIs(2));
    return res.ok() && !res->empty() ? (*res)[0].metric : tsdb::Labels{};
  };
  const std::string text =
      "There are {{ len $externalLabels }} external Labels, of which foo is {{ $externalLabels.foo "
      "}}.";
  EXPECT_EQ(alerts_label(Alerting("ExternalLabelDoesNotExist", "http_requests < 100",
                                  absl::Minutes(1), {{"templated_label", text}}),
                         {.query = q.Func()})
                .Get("templated_label"),
            "There are 0 external Labels, of which foo is .");
  EXPECT_EQ(alerts_label(Alerting("ExternalLabelExists", "http_requests < 100", absl::Minutes(1),
                                  {{"templated_label", text}}),
                         {.query = q.Func(),
                          .external_labels = tsdb::Labels{{"foo", "bar"}, {"dings", "bums"}}})
                .Get("templated_label"),
            "There are 2 external Labels, of which foo is bar.");
  const std::string url = "The external URL is {{ $externalURL }}.";
  EXPECT_EQ(alerts_label(Alerting("ExternalURLDoesNotExist", "http_requests < 100",
                                  absl::Minutes(1), {{"templated_label", url}}),
                         {.query = q.Func()})
                .Get("templated_label"),
            "The external URL is .");
  EXPECT_EQ(alerts_label(Alerting("ExternalURLExists", "http_requests < 100", absl::Minutes(1),
                                  {{"templated_label", url}}),
                         {.query = q.Func(), .external_url = "http://localhost:1234"})
                .Get("templated_label"),
            "The external URL is http://localhost:1234.");
  EXPECT_EQ(alerts_label(Alerting("EmptyLabel", "http_requests < 100", absl::Minutes(1),
                                  {{"empty_label", ""}}),
                         {.query = q.Func()}),
            (tsdb::Labels{{"__name__", "ALERTS"},
                          {"alertname", "EmptyLabel"},
                          {"alertstate", "pending"},
                          {"instance", "0"},
                          {"job", "app-server"}}));
}

TEST(AlertingRule, BadTemplateIsCreateError) {
  auto r = AlertingRule::Create(Alerting("A", "up", absl::ZeroDuration(), {}, {{"s", "{{ .Foo"}}));
  EXPECT_FALSE(r.ok());
}

TEST(AlertingRule, AlertsToSendNeedsSendingAndValidUntil) {
  CannedQuery q;
  q.SetRange("up == 0", kT0, kT0 + 5 * kMin, {S(kUp0, 0)});
  auto rule = MakeAlert(Alerting("Down", "up == 0", absl::Minutes(1)));
  const absl::Duration delay = absl::Minutes(1), interval = absl::Minutes(1);
  std::vector<int> sent_at;  // minutes with a send
  for (int m = 0; m <= 8; ++m) {
    ASSERT_TRUE(rule->Eval(kT0 + m * kMin, {.query = q.Func()}, 0).ok());
    auto s = rule->AlertsToSend(T(kT0 + m * kMin), delay, interval);
    if (!s.empty()) {
      sent_at.push_back(m);
      EXPECT_EQ(s[0].last_sent_at, T(kT0 + m * kMin));
      EXPECT_EQ(s[0].valid_until, T(kT0 + m * kMin) + absl::Minutes(4));
    }
  }
  // 0m pending: never sent. Fires at 1m: sent (zero LastSentAt). Then LastSentAt+1m must be
  // strictly before ts: 3m, 5m. Resolved at 6m: sent at once (ResolvedAt > LastSentAt), then
  // every 2m: 8m.
  EXPECT_THAT(sent_at, ElementsAre(1, 3, 5, 6, 8));
  // ValidUntil uses max(resend delay, interval).
  auto r2 = MakeAlert(Alerting("Down", "up == 0"));
  ASSERT_TRUE(r2->Eval(kT0, {.query = q.Func()}, 0).ok());
  auto s = r2->AlertsToSend(T(kT0), absl::Seconds(10), absl::Seconds(30));
  ASSERT_THAT(s, SizeIs(1));
  EXPECT_EQ(s[0].valid_until, T(kT0) + absl::Minutes(2));
}

// ---------------------------------------------------------------------------------------------
// Groups (manager.go Group).

// The value of `name{rule_group="group"}` (or `name` without labels when `group` is empty) in
// the store's text rendering; NaN if absent.
double MetricValue(exposition::SeriesStore& store, const std::string& name,
                   const std::string& group) {
  std::string body;
  store.Render(exposition::Format::kText004, &body);
  const std::string prefix = group.empty() ? name + " " : name + "{rule_group=\"" + group + "\"} ";
  for (absl::string_view line : absl::StrSplit(body, '\n')) {
    if (absl::StartsWith(line, prefix)) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(prefix.size()), &v)) return v;
    }
  }
  return std::nan("");
}

rules::RuleGroup MakeGroup(std::string name, std::vector<rules::Rule> rs,
                           absl::Duration interval = absl::Minutes(1), int64_t limit = 0) {
  rules::RuleGroup g;
  g.name = std::move(name);
  g.interval = interval;
  g.limit = limit;
  g.rules = std::move(rs);
  return g;
}

TEST(Group, RecordingOutputVisibleToNextRule) {
  tsdb::MemStorage st;
  CannedQuery canned;
  canned.Set("foo", kT0, {S({{"__name__", "foo"}, {"job", "a"}}, 7)});
  // The second rule's "engine" reads storage at exactly ts, as the real engine would.
  QueryFunc qf = [&](const promql::Expr& e, std::string_view text,
                     int64_t ts) -> absl::StatusOr<query::Vector> {
    if (text != "job:foo * 2") return canned.Func()(e, text, ts);
    auto r = st.Select({{tsdb::Matcher::Type::kEqual, "__name__", "job:foo"}}, ts, ts);
    if (!r.ok()) return r.status();
    query::Vector v;
    for (const auto& s : *r) {
      tsdb::LabelsBuilder b(s.labels);
      b.Del("__name__");
      for (const auto& p : s.samples) v.push_back({b.Build(), ts, p.v * 2});
    }
    return v;
  };
  auto g = Group::Create(
      MakeGroup("g", {Recording("job:foo", "foo"), Recording("doubled", "job:foo * 2")}), "f.yml",
      {.storage = &st, .query = qf});
  ASSERT_TRUE(g.ok()) << g.status();
  (*g)->Eval(T(kT0));
  auto d = Read(st, "doubled", kT0, kT0);
  ASSERT_THAT(d, SizeIs(1));
  EXPECT_EQ(d[0].labels, (tsdb::Labels{{"__name__", "doubled"}, {"job", "a"}}));
  ASSERT_THAT(d[0].samples, SizeIs(1));
  EXPECT_EQ(d[0].samples[0].v, 14);
  auto snap = (*g)->Snapshot();
  EXPECT_EQ(snap.rules[1].health, RuleHealth::kGood);
  EXPECT_EQ(snap.rules[0].query, "foo");
}

TEST(Group, StalenessMarkersAndFailedRuleKeepsPreviousSet) {
  tsdb::MemStorage st;
  CannedQuery q;
  const tsdb::Labels a{{"__name__", "foo"}, {"i", "a"}}, b{{"__name__", "foo"}, {"i", "b"}};
  q.Set("foo", kT0, {S(a, 1), S(b, 2)});
  q.Set("foo", kT0 + kMin, {S(a, 3)});
  q.Fail("foo", kT0 + 2 * kMin, absl::InternalError("query failed"));
  auto g = Group::Create(MakeGroup("g", {Recording("r", "foo")}), "f.yml",
                         {.storage = &st, .query = q.Func()});
  ASSERT_TRUE(g.ok());
  (*g)->Eval(T(kT0));
  (*g)->Eval(T(kT0 + kMin));
  auto series = Read(st, "r", kT0, kT0 + 10 * kMin);
  ASSERT_THAT(series, SizeIs(2));
  // r{i="b"}: 2 at 0m, StaleNaN at 1m.
  ASSERT_THAT(series[1].samples, SizeIs(2));
  EXPECT_EQ(series[1].samples[1].t_ms, kT0 + kMin);
  EXPECT_TRUE(tsdb::IsStaleNaN(series[1].samples[1].v));
  // Failure at 2m: no markers, health err, last error kept.
  (*g)->Eval(T(kT0 + 2 * kMin));
  auto snap = (*g)->Snapshot();
  EXPECT_EQ(snap.rules[0].health, RuleHealth::kBad);
  EXPECT_EQ(snap.rules[0].last_error, "query failed");
  series = Read(st, "r", kT0, kT0 + 10 * kMin);
  ASSERT_THAT(series[0].samples, SizeIs(2));  // r{i="a"}: 1@0m, 3@1m, nothing at 2m
  // 3m: empty result: the previous set (still {a}) is marked stale.
  (*g)->Eval(T(kT0 + 3 * kMin));
  series = Read(st, "r", kT0, kT0 + 10 * kMin);
  ASSERT_THAT(series[0].samples, SizeIs(3));
  EXPECT_EQ(series[0].samples[2].t_ms, kT0 + 3 * kMin);
  EXPECT_TRUE(tsdb::IsStaleNaN(series[0].samples[2].v));
  EXPECT_EQ((*g)->Snapshot().rules[0].health, RuleHealth::kGood);
}

TEST(Group, AlertsSeriesWrittenAndMarkedStale) {
  tsdb::MemStorage st;
  CannedQuery q;
  q.SetRange("up == 0", kT0, kT0 + kMin, {S(kUp0, 0)});
  auto g = Group::Create(MakeGroup("g", {Alerting("Down", "up == 0", absl::Minutes(1))}), "f.yml",
                         {.storage = &st, .query = q.Func()});
  ASSERT_TRUE(g.ok());
  for (int m = 0; m <= 2; ++m) (*g)->Eval(T(kT0 + m * kMin));
  auto alerts = Read(st, "ALERTS", kT0, kT0 + 5 * kMin);
  ASSERT_THAT(alerts, SizeIs(2));  // firing (sorted first), pending
  EXPECT_EQ(alerts[0].labels.Get("alertstate"), "firing");
  ASSERT_THAT(alerts[0].samples, SizeIs(2));  // 1 at 1m, stale at 2m
  EXPECT_EQ(alerts[0].samples[0].v, 1);
  EXPECT_TRUE(tsdb::IsStaleNaN(alerts[0].samples[1].v));
  EXPECT_EQ(alerts[1].labels.Get("alertstate"), "pending");
  ASSERT_THAT(alerts[1].samples, SizeIs(2));  // 1 at 0m, stale at 1m
  EXPECT_EQ(alerts[1].samples[1].t_ms, kT0 + kMin);
  EXPECT_TRUE(tsdb::IsStaleNaN(alerts[1].samples[1].v));
  auto fs = Read(st, "ALERTS_FOR_STATE", kT0, kT0 + 5 * kMin);
  ASSERT_THAT(fs, SizeIs(1));
  ASSERT_THAT(fs[0].samples, SizeIs(3));
  EXPECT_EQ(fs[0].samples[1].v, kT0 / 1000.0);
  EXPECT_TRUE(tsdb::IsStaleNaN(fs[0].samples[2].v));
}

TEST(Group, OutOfOrderIsCountedNotFatal) {
  tsdb::MemStorage st;
  {
    auto app = st.NewAppender();
    app->Append({{"__name__", "r"}}, kT0 + 10 * kMin, 1);
    ASSERT_TRUE(app->Commit().ok());
  }
  CannedQuery q;
  q.Set("foo", kT0, {S({{"__name__", "foo"}}, 5)});
  q.Set("bar", kT0, {S({{"__name__", "bar"}}, 6)});
  auto g = Group::Create(MakeGroup("g", {Recording("r", "foo"), Recording("r2", "bar")}), "f.yml",
                         {.storage = &st, .query = q.Func()});
  ASSERT_TRUE(g.ok());
  (*g)->Eval(T(kT0));
  auto snap = (*g)->Snapshot();
  EXPECT_EQ(snap.out_of_order_total, 1u);
  EXPECT_EQ(snap.rules[0].health, RuleHealth::kBad);
  EXPECT_EQ(snap.rules[0].last_error, "out of order sample");
  EXPECT_EQ(snap.rules[1].health, RuleHealth::kGood);
  EXPECT_THAT(Read(st, "r2", kT0, kT0), SizeIs(1));
}

TEST(Group, LimitErrorInHealth) {
  tsdb::MemStorage st;
  CannedQuery q;
  q.Set("up == 0", kT0,
        {S({{"__name__", "up"}, {"i", "1"}}, 0), S({{"__name__", "up"}, {"i", "2"}}, 0)});
  auto g = Group::Create(MakeGroup("g", {Alerting("Down", "up == 0")}, absl::Minutes(1), 1),
                         "f.yml", {.storage = &st, .query = q.Func()});
  ASSERT_TRUE(g.ok());
  (*g)->Eval(T(kT0));
  auto snap = (*g)->Snapshot();
  EXPECT_EQ(snap.rules[0].health, RuleHealth::kBad);
  EXPECT_EQ(snap.rules[0].last_error, "exceeded limit of 1 with 2 alerts");
  EXPECT_THAT(snap.rules[0].alerts, IsEmpty());
  EXPECT_THAT(Read(st, "ALERTS", kT0, kT0), IsEmpty());
}

TEST(Group, NotifyGetsAlertsToSend) {
  tsdb::MemStorage st;
  CannedQuery q;
  q.Set("up == 0", kT0, {S(kUp0, 0)});
  std::vector<std::pair<std::string, size_t>> notified;
  auto g = Group::Create(MakeGroup("g", {Alerting("Down", "up == 0")}), "f.yml",
                         {.storage = &st,
                          .query = q.Func(),
                          .notify = [&](std::string_view expr, const std::vector<Alert>& a) {
                            notified.emplace_back(std::string(expr), a.size());
                          }});
  ASSERT_TRUE(g.ok());
  (*g)->Eval(T(kT0));
  EXPECT_THAT(notified, ElementsAre(std::make_pair(std::string("up == 0"), size_t{1})));
}

TEST(XxHash64, KnownVectors) {
  // Reference values of XXH64 with seed 0 (xxHash's and python-xxhash's documentation).
  EXPECT_EQ(XxHash64(""), 0xEF46DB3751D8E999ULL);
  EXPECT_EQ(XxHash64("a"), 0xD24EC4F1A98C6E5BULL);
  EXPECT_EQ(XxHash64("abc"), 0x44BC2CF5AD770999ULL);
  EXPECT_EQ(XxHash64("Nobody inspects the spammish repetition"), 0xFBCEA83C8A378BF1ULL);
}

TEST(Group, EvalTimestampIsSlotted) {
  tsdb::MemStorage st;
  CannedQuery q;
  exposition::SeriesStore reg;
  auto metrics_or = RuleMetrics::Create(&reg);
  ASSERT_TRUE(metrics_or.ok()) << metrics_or.status();
  RuleMetrics& metrics = **metrics_or;
  auto g = Group::Create(MakeGroup("grp", {Recording("r", "foo")}, absl::Seconds(30)), "rules.yml",
                         {.storage = &st, .query = q.Func(), .metrics = &metrics});
  ASSERT_TRUE(g.ok());
  // Prometheus's labels.Hash of {file="rules.yml", name="grp"}: the bytes built by hand here.
  const uint64_t h = XxHash64("file\xffrules.yml\xffname\xffgrp\xff");
  EXPECT_EQ(GroupHash("grp", "rules.yml"), h);
  const int64_t iv_ns = 30'000'000'000;
  const int64_t offset = static_cast<int64_t>(h % static_cast<uint64_t>(iv_ns));
  for (int64_t start_ns :
       {int64_t{1'700'000'000'000'000'000}, int64_t{1'700'000'012'345'678'901}}) {
    const absl::Time got = (*g)->EvalTimestamp(absl::FromUnixNanos(start_ns));
    const int64_t got_ns = absl::ToUnixNanos(got);
    EXPECT_LE(got_ns, start_ns);
    EXPECT_GT(got_ns, start_ns - iv_ns);
    EXPECT_EQ((got_ns - offset) % iv_ns, 0);
  }
  // Tick: first call schedules at EvalTimestamp + interval; nothing runs before that.
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  const absl::Time first = (*g)->Tick(now);
  EXPECT_EQ(first, (*g)->EvalTimestamp(now) + absl::Seconds(30));
  EXPECT_EQ((*g)->Tick(first - absl::Milliseconds(1)), first);
  EXPECT_THAT(q.calls, IsEmpty());
  // Late by 2.5 intervals: 2 missed, evaluates at first + 2*interval.
  const absl::Time next = (*g)->Tick(first + absl::Seconds(75));
  ASSERT_THAT(q.calls, SizeIs(1));
  EXPECT_EQ(q.calls[0].second, absl::ToUnixMillis(first + absl::Seconds(60)));
  EXPECT_EQ(next, first + absl::Seconds(90));
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_group_iterations_missed_total", "rules.yml;grp"), 2);
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_group_iterations_total", "rules.yml;grp"), 3);
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_evaluations_total", "rules.yml;grp"), 1);
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_group_interval_seconds", "rules.yml;grp"), 30);
}

// ---------------------------------------------------------------------------------------------
// Manager.

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           absl::StrCat("ruleeval_test_", ::testing::UnitTest::GetInstance()->random_seed(), "_",
                        reinterpret_cast<uintptr_t>(this));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = (dir_ / name).string();
    std::ofstream(p) << text;
    return p;
  }
  std::filesystem::path dir_;
};

constexpr char kRulesV1[] = R"(groups:
  - name: g
    interval: 1m
    rules:
      - alert: Down
        expr: up == 0
        for: 5m
)";
constexpr char kRulesV2[] = R"(groups:
  - name: g
    interval: 1m
    rules:
      - record: job:foo
        expr: foo
      - alert: Down
        expr: up == 0
        for: 5m
)";

TEST_F(ManagerTest, ReloadKeepsStateAndInvalidReloadKeepsOldRules) {
  tsdb::MemStorage st;
  CannedQuery q;
  FakeClock clock(T(kT0));
  exposition::SeriesStore reg;
  q.Always("up == 0", {S(kUp0, 0)});
  Manager m({.storage = &st, .query = q.Func(), .clock = &clock, .metrics_store = &reg});
  const std::string f = Write("a.yml", kRulesV1);
  ASSERT_TRUE(m.Update({f}).ok());
  EXPECT_EQ(MetricValue(reg, "stakewatch_rules_config_last_reload_successful", ""), 1);
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_group_rules", f + ";g"), 1);
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_group_interval_seconds", f + ";g"), 60);

  // Drive the group: the first tick schedules, then one evaluation per minute.
  const absl::Time first = [&] {
    m.RunOnce(clock.Now());
    return m.Groups()[0].last_evaluation;  // zero: nothing evaluated yet
  }();
  EXPECT_EQ(first, ZeroTime());
  EXPECT_THAT(q.calls, IsEmpty());
  for (int i = 0; i < 3; ++i) {
    clock.Advance(absl::Minutes(1));
    m.RunOnce(clock.Now());
  }
  ASSERT_THAT(q.calls, SizeIs(3));
  const int64_t first_ts = q.calls[0].second;
  EXPECT_EQ(q.calls[1].second - first_ts, kMin);
  auto alerts = m.Alerts();
  ASSERT_THAT(alerts, SizeIs(1));
  EXPECT_EQ(alerts[0].active_at, T(first_ts));
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_evaluations_total", f + ";g"), 3);
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_group_iterations_total", f + ";g"), 3);
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_group_last_evaluation_samples", f + ";g"), 2);

  // Invalid reload: error, old rules still there and evaluating.
  const std::string bad =
      Write("bad.yml", "groups:\n  - name: g\n    rules:\n      - alert: X\n        expr: up ==\n");
  absl::Status s = m.Update({bad});
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              ::testing::StartsWith("error loading rules, previous rule set restored"));
  EXPECT_EQ(MetricValue(reg, "stakewatch_rules_config_last_reload_successful", ""), 0);
  ASSERT_THAT(m.Rules(), SizeIs(1));
  EXPECT_EQ(m.Rules()[0].name, "Down");

  // Changed group, same name and file: alert state carries over (same ActiveAt).
  Write("a.yml", kRulesV2);
  ASSERT_TRUE(m.Update({f}).ok());
  auto rules = m.Rules();
  ASSERT_THAT(rules, SizeIs(2));
  EXPECT_EQ(rules[0].name, "job:foo");
  EXPECT_EQ(rules[0].health, RuleHealth::kUnknown);
  ASSERT_THAT(rules[1].alerts, SizeIs(1));
  EXPECT_EQ(rules[1].alerts[0].active_at, T(first_ts));
  EXPECT_EQ(MetricValue(reg, "stakewatch_rule_group_rules", f + ";g"), 2);
  // Keeps firing on schedule: 5m after ActiveAt it fires with the original ActiveAt.
  for (int i = 0; i < 3; ++i) {
    clock.Advance(absl::Minutes(1));
    m.RunOnce(clock.Now());
  }
  rules = m.Rules();
  ASSERT_THAT(rules[1].alerts, SizeIs(1));
  EXPECT_EQ(rules[1].alerts[0].state, AlertState::kFiring);
  EXPECT_EQ(rules[1].alerts[0].active_at, T(first_ts));
  EXPECT_EQ(rules[1].alerts[0].fired_at, T(first_ts + 5 * kMin));
  auto groups = m.Groups();
  ASSERT_THAT(groups, SizeIs(1));
  EXPECT_EQ(groups[0].file, f);
  EXPECT_EQ(groups[0].interval, absl::Minutes(1));
  EXPECT_EQ(groups[0].last_evaluation, clock.Now());  // FakeClock: the wall time of the pass
}

TEST_F(ManagerTest, RemovedGroupSeriesMarkedStaleAfterTwoIntervals) {
  tsdb::MemStorage st;
  CannedQuery q;
  FakeClock clock(T(kT0));
  q.Always("foo", {S({{"__name__", "foo"}}, 1)});
  Manager m({.storage = &st, .query = q.Func(), .clock = &clock});
  const std::string f =
      Write("r.yml", "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: foo\n");
  const std::string empty = Write("e.yml", "groups: []\n");
  ASSERT_TRUE(m.Update({f}).ok());
  m.RunOnce(clock.Now());
  clock.Advance(absl::Minutes(1));
  m.RunOnce(clock.Now());
  ASSERT_THAT(Read(st, "r", 0, kT0 + 60 * kMin), SizeIs(1));
  ASSERT_TRUE(m.Update({empty}).ok());
  EXPECT_THAT(m.Groups(), IsEmpty());
  const int64_t removed_at = absl::ToUnixMillis(clock.Now());
  clock.Advance(absl::Seconds(119));
  m.RunOnce(clock.Now());
  auto r = Read(st, "r", 0, kT0 + 60 * kMin);
  ASSERT_THAT(r[0].samples, SizeIs(1));  // not yet
  clock.Advance(absl::Seconds(1));
  m.RunOnce(clock.Now());
  r = Read(st, "r", 0, kT0 + 60 * kMin);
  ASSERT_THAT(r[0].samples, SizeIs(2));
  EXPECT_EQ(r[0].samples[1].t_ms, removed_at);
  EXPECT_TRUE(tsdb::IsStaleNaN(r[0].samples[1].v));
}

TEST_F(ManagerTest, ThreadsEvaluateOnFakeClock) {
  tsdb::MemStorage st;
  CannedQuery q;
  FakeClock clock(T(kT0));
  q.Always("foo", {S({{"__name__", "foo"}}, 1)});
  Manager m(
      {.storage = &st, .query = q.Func(), .clock = &clock, .max_poll = absl::Milliseconds(5)});
  ASSERT_TRUE(
      m.Update({Write("r.yml",
                      "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: foo\n")})
          .ok());
  m.Start();
  bool done = false;
  for (int i = 0; i < 400 && !done; ++i) {
    absl::SleepFor(absl::Milliseconds(5));
    clock.Advance(absl::Seconds(10));
    done = m.Groups()[0].rules[0].last_evaluation != ZeroTime();
  }
  m.Stop();
  EXPECT_TRUE(done);
  EXPECT_THAT(Read(st, "r", 0, kT0 + 60 * kMin), SizeIs(1));
}

}  // namespace
}  // namespace stakewatch::ruleeval

namespace stakewatch::ruleeval {
namespace {

// A reload with new globals (Prometheus's ApplyConfig): a group without its own interval takes
// the new evaluation_interval (and keeps its alert state); one with an explicit interval is
// untouched; a failed reload does not adopt the new globals.
TEST_F(ManagerTest, ReloadAppliesNewGlobalEvaluationInterval) {
  tsdb::MemStorage st;
  CannedQuery q;
  FakeClock clock(T(kT0));
  q.Always("up == 0", {S(kUp0, 0)});
  Manager m({.storage = &st, .query = q.Func(), .clock = &clock});
  const std::string f = Write("a.yml",
                              "groups:\n  - name: dflt\n    rules:\n      - alert: Down\n"
                              "        expr: up == 0\n        for: 5m\n"
                              "  - name: fixed\n    interval: 10s\n    rules:\n"
                              "      - record: r\n        expr: up == 0\n");
  ASSERT_TRUE(m.Update({f}).ok());
  auto groups = m.Groups();
  ASSERT_THAT(groups, SizeIs(2));
  EXPECT_EQ(groups[0].name, "dflt");
  EXPECT_EQ(groups[0].interval, absl::Minutes(1));  // ManagerOptions' default
  EXPECT_EQ(groups[1].interval, absl::Seconds(10));
  for (int i = 0; i < 3; ++i) {
    m.RunOnce(clock.Now());
    clock.Advance(absl::Minutes(1));
  }
  ASSERT_THAT(m.Alerts(), SizeIs(1));
  const absl::Time active_at = m.Alerts()[0].active_at;

  // A failed reload with new globals changes nothing.
  const std::string bad = Write("bad.yml",
                                "groups:\n  - name: g\n    rules:\n"
                                "      - record: x\n        expr: sum(\n");
  ASSERT_FALSE(m.Update({bad}, Manager::Globals{absl::Seconds(15), {}}).ok());
  EXPECT_EQ(m.Groups()[0].interval, absl::Minutes(1));

  ASSERT_TRUE(m.Update({f}, Manager::Globals{absl::Seconds(15), tsdb::Labels{{"env", "x"}}}).ok());
  groups = m.Groups();
  ASSERT_THAT(groups, SizeIs(2));
  EXPECT_EQ(groups[0].interval, absl::Seconds(15));
  EXPECT_EQ(groups[1].interval, absl::Seconds(10));
  ASSERT_THAT(m.Alerts(), SizeIs(1));
  EXPECT_EQ(m.Alerts()[0].active_at, active_at);
  // A later plain Update keeps the adopted globals.
  ASSERT_TRUE(m.Update({f}).ok());
  EXPECT_EQ(m.Groups()[0].interval, absl::Seconds(15));
}

}  // namespace
}  // namespace stakewatch::ruleeval
