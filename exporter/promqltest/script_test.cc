// Tests for the PromQL test-script harness. Expected values come from Prometheus 2.42's own
// tests (promql/parser/parse_test.go testSeries, promql/test.go), the promtool documentation,
// running the installed promtool 2.42 (noted "promtool:"), or are worked out by hand.
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "promqltest/script.h"
#include "promqltest/series_notation.h"

namespace stakewatch::promqltest {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr double kOmit = -12345.678;  // marks an omitted value in the tables below

std::vector<SequenceValue> Seq(std::initializer_list<double> vals) {
  std::vector<SequenceValue> out;
  for (double v : vals)
    out.push_back(v == kOmit ? SequenceValue{0, true} : SequenceValue{v, false});
  return out;
}

std::string Show(const std::vector<SequenceValue>& vals) {
  std::string out;
  for (const SequenceValue& v : vals) out += v.omitted ? "_ " : FormatGoFloat(v.value) + " ";
  return out;
}

struct SeriesCase {
  std::string input;
  tsdb::Labels labels;
  std::vector<SequenceValue> values;
  bool fail = false;
};

// promql/parser/parse_test.go testSeries.
TEST(SeriesNotationTest, PrometheusParseSeriesTable) {
  const tsdb::Labels ab = {{"__name__", "my_metric"}, {"a", "b"}};
  const std::vector<SeriesCase> cases = {
      {"{} 1 2 3", {}, Seq({1, 2, 3})},
      {R"({a="b"} -1 2 3)", {{"a", "b"}}, Seq({-1, 2, 3})},
      {"my_metric 1 2 3", {{"__name__", "my_metric"}}, Seq({1, 2, 3})},
      {"my_metric{} 1 2 3", {{"__name__", "my_metric"}}, Seq({1, 2, 3})},
      {R"(my_metric{a="b"} 1 2 3)", ab, Seq({1, 2, 3})},
      {R"(my_metric{a="b"} 1 2 3-10x4)", ab, Seq({1, 2, 3, -7, -17, -27, -37})},
      {R"(my_metric{a="b"} 1 2 3-0x4)", ab, Seq({1, 2, 3, 3, 3, 3, 3})},
      {R"(my_metric{a="b"} 1 3 _ 5 _x4)", ab, Seq({1, 3, kOmit, 5, kOmit, kOmit, kOmit, kOmit})},
      {R"(my_metric{a="b"} 1 3 _ 5 _a4)", {}, {}, true},
      {R"(my_metric{a="b"} 1 -1)", ab, Seq({1, -1})},
      {R"(my_metric{a="b"} 1 +1)", ab, Seq({1, 1})},
      {R"(my_metric{a="b"} 1 -1 -3-10x4 7 9 +5)", ab,
       Seq({1, -1, -3, -13, -23, -33, -43, 7, 9, 5})},
      {R"(my_metric{a="b"} 1 +1 +4 -6 -2 8)", ab, Seq({1, 1, 4, -6, -2, 8})},
      {R"(my_metric{a="b"} 1 2 3    )", ab, Seq({1, 2, 3})},
      {R"(my_metric{a="\u70ac"} 1 2 3)",
       {{"__name__", "my_metric"}, {"a", "\xe7\x82\xac"}},
       Seq({1, 2, 3})},
      {R"(my_metric{a="\u70ac = torch"} 1 2 3)",
       {{"__name__", "my_metric"}, {"a", "\xe7\x82\xac = torch"}},
       Seq({1, 2, 3})},
      {R"(my_metric{a="b"} -3-3 -3)", {}, {}, true},
      {R"(my_metric{a="b"} -3 -3-3)", {}, {}, true},
      {R"(my_metric{a="b"} -3 _-2)", {}, {}, true},
      {R"(my_metric{a="b"} -3 3+3x4-4)", {}, {}, true},
  };
  for (const SeriesCase& c : cases) {
    absl::StatusOr<SeriesDescription> d = ParseSeriesDescription(c.input);
    if (c.fail) {
      EXPECT_FALSE(d.ok()) << c.input;
      continue;
    }
    ASSERT_TRUE(d.ok()) << c.input << ": " << d.status();
    EXPECT_EQ(d->labels, c.labels) << c.input << " got " << d->labels.ToString();
    EXPECT_EQ(Show(d->values), Show(c.values)) << c.input;
  }
}

// The four examples of docs/configuration/unit_testing_rules.md ("series" values).
TEST(SeriesNotationTest, PromtoolDocExamples) {
  struct {
    std::string values;
    std::vector<SequenceValue> want;
  } cases[] = {
      {"-2+4x3", Seq({-2, 2, 6, 10})},
      {"1-2x4", Seq({1, -1, -3, -5, -7})},
      {"1x4", Seq({1, 1, 1, 1, 1})},
      {"1 _x3 stale", Seq({1, kOmit, kOmit, kOmit, NAN})},
  };
  for (const auto& c : cases) {
    absl::StatusOr<SeriesDescription> d = ParseSeriesDescription("m " + c.values);
    ASSERT_TRUE(d.ok()) << c.values << ": " << d.status();
    ASSERT_EQ(d->values.size(), c.want.size()) << c.values;
    for (size_t i = 0; i < c.want.size(); ++i) {
      EXPECT_EQ(d->values[i].omitted, c.want[i].omitted) << c.values << " #" << i;
      if (c.want[i].omitted) continue;
      if (std::isnan(c.want[i].value)) {
        EXPECT_TRUE(std::isnan(d->values[i].value)) << c.values;
      } else {
        EXPECT_EQ(d->values[i].value, c.want[i].value) << c.values;
      }
    }
  }
  // The last value of example 4 is a staleness marker: exactly Prometheus's StaleNaN bits.
  absl::StatusOr<SeriesDescription> d = ParseSeriesDescription("m 1 _x3 stale");
  ASSERT_TRUE(d.ok());
  uint64_t bits;
  std::memcpy(&bits, &d->values.back().value, sizeof(bits));
  EXPECT_EQ(bits, 0x7ff0000000000002ULL);
}

// Edge cases checked against promtool 2.42 `test rules` with these input_series values.
TEST(SeriesNotationTest, EdgesCheckedWithPromtool) {
  struct {
    std::string line;
    std::vector<SequenceValue> want;
  } ok[] = {
      {"m 010", Seq({8})},               // ParseInt base 0: octal
      {"m .5 09 1.", Seq({0.5, 9, 1})},  // 09 is not octal: falls back to float
      {"m 1e3x2", Seq({1000, 1000, 1000})},
      {"m _x0 5", Seq({5})},     // _x0: no slot at all
      {"m 1x0 5", Seq({1, 5})},  // 1x0: one value
      {"m", {}},                 // no values is valid
      {"sum 1", Seq({1})},       // aggregator keywords name metrics
      {"start 1", Seq({1})},
      {"offset 1", Seq({1})},
  };
  for (const auto& c : ok) {
    absl::StatusOr<SeriesDescription> d = ParseSeriesDescription(c.line);
    ASSERT_TRUE(d.ok()) << c.line << ": " << d.status();
    EXPECT_EQ(Show(d->values), Show(c.want)) << c.line;
  }
  // 0x10 is not hex in series descriptions: value 0 repeated, 11 values (promtool:
  // count_over_time(m[1h]) at 10m = 11).
  absl::StatusOr<SeriesDescription> hex = ParseSeriesDescription("m 0x10");
  ASSERT_TRUE(hex.ok());
  EXPECT_EQ(hex->values.size(), 11u);
  // Inf, NaN in any case; -Inf via the sign.
  absl::StatusOr<SeriesDescription> special = ParseSeriesDescription("m NaN Inf -Inf nan INF");
  ASSERT_TRUE(special.ok());
  EXPECT_TRUE(std::isnan(special->values[0].value));
  EXPECT_EQ(special->values[1].value, HUGE_VAL);
  EXPECT_EQ(special->values[2].value, -HUGE_VAL);
  EXPECT_TRUE(std::isnan(special->values[3].value));
  EXPECT_EQ(special->values[4].value, HUGE_VAL);
  // a+bxn adds b step by step: promtool reports sum(m)*1e17 at 9m = 9.999999999999998E+16
  // (0.1 + 9 * 0.1 would give 1E+17).
  absl::StatusOr<SeriesDescription> acc = ParseSeriesDescription("m 0.1+0.1x9");
  ASSERT_TRUE(acc.ok());
  ASSERT_EQ(acc->values.size(), 10u);
  EXPECT_EQ(FormatGoFloat(acc->values[9].value * 1e17), "9.999999999999998e+16");

  for (const char* bad : {"bool 1",         "atan2 1",       "m Infx3",
                          "m 1_0",          "m stalex2",     "m Stale",
                          "m 1 x2",         "m 1e400",       "m 1xx2",
                          "m 1x2x3",        "m 1x-2",        "m 1+2",
                          "m 1x2.0",        "m{a=~\"b\"} 1", "m{a=\"b\" 1",
                          "m {a=\"b\"} 1",  "m{a=\"b\"}1",   "m 1,2",
                          "m sum",          "1 2",           "",
                          "m{a=\"\\q\"} 1", "m{a=\"b} 1",    "m{,} 1",
                          "m{a=\"b\",,} 1", "m{a:b=\"c\"} 1"}) {
    EXPECT_FALSE(ParseSeriesDescription(bad).ok()) << bad;
  }
}

TEST(SeriesNotationTest, ErrorsCarryPrometheusPositions) {
  // promtool: `1:3: parse error: unexpected identifier "Infx3" in series values, expected
  // number or "stale"` and `1:3: parse error: bad number syntax: "1"`.
  absl::StatusOr<SeriesDescription> d = ParseSeriesDescription("m Infx3");
  EXPECT_EQ(d.status().message(),
            "1:3: parse error: unexpected identifier \"Infx3\" in series values, expected "
            "number or \"stale\"");
  d = ParseSeriesDescription("m 1e400");
  EXPECT_EQ(d.status().message(),
            "1:3: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": value "
            "out of range");
  d = ParseSeriesDescription("m 1x2.0");
  EXPECT_EQ(d.status().message(),
            "1:5: parse error: invalid repetition in series values: strconv.ParseUint: parsing "
            "\"2.0\": invalid syntax");
  d = ParseSeriesDescription("m 1_0");
  EXPECT_EQ(d.status().message(), "1:3: parse error: bad number syntax: \"1\"");
}

TEST(SeriesNotationTest, LabelSets) {
  absl::StatusOr<tsdb::Labels> l =
      ParseMetric(R"(foo{a='x\'y', b=`r\aw`, c="t\tab\x41\101", d="", __name__="bar",})");
  ASSERT_TRUE(l.ok()) << l.status();
  // The metric name written before the braces wins over __name__; empty values are dropped.
  EXPECT_EQ(*l,
            tsdb::Labels({{"__name__", "foo"}, {"a", "x'y"}, {"b", "r\\aw"}, {"c", "t\tabAA"}}));
  EXPECT_EQ(*ParseMetric("{}"), tsdb::Labels());
  EXPECT_EQ(*ParseMetric("  up  "), tsdb::Labels({{"__name__", "up"}}));
  EXPECT_EQ(*ParseMetric("a:b:c"), tsdb::Labels({{"__name__", "a:b:c"}}));
  EXPECT_FALSE(ParseMetric("up 1").ok());
  EXPECT_FALSE(ParseMetric("{a=\"\xff\"}").ok());     // invalid UTF-8
  EXPECT_FALSE(ParseMetric("{a=\"\\ud800\"}").ok());  // surrogate half
}

TEST(SeriesNotationTest, ExpandToSamplesPlacesSlotsAtStepMultiples) {
  absl::StatusOr<SeriesDescription> d = ParseSeriesDescription("m 1 _ 3 _x2 5");
  ASSERT_TRUE(d.ok());
  std::vector<tsdb::Sample> s = ExpandToSamples(*d, 10000);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].t_ms, 0);
  EXPECT_EQ(s[0].v, 1);
  EXPECT_EQ(s[1].t_ms, 20000);
  EXPECT_EQ(s[1].v, 3);
  EXPECT_EQ(s[2].t_ms, 50000);
  EXPECT_EQ(s[2].v, 5);
  EXPECT_EQ(ExpandToSamples(*d, 1000, 500)[2].t_ms, 5500);
}

