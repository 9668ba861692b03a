// CI checks of the deployment files (issue #8): docker/, systemd/, prometheus/.
//
// Docker cannot build or run here (no daemon), so what can be checked without it is checked
// with the real tools and the real binary:
//   - docker/Dockerfile: both stages on the same pinned Debian 12 tag; the runtime stage's apt
//     line holds the Debian package of every shared library `ldd` lists for the built stakewatch
//     (mapped with `dpkg -S`); the builder installs every build dependency of
//     scripts/install-deps.sh; a fixed non-root USER, VOLUME, EXPOSE, ENTRYPOINT at the copied
//     binary; the HEALTHCHECK command itself, run against a real stakewatch (pass) and a closed
//     port (fail);
//   - docker/compose.yml: `docker-compose config` accepts it (secrets and .env from the shipped
//     examples, in a temporary copy); its normalised output has a pinned tag on every image,
//     memory and CPU limits, restart policies and healthchecks on every long-running service,
//     only the peer-to-peer ports published beyond 127.0.0.1, stakewatch read-only as the
//     Dockerfile's user, no inline password, Alertmanager's secret files where
//     alertmanager/alertmanager.yml reads them, and mounts where the configs expect them;
//   - docker/stakewatch.yml and systemd/stakewatch.yml pass `stakewatch check config` and the
//     real binary starts with them;
//   - systemd/stakewatch.service: `systemd-analyze verify` without a single warning (ExecStart
//     pointed at the real binary), `systemd-analyze security --offline` exposure at most 2.0,
//     and the hardening directives parsed from the file;
//   - prometheus/prometheus.yml and docker/prometheus/prometheus.yml: `promtool check config`
//     with the rule globs pointed at the repository's rules/, finding every rules/*.rules.yml.
// A check is skipped (with a message) only when its tool is not installed. The stakewatch binary
// is the build tree's (STAKEWATCH_BINARY in the environment overrides it). Single-threaded.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "re2/re2.h"
#include "support/process.h"
#include "yaml-cpp/yaml.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::string kSource = STAKEWATCH_SOURCE_DIR;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Spit(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string StakewatchPath() {
  const char* env = std::getenv("STAKEWATCH_BINARY");
  if (env != nullptr && *env != '\0') return env;
  return STAKEWATCH_BINARY;
}

