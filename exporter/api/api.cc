#include "api/api.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/json.h"
#include "api/params.h"
#include "common/strings.h"
#include "httplib.h"
#include "promql/parser.h"

namespace stakewatch::api {
namespace {

constexpr std::string_view kPrefix = "/api/v1/";

enum class ErrorType { kBadData, kExecution, kTimeout, kCanceled, kInternal, kUnavailable };

Response Error(ErrorType type, absl::string_view message) {
  absl::string_view name;
  int code = 500;
  switch (type) {
    case ErrorType::kBadData:
      name = "bad_data";
      code = 400;
      break;
    case ErrorType::kExecution:
      name = "execution";
      code = 422;
      break;
    case ErrorType::kTimeout:
      name = "timeout";
      code = 503;
      break;
    case ErrorType::kCanceled:
      name = "canceled";
      code = 503;
      break;
    case ErrorType::kInternal:
      name = "internal";
      code = 500;
      break;
    case ErrorType::kUnavailable:
      name = "unavailable";
      code = 503;
      break;
  }
  JsonWriter w;
  w.BeginObject();
  w.Key("status");
  w.String("error");
  w.Key("errorType");
  w.String(ToStd(name));
  w.Key("error");
  w.String(ToStd(message));
  w.EndObject();
  return Response{code, "application/json", std::move(w).Take()};
}

// `invalid parameter "name": <message>`, bad_data.
Response InvalidParam(std::string_view param, absl::string_view message) {
  return Error(ErrorType::kBadData,
               absl::StrCat("invalid parameter ", GoQuote(param), ": ", message));
}

Response Success(const std::string& data_json) {
  return Response{200, "application/json",
                  absl::StrCat("{\"status\":\"success\",\"data\":", data_json, "}")};
}

Response PlainText(int code, std::string body) {
  return Response{code, "text/plain; charset=utf-8", std::move(body)};
}

// An evaluation error as returnAPIError classifies it.
Response ExecError(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kDeadlineExceeded:
      return Error(ErrorType::kTimeout, s.message());
    case absl::StatusCode::kCancelled:
      return Error(ErrorType::kCanceled, s.message());
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
      return Error(ErrorType::kInternal, s.message());
    case absl::StatusCode::kUnavailable:
      return Error(ErrorType::kUnavailable, s.message());
    default:
      return Error(ErrorType::kExecution, s.message());
  }
}

// Go's r.FormValue: the first value, or "".
std::string FormValue(const Request& r, const std::string& name) {
  auto it = r.params.find(name);
  return it == r.params.end() ? std::string() : it->second;
}

std::vector<std::string> FormValues(const Request& r, const std::string& name) {
  std::vector<std::string> out;
  auto [begin, end] = r.params.equal_range(name);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
  return out;
}

// parseTimeParam: `def` when absent or empty; errors already wrapped as the API reports them.
absl::StatusOr<int64_t> TimeParam(const Request& r, const std::string& name, int64_t def) {
  const std::string v = FormValue(r, name);
  if (v.empty()) return def;
  absl::StatusOr<int64_t> t = ParseTimeMs(v);
  if (!t.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid time value for '", name, "': ", t.status().message()));
  }
  return t;
}

// parseMatchersParam: every selector parses, and each has a matcher that does not match "".
absl::StatusOr<std::vector<std::vector<tsdb::Matcher>>> ParseMatchers(
    const std::vector<std::string>& selectors) {
  std::vector<std::vector<tsdb::Matcher>> sets;
  for (const std::string& s : selectors) {
    absl::StatusOr<std::vector<promql::Matcher>> ms = promql::ParseMetricSelector(s);
    if (!ms.ok()) return ms.status();
    bool non_empty = false;
    for (const promql::Matcher& m : *ms) non_empty = non_empty || !m.Matches("");
    if (!non_empty) {
      return absl::InvalidArgumentError("match[] must contain at least one non-empty matcher");
    }
    sets.push_back(query::ToStorageMatchers(*ms));
  }
  return sets;
}

void WriteLabels(JsonWriter& w, const tsdb::Labels& labels) {
  w.BeginObject();
  for (const tsdb::Label& l : labels) {
    w.Key(l.name);
    w.String(l.value);
  }
  w.EndObject();
}

void WriteMap(JsonWriter& w, const std::map<std::string, std::string>& m) {
  w.BeginObject();
  for (const auto& [k, v] : m) {
    w.Key(k);
    w.String(v);
  }
  w.EndObject();
}

// [ts, "value"] of a vector or matrix point.
void WritePoint(JsonWriter& w, int64_t t_ms, double v) {
  w.BeginArray();
  w.Raw(FormatTimestamp(t_ms));
  w.String(FormatSampleValue(v));
  w.EndArray();
}

void WriteMatrix(JsonWriter& w, const query::Matrix& m) {
  w.BeginArray();
  for (const query::Series& s : m) {
    w.BeginObject();
    w.Key("metric");
    WriteLabels(w, s.metric);
    w.Key("values");
    w.BeginArray();
    for (const query::Point& p : s.points) WritePoint(w, p.t_ms, p.v);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

// queryData: {"resultType": ..., "result": ...}.
std::string QueryData(const query::Value& v) {
  JsonWriter w;
  w.BeginObject();
  w.Key("resultType");
  if (const auto* vec = std::get_if<query::Vector>(&v)) {
    w.String("vector");
    w.Key("result");
    w.BeginArray();
    for (const query::VSample& s : *vec) {
      w.BeginObject();
      w.Key("metric");
      WriteLabels(w, s.metric);
      w.Key("value");
      WritePoint(w, s.t_ms, s.v);
      w.EndObject();
    }
    w.EndArray();
  } else if (const auto* m = std::get_if<query::Matrix>(&v)) {
    w.String("matrix");
    w.Key("result");
    WriteMatrix(w, *m);
  } else if (const auto* sc = std::get_if<query::Scalar>(&v)) {
    // promql.Scalar.MarshalJSON: encoding/json of [float64(t)/1000, FormatFloat(v, 'f')].
    w.String("scalar");
    w.Key("result");
    w.BeginArray();
    w.Raw(FormatGoFloat(static_cast<double>(sc->t_ms) / 1000));
    w.String(FormatF(sc->v));
    w.EndArray();
  } else {
    const auto& str = std::get<query::String>(v);
    w.String("string");
    w.Key("result");
    w.BeginArray();
    w.Raw(FormatGoFloat(static_cast<double>(str.t_ms) / 1000));
    w.String(str.v);
    w.EndArray();
  }
  w.EndObject();
  return std::move(w).Take();
}

// The engine to run one request with: the configured one, with the `timeout` parameter as a
// tighter bound (Prometheus puts it on the request context).
query::EngineOptions WithTimeout(const query::EngineOptions& base, std::optional<int64_t> ns) {
  query::EngineOptions o = base;
  if (ns.has_value()) o.timeout = std::min(o.timeout, absl::Nanoseconds(*ns));
  return o;
}

// Labels of the series with data in [mint, maxt] matching `matchers` (all series for none).
absl::StatusOr<std::vector<tsdb::Labels>> SeriesLabels(const tsdb::Storage& storage,
                                                       const std::vector<tsdb::Matcher>& matchers,
                                                       int64_t mint, int64_t maxt) {
  std::vector<tsdb::Labels> out;
  if (const auto* mem = dynamic_cast<const tsdb::MemStorage*>(&storage)) {
    // Cursors hold chunk references only: no samples are decoded.
    absl::StatusOr<std::vector<tsdb::SeriesCursor>> cursors = mem->Query(matchers, mint, maxt);
    if (!cursors.ok()) return cursors.status();
    out.reserve(cursors->size());
    for (tsdb::SeriesCursor& c : *cursors) out.push_back(std::move(c.labels));
    return out;
  }
  absl::StatusOr<std::vector<tsdb::Series>> series = storage.Select(matchers, mint, maxt);
  if (!series.ok()) return series.status();
  for (tsdb::Series& s : *series) {
    if (!s.samples.empty()) out.push_back(std::move(s.labels));
  }
  return out;
}

void WriteAlert(JsonWriter& w, const ruleeval::Alert& a) {
  w.BeginObject();
  w.Key("labels");
  WriteLabels(w, a.labels);
  w.Key("annotations");
  WriteMap(w, a.annotations);
  w.Key("state");
  w.String(ruleeval::AlertStateName(a.state));
  w.Key("activeAt");
  w.String(FormatGoTime(a.active_at));
  if (!ruleeval::IsZeroTime(a.keep_firing_since)) {
    w.Key("keepFiringSince");
    w.String(FormatGoTime(a.keep_firing_since));
  }
  w.Key("value");
  w.String(FormatE(a.value));
  w.EndObject();
}

bool ValidLabelName(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Api::Api(ApiOptions options) : options_(std::move(options)) {}

absl::StatusOr<absl::Duration> Api::AcquireSlot(absl::Duration timeout) const {
  if (options_.max_concurrent_queries <= 0) return absl::ZeroDuration();
  const absl::Time start = absl::Now();
  absl::MutexLock lock(&gate_mu_);
  if (running_ < options_.max_concurrent_queries) {
    ++running_;
    return absl::ZeroDuration();
  }
  if (queued_ >= options_.max_queued_queries) {
    return absl::UnavailableError(absl::StrCat("too many concurrent queries (",
                                               options_.max_concurrent_queries, " running, ",
                                               queued_, " queued); try again later"));
  }
  ++queued_;
  const int limit = options_.max_concurrent_queries;
  const int* running = &running_;
  auto free = [running, limit] { return *running < limit; };
  const bool got = gate_mu_.AwaitWithTimeout(absl::Condition(&free), timeout);
  --queued_;
  if (!got) return absl::DeadlineExceededError("query timed out in query queue");
  ++running_;
  return absl::Now() - start;
}

void Api::ReleaseSlot() const {
  if (options_.max_concurrent_queries <= 0) return;
  absl::MutexLock lock(&gate_mu_);
  --running_;
}

Response Api::Handle(const Request& r) const {
  if (!absl::StartsWith(ToAbsl(r.path), ToAbsl(kPrefix))) {
    return PlainText(404, "404 page not found\n");
  }
  const std::string_view p = std::string_view(r.path).substr(kPrefix.size());
  const bool get = r.method == "GET";
  const bool get_or_post = get || r.method == "POST";
  const auto route = [&](bool allowed, auto&& fn) -> Response {
    if (!allowed) return PlainText(405, "Method Not Allowed\n");
    return fn();
  };
  if (p == "query") return route(get_or_post, [&] { return Query(r); });
  if (p == "query_range") return route(get_or_post, [&] { return QueryRange(r); });
  if (p == "series") return route(get_or_post, [&] { return Series(r); });
  if (p == "labels") return route(get_or_post, [&] { return LabelNames(r); });
  if (p == "metadata") return route(get, [&] { return Metadata(r); });
  if (p == "rules") return route(get, [&] { return Rules(r); });
  if (p == "alerts") return route(get, [&] { return Alerts(); });
  if (p == "status/buildinfo") return route(get, [&] { return BuildInfoResponse(); });
  constexpr std::string_view kLabel = "label/", kValues = "/values";
  if (absl::StartsWith(ToAbsl(p), ToAbsl(kLabel)) && absl::EndsWith(ToAbsl(p), ToAbsl(kValues)) &&
      p.size() > kLabel.size() + kValues.size()) {
    const std::string_view name =
        p.substr(kLabel.size(), p.size() - kLabel.size() - kValues.size());
    if (name.find('/') == std::string_view::npos) {
      return route(get, [&] { return LabelValues(r, name); });
    }
  }
  return PlainText(404, "404 page not found\n");
}

Response Api::Query(const Request& r) const {
  const int64_t now = absl::ToUnixMillis(options_.clock->Now());
  absl::StatusOr<int64_t> ts = TimeParam(r, "time", now);
  if (!ts.ok()) return InvalidParam("time", ts.status().message());
  std::optional<int64_t> timeout;
  if (const std::string to = FormValue(r, "timeout"); !to.empty()) {
    absl::StatusOr<int64_t> d = ParseDurationNs(to);
    if (!d.ok()) return InvalidParam("timeout", d.status().message());
    timeout = *d;
  }
  absl::StatusOr<promql::ExprPtr> expr = promql::ParseExpr(FormValue(r, "query"));
  if (!expr.ok()) return InvalidParam("query", expr.status().message());
  query::EngineOptions eo = WithTimeout(options_.engine->options(), timeout);
  absl::StatusOr<absl::Duration> waited = AcquireSlot(eo.timeout);
  if (!waited.ok()) return ExecError(waited.status());
  eo.timeout -= *waited;
  const query::Engine engine(eo);
  absl::StatusOr<query::Value> v = engine.Instant(**expr, *ts, *options_.storage);
  ReleaseSlot();
  if (!v.ok()) return ExecError(v.status());
  return Success(QueryData(*v));
}

Response Api::QueryRange(const Request& r) const {
  absl::StatusOr<int64_t> start = ParseTimeMs(FormValue(r, "start"));
  if (!start.ok()) return InvalidParam("start", start.status().message());
  absl::StatusOr<int64_t> end = ParseTimeMs(FormValue(r, "end"));
  if (!end.ok()) return InvalidParam("end", end.status().message());
  if (*end < *start) return InvalidParam("end", "end timestamp must not be before start time");
  absl::StatusOr<int64_t> step = ParseDurationNs(FormValue(r, "step"));
  if (!step.ok()) return InvalidParam("step", step.status().message());
  constexpr char kNonPositive[] =
      "zero or negative query resolution step widths are not accepted. Try a positive integer";
  if (*step <= 0) return InvalidParam("step", kNonPositive);
  // end.Sub(start) / step > 11000, in Go's saturating nanosecond Durations.
  __extension__ typedef __int128 int128;
  int128 span = (static_cast<int128>(*end) - *start) * 1'000'000;
  span = std::min<int128>(span, std::numeric_limits<int64_t>::max());
  if (span / *step > 11000) {
    return Error(ErrorType::kBadData,
                 "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
                 "query resolution (?step=XX)");
  }
  std::optional<int64_t> timeout;
  if (const std::string to = FormValue(r, "timeout"); !to.empty()) {
    absl::StatusOr<int64_t> d = ParseDurationNs(to);
    if (!d.ok()) return InvalidParam("timeout", d.status().message());
    timeout = *d;
  }
  absl::StatusOr<promql::ExprPtr> expr = promql::ParseExpr(FormValue(r, "query"));
  if (!expr.ok()) return Error(ErrorType::kBadData, expr.status().message());
  const promql::ValueType type = promql::Type(**expr);
  if (type != promql::ValueType::kVector && type != promql::ValueType::kScalar) {
    return Error(
        ErrorType::kBadData,
        absl::StrCat("invalid expression type \"", ToAbsl(promql::DocumentedTypeName(type)),
                     "\" for range query, must be Scalar or instant Vector"));
  }
  const int64_t step_ms = *step / 1'000'000;
  if (step_ms == 0 && *end != *start) return InvalidParam("step", kNonPositive);
  query::EngineOptions eo = WithTimeout(options_.engine->options(), timeout);
  absl::StatusOr<absl::Duration> waited = AcquireSlot(eo.timeout);
  if (!waited.ok()) return ExecError(waited.status());
  eo.timeout -= *waited;
  const query::Engine engine(eo);
  absl::StatusOr<query::Matrix> m =
      engine.Range(**expr, *start, *end, std::max<int64_t>(step_ms, 1), *options_.storage);
  ReleaseSlot();
  if (!m.ok()) return ExecError(m.status());
  return Success(QueryData(std::move(*m)));
}

Response Api::Series(const Request& r) const {
  const std::vector<std::string> selectors = FormValues(r, "match[]");
  if (selectors.empty()) return Error(ErrorType::kBadData, "no match[] parameter provided");
  absl::StatusOr<int64_t> start = TimeParam(r, "start", kMinTimeMs);
  if (!start.ok()) return InvalidParam("start", start.status().message());
  absl::StatusOr<int64_t> end = TimeParam(r, "end", kMaxTimeMs);
  if (!end.ok()) return InvalidParam("end", end.status().message());
  absl::StatusOr<std::vector<std::vector<tsdb::Matcher>>> sets = ParseMatchers(selectors);
  if (!sets.ok()) return InvalidParam("match[]", sets.status().message());
  std::set<tsdb::Labels> all;
  for (const std::vector<tsdb::Matcher>& ms : *sets) {
    absl::StatusOr<std::vector<tsdb::Labels>> got =
        SeriesLabels(*options_.storage, ms, *start, *end);
    if (!got.ok()) return Error(ErrorType::kExecution, got.status().message());
    all.insert(got->begin(), got->end());
  }
  JsonWriter w;
  w.BeginArray();
  for (const tsdb::Labels& l : all) WriteLabels(w, l);
  w.EndArray();
  return Success(w.str());
}

Response Api::LabelNames(const Request& r) const {
  absl::StatusOr<int64_t> start = TimeParam(r, "start", kMinTimeMs);
  if (!start.ok()) return InvalidParam("start", start.status().message());
  absl::StatusOr<int64_t> end = TimeParam(r, "end", kMaxTimeMs);
  if (!end.ok()) return InvalidParam("end", end.status().message());
  std::vector<std::string> selectors = FormValues(r, "match[]");
  absl::StatusOr<std::vector<std::vector<tsdb::Matcher>>> sets = ParseMatchers(selectors);
  if (!sets.ok()) return Error(ErrorType::kBadData, sets.status().message());
  if (selectors.empty()) sets->emplace_back();  // every series
  std::set<std::string> names;
  for (const std::vector<tsdb::Matcher>& ms : *sets) {
    absl::StatusOr<std::vector<tsdb::Labels>> got =
        SeriesLabels(*options_.storage, ms, *start, *end);
    if (!got.ok()) return Error(ErrorType::kExecution, got.status().message());
    for (const tsdb::Labels& l : *got) {
      for (const tsdb::Label& label : l) names.insert(label.name);
    }
  }
  JsonWriter w;
  w.BeginArray();
  for (const std::string& n : names) w.String(n);
  w.EndArray();
  return Success(w.str());
}

Response Api::LabelValues(const Request& r, std::string_view name) const {
  if (!ValidLabelName(name)) {
    return Error(ErrorType::kBadData, absl::StrCat("invalid label name: ", GoQuote(name)));
  }
  absl::StatusOr<int64_t> start = TimeParam(r, "start", kMinTimeMs);
  if (!start.ok()) return InvalidParam("start", start.status().message());
  absl::StatusOr<int64_t> end = TimeParam(r, "end", kMaxTimeMs);
  if (!end.ok()) return InvalidParam("end", end.status().message());
  std::vector<std::string> selectors = FormValues(r, "match[]");
  absl::StatusOr<std::vector<std::vector<tsdb::Matcher>>> sets = ParseMatchers(selectors);
  if (!sets.ok()) return Error(ErrorType::kBadData, sets.status().message());
  if (selectors.empty()) sets->emplace_back();
  std::set<std::string> values;
  for (const std::vector<tsdb::Matcher>& ms : *sets) {
    absl::StatusOr<std::vector<tsdb::Labels>> got =
        SeriesLabels(*options_.storage, ms, *start, *end);
    if (!got.ok()) return Error(ErrorType::kExecution, got.status().message());
    for (const tsdb::Labels& l : *got) {
      const std::string_view v = l.Get(name);
      if (!v.empty()) values.emplace(v);
    }
  }
  JsonWriter w;
  w.BeginArray();
  for (const std::string& v : values) w.String(v);
  w.EndArray();
  return Success(w.str());
}

Response Api::Metadata(const Request& r) const {
  int64_t limit = -1;
  if (const std::string s = FormValue(r, "limit"); !s.empty()) {
    int lim = 0;
    if (!absl::SimpleAtoi(ToAbsl(s), &lim)) {
      return Error(ErrorType::kBadData, "limit must be a number");
    }
    limit = lim;
  }
  const std::string metric = FormValue(r, "metric");
  // metric -> distinct (type, help, unit), in first-seen order.
  std::map<std::string, std::vector<MetricMetadata>> by_metric;
  if (options_.metadata) {
    for (MetricMetadata& m : options_.metadata()) {
      if (!metric.empty() && m.metric != metric) continue;
      std::vector<MetricMetadata>& list = by_metric[m.metric];
      const bool seen = std::any_of(list.begin(), list.end(), [&](const MetricMetadata& o) {
        return o.type == m.type && o.help == m.help && o.unit == m.unit;
      });
      if (!seen) list.push_back(std::move(m));
    }
  }
  JsonWriter w;
  w.BeginObject();
  int64_t n = 0;
  for (const auto& [name, list] : by_metric) {
    if (limit >= 0 && n >= limit) break;
    ++n;
    w.Key(name);
    w.BeginArray();
    for (const MetricMetadata& m : list) {
      w.BeginObject();
      w.Key("type");
      w.String(m.type);
      w.Key("help");
      w.String(m.help);
      w.Key("unit");
      w.String(m.unit);
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  return Success(w.str());
}

Response Api::Rules(const Request& r) const {
  const std::string type = absl::AsciiStrToLower(FormValue(r, "type"));
  if (!type.empty() && type != "alert" && type != "record") {
    return InvalidParam("type", absl::StrCat("not supported value ", GoQuote(type)));
  }
  const bool alerts = type.empty() || type == "alert";
  const bool records = type.empty() || type == "record";
  std::vector<ruleeval::GroupSnapshot> groups;
  if (options_.rule_groups) groups = options_.rule_groups();
  JsonWriter w;
  w.BeginObject();
  w.Key("groups");
  w.BeginArray();
  for (const ruleeval::GroupSnapshot& g : groups) {
    w.BeginObject();
    w.Key("name");
    w.String(g.name);
    w.Key("file");
    w.String(g.file);
    w.Key("rules");
    w.BeginArray();
    for (const ruleeval::RuleSnapshot& rule : g.rules) {
      if (rule.alerting ? !alerts : !records) continue;
      w.BeginObject();
      if (rule.alerting) {
        w.Key("state");
        w.String(ruleeval::AlertStateName(rule.state));
      }
      w.Key("name");
      w.String(rule.name);
      w.Key("query");
      w.String(rule.query);
      if (rule.alerting) {
        w.Key("duration");
        w.Raw(FormatGoFloat(absl::ToDoubleSeconds(rule.duration)));
        w.Key("keepFiringFor");
        w.Raw(FormatGoFloat(absl::ToDoubleSeconds(rule.keep_firing_for)));
        w.Key("labels");
        WriteLabels(w, rule.labels);
        w.Key("annotations");
        WriteMap(w, rule.annotations);
        w.Key("alerts");
        w.BeginArray();
        for (const ruleeval::Alert& a : rule.alerts) WriteAlert(w, a);
        w.EndArray();
      } else if (!rule.labels.empty()) {
        w.Key("labels");
        WriteLabels(w, rule.labels);
      }
      w.Key("health");
      w.String(ruleeval::RuleHealthName(rule.health));
      if (!rule.last_error.empty()) {
        w.Key("lastError");
        w.String(rule.last_error);
      }
      w.Key("evaluationTime");
      w.Raw(FormatGoFloat(absl::ToDoubleSeconds(rule.evaluation_time)));
      w.Key("lastEvaluation");
      w.String(FormatGoTime(rule.last_evaluation));
      w.Key("type");
      w.String(rule.alerting ? "alerting" : "recording");
      w.EndObject();
    }
    w.EndArray();
    w.Key("interval");
    w.Raw(FormatGoFloat(absl::ToDoubleSeconds(g.interval)));
    w.Key("limit");
    w.Int(g.limit);
    w.Key("evaluationTime");
    w.Raw(FormatGoFloat(absl::ToDoubleSeconds(g.evaluation_time)));
    w.Key("lastEvaluation");
    w.String(FormatGoTime(g.last_evaluation));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Success(w.str());
}

Response Api::Alerts() const {
  std::vector<ruleeval::GroupSnapshot> groups;
  if (options_.rule_groups) groups = options_.rule_groups();
  JsonWriter w;
  w.BeginObject();
  w.Key("alerts");
  w.BeginArray();
  for (const ruleeval::GroupSnapshot& g : groups) {
    for (const ruleeval::RuleSnapshot& rule : g.rules) {
      for (const ruleeval::Alert& a : rule.alerts) WriteAlert(w, a);
    }
  }
  w.EndArray();
  w.EndObject();
  return Success(w.str());
}

Response Api::BuildInfoResponse() const {
  const BuildInfo& b = options_.build_info;
  JsonWriter w;
  w.BeginObject();
  for (const auto& [k, v] : {std::pair<std::string_view, const std::string*>{"version", &b.version},
                             {"revision", &b.revision},
                             {"branch", &b.branch},
                             {"buildUser", &b.build_user},
                             {"buildDate", &b.build_date},
                             {"goVersion", &b.go_version}}) {
    w.Key(k);
    w.String(*v);
  }
  w.EndObject();
  return Success(w.str());
}

void Register(httplib::Server& server, const Api& api) {
  const auto handler = [&api](const httplib::Request& req, httplib::Response& res) {
    Request r;
    r.method = req.method;
    r.path = req.path;
    // cpp-httplib puts the URL query and a form-encoded body's fields in `params`.
    for (const auto& [k, v] : req.params) r.params.emplace(k, v);
    Response out = api.Handle(r);
    res.status = out.status;
    res.set_content(out.body, out.content_type.c_str());
  };
  constexpr char kPattern[] = R"(/api/v1/.*)";
  server.Get(kPattern, handler);
  server.Post(kPattern, handler);
  server.Put(kPattern, handler);
  server.Delete(kPattern, handler);
  server.Patch(kPattern, handler);
}

}  // namespace stakewatch::api
