#include "events/stream.h"

#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "beacon/http_transport.h"
#include "common/log.h"
#include "common/strings.h"
#include "events/decode.h"

namespace stakewatch::events {
namespace {

// How often Stop() re-pokes the HTTP client, and the real-time slice of a backoff wait.
constexpr absl::Duration kPollInterval = absl::Milliseconds(20);

// Bytes of an HTTP error body kept for the status message.
constexpr size_t kMaxErrorBody = 200;

std::pair<time_t, time_t> SecUsec(absl::Duration d) {
  const int64_t usec = std::max<int64_t>(0, absl::ToInt64Microseconds(d));
  return {static_cast<time_t>(usec / 1000000), static_cast<time_t>(usec % 1000000)};
}

// A printable, single-line excerpt of an HTTP error body.
std::string Excerpt(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kMaxErrorBody)) {
    out.push_back(absl::ascii_isprint(static_cast<unsigned char>(c)) ? c : ' ');
  }
  return std::string(ToStd(absl::StripAsciiWhitespace(out)));
}

absl::Status HttpStatusError(std::string_view where, int status, std::string_view body) {
  std::string msg = absl::StrCat(ToAbsl(where), ": HTTP ", status);
  if (const std::string excerpt = Excerpt(body); !excerpt.empty()) {
    absl::StrAppend(&msg, ": ", excerpt);
  }
  if (status == 404 || status == 405 || status == 501) {
    return absl::UnimplementedError(absl::StrCat(msg, " (node does not serve the event stream)"));
  }
  if (status >= 500 || status == 429) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

}  // namespace

absl::Duration Backoff::Next() {
  const absl::Duration d = next_;
  next_ = std::min(next_ * 2, max_);
  return d;
}

struct EventStream::Attempt {
  bool established = false;  // HTTP 200 with an event stream
  bool got_event = false;    // at least one complete SSE event arrived
  absl::Status status;       // why it ended
};

absl::StatusOr<std::unique_ptr<EventStream>> EventStream::Start(std::string_view url,
                                                                const EventStreamOptions& options,
                                                                EventCallback on_event,
                                                                ConnectionCallback on_connection) {
  absl::StatusOr<beacon::NodeUrl> parsed = beacon::ParseNodeUrl(url);
  if (!parsed.ok()) return parsed.status();
  if (options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError("event stream: need 0 < initial_backoff <= max_backoff");
  }
  if (options.idle_timeout <= absl::ZeroDuration() ||
      options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "event stream: idle_timeout and connect_timeout must be positive");
  }
  if (options.max_line_bytes == 0) {
    return absl::InvalidArgumentError("event stream: max_line_bytes must be positive");
  }
  auto stream = std::unique_ptr<EventStream>(
      new EventStream(parsed->Redacted(), absl::StrCat(parsed->base_path, ToAbsl(kEventsTarget)),
                      options, std::move(on_event), std::move(on_connection)));

  auto client = std::make_unique<httplib::Client>(stream->redacted_url_);
  if (!client->is_valid()) {
    return absl::InvalidArgumentError(
        absl::StrCat("event stream: cannot create an HTTP client for ", stream->redacted_url_));
  }
  const auto [csec, cusec] = SecUsec(options.connect_timeout);
  client->set_connection_timeout(csec, cusec);
  const auto [rsec, rusec] = SecUsec(options.idle_timeout);
  client->set_read_timeout(rsec, rusec);
  client->set_write_timeout(csec, cusec);
  client->set_keep_alive(false);
  client->set_follow_location(false);
  client->set_decompress(false);
  client->set_tcp_nodelay(true);
  if (!parsed->user.empty() || !parsed->password.empty()) {
    client->set_basic_auth(parsed->user.c_str(), parsed->password.c_str());
  }
  stream->client_ = std::move(client);
  EventStream* raw = stream.get();
  stream->thread_ = std::thread([raw] { raw->Run(); });
  return stream;
}

