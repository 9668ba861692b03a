// End-to-end tests of WebSecurity on real loopback sockets: a cpp-httplib server built by
// NewServer() with Authorize() as its pre-routing handler, and cpp-httplib clients.
//
// Independence from the code under test: certificates are made with the `openssl` CLI, bcrypt
// hashes with `htpasswd -nbB` (apache2-utils) and Python's crypt module; expectations are the
// toolkit's documented behaviour (status codes, headers, bodies), never values read back from
// WebSecurity.
#include "webconfig/web_security.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace stakewatch::webconfig {
namespace {

using ::testing::HasSubstr;

// Runs `cmd` with /bin/sh; returns stdout, or nullopt if it exits non-zero.
std::optional<std::string> Run(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return std::nullopt;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) return std::nullopt;
  return out;
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
  ASSERT_TRUE(f.good()) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// bcrypt hash of `password` at cost 5 by htpasswd ("user:$2y$05$...").
std::string Htpasswd(const std::string& password) {
  std::optional<std::string> out = Run("htpasswd -nbB -C 5 u '" + password + "'");
  EXPECT_TRUE(out.has_value()) << "htpasswd failed";
  if (!out.has_value()) return "";
  std::string line(absl::StripAsciiWhitespace(*out));
  return line.substr(line.find(':') + 1);
}

// bcrypt hash of `password` at cost 4 by Python's crypt module ($2b$), or nullopt when this
// Python has no crypt module (removed in 3.13).
std::optional<std::string> PythonBcrypt(const std::string& password) {
  std::optional<std::string> out =
      Run("python3 -W ignore -c 'import crypt,sys; "
          "print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' '" +
          password + "' 2>/dev/null");
  if (!out.has_value()) return std::nullopt;
  std::string h(absl::StripAsciiWhitespace(*out));
  if (h.rfind("$2b$04$", 0) != 0) return std::nullopt;
  return h;
}

// Certificates for the whole suite, made once with the openssl CLI (EC P-256 keys: fast).
class Pki {
 public:
  static const Pki& Get() {
    static const Pki* pki = [] {
      auto* p = new Pki();
      std::atexit([] { Run("rm -rf '" + Get().dir + "'"); });
      return p;
    }();
    return *pki;
  }
  std::string dir;
  bool ok = false;

  std::string Path(const std::string& name) const { return dir + "/" + name; }

