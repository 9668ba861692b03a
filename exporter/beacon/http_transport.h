// HTTP transport for the Beacon API: one request in, one response (or a transport error) out.
//
// `HttpTransport` is the role the beacon client talks to; `HttplibTransport` implements it with
// cpp-httplib for one beacon node's base URL. Tests substitute fakes (or real loopback servers).
//
//   ASSIGN_OR_RETURN(auto transport, HttplibTransport::Create("http://localhost:5052", {}));
//   ASSIGN_OR_RETURN(HttpResponse r, transport->Send({.target = "/eth/v1/node/syncing"}));
//   if (r.status == 200) ... DecodeSyncing(r.body) ...
//
// Contract of Send():
//   * Any HTTP status (200, 404, 500, ...) is a successful *transport* result: the status code and
//     body are returned in HttpResponse and the caller decides what they mean.
//   * A transport failure is a non-OK absl::Status whose code says what went wrong, so that
//     callers can classify it without parsing messages (see TransportErrorReason):
//       kDeadlineExceeded  connect or read timeout                                  "timeout"
//       kUnavailable       could not connect (refused, DNS, TLS handshake, ...)     "connect"
//       kResourceExhausted the body exceeded the size limit (it was not buffered)   "too_large"
//       kAborted           the connection broke mid-exchange (reset, bad framing)   "io"
//       anything else      other failures (e.g. bad gzip stream)                    "transport"
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "beacon/decode.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace stakewatch::beacon {

enum class HttpMethod { kGet, kPost };

struct HttpRequest {
  HttpMethod method = HttpMethod::kGet;
  // Path plus query, relative to the node's base URL, e.g. "/eth/v1/node/syncing?x=1".
  // Must start with '/'.
  std::string target;
  std::string body;                               // POST only
  std::string content_type = "application/json";  // POST only
};

struct HttpResponse {
  int status = 0;
  std::string body;
  // The Eth-Consensus-Version response header ("deneb", "electra", ...); empty when absent.
  std::string consensus_version;
};

// Role interface: sends one HTTP request to one server.
// Thread-safety: implementations must allow concurrent Send() calls from several threads.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // Sends `request` and waits for the whole response (or a transport error, see file comment).
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

// Maps a transport error status to its metric reason: "timeout", "connect", "too_large", "io" or
// "transport" (see the table in the file comment). REQUIRES: !status.ok().
std::string_view TransportErrorReason(const absl::Status& status);

// A parsed node URL: scheme://[user:password@]host[:port][/base/path].
struct NodeUrl {
  std::string scheme;  // "http" or "https"
  std::string host;
  int port = 0;           // defaulted from the scheme when the URL has none
  std::string base_path;  // "" or "/prefix" (no trailing '/'); prepended to every target
  std::string user;       // basic-auth credentials from the URL, if any
  std::string password;
  // "scheme://host:port" without credentials or path (which may hold API keys): safe for logs
  // and metric labels.
  std::string Redacted() const;
};

// Parses an http(s) URL. Errors (InvalidArgument) name the problem but never echo credentials.
absl::StatusOr<NodeUrl> ParseNodeUrl(std::string_view url);

struct HttplibTransportOptions {
  // TCP (and TLS) connect timeout.
  absl::Duration connect_timeout = absl::Seconds(2);
  // Maximum wait for each socket read while receiving the response (not the total time).
  absl::Duration read_timeout = absl::Seconds(10);
  // Larger bodies (after gzip decoding) are cut off while receiving and reported as
  // kResourceExhausted; a Content-Length above the limit is rejected before reading the body.
  size_t max_response_bytes = kMaxResponseBytes;
  // Offer "Accept-Encoding: gzip" (responses are transparently decoded).
  bool gzip = true;
  // Idle keep-alive connections kept for reuse; more concurrent requests open extra connections
  // that are closed afterwards.
  int max_idle_connections = 4;
};

// cpp-httplib client for one base URL, HTTP/1.1 with keep-alive, "Accept: application/json".
//
// Thread-safety: thread-safe. httplib::Client is not, so each Send() borrows a client from a
// small pool (guarded by a mutex held only while borrowing and returning) and uses it alone;
// concurrent calls therefore use separate connections.
class HttplibTransport final : public HttpTransport {
 public:
  static absl::StatusOr<std::unique_ptr<HttplibTransport>> Create(
      std::string_view url, const HttplibTransportOptions& options);
  ~HttplibTransport() override;

  HttplibTransport(const HttplibTransport&) = delete;
  HttplibTransport& operator=(const HttplibTransport&) = delete;

  absl::StatusOr<HttpResponse> Send(const HttpRequest& request) override;

  // The URL without credentials or path (see NodeUrl::Redacted).
  const std::string& redacted_url() const { return redacted_url_; }

 private:
  HttplibTransport(NodeUrl url, const HttplibTransportOptions& options);
  std::unique_ptr<httplib::Client> NewClient() const;
  std::unique_ptr<httplib::Client> Borrow();
  void Return(std::unique_ptr<httplib::Client> client);

  const NodeUrl url_;
  const std::string redacted_url_;
  const HttplibTransportOptions options_;

  absl::Mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stakewatch::beacon
