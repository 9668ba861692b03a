#include "notifier/notifier.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/go_json.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "httpclient/httpclient.h"
#include "httplib.h"
#include "relabel/relabel.h"

namespace stakewatch::notifier {
namespace {

using exposition::Family;
using exposition::FamilyDesc;
using exposition::MetricType;
using exposition::SeriesId;

constexpr char kHex[] = "0123456789abcdef";

// strfmt.DateTime's JSON: RFC 3339 with milliseconds ("2006-01-02T15:04:05.000Z07:00"), UTC.
void AppendTime(absl::Time t, std::string* out) {
  out->push_back('"');
  out->append(absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone()));
  out->push_back('"');
}

template <typename Pairs>
void AppendLabelSet(const Pairs& pairs, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [name, value] : pairs) {
    if (!first) out->push_back(',');
    first = false;
    AppendGoJsonString(name, out);
    out->push_back(':');
    AppendGoJsonString(value, out);
  }
  out->push_back('}');
}

// Go's path.Join("/", prefix, "/api/v2/alerts"): joined with "/" and cleaned (no empty or "."
// elements, ".." removes the previous element and never climbs above the root).
std::string AlertsPath(std::string_view prefix) {
  std::vector<std::string_view> parts;
  auto add = [&parts](std::string_view p) {
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find('/', start);
      if (end == std::string_view::npos) end = p.size();
      std::string_view e = p.substr(start, end - start);
      if (e == "..") {
        if (!parts.empty()) parts.pop_back();
      } else if (!e.empty() && e != ".") {
        parts.push_back(e);
      }
      start = end + 1;
    }
  };
  add(prefix);
  add("/api/v2/alerts");
  std::string out;
  for (std::string_view p : parts) absl::StrAppend(&out, "/", ToAbsl(p));
  return out;
}

// Go's url.URL.EscapedPath for a path without a RawPath: bytes outside unreserved characters
// and $&+,/:;=@ are percent-encoded (uppercase hex).
std::string EscapePath(std::string_view path) {
  std::string out;
  for (unsigned char c : path) {
    if (absl::ascii_isalnum(c) ||
        std::string_view("-_.~$&+,/:;=@").find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(absl::ascii_toupper(kHex[c >> 4]));
      out.push_back(absl::ascii_toupper(kHex[c & 0xF]));
    }
  }
  return out;
}

// Go's http.Response.Status text for common codes ("500 Internal Server Error").
std::string StatusText(int code) {
  static const std::map<int, std::string_view> kText = {
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {408, "Request Timeout"},
      {413, "Request Entity Too Large"},
      {422, "Unprocessable Entity"},
      {429, "Too Many Requests"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
  };
  auto it = kText.find(code);
  return it == kText.end() ? absl::StrCat(code) : absl::StrCat(code, " ", ToAbsl(it->second));
}

// A transport error in words (httplib's own names are single words like "Connection").
std::string ErrorText(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "connection failed (refused or unreachable)";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::Read:
      return "error reading the response (or timeout)";
    case httplib::Error::Write:
      return "error writing the request (or timeout)";
    case httplib::Error::Canceled:
      return "request canceled";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "cannot load the TLS certificates";
    case httplib::Error::SSLServerVerification:
      return "TLS server certificate verification failed";
    default:
      return httplib::to_string(e);
  }
}

std::vector<double> LatencyBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace

std::string EncodeAlerts(const std::vector<Alert>& alerts) {
  std::string out = "[";
  for (size_t i = 0; i < alerts.size(); ++i) {
    const Alert& a = alerts[i];
    if (i > 0) out.push_back(',');
    out.push_back('{');
    if (!a.annotations.empty()) {
      out.append("\"annotations\":");
      AppendLabelSet(a.annotations, &out);
      out.push_back(',');
    }
    out.append("\"endsAt\":");
    AppendTime(a.ends_at, &out);
    out.append(",\"startsAt\":");
    AppendTime(a.starts_at, &out);
    out.push_back(',');
    if (!a.generator_url.empty()) {
      out.append("\"generatorURL\":");
      AppendGoJsonString(a.generator_url, &out);
      out.push_back(',');
    }
    out.append("\"labels\":");
    std::vector<std::pair<std::string_view, std::string_view>> labels;
    labels.reserve(a.labels.size());
    for (const tsdb::Label& l : a.labels) labels.emplace_back(l.name, l.value);
    AppendLabelSet(labels, &out);  // tsdb::Labels is sorted by name already
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

// ---------------------------------------------------------------------------------------------

// One configured Alertmanager.
struct Target {
  std::string url;     // for logs and the alertmanager label
  std::string target;  // host:port as configured
  std::string path;    // escaped
  size_t config_index = 0;
};

struct Notifier::State {
  std::vector<config::AlertmanagerConfig> configs;
  std::vector<Target> targets;
  std::vector<std::pair<std::string, std::string>> external_labels;
  std::unique_ptr<relabel::Relabeler> relabeler;  // null: no alert_relabel_configs
};

struct Notifier::Metrics {
  Family* latency = nullptr;
  Family* errors = nullptr;
  Family* sent = nullptr;
  Family* dropped = nullptr;
  Family* queue_length = nullptr;
  Family* queue_capacity = nullptr;
  Family* discovered = nullptr;

  void Scalar(Family* f, double v, bool add) const {
    if (f == nullptr) return;
    const SeriesId id = f->GetOrCreate({});
    add ? f->Add(id, v) : f->Set(id, v);
  }
  void PerAm(Family* f, const std::string& url, double v) const {
    if (f == nullptr) return;
    const std::string_view values[] = {url};
    const SeriesId id = f->GetOrCreate(values);
    f->desc().type == MetricType::kHistogram ? f->Observe(id, v) : f->Add(id, v);
  }
};

struct Notifier::Request {
  const Target* target = nullptr;
  absl::Time deadline;  // start + the Alertmanager's timeout
  // Guarded by Notifier::mu_:
  std::shared_ptr<httplib::ClientImpl> client;  // while the POST runs
  bool aborted = false;
  bool done = false;
  bool ok = false;
};

absl::StatusOr<std::unique_ptr<Notifier>> Notifier::Create(Options options) {
  if (options.queue_capacity == 0) return absl::InvalidArgumentError("queue_capacity must be > 0");
  if (options.max_batch_size == 0) return absl::InvalidArgumentError("max_batch_size must be > 0");
  if (options.user_agent.empty()) options.user_agent = "stakewatch";
  std::unique_ptr<Notifier> n(new Notifier(std::move(options)));
  if (exposition::SeriesStore* store = n->options_.metrics_store) {
    auto add = [store](std::string name, std::string help, MetricType type,
                       std::vector<std::string> labels) {
      FamilyDesc d;
      d.name = std::move(name);
      d.help = std::move(help);
      d.type = type;
      d.label_names = std::move(labels);
      if (type == MetricType::kHistogram) d.buckets = LatencyBuckets();
      return store->AddFamily(std::move(d));
    };
    Metrics& m = *n->metrics_;
    const std::vector<std::string> kAm = {"alertmanager"};
    ASSIGN_OR_RETURN(m.latency, add("stakewatch_notifications_latency_seconds",
                                    "Latency of sending alert notifications (from the start of "
                                    "the batch to the end of the request).",
                                    MetricType::kHistogram, kAm));
    ASSIGN_OR_RETURN(m.errors, add("stakewatch_notifications_errors_total",
                                   "Total number of errors sending alert notifications.",
                                   MetricType::kCounter, kAm));
    ASSIGN_OR_RETURN(m.sent, add("stakewatch_notifications_sent_total",
                                 "Total number of alerts sent.", MetricType::kCounter, kAm));
    ASSIGN_OR_RETURN(m.dropped, add("stakewatch_notifications_dropped_total",
                                    "Total number of alerts dropped due to errors when sending to "
                                    "Alertmanager.",
                                    MetricType::kCounter, {}));
    ASSIGN_OR_RETURN(m.queue_length, add("stakewatch_notifications_queue_length",
                                         "The number of alert notifications in the queue.",
                                         MetricType::kGauge, {}));
    ASSIGN_OR_RETURN(m.queue_capacity,
                     add("stakewatch_notifications_queue_capacity",
                         "The capacity of the alert notifications queue.", MetricType::kGauge, {}));
    ASSIGN_OR_RETURN(m.discovered, add("stakewatch_notifications_alertmanagers_discovered",
                                       "The number of alertmanagers discovered and active.",
                                       MetricType::kGauge, {}));
    m.Scalar(m.dropped, 0, true);
    m.Scalar(m.queue_length, 0, false);
    m.Scalar(m.queue_capacity, static_cast<double>(n->options_.queue_capacity), false);
    m.Scalar(m.discovered, 0, false);
  }
  return n;
}

Notifier::Notifier(Options options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      metrics_(std::make_unique<Metrics>()) {}

Notifier::~Notifier() { Stop(absl::ZeroDuration()); }

absl::Status Notifier::ValidateConfig(const config::GlobalConfig& global,
                                      const config::AlertingConfig& alerting) {
  return BuildState(global, alerting).status();
}

absl::Status Notifier::ApplyConfig(const config::GlobalConfig& global,
                                   const config::AlertingConfig& alerting) {
  ASSIGN_OR_RETURN(std::shared_ptr<State> state, BuildState(global, alerting));
  // Series exist (at 0) from now on, as Prometheus's sync does.
  for (const Target& t : state->targets) {
    metrics_->PerAm(metrics_->sent, t.url, 0);
    metrics_->PerAm(metrics_->errors, t.url, 0);
  }
  metrics_->Scalar(metrics_->discovered, static_cast<double>(state->targets.size()), false);
  absl::MutexLock lock(&mu_);
  state_ = std::move(state);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Notifier::State>> Notifier::BuildState(
    const config::GlobalConfig& global, const config::AlertingConfig& alerting) {
  auto state = std::make_shared<State>();
  for (const auto& [name, value] : global.external_labels) {
    if (!tsdb::IsValidLabelName(name) || name.rfind("__", 0) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("global.external_labels: invalid label name \"", name, "\""));
    }
    state->external_labels.emplace_back(name, value);
  }
  if (!alerting.alert_relabel_configs.empty()) {
    absl::StatusOr<std::unique_ptr<relabel::Relabeler>> r =
        relabel::Relabeler::Create(alerting.alert_relabel_configs);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("alerting.alert_relabel_configs: ", r.status().message()));
    }
    state->relabeler = *std::move(r);
  }
  state->configs = alerting.alertmanagers;
  for (size_t i = 0; i < state->configs.size(); ++i) {
    config::AlertmanagerConfig& c = state->configs[i];
    const std::string where = absl::StrCat("alerting.alertmanagers[", i, "]: ");
    auto bad = [&where](std::string_view what) {
      return absl::InvalidArgumentError(absl::StrCat(where, ToAbsl(what)));
    };
    if (c.scheme != "http" && c.scheme != "https") {
      return bad(absl::StrCat("unsupported scheme \"", c.scheme, "\""));
    }
    if (c.api_version != "v2") {
      return bad(absl::StrCat("unsupported api_version \"", c.api_version, "\""));
    }
    if (c.timeout <= absl::ZeroDuration()) return bad("timeout must be > 0");
    if (!c.path_prefix.empty() && c.path_prefix[0] != '/') {
      return bad("path_prefix must start with /");
    }
    if (c.basic_auth.has_value() && c.authorization.has_value()) {
      return bad("at most one of basic_auth and authorization may be set");
    }
    if (c.authorization.has_value()) {
      if (c.authorization->type.empty()) c.authorization->type = "Bearer";
      if (absl::AsciiStrToLower(c.authorization->type) == "basic") {
        return bad("authorization type cannot be set to \"basic\", use \"basic_auth\" instead");
      }
    }
    if (c.tls_config.cert_file.empty() != c.tls_config.key_file.empty()) {
      return bad("tls_config: cert_file and key_file must be set together");
    }
    if (!c.tls_config.ca_file.empty()) {
      if (FILE* f = std::fopen(c.tls_config.ca_file.c_str(), "rb")) {
        std::fclose(f);
      } else {
        return absl::FailedPreconditionError(
            absl::StrCat(where, "cannot read tls_config.ca_file ", c.tls_config.ca_file));
      }
    }
    const std::string path = EscapePath(AlertsPath(c.path_prefix));
    std::vector<std::string> seen;  // URLs of this entry (Prometheus dedups within a set)
    for (const config::StaticConfig& sc : c.static_configs) {
      for (const std::string& t : sc.targets) {
        absl::StatusOr<httpclient::HostPort> hp = httpclient::SplitTarget(t, c.scheme);
        if (!hp.ok() || t.find('/') != std::string::npos) {
          return bad(absl::StrCat("invalid target \"", t, "\""));
        }
        std::string url = absl::StrCat(c.scheme, "://", t, path);
        if (std::find(seen.begin(), seen.end(), url) != seen.end()) continue;
        seen.push_back(url);
        state->targets.push_back({std::move(url), t, path, i});
      }
    }
  }
  return state;
}

void Notifier::Send(std::vector<Alert> alerts) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || stopped_) {
    if (!alerts.empty()) {
      LogWarn("Notifier stopped, dropping alerts", {{"num_dropped", absl::StrCat(alerts.size())}});
      AddDropped(alerts.size());
    }
    return;
  }
  std::vector<Alert> kept;
  kept.reserve(alerts.size());
  for (Alert& a : alerts) {
    tsdb::LabelsBuilder b(a.labels);
    if (state_ != nullptr) {
      for (const auto& [name, value] : state_->external_labels) {
        if (a.labels.Get(name).empty()) b.Set(name, value);
      }
      if (state_->relabeler != nullptr && !state_->relabeler->Process(b)) continue;
    }
    a.labels = b.Build();
    kept.push_back(std::move(a));
  }
  if (kept.empty()) return;
  const size_t cap = options_.queue_capacity;
  if (kept.size() > cap) {
    const size_t d = kept.size() - cap;
    kept.erase(kept.begin(), kept.begin() + static_cast<std::ptrdiff_t>(d));
    LogWarn("Alert batch larger than queue capacity, dropping alerts",
            {{"num_dropped", absl::StrCat(d)}});
    AddDropped(d);
  }
  if (queue_.size() + kept.size() > cap) {
    const size_t d = queue_.size() + kept.size() - cap;
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(d));
    LogWarn("Alert notification queue full, dropping alerts", {{"num_dropped", absl::StrCat(d)}});
    AddDropped(d);
  }
  for (Alert& a : kept) queue_.push_back(std::move(a));
  SetQueueLengthLocked();
}