TEST(SeriesNotationTest, PromtoolInputSeries) {
  // docs/configuration/unit_testing_rules.md example: series 'up{job="prometheus",
  // instance="localhost:9090"}' with values '0+0x1440'.
  absl::StatusOr<SeriesDescription> d =
      ParseInputSeries(R"(up{job="prometheus", instance="localhost:9090"})", "0+0x1440");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(
      d->labels,
      tsdb::Labels({{"__name__", "up"}, {"instance", "localhost:9090"}, {"job", "prometheus"}}));
  EXPECT_EQ(d->values.size(), 1441u);
  EXPECT_FALSE(ParseInputSeries("up", "1 x").ok());
}

// Bad input gives a Status, never a crash or hang: every prefix of some valid and invalid
// scripts, and a few thousand pseudo-random mutations of them.
TEST(ScriptTest, SurvivesGarbage) {
  const std::string seeds[] = {
      "load 5m\n  a{b=\"c\",d='e\\u00e9'} 0+10x3 _x2 stale -Inf\n\neval instant at 1m a\n  a 1\n",
      "eval_ordered instant at 0 sort(x)\n  {} 0x10\n  3\nclear\n",
      "load 1ms\n  `x` 1e\n{a=`\n",
  };
  uint64_t state = 12345;
  auto rnd = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  const std::string alphabet = "{}()=~!,\"'`\\ \t\n_x+-.0123456789eEaINfstlvmloadcr#@";
  for (const std::string& seed : seeds) {
    for (size_t n = 0; n <= seed.size(); ++n) {
      (void)ParseScript(seed.substr(0, n));
      (void)ParseSeriesDescription(seed.substr(0, n));
    }
    for (int k = 0; k < 2000; ++k) {
      std::string m = seed;
      for (int e = 0; e < 3; ++e) m[rnd() % m.size()] = alphabet[rnd() % alphabet.size()];
      (void)ParseScript(m);
      (void)ParseSeriesDescription(m);
      (void)ParseGoNumber(m.substr(0, rnd() % 8));
      (void)ParseGoDuration(m.substr(0, rnd() % 8));
    }
  }
}

