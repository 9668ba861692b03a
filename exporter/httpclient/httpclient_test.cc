#include "httpclient/httpclient.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace stakewatch::httpclient {
namespace {

std::string TempFile(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/httpclient_test_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(Base64, Rfc4648Vectors) {
  // RFC 4648 section 10.
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  // RFC 7617's example credentials.
  EXPECT_EQ(Base64("Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(AuthorizationHeader, NoneIsEmpty) {
  auto h = AuthorizationHeader(std::nullopt, "", std::nullopt);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, "");
}

TEST(AuthorizationHeader, BasicInline) {
  config::BasicAuth b{.username = "Aladdin", .password = "open sesame"};
  auto h = AuthorizationHeader(b, "", std::nullopt);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST(AuthorizationHeader, BasicPasswordFileTrimmedAndReRead) {
  const std::string path = TempFile("pw", "open sesame\n");
  config::BasicAuth b{.username = "Aladdin", .password_file = path};
  auto h = AuthorizationHeader(b, "", std::nullopt);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  // Rotated secret: read again on the next call. base64("u:x") = "dTp4".
  TempFile("pw", "  x\r\n");
  b.username = "u";
  h = AuthorizationHeader(b, "", std::nullopt);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, "Basic dTp4");
}

TEST(AuthorizationHeader, BearerTokenFile) {
  const std::string path = TempFile("token", "abc.def\n");
  auto h = AuthorizationHeader(std::nullopt, path, std::nullopt);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, "Bearer abc.def");
}

TEST(AuthorizationHeader, AuthorizationInlineAndFile) {
  config::Authorization a{.type = "Token", .credentials = "s3cr3t"};
  auto h = AuthorizationHeader(std::nullopt, "", a);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, "Token s3cr3t");
  a = config::Authorization{.credentials_file = TempFile("cred", "from-file\n")};
  h = AuthorizationHeader(std::nullopt, "", a);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(*h, "Bearer from-file");
}

TEST(AuthorizationHeader, MissingFileIsFailedPreconditionNamingTheFile) {
  config::BasicAuth b{.username = "u", .password_file = "/nonexistent/pw"};
  auto h = AuthorizationHeader(b, "", std::nullopt);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(h.status().message(), "cannot read password file /nonexistent/pw");
  h = AuthorizationHeader(std::nullopt, "/nonexistent/tok", std::nullopt);
  EXPECT_EQ(h.status().message(), "cannot read bearer token file /nonexistent/tok");
}

TEST(SplitTarget, HostPortForms) {
  auto hp = SplitTarget("example.com:9093", "http");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "example.com");
  EXPECT_EQ(hp->port, 9093);
  hp = SplitTarget("[::1]:443", "http");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->host, "::1");
  EXPECT_EQ(hp->port, 443);
  hp = SplitTarget("am", "https");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->port, 443);
  hp = SplitTarget("am", "http");
  ASSERT_TRUE(hp.ok());
  EXPECT_EQ(hp->port, 80);
  for (const char* bad : {"", ":80", "am:0", "am:65536", "am:x", "[::1", "[::1]x"}) {
    hp = SplitTarget(bad, "http");
    ASSERT_FALSE(hp.ok()) << bad;
    EXPECT_EQ(hp.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(NewClient, Errors) {
  auto c = NewClient({.scheme = "ftp", .target = "a:1"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  c = NewClient({.scheme = "http", .target = "a:99999"});
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  c = NewClient({.scheme = "https", .target = "a:1", .tls = {.ca_file = "/nonexistent/ca.pem"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(c.status().message(), "cannot read TLS file /nonexistent/ca.pem");
}

TEST(NewClient, PlainHttpRoundTrip) {
  httplib::Server server;
  std::string seen_auth;
  server.Get("/x", [&](const httplib::Request& req, httplib::Response& res) {
    seen_auth = req.get_header_value("Authorization");
    res.set_content("hi", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread t([&] { server.listen_after_bind(); });
  auto c = NewClient({.scheme = "http", .target = "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(c.ok()) << c.status();
  auto auth =
      AuthorizationHeader(config::BasicAuth{.username = "a", .password = "b"}, "", std::nullopt);
  ASSERT_TRUE(auth.ok());
  httplib::Result res = (*c)->Get("/x", {{"Authorization", *auth}});
  server.stop();
  t.join();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body, "hi");
  EXPECT_EQ(seen_auth, "Basic YTpi");  // base64("a:b")
}

}  // namespace
}  // namespace stakewatch::httpclient
