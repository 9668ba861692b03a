#include "config/config.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <queue>
#include <set>
#include <sstream>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "re2/re2.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/yaml.h"

namespace stakewatch::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Small string helpers.

// absl::StrCat over arguments that may include std::string_view (a distinct type from
// absl::string_view in Debian's abseil).
template <typename T>
decltype(auto) ToAlphaNum(const T& v) {
  if constexpr (std::is_same_v<T, std::string_view>) {
    return ToAbsl(v);
  } else {
    return v;
  }
}
template <typename... Args>
std::string Cat(const Args&... args) {
  return absl::StrCat(ToAlphaNum(args)...);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return absl::ascii_tolower(static_cast<unsigned char>(x)) ==
                  absl::ascii_tolower(static_cast<unsigned char>(y));
         });
}

std::string Quote(std::string_view s) { return Cat("\"", absl::CHexEscape(ToAbsl(s)), "\""); }

std::string_view Trim(std::string_view s) { return ToStd(absl::StripAsciiWhitespace(ToAbsl(s))); }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Decimal uint64: digits only (no sign, no spaces), no overflow.
bool ParseDecimal(std::string_view s, uint64_t* out) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), IsDigit)) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The closest allowed key within a small edit distance, or "".
std::string_view Suggest(std::string_view key, std::initializer_list<std::string_view> allowed) {
  std::string_view best;
  size_t best_distance = key.size() >= 5 ? 2 : 1;
  for (std::string_view candidate : allowed) {
    size_t d = EditDistance(key, candidate);
    if (d <= best_distance && (best.empty() || d < best_distance)) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

// host, host:port, [v6], [v6]:port. Port 1-65535 when present.
absl::Status ValidateHostPort(std::string_view hostport) {
  std::string_view host;
  std::string_view port;
  bool has_port = false;
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("unclosed '[' in host");
    host = hostport.substr(1, close - 1);
    std::string_view rest = hostport.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return absl::InvalidArgumentError("unexpected text after ']'");
      port = rest.substr(1);
      has_port = true;
    }
    for (char c : host) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return absl::InvalidArgumentError("bad IPv6 address");
      }
    }
  } else {
    size_t colon = hostport.find(':');
    host = hostport.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = hostport.substr(colon + 1);
      has_port = true;
    }
    for (char c : host) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
        return absl::InvalidArgumentError(Cat("bad character ", Quote({&c, 1}), " in host"));
      }
    }
  }
  if (host.empty()) return absl::InvalidArgumentError("missing host");
  if (has_port) {
    uint64_t p = 0;
    if (!ParseDecimal(port, &p) || p == 0 || p > 65535) {
      return absl::InvalidArgumentError(Cat("bad port ", Quote(port)));
    }
  }
  return absl::OkStatus();
}

// Absolute http(s) URL: scheme://[userinfo@]host[:port][/path][?query][#fragment].
absl::Status ValidateHttpUrl(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
      return absl::InvalidArgumentError("URL contains a space or control character");
    }
  }
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return absl::InvalidArgumentError("URL must start with http:// or https://");
  }
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority = authority.substr(at + 1);
  return ValidateHostPort(authority);
}

bool IsValidPubkey(std::string_view s) {
  if (s.size() != 98 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
  return std::all_of(s.begin() + 2, s.end(),
                     [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); });
}

