// ChainSimulator: a deterministic Electra-era beacon chain, the ground truth that stakewatch's
// Beacon API decoders and attestation accounting are tested against.
//
// The simulator is a pure model plus a JSON renderer. Every fact about the chain is a pure
// function of (SimOptions model fields, slot / epoch / validator): which slots are empty, who
// proposes, the per-epoch shuffling, and for each (validator, duty slot) whether the vote is
// made, with which head root, and in which block(s) it is included. The injected Clock only
// decides how much of the chain is visible (the head slot = floor((now - genesis) / slot time));
// the answer for an old slot never changes. Nothing here includes beacon/: the simulator must not
// share code with the decoders it checks.
//
// Model in short (N validators, SPE slots per epoch):
//   * Epoch E's active set (A validators: the genesis validators that have not exited by E; see
//     SimOptions::exited_rate) gives committees_per_slot = max(1, min(64, A / SPE / 128)); the
//     ascending active list is permuted with a Fisher-Yates shuffle keyed by (seed, E) and sliced
//     exactly like the spec's compute_committee: committee k = (slot % SPE) * cps + index holds
//     shuffled positions [A*k / (SPE*cps), A*(k+1) / (SPE*cps)).
//   * A slot s > 0 is empty with probability missed_slot_rate; its proposer is the first
//     hash(seed, s, i) mod N (i = 0, 1, ...) that is active in the slot's epoch, either way. Block
//     roots are hashes of (seed, slot) from which the slot can be recovered, so lookups by root are
//     O(1).
//   * A vote for duty slot s is first included in the first non-empty slot >= s + d (d = 1, or
//     2..8 when late), and never if no such slot exists by the end of epoch(s) + 1 (EIP-7045).
//     A duplicate goes into the next non-empty block after that, within the same window.
//   * Each block carries one Electra aggregate per distinct AttestationData among the votes it
//     includes (duty slot x {canonical head, orphan head}); unlike mainnet there is no cap of 8.
//   * Balances (gwei): genesis balance 32 ETH plus a hashed 0..0.1 ETH (pending validators: 32
//     ETH). At the end of epoch E each validator active in E - 1 gets, for its E - 1 vote, the
//     per-flag amounts of AttestationReward (timely head: delay 1 and canonical head; timely
//     source: delay <= integer_squareroot(SPE), 5 on mainnet; timely target: included) or minus the
//     source and target amounts when not timely (a slashed validator never is); a slashing costs 32
//     ETH / 4096 at the end of the epoch it is initiated in. Withdrawals happen in blocks at each
//     validator's sweep slots (SimOptions::withdrawal_every): the excess over 32 ETH, or everything
//     once withdrawable; an empty sweep slot withdraws nothing. effective_balance is 32 ETH while
//     the balance is non-zero (the spec's hysteresis never moves it: penalties here are far below
//     0.25 ETH).
//   * Sync committee period P (256 epochs): 512 positions drawn by hash among the validators
//     active at P's first epoch. Position i signs slot s unless its member is inactive then or
//     misses (sync_miss_rate); the signature is bit i of the sync aggregate of the block at s + 1.
//   * finalized = max(0, epoch - 2), current_justified = max(0, epoch - 1); checkpoint roots are
//     the root of the latest block at or before the epoch's first slot.
//   * Orphans (SimOptions::orphan_rate): the same per-slot draw as empty slots decides that the
//     duty proposer's block at s was orphaned: the canonical chain has no block at s (so for
//     attestations, withdrawals, block numbers and balances the slot is empty), but the node
//     knows the orphan from h = s on (h = the wall-clock head slot): its own slot-recoverable
//     root (OrphanRoot), parent = the canonical head root at s - 1, no attestations, an all-zero
//     sync aggregate, no slashings, an execution payload without withdrawals.
//   * Reorg view (SimOptions::reorg_slots = K > 0): the active orphan at h is the earliest
//     orphan slot s with s <= h < s + K. While there is one, the node's view is the canonical
//     chain up to s - 1 plus the orphan at s, its head is the orphan, and no later block is shown
//     (404 by slot, and canonical roots of later slots are unknown). From h = s + K on, the orphan
//     is a non-canonical block (still found by root and in headers?slot=s, canonical=false).
//     Every block route (headers, blocks, attestations, rewards, finality, events) answers from
//     the view at the current head; /node/syncing head_slot stays the wall-clock slot, proposer
//     duties and every state route are the canonical chain's.
//   * Block rewards (gwei), credited to the proposer at its block's slot (spec order: a block's
//     withdrawals first, then its rewards): attestations = floor(sum of the flag rewards earned
//     by the votes first included in the block / 7) (the spec's PROPOSER_WEIGHT /
//     (WEIGHT_DENOMINATOR - PROPOSER_WEIGHT) ratio); sync_aggregate = participants x
//     kSyncProposerRewardPerBit; proposer_slashings / attester_slashings = kWhistleblowerReward
//     per slashed validator the block includes. Each sync committee position earns
//     +kSyncParticipantReward when its bit is set and -kSyncParticipantReward when not, per
//     block, at the block's slot (a slashed or exited member never signs). A validator's gains
//     and losses in one block are netted, and a balance never goes below 0.
//   * Fee recipients: SimOptions::fee_recipient, or with wrong_fee_recipient_rate per slot a
//     hashed other address (FeeRecipient).
//   * Slashings: a slashed validator is slashed by an operation in the first canonical block
//     (slot >= 1) of its exit_initiated_epoch: all even ones of the epoch in one attester
//     slashing (two attestations with the same target and different head roots), each odd one
//     in its own proposer slashing (two headers of one slot with different body roots). Unlike
//     mainnet, there is no cap of 16 proposer slashings per block. The 32 ETH / 4096 penalty
//     stays at the end of the epoch (see Balances).
//
// Thread safety: all public methods may be called concurrently from any thread (caches are
// internally locked). The Clock must outlive the simulator.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<ChainSimulator> sim, ChainSimulator::Create(opts, &clock));
//   ApiResponse r = sim->Get("/eth/v2/beacon/blocks/head", {});
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "sim/options.h"

