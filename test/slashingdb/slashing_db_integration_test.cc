// SlashingDb against a real PostgreSQL 15 (started by the test, see postgres_server.h) holding
// the Web3Signer schema (web3signer_schema.sql) and generated data.
//
// The data comes from one SQL generator whose rules are restated in C++ (the Model below); every
// answer is checked against the Model or against a plain psql query, never against SlashingDb's
// own output. Two tests, each with its own server (ctest runs every test in its own process):
//   BigDatabase:  100,000 validators x 30 epochs (~3M attestations, ~1M blocks): every field of
//                 every call, and the query plans (no sequential scan of the big tables).
//   Resilience:   a small database: server stop/start under one SlashingDb, statement timeout
//                 behind a lock, the oldest open transaction, the WAL archiver, wrong password,
//                 missing database; no message ever holds the password.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "postgres_server.h"
#include "slashingdb/internal.h"
#include "slashingdb/slashing_db.h"
#include "support/process.h"

namespace stakewatch::slashingdb {
namespace {

using ::stakewatch::testing::PostgresServer;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kPassword[] = "Monitor-Pa55-q7Zr";
constexpr char kMainnetGvr[] = "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95";
constexpr uint64_t kE0 = 200000;  // first epoch with signed attestations
constexpr int kEpochs = 30;

// The generator's rules, restated independently of its SQL.
struct Model {
  int validators;
  static bool Stopper(int i) { return i % 1000 == 7; }       // stops signing after epoch E0+9
  static bool Watermarked(int i) { return i % 100 == 3; }    // pruned below epoch E0+5
  static bool SlotWatermark(int i) { return i % 100 == 5; }  // low watermark: slot only
  static bool Enabled(int i) { return i % 50 != 0; }
  // Blocks deleted after VACUUM in the big test (they become dead tuples).
  static bool BlocksDeleted(int i) { return i % 1000 == 999; }

  static std::string Pubkey(int i) {
    std::string hex;
    for (int r = 0; r < 12; ++r) absl::StrAppend(&hex, absl::StrFormat("%08x", i));
    return "0x" + hex;
  }
  static bool HasAttestation(int i, int k) {
    return k >= 0 && k < kEpochs && !(Stopper(i) && k >= 10) && !(Watermarked(i) && k < 5);
  }
  static uint64_t BlockSlot(int i, int k) { return 32 * (kE0 + k) + i % 32; }
  // Blocks at k = 0, 3, ..., 27, except a stopper's after E0+9 and a watermarked validator's
  // below slot 32*(E0+5). `deleted`: whether the post-VACUUM deletion has happened.
  static std::vector<uint64_t> Blocks(int i, bool deleted) {
    std::vector<uint64_t> out;
    if (deleted && BlocksDeleted(i)) return out;
    for (int k = 0; k < kEpochs; k += 3) {
      if (Stopper(i) && k >= 10) continue;
      if (Watermarked(i) && BlockSlot(i, k) < 32 * (kE0 + 5)) continue;
      out.push_back(BlockSlot(i, k));
    }
    return out;
  }
  int64_t Attestations() const {
    int64_t n = 0;
    for (int i = 1; i <= validators; ++i) {
      for (int k = 0; k < kEpochs; ++k) n += HasAttestation(i, k) ? 1 : 0;
    }
    return n;
  }
  int64_t BlockRows(bool deleted) const {
    int64_t n = 0;
    for (int i = 1; i <= validators; ++i) n += static_cast<int64_t>(Blocks(i, deleted).size());
    return n;
  }
};

// The generator (run as superuser; FK triggers off while loading, for speed).
std::string GeneratorSql(int validators) {
  return absl::StrFormat(
      R"sql(
SET session_replication_role = replica;
UPDATE metadata SET high_watermark_epoch = %1$d + 1000, high_watermark_slot = 32 * (%1$d + 1000);
INSERT INTO validators (id, public_key, enabled)
SELECT i, decode(repeat(lpad(to_hex(i), 8, '0'), 12), 'hex'), i %% 50 <> 0
FROM generate_series(1, %2$d) AS i;
SELECT setval('validators_id_seq', %2$d);
INSERT INTO low_watermarks (validator_id, slot, target_epoch, source_epoch)
SELECT i, 32 * (%1$d + 5), %1$d + 5, %1$d + 4 FROM generate_series(3, %2$d, 100) AS i;
INSERT INTO low_watermarks (validator_id, slot)
SELECT i, 32 * %1$d FROM generate_series(5, %2$d, 100) AS i;
INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch, signing_root)
SELECT i, %1$d + k - 1, %1$d + k,
       decode(repeat(lpad(to_hex(i), 8, '0') || lpad(to_hex(k), 8, '0'), 4), 'hex')
FROM generate_series(1, %2$d) AS i CROSS JOIN LATERAL generate_series(0, %3$d - 1) AS k
WHERE NOT (i %% 1000 = 7 AND k >= 10) AND NOT (i %% 100 = 3 AND k < 5);
INSERT INTO signed_blocks (validator_id, slot, signing_root)
SELECT i, 32 * (%1$d + k) + i %% 32,
       decode(repeat(lpad(to_hex(i), 8, '0') || lpad(to_hex(k), 8, 'f'), 4), 'hex')
FROM generate_series(1, %2$d) AS i CROSS JOIN LATERAL generate_series(0, %3$d - 1, 3) AS k
WHERE NOT (i %% 1000 = 7 AND k >= 10)
  AND NOT (i %% 100 = 3 AND 32 * (%1$d + k) + i %% 32 < 32 * (%1$d + 5));
RESET session_replication_role;
CREATE ROLE monitor LOGIN PASSWORD '%4$s';
GRANT pg_monitor TO monitor;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO monitor;
)sql",
      kE0, validators, kEpochs, kPassword);
}

