// EventStream: follows one beacon node's event stream (GET /eth/v1/events) on its own thread.
//
// stakewatch subscribes to head, block, chain_reorg and finalized_checkpoint so that it learns
// of new heads, reorgs and finality at once; while the stream is down the caller falls back to
// REST polling (the connection callback tells it when). The stream is not replayable: after a
// reconnect the caller backfills missed slots through REST.
//
//   auto stream = EventStream::Start(
//       "http://user:pass@localhost:5052", {},
//       [&](const Event& e) { ... runs on the stream's thread ... },
//       [&](bool connected, const absl::Status& why) { ... switch polling off / on ... });
//   if (!stream.ok()) ... bad URL or options ...
//   ...
//   (*stream)->Stop();  // or destroy it
//
// Behaviour:
//   * One thread per EventStream, started by Start(). It connects (HTTP/1.1, basic auth from the
//     URL's user:password, "Accept: text/event-stream"), feeds the body through SseParser,
//     decodes each event with DecodeEvent and calls `on_event` for the four followed topics.
//     Other topics (and events without an "event:" line) are counted and skipped. A malformed
//     event is counted, logged and skipped; the stream continues.
//   * `on_connection(true, OkStatus)` when a stream is established (HTTP 200 with a
//     text/event-stream or absent Content-Type). `on_connection(false, why)` after every
//     established stream ends and after every failed attempt (so several `false` calls in a row
//     are normal during an outage). `why` says what happened:
//       Unimplemented      HTTP 404, 405 or 501 (node without the event stream)
//       Unavailable        could not connect; HTTP 5xx or 429; the server ended the stream
//       FailedPrecondition another HTTP status, or a 200 that is not text/event-stream
//       DeadlineExceeded   connect timeout, or no bytes for `idle_timeout` (stream is dead)
//       Aborted            the connection broke mid-stream
//       ResourceExhausted  an SSE line/event longer than `max_line_bytes` (stream dropped)
//     If a stream is established when Stop() is called, the final call is
//     `on_connection(false, Cancelled)`; nothing is called after Stop() returns.
//   * Reconnects after a wait of `initial_backoff`, doubling on each consecutive failure up to
//     `max_backoff`. The wait goes back to `initial_backoff` once a connection delivered at least
//     one complete SSE event (any topic), so a node that accepts and immediately drops the
//     connection is still backed off. Waits are measured on `clock`.
//   * Idle detection: the socket read timeout is `idle_timeout`, so a stream that sends no byte
//     at all (not even a ':' keep-alive comment) for that long is dropped and reconnected.
//   * Credentials and the URL path are never logged; logs and statuses name the node by
//     NodeUrl::Redacted() ("http://host:port").
//
// How Stop() is prompt: it sets a flag (which the response handler and the content receiver
// check, returning false to abort the transfer, and which wakes the backoff wait), then calls
// httplib::Client::stop() every 20 ms until the thread has finished: stop() shuts down the
// socket of a request in flight, which wakes a read blocked on an idle stream at once. Stop()
// therefore returns within a few tens of milliseconds, except while a TCP connect is in progress
// (httplib holds its socket lock while connecting): then it may wait up to `connect_timeout`.
//
// Thread-safety: Stop(), stats() and redacted_url() may be called from any thread. Callbacks run
// only on the stream's thread, one at a time, and must not call Stop() or destroy the stream.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "events/sse.h"
#include "events/types.h"

namespace httplib {
class Client;
}  // namespace httplib

