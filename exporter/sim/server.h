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
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
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

 private:
  const ChainSimulator* const sim_;
  const std::string host_;
  int port_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

// Runs `stakewatch simulate` with `args` (the flags after the subcommand; see ParseSimFlags):
// serves until SIGINT or SIGTERM, writing ground truth if asked. "--help" prints usage and
// returns OK. Bad flags return InvalidArgument before anything starts. Must be called from the
// main thread before other threads are started (it blocks SIGINT/SIGTERM to wait for them).
absl::Status RunSimulateCommand(const std::vector<std::string>& args);

}  // namespace stakewatch::sim
