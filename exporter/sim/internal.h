// Internals shared by simulator.cc and simulator_render.cc: hashing, byte helpers and a small LRU
// cache. Not part of the sim module's contract; tests must not use it (they compute expected
// values independently).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "sim/simulator.h"

namespace stakewatch::sim::internal {

// Domain tags so that different decisions never share a hash stream.
enum Tag : uint64_t {
  kTagEmpty = 1,
  kTagProposer,
  kTagBlockRoot,
  kTagBlockRootMask,
  kTagStateRoot,
  kTagStateRootMask,
  kTagBodyRoot,
  kTagOrphanRoot,
  kTagShuffle,
  kTagAttest,
  kTagLate,
  kTagDelay,
  kTagWrongHead,
  kTagDuplicate,
  kTagSignature,
  kTagPubkey,
  kTagFeeRecipient,
  kTagExecHash,
  kTagSync,
  kTagMisc,
  kTagExit,
  kTagExitEpoch,
  kTagGenesisBalance,
  kTagSyncMiss,
  kTagOrphanBlockRoot,
  kTagOrphanBlockRootMask,
  kTagOrphanMisc,
  kTagWrongFeeRecipient,
  kTagSlashing,
};

// SplitMix64 finalizer: a bijective 64-bit mixer.
// Parses an unsigned decimal (no sign, at most 20 digits, no overflow): ids and query values.
inline std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// Parses "0x" followed by exactly 2*n hex digits into out[0..n).
inline bool Unhex(std::string_view s, uint8_t* out, size_t n) {
  if (s.size() != 2 + 2 * n || s[0] != '0' || s[1] != 'x') return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < n; ++i) {
    const int hi = nibble(s[2 + 2 * i]);
    const int lo = nibble(s[3 + 2 * i]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline uint64_t Hash(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b = 0) {
  return Mix(Mix(Mix(seed ^ Mix(tag)) ^ a) ^ b);
}

// Hash split in two for hot loops: HashKeyed(HashKey(seed, tag), a, b) == Hash(seed, tag, a, b).
inline uint64_t HashKey(uint64_t seed, uint64_t tag) { return Mix(seed ^ Mix(tag)); }
inline uint64_t HashKeyed(uint64_t key, uint64_t a, uint64_t b = 0) {
  return Mix(Mix(key ^ a) ^ b);
}

// Uniform in [0, 1).
inline double Unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// `n` pseudo-random bytes from (seed, tag, a, b).
inline void FillBytes(uint64_t seed, uint64_t tag, uint64_t a, uint64_t b, uint8_t* out, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t h = Hash(seed, tag, a, Mix(b) ^ i);
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<uint8_t>(h >> (8 * j));
  }
}

inline uint64_t LoadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline void StoreLe64(uint64_t v, uint8_t* p) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// A 32-byte root that looks random but encodes `slot`: bytes 0..23 are hashes, bytes 24..31 are
// slot XOR a hash of bytes 0..7. DecodeSlotRoot inverts it (the caller must re-encode and
// compare to reject forged roots).
inline Root EncodeSlotRoot(uint64_t seed, uint64_t tag, uint64_t mask_tag, uint64_t slot) {
  Root r{};
  FillBytes(seed, tag, slot, 0, r.data(), 24);
  StoreLe64(slot ^ Hash(seed, mask_tag, LoadLe64(r.data())), r.data() + 24);
  return r;
}
inline uint64_t DecodeSlotRoot(uint64_t seed, uint64_t mask_tag, const Root& r) {
  return LoadLe64(r.data() + 24) ^ Hash(seed, mask_tag, LoadLe64(r.data()));
}

// Appends a JSON string "0x<lowercase hex of [p, p+n)>", quotes included.
inline void AppendHex(std::string* out, const uint8_t* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const size_t at = out->size();
  out->resize(at + 4 + 2 * n);
  char* w = out->data() + at;
  *w++ = '"';
  *w++ = '0';
  *w++ = 'x';
  for (size_t i = 0; i < n; ++i) {
    *w++ = kDigits[p[i] >> 4];
    *w++ = kDigits[p[i] & 15];
  }
  *w = '"';
}

// Appends the decimal form of v.
void AppendU64(std::string* out, uint64_t v);
// Appends "\"<decimal>\"".
void AppendQuotedU64(std::string* out, uint64_t v);

// A small thread-safe LRU cache of immutable shared values. Builds are serialised (one at a
// time per cache) so that concurrent requests for the same missing key build it once.
template <typename K, typename V>
class LruCache {
 public:
  explicit LruCache(size_t capacity) : capacity_(capacity) {}

  std::shared_ptr<const V> GetOrBuild(const K& key,
                                      absl::FunctionRef<std::shared_ptr<const V>()> build) {
    if (auto v = Lookup(key)) return v;
    absl::MutexLock build_lock(&build_mu_);
    if (auto v = Lookup(key)) return v;
    std::shared_ptr<const V> value = build();
    absl::MutexLock lock(&mu_);
    if (entries_.size() >= capacity_) {
      size_t oldest = 0;
      for (size_t i = 1; i < entries_.size(); ++i) {
        if (entries_[i].last_used < entries_[oldest].last_used) oldest = i;
      }
      entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(oldest));
    }
    entries_.push_back(Entry{key, value, ++tick_});
    return value;
  }

 private:
  struct Entry {
    K key;
    std::shared_ptr<const V> value;
    uint64_t last_used;
  };

  std::shared_ptr<const V> Lookup(const K& key) {
    absl::MutexLock lock(&mu_);
    for (Entry& e : entries_) {
      if (e.key == key) {
        e.last_used = ++tick_;
        return e.value;
      }
    }
    return nullptr;
  }

  const size_t capacity_;
  absl::Mutex build_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  absl::Mutex mu_;
  std::vector<Entry> entries_ ABSL_GUARDED_BY(mu_);
  uint64_t tick_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace stakewatch::sim::internal

namespace stakewatch::sim {

// Per-epoch shuffling and attestation decisions, indexed by shuffled position.
struct ChainSimulator::EpochData {
  uint64_t active = 0;             // active validators in the epoch
  uint64_t cps = 1;                // committees per slot
  std::vector<uint32_t> shuffled;  // position -> validator (size active)
  std::vector<uint32_t> position;  // validator -> position; kNoPosition if inactive
  static constexpr uint32_t kNoPosition = UINT32_MAX;
  std::vector<uint8_t> first;  // first inclusion slot - duty slot; 0 = never included
  std::vector<uint8_t> dup;    // duplicate inclusion slot - duty slot; 0 = none
  std::vector<uint8_t> flags;  // kAttested | kWrongHead
  static constexpr uint8_t kAttested = 1;
  static constexpr uint8_t kWrongHead = 2;
  // flag_sum[i] = sum of the earned flag rewards (head + timely source + timely target, gwei) of
  // the votes first included in the block at base + i, i in [0, 2 * SPE): the input of the
  // proposer's attestation reward.
  std::vector<uint64_t> flag_sum;
};

// Per-epoch block rewards and in-block balance changes (proposer and sync rewards), derived from
// EpochData of the epoch and the one before it.
struct ChainSimulator::EpochBlocks {
  struct Block {
    bool canonical = false;  // a canonical block at the slot (the genesis block has no rewards)
    BlockReward reward;
    uint64_t participants = 0;            // set sync bits
    std::array<uint64_t, 8> sync_bits{};  // bit i = position i signed the previous slot
  };
  std::vector<Block> blocks;              // by slot offset in the epoch
  std::vector<ValidatorIndex> committee;  // the 512 sync positions of the epoch's period
  std::optional<Slot> slashing_slot;      // the first block that may carry slashings
  std::vector<SlashingOp> slashings;      // included at *slashing_slot (ascending index)
  // One net balance change per (validator, slot offset) from the epoch's blocks.
  struct Flow {
    uint32_t validator;
    uint32_t offset;
    int64_t delta;
  };
  std::vector<Flow> by_validator;  // sorted by (validator, offset)
  std::vector<Flow> by_slot;       // sorted by (offset, validator)
};

template <typename K, typename V>
class ChainSimulator::Cache : public internal::LruCache<K, V> {
 public:
  using internal::LruCache<K, V>::LruCache;
};

}  // namespace stakewatch::sim
