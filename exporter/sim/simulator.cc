#include "sim/simulator.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <tuple>

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
constexpr uint64_t kIncrement = 1'000'000'000;  // EFFECTIVE_BALANCE_INCREMENT, gwei
// Per-increment ideal rewards (gwei), close to mainnet's at ~1.1M validators.
constexpr int64_t kHeadPerIncrement = 1848;
constexpr int64_t kTargetPerIncrement = 3435;
constexpr int64_t kSourcePerIncrement = 1849;
constexpr uint64_t kExitSpread = 32;           // exit epochs 1..32
constexpr uint64_t kWithdrawabilityDelay = 4;  // simplified MIN_VALIDATOR_WITHDRAWABILITY_DELAY
constexpr uint64_t kMaxWithdrawalsPerPayload = 16;
constexpr uint64_t kCheckpointEvery = 32;
constexpr size_t kMaxCheckpoints = 16;

// The spec's integer_squareroot (for the timely-source delay bound, 5 at 32 slots per epoch).
uint64_t IntegerSquareRoot(uint64_t n) {
  uint64_t r = 0;
  while ((r + 1) * (r + 1) <= n) ++r;
  return r;
}

uint64_t ResolveWithdrawalEvery(const SimOptions& o) {
  if (o.withdrawal_every > 0) return o.withdrawal_every;
  const uint64_t total = o.validators + o.pending_count;
  const uint64_t per = kMaxWithdrawalsPerPayload * o.slots_per_epoch;
  return std::max<uint64_t>(1, (total + per - 1) / per);
}

}  // namespace

std::string_view SlotOutcomeName(SlotOutcome o) {
  switch (o) {
    case SlotOutcome::kProposed:
      return "proposed";
    case SlotOutcome::kMissed:
      return "missed";
    case SlotOutcome::kOrphaned:
      return "orphaned";
  }
  return "missed";
}

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
      total_(options.validators + options.pending_count),
      spe_(options.slots_per_epoch),
      withdrawal_every_(ResolveWithdrawalEvery(options)),
      max_sweep_per_slot_((total_ + withdrawal_every_ * spe_ - 1) / (withdrawal_every_ * spe_)),
      timely_source_delay_(IntegerSquareRoot(spe_)),
      committees_per_slot_(
          std::max<uint64_t>(1, std::min<uint64_t>(64, options.validators / spe_ / 128))),
      slot_duration_(absl::Milliseconds(std::llround(options.seconds_per_slot * 1000.0))),
      epoch_cache_(std::make_unique<Cache<Epoch, EpochData>>(8)),
      epoch_blocks_cache_(std::make_unique<Cache<Epoch, EpochBlocks>>(8)),
      committees_cache_(std::make_unique<Cache<Epoch, std::string>>(4)),
      block_cache_(std::make_unique<Cache<Slot, std::string>>(256)),
      balance_cache_(std::make_unique<Cache<Epoch, std::vector<uint64_t>>>(4)) {
  // Validated by ValidateSimOptions.
  internal::Unhex(options.fee_recipient, fee_recipient_.data(), fee_recipient_.size());
}

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

SlotOutcome ChainSimulator::Outcome(Slot slot) const {
  if (slot == 0) return SlotOutcome::kProposed;
  const double u = Unit(Hash(options_.seed, internal::kTagEmpty, slot));
  if (u < options_.missed_slot_rate) return SlotOutcome::kMissed;
  if (u < options_.missed_slot_rate + options_.orphan_rate) return SlotOutcome::kOrphaned;
  return SlotOutcome::kProposed;
}

bool ChainSimulator::HasBlock(Slot slot) const { return Outcome(slot) == SlotOutcome::kProposed; }

Root ChainSimulator::OrphanRoot(Slot slot) const {
  return internal::EncodeSlotRoot(options_.seed, internal::kTagOrphanBlockRoot,
                                  internal::kTagOrphanBlockRootMask, slot);
}

