// The PromQL parser and engine (query/engine.h) at operator scale.
//
// Data (built once): 100,000 series of a validator fleet (a third attestation counters, a third
// balances in gwei, a third `up`-like constants), labelled by 16 instances and 8 groups, one
// sample every 15 s for 30 minutes (120 samples each, 12M samples).
//   BM_Parse                 parses a set of typical rule expressions (per expression).
//   BM_InstantSelector       `eth_validator_balance_gwei` at the end: 33k series, lookback.
//   BM_InstantRate           `rate(eth_attestations_total[5m])`: 33k windows of 20 samples.
//   BM_InstantSumByRate      `sum by (group) (rate(eth_attestations_total[5m]))`.
//   BM_InstantBinop          a one-to-one match of two 33k-series vectors with `on(index)`.
//   BM_RangeSumByRate        the same sum-by-rate as a range query over 20 minutes, step 1m.
//   BM_RuleGroupEval         one evaluation of a 6-rule validator group (4 recording rules, two
//                            alerts with `for` and templated annotations; the recordings feed
//                            the alerts), through ruleeval::Group as the daemon runs it.
// Items per second count series touched (instant) or series x steps (range).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "promql/parser.h"
#include "query/engine.h"
#include "ruleeval/group.h"
#include "rules/rulefmt.h"
#include "tsdb/storage.h"

