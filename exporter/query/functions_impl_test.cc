// Unit tests for the PromQL function implementations. Expected values come from Prometheus
// v2.42.0's test data (shared/specs/promql-testdata/{functions,histograms,trig_functions}.test,
// cited by the eval line they port) or are worked out by hand in the comments. Inputs are built
// the way the 2.42 engine would pass them: the range window is closed on both ends,
// [t - offset - range, t - offset].
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "promql/functions.h"
#include "promql/parser.h"
#include "query/function_impl.h"
#include "query/value.h"

namespace stakewatch::query {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kSec = 1000;
constexpr int64_t kMin = 60 * kSec;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

// Prometheus's test comparison: relative tolerance 1e-6, NaN equals NaN.
::testing::AssertionResult AlmostEqual(double want, double got) {
  if (std::isnan(want) && std::isnan(got)) return ::testing::AssertionSuccess();
  if (want == got) return ::testing::AssertionSuccess();
  if (std::isfinite(want) && std::isfinite(got) &&
      std::fabs(want - got) <= 1e-6 * std::fabs(want)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "want " << want << ", got " << got;
}

// A series in the test language's expanding notation "start+step x n" loaded at `interval`.
std::vector<Point> Load(int64_t interval_ms, const std::vector<double>& values) {
  std::vector<Point> pts;
  for (size_t i = 0; i < values.size(); ++i) {
    pts.push_back(Point{static_cast<int64_t>(i) * interval_ms, values[i]});
  }
  return pts;
}

std::vector<double> Seq(double start, double step, int n) {  // "start+stepxn": n+1 values
  std::vector<double> v;
  for (int i = 0; i <= n; ++i) v.push_back(start + step * i);
  return v;
}

std::vector<double> Concat(std::vector<double> a, const std::vector<double>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The points of `all` inside the 2.42 window for evaluation at `ts`.
Series Window(const std::vector<Point>& all, int64_t ts, int64_t range, int64_t offset = 0) {
  Series s;
  for (const Point& p : all) {
    if (p.t_ms >= ts - offset - range && p.t_ms <= ts - offset) s.points.push_back(p);
  }
  return s;
}

Vector Scalar(double v) { return Vector{VSample{Labels(), 0, v}}; }

// Calls a range-vector function on one series. `scalars` holds the other (scalar) arguments by
// position; the matrix position is nullptr.
absl::StatusOr<std::vector<double>> CallRange(std::string_view name, const Series& series,
                                              int64_t ts, int64_t range, int64_t offset = 0,
                                              std::vector<const Vector*> args = {nullptr}) {
  FunctionImpl f = LookupFunctionImpl(name);
  if (f == nullptr) return absl::NotFoundError(std::string(name));
  FunctionContext ctx;
  ctx.ts_ms = ts;
  ctx.args = std::move(args);
  ctx.matrix = &series;
  ctx.range_ms = range;
  ctx.offset_ms = offset;
  Vector out;
  absl::Status st = f(ctx, &out);
  if (!st.ok()) return st;
  std::vector<double> vals;
  for (const VSample& s : out) {
    EXPECT_EQ(s.t_ms, ts);
    vals.push_back(s.v);
  }
  return vals;
}

// Evaluates a range function on the series `all` at `ts` and expects exactly one value.
void ExpectRange(std::string_view name, const std::vector<Point>& all, int64_t ts, int64_t range,
                 double want, int64_t offset = 0, std::vector<const Vector*> args = {nullptr}) {
  SCOPED_TRACE(std::string(name));
  auto got = CallRange(name, Window(all, ts, range, offset), ts, range, offset, std::move(args));
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_TRUE(AlmostEqual(want, (*got)[0]));
}

// Calls an instant-vector function. The call's AST comes from parsing `expr` (so string and
// selector arguments are there as Prometheus sees them); `args` are the evaluated arguments.
struct InstantCall {
  promql::ExprPtr expr;
  std::unique_ptr<FunctionCache> cache;

  absl::StatusOr<Vector> Run(std::vector<const Vector*> args, int64_t ts = 0) {
    const auto* call = std::get_if<promql::Call>(&expr->node);
    if (call == nullptr) return absl::InvalidArgumentError("not a call");
    FunctionImpl f = LookupFunctionImpl(call->func->name);
    if (f == nullptr) return absl::NotFoundError(std::string(call->func->name));
    FunctionContext ctx;
    ctx.ts_ms = ts;
    ctx.call = call;
    ctx.args = std::move(args);
    ctx.cache = &cache;
    Vector out;
    absl::Status st = f(ctx, &out);
    if (!st.ok()) return st;
    return out;
  }
};

InstantCall Parse(std::string_view text) {
  auto e = promql::ParseExpr(text);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status();
  return InstantCall{e.ok() ? std::move(*e) : nullptr, nullptr};
}

// Expects `got` to hold exactly `want` (labels and values), in any order unless `ordered`.
void ExpectVector(const Vector& got, const std::vector<std::pair<Labels, double>>& want,
                  bool ordered = false) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    bool found = false;
    for (size_t j = 0; j < got.size(); ++j) {
      if (ordered && j != i) continue;
      if (got[j].metric == want[i].first) {
        found = true;
        EXPECT_TRUE(AlmostEqual(want[i].second, got[j].v)) << want[i].first.ToString();
      }
    }
    EXPECT_TRUE(found) << "missing " << want[i].first.ToString() << (ordered ? " at position " : "")
                       << (ordered ? std::to_string(i) : "");
  }
}

// ---------------------------------------------------------------------------------------------

TEST(FunctionTableTest, EveryParserFunctionHasAnImplementation) {
  for (const promql::Function& f : promql::AllFunctions()) {
    EXPECT_NE(LookupFunctionImpl(f.name), nullptr) << f.name;
  }
  EXPECT_EQ(LookupFunctionImpl("xrate"), nullptr);
  EXPECT_EQ(LookupFunctionImpl(""), nullptr);
}

TEST(ValueTest, DropMetricName) {
  EXPECT_EQ(DropMetricName(Labels{{"__name__", "up"}, {"job", "a"}}), (Labels{{"job", "a"}}));
  EXPECT_EQ(DropMetricName(Labels{{"job", "a"}}), (Labels{{"job", "a"}}));
  EXPECT_EQ(DropMetricName(Labels()), Labels());
}

// functions.test: resets() and changes().
TEST(RangeFunctionsTest, ResetsAndChanges) {
  const auto foo = Load(5 * kMin, {1, 2, 3, 0, 1, 0, 0, 1, 2, 0});
  const auto bar = Load(5 * kMin, {1, 2, 3, 4, 5, 1, 2, 3, 4, 5});
  const auto biz = Load(5 * kMin, {0, 0, 0, 0, 0, 1, 1, 1, 1, 1});
  const int64_t t = 50 * kMin;
  struct Case {
    int64_t range;
    double foo_resets, bar_resets, biz_resets, foo_changes, bar_changes, biz_changes;
  };
  for (const Case& c : {Case{5 * kMin, 0, 0, 0, 0, 0, 0}, Case{20 * kMin, 1, 0, 0, 3, 3, 0},
                        Case{30 * kMin, 2, 1, 0, 4, 5, 1}, Case{50 * kMin, 3, 1, 0, 8, 9, 1}}) {
    SCOPED_TRACE(c.range);
    ExpectRange("resets", foo, t, c.range, c.foo_resets);
    ExpectRange("resets", bar, t, c.range, c.bar_resets);
    ExpectRange("resets", biz, t, c.range, c.biz_resets);
    ExpectRange("changes", foo, t, c.range, c.foo_changes);
    ExpectRange("changes", bar, t, c.range, c.bar_changes);
    ExpectRange("changes", biz, t, c.range, c.biz_changes);
  }
  // x{a="b"} NaN NaN NaN -> 0; x{a="c"} 0 NaN 0 -> 2 (changes at 15m over [15m]).
  ExpectRange("changes", Load(5 * kMin, {kNaN, kNaN, kNaN}), 15 * kMin, 15 * kMin, 0);
  ExpectRange("changes", Load(5 * kMin, {0, kNaN, 0}), 15 * kMin, 15 * kMin, 2);
}

TEST(RangeFunctionsTest, EmptyWindowGivesNothing) {
  for (std::string_view f : {"rate", "increase", "delta", "irate", "idelta", "deriv", "resets",
                             "changes", "sum_over_time", "avg_over_time", "max_over_time",
                             "last_over_time", "stddev_over_time", "present_over_time"}) {
    auto got = CallRange(f, Series{}, 0, kMin);
    ASSERT_TRUE(got.ok()) << f;
    EXPECT_TRUE(got->empty()) << f;
  }
  // One point is not enough for rates, derivatives and holt_winters.
  Series one{Labels(), {Point{0, 5}}};
  for (std::string_view f : {"rate", "increase", "delta", "irate", "idelta", "deriv"}) {
    auto got = CallRange(f, one, 0, kMin);
    ASSERT_TRUE(got.ok()) << f;
    EXPECT_TRUE(got->empty()) << f;
  }
}

// functions.test: increase() and rate().
TEST(RangeFunctionsTest, IncreaseAndRate) {
  const auto foo = Load(5 * kMin, Seq(0, 10, 10));
  const auto bar = Load(5 * kMin, Concat(Seq(0, 10, 5), Seq(0, 10, 5)));
  ExpectRange("increase", foo, 50 * kMin, 50 * kMin, 100);
  ExpectRange("increase", bar, 50 * kMin, 50 * kMin, 90);
  ExpectRange("increase", foo, 50 * kMin, 100 * kMin, 100);
  ExpectRange("increase", bar, 50 * kMin, 100 * kMin, 90);
  // 0 1 2 3 2 3 4: the drop 3 -> 2 counts as a reset.
  ExpectRange("increase", Load(5 * kMin, {0, 1, 2, 3, 2, 3, 4}), 30 * kMin, 30 * kMin, 7);

  ExpectRange("rate", Load(5 * kMin, Concat(Seq(0, 10, 4), Seq(0, 10, 5))), 50 * kMin, 50 * kMin,
              0.03);
  ExpectRange("rate", Load(5 * kMin, Concat(Seq(0, 10, 9), {0, 10})), 50 * kMin, 5 * kMin, 0);
  ExpectRange("rate", Load(5 * kMin, Seq(0, 80, 10)), 50 * kMin, 50 * kMin, 0.26666666666666666);
  // rate(calculate_rate_offset[10m] offset 5m)
  ExpectRange("rate", Load(5 * kMin, Seq(0, 10, 10)), 50 * kMin, 10 * kMin, 0.03333333333333333,
              5 * kMin);
  ExpectRange("rate", Load(5 * kMin, Seq(0, 20, 10)), 50 * kMin, 10 * kMin, 0.06666666666666667,
              5 * kMin);
}

// functions.test: zero cutoff for left-side extrapolation (load 4m, rate(...[20m])).
TEST(RangeFunctionsTest, RateZeroCutoff) {
  const double starts[] = {0, 60, 120, 180, 240, 300};
  const double at10m[] = {0.5, 0.55, 0.6, 0.65, 0.7, 0.6};
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    const auto pts = Load(4 * kMin, Seq(starts[i], 240, 10));
    ExpectRange("rate", pts, 10 * kMin, 20 * kMin, at10m[i]);
    ExpectRange("rate", pts, 50 * kMin, 20 * kMin, 0.6);
  }
}

