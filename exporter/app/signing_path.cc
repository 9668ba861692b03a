#include "app/signing_path.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "beacon/http_transport.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "scrape/scraper.h"
#include "signer/validator_client.h"
#include "signer/web3signer.h"
#include "slashingdb/slashing_db.h"
#include "textparse/textparse.h"

namespace stakewatch::app {

using exposition::Family;
using exposition::FamilyDesc;
using exposition::MetricType;

namespace {

double UnixSecondsOf(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

// The reason label for a slashing-database error.
std::string_view DbReason(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kUnavailable:
      return "connect";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kUnauthenticated:
      return "auth";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kPermissionDenied:
      return "permission";
    case absl::StatusCode::kFailedPrecondition:
      return "schema";
    default:
      return "query";
  }
}

// The reason label for an HTTP source error (beacon transport codes, see http_transport.h).
std::string_view HttpReason(const absl::Status& s) {
  if (s.code() == absl::StatusCode::kInvalidArgument) return "decode";
  const std::string scrape_reason = scrape::FetchErrorReason(s);
  if (!scrape_reason.empty()) {
    for (std::string_view r :
         {scrape::kReasonTimeout, scrape::kReasonConnect, scrape::kReasonHttpStatus,
          scrape::kReasonTooLarge, scrape::kReasonParse, scrape::kReasonTls,
          scrape::kReasonAuthFile, scrape::kReasonCancelled}) {
      if (r == scrape_reason) return r;
    }
  }
  return beacon::TransportErrorReason(s);
}

// Samples of one metrics page, owning their strings (label values may be unescaped copies).
struct OwnedSamples {
  std::vector<std::string> strings;  // names, label names, label values; stable (reserved)
  std::vector<signer::MetricSample> samples;
};

// Parses `body` (format from `content_type`) into samples. The views point into `out->strings`.
absl::Status ParseSamples(const std::string& body, std::string_view content_type,
                          OwnedSamples* out) {
  textparse::Parser parser(body, textparse::FormatFromContentType(content_type));
  // First pass: collect into owned storage (indices), second: build views.
  struct Raw {
    size_t name;
    std::vector<std::pair<size_t, size_t>> labels;
    double value;
  };
  std::vector<Raw> raws;
  std::vector<std::string>& strings = out->strings;
  strings.clear();
  for (;;) {
    absl::StatusOr<textparse::Entry> e = parser.Next();
    if (!e.ok()) return e.status();
    if (*e == textparse::Entry::kEof) break;
    if (*e != textparse::Entry::kSeries) continue;
    Raw raw;
    raw.name = strings.size();
    strings.emplace_back(parser.metric_name());
    for (const textparse::LabelView& l : parser.labels()) {
      strings.emplace_back(l.name);
      strings.emplace_back(l.value);
      raw.labels.emplace_back(strings.size() - 2, strings.size() - 1);
    }
    raw.value = parser.value();
    raws.push_back(std::move(raw));
  }
  out->samples.clear();
  out->samples.reserve(raws.size());
  for (const Raw& raw : raws) {
    signer::MetricSample s;
    s.name = strings[raw.name];
    for (const auto& [n, v] : raw.labels) s.labels.emplace_back(strings[n], strings[v]);
    s.value = raw.value;
    out->samples.push_back(std::move(s));
  }
  return absl::OkStatus();
}

// FetchOptions for a plain metrics URL (credentials in the URL become basic auth).
absl::StatusOr<scrape::FetchOptions> FetchOptionsForUrl(std::string_view url,
                                                        absl::Duration timeout) {
  ASSIGN_OR_RETURN(beacon::NodeUrl u, beacon::ParseNodeUrl(url));
  scrape::FetchOptions o;
  o.scheme = u.scheme;
  o.target = absl::StrCat(
      u.host.find(':') != std::string::npos ? absl::StrCat("[", u.host, "]") : u.host, ":", u.port);
  o.path = u.base_path.empty() ? "/metrics" : u.base_path;
  o.timeout = timeout;
  o.max_body_bytes = uint64_t{16} << 20;
  if (!u.user.empty() || !u.password.empty())
    o.basic_auth = config::BasicAuth{u.user, u.password, ""};
  return o;
}

std::optional<signer::ClientKind> ClientKindFromConfig(std::string_view name) {
  return signer::ParseClientKind(name);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Metric families.

struct SigningPath::Families {
  // Slashing DB.
  Family* db_connect = nullptr;
  Family* db_query = nullptr;
  Family* db_schema = nullptr;
  Family* db_validators = nullptr;
  Family* db_rows = nullptr;
  Family* db_table_bytes = nullptr;
  Family* db_bytes = nullptr;
  Family* db_dead = nullptr;
  Family* db_vacuum = nullptr;
  Family* db_analyze = nullptr;
  Family* db_conns = nullptr;
  Family* db_max_conns = nullptr;
  Family* db_recovery = nullptr;
  Family* db_repl_lag = nullptr;
  Family* db_archived = nullptr;
  Family* db_archive_failed = nullptr;
  Family* db_archive_failed_ts = nullptr;
  Family* db_archived_ts = nullptr;
  Family* db_oldest_tx = nullptr;
  Family* db_high_wm = nullptr;
  // Per group signing.
  Family* g_last_att = nullptr;
  Family* g_lag = nullptr;
  Family* g_stalled = nullptr;
  Family* g_last_block = nullptr;
  Family* g_unregistered = nullptr;
  Family* g_low_wm = nullptr;
  Family* v_last_att = nullptr;
  Family* v_last_block = nullptr;
  // Reconciliation.
  Family* ks_checked = nullptr;
  Family* ks_elsewhere = nullptr;
  Family* ks_not_included = nullptr;
  Family* ks_unknown = nullptr;
  Family* ks_live = nullptr;
  Family* ks_epoch = nullptr;
  Family* ks_skipped = nullptr;
  Family* v_ks_elsewhere = nullptr;
  Family* v_ks_not_included = nullptr;
  // Web3Signer.
  Family* w_upcheck = nullptr;
  Family* w_check = nullptr;
  Family* w_check_keys = nullptr;
  Family* w_check_errors = nullptr;
  Family* w_keys = nullptr;
  Family* w_unmonitored = nullptr;
  Family* g_not_loaded = nullptr;
  Family* w_sign_count = nullptr;
  Family* w_sign_sum = nullptr;
  Family* w_sign_quantile = nullptr;
  Family* w_prevented = nullptr;
  Family* w_permitted = nullptr;
  Family* w_missing_id = nullptr;
  // Validator clients.
  Family* vc_info = nullptr;
  Family* vc_enabled = nullptr;
  Family* vc_total = nullptr;
  Family* vc_bn_available = nullptr;
  Family* vc_bn_synced = nullptr;
  Family* vc_sign_errors = nullptr;
  Family* vc_slashable = nullptr;
};

struct SigningPath::Vc {
  config::ValidatorClientConfig cfg;
  scrape::FetchOptions fetch;
  signer::ClientKind kind = signer::ClientKind::kAuto;
  std::string last_kind;  // label of the info series last set
};

// Scrape targets report to SourceHealth as source="scrape", target="<job>/<instance>".
class SigningPath::ScrapeHealth final : public scrape::ScrapeObserver {
 public:
  explicit ScrapeHealth(SourceHealth* health) : health_(health) {}
  void OnScrape(std::string_view job, std::string_view instance, bool ok, absl::Duration,
                std::string_view error_reason, size_t) override {
    const std::string target = absl::StrCat(ToAbsl(job), "/", ToAbsl(instance));
    if (ok) {
      health_->Success(kSourceScrape, target);
    } else {
      health_->Failure(kSourceScrape, target, error_reason.empty() ? "error" : error_reason,
                       "scrape failed");
    }
  }

 private:
  SourceHealth* health_;
};

SigningPath::SigningPath(SigningPathOptions options)
    : options_(std::move(options)),
      cfg_(*options_.config),
      store_(options_.store),
      health_(options_.health),
      clock_(options_.clock) {}

SigningPath::~SigningPath() { Stop(); }

absl::StatusOr<std::unique_ptr<SigningPath>> SigningPath::Create(SigningPathOptions options) {
  std::unique_ptr<SigningPath> p(new SigningPath(std::move(options)));
  RETURN_IF_ERROR(p->Init());
  return p;
}

absl::Status SigningPath::InitMetrics() {
  f_ = std::make_unique<Families>();
  Families& f = *f_;
  auto add = [this](Family** out, std::string name, std::string help, MetricType type,
                    std::vector<std::string> labels) -> absl::Status {
    ASSIGN_OR_RETURN(*out, store_->AddFamily(FamilyDesc{std::move(name), std::move(help), type,
                                                        std::move(labels)}));
    return absl::OkStatus();
  };
  const MetricType G = MetricType::kGauge;
  const MetricType C = MetricType::kCounter;
  if (cfg_.slashing_db.has_value()) {
    RETURN_IF_ERROR(add(&f.db_connect, "eth_slashing_db_connect_duration_seconds",
                        "Time the last (re)connection to the slashing-protection database took.", G,
                        {}));
    RETURN_IF_ERROR(add(&f.db_query, "eth_slashing_db_query_duration_seconds",
                        "Time the last poll's queries took, by poll (health, signing, reconcile).",
                        G, {"poll"}));
    RETURN_IF_ERROR(add(&f.db_schema, "eth_slashing_db_schema_version",
                        "Web3Signer schema version (database_version.version; 12 expected).", G,
                        {}));
    RETURN_IF_ERROR(add(&f.db_validators, "eth_slashing_db_validators",
                        "Validators registered in the database, by enabled (true/false).", G,
                        {"enabled"}));
    RETURN_IF_ERROR(add(&f.db_rows, "eth_slashing_db_table_rows_estimate",
                        "Estimated rows per table (from statistics, never count(*)).", G,
                        {"table"}));
    RETURN_IF_ERROR(add(&f.db_table_bytes, "eth_slashing_db_table_size_bytes",
                        "Size of each Web3Signer table with its indexes and TOAST.", G, {"table"}));
    RETURN_IF_ERROR(add(&f.db_bytes, "eth_slashing_db_database_size_bytes",
                        "Size of the whole database.", G, {}));
    RETURN_IF_ERROR(add(&f.db_dead, "eth_slashing_db_dead_tuples",
                        "Dead tuples per table (pg_stat_user_tables.n_dead_tup).", G, {"table"}));
    RETURN_IF_ERROR(add(&f.db_vacuum, "eth_slashing_db_last_vacuum_timestamp_seconds",
                        "Newest manual or auto vacuum of each table (absent if never).", G,
                        {"table"}));
    RETURN_IF_ERROR(add(&f.db_analyze, "eth_slashing_db_last_analyze_timestamp_seconds",
                        "Newest manual or auto analyze of each table (absent if never).", G,
                        {"table"}));
    RETURN_IF_ERROR(add(&f.db_conns, "eth_slashing_db_connections",
                        "Client connections in use (pg_stat_activity).", G, {}));
    RETURN_IF_ERROR(add(&f.db_max_conns, "eth_slashing_db_max_connections",
                        "The server's max_connections setting.", G, {}));
    RETURN_IF_ERROR(add(&f.db_recovery, "eth_slashing_db_in_recovery",
                        "1 if the server is a replica (pg_is_in_recovery), else 0.", G, {}));
    RETURN_IF_ERROR(add(&f.db_repl_lag, "eth_slashing_db_replication_lag_seconds",
                        "Replica only: time since the last replayed transaction, 0 when replay "
                        "has caught up.",
                        G, {}));
    RETURN_IF_ERROR(add(&f.db_archived, "eth_slashing_db_wal_archived_total",
                        "WAL files archived (pg_stat_archiver.archived_count).", C, {}));
    RETURN_IF_ERROR(add(&f.db_archive_failed, "eth_slashing_db_wal_archive_failed_total",
                        "Failed WAL archiving attempts (pg_stat_archiver.failed_count).", C, {}));
    RETURN_IF_ERROR(add(&f.db_archive_failed_ts,
                        "eth_slashing_db_wal_last_archive_failure_timestamp_seconds",
                        "Time of the last failed WAL archiving attempt (absent if none).", G, {}));
    RETURN_IF_ERROR(add(&f.db_archived_ts, "eth_slashing_db_wal_last_archived_timestamp_seconds",
                        "Time of the last archived WAL file (absent if none).", G, {}));
    RETURN_IF_ERROR(add(&f.db_oldest_tx, "eth_slashing_db_oldest_transaction_seconds",
                        "Age of the oldest open transaction of another session (0 if none).", G,
                        {}));
    RETURN_IF_ERROR(add(&f.db_high_wm, "eth_slashing_db_high_watermark",
                        "Web3Signer's high watermark (metadata), by unit (epoch, slot).", G,
                        {"unit"}));
    RETURN_IF_ERROR(add(&f.g_last_att, "eth_validator_group_last_signed_attestation_epoch",
                        "Oldest 'newest signed attestation target epoch' among the group's active "
                        "registered validators (the most stalled one).",
                        G, {"group"}));
    RETURN_IF_ERROR(add(&f.g_lag, "eth_validator_group_signing_lag_epochs",
                        "Current epoch minus eth_validator_group_last_signed_attestation_epoch.", G,
                        {"group"}));
    RETURN_IF_ERROR(add(&f.g_stalled, "eth_validator_group_signing_stalled_validators",
                        "Active registered validators whose newest signed attestation lags the "
                        "chain by more than the stall threshold (2 epochs), or that never signed.",
                        G, {"group"}));
    RETURN_IF_ERROR(add(&f.g_last_block, "eth_validator_group_last_signed_block_slot",
                        "Newest signed block slot among the group's validators.", G, {"group"}));
    RETURN_IF_ERROR(add(&f.g_unregistered,
                        "eth_validator_group_slashing_db_unregistered_validators",
                        "Monitored validators whose key is not in the slashing-protection "
                        "database.",
                        G, {"group"}));
    RETURN_IF_ERROR(add(&f.g_low_wm, "eth_validator_group_low_watermark_epoch",
                        "Highest low-watermark target epoch among the group's validators.", G,
                        {"group"}));
    RETURN_IF_ERROR(add(&f.ks_checked, "eth_validator_group_key_safety_checked_total",
                        "Attestation duties / blocks compared with the database, by kind.", C,
                        {"group", "kind"}));
    RETURN_IF_ERROR(add(&f.ks_elsewhere, "eth_validator_group_key_safety_signed_elsewhere_total",
                        "On-chain attestations / blocks of our validators with no record in our "
                        "slashing-protection database: the key signs somewhere else.",
                        C, {"group", "kind"}));
    RETURN_IF_ERROR(add(&f.ks_not_included, "eth_validator_group_key_safety_not_included_total",
                        "Attestations our database recorded as signed that the chain never "
                        "included.",
                        C, {"group"}));
    RETURN_IF_ERROR(add(&f.ks_unknown, "eth_validator_group_key_safety_unknown_total",
                        "Duties / blocks that could not be judged (key not registered, or below "
                        "the low watermark).",
                        C, {"group", "kind"}));
    RETURN_IF_ERROR(add(&f.ks_live, "eth_validator_group_key_safety_live_unrecorded_total",
                        "Attestation duties where the beacon node saw the validator live, no "
                        "vote was included, it proposed nothing and our database has no row: a "
                        "weaker sign of another signer (liveness may count sync-committee "
                        "messages).",
                        C, {"group"}));
    RETURN_IF_ERROR(add(&f.ks_epoch, "eth_slashing_db_reconciled_epoch",
                        "The newest epoch reconciled against the database.", G, {}));
    RETURN_IF_ERROR(add(&f.ks_skipped, "eth_slashing_db_reconciliations_skipped_total",
                        "Counted epochs not reconciled because the database stayed unavailable "
                        "for more than 8 epochs.",
                        C, {}));
    if (options_.per_validator_metrics) {
      RETURN_IF_ERROR(add(&f.v_last_att, "eth_validator_last_signed_attestation_epoch",
                          "Newest signed attestation target epoch in the database.", G,
                          {"validator_index"}));
      RETURN_IF_ERROR(add(&f.v_last_block, "eth_validator_last_signed_block_slot",
                          "Newest signed block slot in the database.", G, {"validator_index"}));
      RETURN_IF_ERROR(add(&f.v_ks_elsewhere, "eth_validator_key_safety_signed_elsewhere_total",
                          "On-chain signatures with no record in our database.", C,
                          {"validator_index"}));
      RETURN_IF_ERROR(add(&f.v_ks_not_included, "eth_validator_key_safety_not_included_total",
                          "Recorded attestations the chain never included.", C,
                          {"validator_index"}));
    }
  }
  if (cfg_.web3signer.has_value()) {
    RETURN_IF_ERROR(add(&f.w_upcheck, "eth_web3signer_upcheck",
                        "1 if GET /upcheck answered 200 OK, else 0.", G, {}));
    RETURN_IF_ERROR(add(&f.w_check, "eth_web3signer_healthcheck_status",
                        "1 if the /healthcheck check is UP, 0 if DOWN (check=\"\" is overall).", G,
                        {"check"}));
    RETURN_IF_ERROR(add(&f.w_check_keys, "eth_web3signer_healthcheck_keys_loaded",
                        "keys-loaded reported by a key-loading check.", G, {"check"}));
    RETURN_IF_ERROR(add(&f.w_check_errors, "eth_web3signer_healthcheck_errors",
                        "error-count reported by a key-loading check.", G, {"check"}));
    RETURN_IF_ERROR(add(&f.w_keys, "eth_web3signer_keys_loaded",
                        "BLS keys Web3Signer holds (/api/v1/eth2/publicKeys).", G, {}));
    RETURN_IF_ERROR(add(&f.w_unmonitored, "eth_web3signer_keys_unmonitored",
                        "Keys Web3Signer holds that no validator group monitors.", G, {}));
    RETURN_IF_ERROR(add(&f.g_not_loaded, "eth_validator_group_keys_not_loaded",
                        "Monitored validators whose key Web3Signer does not hold (they cannot "
                        "sign there).",
                        G, {"group"}));
    RETURN_IF_ERROR(add(&f.w_sign_count, "eth_web3signer_signings_total",
                        "BLS signings (signing_bls_signing_duration_count).", C, {}));
    RETURN_IF_ERROR(add(&f.w_sign_sum, "eth_web3signer_signing_duration_seconds_total",
                        "Time spent signing (signing_bls_signing_duration_sum); divide rates "
                        "by eth_web3signer_signings_total for the mean latency.",
                        C, {}));
    RETURN_IF_ERROR(add(&f.w_sign_quantile, "eth_web3signer_signing_duration_quantile_seconds",
                        "Signing latency quantiles as Web3Signer reports them.", G, {"quantile"}));
    RETURN_IF_ERROR(add(&f.w_prevented, "eth_web3signer_slashing_protection_prevented_total",
                        "Signings refused by slashing protection "
                        "(eth2_slashingprotection_prevented_signings_total).",
                        C, {}));
    RETURN_IF_ERROR(add(&f.w_permitted, "eth_web3signer_slashing_protection_permitted_total",
                        "Signings slashing protection allowed.", C, {}));
    RETURN_IF_ERROR(add(&f.w_missing_id, "eth_web3signer_missing_identifier_requests_total",
                        "Signing requests for a key Web3Signer does not hold.", C, {}));
  }
  if (!cfg_.validator_clients.empty()) {
    RETURN_IF_ERROR(add(&f.vc_info, "eth_validator_client_info",
                        "1 with the client kind (configured or detected from its metrics).", G,
                        {"target", "client"}));
    RETURN_IF_ERROR(add(&f.vc_enabled, "eth_validator_client_validators_enabled",
                        "Validators the client will sign for.", G, {"target"}));
    RETURN_IF_ERROR(add(&f.vc_total, "eth_validator_client_validators",
                        "Validators the client knows (enabled and disabled).", G, {"target"}));
    RETURN_IF_ERROR(add(&f.vc_bn_available, "eth_validator_client_beacon_nodes_available",
                        "Beacon nodes the client can reach.", G, {"target"}));
    RETURN_IF_ERROR(add(&f.vc_bn_synced, "eth_validator_client_beacon_nodes_synced",
                        "Beacon nodes the client can reach that are synced.", G, {"target"}));
    RETURN_IF_ERROR(add(&f.vc_sign_errors, "eth_validator_client_signing_errors_total",
                        "Signing requests that failed, as the client counts them.", C, {"target"}));
    RETURN_IF_ERROR(add(&f.vc_slashable, "eth_validator_client_slashable_signings_refused_total",
                        "Signings the client's own slashing protection refused.", C, {"target"}));
  }
  return absl::OkStatus();
}

absl::Status SigningPath::Init() {
  RETURN_IF_ERROR(InitMetrics());
  if (cfg_.slashing_db.has_value()) {
    const config::SlashingDbConfig& dbc = *cfg_.slashing_db;
    ASSIGN_OR_RETURN(std::string conninfo, slashingdb::LoadConninfo(dbc.dsn_file, dbc.dsn_env));
    slashingdb::SlashingDbOptions o;
    o.connect_timeout = dbc.connect_timeout;
    o.statement_timeout = dbc.statement_timeout;
    o.clock = clock_;
    ASSIGN_OR_RETURN(db_, slashingdb::SlashingDb::Create(conninfo, o));
    db_target_ = dbc.dsn_file.empty() ? absl::StrCat("env:", dbc.dsn_env) : dbc.dsn_file;
    health_->Register(kSourceSlashingDb, db_target_);
  }
  if (cfg_.web3signer.has_value()) {
    beacon::HttplibTransportOptions o;
    o.read_timeout = cfg_.web3signer->timeout;
    o.connect_timeout = std::min(cfg_.web3signer->timeout, absl::Seconds(2));
    o.max_response_bytes = size_t{64} << 20;  // 1M keys is about 100 MB; 64 MB ~ 650k keys
    o.max_idle_connections = 1;
    ASSIGN_OR_RETURN(w3s_, signer::Web3SignerClient::Create(cfg_.web3signer->url, o));
    w3s_target_ = w3s_->redacted_url();
    health_->Register(kSourceWeb3Signer, w3s_target_);
  }
  for (const config::ValidatorClientConfig& c : cfg_.validator_clients) {
    auto vc = std::make_unique<Vc>();
    vc->cfg = c;
    ASSIGN_OR_RETURN(vc->fetch, FetchOptionsForUrl(c.url, c.timeout));
    std::optional<signer::ClientKind> kind = ClientKindFromConfig(c.client);
    if (!kind) return absl::InvalidArgumentError(absl::StrCat("unknown client ", c.client));
    vc->kind = *kind;
    health_->Register(kSourceValidatorClient, c.name);
    vcs_.push_back(std::move(vc));
  }
  if (!cfg_.scrape_configs.empty()) {
    if (options_.scrape_storage == nullptr) {
      return absl::InvalidArgumentError("scrape_configs need a storage");
    }
    scrape_health_ = std::make_unique<ScrapeHealth>(health_);
    for (const config::ScrapeConfig& sc : cfg_.scrape_configs) {
      ASSIGN_OR_RETURN(
          std::unique_ptr<scrape::Scraper> s,
          scrape::Scraper::Create(sc, options_.scrape_storage, clock_, scrape_health_.get()));
      for (const std::string& t : s->targets()) {
        absl::StatusOr<tsdb::Labels> labels = s->TargetLabels(t);
        const std::string instance =
            labels.ok() ? std::string(labels->Get("instance")) : std::string(t);
        health_->Register(kSourceScrape, absl::StrCat(sc.job_name, "/", instance));
      }
      scrapers_.push_back(std::move(s));
    }
  }
  return absl::OkStatus();
}

void SigningPath::Start() {
  if (started_) return;
  started_ = true;
  if (db_ != nullptr) db_thread_ = std::thread([this] { DbLoop(); });
  if (w3s_ != nullptr) {
    w3s_thread_ = std::make_unique<PeriodicThread>(cfg_.web3signer->poll_interval,
                                                   [this] { PollWeb3SignerOnce(); });
    w3s_thread_->Start();
  }
  for (size_t i = 0; i < vcs_.size(); ++i) {
    vc_threads_.push_back(std::make_unique<PeriodicThread>(
        vcs_[i]->cfg.poll_interval, [this, i] { PollValidatorClientOnce(i); }));
    vc_threads_.back()->Start();
  }
  for (auto& s : scrapers_) s->Start();
}

void SigningPath::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (db_thread_.joinable()) db_thread_.join();
  if (w3s_thread_ != nullptr) w3s_thread_->Stop();
  for (auto& t : vc_threads_) t->Stop();
  for (auto& s : scrapers_) s->Stop();
}

void SigningPath::SetMonitored(std::vector<MonitoredKey> keys,
                               std::vector<std::pair<std::string, int32_t>> pending) {
  std::sort(keys.begin(), keys.end(),
            [](const MonitoredKey& a, const MonitoredKey& b) { return a.index < b.index; });
  absl::MutexLock lock(&mu_);
  monitored_ = std::move(keys);
  pending_ = std::move(pending);
  ++monitored_version_;
}

void SigningPath::SetChainEpoch(beacon::Epoch epoch) {
  absl::MutexLock lock(&mu_);
  chain_epoch_ = epoch;
}

void SigningPath::QueueReconciliation(EpochChainFacts facts) {
  if (db_ == nullptr || !cfg_.slashing_db->reconcile) return;
  absl::MutexLock lock(&mu_);
  reconcile_queue_.push_back(std::move(facts));
  while (reconcile_queue_.size() > 8) {
    reconcile_queue_.erase(reconcile_queue_.begin());
    f_->ks_skipped->Add(f_->ks_skipped->GetOrCreate({}), 1);
  }
}

std::vector<std::string> SigningPath::TakeDiscoveredPubkeys() {
  absl::MutexLock lock(&mu_);
  return std::exchange(discovered_, {});
}

// ---------------------------------------------------------------------------------------------
// Slashing-protection database.

void SigningPath::DbLoop() {
  absl::Time next_poll = absl::InfinitePast();
  for (;;) {
    std::optional<EpochChainFacts> job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this, &next_poll]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !reconcile_queue_.empty() || absl::Now() >= next_poll;
      };
      mu_.AwaitWithDeadline(absl::Condition(&ready), next_poll);
      if (stop_) return;
      if (!reconcile_queue_.empty() && absl::Now() < next_poll) {
        job = reconcile_queue_.front();
      }
    }
    if (job.has_value()) {
      if (ReconcileOne(*job)) {
        absl::MutexLock lock(&mu_);
        if (!reconcile_queue_.empty() && reconcile_queue_.front().epoch == job->epoch) {
          reconcile_queue_.erase(reconcile_queue_.begin());
        }
      } else {
        // The database failed: wait for the next poll before retrying.
        absl::MutexLock lock(&mu_);
        auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
        mu_.AwaitWithDeadline(absl::Condition(&stopping), next_poll);
      }
      continue;
    }
    PollSlashingDbOnce();
    next_poll = absl::Now() + cfg_.slashing_db->poll_interval;
  }
}

