#include "notifier/notifier.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace stakewatch::notifier {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s, int ms) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()) +
         absl::Milliseconds(ms);
}

// A minimal alert with fixed times, so that bodies can be written by hand.
Alert SimpleAlert(std::string_view name) {
  Alert a;
  a.labels = tsdb::Labels{{"alertname", name}};
  a.starts_at = Utc(2026, 11, 29, 3, 15, 3, 418);
  a.ends_at = Utc(2026, 11, 29, 3, 15, 23, 418);
  return a;
}
constexpr char kTimes[] =
    R"("endsAt":"2026-11-29T03:15:23.418Z","startsAt":"2026-11-29T03:15:03.418Z")";

// ---------------------------------------------------------------------------------------------
// EncodeAlerts

TEST(EncodeAlerts, CapturedPrometheusExample) {
  // prometheus-semantics.md §1 "Sending": the body Prometheus 2.42 POSTed. The reference shows
  // the generator URL's "&" literally (the document was reformatted); Go's json.Marshal
  // escapes it as \u0026, which a capture of /usr/bin/prometheus confirms (next test).
  Alert a;
  a.labels = tsdb::Labels{{"alertname", "ValidatorClientDown"},
                          {"cluster", "lab"},
                          {"instance", "127.0.0.1:19100"},
                          {"job", "vc"},
                          {"relabeled", "yes"},
                          {"severity", "critical"}};
  a.annotations = {{"summary", "VC 127.0.0.1:19100 down (value 0) in lab"}, {"total", "64G"}};
  a.starts_at = Utc(2026, 11, 29, 3, 15, 3, 418);
  a.ends_at = Utc(2026, 11, 29, 3, 15, 23, 418);
  a.generator_url = "http://prom.lab:19090/graph?g0.expr=eth_validator_up+%3D%3D+0&g0.tab=1";
  const std::string want =
      R"([{"annotations":{"summary":"VC 127.0.0.1:19100 down (value 0) in lab","total":"64G"},)"
      R"("endsAt":"2026-11-29T03:15:23.418Z","startsAt":"2026-11-29T03:15:03.418Z",)"
      R"("generatorURL":"http://prom.lab:19090/graph?g0.expr=eth_validator_up+%3D%3D+0\u0026g0.tab=1",)"
      R"("labels":{"alertname":"ValidatorClientDown","cluster":"lab","instance":"127.0.0.1:19100",)"
      R"("job":"vc","relabeled":"yes","severity":"critical"}}])";
  EXPECT_EQ(EncodeAlerts({a}), want);
}

TEST(EncodeAlerts, EscapingAsCapturedFromPrometheus242) {
  // Captured from /usr/bin/prometheus (2.42.0+ds) POSTing to a test receiver, for a rule with
  // these labels and annotations (external label cluster="lab").
  Alert a;
  a.labels = tsdb::Labels{{"alertname", "Esc<&>"},
                          {"cluster", "lab"},
                          {"ctl", "x\by\fz"},
                          {"weird",
                           "a\"b\\c\nd\te\x01"
                           "f\x7fg\u2028h<i>&j\u00e9"}};
  a.annotations = {{"empty", ""}, {"summary", "<b>&amp; \u2029 ok"}};
  a.starts_at = Utc(2026, 11, 29, 16, 32, 35, 632);
  a.ends_at = Utc(2026, 11, 29, 16, 32, 45, 632);
  a.generator_url = "http://prom.lab:19090/graph?g0.expr=vector%281%29&g0.tab=1";
  const std::string want =
      "[{\"annotations\":{\"empty\":\"\",\"summary\":\"\\u003cb\\u003e\\u0026amp; \\u2029 "
      "ok\"},\"endsAt\":\"2026-11-29T16:32:45.632Z\",\"startsAt\":\"2026-11-29T16:32:35.632Z\","
      "\"generatorURL\":\"http://prom.lab:19090/graph?g0.expr=vector%281%29\\u0026g0.tab=1\","
      "\"labels\":{\"alertname\":\"Esc\\u003c\\u0026\\u003e\",\"cluster\":\"lab\",\"ctl\":"
      "\"x\\u0008y\\u000cz\",\"weird\":\"a\\\"b\\\\c\\nd\\te\\u0001f\x7fg\\u2028h\\u003ci\\u003e"
      "\\u0026j\u00e9\"}}]";
  EXPECT_EQ(EncodeAlerts({a}), want);
}

