// Sync-committee accounting: which monitored validators signed the head in the slots of a range.
//
// Consensus facts used (Altair+): the block at slot N carries a sync_aggregate whose bit i is
// the signature of sync-committee position i over the head block root of slot N-1, i.e. the
// *vote* of position i for slot N-1. An empty slot N carries no aggregate, so the votes for slot
// N-1 are nowhere on chain: that is not a miss of the members (they may well have signed), and
// such a vote slot is not counted as a duty at all. A validator can hold several positions of
// one committee; each position counts separately.
//
// The committee that votes for slot s is the one of the sync-committee period of
// epoch(s + 1) (the honest-validator guide): callers pass, for each call, a vote-slot range whose
// slots all share that committee.
//
//   std::map<Slot, const beacon::Block*> blocks = ...;  // slots first+1 .. last+1; null = empty
//   ASSIGN_OR_RETURN(std::vector<SyncCommitteeResult> r,
//                    AccountSyncCommittee(committee.validators, blocks, first, last, monitored));
//
// Pure function; thread-safe.
#pragma once

#include <map>
#include <vector>

#include "absl/status/statusor.h"
#include "accounting/accounting.h"
#include "beacon/types.h"

namespace stakewatch::accounting {

// One monitored committee member's record over a range of vote slots.
struct SyncCommitteeResult {
  ValidatorIndex validator = 0;
  int32_t group = 0;
  uint64_t positions = 0;     // positions the validator holds in the committee
  uint64_t slots = 0;         // duties: positions x vote slots whose next block exists
  uint64_t participated = 0;  // duties whose bit is set
  uint64_t missed = 0;        // slots - participated
};

// Accounts vote slots [first_vote_slot, last_vote_slot] against `committee` (position ->
// validator index; 1 to 512 positions). `blocks` must hold an entry (a block, or nullptr for an
// empty slot) for every slot in [first_vote_slot + 1, last_vote_slot + 1]. Returns one result per
// monitored validator that holds at least one position, by ascending validator index (also when
// every vote slot had an empty next slot: then slots == 0).
// InvalidArgument: an empty or oversized committee, first > last, a missing block entry, a block
// whose slot differs from its key, or a block without a sync_aggregate.
absl::StatusOr<std::vector<SyncCommitteeResult>> AccountSyncCommittee(
    const std::vector<ValidatorIndex>& committee,
    const std::map<Slot, const beacon::Block*>& blocks, Slot first_vote_slot, Slot last_vote_slot,
    const MonitoredSet& monitored);

}  // namespace stakewatch::accounting
