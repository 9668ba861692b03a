// Daemon: `stakewatch run`. Wires configuration, the beacon client, accounting, the series store
// and the HTTP server (/metrics, /, /-/healthy, /-/ready).
//
//   ASSIGN_OR_RETURN(auto daemon, Daemon::Create(std::move(options)));
//   RETURN_IF_ERROR(daemon->Start());   // binds the listeners, starts the polling thread
//   ...                                 // until a signal
//   daemon->Stop();
//
// Threads: one polling thread (beacon requests, accounting, store updates) and cpp-httplib's
// worker threads (rendering /metrics from the store, which is safe to read concurrently).
// Create/Start/Stop are called from one controlling thread. The daemon owns everything it
// creates; the Clock is borrowed and must outlive it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "accounting/accounting.h"
#include "api/api.h"
#include "app/epoch_processor.h"
#include "app/epoch_report.h"
#include "app/self_metrics.h"
#include "app/status_page.h"
#include "app/validator_metrics.h"
#include "beacon/client.h"
#include "common/clock.h"
#include "config/config.h"
#include "exposition/series_store.h"
#include "notifier/notifier.h"
#include "query/engine.h"
#include "ruleeval/state.h"
#include "tsdb/storage.h"

namespace httplib {
class Server;
}
namespace stakewatch::events {
class EventStream;
}
namespace stakewatch::webconfig {
class WebSecurity;
}
namespace stakewatch::execution {
class ExecutionClient;
class RelayClient;
}  // namespace stakewatch::execution

namespace stakewatch::app {

class BeaconNodeMetrics;
class NodeInfoPoller;
class RulesRuntime;
class SigningPath;
class SourceHealth;

struct DaemonOptions {
  config::Config config;
  // "host:port", ":port" (all interfaces) or "[v6]:port"; port 0 picks a free port.
  std::vector<std::string> listen_addresses = {":9787"};
  std::string telemetry_path = "/metrics";
  Clock* clock = Clock::Real();
  // The configuration file's directory: rule_files globs are relative to it.
  std::string config_dir = ".";
  // --web.external-url (for $externalURL and alert generator URLs); empty: derived from the
  // host name and the first listen address, as Prometheus does.
  std::string external_url;
  absl::Duration resend_delay = absl::Minutes(1);  // --rules.alert.resend-delay
  ruleeval::RestoreOptions restore;  // --rules.alert.for-outage-tolerance, for-grace-period
  size_t notification_queue_capacity = 10000;  // --alertmanager.notification-queue-capacity
  absl::Duration notifier_drain_timeout = absl::Seconds(5);  // --alertmanager.drain-timeout
  query::EngineOptions engine;                               // --query.timeout, --query.max-samples
  int query_max_concurrency = 20;                            // --query.max-concurrency
  // The configuration file and the text `config` was parsed from; Reload re-reads the file.
  // Empty config_file (the demo): Reload re-reads the rule files only.
  std::string config_file;
  std::string config_text;
  // --web.config.file (exporter-toolkit's format: TLS, basic auth, response headers); empty:
  // plain HTTP without authentication. The file is re-read as exporter-toolkit does.
  std::string web_config_file;
  // --web.enable-lifecycle: POST /-/reload is served; otherwise it answers 403, as Prometheus.
  bool enable_lifecycle = false;
  // Request limits: a body over max_request_body_bytes gets 413, a header section over
  // max_header_bytes gets 431 (cpp-httplib also rejects any single header line over 8 KiB).
  size_t max_request_body_bytes = 1 << 20;
  size_t max_header_bytes = 64 << 10;
  // Called on the polling thread after each processed epoch (the demo prints progress).
  std::function<void(const accounting::EpochResult&, absl::Duration took)> on_epoch;
};

// The metadata of stakewatch's own metric families that have series (for /api/v1/metadata).
std::vector<api::MetricMetadata> OwnMetadata(const exposition::SeriesStore& store);

class Daemon {
 public:
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(DaemonOptions options);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Binds every listen address and starts serving and polling. Fails if a port cannot be bound.
  absl::Status Start();
  // Stops rule evaluation (alert state is on disk), drains the notifier (at most
  // notifier_drain_timeout), then stops polling and serving and waits for the threads (a source
  // in the middle of a slow request can hold this up to its timeout; `stakewatch run` bounds
  // the whole shutdown). Idempotent.
  void Stop();

