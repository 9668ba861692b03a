#include "sim/server.h"

#include <httplib.h>

#include <chrono>
#include <iostream>

#include "gtest/gtest.h"
#include "sim/options.h"
#include "sim/test_util.h"
#include "simdjson.h"

namespace stakewatch::sim {
namespace {

using ::stakewatch::sim::testing::Arr;
using ::stakewatch::sim::testing::Field;
using ::stakewatch::sim::testing::Num;

constexpr int64_t kGenesis = 1'700'000'000;

std::unique_ptr<ChainSimulator> Make(uint64_t n, FakeClock& clock, double missed_slot_rate) {
  SimOptions o;
  o.validators = n;
  o.seed = 17;
  o.genesis_time = absl::FromUnixSeconds(kGenesis);
  o.missed_slot_rate = missed_slot_rate;
  o.late_attestation_rate = 0.05;
  o.missed_attestation_rate = 0.02;
  o.wrong_head_rate = 0.01;
  o.duplicate_inclusion_rate = 0.01;
  absl::StatusOr<std::unique_ptr<ChainSimulator>> sim = ChainSimulator::Create(o, &clock);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return std::move(sim).value();
}

TEST(SimServerTest, ServesOverLoopbackWithSameBytesAsTheModel) {
  FakeClock clock(absl::FromUnixSeconds(kGenesis + 12 * 100 + 1));  // slot 100
  auto sim = Make(20000, clock, 0.25);
  SimServer server(sim.get(), "127.0.0.1", 0);
  ASSERT_TRUE(server.Start().ok());
  ASSERT_GT(server.port(), 0);
  httplib::Client client("127.0.0.1", server.port());

  for (const char* path :
       {"/eth/v1/beacon/genesis", "/eth/v1/config/spec", "/eth/v1/node/syncing",
        "/eth/v1/beacon/headers/head", "/eth/v2/beacon/blocks/head",
        "/eth/v2/beacon/blocks/head/attestations", "/eth/v1/validator/duties/proposer/3",
        "/eth/v1/beacon/states/head/finality_checkpoints",
        "/eth/v1/beacon/states/head/committees",  // ~150 KB: streamed from the cache
        "/eth/v1/beacon/states/head/committees?slot=99&index=2"}) {
    httplib::Result res = client.Get(path);
    ASSERT_TRUE(res) << path << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->get_header_value("Content-Type"), "application/json") << path;
    std::string p(path);
    QueryParams q;
    if (size_t qm = p.find('?'); qm != std::string::npos) {
      httplib::detail::parse_query_text(p.substr(qm + 1), q);
      p.resize(qm);
    }
    EXPECT_EQ(res->body, sim->Get(p, q).Body()) << path;
  }
  httplib::Result block = client.Get("/eth/v2/beacon/blocks/head");
  ASSERT_TRUE(block);
  EXPECT_EQ(block->get_header_value("Eth-Consensus-Version"), "electra");

  httplib::Result health = client.Get("/eth/v1/node/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);

  // Find an empty slot from the model's own HTTP answers.
  int not_found = 0;
  for (int s = 1; s <= 100; ++s) {
    httplib::Result r = client.Get(("/eth/v2/beacon/blocks/" + std::to_string(s)).c_str());
    ASSERT_TRUE(r);
    if (r->status == 404) {
      ++not_found;
      EXPECT_NE(r->body.find("\"code\":404"), std::string::npos);
    }
  }
  EXPECT_GT(not_found, 5);
  httplib::Result bad = client.Get("/eth/v1/beacon/headers/abc");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("\"code\":400"), std::string::npos);
  httplib::Result unknown = client.Get("/foo");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);

  server.Stop();
  server.Stop();  // idempotent
  EXPECT_FALSE(client.Get("/eth/v1/beacon/genesis"));
}

