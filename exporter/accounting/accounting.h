// Per-epoch validator accounting: pure functions from decoded Beacon API data to results.
//
// This module does no I/O and knows nothing of HTTP, JSON or metrics: the daemon (app/) fetches
// an epoch's committees, proposer duties and canonical blocks, hands them here, and turns the
// results into series. Everything is deterministic and unit-testable with hand-built inputs.
//
// What an epoch E's accounting needs (E is final for this purpose once the chain is past E+1,
// because a vote for a slot of E may be included until the last slot of E+1, EIP-7045):
//   * the committees of E (all of them: Electra aggregates span several committees, and a bit's
//     meaning depends on the sizes of every committee before it in the aggregate);
//   * the canonical block, or its absence, for every slot of E and E+1;
//   * the proposer duties of E.
//
//   MonitoredSet monitored(/*max_index=*/n);
//   monitored.Add(42, /*group=*/0);
//   EpochInput in{.epoch = e, .slots_per_epoch = 32, .committees = &committees,
//                 .blocks = &blocks, .proposer_duties = &duties};
//   absl::StatusOr<EpochResult> r = AccountEpoch(in, monitored);
//
// Threads: all functions are thread-safe (no shared state). Types are thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "beacon/types.h"

namespace stakewatch::accounting {

using beacon::Epoch;
using beacon::Slot;
using beacon::ValidatorIndex;

// Which validators are monitored, and the group each belongs to. Dense by validator index:
// 4 bytes per index up to the highest monitored one (4.4 MB for 1.1 M validators).
class MonitoredSet {
 public:
  static constexpr int32_t kNotMonitored = -1;

  MonitoredSet() = default;

  // Marks `validator` as monitored in group `group` (>= 0). A later call overrides.
  void Add(ValidatorIndex validator, int32_t group);
  // The validator's group, or kNotMonitored.
  int32_t GroupOf(ValidatorIndex validator) const {
    return validator < group_of_.size() ? group_of_[validator] : kNotMonitored;
  }
  bool Contains(ValidatorIndex validator) const { return GroupOf(validator) != kNotMonitored; }
  // Number of monitored validators.
  size_t size() const { return count_; }