// Extrapolation worked by hand: points at 10s, 20s, 30s with values 5, 6, 7; window [0s, 40s].
// avg interval 10s, threshold 11s; to start 10s (< 11, but the zero point is 50s away: no clamp),
// to end 10s: increase = 2 * (20 + 10 + 10) / 20 = 4; rate = 4 / 40 = 0.1. delta is the same 4.
// With the series ending at 25s of a [0s, 60s] window (to end 35s >= 11s): +5s only.
TEST(RangeFunctionsTest, ExtrapolationByHand) {
  const std::vector<Point> pts = {{10 * kSec, 5}, {20 * kSec, 6}, {30 * kSec, 7}};
  ExpectRange("increase", pts, 40 * kSec, 40 * kSec, 4);
  ExpectRange("rate", pts, 40 * kSec, 40 * kSec, 0.1);
  ExpectRange("delta", pts, 40 * kSec, 40 * kSec, 4);
  // Window [0, 60s]: start 10s extrapolated fully, end 30s > threshold -> 5s: 2*(20+10+5)/20.
  ExpectRange("increase", pts, 60 * kSec, 60 * kSec, 3.5);
  // 0.5, 1.5, 2.5: the counter's zero point is 20 * 0.5/2 = 5s before the first sample, closer
  // than the 10s to the window start, so only 5s are added: 2*(20+5+10)/20 = 3.5.
  const std::vector<Point> low = {{10 * kSec, 0.5}, {20 * kSec, 1.5}, {30 * kSec, 2.5}};
  ExpectRange("increase", low, 40 * kSec, 40 * kSec, 3.5);
  // delta does not clamp at zero: 2*(20+10+10)/20 = 4.
  ExpectRange("delta", low, 40 * kSec, 40 * kSec, 4);
}

// functions.test: irate(), delta(), idelta().
TEST(RangeFunctionsTest, InstantRatesAndDeltas) {
  const auto foo = Load(5 * kMin, Seq(0, 10, 10));
  const auto bar = Load(5 * kMin, Concat(Seq(0, 10, 5), Seq(0, 10, 5)));
  ExpectRange("irate", foo, 50 * kMin, 50 * kMin, 0.03333333333333333);
  ExpectRange("irate", bar, 50 * kMin, 50 * kMin, 0.03333333333333333);
  ExpectRange("irate", foo, 30 * kMin, 50 * kMin, 0.03333333333333333);
  ExpectRange("irate", bar, 30 * kMin, 50 * kMin, 0);

  ExpectRange("delta", Load(5 * kMin, {0, 50, 100, 150, 200}), 20 * kMin, 20 * kMin, 200);
  ExpectRange("delta", Load(5 * kMin, {200, 150, 100, 50, 0}), 20 * kMin, 20 * kMin, -200);
  ExpectRange("idelta", Load(5 * kMin, {0, 50, 100, 150}), 20 * kMin, 20 * kMin, 50);
  ExpectRange("idelta", Load(5 * kMin, {0, 50, 100, 50}), 20 * kMin, 20 * kMin, -50);
}

