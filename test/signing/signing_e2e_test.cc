// End-to-end test of the signing path with real parts: `stakewatch simulate` (a child process),
// a real PostgreSQL 15 holding Web3Signer's slashing-protection schema, test HTTP servers for
// Web3Signer and a Lighthouse validator client (recorded-shape bodies from
// test/testdata/signer/), and `stakewatch run` (a child process) watching all of them.
//
// What is checked, each against values computed here independently of stakewatch:
//  * Key-safety reconciliation: the database is filled from the simulator's own decisions
//    (sim::ChainSimulator::GroundTruth, with the same seed): a row for every vote a validator
//    made and every block it proposed -- except validator kDoppel, whose key "signs elsewhere"
//    (no rows at all), and validator kLossy, for which the database also records votes that
//    never reached the chain. stakewatch must flag kDoppel, exactly once per included vote and
//    per block, and nobody else; and count kLossy's unincluded votes.
//  * The database stopped mid-run: reported down within one poll (up 0, connect errors), the
//    daemon keeps counting epochs, and once the database is back it is up again without a
//    restart and no epoch's reconciliation is lost.
//  * Web3Signer: health checks, keys loaded / missing / not monitored, its metrics; then
//    malformed answers: source down with reason "decode", the last good values kept.
//  * Validator client: the common set from the Lighthouse body; a scrape target's health; scraped
//    series are not re-exported on /metrics.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "beacon/types.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "sim/options.h"
#include "sim/simulator.h"
#include "slashingdb/postgres_server.h"
#include "support/process.h"

namespace stakewatch {
namespace {

using testing::FreePort;
using testing::HttpGet;
using testing::MakeTempDir;
using testing::ParseMetricsText;
using testing::PostgresServer;
using testing::StakewatchBinary;
using testing::Subprocess;

constexpr uint64_t kValidators = 64;
constexpr int kSlotMs = 50;
constexpr uint64_t kDoppel = 7;    // its key signs elsewhere: no rows in our database
constexpr uint64_t kLossy = 8;     // our database records every vote, included or not
constexpr uint64_t kUnloaded = 9;  // Web3Signer does not hold this key
constexpr uint64_t kPrefillEpochs = 400;
constexpr char kPassword[] = "s3cr3t-pw";

std::string LogField(const std::string& line, const std::string& key) {
  for (absl::string_view part : absl::StrSplit(line, ' ')) {
    if (absl::StartsWith(part, key + "=")) return std::string(part.substr(key.size() + 1));
  }
  return "";
}

std::string Hex(const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += kDigits[p[i] >> 4];
    s += kDigits[p[i] & 15];
  }
  return s;
}

std::string PubkeyHex(uint64_t v) {
  const beacon::Pubkey pk = sim::ChainSimulator::ValidatorPubkey(v);
  return Hex(pk.data(), pk.size());
}

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(STAKEWATCH_SOURCE_DIR) + "/test/testdata/signer/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string GroupOf(uint64_t v) {
  if (v == kDoppel) return "doppel";
  if (v == kLossy) return "lossy";
  return "main";
}

// A Web3Signer stand-in: /upcheck, /healthcheck, /api/v1/eth2/publicKeys and /metrics, with a
// switch that makes every JSON answer malformed.
class FakeWeb3Signer {
 public:
  FakeWeb3Signer() {
    server_.Get("/upcheck", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("OK", "text/plain; charset=utf-8");
    });
    server_.Get("/healthcheck", [this](const httplib::Request&, httplib::Response& res) {
      if (Broken()) return res.set_content("{\"status\":", "application/json");
      res.set_content(ReadTestdata("healthcheck_up.json"), "application/json");
    });
    server_.Get("/api/v1/eth2/publicKeys", [this](const httplib::Request&, httplib::Response& res) {
      if (Broken()) return res.set_content("[\"0x12", "application/json");
      // Every simulator key but kUnloaded, plus one key nobody monitors (index 1000).
      std::vector<std::string> keys;
      for (uint64_t v = 0; v < kValidators; ++v) {
        if (v != kUnloaded) keys.push_back("\"0x" + PubkeyHex(v) + "\"");
      }
      keys.push_back("\"0x" + PubkeyHex(1000) + "\"");
      res.set_content("[" + absl::StrJoin(keys, ",") + "]", "application/json");
    });
    server_.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(ReadTestdata("web3signer.metrics"), "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~FakeWeb3Signer() {
    server_.stop();
    thread_.join();
  }
  void SetBroken(bool b) {
    absl::MutexLock lock(&mu_);
    broken_ = b;
  }
  int port() const { return port_; }

