// Decoder tests against the hand-built fixtures in test/testdata/execution (see SOURCES.md).
// Expected values are read off the JSON by hand (hex converted in the comments), never taken
// from decoder output.
#include "execution/decode.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
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

// Replaces exactly one occurrence of `from` in `s`.
std::string ReplaceOnce(std::string s, std::string_view from, std::string_view to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at == std::string::npos) return s;
  EXPECT_EQ(s.find(from, at + 1), std::string::npos) << "not unique: " << from;
  return s.replace(at, from.size(), to);
}

template <size_t N>
std::array<uint8_t, N> Bytes(std::string_view hex) {
  std::array<uint8_t, N> out{};
  EXPECT_EQ(hex.size(), 2 + 2 * N);
  for (size_t i = 0; i < N; ++i) {
    out[i] = static_cast<uint8_t>(std::stoi(std::string(hex.substr(2 + 2 * i, 2)), nullptr, 16));
  }
  return out;
}

constexpr std::string_view kLocalFeeRecipient = "0x8dc847af872947ac18d5d63fa646eb65d4d99560";
constexpr std::string_view kBuilder = "0x95222290dd7278aa3ddd389cc1e1d165cc4bafe5";
constexpr std::string_view kLido = "0x388c818ca8b9251b393131c08a736a67ccb19297";

// 1 ETH = 10^18 wei, built by multiplication rather than by parsing.
const absl::uint128 kGwei = 1000000000;

// ---- Quantities ----

TEST(ParseQuantityTest, AcceptsValidQuantities) {
  EXPECT_EQ(*ParseQuantity("0x0"), 0);
  EXPECT_EQ(*ParseQuantity("0x1b4"), 436);  // 1*256 + 11*16 + 4
  EXPECT_EQ(*ParseQuantity("0xFF"), 255);
  EXPECT_EQ(*ParseQuantity("0x0400"), 1024);                  // leading zero accepted
  EXPECT_EQ(*ParseQuantity("0x" + std::string(64, '0')), 0);  // 64 digits = 256 bits, fine
  EXPECT_EQ(*ParseQuantity("0x10000000000000000"), absl::MakeUint128(1, 0));  // 2^64
  EXPECT_EQ(*ParseQuantity("0xffffffffffffffffffffffffffffffff"), absl::Uint128Max());
  EXPECT_EQ(*ParseQuantity("0x" + std::string(32, '0') + "2a"), 42);  // 34 digits, small value
}

TEST(ParseQuantityTest, RejectsBadQuantities) {
  const std::pair<std::string, std::string> kCases[] = {
      {"", "missing 0x prefix"},
      {"1b4", "missing 0x prefix"},
      {"0x", "no digits after 0x"},
      {"0xzz", "non-hex character"},
      {"0x1b4 ", "non-hex character"},
      {"-0x1", "missing 0x prefix"},
      {"0x" + std::string(65, '0'), "more than 256 bits"},
      {"0x1" + std::string(32, '0'), "exceeds 128 bits"},  // 2^128
  };
  for (const auto& [text, why] : kCases) {
    absl::StatusOr<absl::uint128> v = ParseQuantity(text);
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(v.status().message(), HasSubstr(why)) << text;
  }
}

// ---- eth_getBlockByNumber ----

