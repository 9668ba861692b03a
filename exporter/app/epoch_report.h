// EpochReport: everything stakewatch derives for one epoch beyond attestation inclusion and
// proposals: balances and statuses, attestation rewards against the ideal, sync-committee duties
// and rewards, consensus block rewards, fee recipients, execution (MEV) rewards and slashings.
//
// EpochEnricher fills an EpochReport for a finalized (or, with count_finalized_only off,
// complete) epoch E from the beacon node, after EpochProcessor has accounted E (its block cache
// then holds every block of E and E+1). It keeps a table of the monitored validators' last known
// balance, effective balance, status and slashed flag (ValidatorStates), so that:
//   * balances are read every epoch (validator_balances at the state of E's last slot, only the
//     monitored indices, in chunks);
//   * full validator records (status, effective balance, slashed) are refreshed for every
//     monitored validator each epoch when there are at most kFullRefreshLimit of them, otherwise
//     for a rotating 1/kRefreshRounds slice per epoch (a full validators response is ~400 bytes
//     per validator: 0.45 GB at mainnet size), plus at once for any validator a block of E
//     slashes;
//   * the balance change of E is balance(E) - balance(E-1) + withdrawals in E's blocks, with
//     deposits and consolidations set aside (accounting/balances.h). When balance(E-1) is not
//     known (first epoch, after a restart or a gap) it is read too, so no epoch lacks it.
//
// Optional sources degrade, they do not fail the epoch: a node that does not serve rewards
// (404/501, or a pruned state) leaves the reward fields empty and counts the miss in
// `missing`; only the core reads (balances, blocks) fail the epoch, which is then retried.
//
// Owned by the daemon's polling thread (or the report command); not thread-safe. Borrows the
// client, which must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "accounting/accounting.h"
#include "accounting/balances.h"
#include "accounting/sync_committee.h"
#include "beacon/client.h"
#include "beacon/types.h"

namespace stakewatch::app {

class EpochProcessor;

// The validator statuses of the Beacon API (validator_status in the spec's order), plus
// kUnknown for "not read yet".
enum class ValidatorStatus : uint8_t {
  kUnknown,
  kPendingInitialized,
  kPendingQueued,
  kActiveOngoing,
  kActiveExiting,
  kActiveSlashed,
  kExitedUnslashed,
  kExitedSlashed,
  kWithdrawalPossible,
  kWithdrawalDone,
};
inline constexpr int kValidatorStatusCount = 10;
// "unknown", "pending_initialized", ... as the Beacon API spells them.
std::string_view ValidatorStatusName(ValidatorStatus s);
// kUnknown for an unrecognized string.
ValidatorStatus ParseValidatorStatus(std::string_view s);
// Active statuses (the validator has attestation duties).
bool IsActiveStatus(ValidatorStatus s);

// Last known facts about one monitored validator.
struct ValidatorState {
  beacon::Gwei balance = 0;
  beacon::Gwei effective_balance = 0;
  ValidatorStatus status = ValidatorStatus::kUnknown;
  bool slashed = false;
  bool has_balance = false;
  beacon::Epoch balance_epoch = 0;  // epoch whose last-slot state `balance` is from
};

struct BalanceRecord {
  beacon::ValidatorIndex validator = 0;
  int32_t group = 0;
  beacon::Gwei balance = 0;            // at the state of E's last slot
  beacon::Gwei effective_balance = 0;  // last known
  beacon::Gwei withdrawn = 0;          // withdrawals in E's blocks
  accounting::BalanceChange change;    // income, deposits, transfers
};

struct AttestationRewardRecord {
  beacon::ValidatorIndex validator = 0;
  int32_t group = 0;
  accounting::AttestationRewardResult reward;
};

struct SyncRewardRecord {
  beacon::ValidatorIndex validator = 0;
  int32_t group = 0;
  // gwei, summed over the blocks at E's slots (by block slot, like the balances) and the
  // validator's positions. Note the duties in `sync` are by vote slot (one slot earlier).
  int64_t reward = 0;
};

struct SlashingRecord {
  beacon::ValidatorIndex validator = 0;
  int32_t group = 0;
  beacon::Slot slot = 0;           // slot of the block that includes the slashing
  bool proposer_slashing = false;  // else an attester slashing
};

// Per proposal of EpochResult::proposals (same order).
struct ProposalDetail {
  std::optional<beacon::Gwei> block_reward;  // consensus reward of a proposed block
  // Proposed blocks of a group with a configured fee recipient: whether the payload paid it.
  std::optional<bool> fee_recipient_ok;
};

struct EpochReport {
  beacon::Epoch epoch = 0;
  std::vector<BalanceRecord> balances;
  // Empty when the node served no attestation rewards for E (see `missing`).
  std::vector<AttestationRewardRecord> attestation_rewards;
  std::vector<accounting::SyncCommitteeResult> sync;
  std::vector<SyncRewardRecord> sync_rewards;
  std::vector<SlashingRecord> slashings;
  std::vector<ProposalDetail> proposals;
  // Optional sources the node did not serve for this epoch, e.g. "attestation_rewards".
  std::vector<std::string> missing;
};

struct EnricherOptions {
  // Validators whose full records are refreshed every epoch, at most.
  size_t full_refresh_limit = 32768;
  // Above that, a slice of 1/refresh_rounds of them per epoch.
  size_t refresh_rounds = 32;
  // Ids per request (validators, validator_balances, rewards).
  size_t chunk = 100000;
  // Balances and attestation rewards are asked for every validator at once (no id list; the
  // rows of unmonitored validators are dropped) when at least this many are monitored and they
  // cover at least half of the index range up to the highest one.
  size_t ask_all_min = 100000;
};

// Removes from `result` the attestation duties of validators whose slashed flag is set in
// `states`: a slashed validator is still in committees until its exit epoch, but it can earn
// nothing and its client has stopped, so stakewatch counts no duty (and never a miss) for it.
void DropSlashedDuties(const std::vector<ValidatorState>& states, accounting::EpochResult* result);

class EpochEnricher {
 public:
  // `group_fee_recipients[g]`: the fee recipient group g is configured with, if any.
  EpochEnricher(beacon::BeaconClient* client, const beacon::ChainSpec& spec,
                std::vector<std::optional<beacon::Address>> group_fee_recipients,
                EnricherOptions options = {});