 private:
  bool Broken() {
    absl::MutexLock lock(&mu_);
    return broken_;
  }
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  absl::Mutex mu_;
  bool broken_ = false;
};

// A validator client's /metrics (Lighthouse's names).
class FakeValidatorClient {
 public:
  FakeValidatorClient() {
    server_.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(ReadTestdata("lighthouse.metrics"), "text/plain; version=0.0.4");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeValidatorClient() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class SigningPathE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresServer::BinariesPresent()) {
      GTEST_SKIP() << "PostgreSQL 15 binaries not found in " << PostgresServer::kBinDir;
    }
    dir_ = MakeTempDir("stakewatch-signing");
    const int64_t genesis = absl::ToUnixSeconds(absl::Now()) - 10;
    sim_args_ = {"--listen-address=127.0.0.1",
                 "--port=0",
                 absl::StrCat("--validators=", kValidators),
                 absl::StrCat("--slot-time=", kSlotMs / 1000.0),
                 "--seed=4242",
                 absl::StrCat("--genesis-time=", genesis),
                 "--missed-slot-rate=0.1",
                 "--missed-attestation-rate=0.3",
                 "--late-attestation-rate=0.1",
                 "--orphan-rate=0.1"};

    // The database, filled from the simulator's decisions before anything runs.
    auto pg = PostgresServer::Start({});
    ASSERT_TRUE(pg.ok()) << pg.status();
    pg_ = std::move(*pg);
    ASSERT_TRUE(pg_->Psql("postgres", "CREATE DATABASE web3signer").ok());
    std::ifstream schema(std::string(STAKEWATCH_SOURCE_DIR) +
                         "/test/slashingdb/web3signer_schema.sql");
    std::stringstream ss;
    ss << schema.rdbuf();
    auto loaded = pg_->Psql("web3signer", ss.str());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    FillDatabase();

    auto options = sim::ParseSimFlags(sim_args_);
    ASSERT_TRUE(options.ok()) << options.status();
    spe_ = options->slots_per_epoch;

    std::vector<std::string> argv = {StakewatchBinary(), "simulate"};
    argv.insert(argv.end(), sim_args_.begin(), sim_args_.end());
    auto sim = Subprocess::Start(argv, dir_ + "/sim");
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    auto line = sim_->WaitForOutput("simulator listening", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    sim_port_ = std::stoi(LogField(*line, "port"));

    ASSERT_TRUE(testing::WriteFile(
                    dir_ + "/db.dsn",
                    absl::StrCat("host=127.0.0.1 port=", pg_->port(),
                                 " dbname=web3signer user=monitor password=", kPassword, "\n"))
                    .ok());
    const std::string config = absl::StrCat(
        "storage:\n  path: ", dir_, "/state\n", "beacon:\n  nodes: [\"http://127.0.0.1:", sim_port_,
        "\"]\n", "  poll_interval: 50ms\n  health_check_interval: 1s\n",
        "validators:\n  per_validator_metrics: true\n  groups:\n",
        "    - {name: main, indices: [\"0-6\", \"9-59\"]}\n", "    - {name: doppel, indices: [\"",
        kDoppel, "\"]}\n", "    - {name: lossy, indices: [\"", kLossy, "\"]}\n",
        "slashing_db:\n  dsn_file: ", dir_, "/db.dsn\n  poll_interval: 1s\n",
        "  statement_timeout: 2s\n  connect_timeout: 2s\n",
        "web3signer:\n  url: http://127.0.0.1:", w3s_.port(), "\n",
        "  metrics_url: http://127.0.0.1:", w3s_.port(), "/metrics\n  poll_interval: 1s\n",
        "  timeout: 2s\n",
        "validator_clients:\n  - {name: vc1, url: 'http://127.0.0.1:", vc_.port(),
        "/metrics', poll_interval: 1s}\n",
        "scrape_configs:\n  - job_name: vc\n    scrape_interval: 1s\n    scrape_timeout: 1s\n",
        "    static_configs: [{targets: ['127.0.0.1:", vc_.port(), "']}]\n");
    ASSERT_TRUE(testing::WriteFile(dir_ + "/stakewatch.yml", config).ok());
    StartStakewatch("stakewatch");
  }