TEST(EncodeAlerts, OmitsEmptyAnnotationsAndUrlAndFormatsTimes) {
  Alert a;  // no labels, no annotations, no URL
  a.starts_at = Utc(2026, 1, 2, 3, 4, 5, 0);
  // 999.999 ms past the second: Go's ".000" layout truncates to .999.
  a.ends_at = Utc(2026, 1, 2, 3, 4, 6, 0) + absl::Microseconds(999999);
  EXPECT_EQ(EncodeAlerts({a}),
            R"([{"endsAt":"2026-01-02T03:04:06.999Z","startsAt":"2026-01-02T03:04:05.000Z",)"
            R"("labels":{}}])");
  EXPECT_EQ(EncodeAlerts({}), "[]");
  EXPECT_EQ(EncodeAlerts({SimpleAlert("A"), SimpleAlert("B")}),
            absl::StrCat("[{", kTimes, R"(,"labels":{"alertname":"A"}},{)", kTimes,
                         R"(,"labels":{"alertname":"B"}}])"));
}

TEST(EncodeAlerts, InvalidUtf8BecomesReplacementPerByte) {
  Alert a = SimpleAlert("x");
  a.annotations = {
      {"bad",
       "a\xff"
       "b\xc3"},                                  // stray byte; truncated 2-byte sequence
      {"overlong", "\xc0\xaf"},                   // overlong '/': two invalid bytes
      {"surrogate", "\xed\xa0\x80"},              // UTF-16 surrogate: three invalid bytes
      {"valid", "\xef\xbf\xbd\xf0\x9f\x98\x80"},  // U+FFFD itself and U+1F600 stay raw
  };
  const std::string got = EncodeAlerts({a});
  EXPECT_THAT(got, HasSubstr(R"("bad":"a\ufffdb\ufffd")"));
  EXPECT_THAT(got, HasSubstr(R"("overlong":"\ufffd\ufffd")"));
  EXPECT_THAT(got, HasSubstr(R"("surrogate":"\ufffd\ufffd\ufffd")"));
  EXPECT_THAT(got, HasSubstr("\"valid\":\"\xef\xbf\xbd\xf0\x9f\x98\x80\""));
}

// ---------------------------------------------------------------------------------------------
// Test Alertmanagers.

struct Received {
  std::string path, body, user_agent, content_type, authorization, host;
};

