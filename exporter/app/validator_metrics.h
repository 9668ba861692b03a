// ValidatorMetrics: turns per-epoch accounting results into series in the SeriesStore.
//
// Per-group rollups always exist (labels: group plus every label key any group defines; a group
// without a key gets the empty value, which Prometheus treats as absent). Per-validator series
// (labels: group, validator_index) exist only when enabled, for at most `per_validator_limit`
// validators (the lowest indices), because each costs memory here and in Prometheus.
// All counter series are created at 0 up front so increase() works from the first scrape.
//
// Owned by the daemon; borrows the store (which must outlive it). RecordEpoch is called from the
// daemon's polling thread only; the store itself is safe to render concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "accounting/accounting.h"
#include "exposition/series_store.h"

namespace stakewatch::app {

struct GroupInfo {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // extra labels, e.g. operator=...
};

struct PerValidatorOptions {
  bool enabled = false;
  uint64_t limit = 10000;
};

class ValidatorMetrics {
 public:
  // Registers the families. `validators` lists (validator index, group ordinal into `groups`).
  static absl::StatusOr<std::unique_ptr<ValidatorMetrics>> Create(
      exposition::SeriesStore* store, const std::vector<GroupInfo>& groups,
      const std::vector<std::pair<uint64_t, int32_t>>& validators, PerValidatorOptions options);

  // Adds one epoch's results to the counters.
  void RecordEpoch(const accounting::EpochResult& result);

  // Buckets of the inclusion delay histogram (slots).
  static const std::vector<double>& DelayBuckets();

 private:
  ValidatorMetrics() = default;

  struct GroupSeries {
    exposition::SeriesId duties, included, missed, delay, proposed, missed_proposals;
    exposition::SeriesId correct[3], timely[3];  // head, target, source
    exposition::SeriesId effectiveness;
  };
  exposition::Family* g_duties_ = nullptr;
  exposition::Family* g_included_ = nullptr;
  exposition::Family* g_missed_ = nullptr;
  exposition::Family* g_delay_ = nullptr;
  exposition::Family* g_proposals_ = nullptr;
  exposition::Family* g_correct_ = nullptr;
  exposition::Family* g_timely_ = nullptr;
  exposition::Family* g_effectiveness_ = nullptr;
  std::vector<GroupSeries> group_series_;
  std::vector<std::string> group_names_;

  // Per-validator: series ordinal by validator index (-1: no per-validator series). The same
  // ordinal is the SeriesId in every per-validator family, because all are created in one order.
  std::vector<int32_t> ordinal_of_;
  exposition::Family* v_included_ = nullptr;
  exposition::Family* v_missed_ = nullptr;
  exposition::Family* v_delay_ = nullptr;
  exposition::Family* v_proposals_ = nullptr;
};

}  // namespace stakewatch::app