Address ChainSimulator::FeeRecipient(Slot slot) const {
  if (options_.wrong_fee_recipient_rate > 0.0 &&
      Unit(Hash(options_.seed, internal::kTagWrongFeeRecipient, slot)) <
          options_.wrong_fee_recipient_rate) {
    Address a{};
    internal::FillBytes(options_.seed, internal::kTagWrongFeeRecipient, slot, 1, a.data(),
                        a.size());
    if (a == fee_recipient_) a[0] ^= 0xff;
    return a;
  }
  return fee_recipient_;
}

Root ChainSimulator::StateRoot(Slot slot) const {
  return internal::EncodeSlotRoot(options_.seed, internal::kTagStateRoot,
                                  internal::kTagStateRootMask, slot);
}

std::optional<Slot> ChainSimulator::ActiveOrphan(Slot h) const {
  const uint64_t k = options_.reorg_slots;
  if (k == 0 || options_.orphan_rate <= 0.0) return std::nullopt;
  for (Slot s = std::max<Slot>(1, h + 1 >= k ? h + 1 - k : 0); s <= h; ++s) {
    if (Outcome(s) == SlotOutcome::kOrphaned) return s;
  }
  return std::nullopt;
}

ChainSimulator::BlockRef ChainSimulator::ViewLatestAt(Slot slot, Slot h) const {
  if (std::optional<Slot> o = ActiveOrphan(h); o && slot >= *o) return BlockRef{*o, true};
  return BlockRef{LatestBlockSlotAt(std::min(slot, h)), false};
}

Root ChainSimulator::RefRoot(const BlockRef& b) const {
  return b.orphan ? OrphanRoot(b.slot) : BlockRoot(b.slot);
}

Root ChainSimulator::RefStateRoot(const BlockRef& b) const {
  if (!b.orphan) return StateRoot(b.slot);
  Root r{};
  internal::FillBytes(options_.seed, internal::kTagOrphanMisc, b.slot, 1, r.data(), r.size());
  return r;
}

ValidatorIndex ChainSimulator::Proposer(Slot slot) const {
  if (slot == 0) return 0;
  const Epoch e = slot / spe_;
  // Rejection sampling over the active set (validator 0 never exits, so this ends).
  for (uint64_t i = 0; i < 4096; ++i) {
    const ValidatorIndex v = Hash(options_.seed, internal::kTagProposer, slot, i) % n_;
    if (IsActive(v, e)) return v;
  }
  return 0;
}

ValidatorLifecycle ChainSimulator::Lifecycle(ValidatorIndex v) const {
  ValidatorLifecycle l;
  if (v >= n_) {
    l.pending = true;
    l.activation_epoch = kFarFutureEpoch;
    return l;
  }
  const double leave = options_.slashed_rate + options_.exited_rate;
  if (v == 0 || leave <= 0.0) return l;
  const double u = Unit(Hash(options_.seed, internal::kTagExit, v));
  if (!(u < leave)) return l;
  l.slashed = u < options_.slashed_rate;
  l.exit_epoch = 1 + Hash(options_.seed, internal::kTagExitEpoch, v) % kExitSpread;
  l.exit_initiated_epoch = l.exit_epoch - 1;
  l.withdrawable_epoch = l.exit_epoch + kWithdrawabilityDelay;
  return l;
}

bool ChainSimulator::IsActive(ValidatorIndex v, Epoch epoch) const {
  if (v >= n_) return false;
  if (options_.slashed_rate + options_.exited_rate <= 0.0) return true;
  return epoch < Lifecycle(v).exit_epoch;
}

std::string_view ChainSimulator::Status(ValidatorIndex v, Epoch e, uint64_t balance) const {
  const ValidatorLifecycle l = Lifecycle(v);
  if (l.pending) return "pending_initialized";
  if (e < l.exit_initiated_epoch) return "active_ongoing";
  if (e < l.exit_epoch) return l.slashed ? "active_slashed" : "active_exiting";
  if (e < l.withdrawable_epoch) return l.slashed ? "exited_slashed" : "exited_unslashed";
  return balance > 0 ? "withdrawal_possible" : "withdrawal_done";
}

uint64_t ChainSimulator::CommitteesPerSlot(Epoch epoch) const { return GetEpoch(epoch)->cps; }

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

