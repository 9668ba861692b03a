#include "exposition/series_store.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Counts heap allocations made by the current thread while `g_count_allocs` is set, to check
// that looking up an existing series does not allocate. Not under ASan, which owns operator new.
#if !defined(__SANITIZE_ADDRESS__)
#define SW_COUNT_ALLOCS 1
namespace {
thread_local bool g_count_allocs = false;
thread_local int g_allocs = 0;
}  // namespace
void* operator new(size_t n) {
  if (g_count_allocs) ++g_allocs;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// GCC flags free() on memory from `new` once these are inlined; here that pairing is the point.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif

namespace stakewatch::exposition {
namespace {

using ::testing::HasSubstr;

std::string Render(const SeriesStore& store, Format f) {
  std::string out;
  store.Render(f, &out);
  return out;
}

// A small store with one family of each scalar type, escapes in help and label values, and an
// empty family that must not appear.
void FillScalarStore(SeriesStore& store) {
  Family* requests = store
                         .AddFamily({.name = "sw_requests_total",
                                     .help = "Requests \"served\".\nSecond line \\ backslash",
                                     .type = MetricType::kCounter,
                                     .label_names = {"code"}})
                         .value();
  requests->Add(requests->GetOrCreate({"200"}), 3);
  requests->Add(requests->GetOrCreate({"50\"0"}), 1.5);
  ASSERT_TRUE(store.AddFamily({.name = "sw_empty", .help = "Never set."}).ok());
  Family* temp = store.AddFamily({.name = "sw_temp_celsius", .help = "Temp."}).value();
  temp->Set(temp->GetOrCreate({}), -2.5);
  Family* thing =
      store.AddFamily({.name = "sw_thing", .type = MetricType::kUntyped, .label_names = {"a", "b"}})
          .value();
  thing->Set(thing->GetOrCreate({"x\ny", "back\\slash"}), 1e20);
}

TEST(SeriesStoreTest, GoldenText004) {
  SeriesStore store;
  FillScalarStore(store);
  EXPECT_EQ(Render(store, Format::kText004),
            "# HELP sw_requests_total Requests \"served\".\\nSecond line \\\\ backslash\n"
            "# TYPE sw_requests_total counter\n"
            "sw_requests_total{code=\"200\"} 3\n"
            "sw_requests_total{code=\"50\\\"0\"} 1.5\n"
            "# HELP sw_temp_celsius Temp.\n"
            "# TYPE sw_temp_celsius gauge\n"
            "sw_temp_celsius -2.5\n"
            "# TYPE sw_thing untyped\n"
            "sw_thing{a=\"x\\ny\",b=\"back\\\\slash\"} 1e+20\n");
}

TEST(SeriesStoreTest, GoldenOpenMetrics) {
  SeriesStore store;
  FillScalarStore(store);
  EXPECT_EQ(Render(store, Format::kOpenMetrics100),
            "# HELP sw_requests Requests \\\"served\\\".\\nSecond line \\\\ backslash\n"
            "# TYPE sw_requests counter\n"
            "sw_requests_total{code=\"200\"} 3\n"
            "sw_requests_total{code=\"50\\\"0\"} 1.5\n"
            "# HELP sw_temp_celsius Temp.\n"
            "# TYPE sw_temp_celsius gauge\n"
            "sw_temp_celsius -2.5\n"
            "# TYPE sw_thing unknown\n"
            "sw_thing{a=\"x\\ny\",b=\"back\\\\slash\"} 1e+20\n"
            "# EOF\n");
}

TEST(SeriesStoreTest, EmptyStore) {
  SeriesStore store;
  EXPECT_EQ(Render(store, Format::kText004), "");
  EXPECT_EQ(Render(store, Format::kOpenMetrics100), "# EOF\n");
}

TEST(SeriesStoreTest, RenderAppends) {
  SeriesStore store;
  Family* g = store.AddFamily({.name = "g", .help = "h"}).value();
  g->Set(g->GetOrCreate({}), 1);
  std::string out = "prefix\n";
  store.Render(Format::kText004, &out);
  EXPECT_EQ(out, "prefix\n# HELP g h\n# TYPE g gauge\ng 1\n");
}

// Histogram: observations 0.25, 1 (on a bound: le is inclusive), 2, 3.5 and 2e6 (above every
// bound). Cumulative counts by hand: 0.005:0, 0.5:1, 1:2, 2.5:3, 1e6:4, +Inf:5; sum 2000006.75.
void FillHistogramStore(SeriesStore& store) {
  Family* h = store
                  .AddFamily({.name = "sw_latency_seconds",
                              .help = "Latency.",
                              .type = MetricType::kHistogram,
                              .label_names = {"node"},
                              .buckets = {0.005, 0.5, 1, 2.5, 1e6}})
                  .value();
  SeriesId a = h->GetOrCreate({"a"});
  for (double v : {0.25, 1.0, 2.0, 3.5, 2e6}) h->Observe(a, v);
  h->GetOrCreate({"b"});  // no observations
  Family* plain = store
                      .AddFamily({.name = "sw_size_bytes",
                                  .help = "Size.",
                                  .type = MetricType::kHistogram,
                                  .buckets = {1}})
                      .value();
  plain->Observe(plain->GetOrCreate({}), 0.5);
}

TEST(SeriesStoreTest, HistogramText004) {
  SeriesStore store;
  FillHistogramStore(store);
  EXPECT_EQ(Render(store, Format::kText004),
            "# HELP sw_latency_seconds Latency.\n"
            "# TYPE sw_latency_seconds histogram\n"
            "sw_latency_seconds_bucket{node=\"a\",le=\"0.005\"} 0\n"
            "sw_latency_seconds_bucket{node=\"a\",le=\"0.5\"} 1\n"
            "sw_latency_seconds_bucket{node=\"a\",le=\"1\"} 2\n"
            "sw_latency_seconds_bucket{node=\"a\",le=\"2.5\"} 3\n"
            "sw_latency_seconds_bucket{node=\"a\",le=\"1e+06\"} 4\n"
            "sw_latency_seconds_bucket{node=\"a\",le=\"+Inf\"} 5\n"
            "sw_latency_seconds_sum{node=\"a\"} 2000006.75\n"
            "sw_latency_seconds_count{node=\"a\"} 5\n"
            "sw_latency_seconds_bucket{node=\"b\",le=\"0.005\"} 0\n"
            "sw_latency_seconds_bucket{node=\"b\",le=\"0.5\"} 0\n"
            "sw_latency_seconds_bucket{node=\"b\",le=\"1\"} 0\n"
            "sw_latency_seconds_bucket{node=\"b\",le=\"2.5\"} 0\n"
            "sw_latency_seconds_bucket{node=\"b\",le=\"1e+06\"} 0\n"
            "sw_latency_seconds_bucket{node=\"b\",le=\"+Inf\"} 0\n"
            "sw_latency_seconds_sum{node=\"b\"} 0\n"
            "sw_latency_seconds_count{node=\"b\"} 0\n"
            "# HELP sw_size_bytes Size.\n"
            "# TYPE sw_size_bytes histogram\n"
            "sw_size_bytes_bucket{le=\"1\"} 1\n"
            "sw_size_bytes_bucket{le=\"+Inf\"} 1\n"
            "sw_size_bytes_sum 0.5\n"
            "sw_size_bytes_count 1\n");
}

TEST(SeriesStoreTest, HistogramOpenMetricsUsesCanonicalLe) {
  SeriesStore store;
  FillHistogramStore(store);
  const std::string om = Render(store, Format::kOpenMetrics100);
  EXPECT_THAT(om, HasSubstr("# TYPE sw_latency_seconds histogram\n"
                            "sw_latency_seconds_bucket{node=\"a\",le=\"0.005\"} 0\n"
                            "sw_latency_seconds_bucket{node=\"a\",le=\"0.5\"} 1\n"
                            "sw_latency_seconds_bucket{node=\"a\",le=\"1.0\"} 2\n"
                            "sw_latency_seconds_bucket{node=\"a\",le=\"2.5\"} 3\n"
                            "sw_latency_seconds_bucket{node=\"a\",le=\"1e+06\"} 4\n"
                            "sw_latency_seconds_bucket{node=\"a\",le=\"+Inf\"} 5\n"
                            "sw_latency_seconds_sum{node=\"a\"} 2000006.75\n"
                            "sw_latency_seconds_count{node=\"a\"} 5\n"));
  EXPECT_THAT(om, HasSubstr("sw_size_bytes_bucket{le=\"1.0\"} 1\n"));
  EXPECT_THAT(om, ::testing::EndsWith("sw_size_bytes_count 1\n# EOF\n"));
}

TEST(SeriesStoreTest, HistogramValueIsCountAndNaNGoesToInf) {
  SeriesStore store;
  Family* h =
      store.AddFamily({.name = "h", .type = MetricType::kHistogram, .buckets = {1, 2}}).value();
  SeriesId s = h->GetOrCreate({});
  h->Observe(s, 1.5);
  h->Observe(s, std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h->Value(s), 2);
  h->Set(s, 7);  // no-op on a histogram
  h->Add(s, 7);
  EXPECT_EQ(Render(store, Format::kText004),
            "# TYPE h histogram\n"
            "h_bucket{le=\"1\"} 0\n"
            "h_bucket{le=\"2\"} 1\n"
            "h_bucket{le=\"+Inf\"} 2\n"
            "h_sum NaN\n"
            "h_count 2\n");
}

TEST(SeriesStoreTest, ValueFormatting) {
  struct Case {
    double v;
    const char* want;
  };
  const Case cases[] = {
      {0, "0"},
      {42, "42"},
      {-7, "-7"},
      {1e15, "1000000000000000"},
      {9007199254740991.0, "9007199254740991"},  // 2^53 - 1: still the integer path
      {9007199254740992.0, "9007199254740992"},  // 2^53: shortest round-trip is the same digits
      {1e20, "1e+20"},
      {0.1, "0.1"},
      {-2.5, "-2.5"},
      {1.5e-7, "1.5e-07"},
      {123456789.125, "123456789.125"},
      {1.0 / 3.0, "0.3333333333333333"},
      {1e300, "1e+300"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
  };
  for (const Case& c : cases) {
    SeriesStore store;
    Family* g = store.AddFamily({.name = "g"}).value();
    g->Set(g->GetOrCreate({}), c.v);
    EXPECT_EQ(Render(store, Format::kText004), std::string("# TYPE g gauge\ng ") + c.want + "\n")
        << c.want;
  }
}

TEST(SeriesStoreTest, LeFormattingMatchesGo) {
  // Go: strconv.FormatFloat(b, 'g', -1, 64); OpenMetrics adds ".0" to integral values.
  SeriesStore store;
  Family* h = store
                  .AddFamily({.name = "h",
                              .type = MetricType::kHistogram,
                              .buckets = {-1, 0, 0.00001, 0.0001, 100000, 1e6, 2.5e7}})
                  .value();
  h->GetOrCreate({});
  const std::string text = Render(store, Format::kText004);
  const std::string om = Render(store, Format::kOpenMetrics100);
  for (const char* le : {"-1", "0", "0.0001", "1e-05", "100000", "1e+06", "2.5e+07"}) {
    EXPECT_THAT(text, HasSubstr(std::string("le=\"") + le + "\"}")) << le;
  }
  for (const char* le : {"-1.0", "0.0", "0.0001", "1e-05", "100000.0", "1e+06", "2.5e+07"}) {
    EXPECT_THAT(om, HasSubstr(std::string("le=\"") + le + "\"}")) << le;
  }
}

TEST(SeriesStoreTest, GetOrCreateInternsLabelSets) {
  SeriesStore store;
  Family* f = store.AddFamily({.name = "f", .label_names = {"a", "b"}}).value();
  SeriesId x = f->GetOrCreate({"1", "2"});
  SeriesId y = f->GetOrCreate({"2", "1"});
  EXPECT_EQ(x.index, 0u);
  EXPECT_EQ(y.index, 1u);
  EXPECT_EQ(f->GetOrCreate({"1", "2"}).index, 0u);
  // Values that would collide if label text were not escaped.
  SeriesId p = f->GetOrCreate({"1\",b=\"2", ""});
  SeriesId q = f->GetOrCreate({"1", "2\",b=\""});
  EXPECT_NE(p.index, q.index);
  EXPECT_NE(p.index, x.index);
  EXPECT_EQ(f->size(), 4u);
  f->Set(x, 5);
  f->Add(x, 0.5);
  EXPECT_EQ(f->Value(x), 5.5);
  EXPECT_EQ(f->Value(y), 0);
}

TEST(SeriesStoreTest, BadIdsAndArityAreHarmless) {
  SeriesStore store;
  Family* f = store.AddFamily({.name = "f", .label_names = {"a"}}).value();
  SeriesId bad = f->GetOrCreate({"1", "2"});
  EXPECT_FALSE(bad.valid());
  EXPECT_FALSE(f->GetOrCreate({}).valid());
  f->Set(bad, 1);
  f->Add(SeriesId{7}, 1);
  f->Observe(SeriesId{0}, 1);
  EXPECT_TRUE(std::isnan(f->Value(bad)));
  EXPECT_EQ(f->size(), 0u);
  EXPECT_EQ(Render(store, Format::kText004), "");
}

TEST(SeriesStoreTest, ClearDropsSeries) {
  SeriesStore store;
  Family* f = store.AddFamily({.name = "f", .label_names = {"a"}}).value();
  f->Set(f->GetOrCreate({"x"}), 1);
  f->Clear();
  EXPECT_EQ(f->size(), 0u);
  EXPECT_EQ(Render(store, Format::kText004), "");
  SeriesId y = f->GetOrCreate({"y"});
  EXPECT_EQ(y.index, 0u);
  f->Set(y, 2);
  EXPECT_EQ(Render(store, Format::kText004), "# TYPE f gauge\nf{a=\"y\"} 2\n");
}

TEST(SeriesStoreTest, WriterBulkUpdates) {
  SeriesStore store;
  Family* f = store.AddFamily({.name = "f", .label_names = {"v"}}).value();
  {
    Family::Writer w(f);
    for (int i = 0; i < 3; ++i) {
      const std::string v = std::to_string(i);
      w.Set(w.GetOrCreate({v}), i * 10);
    }
    w.Add(SeriesId{1}, 1);
  }
  EXPECT_EQ(Render(store, Format::kText004),
            "# TYPE f gauge\nf{v=\"0\"} 0\nf{v=\"1\"} 11\nf{v=\"2\"} 20\n");
}

TEST(SeriesStoreTest, FindFamilyAndNames) {
  SeriesStore store;
  Family* a = store.AddFamily({.name = "a"}).value();
  Family* b = store.AddFamily({.name = "b_total", .type = MetricType::kCounter}).value();
  EXPECT_EQ(store.FindFamily("a"), a);
  EXPECT_EQ(store.FindFamily("b_total"), b);
  EXPECT_EQ(store.FindFamily("b"), nullptr);
  EXPECT_THAT(store.FamilyNames(), ::testing::ElementsAre("a", "b_total"));
}

TEST(SeriesStoreTest, InvalidFamiliesRejected) {
  struct Case {
    FamilyDesc desc;
    const char* why;
  };
  const Case cases[] = {
      {{.name = ""}, "empty name"},
      {{.name = "1abc"}, "digit first"},
      {{.name = "a-b"}, "dash"},
      {{.name = "a b"}, "space"},
      {{.name = "ok", .label_names = {"__reserved"}}, "__ label"},
      {{.name = "ok", .label_names = {"1x"}}, "digit-first label"},
      {{.name = "ok", .label_names = {"a:b"}}, "colon in label"},
      {{.name = "ok", .label_names = {""}}, "empty label"},
      {{.name = "ok", .label_names = {"a", "a"}}, "duplicate label"},
      {{.name = "requests", .type = MetricType::kCounter}, "counter without _total"},
      {{.name = "_total", .type = MetricType::kCounter}, "counter named only _total"},
      {{.name = "h", .type = MetricType::kHistogram, .label_names = {"le"}}, "le label"},
      {{.name = "h", .type = MetricType::kHistogram, .buckets = {1, 1}}, "equal buckets"},
      {{.name = "h", .type = MetricType::kHistogram, .buckets = {2, 1}}, "descending"},
      {{.name = "h",
        .type = MetricType::kHistogram,
        .buckets = {1, std::numeric_limits<double>::infinity()}},
       "+Inf bucket"},
      {{.name = "h",
        .type = MetricType::kHistogram,
        .buckets = {std::numeric_limits<double>::quiet_NaN()}},
       "NaN bucket"},
      {{.name = "g", .buckets = {1}}, "buckets on a gauge"},
  };
  for (const Case& c : cases) {
    SeriesStore store;
    absl::StatusOr<Family*> f = store.AddFamily(c.desc);
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << c.why;
  }
  // Valid edge cases.
  SeriesStore store;
  EXPECT_TRUE(store.AddFamily({.name = "a:b_c9", .label_names = {"_x", "Y9"}}).ok());
  EXPECT_TRUE(store.AddFamily({.name = ":x"}).ok());
  EXPECT_TRUE(store.AddFamily({.name = "x_total", .type = MetricType::kCounter}).ok());
}

TEST(SeriesStoreTest, ErrorMessagesNameTheProblem) {
  SeriesStore store;
  absl::Status s = store.AddFamily({.name = "a-b"}).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("invalid metric name \"a-b\""));
  s = store.AddFamily({.name = "ok", .label_names = {"__x"}}).status();
  EXPECT_THAT(std::string(s.message()), HasSubstr("reserved"));
}

TEST(SeriesStoreTest, DuplicateAndCollidingFamiliesRejected) {
  SeriesStore store;
  ASSERT_TRUE(store.AddFamily({.name = "x", .type = MetricType::kHistogram}).ok());
  ASSERT_TRUE(store.AddFamily({.name = "y_total", .type = MetricType::kCounter}).ok());
  EXPECT_EQ(store.AddFamily({.name = "x"}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store.AddFamily({.name = "x_count"}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store.AddFamily({.name = "y"}).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store.FamilyNames().size(), 2u);
}

#ifdef SW_COUNT_ALLOCS
TEST(SeriesStoreTest, LookupOfExistingSeriesDoesNotAllocate) {
  SeriesStore store;
  Family* f = store.AddFamily({.name = "f", .label_names = {"group", "validator"}}).value();
  for (int i = 0; i < 1000; ++i) f->GetOrCreate({"g", std::to_string(i)});
  const std::string v = "517";
  g_allocs = 0;
  g_count_allocs = true;
  SeriesId id = f->GetOrCreate({"g", v});
  {
    Family::Writer w(f);
    w.GetOrCreate({"g", v});
  }
  g_count_allocs = false;
  EXPECT_EQ(id.index, 517u);
  EXPECT_EQ(g_allocs, 0);
}
#endif

TEST(SeriesStoreTest, ConcurrentRenderWhileUpdating) {
  SeriesStore store;
  Family* g = store.AddFamily({.name = "g", .help = "h", .label_names = {"v"}}).value();
  Family* h = store
                  .AddFamily({.name = "h",
                              .type = MetricType::kHistogram,
                              .label_names = {"v"},
                              .buckets = {1, 10}})
                  .value();
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i) {
      const std::string v = std::to_string(i % 5000);
      g->Set(g->GetOrCreate({v}), i);
      h->Observe(h->GetOrCreate({v}), i % 20);
      if (i % 7000 == 6999) g->Clear();
    }
    done = true;
  });
  std::thread adder([&] {
    while (!done) {
      Family::Writer w(g);
      w.Add(w.GetOrCreate({"7"}), 1);
    }
  });
  int renders = 0;
  while (!done || renders < 3) {
    std::string out;
    store.Render(renders % 2 ? Format::kOpenMetrics100 : Format::kText004, &out);
    // Every line is complete: the body ends with a newline and has no empty lines.
    if (!out.empty()) {
      EXPECT_EQ(out.back(), '\n');
    }
    EXPECT_EQ(out.find("\n\n"), std::string::npos);
    ++renders;
  }
  writer.join();
  adder.join();
  EXPECT_EQ(h->size(), 5000u);
  // Each of the 5000 series got 4 observations (i = v, v+5000, v+10000, v+15000).
  EXPECT_EQ(h->Value(h->GetOrCreate({"42"})), 4);
}

// Renders a realistic store and asks promtool (Prometheus 2.42's linter) to check it.
TEST(SeriesStoreTest, PromtoolAcceptsText) {
  if (access("/usr/bin/promtool", X_OK) != 0) {
    GTEST_SKIP() << "/usr/bin/promtool not installed; skipping the promtool lint check";
  }
  SeriesStore store;
  Family* att = store
                    .AddFamily({.name = "eth_validator_attestations_included_total",
                                .help = "Attestations included on chain, by group \"x\"\\y.",
                                .type = MetricType::kCounter,
                                .label_names = {"group", "node"}})
                    .value();
  att->Add(att->GetOrCreate({"lido", "a"}), 12);
  att->Add(att->GetOrCreate({"quote\"back\\slash\nnewline", "b"}), 3.5);
  Family* bal = store
                    .AddFamily({.name = "eth_validator_balance_gwei",
                                .help = "Balance in Gwei.\nSecond line.",
                                .label_names = {"validator"}})
                    .value();
  for (int i = 0; i < 50; ++i) bal->Set(bal->GetOrCreate({std::to_string(i)}), 32e9 + i * 0.5);
  bal->Set(bal->GetOrCreate({"nan"}), std::numeric_limits<double>::quiet_NaN());
  bal->Set(bal->GetOrCreate({"inf"}), -std::numeric_limits<double>::infinity());
  Family* lat =
      store
          .AddFamily({.name = "stakewatch_beacon_request_duration_seconds",
                      .help = "Beacon API request latency.",
                      .type = MetricType::kHistogram,
                      .label_names = {"endpoint"},
                      .buckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}})
          .value();
  SeriesId ep = lat->GetOrCreate({"/eth/v1/node/health"});
  for (double v : {0.003, 0.2, 0.7, 12.0}) lat->Observe(ep, v);
  Family* up =
      store.AddFamily({.name = "stakewatch_up", .help = "1 if the beacon node answers."}).value();
  up->Set(up->GetOrCreate({}), 1);

  const std::string path = ::testing::TempDir() + "/promtool_" + std::to_string(getpid()) + ".prom";
  {
    std::ofstream f(path, std::ios::binary);
    std::string body;
    store.Render(Format::kText004, &body);
    f << body;
  }
  const std::string cmd = "/usr/bin/promtool check metrics < '" + path + "' 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[512];
  while (size_t n = fread(buf, 1, sizeof(buf), pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  std::remove(path.c_str());
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "");
}

}  // namespace
}  // namespace stakewatch::exposition