std::string ReadSchema() {
  std::ifstream in(std::string(STAKEWATCH_SOURCE_DIR) + "/test/slashingdb/web3signer_schema.sql");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Starts a server, creates database web3signer with the schema and `validators` of data, and
// VACUUM ANALYZEs it. Fills *vacuum_start / *vacuum_end around the VACUUM.
std::unique_ptr<PostgresServer> StartLoaded(int validators, absl::Time* vacuum_start,
                                            absl::Time* vacuum_end) {
  PostgresServer::Options options;
  options.extra_conf = {
      "autovacuum = off",  // keeps dead tuples and vacuum times where the test puts them
      "max_connections = 37",
      "archive_mode = on",
  };
  // The archiver "archives" by succeeding, unless the file fail_archive exists.
  auto pg_or = PostgresServer::Start(options);
  EXPECT_TRUE(pg_or.ok()) << pg_or.status();
  if (!pg_or.ok()) return nullptr;
  std::unique_ptr<PostgresServer> pg = std::move(*pg_or);
  std::ofstream(pg->dir() + "/data/postgresql.conf", std::ios::app)
      << "archive_command = 'test ! -f " << pg->dir() << "/fail_archive'\n";
  EXPECT_TRUE(pg->Psql("postgres", "SELECT pg_reload_conf()").ok());
  EXPECT_TRUE(pg->Psql("postgres", "CREATE DATABASE web3signer").ok());
  auto schema = pg->Psql("web3signer", ReadSchema());
  EXPECT_TRUE(schema.ok()) << schema.status();
  const absl::Time load_start = absl::Now();
  auto load = pg->Psql("web3signer", GeneratorSql(validators));
  EXPECT_TRUE(load.ok()) << load.status();
  std::cerr << "loaded " << validators << " validators in " << (absl::Now() - load_start) << "\n";
  *vacuum_start = absl::Now();
  auto vac = pg->Psql("web3signer", "VACUUM ANALYZE");
  *vacuum_end = absl::Now();
  EXPECT_TRUE(vac.ok()) << vac.status();
  return pg;
}

std::string Conninfo(const PostgresServer& pg, const std::string& user = "monitor",
                     const std::string& password = kPassword,
                     const std::string& db = "web3signer") {
  return absl::StrCat("host=127.0.0.1 port=", pg.port(), " dbname=", db, " user=", user,
                      " password=", password);
}

int64_t Int(const std::string& text) {
  int64_t v = 0;
  EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &v)) << text;
  return v;
}

// One line of `|`-separated psql output.
std::vector<std::string> Fields(const std::string& text) {
  return absl::StrSplit(absl::StripAsciiWhitespace(text), '|');
}