TEST(DecodeBlockTest, LocallyBuiltBlock) {
  absl::StatusOr<std::optional<ExecBlock>> block =
      DecodeGetBlockByNumber(Testdata("local_block.json"), 1);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE(block->has_value());
  const ExecBlock& b = **block;
  EXPECT_EQ(b.number, 21000000u);  // 0x1406f40
  EXPECT_EQ(b.hash,
            Bytes<32>("0x3b3d6a1e2f8ac4c8d1b0e6f5a4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a0"));
  EXPECT_EQ(b.miner, Bytes<20>(kLocalFeeRecipient));
  EXPECT_EQ(b.base_fee_per_gas, kGwei);  // 0x3b9aca00
  EXPECT_EQ(b.gas_used, 167097u);        // 0x28cb9 = 21000 + 100000 + 46097
  ASSERT_EQ(b.transactions.size(), 3u);
  EXPECT_EQ(b.transactions[0].hash[0], 0xa1);
  EXPECT_EQ(b.transactions[0].hash[31], 0x11);
  EXPECT_EQ(b.transactions[0].from, Bytes<20>("0x4675c7e5baafbffbca748158becba61ef3b0a263"));
  EXPECT_EQ(b.transactions[0].to, Bytes<20>("0xae2fc483527b8ef99eb5d9b44875f005ba1fae13"));
  EXPECT_EQ(b.transactions[0].value, kGwei * kGwei);  // 0xde0b6b3a7640000 = 1 ETH
  EXPECT_EQ(b.transactions[1].to, std::nullopt);      // contract creation: "to": null
  EXPECT_EQ(b.transactions[1].value, 0);
  EXPECT_EQ(b.transactions[2].value, kGwei * kGwei / 5);  // 0x2c68af0bb140000 = 0.2 ETH
}

TEST(DecodeBlockTest, BuilderBlockWithPaymentAbove2To64) {
  absl::StatusOr<std::optional<ExecBlock>> block =
      DecodeGetBlockByNumber(Testdata("builder_block.json"));
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE(block->has_value());
  const ExecBlock& b = **block;
  EXPECT_EQ(b.number, 21000001u);
  EXPECT_EQ(b.miner, Bytes<20>(kBuilder));
  EXPECT_EQ(b.base_fee_per_gas, 30 * kGwei);  // 0x6fc23ac00
  ASSERT_EQ(b.transactions.size(), 3u);
  const ExecTx& payment = b.transactions[2];
  EXPECT_EQ(payment.from, Bytes<20>(kBuilder));
  EXPECT_EQ(payment.to, Bytes<20>(kLido));
  // 0x1dec89f360efa0000 = 34.5 ETH = 34,500,000,000 gwei, above 2^64 = 18,446,744,073,709,551,616.
  EXPECT_EQ(payment.value, 34500000000 * kGwei);
  EXPECT_GT(payment.value, absl::MakeUint128(1, 0));
}

TEST(DecodeBlockTest, NullResultIsNotFound) {
  absl::StatusOr<std::optional<ExecBlock>> block =
      DecodeGetBlockByNumber(Testdata("block_not_found.json"), 1);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_FALSE(block->has_value());
  absl::StatusOr<std::optional<std::vector<ExecReceipt>>> receipts =
      DecodeGetBlockReceipts(Testdata("block_not_found.json"), 1);
  ASSERT_TRUE(receipts.ok()) << receipts.status();
  EXPECT_FALSE(receipts->has_value());
}

TEST(DecodeBlockTest, JsonRpcErrorCarriesCodeAndMessage) {
  absl::StatusOr<std::optional<std::vector<ExecReceipt>>> r =
      DecodeGetBlockReceipts(Testdata("rpc_error_method_not_found.json"), 2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(r.status().message(), HasSubstr("eth_getBlockReceipts: JSON-RPC error -32601: the "
                                              "method eth_getBlockReceipts does not exist"));
  EXPECT_EQ(JsonRpcErrorCode(r.status()), -32601);

  absl::StatusOr<std::optional<ExecBlock>> limited = DecodeGetBlockByNumber(
      R"({"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"rate limited","data":{}}})");
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(JsonRpcErrorCode(limited.status()), -32005);

  absl::StatusOr<std::optional<ExecBlock>> other = DecodeGetBlockByNumber(
      R"({"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}})");
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(JsonRpcErrorCode(other.status()), -32000);
  // A decode error is not a JSON-RPC error.
  EXPECT_EQ(JsonRpcErrorCode(DecodeGetBlockByNumber("{").status()), std::nullopt);
}

