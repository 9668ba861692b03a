// The transport-free API core. Expected bodies are written by hand from the input samples in
// Prometheus's format; those marked "captured" are byte-for-byte what Prometheus 2.42 answered
// (curl against /usr/bin/prometheus) for the same request.
#include "api/api.h"

#include <atomic>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::api {
namespace {

using ::testing::HasSubstr;

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() {
    auto app = storage_.NewAppender();
    // m{job="a"} 1 and m{job="b"} 2.5 at 1000 s; n{job="a",env="<p&q>"} 7 at 1000 s and 2000 s.
    app->Append(tsdb::Labels{{"__name__", "m"}, {"job", "a"}}, 1'000'000, 1);
    app->Append(tsdb::Labels{{"__name__", "m"}, {"job", "b"}}, 1'000'000, 2.5);
    app->Append(tsdb::Labels{{"__name__", "n"}, {"job", "a"}, {"env", "<p&q>"}}, 1'000'000, 7);
    app->Append(tsdb::Labels{{"__name__", "n"}, {"job", "a"}, {"env", "<p&q>"}}, 2'000'000, 8);
    EXPECT_TRUE(app->Commit().ok());
  }

  Api& MakeApi(ApiOptions o = {}) {
    o.engine = &engine_;
    o.storage = &storage_;
    o.clock = &clock_;
    api_ = std::make_unique<Api>(std::move(o));
    return *api_;
  }

  Response Get(const std::string& path, std::multimap<std::string, std::string> params = {}) {
    if (!api_) MakeApi();
    return api_->Handle(Request{"GET", path, std::move(params)});
  }

  tsdb::MemStorage storage_;
  query::Engine engine_;
  FakeClock clock_{absl::FromUnixMillis(1'000'500)};
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, InstantVector) {
  Response r = Get("/api/v1/query", {{"query", "m"}, {"time", "1000.5"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"status":"success","data":{"resultType":"vector","result":[)"
                    R"({"metric":{"__name__":"m","job":"a"},"value":[1000.500,"1"]},)"
                    R"({"metric":{"__name__":"m","job":"b"},"value":[1000.500,"2.5"]}]}})");
}

TEST_F(ApiTest, DefaultTimeIsNowAndPostWorks) {
  // The clock is at 1000.5 s.
  Response r = MakeApi().Handle(Request{"POST", "/api/v1/query", {{"query", "n"}}});
  EXPECT_EQ(r.body, R"({"status":"success","data":{"resultType":"vector","result":[)"
                    R"({"metric":{"__name__":"n","env":"\u003cp\u0026q\u003e","job":"a"},)"
                    R"("value":[1000.500,"7"]}]}})");
}

TEST_F(ApiTest, ScalarStringAndSpecialValues) {
  // Captured.
  EXPECT_EQ(
      Get("/api/v1/query", {{"query", "1.5e-7"}, {"time", "1700000000.1234"}}).body,
      R"({"status":"success","data":{"resultType":"scalar","result":[1700000000.123,"0.00000015"]}})");
  EXPECT_EQ(
      Get("/api/v1/query", {{"query", "\"a<b>&\""}, {"time", "1700000000.001"}}).body,
      R"({"status":"success","data":{"resultType":"string","result":[1700000000.001,"a\u003cb\u003e\u0026"]}})");
  EXPECT_EQ(
      Get("/api/v1/query", {{"query", "vector(1.5e-7)"}, {"time", "1700000000.010"}}).body,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.010,"1.5e-07"]}]}})");
  EXPECT_EQ(
      Get("/api/v1/query", {{"query", "vector(1e21)"}, {"time", "-1.5"}}).body,
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[-1.500,"1e+21"]}]}})");
  EXPECT_EQ(Get("/api/v1/query", {{"query", "1/0"}, {"time", "1.5"}}).body,
            R"({"status":"success","data":{"resultType":"scalar","result":[1.5,"+Inf"]}})");
  EXPECT_EQ(Get("/api/v1/query", {{"query", "-1/0"}, {"time", "2"}}).body,
            R"({"status":"success","data":{"resultType":"scalar","result":[2,"-Inf"]}})");
  EXPECT_EQ(
      Get("/api/v1/query", {{"query", "0/0"}, {"time", "1795958830.59"}}).body,
      R"({"status":"success","data":{"resultType":"scalar","result":[1795958830.59,"NaN"]}})");
  EXPECT_EQ(Get("/api/v1/query", {{"query", "x[5m]"}, {"time", "100"}}).body,
            R"({"status":"success","data":{"resultType":"matrix","result":[]}})");
}

