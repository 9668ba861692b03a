// Decoders for Beacon API JSON responses (simdjson on-demand, error codes; no exceptions escape).
//
// Each decoder takes the whole response body and returns the decoded value or an
// InvalidArgument status whose message names the endpoint and the JSON path of the offending
// field, e.g.
//   "committees: data[3].validators[7]: expected a decimal string, got number"
//   "block: data.message.body.attestations[3].aggregation_bits: invalid hex: non-hex character
//    'z' at offset 17"
// Numbers in the Beacon API are decimal strings holding uint64 values; a number beyond uint64,
// a negative one, a JSON number where a string is required, a missing required field, a bad
// 0x-hex length, truncated JSON, trailing content, an empty body or a body larger than
// kMaxResponseBytes are all errors. Unknown fields are ignored (servers add fields over time).
//
// Usage:
//   ASSIGN_OR_RETURN(std::vector<Committee> committees, DecodeCommittees(response.body));
//   // Zero-copy for large bodies: let the decoder parse the string in place.
//   ASSIGN_OR_RETURN(auto committees, DecodeCommittees(PaddedBody::Of(&response.body)));
//
// Padding: simdjson reads up to kBodyPadding bytes past the end of its input. The
// std::string_view overloads cannot know whether those bytes are readable, so they copy the body
// into a (reused, per-thread) padded buffer first: about 0.5 ms per 10 MB. The PaddedBody overloads
// parse in place.
//
// Threads and memory: all functions are thread-safe. Each thread that decodes keeps one simdjson
// parser and one copy buffer, reused across calls for bodies up to 16 MB (fresh multi-megabyte
// buffers cost more in page faults than the parse); they hold roughly 2-3x the largest such body
// resident until the thread exits. Larger bodies use buffers freed after the call. Inputs are only
// read; outputs are owned by the caller and do not point into the body.
//
// Speed (bench/decode_bench.cc, one core): a 10 MB, 1.1 M-validator committees response decodes
// in about 5 ms; a 400 KB Electra block in about 25 us; a 47 MB, 1.1 M-row validator_balances
// response in about 35 ms (measured on a loaded 2-core machine; see DecodeValidatorBalances).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "beacon/types.h"

namespace stakewatch::beacon {

// Responses larger than this are rejected before parsing (mainnet committees are ~10 MB).
inline constexpr size_t kMaxResponseBytes = 128 << 20;

// Readable bytes simdjson needs after the end of its input (== SIMDJSON_PADDING).
inline constexpr size_t kBodyPadding = 64;

// A non-owning view of a response body followed by at least kBodyPadding readable bytes (their
// values do not matter), so decoders can parse it without copying. Cheap to copy.
class PaddedBody {
 public:
  // Makes sure `*s` has kBodyPadding bytes of capacity past its size (reallocating at most once)
  // and views it. REQUIRES: `*s` outlives the PaddedBody and is not modified while it is in use.
  static PaddedBody Of(std::string* s) {
    if (s->capacity() < s->size() + kBodyPadding) s->reserve(s->size() + kBodyPadding);
    return PaddedBody(std::string_view(*s));
  }
  // REQUIRES: the kBodyPadding bytes after `body` are readable for as long as the view is used.
  static PaddedBody AssumePadded(std::string_view body) { return PaddedBody(body); }

  std::string_view body() const { return body_; }