namespace {

using stakewatch::query::Engine;
using stakewatch::tsdb::Labels;
using stakewatch::tsdb::MemStorage;

constexpr int kSeries = 100'000;
constexpr int kSamples = 120;
constexpr int64_t kStart = 1'700'000'000'000;
constexpr int64_t kStep = 15'000;
constexpr int64_t kEnd = kStart + (kSamples - 1) * kStep;

MemStorage& GetStorage() {
  static MemStorage* storage = [] {
    auto* s = new MemStorage(24 * 3600 * 1000);
    std::vector<Labels> labels;
    labels.reserve(kSeries);
    for (int i = 0; i < kSeries; ++i) {
      const char* name = i % 3 == 0 ? "eth_attestations_total"
                                    : (i % 3 == 1 ? "eth_validator_balance_gwei" : "eth_up");
      labels.push_back(Labels{{"__name__", name},
                              {"group", "g" + std::to_string(i % 8)},
                              {"index", std::to_string(i / 3)},
                              {"instance", "node-" + std::to_string(i % 16) + ":8080"},
                              {"job", "validators"}});
    }
    std::mt19937_64 rng(7);
    std::vector<double> v(kSeries);
    for (int i = 0; i < kSeries; ++i) v[i] = i % 3 == 1 ? 32e9 : 1;
    for (int k = 0; k < kSamples; ++k) {
      auto app = s->NewAppender();
      for (int i = 0; i < kSeries; ++i) {
        if (i % 3 == 0) v[i] += static_cast<double>(rng() % 3);
        if (i % 3 == 1) v[i] += static_cast<double>(rng() % 20'000) - 5'000;
        app->Append(labels[i], kStart + k * kStep, v[i]);
      }
      (void)app->Commit();
    }
    return s;
  }();
  return *storage;
}

void BM_Parse(benchmark::State& state) {
  const std::vector<std::string> exprs = {
      "sum by (group) (rate(eth_attestations_total[5m]))",
      "increase(eth_validator_missed_attestations_total{group=~\"lido|solo\"}[1h]) > 3",
      "histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))",
      "(eth_validator_balance_gwei - eth_validator_balance_gwei offset 1d) / 1e9 < 0 and on "
      "(index) eth_validator_active == 1",
      "predict_linear(node_filesystem_avail_bytes{fstype!~\"tmpfs|overlay\"}[6h], 4 * 3600) < 0",
      "max_over_time(rate(stakewatch_rule_evaluation_failures_total[5m])[30m:1m]) > 0",
  };
  size_t i = 0;
  for (auto _ : state) {
    auto e = stakewatch::promql::ParseExpr(exprs[i++ % exprs.size()]);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Parse);

void RunInstant(benchmark::State& state, const char* q, int series) {
  MemStorage& s = GetStorage();
  Engine engine;
  auto expr = stakewatch::promql::ParseExpr(q);
  if (!expr.ok()) {
    state.SkipWithError("parse");
    return;
  }
  for (auto _ : state) {
    auto v = engine.Instant(**expr, kEnd, s);
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetItemsProcessed(state.iterations() * series);
}

void BM_InstantSelector(benchmark::State& state) {
  RunInstant(state, "eth_validator_balance_gwei", kSeries / 3);
}
BENCHMARK(BM_InstantSelector)->Unit(benchmark::kMillisecond);

void BM_InstantRate(benchmark::State& state) {
  RunInstant(state, "rate(eth_attestations_total[5m])", kSeries / 3);
}
BENCHMARK(BM_InstantRate)->Unit(benchmark::kMillisecond);

void BM_InstantSumByRate(benchmark::State& state) {
  RunInstant(state, "sum by (group) (rate(eth_attestations_total[5m]))", kSeries / 3);
}
BENCHMARK(BM_InstantSumByRate)->Unit(benchmark::kMillisecond);

void BM_InstantBinop(benchmark::State& state) {
  RunInstant(state, "eth_validator_balance_gwei / on(index) eth_attestations_total",
             2 * kSeries / 3);
}
BENCHMARK(BM_InstantBinop)->Unit(benchmark::kMillisecond);

void BM_RangeSumByRate(benchmark::State& state) {
  MemStorage& s = GetStorage();
  Engine engine;
  constexpr int64_t kRange = 20 * 60 * 1000, kQueryStep = 60 * 1000;
  for (auto _ : state) {
    auto m = engine.Range("sum by (group) (rate(eth_attestations_total[5m]))", kEnd - kRange, kEnd,
                          kQueryStep, s);
    if (!m.ok()) {
      state.SkipWithError(std::string(m.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations() * (kSeries / 3) * (kRange / kQueryStep + 1));
}
BENCHMARK(BM_RangeSumByRate)->Unit(benchmark::kMillisecond);

void BM_RuleGroupEval(benchmark::State& state) {
  MemStorage& s = GetStorage();
  Engine engine;
  auto rule = [](std::string record, std::string alert, std::string expr) {
    stakewatch::rules::Rule r;
    r.record = std::move(record);
    r.alert = std::move(alert);
    r.expr = std::move(expr);
    if (!r.alert.empty()) {
      r.for_duration = absl::Minutes(5);
      r.labels = {{"severity", "warning"}};
      r.annotations = {{"summary", "{{ $labels.group }}: {{ $value | humanize }}"}};
    }
    return r;
  };
  stakewatch::rules::RuleGroup spec;
  spec.name = "validators";
  spec.interval = absl::Seconds(15);
  spec.rules = {
      rule("group:attestations:rate5m", "", "sum by (group) (rate(eth_attestations_total[5m]))"),
      rule("group:balance_gwei:sum", "", "sum by (group) (eth_validator_balance_gwei)"),
      rule("instance:up:count", "", "count by (instance) (eth_up == 1)"),
      rule("group:balance_gwei:delta10m", "",
           "sum by (group) (delta(eth_validator_balance_gwei[10m]))"),
      rule("", "AttestationRateLow", "group:attestations:rate5m < 1000"),
      rule("", "BalanceFalling", "group:balance_gwei:delta10m < 0"),
  };
  stakewatch::ruleeval::GroupOptions o;
  o.storage = &s;
  o.query = [&engine, &s](const stakewatch::promql::Expr& e, std::string_view,
                          int64_t ts) -> absl::StatusOr<stakewatch::query::Vector> {
    auto v = engine.Instant(e, ts, s);
    if (!v.ok()) return v.status();
    if (auto* vec = std::get_if<stakewatch::query::Vector>(&*v)) return std::move(*vec);
    return absl::InvalidArgumentError("rule result is not a vector or scalar");
  };
  auto group = stakewatch::ruleeval::Group::Create(spec, "bench.yml", o);
  if (!group.ok()) {
    state.SkipWithError(std::string(group.status().message()).c_str());
    return;
  }
  const absl::Time ts = absl::FromUnixMillis(kEnd);
  for (auto _ : state) (*group)->Eval(ts);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(spec.rules.size()));
}
BENCHMARK(BM_RuleGroupEval)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