// functions.test: deriv() and predict_linear().
TEST(RangeFunctionsTest, DerivAndPredictLinear) {
  const auto reset_middle = Load(5 * kMin, Concat(Seq(0, 10, 4), Seq(0, 10, 5)));
  const auto canary = Load(5 * kMin, Seq(0, 80, 10));
  ExpectRange("deriv", canary, 50 * kMin, 50 * kMin, 0.26666666666666666);
  ExpectRange("deriv", reset_middle, 50 * kMin, 100 * kMin, 0.010606060606060607);

  const Vector d3600 = Scalar(3600);
  ExpectRange("predict_linear", reset_middle, 50 * kMin, 100 * kMin, 76.81818181818181, 0,
              {nullptr, &d3600});
  // `@ 3000` becomes an offset of (eval time - 3000s); the intercept stays at the eval time.
  ExpectRange("predict_linear", reset_middle, 10 * kMin, 100 * kMin, 51.36363636363637,
              10 * kMin - 3000 * kSec, {nullptr, &d3600});
  ExpectRange("predict_linear", reset_middle, 70 * kMin, 100 * kMin, 89.54545454545455,
              70 * kMin - 3000 * kSec, {nullptr, &d3600});
  // predict_linear(http_requests[50m], 3600) == 800 + deriv * 3600 (the last sample is on the
  // line).
  ExpectRange("predict_linear", canary, 50 * kMin, 50 * kMin, 800 + 0.26666666666666666 * 3600, 0,
              {nullptr, &d3600});
  // A constant series has slope exactly 0.
  auto flat =
      CallRange("deriv", Series{Labels(), Load(10 * kSec, {0.1, 0.1, 0.1, 0.1})}, 30 * kSec, kMin);
  ASSERT_TRUE(flat.ok());
  ASSERT_EQ(flat->size(), 1u);
  EXPECT_EQ((*flat)[0], 0.0);
}

// functions.test: holt_winters, positive and negative trends (load 10s, [1m] at 8000s).
TEST(RangeFunctionsTest, HoltWinters) {
  const Vector sf = Scalar(0.01), tf = Scalar(0.1);
  const std::vector<const Vector*> args = {nullptr, &sf, &tf};
  const int64_t t = 8000 * kSec;
  struct Case {
    std::vector<double> values;
    double want;
  };
  const Case cases[] = {
      {Concat(Seq(0, 10, 1000), Seq(100, 30, 1000)), 8000},
      {Concat(Seq(0, 20, 1000), Seq(200, 30, 1000)), 16000},
      {Concat(Seq(0, 30, 1000), Seq(300, 80, 1000)), 24000},
      {Seq(0, 40, 2000), 32000},
      {Seq(8000, -10, 1000), 0},
      {Seq(0, -20, 1000), -16000},
      {Concat(Seq(0, 30, 1000), Seq(300, -80, 1000)), 24000},
      {Concat(Seq(0, -40, 1000), Seq(0, 40, 1000)), -32000},
  };
  for (const Case& c : cases)
    ExpectRange("holt_winters", Load(10 * kSec, c.values), t, kMin, c.want, 0, args);

  // Worked by hand: 1, 3, 4 with sf = 0.5, tf = 0.5:
  //   s1 = 1, b = 2; i=1: b = 2, s1 = 0.5*3 + 0.5*(1+2) = 3;
  //   i=2: b = 0.5*(3-1) + 0.5*2 = 2, s1 = 0.5*4 + 0.5*(3+2) = 4.5.
  const Vector half = Scalar(0.5);
  ExpectRange("holt_winters", Load(10 * kSec, {1, 3, 4}), 20 * kSec, kMin, 4.5, 0,
              {nullptr, &half, &half});

  const Vector one = Scalar(1), zero = Scalar(0);
  auto bad_sf = CallRange("holt_winters", Series{Labels(), Load(kSec, {1, 2})}, kSec, kMin, 0,
                          {nullptr, &one, &tf});
  ASSERT_FALSE(bad_sf.ok());
  EXPECT_EQ(bad_sf.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_sf.status().message(),
            "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000");
  auto bad_tf = CallRange("holt_winters", Series{Labels(), Load(kSec, {1, 2})}, kSec, kMin, 0,
                          {nullptr, &sf, &zero});
  ASSERT_FALSE(bad_tf.ok());
  EXPECT_EQ(bad_tf.status().message(), "invalid trend factor. Expected: 0 < tf < 1, got: 0.000000");
  // The factors are checked even when there are too few points.
  auto empty = CallRange("holt_winters", Series{}, kSec, kMin, 0, {nullptr, &one, &tf});
  EXPECT_FALSE(empty.ok());
}

// functions.test: avg_over_time (and sum/count) with infinities and overflow (load 10s, at 1m).
TEST(RangeFunctionsTest, AvgOverTime) {
  const double big = 9.988465674311579e+307;
  struct Case {
    std::vector<double> values;
    double avg, sum_over_count;
  };
  const Case cases[] = {
      {{1, 2, 3, 4, 5}, 3, 3},
      {{1, 2, 3, 4, kInf}, kInf, kInf},
      {{1, 2, 3, 4, -kInf}, -kInf, -kInf},
      {{1, 2, 3, kInf, -kInf}, kNaN, kNaN},
      {{kInf, 0, kInf}, kInf, kInf},
      {{kInf, kInf, kInf, -kInf}, kNaN, kNaN},
      {{1, 2, 3, -kInf, -kInf}, -kInf, -kInf},
      {{-kInf, 0, -kInf}, -kInf, -kInf},
      {{-kInf, -kInf, -kInf, kInf}, kNaN, kNaN},
      {{1, 2, -kInf, -kInf, kInf}, kNaN, kNaN},
      {{big, big}, big, kInf},
      {{-big, -big, -big}, -big, -kInf},
      {{-big, big}, 0, 0},
  };
  for (const Case& c : cases) {
    const auto pts = Load(10 * kSec, c.values);
    const Series w = Window(pts, kMin, kMin);
    auto avg = CallRange("avg_over_time", w, kMin, kMin);
    auto sum = CallRange("sum_over_time", w, kMin, kMin);
    auto count = CallRange("count_over_time", w, kMin, kMin);
    ASSERT_TRUE(avg.ok() && sum.ok() && count.ok());
    EXPECT_EQ((*count)[0], static_cast<double>(c.values.size()));
    EXPECT_TRUE(AlmostEqual(c.avg, (*avg)[0])) << c.values.size();
    EXPECT_TRUE(AlmostEqual(c.sum_over_count, (*sum)[0] / (*count)[0])) << c.values.size();
  }
  // Kahan summation: 1e100 + 1 - 1e100 is exactly 1 with compensation (plain sums give 0).
  ExpectRange("sum_over_time", Load(kSec, {1e100, 1, -1e100}), 2 * kSec, kMin, 1);
}

