// Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest decimal digits that round-trip, written
// without an exponent (padded with zeros). Prometheus uses it for sample values in its HTTP API
// and for count_values' label. std::to_chars(v, chars_format::fixed) differs for values of more
// than 17 integer digits: it prints the exact value (99999999999999639552) where Go prints the
// shortest digits padded with zeros (99999999999999640000).
//
// Pure function; thread-safe.
#pragma once

#include <string>

namespace stakewatch {

// "NaN", "+Inf", "-Inf" for the non-finite values; "-0" for negative zero, as Go.
std::string GoFormatFloatF(double v);

}  // namespace stakewatch
