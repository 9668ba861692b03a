// Checks every shipped Grafana dashboard (dashboards/*.json) against the metrics that exist:
//  - the file is valid JSON with a uid, a title and a `datasource` variable of type "datasource"
//    (query "prometheus"); every panel and every target uses it ({"uid": "${datasource}"});
//  - panel ids are unique, rows' nested panels included;
//  - every target's `expr`, after the template variables are replaced by sample values
//    ($var, ${var}, ${var:fmt}, [[var]], Grafana's $__rate_interval, $__interval, $__range...),
//    parses with stakewatch's PromQL parser (stakewatch::promql), and every metric it selects is
//    documented in docs/metrics.md (a histogram's family row covers _bucket/_sum/_count), is the
//    `record:` of a rule in rules/*.rules.yml, is listed in docs/external-metrics.md, or is one of
//    ALERTS, ALERTS_FOR_STATE, up;
//  - a multi-value variable is only used with a regex matcher (=~, !~), and a per-epoch counter
//    (docs/metrics.md: validator accounting and key safety; they advance once per 6.4-minute
//    epoch) is only read over a window of at least 30 minutes ($__rate_interval is substituted
//    with 1m, so using it on such a counter fails);
//  - every `label_values(...)` variable query selects a known metric;
//  - every link to another dashboard ("/d/<uid>") points at a shipped dashboard;
//  - all expressions, written as recording rules into one temporary rule file (one group per
//    target, named after the dashboard, panel and refId), pass `promtool check rules` (skipped
//    with a message if /usr/bin/promtool is absent) and `stakewatch check rules`, each reporting
//    exactly as many rules as there are targets;
//  - the node_exporter metrics listed in docs/external-metrics.md are exposed by a running
//    node_exporter (skipped if /usr/bin/prometheus-node-exporter is absent).
// The checker itself is tested first on small dashboards with known defects (CheckerTest).
// The stakewatch binary is the build tree's (test/support StakewatchBinary()); the environment
// variable STAKEWATCH_BINARY overrides it. Temporary files of a failed check are left in /tmp.
#include <glob.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "promql/ast.h"
#include "promql/parser.h"
#include "simdjson.h"
#include "support/process.h"
#include "yaml-cpp/yaml.h"

namespace stakewatch::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kSourceDir = STAKEWATCH_SOURCE_DIR;
constexpr char kPromtool[] = "/usr/bin/promtool";
constexpr char kNodeExporter[] = "/usr/bin/prometheus-node-exporter";
// Per-epoch counters must be read over at least this window (two epochs are 12.8 minutes; the
// dashboards use 30m or more so that a window always spans several epochs).
constexpr int64_t kMinPerEpochWindowMs = 30 * 60 * 1000;
constexpr char kMultiMarker[] = "swmulti_";

std::vector<std::string> Glob(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
  }
  globfree(&g);
  return out;
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------------------
// The metrics a dashboard may name.

struct Catalogue {
  std::set<std::string> documented;             // docs/metrics.md (histogram families expanded).
  std::set<std::string> per_epoch;              // Of those, the ones that advance once per epoch.
  std::set<std::string> recorded;               // `record:` names of rules/*.rules.yml.
  std::set<std::string> external;               // docs/external-metrics.md.
  std::map<std::string, std::string> exporter;  // External metric -> its exporter cell.

  bool Known(const std::string& name) const {
    static const std::set<std::string> kBuiltin = {"ALERTS", "ALERTS_FOR_STATE", "up"};
    return kBuiltin.count(name) || documented.count(name) || recorded.count(name) ||
           external.count(name);
  }
};

// Rows of a markdown table whose first cell is a backquoted metric name: `| \`name\` | ... |`.
// Returns (name, second cell) pairs, and the heading each row sits under.
struct TableRow {
  std::string name;
  std::string second_cell;
  std::string heading;
};

std::vector<TableRow> MetricTableRows(std::string_view markdown) {
  std::vector<TableRow> rows;
  std::string heading;
  for (absl::string_view line : absl::StrSplit(ToAbsl(markdown), '\n')) {
    if (absl::StartsWith(line, "#")) {
      line.remove_prefix(std::min(line.find_first_not_of('#'), line.size()));
      heading = std::string(absl::StripAsciiWhitespace(line));
      continue;
    }
    if (!absl::StartsWith(line, "| `")) continue;
    // "", " `name` ", " type ", ...
    std::vector<absl::string_view> cells = absl::StrSplit(line, '|');
    if (cells.size() < 3) continue;
    absl::string_view first = absl::StripAsciiWhitespace(cells[1]);
    if (first.size() < 3 || first.front() != '`' || first.back() != '`') continue;
    std::string name(first.substr(1, first.size() - 2));
    if (!IsMetricName(name)) continue;
    rows.push_back({name, std::string(absl::StripAsciiWhitespace(cells[2])), heading});
  }
  return rows;
}

