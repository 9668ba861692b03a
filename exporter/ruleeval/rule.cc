#include "ruleeval/rule.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "promql/parser.h"

namespace stakewatch::ruleeval {
namespace {

constexpr std::string_view kAlertMetricName = "ALERTS";
constexpr std::string_view kAlertForStateMetricName = "ALERTS_FOR_STATE";
constexpr std::string_view kAlertNameLabel = "alertname";
constexpr std::string_view kAlertStateLabel = "alertstate";

tmpl::LabelMap ToMap(const tsdb::Labels& l) {
  tmpl::LabelMap m;
  for (const tsdb::Label& x : l) m.emplace(x.name, x.value);
  return m;
}

tsdb::Labels FromMap(const std::map<std::string, std::string>& m) {
  std::vector<std::pair<std::string, std::string>> pairs(m.begin(), m.end());
  return tsdb::Labels::FromPairs(pairs);
}

absl::StatusOr<std::shared_ptr<const promql::Expr>> ParseShared(std::string_view text) {
  ASSIGN_OR_RETURN(promql::ExprPtr e, promql::ParseExpr(text));
  return std::shared_ptr<const promql::Expr>(std::move(e));
}

}  // namespace

std::string_view AlertStateName(AlertState s) {
  switch (s) {
    case AlertState::kInactive:
      return "inactive";
    case AlertState::kPending:
      return "pending";
    case AlertState::kFiring:
      return "firing";
  }
  return "unknown";
}

std::string_view RuleHealthName(RuleHealth h) {
  switch (h) {
    case RuleHealth::kUnknown:
      return "unknown";
    case RuleHealth::kGood:
      return "ok";
    case RuleHealth::kBad:
      return "err";
  }
  return "unknown";
}

Rule::Rule(rules::Rule spec, std::shared_ptr<const promql::Expr> expr)
    : name_(spec.Name()),
      spec_(std::move(spec)),
      expr_(std::move(expr)),
      query_text_(promql::Format(*expr_)),
      labels_(FromMap(spec_.labels)) {}

// ---------------------------------------------------------------------------------------------
// Recording rules.

absl::StatusOr<std::unique_ptr<RecordingRule>> RecordingRule::Create(const rules::Rule& spec) {
  if (spec.record.empty()) return absl::InvalidArgumentError("not a recording rule");
  ASSIGN_OR_RETURN(auto expr, ParseShared(spec.expr));
  return std::unique_ptr<RecordingRule>(new RecordingRule(spec, std::move(expr)));
}

absl::StatusOr<query::Vector> RecordingRule::Eval(int64_t ts_ms, const EvalContext& ctx,
                                                  int64_t limit) {
  if (!ctx.query) return absl::FailedPreconditionError("no query function");
  ASSIGN_OR_RETURN(query::Vector vec, ctx.query(*expr_, query_text_, ts_ms));
  for (query::VSample& s : vec) {
    tsdb::LabelsBuilder b(s.metric);
    b.Set(tsdb::kMetricName, name_);
    for (const tsdb::Label& l : labels_) b.Set(l.name, l.value);
    s.metric = b.Build();
    s.t_ms = ts_ms;
  }
  std::set<tsdb::Labels> seen;
  for (const query::VSample& s : vec) {
    if (!seen.insert(s.metric).second) {
      return absl::InvalidArgumentError(
          "vector contains metrics with the same labelset after applying rule labels");
    }
  }
  if (limit > 0 && static_cast<int64_t>(vec.size()) > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat("exceeded limit of ", limit, " with ", vec.size(), " series"));
  }
  return vec;
}

// ---------------------------------------------------------------------------------------------
// Alerting rules.

AlertingRule::AlertingRule(rules::Rule spec, std::shared_ptr<const promql::Expr> expr, Templates t)
    : Rule(std::move(spec), std::move(expr)), templates_(std::move(t)) {}