namespace stakewatch::sim {

using Slot = uint64_t;
using Epoch = uint64_t;
using ValidatorIndex = uint64_t;
using Root = std::array<uint8_t, 32>;
using Pubkey = std::array<uint8_t, 48>;

// Query string parameters (same type as httplib::Params).
using QueryParams = std::multimap<std::string, std::string>;

// One HTTP answer. The body is prefix + *shared + suffix so that large cached payloads (a 10 MB
// committees list) are served without copying.
struct ApiResponse {
  int status = 200;
  bool electra_header = false;  // send "Eth-Consensus-Version: electra"
  std::string prefix;
  std::shared_ptr<const std::string> shared;  // may be null
  std::string suffix;

  size_t size() const { return prefix.size() + (shared ? shared->size() : 0) + suffix.size(); }
  // The whole body as one string (copies; for tests and small answers).
  std::string Body() const;
};

inline constexpr uint64_t kFarFutureEpoch = UINT64_MAX;
inline constexpr uint64_t kMaxEffectiveBalance = 32'000'000'000;  // gwei
// Per sync committee position and block: +/- this for a set / unset bit (gwei).
inline constexpr int64_t kSyncParticipantReward = 21'000;
// The proposer's reward per set sync bit (kSyncParticipantReward / 7, gwei).
inline constexpr uint64_t kSyncProposerRewardPerBit = 3'000;
// The proposer's reward per slashing it includes: 32 ETH / WHISTLEBLOWER_REWARD_QUOTIENT_ELECTRA.
inline constexpr uint64_t kWhistleblowerReward = kMaxEffectiveBalance / 4096;

using Address = std::array<uint8_t, 20>;

// What became of the proposal at a slot.
enum class SlotOutcome {
  kProposed,  // a canonical block
  kMissed,    // no block at all
  kOrphaned,  // a block that did not become canonical
};
std::string_view SlotOutcomeName(SlotOutcome o);  // "proposed" | "missed" | "orphaned"

enum class SlashingKind { kAttester, kProposer };

struct SlashingOp {
  ValidatorIndex validator_index = 0;
  SlashingKind kind = SlashingKind::kAttester;
};

// A block's proposer reward, as /eth/v1/beacon/rewards/blocks serves it (gwei).
struct BlockReward {
  ValidatorIndex proposer_index = 0;
  uint64_t attestations = 0;
  uint64_t sync_aggregate = 0;
  uint64_t proposer_slashings = 0;
  uint64_t attester_slashings = 0;
  uint64_t total() const {
    return attestations + sync_aggregate + proposer_slashings + attester_slashings;
  }
};

// One server-sent event: the topic ("head", "block", "chain_reorg", "finalized_checkpoint") and
// its JSON data, in the Beacon API's shapes.
struct SimEvent {
  std::string_view topic;  // a string literal
  std::string data;
};

// A validator's lifecycle, fixed by the model. Epochs are kFarFutureEpoch when not applicable.
struct ValidatorLifecycle {
  bool pending = false;  // deposited, never activated
  bool slashed = false;  // slashed at exit_initiated_epoch
  Epoch activation_epoch = 0;
  Epoch exit_initiated_epoch = kFarFutureEpoch;  // exit_epoch is visible from this epoch on
  Epoch exit_epoch = kFarFutureEpoch;            // first epoch not active
  Epoch withdrawable_epoch = kFarFutureEpoch;
};

// Per-flag attestation reward amounts (gwei, signed) for one validator's vote in one epoch, as
// served by /eth/v1/beacon/rewards/attestations.
struct AttestationReward {
  int64_t head = 0;
  int64_t target = 0;
  int64_t source = 0;
  int64_t inactivity = 0;
  int64_t total() const { return head + target + source + inactivity; }
};

struct Withdrawal {
  uint64_t index = 0;  // global withdrawal index
  ValidatorIndex validator_index = 0;
  uint64_t amount = 0;  // gwei
};

// What the simulator decided for one validator in one epoch.
struct ValidatorEpochTruth {
  ValidatorIndex validator_index = 0;
  // Spec status at the end of the epoch (e.g. "active_ongoing", "exited_slashed",
  // "pending_initialized"); points to a string literal.
  std::string_view status;
  // False for pending or exited validators: they have no duty and every field below that
  // describes the vote is zero / false.
  bool active = true;
  uint64_t start_balance = 0;      // gwei, at the start of the epoch (before its blocks)
  uint64_t balance = 0;            // gwei, at the end of the epoch
  uint64_t effective_balance = 0;  // gwei, at the end of the epoch
  // Timeliness flags of the vote (all false when not included) and the rewards they earn,
  // applied to the balance at the end of the next epoch.
  bool timely_head = false;
  bool timely_source = false;
  bool timely_target = false;
  AttestationReward reward;
  // Rewards of the epoch's canonical blocks (credited at their slots, so included in
  // `balance`): the proposer rewards of the blocks v proposed (BlockReward::total), and the sum of
  // +/- kSyncParticipantReward over v's sync positions in the epoch's blocks (note: by block slot,
  // while the sync_* counts below are by signed slot). Balances are floored at 0, so a zero
  // balance does not move by these amounts.
  uint64_t proposer_reward = 0;
  int64_t sync_reward = 0;
  // Sync committee duty in the epoch: (slot, position) pairs whose next slot has a block (the
  // one carrying the signature), and how many of them were signed / missed.
  uint64_t sync_slots = 0;
  uint64_t sync_participated = 0;
  uint64_t sync_missed = 0;
  Slot duty_slot = 0;
  uint64_t committee_index = 0;
  uint64_t committee_position = 0;     // index within the committee's validator list
  bool attested = false;               // false = missed attestation
  bool included = false;               // false if missed or no block in the inclusion window
  Slot inclusion_slot = 0;             // first inclusion; valid iff included
  bool wrong_head = false;             // the vote's head root is not the canonical one
  std::optional<Slot> duplicate_slot;  // second inclusion, if any
};

struct SlotTruth {
  Slot slot = 0;
  ValidatorIndex proposer_index = 0;
  bool proposed = false;  // true iff outcome == kProposed (a canonical block)
  SlotOutcome outcome = SlotOutcome::kProposed;
  // The fee recipient of the slot's block (canonical or orphaned); none when missed.
  std::optional<Address> fee_recipient;
  BlockReward reward;                 // zero unless proposed
  std::vector<SlashingOp> slashings;  // slashing operations the slot's canonical block includes
};

struct EpochGroundTruth {
  Epoch epoch = 0;
  std::vector<ValidatorEpochTruth> validators;  // ascending validator index
  std::vector<SlotTruth> slots;                 // the epoch's slots in order
  // Withdrawals of every validator (not only the requested range) in the epoch's blocks.
  std::vector<std::pair<Slot, Withdrawal>> withdrawals;
};

class ChainSimulator {
 public:
  // Validates the model fields of `options`. `clock` must be non-null and outlive the simulator.
  static absl::StatusOr<std::unique_ptr<ChainSimulator>> Create(const SimOptions& options,
                                                                Clock* clock);
  ~ChainSimulator();
  ChainSimulator(const ChainSimulator&) = delete;
  ChainSimulator& operator=(const ChainSimulator&) = delete;