 private:
  std::vector<int32_t> group_of_;
  size_t count_ = 0;
};

enum class ProposalOutcome {
  kProposed,  // a canonical block at the duty slot by the duty's proposer
  kMissed,    // no canonical block at the duty slot (or one by another proposer), none seen
  kOrphaned,  // no canonical block by the proposer, but a non-canonical one by it was seen
};

// "proposed", "missed" or "orphaned".
std::string_view ProposalOutcomeName(ProposalOutcome outcome);

// Outcome of one monitored validator's attestation duty in an epoch.
struct AttestationResult {
  ValidatorIndex validator = 0;
  int32_t group = 0;
  Slot duty_slot = 0;
  uint64_t committee_index = 0;
  bool included = false;
  // Valid only when included: slot of the first canonical block that carries the vote, and
  // inclusion_slot - duty_slot. A vote carried again by a later block does not change them.
  Slot inclusion_slot = 0;
  uint64_t inclusion_delay = 0;
  // Distance from the duty slot to the first later slot with a canonical block: the best delay
  // the validator could have had. 0 if no canonical block follows within the inclusion window.
  uint64_t optimal_delay = 0;
  // Valid only when included, for the vote's data as first included:
  //   head_correct: beacon_block_root is the canonical block root at the duty slot (the latest
  //     canonical block at or before it);
  //   target_correct: target.root is the canonical block root at the target epoch's first slot;
  //   source_correct: always true for an included vote (process_attestation rejects a vote whose
  //     source is not the justified checkpoint), kept for completeness.
  // The roots come from the blocks' parent_root chain: the root of any block that a later block
  // of the range follows is known, and an included vote always has such a later block.
  bool head_correct = false;
  bool target_correct = false;
  bool source_correct = false;
  // The Altair participation flags as the consensus spec sets them from Deneb on
  // (get_attestation_participation_flag_indices): timely_source = source matches and
  // delay <= integer_squareroot(SLOTS_PER_EPOCH); timely_target = source and target match (no
  // delay limit, EIP-7045); timely_head = source, target and head match and delay == 1.
  bool timely_source = false;
  bool timely_target = false;
  bool timely_head = false;
  // Inclusion effectiveness: optimal_delay / inclusion_delay; 0 when missed.
  double effectiveness = 0;
};

struct ProposalResult {
  ValidatorIndex validator = 0;
  int32_t group = 0;
  Slot slot = 0;
  ProposalOutcome outcome = ProposalOutcome::kMissed;
  // Proposed only: the execution payload's fee recipient (nullopt before Bellatrix) and the
  // execution block number.
  std::optional<beacon::Address> fee_recipient;
  uint64_t execution_block_number = 0;
};

// Inputs for one epoch. Pointers are borrowed for the duration of the AccountEpoch call.
struct EpochInput {
  Epoch epoch = 0;
  uint64_t slots_per_epoch = 32;
  // All committees of `epoch` (from /states/{id}/committees?epoch=E).
  const std::vector<beacon::Committee>* committees = nullptr;
  // The canonical chain from the first slot of `epoch` to the last slot of `epoch + 1`:
  // slot -> block, where a null pointer means the slot is empty. Every slot in that range must
  // be present as a key (a missing key is an error: the caller did not look).
  const std::map<Slot, const beacon::Block*>* blocks = nullptr;
  // Proposer duties of `epoch`.
  const beacon::ProposerDuties* proposer_duties = nullptr;
  // Optional: non-canonical block headers the node knows at slots of `epoch` (from
  // /eth/v1/beacon/headers?slot=N). A duty whose slot has no canonical block by its proposer but
  // such a header by it is kOrphaned rather than kMissed. Canonical headers here are ignored.
  const std::vector<beacon::BlockHeader>* orphaned_headers = nullptr;
};

struct EpochResult {
  Epoch epoch = 0;
  // One entry per monitored validator with an attestation duty in the epoch, ordered by
  // (duty slot, committee index, position in committee).
  std::vector<AttestationResult> attestations;
  // One entry per monitored proposer duty, ordered by slot.
  std::vector<ProposalResult> proposals;
};

// Accounts one epoch for the monitored validators.
// Errors (InvalidArgument, naming the slot and attestation): committees missing or for another
// epoch, a committee index out of range, an attestation whose bit length does not match its
// committees, a block range with holes. No partial result is returned on error.
absl::StatusOr<EpochResult> AccountEpoch(const EpochInput& input, const MonitoredSet& monitored);

// Buffers AccountEpochInto reuses across epochs. At mainnet scale they hold ~20 MB; allocating
// them afresh each epoch costs more in page faults than the accounting itself.
struct EpochScratch {
  std::vector<Slot> first_inclusion;
  std::vector<const beacon::Attestation*> first_vote;
};

// AccountEpoch into caller-owned storage: `*out` is overwritten (its vectors keep their capacity,
// so a result reused across epochs costs no new memory). On error `*out` is unspecified.
absl::Status AccountEpochInto(const EpochInput& input, const MonitoredSet& monitored,
                              EpochScratch* scratch, EpochResult* out);

// A validator's attestation reward for one epoch against the ideal one for its effective
// balance (from /eth/v1/beacon/rewards/attestations/{epoch}).
struct AttestationRewardResult {
  int64_t head = 0, target = 0, source = 0, inactivity = 0;  // actual, gwei
  int64_t ideal_head = 0, ideal_target = 0, ideal_source = 0, ideal_inactivity = 0;
  int64_t reward = 0;        // head + target + source + inactivity
  int64_t ideal_reward = 0;  // the same sum of the ideal row
  // reward / ideal_reward; 0 when ideal_reward is 0.
  double effectiveness = 0;
};

// Looks up `validator` in rewards.total_rewards and the ideal row whose effective_balance equals
// `effective_balance`. NotFound if either is absent.
// The same from the two rows themselves (callers with many validators index the rows once).
AttestationRewardResult AttestationRewardFromRows(const beacon::TotalAttestationReward& total,
                                                  const beacon::IdealAttestationReward& ideal);
absl::StatusOr<AttestationRewardResult> AttestationReward(const beacon::AttestationRewards& rewards,
                                                          ValidatorIndex validator,
                                                          beacon::Gwei effective_balance);

// Expands an on-chain aggregate into the positions of the attesting members, calling
// `on_attester(committee_index, position_in_committee)` for each set bit. `committee_size(c)`
// returns the size of committee c of the attestation's slot, or -1 if there is no such committee.
// Deneb (no committee_bits): the single committee data.index. Electra: every committee whose bit
// is set in committee_bits, in ascending order, bits concatenated (consensus-specs
// get_attesting_indices). Fails if the bitlist has no length marker or its length is not the sum
// of the committees' sizes.
template <typename SizeFn, typename Fn>
absl::Status ForEachAttester(const beacon::Attestation& att, SizeFn committee_size, Fn on_attester);

}  // namespace stakewatch::accounting

#include "accounting/attesters-inl.h"
