#include "beacon/http_transport.h"

#include <httplib.h>

#include <chrono>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace stakewatch::beacon {
namespace {

// Splits a Duration into the (seconds, microseconds) pair httplib's setters take.
std::pair<time_t, time_t> SecUsec(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t usec = absl::ToInt64Microseconds(d);
  return {static_cast<time_t>(usec / 1000000), static_cast<time_t>(usec % 1000000)};
}

}  // namespace

std::string_view TransportErrorReason(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kUnavailable:
      return "connect";
    case absl::StatusCode::kResourceExhausted:
      return "too_large";
    case absl::StatusCode::kAborted:
      return "io";
    default:
      return "transport";
  }
}

std::string NodeUrl::Redacted() const { return absl::StrCat(scheme, "://", host, ":", port); }

absl::StatusOr<NodeUrl> ParseNodeUrl(std::string_view url) {
  NodeUrl out;
  std::string_view rest = url;
  const size_t scheme_end = rest.find("://");
  if (scheme_end == std::string_view::npos) {
    return absl::InvalidArgumentError("node URL must start with http:// or https://");
  }
  out.scheme = absl::AsciiStrToLower(ToAbsl(rest.substr(0, scheme_end)));
  if (out.scheme != "http" && out.scheme != "https") {
    return absl::InvalidArgumentError(
        absl::StrCat("node URL scheme must be http or https, got \"", out.scheme, "\""));
  }
  rest.remove_prefix(scheme_end + 3);
  // Authority ends at the first '/', '?' or '#'.
  const size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view path =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (!path.empty() && path[0] != '/') {
    return absl::InvalidArgumentError("node URL must not have a query or fragment");
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return absl::InvalidArgumentError("node URL must not have a query or fragment");
  }
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority.remove_prefix(at + 1);
    const size_t colon = userinfo.find(':');
    out.user = std::string(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) out.password = std::string(userinfo.substr(colon + 1));
  }
  std::string_view port_text;
  if (!authority.empty() && authority[0] == '[') {  // IPv6 literal
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("node URL has an unterminated IPv6 address");
    }
    out.host = std::string(authority.substr(0, close + 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return absl::InvalidArgumentError("node URL has a malformed host");
      port_text = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.host == "[]") {
    return absl::InvalidArgumentError("node URL has no host");
  }
  for (char c : out.host) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
          c == ':' || c == '[' || c == ']')) {
      return absl::InvalidArgumentError("node URL host has invalid characters");
    }
  }
  if (port_text.empty()) {
    out.port = out.scheme == "https" ? 443 : 80;
  } else {
    int port = 0;
    if (port_text.size() > 5 || !absl::SimpleAtoi(ToAbsl(port_text), &port) || port <= 0 ||
        port > 65535) {
      return absl::InvalidArgumentError("node URL has an invalid port");
    }
    out.port = port;
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.base_path = std::string(path);
  return out;
}

absl::StatusOr<std::unique_ptr<HttplibTransport>> HttplibTransport::Create(
    std::string_view url, const HttplibTransportOptions& options) {
  auto parsed = ParseNodeUrl(url);
  if (!parsed.ok()) return parsed.status();
  if (options.max_response_bytes == 0) {
    return absl::InvalidArgumentError("max_response_bytes must be positive");
  }
  auto transport =
      std::unique_ptr<HttplibTransport>(new HttplibTransport(*std::move(parsed), options));
  // Fail early on a URL httplib cannot use (e.g. https without TLS support).
  if (!transport->NewClient()->is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create an HTTP client for ", transport->redacted_url_));
  }
  return transport;
}

HttplibTransport::HttplibTransport(NodeUrl url, const HttplibTransportOptions& options)
    : url_(std::move(url)), redacted_url_(url_.Redacted()), options_(options) {}

HttplibTransport::~HttplibTransport() = default;

std::unique_ptr<httplib::Client> HttplibTransport::NewClient() const {
  auto client = std::make_unique<httplib::Client>(redacted_url_);
  const auto [csec, cusec] = SecUsec(options_.connect_timeout);
  client->set_connection_timeout(csec, cusec);
  const auto [rsec, rusec] = SecUsec(options_.read_timeout);
  client->set_read_timeout(rsec, rusec);
  client->set_write_timeout(rsec, rusec);
  client->set_keep_alive(true);
  client->set_follow_location(false);
  client->set_decompress(true);
  client->set_tcp_nodelay(true);
  if (!url_.user.empty() || !url_.password.empty()) {
    client->set_basic_auth(url_.user.c_str(), url_.password.c_str());
  }
  return client;
}