void Notifier::Start() {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_ || stopped_) return;
  started_ = true;
  loop_ = std::thread([this] { Loop(); });
}

void Notifier::Stop(absl::Duration drain_timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (stopped_) return;
    if (!stopping_) {
      stopping_ = true;
      drain_deadline_ = absl::Now() + std::max(drain_timeout, absl::ZeroDuration());
    }
    cv_.SignalAll();
  }
  if (loop_.joinable()) loop_.join();
  size_t left = 0;
  {
    absl::MutexLock lock(&mu_);
    stopped_ = true;
    left = queue_.size();
    queue_.clear();
    SetQueueLengthLocked();
  }
  if (left > 0) {
    LogWarn("Notifier stopped before the queue was drained, dropping alerts",
            {{"num_dropped", absl::StrCat(left)}});
    AddDropped(left);
  }
}

size_t Notifier::QueueLength() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

std::vector<std::string> Notifier::AlertmanagerUrls() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> out;
  if (state_ != nullptr) {
    for (const Target& t : state_->targets) out.push_back(t.url);
  }
  return out;
}

absl::Time Notifier::DrainDeadline() const {
  absl::MutexLock lock(&mu_);
  return drain_deadline_;
}

void Notifier::AddDropped(size_t n) {
  metrics_->Scalar(metrics_->dropped, static_cast<double>(n), true);
}

