#include "app/validator_metrics.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace stakewatch::app {

using exposition::Family;
using exposition::FamilyDesc;
using exposition::MetricType;
using exposition::SeriesId;

namespace {

constexpr std::string_view kParts[3] = {"head", "target", "source"};
constexpr std::string_view kComponentNames[4] = {"head", "target", "source", "inactivity"};
constexpr std::string_view kOutcomeNames[3] = {"proposed", "missed", "orphaned"};

int OutcomeIndex(accounting::ProposalOutcome o) {
  switch (o) {
    case accounting::ProposalOutcome::kProposed:
      return 0;
    case accounting::ProposalOutcome::kMissed:
      return 1;
    case accounting::ProposalOutcome::kOrphaned:
      return 2;
  }
  return 1;
}

double D(int64_t v) { return static_cast<double>(v); }
double D(uint64_t v) { return static_cast<double>(v); }

}  // namespace

const std::vector<double>& ValidatorMetrics::DelayBuckets() {
  static const std::vector<double> buckets = {1, 2, 3, 4, 5, 8, 16, 32, 64};
  return buckets;
}

absl::StatusOr<std::unique_ptr<ValidatorMetrics>> ValidatorMetrics::Create(
    exposition::SeriesStore* store, const std::vector<GroupInfo>& groups,
    const std::vector<std::pair<uint64_t, int32_t>>& validators, PerValidatorOptions options,
    const std::vector<std::string>& relays) {
  std::unique_ptr<ValidatorMetrics> m(new ValidatorMetrics());
  m->per_validator_ = options;
  m->relay_count_ = relays.size();

  std::set<std::string> extra_keys;
  for (const GroupInfo& g : groups) {
    for (const auto& [k, v] : g.labels) extra_keys.insert(k);
  }
  std::vector<std::string> gl = {"group"};
  gl.insert(gl.end(), extra_keys.begin(), extra_keys.end());
  auto with = [&gl](std::string_view extra) {
    std::vector<std::string> l = gl;
    l.emplace_back(extra);
    return l;
  };

  auto add = [&](std::string name, std::string help, MetricType type,
                 std::vector<std::string> labels,
                 std::vector<double> buckets = {}) -> absl::StatusOr<Family*> {
    return store->AddFamily(
        FamilyDesc{std::move(name), std::move(help), type, std::move(labels), std::move(buckets)});
  };
  const MetricType kC = MetricType::kCounter;
  const MetricType kG = MetricType::kGauge;
  ASSIGN_OR_RETURN(m->g_duties_,
                   add("eth_validator_group_attestation_duties_total",
                       "Attestation duties of the group's validators in counted epochs.", kC, gl));
  ASSIGN_OR_RETURN(
      m->g_included_,
      add("eth_validator_group_attestations_included_total",
          "Attestation duties whose vote a canonical block included (any delay).", kC, gl));
  ASSIGN_OR_RETURN(
      m->g_missed_,
      add("eth_validator_group_attestations_missed_total",
          "Attestation duties whose vote no canonical block included in time.", kC, gl));
  ASSIGN_OR_RETURN(m->g_delay_, add("eth_validator_group_attestation_inclusion_delay_slots",
                                    "Inclusion delay (inclusion slot minus duty slot) of included "
                                    "attestations, first inclusion only.",
                                    MetricType::kHistogram, gl, DelayBuckets()));
  ASSIGN_OR_RETURN(m->g_proposals_,
                   add("eth_validator_group_proposals_total",
                       "Block proposal duties of the group's validators, by outcome (proposed, "
                       "missed, orphaned).",
                       kC, with("outcome")));
  ASSIGN_OR_RETURN(m->g_correct_,
                   add("eth_validator_group_attestation_votes_correct_total",
                       "Included votes whose head, target or source matches the canonical chain, "
                       "by vote.",
                       kC, with("vote")));
  ASSIGN_OR_RETURN(m->g_timely_, add("eth_validator_group_attestation_timely_total",
                                     "Included votes that earned the consensus spec's timely_head, "
                                     "timely_target or timely_source participation flag, by flag.",
                                     kC, with("flag")));
  ASSIGN_OR_RETURN(m->g_effectiveness_,
                   add("eth_validator_group_attestation_effectiveness_total",
                       "Sum over attestation duties of inclusion effectiveness (optimal delay / "
                       "actual delay, 0 when missed); divide by the duties' increase for the mean.",
                       kC, gl));
  ASSIGN_OR_RETURN(m->g_statuses_, add("eth_validator_group_validators",
                                       "Monitored validators by Beacon API status (last read).", kG,
                                       with("status")));
  ASSIGN_OR_RETURN(m->g_slashed_validators_,
                   add("eth_validator_group_slashed_validators",
                       "Monitored validators whose slashed flag is set.", kG, gl));
  ASSIGN_OR_RETURN(m->g_balance_,
                   add("eth_validator_group_balance_gwei",
                       "Sum of balances at the last counted epoch's last slot.", kG, gl));
  ASSIGN_OR_RETURN(m->g_effective_balance_, add("eth_validator_group_effective_balance_gwei",
                                                "Sum of effective balances (last read).", kG, gl));
  ASSIGN_OR_RETURN(m->g_income_rewards_,
                   add("eth_validator_group_consensus_rewards_gwei_total",
                       "Per-validator per-epoch balance increases with withdrawals, deposits and "
                       "consolidations taken out (consensus rewards).",
                       kC, gl));
  ASSIGN_OR_RETURN(m->g_income_penalties_,
                   add("eth_validator_group_consensus_penalties_gwei_total",
                       "Per-validator per-epoch balance decreases with withdrawals and "
                       "consolidations taken out (consensus penalties, slashing included).",
                       kC, gl));
  ASSIGN_OR_RETURN(
      m->g_withdrawals_,
      add("eth_validator_group_withdrawals_gwei_total",
          "Withdrawals (execution payload withdrawals) of the group's validators.", kC, gl));
  ASSIGN_OR_RETURN(m->g_deposits_, add("eth_validator_group_deposits_gwei_total",
                                       "Balance rises of at least 1 ETH in one epoch, set aside "
                                       "as deposits or incoming consolidations.",
                                       kC, gl));
  ASSIGN_OR_RETURN(m->g_transfers_,
                   add("eth_validator_group_transfers_out_gwei_total",
                       "Balance falls of at least 1 ETH of unslashed validators not explained by "
                       "withdrawals, set aside as outgoing consolidations.",
                       kC, gl));
  ASSIGN_OR_RETURN(m->g_att_rewards_,
                   add("eth_validator_group_attestation_rewards_gwei_total",
                       "Attestation rewards from /eth/v1/beacon/rewards/attestations (positive "
                       "amounts), by component.",
                       kC, with("component")));
  ASSIGN_OR_RETURN(m->g_att_penalties_,
                   add("eth_validator_group_attestation_penalties_gwei_total",
                       "Attestation penalties (negative amounts, as positive numbers), by "
                       "component.",
                       kC, with("component")));
  ASSIGN_OR_RETURN(m->g_att_ideal_,
                   add("eth_validator_group_attestation_ideal_rewards_gwei_total",
                       "Ideal attestation rewards for the validators' effective balances, by "
                       "component.",
                       kC, with("component")));
  ASSIGN_OR_RETURN(
      m->g_reward_effectiveness_,
      add("eth_validator_group_attestation_reward_effectiveness",
          "Last counted epoch: sum of actual attestation rewards / sum of ideal ones.", kG, gl));
  ASSIGN_OR_RETURN(
      m->g_sync_duties_,
      add("eth_validator_group_sync_committee_duties_total",
          "Sync committee duties (positions x slots whose next slot has a block).", kC, gl));
  ASSIGN_OR_RETURN(m->g_sync_participated_,
                   add("eth_validator_group_sync_committee_participated_total",
                       "Sync committee duties whose signature the next block carried.", kC, gl));
  ASSIGN_OR_RETURN(m->g_sync_missed_,
                   add("eth_validator_group_sync_committee_missed_total",
                       "Sync committee duties whose signature the next block lacked.", kC, gl));
  ASSIGN_OR_RETURN(m->g_sync_positions_,
                   add("eth_validator_group_sync_committee_positions",
                       "Sync committee positions held in the last counted epoch.", kG, gl));
  ASSIGN_OR_RETURN(m->g_sync_rewards_, add("eth_validator_group_sync_committee_rewards_gwei_total",
                                           "Sync committee rewards (positive amounts).", kC, gl));
  ASSIGN_OR_RETURN(
      m->g_sync_penalties_,
      add("eth_validator_group_sync_committee_penalties_gwei_total",
          "Sync committee penalties (negative amounts, as positive numbers).", kC, gl));
  ASSIGN_OR_RETURN(
      m->g_proposer_rewards_,
      add("eth_validator_group_proposer_rewards_gwei_total",
          "Consensus rewards of proposed blocks (/eth/v1/beacon/rewards/blocks).", kC, gl));
  ASSIGN_OR_RETURN(
      m->g_wrong_fee_recipient_,
      add("eth_validator_group_wrong_fee_recipient_total",
          "Proposed blocks whose fee recipient is not the group's configured one.", kC, gl));
  ASSIGN_OR_RETURN(m->g_slashings_,
                   add("eth_validator_group_slashings_total",
                       "Slashings of the group's validators included in canonical blocks, by kind "
                       "(attester, proposer).",
                       kC, with("kind")));
  ASSIGN_OR_RETURN(m->g_provisional_attestations_,
                   add("eth_validator_group_provisional_attestations",
                       "Newest complete but not yet counted epoch: attestation duties by result "
                       "(included, missed); recomputed after a reorg.",
                       kG, with("result")));
  ASSIGN_OR_RETURN(m->g_provisional_proposals_,
                   add("eth_validator_group_provisional_proposals",
                       "Newest complete but not yet counted epoch: proposal duties by outcome.", kG,
                       with("outcome")));
  ASSIGN_OR_RETURN(m->g_liveness_,
                   add("eth_validator_group_liveness_validators",
                       "Active validators seen (live=\"true\") or not seen on gossip in the last "
                       "checked epoch (/eth/v1/validator/liveness); not on-chain inclusion.",
                       kG, with("live")));
  ASSIGN_OR_RETURN(m->g_blocks_built_,
                   add("eth_validator_group_blocks_built_total",
                       "Proposed blocks by builder: relay (a configured MEV relay delivered the "
                       "payload) or local.",
                       kC, with("builder")));
  ASSIGN_OR_RETURN(m->g_exec_rewards_,
                   add("eth_validator_group_execution_rewards_gwei_total",
                       "Execution-layer value received by the fee recipient for proposed blocks "
                       "(priority fees of a local block, the builder's payment of a relay block), "
                       "from the execution client.",
                       kC, gl));
  ASSIGN_OR_RETURN(m->g_relay_values_,
                   add("eth_validator_group_relay_delivered_value_gwei_total",
                       "Value of payloads a MEV relay says it delivered for the group's proposed "
                       "blocks (its proposer_payload_delivered data), by relay.",
                       kC, with("relay")));

  for (const GroupInfo& g : groups) {
    std::vector<std::string> values = {g.name};
    for (const std::string& key : extra_keys) {
      std::string value;
      for (const auto& [k, v] : g.labels) {
        if (k == key) value = v;
      }
      values.push_back(value);
    }
    std::vector<std::string_view> views(values.begin(), values.end());
    auto one = [&](Family* f) { return f->GetOrCreate(views); };
    auto labeled = [&](Family* f, std::string_view extra) {
      views.push_back(extra);
      SeriesId id = f->GetOrCreate(views);
      views.pop_back();
      return id;
    };
    GroupSeries s;
    s.duties = one(m->g_duties_);
    s.included = one(m->g_included_);
    s.missed = one(m->g_missed_);
    s.delay = one(m->g_delay_);
    s.effectiveness = one(m->g_effectiveness_);
    for (int k = 0; k < 3; ++k) {
      s.correct[k] = labeled(m->g_correct_, kParts[k]);
      s.timely[k] = labeled(m->g_timely_, kParts[k]);
    }
    for (int k = 0; k < kOutcomes; ++k) {
      s.proposals[k] = labeled(m->g_proposals_, kOutcomeNames[k]);
      s.provisional_proposals[k] = labeled(m->g_provisional_proposals_, kOutcomeNames[k]);
    }
    for (int k = 0; k < kValidatorStatusCount; ++k) {
      s.statuses[k] = labeled(m->g_statuses_, ValidatorStatusName(static_cast<ValidatorStatus>(k)));
    }
    s.slashed_validators = one(m->g_slashed_validators_);
    s.balance = one(m->g_balance_);
    s.effective_balance = one(m->g_effective_balance_);
    s.income_rewards = one(m->g_income_rewards_);
    s.income_penalties = one(m->g_income_penalties_);
    s.withdrawals = one(m->g_withdrawals_);
    s.deposits = one(m->g_deposits_);
    s.transfers = one(m->g_transfers_);
    for (int k = 0; k < kComponents; ++k) {
      s.att_rewards[k] = labeled(m->g_att_rewards_, kComponentNames[k]);
      s.att_penalties[k] = labeled(m->g_att_penalties_, kComponentNames[k]);
      s.att_ideal[k] = labeled(m->g_att_ideal_, kComponentNames[k]);
    }
    s.reward_effectiveness = one(m->g_reward_effectiveness_);
    s.sync_duties = one(m->g_sync_duties_);
    s.sync_participated = one(m->g_sync_participated_);
    s.sync_missed = one(m->g_sync_missed_);
    s.sync_positions = one(m->g_sync_positions_);
    s.sync_rewards = one(m->g_sync_rewards_);
    s.sync_penalties = one(m->g_sync_penalties_);
    s.proposer_rewards = one(m->g_proposer_rewards_);
    s.wrong_fee_recipient = one(m->g_wrong_fee_recipient_);
    s.slashings[0] = labeled(m->g_slashings_, "attester");
    s.slashings[1] = labeled(m->g_slashings_, "proposer");
    s.provisional_included = labeled(m->g_provisional_attestations_, "included");
    s.provisional_missed = labeled(m->g_provisional_attestations_, "missed");
    s.live = labeled(m->g_liveness_, "true");
    s.not_live = labeled(m->g_liveness_, "false");
    s.blocks_local = labeled(m->g_blocks_built_, "local");
    s.blocks_relay = labeled(m->g_blocks_built_, "relay");
    s.exec_rewards = one(m->g_exec_rewards_);
    for (const std::string& relay : relays) {
      s.relay_values.push_back(labeled(m->g_relay_values_, relay));
    }
    m->group_series_.push_back(s);
    m->group_names_.push_back(g.name);
  }

  if (options.enabled) {
    const std::vector<std::string> vl = {"group", "validator_index"};
    struct VDesc {
      Family** out;
      const char* name;
      const char* help;
      MetricType type;
    };
    const VDesc descs[] = {
        {&m->v_included_, "eth_validator_attestations_included_total",
         "Per validator (opt-in): attestation duties whose vote was included.", kC},
        {&m->v_missed_, "eth_validator_attestations_missed_total",
         "Per validator (opt-in): attestation duties whose vote was not included.", kC},
        {&m->v_delay_, "eth_validator_attestation_inclusion_delay_slots_total",
         "Per validator (opt-in): sum of inclusion delays of included votes.", kC},
        {&m->v_balance_, "eth_validator_balance_gwei",
         "Per validator (opt-in): balance at the last counted epoch's last slot.", kG},
        {&m->v_effective_balance_, "eth_validator_effective_balance_gwei",
         "Per validator (opt-in): effective balance (last read).", kG},
        {&m->v_income_rewards_, "eth_validator_consensus_rewards_gwei_total",
         "Per validator (opt-in): balance increases net of withdrawals and deposits.", kC},
        {&m->v_income_penalties_, "eth_validator_consensus_penalties_gwei_total",
         "Per validator (opt-in): balance decreases net of withdrawals and consolidations.", kC},
        {&m->v_reward_effectiveness_, "eth_validator_attestation_reward_effectiveness",
         "Per validator (opt-in): last counted epoch's actual / ideal attestation reward.", kG},
        {&m->v_sync_participated_, "eth_validator_sync_committee_participated_total",
         "Per validator (opt-in): sync committee duties signed.", kC},
        {&m->v_sync_missed_, "eth_validator_sync_committee_missed_total",
         "Per validator (opt-in): sync committee duties missed.", kC},
        {&m->v_active_, "eth_validator_active",
         "Per validator (opt-in): 1 if the last read status is active_*, else 0.", kG},
        {&m->v_slashed_, "eth_validator_slashed",
         "Per validator (opt-in): 1 if the slashed flag is set, else 0.", kG},
        {&m->v_live_, "eth_validator_live",
         "Per validator (opt-in): 1 if seen on gossip in the last checked epoch, else 0.", kG},
    };
    for (const VDesc& d : descs) {
      ASSIGN_OR_RETURN(*d.out, add(d.name, d.help, d.type, vl));
      m->v_families_.push_back(*d.out);
    }
    std::vector<std::string> pl = vl;
    pl.push_back("outcome");
    ASSIGN_OR_RETURN(m->v_proposals_,
                     add("eth_validator_proposals_total",
                         "Per validator (opt-in): block proposal duties by outcome.", kC, pl));
    std::vector<std::pair<uint64_t, int32_t>> sorted = validators;
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [index, group] : sorted) m->AddValidator(index, group);
  }
  return m;
}

