#include "app/report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "accounting/accounting.h"
#include "accounting/sync_committee.h"
#include "app/epoch_processor.h"
#include "app/flags.h"
#include "common/clock.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "config/config.h"

namespace stakewatch::app {
namespace {

using beacon::Epoch;
using beacon::Slot;
using beacon::ValidatorIndex;

// One output record: a validator in an epoch.
struct Row {
  Epoch epoch = 0;
  ValidatorIndex index = 0;
  std::string group;
  std::optional<std::string> status;
  std::optional<beacon::Gwei> balance;
  std::optional<accounting::AttestationResult> attestation;
  std::optional<int64_t> reward;
  std::optional<int64_t> ideal_reward;
  std::vector<accounting::ProposalResult> proposals;
  std::optional<accounting::SyncCommitteeResult> sync;
};

// The node does not serve this endpoint (or not for this state): report nulls, not a failure.
// A state the node cannot serve (pruned, not reached) is not "not served": the range is out of
// the node's reach and the report must fail rather than print nulls.
bool NotServed(const absl::Status& s) {
  return (s.code() == absl::StatusCode::kNotFound && !beacon::IsStateUnavailable(s)) ||
         s.code() == absl::StatusCode::kUnimplemented;
}

absl::Status WithContext(const absl::Status& s, std::string_view context) {
  absl::Status out(s.code(), absl::StrCat(ToAbsl(context), ": ", s.message()));
  // Keep the payloads (e.g. the "state not available" mark).
  s.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

std::string_view OutcomeName(accounting::ProposalOutcome o) {
  return accounting::ProposalOutcomeName(o);
}

// Shortest decimal that reads back as the same double (machine-readable outputs lose nothing).
std::string Num(double d) {
  if (!std::isfinite(d)) return "null";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  if (ec != std::errc()) return "null";
  return std::string(buf, end);
}

// JSON string with the escapes JSON requires.
std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, absl::StrFormat("\\u%04x", static_cast<int>(c)));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

template <typename T>
std::string OrNull(const std::optional<T>& v) {
  return v.has_value() ? absl::StrCat(*v) : "null";
}

std::string Bool(bool b) { return b ? "true" : "false"; }

std::string JsonLine(const Row& r) {
  std::string o = absl::StrCat("{\"epoch\":", r.epoch, ",\"validator_index\":", r.index,
                               ",\"group\":", JsonString(r.group),
                               ",\"status\":", r.status ? JsonString(*r.status) : "null",
                               ",\"balance_gwei\":", OrNull(r.balance), ",\"attestation\":");
  if (!r.attestation) {
    o += "null";
  } else {
    const accounting::AttestationResult& a = *r.attestation;
    absl::StrAppend(
        &o, "{\"slot\":", a.duty_slot, ",\"committee_index\":", a.committee_index,
        ",\"included\":", Bool(a.included),
        ",\"inclusion_slot\":", a.included ? absl::StrCat(a.inclusion_slot) : "null",
        ",\"inclusion_delay\":", a.included ? absl::StrCat(a.inclusion_delay) : "null",
        ",\"optimal_delay\":", a.optimal_delay, ",\"head_correct\":", Bool(a.head_correct),
        ",\"target_correct\":", Bool(a.target_correct),
        ",\"source_correct\":", Bool(a.source_correct), ",\"timely_head\":", Bool(a.timely_head),
        ",\"timely_target\":", Bool(a.timely_target), ",\"timely_source\":", Bool(a.timely_source),
        ",\"effectiveness\":", Num(a.effectiveness), ",\"reward_gwei\":", OrNull(r.reward),
        ",\"ideal_reward_gwei\":", OrNull(r.ideal_reward), "}");
  }
  o += ",\"proposals\":[";
  for (size_t i = 0; i < r.proposals.size(); ++i) {
    absl::StrAppend(&o, i ? "," : "", "{\"slot\":", r.proposals[i].slot, ",\"outcome\":\"",
                    ToAbsl(OutcomeName(r.proposals[i].outcome)), "\"}");
  }
  o += "],\"sync_committee\":";
  if (!r.sync) {
    o += "null";
  } else {
    absl::StrAppend(&o, "{\"slots\":", r.sync->slots, ",\"participated\":", r.sync->participated,
                    ",\"missed\":", r.sync->missed, "}");
  }
  o += "}\n";
  return o;
}

constexpr char kCsvHeader[] =
    "epoch,validator_index,group,status,balance_gwei,attestation_slot,attestation_included,"
    "attestation_inclusion_slot,attestation_inclusion_delay,attestation_optimal_delay,"
    "attestation_head_correct,attestation_target_correct,attestation_source_correct,"
    "attestation_timely_head,attestation_timely_target,attestation_timely_source,"
    "attestation_effectiveness,attestation_reward_gwei,attestation_ideal_reward_gwei,proposals,"
    "sync_committee_slots,sync_committee_participated,sync_committee_missed\n";

// A CSV field, quoted when it needs to be (RFC 4180).
std::string CsvField(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

template <typename T>
std::string OrEmpty(const std::optional<T>& v) {
  return v.has_value() ? absl::StrCat(*v) : "";
}

// "slot:outcome" joined by ';'.
std::string ProposalsText(const Row& r) {
  std::vector<std::string> parts;
  for (const auto& p : r.proposals) {
    parts.push_back(absl::StrCat(p.slot, ":", ToAbsl(OutcomeName(p.outcome))));
  }
  return absl::StrJoin(parts, ";");
}

std::string CsvLine(const Row& r) {
  std::vector<std::string> f = {absl::StrCat(r.epoch), absl::StrCat(r.index), CsvField(r.group),
                                CsvField(r.status.value_or("")), OrEmpty(r.balance)};
  if (r.attestation) {
    const accounting::AttestationResult& a = *r.attestation;
    for (std::string s :
         {absl::StrCat(a.duty_slot), Bool(a.included),
          a.included ? absl::StrCat(a.inclusion_slot) : "",
          a.included ? absl::StrCat(a.inclusion_delay) : "", absl::StrCat(a.optimal_delay),
          Bool(a.head_correct), Bool(a.target_correct), Bool(a.source_correct), Bool(a.timely_head),
          Bool(a.timely_target), Bool(a.timely_source), Num(a.effectiveness), OrEmpty(r.reward),
          OrEmpty(r.ideal_reward)}) {
      f.push_back(std::move(s));
    }
  } else {
    f.insert(f.end(), 14, "");
  }
  f.push_back(ProposalsText(r));
  if (r.sync) {
    f.push_back(absl::StrCat(r.sync->slots));
    f.push_back(absl::StrCat(r.sync->participated));
    f.push_back(absl::StrCat(r.sync->missed));
  } else {
    f.insert(f.end(), 3, "");
  }
  return absl::StrCat(absl::StrJoin(f, ","), "\n");
}

// Table: aligned columns, then a summary line per epoch.
void WriteTable(const std::vector<Row>& rows, Epoch epoch, std::ostream& out) {
  std::vector<std::vector<std::string>> cells = {
      {"EPOCH", "VALIDATOR", "GROUP", "STATUS", "BALANCE", "ATT_SLOT", "INCLUDED", "DELAY", "HEAD",
       "TARGET", "REWARD", "IDEAL", "PROPOSALS", "SYNC"}};
  uint64_t duties = 0, included = 0, head_ok = 0, proposals = 0, proposed = 0;
  uint64_t sync_slots = 0, sync_ok = 0;
  int64_t reward = 0, ideal = 0;
  bool rewards_known = false;
  for (const Row& r : rows) {
    std::vector<std::string> c = {absl::StrCat(r.epoch), absl::StrCat(r.index), r.group,
                                  r.status.value_or("-"),
                                  r.balance ? absl::StrCat(*r.balance) : "-"};
    if (r.attestation) {
      const auto& a = *r.attestation;
      ++duties;
      included += a.included;
      head_ok += a.included && a.head_correct;
      c.push_back(absl::StrCat(a.duty_slot));
      c.push_back(a.included ? "yes" : "MISSED");
      c.push_back(a.included ? absl::StrCat(a.inclusion_delay) : "-");
      c.push_back(a.included ? (a.head_correct ? "ok" : "wrong") : "-");
      c.push_back(a.included ? (a.target_correct ? "ok" : "wrong") : "-");
      c.push_back(r.reward ? absl::StrCat(*r.reward) : "-");
      c.push_back(r.ideal_reward ? absl::StrCat(*r.ideal_reward) : "-");
      if (r.reward && r.ideal_reward) {
        rewards_known = true;
        reward += *r.reward;
        ideal += *r.ideal_reward;
      }
    } else {
      c.insert(c.end(), {"-", "no duty", "-", "-", "-", "-", "-"});
    }
    for (const auto& p : r.proposals) {
      ++proposals;
      proposed += p.outcome == accounting::ProposalOutcome::kProposed;
    }
    c.push_back(r.proposals.empty() ? "-" : ProposalsText(r));
    if (r.sync) {
      sync_slots += r.sync->slots;
      sync_ok += r.sync->participated;
      c.push_back(absl::StrCat(r.sync->participated, "/", r.sync->slots));
    } else {
      c.push_back("-");
    }
    cells.push_back(std::move(c));
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& c : cells) {
    for (size_t i = 0; i < c.size(); ++i) width[i] = std::max(width[i], c[i].size());
  }
  for (const auto& c : cells) {
    std::string line;
    for (size_t i = 0; i < c.size(); ++i) {
      line += c[i];
      if (i + 1 < c.size()) line.append(width[i] - c[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
  out << "epoch " << epoch << ": " << rows.size() << " validators, attestations " << included << "/"
      << duties << " included (" << head_ok << " correct head), proposals " << proposed << "/"
      << proposals << ", sync committee " << sync_ok << "/" << sync_slots;
  if (rewards_known) out << ", attestation rewards " << reward << "/" << ideal << " gwei";
  out << "\n\n";
}

// index -> ValidatorInfo at `state_id`; nullopt when the node does not serve the endpoint.
absl::StatusOr<std::optional<std::map<ValidatorIndex, beacon::ValidatorInfo>>> ValidatorsAt(
    beacon::BeaconClient* client, Slot slot, const std::vector<std::string>& ids) {
  absl::StatusOr<std::vector<beacon::ValidatorInfo>> v =
      client->GetValidators(absl::StrCat(slot), ids, {});
  if (!v.ok()) {
    if (NotServed(v.status())) return std::nullopt;
    return WithContext(v.status(), absl::StrCat("validators at slot ", slot));
  }
  std::map<ValidatorIndex, beacon::ValidatorInfo> out;
  for (beacon::ValidatorInfo& info : *v) out[info.index] = std::move(info);
  return out;
}

// Sync-committee results of `epoch` by validator; nullopt when the node serves no committee.
absl::StatusOr<std::optional<std::map<ValidatorIndex, accounting::SyncCommitteeResult>>>
SyncResults(beacon::BeaconClient* client, EpochProcessor* processor, const beacon::ChainSpec& spec,
            Epoch epoch, const accounting::MonitoredSet& monitored) {
  const uint64_t spe = spec.slots_per_epoch;
  const Slot start = epoch * spe;
  if (epoch < spec.altair_fork_epoch && spec.altair_fork_epoch != UINT64_MAX) {
    return std::nullopt;  // no sync committees before Altair
  }
  std::map<Slot, const beacon::Block*> blocks;
  for (Slot s = start + 1; s <= start + spe; ++s) {
    ASSIGN_OR_RETURN(blocks[s], processor->BlockAt(s));
  }
  // The vote for slot s belongs to the committee of epoch(s + 1)'s period: the last slot of a
  // period's final epoch is voted by the next period's committee.
  const uint64_t period_epochs = std::max<uint64_t>(1, spec.epochs_per_sync_committee_period);
  const bool boundary = (epoch + 1) % period_epochs == 0;
  std::map<ValidatorIndex, accounting::SyncCommitteeResult> out;
  struct Part {
    Epoch committee_epoch;
    Slot first, last;
  };
  std::vector<Part> parts;
  if (boundary && spe > 1) {
    parts = {{epoch, start, start + spe - 2}, {epoch + 1, start + spe - 1, start + spe - 1}};
  } else {
    parts = {{boundary ? epoch + 1 : epoch, start, start + spe - 1}};
  }
  for (const Part& part : parts) {
    absl::StatusOr<beacon::SyncCommittee> committee =
        client->GetSyncCommittee(absl::StrCat(start), part.committee_epoch);
    if (!committee.ok()) {
      // 404/405: not served; 400: e.g. a pre-Altair state.
      if (NotServed(committee.status()) ||
          committee.status().code() == absl::StatusCode::kInvalidArgument) {
        return std::nullopt;
      }
      return WithContext(committee.status(), absl::StrCat("sync committee of epoch ", epoch));
    }
    ASSIGN_OR_RETURN(std::vector<accounting::SyncCommitteeResult> results,
                     accounting::AccountSyncCommittee(committee->validators, blocks, part.first,
                                                      part.last, monitored));
    for (const auto& r : results) {
      accounting::SyncCommitteeResult& acc = out[r.validator];
      acc.validator = r.validator;
      acc.group = r.group;
      acc.positions = std::max(acc.positions, r.positions);
      acc.slots += r.slots;
      acc.participated += r.participated;
      acc.missed += r.missed;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<ReportFormat> ParseReportFormat(std::string_view text) {
  if (text == "table") return ReportFormat::kTable;
  if (text == "json") return ReportFormat::kJson;
  if (text == "csv") return ReportFormat::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("--format must be table, json or csv, got \"", ToAbsl(text), "\""));
}

absl::Status ParseEpochRange(std::string_view text, Epoch* from, Epoch* to) {
  const size_t colon = text.find(':');
  const std::string_view a = text.substr(0, colon);
  const std::string_view b = colon == std::string_view::npos ? a : text.substr(colon + 1);
  if (!beacon::ParseUint64(a, from) || !beacon::ParseUint64(b, to)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--epochs must be FROM or FROM:TO (decimal epochs), got \"", ToAbsl(text), "\""));
  }
  if (*to < *from) {
    return absl::InvalidArgumentError(
        absl::StrCat("--epochs: TO (", *to, ") is before FROM (", *from, ")"));
  }
  if (*to - *from >= kMaxReportEpochs) {
    return absl::InvalidArgumentError(
        absl::StrCat("--epochs: at most ", kMaxReportEpochs, " epochs per report"));
  }
  return absl::OkStatus();
}

absl::Status RunReport(beacon::BeaconClient* client, const ReportRequest& request,
                       std::ostream& out) {
  if (request.to_epoch < request.from_epoch) {
    return absl::InvalidArgumentError("the epoch range is empty");
  }
  ASSIGN_OR_RETURN(beacon::ChainSpec spec, client->GetSpec());
  const uint64_t spe = spec.slots_per_epoch;
  ASSIGN_OR_RETURN(beacon::SyncStatus sync, client->GetSyncing());
  for (Epoch e = request.from_epoch; e <= request.to_epoch; ++e) {
    if (sync.head_slot < (e + 2) * spe) {
      return absl::FailedPreconditionError(
          absl::StrCat("epoch ", e, " is not complete yet (head slot ", sync.head_slot, ")"));
    }
  }

  // Validators and their groups; the first group that names a validator wins.
  std::map<ValidatorIndex, std::string> group_of;
  std::vector<std::pair<std::string, std::string>> pubkeys;  // (pubkey, group)
  for (const ReportGroup& g : request.groups) {
    for (uint64_t i : g.indices) group_of.emplace(i, g.name);
    for (const std::string& p : g.pubkeys) pubkeys.emplace_back(p, g.name);
  }
  if (!pubkeys.empty()) {
    std::vector<std::string> ids;
    for (const auto& [p, g] : pubkeys) ids.push_back(p);
    absl::StatusOr<std::vector<beacon::ValidatorInfo>> found =
        client->GetValidators("head", ids, {});
    if (!found.ok()) return WithContext(found.status(), "resolving validator pubkeys");
    for (const auto& [p, g] : pubkeys) {
      bool resolved = false;
      for (const beacon::ValidatorInfo& info : *found) {
        if (beacon::ToHex(info.pubkey) == p) {
          group_of.emplace(info.index, g);
          resolved = true;
        }
      }
      if (!resolved) {
        return absl::NotFoundError(absl::StrCat("validator pubkey ", p, " is not on chain"));
      }
    }
  }
  if (group_of.empty()) return absl::InvalidArgumentError("no validators to report on");

  std::vector<std::string> group_names;
  accounting::MonitoredSet monitored;
  std::vector<std::string> ids;
  std::vector<ValidatorIndex> indices;
  for (const auto& [index, name] : group_of) {
    auto it = std::find(group_names.begin(), group_names.end(), name);
    if (it == group_names.end()) it = group_names.insert(group_names.end(), name);
    monitored.Add(index, static_cast<int32_t>(it - group_names.begin()));
    ids.push_back(absl::StrCat(index));
    indices.push_back(index);
  }

  if (request.format == ReportFormat::kCsv) out << kCsvHeader;
  EpochProcessor processor(client, spe);
  for (Epoch epoch = request.from_epoch; epoch <= request.to_epoch; ++epoch) {
    const Slot start = epoch * spe;
    absl::StatusOr<accounting::EpochResult> result = processor.Process(epoch, monitored);
    if (!result.ok()) return WithContext(result.status(), absl::StrCat("epoch ", epoch));

    ASSIGN_OR_RETURN(auto at_end, ValidatorsAt(client, start + spe - 1, ids));
    absl::StatusOr<beacon::AttestationRewards> rewards =
        client->GetAttestationRewards(epoch, indices);
    if (!rewards.ok() && beacon::IsStateUnavailable(rewards.status())) {
      return WithContext(rewards.status(), absl::StrCat("epoch ", epoch, " rewards"));
    }
    std::optional<std::map<ValidatorIndex, beacon::ValidatorInfo>> at_start;
    if (rewards.ok()) {
      ASSIGN_OR_RETURN(at_start, ValidatorsAt(client, start, ids));
    }
    ASSIGN_OR_RETURN(auto sync_results, SyncResults(client, &processor, spec, epoch, monitored));

    std::map<ValidatorIndex, Row> rows;
    for (ValidatorIndex v : indices) {
      Row& r = rows[v];
      r.epoch = epoch;
      r.index = v;
      r.group = group_names[monitored.GroupOf(v)];
      if (at_end) {
        if (auto it = at_end->find(v); it != at_end->end()) {
          r.status = it->second.status;
          r.balance = it->second.balance;
        }
      }
      if (sync_results) {
        if (auto it = sync_results->find(v); it != sync_results->end()) r.sync = it->second;
      }
    }
    // Reward rows indexed once (a linear search per validator would be quadratic).
    absl::flat_hash_map<ValidatorIndex, const beacon::TotalAttestationReward*> total_of;
    absl::flat_hash_map<beacon::Gwei, const beacon::IdealAttestationReward*> ideal_of;
    if (rewards.ok()) {
      for (const auto& t : rewards->total_rewards) total_of.emplace(t.validator_index, &t);
      for (const auto& i : rewards->ideal_rewards) ideal_of.emplace(i.effective_balance, &i);
    }
    for (const accounting::AttestationResult& a : result->attestations) {
      Row& r = rows[a.validator];
      // A slashed validator has no duty stakewatch counts (see DropSlashedDuties).
      if (at_end) {
        if (auto it = at_end->find(a.validator); it != at_end->end() && it->second.slashed) {
          continue;
        }
      }
      r.attestation = a;
      if (!rewards.ok() || !at_start) continue;
      auto info = at_start->find(a.validator);
      if (info == at_start->end()) continue;
      auto total = total_of.find(a.validator);
      auto ideal = ideal_of.find(info->second.effective_balance);
      if (total == total_of.end() || ideal == ideal_of.end()) continue;
      const accounting::AttestationRewardResult rr =
          accounting::AttestationRewardFromRows(*total->second, *ideal->second);
      r.reward = rr.reward;
      r.ideal_reward = rr.ideal_reward;
    }
    for (const accounting::ProposalResult& p : result->proposals) {
      rows[p.validator].proposals.push_back(p);
    }

    std::vector<Row> ordered;
    ordered.reserve(rows.size());
    for (auto& [v, r] : rows) ordered.push_back(std::move(r));
    switch (request.format) {
      case ReportFormat::kJson:
        for (const Row& r : ordered) out << JsonLine(r);
        break;
      case ReportFormat::kCsv:
        for (const Row& r : ordered) out << CsvLine(r);
        break;
      case ReportFormat::kTable:
        WriteTable(ordered, epoch, out);
        break;
    }
    out.flush();
  }
  return absl::OkStatus();
}

int ReportCommand(const std::vector<std::string>& args) {
  FlagSet flags("stakewatch report");
  std::vector<std::string> nodes;
  std::string validators;
  std::string config_file;
  std::string epochs;
  std::string format = "table";
  flags.StringList("beacon-node", &nodes,
                   "Beacon node URL (repeatable; tried in order). Default: the config file's.");
  flags.String("validators", &validators,
               "Validators: comma-separated indices, ranges A-B and 0x pubkeys (group "
               "\"default\").");
  flags.String("config.file", &config_file, "Configuration file whose validator groups to use.");
  flags.String("epochs", &epochs, "Epoch range FROM[:TO] (inclusive).");
  flags.String("format", &format, "Output format: table, json (JSON Lines) or csv.");
  auto usage_error = [&](const absl::Status& s) {
    std::cerr << "stakewatch report: " << s.message() << "\n\n" << flags.Usage();
    return 2;
  };
  if (absl::Status s = flags.Parse(args); !s.ok()) return usage_error(s);
  if (flags.help_requested()) {
    std::cout << flags.Usage();
    return 0;
  }
  ReportRequest request;
  absl::StatusOr<ReportFormat> f = ParseReportFormat(format);
  if (!f.ok()) return usage_error(f.status());
  request.format = *f;
  if (epochs.empty()) return usage_error(absl::InvalidArgumentError("--epochs is required"));
  if (absl::Status s = ParseEpochRange(epochs, &request.from_epoch, &request.to_epoch); !s.ok()) {
    return usage_error(s);
  }
  if (!config_file.empty()) {
    absl::StatusOr<config::Config> cfg = config::LoadConfigFile(config_file);
    if (!cfg.ok()) return usage_error(cfg.status());
    for (const config::ValidatorGroup& g : cfg->validators.groups) {
      request.groups.push_back(ReportGroup{g.name, g.indices, g.pubkeys});
    }
    if (nodes.empty()) nodes = cfg->beacon.nodes;
  }
  if (!validators.empty()) {
    absl::StatusOr<config::ValidatorSpec> spec = config::ParseValidatorSpec(validators);
    if (!spec.ok()) return usage_error(WithContext(spec.status(), "--validators"));
    request.groups.push_back(ReportGroup{"default", spec->indices, spec->pubkeys});
  }
  if (request.groups.empty()) {
    return usage_error(absl::InvalidArgumentError("give --validators or --config.file"));
  }
  if (nodes.empty()) return usage_error(absl::InvalidArgumentError("--beacon-node is required"));

  std::vector<beacon::NodeSpec> specs;
  for (const std::string& url : nodes) specs.push_back(beacon::NodeSpec{"", url});
  beacon::FailoverOptions options;
  options.read_timeout = absl::Seconds(60);  // a one-shot report can wait for big states
  SystemClock clock;
  absl::StatusOr<std::unique_ptr<beacon::FailoverBeaconClient>> client =
      beacon::FailoverBeaconClient::FromUrls(specs, options, &clock);
  if (!client.ok()) return usage_error(client.status());
  if (absl::Status s = RunReport(client->get(), request, std::cout); !s.ok()) {
    std::cout.flush();
    std::cerr << "stakewatch report: " << s.message() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace stakewatch::app