TEST(SeriesNotationTest, HugeRepetitionIsAnErrorNotAnAllocation) {
  EXPECT_FALSE(ParseSeriesDescription("m 1x100000000000").ok());
  EXPECT_FALSE(ParseSeriesDescription("m _x18446744073709551615").ok());
  EXPECT_FALSE(ParseSeriesDescription("m 1x99999999999999999999999").ok());
}

TEST(GoHelpersTest, ParseGoNumber) {
  const std::pair<const char*, double> ok[] = {
      {"31", 31},         {"0x1F", 31},           {"017", 15},
      {"0o17", 15},       {"0b101", 5},           {"1_000", 1000},
      {"-0x10", -16},     {"1e3", 1000},          {"1.5", 1.5},
      {".5", 0.5},        {"0x1p-2", 0.25},       {"-Inf", -HUGE_VAL},
      {"+inf", HUGE_VAL}, {"Infinity", HUGE_VAL}, {"09", 9},
      {"1E-3", 0.001}};
  for (const auto& [s, want] : ok) {
    absl::StatusOr<double> v = ParseGoNumber(s);
    ASSERT_TRUE(v.ok()) << s << ": " << v.status();
    EXPECT_EQ(*v, want) << s;
  }
  EXPECT_TRUE(std::isnan(*ParseGoNumber("NaN")));
  EXPECT_TRUE(std::isnan(*ParseGoNumber("nan")));
  for (const char* bad : {"", "+NaN", "1e", "abc", "0x1.8", "1__0", "_1", "1_", "{} 1", "1e400",
                          "nan(1)", "0x", "- 1", "1 2"}) {
    EXPECT_FALSE(ParseGoNumber(bad).ok()) << bad;
  }
}