// The first executable `name` on $PATH, or "" when there is none.
std::string FindTool(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path ? path : "/usr/bin:/bin", ':', absl::SkipEmpty())) {
    const std::string candidate = absl::StrCat(dir, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

struct RunResult {
  int exit_code = -1;  // -1: killed (timeout or signal)
  std::string out;
  std::string err;
};

// Runs argv (argv[0] a path) in `dir` with `env_extra` added to the environment; kills it
// after `timeout`.
RunResult RunTool(const std::vector<std::string>& argv, const std::string& dir = ".",
                  const std::map<std::string, std::string>& env_extra = {},
                  absl::Duration timeout = absl::Seconds(60)) {
  RunResult r;
  char out_tmpl[] = "/tmp/deploy_test_outXXXXXX";
  char err_tmpl[] = "/tmp/deploy_test_errXXXXXX";
  const int out_fd = mkstemp(out_tmpl);
  const int err_fd = mkstemp(err_tmpl);
  if (out_fd < 0 || err_fd < 0) return r;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    if (chdir(dir.c_str()) != 0) _exit(126);
    for (const auto& [k, v] : env_extra) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  close(out_fd);
  close(err_fd);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = Slurp(out_tmpl);
  r.err = Slurp(err_tmpl);
  unlink(out_tmpl);
  unlink(err_tmpl);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile: a tiny reader of the instructions we use (continuation lines joined, comments
// dropped), split into stages at FROM.

struct Instruction {
  std::string op;    // upper case: FROM, RUN, COPY, ...
  std::string args;  // the rest, continuations joined with single spaces
};

std::vector<Instruction> ParseDockerfile(const std::string& text) {
  std::vector<Instruction> out;
  std::string pending;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    std::string line(absl::StripAsciiWhitespace(raw));
    if (line.empty() || line[0] == '#') continue;
    const bool continued = !line.empty() && line.back() == '\\';
    if (continued) line.pop_back();
    absl::StrAppend(&pending, pending.empty() ? "" : " ", absl::StripAsciiWhitespace(line));
    if (continued) continue;
    const size_t sp = pending.find(' ');
    Instruction ins;
    ins.op = pending.substr(0, sp);
    std::transform(ins.op.begin(), ins.op.end(), ins.op.begin(), ::toupper);
    ins.args = sp == std::string::npos ? "" : pending.substr(sp + 1);
    out.push_back(ins);
    pending.clear();
  }
  return out;
}

std::vector<std::vector<Instruction>> Stages(const std::vector<Instruction>& all) {
  std::vector<std::vector<Instruction>> stages;
  for (const Instruction& ins : all) {
    if (ins.op == "FROM") stages.emplace_back();
    if (!stages.empty()) stages.back().push_back(ins);
  }
  return stages;
}

// Package names of every `apt-get install` in a stage (options and shell operators skipped).
std::set<std::string> AptPackages(const std::vector<Instruction>& stage) {
  std::set<std::string> pkgs;
  for (const Instruction& ins : stage) {
    if (ins.op != "RUN") continue;
    for (absl::string_view cmd : absl::StrSplit(ins.args, "&&")) {
      std::vector<std::string> words = absl::StrSplit(cmd, ' ', absl::SkipWhitespace());
      auto it = std::find(words.begin(), words.end(), "install");
      if (it == words.end() || it == words.begin() || !absl::StrContains(*(it - 1), "apt")) {
        continue;
      }
      for (++it; it != words.end(); ++it) {
        if ((*it)[0] == '-') continue;
        pkgs.insert(*it);
      }
    }
  }
  return pkgs;
}

const std::vector<Instruction>& Dockerfile() {
  static const auto* all =
      new std::vector<Instruction>(ParseDockerfile(Slurp(kSource + "/docker/Dockerfile")));
  return *all;
}

std::string FirstArg(const std::vector<Instruction>& stage, const std::string& op) {
  for (const Instruction& ins : stage) {
    if (ins.op == op) return ins.args;
  }
  return "";
}

TEST(DeployDockerfile, BothStagesOnTheSamePinnedDebian12Tag) {
  const auto stages = Stages(Dockerfile());
  ASSERT_EQ(stages.size(), 2u) << "expected a builder and a runtime stage";
  const RE2 pinned(R"(debian:(12\.[0-9]+-slim|bookworm-[0-9]{8}-slim))");
  std::set<std::string> images;
  for (const auto& stage : stages) {
    std::vector<std::string> words = absl::StrSplit(stage[0].args, ' ', absl::SkipWhitespace());
    ASSERT_FALSE(words.empty());
    EXPECT_TRUE(RE2::FullMatch(words[0], pinned))
        << words[0] << " is not a pinned Debian 12 point release (debian:12.N-slim)";
    EXPECT_THAT(words[0], ::testing::Not(HasSubstr("latest")));
    images.insert(words[0]);
  }
  EXPECT_EQ(images.size(), 1u) << "builder and runtime must use the same base: "
                               << absl::StrJoin(images, ", ");
}

TEST(DeployDockerfile, BuilderInstallsEveryBuildDependencyOfInstallDeps) {
  // The -dev packages of scripts/install-deps.sh, minus those only tests and benchmarks use.
  const std::string script = Slurp(kSource + "/scripts/install-deps.sh");
  const size_t open = script.find("PACKAGES=(");
  ASSERT_NE(open, std::string::npos);
  const size_t close = script.find(')', open);
  const std::set<std::string> test_only = {"libgtest-dev", "libgmock-dev", "libbenchmark-dev",
                                           "prometheus-cpp-dev", "libclang-rt-14-dev"};
  const auto stages = Stages(Dockerfile());
  ASSERT_EQ(stages.size(), 2u);
  const std::set<std::string> builder = AptPackages(stages[0]);
  int checked = 0;
  for (absl::string_view w : absl::StrSplit(script.substr(open + 10, close - open - 10),
                                            absl::ByAnyChar(" \n"), absl::SkipWhitespace())) {
    const std::string pkg(w);
    if (!absl::EndsWith(pkg, "-dev") || test_only.count(pkg)) continue;
    ++checked;
    EXPECT_TRUE(builder.count(pkg)) << "builder stage does not install " << pkg;
  }
  EXPECT_GE(checked, 8);
  for (const char* tool : {"cmake", "ninja-build", "pkg-config", "build-essential"}) {
    EXPECT_TRUE(builder.count(tool)) << tool;
  }
  // Release build of the daemon only.
  std::string run_build;
  for (const Instruction& ins : stages[0]) {
    if (ins.op == "RUN" && absl::StrContains(ins.args, "cmake -S")) run_build = ins.args;
  }
  EXPECT_THAT(run_build, HasSubstr("-DSTAKEWATCH_BUILD_TESTS=OFF"));
  EXPECT_THAT(run_build, HasSubstr("-DSTAKEWATCH_BUILD_BENCH=OFF"));
  EXPECT_THAT(run_build, HasSubstr("-DCMAKE_BUILD_TYPE=Release"));
}

// The Debian package owning each of `libs` (paths from ldd; "" when none), trying each path's
// canonical form and its merged-/usr twin. One `dpkg -S` call for all of them.
std::map<std::string, std::string> OwningPackages(const std::string& dpkg,
                                                  const std::vector<std::string>& libs) {
  std::map<std::string, std::vector<std::string>> candidates;
  std::vector<std::string> argv = {dpkg, "-S"};
  for (const std::string& lib : libs) {
    std::vector<std::string>& c = candidates[lib];
    c.push_back(lib);
    std::error_code ec;
    const fs::path real = fs::canonical(lib, ec);
    if (!ec && real.string() != lib) c.push_back(real.string());
    for (size_t i = 0, n = c.size(); i < n; ++i) {
      c.push_back(absl::StartsWith(c[i], "/usr/") ? c[i].substr(4) : "/usr" + c[i]);
    }
    argv.insert(argv.end(), c.begin(), c.end());
  }
  // Lines "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3" (exit 1 if any path has no
  // owner, which is expected for the twins).
  RunResult r = RunTool(argv);
  std::map<std::string, std::string> owner_of_path;
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    const size_t sep = line.find(": ");
    if (sep == absl::string_view::npos) continue;
    std::string pkg(line.substr(0, sep));
    pkg = pkg.substr(0, pkg.find(','));  // "a, b: path" when shared
    owner_of_path[std::string(line.substr(sep + 2))] = pkg.substr(0, pkg.find(':'));
  }
  std::map<std::string, std::string> out;
  for (const auto& [lib, paths] : candidates) {
    out[lib] = "";
    for (const std::string& p : paths) {
      if (owner_of_path.count(p)) {
        out[lib] = owner_of_path[p];
        break;
      }
    }
  }
  return out;
}

// The installed packages that `roots` depend on, recursively (Pre-Depends and Depends, every
// alternative), roots included. Read from dpkg's database, independently of ldd.
std::set<std::string> DependencyClosure(const std::string& dpkg_query,
                                        const std::set<std::string>& roots) {
  std::set<std::string> seen;
  std::vector<std::string> level(roots.begin(), roots.end());
  while (!level.empty()) {
    std::vector<std::string> argv = {dpkg_query, "-W",
                                     "-f=${Package}\t${Pre-Depends}, ${Depends}\n"};
    for (const std::string& p : level) {
      if (seen.insert(p).second) argv.push_back(p);
    }
    level.clear();
    if (argv.size() == 3) break;
    // Packages not installed here (virtual ones) are reported on stderr and skipped.
    RunResult r = RunTool(argv);
    for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
      const size_t tab = line.find('\t');
      if (tab == absl::string_view::npos) continue;
      for (absl::string_view dep : absl::StrSplit(line.substr(tab + 1), absl::ByAnyChar(",|"))) {
        std::string name(absl::StripAsciiWhitespace(dep));
        name = name.substr(0, name.find_first_of(" (:"));
        if (!name.empty() && !seen.count(name)) level.push_back(name);
      }
    }
  }
  return seen;
}

TEST(DeployDockerfile, RuntimeStageInstallsThePackageOfEverySharedLibrary) {
  const std::string ldd = FindTool("ldd");
  const std::string dpkg = FindTool("dpkg");
  const std::string dpkg_query = FindTool("dpkg-query");
  const std::string readelf = FindTool("readelf");
  if (ldd.empty() || dpkg.empty() || dpkg_query.empty() || readelf.empty()) {
    GTEST_SKIP() << "ldd, dpkg, dpkg-query or readelf not installed";
  }
  const std::string binary = StakewatchPath();
  ASSERT_EQ(access(binary.c_str(), X_OK), 0) << binary << " missing: build target stakewatch";
  // Direct dependencies: the DT_NEEDED entries of the binary.
  RunResult dyn = RunTool({readelf, "-d", binary});
  ASSERT_EQ(dyn.exit_code, 0) << dyn.err;
  std::set<std::string> needed;
  const RE2 needed_line(R"(\(NEEDED\)\s+Shared library: \[([^\]]+)\])");
  re2::StringPiece rest(dyn.out);
  for (std::string lib; RE2::FindAndConsume(&rest, needed_line, &lib);) needed.insert(lib);
  ASSERT_GE(needed.size(), 8u) << dyn.out;
  // Every library the loader resolves (direct and transitive): "name => /path (addr)", or
  // "/path (addr)" for the loader itself.
  RunResult r = RunTool({ldd, binary});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::set<std::string> runtime = AptPackages(Stages(Dockerfile())[1]);
  const std::set<std::string> closure = DependencyClosure(dpkg_query, runtime);
  const RE2 lib_line(R"(^\s*(?:(\S+)\s+=>\s+(\S+)|(/\S+))\s+\(0x)");
  std::vector<std::pair<std::string, std::string>> loaded;  // (soname, path)
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    const std::string l(line);
    if (absl::StrContains(l, "not found")) {
      ADD_FAILURE() << "unresolved library: " << l;
      continue;
    }
    std::string soname, path, loader;
    if (!RE2::PartialMatch(l, lib_line, &soname, &path, &loader)) continue;  // linux-vdso
    const std::string name = fs::path(loader.empty() ? soname : loader).filename();
    // Sanitizer runtimes appear only in sanitizer builds; the image is a Release build.
    if (absl::StartsWith(name, "libasan") || absl::StartsWith(name, "libubsan")) continue;
    loaded.emplace_back(name, loader.empty() ? path : loader);
  }
  std::vector<std::string> paths;
  for (const auto& [name, path] : loaded) paths.push_back(path);
  std::map<std::string, std::string> owners = OwningPackages(dpkg, paths);
  std::set<std::string> direct_packages;
  int libs = 0;
  for (const auto& [name, path] : loaded) {
    ++libs;
    const std::string pkg = owners[path];
    EXPECT_FALSE(pkg.empty()) << "no Debian package owns " << path;
    if (pkg.empty()) continue;
    const std::string base =
        absl::EndsWith(pkg, "-dev") ? pkg.substr(0, pkg.size() - 4) : std::string(pkg);
    if (needed.count(name)) {
      // Named on the install line, not merely present by luck of another package's depends.
      direct_packages.insert(pkg);
      EXPECT_TRUE(runtime.count(pkg) || runtime.count(base))
          << name << " (linked directly) comes from " << pkg
          << ", which the runtime stage's apt-get install does not name";
    } else {
      EXPECT_TRUE(closure.count(pkg) || closure.count(base))
          << name << " (loaded through another library) comes from " << pkg
          << ", which no package of the runtime stage depends on";
    }
  }
  EXPECT_GT(libs, static_cast<int>(needed.size()) - 1);
  // What the build links for sure: libc, libstdc++, OpenSSL, abseil, yaml-cpp, re2, simdjson.
  for (const char* p : {"libc6", "libstdc++6", "libssl3", "libabsl20220623", "libyaml-cpp0.7",
                        "libre2-9", "libsimdjson14"}) {
    EXPECT_TRUE(direct_packages.count(p)) << "readelf/ldd did not show " << p << ": " << r.out;
  }
}

