// notifier: delivers alerts to Alertmanager the way Prometheus 2.42's notifier/notifier.go does.
//
//   ASSIGN_OR_RETURN(auto n, notifier::Notifier::Create({.user_agent = "stakewatch/0.1.0",
//                                                        .metrics_store = &store}));
//   RETURN_IF_ERROR(n->ApplyConfig(cfg.global, cfg.alerting));
//   n->Start();
//   n->Send(alerts);                 // from the rule engine's callback, any thread
//   ...
//   n->Stop(absl::Seconds(10));      // at shutdown: drain, then join
//
// Pipeline (Prometheus's Send, relabelAlerts, nextBatch, sendAll, sendOne):
//  1. Send() adds every `global.external_labels` label the alert does not have (absent or
//     empty), then runs `alerting.alert_relabel_configs`; an alert they drop is gone.
//  2. The alerts are queued. More alerts than the capacity: only the newest `queue_capacity` are
//     kept; queue + new above the capacity: the oldest queued ones are dropped. Both count in
//     notifications_dropped_total.
//  3. The send loop takes batches of at most `max_batch_size` in queue order and POSTs the same
//     body (EncodeAlerts) concurrently to every Alertmanager, each request bounded by its
//     Alertmanager's `timeout`. Any 2xx is success. There are no retries: the rule engine
//     resends firing alerts anyway.
//
// Self-metrics (in Options::metrics_store; Prometheus's names with the prefix stakewatch_ and
// Prometheus 2.42's increments):
//   notifications_latency_seconds{alertmanager}   histogram (Prometheus: a summary); one
//       observation per request: seconds from the start of the batch to its end.
//   notifications_errors_total{alertmanager}      +1 per failed request (not per alert).
//   notifications_sent_total{alertmanager}        +len(batch) per request, failed or not.
//   notifications_dropped_total                   +len(batch) when no Alertmanager accepted it
//       (also when none is configured), + queue overflow, + what Stop() could not deliver.
//   notifications_queue_length, notifications_queue_capacity,
//   notifications_alertmanagers_discovered (URLs currently configured).
// sent/errors series of every configured Alertmanager exist from ApplyConfig on (at 0). Series
// of an Alertmanager removed at reload stay exported with their last values, as in Prometheus
// 2.42 (whose reload builds new sets and never deletes the old series).
//
// Failures are logged (common/log.h) one line per failed request: msg="Error sending alert",
// alertmanager=<URL>, count, err. URLs hold scheme, host:port and path only, never credentials.
//
// Differences from Prometheus 2.42, on purpose: Stop() drains the queue (up to a deadline,
// like Prometheus 3's --alertmanager.drain-notification-queue-on-shutdown) and counts what is
// left as dropped; Prometheus 2.42 drops the queue silently. Alertmanagers come from
// static_configs only (no service discovery or relabel_configs of Alertmanagers).
//
// Ownership and threads: a Notifier owns its send-loop thread and the request threads it starts
// (one per Alertmanager per batch). Send, ApplyConfig, QueueLength and AlertmanagerUrls may be
// called from any thread at any time; Start and Stop from one controlling thread (Start at most
// once; Stop is idempotent). The destructor calls Stop(absl::ZeroDuration()) if needed. The
// metrics store and the clock must outlive the Notifier.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "config/config.h"
#include "exposition/series_store.h"
#include "tsdb/labels.h"