void ExpectTimeNear(const std::optional<absl::Time>& t, absl::Time lo, absl::Time hi,
                    const std::string& what) {
  ASSERT_TRUE(t.has_value()) << what;
  // The server stores microseconds; allow for the clock read around the psql call.
  EXPECT_GE(*t, lo - absl::Milliseconds(5)) << what;
  EXPECT_LE(*t, hi + absl::Milliseconds(5)) << what;
}

bool SkipWithoutPostgres() { return !PostgresServer::BinariesPresent(); }

TEST(SlashingDbIntegration, BigDatabase) {
  if (SkipWithoutPostgres()) {
    GTEST_SKIP() << "PostgreSQL 15 binaries not found in " << PostgresServer::kBinDir;
  }
  const Model model{100000};
  absl::Time vacuum_start, vacuum_end;
  std::unique_ptr<PostgresServer> pg = StartLoaded(model.validators, &vacuum_start, &vacuum_end);
  ASSERT_NE(pg, nullptr);
  // Pruning-like deletion after VACUUM: these rows are dead tuples now, and reltuples still
  // counts them (it is as of the last VACUUM/ANALYZE) while n_live_tup does not.
  ASSERT_TRUE(
      pg->Psql("web3signer", "DELETE FROM signed_blocks WHERE validator_id % 1000 = 999").ok());

  FakeClock clock;  // latencies are read from the injected clock: a fake one reports 0
  SlashingDbOptions options;
  options.clock = &clock;
  auto db_or = SlashingDb::Create(Conninfo(*pg), options);
  ASSERT_TRUE(db_or.ok()) << db_or.status();
  SlashingDb& db = **db_or;

  // ---- PollHealth ----
  auto health = db.PollHealth();
  ASSERT_TRUE(health.ok()) << health.status();
  ASSERT_TRUE(health->connect_seconds.has_value());
  EXPECT_EQ(*health->connect_seconds, 0);
  EXPECT_EQ(health->query_seconds, 0);
  EXPECT_EQ(health->schema_version, 12);
  EXPECT_EQ(health->genesis_validators_root, kMainnetGvr);
  EXPECT_EQ(health->high_watermark_epoch, kE0 + 1000);
  EXPECT_EQ(health->high_watermark_slot, 32 * (kE0 + 1000));
  EXPECT_EQ(health->validators_registered, model.validators);
  EXPECT_EQ(health->validators_enabled, model.validators - model.validators / 50);

  const int64_t attestations = model.Attestations();
  const int64_t blocks_before = model.BlockRows(/*deleted=*/false);
  const int64_t blocks_after = model.BlockRows(/*deleted=*/true);
  std::cerr << attestations << " attestations, " << blocks_before << " blocks\n";
  // Estimates: reltuples and n_live_tup come from ANALYZE's sample, which extrapolates on the
  // big tables (small ones are read whole, so exact). The deletion came after VACUUM ANALYZE.
  EXPECT_NEAR(health->signed_attestations_estimate, attestations, attestations / 1000);
  EXPECT_NEAR(health->signed_blocks_estimate, blocks_before, blocks_before / 1000);

  ASSERT_EQ(health->tables.size(), 6u);
  const std::vector<std::string> names = {"validators",    "signed_attestations",
                                          "signed_blocks", "low_watermarks",
                                          "metadata",      "database_version"};
  const std::map<std::string, std::pair<int64_t, int64_t>> live_dead = {
      {"validators", {model.validators, 0}},
      {"signed_attestations", {attestations, 0}},
      {"signed_blocks", {blocks_after, blocks_before - blocks_after}},
      {"low_watermarks", {2 * model.validators / 100, 0}},
      {"metadata", {1, 0}},
      {"database_version", {1, 0}},
  };
  for (size_t t = 0; t < names.size(); ++t) {
    const TableStats& s = health->tables[t];
    SCOPED_TRACE(names[t]);
    EXPECT_EQ(s.name, names[t]);
    EXPECT_TRUE(s.exists);
    auto size = pg->Psql(
        "web3signer",
        absl::StrCat("SELECT pg_total_relation_size(relid), (SELECT reltuples::bigint FROM "
                     "pg_class WHERE oid = relid), n_live_tup FROM pg_stat_user_tables "
                     "WHERE relname = '",
                     names[t], "'"));
    ASSERT_TRUE(size.ok()) << size.status();
    const std::vector<std::string> f = Fields(*size);
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(s.total_bytes, Int(f[0]));
    EXPECT_EQ(s.estimated_rows, Int(f[1]));
    EXPECT_EQ(s.live_tuples, Int(f[2]));
    EXPECT_GT(s.total_bytes, 0);
    const int64_t live = live_dead.at(names[t]).first;
    EXPECT_NEAR(s.live_tuples, live, live / 1000);
    EXPECT_EQ(s.dead_tuples, live_dead.at(names[t]).second);
    ExpectTimeNear(s.last_vacuum, vacuum_start, vacuum_end, "last_vacuum");
    ExpectTimeNear(s.last_analyze, vacuum_start, vacuum_end, "last_analyze");
  }
  auto dbsize = pg->Psql("web3signer", "SELECT pg_database_size('web3signer')");
  ASSERT_TRUE(dbsize.ok());
  EXPECT_EQ(health->database_bytes, Int(*dbsize));
  EXPECT_GT(health->database_bytes, health->tables[1].total_bytes);
  EXPECT_EQ(health->max_connections, 37);
  EXPECT_EQ(health->connections_in_use, 1);  // ours alone
  EXPECT_FALSE(health->in_recovery);
  EXPECT_FALSE(health->replication_lag_seconds.has_value());
  EXPECT_EQ(health->oldest_transaction_seconds, 0);

  // A second poll reuses the connection.
  auto again = db.PollHealth();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->connect_seconds.has_value());

  // ---- PollSigning: every validator ----
  const absl::Time signing_start = absl::Now();
  auto all = db.PollSigning({});
  std::cerr << "PollSigning(all) took " << (absl::Now() - signing_start) << "\n";
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), static_cast<size_t>(model.validators));
  for (int i = 1; i <= model.validators; ++i) {
    const ValidatorSigning& v = (*all)[i - 1];
    SCOPED_TRACE(absl::StrCat("validator ", i));
    ASSERT_EQ(v.validator_id, i);
    ASSERT_EQ(v.pubkey, Model::Pubkey(i));
    ASSERT_TRUE(v.registered);
    ASSERT_EQ(v.enabled, Model::Enabled(i));
    const uint64_t last_k = Model::Stopper(i) ? 9 : kEpochs - 1;
    ASSERT_EQ(v.last_target_epoch, kE0 + last_k);
    ASSERT_EQ(v.last_source_epoch, kE0 + last_k - 1);
    const std::vector<uint64_t> b = Model::Blocks(i, true);
    if (b.empty()) {
      ASSERT_FALSE(v.last_block_slot.has_value());
    } else {
      ASSERT_EQ(v.last_block_slot, b.back());
    }
    if (Model::Watermarked(i)) {
      ASSERT_EQ(v.low_watermark_target_epoch, kE0 + 5);
      ASSERT_EQ(v.low_watermark_source_epoch, kE0 + 4);
      ASSERT_EQ(v.low_watermark_slot, 32 * (kE0 + 5));
    } else if (Model::SlotWatermark(i)) {
      ASSERT_FALSE(v.low_watermark_target_epoch.has_value());
      ASSERT_FALSE(v.low_watermark_source_epoch.has_value());
      ASSERT_EQ(v.low_watermark_slot, 32 * kE0);
    } else {
      ASSERT_FALSE(v.low_watermark_target_epoch.has_value());
      ASSERT_FALSE(v.low_watermark_source_epoch.has_value());
      ASSERT_FALSE(v.low_watermark_slot.has_value());
    }
  }

  // ---- PollSigning: a few, in the order asked, unknown and repeated keys ----
  const std::string unknown = "0x" + std::string(96, 'e');
  std::string upper3 = Model::Pubkey(3);
  std::transform(upper3.begin() + 2, upper3.end(), upper3.begin() + 2, ::toupper);
  auto some = db.PollSigning(
      {Model::Pubkey(1007), unknown, upper3, Model::Pubkey(3), Model::Pubkey(1999).substr(2)});
  ASSERT_TRUE(some.ok()) << some.status();
  ASSERT_EQ(some->size(), 4u);
  EXPECT_EQ((*some)[0].validator_id, 1007);
  EXPECT_EQ((*some)[0].last_target_epoch, kE0 + 9);
  EXPECT_EQ((*some)[0].last_block_slot, Model::BlockSlot(1007, 9));
  EXPECT_EQ((*some)[1].pubkey, unknown);
  EXPECT_FALSE((*some)[1].registered);
  EXPECT_EQ((*some)[1].validator_id, 0);
  EXPECT_FALSE((*some)[1].last_target_epoch.has_value());
  EXPECT_EQ((*some)[2].pubkey, Model::Pubkey(3));
  EXPECT_EQ((*some)[2].validator_id, 3);
  EXPECT_EQ((*some)[2].low_watermark_target_epoch, kE0 + 5);
  EXPECT_EQ((*some)[3].validator_id, 1999);
  EXPECT_FALSE((*some)[3].last_block_slot.has_value());  // its blocks were deleted

  // ---- SignedAttestationsAt / SignedBlocksIn for every key (+ one unknown) ----
  std::vector<std::string> keys;
  for (int i = 1; i <= model.validators; ++i) keys.push_back(Model::Pubkey(i));
  keys.push_back(unknown);
  for (const int k : {20, 2, 10, 31}) {
    SCOPED_TRACE(absl::StrCat("attestations at E0+", k));
    const absl::Time start = absl::Now();
    auto rec = db.SignedAttestationsAt(keys, kE0 + k);
    std::cerr << "SignedAttestationsAt(100k keys) took " << (absl::Now() - start) << "\n";
    ASSERT_TRUE(rec.ok()) << rec.status();
    ASSERT_EQ(rec->size(), keys.size());
    for (int i = 1; i <= model.validators; ++i) {
      const SignedRecord& r = (*rec)[i - 1];
      ASSERT_EQ(r.pubkey, Model::Pubkey(i));
      ASSERT_TRUE(r.registered);
      ASSERT_EQ(r.validator_id, i);
      ASSERT_EQ(r.found, Model::HasAttestation(i, k)) << i;
      ASSERT_EQ(r.below_low_watermark, Model::Watermarked(i) && k < 5) << i;
      ASSERT_TRUE(r.slots.empty());
    }
    EXPECT_FALSE(rec->back().registered);
    EXPECT_FALSE(rec->back().found);
  }
  {
    const uint64_t first = 32 * (kE0 + 3), last = 32 * (kE0 + 9) + 31;
    const absl::Time start = absl::Now();
    auto rec = db.SignedBlocksIn(keys, first, last);
    std::cerr << "SignedBlocksIn(100k keys) took " << (absl::Now() - start) << "\n";
    ASSERT_TRUE(rec.ok()) << rec.status();
    ASSERT_EQ(rec->size(), keys.size());
    for (int i = 1; i <= model.validators; ++i) {
      const SignedRecord& r = (*rec)[i - 1];
      std::vector<uint64_t> want;
      for (uint64_t s : Model::Blocks(i, true)) {
        if (s >= first && s <= last) want.push_back(s);
      }
      ASSERT_EQ(r.validator_id, i);
      ASSERT_EQ(r.slots, want) << i;
      ASSERT_EQ(r.found, !want.empty()) << i;
      ASSERT_EQ(r.below_low_watermark, Model::Watermarked(i)) << i;
    }
    EXPECT_FALSE(rec->back().registered);
  }
  // A one-slot range hitting exactly one block of validator 42.
  auto one = db.SignedBlocksIn({Model::Pubkey(42), Model::Pubkey(43)}, Model::BlockSlot(42, 12),
                               Model::BlockSlot(42, 12));
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ((*one)[0].slots, std::vector<uint64_t>{Model::BlockSlot(42, 12)});
  EXPECT_TRUE((*one)[1].slots.empty());

  // ---- Plans: the big tables are only ever reached through their indexes ----
  const std::string all_keys_arr = [&] {
    std::vector<std::string> hex;
    for (int i = 1; i <= model.validators; ++i) hex.push_back(Model::Pubkey(i).substr(2));
    return internal::ByteaArrayLiteral(hex);
  }();
  for (const auto& [label, sql] : std::vector<std::pair<std::string, std::string>>{
           {"signing all", absl::StrCat("EXPLAIN (COSTS OFF) ", internal::kSigningAllSql)},
           {"signing some", absl::StrCat("PREPARE q(bytea[]) AS ", internal::kSigningSomeSql,
                                         ";\nEXPLAIN (COSTS OFF) EXECUTE q('", all_keys_arr, "')")},
           {"attestations at",
            absl::StrCat("PREPARE q(bytea[], numeric) AS ", internal::kAttestationsAtSql,
                         ";\nEXPLAIN (COSTS OFF) EXECUTE q('", all_keys_arr, "', 200020)")},
           {"blocks in", absl::StrCat("PREPARE q(bytea[], numeric, numeric) AS ",
                                      internal::kBlocksInSql, ";\nEXPLAIN (COSTS OFF) EXECUTE q('",
                                      all_keys_arr, "', 6400000, 6400100)")}}) {
    auto plan = pg->Psql("web3signer", sql);
    ASSERT_TRUE(plan.ok()) << plan.status();
    std::cerr << "plan for " << label << ":\n" << *plan;
    EXPECT_THAT(*plan, Not(HasSubstr("Seq Scan on signed_attestations"))) << label;
    EXPECT_THAT(*plan, Not(HasSubstr("Seq Scan on signed_blocks"))) << label;
    EXPECT_THAT(*plan, Not(HasSubstr("HashAggregate"))) << label;  // no GROUP BY over all rows
    EXPECT_THAT(*plan, Not(HasSubstr("GroupAggregate"))) << label;
    if (label != "blocks in") {
      EXPECT_THAT(*plan, HasSubstr("using signed_attestations_validator_id_target_epoch_idx"))
          << label;
    }
    if (label != "attestations at") {
      EXPECT_THAT(*plan, HasSubstr("using signed_blocks_validator_id_slot_idx")) << label;
    }
  }
}

