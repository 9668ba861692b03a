// CI test for the rule files stakewatch ships (rules/*.rules.yml, issue #7) and their promtool
// unit tests (rules/tests/*.test.yml):
//   - `promtool check rules` accepts every rule file, and `promtool test rules` and
//     `stakewatch test rules` both pass every unit-test file, with identical output;
//   - at least 35 alerting rules; every rule file has a test file that loads it;
//   - every alert has a literal severity (critical, warning or info), a summary, a description
//     and a runbook_url into docs/runbooks.md whose anchor is a `### <AlertName>` heading there;
//   - every alert (at each severity it is raised with) has a firing and a not-firing case, and
//     every recording rule is checked by a promql_expr_test of its file's tests.
// promtool (Prometheus 2.42) is looked up as $PROMTOOL, then on $PATH; without it the promtool
// checks are skipped with a message. Single-threaded.
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "yaml-cpp/yaml.h"

namespace {

constexpr char kRulesDir[] = STAKEWATCH_SOURCE_DIR "/rules";
constexpr char kTestsDir[] = STAKEWATCH_SOURCE_DIR "/rules/tests";
constexpr char kRunbooks[] = STAKEWATCH_SOURCE_DIR "/docs/runbooks.md";
constexpr char kRunbookPrefix[] =
    "https://github.com/stakewatch/stakewatch/blob/main/docs/runbooks.md#";
constexpr int kMinAlertingRules = 35;

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout, then stderr
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv (argv[0] is a path) in `dir`, stdout and stderr captured; waits for it.
RunResult RunProgram(const std::vector<std::string>& argv, const std::string& dir) {
  RunResult r;
  char out_tmpl[] = "/tmp/shipped_rules_outXXXXXX";
  char err_tmpl[] = "/tmp/shipped_rules_errXXXXXX";
  const int out_fd = mkstemp(out_tmpl);
  const int err_fd = mkstemp(err_tmpl);
  if (out_fd < 0 || err_fd < 0) return r;
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(127);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  close(out_fd);
  close(err_fd);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = Slurp(out_tmpl) + Slurp(err_tmpl);
  unlink(out_tmpl);
  unlink(err_tmpl);
  return r;
}

// $PROMTOOL, else the first executable `promtool` on $PATH; "" if none.
std::string FindPromtool() {
  if (const char* env = std::getenv("PROMTOOL"); env != nullptr && access(env, X_OK) == 0) {
    return env;
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "/usr/bin", ':')) {
    const std::string candidate = std::string(dir) + "/promtool";
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Sorted names (not paths) of the files in `dir` ending in `suffix`.
std::vector<std::string> ListFiles(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> files;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (absl::EndsWith(n, suffix)) files.push_back(n);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> RuleFiles() { return ListFiles(kRulesDir, ".rules.yml"); }
std::vector<std::string> TestFiles() { return ListFiles(kTestsDir, ".test.yml"); }

// "x.rules.yml" -> "x.test.yml".
std::string TestFileFor(const std::string& rule_file) {
  return rule_file.substr(0, rule_file.size() - std::string(".rules.yml").size()) + ".test.yml";
}

struct Alert {
  std::string file;
  std::string name;
  YAML::Node labels;
  YAML::Node annotations;
};

struct RuleSet {
  std::vector<Alert> alerts;
  std::map<std::string, std::vector<std::string>> records_by_file;
  std::string error;  // non-empty if a file could not be read
};

RuleSet LoadRules() {
  RuleSet set;
  for (const std::string& f : RuleFiles()) {
    try {
      const YAML::Node root = YAML::LoadFile(std::string(kRulesDir) + "/" + f);
      for (const YAML::Node& group : root["groups"]) {
        for (const YAML::Node& rule : group["rules"]) {
          if (rule["alert"]) {
            set.alerts.push_back(
                {f, rule["alert"].as<std::string>(), rule["labels"], rule["annotations"]});
          } else if (rule["record"]) {
            set.records_by_file[f].push_back(rule["record"].as<std::string>());
          }
        }
      }
    } catch (const YAML::Exception& e) {
      set.error += f + ": " + e.what() + "\n";
    }
  }
  return set;
}

std::string Str(const YAML::Node& map, const std::string& key) {
  if (!map || !map.IsMap() || !map[key] || !map[key].IsScalar()) return "";
  return map[key].as<std::string>();
}

TEST(ShippedRulesTest, ThereAreRuleFilesAndEachHasATestFile) {
  const std::vector<std::string> rules = RuleFiles();
  ASSERT_FALSE(rules.empty()) << "no " << kRulesDir << "/*.rules.yml";
  const std::vector<std::string> tests = TestFiles();
  for (const std::string& f : rules) {
    const std::string t = TestFileFor(f);
    if (std::find(tests.begin(), tests.end(), t) == tests.end()) {
      ADD_FAILURE() << f << " has no unit-test file rules/tests/" << t;
      continue;
    }
    // The test file must load the rule file it is named after.
    const YAML::Node root = YAML::LoadFile(std::string(kTestsDir) + "/" + t);
    bool loads = false;
    for (const YAML::Node& rf : root["rule_files"]) loads |= rf.as<std::string>() == "../" + f;
    EXPECT_TRUE(loads) << "rules/tests/" << t << " does not list ../" << f << " in rule_files";
  }
}

TEST(ShippedRulesTest, AtLeast35AlertingRules) {
  const RuleSet set = LoadRules();
  ASSERT_EQ(set.error, "");
  EXPECT_GE(set.alerts.size(), static_cast<size_t>(kMinAlertingRules));
}

TEST(ShippedRulesTest, EveryAlertHasSeveritySummaryDescriptionAndRunbook) {
  const RuleSet set = LoadRules();
  ASSERT_EQ(set.error, "");
  const std::set<std::string> severities = {"critical", "warning", "info"};
  for (const Alert& a : set.alerts) {
    SCOPED_TRACE(a.file + ": " + a.name);
    EXPECT_EQ(severities.count(Str(a.labels, "severity")), 1u)
        << "severity must be a literal critical, warning or info, got \""
        << Str(a.labels, "severity") << "\"";
    EXPECT_FALSE(Str(a.annotations, "summary").empty()) << "no summary";
    EXPECT_FALSE(Str(a.annotations, "description").empty()) << "no description";
    EXPECT_EQ(Str(a.annotations, "runbook_url"),
              std::string(kRunbookPrefix) + absl::AsciiStrToLower(a.name));
  }
}

TEST(ShippedRulesTest, EveryRunbookAnchorIsAHeadingInRunbooks) {
  const RuleSet set = LoadRules();
  ASSERT_EQ(set.error, "");
  std::ifstream in(kRunbooks);
  ASSERT_TRUE(in.good()) << kRunbooks
                         << " does not exist: every alert's runbook_url points into it";
  std::set<std::string> headings;
  for (std::string line; std::getline(in, line);) {
    if (absl::StartsWith(line, "### ")) {
      headings.insert(std::string(absl::StripAsciiWhitespace(line.substr(4))));
    }
  }
  for (const Alert& a : set.alerts) {
    EXPECT_EQ(headings.count(a.name), 1u)
        << "docs/runbooks.md has no heading \"### " << a.name << "\" (anchor #"
        << absl::AsciiStrToLower(a.name) << ", runbook of " << a.file << ")";
  }
}

// Every alert, at every severity it is raised with, has a test case where it fires with that
// severity and one where it is expected not to fire; every recording rule is the subject of a
// promql_expr_test.
TEST(ShippedRulesTest, EveryRuleIsUnitTested) {
  const RuleSet set = LoadRules();
  ASSERT_EQ(set.error, "");
  std::map<std::string, std::set<std::string>> fired;  // "file|alert" -> severities seen firing
  std::set<std::string> not_fired;                     // "file|alert"
  std::map<std::string, std::string> exprs;            // file -> all promql_expr_test exprs
  for (const std::string& rf : RuleFiles()) {
    const std::string t = std::string(kTestsDir) + "/" + TestFileFor(rf);
    if (access(t.c_str(), R_OK) != 0) continue;  // reported by ThereAreRuleFiles...
    const YAML::Node root = YAML::LoadFile(t);
    for (const YAML::Node& test : root["tests"]) {
      for (const YAML::Node& at : test["alert_rule_test"]) {
        const std::string key = rf + "|" + at["alertname"].as<std::string>();
        const YAML::Node exp = at["exp_alerts"];
        if (!exp || exp.size() == 0) not_fired.insert(key);
        for (const YAML::Node& e : exp) fired[key].insert(Str(e["exp_labels"], "severity"));
      }
      for (const YAML::Node& pt : test["promql_expr_test"]) {
        exprs[rf] += pt["expr"].as<std::string>() + "\n";
      }
    }
  }
  for (const Alert& a : set.alerts) {
    const std::string key = a.file + "|" + a.name;
    EXPECT_EQ(fired[key].count(Str(a.labels, "severity")), 1u)
        << a.name << " (" << Str(a.labels, "severity") << ") never fires in rules/tests/"
        << TestFileFor(a.file);
    EXPECT_EQ(not_fired.count(key), 1u)
        << a.name << " has no not-firing case in rules/tests/" << TestFileFor(a.file);
  }
  for (const auto& [file, records] : set.records_by_file) {
    for (const std::string& r : records) {
      EXPECT_TRUE(absl::StrContains(exprs[file], r))
          << "recording rule " << r << " of " << file << " is in no promql_expr_test";
    }
  }
}

TEST(ShippedRulesTest, PromtoolChecksEveryRuleFile) {
  const std::string promtool = FindPromtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not found ($PROMTOOL, $PATH): check skipped";
  for (const std::string& f : RuleFiles()) {
    const RunResult r = RunProgram({promtool, "check", "rules", f}, kRulesDir);
    EXPECT_EQ(r.exit_code, 0) << "promtool check rules " << f << ":\n" << r.output;
  }
}

TEST(ShippedRulesTest, UnitTestsPassUnderPromtoolAndStakewatchAlike) {
  const std::vector<std::string> files = TestFiles();
  ASSERT_FALSE(files.empty()) << "no " << kTestsDir << "/*.test.yml";
  std::vector<std::string> sw = {STAKEWATCH_BINARY, "test", "rules"};
  sw.insert(sw.end(), files.begin(), files.end());
  const RunResult got = RunProgram(sw, kTestsDir);
  EXPECT_EQ(got.exit_code, 0) << "stakewatch test rules:\n" << got.output;

  const std::string promtool = FindPromtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not found ($PROMTOOL, $PATH): compare skipped";
  std::vector<std::string> pt = {promtool, "test", "rules"};
  pt.insert(pt.end(), files.begin(), files.end());
  const RunResult want = RunProgram(pt, kTestsDir);
  EXPECT_EQ(want.exit_code, 0) << "promtool test rules:\n" << want.output;
  EXPECT_EQ(got.output, want.output) << "stakewatch and promtool print different results";
}

}  // namespace