TEST_F(ApiTest, InstantRangeSelectorIsAMatrix) {
  EXPECT_EQ(Get("/api/v1/query", {{"query", "n[2000s]"}, {"time", "2000"}}).body,
            R"({"status":"success","data":{"resultType":"matrix","result":[)"
            R"({"metric":{"__name__":"n","env":"\u003cp\u0026q\u003e","job":"a"},)"
            R"("values":[[1000,"7"],[2000,"8"]]}]}})");
}

TEST_F(ApiTest, QueryErrors) {
  struct Case {
    std::multimap<std::string, std::string> params;
    int status;
    std::string body;
  };
  // All captured.
  const Case cases[] = {
      {{{"query", "sum("}},
       400,
       R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"})"},
      {{},
       400,
       R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:1: parse error: no expression found in input"})"},
      {{{"query", "1"}, {"time", "abc"}},
       400,
       R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"time\": Invalid time value for 'time': cannot parse \"abc\" to a valid timestamp"})"},
      {{{"query", "1"}, {"timeout", "abc"}},
       400,
       R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"timeout\": cannot parse \"abc\" to a valid duration"})"},
  };
  for (const Case& c : cases) {
    Response r = Get("/api/v1/query", c.params);
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(r.body, c.body);
    EXPECT_EQ(r.content_type, "application/json");
  }
}

