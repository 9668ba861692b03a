#include "webconfig/web_security.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace stakewatch::webconfig {
namespace {

// exporter-toolkit's dummy: bcrypt of "fakepassword", cost 10. Checked for unknown users so that
// the response time does not reveal whether a user exists.
constexpr char kDummyHash[] = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi";
constexpr size_t kAuthCacheSize = 100;  // The toolkit's cacheSize.
constexpr size_t kMaxBcryptPassword = 72;

int ToOpenSslVersion(TlsVersion v) {
  switch (v) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls11:
      return TLS1_1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_3_VERSION;
}

// Per-connection data for the certificate verify callback, owned by the SSL's ex_data slot.
struct HandshakeData {
  bool verify_chain = false;              // false: accept any certificate (Request/RequireAny).
  std::vector<std::string> allowed_sans;  // Empty: no SAN check.
};

void FreeHandshakeData(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<HandshakeData*>(ptr);
}

int HandshakeDataIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeHandshakeData);
  return index;
}

// The SAN values of `cert` formatted as Go's x509 package would (DNS, e-mail, IP, URI).
std::vector<std::string> SanValues(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    const ASN1_STRING* s = nullptr;
    switch (n->type) {
      case GEN_DNS:
        s = n->d.dNSName;
        break;
      case GEN_EMAIL:
        s = n->d.rfc822Name;
        break;
      case GEN_URI:
        s = n->d.uniformResourceIdentifier;
        break;
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* ip = n->d.iPAddress;
        const unsigned char* p = ASN1_STRING_get0_data(ip);
        int len = ASN1_STRING_length(ip);
        char buf[INET6_ADDRSTRLEN] = {};
        static const unsigned char kV4Mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (len == 4) {
          inet_ntop(AF_INET, p, buf, sizeof(buf));
        } else if (len == 16 && std::memcmp(p, kV4Mapped, 12) == 0) {
          inet_ntop(AF_INET, p + 12, buf, sizeof(buf));  // Go prints these as IPv4.
        } else if (len == 16) {
          inet_ntop(AF_INET6, p, buf, sizeof(buf));
        }
        if (buf[0] != '\0') out.emplace_back(buf);
        break;
      }
      default:
        break;
    }
    if (s != nullptr) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

int VerifyCallback(int preverify_ok, X509_STORE_CTX* store) {
  SSL* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* hd = ssl == nullptr
                       ? nullptr
                       : static_cast<HandshakeData*>(SSL_get_ex_data(ssl, HandshakeDataIndex()));
  if (hd == nullptr) return 0;  // Cannot happen: set in the client hello callback.
  if (hd->verify_chain && preverify_ok != 1) return 0;
  if (X509_STORE_CTX_get_error_depth(store) == 0 && !hd->allowed_sans.empty()) {
    X509* leaf = X509_STORE_CTX_get_current_cert(store);
    bool found = false;
    if (leaf != nullptr) {
      for (const std::string& v : SanValues(leaf)) {
        if (std::find(hd->allowed_sans.begin(), hd->allowed_sans.end(), v) !=
            hd->allowed_sans.end()) {
          found = true;
          break;
        }
      }
    }
    if (!found) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  }
  // Request/RequireAny: an unverifiable certificate is accepted, as in Go.
  X509_STORE_CTX_set_error(store, X509_V_OK);
  return 1;
}

// Go's Request.BasicAuth(): "Basic " (any case) + standard base64 of "user:password".
bool ParseBasicAuth(const httplib::Request& req, std::string* user, std::string* pass) {
  if (!req.has_header("Authorization")) return false;
  const std::string& auth = req.get_header_value("Authorization");
  constexpr std::string_view kPrefix = "Basic ";
  if (auth.size() < kPrefix.size() ||
      !absl::EqualsIgnoreCase(ToAbsl(std::string_view(auth).substr(0, kPrefix.size())),
                              ToAbsl(kPrefix))) {
    return false;
  }
  std::string decoded;
  if (!absl::Base64Unescape(ToAbsl(std::string_view(auth).substr(kPrefix.size())), &decoded)) {
    return false;
  }
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return false;
  }
  *user = decoded.substr(0, colon);
  *pass = decoded.substr(colon + 1);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return true;
}

void Reply(httplib::Response& res, int status, std::string_view body) {
  res.status = status;
  if (!res.has_header("X-Content-Type-Options"))
    res.set_header("X-Content-Type-Options", "nosniff");
  res.set_content(std::string(body), "text/plain; charset=utf-8");
}

