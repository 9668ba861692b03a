// Scraper and Fetch tests against real httplib servers on loopback ports chosen at run time.
// Expected label sets and values are worked out by hand from the bodies served here and from
// Prometheus 2.42's documented rules (honor_labels, exported_ prefix, report series).
#include "scrape/scraper.h"

#include <zlib.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tsdb/storage.h"

namespace stakewatch::scrape {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using tsdb::Labels;

constexpr char kText[] = "text/plain; version=0.0.4; charset=utf-8";

// An HTTP(S) server on 127.0.0.1:<free port> whose handler can be swapped by the test.
class TestServer {
 public:
  explicit TestServer(std::unique_ptr<httplib::Server> svr = std::make_unique<httplib::Server>())
      : svr_(std::move(svr)) {
    svr_->Get(".*", [this](const httplib::Request& req, httplib::Response& res) {
      Handler h;
      {
        std::lock_guard<std::mutex> l(mu_);
        last_ = req;
        ++requests_;
        h = handler_;
      }
      if (h) h(req, res);
    });
    port_ = svr_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { svr_->listen_after_bind(); });
    while (!svr_->is_running()) absl::SleepFor(absl::Milliseconds(1));
  }
  ~TestServer() {
    stopping_ = true;
    svr_->stop();
    thread_.join();
  }
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;
  void Serve(Handler h) {
    std::lock_guard<std::mutex> l(mu_);
    handler_ = std::move(h);
  }
  void ServeBody(std::string body, std::string content_type = kText) {
    Serve([body, content_type](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, content_type);
    });
  }
  httplib::Request last() {
    std::lock_guard<std::mutex> l(mu_);
    return last_;
  }
  int requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  std::string target() const { return absl::StrCat("127.0.0.1:", port_); }
  std::atomic<bool> stopping_{false};

 private:
  std::unique_ptr<httplib::Server> svr_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  Handler handler_;
  httplib::Request last_;
  int requests_ = 0;
};

std::string TempDir() {
  static std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "scrape_test.XXXXXX").string();
    char* d = mkdtemp(tmpl.data());
    return std::string(d ? d : "/tmp");
  }();
  return dir;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

