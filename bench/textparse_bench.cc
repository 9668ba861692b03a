// textparse::Parser over a realistic scrape body, beside a plain pass over the same bytes (count
// '\n' with memchr and sum every byte), so the MB/s of both print side by side.
//
// Bodies (built once): ~200k series in families of counters (4 labels) and histograms (5
// labels with le, 12 buckets + _sum + _count), HELP/TYPE per family, a few escaped label values;
// the OpenMetrics body is the same data with `_total` counters, a UNIT line per histogram,
// float-second timestamps on the counters, an exemplar on some buckets and the final "# EOF".
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "textparse/textparse.h"

namespace {

using stakewatch::textparse::Entry;
using stakewatch::textparse::Format;
using stakewatch::textparse::Parser;

std::string MakeBody(Format format, int target_series) {
  const bool om = format == Format::kOpenMetrics;
  std::string b;
  b.reserve(static_cast<size_t>(target_series) * 110);
  static const char* const kLe[] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                    "0.5",   "1",    "2.5",   "5",    "10",  "+Inf"};
  char buf[512];
  int series = 0;
  for (int fam = 0; series < target_series; ++fam) {
    if (fam % 3 != 2) {
      // Counter family: 4 labels, 64 series.
      std::snprintf(
          buf, sizeof buf,
          "# HELP eth_requests_%d Requests served, by route.\n# TYPE eth_requests_%d counter\n",
          fam, fam);
      b += buf;
      for (int i = 0; i < 64; ++i, ++series) {
        const char* path = (i % 16 == 0) ? "/a \\\"quoted\\\" path" : "/eth/v1/node/syncing";
        if (om) {
          std::snprintf(
              buf, sizeof buf,
              "eth_requests_%d_total{instance=\"node-%d:5052\",job=\"beacon\",method=\"GET\","
              "path=\"%s\"} %d 1700000000.%03d\n",
              fam, i, path, i * 1000 + fam, i);
        } else {
          std::snprintf(buf, sizeof buf,
                        "eth_requests_%d{instance=\"node-%d:5052\",job=\"beacon\",method=\"GET\","
                        "path=\"%s\"} %d\n",
                        fam, i, path, i * 1000 + fam);
        }
        b += buf;
      }
    } else {
      // Histogram family: 5 labels (with le), 4 label sets x 14 series.
      std::snprintf(buf, sizeof buf,
                    "# HELP eth_latency_%d_seconds Request latency.\n# TYPE eth_latency_%d_seconds "
                    "histogram\n",
                    fam, fam);
      b += buf;
      if (om) {
        std::snprintf(buf, sizeof buf, "# UNIT eth_latency_%d_seconds seconds\n", fam);
        b += buf;
      }
      for (int set = 0; set < 4; ++set) {
        for (int k = 0; k < 12; ++k, ++series) {
          std::snprintf(
              buf, sizeof buf,
              "eth_latency_%d_seconds_bucket{instance=\"node-%d:5052\",job=\"beacon\","
              "method=\"POST\",status=\"200\",le=\"%s\"} %d%s\n",
              fam, set, kLe[k], 100 * k + set,
              (om && k == 5) ? " # {trace_id=\"4bf92f3577b34da6\"} 0.2 1700000000.5" : "");
          b += buf;
        }
        std::snprintf(buf, sizeof buf,
                      "eth_latency_%d_seconds_sum{instance=\"node-%d:5052\",job=\"beacon\","
                      "method=\"POST\",status=\"200\"} 1234.5678\n"
                      "eth_latency_%d_seconds_count{instance=\"node-%d:5052\",job=\"beacon\","
                      "method=\"POST\",status=\"200\"} 1100\n",
                      fam, set, fam, set);
        b += buf;
        series += 2;
      }
    }
  }
  if (om) b += "# EOF\n";
  return b;
}

const std::string& Body(Format f) {
  static const std::string text = MakeBody(Format::kText004, 200000);
  static const std::string om = MakeBody(Format::kOpenMetrics, 200000);
  return f == Format::kText004 ? text : om;
}

void BM_Parse(benchmark::State& state, Format format) {
  const std::string& body = Body(format);
  int64_t series = 0;
  for (auto _ : state) {
    Parser p(body, format);
    size_t sink = 0;
    series = 0;
    for (;;) {
      absl::StatusOr<Entry> e = p.Next();
      if (!e.ok()) {
        state.SkipWithError(std::string(e.status().message()).c_str());
        return;
      }
      if (*e == Entry::kEof) break;
      if (*e == Entry::kSeries) {
        ++series;
        sink += p.series().size() + p.labels().size();
        for (const auto& l : p.labels()) sink += l.value.size();
        sink += static_cast<size_t>(p.value());
      }
    }
    benchmark::DoNotOptimize(sink);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
  state.counters["series"] = static_cast<double>(series);
  state.counters["series/s"] =
      benchmark::Counter(static_cast<double>(series) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

// Baseline: the least any parser must do, touch every byte once.
void BM_PlainPass(benchmark::State& state, Format format) {
  const std::string& body = Body(format);
  for (auto _ : state) {
    size_t lines = 0;
    const char* p = body.data();
    const char* const end = p + body.size();
    while (p < end) {
      const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
      if (nl == nullptr) break;
      ++lines;
      p = static_cast<const char*>(nl) + 1;
    }
    uint64_t sum = 0;
    for (unsigned char c : body) sum += c;
    benchmark::DoNotOptimize(lines);
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}

BENCHMARK_CAPTURE(BM_Parse, text004, Format::kText004)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PlainPass, text004, Format::kText004)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Parse, openmetrics, Format::kOpenMetrics)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_PlainPass, openmetrics, Format::kOpenMetrics)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