namespace stakewatch::events {

// The request target, appended to the URL's base path.
inline constexpr std::string_view kEventsTarget =
    "/eth/v1/events?topics=head,block,chain_reorg,finalized_checkpoint";

struct EventStreamOptions {
  // First reconnect wait; doubles per consecutive failure up to max_backoff. Must be > 0.
  absl::Duration initial_backoff = absl::Milliseconds(200);
  // Must be >= initial_backoff.
  absl::Duration max_backoff = absl::Seconds(30);
  // A stream silent for this long is dead (mainnet sends a head event every 12 s). Must be > 0.
  absl::Duration idle_timeout = absl::Seconds(60);
  // TCP connect timeout; also bounds how long Stop() can take during a connect. Must be > 0.
  absl::Duration connect_timeout = absl::Seconds(2);
  // Longest SSE line (and joined event data) accepted. Must be > 0.
  size_t max_line_bytes = SseParser::kDefaultMaxLineBytes;
  // Clock for the reconnect waits; nullptr means Clock::Real(). Not owned; must outlive the
  // stream. With FakeClock the thread waits (polling every 20 ms of real time) until the clock
  // is advanced past the wait. The idle timeout is a socket timeout and always real time.
  Clock* clock = nullptr;
};

// A snapshot of the stream's counters (monotonic since Start()) and state.
struct EventStreamStats {
  uint64_t connects = 0;         // streams established (HTTP 200)
  uint64_t disconnects = 0;      // established streams that ended (including by Stop())
  uint64_t failed_attempts = 0;  // attempts that never established a stream
  std::array<uint64_t, std::variant_size_v<Event>> events{};  // delivered, indexed like Event
  uint64_t skipped_events = 0;  // well-formed SSE events of topics not followed
  uint64_t decode_errors = 0;   // events of a followed topic whose data did not decode
  uint64_t stream_errors = 0;   // SSE framing errors (over-long line), each drops the stream
  bool connected = false;
};

// The reconnect wait sequence: initial, 2*initial, 4*initial, ... capped at max.
// Thread-compatible.
class Backoff {
 public:
  // REQUIRES: 0 < initial <= max.
  Backoff(absl::Duration initial, absl::Duration max) : initial_(initial), max_(max) {}
  // The wait before the next attempt; advances the sequence.
  absl::Duration Next();
  // Back to `initial` (after a healthy connection).
  void Reset() { next_ = initial_; }

 private:
  absl::Duration initial_;
  absl::Duration max_;
  absl::Duration next_ = initial_;
};

class EventStream {
 public:
  using EventCallback = std::function<void(const Event&)>;
  using ConnectionCallback = std::function<void(bool connected, const absl::Status& why)>;

  // Validates `url` (http(s)://[user:pass@]host[:port][/prefix]) and `options`, then starts the
  // thread, which connects at once. Callbacks may be empty; they may run before Start returns.
  // Errors: InvalidArgument for a bad URL or option (messages never contain credentials).
  static absl::StatusOr<std::unique_ptr<EventStream>> Start(std::string_view url,
                                                            const EventStreamOptions& options,
                                                            EventCallback on_event,
                                                            ConnectionCallback on_connection);

  // Stops the thread (see Stop()).
  ~EventStream();

  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // Ends the stream and joins the thread; idempotent. See the file comment for how long it takes.
  // REQUIRES: not called from a callback.
  void Stop();

  EventStreamStats stats() const;

  // "scheme://host:port", without credentials or path.
  const std::string& redacted_url() const { return redacted_url_; }

 private:
  struct Attempt;

  EventStream(std::string redacted_url, std::string target, const EventStreamOptions& options,
              EventCallback on_event, ConnectionCallback on_connection);
  void Run();
  Attempt RunOnce();
  void Deliver(const SseEvent& sse, Attempt* attempt);
  // Waits until clock_ reaches `deadline` or Stop() is called.
  void WaitUntil(absl::Time deadline);
  bool stopping() const { return stop_.load(std::memory_order_acquire); }

  const std::string redacted_url_;
  const std::string target_;  // base path + kEventsTarget
  const EventStreamOptions options_;
  Clock* const clock_;
  const EventCallback on_event_;
  const ConnectionCallback on_connection_;
  std::unique_ptr<httplib::Client> client_;  // used by the thread; Stop() calls its stop()

  // Set once by Stop(); written under mu_ so that waits on mu_ see it.
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;  // the thread has left Run()
  absl::Mutex stop_mu_;                     // serializes Stop() callers
  std::thread thread_;

  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> disconnects_{0};
  std::atomic<uint64_t> failed_attempts_{0};
  std::array<std::atomic<uint64_t>, std::variant_size_v<Event>> events_{};
  std::atomic<uint64_t> skipped_events_{0};
  std::atomic<uint64_t> decode_errors_{0};
  std::atomic<uint64_t> stream_errors_{0};
  std::atomic<bool> connected_{false};
};

}  // namespace stakewatch::events