// functions.test: stddev_over_time and stdvar_over_time.
TEST(RangeFunctionsTest, StddevStdvar) {
  // 0 8 8 2 3: mean 4.2, squared deviations 17.64+14.44+14.44+4.84+1.44 = 52.8, /5 = 10.56.
  const auto pts = Load(10 * kSec, {0, 8, 8, 2, 3});
  ExpectRange("stdvar_over_time", pts, kMin, kMin, 10.56);
  ExpectRange("stddev_over_time", pts, kMin, kMin, 3.249615);
  const auto same = Load(10 * kSec, {1.5990505637277868, 1.5990505637277868, 1.5990505637277868});
  ExpectRange("stdvar_over_time", same, kMin, kMin, 0);
  ExpectRange("stddev_over_time", same, kMin, kMin, 0);
}

// functions.test: quantile_over_time (load 10s, at 1m).
TEST(RangeFunctionsTest, QuantileOverTime) {
  const auto two = Load(10 * kSec, {0, 1});
  const auto three = Load(10 * kSec, {0, 1, 2});
  const auto uneven = Load(10 * kSec, {0, 1, 4});
  struct Case {
    double q, two, three, uneven;
  };
  for (const Case& c : {Case{0, 0, 0, 0}, Case{0.5, 0.5, 1, 1}, Case{0.75, 0.75, 1.5, 2.5},
                        Case{0.8, 0.8, 1.6, 2.8}, Case{1, 1, 2, 4}, Case{-1, -kInf, -kInf, -kInf},
                        Case{2, kInf, kInf, kInf}}) {
    SCOPED_TRACE(c.q);
    const Vector q = Scalar(c.q);
    ExpectRange("quantile_over_time", two, kMin, kMin, c.two, 0, {&q, nullptr});
    ExpectRange("quantile_over_time", three, kMin, kMin, c.three, 0, {&q, nullptr});
    ExpectRange("quantile_over_time", uneven, kMin, kMin, c.uneven, 0, {&q, nullptr});
  }
  // q = NaN gives NaN (promtool 2.42: quantile_over_time(NaN, m[1m]) is NaN).
  const Vector nan = Scalar(kNaN);
  ExpectRange("quantile_over_time", uneven, kMin, kMin, kNaN, 0, {&nan, nullptr});
  // Unsorted input: 4 0 1 sorts to 0 1 4; q=0.5 -> 1.
  const Vector half = Scalar(0.5);
  ExpectRange("quantile_over_time", Load(10 * kSec, {4, 0, 1}), kMin, kMin, 1, 0, {&half, nullptr});
}

// functions.test: min/max/last_over_time with NaN (load 10s, at 1m).
TEST(RangeFunctionsTest, MinMaxLastOverTimeWithNaN) {
  struct Case {
    std::vector<double> values;
    double min, max, last;
  };
  const Case cases[] = {
      {{2, 0, 3}, 0, 3, 3},
      {{2, 0, kNaN}, 0, 2, kNaN},
      {{2, kNaN, 1}, 1, 2, 1},
      {{kNaN, 0, 1}, 0, 1, 1},
      {{kNaN, kNaN, kNaN}, kNaN, kNaN, kNaN},
  };
  for (const Case& c : cases) {
    const auto pts = Load(10 * kSec, c.values);
    ExpectRange("min_over_time", pts, kMin, kMin, c.min);
    ExpectRange("max_over_time", pts, kMin, kMin, c.max);
    ExpectRange("last_over_time", pts, kMin, kMin, c.last);
  }
  ExpectRange("present_over_time", Load(10 * kSec, {kNaN}), kMin, kMin, 1);
  ExpectRange("absent_over_time", Load(10 * kSec, {5}), kMin, kMin, 1);
}

// ---------------------------------------------------------------------------------------------
// Instant-vector functions.

TEST(InstantFunctionsTest, LabelReplace) {
  const Vector in = {
      {Labels{{"__name__", "testmetric"},
              {"src", "source-value-10"},
              {"dst", "original-destination-value"}},
       0, 0},
      {Labels{{"__name__", "testmetric"},
              {"src", "source-value-20"},
              {"dst", "original-destination-value"}},
       0, 1},
  };
  auto run = [&](std::string_view expr) {
    InstantCall c = Parse(expr);
    return c.Run({&in});
  };
  auto expect = [&](std::string_view expr, std::string_view dst10, std::string_view dst20) {
    SCOPED_TRACE(std::string(expr));
    auto got = run(expr);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectVector(
        *got,
        {{Labels{{"__name__", "testmetric"}, {"src", "source-value-10"}, {"dst", dst10}}, 0},
         {Labels{{"__name__", "testmetric"}, {"src", "source-value-20"}, {"dst", dst20}}, 1}},
        true);
  };
  expect(
      R"q(label_replace(testmetric, "dst", "destination-value-$1", "src", "source-value-(.*)"))q",
      "destination-value-10", "destination-value-20");
  expect(R"q(label_replace(testmetric, "dst", "destination-value-$1", "src", "value-(.*)"))q",
         "original-destination-value", "original-destination-value");
  expect(R"q(label_replace(testmetric, "dst", "$1-value-$2", "src", "(.*)-value-(.*)"))q",
         "source-value-10", "source-value-20");
  expect(
      R"q(label_replace(testmetric, "dst", "value-$1", "nonexistent-src", "source-value-(.*)"))q",
      "original-destination-value", "original-destination-value");
  expect(R"q(label_replace(testmetric, "dst", "value-$1", "nonexistent-src", "(.*)"))q", "value-",
         "value-");
  expect(R"q(label_replace(testmetric, "dst", "value-$1", "src", "non-matching-regex"))q",
         "original-destination-value", "original-destination-value");
  expect(
      R"q(label_replace((((testmetric))), (("dst")), (("value-$1")), (("src")), (("non-matching-regex"))))q",
      "original-destination-value", "original-destination-value");
  // Go template expansion: ${1}, named groups, $$, $1x (the group "1x", which does not exist).
  expect(R"q(label_replace(testmetric, "dst", "${1}x-$$-${n}", "src", "source-value-(?P<n>.*)"))q",
         "10x-$-10", "20x-$-20");
  expect(R"q(label_replace(testmetric, "dst", "a$1x", "src", "source-value-(.*)"))q", "a", "a");
  // Empty result drops the label.
  {
    auto got = run(R"q(label_replace(testmetric, "dst", "", "dst", ".*"))q");
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels{{"__name__", "testmetric"}, {"src", "source-value-10"}}, 0},
                        {Labels{{"__name__", "testmetric"}, {"src", "source-value-20"}}, 1}});
  }
  // Errors, with Prometheus's messages (checked even for an empty input vector).
  auto bad_re = run(R"q(label_replace(testmetric, "dst", "value-$1", "src", "(.*"))q");
  ASSERT_FALSE(bad_re.ok());
  EXPECT_EQ(bad_re.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad_re.status().message(), "invalid regular expression in label_replace(): (.*");
  auto bad_dst = run(R"q(label_replace(testmetric, "invalid-label-name", "", "src", "(.*)"))q");
  ASSERT_FALSE(bad_dst.ok());
  EXPECT_EQ(bad_dst.status().message(),
            "invalid destination label name in label_replace(): invalid-label-name");
  const Vector empty;
  InstantCall c = Parse(R"q(label_replace(x, "dst", "", "src", "(.*"))q");
  EXPECT_FALSE(c.Run({&empty}).ok());
}

TEST(InstantFunctionsTest, LabelReplaceCacheReusedAcrossSteps) {
  const Vector in = {{Labels{{"a", "x1"}}, 0, 1}};
  InstantCall c = Parse(R"q(label_replace(m, "b", "$1", "a", "x(.)"))q");
  for (int step = 0; step < 3; ++step) {
    auto got = c.Run({&in}, step * kMin);
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels{{"a", "x1"}, {"b", "1"}}, 1}});
    EXPECT_EQ((*got)[0].t_ms, step * kMin);
  }
}

