#include "sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/ground_truth.h"
#include "sim/test_util.h"
#include "simdjson.h"

namespace stakewatch::sim {
namespace {

using ::stakewatch::sim::testing::Arr;
using ::stakewatch::sim::testing::Bit;
using ::stakewatch::sim::testing::BitlistLength;
using ::stakewatch::sim::testing::Field;
using ::stakewatch::sim::testing::Num;
using ::stakewatch::sim::testing::Str;
using ::stakewatch::sim::testing::Unhex;

constexpr int64_t kGenesis = 1'700'000'000;

SimOptions Options(uint64_t n, uint64_t seed = 7) {
  SimOptions o;
  o.validators = n;
  o.seed = seed;
  o.seconds_per_slot = 12;
  o.genesis_time = absl::FromUnixSeconds(kGenesis);
  return o;
}

// Sets the clock to the middle of `slot`.
void SetHead(FakeClock& clock, Slot slot) {
  clock.SetTime(absl::FromUnixSeconds(kGenesis + static_cast<int64_t>(slot) * 12 + 6));
}

std::unique_ptr<ChainSimulator> Make(const SimOptions& o, FakeClock& clock) {
  absl::StatusOr<std::unique_ptr<ChainSimulator>> sim = ChainSimulator::Create(o, &clock);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return std::move(sim).value();
}

// The spec's committee count and compute_committee slice sizes, written out independently.
uint64_t SpecCommitteesPerSlot(uint64_t n) {
  return std::max<uint64_t>(1, std::min<uint64_t>(64, n / 32 / 128));
}
uint64_t SpecCommitteeSize(uint64_t n, uint64_t slot, uint64_t index) {
  const uint64_t cps = SpecCommitteesPerSlot(n);
  const uint64_t k = (slot % 32) * cps + index;
  return n * (k + 1) / (32 * cps) - n * k / (32 * cps);
}

// committees[slot][index] = validators, decoded from a committees response.
using Committees = std::map<std::pair<uint64_t, uint64_t>, std::vector<uint64_t>>;

Committees DecodeCommittees(const std::string& body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(body).get(doc), simdjson::SUCCESS);
  Committees out;
  for (simdjson::dom::element c : Arr(doc, "data")) {
    std::vector<uint64_t>& members = out[{Num(c, "slot"), Num(c, "index")}];
    EXPECT_TRUE(members.empty()) << "committee listed twice";
    for (simdjson::dom::element v : Arr(c, "validators")) {
      std::string_view s;
      EXPECT_EQ(v.get_string().get(s), simdjson::SUCCESS);
      members.push_back(std::stoull(std::string(s)));
    }
  }
  return out;
}

void CheckCommitteeShape(uint64_t n, Epoch epoch, const Committees& committees) {
  const uint64_t cps = SpecCommitteesPerSlot(n);
  ASSERT_EQ(committees.size(), 32 * cps) << "N=" << n;
  std::vector<uint8_t> seen(n, 0);
  for (const auto& [key, members] : committees) {
    const auto [slot, index] = key;
    ASSERT_EQ(slot / 32, epoch);
    ASSERT_LT(index, cps);
    ASSERT_EQ(members.size(), SpecCommitteeSize(n, slot, index)) << "N=" << n << " slot=" << slot;
    for (uint64_t v : members) {
      ASSERT_LT(v, n);
      ++seen[v];
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<ptrdiff_t>(n))
      << "every validator exactly once";
}

TEST(SimulatorTest, CommitteeSizesMatchSpecFormula) {
  for (uint64_t n : {1ULL, 31ULL, 1000ULL, 4096ULL, 20000ULL, 300000ULL}) {
    FakeClock clock;
    auto sim = Make(Options(n), clock);
    SetHead(clock, 70);
    EXPECT_EQ(sim->committees_per_slot(), SpecCommitteesPerSlot(n));
    ApiResponse r = sim->Get("/eth/v1/beacon/states/head/committees", {{"epoch", "1"}});
    ASSERT_EQ(r.status, 200) << r.Body();
    CheckCommitteeShape(n, 1, DecodeCommittees(r.Body()));
  }
}

TEST(SimulatorTest, CommitteesOfMainnetSizeAreFastAndCorrect) {
  const uint64_t n = 1'100'000;
  FakeClock clock;
  auto sim = Make(Options(n), clock);
  SetHead(clock, 200);
  ASSERT_EQ(SpecCommitteesPerSlot(n), 64u);
  const auto t0 = std::chrono::steady_clock::now();
  ApiResponse r = sim->Get("/eth/v1/beacon/states/head/committees", {});
  const auto t1 = std::chrono::steady_clock::now();
  ASSERT_EQ(r.status, 200);
  std::cout << "[ timing ] committees for one epoch at N=1.1M: " << r.size() << " bytes in "
            << std::chrono::duration<double, std::milli>(t1 - t0).count() << " ms (cold)\n";
  CheckCommitteeShape(n, 200 / 32, DecodeCommittees(r.Body()));
  // Filtered by slot and index: one committee with the same members as the full listing.
  ApiResponse one =
      sim->Get("/eth/v1/beacon/states/head/committees", {{"slot", "193"}, {"index", "63"}});
  ASSERT_EQ(one.status, 200) << one.Body();
  Committees c = DecodeCommittees(one.Body());
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c.begin()->first, std::make_pair(uint64_t{193}, uint64_t{63}));
  EXPECT_EQ(c.begin()->second.size(), SpecCommitteeSize(n, 193, 63));
  EXPECT_EQ(c.begin()->second, sim->Committee(193, 63));
}

TEST(SimulatorTest, SameSeedSameBytesDifferentSeedDifferentBytes) {
  SimOptions o = Options(5000, 42);
  o.missed_slot_rate = 0.2;
  o.late_attestation_rate = 0.3;
  o.wrong_head_rate = 0.1;
  o.duplicate_inclusion_rate = 0.1;
  FakeClock clock_a, clock_b;
  auto a = Make(o, clock_a);
  auto b = Make(o, clock_b);
  SetHead(clock_a, 100);
  SetHead(clock_b, 100);
  const char* paths[] = {"/eth/v2/beacon/blocks/head", "/eth/v1/beacon/states/90/committees",
                         "/eth/v1/beacon/headers/head", "/eth/v1/validator/duties/proposer/3"};
  for (const char* p : paths) EXPECT_EQ(a->Get(p, {}).Body(), b->Get(p, {}).Body()) << p;
  // An old block is unchanged later on (and from a different cache state).
  const Slot old = a->LatestBlockSlotAt(80);
  const std::string path = "/eth/v2/beacon/blocks/" + std::to_string(old);
  const std::string before = a->Get(path, {}).Body();
  SetHead(clock_b, 500);
  std::string after = b->Get(path, {}).Body();
  // Only the "finalized" flag may change as time passes.
  const size_t at = after.find("\"finalized\":true");
  ASSERT_NE(at, std::string::npos);
  after.replace(at, 16, "\"finalized\":false");
  EXPECT_EQ(before, after);

  SimOptions other = o;
  other.seed = 43;
  FakeClock clock_c;
  auto c = Make(other, clock_c);
  SetHead(clock_c, 100);
  EXPECT_NE(a->Get("/eth/v1/beacon/states/90/committees", {}).Body(),
            c->Get("/eth/v1/beacon/states/90/committees", {}).Body());
}

// Decodes every block of two epochs by hand and compares the included votes with the ground
// truth: first inclusions plus duplicates, head correctness, bitlists and committee bits.
TEST(SimulatorTest, BlockAggregatesMatchGroundTruth) {
  const uint64_t n = 20000;  // 4 committees per slot
  SimOptions o = Options(n, 99);
  o.missed_slot_rate = 0.2;
  o.missed_attestation_rate = 0.1;
  o.late_attestation_rate = 0.2;
  o.wrong_head_rate = 0.1;
  o.duplicate_inclusion_rate = 0.1;
  FakeClock clock;
  auto sim = Make(o, clock);
  SetHead(clock, 160);  // epochs 0..2 are final

  // Canonical chain from the headers endpoint: root of each non-empty slot.
  std::map<Slot, std::string> roots;
  simdjson::dom::parser parser;
  for (Slot s = 0; s < 128; ++s) {
    ApiResponse h = sim->Get("/eth/v1/beacon/headers/" + std::to_string(s), {});
    if (h.status == 404) continue;
    ASSERT_EQ(h.status, 200);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(h.Body()).get(doc), simdjson::SUCCESS);
    roots[s] = std::string(Str(Field(doc, "data"), "root"));
  }
  auto canonical = [&](Slot s) { return std::prev(roots.upper_bound(s))->second; };