TEST_F(ApiTest, ExecutionErrorIs422) {
  // Both m series become {__name__="m", job="same"}.
  Response r = Get("/api/v1/query",
                   {{"query", R"(label_replace(m, "job", "same", "", ""))"}, {"time", "1000"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_THAT(r.body, HasSubstr(R"("errorType":"execution")"));
  EXPECT_THAT(r.body, HasSubstr("vector cannot contain metrics with the same labelset"));
}

TEST_F(ApiTest, TimeoutIs503) {
  Response r = Get("/api/v1/query_range", {{"query", "sum(rate(m[5m])) + count(n)"},
                                           {"start", "0"},
                                           {"end", "10000"},
                                           {"step", "1"},
                                           {"timeout", "0.000000001"}});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(
      r.body,
      R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})");
}

TEST_F(ApiTest, QueryRange) {
  // Captured (step as float seconds).
  EXPECT_EQ(
      Get("/api/v1/query_range", {{"query", "1"}, {"start", "0"}, {"end", "10"}, {"step", "1.5"}})
          .body,
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":)"
      R"([[0,"1"],[1.500,"1"],[3,"1"],[4.500,"1"],[6,"1"],[7.500,"1"],[9,"1"]]}]}})");
  // n at 1000 s (7) and 2000 s (8), 5 minute lookback: steps 900..2100 by 300 s.
  EXPECT_EQ(Get("/api/v1/query_range",
                {{"query", "n"}, {"start", "900"}, {"end", "2100"}, {"step", "5m"}})
                .body,
            R"({"status":"success","data":{"resultType":"matrix","result":[)"
            R"({"metric":{"__name__":"n","env":"\u003cp\u0026q\u003e","job":"a"},"values":)"
            R"([[1200,"7"],[2100,"8"]]}]}})");
  // Exactly 11,000 steps is allowed (Prometheus: 200), 11,001 is not.
  EXPECT_EQ(Get("/api/v1/query_range",
                {{"query", "1"}, {"start", "0"}, {"end", "110000"}, {"step", "10"}})
                .status,
            200);
}

TEST_F(ApiTest, QueryRangeErrors) {
  const std::string kBad = R"({"status":"error","errorType":"bad_data","error":)";
  struct Case {
    std::multimap<std::string, std::string> params;
    std::string error;
  };
  // All captured.
  const Case cases[] = {
      {{{"query", "1"}, {"start", "0"}, {"end", "100"}, {"step", "0"}},
       R"("invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")"},
      {{{"query", "1"}, {"start", "0"}, {"end", "10"}, {"step", "-1"}},
       R"("invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")"},
      {{{"query", "1"}, {"start", "0"}, {"end", "10"}, {"step", "0.0001"}},
       R"x("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")x"},
      {{{"query", "1"}, {"start", "0"}, {"end", "110010"}, {"step", "10"}},
       R"x("exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")x"},
      {{{"query", "1"}, {"start", "10"}, {"end", "0"}, {"step", "1"}},
       R"("invalid parameter \"end\": end timestamp must not be before start time")"},
      {{{"query", "sum("}, {"start", "0"}, {"end", "10"}, {"step", "1"}},
       R"("1:5: parse error: unclosed left parenthesis")"},
      {{{"query", "up[5m]"}, {"start", "0"}, {"end", "10"}, {"step", "1"}},
       R"("invalid expression type \"range vector\" for range query, must be Scalar or instant Vector")"},
      {{{"start", "0"}, {"end", "10"}, {"step", "1"}},
       R"("1:1: parse error: no expression found in input")"},
      {{{"query", "1"}, {"end", "10"}, {"step", "1"}},
       R"("invalid parameter \"start\": cannot parse \"\" to a valid timestamp")"},
      {{{"query", "1"}, {"start", "0"}, {"end", "10"}},
       R"("invalid parameter \"step\": cannot parse \"\" to a valid duration")"},
      {{{"query", "1"}, {"start", "0"}, {"end", "10"}, {"step", "1e30"}},
       R"("invalid parameter \"step\": cannot parse \"1e30\" to a valid duration. It overflows int64")"},
      {{{"query", "1"}, {"start", "0"}, {"end", "10"}, {"step", "5x"}},
       R"("invalid parameter \"step\": cannot parse \"5x\" to a valid duration")"},
      {{{"query", "1"},
        {"start", "2023-01-01T00:00:00Z"},
        {"end", "2023-01-01T00:00:01.5+01:00"},
        {"step", "1m"}},
       R"("invalid parameter \"end\": end timestamp must not be before start time")"},
  };
  for (const Case& c : cases) {
    Response r = Get("/api/v1/query_range", c.params);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, kBad + c.error + "}");
  }
}

TEST_F(ApiTest, SeriesLabelsAndValues) {
  EXPECT_EQ(Get("/api/v1/series", {{"match[]", "m"}, {"match[]", R"({job="a"})"}}).body,
            R"({"status":"success","data":[{"__name__":"m","job":"a"},{"__name__":"m","job":"b"},)"
            R"({"__name__":"n","env":"\u003cp\u0026q\u003e","job":"a"}]})");
  // Only n has data after 1500 s.
  EXPECT_EQ(
      Get("/api/v1/series", {{"match[]", R"({job=~".+"})"}, {"start", "1500"}}).body,
      R"({"status":"success","data":[{"__name__":"n","env":"\u003cp\u0026q\u003e","job":"a"}]})");
  EXPECT_EQ(Get("/api/v1/series", {{"match[]", "nothing"}}).body,
            R"({"status":"success","data":[]})");
  EXPECT_EQ(Get("/api/v1/labels").body, R"({"status":"success","data":["__name__","env","job"]})");
  EXPECT_EQ(Get("/api/v1/labels", {{"match[]", "m"}}).body,
            R"({"status":"success","data":["__name__","job"]})");
  EXPECT_EQ(Get("/api/v1/labels", {{"match[]", "nonexist"}}).body,
            R"({"status":"success","data":[]})");
  EXPECT_EQ(Get("/api/v1/label/job/values").body, R"({"status":"success","data":["a","b"]})");
  EXPECT_EQ(Get("/api/v1/label/__name__/values").body, R"({"status":"success","data":["m","n"]})");
  EXPECT_EQ(Get("/api/v1/label/job/values", {{"match[]", "n"}}).body,
            R"({"status":"success","data":["a"]})");
  EXPECT_EQ(Get("/api/v1/label/nope/values").body, R"({"status":"success","data":[]})");
  // POST is accepted for series and labels, as in Prometheus.
  EXPECT_EQ(api_->Handle(Request{"POST", "/api/v1/labels", {{"match[]", "m"}}}).body,
            R"({"status":"success","data":["__name__","job"]})");
}

TEST_F(ApiTest, SeriesAndLabelErrors) {
  const std::string kBad = R"({"status":"error","errorType":"bad_data","error":)";
  // All captured.
  EXPECT_EQ(Get("/api/v1/series").body, kBad + R"("no match[] parameter provided"})");
  EXPECT_EQ(
      Get("/api/v1/series", {{"match[]", "up{"}}).body,
      kBad +
          R"("invalid parameter \"match[]\": 1:4: parse error: unexpected end of input inside braces"})");
  EXPECT_EQ(
      Get("/api/v1/series", {{"match[]", "up"}, {"start", "abc"}}).body,
      kBad +
          R"("invalid parameter \"start\": Invalid time value for 'start': cannot parse \"abc\" to a valid timestamp"})");
  EXPECT_EQ(
      Get("/api/v1/series", {{"match[]", "{}"}}).body,
      kBad +
          R"("invalid parameter \"match[]\": match[] must contain at least one non-empty matcher"})");
  EXPECT_EQ(
      Get("/api/v1/series", {{"match[]", R"({a=~".*"})"}}).body,
      kBad +
          R"("invalid parameter \"match[]\": match[] must contain at least one non-empty matcher"})");
  EXPECT_EQ(Get("/api/v1/labels", {{"match[]", "up{"}}).body,
            kBad + R"("1:4: parse error: unexpected end of input inside braces"})");
  EXPECT_EQ(Get("/api/v1/label/1bad/values").body, kBad + R"("invalid label name: \"1bad\""})");
  EXPECT_EQ(Get("/api/v1/label/__name__/values", {{"match[]", "x{"}}).body,
            kBad + R"("1:3: parse error: unexpected end of input inside braces"})");
  EXPECT_EQ(
      Get("/api/v1/label/job/values", {{"start", "x"}}).body,
      kBad +
          R"("invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to a valid timestamp"})");
  EXPECT_EQ(Get("/api/v1/label/job/values").status, 200);
}