 private:
  Pki() {
    char tmpl[] = "/tmp/webconfig_pki_XXXXXX";
    dir = mkdtemp(tmpl);
    const std::string d = dir;
    auto key = [&](const std::string& name) {
      return "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + d + "/" +
             name + ".key 2>&1";
    };
    auto ca = [&](const std::string& name, const std::string& cn) {
      return key(name) + " && openssl req -x509 -new -key " + d + "/" + name + ".key -out " + d +
             "/" + name + ".crt -days 2 -subj /CN=" + cn + " 2>&1";
    };
    // `leaf name ca cn ext`: a certificate for name.key signed by ca with extensions `ext`.
    auto leaf = [&](const std::string& name, const std::string& issuer, const std::string& cn,
                    const std::string& ext) {
      WriteFile(d + "/" + name + ".ext", ext + "\n");
      return key(name) + " && openssl req -new -key " + d + "/" + name + ".key -out " + d + "/" +
             name + ".csr -subj /CN=" + cn + " 2>&1 && openssl x509 -req -in " + d + "/" + name +
             ".csr -CA " + d + "/" + issuer + ".crt -CAkey " + d + "/" + issuer +
             ".key -CAcreateserial -days 2 -out " + d + "/" + name + ".crt -extfile " + d + "/" +
             name + ".ext 2>&1";
    };
    const std::string server_ext =
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature";
    const std::string client_ext =
        "subjectAltName=DNS:scraper.example\nextendedKeyUsage=clientAuth\n"
        "keyUsage=digitalSignature";
    const std::vector<std::string> steps = {
        ca("ca", "test-ca"),
        ca("ca2", "test-ca-2"),
        ca("rogue_ca", "rogue-ca"),
        leaf("server", "ca", "127.0.0.1", server_ext),
        leaf("server2", "ca2", "127.0.0.1", server_ext),
        leaf("client", "ca", "client", client_ext),
        leaf("client_other_san", "ca", "other",
             "subjectAltName=DNS:other.example\nextendedKeyUsage=clientAuth"),
        leaf("rogue_client", "rogue_ca", "client", client_ext),
    };
    for (const std::string& s : steps) {
      if (!Run(s).has_value()) {
        ADD_FAILURE() << "openssl failed: " << s;
        return;
      }
    }
    ok = true;
  }
};

// A server built by WebSecurity::NewServer on 127.0.0.1:<ephemeral>, answering "ok" on "/".
class TestServer {
 public:
  explicit TestServer(WebSecurity* web) {
    absl::StatusOr<std::unique_ptr<httplib::Server>> s = web->NewServer();
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return;
    server_ = *std::move(s);
    server_->set_pre_routing_handler([web](const httplib::Request& req, httplib::Response& res) {
      return web->Authorize(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                      : httplib::Server::HandlerResponse::Handled;
    });
    server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok", "text/plain");
    });
    server_->set_keep_alive_max_count(1);
    port_ = server_->bind_to_any_port("127.0.0.1");
    EXPECT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  ~TestServer() {
    if (server_ == nullptr) return;
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

struct ClientOptions {
  std::string ca = "ca";  // Trusted CA (name in the Pki dir).
  std::string cert;       // Client certificate name ("" for none).
  int min_version = 0;    // OpenSSL TLS1_x_VERSION bounds; 0: library default.
  int max_version = 0;
  std::string ciphers;  // TLS 1.2 cipher list; "" default.
  std::string groups;   // "" default.
  std::string user, password;
};

void Configure(httplib::ClientImpl& c, const ClientOptions& o) {
  c.set_connection_timeout(5);
  c.set_read_timeout(5);
  if (!o.user.empty()) c.set_basic_auth(o.user, o.password);
}

httplib::Result HttpsGet(int port, const ClientOptions& o) {
  const Pki& pki = Pki::Get();
  std::unique_ptr<httplib::SSLClient> c =
      o.cert.empty() ? std::make_unique<httplib::SSLClient>("127.0.0.1", port)
                     : std::make_unique<httplib::SSLClient>(
                           "127.0.0.1", port, pki.Path(o.cert + ".crt"), pki.Path(o.cert + ".key"));
  c->set_ca_cert_path(pki.Path(o.ca + ".crt"));
  c->enable_server_certificate_verification(true);
  SSL_CTX* ctx = c->ssl_context();
  if (o.min_version != 0) SSL_CTX_set_min_proto_version(ctx, o.min_version);
  if (o.max_version != 0) SSL_CTX_set_max_proto_version(ctx, o.max_version);
  if (!o.ciphers.empty()) SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str());
  if (!o.groups.empty()) SSL_CTX_set1_groups_list(ctx, o.groups.c_str());
  Configure(*c, o);
  return c->Get("/");
}

httplib::Result HttpGet(int port, const ClientOptions& o = {}) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(5);
  c.set_read_timeout(5);
  if (!o.user.empty()) c.set_basic_auth(o.user, o.password);
  return c.Get("/");
}

// True if the request got an HTTP 200 "ok" answer.
bool Ok(const httplib::Result& r) { return r && r->status == 200 && r->body == "ok"; }

class WebSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Pki::Get().ok);
    char tmpl[] = "/tmp/webconfig_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    // Certificates next to the web config file, so relative paths resolve against its dir.
    for (const char* f : {"server.crt", "server.key", "ca.crt"}) {
      WriteFile(dir_ + "/" + f, ReadFile(Pki::Get().Path(f)));
    }
  }
  void TearDown() override { ::stakewatch::webconfig::Run("rm -rf '" + dir_ + "'"); }

  std::string WebFile(const std::string& yaml) {
    WriteFile(dir_ + "/web.yml", yaml);
    return dir_ + "/web.yml";
  }
  static std::string Tls(const std::string& extra = "") {
    return "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n" + extra;
  }
  std::unique_ptr<WebSecurity> MustCreate(const std::string& yaml) {
    absl::StatusOr<std::unique_ptr<WebSecurity>> w = WebSecurity::Create(WebFile(yaml));
    EXPECT_TRUE(w.ok()) << w.status();
    return w.ok() ? *std::move(w) : nullptr;
  }

  std::string dir_;
};

