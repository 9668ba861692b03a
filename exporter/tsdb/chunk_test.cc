// XOR chunk tests: Prometheus's own bytes (golden), hand-computed encodings, property round trips
// against a plain vector, and corrupt input.
#include "tsdb/chunk.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::tsdb {
namespace {

using ::testing::ElementsAreArray;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }
double FromBits(uint64_t b) { return std::bit_cast<double>(b); }

std::vector<uint8_t> FromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::vector<uint8_t> Encode(const std::vector<Sample>& samples) {
  XorChunk c;
  for (const Sample& s : samples) c.Append(s.t_ms, s.v);
  return {c.bytes().begin(), c.bytes().end()};
}

// Compares decoded samples with the expected ones bit for bit (NaN payloads included).
void ExpectSameSamples(const std::vector<Sample>& got, const std::vector<Sample>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].t_ms, want[i].t_ms) << "sample " << i;
    EXPECT_EQ(Bits(got[i].v), Bits(want[i].v))
        << "sample " << i << ": " << got[i].v << " vs " << want[i].v;
  }
}

// Chunks written by Prometheus 2.42 itself: `promtool tsdb create-blocks-from openmetrics` on
// a file with a counter (130 samples, 15 s +- a few ms; cut into 120 + 10 by the head) and a gauge
// exercising every delta-of-delta bucket edge (+8192, -8191, +8193, -8192, +65536, +65537,
// +524288, +524289 ms) and the special values 0, -0, NaN, +Inf, -Inf, 1e300, 5e-324. Bytes are
// the chunk payloads from the block's chunks/000001; timestamps are as `promtool tsdb dump`
// printed them; values are the input's (OpenMetrics "NaN" is Go's math.NaN(),
// 0x7ff8000000000001).
struct GoldenChunk {
  const char* series;
  const char* hex;
  std::vector<std::pair<int64_t, uint64_t>> samples;  // (t_ms, value bits)
};

