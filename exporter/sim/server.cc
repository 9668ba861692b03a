#include "sim/server.h"

#include <httplib.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/strings.h"
#include "sim/ground_truth.h"

namespace stakewatch::sim {

namespace {

// Topics of the spec's event stream; the first four are the ones the simulator sends.
constexpr std::string_view kTopics[] = {"head",
                                        "block",
                                        "chain_reorg",
                                        "finalized_checkpoint",
                                        "block_gossip",
                                        "attestation",
                                        "single_attestation",
                                        "voluntary_exit",
                                        "bls_to_execution_change",
                                        "proposer_slashing",
                                        "attester_slashing",
                                        "contribution_and_proof",
                                        "light_client_finality_update",
                                        "light_client_optimistic_update",
                                        "payload_attributes",
                                        "blob_sidecar",
                                        "data_column_sidecar"};

std::string JsonError(int code, std::string_view message) {
  std::string safe;
  for (char c : message.substr(0, 100)) {
    safe.push_back((c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? c : '?');
  }
  return absl::StrCat("{\"code\":", code, ",\"message\":\"", safe, "\"}");
}

// Parses ?topics= (repeated and/or comma-separated) into the set of wanted topics, or an error.
absl::StatusOr<std::vector<std::string>> ParseTopics(const httplib::Request& req) {
  std::vector<std::string> out;
  for (auto [it, end] = req.params.equal_range("topics"); it != end; ++it) {
    for (absl::string_view t : absl::StrSplit(it->second, ',', absl::SkipEmpty())) {
      if (std::find(std::begin(kTopics), std::end(kTopics), ToStd(t)) == std::end(kTopics)) {
        return absl::InvalidArgumentError(absl::StrCat("Invalid topic: ", t));
      }
      out.emplace_back(t);
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("Missing topics");
  return out;
}

// The state of one event stream; owned by its content provider.
struct EventStream {
  const ChainSimulator* sim;
  std::vector<std::string> topics;
  Slot next;  // the next head slot whose events are due
  absl::Time last_write;
};

}  // namespace

SimServer::SimServer(const ChainSimulator* sim, std::string host, int port)
    : sim_(sim), host_(std::move(host)), port_(port) {}

SimServer::~SimServer() { Stop(); }

absl::Status SimServer::Start() {
  if (server_) return absl::FailedPreconditionError("SimServer already started");
  server_ = std::make_unique<httplib::Server>();
  stopping_->store(false);
  // Without TCP_NODELAY, a response written in several pieces waits on the client's delayed ACK
  // (about 40 ms per request on Linux).
  server_->set_tcp_nodelay(true);
  // httplib's default also sets SO_REUSEPORT, which would let two simulators share a port.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  const ChainSimulator* sim = sim_;
  auto busy = busy_ns_;
  auto cache = cache_;
  auto serve = [sim, busy, cache](const httplib::Request& req, httplib::Response& res, bool post) {
    const absl::Time start = absl::Now();
    std::shared_ptr<ApiResponse> r;
    std::string key;
    if (cache->enabled) {
      key = absl::StrCat(post ? "POST " : "GET ", req.path, "?");
      for (const auto& [k, v] : req.params) absl::StrAppend(&key, k, "=", v, "&");
      absl::StrAppend(&key, "\n", req.body);
      absl::MutexLock lock(&cache->mu);
      for (const auto& [k, v] : cache->entries) {
        if (k == key) r = v;
      }
    }
    if (r == nullptr) {
      r = std::make_shared<ApiResponse>(post ? sim->Post(req.path, req.params, req.body)
                                             : sim->Get(req.path, req.params));
      if (cache->enabled && r->status == 200 && r->size() >= (1 << 20)) {
        absl::MutexLock lock(&cache->mu);
        if (cache->entries.size() >= 16) cache->entries.erase(cache->entries.begin());
        cache->entries.emplace_back(std::move(key), r);
      }
    }
    *busy += absl::ToInt64Nanoseconds(absl::Now() - start);
    res.status = r->status;
    if (r->electra_header) res.set_header("Eth-Consensus-Version", "electra");
    if (r->status == 200 && r->size() == 0) return;  // e.g. /node/health
    if (r->status != 200 || r->size() < (64 << 10)) {
      res.set_content(r->Body(), "application/json");
      return;
    }
    // Stream prefix + shared + suffix; the provider keeps the response alive.
    res.set_content_provider(
        r->size(), "application/json", [r](size_t offset, size_t length, httplib::DataSink& sink) {
          const std::string_view parts[3] = {
              r->prefix, r->shared ? std::string_view(*r->shared) : std::string_view(), r->suffix};
          size_t base = 0;
          for (std::string_view part : parts) {
            if (offset < base + part.size() && length > 0) {
              const size_t from = offset - base;
              const size_t n = std::min(length, part.size() - from);
              if (!sink.write(part.data() + from, n)) return false;
              offset += n;
              length -= n;
            }
            base += part.size();
          }
          return true;
        });
  };
  server_->Get("/eth/v1/events", [sim, stopping = stopping_, active = active_streams_](
                                     const httplib::Request& req, httplib::Response& res) {
    absl::StatusOr<std::vector<std::string>> topics = ParseTopics(req);
    if (!topics.ok()) {
      res.status = 400;
      res.set_content(JsonError(400, ToStd(topics.status().message())), "application/json");
      return;
    }
    auto stream = std::make_shared<EventStream>(
        EventStream{sim, *std::move(topics), sim->HeadSlot() + 1, absl::Now()});
    active->fetch_add(1);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream, stopping](size_t, httplib::DataSink& sink) {
          // One call polls for up to ~50 ms, then returns so httplib can check for shutdown.
          for (int i = 0; i < 10; ++i) {
            if (stopping->load()) {
              sink.done();
              return true;
            }
            const Slot h = stream->sim->HeadSlot();
            std::string text;
            for (int n = 0; stream->next <= h && n < 64; ++n, ++stream->next) {
              for (const SimEvent& ev : stream->sim->EventsAt(stream->next)) {
                if (std::find(stream->topics.begin(), stream->topics.end(), ev.topic) ==
                    stream->topics.end()) {
                  continue;
                }
                absl::StrAppend(&text, "event: ", ToAbsl(ev.topic), "\ndata: ", ev.data, "\n\n");
              }
            }
            const absl::Time now = absl::Now();
            if (text.empty() && now - stream->last_write >= absl::Milliseconds(250)) {
              text = ":\n\n";  // keep-alive; a closed client fails the write
            }
            if (!text.empty()) {
              stream->last_write = now;
              return sink.write(text.data(), text.size());
            }
            absl::SleepFor(absl::Milliseconds(5));
          }
          return true;
        },
        [active](bool) { active->fetch_sub(1); });
  });
  server_->Get(R"(/eth/.*)", [serve](const httplib::Request& req, httplib::Response& res) {
    serve(req, res, false);
  });
  server_->Post(R"(/eth/.*)", [serve](const httplib::Request& req, httplib::Response& res) {
    serve(req, res, true);
  });
  server_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(absl::StrCat("{\"code\":", res.status, ",\"message\":\"NOT_FOUND\"}"),
                      "application/json");
    }
  });
  if (port_ == 0) {
    port_ = server_->bind_to_any_port(host_);
    if (port_ < 0) port_ = 0;
  } else if (!server_->bind_to_port(host_, port_)) {
    port_ = 0;
  }
  if (port_ == 0) {
    server_.reset();
    return absl::UnavailableError(absl::StrCat("simulate: cannot bind ", host_));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op until the listen loop has started, so a Stop() right after
  // Start() would hang the join: wait for the loop (it starts within microseconds).
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) absl::SleepFor(absl::Milliseconds(1));
  return absl::OkStatus();
}