void SigningPath::PollSlashingDbOnce() {
  Families& f = *f_;
  absl::StatusOr<slashingdb::DbHealth> h = db_->PollHealth();
  if (!h.ok()) {
    health_->Failure(kSourceSlashingDb, db_target_, DbReason(h.status()),
                     ToStd(h.status().message()));
    return;
  }
  if (h->connect_seconds.has_value())
    f.db_connect->Set(f.db_connect->GetOrCreate({}), *h->connect_seconds);
  f.db_query->Set(f.db_query->GetOrCreate({"health"}), h->query_seconds);
  if (h->schema_version.has_value()) {
    f.db_schema->Set(f.db_schema->GetOrCreate({}), static_cast<double>(*h->schema_version));
  }
  f.db_validators->Set(f.db_validators->GetOrCreate({"true"}),
                       static_cast<double>(h->validators_enabled));
  f.db_validators->Set(f.db_validators->GetOrCreate({"false"}),
                       static_cast<double>(h->validators_registered - h->validators_enabled));
  for (const slashingdb::TableStats& t : h->tables) {
    if (!t.exists) continue;
    const std::string_view l[] = {t.name};
    f.db_rows->Set(f.db_rows->GetOrCreate(l), static_cast<double>(t.estimated_rows));
    f.db_table_bytes->Set(f.db_table_bytes->GetOrCreate(l), static_cast<double>(t.total_bytes));
    f.db_dead->Set(f.db_dead->GetOrCreate(l), static_cast<double>(t.dead_tuples));
    if (t.last_vacuum) f.db_vacuum->Set(f.db_vacuum->GetOrCreate(l), UnixSecondsOf(*t.last_vacuum));
    if (t.last_analyze) {
      f.db_analyze->Set(f.db_analyze->GetOrCreate(l), UnixSecondsOf(*t.last_analyze));
    }
  }
  f.db_bytes->Set(f.db_bytes->GetOrCreate({}), static_cast<double>(h->database_bytes));
  f.db_conns->Set(f.db_conns->GetOrCreate({}), static_cast<double>(h->connections_in_use));
  f.db_max_conns->Set(f.db_max_conns->GetOrCreate({}), static_cast<double>(h->max_connections));
  f.db_recovery->Set(f.db_recovery->GetOrCreate({}), h->in_recovery ? 1 : 0);
  if (h->replication_lag_seconds.has_value()) {
    f.db_repl_lag->Set(f.db_repl_lag->GetOrCreate({}), *h->replication_lag_seconds);
  }
  f.db_archived->Set(f.db_archived->GetOrCreate({}), static_cast<double>(h->wal_archived_count));
  f.db_archive_failed->Set(f.db_archive_failed->GetOrCreate({}),
                           static_cast<double>(h->wal_archive_failed_count));
  if (h->wal_last_failed_time) {
    f.db_archive_failed_ts->Set(f.db_archive_failed_ts->GetOrCreate({}),
                                UnixSecondsOf(*h->wal_last_failed_time));
  }
  if (h->wal_last_archived_time) {
    f.db_archived_ts->Set(f.db_archived_ts->GetOrCreate({}),
                          UnixSecondsOf(*h->wal_last_archived_time));
  }
  f.db_oldest_tx->Set(f.db_oldest_tx->GetOrCreate({}), h->oldest_transaction_seconds);
  if (h->high_watermark_epoch) {
    f.db_high_wm->Set(f.db_high_wm->GetOrCreate({"epoch"}),
                      static_cast<double>(*h->high_watermark_epoch));
  }
  if (h->high_watermark_slot) {
    f.db_high_wm->Set(f.db_high_wm->GetOrCreate({"slot"}),
                      static_cast<double>(*h->high_watermark_slot));
  }

  // Per validator: what each monitored key last signed.
  std::vector<MonitoredKey> keys;
  std::optional<beacon::Epoch> chain_epoch;
  {
    absl::MutexLock lock(&mu_);
    keys = monitored_;
    chain_epoch = chain_epoch_;
  }
  std::vector<std::string> pubkeys;
  pubkeys.reserve(keys.size());
  for (const MonitoredKey& k : keys) pubkeys.push_back(k.pubkey);
  if (!pubkeys.empty()) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<slashingdb::ValidatorSigning>> signings = db_->PollSigning(pubkeys);
    if (!signings.ok()) {
      health_->Failure(kSourceSlashingDb, db_target_, DbReason(signings.status()),
                       ToStd(signings.status().message()));
      return;
    }
    f.db_query->Set(f.db_query->GetOrCreate({"signing"}),
                    absl::ToDoubleSeconds(absl::Now() - start));
    const size_t groups = options_.group_names.size();
    std::vector<std::optional<uint64_t>> min_att(groups);
    std::vector<bool> any_active(groups, false);
    std::vector<uint64_t> stalled(groups, 0), unregistered(groups, 0);
    std::vector<std::optional<uint64_t>> max_block(groups), max_low_wm(groups);
    size_t per_validator = 0;
    for (size_t i = 0; i < keys.size() && i < signings->size(); ++i) {
      const MonitoredKey& k = keys[i];
      const slashingdb::ValidatorSigning& s = (*signings)[i];
      const size_t g = static_cast<size_t>(k.group);
      if (g >= groups) continue;
      if (!s.registered) {
        ++unregistered[g];
        continue;
      }
      if (s.last_block_slot) max_block[g] = std::max(max_block[g].value_or(0), *s.last_block_slot);
      if (s.low_watermark_target_epoch) {
        max_low_wm[g] = std::max(max_low_wm[g].value_or(0), *s.low_watermark_target_epoch);
      }
      if (f.v_last_att != nullptr && per_validator < options_.per_validator_limit) {
        ++per_validator;
        const std::string idx = absl::StrCat(k.index);
        const std::string_view l[] = {idx};
        if (s.last_target_epoch) {
          f.v_last_att->Set(f.v_last_att->GetOrCreate(l),
                            static_cast<double>(*s.last_target_epoch));
        }
        if (s.last_block_slot) {
          f.v_last_block->Set(f.v_last_block->GetOrCreate(l),
                              static_cast<double>(*s.last_block_slot));
        }
      }
      if (!k.active) continue;
      any_active[g] = true;
      const uint64_t last = s.last_target_epoch.value_or(0);
      if (!min_att[g] || last < *min_att[g]) min_att[g] = last;
      if (chain_epoch && (!s.last_target_epoch || *chain_epoch > last + options_.stall_epochs)) {
        ++stalled[g];
      }
    }
    for (size_t g = 0; g < groups; ++g) {
      const std::string_view l[] = {options_.group_names[g]};
      f.g_unregistered->Set(f.g_unregistered->GetOrCreate(l), static_cast<double>(unregistered[g]));
      f.g_stalled->Set(f.g_stalled->GetOrCreate(l), static_cast<double>(stalled[g]));
      if (min_att[g]) {
        f.g_last_att->Set(f.g_last_att->GetOrCreate(l), static_cast<double>(*min_att[g]));
        if (chain_epoch) {
          const double lag =
              *chain_epoch > *min_att[g] ? static_cast<double>(*chain_epoch - *min_att[g]) : 0;
          f.g_lag->Set(f.g_lag->GetOrCreate(l), lag);
        }
      }
      if (max_block[g])
        f.g_last_block->Set(f.g_last_block->GetOrCreate(l), static_cast<double>(*max_block[g]));
      if (max_low_wm[g])
        f.g_low_wm->Set(f.g_low_wm->GetOrCreate(l), static_cast<double>(*max_low_wm[g]));
    }
  }
  health_->Success(kSourceSlashingDb, db_target_);
}