 private:
  explicit PaddedBody(std::string_view body) : body_(body) {}
  std::string_view body_;
};

// GET /eth/v1/beacon/genesis. All three fields are required.
absl::StatusOr<Genesis> DecodeGenesis(std::string_view body);
absl::StatusOr<Genesis> DecodeGenesis(PaddedBody body);

// GET /eth/v1/config/spec. "data" is required; of its keys only those in ChainSpec are read
// (other keys may hold any JSON type). Missing keys keep ChainSpec's defaults; a present key must
// be a decimal string (CONFIG_NAME: any string). Slot length: SLOT_DURATION_MS when served, else
// SECONDS_PER_SLOT * 1000; if only SLOT_DURATION_MS is served, seconds_per_slot is its whole
// seconds (0 for sub-second slots). The slot length and SLOTS_PER_EPOCH must be > 0.
absl::StatusOr<ChainSpec> DecodeSpec(std::string_view body);
absl::StatusOr<ChainSpec> DecodeSpec(PaddedBody body);

// GET /eth/v1/node/syncing. head_slot, sync_distance and is_syncing are required; is_optimistic
// and el_offline are optional (older servers omit them) and default to false.
absl::StatusOr<SyncStatus> DecodeSyncing(std::string_view body);
absl::StatusOr<SyncStatus> DecodeSyncing(PaddedBody body);

// GET /eth/v1/beacon/states/{state_id}/finality_checkpoints. All three checkpoints required.
// GET /eth/v1/node/peer_count (all four counts required, decimal strings).
absl::StatusOr<PeerCount> DecodePeerCount(std::string_view body);
absl::StatusOr<PeerCount> DecodePeerCount(PaddedBody body);
// GET /eth/v1/node/version (at most 256 bytes of version string are kept).
absl::StatusOr<NodeVersion> DecodeNodeVersion(std::string_view body);
absl::StatusOr<NodeVersion> DecodeNodeVersion(PaddedBody body);

absl::StatusOr<FinalityCheckpoints> DecodeFinalityCheckpoints(std::string_view body);
absl::StatusOr<FinalityCheckpoints> DecodeFinalityCheckpoints(PaddedBody body);

// GET /eth/v1/beacon/headers/{block_id} (a single header object in "data"): root, canonical and
// header.message.{slot, proposer_index, parent_root, state_root, body_root} are required.
absl::StatusOr<BlockHeader> DecodeHeader(std::string_view body);
absl::StatusOr<BlockHeader> DecodeHeader(PaddedBody body);

// GET /eth/v1/beacon/headers?slot={slot} (the list form): "data" is an array (possibly empty) of
// header objects, each with the same required fields as DecodeHeader's.
absl::StatusOr<std::vector<BlockHeader>> DecodeHeaders(std::string_view body);
absl::StatusOr<std::vector<BlockHeader>> DecodeHeaders(PaddedBody body);

// GET /eth/v2/beacon/blocks/{block_id} and GET /eth/v1/beacon/blinded_blocks/{block_id}: phase0
// through Electra (and Fulu) shapes, as {version, execution_optimistic, finalized, data:{message,
// signature}}. A bare signed block {message, signature} (no envelope) is accepted too; its
// version is then inferred from the body's shape (the earliest fork with those body fields).
// For a blinded block (body.execution_payload_header) execution_payload is filled from the
// header with `blinded` set and no withdrawals (the header only carries their root).
// Checks by fork, once the version is known: altair+ requires sync_aggregate, bellatrix+ an
// execution payload (or header), capella+ payload withdrawals, electra+ committee_bits on every
// attestation and execution_requests, and committee_bits before electra is an error. Unknown
// versions are decoded leniently (whatever is present).
// Slashings, deposits and requests (all optional in the body; absent means none):
//   * proposer_slashings[i]: signed_header_1.message.proposer_index, which must equal
//     signed_header_2's (else InvalidArgument naming signed_header_2's proposer_index).
//   * attester_slashings[i]: attestation_{1,2}.attesting_indices (required, at most 131072 each);
//     Block::attester_slashed is the sorted union of the per-slashing intersections.
//   * deposits[i].data.{pubkey, amount} (required).
//   * execution_requests.{deposits, withdrawals, consolidations} (all three required when the
//     object is present), with every field of Block's request types required.
absl::StatusOr<Block> DecodeBlock(std::string_view body);
absl::StatusOr<Block> DecodeBlock(PaddedBody body);

// GET /eth/v2/beacon/blocks/{block_id}/attestations: {version, data:[Attestation]}, with the same
// committee_bits rules as DecodeBlock.
absl::StatusOr<std::vector<Attestation>> DecodeBlockAttestations(std::string_view body);
absl::StatusOr<std::vector<Attestation>> DecodeBlockAttestations(PaddedBody body);

// GET /eth/v1/beacon/states/{state_id}/committees. Each committee's validators vector is sized
// exactly. Mainnet epoch responses (~10 MB, ~1.1 M indices) decode in a few tens of ms.
absl::StatusOr<std::vector<Committee>> DecodeCommittees(std::string_view body);
absl::StatusOr<std::vector<Committee>> DecodeCommittees(PaddedBody body);

// GET /eth/v1/validator/duties/proposer/{epoch}: dependent_root and data are required,
// execution_optimistic is optional (default false).
absl::StatusOr<ProposerDuties> DecodeProposerDuties(std::string_view body);
absl::StatusOr<ProposerDuties> DecodeProposerDuties(PaddedBody body);

// POST (or GET) /eth/v1/beacon/states/{state_id}/validators: data[] of {index, balance, status,
// validator:{pubkey, withdrawal_credentials, effective_balance, slashed,
// activation_eligibility_epoch, activation_epoch, exit_epoch, withdrawable_epoch}}, all required.
// `status` is kept as served (any string). Like DecodeValidatorBalances, the shape servers send
// is read by a strict scanner (no simdjson buffers, no padding needed): a 100 k-validator slice
// (~48 MB) decodes in ~18-21 ms on one core, against ~300-350 ms on the simdjson path, which every
// other valid shape and every error takes (same rows, the usual error messages).
absl::StatusOr<std::vector<ValidatorInfo>> DecodeValidators(std::string_view body);
absl::StatusOr<std::vector<ValidatorInfo>> DecodeValidators(PaddedBody body);

// POST (or GET) /eth/v1/beacon/states/{state_id}/validator_balances: data[] of {index, balance},
// both required decimal strings. Built for full responses: ~1.1 M rows (~47 MB) decode in about
// 35 ms of CPU on one core (bench/decode_bench.cc; a bare simdjson pass over the same bytes takes
// ~85 ms). The shape servers send is read by a strict scanner that needs no simdjson buffers and
// no padding; any other valid shape (other keys or key order, escapes) and every error goes
// through the simdjson path, which gives the same rows and the usual error messages.
absl::StatusOr<std::vector<ValidatorBalance>> DecodeValidatorBalances(std::string_view body);
absl::StatusOr<std::vector<ValidatorBalance>> DecodeValidatorBalances(PaddedBody body);

// POST /eth/v1/validator/liveness/{epoch}: data[] of {index, is_live}, both required.
absl::StatusOr<std::vector<ValidatorLiveness>> DecodeLiveness(std::string_view body);
absl::StatusOr<std::vector<ValidatorLiveness>> DecodeLiveness(PaddedBody body);

// GET /eth/v1/beacon/states/{state_id}/sync_committees: data.validators and
// data.validator_aggregates (arrays of index strings) are required. Sizes are not checked here
// (the committee size is a chain constant; callers compare with ChainSpec).
absl::StatusOr<SyncCommittee> DecodeSyncCommittee(std::string_view body);
absl::StatusOr<SyncCommittee> DecodeSyncCommittee(PaddedBody body);

// POST /eth/v1/beacon/rewards/attestations/{epoch}: data.ideal_rewards[] of {effective_balance,
// head, target, source, inactivity} and data.total_rewards[] of {validator_index, head, target,
// source, inactivity}, all required. Reward values are *signed* decimal strings ("-53706");
// a value outside int64 is an error. Other row keys (phase0's inclusion_delay) are ignored.
absl::StatusOr<AttestationRewards> DecodeAttestationRewards(std::string_view body);
absl::StatusOr<AttestationRewards> DecodeAttestationRewards(PaddedBody body);

// GET /eth/v1/beacon/rewards/blocks/{block_id}: data.{proposer_index, total, attestations,
// sync_aggregate, proposer_slashings, attester_slashings}, all required, unsigned.
absl::StatusOr<BlockRewards> DecodeBlockRewards(std::string_view body);
absl::StatusOr<BlockRewards> DecodeBlockRewards(PaddedBody body);

// POST /eth/v1/beacon/rewards/sync_committee/{block_id}: data[] of {validator_index, reward};
// reward is a signed decimal string (negative for a missed vote).
absl::StatusOr<std::vector<SyncCommitteeReward>> DecodeSyncCommitteeRewards(std::string_view body);
absl::StatusOr<std::vector<SyncCommitteeReward>> DecodeSyncCommitteeRewards(PaddedBody body);

// Parses a 0x-prefixed hex string (either case) of exactly 2*n digits into out[0..n).
// Returns false (leaving `out` unspecified) on a missing prefix, a wrong length or a non-hex digit.
bool ParseHexInto(std::string_view hex, uint8_t* out, size_t n);
// Parses a 0x-prefixed hex string into exactly N bytes.
template <size_t N>
bool ParseHexFixed(std::string_view hex, std::array<uint8_t, N>* out) {
  return ParseHexInto(hex, out->data(), N);
}
// Parses a 0x-prefixed hex string of any even length ("0x" gives no bytes).
bool ParseHexBytes(std::string_view hex, std::vector<uint8_t>* out);
// Parses a decimal uint64 (no sign, no leading '+', 1 to 20 digits, no overflow).
bool ParseUint64(std::string_view s, uint64_t* out);
// Lower-case 0x-hex rendering of bytes.
std::string ToHex(const uint8_t* data, size_t size);
template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& a) {
  return ToHex(a.data(), N);
}

}  // namespace stakewatch::beacon
