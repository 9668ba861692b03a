// MemStorage (XOR chunks) beside the plain layout it replaced (a hash map from Labels to a
// vector of 16-byte samples, with the same lock), on the same data: append throughput, Select
// throughput over everything and over the last 5 minutes, and bytes per sample.
//
// Data (built once): 100k series, 130 samples each (one closed chunk of 120 and a head of 10),
// 15 s apart with a few ms of scrape jitter; a third counters (small random increments), a
// third gauges (validator balances in gwei around 32e9 with small moves), a third constant (1).
// BM_AppendChunked goes through MemStorage's Appender, one Commit per scrape time across all
// series as the scrape loop does; BM_AppendPlain and BM_AppendChunkLayoutOnly append straight
// into the two layouts (no appender queue or checks), so they compare the layouts alone.
// bytes_per_sample = the store's heap estimate (labels, map and samples) / samples.
#include <benchmark/benchmark.h>

#include <bit>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "tsdb/storage.h"

namespace {

using stakewatch::tsdb::AppendError;
using stakewatch::tsdb::Label;
using stakewatch::tsdb::Labels;
using stakewatch::tsdb::MemStorage;
using stakewatch::tsdb::Sample;
using stakewatch::tsdb::Series;
using stakewatch::tsdb::XorChunk;

constexpr int kSeries = 100'000;
constexpr int kSamples = 130;
constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kStep = 15'000;

struct Data {
  std::vector<Labels> labels;
  std::vector<std::vector<int64_t>> t;  // [sample][series]: jitter differs per target
  std::vector<std::vector<double>> v;   // [sample][series]
  size_t samples() const { return labels.size() * t.size(); }
};

const Data& GetData() {
  static const Data* data = [] {
    auto* d = new Data;
    std::mt19937_64 rng(42);
    for (int s = 0; s < kSeries; ++s) {
      const char* name = s % 3 == 0 ? "eth_attestations_total"
                                    : (s % 3 == 1 ? "eth_validator_balance_gwei" : "eth_up");
      d->labels.push_back(Labels{{"__name__", name},
                                 {"instance", "node-" + std::to_string(s % 16) + ":8080"},
                                 {"job", "validators"},
                                 {"index", std::to_string(s)}});
    }
    std::vector<double> current(kSeries);
    for (int s = 0; s < kSeries; ++s) {
      current[s] = s % 3 == 1 ? 32e9 + static_cast<double>(rng() % 2'000'000'000) : 1;
    }
    for (int i = 0; i < kSamples; ++i) {
      std::vector<int64_t> ts(kSeries);
      std::vector<double> vs(kSeries);
      for (int s = 0; s < kSeries; ++s) {
        ts[s] = kStart + i * kStep + static_cast<int64_t>(rng() % 5);  // scrape jitter
        if (s % 3 == 0) current[s] += static_cast<double>(rng() % 4);
        if (s % 3 == 1 && rng() % 2 == 0) {
          current[s] += static_cast<double>(static_cast<int64_t>(rng() % 20'000) - 5'000);
        }
        vs[s] = current[s];
      }
      d->t.push_back(std::move(ts));
      d->v.push_back(std::move(vs));
    }
    return d;
  }();
  return *data;
}

void Fill(MemStorage& storage, const Data& d) {
  for (size_t i = 0; i < d.t.size(); ++i) {
    auto app = storage.NewAppender();
    for (size_t s = 0; s < d.labels.size(); ++s) {
      if (app->Append(d.labels[s], d.t[i][s], d.v[i][s]) != AppendError::kNone) std::abort();
    }
    if (!app->Commit().ok()) std::abort();
  }
}

// The layout MemStorage had before chunks: one vector of 16-byte samples per series.
class PlainStore {
 public:
  struct Hash {
    size_t operator()(const Labels& l) const { return static_cast<size_t>(l.Hash()); }
  };
  // One scrape: validate and append every sample under the lock (as the old Commit did).
  void AppendScrape(const Data& d, size_t i) {
    absl::MutexLock lock(&mu_);
    for (size_t s = 0; s < d.labels.size(); ++s) {
      std::vector<Sample>& v = series_[d.labels[s]];
      if (!v.empty() && d.t[i][s] <= v.back().t_ms) std::abort();
      v.push_back(Sample{d.t[i][s], d.v[i][s]});
    }
  }
  std::vector<Series> Select(int64_t min_t, int64_t max_t) const {
    std::vector<Series> out;
    absl::MutexLock lock(&mu_);
    for (const auto& [labels, samples] : series_) {
      auto lo = std::lower_bound(samples.begin(), samples.end(), min_t,
                                 [](const Sample& s, int64_t t) { return s.t_ms < t; });
      auto hi = std::upper_bound(samples.begin(), samples.end(), max_t,
                                 [](int64_t t, const Sample& s) { return t < s.t_ms; });
      if (lo < hi) out.push_back(Series{labels, std::vector<Sample>(lo, hi)});
    }
    std::sort(out.begin(), out.end(),
              [](const Series& a, const Series& b) { return a.labels < b.labels; });
    return out;
  }
  // Same heap model as MemStorage::MemoryBytes.
  size_t MemoryBytes() const {
    absl::MutexLock lock(&mu_);
    using Slot = std::pair<const Labels, std::vector<Sample>>;
    size_t bytes = series_.capacity() * (sizeof(Slot) + 1);
    for (const auto& [labels, v] : series_) {
      bytes += labels.items().capacity() * sizeof(Label);
      for (const Label& l : labels) {
        if (l.name.capacity() > 15) bytes += l.name.capacity() + 1;
        if (l.value.capacity() > 15) bytes += l.value.capacity() + 1;
      }
      bytes += v.capacity() * sizeof(Sample);
    }
    return bytes;
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_map<Labels, std::vector<Sample>, Hash> series_;
};

void BM_AppendChunked(benchmark::State& state) {
  const Data& d = GetData();
  size_t bytes = 0;
  size_t samples = 0;
  for (auto _ : state) {
    auto storage = std::make_unique<MemStorage>(int64_t{1} << 40);
    Fill(*storage, d);
    state.PauseTiming();
    bytes = storage->MemoryBytes();
    samples = storage->NumSamples();
    storage.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.samples()));
  state.counters["bytes_per_sample"] = static_cast<double>(bytes) / static_cast<double>(samples);
}
BENCHMARK(BM_AppendChunked)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// The chunk layout alone, without the appender (no queue, no per-sample checks), to compare
// with BM_AppendPlain, which also has none: the encoding's own cost.
void BM_AppendChunkLayoutOnly(benchmark::State& state) {
  struct ChunkSeries {
    std::vector<std::shared_ptr<const XorChunk>> closed;
    XorChunk head;
  };
  const Data& d = GetData();
  for (auto _ : state) {
    auto store = std::make_unique<absl::flat_hash_map<Labels, ChunkSeries, PlainStore::Hash>>();
    for (size_t i = 0; i < d.t.size(); ++i) {
      for (size_t s = 0; s < d.labels.size(); ++s) {
        ChunkSeries& cs = (*store)[d.labels[s]];
        if (cs.head.num_samples() >= stakewatch::tsdb::kSamplesPerChunk) {
          cs.head.Shrink();
          cs.closed.push_back(std::make_shared<const XorChunk>(std::move(cs.head)));
          cs.head = XorChunk();
        }
        cs.head.Append(d.t[i][s], d.v[i][s]);
      }
    }
    state.PauseTiming();
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.samples()));
}
BENCHMARK(BM_AppendChunkLayoutOnly)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// The plain layout with no appender: see BM_AppendChunkLayoutOnly.
void BM_AppendPlain(benchmark::State& state) {
  const Data& d = GetData();
  size_t bytes = 0;
  for (auto _ : state) {
    auto store = std::make_unique<PlainStore>();
    for (size_t i = 0; i < d.t.size(); ++i) store->AppendScrape(d, i);
    state.PauseTiming();
    bytes = store->MemoryBytes();
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * d.samples()));
  state.counters["bytes_per_sample"] =
      static_cast<double>(bytes) / static_cast<double>(d.samples());
}
BENCHMARK(BM_AppendPlain)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

const MemStorage& FilledChunked() {
  static const MemStorage* s = [] {
    auto* st = new MemStorage(int64_t{1} << 40);
    Fill(*st, GetData());
    return st;
  }();
  return *s;
}

const PlainStore& FilledPlain() {
  static const PlainStore* s = [] {
    auto* st = new PlainStore;
    const Data& d = GetData();
    for (size_t i = 0; i < d.t.size(); ++i) st->AppendScrape(d, i);
    return st;
  }();
  return *s;
}

// Arg 0: the whole range; arg 1: the last 5 minutes (20 samples, all in the head chunk).
int64_t RangeStart(int64_t arg) {
  return arg == 0 ? 0 : kStart + (kSamples - 1) * kStep - 5 * 60 * 1000 + 1;
}

void BM_SelectChunked(benchmark::State& state) {
  const MemStorage& st = FilledChunked();
  size_t n = 0;
  for (auto _ : state) {
    auto r = st.Select({}, RangeStart(state.range(0)), kStart + kSamples * kStep);
    if (!r.ok()) std::abort();
    n = 0;
    for (const Series& s : *r) n += s.samples.size();
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_SelectChunked)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_SelectPlain(benchmark::State& state) {
  const PlainStore& st = FilledPlain();
  size_t n = 0;
  for (auto _ : state) {
    auto r = st.Select(RangeStart(state.range(0)), kStart + kSamples * kStep);
    n = 0;
    for (const Series& s : r) n += s.samples.size();
    benchmark::DoNotOptimize(n);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_SelectPlain)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Query's iterators without materialising vectors: sum every sample in range.
void BM_QueryIterateChunked(benchmark::State& state) {
  const MemStorage& st = FilledChunked();
  size_t n = 0;
  for (auto _ : state) {
    auto r = st.Query({}, RangeStart(state.range(0)), kStart + kSamples * kStep);
    if (!r.ok()) std::abort();
    n = 0;
    double sum = 0;
    for (auto& c : *r) {
      while (c.samples.Next()) {
        sum += c.samples.At().v;
        ++n;
      }
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_QueryIterateChunked)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
