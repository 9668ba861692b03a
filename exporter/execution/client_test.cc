// ExecutionClient, RelayClient and FetchBlockRewards against real loopback httplib servers
// (127.0.0.1, ephemeral port, TCP_NODELAY) serving the fixtures in test/testdata/execution.
#include "execution/client.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "execution/decode.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::execution {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Testdata(std::string_view name) {
  const std::string path =
      absl::StrCat(STAKEWATCH_SOURCE_DIR, "/test/testdata/execution/", std::string(name));
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The number after `"id":` in a JSON-RPC request or response (optional spaces); -1 if none.
int64_t FindId(std::string_view json) {
  size_t at = json.find("\"id\":");
  if (at == std::string_view::npos) return -1;
  at += 5;
  while (at < json.size() && json[at] == ' ') ++at;
  size_t end = at;
  while (end < json.size() && json[end] >= '0' && json[end] <= '9') ++end;
  int64_t id = -1;
  if (!absl::SimpleAtoi(std::string(json.substr(at, end - at)), &id)) return -1;
  return id;
}

// Replaces the canned response's id with `id`.
std::string WithId(std::string body, int64_t id) {
  size_t at = body.find("\"id\":");
  if (at == std::string::npos) return body;
  at += 5;
  while (at < body.size() && body[at] == ' ') ++at;
  size_t end = at;
  while (end < body.size() && body[end] >= '0' && body[end] <= '9') ++end;
  return body.replace(at, end - at, absl::StrCat(id));
}

const absl::uint128 kGwei = 1000000000;
constexpr uint64_t kSlot = 10236000;
constexpr uint64_t kLocalBlock = 21000000;    // 0x1406f40
constexpr uint64_t kBuilderBlock = 21000001;  // 0x1406f41
const Address kLido = {0x38, 0x8c, 0x81, 0x8c, 0xa8, 0xb9, 0x25, 0x1b, 0x39, 0x31,
                       0x31, 0xc0, 0x8a, 0x73, 0x6a, 0x67, 0xcc, 0xb1, 0x92, 0x97};
const Address kLocalFeeRecipient = {0x8d, 0xc8, 0x47, 0xaf, 0x87, 0x29, 0x47, 0xac, 0x18, 0xd5,
                                    0xd6, 0x3f, 0xa6, 0x46, 0xeb, 0x65, 0xd4, 0xd9, 0x95, 0x60};

