#include "accounting/balances.h"

namespace stakewatch::accounting {

BalanceChange ClassifyBalanceChange(const BalanceChangeInput& in) {
  // Balances are at most a few thousand ETH (2^41 gwei), so int64 arithmetic cannot overflow.
  const int64_t raw = static_cast<int64_t>(in.current) + static_cast<int64_t>(in.withdrawn) -
                      static_cast<int64_t>(in.previous);
  BalanceChange out;
  const int64_t threshold = static_cast<int64_t>(kMinDepositAmountGwei);
  if (raw >= threshold) {
    out.deposited = static_cast<beacon::Gwei>(raw);
  } else if (raw <= -threshold && !in.slashed) {
    out.transferred = static_cast<beacon::Gwei>(-raw);
  } else {
    out.income = raw;
  }
  return out;
}

}  // namespace stakewatch::accounting
