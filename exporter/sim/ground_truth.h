// GroundTruthWriter: appends the simulator's per-epoch ground truth to a JSON Lines file as
// epochs become final, for end-to-end tests that compare stakewatch's output with the truth.
//
// Lines (one per validator in the configured range, then one per slot, per epoch):
//   {"epoch":E,"validator_index":v,"duty_slot":s,"included":true,"inclusion_slot":x,
//    "inclusion_delay":d,"committee_index":c,"committee_position":i,"attested":true,
//    "wrong_head":false,"status":"active_ongoing","active":true,"start_balance":B0,"balance":B,
//    "effective_balance":EB,"timely_head":true,"timely_source":true,"timely_target":true,
//    "reward_head":h,"reward_target":t,"reward_source":s,"reward_inactivity":0,
//    "sync_slots":n,"sync_participated":p,"sync_missed":m,"proposer_reward":r,"sync_reward":y}
//   {"slot":s,"proposer_index":p,"proposed":true,"outcome":"proposed","fee_recipient":"0x..",
//    "block_reward":{"attestations":a,"sync_aggregate":y,"proposer_slashings":ps,
//                    "attester_slashings":as,"total":t},
//    "slashings":[{"validator_index":v,"kind":"attester"},...],
//    "withdrawals":[{"index":i,"validator_index":v,"amount":gwei},...]}
// (withdrawals of every validator, not only the range, in the slot's execution payload).
// Validator fields added for block rewards: proposer_reward (gwei) is the sum of the rewards of
// the canonical blocks v proposed in epoch E (block_reward.total of those slots); sync_reward
// (gwei, signed) is v's +/-21000 per sync position over the canonical blocks of epoch E (by block
// slot, unlike sync_slots which counts signed slots). Both are already in `balance`, which is
// floored at 0. Slot fields: outcome is "proposed" (a canonical block), "missed" (no block) or
// "orphaned" (a block that did not become canonical; proposed is false); fee_recipient is the
// block's (also for an orphan), null when missed; block_reward is the canonical block's reward as
// /eth/v1/beacon/rewards/blocks serves it (all zero unless proposed); slashings lists the
// validators slashed by operations in this slot's canonical block and the operation's kind
// ("attester" or "proposer").
// inclusion_slot and inclusion_delay are null when the vote was never included. start_balance
// is in gwei at the start of epoch E (before its blocks' withdrawals); balance and
// effective_balance are in gwei at the end of epoch E; the rewards (gwei, signed) are those of
// the epoch-E vote, as /eth/v1/beacon/rewards/attestations/E serves them, and are credited at
// the end of E + 1. Inactive validators (pending, exited) have active false and zero duty fields.
// An epoch E is written once the head slot reaches the first slot of E + 2, each epoch with a
// single write().
//
// Thread-compatible: one thread calls WriteCompletedEpochs (RunSimulateCommand's main loop).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "sim/simulator.h"

namespace stakewatch::sim {

class GroundTruthWriter {
 public:
  // `sim` must outlive the writer. Validators [first, last] (clamped to N-1) are written.
  GroundTruthWriter(const ChainSimulator* sim, std::string path, ValidatorIndex first,
                    ValidatorIndex last);
  ~GroundTruthWriter();
  GroundTruthWriter(const GroundTruthWriter&) = delete;
  GroundTruthWriter& operator=(const GroundTruthWriter&) = delete;

  // Creates or truncates the file.
  absl::Status Open();
  // Writes every completed epoch not yet written, oldest first (at most `max_epochs` per call).
  // Returns how many epochs were written.
  absl::StatusOr<int> WriteCompletedEpochs(int max_epochs = 64);
  // Renders one epoch's lines (exposed for tests).
  static std::string Render(const EpochGroundTruth& gt);

 private:
  const ChainSimulator* const sim_;
  const std::string path_;
  const ValidatorIndex first_;
  const ValidatorIndex last_;
  int fd_ = -1;
  Epoch next_epoch_ = 0;
};

}  // namespace stakewatch::sim