// A loopback server. JSON-RPC POSTs (any path) are answered from `rpc_` keyed by
// "method params" (e.g. `eth_getBlockByNumber ["0x1406f40",true]`), with the request's id put
// into the response; GETs are answered from `get_` keyed by path?query. Unknown requests: 404.
class FakeServer {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    absl::Duration delay = absl::ZeroDuration();
  };

  FakeServer() {
    server_.set_tcp_nodelay(true);
    server_.Post(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Reply reply{404, "not found"};
      std::string key;
      {
        // Key: method + params, cut out of the compact request body the client sends.
        const size_t m = req.body.find(R"("method":")");
        const size_t p = req.body.find(R"(","params":)");
        if (m != std::string::npos && p != std::string::npos) {
          key = req.body.substr(m + 10, p - m - 10) + " " +
                req.body.substr(p + 11, req.body.size() - p - 12);
        }
      }
      {
        absl::MutexLock lock(&mu_);
        requests_.push_back(req.body);
        paths_.push_back(req.path);
        authorization_ = req.get_header_value("Authorization");
        if (auto it = rpc_.find(key); it != rpc_.end()) reply = it->second;
      }
      Respond(reply, FindId(req.body), res);
    });
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      std::string key = req.path;
      if (!req.params.empty()) {
        key += "?";
        for (const auto& [k, v] : req.params) key += k + "=" + v;
      }
      Reply reply{404, R"({"code":404,"message":"not found"})"};
      {
        absl::MutexLock lock(&mu_);
        paths_.push_back(key);
        if (auto it = get_.find(key); it != get_.end()) reply = it->second;
      }
      Respond(reply, -1, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~FakeServer() {
    release_.Notify();
    server_.stop();
    thread_.join();
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  int port() const { return port_; }

  void SetRpc(const std::string& method_params, Reply reply) {
    absl::MutexLock lock(&mu_);
    rpc_[method_params] = std::move(reply);
  }
  void SetGet(const std::string& path_query, Reply reply) {
    absl::MutexLock lock(&mu_);
    get_[path_query] = std::move(reply);
  }
  std::vector<std::string> requests() {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  std::vector<std::string> paths() {
    absl::MutexLock lock(&mu_);
    return paths_;
  }
  std::string authorization() {
    absl::MutexLock lock(&mu_);
    return authorization_;
  }

 private:
  void Respond(const Reply& reply, int64_t id, httplib::Response& res) {
    if (reply.delay > absl::ZeroDuration()) release_.WaitForNotificationWithTimeout(reply.delay);
    res.status = reply.status;
    res.set_content(id >= 0 ? WithId(reply.body, id) : reply.body, "application/json");
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::map<std::string, Reply> rpc_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Reply> get_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> paths_ ABSL_GUARDED_BY(mu_);
  std::string authorization_ ABSL_GUARDED_BY(mu_);
};

const char kGetLocal[] = R"(eth_getBlockByNumber ["0x1406f40",true])";
const char kGetLocalReceipts[] = R"(eth_getBlockReceipts ["0x1406f40"])";
const char kGetBuilder[] = R"(eth_getBlockByNumber ["0x1406f41",true])";
const char kGetBuilderReceipts[] = R"(eth_getBlockReceipts ["0x1406f41"])";
const std::string kRelayPath =
    absl::StrCat("/relay/v1/data/bidtraces/proposer_payload_delivered?slot=", kSlot);

std::unique_ptr<ExecutionClient> NewEl(const std::string& url,
                                       beacon::HttplibTransportOptions options = {}) {
  absl::StatusOr<std::unique_ptr<ExecutionClient>> c = ExecutionClient::Create(url, options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

std::unique_ptr<RelayClient> NewRelay(const std::string& url, std::string_view name = "",
                                      beacon::HttplibTransportOptions options = {}) {
  absl::StatusOr<std::unique_ptr<RelayClient>> c = RelayClient::Create(url, options, name);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

// ---- ExecutionClient ----

TEST(ExecutionClientTest, FetchesBlockAndReceiptsWithIncrementingIds) {
  FakeServer el;
  el.SetRpc(kGetLocal, {200, Testdata("local_block.json")});
  el.SetRpc(kGetLocalReceipts, {200, Testdata("local_receipts.json")});
  auto client = NewEl(el.url());
  ASSERT_NE(client, nullptr);

  absl::StatusOr<std::optional<ExecBlock>> block = client->GetBlockByNumber(kLocalBlock);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_TRUE(block->has_value());
  EXPECT_EQ((*block)->number, kLocalBlock);
  EXPECT_EQ((*block)->transactions.size(), 3u);

  absl::StatusOr<std::optional<std::vector<ExecReceipt>>> receipts =
      client->GetBlockReceipts(kLocalBlock);
  ASSERT_TRUE(receipts.ok()) << receipts.status();
  ASSERT_TRUE(receipts->has_value());
  EXPECT_EQ((*receipts)->size(), 3u);

  ASSERT_TRUE(client->GetBlockByNumber(kLocalBlock).ok());
  EXPECT_THAT(
      el.requests(),
      ElementsAre(
          R"({"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x1406f40",true]})",
          R"({"jsonrpc":"2.0","id":2,"method":"eth_getBlockReceipts","params":["0x1406f40"]})",
          R"({"jsonrpc":"2.0","id":3,"method":"eth_getBlockByNumber","params":["0x1406f40",true]})"));
}

TEST(ExecutionClientTest, NotFoundErrorsAndWrongBlock) {
  FakeServer el;
  el.SetRpc(kGetLocal, {200, Testdata("block_not_found.json")});
  el.SetRpc(kGetLocalReceipts, {200, Testdata("rpc_error_method_not_found.json")});
  el.SetRpc(kGetBuilder, {200, Testdata("local_block.json")});  // the node answers block 0x1406f40
  el.SetRpc(kGetBuilderReceipts, {503, "<html>bad gateway</html>"});
  auto client = NewEl(el.url());
  ASSERT_NE(client, nullptr);

  absl::StatusOr<std::optional<ExecBlock>> missing = client->GetBlockByNumber(kLocalBlock);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->has_value());

  absl::StatusOr<std::optional<std::vector<ExecReceipt>>> unsupported =
      client->GetBlockReceipts(kLocalBlock);
  EXPECT_EQ(unsupported.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(JsonRpcErrorCode(unsupported.status()), -32601);

  EXPECT_THAT(client->GetBlockByNumber(kBuilderBlock).status().message(),
              HasSubstr("asked for 21000001, got block 21000000"));

  absl::StatusOr<std::optional<std::vector<ExecReceipt>>> bad_gateway =
      client->GetBlockReceipts(kBuilderBlock);
  EXPECT_EQ(bad_gateway.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(bad_gateway.status().message(), HasSubstr("HTTP 503"));

  // An HTTP error status carrying a JSON-RPC error reports the JSON-RPC error.
  el.SetRpc(kGetLocal,
            {429, R"({"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"slow down"}})"});
  absl::StatusOr<std::optional<ExecBlock>> limited = client->GetBlockByNumber(kLocalBlock);
  EXPECT_EQ(limited.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(limited.status().message(), HasSubstr("HTTP 429"));
  EXPECT_THAT(limited.status().message(), HasSubstr("slow down"));
}

TEST(ExecutionClientTest, CredentialsAreSentButNeverShown) {
  FakeServer el;
  // Only errors: every message produced below must be free of the secrets.
  el.SetRpc(kGetLocal, {500, "internal error"});
  auto client = NewEl(absl::StrCat("http://user:s3cret@127.0.0.1:", el.port(), "/v3/APIKEY123"));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->name(), absl::StrCat("http://127.0.0.1:", el.port()));

  absl::StatusOr<std::optional<ExecBlock>> b = client->GetBlockByNumber(kLocalBlock);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), Not(HasSubstr("s3cret")));
  EXPECT_THAT(b.status().message(), Not(HasSubstr("APIKEY123")));
  EXPECT_THAT(b.status().message(), Not(HasSubstr("user")));
  // base64("user:s3cret") = "dXNlcjpzM2NyZXQ=" (worked out with a separate tool).
  EXPECT_EQ(el.authorization(), "Basic dXNlcjpzM2NyZXQ=");
  // The JSON-RPC target "/" is appended to the URL's path (see ExecutionClient::Create).
  EXPECT_THAT(el.paths(), ElementsAre("/v3/APIKEY123/"));

  // A malformed URL's error does not echo the password either.
  absl::StatusOr<std::unique_ptr<ExecutionClient>> bad =
      ExecutionClient::Create("ftp://user:s3cret@host:1");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("s3cret")));

  // Nor does a connection failure (nothing listens on the port after the server is gone).
  int dead_port = 0;
  {
    FakeServer gone;
    dead_port = gone.port();
  }
  auto dead = NewEl(absl::StrCat("http://user:s3cret@127.0.0.1:", dead_port, "/v3/APIKEY123"));
  ASSERT_NE(dead, nullptr);
  absl::StatusOr<std::optional<ExecBlock>> refused = dead->GetBlockByNumber(1);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("s3cret")));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr("APIKEY123")));
}

