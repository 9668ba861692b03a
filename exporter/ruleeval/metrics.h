// The rule engine's self-metrics: Prometheus 2.42's rules/manager.go metrics with the prefix
// `stakewatch_` instead of `prometheus_`, as families of stakewatch's series store (so they are
// served on /metrics with everything else). Per-group series carry rule_group="<file>;<group>"
// as in Prometheus.
//
// Differences from Prometheus: rule_evaluation_duration_seconds and
// rule_group_duration_seconds are histograms (the store has no summaries; Prometheus exports
// summaries with quantiles), and the series of a group removed at reload stay exported with
// their last values (the store cannot delete one series) — their rule_group_rules is set to 0.
//
// Owned by the Manager; the store must outlive it. The store is thread-safe, so any thread may
// update the metrics; ForGroup/RemoveGroup may be called from any thread too.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "exposition/series_store.h"

namespace stakewatch::ruleeval {

// Handles to one series of a store family.
class CounterHandle {
 public:
  CounterHandle(exposition::Family* f, exposition::SeriesId id) : f_(f), id_(id) {}
  void Increment(double d = 1) const { f_->Add(id_, d); }

 private:
  exposition::Family* f_;
  exposition::SeriesId id_;
};

class GaugeHandle {
 public:
  GaugeHandle(exposition::Family* f, exposition::SeriesId id) : f_(f), id_(id) {}
  void Set(double v) const { f_->Set(id_, v); }
  double Value() const { return f_->Value(id_); }

 private:
  exposition::Family* f_;
  exposition::SeriesId id_;
};

class HistogramHandle {
 public:
  HistogramHandle(exposition::Family* f, exposition::SeriesId id) : f_(f), id_(id) {}
  void Observe(double v) const { f_->Observe(id_, v); }

 private:
  exposition::Family* f_;
  exposition::SeriesId id_;
};

class RuleMetrics {
 public:
  // The per-group series (all non-null; owned by RuleMetrics, valid for its lifetime).
  struct Group {
    const CounterHandle* evaluations = nullptr;          // rule_evaluations_total
    const CounterHandle* evaluation_failures = nullptr;  // rule_evaluation_failures_total
    const CounterHandle* iterations = nullptr;           // rule_group_iterations_total
    const CounterHandle* iterations_missed = nullptr;    // rule_group_iterations_missed_total
    const GaugeHandle* interval_seconds = nullptr;       // rule_group_interval_seconds
    const GaugeHandle* last_evaluation_timestamp = nullptr;
    const GaugeHandle* last_duration = nullptr;
    const GaugeHandle* rules = nullptr;
    const GaugeHandle* last_samples = nullptr;
  };

  // Registers the families in `store`; fails if one of the names is already registered.
  static absl::StatusOr<std::unique_ptr<RuleMetrics>> Create(exposition::SeriesStore* store);
  ~RuleMetrics();
  RuleMetrics(const RuleMetrics&) = delete;
  RuleMetrics& operator=(const RuleMetrics&) = delete;

  // The series of group `key` ("<file>;<name>"), created on first use.
  Group ForGroup(const std::string& key);
  // Marks group `key` removed (its rule count becomes 0; see the file comment).
  void RemoveGroup(const std::string& key);

  const HistogramHandle& evaluation_duration() const { return *eval_duration_; }
  const HistogramHandle& group_duration() const { return *group_duration_; }
  const GaugeHandle& reload_successful() const { return *reload_ok_; }
  const GaugeHandle& reload_success_timestamp() const { return *reload_ts_; }
  const CounterHandle& state_write_errors() const { return *state_errors_; }

 private:
  struct GroupSeries;
  RuleMetrics() = default;

  std::unique_ptr<CounterHandle> state_errors_;
  exposition::Family* evals_ = nullptr;
  exposition::Family* failures_ = nullptr;
  exposition::Family* iterations_ = nullptr;
  exposition::Family* missed_ = nullptr;
  exposition::Family* interval_ = nullptr;
  exposition::Family* last_eval_ = nullptr;
  exposition::Family* last_duration_ = nullptr;
  exposition::Family* rules_ = nullptr;
  exposition::Family* samples_ = nullptr;
  std::unique_ptr<HistogramHandle> eval_duration_;
  std::unique_ptr<HistogramHandle> group_duration_;
  std::unique_ptr<GaugeHandle> reload_ok_;
  std::unique_ptr<GaugeHandle> reload_ts_;

  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<GroupSeries>> groups_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stakewatch::ruleeval