TEST(SimServerTest, MainnetSizeCommitteesAndBlocksOverHttp) {
  const uint64_t n = 1'100'000;
  FakeClock clock(absl::FromUnixSeconds(kGenesis + 12 * 200 + 1));  // slot 200, epoch 6
  auto sim = Make(n, clock, 0.05);
  SimServer server(sim.get(), "127.0.0.1", 0);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  client.set_read_timeout(30, 0);

  auto t0 = std::chrono::steady_clock::now();
  httplib::Result res = client.Get("/eth/v1/beacon/states/head/committees");
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  httplib::Result again = client.Get("/eth/v1/beacon/states/head/committees");
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, res->body);
  const double cold_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  std::cout << "[ timing ] HTTP committees, one epoch, N=1.1M: " << res->body.size()
            << " bytes; cold " << cold_ms << " ms, cached "
            << std::chrono::duration<double, std::milli>(t2 - t1).count() << " ms\n";

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(res->body).get(doc), simdjson::SUCCESS);
  uint64_t members = 0, committees = 0;
  for (simdjson::dom::element c : Arr(doc, "data")) {
    members += Arr(c, "validators").size();
    ++committees;
  }
  EXPECT_EQ(committees, 32u * 64u);
  EXPECT_EQ(members, n);

  // 64 consecutive slots (two epochs) of full blocks, as a monitor fetches them.
  auto t3 = std::chrono::steady_clock::now();
  size_t bytes = 0;
  int blocks = 0;
  for (int s = 136; s < 200; ++s) {
    httplib::Result b = client.Get(("/eth/v2/beacon/blocks/" + std::to_string(s)).c_str());
    ASSERT_TRUE(b);
    if (b->status == 200) {
      ++blocks;
      bytes += b->body.size();
      ASSERT_EQ(parser.parse(b->body).get(doc), simdjson::SUCCESS);
      EXPECT_EQ(Num(Field(Field(doc, "data"), "message"), "slot"), static_cast<uint64_t>(s));
    } else {
      EXPECT_EQ(b->status, 404);
    }
  }
  auto t4 = std::chrono::steady_clock::now();
  std::cout << "[ timing ] HTTP 64 slots of blocks at N=1.1M: " << blocks << " blocks, " << bytes
            << " bytes in " << std::chrono::duration<double, std::milli>(t4 - t3).count()
            << " ms (cold, including parsing)\n";
  EXPECT_GT(blocks, 50);
  server.Stop();
}

TEST(SimServerTest, ServesPostEndpoints) {
  FakeClock clock(absl::FromUnixSeconds(kGenesis + 12 * 100 + 1));  // slot 100, epoch 3
  auto sim = Make(2000, clock, 0.1);
  SimServer server(sim.get(), "127.0.0.1", 0);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());
  const std::string body = "[\"1\",\"2\",\"3\"]";
  for (const char* path :
       {"/eth/v1/validator/liveness/3", "/eth/v1/beacon/rewards/attestations/1",
        "/eth/v1/beacon/states/head/validator_balances", "/eth/v1/beacon/states/head/validators"}) {
    httplib::Result res = client.Post(path, body, "application/json");
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 200) << path;
    EXPECT_EQ(res->body, sim->Post(path, {}, body).Body()) << path;
  }
  httplib::Result bad = client.Post("/eth/v1/validator/liveness/3", "{", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  server.Stop();
}

TEST(SimServerTest, PortInUseIsAnError) {
  FakeClock clock;
  auto sim = Make(100, clock, 0);
  SimServer a(sim.get(), "127.0.0.1", 0);
  ASSERT_TRUE(a.Start().ok());
  SimServer b(sim.get(), "127.0.0.1", a.port());
  EXPECT_TRUE(absl::IsUnavailable(b.Start()));
}

TEST(SimServerTest, RunSimulateCommandRejectsBadFlags) {
  EXPECT_TRUE(absl::IsInvalidArgument(RunSimulateCommand({"--validators=0"})));
  EXPECT_TRUE(absl::IsInvalidArgument(RunSimulateCommand({"--bogus=1"})));
}

}  // namespace
}  // namespace stakewatch::sim