TEST_F(ApiTest, RoutingAndMethods) {
  // Captured: Go's plain-text 404 and 405 bodies.
  Response r = Get("/api/v1/nonexistent");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "404 page not found\n");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
  r = api_->Handle(Request{"POST", "/api/v1/rules", {}});
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.body, "Method Not Allowed\n");
  EXPECT_EQ(api_->Handle(Request{"DELETE", "/api/v1/query", {}}).status, 405);
  EXPECT_EQ(api_->Handle(Request{"POST", "/api/v1/label/job/values", {}}).status, 405);
  EXPECT_EQ(Get("/api/v1/label//values").status, 404);
  EXPECT_EQ(Get("/metrics").status, 404);
}

TEST_F(ApiTest, BuildInfo) {
  ApiOptions o;
  o.build_info = {"2.42.0+ds",         "2.42.0+ds-5+deb12u1",
                  "debian/sid",        "team+pkg-go@tracker.debian.org",
                  "20260604-00:58:54", "go1.19.8"};
  MakeApi(o);
  // Captured from Debian's Prometheus, fed back in.
  EXPECT_EQ(Get("/api/v1/status/buildinfo").body,
            R"({"status":"success","data":{"version":"2.42.0+ds","revision":"2.42.0+ds-5+deb12u1",)"
            R"("branch":"debian/sid","buildUser":"team+pkg-go@tracker.debian.org",)"
            R"("buildDate":"20260604-00:58:54","goVersion":"go1.19.8"}})");
}

