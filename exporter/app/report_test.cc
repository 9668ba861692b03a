// Tests for `stakewatch report` (app/report.h) against the chain simulator served over HTTP.
//
// Every expected value comes from the simulator's ground truth (sim::ChainSimulator::GroundTruth:
// duty slot, inclusion, wrong head, proposals), never from stakewatch's own accounting. The JSON
// output is parsed with simdjson's DOM API, independently of the report's writer.
#include "app/report.h"

#include <httplib.h>
#include <simdjson.h>

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "beacon/client.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sim/server.h"
#include "sim/simulator.h"

namespace stakewatch::app {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kValidators = 64;
constexpr uint64_t kSlotsPerEpoch = 8;
constexpr uint64_t kHeadSlot = 44;  // epoch 5: epochs 0..3 are complete (head >= (E+2)*8)

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim::SimOptions o;
    o.seed = 7;
    o.validators = kValidators;
    o.seconds_per_slot = 0.1;
    o.slots_per_epoch = kSlotsPerEpoch;
    o.genesis_time = absl::FromUnixSeconds(1700000000);
    o.missed_slot_rate = 0.15;
    o.missed_attestation_rate = 0.1;
    o.late_attestation_rate = 0.2;
    o.wrong_head_rate = 0.1;
    o.duplicate_inclusion_rate = 0.05;
    o.exited_rate = 0.4;
    o.slashed_rate = 0.1;
    o.sync_miss_rate = 0.1;
    // The head is fixed: the clock does not move.
    clock_.SetTime(o.genesis_time + absl::Milliseconds(100 * kHeadSlot + 50));
    auto sim = sim::ChainSimulator::Create(o, &clock_);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = *std::move(sim);
    server_ = std::make_unique<sim::SimServer>(sim_.get(), "127.0.0.1", 0);
    ASSERT_TRUE(server_->Start().ok());
    beacon::FailoverOptions fo;
    fo.max_attempts = 1;
    auto client = beacon::FailoverBeaconClient::FromUrls(
        {{"sim", absl::StrCat("http://127.0.0.1:", server_->port())}}, fo, Clock::Real());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }
  void TearDown() override {
    client_.reset();
    if (server_) server_->Stop();
  }

  FakeClock clock_;
  std::unique_ptr<sim::ChainSimulator> sim_;
  std::unique_ptr<sim::SimServer> server_;
  std::unique_ptr<beacon::FailoverBeaconClient> client_;
};

bool IsNull(simdjson::dom::element e) {
  return e.type() == simdjson::dom::element_type::NULL_VALUE;
}

uint64_t U64(simdjson::dom::element e) {
  uint64_t v = 0;
  EXPECT_EQ(e.get_uint64().get(v), simdjson::SUCCESS) << e;
  return v;
}

bool B(simdjson::dom::element e) {
  bool v = false;
  EXPECT_EQ(e.get_bool().get(v), simdjson::SUCCESS) << e;
  return v;
}

