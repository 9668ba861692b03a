#include "app/beacon_node_metrics.h"

#include "common/status_macros.h"

namespace stakewatch::app {

using exposition::FamilyDesc;
using exposition::MetricType;

absl::StatusOr<std::unique_ptr<BeaconNodeMetrics>> BeaconNodeMetrics::Create(
    exposition::SeriesStore* store, const std::vector<std::string>& nodes) {
  std::unique_ptr<BeaconNodeMetrics> m(new BeaconNodeMetrics());
  ASSIGN_OR_RETURN(m->requests_,
                   store->AddFamily(FamilyDesc{
                       "eth_beacon_node_requests_total",
                       "Beacon API requests sent, by node, endpoint and outcome (ok, not_found, "
                       "or the error reason).",
                       MetricType::kCounter,
                       {"node", "endpoint", "outcome"}}));
  ASSIGN_OR_RETURN(m->errors_, store->AddFamily(FamilyDesc{
                                   "eth_beacon_node_request_errors_total",
                                   "Beacon API requests that failed, by node and reason.",
                                   MetricType::kCounter,
                                   {"node", "reason"}}));
  ASSIGN_OR_RETURN(m->duration_, store->AddFamily(FamilyDesc{
                                     "eth_beacon_node_request_duration_seconds",
                                     "Beacon API request latency, by node.",
                                     MetricType::kHistogram,
                                     {"node"},
                                     {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}));
  ASSIGN_OR_RETURN(m->up_, store->AddFamily(FamilyDesc{
                               "eth_beacon_node_up",
                               "1 if the node is usable (reachable, synced, EL online), else 0.",
                               MetricType::kGauge,
                               {"node"}}));
  ASSIGN_OR_RETURN(m->active_,
                   store->AddFamily(FamilyDesc{
                       "eth_beacon_node_active",
                       "1 for the node that served the most recent successful request, else 0.",
                       MetricType::kGauge,
                       {"node"}}));
  ASSIGN_OR_RETURN(m->head_slot_,
                   store->AddFamily(FamilyDesc{"eth_beacon_node_head_slot",
                                               "Head slot the node reported (node/syncing).",
                                               MetricType::kGauge,
                                               {"node"}}));
  ASSIGN_OR_RETURN(m->sync_distance_,
                   store->AddFamily(FamilyDesc{"eth_beacon_node_sync_distance_slots",
                                               "Sync distance the node reported, in slots.",
                                               MetricType::kGauge,
                                               {"node"}}));
  ASSIGN_OR_RETURN(m->syncing_,
                   store->AddFamily(FamilyDesc{"eth_beacon_node_syncing",
                                               "1 if the node reported is_syncing, else 0.",
                                               MetricType::kGauge,
                                               {"node"}}));
  ASSIGN_OR_RETURN(
      m->el_offline_,
      store->AddFamily(FamilyDesc{"eth_beacon_node_el_offline",
                                  "1 if the node reported its execution client offline, else 0.",
                                  MetricType::kGauge,
                                  {"node"}}));
  for (const std::string& node : nodes) {
    const std::string_view labels[] = {node};
    m->up_->Set(m->up_->GetOrCreate(labels), 1);  // unchecked nodes count as usable
    m->active_->GetOrCreate(labels);
    m->duration_->GetOrCreate(labels);
  }
  return m;
}

void BeaconNodeMetrics::OnRequest(std::string_view node, std::string_view endpoint,
                                  absl::Duration duration, std::string_view outcome) {
  const std::string_view labels[] = {node, endpoint, outcome};
  requests_->Add(requests_->GetOrCreate(labels), 1);
  const std::string_view node_label[] = {node};
  duration_->Observe(duration_->GetOrCreate(node_label), absl::ToDoubleSeconds(duration));
  const bool ok = outcome == beacon::reason::kOk || outcome == beacon::reason::kNotFound;
  if (!ok) {
    const std::string_view err_labels[] = {node, outcome};
    errors_->Add(errors_->GetOrCreate(err_labels), 1);
    return;
  }
  absl::MutexLock lock(&mu_);
  if (active_node_ != node) {
    if (!active_node_.empty()) {
      const std::string_view old_label[] = {active_node_};
      active_->Set(active_->GetOrCreate(old_label), 0);
    }
    active_node_ = std::string(node);
    active_->Set(active_->GetOrCreate(node_label), 1);
  }
}

void BeaconNodeMetrics::OnNodeState(std::string_view node, bool healthy,
                                    const beacon::SyncStatus* status, std::string_view) {
  const std::string_view labels[] = {node};
  up_->Set(up_->GetOrCreate(labels), healthy ? 1 : 0);
  if (status != nullptr) OnNodeInfo(node, *status);
}

void BeaconNodeMetrics::OnNodeInfo(std::string_view node, const beacon::SyncStatus& status) {
  const std::string_view labels[] = {node};
  head_slot_->Set(head_slot_->GetOrCreate(labels), static_cast<double>(status.head_slot));
  sync_distance_->Set(sync_distance_->GetOrCreate(labels),
                      static_cast<double>(status.sync_distance));
  syncing_->Set(syncing_->GetOrCreate(labels), status.is_syncing ? 1 : 0);
  el_offline_->Set(el_offline_->GetOrCreate(labels), status.el_offline ? 1 : 0);
}

}  // namespace stakewatch::app
