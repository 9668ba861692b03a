// ComputeExecutionReward against the hand-built fixtures (expected sums worked out by hand in
// the comments from the JSON) and against small in-memory blocks.
#include "execution/rewards.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "execution/decode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::execution {
namespace {

using ::testing::HasSubstr;

std::string Testdata(std::string_view name) {
  const std::string path =
      absl::StrCat(STAKEWATCH_SOURCE_DIR, "/test/testdata/execution/", std::string(name));
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ExecBlock LoadBlock(std::string_view name) {
  absl::StatusOr<std::optional<ExecBlock>> b = DecodeGetBlockByNumber(Testdata(name));
  EXPECT_TRUE(b.ok() && b->has_value()) << b.status();
  return b.ok() && b->has_value() ? **b : ExecBlock{};
}

std::vector<ExecReceipt> LoadReceipts(std::string_view name) {
  absl::StatusOr<std::optional<std::vector<ExecReceipt>>> r =
      DecodeGetBlockReceipts(Testdata(name));
  EXPECT_TRUE(r.ok() && r->has_value()) << r.status();
  return r.ok() && r->has_value() ? **r : std::vector<ExecReceipt>{};
}

Address Addr(uint8_t fill) {
  Address a;
  a.fill(fill);
  return a;
}
Root Hash(uint8_t fill) {
  Root r;
  r.fill(fill);
  return r;
}

// 0x8dc847af872947ac18d5d63fa646eb65d4d99560 (the local block's miner).
const Address kLocalFeeRecipient = {0x8d, 0xc8, 0x47, 0xaf, 0x87, 0x29, 0x47, 0xac, 0x18, 0xd5,
                                    0xd6, 0x3f, 0xa6, 0x46, 0xeb, 0x65, 0xd4, 0xd9, 0x95, 0x60};
// 0x388c818ca8b9251b393131c08a736a67ccb19297 (the builder block's payee).
const Address kLido = {0x38, 0x8c, 0x81, 0x8c, 0xa8, 0xb9, 0x25, 0x1b, 0x39, 0x31,
                       0x31, 0xc0, 0x8a, 0x73, 0x6a, 0x67, 0xcc, 0xb1, 0x92, 0x97};
const absl::uint128 kGwei = 1000000000;

TEST(ComputeExecutionRewardTest, LocallyBuiltBlockEarnsTheTips) {
  // local_block.json: base fee 0x3b9aca00 = 1 gwei; receipts (local_receipts.json):
  //   tx0: price 0x77359400 = 2.0 gwei, gas 0x5208 = 21000  -> 1.0 gwei * 21000  = 21,000 gwei
  //   tx1: price 0x4190ab00 = 1.1 gwei, gas 0x186a0 = 100000 -> 0.1 gwei * 100000 = 10,000 gwei
  //   tx2: price 0x59682f00 = 1.5 gwei, gas 0xb411 = 46097   -> 0.5 gwei * 46097  = 23,048.5 gwei
  //   total 54,048.5 gwei = 54,048,500,000,000 wei.
  absl::StatusOr<ExecutionReward> r = ComputeExecutionReward(
      LoadBlock("local_block.json"), LoadReceipts("local_receipts.json"), kLocalFeeRecipient);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->priority_fees, absl::uint128(54048500000000ULL));
  EXPECT_TRUE(r->coinbase_is_fee_recipient);
  EXPECT_EQ(r->builder_payment, 0);
  EXPECT_EQ(r->to_fee_recipient, absl::uint128(54048500000000ULL));
}

TEST(ComputeExecutionRewardTest, BuilderBlockPaysTheProposer) {
  // builder_block.json: base fee 0x6fc23ac00 = 30 gwei, coinbase = the builder;
  //   tx0: 0x7aef40a00 = 33 gwei, gas 0x30d40 = 200000 -> 3 gwei * 200000 = 600,000 gwei
  //   tx1 (blob): 0x737be7600 = 31 gwei, gas 0x5208 = 21000 -> 1 gwei * 21000 = 21,000 gwei
  //        (its blob gas, 0x20000 at 0x1 wei, is burned and not counted)
  //   tx2: 30 gwei (no tip), the builder -> 0x388c...9297, value 0x1dec89f360efa0000 = 34.5 ETH
  //   tips 621,000 gwei go to the builder; the proposer's fee recipient gets 34.5 ETH.
  absl::StatusOr<ExecutionReward> r = ComputeExecutionReward(
      LoadBlock("builder_block.json"), LoadReceipts("builder_receipts.json"), kLido);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->priority_fees, 621000 * kGwei);
  EXPECT_FALSE(r->coinbase_is_fee_recipient);
  EXPECT_EQ(r->builder_payment, 34500000000 * kGwei);
  EXPECT_EQ(r->to_fee_recipient, 34500000000 * kGwei);
  // 34.5 ETH does not fit in 64 bits: high word 1, low word 34.5e18 - 2^64.
  EXPECT_EQ(absl::Uint128High64(r->to_fee_recipient), 1u);
  // 34,500,000,000,000,000,000 - 18,446,744,073,709,551,616 = 16,053,255,926,290,448,384.
  EXPECT_EQ(absl::Uint128Low64(r->to_fee_recipient), 16053255926290448384ULL);
}

