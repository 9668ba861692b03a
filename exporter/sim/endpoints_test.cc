// Tests of the validator-level endpoints (validators, validator_balances, attestation rewards,
// liveness, sync committees) and of the extended ground truth. Expected values are derived in
// the test from other outputs (blocks, committees, inclusion data) with the spec's rules.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "sim/ground_truth.h"
#include "sim/simulator.h"
#include "sim/test_util.h"
#include "simdjson.h"

namespace stakewatch::sim {
namespace {

using ::stakewatch::sim::testing::Arr;
using ::stakewatch::sim::testing::Bit;
using ::stakewatch::sim::testing::Field;
using ::stakewatch::sim::testing::Num;
using ::stakewatch::sim::testing::Str;
using ::stakewatch::sim::testing::Unhex;

constexpr int64_t kGenesis = 1'700'000'000;
constexpr uint64_t kFar = UINT64_MAX;
constexpr uint64_t kMax = 32'000'000'000;

SimOptions Options(uint64_t n, uint64_t seed) {
  SimOptions o;
  o.validators = n;
  o.seed = seed;
  o.genesis_time = absl::FromUnixSeconds(kGenesis);
  return o;
}

void SetHead(FakeClock& clock, Slot slot) {
  clock.SetTime(absl::FromUnixSeconds(kGenesis + static_cast<int64_t>(slot) * 12 + 6));
}

std::unique_ptr<ChainSimulator> Make(const SimOptions& o, FakeClock& clock, Slot head) {
  SetHead(clock, head);
  absl::StatusOr<std::unique_ptr<ChainSimulator>> sim = ChainSimulator::Create(o, &clock);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return std::move(sim).value();
}

std::string HexPubkey(ValidatorIndex v) {
  const Pubkey pk = ChainSimulator::ValidatorPubkey(v);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (uint8_t b : pk) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

// The spec's get_validator_status (beacon-APIs), from the validator record fields.
std::string SpecStatus(uint64_t epoch, uint64_t activation, uint64_t exit, uint64_t withdrawable,
                       bool slashed, uint64_t balance) {
  if (activation > epoch) return "pending_initialized";  // eligibility is FAR in the simulator
  if (epoch < exit) {
    if (exit == kFar) return "active_ongoing";
    return slashed ? "active_slashed" : "active_exiting";
  }
  if (epoch < withdrawable) return slashed ? "exited_slashed" : "exited_unslashed";
  return balance > 0 ? "withdrawal_possible" : "withdrawal_done";
}

uint64_t ParseU64(std::string_view s) { return std::stoull(std::string(s)); }

TEST(ValidatorsEndpointTest, RecordsStatusesAndBalancesMatchTheChain) {
  const uint64_t n = 3000, pending = 40;
  SimOptions o = Options(n, 17);
  o.exited_rate = 0.1;
  o.slashed_rate = 0.05;
  o.pending_count = pending;
  o.missed_slot_rate = 0.1;
  o.withdrawal_every = 1;
  FakeClock clock;
  auto sim = Make(o, clock, 45 * 32);
  simdjson::dom::parser parser;

  const Epoch e = 36;  // every leaver has exited (exit epochs 1..32), some withdrawable
  const Slot state = (e + 1) * 32 - 1;  // last slot of epoch e
  absl::StatusOr<EpochGroundTruth> prev = sim->GroundTruth(e - 1);
  absl::StatusOr<EpochGroundTruth> now = sim->GroundTruth(e);
  ASSERT_TRUE(prev.ok() && now.ok());
  // Withdrawals in the blocks of epoch e, decoded from the blocks.
  std::map<uint64_t, uint64_t> withdrawn;
  for (Slot s = e * 32; s <= state; ++s) {
    ApiResponse b = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(s), {});
    if (b.status != 200) continue;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(b.Body()).get(doc), simdjson::SUCCESS);
    for (simdjson::dom::element w :
         Arr(Field(Field(Field(Field(doc, "data"), "message"), "body"), "execution_payload"),
             "withdrawals")) {
      withdrawn[Num(w, "validator_index")] += Num(w, "amount");
    }
  }