TEST_F(WebSecurityTest, NoFileMeansPlainHttpWithoutAuth) {
  absl::StatusOr<std::unique_ptr<WebSecurity>> web = WebSecurity::Create("");
  ASSERT_TRUE(web.ok());
  EXPECT_FALSE((*web)->tls());
  TestServer server(web->get());
  EXPECT_TRUE(Ok(HttpGet(server.port())));
}

TEST_F(WebSecurityTest, BasicAuthOverHttp) {
  const std::string alice = Htpasswd("alice-pw");
  std::optional<std::string> bob = PythonBcrypt("bob-pw");
  std::string yaml = "basic_auth_users:\n  alice: '" + alice + "'\n";
  if (bob.has_value()) yaml += "  bob: '" + *bob + "'\n";
  auto web = MustCreate(yaml);
  ASSERT_NE(web, nullptr);
  EXPECT_FALSE(web->tls());
  TestServer server(web.get());

  httplib::Result none = HttpGet(server.port());
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Basic");
  EXPECT_EQ(none->body, "Unauthorized\n");

  httplib::Result wrong = HttpGet(server.port(), {.user = "alice", .password = "alice-PW"});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  // The dummy hash's own password does not let an unknown user in.
  httplib::Result unknown = HttpGet(server.port(), {.user = "mallory", .password = "fakepassword"});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 401);
  // The same wrong password twice (the second answer comes from the cache) is still refused.
  httplib::Result wrong_again = HttpGet(server.port(), {.user = "alice", .password = "alice-PW"});
  ASSERT_TRUE(wrong_again);
  EXPECT_EQ(wrong_again->status, 401);

  EXPECT_TRUE(Ok(HttpGet(server.port(), {.user = "alice", .password = "alice-pw"})));
  EXPECT_TRUE(Ok(HttpGet(server.port(), {.user = "alice", .password = "alice-pw"})));  // Cached.
  if (bob.has_value()) {
    EXPECT_TRUE(Ok(HttpGet(server.port(), {.user = "bob", .password = "bob-pw"})));
    httplib::Result cross = HttpGet(server.port(), {.user = "bob", .password = "alice-pw"});
    ASSERT_TRUE(cross);
    EXPECT_EQ(cross->status, 401);
  }

  // Malformed Authorization headers.
  for (const char* header : {"Bearer abc", "Basic !!!notbase64", "Basic YWxpY2U=" /* "alice" */}) {
    httplib::Client c("127.0.0.1", server.port());
    httplib::Result r = c.Get("/", {{"Authorization", header}});
    ASSERT_TRUE(r) << header;
    EXPECT_EQ(r->status, 401) << header;
  }
  EXPECT_EQ(web->counters().auth_failures, 4u + 3u + (bob.has_value() ? 1u : 0u));
}

TEST_F(WebSecurityTest, PasswordsBeyondBcryptsLimitAreRefused) {
  const std::string pw72(72, 'p');
  auto web = MustCreate("basic_auth_users:\n  alice: '" + Htpasswd(pw72) + "'\n");
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpGet(server.port(), {.user = "alice", .password = pw72})));
  // bcrypt only reads 72 bytes; a longer password must not match its 72-byte prefix.
  httplib::Result longer = HttpGet(server.port(), {.user = "alice", .password = pw72 + "extra"});
  ASSERT_TRUE(longer);
  EXPECT_EQ(longer->status, 401);
}

TEST_F(WebSecurityTest, HeadersOnEveryResponseIncluding401) {
  auto web = MustCreate(
      "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
      "    Content-Security-Policy: \"default-src 'self'\"\n"
      "    X-Content-Type-Options: nosniff\n"
      "basic_auth_users:\n  alice: '" +
      Htpasswd("pw") + "'\n");
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  for (const ClientOptions& o :
       {ClientOptions{}, ClientOptions{.user = "alice", .password = "pw"}}) {
    httplib::Result r = HttpGet(server.port(), o);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, o.user.empty() ? 401 : 200);
    EXPECT_EQ(r->get_header_value("X-Frame-Options"), "deny");
    EXPECT_EQ(r->get_header_value("Content-Security-Policy"), "default-src 'self'");
    EXPECT_EQ(r->get_header_value_count("X-Content-Type-Options"), 1u);
  }
}

