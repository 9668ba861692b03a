// ValidatorMetrics: turns per-epoch accounting results into series in the SeriesStore.
//
// Per-group rollups always exist (labels: group plus every label key any group defines; a group
// without a key gets the empty value, which Prometheus treats as absent). Per-validator series
// (labels: group, validator_index) exist only when enabled, for at most `per_validator_limit`
// validators (the lowest configured indices first; validators configured by pubkey get theirs
// when they are resolved, while the limit allows), because each costs memory here and in
// Prometheus. All counter series are created at 0 up front so increase() works from the first
// scrape. docs/metrics.md defines every family and its cardinality.
//
// Counters move only for counted epochs (finalized ones, unless count_finalized_only is off), so
// they never go backwards and never count an epoch twice. Provisional results of the newest
// complete epoch go to gauges (RecordProvisional), which a reorg simply overwrites.
//
// Owned by the daemon; borrows the store (which must outlive it). All methods are called from
// the daemon's polling thread only; the store itself is safe to render concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "accounting/accounting.h"
#include "app/epoch_report.h"
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

// Execution-layer outcome of one proposed block (see app/daemon.cc and execution/).
struct ExecutionRecord {
  int32_t group = 0;
  size_t proposal = 0;               // index into EpochResult::proposals
  bool paid_by_builder = false;      // the block's last tx paid the fee recipient (MEV-Boost)
  bool relay_built = false;          // a configured relay delivered the payload
  double to_fee_recipient_gwei = 0;  // what the fee recipient received (EL view)
  // (relay index into the names given to Create, value delivered in gwei)
  std::vector<std::pair<size_t, double>> relay_values;
};

class ValidatorMetrics {
 public:
  // Registers the families. `validators` lists (validator index, group ordinal into `groups`).
  // `relays` names the configured MEV relays (label values of the relay families).
  static absl::StatusOr<std::unique_ptr<ValidatorMetrics>> Create(
      exposition::SeriesStore* store, const std::vector<GroupInfo>& groups,
      const std::vector<std::pair<uint64_t, int32_t>>& validators, PerValidatorOptions options,
      const std::vector<std::string>& relays = {});

  // Gives a validator resolved after Create (configured by pubkey) its per-validator series, if
  // per-validator series are on and the limit is not reached. Idempotent.
  void AddValidator(uint64_t index, int32_t group);

  // Adds one counted epoch's attestation and proposal results to the counters.
  void RecordEpoch(const accounting::EpochResult& result);
  // Adds the rest of a counted epoch: balances, rewards, sync committee, slashings, block
  // rewards, fee recipients; and sets the status gauges from `states` for `monitored_list`.
  void RecordReport(const accounting::EpochResult& result, const EpochReport& report,
                    const std::vector<ValidatorState>& states,
                    const accounting::MonitoredSet& monitored,
                    const std::vector<uint64_t>& monitored_list);
  // Execution rewards of proposed blocks of a counted epoch.
  void RecordExecution(const std::vector<ExecutionRecord>& records);
  // Overwrites the provisional gauges with the newest complete, not yet counted epoch.
  void RecordProvisional(const accounting::EpochResult& result);
  // Liveness (seen on gossip) of the monitored active validators for one epoch:
  // (validator, group, live) triples. Overwrites the liveness gauges.
  void RecordLiveness(const std::vector<std::pair<uint64_t, int32_t>>& live,
                      const std::vector<std::pair<uint64_t, int32_t>>& not_live);

  // Buckets of the inclusion delay histogram (slots).
  static const std::vector<double>& DelayBuckets();

 private:
  ValidatorMetrics() = default;
  static constexpr int kOutcomes = 3;    // proposed, missed, orphaned
  static constexpr int kComponents = 4;  // head, target, source, inactivity