// Every strict prefix of every fixture is rejected with InvalidArgument (no crash, no hang).
TEST(DecodeErrorsTest, EveryTruncationIsAnError) {
  for (const char* name :
       {"local_block.json", "local_receipts.json", "builder_block.json", "builder_receipts.json",
        "relay_delivered.json", "rpc_error_method_not_found.json", "block_not_found.json"}) {
    const std::string body = Testdata(name);
    // The files end in "}\n" or "]\n": the prefix without the newline is still complete.
    ASSERT_GE(body.size(), 2u);
    for (size_t n = 0; n + 1 < body.size(); ++n) {
      const std::string_view cut(body.data(), n);
      absl::Status s;
      if (std::string_view(name).starts_with("relay")) {
        s = DecodeProposerPayloadDelivered(cut).status();
      } else if (std::string_view(name).find("receipts") != std::string_view::npos) {
        s = DecodeGetBlockReceipts(cut).status();
      } else {
        s = DecodeGetBlockByNumber(cut).status();
      }
      ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
          << name << " cut at " << n << ": " << s;
    }
  }
  EXPECT_THAT(DecodeGetBlockByNumber("").status().message(), HasSubstr("empty response body"));
  EXPECT_THAT(DecodeGetBlockByNumber(R"({"jsonrpc":"2.0","id":1,"result":{"number":"0x1")")
                  .status()
                  .message(),
              HasSubstr("eth_getBlockByNumber"));
}

struct BadCase {
  std::string name;
  std::string from;  // replaced once in local_block.json
  std::string to;
  std::string want;  // substring of the error message
};

TEST(DecodeErrorsTest, BadBlockFieldsNameTheirPath) {
  const BadCase kCases[] = {
      {"number type", R"("gasUsed": "0x28cb9")", R"("gasUsed": 167097)",
       "eth_getBlockByNumber: result.gasUsed: expected a 0x-hex quantity string, got number"},
      {"bad hex digit", R"("baseFeePerGas": "0x3b9aca00")", R"("baseFeePerGas": "0x3b9aca0g")",
       "result.baseFeePerGas: invalid quantity: non-hex character"},
      {"empty quantity", R"("baseFeePerGas": "0x3b9aca00")", R"("baseFeePerGas": "0x")",
       "result.baseFeePerGas: invalid quantity: no digits after 0x"},
      {"number over 64 bits", R"("number": "0x1406f40")", R"("number": "0x10000000000000000")",
       "result.number: quantity \"0x10000000000000000\" exceeds 64 bits"},
      {"short address", R"("miner": "0x8dc847af872947ac18d5d63fa646eb65d4d99560")",
       R"("miner": "0x8dc847af872947ac18d5d63fa646eb65d4d995")",
       "result.miner: invalid hex: expected 20 bytes (40 hex digits), got 38 hex digits"},
      {"bad tx value", R"("value": "0x2c68af0bb140000")", R"("value": "0x2c68af0bb14000z")",
       "result.transactions[2].value: invalid quantity: non-hex character"},
      {"tx hash wrong type", R"("hash": "0xa2)" + std::string(62, '2') + "\"",
       R"("hash": ["0xa2)" + std::string(62, '2') + "\"]",
       "result.transactions[1].hash: expected a 0x-hex string, got array"},
      {"missing field", R"("baseFeePerGas": "0x3b9aca00",)", "",
       "result.baseFeePerGas: missing required field"},
      {"wrong jsonrpc", R"("jsonrpc": "2.0")", R"("jsonrpc": "1.0")", "jsonrpc: expected \"2.0\""},
  };
  const std::string good = Testdata("local_block.json");
  for (const BadCase& c : kCases) {
    const std::string body = ReplaceOnce(good, c.from, c.to);
    absl::StatusOr<std::optional<ExecBlock>> b = DecodeGetBlockByNumber(body);
    ASSERT_FALSE(b.ok()) << c.name;
    EXPECT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(b.status().message(), HasSubstr(c.want)) << c.name;
  }
}