TEST_F(WebSecurityTest, ChangedFileTakesEffectOnTheNextRequest) {
  auto web = MustCreate("basic_auth_users:\n  alice: '" + Htpasswd("old") + "'\n");
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpGet(server.port(), {.user = "alice", .password = "old"})));

  WebFile("basic_auth_users:\n  alice: '" + Htpasswd("new") +
          "'\nhttp_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n");
  httplib::Result old_pw = HttpGet(server.port(), {.user = "alice", .password = "old"});
  ASSERT_TRUE(old_pw);
  EXPECT_EQ(old_pw->status, 401);
  httplib::Result new_pw = HttpGet(server.port(), {.user = "alice", .password = "new"});
  ASSERT_TRUE(new_pw);
  EXPECT_EQ(new_pw->status, 200);
  EXPECT_EQ(new_pw->get_header_value("X-Frame-Options"), "sameorigin");

  // Removing every user turns authentication off.
  WebFile("{}\n");
  EXPECT_TRUE(Ok(HttpGet(server.port())));
}

TEST_F(WebSecurityTest, InvalidFileFailsClosedUntilFixed) {
  const std::string good = "basic_auth_users:\n  alice: '" + Htpasswd("pw") + "'\n";
  auto web = MustCreate(good);
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpGet(server.port(), {.user = "alice", .password = "pw"})));

  // Decision (the toolkit's): no last-good fallback; 500 for everyone, even valid users.
  WebFile("basic_auth_users:\n  alice: not-a-hash\n");
  for (int i = 0; i < 2; ++i) {
    httplib::Result r = HttpGet(server.port(), {.user = "alice", .password = "pw"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->body, "Internal Server Error\n");
  }
  EXPECT_FALSE(web->LastLoadStatus().ok());
  EXPECT_THAT(std::string(web->LastLoadStatus().message()), HasSubstr("web.yml:2:10:"));
  EXPECT_EQ(web->counters().reload_failures, 1u);  // Counted once per distinct failure.

  ASSERT_EQ(std::remove((dir_ + "/web.yml").c_str()), 0);
  httplib::Result missing = HttpGet(server.port(), {.user = "alice", .password = "pw"});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 500);
  EXPECT_EQ(web->counters().reload_failures, 2u);

  WebFile(good);
  EXPECT_TRUE(Ok(HttpGet(server.port(), {.user = "alice", .password = "pw"})));
  EXPECT_TRUE(web->LastLoadStatus().ok());
}

TEST_F(WebSecurityTest, TlsServesWithBasicAuthAndRefusesPlainHttp) {
  auto web = MustCreate(Tls() + "basic_auth_users:\n  alice: '" + Htpasswd("pw") + "'\n");
  ASSERT_NE(web, nullptr);
  EXPECT_TRUE(web->tls());
  TestServer server(web.get());

  httplib::Result none = HttpsGet(server.port(), {});
  ASSERT_TRUE(none) << httplib::to_string(none.error());
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Basic");
  httplib::Result wrong = HttpsGet(server.port(), {.user = "alice", .password = "nope"});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {.user = "alice", .password = "pw"})));

  httplib::Result plain = HttpGet(server.port(), {.user = "alice", .password = "pw"});
  EXPECT_FALSE(plain && plain->status == 200);
  // The server still works after the bad connection.
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {.user = "alice", .password = "pw"})));
}

// Outcome (true = HTTP 200) for no client cert, a cert from an unknown CA, and a good cert.
struct ClientAuthCase {
  const char* type;
  bool no_cert, rogue_cert, good_cert;
};

class ClientAuthTest : public WebSecurityTest,
                       public ::testing::WithParamInterface<ClientAuthCase> {};