TEST(GoHelpersTest, ParseGoDuration) {
  const std::pair<const char*, int64_t> ok[] = {
      {"0", 0},
      {"5m", 300000},
      {"1h30m", 5400000},
      {"1d", 86400000},
      {"1w", 604800000},
      {"1y", 31536000000},
      {"90s", 90000},
      {"10ms", 10},
      {"1m10ms", 60010},
      {"1y2w3d4h5m6s7ms",
       31536000000 + 2 * 604800000 + 3 * 86400000 + 4 * 3600000 + 5 * 60000 + 6000 + 7}};
  for (const auto& [s, want] : ok) {
    absl::StatusOr<int64_t> v = ParseGoDuration(s);
    ASSERT_TRUE(v.ok()) << s << ": " << v.status();
    EXPECT_EQ(*v, want) << s;
  }
  for (const char* bad :
       {"", "5", "1m1h", "1.5h", "-1m", "5mm", "m", "1s1s", "1x", "999999999999y"}) {
    EXPECT_FALSE(ParseGoDuration(bad).ok()) << bad;
  }
}

// Go's %v output, from the reference's promtool table ({{$value}}) and Go's documented rule.
TEST(GoHelpersTest, FormatGoFloat) {
  EXPECT_EQ(FormatGoFloat(31999995000), "3.1999995e+10");
  EXPECT_EQ(FormatGoFloat(1234567), "1.234567e+06");
  EXPECT_EQ(FormatGoFloat(100000), "100000");
  EXPECT_EQ(FormatGoFloat(123456.7), "123456.7");
  EXPECT_EQ(FormatGoFloat(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatGoFloat(1.234e-05), "1.234e-05");
  EXPECT_EQ(FormatGoFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatGoFloat(1e6), "1e+06");
  EXPECT_EQ(FormatGoFloat(-2.5), "-2.5");
  EXPECT_EQ(FormatGoFloat(0), "0");
  EXPECT_EQ(FormatGoFloat(1e100), "1e+100");
  EXPECT_EQ(FormatGoFloat(NAN), "NaN");
  EXPECT_EQ(FormatGoFloat(HUGE_VAL), "+Inf");
  EXPECT_EQ(FormatGoFloat(-HUGE_VAL), "-Inf");
  EXPECT_EQ(FormatGoFixed(2), "2.000000");
  EXPECT_EQ(FormatGoFixed(-HUGE_VAL), "-Inf");
}

TEST(CompareTest, AlmostEqualFollowsTestGo) {
  EXPECT_TRUE(AlmostEqual(NAN, NAN));
  EXPECT_FALSE(AlmostEqual(NAN, 1));
  EXPECT_TRUE(AlmostEqual(HUGE_VAL, HUGE_VAL));
  EXPECT_FALSE(AlmostEqual(HUGE_VAL, -HUGE_VAL));
  EXPECT_TRUE(AlmostEqual(1, 1 + 1e-7));    // |d|/(|a|+|b|) ~ 5e-8
  EXPECT_TRUE(AlmostEqual(1, 1.0000019));   // ~ 9.5e-7
  EXPECT_FALSE(AlmostEqual(1, 1.0000021));  // ~ 1.05e-6
  EXPECT_FALSE(AlmostEqual(0, 1e-300));     // next to 0 only |d| < 1e-6 * 2.2e-308 counts
  EXPECT_TRUE(AlmostEqual(0, 1e-320));
  EXPECT_TRUE(AlmostEqual(-0.0, 0.0));
}

tsdb::Labels L(std::initializer_list<std::pair<std::string_view, std::string_view>> p) {
  return tsdb::Labels(p);
}

EvalCommand Eval(std::string_view script) {
  absl::StatusOr<Script> s = ParseScript(script);
  EXPECT_TRUE(s.ok()) << s.status();
  return s->commands.at(0).eval;
}

TEST(CompareTest, VectorResults) {
  EvalCommand ev = Eval(
      "eval instant at 1m x\n"
      "  x{a=\"1\"} 1\n"
      "  x{a=\"2\"} NaN\n");
  EXPECT_TRUE(CompareResult(ev, QueryResult::Vector({{L({{"__name__", "x"}, {"a", "2"}}), NAN},
                                                     {L({{"__name__", "x"}, {"a", "1"}}), 1}}))
                  .ok());  // order does not matter for eval
  EXPECT_TRUE(
      CompareResult(ev, QueryResult::Vector({{L({{"__name__", "x"}, {"a", "1"}}), 1.0000001},
                                             {L({{"__name__", "x"}, {"a", "2"}}), NAN}}))
          .ok());
  EXPECT_EQ(CompareResult(ev, QueryResult::Vector({{L({{"__name__", "x"}, {"a", "1"}}), 2},
                                                   {L({{"__name__", "x"}, {"a", "2"}}), NAN}}))
                .message(),
            "expected 1 for {__name__=\"x\", a=\"1\"} but got 2");
  EXPECT_EQ(
      CompareResult(ev, QueryResult::Vector({{L({{"__name__", "x"}, {"a", "3"}}), 1}})).message(),
      "unexpected metric {__name__=\"x\", a=\"3\"} in result");
  EXPECT_EQ(
      CompareResult(ev, QueryResult::Vector({{L({{"__name__", "x"}, {"a", "1"}}), 1}})).message(),
      "expected metric {__name__=\"x\", a=\"2\"} with 2: [NaN] not found");
  EXPECT_EQ(CompareResult(ev, QueryResult::Matrix({})).message(),
            "received range result on instant evaluation");
  EXPECT_FALSE(CompareResult(ev, QueryResult::Scalar(1)).ok());
  EXPECT_FALSE(CompareResult(ev, QueryResult::String("x")).ok());

  EvalCommand empty = Eval("eval instant at 0 nothing\n");
  EXPECT_TRUE(CompareResult(empty, QueryResult::Vector({})).ok());
  EXPECT_FALSE(CompareResult(empty, QueryResult::Vector({{L({{"a", "b"}}), 1}})).ok());
}

TEST(CompareTest, OrderedChecksPositions) {
  EvalCommand ev = Eval(
      "eval_ordered instant at 50m sort(x)\n"
      "  x{a=\"1\"} 1\n"
      "  x{a=\"2\"} 2\n");
  EXPECT_TRUE(ev.ordered);
  const VectorSample one{L({{"__name__", "x"}, {"a", "1"}}), 1};
  const VectorSample two{L({{"__name__", "x"}, {"a", "2"}}), 2};
  EXPECT_TRUE(CompareResult(ev, QueryResult::Vector({one, two})).ok());
  EXPECT_EQ(CompareResult(ev, QueryResult::Vector({two, one})).message(),
            "expected metric {__name__=\"x\", a=\"2\"} with [2.000000] at position 2 but was at 1");
}

TEST(CompareTest, ScalarResults) {
  EvalCommand ev = Eval("eval instant at 0 1 + 1\n  2\n");
  ASSERT_TRUE(ev.scalar.has_value());
  EXPECT_TRUE(CompareResult(ev, QueryResult::Scalar(2)).ok());
  EXPECT_TRUE(CompareResult(ev, QueryResult::Scalar(2.000001)).ok());  // rel. error 2.5e-7
  EXPECT_EQ(CompareResult(ev, QueryResult::Scalar(3)).message(), "expected Scalar 2 but got 3");
  EXPECT_FALSE(CompareResult(ev, QueryResult::Vector({})).ok());
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Every file of Prometheus 2.42's promql/testdata we have parses; the counts were taken with
// `grep -c '^eval'`, `grep -c '^load'`, `grep -c '^clear'` (evals match the reference table).
TEST(ScriptTest, ParsesPrometheusTestdata) {
  struct {
    const char* file;
    size_t evals, fail, ordered, loads, clears;
  } files[] = {
      {"at_modifier.test", 33, 0, 0, 2, 1},  {"collision.test", 2, 1, 0, 2, 2},
      {"functions.test", 207, 4, 2, 30, 31}, {"histograms.test", 38, 1, 0, 7, 0},
      {"literals.test", 20, 0, 0, 0, 0},     {"operators.test", 94, 1, 0, 10, 5},
      {"staleness.test", 14, 0, 0, 2, 1},    {"trig_functions.test", 19, 0, 0, 1, 1},
  };
  for (const auto& f : files) {
    const std::string text = ReadFile(std::string("/work/shared/specs/promql-testdata/") + f.file);
    ASSERT_FALSE(text.empty()) << f.file;
    absl::StatusOr<Script> s = ParseScript(text);
    ASSERT_TRUE(s.ok()) << f.file << ": " << s.status();
    EXPECT_EQ(s->NumEvals(), f.evals) << f.file;
    EXPECT_EQ(s->NumLoads(), f.loads) << f.file;
    EXPECT_EQ(s->NumClears(), f.clears) << f.file;
    EXPECT_EQ(s->commands.size(), f.evals + f.loads + f.clears) << f.file;
    size_t fail = 0, ordered = 0;
    for (const Command& c : s->commands) {
      fail += c.eval.fail;
      ordered += c.eval.ordered;
    }
    EXPECT_EQ(fail, f.fail) << f.file;
    EXPECT_EQ(ordered, f.ordered) << f.file;
  }
}

TEST(ScriptTest, CommandDetails) {
  absl::StatusOr<Script> s = ParseScript(
      "# a comment\n"
      "load 5m\n"
      "  http_requests{job=\"api\", instance=\"0\"}\t0+10x10\n"
      "  http_requests{job=\"api\", instance=\"0\"} 1 2\n"  // same series again: replaces
      "  other 1\n"
      "\n"
      "eval instant at 1h30m sum by (job) (http_requests)\n"
      "  {job=\"api\"} 2\n"
      "  {job=\"x\"} 3\n"
      "  {job=\"api\"} 4\n"
      "\n"
      "EVAL_FAIL instant at 0 foo\n"  // command words are case-insensitive only for dispatch
      "CLEAR\n"
      "eval instant at 10s 3\n"
      "\t-0x10\n");
  ASSERT_FALSE(s.ok());  // EVAL_FAIL fails the case-sensitive eval pattern
  EXPECT_EQ(s.status().message(),
            "12:1: parse error: invalid evaluation command. (eval[_fail|_ordered] instant [at "
            "<offset:duration>] <query>");

  s = ParseScript(
      "# a comment\n"
      "load 5m\n"
      "  http_requests{job=\"api\", instance=\"0\"}\t0+10x10\n"
      "  http_requests{job=\"api\", instance=\"0\"} 1 2\n"
      "  other 1\n"
      "\n"
      "eval instant at 1h30m sum by (job) (http_requests)\n"
      "  {job=\"api\"} 2\n"
      "  {job=\"x\"} 3\n"
      "  {job=\"api\"} 4\n"
      "\n"
      "CLEAR\n"
      "eval instant at 10s 3\n"
      "\t-0x10\n");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->commands.size(), 4u);
  const Command& load = s->commands[0];
  EXPECT_EQ(load.kind, Command::Kind::kLoad);
  EXPECT_EQ(load.line, 2);
  EXPECT_EQ(load.load.step_ms, 300000);
  ASSERT_EQ(load.load.series.size(), 2u);
  EXPECT_EQ(load.load.series[0].values.size(), 2u);
  const Command& eval = s->commands[1];
  EXPECT_EQ(eval.kind, Command::Kind::kEval);
  EXPECT_EQ(eval.line, 7);
  EXPECT_EQ(eval.eval.expr, "sum by (job) (http_requests)");
  EXPECT_EQ(eval.eval.t_ms, 5400000);
  ASSERT_EQ(eval.eval.expected.size(), 2u);
  EXPECT_EQ(eval.eval.expected[0].labels, L({{"job", "api"}}));
  EXPECT_EQ(eval.eval.expected[0].value.value, 4);  // the later line wins, as in test.go's map
  EXPECT_EQ(eval.eval.expected[0].pos, 3);
  EXPECT_EQ(eval.eval.expected[1].pos, 2);
  EXPECT_EQ(s->commands[2].kind, Command::Kind::kClear);
  ASSERT_TRUE(s->commands[3].eval.scalar.has_value());
  EXPECT_EQ(s->commands[3].eval.scalar->value.value, -16);
  EXPECT_EQ(s->commands[3].eval.t_ms, 10000);
}

TEST(ScriptTest, ParseErrorsNameTheLine) {
  const std::pair<const char*, const char*> cases[] = {
      {"load 5m\n  a 1\n\nLOAD 5m\n", "4:1: parse error: invalid load command"},
      {"load\n", "1:1: parse error: invalid load command"},
      {"load 5x\n", "1:1: parse error: invalid step definition \"5x\""},
      {"\n\nfoo bar\n", "3:1: parse error: invalid command \"foo bar\""},
      {"evaluate instant at 1m x\n", "1:1: parse error: invalid evaluation command"},
      {"eval instant 1m foo\n", "1:1: parse error: invalid evaluation command"},
      {"eval instant at 1x foo\n", "1:1: parse error: invalid step definition \"1x\""},
      {"eval instant at 1m foo\n  foo 1 2\n", "2:1: parse error: expecting multiple values"},
      {"load 1m\n  a 1\n  b 1_0\n", "3:3: parse error: bad number syntax"},
      // A scalar line ends the block, so the next line is read as a command.
      {"eval instant at 1m 1\n  1\n  2\n", "3:1: parse error: invalid command \"2\""},
  };
  for (const auto& [text, want] : cases) {
    absl::StatusOr<Script> s = ParseScript(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(want)) << text;
  }
  ParseOptions opts;
  opts.validate_expr = [](std::string_view e) {
    return e == "bad(" ? absl::InvalidArgumentError("unclosed left parenthesis") : absl::OkStatus();
  };
  EXPECT_TRUE(ParseScript("eval instant at 0 good\n", opts).ok());
  absl::StatusOr<Script> s = ParseScript("\neval instant at 0 bad(\n", opts);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("2:1: parse error"));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("unclosed left parenthesis"));
}

