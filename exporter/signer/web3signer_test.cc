// Web3Signer decoders (pure, on bodies) and Web3SignerClient against httplib servers on
// loopback ports chosen at run time. Expected values are read off the inputs by hand.
#include "signer/web3signer.h"

#include <cctype>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace stakewatch::signer {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;

std::string ReadTestdata(std::string_view name) {
  const std::string path =
      std::string(STAKEWATCH_SOURCE_DIR) + "/test/testdata/signer/" + std::string(name);
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Three keys, written out so that tests do not derive expectations from the decoder.
constexpr std::string_view kKeyA =
    "0x93247f2209abcacf57b75a51dafae777f9dd38bc7053d1af526f220a7489a6d3a2753e5f3e8b1cfe39b56f43611d"
    "f74a";
constexpr std::string_view kKeyB =
    "0xa1d1ad0714035353258038e964ae9675dc0252ee22cea896825c01458e1807bfad2f9969338798548d9858a571f7"
    "425c";
constexpr std::string_view kKeyC =
    "0xb2ff4716ed345b05dd1dfc6a5a9fa70856d8c75dcc9e881dd2f766d5f891326f0d10e96f3a444ce6c912b69c22c6"
    "754d";

// ---- DecodeHealthcheck ----

TEST(DecodeHealthcheckTest, FlattensNestedChecks) {
  absl::StatusOr<HealthReport> r = DecodeHealthcheck(ReadTestdata("healthcheck_up.json"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, HealthStatus::kUp);
  ASSERT_EQ(r->checks.size(), 5u);
  EXPECT_EQ(r->checks[0].id, "default-check");
  EXPECT_EQ(r->checks[0].keys_loaded, std::nullopt);
  EXPECT_EQ(r->checks[1].id, "slashing-protection-db-health-check");
  EXPECT_EQ(r->checks[2].id, "keys-check");
  EXPECT_EQ(r->checks[3].id, "keys-check/config-files-loading");
  EXPECT_EQ(r->checks[3].status, HealthStatus::kUp);
  EXPECT_THAT(r->checks[3].keys_loaded, Optional(4));
  EXPECT_THAT(r->checks[3].error_count, Optional(0));
  EXPECT_EQ(r->checks[4].id, "keys-check/keystores-bulk-loading");
  EXPECT_THAT(r->checks[4].keys_loaded, Optional(60));
}

TEST(DecodeHealthcheckTest, DownChecks) {
  absl::StatusOr<HealthReport> r = DecodeHealthcheck(ReadTestdata("healthcheck_down.json"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, HealthStatus::kDown);
  std::vector<std::string> down;
  for (const HealthCheck& c : r->checks) {
    if (c.status == HealthStatus::kDown) down.push_back(c.id);
  }
  EXPECT_THAT(down, ElementsAre("slashing-protection-db-health-check", "keys-check",
                                "keys-check/config-files-loading"));
  EXPECT_THAT(r->checks[3].error_count, Optional(1));
}

TEST(DecodeHealthcheckTest, ChecksAreOptionalAndNestedIdsCompose) {
  absl::StatusOr<HealthReport> r = DecodeHealthcheck(R"({"status":"DOWN"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, HealthStatus::kDown);
  EXPECT_THAT(r->checks, IsEmpty());

  r = DecodeHealthcheck(
      R"({"checks":[{"checks":[{"checks":[{"id":"c","status":"UP"}],"status":"DOWN","id":"b"}],)"
      R"("id":"a","status":"UP"}],"status":"UP","extra":{"x":[1,2]}})");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->checks.size(), 3u);
  EXPECT_EQ(r->checks[0].id, "a");
  EXPECT_EQ(r->checks[1].id, "a/b");
  EXPECT_EQ(r->checks[1].status, HealthStatus::kDown);
  EXPECT_EQ(r->checks[2].id, "a/b/c");
}

struct BadBody {
  std::string body;
  std::string message;
};

TEST(DecodeHealthcheckTest, RejectsBadBodies) {
  const std::vector<BadBody> cases = {
      {"", "healthcheck: empty body"},
      {R"({"status":"UP",)", "healthcheck: invalid JSON"},
      {R"({"status":"UP"} trailing)", "healthcheck: invalid JSON"},
      {"[]", "healthcheck: expected an object, got array"},
      {R"({"checks":[]})", "healthcheck: missing \"status\""},
      {R"({"status":"FINE"})", "healthcheck: status: expected \"UP\" or \"DOWN\", got \"FINE\""},
      {R"({"status":true})", "healthcheck: status: expected \"UP\" or \"DOWN\", got boolean"},
      {R"({"status":"UP","checks":{}})", "healthcheck: checks: expected an array, got object"},
      {R"({"status":"UP","checks":["x"]})", "healthcheck: checks[0]: expected an object"},
      {R"({"status":"UP","checks":[{"status":"UP"}]})", "healthcheck: checks[0]: missing \"id\""},
      {R"({"status":"UP","checks":[{"id":7,"status":"UP"}]})",
       "healthcheck: checks[0].id: expected a string, got number"},
      {R"({"status":"UP","checks":[{"id":"k","status":"UP","data":{"keys-loaded":"4"}}]})",
       "healthcheck: checks[0].data.keys-loaded: expected a non-negative integer, got string"},
      {R"({"status":"UP","checks":[{"id":"k","status":"UP","data":{"error-count":-1}}]})",
       "healthcheck: checks[0].data.error-count: expected a non-negative integer"},
      {R"({"status":"UP","checks":[{"id":"k","status":"UP","data":{"error-count":1.5}}]})",
       "healthcheck: checks[0].data.error-count: expected a non-negative integer"},
      {R"({"status":"UP","checks":[{"id":"k","status":"UP","data":[]}]})",
       "healthcheck: checks[0].data: expected an object, got array"},
  };
  for (const BadBody& c : cases) {
    absl::StatusOr<HealthReport> r = DecodeHealthcheck(c.body);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message)) << c.body;
  }
}

TEST(DecodeHealthcheckTest, RejectsDeepNestingWithoutRecursingForever) {
  std::string body = R"({"status":"UP","checks":)";
  for (int i = 0; i < 20; ++i) body += R"([{"id":"x","status":"UP","checks":)";
  body += "[]";
  for (int i = 0; i < 20; ++i) body += "}]";
  body += "}";
  absl::StatusOr<HealthReport> r = DecodeHealthcheck(body);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("nested deeper than 8 levels"));
}

