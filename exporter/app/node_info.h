// NodeInfoPoller: per beacon node, what an operator checks first — syncing and sync distance,
// optimistic, EL offline, peers, version, head slot and finalized epoch — read from each node
// directly (not through fail-over), each node on its own thread every `interval`.
//
//   eth_beacon_node_peers{node}                    connected peers (/eth/v1/node/peer_count)
//   eth_beacon_node_optimistic{node}               1 if the head is optimistic (node/syncing)
//   eth_beacon_node_finalized_epoch{node}          finality_checkpoints of head
//   eth_beacon_node_version_info{node, version} 1  /eth/v1/node/version
// plus the head slot, sync distance, syncing and el_offline gauges of BeaconNodeMetrics, and
// stakewatch_source_up{source="beacon_node", target=node}. A node that fails any of the four
// requests is down for this round; what it answered before stays exported.
//
// Threads: Start/Stop from the controlling thread; each node's poll runs on its own thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "app/beacon_node_metrics.h"
#include "app/periodic.h"
#include "app/source_health.h"
#include "beacon/http_transport.h"
#include "exposition/series_store.h"

namespace stakewatch::app {

class NodeInfoPoller {
 public:
  struct Node {
    std::string name;  // redacted URL, the `node` label
    std::string url;   // full URL (may hold credentials)
  };
  // Borrows store, metrics and health; they outlive the poller.
  static absl::StatusOr<std::unique_ptr<NodeInfoPoller>> Create(
      const std::vector<Node>& nodes, absl::Duration interval, absl::Duration timeout,
      exposition::SeriesStore* store, BeaconNodeMetrics* node_metrics, SourceHealth* health);
  ~NodeInfoPoller();

  void Start();
  void Stop();
  // One round for node i, synchronously (tests).
  void PollOnce(size_t i);

 private:
  NodeInfoPoller() = default;
  struct Polled {
    std::string name;
    std::unique_ptr<beacon::HttpTransport> transport;
    std::string last_version;
  };
  absl::Status Poll(Polled& node);

  std::vector<std::unique_ptr<Polled>> nodes_;
  std::vector<std::unique_ptr<PeriodicThread>> threads_;
  absl::Duration interval_;
  BeaconNodeMetrics* node_metrics_ = nullptr;
  SourceHealth* health_ = nullptr;
  exposition::Family* peers_ = nullptr;
  exposition::Family* optimistic_ = nullptr;
  exposition::Family* finalized_ = nullptr;
  exposition::Family* version_ = nullptr;
};

}  // namespace stakewatch::app
