// String-view conversion at the boundary between abseil and the standard library.
//
// Debian's abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so absl::string_view and
// std::string_view are distinct types. stakewatch's own signatures use std::string_view (simdjson,
// re2 and httplib speak it); these two helpers convert where abseil is called.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace stakewatch {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace stakewatch