// An HTTP(S) server on a free loopback port that records every POST and answers `status`.
class FakeAm {
 public:
  explicit FakeAm(int status = 200, std::string cert = "", std::string key = "") : status_(status) {
    if (cert.empty()) {
      server_ = std::make_unique<httplib::Server>();
    } else {
      server_ = std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str());
    }
    server_->Post(R"(/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      absl::MutexLock l(&mu_);
      received_.push_back({req.path, req.body, req.get_header_value("User-Agent"),
                           req.get_header_value("Content-Type"),
                           req.get_header_value("Authorization"), req.get_header_value("Host")});
      res.status = status_;
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    // httplib's stop() is a no-op until the accept loop runs: wait for it, or a quick
    // destruction would join a server that never stops.
    while (!server_->is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~FakeAm() {
    server_->stop();
    thread_.join();
  }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  std::string url(const std::string& prefix = "") const {
    return absl::StrCat("http://", target(), prefix, "/api/v2/alerts");
  }
  std::vector<Received> received() const {
    absl::MutexLock l(&mu_);
    return received_;
  }

 private:
  const int status_;
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
  mutable absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
};

// A loopback port nobody listens on (connection refused).
int DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A socket that completes TCP handshakes (kernel backlog) but never reads or answers.
class Blackhole {
 public:
  Blackhole() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Blackhole() { close(fd_); }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

config::AlertmanagerConfig AmConfig(std::vector<std::string> targets) {
  config::AlertmanagerConfig c;
  c.static_configs.push_back({.targets = std::move(targets)});
  c.timeout = absl::Seconds(5);
  return c;
}

config::AlertingConfig Alerting(std::vector<config::AlertmanagerConfig> ams,
                                std::vector<config::RelabelConfig> relabel = {}) {
  config::AlertingConfig a;
  a.alertmanagers = std::move(ams);
  a.alert_relabel_configs = std::move(relabel);
  return a;
}

double Metric(const exposition::SeriesStore& store, std::string_view name,
              std::string_view am = "") {
  exposition::Family* f = store.FindFamily(name);
  if (f == nullptr) return std::nan("");
  if (f->desc().label_names.empty()) return f->Value(f->GetOrCreate({}));
  const std::string_view values[] = {am};
  return f->Value(f->GetOrCreate(values));
}

struct Fixture {
  exposition::SeriesStore store;
  std::unique_ptr<Notifier> n;
  explicit Fixture(Options o = {}) {
    o.metrics_store = &store;
    if (o.user_agent.empty()) o.user_agent = "stakewatch-test/1";
    auto made = Notifier::Create(std::move(o));
    EXPECT_TRUE(made.ok()) << made.status();
    n = *std::move(made);
  }
  double metric(std::string_view name, std::string_view am = "") const {
    return Metric(store, name, am);
  }
};

// Sends `alerts` through a fresh notifier with this configuration to one OK Alertmanager and
// returns the bodies it received.
std::vector<std::string> RoundTrip(const config::GlobalConfig& global,
                                   std::vector<config::RelabelConfig> relabel,
                                   std::vector<Alert> alerts) {
  FakeAm am;
  Fixture f;
  EXPECT_TRUE(f.n->ApplyConfig(global, Alerting({AmConfig({am.target()})}, relabel)).ok());
  f.n->Send(std::move(alerts));
  f.n->Start();
  f.n->Stop(absl::Seconds(10));
  std::vector<std::string> bodies;
  for (const Received& r : am.received()) bodies.push_back(r.body);
  return bodies;
}

// ---------------------------------------------------------------------------------------------
// Configuration.

TEST(Notifier, CreateRejectsZeroSizes) {
  EXPECT_EQ(Notifier::Create({.queue_capacity = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Notifier::Create({.max_batch_size = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Notifier, UrlsFromStaticConfigs) {
  Fixture f;
  config::AlertmanagerConfig a = AmConfig({"127.0.0.1:19493", "am2:9093", "127.0.0.1:19493"});
  a.path_prefix = "/pre//x/";  // Prometheus 2.42 posted to /pre/x/api/v2/alerts (captured)
  config::AlertmanagerConfig b = AmConfig({"127.0.0.1:19493", "[::1]:9093"});
  b.scheme = "https";
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({a, b})).ok());
  EXPECT_THAT(f.n->AlertmanagerUrls(), ElementsAre("http://127.0.0.1:19493/pre/x/api/v2/alerts",
                                                   "http://am2:9093/pre/x/api/v2/alerts",
                                                   "https://127.0.0.1:19493/api/v2/alerts",
                                                   "https://[::1]:9093/api/v2/alerts"));
  EXPECT_EQ(f.metric("stakewatch_notifications_alertmanagers_discovered"), 4);
  EXPECT_EQ(f.metric("stakewatch_notifications_queue_capacity"), 10000);
  // sent/errors series exist at 0 from ApplyConfig on.
  exposition::Family* sent = f.store.FindFamily("stakewatch_notifications_sent_total");
  ASSERT_NE(sent, nullptr);
  EXPECT_EQ(sent->size(), 4u);
}

TEST(Notifier, BadConfigKeepsThePreviousOne) {
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({AmConfig({"good:9093"})})).ok());
  const std::vector<std::string> before = f.n->AlertmanagerUrls();

  std::vector<std::pair<std::string, config::AlertingConfig>> bad;
  config::AlertmanagerConfig c = AmConfig({"a:1"});
  c.scheme = "ftp";
  bad.push_back({"scheme", Alerting({c})});
  c = AmConfig({"a:1"});
  c.api_version = "v1";
  bad.push_back({"api_version", Alerting({c})});
  c = AmConfig({"a/b:1"});
  bad.push_back({"target", Alerting({c})});
  c = AmConfig({"a:70000"});
  bad.push_back({"port", Alerting({c})});
  c = AmConfig({"a:1"});
  c.path_prefix = "x";
  bad.push_back({"path_prefix", Alerting({c})});
  c = AmConfig({"a:1"});
  c.timeout = absl::ZeroDuration();
  bad.push_back({"timeout", Alerting({c})});
  c = AmConfig({"a:1"});
  c.basic_auth = config::BasicAuth{.username = "u"};
  c.authorization = config::Authorization{};
  bad.push_back({"two auths", Alerting({c})});
  c = AmConfig({"a:1"});
  c.authorization = config::Authorization{.type = "basic", .credentials = "x"};
  bad.push_back({"authorization basic", Alerting({c})});
  c = AmConfig({"a:1"});
  c.tls_config.cert_file = "/x.pem";
  bad.push_back({"cert without key", Alerting({c})});
  c = AmConfig({"a:1"});
  c.tls_config.ca_file = "/nonexistent/ca.pem";
  bad.push_back({"ca_file", Alerting({c})});
  bad.push_back({"relabel regex", Alerting({AmConfig({"a:1"})}, {{.regex = "("}})});
  for (const auto& [what, alerting] : bad) {
    EXPECT_FALSE(f.n->ApplyConfig({}, alerting).ok()) << what;
    EXPECT_EQ(f.n->AlertmanagerUrls(), before) << what;
  }
  config::GlobalConfig g;
  g.external_labels = {{"__reserved", "x"}};
  EXPECT_FALSE(f.n->ApplyConfig(g, Alerting({AmConfig({"a:1"})})).ok());
  g.external_labels = {{"bad-name", "x"}};
  EXPECT_FALSE(f.n->ApplyConfig(g, Alerting({AmConfig({"a:1"})})).ok());
  EXPECT_EQ(f.n->AlertmanagerUrls(), before);
  EXPECT_EQ(f.metric("stakewatch_notifications_alertmanagers_discovered"), 1);
}

// ---------------------------------------------------------------------------------------------
// Labels: external labels, then alert_relabel_configs.

TEST(Notifier, ReferencePipelineExternalLabelsAndRelabel) {
  // The reference's captured run: cluster is an external label, relabelling dropped `replica`
  // (also an external label) and added relabeled="yes".
  config::GlobalConfig g;
  g.external_labels = {{"cluster", "lab"}, {"replica", "r1"}};
  std::vector<config::RelabelConfig> relabel = {
      {.regex = "replica", .action = config::RelabelAction::kLabelDrop},
      {.source_labels = {"alertname"},
       .regex = ".+",
       .target_label = "relabeled",
       .replacement = "yes"},
  };
  Alert a = SimpleAlert("ValidatorClientDown");
  a.labels = tsdb::Labels{{"alertname", "ValidatorClientDown"},
                          {"instance", "127.0.0.1:19100"},
                          {"job", "vc"},
                          {"severity", "critical"}};
  Alert own = SimpleAlert("Own");
  own.labels = tsdb::Labels{{"alertname", "Own"}, {"cluster", "mine"}};  // keeps its cluster
  std::vector<std::string> bodies = RoundTrip(g, relabel, {a, own});
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0],
            absl::StrCat("[{", kTimes,
                         R"(,"labels":{"alertname":"ValidatorClientDown","cluster":"lab",)"
                         R"("instance":"127.0.0.1:19100","job":"vc","relabeled":"yes",)"
                         R"("severity":"critical"}},{)",
                         kTimes,
                         R"(,"labels":{"alertname":"Own","cluster":"mine","relabeled":"yes"}}])"));
}

struct RelabelCase {
  std::string name;
  config::RelabelConfig relabel;
  std::string want_labels;  // "" when every alert is dropped
};

TEST(Notifier, EachRelabelAction) {
  using config::RelabelAction;
  // Input: {alertname="A", env="prod", __meta_team="infra"}; each expected set is by hand.
  const std::vector<RelabelCase> cases = {
      {"keep match",
       {.source_labels = {"env"}, .regex = "prod", .action = RelabelAction::kKeep},
       R"({"__meta_team":"infra","alertname":"A","env":"prod"})"},
      {"keep no match",
       {.source_labels = {"env"}, .regex = "dev", .action = RelabelAction::kKeep},
       ""},
      {"drop match",
       {.source_labels = {"env"}, .regex = "pr.*", .action = RelabelAction::kDrop},
       ""},
      {"drop no match",
       {.source_labels = {"env"}, .regex = "dev", .action = RelabelAction::kDrop},
       R"({"__meta_team":"infra","alertname":"A","env":"prod"})"},
      {"replace",
       {.source_labels = {"alertname", "env"},
        .regex = "(.*);(.*)",
        .target_label = "combo",
        .replacement = "${2}-$1"},
       R"({"__meta_team":"infra","alertname":"A","combo":"prod-A","env":"prod"})"},
      {"labelmap",
       {.regex = "__meta_(.+)", .replacement = "$1", .action = RelabelAction::kLabelMap},
       R"({"__meta_team":"infra","alertname":"A","env":"prod","team":"infra"})"},
      {"labeldrop",
       {.regex = "__meta_.*|env", .action = RelabelAction::kLabelDrop},
       R"({"alertname":"A"})"},
      {"labelkeep",
       {.regex = "alertname|env", .action = RelabelAction::kLabelKeep},
       R"({"alertname":"A","env":"prod"})"},
  };
  for (const RelabelCase& c : cases) {
    Alert a = SimpleAlert("A");
    a.labels = tsdb::Labels{{"alertname", "A"}, {"env", "prod"}, {"__meta_team", "infra"}};
    std::vector<std::string> bodies = RoundTrip({}, {c.relabel}, {a});
    if (c.want_labels.empty()) {
      EXPECT_TRUE(bodies.empty()) << c.name;
    } else {
      ASSERT_EQ(bodies.size(), 1u) << c.name;
      EXPECT_EQ(bodies[0], absl::StrCat("[{", kTimes, ",\"labels\":", c.want_labels, "}]"))
          << c.name;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Queue and batches.

std::vector<Alert> Numbered(int from, int to) {
  std::vector<Alert> out;
  for (int i = from; i < to; ++i) out.push_back(SimpleAlert(absl::StrCat("a", i)));
  return out;
}

// The alertnames in a body, in order.
std::vector<std::string> Names(std::string_view body) {
  std::vector<std::string> out;
  constexpr std::string_view kKey = R"("alertname":")";
  for (size_t p = body.find(kKey); p != std::string_view::npos; p = body.find(kKey, p)) {
    p += kKey.size();
    out.emplace_back(body.substr(p, body.find('"', p) - p));
  }
  return out;
}

TEST(Notifier, QueueOverflowDropsTheOldest) {
  FakeAm am;
  Fixture f({.queue_capacity = 3});
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({AmConfig({am.target()})})).ok());
  f.n->Send(Numbered(0, 2));  // a0 a1
  f.n->Send(Numbered(2, 4));  // a2 a3: a0 goes (1 dropped)
  EXPECT_EQ(f.n->QueueLength(), 3u);
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 1);
  // 5 new alerts for a capacity of 3: a4 a5 dropped from the batch, then a1 a2 a3 from the
  // queue: 1 + 2 + 3 = 6 in all.
  f.n->Send(Numbered(4, 9));
  EXPECT_EQ(f.n->QueueLength(), 3u);
  EXPECT_EQ(f.metric("stakewatch_notifications_queue_length"), 3);
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 6);
  f.n->Start();
  f.n->Stop(absl::Seconds(10));
  std::vector<Received> got = am.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_THAT(Names(got[0].body), ElementsAre("a6", "a7", "a8"));
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 6);
  EXPECT_EQ(f.metric("stakewatch_notifications_queue_length"), 0);
}