TEST(ExecutionClientTest, SlowServerTimesOutWithinTheReadTimeout) {
  FakeServer el;
  el.SetRpc(kGetLocal, {200, Testdata("local_block.json"), absl::Seconds(10)});
  beacon::HttplibTransportOptions options;
  options.read_timeout = absl::Milliseconds(300);
  auto client = NewEl(el.url(), options);
  ASSERT_NE(client, nullptr);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::optional<ExecBlock>> b = client->GetBlockByNumber(kLocalBlock);
  const absl::Duration elapsed = absl::Now() - start;
  EXPECT_EQ(b.status().code(), absl::StatusCode::kDeadlineExceeded) << b.status();
  EXPECT_THAT(b.status().message(), HasSubstr("eth_getBlockByNumber"));
  EXPECT_THAT(b.status().message(), HasSubstr("timeout"));
  EXPECT_LT(elapsed, absl::Seconds(3));
}

TEST(ExecutionClientTest, OversizedResponseIsRejected) {
  FakeServer el;
  const std::string body = Testdata("local_block.json");
  ASSERT_GT(body.size(), 2048u);
  el.SetRpc(kGetLocal, {200, body});
  beacon::HttplibTransportOptions options;
  options.max_response_bytes = 2048;
  auto client = NewEl(el.url(), options);
  ASSERT_NE(client, nullptr);
  absl::StatusOr<std::optional<ExecBlock>> b = client->GetBlockByNumber(kLocalBlock);
  EXPECT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted) << b.status();
  EXPECT_THAT(b.status().message(), HasSubstr("too large"));
}

