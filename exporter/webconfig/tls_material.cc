#include "webconfig/tls_material.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace stakewatch::webconfig {
namespace {

constexpr size_t kMaxFileBytes = 4 << 20;

// Never prompt on a terminal for an encrypted key's passphrase: fail instead.
int NoPassphrase(char*, int, int, void*) { return -1; }

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(const std::string& s) {
  return BioPtr(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())));
}

// Reads every certificate in `pem`.
std::vector<X509*> ReadCerts(const std::string& pem) {
  std::vector<X509*> out;
  BioPtr bio = MemBio(pem);
  if (bio == nullptr) return out;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    out.push_back(c);
  }
  ERR_clear_error();  // The loop ends on a "no start line" error.
  return out;
}

}  // namespace

std::string TakeOpenSslError() {
  unsigned long e = ERR_get_error();
  std::string out = "unknown error";
  if (e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out = buf;
  }
  ERR_clear_error();
  return out;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path, std::string_view what) {
  auto fail = [&](int err) {
    std::string msg =
        absl::StrCat("failed to read ", ToAbsl(what), " (", path, "): ", std::strerror(err));
    return absl::Status(absl::ErrnoToStatusCode(err), msg);
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(errno);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return fail(err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("failed to read ", ToAbsl(what), " (", path, "): not a regular file"));
  }
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return fail(err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxFileBytes) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("failed to read ", ToAbsl(what), " (", path, "): larger than 4 MiB"));
    }
  }
  close(fd);
  return out;
}

absl::StatusOr<TlsInputs> ReadTlsInputs(const TlsServerConfig& c) {
  TlsInputs in;
  if (!c.cert_file.empty()) {
    ASSIGN_OR_RETURN(in.cert, ReadSmallFile(c.cert_file, "cert_file"));
  } else {
    in.cert = c.cert;
  }
  if (!c.key_file.empty()) {
    ASSIGN_OR_RETURN(in.key, ReadSmallFile(c.key_file, "key_file"));
  } else {
    in.key = c.key;
  }
  if (!c.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(in.client_ca, ReadSmallFile(c.client_ca_file, "client_ca_file"));
    if (in.client_ca.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("client_ca_file (", c.client_ca_file, ") is empty"));
    }
  } else {
    in.client_ca = c.client_ca;
  }
  return in;
}

TlsMaterial::~TlsMaterial() {
  X509_free(cert);
  if (chain != nullptr) sk_X509_pop_free(chain, X509_free);
  EVP_PKEY_free(key);
  X509_STORE_free(client_ca_store);
  if (client_ca_names != nullptr) sk_X509_NAME_pop_free(client_ca_names, X509_NAME_free);
}

absl::StatusOr<std::shared_ptr<const TlsMaterial>> ParseTlsMaterial(const TlsInputs& in) {
  ERR_clear_error();
  auto m = std::make_shared<TlsMaterial>();
  std::vector<X509*> certs = ReadCerts(in.cert);
  if (certs.empty()) {
    return absl::InvalidArgumentError(
        "failed to load X509KeyPair: no PEM certificate found in cert/cert_file");
  }
  m->cert = certs[0];
  m->chain = sk_X509_new_null();
  for (size_t i = 1; i < certs.size(); ++i) sk_X509_push(m->chain, certs[i]);

  BioPtr key_bio = MemBio(in.key);
  if (key_bio != nullptr) {
    m->key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr);
  }
  if (m->key == nullptr) {
    // The OpenSSL reason is safe to show (it never contains key bytes).
    return absl::InvalidArgumentError(
        absl::StrCat("failed to load X509KeyPair: no usable PEM private key in key/key_file: ",
                     TakeOpenSslError()));
  }
  if (X509_check_private_key(m->cert, m->key) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        "failed to load X509KeyPair: private key does not match public key");
  }

  if (!in.client_ca.empty()) {
    std::vector<X509*> cas = ReadCerts(in.client_ca);
    if (cas.empty()) {
      return absl::InvalidArgumentError("client CA: no PEM certificate found");
    }
    m->client_ca_store = X509_STORE_new();
    m->client_ca_names = sk_X509_NAME_new_null();
    for (X509* ca : cas) {
      X509_STORE_add_cert(m->client_ca_store, ca);  // Takes its own reference.
      sk_X509_NAME_push(m->client_ca_names, X509_NAME_dup(X509_get_subject_name(ca)));
      X509_free(ca);
    }
    ERR_clear_error();  // Duplicate CA certificates are reported but harmless.
  }
  return std::shared_ptr<const TlsMaterial>(std::move(m));
}

absl::StatusOr<std::shared_ptr<const TlsMaterial>> LoadTlsMaterial(const TlsServerConfig& c) {
  ASSIGN_OR_RETURN(TlsInputs in, ReadTlsInputs(c));
  return ParseTlsMaterial(in);
}

}  // namespace stakewatch::webconfig
