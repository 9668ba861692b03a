#include "exposition/http_format.h"

#include <zlib.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::exposition {
namespace {

TEST(NegotiateFormatTest, Cases) {
  struct Case {
    const char* accept;
    Format want;
  };
  const Case cases[] = {
      // Prometheus 2.42's exact scrape header.
      {"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
       "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
       Format::kOpenMetrics100},
      {"", Format::kText004},
      {"*/*", Format::kText004},
      {"text/plain", Format::kText004},
      {"text/plain;version=0.0.4", Format::kText004},
      {"application/openmetrics-text", Format::kOpenMetrics100},
      {"application/openmetrics-text; version=0.0.1", Format::kOpenMetrics100},
      {"Application/OpenMetrics-Text; Version=1.0.0; Q=0.9 , text/plain;q=0.5",
       Format::kOpenMetrics100},
      {"application/openmetrics-text;q=0", Format::kText004},
      {"application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.9", Format::kText004},
      // Equal q: prefer the classic format.
      {"application/openmetrics-text;q=0.5,text/plain;q=0.5", Format::kText004},
      // text/plain is more specific than */*, so its q counts, not the wildcard's.
      {"application/openmetrics-text;q=0.5,text/plain;q=0.2,*/*;q=0.9", Format::kOpenMetrics100},
      {"application/openmetrics-text;q=0.5,*/*", Format::kText004},
      {"application/openmetrics-text;q=0.5,text/*;q=0.4", Format::kOpenMetrics100},
      // An unknown OpenMetrics version is not acceptable.
      {"application/openmetrics-text;version=2.0.0", Format::kText004},
      {"application/json", Format::kText004},
      {"application/openmetrics-text;q=abc", Format::kText004},
      {",,;;==", Format::kText004},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NegotiateFormat(c.accept), c.want) << "Accept: " << c.accept;
  }
}

TEST(ContentTypeTest, Exact) {
  EXPECT_EQ(ContentType(Format::kText004), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(ContentType(Format::kOpenMetrics100),
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
}

TEST(AcceptsGzipTest, Cases) {
  struct Case {
    const char* header;
    bool want;
  };
  const Case cases[] = {
      {"gzip", true},
      {"GZIP", true},
      {"deflate, gzip;q=1.0, *;q=0.5", true},
      {"gzip;q=0", false},
      {"gzip; q=0.000", false},
      {"x-gzip", true},
      {"", false},
      {"identity", false},
      {"br, deflate", false},
      {"*", true},
      {"*;q=0", false},
      {"gzip;q=0, *", false},  // explicitly refused, the wildcard does not override
      {"gzip;q=bogus", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(AcceptsGzip(c.header), c.want) << "Accept-Encoding: " << c.header;
  }
}

// Inflates a gzip stream with zlib directly (independent of GzipCompress's code path).
std::string Gunzip(const std::string& gz) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  std::string out;
  char buf[1 << 16];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      ADD_FAILURE() << "inflate: " << rc;
      break;
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
  }
  EXPECT_EQ(zs.avail_in, 0u) << "trailing bytes after the gzip stream";
  inflateEnd(&zs);
  return out;
}

TEST(GzipTest, RoundTrip) {
  std::string big;
  for (int i = 0; i < 200000; ++i) {
    big += "eth_validator_balance_gwei{group=\"g" + std::to_string(i % 10) + "\",validator=\"" +
           std::to_string(i) + "\"} 32000000000\n";
  }
  std::string random_ish;
  uint32_t x = 12345;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1664525u + 1013904223u;
    random_ish.push_back(static_cast<char>(x >> 24));
  }
  for (const std::string& in : {std::string(), std::string("a"), big, random_ish}) {
    absl::StatusOr<std::string> gz = GzipCompress(in);
    ASSERT_TRUE(gz.ok()) << gz.status();
    ASSERT_GE(gz->size(), 18u);  // 10-byte header + 8-byte trailer at least
    EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
    EXPECT_EQ(Gunzip(*gz), in);
  }
  EXPECT_LT(GzipCompress(big)->size(), big.size() / 5);
}

}  // namespace
}  // namespace stakewatch::exposition
