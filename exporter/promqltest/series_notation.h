// Series descriptions: Prometheus's "expanding notation" for test input, as read by
// parser.ParseSeriesDesc in Prometheus 2.42 and used by both promql/test.go scripts (`load`
// blocks and expected-result lines) and promtool's rule unit tests (`input_series`).
//
//   ASSIGN_OR_RETURN(SeriesDescription d,
//                    ParseSeriesDescription(R"(http_requests{job="api"} 0+10x3 _ stale)"));
//   // d.labels == {__name__="http_requests", job="api"}
//   // d.values == 0 10 20 30 _ stale   (a+bxn gives n+1 values; _xn gives n omitted ones)
//   std::vector<tsdb::Sample> s = ExpandToSamples(d, /*step_ms=*/60000);
//   // samples at t=0,1m,2m,3m and a StaleNaN at 5m; the omitted slot at 4m has no sample.
//
// The grammar, reproduced from Prometheus's lexer (seriesDesc mode) and yacc grammar:
//   description := metric (SPACE item)* SPACE?
//   metric      := identifier [labelset] | labelset            (identifier:
//   [a-zA-Z_:][a-zA-Z0-9_:]*,
//                                                               not on/ignoring/group_left/
//                                                               group_right/bool/atan2/inf/nan)
//   labelset    := '{' [name '=' string (',' name '=' string)* [',']] '}'   (strings "..", '..',
//                                                               `..` with Go escapes)
//   item        := '_' ['x' uint] | value ['x' uint] | value signed 'x' uint
//   value       := number | signed | 'stale'      signed := ('+'|'-') number
//   number      := decimal digits/'.'/exponent, or Inf / NaN in any case; read like Go's
//                  strconv.ParseInt(s, 0, 64) then ParseFloat (so "010" is octal 8).
// `v x n` and `a+b x n` repeat n+1 times (the extra value is "time 0"), `_ x n` n times. Spaces
// separate items; none may appear inside an item. Unlike Go, which builds the whole list, the
// expansion is capped at kMaxSeriesValues values per description (an error beyond it).
//
// Also here: Go-compatible number, duration and float-formatting helpers that the script
// harness shares. Everything is a pure function of its arguments: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "tsdb/labels.h"

namespace stakewatch::promqltest {

// One slot of an expanded series: a value, or nothing (`_`), which keeps its time slot empty.
struct SequenceValue {
  double value = 0;
  bool omitted = false;
};

struct SeriesDescription {
  tsdb::Labels labels;  // includes __name__ when the description names a metric
  std::vector<SequenceValue> values;
};

inline constexpr size_t kMaxSeriesValues = size_t{1} << 22;

// Parses one description (leading/trailing blanks allowed). InvalidArgument with a message like
// `1:12: parse error: unexpected "x" in series values` on bad input.
absl::StatusOr<SeriesDescription> ParseSeriesDescription(std::string_view line);

// promtool's input_series entry {series, values}: unittest.go writes `  <series> <values>` into a
// load block, so this is ParseSeriesDescription(series + " " + values).
absl::StatusOr<SeriesDescription> ParseInputSeries(std::string_view series,
                                                   std::string_view values);

// Parses only a metric: `name{l="v"}`, `name` or `{l="v"}` with nothing after it.
absl::StatusOr<tsdb::Labels> ParseMetric(std::string_view text);

// Samples for slot i at start_ms + i * step_ms, skipping omitted slots.
std::vector<tsdb::Sample> ExpandToSamples(const SeriesDescription& desc, int64_t step_ms,
                                          int64_t start_ms = 0);

// Go's strconv.ParseInt(s, 0, 64) falling back to strconv.ParseFloat(s, 64): test.go's
// parseNumber, used for bare scalar lines. Accepts 0x/0o/0b/leading-0 integers, underscores
// between digits, decimal and hex ("0x1p-2") floats, Inf/Infinity/NaN in any case.
absl::StatusOr<double> ParseGoNumber(std::string_view s);

// prometheus/common model.ParseDuration: "0" or [Ny][Nw][Nd][Nh][Nm][Ns][Nms], in milliseconds.
absl::StatusOr<int64_t> ParseGoDuration(std::string_view s);

// Go's fmt "%v" for a float64 (strconv 'g', shortest): shortest round-trip digits, exponent
// form when the decimal exponent is < -4 or >= 6 ("1e+06", "123456.7", "1.234e-05"); NaN, +Inf and
// -Inf spelled as Go does.
std::string FormatGoFloat(double v);

// Go's fmt "%f" (6 decimals; NaN, +Inf, -Inf): how test.go prints expected SequenceValues.
std::string FormatGoFixed(double v);

}  // namespace stakewatch::promqltest
