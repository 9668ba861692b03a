#include "app/epoch_report.h"

#include <algorithm>
#include <future>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "app/epoch_processor.h"
#include "common/status_macros.h"

namespace stakewatch::app {
namespace {

constexpr std::string_view kStatusNames[kValidatorStatusCount] = {
    "unknown",          "pending_initialized", "pending_queued",
    "active_ongoing",   "active_exiting",      "active_slashed",
    "exited_unslashed", "exited_slashed",      "withdrawal_possible",
    "withdrawal_done"};

// The node does not serve this (endpoint missing, state pruned, or not for this fork): the
// optional figure is left out, the epoch is not failed.
bool NotServed(const absl::Status& s) {
  return s.code() == absl::StatusCode::kNotFound || s.code() == absl::StatusCode::kUnimplemented ||
         s.code() == absl::StatusCode::kInvalidArgument ||
         s.code() == absl::StatusCode::kFailedPrecondition;
}

std::vector<std::string> ToStrings(const std::vector<beacon::ValidatorIndex>& ids, size_t begin,
                                   size_t end) {
  std::vector<std::string> out;
  out.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) out.push_back(absl::StrCat(ids[i]));
  return out;
}

}  // namespace

std::string_view ValidatorStatusName(ValidatorStatus s) {
  return kStatusNames[static_cast<int>(s)];
}

ValidatorStatus ParseValidatorStatus(std::string_view s) {
  for (int i = 1; i < kValidatorStatusCount; ++i) {
    if (kStatusNames[i] == s) return static_cast<ValidatorStatus>(i);
  }
  return ValidatorStatus::kUnknown;
}

bool IsActiveStatus(ValidatorStatus s) {
  return s == ValidatorStatus::kActiveOngoing || s == ValidatorStatus::kActiveExiting ||
         s == ValidatorStatus::kActiveSlashed;
}

void DropSlashedDuties(const std::vector<ValidatorState>& states, accounting::EpochResult* result) {
  std::erase_if(result->attestations, [&states](const accounting::AttestationResult& a) {
    return a.validator < states.size() && states[a.validator].slashed;
  });
}

EpochEnricher::EpochEnricher(beacon::BeaconClient* client, const beacon::ChainSpec& spec,
                             std::vector<std::optional<beacon::Address>> group_fee_recipients,
                             EnricherOptions options)
    : client_(client),
      spec_(spec),
      spe_(spec.slots_per_epoch),
      fee_recipients_(std::move(group_fee_recipients)),
      options_(options) {}

ValidatorState& EpochEnricher::StateOf(beacon::ValidatorIndex v) {
  if (v >= states_.size()) states_.resize(v + 1);
  return states_[v];
}

absl::Status EpochEnricher::RefreshRecords(std::string_view state_id,
                                           const std::vector<beacon::ValidatorIndex>& ids) {
  for (size_t begin = 0; begin < ids.size(); begin += options_.chunk) {
    const size_t end = std::min(ids.size(), begin + options_.chunk);
    ASSIGN_OR_RETURN(std::vector<beacon::ValidatorInfo> infos,
                     client_->GetValidators(state_id, ToStrings(ids, begin, end), {}));
    for (const beacon::ValidatorInfo& info : infos) {
      // Only rows we asked for: a lying node's index 2^60 must not size the table.
      if (!std::binary_search(ids.begin() + begin, ids.begin() + end, info.index)) continue;
      ValidatorState& st = StateOf(info.index);
      st.effective_balance = info.effective_balance;
      st.status = ParseValidatorStatus(info.status);
      st.slashed = info.slashed;
      if (keep_pubkeys_) pubkeys_.try_emplace(info.index, info.pubkey);
    }
  }
  return absl::OkStatus();
}

bool EpochEnricher::AskForAll(const std::vector<beacon::ValidatorIndex>& ids) const {
  // Sorted ids covering at least half of [0, max]: asking for every validator costs the node
  // (and us) less than a body of hundreds of thousands of ids, and returns at most twice as much.
  return ids.size() >= options_.ask_all_min && ids.size() * 2 >= ids.back() + 1;
}