  // Ground truth for epochs 0..2 and committees of those epochs from the API.
  std::map<std::pair<ValidatorIndex, Slot>, ValidatorEpochTruth> truth;
  Committees committees;
  uint64_t missed = 0, included = 0, late = 0, wrong = 0, dups = 0;
  for (Epoch e = 0; e <= 2; ++e) {
    absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(e);
    ASSERT_TRUE(gt.ok()) << gt.status();
    ASSERT_EQ(gt->validators.size(), n);
    ASSERT_EQ(gt->slots.size(), 32u);
    for (const SlotTruth& st : gt->slots) {
      EXPECT_EQ(st.proposed, roots.count(st.slot) == 1) << st.slot;
      EXPECT_EQ(st.proposer_index, sim->Proposer(st.slot));
    }
    for (const ValidatorEpochTruth& t : gt->validators) {
      truth[{t.validator_index, t.duty_slot}] = t;
      missed += !t.attested;
      included += t.included;
      late += t.included && t.inclusion_slot - t.duty_slot > 1;
      wrong += t.wrong_head;
      dups += t.duplicate_slot.has_value();
      if (t.included) {
        EXPECT_GT(t.inclusion_slot, t.duty_slot);
        EXPECT_LT(t.inclusion_slot, (e + 2) * 32) << "EIP-7045 window";
        EXPECT_EQ(roots.count(t.inclusion_slot), 1u) << "included in an empty slot";
      }
      if (t.duplicate_slot) {
        EXPECT_TRUE(t.included);
        EXPECT_GT(*t.duplicate_slot, t.inclusion_slot);
      }
    }
    ApiResponse c =
        sim->Get("/eth/v1/beacon/states/head/committees", {{"epoch", std::to_string(e)}});
    ASSERT_EQ(c.status, 200);
    // The state at the epoch's first slot defaults to that epoch: same list.
    ApiResponse c2 =
        sim->Get("/eth/v1/beacon/states/" + std::to_string(e * 32) + "/committees", {});
    ASSERT_EQ(c2.status, 200);
    EXPECT_EQ(DecodeCommittees(c2.Body()), DecodeCommittees(c.Body()));
    Committees ce = DecodeCommittees(c.Body());
    committees.insert(ce.begin(), ce.end());
  }
  // The rates show up roughly (3 * 20000 votes).
  const double votes = 3.0 * n;
  EXPECT_NEAR(missed / votes, 0.1, 0.02);
  EXPECT_NEAR(wrong / votes, 0.1, 0.02);
  EXPECT_GT(late, 0.1 * votes);
  EXPECT_GT(dups, 0.05 * votes);
  EXPECT_GT(included, 0.8 * votes);

