// Prometheus 2.42's PromQL functions (promql/functions.go and the bucket code of
// promql/quantile.go, tag v2.42.0), float samples only. Every numeric routine below keeps the
// order of operations of the Go code, so results agree bit for bit where Go's math library and
// glibc agree (the PromQL test data compares with a relative tolerance of 1e-6 anyway).
//
// Known divergences (rare inputs):
//  * label_replace's `$name` expansion treats only ASCII letters, digits and '_' as name
//    characters (Go also accepts Unicode letters and digits).
//  * histogram_quantile's `le` parsing (Go's strconv.ParseFloat) does not accept hexadecimal
//    floats or '_' digit separators.
//  * Output order where Go's is unspecified: histogram_quantile emits groups in first-seen order
//    (Go iterates a map); sort/sort_desc keep input order among equal values (Go's sort is
//    unstable).
//  * label_replace compiles its regex with RE2 (C++), whose syntax is that of Go's regexp apart
//    from rare corners.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "promql/ast.h"
#include "query/function_impl.h"
#include "query/value.h"
#include "re2/re2.h"

namespace stakewatch::query {
namespace {

using promql::Expr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kPi = 3.14159265358979323846264338327950288419716939937510582097494459;

// ---------------------------------------------------------------------------------------------
// Go semantics helpers.

// Go's math.Max: +Inf wins over NaN, NaN otherwise propagates, +0 beats -0.
double GoMax(double x, double y) {
  if (std::isinf(x) && x > 0) return x;
  if (std::isinf(y) && y > 0) return y;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  if (x == 0 && x == y) return std::signbit(x) ? y : x;
  return x > y ? x : y;
}

// Go's math.Min: -Inf wins over NaN, NaN otherwise propagates, -0 beats +0.
double GoMin(double x, double y) {
  if (std::isinf(x) && x < 0) return x;
  if (std::isinf(y) && y < 0) return y;
  if (std::isnan(x) || std::isnan(y)) return kNaN;
  if (x == 0 && x == y) return std::signbit(x) ? x : y;
  return x < y ? x : y;
}

// Go's int64(f) on amd64 (CVTTSD2SQ): truncation, and INT64_MIN for NaN and out-of-range values.
int64_t GoFloatToInt64(double f) {
  if (std::isnan(f) || f >= 9223372036854775808.0 || f < -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(f);
}

// Go's time.Duration(ms).Seconds() for a millisecond duration: whole seconds plus the
// nanosecond remainder / 1e9 (not ms / 1000.0, which can differ in the last bit).
double DurationSeconds(int64_t ms) {
  const int64_t sec = ms / 1000;
  const int64_t nsec = (ms % 1000) * 1000000;
  return static_cast<double>(sec) + static_cast<double>(nsec) / 1e9;
}

// Go's fmt "%f" for a float64: like C's, but "NaN", "+Inf", "-Inf" for the specials.
std::string GoPercentF(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%f", v);
}

// Prometheus's kahanSumInc (Neumaier's variant).
inline void KahanSumInc(double inc, double& sum, double& c) {
  const double t = sum + inc;
  if (std::fabs(sum) >= std::fabs(inc)) {
    c += (sum - t) + inc;
  } else {
    c += (inc - t) + sum;
  }
  sum = t;
}

// ---------------------------------------------------------------------------------------------
// Argument access.

absl::Status Internal(std::string_view fn, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("internal error in ", ToAbsl(fn), "(): ", ToAbsl(what)));
}

std::string_view FnName(const FunctionContext& ctx) {
  return ctx.call != nullptr && ctx.call->func != nullptr ? ctx.call->func->name : "function";
}

// The instant-vector argument `i`, or an error when the engine did not pass one.
absl::StatusOr<const Vector*> VectorArg(const FunctionContext& ctx, size_t i) {
  if (i >= ctx.args.size() || ctx.args[i] == nullptr) {
    return Internal(FnName(ctx), absl::StrCat("missing vector argument ", i + 1));
  }
  return ctx.args[i];
}

// The scalar argument `i` (a one-sample vector).
absl::StatusOr<double> ScalarArg(const FunctionContext& ctx, size_t i) {
  if (i >= ctx.args.size() || ctx.args[i] == nullptr || ctx.args[i]->empty()) {
    return Internal(FnName(ctx), absl::StrCat("missing scalar argument ", i + 1));
  }
  return (*ctx.args[i])[0].v;
}

// The string literal argument `i`, read from the AST (Prometheus's stringFromArg: parentheses
// are unwrapped).
absl::StatusOr<std::string_view> StringArg(const FunctionContext& ctx, size_t i) {
  if (ctx.call == nullptr || i >= ctx.call->args.size() || ctx.call->args[i] == nullptr) {
    return Internal(FnName(ctx), absl::StrCat("missing string argument ", i + 1));
  }
  const Expr* e = ctx.call->args[i].get();
  while (const auto* p = std::get_if<promql::ParenExpr>(&e->node)) {
    if (p->expr == nullptr) break;
    e = p->expr.get();
  }
  const auto* s = std::get_if<promql::StringLiteral>(&e->node);
  if (s == nullptr) {
    return Internal(FnName(ctx), absl::StrCat("argument ", i + 1, " is not a string literal"));
  }
  return std::string_view(s->value);
}

// The points of the range-vector argument (empty when the engine passed none).
const std::vector<Point>& MatrixPoints(const FunctionContext& ctx) {
  static const std::vector<Point>* const kEmpty = new std::vector<Point>();
  return ctx.matrix != nullptr ? ctx.matrix->points : *kEmpty;
}

void Append(const FunctionContext& ctx, Labels metric, double v, Vector* out) {
  out->push_back(VSample{std::move(metric), ctx.ts_ms, v});
}

#define SW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                             \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)
#define SW_CONCAT_INNER(a, b) a##b
#define SW_CONCAT(a, b) SW_CONCAT_INNER(a, b)
#define ASSIGN_OR_RETURN_FN(lhs, rexpr) \
  SW_ASSIGN_OR_RETURN_IMPL(SW_CONCAT(status_or_, __LINE__), lhs, rexpr)

// ---------------------------------------------------------------------------------------------
// Instant-vector functions.

// simpleFunc: applies f to every sample and drops the metric name.
template <double (*F)(double)>
absl::Status SimpleFunc(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  for (const VSample& s : *in) Append(ctx, DropMetricName(s.metric), F(s.v), out);
  return absl::OkStatus();
}

double Abs(double v) { return std::fabs(v); }
double Ceil(double v) { return std::ceil(v); }
double Floor(double v) { return std::floor(v); }
double Exp(double v) { return std::exp(v); }
double Sqrt(double v) { return std::sqrt(v); }
double Ln(double v) { return std::log(v); }
double Log2(double v) { return std::log2(v); }
double Log10(double v) { return std::log10(v); }
double Sin(double v) { return std::sin(v); }
double Cos(double v) { return std::cos(v); }
double Tan(double v) { return std::tan(v); }
double Asin(double v) { return std::asin(v); }
double Acos(double v) { return std::acos(v); }
double Atan(double v) { return std::atan(v); }
double Sinh(double v) { return std::sinh(v); }
double Cosh(double v) { return std::cosh(v); }
double Tanh(double v) { return std::tanh(v); }
double Asinh(double v) { return std::asinh(v); }
double Acosh(double v) { return std::acosh(v); }
double Atanh(double v) { return std::atanh(v); }
double Rad(double v) { return v * kPi / 180; }
double Deg(double v) { return v * 180 / kPi; }
double Sgn(double v) {
  if (v < 0) return -1;
  if (v > 0) return 1;
  return v;  // 0, -0 and NaN stay as they are.
}

absl::Status FuncTime(const FunctionContext& ctx, Vector* out) {
  Append(ctx, Labels(), static_cast<double>(ctx.ts_ms) / 1000, out);
  return absl::OkStatus();
}

absl::Status FuncPi(const FunctionContext& ctx, Vector* out) {
  Append(ctx, Labels(), kPi, out);
  return absl::OkStatus();
}

absl::Status FuncVector(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(double v, ScalarArg(ctx, 0));
  Append(ctx, Labels(), v, out);
  return absl::OkStatus();
}

absl::Status FuncScalar(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  Append(ctx, Labels(), in->size() == 1 ? (*in)[0].v : kNaN, out);
  return absl::OkStatus();
}

absl::Status FuncTimestamp(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  for (const VSample& s : *in) {
    Append(ctx, DropMetricName(s.metric), static_cast<double>(s.t_ms) / 1000, out);
  }
  return absl::OkStatus();
}

absl::Status FuncClamp(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  ASSIGN_OR_RETURN_FN(double lo, ScalarArg(ctx, 1));
  ASSIGN_OR_RETURN_FN(double hi, ScalarArg(ctx, 2));
  if (hi < lo) return absl::OkStatus();
  for (const VSample& s : *in) {
    Append(ctx, DropMetricName(s.metric), GoMax(lo, GoMin(hi, s.v)), out);
  }
  return absl::OkStatus();
}

absl::Status FuncClampMax(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  ASSIGN_OR_RETURN_FN(double hi, ScalarArg(ctx, 1));
  for (const VSample& s : *in) Append(ctx, DropMetricName(s.metric), GoMin(hi, s.v), out);
  return absl::OkStatus();
}

absl::Status FuncClampMin(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  ASSIGN_OR_RETURN_FN(double lo, ScalarArg(ctx, 1));
  for (const VSample& s : *in) Append(ctx, DropMetricName(s.metric), GoMax(lo, s.v), out);
  return absl::OkStatus();
}

absl::Status FuncRound(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  double to_nearest = 1;
  if (ctx.args.size() >= 2) {
    ASSIGN_OR_RETURN_FN(to_nearest, ScalarArg(ctx, 1));
  }
  // Inverted as in Prometheus ("seems to cause fewer floating point accuracy issues").
  const double inverse = 1.0 / to_nearest;
  for (const VSample& s : *in) {
    Append(ctx, DropMetricName(s.metric), std::floor(s.v * inverse + 0.5) / inverse, out);
  }
  return absl::OkStatus();
}

// sort: ascending, NaN last. sort_desc: descending, NaN last. Prometheus uses an unstable sort;
// a stable one orders equal values by input position, which is one of Go's possible orders.
absl::Status FuncSort(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  const size_t first = out->size();
  for (const VSample& s : *in) Append(ctx, s.metric, s.v, out);
  std::stable_sort(out->begin() + first, out->end(), [](const VSample& a, const VSample& b) {
    if (std::isnan(a.v)) return false;
    return std::isnan(b.v) || a.v < b.v;
  });
  return absl::OkStatus();
}

absl::Status FuncSortDesc(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  const size_t first = out->size();
  for (const VSample& s : *in) Append(ctx, s.metric, s.v, out);
  std::stable_sort(out->begin() + first, out->end(), [](const VSample& a, const VSample& b) {
    if (std::isnan(a.v)) return false;
    return std::isnan(b.v) || a.v > b.v;
  });
  return absl::OkStatus();
}

// histogram_count / histogram_sum / histogram_fraction act on native histograms only; stakewatch
// stores floats, and 2.42 skips float samples, so the result is always empty.
absl::Status FuncNativeHistogramOnly(const FunctionContext&, Vector*) { return absl::OkStatus(); }

// ---------------------------------------------------------------------------------------------
// Date functions (dateWrapper).

// Go 1.19's time package arithmetic (time.Unix(sec, 0).UTC() and its absDate/absClock), copied
// with its unsigned wrap-around so that even nonsense inputs (NaN -> INT64_MIN seconds) give
// Go's answers: year(vector(NaN)) is 292277026596 in Prometheus 2.42, and here.
struct CivilTime {
  int64_t year;
  int month;         // 1..12
  int day;           // 1..31
  int hour, minute;  // 0..23, 0..59
  int weekday;       // 0 = Sunday
  int year_day;      // 1..366
  uint64_t days_in_month;
};

constexpr int64_t kAbsoluteZeroYear = -292277022399;
constexpr uint64_t kUnixToAbsolute = 62135596800ULL + 9223371966579724800ULL;
constexpr uint64_t kSecondsPerDay = 86400;
constexpr uint64_t kDaysPer400Years = 365 * 400 + 97;
constexpr uint64_t kDaysPer100Years = 365 * 100 + 24;
constexpr uint64_t kDaysPer4Years = 365 * 4 + 1;
constexpr int kDaysBefore[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};

bool GoIsLeap(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

// Go's absDate: the year, month (1..12), day (1..31) and zero-based day of the year.
void AbsDate(uint64_t abs, int64_t* year, int* month, int* day, int* yday) {
  uint64_t d = abs / kSecondsPerDay;
  uint64_t n = d / kDaysPer400Years;
  uint64_t y = 400 * n;
  d -= kDaysPer400Years * n;
  n = d / kDaysPer100Years;
  n -= n >> 2;
  y += 100 * n;
  d -= kDaysPer100Years * n;
  n = d / kDaysPer4Years;
  y += 4 * n;
  d -= kDaysPer4Years * n;
  n = d / 365;
  n -= n >> 2;
  y += n;
  d -= 365 * n;
  *year = static_cast<int64_t>(y + static_cast<uint64_t>(kAbsoluteZeroYear));
  *yday = static_cast<int>(d);
  int dd = *yday;
  if (GoIsLeap(*year)) {
    if (dd > 31 + 29 - 1) {
      --dd;
    } else if (dd == 31 + 29 - 1) {
      *month = 2;
      *day = 29;
      return;
    }
  }
  int m = dd / 31;
  const int end = kDaysBefore[m + 1];
  int begin;
  if (dd >= end) {
    ++m;
    begin = end;
  } else {
    begin = kDaysBefore[m];
  }
  *month = m + 1;
  *day = dd - begin + 1;
}

// Go's daysSinceEpoch (days from the absolute epoch to January 1st of `year`).
uint64_t DaysSinceEpoch(int64_t year) {
  uint64_t y = static_cast<uint64_t>(year) - static_cast<uint64_t>(kAbsoluteZeroYear);
  uint64_t n = y / 400;
  y -= 400 * n;
  uint64_t d = kDaysPer400Years * n;
  n = y / 100;
  y -= 100 * n;
  d += kDaysPer100Years * n;
  n = y / 4;
  y -= 4 * n;
  d += kDaysPer4Years * n;
  d += 365 * y;
  return d;
}

CivilTime ToCivil(int64_t secs) {
  const uint64_t abs = static_cast<uint64_t>(secs) + kUnixToAbsolute;
  CivilTime c{};
  int yday = 0;
  AbsDate(abs, &c.year, &c.month, &c.day, &yday);
  c.year_day = yday + 1;
  const uint64_t sec_of_day = abs % kSecondsPerDay;
  c.hour = static_cast<int>(sec_of_day / 3600);
  c.minute = static_cast<int>(sec_of_day % 3600 / 60);
  // January 1st of the absolute year was a Monday.
  c.weekday = static_cast<int>((abs + kSecondsPerDay) % (7 * kSecondsPerDay) / kSecondsPerDay);
  // days_in_month: 32 - time.Date(year, month, 32, 0, 0, 0, 0, UTC).Day().
  uint64_t d = DaysSinceEpoch(c.year) + static_cast<uint64_t>(kDaysBefore[c.month - 1]);
  if (GoIsLeap(c.year) && c.month >= 3) ++d;
  d += 31;
  int64_t y2;
  int m2, day2, yd2;
  AbsDate(d * kSecondsPerDay, &y2, &m2, &day2, &yd2);
  c.days_in_month = static_cast<uint64_t>(32 - day2);
  return c;
}

template <double (*F)(const CivilTime&)>
absl::Status DateFunc(const FunctionContext& ctx, Vector* out) {
  const bool no_args = ctx.call != nullptr ? ctx.call->args.empty() : ctx.args.empty();
  if (no_args) {
    // time.Unix(enh.Ts/1000, 0): Go's integer division truncates toward zero, as C++'s does.
    Append(ctx, Labels(), F(ToCivil(ctx.ts_ms / 1000)), out);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  for (const VSample& s : *in) {
    Append(ctx, DropMetricName(s.metric), F(ToCivil(GoFloatToInt64(s.v))), out);
  }
  return absl::OkStatus();
}

double DaysInMonthOf(const CivilTime& c) { return static_cast<double>(c.days_in_month); }
double DayOfMonthOf(const CivilTime& c) { return c.day; }
double DayOfWeekOf(const CivilTime& c) { return c.weekday; }
double DayOfYearOf(const CivilTime& c) { return c.year_day; }
double HourOf(const CivilTime& c) { return c.hour; }
double MinuteOf(const CivilTime& c) { return c.minute; }
double MonthOf(const CivilTime& c) { return c.month; }
double YearOf(const CivilTime& c) { return static_cast<double>(c.year); }

// ---------------------------------------------------------------------------------------------
// label_replace and label_join.

// Per-call cache: the compiled label_replace regex (its arguments are literals, so they are the
// same at every step).
struct RegexCache : FunctionCache {
  std::string pattern;
  std::unique_ptr<RE2> re;
};

bool IsGoNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Go's regexp.Regexp.ExpandString: `$1`, `${1}`, `$name`, `${name}`, `$$`; a name that is not a
// group (or a group that did not participate) expands to nothing; a malformed `$` is literal.
std::string ExpandTemplate(const RE2& re, std::string_view tmpl,
                           const std::vector<re2::StringPiece>& groups) {
  std::string dst;
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    dst.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      dst.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    // extract(): the name, optionally in braces.
    std::string_view str = tmpl;
    bool brace = false;
    if (!str.empty() && str[0] == '{') {
      brace = true;
      str.remove_prefix(1);
    }
    size_t i = 0;
    while (i < str.size() && IsGoNameChar(str[i])) ++i;
    bool ok = i > 0;
    if (ok && brace) {
      if (i >= str.size() || str[i] != '}') {
        ok = false;
      }
    }
    if (!ok) {
      dst.push_back('$');
      continue;
    }
    const std::string_view name = str.substr(0, i);
    if (brace) ++i;
    tmpl = str.substr(i);
    int64_t num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name[0] == '0') num = -1;  // No leading zeros.
    int index = -1;
    if (num >= 0) {
      index = static_cast<int>(num);
    } else {
      const auto& named = re.NamedCapturingGroups();
      auto it = named.find(std::string(name));
      if (it != named.end()) index = it->second;
    }
    if (index >= 0 && static_cast<size_t>(index) < groups.size() &&
        groups[index].data() != nullptr) {
      dst.append(groups[index].data(), groups[index].size());
    }
  }
  dst.append(tmpl);
  return dst;
}

absl::Status FuncLabelReplace(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  ASSIGN_OR_RETURN_FN(std::string_view dst, StringArg(ctx, 1));
  ASSIGN_OR_RETURN_FN(std::string_view repl, StringArg(ctx, 2));
  ASSIGN_OR_RETURN_FN(std::string_view src, StringArg(ctx, 3));
  ASSIGN_OR_RETURN_FN(std::string_view regex, StringArg(ctx, 4));

  const std::string pattern = absl::StrCat("^(?:", ToAbsl(regex), ")$");
  RegexCache local;
  RegexCache* cache = &local;
  if (ctx.cache != nullptr) {
    auto* existing = dynamic_cast<RegexCache*>(ctx.cache->get());
    if (existing == nullptr) {
      auto fresh = std::make_unique<RegexCache>();
      existing = fresh.get();
      *ctx.cache = std::move(fresh);
    }
    cache = existing;
  }
  if (cache->re == nullptr || cache->pattern != pattern) {
    RE2::Options opts;
    opts.set_log_errors(false);
    cache->pattern = pattern;
    cache->re = std::make_unique<RE2>(pattern, opts);
  }
  const RE2& re = *cache->re;
  if (!re.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid regular expression in label_replace(): ", ToAbsl(regex)));
  }
  if (!tsdb::IsValidLabelName(dst)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid destination label name in label_replace(): ", ToAbsl(dst)));
  }

  std::vector<re2::StringPiece> groups(re.NumberOfCapturingGroups() + 1);
  for (const VSample& s : *in) {
    const std::string_view src_val = s.metric.Get(src);
    const re2::StringPiece text(src_val.data(), src_val.size());
    if (!re.Match(text, 0, text.size(), RE2::UNANCHORED, groups.data(),
                  static_cast<int>(groups.size()))) {
      Append(ctx, s.metric, s.v, out);  // No match: labels unchanged.
      continue;
    }
    const std::string res = ExpandTemplate(re, repl, groups);
    tsdb::LabelsBuilder b(s.metric);
    b.Del(dst);
    if (!res.empty()) b.Set(dst, res);
    Append(ctx, b.Build(), s.v, out);
  }
  return absl::OkStatus();
}

absl::Status FuncLabelJoin(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  ASSIGN_OR_RETURN_FN(std::string_view dst, StringArg(ctx, 1));
  ASSIGN_OR_RETURN_FN(std::string_view sep, StringArg(ctx, 2));
  const size_t nargs = ctx.call != nullptr ? ctx.call->args.size() : 0;
  std::vector<std::string_view> srcs;
  for (size_t i = 3; i < nargs; ++i) {
    ASSIGN_OR_RETURN_FN(std::string_view src, StringArg(ctx, i));
    if (!tsdb::IsValidLabelName(src)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid source label name in label_join(): ", ToAbsl(src)));
    }
    srcs.push_back(src);
  }
  if (!tsdb::IsValidLabelName(dst)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid destination label name in label_join(): ", ToAbsl(dst)));
  }
  for (const VSample& s : *in) {
    std::string joined;
    for (size_t i = 0; i < srcs.size(); ++i) {
      if (i > 0) joined.append(sep);
      joined.append(s.metric.Get(srcs[i]));
    }
    tsdb::LabelsBuilder b(s.metric);
    if (joined.empty()) {
      b.Del(dst);
    } else {
      b.Set(dst, joined);
    }
    Append(ctx, b.Build(), s.v, out);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// absent.

// createLabelsForAbsentFunction: the labels of the equality matchers that name a label exactly
// once (any other matcher on a label removes it), excluding __name__.
Labels LabelsForAbsent(const Expr* e) {
  const promql::VectorSelector* vs = nullptr;
  if (e != nullptr) {
    if (const auto* v = std::get_if<promql::VectorSelector>(&e->node)) {
      vs = v;
    } else if (const auto* m = std::get_if<promql::MatrixSelector>(&e->node)) {
      vs = &m->vector_selector;
    }
  }
  if (vs == nullptr) return Labels();
  tsdb::LabelsBuilder b;
  std::vector<std::string_view> empty;
  for (const promql::Matcher& m : vs->matchers) {
    if (m.name == tsdb::kMetricName) continue;
    if (m.type == promql::MatchType::kEqual && b.Get(m.name).empty()) {
      b.Set(m.name, m.value);
    } else {
      empty.push_back(m.name);
    }
  }
  for (std::string_view n : empty) b.Del(n);
  return b.Build();
}

absl::Status FuncAbsent(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 0));
  if (!in->empty()) return absl::OkStatus();
  const Expr* arg =
      ctx.call != nullptr && !ctx.call->args.empty() ? ctx.call->args[0].get() : nullptr;
  Append(ctx, LabelsForAbsent(arg), 1, out);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// histogram_quantile over classic buckets (quantile.go).

struct Bucket {
  double upper_bound;
  double count;
};

// Go's strconv.ParseFloat(s, 64) for the usual spellings: decimal with optional sign and
// exponent, "inf"/"infinity"/"nan" in any case. Out-of-range values are errors, as in Go.
bool ParseGoFloat(std::string_view s, double* out) {
  if (s.empty()) return false;
  bool neg = false;
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty() || body[0] == '+' || body[0] == '-') return false;
  // from_chars would accept "nan(chars)"; Go does not.
  if (body.find('(') != std::string_view::npos) return false;
  double v = 0;
  const auto [ptr, ec] =
      std::from_chars(body.data(), body.data() + body.size(), v, std::chars_format::general);
  if (ec != std::errc() || ptr != body.data() + body.size()) return false;
  *out = neg ? -v : v;
  return true;
}

double BucketQuantile(double q, std::vector<Bucket>& buckets) {
  if (std::isnan(q)) return kNaN;
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::stable_sort(buckets.begin(), buckets.end(),
                   [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
  if (!(std::isinf(buckets.back().upper_bound) && buckets.back().upper_bound > 0)) return kNaN;

  // coalesceBuckets: merge buckets with the same upper bound (e.g. le="0.2" and le="2e-1").
  size_t n = 0;
  Bucket last = buckets[0];
  for (size_t j = 1; j < buckets.size(); ++j) {
    if (buckets[j].upper_bound == last.upper_bound) {
      last.count += buckets[j].count;
    } else {
      buckets[n++] = last;
      last = buckets[j];
    }
  }
  buckets[n++] = last;
  buckets.resize(n);

  // ensureMonotonic: the envelope of the counts.
  double max = buckets[0].count;
  for (size_t j = 1; j < buckets.size(); ++j) {
    if (buckets[j].count > max) {
      max = buckets[j].count;
    } else if (buckets[j].count < max) {
      buckets[j].count = max;
    }
  }

  if (buckets.size() < 2) return kNaN;
  const double observations = buckets.back().count;
  if (observations == 0) return kNaN;
  double rank = q * observations;
  // sort.Search(len-1, count >= rank): the first such index, or len-1.
  size_t b = 0;
  while (b < buckets.size() - 1 && !(buckets[b].count >= rank)) ++b;
  if (b == buckets.size() - 1) return buckets[buckets.size() - 2].upper_bound;
  if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
  double bucket_start = 0;
  const double bucket_end = buckets[b].upper_bound;
  double count = buckets[b].count;
  if (b > 0) {
    bucket_start = buckets[b - 1].upper_bound;
    count -= buckets[b - 1].count;
    rank -= buckets[b - 1].count;
  }
  return bucket_start + (bucket_end - bucket_start) * (rank / count);
}

absl::Status FuncHistogramQuantile(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(double q, ScalarArg(ctx, 0));
  ASSIGN_OR_RETURN_FN(const Vector* in, VectorArg(ctx, 1));
  struct Group {
    Labels metric;
    std::vector<Bucket> buckets;
  };
  std::vector<Group> groups;
  absl::flat_hash_map<std::string, size_t> index;  // signature (all labels but le) -> group
  std::string sig;
  for (const VSample& s : *in) {
    double upper = 0;
    if (!ParseGoFloat(s.metric.Get("le"), &upper)) continue;  // No or malformed le: skip.
    sig.clear();
    for (const tsdb::Label& l : s.metric) {
      if (l.name == "le") continue;
      absl::StrAppend(&sig, l.name, "\xff", l.value, "\xff");
    }
    auto [it, inserted] = index.try_emplace(sig, groups.size());
    if (inserted) {
      tsdb::LabelsBuilder b(s.metric);
      b.Del(tsdb::kMetricName);
      b.Del("le");
      groups.push_back(Group{b.Build(), {}});
    }
    groups[it->second].buckets.push_back(Bucket{upper, s.v});
  }
  for (Group& g : groups) Append(ctx, std::move(g.metric), BucketQuantile(q, g.buckets), out);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Range-vector functions. The engine sets the output labels; these append one value or none.

void AppendValue(const FunctionContext& ctx, double v, Vector* out) {
  Append(ctx, Labels(), v, out);
}

// extrapolatedRate (rate, increase, delta), 2.42's float path.
absl::Status ExtrapolatedRate(const FunctionContext& ctx, Vector* out, bool is_counter,
                              bool is_rate) {
  const std::vector<Point>& pts = MatrixPoints(ctx);
  const int64_t range_start = ctx.ts_ms - (ctx.range_ms + ctx.offset_ms);
  const int64_t range_end = ctx.ts_ms - ctx.offset_ms;
  if (pts.size() < 2) return absl::OkStatus();

  double result = pts.back().v - pts.front().v;
  if (is_counter) {
    double last_value = 0;
    for (const Point& p : pts) {
      if (p.v < last_value) result += last_value;
      last_value = p.v;
    }
  }

  double duration_to_start = static_cast<double>(pts.front().t_ms - range_start) / 1000;
  const double duration_to_end = static_cast<double>(range_end - pts.back().t_ms) / 1000;
  const double sampled_interval = static_cast<double>(pts.back().t_ms - pts.front().t_ms) / 1000;
  const double average_duration_between_samples =
      sampled_interval / static_cast<double>(pts.size() - 1);

  if (is_counter && result > 0 && pts.front().v >= 0) {
    // Counters cannot be negative: do not extrapolate below the counter's zero point.
    const double duration_to_zero = sampled_interval * (pts.front().v / result);
    if (duration_to_zero < duration_to_start) duration_to_start = duration_to_zero;
  }

  const double extrapolation_threshold = average_duration_between_samples * 1.1;
  double extrapolate_to_interval = sampled_interval;
  if (duration_to_start < extrapolation_threshold) {
    extrapolate_to_interval += duration_to_start;
  } else {
    extrapolate_to_interval += average_duration_between_samples / 2;
  }
  if (duration_to_end < extrapolation_threshold) {
    extrapolate_to_interval += duration_to_end;
  } else {
    extrapolate_to_interval += average_duration_between_samples / 2;
  }
  // One factor, as 2.40+ computes it (shared with native histograms): rate divides the factor,
  // not the result, which can differ from result/range in the last bit.
  double factor = extrapolate_to_interval / sampled_interval;
  if (is_rate) factor /= DurationSeconds(ctx.range_ms);
  result *= factor;
  AppendValue(ctx, result, out);
  return absl::OkStatus();
}

absl::Status FuncRate(const FunctionContext& ctx, Vector* out) {
  return ExtrapolatedRate(ctx, out, true, true);
}
absl::Status FuncIncrease(const FunctionContext& ctx, Vector* out) {
  return ExtrapolatedRate(ctx, out, true, false);
}
absl::Status FuncDelta(const FunctionContext& ctx, Vector* out) {
  return ExtrapolatedRate(ctx, out, false, false);
}

// instantValue (irate, idelta).
absl::Status InstantValue(const FunctionContext& ctx, Vector* out, bool is_rate) {
  const std::vector<Point>& pts = MatrixPoints(ctx);
  if (pts.size() < 2) return absl::OkStatus();
  const Point& last = pts[pts.size() - 1];
  const Point& prev = pts[pts.size() - 2];
  double result;
  if (is_rate && last.v < prev.v) {
    result = last.v;  // Counter reset.
  } else {
    result = last.v - prev.v;
  }
  const int64_t sampled_interval = last.t_ms - prev.t_ms;
  if (sampled_interval == 0) return absl::OkStatus();
  if (is_rate) result /= static_cast<double>(sampled_interval) / 1000;
  AppendValue(ctx, result, out);
  return absl::OkStatus();
}

absl::Status FuncIrate(const FunctionContext& ctx, Vector* out) {
  return InstantValue(ctx, out, true);
}
absl::Status FuncIdelta(const FunctionContext& ctx, Vector* out) {
  return InstantValue(ctx, out, false);
}

// linearRegression: Kahan-summed least squares with x in seconds relative to intercept_time.
// Returns {slope, intercept at intercept_time}.
std::pair<double, double> LinearRegression(const std::vector<Point>& pts, int64_t intercept_time) {
  double n = 0;
  double sum_x = 0, c_x = 0, sum_y = 0, c_y = 0, sum_xy = 0, c_xy = 0, sum_x2 = 0, c_x2 = 0;
  const double init_y = pts[0].v;
  bool const_y = true;
  for (size_t i = 0; i < pts.size(); ++i) {
    const Point& p = pts[i];
    if (const_y && i > 0 && p.v != init_y) const_y = false;
    n += 1.0;
    const double x = static_cast<double>(p.t_ms - intercept_time) / 1e3;
    KahanSumInc(x, sum_x, c_x);
    KahanSumInc(p.v, sum_y, c_y);
    KahanSumInc(x * p.v, sum_xy, c_xy);
    KahanSumInc(x * x, sum_x2, c_x2);
  }
  if (const_y) {
    if (std::isinf(init_y)) return {kNaN, kNaN};
    return {0, init_y};
  }
  sum_x = sum_x + c_x;
  sum_y = sum_y + c_y;
  sum_xy = sum_xy + c_xy;
  sum_x2 = sum_x2 + c_x2;
  const double cov_xy = sum_xy - sum_x * sum_y / n;
  const double var_x = sum_x2 - sum_x * sum_x / n;
  const double slope = cov_xy / var_x;
  const double intercept = sum_y / n - slope * sum_x / n;
  return {slope, intercept};
}

absl::Status FuncDeriv(const FunctionContext& ctx, Vector* out) {
  const std::vector<Point>& pts = MatrixPoints(ctx);
  if (pts.size() < 2) return absl::OkStatus();
  // Relative to the first sample's time to avoid precision loss (prometheus#2674).
  AppendValue(ctx, LinearRegression(pts, pts[0].t_ms).first, out);
  return absl::OkStatus();
}

absl::Status FuncPredictLinear(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(double duration, ScalarArg(ctx, 1));
  const std::vector<Point>& pts = MatrixPoints(ctx);
  if (pts.size() < 2) return absl::OkStatus();
  const auto [slope, intercept] = LinearRegression(pts, ctx.ts_ms);
  AppendValue(ctx, slope * duration + intercept, out);
  return absl::OkStatus();
}

double CalcTrendValue(size_t i, double tf, double s0, double s1, double b) {
  if (i == 0) return b;
  const double x = tf * (s1 - s0);
  const double y = (1 - tf) * b;
  return x + y;
}

absl::Status FuncHoltWinters(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(double sf, ScalarArg(ctx, 1));
  ASSIGN_OR_RETURN_FN(double tf, ScalarArg(ctx, 2));
  if (sf <= 0 || sf >= 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid smoothing factor. Expected: 0 < sf < 1, got: ", GoPercentF(sf)));
  }
  if (tf <= 0 || tf >= 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid trend factor. Expected: 0 < tf < 1, got: ", GoPercentF(tf)));
  }
  const std::vector<Point>& pts = MatrixPoints(ctx);
  const size_t l = pts.size();
  if (l < 2) return absl::OkStatus();
  double s0 = 0, s1 = pts[0].v, b = pts[1].v - pts[0].v;
  for (size_t i = 1; i < l; ++i) {
    const double x = sf * pts[i].v;
    b = CalcTrendValue(i - 1, tf, s0, s1, b);
    const double y = (1 - sf) * (s1 + b);
    s0 = s1;
    s1 = x + y;
  }
  AppendValue(ctx, s1, out);
  return absl::OkStatus();
}

absl::Status FuncResets(const FunctionContext& ctx, Vector* out) {
  const std::vector<Point>& pts = MatrixPoints(ctx);
  if (pts.empty()) return absl::OkStatus();
  int resets = 0;
  double prev = pts[0].v;
  for (size_t i = 1; i < pts.size(); ++i) {
    if (pts[i].v < prev) ++resets;
    prev = pts[i].v;
  }
  AppendValue(ctx, resets, out);
  return absl::OkStatus();
}

absl::Status FuncChanges(const FunctionContext& ctx, Vector* out) {
  const std::vector<Point>& pts = MatrixPoints(ctx);
  if (pts.empty()) return absl::OkStatus();
  int changes = 0;
  double prev = pts[0].v;
  for (size_t i = 1; i < pts.size(); ++i) {
    const double cur = pts[i].v;
    if (cur != prev && !(std::isnan(cur) && std::isnan(prev))) ++changes;
    prev = cur;
  }
  AppendValue(ctx, changes, out);
  return absl::OkStatus();
}

// aggrOverTime: one value computed from all points (nothing for an empty window).
template <double (*F)(const std::vector<Point>&)>
absl::Status AggrOverTime(const FunctionContext& ctx, Vector* out) {
  const std::vector<Point>& pts = MatrixPoints(ctx);
  if (pts.empty()) return absl::OkStatus();
  AppendValue(ctx, F(pts), out);
  return absl::OkStatus();
}

// avg_over_time: incremental Kahan mean that survives overflow and keeps infinities.
double AvgOf(const std::vector<Point>& pts) {
  double mean = 0, count = 0, c = 0;
  for (const Point& p : pts) {
    count++;
    if (std::isinf(mean)) {
      if (std::isinf(p.v) && (mean > 0) == (p.v > 0)) continue;
      if (!std::isinf(p.v) && !std::isnan(p.v)) continue;
    }
    KahanSumInc(p.v / count - mean / count, mean, c);
  }
  if (std::isinf(mean)) return mean;
  return mean + c;
}

double CountOf(const std::vector<Point>& pts) { return static_cast<double>(pts.size()); }
double LastOf(const std::vector<Point>& pts) { return pts.back().v; }
double OneOf(const std::vector<Point>&) { return 1; }

double MaxOf(const std::vector<Point>& pts) {
  double max = pts[0].v;
  for (const Point& p : pts) {
    if (p.v > max || std::isnan(max)) max = p.v;
  }
  return max;
}

double MinOf(const std::vector<Point>& pts) {
  double min = pts[0].v;
  for (const Point& p : pts) {
    if (p.v < min || std::isnan(min)) min = p.v;
  }
  return min;
}

double SumOf(const std::vector<Point>& pts) {
  double sum = 0, c = 0;
  for (const Point& p : pts) KahanSumInc(p.v, sum, c);
  if (std::isinf(sum)) return sum;
  return sum + c;
}

// Welford's algorithm with Kahan-compensated mean and sum of squares; returns the population
// variance.
double StdvarOf(const std::vector<Point>& pts) {
  double count = 0, mean = 0, c_mean = 0, aux = 0, c_aux = 0;
  for (const Point& p : pts) {
    count++;
    const double delta = p.v - (mean + c_mean);
    KahanSumInc(delta / count, mean, c_mean);
    KahanSumInc(delta * (p.v - (mean + c_mean)), aux, c_aux);
  }
  return (aux + c_aux) / count;
}

double StddevOf(const std::vector<Point>& pts) { return std::sqrt(StdvarOf(pts)); }

// quantile (quantile.go): linear interpolation between the closest ranks; NaN values sort
// first, as with Prometheus's vectorByValueHeap.
double Quantile(double q, std::vector<double> values) {
  if (values.empty()) return kNaN;
  if (std::isnan(q)) return kNaN;  // As promtool 2.42 answers (and without int(NaN) indexing).
  if (q < 0) return -kInf;
  if (q > 1) return kInf;
  std::stable_sort(values.begin(), values.end(), [](double a, double b) {
    if (std::isnan(b)) return false;
    return std::isnan(a) || a < b;
  });
  const double n = static_cast<double>(values.size());
  const double rank = q * (n - 1);
  const double lower_index = GoMax(0, std::floor(rank));
  const double upper_index = GoMin(n - 1, lower_index + 1);
  const double weight = rank - std::floor(rank);
  return values[static_cast<size_t>(lower_index)] * (1 - weight) +
         values[static_cast<size_t>(upper_index)] * weight;
}

absl::Status FuncQuantileOverTime(const FunctionContext& ctx, Vector* out) {
  ASSIGN_OR_RETURN_FN(double q, ScalarArg(ctx, 0));
  const std::vector<Point>& pts = MatrixPoints(ctx);
  if (pts.empty()) return absl::OkStatus();
  std::vector<double> values;
  values.reserve(pts.size());
  for (const Point& p : pts) values.push_back(p.v);
  AppendValue(ctx, Quantile(q, std::move(values)), out);
  return absl::OkStatus();
}

// absent_over_time: called only for series with points; the engine builds the final result.
absl::Status FuncAbsentOverTime(const FunctionContext& ctx, Vector* out) {
  AppendValue(ctx, 1, out);
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// The table.

const std::map<std::string_view, FunctionImpl>& Table() {
  static const auto* const kTable = new std::map<std::string_view, FunctionImpl>{
      {"abs", &SimpleFunc<Abs>},
      {"absent", &FuncAbsent},
      {"absent_over_time", &FuncAbsentOverTime},
      {"acos", &SimpleFunc<Acos>},
      {"acosh", &SimpleFunc<Acosh>},
      {"asin", &SimpleFunc<Asin>},
      {"asinh", &SimpleFunc<Asinh>},
      {"atan", &SimpleFunc<Atan>},
      {"atanh", &SimpleFunc<Atanh>},
      {"avg_over_time", &AggrOverTime<AvgOf>},
      {"ceil", &SimpleFunc<Ceil>},
      {"changes", &FuncChanges},
      {"clamp", &FuncClamp},
      {"clamp_max", &FuncClampMax},
      {"clamp_min", &FuncClampMin},
      {"cos", &SimpleFunc<Cos>},
      {"cosh", &SimpleFunc<Cosh>},
      {"count_over_time", &AggrOverTime<CountOf>},
      {"days_in_month", &DateFunc<DaysInMonthOf>},
      {"day_of_month", &DateFunc<DayOfMonthOf>},
      {"day_of_week", &DateFunc<DayOfWeekOf>},
      {"day_of_year", &DateFunc<DayOfYearOf>},
      {"deg", &SimpleFunc<Deg>},
      {"delta", &FuncDelta},
      {"deriv", &FuncDeriv},
      {"exp", &SimpleFunc<Exp>},
      {"floor", &SimpleFunc<Floor>},
      {"histogram_count", &FuncNativeHistogramOnly},
      {"histogram_sum", &FuncNativeHistogramOnly},
      {"histogram_fraction", &FuncNativeHistogramOnly},
      {"histogram_quantile", &FuncHistogramQuantile},
      {"holt_winters", &FuncHoltWinters},
      {"hour", &DateFunc<HourOf>},
      {"idelta", &FuncIdelta},
      {"increase", &FuncIncrease},
      {"irate", &FuncIrate},
      {"label_replace", &FuncLabelReplace},
      {"label_join", &FuncLabelJoin},
      {"last_over_time", &AggrOverTime<LastOf>},
      {"ln", &SimpleFunc<Ln>},
      {"log10", &SimpleFunc<Log10>},
      {"log2", &SimpleFunc<Log2>},
      {"max_over_time", &AggrOverTime<MaxOf>},
      {"min_over_time", &AggrOverTime<MinOf>},
      {"minute", &DateFunc<MinuteOf>},
      {"month", &DateFunc<MonthOf>},
      {"pi", &FuncPi},
      {"predict_linear", &FuncPredictLinear},
      {"present_over_time", &AggrOverTime<OneOf>},
      {"quantile_over_time", &FuncQuantileOverTime},
      {"rad", &SimpleFunc<Rad>},
      {"rate", &FuncRate},
      {"resets", &FuncResets},
      {"round", &FuncRound},
      {"scalar", &FuncScalar},
      {"sgn", &SimpleFunc<Sgn>},
      {"sin", &SimpleFunc<Sin>},
      {"sinh", &SimpleFunc<Sinh>},
      {"sort", &FuncSort},
      {"sort_desc", &FuncSortDesc},
      {"sqrt", &SimpleFunc<Sqrt>},
      {"stddev_over_time", &AggrOverTime<StddevOf>},
      {"stdvar_over_time", &AggrOverTime<StdvarOf>},
      {"sum_over_time", &AggrOverTime<SumOf>},
      {"tan", &SimpleFunc<Tan>},
      {"tanh", &SimpleFunc<Tanh>},
      {"time", &FuncTime},
      {"timestamp", &FuncTimestamp},
      {"vector", &FuncVector},
      {"year", &DateFunc<YearOf>},
  };
  return *kTable;
}

}  // namespace

FunctionImpl LookupFunctionImpl(std::string_view name) {
  const auto& t = Table();
  auto it = t.find(name);
  return it == t.end() ? nullptr : it->second;
}

}  // namespace stakewatch::query