void Notifier::SetQueueLengthLocked() {
  metrics_->Scalar(metrics_->queue_length, static_cast<double>(queue_.size()), false);
}

void Notifier::Loop() {
  for (;;) {
    std::vector<Alert> batch;
    std::shared_ptr<const State> state;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &Notifier::HasWorkLocked));
      if (queue_.empty()) return;  // stopping, nothing left
      if (stopping_ && absl::Now() >= drain_deadline_) return;
      const size_t n = std::min(queue_.size(), options_.max_batch_size);
      batch.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      SetQueueLengthLocked();
      state = state_;
    }
    static const State kEmpty;
    if (!SendAll(batch, state != nullptr ? *state : kEmpty)) AddDropped(batch.size());
  }
}

bool Notifier::SendAll(const std::vector<Alert>& batch, const State& state) {
  if (batch.empty()) return true;
  if (state.targets.empty()) return false;  // as Prometheus: nobody got it
  const absl::Time begin = absl::Now();
  const absl::Time measured_begin = clock_->Now();
  const std::string body = EncodeAlerts(batch);

  std::vector<Request> requests(state.targets.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    requests[i].target = &state.targets[i];
    requests[i].deadline = begin + state.configs[state.targets[i].config_index].timeout;
  }
  std::vector<std::thread> threads;
  threads.reserve(requests.size());
  for (Request& r : requests) {
    threads.emplace_back([this, &r, &state, &body, &batch, measured_begin] {
      RunRequest(&r, state, body, batch.size(), measured_begin);
    });
  }

  // Watchdog: abort a request at its deadline (or at Stop()'s drain deadline, if earlier).
  size_t successes = 0;
  {
    absl::MutexLock lock(&mu_);
    for (;;) {
      const absl::Time now = absl::Now();
      absl::Time next = absl::InfiniteFuture();
      bool all_done = true;
      std::vector<std::shared_ptr<httplib::ClientImpl>> to_stop;
      for (Request& r : requests) {
        if (r.done) continue;
        all_done = false;
        const absl::Time deadline = std::min(r.deadline, drain_deadline_);
        if (now >= deadline) {
          if (!r.aborted) {
            r.aborted = true;
            if (r.client != nullptr) to_stop.push_back(r.client);
          }
        } else {
          next = std::min(next, deadline);
        }
      }
      if (all_done) break;
      if (!to_stop.empty()) {
        // stop() may wait for a connect in progress: never hold mu_ meanwhile.
        mu_.Unlock();
        for (const auto& c : to_stop) c->stop();
        mu_.Lock();
        continue;
      }
      cv_.WaitWithDeadline(&mu_, next);
    }
    for (const Request& r : requests) successes += r.ok ? 1 : 0;
  }
  for (std::thread& t : threads) t.join();
  return successes > 0;
}