std::string Gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class ScrapeTest : public ::testing::Test {
 protected:
  ScrapeTest() {
    cfg_.job_name = "myjob";
    cfg_.scrape_interval = absl::Seconds(10);
    cfg_.scrape_timeout = absl::Milliseconds(500);
    cfg_.static_configs.push_back({{server_.target()}, {}});
  }

  std::unique_ptr<Scraper> Make(ScraperOptions opts = {}) {
    auto s = Scraper::Create(cfg_, &storage_, &clock_, nullptr, opts);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  ScrapeResult Scrape(Scraper& s) {
    auto r = s.ScrapeOnce(server_.target());
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ScrapeResult{};
  }

  // Every stored series as "labels" -> samples.
  std::map<std::string, std::vector<tsdb::Sample>> All() {
    auto r = storage_.Select({}, 0, std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(r.ok());
    std::map<std::string, std::vector<tsdb::Sample>> out;
    for (const tsdb::Series& s : *r) out[s.labels.ToString()] = s.samples;
    return out;
  }
  std::vector<tsdb::Sample> Get(const std::string& key) {
    auto all = All();
    auto it = all.find(key);
    return it == all.end() ? std::vector<tsdb::Sample>{} : it->second;
  }
  // The latest value of a report series of this target.
  double Report(std::string_view name) {
    auto s = Get(absl::StrCat("{__name__=\"", ToAbsl(name), "\", instance=\"", server_.target(),
                              "\", job=\"myjob\"}"));
    return s.empty() ? -1 : s.back().v;
  }
  std::string Key(std::string_view name, std::string_view extra = "") {
    return absl::StrCat("{__name__=\"", ToAbsl(name), "\", ", ToAbsl(extra), "instance=\"",
                        server_.target(), "\", job=\"myjob\"}");
  }
  int64_t NowMs() { return absl::ToUnixMillis(clock_.Now()); }

  TestServer server_;
  config::ScrapeConfig cfg_;
  tsdb::MemStorage storage_;
  FakeClock clock_;
};

TEST_F(ScrapeTest, StoresSamplesReportSeriesAndSendsPrometheusHeaders) {
  const int64_t t0 = NowMs();
  server_.ServeBody(absl::StrCat("# HELP m A gauge.\n# TYPE m gauge\nm{a=\"1\"} 5\n",
                                 "m{a=\"2\"} 6.5 ", t0 - 1000, "\nother 7\n"));
  auto s = Make();
  ScrapeResult r = Scrape(*s);
  EXPECT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.samples_scraped, 3u);
  EXPECT_EQ(r.series_added, 3u);

  auto all = All();
  ASSERT_EQ(all.size(), 3u + 5u) << ::testing::PrintToString(all);
  auto m1 = Get(Key("m", "a=\"1\", "));
  ASSERT_EQ(m1.size(), 1u);
  EXPECT_EQ(m1[0].t_ms, t0);
  EXPECT_EQ(m1[0].v, 5);
  auto m2 = Get(Key("m", "a=\"2\", "));
  ASSERT_EQ(m2.size(), 1u);
  EXPECT_EQ(m2[0].t_ms, t0 - 1000);  // the sample's own timestamp
  EXPECT_EQ(m2[0].v, 6.5);
  EXPECT_EQ(Get(Key("other")).at(0).v, 7);
  EXPECT_EQ(Report("up"), 1);
  EXPECT_EQ(Report("scrape_duration_seconds"), 0);  // the fake clock did not move
  EXPECT_EQ(Report("scrape_samples_scraped"), 3);
  EXPECT_EQ(Report("scrape_samples_post_metric_relabeling"), 3);
  EXPECT_EQ(Report("scrape_series_added"), 3);

  httplib::Request req = server_.last();
  EXPECT_EQ(req.path, "/metrics");
  EXPECT_EQ(req.get_header_value("Accept"),
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
  EXPECT_EQ(req.get_header_value("Accept-Encoding"), "gzip");
  EXPECT_EQ(req.get_header_value("X-Prometheus-Scrape-Timeout-Seconds"), "0.5");
  EXPECT_EQ(req.get_header_value("Authorization"), "");

  // Second scrape: known series come from the cache (no series added); "other" vanished and
  // gets a staleness marker; m{a="2"} has an explicit timestamp, so it never gets one.
  clock_.Advance(absl::Seconds(10));
  server_.ServeBody("m{a=\"1\"} 8\nnew 1\n");
  r = Scrape(*s);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.series_added, 1u);
  EXPECT_EQ(r.stale_markers, 1u);
  auto other = Get(Key("other"));
  ASSERT_EQ(other.size(), 2u);
  EXPECT_EQ(other[1].t_ms, t0 + 10000);
  EXPECT_TRUE(tsdb::IsStaleNaN(other[1].v));
  EXPECT_EQ(Get(Key("m", "a=\"2\", ")).size(), 1u);
  EXPECT_EQ(Get(Key("m", "a=\"1\", ")).back().v, 8);
  EXPECT_EQ(Report("scrape_series_added"), 1);
  EXPECT_EQ(Report("scrape_samples_scraped"), 2);
}

TEST_F(ScrapeTest, HonorLabelsFalseRenamesConflictsToExported) {
  cfg_.static_configs[0].labels = {{"env", "prod"}};
  server_.ServeBody("m{job=\"exp\",instance=\"i\",exported_job=\"x\",env=\"e\"} 1\n");
  auto s = Make();
  ASSERT_TRUE(Scrape(*s).ok);
  // Conflicts sorted by name length: env, job, instance. exported_job is exposed, so job's
  // exposed value goes to exported_exported_job.
  const std::string want = absl::StrCat(
      "{__name__=\"m\", env=\"prod\", exported_env=\"e\", exported_exported_job=\"exp\", "
      "exported_instance=\"i\", exported_job=\"x\", instance=\"",
      server_.target(), "\", job=\"myjob\"}");
  EXPECT_EQ(Get(want).size(), 1u) << ::testing::PrintToString(All());
  // Report series carry the static label too.
  EXPECT_EQ(Get(absl::StrCat("{__name__=\"up\", env=\"prod\", instance=\"", server_.target(),
                             "\", job=\"myjob\"}"))
                .size(),
            1u);
}

TEST_F(ScrapeTest, HonorLabelsTrueKeepsExposedValues) {
  cfg_.honor_labels = true;
  server_.ServeBody("m{job=\"exp\",instance=\"i\"} 1\nn 2\n");
  auto s = Make();
  ASSERT_TRUE(Scrape(*s).ok);
  EXPECT_EQ(Get("{__name__=\"m\", instance=\"i\", job=\"exp\"}").size(), 1u)
      << ::testing::PrintToString(All());
  EXPECT_EQ(Get(Key("n")).size(), 1u);  // absent target labels are still added
  EXPECT_EQ(Report("up"), 1);           // report series always use the target labels
}

TEST_F(ScrapeTest, StaticLabelsOverrideJobAndInstance) {
  cfg_.static_configs[0].labels = {{"instance", "node-1"}, {"job", "other"}};
  server_.ServeBody("m 1\n");
  auto s = Make();
  ASSERT_TRUE(Scrape(*s).ok);
  EXPECT_EQ(Get("{__name__=\"m\", instance=\"node-1\", job=\"other\"}").size(), 1u)
      << ::testing::PrintToString(All());
}

TEST_F(ScrapeTest, MetricRelabelConfigs) {
  config::RelabelConfig drop;
  drop.source_labels = {"__name__"};
  drop.regex = "go_.*";
  drop.action = config::RelabelAction::kDrop;
  config::RelabelConfig copy;
  copy.source_labels = {"job", "a"};
  copy.regex = "(.*);(.*)";
  copy.target_label = "ja";
  copy.replacement = "$1-$2";
  cfg_.metric_relabel_configs = {drop, copy};
  server_.ServeBody("go_gc 1\ngo_mem 2\nm{a=\"x\"} 3\n");
  auto s = Make();
  ScrapeResult r = Scrape(*s);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.samples_scraped, 3u);
  EXPECT_EQ(r.samples_post_relabel, 1u);
  EXPECT_EQ(Report("scrape_samples_post_metric_relabeling"), 1);
  EXPECT_EQ(Get(Key("m", "a=\"x\", ")).size(), 0u);  // relabelled: has ja too
  EXPECT_EQ(Get(absl::StrCat("{__name__=\"m\", a=\"x\", instance=\"", server_.target(),
                             "\", ja=\"myjob-x\", job=\"myjob\"}"))
                .size(),
            1u)
      << ::testing::PrintToString(All());
  EXPECT_EQ(Report("up"), 1);  // report series are not relabelled (and not dropped)

  config::ScrapeConfig bad = cfg_;
  bad.metric_relabel_configs[0].regex = "(";
  EXPECT_EQ(Scraper::Create(bad, &storage_, &clock_).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ScrapeTest, DuplicateLabelNamesFailTheScrape) {
  server_.ServeBody("ok 1\nm{a=\"1\",a=\"2\"} 1\n");
  auto s = Make();
  ScrapeResult r = Scrape(*s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "parse");
  EXPECT_THAT(std::string(r.error.message()), HasSubstr("label name \"a\" is not unique"));
  EXPECT_EQ(Report("up"), 0);
  EXPECT_TRUE(Get(Key("ok")).empty());  // rolled back
}

TEST_F(ScrapeTest, InvalidMetricNameFailsTheScrape) {
  // The text parser (like Prometheus 2.42's) keeps leading blanks in the name; Prometheus's
  // scrape loop then rejects the name, failing the scrape.
  server_.ServeBody("ok 1\n  up 1\n");
  auto s = Make();
  ScrapeResult r = Scrape(*s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "parse");
  EXPECT_THAT(std::string(r.error.message()), HasSubstr("invalid metric name \"  up\""));
  EXPECT_EQ(Report("up"), 0);
  EXPECT_TRUE(Get(Key("ok")).empty());  // rolled back
}

TEST_F(ScrapeTest, FailuresWriteStaleMarkersOnce) {
  server_.ServeBody("a 1\nb 2\n");
  auto s = Make();
  ASSERT_TRUE(Scrape(*s).ok);
  const int64_t t0 = NowMs();

  // Malformed body: up=0, the parse error, and markers for a and b.
  clock_.Advance(absl::Seconds(10));
  server_.ServeBody("a 1\nb{c=} 2\n");
  ScrapeResult r = Scrape(*s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "parse");
  EXPECT_THAT(std::string(r.error.message()), HasSubstr("line 2"));
  EXPECT_EQ(r.stale_markers, 2u);
  EXPECT_EQ(Report("up"), 0);
  auto a = Get(Key("a"));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].t_ms, t0);
  EXPECT_EQ(a[0].v, 1);
  EXPECT_EQ(a[1].t_ms, t0 + 10000);
  EXPECT_TRUE(tsdb::IsStaleNaN(a[1].v));
  EXPECT_TRUE(tsdb::IsStaleNaN(Get(Key("b")).back().v));

  // Another failure (HTTP 500): no series left to mark.
  clock_.Advance(absl::Seconds(10));
  server_.Serve([](const httplib::Request&, httplib::Response& res) {
    res.status = 500;
    res.set_content("boom", "text/plain");
  });
  r = Scrape(*s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "http_status");
  EXPECT_THAT(std::string(r.error.message()), HasSubstr("500"));
  EXPECT_EQ(r.stale_markers, 0u);
  EXPECT_EQ(Get(Key("a")).size(), 2u);
  EXPECT_EQ(Report("up"), 0);
  EXPECT_EQ(Report("scrape_samples_scraped"), 0);

  // Recovers.
  clock_.Advance(absl::Seconds(10));
  server_.ServeBody("a 3\n");
  r = Scrape(*s);
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(Get(Key("a")).back().v, 3);
  EXPECT_EQ(Report("up"), 1);
}

