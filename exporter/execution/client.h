// Clients for an execution client's JSON-RPC API and for MEV-Boost relays' data API, and
// FetchBlockRewards, which combines them into the execution reward of one proposed block.
//
//   ASSIGN_OR_RETURN(auto el, ExecutionClient::Create("http://user:secret@geth:8545"));
//   ASSIGN_OR_RETURN(auto flashbots,
//                    RelayClient::Create("https://0xac6e...@boost-relay.flashbots.net"));
//   ASSIGN_OR_RETURN(BlockExecutionRewards r,
//                    FetchBlockRewards(el.get(), {flashbots.get()}, payload.block_number, slot,
//                                      payload.fee_recipient));
//
// Transport: both clients send through beacon::HttpTransport (beacon/http_transport.h), the
// project's one HTTP seam: tests inject any implementation; Create() uses HttplibTransport with
// its connect/read timeouts and response-size cap (HttplibTransportOptions), and its error codes
// (kDeadlineExceeded timeout, kUnavailable cannot connect, kResourceExhausted body too large,
// kAborted connection broke) pass through unchanged.
//
// Credentials: URLs may carry user:password@ (sent as HTTP basic auth) and a path holding an API
// key (e.g. https://mainnet.infura.io/v3/KEY). Neither ever appears in name(), in an error
// message or in a log line: errors name the server as scheme://host:port.
//
// Thread-safety: both clients are thread-safe (JSON-RPC ids come from an atomic counter) and
// must outlive their calls. Neither logs.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beacon/http_transport.h"
#include "execution/rewards.h"
#include "execution/types.h"

namespace stakewatch::execution {

// JSON-RPC 2.0 over HTTP POST to one execution client.
class ExecutionClient {
 public:
  // `url`: http(s)://[user:password@]host[:port][/path]. Requests go to "/" when the URL has
  // no path (where execution clients serve JSON-RPC), else to "<path>/" (the transport's targets
  // start with '/'): POST /v3/KEY/ for https://host/v3/KEY. A provider that rejects the trailing
  // slash cannot be used until beacon::HttpTransport accepts a target equal to the base path.
  // Errors: InvalidArgument for a bad URL (the message never echoes credentials).
  static absl::StatusOr<std::unique_ptr<ExecutionClient>> Create(
      std::string_view url, const beacon::HttplibTransportOptions& options = {});

  // Sends through `transport` (POST to "/", relative to the transport's base URL). `name`
  // identifies the server in errors and must not hold credentials.
  ExecutionClient(std::unique_ptr<beacon::HttpTransport> transport, std::string name);

  ExecutionClient(const ExecutionClient&) = delete;
  ExecutionClient& operator=(const ExecutionClient&) = delete;

  // eth_getBlockByNumber(number, true). nullopt: the node does not have the block (yet).
  absl::StatusOr<std::optional<ExecBlock>> GetBlockByNumber(uint64_t number);

  // eth_getBlockReceipts(number). nullopt: the node does not have the block (yet). A node
  // without the method gives kUnimplemented (JSON-RPC -32601).
  absl::StatusOr<std::optional<std::vector<ExecReceipt>>> GetBlockReceipts(uint64_t number);

  // scheme://host:port of the server (no credentials, no path).
  const std::string& name() const { return name_; }

 private:
  // Posts one request (any HTTP status is returned); *id receives the request's id.
  absl::StatusOr<beacon::HttpResponse> Call(std::string_view method, std::string_view params,
                                            uint64_t* id);

  const std::unique_ptr<beacon::HttpTransport> transport_;
  const std::string name_;
  std::atomic<uint64_t> next_id_{1};
};

// The data API of one MEV-Boost relay.
class RelayClient {
 public:
  // `url`: the relay's base URL as configured in mev-boost, often with the relay's pubkey as
  // user name (https://0xac6e...@boost-relay.flashbots.net). `name` labels the relay in results;
  // empty: the URL's host.
  static absl::StatusOr<std::unique_ptr<RelayClient>> Create(
      std::string_view url, const beacon::HttplibTransportOptions& options = {},
      std::string_view name = "");

  // Sends through `transport`. `name` must not hold credentials.
  RelayClient(std::unique_ptr<beacon::HttpTransport> transport, std::string name);

  RelayClient(const RelayClient&) = delete;
  RelayClient& operator=(const RelayClient&) = delete;

  // GET /relay/v1/data/bidtraces/proposer_payload_delivered?slot=N: the payloads this relay
  // delivered for `slot`; empty when it delivered none. Entries for other slots (from a relay
  // that ignores the filter) are dropped.
  absl::StatusOr<std::vector<RelayDelivery>> GetDeliveredPayload(uint64_t slot);

  const std::string& name() const { return name_; }

 private:
  const std::unique_ptr<beacon::HttpTransport> transport_;
  const std::string name_;
};

// What one relay said about the block.
struct RelayOutcome {
  std::string relay;  // RelayClient::name()
  // Not OK when the relay could not be asked or answered nonsense; the other fields are then
  // empty/false. One relay failing does not fail FetchBlockRewards.
  absl::Status status;
  // The bid value the relay reports for a delivered payload whose block hash is this block's.
  // nullopt when it delivered nothing for the slot, or only other blocks.
  std::optional<absl::uint128> delivered_value;
  // The relay delivered a payload for the slot whose block hash is NOT this block's (the
  // proposer signed another header, a reorg, or a wrong relay report). Such a delivery does not
  // count.
  bool block_hash_mismatch = false;
};

struct BlockExecutionRewards {
  uint64_t block_number = 0;
  Root block_hash{};
  Address coinbase{};
  ExecutionReward reward;
  std::vector<RelayOutcome> relays;  // one per relay, in the order given
  // Some relay delivered this exact block: it was built by a builder (MEV-Boost), even when the
  // builder used the proposer's fee recipient as coinbase. False: locally built as far as the
  // configured relays know.
  bool relay_delivered = false;
};

// Fetches block `block_number` and its receipts from `el`, computes its reward for
// `proposer_fee_recipient`, and asks each relay (one after the other) what it delivered for
// `slot`. Errors: those of `el` (a missing block or receipts is NotFound) and of
// ComputeExecutionReward (e.g. receipts from a different block after a reorg between the two
// calls: InvalidArgument). Relay failures are reported per relay, not as an error.
// REQUIRES: `el` and every relay are non-null.
absl::StatusOr<BlockExecutionRewards> FetchBlockRewards(ExecutionClient* el,
                                                        const std::vector<RelayClient*>& relays,
                                                        uint64_t block_number, uint64_t slot,
                                                        const Address& proposer_fee_recipient);

}  // namespace stakewatch::execution