std::string NormalizePubkey(std::string_view s) {
  std::string out(s);
  absl::AsciiStrToLower(&out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validator index sets: ranges are collected first, then expanded once into an exactly-sized
// vector, so "0-1099999" costs 8 bytes per index and no intermediate copies.

class IndexRanges {
 public:
  void Add(uint64_t lo, uint64_t hi) { ranges_.emplace_back(lo, hi); }
  bool empty() const { return ranges_.empty(); }

  // Sorted, deduplicated expansion. Fails if it would hold more than `budget` indices.
  absl::StatusOr<std::vector<uint64_t>> Expand(uint64_t budget) {
    std::sort(ranges_.begin(), ranges_.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (const auto& [lo, hi] : ranges_) {
      if (!merged.empty() && (lo <= merged.back().second || lo - merged.back().second == 1)) {
        merged.back().second = std::max(merged.back().second, hi);
      } else {
        merged.emplace_back(lo, hi);
      }
    }
    ranges_.clear();
    ranges_.shrink_to_fit();
    uint64_t count = 0;
    for (const auto& [lo, hi] : merged) {
      if (hi - lo >= budget - count) {
        return absl::InvalidArgumentError(
            Cat("too many validator indices (the limit is ", kMaxValidatorIndices, ")"));
      }
      count += hi - lo + 1;
    }
    std::vector<uint64_t> out;
    out.reserve(count);
    for (const auto& [lo, hi] : merged) {
      for (uint64_t i = lo;; ++i) {
        out.push_back(i);
        if (i == hi) break;
      }
    }
    return out;
  }

 private:
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;
};

// Parses a comma-separated spec into `ranges` and (if `pubkeys` is non-null) pubkeys; with a
// null `pubkeys`, a pubkey item is an error.
absl::Status ParseSpecInto(std::string_view spec, IndexRanges* ranges,
                           std::vector<std::string>* pubkeys) {
  if (Trim(spec).empty()) return absl::InvalidArgumentError("empty validator list");
  size_t start = 0;
  while (true) {
    size_t comma = spec.find(',', start);
    std::string_view item = Trim(spec.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (item.empty()) return absl::InvalidArgumentError("empty item in validator list");
    if (item.size() >= 2 && item[0] == '0' && (item[1] == 'x' || item[1] == 'X')) {
      if (pubkeys == nullptr) {
        return absl::InvalidArgumentError(
            Cat("pubkey ", Quote(item), " in an index list (list pubkeys under pubkeys)"));
      }
      if (!IsValidPubkey(item)) {
        return absl::InvalidArgumentError(
            Cat("bad pubkey ", Quote(item), ": want 0x followed by 96 hex digits"));
      }
      pubkeys->push_back(NormalizePubkey(item));
    } else if (size_t dash = item.find('-'); dash != std::string_view::npos) {
      uint64_t lo = 0;
      uint64_t hi = 0;
      if (!ParseDecimal(Trim(item.substr(0, dash)), &lo) ||
          !ParseDecimal(Trim(item.substr(dash + 1)), &hi)) {
        return absl::InvalidArgumentError(
            Cat("bad validator range ", Quote(item), ": want A-B with decimal A <= B"));
      }
      if (lo > hi) {
        return absl::InvalidArgumentError(
            Cat("bad validator range ", Quote(item), ": start is greater than end"));
      }
      ranges->Add(lo, hi);
    } else {
      uint64_t index = 0;
      if (!ParseDecimal(item, &index)) {
        return absl::InvalidArgumentError(
            Cat("bad validator ", Quote(item), ": want an index, a range A-B or a 0x pubkey"));
      }
      ranges->Add(index, index);
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return absl::OkStatus();
}

void DedupPubkeys(std::vector<std::string>* pubkeys) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (std::string& p : *pubkeys) {
    if (seen.insert(p).second) out.push_back(std::move(p));
  }
  *pubkeys = std::move(out);
}

const RE2& RelabelTargetRegex() {
  // Prometheus's relabelTarget: a label name that may contain $1 / ${name} references.
  static const RE2* const re = new RE2(R"(^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$)");
  return *re;
}

// ---------------------------------------------------------------------------------------------
// The YAML walker.

// A node with the position to blame for it and its field path for messages ("beacon.timeout").
struct Value {
  YAML::Node node;
  YAML::Mark mark;
  std::string path;
};

std::string TypeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
      return "null";
    case YAML::NodeType::Scalar:
      return Cat("scalar ", Quote(n.Scalar()));
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string ChildPath(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : Cat(parent, ".", key);
}

// The keys of one YAML map, checked against the allowed set.
class Fields {
 public:
  Fields(YAML::Mark mark, std::string path) : mark_(mark), path_(std::move(path)) {}

  // The value under `key`, or nullopt if the key is absent or its value is null.
  std::optional<Value> Get(std::string_view key) const {
    for (const auto& [k, v] : values_) {
      if (k == key) {
        if (v.node.IsNull()) return std::nullopt;
        return v;
      }
    }
    return std::nullopt;
  }
  const YAML::Mark& mark() const { return mark_; }
  const std::string& path() const { return path_; }
  void Add(std::string key, Value v) { values_.emplace_back(std::move(key), std::move(v)); }

 private:
  YAML::Mark mark_;
  std::string path_;
  std::vector<std::pair<std::string, Value>> values_;
};

class Parser {
 public:
  explicit Parser(std::string_view filename) : filename_(filename) {}

  absl::Status ErrorAt(const YAML::Mark& m, std::string_view msg) const {
    if (m.is_null() || m.line < 0) {
      return absl::InvalidArgumentError(Cat(filename_, ": ", msg));
    }
    return absl::InvalidArgumentError(
        absl::StrFormat("%s:%d:%d: %s", filename_, m.line + 1, m.column + 1, ToAbsl(msg)));
  }
  // "<file>:<pos>: <path>: <msg>".
  absl::Status Error(const Value& v, std::string_view msg) const {
    if (v.path.empty()) return ErrorAt(v.mark, msg);
    return ErrorAt(v.mark, Cat(v.path, ": ", msg));
  }
  // Re-positions a value-syntax error (from ParsePrometheusDuration etc.) at `v`.
  absl::Status Wrap(const Value& v, const absl::Status& s) const {
    return Error(v, ToStd(s.message()));
  }

  absl::StatusOr<Config> Parse(const YAML::Node& root);

 private:
  // --- Generic shapes.
  absl::StatusOr<Fields> Map(const Value& v,
                             std::initializer_list<std::string_view> allowed) const {
    Fields fields(v.mark, v.path);
    if (v.node.IsNull()) return fields;
    if (!v.node.IsMap()) return Error(v, Cat("expected a map, got ", TypeName(v.node)));
    std::vector<std::string> seen;
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      YAML::Node key_node = it->first;
      if (!key_node.IsScalar()) {
        return ErrorAt(key_node.Mark(), Cat("expected a string key in ", Where(v.path), ", got ",
                                            TypeName(key_node)));
      }
      const std::string& key = key_node.Scalar();
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string msg = Cat("unknown key ", Quote(key), " ", Where(v.path));
        std::string_view suggestion = Suggest(key, allowed);
        if (!suggestion.empty()) msg += Cat(" (did you mean ", Quote(suggestion), "?)");
        return ErrorAt(key_node.Mark(), msg);
      }
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        return ErrorAt(key_node.Mark(), Cat("duplicate key ", Quote(key), " ", Where(v.path)));
      }
      seen.push_back(key);
      YAML::Node value = it->second;
      // A null value's own mark points past the key (often to the next line): blame the key.
      YAML::Mark mark = value.IsNull() || value.Mark().is_null() ? key_node.Mark() : value.Mark();
      fields.Add(key, Value{value, mark, ChildPath(v.path, key)});
    }
    return fields;
  }

  static std::string Where(std::string_view path) {
    return path.empty() ? "at top level" : Cat("in ", path);
  }

  absl::StatusOr<std::vector<Value>> List(const Value& v) const {
    std::vector<Value> items;
    if (v.node.IsNull()) return items;
    if (!v.node.IsSequence()) {
      return Error(v, Cat("expected a list, got ", TypeName(v.node)));
    }
    size_t i = 0;
    for (const YAML::Node& item : v.node) {
      // A null item's own mark points at the next item: blame the list.
      YAML::Mark mark = item.IsNull() || item.Mark().is_null() ? v.mark : item.Mark();
      items.push_back(Value{item, mark, Cat(v.path, "[", i++, "]")});
    }
    return items;
  }

  absl::StatusOr<std::string> String(const Value& v) const {
    if (!v.node.IsScalar()) {
      return Error(v, Cat("expected a string, got ", TypeName(v.node)));
    }
    return v.node.Scalar();
  }

  absl::StatusOr<bool> Bool(const Value& v) const {
    if (v.node.IsScalar()) {
      const std::string& s = v.node.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    return Error(v, Cat("expected true or false, got ", TypeName(v.node)));
  }

  absl::StatusOr<uint64_t> Uint(const Value& v) const {
    uint64_t n = 0;
    if (!v.node.IsScalar() || !ParseDecimal(v.node.Scalar(), &n)) {
      return Error(v, Cat("expected a non-negative integer, got ", TypeName(v.node)));
    }
    return n;
  }

  enum class Zero { kAllowed, kRejected };
  absl::StatusOr<absl::Duration> Duration(const Value& v, Zero zero) const {
    ASSIGN_OR_RETURN(std::string text, String(v));
    absl::StatusOr<absl::Duration> d = ParsePrometheusDuration(text);
    if (!d.ok()) return Wrap(v, d.status());
    if (zero == Zero::kRejected && *d == absl::ZeroDuration()) {
      return Error(v, "must be greater than 0");
    }
    return *d;
  }

  absl::StatusOr<std::vector<std::string>> StringList(const Value& v) const {
    ASSIGN_OR_RETURN(std::vector<Value> items, List(v));
    std::vector<std::string> out;
    out.reserve(items.size());
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(std::string s, String(item));
      out.push_back(std::move(s));
    }
    return out;
  }

  // Setters for optional fields: leave *out alone when the key is absent or null.
  absl::Status SetString(const Fields& f, std::string_view key, std::string* out) const {
    if (std::optional<Value> v = f.Get(key)) {
      ASSIGN_OR_RETURN(*out, String(*v));
    }
    return absl::OkStatus();
  }
  absl::Status SetBool(const Fields& f, std::string_view key, bool* out) const {
    if (std::optional<Value> v = f.Get(key)) {
      ASSIGN_OR_RETURN(*out, Bool(*v));
    }
    return absl::OkStatus();
  }
  absl::Status SetUint(const Fields& f, std::string_view key, uint64_t* out) const {
    if (std::optional<Value> v = f.Get(key)) {
      ASSIGN_OR_RETURN(*out, Uint(*v));
    }
    return absl::OkStatus();
  }
  absl::Status SetDuration(const Fields& f, std::string_view key, Zero zero,
                           absl::Duration* out) const {
    if (std::optional<Value> v = f.Get(key)) {
      ASSIGN_OR_RETURN(*out, Duration(*v, zero));
    }
    return absl::OkStatus();
  }
  absl::Status SetStringList(const Fields& f, std::string_view key,
                             std::vector<std::string>* out) const {
    if (std::optional<Value> v = f.Get(key)) {
      ASSIGN_OR_RETURN(*out, StringList(*v));
    }
    return absl::OkStatus();
  }

  enum class Reserved { kNone, kDunder, kGroup };
  absl::StatusOr<std::map<std::string, std::string>> LabelMap(const Value& v,
                                                              Reserved reserved) const {
    std::map<std::string, std::string> out;
    if (v.node.IsNull()) return out;
    if (!v.node.IsMap()) return Error(v, Cat("expected a map, got ", TypeName(v.node)));
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      YAML::Node key_node = it->first;
      if (!key_node.IsScalar()) {
        return ErrorAt(key_node.Mark(),
                       Cat(v.path, ": expected a label name, got ", TypeName(key_node)));
      }
      const std::string& name = key_node.Scalar();
      if (!IsValidLabelName(name)) {
        return ErrorAt(key_node.Mark(), Cat(v.path, ": invalid label name ", Quote(name),
                                            " (want [a-zA-Z_][a-zA-Z0-9_]*)"));
      }
      bool dunder = name.starts_with("__");
      if ((reserved != Reserved::kNone && dunder) ||
          (reserved == Reserved::kGroup && (name == "group" || name == "validator_index"))) {
        return ErrorAt(key_node.Mark(), Cat(v.path, ": label name ", Quote(name), " is reserved"));
      }
      if (out.count(name) != 0) {
        return ErrorAt(key_node.Mark(), Cat(v.path, ": duplicate label ", Quote(name)));
      }
      Value value{it->second, it->second.IsNull() ? key_node.Mark() : it->second.Mark(),
                  ChildPath(v.path, name)};
      if (value.node.IsNull()) {
        out[name] = "";
        continue;
      }
      ASSIGN_OR_RETURN(out[name], String(value));
    }
    return out;
  }

  absl::Status SetLabels(const Fields& f, std::string_view key, Reserved reserved,
                         std::map<std::string, std::string>* out) const {
    if (std::optional<Value> v = f.Get(key)) {
      ASSIGN_OR_RETURN(*out, LabelMap(*v, reserved));
    }
    return absl::OkStatus();
  }

  absl::Status Scheme(const Fields& f, std::string* out) const {
    if (std::optional<Value> v = f.Get("scheme")) {
      ASSIGN_OR_RETURN(*out, String(*v));
      if (*out != "http" && *out != "https") {
        return Error(*v, Cat("must be http or https, got ", Quote(*out)));
      }
    }
    return absl::OkStatus();
  }

  // --- Shared Prometheus pieces.
  absl::StatusOr<BasicAuth> ParseBasicAuth(const Value& v) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"username", "password", "password_file"}));
    BasicAuth a;
    RETURN_IF_ERROR(SetString(f, "username", &a.username));
    RETURN_IF_ERROR(SetString(f, "password", &a.password));
    RETURN_IF_ERROR(SetString(f, "password_file", &a.password_file));
    if (!a.password.empty() && !a.password_file.empty()) {
      return Error(v, "at most one of password and password_file may be set");
    }
    return a;
  }

  absl::StatusOr<Authorization> ParseAuthorization(const Value& v) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"type", "credentials", "credentials_file"}));
    Authorization a;
    RETURN_IF_ERROR(SetString(f, "type", &a.type));
    RETURN_IF_ERROR(SetString(f, "credentials", &a.credentials));
    RETURN_IF_ERROR(SetString(f, "credentials_file", &a.credentials_file));
    if (a.type.empty()) a.type = "Bearer";
    if (EqualsIgnoreCase(a.type, "basic")) {
      return Error(*f.Get("type"), "type cannot be Basic; use basic_auth instead");
    }
    if (!a.credentials.empty() && !a.credentials_file.empty()) {
      return Error(v, "at most one of credentials and credentials_file may be set");
    }
    return a;
  }

  absl::StatusOr<TlsConfig> ParseTls(const Value& v) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"ca_file", "cert_file", "key_file", "server_name",
                                       "insecure_skip_verify"}));
    TlsConfig t;
    RETURN_IF_ERROR(SetString(f, "ca_file", &t.ca_file));
    RETURN_IF_ERROR(SetString(f, "cert_file", &t.cert_file));
    RETURN_IF_ERROR(SetString(f, "key_file", &t.key_file));
    RETURN_IF_ERROR(SetString(f, "server_name", &t.server_name));
    RETURN_IF_ERROR(SetBool(f, "insecure_skip_verify", &t.insecure_skip_verify));
    if (t.cert_file.empty() != t.key_file.empty()) {
      return Error(v, "cert_file and key_file must be set together");
    }
    return t;
  }

  absl::StatusOr<std::vector<StaticConfig>> ParseStaticConfigs(const Value& v) const {
    ASSIGN_OR_RETURN(std::vector<Value> items, List(v));
    std::vector<StaticConfig> out;
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(Fields f, Map(item, {"targets", "labels"}));
      StaticConfig sc;
      if (std::optional<Value> targets = f.Get("targets")) {
        ASSIGN_OR_RETURN(std::vector<Value> target_items, List(*targets));
        for (const Value& t : target_items) {
          ASSIGN_OR_RETURN(std::string target, String(t));
          if (target.find('/') != std::string::npos) {
            return Error(
                t, Cat("target ", Quote(target), " must be host:port, without scheme or path"));
          }
          absl::Status s = ValidateHostPort(target);
          if (!s.ok()) {
            return Error(t, Cat("bad target ", Quote(target), ": ", s.message()));
          }
          sc.targets.push_back(std::move(target));
        }
      }
      RETURN_IF_ERROR(SetLabels(f, "labels", Reserved::kNone, &sc.labels));
      out.push_back(std::move(sc));
    }
    return out;
  }

  absl::StatusOr<RelabelConfig> ParseRelabel(const Value& v) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"source_labels", "separator", "regex", "target_label",
                                       "replacement", "action", "modulus"}));
    const RelabelConfig defaults;
    RelabelConfig r;
    if (std::optional<Value> src = f.Get("source_labels")) {
      ASSIGN_OR_RETURN(std::vector<Value> items, List(*src));
      for (const Value& item : items) {
        ASSIGN_OR_RETURN(std::string name, String(item));
        if (!IsValidLabelName(name)) {
          return Error(item, Cat("invalid label name ", Quote(name)));
        }
        r.source_labels.push_back(std::move(name));
      }
    }
    RETURN_IF_ERROR(SetString(f, "separator", &r.separator));
    RETURN_IF_ERROR(SetString(f, "target_label", &r.target_label));
    RETURN_IF_ERROR(SetString(f, "replacement", &r.replacement));
    RETURN_IF_ERROR(SetUint(f, "modulus", &r.modulus));
    if (std::optional<Value> re = f.Get("regex")) {
      ASSIGN_OR_RETURN(r.regex, String(*re));
      RE2 compiled(AnchoredRegex(r), RE2::Quiet);
      if (!compiled.ok()) {
        return Error(*re, Cat("invalid regex ", Quote(r.regex), ": ", compiled.error()));
      }
    }
    std::optional<Value> action_value = f.Get("action");
    if (action_value) {
      ASSIGN_OR_RETURN(std::string name, String(*action_value));
      bool found = false;
      for (int a = 0; a <= static_cast<int>(RelabelAction::kDropEqual); ++a) {
        if (EqualsIgnoreCase(name, RelabelActionName(static_cast<RelabelAction>(a)))) {
          r.action = static_cast<RelabelAction>(a);
          found = true;
        }
      }
      if (!found) {
        return Error(*action_value,
                     Cat("unknown action ", Quote(name),
                         " (want replace, keep, drop, labelmap, labeldrop, labelkeep, "
                         "hashmod, lowercase, uppercase, keepequal or dropequal)"));
      }
    }
    const Value& blame = action_value ? *action_value : Value{v.node, v.mark, v.path};
    std::string action(RelabelActionName(r.action));
    switch (r.action) {
      case RelabelAction::kReplace:
      case RelabelAction::kHashMod:
      case RelabelAction::kLowercase:
      case RelabelAction::kUppercase:
      case RelabelAction::kKeepEqual:
      case RelabelAction::kDropEqual:
        if (r.target_label.empty()) {
          return Error(blame, Cat(action, " action requires target_label"));
        }
        if (r.action == RelabelAction::kReplace
                ? !RE2::FullMatch(r.target_label, RelabelTargetRegex())
                : !IsValidLabelName(r.target_label)) {
          return Error(*f.Get("target_label"), Cat("invalid target_label ", Quote(r.target_label),
                                                   " for ", action, " action"));
        }
        break;
      default:
        break;
    }
    if (r.action == RelabelAction::kHashMod && r.modulus == 0) {
      return Error(blame, "hashmod action requires modulus greater than 0");
    }
    if (r.action == RelabelAction::kLabelMap &&
        !RE2::FullMatch(r.replacement, RelabelTargetRegex())) {
      return Error(blame,
                   Cat("invalid replacement ", Quote(r.replacement), " for labelmap action"));
    }
    if ((r.action == RelabelAction::kLabelDrop || r.action == RelabelAction::kLabelKeep) &&
        (!r.source_labels.empty() || r.target_label != defaults.target_label ||
         r.modulus != defaults.modulus || r.separator != defaults.separator ||
         r.replacement != defaults.replacement)) {
      return Error(blame, Cat(action, " action takes only regex, and no other fields"));
    }
    if ((r.action == RelabelAction::kKeepEqual || r.action == RelabelAction::kDropEqual) &&
        (r.regex != defaults.regex || r.modulus != defaults.modulus ||
         r.separator != defaults.separator || r.replacement != defaults.replacement)) {
      return Error(blame, Cat(action, " action takes only source_labels and target_label"));
    }
    return r;
  }

  absl::StatusOr<std::vector<RelabelConfig>> ParseRelabels(const Value& v) const {
    ASSIGN_OR_RETURN(std::vector<Value> items, List(v));
    std::vector<RelabelConfig> out;
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(RelabelConfig r, ParseRelabel(item));
      out.push_back(std::move(r));
    }
    return out;
  }

  // --- Sections.
  absl::Status ParseGlobal(const Value& v, GlobalConfig* g) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"scrape_interval", "scrape_timeout", "evaluation_interval",
                                       "external_labels"}));
    RETURN_IF_ERROR(SetDuration(f, "scrape_interval", Zero::kRejected, &g->scrape_interval));
    RETURN_IF_ERROR(SetDuration(f, "scrape_timeout", Zero::kRejected, &g->scrape_timeout));
    RETURN_IF_ERROR(
        SetDuration(f, "evaluation_interval", Zero::kRejected, &g->evaluation_interval));
    if (std::optional<Value> timeout = f.Get("scrape_timeout")) {
      if (g->scrape_timeout > g->scrape_interval) {
        return Error(*timeout, Cat("must not be greater than scrape_interval (",
                                   FormatPrometheusDuration(g->scrape_interval), ")"));
      }
    } else if (g->scrape_timeout > g->scrape_interval) {
      g->scrape_timeout = g->scrape_interval;
    }
    return SetLabels(f, "external_labels", Reserved::kDunder, &g->external_labels);
  }

  absl::Status ParseAlerting(const Value& v, AlertingConfig* a) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"alertmanagers", "alert_relabel_configs"}));
    if (std::optional<Value> ams = f.Get("alertmanagers")) {
      ASSIGN_OR_RETURN(std::vector<Value> items, List(*ams));
      for (const Value& item : items) {
        ASSIGN_OR_RETURN(Fields af,
                         Map(item, {"static_configs", "scheme", "path_prefix", "timeout",
                                    "api_version", "basic_auth", "authorization", "tls_config"}));
        AlertmanagerConfig am;
        if (std::optional<Value> sc = af.Get("static_configs")) {
          ASSIGN_OR_RETURN(am.static_configs, ParseStaticConfigs(*sc));
        }
        RETURN_IF_ERROR(Scheme(af, &am.scheme));
        RETURN_IF_ERROR(SetString(af, "path_prefix", &am.path_prefix));
        if (!am.path_prefix.empty() && am.path_prefix.front() != '/') {
          return Error(*af.Get("path_prefix"), "must start with /");
        }
        RETURN_IF_ERROR(SetDuration(af, "timeout", Zero::kRejected, &am.timeout));
        if (std::optional<Value> version = af.Get("api_version")) {
          ASSIGN_OR_RETURN(am.api_version, String(*version));
          if (am.api_version == "v1") {
            return Error(*version, "v1 is not supported (Alertmanager removed its v1 API); use v2");
          }
          if (am.api_version != "v2") {
            return Error(*version, Cat("unsupported version ", Quote(am.api_version), "; use v2"));
          }
        }
        if (std::optional<Value> b = af.Get("basic_auth")) {
          ASSIGN_OR_RETURN(am.basic_auth, ParseBasicAuth(*b));
        }
        if (std::optional<Value> b = af.Get("authorization")) {
          if (am.basic_auth) {
            return Error(*b, "at most one of basic_auth and authorization may be set");
          }
          ASSIGN_OR_RETURN(am.authorization, ParseAuthorization(*b));
        }
        if (std::optional<Value> t = af.Get("tls_config")) {
          ASSIGN_OR_RETURN(am.tls_config, ParseTls(*t));
        }
        a->alertmanagers.push_back(std::move(am));
      }
    }
    if (std::optional<Value> r = f.Get("alert_relabel_configs")) {
      ASSIGN_OR_RETURN(a->alert_relabel_configs, ParseRelabels(*r));
    }
    return absl::OkStatus();
  }

  absl::Status ParseScrapeConfigs(const Value& v, const GlobalConfig& global,
                                  std::vector<ScrapeConfig>* out) const {
    ASSIGN_OR_RETURN(std::vector<Value> items, List(v));
    std::map<std::string, YAML::Mark> jobs;
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(
          Fields f,
          Map(item, {"job_name", "scrape_interval", "scrape_timeout", "metrics_path", "params",
                     "scheme", "honor_labels", "basic_auth", "bearer_token_file", "authorization",
                     "tls_config", "static_configs", "metric_relabel_configs"}));
      ScrapeConfig sc;
      std::optional<Value> job = f.Get("job_name");
      if (!job) return Error(item, "job_name is required");
      ASSIGN_OR_RETURN(sc.job_name, String(*job));
      if (sc.job_name.empty()) return Error(*job, "job_name must not be empty");
      if (auto [it, inserted] = jobs.emplace(sc.job_name, job->mark); !inserted) {
        return Error(*job, Cat("duplicate job_name ", Quote(sc.job_name),
                               " (first defined at line ", it->second.line + 1, ")"));
      }
      sc.scrape_interval = global.scrape_interval;
      RETURN_IF_ERROR(SetDuration(f, "scrape_interval", Zero::kRejected, &sc.scrape_interval));
      if (std::optional<Value> timeout = f.Get("scrape_timeout")) {
        ASSIGN_OR_RETURN(sc.scrape_timeout, Duration(*timeout, Zero::kRejected));
        if (sc.scrape_timeout > sc.scrape_interval) {
          return Error(*timeout, Cat("must not be greater than scrape_interval (",
                                     FormatPrometheusDuration(sc.scrape_interval), ")"));
        }
      } else {
        sc.scrape_timeout = std::min(global.scrape_timeout, sc.scrape_interval);
      }
      RETURN_IF_ERROR(SetString(f, "metrics_path", &sc.metrics_path));
      if (sc.metrics_path.empty() || sc.metrics_path.front() != '/') {
        return Error(*f.Get("metrics_path"), "must start with /");
      }
      if (std::optional<Value> params = f.Get("params")) {
        RETURN_IF_ERROR(CheckStringKeys(*params));
        for (auto it = params->node.begin(); it != params->node.end(); ++it) {
          const std::string name = it->first.Scalar();
          Value pv{it->second, it->second.IsNull() ? it->first.Mark() : it->second.Mark(),
                   ChildPath(params->path, name)};
          ASSIGN_OR_RETURN(sc.params[name], StringList(pv));
        }
      }
      RETURN_IF_ERROR(Scheme(f, &sc.scheme));
      RETURN_IF_ERROR(SetBool(f, "honor_labels", &sc.honor_labels));
      int auth_count = 0;
      if (std::optional<Value> b = f.Get("basic_auth")) {
        ASSIGN_OR_RETURN(sc.basic_auth, ParseBasicAuth(*b));
        ++auth_count;
      }
      RETURN_IF_ERROR(SetString(f, "bearer_token_file", &sc.bearer_token_file));
      if (!sc.bearer_token_file.empty()) ++auth_count;
      if (std::optional<Value> b = f.Get("authorization")) {
        ASSIGN_OR_RETURN(sc.authorization, ParseAuthorization(*b));
        ++auth_count;
      }
      if (auth_count > 1) {
        return Error(item,
                     "at most one of basic_auth, bearer_token_file and authorization may be set");
      }
      if (std::optional<Value> t = f.Get("tls_config")) {
        ASSIGN_OR_RETURN(sc.tls_config, ParseTls(*t));
      }
      if (std::optional<Value> s = f.Get("static_configs")) {
        ASSIGN_OR_RETURN(sc.static_configs, ParseStaticConfigs(*s));
      }
      if (std::optional<Value> r = f.Get("metric_relabel_configs")) {
        ASSIGN_OR_RETURN(sc.metric_relabel_configs, ParseRelabels(*r));
      }
      out->push_back(std::move(sc));
    }
    return absl::OkStatus();
  }

  // A map with arbitrary string keys (checked for type and duplicates only).
  absl::Status CheckStringKeys(const Value& v) const {
    if (!v.node.IsMap()) return Error(v, Cat("expected a map, got ", TypeName(v.node)));
    std::set<std::string> seen;
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      if (!it->first.IsScalar()) {
        return ErrorAt(it->first.Mark(),
                       Cat(v.path, ": expected a string key, got ", TypeName(it->first)));
      }
      if (!seen.insert(it->first.Scalar()).second) {
        return ErrorAt(it->first.Mark(),
                       Cat("duplicate key ", Quote(it->first.Scalar()), " ", Where(v.path)));
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseBeacon(const Value& v, BeaconConfig* b) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"nodes", "timeout", "connect_timeout", "max_response_bytes",
                                       "retries", "poll_interval", "health_check_interval",
                                       "max_backfill_epochs", "events", "count_finalized_only"}));
    if (std::optional<Value> nodes = f.Get("nodes")) {
      ASSIGN_OR_RETURN(std::vector<Value> items, List(*nodes));
      std::set<std::string> seen;
      for (const Value& item : items) {
        ASSIGN_OR_RETURN(std::string url, String(item));
        absl::Status s = ValidateHttpUrl(url);
        if (!s.ok()) return Error(item, Cat("bad URL ", Quote(url), ": ", s.message()));
        if (!seen.insert(url).second) {
          return Error(item, Cat("duplicate node ", Quote(url)));
        }
        b->nodes.push_back(std::move(url));
      }
    }
    RETURN_IF_ERROR(SetDuration(f, "timeout", Zero::kRejected, &b->timeout));
    RETURN_IF_ERROR(SetDuration(f, "connect_timeout", Zero::kRejected, &b->connect_timeout));
    if (std::optional<Value> size = f.Get("max_response_bytes")) {
      ASSIGN_OR_RETURN(std::string text, String(*size));
      absl::StatusOr<uint64_t> n = ParseByteSize(text);
      if (!n.ok()) return Wrap(*size, n.status());
      if (*n == 0) return Error(*size, "must be greater than 0");
      b->max_response_bytes = *n;
    }
    RETURN_IF_ERROR(SetUint(f, "retries", &b->retries));
    if (b->retries > 100) return Error(*f.Get("retries"), "must be at most 100");
    RETURN_IF_ERROR(SetDuration(f, "poll_interval", Zero::kAllowed, &b->poll_interval));
    RETURN_IF_ERROR(
        SetDuration(f, "health_check_interval", Zero::kAllowed, &b->health_check_interval));
    RETURN_IF_ERROR(SetUint(f, "max_backfill_epochs", &b->max_backfill_epochs));
    RETURN_IF_ERROR(SetBool(f, "events", &b->events));
    RETURN_IF_ERROR(SetBool(f, "count_finalized_only", &b->count_finalized_only));
    return absl::OkStatus();
  }

  absl::Status ParseExecution(const Value& v, ExecutionConfig* e) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"endpoint", "relays", "timeout"}));
    if (std::optional<Value> endpoint = f.Get("endpoint")) {
      ASSIGN_OR_RETURN(e->endpoint, String(*endpoint));
      absl::Status s = ValidateHttpUrl(e->endpoint);
      if (!s.ok()) return Error(*endpoint, Cat("bad URL ", Quote(e->endpoint), ": ", s.message()));
    }
    if (std::optional<Value> relays = f.Get("relays")) {
      ASSIGN_OR_RETURN(std::vector<Value> items, List(*relays));
      std::set<std::string> seen;
      for (const Value& item : items) {
        ASSIGN_OR_RETURN(std::string url, String(item));
        absl::Status s = ValidateHttpUrl(url);
        if (!s.ok()) return Error(item, Cat("bad URL ", Quote(url), ": ", s.message()));
        if (!seen.insert(url).second) return Error(item, Cat("duplicate relay ", Quote(url)));
        e->relays.push_back(std::move(url));
      }
    }
    RETURN_IF_ERROR(SetDuration(f, "timeout", Zero::kRejected, &e->timeout));
    return absl::OkStatus();
  }

  absl::Status ParseSlashingDb(const Value& v, SlashingDbConfig* db) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"dsn_file", "dsn_env", "poll_interval", "statement_timeout",
                                       "connect_timeout", "reconcile"}));
    RETURN_IF_ERROR(SetString(f, "dsn_file", &db->dsn_file));
    RETURN_IF_ERROR(SetString(f, "dsn_env", &db->dsn_env));
    if (db->dsn_file.empty() == db->dsn_env.empty()) {
      return Error(v,
                   "set exactly one of dsn_file and dsn_env (the connection string is never "
                   "written in this file)");
    }
    if (!db->dsn_env.empty() && !IsValidEnvName(db->dsn_env)) {
      return Error(*f.Get("dsn_env"), Cat("bad environment variable name ", Quote(db->dsn_env)));
    }
    RETURN_IF_ERROR(SetDuration(f, "poll_interval", Zero::kRejected, &db->poll_interval));
    RETURN_IF_ERROR(SetDuration(f, "statement_timeout", Zero::kRejected, &db->statement_timeout));
    RETURN_IF_ERROR(SetDuration(f, "connect_timeout", Zero::kRejected, &db->connect_timeout));
    if (db->connect_timeout < absl::Seconds(1)) {
      return Error(*f.Get("connect_timeout"), "must be at least 1s (libpq counts whole seconds)");
    }
    RETURN_IF_ERROR(SetBool(f, "reconcile", &db->reconcile));
    return absl::OkStatus();
  }

  static bool IsValidEnvName(std::string_view name) {
    if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
    return std::all_of(name.begin(), name.end(), [](char ch) {
      return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '_';
    });
  }

  absl::Status SetUrl(const Fields& f, std::string_view key, std::string* out) const {
    std::optional<Value> u = f.Get(key);
    if (!u) return absl::OkStatus();
    ASSIGN_OR_RETURN(*out, String(*u));
    absl::Status s = ValidateHttpUrl(*out);
    if (!s.ok()) return Error(*u, Cat("bad URL ", Quote(*out), ": ", s.message()));
    return absl::OkStatus();
  }

  absl::Status ParseWeb3Signer(const Value& v, Web3SignerConfig* w) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"url", "metrics_url", "poll_interval", "timeout",
                                       "auto_discover", "discover_group", "discover_labels"}));
    RETURN_IF_ERROR(SetUrl(f, "url", &w->url));
    if (w->url.empty()) return Error(v, "url is required");
    RETURN_IF_ERROR(SetUrl(f, "metrics_url", &w->metrics_url));
    RETURN_IF_ERROR(SetDuration(f, "poll_interval", Zero::kRejected, &w->poll_interval));
    RETURN_IF_ERROR(SetDuration(f, "timeout", Zero::kRejected, &w->timeout));
    RETURN_IF_ERROR(SetBool(f, "auto_discover", &w->auto_discover));
    if (std::optional<Value> g = f.Get("discover_group")) {
      ASSIGN_OR_RETURN(w->discover_group, String(*g));
      if (w->discover_group.empty()) return Error(*g, "must not be empty");
    }
    RETURN_IF_ERROR(SetLabels(f, "discover_labels", Reserved::kGroup, &w->discover_labels));
    return absl::OkStatus();
  }

  absl::Status ParseValidatorClients(const Value& v,
                                     std::vector<ValidatorClientConfig>* out) const {
    ASSIGN_OR_RETURN(std::vector<Value> items, List(v));
    std::set<std::string> names;
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(Fields f, Map(item, {"name", "url", "client", "poll_interval", "timeout"}));
      ValidatorClientConfig vc;
      RETURN_IF_ERROR(SetString(f, "name", &vc.name));
      if (vc.name.empty()) return Error(item, "name is required");
      if (!names.insert(vc.name).second) {
        return Error(*f.Get("name"), Cat("duplicate validator client name ", Quote(vc.name)));
      }
      RETURN_IF_ERROR(SetUrl(f, "url", &vc.url));
      if (vc.url.empty()) return Error(item, "url is required");
      if (std::optional<Value> c = f.Get("client")) {
        ASSIGN_OR_RETURN(vc.client, String(*c));
        static constexpr std::string_view kClients[] = {"auto",  "lighthouse", "teku",
                                                        "prysm", "nimbus",     "lodestar"};
        if (std::find(std::begin(kClients), std::end(kClients), vc.client) == std::end(kClients)) {
          return Error(*c, Cat("unknown client ", Quote(vc.client),
                               " (want auto, lighthouse, teku, prysm, nimbus or lodestar)"));
        }
      }
      RETURN_IF_ERROR(SetDuration(f, "poll_interval", Zero::kRejected, &vc.poll_interval));
      RETURN_IF_ERROR(SetDuration(f, "timeout", Zero::kRejected, &vc.timeout));
      out->push_back(std::move(vc));
    }
    return absl::OkStatus();
  }

  // Where a group's validators were written, for overlap errors.
  struct GroupMarks {
    Value indices;
    std::vector<Value> pubkeys;  // parallel to ValidatorGroup::pubkeys before dedup
  };

  absl::Status ParseValidators(const Value& v, ValidatorsConfig* out) const {
    ASSIGN_OR_RETURN(Fields f, Map(v, {"per_validator_metrics", "per_validator_limit", "groups"}));
    RETURN_IF_ERROR(SetBool(f, "per_validator_metrics", &out->per_validator_metrics));
    RETURN_IF_ERROR(SetUint(f, "per_validator_limit", &out->per_validator_limit));
    std::optional<Value> groups = f.Get("groups");
    if (!groups) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<Value> items, List(*groups));
    std::map<std::string, size_t> names;
    std::vector<Value> index_values(items.size());
    std::unordered_map<std::string, size_t> pubkey_owner;
    uint64_t budget = kMaxValidatorIndices;
    for (size_t gi = 0; gi < items.size(); ++gi) {
      const Value& item = items[gi];
      ASSIGN_OR_RETURN(Fields gf,
                       Map(item, {"name", "labels", "indices", "pubkeys", "fee_recipient"}));
      ValidatorGroup g;
      std::optional<Value> name = gf.Get("name");
      if (!name) return Error(item, "name is required");
      ASSIGN_OR_RETURN(g.name, String(*name));
      if (g.name.empty()) return Error(*name, "name must not be empty");
      if (auto [it, inserted] = names.emplace(g.name, gi); !inserted) {
        return Error(*name, Cat("duplicate group name ", Quote(g.name), " (also ",
                                items[it->second].path, ")"));
      }
      RETURN_IF_ERROR(SetLabels(gf, "labels", Reserved::kGroup, &g.labels));
      if (std::optional<Value> fr = gf.Get("fee_recipient")) {
        ASSIGN_OR_RETURN(g.fee_recipient, String(*fr));
        bool ok = g.fee_recipient.size() == 42 && g.fee_recipient[0] == '0' &&
                  (g.fee_recipient[1] == 'x' || g.fee_recipient[1] == 'X');
        for (size_t i = 2; ok && i < g.fee_recipient.size(); ++i) {
          ok = absl::ascii_isxdigit(static_cast<unsigned char>(g.fee_recipient[i]));
        }
        if (!ok) {
          return Error(*fr, Cat("bad fee_recipient ", Quote(g.fee_recipient),
                                ": want 0x followed by 40 hex digits"));
        }
        g.fee_recipient = absl::AsciiStrToLower(g.fee_recipient);
        g.fee_recipient[1] = 'x';
      }
      IndexRanges ranges;
      if (std::optional<Value> indices = gf.Get("indices")) {
        index_values[gi] = *indices;
        if (indices->node.IsScalar()) {
          absl::Status s = ParseSpecInto(indices->node.Scalar(), &ranges, nullptr);
          if (!s.ok()) return Wrap(*indices, s);
        } else {
          ASSIGN_OR_RETURN(std::vector<Value> index_items, List(*indices));
          for (const Value& index_item : index_items) {
            ASSIGN_OR_RETURN(std::string text, String(index_item));
            absl::Status s = ParseSpecInto(text, &ranges, nullptr);
            if (!s.ok()) return Wrap(index_item, s);
          }
        }
        absl::StatusOr<std::vector<uint64_t>> expanded = ranges.Expand(budget);
        if (!expanded.ok()) return Wrap(*indices, expanded.status());
        g.indices = *std::move(expanded);
        budget -= g.indices.size();
      }
      if (std::optional<Value> pubkeys = gf.Get("pubkeys")) {
        ASSIGN_OR_RETURN(std::vector<Value> pk_items, List(*pubkeys));
        for (const Value& pk_item : pk_items) {
          ASSIGN_OR_RETURN(std::string pk, String(pk_item));
          if (!IsValidPubkey(pk)) {
            return Error(pk_item,
                         Cat("bad pubkey ", Quote(pk), ": want 0x followed by 96 hex digits"));
          }
          pk = NormalizePubkey(pk);
          auto [it, inserted] = pubkey_owner.emplace(pk, gi);
          if (!inserted && it->second != gi) {
            return Error(pk_item, Cat("pubkey ", pk, " is in two groups: ",
                                      Quote(out->groups[it->second].name), " and ", Quote(g.name)));
          }
          g.pubkeys.push_back(std::move(pk));
        }
        DedupPubkeys(&g.pubkeys);
      }
      if (g.indices.empty() && g.pubkeys.empty()) {
        return Error(item,
                     Cat("group ", Quote(g.name), " lists no validators (set indices or pubkeys)"));
      }
      out->groups.push_back(std::move(g));
    }
    return CheckDisjoint(out->groups, index_values);
  }

  // A k-way merge over the groups' sorted index lists: O(total log groups) time, O(groups) space.
  absl::Status CheckDisjoint(const std::vector<ValidatorGroup>& groups,
                             const std::vector<Value>& index_values) const {
    using Entry = std::tuple<uint64_t, size_t, size_t>;  // value, group, position
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
    for (size_t g = 0; g < groups.size(); ++g) {
      if (!groups[g].indices.empty()) heap.emplace(groups[g].indices[0], g, 0);
    }
    bool have_previous = false;
    uint64_t previous = 0;
    size_t previous_group = 0;
    while (!heap.empty()) {
      auto [value, g, pos] = heap.top();
      heap.pop();
      if (have_previous && value == previous) {
        size_t first = std::min(g, previous_group);
        size_t second = std::max(g, previous_group);
        return Error(index_values[second],
                     Cat("validator ", value, " is in two groups: ", Quote(groups[first].name),
                         " and ", Quote(groups[second].name)));
      }
      have_previous = true;
      previous = value;
      previous_group = g;
      if (pos + 1 < groups[g].indices.size()) heap.emplace(groups[g].indices[pos + 1], g, pos + 1);
    }
    return absl::OkStatus();
  }

  std::string filename_;
};