TEST(InstantFunctionsTest, LabelJoin) {
  const Vector in = {
      {Labels{{"__name__", "testmetric"},
              {"src", "a"},
              {"src1", "b"},
              {"src2", "c"},
              {"dst", "original-destination-value"}},
       0, 0},
      {Labels{{"__name__", "testmetric"},
              {"src", "d"},
              {"src1", "e"},
              {"src2", "f"},
              {"dst", "original-destination-value"}},
       0, 1},
  };
  auto with_dst = [](std::string_view s, std::string_view s1, std::string_view s2,
                     std::string_view dst) {
    return Labels{{"__name__", "testmetric"}, {"src", s}, {"src1", s1}, {"src2", s2}, {"dst", dst}};
  };
  struct Case {
    std::string_view expr, dst0, dst1;
  };
  for (const Case& c :
       {Case{R"q(label_join(testmetric, "dst", "-", "src", "src1", "src2"))q", "a-b-c", "d-e-f"},
        Case{R"q(label_join(testmetric, "dst", "-", "src", "src3", "src1"))q", "a--b", "d--e"},
        Case{R"q(label_join(testmetric, "dst", "", "emptysrc", "emptysrc1", "emptysrc2"))q", "",
             ""},
        Case{R"q(label_join(testmetric, "dst", ", "))q", "", ""}}) {
    SCOPED_TRACE(std::string(c.expr));
    InstantCall call = Parse(c.expr);
    auto got = call.Run({&in});
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectVector(*got, {{with_dst("a", "b", "c", c.dst0), 0}, {with_dst("d", "e", "f", c.dst1), 1}},
                 true);
  }
  InstantCall bad_src = Parse(R"q(label_join(testmetric, "dst", "-", "src", "1bad"))q");
  auto r1 = bad_src.Run({&in});
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().message(), "invalid source label name in label_join(): 1bad");
  InstantCall bad_dst = Parse(R"q(label_join(testmetric, "d-st", "-", "src"))q");
  auto r2 = bad_dst.Run({&in});
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().message(), "invalid destination label name in label_join(): d-st");
}

TEST(InstantFunctionsTest, TimeVectorScalarTimestampPi) {
  {
    InstantCall c = Parse("time()");
    auto got = c.Run({}, 1);  // at 1ms
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels(), 0.001}});
    got = c.Run({}, 50 * kMin);
    ExpectVector(*got, {{Labels(), 3000}});
  }
  {
    InstantCall c = Parse("pi()");
    auto got = c.Run({});
    ASSERT_TRUE(got.ok());
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ((*got)[0].v, 3.141592653589793);
  }
  {
    const Vector s = Scalar(3600);
    InstantCall c = Parse("vector(1)");
    auto got = c.Run({&s});
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels(), 3600}});
  }
  {
    InstantCall c = Parse("scalar(x)");
    const Vector one = {{Labels{{"__name__", "x"}, {"a", "b"}}, 0, 7}};
    auto got = c.Run({&one});
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels(), 7}});
    const Vector two = {{Labels{{"a", "b"}}, 0, 7}, {Labels{{"a", "c"}}, 0, 8}};
    got = c.Run({&two});
    ExpectVector(*got, {{Labels(), kNaN}});
    const Vector none;
    got = c.Run({&none});
    ExpectVector(*got, {{Labels(), kNaN}});
  }
  {
    // timestamp(metric) at 5s sees the sample from t=0; at 10s the one from t=10s.
    InstantCall c = Parse("timestamp(metric)");
    const Vector at5 = {{Labels{{"__name__", "metric"}}, 0, 1}};
    auto got = c.Run({&at5}, 5 * kSec);
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels(), 0}});
    EXPECT_EQ((*got)[0].t_ms, 5 * kSec);
    const Vector at10 = {{Labels{{"__name__", "metric"}, {"a", "b"}}, 10 * kSec, 1}};
    got = c.Run({&at10}, 10 * kSec);
    ExpectVector(*got, {{Labels{{"a", "b"}}, 10}});
  }
}

Vector ClampInput() {
  return {{Labels{{"__name__", "test_clamp"}, {"src", "clamp-a"}}, 0, -50},
          {Labels{{"__name__", "test_clamp"}, {"src", "clamp-b"}}, 0, 0},
          {Labels{{"__name__", "test_clamp"}, {"src", "clamp-c"}}, 0, 100}};
}

void ExpectClamp(const absl::StatusOr<Vector>& got, double a, double b, double c) {
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectVector(*got, {{Labels{{"src", "clamp-a"}}, a},
                      {Labels{{"src", "clamp-b"}}, b},
                      {Labels{{"src", "clamp-c"}}, c}});
}