  struct GroupSeries {
    exposition::SeriesId duties, included, missed, delay, effectiveness;
    exposition::SeriesId proposals[kOutcomes], provisional_proposals[kOutcomes];
    exposition::SeriesId correct[3], timely[3];  // head, target, source
    exposition::SeriesId statuses[kValidatorStatusCount];
    exposition::SeriesId slashed_validators, balance, effective_balance;
    exposition::SeriesId income_rewards, income_penalties, withdrawals, deposits, transfers;
    exposition::SeriesId att_rewards[kComponents], att_penalties[kComponents],
        att_ideal[kComponents];
    exposition::SeriesId reward_effectiveness;
    exposition::SeriesId sync_duties, sync_participated, sync_missed, sync_positions;
    exposition::SeriesId sync_rewards, sync_penalties;
    exposition::SeriesId proposer_rewards, wrong_fee_recipient;
    exposition::SeriesId slashings[2];  // attester, proposer
    exposition::SeriesId provisional_included, provisional_missed;
    exposition::SeriesId live, not_live;
    exposition::SeriesId blocks_local, blocks_relay, exec_rewards;
    std::vector<exposition::SeriesId> relay_values;
  };
  std::vector<GroupSeries> group_series_;
  std::vector<std::string> group_names_;
  size_t relay_count_ = 0;

  // Group families (see Create for names).
  exposition::Family *g_duties_ = nullptr, *g_included_ = nullptr, *g_missed_ = nullptr,
                     *g_delay_ = nullptr, *g_proposals_ = nullptr, *g_correct_ = nullptr,
                     *g_timely_ = nullptr, *g_effectiveness_ = nullptr;
  exposition::Family *g_statuses_ = nullptr, *g_slashed_validators_ = nullptr,
                     *g_balance_ = nullptr, *g_effective_balance_ = nullptr;
  exposition::Family *g_income_rewards_ = nullptr, *g_income_penalties_ = nullptr,
                     *g_withdrawals_ = nullptr, *g_deposits_ = nullptr, *g_transfers_ = nullptr;
  exposition::Family *g_att_rewards_ = nullptr, *g_att_penalties_ = nullptr,
                     *g_att_ideal_ = nullptr, *g_reward_effectiveness_ = nullptr;
  exposition::Family *g_sync_duties_ = nullptr, *g_sync_participated_ = nullptr,
                     *g_sync_missed_ = nullptr, *g_sync_positions_ = nullptr,
                     *g_sync_rewards_ = nullptr, *g_sync_penalties_ = nullptr;
  exposition::Family *g_proposer_rewards_ = nullptr, *g_wrong_fee_recipient_ = nullptr,
                     *g_slashings_ = nullptr;
  exposition::Family *g_provisional_attestations_ = nullptr, *g_provisional_proposals_ = nullptr,
                     *g_liveness_ = nullptr;
  exposition::Family *g_blocks_built_ = nullptr, *g_exec_rewards_ = nullptr,
                     *g_relay_values_ = nullptr;

  // Per-validator: series ordinal by validator index (-1: none). The same ordinal is the
  // SeriesId in every per-validator family (proposals: kOutcomes * ordinal + outcome), because
  // all are created together in one order.
  PerValidatorOptions per_validator_;
  std::vector<int32_t> ordinal_of_;
  size_t per_validator_count_ = 0;
  std::vector<exposition::Family*> v_families_;  // every per-validator family but proposals
  exposition::Family *v_included_ = nullptr, *v_missed_ = nullptr, *v_delay_ = nullptr,
                     *v_proposals_ = nullptr, *v_balance_ = nullptr,
                     *v_effective_balance_ = nullptr, *v_income_rewards_ = nullptr,
                     *v_income_penalties_ = nullptr, *v_reward_effectiveness_ = nullptr,
                     *v_sync_participated_ = nullptr, *v_sync_missed_ = nullptr,
                     *v_active_ = nullptr, *v_slashed_ = nullptr, *v_live_ = nullptr;
  int32_t OrdinalOf(uint64_t index) const {
    return index < ordinal_of_.size() ? ordinal_of_[index] : -1;
  }
};

}  // namespace stakewatch::app