absl::StatusOr<Config> Parser::Parse(const YAML::Node& root) {
  Config c;
  Value v{root, root.Mark(), ""};
  ASSIGN_OR_RETURN(Fields f, Map(v, {"global", "rule_files", "alerting", "scrape_configs", "beacon",
                                     "execution", "validators", "storage", "slashing_db",
                                     "web3signer", "validator_clients"}));
  if (std::optional<Value> g = f.Get("global")) RETURN_IF_ERROR(ParseGlobal(*g, &c.global));
  if (std::optional<Value> r = f.Get("rule_files")) {
    ASSIGN_OR_RETURN(std::vector<Value> items, List(*r));
    for (const Value& item : items) {
      ASSIGN_OR_RETURN(std::string file, String(item));
      if (file.empty()) return Error(item, "empty file name");
      c.rule_files.push_back(std::move(file));
    }
  }
  if (std::optional<Value> a = f.Get("alerting")) RETURN_IF_ERROR(ParseAlerting(*a, &c.alerting));
  if (std::optional<Value> s = f.Get("scrape_configs")) {
    RETURN_IF_ERROR(ParseScrapeConfigs(*s, c.global, &c.scrape_configs));
  }
  if (std::optional<Value> b = f.Get("beacon")) RETURN_IF_ERROR(ParseBeacon(*b, &c.beacon));
  if (std::optional<Value> e = f.Get("execution")) {
    RETURN_IF_ERROR(ParseExecution(*e, &c.execution));
  }
  if (std::optional<Value> val = f.Get("validators")) {
    RETURN_IF_ERROR(ParseValidators(*val, &c.validators));
  }
  if (std::optional<Value> s = f.Get("storage")) {
    ASSIGN_OR_RETURN(Fields sf, Map(*s, {"path", "retention", "self_scrape"}));
    if (std::optional<Value> path = sf.Get("path")) {
      ASSIGN_OR_RETURN(c.storage.path, String(*path));
      if (c.storage.path.empty()) return Error(*path, "must not be empty");
    }
    RETURN_IF_ERROR(SetDuration(sf, "retention", Zero::kAllowed, &c.storage.retention));
    RETURN_IF_ERROR(SetBool(sf, "self_scrape", &c.storage.self_scrape));
  }
  if (std::optional<Value> d = f.Get("slashing_db")) {
    SlashingDbConfig db;
    RETURN_IF_ERROR(ParseSlashingDb(*d, &db));
    c.slashing_db = std::move(db);
  }
  if (std::optional<Value> w = f.Get("web3signer")) {
    Web3SignerConfig ws;
    RETURN_IF_ERROR(ParseWeb3Signer(*w, &ws));
    if (ws.auto_discover) {
      const bool exists =
          std::any_of(c.validators.groups.begin(), c.validators.groups.end(),
                      [&](const ValidatorGroup& g) { return g.name == ws.discover_group; });
      if (!exists) {
        ValidatorGroup g;
        g.name = ws.discover_group;
        g.labels = ws.discover_labels;
        c.validators.groups.push_back(std::move(g));
      }
    }
    c.web3signer = std::move(ws);
  }
  if (std::optional<Value> vc = f.Get("validator_clients")) {
    RETURN_IF_ERROR(ParseValidatorClients(*vc, &c.validator_clients));
  }
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public value syntaxes.

std::string_view RelabelActionName(RelabelAction action) {
  switch (action) {
    case RelabelAction::kReplace:
      return "replace";
    case RelabelAction::kKeep:
      return "keep";
    case RelabelAction::kDrop:
      return "drop";
    case RelabelAction::kLabelMap:
      return "labelmap";
    case RelabelAction::kLabelDrop:
      return "labeldrop";
    case RelabelAction::kLabelKeep:
      return "labelkeep";
    case RelabelAction::kHashMod:
      return "hashmod";
    case RelabelAction::kLowercase:
      return "lowercase";
    case RelabelAction::kUppercase:
      return "uppercase";
    case RelabelAction::kKeepEqual:
      return "keepequal";
    case RelabelAction::kDropEqual:
      return "dropequal";
  }
  return "replace";
}

std::string AnchoredRegex(const RelabelConfig& relabel) { return Cat("^(?:", relabel.regex, ")$"); }

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || IsDigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

namespace {

struct DurationUnit {
  std::string_view name;
  int64_t ms;
};
constexpr int64_t kDayMs = int64_t{24} * 60 * 60 * 1000;
constexpr DurationUnit kDurationUnits[] = {
    {"y", 365 * kDayMs}, {"w", 7 * kDayMs}, {"d", kDayMs}, {"h", 60 * 60 * 1000},
    {"m", 60 * 1000},    {"s", 1000},       {"ms", 1},
};

}  // namespace

absl::StatusOr<absl::Duration> ParsePrometheusDuration(std::string_view text) {
  auto error = [&](std::string_view why) {
    return absl::InvalidArgumentError(Cat("invalid duration ", Quote(text), ": ", why));
  };
  if (text.empty()) return error("empty");
  if (text == "0") return absl::ZeroDuration();
  // Everything must fit in int64 nanoseconds (absl::Duration holds more; Prometheus does not).
  constexpr int64_t kMaxMs = std::numeric_limits<int64_t>::max() / 1000000;
  int64_t total_ms = 0;
  size_t next_unit = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    while (pos < text.size() && IsDigit(text[pos])) ++pos;
    if (pos == start) return error("expected a number followed by a unit (e.g. 1h30m)");
    uint64_t n = 0;
    if (!ParseDecimal(text.substr(start, pos - start), &n)) return error("number too large");
    size_t unit_start = pos;
    while (pos < text.size() && absl::ascii_isalpha(static_cast<unsigned char>(text[pos]))) ++pos;
    std::string_view unit = text.substr(unit_start, pos - unit_start);
    if (unit.empty()) return error("missing unit (one of y, w, d, h, m, s, ms)");
    size_t u = 0;
    while (u < std::size(kDurationUnits) && kDurationUnits[u].name != unit) ++u;
    if (u == std::size(kDurationUnits)) {
      return error(Cat("unknown unit ", Quote(unit), " (want y, w, d, h, m, s or ms)"));
    }
    if (u < next_unit) return error("units must go from largest to smallest, each at most once");
    next_unit = u + 1;
    const int64_t unit_ms = kDurationUnits[u].ms;
    if (n > static_cast<uint64_t>(kMaxMs / unit_ms) ||
        total_ms > kMaxMs - static_cast<int64_t>(n) * unit_ms) {
      return error("out of range");
    }
    total_ms += static_cast<int64_t>(n) * unit_ms;
  }
  return absl::Milliseconds(total_ms);
}

