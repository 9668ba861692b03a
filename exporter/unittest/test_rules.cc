#include "unittest/test_rules.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/strings.h"
#include "promqltest/series_notation.h"
#include "query/engine.h"
#include "ruleeval/group.h"
#include "ruleeval/manager.h"
#include "rules/rulefmt.h"
#include "tsdb/storage.h"
#include "yaml-cpp/yaml.h"

namespace stakewatch::unittest {
namespace {

constexpr int64_t kMsPerMinute = 60 * 1000;

// ---------------------------------------------------------------------------------------------
// The unit-test file, decoded strictly with yaml.v2's error texts.

struct SeriesSpec {
  std::string series;
  std::string values;
};
struct AlertSpec {
  std::map<std::string, std::string> exp_labels;
  std::map<std::string, std::string> exp_annotations;
};
struct AlertTestCase {
  int64_t eval_time_ms = 0;
  std::string alertname;
  std::vector<AlertSpec> exp_alerts;
};
struct SampleSpec {
  std::string labels;
  double value = 0;
};
struct PromqlTestCase {
  std::string expr;
  int64_t eval_time_ms = 0;
  std::vector<SampleSpec> exp_samples;
};
struct TestGroup {
  int64_t interval_ms = 0;
  std::vector<SeriesSpec> input_series;
  std::vector<AlertTestCase> alert_rule_test;
  std::vector<PromqlTestCase> promql_expr_test;
  std::map<std::string, std::string> external_labels;
  std::string external_url;
  std::string name;
};
struct UnitTestFile {
  std::vector<std::string> rule_files;
  int64_t evaluation_interval_ms = 0;
  std::vector<std::string> group_eval_order;
  std::vector<TestGroup> tests;
};

// A decoding error that aborts decoding (yaml.v2's fail(): an Unmarshaler's own error).
struct FatalError {
  std::string message;
};

bool IsNullScalar(const YAML::Node& n) {
  if (n.IsNull()) return true;
  if (!n.IsScalar() || n.Tag() == "!") return false;
  const std::string& s = n.Scalar();
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

bool IsYamlBool(std::string_view s) {
  static const std::set<std::string_view> kBools = {
      "y",    "Y",    "yes",   "Yes",   "YES",   "n",  "N",  "no", "No",  "NO",  "true",
      "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"};
  return kBools.count(s) > 0;
}

// yaml.v2's resolution of a plain scalar to a float, or the tag it resolves to otherwise.
struct Resolved {
  std::string tag;  // "!!int", "!!float", "!!bool", "!!str", "!!null"
  double value = 0;
};

std::optional<double> ParseYamlInt(std::string plain) {
  plain.erase(std::remove(plain.begin(), plain.end(), '_'), plain.end());
  if (plain.empty()) return std::nullopt;
  bool neg = false;
  std::string_view s = plain;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
    base = 2;
    s.remove_prefix(2);
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
    base = 8;
    s.remove_prefix(2);
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    s.remove_prefix(1);
  }
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  const double d = static_cast<double>(v);
  return neg ? -d : d;
}

Resolved ResolvePlain(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return {"!!null", 0};
  if (IsYamlBool(s)) return {"!!bool", 0};
  static const std::map<std::string, double> kSpecial = {
      {".inf", INFINITY},   {".Inf", INFINITY},  {".INF", INFINITY},   {"+.inf", INFINITY},
      {"+.Inf", INFINITY},  {"+.INF", INFINITY}, {"-.inf", -INFINITY}, {"-.Inf", -INFINITY},
      {"-.INF", -INFINITY}, {".nan", NAN},       {".NaN", NAN},        {".NAN", NAN}};
  if (auto it = kSpecial.find(s); it != kSpecial.end()) return {"!!float", it->second};
  if (std::optional<double> i = ParseYamlInt(s)) return {"!!int", *i};
  // yaml.v2's float pattern: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
  std::string plain = s;
  plain.erase(std::remove(plain.begin(), plain.end(), '_'), plain.end());
  size_t i = 0;
  if (i < plain.size() && (plain[i] == '+' || plain[i] == '-')) ++i;
  size_t digits = 0;
  while (i < plain.size() && absl::ascii_isdigit(plain[i])) ++i, ++digits;
  size_t frac = 0;
  if (i < plain.size() && plain[i] == '.') {
    ++i;
    while (i < plain.size() && absl::ascii_isdigit(plain[i])) ++i, ++frac;
  }
  bool ok = digits > 0 || frac > 0;
  if (ok && i < plain.size() && (plain[i] == 'e' || plain[i] == 'E')) {
    ++i;
    if (i < plain.size() && (plain[i] == '+' || plain[i] == '-')) ++i;
    size_t exp = 0;
    while (i < plain.size() && absl::ascii_isdigit(plain[i])) ++i, ++exp;
    ok = exp > 0;
  }
  if (ok && i == plain.size()) {
    const char* b = plain.c_str();
    if (*b == '+') ++b;
    double v = 0;
    auto [p, ec] = std::from_chars(b, plain.c_str() + plain.size(), v);
    if (ec == std::errc() || ec == std::errc::result_out_of_range) {
      if (ec == std::errc::result_out_of_range) v = std::strtod(b, nullptr);
      return {"!!float", v};
    }
  }
  return {"!!str", 0};
}

class Decoder {
 public:
  std::vector<std::string> errors;

