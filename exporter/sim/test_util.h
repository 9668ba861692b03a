// Test-only helpers for sim_test: an independent JSON/hex/bitlist reader built on simdjson, so
// that tests check the simulator's wire output without reusing its rendering code.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "simdjson.h"

namespace stakewatch::sim::testing {

inline std::string_view Str(simdjson::dom::element e, std::string_view key) {
  std::string_view s;
  if (e[key].get_string().get(s) != simdjson::SUCCESS) ADD_FAILURE() << "no string " << key;
  return s;
}

// A decimal-string field, as the Beacon API encodes every number.
inline uint64_t Num(simdjson::dom::element e, std::string_view key) {
  std::string_view s = Str(e, key);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    ADD_FAILURE() << key << " is not a decimal string: " << s;
  }
  return v;
}

inline simdjson::dom::element Field(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::element out;
  if (e[key].get(out) != simdjson::SUCCESS) ADD_FAILURE() << "no field " << key;
  return out;
}

inline simdjson::dom::array Arr(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::array out;
  if (e[key].get_array().get(out) != simdjson::SUCCESS) ADD_FAILURE() << "no array " << key;
  return out;
}

// "0x..." -> bytes; nullopt if malformed.
inline std::optional<std::vector<uint8_t>> Unhex(std::string_view s) {
  if (s.size() < 2 || s.substr(0, 2) != "0x" || s.size() % 2 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  for (size_t i = 2; i < s.size(); i += 2) {
    uint8_t b = 0;
    auto [ptr, ec] = std::from_chars(s.data() + i, s.data() + i + 2, b, 16);
    if (ec != std::errc() || ptr != s.data() + i + 2) return std::nullopt;
    out.push_back(b);
  }
  return out;
}

inline bool Bit(const std::vector<uint8_t>& bytes, size_t i) {
  return (bytes[i / 8] >> (i % 8)) & 1;
}

// Length of an SSZ bitlist: the index of its highest set bit (the length marker). -1 if there is
// no marker (all zero or empty), which is invalid.
inline int64_t BitlistLength(const std::vector<uint8_t>& bytes) {
  for (size_t i = bytes.size(); i-- > 0;) {
    if (bytes[i] != 0) {
      int top = 7;
      while (!((bytes[i] >> top) & 1)) --top;
      return static_cast<int64_t>(i * 8 + static_cast<size_t>(top));
    }
  }
  return -1;
}

}  // namespace stakewatch::sim::testing
