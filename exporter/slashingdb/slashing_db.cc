#include "slashingdb/slashing_db.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "slashingdb/internal.h"

namespace stakewatch::slashingdb {
namespace internal {

// The newest attestation and block per validator: one backward scan of the
// (validator_id, target_epoch) and (validator_id, slot) indexes each, stopping at the first entry.
#define SW_SIGNING_COLUMNS                                                           \
  "SELECT encode(v.public_key, 'hex'), v.id, v.enabled, a.target_epoch::text, "      \
  "a.source_epoch::text, b.slot::text, w.source_epoch::text, w.target_epoch::text, " \
  "w.slot::text "
#define SW_SIGNING_JOINS                                                                    \
  "LEFT JOIN LATERAL (SELECT sa.target_epoch, sa.source_epoch FROM signed_attestations sa " \
  "WHERE sa.validator_id = v.id ORDER BY sa.target_epoch DESC LIMIT 1) a ON true "          \
  "LEFT JOIN LATERAL (SELECT sb.slot FROM signed_blocks sb WHERE sb.validator_id = v.id "   \
  "ORDER BY sb.slot DESC LIMIT 1) b ON true "                                               \
  "LEFT JOIN low_watermarks w ON w.validator_id = v.id "

const char kSigningAllSql[] =
    SW_SIGNING_COLUMNS "FROM validators v " SW_SIGNING_JOINS "ORDER BY v.id";
const char kSigningSomeSql[] = SW_SIGNING_COLUMNS
    "FROM unnest($1::bytea[]) AS k(public_key) "
    "JOIN validators v ON v.public_key = k.public_key " SW_SIGNING_JOINS;

#undef SW_SIGNING_COLUMNS
#undef SW_SIGNING_JOINS

// Equality probe of (validator_id, target_epoch) per requested key. A LATERAL ... LIMIT 1 (not
// EXISTS): the planner may turn an EXISTS over many keys into one hashed sequential scan of all
// attestations at that epoch; a LATERAL with LIMIT stays a parameterized index probe per key.
const char kAttestationsAtSql[] =
    "SELECT encode(v.public_key, 'hex'), v.id, a.found IS NOT NULL, "
    "coalesce($2::numeric < w.target_epoch, false) "
    "FROM unnest($1::bytea[]) AS k(public_key) "
    "JOIN validators v ON v.public_key = k.public_key "
    "LEFT JOIN LATERAL (SELECT true AS found FROM signed_attestations sa "
    "WHERE sa.validator_id = v.id AND sa.target_epoch = $2::numeric LIMIT 1) a ON true "
    "LEFT JOIN low_watermarks w ON w.validator_id = v.id";

// Range scan of (validator_id, slot) per requested key (a per-key aggregate over its few rows).
const char kBlocksInSql[] =
    "SELECT encode(v.public_key, 'hex'), v.id, b.slots, "
    "coalesce($2::numeric < w.slot, false) "
    "FROM unnest($1::bytea[]) AS k(public_key) "
    "JOIN validators v ON v.public_key = k.public_key "
    "LEFT JOIN LATERAL (SELECT string_agg(sb.slot::text, ',' ORDER BY sb.slot) AS slots "
    "FROM signed_blocks sb WHERE sb.validator_id = v.id "
    "AND sb.slot BETWEEN $2::numeric AND $3::numeric) b ON true "
    "LEFT JOIN low_watermarks w ON w.validator_id = v.id";

absl::StatusOr<std::string> NormalizePubkey(std::string_view pubkey) {
  std::string_view hex = pubkey;
  if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex.remove_prefix(2);
  if (hex.size() != 96) {
    return absl::InvalidArgumentError(absl::StrCat(
        "public key must be 48 bytes (96 hex digits), got ", hex.size(), " characters"));
  }
  std::string out(hex);
  for (char& c : out) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("public key \"", ToAbsl(pubkey.substr(0, 100)), "\" is not hexadecimal"));
    }
    c = absl::ascii_tolower(static_cast<unsigned char>(c));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> NormalizePubkeys(const std::vector<std::string>& pubkeys) {
  std::vector<std::string> out;
  out.reserve(pubkeys.size());
  std::unordered_set<std::string> seen;
  seen.reserve(pubkeys.size());
  for (const std::string& key : pubkeys) {
    ASSIGN_OR_RETURN(std::string hex, NormalizePubkey(key));
    if (seen.insert(hex).second) out.push_back(std::move(hex));
  }
  return out;
}

std::string ByteaArrayLiteral(const std::vector<std::string>& hex) {
  std::string out = "{";
  out.reserve(2 + hex.size() * (hex.empty() ? 0 : hex[0].size() + 6));
  for (size_t i = 0; i < hex.size(); ++i) {
    if (i > 0) out += ',';
    // Inside a quoted array element a backslash escapes the next character, so "\\x" reaches
    // the bytea input function as \x (hex format).
    absl::StrAppend(&out, "\"\\\\x", hex[i], "\"");
  }
  out += '}';
  return out;
}

absl::StatusOr<uint64_t> ParseUint64(std::string_view text) {
  uint64_t v = 0;
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || !absl::SimpleAtoi(ToAbsl(text), &v)) {
    return absl::DataLossError(absl::StrCat("value \"", ToAbsl(text.substr(0, 40)),
                                            "\" is not an unsigned 64-bit integer"));
  }
  return v;
}

