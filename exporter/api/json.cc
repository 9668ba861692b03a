#include "api/json.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/go_float.h"

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

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if it is invalid (Go's
// utf8.DecodeRuneInString returning RuneError with width 1).
size_t Utf8Len(std::string_view s, size_t i, uint32_t* rune) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  if (c < 0x80) {
    *rune = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF && cont(i + 1)) {
    *rune = ((c & 0x1F) << 6) | (b(i + 1) & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF && cont(i + 1) && cont(i + 2)) {
    const uint32_t r = ((c & 0x0F) << 12) | ((b(i + 1) & 0x3F) << 6) | (b(i + 2) & 0x3F);
    if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return 0;  // overlong or surrogate
    *rune = r;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(i + 1) && cont(i + 2) && cont(i + 3)) {
    const uint32_t r = ((c & 0x07) << 18) | ((b(i + 1) & 0x3F) << 12) | ((b(i + 2) & 0x3F) << 6) |
                       (b(i + 3) & 0x3F);
    if (r < 0x10000 || r > 0x10FFFF) return 0;
    *rune = r;
    return 4;
  }
  return 0;
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

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out->append("\\\"");
          break;
        case '\\':
          out->append("\\\\");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        case '<':
        case '>':
        case '&':
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
          break;
        default:
          if (c < 0x20) {
            out->append("\\u00");
            out->push_back(kHex[c >> 4]);
            out->push_back(kHex[c & 0xF]);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    uint32_t rune = 0;
    const size_t len = Utf8Len(s, i, &rune);
    if (len == 0) {
      out->append("\\ufffd");
      ++i;
      continue;
    }
    if (rune == 0x2028 || rune == 0x2029) {
      out->append(rune == 0x2028 ? "\\u2028" : "\\u2029");
    } else {
      out->append(s.substr(i, len));
    }
    i += len;
  }
  out->push_back('"');
}

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