// A scripted engine. Instant answers come from `instant`; Range, unless overridden, is built the
// way a real engine would: one instant evaluation per step, gathered into series.
class FakeEngine : public QueryEngine {
 public:
  using InstantFn =
      std::function<absl::StatusOr<QueryResult>(const std::string&, int64_t, tsdb::Storage*)>;
  InstantFn instant;
  std::function<absl::StatusOr<QueryResult>(const std::string&, int64_t, int64_t, int64_t)> range;
  std::function<absl::StatusOr<std::optional<std::string>>(const std::string&, int64_t)> pin;
  std::vector<std::pair<std::string, int64_t>> instant_calls;
  std::vector<std::vector<int64_t>> range_calls;

  absl::StatusOr<QueryResult> Instant(const std::string& expr, int64_t t_ms,
                                      tsdb::Storage* storage) override {
    instant_calls.emplace_back(expr, t_ms);
    return instant(expr, t_ms, storage);
  }
  absl::StatusOr<QueryResult> Range(const std::string& expr, int64_t start, int64_t end,
                                    int64_t step, tsdb::Storage* storage) override {
    range_calls.push_back({start, end, step});
    if (range) return range(expr, start, end, step);
    std::map<tsdb::Labels, MatrixSeries> series;
    for (int64_t t = start; t <= end; t += step) {
      absl::StatusOr<QueryResult> r = instant(expr, t, storage);
      if (!r.ok()) return r.status();
      if (r->type == QueryResult::Type::kScalar) r->vector = {{tsdb::Labels(), r->scalar}};
      for (const VectorSample& s : r->vector) {
        series[s.labels].labels = s.labels;
        series[s.labels].points.push_back({t, s.value});
      }
    }
    std::vector<MatrixSeries> m;
    for (auto& [l, s] : series) m.push_back(std::move(s));
    return QueryResult::Matrix(std::move(m));
  }
  absl::StatusOr<std::optional<std::string>> PinAt(const std::string& expr, int64_t t_ms) override {
    if (pin) return pin(expr, t_ms);
    return QueryEngine::PinAt(expr, t_ms);
  }
};

