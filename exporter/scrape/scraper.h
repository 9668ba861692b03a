// The scraper: fetches Prometheus /metrics pages and stores their samples the way Prometheus
// 2.42's scrape loop (scrape/scrape.go) does.
//
// Two layers:
//  * Fetch(): one HTTP(S) GET of a metrics page with Prometheus's request headers (Accept,
//    Accept-Encoding: gzip, X-Prometheus-Scrape-Timeout-Seconds), auth (basic_auth with
//    password or password_file, bearer_token_file, authorization credentials(_file); files are
//    re-read on every fetch), tls_config, a whole-request deadline and a limit on the
//    uncompressed body. Usable on its own (the daemon reads validator clients' and Web3Signer's
//    /metrics with it).
//  * Scraper: one per scrape_config. Each static target is scraped on its own thread, every
//    scrape_interval, at a stable offset within the interval derived from a hash of the job and
//    target (Prometheus spreads targets the same way). A scrape parses the body with textparse
//    (format from Content-Type), adds the target labels (job, instance, static labels) with
//    honor_labels semantics (false: conflicting exposed labels are renamed exported_<name>),
//    applies metric_relabel_configs, and appends everything through one tsdb::Appender, which
//    is committed at the end. A failed scrape (fetch error, parse error, duplicate label names,
//    missing metric name) rolls the samples back and instead writes staleness markers for every
//    series of the previous successful scrape; series that disappear between two scrapes get
//    markers too (series with explicit timestamps are exempt, as in Prometheus). Every scrape
//    also appends up, scrape_duration_seconds, scrape_samples_scraped,
//    scrape_samples_post_metric_relabeling and scrape_series_added with the target labels.
//
//   ASSIGN_OR_RETURN(auto s, scrape::Scraper::Create(cfg.scrape_configs[0], &storage,
//                                                     Clock::Real(), &health));
//   s->Start();   // background threads, one per target
//   ...
//   s->Stop();    // joins promptly, aborting requests in flight
//
// Errors carry a reason (FetchErrorReason): "timeout", "connect", "http_status", "too_large",
// "parse", "tls", "auth_file" (and "cancelled" when Stop() interrupts a request).
//
// Threads: Fetch() is thread-safe. A Scraper's methods may be called from any thread; scrapes
// of one target are serialized (ScrapeOnce() waits for a background scrape of the same target).
// The observer is called on the scraping thread and must not call back into the Scraper.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "config/config.h"
#include "tsdb/storage.h"

namespace httplib {
class ClientImpl;
}

namespace stakewatch::scrape {

// The Accept header Prometheus 2.42 sends.
inline constexpr std::string_view kPrometheusAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// Error reasons (the payload of a failed Fetch/scrape status).
inline constexpr std::string_view kReasonTimeout = "timeout";
inline constexpr std::string_view kReasonConnect = "connect";
inline constexpr std::string_view kReasonHttpStatus = "http_status";
inline constexpr std::string_view kReasonTooLarge = "too_large";
inline constexpr std::string_view kReasonParse = "parse";
inline constexpr std::string_view kReasonTls = "tls";
inline constexpr std::string_view kReasonAuthFile = "auth_file";
inline constexpr std::string_view kReasonCancelled = "cancelled";

// The reason attached to a status returned by Fetch() or a scrape; "" for OK or foreign errors.
std::string FetchErrorReason(const absl::Status& status);

// One metrics page to fetch. Defaults are Prometheus's.
struct FetchOptions {
  std::string scheme = "http";  // "http" or "https"
  std::string target;           // "host:port", "[v6]:port"; the port defaults from the scheme
  std::string path = "/metrics";
  std::map<std::string, std::vector<std::string>> params;  // query string, sorted by key
  absl::Duration timeout = absl::Seconds(10);              // the whole request
  std::optional<config::BasicAuth> basic_auth;
  std::string bearer_token_file;
  std::optional<config::Authorization> authorization;
  config::TlsConfig tls;
  // Limit on the (uncompressed) body; a larger body fails with "too_large". 0 = no limit.
  uint64_t max_body_bytes = uint64_t{64} << 20;
  std::string accept = std::string(kPrometheusAccept);
  std::string user_agent = "stakewatch-scraper";
};

struct FetchResult {
  int http_status = 0;
  std::string content_type;
  std::string body;  // uncompressed
};

// Lets another thread abort a Fetch in progress (Stop() uses it). Thread-safe.
class FetchCanceller {
 public:
  // Aborts the current and every later fetch using this canceller.
  void Cancel();
  bool cancelled() const;

