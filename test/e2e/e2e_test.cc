// End-to-end: `stakewatch simulate` (a child process) -> `stakewatch run` (a child process) ->
// /metrics over HTTP -> the numbers must equal the simulator's ground truth. Then the same stack
// scraped by a real Prometheus 2.42, and the exposition checked by promtool.
//
// The ground truth comes from the simulator's own decisions (sim::ChainSimulator::GroundTruth,
// built in this test from the same options as the child), never from stakewatch's decoders or
// accounting.
#include <signal.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "sim/options.h"
#include "sim/simulator.h"
#include "support/process.h"

namespace stakewatch {
namespace {

using testing::FreePort;
using testing::HttpGet;
using testing::LogField;
using testing::MakeTempDir;
using testing::ParseMetricsText;
using testing::StakewatchBinary;
using testing::Subprocess;

constexpr uint64_t kValidators = 1000;
constexpr int kSlotMs = 50;
// The simulator's default fee recipient (configured for group "solo" only).
constexpr char kFeeRecipient[] = "0x00000000000000000000000000000000000fee01";

class Stack : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("stakewatch-e2e");
    const int64_t genesis = absl::ToUnixSeconds(absl::Now()) - 12;
    sim_args_ = {"--listen-address=127.0.0.1",
                 "--port=0",
                 absl::StrCat("--validators=", kValidators),
                 absl::StrCat("--slot-time=", kSlotMs / 1000.0),
                 "--seed=20261129",
                 absl::StrCat("--genesis-time=", genesis),
                 "--missed-slot-rate=0.1",
                 "--missed-attestation-rate=0.05",
                 "--late-attestation-rate=0.1",
                 "--wrong-head-rate=0.05",
                 "--duplicate-inclusion-rate=0.1",
                 "--orphan-rate=0.05",
                 "--reorg-slots=4",
                 "--exited-rate=0.03",
                 "--slashed-rate=0.02",
                 "--sync-miss-rate=0.1",
                 "--wrong-fee-recipient-rate=0.2"};
    std::vector<std::string> argv = {StakewatchBinary(), "simulate"};
    argv.insert(argv.end(), sim_args_.begin(), sim_args_.end());
    auto sim = Subprocess::Start(argv, dir_ + "/sim");
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    auto line = sim_->WaitForOutput("simulator listening", absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    sim_port_ = std::stoi(LogField(*line, "port"));

    // Two groups with different labels; every validator monitored, per-validator series on.
    const std::string config = absl::StrCat("storage:\n  path: ", dir_, "/state\n",
                                            "beacon:\n"
                                            "  nodes: [\"http://127.0.0.1:",
                                            sim_port_, "\"]\n",
                                            "  poll_interval: 50ms\n"
                                            "validators:\n"
                                            "  per_validator_metrics: true\n"
                                            "  groups:\n"
                                            "    - name: solo\n"
                                            "      labels: {operator: me}\n"
                                            "      indices: [\"0-299\"]\n"
                                            "      fee_recipient: \"",
                                            kFeeRecipient,
                                            "\"\n"
                                            "    - name: pool\n"
                                            "      labels: {operator: acme, client: lighthouse}\n"
                                            "      indices: [\"300-999\"]\n");
    ASSERT_TRUE(testing::WriteFile(dir_ + "/stakewatch.yml", config).ok());
    StartStakewatch("stakewatch", "info");
  }

  // Starts `stakewatch run` on the fixture's configuration; its logs go to dir_/<name>.*.
  void StartStakewatch(const std::string& name, const std::string& log_level) {
    auto sw = Subprocess::Start(
        {StakewatchBinary(), "run", absl::StrCat("--config.file=", dir_, "/stakewatch.yml"),
         "--web.listen-address=127.0.0.1:0", absl::StrCat("--log.level=", log_level)},
        dir_ + "/" + name);
    ASSERT_TRUE(sw.ok()) << sw.status();
    sw_ = std::move(*sw);
    auto listen = sw_->WaitForOutput("msg=listening", absl::Seconds(30));
    ASSERT_TRUE(listen.ok()) << listen.status();
    const std::string address = LogField(*listen, "address");
    sw_port_ = std::stoi(address.substr(address.rfind(':') + 1));
  }

  std::map<std::string, double> Scrape() {
    auto r = HttpGet("127.0.0.1", sw_port_, "/metrics");
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return {};
    EXPECT_EQ(r->status, 200);
    return ParseMetricsText(r->body);
  }

  // Waits until stakewatch has processed `n` epochs, then stops the simulator so that nothing
  // changes any more, and returns a scrape taken once two consecutive scrapes agree.
  std::map<std::string, double> ProcessEpochsThenFreeze(int n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (absl::Now() < deadline) {
      auto m = Scrape();
      if (m["stakewatch_epochs_processed_total"] >= n) break;
      absl::SleepFor(absl::Milliseconds(100));
    }
    sim_->Stop(SIGTERM);
    std::map<std::string, double> prev = Scrape();
    while (absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(500));
      std::map<std::string, double> cur = Scrape();
      if (cur["stakewatch_epochs_processed_total"] == prev["stakewatch_epochs_processed_total"] &&
          cur["eth_validator_group_attestation_duties_total{group=\"solo\",client=\"\","
              "operator=\"me\"}"] ==
              prev["eth_validator_group_attestation_duties_total{group=\"solo\",client=\"\","
                   "operator=\"me\"}"]) {
        return cur;
      }
      prev = cur;
    }
    ADD_FAILURE() << "stakewatch never settled";
    return prev;
  }

