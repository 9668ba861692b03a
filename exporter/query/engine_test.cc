// The engine against Prometheus's own PromQL test scripts (../shared/specs/promql-testdata, the
// v2.42.0 files, read in place), against our own scripts in test/testdata/promql (expected values
// worked out by hand in the scripts' comments), and the engine's limits and errors.
#include "query/engine.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include "absl/strings/match.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "promql/parser.h"
#include "promqltest/script.h"
#include "query/promqltest_engine.h"
#include "tsdb/storage.h"

namespace stakewatch::query {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path SharedTestdata() {
  if (const char* d = std::getenv("STAKEWATCH_SHARED_DIR"); d != nullptr && *d != '\0') {
    return fs::path(d) / "specs" / "promql-testdata";
  }
  return fs::path(STAKEWATCH_SOURCE_DIR) / ".." / "shared" / "specs" / "promql-testdata";
}

std::vector<fs::path> TestFiles(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".test") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

promqltest::ParseOptions ScriptOptions() {
  promqltest::ParseOptions o;
  o.validate_expr = [](std::string_view e) { return promql::ParseExpr(e).status(); };
  return o;
}

void RunFile(const fs::path& p, int* evals) {
  SCOPED_TRACE(p.string());
  absl::StatusOr<promqltest::Script> script = promqltest::ParseScript(ReadFile(p), ScriptOptions());
  ASSERT_TRUE(script.ok()) << script.status();
  PromqlTestEngine engine;
  promqltest::RunReport report = promqltest::RunScript(*script, engine);
  EXPECT_EQ(report.failed, 0) << report.ToText();
  EXPECT_EQ(report.at_checks_skipped, 0);
  EXPECT_GT(report.passed, 0);
  *evals += report.passed;
}

TEST(PrometheusConformance, EveryPromqlTestdataFilePasses) {
  const fs::path dir = SharedTestdata();
  std::vector<fs::path> files = TestFiles(dir);
  if (files.empty()) {
    GTEST_SKIP() << "Prometheus's PromQL test data not found at " << dir
                 << " (set STAKEWATCH_SHARED_DIR to the directory holding specs/promql-testdata)";
  }
  int evals = 0;
  for (const fs::path& f : files) RunFile(f, &evals);
  // The eight v2.42.0 files hold 427 evals (promqltest counts every eval command once).
  EXPECT_GE(evals, 400);
}

TEST(OwnScripts, EveryRepositoryScriptPasses) {
  const fs::path dir = fs::path(STAKEWATCH_SOURCE_DIR) / "test" / "testdata" / "promql";
  std::vector<fs::path> files = TestFiles(dir);
  ASSERT_FALSE(files.empty()) << dir;
  int evals = 0;
  for (const fs::path& f : files) RunFile(f, &evals);
}

class EngineTest : public ::testing::Test {
 protected:
  void Load(std::string_view script_text) {
    absl::StatusOr<promqltest::Script> s = promqltest::ParseScript(script_text);
    ASSERT_TRUE(s.ok()) << s.status();
    for (const auto& c : s->commands) {
      ASSERT_TRUE(promqltest::LoadInto(c.load, &storage_).ok());
    }
  }
  tsdb::MemStorage storage_;
};

TEST_F(EngineTest, MaxSamplesIsEnforced) {
  // 10 series with a sample every 10s: x[5m] at 5m holds 31 samples per series, 310 in all.
  std::string text = "load 10s\n";
  for (int i = 0; i < 10; ++i) text += "  m{i=\"" + std::to_string(i) + "\"} 0+1x40\n";
  Load(text);
  EngineOptions o;
  o.max_samples = 309;
  Engine small(o);
  absl::StatusOr<Value> v = small.Instant("m[5m]", 300'000, storage_);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "query processing would load too many samples into memory in query execution");
  o.max_samples = 310;
  Engine enough(o);
  v = enough.Instant("m[5m]", 300'000, storage_);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(std::holds_alternative<Matrix>(*v));
  EXPECT_EQ(std::get<Matrix>(*v).size(), 10u);
  EXPECT_EQ(std::get<Matrix>(*v)[0].points.size(), 31u);
}

TEST_F(EngineTest, TimeoutIsEnforced) {
  std::string text = "load 10s\n";
  for (int i = 0; i < 200; ++i) text += "  m{i=\"" + std::to_string(i) + "\"} 0+1x40\n";
  Load(text);
  FakeClock clock;
  EngineOptions o;
  o.clock = &clock;
  o.timeout = absl::Milliseconds(-1);  // already past the deadline at the first check
  Engine engine(o);
  absl::StatusOr<Matrix> m = engine.Range("sum(rate(m[1m]))", 0, 400'000, 1'000, storage_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(), "query timed out in expression evaluation");
}

TEST_F(EngineTest, RangeQueryRejectsRangeVectors) {
  Engine engine;
  absl::StatusOr<Matrix> m = engine.Range("m[5m]", 0, 60'000, 10'000, storage_);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().message(),
            "invalid expression type \"range vector\" for range query, must be Scalar or instant "
            "Vector");
}

TEST_F(EngineTest, RangeQueryStepsAndSorting) {
  // b is defined from 0 to 2m by 1m steps, a from 0 on; a range query 0..4m step 2m sees a at
  // 0, 2m, 4m and b at 0, 2m (b's last sample at 2m is within the 5m lookback at 4m too).
  Load("load 1m\n  x{n=\"b\"} 1 2 3\n  x{n=\"a\"} 10 20 30 40 50\n");
  Engine engine;
  absl::StatusOr<Matrix> m = engine.Range("x", 0, 240'000, 120'000, storage_);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].metric.Get("n"), "a");
  ASSERT_EQ((*m)[0].points.size(), 3u);
  EXPECT_EQ((*m)[0].points[2].v, 50);
  EXPECT_EQ((*m)[1].metric.Get("n"), "b");
  ASSERT_EQ((*m)[1].points.size(), 3u);
  EXPECT_EQ((*m)[1].points[2].v, 3);
}

TEST_F(EngineTest, ParseErrorsAreReturnedVerbatim) {
  Engine engine;
  absl::StatusOr<Value> v = engine.Instant("sum(", 0, storage_);
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(absl::StartsWith(v.status().message(), "1:5: parse error:")) << v.status();
}

TEST(PinAtTest, PinsSelectorsButNotInsideSubqueries) {
  absl::StatusOr<std::optional<std::string>> p =
      PinAt("rate(x[5m]) + max_over_time(y[10m:1m])", 100'000);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ(**p, "rate(x[5m] @ 100.000) + max_over_time(y[10m:1m] @ 100.000)");
  p = PinAt("time() + x", 100'000);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->has_value());
}

}  // namespace
}  // namespace stakewatch::query