const std::vector<GoldenChunk>& Golden() {
  static const auto* kGolden = new std::vector<GoldenChunk>{
      // ctr_total samples 0..119
      {"ctr_total",
       "007880c0b884fa62408f4000000000009775e60dd01c000f5077fffc83f0002bfff08c001730fb809eea0dcc1df"
       "fff40"
       "77ffdc83f000b1bffde61f460007887e000b9076fff7987cbfffd65fff8001803201f000280025ffdf6070003cc"
       "2e000"
       "66ffff88bd4b800122c001afff614001f01ffa157ffb1e8003865ffece906bfff40012fffe18814000c7afff615"
       "0005b"
       "c7ff000305bffe814000c2efffbb038002e22f51d053d06000e1dffec5bffee03ff8002820855fffc7101800183"
       "4001c"
       "0efff10005014d90abfff8f4001c2afff7711fe806000603bfff81afffd0002bfff8048001e81f2fffa50003c84"
       "b8001"
       "89d81b88bd2fffa5c001c542bfffe037e82800386bffe81bffe4000f40fa500071bffde42fc8003897ff9320006"
       "25fff"
       "428001837fffc46fe000a0afffe1afffe092d000b057ffb030003090004bffd8c800184bfffde47f80",
       {{1700006400000, 0x408f400000000000ULL}, {1700006414999, 0x408f500000000000ULL},
        {1700006429998, 0x408f580000000000ULL}, {1700006444998, 0x408f5c0000000000ULL},
        {1700006459997, 0x408f640000000000ULL}, {1700006474997, 0x408f640000000000ULL},
        {1700006489996, 0x408f640000000000ULL}, {1700006504995, 0x408f640000000000ULL},
        {1700006519994, 0x408f6c0000000000ULL}, {1700006534995, 0x408f700000000000ULL},
        {1700006549996, 0x408f800000000000ULL}, {1700006564997, 0x408f840000000000ULL},
        {1700006579998, 0x408f940000000000ULL}, {1700006594998, 0x408f9c0000000000ULL},
        {1700006609996, 0x408fa40000000000ULL}, {1700006624999, 0x408fac0000000000ULL},
        {1700006639999, 0x408fb00000000000ULL}, {1700006654999, 0x408fb40000000000ULL},
        {1700006670000, 0x408fc40000000000ULL}, {1700006685003, 0x408fec0000000000ULL},
        {1700006700003, 0x408ff00000000000ULL}, {1700006715003, 0x408ff00000000000ULL},
        {1700006730002, 0x40900c0000000000ULL}, {1700006745002, 0x4090140000000000ULL},
        {1700006760002, 0x4090280000000000ULL}, {1700006775003, 0x4090280000000000ULL},
        {1700006790006, 0x4090280000000000ULL}, {1700006805004, 0x40902a0000000000ULL},
        {1700006820003, 0x4090320000000000ULL}, {1700006835003, 0x40903a0000000000ULL},
        {1700006850002, 0x40904e0000000000ULL}, {1700006865001, 0x4090620000000000ULL},
        {1700006880001, 0x4090620000000000ULL}, {1700006895001, 0x4090760000000000ULL},
        {1700006910004, 0x4090760000000000ULL}, {1700006925004, 0x40907e0000000000ULL},
        {1700006940007, 0x4090800000000000ULL}, {1700006955010, 0x4090940000000000ULL},
        {1700006970010, 0x4090a80000000000ULL}, {1700006985013, 0x4090b00000000000ULL},
        {1700007000013, 0x4090c40000000000ULL}, {1700007015013, 0x4090c80000000000ULL},
        {1700007030012, 0x4090c80000000000ULL}, {1700007045013, 0x4090c80000000000ULL},
        {1700007060013, 0x4090d00000000000ULL}, {1700007075013, 0x4090d40000000000ULL},
        {1700007090014, 0x4090e80000000000ULL}, {1700007105012, 0x4090fc0000000000ULL},
        {1700007120012, 0x4091000000000000ULL}, {1700007135013, 0x4091140000000000ULL},
        {1700007150012, 0x40911c0000000000ULL}, {1700007165012, 0x4091300000000000ULL},
        {1700007180010, 0x4091320000000000ULL}, {1700007195010, 0x4091460000000000ULL},
        {1700007210010, 0x40915a0000000000ULL}, {1700007225010, 0x40915e0000000000ULL},
        {1700007240010, 0x4091620000000000ULL}, {1700007255010, 0x4091660000000000ULL},
        {1700007270013, 0x40916a0000000000ULL}, {1700007285013, 0x40917e0000000000ULL},
        {1700007300011, 0x4091800000000000ULL}, {1700007315011, 0x4091880000000000ULL},
        {1700007330011, 0x4091880000000000ULL}, {1700007345011, 0x40919c0000000000ULL},
        {1700007360010, 0x4091a40000000000ULL}, {1700007375009, 0x4091a60000000000ULL},
        {1700007390009, 0x4091aa0000000000ULL}, {1700007405012, 0x4091ac0000000000ULL},
        {1700007420011, 0x4091ac0000000000ULL}, {1700007435012, 0x4091ae0000000000ULL},
        {1700007450013, 0x4091c20000000000ULL}, {1700007465014, 0x4091d60000000000ULL},
        {1700007480014, 0x4091ea0000000000ULL}, {1700007495017, 0x4091fe0000000000ULL},
        {1700007510017, 0x4092020000000000ULL}, {1700007525017, 0x4092060000000000ULL},
        {1700007540018, 0x40920a0000000000ULL}, {1700007555018, 0x4092120000000000ULL},
        {1700007570017, 0x4092120000000000ULL}, {1700007585017, 0x4092120000000000ULL},
        {1700007600016, 0x4092160000000000ULL}, {1700007615015, 0x4092160000000000ULL},
        {1700007630015, 0x4092180000000000ULL}, {1700007645015, 0x4092180000000000ULL},
        {1700007660013, 0x40921c0000000000ULL}, {1700007675012, 0x4092300000000000ULL},
        {1700007690012, 0x4092380000000000ULL}, {1700007705012, 0x40923a0000000000ULL},
        {1700007720012, 0x40924e0000000000ULL}, {1700007735012, 0x40924e0000000000ULL},
        {1700007750010, 0x4092620000000000ULL}, {1700007765011, 0x4092760000000000ULL},
        {1700007780012, 0x40927e0000000000ULL}, {1700007795012, 0x4092820000000000ULL},
        {1700007810012, 0x40928a0000000000ULL}, {1700007825015, 0x4092920000000000ULL},
        {1700007840016, 0x4092960000000000ULL}, {1700007855015, 0x4092960000000000ULL},
        {1700007870015, 0x4092980000000000ULL}, {1700007885015, 0x40929c0000000000ULL},
        {1700007900018, 0x40929e0000000000ULL}, {1700007915018, 0x4092a00000000000ULL},
        {1700007930018, 0x4092a00000000000ULL}, {1700007945021, 0x4092a80000000000ULL},
        {1700007960020, 0x4092b00000000000ULL}, {1700007975020, 0x4092b80000000000ULL},
        {1700007990018, 0x4092bc0000000000ULL}, {1700008005017, 0x4092be0000000000ULL},
        {1700008020015, 0x4092c00000000000ULL}, {1700008035015, 0x4092c40000000000ULL},
        {1700008050014, 0x4092c80000000000ULL}, {1700008065012, 0x4092cc0000000000ULL},
        {1700008080010, 0x4092e00000000000ULL}, {1700008095013, 0x4092e40000000000ULL},
        {1700008110013, 0x4092e60000000000ULL}, {1700008125014, 0x4092ee0000000000ULL},
        {1700008140017, 0x4092ee0000000000ULL}, {1700008155017, 0x4092f60000000000ULL},
        {1700008170018, 0x4092fe0000000000ULL}, {1700008185018, 0x4093000000000000ULL}}},
      // ctr_total samples 120..129
      {"ctr_total",
       "000aa49d9486fa6240931400000000009675e80e00083909689c45edffff6077ffe8003e6160",
       {{1700008200018, 0x4093140000000000ULL},
        {1700008215016, 0x40931c0000000000ULL},
        {1700008230016, 0x40931c0000000000ULL},
        {1700008245016, 0x40931c0000000000ULL},
        {1700008260016, 0x4093300000000000ULL},
        {1700008275016, 0x4093380000000000ULL},
        {1700008290016, 0x40934c0000000000ULL},
        {1700008305015, 0x40934e0000000000ULL},
        {1700008320013, 0x40934e0000000000ULL},
        {1700008335014, 0x4093560000000000ULL}}},
      // edge samples 0..27
      {"edge",
       "001c80c0b884fa6200000000000000009875c00d80cbff8001c3fc008000000000001bffe8004000000000000e1"
       "000e0"
       "07bc001802e80053fff84dffee1000e03e002eefffe0faf8e790f22001d67de000c3ffe37e43c8800759da000a0"
       "7f120"
       "64fdf3b64680005fd1ef654189fbd4fbc000200e0000000000001c20003001aaaaaaaaaaaaeeeffffbff0199999"
       "99999"
       "a740000401d8000000000003fffffffffffe0000307d02db8b6faa1b871f8000000000040000d0003882f2b4aac"
       "a7fff"
       "ffffffffbffffe002000110cd406d73d7715a68178c59310b3c9298001a05eda397e719b7cafffe816fe8e5f9c6"
       "6df28"
       "3e75e0fc0283c4ad864521e187523009af12b6191487828132bdcf4d8801dc00",
       {{1700006400000, 0x0000000000000000ULL}, {1700006415000, 0x8000000000000000ULL},
        {1700006430000, 0x3ff0000000000000ULL}, {1700006445001, 0x7ff8000000000001ULL},
        {1700006460000, 0x7ff0000000000000ULL}, {1700006483192, 0xfff0000000000000ULL},
        {1700006498192, 0x3ff0000000000000ULL}, {1700006505001, 0x3ff0000000000000ULL},
        {1700006520001, 0x4004000000000000ULL}, {1700006543194, 0xc00e000000000000ULL},
        {1700006558194, 0x7e37e43c8800759cULL}, {1700006565002, 0x0000000000000001ULL},
        {1700006580002, 0x40fe240c9fbe76c9ULL}, {1700006660538, 0x3fb999999999999aULL},
        {1700006675538, 0x3fc999999999999aULL}, {1700006756075, 0x3fd3333333333334ULL},
        {1700006771075, 0x4033000000000000ULL}, {1700007310363, 0x4045000000000000ULL},
        {1700007325363, 0xc128c5b7d50dc38cULL}, {1700007864652, 0x412901a040a895dcULL},
        {1700007879652, 0xc129459310b3c929ULL}, {1700007879653, 0x4051800000000000ULL},
        {1700007879655, 0xc12ae8e5f9c66df2ULL}, {1700007879656, 0x4045000000000000ULL},
        {1700007880656, 0x4045000000000000ULL}, {1700007880663, 0x4104e256c32290f0ULL},
        {1700007895663, 0x4031000000000000ULL}, {1700007910663, 0xc103bdcf4d8801dcULL}}},
  };
  return *kGolden;
}

