// /metrics rendering at scale: stakewatch's SeriesStore against prometheus-cpp 1.0.1, building
// and rendering the same 1,000,000 gauges with two labels (group = one of 10, validator = index).
//
//   bench_render --benchmark_min_time=0.5
//
// Reported counters: bytes = exposition size; rss_mb = resident set after the store is built
// (process-wide, so it includes whatever earlier benchmarks left behind); store_mb = the store's
// own accounting (SeriesStore::MemoryBytes).
#include <benchmark/benchmark.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <unistd.h>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "exposition/series_store.h"

namespace {

using stakewatch::exposition::Family;
using stakewatch::exposition::Format;
using stakewatch::exposition::SeriesStore;

constexpr int kSeries = 1'000'000;
constexpr int kGroups = 10;

double RssMb() {
  long pages = 0, resident = 0;
  if (FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1048576.0;
}

const std::vector<std::string>& GroupNames() {
  static const auto* names = [] {
    auto* v = new std::vector<std::string>;
    for (int g = 0; g < kGroups; ++g) v->push_back("group" + std::to_string(g));
    return v;
  }();
  return *names;
}

double ValueOf(int i) { return 32e9 + static_cast<double>(i % 1000); }

std::unique_ptr<SeriesStore> BuildStore() {
  auto store = std::make_unique<SeriesStore>();
  Family* f = store
                  ->AddFamily({.name = "eth_validator_balance_gwei",
                               .help = "Validator balance in Gwei.",
                               .label_names = {"group", "validator"}})
                  .value();
  Family::Writer w(f);
  std::string index;
  for (int i = 0; i < kSeries; ++i) {
    index = std::to_string(i);
    w.Set(w.GetOrCreate({GroupNames()[i % kGroups], index}), ValueOf(i));
  }
  return store;
}

void BM_Stakewatch_Build(benchmark::State& state) {
  for (auto _ : state) {
    auto store = BuildStore();
    benchmark::DoNotOptimize(store.get());
    state.PauseTiming();
    state.counters["store_mb"] = static_cast<double>(store->MemoryBytes()) / 1048576.0;
    state.counters["bytes_per_series"] = static_cast<double>(store->MemoryBytes()) / kSeries;
    store.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_Stakewatch_Build)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Stakewatch_Update(benchmark::State& state) {
  // Updating every existing series through GetOrCreate (the accounting path each epoch).
  static auto* store = BuildStore().release();
  Family* f = store->FindFamily("eth_validator_balance_gwei");
  double bump = 0;
  std::string index;
  for (auto _ : state) {
    Family::Writer w(f);
    bump += 1;
    for (int i = 0; i < kSeries; ++i) {
      index = std::to_string(i);
      w.Set(w.GetOrCreate({GroupNames()[i % kGroups], index}), ValueOf(i) + bump);
    }
  }
}
BENCHMARK(BM_Stakewatch_Update)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Stakewatch_Render(benchmark::State& state) {
  const double rss_before = RssMb();
  auto store = BuildStore();
  const double rss_built = RssMb();
  std::string body;
  for (auto _ : state) {
    body.clear();
    store->Render(state.range(0) ? Format::kOpenMetrics100 : Format::kText004, &body);
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["bytes"] = static_cast<double>(body.size());
  state.counters["store_rss_mb"] = rss_built - rss_before;
  state.counters["rss_mb"] = RssMb();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_Stakewatch_Render)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Stakewatch_RenderFreshBuffer(benchmark::State& state) {
  // As a scrape handler would do it: a new std::string each time.
  auto store = BuildStore();
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body;
    store->Render(Format::kText004, &body);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Stakewatch_RenderFreshBuffer)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PrometheusCpp_Build(benchmark::State& state) {
  for (auto _ : state) {
    auto registry = std::make_unique<prometheus::Registry>();
    auto& family = prometheus::BuildGauge()
                       .Name("eth_validator_balance_gwei")
                       .Help("Validator balance in Gwei.")
                       .Register(*registry);
    for (int i = 0; i < kSeries; ++i) {
      family.Add({{"group", GroupNames()[i % kGroups]}, {"validator", std::to_string(i)}})
          .Set(ValueOf(i));
    }
    benchmark::DoNotOptimize(registry.get());
    state.PauseTiming();
    registry.reset();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_PrometheusCpp_Build)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

void BM_PrometheusCpp_CollectSerialize(benchmark::State& state) {
  const double rss_before = RssMb();
  auto registry = std::make_unique<prometheus::Registry>();
  auto& family = prometheus::BuildGauge()
                     .Name("eth_validator_balance_gwei")
                     .Help("Validator balance in Gwei.")
                     .Register(*registry);
  for (int i = 0; i < kSeries; ++i) {
    family.Add({{"group", GroupNames()[i % kGroups]}, {"validator", std::to_string(i)}})
        .Set(ValueOf(i));
  }
  const double rss_built = RssMb();
  prometheus::TextSerializer serializer;
  size_t bytes = 0;
  for (auto _ : state) {
    std::string body = serializer.Serialize(registry->Collect());
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["store_rss_mb"] = rss_built - rss_before;
  state.counters["rss_mb"] = RssMb();
}
BENCHMARK(BM_PrometheusCpp_CollectSerialize)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