uint64_t ChainSimulator::CommitteeStart(const EpochData& d, uint64_t k) const {
  return d.active * k / (spe_ * d.cps);
}

std::vector<ValidatorIndex> ChainSimulator::Committee(Slot slot, uint64_t index) const {
  std::shared_ptr<const EpochData> d = GetEpoch(slot / spe_);
  const uint64_t k = (slot % spe_) * d->cps + index;
  std::vector<ValidatorIndex> out;
  for (uint64_t p = CommitteeStart(*d, k); p < CommitteeStart(*d, k + 1); ++p) {
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
  // Fisher-Yates over the ascending active list, keyed by (seed, epoch).
  d->shuffled.reserve(n_);
  for (uint64_t v = 0; v < n_; ++v) {
    if (IsActive(v, e)) d->shuffled.push_back(static_cast<uint32_t>(v));
  }
  const uint64_t a = d->shuffled.size();  // >= 1: validator 0 never exits
  d->active = a;
  d->cps = std::max<uint64_t>(1, std::min<uint64_t>(64, a / spe_ / 128));
  uint64_t state = Hash(seed, internal::kTagShuffle, e);
  for (uint64_t i = a - 1; i > 0; --i) {
    state += 0x9e3779b97f4a7c15ULL;
    const uint64_t r = internal::Mix(state) >> 32;  // 32 random bits
    const uint64_t j = (r * (i + 1)) >> 32;         // uniform-ish in [0, i]
    std::swap(d->shuffled[i], d->shuffled[j]);
  }
  d->position.assign(total_, EpochData::kNoPosition);
  for (uint64_t p = 0; p < a; ++p) d->position[d->shuffled[p]] = static_cast<uint32_t>(p);

  // Blocks in the inclusion window of this epoch's votes: slots [e*spe, (e+2)*spe).
  const uint64_t window = 2 * spe_;
  const Slot base = e * spe_;
  // next[i] = offset of the first non-empty slot >= base + i, or `window` if none.
  std::vector<uint64_t> next(window + 1, window);
  for (uint64_t i = window; i-- > 0;) next[i] = HasBlock(base + i) ? i : next[i + 1];

  d->first.assign(a, 0);
  d->dup.assign(a, 0);
  d->flags.assign(a, 0);
  const uint64_t total_committees = spe_ * d->cps;
  const uint64_t attest_key = internal::HashKey(seed, internal::kTagAttest);
  const uint64_t wrong_key = internal::HashKey(seed, internal::kTagWrongHead);
  const uint64_t late_key = internal::HashKey(seed, internal::kTagLate);
  const uint64_t delay_key = internal::HashKey(seed, internal::kTagDelay);
  const uint64_t dup_key = internal::HashKey(seed, internal::kTagDuplicate);
  // A zero rate never fires: skip its hash.
  const bool may_miss = options_.missed_attestation_rate > 0.0;
  const bool may_be_wrong = options_.wrong_head_rate > 0.0;
  const bool may_be_late = options_.late_attestation_rate > 0.0;
  const bool may_dup = options_.duplicate_inclusion_rate > 0.0;
  for (uint64_t k = 0; k < total_committees; ++k) {
    const uint64_t off = k / d->cps;  // duty slot - base
    const Slot s = base + off;
    for (uint64_t p = CommitteeStart(*d, k); p < CommitteeStart(*d, k + 1); ++p) {
      const uint64_t v = d->shuffled[p];
      if (may_miss &&
          Unit(internal::HashKeyed(attest_key, v, s)) < options_.missed_attestation_rate) {
        continue;
      }
      uint8_t flags = EpochData::kAttested;
      if (may_be_wrong && Unit(internal::HashKeyed(wrong_key, v, s)) < options_.wrong_head_rate) {
        flags |= EpochData::kWrongHead;
      }
      d->flags[p] = flags;
      uint64_t delay = 1;
      if (may_be_late &&
          Unit(internal::HashKeyed(late_key, v, s)) < options_.late_attestation_rate) {
        const uint64_t h = internal::HashKeyed(delay_key, v, s);
        delay = 2 + static_cast<uint64_t>(std::min(std::countr_zero(h), kMaxExtraDelay));
      }
      if (off + delay >= window) continue;
      const uint64_t first = next[off + delay];
      if (first >= window) continue;
      d->first[p] = static_cast<uint8_t>(first - off);
      if (may_dup && Unit(internal::HashKeyed(dup_key, v, s)) < options_.duplicate_inclusion_rate) {
        const uint64_t again = next[first + 1];
        if (again < window) d->dup[p] = static_cast<uint8_t>(again - off);
      }
    }
  }
  // Flag rewards per first-inclusion block, for the proposers' attestation rewards.
  d->flag_sum.assign(window, 0);
  for (uint64_t k = 0; k < total_committees; ++k) {
    const uint64_t off = k / d->cps;
    for (uint64_t p = CommitteeStart(*d, k); p < CommitteeStart(*d, k + 1); ++p) {
      if (d->first[p] == 0) continue;
      const AttestationReward r = VoteReward(*d, p, e, nullptr);
      d->flag_sum[off + d->first[p]] += static_cast<uint64_t>(
          r.head + std::max<int64_t>(0, r.source) + std::max<int64_t>(0, r.target));
    }
  }
  return d;
}

std::shared_ptr<const ChainSimulator::EpochBlocks> ChainSimulator::GetEpochBlocks(Epoch e) const {
  return epoch_blocks_cache_->GetOrBuild(e, [&] { return BuildEpochBlocks(e); });
}

std::shared_ptr<const ChainSimulator::EpochBlocks> ChainSimulator::BuildEpochBlocks(Epoch e) const {
  auto eb = std::make_shared<EpochBlocks>();
  const Slot base = e * spe_;
  eb->blocks.resize(spe_);
  eb->committee = SyncCommittee(e / 256);
  std::shared_ptr<const EpochData> prev = e >= 1 ? GetEpoch(e - 1) : nullptr;
  std::shared_ptr<const EpochData> cur = GetEpoch(e);
  for (Slot s = std::max<Slot>(1, base); s < base + spe_; ++s) {
    if (HasBlock(s)) {
      eb->slashing_slot = s;
      break;
    }
  }
  if (eb->slashing_slot && options_.slashed_rate > 0.0) {
    for (ValidatorIndex v = 1; v < n_; ++v) {
      const ValidatorLifecycle l = Lifecycle(v);
      if (l.slashed && l.exit_initiated_epoch == e) {
        eb->slashings.push_back(
            SlashingOp{v, v % 2 == 0 ? SlashingKind::kAttester : SlashingKind::kProposer});
      }
    }
  }
  std::vector<EpochBlocks::Flow> flows;
  for (uint64_t i = 0; i < spe_; ++i) {
    const Slot s = base + i;
    EpochBlocks::Block& b = eb->blocks[i];
    b.canonical = HasBlock(s);
    if (!b.canonical || s == 0) continue;
    b.reward.proposer_index = Proposer(s);
    const uint64_t flag_sum = (prev ? prev->flag_sum[spe_ + i] : 0) + cur->flag_sum[i];
    b.reward.attestations = flag_sum / 7;
    for (uint64_t pos = 0; pos < 512; ++pos) {
      const ValidatorIndex m = eb->committee[pos];
      const bool bit = SyncParticipated(s - 1, pos, m);
      if (bit) {
        b.sync_bits[pos / 64] |= uint64_t{1} << (pos % 64);
        ++b.participants;
      }
      flows.push_back({static_cast<uint32_t>(m), static_cast<uint32_t>(i),
                       bit ? kSyncParticipantReward : -kSyncParticipantReward});
    }
    b.reward.sync_aggregate = b.participants * kSyncProposerRewardPerBit;
    if (eb->slashing_slot == s) {
      for (const SlashingOp& op : eb->slashings) {
        (op.kind == SlashingKind::kAttester ? b.reward.attester_slashings
                                            : b.reward.proposer_slashings) += kWhistleblowerReward;
      }
    }
    flows.push_back({static_cast<uint32_t>(b.reward.proposer_index), static_cast<uint32_t>(i),
                     static_cast<int64_t>(b.reward.total())});
  }
  std::sort(flows.begin(), flows.end(), [](const auto& a, const auto& b) {
    return std::tie(a.validator, a.offset) < std::tie(b.validator, b.offset);
  });
  for (const EpochBlocks::Flow& f : flows) {  // net one (validator, offset) pair
    if (!eb->by_validator.empty() && eb->by_validator.back().validator == f.validator &&
        eb->by_validator.back().offset == f.offset) {
      eb->by_validator.back().delta += f.delta;
    } else {
      eb->by_validator.push_back(f);
    }
  }
  eb->by_slot = eb->by_validator;
  std::sort(eb->by_slot.begin(), eb->by_slot.end(), [](const auto& a, const auto& b) {
    return std::tie(a.offset, a.validator) < std::tie(b.offset, b.validator);
  });
  return eb;
}

namespace {
uint64_t ApplyDelta(uint64_t b, int64_t d) {
  return d >= 0 ? b + static_cast<uint64_t>(d) : b - std::min(b, static_cast<uint64_t>(-d));
}
}  // namespace

uint64_t ChainSimulator::Replay(ValidatorIndex v, Epoch e, Slot upto, uint64_t b,
                                const EpochBlocks& eb) const {
  const Slot base = e * spe_;
  const uint64_t period = SweepPeriod();
  const Slot sweep = base + ((v % period) + period - base % period) % period;
  bool pending_sweep = sweep < upto && sweep != 0 && sweep < base + spe_ && HasBlock(sweep);
  auto it = std::lower_bound(
      eb.by_validator.begin(), eb.by_validator.end(), v,
      [](const EpochBlocks::Flow& f, ValidatorIndex x) { return f.validator < x; });
  for (; it != eb.by_validator.end() && it->validator == v; ++it) {
    const Slot s = base + it->offset;
    if (s >= upto) break;
    if (pending_sweep && sweep <= s) {  // a block's withdrawals come before its rewards
      b -= SweepAmount(v, e, b);
      pending_sweep = false;
    }
    b = ApplyDelta(b, it->delta);
  }
  if (pending_sweep) b -= SweepAmount(v, e, b);
  return b;
}

BlockReward ChainSimulator::BlockRewardAt(Slot slot) const {
  if (slot == 0 || !HasBlock(slot)) return BlockReward{};
  return GetEpochBlocks(slot / spe_)->blocks[slot % spe_].reward;
}

std::vector<SlashingOp> ChainSimulator::SlashingsAt(Slot slot) const {
  if (slot == 0 || !HasBlock(slot)) return {};
  std::shared_ptr<const EpochBlocks> eb = GetEpochBlocks(slot / spe_);
  if (eb->slashing_slot != slot) return {};
  return eb->slashings;
}

uint64_t ChainSimulator::GenesisBalance(ValidatorIndex v) const {
  if (v >= n_) return kMaxEffectiveBalance;
  // 0..0.1 ETH of earlier rewards, so that withdrawals start at once.
  return kMaxEffectiveBalance + Hash(options_.seed, internal::kTagGenesisBalance, v) % 100'000'000;
}

AttestationReward ChainSimulator::VoteReward(const EpochData& d, uint64_t p, Epoch epoch,
                                             bool* flags) const {
  const ValidatorIndex v = d.shuffled[p];
  bool slashed = false;
  if (options_.slashed_rate > 0.0) {
    const ValidatorLifecycle l = Lifecycle(v);
    slashed = l.slashed && epoch >= l.exit_initiated_epoch;
  }
  const bool included = d.first[p] != 0 && !slashed;
  const bool head = included && d.first[p] == 1 && (d.flags[p] & EpochData::kWrongHead) == 0;
  const bool source = included && d.first[p] <= timely_source_delay_;
  const bool target = included;
  if (flags != nullptr) {
    flags[0] = head;
    flags[1] = source;
    flags[2] = target;
  }
  const int64_t inc = static_cast<int64_t>(kMaxEffectiveBalance / kIncrement);
  AttestationReward r;
  r.head = head ? inc * kHeadPerIncrement : 0;
  r.source = (source ? 1 : -1) * inc * kSourcePerIncrement;
  r.target = (target ? 1 : -1) * inc * kTargetPerIncrement;
  return r;
}

AttestationReward ChainSimulator::Reward(ValidatorIndex v, Epoch epoch) const {
  if (!IsActive(v, epoch)) return AttestationReward{};
  std::shared_ptr<const EpochData> d = GetEpoch(epoch);
  return VoteReward(*d, d->position[v], epoch, nullptr);
}

uint64_t ChainSimulator::SweepAmount(ValidatorIndex v, Epoch epoch, uint64_t b) const {
  if (v >= n_) return 0;  // pending: 32 ETH exactly, not withdrawable
  if (epoch >= Lifecycle(v).withdrawable_epoch) return b;
  return b > kMaxEffectiveBalance ? b - kMaxEffectiveBalance : 0;
}

std::vector<Withdrawal> ChainSimulator::WithdrawalsFrom(Slot slot,
                                                        const std::vector<uint64_t>& start,
                                                        const EpochBlocks& eb) const {
  std::vector<Withdrawal> out;
  if (slot == 0 || !HasBlock(slot)) return out;
  const Epoch e = slot / spe_;
  const uint64_t period = SweepPeriod();
  uint64_t i = 0;
  for (ValidatorIndex v = slot % period; v < total_; v += period, ++i) {
    const uint64_t amount = SweepAmount(v, e, Replay(v, e, slot, start[v], eb));
    if (amount > 0) out.push_back(Withdrawal{i, v, amount});
  }
  if (!out.empty()) {
    const uint64_t base = BlockNumber(slot) * max_sweep_per_slot_;
    for (Withdrawal& w : out) w.index += base;
  }
  return out;
}

std::vector<Withdrawal> ChainSimulator::Withdrawals(Slot slot) const {
  if (slot == 0 || !HasBlock(slot)) return {};
  return WithdrawalsFrom(slot, *StartBalances(slot / spe_), *GetEpochBlocks(slot / spe_));
}

std::shared_ptr<const std::vector<uint64_t>> ChainSimulator::StartBalances(Epoch epoch) const {
  return balance_cache_->GetOrBuild(epoch, [&] { return ComputeStartBalances(epoch); });
}

std::shared_ptr<const std::vector<uint64_t>> ChainSimulator::ComputeStartBalances(
    Epoch epoch) const {
  std::vector<uint64_t> bal;
  Epoch at = 0;
  {
    absl::MutexLock lock(&balance_mu_);
    auto it = balance_checkpoints_.upper_bound(epoch);
    if (it != balance_checkpoints_.begin()) {
      --it;
      at = it->first;
      bal = *it->second;
    }
  }
  if (bal.empty()) {
    bal.resize(total_);
    for (ValidatorIndex v = 0; v < total_; ++v) bal[v] = GenesisBalance(v);
  }
  const bool lifecycle = options_.slashed_rate + options_.exited_rate > 0.0;
  for (Epoch x = at; x < epoch; ++x) {
    // Blocks of epoch x in order: each one's withdrawals, then its rewards.
    std::shared_ptr<const EpochBlocks> eb = GetEpochBlocks(x);
    size_t f = 0;
    for (Slot s = x * spe_; s < (x + 1) * spe_; ++s) {
      if (s == 0 || !HasBlock(s)) continue;
      const uint64_t period = SweepPeriod();
      for (ValidatorIndex v = s % period; v < total_; v += period) {
        bal[v] -= SweepAmount(v, x, bal[v]);
      }
      const uint64_t offset = s - x * spe_;
      while (f < eb->by_slot.size() && eb->by_slot[f].offset < offset) ++f;
      for (; f < eb->by_slot.size() && eb->by_slot[f].offset == offset; ++f) {
        uint64_t& b = bal[eb->by_slot[f].validator];
        b = ApplyDelta(b, eb->by_slot[f].delta);
      }
    }
    // Epoch processing at the end of x: rewards for the votes of x - 1, slashing penalties.
    if (x >= 1) {
      std::shared_ptr<const EpochData> d = GetEpoch(x - 1);
      for (uint64_t p = 0; p < d->active; ++p) {
        const int64_t r = VoteReward(*d, p, x - 1, nullptr).total();
        uint64_t& b = bal[d->shuffled[p]];
        b = r >= 0 ? b + static_cast<uint64_t>(r) : b - std::min(b, static_cast<uint64_t>(-r));
      }
    }
    if (lifecycle && options_.slashed_rate > 0.0) {
      for (ValidatorIndex v = 1; v < n_; ++v) {
        const ValidatorLifecycle l = Lifecycle(v);
        if (l.slashed && l.exit_initiated_epoch == x) {
          bal[v] -= std::min(bal[v], kMaxEffectiveBalance / 4096);
        }
      }
    }
    if ((x + 1) % kCheckpointEvery == 0 && x + 1 < epoch) {
      absl::MutexLock lock(&balance_mu_);
      balance_checkpoints_[x + 1] = std::make_shared<const std::vector<uint64_t>>(bal);
    }
  }
  auto result = std::make_shared<const std::vector<uint64_t>>(std::move(bal));
  {
    // Keep the result as a starting point for the next epoch too.
    absl::MutexLock lock(&balance_mu_);
    balance_checkpoints_[epoch] = result;
    while (balance_checkpoints_.size() > kMaxCheckpoints) {
      // Drop the oldest non-multiple of kCheckpointEvery, else the oldest.
      auto victim = balance_checkpoints_.begin();
      for (auto it = balance_checkpoints_.begin(); it != balance_checkpoints_.end(); ++it) {
        if (it->first % kCheckpointEvery != 0) {
          victim = it;
          break;
        }
      }
      balance_checkpoints_.erase(victim);
    }
  }
  return result;
}

uint64_t ChainSimulator::BalanceAt(ValidatorIndex v, Slot slot) const {
  return BalanceFrom(v, slot, *StartBalances(slot / spe_), *GetEpochBlocks(slot / spe_));
}

uint64_t ChainSimulator::BalanceFrom(ValidatorIndex v, Slot slot,
                                     const std::vector<uint64_t>& start,
                                     const EpochBlocks& eb) const {
  return Replay(v, slot / spe_, slot + 1, start[v], eb);
}

std::vector<ValidatorIndex> ChainSimulator::SyncCommittee(uint64_t period) const {
  const Epoch start = period * 256;
  std::vector<ValidatorIndex> out(512, 0);
  for (uint64_t i = 0; i < 512; ++i) {
    for (uint64_t j = 0; j < 4096; ++j) {
      const ValidatorIndex v = Hash(options_.seed, internal::kTagSync, period, i * 4096 + j) % n_;
      if (IsActive(v, start)) {
        out[i] = v;
        break;
      }
    }
  }
  return out;
}

bool ChainSimulator::SyncParticipated(Slot slot, uint64_t position, ValidatorIndex member) const {
  const Epoch e = slot / spe_;
  if (!IsActive(member, e)) return false;
  if (options_.slashed_rate > 0.0) {
    const ValidatorLifecycle l = Lifecycle(member);
    if (l.slashed && e >= l.exit_initiated_epoch) return false;  // a slashed member never signs
  }
  return !(Unit(Hash(options_.seed, internal::kTagSyncMiss, slot, position)) <
           options_.sync_miss_rate);
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
  std::shared_ptr<const std::vector<uint64_t>> start = StartBalances(epoch);
  std::shared_ptr<const EpochBlocks> eb = GetEpochBlocks(epoch);
  for (Slot s = base; s < base + spe_; ++s) {
    SlotTruth st;
    st.slot = s;
    st.proposer_index = Proposer(s);
    st.outcome = Outcome(s);
    st.proposed = st.outcome == SlotOutcome::kProposed;
    if (st.outcome != SlotOutcome::kMissed) st.fee_recipient = FeeRecipient(s);
    if (st.proposed) st.reward = eb->blocks[s - base].reward;
    if (eb->slashing_slot == s) st.slashings = eb->slashings;
    gt.slots.push_back(std::move(st));
    for (const Withdrawal& w : WithdrawalsFrom(s, *start, *eb)) gt.withdrawals.emplace_back(s, w);
  }
  last = std::min<ValidatorIndex>(last, total_ - 1);
  if (first > last) return gt;
  std::shared_ptr<const EpochData> d = GetEpoch(epoch);
  std::shared_ptr<const std::vector<uint64_t>> end = StartBalances(epoch + 1);
  const uint64_t total_committees = spe_ * d->cps;
  const uint64_t a = d->active;
  gt.validators.reserve(last - first + 1);
  for (ValidatorIndex v = first; v <= last; ++v) {
    ValidatorEpochTruth t;
    t.validator_index = v;
    t.start_balance = (*start)[v];
    t.balance = (*end)[v];
    t.effective_balance = t.balance > 0 ? kMaxEffectiveBalance : 0;
    t.status = Status(v, epoch, t.balance);
    const uint64_t p = d->position[v];
    if (p == EpochData::kNoPosition) {
      t.active = false;
      gt.validators.push_back(std::move(t));
      continue;
    }
    uint64_t k = std::min(total_committees - 1, p * total_committees / a);
    while (k + 1 < total_committees && CommitteeStart(*d, k + 1) <= p) ++k;
    while (CommitteeStart(*d, k) > p) --k;
    t.duty_slot = base + k / d->cps;
    t.committee_index = k % d->cps;
    t.committee_position = p - CommitteeStart(*d, k);
    t.attested = (d->flags[p] & EpochData::kAttested) != 0;
    t.wrong_head = (d->flags[p] & EpochData::kWrongHead) != 0;
    t.included = d->first[p] != 0;
    if (t.included) t.inclusion_slot = t.duty_slot + d->first[p];
    if (d->dup[p] != 0) t.duplicate_slot = t.duty_slot + d->dup[p];
    bool flags[3];
    t.reward = VoteReward(*d, p, epoch, flags);
    t.timely_head = flags[0];
    t.timely_source = flags[1];
    t.timely_target = flags[2];
    gt.validators.push_back(std::move(t));
  }
  // Block and sync rewards of the epoch's blocks.
  for (uint64_t i = 0; i < spe_; ++i) {
    const EpochBlocks::Block& b = eb->blocks[i];
    if (!b.canonical || base + i == 0) continue;  // the genesis block has no rewards
    if (b.reward.proposer_index >= first && b.reward.proposer_index <= last) {
      gt.validators[b.reward.proposer_index - first].proposer_reward += b.reward.total();
    }
    for (uint64_t pos = 0; pos < 512; ++pos) {
      const ValidatorIndex m = eb->committee[pos];
      if (m < first || m > last) continue;
      const bool bit = (b.sync_bits[pos / 64] >> (pos % 64)) & 1;
      gt.validators[m - first].sync_reward +=
          bit ? kSyncParticipantReward : -kSyncParticipantReward;
    }
  }
  // Sync committee duties: the signature for slot s is in the block at s + 1.
  for (Slot s = base; s < base + spe_; ++s) {
    if (!HasBlock(s + 1)) continue;
    const std::vector<ValidatorIndex> members = SyncCommittee((s + 1) / spe_ / 256);
    for (uint64_t i = 0; i < members.size(); ++i) {
      const ValidatorIndex v = members[i];
      if (v < first || v > last) continue;
      ValidatorEpochTruth& t = gt.validators[v - first];
      ++t.sync_slots;
      if (SyncParticipated(s, i, v)) {
        ++t.sync_participated;
      } else {
        ++t.sync_missed;
      }
    }
  }
  return gt;
}

bool ChainSimulator::IsFinalized(Slot slot) const {
  const Epoch current = CurrentEpoch();
  const Epoch finalized = current >= 2 ? current - 2 : 0;
  return slot <= finalized * spe_;
}

}  // namespace stakewatch::sim