void AddMetricsDoc(std::string_view markdown, Catalogue& cat) {
  for (const TableRow& row : MetricTableRows(markdown)) {
    const bool histogram = row.second_cell == "histogram";
    std::vector<std::string> names;
    if (histogram) {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        names.push_back(row.name + suffix);
      }
    } else {
      names.push_back(row.name);
    }
    const bool per_epoch_section = absl::StartsWith(row.heading, "Validator accounting") ||
                                   absl::StartsWith(row.heading, "Key-safety reconciliation");
    const bool counts = histogram || row.second_cell == "counter";
    for (const std::string& n : names) {
      cat.documented.insert(n);
      if (per_epoch_section && counts) cat.per_epoch.insert(n);
    }
  }
  // Advances once per accounted epoch too (docs/metrics.md, "stakewatch itself").
  if (cat.documented.count("stakewatch_epochs_processed_total")) {
    cat.per_epoch.insert("stakewatch_epochs_processed_total");
  }
}

void AddExternalDoc(std::string_view markdown, Catalogue& cat) {
  for (const TableRow& row : MetricTableRows(markdown)) {
    cat.external.insert(row.name);
    cat.exporter[row.name] = row.second_cell;
  }
}

absl::Status AddRecordingRules(const std::string& path, Catalogue& cat) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root["groups"]) return absl::OkStatus();
    for (const YAML::Node& group : root["groups"]) {
      if (!group["rules"]) continue;
      for (const YAML::Node& rule : group["rules"]) {
        if (rule["record"]) cat.recorded.insert(rule["record"].as<std::string>());
      }
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
  return absl::OkStatus();
}

// ------------------------------------------------------------------------------------------
// Template variables.

struct Variable {
  std::string name;
  std::string type;
  bool multi = false;
  bool include_all = false;
  std::string query;  // For type "query".
};

// The sample value a variable reference becomes in a checked expression.
absl::StatusOr<std::string> SampleValue(const std::string& name,
                                        const std::map<std::string, Variable>& vars) {
  static const std::map<std::string, std::string> kBuiltins = {
      {"__rate_interval", "1m"}, {"__interval", "1m"},   {"__interval_ms", "60000"},
      {"__range", "1d"},         {"__range_s", "86400"}, {"__range_ms", "86400000"},
  };
  if (auto it = kBuiltins.find(name); it != kBuiltins.end()) return it->second;
  auto it = vars.find(name);
  if (it == vars.end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown template variable $", name));
  }
  if (it->second.type == "datasource") {
    return absl::InvalidArgumentError(
        absl::StrCat("the data-source variable $", name, " is used inside an expression"));
  }
  if (it->second.multi || it->second.include_all) {
    // Two values, as Grafana's regex/pipe formatting joins them; the marker lets the checker
    // find matchers that receive a multi-value variable.
    return absl::StrCat(kMultiMarker, name, "_a|", kMultiMarker, name, "_b");
  }
  return absl::StrCat("sample_", name);
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Replaces $name, ${name}, ${name:format}, [[name]] and [[name:format]] by sample values.
absl::StatusOr<std::string> SubstituteVariables(std::string_view text,
                                                const std::map<std::string, Variable>& vars) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    std::string name;
    size_t next = i;
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      const size_t close = text.find('}', i);
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError("unterminated ${ in expression");
      }
      std::string_view inner = text.substr(i + 2, close - i - 2);
      name = std::string(inner.substr(0, inner.find(':')));
      next = close + 1;
    } else if (text[i] == '$' && i + 1 < text.size() && IsNameChar(text[i + 1])) {
      size_t end = i + 1;
      while (end < text.size() && IsNameChar(text[end])) ++end;
      name = std::string(text.substr(i + 1, end - i - 1));
      next = end;
    } else if (text.substr(i, 2) == "[[") {
      const size_t close = text.find("]]", i);
      if (close == std::string_view::npos) {
        return absl::InvalidArgumentError("unterminated [[ in expression");
      }
      std::string_view inner = text.substr(i + 2, close - i - 2);
      name = std::string(inner.substr(0, inner.find(':')));
      next = close + 2;
    }
    if (next == i) {
      out.push_back(text[i]);
      ++i;
      continue;
    }
    absl::StatusOr<std::string> value = SampleValue(name, vars);
    if (!value.ok()) return value.status();
    out += *value;
    i = next;
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// PromQL: the selectors an expression reads.

struct Selector {
  std::string name;
  std::vector<promql::Matcher> matchers;
  std::optional<int64_t> range_ms;  // Set for a range selector.
};

void CollectSelectors(const promql::Expr& e, std::vector<Selector>& out) {
  std::visit(
      [&](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, promql::VectorSelector>) {
          out.push_back({n.name, n.matchers, std::nullopt});
        } else if constexpr (std::is_same_v<T, promql::MatrixSelector>) {
          out.push_back({n.vector_selector.name, n.vector_selector.matchers, n.range_ms});
        } else if constexpr (std::is_same_v<T, promql::SubqueryExpr> ||
                             std::is_same_v<T, promql::ParenExpr> ||
                             std::is_same_v<T, promql::UnaryExpr>) {
          if (n.expr) CollectSelectors(*n.expr, out);
        } else if constexpr (std::is_same_v<T, promql::BinaryExpr>) {
          if (n.lhs) CollectSelectors(*n.lhs, out);
          if (n.rhs) CollectSelectors(*n.rhs, out);
        } else if constexpr (std::is_same_v<T, promql::AggregateExpr>) {
          if (n.param) CollectSelectors(*n.param, out);
          if (n.expr) CollectSelectors(*n.expr, out);
        } else if constexpr (std::is_same_v<T, promql::Call>) {
          for (const promql::ExprPtr& a : n.args) {
            if (a) CollectSelectors(*a, out);
          }
        }
      },
      e.node);
}