TEST(DeployDockerfile, RuntimeStageRunsAsAFixedNonRootUserWithStateInAVolume) {
  const auto stages = Stages(Dockerfile());
  ASSERT_EQ(stages.size(), 2u);
  const auto& rt = stages[1];
  const std::string user = FirstArg(rt, "USER");
  ASSERT_FALSE(user.empty()) << "runtime stage has no USER";
  const std::string uid = user.substr(0, user.find(':'));
  EXPECT_NE(uid, "0");
  EXPECT_NE(uid, "root");
  EXPECT_TRUE(std::all_of(uid.begin(), uid.end(), ::isdigit)) << "USER should be a fixed UID";
  // The UID is the one useradd creates.
  bool created = false;
  for (const Instruction& ins : rt) {
    if (ins.op == "RUN" && absl::StrContains(ins.args, "useradd") &&
        absl::StrContains(ins.args, "--uid " + uid)) {
      created = true;
    }
  }
  EXPECT_TRUE(created) << "no useradd --uid " << uid;
  EXPECT_THAT(FirstArg(rt, "VOLUME"), HasSubstr("/var/lib/stakewatch"));
  EXPECT_THAT(FirstArg(rt, "EXPOSE"), HasSubstr("9787"));
  // ENTRYPOINT runs the binary the stage copied out of the builder, which the builder built.
  std::string copied_to;
  std::string copied_from;
  for (const Instruction& ins : rt) {
    if (ins.op == "COPY" && absl::StartsWith(ins.args, "--from=builder")) {
      std::vector<std::string> w = absl::StrSplit(ins.args, ' ', absl::SkipWhitespace());
      ASSERT_EQ(w.size(), 3u);
      copied_from = w[1];
      copied_to = w[2];
    }
  }
  EXPECT_THAT(FirstArg(rt, "ENTRYPOINT"), HasSubstr("\"" + copied_to + "\""));
  std::string build_dir;
  for (const Instruction& ins : stages[0]) {
    if (ins.op == "RUN") RE2::PartialMatch(ins.args, R"(cmake -S \S+ -B (\S+))", &build_dir);
  }
  EXPECT_EQ(copied_from, build_dir + "/exporter/stakewatch");
  EXPECT_THAT(FirstArg(rt, "CMD"), HasSubstr("--config.file="));
}