std::string Redact(std::string_view text, const std::vector<std::string>& secrets) {
  std::string out(text);
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    out = absl::StrReplaceAll(out, {{s, "<redacted>"}});
  }
  return out;
}

absl::Status StatusFromSqlState(std::string_view sqlstate, std::string_view message) {
  const std::string msg = absl::StrCat(ToAbsl(message), " (SQLSTATE ", ToAbsl(sqlstate), ")");
  if (sqlstate == "57014") return absl::DeadlineExceededError(msg);  // query_canceled: timeout
  if (absl::StartsWith(ToAbsl(sqlstate), "08") || sqlstate == "57P01" || sqlstate == "57P02" ||
      sqlstate == "57P03" || sqlstate == "53300") {
    return absl::UnavailableError(msg);  // connection exceptions, shutdown, too many clients
  }
  if (absl::StartsWith(ToAbsl(sqlstate), "28")) return absl::UnauthenticatedError(msg);
  if (sqlstate == "42501") return absl::PermissionDeniedError(msg);
  if (sqlstate == "42P01" || sqlstate == "42703" || sqlstate == "42883") {
    return absl::FailedPreconditionError(
        absl::StrCat(msg, "; is this a Web3Signer slashing-protection database?"));
  }
  if (absl::StartsWith(ToAbsl(sqlstate), "53")) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

absl::Status StatusFromConnectError(std::string_view message, bool needs_password) {
  const std::string msg = absl::StrCat("cannot connect to PostgreSQL: ", ToAbsl(message));
  if (needs_password || absl::StrContains(ToAbsl(message), "authentication failed")) {
    return absl::UnauthenticatedError(msg);
  }
  if (absl::StrContains(ToAbsl(message), "database \"") &&
      absl::StrContains(ToAbsl(message), "does not exist")) {
    return absl::NotFoundError(msg);
  }
  return absl::UnavailableError(msg);
}

}  // namespace internal

