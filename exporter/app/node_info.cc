#include "app/node_info.h"

#include "beacon/decode.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace stakewatch::app {

using exposition::FamilyDesc;
using exposition::MetricType;

absl::StatusOr<std::unique_ptr<NodeInfoPoller>> NodeInfoPoller::Create(
    const std::vector<Node>& nodes, absl::Duration interval, absl::Duration timeout,
    exposition::SeriesStore* store, BeaconNodeMetrics* node_metrics, SourceHealth* health) {
  std::unique_ptr<NodeInfoPoller> p(new NodeInfoPoller());
  p->interval_ = interval;
  p->node_metrics_ = node_metrics;
  p->health_ = health;
  ASSIGN_OR_RETURN(p->peers_, store->AddFamily(FamilyDesc{
                                  "eth_beacon_node_peers",
                                  "Connected peers the node reported (/eth/v1/node/peer_count).",
                                  MetricType::kGauge,
                                  {"node"}}));
  ASSIGN_OR_RETURN(p->optimistic_,
                   store->AddFamily(FamilyDesc{
                       "eth_beacon_node_optimistic",
                       "1 if the node reported its head as optimistic (not yet verified by its "
                       "execution client), else 0.",
                       MetricType::kGauge,
                       {"node"}}));
  ASSIGN_OR_RETURN(p->finalized_,
                   store->AddFamily(FamilyDesc{"eth_beacon_node_finalized_epoch",
                                               "Finalized epoch of the node's head state.",
                                               MetricType::kGauge,
                                               {"node"}}));
  ASSIGN_OR_RETURN(p->version_, store->AddFamily(FamilyDesc{
                                    "eth_beacon_node_version_info",
                                    "1 with the node's version string (/eth/v1/node/version).",
                                    MetricType::kGauge,
                                    {"node", "version"}}));
  beacon::HttplibTransportOptions topts;
  topts.connect_timeout = std::min(timeout, absl::Seconds(2));
  topts.read_timeout = timeout;
  topts.max_response_bytes = 1 << 20;  // every answer here is a few hundred bytes
  topts.max_idle_connections = 1;
  for (const Node& n : nodes) {
    auto polled = std::make_unique<Polled>();
    polled->name = n.name;
    ASSIGN_OR_RETURN(polled->transport, beacon::HttplibTransport::Create(n.url, topts));
    health->Register(kSourceBeaconNode, n.name);
    p->nodes_.push_back(std::move(polled));
  }
  return p;
}

NodeInfoPoller::~NodeInfoPoller() { Stop(); }

void NodeInfoPoller::Start() {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    threads_.push_back(std::make_unique<PeriodicThread>(interval_, [this, i] { PollOnce(i); }));
    threads_.back()->Start();
  }
}

void NodeInfoPoller::Stop() {
  for (auto& t : threads_) t->Stop();
  threads_.clear();
}

void NodeInfoPoller::PollOnce(size_t i) {
  Polled& node = *nodes_[i];
  absl::Status s = Poll(node);
  if (s.ok()) {
    health_->Success(kSourceBeaconNode, node.name);
  } else {
    const std::string_view reason = s.code() == absl::StatusCode::kInvalidArgument ? "decode"
                                    : s.code() == absl::StatusCode::kFailedPrecondition
                                        ? "http_status"
                                        : beacon::TransportErrorReason(s);
    health_->Failure(kSourceBeaconNode, node.name, reason, ToStd(s.message()));
  }
}

namespace {

absl::StatusOr<std::string> Get(beacon::HttpTransport& t, std::string target) {
  beacon::HttpRequest req;
  req.target = std::move(target);
  ASSIGN_OR_RETURN(beacon::HttpResponse r, t.Send(req));
  if (r.status != 200) {
    return absl::FailedPreconditionError(absl::StrCat(req.target, ": HTTP ", r.status));
  }
  return std::move(r.body);
}

}  // namespace

absl::Status NodeInfoPoller::Poll(Polled& node) {
  const std::string_view labels[] = {node.name};
  ASSIGN_OR_RETURN(std::string syncing_body, Get(*node.transport, "/eth/v1/node/syncing"));
  ASSIGN_OR_RETURN(beacon::SyncStatus sync, beacon::DecodeSyncing(syncing_body));
  node_metrics_->OnNodeInfo(node.name, sync);
  optimistic_->Set(optimistic_->GetOrCreate(labels), sync.is_optimistic ? 1 : 0);

  ASSIGN_OR_RETURN(std::string peers_body, Get(*node.transport, "/eth/v1/node/peer_count"));
  ASSIGN_OR_RETURN(beacon::PeerCount peers, beacon::DecodePeerCount(peers_body));
  peers_->Set(peers_->GetOrCreate(labels), static_cast<double>(peers.connected));

  ASSIGN_OR_RETURN(std::string version_body, Get(*node.transport, "/eth/v1/node/version"));
  ASSIGN_OR_RETURN(beacon::NodeVersion version, beacon::DecodeNodeVersion(version_body));
  if (version.version != node.last_version) {
    if (!node.last_version.empty()) {
      const std::string_view old_labels[] = {node.name, node.last_version};
      version_->Set(version_->GetOrCreate(old_labels), 0);
    }
    const std::string_view v_labels[] = {node.name, version.version};
    version_->Set(version_->GetOrCreate(v_labels), 1);
    node.last_version = version.version;
  }

  ASSIGN_OR_RETURN(std::string fin_body,
                   Get(*node.transport, "/eth/v1/beacon/states/head/finality_checkpoints"));
  ASSIGN_OR_RETURN(beacon::FinalityCheckpoints fin, beacon::DecodeFinalityCheckpoints(fin_body));
  finalized_->Set(finalized_->GetOrCreate(labels), static_cast<double>(fin.finalized.epoch));
  return absl::OkStatus();
}

}  // namespace stakewatch::app