// ---- RelayClient ----

TEST(RelayClientTest, DeliveredEmptyAndFiltered) {
  FakeServer relay;
  relay.SetGet(kRelayPath, {200, Testdata("relay_delivered.json")});
  // A relay that ignores the slot filter and reports slot 10236000 when asked for 10236001.
  relay.SetGet(absl::StrCat("/relay/v1/data/bidtraces/proposer_payload_delivered?slot=", kSlot + 1),
               {200, Testdata("relay_delivered.json")});
  relay.SetGet(absl::StrCat("/relay/v1/data/bidtraces/proposer_payload_delivered?slot=", kSlot + 2),
               {200, Testdata("relay_empty.json")});
  relay.SetGet(absl::StrCat("/relay/v1/data/bidtraces/proposer_payload_delivered?slot=", kSlot + 3),
               {400, R"({"code":400,"message":"invalid slot"})"});
  auto client =
      NewRelay(absl::StrCat("http://0xac6e77dfe25ecd6110b8e780608cce0dab71fdd5ebea22a16c"
                            "0205200f2f8e2e3ad3b71d3499c54ad14d6c21b41a37ae@127.0.0.1:",
                            relay.port()));
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->name(), "127.0.0.1");

  absl::StatusOr<std::vector<RelayDelivery>> d = client->GetDeliveredPayload(kSlot);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].value, 34500000000 * kGwei);  // "34500000000000000000"

  absl::StatusOr<std::vector<RelayDelivery>> filtered = client->GetDeliveredPayload(kSlot + 1);
  ASSERT_TRUE(filtered.ok()) << filtered.status();
  EXPECT_TRUE(filtered->empty());

  absl::StatusOr<std::vector<RelayDelivery>> empty = client->GetDeliveredPayload(kSlot + 2);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());

  absl::StatusOr<std::vector<RelayDelivery>> bad = client->GetDeliveredPayload(kSlot + 3);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(bad.status().message(), HasSubstr("HTTP 400"));
  EXPECT_THAT(bad.status().message(), HasSubstr("invalid slot"));
  EXPECT_THAT(bad.status().message(), Not(HasSubstr("0xac6e77")));
}

// ---- FetchBlockRewards ----

