// The `--web.config.file` format of Prometheus's exporter-toolkit: plain structs and a strict
// loader. The live, re-read-per-request use of the file is in web_security.h.
//
// The format is exporter-toolkit's docs/web-configuration.md, key for key:
//
//   tls_server_config:
//     cert_file: server.crt            # or `cert:` with inline PEM (not both)
//     key_file: server.key             # or `key:` with inline PEM (not both)
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt           # or `client_ca:` with inline PEM
//     client_allowed_sans: [scraper.example]
//     min_version: TLS12               # TLS10 | TLS11 | TLS12 | TLS13
//     max_version: TLS13
//     cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]   # Go names
//     curve_preferences: [X25519, CurveP256]                  # Go names
//     prefer_server_cipher_suites: true
//   http_server_config:
//     http2: true
//     headers: {X-Frame-Options: deny, Strict-Transport-Security: max-age=31536000}
//   basic_auth_users:
//     alice: $2y$10$...                # bcrypt
//   rate_limit: {interval: 1s, burst: 10}
//
//   absl::StatusOr<webconfig::WebConfig> c = webconfig::LoadWebConfigFile("/etc/sw/web.yml");
//
// Validation is what the toolkit checks, at load time rather than at first use:
//   * unknown and duplicate keys are errors (the toolkit uses yaml.v2 UnmarshalStrict);
//   * a tls_server_config that sets any of cert, cert_file, key, key_file, client_ca,
//     client_ca_file or client_auth_type must give one of cert/cert_file and one of key/key_file;
//     giving both forms of the same thing is an error;
//   * client_auth_type must be one of NoClientCert, RequestClientCert, RequireAnyClientCert
//     (alias RequireClientCert), VerifyClientCertIfGiven, RequireAndVerifyClientCert;
//   * a client CA needs a client_auth_type other than NoClientCert; client_allowed_sans needs
//     RequireAnyClientCert or RequireAndVerifyClientCert;
//   * TLS versions, cipher suite names (crypto/tls CipherSuites()) and curve names must be known;
//   * header names must be one of Strict-Transport-Security, X-Content-Type-Options (value
//     "nosniff"), X-Frame-Options ("deny" | "sameorigin"), X-XSS-Protection,
//     Content-Security-Policy, exactly spelled; values may not contain CR, LF or NUL (stricter
//     than the toolkit, which relies on Go's header sanitising);
//   * every basic_auth_users value must be a well-formed bcrypt hash ($2a$, $2b$ or $2y$, cost
//     04..31, 53 characters of salt and hash) — the toolkit's validateUsers.
// Loading does not read certificate files: that happens per TLS handshake (web_security.h) and
// in CheckWebConfigFile.
//
// Errors are InvalidArgument with "file:line:column: message" (1-based; yaml-cpp marks), e.g.
//   web.yml:3:3: unknown key "client_auth" in tls_server_config
// A file that cannot be read is NotFound/PermissionDenied/Internal with the path and errno text.
// No exception escapes (yaml-cpp's are caught here). Secrets (key, passwords, hashes) never
// appear in error messages.
//
// Threads: every function is thread-safe (no shared state); the structs are plain values.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace stakewatch::webconfig {

enum class TlsVersion { kTls10, kTls11, kTls12, kTls13 };

// "TLS10" .. "TLS13" (the toolkit's spelling).
std::string_view TlsVersionName(TlsVersion v);

// `tls_server_config`.
struct TlsServerConfig {
  // Paths, already joined with the web config file's directory when relative (as the toolkit's
  // SetDirectory does). Empty when not given.
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  // Inline PEM (newer toolkit). Mutually exclusive with the *_file form of the same item.
  std::string cert;
  std::string key;  // Secret.
  std::string client_ca;
  // One of the five Go names; "RequireClientCert" is normalised to "RequireAnyClientCert".
  std::string client_auth_type = "NoClientCert";
  // Exact match against the client certificate's DNS, e-mail, IP and URI SANs.
  std::vector<std::string> client_allowed_sans;
  TlsVersion min_version = TlsVersion::kTls12;
  TlsVersion max_version = TlsVersion::kTls13;
  // Go cipher-suite names as written; they apply to TLS 1.0-1.2 only (TLS 1.3 suites are fixed,
  // as in Go). Empty: OpenSSL's default list.
  std::vector<std::string> cipher_suites;
  // Go curve names (CurveP256, CurveP384, CurveP521, X25519) in preference order. Empty: default.
  std::vector<std::string> curve_preferences;
  bool prefer_server_cipher_suites = true;

  // True when a certificate is requested from clients (any type but NoClientCert).
  bool RequestsClientCert() const { return client_auth_type != "NoClientCert"; }
};

// `rate_limit` (newer toolkit): a token bucket over all requests. interval 0 disables it.
struct RateLimitConfig {
  absl::Duration interval = absl::ZeroDuration();
  int burst = 0;
};

struct WebConfig {
  // Set when the file enables TLS (see the rule in the file comment).
  std::optional<TlsServerConfig> tls;
  // Parsed for compatibility; cpp-httplib speaks HTTP/1.1 only, so it has no effect.
  bool http2 = true;
  // Extra response headers (validated names). Empty values are not sent ("unset if blank").
  std::map<std::string, std::string> headers;
  // user -> bcrypt hash. Empty: no authentication.
  std::map<std::string, std::string> basic_auth_users;
  RateLimitConfig rate_limit;
};

// Parses and validates a web config file's text. `file_name` prefixes error positions and its
// directory resolves relative paths in tls_server_config.
absl::StatusOr<WebConfig> ParseWebConfig(std::string_view yaml, std::string_view file_name);

// Reads `path` and calls ParseWebConfig.
absl::StatusOr<WebConfig> LoadWebConfigFile(const std::string& path);

// For `stakewatch check web-config`: LoadWebConfigFile, then, when TLS is configured, loads the
// certificate, key and client CA exactly as a handshake would and checks the key matches the
// certificate. OK means the daemon would start with this file.
absl::Status CheckWebConfigFile(const std::string& path);

// True when `hash` is a bcrypt hash this module accepts (see the file comment).
bool IsValidBcryptHash(std::string_view hash);

// The OpenSSL name of a Go TLS 1.0-1.2 cipher suite, "" for a Go TLS 1.3 suite name (accepted
// and ignored, as in Go), nullopt for an unknown name.
std::optional<std::string> OpenSslCipherName(std::string_view go_name);
// The OpenSSL group name of a Go curve name ("CurveP256" -> "P-256"), nullopt if unknown.
std::optional<std::string> OpenSslGroupName(std::string_view go_name);

}  // namespace stakewatch::webconfig
