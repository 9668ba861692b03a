// SimOptions: everything that defines a simulated chain and how `stakewatch simulate` serves it,
// plus the flag parser for that subcommand.
//
//   ASSIGN_OR_RETURN(SimOptions opts, ParseSimFlags({"--validators=4096", "--slot-time=0.1"}));
//   ASSIGN_OR_RETURN(auto sim, ChainSimulator::Create(opts, Clock::Real()));
//
// The chain is a pure function of the "model" fields: two simulators with equal model fields
// answer every request for a past slot with identical bytes, whenever they are asked.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace stakewatch::sim {

struct SimOptions {
  // ---- Model (what the chain looks like) ----
  uint64_t seed = 1;
  // Active validators, indices 0..validators-1, all active from genesis. 1..1,100,000.
  uint64_t validators = 1000;
  // Slot length; must be a whole number of milliseconds, at least 10 ms.
  double seconds_per_slot = 12.0;
  // Start of slot 0. Whole seconds (the Beacon API serves genesis_time as an integer).
  absl::Time genesis_time = absl::UnixEpoch();
  uint64_t slots_per_epoch = 32;  // 1..64

  // Probabilities in [0, 1], all drawn independently per slot or per (validator, duty slot).
  // A missed proposal IS an empty slot: the proposer of the slot did not publish a block, so
  // /headers/{slot} and /blocks/{slot} answer 404. Slot 0 (genesis) always has a block.
  double missed_slot_rate = 0.0;
  // The validator did not attest at all.
  double missed_attestation_rate = 0.0;
  // The vote is included with a delay of 2..8 slots (geometric) instead of the next slot.
  double late_attestation_rate = 0.0;
  // The vote's beacon_block_root is an orphan root instead of the canonical head.
  double wrong_head_rate = 0.0;
  // After its first inclusion, the vote is included once more in the next non-empty block
  // (within the EIP-7045 window). Ground truth counts only the first inclusion.
  double duplicate_inclusion_rate = 0.0;

  // Validator lifecycle. Each validator v >= 1 is, by a hash of (seed, v), slashed with
  // probability slashed_rate, else exited (unslashed) with probability exited_rate (the sum must
  // be <= 1); such a validator leaves the active set at an exit epoch X in 1..32 chosen by hash
  // (exit initiated at X - 1, withdrawable at X + 4). Validator 0 never exits, so the chain
  // always has a proposer. Indices validators..validators+pending_count-1 are deposited but never
  // activated (pending_initialized): they are in no committee and never propose.
  double exited_rate = 0.0;
  double slashed_rate = 0.0;
  uint64_t pending_count = 0;  // 0..100000

  // Balances: validator v is swept (its excess over 32 ETH withdrawn, or its whole balance once
  // withdrawable) at the slots s with s % (K * slots_per_epoch) == v % (K * slots_per_epoch), where
  // K = withdrawal_every epochs; 0 = automatic: the smallest K giving <= 16 withdrawals per block
  // (MAX_WITHDRAWALS_PER_PAYLOAD), as mainnet's sweep.
  uint64_t withdrawal_every = 0;
  // Sync committee members (per position and slot) that do not sign.
  double sync_miss_rate = 0.0;

  // Orphans and reorgs. One uniform draw u per slot s > 0: u < missed_slot_rate -> empty slot;
  // missed_slot_rate <= u < missed_slot_rate + orphan_rate -> the duty proposer published a
  // block that did not become canonical (the canonical chain has no block at s). The sum must
  // be <= 1.
  double orphan_rate = 0.0;
  // K: while the head slot h is in [s, s + K), the node's view has the orphan at s as its head
  // and does not show the canonical blocks at s+1..s+K-1; at h = s + K it reorgs to the canonical
  // chain. 0 = the orphan is never in the view (it is only known as a non-canonical block). 0..64.
  uint64_t reorg_slots = 0;

  // Fee recipients: every validator's configured fee recipient ("0x" + 40 hex digits); with
  // probability wrong_fee_recipient_rate per slot the block pays another (hashed) address.
  std::string fee_recipient = "0x00000000000000000000000000000000000fee01";
  double wrong_fee_recipient_rate = 0.0;

  // Node facts: /eth/v1/node/peer_count answers `peers` connected peers (and 0 in every other
  // state), /eth/v1/node/version answers "stakewatch-sim/v<version>/<seed>".
  uint64_t peers = 50;

  // ---- Serving (`stakewatch simulate` only; ChainSimulator ignores these) ----
  std::string listen_address = "127.0.0.1";
  int port = 5052;  // 0 = pick a free port
  // JSON Lines ground truth, written as epochs complete; empty = none.
  std::string ground_truth_path;
  // Inclusive validator range written to the ground-truth file.
  uint64_t ground_truth_first_validator = 0;
  uint64_t ground_truth_last_validator = UINT64_MAX;
};

// Checks ranges and probabilities of the model fields. Returns InvalidArgument naming the field.
absl::Status ValidateSimOptions(const SimOptions& options);

// Parses the flags of `stakewatch simulate` (`--name=value` form only; a leading "simulate" word
// is skipped). Flags:
//   --port=P --listen-address=HOST --validators=N --slot-time=SECONDS --seed=S
//   --genesis-time=UNIX_SECONDS (default: now, rounded down to a second, minus 4 epochs)
//   --missed-slot-rate=F (alias --missed-proposal-rate) --missed-attestation-rate=F
//   --late-attestation-rate=F --wrong-head-rate=F --duplicate-inclusion-rate=F
//   --exited-rate=F --slashed-rate=F --pending-count=N --withdrawal-every=K
//   --sync-miss-rate=F --orphan-rate=F --reorg-slots=K --fee-recipient=0x...
//   --wrong-fee-recipient-rate=F
//   --ground-truth=FILE --ground-truth-validators=A-B
// Unknown flags, missing values and out-of-range values give InvalidArgument. `clock` supplies
// "now" for the default genesis time.
absl::StatusOr<SimOptions> ParseSimFlags(const std::vector<std::string>& args, Clock& clock);
// Same, with the real clock.
absl::StatusOr<SimOptions> ParseSimFlags(const std::vector<std::string>& args);

// Multi-line usage text for `stakewatch simulate --help`.
std::string SimUsage();

// The version string the simulator's /eth/v1/node/version reports: "stakewatch-sim/v1/<seed>".
std::string SimNodeVersion(const SimOptions& options);

}  // namespace stakewatch::sim