// The metric name of a selector: its name, or a `__name__="..."` matcher.
std::string SelectorName(const Selector& s) {
  if (!s.name.empty()) return s.name;
  for (const promql::Matcher& m : s.matchers) {
    if (m.name == "__name__" && m.type == promql::MatchType::kEqual) return m.value;
  }
  return "";
}

// Problems of one (substituted) expression; empty when it is fine.
std::vector<std::string> CheckExpression(const std::string& expr, const Catalogue& cat) {
  std::vector<std::string> problems;
  absl::StatusOr<promql::ExprPtr> parsed = promql::ParseExpr(expr);
  if (!parsed.ok()) {
    problems.push_back(absl::StrCat("does not parse: ", parsed.status().message()));
    return problems;
  }
  std::vector<Selector> selectors;
  CollectSelectors(**parsed, selectors);
  for (const Selector& s : selectors) {
    const std::string name = SelectorName(s);
    if (name.empty()) {
      problems.push_back("a selector without a fixed metric name cannot be checked");
      continue;
    }
    if (!cat.Known(name)) {
      problems.push_back(absl::StrCat("metric ", name,
                                      " is not in docs/metrics.md, docs/external-metrics.md "
                                      "or a record: of rules/*.rules.yml"));
    }
    for (const promql::Matcher& m : s.matchers) {
      if (absl::StrContains(m.value, kMultiMarker) && m.type != promql::MatchType::kRegexMatch &&
          m.type != promql::MatchType::kRegexNoMatch) {
        problems.push_back(absl::StrCat("multi-value variable used with ",
                                        ToAbsl(promql::MatchTypeString(m.type)), " on label ",
                                        m.name, " of ", name, " (use =~)"));
      }
    }
    if (s.range_ms && cat.per_epoch.count(name) && *s.range_ms < kMinPerEpochWindowMs) {
      problems.push_back(absl::StrCat("per-epoch counter ", name, " read over ", *s.range_ms / 1000,
                                      "s: use a window of at least 30m (it advances once per "
                                      "6.4-minute epoch)"));
    }
  }
  return problems;
}

// ------------------------------------------------------------------------------------------
// Dashboards.

struct Target {
  std::string panel;  // "panel 3 \"Title\""
  std::string ref_id;
  std::string expr;         // As written.
  std::string substituted;  // Variables replaced; empty if substitution failed.
};

struct DashboardCheck {
  std::string file;
  std::string uid;
  std::vector<std::string> problems;
  std::vector<Target> targets;
  std::vector<std::string> link_uids;  // Dashboards this one links to ("/d/<uid>").
  std::map<std::string, Variable> variables;
};

std::string GetString(simdjson::dom::element e, std::string_view key) {
  std::string_view v;
  if (e[key].get(v) != simdjson::SUCCESS) return "";
  return std::string(v);
}

bool GetBool(simdjson::dom::element e, std::string_view key) {
  bool v = false;
  if (e[key].get(v) != simdjson::SUCCESS) return false;
  return v;
}

// Whether `e[key]` is {"type": "prometheus", "uid": "${datasource}"}.
bool UsesDatasourceVariable(simdjson::dom::element e) {
  simdjson::dom::element ds;
  if (e["datasource"].get(ds) != simdjson::SUCCESS) return false;
  return GetString(ds, "uid") == "${datasource}" && GetString(ds, "type") == "prometheus";
}

// Every "url" string anywhere below `e`.
void CollectUrls(simdjson::dom::element e, std::vector<std::string>& out) {
  simdjson::dom::object obj;
  simdjson::dom::array arr;
  if (e.get(obj) == simdjson::SUCCESS) {
    for (auto field : obj) {
      std::string_view s;
      if (field.key == "url" && field.value.get(s) == simdjson::SUCCESS)
        out.push_back(std::string(s));
      CollectUrls(field.value, out);
    }
  } else if (e.get(arr) == simdjson::SUCCESS) {
    for (simdjson::dom::element child : arr) CollectUrls(child, out);
  }
}

