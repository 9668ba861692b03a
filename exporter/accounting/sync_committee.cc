#include "accounting/sync_committee.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace stakewatch::accounting {

absl::StatusOr<std::vector<SyncCommitteeResult>> AccountSyncCommittee(
    const std::vector<ValidatorIndex>& committee,
    const std::map<Slot, const beacon::Block*>& blocks, Slot first_vote_slot, Slot last_vote_slot,
    const MonitoredSet& monitored) {
  constexpr size_t kMaxPositions = 8 * sizeof(beacon::SyncAggregate::sync_committee_bits);
  if (committee.empty() || committee.size() > kMaxPositions) {
    return absl::InvalidArgumentError(absl::StrCat("sync committee has ", committee.size(),
                                                   " positions, want 1 to ", kMaxPositions));
  }
  if (first_vote_slot > last_vote_slot) {
    return absl::InvalidArgumentError(
        absl::StrCat("vote slot range ", first_vote_slot, "..", last_vote_slot, " is empty"));
  }
  // Monitored positions, grouped by validator (sorted by validator, then position).
  std::vector<std::pair<ValidatorIndex, size_t>> positions;
  for (size_t i = 0; i < committee.size(); ++i) {
    if (monitored.Contains(committee[i])) positions.emplace_back(committee[i], i);
  }
  std::sort(positions.begin(), positions.end());
  std::vector<SyncCommitteeResult> out;
  std::vector<size_t> result_of(positions.size());
  for (size_t k = 0; k < positions.size(); ++k) {
    if (out.empty() || out.back().validator != positions[k].first) {
      SyncCommitteeResult r;
      r.validator = positions[k].first;
      r.group = monitored.GroupOf(r.validator);
      out.push_back(r);
    }
    ++out.back().positions;
    result_of[k] = out.size() - 1;
  }

  for (Slot vote = first_vote_slot; vote <= last_vote_slot; ++vote) {
    const Slot carrier = vote + 1;
    const auto it = blocks.find(carrier);
    if (it == blocks.end()) {
      return absl::InvalidArgumentError(absl::StrCat("no block entry for slot ", carrier,
                                                     " (carries the votes for slot ", vote, ")"));
    }
    const beacon::Block* block = it->second;
    if (block == nullptr) continue;  // empty slot: the votes for `vote` are not on chain
    if (block->slot != carrier) {
      return absl::InvalidArgumentError(
          absl::StrCat("block entry for slot ", carrier, " holds a block of slot ", block->slot));
    }
    if (!block->sync_aggregate.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("block at slot ", carrier, " has no sync_aggregate"));
    }
    const auto& bits = block->sync_aggregate->sync_committee_bits;
    for (size_t k = 0; k < positions.size(); ++k) {
      const size_t i = positions[k].second;
      SyncCommitteeResult& r = out[result_of[k]];
      ++r.slots;
      if ((bits[i / 8] >> (i % 8)) & 1) {
        ++r.participated;
      } else {
        ++r.missed;
      }
    }
    if (vote == last_vote_slot) break;  // guards against overflow at UINT64_MAX
  }
  return out;
}

}  // namespace stakewatch::accounting
