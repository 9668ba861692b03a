#include <cmath>
#include <cstring>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tsdb/labels.h"
#include "tsdb/storage.h"

namespace stakewatch::tsdb {
namespace {

using ::testing::ElementsAre;
using ::testing::SizeIs;

std::vector<std::string> Names(const Labels& l) {
  std::vector<std::string> out;
  for (const Label& x : l) out.push_back(x.name + "=" + x.value);
  return out;
}

TEST(Labels, SortsDropsEmptyAndLastWins) {
  Labels l{{"b", "2"}, {"a", "1"}, {"c", ""}, {"b", "3"}};
  EXPECT_THAT(Names(l), ElementsAre("a=1", "b=3"));
  EXPECT_EQ(l.Get("b"), "3");
  EXPECT_EQ(l.Get("c"), "");
  EXPECT_FALSE(l.Has("c"));
  EXPECT_TRUE(l.Has("a"));
  Labels p = Labels::FromPairs({{"z", "1"}, {"__name__", "m"}});
  EXPECT_THAT(Names(p), ElementsAre("__name__=m", "z=1"));
}

TEST(Labels, ToStringQuotesLikeGo) {
  Labels l{{"__name__", "up"}, {"job", "a\"b\\c\nd"}};
  EXPECT_EQ(l.ToString(), R"({__name__="up", job="a\"b\\c\nd"})");
  EXPECT_EQ(Labels().ToString(), "{}");
}

TEST(Labels, CompareAndHash) {
  Labels a{{"a", "1"}};
  Labels ab{{"a", "1"}, {"b", "1"}};
  Labels a2{{"a", "2"}};
  Labels b{{"b", "0"}};
  EXPECT_TRUE(a < ab);   // prefix is smaller
  EXPECT_TRUE(ab < a2);  // value of the first label decides
  EXPECT_TRUE(a2 < b);   // name "a" < "b"
  EXPECT_FALSE(a < a);
  EXPECT_EQ(a.Hash(), Labels({{"a", "1"}}).Hash());
  EXPECT_NE(a.Hash(), a2.Hash());
  // Name/value boundaries matter: {ab="c"} differs from {a="bc"}.
  EXPECT_NE(Labels({{"ab", "c"}}).Hash(), Labels({{"a", "bc"}}).Hash());
}

TEST(LabelsBuilder, SetDelGetBuild) {
  LabelsBuilder b(Labels{{"a", "1"}, {"c", "3"}});
  b.Set("b", "2").Set("a", "").Set("c", "4").Del("nope");
  EXPECT_EQ(b.Get("a"), "");
  EXPECT_EQ(b.Get("b"), "2");
  EXPECT_THAT(Names(b.Build()), ElementsAre("b=2", "c=4"));
  std::vector<std::string> seen;
  b.Range([&](std::string_view n, std::string_view v) {
    seen.push_back(std::string(n) + std::string(v));
    b.Del(n);  // mutation during Range sees a snapshot
  });
  EXPECT_THAT(seen, ElementsAre("b2", "c4"));
  EXPECT_TRUE(b.Build().empty());
  b.Reset(Labels{{"x", "y"}});
  EXPECT_THAT(Names(b.Build()), ElementsAre("x=y"));
}

TEST(StaleNaN, BitPattern) {
  double s = StaleNaN();
  uint64_t bits;
  std::memcpy(&bits, &s, sizeof(bits));
  EXPECT_EQ(bits, 0x7ff0000000000002ULL);
  EXPECT_TRUE(std::isnan(s));
  EXPECT_TRUE(IsStaleNaN(s));
  EXPECT_FALSE(IsStaleNaN(std::nan("")));
  EXPECT_FALSE(IsStaleNaN(1.0));
}

TEST(Names, Validity) {
  EXPECT_TRUE(IsValidLabelName("_a1"));
  EXPECT_FALSE(IsValidLabelName("1a"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName(""));
  EXPECT_FALSE(IsValidLabelName("a-b"));
  EXPECT_TRUE(IsValidMetricName("a:b_c"));
  EXPECT_TRUE(IsValidMetricName(":a"));
  EXPECT_FALSE(IsValidMetricName("0a"));
  EXPECT_FALSE(IsValidMetricName(""));
}

class MemStorageTest : public ::testing::Test {
 protected:
  std::vector<Series> SelectAll(std::vector<Matcher> m = {}) {
    auto r = storage_.Select(m, 0, 1'000'000);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<Series>{};
  }
  MemStorage storage_{/*retention_ms=*/1000};
};

TEST_F(MemStorageTest, CommitMakesVisibleRollbackDiscards) {
  Labels l{{"__name__", "m"}};
  auto app = storage_.NewAppender();
  EXPECT_EQ(app->Append(l, 10, 1.5), AppendError::kNone);
  EXPECT_THAT(SelectAll(), SizeIs(0));  // not visible before Commit
  ASSERT_TRUE(app->Commit().ok());
  auto s = SelectAll();
  ASSERT_THAT(s, SizeIs(1));
  EXPECT_EQ(s[0].labels, l);
  ASSERT_THAT(s[0].samples, SizeIs(1));
  EXPECT_EQ(s[0].samples[0].t_ms, 10);
  EXPECT_EQ(s[0].samples[0].v, 1.5);

  auto app2 = storage_.NewAppender();
  EXPECT_EQ(app2->Append(l, 20, 2), AppendError::kNone);
  app2->Rollback();
  EXPECT_THAT(SelectAll()[0].samples, SizeIs(1));
  EXPECT_EQ(storage_.NumSamples(), 1u);
  EXPECT_EQ(storage_.NumSeries(), 1u);
}

TEST_F(MemStorageTest, OutOfOrderAndDuplicates) {
  Labels l{{"__name__", "m"}};
  auto app = storage_.NewAppender();
  ASSERT_EQ(app->Append(l, 100, 1), AppendError::kNone);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(app->Append(l, 99, 1), AppendError::kOutOfOrder);
  EXPECT_EQ(app->Append(l, 100, 1), AppendError::kNone);  // same sample: ignored
  EXPECT_EQ(app->Append(l, 100, 2), AppendError::kDuplicateTimestamp);
  EXPECT_EQ(app->Append(l, 101, 3), AppendError::kNone);
  EXPECT_EQ(app->Append(l, 101, 4), AppendError::kDuplicateTimestamp);  // within the appender
  EXPECT_EQ(app->Append(l, 100, 4), AppendError::kOutOfOrder);
  // Far older than max_t - retention (100 - 1000 < 0 here, so use a new series late).
  ASSERT_TRUE(app->Commit().ok());
  auto s = SelectAll();
  ASSERT_THAT(s, SizeIs(1));
  ASSERT_THAT(s[0].samples, SizeIs(2));
  EXPECT_EQ(s[0].samples[1].t_ms, 101);
  EXPECT_EQ(s[0].samples[1].v, 3);

  auto app2 = storage_.NewAppender();
  ASSERT_EQ(app2->Append(l, 5000, 1), AppendError::kNone);
  ASSERT_TRUE(app2->Commit().ok());
  EXPECT_EQ(app2->Append(Labels{{"__name__", "other"}}, 3999, 1), AppendError::kOutOfBounds);
  EXPECT_EQ(app2->Append(Labels{{"__name__", "other"}}, 4000, 1), AppendError::kNone);
}

TEST_F(MemStorageTest, StaleNaNStoredAndSameBitsNotDuplicate) {
  Labels l{{"__name__", "m"}};
  auto app = storage_.NewAppender();
  ASSERT_EQ(app->Append(l, 1, StaleNaN()), AppendError::kNone);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(app->Append(l, 1, StaleNaN()), AppendError::kNone);
  EXPECT_EQ(app->Append(l, 1, std::nan("")), AppendError::kDuplicateTimestamp);
  auto s = SelectAll();
  ASSERT_THAT(s, SizeIs(1));
  EXPECT_TRUE(IsStaleNaN(s[0].samples[0].v));
}

TEST_F(MemStorageTest, SelectMatchersAndTimeRange) {
  auto app = storage_.NewAppender();
  Labels a{{"__name__", "up"}, {"job", "node"}, {"instance", "a:1"}};
  Labels b{{"__name__", "up"}, {"job", "vc"}, {"instance", "b:1"}};
  Labels c{{"__name__", "other"}, {"job", "vc"}};
  for (int t : {10, 20, 30}) {
    ASSERT_EQ(app->Append(a, t, t), AppendError::kNone);
    ASSERT_EQ(app->Append(b, t, t), AppendError::kNone);
    ASSERT_EQ(app->Append(c, t, t), AppendError::kNone);
  }
  ASSERT_TRUE(app->Commit().ok());
  using T = Matcher::Type;
  auto r = SelectAll({{T::kEqual, "__name__", "up"}});
  ASSERT_THAT(r, SizeIs(2));
  EXPECT_EQ(r[0].labels, a);  // sorted by labels: instance a:1 < b:1
  EXPECT_EQ(r[1].labels, b);
  EXPECT_THAT(SelectAll({{T::kNotEqual, "job", "vc"}}), SizeIs(1));
  // Regexes are anchored: "v" alone does not match "vc".
  EXPECT_THAT(SelectAll({{T::kRegexMatch, "job", "v"}}), SizeIs(0));
  EXPECT_THAT(SelectAll({{T::kRegexMatch, "job", "v.*"}}), SizeIs(2));
  EXPECT_THAT(SelectAll({{T::kRegexNoMatch, "job", "v.*"}}), SizeIs(1));
  // An absent label is "": c has no instance.
  auto none = SelectAll({{T::kEqual, "instance", ""}});
  ASSERT_THAT(none, SizeIs(1));
  EXPECT_EQ(none[0].labels, c);
  EXPECT_THAT(SelectAll({{T::kRegexMatch, "instance", ".*"}}), SizeIs(3));
  EXPECT_THAT(SelectAll({{T::kRegexMatch, "instance", ".+"}}), SizeIs(2));
  EXPECT_THAT(SelectAll({{T::kNotEqual, "instance", ""}}), SizeIs(2));

  auto ranged = storage_.Select({{T::kEqual, "__name__", "other"}}, 15, 30);
  ASSERT_TRUE(ranged.ok());
  ASSERT_THAT(*ranged, SizeIs(1));
  ASSERT_THAT((*ranged)[0].samples, SizeIs(2));
  EXPECT_EQ((*ranged)[0].samples[0].t_ms, 20);
  EXPECT_EQ((*ranged)[0].samples[1].t_ms, 30);
  auto empty = storage_.Select({}, 31, 40);
  ASSERT_TRUE(empty.ok());
  EXPECT_THAT(*empty, SizeIs(0));

  auto bad = storage_.Select({{T::kRegexMatch, "job", "("}}, 0, 100);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MemStorageTest, CompactDropsOldSamplesAndEmptySeries) {
  auto app = storage_.NewAppender();
  Labels old{{"__name__", "old"}};
  Labels live{{"__name__", "live"}};
  ASSERT_EQ(app->Append(old, 100, 1), AppendError::kNone);
  ASSERT_EQ(app->Append(live, 100, 1), AppendError::kNone);
  ASSERT_EQ(app->Append(live, 1500, 1), AppendError::kNone);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(storage_.NumSamples(), 3u);
  EXPECT_EQ(storage_.Compact(), 1u);  // keeps t >= 1500 - 1000
  EXPECT_EQ(storage_.NumSeries(), 1u);
  EXPECT_EQ(storage_.NumSamples(), 1u);
}

TEST_F(MemStorageTest, ConcurrentAppenders) {
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([this, i] {
      Labels l{{"__name__", "m"}, {"t", std::to_string(i)}};
      for (int t = 0; t < 200; ++t) {
        auto app = storage_.NewAppender();
        EXPECT_EQ(app->Append(l, t, t), AppendError::kNone);
        EXPECT_TRUE(app->Commit().ok());
        (void)storage_.Select({}, 0, 1000);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(storage_.NumSeries(), 4u);
  EXPECT_EQ(storage_.NumSamples(), 800u);
}

}  // namespace
}  // namespace stakewatch::tsdb