namespace stakewatch::notifier {

// One alert as sent (Prometheus's notifier.Alert).
struct Alert {
  tsdb::Labels labels;
  // Annotations, sorted by name. Empty values are kept and sent ("summary":""), as Prometheus
  // does (its annotations are a label list that may hold empty values).
  std::map<std::string, std::string> annotations;
  // Always set by the rule manager. Encoded in UTC with milliseconds (truncated).
  absl::Time starts_at;
  absl::Time ends_at;
  std::string generator_url;  // omitted from the body when empty
};

struct Options {
  // --alertmanager.notification-queue-capacity; > 0.
  size_t queue_capacity = 10000;
  // Alerts per request (Prometheus 2.42's maxBatchSize); > 0.
  size_t max_batch_size = 64;
  // The User-Agent header; "" means "stakewatch".
  std::string user_agent;
  // Where the self-metrics are registered; nullptr: no metrics. Not owned.
  exposition::SeriesStore* metrics_store = nullptr;
  // Measures the latency metric; nullptr means Clock::Real(). Not owned. Timeouts and the
  // drain deadline are real (monotonic) time, because they bound real network I/O.
  Clock* clock = nullptr;
};

class Notifier {
 public:
  // InvalidArgument for a zero capacity or batch size; AlreadyExists if the metric names are
  // already registered in the store. Sends nothing until ApplyConfig and Start.
  static absl::StatusOr<std::unique_ptr<Notifier>> Create(Options options);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Validates and applies `global.external_labels` and the `alerting` section: the Alertmanager
  // URLs <scheme>://<target><path_prefix>/api/v2/alerts (path joined and cleaned as Go's
  // path.Join does; duplicate URLs within one alertmanagers entry sent to once), the alert
  // relabel configs compiled with relabel::Relabeler. InvalidArgument (naming the entry) for a
  // bad scheme, api_version other than v2, timeout <= 0, path_prefix not starting with "/",
  // malformed target, both basic_auth and authorization, authorization type "Basic",
  // cert_file without key_file (or the reverse), an unreadable tls ca_file
  // (FailedPrecondition), a reserved or invalid external label name, or a relabel config the
  // Relabeler rejects. On error the previous configuration stays in place. Alerts already
  // queued are sent with the configuration current when their batch goes out.
  absl::Status ApplyConfig(const config::GlobalConfig& global,
                           const config::AlertingConfig& alerting);
  // The checks of ApplyConfig without applying anything (a reload validates every part of a new
  // configuration before it applies any).
  static absl::Status ValidateConfig(const config::GlobalConfig& global,
                                     const config::AlertingConfig& alerting);

  // Labels, relabels and queues `alerts` (see the file comment). Never blocks on the network.
  // After Stop() the alerts are counted as dropped.
  void Send(std::vector<Alert> alerts);

  // Starts the send loop thread. REQUIRES: called at most once.
  void Start();

  // Stops accepting alerts and keeps sending until the queue is empty or `drain_timeout` has
  // passed; each request is bounded by its Alertmanager's timeout and by the remaining time
  // (a request still running at the deadline is aborted). Then joins every thread. What is left
  // in the queue is counted as dropped and logged. Idempotent; works without Start() (nothing
  // is sent then).
  void Stop(absl::Duration drain_timeout);

  size_t QueueLength() const;
  // The configured Alertmanager URLs, in configuration order.
  std::vector<std::string> AlertmanagerUrls() const;

 private:
  struct State;
  struct Metrics;
  struct Request;
  explicit Notifier(Options options);

  static absl::StatusOr<std::shared_ptr<State>> BuildState(const config::GlobalConfig& global,
                                                           const config::AlertingConfig& alerting);
  void Loop();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stopping_ || !queue_.empty();
  }
  // Sends one batch to every Alertmanager of `state`; true if at least one accepted it.
  bool SendAll(const std::vector<Alert>& batch, const State& state);
  // One POST of `body` to `r->target`; records the outcome in *r and the metrics.
  void RunRequest(Request* r, const State& state, const std::string& body, size_t count,
                  absl::Time begin);
  // The deadline imposed by Stop(): InfiniteFuture while running.
  absl::Time DrainDeadline() const;
  void AddDropped(size_t n);
  void SetQueueLengthLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  Clock* const clock_;
  std::unique_ptr<Metrics> metrics_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const State> state_ ABSL_GUARDED_BY(mu_);
  absl::CondVar cv_;  // signalled when a request ends and when Stop() starts
  std::deque<Alert> queue_ ABSL_GUARDED_BY(mu_);  // oldest first
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time drain_deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  std::thread loop_;
};

// The JSON body Prometheus 2.42 POSTs for `alerts` (Alertmanager API v2 PostableAlerts),
// byte for byte: an array of
//   {"annotations":{..},"endsAt":"..","startsAt":"..","generatorURL":"..","labels":{..}}
// in that key order (Go's struct order of models.PostableAlert); "annotations" omitted when
// there are none and "generatorURL" when empty; map keys sorted bytewise; strings escaped as
// Go's encoding/json (before Go 1.22) does: \" \\ \n \r \t, other control bytes as \u00XX
// (lowercase hex), < > & as \u003c \u003e \u0026, U+2028/U+2029 as \u2028/\u2029, each byte
// of invalid UTF-8 as \ufffd, everything else (DEL included) as is. Times are UTC RFC 3339
// with exactly three fractional digits, truncated ("2026-11-29T03:15:03.000Z").
std::string EncodeAlerts(const std::vector<Alert>& alerts);

}  // namespace stakewatch::notifier
