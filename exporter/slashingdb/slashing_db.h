// slashingdb: a read-only monitor of Web3Signer's PostgreSQL slashing-protection database.
//
// Web3Signer refuses to sign anything its slashing-protection database would not allow, so the
// database is part of the signing path: if it is slow, full, lagging or unreachable, validators
// stop attesting. SlashingDb watches it from outside with plain libpq and answers three questions:
//
//   1. Is the database healthy?             PollHealth()
//   2. What has each validator last signed? PollSigning()
//   3. Did *we* sign what the chain shows?  SignedAttestationsAt() / SignedBlocksIn()
//      ("on chain but not in our DB" means the key signs somewhere else: a slashing risk).
//
//   ASSIGN_OR_RETURN(std::string conninfo, LoadConninfo("/etc/stakewatch/pg.dsn", ""));
//   ASSIGN_OR_RETURN(auto db, SlashingDb::Create(conninfo, SlashingDbOptions{}));
//   ASSIGN_OR_RETURN(DbHealth health, db->PollHealth());
//
// Connection. One libpq connection, opened on first use and re-opened on demand after it breaks
// (a poll that finds its idle connection dead reconnects once and retries, so the first poll after
// a database restart succeeds). Every connection gets connect_timeout, application_name=stakewatch,
// `SET statement_timeout` and `SET default_transaction_read_only = on`; on top of the server-side
// timeout a client-side deadline (statement timeout + 2 s) bounds every wait on the socket, so a
// silent network cannot hang a poll. The role needs SELECT on the Web3Signer tables and
// pg_monitor (or pg_read_all_stats) to see other sessions' transaction start times.
//
// Secrets. The connection string may hold a password. It is never logged (this module does not
// log at all) and never returned: errors carry libpq's message with the password removed, and a
// connection string libpq cannot parse is reported without its text.
//
// Queries and why they are cheap (EXPLAIN-checked on 100k validators x 3M attestations):
//   PollHealth: catalog and statistics views only (pg_class, pg_stat_user_tables,
//     pg_stat_activity, pg_stat_archiver, pg_total_relation_size, pg_database_size). Row counts of
//     signed_attestations / signed_blocks come from pg_class.reltuples and n_live_tup, never
//     count(*). The exact count(*) is only on `validators` (one row per key: small), and
//     database_version / metadata are single-row lookups.
//   PollSigning: one row per validator; for each, a LATERAL `ORDER BY target_epoch DESC LIMIT 1`
//     on signed_attestations and `ORDER BY slot DESC LIMIT 1` on signed_blocks, i.e. one backward
//     scan of the (validator_id, target_epoch) / (validator_id, slot) index that stops at the
//     first entry: O(validators x log rows), no GROUP BY over the big tables.
//   SignedAttestationsAt / SignedBlocksIn: the pubkeys travel as ONE bytea[] parameter; the
//     query unnests it, looks each key up in validators (unique index, or one hash of the small
//     table for many keys), and per key runs a LATERAL probe of the (validator_id, target_epoch)
//     index for equality (LIMIT 1; an EXISTS let the planner pick a hashed sequential scan of
//     all attestations for 100k keys) / of the (validator_id, slot) index for the range. Slots and
//     epochs are NUMERIC(20) in Web3Signer; they are compared as numeric (so the indexes apply) and
//     read back as text.
//
// Thread safety: a SlashingDb is thread-compatible: one thread at a time (the caller serializes).
// LoadConninfo is thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"

typedef struct pg_conn PGconn;  // libpq's connection, kept out of our includers' way.