// The HEALTHCHECK's exec-form command, e.g. ["/bin/bash", "-c", "..."], unescaped.
std::vector<std::string> HealthcheckCommand() {
  const std::string hc = FirstArg(Stages(Dockerfile())[1], "HEALTHCHECK");
  const size_t cmd = hc.find("CMD [");
  if (cmd == std::string::npos) return {};
  // The JSON array is valid YAML flow syntax.
  YAML::Node array = YAML::Load(hc.substr(cmd + 4));
  std::vector<std::string> argv;
  for (const auto& n : array) argv.push_back(n.as<std::string>());
  return argv;
}

// A copy of `config` (repository-relative) that a test may start: storage.path moved to `dir`,
// rule globs pointed at the repository's rules/.
std::string RunnableCopy(const std::string& config, const std::string& dir) {
  std::string text = Slurp(kSource + "/" + config);
  // The compose secret holding the slashing-DB connection string, from its shipped example.
  const std::string dsn = dir + "/stakewatch_db_dsn";
  Spit(dsn, Slurp(kSource + "/docker/secrets/stakewatch_db_dsn.example"));
  text = absl::StrReplaceAll(text, {{"path: /var/lib/stakewatch", "path: " + dir + "/state"},
                                    {"/etc/stakewatch/rules/", kSource + "/rules/"},
                                    {"/run/secrets/stakewatch_db_dsn", dsn}});
  const std::string path = dir + "/stakewatch.yml";
  Spit(path, text);
  return path;
}

// Starts the real binary on `config`; it must print "stakewatch started".
std::unique_ptr<stakewatch::testing::Subprocess> StartStakewatch(const std::string& config,
                                                                 const std::string& dir, int port) {
  auto proc = stakewatch::testing::Subprocess::Start(
      {StakewatchPath(), "run", "--config.file=" + config,
       absl::StrCat("--web.listen-address=127.0.0.1:", port)},
      dir + "/stakewatch");
  if (!proc.ok()) {
    ADD_FAILURE() << proc.status();
    return nullptr;
  }
  auto line = (*proc)->WaitForOutput("stakewatch started", absl::Seconds(20));
  EXPECT_TRUE(line.ok()) << line.status();
  if (!line.ok()) return nullptr;
  return std::move(*proc);
}

TEST(DeployDockerfile, HealthcheckPassesOnALiveStakewatchAndFailsOnAClosedPort) {
  std::vector<std::string> argv = HealthcheckCommand();
  ASSERT_GE(argv.size(), 2u) << "no exec-form HEALTHCHECK CMD";
  for (const std::string& a : argv) {
    EXPECT_THAT(a, ::testing::Not(HasSubstr("curl"))) << "curl is not in the runtime image";
    EXPECT_THAT(a, ::testing::Not(HasSubstr("wget"))) << "wget is not in the runtime image";
  }
  ASSERT_THAT(argv.back(), HasSubstr(":9787"));
  // `stakewatch healthcheck`: the image's binary is the one built here.
  ASSERT_EQ(argv[0], "/usr/local/bin/stakewatch");
  argv[0] = StakewatchPath();
  const std::string dir = stakewatch::testing::MakeTempDir("deploy_hc");
  const int port = stakewatch::testing::FreePort();
  auto sw = StartStakewatch(RunnableCopy("docker/stakewatch.yml", dir), dir, port);
  ASSERT_NE(sw, nullptr);
  std::vector<std::string> live = argv;
  live.back() = absl::StrReplaceAll(live.back(), {{":9787", absl::StrCat(":", port)}});
  RunResult ok = RunTool(live, dir, {}, absl::Seconds(10));
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  sw->Stop();
  RunResult down = RunTool(live, dir, {}, absl::Seconds(10));
  EXPECT_NE(down.exit_code, 0) << "healthcheck passed with stakewatch stopped";
  fs::remove_all(dir);
}