EventStream::EventStream(std::string redacted_url, std::string target,
                         const EventStreamOptions& options, EventCallback on_event,
                         ConnectionCallback on_connection)
    : redacted_url_(std::move(redacted_url)),
      target_(std::move(target)),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : Clock::Real()),
      on_event_(std::move(on_event)),
      on_connection_(std::move(on_connection)) {}

EventStream::~EventStream() { Stop(); }

void EventStream::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  {
    absl::MutexLock lock(&mu_);
    stop_.store(true, std::memory_order_release);
  }
  if (!thread_.joinable()) return;
  while (true) {
    // Wakes a read blocked on the socket of the request in flight (if any); see stream.h.
    client_->stop();
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&done_), kPollInterval)) break;
  }
  thread_.join();
}

EventStreamStats EventStream::stats() const {
  EventStreamStats s;
  s.connects = connects_.load(std::memory_order_relaxed);
  s.disconnects = disconnects_.load(std::memory_order_relaxed);
  s.failed_attempts = failed_attempts_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < events_.size(); ++i) {
    s.events[i] = events_[i].load(std::memory_order_relaxed);
  }
  s.skipped_events = skipped_events_.load(std::memory_order_relaxed);
  s.decode_errors = decode_errors_.load(std::memory_order_relaxed);
  s.stream_errors = stream_errors_.load(std::memory_order_relaxed);
  s.connected = connected_.load(std::memory_order_relaxed);
  return s;
}

void EventStream::Run() {
  Backoff backoff(options_.initial_backoff, options_.max_backoff);
  while (!stopping()) {
    Attempt attempt = RunOnce();
    if (attempt.got_event) backoff.Reset();
    // Fixed before the counters and callbacks below, so that an observer of those (a test
    // driving a FakeClock) knows the retry time no longer depends on when it advances the clock.
    const absl::Time retry_at = clock_->Now() + backoff.Next();
    if (attempt.established) {
      disconnects_.fetch_add(1, std::memory_order_relaxed);
      connected_.store(false, std::memory_order_relaxed);
    } else if (!stopping()) {
      failed_attempts_.fetch_add(1, std::memory_order_relaxed);
    }
    if (stopping()) {
      if (attempt.established && on_connection_) {
        on_connection_(
            false, absl::CancelledError(absl::StrCat("event stream ", redacted_url_, ": stopped")));
      }
      break;
    }
    const std::string message(attempt.status.message());
    if (attempt.established) {
      LogWarn("event stream disconnected", {{"node", redacted_url_}, {"error", message}});
    } else {
      LogWarn("event stream connection failed", {{"node", redacted_url_}, {"error", message}});
    }
    if (on_connection_) on_connection_(false, attempt.status);
    WaitUntil(retry_at);
  }
  absl::MutexLock lock(&mu_);
  done_ = true;
}

