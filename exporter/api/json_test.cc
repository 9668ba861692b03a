// JSON formatting. Expected strings are what Prometheus 2.42 wrote for the same values (captured
// with curl from /usr/bin/prometheus, noted per case) or Go's documented strconv behaviour.
#include "api/json.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace stakewatch::api {
namespace {

TEST(FormatSampleValue, SwitchesToExponentOutsideMicroToZetta) {
  // Captured: vector(1.5e-7) -> "1.5e-07", vector(1e21) -> "1e+21".
  EXPECT_EQ(FormatSampleValue(1.5e-7), "1.5e-07");
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
  EXPECT_EQ(FormatSampleValue(-1e21), "-1e+21");
  EXPECT_EQ(FormatSampleValue(1e-6), "0.000001");
  EXPECT_EQ(FormatSampleValue(9.99e20), "999000000000000000000");
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(1), "1");
  EXPECT_EQ(FormatSampleValue(32000000000), "32000000000");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatSampleValue(-2.5), "-2.5");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
}

TEST(FormatF, NeverUsesExponent) {
  // Captured scalar results: 1.5e-7 -> "0.00000015", 1e21 -> "1000000000000000000000".
  EXPECT_EQ(FormatF(1.5e-7), "0.00000015");
  EXPECT_EQ(FormatF(1e21), "1000000000000000000000");
  EXPECT_EQ(FormatF(std::numeric_limits<double>::infinity()), "+Inf");
}

TEST(FormatE, GoExponentFormat) {
  // Section 4's captured alert value "0e+00"; Go prints at least two exponent digits.
  EXPECT_EQ(FormatE(0), "0e+00");
  EXPECT_EQ(FormatE(1), "1e+00");
  EXPECT_EQ(FormatE(1234.5), "1.2345e+03");
  EXPECT_EQ(FormatE(-0.25), "-2.5e-01");
  EXPECT_EQ(FormatE(1e100), "1e+100");
}

TEST(FormatTimestamp, MillisecondsOnlyWhenNonZero) {
  // Captured: 1700000000.010, -1.500, 1795922111.270, 1795922105.
  EXPECT_EQ(FormatTimestamp(1700000000010), "1700000000.010");
  EXPECT_EQ(FormatTimestamp(-1500), "-1.500");
  EXPECT_EQ(FormatTimestamp(1795922111270), "1795922111.270");
  EXPECT_EQ(FormatTimestamp(1795922105000), "1795922105");
  EXPECT_EQ(FormatTimestamp(0), "0");
  EXPECT_EQ(FormatTimestamp(1), "0.001");
  EXPECT_EQ(FormatTimestamp(-1), "-0.001");
}

TEST(FormatGoFloat, EncodingJsonFloats) {
  // Captured scalar timestamps: 1700000000.123, 1795958830.59 (not .590), 1.5, 1000, -0.001.
  EXPECT_EQ(FormatGoFloat(1700000000123 / 1000.0), "1700000000.123");
  EXPECT_EQ(FormatGoFloat(1795958830590 / 1000.0), "1795958830.59");
  EXPECT_EQ(FormatGoFloat(1.5), "1.5");
  EXPECT_EQ(FormatGoFloat(1000), "1000");
  EXPECT_EQ(FormatGoFloat(-0.001), "-0.001");
  // encoding/json shortens a one-digit negative exponent.
  EXPECT_EQ(FormatGoFloat(1e-7), "1e-7");
  EXPECT_EQ(FormatGoFloat(1.5e-10), "1.5e-10");
  EXPECT_EQ(FormatGoFloat(1e21), "1e+21");
  EXPECT_EQ(FormatGoFloat(0.0016), "0.0016");
}

TEST(FormatGoTime, Rfc3339NanoTrimmed) {
  EXPECT_EQ(FormatGoTime(absl::UniversalEpoch()), "0001-01-01T00:00:00Z");
  // 2026-11-29T03:14:53Z is 1795922093 (1795922105 - 12 s from section 4's capture is
  // 03:15:05; checked: date -u -d @1795922093).
  EXPECT_EQ(FormatGoTime(absl::FromUnixSeconds(1795922093) + absl::Nanoseconds(418480155)),
            "2026-11-29T03:14:53.418480155Z");
  EXPECT_EQ(FormatGoTime(absl::FromUnixSeconds(1795922093) + absl::Milliseconds(410)),
            "2026-11-29T03:14:53.41Z");
  EXPECT_EQ(FormatGoTime(absl::FromUnixSeconds(0)), "1970-01-01T00:00:00Z");
}

TEST(AppendJsonString, GoHtmlSafeEscaping) {
  auto q = [](std::string_view s) {
    std::string out;
    AppendJsonString(s, &out);
    return out;
  };
  // Captured: the string result "a<b>&" is written "a\u003cb\u003e\u0026".
  EXPECT_EQ(q("a<b>&"), R"("a\u003cb\u003e\u0026")");
  EXPECT_EQ(q("q\"b\\"), R"("q\"b\\")");
  EXPECT_EQ(q("\n\r\t"), R"("\n\r\t")");
  EXPECT_EQ(q(std::string("\x01\x1f\b\f", 4)), R"("\u0001\u001f\u0008\u000c")");
  EXPECT_EQ(q("\xe2\x80\xa8\xe2\x80\xa9"), R"("\u2028\u2029")");
  EXPECT_EQ(q("h\xc3\xa9llo \xf0\x9f\x98\x80"), "\"h\xc3\xa9llo \xf0\x9f\x98\x80\"");
  EXPECT_EQ(q("bad\xff\xc3"), R"("bad\ufffd\ufffd")");
  EXPECT_EQ(q("\x7f"), "\"\x7f\"");
}

TEST(JsonWriter, Commas) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.Int(1);
  w.String("x");
  w.BeginObject();
  w.EndObject();
  w.BeginArray();
  w.EndArray();
  w.EndArray();
  w.Key("b");
  w.Bool(true);
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"a":[1,"x",{},[]],"b":true})");
}

}  // namespace
}  // namespace stakewatch::api

namespace stakewatch::api {
namespace {

// strconv.FormatFloat(v, 'f', -1, 64): shortest digits, padded with zeros (values by hand from
// Go's definition; the first two are what Prometheus 2.42 answered in api_prometheus_test).
TEST(GoFormatF, ShortestDigitsPaddedWithZeros) {
  EXPECT_EQ(FormatF(9.999999999999964e19), "99999999999999640000");
  EXPECT_EQ(FormatF(1e20), "100000000000000000000");
  EXPECT_EQ(FormatF(123456789012345678.0), "123456789012345680");
  EXPECT_EQ(FormatF(0.1), "0.1");
  EXPECT_EQ(FormatF(1.5e-7), "0.00000015");
  EXPECT_EQ(FormatF(-0.0), "-0");
  EXPECT_EQ(FormatF(-2.5), "-2.5");
  EXPECT_EQ(FormatF(1e21), "1000000000000000000000");
}

}  // namespace
}  // namespace stakewatch::api
