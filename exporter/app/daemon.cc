#include "app/daemon.h"

#include <httplib.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "app/beacon_node_metrics.h"
#include "app/progress.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "exposition/http_format.h"

namespace stakewatch::app {

absl::Status ParseListenAddress(std::string_view address, std::string* host, int* port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("listen address \"", ToAbsl(address),
                                                   "\" has no port (want host:port or :port)"));
  }
  std::string_view h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  int p = 0;
  if (!absl::SimpleAtoi(ToAbsl(address.substr(colon + 1)), &p) || p < 0 || p > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("listen address \"", ToAbsl(address), "\" has an invalid port"));
  }
  *host = std::string(h);
  *port = p;
  return absl::OkStatus();
}

Daemon::Daemon(DaemonOptions options) : options_(std::move(options)) {}

Daemon::~Daemon() { Stop(); }

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Create(DaemonOptions options) {
  std::unique_ptr<Daemon> d(new Daemon(std::move(options)));
  RETURN_IF_ERROR(d->Init());
  return d;
}

absl::Status Daemon::Init() {
  const config::Config& cfg = options_.config;
  ASSIGN_OR_RETURN(SelfMetrics self, SelfMetrics::Create(&store_, options_.clock->Now()));
  self_metrics_.emplace(std::move(self));

  // Validators: groups in file order; a validator belongs to exactly one group (the config
  // loader rejects overlaps).
  std::vector<GroupInfo> groups;
  std::vector<std::pair<uint64_t, int32_t>> validators;
  for (size_t g = 0; g < cfg.validators.groups.size(); ++g) {
    const config::ValidatorGroup& group = cfg.validators.groups[g];
    GroupInfo info{group.name, {}};
    for (const auto& [k, v] : group.labels) info.labels.emplace_back(k, v);
    groups.push_back(std::move(info));
    for (uint64_t index : group.indices) {
      monitored_.Add(index, static_cast<int32_t>(g));
      validators.emplace_back(index, static_cast<int32_t>(g));
    }
    for (const std::string& pubkey : group.pubkeys) {
      pending_pubkeys_.emplace_back(pubkey, static_cast<int32_t>(g));
    }
  }
  self_metrics_->SetMonitoredValidators(static_cast<double>(monitored_.size()));
  ASSIGN_OR_RETURN(
      validator_metrics_,
      ValidatorMetrics::Create(&store_, groups, validators,
                               PerValidatorOptions{cfg.validators.per_validator_metrics,
                                                   cfg.validators.per_validator_limit}));

  if (!cfg.beacon.nodes.empty()) {
    std::vector<beacon::NodeSpec> specs;
    std::vector<std::string> names;
    for (const std::string& url : cfg.beacon.nodes) {
      ASSIGN_OR_RETURN(beacon::NodeUrl parsed, beacon::ParseNodeUrl(url));
      specs.push_back({parsed.Redacted(), url});
      names.push_back(parsed.Redacted());
    }
    ASSIGN_OR_RETURN(node_metrics_, BeaconNodeMetrics::Create(&store_, names));
    beacon::FailoverOptions fo;
    fo.connect_timeout = cfg.beacon.connect_timeout;
    fo.read_timeout = cfg.beacon.timeout;
    fo.max_response_bytes = static_cast<size_t>(cfg.beacon.max_response_bytes);
    fo.max_attempts = static_cast<int>(std::max<uint64_t>(1, cfg.beacon.retries));
    ASSIGN_OR_RETURN(client_, beacon::FailoverBeaconClient::FromUrls(specs, fo, options_.clock,
                                                                     node_metrics_.get()));
  }
  return absl::OkStatus();
}

std::string Daemon::RenderLandingPage() const {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stakewatch</title>"
      "</head><body><h1>stakewatch</h1><p>Ethereum validator monitoring, version ",
      ToAbsl(StakewatchVersion()), ".</p><ul><li><a href=\"", options_.telemetry_path,
      "\">Metrics</a></li><li><a href=\"/-/healthy\">Health</a></li><li><a "
      "href=\"/-/ready\">Readiness</a></li></ul></body></html>\n");
}