TEST(Notifier, BatchesOfAtMost64InOrder) {
  FakeAm am;
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({AmConfig({am.target()})})).ok());
  f.n->Send(Numbered(0, 150));
  f.n->Start();
  f.n->Stop(absl::Seconds(20));
  std::vector<Received> got = am.received();
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> all;
  const size_t want_sizes[] = {64, 64, 22};
  for (size_t i = 0; i < 3; ++i) {
    std::vector<std::string> names = Names(got[i].body);
    EXPECT_EQ(names.size(), want_sizes[i]);
    all.insert(all.end(), names.begin(), names.end());
  }
  ASSERT_EQ(all.size(), 150u);
  for (int i = 0; i < 150; ++i) EXPECT_EQ(all[i], absl::StrCat("a", i));
  EXPECT_EQ(f.metric("stakewatch_notifications_sent_total", am.url()), 150);
  EXPECT_EQ(f.metric("stakewatch_notifications_errors_total", am.url()), 0);
  EXPECT_EQ(f.metric("stakewatch_notifications_latency_seconds", am.url()), 3);  // _count
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 0);
}

// ---------------------------------------------------------------------------------------------
// Delivery outcomes and counters.

TEST(Notifier, OneFailingAlertmanagerCountsErrorsButDropsNothing) {
  FakeAm ok, err(500);
  const std::string dead = absl::StrCat("127.0.0.1:", DeadPort());
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({AmConfig({ok.target(), err.target(), dead})})).ok());
  f.n->Send(Numbered(0, 3));
  f.n->Start();
  f.n->Stop(absl::Seconds(10));
  const std::string dead_url = absl::StrCat("http://", dead, "/api/v2/alerts");
  // Prometheus 2.42: errors +1 per failed request, sent +len(batch) per request even when it
  // failed, dropped only when every Alertmanager failed.
  EXPECT_EQ(f.metric("stakewatch_notifications_errors_total", ok.url()), 0);
  EXPECT_EQ(f.metric("stakewatch_notifications_errors_total", err.url()), 1);
  EXPECT_EQ(f.metric("stakewatch_notifications_errors_total", dead_url), 1);
  EXPECT_EQ(f.metric("stakewatch_notifications_sent_total", ok.url()), 3);
  EXPECT_EQ(f.metric("stakewatch_notifications_sent_total", err.url()), 3);
  EXPECT_EQ(f.metric("stakewatch_notifications_sent_total", dead_url), 3);
  EXPECT_EQ(f.metric("stakewatch_notifications_latency_seconds", dead_url), 1);
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 0);
  // Both live servers got the same body.
  ASSERT_EQ(ok.received().size(), 1u);
  ASSERT_EQ(err.received().size(), 1u);
  EXPECT_EQ(ok.received()[0].body, err.received()[0].body);
}

