// Persisted alert state: what the rule manager writes to disk after every evaluation so that a
// restart of stakewatch neither restarts a pending `for` timer nor forgets a firing alert (and
// so the resolve it still has to send).
//
//   PersistedState st{.saved_at = now, .groups = {group->PersistentState()}};
//   std::string json = EncodeState(st);                       // written atomically by Manager
//   ASSIGN_OR_RETURN(PersistedState back, DecodeState(json));  // at start-up
//   alerts = RestoreAlerts(std::move(alerts), rule_for, back.groups[0].last_eval, now, opts);
//
// File format (version 1), JSON:
//   {"version":1,"saved_at_ns":<int>,"groups":[{"file":"..","name":"..","last_eval_ns":<int>,
//     "rules":[{"key":"<rule name + labels>","alerts":[{"labels":{..},"annotations":{..},
//       "state":"pending|firing|inactive","value":"<%.17g>","active_at_ns":<int>,
//       "fired_at_ns":..,"resolved_at_ns":..,"last_sent_at_ns":..,"valid_until_ns":..,
//       "keep_firing_since_ns":..}]}]}]}
// Times are Unix nanoseconds; a time that is unset (ZeroTime) is omitted. Label objects keep
// the labels' order. Values are strings so NaN and ±Inf survive.
//
// Restoring (RestoreAlerts) follows Prometheus 2.42's RestoreForState for pending alerts: the
// time spent pending before the shutdown counts, the downtime does not (the remaining time
// continues after the restart); if less than `grace_period` would remain, the alert gets
// `grace_period` from now; after a downtime longer than `outage_tolerance` pending timers
// start again. Two deliberate differences, because Prometheus loses them and the issue asks not
// to: alerts whose `for` is shorter than the grace period are restored too (Prometheus restarts
// them), and firing and resolved alerts are restored with all their times (Prometheus forgets
// them, so it never sends their resolve).
//
// Everything here is a pure function: thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ruleeval/rule.h"

namespace stakewatch::ruleeval {

struct PersistedRule {
  std::string key;  // Rule::NameAndLabels()
  std::vector<Alert> alerts;
};

struct PersistedGroup {
  std::string file;
  std::string name;
  absl::Time last_eval = ZeroTime();  // timestamp of the group's last evaluation
  std::vector<PersistedRule> rules;   // alerting rules with at least one alert, in group order
};

struct PersistedState {
  absl::Time saved_at = ZeroTime();
  std::vector<PersistedGroup> groups;
};

std::string EncodeState(const PersistedState& state);
// DataLoss for anything that is not a version-1 document of the shape above.
absl::StatusOr<PersistedState> DecodeState(std::string_view json);

struct RestoreOptions {
  absl::Duration outage_tolerance = absl::Hours(1);  // --rules.alert.for-outage-tolerance
  absl::Duration grace_period = absl::Minutes(10);   // --rules.alert.for-grace-period
};

// The alerts of one rule with `for` = `hold`, last evaluated at `down_at`, as they should be at
// `now` (see the file comment). Pending alerts may be dropped or get a later active_at; firing
// and resolved ones are returned unchanged.
std::vector<Alert> RestoreAlerts(std::vector<Alert> alerts, absl::Duration hold, absl::Time down_at,
                                 absl::Time now, const RestoreOptions& options);

}  // namespace stakewatch::ruleeval
