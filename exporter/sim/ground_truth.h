// GroundTruthWriter: appends the simulator's per-epoch ground truth to a JSON Lines file as
// epochs become final, for end-to-end tests that compare stakewatch's output with the truth.
//
// Lines (one per validator in the configured range, then one per slot, per epoch):
//   {"epoch":E,"validator_index":v,"duty_slot":s,"included":true,"inclusion_slot":x,
//    "inclusion_delay":d,"committee_index":c,"committee_position":i,"attested":true,
//    "wrong_head":false}
//   {"slot":s,"proposer_index":p,"proposed":true}
// inclusion_slot and inclusion_delay are null when the vote was never included. An epoch E is
// written once the head slot reaches the first slot of E + 2, each epoch with a single write().
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
