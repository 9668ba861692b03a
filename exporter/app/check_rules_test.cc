// `stakewatch check rules` with the real PromQL parser and template engine against the output
// the installed promtool 2.42 printed for the same files (recorded in
// test/testdata/rules/promtool/<name>.txt by the rules module's tests).
#include "app/check_rules.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

const std::filesystem::path kDir =
    std::filesystem::path(STAKEWATCH_SOURCE_DIR) / "test" / "testdata" / "rules";

struct Recorded {
  int exit_code = -1;
  std::string out, err;
};

Recorded ReadRecorded(const std::string& name) {
  std::ifstream in(kDir / "promtool" / (name + ".txt"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  Recorded r;
  const size_t out_at = text.find("\n--- stdout\n");
  const size_t err_at = text.find("--- stderr\n");
  if (text.rfind("exit ", 0) != 0 || out_at == std::string::npos || err_at == std::string::npos) {
    return r;
  }
  r.exit_code = std::stoi(text.substr(5, out_at - 5));
  r.out = text.substr(out_at + 12, err_at - out_at - 12);
  r.err = text.substr(err_at + 11);
  return r;
}

std::string Strip(std::string s, const std::string& dir) {
  for (size_t at = s.find(dir); at != std::string::npos; at = s.find(dir, at))
    s.erase(at, dir.size());
  return s;
}

// The files whose problems are found by the expression and template checks, and a good file
// full of real expressions and templates: our output must be promtool's, byte for byte.
TEST(CheckRulesTest, RealParserAndTemplatesGivePromtoolsOutput) {
  for (const std::string name : {"good", "bad_expr", "bad_template", "multi_error"}) {
    SCOPED_TRACE(name);
    const Recorded want = ReadRecorded(name);
    ASSERT_NE(want.exit_code, -1) << "no recorded promtool output for " << name;
    rules::CheckOptions options;
    options.validation = RuleValidation();
    const rules::CheckReport got =
        rules::CheckRuleFiles({(kDir / (name + ".yml")).string()}, options);
    const std::string dir = kDir.string() + "/";
    EXPECT_EQ(got.exit_code, want.exit_code);
    EXPECT_EQ(Strip(got.Stdout(), dir), want.out);
    EXPECT_EQ(Strip(got.Stderr(), dir), want.err);
  }
}

TEST(CheckRulesTest, CommandUsageAndExitCodes) {
  EXPECT_EQ(CheckCommand({}), 2);
  EXPECT_EQ(CheckCommand({"alerts"}), 2);
  EXPECT_EQ(CheckCommand({"rules"}), 2);
  EXPECT_EQ(CheckCommand({"rules", "--bogus", (kDir / "good.yml").string()}), 2);
  EXPECT_EQ(CheckCommand({"rules", (kDir / "good.yml").string()}), 0);
  EXPECT_EQ(CheckCommand({"rules", (kDir / "bad_expr.yml").string()}), 1);
}

}  // namespace
}  // namespace stakewatch::app
