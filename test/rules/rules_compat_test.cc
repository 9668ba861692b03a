// Runs `promtool test rules` (Prometheus 2.42, /usr/bin/promtool) and stakewatch's `test rules`
// on every unit-test file in testdata/ (working directory testdata/, file names relative) and
// asserts the same exit code, stdout and stderr. The expected text is promtool's own output.
//
// Documented exceptions (only the exit code, stdout and the stderr prefix are compared):
//  - bad_yaml.yml: the text after "yaml: line " comes from a different YAML library (yaml-cpp).
//
// Both the stakewatch binary (`stakewatch test rules`) and the small driver stakewatch_test_rules
// (the same unittest::TestRulesCommand without the rest of the binary) are checked.
#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace {

constexpr char kPromtool[] = "/usr/bin/promtool";

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs argv in `dir` with stdout/stderr captured; waits for it.
RunResult RunCmd(const std::vector<std::string>& argv, const std::string& dir) {
  RunResult r;
  char out_tmpl[] = "/tmp/rules_compat_outXXXXXX";
  char err_tmpl[] = "/tmp/rules_compat_errXXXXXX";
  int out_fd = mkstemp(out_tmpl);
  int err_fd = mkstemp(err_tmpl);
  if (out_fd < 0 || err_fd < 0) return r;
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(127);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    int null_fd = open("/dev/null", O_RDONLY);
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
  r.out = Slurp(out_tmpl);
  r.err = Slurp(err_tmpl);
  unlink(out_tmpl);
  unlink(err_tmpl);
  return r;
}

// Unit-test files: every testdata/*.yml that is not a rule file (*rules.yml).
std::vector<std::string> TestFiles() {
  std::vector<std::string> files;
  if (DIR* d = opendir(RULES_TESTDATA_DIR)) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (absl::EndsWith(n, ".yml") && !absl::EndsWith(n, "rules.yml")) files.push_back(n);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

bool HavePromtool() { return access(kPromtool, X_OK) == 0; }

void Compare(const std::vector<std::string>& cmd_prefix, const std::vector<std::string>& files) {
  std::vector<std::string> p = {kPromtool, "test", "rules"};
  std::vector<std::string> s = cmd_prefix;
  p.insert(p.end(), files.begin(), files.end());
  s.insert(s.end(), files.begin(), files.end());
  RunResult want = RunCmd(p, RULES_TESTDATA_DIR);
  RunResult got = RunCmd(s, RULES_TESTDATA_DIR);
  SCOPED_TRACE(absl::StrJoin(files, " "));
  EXPECT_EQ(got.exit_code, want.exit_code);
  EXPECT_EQ(got.out, want.out);
  if (files.size() == 1 && files[0] == "bad_yaml.yml") {
    const std::string prefix = "  FAILED:\nyaml: line ";
    EXPECT_TRUE(absl::StartsWith(want.err, prefix)) << want.err;
    EXPECT_TRUE(absl::StartsWith(got.err, prefix)) << got.err;
  } else {
    // The argument check names the program ("promtool: error: path ... does not exist").
    std::string want_err = want.err;
    if (absl::StartsWith(want_err, "promtool: ")) want_err = "stakewatch: " + want_err.substr(10);
    EXPECT_EQ(got.err, want_err);
  }
}

class RulesCompatTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RulesCompatTest, DriverMatchesPromtool) {
  if (!HavePromtool()) GTEST_SKIP() << kPromtool << " not installed: nothing to compare against";
  Compare({TEST_RULES_DRIVER}, {GetParam()});
}

TEST_P(RulesCompatTest, StakewatchBinaryMatchesPromtool) {
  if (!HavePromtool()) GTEST_SKIP() << kPromtool << " not installed: nothing to compare against";
  const std::string bin = STAKEWATCH_BINARY;
  ASSERT_FALSE(bin.empty()) << "stakewatch binary not built in this tree";
  Compare({bin, "test", "rules"}, {GetParam()});
}

INSTANTIATE_TEST_SUITE_P(Files, RulesCompatTest, ::testing::ValuesIn(TestFiles()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

TEST(RulesCompat, AllFilesInOneRun) {
  if (!HavePromtool()) GTEST_SKIP() << kPromtool << " not installed: nothing to compare against";
  std::vector<std::string> files;
  for (const std::string& f : TestFiles()) {
    if (f != "bad_yaml.yml") files.push_back(f);
  }
  ASSERT_GE(files.size(), 10u);
  Compare({TEST_RULES_DRIVER}, files);
}

TEST(RulesCompat, MissingTestFileAndSubdirectoryPath) {
  if (!HavePromtool()) GTEST_SKIP() << kPromtool << " not installed: nothing to compare against";
  Compare({TEST_RULES_DRIVER}, {"does_not_exist.yml"});
  Compare({TEST_RULES_DRIVER}, {"../testdata/missing_rule_file.yml"});
}

}  // namespace

namespace {

// Counts the eval commands of promqltest scripts (lines starting with "eval", after leading
// spaces): the number `stakewatch test promql` must report as run.
int CountEvals(const std::vector<std::string>& files) {
  int n = 0;
  for (const std::string& f : files) {
    std::istringstream in(Slurp(f));
    for (std::string line; std::getline(in, line);) {
      const size_t first = line.find_first_not_of(" \t");
      if (first != std::string::npos && line.compare(first, 4, "eval") == 0) ++n;
    }
  }
  return n;
}

std::vector<std::string> ScriptsIn(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (absl::EndsWith(name, ".test")) out.push_back(dir + "/" + name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void ExpectAllPass(const std::vector<std::string>& scripts) {
  std::vector<std::string> argv = {STAKEWATCH_BINARY, "test", "promql"};
  argv.insert(argv.end(), scripts.begin(), scripts.end());
  RunResult r = RunCmd(argv, "/");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(absl::EndsWith(r.out, absl::StrCat(CountEvals(scripts), " passed, 0 failed\n")))
      << r.out << r.err;
}

}  // namespace

// `stakewatch test promql` on the repository's own scripts and on Prometheus's v2.42 test data.
TEST(PromqlCli, OwnScriptsPass) {
  ASSERT_FALSE(std::string(STAKEWATCH_BINARY).empty());
  std::vector<std::string> scripts = ScriptsIn(PROMQL_TESTDATA_DIR);
  ASSERT_GE(scripts.size(), 2u);
  ExpectAllPass(scripts);
}

TEST(PromqlCli, PrometheusTestDataPasses) {
  const char* env = std::getenv("STAKEWATCH_SHARED_DIR");
  const std::string dir = (env != nullptr && *env != '\0')
                              ? std::string(env) + "/specs/promql-testdata"
                              : std::string(SHARED_PROMQL_TESTDATA_DIR);
  std::vector<std::string> scripts = ScriptsIn(dir);
  if (scripts.empty()) {
    GTEST_SKIP() << "Prometheus's PromQL test data not found at " << dir
                 << " (set STAKEWATCH_SHARED_DIR to the directory holding specs/promql-testdata)";
  }
  ExpectAllPass(scripts);
}
