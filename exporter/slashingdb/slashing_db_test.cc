// Unit tests that need no server: the connection-string loader, key and number parsing, error
// mapping and redaction, and failing fast against a closed port. The real-database behaviour is
// in test/slashingdb/slashing_db_integration_test.cc.
#include "slashingdb/slashing_db.h"

#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "slashingdb/internal.h"

namespace stakewatch::slashingdb {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSecret[] = "hunter2-Sw0rdfish";

std::string TempFile(const std::string& content) {
  char path[] = "/tmp/slashingdb_test_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

TEST(LoadConninfo, ExactlyOneSourceMustBeSet) {
  EXPECT_EQ(LoadConninfo("", "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadConninfo("/some/file", "SOME_VAR").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LoadConninfo, FileIsTrimmed) {
  const std::string path = TempFile(absl::StrCat("  \n host=db password=", kSecret, " \n\n"));
  auto got = LoadConninfo(path, "");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, absl::StrCat("host=db password=", kSecret));
  unlink(path.c_str());
}

TEST(LoadConninfo, FileErrorsNameTheFileNotItsContents) {
  const std::string empty = TempFile(" \n\t ");
  auto got = LoadConninfo(empty, "");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr(empty));
  unlink(empty.c_str());

  got = LoadConninfo("/nonexistent/slashingdb.dsn", "");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("/nonexistent/slashingdb.dsn"));
}

TEST(LoadConninfo, Environment) {
  setenv("SLASHINGDB_TEST_DSN", absl::StrCat(" dbname=w password=", kSecret, "\n").c_str(), 1);
  auto got = LoadConninfo("", "SLASHINGDB_TEST_DSN");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, absl::StrCat("dbname=w password=", kSecret));

  setenv("SLASHINGDB_TEST_DSN", "   ", 1);
  got = LoadConninfo("", "SLASHINGDB_TEST_DSN");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("SLASHINGDB_TEST_DSN"));

  unsetenv("SLASHINGDB_TEST_DSN");
  got = LoadConninfo("", "SLASHINGDB_TEST_DSN");
  EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr("SLASHINGDB_TEST_DSN"));
}

TEST(NormalizePubkey, AcceptsPrefixAndCase) {
  const std::string lower(96, 'a');
  EXPECT_EQ(internal::NormalizePubkey("0x" + std::string(96, 'A')).value(), lower);
  EXPECT_EQ(internal::NormalizePubkey("0X" + lower).value(), lower);
  EXPECT_EQ(internal::NormalizePubkey(lower).value(), lower);
  const std::string mixed = "0x" + std::string(48, 'F') + std::string(48, '0');
  EXPECT_EQ(internal::NormalizePubkey(mixed).value(), std::string(48, 'f') + std::string(48, '0'));
}