int64_t MonotonicNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int ClientHelloTrampoline(SSL* ssl, int* alert, void* arg) {
  absl::Status s = static_cast<WebSecurity*>(arg)->PrepareHandshake(ssl);
  if (!s.ok()) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

WebSecurity::WebSecurity(std::string path)
    : path_(std::move(path)), crypt_data_(std::make_unique<crypt_data>()) {
  std::memset(crypt_data_.get(), 0, sizeof(crypt_data));
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof(salt)) != 1) {
    // Fall back to an address-derived salt; the cache key is still a one-way hash.
    ERR_clear_error();
    uintptr_t p = reinterpret_cast<uintptr_t>(this);
    std::memcpy(salt, &p, sizeof(p));
  }
  cache_salt_.assign(reinterpret_cast<const char*>(salt), sizeof(salt));
}

WebSecurity::~WebSecurity() = default;

absl::StatusOr<std::unique_ptr<WebSecurity>> WebSecurity::Create(std::string path) {
  std::unique_ptr<WebSecurity> ws(new WebSecurity(std::move(path)));
  auto snapshot = std::make_shared<Snapshot>();
  if (ws->path_.empty()) {
    snapshot->config = std::make_shared<const WebConfig>();
    absl::MutexLock lock(&ws->mu_);
    ws->current_ = std::move(snapshot);
    return ws;
  }
  ASSIGN_OR_RETURN(std::string raw, ReadSmallFile(ws->path_, "web config file"));
  ASSIGN_OR_RETURN(WebConfig config, ParseWebConfig(raw, ws->path_));
  absl::MutexLock lock(&ws->mu_);
  if (config.tls.has_value()) {
    ASSIGN_OR_RETURN(TlsInputs in, ReadTlsInputs(*config.tls));
    ASSIGN_OR_RETURN(std::shared_ptr<const TlsMaterial> m, ParseTlsMaterial(in));
    ws->tls_ = true;
    ws->tls_inputs_ = std::move(in);
    ws->material_ = std::move(m);
  }
  snapshot->config = std::make_shared<const WebConfig>(std::move(config));
  ws->raw_ = std::move(raw);
  ws->current_ = std::move(snapshot);
  return ws;
}

std::shared_ptr<const WebSecurity::Snapshot> WebSecurity::Refresh() {
  if (path_.empty()) {
    absl::MutexLock lock(&mu_);
    return current_;
  }
  absl::StatusOr<std::string> text = ReadSmallFile(path_, "web config file");
  absl::MutexLock lock(&mu_);
  if (text.ok() && raw_.has_value() && *raw_ == *text) return current_;
  if (!text.ok() && !raw_.has_value() && current_->status == text.status()) return current_;

  auto next = std::make_shared<Snapshot>();
  if (!text.ok()) {
    next->status = text.status();
  } else {
    absl::StatusOr<WebConfig> parsed = ParseWebConfig(*text, path_);
    if (parsed.ok()) {
      next->config = std::make_shared<const WebConfig>(*std::move(parsed));
    } else {
      next->status = parsed.status();
    }
  }
  if (text.ok()) {
    raw_ = *std::move(text);
  } else {
    raw_.reset();
  }
  if (!next->status.ok()) {
    reload_failures_.fetch_add(1, std::memory_order_relaxed);
    LogError("web config file unusable; refusing requests and TLS handshakes until it is fixed",
             {{"file", path_}, {"err", ToStd(next->status.message())}});
  } else {
    const bool has_tls = next->config->tls.has_value();
    if (has_tls != tls_) {
      if (tls_) {
        LogError(
            "web config file no longer has tls_server_config; TLS handshakes are refused "
            "until it is restored or stakewatch is restarted",
            {{"file", path_}});
      } else {
        LogWarn(
            "web config file now has tls_server_config; restart stakewatch to serve TLS "
            "(still serving plain HTTP)",
            {{"file", path_}});
      }
    }
    LogInfo("web config file reloaded", {{"file", path_}});
  }
  current_ = std::move(next);
  return current_;
}

absl::Status WebSecurity::LastLoadStatus() {
  absl::MutexLock lock(&mu_);
  return current_->status;
}

WebSecurity::Counters WebSecurity::counters() const {
  Counters c;
  c.reload_failures = reload_failures_.load(std::memory_order_relaxed);
  c.auth_failures = auth_failures_.load(std::memory_order_relaxed);
  c.rate_limited = rate_limited_.load(std::memory_order_relaxed);
  c.handshake_refusals = handshake_refusals_.load(std::memory_order_relaxed);
  return c;
}