TEST(Notifier, AllAlertmanagersDownDropsTheBatch) {
  FakeAm err(500);
  const std::string dead = absl::StrCat("127.0.0.1:", DeadPort());
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({AmConfig({err.target()}), AmConfig({dead})})).ok());
  f.n->Send(Numbered(0, 3));
  f.n->Start();
  f.n->Stop(absl::Seconds(10));
  EXPECT_EQ(f.metric("stakewatch_notifications_errors_total", err.url()), 1);
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 3);
}

TEST(Notifier, NoAlertmanagerConfiguredDropsAsPrometheusDoes) {
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, {}).ok());
  f.n->Send(Numbered(0, 2));
  f.n->Start();
  f.n->Stop(absl::Seconds(5));
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 2);
}

TEST(Notifier, HeadersAndCredentialsArrive) {
  const std::string dir = ::testing::TempDir();
  std::ofstream(dir + "/nt_pw") << "pass\n";
  std::ofstream(dir + "/nt_cred") << "tok3n\n";
  FakeAm basic, bearer;
  config::AlertmanagerConfig b = AmConfig({basic.target()});
  b.basic_auth = config::BasicAuth{.username = "user", .password_file = dir + "/nt_pw"};
  b.path_prefix = "/am";
  config::AlertmanagerConfig c = AmConfig({bearer.target()});
  c.authorization = config::Authorization{.credentials_file = dir + "/nt_cred"};
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({b, c})).ok());
  f.n->Send({SimpleAlert("A")});
  f.n->Start();
  f.n->Stop(absl::Seconds(10));
  ASSERT_EQ(basic.received().size(), 1u);
  ASSERT_EQ(bearer.received().size(), 1u);
  const std::vector<Received> got = basic.received();
  const Received& r = got[0];
  EXPECT_EQ(r.path, "/am/api/v2/alerts");
  EXPECT_EQ(r.authorization, "Basic dXNlcjpwYXNz");  // base64("user:pass")
  EXPECT_EQ(r.user_agent, "stakewatch-test/1");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.host, basic.target());
  EXPECT_EQ(bearer.received()[0].authorization, "Bearer tok3n");
  EXPECT_EQ(bearer.received()[0].path, "/api/v2/alerts");
}

