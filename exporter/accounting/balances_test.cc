#include "accounting/balances.h"

#include <gtest/gtest.h>

namespace stakewatch::accounting {
namespace {

constexpr beacon::Gwei kEth = 1'000'000'000;

TEST(BalanceChangeTest, RewardIsIncome) {
  // 32.000010 -> 32.000024 ETH: +14,000 gwei of rewards.
  BalanceChange c = ClassifyBalanceChange({32 * kEth + 10'000, 32 * kEth + 24'000, 0, false});
  EXPECT_EQ(c.income, 14'000);
  EXPECT_EQ(c.deposited, 0u);
  EXPECT_EQ(c.transferred, 0u);
}

TEST(BalanceChangeTest, PenaltyIsNegativeIncome) {
  BalanceChange c = ClassifyBalanceChange({32 * kEth, 32 * kEth - 9'000, 0, false});
  EXPECT_EQ(c.income, -9'000);
}

TEST(BalanceChangeTest, WithdrawalSweepIsNotALoss) {
  // Start 32.05 ETH; earned 20,000 gwei; the sweep withdrew the 0.05 ETH excess plus the reward
  // earned before it (50,000,000 + 12,000 gwei). Balance afterwards: 32 ETH + 8,000 gwei.
  const beacon::Gwei start = 32 * kEth + 50'000'000;
  const beacon::Gwei withdrawn = 50'012'000;
  const beacon::Gwei end = start + 20'000 - withdrawn;
  BalanceChange c = ClassifyBalanceChange({start, end, withdrawn, false});
  EXPECT_EQ(c.income, 20'000);
  EXPECT_EQ(c.deposited, 0u);
}

TEST(BalanceChangeTest, FullWithdrawalOfExitedValidator) {
  BalanceChange c = ClassifyBalanceChange({31 * kEth, 0, 31 * kEth, false});
  EXPECT_EQ(c.income, 0);
  EXPECT_EQ(c.transferred, 0u);
}

TEST(BalanceChangeTest, TopUpIsADeposit) {
  // A 1 ETH top-up plus 3,000 gwei of rewards in the same epoch.
  BalanceChange c = ClassifyBalanceChange({32 * kEth, 33 * kEth + 3'000, 0, false});
  EXPECT_EQ(c.income, 0);
  EXPECT_EQ(c.deposited, kEth + 3'000);
}

TEST(BalanceChangeTest, JustBelowOneEthIsIncome) {
  BalanceChange c = ClassifyBalanceChange({32 * kEth, 33 * kEth - 1, 0, false});
  EXPECT_EQ(c.income, static_cast<int64_t>(kEth - 1));
  EXPECT_EQ(c.deposited, 0u);
}

TEST(BalanceChangeTest, ConsolidationSourceIsATransfer) {
  BalanceChange c = ClassifyBalanceChange({32 * kEth + 7, 0, 0, false});
  EXPECT_EQ(c.transferred, 32 * kEth + 7);
  EXPECT_EQ(c.income, 0);
}

TEST(BalanceChangeTest, SlashedFallIsAPenaltyHoweverLarge) {
  // Correlation penalty of 8 ETH on a slashed validator.
  BalanceChange c = ClassifyBalanceChange({31 * kEth, 23 * kEth, 0, true});
  EXPECT_EQ(c.income, -static_cast<int64_t>(8 * kEth));
  EXPECT_EQ(c.transferred, 0u);
}

}  // namespace
}  // namespace stakewatch::accounting
