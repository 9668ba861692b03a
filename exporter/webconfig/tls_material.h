// Internal to webconfig: the certificate, key and client CA of a tls_server_config, read from
// files or inline PEM and parsed into OpenSSL objects, plus a bounded file reader.
//
//   ASSIGN_OR_RETURN(TlsInputs in, ReadTlsInputs(config));       // per handshake: file reads
//   ASSIGN_OR_RETURN(auto material, ParseTlsMaterial(in));      // only when `in` changed
//
// TlsMaterial is immutable once built and is shared (std::shared_ptr<const TlsMaterial>) between
// the handshakes that use it; its OpenSSL objects are only read (up-referenced) after
// construction, which OpenSSL allows from any thread. Errors never contain key material.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "webconfig/webconfig.h"

namespace stakewatch::webconfig {

// Reads a regular file of at most 4 MiB. `what` names it in errors ("cert_file").
absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what);

// The raw PEM text of the three items (empty client_ca when none is configured).
struct TlsInputs {
  std::string cert;
  std::string key;  // Secret.
  std::string client_ca;
  bool operator==(const TlsInputs& o) const {
    return cert == o.cert && key == o.key && client_ca == o.client_ca;
  }
};

absl::StatusOr<TlsInputs> ReadTlsInputs(const TlsServerConfig& config);

class TlsMaterial {
 public:
  TlsMaterial() = default;
  TlsMaterial(const TlsMaterial&) = delete;
  TlsMaterial& operator=(const TlsMaterial&) = delete;
  ~TlsMaterial();

  X509* cert = nullptr;                             // Leaf certificate (first PEM block of cert).
  STACK_OF(X509) * chain = nullptr;                 // Further certificates of cert, in order.
  EVP_PKEY* key = nullptr;                          // Matches `cert`.
  X509_STORE* client_ca_store = nullptr;            // Null when no client CA is configured.
  STACK_OF(X509_NAME) * client_ca_names = nullptr;  // Subjects of the client CAs (or null).
};

// Parses the PEM inputs; checks the key matches the certificate and the client CA holds at least
// one certificate.
absl::StatusOr<std::shared_ptr<const TlsMaterial>> ParseTlsMaterial(const TlsInputs& in);

// ReadTlsInputs + ParseTlsMaterial.
absl::StatusOr<std::shared_ptr<const TlsMaterial>> LoadTlsMaterial(const TlsServerConfig& config);

// The text of the first error in OpenSSL's thread-local queue, which it then clears.
std::string TakeOpenSslError();

}  // namespace stakewatch::webconfig