  void TypeError(const YAML::Node& n, std::string_view type) {
    std::string tag;
    std::string value;
    if (n.IsSequence()) {
      tag = "!!seq";
    } else if (n.IsMap()) {
      tag = "!!map";
    } else {
      tag = n.Tag() == "!" ? "!!str" : ResolvePlain(n.Scalar()).tag;
      if (n.Tag() != "!" && n.Tag() != "?" && !n.Tag().empty()) {
        tag = n.Tag();
        if (absl::StartsWith(tag, "tag:yaml.org,2002:")) tag = "!!" + tag.substr(18);
      }
      const std::string& v = n.Scalar();
      value =
          v.size() > 10 ? absl::StrCat(" `", v.substr(0, 7), "...`") : absl::StrCat(" `", v, "`");
    }
    errors.push_back(
        absl::StrFormat("line %d: cannot unmarshal %s%s into %s", Line(n), tag, value, type));
  }

  static int Line(const YAML::Node& n) { return n.Mark().line + 1; }

  void String(const YAML::Node& n, std::string* out) {
    if (IsNullScalar(n)) return;
    if (!n.IsScalar()) return TypeError(n, "string");
    *out = n.Scalar();
  }

  void Float(const YAML::Node& n, double* out) {
    if (IsNullScalar(n)) return;
    if (!n.IsScalar() || n.Tag() == "!") return TypeError(n, "float64");
    Resolved r = ResolvePlain(n.Scalar());
    if (r.tag != "!!int" && r.tag != "!!float") return TypeError(n, "float64");
    *out = r.value;
  }

  // model.Duration's UnmarshalYAML: a string, then model.ParseDuration (fatal on error).
  void Duration(const YAML::Node& n, int64_t* out) {
    if (IsNullScalar(n)) return;
    if (!n.IsScalar()) return TypeError(n, "string");
    absl::StatusOr<int64_t> d = promqltest::ParseGoDuration(n.Scalar());
    if (!d.ok()) throw FatalError{std::string(d.status().message())};
    *out = *d;
  }

  void StringMap(const YAML::Node& n, std::map<std::string, std::string>* out) {
    if (IsNullScalar(n)) return;
    if (!n.IsMap()) return TypeError(n, "map[string]string");
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key;
      if (!it->first.IsScalar()) {
        TypeError(it->first, "string");
        continue;
      }
      key = it->first.Scalar();
      if (out->count(key)) {
        errors.push_back(
            absl::StrFormat("line %d: key %s already set in map", Line(it->first), GoQuote(key)));
        continue;
      }
      std::string value;
      String(it->second, &value);
      (*out)[key] = value;
    }
  }

  template <typename T, typename F>
  void Seq(const YAML::Node& n, std::string_view type, std::vector<T>* out, F&& elem) {
    if (IsNullScalar(n)) return;
    if (!n.IsSequence()) return TypeError(n, type);
    for (const YAML::Node& e : n) {
      T v{};
      elem(e, &v);
      out->push_back(std::move(v));
    }
  }

  // Walks a struct mapping: `field(key, value)` returns false for unknown keys.
  template <typename F>
  void Struct(const YAML::Node& n, std::string_view type, F&& field) {
    if (IsNullScalar(n)) return;
    if (!n.IsMap()) return TypeError(n, type);
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : "";
      if (!seen.insert(key).second) {
        errors.push_back(absl::StrFormat("line %d: field %s already set in type %s",
                                         Line(it->first), key, type));
        continue;
      }
      if (!field(key, it->second)) {
        errors.push_back(
            absl::StrFormat("line %d: field %s not found in type %s", Line(it->first), key, type));
      }
    }
  }