 private:
  friend class FetchSession;
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  httplib::ClientImpl* active_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// Fetches one page. Non-2xx statuses, timeouts, oversized bodies, TLS failures and unreadable
// auth files are errors with a reason (FetchErrorReason). `canceller` may be null.
absl::StatusOr<FetchResult> Fetch(const FetchOptions& options, FetchCanceller* canceller = nullptr);

// FetchOptions for one target of a scrape config.
FetchOptions FetchOptionsFor(const config::ScrapeConfig& cfg, std::string_view target);

// Told about every finished scrape (for health metrics). Called on the scraping thread.
class ScrapeObserver {
 public:
  virtual ~ScrapeObserver() = default;
  // `error_reason` is "" when ok; `samples` is scrape_samples_scraped.
  virtual void OnScrape(std::string_view job, std::string_view instance, bool ok,
                        absl::Duration duration, std::string_view error_reason, size_t samples) = 0;
};

// What one scrape did (the values of the report series, and the error if any).
struct ScrapeResult {
  bool ok = false;
  absl::Status error;  // OK when ok
  absl::Time time;     // the scrape's timestamp (start)
  absl::Duration duration;
  size_t samples_scraped = 0;
  size_t samples_post_relabel = 0;
  size_t series_added = 0;
  size_t out_of_order = 0;  // samples rejected by the storage (not fatal)
  size_t duplicates = 0;
  size_t out_of_bounds = 0;
  size_t stale_markers = 0;  // markers written in this scrape
};

struct ScraperOptions {
  uint64_t body_size_limit = uint64_t{64} << 20;  // per scrape, uncompressed
};

class Scraper {
 public:
  // Validates the config (relabel regexes) and prepares one scrape loop per static target.
  // `storage` and `clock` must outlive the Scraper; `observer` may be null.
  static absl::StatusOr<std::unique_ptr<Scraper>> Create(const config::ScrapeConfig& cfg,
                                                         tsdb::Storage* storage, Clock* clock,
                                                         ScrapeObserver* observer = nullptr,
                                                         ScraperOptions options = {});
  ~Scraper();  // Stop()s.
  Scraper(const Scraper&) = delete;
  Scraper& operator=(const Scraper&) = delete;

  // Starts one thread per target. Calling it twice is a no-op.
  void Start();
  // Stops the threads, aborting requests in flight; returns once they have exited. Idempotent.
  void Stop();

  // Scrapes `target` (as written in static_configs) now, on the calling thread. NotFound for an
  // unknown target. The result's `error` says why a scrape failed (with a reason payload).
  absl::StatusOr<ScrapeResult> ScrapeOnce(std::string_view target);

  // The targets in config order, and their target labels (job, instance, static labels).
  std::vector<std::string> targets() const;
  absl::StatusOr<tsdb::Labels> TargetLabels(std::string_view target) const;
  // The offset within the interval at which `target` is scraped (stable across restarts).
  static absl::Duration ScrapeOffset(std::string_view job, std::string_view target,
                                     absl::Duration interval);

 private:
  struct Target;
  Scraper() = default;
  ScrapeResult ScrapeTarget(Target& t);
  void Run(Target* t);
  bool WaitUntil(absl::Time deadline);  // false when stopping

  config::ScrapeConfig cfg_;
  tsdb::Storage* storage_ = nullptr;
  Clock* clock_ = nullptr;
  ScrapeObserver* observer_ = nullptr;
  ScraperOptions options_;
  struct Shared;
  std::unique_ptr<Shared> shared_;  // relabeler
  std::vector<std::unique_ptr<Target>> targets_;

  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace stakewatch::scrape