void SimServer::Stop() {
  if (!server_) return;
  stopping_->store(true);
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

absl::Status RunSimulateCommand(const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::fputs(SimUsage().c_str(), stdout);
      return absl::OkStatus();
    }
  }
  absl::StatusOr<SimOptions> options = ParseSimFlags(args);
  if (!options.ok()) return options.status();
  absl::StatusOr<std::unique_ptr<ChainSimulator>> sim =
      ChainSimulator::Create(*options, Clock::Real());
  if (!sim.ok()) return sim.status();

  // Block the stop signals in this thread before any other starts, so that every thread
  // inherits the mask and the loop below receives them with sigtimedwait.
  sigset_t stop_signals, old_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

  std::unique_ptr<GroundTruthWriter> writer;
  absl::Status status;
  if (!options->ground_truth_path.empty()) {
    writer = std::make_unique<GroundTruthWriter>(sim->get(), options->ground_truth_path,
                                                 options->ground_truth_first_validator,
                                                 options->ground_truth_last_validator);
    status = writer->Open();
  }
  SimServer server(sim->get(), options->listen_address, options->port);
  if (status.ok()) status = server.Start();
  if (status.ok()) {
    LogInfo("simulator listening",
            {{"address", options->listen_address},
             {"port", absl::StrCat(server.port())},
             {"validators", absl::StrCat(options->validators)},
             {"slot_time", absl::StrCat(options->seconds_per_slot)},
             {"genesis_time", absl::StrCat(absl::ToUnixSeconds(options->genesis_time))},
             {"seed", absl::StrCat(options->seed)}});
    const double poll = std::clamp(options->seconds_per_slot, 0.05, 1.0);
    timespec timeout{static_cast<time_t>(poll),
                     static_cast<long>((poll - static_cast<int>(poll)) * 1e9)};
    while (true) {
      if (writer) {
        absl::StatusOr<int> n = writer->WriteCompletedEpochs();
        if (!n.ok()) {
          status = n.status();
          break;
        }
      }
      const int sig = sigtimedwait(&stop_signals, nullptr, &timeout);
      if (sig == SIGINT || sig == SIGTERM) {
        LogInfo("simulator stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
        break;
      }
    }
  }
  server.Stop();
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return status;
}

}  // namespace stakewatch::sim