  void File(const YAML::Node& n, UnitTestFile* f) {
    Struct(n, "main.unitTestFile", [&](const std::string& k, const YAML::Node& v) {
      if (k == "rule_files") {
        Seq(v, "[]string", &f->rule_files, [&](auto& e, auto* o) { String(e, o); });
      } else if (k == "evaluation_interval") {
        Duration(v, &f->evaluation_interval_ms);
      } else if (k == "group_eval_order") {
        Seq(v, "[]string", &f->group_eval_order, [&](auto& e, auto* o) { String(e, o); });
      } else if (k == "tests") {
        Seq(v, "[]main.testGroup", &f->tests, [&](auto& e, auto* o) { Group(e, o); });
      } else {
        return false;
      }
      return true;
    });
  }

  void Group(const YAML::Node& n, TestGroup* g) {
    Struct(n, "main.testGroup", [&](const std::string& k, const YAML::Node& v) {
      if (k == "interval") {
        Duration(v, &g->interval_ms);
      } else if (k == "input_series") {
        Seq(v, "[]main.series", &g->input_series, [&](auto& e, SeriesSpec* o) {
          Struct(e, "main.series", [&](const std::string& k2, const YAML::Node& v2) {
            if (k2 == "series") {
              String(v2, &o->series);
            } else if (k2 == "values") {
              String(v2, &o->values);
            } else {
              return false;
            }
            return true;
          });
        });
      } else if (k == "alert_rule_test") {
        Seq(v, "[]main.alertTestCase", &g->alert_rule_test,
            [&](auto& e, AlertTestCase* o) { AlertCase(e, o); });
      } else if (k == "promql_expr_test") {
        Seq(v, "[]main.promqlTestCase", &g->promql_expr_test,
            [&](auto& e, PromqlTestCase* o) { PromqlCase(e, o); });
      } else if (k == "external_labels") {
        StringMap(v, &g->external_labels);
      } else if (k == "external_url") {
        String(v, &g->external_url);
      } else if (k == "name") {
        String(v, &g->name);
      } else {
        return false;
      }
      return true;
    });
  }

  void AlertCase(const YAML::Node& n, AlertTestCase* c) {
    Struct(n, "main.alertTestCase", [&](const std::string& k, const YAML::Node& v) {
      if (k == "eval_time") {
        Duration(v, &c->eval_time_ms);
      } else if (k == "alertname") {
        String(v, &c->alertname);
      } else if (k == "exp_alerts") {
        Seq(v, "[]main.alert", &c->exp_alerts, [&](auto& e, AlertSpec* o) {
          Struct(e, "main.alert", [&](const std::string& k2, const YAML::Node& v2) {
            if (k2 == "exp_labels") {
              StringMap(v2, &o->exp_labels);
            } else if (k2 == "exp_annotations") {
              StringMap(v2, &o->exp_annotations);
            } else {
              return false;
            }
            return true;
          });
        });
      } else {
        return false;
      }
      return true;
    });
  }

  void PromqlCase(const YAML::Node& n, PromqlTestCase* c) {
    Struct(n, "main.promqlTestCase", [&](const std::string& k, const YAML::Node& v) {
      if (k == "expr") {
        String(v, &c->expr);
      } else if (k == "eval_time") {
        Duration(v, &c->eval_time_ms);
      } else if (k == "exp_samples") {
        Seq(v, "[]main.sample", &c->exp_samples, [&](auto& e, SampleSpec* o) {
          Struct(e, "main.sample", [&](const std::string& k2, const YAML::Node& v2) {
            if (k2 == "labels") {
              String(v2, &o->labels);
            } else if (k2 == "value") {
              Float(v2, &o->value);
            } else {
              return false;
            }
            return true;
          });
        });
      } else {
        return false;
      }
      return true;
    });
  }
};

