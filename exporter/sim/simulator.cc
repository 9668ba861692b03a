#include "sim/simulator.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "sim/internal.h"

namespace stakewatch::sim {

using internal::Hash;
using internal::Unit;

namespace internal {

void AppendU64(std::string* out, uint64_t v) {
  char buf[24];
  char* end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
  out->append(buf, static_cast<size_t>(end - buf));
}

void AppendQuotedU64(std::string* out, uint64_t v) {
  char buf[24];
  buf[0] = '"';
  char* end = std::to_chars(buf + 1, buf + sizeof(buf) - 1, v).ptr;
  *end++ = '"';
  out->append(buf, static_cast<size_t>(end - buf));
}

}  // namespace internal

namespace {

constexpr uint64_t kBlockCountChunk = 4096;
// Late votes are delayed by 2 + min(geometric(1/2), kMaxExtraDelay) slots.
constexpr int kMaxExtraDelay = 6;

}  // namespace

std::string ApiResponse::Body() const {
  std::string s = prefix;
  if (shared) s += *shared;
  s += suffix;
  return s;
}

absl::StatusOr<std::unique_ptr<ChainSimulator>> ChainSimulator::Create(const SimOptions& options,
                                                                       Clock* clock) {
  if (clock == nullptr) return absl::InvalidArgumentError("simulate: null clock");
  if (absl::Status s = ValidateSimOptions(options); !s.ok()) return s;
  return std::unique_ptr<ChainSimulator>(new ChainSimulator(options, clock));
}

ChainSimulator::ChainSimulator(const SimOptions& options, Clock* clock)
    : options_(options),
      clock_(clock),
      n_(options.validators),
      spe_(options.slots_per_epoch),
      committees_per_slot_(
          std::max<uint64_t>(1, std::min<uint64_t>(64, options.validators / spe_ / 128))),
      slot_duration_(absl::Milliseconds(std::llround(options.seconds_per_slot * 1000.0))),
      epoch_cache_(std::make_unique<Cache<Epoch, EpochData>>(6)),
      committees_cache_(std::make_unique<Cache<Epoch, std::string>>(4)),
      block_cache_(std::make_unique<Cache<Slot, std::string>>(256)) {}

ChainSimulator::~ChainSimulator() = default;

Slot ChainSimulator::HeadSlot() const {
  const absl::Duration since = clock_->Now() - options_.genesis_time;
  if (since <= absl::ZeroDuration()) return 0;
  absl::Duration remainder;  // IDivDuration requires a non-null remainder
  return static_cast<Slot>(absl::IDivDuration(since, slot_duration_, &remainder));
}

absl::Time ChainSimulator::SlotStart(Slot slot) const {
  return options_.genesis_time + slot_duration_ * static_cast<int64_t>(slot);
}

bool ChainSimulator::HasBlock(Slot slot) const {
  if (slot == 0) return true;
  return !(Unit(Hash(options_.seed, internal::kTagEmpty, slot)) < options_.missed_slot_rate);
}

ValidatorIndex ChainSimulator::Proposer(Slot slot) const {
  if (slot == 0) return 0;
  return Hash(options_.seed, internal::kTagProposer, slot) % n_;
}

Root ChainSimulator::BlockRoot(Slot slot) const {
  return internal::EncodeSlotRoot(options_.seed, internal::kTagBlockRoot,
                                  internal::kTagBlockRootMask, slot);
}

Slot ChainSimulator::LatestBlockSlotAt(Slot slot) const {
  while (slot > 0 && !HasBlock(slot)) --slot;
  return slot;
}

Root ChainSimulator::HeadRootAt(Slot slot) const { return BlockRoot(LatestBlockSlotAt(slot)); }

Root ChainSimulator::CheckpointRoot(Epoch e) const { return HeadRootAt(e * spe_); }

Pubkey ChainSimulator::ValidatorPubkey(ValidatorIndex v) {
  Pubkey pk{};
  internal::FillBytes(0x5eed, internal::kTagPubkey, v, 0, pk.data(), pk.size());
  pk[0] = static_cast<uint8_t>(0x80 | (pk[0] & 0x3f));  // compressed-point flags, as BLS keys
  return pk;
}

uint64_t ChainSimulator::CommitteeStart(uint64_t k) const {
  return n_ * k / (spe_ * committees_per_slot_);
}

std::vector<ValidatorIndex> ChainSimulator::Committee(Slot slot, uint64_t index) const {
  std::shared_ptr<const EpochData> d = GetEpoch(slot / spe_);
  const uint64_t k = (slot % spe_) * committees_per_slot_ + index;
  std::vector<ValidatorIndex> out;
  for (uint64_t p = CommitteeStart(k); p < CommitteeStart(k + 1); ++p) {
    out.push_back(d->shuffled[p]);
  }
  return out;
}

uint64_t ChainSimulator::BlockNumber(Slot slot) const {
  auto count_range = [this](Slot lo, Slot hi) {  // non-empty slots in [lo, hi)
    uint32_t c = 0;
    for (Slot s = std::max<Slot>(lo, 1); s < hi; ++s) c += HasBlock(s) ? 1 : 0;
    return c;
  };
  const uint64_t chunks = slot / kBlockCountChunk;
  uint64_t total = 0;
  {
    absl::MutexLock lock(&block_count_mu_);
    while (block_count_chunks_.size() < chunks) {
      const uint64_t i = block_count_chunks_.size();
      block_count_chunks_.push_back(count_range(i * kBlockCountChunk, (i + 1) * kBlockCountChunk));
    }
    for (uint64_t i = 0; i < chunks; ++i) total += block_count_chunks_[i];
  }
  return total + count_range(chunks * kBlockCountChunk, slot + 1);
}

std::shared_ptr<const ChainSimulator::EpochData> ChainSimulator::GetEpoch(Epoch e) const {
  return epoch_cache_->GetOrBuild(e, [&] { return BuildEpoch(e); });
}

std::shared_ptr<const ChainSimulator::EpochData> ChainSimulator::BuildEpoch(Epoch e) const {
  auto d = std::make_shared<EpochData>();
  const uint64_t seed = options_.seed;
  // Fisher-Yates over the active list, keyed by (seed, epoch).
  d->shuffled.resize(n_);
  for (uint64_t i = 0; i < n_; ++i) d->shuffled[i] = static_cast<uint32_t>(i);
  uint64_t state = Hash(seed, internal::kTagShuffle, e);
  for (uint64_t i = n_ - 1; i > 0; --i) {
    state += 0x9e3779b97f4a7c15ULL;
    const uint64_t r = internal::Mix(state) >> 32;  // 32 random bits
    const uint64_t j = (r * (i + 1)) >> 32;         // uniform-ish in [0, i]
    std::swap(d->shuffled[i], d->shuffled[j]);
  }
  d->position.resize(n_);
  for (uint64_t p = 0; p < n_; ++p) d->position[d->shuffled[p]] = static_cast<uint32_t>(p);

  // Blocks in the inclusion window of this epoch's votes: slots [e*spe, (e+2)*spe).
  const uint64_t window = 2 * spe_;
  const Slot base = e * spe_;
  // next[i] = offset of the first non-empty slot >= base + i, or `window` if none.
  std::vector<uint64_t> next(window + 1, window);
  for (uint64_t i = window; i-- > 0;) next[i] = HasBlock(base + i) ? i : next[i + 1];

  d->first.assign(n_, 0);
  d->dup.assign(n_, 0);
  d->flags.assign(n_, 0);
  const uint64_t total_committees = spe_ * committees_per_slot_;
  for (uint64_t k = 0; k < total_committees; ++k) {
    const uint64_t off = k / committees_per_slot_;  // duty slot - base
    const Slot s = base + off;
    for (uint64_t p = CommitteeStart(k); p < CommitteeStart(k + 1); ++p) {
      const uint64_t v = d->shuffled[p];
      if (Unit(Hash(seed, internal::kTagAttest, v, s)) < options_.missed_attestation_rate) {
        continue;
      }
      uint8_t flags = EpochData::kAttested;
      if (Unit(Hash(seed, internal::kTagWrongHead, v, s)) < options_.wrong_head_rate) {
        flags |= EpochData::kWrongHead;
      }
      d->flags[p] = flags;
      uint64_t delay = 1;
      if (Unit(Hash(seed, internal::kTagLate, v, s)) < options_.late_attestation_rate) {
        const uint64_t h = Hash(seed, internal::kTagDelay, v, s);
        delay = 2 + static_cast<uint64_t>(std::min(std::countr_zero(h), kMaxExtraDelay));
      }
      if (off + delay >= window) continue;
      const uint64_t first = next[off + delay];
      if (first >= window) continue;
      d->first[p] = static_cast<uint8_t>(first - off);
      if (Unit(Hash(seed, internal::kTagDuplicate, v, s)) < options_.duplicate_inclusion_rate) {
        const uint64_t again = next[first + 1];
        if (again < window) d->dup[p] = static_cast<uint8_t>(again - off);
      }
    }
  }
  return d;
}

absl::StatusOr<EpochGroundTruth> ChainSimulator::GroundTruth(Epoch epoch, ValidatorIndex first,
                                                             ValidatorIndex last) const {
  const Slot head = HeadSlot();
  if (epoch > UINT64_MAX / spe_ - 2 || head < (epoch + 2) * spe_) {
    return absl::FailedPreconditionError(absl::StrCat("ground truth for epoch ", epoch,
                                                      " is final only from slot ",
                                                      (epoch + 2) * spe_, "; head slot is ", head));
  }
  EpochGroundTruth gt;
  gt.epoch = epoch;
  const Slot base = epoch * spe_;
  for (Slot s = base; s < base + spe_; ++s) {
    gt.slots.push_back(SlotTruth{s, Proposer(s), HasBlock(s)});
  }
  last = std::min<ValidatorIndex>(last, n_ - 1);
  if (first > last) return gt;
  std::shared_ptr<const EpochData> d = GetEpoch(epoch);
  const uint64_t total_committees = spe_ * committees_per_slot_;
  gt.validators.reserve(last - first + 1);
  for (ValidatorIndex v = first; v <= last; ++v) {
    const uint64_t p = d->position[v];
    uint64_t k = std::min(total_committees - 1, p * total_committees / n_);
    while (k + 1 < total_committees && CommitteeStart(k + 1) <= p) ++k;
    while (CommitteeStart(k) > p) --k;
    ValidatorEpochTruth t;
    t.validator_index = v;
    t.duty_slot = base + k / committees_per_slot_;
    t.committee_index = k % committees_per_slot_;
    t.committee_position = p - CommitteeStart(k);
    t.attested = (d->flags[p] & EpochData::kAttested) != 0;
    t.wrong_head = (d->flags[p] & EpochData::kWrongHead) != 0;
    t.included = d->first[p] != 0;
    if (t.included) t.inclusion_slot = t.duty_slot + d->first[p];
    if (d->dup[p] != 0) t.duplicate_slot = t.duty_slot + d->dup[p];
    gt.validators.push_back(t);
  }
  return gt;
}

bool ChainSimulator::IsFinalized(Slot slot) const {
  const Epoch current = CurrentEpoch();
  const Epoch finalized = current >= 2 ? current - 2 : 0;
  return slot <= finalized * spe_;
}

}  // namespace stakewatch::sim
