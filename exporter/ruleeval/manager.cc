#include "ruleeval/manager.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/atomic_file.h"
#include "common/log.h"
#include "common/strings.h"
#include "promql/parser.h"
#include "template/template.h"

namespace stakewatch::ruleeval {

rules::ValidationOptions RuleValidators() {
  rules::ValidationOptions v;
  v.validate_expr = [](std::string_view e) { return promql::ParseExpr(e).status(); };
  v.validate_template = [](std::string_view name, std::string_view text) {
    tmpl::Template t{std::string(name)};
    return t.Parse(absl::StrCat(ToAbsl(tmpl::kAlertTemplatePrefix), ToAbsl(text)));
  };
  return v;
}

Manager::Manager(ManagerOptions options) : options_(std::move(options)) {
  globals_ = Globals{options_.evaluation_interval, options_.external_labels};
  if (options_.metrics_store != nullptr) {
    absl::StatusOr<std::unique_ptr<RuleMetrics>> m = RuleMetrics::Create(options_.metrics_store);
    if (m.ok()) {
      metrics_ = std::move(*m);
    } else {
      LogWarn("rule self-metrics not registered", {{"err", std::string(m.status().message())}});
    }
  }
}

Manager::~Manager() { Stop(); }

absl::Status Manager::Update(const std::vector<std::string>& files) {
  absl::MutexLock l(&mu_);
  return UpdateLocked(files, globals_);
}

absl::Status Manager::Update(const std::vector<std::string>& files, const Globals& globals) {
  absl::MutexLock l(&mu_);
  return UpdateLocked(files, globals);
}

absl::Status Manager::UpdateLocked(const std::vector<std::string>& files, const Globals& globals) {
  Clock* clock = options_.clock != nullptr ? options_.clock : Clock::Real();
  GroupOptions go{.storage = options_.storage,
                  .query = options_.query,
                  .clock = clock,
                  .external_labels = globals.external_labels,
                  .external_url = options_.external_url,
                  .default_interval = globals.evaluation_interval,
                  .resend_delay = options_.resend_delay,
                  .notify = options_.notify,
                  .metrics = metrics_.get()};

  // Load everything first; build groups without metrics so that a failed reload leaves no
  // trace in the metrics.
  std::vector<std::string> errors;
  std::vector<std::pair<std::string, rules::RuleGroup>> specs;
  for (const std::string& f : files) {
    absl::StatusOr<rules::RuleFile> rf = rules::LoadRuleFile(f, RuleValidators());
    if (!rf.ok()) {
      errors.emplace_back(rf.status().message());
      continue;
    }
    for (rules::RuleGroup& g : rf->groups) specs.emplace_back(f, std::move(g));
  }
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Group>> fresh;
  if (errors.empty()) {
    GroupOptions probe = go;
    probe.metrics = nullptr;
    for (const auto& [file, spec] : specs) {
      absl::StatusOr<std::unique_ptr<Group>> g = Group::Create(spec, file, probe);
      if (!g.ok()) {
        errors.emplace_back(g.status().message());
        continue;
      }
      fresh[{file, spec.name}] = *std::move(g);
    }
  }
  if (!errors.empty()) {
    for (const std::string& e : errors) LogError("loading groups failed", {{"err", e}});
    if (metrics_) metrics_->reload_successful().Set(0);
    return absl::InvalidArgumentError(absl::StrCat(
        "error loading rules, previous rule set restored: ", absl::StrJoin(errors, "; ")));
  }
  // Rebuild with metrics attached (cheap: rules are re-parsed from validated specs).
  for (const auto& [file, spec] : specs) {
    absl::StatusOr<std::unique_ptr<Group>> g = Group::Create(spec, file, go);
    if (g.ok()) fresh[{file, spec.name}] = *std::move(g);
  }

  const bool was_running = running_;
  StopThreadsLocked();
  const absl::Time now = clock->Now();
  LoadStateOnce();
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Group>> next;
  for (auto& [key, newg] : fresh) {
    auto old = groups_.find(key);
    if (old != groups_.end()) {
      if (old->second->Equals(*newg)) {
        next[key] = std::move(old->second);
      } else {
        newg->CopyState(*old->second);
        next[key] = std::move(newg);
      }
      groups_.erase(old);
    } else {
      auto st = to_restore_.find(key);
      if (st != to_restore_.end()) {
        newg->RestoreState(st->second, now, options_.restore);
        LogInfo("Restored alert state", {{"file", key.first},
                                         {"group", key.second},
                                         {"rules", absl::StrCat(st->second.rules.size())}});
      }
      next[key] = std::move(newg);
    }
  }
  to_restore_.clear();  // only the first load restores
  // Groups left in groups_ were removed.
  for (auto& [key, oldg] : groups_) {
    {
      absl::MutexLock rl(&removed_mu_);
      removed_.push_back({oldg->AllSeries(), now, now + 2 * oldg->interval()});
    }
    if (metrics_) metrics_->RemoveGroup(GroupKey(key.first, key.second));
  }
  if (!options_.state_dir.empty()) {
    absl::MutexLock sl(&state_mu_);
    for (auto& [key, oldg] : groups_) persisted_.erase(key);
    for (auto& [key, g] : next) persisted_[key] = g->PersistentState();
    (void)WriteStateLocked();
  }
  groups_ = std::move(next);
  globals_ = globals;
  if (metrics_) {
    metrics_->reload_successful().Set(1);
    metrics_->reload_success_timestamp().Set(absl::ToDoubleSeconds(now - absl::UnixEpoch()));
  }
  if (was_running) StartThreadsLocked();
  return absl::OkStatus();
}

void Manager::RunOnce(absl::Time now) {
  {
    absl::MutexLock l(&mu_);
    for (auto& [key, g] : groups_) {
      const absl::Time before = g->LastEvalTimestamp();
      g->Tick(now);
      if (g->LastEvalTimestamp() != before) Persist(*g);
    }
  }
  FlushRemoved(now);
}

void Manager::FlushRemoved(absl::Time now) {
  std::vector<RemovedSeries> due;
  {
    absl::MutexLock l(&removed_mu_);
    auto it = std::stable_partition(removed_.begin(), removed_.end(),
                                    [now](const RemovedSeries& r) { return now < r.due; });
    due.assign(std::make_move_iterator(it), std::make_move_iterator(removed_.end()));
    removed_.erase(it, removed_.end());
  }
  for (const RemovedSeries& r : due) {
    std::unique_ptr<tsdb::Appender> app = options_.storage->NewAppender();
    const int64_t ts_ms = absl::ToUnixMillis(r.ts);
    for (const tsdb::Labels& s : r.series) app->Append(s, ts_ms, tsdb::StaleNaN());
    absl::Status c = app->Commit();
    if (!c.ok())
      LogWarn("Stale sample appending for removed group failed", {{"err", ToStd(c.message())}});
  }
}

void Manager::Start() {
  absl::MutexLock l(&mu_);
  if (running_) return;
  running_ = true;
  StartThreadsLocked();
}

void Manager::Stop() {
  absl::MutexLock l(&mu_);
  StopThreadsLocked();
  running_ = false;
}

void Manager::StartThreadsLocked() {
  stop_ = std::make_unique<absl::Notification>();
  for (auto& [key, g] : groups_) {
    threads_.emplace_back([this, grp = g.get(), stop = stop_.get()] { GroupLoop(grp, stop); });
  }
}

void Manager::StopThreadsLocked() {
  if (stop_ != nullptr && !stop_->HasBeenNotified()) stop_->Notify();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  stop_.reset();
}

void Manager::GroupLoop(Group* g, absl::Notification* stop) {
  Clock* clock = options_.clock != nullptr ? options_.clock : Clock::Real();
  while (!stop->HasBeenNotified()) {
    const absl::Time before = g->LastEvalTimestamp();
    const absl::Time next = g->Tick(clock->Now());
    if (g->LastEvalTimestamp() != before) Persist(*g);
    FlushRemoved(clock->Now());
    const absl::Duration wait =
        std::clamp(next - clock->Now(), absl::ZeroDuration(), options_.max_poll);
    stop->WaitForNotificationWithTimeout(wait);
  }
}

void Manager::LoadStateOnce() {
  if (state_loaded_ || options_.state_dir.empty()) return;
  state_loaded_ = true;
  const std::string path = absl::StrCat(options_.state_dir, "/", options_.state_file);
  absl::StatusOr<std::optional<std::string>> data = ReadWholeFile(path, 256 << 20);
  absl::StatusOr<PersistedState> st = absl::NotFoundError("");
  if (data.ok() && data->has_value()) st = DecodeState(**data);
  if (!data.ok() || (data->has_value() && !st.ok())) {
    const absl::Status& err = data.ok() ? st.status() : data.status();
    LogError("Cannot restore alert state; starting without it",
             {{"file", path}, {"err", ToStd(err.message())}});
    return;
  }
  if (!st.ok()) return;  // no file yet
  for (PersistedGroup& g : st->groups) {
    std::pair<std::string, std::string> key{g.file, g.name};
    to_restore_[key] = std::move(g);
  }
}

void Manager::Persist(const Group& g) {
  if (options_.state_dir.empty()) return;
  PersistedGroup st = g.PersistentState();
  absl::MutexLock l(&state_mu_);
  persisted_[{st.file, st.name}] = std::move(st);
  (void)WriteStateLocked();
}

absl::Status Manager::WriteStateLocked() {
  Clock* clock = options_.clock != nullptr ? options_.clock : Clock::Real();
  PersistedState st;
  for (const auto& [key, g] : persisted_) st.groups.push_back(g);
  // An unchanged state is not rewritten. saved_at, and last_eval of a group without pending
  // alerts (it is only used to restore pending timers), are not part of the comparison.
  PersistedState cmp = st;
  for (PersistedGroup& g : cmp.groups) {
    bool pending = false;
    for (const PersistedRule& r : g.rules) {
      for (const Alert& a : r.alerts) pending |= a.state == AlertState::kPending;
    }
    if (!pending) g.last_eval = ZeroTime();
  }
  const std::string body = EncodeState(cmp);
  if (body == last_written_) return absl::OkStatus();
  st.saved_at = clock->Now();
  absl::Status s = WriteFileAtomically(options_.state_dir, options_.state_file, EncodeState(st));
  if (!s.ok()) {
    if (metrics_) metrics_->state_write_errors().Increment();
    if (std::string(s.message()) != last_write_error_) {
      LogError("Cannot persist alert state", {{"err", ToStd(s.message())}});
      last_write_error_ = std::string(s.message());
    }
    return s;
  }
  last_write_error_.clear();
  last_written_ = body;
  return absl::OkStatus();
}

std::vector<GroupSnapshot> Manager::Groups() const {
  absl::MutexLock l(&mu_);
  std::vector<GroupSnapshot> out;
  for (const auto& [key, g] : groups_) out.push_back(g->Snapshot());
  return out;
}

std::vector<RuleSnapshot> Manager::Rules() const {
  std::vector<RuleSnapshot> out;
  for (GroupSnapshot& g : Groups()) {
    for (RuleSnapshot& r : g.rules) out.push_back(std::move(r));
  }
  return out;
}

std::vector<Alert> Manager::Alerts() const {
  std::vector<Alert> out;
  for (const RuleSnapshot& r : Rules()) out.insert(out.end(), r.alerts.begin(), r.alerts.end());
  return out;
}

}  // namespace stakewatch::ruleeval
