// Tests for the Beacon API transport and the fail-over client, against real loopback
// httplib::Server instances (port 0) and, for the retry schedule, fake transports.
#include "beacon/client.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "beacon/http_transport.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::beacon {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- Canned bodies (values checked below are read off these literals by hand) ----

constexpr char kGenesisPath[] = "/eth/v1/beacon/genesis";
constexpr char kSyncingPath[] = "/eth/v1/node/syncing";

constexpr char kGenesisJson[] =
    R"({"data":{"genesis_time":"1606824023",)"
    R"("genesis_validators_root":"0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95",)"
    R"("genesis_fork_version":"0x00000000"}})";
constexpr uint64_t kGenesisTime = 1606824023;

constexpr char kSyncedJson[] =
    R"({"data":{"head_slot":"8084248","sync_distance":"0","is_syncing":false,)"
    R"("is_optimistic":false,"el_offline":false}})";
constexpr char kSyncingJson[] =
    R"({"data":{"head_slot":"4000","sync_distance":"8080248","is_syncing":true,)"
    R"("is_optimistic":false,"el_offline":false}})";
constexpr char kElOfflineJson[] =
    R"({"data":{"head_slot":"8084248","sync_distance":"0","is_syncing":false,)"
    R"("is_optimistic":false,"el_offline":true}})";

constexpr char kHeaderJson[] =
    R"({"execution_optimistic":false,"finalized":true,"data":{)"
    R"("root":"0x1111111111111111111111111111111111111111111111111111111111111111",)"
    R"("canonical":true,"header":{"message":{"slot":"8084248","proposer_index":"1234",)"
    R"("parent_root":"0x2222222222222222222222222222222222222222222222222222222222222222",)"
    R"("state_root":"0x3333333333333333333333333333333333333333333333333333333333333333",)"
    R"("body_root":"0x4444444444444444444444444444444444444444444444444444444444444444"},)"
    R"("signature":"0x)"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
    "000000000000"
    R"("}}})";

// ---- A loopback beacon node ----