  // "host:port" actually bound, one per listen address (valid after Start()).
  const std::vector<std::string>& bound_addresses() const { return bound_addresses_; }
  exposition::SeriesStore& store() { return store_; }

  // Reloads the configuration (SIGHUP, POST /-/reload): the file is read and validated whole
  // (every section, the rule files, the alerting section) before anything changes; on any error
  // the previous configuration keeps running, the error is logged, returned and
  // stakewatch_config_last_reload_successful is 0. Applied live: rule_files, alerting,
  // global.evaluation_interval and global.external_labels. Changes to any other section are
  // validated but take effect only after a restart: they are logged and
  // stakewatch_config_restart_pending is 1 until then. Thread-safe; reloads are serialised.
  absl::Status Reload();
  // What the status page shows, now. Thread-safe.
  StatusSnapshot Status() const;
  // The rule manager, engine and series store (valid after Create).
  RulesRuntime& rules() { return *rules_; }

 private:
  explicit Daemon(DaemonOptions options);
  absl::Status Init();
  void PollLoop();
  void Tick();
  // Counts epoch `epoch` (final): accounting, enrichment, execution rewards, counters, progress.
  absl::Status CountEpoch(beacon::Epoch epoch);
  // Accounts the newest complete epoch provisionally (gauges only).
  void ProcessProvisional(beacon::Epoch epoch);
  // Looks for a reorg by polling: is the last head we saw still canonical at its slot?
  void CheckReorgByPolling(const beacon::BlockHeader& head);
  // POST liveness for `epoch` (the early, gossip-based signal).
  void CheckLiveness(beacon::Epoch epoch);
  // Execution-layer rewards of the proposed blocks of a counted epoch.
  std::vector<ExecutionRecord> ExecutionRewards(const accounting::EpochResult& result);
  // Wakes the polling thread early (new head, reorg).
  void Wake();
  void StartEventStream();
  // Looks up pending pubkeys at the head state; found ones join monitored_ (group rollups only:
  // they get no per-validator series), the rest stay pending.
  void ResolvePubkeys();
  // Hands the monitored validators (index, group, pubkey, active) to the signing path.
  void UpdateSigningPath(bool force);
  // The counted epoch's on-chain facts to the key-safety reconciliation.
  void QueueReconciliation(beacon::Epoch epoch);
  std::string RenderLandingPage() const;
  absl::Status ReloadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);
  // Per-group results of an accounted epoch, for the status page.
  void UpdateStatusGroups(const accounting::EpochResult& result,
                          const std::vector<accounting::SyncCommitteeResult>* sync, bool final);