std::string FormatPrometheusDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) return Cat("-", FormatPrometheusDuration(-d));
  int64_t ms = absl::ToInt64Milliseconds(d);
  if (ms == 0) return "0s";
  std::string out;
  for (size_t u = 0; u < std::size(kDurationUnits); ++u) {
    const DurationUnit& unit = kDurationUnits[u];
    // Years and weeks only when exact: "90d" reads better than "12w6d".
    if (u < 2 && ms % unit.ms != 0) continue;
    if (int64_t n = ms / unit.ms; n > 0) {
      out += Cat(n, unit.name);
      ms -= n * unit.ms;
    }
  }
  return out;
}

absl::StatusOr<uint64_t> ParseByteSize(std::string_view text) {
  auto error = [&](std::string_view why) {
    return absl::InvalidArgumentError(Cat("invalid size ", Quote(text), ": ", why));
  };
  size_t digits = 0;
  while (digits < text.size() && IsDigit(text[digits])) ++digits;
  uint64_t n = 0;
  if (digits == 0) return error("expected a number, optionally followed by a unit (e.g. 64MiB)");
  if (!ParseDecimal(text.substr(0, digits), &n)) return error("number too large");
  std::string_view unit = text.substr(digits);
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
      {"TiB", uint64_t{1} << 40},
      {"kB", 1000},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"TB", uint64_t{1000} * 1000 * 1000 * 1000},
  };
  for (const auto& [name, multiplier] : kUnits) {
    if (unit == name) {
      if (n > std::numeric_limits<uint64_t>::max() / multiplier) return error("out of range");
      return n * multiplier;
    }
  }
  return error(
      Cat("unknown unit ", Quote(unit), " (want B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)"));
}