TEST_P(ClientAuthTest, FollowsGoSemantics) {
  const ClientAuthCase& c = GetParam();
  std::string extra = absl::StrCat("  client_auth_type: ", c.type, "\n");
  if (std::string(c.type) != "NoClientCert") extra += "  client_ca_file: ca.crt\n";
  auto web = MustCreate(Tls(extra));
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_EQ(Ok(HttpsGet(server.port(), {})), c.no_cert) << "no client certificate";
  EXPECT_EQ(Ok(HttpsGet(server.port(), {.cert = "rogue_client"})), c.rogue_cert)
      << "certificate from another CA";
  EXPECT_EQ(Ok(HttpsGet(server.port(), {.cert = "client"})), c.good_cert) << "good certificate";
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, ClientAuthTest,
    ::testing::Values(ClientAuthCase{"NoClientCert", true, true, true},
                      ClientAuthCase{"RequestClientCert", true, true, true},
                      ClientAuthCase{"RequireAnyClientCert", false, true, true},
                      ClientAuthCase{"VerifyClientCertIfGiven", true, false, true},
                      ClientAuthCase{"RequireAndVerifyClientCert", false, false, true}),
    [](const ::testing::TestParamInfo<ClientAuthCase>& info) { return info.param.type; });

TEST_F(WebSecurityTest, ClientAllowedSans) {
  auto web =
      MustCreate(Tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"
                     "  client_allowed_sans: [scraper.example]\n"));
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {.cert = "client"})));  // SAN DNS:scraper.example.
  EXPECT_FALSE(Ok(HttpsGet(server.port(), {.cert = "client_other_san"})));  // Same CA, other SAN.
}

TEST_F(WebSecurityTest, MinVersionTls13RefusesTls12Client) {
  auto web = MustCreate(Tls("  min_version: TLS13\n"));
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  httplib::Result r = HttpsGet(server.port(), {.max_version = TLS1_2_VERSION});
  EXPECT_FALSE(r);
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {.min_version = TLS1_3_VERSION})));
}

TEST_F(WebSecurityTest, MaxVersionTls12RefusesTls13OnlyClient) {
  auto web = MustCreate(Tls("  max_version: TLS12\n"));
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  httplib::Result r = HttpsGet(server.port(), {.min_version = TLS1_3_VERSION});
  EXPECT_FALSE(r);
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {.max_version = TLS1_2_VERSION})));
}

TEST_F(WebSecurityTest, CipherSuitesAndCurves) {
  auto web =
      MustCreate(Tls("  max_version: TLS12\n"
                     "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"
                     "  curve_preferences: [CurveP384]\n"));
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  // The client also lists P-256: in TLS 1.2 its groups must include the curve of the server's
  // ECDSA certificate (P-256), not only the ECDHE group.
  EXPECT_TRUE(Ok(HttpsGet(server.port(),
                          {.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256", .groups = "P-384:P-256"})));
  EXPECT_FALSE(Ok(HttpsGet(server.port(),
                           {.ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384", .groups = "P-384:P-256"})));
  EXPECT_FALSE(
      Ok(HttpsGet(server.port(), {.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256", .groups = "P-256"})));
}

TEST_F(WebSecurityTest, RotatedCertificateIsServedFromTheNextHandshake) {
  auto web = MustCreate(Tls());
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {.ca = "ca"})));
  EXPECT_FALSE(Ok(HttpsGet(server.port(), {.ca = "ca2"})));

  // Rotate to a certificate from another CA: only a client trusting that CA now succeeds.
  WriteFile(dir_ + "/server.crt", ReadFile(Pki::Get().Path("server2.crt")));
  WriteFile(dir_ + "/server.key", ReadFile(Pki::Get().Path("server2.key")));
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {.ca = "ca2"})));
  EXPECT_FALSE(Ok(HttpsGet(server.port(), {.ca = "ca"})));
}

TEST_F(WebSecurityTest, NewClientAuthPolicyAppliesToTheNextHandshake) {
  auto web = MustCreate(Tls());
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {})));
  WebFile(Tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n"));
  EXPECT_FALSE(Ok(HttpsGet(server.port(), {})));
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {.cert = "client"})));
}

TEST_F(WebSecurityTest, TlsFailsClosedOnBrokenFileOrCertificate) {
  auto web = MustCreate(Tls());
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {})));

  WebFile(Tls("  min_version: TLS99\n"));  // Invalid file: handshakes refused.
  EXPECT_FALSE(HttpsGet(server.port(), {}));
  WebFile(Tls());
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {})));

  // A key that does not match the certificate: refused until the pair is consistent again.
  WriteFile(dir_ + "/server.key", ReadFile(Pki::Get().Path("client.key")));
  EXPECT_FALSE(HttpsGet(server.port(), {}));
  WriteFile(dir_ + "/server.key", ReadFile(Pki::Get().Path("server.key")));
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {})));

  // Losing tls_server_config needs a restart: the TLS listener refuses handshakes meanwhile.
  WebFile("{}\n");
  EXPECT_FALSE(HttpsGet(server.port(), {}));
  EXPECT_EQ(web->counters().handshake_refusals, 3u);
}

