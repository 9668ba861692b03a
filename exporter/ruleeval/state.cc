#include "ruleeval/state.h"

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/go_json.h"
#include "common/strings.h"
#include "simdjson.h"

namespace stakewatch::ruleeval {
namespace {

template <typename Pairs>
void AppendObject(const Pairs& pairs, std::string* out) {
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : pairs) {
    if (!first) out->push_back(',');
    first = false;
    AppendGoJsonString(k, out);
    out->push_back(':');
    AppendGoJsonString(v, out);
  }
  out->push_back('}');
}

void AppendTime(std::string_view key, absl::Time t, std::string* out) {
  if (IsZeroTime(t)) return;
  absl::StrAppend(out, ",\"", ToAbsl(key), "\":", absl::ToUnixNanos(t));
}

absl::Status Bad(std::string_view what) {
  return absl::DataLossError(absl::StrCat("alert state file: ", ToAbsl(what)));
}

std::optional<AlertState> ParseState(std::string_view s) {
  if (s == "pending") return AlertState::kPending;
  if (s == "firing") return AlertState::kFiring;
  if (s == "inactive") return AlertState::kInactive;
  return std::nullopt;
}

// Reads an optional integer time field; ZeroTime when absent.
absl::StatusOr<absl::Time> TimeField(simdjson::dom::object o, std::string_view key) {
  simdjson::dom::element e;
  if (o[key].get(e) != simdjson::SUCCESS) return ZeroTime();
  int64_t ns = 0;
  if (e.get_int64().get(ns) != simdjson::SUCCESS)
    return Bad(absl::StrCat(ToAbsl(key), " not an integer"));
  return absl::FromUnixNanos(ns);
}

absl::StatusOr<std::string> StringField(simdjson::dom::object o, std::string_view key) {
  std::string_view v;
  if (o[key].get_string().get(v) != simdjson::SUCCESS) {
    return Bad(absl::StrCat(ToAbsl(key), " missing or not a string"));
  }
  return std::string(v);
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> PairsField(simdjson::dom::object o,
                                                                            std::string_view key) {
  std::vector<std::pair<std::string, std::string>> out;
  simdjson::dom::object obj;
  if (o[key].get_object().get(obj) != simdjson::SUCCESS) {
    return Bad(absl::StrCat(ToAbsl(key), " missing or not an object"));
  }
  for (auto field : obj) {
    std::string_view v;
    if (field.value.get_string().get(v) != simdjson::SUCCESS) {
      return Bad(absl::StrCat(ToAbsl(key), " values must be strings"));
    }
    out.emplace_back(std::string(field.key), std::string(v));
  }
  return out;
}

absl::StatusOr<Alert> DecodeAlert(simdjson::dom::element e) {
  simdjson::dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) return Bad("alert not an object");
  Alert a;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> labels = PairsField(o, "labels");
  if (!labels.ok()) return labels.status();
  tsdb::LabelsBuilder lb;
  for (auto& [k, v] : *labels) lb.Set(k, v);
  a.labels = lb.Build();
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ann =
      PairsField(o, "annotations");
  if (!ann.ok()) return ann.status();
  for (auto& [k, v] : *ann) a.annotations[k] = v;
  absl::StatusOr<std::string> state = StringField(o, "state");
  if (!state.ok()) return state.status();
  std::optional<AlertState> st = ParseState(*state);
  if (!st.has_value()) return Bad(absl::StrCat("unknown alert state \"", *state, "\""));
  a.state = *st;
  absl::StatusOr<std::string> value = StringField(o, "value");
  if (!value.ok()) return value.status();
  char* end = nullptr;
  a.value = std::strtod(value->c_str(), &end);
  if (value->empty() || end != value->c_str() + value->size()) return Bad("bad alert value");
  const std::pair<std::string_view, absl::Time*> times[] = {
      {"active_at_ns", &a.active_at},     {"fired_at_ns", &a.fired_at},
      {"resolved_at_ns", &a.resolved_at}, {"last_sent_at_ns", &a.last_sent_at},
      {"valid_until_ns", &a.valid_until}, {"keep_firing_since_ns", &a.keep_firing_since}};
  for (const auto& [key, dst] : times) {
    absl::StatusOr<absl::Time> t = TimeField(o, key);
    if (!t.ok()) return t.status();
    *dst = *t;
  }
  return a;
}

}  // namespace