absl::StatusOr<std::shared_ptr<const TlsMaterial>> WebSecurity::Material(const TlsServerConfig& t) {
  absl::StatusOr<TlsInputs> in = ReadTlsInputs(t);
  absl::MutexLock lock(&mu_);
  if (!in.ok()) {
    material_ = in.status();
    tls_inputs_.reset();
  } else if (!tls_inputs_.has_value() || !(*tls_inputs_ == *in)) {
    material_ = ParseTlsMaterial(*in);
    tls_inputs_ = *std::move(in);
    if (material_.ok()) LogInfo("TLS certificate (re)loaded", {{"file", path_}});
  }
  if (!material_.ok()) {
    std::string msg(material_.status().message());
    if (msg != last_tls_error_logged_) {
      LogError("TLS certificate or key unusable; refusing TLS handshakes",
               {{"file", path_}, {"err", msg}});
      last_tls_error_logged_ = msg;
    }
  } else {
    last_tls_error_logged_.clear();
  }
  return material_;
}

absl::StatusOr<std::unique_ptr<httplib::Server>> WebSecurity::NewServer() {
  if (!tls_) return std::make_unique<httplib::Server>();
  auto server =
      std::make_unique<httplib::SSLServer>([this](SSL_CTX& ctx) { return SetupSslCtx(&ctx); });
  if (!server->is_valid()) {
    return absl::InternalError(absl::StrCat("cannot set up the TLS context: ", TakeOpenSslError()));
  }
  return std::unique_ptr<httplib::Server>(std::move(server));
}

bool WebSecurity::SetupSslCtx(SSL_CTX* ctx) {
  // Wide bounds here; each handshake narrows them to the current file's min/max_version.
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
    return false;
  }
  // No resumption: every connection is checked against the current file and certificates.
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  // Go verifies client certificates against the system roots when no client CA is given.
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) ERR_clear_error();
  SSL_CTX_set_client_hello_cb(ctx, ClientHelloTrampoline, this);
  return true;
}

absl::Status WebSecurity::PrepareHandshake(SSL* ssl) {
  auto refuse = [&](absl::Status s) {
    handshake_refusals_.fetch_add(1, std::memory_order_relaxed);
    ERR_clear_error();
    return s;
  };
  std::shared_ptr<const Snapshot> snap = Refresh();
  if (!snap->status.ok()) return refuse(snap->status);
  if (!snap->config->tls.has_value()) {
    return refuse(absl::FailedPreconditionError("tls_server_config was removed"));
  }
  const TlsServerConfig& t = *snap->config->tls;
  absl::StatusOr<std::shared_ptr<const TlsMaterial>> material = Material(t);
  if (!material.ok()) return refuse(material.status());
  const TlsMaterial& m = **material;

  if (SSL_set_min_proto_version(ssl, ToOpenSslVersion(t.min_version)) != 1 ||
      SSL_set_max_proto_version(ssl, ToOpenSslVersion(t.max_version)) != 1) {
    return refuse(absl::InternalError("cannot set TLS versions"));
  }
  if (t.prefer_server_cipher_suites) {
    SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  } else {
    SSL_clear_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
  }
  std::vector<std::string> ciphers;
  for (const std::string& go : t.cipher_suites) {
    std::optional<std::string> name = OpenSslCipherName(go);
    if (name.has_value() && !name->empty()) ciphers.push_back(*name);
  }
  if (!ciphers.empty() && SSL_set_cipher_list(ssl, absl::StrJoin(ciphers, ":").c_str()) != 1) {
    return refuse(absl::InternalError("cannot set cipher_suites"));
  }
  std::vector<std::string> groups;
  for (const std::string& go : t.curve_preferences) groups.push_back(*OpenSslGroupName(go));
  if (!groups.empty() && SSL_set1_groups_list(ssl, absl::StrJoin(groups, ":").c_str()) != 1) {
    return refuse(absl::InternalError("cannot set curve_preferences"));
  }
  if (SSL_use_certificate(ssl, m.cert) != 1 || SSL_use_PrivateKey(ssl, m.key) != 1 ||
      SSL_set1_chain(ssl, m.chain) != 1) {
    return refuse(absl::InternalError("cannot use the TLS certificate"));
  }

  auto hd = std::make_unique<HandshakeData>();
  int mode = SSL_VERIFY_NONE;
  const std::string& type = t.client_auth_type;
  if (type == "RequestClientCert") {
    mode = SSL_VERIFY_PEER;
  } else if (type == "RequireAnyClientCert") {
    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  } else if (type == "VerifyClientCertIfGiven") {
    mode = SSL_VERIFY_PEER;
    hd->verify_chain = true;
  } else if (type == "RequireAndVerifyClientCert") {
    mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    hd->verify_chain = true;
  }
  hd->allowed_sans = t.client_allowed_sans;
  if (m.client_ca_store != nullptr) {
    if (SSL_set1_verify_cert_store(ssl, m.client_ca_store) != 1) {
      return refuse(absl::InternalError("cannot set the client CA"));
    }
    STACK_OF(X509_NAME)* names = SSL_dup_CA_list(m.client_ca_names);
    if (names != nullptr) SSL_set_client_CA_list(ssl, names);  // Takes ownership.
  }
  // The callback may run twice (HelloRetryRequest): replace any earlier data.
  delete static_cast<HandshakeData*>(SSL_get_ex_data(ssl, HandshakeDataIndex()));
  SSL_set_ex_data(ssl, HandshakeDataIndex(), hd.release());
  SSL_set_verify(ssl, mode, mode == SSL_VERIFY_NONE ? nullptr : VerifyCallback);
  return absl::OkStatus();
}