absl::Status Daemon::Start() {
  if (started_) return absl::FailedPreconditionError("daemon already started");
  started_ = true;
  for (const std::string& address : options_.listen_addresses) {
    std::string host;
    int port = 0;
    RETURN_IF_ERROR(ParseListenAddress(address, &host, &port));
    auto server = std::make_unique<httplib::Server>();
    server->set_tcp_nodelay(true);  // no delayed-ACK stall between headers and body
    server->Get(options_.telemetry_path, [this](const httplib::Request& req,
                                                httplib::Response& res) {
      const absl::Time start = absl::Now();
      const exposition::Format format = exposition::NegotiateFormat(req.get_header_value("Accept"));
      std::string body;
      store_.Render(format, &body);
      if (exposition::AcceptsGzip(req.get_header_value("Accept-Encoding"))) {
        absl::StatusOr<std::string> gz = exposition::GzipCompress(body);
        if (gz.ok()) {
          body = std::move(*gz);
          res.set_header("Content-Encoding", "gzip");
        }
      }
      res.set_content(std::move(body), std::string(exposition::ContentType(format)));
      self_metrics_->ObserveHttpRequest("/metrics", absl::Now() - start);
    });
    server->Get("/", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(RenderLandingPage(), "text/html; charset=utf-8");
    });
    server->Get("/-/healthy", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("Healthy\n", "text/plain; charset=utf-8");
    });
    server->Get("/-/ready", [this](const httplib::Request&, httplib::Response& res) {
      if (ready_.load() || client_ == nullptr) {
        res.set_content("Ready\n", "text/plain; charset=utf-8");
      } else {
        res.status = 503;
        res.set_content("Not ready: no epoch processed yet\n", "text/plain; charset=utf-8");
      }
    });
    const std::string bind_host = host.empty() ? "0.0.0.0" : host;
    int bound = port;
    if (port == 0) {
      bound = server->bind_to_any_port(bind_host);
      if (bound < 0) bound = 0;
    } else if (!server->bind_to_port(bind_host, port)) {
      bound = 0;
    }
    if (bound <= 0) {
      return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
    }
    bound_addresses_.push_back(absl::StrCat(
        host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host, ":", bound));
    httplib::Server* raw = server.get();
    servers_.push_back(std::move(server));
    server_threads_.emplace_back([raw] { raw->listen_after_bind(); });
    LogInfo("listening", {{"address", bound_addresses_.back()}});
  }
  if (client_ != nullptr) poll_thread_ = std::thread([this] { PollLoop(); });
  return absl::OkStatus();
}

void Daemon::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (poll_thread_.joinable()) poll_thread_.join();
  for (auto& s : servers_) s->stop();
  for (auto& t : server_threads_) {
    if (t.joinable()) t.join();
  }
}

void Daemon::PollLoop() {
  // The chain's constants, retried until a node answers.
  absl::Duration backoff = absl::Milliseconds(200);
  while (!stop_.HasBeenNotified()) {
    absl::StatusOr<beacon::ChainSpec> spec = client_->GetSpec();
    absl::StatusOr<beacon::Genesis> genesis =
        spec.ok() ? client_->GetGenesis() : absl::StatusOr<beacon::Genesis>(spec.status());
    if (!genesis.ok()) spec = genesis.status();
    if (spec.ok()) {
      genesis_time_ = genesis->genesis_time;
      slots_per_epoch_ = spec->slots_per_epoch;
      poll_interval_ = options_.config.beacon.poll_interval > absl::ZeroDuration()
                           ? options_.config.beacon.poll_interval
                           : absl::Milliseconds(spec->slot_duration_ms);
      break;
    }
    LogWarn("cannot read the chain spec; retrying", {{"err", ToStd(spec.status().message())}});
    stop_.WaitForNotificationWithTimeout(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(30));
  }
  processor_ = std::make_unique<EpochProcessor>(client_.get(), slots_per_epoch_);
  const std::string& dir = options_.config.storage.path;
  absl::StatusOr<std::optional<Progress>> progress = LoadProgress(dir);
  if (!progress.ok()) {
    LogWarn("ignoring unreadable progress file; starting at the latest complete epoch",
            {{"err", ToStd(progress.status().message())}});
  } else if (progress->has_value() && (*progress)->genesis_time != genesis_time_) {
    LogWarn("ignoring progress saved for another chain",
            {{"path", dir}, {"genesis_time", absl::StrCat((*progress)->genesis_time)}});
  } else if (progress->has_value()) {
    resume_epoch_ = (*progress)->next_epoch;
    LogInfo("resuming", {{"next_epoch", absl::StrCat(*resume_epoch_)}});
  }
  while (!stop_.HasBeenNotified()) {
    Tick();
    stop_.WaitForNotificationWithTimeout(poll_interval_);
  }
}