TEST_F(ScrapeTest, TargetGoneIsConnectErrorWithStaleMarkers) {
  auto gone = std::make_unique<TestServer>();
  gone->ServeBody("x 1\n");
  cfg_.static_configs[0].targets = {gone->target()};
  const std::string target = gone->target();
  auto s = Make();
  ASSERT_TRUE(s->ScrapeOnce(target)->ok);
  gone.reset();  // the port is closed now
  clock_.Advance(absl::Seconds(10));
  auto r = s->ScrapeOnce(target);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(FetchErrorReason(r->error), "connect");
  auto x = Get(absl::StrCat("{__name__=\"x\", instance=\"", target, "\", job=\"myjob\"}"));
  ASSERT_EQ(x.size(), 2u);
  EXPECT_TRUE(tsdb::IsStaleNaN(x[1].v));
  EXPECT_EQ(s->ScrapeOnce("nope:1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ScrapeTest, SlowTargetTimesOut) {
  server_.Serve([this](const httplib::Request&, httplib::Response& res) {
    for (int i = 0; i < 40 && !server_.stopping_; ++i) absl::SleepFor(absl::Milliseconds(50));
    res.set_content("late 1\n", kText);
  });
  cfg_.scrape_timeout = absl::Milliseconds(300);
  auto s = Make();
  const absl::Time start = absl::Now();
  ScrapeResult r = Scrape(*s);
  const absl::Duration took = absl::Now() - start;
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "timeout");
  EXPECT_GE(took, absl::Milliseconds(250));
  EXPECT_LT(took, absl::Milliseconds(1500));
  EXPECT_EQ(Report("up"), 0);
  EXPECT_EQ(server_.last().get_header_value("X-Prometheus-Scrape-Timeout-Seconds"), "0.3");
}

TEST_F(ScrapeTest, TrickleBodyHitsWholeScrapeDeadline) {
  // Each chunk arrives well within the read timeout, but the whole body takes too long.
  server_.Serve([this](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider(kText, [this](size_t offset, httplib::DataSink& sink) {
      if (offset > 4000 || server_.stopping_) {
        sink.done();
        return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
      std::string line = absl::StrCat("m", offset, " 1\n");
      sink.write(line.data(), line.size());
      return true;
    });
  });
  cfg_.scrape_timeout = absl::Milliseconds(400);
  auto s = Make();
  const absl::Time start = absl::Now();
  ScrapeResult r = Scrape(*s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "timeout");
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
}

TEST_F(ScrapeTest, OversizedBodyFails) {
  std::string body;
  for (int i = 0; i < 100; ++i) body += absl::StrCat("metric_", i, " 1\n");  // > 1000 bytes
  server_.ServeBody(body);
  ScraperOptions opts;
  opts.body_size_limit = 1000;
  auto s = Make(opts);
  ScrapeResult r = Scrape(*s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "too_large");
  EXPECT_EQ(Report("up"), 0);
  opts.body_size_limit = body.size();  // exactly the limit is fine
  auto s2 = Scraper::Create(cfg_, &storage_, &clock_, nullptr, opts);
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE((*s2)->ScrapeOnce(server_.target())->ok);
}

TEST_F(ScrapeTest, GzipBodyAndOpenMetrics) {
  const std::string body =
      "# TYPE c counter\nc_total{x=\"y\"} 4\n# TYPE g gauge\ng 1.5 1700000000.5\n# EOF\n";
  const std::string gz = Gzip(body);
  server_.Serve([gz](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(gz, "application/openmetrics-text; version=1.0.0; charset=utf-8");
  });
  auto s = Make();
  ScrapeResult r = Scrape(*s);
  ASSERT_TRUE(r.ok) << r.error;
  auto c = Get(absl::StrCat("{__name__=\"c_total\", instance=\"", server_.target(),
                            "\", job=\"myjob\", x=\"y\"}"));
  ASSERT_EQ(c.size(), 1u) << ::testing::PrintToString(All());
  EXPECT_EQ(c[0].v, 4);
  auto g = Get(Key("g"));
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0].t_ms, 1700000000500);  // OpenMetrics seconds -> ms
  // Served as text 0.0.4, "# EOF" is just a comment and the float timestamp is an error.
  server_.ServeBody(body);
  clock_.Advance(absl::Seconds(1));
  r = Scrape(*s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "parse");
}