namespace {

using internal::ParseUint64;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's messages end in a newline and may span lines; make them one line.
std::string OneLine(const char* text) {
  std::string s = text == nullptr ? "" : text;
  absl::StripAsciiWhitespace(&s);
  return absl::StrReplaceAll(s, {{"\n", "; "}});
}

bool IsNull(const PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }
std::string_view Text(const PGresult* r, int row, int col) {
  return std::string_view(PQgetvalue(r, row, col), PQgetlength(r, row, col));
}

absl::StatusOr<int64_t> Int64At(const PGresult* r, int row, int col) {
  int64_t v = 0;
  if (IsNull(r, row, col)) return int64_t{0};
  if (!absl::SimpleAtoi(ToAbsl(Text(r, row, col)), &v)) {
    return absl::InternalError(absl::StrCat("column ", PQfname(r, col), ": \"",
                                            ToAbsl(Text(r, row, col).substr(0, 40)),
                                            "\" is not an integer"));
  }
  return v;
}

absl::StatusOr<std::optional<uint64_t>> OptUint64At(const PGresult* r, int row, int col) {
  if (IsNull(r, row, col)) return std::optional<uint64_t>();
  auto v = ParseUint64(Text(r, row, col));
  if (!v.ok()) {
    return absl::DataLossError(
        absl::StrCat("column ", PQfname(r, col), ": ", v.status().message()));
  }
  return std::optional<uint64_t>(*v);
}

absl::StatusOr<std::optional<double>> OptDoubleAt(const PGresult* r, int row, int col) {
  if (IsNull(r, row, col)) return std::optional<double>();
  double v = 0;
  if (!absl::SimpleAtod(ToAbsl(Text(r, row, col)), &v) || !std::isfinite(v)) {
    return absl::InternalError(absl::StrCat("column ", PQfname(r, col), " is not a number"));
  }
  return std::optional<double>(v);
}

// A timestamp read as `extract(epoch FROM ts)`.
absl::StatusOr<std::optional<absl::Time>> OptTimeAt(const PGresult* r, int row, int col) {
  ASSIGN_OR_RETURN(std::optional<double> secs, OptDoubleAt(r, row, col));
  if (!secs.has_value()) return std::optional<absl::Time>();
  return std::optional<absl::Time>(absl::FromUnixMicros(std::llround(*secs * 1e6)));
}

bool BoolAt(const PGresult* r, int row, int col) {
  return !IsNull(r, row, col) && Text(r, row, col) == "t";
}

absl::Status ExpectShape(const PGresult* r, std::string_view what, int min_rows, int cols) {
  if (PQntuples(r) < min_rows || PQnfields(r) != cols) {
    return absl::InternalError(absl::StrCat(ToAbsl(what), ": unexpected result shape (",
                                            PQntuples(r), " rows, ", PQnfields(r), " columns)"));
  }
  return absl::OkStatus();
}

constexpr const char* kTableNames[] = {"validators",    "signed_attestations",
                                       "signed_blocks", "low_watermarks",
                                       "metadata",      "database_version"};

constexpr char kTablesSql[] =
    "SELECT t.name, c.oid IS NOT NULL, coalesce(pg_total_relation_size(c.oid), 0), "
    "coalesce(c.reltuples, -1)::bigint, coalesce(s.n_live_tup, 0), coalesce(s.n_dead_tup, 0), "
    "extract(epoch FROM greatest(s.last_vacuum, s.last_autovacuum)), "
    "extract(epoch FROM greatest(s.last_analyze, s.last_autoanalyze)) "
    "FROM unnest($1::text[]) WITH ORDINALITY AS t(name, ord) "
    "LEFT JOIN pg_class c ON c.oid = to_regclass(t.name) "
    "LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid "
    "ORDER BY t.ord";

constexpr char kServerSql[] =
    "SELECT current_setting('max_connections')::bigint, "
    "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), "
    "pg_database_size(current_database()), pg_is_in_recovery(), "
    "CASE WHEN pg_is_in_recovery() THEN "
    "  CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "  ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp())) END "
    "END, "
    "a.archived_count, a.failed_count, extract(epoch FROM a.last_archived_time), "
    "extract(epoch FROM a.last_failed_time), "
    "coalesce((SELECT extract(epoch FROM now() - min(xact_start)) FROM pg_stat_activity "
    "          WHERE pid <> pg_backend_pid() AND xact_start IS NOT NULL), 0) "
    "FROM pg_stat_archiver a";

}  // namespace

// Runs statements on the open connection, with a client-side deadline on every wait.
class SlashingDb::Session {
 public:
  Session(PGconn* conn, absl::Duration timeout, const std::vector<std::string>& secrets)
      : conn_(conn), timeout_(timeout), secrets_(secrets) {}