// An httplib::Server on 127.0.0.1:<ephemeral> answering from a route table that tests change at
// any time. Unknown paths get 404. `extra_routes` registers handlers before the table's
// catch-all (httplib routes may not change once the server runs).
class FakeNode {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    absl::Duration delay = absl::ZeroDuration();
  };

  explicit FakeNode(std::function<void(httplib::Server&)> extra_routes = nullptr) {
    if (extra_routes) extra_routes(server_);
    server_.Get(".*",
                [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~FakeNode() {
    release_.Notify();  // wake any handler that is simulating a slow node
    server_.stop();
    thread_.join();
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  int port() const { return port_; }

  void Set(const std::string& path, int status, std::string body,
           absl::Duration delay = absl::ZeroDuration()) {
    absl::MutexLock lock(&mu_);
    routes_[path] = Reply{status, std::move(body), delay};
  }
  int Hits(const std::string& path) {
    absl::MutexLock lock(&mu_);
    return hits_[path];
  }
  httplib::Headers LastHeaders() {
    absl::MutexLock lock(&mu_);
    return last_headers_;
  }

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    Reply reply{404, R"({"code":404,"message":"NOT_FOUND: no such route"})"};
    {
      absl::MutexLock lock(&mu_);
      ++hits_[req.path];
      last_headers_ = req.headers;
      auto it = routes_.find(req.path);
      if (it != routes_.end()) reply = it->second;
    }
    if (reply.delay > absl::ZeroDuration()) release_.WaitForNotificationWithTimeout(reply.delay);
    res.status = reply.status;
    res.set_content(reply.body, "application/json");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::map<std::string, Reply> routes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> hits_ ABSL_GUARDED_BY(mu_);
  httplib::Headers last_headers_ ABSL_GUARDED_BY(mu_);
};

// A TCP port on 127.0.0.1 that is bound but not listening: connecting is refused, and no one
// else can take the port while this object lives.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// ---- Time and observation ----

// A Clock whose SleepFor returns at once, advancing time and recording the duration.
class AutoClock final : public Clock {
 public:
  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void SleepFor(absl::Duration d) override {
    absl::MutexLock lock(&mu_);
    sleeps_.push_back(d);
    now_ += d;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }
  std::vector<absl::Duration> sleeps() {
    absl::MutexLock lock(&mu_);
    return sleeps_;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  std::vector<absl::Duration> sleeps_;
};

class RecordingObserver final : public BeaconClientObserver {
 public:
  // (node, endpoint, outcome)
  using Request = std::tuple<std::string, std::string, std::string>;
  // (node, healthy, head_slot or -1 when no status, reason)
  using NodeState = std::tuple<std::string, bool, int64_t, std::string>;

  void OnRequest(std::string_view node, std::string_view endpoint, absl::Duration,
                 std::string_view outcome) override {
    absl::MutexLock lock(&mu_);
    requests_.emplace_back(std::string(node), std::string(endpoint), std::string(outcome));
  }
  void OnNodeState(std::string_view node, bool healthy, const SyncStatus* status,
                   std::string_view reason) override {
    absl::MutexLock lock(&mu_);
    states_.emplace_back(std::string(node), healthy,
                         status ? static_cast<int64_t>(status->head_slot) : -1,
                         std::string(reason));
  }
  std::vector<Request> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<NodeState> states() {
    absl::MutexLock lock(&mu_);
    return states_;
  }
  void Clear() {
    absl::MutexLock lock(&mu_);
    requests_.clear();
    states_.clear();
  }

 private:
  absl::Mutex mu_;
  std::vector<Request> requests_;
  std::vector<NodeState> states_;
};

FailoverOptions FastOptions() {
  FailoverOptions o;
  o.connect_timeout = absl::Milliseconds(500);
  o.read_timeout = absl::Milliseconds(300);
  o.max_attempts = 1;
  return o;
}

std::unique_ptr<FailoverBeaconClient> MakeClient(const std::vector<std::string>& urls,
                                                 const FailoverOptions& options, Clock* clock,
                                                 BeaconClientObserver* observer) {
  std::vector<NodeSpec> specs;
  for (size_t i = 0; i < urls.size(); ++i) {
    specs.push_back(NodeSpec{absl::StrCat("node", i + 1), urls[i]});
  }
  auto client = FailoverBeaconClient::FromUrls(specs, options, clock, observer);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// ---- Fail-over over loopback nodes ----

TEST(FailoverBeaconClientTest, FailsOverWhenFirstNodeReturns500) {
  FakeNode n1, n2;
  n1.Set(kGenesisPath, 500, R"({"code":500,"message":"internal error"})");
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, &observer);

  absl::StatusOr<Genesis> genesis = client->GetGenesis();
  ASSERT_TRUE(genesis.ok()) << genesis.status();
  EXPECT_EQ(genesis->genesis_time, kGenesisTime);
  EXPECT_EQ(genesis->genesis_validators_root[0], 0x4b);
  EXPECT_EQ(n1.Hits(kGenesisPath), 1);
  EXPECT_EQ(n2.Hits(kGenesisPath), 1);

  EXPECT_THAT(observer.requests(),
              ElementsAre(RecordingObserver::Request{"node1", kGenesisPath, "http_5xx"},
                          RecordingObserver::Request{"node2", kGenesisPath, "ok"}));
  EXPECT_THAT(observer.states(),
              ElementsAre(RecordingObserver::NodeState{"node1", false, -1, "http_5xx"}));
  std::vector<NodeHealth> nodes = client->Nodes();
  EXPECT_FALSE(nodes[0].healthy);
  EXPECT_EQ(nodes[0].reason, "http_5xx");
  EXPECT_THAT(nodes[0].detail, HasSubstr("HTTP 500"));
  EXPECT_TRUE(nodes[1].healthy);

  // While unhealthy (retry interval not yet passed) node1 is skipped entirely.
  ASSERT_TRUE(client->GetGenesis().ok());
  EXPECT_EQ(n1.Hits(kGenesisPath), 1);
  EXPECT_EQ(n1.Hits(kSyncingPath), 0);
  EXPECT_EQ(n2.Hits(kGenesisPath), 2);
}

TEST(FailoverBeaconClientTest, FailsOverWhenFirstNodeIsDown) {
  RefusingPort down;
  FakeNode n2;
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({down.url(), n2.url()}, FastOptions(), &clock, &observer);

  absl::StatusOr<Genesis> genesis = client->GetGenesis();
  ASSERT_TRUE(genesis.ok()) << genesis.status();
  EXPECT_EQ(genesis->genesis_time, kGenesisTime);
  EXPECT_THAT(observer.requests(),
              ElementsAre(RecordingObserver::Request{"node1", kGenesisPath, "connect"},
                          RecordingObserver::Request{"node2", kGenesisPath, "ok"}));
  EXPECT_EQ(client->Nodes()[0].reason, "connect");
}

TEST(FailoverBeaconClientTest, FailsOverWhenFirstNodeIsSlow) {
  FakeNode n1, n2;
  n1.Set(kGenesisPath, 200, kGenesisJson, /*delay=*/absl::Seconds(3));
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  RecordingObserver observer;
  FailoverOptions options = FastOptions();
  options.read_timeout = absl::Milliseconds(250);
  auto client = MakeClient({n1.url(), n2.url()}, options, &clock, &observer);

  const absl::Time start = absl::Now();
  absl::StatusOr<Genesis> genesis = client->GetGenesis();
  const absl::Duration took = absl::Now() - start;
  ASSERT_TRUE(genesis.ok()) << genesis.status();
  EXPECT_EQ(genesis->genesis_time, kGenesisTime);
  EXPECT_GE(took, absl::Milliseconds(240));
  EXPECT_LT(took, absl::Seconds(2));  // did not wait for the slow reply
  EXPECT_THAT(observer.requests(),
              ElementsAre(RecordingObserver::Request{"node1", kGenesisPath, "timeout"},
                          RecordingObserver::Request{"node2", kGenesisPath, "ok"}));
  EXPECT_THAT(client->Nodes()[0].detail, HasSubstr("read timeout"));
}

TEST(FailoverBeaconClientTest, FailsOverWhenBodyDoesNotDecode) {
  FakeNode n1, n2;
  n1.Set(kGenesisPath, 200, R"({"data":{"genesis_time":12)");  // truncated
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, &observer);
  ASSERT_TRUE(client->GetGenesis().ok());
  EXPECT_EQ(client->Nodes()[0].reason, "decode");
  EXPECT_THAT(client->Nodes()[0].detail,
              HasSubstr("undecodable response to /eth/v1/beacon/genesis"));
}

TEST(FailoverBeaconClientTest, FailsOverOn429) {
  FakeNode n1, n2;
  n1.Set(kGenesisPath, 429, "slow down");
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, &observer);
  ASSERT_TRUE(client->GetGenesis().ok());
  EXPECT_EQ(client->Nodes()[0].reason, "http_429");
  EXPECT_EQ(n2.Hits(kGenesisPath), 1);
}

struct UnusableCase {
  const char* name;
  const char* syncing_json;
  const char* reason;
};

class UnusableNodeTest : public ::testing::TestWithParam<UnusableCase> {};

TEST_P(UnusableNodeTest, SkippedUntilAHealthCheckPasses) {
  const UnusableCase& c = GetParam();
  FakeNode n1, n2;
  n1.Set(kSyncingPath, 200, c.syncing_json);
  n1.Set(kGenesisPath, 200, kGenesisJson);
  n2.Set(kSyncingPath, 200, kSyncedJson);
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  RecordingObserver observer;
  FailoverOptions options = FastOptions();
  options.unhealthy_retry_after = absl::Seconds(10);
  auto client = MakeClient({n1.url(), n2.url()}, options, &clock, &observer);

  ASSERT_TRUE(client->CheckHealth().ok());  // node2 is healthy
  std::vector<NodeHealth> nodes = client->Nodes();
  EXPECT_FALSE(nodes[0].healthy);
  EXPECT_EQ(nodes[0].reason, c.reason);
  ASSERT_TRUE(nodes[0].sync.has_value());
  EXPECT_TRUE(nodes[1].healthy);
  // head_slot 4000 (syncing) or 8084248 (el_offline) from node1's body; 8084248 from node2's.
  const int64_t n1_head = std::string(c.reason) == "syncing" ? 4000 : 8084248;
  EXPECT_THAT(observer.states(),
              ElementsAre(RecordingObserver::NodeState{"node1", false, n1_head, c.reason},
                          RecordingObserver::NodeState{"node2", true, 8084248, "ok"}));

  // node1 is skipped while unhealthy.
  ASSERT_TRUE(client->GetGenesis().ok());
  EXPECT_EQ(n1.Hits(kGenesisPath), 0);
  EXPECT_EQ(n2.Hits(kGenesisPath), 1);

  // node1 recovers; before the retry interval it is still skipped...
  n1.Set(kSyncingPath, 200, kSyncedJson);
  clock.Advance(absl::Seconds(9));
  ASSERT_TRUE(client->GetGenesis().ok());
  EXPECT_EQ(n1.Hits(kSyncingPath), 1);
  EXPECT_EQ(n1.Hits(kGenesisPath), 0);

  // ...and once it has passed, the next request probes node1 lazily and uses it again.
  clock.Advance(absl::Seconds(1));
  observer.Clear();
  absl::StatusOr<Genesis> genesis = client->GetGenesis();
  ASSERT_TRUE(genesis.ok()) << genesis.status();
  EXPECT_EQ(n1.Hits(kSyncingPath), 2);
  EXPECT_EQ(n1.Hits(kGenesisPath), 1);
  EXPECT_EQ(n2.Hits(kGenesisPath), 2);
  EXPECT_TRUE(client->Nodes()[0].healthy);
  EXPECT_THAT(observer.requests(),
              ElementsAre(RecordingObserver::Request{"node1", kSyncingPath, "ok"},
                          RecordingObserver::Request{"node1", kGenesisPath, "ok"}));
  EXPECT_THAT(observer.states(),
              ElementsAre(RecordingObserver::NodeState{"node1", true, 8084248, "ok"}));
}

INSTANTIATE_TEST_SUITE_P(Reasons, UnusableNodeTest,
                         ::testing::Values(UnusableCase{"Syncing", kSyncingJson, "syncing"},
                                           UnusableCase{"ElOffline", kElOfflineJson, "el_offline"}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(FailoverBeaconClientTest, SyncingNodesAreNotUsedEvenAsLastResort) {
  FakeNode n1;
  n1.Set(kSyncingPath, 200, kSyncingJson);
  n1.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, nullptr);
  absl::Status health = client->CheckHealth();
  EXPECT_EQ(health.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(health.message(), AllOf(HasSubstr("node1"), HasSubstr("syncing")));
  absl::StatusOr<Genesis> genesis = client->GetGenesis();
  EXPECT_FALSE(genesis.ok());
  EXPECT_THAT(genesis.status().message(), HasSubstr("node1: skipped, unhealthy (syncing"));
  EXPECT_EQ(n1.Hits(kGenesisPath), 0);
}

TEST(FailoverBeaconClientTest, NodeThatFailedARequestRecoversAfterProbe) {
  FakeNode n1, n2;
  n1.Set(kGenesisPath, 503, "busy");
  n1.Set(kSyncingPath, 200, kSyncedJson);
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, nullptr);
  ASSERT_TRUE(client->GetGenesis().ok());
  EXPECT_FALSE(client->Nodes()[0].healthy);

  n1.Set(kGenesisPath, 200, kGenesisJson);
  ASSERT_TRUE(client->CheckHealth().ok());  // explicit periodic check restores it at once
  EXPECT_TRUE(client->Nodes()[0].healthy);
  ASSERT_TRUE(client->GetGenesis().ok());
  EXPECT_EQ(n1.Hits(kGenesisPath), 2);
  EXPECT_EQ(n2.Hits(kGenesisPath), 1);
}

TEST(FailoverBeaconClientTest, MissingBlockAndHeaderAreValuesNotErrors) {
  FakeNode n1, n2;
  // No block routes on node1: 404. node2 must not be asked.
  n2.Set("/eth/v2/beacon/blocks/8084249", 500, "");
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, &observer);

  absl::StatusOr<std::optional<Block>> block = client->GetBlock("8084249");
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_FALSE(block->has_value());
  absl::StatusOr<std::optional<BlockHeader>> header = client->GetHeader("8084249");
  ASSERT_TRUE(header.ok()) << header.status();
  EXPECT_FALSE(header->has_value());
  absl::StatusOr<std::optional<std::vector<Attestation>>> atts =
      client->GetBlockAttestations("8084249");
  ASSERT_TRUE(atts.ok()) << atts.status();
  EXPECT_FALSE(atts->has_value());

  EXPECT_TRUE(client->Nodes()[0].healthy);
  EXPECT_EQ(n2.Hits("/eth/v2/beacon/blocks/8084249"), 0);
  EXPECT_THAT(
      observer.requests(),
      ElementsAre(
          RecordingObserver::Request{"node1", "/eth/v2/beacon/blocks/{block_id}", "not_found"},
          RecordingObserver::Request{"node1", "/eth/v1/beacon/headers/{block_id}", "not_found"},
          RecordingObserver::Request{"node1", "/eth/v2/beacon/blocks/{block_id}/attestations",
                                     "not_found"}));
  EXPECT_TRUE(observer.states().empty());
}

TEST(FailoverBeaconClientTest, HeaderIsDecoded) {
  FakeNode n1;
  n1.Set("/eth/v1/beacon/headers/head", 200, kHeaderJson);
  AutoClock clock;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, nullptr);
  absl::StatusOr<std::optional<BlockHeader>> header = client->GetHeader("head");
  ASSERT_TRUE(header.ok()) << header.status();
  ASSERT_TRUE(header->has_value());
  EXPECT_EQ((*header)->slot, 8084248u);
  EXPECT_EQ((*header)->proposer_index, 1234u);
  EXPECT_TRUE((*header)->canonical);
  EXPECT_EQ((*header)->parent_root[31], 0x22);
}

TEST(FailoverBeaconClientTest, ClientErrorsEndTheRequestWithoutFailover) {
  FakeNode n1, n2;
  n1.Set("/eth/v1/beacon/states/finalized/finality_checkpoints", 400,
         R"({"code":400,"message":"Invalid state ID"})");
  n2.Set("/eth/v1/beacon/states/finalized/finality_checkpoints", 500, "");
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, &observer);

  absl::StatusOr<FinalityCheckpoints> cp = client->GetFinalityCheckpoints("finalized");
  EXPECT_EQ(cp.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cp.status().message(), AllOf(HasSubstr("node1"), HasSubstr("Invalid state ID")));
  // A 404 on a non-optional endpoint is NotFound, also without fail-over.
  absl::StatusOr<ProposerDuties> duties = client->GetProposerDuties(7);
  EXPECT_EQ(duties.status().code(), absl::StatusCode::kNotFound);

  EXPECT_TRUE(client->Nodes()[0].healthy);
  EXPECT_EQ(n2.Hits("/eth/v1/beacon/states/finalized/finality_checkpoints"), 0);
  EXPECT_EQ(n1.Hits("/eth/v1/validator/duties/proposer/7"), 1);
  EXPECT_THAT(observer.requests(),
              ElementsAre(
                  RecordingObserver::Request{
                      "node1", "/eth/v1/beacon/states/{state_id}/finality_checkpoints", "http_4xx"},
                  RecordingObserver::Request{"node1", "/eth/v1/validator/duties/proposer/{epoch}",
                                             "http_4xx"}));
}

