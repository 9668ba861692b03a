#include "exposition/http_format.h"

#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace stakewatch::exposition {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Splits `s` on `sep`, trimming each piece.
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t i = s.find(sep);
    out.push_back(Trim(s.substr(0, i)));
    if (i == std::string_view::npos) break;
    s.remove_prefix(i + 1);
  }
  return out;
}

// Parses an RFC 7231 qvalue ("0", "0.5", "1.000"). Returns -1 if malformed.
double ParseQ(std::string_view v) {
  v = Trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  double q = -1;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
  if (ec != std::errc() || ptr != v.data() + v.size() || !(q >= 0 && q <= 1)) return -1;
  return q;
}

// One element of an Accept or Accept-Encoding list.
struct Element {
  std::string_view value;    // media range or coding, e.g. "text/plain", "gzip"
  std::string_view version;  // the `version` parameter, if any
  double q = 1;              // -1 when the q parameter was malformed
};

Element ParseElement(std::string_view item) {
  std::vector<std::string_view> parts = Split(item, ';');
  Element e;
  e.value = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = Trim(parts[i].substr(0, eq));
    std::string_view val = Trim(parts[i].substr(eq + 1));
    if (EqualsIgnoreCase(key, "q")) {
      e.q = ParseQ(val);
    } else if (EqualsIgnoreCase(key, "version")) {
      if (val.size() >= 2 && val.front() == '"' && val.back() == '"') {
        val = val.substr(1, val.size() - 2);
      }
      e.version = val;
    }
  }
  return e;
}

}  // namespace

Format NegotiateFormat(std::string_view accept_header) {
  double om_q = 0;
  // Best q for text/plain by specificity: 2 = text/plain, 1 = text/*, 0 = */*.
  double text_q[3] = {-1, -1, -1};
  for (std::string_view item : Split(accept_header, ',')) {
    if (item.empty()) continue;
    const Element e = ParseElement(item);
    if (e.q < 0) continue;  // malformed q: ignore the element
    if (EqualsIgnoreCase(e.value, "application/openmetrics-text")) {
      if (e.version.empty() || e.version == "1.0.0" || e.version == "0.0.1") {
        om_q = std::max(om_q, e.q);
      }
    } else if (EqualsIgnoreCase(e.value, "text/plain")) {
      if (e.version.empty() || e.version == "0.0.4") text_q[2] = std::max(text_q[2], e.q);
    } else if (EqualsIgnoreCase(e.value, "text/*")) {
      text_q[1] = std::max(text_q[1], e.q);
    } else if (e.value == "*/*") {
      text_q[0] = std::max(text_q[0], e.q);
    }
  }
  double tq = 0;
  for (int i = 2; i >= 0; --i) {
    if (text_q[i] >= 0) {
      tq = text_q[i];
      break;
    }
  }
  return om_q > 0 && om_q > tq ? Format::kOpenMetrics100 : Format::kText004;
}

std::string_view ContentType(Format format) {
  switch (format) {
    case Format::kOpenMetrics100:
      return "application/openmetrics-text; version=1.0.0; charset=utf-8";
    case Format::kText004:
      break;
  }
  return "text/plain; version=0.0.4; charset=utf-8";
}

bool AcceptsGzip(std::string_view accept_encoding) {
  double gzip_q = -1, star_q = -1;
  for (std::string_view item : Split(accept_encoding, ',')) {
    if (item.empty()) continue;
    const Element e = ParseElement(item);
    if (e.q < 0) continue;
    if (EqualsIgnoreCase(e.value, "gzip") || EqualsIgnoreCase(e.value, "x-gzip")) {
      gzip_q = std::max(gzip_q, e.q);
    } else if (e.value == "*") {
      star_q = std::max(star_q, e.q);
    }
  }
  if (gzip_q >= 0) return gzip_q > 0;
  return star_q > 0;
}

absl::StatusOr<std::string> GzipCompress(std::string_view data) {
  z_stream zs{};
  // 15 window bits + 16: write a gzip header and trailer instead of zlib's.
  if (int rc = deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
      rc != Z_OK) {
    return absl::InternalError(absl::StrCat("deflateInit2 failed: ", rc));
  }
  std::string out;
  out.resize(deflateBound(&zs, data.size()) + 64);
  // zlib counts in uInt (32 bits): feed and drain at most 1 GiB at a time.
  constexpr size_t kChunk = size_t{1} << 30;
  const auto* in = reinterpret_cast<const Bytef*>(data.data());
  size_t in_left = data.size();
  size_t produced = 0;
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (zs.avail_in == 0 && in_left > 0) {
      const size_t n = std::min(in_left, kChunk);
      zs.next_in = const_cast<Bytef*>(in);
      zs.avail_in = static_cast<uInt>(n);
      in += n;
      in_left -= n;
    }
    if (out.size() - produced < 64) out.resize(out.size() * 2);
    const size_t room = std::min(out.size() - produced, kChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(room);
    rc = deflate(&zs, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
    produced += room - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      deflateEnd(&zs);
      return absl::InternalError(absl::StrCat("deflate failed: ", rc));
    }
  }
  deflateEnd(&zs);
  out.resize(produced);
  return out;
}

}  // namespace stakewatch::exposition