std::string EncodeState(const PersistedState& state) {
  std::string out = absl::StrCat("{\"version\":1");
  AppendTime("saved_at_ns", state.saved_at, &out);
  out += ",\"groups\":[";
  for (size_t gi = 0; gi < state.groups.size(); ++gi) {
    const PersistedGroup& g = state.groups[gi];
    if (gi > 0) out += ",\n";
    out += "{\"file\":";
    AppendGoJsonString(g.file, &out);
    out += ",\"name\":";
    AppendGoJsonString(g.name, &out);
    AppendTime("last_eval_ns", g.last_eval, &out);
    out += ",\"rules\":[";
    for (size_t ri = 0; ri < g.rules.size(); ++ri) {
      const PersistedRule& r = g.rules[ri];
      if (ri > 0) out += ",";
      out += "{\"key\":";
      AppendGoJsonString(r.key, &out);
      out += ",\"alerts\":[";
      for (size_t ai = 0; ai < r.alerts.size(); ++ai) {
        const Alert& a = r.alerts[ai];
        if (ai > 0) out += ",";
        out += "{\"labels\":";
        std::vector<std::pair<std::string, std::string>> labels;
        for (const tsdb::Label& l : a.labels) labels.emplace_back(l.name, l.value);
        AppendObject(labels, &out);
        out += ",\"annotations\":";
        AppendObject(a.annotations, &out);
        out += ",\"state\":";
        AppendGoJsonString(AlertStateName(a.state), &out);
        char buf[40];
        std::snprintf(buf, sizeof buf, "%.17g", a.value);
        out += ",\"value\":";
        AppendGoJsonString(buf, &out);
        AppendTime("active_at_ns", a.active_at, &out);
        AppendTime("fired_at_ns", a.fired_at, &out);
        AppendTime("resolved_at_ns", a.resolved_at, &out);
        AppendTime("last_sent_at_ns", a.last_sent_at, &out);
        AppendTime("valid_until_ns", a.valid_until, &out);
        AppendTime("keep_firing_since_ns", a.keep_firing_since, &out);
        out += "}";
      }
      out += "]}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

absl::StatusOr<PersistedState> DecodeState(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root); err != simdjson::SUCCESS) {
    return Bad(absl::StrCat("invalid JSON: ", simdjson::error_message(err)));
  }
  simdjson::dom::object top;
  if (root.get_object().get(top) != simdjson::SUCCESS) return Bad("not an object");
  int64_t version = 0;
  if (top["version"].get_int64().get(version) != simdjson::SUCCESS || version != 1) {
    return Bad("unsupported version");
  }
  PersistedState st;
  absl::StatusOr<absl::Time> saved = TimeField(top, "saved_at_ns");
  if (!saved.ok()) return saved.status();
  st.saved_at = *saved;
  simdjson::dom::array groups;
  if (top["groups"].get_array().get(groups) != simdjson::SUCCESS) return Bad("groups missing");
  for (simdjson::dom::element ge : groups) {
    simdjson::dom::object go;
    if (ge.get_object().get(go) != simdjson::SUCCESS) return Bad("group not an object");
    PersistedGroup g;
    absl::StatusOr<std::string> file = StringField(go, "file");
    if (!file.ok()) return file.status();
    absl::StatusOr<std::string> name = StringField(go, "name");
    if (!name.ok()) return name.status();
    absl::StatusOr<absl::Time> last = TimeField(go, "last_eval_ns");
    if (!last.ok()) return last.status();
    g.file = *std::move(file);
    g.name = *std::move(name);
    g.last_eval = *last;
    simdjson::dom::array rules;
    if (go["rules"].get_array().get(rules) != simdjson::SUCCESS) return Bad("rules missing");
    for (simdjson::dom::element re : rules) {
      simdjson::dom::object ro;
      if (re.get_object().get(ro) != simdjson::SUCCESS) return Bad("rule not an object");
      PersistedRule r;
      absl::StatusOr<std::string> key = StringField(ro, "key");
      if (!key.ok()) return key.status();
      r.key = *std::move(key);
      simdjson::dom::array alerts;
      if (ro["alerts"].get_array().get(alerts) != simdjson::SUCCESS) return Bad("alerts missing");
      for (simdjson::dom::element ae : alerts) {
        absl::StatusOr<Alert> a = DecodeAlert(ae);
        if (!a.ok()) return a.status();
        r.alerts.push_back(*std::move(a));
      }
      g.rules.push_back(std::move(r));
    }
    st.groups.push_back(std::move(g));
  }
  return st;
}

std::vector<Alert> RestoreAlerts(std::vector<Alert> alerts, absl::Duration hold, absl::Time down_at,
                                 absl::Time now, const RestoreOptions& options) {
  std::vector<Alert> out;
  out.reserve(alerts.size());
  for (Alert& a : alerts) {
    if (a.state == AlertState::kPending) {
      if (IsZeroTime(down_at) || now - down_at > options.outage_tolerance) continue;
      const absl::Duration remaining = hold - (down_at - a.active_at);
      if (remaining <= absl::ZeroDuration()) {
        // It was due to fire: it fires at the first evaluation that still sees it.
      } else if (hold >= options.grace_period && remaining < options.grace_period) {
        a.active_at = now + options.grace_period - hold;
      } else {
        a.active_at += now - down_at;
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace stakewatch::ruleeval
