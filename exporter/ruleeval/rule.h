// Recording and alerting rules: the evaluation half of Prometheus 2.42's rules/recording.go and
// rules/alerting.go, with the PromQL engine injected as a QueryFunc.
//
//   ASSIGN_OR_RETURN(auto rule, AlertingRule::Create(file_rule));   // from rules::Rule
//   EvalContext ctx{.query = my_query_func, .external_url = "http://prom:9090"};
//   absl::StatusOr<query::Vector> out = rule->Eval(ts_ms, ctx, /*limit=*/0);
//   // out: ALERTS{...,alertstate="pending"} 1 and ALERTS_FOR_STATE{...} <activeAt seconds>
//
// Semantics (see /work/shared/reference/prometheus-semantics.md section 1):
//  - A recording rule sets __name__ to its record name, then its labels override; two output
//    samples with the same labels are the error "vector contains metrics with the same labelset
//    after applying rule labels"; with limit > 0, more than `limit` samples is the error
//    "exceeded limit of N with M series".
//  - An alerting rule builds each alert's labels from the sample (minus __name__), its templated
//    labels, then alertname; annotations are templated too. The state machine (pending -> firing
//    -> inactive, `for`, `keep_firing_for`, 15 minute resolved retention, limit clearing all
//    state) is Prometheus's. Rules start "restored", so ALERTS and ALERTS_FOR_STATE are output
//    from the first evaluation.
//  - Every output sample is stamped with the evaluation time.
//  - The query is passed to QueryFunc as the parsed expression plus its canonical text
//    (promql::Format of the expression: what Prometheus passes to its query function and shows
//    as the rule's "query" in /api/v1/rules).
//
// Threads: rule objects are thread-compatible (no internal locking). Group owns its rules and
// serialises access to them with its own mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "promql/ast.h"
#include "query/value.h"
#include "rules/rulefmt.h"
#include "template/template.h"
#include "tsdb/labels.h"

namespace stakewatch::ruleeval {

// Evaluates `expr` (already parsed; `text` is its canonical source) as an instant query at ts_ms.
// A scalar result must be returned as a one-sample vector with no labels; any other non-vector
// result is the error "rule result is not a vector or scalar" (Prometheus's EngineQueryFunc).
// Called on the evaluating thread; must be safe to call from every group thread at once.
using QueryFunc = std::function<absl::StatusOr<query::Vector>(
    const promql::Expr& expr, std::string_view text, int64_t ts_ms)>;

// Go's zero time.Time, which Prometheus uses for "never" in Alert's time fields.
inline absl::Time ZeroTime() { return absl::UniversalEpoch(); }
inline bool IsZeroTime(absl::Time t) { return t == absl::UniversalEpoch(); }

// How long a resolved alert is kept (and re-sent) after resolving (resolvedRetention).
inline constexpr absl::Duration kResolvedRetention = absl::Minutes(15);

enum class AlertState { kInactive, kPending, kFiring };
// "inactive", "pending", "firing".
std::string_view AlertStateName(AlertState s);

enum class RuleHealth { kUnknown, kGood, kBad };
// "unknown", "ok", "err" (the strings of /api/v1/rules).
std::string_view RuleHealthName(RuleHealth h);

// One alert of an alerting rule (Prometheus's rules.Alert). Times are ZeroTime() when unset.
struct Alert {
  AlertState state = AlertState::kPending;
  tsdb::Labels labels;  // final labels: sample labels, templated rule labels, alertname
  std::map<std::string, std::string> annotations;  // templated annotations (empty ones kept)
  double value = 0;  // the sample value of the latest evaluation it was present in
  absl::Time active_at = ZeroTime();
  absl::Time fired_at = ZeroTime();
  absl::Time resolved_at = ZeroTime();
  absl::Time last_sent_at = ZeroTime();
  absl::Time valid_until = ZeroTime();
  absl::Time keep_firing_since = ZeroTime();
};

// What every rule evaluation needs besides the timestamp.
struct EvalContext {
  QueryFunc query;               // required
  tsdb::Labels external_labels;  // $externalLabels in templates
  std::string external_url;      // $externalURL in templates
};

// Common interface of the two rule kinds. Owned by a Group; thread-compatible (the Group's mutex
// serialises Eval and reads).
class Rule {
 public:
  virtual ~Rule() = default;
  // Evaluates the rule at ts_ms and returns the samples to append (stamped ts_ms). On error,
  // returns it and changes nothing observable except alert state as Prometheus does (a limit
  // error clears all alerts). Does not update health; Group does.
  virtual absl::StatusOr<query::Vector> Eval(int64_t ts_ms, const EvalContext& ctx,
                                             int64_t limit) = 0;
  virtual bool IsAlerting() const = 0;