void Daemon::ResolvePubkeys() {
  // Chunks keep each request small; keys not yet deposited stay pending for the next epoch.
  constexpr size_t kChunk = 1000;
  std::vector<std::pair<std::string, int32_t>> still_pending;
  size_t resolved = 0;
  for (size_t begin = 0; begin < pending_pubkeys_.size(); begin += kChunk) {
    const size_t end = std::min(pending_pubkeys_.size(), begin + kChunk);
    std::vector<std::string> ids;
    for (size_t i = begin; i < end; ++i) ids.push_back(pending_pubkeys_[i].first);
    absl::StatusOr<std::vector<beacon::ValidatorInfo>> infos =
        client_->GetValidators("head", ids, {});
    if (!infos.ok()) {
      LogWarn("cannot resolve validator pubkeys; will retry next epoch",
              {{"err", ToStd(infos.status().message())}});
      still_pending.insert(still_pending.end(), pending_pubkeys_.begin() + begin,
                           pending_pubkeys_.begin() + end);
      continue;
    }
    absl::flat_hash_map<std::string, beacon::ValidatorIndex> index_of;
    for (const beacon::ValidatorInfo& info : *infos) {
      index_of[beacon::ToHex(info.pubkey)] = info.index;
    }
    for (size_t i = begin; i < end; ++i) {
      auto it = index_of.find(pending_pubkeys_[i].first);
      if (it == index_of.end()) {
        still_pending.push_back(pending_pubkeys_[i]);
      } else {
        monitored_.Add(it->second, pending_pubkeys_[i].second);
        ++resolved;
      }
    }
  }
  pending_pubkeys_ = std::move(still_pending);
  self_metrics_->SetMonitoredValidators(static_cast<double>(monitored_.size()));
  LogInfo("resolved validator pubkeys", {{"resolved", absl::StrCat(resolved)},
                                         {"pending", absl::StrCat(pending_pubkeys_.size())}});
}

void Daemon::Tick() {
  auto* failover = dynamic_cast<beacon::FailoverBeaconClient*>(client_.get());
  const absl::Time now = options_.clock->Now();
  if (failover != nullptr && options_.config.beacon.health_check_interval > absl::ZeroDuration() &&
      now - last_health_check_ >= options_.config.beacon.health_check_interval) {
    last_health_check_ = now;
    absl::Status health = failover->CheckHealth();
    if (!health.ok()) LogWarn("beacon node health check", {{"err", ToStd(health.message())}});
  }
  absl::StatusOr<std::optional<beacon::BlockHeader>> head = client_->GetHeader("head");
  if (!head.ok() || !head->has_value()) {
    LogWarn("cannot read the head block",
            {{"err", head.ok() ? "no head block" : ToStd(head.status().message())}});
    return;
  }
  const uint64_t spe = slots_per_epoch_;
  const beacon::Slot head_slot = (*head)->slot;
  if (!pending_pubkeys_.empty() && head_slot / spe != last_resolve_epoch_) {
    last_resolve_epoch_ = head_slot / spe;  // at most once per epoch
    ResolvePubkeys();
  }
  // Epoch E is complete once the node's head is in epoch E+2: every slot that could include a
  // vote for E (up to the last slot of E+1) is then settled in the node's view.
  if (head_slot / spe < 2) return;
  const beacon::Epoch latest = head_slot / spe - 2;
  if (!next_epoch_.has_value()) {
    // First run: start at the latest complete epoch. After a restart: resume where we stopped,
    // but catch up on at most max_backfill_epochs.
    next_epoch_ = latest;
    if (resume_epoch_.has_value()) {
      const uint64_t limit = options_.config.beacon.max_backfill_epochs;
      const beacon::Epoch oldest = latest >= limit ? latest - limit : 0;
      next_epoch_ = std::max(*resume_epoch_, oldest);
      if (*resume_epoch_ < oldest) {
        self_metrics_->EpochsSkipped(oldest - *resume_epoch_);
        LogWarn("downtime longer than max_backfill_epochs: skipping epochs",
                {{"from", absl::StrCat(*resume_epoch_)}, {"to", absl::StrCat(oldest - 1)}});
      }
    }
  }
  while (*next_epoch_ <= latest && !stop_.HasBeenNotified()) {
    const absl::Time start = options_.clock->Now();
    const absl::Status status = processor_->ProcessInto(*next_epoch_, monitored_, &epoch_result_);
    if (!status.ok()) {
      const bool data = absl::IsInvalidArgument(status) || absl::IsDataLoss(status);
      self_metrics_->EpochFailed(data ? "inconsistent_data" : "beacon_api");
      LogWarn("epoch processing failed; will retry",
              {{"epoch", absl::StrCat(*next_epoch_)}, {"err", ToStd(status.message())}});
      processor_->ClearCache();
      return;
    }
    const absl::Duration took = options_.clock->Now() - start;
    const accounting::EpochResult& result = epoch_result_;
    validator_metrics_->RecordEpoch(result);
    self_metrics_->EpochProcessed(*next_epoch_, took);
    ready_.store(true);
    LogDebug("epoch processed",
             {{"epoch", absl::StrCat(*next_epoch_)}, {"took", absl::FormatDuration(took)}});
    if (options_.on_epoch) options_.on_epoch(result, took);
    ++*next_epoch_;
    if (absl::Status saved =
            SaveProgress(options_.config.storage.path, Progress{genesis_time_, *next_epoch_});
        !saved.ok()) {
      self_metrics_->ProgressWriteFailed();
      LogWarn("cannot save progress", {{"err", ToStd(saved.message())}});
    }
  }
}

}  // namespace stakewatch::app