void CheckVariableQuery(const Variable& v, DashboardCheck& dc, const Catalogue& cat) {
  const std::string where = absl::StrCat(dc.file, ": variable $", v.name, " (", v.query, "): ");
  absl::string_view q = absl::StripAsciiWhitespace(v.query);
  if (!absl::ConsumePrefix(&q, "label_values(") || !absl::ConsumeSuffix(&q, ")")) {
    dc.problems.push_back(where + "only label_values(...) queries are supported");
    return;
  }
  const size_t comma = q.rfind(',');
  if (comma == std::string_view::npos) return;  // label_values(label): no metric named.
  absl::StatusOr<std::string> selector =
      SubstituteVariables(ToStd(absl::StripAsciiWhitespace(q.substr(0, comma))), dc.variables);
  if (!selector.ok()) {
    dc.problems.push_back(where + std::string(selector.status().message()));
    return;
  }
  for (const std::string& p : CheckExpression(*selector, cat)) dc.problems.push_back(where + p);
}

void CheckPanels(simdjson::dom::array panels, DashboardCheck& dc, std::set<int64_t>& ids,
                 const Catalogue& cat) {
  for (simdjson::dom::element p : panels) {
    const std::string title = GetString(p, "title");
    const std::string type = GetString(p, "type");
    int64_t id = 0;
    std::string label = absl::StrCat("panel \"", title, "\"");
    if (p["id"].get(id) != simdjson::SUCCESS) {
      dc.problems.push_back(absl::StrCat(dc.file, ": ", label, " has no numeric id"));
    } else {
      label = absl::StrCat("panel ", id, " \"", title, "\"");
      if (!ids.insert(id).second) {
        dc.problems.push_back(absl::StrCat(dc.file, ": ", label, ": duplicate panel id ", id));
      }
    }
    simdjson::dom::array nested;
    if (p["panels"].get(nested) == simdjson::SUCCESS) CheckPanels(nested, dc, ids, cat);
    if (type == "row" || type == "text") continue;
    if (!UsesDatasourceVariable(p)) {
      dc.problems.push_back(absl::StrCat(dc.file, ": ", label,
                                         ": datasource is not {\"type\": \"prometheus\", "
                                         "\"uid\": \"${datasource}\"}"));
    }
    simdjson::dom::array targets;
    if (p["targets"].get(targets) != simdjson::SUCCESS || targets.size() == 0) {
      dc.problems.push_back(absl::StrCat(dc.file, ": ", label, ": no targets"));
      continue;
    }
    for (simdjson::dom::element t : targets) {
      Target target{label, GetString(t, "refId"), GetString(t, "expr"), ""};
      const std::string where =
          absl::StrCat(dc.file, ": ", label, " target ", target.ref_id, " `", target.expr, "`: ");
      if (!UsesDatasourceVariable(t)) {
        dc.problems.push_back(where + "target datasource is not the ${datasource} variable");
      }
      if (target.expr.empty()) {
        dc.problems.push_back(where + "no expr");
        continue;
      }
      absl::StatusOr<std::string> substituted = SubstituteVariables(target.expr, dc.variables);
      if (!substituted.ok()) {
        dc.problems.push_back(where + std::string(substituted.status().message()));
        dc.targets.push_back(target);
        continue;
      }
      target.substituted = *substituted;
      for (const std::string& problem : CheckExpression(target.substituted, cat)) {
        dc.problems.push_back(where + problem);
      }
      dc.targets.push_back(target);
    }
  }
}

// Checks one dashboard's JSON text; `file` names it in messages.
DashboardCheck CheckDashboard(const std::string& file, std::string_view json,
                              const Catalogue& cat) {
  DashboardCheck dc;
  dc.file = file;
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json.data(), json.size());
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root); err != simdjson::SUCCESS) {
    dc.problems.push_back(absl::StrCat(file, ": not valid JSON: ", simdjson::error_message(err)));
    return dc;
  }
  dc.uid = GetString(root, "uid");
  if (dc.uid.empty()) dc.problems.push_back(file + ": no uid");
  if (GetString(root, "title").empty()) dc.problems.push_back(file + ": no title");
  int64_t schema = 0;
  if (root["schemaVersion"].get(schema) != simdjson::SUCCESS || schema < 36) {
    dc.problems.push_back(file + ": schemaVersion missing or below 36");
  }

  simdjson::dom::array vars;
  if (root["templating"]["list"].get(vars) == simdjson::SUCCESS) {
    for (simdjson::dom::element v : vars) {
      Variable var{GetString(v, "name"), GetString(v, "type"), GetBool(v, "multi"),
                   GetBool(v, "includeAll"), ""};
      var.query = GetString(v, "query");
      simdjson::dom::element query_object;
      if (var.query.empty() && v["query"].get(query_object) == simdjson::SUCCESS) {
        var.query = GetString(query_object, "query");  // {"query": "...", "refId": ...}
      }
      if (var.type == "query" && !UsesDatasourceVariable(v)) {
        dc.problems.push_back(absl::StrCat(file, ": variable $", var.name,
                                           ": datasource is not the ${datasource} variable"));
      }
      if (!dc.variables.emplace(var.name, var).second) {
        dc.problems.push_back(absl::StrCat(file, ": variable $", var.name, " defined twice"));
      }
    }
  }
  auto ds = dc.variables.find("datasource");
  if (ds == dc.variables.end() || ds->second.type != "datasource" ||
      ds->second.query != "prometheus") {
    dc.problems.push_back(file +
                          ": no variable `datasource` of type \"datasource\" with query "
                          "\"prometheus\"");
  }
  for (const auto& [name, var] : dc.variables) {
    if (var.type == "query") CheckVariableQuery(var, dc, cat);
  }

  simdjson::dom::array panels;
  if (root["panels"].get(panels) != simdjson::SUCCESS) {
    dc.problems.push_back(file + ": no panels array");
    return dc;
  }
  std::set<int64_t> ids;
  CheckPanels(panels, dc, ids, cat);

  std::vector<std::string> urls;
  CollectUrls(root, urls);
  for (const std::string& url : urls) {
    absl::string_view u = url;
    if (!absl::ConsumePrefix(&u, "/d/")) continue;
    dc.link_uids.push_back(std::string(u.substr(0, u.find_first_of("/?"))));
  }
  return dc;
}