TEST(ComputeExecutionRewardTest, BuilderBlockWhoseLastTxPaysSomeoneElse) {
  // The same block, for a proposer whose fee recipient is not 0x388c...9297: nothing is paid to
  // it (and the tips are the builder's).
  absl::StatusOr<ExecutionReward> r = ComputeExecutionReward(
      LoadBlock("builder_block.json"), LoadReceipts("builder_receipts.json"), Addr(0x42));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->priority_fees, 621000 * kGwei);
  EXPECT_FALSE(r->coinbase_is_fee_recipient);
  EXPECT_EQ(r->builder_payment, 0);
  EXPECT_EQ(r->to_fee_recipient, 0);
}

// A block whose coinbase is `miner`, with one transaction per (from, to, value, price, gas).
struct TxSpec {
  Address from;
  std::optional<Address> to;
  absl::uint128 value;
  absl::uint128 price;
  uint64_t gas;
};
std::pair<ExecBlock, std::vector<ExecReceipt>> MakeBlock(const Address& miner,
                                                         absl::uint128 base_fee,
                                                         const std::vector<TxSpec>& txs) {
  ExecBlock b;
  b.number = 7;
  b.miner = miner;
  b.base_fee_per_gas = base_fee;
  std::vector<ExecReceipt> rs;
  for (size_t i = 0; i < txs.size(); ++i) {
    b.transactions.push_back(
        ExecTx{Hash(static_cast<uint8_t>(i + 1)), txs[i].from, txs[i].to, txs[i].value});
    rs.push_back(ExecReceipt{Hash(static_cast<uint8_t>(i + 1)), txs[i].gas, txs[i].price});
  }
  return {b, rs};
}

TEST(ComputeExecutionRewardTest, PaymentMustBeTheLastTxAndFromTheCoinbase) {
  const Address builder = Addr(0xb0), fee = Addr(0xfe), user = Addr(0x11);
  // Payment first, then a user transaction: not the last transaction -> 0.
  auto [b1, r1] =
      MakeBlock(builder, 10, {{builder, fee, 500, 10, 21000}, {user, user, 0, 12, 100}});
  absl::StatusOr<ExecutionReward> x = ComputeExecutionReward(b1, r1, fee);
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(x->builder_payment, 0);
  EXPECT_EQ(x->priority_fees, 200);  // (12 - 10) * 100
  // Last transaction to the fee recipient but from someone else -> 0.
  auto [b2, r2] = MakeBlock(builder, 10, {{user, fee, 500, 10, 21000}});
  EXPECT_EQ(ComputeExecutionReward(b2, r2, fee)->builder_payment, 0);
  // Last transaction from the coinbase but a contract creation -> 0.
  auto [b3, r3] = MakeBlock(builder, 10, {{builder, std::nullopt, 500, 10, 21000}});
  EXPECT_EQ(ComputeExecutionReward(b3, r3, fee)->builder_payment, 0);
  // Coinbase == fee recipient and the last tx is a self-transfer: tips only, no "payment".
  auto [b4, r4] = MakeBlock(fee, 10, {{fee, fee, 500, 11, 1000}});
  absl::StatusOr<ExecutionReward> y = ComputeExecutionReward(b4, r4, fee);
  EXPECT_EQ(y->builder_payment, 0);
  EXPECT_EQ(y->to_fee_recipient, 1000);  // (11 - 10) * 1000
  // Empty block.
  auto [b5, r5] = MakeBlock(builder, 10, {});
  absl::StatusOr<ExecutionReward> z = ComputeExecutionReward(b5, r5, fee);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->priority_fees, 0);
  EXPECT_EQ(z->to_fee_recipient, 0);
}