  ApiResponse r = sim->Get("/eth/v1/beacon/states/" + std::to_string(state) + "/validators", {});
  ASSERT_EQ(r.status, 200);
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
  std::map<std::string, int> counts;
  uint64_t rows = 0;
  for (simdjson::dom::element row : Arr(doc, "data")) {
    const uint64_t v = Num(row, "index");
    ASSERT_EQ(v, rows) << "all validators in index order";
    ++rows;
    simdjson::dom::element val = Field(row, "validator");
    EXPECT_EQ(Str(val, "pubkey"), HexPubkey(v));
    auto cred = Unhex(Str(val, "withdrawal_credentials"));
    ASSERT_TRUE(cred && cred->size() == 32);
    EXPECT_EQ((*cred)[0], 0x01);
    bool slashed = false;
    ASSERT_EQ(val["slashed"].get_bool().get(slashed), simdjson::SUCCESS);
    const uint64_t balance = Num(row, "balance");
    const uint64_t exit = ParseU64(Str(val, "exit_epoch"));
    const uint64_t withdrawable = ParseU64(Str(val, "withdrawable_epoch"));
    const std::string status(Str(row, "status"));
    EXPECT_EQ(status, SpecStatus(e, ParseU64(Str(val, "activation_epoch")), exit, withdrawable,
                                 slashed, balance))
        << v;
    ++counts[status];
    // The state's balance: end of e - 1 minus the withdrawals of epoch e's blocks plus the
    // epoch's block rewards (ground truth), floored at 0 (a fully withdrawn sync member keeps
    // being penalised).
    const int64_t expect = static_cast<int64_t>(prev->validators[v].balance - withdrawn[v]) +
                           static_cast<int64_t>(now->validators[v].proposer_reward) +
                           now->validators[v].sync_reward;
    EXPECT_EQ(balance, static_cast<uint64_t>(std::max<int64_t>(0, expect))) << v;
    EXPECT_EQ(Num(val, "effective_balance"), prev->validators[v].balance > 0 ? kMax : 0u);
    if (v >= n) {
      EXPECT_EQ(status, "pending_initialized");
      EXPECT_EQ(Str(val, "activation_epoch"), "18446744073709551615");
      EXPECT_EQ(balance, kMax);
    } else if (exit != kFar) {
      EXPECT_LE(exit, 32u);
      EXPECT_EQ(now->validators[v].active, false);
    } else {
      EXPECT_EQ(now->validators[v].active, true);
      EXPECT_EQ(status, "active_ongoing");
    }
  }
  EXPECT_EQ(rows, n + pending);
  EXPECT_GT(counts["withdrawal_done"], 0);
  EXPECT_EQ(counts["pending_initialized"], static_cast<int>(pending));
  EXPECT_GT(counts["active_ongoing"], static_cast<int>(n * 8 / 10));

  // ?id= by index and pubkey, validator_balances, POST with statuses: same records.
  const std::string ids = "5,17," + HexPubkey(42) + ",99999,3020";
  ApiResponse one =
      sim->Get("/eth/v1/beacon/states/" + std::to_string(state) + "/validators", {{"id", ids}});
  ASSERT_EQ(one.status, 200) << one.Body();
  ASSERT_EQ(parser.parse(one.Body()).get(doc), simdjson::SUCCESS);
  std::vector<uint64_t> got;
  for (simdjson::dom::element row : Arr(doc, "data")) got.push_back(Num(row, "index"));
  EXPECT_EQ(got, (std::vector<uint64_t>{5, 17, 42, 3020})) << "unknown 99999 skipped";
  ApiResponse bal =
      sim->Post("/eth/v1/beacon/states/" + std::to_string(state) + "/validator_balances", {},
                "[\"5\",\"" + HexPubkey(17) + "\"]");
  ASSERT_EQ(bal.status, 200) << bal.Body();
  ASSERT_EQ(parser.parse(bal.Body()).get(doc), simdjson::SUCCESS);
  std::vector<std::pair<uint64_t, uint64_t>> balances;
  for (simdjson::dom::element row : Arr(doc, "data")) {
    balances.emplace_back(Num(row, "index"), Num(row, "balance"));
  }
  ASSERT_EQ(balances.size(), 2u);
  auto state_balance = [&](uint64_t v) {
    return static_cast<uint64_t>(static_cast<int64_t>(prev->validators[v].balance - withdrawn[v]) +
                                 static_cast<int64_t>(now->validators[v].proposer_reward) +
                                 now->validators[v].sync_reward);
  };
  EXPECT_EQ(balances[0].second, state_balance(5));
  EXPECT_EQ(balances[1].second, state_balance(17));