// ---- DecodePublicKeys / NormalizePublicKey / ReconcileKeys ----

TEST(DecodePublicKeysTest, SortsLowerCasesAndDeduplicates) {
  absl::StatusOr<std::vector<std::string>> keys =
      DecodePublicKeys(ReadTestdata("public_keys.json"));
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre(kKeyA, kKeyB, kKeyC));

  keys = DecodePublicKeys(absl::StrCat("[\"", ToAbsl(kKeyB), "\",\"", ToAbsl(kKeyB), "\"]"));
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre(kKeyB));

  keys = DecodePublicKeys("[]");
  ASSERT_TRUE(keys.ok());
  EXPECT_THAT(*keys, IsEmpty());
}

TEST(DecodePublicKeysTest, RejectsBadElementsNamingTheIndex) {
  const std::string a(kKeyA);
  const std::vector<BadBody> cases = {
      {"{}", "publicKeys: expected an array, got object"},
      {"[\"" + a + "\",", "publicKeys: invalid JSON"},
      {"[\"" + a + "\",7]", "publicKeys: [1]: expected a string, got number"},
      {"[\"" + a + "\",\"0x12\"]",
       "publicKeys: [1]: expected \"0x\" and 96 hex digits, got \"0x12\""},
      {"[\"" + a.substr(2) + "00\"]", "publicKeys: [0]: expected \"0x\" and 96 hex digits"},
      {"[\"" + a.substr(0, 97) + "g\"]", "publicKeys: [0]: expected \"0x\" and 96 hex digits"},
      {"[\"" + a + "0\"]", "publicKeys: [0]: expected \"0x\" and 96 hex digits"},
  };
  for (const BadBody& c : cases) {
    absl::StatusOr<std::vector<std::string>> r = DecodePublicKeys(c.body);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << c.body;
    EXPECT_THAT(r.status().message(), HasSubstr(c.message)) << c.body;
  }
}

