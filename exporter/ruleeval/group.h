// A rule group: Prometheus 2.42's rules.Group (rules/manager.go). Its rules are evaluated in file
// order at one timestamp; each rule's output is appended to the storage and committed before the
// next rule runs, so a later rule sees an earlier recording at exactly that timestamp.
//
//   GroupOptions o{.storage = &mem, .query = engine_fn};
//   ASSIGN_OR_RETURN(auto g, Group::Create(file_group, "rules.yml", o));
//   g->Eval(absl::FromUnixSeconds(600));           // one pass at a chosen timestamp
//   absl::Time next = g->Tick(clock.Now());         // or: the scheduler step (see Tick)
//
// Staleness: a series a rule wrote in its previous pass but not in this one gets a StaleNaN at
// the evaluation time; when the rule fails, nothing is written and the previous set is kept.
// Series of rules that disappeared at reload (CopyState) are marked stale at the next pass.
// Append errors (out of order, duplicate timestamp) mark the rule unhealthy with the error text
// and are counted (out_of_order_total/duplicates_total), not fatal.
//
// Slotting: EvalTimestamp() is Prometheus's: offset = hash % interval where hash is the xxhash64
// of the label set {file="<file>", name="<name>"} as Prometheus's labels.Hash computes it
// ("file\xff<file>\xffname\xff<name>\xff"), so a group evaluates at the same phase as it would
// in Prometheus.
//
// Ownership and threads: the Manager owns groups. All methods are thread-safe (one mutex; an
// evaluation holds it for its whole pass, so Snapshot() waits for a running pass). Storage,
// clock, metrics and the callbacks in GroupOptions are not owned and must outlive the group.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "ruleeval/metrics.h"
#include "ruleeval/rule.h"
#include "ruleeval/state.h"
#include "rules/rulefmt.h"
#include "tsdb/storage.h"

namespace stakewatch::ruleeval {

// Receives the alerts an alerting rule needs to send after a successful evaluation (never called
// with an empty list). `expr` is the rule's query text (for generatorURL). Called on the group's
// evaluating thread with the group's lock held: it must not call back into the group.
using NotifyFunc = std::function<void(std::string_view expr, const std::vector<Alert>& alerts)>;

// What a group needs from its surroundings. Defaults as Prometheus's flags.
struct GroupOptions {
  tsdb::Storage* storage = nullptr;  // required; not owned
  QueryFunc query;                   // required
  Clock* clock = Clock::Real();      // wall time for durations and last-evaluation times
  tsdb::Labels external_labels;
  std::string external_url;
  absl::Duration default_interval = absl::Minutes(1);  // global evaluation_interval
  absl::Duration resend_delay = absl::Minutes(1);      // --rules.alert.resend-delay
  NotifyFunc notify;                                   // optional
  RuleMetrics* metrics = nullptr;                      // optional; not owned
};

// Prometheus's labels.Hash of {file=<file>, name=<name>}: xxhash64 of the bytes above.
uint64_t GroupHash(std::string_view name, std::string_view file);
// xxhash64 (XXH64) with seed 0.
uint64_t XxHash64(std::string_view data);
// "<file>;<name>" (Prometheus's GroupKey; the rule_group label).
std::string GroupKey(std::string_view file, std::string_view name);

// Read-only copies for the HTTP API (/api/v1/rules, /api/v1/alerts).
struct RuleSnapshot {
  std::string name;
  std::string query;  // canonical text
  bool alerting = false;
  absl::Duration duration = absl::ZeroDuration();  // `for`
  absl::Duration keep_firing_for = absl::ZeroDuration();
  tsdb::Labels labels;
  std::map<std::string, std::string> annotations;
  RuleHealth health = RuleHealth::kUnknown;
  std::string last_error;
  absl::Time last_evaluation = ZeroTime();
  absl::Duration evaluation_time = absl::ZeroDuration();
  AlertState state = AlertState::kInactive;  // alerting rules: highest alert state
  std::vector<Alert> alerts;  // alerting rules: unresolved alerts (ActiveAlerts), by labels
};

struct GroupSnapshot {
  std::string name;
  std::string file;
  absl::Duration interval = absl::ZeroDuration();
  int64_t limit = 0;
  absl::Time last_evaluation = ZeroTime();
  absl::Duration evaluation_time = absl::ZeroDuration();
  std::vector<RuleSnapshot> rules;
  uint64_t out_of_order_total = 0;  // samples dropped as out of order, all passes
  uint64_t duplicates_total = 0;    // samples dropped as duplicate timestamps, all passes
};

// One rule group and its evaluation state (see the file comment). Owned by the Manager (or a
// test); thread-safe.
class Group {
 public:
  // Builds the group's rules (parsing expressions and templates). `spec.interval` 0 means
  // options.default_interval.
  static absl::StatusOr<std::unique_ptr<Group>> Create(const rules::RuleGroup& spec,
                                                       std::string_view file, GroupOptions options);
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const std::string& name() const { return name_; }
  const std::string& file() const { return file_; }
  absl::Duration interval() const { return interval_; }
  int64_t limit() const { return limit_; }