TEST_F(ApiTest, Metadata) {
  ApiOptions o;
  o.metadata = [] {
    return std::vector<MetricMetadata>{
        {"b_total", "counter", "B things.", ""},
        {"a_seconds", "gauge", "A <time>.", "seconds"},
        {"b_total", "counter", "B things.", ""},  // duplicate: listed once
        {"b_total", "gauge", "Other help.", ""},
    };
  };
  MakeApi(o);
  EXPECT_EQ(
      Get("/api/v1/metadata").body,
      R"({"status":"success","data":{"a_seconds":[{"type":"gauge","help":"A \u003ctime\u003e.","unit":"seconds"}],)"
      R"("b_total":[{"type":"counter","help":"B things.","unit":""},{"type":"gauge","help":"Other help.","unit":""}]}})");
  EXPECT_EQ(
      Get("/api/v1/metadata", {{"metric", "a_seconds"}}).body,
      R"({"status":"success","data":{"a_seconds":[{"type":"gauge","help":"A \u003ctime\u003e.","unit":"seconds"}]}})");
  EXPECT_EQ(Get("/api/v1/metadata", {{"limit", "0"}}).body, R"({"status":"success","data":{}})");
  EXPECT_EQ(
      Get("/api/v1/metadata", {{"limit", "1"}}).body,
      R"({"status":"success","data":{"a_seconds":[{"type":"gauge","help":"A \u003ctime\u003e.","unit":"seconds"}]}})");
  // Captured.
  EXPECT_EQ(Get("/api/v1/metadata", {{"limit", "x"}}).body,
            R"({"status":"error","errorType":"bad_data","error":"limit must be a number"})");
}

TEST_F(ApiTest, EmptyRulesAndAlerts) {
  // Captured from a Prometheus without rules.
  EXPECT_EQ(Get("/api/v1/rules").body, R"({"status":"success","data":{"groups":[]}})");
  EXPECT_EQ(Get("/api/v1/rules", {{"type", "ALERT"}}).body,
            R"({"status":"success","data":{"groups":[]}})");
  EXPECT_EQ(Get("/api/v1/alerts").body, R"({"status":"success","data":{"alerts":[]}})");
  EXPECT_EQ(
      Get("/api/v1/rules", {{"type", "foo"}}).body,
      R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"type\": not supported value \"foo\""})");
}