TEST_F(ReportTest, JsonLinesMatchTheSimulatorsGroundTruth) {
  ReportRequest request;
  // Validators 0..40 and 50..63 in two groups; 41..49 are not reported.
  request.groups = {{"low", {}, {}}, {"high", {}, {}}};
  for (uint64_t v = 0; v <= 40; ++v) request.groups[0].indices.push_back(v);
  for (uint64_t v = 50; v < kValidators; ++v) request.groups[1].indices.push_back(v);
  request.from_epoch = 1;
  request.to_epoch = 3;
  request.format = ReportFormat::kJson;
  std::ostringstream out;
  const absl::Status s = RunReport(client_.get(), request, out);
  ASSERT_TRUE(s.ok()) << s;

  std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u * 55);  // 3 epochs x 55 validators

  simdjson::dom::parser parser;
  size_t line_no = 0;
  uint64_t included = 0, missed = 0, wrong_head = 0, proposals = 0, missed_proposals = 0;
  uint64_t inactive = 0, sync_members = 0;
  for (uint64_t epoch = 1; epoch <= 3; ++epoch) {
    auto truth = sim_->GroundTruth(epoch);
    ASSERT_TRUE(truth.ok()) << truth.status();
    std::map<uint64_t, const sim::ValidatorEpochTruth*> by_validator;
    for (const auto& t : truth->validators) by_validator[t.validator_index] = &t;
    for (uint64_t v = 0; v < kValidators; ++v) {
      if (v > 40 && v < 50) continue;
      SCOPED_TRACE(absl::StrCat("epoch ", epoch, " validator ", v));
      simdjson::dom::element row;
      ASSERT_EQ(parser.parse(lines[line_no++]).get(row), simdjson::SUCCESS);
      // Ordered by epoch, then validator index.
      EXPECT_EQ(U64(row["epoch"]), epoch);
      EXPECT_EQ(U64(row["validator_index"]), v);
      std::string_view group;
      ASSERT_EQ(row["group"].get_string().get(group), simdjson::SUCCESS);
      EXPECT_EQ(group, v <= 40 ? "low" : "high");
      ASSERT_TRUE(by_validator.count(v));
      const sim::ValidatorEpochTruth& t = *by_validator[v];
      std::string_view status;
      ASSERT_EQ(row["status"].get_string().get(status), simdjson::SUCCESS);
      EXPECT_EQ(status, t.status);
      // The validators endpoint at the epoch's last slot: the balance at the epoch's start less
      // the withdrawals its blocks carried (attestation rewards are applied at the epoch
      // transition).
      uint64_t withdrawn = 0;
      for (const auto& [slot, w] : truth->withdrawals) {
        if (w.validator_index == v) withdrawn += w.amount;
      }
      // Block and sync rewards are credited at their blocks' slots, after the withdrawals.
      const int64_t expected_balance = static_cast<int64_t>(t.start_balance - withdrawn) +
                                       static_cast<int64_t>(t.proposer_reward) + t.sync_reward;
      EXPECT_EQ(U64(row["balance_gwei"]),
                static_cast<uint64_t>(std::max<int64_t>(0, expected_balance)));
      if (t.sync_slots == 0) {
        EXPECT_TRUE(IsNull(row["sync_committee"]));
      } else {
        simdjson::dom::element sc = row["sync_committee"];
        EXPECT_EQ(U64(sc["slots"]), t.sync_slots);
        EXPECT_EQ(U64(sc["participated"]), t.sync_participated);
        EXPECT_EQ(U64(sc["missed"]), t.sync_missed);
        ++sync_members;
      }

      simdjson::dom::element a = row["attestation"];
      // Exited or not yet active: no duty, never "missed"; slashed (still active until its
      // exit epoch): no duty counted either.
      if (!t.active || t.status == "active_slashed") {
        EXPECT_TRUE(IsNull(a));
        ++inactive;
        continue;
      }
      ASSERT_FALSE(IsNull(a));
      EXPECT_EQ(U64(a["slot"]), t.duty_slot);
      EXPECT_EQ(B(a["included"]), t.included);
      EXPECT_EQ(B(a["timely_head"]), t.timely_head);
      EXPECT_EQ(B(a["timely_target"]), t.timely_target);
      EXPECT_EQ(B(a["timely_source"]), t.timely_source);
      int64_t reward = 0, ideal = 0;
      ASSERT_EQ(a["reward_gwei"].get_int64().get(reward), simdjson::SUCCESS);
      ASSERT_EQ(a["ideal_reward_gwei"].get_int64().get(ideal), simdjson::SUCCESS);
      EXPECT_EQ(reward, t.reward.total());
      // A vote with all three flags earns exactly the ideal; anything less earns less.
      if (t.timely_head && t.timely_target && t.timely_source) {
        EXPECT_EQ(reward, ideal);
      } else {
        EXPECT_LT(reward, ideal);
      }
      for (const char* key : {"optimal_delay", "head_correct", "target_correct", "source_correct",
                              "timely_head", "timely_target", "timely_source", "effectiveness"}) {
        EXPECT_NE(a[key].error(), simdjson::NO_SUCH_FIELD) << key;
      }
      if (t.included) {
        ++included;
        EXPECT_EQ(U64(a["inclusion_slot"]), t.inclusion_slot);
        EXPECT_EQ(U64(a["inclusion_delay"]), t.inclusion_slot - t.duty_slot);
        EXPECT_EQ(B(a["head_correct"]), !t.wrong_head);
        EXPECT_TRUE(B(a["source_correct"]));
        wrong_head += t.wrong_head;
      } else {
        ++missed;
        EXPECT_TRUE(IsNull(a["inclusion_slot"]));
        EXPECT_TRUE(IsNull(a["inclusion_delay"]));
      }

      // Proposals: the truth's slots of this epoch proposed by v.
      std::vector<std::pair<uint64_t, std::string>> want;
      for (const sim::SlotTruth& st : truth->slots) {
        if (st.proposer_index == v) {
          want.emplace_back(st.slot, st.proposed ? "proposed" : "missed");
        }
      }
      std::vector<std::pair<uint64_t, std::string>> got;
      simdjson::dom::array arr;
      ASSERT_EQ(row["proposals"].get_array().get(arr), simdjson::SUCCESS);
      for (simdjson::dom::element p : arr) {
        std::string_view outcome;
        EXPECT_EQ(p["outcome"].get_string().get(outcome), simdjson::SUCCESS);
        got.emplace_back(U64(p["slot"]), std::string(outcome));
      }
      EXPECT_EQ(got, want);
      for (const auto& [slot, outcome] : want) {
        ++proposals;
        missed_proposals += outcome == "missed";
      }
    }
  }
  // The faults were actually exercised (with this seed).
  EXPECT_GT(included, 0u);
  EXPECT_GT(missed, 0u);
  EXPECT_GT(wrong_head, 0u);
  EXPECT_GT(proposals, 0u);
  EXPECT_GT(missed_proposals, 0u);
  EXPECT_GT(inactive, 0u);
  EXPECT_GT(sync_members, 0u);
}