  // Position of each truth record must match the committees endpoint.
  for (const auto& [key, t] : truth) {
    const std::vector<uint64_t>& members = committees.at({t.duty_slot, t.committee_index});
    ASSERT_LT(t.committee_position, members.size());
    ASSERT_EQ(members[t.committee_position], t.validator_index);
  }

  // Blocks 33..95 include votes from duty slots of epochs 0..2 only.
  uint64_t decoded_votes = 0, multi_committee_aggregates = 0;
  for (Slot b = 33; b < 96; ++b) {
    ApiResponse r = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(b), {});
    if (roots.count(b) == 0) {
      EXPECT_EQ(r.status, 404);
      continue;
    }
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.electra_header);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(Str(doc, "version"), "electra");
    simdjson::dom::element msg = Field(Field(doc, "data"), "message");
    EXPECT_EQ(Num(msg, "slot"), b);
    EXPECT_EQ(Num(msg, "proposer_index"), sim->Proposer(b));
    EXPECT_EQ(Str(msg, "parent_root"), canonical(b - 1));
    std::multiset<std::pair<ValidatorIndex, Slot>> got;
    for (simdjson::dom::element att : Arr(Field(msg, "body"), "attestations")) {
      simdjson::dom::element data = Field(att, "data");
      const Slot s = Num(data, "slot");
      ASSERT_LT(s, b);
      EXPECT_EQ(Num(data, "index"), 0u);
      EXPECT_EQ(Num(Field(data, "target"), "epoch"), s / 32);
      EXPECT_EQ(Str(Field(data, "target"), "root"), canonical(s / 32 * 32));
      const bool head_ok = Str(data, "beacon_block_root") == canonical(s);
      auto cbits = Unhex(Str(att, "committee_bits"));
      auto abits = Unhex(Str(att, "aggregation_bits"));
      ASSERT_TRUE(cbits && abits);
      ASSERT_EQ(cbits->size(), 8u);
      const int64_t len = BitlistLength(*abits);
      ASSERT_GE(len, 0) << "no length marker";
      EXPECT_EQ(abits->size(), static_cast<size_t>(len / 8 + 1)) << "no trailing zero bytes";
      uint64_t offset = 0;
      int set_committees = 0;
      for (uint64_t c = 0; c < 64; ++c) {
        if (!Bit(*cbits, c)) continue;
        ASSERT_LT(c, SpecCommitteesPerSlot(n)) << "committee bit beyond committees_per_slot";
        ++set_committees;
        const std::vector<uint64_t>& members = committees.at({s, c});
        int in_committee = 0;
        for (size_t i = 0; i < members.size(); ++i) {
          ASSERT_LT(offset + i, static_cast<uint64_t>(len));
          if (Bit(*abits, offset + i)) {
            got.insert({members[i], s});
            ++in_committee;
            const ValidatorEpochTruth& t = truth.at({members[i], s});
            EXPECT_EQ(t.wrong_head, !head_ok) << "v=" << members[i] << " s=" << s;
          }
        }
        EXPECT_GT(in_committee, 0) << "committee bit set for a committee with no votes";
        offset += members.size();
      }
      EXPECT_EQ(offset, static_cast<uint64_t>(len)) << "bitlist length != sum of committees";
      multi_committee_aggregates += set_committees > 1;
    }
    std::multiset<std::pair<ValidatorIndex, Slot>> want;
    for (const auto& [key, t] : truth) {
      if ((t.included && t.inclusion_slot == b) || (t.duplicate_slot == b)) want.insert(key);
    }
    ASSERT_EQ(got, want) << "block " << b;
    decoded_votes += got.size();
  }
  EXPECT_GT(decoded_votes, 30000u);
  EXPECT_GT(multi_committee_aggregates, 0u);
}