TEST(DeployConfigs, ShippedStakewatchConfigsLoadInTheRealBinary) {
  for (const std::string config : {"docker/stakewatch.yml", "systemd/stakewatch.yml"}) {
    SCOPED_TRACE(config);
    const std::string dir = stakewatch::testing::MakeTempDir("deploy_cfg");
    const std::string copy = RunnableCopy(config, dir);
    RunResult check = RunTool({StakewatchPath(), "check", "config", copy});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    auto sw = StartStakewatch(copy, dir, stakewatch::testing::FreePort());
    EXPECT_NE(sw, nullptr);
    if (sw) sw->Stop();
    fs::remove_all(dir);
  }
}

// ---------------------------------------------------------------------------------------------
// docker/compose.yml

struct ComposeCopy {
  std::string root;     // temporary copy of the repository parts compose refers to
  std::string compose;  // root/docker
};

ComposeCopy CopyForCompose() {
  ComposeCopy c;
  c.root = stakewatch::testing::MakeTempDir("deploy_compose");
  c.compose = c.root + "/docker";
  const auto opts = fs::copy_options::recursive;
  for (const char* d : {"docker", "rules", "dashboards", "alertmanager"}) {
    fs::copy(kSource + "/" + d, c.root + "/" + d, opts);
  }
  // The shipped examples become the real files, as docker/README.md tells operators to do.
  for (const auto& e : fs::directory_iterator(c.compose + "/secrets")) {
    const std::string p = e.path().string();
    if (absl::EndsWith(p, ".example")) fs::copy_file(p, p.substr(0, p.size() - 8));
  }
  fs::copy_file(c.compose + "/.env.example", c.compose + "/.env");
  return c;
}

// `docker-compose config` of the shipped file, parsed; null when the tool is missing.
struct ComposeConfig {
  bool skipped = false;
  YAML::Node doc;
};

const ComposeConfig& NormalisedCompose() {
  static ComposeConfig* cfg = [] {
    auto* c = new ComposeConfig;
    const std::string tool = FindTool("docker-compose");
    if (tool.empty()) {
      c->skipped = true;
      return c;
    }
    ComposeCopy copy = CopyForCompose();
    // Only the .env file: the environment of CI must not decide the result.
    RunResult r = RunTool({"/usr/bin/env", "-u", "NETWORK", "-u", "CHECKPOINT_SYNC_URL", "-u",
                           "FEE_RECIPIENT", tool, "-f", "compose.yml", "config"},
                          copy.compose);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code == 0) c->doc = YAML::Load(r.out);
    fs::remove_all(copy.root);
    return c;
  }();
  return *cfg;
}

#define COMPOSE_OR_SKIP()                                                     \
  const ComposeConfig& compose = NormalisedCompose();                         \
  if (compose.skipped) GTEST_SKIP() << "docker-compose not installed";        \
  ASSERT_TRUE(compose.doc.IsMap()) << "docker-compose config failed (above)"; \
  const YAML::Node services = compose.doc["services"]

TEST(DeployCompose, ConfigAcceptsTheFileWithTheShippedExamples) {
  COMPOSE_OR_SKIP();
  std::set<std::string> names;
  for (const auto& s : services) names.insert(s.first.as<std::string>());
  for (const char* want : {"geth", "lighthouse-bn", "lighthouse-vc", "web3signer", "postgres",
                           "prometheus", "grafana", "alertmanager", "stakewatch"}) {
    EXPECT_TRUE(names.count(want)) << "service " << want << " missing";
  }
  // The Compose Specification: no `version:` (docker-compose prints one when normalising).
  EXPECT_FALSE(RE2::PartialMatch(Slurp(kSource + "/docker/compose.yml"), R"((?m)^version:)"));
}

TEST(DeployCompose, EveryImageIsPinnedToAVersion) {
  COMPOSE_OR_SKIP();
  // repository[:port]/name:tag with a tag that contains a digit, or a digest.
  const RE2 pinned(
      R"([a-z0-9._/-]+(:[0-9]+/[a-z0-9._/-]+)?(:[A-Za-z0-9._-]*[0-9][A-Za-z0-9._-]*|@sha256:[0-9a-f]{64}))");
  for (const auto& s : services) {
    const std::string name = s.first.as<std::string>();
    ASSERT_TRUE(s.second["image"]) << name << " has no image";
    const std::string image = s.second["image"].as<std::string>();
    EXPECT_TRUE(RE2::FullMatch(image, pinned)) << name << ": image " << image << " not pinned";
    EXPECT_THAT(image, ::testing::Not(HasSubstr(":latest"))) << name;
  }
}

TEST(DeployCompose, EveryServiceHasLimitsARestartPolicyAndLongRunningOnesAHealthcheck) {
  COMPOSE_OR_SKIP();
  for (const auto& s : services) {
    const std::string name = s.first.as<std::string>();
    const YAML::Node svc = s.second;
    const bool memory = svc["mem_limit"] || svc["deploy"]["resources"]["limits"]["memory"];
    const bool cpus = svc["cpus"] || svc["deploy"]["resources"]["limits"]["cpus"];
    EXPECT_TRUE(memory) << name << " has no memory limit";
    EXPECT_TRUE(cpus) << name << " has no CPU limit";
    ASSERT_TRUE(svc["restart"]) << name << " has no restart policy";
    const std::string restart = svc["restart"].as<std::string>();
    if (restart != "no") {
      EXPECT_TRUE(svc["healthcheck"]["test"]) << name << " runs forever without a healthcheck";
    }
    EXPECT_TRUE(svc["networks"]["stack"]) << name << " is not on the stack network";
  }
}

struct Published {
  std::string host_ip;  // "" = all interfaces
  std::string port;     // "30303/udp"
};