namespace stakewatch::slashingdb {

// Reads the libpq connection string (key=value or postgresql:// URI) from exactly one source:
// the file `dsn_file` (contents trimmed of surrounding whitespace) or the environment variable
// named `dsn_env`. Exactly one of the two must be non-empty. Errors name the file or variable,
// never its contents. The result is not validated here (SlashingDb::Create does that).
absl::StatusOr<std::string> LoadConninfo(std::string_view dsn_file, std::string_view dsn_env);

// Options; plain data with documented defaults.
struct SlashingDbOptions {
  // libpq connect_timeout (whole seconds, rounded up; libpq's minimum is 2 s).
  absl::Duration connect_timeout = absl::Seconds(5);
  // Server-side statement_timeout for every query; also sets the client-side deadline
  // (this + 2 s).
  absl::Duration statement_timeout = absl::Seconds(10);
  // Source of time for the reported latencies; nullptr = Clock::Real(). Not owned; must outlive
  // the SlashingDb.
  Clock* clock = nullptr;
};

// Statistics of one Web3Signer table.
struct TableStats {
  std::string name;                        // "validators", "signed_attestations", ...
  bool exists = false;                     // false: the table is missing (nothing else is set)
  int64_t total_bytes = 0;                 // pg_total_relation_size: heap + indexes + TOAST
  int64_t estimated_rows = 0;              // pg_class.reltuples (as of the last VACUUM/ANALYZE), or
                                           // n_live_tup when the table was never analyzed
  int64_t live_tuples = 0;                 // pg_stat_user_tables.n_live_tup
  int64_t dead_tuples = 0;                 // pg_stat_user_tables.n_dead_tup
  std::optional<absl::Time> last_vacuum;   // newest of last_vacuum / last_autovacuum
  std::optional<absl::Time> last_analyze;  // newest of last_analyze / last_autoanalyze
};

// One PollHealth() result.
struct DbHealth {
  // Time spent connecting in this poll; unset when the connection was already open.
  std::optional<double> connect_seconds;
  // Time spent running this poll's queries.
  double query_seconds = 0;

  // Web3Signer schema. Unset when the table (or its row) is missing.
  std::optional<int64_t> schema_version;               // database_version.version (12 expected)
  std::optional<std::string> genesis_validators_root;  // metadata, "0x" + lower-case hex
  std::optional<uint64_t> high_watermark_epoch;
  std::optional<uint64_t> high_watermark_slot;
  int64_t validators_registered = 0;  // exact count(*) of validators
  int64_t validators_enabled = 0;     // ... with enabled = true

  // Estimates (TableStats::estimated_rows) for the two big tables.
  int64_t signed_attestations_estimate = 0;
  int64_t signed_blocks_estimate = 0;
  // validators, signed_attestations, signed_blocks, low_watermarks, metadata, database_version,
  // in that order (always six entries).
  std::vector<TableStats> tables;

  int64_t database_bytes = 0;      // pg_database_size(current_database())
  int64_t connections_in_use = 0;  // client backends in pg_stat_activity (ours included)
  int64_t max_connections = 0;     // the max_connections setting

  bool in_recovery = false;  // pg_is_in_recovery(): this server is a replica
  // Replica only: now() - pg_last_xact_replay_timestamp(), 0 when replay has caught up with
  // everything received (receive LSN = replay LSN). Unset on a primary or before any replay.
  std::optional<double> replication_lag_seconds;

  // pg_stat_archiver.
  int64_t wal_archived_count = 0;
  int64_t wal_archive_failed_count = 0;
  std::optional<absl::Time> wal_last_archived_time;
  std::optional<absl::Time> wal_last_failed_time;

