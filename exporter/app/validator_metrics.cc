#include "app/validator_metrics.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace stakewatch::app {

using exposition::Family;
using exposition::FamilyDesc;
using exposition::MetricType;
using exposition::SeriesId;

const std::vector<double>& ValidatorMetrics::DelayBuckets() {
  static const std::vector<double> buckets = {1, 2, 3, 4, 5, 8, 16, 32, 64};
  return buckets;
}

absl::StatusOr<std::unique_ptr<ValidatorMetrics>> ValidatorMetrics::Create(
    exposition::SeriesStore* store, const std::vector<GroupInfo>& groups,
    const std::vector<std::pair<uint64_t, int32_t>>& validators, PerValidatorOptions options) {
  std::unique_ptr<ValidatorMetrics> m(new ValidatorMetrics());

  std::set<std::string> extra_keys;
  for (const GroupInfo& g : groups) {
    for (const auto& [k, v] : g.labels) extra_keys.insert(k);
  }
  std::vector<std::string> group_labels = {"group"};
  group_labels.insert(group_labels.end(), extra_keys.begin(), extra_keys.end());
  std::vector<std::string> proposal_labels = group_labels;
  proposal_labels.push_back("outcome");
  std::vector<std::string> vote_labels = group_labels;
  vote_labels.push_back("vote");
  std::vector<std::string> flag_labels = group_labels;
  flag_labels.push_back("flag");

  auto add = [&](std::string name, std::string help, MetricType type,
                 std::vector<std::string> labels,
                 std::vector<double> buckets = {}) -> absl::StatusOr<Family*> {
    return store->AddFamily(
        FamilyDesc{std::move(name), std::move(help), type, std::move(labels), std::move(buckets)});
  };
  ASSIGN_OR_RETURN(m->g_duties_,
                   add("eth_validator_group_attestation_duties_total",
                       "Attestation duties of the group's validators in processed epochs.",
                       MetricType::kCounter, group_labels));
  ASSIGN_OR_RETURN(m->g_included_,
                   add("eth_validator_group_attestations_included_total",
                       "Attestation duties whose vote a canonical block included (any delay).",
                       MetricType::kCounter, group_labels));
  ASSIGN_OR_RETURN(m->g_missed_,
                   add("eth_validator_group_attestations_missed_total",
                       "Attestation duties whose vote no canonical block included in time.",
                       MetricType::kCounter, group_labels));
  ASSIGN_OR_RETURN(m->g_delay_, add("eth_validator_group_attestation_inclusion_delay_slots",
                                    "Inclusion delay (inclusion slot minus duty slot) of included "
                                    "attestations, first inclusion only.",
                                    MetricType::kHistogram, group_labels, DelayBuckets()));
  ASSIGN_OR_RETURN(m->g_proposals_,
                   add("eth_validator_group_proposals_total",
                       "Block proposal duties of the group's validators, by outcome.",
                       MetricType::kCounter, proposal_labels));
  ASSIGN_OR_RETURN(m->g_correct_,
                   add("eth_validator_group_attestation_votes_correct_total",
                       "Included votes whose head, target or source matches the canonical chain, "
                       "by vote.",
                       MetricType::kCounter, vote_labels));
  ASSIGN_OR_RETURN(m->g_timely_, add("eth_validator_group_attestation_timely_total",
                                     "Included votes that earned the consensus spec's timely_head, "
                                     "timely_target or timely_source participation flag, by flag.",
                                     MetricType::kCounter, flag_labels));
  ASSIGN_OR_RETURN(m->g_effectiveness_,
                   add("eth_validator_group_attestation_effectiveness_total",
                       "Sum over attestation duties of inclusion effectiveness (optimal delay / "
                       "actual delay, 0 when missed); divide by the duties' increase for the mean.",
                       MetricType::kCounter, group_labels));

  static constexpr std::string_view kParts[3] = {"head", "target", "source"};
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
    GroupSeries s;
    s.duties = m->g_duties_->GetOrCreate(views);
    s.included = m->g_included_->GetOrCreate(views);
    s.missed = m->g_missed_->GetOrCreate(views);
    s.delay = m->g_delay_->GetOrCreate(views);
    s.effectiveness = m->g_effectiveness_->GetOrCreate(views);
    for (int k = 0; k < 3; ++k) {
      views.push_back(kParts[k]);
      s.correct[k] = m->g_correct_->GetOrCreate(views);
      s.timely[k] = m->g_timely_->GetOrCreate(views);
      views.pop_back();
    }
    views.push_back("proposed");
    s.proposed = m->g_proposals_->GetOrCreate(views);
    views.back() = "missed";
    s.missed_proposals = m->g_proposals_->GetOrCreate(views);
    m->group_series_.push_back(s);
    m->group_names_.push_back(g.name);
  }

  if (options.enabled) {
    const std::vector<std::string> labels = {"group", "validator_index"};
    ASSIGN_OR_RETURN(m->v_included_,
                     add("eth_validator_attestations_included_total",
                         "Per validator (opt-in): attestation duties whose vote was included.",
                         MetricType::kCounter, labels));
    ASSIGN_OR_RETURN(m->v_missed_,
                     add("eth_validator_attestations_missed_total",
                         "Per validator (opt-in): attestation duties whose vote was not included.",
                         MetricType::kCounter, labels));
    ASSIGN_OR_RETURN(m->v_delay_,
                     add("eth_validator_attestation_inclusion_delay_slots_total",
                         "Per validator (opt-in): sum of inclusion delays of included votes.",
                         MetricType::kCounter, labels));
    std::vector<std::string> plabels = labels;
    plabels.push_back("outcome");
    ASSIGN_OR_RETURN(m->v_proposals_,
                     add("eth_validator_proposals_total",
                         "Per validator (opt-in): block proposal duties by outcome.",
                         MetricType::kCounter, plabels));

    std::vector<std::pair<uint64_t, int32_t>> sorted = validators;
    std::sort(sorted.begin(), sorted.end());
    if (sorted.size() > options.limit) sorted.resize(options.limit);
    uint64_t max_index = sorted.empty() ? 0 : sorted.back().first;
    m->ordinal_of_.assign(sorted.empty() ? 0 : max_index + 1, -1);
    Family::Writer wi(m->v_included_), wm(m->v_missed_), wd(m->v_delay_), wp(m->v_proposals_);
    for (const auto& [index, group] : sorted) {
      const std::string idx = absl::StrCat(index);
      const std::string_view views[] = {m->group_names_[group], idx};
      SeriesId id = wi.GetOrCreate(views);
      wm.GetOrCreate(views);
      wd.GetOrCreate(views);
      // Proposal series: ordinal 2*i is "proposed", 2*i+1 is "missed".
      const std::string_view pviews[] = {m->group_names_[group], idx, "proposed"};
      wp.GetOrCreate(pviews);
      const std::string_view mviews[] = {m->group_names_[group], idx, "missed"};
      wp.GetOrCreate(mviews);
      m->ordinal_of_[index] = static_cast<int32_t>(id.index);
    }
  }
  return m;
}