TEST_F(ScrapeTest, AuthHeadersAndFilesReReadEachScrape) {
  const std::string pw = TempDir() + "/pw";
  WriteFile(pw, "pass\n");  // trimmed, as Prometheus does
  cfg_.basic_auth = config::BasicAuth{"user", "", pw};
  server_.ServeBody("m 1\n");
  auto s = Make();
  ASSERT_TRUE(Scrape(*s).ok);
  EXPECT_EQ(server_.last().get_header_value("Authorization"), "Basic dXNlcjpwYXNz");  // user:pass
  WriteFile(pw, "secret");
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(Scrape(*s).ok);
  EXPECT_EQ(server_.last().get_header_value("Authorization"), "Basic dXNlcjpzZWNyZXQ=");
  std::filesystem::remove(pw);
  clock_.Advance(absl::Seconds(1));
  const int before = server_.requests();
  ScrapeResult r = Scrape(*s);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(FetchErrorReason(r.error), "auth_file");
  EXPECT_EQ(server_.requests(), before);  // nothing sent without credentials

  FetchOptions o;
  o.target = server_.target();
  const std::string tok = TempDir() + "/tok";
  WriteFile(tok, " tok123 \n");
  o.bearer_token_file = tok;
  ASSERT_TRUE(Fetch(o).ok());
  EXPECT_EQ(server_.last().get_header_value("Authorization"), "Bearer tok123");
  o.bearer_token_file.clear();
  o.authorization = config::Authorization{"Custom", "xyz", ""};
  ASSERT_TRUE(Fetch(o).ok());
  EXPECT_EQ(server_.last().get_header_value("Authorization"), "Custom xyz");
  WriteFile(tok, "fromfile");
  o.authorization = config::Authorization{"Bearer", "", tok};
  ASSERT_TRUE(Fetch(o).ok());
  EXPECT_EQ(server_.last().get_header_value("Authorization"), "Bearer fromfile");
}

