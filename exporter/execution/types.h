// Plain data types for what stakewatch reads from an execution client's JSON-RPC API and from
// MEV-Boost relays' data API.
//
// Decoded values, not JSON: quantities are integers, 0x-hex byte strings are bytes. Amounts are wei
// in absl::uint128 (a builder payment can exceed 2^64 wei = 18.4 ETH; all ether in existence is
// below 2^87 wei). Only the fields stakewatch uses are kept. Decoders live in execution/decode.h,
// the reward computation in execution/rewards.h, the HTTP clients in execution/client.h.
// Thread-compatible plain structs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/numeric/int128.h"
#include "beacon/types.h"

namespace stakewatch::execution {

using beacon::Address;
using beacon::Root;

// One transaction of an eth_getBlockByNumber(n, true) result.
struct ExecTx {
  Root hash{};
  Address from{};
  std::optional<Address> to;  // nullopt for a contract creation ("to": null)
  absl::uint128 value = 0;    // wei transferred
};

// eth_getBlockByNumber(n, /*full transactions=*/true) result.
struct ExecBlock {
  uint64_t number = 0;
  Root hash{};
  Address miner{};  // the coinbase: the beacon block's execution_payload.fee_recipient
  absl::uint128 base_fee_per_gas = 0;
  uint64_t gas_used = 0;
  std::vector<ExecTx> transactions;  // in block order
};

// One element of an eth_getBlockReceipts(n) result.
struct ExecReceipt {
  Root transaction_hash{};
  uint64_t gas_used = 0;
  absl::uint128 effective_gas_price = 0;  // wei per gas actually paid (base fee + tip)
};

// One element of a relay's GET /relay/v1/data/bidtraces/proposer_payload_delivered response: a
// payload the relay handed to the slot's proposer.
struct RelayDelivery {
  uint64_t slot = 0;
  Root block_hash{};
  uint64_t block_number = 0;  // 0 when the relay does not serve it (pre-"BidTraceV2" relays)
  Address proposer_fee_recipient{};
  std::string proposer_pubkey;  // 0x-hex BLS pubkey (48 bytes) as served
  absl::uint128 value = 0;      // wei the builder promised to the proposer's fee recipient
  std::string builder_pubkey;   // 0x-hex BLS pubkey (48 bytes) as served
};

// Decimal digits of a wei amount, e.g. "34500000000000000000" (for logs, errors and metrics).
inline std::string WeiToString(absl::uint128 wei) {
  if (wei == 0) return "0";
  std::string digits;
  while (wei != 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + absl::Uint128Low64(wei % 10)));
    wei /= 10;
  }
  return digits;
}

}  // namespace stakewatch::execution
