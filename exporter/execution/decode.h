// Decoders for execution-client JSON-RPC responses and MEV-Boost relay data-API responses
// (simdjson on-demand with error codes; no exception escapes).
//
// Each decoder takes a whole HTTP response body and returns the decoded value or a Status whose
// message names the method and the JSON path of the offending field, e.g.
//   "eth_getBlockByNumber: result.transactions[2].value: invalid quantity: non-hex character 'z'"
//   "proposer_payload_delivered: [0].value: expected an unsigned decimal string, got number"
// Truncated or malformed JSON, a wrong JSON type, a missing required field, bad hex and trailing
// content after the document are InvalidArgument. Unknown fields are ignored (clients add fields
// with every fork: blobGasUsed, requestsHash, ...).
//
// JSON-RPC (https://www.jsonrpc.org/specification, ethereum/execution-apis):
//   * QUANTITY values are "0x"-prefixed hex. Leading zeros ("0x0400") are accepted, although the
//     spec forbids them, because rejecting a value every client agrees on helps nobody; an empty
//     "0x", a non-hex digit, more than 64 digits (256 bits) or a value too large for the field
//     (uint64 or uint128) are errors.
//   * DATA values (hashes, addresses) are 0x-hex of exactly the field's size, either case.
//   * An {"error": {"code": c, "message": m}} response becomes a Status whose message reads
//     "<method>: JSON-RPC error <c>: <m>" and whose code is kUnimplemented for c == -32601
//     (method not found: e.g. a client without eth_getBlockReceipts), kResourceExhausted for
//     c == -32005 (limit exceeded / rate limited) and kUnknown otherwise. JsonRpcErrorCode()
//     recovers c.
//   * A "result": null means "no such block" and decodes to std::nullopt.
//
// Usage:
//   ASSIGN_OR_RETURN(std::optional<ExecBlock> block, DecodeGetBlockByNumber(response.body, id));
//   if (!block.has_value()) ... not found ...
//
// Thread-safety: all functions are thread-safe (each thread reuses its own parser). Outputs own
// their data and do not point into the body.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "execution/types.h"

namespace stakewatch::execution {

// Parses a JSON-RPC QUANTITY ("0x1b4") into a uint128, under the rules in the file comment.
absl::StatusOr<absl::uint128> ParseQuantity(std::string_view text);

// The JSON-RPC error code carried by a Status made from an {"error": ...} response; nullopt for
// any other Status.
std::optional<int64_t> JsonRpcErrorCode(const absl::Status& status);

// A JSON-RPC response to eth_getBlockByNumber(n, true) (full transaction objects; a response to
// the hashes-only form is rejected). `expected_id`, when set, must equal a numeric "id".
// nullopt: the node has no such block.
absl::StatusOr<std::optional<ExecBlock>> DecodeGetBlockByNumber(
    std::string_view body, std::optional<uint64_t> expected_id = std::nullopt);

// A JSON-RPC response to eth_getBlockReceipts(n). nullopt: the node has no such block.
absl::StatusOr<std::optional<std::vector<ExecReceipt>>> DecodeGetBlockReceipts(
    std::string_view body, std::optional<uint64_t> expected_id = std::nullopt);

// A relay's GET /relay/v1/data/bidtraces/proposer_payload_delivered response: a JSON array of
// bid traces whose numbers are decimal strings. Required per element: slot, block_hash,
// proposer_fee_recipient, proposer_pubkey, builder_pubkey, value; block_number is optional (0
// when absent). `[]` (nothing delivered) decodes to an empty vector.
absl::StatusOr<std::vector<RelayDelivery>> DecodeProposerPayloadDelivered(std::string_view body);

}  // namespace stakewatch::execution
