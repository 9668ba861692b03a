// WebSecurity: the live `--web.config.file` of the daemon's HTTP listeners — TLS, basic auth,
// extra response headers and the rate limit — with exporter-toolkit's semantics.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<WebSecurity> web, WebSecurity::Create(flags.web_config_file));
//   ASSIGN_OR_RETURN(std::unique_ptr<httplib::Server> server, web->NewServer());
//   server->set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
//     return web->Authorize(req, res) ? httplib::Server::HandlerResponse::Unhandled
//                                     : httplib::Server::HandlerResponse::Handled;
//   });
//   server->Get("/metrics", ...);
//
// Re-reading (as the toolkit, which reads the file on every request and every TLS handshake):
//   * Authorize() reads the file on every request. Unchanged bytes reuse the parsed config, so
//     the cost is one small read; changed bytes are parsed and take effect for that request.
//   * Each TLS handshake reads the file and the cert/key/CA files (inline PEM: from the file) and
//     re-parses them only when their bytes changed, so a rotated certificate is served from the
//     next handshake on. Established keep-alive connections keep their session.
//   * Whether listeners speak TLS is fixed at Create(). If the file later gains or loses
//     tls_server_config, a warning/error is logged ("restart required"); a plain listener keeps
//     serving plain HTTP with the new users and headers; a TLS listener refuses new handshakes
//     until the section is restored (the toolkit's GetConfigForClient fails the same way).
//
// Failure policy (the toolkit's): fail closed, do NOT keep the last good file. While the file is
// unreadable or invalid every request gets 500 "Internal Server Error\n" and every TLS handshake
// is aborted; the error is logged once per distinct failure and counted in
// Counters::reload_failures. The first valid file restores service on the next request, with no
// restart. (The toolkit does the same: getConfig fails -> http 500; getTLSConfig fails -> the
// handshake fails.) Create() itself requires a valid file and loadable TLS material.
//
// Basic auth: users from basic_auth_users; the password is checked with libxcrypt's bcrypt
// (crypt_r) and compared with CRYPTO_memcmp. Results, good and bad, are cached (100 entries,
// random eviction) under SHA-256(per-process salt, user, stored hash, password), as the toolkit
// does; an unknown user is checked against a fixed dummy hash (cost 10) so response time does not
// reveal which users exist; bcrypt runs one at a time (it is CPU-heavy by design). Passwords
// longer than 72 bytes or containing NUL are rejected (bcrypt would silently truncate them).
// Failure: 401, `WWW-Authenticate: Basic`, body "Unauthorized\n". The configured headers are
// set on every response Authorize() sees, including the 401. Passwords and hashes are never
// logged.
//
// TLS: versions, cipher suites (Go names mapped to OpenSSL's; TLS 1.2 and below only, as in Go),
// curves, server cipher preference and client_auth_type map onto OpenSSL as Go's crypto/tls
// behaves: RequestClientCert and RequireAnyClientCert ask for a certificate without verifying it
// (the latter requires one); VerifyClientCertIfGiven and RequireAndVerifyClientCert verify it
// against the client CA (or the system roots when none is given, like Go). client_allowed_sans
// is checked against the leaf's DNS, e-mail, IP and URI SANs. Session resumption and tickets are
// off, so every connection is verified against the current file. http2 has no effect
// (cpp-httplib speaks HTTP/1.1).
//
// Threads: every method is thread-safe; Authorize() and the TLS callbacks run on httplib's worker
// threads. REQUIRES: a WebSecurity outlives every server NewServer() returned.
#pragma once

#include <httplib.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "webconfig/tls_material.h"
#include "webconfig/webconfig.h"

struct crypt_data;

namespace stakewatch::webconfig {

class WebSecurity {
 public:
  // `path` empty: plain HTTP, no authentication, no headers. Otherwise the file must load now,
  // and when it configures TLS its certificate, key and client CA must load too.
  static absl::StatusOr<std::unique_ptr<WebSecurity>> Create(std::string path);