TEST(FailoverBeaconClientTest, RejectsIdsThatAreNotPathSafe) {
  FakeNode n1;
  AutoClock clock;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, nullptr);
  const std::vector<std::string_view> bad_ids = {"",    "../../x", "head?x=1",
                                                 "1 2", "head/",   std::string_view("a\0b", 3)};
  for (std::string_view bad : bad_ids) {
    EXPECT_EQ(client->GetBlock(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(client->GetCommittees(bad, 1).status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(client->GetHeader(std::string(67, '1')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(n1.Hits("/eth/v2/beacon/blocks/../../x"), 0);
}

TEST(FailoverBeaconClientTest, AllNodesDownReportsEveryReason) {
  RefusingPort down;
  FakeNode n2;
  n2.Set(kGenesisPath, 502, "bad gateway");
  AutoClock clock;
  FailoverOptions options = FastOptions();
  options.max_attempts = 2;
  auto client = MakeClient({down.url(), n2.url()}, options, &clock, nullptr);
  absl::StatusOr<Genesis> genesis = client->GetGenesis();
  ASSERT_FALSE(genesis.ok());
  EXPECT_EQ(genesis.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(genesis.status().message(),
              AllOf(HasSubstr("/eth/v1/beacon/genesis: all beacon nodes failed (2 passes)"),
                    HasSubstr("node1: connect"), HasSubstr("node2: http_5xx: HTTP 502")));
  // Both nodes were tried again as a last resort after one backoff sleep.
  EXPECT_EQ(n2.Hits(kGenesisPath), 2);
  EXPECT_THAT(clock.sleeps(), ElementsAre(absl::Milliseconds(200)));
}

// ---- Retry schedule with fake transports ----

class ScriptedTransport final : public HttpTransport {
 public:
  using Step = std::function<absl::StatusOr<HttpResponse>()>;
  explicit ScriptedTransport(std::vector<Step> script, Step fallback)
      : script_(script.begin(), script.end()), fallback_(std::move(fallback)) {}
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override {
    Step step;
    {
      absl::MutexLock lock(&mu_);
      targets_.push_back(request.target);
      if (!script_.empty()) {
        step = std::move(script_.front());
        script_.pop_front();
      } else {
        step = fallback_;
      }
    }
    return step();
  }
  std::vector<std::string> targets() {
    absl::MutexLock lock(&mu_);
    return targets_;
  }

 private:
  absl::Mutex mu_;
  std::deque<Step> script_ ABSL_GUARDED_BY(mu_);
  Step fallback_;
  std::vector<std::string> targets_ ABSL_GUARDED_BY(mu_);
};

ScriptedTransport::Step Respond(int status, std::string body) {
  return [status, body] { return absl::StatusOr<HttpResponse>(HttpResponse{status, body, ""}); };
}
ScriptedTransport::Step Fail(absl::Status s) {
  return [s] { return absl::StatusOr<HttpResponse>(s); };
}

TEST(FailoverBeaconClientTest, BacksOffExponentiallyWithCap) {
  auto t1 = std::make_unique<ScriptedTransport>(
      std::vector<ScriptedTransport::Step>{},
      Fail(absl::DeadlineExceededError("read timeout after 10s")));
  auto t2 = std::make_unique<ScriptedTransport>(std::vector<ScriptedTransport::Step>{},
                                                Respond(503, "unavailable"));
  ScriptedTransport* p1 = t1.get();
  ScriptedTransport* p2 = t2.get();
  std::vector<BeaconNode> nodes;
  nodes.push_back({"a", std::move(t1)});
  nodes.push_back({"b", std::move(t2)});
  FailoverOptions options;
  options.max_attempts = 5;
  options.initial_backoff = absl::Milliseconds(200);
  options.max_backoff = absl::Milliseconds(500);
  AutoClock clock;
  RecordingObserver observer;
  auto client = FailoverBeaconClient::Create(std::move(nodes), options, &clock, &observer);
  ASSERT_TRUE(client.ok()) << client.status();

  absl::StatusOr<SyncStatus> s = (*client)->GetSyncing();
  ASSERT_FALSE(s.ok());
  // The last error was node b's 503.
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.status().message(),
              AllOf(HasSubstr("(5 passes)"), HasSubstr("a: timeout: read timeout after 10s"),
                    HasSubstr("b: http_5xx: HTTP 503")));
  // 200, 400, then capped at 500 (hand-computed: 200*2^k capped).
  EXPECT_THAT(clock.sleeps(), ElementsAre(absl::Milliseconds(200), absl::Milliseconds(400),
                                          absl::Milliseconds(500), absl::Milliseconds(500)));
  EXPECT_EQ(p1->targets().size(), 5u);
  EXPECT_EQ(p2->targets().size(), 5u);
  // Each node turned unhealthy once (state reported on the transition only).
  EXPECT_THAT(observer.states(),
              ElementsAre(RecordingObserver::NodeState{"a", false, -1, "timeout"},
                          RecordingObserver::NodeState{"b", false, -1, "http_5xx"}));
}

TEST(FailoverBeaconClientTest, TransientFailureSucceedsOnRetry) {
  auto t1 = std::make_unique<ScriptedTransport>(
      std::vector<ScriptedTransport::Step>{Fail(absl::UnavailableError("refused"))},
      Respond(200, kSyncedJson));
  ScriptedTransport* p1 = t1.get();
  std::vector<BeaconNode> nodes;
  nodes.push_back({"only", std::move(t1)});
  AutoClock clock;
  auto client = FailoverBeaconClient::Create(std::move(nodes), FailoverOptions{}, &clock);
  ASSERT_TRUE(client.ok());
  absl::StatusOr<SyncStatus> s = (*client)->GetSyncing();
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->head_slot, 8084248u);
  EXPECT_THAT(clock.sleeps(), ElementsAre(absl::Milliseconds(200)));
  EXPECT_THAT(p1->targets(), ElementsAre(kSyncingPath, kSyncingPath));
}

TEST(FailoverBeaconClientTest, CreateValidatesArguments) {
  AutoClock clock;
  EXPECT_FALSE(FailoverBeaconClient::Create({}, FailoverOptions{}, &clock).ok());
  std::vector<BeaconNode> dup;
  dup.push_back({"x", std::make_unique<ScriptedTransport>(std::vector<ScriptedTransport::Step>{},
                                                          Respond(200, ""))});
  dup.push_back({"x", std::make_unique<ScriptedTransport>(std::vector<ScriptedTransport::Step>{},
                                                          Respond(200, ""))});
  EXPECT_FALSE(FailoverBeaconClient::Create(std::move(dup), FailoverOptions{}, &clock).ok());
  EXPECT_FALSE(FailoverBeaconClient::FromUrls({{"", "ftp://x"}}, FailoverOptions{}, &clock).ok());
  auto ok = FailoverBeaconClient::FromUrls({{"", "http://user:secret@bn:5052/key"}},
                                           FailoverOptions{}, &clock);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->Nodes()[0].name, "http://bn:5052");  // no credentials or path
}

TEST(FailoverBeaconClientTest, ConcurrentCallersAllSucceed) {
  FakeNode n1, n2;
  n1.Set(kGenesisPath, 500, "");
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, &observer);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        absl::StatusOr<Genesis> g = client->GetGenesis();
        if (g.ok() && g->genesis_time == kGenesisTime) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
  EXPECT_EQ(n2.Hits(kGenesisPath), 20);
  EXPECT_GE(n1.Hits(kGenesisPath), 1);
  EXPECT_LE(n1.Hits(kGenesisPath), 4);  // at most one failing try per thread before it is marked
}

// ---- HttplibTransport ----

constexpr size_t kHugeBytes = size_t{200} << 20;  // 200 MB

// Serves `kHugeBytes` of filler from /huge-chunked (no Content-Length) and /huge-length (with
// Content-Length), counting how much was handed to the socket; and 16 MB of compressible JSON
// from /huge-gzip (gzip-encoded when the client accepts it: a small "gzip bomb").
void HugeRoutes(httplib::Server& server, std::atomic<size_t>* produced) {
  auto provider = [produced](size_t total) {
    return [produced, total](size_t offset, httplib::DataSink& sink) {
      static const std::string block(64 << 10, ' ');
      if (offset >= total) {
        sink.done();
        return true;
      }
      const size_t n = std::min(block.size(), total - offset);
      if (!sink.write(block.data(), n)) return false;
      *produced += n;
      return true;
    };
  };
  auto provide = provider(kHugeBytes);
  server.Get("/huge-chunked", [provide](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/octet-stream", provide);
  });
  server.Get("/huge-length", [provide](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(kHugeBytes, "application/octet-stream",
                             [provide](size_t offset, size_t, httplib::DataSink& sink) {
                               return provide(offset, sink);
                             });
  });
  auto provide_gzip = provider(size_t{16} << 20);
  server.Get("/huge-gzip", [provide_gzip](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/json", provide_gzip);
  });
}

TEST(HttplibTransportTest, CutsOffAHugeStreamedBody) {
  std::atomic<size_t> produced{0};
  FakeNode node([&](httplib::Server& s) { HugeRoutes(s, &produced); });
  HttplibTransportOptions options;
  options.max_response_bytes = 1 << 20;
  options.gzip = false;
  auto transport = HttplibTransport::Create(node.url(), options);
  ASSERT_TRUE(transport.ok()) << transport.status();
  absl::StatusOr<HttpResponse> r = (*transport)->Send({.target = "/huge-chunked"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("exceeded the limit of 1048576 bytes"));
  EXPECT_EQ(TransportErrorReason(r.status()), "too_large");
  // Wait for the server to notice the closed connection, then check it stopped early: the
  // client read ~1 MB and socket buffers hold a few MB more, far from 200 MB.
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_LT(produced.load(), size_t{32} << 20) << produced.load();
}

TEST(HttplibTransportTest, RejectsALargeContentLengthBeforeReading) {
  std::atomic<size_t> produced{0};
  FakeNode node([&](httplib::Server& s) { HugeRoutes(s, &produced); });
  HttplibTransportOptions options;  // default limit: kMaxResponseBytes (128 MiB) < 200 MB
  options.gzip = false;
  auto transport = HttplibTransport::Create(node.url(), options);
  ASSERT_TRUE(transport.ok());
  absl::StatusOr<HttpResponse> r = (*transport)->Send({.target = "/huge-length"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(),
              HasSubstr(absl::StrCat("Content-Length ", kHugeBytes, " exceeds the limit of ",
                                     kMaxResponseBytes)));
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_LT(produced.load(), size_t{32} << 20) << produced.load();
}

TEST(HttplibTransportTest, LimitAppliesToTheDecompressedBody) {
  std::atomic<size_t> produced{0};
  FakeNode node([&](httplib::Server& s) { HugeRoutes(s, &produced); });
  HttplibTransportOptions options;
  options.max_response_bytes = 1 << 20;
  options.gzip = true;
  auto transport = HttplibTransport::Create(node.url(), options);
  ASSERT_TRUE(transport.ok());
  absl::StatusOr<HttpResponse> r = (*transport)->Send({.target = "/huge-gzip"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
}

TEST(HttplibTransportTest, TooLargeThroughTheClientMarksTheNode) {
  std::atomic<size_t> produced{0};
  FakeNode n1([&](httplib::Server& s) {
    s.Get(kGenesisPath, [&](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/octet-stream",
                                       [&](size_t offset, httplib::DataSink& sink) {
                                         static const std::string block(64 << 10, ' ');
                                         if (offset >= kHugeBytes) {
                                           sink.done();
                                           return true;
                                         }
                                         if (!sink.write(block.data(), block.size())) return false;
                                         produced += block.size();
                                         return true;
                                       });
    });
  });
  FakeNode n2;
  n2.Set(kGenesisPath, 200, kGenesisJson);
  AutoClock clock;
  RecordingObserver observer;
  FailoverOptions options = FastOptions();
  options.max_response_bytes = 1 << 20;
  options.gzip = false;
  auto client = MakeClient({n1.url(), n2.url()}, options, &clock, &observer);
  ASSERT_TRUE(client->GetGenesis().ok());
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_LT(produced.load(), size_t{32} << 20);
  EXPECT_THAT(observer.requests(),
              ElementsAre(RecordingObserver::Request{"node1", kGenesisPath, "too_large"},
                          RecordingObserver::Request{"node2", kGenesisPath, "ok"}));
}

TEST(HttplibTransportTest, SendsHeadersBasePathAndBasicAuthAndReturnsConsensusVersion) {
  FakeNode node([](httplib::Server& s) {
    s.Get("/prefix/eth/v2/beacon/blocks/head",
          [](const httplib::Request& req, httplib::Response& res) {
            // "dTpw" is base64("u:p").
            if (req.get_header_value("Authorization") != "Basic dTpw") {
              res.status = 401;
              return;
            }
            res.set_header("Eth-Consensus-Version", "electra");
            res.set_content(std::string(10000, 'x'), "application/json");  // gzip-compressible
          });
    s.Post("/prefix/eth/v1/validator/liveness/5",
           [](const httplib::Request& req, httplib::Response& res) {
             res.set_content(absl::StrCat(req.get_header_value("Content-Type"), "|", req.body),
                             "text/plain");
           });
  });
  auto transport = HttplibTransport::Create(
      absl::StrCat("http://u:p@127.0.0.1:", node.port(), "/prefix/"), HttplibTransportOptions{});
  ASSERT_TRUE(transport.ok()) << transport.status();
  absl::StatusOr<HttpResponse> r = (*transport)->Send({.target = "/eth/v2/beacon/blocks/head"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->consensus_version, "electra");
  EXPECT_EQ(r->body, std::string(10000, 'x'));
  HttpRequest post;
  post.method = HttpMethod::kPost;
  post.target = "/eth/v1/validator/liveness/5";
  post.body = R"(["1","2"])";
  r = (*transport)->Send(post);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, R"(application/json|["1","2"])");

  // Keep-alive reuse and the Accept headers, seen by the catch-all route.
  r = (*transport)->Send({.target = "/eth/v1/node/version"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  httplib::Headers headers = node.LastHeaders();
  auto header = [&](const std::string& k) {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  };
  EXPECT_EQ(header("Accept"), "application/json");
  EXPECT_EQ(header("Accept-Encoding"), "gzip");
}

TEST(HttplibTransportTest, MapsConnectFailures) {
  RefusingPort down;
  auto transport = HttplibTransport::Create(down.url(), HttplibTransportOptions{});
  ASSERT_TRUE(transport.ok());
  absl::StatusOr<HttpResponse> r = (*transport)->Send({.target = "/eth/v1/node/syncing"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(TransportErrorReason(r.status()), "connect");
  EXPECT_THAT(r.status().message(), HasSubstr("could not connect"));
  EXPECT_EQ((*transport)->Send({.target = "no-slash"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---- URL parsing ----

TEST(ParseNodeUrlTest, AcceptsTheUsualForms) {
  absl::StatusOr<NodeUrl> u = ParseNodeUrl("http://localhost:5052");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->port, 5052);
  EXPECT_EQ(u->base_path, "");

  u = ParseNodeUrl("HTTPS://alice:s3cret@bn.example.org/api/key123/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->user, "alice");
  EXPECT_EQ(u->password, "s3cret");
  EXPECT_EQ(u->base_path, "/api/key123");
  EXPECT_EQ(u->Redacted(), "https://bn.example.org:443");

  u = ParseNodeUrl("http://[::1]:8080/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "[::1]");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->base_path, "");
}

TEST(ParseNodeUrlTest, RejectsBadUrlsWithoutEchoingSecrets) {
  for (std::string_view bad :
       {"localhost:5052", "ftp://x", "http://", "http://:80", "http://h:0", "http://h:70000",
        "http://h:80x", "http://h?x=1", "http://h/p#f", "http://[::1", "http://h o"}) {
    absl::StatusOr<NodeUrl> u = ParseNodeUrl(bad);
    EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  absl::StatusOr<NodeUrl> u = ParseNodeUrl("http://user:topsecret@h:bad");
  ASSERT_FALSE(u.ok());
  EXPECT_THAT(u.status().message(), ::testing::Not(HasSubstr("topsecret")));
}

// ---- POST endpoints and the validators GET fall-back ----

// What a POST (or a GET registered as an extra route) received.
struct Received {
  absl::Mutex mu;
  std::vector<std::string> bodies ABSL_GUARDED_BY(mu);
  std::vector<std::string> queries ABSL_GUARDED_BY(mu);  // "id=...;status=..." per GET
  void Add(const httplib::Request& req) {
    absl::MutexLock lock(&mu);
    bodies.push_back(req.body);
    queries.push_back(
        absl::StrCat("id=", req.get_param_value("id"), ";status=", req.get_param_value("status")));
  }
  std::vector<std::string> Bodies() {
    absl::MutexLock lock(&mu);
    return bodies;
  }
  std::vector<std::string> Queries() {
    absl::MutexLock lock(&mu);
    return queries;
  }
};

// One validator object in the API's shape; index, balance and status vary.
std::string ValidatorJson(uint64_t index, uint64_t balance, std::string_view status) {
  return absl::StrCat(
      R"({"index":")", index, R"(","balance":")", balance, R"(","status":")", std::string(status),
      R"(","validator":{"pubkey":"0x)", std::string(96, 'a'), R"(","withdrawal_credentials":"0x)",
      std::string(64, 'b'),
      R"(","effective_balance":"32000000000","slashed":false,"activation_eligibility_epoch":"1",)"
      R"("activation_epoch":"2","exit_epoch":"18446744073709551615",)"
      R"("withdrawable_epoch":"18446744073709551615"}})");
}

TEST(FailoverBeaconClientTest, AttestationRewardsArePostedWithTheIds) {
  Received got;
  FakeNode n1([&](httplib::Server& s) {
    s.Post("/eth/v1/beacon/rewards/attestations/240247",
           [&](const httplib::Request& req, httplib::Response& res) {
             got.Add(req);
             res.set_content(
                 R"({"execution_optimistic":false,"data":{"ideal_rewards":[{"effective_balance":)"
                 R"("32000000000","head":"59165","target":"109940","source":"59198",)"
                 R"("inactivity":"0"}],"total_rewards":[{"validator_index":"1979","head":"0",)"
                 R"("target":"-99740","source":"-53706","inactivity":"0"}]}})",
                 "application/json");
           });
  });
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, &observer);
  absl::StatusOr<AttestationRewards> r = client->GetAttestationRewards(240247, {1979, 22});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(got.Bodies(), ElementsAre(R"(["1979","22"])"));
  ASSERT_EQ(r->total_rewards.size(), 1u);
  EXPECT_EQ(r->total_rewards[0].target, -99740);
  EXPECT_EQ(r->ideal_rewards[0].source, 59198);
  // An empty id list asks for every validator.
  ASSERT_TRUE(client->GetAttestationRewards(240247, {}).ok());
  EXPECT_EQ(got.Bodies().back(), "[]");
  EXPECT_THAT(observer.requests(),
              ::testing::Each(RecordingObserver::Request{
                  "node1", "/eth/v1/beacon/rewards/attestations/{epoch}", "ok"}));
}

TEST(FailoverBeaconClientTest, ValidatorsArePosted) {
  Received got;
  FakeNode n1([&](httplib::Server& s) {
    s.Post("/eth/v1/beacon/states/7687999/validators",
           [&](const httplib::Request& req, httplib::Response& res) {
             got.Add(req);
             res.set_content(absl::StrCat(R"({"data":[)",
                                          ValidatorJson(5, 31000000000, "active_ongoing"), "]}"),
                             "application/json");
           });
  });
  AutoClock clock;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, nullptr);
  const std::string pubkey = "0x" + std::string(96, 'A');
  absl::StatusOr<std::vector<ValidatorInfo>> v =
      client->GetValidators("7687999", {"5", pubkey}, {"active_ongoing"});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_THAT(got.Bodies(), ElementsAre(absl::StrCat(R"({"ids":["5",")", pubkey,
                                                     R"("],"statuses":["active_ongoing"]})")));
  ASSERT_EQ(v->size(), 1u);
  EXPECT_EQ((*v)[0].index, 5u);
  EXPECT_EQ((*v)[0].balance, 31000000000u);
  EXPECT_EQ((*v)[0].status, "active_ongoing");
  EXPECT_EQ((*v)[0].activation_epoch, 2u);
  EXPECT_EQ((*v)[0].pubkey[0], 0xaa);
}

// A server without the POST: 404 (httplib's answer for a missing route) or 405.
TEST(FailoverBeaconClientTest, ValidatorsFallBackToChunkedGets) {
  for (int post_status : {404, 405}) {
    SCOPED_TRACE(post_status);
    Received got;
    FakeNode n1([&](httplib::Server& s) {
      if (post_status == 405) {
        s.Post("/eth/v1/beacon/states/head/validators",
               [](const httplib::Request&, httplib::Response& res) { res.status = 405; });
      }
      s.Get("/eth/v1/beacon/states/head/validators",
            [&](const httplib::Request& req, httplib::Response& res) {
              got.Add(req);
              // Answer one validator per requested id, with balance = 10 * index.
              std::string data;
              for (absl::string_view id : absl::StrSplit(req.get_param_value("id"), ',')) {
                uint64_t index = 0;
                EXPECT_TRUE(absl::SimpleAtoi(id, &index)) << id;
                absl::StrAppend(&data, data.empty() ? "" : ",",
                                ValidatorJson(index, 10 * index, "active_ongoing"));
              }
              res.set_content(absl::StrCat(R"({"data":[)", data, "]}"), "application/json");
            });
    });
    AutoClock clock;
    RecordingObserver observer;
    auto client = MakeClient({n1.url()}, FastOptions(), &clock, &observer);
    std::vector<std::string> ids;
    for (int i = 0; i < 130; ++i) ids.push_back(absl::StrCat(1000 + i));
    absl::StatusOr<std::vector<ValidatorInfo>> v =
        client->GetValidators("head", ids, {"active_ongoing", "exited_slashed"});
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_EQ(v->size(), 130u);
    for (int i = 0; i < 130; ++i) {
      EXPECT_EQ((*v)[i].index, 1000u + i);
      EXPECT_EQ((*v)[i].balance, 10u * (1000 + i));
    }
    // 130 ids in chunks of 64: 64 + 64 + 2, each with the status filter.
    const std::vector<std::string> queries = got.Queries();
    ASSERT_EQ(queries.size(), 3u);
    EXPECT_THAT(queries[0], HasSubstr("id=1000,1001,"));
    EXPECT_THAT(queries[1], HasSubstr("id=1064,"));
    EXPECT_EQ(queries[2], "id=1128,1129;status=active_ongoing,exited_slashed");
    EXPECT_TRUE(client->Nodes()[0].healthy);
    EXPECT_EQ(observer.requests().size(), 4u);
  }
}

TEST(FailoverBeaconClientTest, ValidatorsErrorsOtherThanMissingPostDoNotFallBack) {
  FakeNode n1([&](httplib::Server& s) {
    s.Post("/eth/v1/beacon/states/head/validators", [](const httplib::Request&,
                                                       httplib::Response& res) {
      res.status = 400;
      res.set_content(R"({"code":400,"message":"Invalid validator ID"})", "application/json");
    });
  });
  AutoClock clock;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, nullptr);
  absl::StatusOr<std::vector<ValidatorInfo>> v = client->GetValidators("head", {"1"}, {});
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(v.status().message(), HasSubstr("Invalid validator ID"));
  EXPECT_EQ(n1.Hits("/eth/v1/beacon/states/head/validators"), 0);  // no GET
}

TEST(FailoverBeaconClientTest, ValidatorsRejectBadIdsBeforeIo) {
  FakeNode n1;
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, &observer);
  for (const std::string& bad :
       {std::string("-1"), std::string("0x1234"), std::string("1,2"), std::string("a\"b"),
        "0x" + std::string(96, 'g'), std::string("")}) {
    absl::StatusOr<std::vector<ValidatorInfo>> v = client->GetValidators("head", {"1", bad}, {});
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(v.status().message(), HasSubstr("neither a decimal index nor a 0x pubkey"));
  }
  EXPECT_EQ(client->GetValidators("head", {}, {"Active"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client->GetValidators("he/ad", {}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(observer.requests().empty());
}

TEST(FailoverBeaconClientTest, LivenessSyncCommitteeAndBlockRewards) {
  Received liveness;
  Received sync_rewards;
  FakeNode n1([&](httplib::Server& s) {
    s.Post("/eth/v1/validator/liveness/240248", [&](const httplib::Request& req,
                                                    httplib::Response& res) {
      liveness.Add(req);
      res.set_content(R"({"data":[{"index":"3","is_live":true},{"index":"9","is_live":false}]})",
                      "application/json");
    });
    s.Post("/eth/v1/beacon/rewards/sync_committee/100",
           [&](const httplib::Request& req, httplib::Response& res) {
             sync_rewards.Add(req);
             res.set_content(R"({"execution_optimistic":false,"finalized":true,"data":[)"
                             R"({"validator_index":"3","reward":"-1500"}]})",
                             "application/json");
           });
  });
  std::string committee =
      R"({"execution_optimistic":false,"finalized":true,"data":{"validators":[)";
  for (int i = 0; i < 512; ++i) absl::StrAppend(&committee, i ? "," : "", "\"", 7 + i % 3, "\"");
  absl::StrAppend(&committee, R"(],"validator_aggregates":[["7","8"]]}})");
  n1.Set("/eth/v1/beacon/states/3200/sync_committees", 200, committee);
  n1.Set("/eth/v1/beacon/rewards/blocks/100", 200,
         R"({"execution_optimistic":false,"finalized":true,"data":{"proposer_index":"42",)"
         R"("total":"10","attestations":"6","sync_aggregate":"3","proposer_slashings":"1",)"
         R"("attester_slashings":"0"}})");
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, &observer);

  absl::StatusOr<std::vector<ValidatorLiveness>> l = client->GetLiveness(240248, {3, 9});
  ASSERT_TRUE(l.ok()) << l.status();
  EXPECT_THAT(liveness.Bodies(), ElementsAre(R"(["3","9"])"));
  ASSERT_EQ(l->size(), 2u);
  EXPECT_TRUE((*l)[0].is_live);
  EXPECT_EQ((*l)[1].index, 9u);
  EXPECT_FALSE((*l)[1].is_live);

  absl::StatusOr<SyncCommittee> c = client->GetSyncCommittee("3200", 100);
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->validators.size(), 512u);
  EXPECT_EQ(c->validators[0], 7u);
  EXPECT_EQ(c->validators[511], 7u + 511 % 3);

  absl::StatusOr<std::optional<BlockRewards>> br = client->GetBlockRewards("100");
  ASSERT_TRUE(br.ok()) << br.status();
  ASSERT_TRUE(br->has_value());
  EXPECT_EQ((*br)->proposer_index, 42u);
  EXPECT_EQ((*br)->total, 10u);
  EXPECT_EQ((*br)->sync_aggregate, 3u);
  // An empty slot: 404 is a value.
  absl::StatusOr<std::optional<BlockRewards>> empty = client->GetBlockRewards("101");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_FALSE(empty->has_value());

  auto sr = client->GetSyncCommitteeRewards("100", {3});
  ASSERT_TRUE(sr.ok()) << sr.status();
  ASSERT_TRUE(sr->has_value());
  EXPECT_EQ((**sr)[0].reward, -1500);
  EXPECT_THAT(sync_rewards.Bodies(), ElementsAre(R"(["3"])"));
  auto sr_empty = client->GetSyncCommitteeRewards("101", {});
  ASSERT_TRUE(sr_empty.ok()) << sr_empty.status();
  EXPECT_FALSE(sr_empty->has_value());

  EXPECT_THAT(
      observer.requests(),
      ElementsAre(
          RecordingObserver::Request{"node1", "/eth/v1/validator/liveness/{epoch}", "ok"},
          RecordingObserver::Request{"node1", "/eth/v1/beacon/states/{state_id}/sync_committees",
                                     "ok"},
          RecordingObserver::Request{"node1", "/eth/v1/beacon/rewards/blocks/{block_id}", "ok"},
          RecordingObserver::Request{"node1", "/eth/v1/beacon/rewards/blocks/{block_id}",
                                     "not_found"},
          RecordingObserver::Request{"node1", "/eth/v1/beacon/rewards/sync_committee/{block_id}",
                                     "ok"},
          RecordingObserver::Request{"node1", "/eth/v1/beacon/rewards/sync_committee/{block_id}",
                                     "not_found"}));
}

// A client that implements only the original calls still compiles and answers Unimplemented.
TEST(BeaconClientTest, NewCallsDefaultToUnimplemented) {
  class Minimal final : public BeaconClient {
   public:
    absl::StatusOr<Genesis> GetGenesis() override { return Genesis{}; }
    absl::StatusOr<ChainSpec> GetSpec() override { return ChainSpec{}; }
    absl::StatusOr<SyncStatus> GetSyncing() override { return SyncStatus{}; }
    absl::StatusOr<FinalityCheckpoints> GetFinalityCheckpoints(std::string_view) override {
      return FinalityCheckpoints{};
    }
    absl::StatusOr<std::optional<BlockHeader>> GetHeader(std::string_view) override {
      return std::nullopt;
    }
    absl::StatusOr<std::optional<Block>> GetBlock(std::string_view) override {
      return std::nullopt;
    }
    absl::StatusOr<std::optional<std::vector<Attestation>>> GetBlockAttestations(
        std::string_view) override {
      return std::nullopt;
    }
    absl::StatusOr<std::vector<Committee>> GetCommittees(std::string_view, Epoch) override {
      return std::vector<Committee>{};
    }
    absl::StatusOr<ProposerDuties> GetProposerDuties(Epoch) override { return ProposerDuties{}; }
  } minimal;
  EXPECT_EQ(minimal.GetAttestationRewards(1, {}).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(minimal.GetValidators("head", {}, {}).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(minimal.GetSyncCommittee("head", 1).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(minimal.GetHeadersAtSlot(1).status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(minimal.GetValidatorBalances("head", {}).status().code(),
            absl::StatusCode::kUnimplemented);
}

// ---- Headers at a slot ----

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(STAKEWATCH_SOURCE_DIR "/test/testdata/beacon/") + name,
                   std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FailoverBeaconClientTest, HeadersAtSlotListsEveryHeaderAndEmptyOn404) {
  Received got;
  FakeNode n1([&](httplib::Server& s) {
    s.Get("/eth/v1/beacon/headers", [&](const httplib::Request& req, httplib::Response& res) {
      got.Add(req);
      const std::string slot = req.get_param_value("slot");
      if (slot == "7687982") {
        // Two headers: the canonical one (proposer 1277) and an orphan (root 0xee..).
        res.set_content(ReadTestdata("handmade/headers_slot_7687982.json"), "application/json");
      } else if (slot == "7687983") {
        res.set_content(R"({"execution_optimistic":false,"finalized":true,"data":[]})",
                        "application/json");
      } else {
        res.status = 404;
        res.set_content(R"({"code":404,"message":"NOT_FOUND: slot"})", "application/json");
      }
    });
  });
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, &observer);

  absl::StatusOr<std::vector<BlockHeader>> h = client->GetHeadersAtSlot(7687982);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_TRUE((*h)[0].canonical);
  EXPECT_EQ((*h)[0].proposer_index, 1277u);
  EXPECT_EQ((*h)[0].root[0], 0x11);
  EXPECT_FALSE((*h)[1].canonical);
  EXPECT_EQ((*h)[1].root[0], 0xee);

  absl::StatusOr<std::vector<BlockHeader>> none = client->GetHeadersAtSlot(7687983);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->empty());
  absl::StatusOr<std::vector<BlockHeader>> missing = client->GetHeadersAtSlot(7687984);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_TRUE(missing->empty());

  EXPECT_THAT(got.Queries(), ElementsAre("id=;status=", "id=;status=", "id=;status="));
  EXPECT_THAT(
      observer.requests(),
      ElementsAre(RecordingObserver::Request{"node1", "/eth/v1/beacon/headers", "ok"},
                  RecordingObserver::Request{"node1", "/eth/v1/beacon/headers", "ok"},
                  RecordingObserver::Request{"node1", "/eth/v1/beacon/headers", "not_found"}));
  EXPECT_TRUE(client->Nodes()[0].healthy);
}

TEST(FailoverBeaconClientTest, HeadersAtSlotFailOverOnBadBody) {
  FakeNode n1, n2;
  n1.Set("/eth/v1/beacon/headers", 200, R"({"data":{"root":"0x00"}})");  // not a list
  n2.Set("/eth/v1/beacon/headers", 200, ReadTestdata("handmade/headers_slot_7687982.json"));
  AutoClock clock;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, nullptr);
  absl::StatusOr<std::vector<BlockHeader>> h = client->GetHeadersAtSlot(7687982);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->size(), 2u);
  EXPECT_FALSE(client->Nodes()[0].healthy);
  EXPECT_EQ(client->Nodes()[0].reason, "decode");
}

// ---- Validator balances ----

TEST(FailoverBeaconClientTest, ValidatorBalancesArePosted) {
  Received got;
  FakeNode n1([&](httplib::Server& s) {
    s.Post("/eth/v1/beacon/states/7687968/validator_balances",
           [&](const httplib::Request& req, httplib::Response& res) {
             got.Add(req);
             res.set_content(
                 R"({"execution_optimistic":false,"finalized":true,"data":[)"
                 R"({"index":"9","balance":"31999000000"},{"index":"5","balance":"32000000001"}]})",
                 "application/json");
           });
  });
  AutoClock clock;
  RecordingObserver observer;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, &observer);
  absl::StatusOr<std::vector<ValidatorBalance>> b = client->GetValidatorBalances("7687968", {5, 9});
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->size(), 2u);
  EXPECT_EQ((*b)[0].index, 9u);
  EXPECT_EQ((*b)[0].balance, 31999000000u);
  EXPECT_EQ((*b)[1].index, 5u);
  EXPECT_EQ((*b)[1].balance, 32000000001u);
  ASSERT_TRUE(client->GetValidatorBalances("7687968", {}).ok());
  EXPECT_THAT(got.Bodies(), ElementsAre(R"(["5","9"])", "[]"));
  EXPECT_THAT(observer.requests(),
              ::testing::Each(RecordingObserver::Request{
                  "node1", "/eth/v1/beacon/states/{state_id}/validator_balances", "ok"}));
  EXPECT_EQ(client->GetValidatorBalances("../x", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FailoverBeaconClientTest, ValidatorBalancesFallBackToChunkedGets) {
  for (int post_status : {404, 405}) {
    SCOPED_TRACE(post_status);
    Received got;
    FakeNode n1([&](httplib::Server& s) {
      if (post_status == 405) {
        s.Post("/eth/v1/beacon/states/head/validator_balances",
               [](const httplib::Request&, httplib::Response& res) { res.status = 405; });
      }
      s.Get("/eth/v1/beacon/states/head/validator_balances",
            [&](const httplib::Request& req, httplib::Response& res) {
              got.Add(req);
              // One row per requested id, balance = 7 * index; no ids: indices 0 and 1.
              std::string data;
              const std::string ids = req.get_param_value("id");
              for (absl::string_view id : absl::StrSplit(ids.empty() ? "0,1" : ids, ',')) {
                uint64_t index = 0;
                EXPECT_TRUE(absl::SimpleAtoi(id, &index)) << id;
                absl::StrAppend(&data, data.empty() ? "" : ",", R"({"index":")", index,
                                R"(","balance":")", 7 * index, R"("})");
              }
              res.set_content(absl::StrCat(R"({"data":[)", data, "]}"), "application/json");
            });
    });
    AutoClock clock;
    auto client = MakeClient({n1.url()}, FastOptions(), &clock, nullptr);
    std::vector<ValidatorIndex> ids;
    for (int i = 0; i < 130; ++i) ids.push_back(2000 + i);
    absl::StatusOr<std::vector<ValidatorBalance>> b = client->GetValidatorBalances("head", ids);
    ASSERT_TRUE(b.ok()) << b.status();
    ASSERT_EQ(b->size(), 130u);
    for (int i = 0; i < 130; ++i) {
      EXPECT_EQ((*b)[i].index, 2000u + i);
      EXPECT_EQ((*b)[i].balance, 7u * (2000 + i));
    }
    // 64 + 64 + 2 ids.
    const std::vector<std::string> queries = got.Queries();
    ASSERT_EQ(queries.size(), 3u);
    EXPECT_THAT(queries[0], HasSubstr("id=2000,2001,"));
    EXPECT_THAT(queries[1], HasSubstr("id=2064,"));
    EXPECT_EQ(queries[2], "id=2128,2129;status=");
    // No ids: one unfiltered GET.
    absl::StatusOr<std::vector<ValidatorBalance>> all = client->GetValidatorBalances("head", {});
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[1].balance, 7u);
    EXPECT_EQ(got.Queries().back(), "id=;status=");
  }
}

// ---- "State not available" (pruned states) ----

// Bodies shaped like real clients' answers for a state the node no longer (or does not yet)
// have; the wording differs between clients.
constexpr char kStateNotFound404[] = R"({"code":404,"message":"State not found"})";
constexpr char kPrunedState400[] =
    R"({"code":400,"message":"BAD_REQUEST: historical state at slot 160 is not available, pruned"})";

TEST(FailoverBeaconClientTest, PrunedStateIsNotFoundNamingTheStateWithoutFailover) {
  FakeNode n1([&](httplib::Server& s) {
    const auto pruned = [](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      res.set_content(kStateNotFound404, "application/json");
    };
    s.Post("/eth/v1/beacon/states/160/validators", pruned);
    s.Post("/eth/v1/beacon/states/160/validator_balances", pruned);
    s.Post("/eth/v1/beacon/rewards/attestations/5",
           [](const httplib::Request&, httplib::Response& res) {
             res.status = 400;
             res.set_content(kPrunedState400, "application/json");
           });
  });
  n1.Set("/eth/v1/beacon/states/160/committees", 404, kStateNotFound404);
  n1.Set("/eth/v1/beacon/states/160/validators", 404, kStateNotFound404);
  n1.Set("/eth/v1/beacon/states/160/validator_balances", 404, kStateNotFound404);
  n1.Set("/eth/v1/beacon/states/160/sync_committees", 404, kStateNotFound404);
  n1.Set("/eth/v1/beacon/states/160/finality_checkpoints", 404, kStateNotFound404);
  FakeNode n2;  // must never be asked: the answer is about the request, not the node
  AutoClock clock;
  auto client = MakeClient({n1.url(), n2.url()}, FastOptions(), &clock, nullptr);

  const auto check = [](const absl::Status& s, std::string_view subject, std::string_view quote) {
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_TRUE(IsStateUnavailable(s)) << s;
    EXPECT_THAT(s.message(),
                AllOf(HasSubstr("node1: "), HasSubstr(std::string(subject)),
                      HasSubstr("is not available on this node"), HasSubstr(std::string(quote))));
  };
  check(client->GetCommittees("160", 5).status(), "state 160",
        "HTTP 404 from /eth/v1/beacon/states/160/committees?epoch=5: " +
            std::string(kStateNotFound404));
  // POST 404, then the GET fall-back answers 404 for the state too.
  check(client->GetValidators("160", {"1"}, {}).status(), "state 160", "State not found");
  check(client->GetValidatorBalances("160", {1}).status(), "state 160", "State not found");
  check(client->GetSyncCommittee("160", 5).status(), "state 160", "State not found");
  check(client->GetFinalityCheckpoints("160").status(), "state 160", "State not found");
  // A 400 that says so counts too; rewards name the epoch.
  check(client->GetAttestationRewards(5, {1}).status(), "the state for epoch 5",
        "HTTP 400 from /eth/v1/beacon/rewards/attestations/5: " + std::string(kPrunedState400));

  EXPECT_TRUE(client->Nodes()[0].healthy);
  EXPECT_EQ(n2.Hits("/eth/v1/beacon/states/160/committees"), 0);
  EXPECT_EQ(n2.Hits("/eth/v1/beacon/states/160/validators"), 0);
}

TEST(FailoverBeaconClientTest, OtherClientErrorsAreNotStateUnavailable) {
  FakeNode n1([&](httplib::Server& s) {
    s.Post("/eth/v1/beacon/rewards/attestations/5",
           [](const httplib::Request&, httplib::Response& res) {
             res.status = 400;
             res.set_content(R"({"code":400,"message":"Invalid epoch: 5"})", "application/json");
           });
  });
  n1.Set("/eth/v1/beacon/states/current/committees", 400,
         R"({"code":400,"message":"Invalid state ID: current"})");
  // No route for sync_committees: the FakeNode's generic 404 ("no such route").
  AutoClock clock;
  auto client = MakeClient({n1.url()}, FastOptions(), &clock, nullptr);

  absl::Status bad_id = client->GetCommittees("current", 1).status();
  EXPECT_EQ(bad_id.code(), absl::StatusCode::kInvalidArgument) << bad_id;
  EXPECT_FALSE(IsStateUnavailable(bad_id));
  absl::Status bad_epoch = client->GetAttestationRewards(5, {}).status();
  EXPECT_EQ(bad_epoch.code(), absl::StatusCode::kInvalidArgument) << bad_epoch;
  EXPECT_FALSE(IsStateUnavailable(bad_epoch));
  absl::Status no_route = client->GetSyncCommittee("head", 1).status();
  EXPECT_EQ(no_route.code(), absl::StatusCode::kNotFound) << no_route;
  EXPECT_FALSE(IsStateUnavailable(no_route));
  EXPECT_THAT(no_route.message(), HasSubstr("no such route"));
  // Not a beacon-client status at all.
  EXPECT_FALSE(IsStateUnavailable(absl::NotFoundError("state 1 is not available")));
  EXPECT_FALSE(IsStateUnavailable(absl::OkStatus()));
}

}  // namespace
}  // namespace stakewatch::beacon
