// Unit tests of the Go-compatible formatting helpers and of TestRulesCommand's output shape.
// Expected strings are Go's (strconv, time, model, path/filepath), worked out by hand from
// Go's documented rules or copied from promtool 2.42's output, never from this code.
#include "unittest/test_rules.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "gtest/gtest.h"

namespace stakewatch::unittest {
namespace {

TEST(FormatFloatE, MatchesStrconvE) {
  EXPECT_EQ(FormatFloatE(0.2), "2E-01");  // promtool: "... 2E-01"
  EXPECT_EQ(FormatFloatE(1), "1E+00");
  EXPECT_EQ(FormatFloatE(0), "0E+00");
  EXPECT_EQ(FormatFloatE(1.0 / 3), "3.333333333333333E-01");
  EXPECT_EQ(FormatFloatE(-1.5), "-1.5E+00");
  EXPECT_EQ(FormatFloatE(1e-7), "1E-07");
  EXPECT_EQ(FormatFloatE(1e100), "1E+100");
  EXPECT_EQ(FormatFloatE(123456789), "1.23456789E+08");
  EXPECT_EQ(FormatFloatE(INFINITY), "+Inf");
  EXPECT_EQ(FormatFloatE(-INFINITY), "-Inf");
  EXPECT_EQ(FormatFloatE(NAN), "NaN");
}

TEST(FormatModelDuration, MatchesModelDurationString) {
  EXPECT_EQ(FormatModelDuration(0), "0s");
  EXPECT_EQ(FormatModelDuration(60000), "1m");
  EXPECT_EQ(FormatModelDuration(270000), "4m30s");
  EXPECT_EQ(FormatModelDuration(5400000), "1h30m");
  EXPECT_EQ(FormatModelDuration(86400000), "1d");
  EXPECT_EQ(FormatModelDuration(7 * 86400000LL), "1w");
  EXPECT_EQ(FormatModelDuration(8 * 86400000LL), "8d");  // weeks only when exact
  EXPECT_EQ(FormatModelDuration(365 * 86400000LL), "1y");
  EXPECT_EQ(FormatModelDuration(90500), "1m30s500ms");
  EXPECT_EQ(FormatModelDuration(500), "500ms");
}

TEST(FormatGoDuration, MatchesTimeDurationString) {
  EXPECT_EQ(FormatGoDuration(0), "0s");
  EXPECT_EQ(FormatGoDuration(300'000'000'000LL), "5m0s");  // promtool: "time: 5m0s"
  EXPECT_EQ(FormatGoDuration(3'600'000'000'000LL), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(90'000'000'000LL), "1m30s");
  EXPECT_EQ(FormatGoDuration(1'500'000'000LL), "1.5s");
  EXPECT_EQ(FormatGoDuration(500'000'000LL), "500ms");
  EXPECT_EQ(FormatGoDuration(1500), "1.5µs");
  EXPECT_EQ(FormatGoDuration(7), "7ns");
}

TEST(GoQuote, EscapesLikeStrconvQuote) {
  EXPECT_EQ(GoQuote("sum(up"), "\"sum(up\"");
  EXPECT_EQ(GoQuote("up{a=\"b\"}"), "\"up{a=\\\"b\\\"}\"");
  EXPECT_EQ(GoQuote("a\\b\n\t"), "\"a\\\\b\\n\\t\"");
  EXPECT_EQ(GoQuote(std::string("\x01", 1)), "\"\\x01\"");
  EXPECT_EQ(GoQuote("héllo"), "\"héllo\"");
}

TEST(FormatLabelMap, MatchesLabelsString) {
  EXPECT_EQ(FormatLabelMap({}), "{}");
  EXPECT_EQ(FormatLabelMap({{"job", "vc"}, {"alertname", "A"}, {"x", ""}}),
            "{alertname=\"A\", job=\"vc\", x=\"\"}");
}

TEST(GoPath, CleanJoinDir) {
  EXPECT_EQ(GoPathClean(""), ".");
  EXPECT_EQ(GoPathClean("./a//b/../c/"), "a/c");
  EXPECT_EQ(GoPathClean("/../a"), "/a");
  EXPECT_EQ(GoPathClean("../../a"), "../../a");
  EXPECT_EQ(GoPathJoin(".", "rules.yml"), "rules.yml");
  EXPECT_EQ(GoPathJoin("testdata", "../x/r.yml"), "x/r.yml");
  EXPECT_EQ(GoPathDir("t.yml"), ".");
  EXPECT_EQ(GoPathDir("a/b/t.yml"), "a/b");
  EXPECT_EQ(GoPathDir("/t.yml"), "/");
}

// promtool 2.42 checks the arguments first: "promtool: error: path 'F' does not exist, try
// --help", exit 1, nothing on stdout.
TEST(TestRulesCommand, MissingFileIsAnArgumentError) {
  std::ostringstream out, err;
  EXPECT_EQ(TestRulesCommand({"/nonexistent/t.yml"}, out, err), 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str(), "stakewatch: error: path '/nonexistent/t.yml' does not exist, try --help\n");
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// promtool 2.42 on this file: "yaml: unmarshal errors:\n  line 1: field foo not found in type
// main.unitTestFile\n  line 3: cannot unmarshal !!str `abcdefghijk...` into float64" style.
TEST(TestRulesCommand, StrictYamlErrors) {
  std::string path = WriteTemp("strict.yml",
                               "foo: 1\n"
                               "tests:\n"
                               "  - interval: 1m\n"
                               "    promql_expr_test:\n"
                               "      - expr: up\n"
                               "        exp_samples:\n"
                               "          - value: abcdefghijk\n");
  std::ostringstream out, err;
  EXPECT_EQ(TestRulesCommand({path}, out, err), 1);
  EXPECT_EQ(err.str(),
            "  FAILED:\nyaml: unmarshal errors:\n"
            "  line 1: field foo not found in type main.unitTestFile\n"
            "  line 7: cannot unmarshal !!str `abcdefg...` into float64\n");
}

TEST(TestRulesCommand, EmptyFileSucceeds) {
  std::string path = WriteTemp("empty.yml", "");
  std::ostringstream out, err;
  EXPECT_EQ(TestRulesCommand({path}, out, err), 0);
  EXPECT_EQ(out.str(), "Unit Testing:  " + path + "\n  SUCCESS\n\n");
  EXPECT_EQ(err.str(), "");
}

TEST(TestRulesCommand, RepeatedGroupInEvalOrder) {
  std::string path = WriteTemp("order.yml", "group_eval_order: [a, b, a]\n");
  std::ostringstream out, err;
  EXPECT_EQ(TestRulesCommand({path}, out, err), 1);
  EXPECT_EQ(err.str(), "  FAILED:\ngroup name repeated in evaluation order: a\n");
}

}  // namespace
}  // namespace stakewatch::unittest
