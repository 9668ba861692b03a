// EpochProcessor: fetches what one epoch's accounting needs from a beacon node and accounts it.
//
// For epoch E it fetches the committees of E, the proposer duties of E, the canonical block (or
// its absence) at every slot of E and E+1, and, for each monitored proposer duty without a
// canonical block by its proposer, the non-canonical headers at that slot (an orphaned
// proposal), then calls accounting::AccountEpoch. Committees are cached for the last few epochs
// (they are fixed two epochs ahead; a reorg that deep would be a finality failure). Blocks are
// cached by slot so that processing E+1 next reuses the blocks of E+1; the cache keeps only the
// slots a later epoch can still need.
//
// Owned by the daemon's polling thread; not thread-safe. Borrows the client, which must outlive
// it.
#pragma once

#include <map>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "accounting/accounting.h"
#include "beacon/client.h"
#include "beacon/types.h"

namespace stakewatch::app {

class EpochProcessor {
 public:
  EpochProcessor(beacon::BeaconClient* client, uint64_t slots_per_epoch)
      : client_(client), slots_per_epoch_(slots_per_epoch) {}

  // Fetches and accounts epoch `epoch`. REQUIRES: the node's head is past the end of epoch+1.
  // On error nothing is recorded and the epoch may simply be retried.
  absl::StatusOr<accounting::EpochResult> Process(beacon::Epoch epoch,
                                                  const accounting::MonitoredSet& monitored);
  // The same into caller-owned storage, reusing its capacity and this processor's scratch
  // buffers (what the daemon does every epoch). On error `*out` is unspecified.
  absl::Status ProcessInto(beacon::Epoch epoch, const accounting::MonitoredSet& monitored,
                           accounting::EpochResult* out);

  // Drops cached blocks (e.g. after a reorg or a change of node).
  void ClearCache() { blocks_.clear(); }
  // Drops cached blocks of slots [first, last] so that they are read again (a finalized
  // recount must not trust blocks read before finality).
  void Forget(beacon::Slot first, beacon::Slot last) {
    blocks_.erase(blocks_.lower_bound(first), blocks_.upper_bound(last));
  }

  // Canonical block at `slot`, nullptr for an empty slot; cached (after Process(E), every slot
  // of E and E+1 is cached). The pointer is valid until the next Process or ClearCache call.
  absl::StatusOr<const beacon::Block*> BlockAt(beacon::Slot slot);

 private:
  beacon::BeaconClient* client_;
  uint64_t slots_per_epoch_;
  std::map<beacon::Slot, std::unique_ptr<beacon::Block>> blocks_;       // null = empty slot
  std::map<beacon::Epoch, std::vector<beacon::Committee>> committees_;  // at most 4 epochs
  accounting::EpochScratch scratch_;
};

}  // namespace stakewatch::app
