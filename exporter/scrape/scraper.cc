#include "scrape/scraper.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "httpclient/httpclient.h"
#include "httplib.h"
#include "relabel/relabel.h"
#include "textparse/textparse.h"

namespace stakewatch::scrape {
namespace {

constexpr char kReasonPayloadUrl[] = "type.stakewatch/scrape.reason";

absl::Status WithReason(absl::Status s, std::string_view reason) {
  s.SetPayload(kReasonPayloadUrl, absl::Cord(ToAbsl(reason)));
  return s;
}

absl::Status Error(std::string_view reason, std::string_view message) {
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (reason == kReasonTimeout) code = absl::StatusCode::kDeadlineExceeded;
  if (reason == kReasonTooLarge) code = absl::StatusCode::kResourceExhausted;
  if (reason == kReasonParse) code = absl::StatusCode::kInvalidArgument;
  if (reason == kReasonAuthFile) code = absl::StatusCode::kFailedPrecondition;
  if (reason == kReasonCancelled) code = absl::StatusCode::kCancelled;
  return WithReason(absl::Status(code, ToAbsl(message)), reason);
}

// Go's strconv.FormatFloat(x, 'f', -1, 64) for the timeout header: shortest exact decimal.
std::string FormatSeconds(absl::Duration d) {
  const double s = absl::ToDoubleSeconds(d);
  char buf[64];
  for (int prec = 0; prec < 18; ++prec) {
    std::snprintf(buf, sizeof(buf), "%.*f", prec, s);
    if (std::strtod(buf, nullptr) == s) return buf;
  }
  return buf;
}

// Go's url.QueryEscape.
std::string QueryEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// httpclient's errors as a Fetch error with a reason: TLS trouble (FailedPrecondition from
// NewClient) is "tls", everything else about the target is "connect".
absl::Status ClientError(const absl::Status& s) {
  return Error(s.code() == absl::StatusCode::kFailedPrecondition ? kReasonTls : kReasonConnect,
               ToStd(s.message()));
}

}  // namespace

std::string FetchErrorReason(const absl::Status& status) {
  auto p = status.GetPayload(kReasonPayloadUrl);
  return p.has_value() ? std::string(*p) : std::string();
}

// Registers a client with a canceller for the duration of one fetch.
class FetchSession {
 public:
  FetchSession(FetchCanceller* c, httplib::ClientImpl* client) : c_(c) {
    if (c_ == nullptr) return;
    absl::MutexLock l(&c_->mu_);
    c_->active_ = client;
  }
  ~FetchSession() {
    if (c_ == nullptr) return;
    absl::MutexLock l(&c_->mu_);
    c_->active_ = nullptr;
  }

