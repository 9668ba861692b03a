#include "accounting/accounting.h"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace stakewatch::accounting {

void MonitoredSet::Add(ValidatorIndex validator, int32_t group) {
  if (validator >= group_of_.size()) group_of_.resize(validator + 1, kNotMonitored);
  if (group_of_[validator] == kNotMonitored) ++count_;
  group_of_[validator] = group;
}

namespace {

constexpr uint64_t kMaxCommitteesPerSlot = 64;

}  // namespace

absl::StatusOr<EpochResult> AccountEpoch(const EpochInput& input, const MonitoredSet& monitored) {
  if (input.committees == nullptr || input.blocks == nullptr || input.proposer_duties == nullptr) {
    return absl::InvalidArgumentError("AccountEpoch: missing input");
  }
  if (input.slots_per_epoch == 0) {
    return absl::InvalidArgumentError("AccountEpoch: slots_per_epoch is 0");
  }
  const uint64_t spe = input.slots_per_epoch;
  const Slot start = input.epoch * spe;
  const std::vector<beacon::Committee>& committees = *input.committees;
  if (committees.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("epoch ", input.epoch, ": no committees"));
  }

  // Committee lookup by (slot offset, committee index), and each committee's base offset into
  // one flat array of members, where the first inclusion slot of every member is recorded.
  std::vector<int32_t> committee_at(spe * kMaxCommitteesPerSlot, -1);
  std::vector<uint64_t> base(committees.size());
  uint64_t total_members = 0;
  for (size_t i = 0; i < committees.size(); ++i) {
    const beacon::Committee& c = committees[i];
    if (c.slot < start || c.slot >= start + spe) {
      return absl::InvalidArgumentError(absl::StrCat("epoch ", input.epoch, ": committee for slot ",
                                                     c.slot, " is outside the epoch"));
    }
    if (c.index >= kMaxCommitteesPerSlot) {
      return absl::InvalidArgumentError(
          absl::StrCat("slot ", c.slot, ": committee index ", c.index, " out of range"));
    }
    int32_t& slot_entry = committee_at[(c.slot - start) * kMaxCommitteesPerSlot + c.index];
    if (slot_entry != -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("slot ", c.slot, ": committee ", c.index, " listed twice"));
    }
    slot_entry = static_cast<int32_t>(i);
    base[i] = total_members;
    total_members += c.validators.size();
  }

  // 0 = not (yet) included: an inclusion slot is always > its duty slot >= 0.
  std::vector<Slot> first_inclusion(total_members, 0);

  const std::map<Slot, const beacon::Block*>& blocks = *input.blocks;
  for (Slot slot = start; slot < start + 2 * spe; ++slot) {
    auto it = blocks.find(slot);
    if (it == blocks.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("epoch ", input.epoch, ": slot ", slot, " was not looked up"));
    }
    const beacon::Block* block = it->second;
    if (block == nullptr) continue;
    if (block->slot != slot) {
      return absl::InvalidArgumentError(
          absl::StrCat("block for slot ", slot, " says it is for slot ", block->slot));
    }
    for (size_t a = 0; a < block->attestations.size(); ++a) {
      const beacon::Attestation& att = block->attestations[a];
      const Slot duty_slot = att.data.slot;
      if (duty_slot < start || duty_slot >= start + spe) continue;  // another epoch's vote
      if (duty_slot >= slot) {
        return absl::InvalidArgumentError(absl::StrCat(
            "block ", slot, " attestation ", a, ": vote for slot ", duty_slot, " is not earlier"));
      }
      const int32_t* slot_committees = &committee_at[(duty_slot - start) * kMaxCommitteesPerSlot];
      auto size_of = [&](uint64_t c) -> int64_t {
        const int32_t idx = slot_committees[c];
        return idx < 0 ? -1 : static_cast<int64_t>(committees[idx].validators.size());
      };
      absl::Status st = ForEachAttester(att, size_of, [&](uint64_t c, uint64_t position) {
        Slot& first = first_inclusion[base[slot_committees[c]] + position];
        if (first == 0) first = slot;  // blocks are walked in slot order: the first wins
      });
      if (!st.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("block ", slot, " attestation ", a, ": ", st.message()));
      }
    }
  }

  EpochResult result;
  result.epoch = input.epoch;

  std::vector<size_t> order(committees.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::pair(committees[a].slot, committees[a].index) <
           std::pair(committees[b].slot, committees[b].index);
  });
  for (size_t i : order) {
    const beacon::Committee& c = committees[i];
    for (size_t pos = 0; pos < c.validators.size(); ++pos) {
      const int32_t group = monitored.GroupOf(c.validators[pos]);
      if (group == MonitoredSet::kNotMonitored) continue;
      AttestationResult r;
      r.validator = c.validators[pos];
      r.group = group;
      r.duty_slot = c.slot;
      r.committee_index = c.index;
      const Slot first = first_inclusion[base[i] + pos];
      if (first != 0) {
        r.included = true;
        r.inclusion_slot = first;
        r.inclusion_delay = first - c.slot;
      }
      result.attestations.push_back(r);
    }
  }

  for (const beacon::ProposerDuty& duty : input.proposer_duties->duties) {
    if (duty.slot < start || duty.slot >= start + spe) continue;
    const int32_t group = monitored.GroupOf(duty.validator_index);
    if (group == MonitoredSet::kNotMonitored) continue;
    ProposalResult p;
    p.validator = duty.validator_index;
    p.group = group;
    p.slot = duty.slot;
    const beacon::Block* block = blocks.at(duty.slot);
    p.outcome = (block != nullptr && block->proposer_index == duty.validator_index)
                    ? ProposalOutcome::kProposed
                    : ProposalOutcome::kMissed;
    result.proposals.push_back(p);
  }
  std::sort(result.proposals.begin(), result.proposals.end(),
            [](const ProposalResult& a, const ProposalResult& b) { return a.slot < b.slot; });
  return result;
}

}  // namespace stakewatch::accounting
