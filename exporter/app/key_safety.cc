#include "app/key_safety.h"

#include <algorithm>

namespace stakewatch::app {

namespace {

void SortUnique(std::vector<beacon::ValidatorIndex>* v) {
  std::sort(v->begin(), v->end());
  v->erase(std::unique(v->begin(), v->end()), v->end());
}

}  // namespace

KeySafetyResult Reconcile(const std::vector<ChainDuty>& duties,
                          const std::vector<DbFact>& duty_facts,
                          const std::vector<ChainBlock>& blocks,
                          const std::vector<DbFact>& block_facts, size_t num_groups) {
  KeySafetyResult r;
  r.attestations.resize(num_groups);
  r.blocks.resize(num_groups);
  // Proposers of the epoch: their liveness may come from their block alone.
  std::vector<beacon::ValidatorIndex> proposers;
  for (const ChainBlock& b : blocks) proposers.push_back(b.validator);
  SortUnique(&proposers);
  for (size_t i = 0; i < duties.size() && i < duty_facts.size(); ++i) {
    const ChainDuty& d = duties[i];
    const DbFact& f = duty_facts[i];
    KeySafetyCounts& c = r.attestations[static_cast<size_t>(d.group)];
    if (!f.registered || f.below_watermark) {
      ++c.unknown;
      continue;
    }
    ++c.checked;
    if (d.attestation_included && !f.recorded) {
      ++c.signed_elsewhere;
      r.flagged.push_back(d.validator);
    } else if (!d.attestation_included && f.recorded) {
      ++c.not_included;
      r.not_included.push_back(d.validator);
    } else if (!d.attestation_included && d.live && !f.recorded &&
               !std::binary_search(proposers.begin(), proposers.end(), d.validator)) {
      ++c.live_unrecorded;
    }
  }
  for (size_t i = 0; i < blocks.size() && i < block_facts.size(); ++i) {
    const ChainBlock& b = blocks[i];
    const DbFact& f = block_facts[i];
    KeySafetyCounts& c = r.blocks[static_cast<size_t>(b.group)];
    if (!f.registered || f.below_watermark) {
      ++c.unknown;
      continue;
    }
    ++c.checked;
    if (!f.recorded) {
      ++c.signed_elsewhere;
      r.flagged.push_back(b.validator);
    }
  }
  std::sort(r.flagged.begin(), r.flagged.end());
  for (size_t i = 0; i < r.flagged.size();) {
    size_t j = i;
    while (j < r.flagged.size() && r.flagged[j] == r.flagged[i]) ++j;
    r.flagged_counts.push_back(j - i);
    i = j;
  }
  SortUnique(&r.flagged);
  SortUnique(&r.not_included);
  return r;
}

}  // namespace stakewatch::app