// yaml.UnmarshalStrict(text, &file): one error string or the decoded file.
absl::StatusOr<UnitTestFile> DecodeTestFile(const std::string& text) {
  UnitTestFile f;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.empty()) return f;
    Decoder d;
    d.File(docs[0], &f);
    if (!d.errors.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("yaml: unmarshal errors:\n  ", absl::StrJoin(d.errors, "\n  ")));
    }
  } catch (const FatalError& e) {
    return absl::InvalidArgumentError(e.message);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrFormat("yaml: line %d: %s", e.mark.line + 1, e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("yaml: ", e.what()));
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// Alerts and samples as promtool compares and prints them.

using LabelMap = std::map<std::string, std::string>;

// labels.Compare on sorted pairs.
int CompareLabelMaps(const LabelMap& a, const LabelMap& b) {
  auto ia = a.begin();
  auto ib = b.begin();
  for (; ia != a.end() && ib != b.end(); ++ia, ++ib) {
    if (int c = ia->first.compare(ib->first); c != 0) return c;
    if (int c = ia->second.compare(ib->second); c != 0) return c;
  }
  return static_cast<int>(a.size()) - static_cast<int>(b.size());
}

struct LabelsAndAnnotations {
  LabelMap labels;
  LabelMap annotations;
  bool operator==(const LabelsAndAnnotations&) const = default;
};

void SortAlerts(std::vector<LabelsAndAnnotations>* v) {
  std::stable_sort(v->begin(), v->end(), [](const auto& a, const auto& b) {
    int d = CompareLabelMaps(a.labels, b.labels);
    if (d != 0) return d < 0;
    return CompareLabelMaps(a.annotations, b.annotations) < 0;
  });
}

// indentLines: every line after the first gets `indent`.
std::string IndentLines(std::string_view lines, std::string_view indent) {
  std::string out;
  size_t start = 0;
  bool first = true;
  while (true) {
    size_t nl = lines.find('\n', start);
    if (!first) absl::StrAppend(&out, std::string(indent));
    first = false;
    if (nl == std::string_view::npos) {
      absl::StrAppend(&out, std::string(lines.substr(start)));
      break;
    }
    absl::StrAppend(&out, std::string(lines.substr(start, nl - start)), "\n");
    start = nl + 1;
  }
  return out;
}

std::string AlertString(const LabelsAndAnnotations& la) {
  return absl::StrCat("Labels:", FormatLabelMap(la.labels),
                      "\nAnnotations:", FormatLabelMap(la.annotations));
}

std::string AlertsString(const std::vector<LabelsAndAnnotations>& v) {
  if (v.empty()) return "[]";
  std::string s = "[\n0:" + IndentLines("\n" + AlertString(v[0]), "  ");
  for (size_t i = 1; i < v.size(); ++i) {
    absl::StrAppend(&s, ",\n", i, ":", IndentLines("\n" + AlertString(v[i]), "  "));
  }
  return s + "\n]";
}

struct ParsedSample {
  LabelMap labels;
  double value = 0;
};

std::string SamplesString(const std::vector<ParsedSample>& v) {
  if (v.empty()) return "nil";
  std::vector<std::string> parts;
  for (const ParsedSample& s : v) {
    parts.push_back(absl::StrCat(FormatLabelMap(s.labels), " ", FormatFloatE(s.value)));
  }
  return absl::StrJoin(parts, ", ");
}

LabelMap ToMap(const tsdb::Labels& l) {
  LabelMap m;
  for (const tsdb::Label& x : l) m[x.name] = x.value;
  return m;
}

// ---------------------------------------------------------------------------------------------
// The lazy loader: input series, appended up to each evaluation time.

class LazyLoader {
 public:
  // Parses the series (the load block promtool builds). A later definition of the same series
  // replaces an earlier one, as promql's loadCmd.set does.
  absl::Status Load(const TestGroup& tg) {
    for (const SeriesSpec& s : tg.input_series) {
      std::string line = absl::StrCat(s.series, " ", s.values);
      absl::StatusOr<promqltest::SeriesDescription> d =
          promqltest::ParseSeriesDescription(ToStd(absl::StripAsciiWhitespace(line)));
      if (!d.ok()) return d.status();
      std::vector<tsdb::Sample> samples = promqltest::ExpandToSamples(*d, tg.interval_ms);
      auto it = std::find_if(series_.begin(), series_.end(),
                             [&](const Pending& p) { return p.labels == d->labels; });
      if (it == series_.end()) {
        series_.push_back({d->labels, std::move(samples), 0});
      } else {
        it->samples = std::move(samples);
      }
    }
    return absl::OkStatus();
  }

  // Appends every not yet appended sample with t <= ts_ms. A sample at or before the series'
  // last appended time is dropped silently (the TSDB head drops it at commit).
  absl::Status AppendTill(int64_t ts_ms) {
    std::unique_ptr<tsdb::Appender> app = storage_.NewAppender();
    for (Pending& p : series_) {
      while (p.next < p.samples.size() && p.samples[p.next].t_ms <= ts_ms) {
        const tsdb::Sample& s = p.samples[p.next++];
        if (p.appended && s.t_ms <= p.last_t) continue;
        tsdb::AppendError e = app->Append(p.labels, s.t_ms, s.v);
        if (e == tsdb::AppendError::kOutOfBounds)
          return absl::InvalidArgumentError("out of bounds");
        p.appended = true;
        p.last_t = s.t_ms;
      }
    }
    return app->Commit();
  }

  tsdb::MemStorage& storage() { return storage_; }

 private:
  struct Pending {
    tsdb::Labels labels;
    std::vector<tsdb::Sample> samples;
    size_t next = 0;
    bool appended = false;
    int64_t last_t = 0;
  };
  tsdb::MemStorage storage_;
  std::vector<Pending> series_;
};

// rules.EngineQueryFunc (and promtool's query()): a vector, or a scalar as one unlabelled sample.
absl::StatusOr<query::Vector> ToVector(absl::StatusOr<query::Value> v) {
  if (!v.ok()) return v.status();
  if (auto* vec = std::get_if<query::Vector>(&*v)) return std::move(*vec);
  if (auto* s = std::get_if<query::Scalar>(&*v)) {
    query::VSample out;
    out.t_ms = s->t_ms;
    out.v = s->v;
    return query::Vector{out};
  }
  return absl::InvalidArgumentError("rule result is not a vector or scalar");
}

std::vector<std::string> Globbed(const std::string& base_dir, std::vector<std::string> files,
                                 std::ostream& warn) {
  std::vector<std::string> out;
  for (std::string& rf : files) {
    if (!rf.empty() && rf[0] != '/') rf = GoPathJoin(base_dir, rf);
    std::vector<std::string> matches;
    if (rf.find_first_of("*?[\\") == std::string::npos) {
      struct stat st;
      if (lstat(rf.c_str(), &st) == 0) matches.push_back(rf);
    } else {
      glob_t g{};
      if (glob(rf.c_str(), 0, nullptr, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; ++i) matches.emplace_back(g.gl_pathv[i]);
      }
      globfree(&g);
    }
    if (matches.empty()) warn << "  WARNING: no file match pattern " << rf << "\n";
    out.insert(out.end(), matches.begin(), matches.end());
  }
  return out;
}

// One test group (testGroup.test).
std::vector<std::string> RunGroup(const TestGroup& tg, int64_t eval_interval_ms,
                                  const std::map<std::string, int>& group_order,
                                  const std::vector<std::string>& rule_files) {
  LazyLoader loader;
  if (absl::Status s = loader.Load(tg); !s.ok()) return {std::string(s.message())};

  query::EngineOptions eo;
  eo.max_samples = 10000;  // promql.LazyLoader's engine
  eo.timeout = absl::Seconds(100);
  eo.no_step_subquery_interval_ms = eval_interval_ms;
  query::Engine engine(eo);
  tsdb::Storage* storage = &loader.storage();
  ruleeval::QueryFunc qf = [&engine, storage](const promql::Expr& expr, std::string_view,
                                              int64_t ts_ms) {
    return ToVector(engine.Instant(expr, ts_ms, *storage));
  };

  // Manager.LoadGroups.
  FakeClock clock(absl::UnixEpoch());
  tsdb::Labels ext;
  {
    std::vector<std::pair<std::string, std::string>> pairs(tg.external_labels.begin(),
                                                           tg.external_labels.end());
    ext = tsdb::Labels::FromPairs(pairs);
  }
  struct Loaded {
    std::unique_ptr<ruleeval::Group> group;
    int order = 0;
  };
  std::vector<Loaded> groups;
  const rules::ValidationOptions validators = ruleeval::RuleValidators();
  for (const std::string& fn : rule_files) {
    rules::ParseResult pr = rules::ParseRuleFile(fn, validators);
    if (!pr.errors.empty()) {
      std::vector<std::string> errs;
      for (const std::string& e : pr.errors) errs.push_back(absl::StrCat(fn, ": ", e));
      return errs;
    }
    for (const rules::RuleGroup& rg : pr.file.groups) {
      ruleeval::GroupOptions go;
      go.storage = storage;
      go.query = qf;
      go.clock = &clock;
      go.external_labels = ext;
      go.external_url = tg.external_url;
      go.default_interval = tg.interval_ms > 0 ? absl::Milliseconds(tg.interval_ms)
                                               : absl::Milliseconds(eval_interval_ms);
      absl::StatusOr<std::unique_ptr<ruleeval::Group>> g = ruleeval::Group::Create(rg, fn, go);
      if (!g.ok()) return {absl::StrCat(fn, ": ", g.status().message())};
      auto it = group_order.find(rg.name);
      groups.push_back({std::move(*g), it == group_order.end() ? 0 : it->second});
    }
  }
  std::stable_sort(groups.begin(), groups.end(),
                   [](const Loaded& a, const Loaded& b) { return a.order < b.order; });

  int64_t maxt = 0;
  for (const AlertTestCase& a : tg.alert_rule_test) maxt = std::max(maxt, a.eval_time_ms);
  for (const PromqlTestCase& p : tg.promql_expr_test) maxt = std::max(maxt, p.eval_time_ms);

  std::map<int64_t, std::set<std::string>> alerts_in_test;
  std::map<int64_t, std::vector<const AlertTestCase*>> alert_tests;
  for (const AlertTestCase& a : tg.alert_rule_test) {
    if (a.alertname.empty()) {
      std::string in_group = tg.name.empty() ? "" : absl::StrCat(" (in TestGroup ", tg.name, ")");
      return {
          absl::StrCat("an item under alert_rule_test misses required attribute alertname at "
                       "eval_time ",
                       FormatModelDuration(a.eval_time_ms), in_group)};
    }
    alerts_in_test[a.eval_time_ms].insert(a.alertname);
    alert_tests[a.eval_time_ms].push_back(&a);
  }
  auto curr = alert_tests.begin();

  std::vector<std::string> errs;
  for (int64_t ts = 0; ts <= maxt; ts += eval_interval_ms) {
    std::vector<std::string> eval_errs;
    if (absl::Status s = loader.AppendTill(ts); !s.ok()) {
      errs.push_back(std::string(s.message()));
    } else {
      for (Loaded& l : groups) {
        l.group->Eval(absl::FromUnixMillis(ts));
        for (const ruleeval::RuleSnapshot& r : l.group->Snapshot().rules) {
          if (r.last_error.empty()) continue;
          eval_errs.push_back(absl::StrCat("    rule: ", r.name,
                                           ", time: ", FormatGoDuration(ts * 1000000),
                                           ", err: ", r.last_error));
        }
      }
    }
    errs.insert(errs.end(), eval_errs.begin(), eval_errs.end());
    if (!eval_errs.empty()) return errs;

    while (curr != alert_tests.end() && ts <= curr->first && curr->first < ts + eval_interval_ms) {
      const int64_t t = curr->first;
      const std::set<std::string>& present = alerts_in_test[t];
      std::map<std::string, std::vector<LabelsAndAnnotations>> got;
      for (Loaded& l : groups) {
        for (const ruleeval::RuleSnapshot& r : l.group->Snapshot().rules) {
          if (!r.alerting || !present.count(r.name)) continue;
          std::vector<LabelsAndAnnotations>& dst = got[r.name];
          for (const ruleeval::Alert& a : r.alerts) {
            if (a.state != ruleeval::AlertState::kFiring) continue;
            dst.push_back({ToMap(a.labels), LabelMap(a.annotations.begin(), a.annotations.end())});
          }
        }
      }
      for (const AlertTestCase* tc : curr->second) {
        std::vector<LabelsAndAnnotations> got_alerts = got[tc->alertname];
        std::vector<LabelsAndAnnotations> exp_alerts;
        for (const AlertSpec& a : tc->exp_alerts) {
          LabelsAndAnnotations e{a.exp_labels, a.exp_annotations};
          e.labels["alertname"] = tc->alertname;
          exp_alerts.push_back(std::move(e));
        }
        SortAlerts(&got_alerts);
        SortAlerts(&exp_alerts);
        if (exp_alerts != got_alerts) {
          std::string name = tg.name.empty() ? "" : absl::StrCat("    name: ", tg.name, ",\n");
          errs.push_back(absl::StrCat(
              name, "    alertname: ", tc->alertname,
              ", time: ", FormatModelDuration(tc->eval_time_ms),
              ", \n        exp:", IndentLines(AlertsString(exp_alerts), "            "),
              ", \n        got:", IndentLines(AlertsString(got_alerts), "            ")));
        }
      }
      ++curr;
    }
  }

  for (const PromqlTestCase& tc : tg.promql_expr_test) {
    const std::string head = absl::StrCat("    expr: ", GoQuote(tc.expr),
                                          ", time: ", FormatModelDuration(tc.eval_time_ms));
    absl::StatusOr<query::Vector> got =
        ToVector(engine.Instant(tc.expr, tc.eval_time_ms, loader.storage()));
    if (!got.ok()) {
      errs.push_back(absl::StrCat(head, ", err: ", got.status().message()));
      continue;
    }
    std::vector<ParsedSample> got_samples;
    for (const query::VSample& s : *got) got_samples.push_back({ToMap(s.metric), s.v});
    std::vector<ParsedSample> exp_samples;
    bool bad = false;
    for (const SampleSpec& s : tc.exp_samples) {
      tsdb::Labels lb;
      if (!s.labels.empty()) {
        absl::StatusOr<tsdb::Labels> parsed = promqltest::ParseMetric(s.labels);
        if (!parsed.ok()) {
          errs.push_back(absl::StrCat(head, ", err: labels ", GoQuote(s.labels), ": ",
                                      parsed.status().message()));
          bad = true;
          break;
        }
        lb = *parsed;
      }
      exp_samples.push_back({ToMap(lb), s.value});
    }
    if (bad) continue;
    auto by_labels = [](const ParsedSample& a, const ParsedSample& b) {
      return CompareLabelMaps(a.labels, b.labels) < 0;
    };
    std::stable_sort(exp_samples.begin(), exp_samples.end(), by_labels);
    std::stable_sort(got_samples.begin(), got_samples.end(), by_labels);
    bool equal = exp_samples.size() == got_samples.size();
    for (size_t i = 0; equal && i < exp_samples.size(); ++i) {
      equal = exp_samples[i].labels == got_samples[i].labels &&
              exp_samples[i].value == got_samples[i].value;
    }
    if (!equal) {
      errs.push_back(absl::StrCat(head, ",\n        exp: ", SamplesString(exp_samples),
                                  "\n        got: ", SamplesString(got_samples)));
    }
  }
  return errs;
}

}  // namespace

