#include "app/daemon.h"

#include <httplib.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "api/api.h"
#include "app/alert_sender.h"
#include "app/beacon_node_metrics.h"
#include "app/node_info.h"
#include "app/progress.h"
#include "app/rules_runtime.h"
#include "app/signing_path.h"
#include "app/source_health.h"
#include "beacon/decode.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "events/stream.h"
#include "execution/client.h"
#include "exposition/http_format.h"
#include "notifier/notifier.h"
#include "webconfig/web_security.h"

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
  if (!options_.web_config_file.empty()) {
    ASSIGN_OR_RETURN(web_, webconfig::WebSecurity::Create(options_.web_config_file));
    using exposition::FamilyDesc;
    using exposition::MetricType;
    ASSIGN_OR_RETURN(web_reload_failures_,
                     store_.AddFamily(FamilyDesc{
                         "stakewatch_web_config_reload_failures_total",
                         "Re-reads of --web.config.file that failed (unreadable or invalid); "
                         "requests are refused with 500 until the file is fixed.",
                         MetricType::kCounter,
                         {}}));
    ASSIGN_OR_RETURN(web_auth_failures_,
                     store_.AddFamily(FamilyDesc{"stakewatch_web_auth_failures_total",
                                                 "Requests refused with 401 (basic auth).",
                                                 MetricType::kCounter,
                                                 {}}));
    ASSIGN_OR_RETURN(web_handshake_refusals_,
                     store_.AddFamily(FamilyDesc{
                         "stakewatch_web_tls_handshake_refusals_total",
                         "TLS handshakes aborted because the web configuration was not usable.",
                         MetricType::kCounter,
                         {}}));
  }
  {
    using exposition::FamilyDesc;
    using exposition::MetricType;
    ASSIGN_OR_RETURN(reload_ok_, store_.AddFamily(FamilyDesc{
                                     "stakewatch_config_last_reload_successful",
                                     "Whether the last configuration reload attempt succeeded.",
                                     MetricType::kGauge,
                                     {}}));
    ASSIGN_OR_RETURN(reload_ts_,
                     store_.AddFamily(FamilyDesc{
                         "stakewatch_config_last_reload_success_timestamp_seconds",
                         "Timestamp of the last successful configuration reload (or start-up).",
                         MetricType::kGauge,
                         {}}));
    ASSIGN_OR_RETURN(restart_pending_,
                     store_.AddFamily(FamilyDesc{
                         "stakewatch_config_restart_pending",
                         "1 if the configuration file has changes, loaded by a reload, that take "
                         "effect only after a restart.",
                         MetricType::kGauge,
                         {}}));
    reload_ok_->Set(reload_ok_->GetOrCreate({}), 1);
    reload_ts_->Set(reload_ts_->GetOrCreate({}),
                    absl::ToDoubleSeconds(options_.clock->Now() - absl::UnixEpoch()));
    restart_pending_->Set(restart_pending_->GetOrCreate({}), 0);
  }
  {
    absl::MutexLock lock(&status_mu_);
    for (const config::ValidatorGroup& g : cfg.validators.groups) {
      StatusGroup sg;
      sg.name = g.name;
      for (const auto& [k, v] : g.labels) sg.labels.emplace_back(k, v);
      sg.validators = g.indices.size() + g.pubkeys.size();
      status_final_.push_back(sg);
      status_provisional_.push_back(std::move(sg));
    }
  }
  ASSIGN_OR_RETURN(source_health_, SourceHealth::Create(&store_, options_.clock));

  // Validators: groups in file order; a validator belongs to exactly one group (the config
  // loader rejects overlaps).
  std::vector<GroupInfo> groups;
  std::vector<std::pair<uint64_t, int32_t>> validators;
  for (size_t g = 0; g < cfg.validators.groups.size(); ++g) {
    const config::ValidatorGroup& group = cfg.validators.groups[g];
    GroupInfo info{group.name, {}};
    for (const auto& [k, v] : group.labels) info.labels.emplace_back(k, v);
    groups.push_back(std::move(info));
    std::optional<beacon::Address> fee_recipient;
    if (!group.fee_recipient.empty()) {
      fee_recipient.emplace();
      if (!beacon::ParseHexFixed(group.fee_recipient, &*fee_recipient)) {
        return absl::InvalidArgumentError(
            absl::StrCat("group ", group.name, ": bad fee_recipient ", group.fee_recipient));
      }
    }
    group_fee_recipients_.push_back(fee_recipient);
    for (uint64_t index : group.indices) {
      monitored_.Add(index, static_cast<int32_t>(g));
      validators.emplace_back(index, static_cast<int32_t>(g));
      monitored_list_.push_back(index);
    }
    for (const std::string& pubkey : group.pubkeys) {
      pending_pubkeys_.emplace_back(pubkey, static_cast<int32_t>(g));
    }
  }
  std::sort(monitored_list_.begin(), monitored_list_.end());
  self_metrics_->SetMonitoredValidators(static_cast<double>(monitored_.size()));

  beacon::HttplibTransportOptions el_options;
  el_options.read_timeout = cfg.execution.timeout;
  if (!cfg.execution.endpoint.empty()) {
    ASSIGN_OR_RETURN(execution_,
                     execution::ExecutionClient::Create(cfg.execution.endpoint, el_options));
  }
  for (const std::string& url : cfg.execution.relays) {
    ASSIGN_OR_RETURN(std::unique_ptr<execution::RelayClient> relay,
                     execution::RelayClient::Create(url, el_options));
    relay_names_.push_back(relay->name());
    relays_.push_back(std::move(relay));
  }
  ASSIGN_OR_RETURN(validator_metrics_, ValidatorMetrics::Create(
                                           &store_, groups, validators,
                                           PerValidatorOptions{cfg.validators.per_validator_metrics,
                                                               cfg.validators.per_validator_limit},
                                           relay_names_));

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
    std::vector<NodeInfoPoller::Node> info_nodes;
    for (size_t i = 0; i < specs.size(); ++i) info_nodes.push_back({names[i], cfg.beacon.nodes[i]});
    const absl::Duration info_interval = cfg.beacon.health_check_interval > absl::ZeroDuration()
                                             ? cfg.beacon.health_check_interval
                                             : absl::Seconds(30);
    ASSIGN_OR_RETURN(node_info_,
                     NodeInfoPoller::Create(info_nodes, info_interval, cfg.beacon.timeout, &store_,
                                            node_metrics_.get(), source_health_.get()));
  }
  storage_ = std::make_unique<tsdb::MemStorage>();
  {
    notifier::Options no;
    no.queue_capacity = options_.notification_queue_capacity;
    no.user_agent = absl::StrCat("stakewatch/", ToAbsl(StakewatchVersion()));
    no.metrics_store = &store_;
    no.clock = options_.clock;
    ASSIGN_OR_RETURN(notifier_, notifier::Notifier::Create(std::move(no)));
    RETURN_IF_ERROR(notifier_->ApplyConfig(cfg.global, cfg.alerting));
  }
  {
    RulesRuntimeOptions ro;
    ro.notify = MakeNotifyFunc(notifier_.get(), options_.external_url);
    ro.config = &options_.config;
    ro.config_dir = options_.config_dir;
    ro.storage = storage_.get();
    ro.metrics_store = &store_;
    ro.clock = options_.clock;
    ro.external_url = options_.external_url;
    ro.resend_delay = options_.resend_delay;
    ro.engine = options_.engine;
    ro.state_dir = options_.config.storage.path;
    ro.restore = options_.restore;
    ASSIGN_OR_RETURN(rules_, RulesRuntime::Create(std::move(ro)));
  }
  {
    api::ApiOptions ao;
    ao.engine = &rules_->engine();
    ao.storage = storage_.get();
    RulesRuntime* rules = rules_.get();
    ao.rule_groups = [rules] { return rules->manager().Groups(); };
    exposition::SeriesStore* store = &store_;
    ao.metadata = [store] { return OwnMetadata(*store); };
    ao.build_info.version = std::string(StakewatchVersion());
    ao.build_info.revision = std::string(StakewatchRevision());
    ao.build_info.go_version = "none (C++)";
    ao.clock = options_.clock;
    ao.max_concurrent_queries = options_.query_max_concurrency;
    ao.max_queued_queries = options_.query_max_concurrency;
    api_ = std::make_unique<api::Api>(std::move(ao));
  }
  if (cfg.slashing_db.has_value() || cfg.web3signer.has_value() || !cfg.validator_clients.empty() ||
      !cfg.scrape_configs.empty()) {
    SigningPathOptions so;
    so.config = &options_.config;
    so.store = &store_;
    so.health = source_health_.get();
    so.scrape_storage = storage_.get();
    so.clock = options_.clock;
    for (const config::ValidatorGroup& g : cfg.validators.groups) so.group_names.push_back(g.name);
    so.per_validator_metrics = cfg.validators.per_validator_metrics;
    so.per_validator_limit = cfg.validators.per_validator_limit;
    ASSIGN_OR_RETURN(signing_path_, SigningPath::Create(std::move(so)));
    if (cfg.web3signer.has_value() && cfg.web3signer->auto_discover) {
      for (size_t g = 0; g < cfg.validators.groups.size(); ++g) {
        if (cfg.validators.groups[g].name == cfg.web3signer->discover_group) {
          discover_group_ = static_cast<int32_t>(g);
        }
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Daemon::Reload() {
  absl::MutexLock lock(&reload_mu_);
  const absl::Status s = ReloadLocked();
  const absl::Time now = options_.clock->Now();
  reload_ok_->Set(reload_ok_->GetOrCreate({}), s.ok() ? 1 : 0);
  if (s.ok()) {
    reload_ts_->Set(reload_ts_->GetOrCreate({}), absl::ToDoubleSeconds(now - absl::UnixEpoch()));
    LogInfo("configuration reloaded", {{"file", options_.config_file}});
  } else {
    LogError("configuration reload failed; the previous configuration keeps running",
             {{"file", options_.config_file}, {"err", ToStd(s.message())}});
  }
  absl::MutexLock status_lock(&status_mu_);
  last_reload_ok_ = s.ok();
  last_reload_ = now;
  last_reload_error_ = s.ok() ? std::string() : std::string(s.message());
  return s;
}

absl::Status Daemon::ReloadLocked() {
  if (options_.config_file.empty()) return rules_->Reload();
  // Everything is read and validated before anything changes.
  ASSIGN_OR_RETURN(std::string text, config::ReadConfigFile(options_.config_file));
  ASSIGN_OR_RETURN(config::Config cfg, config::ParseConfig(text, options_.config_file));
  RETURN_IF_ERROR(notifier::Notifier::ValidateConfig(cfg.global, cfg.alerting));
  RETURN_IF_ERROR(rules_->Reload(cfg));  // validates every rule file first; atomic
  // Validated above; fails only if a file it reads vanished in between.
  RETURN_IF_ERROR(notifier_->ApplyConfig(cfg.global, cfg.alerting));
  // Sections that are not applied live, compared with what is running (the start-up file).
  std::vector<std::string> pending;
  for (const std::string& section : config::ChangedSections(options_.config_text, text)) {
    if (section == "rule_files" || section == "alerting") continue;
    if (section == "global") {
      const config::GlobalConfig& old_global = options_.config.global;
      if (cfg.global.scrape_interval != old_global.scrape_interval ||
          cfg.global.scrape_timeout != old_global.scrape_timeout) {
        pending.push_back("global.scrape_interval/scrape_timeout");
      }
      continue;
    }
    pending.push_back(section);
  }
  restart_pending_->Set(restart_pending_->GetOrCreate({}), pending.empty() ? 0 : 1);
  if (!pending.empty()) {
    LogWarn(
        "configuration changes that take effect only after a restart; the running values "
        "are kept",
        {{"sections", absl::StrJoin(pending, ",")}});
  }
  return absl::OkStatus();
}

void Daemon::UpdateStatusGroups(const accounting::EpochResult& result,
                                const std::vector<accounting::SyncCommitteeResult>* sync,
                                bool final) {
  absl::MutexLock lock(&status_mu_);
  std::vector<StatusGroup>& groups = final ? status_final_ : status_provisional_;
  std::vector<uint64_t> delay_sum(groups.size(), 0);
  std::vector<double> eff_sum(groups.size(), 0);
  for (StatusGroup& g : groups) {
    // Fresh results; the group's identity (name, labels, size) is kept.
    StatusGroup fresh;
    fresh.name = std::move(g.name);
    fresh.labels = std::move(g.labels);
    fresh.validators = g.validators;
    g = std::move(fresh);
    g.epoch = result.epoch;
    g.final = final;
    g.sync_known = sync != nullptr;
  }
  auto in = [&groups](int32_t group) {
    return group >= 0 && static_cast<size_t>(group) < groups.size();
  };
  for (const accounting::AttestationResult& a : result.attestations) {
    if (!in(a.group)) continue;
    StatusGroup& g = groups[a.group];
    ++g.attestation_duties;
    eff_sum[a.group] += a.effectiveness;
    if (!a.included) {
      ++g.missed;
      continue;
    }
    ++g.attested;
    delay_sum[a.group] += a.inclusion_delay;
    g.head_correct += a.head_correct ? 1 : 0;
    g.target_correct += a.target_correct ? 1 : 0;
    g.source_correct += a.source_correct ? 1 : 0;
  }
  for (const accounting::ProposalResult& p : result.proposals) {
    if (!in(p.group)) continue;
    StatusGroup& g = groups[p.group];
    ++g.proposal_duties;
    switch (p.outcome) {
      case accounting::ProposalOutcome::kProposed:
        ++g.proposed;
        break;
      case accounting::ProposalOutcome::kMissed:
        ++g.proposals_missed;
        break;
      case accounting::ProposalOutcome::kOrphaned:
        ++g.orphaned;
        break;
    }
  }
  if (sync != nullptr) {
    for (const accounting::SyncCommitteeResult& r : *sync) {
      if (!in(r.group)) continue;
      StatusGroup& g = groups[r.group];
      g.sync_duty_slots += r.slots;
      g.sync_participated += r.participated;
      g.sync_missed += r.missed;
    }
  }
  for (size_t i = 0; i < groups.size(); ++i) {
    StatusGroup& g = groups[i];
    if (g.attested > 0) g.mean_inclusion_delay = static_cast<double>(delay_sum[i]) / g.attested;
    if (g.attestation_duties > 0) g.effectiveness = eff_sum[i] / g.attestation_duties;
  }
}

StatusSnapshot Daemon::Status() const {
  StatusSnapshot s;
  s.version = std::string(StakewatchVersion());
  s.revision = std::string(StakewatchRevision());
  s.started = started_at_;
  s.now = options_.clock->Now();
  s.config_file = options_.config_file;
  s.ready = ready_.load() || client_ == nullptr;
  s.telemetry_path = options_.telemetry_path;
  if (const uint64_t head = head_slot_.load(); head != UINT64_MAX) s.head_slot = head;
  {
    absl::MutexLock lock(&status_mu_);
    s.last_reload_ok = last_reload_ok_;
    s.last_reload = last_reload_;
    s.last_reload_error = last_reload_error_;
    for (size_t i = 0; i < status_final_.size(); ++i) {
      const StatusGroup& f = status_final_[i];
      const StatusGroup& p = status_provisional_[i];
      // The newest epoch processed; counted results win over provisional ones of the same epoch.
      s.groups.push_back(p.epoch.has_value() && (!f.epoch.has_value() || *p.epoch > *f.epoch) ? p
                                                                                              : f);
      if (f.epoch.has_value()) {
        s.last_counted_epoch = std::max(s.last_counted_epoch.value_or(0), *f.epoch);
      }
      if (p.epoch.has_value() || f.epoch.has_value()) {
        s.last_processed_epoch = std::max(
            {s.last_processed_epoch.value_or(0), p.epoch.value_or(0), f.epoch.value_or(0)});
      }
    }
  }
  for (SourceHealth::Entry& e : source_health_->List()) {
    s.sources.push_back(StatusSource{std::move(e.source), std::move(e.target), e.up, e.known,
                                     std::move(e.last_error), e.last_success});
  }
  for (const ruleeval::GroupSnapshot& g : rules_->manager().Groups()) {
    StatusRuleGroup rg;
    rg.name = g.name;
    rg.file = g.file;
    rg.interval = g.interval;
    rg.last_eval =
        ruleeval::IsZeroTime(g.last_evaluation) ? absl::InfinitePast() : g.last_evaluation;
    rg.last_duration = g.evaluation_time;
    for (const ruleeval::RuleSnapshot& r : g.rules) {
      StatusRule sr;
      sr.name = r.name;
      sr.type = r.alerting ? "alerting" : "recording";
      switch (r.health) {
        case ruleeval::RuleHealth::kGood:
          sr.health = "ok";
          break;
        case ruleeval::RuleHealth::kBad:
          sr.health = "err";
          break;
        default:
          sr.health = "unknown";
          break;
      }
      sr.last_error = r.last_error;
      sr.active_alerts = r.alerts.size();
      rg.rules.push_back(std::move(sr));
      for (const ruleeval::Alert& a : r.alerts) {
        StatusAlert sa;
        sa.name = r.name;
        for (const tsdb::Label& l : a.labels) {
          if (l.name != "alertname") sa.labels.emplace_back(l.name, l.value);
        }
        sa.state = a.state == ruleeval::AlertState::kFiring ? "firing" : "pending";
        sa.active_since = a.active_at;
        sa.value = a.value;
        auto summary = a.annotations.find("summary");
        if (summary != a.annotations.end()) sa.summary = summary->second;
        s.alerts.push_back(std::move(sa));
      }
    }
    s.rule_groups.push_back(std::move(rg));
  }
  return s;
}

std::vector<api::MetricMetadata> OwnMetadata(const exposition::SeriesStore& store) {
  std::vector<api::MetricMetadata> out;
  for (const std::string& name : store.FamilyNames()) {
    const exposition::Family* f = store.FindFamily(name);
    if (f == nullptr || f->size() == 0) continue;
    api::MetricMetadata m;
    m.metric = name;
    m.help = f->desc().help;
    switch (f->desc().type) {
      case exposition::MetricType::kCounter:
        m.type = "counter";
        break;
      case exposition::MetricType::kGauge:
        m.type = "gauge";
        break;
      case exposition::MetricType::kHistogram:
        m.type = "histogram";
        break;
      case exposition::MetricType::kUntyped:
        m.type = "unknown";
        break;
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string Daemon::RenderLandingPage() const {
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>stakewatch</title>"
      "</head><body><h1>stakewatch</h1><p>Ethereum validator monitoring, version ",
      ToAbsl(StakewatchVersion()), ".</p><ul><li><a href=\"/status\">Status</a></li><li><a href=\"",
      HtmlEscape(options_.telemetry_path),
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
    std::unique_ptr<httplib::Server> server;
    if (web_ != nullptr) {
      ASSIGN_OR_RETURN(server, web_->NewServer());
    } else {
      server = std::make_unique<httplib::Server>();
    }
    server->set_tcp_nodelay(true);  // no delayed-ACK stall between headers and body
    server->set_payload_max_length(options_.max_request_body_bytes);
    {
      // Queries may hold a worker each (running or queued, see api::ApiOptions); the rest are
      // kept for /metrics, the health endpoints and the pages.
      const size_t workers =
          8 + 2 * static_cast<size_t>(std::max(0, options_.query_max_concurrency));
      server->new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
    }
    server->Get(options_.telemetry_path, [this](const httplib::Request& req,
                                                httplib::Response& res) {
      const absl::Time start = absl::Now();
      if (web_ != nullptr) {
        const webconfig::WebSecurity::Counters c = web_->counters();
        web_reload_failures_->Set(web_reload_failures_->GetOrCreate({}),
                                  static_cast<double>(c.reload_failures));
        web_auth_failures_->Set(web_auth_failures_->GetOrCreate({}),
                                static_cast<double>(c.auth_failures));
        web_handshake_refusals_->Set(web_handshake_refusals_->GetOrCreate({}),
                                     static_cast<double>(c.handshake_refusals));
      }
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
    server->Get("/status", [this](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy", std::string(kStatusPageContentSecurityPolicy));
      res.set_header("Cache-Control", "no-store");
      res.set_content(RenderStatusPage(Status()), "text/html; charset=utf-8");
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
    api::Register(*server, *api_);
    // POST or PUT /-/reload, as Prometheus's: 200 with an empty body, or 500 with the error.
    // Handled before routing because cpp-httplib rejects a POST without Content-Length (what
    // `curl -X POST .../-/reload` sends) with 400 when it reads the body; the connection is
    // closed afterwards since a body, if any, is not read.
    server->set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      // Authentication and the configured response headers first, for every path (as
      // exporter-toolkit wraps the whole mux).
      if (web_ != nullptr && !web_->Authorize(req, res)) {
        return httplib::Server::HandlerResponse::Handled;
      }
      size_t header_bytes = req.target.size();
      for (const auto& [name, value] : req.headers) header_bytes += name.size() + value.size() + 4;
      if (header_bytes > options_.max_header_bytes) {
        res.status = 431;
        res.set_header("Connection", "close");
        res.set_content("431 Request Header Fields Too Large\n", "text/plain; charset=utf-8");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (req.path != "/-/reload") return httplib::Server::HandlerResponse::Unhandled;
      res.set_header("Connection", "close");
      if (!options_.enable_lifecycle) {
        res.status = 403;
        res.set_content("Lifecycle API is not enabled.\n", "text/plain; charset=utf-8");
      } else if (req.method != "POST" && req.method != "PUT") {
        res.status = 405;
        res.set_content("Only POST or PUT requests allowed\n", "text/plain; charset=utf-8");
      } else if (absl::Status s = Reload(); !s.ok()) {
        res.status = 500;
        res.set_content(absl::StrCat("failed to reload config: ", s.message(), "\n"),
                        "text/plain; charset=utf-8");
      }
      return httplib::Server::HandlerResponse::Handled;
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
    // httplib's stop() is a no-op until the accept loop runs: a SIGTERM right after start-up
    // would otherwise leave Stop() joining a server that never stops.
    for (int i = 0; i < 5000 && !raw->is_running(); ++i) absl::SleepFor(absl::Milliseconds(1));
    LogInfo("listening", {{"address", bound_addresses_.back()}});
  }
  {
    // The rules runtime scrapes this process through the first listener.
    std::string self;
    if (!bound_addresses_.empty()) {
      self = bound_addresses_[0];
      if (absl::StartsWith(self, ":")) self = absl::StrCat("127.0.0.1", self);
    }
    notifier_->Start();
    RETURN_IF_ERROR(rules_->Start(self, options_.telemetry_path));
  }
  if (client_ != nullptr) poll_thread_ = std::thread([this] { PollLoop(); });
  if (node_info_ != nullptr) node_info_->Start();
  if (signing_path_ != nullptr) signing_path_->Start();
  return absl::OkStatus();
}

void Daemon::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!stop_.HasBeenNotified()) stop_.Notify();
  Wake();
  // Alerts first: no new ones, their state on disk, the queue drained (bounded by the drain
  // timeout) — before joining threads that may be waiting out a slow source's timeout.
  if (rules_ != nullptr) rules_->Stop();
  if (notifier_ != nullptr) notifier_->Stop(options_.notifier_drain_timeout);
  if (poll_thread_.joinable()) poll_thread_.join();
  if (event_stream_ != nullptr) event_stream_->Stop();
  if (node_info_ != nullptr) node_info_->Stop();
  if (signing_path_ != nullptr) signing_path_->Stop();
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
      spec_ = *spec;
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
  enricher_ = std::make_unique<EpochEnricher>(client_.get(), spec_, group_fee_recipients_);
  enricher_->set_keep_pubkeys(signing_path_ != nullptr);
  if (options_.config.beacon.events) StartEventStream();
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
    absl::MutexLock lock(&wake_mu_);
    wake_mu_.AwaitWithTimeout(absl::Condition(&wake_), poll_interval_);
    wake_ = false;
  }
}

void Daemon::Wake() {
  absl::MutexLock lock(&wake_mu_);
  wake_ = true;
}

void Daemon::StartEventStream() {
  // The stream follows the first configured node; polling covers the others and any outage.
  events::EventStreamOptions eo;
  eo.connect_timeout = options_.config.beacon.connect_timeout;
  eo.idle_timeout = std::max(absl::Seconds(60), 5 * poll_interval_);
  absl::StatusOr<std::unique_ptr<events::EventStream>> stream = events::EventStream::Start(
      options_.config.beacon.nodes.front(), eo,
      [this](const events::Event& e) {
        self_metrics_->EventReceived(events::kTopicNames[e.index()]);
        if (std::holds_alternative<events::ChainReorgEvent>(e)) {
          const auto& reorg = std::get<events::ChainReorgEvent>(e);
          LogInfo("chain reorg",
                  {{"slot", absl::StrCat(reorg.slot)}, {"depth", absl::StrCat(reorg.depth)}});
          self_metrics_->ReorgSeen("events");
          reorg_pending_.store(true);
        }
        if (!std::holds_alternative<events::BlockEvent>(e)) Wake();
      },
      [this](bool connected, const absl::Status& why) {
        self_metrics_->SetEventStreamConnected(connected);
        if (connected) {
          LogInfo("event stream connected", {});
        } else if (!why.ok() && !absl::IsCancelled(why)) {
          LogDebug("event stream down; polling", {{"err", ToStd(why.message())}});
        }
        Wake();  // after a reconnect, catch up through REST at once
      });
  if (!stream.ok()) {
    LogWarn("cannot follow the event stream; polling only",
            {{"err", ToStd(stream.status().message())}});
    return;
  }
  event_stream_ = *std::move(stream);
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
        if (monitored_.Contains(it->second)) {
          // Only a key discovered in Web3Signer can already be monitored (the configuration
          // has no overlaps): it keeps its configured group.
          continue;
        }
        monitored_list_.insert(
            std::lower_bound(monitored_list_.begin(), monitored_list_.end(), it->second),
            it->second);
        monitored_.Add(it->second, pending_pubkeys_[i].second);
        validator_metrics_->AddValidator(it->second, pending_pubkeys_[i].second);
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
  if (signing_path_ != nullptr) {
    signing_path_->SetChainEpoch(head_slot / spe);
    if (discover_group_ >= 0) {
      std::vector<std::string> found = signing_path_->TakeDiscoveredPubkeys();
      if (!found.empty()) {
        LogInfo("monitoring keys discovered in Web3Signer", {{"keys", absl::StrCat(found.size())}});
        for (std::string& k : found) pending_pubkeys_.emplace_back(std::move(k), discover_group_);
        last_resolve_epoch_ = UINT64_MAX;  // resolve now
      }
    }
  }
  if (!pending_pubkeys_.empty() && head_slot / spe != last_resolve_epoch_) {
    last_resolve_epoch_ = head_slot / spe;  // at most once per epoch
    ResolvePubkeys();
  }
  head_slot_.store((*head)->slot);
  CheckReorgByPolling(**head);
  if (head_slot / spe >= 1 && last_liveness_epoch_ != head_slot / spe - 1) {
    last_liveness_epoch_ = head_slot / spe - 1;
    CheckLiveness(head_slot / spe - 1);
  }

  // Epoch E is complete once the node's head is in epoch E+2: every slot that could include a
  // vote for E (up to the last slot of E+1) is then in the node's view. It is final once the
  // finalized checkpoint is at E+2 or later: then no block of E or E+1 can change.
  if (head_slot / spe < 2) return;
  const beacon::Epoch latest_complete = head_slot / spe - 2;
  std::optional<beacon::Epoch> latest_countable = latest_complete;
  if (options_.config.beacon.count_finalized_only) {
    absl::StatusOr<beacon::FinalityCheckpoints> finality = client_->GetFinalityCheckpoints("head");
    if (!finality.ok()) {
      LogWarn("cannot read finality; counting waits",
              {{"err", ToStd(finality.status().message())}});
      latest_countable.reset();
    } else {
      const beacon::Epoch finalized = finality->finalized.epoch;
      self_metrics_->SetFinalizedEpoch(finalized);
      if (finalized < 2) {
        latest_countable.reset();
      } else {
        latest_countable = std::min(latest_complete, finalized - 2);
      }
    }
  }
  if (!next_epoch_.has_value()) {
    // First run: start at the latest countable epoch (or, before finality allows any, at the
    // latest complete one). After a restart: resume where we stopped, but catch up on at most
    // max_backfill_epochs.
    const beacon::Epoch latest = latest_countable.value_or(latest_complete);
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
  if (!primed_ && latest_countable.has_value() && *next_epoch_ <= *latest_countable) {
    primed_ = true;  // once; Enrich reads whatever this could not
    const absl::Time start = options_.clock->Now();
    if (absl::Status s = enricher_->Prime(*next_epoch_, monitored_list_); !s.ok()) {
      LogWarn("start-up read of validator records and balances failed; reading them per epoch",
              {{"err", ToStd(s.message())}});
    } else {
      LogInfo("read validator records and balances",
              {{"validators", absl::StrCat(monitored_list_.size())},
               {"took", absl::FormatDuration(options_.clock->Now() - start)}});
    }
    UpdateSigningPath(true);
  }
  while (latest_countable.has_value() && *next_epoch_ <= *latest_countable &&
         !stop_.HasBeenNotified()) {
    const absl::Time start = options_.clock->Now();
    const absl::Status status = CountEpoch(*next_epoch_);
    if (!status.ok()) {
      const bool data = absl::IsInvalidArgument(status) || absl::IsDataLoss(status);
      self_metrics_->EpochFailed(data ? "inconsistent_data" : "beacon_api");
      LogWarn("epoch processing failed; will retry",
              {{"epoch", absl::StrCat(*next_epoch_)}, {"err", ToStd(status.message())}});
      processor_->ClearCache();
      final_watermark_ = 0;
      return;
    }
    const absl::Duration took = options_.clock->Now() - start;
    self_metrics_->EpochProcessed(*next_epoch_, took);
    ready_.store(true);
    LogDebug("epoch processed",
             {{"epoch", absl::StrCat(*next_epoch_)}, {"took", absl::FormatDuration(took)}});
    if (options_.on_epoch) options_.on_epoch(epoch_result_, took);
    UpdateSigningPath(false);
    QueueReconciliation(*next_epoch_);
    ++*next_epoch_;
    if (absl::Status saved =
            SaveProgress(options_.config.storage.path, Progress{genesis_time_, *next_epoch_});
        !saved.ok()) {
      self_metrics_->ProgressWriteFailed();
      LogWarn("cannot save progress", {{"err", ToStd(saved.message())}});
    }
  }
  // The newest complete epoch not counted yet: provisional gauges, redone after a reorg.
  if (!stop_.HasBeenNotified() && latest_complete >= *next_epoch_) {
    const bool reorg = reorg_pending_.exchange(false);
    if (reorg || provisional_epoch_ != latest_complete) {
      if (reorg && provisional_epoch_ == latest_complete) self_metrics_->ProvisionalRecomputed();
      ProcessProvisional(latest_complete);
    }
  }
}

void Daemon::UpdateSigningPath(bool force) {
  if (signing_path_ == nullptr) return;
  const auto& pubkeys = enricher_->pubkeys();
  // Statuses change slowly: a full hand-over when keys were added, else once every 8 epochs.
  const bool periodic = next_epoch_.has_value() && *next_epoch_ % 8 == 0;
  if (!force && !periodic && pubkeys.size() == signing_keys_known_) return;
  signing_keys_known_ = pubkeys.size();
  const std::vector<ValidatorState>& states = enricher_->states();
  std::vector<MonitoredKey> keys;
  keys.reserve(pubkeys.size());
  for (beacon::ValidatorIndex v : monitored_list_) {
    auto it = pubkeys.find(v);
    if (it == pubkeys.end()) continue;
    const ValidatorStatus st = v < states.size() ? states[v].status : ValidatorStatus::kUnknown;
    keys.push_back(MonitoredKey{v, monitored_.GroupOf(v), beacon::ToHex(it->second),
                                st == ValidatorStatus::kUnknown || IsActiveStatus(st)});
  }
  signing_path_->SetMonitored(std::move(keys), pending_pubkeys_);
}

void Daemon::QueueReconciliation(beacon::Epoch epoch) {
  if (signing_path_ == nullptr) return;
  EpochChainFacts facts;
  facts.epoch = epoch;
  facts.slots_per_epoch = slots_per_epoch_;
  facts.duties.reserve(epoch_result_.attestations.size());
  auto live = live_by_epoch_.find(epoch);
  for (const accounting::AttestationResult& a : epoch_result_.attestations) {
    const bool is_live = live != live_by_epoch_.end() &&
                         std::binary_search(live->second.begin(), live->second.end(), a.validator);
    facts.duties.push_back(ChainDuty{a.validator, a.group, a.included, is_live});
  }
  if (live != live_by_epoch_.end()) live_by_epoch_.erase(live_by_epoch_.begin(), std::next(live));
  for (const accounting::ProposalResult& p : epoch_result_.proposals) {
    if (p.outcome == accounting::ProposalOutcome::kMissed) continue;
    facts.blocks.push_back(ChainBlock{p.validator, p.group, p.slot});
  }
  signing_path_->QueueReconciliation(std::move(facts));
}

void Daemon::CheckReorgByPolling(const beacon::BlockHeader& head) {
  if (last_head_.has_value() && last_head_->first < head.slot) {
    // The last head we saw must still be canonical at its slot, else the chain reorganised.
    absl::StatusOr<std::optional<beacon::BlockHeader>> then =
        client_->GetHeader(absl::StrCat(last_head_->first));
    if (then.ok() && (!then->has_value() || (*then)->root != last_head_->second)) {
      LogInfo("chain reorg noticed by polling", {{"slot", absl::StrCat(last_head_->first)}});
      self_metrics_->ReorgSeen("polling");
      reorg_pending_.store(true);
    }
  }
  if (!last_head_.has_value() || last_head_->first != head.slot ||
      last_head_->second != head.root) {
    last_head_ = std::make_pair(head.slot, head.root);
  }
  if (reorg_pending_.load()) {
    // Blocks read before the reorg may be gone from the chain; final ones cannot.
    processor_->Forget(final_watermark_, UINT64_MAX);
  }
}

void Daemon::ProcessProvisional(beacon::Epoch epoch) {
  const beacon::Slot start = epoch * slots_per_epoch_;
  processor_->Forget(std::max(start, final_watermark_), UINT64_MAX);
  absl::Status status = processor_->ProcessInto(epoch, monitored_, &provisional_result_);
  if (!status.ok()) {
    LogDebug("provisional accounting failed; will retry",
             {{"epoch", absl::StrCat(epoch)}, {"err", ToStd(status.message())}});
    return;
  }
  provisional_epoch_ = epoch;
  DropSlashedDuties(enricher_->states(), &provisional_result_);
  validator_metrics_->RecordProvisional(provisional_result_);
  self_metrics_->SetProvisionalEpoch(epoch);
  UpdateStatusGroups(provisional_result_, nullptr, false);
  ready_.store(true);
}

absl::Status Daemon::CountEpoch(beacon::Epoch epoch) {
  const beacon::Slot start = epoch * slots_per_epoch_;
  const beacon::Slot end = start + 2 * slots_per_epoch_;  // exclusive
  // Blocks read before finality are read again; ones read after it are kept.
  if (options_.config.beacon.count_finalized_only && final_watermark_ < end) {
    processor_->Forget(std::max(start, final_watermark_), end - 1);
  }
  RETURN_IF_ERROR(processor_->ProcessInto(epoch, monitored_, &epoch_result_));
  RETURN_IF_ERROR(enricher_->Enrich(epoch, monitored_, monitored_list_, processor_.get(),
                                    epoch_result_, &report_));
  if (options_.config.beacon.count_finalized_only) final_watermark_ = end;
  DropSlashedDuties(enricher_->states(), &epoch_result_);
  std::vector<ExecutionRecord> execution = ExecutionRewards(epoch_result_);
  // A builder block pays the fee recipient in its last transaction; its payload's fee recipient
  // is the builder's own. That is not a wrong fee recipient.
  for (const ExecutionRecord& r : execution) {
    if (r.paid_by_builder && r.proposal < report_.proposals.size()) {
      report_.proposals[r.proposal].fee_recipient_ok = true;
    }
  }
  for (const std::string& source : report_.missing) {
    self_metrics_->SourceMissing(source);
    LogWarn("source not available for epoch; counted without it",
            {{"epoch", absl::StrCat(epoch)}, {"source", source}});
  }
  validator_metrics_->RecordEpoch(epoch_result_);
  validator_metrics_->RecordReport(epoch_result_, report_, enricher_->states(), monitored_,
                                   monitored_list_);
  validator_metrics_->RecordExecution(execution);
  UpdateStatusGroups(epoch_result_, &report_.sync, true);
  return absl::OkStatus();
}

std::vector<ExecutionRecord> Daemon::ExecutionRewards(const accounting::EpochResult& result) {
  std::vector<ExecutionRecord> out;
  if (execution_ == nullptr) return out;
  std::vector<execution::RelayClient*> relays;
  for (const auto& r : relays_) relays.push_back(r.get());
  for (size_t i = 0; i < result.proposals.size(); ++i) {
    const accounting::ProposalResult& p = result.proposals[i];
    if (p.outcome != accounting::ProposalOutcome::kProposed || !p.fee_recipient.has_value()) {
      continue;
    }
    // The proposer's fee recipient: the group's configured one, else the payload's (then a
    // builder block's payment to the proposer cannot be told from a transfer).
    beacon::Address fee_recipient = *p.fee_recipient;
    if (static_cast<size_t>(p.group) < group_fee_recipients_.size() &&
        group_fee_recipients_[p.group].has_value()) {
      fee_recipient = *group_fee_recipients_[p.group];
    }
    absl::StatusOr<execution::BlockExecutionRewards> r = execution::FetchBlockRewards(
        execution_.get(), relays, p.execution_block_number, p.slot, fee_recipient);
    if (!r.ok()) {
      self_metrics_->SourceMissing("execution");
      LogWarn("cannot read execution rewards",
              {{"slot", absl::StrCat(p.slot)}, {"err", ToStd(r.status().message())}});
      continue;
    }
    ExecutionRecord rec;
    rec.group = p.group;
    rec.proposal = i;
    rec.paid_by_builder = !r->reward.coinbase_is_fee_recipient && r->reward.builder_payment > 0;
    rec.relay_built = r->relay_delivered;
    rec.to_fee_recipient_gwei = static_cast<double>(r->reward.to_fee_recipient) / 1e9;
    for (size_t i = 0; i < r->relays.size(); ++i) {
      if (!r->relays[i].status.ok()) self_metrics_->SourceMissing("relay");
      if (r->relays[i].delivered_value.has_value()) {
        rec.relay_values.emplace_back(i, static_cast<double>(*r->relays[i].delivered_value) / 1e9);
      }
    }
    out.push_back(std::move(rec));
  }
  return out;
}

void Daemon::CheckLiveness(beacon::Epoch epoch) {
  // Only validators that can be live: active ones (or not read yet).
  std::vector<beacon::ValidatorIndex> ids;
  const std::vector<ValidatorState>& states = enricher_->states();
  for (beacon::ValidatorIndex v : monitored_list_) {
    const ValidatorStatus st = v < states.size() ? states[v].status : ValidatorStatus::kUnknown;
    if (st == ValidatorStatus::kUnknown || IsActiveStatus(st)) ids.push_back(v);
  }
  std::vector<std::pair<uint64_t, int32_t>> live, not_live;
  constexpr size_t kChunk = 100000;
  for (size_t begin = 0; begin < ids.size(); begin += kChunk) {
    std::vector<beacon::ValidatorIndex> chunk(ids.begin() + begin,
                                              ids.begin() + std::min(ids.size(), begin + kChunk));
    absl::StatusOr<std::vector<beacon::ValidatorLiveness>> r = client_->GetLiveness(epoch, chunk);
    if (!r.ok()) {
      self_metrics_->SourceMissing("liveness");
      LogDebug("liveness not available",
               {{"epoch", absl::StrCat(epoch)}, {"err", ToStd(r.status().message())}});
      return;
    }
    for (const beacon::ValidatorLiveness& l : *r) {
      const int32_t g = monitored_.GroupOf(l.index);
      if (g < 0) continue;
      (l.is_live ? live : not_live).emplace_back(l.index, g);
    }
  }
  validator_metrics_->RecordLiveness(live, not_live);
  if (signing_path_ != nullptr) {
    std::vector<beacon::ValidatorIndex>& l = live_by_epoch_[epoch];
    l.clear();
    for (const auto& [v, g] : live) l.push_back(v);
    std::sort(l.begin(), l.end());
    while (live_by_epoch_.size() > 32) live_by_epoch_.erase(live_by_epoch_.begin());
  }
}

}  // namespace stakewatch::app
