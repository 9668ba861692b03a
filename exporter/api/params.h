// Parameter parsing of Prometheus 2.42's HTTP API (web/api/v1/api.go parseTime, parseDuration,
// and prometheus/common model.ParseDuration), with the same accepted syntax and rounding.
//
//   absl::StatusOr<int64_t> t = ParseTimeMs("1700000000.123");      // 1700000000123
//   absl::StatusOr<int64_t> t = ParseTimeMs("2023-01-01T00:00:00Z"); // 1672531200000
//   absl::StatusOr<int64_t> d = ParseDurationNs("1m30s");             // 90e9
//
// Errors are InvalidArgument with Prometheus's text (`cannot parse "x" to a valid timestamp`),
// which the API wraps as `invalid parameter "time": ...`.
//
// Known differences: non-finite numbers ("NaN", "Inf") are rejected as times (Go would turn
// them into arbitrary instants), and RFC 3339 times keep only millisecond precision (Go keeps
// nanoseconds until the query converts them to milliseconds).
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace stakewatch::api {

// Prometheus's MinTime/MaxTime (the defaults of start/end for series and labels) in ms.
inline constexpr int64_t kMinTimeMs = -9223309901257975000;
inline constexpr int64_t kMaxTimeMs = 9223309901257974999;

// Go's %q for an ASCII/UTF-8 string: quotes, with \" \\ \n \r \t and \xNN for other control
// bytes.
std::string GoQuote(std::string_view s);

// Go's strconv.ParseFloat(s, 64) syntax: optional sign, decimal or hex ("0x1p4") mantissa,
// optional exponent, "inf"/"infinity"/"nan" in any case. nullopt if not a number or out of range.
std::optional<double> ParseGoFloat(std::string_view s);

// parseTime: a float of unix seconds (the fraction rounded to milliseconds, half away from zero,
// as Go's math.Round) or an RFC 3339 time with optional fraction, converted to ms like
// timestamp.FromTime. Also accepts the formatted MinTime/MaxTime.
absl::StatusOr<int64_t> ParseTimeMs(std::string_view s);

// parseDuration: float seconds or a Prometheus duration ("1h30m", "5m", "250ms", "1y2w3d");
// nanoseconds. Negative values are returned as they are (callers reject them).
absl::StatusOr<int64_t> ParseDurationNs(std::string_view s);

// model.ParseDuration: [N y][N w][N d][N h][N m][N s][N ms] in this order, or "0"; ns.
std::optional<int64_t> ParsePromDurationNs(std::string_view s);

}  // namespace stakewatch::api
