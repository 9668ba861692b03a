// Balance accounting: a validator's per-epoch balance change with withdrawals, deposits and
// consolidations taken out, so that what remains is consensus-layer income (rewards minus
// penalties) and never a withdrawal sweep mistaken for a loss.
//
// Between the states at the last slots of epochs E-1 and E, a balance moves for four reasons:
//   1. consensus rewards and penalties (attestations, sync committee, proposals, inactivity,
//      slashing penalties): small, |change| far below 1 ETH per epoch for an unslashed validator;
//   2. withdrawals (process_withdrawals in each block's payload): known exactly from the blocks;
//   3. deposits and top-ups (process_pending_deposits since Electra, process_deposit before):
//      at least MIN_DEPOSIT_AMOUNT = 1 ETH each;
//   4. consolidations (process_pending_consolidations, Electra): the source's whole active
//      balance moves to the target, far more than 1 ETH.
// The standard Beacon API does not say which pending deposit or consolidation was applied in an
// epoch, so (3) and (4) are told apart from (1) by size: after adding back the withdrawals, a
// rise of at least 1 ETH is a deposit (or a consolidation into the validator), and a fall of at
// least 1 ETH of an unslashed validator is a transfer out (a consolidation source). A slashed
// validator's falls are penalties however large (the correlation penalty can take its whole
// balance). The epoch in which a deposit lands loses its (tiny) income into the deposit figure.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>

#include "beacon/types.h"

namespace stakewatch::accounting {

// MIN_DEPOSIT_AMOUNT (consensus specs, phase0): 1 ETH.
inline constexpr beacon::Gwei kMinDepositAmountGwei = 1'000'000'000;

struct BalanceChangeInput {
  beacon::Gwei previous = 0;   // balance in the state at the last slot of E-1
  beacon::Gwei current = 0;    // balance in the state at the last slot of E
  beacon::Gwei withdrawn = 0;  // sum of the validator's withdrawals in the blocks of E
  bool slashed = false;        // the validator's slashed flag at E
};

struct BalanceChange {
  int64_t income = 0;            // rewards minus penalties, gwei (negative: a net loss)
  beacon::Gwei deposited = 0;    // inflow set aside as a deposit or incoming consolidation
  beacon::Gwei transferred = 0;  // outflow set aside as an outgoing consolidation
};

BalanceChange ClassifyBalanceChange(const BalanceChangeInput& in);

}  // namespace stakewatch::accounting