// ------------------------------------------------------------------------------------------
// Running promtool / stakewatch.

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout + stderr.
};

RunResult Run(const std::vector<std::string>& argv, const std::string& dir) {
  RunResult r;
  absl::StatusOr<std::unique_ptr<Subprocess>> p =
      Subprocess::Start(argv, absl::StrCat(dir, "/", Basename(argv[0])));
  if (!p.ok()) {
    r.output = std::string(p.status().message());
    return r;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while ((*p)->Running() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(20));
  const int status = (*p)->Stop(SIGKILL, absl::Seconds(1));
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = (*p)->Stdout() + (*p)->Stderr();
  return r;
}

// One recording rule per target, one group per rule named after dashboard, panel and refId (so
// a tool's error message names where the expression comes from).
std::string RuleFileFor(const std::vector<DashboardCheck>& dashboards, int& count) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "groups" << YAML::Value << YAML::BeginSeq;
  count = 0;
  for (const DashboardCheck& dc : dashboards) {
    for (const Target& t : dc.targets) {
      if (t.substituted.empty()) continue;
      ++count;
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value
          << absl::StrCat(dc.file, " ", t.panel, " target ", t.ref_id, " #", count);
      out << YAML::Key << "rules" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
      out << YAML::Key << "record" << YAML::Value << absl::StrCat("dashboard:expr:", count);
      out << YAML::Key << "expr" << YAML::Value << YAML::DoubleQuoted << t.substituted;
      out << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
    }
  }
  out << YAML::EndSeq << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::string StakewatchBin() {
  const char* env = std::getenv("STAKEWATCH_BINARY");
  return env != nullptr && *env != '\0' ? std::string(env) : StakewatchBinary();
}

// ------------------------------------------------------------------------------------------
// The shipped catalogue and dashboards, loaded once.

struct Shipped {
  Catalogue cat;
  std::vector<std::string> load_errors;
  std::vector<DashboardCheck> dashboards;
};

const Shipped& LoadShipped() {
  static const Shipped* shipped = [] {
    auto* s = new Shipped;
    absl::StatusOr<std::string> metrics = ReadFile(kSourceDir + "/docs/metrics.md");
    if (metrics.ok()) {
      AddMetricsDoc(*metrics, s->cat);
    } else {
      s->load_errors.push_back(std::string(metrics.status().message()));
    }
    absl::StatusOr<std::string> external = ReadFile(kSourceDir + "/docs/external-metrics.md");
    if (external.ok()) {
      AddExternalDoc(*external, s->cat);
    } else {
      s->load_errors.push_back(std::string(external.status().message()));
    }
    for (const std::string& path : Glob(kSourceDir + "/rules/*.rules.yml")) {
      if (absl::Status st = AddRecordingRules(path, s->cat); !st.ok()) {
        s->load_errors.push_back(std::string(st.message()));
      }
    }
    for (const std::string& path : Glob(kSourceDir + "/dashboards/*.json")) {
      absl::StatusOr<std::string> text = ReadFile(path);
      if (!text.ok()) {
        s->load_errors.push_back(std::string(text.status().message()));
        continue;
      }
      s->dashboards.push_back(CheckDashboard(Basename(path), *text, s->cat));
    }
    return s;
  }();
  return *shipped;
}

// ------------------------------------------------------------------------------------------
// The checker on small inputs with known defects.

Catalogue SmallCatalogue() {
  Catalogue cat;
  AddMetricsDoc(
      "## Validator accounting, per group\n\n"
      "| metric | type | definition | cardinality |\n|---|---|---|---|\n"
      "| `eth_validator_group_attestations_missed_total` | counter | x | G |\n"
      "| `eth_validator_group_balance_gwei` | gauge | x | G |\n"
      "## Beacon nodes\n\n"
      "| `eth_beacon_node_requests_total` | counter | x | N |\n"
      "| `eth_beacon_node_request_duration_seconds` | histogram | x | N |\n",
      cat);
  AddExternalDoc("| metric | exporter | why |\n| `node_load1` | node_exporter | x |\n", cat);
  cat.recorded.insert("group:eth_validator_group_attestations_missed:increase1h");
  return cat;
}

std::string Dashboard(const std::string& panels) {
  return absl::StrCat(
      R"json({"uid": "t", "title": "T", "schemaVersion": 38, "templating": {"list": [
        {"name": "datasource", "type": "datasource", "query": "prometheus"},
        {"name": "group", "type": "query", "multi": true, "includeAll": true,
         "datasource": {"type": "prometheus", "uid": "${datasource}"},
         "query": {"query": "label_values(eth_validator_group_balance_gwei, group)"}})json",
      R"(]}, "panels": [)", panels, "]}");
}