TEST(ComputeExecutionRewardTest, AmountsAbove2To64) {
  const Address fee = Addr(0xfe);
  const absl::uint128 two64 = absl::MakeUint128(1, 0);
  // Tip of 2^64 wei per gas on 3 gas, plus 1 wei per gas on 5 gas: 3 * 2^64 + 5.
  auto [b, r] = MakeBlock(fee, 100, {{fee, fee, 0, two64 + 100, 3}, {fee, fee, 0, 101, 5}});
  absl::StatusOr<ExecutionReward> x = ComputeExecutionReward(b, r, fee);
  ASSERT_TRUE(x.ok()) << x.status();
  EXPECT_EQ(x->priority_fees, absl::MakeUint128(3, 5));
  EXPECT_EQ(x->to_fee_recipient, absl::MakeUint128(3, 5));
  // A 2^100 wei payment (no real payment is that large, but the type must hold it).
  auto [b2, r2] = MakeBlock(Addr(0xb0), 1, {{Addr(0xb0), fee, two64 << 36, 1, 21000}});
  EXPECT_EQ(ComputeExecutionReward(b2, r2, fee)->builder_payment, absl::MakeUint128(1ULL << 36, 0));
}

TEST(ComputeExecutionRewardTest, InvalidInputs) {
  const Address fee = Addr(0xfe), user = Addr(0x11);
  auto [b, r] = MakeBlock(fee, 10, {{user, user, 0, 12, 100}, {user, user, 0, 13, 100}});

  std::vector<ExecReceipt> short_receipts = {r[0]};
  absl::StatusOr<ExecutionReward> x = ComputeExecutionReward(b, short_receipts, fee);
  EXPECT_EQ(x.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(x.status().message(), HasSubstr("2 transactions but 1 receipts"));

  std::vector<ExecReceipt> swapped = {r[1], r[0]};
  x = ComputeExecutionReward(b, swapped, fee);
  EXPECT_EQ(x.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(x.status().message(), HasSubstr("receipt 0 is not for transaction 0"));

  std::vector<ExecReceipt> cheap = r;
  cheap[1].effective_gas_price = 9;  // below the base fee of 10
  x = ComputeExecutionReward(b, cheap, fee);
  EXPECT_EQ(x.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(x.status().message(),
              HasSubstr("receipt 1 has effective gas price 9 below the base fee 10"));

  // Overflow: a 2^127 tip on 4 gas, and two 2^127 tips on 1 gas each.
  const absl::uint128 two127 = absl::MakeUint128(1ULL << 63, 0);
  auto [b2, r2] = MakeBlock(fee, 0, {{user, user, 0, two127, 4}});
  EXPECT_THAT(ComputeExecutionReward(b2, r2, fee).status().message(), HasSubstr("overflows"));
  auto [b3, r3] = MakeBlock(fee, 0, {{user, user, 0, two127, 1}, {user, user, 0, two127, 1}});
  EXPECT_THAT(ComputeExecutionReward(b3, r3, fee).status().message(), HasSubstr("overflow"));
}

}  // namespace
}  // namespace stakewatch::execution
