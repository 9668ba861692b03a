// SigningPath: everything between a validator's duty and its signature, watched from outside —
// validator clients' /metrics, Web3Signer (status, keys, metrics), Web3Signer's slashing-
// protection database, the configured scrape targets, and the key-safety reconciliation of the
// chain against the database (app/key_safety.h).
//
// Each source runs on its own thread at its own interval (app/periodic.h), so a slow or broken
// source never delays another one or the epoch accounting; each reports through SourceHealth
// (stakewatch_source_up{source,target} and friends). Metric families are documented in
// docs/metrics.md ("Signing path").
//
// The daemon's polling thread tells it which validators are monitored (SetMonitored, with
// their pubkeys and whether they are active), the chain's current epoch (SetChainEpoch), and
// hands over each counted epoch's on-chain facts (QueueReconciliation); the database thread
// answers them. With web3signer.auto_discover, keys Web3Signer holds that no group lists are
// handed back through TakeDiscoveredPubkeys().
//
// Threads: every public method is thread-safe. Create/Start/Stop from the controlling thread.
// Ownership: the store, health, storage and clock are borrowed and outlive this object.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "app/key_safety.h"
#include "app/periodic.h"
#include "app/source_health.h"
#include "common/clock.h"
#include "config/config.h"
#include "exposition/series_store.h"
#include "tsdb/storage.h"

namespace stakewatch::slashingdb {
class SlashingDb;
}
namespace stakewatch::signer {
class Web3SignerClient;
}
namespace stakewatch::scrape {
class Scraper;
}

namespace stakewatch::app {

// A monitored validator as the signing path sees it.
struct MonitoredKey {
  beacon::ValidatorIndex index = 0;
  int32_t group = 0;
  std::string pubkey;  // "0x" + 96 lower-case hex digits
  bool active = true;  // has duties now (signing lag is judged only for active validators)
};

// One counted epoch's on-chain facts for the reconciliation.
struct EpochChainFacts {
  beacon::Epoch epoch = 0;
  uint64_t slots_per_epoch = 32;
  std::vector<ChainDuty> duties;   // every counted attestation duty of a monitored validator
  std::vector<ChainBlock> blocks;  // blocks our validators proposed (canonical or orphaned)
};

struct SigningPathOptions {
  const config::Config* config = nullptr;
  exposition::SeriesStore* store = nullptr;
  SourceHealth* health = nullptr;
  tsdb::Storage* scrape_storage = nullptr;  // where scrape_configs' samples go
  Clock* clock = nullptr;
  std::vector<std::string> group_names;  // by group id
  bool per_validator_metrics = false;
  uint64_t per_validator_limit = 10000;
  // Lag above which an active validator counts as stalled, in epochs.
  uint64_t stall_epochs = 2;
};

class SigningPath {
 public:
  // Fails on an invalid configuration (bad URL, unreadable DSN source, bad relabel regex).
  static absl::StatusOr<std::unique_ptr<SigningPath>> Create(SigningPathOptions options);
  ~SigningPath();

  void Start();
  void Stop();

  // `keys`: monitored validators with a known pubkey; `pending`: configured pubkeys (with their
  // group) not resolved to an index yet — still "configured" for Web3Signer's key comparison.
  void SetMonitored(std::vector<MonitoredKey> keys,
                    std::vector<std::pair<std::string, int32_t>> pending = {});
  void SetChainEpoch(beacon::Epoch epoch);
  // Non-blocking: the database thread reconciles it soon (at most 8 epochs wait; older ones
  // are dropped and counted as skipped).
  void QueueReconciliation(EpochChainFacts facts);
  std::vector<std::string> TakeDiscoveredPubkeys();

  // One round of each source, synchronously (tests).
  void PollSlashingDbOnce();
  void PollWeb3SignerOnce();
  void PollValidatorClientOnce(size_t i);

 private:
  explicit SigningPath(SigningPathOptions options);
  absl::Status Init();
  absl::Status InitMetrics();
  void DbLoop();
  void ReconcileWeb3SignerKeys(const std::vector<std::string>& keys,
                               const std::vector<MonitoredKey>& monitored,
                               const std::vector<std::pair<std::string, int32_t>>& pending);
  // Runs one queued reconciliation; false when the database failed (the job is kept).
  bool ReconcileOne(const EpochChainFacts& facts);

  SigningPathOptions options_;
  const config::Config& cfg_;
  exposition::SeriesStore* store_;
  SourceHealth* health_;
  Clock* clock_;

  // Slashing DB.
  std::unique_ptr<slashingdb::SlashingDb> db_;
  std::string db_target_;
  std::thread db_thread_;
  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<MonitoredKey> monitored_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, int32_t>> pending_ ABSL_GUARDED_BY(mu_);
  uint64_t monitored_version_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<beacon::Epoch> chain_epoch_ ABSL_GUARDED_BY(mu_);
  std::vector<EpochChainFacts> reconcile_queue_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> discovered_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> discovered_seen_ ABSL_GUARDED_BY(mu_);

  // Web3Signer.
  std::unique_ptr<signer::Web3SignerClient> w3s_;
  std::string w3s_target_;
  std::unique_ptr<PeriodicThread> w3s_thread_;

  // Validator clients.
  struct Vc;
  std::vector<std::unique_ptr<Vc>> vcs_;
  std::vector<std::unique_ptr<PeriodicThread>> vc_threads_;

  // Scrape targets.
  class ScrapeHealth;
  std::unique_ptr<ScrapeHealth> scrape_health_;
  std::vector<std::unique_ptr<scrape::Scraper>> scrapers_;

  struct Families;
  std::unique_ptr<Families> f_;
  bool started_ = false;
};

}  // namespace stakewatch::app