 private:
  FetchCanceller* c_;
};

void FetchCanceller::Cancel() {
  absl::MutexLock l(&mu_);
  cancelled_ = true;
  if (active_ != nullptr) active_->stop();
}

bool FetchCanceller::cancelled() const {
  absl::MutexLock l(&mu_);
  return cancelled_;
}

absl::StatusOr<FetchResult> Fetch(const FetchOptions& o, FetchCanceller* canceller) {
  if (o.scheme != "http" && o.scheme != "https") {
    return Error(kReasonConnect, absl::StrCat("unsupported scheme \"", o.scheme, "\""));
  }
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + o.timeout;
  absl::StatusOr<httpclient::HostPort> hp = httpclient::SplitTarget(o.target, o.scheme);
  if (!hp.ok()) return Error(kReasonConnect, ToStd(hp.status().message()));

  httplib::Headers headers;
  headers.emplace("Accept", o.accept);
  headers.emplace("Accept-Encoding", "gzip");
  headers.emplace("User-Agent", o.user_agent);
  headers.emplace("X-Prometheus-Scrape-Timeout-Seconds", FormatSeconds(o.timeout));
  headers.emplace("Host", o.target);
  absl::StatusOr<std::string> auth =
      httpclient::AuthorizationHeader(o.basic_auth, o.bearer_token_file, o.authorization);
  if (!auth.ok()) return Error(kReasonAuthFile, ToStd(auth.status().message()));
  if (!auth->empty()) headers.emplace("Authorization", *std::move(auth));

  absl::StatusOr<std::unique_ptr<httplib::ClientImpl>> made = httpclient::NewClient(
      {.scheme = o.scheme, .target = o.target, .tls = o.tls, .timeout = o.timeout});
  if (!made.ok()) return ClientError(made.status());
  std::unique_ptr<httplib::ClientImpl> client = *std::move(made);
  client->set_decompress(true);
  client->set_url_encode(false);  // the query is encoded below, as Go does

  std::string path = o.path.empty() ? "/" : o.path;
  if (!o.params.empty()) {
    std::string q;
    for (const auto& [k, values] : o.params) {
      for (const std::string& v : values) {
        if (!q.empty()) q += '&';
        q += QueryEscape(k) + "=" + QueryEscape(v);
      }
    }
    path += (path.find('?') == std::string::npos ? "?" : "&") + q;
  }

  FetchResult result;
  std::string abort_reason;  // why our callbacks stopped the transfer
  auto response_handler = [&](const httplib::Response& res) {
    result.http_status = res.status;
    result.content_type = res.get_header_value("Content-Type");
    if (res.status < 200 || res.status > 299) {
      abort_reason = std::string(kReasonHttpStatus);
      return false;
    }
    return true;
  };
  auto receiver = [&](const char* data, size_t len) {
    if (o.max_body_bytes > 0 && result.body.size() + len > o.max_body_bytes) {
      abort_reason = std::string(kReasonTooLarge);
      return false;
    }
    if (absl::Now() > deadline) {
      abort_reason = std::string(kReasonTimeout);
      return false;
    }
    result.body.append(data, len);
    return true;
  };

  httplib::Result res(nullptr, httplib::Error::Unknown);
  {
    FetchSession session(canceller, client.get());
    if (canceller != nullptr && canceller->cancelled()) {
      return Error(kReasonCancelled, "scrape cancelled");
    }
    res = client->Get(path, headers, response_handler, receiver);
  }
  const absl::Duration elapsed = absl::Now() - start;
  if (res) {
    if (absl::Now() > deadline) {
      return Error(kReasonTimeout, absl::StrCat("context deadline exceeded (",
                                                absl::FormatDuration(o.timeout), ")"));
    }
    return result;
  }
  const httplib::Error err = res.error();
  if (canceller != nullptr && canceller->cancelled()) {
    return Error(kReasonCancelled, "scrape cancelled");
  }
  if (abort_reason == kReasonHttpStatus) {
    return Error(kReasonHttpStatus,
                 absl::StrCat("server returned HTTP status ", result.http_status));
  }
  if (abort_reason == kReasonTooLarge) {
    return Error(kReasonTooLarge,
                 absl::StrCat("body size limit exceeded (", o.max_body_bytes, " bytes)"));
  }
  if (abort_reason == kReasonTimeout || elapsed >= o.timeout ||
      err == httplib::Error::ConnectionTimeout) {
    return Error(kReasonTimeout,
                 absl::StrCat("context deadline exceeded (", absl::FormatDuration(o.timeout), ")"));
  }
  const std::string what = httplib::to_string(err);
  switch (err) {
    case httplib::Error::SSLConnection:
    case httplib::Error::SSLLoadingCerts:
    case httplib::Error::SSLServerVerification:
      return Error(kReasonTls, absl::StrCat("TLS: ", what));
    case httplib::Error::Compression:
      return Error(kReasonParse, absl::StrCat("cannot decompress the body: ", what));
    default:
      return Error(kReasonConnect, absl::StrCat(o.scheme, "://", o.target, ": ", what));
  }
}

FetchOptions FetchOptionsFor(const config::ScrapeConfig& cfg, std::string_view target) {
  FetchOptions o;
  o.scheme = cfg.scheme;
  o.target = std::string(target);
  o.path = cfg.metrics_path;
  o.params = cfg.params;
  o.timeout = cfg.scrape_timeout;
  o.basic_auth = cfg.basic_auth;
  o.bearer_token_file = cfg.bearer_token_file;
  o.authorization = cfg.authorization;
  o.tls = cfg.tls_config;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Scraper

struct Scraper::Shared {
  std::unique_ptr<relabel::Relabeler> relabeler;
};

struct Scraper::Target {
  std::string target;
  tsdb::Labels labels;  // job, instance, static labels (no "__" names)
  FetchOptions fetch;
  FetchCanceller canceller;
  std::thread thread;

  absl::Mutex mu;  // serializes scrapes of this target
  struct CacheEntry {
    tsdb::Labels labels;  // empty: dropped by relabelling
    uint64_t hash = 0;
    uint64_t last_iter = 0;
  };
  // Raw series bytes -> final labels.
  absl::flat_hash_map<std::string, CacheEntry> cache ABSL_GUARDED_BY(mu);
  uint64_t iter ABSL_GUARDED_BY(mu) = 0;
  // Series (by final-labels hash) appended without explicit timestamp in the last successful
  // scrape, and in the current one.
  absl::flat_hash_map<uint64_t, tsdb::Labels> series_prev ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<uint64_t, tsdb::Labels> series_cur ABSL_GUARDED_BY(mu);
};

namespace {

// Prometheus's mutateSampleLabels: target labels onto the exposed ones, by honor_labels.
tsdb::LabelsBuilder MutateLabels(const std::vector<tsdb::Label>& exposed_raw,
                                 const tsdb::Labels& exposed, const tsdb::Labels& target,
                                 bool honor) {
  tsdb::LabelsBuilder lb(exposed);
  if (honor) {
    for (const tsdb::Label& l : target) {
      // Go's lset.Has sees exposed labels with empty values too.
      const bool has = std::any_of(exposed_raw.begin(), exposed_raw.end(),
                                   [&](const tsdb::Label& e) { return e.name == l.name; });
      if (!has) lb.Set(l.name, l.value);
    }
    return lb;
  }
  std::vector<tsdb::Label> conflicts;
  for (const tsdb::Label& l : target) {
    std::string_view existing = exposed.Get(l.name);
    if (!existing.empty()) conflicts.push_back({l.name, std::string(existing)});
    lb.Set(l.name, l.value);
  }
  if (conflicts.empty()) return lb;
  std::stable_sort(
      conflicts.begin(), conflicts.end(),
      [](const tsdb::Label& a, const tsdb::Label& b) { return a.name.size() < b.name.size(); });
  for (size_t i = 0; i < conflicts.size(); ++i) {
    std::string name = conflicts[i].name;
    for (;;) {
      name = "exported_" + name;
      bool taken = exposed.Has(name) || target.Has(name);
      for (size_t j = 0; j < i && !taken; ++j) taken = conflicts[j].name == name;
      if (!taken) break;
    }
    conflicts[i].name = name;
  }
  for (const tsdb::Label& c : conflicts) lb.Set(c.name, c.value);
  return lb;
}

}  // namespace

absl::Duration Scraper::ScrapeOffset(std::string_view job, std::string_view target,
                                     absl::Duration interval) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a, stable across runs and builds
  for (std::string_view s : {job, std::string_view("\xff", 1), target}) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  }
  const int64_t ns = absl::ToInt64Nanoseconds(interval);
  if (ns <= 0) return absl::ZeroDuration();
  return absl::Nanoseconds(static_cast<int64_t>(h % static_cast<uint64_t>(ns)));
}