std::string Panel(int id, const std::string& expr,
                  const std::string& ds = R"({"type": "prometheus", "uid": "${datasource}"})") {
  return absl::StrCat(R"({"id": )", id, R"(, "type": "timeseries", "title": "P)", id,
                      R"(", "datasource": )", ds, R"(, "targets": [{"refId": "A", "expr": ")", expr,
                      R"(", "datasource": )", ds, "}]}");
}

TEST(CheckerTest, MetricsDocRowsAndHistogramFamilies) {
  Catalogue cat = SmallCatalogue();
  EXPECT_THAT(cat.documented, ElementsAre("eth_beacon_node_request_duration_seconds_bucket",
                                          "eth_beacon_node_request_duration_seconds_count",
                                          "eth_beacon_node_request_duration_seconds_sum",
                                          "eth_beacon_node_requests_total",
                                          "eth_validator_group_attestations_missed_total",
                                          "eth_validator_group_balance_gwei"));
  EXPECT_THAT(cat.per_epoch, ElementsAre("eth_validator_group_attestations_missed_total"));
  EXPECT_THAT(cat.external, ElementsAre("node_load1"));
}

TEST(CheckerTest, SubstitutesEveryVariableSyntax) {
  std::map<std::string, Variable> vars = {
      {"group", {"group", "query", true, true, ""}},
      {"node", {"node", "custom", false, false, ""}},
      {"datasource", {"datasource", "datasource", false, false, "prometheus"}}};
  EXPECT_EQ(SubstituteVariables(R"(x{group=~"$group"}[$__rate_interval])", vars).value(),
            R"(x{group=~"swmulti_group_a|swmulti_group_b"}[1m])");
  EXPECT_EQ(SubstituteVariables(R"(x{a=~"${group:regex}",b="[[node]]"}[$__range])", vars).value(),
            R"(x{a=~"swmulti_group_a|swmulti_group_b",b="sample_node"}[1d])");
  EXPECT_EQ(SubstituteVariables("x[${__interval}] * $__range_s", vars).value(), "x[1m] * 86400");
  EXPECT_EQ(SubstituteVariables(R"(x{a=~"b$"})", vars).value(), R"(x{a=~"b$"})");
  EXPECT_THAT(std::string(SubstituteVariables("x{a=\"$nope\"}", vars).status().message()),
              HasSubstr("unknown template variable $nope"));
  EXPECT_THAT(std::string(SubstituteVariables("x{a=\"$datasource\"}", vars).status().message()),
              HasSubstr("data-source variable"));
}

TEST(CheckerTest, AcceptsAGoodDashboard) {
  const Catalogue cat = SmallCatalogue();
  DashboardCheck dc = CheckDashboard(
      "good.json",
      Dashboard(absl::StrCat(
          R"({"id": 1, "type": "row", "title": "R", "panels": [)",
          Panel(
              2,
              R"(sum by (group) (increase(eth_validator_group_attestations_missed_total{group=~\"$group\"}[1h])))"),
          "]},",
          Panel(3, R"(rate(eth_beacon_node_request_duration_seconds_bucket[$__rate_interval]))"),
          ",", Panel(4, R"(group:eth_validator_group_attestations_missed:increase1h + node_load1)"),
          ",", Panel(5, R"(count(ALERTS{alertstate=\"firing\"}) + count(up))"))),
      cat);
  EXPECT_THAT(dc.problems, IsEmpty());
  ASSERT_EQ(dc.targets.size(), 4u);
  EXPECT_EQ(dc.targets[0].substituted,
            "sum by (group) (increase(eth_validator_group_attestations_missed_total"
            "{group=~\"swmulti_group_a|swmulti_group_b\"}[1h]))");
  EXPECT_EQ(dc.targets[0].panel, "panel 2 \"P2\"");
}