// Both forms docker-compose 1.29 prints: "127.0.0.1:9090:9090/tcp" and {published, protocol,
// host_ip}.
std::optional<Published> ParsePort(const YAML::Node& p) {
  Published out;
  if (p.IsScalar()) {
    std::string s = p.as<std::string>();
    std::string proto = "tcp";
    if (const size_t slash = s.find('/'); slash != std::string::npos) {
      proto = s.substr(slash + 1);
      s = s.substr(0, slash);
    }
    std::vector<std::string> parts = absl::StrSplit(s, ':');
    if (parts.size() == 1) return std::nullopt;  // container port only: not published
    if (parts.size() == 3) out.host_ip = parts[0];
    out.port = absl::StrCat(parts[parts.size() - 2], "/", proto);
    return out;
  }
  if (!p["published"]) return std::nullopt;
  out.host_ip = p["host_ip"] ? p["host_ip"].as<std::string>() : "";
  out.port = absl::StrCat(p["published"].as<std::string>(), "/",
                          p["protocol"] ? p["protocol"].as<std::string>() : "tcp");
  return out;
}

TEST(DeployCompose, OnlyPeerToPeerPortsArePublic) {
  COMPOSE_OR_SKIP();
  // Geth's devp2p, Lighthouse's libp2p (tcp+udp) and its QUIC port.
  const std::set<std::string> p2p = {"30303/tcp", "30303/udp", "9000/tcp", "9000/udp", "9001/udp"};
  std::set<std::string> public_ports;
  int local = 0;
  for (const auto& s : services) {
    const std::string name = s.first.as<std::string>();
    for (const auto& p : s.second["ports"]) {
      std::optional<Published> pub = ParsePort(p);
      ASSERT_TRUE(pub.has_value()) << name << ": port " << YAML::Dump(p);
      if (pub->host_ip.empty() || pub->host_ip == "0.0.0.0" || pub->host_ip == "::") {
        EXPECT_TRUE(p2p.count(pub->port)) << name << " publishes " << pub->port << " publicly";
        public_ports.insert(pub->port);
      } else {
        EXPECT_EQ(pub->host_ip, "127.0.0.1") << name << " " << pub->port;
        ++local;
      }
    }
  }
  EXPECT_EQ(public_ports, p2p);
  EXPECT_GE(local, 4);  // stakewatch, Prometheus, Alertmanager, Grafana on loopback
  // The services with secrets or key material publish nothing.
  for (const char* quiet : {"postgres", "web3signer", "lighthouse-vc"}) {
    EXPECT_FALSE(services[quiet]["ports"]) << quiet;
  }
}

TEST(DeployCompose, StakewatchRunsReadOnlyAsTheImagesUser) {
  COMPOSE_OR_SKIP();
  const YAML::Node sw = services["stakewatch"];
  ASSERT_TRUE(sw.IsMap());
  EXPECT_TRUE(sw["read_only"] && sw["read_only"].as<bool>());
  const std::string user = FirstArg(Stages(Dockerfile())[1], "USER");
  ASSERT_TRUE(sw["user"]);
  EXPECT_EQ(sw["user"].as<std::string>(), user);
  EXPECT_NE(user.substr(0, user.find(':')), "0");
  bool tmp = false;
  for (const auto& t : sw["tmpfs"]) tmp |= absl::StartsWith(t.as<std::string>(), "/tmp");
  EXPECT_TRUE(tmp) << "read-only root needs a tmpfs on /tmp";
  bool state = false;
  for (const auto& v : sw["volumes"]) {
    const std::string s = v.IsScalar() ? v.as<std::string>() : v["target"].as<std::string>();
    // Normalised short form: "stakewatch-data:/var/lib/stakewatch:rw".
    if (absl::StrContains(s, ":/var/lib/stakewatch") || s == "/var/lib/stakewatch") state = true;
  }
  EXPECT_TRUE(state) << "no volume on /var/lib/stakewatch";
  bool all_caps_dropped = false;
  for (const auto& c : sw["cap_drop"]) all_caps_dropped |= c.as<std::string>() == "ALL";
  EXPECT_TRUE(all_caps_dropped);
  EXPECT_EQ(sw["build"]["dockerfile"].as<std::string>(), "docker/Dockerfile");
}

// Every `<key>_file` value (or list item) anywhere under `n`.
void CollectFileKeys(const YAML::Node& n, std::set<std::string>* out) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      const std::string k = kv.first.as<std::string>();
      if (absl::EndsWith(k, "_file") && kv.second.IsScalar()) {
        out->insert(kv.second.as<std::string>());
      }
      CollectFileKeys(kv.second, out);
    }
  } else if (n.IsSequence()) {
    for (const auto& c : n) CollectFileKeys(c, out);
  }
}