void ValidatorMetrics::AddValidator(uint64_t index, int32_t group) {
  if (v_included_ == nullptr || per_validator_count_ >= per_validator_.limit) return;
  if (group < 0 || static_cast<size_t>(group) >= group_names_.size()) return;
  if (OrdinalOf(index) >= 0) return;
  if (index >= ordinal_of_.size()) ordinal_of_.resize(index + 1, -1);
  const std::string idx = absl::StrCat(index);
  const std::string_view views[] = {group_names_[group], idx};
  SeriesId id;
  for (Family* f : v_families_) id = f->GetOrCreate(views);
  for (int k = 0; k < kOutcomes; ++k) {
    const std::string_view pviews[] = {group_names_[group], idx, kOutcomeNames[k]};
    v_proposals_->GetOrCreate(pviews);
  }
  ordinal_of_[index] = static_cast<int32_t>(id.index);
  ++per_validator_count_;
}

void ValidatorMetrics::RecordEpoch(const accounting::EpochResult& result) {
  struct Counts {
    uint64_t duties = 0, included = 0, missed = 0;
    uint64_t proposals[kOutcomes] = {0, 0, 0};
    uint64_t correct[3] = {0, 0, 0}, timely[3] = {0, 0, 0};
    double effectiveness = 0;
  };
  std::vector<Counts> counts(group_series_.size());
  {
    Family::Writer delay(g_delay_);
    for (const accounting::AttestationResult& a : result.attestations) {
      Counts& c = counts[a.group];
      ++c.duties;
      c.effectiveness += a.effectiveness;
      c.correct[0] += a.head_correct;
      c.correct[1] += a.target_correct;
      c.correct[2] += a.source_correct;
      c.timely[0] += a.timely_head;
      c.timely[1] += a.timely_target;
      c.timely[2] += a.timely_source;
      if (a.included) {
        ++c.included;
        delay.Observe(group_series_[a.group].delay, static_cast<double>(a.inclusion_delay));
      } else {
        ++c.missed;
      }
    }
  }
  for (const accounting::ProposalResult& p : result.proposals) {
    ++counts[p.group].proposals[OutcomeIndex(p.outcome)];
  }
  for (size_t g = 0; g < counts.size(); ++g) {
    const GroupSeries& s = group_series_[g];
    g_duties_->Add(s.duties, D(counts[g].duties));
    g_included_->Add(s.included, D(counts[g].included));
    g_missed_->Add(s.missed, D(counts[g].missed));
    for (int k = 0; k < kOutcomes; ++k)
      g_proposals_->Add(s.proposals[k], D(counts[g].proposals[k]));
    g_effectiveness_->Add(s.effectiveness, counts[g].effectiveness);
    for (int k = 0; k < 3; ++k) {
      g_correct_->Add(s.correct[k], D(counts[g].correct[k]));
      g_timely_->Add(s.timely[k], D(counts[g].timely[k]));
    }
  }

  if (v_included_ == nullptr) return;
  {
    Family::Writer wi(v_included_), wm(v_missed_), wd(v_delay_);
    for (const accounting::AttestationResult& a : result.attestations) {
      const int32_t o = OrdinalOf(a.validator);
      if (o < 0) continue;
      const SeriesId id{static_cast<uint32_t>(o)};
      if (a.included) {
        wi.Add(id, 1);
        wd.Add(id, static_cast<double>(a.inclusion_delay));
      } else {
        wm.Add(id, 1);
      }
    }
  }
  for (const accounting::ProposalResult& p : result.proposals) {
    const int32_t o = OrdinalOf(p.validator);
    if (o < 0) continue;
    v_proposals_->Add(SeriesId{static_cast<uint32_t>(kOutcomes * o + OutcomeIndex(p.outcome))}, 1);
  }
}