std::vector<std::string> RunTestFile(const std::string& path, std::ostream& warn) {
  std::ifstream in(path, std::ios::binary);
  struct stat st;
  if (!in || stat(path.c_str(), &st) != 0) {
    std::string msg = std::strerror(errno ? errno : ENOENT);
    if (!msg.empty()) msg[0] = absl::ascii_tolower(msg[0]);
    return {absl::StrCat("open ", path, ": ", msg)};
  }
  if (S_ISDIR(st.st_mode)) return {absl::StrCat("read ", path, ": is a directory")};
  std::stringstream ss;
  ss << in.rdbuf();

  absl::StatusOr<UnitTestFile> f = DecodeTestFile(ss.str());
  if (!f.ok()) return {std::string(f.status().message())};
  std::vector<std::string> rule_files = Globbed(GoPathDir(path), f->rule_files, warn);
  const int64_t eval_interval =
      f->evaluation_interval_ms == 0 ? kMsPerMinute : f->evaluation_interval_ms;

  std::map<std::string, int> order;
  for (size_t i = 0; i < f->group_eval_order.size(); ++i) {
    const std::string& gn = f->group_eval_order[i];
    if (order.count(gn)) return {absl::StrCat("group name repeated in evaluation order: ", gn)};
    order[gn] = static_cast<int>(i);
  }
  std::vector<std::string> errs;
  for (const TestGroup& tg : f->tests) {
    std::vector<std::string> e = RunGroup(tg, eval_interval, order, rule_files);
    errs.insert(errs.end(), e.begin(), e.end());
  }
  return errs;
}

