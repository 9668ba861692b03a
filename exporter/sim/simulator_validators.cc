// ChainSimulator: validator-level endpoints (validators, validator_balances, attestation rewards,
// liveness, sync committees) and POST routing. Shapes follow real Electra responses
// (fixtures/eth-validator-watcher/cassette_test_sepolia_extracted).
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "sim/internal.h"
#include "sim/simulator.h"
#include "simdjson.h"

namespace stakewatch::sim {

using internal::AppendHex;
using internal::AppendQuotedU64;

namespace {

// Rewards per EFFECTIVE_BALANCE_INCREMENT (must match VoteReward in simulator.cc).
constexpr int64_t kHead = 1848;
constexpr int64_t kTarget = 3435;
constexpr int64_t kSource = 1849;
constexpr size_t kMaxIds = 2'000'000;

std::string Safe(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) {
    out.push_back((c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?');
  }
  return out;
}

// Reads a JSON array of strings (or non-negative integers) into *out.
bool ReadIdArray(simdjson::dom::element e, std::vector<std::string>* out) {
  simdjson::dom::array arr;
  if (e.get_array().get(arr) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element x : arr) {
    std::string_view s;
    uint64_t u = 0;
    if (x.get_string().get(s) == simdjson::SUCCESS) {
      out->emplace_back(s);
    } else if (x.get_uint64().get(u) == simdjson::SUCCESS) {
      out->push_back(absl::StrCat(u));
    } else {
      return false;
    }
    if (out->size() > kMaxIds) return false;
  }
  return true;
}

// The top-level status group of a spec status ("active_ongoing" -> "active").
std::string_view StatusGroup(std::string_view status) { return status.substr(0, status.find('_')); }

}  // namespace

std::optional<ValidatorIndex> ChainSimulator::PubkeyIndex(std::string_view hex) const {
  Pubkey want{};
  if (!internal::Unhex(hex, want.data(), want.size())) return std::nullopt;
  absl::MutexLock lock(&pubkey_mu_);
  if (pubkey_index_.empty()) {
    pubkey_index_.reserve(total_);
    for (ValidatorIndex v = 0; v < total_; ++v) {
      pubkey_index_.emplace_back(internal::LoadLe64(ValidatorPubkey(v).data()),
                                 static_cast<uint32_t>(v));
    }
    std::sort(pubkey_index_.begin(), pubkey_index_.end());
  }
  const uint64_t key = internal::LoadLe64(want.data());
  for (auto it = std::lower_bound(pubkey_index_.begin(), pubkey_index_.end(),
                                  std::pair<uint64_t, uint32_t>{key, 0});
       it != pubkey_index_.end() && it->first == key; ++it) {
    if (ValidatorPubkey(it->second) == want) return it->second;
  }
  return std::nullopt;
}

bool ChainSimulator::ResolveValidatorIds(const std::vector<std::string>& ids,
                                         std::vector<ValidatorIndex>* out,
                                         ApiResponse* error) const {
  for (const std::string& id : ids) {
    if (id.size() > 2 && id[0] == '0' && id[1] == 'x') {
      Pubkey pk{};
      if (!internal::Unhex(id, pk.data(), pk.size())) {
        *error = Error(400, absl::StrCat("Invalid validator ID: ", Safe(id)));
        return false;
      }
      if (std::optional<ValidatorIndex> v = PubkeyIndex(id)) out->push_back(*v);
      continue;
    }
    std::optional<uint64_t> v = internal::ParseDecimal(id);
    if (!v) {
      *error = Error(400, absl::StrCat("Invalid validator ID: ", Safe(id)));
      return false;
    }
    if (*v < total_) out->push_back(*v);  // unknown indices are skipped, as real nodes do
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return true;
}

ApiResponse ChainSimulator::GetValidators(std::string_view state_id,
                                          const std::vector<std::string>& ids,
                                          const std::vector<std::string>& statuses,
                                          bool balances_only) const {
  ApiResponse r;
  std::optional<Slot> slot = ResolveStateId(state_id, &r);
  if (!slot) return r;
  static constexpr std::string_view kStatuses[] = {
      "pending_initialized", "pending_queued",   "active_ongoing", "active_exiting",
      "active_slashed",      "exited_unslashed", "exited_slashed", "withdrawal_possible",
      "withdrawal_done",     "active",           "pending",        "exited",
      "withdrawal"};
  for (const std::string& st : statuses) {
    if (std::find(std::begin(kStatuses), std::end(kStatuses), st) == std::end(kStatuses)) {
      return Error(400, absl::StrCat("Invalid validator status: ", Safe(st)));
    }
  }
  std::vector<ValidatorIndex> indices;
  if (!ResolveValidatorIds(ids, &indices, &r)) return r;
  const bool all = ids.empty();
  const Epoch e = *slot / spe_;
  std::shared_ptr<const std::vector<uint64_t>> start = StartBalances(e);
  std::shared_ptr<const EpochBlocks> eb = GetEpochBlocks(e);
  std::string& o = r.prefix;
  o.reserve((all ? total_ : indices.size()) * (balances_only ? 40 : 460) + 64);
  absl::StrAppend(&o, "{\"execution_optimistic\":false,\"finalized\":",
                  IsFinalized(*slot) ? "true" : "false", ",\"data\":[");
  bool first = true;
  const uint64_t count = all ? total_ : indices.size();
  for (uint64_t i = 0; i < count; ++i) {
    const ValidatorIndex v = all ? i : indices[i];
    const uint64_t balance = BalanceFrom(v, *slot, *start, *eb);
    const std::string_view status = Status(v, e, balance);
    if (!statuses.empty() &&
        std::none_of(statuses.begin(), statuses.end(), [&](const std::string& st) {
          return st == status || st == StatusGroup(status);
        })) {
      continue;
    }
    if (!first) o += ',';
    first = false;
    o += "{\"index\":";
    AppendQuotedU64(&o, v);
    o += ",\"balance\":";
    AppendQuotedU64(&o, balance);
    if (balances_only) {
      o += '}';
      continue;
    }
    const ValidatorLifecycle l = Lifecycle(v);
    const bool exit_visible = e >= l.exit_initiated_epoch;
    absl::StrAppend(&o, ",\"status\":\"", ToAbsl(status), "\",\"validator\":{\"pubkey\":");
    const Pubkey pk = ValidatorPubkey(v);
    AppendHex(&o, pk.data(), pk.size());
    // 0x01 credentials: the withdrawal address of the execution payload's withdrawals.
    uint8_t cred[32] = {0x01};
    internal::FillBytes(0x5eed, internal::kTagFeeRecipient, v, 1, cred + 12, 20);
    o += ",\"withdrawal_credentials\":";
    AppendHex(&o, cred, 32);
    o += ",\"effective_balance\":";
    // Effective balance as of the start of the epoch (epoch processing updates it).
    AppendQuotedU64(&o, (*start)[v] > 0 ? kMaxEffectiveBalance : 0);
    absl::StrAppend(&o, ",\"slashed\":", l.slashed && exit_visible ? "true" : "false",
                    ",\"activation_eligibility_epoch\":");
    AppendQuotedU64(&o, l.pending ? kFarFutureEpoch : 0);
    o += ",\"activation_epoch\":";
    AppendQuotedU64(&o, l.activation_epoch);
    o += ",\"exit_epoch\":";
    AppendQuotedU64(&o, exit_visible ? l.exit_epoch : kFarFutureEpoch);
    o += ",\"withdrawable_epoch\":";
    AppendQuotedU64(&o, exit_visible ? l.withdrawable_epoch : kFarFutureEpoch);
    o += "}}";
  }
  o += "]}";
  return r;
}

ApiResponse ChainSimulator::GetAttestationRewards(std::string_view epoch_str,
                                                  const std::vector<std::string>& ids) const {
  std::optional<uint64_t> epoch = internal::ParseDecimal(epoch_str);
  if (!epoch) return Error(400, absl::StrCat("Invalid epoch: ", Safe(epoch_str)));
  const Slot head = HeadSlot();
  if (*epoch > UINT64_MAX / spe_ - 2 || head < (*epoch + 2) * spe_) {
    return Error(400, absl::StrCat("Attestation rewards for epoch ", *epoch,
                                   " are not available before slot ", (*epoch + 2) * spe_));
  }
  ApiResponse r;
  std::vector<ValidatorIndex> indices;
  if (!ResolveValidatorIds(ids, &indices, &r)) return r;
  std::shared_ptr<const EpochData> d = GetEpoch(*epoch);
  if (ids.empty()) {
    indices.reserve(d->active);
    for (uint64_t p = 0; p < d->active; ++p) indices.push_back(d->shuffled[p]);
    std::sort(indices.begin(), indices.end());
  }
  std::string& o = r.prefix;
  o.reserve(2048 * 110 + indices.size() * 100 + 64);
  o += "{\"execution_optimistic\":false,\"finalized\":";
  o += IsFinalized((*epoch + 1) * spe_) ? "true" : "false";
  o += ",\"data\":{\"ideal_rewards\":[";
  for (int64_t inc = 1; inc <= 2048; ++inc) {
    if (inc > 1) o += ',';
    o += "{\"effective_balance\":";
    AppendQuotedU64(&o, static_cast<uint64_t>(inc) * 1'000'000'000);
    absl::StrAppend(&o, ",\"head\":\"", inc * kHead, "\",\"target\":\"", inc * kTarget,
                    "\",\"source\":\"", inc * kSource, "\",\"inactivity\":\"0\"}");
  }
  o += "],\"total_rewards\":[";
  bool first = true;
  for (ValidatorIndex v : indices) {
    const uint64_t p = d->position[v];
    if (p == EpochData::kNoPosition) continue;  // not active in the epoch: no duty
    const AttestationReward rw = VoteReward(*d, p, *epoch, nullptr);
    if (!first) o += ',';
    first = false;
    o += "{\"validator_index\":";
    AppendQuotedU64(&o, v);
    absl::StrAppend(&o, ",\"head\":\"", rw.head, "\",\"target\":\"", rw.target, "\",\"source\":\"",
                    rw.source, "\",\"inactivity\":\"", rw.inactivity, "\"}");
  }
  o += "]}}";
  return r;
}

ApiResponse ChainSimulator::GetLiveness(std::string_view epoch_str,
                                        const std::vector<std::string>& ids) const {
  std::optional<uint64_t> epoch = internal::ParseDecimal(epoch_str);
  if (!epoch) return Error(400, absl::StrCat("Invalid epoch: ", Safe(epoch_str)));
  const Slot head = HeadSlot();
  const Epoch current = head / spe_;
  if (*epoch > current || *epoch + 1 < current) {
    return Error(400, absl::StrCat("Liveness is only known for the current and previous epoch (",
                                   current, "); requested ", *epoch));
  }
  ApiResponse r;
  std::vector<ValidatorIndex> indices;
  if (!ResolveValidatorIds(ids, &indices, &r)) return r;
  const Epoch e = *epoch;
  std::shared_ptr<const EpochData> d = GetEpoch(e);
  std::set<ValidatorIndex> proposers;
  for (Slot s = e * spe_; s < (e + 1) * spe_ && s <= head; ++s) {
    if (HasBlock(s)) proposers.insert(Proposer(s));
  }
  std::string& o = r.prefix;
  o += "{\"data\":[";
  bool first = true;
  for (ValidatorIndex v : indices) {
    bool live = proposers.count(v) > 0;
    const uint64_t p = d->position[v];
    if (!live && p != EpochData::kNoPosition && (d->flags[p] & EpochData::kAttested) != 0) {
      // The vote is seen once its duty slot has passed.
      uint64_t k = std::min(spe_ * d->cps - 1, p * spe_ * d->cps / d->active);
      while (k + 1 < spe_ * d->cps && CommitteeStart(*d, k + 1) <= p) ++k;
      while (CommitteeStart(*d, k) > p) --k;
      live = e * spe_ + k / d->cps < head;
    }
    if (!first) o += ',';
    first = false;
    o += "{\"index\":";
    AppendQuotedU64(&o, v);
    absl::StrAppend(&o, ",\"is_live\":", live ? "true" : "false", "}");
  }
  o += "]}";
  return r;
}

ApiResponse ChainSimulator::GetSyncCommittees(std::string_view state_id,
                                              const QueryParams& query) const {
  ApiResponse r;
  std::optional<Slot> slot = ResolveStateId(state_id, &r);
  if (!slot) return r;
  const Epoch state_epoch = *slot / spe_;
  Epoch epoch = state_epoch;
  if (auto it = query.find("epoch"); it != query.end()) {
    std::optional<uint64_t> v = internal::ParseDecimal(it->second);
    if (!v) return Error(400, absl::StrCat("Invalid epoch: ", Safe(it->second)));
    if (*v / 256 > state_epoch / 256 + 1 || *v / 256 + 1 < state_epoch / 256) {
      return Error(400, absl::StrCat("Epoch ", *v, " is outside the sync committee periods of",
                                     " the state's epoch ", state_epoch));
    }
    epoch = *v;
  }
  const std::vector<ValidatorIndex> members = SyncCommittee(epoch / 256);
  std::string& o = r.prefix;
  absl::StrAppend(&o, "{\"execution_optimistic\":false,\"finalized\":",
                  IsFinalized(*slot) ? "true" : "false", ",\"data\":{\"validators\":[");
  for (size_t i = 0; i < members.size(); ++i) {
    if (i > 0) o += ',';
    AppendQuotedU64(&o, members[i]);
  }
  o += "],\"validator_aggregates\":[";
  for (size_t g = 0; g < 4; ++g) {
    if (g > 0) o += ',';
    o += '[';
    for (size_t i = g * 128; i < (g + 1) * 128; ++i) {
      if (i > g * 128) o += ',';
      AppendQuotedU64(&o, members[i]);
    }
    o += ']';
  }
  o += "]}}";
  return r;
}

ApiResponse ChainSimulator::GetSyncCommitteeRewards(std::string_view block_id,
                                                    const std::vector<std::string>& ids) const {
  ApiResponse r;
  std::optional<BlockRef> b = ResolveBlockId(block_id, &r);
  if (!b) return r;
  std::vector<ValidatorIndex> wanted;
  if (!ResolveValidatorIds(ids, &wanted, &r)) return r;
  // validator -> summed reward over its positions (an orphan's aggregate is all zero).
  std::map<ValidatorIndex, int64_t> rows;
  if (b->slot > 0) {
    std::shared_ptr<const EpochBlocks> eb = GetEpochBlocks(b->slot / spe_);
    const EpochBlocks::Block& blk = eb->blocks[b->slot % spe_];
    for (uint64_t pos = 0; pos < 512; ++pos) {
      const bool bit = !b->orphan && ((blk.sync_bits[pos / 64] >> (pos % 64)) & 1);
      rows[eb->committee[pos]] += bit ? kSyncParticipantReward : -kSyncParticipantReward;
    }
  }
  std::string& o = r.prefix;
  absl::StrAppend(&o, "{\"execution_optimistic\":false,\"finalized\":",
                  !b->orphan && IsFinalized(b->slot) ? "true" : "false", ",\"data\":[");
  bool first = true;
  for (const auto& [v, reward] : rows) {
    if (!ids.empty() && !std::binary_search(wanted.begin(), wanted.end(), v)) continue;
    absl::StrAppend(&o, first ? "" : ",", "{\"validator_index\":\"", v, "\",\"reward\":\"", reward,
                    "\"}");
    first = false;
  }
  o += "]}";
  return r;
}

ApiResponse ChainSimulator::RoutePost(std::string_view path, const QueryParams& query,
                                      std::string_view body) const {
  std::vector<std::string_view> parts;
  for (absl::string_view p : absl::StrSplit(ToAbsl(path), '/', absl::SkipEmpty())) {
    parts.push_back(ToStd(p));
  }
  enum class Kind { kNone, kValidators, kBalances, kRewards, kSyncRewards, kLiveness };
  Kind kind = Kind::kNone;
  if (parts.size() == 6 && parts[0] == "eth" && parts[1] == "v1" && parts[2] == "beacon" &&
      parts[3] == "states" && (parts[5] == "validators" || parts[5] == "validator_balances")) {
    kind = parts[5] == "validators" ? Kind::kValidators : Kind::kBalances;
  } else if (parts.size() == 6 && parts[0] == "eth" && parts[1] == "v1" && parts[2] == "beacon" &&
             parts[3] == "rewards" && parts[4] == "attestations") {
    kind = Kind::kRewards;
  } else if (parts.size() == 6 && parts[0] == "eth" && parts[1] == "v1" && parts[2] == "beacon" &&
             parts[3] == "rewards" && parts[4] == "sync_committee") {
    kind = Kind::kSyncRewards;
  } else if (parts.size() == 5 && parts[0] == "eth" && parts[1] == "v1" &&
             parts[2] == "validator" && parts[3] == "liveness") {
    kind = Kind::kLiveness;
  }
  if (kind == Kind::kNone) return Get(path, query);

  std::vector<std::string> ids, statuses;
  std::string_view trimmed = body;
  while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\n' ||
                              trimmed.front() == '\r' || trimmed.front() == '\t')) {
    trimmed.remove_prefix(1);
  }
  if (!trimmed.empty()) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(trimmed);
    simdjson::dom::element doc;
    if (parser.parse(padded).get(doc) != simdjson::SUCCESS) {
      return Error(400, "Invalid JSON body");
    }
    simdjson::dom::object obj;
    if (kind == Kind::kValidators && doc.get_object().get(obj) == simdjson::SUCCESS) {
      simdjson::dom::element x;
      if (obj["ids"].get(x) == simdjson::SUCCESS && !x.is_null() && !ReadIdArray(x, &ids)) {
        return Error(400, "Invalid body: ids must be an array of strings");
      }
      if (obj["statuses"].get(x) == simdjson::SUCCESS && !x.is_null() &&
          !ReadIdArray(x, &statuses)) {
        return Error(400, "Invalid body: statuses must be an array of strings");
      }
    } else if (!ReadIdArray(doc, &ids)) {
      return Error(400, "Invalid body: expected an array of validator ids");
    }
  } else if (kind == Kind::kLiveness) {
    return Error(400, "Invalid body: expected an array of validator indices");
  }
  switch (kind) {
    case Kind::kValidators:
      return GetValidators(parts[4], ids, statuses, false);
    case Kind::kBalances:
      return GetValidators(parts[4], ids, {}, true);
    case Kind::kRewards:
      return GetAttestationRewards(parts[5], ids);
    case Kind::kSyncRewards:
      return GetSyncCommitteeRewards(parts[5], ids);
    case Kind::kLiveness:
      return GetLiveness(parts[4], ids);
    case Kind::kNone:
      break;
  }
  return Error(404, "NOT_FOUND");
}

}  // namespace stakewatch::sim