  // Fills *out for epoch `epoch`. REQUIRES: processor->ProcessInto(epoch, ...) succeeded just
  // before with the same monitored set, producing `result`. `monitored_list` is every monitored
  // index, ascending. On error `*out` is unspecified; the table may have been partly updated,
  // which is harmless: a retry re-reads every balance it needs.
  absl::Status Enrich(beacon::Epoch epoch, const accounting::MonitoredSet& monitored,
                      const std::vector<beacon::ValidatorIndex>& monitored_list,
                      EpochProcessor* processor, const accounting::EpochResult& result,
                      EpochReport* out);

  // Reads full validator records of `ids` (ascending) at `state_id` into the table (startup,
  // and for the report). Unknown indices stay kUnknown; rows for indices not asked for are
  // ignored.
  absl::Status RefreshRecords(std::string_view state_id,
                              const std::vector<beacon::ValidatorIndex>& ids);
  // The daemon's one-time start-up read before it counts epoch `first_epoch`: every monitored
  // validator's full record and balance at the last slot of first_epoch - 1, so that the first
  // counted epoch costs what any later one does. Optional: what fails here is read by Enrich.
  absl::Status Prime(beacon::Epoch first_epoch,
                     const std::vector<beacon::ValidatorIndex>& monitored_list);

  // The table (indexed by validator index; entries of unmonitored indices stay default).
  const std::vector<ValidatorState>& states() const { return states_; }

  // Keep every monitored validator's pubkey as its record is read (for the signing path, which
  // looks validators up by key). Off by default: 56 bytes per validator.
  void set_keep_pubkeys(bool keep) { keep_pubkeys_ = keep; }
  // The pubkeys read so far (empty unless keep_pubkeys). A pubkey never changes for an index.
  const absl::flat_hash_map<beacon::ValidatorIndex, beacon::Pubkey>& pubkeys() const {
    return pubkeys_;
  }

 private:
  ValidatorState& StateOf(beacon::ValidatorIndex v);
  bool AskForAll(const std::vector<beacon::ValidatorIndex>& ids) const;
  // Balances of `ids` (ascending) at `state_id`; rows for indices not asked for are dropped.
  absl::StatusOr<std::vector<beacon::ValidatorBalance>> Balances(
      std::string_view state_id, const std::vector<beacon::ValidatorIndex>& ids);
  absl::StatusOr<const beacon::SyncCommittee*> SyncCommitteeFor(beacon::Epoch epoch);

  beacon::BeaconClient* client_;
  beacon::ChainSpec spec_;
  uint64_t spe_;
  std::vector<std::optional<beacon::Address>> fee_recipients_;
  EnricherOptions options_;
  std::vector<ValidatorState> states_;
  size_t refresh_cursor_ = 0;
  bool keep_pubkeys_ = false;
  absl::flat_hash_map<beacon::ValidatorIndex, beacon::Pubkey> pubkeys_;
  std::map<uint64_t, beacon::SyncCommittee> sync_committees_;  // by period; at most 2 kept
};

}  // namespace stakewatch::app
