// Scrapes one target with stakewatch's Scraper and with a real Prometheus 2.42, both configured
// by the same YAML, and compares the label sets of the stored series. This checks target labels,
// honor_labels (both ways, with exported_ conflicts), metric_relabel_configs (drop, replace,
// hashmod, uppercase, labelmap, labeldrop), params and the report series against the real thing.
#include <unistd.h>

#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "config/config.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "scrape/scraper.h"
#include "simdjson.h"
#include "support/process.h"
#include "tsdb/storage.h"

namespace stakewatch {
namespace {

constexpr char kBody[] =
    "# HELP m_total A counter.\n"
    "# TYPE m_total counter\n"
    "m_total{job=\"exp\",instance=\"i\",exported_job=\"x\",env=\"e\"} 1\n"
    "m_total{a=\"1\"} 2\n"
    "m_total{a=\"2\",path=\"/Some/Path\"} 3\n"
    "dropme 3\n"
    "g{le=\"1\",empty=\"\"} 4\n"
    "h{shard_src=\"abc\"} 5\n";

std::string QueryEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '_' || c == '-' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

// Prometheus's /api/v1/series answer as a set of Labels::ToString() strings.
std::set<std::string> ParseSeries(const std::string& body) {
  std::set<std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc) != simdjson::SUCCESS) return out;
  simdjson::dom::array data;
  if (doc["data"].get_array().get(data) != simdjson::SUCCESS) return out;
  for (simdjson::dom::element series : data) {
    simdjson::dom::object obj;
    if (series.get_object().get(obj) != simdjson::SUCCESS) continue;
    std::vector<std::pair<std::string, std::string>> pairs;
    for (auto field : obj) {
      std::string_view v;
      if (field.value.get_string().get(v) != simdjson::SUCCESS) continue;
      pairs.emplace_back(std::string(field.key), std::string(v));
    }
    out.insert(tsdb::Labels::FromPairs(pairs).ToString());
  }
  return out;
}

TEST(ScraperVsPrometheus, SameSeriesLabelSets) {
  if (access("/usr/bin/prometheus", X_OK) != 0) GTEST_SKIP() << "prometheus is not installed";
  httplib::Server target;
  target.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    // A sample with its own (recent) timestamp: stored as it is, never marked stale.
    const int64_t ts = absl::ToUnixMillis(absl::Now()) - 10000;
    res.set_content(absl::StrCat(kBody, "with_ts 6 ", ts, "\n"),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  const int target_port = target.bind_to_any_port("127.0.0.1");
  std::thread server_thread([&] { target.listen_after_bind(); });
  while (!target.is_running()) absl::SleepFor(absl::Milliseconds(1));

  const std::string t = absl::StrCat("127.0.0.1:", target_port);
  const std::string yaml = absl::StrCat(R"yaml(global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: plain
    static_configs:
      - targets: [")yaml",
                                        t, R"yaml("]
        labels: {env: prod}
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: dropme
        action: drop
      - source_labels: [job, a]
        regex: "(.+);(.+)"
        target_label: ja
        replacement: "${1}-$2"
      - source_labels: [shard_src]
        target_label: shard
        modulus: 7
        action: hashmod
      - source_labels: [path]
        target_label: upper_path
        action: uppercase
      - regex: "exported_(.*)"
        replacement: "orig_$1"
        action: labelmap
      - regex: "exported_instance"
        action: labeldrop
  - job_name: honored
    honor_labels: true
    params:
      module: [x y]
    static_configs:
      - targets: [")yaml",
                                        t, R"yaml("]
)yaml");
  auto cfg = config::ParseConfig(yaml, "compare.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.status();

  // stakewatch's side.
  tsdb::MemStorage storage;
  SystemClock clock;
  for (const config::ScrapeConfig& sc : cfg->scrape_configs) {
    auto s = scrape::Scraper::Create(sc, &storage, &clock);
    ASSERT_TRUE(s.ok()) << s.status();
    auto r = (*s)->ScrapeOnce(t);
    ASSERT_TRUE(r.ok());
    ASSERT_TRUE(r->ok) << r->error;
  }
  std::set<std::string> ours;
  auto all = storage.Select({}, 0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(all.ok());
  for (const tsdb::Series& s : *all) ours.insert(s.labels.ToString());

  // Prometheus's side.
  const std::string dir = testing::MakeTempDir("scrape_compare");
  ASSERT_TRUE(testing::WriteFile(dir + "/prometheus.yml", yaml).ok());
  const int prom_port = testing::FreePort();
  auto prom = testing::Subprocess::Start(
      {"/usr/bin/prometheus", absl::StrCat("--config.file=", dir, "/prometheus.yml"),
       absl::StrCat("--storage.tsdb.path=", dir, "/data"),
       absl::StrCat("--web.listen-address=127.0.0.1:", prom_port)},
      dir + "/prometheus");
  ASSERT_TRUE(prom.ok()) << prom.status();
  ASSERT_TRUE(
      (*prom)->WaitForOutput("Server is ready to receive web requests", absl::Seconds(60)).ok())
      << (*prom)->Stderr();
  std::set<std::string> theirs;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto r = testing::HttpGet("127.0.0.1", prom_port,
                              "/api/v1/series?match[]=" + QueryEscape("{__name__=~\".+\"}"));
    if (r.ok() && r->status == 200) theirs = ParseSeries(r->body);
    if (theirs.size() >= ours.size()) break;
    absl::SleepFor(absl::Milliseconds(250));
  }
  (*prom)->Stop();
  target.stop();
  server_thread.join();

  EXPECT_EQ(ours, theirs);
  for (const std::string& s : ours) {
    if (!theirs.count(s)) ADD_FAILURE() << "only stakewatch: " << s;
  }
  for (const std::string& s : theirs) {
    if (!ours.count(s)) ADD_FAILURE() << "only Prometheus: " << s;
  }
  // Worked out by hand: conflicts renamed (env, job, instance by name length; exported_job is
  // taken, so job's value lands in exported_exported_job), labelmap copies every exported_*
  // label to orig_*, then exported_instance is dropped. shard: md5("") =
  // d41d8cd98f00b204e9800998ecf8427e, 0xe9800998ecf8427e % 7 = 1.
  EXPECT_TRUE(ours.count(absl::StrCat(
      "{__name__=\"m_total\", env=\"prod\", exported_env=\"e\", exported_exported_job=\"exp\", "
      "exported_job=\"x\", instance=\"",
      t,
      "\", job=\"plain\", orig_env=\"e\", orig_exported_job=\"exp\", orig_instance=\"i\", "
      "orig_job=\"x\", shard=\"1\"}")))
      << ::testing::PrintToString(ours);
  // 6 plain series (dropme dropped) + 7 honored + 5 report series per job.
  EXPECT_EQ(ours.size(), 6u + 7u + 10u) << ::testing::PrintToString(ours);
}

}  // namespace
}  // namespace stakewatch
