// BeaconNodeMetrics: the eth_beacon_node_* series, fed by the beacon client's observer hooks.
//
// Which node served each request is visible as eth_beacon_node_requests_total{node,...} and as
// eth_beacon_node_active{node} (1 for the node that answered the latest successful request).
// Thread-safe: the client may call the hooks from any thread.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "beacon/client.h"
#include "exposition/series_store.h"

namespace stakewatch::app {

class BeaconNodeMetrics final : public beacon::BeaconClientObserver {
 public:
  // Registers the families; `nodes` are the node names in configured order.
  static absl::StatusOr<std::unique_ptr<BeaconNodeMetrics>> Create(
      exposition::SeriesStore* store, const std::vector<std::string>& nodes);

  void OnRequest(std::string_view node, std::string_view endpoint, absl::Duration duration,
                 std::string_view outcome) override;
  void OnNodeState(std::string_view node, bool healthy, const beacon::SyncStatus* status,
                   std::string_view reason) override;
  // The node's own /node/syncing answer, read directly (NodeInfoPoller): the head, sync
  // distance, syncing and el_offline gauges, but not `up`, which reflects whether the beacon
  // client is using the node.
  void OnNodeInfo(std::string_view node, const beacon::SyncStatus& status);

 private:
  BeaconNodeMetrics() = default;
  exposition::Family* requests_ = nullptr;
  exposition::Family* errors_ = nullptr;
  exposition::Family* duration_ = nullptr;
  exposition::Family* up_ = nullptr;
  exposition::Family* active_ = nullptr;
  exposition::Family* head_slot_ = nullptr;
  exposition::Family* sync_distance_ = nullptr;
  exposition::Family* syncing_ = nullptr;
  exposition::Family* el_offline_ = nullptr;
  absl::Mutex mu_;
  std::string active_node_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stakewatch::app