TEST_F(ApiTest, RulesAndAlerts) {
  const absl::Time t0 = absl::FromUnixSeconds(1795922093);  // 2026-11-29T03:14:53Z
  ruleeval::RuleSnapshot rec;
  rec.name = "job:m:sum";
  rec.query = "sum by (job) (m)";
  rec.health = ruleeval::RuleHealth::kGood;
  rec.last_evaluation = t0 + absl::Milliseconds(418);
  rec.evaluation_time = absl::Microseconds(250);
  ruleeval::RuleSnapshot alert;
  alert.alerting = true;
  alert.name = "MDown";
  alert.query = "m == 0";
  alert.duration = absl::Seconds(10);
  alert.labels = tsdb::Labels{{"severity", "critical"}};
  alert.annotations = {{"summary", "{{ $labels.job }} <down>"}};
  alert.health = ruleeval::RuleHealth::kBad;
  alert.last_error = "boom";
  alert.state = ruleeval::AlertState::kFiring;
  ruleeval::Alert a;
  a.state = ruleeval::AlertState::kFiring;
  a.labels = tsdb::Labels{{"alertname", "MDown"}, {"job", "a"}, {"severity", "critical"}};
  a.annotations = {{"summary", "a <down>"}};
  a.value = 0;
  a.active_at = t0 + absl::Nanoseconds(418480155);
  alert.alerts = {a};
  ruleeval::Alert b = a;
  b.state = ruleeval::AlertState::kPending;
  b.labels = tsdb::Labels{{"alertname", "MDown"}, {"job", "b"}, {"severity", "critical"}};
  b.value = 1234.5;
  b.keep_firing_since = t0;
  alert.alerts.push_back(b);
  ruleeval::GroupSnapshot g;
  g.name = "validators";
  g.file = "/etc/rules/v.yml";
  g.interval = absl::Seconds(5);
  g.limit = 3;
  g.last_evaluation = t0 + absl::Milliseconds(418);
  g.evaluation_time = absl::Microseconds(1600);
  g.rules = {rec, alert};
  ApiOptions o;
  o.rule_groups = [g] { return std::vector<ruleeval::GroupSnapshot>{g}; };
  MakeApi(o);

  const std::string kAlertA = R"({"labels":{"alertname":"MDown","job":"a","severity":"critical"},)"
                              R"("annotations":{"summary":"a \u003cdown\u003e"},"state":"firing",)"
                              R"("activeAt":"2026-11-29T03:14:53.418480155Z","value":"0e+00"})";
  const std::string kAlertB =
      R"({"labels":{"alertname":"MDown","job":"b","severity":"critical"},)"
      R"("annotations":{"summary":"a \u003cdown\u003e"},"state":"pending",)"
      R"("activeAt":"2026-11-29T03:14:53.418480155Z","keepFiringSince":"2026-11-29T03:14:53Z",)"
      R"("value":"1.2345e+03"})";
  const std::string kRec =
      R"x({"name":"job:m:sum","query":"sum by (job) (m)","health":"ok","evaluationTime":0.00025,)x"
      R"("lastEvaluation":"2026-11-29T03:14:53.418Z","type":"recording"})";
  const std::string kAlertRule =
      R"({"state":"firing","name":"MDown","query":"m == 0","duration":10,"keepFiringFor":0,)"
      R"("labels":{"severity":"critical"},"annotations":{"summary":"{{ $labels.job }} \u003cdown\u003e"},)"
      R"("alerts":[)" +
      kAlertA + "," + kAlertB +
      R"(],"health":"err","lastError":"boom","evaluationTime":0,)"
      R"("lastEvaluation":"0001-01-01T00:00:00Z","type":"alerting"})";
  const auto group = [](const std::string& rules) {
    return R"({"status":"success","data":{"groups":[{"name":"validators","file":"/etc/rules/v.yml","rules":[)" +
           rules +
           R"(],"interval":5,"limit":3,"evaluationTime":0.0016,"lastEvaluation":"2026-11-29T03:14:53.418Z"}]}})";
  };
  EXPECT_EQ(Get("/api/v1/rules").body, group(kRec + "," + kAlertRule));
  EXPECT_EQ(Get("/api/v1/rules", {{"type", "alert"}}).body, group(kAlertRule));
  EXPECT_EQ(Get("/api/v1/rules", {{"type", "Record"}}).body, group(kRec));
  EXPECT_EQ(Get("/api/v1/alerts").body,
            R"({"status":"success","data":{"alerts":[)" + kAlertA + "," + kAlertB + "]}}");
}

