// Tests of the web config file loader (webconfig.h): values, defaults and every rejection the
// toolkit makes, with the expected "file:line:column" worked out by hand from each input.
#include "webconfig/webconfig.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace stakewatch::webconfig {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// Made with `htpasswd -nbB -C 4 alice secret` (apache2-utils) and Python's
// crypt.crypt("pw", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)).
constexpr char kHtpasswdHash[] = "$2y$04$F2ie5rasrzoatgVfhSs.kuMdsPJdUbntbyYew7m2RYBKL.Zzipl4.";
constexpr char kPythonHash[] = "$2b$04$uIM.Edg9EZvgUG/b5vYG2eD4jmFBfN7DRulnmkn7J9H4oq2zqzsS2";

TEST(ParseWebConfig, EveryFieldOfTheFormat) {
  const std::string yaml = std::string(R"(tls_server_config:
  cert_file: tls/server.crt
  key_file: /abs/server.key
  client_auth_type: RequireAndVerifyClientCert
  client_ca_file: ca.crt
  client_allowed_sans: [scraper.example, 10.0.0.1]
  min_version: TLS13
  max_version: TLS13
  cipher_suites:
    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    - TLS_AES_128_GCM_SHA256
  curve_preferences: [X25519, CurveP521]
  prefer_server_cipher_suites: false
http_server_config:
  http2: false
  headers:
    X-Frame-Options: sameorigin
    Content-Security-Policy: "default-src 'self'"
basic_auth_users:
  alice: ')") + kHtpasswdHash +
                           R"('
  bob: )" + kPythonHash + R"(
rate_limit:
  interval: 250ms
  burst: 7
)";
  absl::StatusOr<WebConfig> c = ParseWebConfig(yaml, "/etc/sw/web.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->tls.has_value());
  const TlsServerConfig& t = *c->tls;
  EXPECT_EQ(t.cert_file, "/etc/sw/tls/server.crt");  // Relative: joined with the file's dir.
  EXPECT_EQ(t.key_file, "/abs/server.key");          // Absolute: as written.
  EXPECT_EQ(t.client_ca_file, "/etc/sw/ca.crt");
  EXPECT_EQ(t.client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_THAT(t.client_allowed_sans, ::testing::ElementsAre("scraper.example", "10.0.0.1"));
  EXPECT_EQ(t.min_version, TlsVersion::kTls13);
  EXPECT_EQ(t.max_version, TlsVersion::kTls13);
  EXPECT_THAT(t.cipher_suites, ::testing::ElementsAre("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                                                      "TLS_AES_128_GCM_SHA256"));
  EXPECT_THAT(t.curve_preferences, ::testing::ElementsAre("X25519", "CurveP521"));
  EXPECT_FALSE(t.prefer_server_cipher_suites);
  EXPECT_FALSE(c->http2);
  EXPECT_EQ(c->headers.size(), 2u);
  EXPECT_EQ(c->headers.at("X-Frame-Options"), "sameorigin");
  EXPECT_EQ(c->headers.at("Content-Security-Policy"), "default-src 'self'");
  EXPECT_EQ(c->basic_auth_users.size(), 2u);
  EXPECT_EQ(c->basic_auth_users.at("alice"), kHtpasswdHash);
  EXPECT_EQ(c->basic_auth_users.at("bob"), kPythonHash);
  EXPECT_EQ(c->rate_limit.interval, absl::Milliseconds(250));
  EXPECT_EQ(c->rate_limit.burst, 7);
}

TEST(ParseWebConfig, DefaultsAndRelativePathsWithoutADirectory) {
  absl::StatusOr<WebConfig> c =
      ParseWebConfig("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n", "web.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->tls.has_value());
  EXPECT_EQ(c->tls->cert_file, "a.crt");
  EXPECT_EQ(c->tls->client_auth_type, "NoClientCert");
  EXPECT_EQ(c->tls->min_version, TlsVersion::kTls12);
  EXPECT_EQ(c->tls->max_version, TlsVersion::kTls13);
  EXPECT_TRUE(c->tls->prefer_server_cipher_suites);
  EXPECT_TRUE(c->http2);
  EXPECT_TRUE(c->headers.empty());
  EXPECT_TRUE(c->basic_auth_users.empty());
  EXPECT_EQ(c->rate_limit.interval, absl::ZeroDuration());
}

TEST(ParseWebConfig, EmptyFileAndInertTlsSectionMeanPlainHttp) {
  for (const char* yaml : {"", "# only a comment\n", "tls_server_config:\n",
                           "tls_server_config:\n  min_version: TLS13\n"}) {
    absl::StatusOr<WebConfig> c = ParseWebConfig(yaml, "web.yml");
    ASSERT_TRUE(c.ok()) << yaml << ": " << c.status();
    EXPECT_FALSE(c->tls.has_value()) << yaml;
  }
}

TEST(ParseWebConfig, InlinePemAndLegacyClientAuthAlias) {
  absl::StatusOr<WebConfig> c = ParseWebConfig(
      "tls_server_config:\n"
      "  cert: |\n    -----BEGIN CERTIFICATE-----\n    x\n    -----END CERTIFICATE-----\n"
      "  key: k\n  client_ca: c\n  client_auth_type: RequireClientCert\n",
      "web.yml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->tls->cert, "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(c->tls->key, "k");
  EXPECT_EQ(c->tls->client_ca, "c");
  EXPECT_EQ(c->tls->client_auth_type, "RequireAnyClientCert");
  EXPECT_TRUE(c->tls->cert_file.empty());
}

struct BadCase {
  const char* yaml;
  const char* error;  // Expected prefix "web.yml:L:C: message", positions computed by hand.
};

class ParseWebConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseWebConfigErrors, NamesFileLineAndColumn) {
  absl::StatusOr<WebConfig> c = ParseWebConfig(GetParam().yaml, "web.yml");
  ASSERT_FALSE(c.ok()) << GetParam().yaml;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(GetParam().error)) << GetParam().yaml;
}

const char kCertKey[] = "tls_server_config:\n  cert_file: a\n  key_file: b\n";

INSTANTIATE_TEST_SUITE_P(
    All, ParseWebConfigErrors,
    ::testing::Values(
        BadCase{"basic_auth_users: {}\ntls_config: {}\n",
                "web.yml:2:1: unknown key \"tls_config\" in the web config file"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth: x\n",
                "web.yml:4:3: unknown key \"client_auth\" in tls_server_config"},
        BadCase{"http_server_config:\n  http2: true\n  http2: false\n",
                "web.yml:3:3: duplicate key \"http2\" in http_server_config"},
        BadCase{"http_server_config:\n  headers: [a\n", "web.yml:3:1: "},
        BadCase{"- a\n- b\n", "web.yml:1:1: the web config file: expected a mapping"},
        BadCase{"tls_server_config:\n  cert_file: a\n",
                "web.yml:2:3: tls_server_config: missing one of key or key_file"},
        BadCase{"tls_server_config:\n  key_file: b\n",
                "web.yml:2:3: tls_server_config: missing one of cert or cert_file"},
        BadCase{"tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n",
                "web.yml:2:3: tls_server_config: missing one of cert or cert_file"},
        BadCase{"tls_server_config:\n  cert_file: a\n  cert: x\n  key_file: b\n",
                "web.yml:2:3: tls_server_config: at most one of cert and cert_file"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key: x\n  key_file: b\n",
                "web.yml:2:3: tls_server_config: at most one of key and key_file"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n",
                "web.yml:4:19: client CA's have been configured without a Client Auth Policy"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  client_auth_type: NoClientCert\n  client_ca: x\n",
                "web.yml:5:14: client CA's have been configured without a Client Auth Policy"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: Maybe\n",
                "web.yml:4:21: invalid ClientAuth: Maybe"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  client_auth_type: VerifyClientCertIfGiven\n  client_allowed_sans: [x]\n",
                "web.yml:5:24: client_allowed_sans requires client_auth_type to be one of "
                "RequireAnyClientCert or RequireAndVerifyClientCert"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
                "web.yml:4:16: tls_server_config.min_version: unknown TLS version: TLS14"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: tls12\n",
                "web.yml:4:16: tls_server_config.max_version: unknown TLS version: tls12"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  min_version: TLS13\n  max_version: TLS12\n",
                "web.yml:2:3: tls_server_config: min_version is greater than max_version"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n  cipher_suites:\n"
                "    - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n    - TLS_RSA_WITH_RC4_128_SHA\n",
                "web.yml:6:7: unknown cipher: TLS_RSA_WITH_RC4_128_SHA"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  curve_preferences: [X25519, CurveP999]\n",
                "web.yml:4:31: unknown curve: CurveP999"},
        BadCase{"tls_server_config:\n  cert_file: a\n  key_file: b\n"
                "  prefer_server_cipher_suites: maybe\n",
                "web.yml:4:32: tls_server_config.prefer_server_cipher_suites: expected a boolean"},
        BadCase{"http_server_config:\n  headers:\n    X-Custom: a\n",
                "web.yml:3:15: HTTP header \"X-Custom\" can not be configured"},
        BadCase{"http_server_config:\n  headers:\n    x-frame-options: deny\n",
                "web.yml:3:22: HTTP header \"x-frame-options\" can not be configured"},
        BadCase{"http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
                "web.yml:3:22: invalid value for X-Frame-Options. Expected one of: "
                "[\"deny\" \"sameorigin\"], but got: \"allow\""},
        BadCase{"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
                "web.yml:3:29: invalid value for X-Content-Type-Options. Expected one of: "
                "[\"nosniff\"], but got: \"sniff\""},
        BadCase{"http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nSet-Cookie: a\"\n",
                "web.yml:3:23: invalid value for X-XSS-Protection: contains a line break or NUL"},
        BadCase{"http_server_config:\n  http2: 2\n",
                "web.yml:2:10: http_server_config.http2: expected a boolean"},
        BadCase{"basic_auth_users:\n  alice: hunter2\n",
                "web.yml:2:10: basic_auth_users: user \"alice\": password is not a valid bcrypt "
                "hash"},
        BadCase{"basic_auth_users:\n  alice:\n",
                "web.yml:2:3: basic_auth_users: user \"alice\": password is not a valid bcrypt "
                "hash"},
        BadCase{"basic_auth_users: [alice]\n",
                "web.yml:1:19: basic_auth_users: expected a mapping"},
        BadCase{"rate_limit:\n  interval: soon\n",
                "web.yml:2:13: rate_limit.interval: invalid duration \"soon\""},
        BadCase{"rate_limit:\n  burst: -1\n",
                "web.yml:2:10: rate_limit.burst: expected a non-negative integer"}));

TEST(ParseWebConfig, BadHashIsNeverEchoed) {
  absl::StatusOr<WebConfig> c =
      ParseWebConfig("basic_auth_users:\n  alice: $2y$04$tooShortHunter2\n", "web.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), Not(HasSubstr("Hunter2")));
}

TEST(ParseWebConfig, DuplicateUserIsAnError) {
  const std::string yaml = std::string("basic_auth_users:\n  alice: ") + kHtpasswdHash +
                           "\n  alice: " + kPythonHash + "\n";
  absl::StatusOr<WebConfig> c = ParseWebConfig(yaml, "web.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("web.yml:3:3: duplicate key \"alice\" in basic_auth_users"));
}

TEST(IsValidBcryptHash, AcceptsToolOutputAndRejectsMalformed) {
  EXPECT_TRUE(IsValidBcryptHash(kHtpasswdHash));
  EXPECT_TRUE(IsValidBcryptHash(kPythonHash));
  std::string a = kPythonHash;
  a[2] = 'a';
  EXPECT_TRUE(IsValidBcryptHash(a));
  std::string s = kPythonHash;
  EXPECT_FALSE(IsValidBcryptHash(s.substr(0, 59)));  // Truncated.
  EXPECT_FALSE(IsValidBcryptHash(s + "x"));          // Too long.
  std::string x = s;
  x[2] = 'x';  // $2x$ (the buggy variant) is not accepted.
  EXPECT_FALSE(IsValidBcryptHash(x));
  std::string cost3 = s;
  cost3[5] = '3';
  EXPECT_FALSE(IsValidBcryptHash(cost3));
  std::string cost32 = s;
  cost32[4] = '3';
  cost32[5] = '2';
  EXPECT_FALSE(IsValidBcryptHash(cost32));
  std::string bad_char = s;
  bad_char[30] = '!';
  EXPECT_FALSE(IsValidBcryptHash(bad_char));
  EXPECT_FALSE(IsValidBcryptHash(""));
}

TEST(NameMaps, GoNamesToOpenSsl) {
  EXPECT_EQ(OpenSslCipherName("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"),
            "ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_EQ(OpenSslCipherName("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"),
            "ECDHE-RSA-CHACHA20-POLY1305");
  EXPECT_EQ(OpenSslCipherName("TLS_AES_256_GCM_SHA384"), "");  // TLS 1.3: accepted, ignored.
  EXPECT_EQ(OpenSslCipherName("ECDHE-RSA-AES128-GCM-SHA256"), std::nullopt);  // OpenSSL name.
  EXPECT_EQ(OpenSslGroupName("CurveP384"), "P-384");
  EXPECT_EQ(OpenSslGroupName("X25519"), "X25519");
  EXPECT_EQ(OpenSslGroupName("P-256"), std::nullopt);
}

TEST(LoadWebConfigFile, MissingFileNamesThePath) {
  absl::StatusOr<WebConfig> c = LoadWebConfigFile("/nonexistent/dir/web.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("/nonexistent/dir/web.yml"));
}

}  // namespace
}  // namespace stakewatch::webconfig
