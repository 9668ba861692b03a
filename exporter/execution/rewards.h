// The execution-layer reward of one proposed block: what its proposer's fee recipient received.
//
// Pure functions over execution/types.h; no I/O.
//
// Where the money comes from:
//   * Priority fees (tips). Every transaction pays effective_gas_price * gas_used; the base-fee
//     part, base_fee_per_gas * gas_used, is burned (EIP-1559) and the rest goes to the block's
//     coinbase ("miner"). Blob gas (EIP-4844: blobGasUsed * blobGasPrice) is burned in full and
//     is never income, so it does not appear here at all.
//   * A builder payment. When a builder builds the block (MEV-Boost), the coinbase is the
//     builder's address, the builder keeps the tips, and by convention the block's LAST
//     transaction transfers the promised bid value from the coinbase to the proposer's fee
//     recipient.
//
// So the fee recipient receives the tips when it is the coinbase (a locally built block, or a
// builder that set the proposer's address as coinbase), and otherwise the builder payment.
// "Coinbase is the fee recipient" is what the execution block alone can tell; whether a relay
// delivered the block is told by the relays (execution/client.h, FetchBlockRewards).
//
// Not counted: payments made by other means (internal calls from a contract, several payment
// transactions, payments to another address of the same operator) and withdrawals.
//
//   ASSIGN_OR_RETURN(ExecutionReward r,
//                    ComputeExecutionReward(block, receipts, payload.fee_recipient));
//   Report(r.to_fee_recipient);
#pragma once

#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "execution/types.h"

namespace stakewatch::execution {

struct ExecutionReward {
  // Sum over the block's transactions of (effective_gas_price - base_fee_per_gas) * gas_used:
  // what the coinbase earned in tips, whoever the coinbase is.
  absl::uint128 priority_fees = 0;
  // The value of the block's last transaction if it goes from the coinbase to the proposer's fee
  // recipient and the two differ; 0 otherwise.
  absl::uint128 builder_payment = 0;
  // True when coinbase == proposer fee recipient (the fee recipient earned the tips directly).
  bool coinbase_is_fee_recipient = false;
  // What the fee recipient got: priority_fees when it is the coinbase, else builder_payment.
  absl::uint128 to_fee_recipient = 0;
};

// Computes the reward of `block` for `proposer_fee_recipient` (the beacon block's
// execution_payload.fee_recipient). `receipts` are the block's receipts in block order.
// Errors (InvalidArgument): the receipt count differs from the transaction count, a receipt's
// transaction hash differs from the transaction's at the same position, an effective gas price
// is below the base fee, or a sum overflows 128 bits (impossible with real data).
absl::StatusOr<ExecutionReward> ComputeExecutionReward(const ExecBlock& block,
                                                       const std::vector<ExecReceipt>& receipts,
                                                       const Address& proposer_fee_recipient);

}  // namespace stakewatch::execution