TEST(Notifier, UnreadableSecretIsAFailedRequest) {
  FakeAm am;
  config::AlertmanagerConfig c = AmConfig({am.target()});
  c.basic_auth = config::BasicAuth{.username = "u", .password_file = "/nonexistent/pw"};
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({c})).ok());
  f.n->Send({SimpleAlert("A")});
  f.n->Start();
  f.n->Stop(absl::Seconds(5));
  EXPECT_TRUE(am.received().empty());
  EXPECT_EQ(f.metric("stakewatch_notifications_errors_total", am.url()), 1);
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 1);
}

TEST(Notifier, HttpsWithSelfSignedCertificateAndCaFile) {
  const std::string dir = ::testing::TempDir();
  const std::string cert = dir + "/nt_cert.pem", key = dir + "/nt_key.pem";
  const std::string cmd = absl::StrCat(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout ",
      key, " -out ", cert, " >/dev/null 2>&1");
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  FakeAm am(200, cert, key);
  config::AlertmanagerConfig trusted = AmConfig({am.target()});
  trusted.scheme = "https";
  trusted.tls_config.ca_file = cert;
  {
    Fixture f;
    ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({trusted})).ok());
    f.n->Send({SimpleAlert("A")});
    f.n->Start();
    f.n->Stop(absl::Seconds(10));
    ASSERT_EQ(am.received().size(), 1u);
    EXPECT_EQ(am.received()[0].body,
              absl::StrCat("[{", kTimes, R"(,"labels":{"alertname":"A"}}])"));
    EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 0);
  }
  {
    // Without the CA the certificate does not verify: a failed request, nothing delivered.
    config::AlertmanagerConfig untrusted = trusted;
    untrusted.tls_config.ca_file.clear();
    Fixture f;
    ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({untrusted})).ok());
    f.n->Send({SimpleAlert("B")});
    f.n->Start();
    f.n->Stop(absl::Seconds(10));
    EXPECT_EQ(am.received().size(), 1u);
    EXPECT_EQ(f.metric("stakewatch_notifications_errors_total",
                       absl::StrCat("https://", am.target(), "/api/v2/alerts")),
              1);
    EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 1);
  }
}

