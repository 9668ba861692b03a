#include "api/params.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "common/strings.h"

namespace stakewatch::api {
namespace {

constexpr double kTwo63 = 9223372036854775808.0;
__extension__ typedef __int128 int128;

// Go's int64(f) on amd64 for out-of-range values: the "integer indefinite" INT64_MIN.
int64_t GoInt64(double f) {
  if (!(f > -kTwo63 && f < kTwo63)) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(f);
}

// time.Unix(sec, nsec) followed by timestamp.FromTime: sec*1000 + nsec/1e6 after normalising
// nsec into [0, 1e9), with Go's wrapping int64 arithmetic.
int64_t UnixToMs(int64_t sec, int64_t nsec) {
  if (nsec < 0 || nsec >= 1'000'000'000) {
    int64_t n = nsec / 1'000'000'000;
    sec += n;
    nsec -= n * 1'000'000'000;
    if (nsec < 0) {
      nsec += 1'000'000'000;
      --sec;
    }
  }
  const uint64_t ms = static_cast<uint64_t>(sec) * 1000u + static_cast<uint64_t>(nsec / 1'000'000);
  return static_cast<int64_t>(ms);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at s[*i].
bool Digits(std::string_view s, size_t* i, int n, int* out) {
  if (*i + n > s.size()) return false;
  int v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = s[*i + k];
    if (!IsDigit(c)) return false;
    v = v * 10 + (c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

// time.Parse(time.RFC3339Nano, s), to milliseconds.
std::optional<int64_t> ParseRfc3339Ms(std::string_view s) {
  size_t i = 0;
  int year, month, day, hour, minute, second;
  if (!Digits(s, &i, 4, &year) || !Expect(s, &i, '-') || !Digits(s, &i, 2, &month) ||
      !Expect(s, &i, '-') || !Digits(s, &i, 2, &day) || !Expect(s, &i, 'T') ||
      !Digits(s, &i, 2, &hour) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &minute) ||
      !Expect(s, &i, ':') || !Digits(s, &i, 2, &second)) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    const size_t start = i;
    int64_t scale = 100'000'000;
    while (i < s.size() && IsDigit(s[i])) {
      nanos += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  int offset_s = 0;
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!Digits(s, &i, 2, &oh) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &om)) {
      return std::nullopt;
    }
    if (oh > 24 || om > 59) return std::nullopt;
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59 || day < 1) {
    return std::nullopt;
  }
  const absl::CivilDay first_of_month(year, month, 1);
  const absl::CivilDay first_of_next = absl::CivilDay(absl::CivilMonth(first_of_month) + 1);
  if (day > first_of_next - first_of_month) return std::nullopt;
  const absl::CivilSecond cs(year, month, day, hour, minute, second);
  const int64_t unix_s = (cs - absl::CivilSecond(1970, 1, 1, 0, 0, 0)) - offset_s;
  return UnixToMs(unix_s, nanos);
}

}  // namespace

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

std::optional<double> ParseGoFloat(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool neg = false;
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body.empty()) return std::nullopt;
  // Go allows underscores between digits (and after a base prefix): "1_000".
  std::string without_underscores;
  if (body.find('_') != std::string_view::npos) {
    for (size_t i = 0; i < body.size(); ++i) {
      if (body[i] != '_') {
        without_underscores += body[i];
        continue;
      }
      const bool after_ok = i > 0 && (std::isxdigit(static_cast<unsigned char>(body[i - 1])) ||
                                      body[i - 1] == 'x' || body[i - 1] == 'X');
      const bool before_ok =
          i + 1 < body.size() && std::isxdigit(static_cast<unsigned char>(body[i + 1]));
      if (!after_ok || !before_ok) return std::nullopt;
    }
    body = without_underscores;
  }
  const std::string lower = absl::AsciiStrToLower(ToAbsl(body));
  if (lower == "inf" || lower == "infinity") {
    return neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  std::chars_format fmt = std::chars_format::general;
  if (lower.size() > 2 && lower[0] == '0' && lower[1] == 'x') {
    // Go requires the binary exponent in hex floats.
    if (lower.find('p') == std::string::npos) return std::nullopt;
    body.remove_prefix(2);
    fmt = std::chars_format::hex;
  }
  // from_chars would accept "inf"/"nan" spellings handled above and no sign; reject anything
  // that is not a plain number from here on.
  if (body.empty() ||
      !(IsDigit(body[0]) || body[0] == '.' ||
        (fmt == std::chars_format::hex && std::isxdigit(static_cast<unsigned char>(body[0]))))) {
    return std::nullopt;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), v, fmt);
  if (end != body.data() + body.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Go: overflow is an error; underflow rounds to zero without one.
    if (std::fabs(v) >= 1.0 || std::isinf(v)) return std::nullopt;
    v = 0;
  } else if (ec != std::errc()) {
    return std::nullopt;
  }
  return neg ? -v : v;
}