TEST_F(ScrapeTest, PathAndParams) {
  cfg_.metrics_path = "/probe";
  cfg_.params = {{"module", {"a b"}}, {"x", {"1", "2"}}};
  server_.ServeBody("m 1\n");
  auto s = Make();
  ASSERT_TRUE(Scrape(*s).ok);
  httplib::Request req = server_.last();
  EXPECT_EQ(req.path, "/probe");
  // Go's url.Values.Encode: sorted keys, QueryEscape (space as '+').
  EXPECT_EQ(req.target, "/probe?module=a+b&x=1&x=2");
  EXPECT_EQ(req.get_param_value_count("x"), 2u);
  EXPECT_EQ(req.get_param_value("x", 1), "2");
}

class CountingObserver : public ScrapeObserver {
 public:
  void OnScrape(std::string_view job, std::string_view instance, bool ok, absl::Duration,
                std::string_view reason, size_t samples) override {
    std::lock_guard<std::mutex> l(mu);
    calls.push_back(absl::StrCat(ToAbsl(job), " ", ToAbsl(instance), " ", ok, " ", ToAbsl(reason),
                                 " ", samples));
  }
  std::mutex mu;
  std::vector<std::string> calls;
};

TEST_F(ScrapeTest, ObserverHearsEveryScrape) {
  CountingObserver obs;
  auto s = Scraper::Create(cfg_, &storage_, &clock_, &obs);
  ASSERT_TRUE(s.ok());
  server_.ServeBody("a 1\nb 1\n");
  ASSERT_TRUE((*s)->ScrapeOnce(server_.target()).ok());
  server_.ServeBody("a{");
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE((*s)->ScrapeOnce(server_.target()).ok());
  EXPECT_THAT(obs.calls, ElementsAre(absl::StrCat("myjob ", server_.target(), " 1  2"),
                                     absl::StrCat("myjob ", server_.target(), " 0 parse 0")));
}