int TestRulesCommand(const std::vector<std::string>& files, std::ostream& out, std::ostream& err) {
  // promtool runs the rule manager with a no-op logger: silence rule-evaluation warnings.
  LogLevel previous = LogLevel::kError;
  for (LogLevel l : {LogLevel::kWarn, LogLevel::kInfo, LogLevel::kDebug}) {
    if (LogEnabled(l)) previous = l;
  }
  // kingpin's ExistingFiles check runs before anything else.
  for (const std::string& f : files) {
    struct stat st;
    if (stat(f.c_str(), &st) != 0) {
      err << "stakewatch: error: path '" << f << "' does not exist, try --help\n";
      return 1;
    }
  }
  SetLogLevel(LogLevel::kError);
  bool failed = false;
  for (const std::string& f : files) {
    out << "Unit Testing:  " << f << "\n";
    out.flush();
    std::vector<std::string> errs = RunTestFile(f, err);
    if (!errs.empty()) {
      err << "  FAILED:\n";
      for (const std::string& e : errs) {
        err << e << "\n";
        out << "\n";
      }
      failed = true;
    } else {
      out << "  SUCCESS\n";
    }
    out << "\n";
  }
  out.flush();
  err.flush();
  SetLogLevel(previous);
  return failed ? 1 : 0;
}