std::unique_ptr<httplib::Client> HttplibTransport::Borrow() {
  {
    absl::MutexLock lock(&mu_);
    if (!idle_.empty()) {
      std::unique_ptr<httplib::Client> client = std::move(idle_.back());
      idle_.pop_back();
      return client;
    }
  }
  return NewClient();
}

void HttplibTransport::Return(std::unique_ptr<httplib::Client> client) {
  absl::MutexLock lock(&mu_);
  if (static_cast<int>(idle_.size()) < options_.max_idle_connections) {
    idle_.push_back(std::move(client));
  }
  // Otherwise `client` is destroyed here, closing its connection.
}

absl::StatusOr<HttpResponse> HttplibTransport::Send(const HttpRequest& request) {
  if (request.target.empty() || request.target[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("request target must start with '/': \"", request.target, "\""));
  }
  httplib::Request req;
  req.method = request.method == HttpMethod::kPost ? "POST" : "GET";
  req.path = url_.base_path + request.target;
  req.set_header("Accept", "application/json");
  req.set_header("Accept-Encoding", options_.gzip ? "gzip" : "identity");
  if (request.method == HttpMethod::kPost) {
    req.body = request.body;
    req.set_header("Content-Type", request.content_type);
  }

  HttpResponse out;
  const size_t limit = options_.max_response_bytes;
  bool too_large = false;
  uint64_t announced_length = 0;
  req.response_handler = [&](const httplib::Response& res) {
    out.consensus_version = res.get_header_value("Eth-Consensus-Version");
    const std::string length = res.get_header_value("Content-Length");
    uint64_t n = 0;
    if (!length.empty() && absl::SimpleAtoi(length, &n)) {
      announced_length = n;
      if (n > limit) {
        too_large = true;
        return false;
      }
      // The length is what is on the wire; gzip may expand it, the receiver still caps it.
      // The padding lets decoders parse the body in place (see PaddedBody).
      out.body.reserve(static_cast<size_t>(n) + kBodyPadding);
    }
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t /*offset*/, uint64_t /*total*/) {
    if (n > limit - out.body.size()) {
      too_large = true;
      return false;
    }
    out.body.append(data, n);
    return true;
  };

  std::unique_ptr<httplib::Client> client = Borrow();
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const auto start = std::chrono::steady_clock::now();
  const bool ok = client->send(req, res, error);
  const absl::Duration elapsed = absl::FromChrono(std::chrono::steady_clock::now() - start);
  if (ok) {
    out.status = res.status;
    Return(std::move(client));
    return out;
  }
  // On failure the connection may be half-read: drop the client (closing its socket) instead
  // of returning it to the pool.
  client.reset();

  const std::string where = absl::StrCat(req.method, " ", redacted_url_, request.target);
  if (too_large) {
    if (announced_length > limit) {
      return absl::ResourceExhaustedError(
          absl::StrCat(where, ": response too large: Content-Length ", announced_length,
                       " exceeds the limit of ", limit, " bytes"));
    }
    return absl::ResourceExhaustedError(absl::StrCat(
        where, ": response too large: body exceeded the limit of ", limit, " bytes; cut off"));
  }
  switch (error) {
    case httplib::Error::ConnectionTimeout:
      return absl::DeadlineExceededError(
          absl::StrCat(where, ": connect timeout after ", absl::FormatDuration(elapsed)));
    case httplib::Error::Connection:
      // httplib reports a connect timeout as a plain connection error in some paths.
      if (elapsed >= options_.connect_timeout * 0.95) {
        return absl::DeadlineExceededError(
            absl::StrCat(where, ": connect timeout after ", absl::FormatDuration(elapsed)));
      }
      return absl::UnavailableError(
          absl::StrCat(where, ": could not connect (connection refused or host unreachable)"));
    case httplib::Error::BindIPAddress:
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return absl::UnavailableError(
          absl::StrCat(where, ": could not connect: ", httplib::to_string(error)));
    case httplib::Error::Read:
      // httplib does not distinguish a read timeout from a reset; the elapsed time does.
      if (elapsed >= options_.read_timeout * 0.95) {
        return absl::DeadlineExceededError(
            absl::StrCat(where, ": read timeout after ", absl::FormatDuration(elapsed)));
      }
      return absl::AbortedError(
          absl::StrCat(where, ": connection failed while reading the response"));
    case httplib::Error::Write:
      return absl::AbortedError(
          absl::StrCat(where, ": connection failed while sending the request"));
    default:
      return absl::InternalError(
          absl::StrCat(where, ": HTTP request failed: ", httplib::to_string(error)));
  }
}

}  // namespace stakewatch::beacon