// The snapshot of what a Prometheus 2.42 loaded from a rule file showed, fed back in: the answers
// must be Prometheus's bytes (captured from /api/v1/rules and /api/v1/alerts).
TEST_F(ApiTest, RulesMatchCapturedPrometheus) {
  const absl::Time t = absl::FromUnixSeconds(1795959823);  // 2026-11-29T13:43:43Z
  const absl::Time active = absl::FromUnixSeconds(1795959818) + absl::Nanoseconds(733806748);
  const auto rule = [&](std::string name, std::string query, bool alerting, int64_t eval_ns,
                        int64_t last_ns) {
    ruleeval::RuleSnapshot r;
    r.name = std::move(name);
    r.query = std::move(query);
    r.alerting = alerting;
    r.health = ruleeval::RuleHealth::kGood;
    r.evaluation_time = absl::Nanoseconds(eval_ns);
    r.last_evaluation = t + absl::Nanoseconds(last_ns);
    return r;
  };
  ruleeval::GroupSnapshot g;
  g.name = "g1";
  g.file = "/tmp/apiprobe/rules.yml";
  g.interval = absl::Seconds(1);
  g.limit = 3;
  g.evaluation_time = absl::Nanoseconds(1477193);
  g.last_evaluation = t + absl::Nanoseconds(736071641);
  g.rules.push_back(rule("job:v:sum", "sum(vector(1))", false, 337993, 736085657));
  g.rules.push_back(rule("job:v:lab", "vector(2)", false, 33073, 736425765));
  g.rules.back().labels = tsdb::Labels{{"a", "x<y"}};
  g.rules.push_back(rule("AlwaysOn", "vector(0)", true, 587298, 736459961));
  g.rules.back().state = ruleeval::AlertState::kPending;
  g.rules.back().duration = absl::Seconds(10);
  g.rules.back().labels = tsdb::Labels{{"severity", "critical"}};
  g.rules.back().annotations = {{"summary", "v={{ $value }} <b>"}};
  ruleeval::Alert pending;
  pending.state = ruleeval::AlertState::kPending;
  pending.labels = tsdb::Labels{{"alertname", "AlwaysOn"}, {"severity", "critical"}};
  pending.annotations = {{"summary", "v=0 <b>"}};
  pending.value = 0;
  pending.active_at = active;
  g.rules.back().alerts = {pending};
  g.rules.push_back(rule("Firing", "vector(1.5)", true, 104008, 737049142));
  g.rules.back().state = ruleeval::AlertState::kFiring;
  ruleeval::Alert firing;
  firing.state = ruleeval::AlertState::kFiring;
  firing.labels = tsdb::Labels{{"alertname", "Firing"}};
  firing.value = 1.5;
  firing.active_at = active;
  g.rules.back().alerts = {firing};
  g.rules.push_back(rule("Bad", "vector(1) + on (x) group_left () foo", true, 392296, 737153891));
  g.rules.back().state = ruleeval::AlertState::kInactive;
  ApiOptions o;
  o.rule_groups = [g] { return std::vector<ruleeval::GroupSnapshot>{g}; };
  MakeApi(o);
  EXPECT_EQ(
      Get("/api/v1/rules").body,
      R"x({"status":"success","data":{"groups":[{"name":"g1","file":"/tmp/apiprobe/rules.yml","rules":[{"name":"job:v:sum","query":"sum(vector(1))","health":"ok","evaluationTime":0.000337993,"lastEvaluation":"2026-11-29T13:43:43.736085657Z","type":"recording"},{"name":"job:v:lab","query":"vector(2)","labels":{"a":"x\u003cy"},"health":"ok","evaluationTime":0.000033073,"lastEvaluation":"2026-11-29T13:43:43.736425765Z","type":"recording"},{"state":"pending","name":"AlwaysOn","query":"vector(0)","duration":10,"keepFiringFor":0,"labels":{"severity":"critical"},"annotations":{"summary":"v={{ $value }} \u003cb\u003e"},"alerts":[{"labels":{"alertname":"AlwaysOn","severity":"critical"},"annotations":{"summary":"v=0 \u003cb\u003e"},"state":"pending","activeAt":"2026-11-29T13:43:38.733806748Z","value":"0e+00"}],"health":"ok","evaluationTime":0.000587298,"lastEvaluation":"2026-11-29T13:43:43.736459961Z","type":"alerting"},{"state":"firing","name":"Firing","query":"vector(1.5)","duration":0,"keepFiringFor":0,"labels":{},"annotations":{},"alerts":[{"labels":{"alertname":"Firing"},"annotations":{},"state":"firing","activeAt":"2026-11-29T13:43:38.733806748Z","value":"1.5e+00"}],"health":"ok","evaluationTime":0.000104008,"lastEvaluation":"2026-11-29T13:43:43.737049142Z","type":"alerting"},{"state":"inactive","name":"Bad","query":"vector(1) + on (x) group_left () foo","duration":0,"keepFiringFor":0,"labels":{},"annotations":{},"alerts":[],"health":"ok","evaluationTime":0.000392296,"lastEvaluation":"2026-11-29T13:43:43.737153891Z","type":"alerting"}],"interval":1,"limit":3,"evaluationTime":0.001477193,"lastEvaluation":"2026-11-29T13:43:43.736071641Z"}]}})x");
  EXPECT_EQ(
      Get("/api/v1/alerts").body,
      R"x({"status":"success","data":{"alerts":[{"labels":{"alertname":"AlwaysOn","severity":"critical"},"annotations":{"summary":"v=0 \u003cb\u003e"},"state":"pending","activeAt":"2026-11-29T13:43:38.733806748Z","value":"0e+00"},{"labels":{"alertname":"Firing"},"annotations":{},"state":"firing","activeAt":"2026-11-29T13:43:38.733806748Z","value":"1.5e+00"}]}})x");
}

