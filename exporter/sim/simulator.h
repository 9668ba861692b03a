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
//   * committees_per_slot = max(1, min(64, N / SPE / 128)); epoch E's active list is permuted
//     with a Fisher-Yates shuffle keyed by (seed, E) and sliced exactly like the spec's
//     compute_committee: committee k = (slot % SPE) * cps + index holds shuffled positions
//     [N*k / (SPE*cps), N*(k+1) / (SPE*cps)).
//   * A slot s > 0 is empty with probability missed_slot_rate; its proposer is
//     hash(seed, s) mod N either way. Block roots are hashes of (seed, slot) from which the slot
//     can be recovered, so lookups by root are O(1).
//   * A vote for duty slot s is first included in the first non-empty slot >= s + d (d = 1, or
//     2..8 when late), and never if no such slot exists by the end of epoch(s) + 1 (EIP-7045).
//     A duplicate goes into the next non-empty block after that, within the same window.
//   * Each block carries one Electra aggregate per distinct AttestationData among the votes it
//     includes (duty slot x {canonical head, orphan head}); unlike mainnet there is no cap of 8.
//   * finalized = max(0, epoch - 2), current_justified = max(0, epoch - 1); checkpoint roots are
//     the root of the latest block at or before the epoch's first slot.
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

// What the simulator decided for one validator in one epoch.
struct ValidatorEpochTruth {
  ValidatorIndex validator_index = 0;
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
  bool proposed = false;  // false = missed proposal (empty slot)
};

struct EpochGroundTruth {
  Epoch epoch = 0;
  std::vector<ValidatorEpochTruth> validators;  // ascending validator index
  std::vector<SlotTruth> slots;                 // the epoch's slots in order
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
  uint64_t committees_per_slot() const { return committees_per_slot_; }

  // ---- Time ----
  // Current wall-clock slot (0 before genesis).
  Slot HeadSlot() const;
  Epoch CurrentEpoch() const { return HeadSlot() / spe_; }
  // Start time of `slot`.
  absl::Time SlotStart(Slot slot) const;

  // ---- Pure model (independent of the clock) ----
  bool HasBlock(Slot slot) const;
  ValidatorIndex Proposer(Slot slot) const;
  // REQUIRES: HasBlock(slot).
  Root BlockRoot(Slot slot) const;
  // Root of the latest block at or before `slot`.
  Root HeadRootAt(Slot slot) const;
  // Slot of the latest block at or before `slot`.
  Slot LatestBlockSlotAt(Slot slot) const;
  // Derived from the index only (not the seed), so a key list stays valid across seeds.
  static Pubkey ValidatorPubkey(ValidatorIndex v);
  // The committee `index` of `slot`, in committee order. REQUIRES: index < committees_per_slot().
  std::vector<ValidatorIndex> Committee(Slot slot, uint64_t index) const;

  // Ground truth for validators [first, last] (clamped to N-1) of `epoch`. FailedPrecondition
  // until the head slot has reached the first slot of epoch + 2 (the inclusion window closed).
  absl::StatusOr<EpochGroundTruth> GroundTruth(Epoch epoch, ValidatorIndex first = 0,
                                               ValidatorIndex last = UINT64_MAX) const;

  // ---- Beacon API ----
  // Answers GET `path` (no query string) with `query`. Unknown paths give 404, malformed ids 400,
  // empty or future slots 404; errors have the body {"code":N,"message":"..."}.
  ApiResponse Get(std::string_view path, const QueryParams& query) const;

 private:
  struct EpochData;
  template <typename K, typename V>
  class Cache;

  ChainSimulator(const SimOptions& options, Clock* clock);

  std::shared_ptr<const EpochData> GetEpoch(Epoch e) const;
  std::shared_ptr<const EpochData> BuildEpoch(Epoch e) const;
  uint64_t CommitteeStart(uint64_t k) const;  // first shuffled position of committee k
  Root CheckpointRoot(Epoch e) const;
  uint64_t BlockNumber(Slot slot) const;  // execution block number of a non-empty slot

  // Renderers (simulator_render.cc).
  std::shared_ptr<const std::string> RenderEpochCommittees(Epoch e) const;
  std::shared_ptr<const std::string> RenderBlockMessage(Slot slot) const;
  std::string RenderAttestations(Slot slot) const;
  ApiResponse Error(int code, std::string_view message) const;
  ApiResponse Route(std::string_view path, const QueryParams& query) const;
  ApiResponse GetSpec() const;
  ApiResponse GetHeader(std::string_view block_id) const;
  ApiResponse GetBlock(std::string_view block_id, bool attestations_only) const;
  ApiResponse GetCommittees(std::string_view state_id, const QueryParams& query) const;
  ApiResponse GetFinality(std::string_view state_id) const;
  ApiResponse GetProposerDuties(std::string_view epoch) const;
  // Resolve an id to a slot, or set *error.
  std::optional<Slot> ResolveBlockId(std::string_view id, ApiResponse* error) const;
  std::optional<Slot> ResolveStateId(std::string_view id, ApiResponse* error) const;
  bool IsFinalized(Slot slot) const;

  const SimOptions options_;
  Clock* const clock_;
  const uint64_t n_;
  const uint64_t spe_;
  const uint64_t committees_per_slot_;
  const absl::Duration slot_duration_;

  std::unique_ptr<Cache<Epoch, EpochData>> epoch_cache_;
  std::unique_ptr<Cache<Epoch, std::string>> committees_cache_;
  std::unique_ptr<Cache<Slot, std::string>> block_cache_;

  // Number of non-empty slots in [1 + 4096 i, 4096 (i + 1)], grown on demand.
  mutable absl::Mutex block_count_mu_;
  mutable std::vector<uint32_t> block_count_chunks_ ABSL_GUARDED_BY(block_count_mu_);
};

}  // namespace stakewatch::sim