  // Age of the oldest open transaction of any other backend (pg_stat_activity.xact_start,
  // ours excluded); 0 when there is none. Long ones hold back VACUUM on the big tables.
  double oldest_transaction_seconds = 0;
};

// What one validator has last signed (PollSigning).
struct ValidatorSigning {
  std::string pubkey;        // "0x" + 96 lower-case hex digits
  bool registered = false;   // false: asked for, but not in the validators table
  int64_t validator_id = 0;  // validators.id (0 when not registered)
  bool enabled = false;
  // Newest signed attestation (by target epoch) and its source epoch; unset when none.
  std::optional<uint64_t> last_target_epoch;
  std::optional<uint64_t> last_source_epoch;
  std::optional<uint64_t> last_block_slot;  // newest signed block slot
  // low_watermarks; unset when the validator has none (or that column is NULL).
  std::optional<uint64_t> low_watermark_source_epoch;
  std::optional<uint64_t> low_watermark_target_epoch;
  std::optional<uint64_t> low_watermark_slot;
};

// Whether one validator signed at a given epoch / in a slot range (SignedAttestationsAt,
// SignedBlocksIn).
struct SignedRecord {
  std::string pubkey;        // "0x" + 96 lower-case hex digits
  bool registered = false;   // false: the key is not in the validators table at all
  int64_t validator_id = 0;  // 0 when not registered
  // A signed attestation with exactly that target epoch / at least one signed block in range.
  bool found = false;
  // SignedBlocksIn only: the signed slots in [first_slot, last_slot], ascending.
  std::vector<uint64_t> slots;
  // The epoch (first_slot) lies below the validator's low watermark: rows there may have been
  // pruned, so !found means "unknown", not "not signed by us".
  bool below_low_watermark = false;
};

// A read-only connection to one Web3Signer slashing-protection database. See the file comment.
// Non-copyable; thread-compatible (one thread at a time).
class SlashingDb {
 public:
  // Checks that `conninfo` parses (without connecting and without echoing it on error).
  static absl::StatusOr<std::unique_ptr<SlashingDb>> Create(std::string_view conninfo,
                                                            const SlashingDbOptions& options);
  ~SlashingDb();
  SlashingDb(const SlashingDb&) = delete;
  SlashingDb& operator=(const SlashingDb&) = delete;

  // Database health (see DbHealth). Errors: Unavailable (cannot connect / connection lost),
  // Unauthenticated (bad password), NotFound (no such database), DeadlineExceeded (statement or
  // client timeout), PermissionDenied, Internal (unexpected result shape).
  absl::StatusOr<DbHealth> PollHealth();

  // The newest signing of each validator in `pubkeys_hex` ("0x"-prefixed or bare hex, 48 bytes,
  // any case; duplicates are answered once), in the order given; unknown keys come back with
  // registered = false. Empty = every validator in the table, by id.
  // Errors as PollHealth, plus InvalidArgument for a malformed key and FailedPrecondition when
  // the Web3Signer tables are missing.
  absl::StatusOr<std::vector<ValidatorSigning>> PollSigning(
      const std::vector<std::string>& pubkeys_hex);

  // For each of `pubkeys_hex` (same rules; empty gives an empty result), whether it has a signed
  // attestation with exactly `target_epoch`, in the order given.
  absl::StatusOr<std::vector<SignedRecord>> SignedAttestationsAt(
      const std::vector<std::string>& pubkeys_hex, uint64_t target_epoch);

  // For each of `pubkeys_hex`, the signed blocks with first_slot <= slot <= last_slot.
  // REQUIRES: first_slot <= last_slot (else InvalidArgument).
  absl::StatusOr<std::vector<SignedRecord>> SignedBlocksIn(
      const std::vector<std::string>& pubkeys_hex, uint64_t first_slot, uint64_t last_slot);

  // Whether a connection is currently open (it may still turn out dead on next use).
  bool connected() const { return conn_ != nullptr; }

 private:
  SlashingDb(std::string conninfo, std::vector<std::string> secrets,
             const SlashingDbOptions& options);
  class Session;  // runs statements on the open connection (slashing_db.cc)

  // Runs `body` on a connection, connecting first if needed. When a reused connection turns out
  // to be dead, reconnects once and runs `body` again (so `body` must start from scratch).
  // Adds the time spent connecting / querying to the two outputs (either may be null).
  absl::Status Run(const std::function<absl::Status(Session&)>& body,
                   std::optional<double>* connect_seconds, double* query_seconds);
  absl::Status Connect();
  void Close();

  const std::string conninfo_;
  // Strings removed from every error message: the password(s) the connection string or libpq's
  // environment supplies, and the connection string itself.
  std::vector<std::string> secrets_;
  const SlashingDbOptions options_;
  Clock& clock_;
  PGconn* conn_ = nullptr;  // owned; nullptr when closed
};

}  // namespace stakewatch::slashingdb