TEST_F(ReportTest, IncompleteEpochFailsWithAClearMessage) {
  ReportRequest request;
  request.groups = {{"default", {1, 2}, {}}};
  request.from_epoch = 3;
  request.to_epoch = 4;  // needs head slot >= 48; the head is 44
  request.format = ReportFormat::kJson;
  std::ostringstream out;
  const absl::Status s = RunReport(client_.get(), request, out);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "epoch 4 is not complete yet (head slot 44)");
  EXPECT_EQ(out.str(), "");  // nothing fetched or written
}

// A node that pruned its states (it still serves blocks): the report must fail with the node's
// reason, not print the range with null balances and rewards.
TEST_F(ReportTest, PrunedStatesFailTheReport) {
  httplib::Server pruned;
  pruned.set_tcp_nodelay(true);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    if (req.path.find("/states/") != std::string::npos ||
        req.path.find("/rewards/") != std::string::npos) {
      res.status = 404;
      res.set_content("{\"code\":404,\"message\":\"NOT_FOUND: beacon state at slot 31\"}",
                      "application/json");
      return;
    }
    sim::QueryParams q(req.params.begin(), req.params.end());
    sim::ApiResponse r =
        req.method == "POST" ? sim_->Post(req.path, q, req.body) : sim_->Get(req.path, q);
    res.status = r.status;
    res.set_content(r.Body(), "application/json");
  };
  pruned.Get(R"(/eth/.*)", handler);
  pruned.Post(R"(/eth/.*)", handler);
  const int port = pruned.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { pruned.listen_after_bind(); });
  beacon::FailoverOptions fo;
  fo.max_attempts = 1;
  auto client = beacon::FailoverBeaconClient::FromUrls(
      {{"pruned", absl::StrCat("http://127.0.0.1:", port)}}, fo, Clock::Real());
  ASSERT_TRUE(client.ok()) << client.status();
  ReportRequest request;
  request.groups = {{"default", {1, 2}, {}}};
  request.from_epoch = 1;
  request.to_epoch = 1;
  request.format = ReportFormat::kJson;
  std::ostringstream out;
  const absl::Status s = RunReport(client->get(), request, out);
  client->reset();  // closes its keep-alive connection, so the server stops at once
  pruned.stop();
  t.join();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find("not available on this node"), absl::string_view::npos) << s;
  EXPECT_TRUE(beacon::IsStateUnavailable(s)) << s;
  EXPECT_EQ(out.str(), "");
}

TEST_F(ReportTest, CsvAndTable) {
  ReportRequest request;
  request.groups = {{"default", {3, 4, 5}, {}}};
  request.from_epoch = 2;
  request.to_epoch = 2;
  request.format = ReportFormat::kCsv;
  std::ostringstream csv;
  ASSERT_TRUE(RunReport(client_.get(), request, csv).ok());
  std::vector<std::string> lines = absl::StrSplit(csv.str(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 4u);
  const std::vector<std::string> header = absl::StrSplit(lines[0], ',');
  EXPECT_EQ(header[0], "epoch");
  EXPECT_EQ(header[5], "attestation_slot");
  auto truth = sim_->GroundTruth(2, 3, 5);
  ASSERT_TRUE(truth.ok());
  for (size_t i = 0; i < 3; ++i) {
    const std::vector<std::string> f = absl::StrSplit(lines[i + 1], ',');
    ASSERT_EQ(f.size(), header.size()) << lines[i + 1];
    EXPECT_EQ(f[0], "2");
    EXPECT_EQ(f[1], absl::StrCat(3 + i));
    EXPECT_EQ(f[3], truth->validators[i].status);
    EXPECT_EQ(f[5], absl::StrCat(truth->validators[i].duty_slot));
    EXPECT_EQ(f[6], truth->validators[i].included ? "true" : "false");
  }

  request.format = ReportFormat::kTable;
  std::ostringstream table;
  ASSERT_TRUE(RunReport(client_.get(), request, table).ok());
  EXPECT_THAT(table.str(), HasSubstr("EPOCH"));
  EXPECT_THAT(table.str(), HasSubstr("epoch 2: 3 validators, attestations "));
}

TEST(ReportFlagsTest, EpochRangeAndFormat) {
  beacon::Epoch from = 0, to = 0;
  ASSERT_TRUE(ParseEpochRange("7", &from, &to).ok());
  EXPECT_EQ(from, 7u);
  EXPECT_EQ(to, 7u);
  ASSERT_TRUE(ParseEpochRange("7:9", &from, &to).ok());
  EXPECT_EQ(to, 9u);
  for (const char* bad : {"", "x", "9:7", "1:", ":2", "-1", "1:2:3", "0:10000"}) {
    EXPECT_FALSE(ParseEpochRange(bad, &from, &to).ok()) << bad;
  }
  EXPECT_EQ(*ParseReportFormat("csv"), ReportFormat::kCsv);
  EXPECT_FALSE(ParseReportFormat("yaml").ok());
}

TEST(ReportCommandTest, BadFlagsExitWithTwo) {
  EXPECT_EQ(ReportCommand({"--epochs=1", "--format=xml", "--validators=1",
                           "--beacon-node=http://127.0.0.1:1"}),
            2);
  EXPECT_EQ(ReportCommand({"--validators=1", "--beacon-node=http://127.0.0.1:1"}), 2);
}

}  // namespace
}  // namespace stakewatch::app