TEST(NormalizePublicKeyTest, LowerCases) {
  std::string upper(kKeyC);
  for (size_t i = 2; i < upper.size(); ++i) upper[i] = static_cast<char>(std::toupper(upper[i]));
  upper[1] = 'X';
  absl::StatusOr<std::string> normalized = NormalizePublicKey(upper);
  ASSERT_TRUE(normalized.ok()) << normalized.status();
  EXPECT_EQ(*normalized, kKeyC);
  EXPECT_EQ(NormalizePublicKey("0x1234").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReconcileKeysTest, SplitsBothWays) {
  const std::vector<std::string> loaded = {std::string(kKeyC), std::string(kKeyA)};
  const std::vector<std::string> configured = {std::string(kKeyB), std::string(kKeyA),
                                               std::string(kKeyB)};
  const KeyReconciliation r = ReconcileKeys(loaded, configured);
  EXPECT_THAT(r.configured_not_loaded, ElementsAre(kKeyB));
  EXPECT_THAT(r.loaded_not_monitored, ElementsAre(kKeyC));

  const KeyReconciliation none = ReconcileKeys({}, {});
  EXPECT_THAT(none.configured_not_loaded, IsEmpty());
  EXPECT_THAT(none.loaded_not_monitored, IsEmpty());
}

TEST(ReconcileKeysTest, HundredThousandKeys) {
  // loaded: even numbers 0..199998; configured: multiples of 3 below 150000. Built as 96-digit
  // decimal strings (distinct and ordered the same way as the numbers).
  auto key = [](int n) {
    std::string digits = std::to_string(n);
    return "0x" + std::string(96 - digits.size(), '0') + digits;
  };
  std::vector<std::string> loaded, configured;
  for (int n = 0; n < 200000; n += 2) loaded.push_back(key(n));
  for (int n = 0; n < 150000; n += 3) configured.push_back(key(n));
  const absl::Time start = absl::Now();
  const KeyReconciliation r = ReconcileKeys(loaded, configured);
  const absl::Duration took = absl::Now() - start;
  // configured_not_loaded: odd multiples of 3 below 150000 = 50000 multiples, 25000 odd.
  EXPECT_EQ(r.configured_not_loaded.size(), 25000u);
  // loaded_not_monitored: 100000 evens minus the 25000 even multiples of 3 below 150000.
  EXPECT_EQ(r.loaded_not_monitored.size(), 75000u);
  EXPECT_EQ(r.configured_not_loaded.front(), key(3));
  EXPECT_EQ(r.loaded_not_monitored.front(), key(2));
  EXPECT_LT(took, absl::Seconds(2));  // generous: ~50 ms measured under sanitizers
}

// ---- Web3SignerClient against a loopback server ----

// An httplib::Server on 127.0.0.1:<ephemeral> answering from a route table.
class FakeSigner {
 public:
  struct Reply {
    int status = 200;
    std::string body;
    std::string content_type = "application/json";
    absl::Duration delay = absl::ZeroDuration();
  };

  FakeSigner() {
    server_.Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Reply reply{404, "not found", "text/plain"};
      {
        absl::MutexLock lock(&mu_);
        auto it = routes_.find(req.path);
        if (it != routes_.end()) reply = it->second;
      }
      if (reply.delay > absl::ZeroDuration()) release_.WaitForNotificationWithTimeout(reply.delay);
      res.status = reply.status;
      res.set_content(reply.body, reply.content_type.c_str());
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~FakeSigner() {
    release_.Notify();
    server_.stop();
    thread_.join();
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  void Set(const std::string& path, Reply reply) {
    absl::MutexLock lock(&mu_);
    routes_[path] = std::move(reply);
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification release_;
  absl::Mutex mu_;
  std::map<std::string, Reply> routes_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<Web3SignerClient> NewClient(const FakeSigner& s,
                                            beacon::HttplibTransportOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Web3SignerClient>> c = Web3SignerClient::Create(s.url(), options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

TEST(Web3SignerClientTest, Upcheck) {
  FakeSigner s;
  auto client = NewClient(s);
  s.Set("/upcheck", {200, "OK", "text/plain; charset=utf-8"});
  EXPECT_TRUE(client->Upcheck().ok());

  s.Set("/upcheck", {200, "NOT OK", "text/plain"});
  absl::Status st = client->Upcheck();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(st.message(), HasSubstr("GET /upcheck: HTTP 200 with body \"NOT OK\""));

  s.Set("/upcheck", {500, "boom", "text/plain"});
  st = client->Upcheck();
  EXPECT_EQ(st.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(st.message(),
              HasSubstr(absl::StrCat("web3signer ", s.url(), " GET /upcheck: HTTP status 500")));
}

TEST(Web3SignerClientTest, HealthcheckUpAndDown) {
  FakeSigner s;
  auto client = NewClient(s);
  s.Set("/healthcheck", {200, ReadTestdata("healthcheck_up.json")});
  absl::StatusOr<HealthReport> r = client->Healthcheck();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->http_status, 200);
  EXPECT_EQ(r->status, HealthStatus::kUp);
  EXPECT_EQ(r->checks.size(), 5u);

  // 503 with a JSON body is an answer, not an error.
  s.Set("/healthcheck", {503, ReadTestdata("healthcheck_down.json")});
  r = client->Healthcheck();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->http_status, 503);
  EXPECT_EQ(r->status, HealthStatus::kDown);
  EXPECT_EQ(r->checks[1].status, HealthStatus::kDown);
}

TEST(Web3SignerClientTest, HealthcheckErrors) {
  FakeSigner s;
  auto client = NewClient(s);
  s.Set("/healthcheck", {503, "Service Unavailable", "text/plain"});
  absl::StatusOr<HealthReport> r = client->Healthcheck();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(),
              HasSubstr("GET /healthcheck: HTTP 503: healthcheck: invalid JSON"));

  s.Set("/healthcheck", {200, R"({"status":"UP","checks":[{"id":"x","status":1}]})"});
  r = client->Healthcheck();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("checks[0].status: expected \"UP\" or \"DOWN\""));

  s.Set("/healthcheck", {404, "no"});
  r = client->Healthcheck();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("HTTP status 404"));
}

TEST(Web3SignerClientTest, PublicKeys) {
  FakeSigner s;
  auto client = NewClient(s);
  s.Set("/api/v1/eth2/publicKeys", {200, ReadTestdata("public_keys.json")});
  absl::StatusOr<std::vector<std::string>> keys = client->PublicKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre(kKeyA, kKeyB, kKeyC));

  s.Set("/api/v1/eth2/publicKeys", {200, R"(["0x00"])"});
  keys = client->PublicKeys();
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(keys.status().message(), HasSubstr("GET /api/v1/eth2/publicKeys: publicKeys: [0]"));

  s.Set("/api/v1/eth2/publicKeys", {200, R"({"data":[]})"});
  EXPECT_EQ(client->PublicKeys().status().code(), absl::StatusCode::kInvalidArgument);

  s.Set("/api/v1/eth2/publicKeys", {500, "{}"});
  EXPECT_EQ(client->PublicKeys().status().code(), absl::StatusCode::kUnavailable);
}

TEST(Web3SignerClientTest, SlowServerTimesOut) {
  FakeSigner s;
  beacon::HttplibTransportOptions options;
  options.read_timeout = absl::Milliseconds(200);
  auto client = NewClient(s, options);
  s.Set("/healthcheck",
        {200, ReadTestdata("healthcheck_up.json"), "application/json", absl::Seconds(5)});
  const absl::Time start = absl::Now();
  absl::StatusOr<HealthReport> r = client->Healthcheck();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("GET /healthcheck"));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

TEST(Web3SignerClientTest, OversizedBodyIsRejected) {
  FakeSigner s;
  beacon::HttplibTransportOptions options;
  options.max_response_bytes = 4096;
  options.gzip = false;
  auto client = NewClient(s, options);
  std::string big = "[";
  for (int i = 0; i < 100; ++i) absl::StrAppend(&big, i ? "," : "", "\"", ToAbsl(kKeyA), "\"");
  big += "]";  // ~10 KB
  s.Set("/api/v1/eth2/publicKeys", {200, big});
  absl::StatusOr<std::vector<std::string>> keys = client->PublicKeys();
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kResourceExhausted) << keys.status();
  EXPECT_THAT(keys.status().message(), HasSubstr("GET /api/v1/eth2/publicKeys"));
}

TEST(Web3SignerClientTest, ConnectionRefusedIsUnavailable) {
  std::string url;
  {
    FakeSigner s;  // learn a free port, then close it
    url = s.url();
  }
  absl::StatusOr<std::unique_ptr<Web3SignerClient>> c = Web3SignerClient::Create(url, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->Upcheck().code(), absl::StatusCode::kUnavailable);
}

TEST(Web3SignerClientTest, CreateRejectsBadUrls) {
  EXPECT_FALSE(Web3SignerClient::Create("ftp://x", {}).ok());
  EXPECT_FALSE(Web3SignerClient::Create("", {}).ok());
}

}  // namespace
}  // namespace stakewatch::signer
