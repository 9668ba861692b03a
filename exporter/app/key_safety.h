// Key-safety reconciliation: what the chain saw against what our slashing-protection database
// recorded, for the same validator and epoch.
//
// Web3Signer writes a row to signed_attestations (validator, target epoch) and signed_blocks
// (validator, slot) *before* it signs. So for a validator whose key lives only in our
// Web3Signer:
//   * a vote with target epoch E included on chain, or a block it proposed (canonical or
//     orphaned), implies our database has that row. A missing row means the key signed somewhere
//     else: a second signer (doppelganger, copied key, old validator client left running) — a
//     slashing risk. Counted as `signed_elsewhere`.
//   * a row for E whose vote was never included means we signed and the network never saw it:
//     a broadcast, peering or beacon-node problem. Counted as `not_included`.
//   * weaker: the beacon node saw the validator live in E (/eth/v1/validator/liveness) although
//     no vote of it was included, it proposed nothing in E and our database has no row for E.
//     Liveness is implementation-defined (a client may count sync-committee messages, which
//     Web3Signer does not record), so this is counted apart (`live_unrecorded`), never as
//     signed elsewhere.
// Rows below the validator's low watermark may have been pruned; validators not registered in
// the database at all (another signer serves them by design) cannot be judged. Both are counted
// as `unknown`, never as signed elsewhere.
//
// Pure functions; thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

#include "beacon/types.h"

namespace stakewatch::app {

// One counted duty of a monitored validator in epoch E.
struct ChainDuty {
  beacon::ValidatorIndex validator = 0;
  int32_t group = 0;
  bool attestation_included = false;  // a vote with target E was included on chain
  // The beacon node saw the validator live in E (/eth/v1/validator/liveness: an attestation or
  // a block of it on gossip or in a block), when that was checked.
  bool live = false;
};

// One block a monitored validator signed in epoch E, as seen on chain (canonical or orphaned).
struct ChainBlock {
  beacon::ValidatorIndex validator = 0;
  int32_t group = 0;
  beacon::Slot slot = 0;
};

// What the database says about one duty/block (same order as the chain inputs).
struct DbFact {
  bool registered = false;       // the validator's key is in the validators table
  bool recorded = false;         // a signed_attestations row (target E) / signed_blocks row (slot)
  bool below_watermark = false;  // E / slot is below the validator's low watermark (pruned)
};

struct KeySafetyCounts {
  uint64_t checked = 0;           // duties/blocks that could be judged
  uint64_t signed_elsewhere = 0;  // on chain, registered, not pruned, no row
  uint64_t not_included = 0;      // row, but not on chain (attestations only)
  uint64_t unknown = 0;           // not registered or below the low watermark
  uint64_t live_unrecorded = 0;   // attestations only: live, not included, no block, no row
};

struct KeySafetyResult {
  // Indexed by group; attestations and blocks apart.
  std::vector<KeySafetyCounts> attestations;
  std::vector<KeySafetyCounts> blocks;
  // Validators with at least one signature elsewhere (ascending, unique), and how many each
  // (attestation and blocks together; same order).
  std::vector<beacon::ValidatorIndex> flagged;
  std::vector<uint64_t> flagged_counts;
  // Validators whose recorded vote was not included (ascending, unique).
  std::vector<beacon::ValidatorIndex> not_included;
};

// REQUIRES: duty_facts.size() == duties.size(), block_facts.size() == blocks.size(), every group
// < num_groups.
KeySafetyResult Reconcile(const std::vector<ChainDuty>& duties,
                          const std::vector<DbFact>& duty_facts,
                          const std::vector<ChainBlock>& blocks,
                          const std::vector<DbFact>& block_facts, size_t num_groups);

}  // namespace stakewatch::app