absl::Status EpochEnricher::Prime(beacon::Epoch first_epoch,
                                  const std::vector<beacon::ValidatorIndex>& monitored_list) {
  if (first_epoch == 0 || monitored_list.empty()) return absl::OkStatus();
  const std::string state_id = absl::StrCat(first_epoch * spe_ - 1);
  RETURN_IF_ERROR(RefreshRecords(state_id, monitored_list));
  ASSIGN_OR_RETURN(std::vector<beacon::ValidatorBalance> balances,
                   Balances(state_id, monitored_list));
  for (const beacon::ValidatorBalance& b : balances) {
    ValidatorState& st = StateOf(b.index);
    st.balance = b.balance;
    st.has_balance = true;
    st.balance_epoch = first_epoch - 1;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<beacon::ValidatorBalance>> EpochEnricher::Balances(
    std::string_view state_id, const std::vector<beacon::ValidatorIndex>& ids) {
  if (!ids.empty() && AskForAll(ids)) {
    ASSIGN_OR_RETURN(std::vector<beacon::ValidatorBalance> all,
                     client_->GetValidatorBalances(state_id, {}));
    std::erase_if(all, [&ids](const beacon::ValidatorBalance& b) {
      return !std::binary_search(ids.begin(), ids.end(), b.index);
    });
    return all;
  }
  std::vector<beacon::ValidatorBalance> all;
  all.reserve(ids.size());
  for (size_t begin = 0; begin < ids.size(); begin += options_.chunk) {
    const size_t end = std::min(ids.size(), begin + options_.chunk);
    std::vector<beacon::ValidatorIndex> chunk(ids.begin() + begin, ids.begin() + end);
    ASSIGN_OR_RETURN(std::vector<beacon::ValidatorBalance> part,
                     client_->GetValidatorBalances(state_id, chunk));
    for (const beacon::ValidatorBalance& b : part) {
      if (std::binary_search(chunk.begin(), chunk.end(), b.index)) all.push_back(b);
    }
  }
  return all;
}

absl::StatusOr<const beacon::SyncCommittee*> EpochEnricher::SyncCommitteeFor(beacon::Epoch epoch) {
  const uint64_t per = std::max<uint64_t>(1, spec_.epochs_per_sync_committee_period);
  const uint64_t period = epoch / per;
  if (auto it = sync_committees_.find(period); it != sync_committees_.end()) return &it->second;
  // The state at the epoch's first slot knows its period's committee (and the next one).
  ASSIGN_OR_RETURN(beacon::SyncCommittee committee,
                   client_->GetSyncCommittee(absl::StrCat(epoch * spe_), epoch));
  while (sync_committees_.size() >= 2) sync_committees_.erase(sync_committees_.begin());
  return &sync_committees_.emplace(period, std::move(committee)).first->second;
}

absl::Status EpochEnricher::Enrich(beacon::Epoch epoch, const accounting::MonitoredSet& monitored,
                                   const std::vector<beacon::ValidatorIndex>& monitored_list,
                                   EpochProcessor* processor, const accounting::EpochResult& result,
                                   EpochReport* out) {
  *out = EpochReport{};
  out->epoch = epoch;
  const beacon::Slot start = epoch * spe_;
  const beacon::Slot last = start + spe_ - 1;
  const std::string state_id = absl::StrCat(last);

  // Attestation rewards are the largest response (about 100 bytes per validator) and the node
  // computes them from scratch: ask for them first, on another thread, while the rest is read.
  std::vector<beacon::ValidatorIndex> duty;
  duty.reserve(result.attestations.size());
  for (const accounting::AttestationResult& a : result.attestations) duty.push_back(a.validator);
  std::sort(duty.begin(), duty.end());
  duty.erase(std::unique(duty.begin(), duty.end()), duty.end());
  const bool ask_all = !duty.empty() && AskForAll(duty);  // one request for everyone, filtered
  std::future<absl::StatusOr<std::vector<beacon::AttestationRewards>>> rewards_future;
  if (!duty.empty()) {
    rewards_future = std::async(
        std::launch::async,
        [this, epoch, &duty, ask_all]() -> absl::StatusOr<std::vector<beacon::AttestationRewards>> {
          std::vector<beacon::AttestationRewards> parts;
          const size_t step = ask_all ? duty.size() : options_.chunk;
          for (size_t begin = 0; begin < duty.size(); begin += step) {
            const size_t end = std::min(duty.size(), begin + step);
            std::vector<beacon::ValidatorIndex> chunk;
            if (!ask_all) chunk.assign(duty.begin() + begin, duty.begin() + end);
            ASSIGN_OR_RETURN(beacon::AttestationRewards r,
                             client_->GetAttestationRewards(epoch, chunk));
            parts.push_back(std::move(r));
          }
          return parts;
        });
  }
  // Every return below must not leave the future running with references to locals: wait.
  struct JoinOnExit {
    std::future<absl::StatusOr<std::vector<beacon::AttestationRewards>>>* f;
    ~JoinOnExit() {
      if (f->valid()) f->wait();
    }
  } join_on_exit{&rewards_future};

  // Blocks of E: withdrawals and slashings of monitored validators.
  absl::flat_hash_map<beacon::ValidatorIndex, beacon::Gwei> withdrawn;
  std::vector<beacon::ValidatorIndex> accused;
  for (beacon::Slot s = start; s <= last; ++s) {
    ASSIGN_OR_RETURN(const beacon::Block* block, processor->BlockAt(s));
    if (block == nullptr) continue;
    if (block->execution_payload.has_value()) {
      for (const beacon::Withdrawal& w : block->execution_payload->withdrawals) {
        if (monitored.Contains(w.validator_index)) withdrawn[w.validator_index] += w.amount;
      }
    }
    for (beacon::ValidatorIndex v : block->proposer_slashings) {
      if (!monitored.Contains(v)) continue;
      out->slashings.push_back({v, monitored.GroupOf(v), s, true});
      accused.push_back(v);
    }
    for (beacon::ValidatorIndex v : block->attester_slashed) {
      if (!monitored.Contains(v)) continue;
      out->slashings.push_back({v, monitored.GroupOf(v), s, false});
      accused.push_back(v);
    }
  }

  // Full records: unknown ones, a rotating slice (or everyone), and the accused.
  std::vector<beacon::ValidatorIndex> refresh;
  if (monitored_list.size() <= options_.full_refresh_limit) {
    refresh = monitored_list;
  } else {
    const size_t slice =
        (monitored_list.size() + options_.refresh_rounds - 1) / options_.refresh_rounds;
    for (beacon::ValidatorIndex v : monitored_list) {
      if (v >= states_.size() || states_[v].status == ValidatorStatus::kUnknown) {
        refresh.push_back(v);
      }
    }
    if (refresh_cursor_ >= monitored_list.size()) refresh_cursor_ = 0;
    const size_t end = std::min(monitored_list.size(), refresh_cursor_ + slice);
    refresh.insert(refresh.end(), monitored_list.begin() + refresh_cursor_,
                   monitored_list.begin() + end);
    refresh_cursor_ = end;
    refresh.insert(refresh.end(), accused.begin(), accused.end());
    std::sort(refresh.begin(), refresh.end());
    refresh.erase(std::unique(refresh.begin(), refresh.end()), refresh.end());
  }
  if (absl::Status s = RefreshRecords(state_id, refresh); !s.ok()) {
    if (!NotServed(s)) return s;
    out->missing.push_back("validator_records");
  }

  // Balances at the end of E, and at the end of E-1 where not known.
  absl::StatusOr<std::vector<beacon::ValidatorBalance>> current_or =
      Balances(state_id, monitored_list);
  if (!current_or.ok()) {
    if (!NotServed(current_or.status())) return current_or.status();
    out->missing.push_back("balances");
    current_or.emplace();
  }
  const std::vector<beacon::ValidatorBalance>& current = *current_or;
  if (epoch > 0 && !current.empty()) {
    std::vector<beacon::ValidatorIndex> need_previous;
    for (const beacon::ValidatorBalance& b : current) {
      const ValidatorState& st = StateOf(b.index);
      if (!st.has_balance || st.balance_epoch + 1 != epoch) need_previous.push_back(b.index);
    }
    std::sort(need_previous.begin(), need_previous.end());  // node order; Balances wants sorted
    if (!need_previous.empty()) {
      absl::StatusOr<std::vector<beacon::ValidatorBalance>> previous =
          Balances(absl::StrCat(start - 1), need_previous);
      if (!previous.ok() && !NotServed(previous.status())) return previous.status();
      if (!previous.ok()) previous.emplace();  // no change figure for them this epoch
      for (const beacon::ValidatorBalance& b : *previous) {
        ValidatorState& st = StateOf(b.index);
        st.balance = b.balance;
        st.has_balance = true;
        st.balance_epoch = epoch - 1;
      }
    }
  }
  out->balances.reserve(current.size());
  for (const beacon::ValidatorBalance& b : current) {
    const int32_t group = monitored.GroupOf(b.index);
    if (group == accounting::MonitoredSet::kNotMonitored) continue;  // a lying node
    ValidatorState& st = StateOf(b.index);
    BalanceRecord r;
    r.validator = b.index;
    r.group = group;
    r.balance = b.balance;
    r.effective_balance = st.effective_balance;
    if (auto it = withdrawn.find(b.index); it != withdrawn.end()) r.withdrawn = it->second;
    if (st.has_balance && st.balance_epoch + 1 == epoch) {
      r.change =
          accounting::ClassifyBalanceChange({st.balance, b.balance, r.withdrawn, st.slashed});
    }
    st.balance = b.balance;
    st.has_balance = true;
    st.balance_epoch = epoch;
    out->balances.push_back(r);
  }

  // Attestation rewards of the validators that had a duty, against the ideal for their
  // effective balance (the rows were fetched concurrently, above).
  if (!result.attestations.empty()) {
    absl::StatusOr<std::vector<beacon::AttestationRewards>> fetched = rewards_future.get();
    if (!fetched.ok()) {
      if (!NotServed(fetched.status())) return fetched.status();
      out->missing.push_back("attestation_rewards");
    } else {
      out->attestation_rewards.reserve(duty.size());
      for (const beacon::AttestationRewards& rewards : *fetched) {
        absl::flat_hash_map<beacon::Gwei, const beacon::IdealAttestationReward*> ideal;
        for (const beacon::IdealAttestationReward& row : rewards.ideal_rewards) {
          ideal[row.effective_balance] = &row;
        }
        for (const beacon::TotalAttestationReward& row : rewards.total_rewards) {
          const int32_t group = monitored.GroupOf(row.validator_index);
          if (group == accounting::MonitoredSet::kNotMonitored) continue;
          if (ask_all && !std::binary_search(duty.begin(), duty.end(), row.validator_index)) {
            continue;
          }
          auto it = ideal.find(StateOf(row.validator_index).effective_balance);
          if (it == ideal.end()) continue;  // effective balance unknown: no ideal to compare
          out->attestation_rewards.push_back(
              {row.validator_index, group,
               accounting::AttestationRewardFromRows(row, *it->second)});
        }
      }
    }
  }

  // Sync committee: votes for the slots of E, carried by the blocks at start+1 .. last+1. The
  // vote for slot s belongs to the committee of epoch(s + 1)'s period, so the last slot may
  // belong to the next period's committee.
  ASSIGN_OR_RETURN(const beacon::Block* first_block, processor->BlockAt(start + 1));
  const bool altair = spec_.altair_fork_epoch != UINT64_MAX
                          ? epoch >= spec_.altair_fork_epoch
                          : (first_block != nullptr && first_block->sync_aggregate.has_value());
  if (altair) {
    std::map<beacon::Slot, const beacon::Block*> blocks;
    for (beacon::Slot s = start + 1; s <= last + 1; ++s) {
      ASSIGN_OR_RETURN(blocks[s], processor->BlockAt(s));
    }
    absl::StatusOr<const beacon::SyncCommittee*> here = SyncCommitteeFor(epoch);
    absl::StatusOr<const beacon::SyncCommittee*> next =
        here.ok() ? SyncCommitteeFor(epoch + 1) : here;
    if (!next.ok()) {
      if (!NotServed(next.status())) return next.status();
      out->missing.push_back("sync_committee");
    } else {
      std::map<beacon::ValidatorIndex, accounting::SyncCommitteeResult> merged;
      auto add = [&](const beacon::SyncCommittee* c, beacon::Slot first,
                     beacon::Slot final_slot) -> absl::Status {
        if (first > final_slot) return absl::OkStatus();
        ASSIGN_OR_RETURN(
            std::vector<accounting::SyncCommitteeResult> part,
            accounting::AccountSyncCommittee(c->validators, blocks, first, final_slot, monitored));
        for (const accounting::SyncCommitteeResult& r : part) {
          auto [it, inserted] = merged.emplace(r.validator, r);
          if (!inserted) {
            it->second.positions = std::max(it->second.positions, r.positions);
            it->second.slots += r.slots;
            it->second.participated += r.participated;
            it->second.missed += r.missed;
          }
        }
        return absl::OkStatus();
      };
      if (spe_ > 1) RETURN_IF_ERROR(add(*here, start, last - 1));
      RETURN_IF_ERROR(add(*next, last, last));
      for (auto& [v, r] : merged) out->sync.push_back(r);

      // Sync rewards of the monitored members.
      if (!out->sync.empty()) {
        std::vector<beacon::ValidatorIndex> members;
        for (const accounting::SyncCommitteeResult& r : out->sync) members.push_back(r.validator);
        std::map<beacon::ValidatorIndex, int64_t> sums;
        bool served = true;
        // By block slot: the rewards the blocks of E's slots credited (balances at E's last
        // slot include exactly these).
        for (beacon::Slot slot = start; slot <= last; ++slot) {
          ASSIGN_OR_RETURN(const beacon::Block* block, processor->BlockAt(slot));
          if (block == nullptr) continue;
          absl::StatusOr<std::optional<std::vector<beacon::SyncCommitteeReward>>> rewards =
              client_->GetSyncCommitteeRewards(absl::StrCat(slot), members);
          if (!rewards.ok()) {
            if (!NotServed(rewards.status())) return rewards.status();
            served = false;
            break;
          }
          if (!rewards->has_value()) continue;
          for (const beacon::SyncCommitteeReward& r : **rewards) {
            if (monitored.Contains(r.validator_index)) sums[r.validator_index] += r.reward;
          }
        }
        if (served) {
          for (const auto& [v, reward] : sums) {
            out->sync_rewards.push_back({v, monitored.GroupOf(v), reward});
          }
        } else {
          out->missing.push_back("sync_committee_rewards");
        }
      }
    }
  }

  // Proposals: consensus block reward and the fee recipient against the group's.
  out->proposals.resize(result.proposals.size());
  bool block_rewards_served = true;
  for (size_t i = 0; i < result.proposals.size(); ++i) {
    const accounting::ProposalResult& p = result.proposals[i];
    if (p.outcome != accounting::ProposalOutcome::kProposed) continue;
    ProposalDetail& d = out->proposals[i];
    if (p.group >= 0 && static_cast<size_t>(p.group) < fee_recipients_.size() &&
        fee_recipients_[p.group].has_value() && p.fee_recipient.has_value()) {
      d.fee_recipient_ok = *p.fee_recipient == *fee_recipients_[p.group];
    }
    if (!block_rewards_served) continue;
    absl::StatusOr<std::optional<beacon::BlockRewards>> reward =
        client_->GetBlockRewards(absl::StrCat(p.slot));
    if (!reward.ok()) {
      if (!NotServed(reward.status())) return reward.status();
      block_rewards_served = false;
      out->missing.push_back("block_rewards");
      continue;
    }
    if (reward->has_value() && (*reward)->proposer_index == p.validator) {
      d.block_reward = (*reward)->total;
    }
  }
  return absl::OkStatus();
}

}  // namespace stakewatch::app