void ValidatorMetrics::RecordReport(const accounting::EpochResult& result,
                                    const EpochReport& report,
                                    const std::vector<ValidatorState>& states,
                                    const accounting::MonitoredSet& monitored,
                                    const std::vector<uint64_t>& monitored_list) {
  const size_t n = group_series_.size();
  struct Sums {
    double statuses[kValidatorStatusCount] = {};
    double slashed = 0, effective = 0, balance = 0;
    double rewards = 0, penalties = 0, withdrawals = 0, deposits = 0, transfers = 0;
    double att_rewards[kComponents] = {}, att_penalties[kComponents] = {}, ideal[kComponents] = {};
    double actual_total = 0, ideal_total = 0;
    bool have_rewards = false;
    double sync_duties = 0, sync_participated = 0, sync_missed = 0, sync_positions = 0;
    double sync_rewards = 0, sync_penalties = 0;
    double proposer_rewards = 0, wrong_fee_recipient = 0, slashings[2] = {};
  };
  std::vector<Sums> sums(n);
  for (uint64_t v : monitored_list) {
    const int32_t g = monitored.GroupOf(v);
    if (g < 0 || static_cast<size_t>(g) >= n) continue;
    const ValidatorState st = v < states.size() ? states[v] : ValidatorState{};
    sums[g].statuses[static_cast<int>(st.status)] += 1;
    sums[g].slashed += st.slashed;
    sums[g].effective += D(st.effective_balance);
    const int32_t o = OrdinalOf(v);
    if (o >= 0) {
      const SeriesId id{static_cast<uint32_t>(o)};
      v_effective_balance_->Set(id, D(st.effective_balance));
      v_active_->Set(id, IsActiveStatus(st.status) ? 1 : 0);
      v_slashed_->Set(id, st.slashed ? 1 : 0);
    }
  }
  for (const BalanceRecord& b : report.balances) {
    Sums& s = sums[b.group];
    s.balance += D(b.balance);
    const double up = b.change.income > 0 ? D(b.change.income) : 0;
    const double down = b.change.income < 0 ? -D(b.change.income) : 0;
    s.rewards += up;
    s.penalties += down;
    s.withdrawals += D(b.withdrawn);
    s.deposits += D(b.change.deposited);
    s.transfers += D(b.change.transferred);
    const int32_t o = OrdinalOf(b.validator);
    if (o >= 0) {
      const SeriesId id{static_cast<uint32_t>(o)};
      v_balance_->Set(id, D(b.balance));
      v_income_rewards_->Add(id, up);
      v_income_penalties_->Add(id, down);
    }
  }
  for (const AttestationRewardRecord& r : report.attestation_rewards) {
    Sums& s = sums[r.group];
    const int64_t actual[kComponents] = {r.reward.head, r.reward.target, r.reward.source,
                                         r.reward.inactivity};
    const int64_t ideal[kComponents] = {r.reward.ideal_head, r.reward.ideal_target,
                                        r.reward.ideal_source, r.reward.ideal_inactivity};
    for (int k = 0; k < kComponents; ++k) {
      if (actual[k] > 0) s.att_rewards[k] += D(actual[k]);
      if (actual[k] < 0) s.att_penalties[k] -= D(actual[k]);
      if (ideal[k] > 0) s.ideal[k] += D(ideal[k]);
    }
    s.actual_total += D(r.reward.reward);
    s.ideal_total += D(r.reward.ideal_reward);
    s.have_rewards = true;
    const int32_t o = OrdinalOf(r.validator);
    if (o >= 0)
      v_reward_effectiveness_->Set(SeriesId{static_cast<uint32_t>(o)}, r.reward.effectiveness);
  }
  for (const accounting::SyncCommitteeResult& r : report.sync) {
    Sums& s = sums[r.group];
    s.sync_duties += D(r.slots);
    s.sync_participated += D(r.participated);
    s.sync_missed += D(r.missed);
    s.sync_positions += D(r.positions);
    const int32_t o = OrdinalOf(r.validator);
    if (o >= 0) {
      v_sync_participated_->Add(SeriesId{static_cast<uint32_t>(o)}, D(r.participated));
      v_sync_missed_->Add(SeriesId{static_cast<uint32_t>(o)}, D(r.missed));
    }
  }
  for (const SyncRewardRecord& r : report.sync_rewards) {
    if (r.reward > 0) sums[r.group].sync_rewards += D(r.reward);
    if (r.reward < 0) sums[r.group].sync_penalties -= D(r.reward);
  }
  for (size_t i = 0; i < result.proposals.size() && i < report.proposals.size(); ++i) {
    const ProposalDetail& d = report.proposals[i];
    Sums& s = sums[result.proposals[i].group];
    if (d.block_reward.has_value()) s.proposer_rewards += D(*d.block_reward);
    if (d.fee_recipient_ok.has_value() && !*d.fee_recipient_ok) s.wrong_fee_recipient += 1;
  }
  for (const SlashingRecord& r : report.slashings)
    sums[r.group].slashings[r.proposer_slashing] += 1;

  for (size_t g = 0; g < n; ++g) {
    const GroupSeries& gs = group_series_[g];
    const Sums& s = sums[g];
    for (int k = 0; k < kValidatorStatusCount; ++k) g_statuses_->Set(gs.statuses[k], s.statuses[k]);
    g_slashed_validators_->Set(gs.slashed_validators, s.slashed);
    g_effective_balance_->Set(gs.effective_balance, s.effective);
    if (!report.balances.empty()) g_balance_->Set(gs.balance, s.balance);
    g_income_rewards_->Add(gs.income_rewards, s.rewards);
    g_income_penalties_->Add(gs.income_penalties, s.penalties);
    g_withdrawals_->Add(gs.withdrawals, s.withdrawals);
    g_deposits_->Add(gs.deposits, s.deposits);
    g_transfers_->Add(gs.transfers, s.transfers);
    for (int k = 0; k < kComponents; ++k) {
      g_att_rewards_->Add(gs.att_rewards[k], s.att_rewards[k]);
      g_att_penalties_->Add(gs.att_penalties[k], s.att_penalties[k]);
      g_att_ideal_->Add(gs.att_ideal[k], s.ideal[k]);
    }
    if (s.have_rewards && s.ideal_total > 0) {
      g_reward_effectiveness_->Set(gs.reward_effectiveness, s.actual_total / s.ideal_total);
    }
    g_sync_duties_->Add(gs.sync_duties, s.sync_duties);
    g_sync_participated_->Add(gs.sync_participated, s.sync_participated);
    g_sync_missed_->Add(gs.sync_missed, s.sync_missed);
    g_sync_positions_->Set(gs.sync_positions, s.sync_positions);
    g_sync_rewards_->Add(gs.sync_rewards, s.sync_rewards);
    g_sync_penalties_->Add(gs.sync_penalties, s.sync_penalties);
    g_proposer_rewards_->Add(gs.proposer_rewards, s.proposer_rewards);
    g_wrong_fee_recipient_->Add(gs.wrong_fee_recipient, s.wrong_fee_recipient);
    g_slashings_->Add(gs.slashings[0], s.slashings[0]);
    g_slashings_->Add(gs.slashings[1], s.slashings[1]);
  }
}

