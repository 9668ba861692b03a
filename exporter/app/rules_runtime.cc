#include "app/rules_runtime.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "promql/parser.h"
#include "rules/rulefmt.h"

namespace stakewatch::app {
namespace {

constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kMinRetentionMs = 6 * kHourMs;

// How far back `e` reads from its evaluation time, in ms, per metric name ("" for selectors
// without a metric name); `outer` is what enclosing subqueries add.
void Lookbacks(const promql::Expr& e, int64_t outer, int64_t lookback_ms,
               std::map<std::string, int64_t>* out) {
  using namespace promql;  // NOLINT: AST node names
  auto pos = [](int64_t v) { return std::max<int64_t>(v, 0); };
  auto note = [out](const std::string& name, int64_t v) {
    int64_t& best = (*out)[name];
    best = std::max(best, v);
  };
  if (const auto* vs = std::get_if<VectorSelector>(&e.node)) {
    note(vs->name, outer + pos(vs->original_offset_ms) + lookback_ms);
    return;
  }
  if (const auto* ms = std::get_if<MatrixSelector>(&e.node)) {
    note(ms->vector_selector.name,
         outer + ms->range_ms + pos(ms->vector_selector.original_offset_ms));
    return;
  }
  if (const auto* sq = std::get_if<SubqueryExpr>(&e.node)) {
    Lookbacks(*sq->expr, outer + sq->range_ms + pos(sq->original_offset_ms), lookback_ms, out);
    return;
  }
  auto visit = [&](const ExprPtr& c) {
    if (c) Lookbacks(*c, outer, lookback_ms, out);
  };
  if (const auto* p = std::get_if<ParenExpr>(&e.node)) visit(p->expr);
  if (const auto* u = std::get_if<UnaryExpr>(&e.node)) visit(u->expr);
  if (const auto* b = std::get_if<BinaryExpr>(&e.node)) {
    visit(b->lhs);
    visit(b->rhs);
  }
  if (const auto* a = std::get_if<AggregateExpr>(&e.node)) {
    visit(a->param);
    visit(a->expr);
  }
  if (const auto* c = std::get_if<Call>(&e.node)) {
    for (const ExprPtr& arg : c->args) visit(arg);
  }
}

tsdb::Labels ToLabels(const std::map<std::string, std::string>& m) {
  std::vector<std::pair<std::string, std::string>> pairs(m.begin(), m.end());
  return tsdb::Labels::FromPairs(pairs);
}

}  // namespace

std::map<std::string, int64_t> LookbackByNameMs(const std::vector<std::string>& files,
                                                int64_t lookback_ms) {
  std::map<std::string, int64_t> out;
  for (const std::string& f : files) {
    rules::ParseResult r = rules::ParseRuleFile(f, {});
    if (!r.errors.empty()) continue;
    for (const rules::RuleGroup& g : r.file.groups) {
      for (const rules::Rule& rule : g.rules) {
        absl::StatusOr<promql::ExprPtr> e = promql::ParseExpr(rule.expr);
        if (e.ok()) Lookbacks(**e, 0, lookback_ms, &out);
      }
    }
  }
  return out;
}

int64_t LongestLookbackMs(const std::vector<std::string>& files, int64_t lookback_ms) {
  int64_t best = 0;
  for (const auto& [name, ms] : LookbackByNameMs(files, lookback_ms)) best = std::max(best, ms);
  return best;
}

RulesRuntime::RulesRuntime(RulesRuntimeOptions options)
    : options_(std::move(options)), config_(*options_.config), engine_(options_.engine) {}

RulesRuntime::~RulesRuntime() { Stop(); }

absl::StatusOr<std::unique_ptr<RulesRuntime>> RulesRuntime::Create(RulesRuntimeOptions options) {
  if (options.config == nullptr || options.storage == nullptr) {
    return absl::InvalidArgumentError("rules runtime needs a configuration and a storage");
  }
  std::unique_ptr<RulesRuntime> rt(new RulesRuntime(std::move(options)));
  ruleeval::ManagerOptions mo;
  mo.storage = rt->options_.storage;
  RulesRuntime* self = rt.get();
  mo.query = [self](const promql::Expr& expr, std::string_view,
                    int64_t ts_ms) -> absl::StatusOr<query::Vector> {
    ASSIGN_OR_RETURN(query::Value v, self->engine_.Instant(expr, ts_ms, *self->options_.storage));
    if (auto* vec = std::get_if<query::Vector>(&v)) return std::move(*vec);
    if (auto* s = std::get_if<query::Scalar>(&v)) {
      return query::Vector{query::VSample{tsdb::Labels(), s->t_ms, s->v}};
    }
    return absl::InvalidArgumentError("rule result is not a vector or scalar");
  };
  mo.clock = rt->options_.clock;
  mo.evaluation_interval = rt->config_.global.evaluation_interval;
  mo.external_labels = ToLabels(rt->config_.global.external_labels);
  mo.external_url = rt->options_.external_url;
  mo.resend_delay = rt->options_.resend_delay;
  mo.notify = rt->options_.notify;
  mo.metrics_store = rt->options_.metrics_store;
  mo.state_dir = rt->options_.state_dir;
  mo.restore = rt->options_.restore;
  rt->manager_ = std::make_unique<ruleeval::Manager>(std::move(mo));
  ASSIGN_OR_RETURN(std::vector<std::string> files, rt->ResolveFiles(rt->config_.rule_files));
  RETURN_IF_ERROR(rt->manager_->Update(files));
  rt->ApplyRetention(files);
  {
    absl::MutexLock lock(&rt->mu_);
    rt->files_ = files;
  }
  LogInfo("rule files loaded", {{"files", absl::StrJoin(files, ",")}});
  return rt;
}

absl::StatusOr<std::vector<std::string>> RulesRuntime::ResolveFiles(
    const std::vector<std::string>& patterns) const {
  return ResolveRuleFiles(patterns, options_.config_dir);
}

absl::StatusOr<std::vector<std::string>> ResolveRuleFiles(const std::vector<std::string>& patterns,
                                                          const std::string& config_dir) {
  std::vector<std::string> out;
  for (const std::string& pattern : patterns) {
    std::filesystem::path p(pattern);
    if (p.is_relative()) p = std::filesystem::path(config_dir) / p;
    glob_t g{};
    const int rc = ::glob(p.string().c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    } else if (rc != GLOB_NOMATCH) {
      globfree(&g);
      return absl::InvalidArgumentError(
          absl::StrCat("error retrieving rule files for ", pattern, ": bad pattern"));
    }
    globfree(&g);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void RulesRuntime::ApplyRetention(const std::vector<std::string>& files) {
  int64_t retention = absl::ToInt64Milliseconds(config_.storage.retention);
  absl::flat_hash_map<std::string, int64_t> by_name;
  if (retention <= 0) {
    // Each metric name keeps what the rules read of it plus an hour; everything else (and
    // selectors without a name) at least six hours.
    const std::map<std::string, int64_t> lookbacks =
        LookbackByNameMs(files, options_.engine.lookback_delta_ms);
    retention = kMinRetentionMs;
    if (auto it = lookbacks.find(""); it != lookbacks.end()) {
      retention = std::max(retention, it->second + kHourMs);
    }
    for (const auto& [name, ms] : lookbacks) {
      if (!name.empty() && ms + kHourMs > retention) by_name[name] = ms + kHourMs;
    }
  }
  const int64_t longest =
      std::accumulate(by_name.begin(), by_name.end(), retention,
                      [](int64_t m, const auto& kv) { return std::max(m, kv.second); });
  options_.storage->SetRetention(retention, std::move(by_name));
  LogInfo("series store retention",
          {{"retention", config::FormatPrometheusDuration(absl::Milliseconds(retention))},
           {"longest", config::FormatPrometheusDuration(absl::Milliseconds(longest))}});
}

absl::Status RulesRuntime::Reload() {
  config::Config cfg;
  {
    absl::MutexLock lock(&mu_);
    cfg.rule_files = config_.rule_files;
    cfg.global = config_.global;
  }
  return Reload(cfg);
}

absl::Status RulesRuntime::Reload(const config::Config& cfg) {
  absl::StatusOr<std::vector<std::string>> files = ResolveFiles(cfg.rule_files);
  absl::Status s =
      files.ok() ? manager_->Update(
                       *files, ruleeval::Manager::Globals{cfg.global.evaluation_interval,
                                                          ToLabels(cfg.global.external_labels)})
                 : files.status();
  if (!s.ok()) {
    LogError("rule files reload failed; the previous rules keep running",
             {{"err", std::string(s.message())}});
    return s;
  }
  {
    absl::MutexLock lock(&mu_);
    files_ = *files;
    config_.rule_files = cfg.rule_files;
    config_.global.evaluation_interval = cfg.global.evaluation_interval;
    config_.global.external_labels = cfg.global.external_labels;
  }
  ApplyRetention(*files);
  LogInfo("rule files reloaded", {{"files", absl::StrJoin(*files, ",")}});
  return absl::OkStatus();
}

std::vector<std::string> RulesRuntime::files() const {
  absl::MutexLock lock(&mu_);
  return files_;
}

absl::Status RulesRuntime::Start(const std::string& self_address,
                                 const std::string& telemetry_path) {
  if (started_) return absl::FailedPreconditionError("rules runtime already started");
  started_ = true;
  if (config_.storage.self_scrape && !self_address.empty()) {
    config::ScrapeConfig sc;
    sc.job_name = "stakewatch";
    sc.scrape_interval = config_.global.scrape_interval;
    sc.scrape_timeout = config_.global.scrape_timeout;
    sc.metrics_path = telemetry_path;
    sc.static_configs.push_back(config::StaticConfig{{self_address}, {}});
    ASSIGN_OR_RETURN(self_scraper_, scrape::Scraper::Create(sc, options_.storage, options_.clock));
    self_scraper_->Start();
  }
  compact_thread_ = std::thread([this] { CompactLoop(); });
  return absl::OkStatus();
}

absl::Duration RulesRuntime::WarmUp() const {
  absl::Duration w = absl::ZeroDuration();
  if (self_scraper_ != nullptr) {
    w = config_.global.scrape_interval + config_.global.scrape_timeout;
  }
  for (const config::ScrapeConfig& sc : config_.scrape_configs) {
    w = std::max(w, sc.scrape_interval + sc.scrape_timeout);
  }
  return w;
}

void RulesRuntime::CompactLoop() {
  const absl::Duration warm_up = WarmUp();
  if (warm_up > absl::ZeroDuration()) {
    LogInfo("rule evaluation starts after the first scrapes",
            {{"in", absl::FormatDuration(warm_up)}});
  }
  if (stop_.WaitForNotificationWithTimeout(warm_up)) return;
  manager_->Start();
  while (!stop_.WaitForNotificationWithTimeout(absl::Minutes(1))) {
    const size_t removed = options_.storage->Compact();
    if (removed > 0)
      LogDebug("series store compacted", {{"series_removed", absl::StrCat(removed)}});
  }
}

void RulesRuntime::Stop() {
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (compact_thread_.joinable()) compact_thread_.join();  // it starts the manager
  if (self_scraper_ != nullptr) self_scraper_->Stop();
  if (manager_ != nullptr) manager_->Stop();
}

}  // namespace stakewatch::app