  // Starts `stakewatch run` on dir_/stakewatch.yml; logs go to dir_/<name>.*.
  void StartStakewatch(const std::string& name) {
    auto sw = Subprocess::Start(
        {StakewatchBinary(), "run", absl::StrCat("--config.file=", dir_, "/stakewatch.yml"),
         "--web.listen-address=127.0.0.1:0", "--log.level=info"},
        dir_ + "/" + name);
    ASSERT_TRUE(sw.ok()) << sw.status();
    sw_ = std::move(*sw);
    auto listen = sw_->WaitForOutput("msg=listening", absl::Seconds(30));
    ASSERT_TRUE(listen.ok()) << listen.status();
    const std::string address = LogField(*listen, "address");
    sw_port_ = std::stoi(address.substr(address.rfind(':') + 1));
  }

  // Rows as Web3Signer would have written them: every vote made (target E, source E-1) and every
  // block proposed (canonical or orphaned), for every validator but kDoppel; kLossy also gets a
  // row for every active epoch whose vote was never made.
  void FillDatabase() {
    auto options = sim::ParseSimFlags(sim_args_);
    ASSERT_TRUE(options.ok()) << options.status();
    FakeClock clock(absl::Now() + absl::Hours(2));
    auto model = sim::ChainSimulator::Create(*options, &clock);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = std::move(*model);
    std::string sql = "INSERT INTO validators (id, public_key) VALUES ";
    for (uint64_t v = 0; v < kValidators; ++v) {
      absl::StrAppend(&sql, v ? "," : "", "(", v + 1, ",decode('", PubkeyHex(v), "','hex'))");
    }
    sql += ";\n";
    std::vector<std::string> att_rows, block_rows;
    for (uint64_t e = 0; e < kPrefillEpochs; ++e) {
      auto truth = model_->GroundTruth(e, 0, kValidators - 1);
      ASSERT_TRUE(truth.ok()) << truth.status();
      for (const sim::ValidatorEpochTruth& t : truth->validators) {
        if (t.validator_index == kDoppel || !t.active) continue;
        if (t.attested || t.validator_index == kLossy) {
          att_rows.push_back(
              absl::StrCat("(", t.validator_index + 1, ",", e ? e - 1 : 0, ",", e, ")"));
        }
      }
      for (const sim::SlotTruth& s : truth->slots) {
        if (s.outcome == sim::SlotOutcome::kMissed || s.proposer_index == kDoppel ||
            s.proposer_index >= kValidators) {
          continue;
        }
        block_rows.push_back(absl::StrCat("(", s.proposer_index + 1, ",", s.slot, ")"));
      }
      truths_.push_back(*std::move(truth));
    }
    absl::StrAppend(&sql,
                    "INSERT INTO signed_attestations (validator_id, source_epoch, target_epoch) "
                    "VALUES ",
                    absl::StrJoin(att_rows, ","), ";\n");
    absl::StrAppend(&sql, "INSERT INTO signed_blocks (validator_id, slot) VALUES ",
                    absl::StrJoin(block_rows, ","), ";\n");
    absl::StrAppend(&sql, "CREATE ROLE monitor LOGIN PASSWORD '", kPassword, "';\n",
                    "GRANT pg_monitor TO monitor;\n",
                    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO monitor;\nANALYZE;\n");
    auto r = pg_->Psql("web3signer", sql);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  std::map<std::string, double> Scrape() {
    auto r = HttpGet("127.0.0.1", sw_port_, "/metrics");
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, 200);
    last_body_ = r->body;
    return ParseMetricsText(r->body);
  }

  // Polls /metrics until `pred` holds (or the timeout), returning the last scrape.
  template <typename Pred>
  std::map<std::string, double> WaitFor(Pred pred, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    std::map<std::string, double> m;
    while (absl::Now() < deadline) {
      m = Scrape();
      if (pred(m)) return m;
      absl::SleepFor(absl::Milliseconds(100));
    }
    return m;
  }

  // Two scrapes 300 ms apart whose reconciliation series agree (no update in between).
  std::map<std::string, double> StableScrape() {
    auto key_series = [](const std::map<std::string, double>& m) {
      std::map<std::string, double> k;
      for (const auto& [name, v] : m) {
        if (absl::StrContains(name, "key_safety") || absl::StrContains(name, "reconciled")) {
          k[name] = v;
        }
      }
      return k;
    };
    std::map<std::string, double> a = Scrape();
    for (int i = 0; i < 50; ++i) {
      absl::SleepFor(absl::Milliseconds(300));
      std::map<std::string, double> b = Scrape();
      if (key_series(a) == key_series(b)) return b;
      a = std::move(b);
    }
    ADD_FAILURE() << "reconciliation series never settled";
    return a;
  }

  const std::string& DbTarget() { return db_target_ = dir_ + "/db.dsn"; }

  std::string dir_;
  std::vector<std::string> sim_args_;
  std::unique_ptr<PostgresServer> pg_;
  std::unique_ptr<sim::ChainSimulator> model_;
  std::vector<sim::EpochGroundTruth> truths_;
  std::unique_ptr<Subprocess> sim_;
  std::unique_ptr<Subprocess> sw_;
  FakeWeb3Signer w3s_;
  FakeValidatorClient vc_;
  int sim_port_ = 0;
  int sw_port_ = 0;
  uint64_t spe_ = 32;
  std::string last_body_;
  std::string db_target_;
};

TEST_F(SigningPathE2E, ReconciliationFlagsOnlyTheDoppelgangerAndSurvivesADatabaseOutage) {
  const std::string up_db =
      absl::StrCat("stakewatch_source_up{source=\"slashing_db\",target=\"", DbTarget(), "\"}");
  const std::string reconciled = "eth_slashing_db_reconciled_epoch";
  // A few epochs reconciled with the database up.
  auto m = WaitFor(
      [&](auto& m) {
        return m[up_db] == 1 && m.count(reconciled) && m[reconciled] >= 0 &&
               m["eth_validator_group_key_safety_checked_total{group=\"doppel\",kind="
                 "\"attestation\"}"] >= 3;
      },
      absl::Seconds(120));
  ASSERT_EQ(m[up_db], 1) << sw_->Stderr();
  ASSERT_GE(
      m["eth_validator_group_key_safety_checked_total{group=\"doppel\",kind=\"attestation\"}"], 3)
      << sw_->Stderr();

  // Outage: down within one poll (1 s) plus a scrape, while epochs keep being counted.
  const double epochs_before = m["stakewatch_epochs_processed_total"];
  ASSERT_TRUE(pg_->Stop().ok());
  const absl::Time stopped = absl::Now();
  m = WaitFor([&](auto& m) { return m[up_db] == 0; }, absl::Seconds(10));
  EXPECT_EQ(m[up_db], 0);
  EXPECT_LE(absl::Now() - stopped, absl::Seconds(3)) << "not reported down within one poll";
  EXPECT_GE(m[absl::StrCat("stakewatch_source_errors_total{source=\"slashing_db\",target=\"",
                           DbTarget(), "\",reason=\"connect\"}")],
            1);
  m = WaitFor([&](auto& m) { return m["stakewatch_epochs_processed_total"] >= epochs_before + 2; },
              absl::Seconds(30));
  EXPECT_GE(m["stakewatch_epochs_processed_total"], epochs_before + 2)
      << "epoch accounting stalled while the database was down";
  ASSERT_TRUE(pg_->Restart().ok());
  m = WaitFor([&](auto& m) { return m[up_db] == 1; }, absl::Seconds(15));
  EXPECT_EQ(m[up_db], 1) << "did not recover without a restart";
  EXPECT_TRUE(sw_->Running());
  // Let reconciliation catch up on the epochs counted during the outage.
  const double counted = m["stakewatch_epochs_processed_total"];
  m = WaitFor(
      [&](auto& m) {
        return m["eth_validator_group_key_safety_checked_total{group=\"doppel\",kind="
                 "\"attestation\"}"] >= counted + 1;
      },
      absl::Seconds(60));
  m = StableScrape();

  // The reconciled range [first, last]: kDoppel is active with one duty every epoch, so its
  // checked count is the number of epochs reconciled; none may have been skipped.
  EXPECT_EQ(m["eth_slashing_db_reconciliations_skipped_total"], 0);
  const uint64_t last = static_cast<uint64_t>(m[reconciled]);
  const uint64_t n = static_cast<uint64_t>(
      m["eth_validator_group_key_safety_checked_total{group=\"doppel\",kind=\"attestation\"}"]);
  ASSERT_GE(last + 1, n);
  const uint64_t first = last + 1 - n;
  ASSERT_LT(last, kPrefillEpochs);

  // Expected values from the simulator's decisions.
  std::map<std::string, uint64_t> checked, elsewhere, not_included, block_checked, block_elsewhere;
  std::map<uint64_t, uint64_t> flagged;
  std::map<std::string, uint64_t> live_unrecorded_max;
  for (uint64_t e = first; e <= last; ++e) {
    for (const sim::ValidatorEpochTruth& t : truths_[e].validators) {
      if (!t.active || t.validator_index >= 60) continue;
      const std::string g = GroupOf(t.validator_index);
      ++checked[g];
      const bool recorded =
          t.validator_index != kDoppel && (t.attested || t.validator_index == kLossy);
      if (t.included && !recorded) {
        ++elsewhere[g];
        ++flagged[t.validator_index];
      }
      if (!t.included && recorded) ++not_included[g];
      bool proposed = false;
      for (const sim::SlotTruth& s : truths_[e].slots) {
        proposed |= s.outcome != sim::SlotOutcome::kMissed && s.proposer_index == t.validator_index;
      }
      if (t.attested && !t.included && !recorded && !proposed) ++live_unrecorded_max[g];
    }
    for (const sim::SlotTruth& s : truths_[e].slots) {
      if (s.outcome == sim::SlotOutcome::kMissed || s.proposer_index >= 60) continue;
      const std::string g = GroupOf(s.proposer_index);
      ++block_checked[g];
      if (s.proposer_index == kDoppel) {
        ++block_elsewhere[g];
        ++flagged[s.proposer_index];
      }
    }
  }
  EXPECT_GT(elsewhere["doppel"], 0u);
  EXPECT_GT(not_included["lossy"], 0u) << "the seed gives kLossy no unincluded vote";
  for (const std::string g : {"main", "doppel", "lossy"}) {
    const std::string att = absl::StrCat("{group=\"", g, "\",kind=\"attestation\"}");
    const std::string blk = absl::StrCat("{group=\"", g, "\",kind=\"block\"}");
    EXPECT_EQ(m["eth_validator_group_key_safety_checked_total" + att], checked[g]) << g;
    EXPECT_EQ(m["eth_validator_group_key_safety_signed_elsewhere_total" + att], elsewhere[g]) << g;
    EXPECT_EQ(m["eth_validator_group_key_safety_unknown_total" + att], 0) << g;
    // Live without a row: only kDoppel can be (when liveness was read for the epoch); at most
    // its votes that were made but not included, in epochs where it proposed nothing.
    EXPECT_LE(
        m[absl::StrCat("eth_validator_group_key_safety_live_unrecorded_total{group=\"", g, "\"}")],
        live_unrecorded_max[g])
        << g;
    EXPECT_EQ(
        m[absl::StrCat("eth_validator_group_key_safety_not_included_total{group=\"", g, "\"}")],
        not_included[g])
        << g;
    EXPECT_EQ(m["eth_validator_group_key_safety_checked_total" + blk], block_checked[g]) << g;
    EXPECT_EQ(m["eth_validator_group_key_safety_signed_elsewhere_total" + blk], block_elsewhere[g])
        << g;
  }
  // Per validator: kDoppel and nobody else.
  for (const auto& [name, v] : m) {
    if (!absl::StartsWith(name, "eth_validator_key_safety_signed_elsewhere_total{")) continue;
    const uint64_t idx = std::stoull(LogField(
        absl::StrReplaceAll(name, {{"{", " "}, {"\"", ""}, {"}", ""}}), "validator_index"));
    EXPECT_EQ(v, static_cast<double>(flagged[idx])) << name;
    if (v > 0) {
      EXPECT_EQ(idx, kDoppel) << name;
    }
  }
  EXPECT_EQ(m[absl::StrCat("eth_validator_key_safety_signed_elsewhere_total{validator_index=\"",
                           kDoppel, "\"}")],
            static_cast<double>(flagged[kDoppel]));
  EXPECT_TRUE(absl::StrContains(sw_->Stderr() + sw_->Stdout(), "doppelganger"));

  // Signing freshness: every active registered validator signed the current epoch's votes in the
  // database (rows were written ahead), except kDoppel, which is stalled (never signed).
  EXPECT_EQ(m["eth_validator_group_signing_stalled_validators{group=\"doppel\"}"], 1);
  EXPECT_EQ(m["eth_validator_group_slashing_db_unregistered_validators{group=\"main\"}"], 0);
  EXPECT_EQ(m["eth_slashing_db_schema_version"], 12);
  EXPECT_EQ(m["eth_slashing_db_validators{enabled=\"true\"}"], kValidators);
  // The password never reaches a log line.
  EXPECT_FALSE(absl::StrContains(sw_->Stderr() + sw_->Stdout(), kPassword));
}

TEST_F(SigningPathE2E, Web3SignerValidatorClientAndScrapeTarget) {
  const std::string up_w3s = absl::StrCat(
      "stakewatch_source_up{source=\"web3signer\",target=\"http://127.0.0.1:", w3s_.port(), "\"}");
  auto m = WaitFor(
      [&](auto& m) {
        return m[up_w3s] == 1 && m.count("eth_validator_group_keys_not_loaded{group=\"main\"}") &&
               m["eth_validator_group_keys_not_loaded{group=\"main\"}"] == 1;
      },
      absl::Seconds(60));
  ASSERT_EQ(m[up_w3s], 1) << sw_->Stderr();
  // Keys: all 64 simulator keys but one, plus one unmonitored (index 1000 is not in the chain's
  // 64, and indices 60-63 are in the chain but in no group).
  EXPECT_EQ(m["eth_web3signer_keys_loaded"], kValidators);
  EXPECT_EQ(m["eth_validator_group_keys_not_loaded{group=\"main\"}"], 1);  // kUnloaded
  EXPECT_EQ(m["eth_validator_group_keys_not_loaded{group=\"doppel\"}"], 0);
  EXPECT_EQ(m["eth_web3signer_keys_unmonitored"], 1 + 4);
  EXPECT_EQ(m["eth_web3signer_upcheck"], 1);
  // Health checks and metrics: the values in the recorded-shape bodies.
  const std::map<std::string, double> w3s_metrics =
      ParseMetricsText(ReadTestdata("web3signer.metrics"));
  EXPECT_EQ(m["eth_web3signer_healthcheck_status{check=\"\"}"], 1);
  EXPECT_EQ(m["eth_web3signer_healthcheck_status{check=\"slashing-protection-db-health-check\"}"],
            1);
  EXPECT_EQ(m["eth_web3signer_slashing_protection_prevented_total"],
            w3s_metrics.at("eth2_slashingprotection_prevented_signings_total"));
  EXPECT_EQ(m["eth_web3signer_signings_total"],
            w3s_metrics.at("signing_bls_signing_duration_count"));

  // Validator client: the common set from Lighthouse's names.
  const std::map<std::string, double> vc = ParseMetricsText(ReadTestdata("lighthouse.metrics"));
  EXPECT_EQ(m["eth_validator_client_validators_enabled{target=\"vc1\"}"],
            vc.at("vc_validators_enabled_count"));
  EXPECT_EQ(m["eth_validator_client_beacon_nodes_synced{target=\"vc1\"}"],
            vc.at("vc_beacon_nodes_synced_count"));
  EXPECT_EQ(m["eth_validator_client_slashable_signings_refused_total{target=\"vc1\"}"],
            vc.at("vc_signed_attestations_total{status=\"slashable\"}") +
                vc.at("vc_signed_beacon_blocks_total{status=\"slashable\"}"));
  EXPECT_EQ(m["eth_validator_client_info{target=\"vc1\",client=\"lighthouse\"}"], 1);
  EXPECT_EQ(m["stakewatch_source_up{source=\"validator_client\",target=\"vc1\"}"], 1);
  // The scrape target is healthy, and its series are not re-exported.
  m = WaitFor(
      [&](auto& m) {
        return m[absl::StrCat("stakewatch_source_up{source=\"scrape\",target=\"vc/127.0.0.1:",
                              vc_.port(), "\"}")] == 1;
      },
      absl::Seconds(20));
  EXPECT_EQ(m[absl::StrCat("stakewatch_source_up{source=\"scrape\",target=\"vc/127.0.0.1:",
                           vc_.port(), "\"}")],
            1);
  EXPECT_FALSE(absl::StrContains(last_body_, "vc_validators_enabled_count"));

  // The beacon node's own facts, against the simulator's settings.
  auto sim_options = sim::ParseSimFlags(sim_args_);
  ASSERT_TRUE(sim_options.ok());
  const std::string node = absl::StrCat("http://127.0.0.1:", sim_port_);
  m = WaitFor(
      [&](auto& m) {
        return m[absl::StrCat("stakewatch_source_up{source=\"beacon_node\",target=\"", node,
                              "\"}")] == 1;
      },
      absl::Seconds(20));
  EXPECT_EQ(m[absl::StrCat("eth_beacon_node_peers{node=\"", node, "\"}")],
            static_cast<double>(sim_options->peers));
  EXPECT_EQ(m[absl::StrCat("eth_beacon_node_version_info{node=\"", node, "\",version=\"",
                           sim::SimNodeVersion(*sim_options), "\"}")],
            1);
  EXPECT_EQ(m[absl::StrCat("eth_beacon_node_optimistic{node=\"", node, "\"}")], 0);
  EXPECT_TRUE(m.count(absl::StrCat("eth_beacon_node_finalized_epoch{node=\"", node, "\"}")));

  // Malformed answers: down with reason "decode", the last good values kept, daemon running.
  w3s_.SetBroken(true);
  m = WaitFor([&](auto& m) { return m[up_w3s] == 0; }, absl::Seconds(10));
  EXPECT_EQ(m[up_w3s], 0);
  EXPECT_GE(m[absl::StrCat("stakewatch_source_errors_total{source=\"web3signer\",target=\"http://"
                           "127.0.0.1:",
                           w3s_.port(), "\",reason=\"decode\"}")],
            1);
  EXPECT_EQ(m["eth_web3signer_keys_loaded"], kValidators);
  w3s_.SetBroken(false);
  m = WaitFor([&](auto& m) { return m[up_w3s] == 1; }, absl::Seconds(10));
  EXPECT_EQ(m[up_w3s], 1);
  EXPECT_TRUE(sw_->Running());

  // The beacon node gone: its source is down (connect), the other sources stay up.
  sim_->Stop();
  const std::string up_node =
      absl::StrCat("stakewatch_source_up{source=\"beacon_node\",target=\"", node, "\"}");
  m = WaitFor([&](auto& m) { return m[up_node] == 0; }, absl::Seconds(10));
  EXPECT_EQ(m[up_node], 0);
  // The reason depends on how the connection died (refused, reset on a kept-alive one, ...).
  double node_errors = 0;
  for (const auto& [name, v] : m) {
    if (absl::StartsWith(name, absl::StrCat("stakewatch_source_errors_total{source=\"beacon_node\","
                                            "target=\"",
                                            node, "\""))) {
      node_errors += v;
    }
  }
  EXPECT_GE(node_errors, 1);
  EXPECT_EQ(m[up_w3s], 1);
  EXPECT_EQ(m["stakewatch_source_up{source=\"validator_client\",target=\"vc1\"}"], 1);
}

TEST_F(SigningPathE2E, AutoDiscoveryMonitorsEveryKeyWeb3SignerHolds) {
  // Same stack, stakewatch restarted with web3signer.auto_discover: the keys Web3Signer holds
  // that no group lists (simulator validators 60-63, and index 1000's key, which is not on chain)
  // join the discovery group "web3signer".
  sw_->Stop();
  auto config = testing::ReadFile(dir_ + "/stakewatch.yml");
  ASSERT_TRUE(config.ok());
  const std::string marker = "  timeout: 2s\nvalidator_clients:";
  const size_t at = config->find(marker);
  ASSERT_NE(at, std::string::npos);
  config->insert(at + std::string("  timeout: 2s\n").size(),
                 "  auto_discover: true\n  discover_labels: {source: web3signer}\n");
  ASSERT_TRUE(testing::WriteFile(dir_ + "/stakewatch.yml", *config).ok());
  StartStakewatch("stakewatch2");
  if (HasFatalFailure()) return;

  auto m = WaitFor([&](auto& m) { return m["stakewatch_monitored_validators"] == kValidators; },
                   absl::Seconds(60));
  EXPECT_EQ(m["stakewatch_monitored_validators"], kValidators) << sw_->Stderr();
  // Discovered validators are accounted in their group like any other.
  m = WaitFor(
      [&](auto& m) {
        return m["eth_validator_group_attestation_duties_total{group=\"web3signer\",source="
                 "\"web3signer\"}"] >= 4;
      },
      absl::Seconds(60));
  EXPECT_GE(
      m["eth_validator_group_attestation_duties_total{group=\"web3signer\",source=\"web3signer\"}"],
      4);
  // Nothing Web3Signer holds is unmonitored any more (index 1000's key waits to be deposited),
  // and validators configured by index keep their groups.
  m = WaitFor([&](auto& m) { return m["eth_web3signer_keys_unmonitored"] == 0; },
              absl::Seconds(30));
  EXPECT_EQ(m["eth_web3signer_keys_unmonitored"], 0);
  EXPECT_EQ(m["eth_validator_group_keys_not_loaded{group=\"main\"}"], 1);
  EXPECT_TRUE(absl::StrContains(sw_->Stderr(), "monitoring keys discovered in Web3Signer"));
}

}  // namespace
}  // namespace stakewatch