TEST(DeployCompose, SecretsAreFilesWhereTheServicesReadThem) {
  COMPOSE_OR_SKIP();
  // Every top-level secret is a file under docker/secrets/ with a shipped example.
  for (const auto& s : compose.doc["secrets"]) {
    const std::string file = s.second["file"].as<std::string>();
    const std::string base = fs::path(file).filename().string();
    EXPECT_TRUE(fs::exists(kSource + "/docker/secrets/" + base + ".example"))
        << "no docker/secrets/" << base << ".example";
  }
  // No password in an environment variable; *_FILE variants only.
  for (const auto& s : services) {
    for (const auto& e : s.second["environment"]) {
      const std::string k = e.first.as<std::string>();
      if (absl::StrContains(k, "PASSWORD") || absl::StrContains(k, "SECRET") ||
          absl::StrContains(k, "TOKEN")) {
        EXPECT_TRUE(absl::EndsWith(k, "_FILE")) << s.first << ": " << k << " set inline";
      }
    }
  }
  // Alertmanager: every *_file of alertmanager/alertmanager.yml is a secret target.
  std::set<std::string> wanted;
  CollectFileKeys(YAML::LoadFile(kSource + "/alertmanager/alertmanager.yml"), &wanted);
  EXPECT_EQ(wanted.size(), 4u);
  std::set<std::string> mounted;
  for (const auto& sec : services["alertmanager"]["secrets"]) {
    mounted.insert(sec["target"].as<std::string>());
  }
  EXPECT_EQ(mounted, wanted);
  // stakewatch reads its DSN where docker/stakewatch.yml says.
  const YAML::Node swcfg = YAML::LoadFile(kSource + "/docker/stakewatch.yml");
  const std::string dsn = swcfg["slashing_db"]["dsn_file"].as<std::string>();
  bool dsn_mounted = false;
  for (const auto& sec : services["stakewatch"]["secrets"]) {
    const std::string src = sec["source"].as<std::string>();
    const std::string target = sec["target"] ? sec["target"].as<std::string>() : src;
    dsn_mounted |= dsn == (absl::StartsWith(target, "/") ? target : "/run/secrets/" + target);
  }
  EXPECT_TRUE(dsn_mounted) << dsn;
  // The real secret files never enter git.
  const std::string ignore = Slurp(kSource + "/docker/secrets/.gitignore");
  EXPECT_THAT(ignore, HasSubstr("*\n"));
  EXPECT_THAT(ignore, HasSubstr("!*.example"));
}

TEST(DeployCompose, MountsAreWhereTheConfigsLook) {
  COMPOSE_OR_SKIP();
  auto volume_targets = [&](const std::string& svc) {
    std::map<std::string, std::string> t;  // target -> source
    for (const auto& v : services[svc]["volumes"]) {
      std::vector<std::string> parts = absl::StrSplit(v.as<std::string>(), ':');
      if (parts.size() >= 2) t[parts[1]] = parts[0];
    }
    return t;
  };
  // Prometheus: rules where its rule_files glob looks, from the repository's rules/.
  const auto prom = volume_targets("prometheus");
  const YAML::Node pcfg = YAML::LoadFile(kSource + "/docker/prometheus/prometheus.yml");
  const std::string glob = pcfg["rule_files"][0].as<std::string>();
  const std::string rules_dir = fs::path(glob).parent_path().string();
  ASSERT_TRUE(prom.count(rules_dir)) << rules_dir;
  EXPECT_EQ(fs::path(prom.at(rules_dir)).filename(), "rules");
  // Grafana: the dashboards where the provider reads them, from dashboards/.
  const auto graf = volume_targets("grafana");
  const YAML::Node prov =
      YAML::LoadFile(kSource + "/docker/grafana/provisioning/dashboards/stakewatch.yml");
  const std::string dash = prov["providers"][0]["options"]["path"].as<std::string>();
  ASSERT_TRUE(graf.count(dash)) << dash;
  EXPECT_EQ(fs::path(graf.at(dash)).filename(), "dashboards");
  // Alertmanager: its templates glob points at the mounted templates.
  const auto am = volume_targets("alertmanager");
  const YAML::Node amcfg = YAML::LoadFile(kSource + "/alertmanager/alertmanager.yml");
  const std::string tmpl = fs::path(amcfg["templates"][0].as<std::string>()).parent_path();
  ASSERT_TRUE(am.count(tmpl)) << tmpl;
  EXPECT_EQ(fs::path(am.at(tmpl)).filename(), "templates");
  // stakewatch: the config file its command names.
  const auto sw = volume_targets("stakewatch");
  std::string config;
  for (const auto& a : services["stakewatch"]["command"]) {
    const std::string s = a.as<std::string>();
    if (absl::StartsWith(s, "--config.file=")) config = s.substr(14);
  }
  ASSERT_TRUE(sw.count(config)) << config;
  EXPECT_EQ(fs::path(sw.at(config)).filename(), "stakewatch.yml");
  // Prometheus scrapes stakewatch on the port it listens on.
  bool scraped = false;
  for (const auto& job : pcfg["scrape_configs"]) {
    for (const auto& sc : job["static_configs"]) {
      for (const auto& t : sc["targets"]) scraped |= t.as<std::string>() == "stakewatch:9787";
    }
  }
  EXPECT_TRUE(scraped);
}

// ---------------------------------------------------------------------------------------------
// systemd/

// [Service] (or another section) as key -> values in file order.
std::multimap<std::string, std::string> UnitSection(const std::string& text,
                                                    const std::string& section) {
  std::multimap<std::string, std::string> out;
  std::string current;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    const std::string line(absl::StripAsciiWhitespace(raw));
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      current = line.substr(1, line.find(']') - 1);
      continue;
    }
    const size_t eq = line.find('=');
    if (current != section || eq == std::string::npos) continue;
    out.emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

std::string UnitWithRealBinary(const std::string& dir) {
  std::string unit = Slurp(kSource + "/systemd/stakewatch.service");
  const std::string installed = "ExecStart=/usr/local/bin/stakewatch ";
  EXPECT_THAT(unit, HasSubstr(installed));
  unit = absl::StrReplaceAll(unit, {{installed, "ExecStart=" + StakewatchPath() + " "}});
  const std::string path = dir + "/stakewatch.service";
  Spit(path, unit);
  return path;
}

