#include "app/source_health.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status_macros.h"

namespace stakewatch::app {

using exposition::FamilyDesc;
using exposition::MetricType;

absl::StatusOr<std::unique_ptr<SourceHealth>> SourceHealth::Create(exposition::SeriesStore* store,
                                                                   Clock* clock) {
  std::unique_ptr<SourceHealth> h(new SourceHealth(clock));
  ASSIGN_OR_RETURN(
      h->up_, store->AddFamily(FamilyDesc{"stakewatch_source_up",
                                          "1 if the last poll of the source succeeded, else 0.",
                                          MetricType::kGauge,
                                          {"source", "target"}}));
  ASSIGN_OR_RETURN(h->last_success_,
                   store->AddFamily(FamilyDesc{
                       "stakewatch_source_last_success_timestamp_seconds",
                       "Unix time of the source's last successful poll (absent before one).",
                       MetricType::kGauge,
                       {"source", "target"}}));
  ASSIGN_OR_RETURN(h->errors_, store->AddFamily(FamilyDesc{"stakewatch_source_errors_total",
                                                           "Failed polls of the source, by reason.",
                                                           MetricType::kCounter,
                                                           {"source", "target", "reason"}}));
  return h;
}

void SourceHealth::Register(std::string_view source, std::string_view target) {
  const std::string_view labels[] = {source, target};
  up_->GetOrCreate(labels);
  absl::MutexLock lock(&mu_);
  states_.try_emplace({std::string(source), std::string(target)});
}

void SourceHealth::Success(std::string_view source, std::string_view target) {
  const std::string_view labels[] = {source, target};
  up_->Set(up_->GetOrCreate(labels), 1);
  last_success_->Set(last_success_->GetOrCreate(labels),
                     absl::ToDoubleSeconds(clock_->Now() - absl::UnixEpoch()));
  bool recovered = false;
  {
    absl::MutexLock lock(&mu_);
    State& st = states_[{std::string(source), std::string(target)}];
    recovered = st.known && !st.up;
    st.up = true;
    st.known = true;
    st.last_reason.clear();
    st.last_message.clear();
    st.last_success = clock_->Now();
  }
  if (recovered) LogInfo("source recovered", {{"source", source}, {"target", target}});
}

void SourceHealth::Failure(std::string_view source, std::string_view target,
                           std::string_view reason, std::string_view message) {
  const std::string_view labels[] = {source, target};
  up_->Set(up_->GetOrCreate(labels), 0);
  const std::string_view err_labels[] = {source, target, reason};
  errors_->Add(errors_->GetOrCreate(err_labels), 1);
  bool log = false;
  {
    absl::MutexLock lock(&mu_);
    State& st = states_[{std::string(source), std::string(target)}];
    log = !st.known || st.up || st.last_reason != reason;
    st.up = false;
    st.known = true;
    st.last_reason = std::string(reason);
    st.last_message = std::string(message);
  }
  if (log) {
    LogWarn("source failing",
            {{"source", source}, {"target", target}, {"reason", reason}, {"err", message}});
  }
}

std::vector<SourceHealth::Entry> SourceHealth::List() const {
  std::vector<Entry> out;
  absl::MutexLock lock(&mu_);
  out.reserve(states_.size());
  for (const auto& [key, st] : states_) {
    out.push_back(Entry{key.first, key.second, st.up, st.known,
                        st.last_reason.empty()
                            ? std::string()
                            : absl::StrCat(st.last_reason, ": ", st.last_message),
                        st.last_success});
  }
  return out;
}

bool SourceHealth::IsUp(std::string_view source, std::string_view target) const {
  absl::MutexLock lock(&mu_);
  auto it = states_.find({std::string(source), std::string(target)});
  return it != states_.end() && it->second.up;
}

}  // namespace stakewatch::app