absl::StatusOr<int64_t> ParseTimeMs(std::string_view s) {
  if (std::optional<double> f = ParseGoFloat(s); f.has_value() && std::isfinite(*f)) {
    double whole = 0;
    const double frac = std::modf(*f, &whole);
    const double ns = std::round(frac * 1000) / 1000;
    return UnixToMs(GoInt64(whole), GoInt64(ns * 1e9));
  }
  if (std::optional<int64_t> t = ParseRfc3339Ms(s)) return *t;
  if (s == "-292273086-05-16T16:47:06Z") return kMinTimeMs;
  if (s == "292277025-08-18T07:12:54.999999999Z") return kMaxTimeMs;
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse ", GoQuote(s), " to a valid timestamp"));
}

std::optional<int64_t> ParsePromDurationNs(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return std::nullopt;
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {
      {"y", 365LL * 24 * 3600 * 1000},
      {"w", 7LL * 24 * 3600 * 1000},
      {"d", 24LL * 3600 * 1000},
      {"h", 3600LL * 1000},
      {"m", 60LL * 1000},
      {"s", 1000},
      {"ms", 1},
  };
  size_t i = 0;
  size_t next_unit = 0;  // units must appear in order, each at most once
  int128 total_ns = 0;
  while (i < s.size()) {
    const size_t start = i;
    int128 n = 0;
    while (i < s.size() && IsDigit(s[i])) {
      n = n * 10 + (s[i] - '0');
      if (n > std::numeric_limits<int64_t>::max()) return std::nullopt;
      ++i;
    }
    if (i == start) return std::nullopt;
    // "ms" before "m".
    size_t unit = sizeof(kUnits) / sizeof(kUnits[0]);
    if (s.substr(i, 2) == "ms") {
      unit = 6;
    } else if (i < s.size()) {
      for (size_t u = 0; u < 6; ++u) {
        if (s[i] == kUnits[u].name[0]) unit = u;
      }
    }
    if (unit >= 7 || unit < next_unit) return std::nullopt;
    i += kUnits[unit].name.size();
    next_unit = unit + 1;
    total_ns += n * kUnits[unit].ms * 1'000'000;
    if (total_ns > std::numeric_limits<int64_t>::max()) return std::nullopt;  // out of range
  }
  return static_cast<int64_t>(total_ns);
}

absl::StatusOr<int64_t> ParseDurationNs(std::string_view s) {
  if (std::optional<double> d = ParseGoFloat(s)) {
    const double ts = *d * 1e9;
    if (ts > kTwo63 || ts < -kTwo63) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot parse ", GoQuote(s), " to a valid duration. It overflows int64"));
    }
    return GoInt64(ts);  // NaN and exactly 2^63 become INT64_MIN, as in Go on amd64
  }
  if (std::optional<int64_t> d = ParsePromDurationNs(s)) return *d;
  return absl::InvalidArgumentError(
      absl::StrCat("cannot parse ", GoQuote(s), " to a valid duration"));
}

}  // namespace stakewatch::api