TEST_F(WebSecurityTest, GainingTlsKeepsAPlainListenerServing) {
  auto web = MustCreate("{}\n");
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  WebFile(Tls());
  EXPECT_FALSE(web->tls());
  EXPECT_TRUE(Ok(HttpGet(server.port())));
}

TEST_F(WebSecurityTest, ConcurrentRequestsOverTls) {
  auto web = MustCreate(Tls() + "basic_auth_users:\n  alice: '" + Htpasswd("pw") + "'\n");
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  std::atomic<int> ok{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 4; ++i) {
        const bool good = (t + i) % 2 == 0;
        httplib::Result r =
            HttpsGet(server.port(), {.user = "alice", .password = good ? "pw" : "bad"});
        if (good && Ok(r)) ok++;
        if (!good && r && r->status == 401) refused++;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(ok.load(), 12);
  EXPECT_EQ(refused.load(), 12);
}

TEST_F(WebSecurityTest, RateLimit) {
  auto web = MustCreate("rate_limit:\n  interval: 1h\n  burst: 2\n");
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpGet(server.port())));
  EXPECT_TRUE(Ok(HttpGet(server.port())));
  httplib::Result third = HttpGet(server.port());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 429);
  EXPECT_EQ(web->counters().rate_limited, 1u);
}

TEST_F(WebSecurityTest, CreateRefusesBadFiles) {
  EXPECT_EQ(WebSecurity::Create(dir_ + "/missing.yml").status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<std::unique_ptr<WebSecurity>> w =
      WebSecurity::Create(WebFile("tls_server_config:\n  cert_file: nope.crt\n  key_file: k\n"));
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("cert_file"));
  EXPECT_THAT(std::string(w.status().message()), HasSubstr(dir_ + "/nope.crt"));

  WriteFile(dir_ + "/client.key", ReadFile(Pki::Get().Path("client.key")));
  w = WebSecurity::Create(
      WebFile("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n"));
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("does not match"));
}

TEST_F(WebSecurityTest, InlinePem) {
  auto indent = [](const std::string& pem) {
    std::string out;
    for (char ch : pem) {
      out += ch;
      if (ch == '\n') out += "    ";
    }
    return out;
  };
  auto web = MustCreate("tls_server_config:\n  cert: |\n    " +
                        indent(ReadFile(Pki::Get().Path("server.crt"))) + "\n  key: |\n    " +
                        indent(ReadFile(Pki::Get().Path("server.key"))) + "\n");
  ASSERT_NE(web, nullptr);
  TestServer server(web.get());
  EXPECT_TRUE(Ok(HttpsGet(server.port(), {})));
}

TEST_F(WebSecurityTest, CheckWebConfigFile) {
  EXPECT_TRUE(CheckWebConfigFile(WebFile(Tls())).ok());
  EXPECT_TRUE(CheckWebConfigFile(WebFile("{}\n")).ok());
  absl::Status s = CheckWebConfigFile(
      WebFile(Tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: "
                  "server.key\n")));
  EXPECT_THAT(std::string(s.message()), HasSubstr("client CA: no PEM certificate found"));
  WriteFile(dir_ + "/server.key", ReadFile(Pki::Get().Path("client.key")));
  s = CheckWebConfigFile(WebFile(Tls()));
  EXPECT_THAT(std::string(s.message()), HasSubstr("private key does not match public key"));
}

}  // namespace
}  // namespace stakewatch::webconfig