TEST_F(ScrapeTest, StartScrapesOnScheduleAndStopAbortsRequests) {
  std::atomic<bool> slow{false};
  std::atomic<int> in_handler{0};
  server_.Serve([&](const httplib::Request&, httplib::Response& res) {
    ++in_handler;
    while (slow && !server_.stopping_) absl::SleepFor(absl::Milliseconds(10));
    res.set_content("m 1\n", kText);
  });
  cfg_.scrape_interval = absl::Milliseconds(200);
  cfg_.scrape_timeout = absl::Seconds(5);
  SystemClock clock;
  auto s = Scraper::Create(cfg_, &storage_, &clock);
  ASSERT_TRUE(s.ok());
  (*s)->Start();
  absl::SleepFor(absl::Milliseconds(1100));
  // About 5 scrapes in 1.1 s at 200 ms.
  EXPECT_GE(server_.requests(), 4);
  EXPECT_LE(server_.requests(), 7);
  slow = true;
  const int seen = in_handler;
  while (in_handler == seen) absl::SleepFor(absl::Milliseconds(5));  // a request is in flight
  const absl::Time start = absl::Now();
  (*s)->Stop();
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(500));
  slow = false;
  (*s)->Stop();  // idempotent
}

TEST(ScrapeOffset, StableAndWithinInterval) {
  const absl::Duration iv = absl::Seconds(15);
  const absl::Duration a = Scraper::ScrapeOffset("job", "host:1", iv);
  EXPECT_EQ(a, Scraper::ScrapeOffset("job", "host:1", iv));
  EXPECT_GE(a, absl::ZeroDuration());
  EXPECT_LT(a, iv);
  // Different targets spread out (these two differ; a collision would be a 1 in 15e9 event).
  EXPECT_NE(a, Scraper::ScrapeOffset("job", "host:2", iv));
}

