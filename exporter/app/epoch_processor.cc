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

  auto cached = committees_.find(epoch);
  if (cached == committees_.end()) {
    ASSIGN_OR_RETURN(std::vector<beacon::Committee> fetched,
                     client_->GetCommittees(absl::StrCat(start), epoch));
    while (committees_.size() >= 4) committees_.erase(committees_.begin());
    cached = committees_.emplace(epoch, std::move(fetched)).first;
  }
  const std::vector<beacon::Committee>& committees = cached->second;
  ASSIGN_OR_RETURN(beacon::ProposerDuties duties, client_->GetProposerDuties(epoch));

  std::map<beacon::Slot, const beacon::Block*> blocks;
  for (beacon::Slot slot = start; slot < start + 2 * slots_per_epoch_; ++slot) {
    ASSIGN_OR_RETURN(blocks[slot], BlockAt(slot));
  }
  // Orphaned proposals: for a monitored duty with no canonical block by its proposer, look at
  // every block the node saw at that slot. A node that cannot list them (older servers) leaves
  // such duties "missed".
  std::vector<beacon::BlockHeader> orphaned;
  for (const beacon::ProposerDuty& duty : duties.duties) {
    if (duty.slot < start || duty.slot >= start + slots_per_epoch_) continue;
    if (!monitored.Contains(duty.validator_index)) continue;
    const beacon::Block* block = blocks[duty.slot];
    if (block != nullptr && block->proposer_index == duty.validator_index) continue;
    absl::StatusOr<std::vector<beacon::BlockHeader>> headers = client_->GetHeadersAtSlot(duty.slot);
    if (!headers.ok()) {
      if (absl::IsUnavailable(headers.status()) || absl::IsDeadlineExceeded(headers.status())) {
        return headers.status();
      }
      continue;
    }
    for (beacon::BlockHeader& h : *headers) {
      if (!h.canonical && h.slot == duty.slot) orphaned.push_back(std::move(h));
    }
  }
  accounting::EpochInput input;
  input.epoch = epoch;
  input.slots_per_epoch = slots_per_epoch_;
  input.committees = &committees;
  input.blocks = &blocks;
  input.proposer_duties = &duties;
  input.orphaned_headers = &orphaned;
  return accounting::AccountEpochInto(input, monitored, &scratch_, out);
}

}  // namespace stakewatch::app
