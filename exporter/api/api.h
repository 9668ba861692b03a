// Prometheus 2.42's HTTP API (web/api/v1/api.go), enough for Grafana to use stakewatch as a
// Prometheus data source and to list its rules and alerts.
//
//   api::Api api({.engine = &engine, .storage = &storage,
//                 .rule_groups = [&] { return manager.Groups(); },
//                 .metadata = [&] { return OwnMetricFamilies(); },
//                 .build_info = {.version = "0.1.0"}});
//   httplib::Server server;
//   api::Register(server, api);   // mounts GET and POST /api/v1/...
//
// The core is transport-free: Api::Handle takes a Request (method, path, the form values of the
// URL query and of a form-encoded body) and returns a Response (status, content type, body), so
// it is tested without sockets. Endpoints, with Prometheus's parameters, errors and JSON bytes:
//   GET|POST /api/v1/query        query, time (default now), timeout
//   GET|POST /api/v1/query_range  query, start, end, step, timeout (at most 11,000 steps)
//   GET|POST /api/v1/series       match[] (required), start, end
//   GET|POST /api/v1/labels       match[] (optional), start, end
//   GET      /api/v1/label/<name>/values  match[], start, end
//   GET      /api/v1/metadata     metric, limit
//   GET      /api/v1/rules        type=alert|record
//   GET      /api/v1/alerts
//   GET      /api/v1/status/buildinfo
// Errors: {"status":"error","errorType":...,"error":...} with 400 bad_data, 422 execution,
// 503 timeout/canceled, 500 internal; unknown paths 404 and wrong methods 405 with Go's plain
// text bodies. Times: unix seconds (fraction rounded to ms) or RFC 3339; durations: float
// seconds or "1m30s" (api/params.h). JSON formatting: api/json.h.
//
// Series, label names and label values come from the series that have data in [start, end]
// (with tsdb::MemStorage: a chunk overlapping the range, which is what Prometheus's head does
// for series; for label names and values without match[] Prometheus's head lists every series
// it holds, which differs only for series without any data in the range).
//
// Known differences from Prometheus 2.42: no `stats`, no warnings, no OPTIONS/CORS, no
// /targets, /query_exemplars, /status/{config,flags,runtimeinfo,tsdb}; a range query whose step
// is below one millisecond (with start < end) is rejected as a zero step (Prometheus divides by
// zero); /metadata with `limit` keeps the first metrics in name order (Go's map order is
// random).
//
// Threads: Handle is const and may run on any number of threads at once (cpp-httplib calls it
// from its worker pool). The engine, storage and callbacks are not owned; they must outlive the
// Api and be safe to call concurrently (query::Engine and tsdb::Storage are; the rule manager's
// Groups() is).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/clock.h"
#include "query/engine.h"
#include "ruleeval/group.h"
#include "tsdb/storage.h"

namespace httplib {
class Server;
}

namespace stakewatch::api {

struct Request {
  std::string method = "GET";  // "GET", "POST", ...
  std::string path;            // e.g. "/api/v1/query"; already URL-decoded
  // Form values: the URL query and a form-encoded body, in order (the first value of a name is
  // the one used, as Go's FormValue; match[] uses them all).
  std::multimap<std::string, std::string> params;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// /api/v1/status/buildinfo.
struct BuildInfo {
  std::string version;
  std::string revision;
  std::string branch;
  std::string build_user;
  std::string build_date;
  std::string go_version;
};

// One metric family's metadata for /api/v1/metadata.
struct MetricMetadata {
  std::string metric;  // family name
  std::string type;    // "counter", "gauge", "histogram", "summary", "unknown", ...
  std::string help;
  std::string unit;  // usually ""
};

struct ApiOptions {
  const query::Engine* engine = nullptr;   // required; not owned
  const tsdb::Storage* storage = nullptr;  // required; not owned
  // Rule groups for /rules and /alerts (e.g. ruleeval::Manager::Groups); unset means none.
  std::function<std::vector<ruleeval::GroupSnapshot>()> rule_groups;
  // Metadata for /metadata; unset means none.
  std::function<std::vector<MetricMetadata>()> metadata;
  BuildInfo build_info;
  // Source of the default query time; not owned.
  Clock* clock = Clock::Real();
  // --query.max-concurrency: queries (/query, /query_range) evaluated at once. Further queries
  // wait for a slot; the wait counts against their timeout, as Prometheus's query queue does
  // ("query timed out in query queue"). At most `max_queued_queries` wait; beyond that a query
  // is refused at once with 503 errorType "unavailable", so that queries cannot take every HTTP
  // worker thread from /metrics and the health endpoints. 0: no limit.
  int max_concurrent_queries = 20;
  int max_queued_queries = 20;
};

class Api {
 public:
  // REQUIRES: options.engine and options.storage are set.
  explicit Api(ApiOptions options);
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  // Serves one request. Never fails: every problem is an error response.
  Response Handle(const Request& request) const;

 private:
  Response Query(const Request& r) const;
  Response QueryRange(const Request& r) const;
  Response Series(const Request& r) const;
  Response LabelNames(const Request& r) const;
  Response LabelValues(const Request& r, std::string_view name) const;
  Response Metadata(const Request& r) const;
  Response Rules(const Request& r) const;
  Response Alerts() const;
  Response BuildInfoResponse() const;

  // Takes a query slot (see ApiOptions::max_concurrent_queries), waiting at most `timeout`.
  // Returns the time waited, or the error response (queue full, or timed out in the queue).
  absl::StatusOr<absl::Duration> AcquireSlot(absl::Duration timeout) const;
  void ReleaseSlot() const;

  ApiOptions options_;
  mutable absl::Mutex gate_mu_;
  mutable int running_ ABSL_GUARDED_BY(gate_mu_) = 0;
  mutable int queued_ ABSL_GUARDED_BY(gate_mu_) = 0;
};

// Mounts `api` on `server` for GET and POST under /api/v1/. `api` must outlive the server's
// listening.
void Register(httplib::Server& server, const Api& api);

}  // namespace stakewatch::api