TEST(InstantFunctionsTest, Clamp) {
  const Vector in = ClampInput();
  const Vector m25 = Scalar(-25), p75 = Scalar(75), zero = Scalar(0), nan = Scalar(kNaN),
               five = Scalar(5), m5 = Scalar(-5);
  InstantCall cmax = Parse("clamp_max(test_clamp, 75)");
  ExpectClamp(cmax.Run({&in, &p75}), -50, 0, 75);
  InstantCall cmin = Parse("clamp_min(test_clamp, -25)");
  ExpectClamp(cmin.Run({&in, &m25}), -25, 0, 100);
  InstantCall clamp = Parse("clamp(test_clamp, -25, 75)");
  ExpectClamp(clamp.Run({&in, &m25, &p75}), -25, 0, 75);
  ExpectClamp(clamp.Run({&in, &zero, &nan}), kNaN, kNaN, kNaN);
  ExpectClamp(clamp.Run({&in, &nan, &zero}), kNaN, kNaN, kNaN);
  auto empty = clamp.Run({&in, &five, &m5});
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(InstantFunctionsTest, SgnAndRound) {
  const Vector in = {{Labels{{"src", "a"}}, 0, -kInf}, {Labels{{"src", "b"}}, 0, kInf},
                     {Labels{{"src", "c"}}, 0, kNaN},  {Labels{{"src", "d"}}, 0, -50},
                     {Labels{{"src", "e"}}, 0, 0},     {Labels{{"src", "f"}}, 0, 100}};
  InstantCall sgn = Parse("sgn(test_sgn)");
  auto got = sgn.Run({&in});
  ASSERT_TRUE(got.ok());
  ExpectVector(*got, {{Labels{{"src", "a"}}, -1},
                      {Labels{{"src", "b"}}, 1},
                      {Labels{{"src", "c"}}, kNaN},
                      {Labels{{"src", "d"}}, -1},
                      {Labels{{"src", "e"}}, 0},
                      {Labels{{"src", "f"}}, 1}});
  // round: floor(v / to_nearest + 0.5) * to_nearest; ties go up (-2.5 -> -2).
  const Vector r = {{Labels{{"__name__", "m"}, {"k", "1"}}, 0, 2.5},
                    {Labels{{"k", "2"}}, 0, -2.5},
                    {Labels{{"k", "3"}}, 0, 12.34}};
  InstantCall round1 = Parse("round(m)");
  got = round1.Run({&r});
  ASSERT_TRUE(got.ok());
  ExpectVector(*got, {{Labels{{"k", "1"}}, 3}, {Labels{{"k", "2"}}, -2}, {Labels{{"k", "3"}}, 12}});
  InstantCall round5 = Parse("round(m, 5)");
  const Vector five = Scalar(5);
  got = round5.Run({&r, &five});
  ASSERT_TRUE(got.ok());
  ExpectVector(*got, {{Labels{{"k", "1"}}, 5}, {Labels{{"k", "2"}}, 0}, {Labels{{"k", "3"}}, 10}});
}

TEST(InstantFunctionsTest, SortAndSortDesc) {
  auto l = [](std::string_view group, std::string_view inst, std::string_view job) {
    return Labels{
        {"__name__", "http_requests"}, {"group", group}, {"instance", inst}, {"job", job}};
  };
  const Vector in = {
      {l("production", "0", "api-server"), 0, 100}, {l("production", "1", "api-server"), 0, 200},
      {l("canary", "0", "api-server"), 0, 300},     {l("canary", "1", "api-server"), 0, 400},
      {l("canary", "2", "api-server"), 0, kNaN},    {l("production", "0", "app-server"), 0, 500},
      {l("production", "1", "app-server"), 0, 600}, {l("canary", "0", "app-server"), 0, 700},
      {l("canary", "1", "app-server"), 0, 800},
  };
  // Shuffle the input so the test does not pass by accident.
  const Vector shuffled = {in[8], in[4], in[0], in[6], in[2], in[7], in[1], in[5], in[3]};
  InstantCall sort = Parse("sort(http_requests)");
  auto got = sort.Run({&shuffled});
  ASSERT_TRUE(got.ok());
  ExpectVector(*got,
               {{l("production", "0", "api-server"), 100},
                {l("production", "1", "api-server"), 200},
                {l("canary", "0", "api-server"), 300},
                {l("canary", "1", "api-server"), 400},
                {l("production", "0", "app-server"), 500},
                {l("production", "1", "app-server"), 600},
                {l("canary", "0", "app-server"), 700},
                {l("canary", "1", "app-server"), 800},
                {l("canary", "2", "api-server"), kNaN}},
               true);
  InstantCall sort_desc = Parse("sort_desc(http_requests)");
  got = sort_desc.Run({&shuffled});
  ASSERT_TRUE(got.ok());
  ExpectVector(*got,
               {{l("canary", "1", "app-server"), 800},
                {l("canary", "0", "app-server"), 700},
                {l("production", "1", "app-server"), 600},
                {l("production", "0", "app-server"), 500},
                {l("canary", "1", "api-server"), 400},
                {l("canary", "0", "api-server"), 300},
                {l("production", "1", "api-server"), 200},
                {l("production", "0", "api-server"), 100},
                {l("canary", "2", "api-server"), kNaN}},
               true);
}

// functions.test: time-related functions.
TEST(InstantFunctionsTest, DateFunctions) {
  struct Case {
    std::string_view fn;
    double secs;  // NaN: no argument, evaluated at 0.
    double want;
  };
  const Case cases[] = {
      {"year", kNaN, 1970},
      {"year", 1136239445, 2006},
      {"month", kNaN, 1},
      {"month", 1136239445, 1},
      {"day_of_month", kNaN, 1},
      {"day_of_month", 1136239445, 2},
      {"day_of_year", kNaN, 1},
      {"day_of_year", 1136239445, 2},
      {"day_of_week", kNaN, 4},  // Thursday.
      {"day_of_week", 1136239445, 1},
      {"hour", kNaN, 0},
      {"hour", 1136239445, 22},
      {"minute", kNaN, 0},
      {"minute", 1136239445, 4},
      {"year", 1230767999, 2008},
      {"year", 1230768000, 2009},
      {"month", 1456790399, 2},
      {"day_of_month", 1456790399, 29},
      {"month", 1456790400, 3},
      {"day_of_month", 1456790400, 1},
      {"day_of_year", 1483191420, 366},
      {"day_of_year", 1672493820, 365},
      {"days_in_month", 1454284800, 29},
      {"days_in_month", 1485907200, 28},
      // By hand: -1 is 1969-12-31 23:59:59, a Wednesday, day 365; 1.9 truncates to 1.
      {"year", -1, 1969},
      {"day_of_week", -1, 3},
      {"day_of_year", -1, 365},
      {"hour", -1, 23},
      {"minute", 1.9 * 60, 1},
      {"days_in_month", 951782400, 29},     // 2000-02-29: divisible by 400.
      {"days_in_month", 4107456000.0, 28},  // 2100-02-28: 2100 is not a leap year.
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.fn) + " " + std::to_string(c.secs));
    if (std::isnan(c.secs)) {
      InstantCall call = Parse(std::string(c.fn) + "()");
      auto got = call.Run({}, 0);
      ASSERT_TRUE(got.ok());
      ExpectVector(*got, {{Labels(), c.want}});
    } else {
      InstantCall call = Parse(std::string(c.fn) + "(x)");
      const Vector in = {{Labels{{"__name__", "x"}, {"k", "v"}}, 0, c.secs}};
      auto got = call.Run({&in}, 0);
      ASSERT_TRUE(got.ok());
      ExpectVector(*got, {{Labels{{"k", "v"}}, c.want}});
    }
  }
  // The no-argument form uses the evaluation time: 2006-01-02 22:04:05.
  InstantCall hour = Parse("hour()");
  auto got = hour.Run({}, int64_t{1136239445} * 1000);
  ASSERT_TRUE(got.ok());
  ExpectVector(*got, {{Labels(), 22}});
  // NaN becomes INT64_MIN seconds as in Go on amd64; promtool 2.42 answers
  // year(vector(NaN)) = 292277026596. Other extreme inputs must not crash.
  InstantCall year = Parse("year(x)");
  const Vector nan = {{Labels{{"k", "a"}}, 0, kNaN}};
  got = year.Run({&nan});
  ASSERT_TRUE(got.ok());
  ExpectVector(*got, {{Labels{{"k", "a"}}, 292277026596.0}});
  const Vector odd = {{Labels{{"k", "b"}}, 0, kInf},
                      {Labels{{"k", "c"}}, 0, -1e300},
                      {Labels{{"k", "d"}}, 0, 9.2e18}};
  for (std::string_view fn : {"year", "month", "day_of_month", "day_of_week", "day_of_year",
                              "days_in_month", "hour", "minute"}) {
    InstantCall call = Parse(std::string(fn) + "(x)");
    EXPECT_TRUE(call.Run({&odd}).ok());
  }
}