  const std::string& name() const { return name_; }
  const rules::Rule& spec() const { return spec_; }
  const promql::Expr& expr() const { return *expr_; }
  // promql::Format(expr): the query text passed to QueryFunc and shown by the API.
  const std::string& query_text() const { return query_text_; }
  // The rule's labels as written (values are templates for alerting rules).
  const tsdb::Labels& labels() const { return labels_; }
  // Name + labels string: Prometheus's key for matching rules across reloads (nameAndLabels).
  std::string NameAndLabels() const { return name_ + labels_.ToString(); }

  RuleHealth health = RuleHealth::kUnknown;
  std::string last_error;                   // "" when none
  absl::Time last_evaluation = ZeroTime();  // wall time the last evaluation started
  absl::Duration evaluation_duration = absl::ZeroDuration();

 protected:
  Rule(rules::Rule spec, std::shared_ptr<const promql::Expr> expr);

  std::string name_;
  rules::Rule spec_;
  std::shared_ptr<const promql::Expr> expr_;
  std::string query_text_;
  tsdb::Labels labels_;
};

// A recording rule (rules/recording.go).
class RecordingRule final : public Rule {
 public:
  // REQUIRES: spec validated by rules::ParseRules and spec.record non-empty. Parses spec.expr.
  static absl::StatusOr<std::unique_ptr<RecordingRule>> Create(const rules::Rule& spec);
  absl::StatusOr<query::Vector> Eval(int64_t ts_ms, const EvalContext& ctx, int64_t limit) override;
  bool IsAlerting() const override { return false; }

 private:
  using Rule::Rule;
};

// An alerting rule (rules/alerting.go) with its alert state.
class AlertingRule final : public Rule {
 public:
  // REQUIRES: spec validated and spec.alert non-empty. Parses the expression and every label
  // and annotation template (tmpl::Template::ParseAlert); errors are returned.
  static absl::StatusOr<std::unique_ptr<AlertingRule>> Create(const rules::Rule& spec);
  absl::StatusOr<query::Vector> Eval(int64_t ts_ms, const EvalContext& ctx, int64_t limit) override;
  bool IsAlerting() const override { return true; }

  absl::Duration hold_duration() const { return spec_.for_duration; }
  absl::Duration keep_firing_for() const { return spec_.keep_firing_for; }

  // Every alert kept (pending, firing and resolved-but-retained), sorted by labels.
  std::vector<Alert> AllAlerts() const;
  // The unresolved ones (Prometheus's ActiveAlerts: ResolvedAt is zero), sorted by labels; what
  // /api/v1/alerts and /api/v1/rules show.
  std::vector<Alert> ActiveAlerts() const;
  // The rule's state: the highest state of its alerts (inactive when none).
  AlertState State() const;

  // Prometheus's sendAlerts minus the notify call: for every kept alert that needsSending at ts
  // (never pending; yes if resolved after the last send; else if last_sent_at + resend_delay is
  // strictly before ts) sets last_sent_at = ts and valid_until = ts + 4*max(resend_delay,
  // interval), and returns a copy of it.
  std::vector<Alert> AlertsToSend(absl::Time ts, absl::Duration resend_delay,
                                  absl::Duration interval);

  // Replaces this rule's alerts by `other`'s (Group::CopyState at reload).
  void CopyAlertsFrom(const AlertingRule& other) { active_ = other.active_; }
  // Replaces this rule's alerts by `alerts` (keyed by their labels; a later duplicate wins).
  // Used to restore persisted state at start-up (Group::RestoreState).
  void SetAlerts(std::vector<Alert> alerts);

 private:
  struct Templates {
    std::vector<std::pair<std::string, tmpl::Template>> labels;
    std::vector<std::pair<std::string, tmpl::Template>> annotations;
  };
  AlertingRule(rules::Rule spec, std::shared_ptr<const promql::Expr> expr, Templates t);

  Templates templates_;
  std::map<tsdb::Labels, Alert> active_;  // keyed by the alert's labels (its identity)
};

// Builds the rule for `spec` (alerting if spec.alert is set).
absl::StatusOr<std::unique_ptr<Rule>> NewRule(const rules::Rule& spec);

// Adapter from QueryFunc to the template engine's `query` function at ts_ms: parses the text
// with promql::ParseExpr (a parse error is the query's error) and passes the text as written;
// converts the vector to template samples.
tmpl::QueryFunc TemplateQueryFunc(const QueryFunc& query, int64_t ts_ms);

}  // namespace stakewatch::ruleeval
