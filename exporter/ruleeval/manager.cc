#include "ruleeval/manager.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
  Clock* clock = options_.clock != nullptr ? options_.clock : Clock::Real();
  GroupOptions go{.storage = options_.storage,
                  .query = options_.query,
                  .clock = clock,
                  .external_labels = options_.external_labels,
                  .external_url = options_.external_url,
                  .default_interval = options_.evaluation_interval,
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
      next[key] = std::move(newg);
    }
  }
  // Groups left in groups_ were removed.
  for (auto& [key, oldg] : groups_) {
    {
      absl::MutexLock rl(&removed_mu_);
      removed_.push_back({oldg->AllSeries(), now, now + 2 * oldg->interval()});
    }
    if (metrics_) metrics_->RemoveGroup(GroupKey(key.first, key.second));
  }
  groups_ = std::move(next);
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
    for (auto& [key, g] : groups_) g->Tick(now);
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
    const absl::Time next = g->Tick(clock->Now());
    FlushRemoved(clock->Now());
    const absl::Duration wait =
        std::clamp(next - clock->Now(), absl::ZeroDuration(), options_.max_poll);
    stop->WaitForNotificationWithTimeout(wait);
  }
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