  const SimOptions& options() const { return options_; }
  // Committees per slot at genesis (all genesis validators active).
  uint64_t committees_per_slot() const { return committees_per_slot_; }
  // Committees per slot of `epoch`, from its active count.
  uint64_t CommitteesPerSlot(Epoch epoch) const;
  // Validator indices that exist: genesis validators plus pending ones.
  uint64_t total_validators() const { return total_; }

  // ---- Time ----
  // Current wall-clock slot (0 before genesis).
  Slot HeadSlot() const;
  Epoch CurrentEpoch() const { return HeadSlot() / spe_; }
  // Start time of `slot`.
  absl::Time SlotStart(Slot slot) const;

  // ---- Pure model (independent of the clock) ----
  SlotOutcome Outcome(Slot slot) const;
  // A canonical block at `slot` (Outcome == kProposed).
  bool HasBlock(Slot slot) const;
  // The root of the orphaned block at `slot`. REQUIRES: Outcome(slot) == kOrphaned.
  Root OrphanRoot(Slot slot) const;
  // The fee recipient of the block (canonical or orphaned) at `slot`.
  Address FeeRecipient(Slot slot) const;
  // The reward of the canonical block at `slot` (all zero if there is none, and for genesis).
  BlockReward BlockRewardAt(Slot slot) const;
  // The slashings included in the canonical block at `slot` (usually none).
  std::vector<SlashingOp> SlashingsAt(Slot slot) const;
  // The events that occur when the view's head reaches slot h, in order: "block" (a block at h
  // in the view), "chain_reorg" (h == s + K for an orphan at s; depth = s - the slot of the
  // orphan's parent), "head" (when the view's head block changed: a block at h or a reorg;
  // epoch_transition = the head block's epoch differs from the previous head block's),
  // "finalized_checkpoint" (h starts an epoch E >= 3: finalized epoch E - 2). JSON as the spec's
  // event stream, numbers as decimal strings.
  std::vector<SimEvent> EventsAt(Slot h) const;
  ValidatorIndex Proposer(Slot slot) const;
  // REQUIRES: HasBlock(slot).
  Root BlockRoot(Slot slot) const;
  // Root of the latest block at or before `slot`.
  Root HeadRootAt(Slot slot) const;
  // Slot of the latest block at or before `slot`.
  Slot LatestBlockSlotAt(Slot slot) const;
  // Derived from the index only (not the seed), so a key list stays valid across seeds.
  static Pubkey ValidatorPubkey(ValidatorIndex v);
  // Lifecycle of validator v. REQUIRES: v < total_validators().
  ValidatorLifecycle Lifecycle(ValidatorIndex v) const;
  bool IsActive(ValidatorIndex v, Epoch epoch) const;
  // The spec status string of v at `epoch` given its balance then.
  std::string_view Status(ValidatorIndex v, Epoch epoch, uint64_t balance) const;
  // Balances (gwei, indexed by validator) at the start of `epoch`, i.e. after the epoch
  // processing at the end of epoch - 1 (epoch 0: genesis balances). Computed forward from the
  // nearest cached earlier epoch, one shuffle + one O(N) pass per epoch not yet computed: the
  // first call at a late epoch (or a cold simulator) pays for every epoch since genesis once
  // (about 60 ms per epoch at 1.1M validators); a live simulator advances one epoch at a time.
  std::shared_ptr<const std::vector<uint64_t>> StartBalances(Epoch epoch) const;
  // Balance of v in the state at `slot`: the start-of-epoch balance, then each block of the
  // epoch at or before `slot` (its withdrawals, then its proposer and sync rewards).
  uint64_t BalanceAt(ValidatorIndex v, Slot slot) const;
  // Withdrawals in the execution payload of `slot` (empty if the slot has no canonical block).
  // The sweep takes the excess (or everything) of the balance before the block's rewards.
  std::vector<Withdrawal> Withdrawals(Slot slot) const;
  // The reward of validator v's vote in `epoch` (zero if v was not active). Valid only once the
  // inclusion window closed (the head reached epoch + 2); not checked here.
  AttestationReward Reward(ValidatorIndex v, Epoch epoch) const;
  // The committee `index` of `slot`, in committee order. REQUIRES: index < CommitteesPerSlot().
  std::vector<ValidatorIndex> Committee(Slot slot, uint64_t index) const;