bool WebSecurity::AllowRate(const RateLimitConfig& rl) {
  absl::MutexLock lock(&rate_mu_);
  const int64_t now = MonotonicNanos();
  if (rl.interval != rate_config_.interval || rl.burst != rate_config_.burst) {
    rate_config_ = rl;  // New or changed limit: start with a full bucket, like rate.NewLimiter.
    tokens_ = rl.burst;
    last_refill_ns_ = now;
  }
  const double per_ns = 1.0 / static_cast<double>(absl::ToInt64Nanoseconds(rl.interval));
  tokens_ =
      std::min<double>(rl.burst, tokens_ + static_cast<double>(now - last_refill_ns_) * per_ns);
  last_refill_ns_ = now;
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  return false;
}

bool WebSecurity::CheckPassword(const std::string& user, const std::string& hash,
                                std::string_view pass) {
  // Cache key: SHA-256 over length-prefixed fields, salted per process, so the cache holds no
  // password and no two (user, hash, password) triples share a key.
  std::string material = cache_salt_;
  for (std::string_view part : {std::string_view(user), std::string_view(hash), pass}) {
    uint64_t n = part.size();
    material.append(reinterpret_cast<const char*>(&n), sizeof(n));
    material.append(part);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  const bool hashed =
      EVP_Digest(material.data(), material.size(), digest, &digest_len, EVP_sha256(), nullptr) == 1;
  OPENSSL_cleanse(material.data(), material.size());
  std::string key;
  if (hashed) {
    key.assign(reinterpret_cast<const char*>(digest), digest_len);
    absl::MutexLock lock(&cache_mu_);
    auto it = auth_cache_.find(key);
    if (it != auth_cache_.end()) return it->second;
  } else {
    ERR_clear_error();
  }

  bool ok = false;
  if (pass.size() <= kMaxBcryptPassword && pass.find('\0') == std::string_view::npos) {
    std::string phrase(pass);
    absl::MutexLock lock(&bcrypt_mu_);
    const char* out = crypt_r(phrase.c_str(), hash.c_str(), crypt_data_.get());
    OPENSSL_cleanse(phrase.data(), phrase.size());
    if (out != nullptr && out[0] != '*') {
      const size_t n = std::strlen(out);
      ok = n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
    }
    OPENSSL_cleanse(crypt_data_.get(), sizeof(crypt_data));
  }
  if (hashed) {
    absl::MutexLock lock(&cache_mu_);
    if (auth_cache_.size() >= kAuthCacheSize) {
      // Keys are digests, so iteration order is effectively random: drop about a tenth.
      size_t drop = auth_cache_.size() / 10 + 1;
      while (drop-- > 0 && !auth_cache_.empty()) auth_cache_.erase(auth_cache_.begin());
    }
    auth_cache_[key] = ok;
  }
  return ok;
}

bool WebSecurity::Authorize(const httplib::Request& req, httplib::Response& res) {
  if (path_.empty()) return true;
  std::shared_ptr<const Snapshot> snap = Refresh();
  if (!snap->status.ok()) {
    Reply(res, 500, "Internal Server Error\n");
    return false;
  }
  const WebConfig& c = *snap->config;
  if (c.rate_limit.interval > absl::ZeroDuration() && !AllowRate(c.rate_limit)) {
    rate_limited_.fetch_add(1, std::memory_order_relaxed);
    Reply(res, 429, "Too Many Requests\n");
    return false;
  }
  for (const auto& [name, value] : c.headers) {
    if (!value.empty()) res.set_header(name, value);
  }
  if (c.basic_auth_users.empty()) return true;

  std::string user, pass;
  if (ParseBasicAuth(req, &user, &pass)) {
    auto it = c.basic_auth_users.find(user);
    const bool known = it != c.basic_auth_users.end();
    const std::string hash = known ? it->second : std::string(kDummyHash);
    const bool ok = CheckPassword(user, hash, pass);
    OPENSSL_cleanse(pass.data(), pass.size());
    if (ok && known) return true;
  }
  auth_failures_.fetch_add(1, std::memory_order_relaxed);
  res.set_header("WWW-Authenticate", "Basic");
  Reply(res, 401, "Unauthorized\n");
  return false;
}

}  // namespace stakewatch::webconfig
