#include "app/epoch_processor.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace stakewatch::app {

absl::StatusOr<const beacon::Block*> EpochProcessor::BlockAt(beacon::Slot slot) {
  if (auto it = blocks_.find(slot); it != blocks_.end()) return it->second.get();
  ASSIGN_OR_RETURN(std::optional<beacon::Block> block, client_->GetBlock(absl::StrCat(slot)));
  std::unique_ptr<beacon::Block>& entry = blocks_[slot];
  if (block.has_value()) {
    if (block->slot != slot) {
      blocks_.erase(slot);
      return absl::DataLossError(
          absl::StrCat("node answered slot ", slot, " with a block for slot ", block->slot));
    }
    entry = std::make_unique<beacon::Block>(std::move(*block));
  }
  return entry.get();
}

absl::StatusOr<accounting::EpochResult> EpochProcessor::Process(
    beacon::Epoch epoch, const accounting::MonitoredSet& monitored) {
  accounting::EpochResult result;
  RETURN_IF_ERROR(ProcessInto(epoch, monitored, &result));
  return result;
}

absl::Status EpochProcessor::ProcessInto(beacon::Epoch epoch,
                                         const accounting::MonitoredSet& monitored,
                                         accounting::EpochResult* out) {
  const beacon::Slot start = epoch * slots_per_epoch_;
  // Blocks before this epoch will never be needed again.
  blocks_.erase(blocks_.begin(), blocks_.lower_bound(start));

  ASSIGN_OR_RETURN(std::vector<beacon::Committee> committees,
                   client_->GetCommittees(absl::StrCat(start), epoch));
  ASSIGN_OR_RETURN(beacon::ProposerDuties duties, client_->GetProposerDuties(epoch));

  std::map<beacon::Slot, const beacon::Block*> blocks;
  for (beacon::Slot slot = start; slot < start + 2 * slots_per_epoch_; ++slot) {
    ASSIGN_OR_RETURN(blocks[slot], BlockAt(slot));
  }
  accounting::EpochInput input;
  input.epoch = epoch;
  input.slots_per_epoch = slots_per_epoch_;
  input.committees = &committees;
  input.blocks = &blocks;
  input.proposer_duties = &duties;
  return accounting::AccountEpochInto(input, monitored, &scratch_, out);
}

}  // namespace stakewatch::app