// Every load block of the Prometheus test data goes into MemStorage without an append error
// (test.go would stop at one). The engine here answers every query with an error, so exactly
// the eval_fail cases pass.
TEST(ScriptTest, LoadsEveryPrometheusTestdataFile) {
  const std::pair<const char*, int> files[] = {
      {"at_modifier.test", 33}, {"collision.test", 2},      {"functions.test", 207},
      {"histograms.test", 38},  {"literals.test", 20},      {"operators.test", 94},
      {"staleness.test", 14},   {"trig_functions.test", 19}};
  for (const auto& [file, evals] : files) {
    absl::StatusOr<Script> s =
        ParseScript(ReadFile(std::string("/work/shared/specs/promql-testdata/") + file));
    ASSERT_TRUE(s.ok()) << file;
    int fails = 0;
    for (const Command& c : s->commands) fails += c.eval.fail;
    FakeEngine engine;
    engine.instant = [](const std::string&, int64_t,
                        tsdb::Storage*) -> absl::StatusOr<QueryResult> {
      return absl::UnimplementedError("no engine");
    };
    RunReport r = RunScript(*s, engine);
    EXPECT_EQ(static_cast<int>(r.cases.size()), evals) << file << "\n" << r.ToText();
    EXPECT_EQ(r.passed, fails) << file;
    EXPECT_EQ(r.failed, evals - fails) << file;
  }
}