std::string FormatFloatE(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  if (ec != std::errc()) return "NaN";
  std::string s(buf, p);
  for (char& c : s) {
    if (c == 'e') c = 'E';
  }
  return s;
}

std::string FormatModelDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string r;
  auto f = [&](std::string_view unit, int64_t mult, bool exact) {
    if (exact && ms % mult != 0) return;
    if (int64_t v = ms / mult; v > 0) {
      absl::StrAppend(&r, v, std::string(unit));
      ms -= v * mult;
    }
  };
  f("y", int64_t{1000} * 60 * 60 * 24 * 365, true);
  f("w", int64_t{1000} * 60 * 60 * 24 * 7, true);
  f("d", int64_t{1000} * 60 * 60 * 24, false);
  f("h", int64_t{1000} * 60 * 60, false);
  f("m", int64_t{1000} * 60, false);
  f("s", 1000, false);
  f("ms", 1, false);
  return r;
}

namespace {
// "<int>[.<frac without trailing zeros>]" of v / 10^digits.
std::string FixedTrim(uint64_t v, int digits) {
  uint64_t pow = 1;
  for (int i = 0; i < digits; ++i) pow *= 10;
  std::string s = absl::StrCat(v / pow);
  uint64_t frac = v % pow;
  if (frac != 0) {
    std::string f = absl::StrFormat("%0*d", digits, frac);
    while (!f.empty() && f.back() == '0') f.pop_back();
    absl::StrAppend(&s, ".", f);
  }
  return s;
}
}  // namespace