TEST(DecodeErrorsTest, EnvelopeProblems) {
  // Hashes-only form (eth_getBlockByNumber(n, false)).
  const std::string hashes_only = R"({"jsonrpc":"2.0","id":1,"result":{"number":"0x1","hash":"0x)" +
                                  std::string(64, 'a') + R"(","miner":"0x)" + std::string(40, 'b') +
                                  R"(","baseFeePerGas":"0x7","gasUsed":"0x0","transactions":["0x)" +
                                  std::string(64, 'c') + R"("]}})";
  EXPECT_THAT(DecodeGetBlockByNumber(hashes_only).status().message(),
              HasSubstr("result.transactions[0]: expected a transaction object (request the "
                        "block with full transactions), got string"));
  // The same with an object decodes: a minimal valid block, to show the case above is the
  // transaction's fault.
  EXPECT_TRUE(DecodeGetBlockByNumber(
                  ReplaceOnce(hashes_only, R"(["0x)" + std::string(64, 'c') + R"("])", "[]"))
                  .ok());

  const std::string good = Testdata("block_not_found.json");
  EXPECT_THAT(DecodeGetBlockByNumber(good, 7).status().message(),
              HasSubstr("id: response id does not match the request id 7"));
  EXPECT_THAT(DecodeGetBlockByNumber(good + "{}").status().message(),
              HasSubstr("trailing content"));
  EXPECT_THAT(DecodeGetBlockByNumber(R"({"jsonrpc":"2.0","id":1})").status().message(),
              HasSubstr("neither \"result\" nor \"error\""));
  EXPECT_THAT(DecodeGetBlockByNumber(
                  R"({"jsonrpc":"2.0","id":1,"result":null,"error":{"code":1,"message":"x"}})")
                  .status()
                  .message(),
              HasSubstr("both"));
  EXPECT_THAT(
      DecodeGetBlockByNumber(R"({"jsonrpc":"2.0","id":1,"error":{"code":"x"}})").status().message(),
      HasSubstr("error.code: expected an integer, got string"));
  EXPECT_THAT(DecodeGetBlockByNumber(R"({"jsonrpc":"2.0","id":1,"result":[]})").status().message(),
              HasSubstr("eth_getBlockByNumber: result: expected an object, got array"));
  EXPECT_THAT(DecodeGetBlockByNumber("[1]").status().message(),
              HasSubstr("expected an object, got array"));
  EXPECT_THAT(DecodeGetBlockByNumber("nul").status().message(), HasSubstr("eth_getBlockByNumber"));
}

// ---- eth_getBlockReceipts ----

TEST(DecodeReceiptsTest, LocalReceipts) {
  absl::StatusOr<std::optional<std::vector<ExecReceipt>>> r =
      DecodeGetBlockReceipts(Testdata("local_receipts.json"), 2);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE(r->has_value());
  const std::vector<ExecReceipt>& rs = **r;
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].transaction_hash[0], 0xa1);
  EXPECT_EQ(rs[1].transaction_hash[0], 0xa2);
  EXPECT_EQ(rs[2].transaction_hash[0], 0xa3);
  EXPECT_EQ(rs[0].gas_used, 21000u);                 // 0x5208
  EXPECT_EQ(rs[1].gas_used, 100000u);                // 0x186a0
  EXPECT_EQ(rs[2].gas_used, 46097u);                 // 0xb411
  EXPECT_EQ(rs[0].effective_gas_price, 2 * kGwei);   // 0x77359400
  EXPECT_EQ(rs[1].effective_gas_price, 1100000000);  // 0x4190ab00
  EXPECT_EQ(rs[2].effective_gas_price, 1500000000);  // 0x59682f00
}

TEST(DecodeReceiptsTest, BadReceipts) {
  const std::string good = Testdata("local_receipts.json");
  EXPECT_THAT(
      DecodeGetBlockReceipts(ReplaceOnce(good, R"("gasUsed": "0xb411")", R"("gasUsed": null)"))
          .status()
          .message(),
      HasSubstr("eth_getBlockReceipts: result[2].gasUsed: expected a 0x-hex quantity string, "
                "got null"));
  EXPECT_THAT(DecodeGetBlockReceipts(ReplaceOnce(good, R"("effectiveGasPrice": "0x4190ab00",)", ""))
                  .status()
                  .message(),
              HasSubstr("result[1].effectiveGasPrice: missing required field"));
  EXPECT_THAT(DecodeGetBlockReceipts(R"({"jsonrpc":"2.0","id":2,"result":{}})").status().message(),
              HasSubstr("result: expected an array, got object"));
}

