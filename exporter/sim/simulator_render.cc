// ChainSimulator: request routing and Beacon API JSON rendering. Field order and shapes follow
// real Electra responses (fixtures/ream, fixtures/eth-validator-watcher).
#include <algorithm>
#include <array>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "sim/internal.h"
#include "sim/simulator.h"

namespace stakewatch::sim {

using internal::AppendHex;
using internal::AppendQuotedU64;
using internal::AppendU64;
using internal::FillBytes;
using internal::Hash;
using internal::ParseDecimal;
using internal::Unhex;

namespace {

std::optional<Root> ParseRoot(std::string_view s) {
  Root r{};
  if (!Unhex(s, r.data(), r.size())) return std::nullopt;
  return r;
}

void AppendRoot(std::string* out, const Root& r) { AppendHex(out, r.data(), r.size()); }

// Appends `n` pseudo-random bytes as hex.
void AppendRandomHex(std::string* out, uint64_t seed, uint64_t tag, uint64_t a, uint64_t b,
                     size_t n) {
  uint8_t buf[256];
  FillBytes(seed, tag, a, b, buf, n);
  AppendHex(out, buf, n);
}

// Keeps user text safe inside a JSON string.
std::string JsonSafe(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 100)) {
    out.push_back((c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?');
  }
  return out;
}

const char* Bool(bool b) { return b ? "true" : "false"; }

std::optional<std::string_view> Param(const QueryParams& q, const char* name) {
  auto it = q.find(name);
  if (it == q.end()) return std::nullopt;
  return std::string_view(it->second);
}

}  // namespace

ApiResponse ChainSimulator::Error(int code, std::string_view message) const {
  ApiResponse r;
  r.status = code;
  r.prefix = absl::StrCat("{\"code\":", code, ",\"message\":\"", JsonSafe(message), "\"}");
  return r;
}

ApiResponse ChainSimulator::Get(std::string_view path, const QueryParams& query) const {
  return Route(path, query);
}

ApiResponse ChainSimulator::Post(std::string_view path, const QueryParams& query,
                                 std::string_view body) const {
  return RoutePost(path, query, body);
}

ApiResponse ChainSimulator::Route(std::string_view path, const QueryParams& query) const {
  std::vector<std::string_view> parts;
  for (absl::string_view p : absl::StrSplit(ToAbsl(path), '/', absl::SkipEmpty())) {
    parts.push_back(ToStd(p));
  }
  auto is = [&](std::initializer_list<std::string_view> want) {
    if (parts.size() != want.size()) return false;
    size_t i = 0;
    for (std::string_view w : want) {
      if (w != "*" && w != parts[i]) return false;
      ++i;
    }
    return true;
  };
  if (is({"eth", "v1", "beacon", "genesis"})) {
    ApiResponse r;
    r.prefix = "{\"data\":{\"genesis_time\":";
    AppendQuotedU64(&r.prefix, static_cast<uint64_t>(absl::ToUnixSeconds(options_.genesis_time)));
    r.prefix += ",\"genesis_validators_root\":\"";
    r.prefix.pop_back();
    AppendRandomHex(&r.prefix, options_.seed, internal::kTagMisc, n_, 1, 32);
    r.prefix += ",\"genesis_fork_version\":\"0x10000038\"}}";
    return r;
  }
  if (is({"eth", "v1", "config", "spec"})) return GetSpec();
  if (is({"eth", "v1", "node", "syncing"})) {
    ApiResponse r;
    r.prefix = "{\"data\":{\"head_slot\":";
    AppendQuotedU64(&r.prefix, HeadSlot());
    r.prefix +=
        ",\"sync_distance\":\"0\",\"is_syncing\":false,\"is_optimistic\":false,"
        "\"el_offline\":false}}";
    return r;
  }
  if (is({"eth", "v1", "node", "health"})) return ApiResponse{};
  if (is({"eth", "v1", "node", "peer_count"})) {
    ApiResponse r;
    r.prefix = "{\"data\":{\"disconnected\":\"0\",\"connecting\":\"0\",\"connected\":";
    AppendQuotedU64(&r.prefix, options_.peers);
    r.prefix += ",\"disconnecting\":\"0\"},\"meta\":{\"count\":1}}";
    return r;
  }
  if (is({"eth", "v1", "node", "version"})) {
    ApiResponse r;
    r.prefix = "{\"data\":{\"version\":\"" + SimNodeVersion(options_) + "\"}}";
    return r;
  }
  if (is({"eth", "v1", "beacon", "states", "*", "finality_checkpoints"})) {
    return GetFinality(parts[4]);
  }
  if (is({"eth", "v1", "beacon", "states", "*", "committees"})) {
    return GetCommittees(parts[4], query);
  }
  if (is({"eth", "v1", "beacon", "states", "*", "validators"}) ||
      is({"eth", "v1", "beacon", "states", "*", "validator_balances"})) {
    std::vector<std::string> ids;
    for (auto [it, end] = query.equal_range("id"); it != end; ++it) {
      for (absl::string_view id : absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
        ids.emplace_back(id);
      }
    }
    std::vector<std::string> statuses;
    for (auto [it, end] = query.equal_range("status"); it != end; ++it) {
      for (absl::string_view st : absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
        statuses.emplace_back(st);
      }
    }
    return GetValidators(parts[4], ids, statuses, parts[5] == "validator_balances");
  }
  if (is({"eth", "v1", "beacon", "states", "*", "sync_committees"})) {
    return GetSyncCommittees(parts[4], query);
  }
  if (is({"eth", "v1", "beacon", "headers"}) && path.back() != '/') return GetHeaders(query);
  if (is({"eth", "v1", "beacon", "headers", "*"})) return GetHeader(parts[4]);
  if (is({"eth", "v1", "beacon", "rewards", "blocks", "*"})) return GetBlockRewards(parts[5]);
  if (is({"eth", "v2", "beacon", "blocks", "*"})) return GetBlock(parts[4], false);
  if (is({"eth", "v2", "beacon", "blocks", "*", "attestations"})) return GetBlock(parts[4], true);
  if (is({"eth", "v1", "validator", "duties", "proposer", "*"})) {
    return GetProposerDuties(parts[5]);
  }
  return Error(404, absl::StrCat("NOT_FOUND: no route for ", ToAbsl(path)));
}

ApiResponse ChainSimulator::GetSpec() const {
  const int64_t slot_ms = absl::ToInt64Milliseconds(slot_duration_);
  // SECONDS_PER_SLOT is a uint64 in every client's config; sub-second slots round up to 1 there,
  // and SLOT_DURATION_MS (the newer spec name, which stakewatch prefers) is always exact.
  const std::string seconds = absl::StrCat(std::max<int64_t>(1, (slot_ms + 999) / 1000));
  const std::pair<std::string_view, std::string> kv[] = {
      {"CONFIG_NAME", "stakewatch-sim"},
      {"PRESET_BASE", "mainnet"},
      {"GENESIS_FORK_VERSION", "0x10000038"},
      {"ALTAIR_FORK_VERSION", "0x20000038"},
      {"ALTAIR_FORK_EPOCH", "0"},
      {"BELLATRIX_FORK_VERSION", "0x30000038"},
      {"BELLATRIX_FORK_EPOCH", "0"},
      {"CAPELLA_FORK_VERSION", "0x40000038"},
      {"CAPELLA_FORK_EPOCH", "0"},
      {"DENEB_FORK_VERSION", "0x50000038"},
      {"DENEB_FORK_EPOCH", "0"},
      {"ELECTRA_FORK_VERSION", "0x60000038"},
      {"ELECTRA_FORK_EPOCH", "0"},
      {"FULU_FORK_VERSION", "0x70000038"},
      {"FULU_FORK_EPOCH", "18446744073709551615"},
      {"SECONDS_PER_SLOT", seconds},
      {"SLOT_DURATION_MS", absl::StrCat(slot_ms)},
      {"SLOTS_PER_EPOCH", absl::StrCat(spe_)},
      {"MAX_COMMITTEES_PER_SLOT", "64"},
      {"TARGET_COMMITTEE_SIZE", "128"},
      {"MAX_VALIDATORS_PER_COMMITTEE", "2048"},
      {"SHUFFLE_ROUND_COUNT", "90"},
      {"MIN_ATTESTATION_INCLUSION_DELAY", "1"},
      {"MAX_ATTESTATIONS_ELECTRA", "8"},
      {"SYNC_COMMITTEE_SIZE", "512"},
      {"EPOCHS_PER_SYNC_COMMITTEE_PERIOD", "256"},
      {"MAX_WITHDRAWALS_PER_PAYLOAD", "16"},
      {"DEPOSIT_CHAIN_ID", "1337"},
  };
  ApiResponse r;
  r.prefix = "{\"data\":{";
  bool first = true;
  for (const auto& [k, v] : kv) {
    if (!first) r.prefix += ',';
    first = false;
    absl::StrAppend(&r.prefix, "\"", ToAbsl(k), "\":\"", v, "\"");
  }
  r.prefix += "}}";
  return r;
}

std::optional<ChainSimulator::BlockRef> ChainSimulator::ResolveBlockId(std::string_view id,
                                                                       ApiResponse* error) const {
  const Slot head = HeadSlot();
  const Epoch current = head / spe_;
  const std::optional<Slot> active = ActiveOrphan(head);
  if (id == "head") return ViewLatestAt(head, head);
  if (id == "genesis") return BlockRef{0, false};
  if (id == "finalized") return ViewLatestAt((current >= 2 ? current - 2 : 0) * spe_, head);
  if (id == "justified") return ViewLatestAt((current >= 1 ? current - 1 : 0) * spe_, head);
  if (std::optional<uint64_t> slot = ParseDecimal(id)) {
    if (*slot > head) {
      *error = Error(404, absl::StrCat("NOT_FOUND: beacon block at slot ", *slot, " (future)"));
      return std::nullopt;
    }
    if (active && *slot == *active) return BlockRef{*slot, true};
    if (!HasBlock(*slot) || (active && *slot > *active)) {
      *error = Error(404, absl::StrCat("NOT_FOUND: beacon block at slot ", *slot));
      return std::nullopt;
    }
    return BlockRef{*slot, false};
  }
  if (std::optional<Root> root = ParseRoot(id)) {
    const Slot slot = internal::DecodeSlotRoot(options_.seed, internal::kTagBlockRootMask, *root);
    if (slot <= head && HasBlock(slot) && BlockRoot(slot) == *root && !(active && slot > *active)) {
      return BlockRef{slot, false};
    }
    const Slot orphan =
        internal::DecodeSlotRoot(options_.seed, internal::kTagOrphanBlockRootMask, *root);
    if (orphan <= head && Outcome(orphan) == SlotOutcome::kOrphaned &&
        OrphanRoot(orphan) == *root) {
      return BlockRef{orphan, true};
    }
    *error = Error(404, absl::StrCat("NOT_FOUND: beacon block with root ", ToAbsl(id)));
    return std::nullopt;
  }
  *error = Error(400, absl::StrCat("Invalid block ID: ", ToAbsl(id)));
  return std::nullopt;
}

std::optional<Slot> ChainSimulator::ResolveStateId(std::string_view id, ApiResponse* error) const {
  const Slot head = HeadSlot();
  const Epoch current = head / spe_;
  if (id == "head") return head;
  if (id == "genesis") return Slot{0};
  if (id == "finalized") return (current >= 2 ? current - 2 : 0) * spe_;
  if (id == "justified") return (current >= 1 ? current - 1 : 0) * spe_;
  if (std::optional<uint64_t> slot = ParseDecimal(id)) {
    if (*slot > head) {
      *error = Error(404, absl::StrCat("NOT_FOUND: state at slot ", *slot, " (future)"));
      return std::nullopt;
    }
    return *slot;
  }
  if (std::optional<Root> root = ParseRoot(id)) {
    const Slot slot = internal::DecodeSlotRoot(options_.seed, internal::kTagStateRootMask, *root);
    if (slot <= head && internal::EncodeSlotRoot(options_.seed, internal::kTagStateRoot,
                                                 internal::kTagStateRootMask, slot) == *root) {
      return slot;
    }
    *error = Error(404, absl::StrCat("NOT_FOUND: state with root ", ToAbsl(id)));
    return std::nullopt;
  }
  *error = Error(400, absl::StrCat("Invalid state ID: ", ToAbsl(id)));
  return std::nullopt;
}

ApiResponse ChainSimulator::GetFinality(std::string_view state_id) const {
  ApiResponse r;
  std::optional<Slot> slot = ResolveStateId(state_id, &r);
  if (!slot) return r;
  const Slot head = HeadSlot();
  const Epoch e = *slot / spe_;
  const Epoch fin = e >= 2 ? e - 2 : 0;
  const Epoch just = e >= 1 ? e - 1 : 0;
  auto checkpoint = [&](const char* name, Epoch ce) {
    absl::StrAppend(&r.prefix, "\"", name, "\":{\"epoch\":");
    AppendQuotedU64(&r.prefix, ce);
    r.prefix += ",\"root\":\"";
    r.prefix.pop_back();
    AppendRoot(&r.prefix, RefRoot(ViewLatestAt(ce * spe_, head)));
    r.prefix += "}";
  };
  absl::StrAppend(&r.prefix,
                  "{\"execution_optimistic\":false,\"finalized\":", Bool(IsFinalized(*slot)),
                  ",\"data\":{");
  checkpoint("previous_justified", fin);
  r.prefix += ',';
  checkpoint("current_justified", just);
  r.prefix += ',';
  checkpoint("finalized", fin);
  r.prefix += "}}";
  return r;
}

// Appends {"root":..,"canonical":..,"header":{"message":{..},"signature":..}} for block b as the
// view at `head` sees it.
void ChainSimulator::AppendHeader(std::string* out, const BlockRef& b, Slot head) const {
  std::string& o = *out;
  const Slot s = b.slot;
  const bool canonical = !b.orphan || ActiveOrphan(head) == s;
  o += "{\"root\":";
  AppendRoot(&o, RefRoot(b));
  absl::StrAppend(&o, ",\"canonical\":", Bool(canonical), ",\"header\":{\"message\":{\"slot\":");
  AppendQuotedU64(&o, s);
  o += ",\"proposer_index\":";
  AppendQuotedU64(&o, Proposer(s));
  o += ",\"parent_root\":";
  if (s == 0) {
    AppendRoot(&o, Root{});
  } else {
    AppendRoot(&o, HeadRootAt(s - 1));
  }
  o += ",\"state_root\":";
  AppendRoot(&o, RefStateRoot(b));
  o += ",\"body_root\":";
  AppendRandomHex(&o, options_.seed, b.orphan ? internal::kTagOrphanMisc : internal::kTagBodyRoot,
                  s, b.orphan ? 2 : 0, 32);
  o += "},\"signature\":";
  AppendRandomHex(&o, options_.seed, b.orphan ? internal::kTagOrphanMisc : internal::kTagSignature,
                  s, b.orphan ? 3 : 0, 96);
  o += "}}";
}

ApiResponse ChainSimulator::GetHeader(std::string_view block_id) const {
  ApiResponse r;
  std::optional<BlockRef> b = ResolveBlockId(block_id, &r);
  if (!b) return r;
  std::string& o = r.prefix;
  absl::StrAppend(&o, "{\"execution_optimistic\":false,\"finalized\":",
                  Bool(!b->orphan && IsFinalized(b->slot)), ",\"data\":");
  AppendHeader(&o, *b, HeadSlot());
  o += "}";
  return r;
}

ApiResponse ChainSimulator::GetHeaders(const QueryParams& query) const {
  const Slot head = HeadSlot();
  Slot slot = 0;
  if (auto p = Param(query, "slot")) {
    std::optional<uint64_t> v = ParseDecimal(*p);
    if (!v) return Error(400, absl::StrCat("Invalid slot: ", ToAbsl(*p)));
    slot = *v;
  } else {
    slot = ViewLatestAt(head, head).slot;  // by default, the head block's slot
  }
  if (Param(query, "parent_root")) return Error(400, "parent_root is not supported");
  const std::optional<Slot> active = ActiveOrphan(head);
  ApiResponse r;
  std::string& o = r.prefix;
  bool finalized = false;
  std::string list = "[";
  if (slot <= head) {
    if (Outcome(slot) == SlotOutcome::kOrphaned) {
      AppendHeader(&list, BlockRef{slot, true}, head);
    } else if (HasBlock(slot) && !(active && slot > *active)) {
      AppendHeader(&list, BlockRef{slot, false}, head);
      finalized = IsFinalized(slot);
    }
  }
  list += "]";
  absl::StrAppend(&o, "{\"execution_optimistic\":false,\"finalized\":", Bool(finalized),
                  ",\"data\":", list, "}");
  return r;
}

// The JSON array of Electra aggregates included in the block at `slot`.
std::string ChainSimulator::RenderAttestations(Slot b) const {
  std::string out = "[";
  if (b == 0) return out + "]";
  const Epoch eb = b / spe_;
  const Slot lo = eb >= 1 ? (eb - 1) * spe_ : 0;
  std::shared_ptr<const EpochData> epochs[2] = {nullptr, nullptr};
  std::vector<uint8_t> bits;
  bool first_att = true;
  for (Slot s = lo; s < b; ++s) {
    const Epoch e = s / spe_;
    std::shared_ptr<const EpochData>& d = epochs[e == eb ? 1 : 0];
    if (!d) d = GetEpoch(e);
    const uint64_t cps = d->cps;
    const uint64_t delta = b - s;
    const uint64_t o = s % spe_;
    for (uint8_t variant : {uint8_t{0}, EpochData::kWrongHead}) {
      uint64_t committee_bits = 0;
      uint64_t nbits = 0;
      bits.clear();
      for (uint64_t c = 0; c < cps; ++c) {
        const uint64_t start = CommitteeStart(*d, o * cps + c);
        const uint64_t size = CommitteeStart(*d, o * cps + c + 1) - start;
        bits.resize((nbits + size) / 8 + 1, 0);
        bool any = false;
        for (uint64_t i = 0; i < size; ++i) {
          const uint64_t p = start + i;
          if ((d->first[p] == delta || d->dup[p] == delta) &&
              (d->flags[p] & EpochData::kWrongHead) == variant) {
            const uint64_t bit = nbits + i;
            bits[bit / 8] = static_cast<uint8_t>(bits[bit / 8] | (1u << (bit % 8)));
            any = true;
          }
        }
        if (any) {
          committee_bits |= uint64_t{1} << c;
          nbits += size;
        }
      }
      if (committee_bits == 0) continue;
      bits.resize(nbits / 8 + 1, 0);
      bits[nbits / 8] = static_cast<uint8_t>(bits[nbits / 8] | (1u << (nbits % 8)));  // marker
      if (!first_att) out += ',';
      first_att = false;
      out += "{\"aggregation_bits\":";
      AppendHex(&out, bits.data(), bits.size());
      out += ",\"data\":{\"slot\":";
      AppendQuotedU64(&out, s);
      out += ",\"index\":\"0\",\"beacon_block_root\":";
      if (variant == 0) {
        AppendRoot(&out, HeadRootAt(s));
      } else {
        AppendRandomHex(&out, options_.seed, internal::kTagOrphanRoot, s, 0, 32);
      }
      const Epoch source = e >= 1 ? e - 1 : 0;
      out += ",\"source\":{\"epoch\":";
      AppendQuotedU64(&out, source);
      out += ",\"root\":";
      AppendRoot(&out, CheckpointRoot(source));
      out += "},\"target\":{\"epoch\":";
      AppendQuotedU64(&out, e);
      out += ",\"root\":";
      AppendRoot(&out, CheckpointRoot(e));
      out += "}},\"signature\":";
      AppendRandomHex(&out, options_.seed, internal::kTagSignature, b, s * 2 + variant + 1, 96);
      out += ",\"committee_bits\":";
      uint8_t cb[8];
      internal::StoreLe64(committee_bits, cb);
      AppendHex(&out, cb, 8);
      out += '}';
    }
  }
  out += ']';
  return out;
}

std::shared_ptr<const std::string> ChainSimulator::RenderBlockMessage(const BlockRef& ref) const {
  const Slot b = ref.slot;
  const bool orphan = ref.orphan;
  return block_cache_->GetOrBuild(orphan ? (b | (uint64_t{1} << 63)) : b, [&] {
    auto out = std::make_shared<std::string>();
    std::string& o = *out;
    const uint64_t seed = options_.seed;
    // An orphan's random fields come from a different hash stream than a canonical block's.
    const uint64_t sig_tag = orphan ? internal::kTagOrphanMisc : internal::kTagSignature;
    const uint64_t exec_tag = orphan ? internal::kTagOrphanMisc : internal::kTagExecHash;
    const uint64_t exec_b = orphan ? (b << 4) : b;
    const ValidatorIndex proposer = Proposer(b);
    const Slot parent = b == 0 ? 0 : LatestBlockSlotAt(b - 1);
    o += "{\"slot\":";
    AppendQuotedU64(&o, b);
    o += ",\"proposer_index\":";
    AppendQuotedU64(&o, proposer);
    o += ",\"parent_root\":";
    AppendRoot(&o, b == 0 ? Root{} : BlockRoot(parent));
    o += ",\"state_root\":";
    AppendRoot(&o, RefStateRoot(ref));
    o += ",\"body\":{\"randao_reveal\":";
    AppendRandomHex(&o, seed, sig_tag, b, 1ULL << 40, 96);
    o += ",\"eth1_data\":{\"deposit_root\":";
    AppendRandomHex(&o, seed, internal::kTagMisc, 0, 2, 32);
    o += ",\"deposit_count\":";
    AppendQuotedU64(&o, total_);
    o += ",\"block_hash\":";
    AppendRandomHex(&o, seed, internal::kTagMisc, 0, 3, 32);
    o += "},\"graffiti\":";
    uint8_t graffiti[32] = {'s', 't', 'a', 'k', 'e', 'w', 'a', 't', 'c', 'h', '-', 's', 'i', 'm'};
    AppendHex(&o, graffiti, 32);
    o += ",";
    if (orphan) {
      o += "\"proposer_slashings\":[],\"attester_slashings\":[],\"attestations\":[]";
    } else {
      o += RenderSlashings(b);
      o += ",\"attestations\":";
      o += RenderAttestations(b);
    }
    o += ",\"deposits\":[],\"voluntary_exits\":[],\"sync_aggregate\":{\"sync_committee_bits\":";
    // Bit i: position i of the block's sync committee signed the previous slot. All zero in an
    // orphan.
    uint8_t sync[64] = {};
    if (b > 0 && !orphan) {
      const std::shared_ptr<const EpochBlocks> eb = GetEpochBlocks(b / spe_);
      const std::array<uint64_t, 8>& bits = eb->blocks[b % spe_].sync_bits;
      for (uint64_t i = 0; i < 64; ++i)
        sync[i] = static_cast<uint8_t>(bits[i / 8] >> (8 * (i % 8)));
    }
    AppendHex(&o, sync, 64);
    o += ",\"sync_committee_signature\":";
    AppendRandomHex(&o, seed, sig_tag, b, 1ULL << 41, 96);
    // BlockNumber counts canonical blocks; an orphan extends its canonical parent.
    const uint64_t block_number = orphan ? BlockNumber(parent) + 1 : BlockNumber(b);
    o += "},\"execution_payload\":{\"parent_hash\":";
    if (b == 0) {
      AppendRoot(&o, Root{});
    } else {
      AppendRandomHex(&o, seed, internal::kTagExecHash, parent, 0, 32);
    }
    o += ",\"fee_recipient\":";
    const Address fee = FeeRecipient(b);
    AppendHex(&o, fee.data(), fee.size());
    o += ",\"state_root\":";
    AppendRandomHex(&o, seed, exec_tag, exec_b, 1, 32);
    o += ",\"receipts_root\":";
    AppendRandomHex(&o, seed, exec_tag, exec_b, 2, 32);
    o += ",\"logs_bloom\":";
    const uint8_t bloom[256] = {};
    AppendHex(&o, bloom, 256);
    o += ",\"prev_randao\":";
    AppendRandomHex(&o, seed, exec_tag, exec_b, 3, 32);
    o += ",\"block_number\":";
    AppendQuotedU64(&o, block_number);
    const uint64_t gas_used = Hash(seed, exec_tag, exec_b, 4) % 30'000'000;
    o += ",\"gas_limit\":\"36000000\",\"gas_used\":";
    AppendQuotedU64(&o, gas_used);
    o += ",\"timestamp\":";
    AppendQuotedU64(&o, static_cast<uint64_t>(absl::ToUnixSeconds(SlotStart(b))));
    o += ",\"extra_data\":\"0x\",\"base_fee_per_gas\":";
    AppendQuotedU64(&o, 1'000'000 + Hash(seed, exec_tag, exec_b, 5) % 1'000'000);
    o += ",\"block_hash\":";
    AppendRandomHex(&o, seed, exec_tag, exec_b, 0, 32);
    o += ",\"transactions\":[],\"withdrawals\":[";
    bool first_w = true;
    for (const Withdrawal& w : orphan ? std::vector<Withdrawal>{} : Withdrawals(b)) {
      if (!first_w) o += ',';
      first_w = false;
      o += "{\"index\":";
      AppendQuotedU64(&o, w.index);
      o += ",\"validator_index\":";
      AppendQuotedU64(&o, w.validator_index);
      o += ",\"address\":";
      AppendRandomHex(&o, 0x5eed, internal::kTagFeeRecipient, w.validator_index, 1, 20);
      o += ",\"amount\":";
      AppendQuotedU64(&o, w.amount);
      o += '}';
    }
    o += "],\"blob_gas_used\":\"0\",\"excess_blob_gas\":\"0\"},"
         "\"bls_to_execution_changes\":[],\"blob_kzg_commitments\":[],"
         "\"execution_requests\":{\"deposits\":[],\"withdrawals\":[],\"consolidations\":[]}}}";
    return std::shared_ptr<const std::string>(std::move(out));
  });
}

ApiResponse ChainSimulator::GetBlock(std::string_view block_id, bool attestations_only) const {
  ApiResponse r;
  std::optional<BlockRef> b = ResolveBlockId(block_id, &r);
  if (!b) return r;
  r.electra_header = true;
  absl::StrAppend(&r.prefix, "{\"version\":\"electra\",\"execution_optimistic\":false,",
                  "\"finalized\":", Bool(!b->orphan && IsFinalized(b->slot)), ",\"data\":");
  if (attestations_only) {
    r.prefix += b->orphan ? "[]" : RenderAttestations(b->slot);
    r.prefix += '}';
    return r;
  }
  r.prefix += "{\"message\":";
  r.shared = RenderBlockMessage(*b);
  r.suffix = ",\"signature\":";
  AppendRandomHex(&r.suffix, options_.seed,
                  b->orphan ? internal::kTagOrphanMisc : internal::kTagSignature, b->slot,
                  b->orphan ? 3 : 0, 96);
  r.suffix += "}}";
  return r;
}

std::string ChainSimulator::RenderSlashings(Slot b) const {
  std::vector<SlashingOp> ops = SlashingsAt(b);
  const uint64_t seed = options_.seed;
  const Slot x = b - 1;  // the slot the conflicting messages are about (b >= 1)
  std::string ps = "\"proposer_slashings\":[";
  std::string attesters;
  bool first = true;
  for (const SlashingOp& op : ops) {
    if (op.kind == SlashingKind::kAttester) {
      if (!attesters.empty()) attesters += ',';
      AppendQuotedU64(&attesters, op.validator_index);
      continue;
    }
    if (!first) ps += ',';
    first = false;
    const ValidatorIndex v = op.validator_index;
    for (int i = 1; i <= 2; ++i) {
      ps += i == 1 ? "{\"signed_header_1\":{\"message\":{\"slot\":"
                   : ",\"signed_header_2\":{\"message\":{\"slot\":";
      AppendQuotedU64(&ps, x);
      ps += ",\"proposer_index\":";
      AppendQuotedU64(&ps, v);
      ps += ",\"parent_root\":";
      AppendRoot(&ps, x == 0 ? Root{} : HeadRootAt(x - 1));
      ps += ",\"state_root\":";
      AppendRandomHex(&ps, seed, internal::kTagSlashing, v, 1, 32);
      ps += ",\"body_root\":";  // the conflict: two bodies for one slot
      AppendRandomHex(&ps, seed, internal::kTagSlashing, v, 1 + static_cast<uint64_t>(i), 32);
      ps += "},\"signature\":";
      AppendRandomHex(&ps, seed, internal::kTagSlashing, v, 3 + static_cast<uint64_t>(i), 96);
      ps += '}';
    }
    ps += '}';
  }
  ps += "],\"attester_slashings\":[";
  if (!attesters.empty()) {
    // One attester slashing for all: a double vote (same target, different head roots).
    const Epoch e = x / spe_;
    const Epoch source = e >= 1 ? e - 1 : 0;
    for (int i = 1; i <= 2; ++i) {
      ps += i == 1 ? "{\"attestation_1\":{\"attesting_indices\":["
                   : ",\"attestation_2\":{\"attesting_indices\":[";
      ps += attesters;
      ps += "],\"data\":{\"slot\":";
      AppendQuotedU64(&ps, x);
      ps += ",\"index\":\"0\",\"beacon_block_root\":";
      if (i == 1) {
        AppendRoot(&ps, HeadRootAt(x));
      } else {
        AppendRandomHex(&ps, seed, internal::kTagSlashing, x, 1ULL << 32, 32);
      }
      ps += ",\"source\":{\"epoch\":";
      AppendQuotedU64(&ps, source);
      ps += ",\"root\":";
      AppendRoot(&ps, CheckpointRoot(source));
      ps += "},\"target\":{\"epoch\":";
      AppendQuotedU64(&ps, e);
      ps += ",\"root\":";
      AppendRoot(&ps, CheckpointRoot(e));
      ps += "}},\"signature\":";
      AppendRandomHex(&ps, seed, internal::kTagSlashing, x, (1ULL << 33) + static_cast<uint64_t>(i),
                      96);
      ps += '}';
    }
    ps += '}';
  }
  ps += ']';
  return ps;
}

ApiResponse ChainSimulator::GetBlockRewards(std::string_view block_id) const {
  ApiResponse r;
  std::optional<BlockRef> b = ResolveBlockId(block_id, &r);
  if (!b) return r;
  BlockReward w = b->orphan ? BlockReward{} : BlockRewardAt(b->slot);
  w.proposer_index = Proposer(b->slot);
  absl::StrAppend(&r.prefix, "{\"execution_optimistic\":false,\"finalized\":",
                  Bool(!b->orphan && IsFinalized(b->slot)), ",\"data\":{\"proposer_index\":\"",
                  w.proposer_index, "\",\"total\":\"", w.total(), "\",\"attestations\":\"",
                  w.attestations, "\",\"sync_aggregate\":\"", w.sync_aggregate,
                  "\",\"proposer_slashings\":\"", w.proposer_slashings,
                  "\",\"attester_slashings\":\"", w.attester_slashings, "\"}}");
  return r;
}

std::vector<SimEvent> ChainSimulator::EventsAt(Slot h) const {
  std::vector<SimEvent> out;
  const BlockRef now = ViewLatestAt(h, h);
  const bool block_at_h = now.slot == h;
  const uint64_t k = options_.reorg_slots;
  const bool reorg =
      k > 0 && options_.orphan_rate > 0.0 && h >= k + 1 && Outcome(h - k) == SlotOutcome::kOrphaned;
  auto root_hex = [](const Root& r) {
    std::string s;
    AppendRoot(&s, r);
    return s;
  };
  if (block_at_h) {
    std::string d = "{\"slot\":";
    AppendQuotedU64(&d, h);
    absl::StrAppend(&d, ",\"block\":", root_hex(RefRoot(now)), ",\"execution_optimistic\":false}");
    out.push_back(SimEvent{"block", std::move(d)});
  }
  if (reorg) {
    const Slot s = h - k;
    const Slot ancestor = LatestBlockSlotAt(s - 1);  // the orphan's parent
    const BlockRef old{s, true};
    std::string d = "{\"slot\":";
    AppendQuotedU64(&d, h);
    d += ",\"depth\":";
    AppendQuotedU64(&d, s - ancestor);
    absl::StrAppend(&d, ",\"old_head_block\":", root_hex(RefRoot(old)),
                    ",\"new_head_block\":", root_hex(RefRoot(now)),
                    ",\"old_head_state\":", root_hex(RefStateRoot(old)),
                    ",\"new_head_state\":", root_hex(RefStateRoot(now)), ",\"epoch\":");
    AppendQuotedU64(&d, h / spe_);
    d += ",\"execution_optimistic\":false}";
    out.push_back(SimEvent{"chain_reorg", std::move(d)});
  }
  if (block_at_h || reorg) {
    const Epoch e = now.slot / spe_;
    const Slot prev_head = h == 0 ? 0 : ViewLatestAt(h - 1, h - 1).slot;
    // Dependent roots lie before the head block's epoch, where the view is canonical.
    const Root genesis = BlockRoot(0);
    const Root current_dep = e >= 1 ? HeadRootAt(e * spe_ - 1) : genesis;
    const Root previous_dep = e >= 2 ? HeadRootAt((e - 1) * spe_ - 1) : genesis;
    std::string d = "{\"slot\":";
    AppendQuotedU64(&d, now.slot);
    absl::StrAppend(&d, ",\"block\":", root_hex(RefRoot(now)),
                    ",\"state\":", root_hex(RefStateRoot(now)),
                    ",\"epoch_transition\":", Bool(h > 0 && prev_head / spe_ != e),
                    ",\"previous_duty_dependent_root\":", root_hex(previous_dep),
                    ",\"current_duty_dependent_root\":", root_hex(current_dep),
                    ",\"execution_optimistic\":false}");
    out.push_back(SimEvent{"head", std::move(d)});
  }
  if (h % spe_ == 0 && h / spe_ >= 3) {
    const Epoch fin = h / spe_ - 2;
    const BlockRef cp = ViewLatestAt(fin * spe_, h);
    std::string d = "{\"block\":";
    absl::StrAppend(&d, root_hex(RefRoot(cp)), ",\"state\":", root_hex(StateRoot(fin * spe_)),
                    ",\"epoch\":");
    AppendQuotedU64(&d, fin);
    d += ",\"execution_optimistic\":false}";
    out.push_back(SimEvent{"finalized_checkpoint", std::move(d)});
  }
  return out;
}

std::shared_ptr<const std::string> ChainSimulator::RenderEpochCommittees(Epoch e) const {
  return committees_cache_->GetOrBuild(e, [&] {
    std::shared_ptr<const EpochData> d = GetEpoch(e);
    auto out = std::make_shared<std::string>();
    const uint64_t cps = d->cps;
    const uint64_t total = spe_ * cps;
    out->reserve(d->active * 10 + total * 48 + 2);
    *out += '[';
    for (uint64_t k = 0; k < total; ++k) {
      if (k > 0) *out += ',';
      *out += "{\"index\":";
      AppendQuotedU64(out.get(), k % cps);
      *out += ",\"slot\":";
      AppendQuotedU64(out.get(), e * spe_ + k / cps);
      *out += ",\"validators\":[";
      for (uint64_t p = CommitteeStart(*d, k); p < CommitteeStart(*d, k + 1); ++p) {
        if (p != CommitteeStart(*d, k)) *out += ',';
        AppendQuotedU64(out.get(), d->shuffled[p]);
      }
      *out += "]}";
    }
    *out += ']';
    return std::shared_ptr<const std::string>(std::move(out));
  });
}

ApiResponse ChainSimulator::GetCommittees(std::string_view state_id,
                                          const QueryParams& query) const {
  ApiResponse r;
  std::optional<Slot> state_slot = ResolveStateId(state_id, &r);
  if (!state_slot) return r;
  const Epoch state_epoch = *state_slot / spe_;
  Epoch epoch = state_epoch;
  if (auto p = Param(query, "epoch")) {
    std::optional<uint64_t> v = ParseDecimal(*p);
    if (!v) return Error(400, absl::StrCat("Invalid epoch: ", ToAbsl(*p)));
    if (*v > state_epoch + 1) {
      return Error(
          400, absl::StrCat("epoch ", *v, " is too far ahead of the state's epoch ", state_epoch));
    }
    epoch = *v;
  }
  std::optional<Slot> slot_filter;
  if (auto p = Param(query, "slot")) {
    slot_filter = ParseDecimal(*p);
    if (!slot_filter) return Error(400, absl::StrCat("Invalid slot: ", ToAbsl(*p)));
    if (*slot_filter / spe_ != epoch) {
      return Error(400, absl::StrCat("slot ", *slot_filter, " is not in epoch ", epoch));
    }
  }
  std::optional<uint64_t> index_filter;
  if (auto p = Param(query, "index")) {
    index_filter = ParseDecimal(*p);
    if (!index_filter) return Error(400, absl::StrCat("Invalid committee index: ", ToAbsl(*p)));
    if (*index_filter >= CommitteesPerSlot(epoch)) {
      return Error(400, absl::StrCat("committee index ", *index_filter, " out of range"));
    }
  }
  absl::StrAppend(&r.prefix,
                  "{\"execution_optimistic\":false,\"finalized\":", Bool(IsFinalized(*state_slot)),
                  ",\"data\":");
  r.suffix = "}";
  if (!slot_filter && !index_filter) {
    r.shared = RenderEpochCommittees(epoch);
    return r;
  }
  std::shared_ptr<const EpochData> d = GetEpoch(epoch);
  std::string& o = r.prefix;
  o += '[';
  bool first = true;
  for (uint64_t k = 0; k < spe_ * d->cps; ++k) {
    const Slot s = epoch * spe_ + k / d->cps;
    const uint64_t c = k % d->cps;
    if ((slot_filter && s != *slot_filter) || (index_filter && c != *index_filter)) continue;
    if (!first) o += ',';
    first = false;
    o += "{\"index\":";
    AppendQuotedU64(&o, c);
    o += ",\"slot\":";
    AppendQuotedU64(&o, s);
    o += ",\"validators\":[";
    for (uint64_t p = CommitteeStart(*d, k); p < CommitteeStart(*d, k + 1); ++p) {
      if (p != CommitteeStart(*d, k)) o += ',';
      AppendQuotedU64(&o, d->shuffled[p]);
    }
    o += "]}";
  }
  o += ']';
  return r;
}

ApiResponse ChainSimulator::GetProposerDuties(std::string_view epoch_str) const {
  std::optional<uint64_t> epoch = ParseDecimal(epoch_str);
  if (!epoch) return Error(400, absl::StrCat("Invalid epoch: ", ToAbsl(epoch_str)));
  const Slot head = HeadSlot();
  const Epoch current = head / spe_;
  if (*epoch > current + 1) {
    return Error(400, absl::StrCat("Proposer duties for epoch ", *epoch,
                                   " are not known yet (current epoch ", current, ")"));
  }
  const Epoch e = *epoch;
  ApiResponse r;
  std::string& o = r.prefix;
  o += "{\"dependent_root\":";
  AppendRoot(&o, e == 0 ? BlockRoot(0) : HeadRootAt(std::min(e * spe_ - 1, head)));
  o += ",\"execution_optimistic\":false,\"data\":[";
  for (Slot s = e * spe_; s < (e + 1) * spe_; ++s) {
    if (s != e * spe_) o += ',';
    const ValidatorIndex v = Proposer(s);
    const Pubkey pk = ValidatorPubkey(v);
    o += "{\"pubkey\":";
    AppendHex(&o, pk.data(), pk.size());
    o += ",\"validator_index\":";
    AppendQuotedU64(&o, v);
    o += ",\"slot\":";
    AppendQuotedU64(&o, s);
    o += '}';
  }
  o += "]}";
  return r;
}

}  // namespace stakewatch::sim
