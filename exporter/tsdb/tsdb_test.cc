#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <random>
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
  // Whole chunks are dropped: live's one chunk (t=100 and t=1500) stays in memory, but reads
  // hide what is older than the cut-off, as Prometheus's head does after truncation.
  EXPECT_EQ(storage_.NumSamples(), 2u);
  auto s = SelectAll();
  ASSERT_THAT(s, SizeIs(1));
  ASSERT_THAT(s[0].samples, SizeIs(1));
  EXPECT_EQ(s[0].samples[0].t_ms, 1500);
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

// Chunked storage (issue #5). A plain sorted vector is the reference for every read.

// The samples of `all` within [lo, hi], found by a linear scan.
std::vector<Sample> Filter(const std::vector<Sample>& all, int64_t lo, int64_t hi) {
  std::vector<Sample> out;
  for (const Sample& s : all) {
    if (s.t_ms >= lo && s.t_ms <= hi) out.push_back(s);
  }
  return out;
}

void ExpectSameSamples(const std::vector<Sample>& got, const std::vector<Sample>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].t_ms, want[i].t_ms) << "sample " << i;
    ASSERT_EQ(std::bit_cast<uint64_t>(got[i].v), std::bit_cast<uint64_t>(want[i].v))
        << "sample " << i;
  }
}

// 1000 samples (more than 8 chunks of 120), 10 ms +- jitter apart, with staleness markers, NaN,
// -0.0 and infinities around the chunk boundaries (samples 119/120/121, 239/240).
std::vector<Sample> ReferenceSeries() {
  std::mt19937_64 rng(7);
  std::vector<Sample> out;
  int64_t t = 1'000'000;
  double counter = 0;
  for (int i = 0; i < 1000; ++i) {
    counter += static_cast<double>(rng() % 5);
    double v = counter;
    if (i == 119 || i == 121 || i == 500) v = StaleNaN();
    if (i == 120) v = -0.0;
    if (i == 239) v = -INFINITY;
    if (i == 240) v = std::bit_cast<double>(0x7ff8000000000123ULL);
    out.push_back(Sample{t, v});
    t += 10 + static_cast<int64_t>(rng() % 3);
  }
  return out;
}

class ChunkedStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    all_ = ReferenceSeries();
    // Several commits of varying size, so chunks are filled across commits.
    auto app = storage_.NewAppender();
    for (size_t i = 0; i < all_.size(); ++i) {
      ASSERT_EQ(app->Append(labels_, all_[i].t_ms, all_[i].v), AppendError::kNone) << i;
      if (i % 37 == 0) {
        ASSERT_TRUE(app->Commit().ok());
      }
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  MemStorage storage_{/*retention_ms=*/1'000'000'000};
  Labels labels_{{"__name__", "m"}};
  std::vector<Sample> all_;
};

TEST_F(ChunkedStorageTest, SelectAcrossChunkBoundaries) {
  EXPECT_EQ(storage_.NumSamples(), 1000u);
  std::vector<std::pair<int64_t, int64_t>> ranges = {
      {0, std::numeric_limits<int64_t>::max()},
      {all_[119].t_ms, all_[120].t_ms},
      {all_[120].t_ms, all_[120].t_ms},
      {all_[119].t_ms + 1, all_[240].t_ms - 1},
      {all_[239].t_ms, all_[240].t_ms},
      {all_[999].t_ms, all_[999].t_ms + 100},
      {all_[0].t_ms - 100, all_[0].t_ms},
      {all_[5].t_ms + 1, all_[6].t_ms - 1},  // between two samples: no series
      {all_[999].t_ms + 1, all_[999].t_ms + 100},
      {std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}};
  std::mt19937_64 rng(3);
  for (int i = 0; i < 200; ++i) {
    int64_t a = all_[0].t_ms - 50 + static_cast<int64_t>(rng() % 11'200);
    int64_t b = a + static_cast<int64_t>(rng() % 3000);
    ranges.push_back({a, b});
  }
  for (const auto& [lo, hi] : ranges) {
    SCOPED_TRACE(::testing::Message() << "range " << lo << ".." << hi);
    auto r = storage_.Select({}, lo, hi);
    ASSERT_TRUE(r.ok()) << r.status();
    std::vector<Sample> want = Filter(all_, lo, hi);
    if (want.empty()) {
      EXPECT_THAT(*r, SizeIs(0));
      continue;
    }
    ASSERT_THAT(*r, SizeIs(1));
    EXPECT_EQ((*r)[0].labels, labels_);
    ASSERT_NO_FATAL_FAILURE(ExpectSameSamples((*r)[0].samples, want));
  }
}

TEST_F(ChunkedStorageTest, IteratorSeekAndAtOrBefore) {
  // Seek to every sample's time and between samples, from a fresh iterator each time.
  for (size_t i = 0; i < all_.size(); i += 7) {
    auto q = storage_.Query({}, 0, std::numeric_limits<int64_t>::max());
    ASSERT_TRUE(q.ok());
    ASSERT_THAT(*q, SizeIs(1));
    SeriesIterator& it = (*q)[0].samples;
    // Samples are at least 10 ms apart, so t_i - 1 is after sample i-1: Seek lands on i.
    ASSERT_TRUE(it.Seek(all_[i].t_ms - 1));
    EXPECT_EQ(it.At().t_ms, all_[i].t_ms);
    ASSERT_TRUE(it.Seek(all_[i].t_ms));
    EXPECT_EQ(it.At().t_ms, all_[i].t_ms);
    if (i + 1 < all_.size()) {
      ASSERT_TRUE(it.Next());
      EXPECT_EQ(it.At().t_ms, all_[i + 1].t_ms);
    }
  }
  // Forward seeks over one iterator, skipping chunks.
  auto q = storage_.Query({}, 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(q.ok());
  SeriesIterator& it = (*q)[0].samples;
  for (size_t i : {3u, 130u, 131u, 600u, 999u}) {
    ASSERT_TRUE(it.Seek(all_[i].t_ms));
    EXPECT_EQ(it.At().t_ms, all_[i].t_ms);
    EXPECT_EQ(std::bit_cast<uint64_t>(it.At().v), std::bit_cast<uint64_t>(all_[i].v));
  }
  EXPECT_FALSE(it.Seek(all_[999].t_ms + 1));
  EXPECT_FALSE(it.Next());
  EXPECT_TRUE(it.status().ok());

  // AtOrBefore at increasing times (an instant query's steps), against a linear scan.
  auto q2 = storage_.Query({}, all_[50].t_ms, all_[900].t_ms);
  ASSERT_TRUE(q2.ok());
  SeriesIterator& it2 = (*q2)[0].samples;
  for (int64_t t = all_[0].t_ms - 5; t < all_[999].t_ms + 50; t += 13) {
    const Sample* want = nullptr;
    for (const Sample& s : all_) {
      if (s.t_ms >= all_[50].t_ms && s.t_ms <= all_[900].t_ms && s.t_ms <= t) want = &s;
    }
    Sample got;
    const bool found = it2.AtOrBefore(t, &got);
    ASSERT_EQ(found, want != nullptr) << "t=" << t;
    if (found) {
      ASSERT_EQ(got.t_ms, want->t_ms) << "t=" << t;
      ASSERT_EQ(std::bit_cast<uint64_t>(got.v), std::bit_cast<uint64_t>(want->v)) << "t=" << t;
    }
  }
}

TEST_F(ChunkedStorageTest, IteratorIsASnapshot) {
  auto q = storage_.Query({}, 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(q.ok());
  // Appends and a compaction after the query do not change what the iterator reads.
  auto app = storage_.NewAppender();
  ASSERT_EQ(app->Append(labels_, all_.back().t_ms + 10, 1), AppendError::kNone);
  ASSERT_TRUE(app->Commit().ok());
  storage_.Compact();
  std::vector<Sample> got;
  while ((*q)[0].samples.Next()) got.push_back((*q)[0].samples.At());
  ExpectSameSamples(got, all_);
}

TEST(MemStorageRetention, CompactDropsWholeChunks) {
  MemStorage storage(/*retention_ms=*/1000);
  Labels l{{"__name__", "m"}};
  auto app = storage.NewAppender();
  // 300 samples 10 ms apart: chunks [0, 1190], [1200, 2390], [2400, 2990].
  for (int i = 0; i < 300; ++i) ASSERT_EQ(app->Append(l, i * 10, i), AppendError::kNone);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(storage.NumSamples(), 300u);
  // Cut-off 2990 - 1000 = 1990: the first chunk (ending at 1190) goes, the second stays.
  EXPECT_EQ(storage.Compact(), 0u);
  EXPECT_EQ(storage.NumSamples(), 180u);
  auto r = storage.Select({}, 0, 10'000);
  ASSERT_TRUE(r.ok());
  ASSERT_THAT(*r, SizeIs(1));
  // Reads stop at the cut-off: 1990..2990 is samples 199..299.
  ASSERT_THAT((*r)[0].samples, SizeIs(101));
  EXPECT_EQ((*r)[0].samples.front().t_ms, 1990);
  EXPECT_EQ((*r)[0].samples.front().v, 199);
  EXPECT_EQ((*r)[0].samples.back().t_ms, 2990);
  // Nothing below the cut-off, even for a range entirely before it.
  auto before = storage.Select({}, 0, 1989);
  ASSERT_TRUE(before.ok());
  EXPECT_THAT(*before, SizeIs(0));
  // Time moves on: 4500 - 1000 = 3500 drops every chunk and the series.
  ASSERT_EQ(app->Append(Labels{{"__name__", "other"}}, 4500, 1), AppendError::kNone);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(storage.Compact(), 1u);
  EXPECT_EQ(storage.NumSeries(), 1u);
  EXPECT_EQ(storage.NumSamples(), 1u);
  // A compaction with nothing to drop changes nothing.
  EXPECT_EQ(storage.Compact(), 0u);
  EXPECT_EQ(storage.NumSamples(), 1u);
}

TEST(MemStorageRetention, PerNameRetentionKeepsOnlyThoseNamesLonger) {
  MemStorage storage;
  // Default 1000 ms; "long" keeps 2500 ms.
  storage.SetRetention(1000, {{"long", 2500}});
  EXPECT_EQ(storage.retention_ms(), 2500);  // the longest: appends and reads use it
  Labels short_l{{"__name__", "short"}}, long_l{{"__name__", "long"}};
  auto app = storage.NewAppender();
  // 300 samples each, 10 ms apart: chunks [0, 1190], [1200, 2390], [2400, 2990].
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(app->Append(short_l, i * 10, i), AppendError::kNone);
    ASSERT_EQ(app->Append(long_l, i * 10, i), AppendError::kNone);
  }
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(storage.NumSamples(), 600u);
  // "short": cut-off 2990 - 1000 = 1990, its first chunk goes (120 samples); "long": cut-off
  // 2990 - 2500 = 490, nothing goes (its first chunk ends at 1190).
  EXPECT_EQ(storage.Compact(), 0u);
  EXPECT_EQ(storage.NumSamples(), 480u);
  auto r = storage.Select({{Matcher::Type::kEqual, "__name__", "long"}}, 0, 10'000);
  ASSERT_TRUE(r.ok());
  ASSERT_THAT(*r, SizeIs(1));
  EXPECT_EQ((*r)[0].samples.front().t_ms, 490);  // reads stop at the longest cut-off
  // Later: 5000 - 1000 = 4000 removes "short" entirely; "long" (cut-off 2500) keeps its last
  // chunk [2400, 2990].
  ASSERT_EQ(app->Append(Labels{{"__name__", "other"}}, 5000, 1), AppendError::kNone);
  ASSERT_TRUE(app->Commit().ok());
  EXPECT_EQ(storage.Compact(), 1u);
  EXPECT_EQ(storage.NumSeries(), 2u);  // "long" and "other"
  EXPECT_EQ(storage.NumSamples(), 60u + 1u);
  // SetRetention(ms) clears the per-name retentions.
  storage.SetRetention(1000);
  EXPECT_EQ(storage.retention_ms(), 1000);
  EXPECT_EQ(storage.Compact(), 1u);  // "long" (newest 2990 < 4000) goes too
  EXPECT_EQ(storage.NumSeries(), 1u);
}

TEST(MemStorageMemory, RegularScrapesTakeFewBytesPerSample) {
  MemStorage storage(/*retention_ms=*/1'000'000'000);
  constexpr int kSeries = 300;
  constexpr int kSamples = 240;
  for (int t = 0; t < kSamples; ++t) {
    auto app = storage.NewAppender();
    for (int s = 0; s < kSeries; ++s) {
      Labels l{{"__name__", "m"}, {"i", std::to_string(s)}};
      const double v = s % 3 == 0 ? 1 : (s % 3 == 1 ? t * 3.0 + s : 100 + (t * s) % 7);
      ASSERT_EQ(app->Append(l, 1'700'000'000'000 + t * 15'000, v), AppendError::kNone);
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  ASSERT_EQ(storage.NumSamples(), static_cast<size_t>(kSeries * kSamples));
  const double per_sample = static_cast<double>(storage.MemoryBytes()) / storage.NumSamples();
  // The plain layout needs 16 bytes per sample before labels and vector slack.
  EXPECT_LT(per_sample, 6.0);
  EXPECT_GT(per_sample, 0.2);
}

TEST(MemStorageConcurrency, AppendQueryCompactTogether) {
  MemStorage storage(/*retention_ms=*/50'000);
  std::atomic<bool> stop{false};
  // One writer (three series per commit, so every series ends at the same time), a compactor
  // and two readers at once. Many writers are covered by MemStorageTest.ConcurrentAppenders.
  std::thread writer([&storage] {
    for (int t = 0; t < 3000; ++t) {
      auto app = storage.NewAppender();
      // v = t * 2 (so readers can check each sample on its own); every 100th is stale.
      const double v = t % 100 == 99 ? StaleNaN() : t * 2.0;
      for (int w = 0; w < 3; ++w) {
        Labels l{{"__name__", "m"}, {"w", std::to_string(w)}};
        EXPECT_EQ(app->Append(l, t * 100, v), AppendError::kNone);
      }
      EXPECT_TRUE(app->Commit().ok());
    }
  });
  std::thread compactor([&] {
    while (!stop.load()) storage.Compact();
  });
  auto read = [&] {
    while (!stop.load()) {
      auto q = storage.Query({}, 0, std::numeric_limits<int64_t>::max());
      ASSERT_TRUE(q.ok());
      for (SeriesCursor& c : *q) {
        int64_t last = -1;
        while (c.samples.Next()) {
          const Sample s = c.samples.At();
          ASSERT_GT(s.t_ms, last);
          last = s.t_ms;
          const int64_t t = s.t_ms / 100;
          if (t % 100 == 99) {
            ASSERT_TRUE(IsStaleNaN(s.v));
          } else {
            ASSERT_EQ(s.v, t * 2.0);
          }
        }
        ASSERT_TRUE(c.samples.status().ok());
      }
    }
  };
  std::thread reader1(read);
  std::thread reader2(read);
  writer.join();
  stop.store(true);
  compactor.join();
  reader1.join();
  reader2.join();
  EXPECT_EQ(storage.NumSeries(), 3u);
  storage.Compact();
  // Newest t = 299900; cut-off 249900. Chunks hold 120 samples (12000 ms): the kept ones start
  // at the chunk holding 249900, i.e. samples from 240000 (chunk 20 starts at 20 * 12000).
  auto r = storage.Select({}, 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(r.ok());
  ASSERT_THAT(*r, SizeIs(3));
  for (const Series& s : *r) {
    ASSERT_FALSE(s.samples.empty());
    EXPECT_EQ(s.samples.front().t_ms, 249'900);
    EXPECT_EQ(s.samples.back().t_ms, 299'900);
  }
  EXPECT_EQ(storage.NumSamples(), 3u * (3000 - 2400));
}

}  // namespace
}  // namespace stakewatch::tsdb
