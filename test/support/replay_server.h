// Test support: an HTTP server on loopback that replays recorded Beacon API responses.
//
// The recording is a directory holding an `index.json` in the format of
// /work/shared/fixtures/eth-validator-watcher (a VCR cassette split into files):
//
//   {"interactions": [{"interaction": 11, "method": "POST",
//                      "uri": "http://localhost:5052/eth/v1/beacon/rewards/attestations/240247",
//                      "status": 200, "content_type": "application/json",
//                      "response_file": "011_POST_..._240247.json",
//                      "request_file": "011_POST_..._240247.request.json"}, ...]}
//
// Each interaction whose response file is present in the directory is served for requests with
// the same method and the same target (path plus query, byte for byte as recorded in `uri`). A
// POST with a recorded request file matches only if its body equals the recorded one, ignoring
// JSON whitespace outside strings. Interactions without a response file in the directory (the
// directory may hold a subset of a recording) or marked "omitted" are skipped and counted.
// Anything else gets 404 {"code":404,"message":"not recorded"}.
// When a request matches several interactions (e.g. /headers/finalized polled repeatedly), the
// n-th matching request gets the n-th recording, and the last one is repeated after that, as a
// VCR cassette plays back.
//
//   ASSIGN_OR_RETURN(auto server, ReplayServer::Start(dir));
//   HttplibTransport::Create(server->url(), {});   // "http://127.0.0.1:<port>"
//
// Threads: Start() and the destructor from one thread; url(), port(), counters from any thread.
// The server answers on its own threads. Bad recordings produce a Status from Start(), never a
// crash.
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace stakewatch::testing {

class ReplayServer {
 public:
  // Loads `dir`/index.json and the response files it names, and starts serving on
  // 127.0.0.1:<ephemeral port>. Errors: index.json missing or malformed (InvalidArgument naming
  // the interaction), an unreadable file, or the port cannot be bound.
  static absl::StatusOr<std::unique_ptr<ReplayServer>> Start(const std::string& dir);
  // Stops the server and joins its thread.
  ~ReplayServer();

  ReplayServer(const ReplayServer&) = delete;
  ReplayServer& operator=(const ReplayServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>"
  std::string url() const;
  // Interactions loaded and served.
  size_t loaded() const { return loaded_; }
  // Interactions of the index skipped (no response file in the directory, or omitted).
  size_t skipped() const { return skipped_; }
  // Requests answered from the recording, and requests answered 404 "not recorded".
  size_t hits() const { return hits_.load(); }
  size_t misses() const { return misses_.load(); }

  // Removes JSON whitespace outside string literals ("[ \"1\", \"2\" ]" -> "[\"1\",\"2\"]").
  // Exposed for tests.
  static std::string CompactJson(std::string_view json);

 private:
  struct Recording {
    bool match_body = false;
    std::string request_body;  // compacted; used when match_body
    int status = 200;
    std::string content_type;
    std::string body;
  };
  // Recordings for one (method, target), in recorded order.
  struct Entry {
    std::vector<Recording> recordings;
  };

  ReplayServer() = default;
  // Picks the response for a request; null when nothing was recorded for it.
  const Recording* Match(const std::string& method, const std::string& target,
                         std::string_view body);

  // Keyed by "METHOD target". Immutable after Start().
  std::map<std::string, Entry> entries_;
  size_t loaded_ = 0;
  size_t skipped_ = 0;
  int port_ = 0;
  std::atomic<size_t> hits_{0};
  std::atomic<size_t> misses_{0};

  absl::Mutex mu_;
  // Requests served so far per (key, request body) among entries_: picks the next recording.
  std::map<std::string, size_t> served_ ABSL_GUARDED_BY(mu_);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace stakewatch::testing