void ValidatorMetrics::RecordEpoch(const accounting::EpochResult& result) {
  struct Counts {
    uint64_t duties = 0, included = 0, missed = 0, proposed = 0, missed_proposals = 0;
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
    if (p.outcome == accounting::ProposalOutcome::kProposed) {
      ++counts[p.group].proposed;
    } else {
      ++counts[p.group].missed_proposals;
    }
  }
  for (size_t g = 0; g < counts.size(); ++g) {
    const GroupSeries& s = group_series_[g];
    g_duties_->Add(s.duties, static_cast<double>(counts[g].duties));
    g_included_->Add(s.included, static_cast<double>(counts[g].included));
    g_missed_->Add(s.missed, static_cast<double>(counts[g].missed));
    g_proposals_->Add(s.proposed, static_cast<double>(counts[g].proposed));
    g_proposals_->Add(s.missed_proposals, static_cast<double>(counts[g].missed_proposals));
    g_effectiveness_->Add(s.effectiveness, counts[g].effectiveness);
    for (int k = 0; k < 3; ++k) {
      g_correct_->Add(s.correct[k], static_cast<double>(counts[g].correct[k]));
      g_timely_->Add(s.timely[k], static_cast<double>(counts[g].timely[k]));
    }
  }

  if (v_included_ == nullptr) return;
  {
    Family::Writer wi(v_included_), wm(v_missed_), wd(v_delay_);
    for (const accounting::AttestationResult& a : result.attestations) {
      if (a.validator >= ordinal_of_.size() || ordinal_of_[a.validator] < 0) continue;
      const SeriesId id{static_cast<uint32_t>(ordinal_of_[a.validator])};
      if (a.included) {
        wi.Add(id, 1);
        wd.Add(id, static_cast<double>(a.inclusion_delay));
      } else {
        wm.Add(id, 1);
      }
    }
  }
  for (const accounting::ProposalResult& p : result.proposals) {
    if (p.validator >= ordinal_of_.size() || ordinal_of_[p.validator] < 0) continue;
    const uint32_t ordinal = static_cast<uint32_t>(ordinal_of_[p.validator]);
    const bool proposed = p.outcome == accounting::ProposalOutcome::kProposed;
    v_proposals_->Add(SeriesId{2 * ordinal + (proposed ? 0u : 1u)}, 1);
  }
}

}  // namespace stakewatch::app
