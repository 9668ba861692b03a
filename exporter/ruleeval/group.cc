#include "ruleeval/group.h"

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace stakewatch::ruleeval {
namespace {

constexpr uint64_t kP1 = 11400714785074694791ULL;
constexpr uint64_t kP2 = 14029467366897019727ULL;
constexpr uint64_t kP3 = 1609587929392839161ULL;
constexpr uint64_t kP4 = 9650029242287828579ULL;
constexpr uint64_t kP5 = 2870177450012600261ULL;

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
uint64_t Read64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // little-endian host (x86-64/arm64), as xxhash's canonical form
  return v;
}
uint32_t Read32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t Round(uint64_t acc, uint64_t input) {
  acc += input * kP2;
  acc = Rotl(acc, 31);
  return acc * kP1;
}
uint64_t MergeRound(uint64_t acc, uint64_t val) {
  acc ^= Round(0, val);
  return acc * kP1 + kP4;
}

int64_t ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }

std::string_view AppendErrorText(tsdb::AppendError e) {
  switch (e) {
    case tsdb::AppendError::kOutOfOrder:
      return "out of order sample";
    case tsdb::AppendError::kDuplicateTimestamp:
      return "duplicate sample for timestamp";
    case tsdb::AppendError::kOutOfBounds:
      return "out of bounds";
    case tsdb::AppendError::kNone:
      break;
  }
  return "";
}

bool SameRule(const rules::Rule& a, const rules::Rule& b) {
  return a.record == b.record && a.alert == b.alert && a.expr == b.expr &&
         a.for_duration == b.for_duration && a.keep_firing_for == b.keep_firing_for &&
         a.labels == b.labels && a.annotations == b.annotations;
}

}  // namespace

uint64_t XxHash64(std::string_view data) {
  const char* p = data.data();
  const char* const end = p + data.size();
  uint64_t h;
  if (data.size() >= 32) {
    uint64_t v1 = kP1 + kP2, v2 = kP2, v3 = 0, v4 = 0 - kP1;
    const char* const limit = end - 32;
    do {
      v1 = Round(v1, Read64(p));
      v2 = Round(v2, Read64(p + 8));
      v3 = Round(v3, Read64(p + 16));
      v4 = Round(v4, Read64(p + 24));
      p += 32;
    } while (p <= limit);
    h = Rotl(v1, 1) + Rotl(v2, 7) + Rotl(v3, 12) + Rotl(v4, 18);
    h = MergeRound(h, v1);
    h = MergeRound(h, v2);
    h = MergeRound(h, v3);
    h = MergeRound(h, v4);
  } else {
    h = kP5;
  }
  h += static_cast<uint64_t>(data.size());
  while (p + 8 <= end) {
    h ^= Round(0, Read64(p));
    h = Rotl(h, 27) * kP1 + kP4;
    p += 8;
  }
  if (p + 4 <= end) {
    h ^= static_cast<uint64_t>(Read32(p)) * kP1;
    h = Rotl(h, 23) * kP2 + kP3;
    p += 4;
  }
  while (p < end) {
    h ^= static_cast<uint64_t>(static_cast<unsigned char>(*p)) * kP5;
    h = Rotl(h, 11) * kP1;
    ++p;
  }
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  h *= kP3;
  h ^= h >> 32;
  return h;
}

uint64_t GroupHash(std::string_view name, std::string_view file) {
  const char sep = '\xff';
  std::string b;
  b.reserve(file.size() + name.size() + 12);
  b.append("file").push_back(sep);
  b.append(file).push_back(sep);
  b.append("name").push_back(sep);
  b.append(name).push_back(sep);
  return XxHash64(b);
}

std::string GroupKey(std::string_view file, std::string_view name) {
  return absl::StrCat(ToAbsl(file), ";", ToAbsl(name));
}

Group::Group(std::string name, std::string file, absl::Duration interval, int64_t limit,
             rules::RuleGroup spec, std::vector<std::unique_ptr<Rule>> rules, GroupOptions options)
    : name_(std::move(name)),
      file_(std::move(file)),
      interval_(interval),
      limit_(limit),
      spec_(std::move(spec)),
      options_(std::move(options)),
      rules_(std::move(rules)) {
  previous_series_.resize(rules_.size());
  if (options_.metrics != nullptr) {
    metrics_ = options_.metrics->ForGroup(GroupKey(file_, name_));
    metrics_.rules->Set(static_cast<double>(rules_.size()));
    metrics_.interval_seconds->Set(absl::ToDoubleSeconds(interval_));
  }
}