TEST(DeploySystemd, AnalyzeVerifyPassesWithoutWarnings) {
  const std::string tool = FindTool("systemd-analyze");
  if (tool.empty()) GTEST_SKIP() << "systemd-analyze not installed (Debian package systemd)";
  const std::string dir = stakewatch::testing::MakeTempDir("deploy_systemd");
  const std::string unit = UnitWithRealBinary(dir);
  RunResult r = RunTool({tool, "verify", unit});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // verify exits 0 for an ignored bad directive: any line on stderr is a finding.
  EXPECT_EQ(r.err, "");
  // The check does see a broken directive (so an empty stderr above means something).
  const std::string bad = dir + "/bad.service";
  Spit(bad, absl::StrReplaceAll(Slurp(unit), {{"ProtectSystem=strict", "ProtectSystem=bogus"}}));
  RunResult b = RunTool({tool, "verify", bad});
  EXPECT_THAT(b.err, HasSubstr("bad.service:"));
  EXPECT_THAT(b.err, HasSubstr("bogus"));
  // Exposure score (0.0 safest .. 10.0) at most 2.0: --threshold is in tenths.
  RunResult sec = RunTool({tool, "security", "--offline=yes", "--threshold=20", unit});
  EXPECT_EQ(sec.exit_code, 0) << sec.out << sec.err;
  fs::remove_all(dir);
}

TEST(DeploySystemd, UnitIsHardened) {
  const std::string text = Slurp(kSource + "/systemd/stakewatch.service");
  const auto svc = UnitSection(text, "Service");
  auto value = [&](const std::string& k) {
    std::vector<std::string> v;
    for (auto [it, end] = svc.equal_range(k); it != end; ++it) v.push_back(it->second);
    return absl::StrJoin(v, " ");
  };
  const std::map<std::string, std::string> expected = {
      {"User", "stakewatch"},           {"Group", "stakewatch"},
      {"NoNewPrivileges", "yes"},       {"ProtectSystem", "strict"},
      {"ProtectHome", "yes"},           {"PrivateTmp", "yes"},
      {"PrivateDevices", "yes"},        {"ProtectKernelTunables", "yes"},
      {"ProtectKernelModules", "yes"},  {"ProtectKernelLogs", "yes"},
      {"ProtectControlGroups", "yes"},  {"RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"},
      {"CapabilityBoundingSet", ""},    {"MemoryDenyWriteExecute", "yes"},
      {"StateDirectory", "stakewatch"}, {"ReadWritePaths", "/var/lib/stakewatch"},
      {"Restart", "on-failure"},        {"ExecReload", "/bin/kill -HUP $MAINPID"},
      {"TimeoutStopSec", "15s"},
  };
  for (const auto& [k, v] : expected) {
    EXPECT_EQ(svc.count(k), 1u) << k << " missing or repeated";
    EXPECT_EQ(value(k), v) << k;
  }
  EXPECT_THAT(value("SystemCallFilter"), HasSubstr("@system-service"));
  EXPECT_FALSE(value("LimitNOFILE").empty());
  EXPECT_EQ(svc.count("DynamicUser"), 0u) << "a real user, not DynamicUser";
  // The config the unit starts with is the one the example file is for, and the state
  // directory is the storage.path of that example.
  EXPECT_THAT(value("ExecStart"), HasSubstr("--config.file=/etc/stakewatch/stakewatch.yml"));
  const YAML::Node example = YAML::LoadFile(kSource + "/systemd/stakewatch.yml");
  EXPECT_EQ(example["storage"]["path"].as<std::string>(), "/var/lib/stakewatch");
  // sysusers.d creates that user.
  const std::string sysusers = Slurp(kSource + "/systemd/stakewatch.sysusers");
  EXPECT_TRUE(RE2::PartialMatch(sysusers, R"((?m)^u stakewatch )"));
}

// ---------------------------------------------------------------------------------------------
// prometheus/ and docker/prometheus/

std::vector<std::string> ShippedRuleFiles() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kSource + "/rules")) {
    const std::string name = e.path().filename().string();
    if (absl::EndsWith(name, ".rules.yml")) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void CheckPrometheusConfig(const std::string& file, const std::string& rules_prefix) {
  const std::string tool = FindTool("promtool");
  if (tool.empty()) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  const std::string text = Slurp(kSource + "/" + file);
  ASSERT_THAT(text, HasSubstr(rules_prefix + "*.rules.yml"));
  const std::string dir = stakewatch::testing::MakeTempDir("deploy_prom");
  const std::string copy = dir + "/prometheus.yml";
  Spit(copy, absl::StrReplaceAll(text, {{rules_prefix, kSource + "/rules/"}}));
  RunResult r = RunTool({tool, "check", "config", copy});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::vector<std::string> rules = ShippedRuleFiles();
  ASSERT_GE(rules.size(), 5u);
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(rules.size(), " rule files found")));
  for (const std::string& name : rules) {
    EXPECT_THAT(r.out, HasSubstr("Checking " + kSource + "/rules/" + name)) << name;
  }
  const YAML::Node cfg = YAML::LoadFile(copy);
  bool stakewatch_job = false;
  for (const auto& job : cfg["scrape_configs"]) {
    if (job["job_name"].as<std::string>() != "stakewatch") continue;
    stakewatch_job = true;
    for (const auto& sc : job["static_configs"]) {
      for (const auto& t : sc["targets"]) EXPECT_THAT(t.as<std::string>(), HasSubstr(":9787"));
    }
  }
  EXPECT_TRUE(stakewatch_job);
  EXPECT_TRUE(cfg["alerting"]["alertmanagers"].IsSequence());
  fs::remove_all(dir);
}

TEST(DeployPrometheus, SnippetPassesPromtoolWithTheShippedRules) {
  CheckPrometheusConfig("prometheus/prometheus.yml", "/etc/prometheus/rules/stakewatch/");
}

TEST(DeployPrometheus, ComposePrometheusPassesPromtoolWithTheShippedRules) {
  CheckPrometheusConfig("docker/prometheus/prometheus.yml", "/etc/prometheus/rules/");
}

}  // namespace
