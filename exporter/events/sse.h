// SseParser: incremental parser for the text/event-stream format (Server-Sent Events).
//
// The beacon node's GET /eth/v1/events answers with an endless text/event-stream body. This file
// turns arbitrary byte chunks of such a body into complete events, following the WHATWG
// "event stream interpretation" rules (html.spec.whatwg.org, section 9.2.6) that matter here:
//   * lines end in "\n", "\r\n" or "\r"; a "\r\n" split across two chunks is one line end;
//   * a leading UTF-8 byte order mark at the very start of the stream is dropped;
//   * "field: value" lines; exactly one space after the colon is stripped; a line without a
//     colon is a field name with an empty value; a line starting with ':' is a comment;
//   * "event" sets the event type; "data" lines are joined with "\n"; "id" sets the last event
//     ID (kept across events; ignored if it contains NUL); "retry" (ASCII digits only) sets the
//     reconnection time; other fields are ignored;
//   * an empty line dispatches the event; an event without any "data" line is not dispatched;
//     an event without "event" has type "message";
//   * an unfinished event at the end of the stream is dropped (the caller calls Reset()).
//
// Memory is bounded: a line longer than `max_line_bytes` (default 1 MiB), or an event whose
// joined data would exceed it, is an error (ResourceExhausted). After an error the parser stays
// failed (every Feed returns the error) until Reset(); the stream client then drops the
// connection.
//
// Usage:
//   SseParser parser;
//   std::vector<SseEvent> events;
//   absl::Status s = parser.Feed(chunk, &events);  // events completed by this chunk
//   for (const SseEvent& e : events) ... e.type, e.data ...
//   if (!s.ok()) ... drop the connection, parser.Reset() ...
//
// Thread-compatible: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace stakewatch::events {

// One dispatched event.
struct SseEvent {
  std::string type;  // the "event" field, or "message" when absent
  std::string data;  // the "data" lines joined with '\n' (no trailing '\n')
  std::string id;    // the last event ID at dispatch time ("" if none was ever set)

  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  static constexpr size_t kDefaultMaxLineBytes = size_t{1} << 20;

  // REQUIRES: max_line_bytes > 0.
  explicit SseParser(size_t max_line_bytes = kDefaultMaxLineBytes);

  SseParser(const SseParser&) = delete;
  SseParser& operator=(const SseParser&) = delete;

  // Consumes `chunk` (any bytes, any split) and appends the events it completes to `*out`
  // (which is not cleared). Returns ResourceExhausted when a line or an event's data exceeds the
  // limit; events completed before the offending line are still appended. Once failed, returns
  // the same error without consuming anything until Reset().
  absl::Status Feed(std::string_view chunk, std::vector<SseEvent>* out);

  // Forgets everything (partial line, partial event, last event ID, retry, error): the state of
  // a new stream.
  void Reset();

  // The last valid "retry" value in milliseconds, if any (stakewatch uses its own backoff and
  // only exposes this for completeness).
  std::optional<uint64_t> retry_ms() const { return retry_ms_; }

 private:
  absl::Status Append(std::string_view bytes);
  absl::Status ProcessLine(std::vector<SseEvent>* out);
  void Dispatch(std::vector<SseEvent>* out);

  const size_t max_line_bytes_;
  std::string line_;        // the current, unfinished line
  bool after_cr_ = false;   // the previous byte ended a line with '\r' (a '\n' may follow)
  bool first_line_ = true;  // no line has ended yet (BOM stripping)
  std::string type_;        // event type buffer
  std::string data_;        // data buffer (each line followed by '\n')
  std::string last_id_;     // last event ID buffer
  std::optional<uint64_t> retry_ms_;
  absl::Status error_;
};

}  // namespace stakewatch::events
