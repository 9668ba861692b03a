// Block and sync-committee rewards against balance deltas, fee recipients and slashing
// operations. Everything is read through the Beacon API (balances, withdrawals, rewards,
// blocks) and checked against the documented model rules worked out here.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sim/simulator.h"
#include "sim/test_util.h"
#include "simdjson.h"

namespace stakewatch::sim {
namespace {

using ::stakewatch::sim::testing::Arr;
using ::stakewatch::sim::testing::Field;
using ::stakewatch::sim::testing::Num;
using ::stakewatch::sim::testing::Str;
using ::stakewatch::sim::testing::Unhex;

constexpr int64_t kGenesis = 1'700'000'000;
constexpr uint64_t kSlashingAmount = 32'000'000'000 / 4096;  // penalty and whistleblower reward

std::unique_ptr<ChainSimulator> Make(const SimOptions& o, FakeClock& clock, Slot head) {
  clock.SetTime(absl::FromUnixSeconds(kGenesis + static_cast<int64_t>(head) * 12 + 6));
  absl::StatusOr<std::unique_ptr<ChainSimulator>> sim = ChainSimulator::Create(o, &clock);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return std::move(sim).value();
}

SimOptions Options(uint64_t n, uint64_t seed) {
  SimOptions o;
  o.validators = n;
  o.seed = seed;
  o.genesis_time = absl::FromUnixSeconds(kGenesis);
  return o;
}

int64_t SignedNum(simdjson::dom::element e, std::string_view key) {
  return std::stoll(std::string(Str(e, key)));
}

simdjson::dom::element Parse(simdjson::dom::parser& parser, const ApiResponse& r) {
  simdjson::dom::element doc;
  EXPECT_EQ(r.status, 200) << r.Body().substr(0, 200);
  EXPECT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
  return doc;
}

// balance(end of epoch e's blocks) - balance(end of e - 1's blocks) + withdrawals(e) ==
// attestation reward of the e - 2 vote + block rewards of e's blocks + sync rewards of e's blocks
// - the slashing penalty of e - 1, all read from the API.
TEST(RewardsTest, RewardsEndpointsSumToBalanceDeltas) {
  const uint64_t n = 3000;
  SimOptions o = Options(n, 77);
  o.missed_slot_rate = 0.1;
  o.orphan_rate = 0.05;
  o.missed_attestation_rate = 0.1;
  o.late_attestation_rate = 0.2;
  o.wrong_head_rate = 0.1;
  o.sync_miss_rate = 0.15;
  o.slashed_rate = 0.04;
  o.exited_rate = 0.04;
  o.withdrawal_every = 1;
  FakeClock clock;
  auto sim = Make(o, clock, 14 * 32);
  simdjson::dom::parser parser;

  auto balances_at = [&](Slot state) {
    std::vector<uint64_t> out(n);
    simdjson::dom::element doc = Parse(
        parser,
        sim->Get("/eth/v1/beacon/states/" + std::to_string(state) + "/validator_balances", {}));
    for (simdjson::dom::element row : Arr(doc, "data")) {
      out[Num(row, "index")] = Num(row, "balance");
    }
    return out;
  };
  uint64_t checked = 0, with_proposals = 0, with_sync = 0, with_penalty = 0, with_whistle = 0;
  for (Epoch e = 3; e <= 11; ++e) {
    const std::vector<uint64_t> before = balances_at(e * 32 - 1);
    const std::vector<uint64_t> after = balances_at((e + 1) * 32 - 1);
    std::vector<int64_t> expect(n, 0);
    std::vector<uint8_t> touched(n, 0);
    // The e - 2 votes' rewards, applied at the end of e - 1.
    simdjson::dom::element att =
        Parse(parser,
              sim->Post("/eth/v1/beacon/rewards/attestations/" + std::to_string(e - 2), {}, "[]"));
    for (simdjson::dom::element row : Arr(Field(att, "data"), "total_rewards")) {
      const uint64_t v = Num(row, "validator_index");
      expect[v] += SignedNum(row, "head") + SignedNum(row, "target") + SignedNum(row, "source") +
                   SignedNum(row, "inactivity");
    }
    // The slashing penalty at the end of e - 1: validators that show slashed from e - 1 on.
    simdjson::dom::element vals =
        Parse(parser,
              sim->Get("/eth/v1/beacon/states/" + std::to_string(e * 32 - 1) + "/validators", {}));
    std::set<uint64_t> slashed_prev;
    for (simdjson::dom::element row : Arr(vals, "data")) {
      bool slashed = false;
      ASSERT_EQ(Field(row, "validator")["slashed"].get_bool().get(slashed), simdjson::SUCCESS);
      if (slashed) slashed_prev.insert(Num(row, "index"));
    }
    simdjson::dom::element vals2 =
        Parse(parser,
              sim->Get("/eth/v1/beacon/states/" + std::to_string(e * 32 - 33) + "/validators", {}));
    for (simdjson::dom::element row : Arr(vals2, "data")) {
      bool slashed = false;
      ASSERT_EQ(Field(row, "validator")["slashed"].get_bool().get(slashed), simdjson::SUCCESS);
      if (slashed) slashed_prev.erase(Num(row, "index"));  // already slashed before e - 1
    }
    for (uint64_t v : slashed_prev) {
      expect[v] -= static_cast<int64_t>(kSlashingAmount);
      ++with_penalty;
    }
    // The epoch's blocks: withdrawals, block rewards, sync rewards.
    for (Slot s = e * 32; s < (e + 1) * 32; ++s) {
      ApiResponse b = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(s), {});
      if (b.status == 404) {
        EXPECT_EQ(sim->Get("/eth/v1/beacon/rewards/blocks/" + std::to_string(s), {}).status, 404);
        continue;
      }
      simdjson::dom::element doc = Parse(parser, b);
      for (simdjson::dom::element w :
           Arr(Field(Field(Field(Field(doc, "data"), "message"), "body"), "execution_payload"),
               "withdrawals")) {
        expect[Num(w, "validator_index")] -= static_cast<int64_t>(Num(w, "amount"));
      }
      simdjson::dom::parser parser2, parser3;  // `doc` stays valid
      simdjson::dom::element br =
          Field(Parse(parser2, sim->Get("/eth/v1/beacon/rewards/blocks/" + std::to_string(s), {})),
                "data");
      const uint64_t total = Num(br, "total");
      EXPECT_EQ(total, Num(br, "attestations") + Num(br, "sync_aggregate") +
                           Num(br, "proposer_slashings") + Num(br, "attester_slashings"));
      EXPECT_EQ(Num(br, "proposer_index"), sim->Proposer(s));
      expect[Num(br, "proposer_index")] += static_cast<int64_t>(total);
      touched[Num(br, "proposer_index")] = 1;
      with_whistle += Num(br, "proposer_slashings") + Num(br, "attester_slashings") > 0;
      simdjson::dom::element sr = Parse(
          parser3, sim->Post("/eth/v1/beacon/rewards/sync_committee/" + std::to_string(s), {}, ""));
      uint64_t rows = 0, positive = 0;
      for (simdjson::dom::element row : Arr(sr, "data")) {
        const uint64_t v = Num(row, "validator_index");
        const int64_t reward = SignedNum(row, "reward");
        EXPECT_EQ(reward % 21000, 0);
        expect[v] += reward;
        touched[v] |= 2;
        positive += reward > 0;
        ++rows;
      }
      EXPECT_GT(rows, 400u);  // 512 positions, a few validators hold two
      // The block's sync component: 3000 per set bit of its aggregate.
      auto bits =
          Unhex(Str(Field(Field(Field(Field(doc, "data"), "message"), "body"), "sync_aggregate"),
                    "sync_committee_bits"));
      uint64_t set = 0;
      for (uint8_t byte : *bits) set += static_cast<uint64_t>(__builtin_popcount(byte));
      EXPECT_EQ(Num(br, "sync_aggregate"), set * 3000);
      EXPECT_GT(positive, 0u);
    }
    for (uint64_t v = 0; v < n; ++v) {
      // Balances floor at 0: compare only validators that keep a balance.
      if (before[v] < 1'000'000'000 || after[v] < 1'000'000'000) continue;
      ASSERT_EQ(static_cast<int64_t>(after[v]) - static_cast<int64_t>(before[v]), expect[v])
          << "v=" << v << " e=" << e;
      ++checked;
      with_proposals += (touched[v] & 1) != 0;
      with_sync += (touched[v] & 2) != 0;
    }
  }
  EXPECT_GT(checked, 9 * 2500u);
  EXPECT_GT(with_proposals, 9 * 20u);
  EXPECT_GT(with_sync, 9 * 300u);
  EXPECT_GT(with_penalty, 0u);
  EXPECT_GT(with_whistle, 0u);
}

TEST(RewardsTest, SyncRewardsFilterAndErrors) {
  SimOptions o = Options(2000, 5);
  o.sync_miss_rate = 0.3;
  FakeClock clock;
  auto sim = Make(o, clock, 100);
  simdjson::dom::parser parser;
  simdjson::dom::element all =
      Parse(parser, sim->Post("/eth/v1/beacon/rewards/sync_committee/90", {}, "[]"));
  std::map<uint64_t, int64_t> rows;
  for (simdjson::dom::element row : Arr(all, "data")) {
    rows[Num(row, "validator_index")] = SignedNum(row, "reward");
  }
  ASSERT_GE(rows.size(), 2u);
  // Per validator: its positions in the committee, +21000 per set bit, -21000 per unset one.
  simdjson::dom::element sc =
      Parse(parser, sim->Get("/eth/v1/beacon/states/90/sync_committees", {}));
  std::vector<uint64_t> members;
  for (simdjson::dom::element v : Arr(Field(sc, "data"), "validators")) {
    std::string_view str;
    ASSERT_EQ(v.get_string().get(str), simdjson::SUCCESS);
    members.push_back(std::stoull(std::string(str)));
  }
  simdjson::dom::element block = Parse(parser, sim->Get("/eth/v2/beacon/blocks/90", {}));
  auto bits =
      Unhex(Str(Field(Field(Field(Field(block, "data"), "message"), "body"), "sync_aggregate"),
                "sync_committee_bits"));
  std::map<uint64_t, int64_t> want;
  for (size_t i = 0; i < 512; ++i) {
    want[members[i]] += ((*bits)[i / 8] >> (i % 8)) & 1 ? 21000 : -21000;
  }
  EXPECT_EQ(rows, want);
  // Filtered by index: only the members asked for, unknown and non-members dropped.
  const uint64_t a = rows.begin()->first, b = std::prev(rows.end())->first;
  uint64_t non_member = 0;
  while (rows.count(non_member)) ++non_member;
  simdjson::dom::element some =
      Parse(parser, sim->Post("/eth/v1/beacon/rewards/sync_committee/90", {},
                              "[\"" + std::to_string(a) + "\"," + std::to_string(b) + ",\"" +
                                  std::to_string(non_member) + "\"]"));
  std::map<uint64_t, int64_t> got;
  for (simdjson::dom::element row : Arr(some, "data")) {
    got[Num(row, "validator_index")] = SignedNum(row, "reward");
  }
  EXPECT_EQ(got, (std::map<uint64_t, int64_t>{{a, want[a]}, {b, want[b]}}));
  EXPECT_EQ(sim->Post("/eth/v1/beacon/rewards/sync_committee/90", {}, "{").status, 400);
  EXPECT_EQ(sim->Post("/eth/v1/beacon/rewards/sync_committee/999", {}, "[]").status, 404);
  EXPECT_EQ(sim->Post("/eth/v1/beacon/rewards/sync_committee/x", {}, "[]").status, 400);
  EXPECT_EQ(sim->Get("/eth/v1/beacon/rewards/blocks/abc", {}).status, 400);
  simdjson::dom::element genesis =
      Field(Parse(parser, sim->Get("/eth/v1/beacon/rewards/blocks/0", {})), "data");
  EXPECT_EQ(Num(genesis, "total"), 0u);
}

TEST(FeeRecipientTest, ConfiguredAddressAndWrongRate) {
  SimOptions o = Options(1000, 9);
  o.fee_recipient = "0x1111111111111111111111111111111111111111";
  o.wrong_fee_recipient_rate = 0.2;
  o.missed_slot_rate = 0.1;
  FakeClock clock;
  auto sim = Make(o, clock, 20 * 32);
  simdjson::dom::parser parser;
  uint64_t blocks = 0, wrong = 0;
  std::map<Slot, std::string> by_slot;
  for (Slot s = 1; s < 16 * 32; ++s) {
    ApiResponse r = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(s), {});
    if (r.status != 200) continue;
    simdjson::dom::element doc = Parse(parser, r);
    const std::string fee(
        Str(Field(Field(Field(Field(doc, "data"), "message"), "body"), "execution_payload"),
            "fee_recipient"));
    ASSERT_EQ(fee.size(), 42u);
    ++blocks;
    wrong += fee != o.fee_recipient;
    by_slot[s] = fee;
  }
  EXPECT_NEAR(static_cast<double>(wrong) / static_cast<double>(blocks), 0.2, 0.05);
  // Ground truth per slot: the block's fee recipient, none when missed.
  for (Epoch e = 0; e < 16; ++e) {
    absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(e, 0, 0);
    ASSERT_TRUE(gt.ok());
    for (const SlotTruth& t : gt->slots) {
      if (t.slot == 0) continue;
      ASSERT_EQ(t.fee_recipient.has_value(), by_slot.count(t.slot) == 1) << t.slot;
      if (!t.fee_recipient) continue;
      std::string hex = "0x";
      for (uint8_t byte : *t.fee_recipient) {
        static constexpr char kD[] = "0123456789abcdef";
        hex += kD[byte >> 4];
        hex += kD[byte & 15];
      }
      EXPECT_EQ(hex, by_slot[t.slot]) << t.slot;
    }
  }
  // Without a wrong rate every block pays the default recipient.
  FakeClock clock2;
  auto plain = Make(Options(500, 9), clock2, 40);
  for (Slot s = 1; s <= 40; ++s) {
    simdjson::dom::element doc =
        Parse(parser, plain->Get("/eth/v2/beacon/blocks/" + std::to_string(s), {}));
    EXPECT_EQ(Str(Field(Field(Field(Field(doc, "data"), "message"), "body"), "execution_payload"),
                  "fee_recipient"),
              "0x00000000000000000000000000000000000fee01");
  }
}

