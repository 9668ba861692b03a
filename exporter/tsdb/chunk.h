// Prometheus's XOR chunk (tsdb/chunkenc/xor.go, after Facebook's Gorilla paper), byte for byte:
// a chunk written here decodes in Prometheus and the other way round.
//
// Layout: a 2-byte big-endian sample count, then a bit stream written most significant bit first:
//   sample 0: t as a zig-zag varint, v as 64 raw bits;
//   sample 1: t - t0 as an unsigned varint, v XOR-encoded against v0;
//   sample n: the delta of deltas dod = (t_n - t_n-1) - (t_n-1 - t_n-2) in one of five buckets
//     '0' (dod == 0), '10' + 14 bits, '110' + 17 bits, '1110' + 20 bits, '1111' + 64 bits
//     (a bucket of b bits holds -(2^(b-1) - 1) .. 2^(b-1), as Prometheus's bitRange), then v.
//   A value is XOR-ed with the previous value's bits: '0' when equal; '10' + the meaningful bits
//   when they fit in the previous leading/trailing-zero window; otherwise '11' + 5 bits of leading
//   zeros (clamped to 31) + 6 bits of meaningful-bit count (64 written as 0) + the bits.
// Values are handled as raw bits, so every NaN payload (the staleness marker 0x7ff0000000000002
// included), +/-Inf and -0.0 round-trip exactly.
//
// Usage:
//   XorChunk c;
//   c.Append(1000, 1.0);
//   c.Append(2000, 2.0);
//   XorIterator it(c.bytes());
//   while (it.Next()) Use(it.t(), it.v());
//   if (!it.status().ok()) ...;  // a corrupt or truncated chunk, never a crash
//
// Threads: XorChunk and XorIterator are thread-compatible values. A chunk that is no longer
// appended to may be read by any number of iterators at once (MemStorage shares closed chunks as
// shared_ptr<const XorChunk>).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/labels.h"

namespace stakewatch::tsdb {

// Samples per chunk before the storage starts a new one: Prometheus's head cuts at 120.
inline constexpr int kSamplesPerChunk = 120;

// A chunk being (or having been) appended to. Holds the encoded bytes plus the encoder state.
class XorChunk {
 public:
  // The most samples the 16-bit header can count.
  static constexpr int kMaxSamples = 0xffff;

  XorChunk();

  // Appends one sample.
  // REQUIRES: num_samples() < kMaxSamples; t_ms > max_t() unless the chunk is empty (the encoding
  // would accept any order, but readers assume ascending timestamps).
  void Append(int64_t t_ms, double v);

  int num_samples() const { return num_; }
  bool empty() const { return num_ == 0; }
  // First and last timestamp, and the last value. REQUIRES: !empty().
  int64_t min_t() const { return min_t_; }
  int64_t max_t() const { return t_; }
  double last_v() const { return v_; }

  // The encoded chunk (header included), exactly Prometheus's XORChunk.Bytes().
  std::span<const uint8_t> bytes() const { return buf_; }

  // Releases spare capacity; called when the chunk is closed.
  void Shrink() { buf_.shrink_to_fit(); }
  // Heap and inline bytes this chunk occupies.
  size_t MemoryBytes() const { return sizeof(*this) + buf_.capacity(); }

 private:
  void WriteBits(uint64_t bits, int n);
  void WriteVarintBytes(uint64_t u);
  void WriteValue(double v);

  std::vector<uint8_t> buf_;
  int64_t t_ = 0;      // last timestamp
  int64_t min_t_ = 0;  // first timestamp
  double v_ = 0;       // last value
  uint64_t t_delta_ = 0;
  uint16_t num_ = 0;
  uint8_t free_bits_ = 0;   // unused low bits in buf_.back()
  uint8_t leading_ = 0xff;  // 0xff: no leading/trailing window yet
  uint8_t trailing_ = 0;
};

// Reads the samples of an encoded XOR chunk in order. Does not own the bytes: they must outlive
// the iterator and not change while it reads them.
class XorIterator {
 public:
  XorIterator() = default;  // an empty chunk
  explicit XorIterator(std::span<const uint8_t> chunk);

  // Moves to the next sample; false at the end or on corrupt data (then status() says why).
  bool Next();
  // Moves to the first sample with t >= t_ms, staying put if the current one already is;
  // false if there is none.
  bool Seek(int64_t t_ms);
  // The current sample. REQUIRES: the last Next()/Seek() returned true.
  int64_t t() const { return t_; }
  double v() const { return v_; }
  // DataLoss for a chunk that is truncated or malformed; OK otherwise.
  const absl::Status& status() const { return status_; }

 private:
  bool Step();
  bool ReadBits(int n, uint64_t* out);
  bool ReadUvarint(uint64_t* out);
  bool ReadValue();
  bool Fail(const char* what);

  const uint8_t* data_ = nullptr;  // after the header
  size_t size_bits_ = 0;
  size_t pos_ = 0;  // bit position
  int num_total_ = 0;
  int num_read_ = 0;
  int64_t t_ = 0;
  double v_ = 0;
  uint64_t t_delta_ = 0;
  uint8_t leading_ = 0;
  uint8_t trailing_ = 0;
  bool valid_ = false;  // positioned on a sample
  absl::Status status_;
};

// Every sample of an encoded chunk; DataLoss if it is corrupt. For tests and tools.
absl::StatusOr<std::vector<Sample>> DecodeXorChunk(std::span<const uint8_t> chunk);

}  // namespace stakewatch::tsdb
