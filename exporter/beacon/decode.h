// Decoders for Beacon API JSON responses (simdjson on-demand; no exceptions escape).
//
// Each decoder takes the whole response body and returns the decoded value or an
// InvalidArgument status whose message names the endpoint and the offending field, e.g.
//   "committees: data[3].validators[7]: expected a decimal string, got number".
// Numbers in the Beacon API are decimal strings holding uint64 values; a number beyond uint64,
// a negative one, a JSON number where a string is required, a missing required field, a bad
// 0x-hex length, truncated JSON or a body larger than kMaxResponseBytes are all errors.
// Unknown fields are ignored (servers add fields over time).
//
// The body need not be padded: decoders copy into simdjson's padded buffer when the string's
// capacity leaves no room (use PaddedBody to avoid the copy for large responses).
// Threads: all functions are thread-safe (each call uses its own parser).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "beacon/types.h"

namespace stakewatch::beacon {

// Responses larger than this are rejected before parsing (mainnet committees are ~10 MB).
inline constexpr size_t kMaxResponseBytes = 128 << 20;

absl::StatusOr<Genesis> DecodeGenesis(std::string_view body);
absl::StatusOr<ChainSpec> DecodeSpec(std::string_view body);
absl::StatusOr<SyncStatus> DecodeSyncing(std::string_view body);
absl::StatusOr<FinalityCheckpoints> DecodeFinalityCheckpoints(std::string_view body);
// GET /eth/v1/beacon/headers/{block_id} (a single header object in "data").
absl::StatusOr<BlockHeader> DecodeHeader(std::string_view body);
// GET /eth/v2/beacon/blocks/{block_id}: phase0 through Electra shapes; the fork comes from the
// body's "version" field.
absl::StatusOr<Block> DecodeBlock(std::string_view body);
// GET /eth/v2/beacon/blocks/{block_id}/attestations
absl::StatusOr<std::vector<Attestation>> DecodeBlockAttestations(std::string_view body);
absl::StatusOr<std::vector<Committee>> DecodeCommittees(std::string_view body);
absl::StatusOr<ProposerDuties> DecodeProposerDuties(std::string_view body);

// Parses a 0x-prefixed hex string into exactly N bytes.
template <size_t N>
bool ParseHexFixed(std::string_view hex, std::array<uint8_t, N>* out);
// Parses a 0x-prefixed hex string of any even length.
bool ParseHexBytes(std::string_view hex, std::vector<uint8_t>* out);
// Parses a decimal uint64 (no sign, no leading '+', at most 20 digits, no overflow).
bool ParseUint64(std::string_view s, uint64_t* out);
// Lower-case 0x-hex rendering of bytes.
std::string ToHex(const uint8_t* data, size_t size);
template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& a) {
  return ToHex(a.data(), N);
}

}  // namespace stakewatch::beacon