  // Runs `sql` (with text parameters if `params` is non-null; several ';'-separated statements
  // otherwise) and returns the last result. `what` names the statement in errors.
  absl::StatusOr<Result> Exec(std::string_view what, const char* sql,
                              const std::vector<std::string>* params) {
    int sent = 0;
    if (params == nullptr) {
      sent = PQsendQuery(conn_, sql);
    } else {
      std::vector<const char*> values;
      values.reserve(params->size());
      for (const std::string& p : *params) values.push_back(p.c_str());
      sent = PQsendQueryParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
    }
    if (sent == 0) return ConnectionError(what);
    const absl::Time deadline = absl::Now() + timeout_;
    Result last;
    absl::Status error;
    while (true) {
      while (PQisBusy(conn_) != 0) {
        const absl::Duration left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) {
          broken_ = true;  // a query is still in flight: the connection cannot be reused
          return absl::DeadlineExceededError(
              absl::StrCat(ToAbsl(what), ": no answer from PostgreSQL within ",
                           absl::FormatDuration(timeout_), "; connection dropped"));
        }
        pollfd pfd{};
        pfd.fd = PQsocket(conn_);
        pfd.events = POLLIN;
        const int64_t ms = std::max<int64_t>(1, absl::ToInt64Milliseconds(left) + 1);
        const int rc = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(ms, 1 << 30)));
        if (rc < 0 && errno != EINTR) return ConnectionError(what);
        if (rc > 0 && PQconsumeInput(conn_) == 0) return ConnectionError(what);
      }
      Result r(PQgetResult(conn_));
      if (r == nullptr) break;
      switch (PQresultStatus(r.get())) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
          last = std::move(r);
          break;
        case PGRES_FATAL_ERROR:
          if (error.ok()) error = ResultError(what, r.get());
          break;
        case PGRES_NONFATAL_ERROR:
          break;
        default:
          if (error.ok()) {
            error = absl::InternalError(absl::StrCat(ToAbsl(what), ": unexpected result status ",
                                                     PQresStatus(PQresultStatus(r.get()))));
          }
          broken_ = true;  // e.g. COPY mode: do not try to reuse this connection
          break;
      }
    }
    if (PQstatus(conn_) == CONNECTION_BAD) broken_ = true;
    if (!error.ok()) return error;
    if (last == nullptr) return absl::InternalError(absl::StrCat(ToAbsl(what), ": no result"));
    return last;
  }

  // Whether the connection must be closed (lost, or a query left in flight).
  bool broken() const { return broken_; }
  // Whether the failure was the connection going away (so a retry on a new one may succeed).
  bool lost() const { return lost_; }

 private:
  absl::Status ConnectionError(std::string_view what) {
    broken_ = true;
    lost_ = true;
    return absl::UnavailableError(
        absl::StrCat(ToAbsl(what), ": connection to PostgreSQL lost: ",
                     internal::Redact(OneLine(PQerrorMessage(conn_)), secrets_)));
  }

  absl::Status ResultError(std::string_view what, const PGresult* r) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const std::string message =
        internal::Redact(OneLine(primary != nullptr ? primary : PQresultErrorMessage(r)), secrets_);
    const std::string sqlstate = state != nullptr ? state : "";
    if (PQstatus(conn_) == CONNECTION_BAD || absl::StartsWith(sqlstate, "08") ||
        absl::StartsWith(sqlstate, "57P")) {
      broken_ = true;
      lost_ = true;
    }
    if (sqlstate.empty()) {
      // libpq's own failure (e.g. "server closed the connection unexpectedly").
      broken_ = broken_ || PQstatus(conn_) == CONNECTION_BAD;
      lost_ = broken_;
      return absl::UnavailableError(absl::StrCat(ToAbsl(what), ": ", message));
    }
    return internal::StatusFromSqlState(sqlstate, absl::StrCat(ToAbsl(what), ": ", message));
  }

  PGconn* conn_;
  const absl::Duration timeout_;
  const std::vector<std::string>& secrets_;
  bool broken_ = false;
  bool lost_ = false;
};

absl::StatusOr<std::string> LoadConninfo(std::string_view dsn_file, std::string_view dsn_env) {
  if (dsn_file.empty() == dsn_env.empty()) {
    return absl::InvalidArgumentError(
        "exactly one of the DSN file and the DSN environment variable must be set");
  }
  std::string text;
  if (!dsn_file.empty()) {
    std::ifstream in{std::string(dsn_file), std::ios::binary};
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read DSN file ", ToAbsl(dsn_file), ": ", strerror(errno)));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad())
      return absl::InternalError(absl::StrCat("cannot read DSN file ", ToAbsl(dsn_file)));
    text = ss.str();
    absl::StripAsciiWhitespace(&text);
    if (text.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("DSN file ", ToAbsl(dsn_file), " is empty"));
    }
  } else {
    const char* value = getenv(std::string(dsn_env).c_str());
    if (value == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("environment variable ", ToAbsl(dsn_env), " is not set"));
    }
    text = value;
    absl::StripAsciiWhitespace(&text);
    if (text.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", ToAbsl(dsn_env), " is empty"));
    }
  }
  if (text.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("the DSN contains a NUL byte");
  }
  return text;
}