absl::StatusOr<std::unique_ptr<AlertingRule>> AlertingRule::Create(const rules::Rule& spec) {
  if (spec.alert.empty()) return absl::InvalidArgumentError("not an alerting rule");
  ASSIGN_OR_RETURN(auto expr, ParseShared(spec.expr));
  Templates t;
  for (const auto& [k, v] : spec.labels) {
    ASSIGN_OR_RETURN(tmpl::Template tp, tmpl::Template::ParseAlert(spec.alert, v));
    t.labels.emplace_back(k, std::move(tp));
  }
  for (const auto& [k, v] : spec.annotations) {
    ASSIGN_OR_RETURN(tmpl::Template tp, tmpl::Template::ParseAlert(spec.alert, v));
    t.annotations.emplace_back(k, std::move(tp));
  }
  return std::unique_ptr<AlertingRule>(new AlertingRule(spec, std::move(expr), std::move(t)));
}

absl::StatusOr<query::Vector> AlertingRule::Eval(int64_t ts_ms, const EvalContext& ctx,
                                                 int64_t limit) {
  if (!ctx.query) return absl::FailedPreconditionError("no query function");
  ASSIGN_OR_RETURN(query::Vector res, ctx.query(*expr_, query_text_, ts_ms));
  const absl::Time ts = absl::FromUnixMillis(ts_ms);
  const tmpl::QueryFunc tq = TemplateQueryFunc(ctx.query, ts_ms);
  const tmpl::LabelMap external = ToMap(ctx.external_labels);

  std::map<tsdb::Labels, Alert> alerts;  // this pass's alerts by identity
  for (const query::VSample& s : res) {
    tmpl::TemplateData data{.labels = ToMap(s.metric),
                            .external_labels = external,
                            .external_url = ctx.external_url,
                            .value = s.v};
    tsdb::LabelsBuilder lb(query::DropMetricName(s.metric));
    for (const auto& [name, t] : templates_.labels) lb.Set(name, t.Expand(data, tq));
    lb.Set(kAlertNameLabel, name_);
    Alert a;
    for (const auto& [name, t] : templates_.annotations) {
      a.annotations[name] = t.Expand(data, tq);
    }
    a.labels = lb.Build();
    a.active_at = ts;
    a.state = AlertState::kPending;
    a.value = s.v;
    if (alerts.count(a.labels) != 0) {
      return absl::InvalidArgumentError(
          "vector contains metrics with the same labelset after applying alert labels");
    }
    tsdb::Labels key = a.labels;
    alerts.emplace(std::move(key), std::move(a));
  }

  for (auto& [key, a] : alerts) {
    auto it = active_.find(key);
    if (it != active_.end() && it->second.state != AlertState::kInactive) {
      it->second.value = a.value;
      it->second.annotations = a.annotations;
      continue;
    }
    active_[key] = std::move(a);  // new, or replacing a resolved one: fresh ActiveAt
  }

  query::Vector vec;
  int64_t num_active = 0;
  for (auto it = active_.begin(); it != active_.end();) {
    Alert& a = it->second;
    bool erase = false;
    if (alerts.count(it->first) == 0) {
      bool keep_firing = false;
      if (a.state == AlertState::kFiring && spec_.keep_firing_for > absl::ZeroDuration()) {
        if (IsZeroTime(a.keep_firing_since)) a.keep_firing_since = ts;
        if (ts - a.keep_firing_since < spec_.keep_firing_for) keep_firing = true;
      }
      if (a.state == AlertState::kPending ||
          (!IsZeroTime(a.resolved_at) && ts - a.resolved_at > kResolvedRetention)) {
        erase = true;
      }
      if (a.state != AlertState::kInactive && !keep_firing) {
        a.state = AlertState::kInactive;
        a.resolved_at = ts;
      }
      if (!keep_firing) {
        it = erase ? active_.erase(it) : std::next(it);
        continue;
      }
    } else {
      a.keep_firing_since = ZeroTime();
    }
    ++num_active;
    if (a.state == AlertState::kPending && ts - a.active_at >= spec_.for_duration) {
      a.state = AlertState::kFiring;
      a.fired_at = ts;
    }
    // ALERTS and ALERTS_FOR_STATE: the raw rule labels overlaid by the alert's labels.
    tsdb::LabelsBuilder lb(labels_);
    for (const tsdb::Label& l : a.labels) lb.Set(l.name, l.value);
    lb.Set(kAlertNameLabel, name_);
    lb.Set(tsdb::kMetricName, kAlertForStateMetricName);
    tsdb::Labels for_state = lb.Build();
    lb.Set(tsdb::kMetricName, kAlertMetricName);
    lb.Set(kAlertStateLabel, AlertStateName(a.state));
    vec.push_back({lb.Build(), ts_ms, 1});
    vec.push_back(
        {std::move(for_state), ts_ms, static_cast<double>(absl::ToUnixSeconds(a.active_at))});
    if (erase) {
      it = active_.erase(it);  // cannot happen for a keep-firing alert; kept for parity
    } else {
      ++it;
    }
  }

  if (limit > 0 && num_active > limit) {
    active_.clear();
    return absl::InvalidArgumentError(
        absl::StrCat("exceeded limit of ", limit, " with ", num_active, " alerts"));
  }
  return vec;
}