// ---------------------------------------------------------------------------------------------
// Stop.

TEST(Notifier, StopDrainsTheQueue) {
  FakeAm am;
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({AmConfig({am.target()})})).ok());
  f.n->Start();
  f.n->Send(Numbered(0, 150));
  const absl::Time t0 = absl::Now();
  f.n->Stop(absl::Seconds(20));
  EXPECT_LT(absl::Now() - t0, absl::Seconds(10));
  size_t total = 0;
  for (const Received& r : am.received()) total += Names(r.body).size();
  EXPECT_EQ(total, 150u);
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 0);
  EXPECT_EQ(f.n->QueueLength(), 0u);
  // Stopped: later alerts are counted as dropped, not queued.
  f.n->Send({SimpleAlert("late")});
  EXPECT_EQ(f.n->QueueLength(), 0u);
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 1);
  f.n->Stop(absl::Seconds(1));  // idempotent
}

TEST(Notifier, StopGivesUpOnAHangingAlertmanagerAtTheDeadline) {
  Blackhole hole;  // accepts connections, never answers
  config::AlertmanagerConfig c = AmConfig({hole.target()});
  c.timeout = absl::Seconds(60);
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({c})).ok());
  f.n->Send(Numbered(0, 100));
  f.n->Start();
  absl::SleepFor(absl::Milliseconds(100));  // the first batch (64) is in flight
  const absl::Time t0 = absl::Now();
  f.n->Stop(absl::Seconds(1));
  const absl::Duration took = absl::Now() - t0;
  EXPECT_GE(took, absl::Milliseconds(800));
  EXPECT_LT(took, absl::Seconds(5));
  // The aborted batch (64) and the 36 never sent.
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 100);
  EXPECT_EQ(f.metric("stakewatch_notifications_errors_total",
                     absl::StrCat("http://", hole.target(), "/api/v2/alerts")),
            1);
}

TEST(Notifier, RequestTimeoutBoundsAHangingAlertmanager) {
  Blackhole hole;
  FakeAm ok;
  config::AlertmanagerConfig c = AmConfig({hole.target(), ok.target()});
  c.timeout = absl::Milliseconds(500);
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({c})).ok());
  f.n->Send(Numbered(0, 2));
  const absl::Time t0 = absl::Now();
  f.n->Start();
  f.n->Stop(absl::Seconds(30));
  EXPECT_LT(absl::Now() - t0, absl::Seconds(5));
  EXPECT_EQ(ok.received().size(), 1u);
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 0);
  EXPECT_EQ(f.metric("stakewatch_notifications_errors_total",
                     absl::StrCat("http://", hole.target(), "/api/v2/alerts")),
            1);
}

TEST(Notifier, StopWithoutStartCountsTheQueueAsDropped) {
  Fixture f;
  ASSERT_TRUE(f.n->ApplyConfig({}, Alerting({AmConfig({"127.0.0.1:1"})})).ok());
  f.n->Send(Numbered(0, 5));
  f.n->Stop(absl::Seconds(1));
  EXPECT_EQ(f.metric("stakewatch_notifications_dropped_total"), 5);
  EXPECT_EQ(f.n->QueueLength(), 0u);
}

}  // namespace
}  // namespace stakewatch::notifier