absl::StatusOr<ValidatorSpec> ParseValidatorSpec(std::string_view spec) {
  IndexRanges ranges;
  ValidatorSpec out;
  RETURN_IF_ERROR(ParseSpecInto(spec, &ranges, &out.pubkeys));
  ASSIGN_OR_RETURN(out.indices, ranges.Expand(kMaxValidatorIndices));
  DedupPubkeys(&out.pubkeys);
  return out;
}

namespace {

// Records where documents start and ignores everything else.
class DocumentCounter final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view yaml_text, std::string_view filename) {
  Parser parser(filename);
  try {
    const std::string text(yaml_text);
    // Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever, allocating, on a document that starts
    // with a token the parser cannot place, such as ',' (jbeder/yaml-cpp#1040, fixed upstream by
    // #1319). Count at most two documents with a streaming pass instead; a "document" that did
    // not move the parser forward is that bug, and means malformed input.
    std::istringstream stream(text);
    YAML::Parser counter_parser(stream);
    DocumentCounter counter;
    while (counter.starts.size() < 2 && counter_parser.HandleNextDocument(counter)) {
    }
    if (counter.starts.empty()) return Config{};
    if (counter.starts.size() > 1) {
      const YAML::Mark& first = counter.starts[0];
      const YAML::Mark& second = counter.starts[1];
      if (second.pos == first.pos) {
        std::string near = first.pos >= 0 && static_cast<size_t>(first.pos) < text.size()
                               ? Cat(" near ", Quote(text.substr(first.pos, 1)))
                               : "";
        return parser.ErrorAt(first, Cat("malformed YAML: unexpected token", near));
      }
      return parser.ErrorAt(second, "only one YAML document is allowed");
    }
    return parser.Parse(YAML::Load(text));
  } catch (const YAML::ParserException& e) {
    return parser.ErrorAt(e.mark, Cat("malformed YAML: ", e.msg));
  } catch (const YAML::Exception& e) {
    return parser.ErrorAt(e.mark, Cat("YAML error: ", e.msg));
  } catch (const std::exception& e) {
    return absl::InternalError(Cat(filename, ": ", e.what()));
  }
}