  // Ground truth for validators [first, last] (clamped to total_validators() - 1) of `epoch`,
  // with the epoch's withdrawals and the sync committee counts. FailedPrecondition
  // until the head slot has reached the first slot of epoch + 2 (the inclusion window closed).
  absl::StatusOr<EpochGroundTruth> GroundTruth(Epoch epoch, ValidatorIndex first = 0,
                                               ValidatorIndex last = UINT64_MAX) const;

  // The 512 sync committee members of sync committee period `period` (256 epochs), by
  // position: validators active at the period's first epoch, drawn by hash (a validator may
  // hold several positions).
  std::vector<ValidatorIndex> SyncCommittee(uint64_t period) const;
  // Whether sync committee position i signed for `slot` (appears as bit i of the block at
  // slot + 1): the member is active in slot's epoch and did not miss (sync_miss_rate).
  bool SyncParticipated(Slot slot, uint64_t position, ValidatorIndex member) const;

  // ---- Beacon API ----
  // Answers GET `path` (no query string) with `query`. Unknown paths give 404, malformed ids 400,
  // empty or future slots 404; errors have the body {"code":N,"message":"..."}.
  ApiResponse Get(std::string_view path, const QueryParams& query) const;
  // Answers POST `path` with a JSON `body` (validators, validator_balances, rewards/attestations,
  // rewards/sync_committee, liveness); other paths as Get. A malformed body gives 400.
  ApiResponse Post(std::string_view path, const QueryParams& query, std::string_view body) const;