TEST(FetchBlockRewardsTest, BuilderBlockWithRelays) {
  FakeServer el;
  el.SetRpc(kGetBuilder, {200, Testdata("builder_block.json")});
  el.SetRpc(kGetBuilderReceipts, {200, Testdata("builder_receipts.json")});
  FakeServer delivered, other, empty, broken;
  delivered.SetGet(kRelayPath, {200, Testdata("relay_delivered.json")});
  other.SetGet(kRelayPath, {200, Testdata("relay_other_block.json")});
  empty.SetGet(kRelayPath, {200, Testdata("relay_empty.json")});
  broken.SetGet(kRelayPath, {500, "oops"});
  auto client = NewEl(el.url());
  auto r1 = NewRelay(delivered.url(), "flashbots");
  auto r2 = NewRelay(other.url(), "ultrasound");
  auto r3 = NewRelay(empty.url(), "agnostic");
  auto r4 = NewRelay(broken.url(), "titan");
  ASSERT_TRUE(client && r1 && r2 && r3 && r4);

  absl::StatusOr<BlockExecutionRewards> r = FetchBlockRewards(
      client.get(), {r1.get(), r2.get(), r3.get(), r4.get()}, kBuilderBlock, kSlot, kLido);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->block_number, kBuilderBlock);
  EXPECT_EQ(r->block_hash[0], 0x8f);
  EXPECT_EQ(r->coinbase[0], 0x95);
  // Hand-worked in rewards_test.cc: tips 621,000 gwei (the builder's), payment 34.5 ETH.
  EXPECT_EQ(r->reward.priority_fees, 621000 * kGwei);
  EXPECT_EQ(r->reward.to_fee_recipient, 34500000000 * kGwei);
  EXPECT_TRUE(r->relay_delivered);
  ASSERT_EQ(r->relays.size(), 4u);

  EXPECT_EQ(r->relays[0].relay, "flashbots");
  EXPECT_TRUE(r->relays[0].status.ok());
  EXPECT_EQ(r->relays[0].delivered_value, 34500000000 * kGwei);
  EXPECT_FALSE(r->relays[0].block_hash_mismatch);

  EXPECT_EQ(r->relays[1].relay, "ultrasound");
  EXPECT_TRUE(r->relays[1].status.ok());
  EXPECT_EQ(r->relays[1].delivered_value, std::nullopt);
  EXPECT_TRUE(r->relays[1].block_hash_mismatch);

  EXPECT_EQ(r->relays[2].relay, "agnostic");
  EXPECT_TRUE(r->relays[2].status.ok());
  EXPECT_EQ(r->relays[2].delivered_value, std::nullopt);
  EXPECT_FALSE(r->relays[2].block_hash_mismatch);

  EXPECT_EQ(r->relays[3].relay, "titan");
  EXPECT_EQ(r->relays[3].status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(r->relays[3].delivered_value, std::nullopt);
}

TEST(FetchBlockRewardsTest, LocalBlockAndElErrors) {
  FakeServer el;
  el.SetRpc(kGetLocal, {200, Testdata("local_block.json")});
  el.SetRpc(kGetLocalReceipts, {200, Testdata("local_receipts.json")});
  el.SetRpc(kGetBuilder, {200, Testdata("block_not_found.json")});
  FakeServer relay;
  relay.SetGet(kRelayPath, {200, Testdata("relay_empty.json")});
  auto client = NewEl(el.url());
  auto r1 = NewRelay(relay.url());
  ASSERT_TRUE(client && r1);

  absl::StatusOr<BlockExecutionRewards> r =
      FetchBlockRewards(client.get(), {r1.get()}, kLocalBlock, kSlot, kLocalFeeRecipient);
  ASSERT_TRUE(r.ok()) << r.status();
  // Hand-worked in rewards_test.cc: 54,048,500,000,000 wei of tips to the fee recipient.
  EXPECT_EQ(r->reward.to_fee_recipient, absl::uint128(54048500000000ULL));
  EXPECT_TRUE(r->reward.coinbase_is_fee_recipient);
  EXPECT_FALSE(r->relay_delivered);
  ASSERT_EQ(r->relays.size(), 1u);
  EXPECT_EQ(r->relays[0].relay, "127.0.0.1");

  // No relays at all.
  EXPECT_TRUE(FetchBlockRewards(client.get(), {}, kLocalBlock, kSlot, kLocalFeeRecipient).ok());

  absl::StatusOr<BlockExecutionRewards> missing =
      FetchBlockRewards(client.get(), {r1.get()}, kBuilderBlock, kSlot, kLido);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("execution block 21000001 not found"));

  // Receipts of another block (e.g. after a reorg between the two calls).
  el.SetRpc(kGetBuilder, {200, Testdata("builder_block.json")});
  el.SetRpc(kGetBuilderReceipts, {200, Testdata("local_receipts.json")});
  absl::StatusOr<BlockExecutionRewards> mixed =
      FetchBlockRewards(client.get(), {r1.get()}, kBuilderBlock, kSlot, kLido);
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(mixed.status().message(), HasSubstr("transaction hashes differ"));
}

}  // namespace
}  // namespace stakewatch::execution