absl::StatusOr<std::unique_ptr<Group>> Group::Create(const rules::RuleGroup& spec,
                                                     std::string_view file, GroupOptions options) {
  if (options.storage == nullptr) return absl::InvalidArgumentError("group needs a storage");
  if (options.clock == nullptr) options.clock = Clock::Real();
  absl::Duration interval =
      spec.interval > absl::ZeroDuration() ? spec.interval : options.default_interval;
  if (interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("group interval must be positive");
  }
  std::vector<std::unique_ptr<Rule>> rules;
  for (const rules::Rule& r : spec.rules) {
    absl::StatusOr<std::unique_ptr<Rule>> rule = NewRule(r);
    if (!rule.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(file), ": group \"", spec.name,
                                                     "\", rule \"", r.Name(),
                                                     "\": ", rule.status().message()));
    }
    rules.push_back(*std::move(rule));
  }
  return std::unique_ptr<Group>(new Group(spec.name, std::string(file), interval, spec.limit, spec,
                                          std::move(rules), std::move(options)));
}

absl::Time Group::EvalTimestamp(absl::Time start) const {
  const int64_t iv = absl::ToInt64Nanoseconds(interval_);
  const int64_t offset = static_cast<int64_t>(GroupHash(name_, file_) % static_cast<uint64_t>(iv));
  const absl::Time adj = start - absl::Nanoseconds(offset);
  // Go's `%` truncates toward zero; so does C++'s. Times before 1970 do not occur here.
  const int64_t adj_ns = absl::ToUnixNanos(adj);
  const absl::Time base = adj - absl::Nanoseconds(adj_ns % iv);
  return base + absl::Nanoseconds(offset);
}

void Group::Eval(absl::Time ts) {
  absl::MutexLock l(&mu_);
  EvalLocked(ts);
}