  // Every counter in `m` must equal the simulator's ground truth summed over epochs
  // [first_epoch, last_epoch].
  // With `rare_faults`, also require that the rarer faults (orphans, wrong fee recipients,
  // exits, withdrawals, missed sync signatures) occurred in the range, so the comparison covers
  // them; only the longest run asserts it, shorter ranges may by chance have none.
  void CheckAgainstGroundTruth(std::map<std::string, double>& m, uint64_t first_epoch,
                               uint64_t last_epoch, bool rare_faults = false) {
    // Ground truth from the simulator model built with the child's options.
    auto options = sim::ParseSimFlags(sim_args_);
    ASSERT_TRUE(options.ok()) << options.status();
    FakeClock clock(absl::Now() + absl::Hours(1));  // far enough that every epoch is complete
    auto model = sim::ChainSimulator::Create(*options, &clock);
    ASSERT_TRUE(model.ok()) << model.status();

    auto group_of = [](uint64_t v) { return v < 300 ? std::string("solo") : std::string("pool"); };
    std::map<std::string, double> duties, included, missed, delay_sum, proposed, missed_blocks;
    std::map<std::string, double> head_ok, timely_head, timely_source, effectiveness;
    std::map<std::string, std::map<int, double>> delay_le;  // group -> le -> cumulative count
    std::map<uint64_t, double> v_included, v_missed, v_delay;
    const int buckets[] = {1, 2, 3, 4, 5, 8, 16, 32, 64};
    uint64_t wrong_head = 0, late = 0, dup = 0, empty = 0, inactive = 0, orphans = 0;
    uint64_t slashed_active = 0;
    std::map<std::string, double> orphaned, wrong_fee, proposer_rewards, withdrawals, income_up,
        income_down, sync_up, sync_down, sync_duties, sync_participated, sync_missed, balance_now;
    std::map<std::string, std::map<int, double>> att_up, att_down;
    std::map<std::string, std::map<std::string, double>> statuses, slashings;
    for (uint64_t e = first_epoch; e <= last_epoch; ++e) {
      auto truth = (*model)->GroundTruth(e);
      ASSERT_TRUE(truth.ok()) << truth.status();
      ASSERT_EQ(truth->validators.size(), kValidators);
      for (const auto& t : truth->validators) {
        const std::string g = group_of(t.validator_index);
        // Income: balance change over the epoch's slots with its withdrawals added back,
        // deposits (>= 1 ETH) and outgoing consolidations (<= -1 ETH, unslashed) set aside. The
        // simulator has neither, so every change is income.
        const uint64_t v = t.validator_index;
        const uint64_t last_slot = (e + 1) * 32 - 1;
        int64_t change = static_cast<int64_t>((*model)->BalanceAt(v, last_slot)) -
                         static_cast<int64_t>((*model)->BalanceAt(v, last_slot - 32));
        for (const auto& [slot, w] : truth->withdrawals) {
          if (w.validator_index == v) {
            change += static_cast<int64_t>(w.amount);
            withdrawals[g] += static_cast<double>(w.amount);
          }
        }
        EXPECT_LT(std::abs(change), 1'000'000'000) << v;
        (change > 0 ? income_up : income_down)[g] += static_cast<double>(std::abs(change));
        proposer_rewards[g] += static_cast<double>(t.proposer_reward);
        (t.sync_reward > 0 ? sync_up : sync_down)[g] +=
            static_cast<double>(std::abs(t.sync_reward));
        sync_duties[g] += static_cast<double>(t.sync_slots);
        sync_participated[g] += static_cast<double>(t.sync_participated);
        sync_missed[g] += static_cast<double>(t.sync_missed);
        if (e == last_epoch) {
          statuses[g][std::string(t.status)] += 1;
          balance_now[g] += static_cast<double>((*model)->BalanceAt(v, last_slot));
        }
        if (!t.active) {
          ++inactive;
          continue;  // no duty: never missed
        }
        const int64_t parts[4] = {t.reward.head, t.reward.target, t.reward.source,
                                  t.reward.inactivity};
        for (int k = 0; k < 4; ++k) {
          (parts[k] > 0 ? att_up : att_down)[g][k] += static_cast<double>(std::abs(parts[k]));
        }
        if (t.status == "active_slashed") {
          ++slashed_active;
          continue;  // slashed: no duty counted, never missed (its rewards still count above)
        }
        duties[g] += 1;
        // Optimal delay: the first later slot with a block (the simulator's own record of it).
        uint64_t optimal = 1;
        while (!(*model)->HasBlock(t.duty_slot + optimal)) ++optimal;
        if (t.included) {
          const uint64_t d = t.inclusion_slot - t.duty_slot;
          included[g] += 1;
          head_ok[g] += !t.wrong_head;
          timely_head[g] += !t.wrong_head && d == 1;
          timely_source[g] += d <= 5;
          effectiveness[g] += static_cast<double>(optimal) / static_cast<double>(d);
          delay_sum[g] += static_cast<double>(d);
          for (int b : buckets) {
            if (d <= static_cast<uint64_t>(b)) delay_le[g][b] += 1;
          }
          v_included[t.validator_index] += 1;
          v_delay[t.validator_index] += static_cast<double>(d);
          if (d > 1) ++late;
        } else {
          missed[g] += 1;
          v_missed[t.validator_index] += 1;
        }
        wrong_head += t.wrong_head;
        dup += t.duplicate_slot.has_value();
      }
      for (const auto& s : truth->slots) {
        if (!s.proposed) ++empty;
        for (const auto& op : s.slashings) {
          slashings[group_of(op.validator_index)]
                   [op.kind == sim::SlashingKind::kProposer ? "proposer" : "attester"] += 1;
        }
        if (s.proposer_index >= kValidators) continue;
        const std::string g = group_of(s.proposer_index);
        switch (s.outcome) {
          case sim::SlotOutcome::kProposed:
            proposed[g] += 1;
            if (g == "solo" && s.fee_recipient.has_value() &&
                absl::StrCat("0x", absl::BytesToHexString(absl::string_view(
                                       reinterpret_cast<const char*>(s.fee_recipient->data()),
                                       20))) != kFeeRecipient) {
              wrong_fee[g] += 1;
            }
            break;
          case sim::SlotOutcome::kMissed:
            missed_blocks[g] += 1;
            break;
          case sim::SlotOutcome::kOrphaned:
            orphaned[g] += 1;
            ++orphans;
            break;
        }
      }
    }
    // The faults were really exercised, so the comparison below means something.
    EXPECT_GT(late, 0u);
    EXPECT_GT(dup, 0u);
    EXPECT_GT(empty, 0u);
    EXPECT_GT(wrong_head, 0u);
    EXPECT_GT(missed["solo"] + missed["pool"], 0);
    if (rare_faults) {  // a few per epoch: only asserted over the long run
      EXPECT_GT(inactive, 0u);
      EXPECT_GT(orphans, 0u);
      EXPECT_GT(wrong_fee["solo"], 0);
      EXPECT_GT(withdrawals["solo"] + withdrawals["pool"], 0);
      EXPECT_GT(sync_missed["solo"] + sync_missed["pool"], 0);
    }

    const std::map<std::string, std::string> labels = {
        {"solo", "group=\"solo\",client=\"\",operator=\"me\""},
        {"pool", "group=\"pool\",client=\"lighthouse\",operator=\"acme\""}};
    for (const auto& [g, l] : labels) {
      SCOPED_TRACE(g);
      EXPECT_EQ(m["eth_validator_group_attestation_duties_total{" + l + "}"], duties[g]);
      EXPECT_EQ(m["eth_validator_group_attestations_included_total{" + l + "}"], included[g]);
      EXPECT_EQ(m["eth_validator_group_attestations_missed_total{" + l + "}"], missed[g]);
      EXPECT_EQ(m["eth_validator_group_attestation_inclusion_delay_slots_sum{" + l + "}"],
                delay_sum[g]);
      EXPECT_EQ(m["eth_validator_group_attestation_inclusion_delay_slots_count{" + l + "}"],
                included[g]);
      for (int b : buckets) {
        EXPECT_EQ(m[absl::StrCat("eth_validator_group_attestation_inclusion_delay_slots_bucket{", l,
                                 ",le=\"", b, "\"}")],
                  delay_le[g][b])
            << "le=" << b;
      }
      // The simulator's votes always carry the canonical target (and an included vote's source is
      // the justified checkpoint), so target and source are correct exactly when included.
      EXPECT_EQ(m["eth_validator_group_attestation_votes_correct_total{" + l + ",vote=\"head\"}"],
                head_ok[g]);
      EXPECT_EQ(m["eth_validator_group_attestation_votes_correct_total{" + l + ",vote=\"target\"}"],
                included[g]);
      EXPECT_EQ(m["eth_validator_group_attestation_votes_correct_total{" + l + ",vote=\"source\"}"],
                included[g]);
      EXPECT_EQ(m["eth_validator_group_attestation_timely_total{" + l + ",flag=\"head\"}"],
                timely_head[g]);
      EXPECT_EQ(m["eth_validator_group_attestation_timely_total{" + l + ",flag=\"target\"}"],
                included[g]);
      EXPECT_EQ(m["eth_validator_group_attestation_timely_total{" + l + ",flag=\"source\"}"],
                timely_source[g]);
      EXPECT_NEAR(m["eth_validator_group_attestation_effectiveness_total{" + l + "}"],
                  effectiveness[g], 1e-6);
      EXPECT_EQ(m["eth_validator_group_proposals_total{" + l + ",outcome=\"proposed\"}"],
                proposed[g]);
      EXPECT_EQ(m["eth_validator_group_proposals_total{" + l + ",outcome=\"missed\"}"],
                missed_blocks[g]);
      EXPECT_EQ(m["eth_validator_group_proposals_total{" + l + ",outcome=\"orphaned\"}"],
                orphaned[g]);
      EXPECT_EQ(m["eth_validator_group_wrong_fee_recipient_total{" + l + "}"], wrong_fee[g]);
      EXPECT_EQ(m["eth_validator_group_proposer_rewards_gwei_total{" + l + "}"],
                proposer_rewards[g]);
      EXPECT_EQ(m["eth_validator_group_withdrawals_gwei_total{" + l + "}"], withdrawals[g]);
      EXPECT_EQ(m["eth_validator_group_consensus_rewards_gwei_total{" + l + "}"], income_up[g]);
      EXPECT_EQ(m["eth_validator_group_consensus_penalties_gwei_total{" + l + "}"], income_down[g]);
      EXPECT_EQ(m["eth_validator_group_deposits_gwei_total{" + l + "}"], 0);
      EXPECT_EQ(m["eth_validator_group_balance_gwei{" + l + "}"], balance_now[g]);
      const char* components[4] = {"head", "target", "source", "inactivity"};
      for (int k = 0; k < 4; ++k) {
        const std::string c = absl::StrCat(",component=\"", components[k], "\"}");
        EXPECT_EQ(m["eth_validator_group_attestation_rewards_gwei_total{" + l + c], att_up[g][k])
            << components[k];
        EXPECT_EQ(m["eth_validator_group_attestation_penalties_gwei_total{" + l + c],
                  att_down[g][k])
            << components[k];
      }
      EXPECT_EQ(m["eth_validator_group_sync_committee_duties_total{" + l + "}"], sync_duties[g]);
      EXPECT_EQ(m["eth_validator_group_sync_committee_participated_total{" + l + "}"],
                sync_participated[g]);
      EXPECT_EQ(m["eth_validator_group_sync_committee_missed_total{" + l + "}"], sync_missed[g]);
      EXPECT_EQ(m["eth_validator_group_sync_committee_rewards_gwei_total{" + l + "}"], sync_up[g]);
      EXPECT_EQ(m["eth_validator_group_sync_committee_penalties_gwei_total{" + l + "}"],
                sync_down[g]);
      for (const char* kind : {"attester", "proposer"}) {
        EXPECT_EQ(
            m[absl::StrCat("eth_validator_group_slashings_total{", l, ",kind=\"", kind, "\"}")],
            slashings[g][kind])
            << kind;
      }
      for (const auto& [status, count] : statuses[g]) {
        EXPECT_EQ(
            m[absl::StrCat("eth_validator_group_validators{", l, ",status=\"", status, "\"}")],
            count)
            << status;
      }
    }
    for (uint64_t v = 0; v < kValidators; ++v) {
      const std::string l =
          absl::StrCat("{group=\"", group_of(v), "\",validator_index=\"", v, "\"}");
      ASSERT_EQ(m["eth_validator_attestations_included_total" + l], v_included[v]) << v;
      ASSERT_EQ(m["eth_validator_attestations_missed_total" + l], v_missed[v]) << v;
      ASSERT_EQ(m["eth_validator_attestation_inclusion_delay_slots_total" + l], v_delay[v]) << v;
    }
    EXPECT_EQ(m["stakewatch_monitored_validators"], kValidators);
  }

  std::string dir_;
  std::vector<std::string> sim_args_;
  std::unique_ptr<Subprocess> sim_;
  std::unique_ptr<Subprocess> sw_;
  int sim_port_ = 0;
  int sw_port_ = 0;
};

struct Expected {
  std::map<std::string, double> group;      // group -> counts, keyed "<metric>|<group>"
  std::map<std::string, double> validator;  // "<metric>|<index>"
};

TEST_F(Stack, MetricsEqualSimulatorGroundTruth) {
  std::map<std::string, double> m = ProcessEpochsThenFreeze(6);
  const double processed = m["stakewatch_epochs_processed_total"];
  const double last = m["stakewatch_last_processed_epoch"];
  ASSERT_GE(processed, 6) << sw_->Stderr();
  const uint64_t first_epoch = static_cast<uint64_t>(last - processed + 1);
  const uint64_t last_epoch = static_cast<uint64_t>(last);

  CheckAgainstGroundTruth(m, first_epoch, last_epoch, /*rare_faults=*/true);

  // The event stream was followed, reorgs (the simulator orphans ~1 block a second) were noticed
  // and the early signals were published.
  EXPECT_GT(m["stakewatch_events_received_total{topic=\"head\"}"], 0);
  EXPECT_GT(
      m["stakewatch_reorgs_total{via=\"events\"}"] + m["stakewatch_reorgs_total{via=\"polling\"}"],
      0);
  EXPECT_GT(m["stakewatch_finalized_epoch"], last_epoch + 1);
  EXPECT_GT(m["stakewatch_provisional_epoch"], last_epoch);
  double liveness = 0, provisional = 0;
  for (const auto& [key, value] : m) {
    if (absl::StartsWith(key, "eth_validator_group_liveness_validators{")) liveness += value;
    if (absl::StartsWith(key, "eth_validator_group_provisional_attestations{"))
      provisional += value;
  }
  EXPECT_GT(liveness, 0);
  EXPECT_GT(provisional, 0);
}

// Stop stakewatch after a few epochs, leave it down for a while, start it again: the second run
// resumes at the first epoch the first run did not finish (from the progress file), catches up
// on the downtime, and its counters equal the ground truth of exactly those epochs.
TEST_F(Stack, RestartNeitherSkipsNorDoubleCounts) {
  sw_->Stop();
  StartStakewatch("first", "debug");
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (Scrape()["stakewatch_epochs_processed_total"] < 2 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  sw_->Stop(SIGTERM);
  auto progress = testing::ReadFile(dir_ + "/state/progress");
  ASSERT_TRUE(progress.ok()) << progress.status();
  const size_t at = progress->find("next_epoch=");
  ASSERT_NE(at, std::string::npos) << *progress;
  const uint64_t resume = std::stoull(progress->substr(at + 11));
  // The first run's last processed epoch, from its own log, is the one before `resume`.
  const std::string first_log = sw_->Stderr();
  const size_t last = first_log.rfind("msg=\"epoch processed\" epoch=");
  ASSERT_NE(last, std::string::npos) << first_log;
  const uint64_t first_run_last =
      std::stoull(first_log.substr(last + std::string("msg=\"epoch processed\" epoch=").size()));
  EXPECT_EQ(first_run_last + 1, resume);

  absl::SleepFor(absl::Milliseconds(32 * kSlotMs * 3 / 2));  // down for 1.5 epochs
  StartStakewatch("second", "info");
  ASSERT_TRUE(sw_->WaitForOutput("msg=resuming", absl::Seconds(30)).ok()) << sw_->Stderr();
  std::map<std::string, double> m = ProcessEpochsThenFreeze(3);
  const uint64_t processed = static_cast<uint64_t>(m["stakewatch_epochs_processed_total"]);
  const uint64_t last_epoch = static_cast<uint64_t>(m["stakewatch_last_processed_epoch"]);
  ASSERT_GE(processed, 3u);
  EXPECT_EQ(last_epoch - processed + 1, resume) << "the second run did not start at " << resume;
  EXPECT_EQ(m["stakewatch_epochs_skipped_total"], 0);
  CheckAgainstGroundTruth(m, resume, last_epoch);
}

// Down for longer than beacon.max_backfill_epochs: the second run skips the oldest missed epochs,
// counts them as skipped, and accounts exactly the rest.
TEST_F(Stack, BackfillLimitSkipsTheOldestEpochs) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (Scrape()["stakewatch_epochs_processed_total"] < 1 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  sw_->Stop(SIGTERM);
  auto config = testing::ReadFile(dir_ + "/stakewatch.yml");
  ASSERT_TRUE(config.ok());
  const std::string poll = "  poll_interval: 50ms\n";
  ASSERT_NE(config->find(poll), std::string::npos);
  config->replace(config->find(poll), poll.size(), poll + "  max_backfill_epochs: 1\n");
  ASSERT_TRUE(testing::WriteFile(dir_ + "/stakewatch.yml", *config).ok());
  auto progress = testing::ReadFile(dir_ + "/state/progress");
  ASSERT_TRUE(progress.ok()) << progress.status();
  const uint64_t resume = std::stoull(progress->substr(progress->find("next_epoch=") + 11));

  absl::SleepFor(absl::Milliseconds(32 * kSlotMs * 4));  // down for 4 epochs
  StartStakewatch("second", "info");
  std::map<std::string, double> m = ProcessEpochsThenFreeze(2);
  const uint64_t processed = static_cast<uint64_t>(m["stakewatch_epochs_processed_total"]);
  const uint64_t last_epoch = static_cast<uint64_t>(m["stakewatch_last_processed_epoch"]);
  const uint64_t skipped = static_cast<uint64_t>(m["stakewatch_epochs_skipped_total"]);
  const uint64_t first_epoch = last_epoch - processed + 1;
  EXPECT_GE(skipped, 2u);  // 4 epochs down, at most 1 caught up
  EXPECT_EQ(resume + skipped, first_epoch);
  CheckAgainstGroundTruth(m, first_epoch, last_epoch);
}

// Validators configured by pubkey are looked up at the head state and monitored; a key that is
// not (yet) deposited stays pending without harming the rest.
TEST_F(Stack, PubkeysAreResolvedToIndices) {
  sw_->Stop();
  auto hex = [](const sim::Pubkey& key) {
    std::string out = "0x";
    for (uint8_t b : key) out += absl::StrFormat("%02x", b);
    return out;
  };
  std::string keys;
  for (uint64_t v = 0; v < 5; ++v) {
    absl::StrAppend(&keys, "\"", hex(sim::ChainSimulator::ValidatorPubkey(v)), "\", ");
  }
  absl::StrAppend(&keys, "\"", hex(sim::ChainSimulator::ValidatorPubkey(kValidators + 7)), "\"");
  const std::string config = absl::StrCat(
      "storage:\n  path: ", dir_, "/state-keys\n",
      "beacon:\n  nodes: [\"http://127.0.0.1:", sim_port_, "\"]\n  poll_interval: 50ms\n",
      "validators:\n  groups:\n", "    - name: bykey\n      pubkeys: [", keys, "]\n",
      "    - name: rest\n", "      indices: [\"5-", kValidators - 1, "\"]\n");
  ASSERT_TRUE(testing::WriteFile(dir_ + "/stakewatch.yml", config).ok());
  StartStakewatch("keys", "info");
  auto resolved = sw_->WaitForOutput("msg=\"resolved validator pubkeys\"", absl::Seconds(30));
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(LogField(*resolved, "resolved"), "5");
  EXPECT_EQ(LogField(*resolved, "pending"), "1");
  std::map<std::string, double> m = ProcessEpochsThenFreeze(2);
  const double processed = m["stakewatch_epochs_processed_total"];
  ASSERT_GE(processed, 2);
  EXPECT_EQ(m["stakewatch_monitored_validators"], kValidators);
  // Duties from the ground truth: active, unslashed validators of the counted epochs.
  auto options = sim::ParseSimFlags(sim_args_);
  ASSERT_TRUE(options.ok()) << options.status();
  FakeClock clock(absl::Now() + absl::Hours(1));
  auto model = sim::ChainSimulator::Create(*options, &clock);
  ASSERT_TRUE(model.ok()) << model.status();
  const uint64_t last = static_cast<uint64_t>(m["stakewatch_last_processed_epoch"]);
  double bykey = 0, rest = 0;
  for (uint64_t e = last + 1 - static_cast<uint64_t>(processed); e <= last; ++e) {
    auto truth = (*model)->GroundTruth(e);
    ASSERT_TRUE(truth.ok()) << truth.status();
    for (const auto& t : truth->validators) {
      if (!t.active || t.status == "active_slashed" || t.validator_index >= kValidators) continue;
      (t.validator_index < 5 ? bykey : rest) += 1;
    }
  }
  EXPECT_EQ(m["eth_validator_group_attestation_duties_total{group=\"bykey\"}"], bykey);
  EXPECT_EQ(m["eth_validator_group_attestation_duties_total{group=\"rest\"}"], rest);
}

// The execution block number of the canonical block at `slot`, read from the simulator's block
// JSON ("block_number":"N" in the execution payload).
uint64_t BlockNumberOf(const sim::ChainSimulator& model, uint64_t slot) {
  const std::string body = model.Get(absl::StrCat("/eth/v2/beacon/blocks/", slot), {}).Body();
  const std::string key = "\"block_number\":\"";
  const size_t at = body.find(key);
  if (at == std::string::npos) return 0;
  return std::stoull(body.substr(at + key.size()));
}

std::string Hex32(uint64_t n) { return absl::StrFormat("0x%064x", n); }

// A fake execution client and MEV relay. Block N (any N) is, for even N, built locally: the
// coinbase is kFeeRecipient and two transactions tip 21,000 gas x 2 gwei + 50,000 gas x 1 gwei =
// 92,000 gwei; for odd N, built by a builder (coinbase 0xbb..bb) whose last transaction pays
// kFeeRecipient 0.05 ETH, and the relay reports delivering block N (hash Hex32(N)) for its slot
// with a value of 0.05 ETH. Base fee 1 gwei.
class FakeExecutionLayer {
 public:
  explicit FakeExecutionLayer(int sim_port) : sim_port_(sim_port) {
    el_.set_tcp_nodelay(true);
    relay_.set_tcp_nodelay(true);
    el_.Post(".*", [](const httplib::Request& req, httplib::Response& res) {
      auto field = [&](const std::string& key) {
        const size_t at = req.body.find("\"" + key + "\":");
        if (at == std::string::npos) return std::string();
        size_t b = at + key.size() + 3;
        while (b < req.body.size() && (req.body[b] == ' ' || req.body[b] == '[')) ++b;
        size_t e = b;
        while (e < req.body.size() && req.body[e] != ',' && req.body[e] != ']' &&
               req.body[e] != '}')
          ++e;
        return req.body.substr(b, e - b);
      };
      const std::string id = field("id");
      std::string number = field("params");  // "0x..."
      number.erase(std::remove(number.begin(), number.end(), '"'), number.end());
      const uint64_t n = std::stoull(number, nullptr, 16);
      const bool builder = n % 2 == 1;
      const std::string fee = kFeeRecipient;
      const std::string coinbase = builder ? "0x" + std::string(40, 'b') : fee;
      auto tx_hash = [n](int i) { return absl::StrFormat("0x%062x%02x", n, i); };
      if (req.body.find("eth_getBlockByNumber") != std::string::npos) {
        std::string txs;
        auto tx = [&](int i, const std::string& from, const std::string& to,
                      const std::string& value) {
          return absl::StrCat("{\"hash\":\"", tx_hash(i), "\",\"blockHash\":\"", Hex32(n),
                              "\",\"blockNumber\":\"", number, "\",\"from\":\"", from,
                              "\",\"to\":\"", to, "\",\"value\":\"", value,
                              "\",\"gas\":\"0x5208\",\"gasPrice\":\"0x77359400\",\"input\":\"0x\","
                              "\"nonce\":\"0x1\",\"type\":\"0x2\"}");
        };
        txs = tx(0, "0x" + std::string(40, '1'), "0x" + std::string(40, '2'), "0x0");
        txs += ",";
        txs += builder ? tx(1, coinbase, fee, "0xb1a2bc2ec50000")  // 0.05 ETH
                       : tx(1, "0x" + std::string(40, '1'), "0x" + std::string(40, '3'), "0x0");
        res.set_content(
            absl::StrCat("{\"jsonrpc\":\"2.0\",\"id\":", id, ",\"result\":{\"number\":\"", number,
                         "\",\"hash\":\"", Hex32(n), "\",\"miner\":\"", coinbase,
                         "\",\"baseFeePerGas\":\"0x3b9aca00\",\"gasUsed\":\"0x11170\","
                         "\"gasLimit\":\"0x1c9c380\",\"timestamp\":\"0x1\",\"transactions\":[",
                         txs, "]}}"),
            "application/json");
        return;
      }
      // eth_getBlockReceipts: tx0 21,000 gas at 3 gwei; tx1 50,000 gas at 2 gwei (local) or
      // 21,000 gas at 1 gwei (the builder's payment, no tip).
      auto receipt = [&](int i, const std::string& gas, const std::string& price) {
        return absl::StrCat("{\"transactionHash\":\"", tx_hash(i), "\",\"blockHash\":\"", Hex32(n),
                            "\",\"blockNumber\":\"", number, "\",\"gasUsed\":\"", gas,
                            "\",\"cumulativeGasUsed\":\"", gas, "\",\"effectiveGasPrice\":\"",
                            price, "\",\"status\":\"0x1\",\"logs\":[],\"type\":\"0x2\"}");
      };
      const std::string receipts =
          receipt(0, "0x5208", "0xb2d05e00") + "," +
          (builder ? receipt(1, "0x5208", "0x3b9aca00") : receipt(1, "0xc350", "0x77359400"));
      res.set_content(
          absl::StrCat("{\"jsonrpc\":\"2.0\",\"id\":", id, ",\"result\":[", receipts, "]}"),
          "application/json");
    });
    relay_.Get("/relay/v1/data/bidtraces/proposer_payload_delivered",
               [this](const httplib::Request& req, httplib::Response& res) {
                 const std::string slot = req.get_param_value("slot");
                 httplib::Client sim("127.0.0.1", sim_port_);
                 auto block = sim.Get(absl::StrCat("/eth/v2/beacon/blocks/", slot));
                 std::string out = "[]";
                 if (block && block->status == 200) {
                   const std::string key = "\"block_number\":\"";
                   const size_t at = block->body.find(key);
                   const uint64_t n = std::stoull(block->body.substr(at + key.size()));
                   if (n % 2 == 1) {
                     out = absl::StrCat(
                         "[{\"slot\":\"", slot, "\",\"parent_hash\":\"", Hex32(n - 1),
                         "\",\"block_hash\":\"", Hex32(n), "\",\"builder_pubkey\":\"0x",
                         std::string(96, 'b'), "\",\"proposer_pubkey\":\"0x", std::string(96, 'a'),
                         "\",\"proposer_fee_recipient\":\"", kFeeRecipient,
                         "\",\"gas_limit\":\"30000000\",\"gas_used\":\"70000\",\"value\":\""
                         "50000000000000000\",\"num_tx\":\"2\",\"block_number\":\"",
                         n, "\"}]");
                   }
                 }
                 res.set_content(out, "application/json");
               });
    el_port_ = el_.bind_to_any_port("127.0.0.1");
    relay_port_ = relay_.bind_to_any_port("127.0.0.1");
    el_thread_ = std::thread([this] { el_.listen_after_bind(); });
    relay_thread_ = std::thread([this] { relay_.listen_after_bind(); });
  }
  ~FakeExecutionLayer() {
    el_.stop();
    relay_.stop();
    el_thread_.join();
    relay_thread_.join();
  }
  int el_port() const { return el_port_; }
  int relay_port() const { return relay_port_; }

 private:
  int sim_port_;
  httplib::Server el_, relay_;
  int el_port_ = 0, relay_port_ = 0;
  std::thread el_thread_, relay_thread_;
};

// Execution rewards and MEV: every proposed block of a counted epoch is looked up in the
// execution client and at the relay; the group counters equal what the fake execution layer's
// rules give for the simulator's blocks, worked out here from the blocks' numbers and fee
// recipients.
TEST_F(Stack, ExecutionRewardsFromTheExecutionClientAndRelays) {
  sw_->Stop();
  FakeExecutionLayer el(sim_port_);
  ASSERT_GT(el.el_port(), 0);
  ASSERT_GT(el.relay_port(), 0);
  auto config = testing::ReadFile(dir_ + "/stakewatch.yml");
  ASSERT_TRUE(config.ok());
  *config += absl::StrCat("execution:\n  endpoint: http://127.0.0.1:", el.el_port(),
                          "\n  relays: [\"http://127.0.0.1:", el.relay_port(), "\"]\n");
  ASSERT_TRUE(testing::WriteFile(dir_ + "/stakewatch.yml", *config).ok());
  StartStakewatch("execution", "info");
  std::map<std::string, double> m = ProcessEpochsThenFreeze(2);
  const double processed = m["stakewatch_epochs_processed_total"];
  ASSERT_GE(processed, 2) << sw_->Stderr();
  const uint64_t last = static_cast<uint64_t>(m["stakewatch_last_processed_epoch"]);

  auto options = sim::ParseSimFlags(sim_args_);
  ASSERT_TRUE(options.ok()) << options.status();
  FakeClock clock(absl::Now() + absl::Hours(1));
  auto model = sim::ChainSimulator::Create(*options, &clock);
  ASSERT_TRUE(model.ok()) << model.status();
  std::map<std::string, double> reward, relay_blocks, local_blocks, relay_value, wrong_fee;
  for (uint64_t e = last + 1 - static_cast<uint64_t>(processed); e <= last; ++e) {
    auto truth = (*model)->GroundTruth(e);
    ASSERT_TRUE(truth.ok()) << truth.status();
    for (const auto& s : truth->slots) {
      if (s.outcome != sim::SlotOutcome::kProposed || s.proposer_index >= kValidators) continue;
      const std::string g = s.proposer_index < 300 ? "solo" : "pool";
      const uint64_t n = BlockNumberOf(**model, s.slot);
      const std::string payload_fee =
          absl::StrCat("0x", absl::BytesToHexString(absl::string_view(
                                 reinterpret_cast<const char*>(s.fee_recipient->data()), 20)));
      // The fee recipient stakewatch measures for: solo's configured one, else the payload's.
      const bool ours = g == "solo" || payload_fee == kFeeRecipient;
      if (n % 2 == 1) {
        relay_blocks[g] += 1;
        relay_value[g] += 50'000'000;  // gwei
        if (ours) reward[g] += 50'000'000;
      } else {
        local_blocks[g] += 1;
        if (ours) reward[g] += 92'000;
        // Local block paying another address: a wrong fee recipient (solo configures one).
        if (g == "solo" && payload_fee != kFeeRecipient) wrong_fee[g] += 1;
      }
    }
  }
  EXPECT_GT(relay_blocks["solo"] + relay_blocks["pool"], 0);
  EXPECT_GT(local_blocks["solo"] + local_blocks["pool"], 0);
  const std::map<std::string, std::string> labels = {
      {"solo", "group=\"solo\",client=\"\",operator=\"me\""},
      {"pool", "group=\"pool\",client=\"lighthouse\",operator=\"acme\""}};
  for (const auto& [g, l] : labels) {
    SCOPED_TRACE(g);
    EXPECT_EQ(m["eth_validator_group_blocks_built_total{" + l + ",builder=\"relay\"}"],
              relay_blocks[g]);
    EXPECT_EQ(m["eth_validator_group_blocks_built_total{" + l + ",builder=\"local\"}"],
              local_blocks[g]);
    EXPECT_EQ(m["eth_validator_group_execution_rewards_gwei_total{" + l + "}"], reward[g]);
    EXPECT_EQ(
        m["eth_validator_group_relay_delivered_value_gwei_total{" + l + ",relay=\"127.0.0.1\"}"],
        relay_value[g]);
    EXPECT_EQ(m["eth_validator_group_wrong_fee_recipient_total{" + l + "}"], wrong_fee[g]);
  }
  EXPECT_EQ(m["stakewatch_source_unavailable_total{source=\"execution\"}"], 0);
}

// A lying first node (truncated JSON on every route) is skipped: stakewatch fails over to the
// simulator, says why in a metric, and its numbers still equal the ground truth.
TEST_F(Stack, LyingNodeIsSkippedAndCounted) {
  sw_->Stop();
  httplib::Server liar;
  liar.Get(".*", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"data\":{\"head_slot\":\"12", "application/json");
  });
  const int liar_port = liar.bind_to_any_port("127.0.0.1");
  ASSERT_GT(liar_port, 0);
  std::thread serving([&] { liar.listen_after_bind(); });
  auto config = testing::ReadFile(dir_ + "/stakewatch.yml");
  ASSERT_TRUE(config.ok());
  const std::string nodes = "  nodes: [";
  config->replace(config->find(nodes), nodes.size(),
                  absl::StrCat(nodes, "\"http://127.0.0.1:", liar_port, "\", "));
  ASSERT_TRUE(testing::WriteFile(dir_ + "/stakewatch.yml", *config).ok());
  StartStakewatch("liar", "info");
  std::map<std::string, double> m = ProcessEpochsThenFreeze(2);
  liar.stop();
  serving.join();
  const double processed = m["stakewatch_epochs_processed_total"];
  ASSERT_GE(processed, 2);
  const std::string liar_node = absl::StrCat("http://127.0.0.1:", liar_port);
  EXPECT_GT(m["eth_beacon_node_request_errors_total{node=\"" + liar_node + "\",reason=\"decode\"}"],
            0);
  EXPECT_EQ(m["eth_beacon_node_up{node=\"" + liar_node + "\"}"], 0);
  EXPECT_EQ(
      m["eth_beacon_node_active{node=\"http://127.0.0.1:" + std::to_string(sim_port_) + "\"}"], 1);
  const uint64_t last = static_cast<uint64_t>(m["stakewatch_last_processed_epoch"]);
  CheckAgainstGroundTruth(m, last - static_cast<uint64_t>(processed) + 1, last);
}

