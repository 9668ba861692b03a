// How far the loaded rules look back per metric name, which sets the series store's retention
// per name (values worked out by hand from each expression).
#include <filesystem>
#include <fstream>

#include "app/rules_runtime.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

TEST(LookbackByName, RangesOffsetsSubqueriesAndNamelessSelectors) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("rules_runtime_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(dir);
  const std::string f = (dir / "r.yml").string();
  std::ofstream(f) << R"(groups:
  - name: g
    rules:
      - record: a:30d
        expr: sum(rate(a_total[30d]))
      - record: a:1h
        expr: sum(rate(a_total[1h] offset 2h))
      - alert: B
        expr: b > 0
      - record: c:sq
        expr: max_over_time(c[1h:5m] offset 10m)
      - record: nameless
        expr: count({job="x"} offset 1h)
)";
  const int64_t kMin = 60'000;
  const std::map<std::string, int64_t> got = LookbackByNameMs({f}, 5 * kMin);
  EXPECT_EQ(got.at("a_total"), 30 * 24 * 60 * kMin);         // the longer of 30d and 1h + 2h
  EXPECT_EQ(got.at("b"), 5 * kMin);                          // instant selector: the lookback
  EXPECT_EQ(got.at("c"), 60 * kMin + 10 * kMin + 5 * kMin);  // subquery range + offset + lookback
  EXPECT_EQ(got.at(""), 60 * kMin + 5 * kMin);               // offset + lookback, no name
  EXPECT_EQ(got.size(), 4u);
  EXPECT_EQ(LongestLookbackMs({f}, 5 * kMin), 30 * 24 * 60 * kMin);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace stakewatch::app