TEST(SlashingTest, OperationsInTheFirstBlockOfTheExitInitiatedEpoch) {
  const uint64_t n = 2000;
  SimOptions o = Options(n, 13);
  o.slashed_rate = 0.05;
  o.exited_rate = 0.05;
  o.missed_slot_rate = 0.2;
  FakeClock clock;
  auto sim = Make(o, clock, 36 * 32);
  simdjson::dom::parser parser;
  // Expected: validator v with a slashed lifecycle at exit_initiated_epoch E is slashed in the
  // first block at slot >= max(1, 32 E); even v by the attester slashing, odd v by a proposer one.
  std::map<Slot, std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> want;  // even, odd
  for (uint64_t v = 0; v < n; ++v) {
    const ValidatorLifecycle l = sim->Lifecycle(v);
    if (!l.slashed) continue;
    Slot s = std::max<Slot>(1, l.exit_initiated_epoch * 32);
    while (sim->Get("/eth/v1/beacon/headers/" + std::to_string(s), {}).status != 200) ++s;
    ASSERT_LT(s, (l.exit_initiated_epoch + 1) * 32) << "no block in the epoch for this seed";
    (v % 2 == 0 ? want[s].first : want[s].second).push_back(v);
  }
  ASSERT_GT(want.size(), 5u);
  uint64_t attester_ops = 0, proposer_ops = 0;
  for (Slot s = 1; s < 34 * 32; ++s) {
    ApiResponse r = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(s), {});
    if (r.status != 200) continue;
    simdjson::dom::element doc = Parse(parser, r);
    simdjson::dom::element body = Field(Field(Field(doc, "data"), "message"), "body");
    std::vector<uint64_t> even, odd;
    for (simdjson::dom::element op : Arr(body, "attester_slashings")) {
      ++attester_ops;
      simdjson::dom::element a1 = Field(op, "attestation_1"), a2 = Field(op, "attestation_2");
      std::vector<uint64_t> i1, i2;
      for (simdjson::dom::element x : Arr(a1, "attesting_indices")) {
        std::string_view str;
        ASSERT_EQ(x.get_string().get(str), simdjson::SUCCESS);
        i1.push_back(std::stoull(std::string(str)));
      }
      for (simdjson::dom::element x : Arr(a2, "attesting_indices")) {
        std::string_view str;
        ASSERT_EQ(x.get_string().get(str), simdjson::SUCCESS);
        i2.push_back(std::stoull(std::string(str)));
      }
      EXPECT_EQ(i1, i2);
      even.insert(even.end(), i1.begin(), i1.end());
      // A double vote: same target epoch, different data.
      simdjson::dom::element d1 = Field(a1, "data"), d2 = Field(a2, "data");
      EXPECT_EQ(Num(Field(d1, "target"), "epoch"), Num(Field(d2, "target"), "epoch"));
      EXPECT_NE(Str(d1, "beacon_block_root"), Str(d2, "beacon_block_root"));
      EXPECT_EQ(Unhex(Str(a1, "signature"))->size(), 96u);
    }
    for (simdjson::dom::element op : Arr(body, "proposer_slashings")) {
      ++proposer_ops;
      simdjson::dom::element h1 = Field(Field(op, "signed_header_1"), "message");
      simdjson::dom::element h2 = Field(Field(op, "signed_header_2"), "message");
      EXPECT_EQ(Num(h1, "slot"), Num(h2, "slot"));
      EXPECT_EQ(Num(h1, "proposer_index"), Num(h2, "proposer_index"));
      EXPECT_NE(Str(h1, "body_root"), Str(h2, "body_root"));
      odd.push_back(Num(h1, "proposer_index"));
    }
    auto it = want.find(s);
    const std::vector<uint64_t> want_even =
        it == want.end() ? std::vector<uint64_t>{} : it->second.first;
    const std::vector<uint64_t> want_odd =
        it == want.end() ? std::vector<uint64_t>{} : it->second.second;
    EXPECT_EQ(even, want_even) << s;
    EXPECT_EQ(odd, want_odd) << s;
    simdjson::dom::parser parser2;  // `doc` stays valid
    // The proposer's whistleblower rewards.
    simdjson::dom::element br = Field(
        Parse(parser2, sim->Get("/eth/v1/beacon/rewards/blocks/" + std::to_string(s), {})), "data");
    EXPECT_EQ(Num(br, "attester_slashings"), want_even.size() * kSlashingAmount) << s;
    EXPECT_EQ(Num(br, "proposer_slashings"), want_odd.size() * kSlashingAmount) << s;
  }
  EXPECT_GT(attester_ops, 0u);
  EXPECT_GT(proposer_ops, 0u);
  // Ground truth lists the same operations at the same slots.
  std::map<Slot, std::pair<std::vector<uint64_t>, std::vector<uint64_t>>> truth;
  for (Epoch e = 0; e < 34; ++e) {
    absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(e, 0, 0);
    ASSERT_TRUE(gt.ok());
    for (const SlotTruth& t : gt->slots) {
      for (const SlashingOp& op : t.slashings) {
        (op.kind == SlashingKind::kAttester ? truth[t.slot].first : truth[t.slot].second)
            .push_back(op.validator_index);
      }
    }
  }
  EXPECT_EQ(truth, want);
}

}  // namespace
}  // namespace stakewatch::sim
