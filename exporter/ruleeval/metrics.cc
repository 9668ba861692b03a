#include "ruleeval/metrics.h"

#include <map>
#include <memory>
#include <utility>

#include "common/status_macros.h"

namespace stakewatch::ruleeval {

struct RuleMetrics::GroupSeries {
  CounterHandle evaluations, evaluation_failures, iterations, iterations_missed;
  GaugeHandle interval_seconds, last_evaluation_timestamp, last_duration, rules, last_samples;
};

namespace {

using exposition::FamilyDesc;
using exposition::MetricType;

// Seconds, from 1 ms to about 1 minute (rule evaluations are milliseconds; a slow one matters).
std::vector<double> DurationBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace

absl::StatusOr<std::unique_ptr<RuleMetrics>> RuleMetrics::Create(exposition::SeriesStore* store) {
  std::unique_ptr<RuleMetrics> m(new RuleMetrics());
  auto add = [store](std::string name, std::string help, MetricType type,
                     std::vector<std::string> labels) {
    FamilyDesc d;
    d.name = std::move(name);
    d.help = std::move(help);
    d.type = type;
    d.label_names = std::move(labels);
    if (type == MetricType::kHistogram) d.buckets = DurationBuckets();
    return store->AddFamily(std::move(d));
  };
  const std::vector<std::string> kGroup = {"rule_group"};
  ASSIGN_OR_RETURN(m->evals_,
                   add("stakewatch_rule_evaluations_total", "The total number of rule evaluations.",
                       MetricType::kCounter, kGroup));
  ASSIGN_OR_RETURN(m->failures_, add("stakewatch_rule_evaluation_failures_total",
                                     "The total number of rule evaluation failures.",
                                     MetricType::kCounter, kGroup));
  ASSIGN_OR_RETURN(m->iterations_,
                   add("stakewatch_rule_group_iterations_total",
                       "The total number of scheduled rule group evaluations, whether executed "
                       "or missed.",
                       MetricType::kCounter, kGroup));
  ASSIGN_OR_RETURN(m->missed_, add("stakewatch_rule_group_iterations_missed_total",
                                   "The total number of rule group evaluations missed due to slow "
                                   "rule group evaluation.",
                                   MetricType::kCounter, kGroup));
  ASSIGN_OR_RETURN(m->interval_, add("stakewatch_rule_group_interval_seconds",
                                     "The interval of a rule group.", MetricType::kGauge, kGroup));
  ASSIGN_OR_RETURN(m->last_eval_, add("stakewatch_rule_group_last_evaluation_timestamp_seconds",
                                      "The timestamp of the last rule group evaluation in seconds.",
                                      MetricType::kGauge, kGroup));
  ASSIGN_OR_RETURN(m->last_duration_, add("stakewatch_rule_group_last_duration_seconds",
                                          "The duration of the last rule group evaluation.",
                                          MetricType::kGauge, kGroup));
  ASSIGN_OR_RETURN(m->rules_, add("stakewatch_rule_group_rules", "The number of rules.",
                                  MetricType::kGauge, kGroup));
  ASSIGN_OR_RETURN(m->samples_,
                   add("stakewatch_rule_group_last_evaluation_samples",
                       "The number of samples returned during the last rule group evaluation.",
                       MetricType::kGauge, kGroup));
  ASSIGN_OR_RETURN(exposition::Family * eval_duration,
                   add("stakewatch_rule_evaluation_duration_seconds",
                       "The duration for a rule to execute.", MetricType::kHistogram, {}));
  ASSIGN_OR_RETURN(exposition::Family * group_duration,
                   add("stakewatch_rule_group_duration_seconds",
                       "The duration of rule group evaluations.", MetricType::kHistogram, {}));
  ASSIGN_OR_RETURN(
      exposition::Family * reload_ok,
      add("stakewatch_rules_config_last_reload_successful",
          "Whether the last rule files reload attempt was successful.", MetricType::kGauge, {}));
  ASSIGN_OR_RETURN(
      exposition::Family * reload_ts,
      add("stakewatch_rules_config_last_reload_success_timestamp_seconds",
          "Timestamp of the last successful rule files reload.", MetricType::kGauge, {}));
  m->eval_duration_ =
      std::make_unique<HistogramHandle>(eval_duration, eval_duration->GetOrCreate({}));
  m->group_duration_ =
      std::make_unique<HistogramHandle>(group_duration, group_duration->GetOrCreate({}));
  ASSIGN_OR_RETURN(
      exposition::Family * state_errors,
      add("stakewatch_rule_alert_state_write_errors_total",
          "Failed writes of the persisted alert state file.", MetricType::kCounter, {}));
  m->state_errors_ = std::make_unique<CounterHandle>(state_errors, state_errors->GetOrCreate({}));
  m->reload_ok_ = std::make_unique<GaugeHandle>(reload_ok, reload_ok->GetOrCreate({}));
  m->reload_ts_ = std::make_unique<GaugeHandle>(reload_ts, reload_ts->GetOrCreate({}));
  return m;
}

RuleMetrics::~RuleMetrics() = default;

RuleMetrics::Group RuleMetrics::ForGroup(const std::string& key) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<GroupSeries>& s = groups_[key];
  if (s == nullptr) {
    const std::string_view v[] = {key};
    auto counter = [&v](exposition::Family* f) { return CounterHandle(f, f->GetOrCreate(v)); };
    auto gauge = [&v](exposition::Family* f) { return GaugeHandle(f, f->GetOrCreate(v)); };
    s.reset(new GroupSeries{counter(evals_), counter(failures_), counter(iterations_),
                            counter(missed_), gauge(interval_), gauge(last_eval_),
                            gauge(last_duration_), gauge(rules_), gauge(samples_)});
  }
  Group g;
  g.evaluations = &s->evaluations;
  g.evaluation_failures = &s->evaluation_failures;
  g.iterations = &s->iterations;
  g.iterations_missed = &s->iterations_missed;
  g.interval_seconds = &s->interval_seconds;
  g.last_evaluation_timestamp = &s->last_evaluation_timestamp;
  g.last_duration = &s->last_duration;
  g.rules = &s->rules;
  g.last_samples = &s->last_samples;
  return g;
}

void RuleMetrics::RemoveGroup(const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = groups_.find(key);
  if (it != groups_.end()) it->second->rules.Set(0);
}

}  // namespace stakewatch::ruleeval
