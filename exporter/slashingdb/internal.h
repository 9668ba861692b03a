// Internals of slashing_db.cc, exposed for its unit tests and for the integration test's EXPLAIN
// checks. Not part of the module's contract.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stakewatch::slashingdb::internal {

// A BLS public key ("0x" optional, 96 hex digits, any case) as 96 lower-case hex digits.
absl::StatusOr<std::string> NormalizePubkey(std::string_view pubkey);

// Normalizes every key and drops repeats, keeping the first occurrence's position.
absl::StatusOr<std::vector<std::string>> NormalizePubkeys(const std::vector<std::string>& pubkeys);

// A PostgreSQL array literal of bytea, in text form, for a bytea[] parameter:
// {"\\xab..","\\xcd.."}. `hex` holds lower-case hex strings (already validated).
std::string ByteaArrayLiteral(const std::vector<std::string>& hex);

// A NUMERIC(20) (or bigint) column's text as a uint64; rejects signs, fractions, overflow.
absl::StatusOr<uint64_t> ParseUint64(std::string_view text);

// `text` with every occurrence of each non-empty secret replaced by "<redacted>".
std::string Redact(std::string_view text, const std::vector<std::string>& secrets);

// The absl::Status for a server error with SQLSTATE `sqlstate` (see the mapping in the .cc).
absl::Status StatusFromSqlState(std::string_view sqlstate, std::string_view message);

// The status for a failed connection attempt, from libpq's (already redacted) message.
absl::Status StatusFromConnectError(std::string_view message, bool needs_password);

// The statements SlashingDb runs ($1 = bytea[] of keys, $2/$3 = numeric epoch or slots).
extern const char kSigningAllSql[];
extern const char kSigningSomeSql[];
extern const char kAttestationsAtSql[];
extern const char kBlocksInSql[];

}  // namespace stakewatch::slashingdb::internal