TEST_F(Stack, ServesOpenMetricsAndGzipWhenAsked) {
  ProcessEpochsThenFreeze(1);
  auto r = HttpGet("127.0.0.1", sw_port_, "/metrics",
                   {{"Accept",
                     "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                     "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"},
                    {"Accept-Encoding", "gzip"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->headers["Content-Type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_EQ(r->headers["Content-Encoding"], "gzip");
  // Inflate independently with zlib.
  z_stream zs{};
  ASSERT_EQ(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  std::string out(64 << 20, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(r->body.data());
  zs.avail_in = static_cast<uInt>(r->body.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  ASSERT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  inflateEnd(&zs);
  EXPECT_NE(out.find("# TYPE eth_validator_group_attestations_included counter\n"),
            std::string::npos);
  EXPECT_TRUE(absl::EndsWith(out, "# EOF\n"));

  auto plain = HttpGet("127.0.0.1", sw_port_, "/metrics");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(plain->headers.count("Content-Encoding"), 0u);
}

TEST_F(Stack, PromtoolFindsNoProblem) {
  if (access("/usr/bin/promtool", X_OK) != 0) GTEST_SKIP() << "promtool is not installed";
  ProcessEpochsThenFreeze(1);
  auto r = HttpGet("127.0.0.1", sw_port_, "/metrics");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(testing::WriteFile(dir_ + "/metrics.txt", r->body).ok());
  const std::string cmd = absl::StrCat("/usr/bin/promtool check metrics < ", dir_,
                                       "/metrics.txt > ", dir_, "/promtool.out 2>&1");
  const int rc = system(cmd.c_str());
  auto out = testing::ReadFile(dir_ + "/promtool.out");
  EXPECT_EQ(rc, 0) << out.value_or("");
  EXPECT_EQ(out.value_or("?"), "") << "promtool reported problems";
}

TEST_F(Stack, RealPrometheusScrapesTheSameValues) {
  if (access("/usr/bin/prometheus", X_OK) != 0) GTEST_SKIP() << "prometheus is not installed";
  const int prom_port = FreePort();
  const std::string prom_config =
      absl::StrCat("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n",
                   "scrape_configs:\n  - job_name: stakewatch\n    static_configs:\n",
                   "      - targets: [\"127.0.0.1:", sw_port_, "\"]\n");
  ASSERT_TRUE(testing::WriteFile(dir_ + "/prometheus.yml", prom_config).ok());
  auto prom = Subprocess::Start(
      {"/usr/bin/prometheus", absl::StrCat("--config.file=", dir_, "/prometheus.yml"),
       absl::StrCat("--storage.tsdb.path=", dir_, "/prom-data"),
       absl::StrCat("--web.listen-address=127.0.0.1:", prom_port)},
      dir_ + "/prometheus");
  ASSERT_TRUE(prom.ok()) << prom.status();
  ASSERT_TRUE(
      (*prom)->WaitForOutput("Server is ready to receive web requests", absl::Seconds(60)).ok())
      << (*prom)->Stderr();

  std::map<std::string, double> m = ProcessEpochsThenFreeze(2);
  const std::string included_key =
      "eth_validator_group_attestations_included_total{group=\"pool\",client=\"lighthouse\","
      "operator=\"acme\"}";
  ASSERT_GT(m[included_key], 0);

  // Query Prometheus until it has scraped the settled values (its scrape interval is 1 s).
  auto query = [&](const std::string& q) -> std::string {
    std::string escaped;
    for (char c : q) {
      if (isalnum(static_cast<unsigned char>(c)) || c == '_') {
        escaped += c;
      } else {
        escaped += absl::StrFormat("%%%02X", static_cast<unsigned char>(c));
      }
    }
    auto r = HttpGet("127.0.0.1", prom_port, "/api/v1/query?query=" + escaped);
    return r.ok() ? r->body : "";
  };
  auto value_of = [](const std::string& body) -> std::string {
    // {"status":"success","data":{"resultType":"vector","result":[{"metric":{...},"value":[ts,"v"]}]}}
    const size_t at = body.rfind(",\"");
    if (at == std::string::npos) return "";
    const size_t end = body.find('"', at + 2);
    return body.substr(at + 2, end - at - 2);
  };
  const std::string want_epochs = absl::StrCat(m["stakewatch_epochs_processed_total"]);
  const std::string want_included = absl::StrCat(m[included_key]);
  std::string got_epochs, got_included, got_up, got_missed;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    got_epochs = value_of(query("stakewatch_epochs_processed_total{job=\"stakewatch\"}"));
    got_included = value_of(
        query("eth_validator_group_attestations_included_total{group=\"pool\",operator=\"acme\"}"));
    if (got_epochs == want_epochs && got_included == want_included) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  EXPECT_EQ(got_epochs, want_epochs);
  EXPECT_EQ(got_included, want_included);
  EXPECT_EQ(value_of(query("up{job=\"stakewatch\"}")), "1");
  // A histogram arrived whole: its _count equals the included count of the same group.
  EXPECT_EQ(value_of(query("eth_validator_group_attestation_inclusion_delay_slots_count{group="
                           "\"pool\"}")),
            want_included);
  (*prom)->Stop();
}

}  // namespace
}  // namespace stakewatch
