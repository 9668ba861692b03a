// Parameter parsing. Every expected value was checked against Prometheus 2.42 (the same string
// sent as `time=` or `step=` to /api/v1/query and /api/v1/query_range, result noted per case),
// or worked out by hand where stated.
#include "api/params.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace stakewatch::api {
namespace {

int64_t T(std::string_view s) {
  absl::StatusOr<int64_t> t = ParseTimeMs(s);
  EXPECT_TRUE(t.ok()) << s << ": " << t.status();
  return t.ok() ? *t : -42;
}

TEST(ParseTimeMs, UnixSecondsRoundedToMilliseconds) {
  EXPECT_EQ(T("1.5"), 1500);
  EXPECT_EQ(T("1700000000.1234"), 1700000000123);
  EXPECT_EQ(T("1700000000.010"), 1700000000010);
  EXPECT_EQ(T("1.0005"), 1000);    // Prometheus: 1 (0.0005*1000 is just below .5)
  EXPECT_EQ(T("1.0015"), 1002);    // Prometheus: 1.002
  EXPECT_EQ(T("0.0145"), 15);      // Prometheus: 0.015
  EXPECT_EQ(T("1.0025"), 1002);    // Prometheus: 1.002
  EXPECT_EQ(T("-0.0005"), -1);     // Prometheus: -0.001 (half away from zero)
  EXPECT_EQ(T("-1.5"), -1500);     // Prometheus: -1.500
  EXPECT_EQ(T("1e3"), 1000000);    // Prometheus: 1000
  EXPECT_EQ(T("0x1p4"), 16000);    // Prometheus: 16
  EXPECT_EQ(T("1_000"), 1000000);  // Prometheus: 1000
  EXPECT_EQ(T("+5"), 5000);
  EXPECT_EQ(T(".5"), 500);
  EXPECT_EQ(T("5."), 5000);
  EXPECT_EQ(T("1e-400"), 0);
  EXPECT_EQ(T("1e20"), 0);  // Prometheus: 0 (Go's int64 overflow, then wrapping)
}

TEST(ParseTimeMs, Rfc3339) {
  EXPECT_EQ(T("2023-01-01T00:00:00Z"), 1672531200000);         // Prometheus: 1672531200
  EXPECT_EQ(T("2023-01-01T00:00:00.5+01:00"), 1672527600500);  // Prometheus: 1672527600.5
  EXPECT_EQ(T("2024-02-29T23:59:59.9999Z"), 1709251199999);    // Prometheus: 1709251199.999
  EXPECT_EQ(T("2023-01-01T00:00:00.123456789-05:30"), 1672551000123);
  EXPECT_EQ(T("-292273086-05-16T16:47:06Z"), kMinTimeMs);
  EXPECT_EQ(T("292277025-08-18T07:12:54.999999999Z"), kMaxTimeMs);
}

TEST(ParseTimeMs, Rejects) {
  // Prometheus answers `cannot parse "<s>" to a valid timestamp` for each of these.
  for (std::string_view s :
       {"", "abc", "0x10", "2023-01-01T00:00:00", "2023-02-29T00:00:00Z", "2023-01-01t00:00:00Z",
        "2023-01-01T24:00:00Z", "2023-01-01T00:00:60Z", "1__0", "_1"}) {
    absl::StatusOr<int64_t> t = ParseTimeMs(s);
    ASSERT_FALSE(t.ok()) << s;
    EXPECT_EQ(t.status().message(),
              absl::StrCat("cannot parse \"", std::string(s), "\" to a valid timestamp"));
  }
  EXPECT_EQ(ParseTimeMs("a\"b").status().message(), "cannot parse \"a\\\"b\" to a valid timestamp");
}

TEST(ParseDurationNs, FloatsAndPrometheusDurations) {
  constexpr int64_t kS = 1'000'000'000;
  EXPECT_EQ(*ParseDurationNs("1.5"), 3 * kS / 2);
  EXPECT_EQ(*ParseDurationNs("1e-3"), 1'000'000);
  EXPECT_EQ(*ParseDurationNs("-5"), -5 * kS);
  EXPECT_EQ(*ParseDurationNs("0"), 0);
  EXPECT_EQ(*ParseDurationNs("1h30m"), 5400 * kS);
  EXPECT_EQ(*ParseDurationNs("1y2w3d"), (365 + 14 + 3) * 86400 * kS);
  EXPECT_EQ(*ParseDurationNs("5ms"), 5'000'000);
  EXPECT_EQ(*ParseDurationNs("1d1ms"), 86400 * kS + 1'000'000);
  EXPECT_EQ(*ParseDurationNs("1m5s"), 65 * kS);
  EXPECT_EQ(*ParseDurationNs("1h0m"), 3600 * kS);
  // Out of order or repeated units: Prometheus `cannot parse "1m1h" to a valid duration`.
  for (std::string_view s : {"1m1h", "10m5m", "5x", "", "1.5h", "h", "1s5"}) {
    absl::StatusOr<int64_t> d = ParseDurationNs(s);
    ASSERT_FALSE(d.ok()) << s;
    EXPECT_EQ(d.status().message(),
              absl::StrCat("cannot parse \"", std::string(s), "\" to a valid duration"));
  }
  EXPECT_EQ(ParseDurationNs("1e30").status().message(),
            "cannot parse \"1e30\" to a valid duration. It overflows int64");
  EXPECT_FALSE(ParseDurationNs("300000y").ok());  // beyond int64 nanoseconds
}

TEST(GoQuote, Escapes) {
  EXPECT_EQ(GoQuote("1bad"), "\"1bad\"");
  EXPECT_EQ(GoQuote("a\"\\\n\x01"), "\"a\\\"\\\\\\n\\x01\"");
}

}  // namespace
}  // namespace stakewatch::api