absl::StatusOr<std::unique_ptr<SlashingDb>> SlashingDb::Create(std::string_view conninfo,
                                                               const SlashingDbOptions& options) {
  if (conninfo.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("the PostgreSQL connection string contains a NUL byte");
  }
  if (options.statement_timeout <= absl::ZeroDuration() ||
      options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("statement_timeout and connect_timeout must be positive");
  }
  std::string info(conninfo);
  std::vector<std::string> secrets;
  // A plain database name ("web3signer") is valid for libpq but is not a conninfo string.
  const bool is_conninfo = info.find('=') != std::string::npos ||
                           absl::StartsWith(info, "postgresql://") ||
                           absl::StartsWith(info, "postgres://");
  if (is_conninfo) {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(info.c_str(), &err);
    if (opts == nullptr) {
      // libpq's message may quote part of the string, password included: withhold it.
      PQfreemem(err);
      return absl::InvalidArgumentError(
          "the PostgreSQL connection string does not parse (its text is withheld because it "
          "may contain a password)");
    }
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
      if (o->val != nullptr && strcmp(o->keyword, "password") == 0) secrets.push_back(o->val);
    }
    PQconninfoFree(opts);
  }
  if (!info.empty()) secrets.push_back(info);
  return std::unique_ptr<SlashingDb>(new SlashingDb(std::move(info), std::move(secrets), options));
}

SlashingDb::SlashingDb(std::string conninfo, std::vector<std::string> secrets,
                       const SlashingDbOptions& options)
    : conninfo_(std::move(conninfo)),
      secrets_(std::move(secrets)),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : *Clock::Real()) {}

SlashingDb::~SlashingDb() { Close(); }

void SlashingDb::Close() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

