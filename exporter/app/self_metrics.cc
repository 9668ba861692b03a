#include "app/self_metrics.h"

#include "absl/time/clock.h"
#include "common/status_macros.h"

#ifndef STAKEWATCH_VERSION
#define STAKEWATCH_VERSION "unknown"
#endif
#ifndef STAKEWATCH_REVISION
#define STAKEWATCH_REVISION "unknown"
#endif

namespace stakewatch::app {

using exposition::FamilyDesc;
using exposition::MetricType;

std::string_view StakewatchVersion() { return STAKEWATCH_VERSION; }
std::string_view StakewatchRevision() { return STAKEWATCH_REVISION; }

absl::StatusOr<SelfMetrics> SelfMetrics::Create(exposition::SeriesStore* store,
                                                absl::Time start_time) {
  SelfMetrics m;
  ASSIGN_OR_RETURN(exposition::Family * build,
                   store->AddFamily(FamilyDesc{
                       "stakewatch_build_info",
                       "A metric with a constant '1' value labeled by version and revision.",
                       MetricType::kGauge,
                       {"version", "revision", "compiler"}}));
  const std::string_view build_labels[] = {StakewatchVersion(), StakewatchRevision(),
                                           "g++ " __VERSION__};
  build->Set(build->GetOrCreate(build_labels), 1);
  ASSIGN_OR_RETURN(exposition::Family * start,
                   store->AddFamily(FamilyDesc{"stakewatch_start_time_seconds",
                                               "Unix time at which stakewatch started.",
                                               MetricType::kGauge,
                                               {}}));
  start->Set(start->GetOrCreate({}), absl::ToDoubleSeconds(start_time - absl::UnixEpoch()));
  ASSIGN_OR_RETURN(m.epochs_processed_,
                   store->AddFamily(FamilyDesc{"stakewatch_epochs_processed_total",
                                               "Epochs whose accounting completed.",
                                               MetricType::kCounter,
                                               {}}));
  m.epochs_processed_->GetOrCreate({});
  ASSIGN_OR_RETURN(
      m.epoch_errors_,
      store->AddFamily(
          FamilyDesc{"stakewatch_epoch_processing_errors_total",
                     "Attempts to process an epoch that failed (the epoch is retried), by reason.",
                     MetricType::kCounter,
                     {"reason"}}));
  for (std::string_view reason : {"beacon_api", "inconsistent_data"}) {
    const std::string_view labels[] = {reason};
    m.epoch_errors_->GetOrCreate(labels);
  }
  ASSIGN_OR_RETURN(m.last_epoch_,
                   store->AddFamily(FamilyDesc{"stakewatch_last_processed_epoch",
                                               "The most recent epoch whose accounting completed.",
                                               MetricType::kGauge,
                                               {}}));
  ASSIGN_OR_RETURN(m.epoch_duration_,
                   store->AddFamily(FamilyDesc{"stakewatch_epoch_processing_duration_seconds",
                                               "Time to fetch, decode and account one epoch.",
                                               MetricType::kHistogram,
                                               {},
                                               {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60}}));
  m.epoch_duration_->GetOrCreate({});
  ASSIGN_OR_RETURN(m.monitored_, store->AddFamily(FamilyDesc{
                                     "stakewatch_monitored_validators",
                                     "Validators configured for monitoring (resolved to indices).",
                                     MetricType::kGauge,
                                     {}}));
  ASSIGN_OR_RETURN(
      m.http_duration_,
      store->AddFamily(FamilyDesc{"stakewatch_http_request_duration_seconds",
                                  "Time to serve stakewatch's own HTTP endpoints, by handler.",
                                  MetricType::kHistogram,
                                  {"handler"},
                                  {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}));
  ASSIGN_OR_RETURN(m.skipped_,
                   store->AddFamily(FamilyDesc{
                       "stakewatch_epochs_skipped_total",
                       "Epochs missed during downtime beyond beacon.max_backfill_epochs, never "
                       "accounted.",
                       MetricType::kCounter,
                       {}}));
  m.skipped_->GetOrCreate({});
  ASSIGN_OR_RETURN(m.progress_errors_,
                   store->AddFamily(FamilyDesc{
                       "stakewatch_progress_write_errors_total",
                       "Failures to save progress to storage.path (a restart would then re-account "
                       "epochs since the last successful save).",
                       MetricType::kCounter,
                       {}}));
  m.progress_errors_->GetOrCreate({});
  ASSIGN_OR_RETURN(m.finalized_epoch_,
                   store->AddFamily(FamilyDesc{"stakewatch_finalized_epoch",
                                               "The beacon node's finalized checkpoint epoch.",
                                               MetricType::kGauge,
                                               {}}));
  ASSIGN_OR_RETURN(m.provisional_epoch_,
                   store->AddFamily(FamilyDesc{
                       "stakewatch_provisional_epoch",
                       "Newest complete epoch whose results are provisional (the "
                       "eth_validator_group_provisional_* gauges); counted once finalized.",
                       MetricType::kGauge,
                       {}}));
  ASSIGN_OR_RETURN(m.reorgs_, store->AddFamily(FamilyDesc{"stakewatch_reorgs_total",
                                                          "Chain reorganisations noticed, by how "
                                                          "(events stream or polling).",
                                                          MetricType::kCounter,
                                                          {"via"}}));
  for (std::string_view via : {"events", "polling"}) {
    const std::string_view l[] = {via};
    m.reorgs_->GetOrCreate(l);
  }
  ASSIGN_OR_RETURN(m.recomputed_, store->AddFamily(FamilyDesc{
                                      "stakewatch_provisional_recomputations_total",
                                      "Provisional epoch results recomputed after a reorg.",
                                      MetricType::kCounter,
                                      {}}));
  m.recomputed_->GetOrCreate({});
  ASSIGN_OR_RETURN(m.source_missing_,
                   store->AddFamily(FamilyDesc{
                       "stakewatch_source_unavailable_total",
                       "Counted epochs for which an optional source was not available (the epoch "
                       "was counted without it), by source.",
                       MetricType::kCounter,
                       {"source"}}));
  ASSIGN_OR_RETURN(
      m.stream_connected_,
      store->AddFamily(FamilyDesc{"stakewatch_event_stream_connected",
                                  "1 while the beacon node's /eth/v1/events stream is connected.",
                                  MetricType::kGauge,
                                  {}}));
  m.stream_connected_->GetOrCreate({});
  ASSIGN_OR_RETURN(m.events_, store->AddFamily(FamilyDesc{"stakewatch_events_received_total",
                                                          "Events received from the beacon "
                                                          "node's event stream, by topic.",
                                                          MetricType::kCounter,
                                                          {"topic"}}));
  const std::string_view metrics_handler[] = {"/metrics"};
  m.http_duration_->GetOrCreate(metrics_handler);
  return m;
}

void SelfMetrics::EpochProcessed(uint64_t epoch, absl::Duration took) {
  epochs_processed_->Add(exposition::SeriesId{0}, 1);
  last_epoch_->Set(last_epoch_->GetOrCreate({}), static_cast<double>(epoch));
  epoch_duration_->Observe(exposition::SeriesId{0}, absl::ToDoubleSeconds(took));
}

void SelfMetrics::EpochFailed(std::string_view reason) {
  const std::string_view labels[] = {reason};
  epoch_errors_->Add(epoch_errors_->GetOrCreate(labels), 1);
}

void SelfMetrics::EpochsSkipped(uint64_t n) {
  skipped_->Add(exposition::SeriesId{0}, static_cast<double>(n));
}

void SelfMetrics::ProgressWriteFailed() { progress_errors_->Add(exposition::SeriesId{0}, 1); }

void SelfMetrics::SetFinalizedEpoch(uint64_t epoch) {
  finalized_epoch_->Set(finalized_epoch_->GetOrCreate({}), static_cast<double>(epoch));
}

void SelfMetrics::SetProvisionalEpoch(uint64_t epoch) {
  provisional_epoch_->Set(provisional_epoch_->GetOrCreate({}), static_cast<double>(epoch));
}

void SelfMetrics::ReorgSeen(std::string_view via) {
  const std::string_view labels[] = {via};
  reorgs_->Add(reorgs_->GetOrCreate(labels), 1);
}

void SelfMetrics::ProvisionalRecomputed() { recomputed_->Add(exposition::SeriesId{0}, 1); }

void SelfMetrics::SourceMissing(std::string_view source) {
  const std::string_view labels[] = {source};
  source_missing_->Add(source_missing_->GetOrCreate(labels), 1);
}

void SelfMetrics::SetEventStreamConnected(bool connected) {
  stream_connected_->Set(exposition::SeriesId{0}, connected ? 1 : 0);
}

void SelfMetrics::EventReceived(std::string_view topic) {
  const std::string_view labels[] = {topic};
  events_->Add(events_->GetOrCreate(labels), 1);
}

void SelfMetrics::SetMonitoredValidators(double n) {
  monitored_->Set(monitored_->GetOrCreate({}), n);
}

void SelfMetrics::ObserveHttpRequest(std::string_view handler, absl::Duration took) {
  const std::string_view labels[] = {handler};
  http_duration_->Observe(http_duration_->GetOrCreate(labels), absl::ToDoubleSeconds(took));
}

}  // namespace stakewatch::app
