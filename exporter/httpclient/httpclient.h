// httpclient: the pieces of an outgoing HTTP(S) request that the scraper and the notifier share,
// built the way Prometheus's common/config HTTP client builds them.
//
//   ASSIGN_OR_RETURN(std::string auth,
//                    httpclient::AuthorizationHeader(cfg.basic_auth, "", cfg.authorization));
//   ASSIGN_OR_RETURN(auto client, httpclient::NewClient({.scheme = "https",
//                                                        .target = "am.example:9093",
//                                                        .tls = cfg.tls_config,
//                                                        .timeout = absl::Seconds(10)}));
//   httplib::Headers headers;
//   if (!auth.empty()) headers.emplace("Authorization", auth);
//   httplib::Result res = client->Post("/api/v2/alerts", headers, body, "application/json");
//
// Secret files (password_file, bearer_token_file, credentials_file) are read on every call, so a
// rotated secret is picked up by the next request; their content is trimmed of surrounding ASCII
// whitespace (prometheus/common trims the trailing newline an editor leaves).
//
// Errors (absl::Status codes, so that callers can classify them):
//   FailedPrecondition  an unreadable secret file (AuthorizationHeader) or an unreadable TLS
//                       file / unusable client certificate (NewClient);
//   InvalidArgument     an unsupported scheme or a malformed target;
//   Unavailable         the target's host does not resolve (only needed for tls.server_name).
// Messages name the file or target, never a secret.
//
// Threads: every function is thread-safe (no shared state). A returned client belongs to the
// caller and, like any httplib client, serves one request at a time; ClientImpl::stop() may be
// called from another thread to abort the request in flight.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "config/config.h"

namespace httplib {
class ClientImpl;
}

namespace stakewatch::httpclient {

// The value of the Authorization header for these settings, or "" when none is set. At most one
// should be set; if several are, basic_auth wins over bearer_token_file over authorization:
//   basic_auth          "Basic " + base64(username ":" password), the password from
//                       password_file when that is set;
//   bearer_token_file   "Bearer " + the file's content;
//   authorization       type + " " + credentials (or credentials_file's content).
absl::StatusOr<std::string> AuthorizationHeader(
    const std::optional<config::BasicAuth>& basic_auth, std::string_view bearer_token_file,
    const std::optional<config::Authorization>& authorization);

// Standard base64 (RFC 4648, with padding). Exposed for tests.
std::string Base64(std::string_view in);

// A target split into host and port.
struct HostPort {
  std::string host;  // without IPv6 brackets
  int port = 0;
};

// Splits "host:port", "[v6]:port", "host" or "[v6]"; the port defaults to 443 for "https" and
// 80 otherwise. InvalidArgument ("invalid target \"...\"") for an empty host, an unclosed
// bracket or a port that is not in 1..65535.
absl::StatusOr<HostPort> SplitTarget(std::string_view target, std::string_view scheme);

struct ClientOptions {
  std::string scheme = "http";  // "http" or "https"
  std::string target;           // as for SplitTarget
  config::TlsConfig tls;        // used for https only
  // Connection, read and write timeouts (each phase separately, as httplib does); > 0.
  absl::Duration timeout = absl::Seconds(10);
};

// A client for `options.target`, with keep-alive off. For https: ca_file (else the system's CA
// store), cert_file/key_file as the client certificate, server_name as the name sent (SNI) and
// verified while connecting to the target's address, and insecure_skip_verify.
absl::StatusOr<std::unique_ptr<httplib::ClientImpl>> NewClient(const ClientOptions& options);

}  // namespace stakewatch::httpclient