TEST(InstantFunctionsTest, Absent) {
  const Vector empty;
  struct Case {
    std::string_view expr;
    Labels want;
  };
  const Case cases[] = {
      {"absent(nonexistent)", Labels()},
      {R"q(absent(nonexistent{job="testjob", instance="testinstance", method=~".x"}))q",
       Labels{{"instance", "testinstance"}, {"job", "testjob"}}},
      {R"q(absent(nonexistent{job="testjob",job="testjob2",foo="bar"}))q", Labels{{"foo", "bar"}}},
      {R"q(absent(nonexistent{job="testjob",job="testjob2",job="three",foo="bar"}))q",
       Labels{{"foo", "bar"}}},
      {R"q(absent(nonexistent{job="testjob",job=~"testjob2",foo="bar"}))q", Labels{{"foo", "bar"}}},
      {R"q(absent(sum(nonexistent{job="testjob", instance="testinstance"})))q", Labels()},
      {"absent(a + b)", Labels()},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.expr));
    InstantCall call = Parse(c.expr);
    auto got = call.Run({&empty}, 50 * kMin);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectVector(*got, {{c.want, 1}});
  }
  InstantCall call = Parse("absent(http_requests)");
  const Vector present = {{Labels{{"__name__", "http_requests"}}, 0, 1}};
  auto got = call.Run({&present});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

TEST(InstantFunctionsTest, ExpLogSqrt) {
  const Vector in = {{Labels{{"__name__", "exp_root_log"}, {"l", "x"}}, 0, 10},
                     {Labels{{"__name__", "exp_root_log"}, {"l", "y"}}, 0, 20}};
  const Vector minus10 = {{Labels{{"l", "x"}}, 0, 0}, {Labels{{"l", "y"}}, 0, 10}};
  const Vector minus20 = {{Labels{{"l", "x"}}, 0, -10}, {Labels{{"l", "y"}}, 0, 0}};
  struct Case {
    std::string_view fn;
    const Vector* in;
    double x, y;
  };
  const Case cases[] = {
      {"exp", &in, 22026.465794806718, 485165195.4097903},
      {"exp", &minus10, 1, 22026.465794806718},
      {"exp", &minus20, 4.5399929762484854e-05, 1},
      {"ln", &in, 2.302585092994046, 2.995732273553991},
      {"ln", &minus10, -kInf, 2.302585092994046},
      {"ln", &minus20, kNaN, -kInf},
      {"sqrt", &in, 3.1622776601683795, 4.47213595499958},
      {"log2", &in, 3.3219280948873626, 4.321928094887363},
      {"log2", &minus10, -kInf, 3.3219280948873626},
      {"log2", &minus20, kNaN, -kInf},
      {"log10", &in, 1, 1.301029995663981},
      {"log10", &minus10, -kInf, 1},
      {"log10", &minus20, kNaN, -kInf},
      {"abs", &minus20, 10, 0},
      {"ceil", &in, 10, 20},
      {"floor", &in, 10, 20},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.fn));
    InstantCall call = Parse(std::string(c.fn) + "(x)");
    auto got = call.Run({c.in});
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels{{"l", "x"}}, c.x}, {Labels{{"l", "y"}}, c.y}});
  }
}

// trig_functions.test.
TEST(InstantFunctionsTest, Trigonometry) {
  auto vec = [](double x, double y) {
    return Vector{{Labels{{"__name__", "trig"}, {"l", "x"}}, 0, x},
                  {Labels{{"__name__", "trig"}, {"l", "y"}}, 0, y},
                  {Labels{{"__name__", "trig"}, {"l", "NaN"}}, 0, kNaN}};
  };
  const Vector trig = vec(10, 20), minus101 = vec(10 - 10.1, 20 - 10.1), minus10 = vec(0, 10),
               minus20 = vec(-10, 0);
  struct Case {
    std::string_view fn;
    const Vector* in;
    double x, y;
  };
  const Case cases[] = {
      {"sin", &trig, -0.5440211108893699, 0.9129452507276277},
      {"cos", &trig, -0.8390715290764524, 0.40808206181339196},
      {"tan", &trig, 0.6483608274590867, 2.2371609442247427},
      {"asin", &minus101, -0.10016742116155944, kNaN},
      {"acos", &minus101, 1.670963747956456, kNaN},
      {"atan", &trig, 1.4711276743037345, 1.5208379310729538},
      {"sinh", &trig, 11013.232920103324, 2.4258259770489514e+08},
      {"cosh", &trig, 11013.232920103324, 2.4258259770489514e+08},
      {"tanh", &trig, 0.9999999958776927, 1},
      {"asinh", &trig, 2.99822295029797, 3.6895038689889055},
      {"acosh", &trig, 2.993222846126381, 3.6882538673612966},
      {"atanh", &minus101, -0.10033534773107522, kNaN},
      {"rad", &trig, 0.17453292519943295, 0.3490658503988659},
      {"rad", &minus10, 0, 0.17453292519943295},
      {"rad", &minus20, -0.17453292519943295, 0},
      {"deg", &trig, 572.9577951308232, 1145.9155902616465},
      {"deg", &minus10, 0, 572.9577951308232},
      {"deg", &minus20, -572.9577951308232, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.fn));
    InstantCall call = Parse(std::string(c.fn) + "(trig)");
    auto got = call.Run({c.in});
    ASSERT_TRUE(got.ok());
    ExpectVector(
        *got, {{Labels{{"l", "x"}}, c.x}, {Labels{{"l", "y"}}, c.y}, {Labels{{"l", "NaN"}}, kNaN}});
  }
}

// ---------------------------------------------------------------------------------------------
// histogram_quantile (histograms.test).

Vector Buckets(const Labels& base, const std::vector<std::pair<std::string, double>>& les) {
  Vector v;
  for (const auto& [le, count] : les) {
    tsdb::LabelsBuilder b(base);
    b.Set("le", le);
    v.push_back(VSample{b.Build(), 0, count});
  }
  return v;
}

absl::StatusOr<Vector> HistogramQuantile(double q, const Vector& in) {
  InstantCall call = Parse("histogram_quantile(0.5, x)");
  const Vector qv = Scalar(q);
  return call.Run({&qv, &in});
}

TEST(HistogramQuantileTest, TestHistogram) {
  // testhistogram_bucket at 50m (value index 10).
  const Labels pos{{"__name__", "testhistogram_bucket"}, {"start", "positive"}};
  const Labels neg{{"__name__", "testhistogram_bucket"}, {"start", "negative"}};
  Vector in = Buckets(pos, {{"0.1", 50}, {".2", 70}, {"1e0", 110}, {"+Inf", 120}});
  for (const VSample& s : Buckets(neg, {{"-.2", 10}, {"-0.1", 20}, {"0.3", 20}, {"+Inf", 30}})) {
    in.push_back(s);
  }
  const Labels p{{"start", "positive"}}, n{{"start", "negative"}};
  struct Case {
    double q, pos, neg;
  };
  for (const Case& c :
       {Case{-0.1, -kInf, -kInf}, Case{1.01, kInf, kInf}, Case{kNaN, kNaN, kNaN}, Case{0, 0, -0.2},
        Case{1, 1, 0.3}, Case{0.2, 0.048, -0.2}, Case{0.5, 0.15, -0.15}, Case{0.8, 0.72, 0.3}}) {
    SCOPED_TRACE(c.q);
    auto got = HistogramQuantile(c.q, in);
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{p, c.pos}, {n, c.neg}});
  }
}