void ValidatorMetrics::RecordExecution(const std::vector<ExecutionRecord>& records) {
  for (const ExecutionRecord& r : records) {
    if (r.group < 0 || static_cast<size_t>(r.group) >= group_series_.size()) continue;
    const GroupSeries& gs = group_series_[r.group];
    g_blocks_built_->Add(r.relay_built ? gs.blocks_relay : gs.blocks_local, 1);
    g_exec_rewards_->Add(gs.exec_rewards, r.to_fee_recipient_gwei);
    for (const auto& [relay, value] : r.relay_values) {
      if (relay < gs.relay_values.size()) g_relay_values_->Add(gs.relay_values[relay], value);
    }
  }
}

void ValidatorMetrics::RecordProvisional(const accounting::EpochResult& result) {
  const size_t n = group_series_.size();
  std::vector<double> included(n), missed(n), proposals(n * kOutcomes);
  for (const accounting::AttestationResult& a : result.attestations) {
    (a.included ? included : missed)[a.group] += 1;
  }
  for (const accounting::ProposalResult& p : result.proposals) {
    proposals[p.group * kOutcomes + OutcomeIndex(p.outcome)] += 1;
  }
  for (size_t g = 0; g < n; ++g) {
    const GroupSeries& gs = group_series_[g];
    g_provisional_attestations_->Set(gs.provisional_included, included[g]);
    g_provisional_attestations_->Set(gs.provisional_missed, missed[g]);
    for (int k = 0; k < kOutcomes; ++k) {
      g_provisional_proposals_->Set(gs.provisional_proposals[k], proposals[g * kOutcomes + k]);
    }
  }
}

void ValidatorMetrics::RecordLiveness(const std::vector<std::pair<uint64_t, int32_t>>& live,
                                      const std::vector<std::pair<uint64_t, int32_t>>& not_live) {
  const size_t n = group_series_.size();
  std::vector<double> yes(n), no(n);
  for (const auto& [v, g] : live) {
    if (g >= 0 && static_cast<size_t>(g) < n) yes[g] += 1;
    if (const int32_t o = OrdinalOf(v); o >= 0) v_live_->Set(SeriesId{static_cast<uint32_t>(o)}, 1);
  }
  for (const auto& [v, g] : not_live) {
    if (g >= 0 && static_cast<size_t>(g) < n) no[g] += 1;
    if (const int32_t o = OrdinalOf(v); o >= 0) v_live_->Set(SeriesId{static_cast<uint32_t>(o)}, 0);
  }
  for (size_t g = 0; g < n; ++g) {
    g_liveness_->Set(group_series_[g].live, yes[g]);
    g_liveness_->Set(group_series_[g].not_live, no[g]);
  }
}

}  // namespace stakewatch::app
