// HTTP-facing helpers for /metrics: content negotiation, Content-Type, and gzip.
//
//   Format f = NegotiateFormat(req.get_header_value("Accept"));
//   std::string body;
//   store.Render(f, &body);
//   res.set_header("Content-Type", std::string(ContentType(f)));
//   if (AcceptsGzip(req.get_header_value("Accept-Encoding"))) {
//     if (auto gz = GzipCompress(body); gz.ok()) { body = *std::move(gz); /* Content-Encoding */ }
//   }
//
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "exposition/series_store.h"

namespace stakewatch::exposition {

// Chooses the exposition format for an Accept header. OpenMetrics 1.0.0 is chosen only when the
// header lists application/openmetrics-text (version 1.0.0, 0.0.1 or none) explicitly with q>0
// and a q strictly greater than text/plain's (the most specific of text/plain, text/*, */*, or 0
// when none is listed). Everything else, including an empty or malformed header, gets text
// 0.0.4. Prometheus 2.42's default header gets OpenMetrics.
Format NegotiateFormat(std::string_view accept_header);

// The exact Content-Type for `format`:
//   "text/plain; version=0.0.4; charset=utf-8" or
//   "application/openmetrics-text; version=1.0.0; charset=utf-8".
std::string_view ContentType(Format format);

// True if an Accept-Encoding header allows gzip: `gzip` (or `x-gzip`) with q>0, or `*` with q>0
// when gzip is not listed on its own. Case-insensitive; `gzip;q=0` refuses.
bool AcceptsGzip(std::string_view accept_encoding);

// Compresses `data` into a gzip stream (RFC 1952) at zlib's fastest level. Fails only if zlib
// does (e.g. out of memory), with an Internal status.
absl::StatusOr<std::string> GzipCompress(std::string_view data);

}  // namespace stakewatch::exposition