  WebSecurity(const WebSecurity&) = delete;
  WebSecurity& operator=(const WebSecurity&) = delete;
  ~WebSecurity();

  // Whether listeners serve TLS (decided once, at Create).
  bool tls() const { return tls_; }
  const std::string& path() const { return path_; }

  // A new server for one listener: an httplib::SSLServer whose handshakes follow the current
  // file when tls(), else a plain httplib::Server. The caller owns it and adds its routes.
  absl::StatusOr<std::unique_ptr<httplib::Server>> NewServer();

  // Call first for every request. Re-reads the file if it changed, applies the rate limit, sets
  // the configured headers and enforces basic auth. Returns true if the request may proceed;
  // otherwise `res` holds the complete answer (401, 429 or 500; see the file comment).
  bool Authorize(const httplib::Request& req, httplib::Response& res);

  // The outcome of the latest read of the file (OK when no file is configured).
  absl::Status LastLoadStatus();

  struct Counters {
    uint64_t reload_failures = 0;     // Distinct failed re-reads (unreadable or invalid file).
    uint64_t auth_failures = 0;       // Requests answered 401.
    uint64_t rate_limited = 0;        // Requests answered 429.
    uint64_t handshake_refusals = 0;  // TLS handshakes aborted for lack of a usable config.
  };
  Counters counters() const;

 private:
  // One parsed version of the file; immutable.
  struct Snapshot {
    absl::Status status;                      // Not OK: the file is unreadable or invalid.
    std::shared_ptr<const WebConfig> config;  // Null iff !status.ok().
  };

  explicit WebSecurity(std::string path);

  // Reads the file; returns the snapshot for its current bytes.
  std::shared_ptr<const Snapshot> Refresh();
  // Reads the TLS inputs of `t`; returns the parsed material for their current bytes.
  absl::StatusOr<std::shared_ptr<const TlsMaterial>> Material(const TlsServerConfig& t);
  bool CheckPassword(const std::string& user, const std::string& hash, std::string_view pass);
  bool AllowRate(const RateLimitConfig& rl);

  // OpenSSL hooks (static trampolines in the .cc file call these).
  bool SetupSslCtx(SSL_CTX* ctx);
  absl::Status PrepareHandshake(SSL* ssl);
  friend int ClientHelloTrampoline(SSL* ssl, int* alert, void* arg);

  const std::string path_;
  bool tls_ = false;

  absl::Mutex mu_;
  std::optional<std::string> raw_ ABSL_GUARDED_BY(mu_);  // Last bytes read; nullopt: failed.
  std::shared_ptr<const Snapshot> current_ ABSL_GUARDED_BY(mu_);
  std::optional<TlsInputs> tls_inputs_ ABSL_GUARDED_BY(mu_);
  absl::StatusOr<std::shared_ptr<const TlsMaterial>> material_ ABSL_GUARDED_BY(mu_);
  std::string last_tls_error_logged_ ABSL_GUARDED_BY(mu_);

  absl::Mutex cache_mu_;
  std::unordered_map<std::string, bool> auth_cache_ ABSL_GUARDED_BY(cache_mu_);
  std::string cache_salt_;  // Random, set at construction.

  absl::Mutex bcrypt_mu_;  // One bcrypt at a time, as the toolkit.
  std::unique_ptr<crypt_data> crypt_data_ ABSL_GUARDED_BY(bcrypt_mu_);

  absl::Mutex rate_mu_;
  RateLimitConfig rate_config_ ABSL_GUARDED_BY(rate_mu_);
  double tokens_ ABSL_GUARDED_BY(rate_mu_) = 0;
  int64_t last_refill_ns_ ABSL_GUARDED_BY(rate_mu_) = 0;

  std::atomic<uint64_t> reload_failures_{0};
  std::atomic<uint64_t> auth_failures_{0};
  std::atomic<uint64_t> rate_limited_{0};
  std::atomic<uint64_t> handshake_refusals_{0};
};

}  // namespace stakewatch::webconfig
