#include "execution/rewards.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace stakewatch::execution {

absl::StatusOr<ExecutionReward> ComputeExecutionReward(const ExecBlock& block,
                                                       const std::vector<ExecReceipt>& receipts,
                                                       const Address& proposer_fee_recipient) {
  if (receipts.size() != block.transactions.size()) {
    return absl::InvalidArgumentError(absl::StrCat("block ", block.number, " has ",
                                                   block.transactions.size(), " transactions but ",
                                                   receipts.size(), " receipts"));
  }
  ExecutionReward out;
  const absl::uint128 max = absl::Uint128Max();
  for (size_t i = 0; i < receipts.size(); ++i) {
    const ExecReceipt& r = receipts[i];
    if (r.transaction_hash != block.transactions[i].hash) {
      return absl::InvalidArgumentError(absl::StrCat("block ", block.number, ": receipt ", i,
                                                     " is not for transaction ", i,
                                                     " (transaction hashes differ)"));
    }
    if (r.effective_gas_price < block.base_fee_per_gas) {
      return absl::InvalidArgumentError(
          absl::StrCat("block ", block.number, ": receipt ", i, " has effective gas price ",
                       WeiToString(r.effective_gas_price), " below the base fee ",
                       WeiToString(block.base_fee_per_gas)));
    }
    const absl::uint128 tip_per_gas = r.effective_gas_price - block.base_fee_per_gas;
    if (r.gas_used != 0 && tip_per_gas > max / r.gas_used) {
      return absl::InvalidArgumentError(
          absl::StrCat("block ", block.number, ": receipt ", i, ": tip overflows 128 bits"));
    }
    const absl::uint128 tip = tip_per_gas * r.gas_used;
    if (tip > max - out.priority_fees) {
      return absl::InvalidArgumentError(
          absl::StrCat("block ", block.number, ": priority fees overflow 128 bits"));
    }
    out.priority_fees += tip;
  }

  out.coinbase_is_fee_recipient = block.miner == proposer_fee_recipient;
  if (!out.coinbase_is_fee_recipient && !block.transactions.empty()) {
    const ExecTx& last = block.transactions.back();
    if (last.from == block.miner && last.to == proposer_fee_recipient) {
      out.builder_payment = last.value;
    }
  }
  out.to_fee_recipient = out.coinbase_is_fee_recipient ? out.priority_fees : out.builder_payment;
  return out;
}

}  // namespace stakewatch::execution
