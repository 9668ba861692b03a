// The rule manager: Prometheus 2.42's rules.Manager. It loads rule files, runs every group on its
// own thread (or, for tests, on the caller's thread through RunOnce), reloads, and answers the
// HTTP API's snapshot queries.
//
//   ManagerOptions o{.storage = &mem, .query = engine_fn, .clock = &clock, .metrics_store = &st};
//   Manager m(std::move(o));
//   RETURN_IF_ERROR(m.Update({"rules/validators.yml"}));   // load
//   m.Start();                                               // one thread per group
//   ... m.Update(files) on SIGHUP / POST /-/reload ...
//   m.Stop();
//
// Tests drive time without threads: m.RunOnce(t) ticks every group once at clock time t (see
// Group::Tick: the first tick of a group only schedules it at its slotted time).
//
// Reload (Update): every file is loaded and validated (rules::LoadRuleFile with the PromQL and
// template validators) before anything changes; any error leaves the old rules running and is
// returned ("error loading rules, previous rule set restored: ..."). A group whose name, file,
// interval, limit and rules are unchanged keeps running as is; a changed group with the same
// name and file takes over the old one's alert state and previous-series sets (CopyState); a
// removed group's series are marked stale at the removal time once two of its intervals have
// passed (written by the next RunOnce or group thread tick after that; not at all if every group
// was removed and no tick comes). Rules start "restored" (no for-state restoration).
//
// Threads: all public methods are thread-safe. Start/Stop/Update/RunOnce serialise on one mutex;
// the snapshot accessors may run during evaluations (they wait for a group's running pass).
// Do not mix RunOnce with Start. The storage, clock, metrics store and callbacks must outlive the
// manager.
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "exposition/series_store.h"
#include "ruleeval/group.h"
#include "ruleeval/metrics.h"
#include "ruleeval/rule.h"
#include "ruleeval/state.h"
#include "rules/rulefmt.h"
#include "tsdb/storage.h"

namespace stakewatch::ruleeval {

struct ManagerOptions {
  tsdb::Storage* storage = nullptr;                       // required; not owned
  QueryFunc query;                                        // required
  Clock* clock = Clock::Real();                           // not owned
  absl::Duration evaluation_interval = absl::Minutes(1);  // global evaluation_interval
  tsdb::Labels external_labels;
  std::string external_url;
  absl::Duration resend_delay = absl::Minutes(1);  // --rules.alert.resend-delay
  NotifyFunc notify;                               // optional
  // Optional; the self-metrics are registered here (not owned). If their names are taken the
  // manager logs a warning and runs without them.
  exposition::SeriesStore* metrics_store = nullptr;
  // Where alert state is persisted (see ruleeval/state.h): the file `state_file` in directory
  // `state_dir`, rewritten atomically after every evaluation that changed it, read by the first
  // Update (groups matched by file and name). Empty state_dir: nothing is persisted.
  std::string state_dir;
  std::string state_file = "alerts.json";
  RestoreOptions restore;
  // Longest a group thread waits (in real time) before looking at the clock again; small values
  // let a FakeClock drive the threads.
  absl::Duration max_poll = absl::Seconds(1);
};

// The rule and template validators LoadRuleFile needs (PromQL parser, alert template parser).
rules::ValidationOptions RuleValidators();

// Owns every loaded Group and the group threads (see the file comment). Thread-safe.
class Manager {
 public:
  explicit Manager(ManagerOptions options);
  ~Manager();  // Stop()s
  Manager(const Manager&) = delete;
  Manager& operator=(const Manager&) = delete;

  // Loads `files` and replaces the rule set (see the file comment). Sets
  // stakewatch_rules_config_last_reload_successful (and its timestamp on success).
  absl::Status Update(const std::vector<std::string>& files);
  // The global section's part of a reload (Prometheus's ApplyConfig): the default evaluation
  // interval and the external labels ($externalLabels) for groups built by this Update. As in
  // Prometheus, an unchanged group keeps running as it is (a group whose effective interval
  // changed is rebuilt, its alert state carried over).
  struct Globals {
    absl::Duration evaluation_interval = absl::Minutes(1);
    tsdb::Labels external_labels;
  };
  absl::Status Update(const std::vector<std::string>& files, const Globals& globals);

  // Ticks every group once at `now` on the calling thread, then writes due stale markers of
  // removed groups.
  void RunOnce(absl::Time now);

  // Starts one thread per group (and restarts them after each Update); Stop joins them.
  void Start();
  void Stop();

  // Snapshots for the HTTP API: groups sorted by file then name; rules in group order; the
  // unresolved (pending or firing) alerts of every alerting rule, as /api/v1/alerts lists.
  std::vector<GroupSnapshot> Groups() const;
  std::vector<RuleSnapshot> Rules() const;
  std::vector<Alert> Alerts() const;

 private:
  struct RemovedSeries {
    std::vector<tsdb::Labels> series;
    absl::Time ts;   // stale markers are written at this time (removal)
    absl::Time due;  // ... once this time is reached (removal + 2 intervals)
  };
  void StartThreadsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StopThreadsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FlushRemoved(absl::Time now) ABSL_LOCKS_EXCLUDED(removed_mu_);
  void GroupLoop(Group* g, absl::Notification* stop);
  // Records g's state and rewrites the state file if anything changed.
  void Persist(const Group& g) ABSL_LOCKS_EXCLUDED(state_mu_);
  absl::Status WriteStateLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state_mu_);
  void LoadStateOnce() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Status UpdateLocked(const std::vector<std::string>& files, const Globals& globals)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ManagerOptions options_;
  std::unique_ptr<RuleMetrics> metrics_;  // null without a metrics store

  mutable absl::Mutex mu_;
  Globals globals_ ABSL_GUARDED_BY(mu_);  // from options_, then from the last successful Update
  // Keyed by (file, name): the iteration order is the API's order.
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Group>> groups_
      ABSL_GUARDED_BY(mu_);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<absl::Notification> stop_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);

  // Persisted alert state.
  bool state_loaded_ ABSL_GUARDED_BY(mu_) = false;
  std::map<std::pair<std::string, std::string>, PersistedGroup> to_restore_ ABSL_GUARDED_BY(mu_);
  absl::Mutex state_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::map<std::pair<std::string, std::string>, PersistedGroup> persisted_
      ABSL_GUARDED_BY(state_mu_);
  std::string last_written_ ABSL_GUARDED_BY(state_mu_);
  std::string last_write_error_ ABSL_GUARDED_BY(state_mu_);

  absl::Mutex removed_mu_;
  std::vector<RemovedSeries> removed_ ABSL_GUARDED_BY(removed_mu_);
};

}  // namespace stakewatch::ruleeval