absl::Status SlashingDb::Connect() {
  Close();
  const int64_t connect_secs = std::max<int64_t>(
      2, absl::ToInt64Seconds(absl::Ceil(options_.connect_timeout, absl::Seconds(1))));
  const std::string connect_timeout = absl::StrCat(connect_secs);
  // Unacknowledged TCP data may wait no longer than a query may (ignored on Unix sockets).
  const std::string tcp_user_timeout =
      absl::StrCat(absl::ToInt64Milliseconds(options_.statement_timeout + absl::Seconds(2)));
  // Keywords are applied in order: the connection string may override tcp_user_timeout, but
  // the connect timeout and application_name are ours.
  const char* keys[] = {"tcp_user_timeout", "dbname", "connect_timeout", "application_name",
                        nullptr};
  const char* values[] = {tcp_user_timeout.c_str(), conninfo_.c_str(), connect_timeout.c_str(),
                          "stakewatch", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("libpq could not allocate a connection");
  // A password from PGPASSWORD or a password file must not leak either.
  if (const char* pass = PQpass(conn); pass != nullptr && *pass != '\0') {
    if (std::find(secrets_.begin(), secrets_.end(), pass) == secrets_.end()) {
      secrets_.push_back(pass);
    }
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = internal::Redact(OneLine(PQerrorMessage(conn)), secrets_);
    const bool needs_password = PQconnectionNeedsPassword(conn) != 0;
    PQfinish(conn);
    return internal::StatusFromConnectError(message, needs_password);
  }
  conn_ = conn;
  const std::string setup = absl::StrCat(
      "SET statement_timeout = ", absl::ToInt64Milliseconds(options_.statement_timeout),
      "; SET default_transaction_read_only = on");
  Session session(conn_, options_.statement_timeout + absl::Seconds(2), secrets_);
  absl::StatusOr<Result> r = session.Exec("session setup", setup.c_str(), nullptr);
  if (!r.ok()) {
    Close();
    return r.status();
  }
  return absl::OkStatus();
}

absl::Status SlashingDb::Run(const std::function<absl::Status(Session&)>& body,
                             std::optional<double>* connect_seconds, double* query_seconds) {
  for (int attempt = 0;; ++attempt) {
    const bool reused = conn_ != nullptr;
    if (!reused) {
      const absl::Time start = clock_.Now();
      absl::Status connected = Connect();
      const double secs = absl::ToDoubleSeconds(clock_.Now() - start);
      if (connect_seconds != nullptr) *connect_seconds = connect_seconds->value_or(0) + secs;
      RETURN_IF_ERROR(connected);
    }
    Session session(conn_, options_.statement_timeout + absl::Seconds(2), secrets_);
    const absl::Time start = clock_.Now();
    absl::Status status = body(session);
    if (query_seconds != nullptr) *query_seconds += absl::ToDoubleSeconds(clock_.Now() - start);
    if (session.broken()) Close();
    // An idle connection may have died since the last poll (server restart, network blip):
    // try once more on a fresh one.
    if (!status.ok() && reused && session.lost() && attempt == 0) continue;
    return status;
  }
}

absl::StatusOr<DbHealth> SlashingDb::PollHealth() {
  DbHealth health;
  std::optional<double> connect_seconds;
  double query_seconds = 0;
  absl::Status status = Run(
      [&](Session& s) -> absl::Status {
        health = DbHealth();
        const std::vector<std::string> names = {
            absl::StrCat("{", absl::StrJoin(kTableNames, ","), "}")};
        ASSIGN_OR_RETURN(Result tables, s.Exec("table statistics", kTablesSql, &names));
        RETURN_IF_ERROR(ExpectShape(tables.get(), "table statistics", 6, 8));
        for (int row = 0; row < 6; ++row) {
          const PGresult* r = tables.get();
          TableStats t;
          t.name = std::string(Text(r, row, 0));
          t.exists = BoolAt(r, row, 1);
          if (t.exists) {
            ASSIGN_OR_RETURN(t.total_bytes, Int64At(r, row, 2));
            ASSIGN_OR_RETURN(int64_t reltuples, Int64At(r, row, 3));
            ASSIGN_OR_RETURN(t.live_tuples, Int64At(r, row, 4));
            ASSIGN_OR_RETURN(t.dead_tuples, Int64At(r, row, 5));
            t.estimated_rows = reltuples >= 0 ? reltuples : t.live_tuples;
            ASSIGN_OR_RETURN(t.last_vacuum, OptTimeAt(r, row, 6));
            ASSIGN_OR_RETURN(t.last_analyze, OptTimeAt(r, row, 7));
          }
          health.tables.push_back(std::move(t));
        }
        health.signed_attestations_estimate = health.tables[1].estimated_rows;
        health.signed_blocks_estimate = health.tables[2].estimated_rows;

        ASSIGN_OR_RETURN(Result server, s.Exec("server statistics", kServerSql, nullptr));
        RETURN_IF_ERROR(ExpectShape(server.get(), "server statistics", 1, 10));
        const PGresult* r = server.get();
        ASSIGN_OR_RETURN(health.max_connections, Int64At(r, 0, 0));
        ASSIGN_OR_RETURN(health.connections_in_use, Int64At(r, 0, 1));
        ASSIGN_OR_RETURN(health.database_bytes, Int64At(r, 0, 2));
        health.in_recovery = BoolAt(r, 0, 3);
        ASSIGN_OR_RETURN(health.replication_lag_seconds, OptDoubleAt(r, 0, 4));
        ASSIGN_OR_RETURN(health.wal_archived_count, Int64At(r, 0, 5));
        ASSIGN_OR_RETURN(health.wal_archive_failed_count, Int64At(r, 0, 6));
        ASSIGN_OR_RETURN(health.wal_last_archived_time, OptTimeAt(r, 0, 7));
        ASSIGN_OR_RETURN(health.wal_last_failed_time, OptTimeAt(r, 0, 8));
        ASSIGN_OR_RETURN(std::optional<double> oldest, OptDoubleAt(r, 0, 9));
        health.oldest_transaction_seconds = std::max(0.0, oldest.value_or(0));

        // The Web3Signer rows, from whichever of their tables exist (so that a half-migrated
        // or foreign database still reports its statistics).
        const bool has_validators = health.tables[0].exists;
        const bool has_metadata = health.tables[4].exists;
        const bool has_version = health.tables[5].exists;
        const std::string sql = absl::StrCat(
            "SELECT ",
            has_version ? "(SELECT version FROM database_version ORDER BY id LIMIT 1)"
                        : "NULL::int",
            ", m.gvr, m.hwe, m.hws, ",
            has_validators ? "(SELECT count(*) FROM validators), "
                             "(SELECT count(*) FROM validators WHERE enabled)"
                           : "0, 0",
            " FROM (SELECT 1) AS one LEFT JOIN ",
            has_metadata ? "(SELECT '0x' || encode(genesis_validators_root, 'hex') AS gvr, "
                           "high_watermark_epoch::text AS hwe, high_watermark_slot::text AS hws "
                           "FROM metadata ORDER BY id LIMIT 1)"
                         : "(SELECT NULL::text AS gvr, NULL::text AS hwe, NULL::text AS hws)",
            " AS m ON true");
        ASSIGN_OR_RETURN(Result schema, s.Exec("Web3Signer schema", sql.c_str(), nullptr));
        RETURN_IF_ERROR(ExpectShape(schema.get(), "Web3Signer schema", 1, 6));
        r = schema.get();
        if (!IsNull(r, 0, 0)) {
          ASSIGN_OR_RETURN(health.schema_version, Int64At(r, 0, 0));
        }
        if (!IsNull(r, 0, 1)) health.genesis_validators_root = std::string(Text(r, 0, 1));
        ASSIGN_OR_RETURN(health.high_watermark_epoch, OptUint64At(r, 0, 2));
        ASSIGN_OR_RETURN(health.high_watermark_slot, OptUint64At(r, 0, 3));
        ASSIGN_OR_RETURN(health.validators_registered, Int64At(r, 0, 4));
        ASSIGN_OR_RETURN(health.validators_enabled, Int64At(r, 0, 5));
        return absl::OkStatus();
      },
      &connect_seconds, &query_seconds);
  RETURN_IF_ERROR(status);
  health.connect_seconds = connect_seconds;
  health.query_seconds = query_seconds;
  return health;
}

absl::StatusOr<std::vector<ValidatorSigning>> SlashingDb::PollSigning(
    const std::vector<std::string>& pubkeys_hex) {
  ASSIGN_OR_RETURN(std::vector<std::string> keys, internal::NormalizePubkeys(pubkeys_hex));
  const bool all = pubkeys_hex.empty();
  std::vector<ValidatorSigning> rows;
  RETURN_IF_ERROR(Run(
      [&](Session& s) -> absl::Status {
        rows.clear();
        const std::vector<std::string> params = {internal::ByteaArrayLiteral(keys)};
        ASSIGN_OR_RETURN(Result res,
                         all ? s.Exec("last signed", internal::kSigningAllSql, nullptr)
                             : s.Exec("last signed", internal::kSigningSomeSql, &params));
        RETURN_IF_ERROR(ExpectShape(res.get(), "last signed", 0, 9));
        const PGresult* r = res.get();
        rows.reserve(PQntuples(r));
        for (int row = 0; row < PQntuples(r); ++row) {
          ValidatorSigning v;
          v.pubkey = absl::StrCat("0x", ToAbsl(Text(r, row, 0)));
          v.registered = true;
          ASSIGN_OR_RETURN(v.validator_id, Int64At(r, row, 1));
          v.enabled = BoolAt(r, row, 2);
          ASSIGN_OR_RETURN(v.last_target_epoch, OptUint64At(r, row, 3));
          ASSIGN_OR_RETURN(v.last_source_epoch, OptUint64At(r, row, 4));
          ASSIGN_OR_RETURN(v.last_block_slot, OptUint64At(r, row, 5));
          ASSIGN_OR_RETURN(v.low_watermark_source_epoch, OptUint64At(r, row, 6));
          ASSIGN_OR_RETURN(v.low_watermark_target_epoch, OptUint64At(r, row, 7));
          ASSIGN_OR_RETURN(v.low_watermark_slot, OptUint64At(r, row, 8));
          rows.push_back(std::move(v));
        }
        return absl::OkStatus();
      },
      nullptr, nullptr));
  if (all) return rows;
  // Answer in the order asked, with the unknown keys marked.
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < rows.size(); ++i) index.emplace(rows[i].pubkey.substr(2), i);
  std::vector<ValidatorSigning> out;
  out.reserve(keys.size());
  for (const std::string& key : keys) {
    auto it = index.find(key);
    if (it != index.end()) {
      out.push_back(std::move(rows[it->second]));
    } else {
      ValidatorSigning v;
      v.pubkey = absl::StrCat("0x", key);
      out.push_back(std::move(v));
    }
  }
  return out;
}