absl::StatusOr<std::unique_ptr<Scraper>> Scraper::Create(const config::ScrapeConfig& cfg,
                                                         tsdb::Storage* storage, Clock* clock,
                                                         ScrapeObserver* observer,
                                                         ScraperOptions options) {
  if (storage == nullptr || clock == nullptr) {
    return absl::InvalidArgumentError("scraper needs a storage and a clock");
  }
  if (cfg.scrape_interval <= absl::ZeroDuration() || cfg.scrape_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("job ", cfg.job_name, ": scrape_interval and scrape_timeout must be > 0"));
  }
  std::unique_ptr<Scraper> s(new Scraper());
  s->cfg_ = cfg;
  s->storage_ = storage;
  s->clock_ = clock;
  s->observer_ = observer;
  s->options_ = options;
  s->shared_ = std::make_unique<Shared>();
  auto r = relabel::Relabeler::Create(cfg.metric_relabel_configs);
  if (!r.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("job ", cfg.job_name, ": metric_relabel_configs: ", r.status().message()));
  }
  s->shared_->relabeler = *std::move(r);
  for (const config::StaticConfig& sc : cfg.static_configs) {
    for (const std::string& target : sc.targets) {
      bool dup = false;
      for (const auto& t : s->targets_) dup = dup || t->target == target;
      if (dup) continue;  // Prometheus deduplicates identical targets too
      auto t = std::make_unique<Target>();
      t->target = target;
      // populateLabels: group labels first, then job/instance only where not set.
      tsdb::LabelsBuilder lb;
      for (const auto& [k, v] : sc.labels) {
        if (k.rfind("__", 0) != 0) lb.Set(k, v);
      }
      if (lb.Get("job").empty()) lb.Set("job", cfg.job_name);
      if (lb.Get("instance").empty()) lb.Set("instance", target);
      t->labels = lb.Build();
      t->fetch = FetchOptionsFor(cfg, target);
      t->fetch.max_body_bytes = options.body_size_limit;
      s->targets_.push_back(std::move(t));
    }
  }
  return s;
}