TEST(CheckerTest, ReportsEachDefectWithDashboardAndPanel) {
  const Catalogue cat = SmallCatalogue();
  const std::string other_ds = R"({"type": "prometheus", "uid": "abc"})";
  DashboardCheck dc = CheckDashboard(
      "bad.json",
      Dashboard(absl::StrCat(Panel(1, "rate(eth_validator_group_attestations_missed_total[5m])"),
                             ",", Panel(2, R"(eth_validator_group_balance_gwei{group=\"$group\"})"),
                             ",", Panel(3, "sum(rate(eth_beacon_node_requests_total[5m])"), ",",
                             Panel(4, "eth_not_a_metric"), ",",
                             Panel(5, "eth_validator_group_balance_gwei", other_ds), ",",
                             Panel(6, "eth_validator_group_balance_gwei * $undefined"), ",",
                             R"({"id": 6, "type": "row", "title": "dup"})")),
      cat);
  EXPECT_THAT(
      dc.problems,
      ElementsAre(
          HasSubstr(
              "bad.json: panel 1 \"P1\" target A `rate(eth_validator_group_attestations_missed_"
              "total[5m])`: per-epoch counter eth_validator_group_attestations_missed_total "
              "read over 300s"),
          HasSubstr("panel 2 \"P2\" target A `eth_validator_group_balance_gwei{group=\"$group\"}`: "
                    "multi-value variable used with = on label group"),
          HasSubstr("panel 3 \"P3\" target A `sum(rate(eth_beacon_node_requests_total[5m])`: does "
                    "not parse: 1:"),
          HasSubstr("panel 4 \"P4\" target A `eth_not_a_metric`: metric eth_not_a_metric is not in "
                    "docs/metrics.md"),
          HasSubstr("panel 5 \"P5\": datasource is not"),
          HasSubstr("panel 5 \"P5\" target A `eth_validator_group_balance_gwei`: target datasource "
                    "is not the ${datasource} variable"),
          HasSubstr("panel 6 \"P6\" target A `eth_validator_group_balance_gwei * $undefined`: "
                    "unknown template variable $undefined"),
          HasSubstr("bad.json: panel 6 \"dup\": duplicate panel id 6")));
}

TEST(CheckerTest, ReportsBadJsonMissingDatasourceVariableAndBadVariableQuery) {
  const Catalogue cat = SmallCatalogue();
  EXPECT_THAT(CheckDashboard("x.json", "{\"uid\": ", cat).problems,
              ElementsAre(HasSubstr("x.json: not valid JSON")));
  DashboardCheck dc = CheckDashboard(
      "v.json",
      R"json({"uid": "v", "title": "V", "schemaVersion": 38, "panels": [], "templating": {"list": [
          {"name": "validator", "type": "query",
           "datasource": {"type": "prometheus", "uid": "${datasource}"},
           "query": "label_values(eth_validator_unknown{a=\"b\"}, validator_index)"}]}})json",
      cat);
  EXPECT_THAT(
      dc.problems,
      ElementsAre(HasSubstr("no variable `datasource`"),
                  HasSubstr("v.json: variable $validator (label_values(eth_validator_unknown"
                            "{a=\"b\"}, validator_index)): metric eth_validator_unknown")));
}

TEST(CheckerTest, RuleFileNamesEachTarget) {
  DashboardCheck dc;
  dc.file = "a.json";
  dc.targets = {{"panel 7 \"T\"", "B", "up", "up"}, {"panel 8 \"U\"", "A", "x $y", ""}};
  int count = 0;
  const std::string yaml = RuleFileFor({dc}, count);
  EXPECT_EQ(count, 1);
  YAML::Node root = YAML::Load(yaml);
  ASSERT_EQ(root["groups"].size(), 1u);
  EXPECT_EQ(root["groups"][0]["name"].as<std::string>(), "a.json panel 7 \"T\" target B #1");
  EXPECT_EQ(root["groups"][0]["rules"][0]["record"].as<std::string>(), "dashboard:expr:1");
  EXPECT_EQ(root["groups"][0]["rules"][0]["expr"].as<std::string>(), "up");
}

// ------------------------------------------------------------------------------------------
// The shipped dashboards.

TEST(ShippedDashboardsTest, SourcesLoad) {
  const Shipped& s = LoadShipped();
  EXPECT_THAT(s.load_errors, IsEmpty());
  // A sanity floor, so that a broken table format cannot make every name "undocumented"
  // and go unnoticed... or make the per-epoch window check vacuous.
  EXPECT_GT(s.cat.documented.size(), 150u);
  EXPECT_TRUE(s.cat.per_epoch.count("eth_validator_group_attestation_duties_total"));
  EXPECT_TRUE(s.cat.per_epoch.count("eth_validator_attestations_missed_total"));
  EXPECT_TRUE(
      s.cat.per_epoch.count("eth_validator_group_attestation_inclusion_delay_slots_bucket"));
  EXPECT_FALSE(s.cat.per_epoch.count("eth_beacon_node_requests_total"));
  EXPECT_TRUE(s.cat.external.count("node_filesystem_avail_bytes"));
}

TEST(ShippedDashboardsTest, TheSixDashboardsExist) {
  std::set<std::string> uids;
  for (const DashboardCheck& dc : LoadShipped().dashboards) {
    EXPECT_TRUE(uids.insert(dc.uid).second) << dc.file << ": uid " << dc.uid << " used twice";
  }
  for (const char* uid : {"stakewatch-overview", "stakewatch-validators", "stakewatch-proposals",
                          "stakewatch-signing", "stakewatch-beacon-nodes", "stakewatch-health"}) {
    EXPECT_TRUE(uids.count(uid)) << "no dashboard with uid " << uid;
  }
}

