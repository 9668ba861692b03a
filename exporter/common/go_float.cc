#include "common/go_float.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace stakewatch {

std::string GoFormatFloatF(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), std::fabs(v), std::chars_format::scientific);
  const std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
  const size_t e = s.find('e');
  std::string digits;
  for (size_t k = 0; k < e; ++k) {
    if (s[k] != '.') digits.push_back(s[k]);
  }
  const int exp = std::atoi(std::string(s.substr(e + 1)).c_str());
  std::string out = std::signbit(v) ? "-" : "";
  if (exp < 0) {
    out += "0.";
    out.append(static_cast<size_t>(-exp - 1), '0');
    out += digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    out += digits;
    out.append(static_cast<size_t>(exp) + 1 - digits.size(), '0');
  } else {
    out += digits.substr(0, static_cast<size_t>(exp) + 1);
    out += '.';
    out += digits.substr(static_cast<size_t>(exp) + 1);
  }
  return out;
}

}  // namespace stakewatch