TEST(SlashingDbIntegration, Resilience) {
  if (SkipWithoutPostgres()) {
    GTEST_SKIP() << "PostgreSQL 15 binaries not found in " << PostgresServer::kBinDir;
  }
  const Model model{1000};
  absl::Time vacuum_start, vacuum_end;
  std::unique_ptr<PostgresServer> pg = StartLoaded(model.validators, &vacuum_start, &vacuum_end);
  ASSERT_NE(pg, nullptr);
  std::vector<std::string> messages;  // every error seen; none may hold the password

  SlashingDbOptions options;
  options.statement_timeout = absl::Seconds(1);
  options.connect_timeout = absl::Seconds(2);
  auto db_or = SlashingDb::Create(Conninfo(*pg), options);
  ASSERT_TRUE(db_or.ok()) << db_or.status();
  SlashingDb& db = **db_or;
  auto health = db.PollHealth();
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_EQ(health->validators_registered, model.validators);
  EXPECT_GT(*health->connect_seconds, 0);  // the real clock
  EXPECT_GT(health->query_seconds, 0);

  // ---- WAL archiver: successes, then failures ----
  {
    ASSERT_TRUE(pg->Psql("web3signer", "SELECT pg_switch_wal()").ok());
    std::string want;
    for (int tries = 0; tries < 200; ++tries) {  // until the archiver has caught up
      auto r = pg->Psql("web3signer",
                        "SELECT archived_count, extract(epoch FROM last_archived_time) "
                        "FROM pg_stat_archiver WHERE last_archived_wal >= "
                        "(SELECT pg_walfile_name(pg_current_wal_lsn() - 1))");
      ASSERT_TRUE(r.ok()) << r.status();
      want = std::string(absl::StripAsciiWhitespace(*r));
      if (!want.empty()) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_FALSE(want.empty()) << "the archiver did not archive";
    auto h = db.PollHealth();
    ASSERT_TRUE(h.ok()) << h.status();
    const std::vector<std::string> f = Fields(want);
    EXPECT_EQ(h->wal_archived_count, Int(f[0]));
    EXPECT_GT(h->wal_archived_count, 0);
    double secs = 0;
    ASSERT_TRUE(absl::SimpleAtod(f[1], &secs));
    ASSERT_TRUE(h->wal_last_archived_time.has_value());
    EXPECT_LT(absl::AbsDuration(*h->wal_last_archived_time -
                                absl::FromUnixMicros(std::llround(secs * 1e6))),
              absl::Milliseconds(1));
    EXPECT_EQ(h->wal_archive_failed_count, 0);
    EXPECT_FALSE(h->wal_last_failed_time.has_value());

    std::ofstream(pg->dir() + "/fail_archive") << "x";
    const absl::Time fail_start = absl::Now();
    ASSERT_TRUE(pg->Psql("web3signer", "SELECT txid_current(); SELECT pg_switch_wal()").ok());
    int64_t failed_before = 0;
    for (int tries = 0; tries < 200 && failed_before == 0; ++tries) {
      auto r = pg->Psql("web3signer", "SELECT failed_count FROM pg_stat_archiver");
      ASSERT_TRUE(r.ok());
      failed_before = Int(*r);
      if (failed_before == 0) absl::SleepFor(absl::Milliseconds(50));
    }
    ASSERT_GT(failed_before, 0) << "the archiver did not fail";
    auto h2 = db.PollHealth();
    ASSERT_TRUE(h2.ok()) << h2.status();
    auto r = pg->Psql("web3signer", "SELECT failed_count FROM pg_stat_archiver");
    ASSERT_TRUE(r.ok());
    // The archiver retries on its own, so the count may grow between the reads.
    EXPECT_GE(h2->wal_archive_failed_count, failed_before);
    EXPECT_LE(h2->wal_archive_failed_count, Int(*r));
    ExpectTimeNear(h2->wal_last_failed_time, fail_start, absl::Now(), "last_failed_time");
    std::remove((pg->dir() + "/fail_archive").c_str());
  }

  // ---- Oldest open transaction and connections in use ----
  {
    auto holder = pg->PsqlInBackground(
        "web3signer", "BEGIN; SELECT txid_current(); SELECT pg_sleep(120); COMMIT;", "holder");
    ASSERT_TRUE(holder.ok()) << holder.status();
    const absl::Time launched = absl::Now();
    absl::Time seen;
    for (int tries = 0; tries < 200; ++tries) {
      auto r = pg->Psql("postgres",
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'holder' "
                        "AND xact_start IS NOT NULL");
      ASSERT_TRUE(r.ok());
      seen = absl::Now();
      if (Int(*r) == 1) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    absl::SleepFor(absl::Milliseconds(1500));
    const absl::Time before = absl::Now();
    auto h = db.PollHealth();
    const absl::Time after = absl::Now();
    ASSERT_TRUE(h.ok()) << h.status();
    // It began between `launched` and `seen`; we asked between `before` and `after`.
    EXPECT_GE(h->oldest_transaction_seconds, absl::ToDoubleSeconds(before - seen) - 0.01);
    EXPECT_LE(h->oldest_transaction_seconds, absl::ToDoubleSeconds(after - launched) + 0.01);
    EXPECT_GE(h->oldest_transaction_seconds, 1.4);
    EXPECT_EQ(h->connections_in_use, 2);  // ours and the holder's
    ASSERT_TRUE(pg->Psql("postgres",
                         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = 'holder'")
                    .ok());
    (*holder)->Stop();
  }

  // ---- Statement timeout: a lock held by another session ----
  {
    auto locker = pg->PsqlInBackground(
        "web3signer",
        "BEGIN; LOCK TABLE signed_attestations IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120);",
        "locker");
    ASSERT_TRUE(locker.ok()) << locker.status();
    bool locked = false;
    for (int tries = 0; tries < 200 && !locked; ++tries) {
      auto r = pg->Psql("postgres",
                        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                        "WHERE a.application_name = 'locker' AND l.mode = 'AccessExclusiveLock' "
                        "AND l.granted");
      ASSERT_TRUE(r.ok());
      locked = Int(*r) > 0;
      if (!locked) absl::SleepFor(absl::Milliseconds(20));
    }
    ASSERT_TRUE(locked);
    const absl::Time start = absl::Now();
    auto signing = db.PollSigning({});
    const absl::Duration took = absl::Now() - start;
    ASSERT_FALSE(signing.ok());
    EXPECT_EQ(signing.status().code(), absl::StatusCode::kDeadlineExceeded) << signing.status();
    EXPECT_GE(took, absl::Milliseconds(900));
    EXPECT_LT(took, absl::Seconds(4));
    messages.push_back(std::string(signing.status().message()));
    auto att = db.SignedAttestationsAt({Model::Pubkey(1)}, kE0);
    EXPECT_EQ(att.status().code(), absl::StatusCode::kDeadlineExceeded) << att.status();
    ASSERT_TRUE(pg->Psql("postgres",
                         "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = 'locker'")
                    .ok());
    (*locker)->Stop();
    // The same connection works again.
    auto ok = db.SignedAttestationsAt({Model::Pubkey(1)}, kE0 + 20);
    ASSERT_TRUE(ok.ok()) << ok.status();
    EXPECT_TRUE((*ok)[0].found);
  }

  // ---- Server stopped mid-run, then started again: same SlashingDb object ----
  {
    ASSERT_TRUE(pg->Stop().ok());
    for (int round = 0; round < 2; ++round) {
      const absl::Time start = absl::Now();
      auto h = db.PollHealth();
      const absl::Duration took = absl::Now() - start;
      ASSERT_FALSE(h.ok());
      EXPECT_EQ(h.status().code(), absl::StatusCode::kUnavailable) << h.status();
      EXPECT_LT(took, absl::Seconds(2));
      messages.push_back(std::string(h.status().message()));
    }
    auto s = db.PollSigning({Model::Pubkey(1)});
    EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable) << s.status();
    ASSERT_TRUE(pg->Restart().ok());
    auto h = db.PollHealth();
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_TRUE(h->connect_seconds.has_value());
    EXPECT_EQ(h->schema_version, 12);
    // Restart while connected: the first poll finds its connection dead, reconnects, succeeds.
    ASSERT_TRUE(pg->Stop().ok());
    ASSERT_TRUE(pg->Restart().ok());
    auto sign = db.PollSigning({Model::Pubkey(7)});
    ASSERT_TRUE(sign.ok()) << sign.status();
    EXPECT_EQ((*sign)[0].last_target_epoch, kE0 + 9);
  }

  // ---- Bad credentials and a missing database ----
  {
    const std::string wrong = "Wrong-Pa55-x9";
    auto bad = SlashingDb::Create(Conninfo(*pg, "monitor", wrong), options);
    ASSERT_TRUE(bad.ok());
    auto h = (*bad)->PollHealth();
    ASSERT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), absl::StatusCode::kUnauthenticated) << h.status();
    EXPECT_THAT(std::string(h.status().message()), HasSubstr("password authentication failed"));
    EXPECT_THAT(std::string(h.status().message()), Not(HasSubstr(wrong)));
    messages.push_back(std::string(h.status().message()));

    auto nodb = SlashingDb::Create(Conninfo(*pg, "monitor", kPassword, "no_such_db"), options);
    ASSERT_TRUE(nodb.ok());
    auto h2 = (*nodb)->PollHealth();
    ASSERT_FALSE(h2.ok());
    EXPECT_EQ(h2.status().code(), absl::StatusCode::kNotFound) << h2.status();
    EXPECT_THAT(std::string(h2.status().message()), HasSubstr("no_such_db"));
    messages.push_back(std::string(h2.status().message()));

    // No password at all (the server asks for one).
    auto nopw = SlashingDb::Create(absl::StrCat("host=127.0.0.1 port=", pg->port(),
                                                " dbname=web3signer user=monitor "
                                                "passfile=/nonexistent"),
                                   options);
    ASSERT_TRUE(nopw.ok());
    auto h3 = (*nopw)->PollHealth();
    EXPECT_EQ(h3.status().code(), absl::StatusCode::kUnauthenticated) << h3.status();

    // A database without the Web3Signer tables still reports its server statistics.
    ASSERT_TRUE(pg->Psql("postgres", "CREATE DATABASE empty_db").ok());
    auto empty = SlashingDb::Create(Conninfo(*pg, "monitor", kPassword, "empty_db"), options);
    ASSERT_TRUE(empty.ok());
    auto h4 = (*empty)->PollHealth();
    ASSERT_TRUE(h4.ok()) << h4.status();
    EXPECT_FALSE(h4->schema_version.has_value());
    EXPECT_FALSE(h4->genesis_validators_root.has_value());
    EXPECT_FALSE(h4->tables[1].exists);
    auto s4 = (*empty)->PollSigning({});
    EXPECT_EQ(s4.status().code(), absl::StatusCode::kFailedPrecondition) << s4.status();
    messages.push_back(std::string(s4.status().message()));
  }

  for (const std::string& m : messages) {
    EXPECT_THAT(m, Not(HasSubstr(kPassword)));
    EXPECT_THAT(m, Not(HasSubstr("password=")));
  }
}

}  // namespace
}  // namespace stakewatch::slashingdb