std::vector<Sample> GoldenSamples(const GoldenChunk& g) {
  std::vector<Sample> out;
  for (const auto& [t, b] : g.samples) out.push_back(Sample{t, FromBits(b)});
  return out;
}

TEST(XorChunkGolden, DecodesPrometheusChunks) {
  for (const GoldenChunk& g : Golden()) {
    SCOPED_TRACE(g.series);
    std::vector<uint8_t> bytes = FromHex(g.hex);
    absl::StatusOr<std::vector<Sample>> got = DecodeXorChunk(bytes);
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameSamples(*got, GoldenSamples(g));
  }
}

TEST(XorChunkGolden, EncodesLikePrometheus) {
  for (const GoldenChunk& g : Golden()) {
    SCOPED_TRACE(g.series);
    EXPECT_THAT(Encode(GoldenSamples(g)), ElementsAreArray(FromHex(g.hex)));
  }
}

TEST(XorChunk, HandComputedBytes) {
  // One sample: header 0x0001, zig-zag varint of 1000 (2000 = 0xd0 0x0f), 1.0's 64 bits. Like
  // Prometheus's bstream, each whole byte written appends the next byte, so a stream ending on
  // a byte boundary carries one empty byte (the next bit goes there).
  EXPECT_THAT(Encode({{1000, 1.0}}),
              ElementsAreArray({0x00, 0x01, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0}));
  // Negative first timestamp: -1 zig-zags to 1.
  EXPECT_THAT(Encode({{-1, 0.0}}), ElementsAreArray({0x00, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
  // Second sample: uvarint delta 1000 (0xe8 0x07), then '0' for an unchanged value.
  EXPECT_THAT(
      Encode({{1000, 1.0}, {2000, 1.0}}),
      ElementsAreArray({0x00, 0x02, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xe8, 0x07, 0x00}));
  // Third sample with the same delta and value: dod '0' and value '0': two more bits.
  EXPECT_THAT(
      Encode({{1000, 1.0}, {2000, 1.0}, {3000, 1.0}}),
      ElementsAreArray({0x00, 0x03, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xe8, 0x07, 0x00}));
  // 1.0 -> 1.5: XOR 0x0008000000000000 has 12 leading and 51 trailing zeros, 1 meaningful
  // bit: '1' '1' leading=01100 sigbits=000001 '1' = 1101100 0000011 -> 0xd8 0x0c.
  EXPECT_THAT(Encode({{1000, 1.0}, {2000, 1.5}}),
              ElementsAreArray(
                  {0x00, 0x02, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xe8, 0x07, 0xd8, 0x0c}));
  // 1.0 -> 3.0 (0x4008...): XOR 0x7ff8000000000000, 1 leading and 51 trailing zeros, 12 bits:
  // '1' '1' 00001 001100 111111111111 = 11000010 01100111 11111111 1 -> c2 67 ff 80.
  EXPECT_THAT(Encode({{1000, 1.0}, {2000, 3.0}}),
              ElementsAreArray({0x00, 0x02, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xe8, 0x07,
                                0xc2, 0x67, 0xff, 0x80}));
  // Then 3.0 again, 15 ms later: dod +14 in the 14-bit bucket '10' 00000000001110, value '0':
  // the 17 bits 1000000 00000111 0 0 continue after the 25 above, filling 0x80's 7 free bits
  // (-> 0xc0), then 0x07, then two bits of a last byte.
  EXPECT_THAT(Encode({{1000, 1.0}, {2000, 3.0}, {3014, 3.0}}),
              ElementsAreArray({0x00, 0x03, 0xd0, 0x0f, 0x3f, 0xf0, 0,    0,    0,    0,
                                0,    0,    0xe8, 0x07, 0xc2, 0x67, 0xff, 0xc0, 0x07, 0x00}));
}

TEST(XorChunk, SpecialValuesRoundTripBitExactly) {
  const std::vector<uint64_t> specials = {kStaleNaNBits,
                                          0x7ff8000000000000ULL,
                                          0x7ff8000000000001ULL,
                                          0xfff8000000000000ULL,
                                          0x7ff0000000000001ULL,
                                          0x7fffffffffffffffULL,
                                          0xffffffffffffffffULL,
                                          Bits(0.0),
                                          Bits(-0.0),
                                          Bits(INFINITY),
                                          Bits(-INFINITY),
                                          1,  // min denormal
                                          Bits(std::numeric_limits<double>::max()),
                                          Bits(std::numeric_limits<double>::lowest()),
                                          Bits(1.0),
                                          kStaleNaNBits,
                                          kStaleNaNBits,
                                          Bits(-0.0),
                                          Bits(0.0),
                                          0x8000000000000001ULL};
  std::vector<Sample> in;
  for (size_t i = 0; i < specials.size(); ++i) {
    in.push_back(Sample{static_cast<int64_t>(i) * 15000, FromBits(specials[i])});
  }
  absl::StatusOr<std::vector<Sample>> got = DecodeXorChunk(Encode(in));
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSameSamples(*got, in);
}

TEST(XorChunk, ExtremeTimestamps) {
  const int64_t kMin = std::numeric_limits<int64_t>::min();
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  for (const std::vector<int64_t>& ts :
       std::vector<std::vector<int64_t>>{{kMin, kMin + 1, kMax},
                                         {kMin, 0, kMax},
                                         {-5, -4, -2, 1, 1'000'000'000'000'000, kMax - 1, kMax},
                                         {0, 1, 2, 3, 4},
                                         {kMin}}) {
    std::vector<Sample> in;
    for (int64_t t : ts) in.push_back(Sample{t, static_cast<double>(in.size())});
    absl::StatusOr<std::vector<Sample>> got = DecodeXorChunk(Encode(in));
    ASSERT_TRUE(got.ok()) << got.status();
    ExpectSameSamples(*got, in);
  }
}

// Random series in several shapes, round-tripped against the plain vector they came from.
TEST(XorChunk, PropertyRoundTrip) {
  std::mt19937_64 rng(12345);
  for (int iter = 0; iter < 2000; ++iter) {
    const int shape = iter % 5;
    const int n = 1 + static_cast<int>(rng() % 300);
    std::vector<Sample> in;
    int64_t t = static_cast<int64_t>(rng() % 2'000'000'000'000ULL) - 1'000'000'000'000LL;
    double counter = 0;
    for (int i = 0; i < n; ++i) {
      double v = 0;
      switch (shape) {
        case 0:  // any 64-bit pattern: every NaN payload, denormals, infinities
          v = FromBits(rng());
          break;
        case 1:  // counter
          counter += static_cast<double>(rng() % 4);
          v = counter;
          break;
        case 2:  // gauge
          v = std::uniform_real_distribution<double>(-100, 100)(rng);
          break;
        case 3:  // constant with occasional staleness markers
          v = rng() % 10 == 0 ? FromBits(kStaleNaNBits) : 42.0;
          break;
        case 4:  // small integers, sign changes
          v = static_cast<double>(static_cast<int>(rng() % 7) - 3);
          break;
      }
      in.push_back(Sample{t, v});
      // Deltas: regular, jittered, and rarely huge (the 64-bit dod bucket).
      const uint64_t kind = rng() % 20;
      int64_t d = 15000;
      if (kind < 10) d += static_cast<int64_t>(rng() % 11) - 5;
      if (kind == 10) d = 1 + static_cast<int64_t>(rng() % 2'000'000);
      if (kind == 11) d = 1 + static_cast<int64_t>(rng() % (uint64_t{1} << 40));
      if (kind == 12) d = 1;
      t += d;
    }
    absl::StatusOr<std::vector<Sample>> got = DecodeXorChunk(Encode(in));
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_NO_FATAL_FAILURE(ExpectSameSamples(*got, in)) << "iteration " << iter;
  }
}

TEST(XorIterator, SeekAndState) {
  std::vector<Sample> in;
  for (int i = 0; i < 50; ++i) in.push_back(Sample{i * 10, i * 0.5});
  std::vector<uint8_t> bytes = Encode(in);
  XorIterator it(bytes);
  ASSERT_TRUE(it.Seek(95));
  EXPECT_EQ(it.t(), 100);
  EXPECT_EQ(it.v(), 5.0);
  ASSERT_TRUE(it.Seek(50));  // already past: stays
  EXPECT_EQ(it.t(), 100);
  ASSERT_TRUE(it.Next());
  EXPECT_EQ(it.t(), 110);
  ASSERT_TRUE(it.Seek(490));
  EXPECT_EQ(it.v(), 24.5);
  EXPECT_FALSE(it.Next());
  EXPECT_FALSE(it.Seek(0));  // exhausted
  EXPECT_TRUE(it.status().ok());

  XorIterator empty;
  EXPECT_FALSE(empty.Next());
  EXPECT_TRUE(empty.status().ok());
  XorChunk c;
  XorIterator none(c.bytes());
  EXPECT_FALSE(none.Next());
  EXPECT_TRUE(none.status().ok());
}

TEST(XorIterator, CorruptInputIsDataLossNotACrash) {
  std::vector<Sample> in;
  std::mt19937_64 rng(99);
  for (int i = 0; i < 120; ++i) in.push_back(Sample{i * 15000 + (i % 3), FromBits(rng())});
  const std::vector<uint8_t> good = Encode(in);

  // Every truncation: fewer bytes than the header promises.
  for (size_t len = 0; len < good.size(); ++len) {
    absl::StatusOr<std::vector<Sample>> got =
        DecodeXorChunk(std::span<const uint8_t>(good.data(), len));
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << "length " << len;
  }
  // A header claiming more samples than the stream holds.
  std::vector<uint8_t> more = good;
  more[1] = 200;  // the padding bits could hold a sample or two, not 80
  EXPECT_EQ(DecodeXorChunk(more).status().code(), absl::StatusCode::kDataLoss);
  // A first timestamp varint longer than 10 bytes.
  std::vector<uint8_t> long_varint = {0x00, 0x01};
  for (int i = 0; i < 11; ++i) long_varint.push_back(0xff);
  for (int i = 0; i < 8; ++i) long_varint.push_back(0);
  EXPECT_EQ(DecodeXorChunk(long_varint).status().code(), absl::StatusCode::kDataLoss);
  // Random bit flips and random bytes: any status, any samples, but no crash or hang.
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bad = good;
    bad[2 + rng() % (bad.size() - 2)] ^= static_cast<uint8_t>(1u << (rng() % 8));
    (void)DecodeXorChunk(bad);
    std::vector<uint8_t> noise(rng() % 64);
    for (uint8_t& b : noise) b = static_cast<uint8_t>(rng());
    (void)DecodeXorChunk(noise);
  }
}

TEST(XorChunk, TracksBoundsAndShrinks) {
  XorChunk c;
  EXPECT_TRUE(c.empty());
  c.Append(100, 1);
  c.Append(250, 2);
  EXPECT_EQ(c.num_samples(), 2);
  EXPECT_EQ(c.min_t(), 100);
  EXPECT_EQ(c.max_t(), 250);
  EXPECT_EQ(c.last_v(), 2);
  const std::vector<uint8_t> before(c.bytes().begin(), c.bytes().end());
  c.Shrink();
  EXPECT_THAT(std::vector<uint8_t>(c.bytes().begin(), c.bytes().end()), ElementsAreArray(before));
  // The appender state survives a copy: appending to a copy matches appending to the original.
  XorChunk copy = c;
  copy.Append(400, 7);
  c.Append(400, 7);
  EXPECT_THAT(std::vector<uint8_t>(copy.bytes().begin(), copy.bytes().end()),
              ElementsAreArray(std::vector<uint8_t>(c.bytes().begin(), c.bytes().end())));
}

}  // namespace
}  // namespace stakewatch::tsdb
