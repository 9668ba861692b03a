// EpochProcessor: fetches what one epoch's accounting needs from a beacon node and accounts it.
//
// For epoch E it fetches the committees of E, the proposer duties of E and the canonical block
// (or its absence) at every slot of E and E+1, then calls accounting::AccountEpoch. Blocks are
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

  // Canonical block at `slot`, nullptr for an empty slot; cached (after Process(E), every slot
  // of E and E+1 is cached). The pointer is valid until the next Process or ClearCache call.
  absl::StatusOr<const beacon::Block*> BlockAt(beacon::Slot slot);

 private:
  beacon::BeaconClient* client_;
  uint64_t slots_per_epoch_;
  std::map<beacon::Slot, std::unique_ptr<beacon::Block>> blocks_;  // null = empty slot
  accounting::EpochScratch scratch_;
};

}  // namespace stakewatch::app