// ---------------------------------------------------------------------------------------------
// TLS, with a self-signed certificate made by the openssl CLI.

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = TempDir() + "/tls";
    std::filesystem::create_directories(dir_);
    const std::string cmd = absl::StrCat(
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout ", dir_,
        "/key.pem -out ", dir_,
        "/cert.pem -addext subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1");
    have_openssl_ = std::system(cmd.c_str()) == 0;
  }
  void SetUp() override {
    if (!have_openssl_) GTEST_SKIP() << "openssl CLI not available";
    const std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
    server_ = std::make_unique<TestServer>(
        std::make_unique<httplib::SSLServer>(cert.c_str(), key.c_str()));
    server_->ServeBody("tls_metric 1\n");
    opts_.scheme = "https";
    opts_.target = server_->target();
  }
  static inline std::string dir_;
  static inline bool have_openssl_ = false;
  std::unique_ptr<TestServer> server_;
  FetchOptions opts_;
};

TEST_F(TlsTest, VerifiesAgainstCaFile) {
  opts_.tls.ca_file = dir_ + "/cert.pem";
  auto r = Fetch(opts_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->body, "tls_metric 1\n");
  EXPECT_EQ(r->http_status, 200);
}

TEST_F(TlsTest, UnknownCaFailsWithTlsReason) {
  auto r = Fetch(opts_);  // system CAs do not know our self-signed cert
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(FetchErrorReason(r.status()), "tls") << r.status();
  opts_.tls.insecure_skip_verify = true;
  EXPECT_TRUE(Fetch(opts_).ok());
}

TEST_F(TlsTest, ServerNameIsVerified) {
  opts_.tls.ca_file = dir_ + "/cert.pem";
  opts_.tls.server_name = "localhost";  // in the SAN
  auto ok = Fetch(opts_);
  EXPECT_TRUE(ok.ok()) << ok.status();
  opts_.tls.server_name = "wrong.example";
  auto bad = Fetch(opts_);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(FetchErrorReason(bad.status()), "tls") << bad.status();
  opts_.tls.server_name.clear();
  opts_.tls.ca_file = dir_ + "/missing.pem";
  EXPECT_EQ(FetchErrorReason(Fetch(opts_).status()), "tls");
}

TEST_F(TlsTest, ScraperOverHttps) {
  config::ScrapeConfig cfg;
  cfg.job_name = "tls";
  cfg.scheme = "https";
  cfg.scrape_interval = absl::Seconds(10);
  cfg.scrape_timeout = absl::Seconds(2);
  cfg.tls_config.ca_file = dir_ + "/cert.pem";
  cfg.static_configs.push_back({{server_->target()}, {}});
  tsdb::MemStorage storage;
  FakeClock clock;
  auto s = Scraper::Create(cfg, &storage, &clock);
  ASSERT_TRUE(s.ok());
  auto r = (*s)->ScrapeOnce(server_->target());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok) << r->error;
  auto sel = storage.Select({{tsdb::Matcher::Type::kEqual, "__name__", "tls_metric"}}, 0,
                            std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->size(), 1u);
}

}  // namespace
}  // namespace stakewatch::scrape
