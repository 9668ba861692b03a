// stakewatch's /api/v1 against a real Prometheus 2.42 holding the same samples.
//
// The test serves one text-format target whose samples carry explicit timestamps (three series
// over the last ten minutes, with awkward label values and special floats). Prometheus scrapes
// it; the same samples, with the job and instance labels Prometheus attaches, go straight into a
// tsdb::MemStorage behind stakewatch's api::Api, mounted on a cpp-httplib server. Then the same
// requests go to both servers and the answers are compared:
//   - /api/v1/query (GET and POST form) and /api/v1/query_range: vectors, matrices, scalars,
//     strings, rate/offset/aggregations/functions, and error answers (status code + body);
//   - /api/v1/series, /api/v1/labels (with and without match[]), /api/v1/label/<n>/values.
// Comparison: the HTTP status, then the parsed JSON documents must be equal (same keys in the
// same order, same array lengths, same strings), except that two sample-value strings that
// differ only in the last bits of a float (relative 1e-12) are accepted and counted. The test
// also reports how many bodies were byte-identical and requires it for the non-float cases.
// Only series named cmp_* are queried, so Prometheus's own up/scrape_* series do not appear
// (they carry only __name__, instance and job, which the cmp_* series have too, so /labels
// without match[] is compared as well).
#include <unistd.h>

#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "api/api.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "query/engine.h"
#include "simdjson.h"
#include "support/process.h"
#include "tsdb/storage.h"

namespace stakewatch {
namespace {

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

struct Point {
  tsdb::Labels labels;  // without job/instance
  int64_t t_ms;
  double v;
  std::string text_value;  // as exposed
};

// Recursively compares two parsed JSON values; appends differences to `diff`. With `rel_tol` > 0,
// sample-value strings that parse as numbers may differ by that relative amount.
void Compare(simdjson::dom::element a, simdjson::dom::element b, const std::string& path,
             std::string* diff, double rel_tol = 0) {
  if (a.type() != b.type()) {
    absl::StrAppend(diff, path, ": type differs\n");
    return;
  }
  switch (a.type()) {
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object oa = a.get_object().value_unsafe();
      simdjson::dom::object ob = b.get_object().value_unsafe();
      if (oa.size() != ob.size()) {
        absl::StrAppend(diff, path, ": object sizes ", oa.size(), " vs ", ob.size(), "\n");
        return;
      }
      auto ia = oa.begin();
      auto ib = ob.begin();
      for (; ia != oa.end(); ++ia, ++ib) {
        const std::string ka(ia.key()), kb(ib.key());
        if (ka != kb) {
          absl::StrAppend(diff, path, ": key ", ka, " vs ", kb, "\n");
          return;
        }
        Compare(ia.value(), ib.value(), path + "." + ka, diff, rel_tol);
      }
      return;
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array aa = a.get_array().value_unsafe();
      simdjson::dom::array ab = b.get_array().value_unsafe();
      if (aa.size() != ab.size()) {
        absl::StrAppend(diff, path, ": array sizes ", aa.size(), " vs ", ab.size(), "\n");
        return;
      }
      size_t i = 0;
      auto ib = ab.begin();
      for (auto ia = aa.begin(); ia != aa.end(); ++ia, ++ib, ++i) {
        Compare(*ia, *ib, absl::StrCat(path, "[", i, "]"), diff, rel_tol);
      }
      return;
    }
    case simdjson::dom::element_type::STRING: {
      const std::string sa(a.get_string().value_unsafe()), sb(b.get_string().value_unsafe());
      if (sa == sb) return;
      if (rel_tol > 0) {
        char* ea = nullptr;
        char* eb = nullptr;
        const double da = std::strtod(sa.c_str(), &ea);
        const double db = std::strtod(sb.c_str(), &eb);
        if (*ea == 0 && *eb == 0 &&
            std::fabs(da - db) <= rel_tol * std::max(std::fabs(da), std::fabs(db))) {
          return;
        }
      }
      // Sample values are strings: any difference, even in the last bit, is a difference.
      absl::StrAppend(diff, path, ": \"", sa, "\" vs \"", sb, "\"\n");
      return;
    }
    default: {
      // Numbers (timestamps), booleans, null: compare their minified text.
      const std::string ma = simdjson::minify(a), mb = simdjson::minify(b);
      if (ma != mb) absl::StrAppend(diff, path, ": ", ma, " vs ", mb, "\n");
    }
  }
}

class ApiVsPrometheus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access("/usr/bin/prometheus", X_OK) != 0) GTEST_SKIP() << "prometheus is not installed";
  }
};