Scraper::~Scraper() { Stop(); }

std::vector<std::string> Scraper::targets() const {
  std::vector<std::string> out;
  for (const auto& t : targets_) out.push_back(t->target);
  return out;
}

absl::StatusOr<tsdb::Labels> Scraper::TargetLabels(std::string_view target) const {
  for (const auto& t : targets_) {
    if (t->target == target) return t->labels;
  }
  return absl::NotFoundError(absl::StrCat("no target ", ToAbsl(target)));
}

void Scraper::Start() {
  absl::MutexLock l(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  for (auto& t : targets_) t->thread = std::thread([this, tp = t.get()] { Run(tp); });
}

void Scraper::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  for (auto& t : targets_) t->canceller.Cancel();
  for (auto& t : targets_) {
    if (t->thread.joinable()) t->thread.join();
  }
}

bool Scraper::WaitUntil(absl::Time deadline) {
  // The clock may be a FakeClock: wait in short real-time slices and re-read it.
  const bool fake = dynamic_cast<FakeClock*>(clock_) != nullptr;
  absl::MutexLock l(&mu_);
  while (!stopping_) {
    const absl::Duration left = deadline - clock_->Now();
    if (left <= absl::ZeroDuration()) return true;
    mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                         fake ? absl::Milliseconds(5) : std::min(left, absl::Seconds(1)));
  }
  return false;
}

void Scraper::Run(Target* t) {
  const absl::Duration interval = cfg_.scrape_interval;
  // Prometheus's Target.offset: the first slot where (time mod interval) == offset.
  const absl::Time now = clock_->Now();
  const int64_t iv = absl::ToInt64Nanoseconds(interval);
  const int64_t now_ns = absl::ToUnixNanos(now);
  int64_t next =
      iv - now_ns % iv + absl::ToInt64Nanoseconds(ScrapeOffset(cfg_.job_name, t->target, interval));
  if (next > iv) next -= iv;
  absl::Time slot = now + absl::Nanoseconds(next);
  while (WaitUntil(slot)) {
    ScrapeTarget(*t);
    slot += interval;
    const absl::Time after = clock_->Now();
    if (slot <= after) {  // missed slots are skipped, like a Go ticker
      slot += interval * std::ceil(absl::FDivDuration(after - slot, interval) + 1e-9);
      if (slot <= after) slot += interval;
    }
  }
}

absl::StatusOr<ScrapeResult> Scraper::ScrapeOnce(std::string_view target) {
  for (auto& t : targets_) {
    if (t->target == target) return ScrapeTarget(*t);
  }
  return absl::NotFoundError(absl::StrCat("no target ", ToAbsl(target)));
}