// ---- Relay data API ----

TEST(DecodeRelayTest, DeliveredPayload) {
  absl::StatusOr<std::vector<RelayDelivery>> d =
      DecodeProposerPayloadDelivered(Testdata("relay_delivered.json"));
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 1u);
  const RelayDelivery& x = (*d)[0];
  EXPECT_EQ(x.slot, 10236000u);
  EXPECT_EQ(x.block_hash,
            Bytes<32>("0x8f4e2d1c0b9a8776655443322110ffeeddccbbaa99887766554433221100abcd"));
  EXPECT_EQ(x.block_number, 21000001u);
  EXPECT_EQ(x.proposer_fee_recipient, Bytes<20>(kLido));
  EXPECT_EQ(x.value, 34500000000 * kGwei);  // "34500000000000000000"
  EXPECT_EQ(
      x.proposer_pubkey, "0x" + [] {
        std::string s;
        for (int i = 0; i < 6; ++i) s += "a1b2c3d4e5f60718";
        return s;
      }());
  EXPECT_EQ(x.builder_pubkey.substr(0, 18), "0x978a35c39c41aadb");
  EXPECT_EQ(x.builder_pubkey.size(), 98u);
}

TEST(DecodeRelayTest, EmptyAndErrors) {
  absl::StatusOr<std::vector<RelayDelivery>> empty =
      DecodeProposerPayloadDelivered(Testdata("relay_empty.json"));
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());

  const std::string good = Testdata("relay_delivered.json");
  const BadCase kCases[] = {
      {"value as number", R"("value": "34500000000000000000")", R"("value": 34500000000000000000)",
       "proposer_payload_delivered: [0].value: expected an unsigned decimal string, got number"},
      {"value hex", R"("value": "34500000000000000000")", R"("value": "0x1dec89f360efa0000")",
       "[0].value: expected an unsigned decimal string"},
      {"value over 128 bits", R"("value": "34500000000000000000")",
       R"("value": "340282366920938463463374607431768211456")",  // 2^128
       "[0].value: decimal string \"340282366920938463463374607431768211456\" exceeds 128 bits"},
      {"slot negative", R"("slot": "10236000")", R"("slot": "-1")",
       "[0].slot: expected an unsigned decimal string"},
      {"slot over 64 bits", R"("slot": "10236000")", R"("slot": "18446744073709551616")",
       "[0].slot: decimal string \"18446744073709551616\" exceeds 64 bits"},
      {"short pubkey", R"("proposer_pubkey": "0xa1b2c3d4e5f60718)", R"("proposer_pubkey": "0x)",
       "[0].proposer_pubkey: invalid hex: expected 48 bytes"},
      {"missing hash", R"("block_hash": ")", R"("block_hash_x": ")",
       "[0].block_hash: missing required field"},
  };
  for (const BadCase& c : kCases) {
    absl::StatusOr<std::vector<RelayDelivery>> d =
        DecodeProposerPayloadDelivered(ReplaceOnce(good, c.from, c.to));
    ASSERT_FALSE(d.ok()) << c.name;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(d.status().message(), HasSubstr(c.want)) << c.name;
  }
  // A relay error object where an array is expected.
  EXPECT_THAT(
      DecodeProposerPayloadDelivered(R"({"code":400,"message":"invalid slot"})").status().message(),
      HasSubstr("expected an array, got object"));
  // block_number is optional.
  absl::StatusOr<std::vector<RelayDelivery>> old =
      DecodeProposerPayloadDelivered(ReplaceOnce(good, R"(,
  "block_number": "21000001")",
                                                 ""));
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_EQ((*old)[0].block_number, 0u);
}

}  // namespace
}  // namespace stakewatch::execution