TEST(HistogramQuantileTest, MiddleOfBucketsAndAggregates) {
  const Vector h2 = Buckets(Labels{{"__name__", "testhistogram2_bucket"}},
                            {{"0", 0}, {"2", 1}, {"4", 2}, {"6", 3}, {"+Inf", 3}});
  for (auto [q, want] : {std::pair{1. / 6., 1.}, {0.5, 3.}, {5. / 6., 5.}}) {
    auto got = HistogramQuantile(q, h2);
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels(), want}});
  }
  // sum(rate(request_duration_seconds_bucket[5m])) by (le) at 50m: counts 10, 19, 25 per 300s.
  const Vector agg =
      Buckets(Labels(), {{"0.1", 10. / 300}, {"0.2", 19. / 300}, {"+Inf", 25. / 300}});
  auto got = HistogramQuantile(0.3, agg);
  ASSERT_TRUE(got.ok());
  ExpectVector(*got, {{Labels(), 0.075}});
  got = HistogramQuantile(0.5, agg);
  ExpectVector(*got, {{Labels(), 0.1277777777777778}});
}

TEST(HistogramQuantileTest, GroupsBySeriesWithoutLe) {
  auto base = [](std::string_view job, std::string_view inst) {
    return Labels{
        {"__name__", "request_duration_seconds_bucket"}, {"job", job}, {"instance", inst}};
  };
  Vector in;
  auto add = [&](const Vector& v) { in.insert(in.end(), v.begin(), v.end()); };
  add(Buckets(base("job1", "ins1"), {{"0.1", 10}, {"0.2", 30}, {"+Inf", 40}}));
  add(Buckets(base("job1", "ins2"), {{"0.1", 20}, {"0.2", 50}, {"+Inf", 60}}));
  add(Buckets(base("job2", "ins1"), {{"0.1", 30}, {"0.2", 40}, {"+Inf", 60}}));
  add(Buckets(base("job2", "ins2"), {{"0.1", 40}, {"0.2", 70}, {"+Inf", 90}}));
  // A sample without (or with a malformed) le is skipped.
  in.push_back(VSample{Labels{{"job", "job3"}}, 0, 5});
  in.push_back(VSample{Labels{{"job", "job3"}, {"le", "abc"}}, 0, 5});
  auto got = HistogramQuantile(0.3, in);
  ASSERT_TRUE(got.ok());
  ExpectVector(*got, {{Labels{{"instance", "ins1"}, {"job", "job1"}}, 0.11},
                      {Labels{{"instance", "ins2"}, {"job", "job1"}}, 0.09},
                      {Labels{{"instance", "ins1"}, {"job", "job2"}}, 0.06},
                      {Labels{{"instance", "ins2"}, {"job", "job2"}}, 0.0675}});
  got = HistogramQuantile(0.5, in);
  ExpectVector(*got, {{Labels{{"instance", "ins1"}, {"job", "job1"}}, 0.15},
                      {Labels{{"instance", "ins2"}, {"job", "job1"}}, 0.13333333333333333},
                      {Labels{{"instance", "ins1"}, {"job", "job2"}}, 0.1},
                      {Labels{{"instance", "ins2"}, {"job", "job2"}}, 0.11666666666666667}});
}

TEST(HistogramQuantileTest, NonMonotonicMixedAndEmpty) {
  const Vector nm =
      Buckets(Labels{{"__name__", "nonmonotonic_bucket"}},
              {{"0.1", 20}, {"1", 10}, {"10", 50}, {"100", 40}, {"1000", 90}, {"+Inf", 80}});
  for (auto [q, want] : {std::pair{0.01, 0.0045}, {0.5, 8.5}, {0.99, 979.75}}) {
    auto got = HistogramQuantile(q, nm);
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{Labels(), want}});
  }
  // Same upper bound spelled differently is one bucket; a lone +Inf bucket gives NaN.
  const Labels i1{{"job", "job1"}, {"instance", "ins1"}}, i2{{"job", "job1"}, {"instance", "ins2"}};
  Vector mixed = Buckets(i1, {{"0.1", 1}, {"0.2", 1}, {"2e-1", 1}, {"2.0e-1", 1}, {"+Inf", 4}});
  for (const VSample& s : Buckets(i2, {{"+inf", 0}, {"+Inf", 0}})) mixed.push_back(s);
  for (auto [q, want] : {std::pair{0.5, 0.15}, {0.75, 0.2}, {1.0, 0.2}}) {
    auto got = HistogramQuantile(q, mixed);
    ASSERT_TRUE(got.ok());
    ExpectVector(*got, {{i1, want}, {i2, kNaN}});
  }
  // All-zero counts: NaN. No +Inf bucket: NaN.
  auto got = HistogramQuantile(0.2, Buckets(i1, {{"0.1", 0}, {"0.2", 0}, {"+Inf", 0}}));
  ASSERT_TRUE(got.ok());
  ExpectVector(*got, {{i1, kNaN}});
  got = HistogramQuantile(0.2, Buckets(i1, {{"0.1", 1}, {"0.2", 2}}));
  ExpectVector(*got, {{i1, kNaN}});
  // Two metric names with the same other labels stay separate groups (the engine then reports
  // the duplicate label set, as for histograms.test's eval_fail).
  Vector dup = Buckets(Labels{{"__name__", "a_bucket"}}, {{"1", 1}, {"+Inf", 2}});
  for (const VSample& s : Buckets(Labels{{"__name__", "b_bucket"}}, {{"1", 1}, {"+Inf", 2}})) {
    dup.push_back(s);
  }
  got = HistogramQuantile(0.5, dup);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 2u);
}

TEST(HistogramQuantileTest, NativeOnlyFunctionsIgnoreFloats) {
  const Vector in = {{Labels{{"__name__", "x"}}, 0, 5}};
  const Vector lo = Scalar(0), hi = Scalar(1);
  for (std::string_view expr : {"histogram_count(x)", "histogram_sum(x)"}) {
    InstantCall call = Parse(expr);
    auto got = call.Run({&in});
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->empty());
  }
  InstantCall call = Parse("histogram_fraction(0, 1, x)");
  auto got = call.Run({&lo, &hi, &in});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

TEST(BadInputTest, MissingArgumentsAreErrorsNotCrashes) {
  InstantCall abs = Parse("abs(x)");
  auto got = abs.Run({});
  EXPECT_FALSE(got.ok());
  InstantCall clamp = Parse("clamp(x, 1, 2)");
  const Vector in = {{Labels(), 0, 1}};
  const Vector empty;
  got = clamp.Run({&in, &empty, nullptr});
  EXPECT_FALSE(got.ok());
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("clamp"));
  auto r = CallRange("quantile_over_time", Series{Labels(), {{0, 1}}}, 0, kMin, 0, {});
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace stakewatch::query
