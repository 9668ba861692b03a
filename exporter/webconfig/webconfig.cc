#include "webconfig/webconfig.h"

#include <yaml-cpp/yaml.h>

#include <exception>
#include <functional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "webconfig/tls_material.h"

namespace stakewatch::webconfig {
namespace {

// Go's crypto/tls CipherSuites(): the secure suites. TLS 1.3 names map to "" (ignored, as Go
// ignores them in Config.CipherSuites).
const std::map<std::string_view, std::string_view>& CipherTable() {
  static const auto* table = new std::map<std::string_view, std::string_view>{
      {"TLS_AES_128_GCM_SHA256", ""},
      {"TLS_AES_256_GCM_SHA384", ""},
      {"TLS_CHACHA20_POLY1305_SHA256", ""},
      {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
      {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
      {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
      {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
      {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
  };
  return *table;
}

// exporter-toolkit web/handler.go extraHTTPHeaders: name -> allowed values (empty: any).
const std::map<std::string_view, std::vector<std::string_view>>& HeaderTable() {
  static const auto* table = new std::map<std::string_view, std::vector<std::string_view>>{
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  return *table;
}

std::string Quote(std::string_view s) { return absl::StrCat("\"", ToAbsl(s), "\""); }

std::string DirOf(std::string_view file) {
  size_t slash = file.rfind('/');
  if (slash == std::string_view::npos) return "";
  if (slash == 0) return "/";
  return std::string(file.substr(0, slash));
}

std::string JoinDir(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || dir.empty()) return path;
  if (dir == "/") return "/" + path;
  return dir + "/" + path;
}

// A strict walk over the YAML tree that reports "file:line:col: message".
class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file), dir_(DirOf(file)) {}

  absl::StatusOr<WebConfig> Parse(const YAML::Node& root);

 private:
  using KeyFn = std::function<absl::Status(const std::string& key, const YAML::Node& value,
                                           const YAML::Mark& mark)>;

  absl::Status Err(const YAML::Mark& m, std::string_view msg) const {
    if (m.is_null()) return absl::InvalidArgumentError(absl::StrCat(file_, ": ", ToAbsl(msg)));
    return absl::InvalidArgumentError(
        absl::StrCat(file_, ":", m.line + 1, ":", m.column + 1, ": ", ToAbsl(msg)));
  }

  // Visits the entries of mapping `node` (null: none). Keys must be in `allowed` unless
  // `allowed` is empty (free-form map); duplicates are errors. `mark` of the callback points at
  // the value, or at the key when the value is null.
  absl::Status ForEach(const YAML::Node& node, const YAML::Mark& at, std::string_view where,
                       const std::set<std::string_view>& allowed, const KeyFn& fn) const {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) return Err(at, absl::StrCat(ToAbsl(where), ": expected a mapping"));
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      YAML::Node k = it->first;
      if (!k.IsScalar())
        return Err(k.Mark(), absl::StrCat(ToAbsl(where), ": expected a string key"));
      const std::string key = k.Scalar();
      if (!allowed.empty() && !allowed.count(key)) {
        return Err(k.Mark(), absl::StrCat("unknown key ", Quote(key), " in ", ToAbsl(where)));
      }
      if (!seen.insert(key).second) {
        return Err(k.Mark(), absl::StrCat("duplicate key ", Quote(key), " in ", ToAbsl(where)));
      }
      YAML::Node v = it->second;
      RETURN_IF_ERROR(fn(key, v, v.IsNull() || v.Mark().is_null() ? k.Mark() : v.Mark()));
    }
    return absl::OkStatus();
  }

  // A scalar as a string (yaml.v2 accepts any scalar for a string field). Null: "".
  absl::StatusOr<std::string> Str(const YAML::Node& v, const YAML::Mark& m,
                                  std::string_view field) const {
    if (v.IsNull()) return std::string();
    if (!v.IsScalar()) return Err(m, absl::StrCat(ToAbsl(field), ": expected a string"));
    return v.Scalar();
  }

  absl::StatusOr<std::vector<std::string>> StrList(const YAML::Node& v, const YAML::Mark& m,
                                                   std::string_view field) const {
    std::vector<std::string> out;
    if (v.IsNull()) return out;
    if (!v.IsSequence()) return Err(m, absl::StrCat(ToAbsl(field), ": expected a list of strings"));
    for (const YAML::Node& item : v) {
      if (!item.IsScalar()) {
        return Err(item.Mark(), absl::StrCat(ToAbsl(field), ": expected a string"));
      }
      out.push_back(item.Scalar());
    }
    return out;
  }

  absl::StatusOr<bool> Bool(const YAML::Node& v, const YAML::Mark& m,
                            std::string_view field) const {
    std::string s = v.IsScalar() ? absl::AsciiStrToLower(v.Scalar()) : "";
    if (s == "true" || s == "yes" || s == "on" || s == "y") return true;
    if (s == "false" || s == "no" || s == "off" || s == "n") return false;
    return Err(m, absl::StrCat(ToAbsl(field), ": expected a boolean"));
  }

  absl::StatusOr<TlsVersion> Version(const YAML::Node& v, const YAML::Mark& m,
                                     std::string_view field) const {
    ASSIGN_OR_RETURN(std::string s, Str(v, m, field));
    for (TlsVersion tv :
         {TlsVersion::kTls10, TlsVersion::kTls11, TlsVersion::kTls12, TlsVersion::kTls13}) {
      if (s == TlsVersionName(tv)) return tv;
    }
    return Err(m, absl::StrCat(ToAbsl(field), ": unknown TLS version: ", s));
  }

  absl::Status ParseTls(const YAML::Node& node, const YAML::Mark& at, WebConfig& out) const;
  absl::Status ParseHttp(const YAML::Node& node, const YAML::Mark& at, WebConfig& out) const;
  absl::Status ParseUsers(const YAML::Node& node, const YAML::Mark& at, WebConfig& out) const;
  absl::Status ParseRateLimit(const YAML::Node& node, const YAML::Mark& at, WebConfig& out) const;

  std::string file_;
  std::string dir_;
};

absl::StatusOr<WebConfig> Parser::Parse(const YAML::Node& root) {
  WebConfig out;
  RETURN_IF_ERROR(ForEach(
      root, root.Mark(), "the web config file",
      {"tls_server_config", "http_server_config", "basic_auth_users", "rate_limit"},
      [&](const std::string& key, const YAML::Node& v, const YAML::Mark& m) -> absl::Status {
        if (key == "tls_server_config") return ParseTls(v, m, out);
        if (key == "http_server_config") return ParseHttp(v, m, out);
        if (key == "basic_auth_users") return ParseUsers(v, m, out);
        return ParseRateLimit(v, m, out);
      }));
  return out;
}

absl::Status Parser::ParseTls(const YAML::Node& node, const YAML::Mark& at, WebConfig& out) const {
  TlsServerConfig t;
  bool auth_type_set = false;
  YAML::Mark sans_mark = at, ca_mark = at;
  bool sans_set = false;
  RETURN_IF_ERROR(ForEach(
      node, at, "tls_server_config",
      {"cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type", "client_ca_file",
       "cipher_suites", "curve_preferences", "min_version", "max_version",
       "prefer_server_cipher_suites", "client_allowed_sans"},
      [&](const std::string& key, const YAML::Node& v, const YAML::Mark& m) -> absl::Status {
        const std::string field = "tls_server_config." + key;
        if (key == "cert") {
          ASSIGN_OR_RETURN(t.cert, Str(v, m, field));
        } else if (key == "key") {
          ASSIGN_OR_RETURN(t.key, Str(v, m, field));
        } else if (key == "client_ca") {
          ASSIGN_OR_RETURN(t.client_ca, Str(v, m, field));
          ca_mark = m;
        } else if (key == "cert_file") {
          ASSIGN_OR_RETURN(t.cert_file, Str(v, m, field));
        } else if (key == "key_file") {
          ASSIGN_OR_RETURN(t.key_file, Str(v, m, field));
        } else if (key == "client_ca_file") {
          ASSIGN_OR_RETURN(t.client_ca_file, Str(v, m, field));
          ca_mark = m;
        } else if (key == "client_auth_type") {
          ASSIGN_OR_RETURN(std::string s, Str(v, m, field));
          if (s.empty()) return absl::OkStatus();
          auth_type_set = true;
          if (s == "RequireClientCert") s = "RequireAnyClientCert";  // Toolkit's legacy alias.
          if (s != "NoClientCert" && s != "RequestClientCert" && s != "RequireAnyClientCert" &&
              s != "VerifyClientCertIfGiven" && s != "RequireAndVerifyClientCert") {
            return Err(m, absl::StrCat("invalid ClientAuth: ", s));
          }
          t.client_auth_type = s;
        } else if (key == "client_allowed_sans") {
          ASSIGN_OR_RETURN(t.client_allowed_sans, StrList(v, m, field));
          sans_set = !v.IsNull();
          sans_mark = m;
        } else if (key == "cipher_suites") {
          ASSIGN_OR_RETURN(t.cipher_suites, StrList(v, m, field));
          size_t i = 0;
          for (const YAML::Node& item : v) {
            if (!OpenSslCipherName(t.cipher_suites[i]).has_value()) {
              return Err(item.Mark(), absl::StrCat("unknown cipher: ", t.cipher_suites[i]));
            }
            ++i;
          }
        } else if (key == "curve_preferences") {
          ASSIGN_OR_RETURN(t.curve_preferences, StrList(v, m, field));
          size_t i = 0;
          for (const YAML::Node& item : v) {
            if (!OpenSslGroupName(t.curve_preferences[i]).has_value()) {
              return Err(item.Mark(), absl::StrCat("unknown curve: ", t.curve_preferences[i]));
            }
            ++i;
          }
        } else if (key == "min_version") {
          if (!v.IsNull()) {
            ASSIGN_OR_RETURN(t.min_version, Version(v, m, field));
          }
        } else if (key == "max_version") {
          if (!v.IsNull()) {
            ASSIGN_OR_RETURN(t.max_version, Version(v, m, field));
          }
        } else if (key == "prefer_server_cipher_suites") {
          if (!v.IsNull()) {
            ASSIGN_OR_RETURN(t.prefer_server_cipher_suites, Bool(v, m, field));
          }
        }
        return absl::OkStatus();
      }));
  // The toolkit's TLSConfig.IsEnabled(): any of these turns TLS on.
  const bool enabled = !t.cert.empty() || !t.cert_file.empty() || !t.key.empty() ||
                       !t.key_file.empty() || !t.client_ca.empty() || !t.client_ca_file.empty() ||
                       auth_type_set;
  if (!enabled) {
    // Nothing that enables TLS; the remaining settings are inert, as in the toolkit.
    return absl::OkStatus();
  }
  if (t.cert.empty() && t.cert_file.empty()) {
    return Err(at, "tls_server_config: missing one of cert or cert_file");
  }
  if (t.key.empty() && t.key_file.empty()) {
    return Err(at, "tls_server_config: missing one of key or key_file");
  }
  if (!t.cert.empty() && !t.cert_file.empty()) {
    return Err(at, "tls_server_config: at most one of cert and cert_file may be set");
  }
  if (!t.key.empty() && !t.key_file.empty()) {
    return Err(at, "tls_server_config: at most one of key and key_file may be set");
  }
  if (!t.client_ca.empty() && !t.client_ca_file.empty()) {
    return Err(at, "tls_server_config: at most one of client_ca and client_ca_file may be set");
  }
  if ((!t.client_ca.empty() || !t.client_ca_file.empty()) && t.client_auth_type == "NoClientCert") {
    return Err(ca_mark, "client CA's have been configured without a Client Auth Policy");
  }
  if (sans_set && t.client_auth_type != "RequireAnyClientCert" &&
      t.client_auth_type != "RequireAndVerifyClientCert") {
    return Err(sans_mark,
               "client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert "
               "or RequireAndVerifyClientCert");
  }
  if (t.min_version > t.max_version) {
    return Err(at, "tls_server_config: min_version is greater than max_version");
  }
  t.cert_file = JoinDir(dir_, t.cert_file);
  t.key_file = JoinDir(dir_, t.key_file);
  t.client_ca_file = JoinDir(dir_, t.client_ca_file);
  out.tls = std::move(t);
  return absl::OkStatus();
}

absl::Status Parser::ParseHttp(const YAML::Node& node, const YAML::Mark& at, WebConfig& out) const {
  return ForEach(
      node, at, "http_server_config", {"http2", "headers"},
      [&](const std::string& key, const YAML::Node& v, const YAML::Mark& m) -> absl::Status {
        if (key == "http2") {
          if (!v.IsNull()) {
            ASSIGN_OR_RETURN(out.http2, Bool(v, m, "http_server_config.http2"));
          }
          return absl::OkStatus();
        }
        return ForEach(
            v, m, "http_server_config.headers", {},
            [&](const std::string& name, const YAML::Node& hv,
                const YAML::Mark& hm) -> absl::Status {
              auto allowed = HeaderTable().find(name);
              if (allowed == HeaderTable().end()) {
                return Err(hm, absl::StrCat("HTTP header ", Quote(name), " can not be configured"));
              }
              ASSIGN_OR_RETURN(std::string value, Str(hv, hm, name));
              if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
                return Err(
                    hm, absl::StrCat("invalid value for ", name, ": contains a line break or NUL"));
              }
              if (!allowed->second.empty()) {
                bool ok = false;
                for (std::string_view a : allowed->second) ok = ok || value == a;
                if (!ok) {
                  std::vector<std::string> quoted;
                  for (std::string_view a : allowed->second) quoted.push_back(Quote(a));
                  return Err(
                      hm, absl::StrCat("invalid value for ", name, ". Expected one of: [",
                                       absl::StrJoin(quoted, " "), "], but got: ", Quote(value)));
                }
              }
              out.headers[name] = value;
              return absl::OkStatus();
            });
      });
}

absl::Status Parser::ParseUsers(const YAML::Node& node, const YAML::Mark& at,
                                WebConfig& out) const {
  return ForEach(
      node, at, "basic_auth_users", {},
      [&](const std::string& user, const YAML::Node& v, const YAML::Mark& m) -> absl::Status {
        // Never echo the value: it is a password hash (or, by mistake, a password).
        if (!v.IsNull() && !v.IsScalar()) {
          return Err(m, absl::StrCat("basic_auth_users: user ", Quote(user),
                                     ": expected a bcrypt hash string"));
        }
        std::string hash = v.IsNull() ? "" : v.Scalar();
        if (!IsValidBcryptHash(hash)) {
          return Err(m, absl::StrCat("basic_auth_users: user ", Quote(user),
                                     ": password is not a valid bcrypt hash"));
        }
        out.basic_auth_users[user] = std::move(hash);
        return absl::OkStatus();
      });
}

absl::Status Parser::ParseRateLimit(const YAML::Node& node, const YAML::Mark& at,
                                    WebConfig& out) const {
  return ForEach(
      node, at, "rate_limit", {"interval", "burst"},
      [&](const std::string& key, const YAML::Node& v, const YAML::Mark& m) -> absl::Status {
        if (v.IsNull()) return absl::OkStatus();
        ASSIGN_OR_RETURN(std::string s, Str(v, m, "rate_limit." + key));
        if (key == "burst") {
          if (!absl::SimpleAtoi(s, &out.rate_limit.burst) || out.rate_limit.burst < 0) {
            return Err(m, "rate_limit.burst: expected a non-negative integer");
          }
          return absl::OkStatus();
        }
        int64_t ns = 0;
        absl::Duration d;
        if (absl::SimpleAtoi(s, &ns)) {
          d = absl::Nanoseconds(ns);  // yaml.v2 reads a bare integer Duration as nanoseconds.
        } else if (!absl::ParseDuration(s, &d)) {
          return Err(m, absl::StrCat("rate_limit.interval: invalid duration ", Quote(s)));
        }
        if (d < absl::ZeroDuration()) return Err(m, "rate_limit.interval: must not be negative");
        out.rate_limit.interval = d;
        return absl::OkStatus();
      });
}

}  // namespace

std::string_view TlsVersionName(TlsVersion v) {
  switch (v) {
    case TlsVersion::kTls10:
      return "TLS10";
    case TlsVersion::kTls11:
      return "TLS11";
    case TlsVersion::kTls12:
      return "TLS12";
    case TlsVersion::kTls13:
      return "TLS13";
  }
  return "TLS13";
}

bool IsValidBcryptHash(std::string_view h) {
  // $2b$10$ + 22 characters of salt + 31 of hash.
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (!absl::ascii_isdigit(h[4]) || !absl::ascii_isdigit(h[5])) return false;
  int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (char c : h.substr(7)) {
    if (!absl::ascii_isalnum(c) && c != '.' && c != '/') return false;
  }
  return true;
}

std::optional<std::string> OpenSslCipherName(std::string_view go_name) {
  auto it = CipherTable().find(go_name);
  if (it == CipherTable().end()) return std::nullopt;
  return std::string(it->second);
}

std::optional<std::string> OpenSslGroupName(std::string_view go_name) {
  if (go_name == "CurveP256") return "P-256";
  if (go_name == "CurveP384") return "P-384";
  if (go_name == "CurveP521") return "P-521";
  if (go_name == "X25519") return "X25519";
  return std::nullopt;
}

absl::StatusOr<WebConfig> ParseWebConfig(std::string_view yaml, std::string_view file_name) {
  Parser parser(file_name);
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    return parser.Parse(root);
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(file_name), ": ", e.msg));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(file_name), ":", e.mark.line + 1, ":", e.mark.column + 1, ": ", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(file_name), ": ", e.what()));
  }
}

absl::StatusOr<WebConfig> LoadWebConfigFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadSmallFile(path, "web config file"));
  return ParseWebConfig(text, path);
}

absl::Status CheckWebConfigFile(const std::string& path) {
  ASSIGN_OR_RETURN(WebConfig config, LoadWebConfigFile(path));
  if (!config.tls.has_value()) return absl::OkStatus();
  return LoadTlsMaterial(*config.tls).status();
}

}  // namespace stakewatch::webconfig
