// SimServer: serves a ChainSimulator's Beacon API over HTTP (cpp-httplib) on a background
// thread, and RunSimulateCommand, the `stakewatch simulate` subcommand.
//
//   SimServer server(sim.get(), "127.0.0.1", 0);   // port 0: pick a free port
//   RETURN_IF_ERROR(server.Start());
//   httplib::Client c("127.0.0.1", server.port());
//   ...
//   server.Stop();
//
// Every GET under /eth/ is answered by ChainSimulator::Get, every POST by ChainSimulator::Post.
// Bodies of 64 KB or more (a 10 MB committees list) are streamed from the simulator's cache without
// copying and never compressed; smaller ones may be gzip/brotli-compressed when the client asks
// (httplib's default). The socket is bound with SO_REUSEADDR only, so a port in use is an error.
//
// GET /eth/v1/events?topics=head,block,chain_reorg,finalized_checkpoint is a server-sent event
// stream (text/event-stream, chunked): starting after the head slot at connect time, the stream
// polls the clock every 5 ms and, for each new head slot h, writes ChainSimulator::EventsAt(h)
// filtered by the topics as "event: <topic>\ndata: <json>\n\n". An idle stream writes a ":"
// comment every 250 ms, so a closed client is noticed within about half a second. Missing or
// unknown topics give 400; other spec topics are accepted and never sent. Streams end on Stop().
// Each stream holds one of httplib's worker threads (8 or more) while open.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sim/simulator.h"

namespace httplib {
class Server;
}

namespace stakewatch::sim {

class SimServer {
 public:
  // `sim` must outlive the server. Does not bind until Start().
  SimServer(const ChainSimulator* sim, std::string host, int port);
  // Stops the server if running.
  ~SimServer();
  SimServer(const SimServer&) = delete;
  SimServer& operator=(const SimServer&) = delete;

  // Binds host:port and starts serving on a background thread. Unavailable if the port cannot be
  // bound. REQUIRES: not started. Call from one thread (with Stop).
  absl::Status Start();
  // Stops accepting, waits for the serving thread. Idempotent.
  void Stop();
  // The bound port (the chosen one when constructed with 0); valid after a successful Start.
  int port() const { return port_; }
  // Event streams currently open (for tests). Any thread.
  int active_streams() const { return active_streams_->load(); }
  // Benchmarks only: keep answers of 1 MB or more (status 200), keyed by method, path, query and
  // body, and serve them again without asking the simulator (at most 16; the oldest is dropped).
  // Valid only for requests whose answer cannot change (past, complete slots and epochs: state
  // routes, rewards), which is what a benchmark's warm-up then repeats. Call before Start().
  void CacheLargeResponses(bool on) { cache_->enabled = on; }
  // Drops the kept answers.
  void ClearResponseCache() {
    absl::MutexLock lock(&cache_->mu);
    cache_->entries.clear();
  }
  // Total time spent inside ChainSimulator::Get/Post building answers (the "beacon node's"
  // share of a request; benchmarks subtract it). Thread-safe.
  absl::Duration busy_time() const { return absl::Nanoseconds(busy_ns_->load()); }

 private:
  const ChainSimulator* const sim_;
  const std::string host_;
  int port_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  // Shared with stream providers, which may outlive a Stop() call by one poll.
  std::shared_ptr<std::atomic<bool>> stopping_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<int>> active_streams_ = std::make_shared<std::atomic<int>>(0);
  struct ResponseCache {
    bool enabled = false;
    absl::Mutex mu;
    std::vector<std::pair<std::string, std::shared_ptr<ApiResponse>>> entries ABSL_GUARDED_BY(mu);
  };
  std::shared_ptr<ResponseCache> cache_ = std::make_shared<ResponseCache>();
  std::shared_ptr<std::atomic<int64_t>> busy_ns_ = std::make_shared<std::atomic<int64_t>>(0);
};

// Runs `stakewatch simulate` with `args` (the flags after the subcommand; see ParseSimFlags):
// serves until SIGINT or SIGTERM, writing ground truth if asked. "--help" prints usage and
// returns OK. Bad flags return InvalidArgument before anything starts. Must be called from the
// main thread before other threads are started (it blocks SIGINT/SIGTERM to wait for them).
absl::Status RunSimulateCommand(const std::vector<std::string>& args);

}  // namespace stakewatch::sim