TEST(ShippedDashboardsTest, EachDashboardPassesTheChecker) {
  const Shipped& s = LoadShipped();
  ASSERT_FALSE(s.dashboards.empty());
  for (const DashboardCheck& dc : s.dashboards) {
    EXPECT_TRUE(dc.problems.empty()) << dc.problems.size() << " problem(s):\n"
                                     << absl::StrJoin(dc.problems, "\n");
    EXPECT_FALSE(dc.targets.empty()) << dc.file;
  }
}

TEST(ShippedDashboardsTest, GroupAndValidatorVariablesAndFiringAlerts) {
  for (const DashboardCheck& dc : LoadShipped().dashboards) {
    bool uses_group = false;
    bool firing = false;
    for (const Target& t : dc.targets) {
      uses_group |= absl::StrContains(t.expr, "$group");
      firing |= absl::StrContains(t.expr, "ALERTS{alertstate=\"firing\"}");
    }
    if (uses_group) {
      auto it = dc.variables.find("group");
      ASSERT_NE(it, dc.variables.end()) << dc.file;
      EXPECT_TRUE(it->second.multi && it->second.include_all) << dc.file;
    }
    if (dc.uid == "stakewatch-overview") {
      EXPECT_TRUE(firing) << dc.file;
    }
    if (dc.uid == "stakewatch-validators") {
      auto it = dc.variables.find("validator");
      ASSERT_NE(it, dc.variables.end()) << dc.file;
      EXPECT_THAT(it->second.query, HasSubstr("validator_index"));
    }
  }
}

TEST(ShippedDashboardsTest, LinksPointAtShippedDashboards) {
  std::set<std::string> uids;
  for (const DashboardCheck& dc : LoadShipped().dashboards) uids.insert(dc.uid);
  for (const DashboardCheck& dc : LoadShipped().dashboards) {
    for (const std::string& uid : dc.link_uids) {
      EXPECT_TRUE(uids.count(uid)) << dc.file << " links to unknown dashboard " << uid;
    }
  }
}

// docs/external-metrics.md's node_exporter names are real: a running node_exporter (Debian's
// 1.5) exposes each of them on this machine.
TEST(ShippedDashboardsTest, NodeExporterMetricsExist) {
  if (access(kNodeExporter, X_OK) != 0) GTEST_SKIP() << kNodeExporter << " is not installed";
  std::vector<std::string> wanted;
  for (const auto& [name, exporter] : LoadShipped().cat.exporter) {
    if (absl::StartsWith(exporter, "node_exporter")) wanted.push_back(name);
  }
  ASSERT_FALSE(wanted.empty());
  const std::string dir = MakeTempDir("dashboards-node-exporter");
  const int port = FreePort();
  absl::StatusOr<std::unique_ptr<Subprocess>> p = Subprocess::Start(
      {kNodeExporter, absl::StrCat("--web.listen-address=127.0.0.1:", port)}, dir + "/ne");
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE((*p)->WaitForOutput("Listening on", absl::Seconds(30)).ok()) << (*p)->Stderr();
  absl::StatusOr<HttpResult> r = HttpGet("127.0.0.1", port, "/metrics");
  (*p)->Stop();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200);
  std::set<std::string> exposed;
  for (const auto& [series, value] : ParseMetricsText(r->body)) {
    exposed.insert(series.substr(0, series.find('{')));
  }
  for (const std::string& name : wanted) {
    EXPECT_TRUE(exposed.count(name)) << name << " is not exposed by " << kNodeExporter;
  }
}

void CheckRulesWith(const std::string& binary, const std::vector<std::string>& args) {
  const Shipped& s = LoadShipped();
  int count = 0;
  const std::string rules = RuleFileFor(s.dashboards, count);
  ASSERT_GT(count, 0);
  const std::string dir = MakeTempDir("dashboards-test");
  const std::string path = dir + "/dashboards.rules.yml";
  ASSERT_TRUE(WriteFile(path, rules).ok());
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(path);
  const RunResult r = Run(argv, dir);
  EXPECT_EQ(r.exit_code, 0) << absl::StrJoin(argv, " ") << " failed; the group names say which "
                            << "dashboard, panel and target:\n"
                            << r.output;
  EXPECT_THAT(r.output, HasSubstr(absl::StrCat("SUCCESS: ", count, " rules found")));
  if (!::testing::Test::HasFailure()) {
    unlink(path.c_str());
    for (const char* suffix : {".stdout", ".stderr"}) {
      unlink(absl::StrCat(dir, "/", Basename(binary), suffix).c_str());
    }
    rmdir(dir.c_str());
  }
}

TEST(ShippedDashboardsTest, ExpressionsPassPromtoolCheckRules) {
  if (access(kPromtool, X_OK) != 0) GTEST_SKIP() << kPromtool << " is not installed";
  CheckRulesWith(kPromtool, {"check", "rules"});
}

TEST(ShippedDashboardsTest, ExpressionsPassStakewatchCheckRules) {
  const std::string bin = StakewatchBin();
  ASSERT_EQ(access(bin.c_str(), X_OK), 0) << bin << " is not built";
  CheckRulesWith(bin, {"check", "rules"});
}

}  // namespace
}  // namespace stakewatch::testing