EventStream::Attempt EventStream::RunOnce() {
  using SteadyClock = std::chrono::steady_clock;
  Attempt attempt;
  const std::string where = absl::StrCat("event stream ", redacted_url_);
  SseParser parser(options_.max_line_bytes);
  std::vector<SseEvent> batch;
  int http_status = 0;
  std::string error_body;
  absl::Status stream_error;
  SteadyClock::time_point last_read = SteadyClock::now();

  const httplib::Headers headers = {
      {"Accept", "text/event-stream"},
      {"Accept-Encoding", "identity"},  // compression would make the server buffer events
      {"Cache-Control", "no-cache"},
  };
  const auto on_response = [&](const httplib::Response& res) {
    last_read = SteadyClock::now();
    if (stopping()) return false;
    http_status = res.status;
    if (res.status != 200) return true;  // read the (short) error body for the message
    const std::string type = res.get_header_value("Content-Type");
    if (!type.empty() && !absl::StartsWithIgnoreCase(type, "text/event-stream")) {
      stream_error = absl::FailedPreconditionError(absl::StrCat(
          where, ": expected Content-Type text/event-stream, got \"", Excerpt(type), "\""));
      return false;
    }
    attempt.established = true;
    connects_.fetch_add(1, std::memory_order_relaxed);
    connected_.store(true, std::memory_order_relaxed);
    LogInfo("event stream connected", {{"node", redacted_url_}});
    if (on_connection_) on_connection_(true, absl::OkStatus());
    return !stopping();
  };
  const auto on_data = [&](const char* data, size_t n) {
    last_read = SteadyClock::now();
    if (stopping()) return false;
    if (http_status != 200) {
      error_body.append(data, std::min(n, kMaxErrorBody - error_body.size()));
      return error_body.size() < kMaxErrorBody;
    }
    batch.clear();
    const absl::Status parsed = parser.Feed(std::string_view(data, n), &batch);
    for (const SseEvent& sse : batch) {
      Deliver(sse, &attempt);
      if (stopping()) return false;
    }
    if (!parsed.ok()) {
      stream_errors_.fetch_add(1, std::memory_order_relaxed);
      stream_error = absl::Status(parsed.code(), absl::StrCat(where, ": ", parsed.message()));
      return false;
    }
    return true;
  };

  const httplib::Result result = client_->Get(target_, headers, on_response, on_data);
  const absl::Duration silent = absl::FromChrono(SteadyClock::now() - last_read);

  if (stopping()) {
    attempt.status = absl::CancelledError(absl::StrCat(where, ": stopped"));
  } else if (!stream_error.ok()) {
    attempt.status = stream_error;
  } else if (http_status != 0 && http_status != 200) {
    attempt.status = HttpStatusError(where, http_status, error_body);
  } else if (result) {
    attempt.status = absl::UnavailableError(absl::StrCat(where, ": stream ended by the server"));
  } else {
    switch (result.error()) {
      case httplib::Error::Read:
        // httplib reports a read timeout and a broken connection alike; the silence tells.
        if (silent >= options_.idle_timeout * 0.9) {
          attempt.status = absl::DeadlineExceededError(
              absl::StrCat(where, ": no data for ", absl::FormatDuration(silent),
                           " (idle timeout); stream considered dead"));
        } else {
          attempt.status = absl::AbortedError(absl::StrCat(
              where, attempt.established ? ": connection lost while reading the stream"
                                         : ": connection failed while reading the response"));
        }
        break;
      case httplib::Error::ConnectionTimeout:
        attempt.status = absl::DeadlineExceededError(absl::StrCat(where, ": connect timeout"));
        break;
      case httplib::Error::Connection:
        attempt.status = absl::UnavailableError(
            absl::StrCat(where, ": could not connect (connection refused or host unreachable)"));
        break;
      default:
        attempt.status = absl::UnavailableError(
            absl::StrCat(where, ": request failed: ", httplib::to_string(result.error())));
        break;
    }
  }
  return attempt;
}

void EventStream::Deliver(const SseEvent& sse, Attempt* attempt) {
  attempt->got_event = true;
  absl::StatusOr<std::optional<Event>> decoded = DecodeEvent(sse.type, sse.data);
  if (!decoded.ok()) {
    decode_errors_.fetch_add(1, std::memory_order_relaxed);
    LogWarn("event stream: malformed event skipped",
            {{"node", redacted_url_}, {"error", ToStd(decoded.status().message())}});
    return;
  }
  if (!decoded->has_value()) {
    skipped_events_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const Event& event = **decoded;
  events_[event.index()].fetch_add(1, std::memory_order_relaxed);
  if (on_event_) on_event_(event);
}

void EventStream::WaitUntil(absl::Time deadline) {
  const auto stop_requested = [](std::atomic<bool>* stop) {
    return stop->load(std::memory_order_acquire);
  };
  absl::MutexLock lock(&mu_);
  while (!stopping()) {
    const absl::Duration left = deadline - clock_->Now();
    if (left <= absl::ZeroDuration()) return;
    // Stop() stores the flag under mu_, so this wakes at once; the slice lets a FakeClock
    // advanced by another thread end the wait.
    mu_.AwaitWithTimeout(absl::Condition(+stop_requested, &stop_), std::min(left, kPollInterval));
  }
}

}  // namespace stakewatch::events