absl::StatusOr<Config> LoadConfigFile(std::string_view path) {
  ASSIGN_OR_RETURN(std::string text, ReadConfigFile(path));
  return ParseConfig(text, path);
}

namespace {

// A canonical text of a node: independent of flow/block style, quoting, comments and key order.
void CanonicalText(const YAML::Node& n, std::string* out) {
  if (n.IsMap()) {
    std::map<std::string, YAML::Node> sorted;
    for (const auto& kv : n) sorted.emplace(kv.first.as<std::string>(""), kv.second);
    out->append("{");
    for (const auto& [key, value] : sorted) {
      absl::StrAppend(out, key.size(), ":", key, "=");
      CanonicalText(value, out);
      out->append(",");
    }
    out->append("}");
  } else if (n.IsSequence()) {
    out->append("[");
    for (const auto& item : n) {
      CanonicalText(item, out);
      out->append(",");
    }
    out->append("]");
  } else if (n.IsScalar()) {
    absl::StrAppend(out, "s", n.Scalar().size(), ":", n.Scalar());
  } else {
    out->append("~");
  }
}

}  // namespace

std::vector<std::string> ChangedSections(std::string_view old_yaml, std::string_view new_yaml) {
  std::vector<std::string> changed;
  YAML::Node a, b;
  try {
    a = YAML::Load(std::string(old_yaml));
    b = YAML::Load(std::string(new_yaml));
  } catch (const YAML::Exception&) {
    return {"*"};
  }
  std::set<std::string> keys;
  for (const YAML::Node* n : {&a, &b}) {
    if (!n->IsMap()) continue;
    for (const auto& kv : *n) keys.insert(kv.first.as<std::string>(""));
  }
  for (const std::string& k : keys) {
    auto text = [&](const YAML::Node& n) -> std::string {
      std::string out;
      if (n.IsMap() && n[k]) CanonicalText(n[k], &out);
      return out;
    };
    if (text(a) != text(b)) changed.push_back(k);
  }
  return changed;
}

absl::StatusOr<std::string> ReadConfigFile(std::string_view path) {
  std::string p(path);
  std::FILE* file = std::fopen(p.c_str(), "rb");
  if (file == nullptr) {
    int err = errno;
    std::string msg = Cat("cannot open config file ", p, ": ", std::strerror(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::FailedPreconditionError(msg);
  }
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxConfigFileBytes) {
      std::fclose(file);
      return absl::InvalidArgumentError(
          Cat("config file ", p, " is larger than ", kMaxConfigFileBytes, " bytes"));
    }
  }
  bool failed = std::ferror(file) != 0;
  int err = errno;
  std::fclose(file);
  if (failed) {
    return absl::FailedPreconditionError(
        Cat("cannot read config file ", p, ": ", std::strerror(err)));
  }
  return text;
}

}  // namespace stakewatch::config