  std::string all_ids = "[";
  for (uint64_t v = 0; v < n + pending; ++v)
    all_ids += (v ? ",\"" : "\"") + std::to_string(v) + "\"";
  all_ids += "]";
  ApiResponse exited =
      sim->Post("/eth/v1/beacon/states/" + std::to_string(state) + "/validators", {},
                "{\"ids\":" + all_ids + ",\"statuses\":[\"withdrawal\"," +
                    "\"exited_slashed\",\"pending_initialized\"]}");
  ASSERT_EQ(exited.status, 200) << exited.Body().substr(0, 200);
  ASSERT_EQ(parser.parse(exited.Body()).get(doc), simdjson::SUCCESS);
  int filtered = 0;
  for (simdjson::dom::element row : Arr(doc, "data")) {
    const std::string_view st = Str(row, "status");
    EXPECT_TRUE(st == "withdrawal_possible" || st == "withdrawal_done" || st == "exited_slashed" ||
                st == "pending_initialized")
        << st;
    ++filtered;
  }
  EXPECT_EQ(filtered, counts["withdrawal_possible"] + counts["withdrawal_done"] +
                          counts["exited_slashed"] + counts["pending_initialized"]);

  // Errors: malformed ids and bodies are 400, a future state 404.
  const std::string path = "/eth/v1/beacon/states/head/validators";
  EXPECT_EQ(sim->Get(path, {{"id", "abc"}}).status, 400);
  EXPECT_EQ(sim->Get(path, {{"id", "0x1234"}}).status, 400);
  EXPECT_EQ(sim->Get(path, {{"status", "sleeping"}}).status, 400);
  EXPECT_EQ(sim->Post(path, {}, "{\"ids\":[1,").status, 400);
  EXPECT_EQ(sim->Post(path, {}, "{\"ids\":{}}").status, 400);
  EXPECT_EQ(sim->Post(path, {}, "[[1]]").status, 400);
  EXPECT_EQ(sim->Get("/eth/v1/beacon/states/999999/validators", {}).status, 404);
}

TEST(RewardsEndpointTest, RewardsFollowTheVotesOnlyOnceTheWindowClosed) {
  const uint64_t n = 5000;
  SimOptions o = Options(n, 23);
  o.missed_slot_rate = 0.2;
  o.missed_attestation_rate = 0.1;
  o.late_attestation_rate = 0.3;
  o.wrong_head_rate = 0.1;
  o.slashed_rate = 0.05;
  FakeClock clock;
  auto sim = Make(o, clock, 10 * 32 + 3);  // epochs <= 8 are closed
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(sim->Post("/eth/v1/beacon/rewards/attestations/9", {}, "[]").status, 400);
  EXPECT_EQ(sim->Post("/eth/v1/beacon/rewards/attestations/x", {}, "[]").status, 400);

  for (Epoch e : {Epoch{0}, Epoch{5}, Epoch{8}}) {
    ApiResponse r = sim->Post("/eth/v1/beacon/rewards/attestations/" + std::to_string(e), {}, "[]");
    ASSERT_EQ(r.status, 200) << r.Body().substr(0, 200);
    ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
    simdjson::dom::element data = Field(doc, "data");
    uint64_t k = 0;
    for (simdjson::dom::element ideal : Arr(data, "ideal_rewards")) {
      ++k;
      EXPECT_EQ(Num(ideal, "effective_balance"), k * 1'000'000'000);
      EXPECT_EQ(Num(ideal, "head"), k * 1848);
      EXPECT_EQ(Num(ideal, "target"), k * 3435);
      EXPECT_EQ(Num(ideal, "source"), k * 1849);
      EXPECT_EQ(Num(ideal, "inactivity"), 0u);
    }
    EXPECT_EQ(k, 2048u);
    absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(e);
    ASSERT_TRUE(gt.ok());
    // Slashed validators (status says so) never earn; others by the spec's flag rules.
    std::set<uint64_t> active;
    for (const ValidatorEpochTruth& t : gt->validators) {
      if (t.active) active.insert(t.validator_index);
    }
    uint64_t rows = 0, negative = 0;
    for (simdjson::dom::element row : Arr(data, "total_rewards")) {
      const uint64_t v = Num(row, "validator_index");
      ASSERT_EQ(active.count(v), 1u) << "row for an inactive validator";
      const ValidatorEpochTruth& t = gt->validators[v];
      const bool slashed = t.status == "active_slashed";
      const bool inc = t.included && !slashed;
      const uint64_t delay = t.inclusion_slot - t.duty_slot;
      const int64_t head = inc && delay == 1 && !t.wrong_head ? 32 * 1848 : 0;
      const int64_t source = (inc && delay <= 5 ? 1 : -1) * 32 * 1849;
      const int64_t target = (inc ? 1 : -1) * 32 * 3435;
      auto num = [&](std::string_view key) { return std::stoll(std::string(Str(row, key))); };
      EXPECT_EQ(num("head"), head) << v;
      EXPECT_EQ(num("source"), source) << v;
      EXPECT_EQ(num("target"), target) << v;
      EXPECT_EQ(num("inactivity"), 0);
      EXPECT_EQ(t.reward.head, head);
      EXPECT_EQ(t.reward.source, source);
      EXPECT_EQ(t.reward.target, target);
      negative += target < 0;
      ++rows;
    }
    EXPECT_EQ(rows, active.size());
    EXPECT_GT(negative, 0u);
  }
  // A subset of ids, by index and pubkey.
  ApiResponse sub = sim->Post("/eth/v1/beacon/rewards/attestations/3", {},
                              "[\"7\",\"" + HexPubkey(9) + "\",\"4999\"]");
  ASSERT_EQ(sub.status, 200);
  ASSERT_EQ(parser.parse(sub.Body()).get(doc), simdjson::SUCCESS);
  std::vector<uint64_t> rows;
  for (simdjson::dom::element row : Arr(Field(doc, "data"), "total_rewards")) {
    rows.push_back(Num(row, "validator_index"));
  }
  EXPECT_EQ(rows, (std::vector<uint64_t>{7, 9, 4999}));
}

TEST(LivenessEndpointTest, LiveMeansAttestedOrProposedInCurrentOrPreviousEpoch) {
  const uint64_t n = 2000;
  SimOptions o = Options(n, 31);
  o.missed_attestation_rate = 0.2;
  o.missed_slot_rate = 0.2;
  FakeClock clock;
  const Slot head = 5 * 32 + 10;
  auto sim = Make(o, clock, head);
  // The same chain seen later gives the final decisions of epochs 4 and 5.
  FakeClock later_clock;
  auto later = Make(o, later_clock, 8 * 32);
  std::string body = "[";
  for (uint64_t v = 0; v < n; ++v) body += (v ? ",\"" : "\"") + std::to_string(v) + "\"";
  body += "]";
  simdjson::dom::parser parser;
  for (Epoch e : {Epoch{4}, Epoch{5}}) {
    absl::StatusOr<EpochGroundTruth> gt = later->GroundTruth(e);
    ASSERT_TRUE(gt.ok());
    std::set<uint64_t> proposed;
    for (const SlotTruth& s : gt->slots) {
      if (s.proposed && s.slot <= head) proposed.insert(s.proposer_index);
    }
    ApiResponse r = sim->Post("/eth/v1/validator/liveness/" + std::to_string(e), {}, body);
    ASSERT_EQ(r.status, 200);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
    uint64_t rows = 0, live_count = 0;
    for (simdjson::dom::element row : Arr(doc, "data")) {
      const uint64_t v = Num(row, "index");
      bool live = false;
      ASSERT_EQ(row["is_live"].get_bool().get(live), simdjson::SUCCESS);
      const ValidatorEpochTruth& t = gt->validators[v];
      const bool expect = (t.attested && t.duty_slot < head) || proposed.count(v) > 0;
      EXPECT_EQ(live, expect) << "v=" << v << " e=" << e;
      live_count += live;
      ++rows;
    }
    EXPECT_EQ(rows, n);
    if (e == 4) {
      EXPECT_NEAR(live_count / static_cast<double>(n), 0.8, 0.05);
    }
  }
  EXPECT_EQ(sim->Post("/eth/v1/validator/liveness/3", {}, body).status, 400);
  EXPECT_EQ(sim->Post("/eth/v1/validator/liveness/6", {}, body).status, 400);
  EXPECT_EQ(sim->Post("/eth/v1/validator/liveness/5", {}, "").status, 400);
  EXPECT_EQ(sim->Post("/eth/v1/validator/liveness/5", {}, "[\"x\"]").status, 400);
}

TEST(SyncCommitteeTest, CommitteeShapeBitsAndGroundTruthCounts) {
  const uint64_t n = 3000;
  SimOptions o = Options(n, 41);
  o.sync_miss_rate = 0.2;
  o.missed_slot_rate = 0.15;
  FakeClock clock;
  auto sim = Make(o, clock, 6 * 32);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ApiResponse r = sim->Get("/eth/v1/beacon/states/head/sync_committees", {{"epoch", "2"}});
  ASSERT_EQ(r.status, 200);
  ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
  std::vector<uint64_t> members;
  for (simdjson::dom::element v : Arr(Field(doc, "data"), "validators")) {
    std::string_view s;
    ASSERT_EQ(v.get_string().get(s), simdjson::SUCCESS);
    members.push_back(ParseU64(s));
    EXPECT_LT(members.back(), n);
  }
  ASSERT_EQ(members.size(), 512u);
  std::vector<uint64_t> concatenated;
  size_t groups = 0;
  for (simdjson::dom::element g : Arr(Field(doc, "data"), "validator_aggregates")) {
    simdjson::dom::array a;
    ASSERT_EQ(g.get_array().get(a), simdjson::SUCCESS);
    EXPECT_EQ(a.size(), 128u);
    for (simdjson::dom::element v : a) {
      std::string_view s;
      ASSERT_EQ(v.get_string().get(s), simdjson::SUCCESS);
      concatenated.push_back(ParseU64(s));
    }
    ++groups;
  }
  EXPECT_EQ(groups, 4u);
  EXPECT_EQ(concatenated, members);
  EXPECT_EQ(sim->Get("/eth/v1/beacon/states/head/sync_committees", {{"epoch", "600"}}).status, 400);

  // Count, per validator, signed and missed (slot, position) duties of epochs 1..3 from the
  // block bits: bit i of block s + 1 is position i's signature for slot s.
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> counted;  // v -> (participated, missed)
  uint64_t unset = 0, bits = 0;
  for (Slot s = 32; s < 4 * 32; ++s) {
    ApiResponse b = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(s + 1), {});
    if (b.status != 200) continue;
    ASSERT_EQ(parser.parse(b.Body()).get(doc), simdjson::SUCCESS);
    auto sync =
        Unhex(Str(Field(Field(Field(Field(doc, "data"), "message"), "body"), "sync_aggregate"),
                  "sync_committee_bits"));
    ASSERT_TRUE(sync && sync->size() == 64);
    for (size_t i = 0; i < 512; ++i) {
      const bool bit = Bit(*sync, i);
      (bit ? counted[members[i]].first : counted[members[i]].second) += 1;
      unset += !bit;
      ++bits;
    }
  }
  EXPECT_NEAR(unset / static_cast<double>(bits), 0.2, 0.02);
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> truth;
  for (Epoch e = 1; e <= 3; ++e) {
    absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(e);
    ASSERT_TRUE(gt.ok());
    for (const ValidatorEpochTruth& t : gt->validators) {
      EXPECT_EQ(t.sync_slots, t.sync_participated + t.sync_missed);
      if (t.sync_slots == 0) continue;
      truth[t.validator_index].first += t.sync_participated;
      truth[t.validator_index].second += t.sync_missed;
    }
  }
  EXPECT_EQ(truth, counted);
}

TEST(GroundTruthFileTest, WritesBalancesRewardsSyncAndWithdrawals) {
  SimOptions o = Options(600, 3);
  o.exited_rate = 0.2;
  o.missed_attestation_rate = 0.2;
  FakeClock clock;
  auto sim = Make(o, clock, 3 * 32);  // epochs 0 and 1 complete
  const std::string path = ::testing::TempDir() + "/sim_ground_truth_ext.jsonl";
  GroundTruthWriter writer(sim.get(), path, 0, 599);
  ASSERT_TRUE(writer.Open().ok());
  ASSERT_EQ(*writer.WriteCompletedEpochs(), 2);
  simdjson::dom::parser parser;
  simdjson::dom::document_stream stream;
  simdjson::padded_string text;
  ASSERT_EQ(simdjson::padded_string::load(path).get(text), simdjson::SUCCESS);
  ASSERT_EQ(parser.parse_many(text).get(stream), simdjson::SUCCESS);
  std::map<std::pair<uint64_t, uint64_t>, int64_t> reward_total;  // (epoch, v)
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> balance;
  uint64_t withdrawals = 0, sync_slots = 0;
  std::map<uint64_t, uint64_t> proposer_rewards, block_rewards;  // by epoch
  for (auto line : stream) {
    simdjson::dom::element e;
    ASSERT_EQ(line.get(e), simdjson::SUCCESS);
    uint64_t v = 0, epoch = 0;
    if (e["validator_index"].get_uint64().get(v) == simdjson::SUCCESS) {
      ASSERT_EQ(e["epoch"].get_uint64().get(epoch), simdjson::SUCCESS);
      int64_t h = 0, t = 0, s = 0;
      uint64_t b = 0, n = 0;
      ASSERT_EQ(e["reward_head"].get_int64().get(h), simdjson::SUCCESS);
      ASSERT_EQ(e["reward_target"].get_int64().get(t), simdjson::SUCCESS);
      ASSERT_EQ(e["reward_source"].get_int64().get(s), simdjson::SUCCESS);
      ASSERT_EQ(e["balance"].get_uint64().get(b), simdjson::SUCCESS);
      ASSERT_EQ(e["sync_slots"].get_uint64().get(n), simdjson::SUCCESS);
      std::string_view status;
      ASSERT_EQ(e["status"].get_string().get(status), simdjson::SUCCESS);
      EXPECT_FALSE(status.empty());
      reward_total[{epoch, v}] = h + t + s;
      balance[{epoch, v}] = b;
      sync_slots += n;
      uint64_t proposer_reward = 0;
      int64_t sync_reward = 0;
      ASSERT_EQ(e["proposer_reward"].get_uint64().get(proposer_reward), simdjson::SUCCESS);
      ASSERT_EQ(e["sync_reward"].get_int64().get(sync_reward), simdjson::SUCCESS);
      EXPECT_EQ(sync_reward % 21000, 0);
      proposer_rewards[epoch] += proposer_reward;
    } else {
      simdjson::dom::array ws;
      ASSERT_EQ(e["withdrawals"].get_array().get(ws), simdjson::SUCCESS);
      withdrawals += ws.size();
      uint64_t slot = 0, total = 0;
      ASSERT_EQ(e["slot"].get_uint64().get(slot), simdjson::SUCCESS);
      std::string_view outcome, fee;
      ASSERT_EQ(e["outcome"].get_string().get(outcome), simdjson::SUCCESS);
      EXPECT_EQ(outcome, "proposed");  // no failure rates for slots here
      ASSERT_EQ(e["fee_recipient"].get_string().get(fee), simdjson::SUCCESS);
      EXPECT_EQ(fee, "0x00000000000000000000000000000000000fee01");
      ASSERT_EQ(e["block_reward"]["total"].get_uint64().get(total), simdjson::SUCCESS);
      EXPECT_EQ(total > 0, slot > 0);
      block_rewards[slot / 32] += total;
      simdjson::dom::array sl;
      ASSERT_EQ(e["slashings"].get_array().get(sl), simdjson::SUCCESS);
    }
  }
  // Every validator is in range: the proposers' rewards are the blocks' rewards.
  EXPECT_EQ(proposer_rewards, block_rewards);
  EXPECT_EQ(balance.size(), 1200u);
  EXPECT_GT(withdrawals, 0u);
  EXPECT_EQ(sync_slots, 512u * 32 * 2) << "no missed slots: every slot's signature lands";
  // The file's rewards match the rewards endpoint.
  ApiResponse r = sim->Post("/eth/v1/beacon/rewards/attestations/1", {}, "[]");
  ASSERT_EQ(r.status, 200);
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
  uint64_t rows = 0;
  for (simdjson::dom::element row : Arr(Field(doc, "data"), "total_rewards")) {
    const uint64_t v = Num(row, "validator_index");
    const int64_t total = std::stoll(std::string(Str(row, "head"))) +
                          std::stoll(std::string(Str(row, "target"))) +
                          std::stoll(std::string(Str(row, "source")));
    EXPECT_EQ(reward_total.at({1, v}), total);
    ++rows;
  }
  EXPECT_GT(rows, 400u);
}

TEST(ValidatorEndpointsPerfTest, MainnetSizeThousandsOfIdsWellUnderASecond) {
  const uint64_t n = 1'100'000;
  SimOptions o = Options(n, 5);
  o.missed_attestation_rate = 0.05;
  FakeClock clock;
  auto sim = Make(o, clock, 4 * 32 + 5);
  std::string body = "[";
  for (uint64_t i = 0; i < 4000; ++i) {
    body += (i ? ",\"" : "\"") + std::to_string(i * 271 % n) + "\"";
  }
  body += "]";
  // Warm the per-epoch state once (shuffles and balances since genesis), then time requests.
  const auto w0 = std::chrono::steady_clock::now();
  ASSERT_EQ(sim->Post("/eth/v1/beacon/states/head/validators", {}, "[\"1\"]").status, 200);
  std::cout
      << "[ timing ] cold balances of epoch 4 at N=1.1M (epochs 0..3 replayed): "
      << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - w0).count()
      << " ms\n";
  ASSERT_EQ(sim->Post("/eth/v1/beacon/rewards/attestations/2", {}, "[\"1\"]").status, 200);
  for (const char* path :
       {"/eth/v1/beacon/states/head/validators", "/eth/v1/beacon/states/head/validator_balances",
        "/eth/v1/beacon/rewards/attestations/2"}) {
    const auto t0 = std::chrono::steady_clock::now();
    ApiResponse r = sim->Post(path, {}, body);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_EQ(r.status, 200);
    std::cout << "[ timing ] POST " << path << " with 4000 ids at N=1.1M: " << r.size()
              << " bytes in " << ms << " ms\n";
    EXPECT_LT(ms, 500.0);
  }
  // A pubkey lookup builds the index once.
  const auto t0 = std::chrono::steady_clock::now();
  ApiResponse pk = sim->Get("/eth/v1/beacon/states/head/validators", {{"id", HexPubkey(n - 1)}});
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(pk.status, 200);
  EXPECT_NE(pk.Body().find("\"index\":\"1099999\""), std::string::npos);
  std::cout << "[ timing ] first pubkey lookup at N=1.1M: " << ms << " ms\n";
}

}  // namespace
}  // namespace stakewatch::sim