void Group::EvalLocked(absl::Time ts) {
  Clock& clock = *options_.clock;
  const absl::Time group_start = clock.Now();
  const int64_t ts_ms = ToMillis(ts);
  const EvalContext ctx{.query = options_.query,
                        .external_labels = options_.external_labels,
                        .external_url = options_.external_url};
  double samples_total = 0;
  for (size_t i = 0; i < rules_.size(); ++i) {
    Rule& rule = *rules_[i];
    const absl::Time start = clock.Now();
    if (metrics_.evaluations != nullptr) metrics_.evaluations->Increment();
    absl::StatusOr<query::Vector> vec = rule.Eval(ts_ms, ctx, limit_);
    if (!vec.ok()) {
      rule.health = RuleHealth::kBad;
      rule.last_error = std::string(vec.status().message());
      if (metrics_.evaluation_failures != nullptr) metrics_.evaluation_failures->Increment();
      LogWarn("Evaluating rule failed", {{"group", name_},
                                         {"name", rule.name()},
                                         {"index", absl::StrCat(i)},
                                         {"err", rule.last_error}});
    } else {
      rule.health = RuleHealth::kGood;
      rule.last_error.clear();
      samples_total += static_cast<double>(vec->size());
      if (rule.IsAlerting() && options_.notify) {
        std::vector<Alert> to_send =
            static_cast<AlertingRule&>(rule).AlertsToSend(ts, options_.resend_delay, interval_);
        if (!to_send.empty()) options_.notify(rule.query_text(), to_send);
      }
      std::unique_ptr<tsdb::Appender> app = options_.storage->NewAppender();
      std::set<tsdb::Labels> returned;
      int out_of_order = 0, duplicates = 0;
      for (const query::VSample& s : *vec) {
        tsdb::AppendError err = app->Append(s.metric, s.t_ms, s.v);
        if (err == tsdb::AppendError::kNone) {
          returned.insert(s.metric);
          continue;
        }
        rule.health = RuleHealth::kBad;
        rule.last_error = std::string(AppendErrorText(err));
        if (err == tsdb::AppendError::kOutOfOrder) ++out_of_order;
        if (err == tsdb::AppendError::kDuplicateTimestamp) ++duplicates;
      }
      out_of_order_total_ += out_of_order;
      duplicates_total_ += duplicates;
      if (out_of_order > 0 || duplicates > 0) {
        LogWarn("Rule evaluation results discarded", {{"group", name_},
                                                      {"name", rule.name()},
                                                      {"out_of_order", absl::StrCat(out_of_order)},
                                                      {"duplicates", absl::StrCat(duplicates)}});
      }
      for (const tsdb::Labels& old : previous_series_[i]) {
        // Out-of-order/duplicate errors are expected when another rule wrote the series.
        if (returned.count(old) == 0) app->Append(old, ts_ms, tsdb::StaleNaN());
      }
      absl::Status c = app->Commit();
      if (!c.ok()) {
        rule.health = RuleHealth::kBad;
        rule.last_error = std::string(c.message());
        if (metrics_.evaluation_failures != nullptr) metrics_.evaluation_failures->Increment();
      } else {
        previous_series_[i] = std::move(returned);
      }
    }
    const absl::Duration took = clock.Now() - start;
    rule.last_evaluation = start;
    rule.evaluation_duration = took;
    if (options_.metrics != nullptr) {
      options_.metrics->evaluation_duration().Observe(absl::ToDoubleSeconds(took));
    }
  }
  if (metrics_.last_samples != nullptr) metrics_.last_samples->Set(samples_total);

  // Series of rules removed at reload (cleanupStaleSeries).
  if (!stale_series_.empty()) {
    std::unique_ptr<tsdb::Appender> app = options_.storage->NewAppender();
    for (const tsdb::Labels& s : stale_series_) app->Append(s, ts_ms, tsdb::StaleNaN());
    if (app->Commit().ok()) stale_series_.clear();
  }

  const absl::Duration took = clock.Now() - group_start;
  evaluation_time_ = took;
  last_evaluation_ = group_start;
  last_eval_ts_ = ts;
  if (metrics_.last_duration != nullptr) {
    metrics_.last_duration->Set(absl::ToDoubleSeconds(took));
    metrics_.last_evaluation_timestamp->Set(absl::ToDoubleSeconds(group_start - absl::UnixEpoch()));
    options_.metrics->group_duration().Observe(absl::ToDoubleSeconds(took));
  }
}

absl::Time Group::Tick(absl::Time now) {
  absl::MutexLock l(&mu_);
  if (next_eval_ == absl::InfinitePast()) {
    next_eval_ = EvalTimestamp(now) + interval_;
    return next_eval_;
  }
  if (now < next_eval_) return next_eval_;
  absl::Duration rem;  // IDivDuration requires it
  const int64_t missed = absl::IDivDuration(now - next_eval_, interval_, &rem);
  if (metrics_.iterations != nullptr) {
    metrics_.iterations->Increment(static_cast<double>(missed + 1));
    if (missed > 0) metrics_.iterations_missed->Increment(static_cast<double>(missed));
  }
  const absl::Time ts = next_eval_ + missed * interval_;
  EvalLocked(ts);
  next_eval_ = ts + interval_;
  return next_eval_;
}

absl::Time Group::NextEval() const {
  absl::MutexLock l(&mu_);
  return next_eval_;
}

bool Group::Equals(const Group& other) const {
  if (name_ != other.name_ || file_ != other.file_ || interval_ != other.interval_ ||
      limit_ != other.limit_ || spec_.rules.size() != other.spec_.rules.size()) {
    return false;
  }
  for (size_t i = 0; i < spec_.rules.size(); ++i) {
    if (!SameRule(spec_.rules[i], other.spec_.rules[i])) return false;
  }
  return true;
}