ScrapeResult Scraper::ScrapeTarget(Target& t) {
  absl::MutexLock lock(&t.mu);
  ScrapeResult r;
  r.time = clock_->Now();
  const int64_t ts = absl::ToUnixMillis(r.time);
  absl::StatusOr<FetchResult> fetched = Fetch(t.fetch, &t.canceller);

  std::unique_ptr<tsdb::Appender> app = storage_->NewAppender();
  absl::Status err = fetched.status();
  bool appended_samples = false;
  if (fetched.ok()) {
    // sl.append: parse, label, relabel, append.
    ++t.iter;
    textparse::Parser p(fetched->body, textparse::FormatFromContentType(fetched->content_type));
    std::vector<tsdb::Label> raw;
    for (;;) {
      absl::StatusOr<textparse::Entry> e = p.Next();
      if (!e.ok()) {
        err = Error(kReasonParse, ToStd(e.status().message()));
        break;
      }
      if (*e == textparse::Entry::kEof) break;
      if (*e != textparse::Entry::kSeries) continue;
      ++r.samples_scraped;
      const std::optional<int64_t> explicit_ts = p.timestamp_ms();
      const int64_t sample_t = explicit_ts.value_or(ts);
      auto it = t.cache.find(ToAbsl(p.series()));
      bool is_new = false;
      if (it == t.cache.end()) {
        raw.clear();
        raw.push_back({std::string(tsdb::kMetricName), std::string(p.metric_name())});
        for (const textparse::LabelView& lv : p.labels()) {
          raw.push_back({std::string(lv.name), std::string(lv.value)});
        }
        std::stable_sort(raw.begin(), raw.end(), [](const tsdb::Label& a, const tsdb::Label& b) {
          return a.name < b.name;
        });
        std::vector<tsdb::Label> nonempty;
        for (const tsdb::Label& l : raw) {
          if (l.value.empty()) continue;
          if (!nonempty.empty() && nonempty.back().name == l.name) {
            err = Error(kReasonParse, absl::StrCat("label name \"", l.name,
                                                   "\" is not unique: invalid sample (series ",
                                                   ToAbsl(p.series()), ")"));
            break;
          }
          nonempty.push_back(l);
        }
        if (!err.ok()) break;
        const tsdb::Labels exposed = tsdb::Labels::FromSorted(std::move(nonempty));
        tsdb::LabelsBuilder lb = MutateLabels(raw, exposed, t.labels, cfg_.honor_labels);
        Target::CacheEntry entry;
        if (shared_->relabeler->Process(lb)) entry.labels = lb.Build();
        if (!entry.labels.empty() && !entry.labels.Has(tsdb::kMetricName)) {
          err = Error(kReasonParse, absl::StrCat("missing metric name (__name__ label) for ",
                                                 ToAbsl(p.series())));
          break;
        }
        // Prometheus 2.42 validates the name after relabelling (the text parser lets e.g. a
        // leading blank through): an invalid one fails the whole scrape.
        if (!entry.labels.empty() &&
            !tsdb::IsValidMetricName(entry.labels.Get(tsdb::kMetricName))) {
          err =
              Error(kReasonParse, absl::StrCat("invalid metric name \"",
                                               ToAbsl(entry.labels.Get(tsdb::kMetricName)), "\""));
          break;
        }
        entry.hash = entry.labels.Hash();
        it = t.cache.emplace(std::string(p.series()), std::move(entry)).first;
        is_new = true;
      }
      it->second.last_iter = t.iter;
      if (it->second.labels.empty()) continue;  // dropped by relabelling
      const tsdb::AppendError ae = app->Append(it->second.labels, sample_t, p.value());
      switch (ae) {
        case tsdb::AppendError::kNone:
          if (!explicit_ts.has_value()) t.series_cur[it->second.hash] = it->second.labels;
          if (is_new) ++r.series_added;
          break;
        case tsdb::AppendError::kOutOfOrder:
          ++r.out_of_order;
          break;
        case tsdb::AppendError::kDuplicateTimestamp:
          ++r.duplicates;
          break;
        case tsdb::AppendError::kOutOfBounds:
          ++r.out_of_bounds;
          break;
      }
      ++r.samples_post_relabel;
    }
    appended_samples = true;
  }
  if (!err.ok() && appended_samples) {
    // Like Prometheus: drop this scrape's samples and go on as if the scrape were empty.
    app->Rollback();
    app = storage_->NewAppender();
  }
  if (!err.ok()) t.series_cur.clear();
  // Series of the previous scrape that are gone (all of them after a failure) go stale.
  for (const auto& [hash, labels] : t.series_prev) {
    if (t.series_cur.contains(hash)) continue;
    // Out-of-order or duplicate errors are expected here (a target that came back) and ignored.
    if (app->Append(labels, ts, tsdb::StaleNaN()) == tsdb::AppendError::kNone) ++r.stale_markers;
  }
  std::swap(t.series_prev, t.series_cur);
  t.series_cur.clear();
  if (err.ok()) {
    // Forget cache entries not seen in this (successful) scrape.
    for (auto it = t.cache.begin(); it != t.cache.end();) {
      if (it->second.last_iter != t.iter) {
        t.cache.erase(it++);
      } else {
        ++it;
      }
    }
  }

  r.ok = err.ok();
  r.error = err;
  r.duration = clock_->Now() - r.time;
  auto report = [&](std::string_view name, double v) {
    tsdb::LabelsBuilder lb(t.labels);
    lb.Set(tsdb::kMetricName, name);
    app->Append(lb.Build(), ts, v);
  };
  report("up", r.ok ? 1 : 0);
  report("scrape_duration_seconds", absl::ToDoubleSeconds(r.duration));
  report("scrape_samples_scraped", static_cast<double>(r.samples_scraped));
  report("scrape_samples_post_metric_relabeling", static_cast<double>(r.samples_post_relabel));
  report("scrape_series_added", static_cast<double>(r.series_added));
  absl::Status commit = app->Commit();
  if (!commit.ok() && r.ok) {
    r.ok = false;
    r.error = commit;
  }
  if (observer_ != nullptr) {
    observer_->OnScrape(t.labels.Get("job"), t.labels.Get("instance"), r.ok, r.duration,
                        FetchErrorReason(r.error), r.samples_scraped);
  }
  return r;
}

}  // namespace stakewatch::scrape
