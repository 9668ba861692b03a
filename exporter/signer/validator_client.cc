#include "signer/validator_client.h"

#include <array>
#include <cstddef>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace stakewatch::signer {
namespace {

enum Field { kEnabled, kTotal, kBnAvailable, kBnSynced, kSigningErrors, kSlashable, kNumFields };

// A field may have a fallback set of names (priority 1) used only when none of its preferred
// names (priority 0) appear, so that two generations of the same counter are never added.
constexpr int kNumPriorities = 2;

// One metric that feeds one field: samples named `name` (and, when `label` is set, whose label
// has one of `values`) are summed into `field`.
struct Term {
  Field field;
  int priority;
  std::string_view name;
  std::string_view label;
  std::vector<std::string_view> values;
};

struct ClientTable {
  ClientKind kind;
  std::vector<Term> terms;
  // Names only this client exposes, for DetectClientKind.
  std::vector<std::string_view> markers;
  // name -> terms using it.
  absl::flat_hash_map<std::string_view, std::vector<const Term*>> by_name;
};

// The names below were read in each client's source; docs/sources.md cites the files.
std::vector<ClientTable> BuildTables() {
  std::vector<ClientTable> t;
  // Lighthouse: validator_client/validator_metrics/src/lib.rs (names) and
  // validator_client/lighthouse_validator_store/src/lib.rs (status="slashable" increments).
  // No counter of failed signatures exists (statuses: success, slashable, same_data,
  // unregistered).
  t.push_back({ClientKind::kLighthouse,
               {
                   {kEnabled, 0, "vc_validators_enabled_count", {}, {}},
                   {kTotal, 0, "vc_validators_total_count", {}, {}},
                   {kBnAvailable, 0, "vc_beacon_nodes_available_count", {}, {}},
                   {kBnSynced, 0, "vc_beacon_nodes_synced_count", {}, {}},
                   {kSlashable, 0, "vc_signed_beacon_blocks_total", "status", {"slashable"}},
                   {kSlashable, 0, "vc_signed_attestations_total", "status", {"slashable"}},
               },
               {"vc_validators_enabled_count", "vc_validators_total_count",
                "vc_beacon_nodes_available_count", "vc_beacon_nodes_synced_count",
                "vc_signed_beacon_blocks_total", "vc_signed_attestations_total"},
               {}});
  // Teku (category "validator" prefixes every name): ValidatorClientService.java
  // (validator_local_validator_count), OwnedValidatorStatusProvider.java
  // (validator_local_validator_counts{status}), ExternalSigner.java
  // (validator_external_signer_requests_total{result=success|failed|timeout}).
  // No beacon-node availability gauge and no slashing-protection counter.
  t.push_back({ClientKind::kTeku,
               {
                   {kEnabled, 0, "validator_local_validator_count", {}, {}},
                   {kSigningErrors,
                    0,
                    "validator_external_signer_requests_total",
                    "result",
                    {"failed", "timeout"}},
               },
               {"validator_local_validator_count", "validator_local_validator_counts",
                "validator_external_signer_requests_total"},
               {}});
  // Prysm: validator/client/metrics.go (validator_*_rejected_total{pubkey}, per validator, summed)
  // and the older validator/slashing-protection/metrics.go (slashable_validator_*_total), used
  // only when the newer names are absent. No enabled-validator, beacon-node or signing-error
  // metric (validator_failed_* count failed duties for any reason, not signing errors).
  t.push_back(
      {ClientKind::kPrysm,
       {
           {kSlashable, 0, "validator_proposals_rejected_total", {}, {}},
           {kSlashable, 0, "validator_attestations_rejected_total", {}, {}},
           {kSlashable, 1, "slashable_validator_proposals_rejected_local_total", {}, {}},
           {kSlashable, 1, "slashable_validator_proposals_rejected_remote_total", {}, {}},
           {kSlashable, 1, "slashable_validator_attestations_rejected_local_total", {}, {}},
           {kSlashable, 1, "slashable_validator_attestations_rejected_remote_total", {}, {}},
       },
       {"validator_statuses", "validator_successful_attestations", "validator_failed_attestations",
        "validator_successful_proposals", "validator_proposals_rejected_total",
        "validator_attestations_rejected_total",
        "slashable_validator_attestations_rejected_local_total",
        "slashable_validator_proposals_rejected_local_total"},
       {}});
  // Nimbus: beacon_chain/validators/validator_pool.nim declares the `validators` gauge
  // ("Number of validators attached"), also served by nimbus_validator_client. Nothing else in
  // the common set was found.
  t.push_back({ClientKind::kNimbus, {{kEnabled, 0, "validators", {}, {}}}, {"validators"}, {}});
  // Lodestar: packages/validator/src/metrics.ts. vc_beacon_health is an enum of the current
  // node's health, not a count, so the beacon-node fields stay empty.
  t.push_back({ClientKind::kLodestar,
               {
                   {kEnabled, 0, "vc_signers_count", {}, {}},
                   {kSigningErrors, 0, "vc_sign_errors_total", {}, {}},
                   {kSlashable, 0, "vc_slashing_protection_block_errors_total", {}, {}},
                   {kSlashable, 0, "vc_slashing_protection_attestation_errors_total", {}, {}},
               },
               {"lodestar_version", "vc_signers_count", "vc_sign_errors_total",
                "vc_remote_sign_errors_total", "vc_published_attestations_total",
                "vc_slashing_protection_attestation_errors_total"},
               {}});
  return t;
}

const std::vector<ClientTable>& Tables() {
  static const std::vector<ClientTable>* tables = [] {
    // Index in the final location: by_name points into each table's `terms`.
    auto* t = new std::vector<ClientTable>(BuildTables());
    for (ClientTable& c : *t) {
      for (const Term& term : c.terms) c.by_name[term.name].push_back(&term);
    }
    return t;
  }();
  return *tables;
}

const ClientTable* TableFor(ClientKind kind) {
  for (const ClientTable& t : Tables()) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}

bool Matches(const Term& term, const MetricSample& sample) {
  if (term.label.empty()) return true;
  const std::optional<std::string_view> v = LabelValue(sample, term.label);
  if (!v) return false;
  for (std::string_view accepted : term.values) {
    if (*v == accepted) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string_view> LabelValue(const MetricSample& sample,
                                           std::string_view label_name) {
  for (const auto& [name, value] : sample.labels) {
    if (name == label_name) return value;
  }
  return std::nullopt;
}

std::string_view ClientKindName(ClientKind kind) {
  switch (kind) {
    case ClientKind::kLighthouse:
      return "lighthouse";
    case ClientKind::kTeku:
      return "teku";
    case ClientKind::kPrysm:
      return "prysm";
    case ClientKind::kNimbus:
      return "nimbus";
    case ClientKind::kLodestar:
      return "lodestar";
    case ClientKind::kAuto:
      return "auto";
  }
  return "auto";
}

std::optional<ClientKind> ParseClientKind(std::string_view name) {
  for (ClientKind k : {ClientKind::kLighthouse, ClientKind::kTeku, ClientKind::kPrysm,
                       ClientKind::kNimbus, ClientKind::kLodestar, ClientKind::kAuto}) {
    if (ClientKindName(k) == name) return k;
  }
  return std::nullopt;
}

std::optional<ClientKind> DetectClientKind(const std::vector<MetricSample>& samples) {
  // marker name -> (client table index, marker index); a marker counts once however many
  // series carry it.
  struct MarkerRef {
    size_t client;
    size_t marker;
  };
  static const auto* markers = [] {
    auto* m = new absl::flat_hash_map<std::string_view, std::vector<MarkerRef>>();
    const std::vector<ClientTable>& tables = Tables();
    for (size_t c = 0; c < tables.size(); ++c) {
      for (size_t i = 0; i < tables[c].markers.size(); ++i) {
        (*m)[tables[c].markers[i]].push_back({c, i});
      }
    }
    return m;
  }();
  const std::vector<ClientTable>& tables = Tables();
  std::vector<std::vector<bool>> seen(tables.size());
  for (size_t c = 0; c < tables.size(); ++c) seen[c].assign(tables[c].markers.size(), false);
  for (const MetricSample& s : samples) {
    auto it = markers->find(s.name);
    if (it == markers->end()) continue;
    for (const MarkerRef& r : it->second) seen[r.client][r.marker] = true;
  }
  std::optional<ClientKind> best;
  size_t best_score = 0;
  for (size_t c = 0; c < tables.size(); ++c) {
    if (tables[c].kind == ClientKind::kNimbus) continue;  // generic marker: decided below
    size_t score = 0;
    for (bool b : seen[c]) score += b ? 1 : 0;
    if (score > best_score) {
      best_score = score;
      best = tables[c].kind;
    }
  }
  if (best) return best;
  const ClientTable* nimbus = TableFor(ClientKind::kNimbus);
  for (size_t c = 0; c < tables.size(); ++c) {
    if (&tables[c] != nimbus) continue;
    for (bool b : seen[c]) {
      if (b) return ClientKind::kNimbus;
    }
  }
  return std::nullopt;
}

ValidatorClientStatus MapValidatorClient(ClientKind kind,
                                         const std::vector<MetricSample>& samples) {
  ValidatorClientStatus out;
  out.up = true;
  if (kind == ClientKind::kAuto) {
    const std::optional<ClientKind> detected = DetectClientKind(samples);
    if (!detected) return out;
    kind = *detected;
  }
  out.kind = kind;
  const ClientTable* table = TableFor(kind);
  if (table == nullptr) return out;

  std::array<std::array<double, kNumPriorities>, kNumFields> sum{};
  std::array<std::array<bool, kNumPriorities>, kNumFields> seen{};
  for (const MetricSample& s : samples) {
    auto it = table->by_name.find(s.name);
    if (it == table->by_name.end()) continue;
    for (const Term* term : it->second) {
      if (!Matches(*term, s)) continue;
      sum[term->field][term->priority] += s.value;
      seen[term->field][term->priority] = true;
    }
  }
  auto field = [&](Field f) -> std::optional<double> {
    for (int p = 0; p < kNumPriorities; ++p) {
      if (seen[f][p]) return sum[f][p];
    }
    return std::nullopt;
  };
  out.validators_enabled = field(kEnabled);
  out.validators_total = field(kTotal);
  out.beacon_nodes_available = field(kBnAvailable);
  out.beacon_nodes_synced = field(kBnSynced);
  out.signing_errors = field(kSigningErrors);
  out.slashable_refused = field(kSlashable);
  return out;
}

}  // namespace stakewatch::signer