 private:
  struct EpochData;
  struct EpochBlocks;
  template <typename K, typename V>
  class Cache;
  // A block the node knows: canonical, or the orphan at `slot`.
  struct BlockRef {
    Slot slot = 0;
    bool orphan = false;
  };

  ChainSimulator(const SimOptions& options, Clock* clock);

  std::shared_ptr<const EpochData> GetEpoch(Epoch e) const;
  std::shared_ptr<const EpochData> BuildEpoch(Epoch e) const;
  std::shared_ptr<const EpochBlocks> GetEpochBlocks(Epoch e) const;
  std::shared_ptr<const EpochBlocks> BuildEpochBlocks(Epoch e) const;
  // Balance of v after the blocks at slots [first slot of e, upto) given its start balance b.
  uint64_t Replay(ValidatorIndex v, Epoch e, Slot upto, uint64_t b, const EpochBlocks& eb) const;
  // ---- The node's view at head slot h (see the model notes) ----
  std::optional<Slot> ActiveOrphan(Slot h) const;
  // The latest block at or before `slot` in the view at h.
  BlockRef ViewLatestAt(Slot slot, Slot h) const;
  Root RefRoot(const BlockRef& b) const;
  Root RefStateRoot(const BlockRef& b) const;
  // First shuffled position of committee k in epoch data d.
  uint64_t CommitteeStart(const EpochData& d, uint64_t k) const;
  uint64_t SweepPeriod() const { return withdrawal_every_ * spe_; }  // slots
  uint64_t GenesisBalance(ValidatorIndex v) const;
  std::shared_ptr<const std::vector<uint64_t>> ComputeStartBalances(Epoch epoch) const;
  // Withdrawals at `slot` given the balances at the start of its epoch.
  std::vector<Withdrawal> WithdrawalsFrom(Slot slot, const std::vector<uint64_t>& start,
                                          const EpochBlocks& eb) const;
  // Reward of the vote at shuffled position p of epoch data d; sets the timeliness flags
  // {head, source, target} if `flags` is non-null.
  AttestationReward VoteReward(const EpochData& d, uint64_t p, Epoch epoch, bool* flags) const;
  // What the sweep of v in `epoch` withdraws from balance b (full once withdrawable, else the
  // excess over 32 ETH).
  uint64_t SweepAmount(ValidatorIndex v, Epoch epoch, uint64_t b) const;
  Root CheckpointRoot(Epoch e) const;
  Root StateRoot(Slot slot) const;
  uint64_t BlockNumber(Slot slot) const;  // execution block number of a non-empty slot