namespace {

// Puts the rows of kAttestationsAtSql / kBlocksInSql in the order of `keys`.
absl::StatusOr<std::vector<SignedRecord>> ToRecords(const PGresult* r,
                                                    const std::vector<std::string>& keys,
                                                    bool blocks) {
  std::unordered_map<std::string, SignedRecord> found;
  for (int row = 0; row < PQntuples(r); ++row) {
    SignedRecord rec;
    rec.registered = true;
    ASSIGN_OR_RETURN(rec.validator_id, Int64At(r, row, 1));
    if (blocks) {
      if (!IsNull(r, row, 2)) {
        for (absl::string_view part : absl::StrSplit(ToAbsl(Text(r, row, 2)), ',')) {
          ASSIGN_OR_RETURN(uint64_t slot, ParseUint64(ToStd(part)));
          rec.slots.push_back(slot);
        }
      }
      rec.found = !rec.slots.empty();
    } else {
      rec.found = BoolAt(r, row, 2);
    }
    rec.below_low_watermark = BoolAt(r, row, 3);
    found.emplace(std::string(Text(r, row, 0)), std::move(rec));
  }
  std::vector<SignedRecord> out;
  out.reserve(keys.size());
  for (const std::string& key : keys) {
    auto it = found.find(key);
    SignedRecord rec = it != found.end() ? std::move(it->second) : SignedRecord();
    rec.pubkey = absl::StrCat("0x", key);
    out.push_back(std::move(rec));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<SignedRecord>> SlashingDb::SignedAttestationsAt(
    const std::vector<std::string>& pubkeys_hex, uint64_t target_epoch) {
  ASSIGN_OR_RETURN(std::vector<std::string> keys, internal::NormalizePubkeys(pubkeys_hex));
  if (keys.empty()) return std::vector<SignedRecord>();
  std::vector<SignedRecord> out;
  RETURN_IF_ERROR(Run(
      [&](Session& s) -> absl::Status {
        const std::vector<std::string> params = {internal::ByteaArrayLiteral(keys),
                                                 absl::StrCat(target_epoch)};
        ASSIGN_OR_RETURN(Result res,
                         s.Exec("signed attestations", internal::kAttestationsAtSql, &params));
        RETURN_IF_ERROR(ExpectShape(res.get(), "signed attestations", 0, 4));
        ASSIGN_OR_RETURN(out, ToRecords(res.get(), keys, /*blocks=*/false));
        return absl::OkStatus();
      },
      nullptr, nullptr));
  return out;
}

absl::StatusOr<std::vector<SignedRecord>> SlashingDb::SignedBlocksIn(
    const std::vector<std::string>& pubkeys_hex, uint64_t first_slot, uint64_t last_slot) {
  if (first_slot > last_slot) {
    return absl::InvalidArgumentError(
        absl::StrCat("empty slot range: first_slot ", first_slot, " > last_slot ", last_slot));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> keys, internal::NormalizePubkeys(pubkeys_hex));
  if (keys.empty()) return std::vector<SignedRecord>();
  std::vector<SignedRecord> out;
  RETURN_IF_ERROR(Run(
      [&](Session& s) -> absl::Status {
        const std::vector<std::string> params = {internal::ByteaArrayLiteral(keys),
                                                 absl::StrCat(first_slot), absl::StrCat(last_slot)};
        ASSIGN_OR_RETURN(Result res, s.Exec("signed blocks", internal::kBlocksInSql, &params));
        RETURN_IF_ERROR(ExpectShape(res.get(), "signed blocks", 0, 4));
        ASSIGN_OR_RETURN(out, ToRecords(res.get(), keys, /*blocks=*/true));
        return absl::OkStatus();
      },
      nullptr, nullptr));
  return out;
}

}  // namespace stakewatch::slashingdb
