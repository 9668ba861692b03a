#include "api/json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/go_float.h"
#include "common/go_json.h"

namespace stakewatch::api {
namespace {

// Go's strconv names for the non-finite values.
bool NonFinite(double v, std::string* out) {
  if (std::isnan(v)) {
    *out = "NaN";
    return true;
  }
  if (std::isinf(v)) {
    *out = v > 0 ? "+Inf" : "-Inf";
    return true;
  }
  return false;
}

std::string ToChars(double v, std::chars_format fmt) {
  char buf[512];  // 'f' of the largest double is 309 digits
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, fmt);
  if (ec != std::errc()) return "0";  // cannot happen with this buffer
  return std::string(buf, end);
}

bool UseE(double v) {
  const double a = std::fabs(v);
  return a != 0 && (a < 1e-6 || a >= 1e21);
}

}  // namespace

std::string FormatF(double v) {
  std::string s;
  if (NonFinite(v, &s)) return s;
  return GoFormatFloatF(v);
}

std::string FormatE(double v) {
  std::string s;
  if (NonFinite(v, &s)) return s;
  return ToChars(v, std::chars_format::scientific);
}

std::string FormatSampleValue(double v) { return UseE(v) ? FormatE(v) : FormatF(v); }

std::string FormatTimestamp(int64_t t_ms) {
  std::string out;
  uint64_t t = static_cast<uint64_t>(t_ms);
  if (t_ms < 0) {
    out = "-";
    t = 0 - t;  // well defined for INT64_MIN too
  }
  absl::StrAppend(&out, t / 1000);
  if (const uint64_t frac = t % 1000; frac != 0)
    absl::StrAppend(&out, absl::StrFormat(".%03d", frac));
  return out;
}

std::string FormatGoFloat(double v) {
  if (!std::isfinite(v)) return "0";
  if (!UseE(v)) return GoFormatFloatF(v);
  std::string s = ToChars(v, std::chars_format::scientific);
  const size_t n = s.size();
  if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') {
    s[n - 2] = s[n - 1];
    s.pop_back();
  }
  return s;
}

std::string FormatGoTime(absl::Time t) {
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilSecond cs = absl::ToCivilSecond(t, utc);
  const absl::Time whole = absl::FromCivil(cs, utc);
  int64_t nanos = absl::ToInt64Nanoseconds(t - whole);  // [0, 1e9)
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", cs.year(), cs.month(),
                                    cs.day(), cs.hour(), cs.minute(), cs.second());
  if (nanos > 0) {
    std::string frac = absl::StrFormat("%09d", nanos);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    absl::StrAppend(&out, ".", frac);
  }
  out += 'Z';
  return out;
}

void AppendJsonString(std::string_view s, std::string* out) { AppendGoJsonString(s, out); }

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (!has_element_.empty()) {
    if (has_element_.back()) out_.push_back(',');
    has_element_.back() = true;
  }
}

void JsonWriter::BeginObject() {
  BeforeValue();
  out_.push_back('{');
  has_element_.push_back(false);
}

void JsonWriter::EndObject() {
  out_.push_back('}');
  if (!has_element_.empty()) has_element_.pop_back();
}

void JsonWriter::BeginArray() {
  BeforeValue();
  out_.push_back('[');
  has_element_.push_back(false);
}

void JsonWriter::EndArray() {
  out_.push_back(']');
  if (!has_element_.empty()) has_element_.pop_back();
}

void JsonWriter::Key(std::string_view k) {
  BeforeValue();
  AppendJsonString(k, &out_);
  out_.push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view s) {
  BeforeValue();
  AppendJsonString(s, &out_);
}

void JsonWriter::Raw(std::string_view raw) {
  BeforeValue();
  out_.append(raw);
}

void JsonWriter::Int(int64_t v) { Raw(absl::StrCat(v)); }

}  // namespace stakewatch::api