// A tiny selector-only engine over the storage: the newest sample within 5m before t that is
// not a staleness marker. Enough to observe what `load` stored and where.
absl::StatusOr<QueryResult> SelectLatest(const std::string& name, int64_t t, tsdb::Storage* st) {
  absl::StatusOr<std::vector<tsdb::Series>> sel =
      st->Select({{tsdb::Matcher::Type::kEqual, "__name__", name}}, t - kLookbackDeltaMs, t);
  if (!sel.ok()) return sel.status();
  std::vector<VectorSample> out;
  for (const tsdb::Series& s : *sel) {
    if (s.samples.empty() || tsdb::IsStaleNaN(s.samples.back().v)) continue;
    out.push_back({s.labels, s.samples.back().v});
  }
  return QueryResult::Vector(std::move(out));
}

TEST(RunTest, LoadsAtStepMultiplesWithStalenessAndClear) {
  // Cases and expected values from staleness.test (Prometheus 2.42), restricted to plain
  // selectors, plus a clear.
  absl::StatusOr<Script> s = ParseScript(R"(
load 10s
  metric 0 1 stale 2

eval instant at 10s metric
  {__name__="metric"} 1

eval instant at 20s metric

eval instant at 30s metric
  {__name__="metric"} 2

eval instant at 330s metric
  {__name__="metric"} 2

eval instant at 331s metric

clear

eval instant at 30s metric

load 1m
  metric{a="b"} _ _x2 7

eval instant at 2m metric

eval instant at 3m metric
  metric{a="b"} 7
)");
  ASSERT_TRUE(s.ok()) << s.status();
  FakeEngine engine;
  engine.instant = [](const std::string& e, int64_t t, tsdb::Storage* st) {
    return SelectLatest(e, t, st);
  };
  RunReport r = RunScript(*s, engine);
  EXPECT_EQ(r.failed, 0) << r.ToText();
  EXPECT_EQ(r.passed, 8);
  EXPECT_EQ(r.at_checks_skipped, 8);
  EXPECT_EQ(r.Summary(), "8 passed, 0 failed");
}

TEST(RunTest, ReportsWrongAnswersAndGoesOn) {
  absl::StatusOr<Script> s = ParseScript(
      "eval instant at 1m x\n"
      "  x 1\n"
      "\n"
      "eval instant at 1m y\n"
      "  y 1\n");
  ASSERT_TRUE(s.ok());
  FakeEngine engine;
  engine.instant = [](const std::string& e, int64_t,
                      tsdb::Storage*) -> absl::StatusOr<QueryResult> {
    return QueryResult::Vector({{tsdb::Labels({{"__name__", e}}), e == "x" ? 1.0 : 5.0}});
  };
  RunReport r = RunScript(*s, engine);
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_TRUE(r.cases[0].passed);
  EXPECT_FALSE(r.cases[1].passed);
  EXPECT_EQ(r.cases[1].line, 4);
  EXPECT_EQ(r.cases[1].message, "error in eval y: expected 1 for {__name__=\"y\"} but got 5");
  EXPECT_EQ(r.ToText(),
            "FAILED line 4: eval instant at 1m y\n"
            "    error in eval y: expected 1 for {__name__=\"y\"} but got 5\n"
            "@-modifier re-checks skipped for 2 evals (engine has no PinAt)\n"
            "1 passed, 1 failed\n");
}

TEST(RunTest, RangeModeIsCheckedAtTheMiddleStep) {
  absl::StatusOr<Script> s = ParseScript("eval instant at 5m x\n  x 1\n");
  ASSERT_TRUE(s.ok());
  FakeEngine engine;
  engine.instant = [](const std::string&, int64_t, tsdb::Storage*) -> absl::StatusOr<QueryResult> {
    return QueryResult::Vector({{tsdb::Labels({{"__name__", "x"}}), 1}});
  };
  engine.range = [](const std::string&, int64_t start, int64_t end,
                    int64_t step) -> absl::StatusOr<QueryResult> {
    MatrixSeries m{tsdb::Labels({{"__name__", "x"}}), {}};
    for (int64_t t = start; t <= end; t += step) m.points.push_back({t, t == 300000 ? 9.0 : 1.0});
    return QueryResult::Matrix({m});
  };
  RunReport r = RunScript(*s, engine);
  ASSERT_EQ(r.failed, 1);
  EXPECT_EQ(r.cases[0].message,
            "error in eval x (line 1) range mode: expected 1 for {__name__=\"x\"} but got 9");
  ASSERT_EQ(engine.range_calls.size(), 1u);
  EXPECT_THAT(engine.range_calls[0], ElementsAre(240000, 360000, 60000));

  // A scalar checks the range result's point at t as a scalar.
  s = ParseScript("eval instant at 1m 2\n  2\n");
  ASSERT_TRUE(s.ok());
  FakeEngine scalar;
  scalar.instant = [](const std::string&, int64_t, tsdb::Storage*) -> absl::StatusOr<QueryResult> {
    return QueryResult::Scalar(2);
  };
  EXPECT_EQ(RunScript(*s, scalar).failed, 0);
}