TEST(NormalizePubkey, RejectsBadKeys) {
  EXPECT_EQ(internal::NormalizePubkey("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(internal::NormalizePubkey("0x" + std::string(94, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(internal::NormalizePubkey(std::string(98, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(internal::NormalizePubkey("0x" + std::string(95, 'a') + "g").status().code(),
            absl::StatusCode::kInvalidArgument);
  // A quote or backslash can never reach the SQL array literal.
  EXPECT_EQ(internal::NormalizePubkey(std::string(95, 'a') + "\"").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NormalizePubkeys, DropsRepeatsKeepingFirstPosition) {
  const std::string a(96, 'a'), b(96, 'b');
  auto got = internal::NormalizePubkeys({"0x" + b, a, "0x" + std::string(96, 'B'), "0X" + a});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (std::vector<std::string>{b, a}));
}

TEST(ByteaArrayLiteral, QuotesAndEscapes) {
  EXPECT_EQ(internal::ByteaArrayLiteral({}), "{}");
  EXPECT_EQ(internal::ByteaArrayLiteral({"ab", "0c"}), R"({"\\xab","\\x0c"})");
}

TEST(ParseUint64, Range) {
  EXPECT_EQ(internal::ParseUint64("0").value(), 0u);
  EXPECT_EQ(internal::ParseUint64("6400000").value(), 6400000u);
  EXPECT_EQ(internal::ParseUint64("18446744073709551615").value(), 18446744073709551615ull);
  for (const char* bad :
       {"", "-1", "+1", "1.5", "18446744073709551616", "99999999999999999999", "12a", " 1"}) {
    EXPECT_FALSE(internal::ParseUint64(bad).ok()) << bad;
  }
}

TEST(Redact, RemovesEverySecret) {
  EXPECT_EQ(internal::Redact("a pw b pw", {"pw", ""}), "a <redacted> b <redacted>");
  EXPECT_EQ(internal::Redact("nothing here", {"xyz"}), "nothing here");
}

TEST(StatusFromSqlState, Mapping) {
  using absl::StatusCode;
  EXPECT_EQ(
      internal::StatusFromSqlState("57014", "canceling statement due to statement timeout").code(),
      StatusCode::kDeadlineExceeded);
  EXPECT_EQ(internal::StatusFromSqlState("08006", "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(internal::StatusFromSqlState("57P01", "x").code(), StatusCode::kUnavailable);
  EXPECT_EQ(internal::StatusFromSqlState("28P01", "x").code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(internal::StatusFromSqlState("42501", "x").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(internal::StatusFromSqlState("42P01", "x").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(internal::StatusFromSqlState("53200", "x").code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(internal::StatusFromSqlState("XX000", "x").code(), StatusCode::kInternal);
  EXPECT_THAT(std::string(internal::StatusFromSqlState("XX000", "boom").message()),
              HasSubstr("boom (SQLSTATE XX000)"));
}

TEST(StatusFromConnectError, Mapping) {
  using absl::StatusCode;
  EXPECT_EQ(internal::StatusFromConnectError(
                "FATAL:  password authentication failed for user \"m\"", false)
                .code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(internal::StatusFromConnectError("fe_sendauth: no password supplied", true).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(
      internal::StatusFromConnectError("FATAL:  database \"nope\" does not exist", false).code(),
      StatusCode::kNotFound);
  EXPECT_EQ(internal::StatusFromConnectError("Connection refused", false).code(),
            StatusCode::kUnavailable);
}

TEST(SlashingDbCreate, UnparseableConninfoIsNotEchoed) {
  for (const std::string& dsn :
       {absl::StrCat("host=localhost password=", kSecret, " stray"),
        absl::StrCat("host=localhost password='", kSecret),
        absl::StrCat("postgresql://u:", kSecret, "@localhost/db?no_such_option=1"),
        absl::StrCat("host=localhost no_such_option=", kSecret)}) {
    auto db = SlashingDb::Create(dsn, SlashingDbOptions{});
    ASSERT_FALSE(db.ok()) << "accepted a bad connection string";
    EXPECT_EQ(db.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(db.status().message()), Not(HasSubstr(kSecret)));
  }
}

TEST(SlashingDbCreate, RejectsNonPositiveTimeouts) {
  SlashingDbOptions options;
  options.statement_timeout = absl::ZeroDuration();
  EXPECT_EQ(SlashingDb::Create("dbname=x", options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SlashingDb, RefusedConnectionFailsFastWithoutThePassword) {
  FakeClock clock;
  SlashingDbOptions options;
  options.clock = &clock;
  // Port 1 on loopback: nothing listens there, the connect is refused at once.
  auto db = SlashingDb::Create(
      absl::StrCat("host=127.0.0.1 port=1 user=monitor dbname=web3signer password=", kSecret),
      options);
  ASSERT_TRUE(db.ok()) << db.status();
  const absl::Time start = absl::Now();
  auto health = (*db)->PollHealth();
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
  ASSERT_FALSE(health.ok());
  EXPECT_EQ(health.status().code(), absl::StatusCode::kUnavailable) << health.status();
  EXPECT_THAT(std::string(health.status().message()), HasSubstr("cannot connect"));
  EXPECT_THAT(std::string(health.status().message()), Not(HasSubstr(kSecret)));
  EXPECT_FALSE((*db)->connected());

  auto signing = (*db)->PollSigning({});
  EXPECT_EQ(signing.status().code(), absl::StatusCode::kUnavailable);
}

TEST(SlashingDb, BadArgumentsFailBeforeConnecting) {
  auto db = SlashingDb::Create("host=127.0.0.1 port=1 dbname=x", SlashingDbOptions{});
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->PollSigning({"0x1234"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*db)->SignedAttestationsAt({"zz"}, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*db)->SignedBlocksIn({std::string(96, 'a')}, 10, 9).status().code(),
            absl::StatusCode::kInvalidArgument);
  // No keys: nothing to ask, no connection needed.
  auto none = (*db)->SignedAttestationsAt({}, 5);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE((*db)->connected());
}

}  // namespace
}  // namespace stakewatch::slashingdb
