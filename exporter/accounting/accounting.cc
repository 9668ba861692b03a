#include "accounting/accounting.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

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
  EpochScratch scratch;
  EpochResult result;
  RETURN_IF_ERROR(AccountEpochInto(input, monitored, &scratch, &result));
  return result;
}

absl::Status AccountEpochInto(const EpochInput& input, const MonitoredSet& monitored,
                              EpochScratch* scratch, EpochResult* out) {
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

  // 0 = not (yet) included: an inclusion slot is always > its duty slot >= 0. Alongside, the
  // aggregate that first carried each member's vote (for the vote's data).
  std::vector<Slot>& first_inclusion = scratch->first_inclusion;
  std::vector<const beacon::Attestation*>& first_vote = scratch->first_vote;
  first_inclusion.assign(total_members, 0);
  first_vote.assign(total_members, nullptr);

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
        const uint64_t member = base[slot_committees[c]] + position;
        if (first_inclusion[member] == 0) {  // blocks are walked in slot order: the first wins
          first_inclusion[member] = slot;
          first_vote[member] = &att;
        }
      });
      if (!st.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("block ", slot, " attestation ", a, ": ", st.message()));
      }
    }
  }

  // The canonical chain's roots. A block's own root is not in its body, but the next block's
  // parent_root is. The range's last block's root stays unknown; no included vote needs it
  // (a vote is included by a later block, so the block it should name has a successor).
  std::vector<Slot> block_slots;  // non-empty slots of the range, ascending
  for (const auto& [slot, block] : blocks) {
    if (slot >= start && slot < start + 2 * spe && block != nullptr) block_slots.push_back(slot);
  }
  std::vector<std::optional<beacon::Root>> block_roots(block_slots.size());
  for (size_t i = 0; i + 1 < block_slots.size(); ++i) {
    block_roots[i] = blocks.at(block_slots[i + 1])->parent_root;
  }
  std::optional<beacon::Root> root_before_range;
  if (!block_slots.empty()) root_before_range = blocks.at(block_slots.front())->parent_root;
  // Root of the latest canonical block at or before `slot` (for slot >= start - 1).
  auto canonical_root_at = [&](Slot slot) -> std::optional<beacon::Root> {
    auto it = std::upper_bound(block_slots.begin(), block_slots.end(), slot);
    if (it == block_slots.begin()) return root_before_range;
    return block_roots[static_cast<size_t>(it - block_slots.begin()) - 1];
  };
  // First canonical block after `slot` within the range, as a distance; 0 if none.
  auto optimal_delay = [&](Slot slot) -> uint64_t {
    auto it = std::upper_bound(block_slots.begin(), block_slots.end(), slot);
    return it == block_slots.end() ? 0 : *it - slot;
  };
  const std::optional<beacon::Root> target_root = canonical_root_at(start);
  uint64_t sqrt_spe = 0;
  while ((sqrt_spe + 1) * (sqrt_spe + 1) <= spe) ++sqrt_spe;  // integer_squareroot

  EpochResult& result = *out;
  result.epoch = input.epoch;
  result.attestations.clear();
  result.proposals.clear();
  result.attestations.reserve(monitored.size());

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
      r.optimal_delay = optimal_delay(c.slot);
      const Slot first = first_inclusion[base[i] + pos];
      if (first != 0) {
        const beacon::AttestationData& data = first_vote[base[i] + pos]->data;
        r.included = true;
        r.inclusion_slot = first;
        r.inclusion_delay = first - c.slot;
        const std::optional<beacon::Root> head_root = canonical_root_at(c.slot);
        r.head_correct = head_root.has_value() && data.beacon_block_root == *head_root;
        r.target_correct = target_root.has_value() && data.target.epoch == input.epoch &&
                           data.target.root == *target_root;
        r.source_correct = true;  // an included vote's source is the justified checkpoint
        r.timely_source = r.source_correct && r.inclusion_delay <= sqrt_spe;
        r.timely_target = r.source_correct && r.target_correct;
        r.timely_head = r.timely_target && r.head_correct && r.inclusion_delay == 1;
        r.effectiveness =
            static_cast<double>(r.optimal_delay) / static_cast<double>(r.inclusion_delay);
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
    if (block != nullptr && block->proposer_index == duty.validator_index) {
      p.outcome = ProposalOutcome::kProposed;
      if (block->execution_payload.has_value()) {
        p.fee_recipient = block->execution_payload->fee_recipient;
        p.execution_block_number = block->execution_payload->block_number;
      }
    } else {
      p.outcome = ProposalOutcome::kMissed;
      if (input.orphaned_headers != nullptr) {
        for (const beacon::BlockHeader& h : *input.orphaned_headers) {
          if (!h.canonical && h.slot == duty.slot && h.proposer_index == duty.validator_index) {
            p.outcome = ProposalOutcome::kOrphaned;
          }
        }
      }
    }
    result.proposals.push_back(p);
  }
  std::sort(result.proposals.begin(), result.proposals.end(),
            [](const ProposalResult& a, const ProposalResult& b) { return a.slot < b.slot; });
  return absl::OkStatus();
}

std::string_view ProposalOutcomeName(ProposalOutcome outcome) {
  switch (outcome) {
    case ProposalOutcome::kProposed:
      return "proposed";
    case ProposalOutcome::kMissed:
      return "missed";
    case ProposalOutcome::kOrphaned:
      return "orphaned";
  }
  return "missed";
}

AttestationRewardResult AttestationRewardFromRows(const beacon::TotalAttestationReward& t,
                                                  const beacon::IdealAttestationReward& i) {
  AttestationRewardResult r;
  r.head = t.head;
  r.target = t.target;
  r.source = t.source;
  r.inactivity = t.inactivity;
  r.ideal_head = i.head;
  r.ideal_target = i.target;
  r.ideal_source = i.source;
  r.ideal_inactivity = i.inactivity;
  r.reward = r.head + r.target + r.source + r.inactivity;
  r.ideal_reward = r.ideal_head + r.ideal_target + r.ideal_source + r.ideal_inactivity;
  r.effectiveness =
      r.ideal_reward == 0 ? 0 : static_cast<double>(r.reward) / static_cast<double>(r.ideal_reward);
  return r;
}

absl::StatusOr<AttestationRewardResult> AttestationReward(const beacon::AttestationRewards& rewards,
                                                          ValidatorIndex validator,
                                                          beacon::Gwei effective_balance) {
  const beacon::TotalAttestationReward* total = nullptr;
  for (const auto& t : rewards.total_rewards) {
    if (t.validator_index == validator) {
      total = &t;
      break;
    }
  }
  if (total == nullptr) {
    return absl::NotFoundError(absl::StrCat("no attestation reward for validator ", validator));
  }
  const beacon::IdealAttestationReward* ideal = nullptr;
  for (const auto& i : rewards.ideal_rewards) {
    if (i.effective_balance == effective_balance) {
      ideal = &i;
      break;
    }
  }
  if (ideal == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no ideal attestation reward for effective balance ", effective_balance));
  }
  return AttestationRewardFromRows(*total, *ideal);
}

}  // namespace stakewatch::accounting