void Group::CopyState(Group& from) {
  if (&from == this) return;
  absl::MutexLock l1(&mu_);
  absl::MutexLock l2(&from.mu_);
  evaluation_time_ = from.evaluation_time_;
  last_evaluation_ = from.last_evaluation_;
  last_eval_ts_ = from.last_eval_ts_;
  if (interval_ == from.interval_) next_eval_ = from.next_eval_;

  std::map<std::string, std::vector<size_t>> by_key;
  for (size_t fi = 0; fi < from.rules_.size(); ++fi) {
    by_key[from.rules_[fi]->NameAndLabels()].push_back(fi);
  }
  std::map<std::string, size_t> used;  // how many of each key were matched
  for (size_t i = 0; i < rules_.size(); ++i) {
    const std::string key = rules_[i]->NameAndLabels();
    auto it = by_key.find(key);
    if (it == by_key.end() || used[key] >= it->second.size()) continue;
    const size_t fi = it->second[used[key]++];
    previous_series_[i] = from.previous_series_[fi];
    auto* ar = dynamic_cast<AlertingRule*>(rules_[i].get());
    auto* far = dynamic_cast<AlertingRule*>(from.rules_[fi].get());
    if (ar != nullptr && far != nullptr) ar->CopyAlertsFrom(*far);
  }
  // Unmatched old rules: their series go stale at the next pass.
  stale_series_ = from.stale_series_;
  for (const auto& [key, idx] : by_key) {
    for (size_t k = used[key]; k < idx.size(); ++k) {
      for (const tsdb::Labels& s : from.previous_series_[idx[k]]) stale_series_.push_back(s);
    }
  }
}

PersistedGroup Group::PersistentState() const {
  absl::MutexLock l(&mu_);
  PersistedGroup out{.file = file_, .name = name_, .last_eval = last_eval_ts_, .rules = {}};
  for (const std::unique_ptr<Rule>& r : rules_) {
    const auto* ar = dynamic_cast<const AlertingRule*>(r.get());
    if (ar == nullptr) continue;
    std::vector<Alert> alerts = ar->AllAlerts();
    if (alerts.empty()) continue;
    out.rules.push_back({r->NameAndLabels(), std::move(alerts)});
  }
  return out;
}

void Group::RestoreState(const PersistedGroup& state, absl::Time now,
                         const RestoreOptions& options) {
  absl::MutexLock l(&mu_);
  // The restored timers are as of `now`: if the process stops again before its first
  // evaluation, the next restore must only add that second downtime.
  last_eval_ts_ = now;
  std::map<std::string, std::vector<const PersistedRule*>> by_key;
  for (const PersistedRule& r : state.rules) by_key[r.key].push_back(&r);
  std::map<std::string, size_t> used;
  for (const std::unique_ptr<Rule>& r : rules_) {
    auto* ar = dynamic_cast<AlertingRule*>(r.get());
    if (ar == nullptr) continue;
    const std::string key = r->NameAndLabels();
    auto it = by_key.find(key);
    if (it == by_key.end() || used[key] >= it->second.size()) continue;
    const PersistedRule& pr = *it->second[used[key]++];
    ar->SetAlerts(RestoreAlerts(pr.alerts, ar->hold_duration(), state.last_eval, now, options));
  }
}

absl::Time Group::LastEvalTimestamp() const {
  absl::MutexLock l(&mu_);
  return last_eval_ts_;
}

std::vector<tsdb::Labels> Group::AllSeries() const {
  absl::MutexLock l(&mu_);
  std::vector<tsdb::Labels> out = stale_series_;
  for (const auto& set : previous_series_) out.insert(out.end(), set.begin(), set.end());
  return out;
}

GroupSnapshot Group::Snapshot() const {
  absl::MutexLock l(&mu_);
  GroupSnapshot g;
  g.name = name_;
  g.file = file_;
  g.interval = interval_;
  g.limit = limit_;
  g.last_evaluation = last_evaluation_;
  g.evaluation_time = evaluation_time_;
  g.out_of_order_total = out_of_order_total_;
  g.duplicates_total = duplicates_total_;
  for (const auto& r : rules_) {
    RuleSnapshot s;
    s.name = r->name();
    s.query = r->query_text();
    s.alerting = r->IsAlerting();
    s.labels = r->labels();
    s.annotations = r->spec().annotations;
    s.health = r->health;
    s.last_error = r->last_error;
    s.last_evaluation = r->last_evaluation;
    s.evaluation_time = r->evaluation_duration;
    if (const auto* ar = dynamic_cast<const AlertingRule*>(r.get())) {
      s.duration = ar->hold_duration();
      s.keep_firing_for = ar->keep_firing_for();
      s.state = ar->State();
      s.alerts = ar->ActiveAlerts();
    }
    g.rules.push_back(std::move(s));
  }
  return g;
}

}  // namespace stakewatch::ruleeval