TEST(RunTest, EvalFailWantsEveryQueryToFail) {
  absl::StatusOr<Script> s =
      ParseScript("eval_fail instant at 1m bad\n\neval_fail instant at 1m good\n");
  ASSERT_TRUE(s.ok());
  FakeEngine engine;
  engine.instant = [](const std::string& e, int64_t,
                      tsdb::Storage*) -> absl::StatusOr<QueryResult> {
    if (e == "bad") return absl::InvalidArgumentError("boom");
    return QueryResult::Vector({});
  };
  RunReport r = RunScript(*s, engine);
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_TRUE(r.cases[0].passed);
  EXPECT_EQ(r.cases[1].message, "expected error evaluating query \"good\" (line 3) but got none");
  EXPECT_TRUE(engine.range_calls.empty());  // failing queries are not re-run in range mode
}

TEST(RunTest, EngineErrorsFailTheCase) {
  absl::StatusOr<Script> s = ParseScript("eval instant at 1m x\n");
  ASSERT_TRUE(s.ok());
  FakeEngine engine;
  engine.instant = [](const std::string&, int64_t, tsdb::Storage*) -> absl::StatusOr<QueryResult> {
    return absl::InvalidArgumentError("no such function");
  };
  RunReport r = RunScript(*s, engine);
  EXPECT_EQ(r.cases.at(0).message, "error evaluating query \"x\" (line 1): no such function");
}

TEST(RunTest, AtModifierVariantsRunAtTestGoTimes) {
  absl::StatusOr<Script> s = ParseScript(
      "eval instant at 100s x\n  x 1\n\neval instant at 0 x\n  x 1\n\neval instant at 1m time()\n");
  ASSERT_TRUE(s.ok());
  FakeEngine engine;
  engine.instant = [](const std::string& e, int64_t,
                      tsdb::Storage*) -> absl::StatusOr<QueryResult> {
    if (e == "time()") return QueryResult::Vector({});
    return QueryResult::Vector({{tsdb::Labels({{"__name__", "x"}}), 1}});
  };
  engine.pin = [](const std::string& e, int64_t t) -> absl::StatusOr<std::optional<std::string>> {
    if (e == "time()") return std::optional<std::string>();  // not step-invariant
    return std::optional<std::string>(absl::StrCat(e, " @ ", t / 1000));
  };
  RunReport r = RunScript(*s, engine);
  EXPECT_EQ(r.failed, 0) << r.ToText();
  EXPECT_EQ(r.at_checks_skipped, 0);
  // At t=100s: the original, then the pinned expression at -10t, 0, t/5, t, 10t; at t=0:
  // -1s, 0, +1s; time() has no variants.
  EXPECT_THAT(engine.instant_calls,
              ElementsAre(Pair("x", 100000), Pair("x @ 100", -1000000), Pair("x @ 100", 0),
                          Pair("x @ 100", 20000), Pair("x @ 100", 100000), Pair("x @ 100", 1000000),
                          Pair("x", 0), Pair("x @ 0", -1000), Pair("x @ 0", 0), Pair("x @ 0", 1000),
                          Pair("time()", 60000)));
}

TEST(RunTest, OrderedEvalsSkipTheRangeComparison) {
  absl::StatusOr<Script> s =
      ParseScript("eval_ordered instant at 1m x\n  x{a=\"1\"} 1\n  x{a=\"2\"} 2\n");
  ASSERT_TRUE(s.ok());
  FakeEngine engine;
  engine.instant = [](const std::string&, int64_t, tsdb::Storage*) -> absl::StatusOr<QueryResult> {
    return QueryResult::Vector({{tsdb::Labels({{"__name__", "x"}, {"a", "1"}}), 1},
                                {tsdb::Labels({{"__name__", "x"}, {"a", "2"}}), 2}});
  };
  engine.range = [](const std::string&, int64_t, int64_t, int64_t) -> absl::StatusOr<QueryResult> {
    return QueryResult::Matrix({});  // would fail a comparison
  };
  RunReport r = RunScript(*s, engine);
  EXPECT_EQ(r.failed, 0) << r.ToText();
  EXPECT_EQ(engine.range_calls.size(), 1u);  // still run, as test.go does
}

TEST(RunTest, FailedLoadIsAFailedCase) {
  absl::StatusOr<Script> s =
      ParseScript("load 1m\n  a 1 2 3\n\nload 1m\n  a 5\n\neval instant at 0 a\n");
  ASSERT_TRUE(s.ok());
  FakeEngine engine;
  engine.instant = [](const std::string&, int64_t, tsdb::Storage*) -> absl::StatusOr<QueryResult> {
    return QueryResult::Vector({});
  };
  RunReport r = RunScript(*s, engine);
  ASSERT_EQ(r.cases.size(), 2u);
  EXPECT_FALSE(r.cases[0].passed);
  EXPECT_EQ(r.cases[0].line, 4);
  EXPECT_THAT(r.cases[0].message, HasSubstr("out of order sample"));
  EXPECT_EQ(r.Summary(), "1 passed, 1 failed");
}

}  // namespace
}  // namespace stakewatch::promqltest
