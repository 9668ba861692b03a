// JSON strings exactly as Go's encoding/json writes them (json.Marshal, with HTML escaping, Go
// before 1.22): `"` and `\` escaped, \n \r \t short forms, other control characters and < > &
// as \u00XX, U+2028/U+2029 as \u2028/\u2029, each invalid UTF-8 byte as \ufffd, everything
// else (DEL included) raw. Used where stakewatch must be byte-identical to Prometheus: the HTTP
// API and the alerts POSTed to Alertmanager.
//
// Thread-safe (pure function).
#pragma once

#include <string>
#include <string_view>

namespace stakewatch {

// Appends `s` quoted and escaped to `out`.
void AppendGoJsonString(std::string_view s, std::string* out);

}  // namespace stakewatch