TEST_F(ApiTest, HostileInputsGetAnAnswer) {
  const char* times[] = {"1e308",
                         "-1e308",
                         "9223372036854775807",
                         "-9223372036854775.808",
                         "-292273086-05-16T16:47:06Z",
                         "292277025-08-18T07:12:54.999999999Z",
                         "nan",
                         "inf",
                         "0x1p-1074",
                         "9999-12-31T23:59:59.999999999999Z",
                         ""};
  const char* queries[] = {"m", "rate(m[5m])", "m offset 1h", "m[1h]", "1", ""};
  for (const char* t : times) {
    for (const char* q : queries) {
      Response r = Get("/api/v1/query", {{"query", q}, {"time", t}});
      EXPECT_TRUE(r.status == 200 || r.status == 400 || r.status == 422) << t << " " << q;
      EXPECT_FALSE(r.body.empty());
      r = Get("/api/v1/query_range", {{"query", q}, {"start", t}, {"end", t}, {"step", "1"}});
      EXPECT_TRUE(r.status == 200 || r.status == 400 || r.status == 422) << t << " " << q;
      r = Get("/api/v1/series", {{"match[]", "m"}, {"start", t}});
      EXPECT_TRUE(r.status == 200 || r.status == 400) << t;
    }
  }
  for (const char* step : {"1e-300", "0.0000001", "1e18", "-0", "NaN", "9223372036.854775807"}) {
    Response r =
        Get("/api/v1/query_range", {{"query", "m"}, {"start", "0"}, {"end", "1"}, {"step", step}});
    EXPECT_EQ(r.status, 400) << step << ": " << r.body;
  }
  // A step below one millisecond (Prometheus would divide by zero): rejected, not a hang.
  EXPECT_EQ(Get("/api/v1/query_range",
                {{"query", "1"}, {"start", "0"}, {"end", "0.005"}, {"step", "0.0005"}})
                .status,
            400);
  EXPECT_EQ(
      Get("/api/v1/query_range", {{"query", "1"}, {"start", "0"}, {"end", "0"}, {"step", "0.0005"}})
          .body,
      R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[0,"1"]]}]}})");
  EXPECT_EQ(Get("/api/v1/metadata", {{"limit", "99999999999999999999"}}).status, 400);
  EXPECT_EQ(Get("/api/v1/label/%ZZ/values").status, 400);
}

TEST_F(ApiTest, ConcurrentRequests) {
  MakeApi();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      for (int k = 0; k < 50; ++k) {
        if (api_->Handle(Request{"GET", "/api/v1/query", {{"query", "sum(m)"}, {"time", "1000"}}})
                .body ==
            R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1000,"3.5"]}]}})") {
          ++ok;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

}  // namespace
}  // namespace stakewatch::api
