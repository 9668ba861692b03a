// SelfMetrics: stakewatch's own health series (namespace stakewatch_), registered in the store.
//
// Owned by the daemon; the Family pointers belong to the store. Thread-safe (the store is).
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "exposition/series_store.h"

namespace stakewatch::app {

// The version stamped into the binary (CMake project version) and the git revision.
std::string_view StakewatchVersion();
std::string_view StakewatchRevision();

class SelfMetrics {
 public:
  static absl::StatusOr<SelfMetrics> Create(exposition::SeriesStore* store, absl::Time start_time);

  void EpochProcessed(uint64_t epoch, absl::Duration took);
  void EpochFailed(std::string_view reason);
  void SetMonitoredValidators(double n);
  void ObserveHttpRequest(std::string_view handler, absl::Duration took);
  void EpochsSkipped(uint64_t n);
  void ProgressWriteFailed();
  // Chain state as the daemon sees it: the node's finalized epoch and the newest complete epoch
  // whose results are provisional (not yet counted).
  void SetFinalizedEpoch(uint64_t epoch);
  void SetProvisionalEpoch(uint64_t epoch);
  // A reorg was noticed (`via`: "events" or "polling"); provisional results were recomputed.
  void ReorgSeen(std::string_view via);
  void ProvisionalRecomputed();
  // An optional source (e.g. "attestation_rewards", "liveness", "execution") was not available
  // for an epoch; the epoch was counted without it.
  void SourceMissing(std::string_view source);
  // The /eth/v1/events stream: connected or not, and events received by topic.
  void SetEventStreamConnected(bool connected);
  void EventReceived(std::string_view topic);

 private:
  SelfMetrics() = default;
  exposition::Family* epochs_processed_ = nullptr;
  exposition::Family* epoch_errors_ = nullptr;
  exposition::Family* last_epoch_ = nullptr;
  exposition::Family* epoch_duration_ = nullptr;
  exposition::Family* monitored_ = nullptr;
  exposition::Family* http_duration_ = nullptr;
  exposition::Family* skipped_ = nullptr;
  exposition::Family* progress_errors_ = nullptr;
  exposition::Family* finalized_epoch_ = nullptr;
  exposition::Family* provisional_epoch_ = nullptr;
  exposition::Family* reorgs_ = nullptr;
  exposition::Family* recomputed_ = nullptr;
  exposition::Family* source_missing_ = nullptr;
  exposition::Family* stream_connected_ = nullptr;
  exposition::Family* events_ = nullptr;
};

}  // namespace stakewatch::app