  // The slotted evaluation time at or before `start` (Prometheus's EvalTimestamp).
  absl::Time EvalTimestamp(absl::Time start) const;

  // One evaluation pass of every rule at `ts`, then the pending stale markers of removed rules.
  // Updates rule health, timings and metrics (except the iteration counters: see Tick).
  void Eval(absl::Time ts);

  // The scheduler step, for a loop that calls it whenever the returned time is reached. The
  // first call only schedules: next = EvalTimestamp(now) + interval. A later call with now >=
  // next evaluates once at next + missed*interval, where missed = floor((now - next) /
  // interval) iterations are counted as missed (and as iterations), and schedules the
  // evaluation after that. Returns the next due time.
  absl::Time Tick(absl::Time now);
  // The next due time (InfinitePast before the first Tick).
  absl::Time NextEval() const;

  // Prometheus's Equals: same name, file, interval, limit and rules (as written).
  bool Equals(const Group& other) const;
  // Takes over `from`'s alert state and previous-series sets for rules matched by name and
  // labels (duplicates in order), its last evaluation time and duration, its scheduling, and
  // queues the series of unmatched old rules to be marked stale at the next pass.
  void CopyState(Group& from);
  // Every series written by the last successful pass of each rule, plus queued stale series.
  std::vector<tsdb::Labels> AllSeries() const;

  GroupSnapshot Snapshot() const;

  // The alert state to persist: every alerting rule that has alerts, with the timestamp of the
  // last evaluation (ZeroTime before the first).
  PersistedGroup PersistentState() const;
  // Restores persisted alert state at start-up (see ruleeval/state.h): rules are matched by
  // name and labels (duplicates in order); pending timers are adjusted by RestoreAlerts at
  // `now`. Call before the first evaluation.
  void RestoreState(const PersistedGroup& state, absl::Time now, const RestoreOptions& options);
  // The timestamp of the last evaluation (ZeroTime before the first).
  absl::Time LastEvalTimestamp() const;

 private:
  Group(std::string name, std::string file, absl::Duration interval, int64_t limit,
        rules::RuleGroup spec, std::vector<std::unique_ptr<Rule>> rules, GroupOptions options);
  void EvalLocked(absl::Time ts) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string name_;
  const std::string file_;
  const absl::Duration interval_;
  const int64_t limit_;
  const rules::RuleGroup spec_;
  const GroupOptions options_;
  RuleMetrics::Group metrics_;  // all null when options_.metrics is null

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Rule>> rules_ ABSL_GUARDED_BY(mu_);
  std::vector<std::set<tsdb::Labels>> previous_series_ ABSL_GUARDED_BY(mu_);
  std::vector<tsdb::Labels> stale_series_ ABSL_GUARDED_BY(mu_);
  absl::Time last_evaluation_ ABSL_GUARDED_BY(mu_) = ZeroTime();
  absl::Time last_eval_ts_ ABSL_GUARDED_BY(mu_) = ZeroTime();  // evaluation timestamp
  absl::Duration evaluation_time_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Time next_eval_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  uint64_t out_of_order_total_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t duplicates_total_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace stakewatch::ruleeval