TEST(SimulatorTest, IdsEmptySlotsAndErrors) {
  SimOptions o = Options(2000, 5);
  o.missed_slot_rate = 0.3;
  FakeClock clock;
  auto sim = Make(o, clock);
  SetHead(clock, 200);  // epoch 6: finalized 4, justified 5
  Slot empty = 0;
  for (Slot s = 1; s < 200 && empty == 0; ++s) {
    if (sim->Get("/eth/v1/beacon/headers/" + std::to_string(s), {}).status == 404) empty = s;
  }
  ASSERT_NE(empty, 0u) << "no empty slot at 30% miss rate";
  ApiResponse r = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(empty), {});
  EXPECT_EQ(r.status, 404);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
  int64_t code = 0;
  ASSERT_EQ(doc["code"].get_int64().get(code), simdjson::SUCCESS);
  EXPECT_EQ(code, 404);
  EXPECT_FALSE(Str(doc, "message").empty());
  EXPECT_EQ(sim->Get("/eth/v2/beacon/blocks/" + std::to_string(empty) + "/attestations", {}).status,
            404);
  // Future slots are 404; malformed ids are 400.
  EXPECT_EQ(sim->Get("/eth/v1/beacon/headers/201", {}).status, 404);
  EXPECT_EQ(sim->Get("/eth/v2/beacon/blocks/99999999999", {}).status, 404);
  EXPECT_EQ(sim->Get("/eth/v1/beacon/states/5000/committees", {}).status, 404);
  for (const char* bad : {"12a", "-1", "0x1234", "99999999999999999999999", "latest", ""}) {
    EXPECT_EQ(sim->Get(std::string("/eth/v1/beacon/headers/") + bad, {}).status, *bad ? 400 : 404)
        << bad;
  }
  EXPECT_EQ(sim->Get("/eth/v1/beacon/states/x/finality_checkpoints", {}).status, 400);
  EXPECT_EQ(sim->Get("/eth/v1/beacon/states/head/committees", {{"epoch", "abc"}}).status, 400);
  EXPECT_EQ(sim->Get("/eth/v1/beacon/states/head/committees", {{"slot", "5"}}).status, 400);
  EXPECT_EQ(sim->Get("/eth/v1/beacon/states/head/committees", {{"index", "1"}}).status, 400);
  EXPECT_EQ(sim->Get("/eth/v1/nope", {}).status, 404);

  // Headers and blocks by root give the same slot; an unknown root is 404.
  for (Slot s : {Slot{0}, Slot{77}, Slot{150}}) {
    const Slot b = sim->LatestBlockSlotAt(s);
    ApiResponse h = sim->Get("/eth/v1/beacon/headers/" + std::to_string(b), {});
    ASSERT_EQ(h.status, 200);
    ASSERT_EQ(parser.parse(h.Body()).get(doc), simdjson::SUCCESS);
    const std::string root(Str(Field(doc, "data"), "root"));
    const std::string state_root(
        Str(Field(Field(Field(doc, "data"), "header"), "message"), "state_root"));
    ApiResponse by_root = sim->Get("/eth/v1/beacon/headers/" + root, {});
    EXPECT_EQ(by_root.Body(), h.Body());
    ApiResponse block = sim->Get("/eth/v2/beacon/blocks/" + root, {});
    ASSERT_EQ(block.status, 200);
    ASSERT_EQ(parser.parse(block.Body()).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(Num(Field(Field(doc, "data"), "message"), "slot"), b);
    EXPECT_EQ(Str(Field(Field(doc, "data"), "message"), "state_root"), state_root);
    EXPECT_EQ(sim->Get("/eth/v1/beacon/states/" + state_root + "/finality_checkpoints", {}).status,
              200);
    std::string other = root;
    other[10] = other[10] == 'a' ? 'b' : 'a';
    EXPECT_EQ(sim->Get("/eth/v1/beacon/headers/" + other, {}).status, 404);
  }
  // Named ids.
  auto slot_of = [&](const std::string& id) -> uint64_t {
    ApiResponse h = sim->Get("/eth/v1/beacon/headers/" + id, {});
    EXPECT_EQ(h.status, 200) << id;
    simdjson::dom::element d;
    EXPECT_EQ(parser.parse(h.Body()).get(d), simdjson::SUCCESS);
    return Num(Field(Field(Field(d, "data"), "header"), "message"), "slot");
  };
  EXPECT_EQ(slot_of("genesis"), 0u);
  EXPECT_EQ(slot_of("head"), sim->LatestBlockSlotAt(200));
  EXPECT_EQ(slot_of("finalized"), sim->LatestBlockSlotAt(4 * 32));

  ApiResponse f = sim->Get("/eth/v1/beacon/states/head/finality_checkpoints", {});
  ASSERT_EQ(f.status, 200);
  ASSERT_EQ(parser.parse(f.Body()).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(Num(Field(Field(doc, "data"), "finalized"), "epoch"), 4u);
  EXPECT_EQ(Num(Field(Field(doc, "data"), "current_justified"), "epoch"), 5u);
  const std::string fin_root(Str(Field(Field(doc, "data"), "finalized"), "root"));
  ApiResponse fh = sim->Get("/eth/v1/beacon/headers/finalized", {});
  ASSERT_EQ(parser.parse(fh.Body()).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(Str(Field(doc, "data"), "root"), fin_root);
  bool finalized = false;
  ASSERT_EQ(doc["finalized"].get_bool().get(finalized), simdjson::SUCCESS);
  EXPECT_TRUE(finalized);
}

TEST(SimulatorTest, ProposerDutiesSpecGenesisSyncing) {
  SimOptions o = Options(3000, 11);
  o.seconds_per_slot = 0.1;
  FakeClock clock;
  auto sim = Make(o, clock);
  clock.SetTime(absl::FromUnixSeconds(kGenesis) + absl::Milliseconds(100 * 70 + 50));  // slot 70
  EXPECT_EQ(sim->HeadSlot(), 70u);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ApiResponse d = sim->Get("/eth/v1/validator/duties/proposer/3", {});  // current + 1
  ASSERT_EQ(d.status, 200) << d.Body();
  ASSERT_EQ(parser.parse(d.Body()).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(Unhex(Str(doc, "dependent_root"))->size(), 32u);
  uint64_t i = 0;
  for (simdjson::dom::element duty : Arr(doc, "data")) {
    EXPECT_EQ(Num(duty, "slot"), 96 + i);
    EXPECT_LT(Num(duty, "validator_index"), 3000u);
    EXPECT_EQ(Unhex(Str(duty, "pubkey"))->size(), 48u);
    ++i;
  }
  EXPECT_EQ(i, 32u);
  EXPECT_EQ(sim->Get("/eth/v1/validator/duties/proposer/4", {}).status, 400);
  EXPECT_EQ(sim->Get("/eth/v1/validator/duties/proposer/x", {}).status, 400);

  ApiResponse spec = sim->Get("/eth/v1/config/spec", {});
  ASSERT_EQ(parser.parse(spec.Body()).get(doc), simdjson::SUCCESS);
  simdjson::dom::element data = Field(doc, "data");
  EXPECT_EQ(Str(data, "CONFIG_NAME"), "stakewatch-sim");
  EXPECT_EQ(Str(data, "SECONDS_PER_SLOT"), "1");  // a uint64 in real configs
  EXPECT_EQ(Str(data, "SLOT_DURATION_MS"), "100");
  EXPECT_EQ(Str(data, "SLOTS_PER_EPOCH"), "32");
  EXPECT_EQ(Str(data, "ELECTRA_FORK_EPOCH"), "0");
  EXPECT_EQ(Str(data, "MAX_COMMITTEES_PER_SLOT"), "64");
  EXPECT_EQ(Str(data, "TARGET_COMMITTEE_SIZE"), "128");

  ApiResponse g = sim->Get("/eth/v1/beacon/genesis", {});
  ASSERT_EQ(parser.parse(g.Body()).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(Num(Field(doc, "data"), "genesis_time"), static_cast<uint64_t>(kGenesis));
  ApiResponse s = sim->Get("/eth/v1/node/syncing", {});
  ASSERT_EQ(parser.parse(s.Body()).get(doc), simdjson::SUCCESS);
  EXPECT_EQ(Num(Field(doc, "data"), "head_slot"), 70u);
  EXPECT_EQ(Num(Field(doc, "data"), "sync_distance"), 0u);
  EXPECT_EQ(sim->Get("/eth/v1/node/health", {}).status, 200);
}

TEST(SimulatorTest, BlockHasSyncAggregateAndExecutionPayload) {
  FakeClock clock;
  auto sim = Make(Options(1000), clock);
  SetHead(clock, 40);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  uint64_t prev_number = 0;
  for (Slot b : {Slot{39}, Slot{40}}) {
    ApiResponse r = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(b), {});
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
    simdjson::dom::element body = Field(Field(Field(doc, "data"), "message"), "body");
    EXPECT_EQ(Unhex(Str(Field(body, "sync_aggregate"), "sync_committee_bits"))->size(), 64u);
    simdjson::dom::element payload = Field(body, "execution_payload");
    EXPECT_EQ(Unhex(Str(payload, "fee_recipient"))->size(), 20u);
    EXPECT_EQ(Unhex(Str(payload, "block_hash"))->size(), 32u);
    // No missed slots: the execution block number is the slot.
    EXPECT_EQ(Num(payload, "block_number"), b);
    EXPECT_GT(Num(payload, "block_number"), prev_number);
    prev_number = Num(payload, "block_number");
    EXPECT_GE(Arr(payload, "withdrawals").size(), 1u);
    EXPECT_EQ(Unhex(Str(Field(doc, "data"), "signature"))->size(), 96u);
  }
}

TEST(SimulatorTest, GroundTruthOnlyForClosedEpochs) {
  FakeClock clock;
  auto sim = Make(Options(1000), clock);
  SetHead(clock, 95);
  EXPECT_TRUE(sim->GroundTruth(0).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sim->GroundTruth(1).status()));
  SetHead(clock, 96);
  absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(1, 10, 19);
  ASSERT_TRUE(gt.ok());
  ASSERT_EQ(gt->validators.size(), 10u);
  EXPECT_EQ(gt->validators.front().validator_index, 10u);
  for (const ValidatorEpochTruth& t : gt->validators) {
    // No failures configured: every vote lands in the next slot with the right head.
    EXPECT_TRUE(t.attested && t.included && !t.wrong_head);
    EXPECT_EQ(t.inclusion_slot, t.duty_slot + 1);
    EXPECT_EQ(t.duty_slot / 32, 1u);
  }
  EXPECT_TRUE(absl::IsFailedPrecondition(sim->GroundTruth(UINT64_MAX).status()));
}

TEST(GroundTruthWriterTest, WritesJsonLinesPerCompletedEpoch) {
  SimOptions o = Options(500, 3);
  o.missed_slot_rate = 0.5;
  o.missed_attestation_rate = 0.3;
  FakeClock clock;
  auto sim = Make(o, clock);
  SetHead(clock, 100);  // epochs 0 and 1 complete
  const std::string path = ::testing::TempDir() + "/sim_ground_truth.jsonl";
  GroundTruthWriter writer(sim.get(), path, 100, 109);
  ASSERT_TRUE(writer.Open().ok());
  absl::StatusOr<int> n = writer.WriteCompletedEpochs();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(*writer.WriteCompletedEpochs(), 0);
  SetHead(clock, 128);
  EXPECT_EQ(*writer.WriteCompletedEpochs(), 1);

  simdjson::dom::parser parser;
  simdjson::dom::document_stream stream;
  simdjson::padded_string text;
  ASSERT_EQ(simdjson::padded_string::load(path).get(text), simdjson::SUCCESS);
  ASSERT_EQ(parser.parse_many(text).get(stream), simdjson::SUCCESS);
  int validator_lines = 0, slot_lines = 0, missed_lines = 0;
  for (auto line : stream) {
    simdjson::dom::element e;
    ASSERT_EQ(line.get(e), simdjson::SUCCESS);
    uint64_t v = 0;
    if (e["validator_index"].get_uint64().get(v) == simdjson::SUCCESS) {
      ++validator_lines;
      EXPECT_GE(v, 100u);
      EXPECT_LE(v, 109u);
      bool included = false;
      ASSERT_EQ(e["included"].get_bool().get(included), simdjson::SUCCESS);
      if (!included) {
        ++missed_lines;
        EXPECT_TRUE(e["inclusion_slot"].is_null());
        EXPECT_TRUE(e["inclusion_delay"].is_null());
      } else {
        uint64_t slot = 0, duty = 0, delay = 0;
        ASSERT_EQ(e["inclusion_slot"].get_uint64().get(slot), simdjson::SUCCESS);
        ASSERT_EQ(e["duty_slot"].get_uint64().get(duty), simdjson::SUCCESS);
        ASSERT_EQ(e["inclusion_delay"].get_uint64().get(delay), simdjson::SUCCESS);
        EXPECT_EQ(slot - duty, delay);
      }
    } else {
      ++slot_lines;
      uint64_t slot = 0;
      bool proposed = false;
      ASSERT_EQ(e["slot"].get_uint64().get(slot), simdjson::SUCCESS);
      ASSERT_EQ(e["proposed"].get_bool().get(proposed), simdjson::SUCCESS);
      EXPECT_EQ(proposed,
                sim->Get("/eth/v1/beacon/headers/" + std::to_string(slot), {}).status == 200);
    }
  }
  EXPECT_EQ(validator_lines, 30);
  EXPECT_EQ(slot_lines, 96);
  EXPECT_GT(missed_lines, 0);
}

}  // namespace
}  // namespace stakewatch::sim

