// XOR chunk encoder and decoder; see chunk.h for the format.
#include "tsdb/chunk.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace stakewatch::tsdb {
namespace {

// Whether x fits a dod bucket of `nbits` bits: Prometheus's bitRange, -(2^(n-1)-1) .. 2^(n-1).
bool BitRange(int64_t x, int nbits) {
  const int64_t half = int64_t{1} << (nbits - 1);
  return -(half - 1) <= x && x <= half;
}

}  // namespace

XorChunk::XorChunk() : buf_(2, 0) {}

void XorChunk::WriteBits(uint64_t bits, int n) {
  // The low n bits of `bits`, most significant first, exactly as Prometheus's bstream.writeBits:
  // whole bytes first, each of which appends a byte to the stream even when it ends on a byte
  // boundary (so a chunk can end with an all-zero byte, which the bytes must reproduce).
  if (n <= 0) return;
  bits <<= 64 - n;
  for (; n >= 8; n -= 8, bits <<= 8) {
    const uint8_t byte = static_cast<uint8_t>(bits >> 56);
    if (free_bits_ == 0) {
      buf_.push_back(0);
      free_bits_ = 8;
    }
    buf_.back() |= static_cast<uint8_t>(byte >> (8 - free_bits_));
    buf_.push_back(static_cast<uint8_t>(free_bits_ == 8 ? 0 : byte << free_bits_));
  }
  // The rest bit by bit (bstream.writeBit), done as one run within the current byte if it fits.
  if (n == 0) return;
  bits >>= 64 - n;
  while (n > 0) {
    if (free_bits_ == 0) {
      buf_.push_back(0);
      free_bits_ = 8;
    }
    const int take = std::min<int>(n, free_bits_);
    const uint8_t run = static_cast<uint8_t>((bits >> (n - take)) & ((1u << take) - 1));
    buf_.back() |= static_cast<uint8_t>(run << (free_bits_ - take));
    free_bits_ = static_cast<uint8_t>(free_bits_ - take);
    n -= take;
  }
}

void XorChunk::WriteVarintBytes(uint64_t u) {
  // Go's PutUvarint, each byte written into the bit stream (which need not be byte-aligned).
  while (u >= 0x80) {
    WriteBits((u & 0x7f) | 0x80, 8);
    u >>= 7;
  }
  WriteBits(u, 8);
}

void XorChunk::WriteValue(double v) {
  const uint64_t delta = std::bit_cast<uint64_t>(v) ^ std::bit_cast<uint64_t>(v_);
  if (delta == 0) {
    WriteBits(0, 1);
    return;
  }
  WriteBits(1, 1);
  int leading = std::countl_zero(delta);
  const int trailing = std::countr_zero(delta);
  if (leading >= 32) leading = 31;  // 5 bits
  if (leading_ != 0xff && leading >= leading_ && trailing >= trailing_) {
    WriteBits(0, 1);
    WriteBits(delta >> trailing_, 64 - leading_ - trailing_);
    return;
  }
  leading_ = static_cast<uint8_t>(leading);
  trailing_ = static_cast<uint8_t>(trailing);
  WriteBits(1, 1);
  WriteBits(static_cast<uint64_t>(leading), 5);
  const int sigbits = 64 - leading - trailing;  // 1..64; 64 is written as 0
  WriteBits(static_cast<uint64_t>(sigbits), 6);
  WriteBits(delta >> trailing, sigbits);
}

void XorChunk::Append(int64_t t_ms, double v) {
  uint64_t t_delta = 0;
  if (num_ == 0) {
    // Go's PutVarint: zig-zag.
    const uint64_t u =
        t_ms < 0 ? ~(static_cast<uint64_t>(t_ms) << 1) : static_cast<uint64_t>(t_ms) << 1;
    WriteVarintBytes(u);
    WriteBits(std::bit_cast<uint64_t>(v), 64);
    min_t_ = t_ms;
  } else if (num_ == 1) {
    t_delta = static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(t_);
    WriteVarintBytes(t_delta);
    WriteValue(v);
  } else {
    t_delta = static_cast<uint64_t>(t_ms) - static_cast<uint64_t>(t_);
    const int64_t dod = static_cast<int64_t>(t_delta - t_delta_);
    const uint64_t udod = static_cast<uint64_t>(dod);
    if (dod == 0) {
      WriteBits(0, 1);
    } else if (BitRange(dod, 14)) {
      WriteBits(0b10, 2);
      WriteBits(udod, 14);
    } else if (BitRange(dod, 17)) {
      WriteBits(0b110, 3);
      WriteBits(udod, 17);
    } else if (BitRange(dod, 20)) {
      WriteBits(0b1110, 4);
      WriteBits(udod, 20);
    } else {
      WriteBits(0b1111, 4);
      WriteBits(udod, 64);
    }
    WriteValue(v);
  }
  t_ = t_ms;
  v_ = v;
  t_delta_ = t_delta;
  ++num_;
  buf_[0] = static_cast<uint8_t>(num_ >> 8);
  buf_[1] = static_cast<uint8_t>(num_ & 0xff);
}

XorIterator::XorIterator(std::span<const uint8_t> chunk) {
  if (chunk.size() < 2) {
    status_ = absl::DataLossError("xor chunk: shorter than its 2-byte header");
    return;
  }
  num_total_ = (chunk[0] << 8) | chunk[1];
  data_ = chunk.data() + 2;
  size_bits_ = (chunk.size() - 2) * 8;
}