std::string FormatGoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  const uint64_t u = static_cast<uint64_t>(ns);
  if (u < 1000) return absl::StrCat(u, "ns");
  if (u < 1000000) return FixedTrim(u, 3) + "µs";
  if (u < 1000000000) return FixedTrim(u, 6) + "ms";
  const uint64_t s_total = u / 1000000000;
  const uint64_t frac_ns = u % 1000000000;
  const uint64_t h = s_total / 3600;
  const uint64_t m = (s_total / 60) % 60;
  const uint64_t s = s_total % 60;
  std::string out;
  if (h > 0) absl::StrAppend(&out, h, "h");
  if (h > 0 || m > 0) absl::StrAppend(&out, m, "m");
  absl::StrAppend(&out, FixedTrim(s * 1000000000 + frac_ns, 9), "s");
  return out;
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          absl::StrAppend(&out, absl::StrFormat("\\x%02x", c));
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string FormatLabelMap(const std::map<std::string, std::string>& labels) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels) parts.push_back(absl::StrCat(k, "=", GoQuote(v)));
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

std::string GoPathClean(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view p = path.substr(i, j - i);
    if (p.empty() || p == ".") {
      // skip
    } else if (p == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.emplace_back(p);
      }
    } else {
      parts.emplace_back(p);
    }
    i = j + 1;
  }
  std::string out = (rooted ? "/" : "") + absl::StrJoin(parts, "/");
  return out.empty() ? "." : out;
}

std::string GoPathJoin(std::string_view dir, std::string_view rel) {
  if (dir.empty()) return rel.empty() ? "" : GoPathClean(rel);
  if (rel.empty()) return GoPathClean(dir);
  return GoPathClean(absl::StrCat(std::string(dir), "/", std::string(rel)));
}

std::string GoPathDir(std::string_view path) {
  size_t slash = path.rfind('/');
  return GoPathClean(slash == std::string_view::npos ? "" : path.substr(0, slash + 1));
}

}  // namespace stakewatch::unittest