TEST_F(ApiVsPrometheus, SameAnswers) {
  // Ten minutes of samples ending two minutes ago, on a whole second plus 250 ms.
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  const int64_t t0 = (now_ms / 1000 - 12 * 60) * 1000 + 250;
  std::vector<Point> points;
  const tsdb::Labels a{{"__name__", "cmp_gauge"}, {"shard", "a"}};
  const tsdb::Labels b{{"__name__", "cmp_gauge"}, {"shard", "b"}, {"weird", "<&>\"\\ \xc3\xa9"}};
  const tsdb::Labels c{{"__name__", "cmp_counter_total"}, {"shard", "a"}};
  const tsdb::Labels n{{"__name__", "cmp_noise"}, {"shard", "n"}};
  const char* specials[] = {"1e-07", "1e+21", "-0.5", "NaN", "+Inf", "0.1", "-Inf", "3"};
  for (int i = 0; i < 40; ++i) {  // every 15 s
    const int64_t t = t0 + i * 15000;
    points.push_back({a, t, i * 1.5, absl::StrCat(i * 1.5)});
    if (i % 3 == 0) {
      const char* s = specials[(i / 3) % 8];
      points.push_back({b, t + 7, std::strtod(s, nullptr), s});
    }
    const double counter = i < 25 ? i * 10.0 + 0.25 : (i - 25) * 3.0;  // reset at i = 25
    points.push_back({c, t, counter, absl::StrCat(counter)});
    // A gauge with non-trivial decimals (printed with 17 significant digits, so both sides
    // parse the same double).
    const double noise = std::sin(i * 0.7) * 1000.0 / 7.0 + i * 0.1;
    points.push_back({n, t + 3, noise, absl::StrFormat("%.17g", noise)});
  }

  // The target: every sample with its timestamp, grouped per series in time order.
  std::string body;
  for (const tsdb::Labels* l : {&a, &b, &c, &n}) {
    for (const Point& p : points) {
      if (!(p.labels == *l)) continue;
      std::string name;
      std::string labels;
      for (const tsdb::Label& label : p.labels) {
        if (label.name == "__name__") {
          name = label.value;
          continue;
        }
        std::string v;
        for (char ch : label.value) {
          if (ch == '\\' || ch == '"') v += '\\';
          v += ch;
        }
        absl::StrAppend(&labels, labels.empty() ? "" : ",", label.name, "=\"", v, "\"");
      }
      absl::StrAppend(&body, name, "{", labels, "} ", p.text_value, " ", p.t_ms, "\n");
    }
  }
  httplib::Server target;
  target.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "text/plain; version=0.0.4; charset=utf-8");
  });
  const int target_port = target.bind_to_any_port("127.0.0.1");
  std::thread target_thread([&] { target.listen_after_bind(); });
  struct Joiner {
    httplib::Server* s;
    std::thread* t;
    ~Joiner() {
      s->stop();
      if (t->joinable()) t->join();
    }
  } join_target{&target, &target_thread};
  const std::string instance = absl::StrCat("127.0.0.1:", target_port);

  // stakewatch's side: the same samples with the target labels.
  tsdb::MemStorage storage;
  {
    auto app = storage.NewAppender();
    for (const Point& p : points) {
      tsdb::LabelsBuilder lb(p.labels);
      lb.Set("job", "api_cmp").Set("instance", instance);
      ASSERT_EQ(app->Append(lb.Build(), p.t_ms, p.v), tsdb::AppendError::kNone);
    }
    ASSERT_TRUE(app->Commit().ok());
  }
  query::Engine engine;
  api::Api api({.engine = &engine, .storage = &storage});
  httplib::Server ours;
  api::Register(ours, api);
  const int our_port = ours.bind_to_any_port("127.0.0.1");
  std::thread our_thread([&] { ours.listen_after_bind(); });
  Joiner join_ours{&ours, &our_thread};
  while (!target.is_running() || !ours.is_running()) absl::SleepFor(absl::Milliseconds(1));

  // Prometheus's side.
  const std::string dir = testing::MakeTempDir("api_compare");
  ASSERT_TRUE(testing::WriteFile(dir + "/prometheus.yml",
                                 absl::StrCat("global:\n  scrape_interval: 1s\n"
                                              "scrape_configs:\n  - job_name: api_cmp\n"
                                              "    static_configs:\n      - targets: [\"",
                                              instance, "\"]\n"))
                  .ok());
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
  // Wait until Prometheus holds every sample.
  const std::string count_path =
      absl::StrCat("/api/v1/query?time=", now_ms / 1000, "&query=",
                   QueryEscape("sum(count_over_time(cmp_gauge[20m])) + "
                               "sum(count_over_time(cmp_counter_total[20m])) + "
                               "sum(count_over_time(cmp_noise[20m]))"));
  const std::string want_count = absl::StrCat("\"", points.size(), "\"");
  bool complete = false;
  std::string last;
  for (const absl::Time deadline = absl::Now() + absl::Seconds(60); absl::Now() < deadline;) {
    auto r = testing::HttpGet("127.0.0.1", prom_port, count_path);
    if (r.ok()) last = r->body;
    if (r.ok() && r->body.find(want_count) != std::string::npos) {
      complete = true;
      break;
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
  ASSERT_TRUE(complete) << "Prometheus did not ingest " << points.size() << " samples: " << last
                        << "\n"
                        << testing::HttpGet("127.0.0.1", prom_port,
                                            "/api/v1/query?query=" +
                                                QueryEscape("count_over_time(cmp_gauge[20m])"))
                               ->body;

  const int64_t mid = t0 + 5 * 60 * 1000 + 123;  // an instant inside the data
  const std::string mid_s = absl::StrFormat("%.3f", mid / 1000.0);
  const std::string start_s = absl::StrCat((t0 - 60000) / 1000);
  const std::string end_s = absl::StrFormat("%.3f", (t0 + 11 * 60 * 1000) / 1000.0);
  std::vector<std::string> paths;
  for (const char* q :
       {"cmp_gauge", "cmp_gauge{shard=\"b\"}", "rate(cmp_counter_total[1m])",
        "sum by (shard) (cmp_gauge)", "cmp_gauge[2m]", "cmp_counter_total offset 1m",
        "avg_over_time(cmp_gauge{shard=\"a\"}[5m])", "scalar(cmp_gauge{shard=\"a\"})", "\"str<&>\"",
        "1.5e-7", "increase(cmp_counter_total[3m]) / 7", "timestamp(cmp_gauge)",
        "label_replace(cmp_gauge, \"x\", \"$1\", \"shard\", \"(.*)\")", "sum(",
        "cmp_gauge + on()"}) {
    paths.push_back(absl::StrCat("/api/v1/query?time=", mid_s, "&query=", QueryEscape(q)));
  }
  for (const char* q : {"cmp_gauge", "rate(cmp_counter_total[1m])", "sum(cmp_gauge)",
                        "cmp_gauge{shard=\"b\"} * 2", "deriv(cmp_gauge{shard=\"a\"}[2m])"}) {
    for (const char* step : {"7", "15s", "1m", "2.5"}) {
      paths.push_back(absl::StrCat("/api/v1/query_range?start=", start_s, "&end=", end_s,
                                   "&step=", step, "&query=", QueryEscape(q)));
    }
  }
  // Every kind of function and aggregation, instant and range, on the noisy gauge and the counter:
  // the values must be bit-identical to Prometheus's.
  for (const char* q : {
           "sum_over_time(cmp_noise[3m])",
           "avg_over_time(cmp_noise[3m])",
           "min_over_time(cmp_noise[3m])",
           "max_over_time(cmp_noise[3m])",
           "count_over_time(cmp_noise[3m])",
           "last_over_time(cmp_noise[3m])",
           "present_over_time(cmp_noise[3m])",
           "stddev_over_time(cmp_noise[3m])",
           "stdvar_over_time(cmp_noise[3m])",
           "quantile_over_time(0.3, cmp_noise[3m])",
           "changes(cmp_noise[3m])",
           "resets(cmp_counter_total[10m])",
           "delta(cmp_noise[2m])",
           "idelta(cmp_noise[2m])",
           "irate(cmp_counter_total[2m])",
           "increase(cmp_counter_total[2m])",
           "rate(cmp_counter_total[5m])",
           "deriv(cmp_noise[3m])",
           "predict_linear(cmp_noise[3m], 600)",
           "holt_winters(cmp_noise[5m], 0.3, 0.6)",
           "avg(cmp_noise) + avg by (shard) (cmp_gauge)",
           "stddev(cmp_gauge)",
           "stdvar by (__name__) ({__name__=~\"cmp_noise|cmp_gauge\"})",
           "quantile(0.7, {__name__=~\"cmp_.*\"})",
           "topk(2, {__name__=~\"cmp_.*\"})",
           "count_values(\"v\", cmp_gauge{shard=\"a\"})",
           "abs(cmp_noise) + ceil(cmp_noise) - floor(cmp_noise)",
           "sqrt(abs(cmp_noise))",
           "rad(cmp_noise) + pi()",
           "count_values(\"big\", cmp_noise * 1e17)",
           "round(cmp_noise, 0.1) + round(cmp_noise)",
           "clamp(cmp_noise, -50, 50) + clamp_min(cmp_noise, 0) + clamp_max(cmp_noise, 0)",
           "sgn(cmp_noise) * sin(cmp_noise) + cos(cmp_noise) + atan(cmp_noise) + deg(cmp_noise)",
           "cmp_noise % 7 + cmp_noise ^ 2 + (cmp_noise atan2 cmp_gauge{shard=\"a\"})",
           "cmp_noise > bool 0",
           "max_over_time(rate(cmp_counter_total[1m])[5m:30s])",
           "avg_over_time(cmp_noise[2m:17s] offset 1m)",
           "cmp_noise offset -1m",
           "time() - timestamp(cmp_noise)",
           "absent_over_time(cmp_noise[1m])",
           "histogram_quantile(0.9, label_replace(cmp_gauge{shard=\"a\"}, \"le\", \"+Inf\", "
           "\"\", \"\"))",
       }) {
    paths.push_back(absl::StrCat("/api/v1/query?time=", mid_s, "&query=", QueryEscape(q)));
    paths.push_back(absl::StrCat("/api/v1/query_range?start=", start_s, "&end=", end_s,
                                 "&step=7&query=", QueryEscape(q)));
  }
  // Transcendental functions: stakewatch calls the C library (glibc, correctly rounded), Prometheus
  // Go's math package (not correctly rounded, and different on amd64 and arm64), so the last bits
  // may differ (docs/rules-engine.md). These are compared within a relative 1e-13.
  std::set<std::string> libm_paths;
  for (const char* q : {
           "exp(cmp_noise / 100)",
           "ln(abs(cmp_noise))",
           "log2(abs(cmp_noise)) + log10(abs(cmp_noise))",
           "sinh(cmp_noise / 100) + cosh(cmp_noise / 100) + tanh(cmp_noise / 100)",
           "asin(cmp_noise / 1000) + acos(cmp_noise / 1000) + tan(cmp_noise)",
           "asinh(cmp_noise) + acosh(abs(cmp_noise) + 1) + atanh(cmp_noise / 1000)",
       }) {
    for (const std::string& p :
         {absl::StrCat("/api/v1/query?time=", mid_s, "&query=", QueryEscape(q)),
          absl::StrCat("/api/v1/query_range?start=", start_s, "&end=", end_s,
                       "&step=7&query=", QueryEscape(q))}) {
      paths.push_back(p);
      libm_paths.insert(p);
    }
  }
  for (const char* bad :
       {"start=1&end=0&step=1&query=1", "start=0&end=1&step=0&query=1",
        "start=0&end=100000&step=0.001&query=1", "start=0&end=1&step=1&query=cmp_gauge%5B1m%5D",
        "start=x&end=1&step=1&query=1", "query=1&time=yesterday"}) {
    paths.push_back(absl::StrCat(
        absl::StartsWith(bad, "query=") ? "/api/v1/query?" : "/api/v1/query_range?", bad));
  }
  const std::string cmp = QueryEscape("{__name__=~\"cmp_.*\"}");
  paths.push_back("/api/v1/series?match[]=" + cmp);
  paths.push_back("/api/v1/series?match[]=" + QueryEscape("cmp_gauge{shard=\"b\"}") +
                  "&match[]=" + QueryEscape("cmp_counter_total"));
  paths.push_back(absl::StrCat("/api/v1/series?match[]=", cmp, "&start=", start_s, "&end=", end_s));
  paths.push_back("/api/v1/series?match[]=" + QueryEscape("{}"));
  paths.push_back("/api/v1/series");
  paths.push_back("/api/v1/labels");
  paths.push_back("/api/v1/labels?match[]=" + QueryEscape("cmp_gauge{shard=\"a\"}"));
  paths.push_back("/api/v1/label/job/values");
  paths.push_back("/api/v1/label/shard/values");
  paths.push_back("/api/v1/label/weird/values");
  paths.push_back("/api/v1/label/__name__/values?match[]=" + cmp);
  paths.push_back("/api/v1/label/1x/values");

  int identical = 0;
  simdjson::dom::parser pa, pb;
  for (const std::string& path : paths) {
    auto theirs = testing::HttpGet("127.0.0.1", prom_port, path);
    auto mine = testing::HttpGet("127.0.0.1", our_port, path);
    ASSERT_TRUE(theirs.ok() && mine.ok()) << path;
    EXPECT_EQ(mine->status, theirs->status) << path << "\n" << mine->body << "\n" << theirs->body;
    if (mine->body == theirs->body) {
      ++identical;
      continue;
    }
    simdjson::dom::element ea, eb;
    ASSERT_EQ(pa.parse(mine->body).get(ea), simdjson::SUCCESS) << path << ": " << mine->body;
    ASSERT_EQ(pb.parse(theirs->body).get(eb), simdjson::SUCCESS) << path << ": " << theirs->body;
    std::cout << "not byte-identical: " << path << "\n";
    std::string diff;
    Compare(ea, eb, "$", &diff, libm_paths.count(path) ? 1e-13 : 0);
    EXPECT_EQ(diff, "") << path;
    if (!libm_paths.count(path)) {
      EXPECT_NE(diff, "") << path << " differs in bytes only:\nours:   " << mine->body
                          << "\ntheirs: " << theirs->body;
    }
  }

  // POST form-encoded, as Grafana sends it.
  {
    httplib::Client to_prom("127.0.0.1", prom_port), to_ours("127.0.0.1", our_port);
    httplib::Params form{{"query", "sum by (shard) (cmp_gauge)"}, {"time", mid_s}};
    auto theirs = to_prom.Post("/api/v1/query", form);
    auto mine = to_ours.Post("/api/v1/query", form);
    ASSERT_TRUE(theirs && mine);
    EXPECT_EQ(mine->status, theirs->status);
    EXPECT_EQ(mine->body, theirs->body);
    EXPECT_EQ(mine->get_header_value("Content-Type"), theirs->get_header_value("Content-Type"));
  }

  std::cout << paths.size() << " requests: " << identical << " byte-identical answers\n";
  (*prom)->Stop();
}

}  // namespace
}  // namespace stakewatch