bool SigningPath::ReconcileOne(const EpochChainFacts& facts) {
  Families& f = *f_;
  std::unordered_map<beacon::ValidatorIndex, std::string> pubkey_of;
  {
    absl::MutexLock lock(&mu_);
    pubkey_of.reserve(monitored_.size());
    for (const MonitoredKey& k : monitored_) pubkey_of.emplace(k.index, k.pubkey);
  }
  // Validators whose pubkey is not known yet cannot be looked up: they count as unknown.
  std::vector<std::string> duty_keys;
  std::vector<size_t> duty_pos;  // index into facts.duties
  for (size_t i = 0; i < facts.duties.size(); ++i) {
    auto it = pubkey_of.find(facts.duties[i].validator);
    if (it == pubkey_of.end()) continue;
    duty_keys.push_back(it->second);
    duty_pos.push_back(i);
  }
  std::vector<DbFact> duty_facts(facts.duties.size());
  const absl::Time start = absl::Now();
  if (!duty_keys.empty()) {
    absl::StatusOr<std::vector<slashingdb::SignedRecord>> recs =
        db_->SignedAttestationsAt(duty_keys, facts.epoch);
    if (!recs.ok()) {
      health_->Failure(kSourceSlashingDb, db_target_, DbReason(recs.status()),
                       ToStd(recs.status().message()));
      return false;
    }
    std::unordered_map<std::string, const slashingdb::SignedRecord*> by_key;
    for (const slashingdb::SignedRecord& r : *recs) by_key.emplace(r.pubkey, &r);
    for (size_t j = 0; j < duty_pos.size(); ++j) {
      auto rec = by_key.find(duty_keys[j]);
      if (rec == by_key.end()) continue;
      const slashingdb::SignedRecord& r = *rec->second;
      duty_facts[duty_pos[j]] = DbFact{r.registered, r.found, r.below_low_watermark};
    }
  }
  std::vector<DbFact> block_facts(facts.blocks.size());
  // A validator may propose several blocks in one epoch: ask once per key (the database answers
  // each key once) and match the answers by key.
  std::vector<std::string> block_keys;
  for (const ChainBlock& b : facts.blocks) {
    auto it = pubkey_of.find(b.validator);
    if (it != pubkey_of.end()) block_keys.push_back(it->second);
  }
  std::sort(block_keys.begin(), block_keys.end());
  block_keys.erase(std::unique(block_keys.begin(), block_keys.end()), block_keys.end());
  if (!block_keys.empty()) {
    const beacon::Slot first = facts.epoch * facts.slots_per_epoch;
    const beacon::Slot last = first + facts.slots_per_epoch - 1;
    absl::StatusOr<std::vector<slashingdb::SignedRecord>> recs =
        db_->SignedBlocksIn(block_keys, first, last);
    if (!recs.ok()) {
      health_->Failure(kSourceSlashingDb, db_target_, DbReason(recs.status()),
                       ToStd(recs.status().message()));
      return false;
    }
    std::unordered_map<std::string, const slashingdb::SignedRecord*> by_key;
    for (const slashingdb::SignedRecord& r : *recs) by_key.emplace(r.pubkey, &r);
    for (size_t i = 0; i < facts.blocks.size(); ++i) {
      auto pk = pubkey_of.find(facts.blocks[i].validator);
      if (pk == pubkey_of.end()) continue;
      auto rec = by_key.find(pk->second);
      if (rec == by_key.end()) continue;
      const slashingdb::SignedRecord& r = *rec->second;
      const bool found =
          std::find(r.slots.begin(), r.slots.end(), facts.blocks[i].slot) != r.slots.end();
      block_facts[i] = DbFact{r.registered, found, r.below_low_watermark};
    }
  }
  f.db_query->Set(f.db_query->GetOrCreate({"reconcile"}),
                  absl::ToDoubleSeconds(absl::Now() - start));
  const size_t groups = options_.group_names.size();
  const KeySafetyResult r = Reconcile(facts.duties, duty_facts, facts.blocks, block_facts, groups);
  for (size_t g = 0; g < groups; ++g) {
    const std::string& name = options_.group_names[g];
    for (const auto& [kind, counts] :
         {std::pair<std::string_view, const KeySafetyCounts*>{"attestation", &r.attestations[g]},
          std::pair<std::string_view, const KeySafetyCounts*>{"block", &r.blocks[g]}}) {
      const std::string_view l[] = {name, kind};
      f.ks_checked->Add(f.ks_checked->GetOrCreate(l), static_cast<double>(counts->checked));
      f.ks_elsewhere->Add(f.ks_elsewhere->GetOrCreate(l),
                          static_cast<double>(counts->signed_elsewhere));
      f.ks_unknown->Add(f.ks_unknown->GetOrCreate(l), static_cast<double>(counts->unknown));
    }
    const std::string_view gl[] = {name};
    f.ks_not_included->Add(f.ks_not_included->GetOrCreate(gl),
                           static_cast<double>(r.attestations[g].not_included));
    f.ks_live->Add(f.ks_live->GetOrCreate(gl),
                   static_cast<double>(r.attestations[g].live_unrecorded));
  }
  if (f.v_ks_elsewhere != nullptr) {
    for (size_t i = 0; i < r.flagged.size(); ++i) {
      const std::string idx = absl::StrCat(r.flagged[i]);
      const std::string_view l[] = {idx};
      f.v_ks_elsewhere->Add(f.v_ks_elsewhere->GetOrCreate(l),
                            static_cast<double>(r.flagged_counts[i]));
    }
    for (beacon::ValidatorIndex v : r.not_included) {
      const std::string idx = absl::StrCat(v);
      const std::string_view l[] = {idx};
      f.v_ks_not_included->Add(f.v_ks_not_included->GetOrCreate(l), 1);
    }
  }
  f.ks_epoch->Set(f.ks_epoch->GetOrCreate({}), static_cast<double>(facts.epoch));
  if (!r.flagged.empty()) {
    std::string list;
    for (size_t i = 0; i < r.flagged.size() && i < 20; ++i) {
      absl::StrAppend(&list, i ? "," : "", r.flagged[i]);
    }
    LogError("validator key signing outside our slashing protection (doppelganger risk)",
             {{"epoch", absl::StrCat(facts.epoch)},
              {"validators", list},
              {"count", absl::StrCat(r.flagged.size())}});
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Web3Signer.

void SigningPath::PollWeb3SignerOnce() {
  Families& f = *f_;
  absl::Status up = w3s_->Upcheck();
  f.w_upcheck->Set(f.w_upcheck->GetOrCreate({}), up.ok() ? 1 : 0);
  absl::Status failure = up;
  absl::StatusOr<signer::HealthReport> report = w3s_->Healthcheck();
  if (report.ok()) {
    f.w_check->Set(f.w_check->GetOrCreate({""}), report->status == signer::HealthStatus::kUp);
    for (const signer::HealthCheck& c : report->checks) {
      const std::string_view l[] = {c.id};
      f.w_check->Set(f.w_check->GetOrCreate(l), c.status == signer::HealthStatus::kUp ? 1 : 0);
      if (c.keys_loaded)
        f.w_check_keys->Set(f.w_check_keys->GetOrCreate(l), static_cast<double>(*c.keys_loaded));
      if (c.error_count) {
        f.w_check_errors->Set(f.w_check_errors->GetOrCreate(l),
                              static_cast<double>(*c.error_count));
      }
    }
  } else if (failure.ok()) {
    failure = report.status();
  }
  absl::StatusOr<std::vector<std::string>> keys = w3s_->PublicKeys();
  if (keys.ok()) {
    f.w_keys->Set(f.w_keys->GetOrCreate({}), static_cast<double>(keys->size()));
    std::vector<MonitoredKey> monitored;
    std::vector<std::pair<std::string, int32_t>> pending;
    uint64_t version = 0;
    {
      absl::MutexLock lock(&mu_);
      monitored = monitored_;
      pending = pending_;
      version = monitored_version_;
    }
    // Until the daemon has read the monitored validators' pubkeys, every key would look
    // unmonitored (and be "discovered" into the wrong group): compare only once it has.
    if (version > 0) ReconcileWeb3SignerKeys(*keys, monitored, pending);
  } else if (failure.ok()) {
    failure = keys.status();
  }
  if (!cfg_.web3signer->metrics_url.empty()) {
    absl::StatusOr<scrape::FetchOptions> fo =
        FetchOptionsForUrl(cfg_.web3signer->metrics_url, cfg_.web3signer->timeout);
    absl::StatusOr<scrape::FetchResult> page =
        fo.ok() ? scrape::Fetch(*fo) : absl::StatusOr<scrape::FetchResult>(fo.status());
    OwnedSamples samples;
    absl::Status parsed =
        page.ok() ? ParseSamples(page->body, page->content_type, &samples) : page.status();
    if (parsed.ok()) {
      const signer::Web3SignerMetrics m = signer::ExtractWeb3SignerMetrics(samples.samples);
      if (m.signing_duration_count)
        f.w_sign_count->Set(f.w_sign_count->GetOrCreate({}), *m.signing_duration_count);
      if (m.signing_duration_sum)
        f.w_sign_sum->Set(f.w_sign_sum->GetOrCreate({}), *m.signing_duration_sum);
      for (const auto& [q, v] : m.signing_duration_quantiles) {
        const std::string qs = absl::StrCat(q);
        const std::string_view l[] = {qs};
        f.w_sign_quantile->Set(f.w_sign_quantile->GetOrCreate(l), v);
      }
      if (m.prevented_signings)
        f.w_prevented->Set(f.w_prevented->GetOrCreate({}), *m.prevented_signings);
      if (m.permitted_signings)
        f.w_permitted->Set(f.w_permitted->GetOrCreate({}), *m.permitted_signings);
      if (m.missing_identifier_requests) {
        f.w_missing_id->Set(f.w_missing_id->GetOrCreate({}), *m.missing_identifier_requests);
      }
    } else if (failure.ok()) {
      failure = parsed;
    }
  }
  if (failure.ok()) {
    health_->Success(kSourceWeb3Signer, w3s_target_);
  } else {
    health_->Failure(kSourceWeb3Signer, w3s_target_, HttpReason(failure), ToStd(failure.message()));
  }
}

void SigningPath::ReconcileWeb3SignerKeys(
    const std::vector<std::string>& keys, const std::vector<MonitoredKey>& monitored,
    const std::vector<std::pair<std::string, int32_t>>& pending) {
  Families& f = *f_;
  std::vector<std::string> configured;
  configured.reserve(monitored.size() + pending.size());
  for (const MonitoredKey& k : monitored) configured.push_back(k.pubkey);
  for (const auto& [k, g] : pending) configured.push_back(k);
  const signer::KeyReconciliation rec = signer::ReconcileKeys(keys, configured);
  f.w_unmonitored->Set(f.w_unmonitored->GetOrCreate({}),
                       static_cast<double>(rec.loaded_not_monitored.size()));
  std::vector<uint64_t> not_loaded(options_.group_names.size(), 0);
  auto count = [&](const std::string& key, int32_t group) {
    if (std::binary_search(rec.configured_not_loaded.begin(), rec.configured_not_loaded.end(),
                           key) &&
        static_cast<size_t>(group) < not_loaded.size()) {
      ++not_loaded[static_cast<size_t>(group)];
    }
  };
  for (const MonitoredKey& k : monitored) count(k.pubkey, k.group);
  for (const auto& [k, g] : pending) count(k, g);
  for (size_t g = 0; g < not_loaded.size(); ++g) {
    const std::string_view l[] = {options_.group_names[g]};
    f.g_not_loaded->Set(f.g_not_loaded->GetOrCreate(l), static_cast<double>(not_loaded[g]));
  }
  if (cfg_.web3signer->auto_discover && !rec.loaded_not_monitored.empty()) {
    absl::MutexLock lock(&mu_);
    for (const std::string& k : rec.loaded_not_monitored) {
      if (discovered_seen_.insert(k).second) discovered_.push_back(k);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Validator clients.

void SigningPath::PollValidatorClientOnce(size_t i) {
  Families& f = *f_;
  Vc& vc = *vcs_[i];
  absl::StatusOr<scrape::FetchResult> page = scrape::Fetch(vc.fetch);
  OwnedSamples samples;
  absl::Status s =
      page.ok() ? ParseSamples(page->body, page->content_type, &samples) : page.status();
  if (!s.ok()) {
    health_->Failure(kSourceValidatorClient, vc.cfg.name, HttpReason(s), ToStd(s.message()));
    return;
  }
  const signer::ValidatorClientStatus st = signer::MapValidatorClient(vc.kind, samples.samples);
  const std::string_view l[] = {vc.cfg.name};
  const std::string kind(signer::ClientKindName(st.kind));
  if (kind != vc.last_kind) {
    if (!vc.last_kind.empty()) {
      const std::string_view old[] = {vc.cfg.name, vc.last_kind};
      f.vc_info->Set(f.vc_info->GetOrCreate(old), 0);
    }
    const std::string_view nl[] = {vc.cfg.name, kind};
    f.vc_info->Set(f.vc_info->GetOrCreate(nl), 1);
    vc.last_kind = kind;
  }
  auto set = [&l](Family* fam, const std::optional<double>& v) {
    if (v.has_value()) fam->Set(fam->GetOrCreate(l), *v);
  };
  set(f.vc_enabled, st.validators_enabled);
  set(f.vc_total, st.validators_total);
  set(f.vc_bn_available, st.beacon_nodes_available);
  set(f.vc_bn_synced, st.beacon_nodes_synced);
  set(f.vc_sign_errors, st.signing_errors);
  set(f.vc_slashable, st.slashable_refused);
  health_->Success(kSourceValidatorClient, vc.cfg.name);
}

}  // namespace stakewatch::app
