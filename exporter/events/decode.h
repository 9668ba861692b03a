// Decoders for the data of Beacon API events (simdjson on-demand, error codes; nothing throws).
//
//   ASSIGN_OR_RETURN(std::optional<Event> event, DecodeEvent(sse.type, sse.data));
//   if (!event) return;  // a topic stakewatch does not follow
//
// Each followed topic's data is one JSON object with the fields of the spec's example (see
// events/types.h); all of them are required. Numbers are decimal strings within uint64 (a JSON
// number, a sign, a non-digit or a value beyond 2^64-1 is an error), roots are 0x-hex strings of
// 32 bytes, flags are JSON booleans. Unknown fields are ignored (nodes add fields over time); a
// duplicated known field, truncated JSON, trailing content after the object, an empty body or
// one larger than kMaxEventDataBytes is an error.
//
// Errors are InvalidArgument with the topic and the JSON path of the offending field, e.g.
//   "head event: slot: expected a decimal string, got number"
//   "chain_reorg event: depth: decimal string \"18446744073709551616\" exceeds uint64"
//   "block event: block: missing required field"
//
// Thread-safe: each thread keeps its own parser and copy buffer (sized by the largest event it
// decoded). The result does not point into `data`.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "events/types.h"

namespace stakewatch::events {

// Event data larger than this is rejected without parsing (the four topics are < 1 KB).
inline constexpr size_t kMaxEventDataBytes = 64 << 10;

// Decodes the data of one event of `topic`. Returns std::nullopt (not an error) for a topic
// other than head, block, chain_reorg and finalized_checkpoint; such data is not looked at.
absl::StatusOr<std::optional<Event>> DecodeEvent(std::string_view topic, std::string_view data);

}  // namespace stakewatch::events