namespace stakewatch::sim {
namespace {

using ::stakewatch::sim::testing::Arr;
using ::stakewatch::sim::testing::Field;
using ::stakewatch::sim::testing::Num;

constexpr int64_t kGenesis2 = 1'700'000'000;

std::unique_ptr<ChainSimulator> MakeAt(const SimOptions& o, FakeClock& clock, Slot head) {
  clock.SetTime(absl::FromUnixSeconds(kGenesis2 + static_cast<int64_t>(head) * 12 + 6));
  absl::StatusOr<std::unique_ptr<ChainSimulator>> sim = ChainSimulator::Create(o, &clock);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return std::move(sim).value();
}

SimOptions Options2(uint64_t n, uint64_t seed) {
  SimOptions o;
  o.validators = n;
  o.seed = seed;
  o.genesis_time = absl::FromUnixSeconds(kGenesis2);
  return o;
}

// Members of every committee of `epoch`, from the committees endpoint.
std::vector<uint64_t> CommitteeMembers(const ChainSimulator& sim, Epoch epoch,
                                       std::map<std::pair<uint64_t, uint64_t>, uint64_t>* sizes) {
  ApiResponse r =
      sim.Get("/eth/v1/beacon/states/head/committees", {{"epoch", std::to_string(epoch)}});
  EXPECT_EQ(r.status, 200);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
  std::vector<uint64_t> out;
  for (simdjson::dom::element c : Arr(doc, "data")) {
    uint64_t size = 0;
    for (simdjson::dom::element v : Arr(c, "validators")) {
      std::string_view s;
      EXPECT_EQ(v.get_string().get(s), simdjson::SUCCESS);
      out.push_back(std::stoull(std::string(s)));
      ++size;
    }
    if (sizes) (*sizes)[{Num(c, "slot"), Num(c, "index")}] = size;
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(LifecycleTest, ExitedSlashedAndPendingValidatorsLeaveCommitteesAndProposals) {
  const uint64_t n = 20000, pending = 300;
  SimOptions o = Options2(n, 21);
  o.exited_rate = 0.10;
  o.slashed_rate = 0.05;
  o.pending_count = pending;
  FakeClock clock;
  auto sim = MakeAt(o, clock, 40 * 32);
  EXPECT_EQ(sim->total_validators(), n + pending);

  // Allowed status order (each validator moves forward only).
  const std::map<std::string, int, std::less<>> kUnslashed = {{"active_ongoing", 0},
                                                              {"active_exiting", 1},
                                                              {"exited_unslashed", 2},
                                                              {"withdrawal_possible", 3},
                                                              {"withdrawal_done", 4}};
  const std::map<std::string, int, std::less<>> kSlashed = {{"active_ongoing", 0},
                                                            {"active_slashed", 1},
                                                            {"exited_slashed", 2},
                                                            {"withdrawal_possible", 3},
                                                            {"withdrawal_done", 4}};
  std::vector<int> stage(n + pending, 0);
  std::vector<int> kind(n + pending, 0);  // 0 unknown, 1 unslashed path, 2 slashed path
  std::vector<uint8_t> was_out(n, 0);
  for (Epoch e = 0; e <= 37; ++e) {
    std::map<std::pair<uint64_t, uint64_t>, uint64_t> sizes;
    std::vector<uint64_t> members = CommitteeMembers(*sim, e, &sizes);
    std::set<uint64_t> in(members.begin(), members.end());
    ASSERT_EQ(in.size(), members.size()) << "a validator in two committees";
    const uint64_t a = members.size();
    // Committee count and sizes per the spec formula, with the epoch's active count.
    const uint64_t cps = std::max<uint64_t>(1, std::min<uint64_t>(64, a / 32 / 128));
    EXPECT_EQ(sizes.size(), 32 * cps) << "epoch " << e;
    EXPECT_EQ(sim->CommitteesPerSlot(e), cps);
    for (const auto& [key, size] : sizes) {
      const uint64_t k = (key.first % 32) * cps + key.second;
      EXPECT_EQ(size, a * (k + 1) / (32 * cps) - a * k / (32 * cps));
    }
    if (e == 0) {
      EXPECT_EQ(a, n) << "nobody exits before epoch 1";
    }
    if (e == 33) {
      // Everyone who exits has done so by epoch 32: about 15% of the genesis validators.
      EXPECT_NEAR(static_cast<double>(n - a) / n, 0.15, 0.015);
    }
    EXPECT_LT(*in.rbegin(), n) << "a pending validator is in a committee";
    for (uint64_t v = 0; v < n; ++v) {
      if (was_out[v]) {
        EXPECT_EQ(in.count(v), 0u) << "validator " << v << " came back";
      }
      if (!in.count(v)) was_out[v] = 1;
    }
    // Proposers come from the epoch's committees (the active set).
    for (Slot s = e * 32; s < e * 32 + 32; ++s) EXPECT_EQ(in.count(sim->Proposer(s)), 1u) << s;

    absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(e);
    ASSERT_TRUE(gt.ok()) << gt.status();
    ASSERT_EQ(gt->validators.size(), n + pending);
    for (const ValidatorEpochTruth& t : gt->validators) {
      const uint64_t v = t.validator_index;
      EXPECT_EQ(t.active, in.count(v) == 1) << v;
      if (v >= n) {
        EXPECT_EQ(t.status, "pending_initialized");
        EXPECT_EQ(t.balance, 32'000'000'000u);
        continue;
      }
      const bool active_status = t.status.rfind("active_", 0) == 0;
      EXPECT_EQ(active_status, t.active) << v << " " << t.status;
      if (!t.active) {
        EXPECT_FALSE(t.attested);
      }
      int now = -1;
      if (t.status == "active_exiting" || t.status == "exited_unslashed") kind[v] = 1;
      if (t.status == "active_slashed" || t.status == "exited_slashed") kind[v] = 2;
      const auto& order = kind[v] == 2 ? kSlashed : kUnslashed;
      auto it = order.find(t.status);
      ASSERT_NE(it, order.end()) << t.status;
      now = it->second;
      EXPECT_GE(now, stage[v]) << "status went back for " << v;
      stage[v] = now;
      EXPECT_EQ(t.effective_balance, t.balance > 0 ? 32'000'000'000u : 0u);
      EXPECT_EQ(t.balance == 0, t.status == "withdrawal_done") << v;
    }
  }
  // Every leaver passed through active_exiting or active_slashed (at exit epoch - 1).
  uint64_t slashed = 0, exited = 0;
  for (uint64_t v = 0; v < n; ++v) {
    slashed += kind[v] == 2;
    exited += kind[v] == 1;
  }
  EXPECT_NEAR(slashed / static_cast<double>(n), 0.05, 0.01);
  EXPECT_NEAR(exited / static_cast<double>(n), 0.10, 0.015);
}

TEST(LifecycleTest, DefaultRatesKeepEveryoneActive) {
  FakeClock clock;
  auto sim = MakeAt(Options2(3000, 4), clock, 300);
  for (Epoch e : {0, 3, 7}) {
    std::vector<uint64_t> members = CommitteeMembers(*sim, e, nullptr);
    ASSERT_EQ(members.size(), 3000u);
    for (uint64_t i = 0; i < members.size(); ++i) ASSERT_EQ(members[i], i);
  }
}

// Balances: end-of-epoch balance = previous, then per block of the epoch its withdrawal (the
// excess at that point, decoded from the block) and its proposer and sync rewards (recomputed
// here from the block's proposer, sync bits and the first-included votes, by the documented
// rules: floor(flag rewards / 7) + 3000 per set bit to the proposer, +/-21000 per position),
// then the vote's reward recomputed from the inclusion data and the spec's flag rules.
TEST(BalanceTest, BalancesFollowRewardsAndWithdrawalsInBlocks) {
  const uint64_t n = 4000;
  SimOptions o = Options2(n, 8);
  o.missed_slot_rate = 0.15;
  o.missed_attestation_rate = 0.1;
  o.late_attestation_rate = 0.2;
  o.wrong_head_rate = 0.1;
  o.withdrawal_every = 1;  // every validator swept once per epoch, at slot % 32 == v % 32
  FakeClock clock;
  auto sim = MakeAt(o, clock, 12 * 32);
  constexpr uint64_t kMax = 32'000'000'000;

  // Withdrawals, proposers and sync bits decoded from the blocks of epochs 1..9.
  std::map<std::pair<Epoch, uint64_t>, uint64_t> withdrawn;  // (epoch, v) -> amount
  std::map<Slot, uint64_t> proposer_of;
  std::map<Slot, std::vector<uint8_t>> sync_bits;
  simdjson::dom::parser parser;
  std::vector<uint64_t> members;  // sync committee period 0
  {
    ApiResponse sc = sim->Get("/eth/v1/beacon/states/head/sync_committees", {});
    ASSERT_EQ(sc.status, 200);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(sc.Body()).get(doc), simdjson::SUCCESS);
    for (simdjson::dom::element v : Arr(Field(doc, "data"), "validators")) {
      std::string_view str;
      ASSERT_EQ(v.get_string().get(str), simdjson::SUCCESS);
      members.push_back(std::stoull(std::string(str)));
    }
    ASSERT_EQ(members.size(), 512u);
  }
  uint64_t last_index = 0;
  bool any_index = false;
  for (Slot s = 32; s < 10 * 32; ++s) {
    ApiResponse r = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(s), {});
    if (r.status != 200) continue;
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
    simdjson::dom::element message = Field(Field(doc, "data"), "message");
    proposer_of[s] = Num(message, "proposer_index");
    sync_bits[s] =
        *Unhex(Str(Field(Field(message, "body"), "sync_aggregate"), "sync_committee_bits"));
    simdjson::dom::element payload = Field(Field(message, "body"), "execution_payload");
    for (simdjson::dom::element w : Arr(payload, "withdrawals")) {
      const uint64_t v = Num(w, "validator_index");
      EXPECT_EQ(v % 32, s % 32) << "validator swept at the wrong slot";
      const uint64_t index = Num(w, "index");
      if (any_index) {
        EXPECT_GT(index, last_index) << "withdrawal indices must increase";
      }
      last_index = index;
      any_index = true;
      withdrawn[{s / 32, v}] = Num(w, "amount");
    }
  }
  EXPECT_GT(withdrawn.size(), 8 * n / 2);

  std::map<Epoch, EpochGroundTruth> gt;
  for (Epoch e = 0; e <= 9; ++e) {
    absl::StatusOr<EpochGroundTruth> g = sim->GroundTruth(e);
    ASSERT_TRUE(g.ok());
    gt[e] = *g;
  }
  const int64_t inc = 32;
  // Flag rewards of the votes first included at each slot (epochs 0..9), by the spec's rules.
  std::map<Slot, int64_t> flag_sum;
  for (Epoch e = 0; e <= 9; ++e) {
    for (const ValidatorEpochTruth& t : gt[e].validators) {
      if (!t.included) continue;
      const uint64_t delay = t.inclusion_slot - t.duty_slot;
      flag_sum[t.inclusion_slot] += (delay == 1 && !t.wrong_head ? inc * 1848 : 0) +
                                    (delay <= 5 ? inc * 1849 : 0) + inc * 3435;
    }
  }
  uint64_t checked = 0, head_misses = 0, sync_members = 0, proposers = 0;
  for (Epoch e = 1; e <= 9; ++e) {
    // Ground truth withdrawals equal the decoded ones.
    std::map<uint64_t, uint64_t> truth_w;
    for (const auto& [slot, w] : gt[e].withdrawals) {
      EXPECT_EQ(slot / 32, e);
      truth_w[w.validator_index] = w.amount;
    }
    for (uint64_t v = 0; v < n; ++v) {
      const ValidatorEpochTruth& prev_vote = gt[e - 1].validators[v];
      const ValidatorEpochTruth& now = gt[e].validators[v];
      const uint64_t before = gt[e - 1].validators[v].balance;
      // The epoch's blocks in order: the withdrawal of the excess at v's sweep slot (if that slot
      // has a block), then the block's rewards.
      int64_t b = static_cast<int64_t>(before);
      uint64_t expect_w = 0;
      int64_t proposer_reward = 0, sync_reward = 0;
      for (Slot s = e * 32; s < (e + 1) * 32; ++s) {
        if (!proposer_of.count(s)) continue;
        if (s % 32 == v % 32) {
          expect_w = b > static_cast<int64_t>(kMax) ? static_cast<uint64_t>(b) - kMax : 0;
          b -= static_cast<int64_t>(expect_w);
        }
        if (proposer_of[s] == v) {
          int64_t bits = 0;
          for (size_t i = 0; i < 512; ++i) bits += Bit(sync_bits[s], i);
          proposer_reward += flag_sum[s] / 7 + bits * 3000;
          b += flag_sum[s] / 7 + bits * 3000;
        }
        for (size_t i = 0; i < 512; ++i) {
          if (members[i] != v) continue;
          const int64_t d = Bit(sync_bits[s], i) ? 21000 : -21000;
          sync_reward += d;
          b += d;
        }
      }
      sync_members += sync_reward != 0;
      proposers += proposer_reward != 0;
      EXPECT_EQ(now.proposer_reward, static_cast<uint64_t>(proposer_reward)) << v << " " << e;
      EXPECT_EQ(now.sync_reward, sync_reward) << v << " " << e;
      const uint64_t got_w = withdrawn.count({e, v}) ? withdrawn[{e, v}] : 0;
      ASSERT_EQ(got_w, expect_w) << "v=" << v << " e=" << e;
      EXPECT_EQ(truth_w.count(v) ? truth_w[v] : 0, expect_w);
      // The reward of the vote of epoch e - 1, by the spec's timeliness rules.
      const bool included = prev_vote.included;
      const uint64_t delay = included ? prev_vote.inclusion_slot - prev_vote.duty_slot : 0;
      const bool head = included && delay == 1 && !prev_vote.wrong_head;
      const bool source = included && delay <= 5;
      const bool target = included;
      EXPECT_EQ(now.start_balance, before);
      EXPECT_EQ(prev_vote.timely_head, head);
      EXPECT_EQ(prev_vote.timely_source, source);
      EXPECT_EQ(prev_vote.timely_target, target);
      const int64_t reward =
          (head ? inc * 1848 : 0) + (source ? 1 : -1) * inc * 1849 + (target ? 1 : -1) * inc * 3435;
      EXPECT_EQ(prev_vote.reward.total(), reward);
      EXPECT_EQ(static_cast<int64_t>(now.balance), b + reward) << "v=" << v << " e=" << e;
      head_misses += !head;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 9 * n);
  EXPECT_GT(head_misses, checked / 10);
  EXPECT_GT(sync_members, 9 * 300u);  // ~460 distinct members each epoch
  EXPECT_GT(proposers, 9 * 20u);
}

TEST(BalanceTest, TimelySourceBoundIsTheSquareRootOfSlotsPerEpoch) {
  SimOptions o = Options2(2000, 12);
  o.slots_per_epoch = 8;  // integer_squareroot(8) = 2
  o.late_attestation_rate = 0.6;
  FakeClock clock;
  auto sim = MakeAt(o, clock, 6 * 8);
  uint64_t delay3plus = 0;
  for (Epoch e = 1; e <= 3; ++e) {
    absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(e);
    ASSERT_TRUE(gt.ok());
    for (const ValidatorEpochTruth& t : gt->validators) {
      const uint64_t delay = t.included ? t.inclusion_slot - t.duty_slot : 0;
      EXPECT_EQ(t.timely_source, t.included && delay <= 2) << t.validator_index;
      EXPECT_EQ(t.reward.source, (t.included && delay <= 2 ? 1 : -1) * 32 * 1849);
      delay3plus += t.included && delay >= 3;
    }
  }
  EXPECT_GT(delay3plus, 100u);
}

TEST(BalanceTest, AutomaticSweepKeepsAtMost16WithdrawalsPerBlock) {
  FakeClock clock;
  auto sim = MakeAt(Options2(5000, 2), clock, 100);
  simdjson::dom::parser parser;
  size_t total = 0;
  for (Slot s = 1; s <= 100; ++s) {
    ApiResponse r = sim->Get("/eth/v2/beacon/blocks/" + std::to_string(s), {});
    ASSERT_EQ(r.status, 200);
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
    const size_t w =
        Arr(Field(Field(Field(Field(doc, "data"), "message"), "body"), "execution_payload"),
            "withdrawals")
            .size();
    EXPECT_LE(w, 16u);
    total += w;
  }
  // K = ceil(5000 / 512) = 10 epochs: period 320 slots, ~15.6 validators per slot, all with a
  // genesis excess over 32 ETH.
  EXPECT_GT(total, 100u * 15);
}

}  // namespace
}  // namespace stakewatch::sim