std::vector<Alert> AlertingRule::AllAlerts() const {
  std::vector<Alert> out;
  out.reserve(active_.size());
  for (const auto& [k, a] : active_) out.push_back(a);
  return out;
}

std::vector<Alert> AlertingRule::ActiveAlerts() const {
  std::vector<Alert> out;
  for (const auto& [k, a] : active_) {
    if (IsZeroTime(a.resolved_at)) out.push_back(a);
  }
  return out;
}

AlertState AlertingRule::State() const {
  AlertState s = AlertState::kInactive;
  for (const auto& [k, a] : active_) s = std::max(s, a.state);
  return s;
}

std::vector<Alert> AlertingRule::AlertsToSend(absl::Time ts, absl::Duration resend_delay,
                                              absl::Duration interval) {
  std::vector<Alert> out;
  for (auto& [k, a] : active_) {
    bool needs = false;
    if (a.state == AlertState::kPending) {
      needs = false;
    } else if (a.resolved_at > a.last_sent_at) {
      needs = true;
    } else {
      needs = a.last_sent_at + resend_delay < ts;
    }
    if (!needs) continue;
    a.last_sent_at = ts;
    a.valid_until = ts + 4 * std::max(resend_delay, interval);
    out.push_back(a);
  }
  return out;
}

void AlertingRule::SetAlerts(std::vector<Alert> alerts) {
  active_.clear();
  for (Alert& a : alerts) {
    tsdb::Labels key = a.labels;
    active_[std::move(key)] = std::move(a);
  }
}

absl::StatusOr<std::unique_ptr<Rule>> NewRule(const rules::Rule& spec) {
  if (spec.IsAlerting()) {
    ASSIGN_OR_RETURN(auto r, AlertingRule::Create(spec));
    return std::unique_ptr<Rule>(std::move(r));
  }
  ASSIGN_OR_RETURN(auto r, RecordingRule::Create(spec));
  return std::unique_ptr<Rule>(std::move(r));
}

tmpl::QueryFunc TemplateQueryFunc(const QueryFunc& query, int64_t ts_ms) {
  return [query, ts_ms](std::string_view text) -> absl::StatusOr<std::vector<tmpl::QuerySample>> {
    if (!query) return absl::FailedPreconditionError("no query function");
    ASSIGN_OR_RETURN(promql::ExprPtr expr, promql::ParseExpr(text));
    ASSIGN_OR_RETURN(query::Vector vec, query(*expr, text, ts_ms));
    std::vector<tmpl::QuerySample> out;
    out.reserve(vec.size());
    for (const query::VSample& s : vec) out.push_back({ToMap(s.metric), s.v});
    return out;
  };
}

}  // namespace stakewatch::ruleeval