void Notifier::RunRequest(Request* r, const State& state, const std::string& body, size_t count,
                          absl::Time begin) {
  const Target& t = *r->target;
  const config::AlertmanagerConfig& cfg = state.configs[t.config_index];
  std::string err;
  bool ok = false;
  absl::StatusOr<std::string> auth =
      httpclient::AuthorizationHeader(cfg.basic_auth, "", cfg.authorization);
  if (!auth.ok()) {
    err = std::string(auth.status().message());
  } else {
    // Socket timeouts: the Alertmanager's timeout, cut to what is left before Stop()'s
    // deadline. The watchdog in SendAll bounds the whole request.
    const absl::Duration timeout =
        std::max(absl::Milliseconds(1), std::min(cfg.timeout, DrainDeadline() - absl::Now()));
    absl::StatusOr<std::unique_ptr<httplib::ClientImpl>> made = httpclient::NewClient(
        {.scheme = cfg.scheme, .target = t.target, .tls = cfg.tls_config, .timeout = timeout});
    if (!made.ok()) {
      err = std::string(made.status().message());
    } else {
      std::shared_ptr<httplib::ClientImpl> client = *std::move(made);
      bool aborted = false;
      {
        absl::MutexLock lock(&mu_);
        aborted = r->aborted;
        if (!aborted) r->client = client;
      }
      if (!aborted) {
        httplib::Headers headers;
        headers.emplace("User-Agent", options_.user_agent);
        headers.emplace("Host", t.target);
        if (!auth->empty()) headers.emplace("Authorization", *auth);
        httplib::Result res = client->Post(t.path, headers, body, "application/json");
        absl::MutexLock lock(&mu_);
        r->client = nullptr;
        aborted = r->aborted;
        if (res && res->status / 100 == 2) {
          ok = true;
        } else if (res) {
          err = absl::StrCat("bad response status ", StatusText(res->status));
        } else {
          err = absl::StrCat("Post \"", t.url, "\": ", ErrorText(res.error()));
        }
      }
      if (!ok && aborted) err = "context deadline exceeded";
    }
  }
  if (!ok) {
    LogError("Error sending alert",
             {{"alertmanager", t.url}, {"count", absl::StrCat(count)}, {"err", err}});
    metrics_->PerAm(metrics_->errors, t.url, 1);
  }
  metrics_->PerAm(metrics_->latency, t.url, absl::ToDoubleSeconds(clock_->Now() - begin));
  metrics_->PerAm(metrics_->sent, t.url, static_cast<double>(count));
  absl::MutexLock lock(&mu_);
  r->ok = ok;
  r->done = true;
  cv_.SignalAll();
}

}  // namespace stakewatch::notifier
