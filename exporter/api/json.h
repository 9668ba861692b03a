// A small JSON writer producing exactly the bytes Prometheus 2.42's HTTP API writes.
//
// Prometheus marshals with jsoniter's ConfigCompatibleWithStandardLibrary plus its own encoders
// for sample points; the rules below were checked against a running Prometheus 2.42:
//   - strings are escaped as Go's encoding/json does with HTML escaping on: `"` `\\`, `\n` `\r`
//     `\t` as short escapes, other control characters and `<` `>` `&` U+2028 U+2029 as
//     `\u00XX`-style escapes (lowercase hex), invalid UTF-8 bytes as `\ufffd`;
//   - sample values (vector and matrix points) are strings in strconv 'f' -1 format, or 'e' -1
//     when 0 < |v| < 1e-6 or |v| >= 1e21, and "+Inf", "-Inf", "NaN" (FormatSampleValue);
//   - sample timestamps are seconds with the milliseconds only when non-zero, always 3 digits
//     ("1700000000.010", "-1.500", "17") (FormatTimestamp);
//   - scalar and string results go through Go's float64 JSON encoding instead: shortest decimal
//     of ms/1000 ("1700000000.01") and the value always in 'f' format (FormatGoFloat, FormatF).
//
//   JsonWriter w;
//   w.BeginObject();
//   w.Key("status");
//   w.String("success");
//   w.EndObject();
//   std::string body = std::move(w).Take();
//
// Thread-compatible value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace stakewatch::api {

// strconv.FormatFloat(v, 'f', -1, 64): shortest round-tripping decimal without exponent;
// "+Inf", "-Inf", "NaN".
std::string FormatF(double v);
// strconv.FormatFloat(v, 'e', -1, 64): shortest mantissa, exponent with at least two digits
// ("1e-07", "1.5e+21", "0e+00"); "+Inf", "-Inf", "NaN".
std::string FormatE(double v);
// Prometheus's marshalValue for sample values: 'e' when 0 < |v| < 1e-6 or |v| >= 1e21, else 'f'.
std::string FormatSampleValue(double v);
// Prometheus's marshalTimestamp: t_ms as seconds, ".mmm" only when the milliseconds are non-zero.
std::string FormatTimestamp(int64_t t_ms);
// Go's encoding/json for a finite float64: 'f' -1, or 'e' -1 for 0 < |v| < 1e-6 or |v| >= 1e21
// with a one-digit negative exponent shortened ("1e-7"). Non-finite values (which Go refuses to
// encode) are written as 0.
std::string FormatGoFloat(double v);
// Go's time.Time JSON encoding in UTC: RFC 3339 with nanoseconds, trailing zeros trimmed
// ("2026-11-29T03:14:53.41848Z", "0001-01-01T00:00:00Z" for the zero time).
std::string FormatGoTime(absl::Time t);

// Appends `s` as a quoted JSON string with Go's escaping (see the file comment).
void AppendJsonString(std::string_view s, std::string* out);

// Writes one JSON document; inserts the commas. The caller keeps the structure balanced
// (Key before every value inside an object).
class JsonWriter {
 public:
  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view k);
  void String(std::string_view s);
  // Writes `raw` as a value without quoting (numbers, true/false/null, pre-encoded JSON).
  void Raw(std::string_view raw);
  void Int(int64_t v);
  void Bool(bool b) { Raw(b ? "true" : "false"); }

  const std::string& str() const { return out_; }
  std::string Take() && { return std::move(out_); }

 private:
  void BeforeValue();
  std::string out_;
  // One entry per open container: whether it already has an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

}  // namespace stakewatch::api