bool XorIterator::Fail(const char* what) {
  status_ = absl::DataLossError(
      absl::StrCat("xor chunk: ", what, " in sample ", num_read_, " of ", num_total_));
  num_total_ = num_read_;  // Next() keeps returning false
  return false;
}

bool XorIterator::ReadBits(int n, uint64_t* out) {
  if (static_cast<size_t>(n) > size_bits_ - pos_) return false;
  if (n == 0) {
    *out = 0;
    return true;
  }
  const size_t byte = pos_ >> 3;
  const int off = static_cast<int>(pos_ & 7);
  if (n + off <= 64 && byte + 8 <= size_bits_ / 8) {
    // Fast path: one big-endian 8-byte load holds all n bits.
    uint64_t word;
    std::memcpy(&word, data_ + byte, sizeof(word));
    if constexpr (std::endian::native == std::endian::little) word = __builtin_bswap64(word);
    *out = (word << off) >> (64 - n);
    pos_ += static_cast<size_t>(n);
    return true;
  }
  uint64_t r = 0;
  while (n > 0) {
    const int off = static_cast<int>(pos_ & 7);
    const int avail = 8 - off;
    const int take = std::min(avail, n);
    const uint8_t b = data_[pos_ >> 3];
    r = (r << take) | ((b >> (avail - take)) & ((1u << take) - 1));
    n -= take;
    pos_ += static_cast<size_t>(take);
  }
  *out = r;
  return true;
}

bool XorIterator::ReadUvarint(uint64_t* out) {
  // Go's binary.ReadUvarint: at most 10 bytes, the 10th at most 1.
  uint64_t x = 0;
  for (int i = 0, shift = 0; i < 10; ++i, shift += 7) {
    uint64_t b;
    if (!ReadBits(8, &b)) return false;
    if (b < 0x80) {
      if (i == 9 && b > 1) return false;
      *out = x | (b << shift);
      return true;
    }
    x |= (b & 0x7f) << shift;
  }
  return false;
}

bool XorIterator::ReadValue() {
  uint64_t bit;
  if (!ReadBits(1, &bit)) return Fail("truncated value");
  if (bit == 1) {
    if (!ReadBits(1, &bit)) return Fail("truncated value");
    if (bit == 1) {
      uint64_t leading, mbits;
      if (!ReadBits(5, &leading) || !ReadBits(6, &mbits)) return Fail("truncated value header");
      if (mbits == 0) mbits = 64;
      if (leading + mbits > 64) return Fail("bad value bit counts");
      leading_ = static_cast<uint8_t>(leading);
      trailing_ = static_cast<uint8_t>(64 - leading - mbits);
    }
    const int mbits = 64 - leading_ - trailing_;
    uint64_t bits;
    if (!ReadBits(mbits, &bits)) return Fail("truncated value bits");
    v_ = std::bit_cast<double>(std::bit_cast<uint64_t>(v_) ^ (bits << trailing_));
  }
  ++num_read_;
  return true;
}

bool XorIterator::Next() {
  valid_ = Step();
  return valid_;
}

bool XorIterator::Step() {
  if (num_read_ >= num_total_) return false;
  if (num_read_ == 0) {
    uint64_t zz, vbits;
    if (!ReadUvarint(&zz)) return Fail("bad first timestamp");
    if (!ReadBits(64, &vbits)) return Fail("truncated first value");
    t_ = static_cast<int64_t>((zz >> 1) ^ (~(zz & 1) + 1));  // zig-zag decode
    v_ = std::bit_cast<double>(vbits);
    ++num_read_;
    return true;
  }
  if (num_read_ == 1) {
    if (!ReadUvarint(&t_delta_)) return Fail("bad second timestamp");
    t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + t_delta_);
    return ReadValue();
  }
  // The dod bucket: up to four '1' bits ended by a '0'.
  int ones = 0;
  while (ones < 4) {
    uint64_t bit;
    if (!ReadBits(1, &bit)) return Fail("truncated timestamp");
    if (bit == 0) break;
    ++ones;
  }
  static constexpr int kBucketBits[] = {0, 14, 17, 20, 64};
  const int sz = kBucketBits[ones];
  uint64_t dod = 0;
  if (sz != 0) {
    if (!ReadBits(sz, &dod)) return Fail("truncated timestamp");
    // A negative dod comes back as a large unsigned number (as Prometheus decodes it).
    if (sz < 64 && dod > (uint64_t{1} << (sz - 1))) dod -= uint64_t{1} << sz;
  }
  t_delta_ += dod;
  t_ = static_cast<int64_t>(static_cast<uint64_t>(t_) + t_delta_);
  return ReadValue();
}

bool XorIterator::Seek(int64_t t_ms) {
  if (valid_ && t_ >= t_ms) return true;
  while (Next()) {
    if (t_ >= t_ms) return true;
  }
  return false;
}

absl::StatusOr<std::vector<Sample>> DecodeXorChunk(std::span<const uint8_t> chunk) {
  XorIterator it(chunk);
  std::vector<Sample> out;
  while (it.Next()) out.push_back(Sample{it.t(), it.v()});
  if (!it.status().ok()) return it.status();
  return out;
}

}  // namespace stakewatch::tsdb
