// RulesRuntime: the daemon's embedded Prometheus. It owns the PromQL engine and the rule manager
// over the daemon's in-memory series store, scrapes stakewatch's own /metrics into that store (job
// "stakewatch", as a Prometheus server scraping it would), compacts the store to its retention,
// and reloads the rule files on request.
//
//   RulesRuntimeOptions o{.config = &cfg, .config_dir = "/etc/stakewatch", .storage = &mem,
//                         .metrics_store = &store, .clock = clock};
//   ASSIGN_OR_RETURN(auto rt, RulesRuntime::Create(o));   // loads the rule files
//   rt->Start("127.0.0.1:9787");                           // threads; own address for scraping
//   absl::Status s = rt->Reload();                         // SIGHUP, POST /-/reload
//   rt->Stop();
//
// Rule files are the config's `rule_files` globs, relative to the configuration file's directory
// (as Prometheus resolves them). A reload that fails (a file missing, invalid or not matching)
// leaves the previous rules running, logs the error and sets
// stakewatch_rules_config_last_reload_successful to 0.
//
// Retention: `storage.retention` when set (every series). Otherwise per metric name: how far the
// loaded rules look back at that name (range + offset, nested subqueries, the 5-minute lookback)
// plus one hour, and at least six hours for every series (so dashboards reading the query API
// have some history); selectors without a name count for every series. So a 30-day SLO over a
// few counters keeps those counters 30 days, not everything.
//
// Warm-up: rule evaluation starts once every scrape (the self-scrape and `scrape_configs`) has
// had its first slot: after the longest scrape interval plus its timeout. Without it the first
// evaluation after a restart could run on an empty store and resolve restored alerts, or drop
// restored pending ones, that are still true.
//
// Ownership and threads: the daemon owns the runtime; the storage, metrics store and clock are
// borrowed and must outlive it. Create/Start/Stop are called from the daemon's controlling
// thread; Reload, engine() and manager() from any thread (the HTTP server's). The rule manager
// runs one thread per group; the self-scrape and compaction run on their own threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "config/config.h"
#include "exposition/series_store.h"
#include "query/engine.h"
#include "ruleeval/manager.h"
#include "scrape/scraper.h"
#include "tsdb/storage.h"

namespace stakewatch::app {

struct RulesRuntimeOptions {
  const config::Config* config = nullptr;            // required; copied at Create
  std::string config_dir = ".";                      // rule_files are relative to this
  tsdb::MemStorage* storage = nullptr;               // required; not owned
  exposition::SeriesStore* metrics_store = nullptr;  // rule self-metrics; optional
  Clock* clock = Clock::Real();
  std::string external_url;                        // --web.external-url
  absl::Duration resend_delay = absl::Minutes(1);  // --rules.alert.resend-delay
  query::EngineOptions engine;                     // --query.* flags
  ruleeval::NotifyFunc notify;                     // alerts to send; optional
  // Alert state is persisted in this directory (storage.path) and restored at start-up; empty:
  // not persisted. `restore`: --rules.alert.for-outage-tolerance / for-grace-period.
  std::string state_dir;
  ruleeval::RestoreOptions restore;
};

class RulesRuntime {
 public:
  static absl::StatusOr<std::unique_ptr<RulesRuntime>> Create(RulesRuntimeOptions options);
  ~RulesRuntime();  // Stop()s
  RulesRuntime(const RulesRuntime&) = delete;
  RulesRuntime& operator=(const RulesRuntime&) = delete;

  // Starts the rule groups, the compaction loop and (if enabled) the self-scrape of
  // `self_address` ("host:port" of one of the daemon's listeners; empty: no self-scrape).
  absl::Status Start(const std::string& self_address, const std::string& telemetry_path);
  void Stop();

  // Re-resolves the rule_files globs and reloads the rules.
  absl::Status Reload();
  // Reloads with a new configuration's `rule_files`, `global.evaluation_interval` and
  // `global.external_labels` (the rest of `cfg` is ignored: the self-scrape and retention
  // settings need a restart). On error nothing changes.
  absl::Status Reload(const config::Config& cfg);

  const query::Engine& engine() const { return engine_; }
  ruleeval::Manager& manager() { return *manager_; }
  tsdb::MemStorage& storage() { return *options_.storage; }
  // The rule files loaded last (resolved paths).
  std::vector<std::string> files() const;

 private:
  explicit RulesRuntime(RulesRuntimeOptions options);
  absl::StatusOr<std::vector<std::string>> ResolveFiles(
      const std::vector<std::string>& patterns) const;
  void ApplyRetention(const std::vector<std::string>& files);
  void CompactLoop();
  absl::Duration WarmUp() const;

  RulesRuntimeOptions options_;
  config::Config config_;  // rule_files and global's reloadable fields are guarded by mu_
  query::Engine engine_;
  std::unique_ptr<ruleeval::Manager> manager_;
  std::unique_ptr<scrape::Scraper> self_scraper_;
  absl::Notification stop_;
  std::thread compact_thread_;
  bool started_ = false;
  mutable absl::Mutex mu_;
  std::vector<std::string> files_ ABSL_GUARDED_BY(mu_);
};

// The files `patterns` (rule_files globs, relative ones against `config_dir`) match, sorted and
// without duplicates; a pattern matching nothing adds nothing (as Prometheus).
absl::StatusOr<std::vector<std::string>> ResolveRuleFiles(const std::vector<std::string>& patterns,
                                                          const std::string& config_dir);

// The longest time any expression in `files` looks back from its evaluation time, in ms: the
// largest range + offset of a range selector, offset of an instant selector, and subquery
// range + offset with everything inside it (plus `lookback_ms` for instant selectors). Files or
// expressions that do not parse are skipped.
int64_t LongestLookbackMs(const std::vector<std::string>& files, int64_t lookback_ms);
// The same per metric name ("" for selectors without a name, e.g. `{job="x"}`).
std::map<std::string, int64_t> LookbackByNameMs(const std::vector<std::string>& files,
                                                int64_t lookback_ms);

}  // namespace stakewatch::app