  // Renderers (simulator_render.cc).
  std::shared_ptr<const std::string> RenderEpochCommittees(Epoch e) const;
  std::shared_ptr<const std::string> RenderBlockMessage(const BlockRef& b) const;
  std::string RenderAttestations(Slot slot) const;
  std::string RenderSlashings(
      Slot slot) const;  // "proposer_slashings":[..],"attester_slashings":[..]
  void AppendHeader(std::string* o, const BlockRef& b, Slot head) const;
  ApiResponse Error(int code, std::string_view message) const;
  ApiResponse Route(std::string_view path, const QueryParams& query) const;
  ApiResponse GetSpec() const;
  ApiResponse GetHeader(std::string_view block_id) const;
  ApiResponse GetHeaders(const QueryParams& query) const;
  ApiResponse GetBlockRewards(std::string_view block_id) const;
  ApiResponse GetBlock(std::string_view block_id, bool attestations_only) const;
  ApiResponse GetCommittees(std::string_view state_id, const QueryParams& query) const;
  ApiResponse GetFinality(std::string_view state_id) const;
  ApiResponse GetProposerDuties(std::string_view epoch) const;
  // Resolve an id to a block in the view at the current head, or set *error.
  std::optional<BlockRef> ResolveBlockId(std::string_view id, ApiResponse* error) const;
  std::optional<Slot> ResolveStateId(std::string_view id, ApiResponse* error) const;
  bool IsFinalized(Slot slot) const;

  // simulator_validators.cc.
  // Resolves ids (decimal indices or 0x pubkeys) to indices; unknown ones are dropped.
  // Returns false (and sets *error) on a malformed id.
  bool ResolveValidatorIds(const std::vector<std::string>& ids, std::vector<ValidatorIndex>* out,
                           ApiResponse* error) const;
  std::optional<ValidatorIndex> PubkeyIndex(std::string_view hex) const;
  uint64_t BalanceFrom(ValidatorIndex v, Slot slot, const std::vector<uint64_t>& start,
                       const EpochBlocks& eb) const;
  ApiResponse GetSyncCommitteeRewards(std::string_view block_id,
                                      const std::vector<std::string>& ids) const;
  ApiResponse GetValidators(std::string_view state_id, const std::vector<std::string>& ids,
                            const std::vector<std::string>& statuses, bool balances_only) const;
  ApiResponse GetAttestationRewards(std::string_view epoch,
                                    const std::vector<std::string>& ids) const;
  ApiResponse GetLiveness(std::string_view epoch, const std::vector<std::string>& ids) const;
  ApiResponse GetSyncCommittees(std::string_view state_id, const QueryParams& query) const;
  ApiResponse RoutePost(std::string_view path, const QueryParams& query,
                        std::string_view body) const;

  const SimOptions options_;
  Clock* const clock_;
  const uint64_t n_;
  const uint64_t total_;  // n_ + pending
  const uint64_t spe_;
  const uint64_t withdrawal_every_;  // resolved (>= 1)
  const uint64_t max_sweep_per_slot_;
  const uint64_t timely_source_delay_;  // integer_squareroot(SLOTS_PER_EPOCH)
  const uint64_t committees_per_slot_;
  const absl::Duration slot_duration_;
  Address fee_recipient_{};  // parsed SimOptions::fee_recipient

  std::unique_ptr<Cache<Epoch, EpochData>> epoch_cache_;
  std::unique_ptr<Cache<Epoch, EpochBlocks>> epoch_blocks_cache_;
  std::unique_ptr<Cache<Epoch, std::string>> committees_cache_;
  std::unique_ptr<Cache<Slot, std::string>> block_cache_;
  std::unique_ptr<Cache<Epoch, std::vector<uint64_t>>> balance_cache_;
  // Start balances of computed epochs (at most 16; every 32nd epoch is kept longest): starting
  // points for ComputeStartBalances.
  mutable absl::Mutex balance_mu_;
  mutable std::map<Epoch, std::shared_ptr<const std::vector<uint64_t>>> balance_checkpoints_
      ABSL_GUARDED_BY(balance_mu_);
  // (first 8 pubkey bytes, index), sorted; built on the first pubkey lookup.
  mutable absl::Mutex pubkey_mu_;
  mutable std::vector<std::pair<uint64_t, uint32_t>> pubkey_index_ ABSL_GUARDED_BY(pubkey_mu_);

  // Number of non-empty slots in [1 + 4096 i, 4096 (i + 1)], grown on demand.
  mutable absl::Mutex block_count_mu_;
  mutable std::vector<uint32_t> block_count_chunks_ ABSL_GUARDED_BY(block_count_mu_);
};

}  // namespace stakewatch::sim