  DaemonOptions options_;
  exposition::SeriesStore store_;
  std::optional<SelfMetrics> self_metrics_;
  std::unique_ptr<BeaconNodeMetrics> node_metrics_;
  std::unique_ptr<SourceHealth> source_health_;
  std::unique_ptr<NodeInfoPoller> node_info_;
  // Validator clients, Web3Signer, the slashing-protection database, scrape targets and the
  // key-safety reconciliation; null when none of them is configured.
  std::unique_ptr<SigningPath> signing_path_;
  // Scraped targets, stakewatch's own series and recording-rule output (for rules and the API).
  std::unique_ptr<tsdb::MemStorage> storage_;
  std::unique_ptr<notifier::Notifier> notifier_;  // alerts to Alertmanager
  std::unique_ptr<RulesRuntime> rules_;           // the rule manager and PromQL engine
  std::unique_ptr<api::Api> api_;                 // Prometheus's HTTP API over rules_ and storage_
  int32_t discover_group_ = -1;                   // web3signer.auto_discover's group id
  size_t signing_keys_known_ = SIZE_MAX;          // pubkeys handed to signing_path_ last time
  std::unique_ptr<ValidatorMetrics> validator_metrics_;
  std::unique_ptr<beacon::BeaconClient> client_;  // null when no beacon node is configured
  accounting::MonitoredSet monitored_;
  std::vector<beacon::ValidatorIndex> monitored_list_;  // ascending
  std::vector<std::optional<beacon::Address>> group_fee_recipients_;
  std::unique_ptr<EpochProcessor> processor_;
  std::unique_ptr<EpochEnricher> enricher_;
  beacon::ChainSpec spec_;
  accounting::EpochResult epoch_result_;  // reused every epoch (its capacity is kept)
  accounting::EpochResult provisional_result_;
  EpochReport report_;
  // Blocks below this slot in the processor's cache were read after they were finalized.
  beacon::Slot final_watermark_ = 0;
  std::optional<beacon::Epoch> provisional_epoch_;
  bool primed_ = false;  // EpochEnricher::Prime ran (once, before the first counted epoch)
  std::optional<beacon::Epoch> last_liveness_epoch_;
  // Live validators (ascending) per recent epoch, kept for the key-safety reconciliation of
  // the epoch once it is counted (only with a signing path; at most 32 epochs).
  std::map<beacon::Epoch, std::vector<beacon::ValidatorIndex>> live_by_epoch_;
  std::optional<std::pair<beacon::Slot, beacon::Root>> last_head_;
  std::atomic<bool> reorg_pending_{false};       // set by the event stream
  std::atomic<uint64_t> head_slot_{UINT64_MAX};  // the head slot last polled (status page)
  absl::Mutex wake_mu_;
  bool wake_ ABSL_GUARDED_BY(wake_mu_) = false;
  std::unique_ptr<events::EventStream> event_stream_;
  std::unique_ptr<execution::ExecutionClient> execution_;
  std::vector<std::unique_ptr<execution::RelayClient>> relays_;
  std::vector<std::string> relay_names_;
  uint64_t slots_per_epoch_ = 32;
  absl::Duration poll_interval_ = absl::Seconds(12);
  std::optional<beacon::Epoch> next_epoch_;
  std::optional<beacon::Epoch> resume_epoch_;  // from the progress file, if any
  uint64_t genesis_time_ = 0;
  // Validators configured by pubkey and not resolved to an index yet (not deposited, or the node
  // did not answer), with their group; retried once per epoch.
  std::vector<std::pair<std::string, int32_t>> pending_pubkeys_;
  uint64_t last_resolve_epoch_ = UINT64_MAX;
  absl::Time last_health_check_ = absl::InfinitePast();

  std::unique_ptr<webconfig::WebSecurity> web_;        // null without --web.config.file
  exposition::Family* web_reload_failures_ = nullptr;  // these three: only with web_
  exposition::Family* web_auth_failures_ = nullptr;
  exposition::Family* web_handshake_refusals_ = nullptr;
  absl::Mutex reload_mu_;
  exposition::Family* reload_ok_ = nullptr;
  exposition::Family* reload_ts_ = nullptr;
  exposition::Family* restart_pending_ = nullptr;
  // Status page state.
  const absl::Time started_at_ = absl::Now();
  mutable absl::Mutex status_mu_;
  // One per group: the last counted epoch's results, and the last provisional epoch's.
  std::vector<StatusGroup> status_final_ ABSL_GUARDED_BY(status_mu_);
  std::vector<StatusGroup> status_provisional_ ABSL_GUARDED_BY(status_mu_);
  bool last_reload_ok_ ABSL_GUARDED_BY(status_mu_) = true;
  absl::Time last_reload_ ABSL_GUARDED_BY(status_mu_) = absl::InfinitePast();
  std::string last_reload_error_ ABSL_GUARDED_BY(status_mu_);
  std::vector<std::unique_ptr<httplib::Server>> servers_;
  std::vector<std::thread> server_threads_;
  std::vector<std::string> bound_addresses_;
  std::thread poll_thread_;
  absl::Notification stop_;
  std::atomic<bool> ready_{false};
  bool started_ = false;
  bool stopped_ = false;
};

// Parses a listen address into host and port ("" host = all interfaces).
absl::Status ParseListenAddress(std::string_view address, std::string* host, int* port);

}  // namespace stakewatch::app
