#include "httpclient/httpclient.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "httplib.h"

namespace stakewatch::httpclient {
namespace {

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", ToAbsl(what), " file ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", ToAbsl(what), " file ", path));
  }
  // prometheus/common trims the file's content.
  return std::string(absl::StripAsciiWhitespace(ss.str()));
}

// The numeric address of `host` (for connecting to it under another TLS server name).
absl::StatusOr<std::string> ResolveNumeric(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", host));
  }
  char buf[INET6_ADDRSTRLEN] = {0};
  const void* addr =
      res->ai_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr);
  inet_ntop(res->ai_family, addr, buf, sizeof(buf));
  freeaddrinfo(res);
  return std::string(buf);
}

bool FileReadable(const std::string& path) { return std::ifstream(path).good(); }

absl::Status InvalidTarget(std::string_view target) {
  return absl::InvalidArgumentError(absl::StrCat("invalid target \"", ToAbsl(target), "\""));
}

}  // namespace

std::string Base64(std::string_view in) {
  static constexpr char kTable[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

absl::StatusOr<std::string> AuthorizationHeader(
    const std::optional<config::BasicAuth>& basic_auth, std::string_view bearer_token_file,
    const std::optional<config::Authorization>& authorization) {
  if (basic_auth.has_value()) {
    std::string password = basic_auth->password;
    if (!basic_auth->password_file.empty()) {
      auto p = ReadSecretFile(basic_auth->password_file, "password");
      if (!p.ok()) return p.status();
      password = *std::move(p);
    }
    return "Basic " + Base64(basic_auth->username + ":" + password);
  }
  if (!bearer_token_file.empty()) {
    auto t = ReadSecretFile(std::string(bearer_token_file), "bearer token");
    if (!t.ok()) return t.status();
    return "Bearer " + *t;
  }
  if (authorization.has_value()) {
    std::string cred = authorization->credentials;
    if (!authorization->credentials_file.empty()) {
      auto c = ReadSecretFile(authorization->credentials_file, "credentials");
      if (!c.ok()) return c.status();
      cred = *std::move(c);
    }
    return authorization->type + " " + cred;
  }
  return std::string();
}

absl::StatusOr<HostPort> SplitTarget(std::string_view target, std::string_view scheme) {
  HostPort hp;
  hp.port = scheme == "https" ? 443 : 80;
  std::string_view rest;
  if (!target.empty() && target[0] == '[') {
    const size_t close = target.find(']');
    if (close == std::string_view::npos) return InvalidTarget(target);
    hp.host = std::string(target.substr(1, close - 1));
    rest = target.substr(close + 1);
  } else {
    const size_t colon = target.rfind(':');
    hp.host = std::string(target.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : target.substr(colon);
  }
  if (!rest.empty()) {
    int port = 0;
    if (rest[0] != ':' || !absl::SimpleAtoi(ToAbsl(rest.substr(1)), &port) || port <= 0 ||
        port > 65535) {
      return InvalidTarget(target);
    }
    hp.port = port;
  }
  if (hp.host.empty()) return InvalidTarget(target);
  return hp;
}

absl::StatusOr<std::unique_ptr<httplib::ClientImpl>> NewClient(const ClientOptions& o) {
  if (o.scheme != "http" && o.scheme != "https") {
    return absl::InvalidArgumentError(absl::StrCat("unsupported scheme \"", o.scheme, "\""));
  }
  absl::StatusOr<HostPort> hp = SplitTarget(o.target, o.scheme);
  if (!hp.ok()) return hp.status();

  std::unique_ptr<httplib::ClientImpl> client;
  if (o.scheme == "https") {
    const config::TlsConfig& tls = o.tls;
    for (const std::string* f : {&tls.ca_file, &tls.cert_file, &tls.key_file}) {
      if (!f->empty() && !FileReadable(*f)) {
        return absl::FailedPreconditionError(absl::StrCat("cannot read TLS file ", *f));
      }
    }
    std::string connect_host = hp->host;
    std::map<std::string, std::string> addr_map;
    if (!tls.server_name.empty() && tls.server_name != hp->host) {
      // Connect to the target but present (SNI) and verify server_name.
      absl::StatusOr<std::string> ip = ResolveNumeric(hp->host);
      if (!ip.ok()) return ip.status();
      connect_host = tls.server_name;
      addr_map[tls.server_name] = *ip;
    }
    std::unique_ptr<httplib::SSLClient> ssl =
        tls.cert_file.empty() ? std::make_unique<httplib::SSLClient>(connect_host, hp->port)
                              : std::make_unique<httplib::SSLClient>(connect_host, hp->port,
                                                                     tls.cert_file, tls.key_file);
    if (!ssl->is_valid()) {
      return absl::FailedPreconditionError("cannot load the TLS client certificate or key");
    }
    if (!tls.ca_file.empty()) ssl->set_ca_cert_path(tls.ca_file);
    ssl->enable_server_certificate_verification(!tls.insecure_skip_verify);
    if (!addr_map.empty()) ssl->set_hostname_addr_map(addr_map);
    client = std::move(ssl);
  } else {
    client = std::make_unique<httplib::ClientImpl>(hp->host, hp->port);
  }
  const int64_t timeout_us = std::max<int64_t>(1, absl::ToInt64Microseconds(o.timeout));
  client->set_connection_timeout(timeout_us / 1000000, timeout_us % 1000000);
  client->set_read_timeout(timeout_us / 1000000, timeout_us % 1000000);
  client->set_write_timeout(timeout_us / 1000000, timeout_us % 1000000);
  client->set_keep_alive(false);
  return client;
}

}  // namespace stakewatch::httpclient
