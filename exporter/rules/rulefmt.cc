#include "rules/rulefmt.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "config/config.h"

namespace stakewatch::rules {
namespace {

using absl::StrCat;

// Go's %q for a string: double-quoted, with escapes for quotes, backslashes, control characters
// and invalid UTF-8 bytes. Valid multi-byte UTF-8 is kept as is (Go also escapes non-printable
// code points above 0x7f; rule names practically never contain them).
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
      bool valid = len > 0 && c < 0xf5 && i + len <= s.size();
      for (size_t k = 1; valid && k < len; ++k) {
        valid = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
      }
      if (valid) {
        out.append(s.substr(i, len));
        i += len;
      } else {
        absl::StrAppendFormat(&out, "\\x%02x", c);
        ++i;
      }
      continue;
    }
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
          absl::StrAppendFormat(&out, "\\x%02x", c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += "\"";
  return out;
}

bool IsLabelNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// model.LabelName.IsValid: ^[a-zA-Z_][a-zA-Z0-9_]*$
bool IsValidLabelName(std::string_view s) {
  if (s.empty() || !IsLabelNameStart(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsLabelNameStart(c) || IsDigit(c); });
}

// model.IsValidMetricName: ^[a-zA-Z_:][a-zA-Z0-9_:]*$
bool IsValidMetricName(std::string_view s) {
  if (s.empty() || !(IsLabelNameStart(s[0]) || s[0] == ':')) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsLabelNameStart(c) || IsDigit(c) || c == ':'; });
}

// The first problem yaml.v3's reader finds in `s`: invalid UTF-8, or a character YAML does not
// allow (C0/C1 controls other than tab, LF, CR and NEL; DEL; U+FFFE/U+FFFF; a BOM other than at
// the start), worded as yaml.v3 words it. nullopt if there is none.
std::optional<std::string> CheckCharacters(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    uint32_t cp = c;
    size_t len = 1;
    if (c >= 0x80) {
      len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
      if (len == 0) return "yaml: invalid leading UTF-8 octet";
      if (i + len > s.size()) return "yaml: incomplete UTF-8 octet sequence";
      cp = c & (0x7f >> len);
      for (size_t k = 1; k < len; ++k) {
        const unsigned char t = static_cast<unsigned char>(s[i + k]);
        if ((t & 0xc0) != 0x80) return "yaml: invalid trailing UTF-8 octet";
        cp = (cp << 6) | (t & 0x3f);
      }
      const bool overlong =
          (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000);
      if (overlong) return "yaml: invalid length of a UTF-8 sequence";
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        return "yaml: invalid Unicode character";
      }
    }
    const bool printable = cp == 0x09 || cp == 0x0a || cp == 0x0d || (cp >= 0x20 && cp <= 0x7e) ||
                           cp == 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) ||
                           (cp >= 0xe000 && cp <= 0xfffd && (cp != 0xfeff || i == 0)) ||
                           cp >= 0x10000;
    if (!printable) return "yaml: control characters are not allowed";
    i += len;
  }
  return std::nullopt;
}

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

// yaml-cpp 0.7 loads a document made of a token it cannot place (such as ",") as null, and
// then reports a second "document" at the same position (jbeder/yaml-cpp#1040). Returns the
// position of such a token, if the first document is one. May throw YAML::Exception.
std::optional<YAML::Mark> StuckDocument(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentCounter counter;
  if (!parser.HandleNextDocument(counter)) return std::nullopt;
  try {
    parser.HandleNextDocument(counter);
  } catch (const YAML::Exception&) {
    return std::nullopt;  // a later document is never read, so its errors do not matter
  }
  if (counter.starts.size() == 2 && counter.starts[0].pos == counter.starts[1].pos) {
    return counter.starts[0];
  }
  return std::nullopt;
}

// Go's strconv.ParseInt(s, 0, 64) after yaml.v3 removed underscores.
std::optional<int64_t> ParseGoInt(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  bool negative = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  int base = 10;
  if (s.size() - i >= 2 && s[i] == '0') {
    const char p = s[i + 1];
    if (p == 'x' || p == 'X')
      base = 16, i += 2;
    else if (p == 'o' || p == 'O')
      base = 8, i += 2;
    else if (p == 'b' || p == 'B')
      base = 2, i += 2;
    else
      base = 8, i += 1;
  }
  if (i >= s.size()) return std::nullopt;
  uint64_t magnitude = 0;
  const char* begin = s.data() + i;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, magnitude, base);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

// yaml.v3's float syntax: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$, plus .inf/.nan.
bool IsYamlFloat(std::string_view s) {
  static const std::set<std::string_view> kSpecial = {".inf",  ".Inf",  ".INF",  "+.inf",
                                                      "+.Inf", "+.INF", "-.inf", "-.Inf",
                                                      "-.INF", ".nan",  ".NaN",  ".NAN"};
  if (kSpecial.count(s) > 0) return true;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && IsDigit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac_digits;
    if (int_digits == 0 && frac_digits == 0) return false;
  } else if (int_digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && IsDigit(s[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

// The YAML tag yaml.v3 would resolve for `n`, in short form ("!!str", "!!int", "!!map", ...).
std::string ShortTag(const YAML::Node& n) {
  const std::string& tag = n.Tag();
  constexpr std::string_view kPrefix = "tag:yaml.org,2002:";
  if (tag.rfind(kPrefix, 0) == 0) return StrCat("!!", tag.substr(kPrefix.size()));
  if (!tag.empty() && tag != "?" && tag != "!") return tag;
  switch (n.Type()) {
    case YAML::NodeType::Sequence:
      return "!!seq";
    case YAML::NodeType::Map:
      return "!!map";
    case YAML::NodeType::Scalar:
      break;
    default:
      return "!!null";
  }
  if (tag == "!") return "!!str";  // quoted scalar
  const std::string& v = n.Scalar();
  if (v == "true" || v == "True" || v == "TRUE" || v == "false" || v == "False" || v == "FALSE") {
    return "!!bool";
  }
  if (!v.empty() && (IsDigit(v[0]) || v[0] == '+' || v[0] == '-' || v[0] == '.')) {
    if (ParseGoInt(v).has_value()) return "!!int";
    std::string plain = v;
    plain.erase(std::remove(plain.begin(), plain.end(), '_'), plain.end());
    if (IsYamlFloat(plain)) return "!!float";
  }
  return "!!str";
}

Position PositionOf(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}
int LineOf(const YAML::Node& n) { return n.Mark().is_null() ? 0 : n.Mark().line + 1; }

// yaml.v3's message for a node that cannot be decoded into Go type `go_type`; long scalar
// values are cut to 7 bytes.
std::string TypeErrorText(const YAML::Node& n, std::string_view go_type) {
  const std::string tag = ShortTag(n);
  std::string value;
  if (tag != "!!seq" && tag != "!!map") {
    const std::string v = n.IsScalar() ? n.Scalar() : std::string();
    value = v.size() > 10 ? StrCat(" `", v.substr(0, 7), "...`") : StrCat(" `", v, "`");
  }
  return absl::StrFormat("line %d: cannot unmarshal %s%s into %s", LineOf(n), tag, value, go_type);
}

// Most duplicate-key errors reported for one mapping (yaml.v3 reports every pair, which is
// quadratic in the number of copies).
constexpr size_t kMaxDuplicateKeyErrors = 100;

// yaml.v3's duplicate-key errors for mapping `n`: one per pair (i < j) of equal scalar keys,
// ordered by i then j.
std::vector<std::string> DuplicateKeyErrors(const YAML::Node& n) {
  std::vector<YAML::Node> keys;
  std::unordered_map<std::string, std::vector<size_t>> by_name;
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    by_name[it->first.Scalar()].push_back(keys.size());
    keys.push_back(it->first);
  }
  std::vector<std::string> errors;
  for (size_t i = 0; i < keys.size() && errors.size() < kMaxDuplicateKeyErrors; ++i) {
    for (size_t j : by_name[keys[i].Scalar()]) {
      if (j <= i) continue;
      if (errors.size() == kMaxDuplicateKeyErrors) break;
      errors.push_back(absl::StrFormat("line %d: mapping key %s already defined at line %d",
                                       LineOf(keys[j]), GoQuote(keys[j].Scalar()),
                                       LineOf(keys[i])));
    }
  }
  return errors;
}

// yaml-cpp accepts a block-mapping entry without a key (a line starting with ": "), which
// yaml.v3 rejects as a syntax error. Returns yaml.v3's message for the first one (its parser
// errors give a 0-based line, and none on the first line), or the aliasing error if walking the
// tree takes more than `budget` nodes.
std::optional<std::string> FindKeylessEntry(const YAML::Node& root, std::string_view text,
                                            size_t budget) {
  std::vector<YAML::Node> stack = {root};
  while (!stack.empty()) {
    const YAML::Node n = stack.back();
    stack.pop_back();
    if (budget-- == 0) return "yaml: document contains excessive aliasing";
    if (n.IsSequence()) {
      for (const YAML::Node& item : n) stack.push_back(item);
    } else if (n.IsMap()) {
      for (auto it = n.begin(); it != n.end(); ++it) {
        const YAML::Mark m = it->first.Mark();
        if (it->first.IsNull() && !m.is_null() && static_cast<size_t>(m.pos) < text.size() &&
            text[m.pos] == ':') {
          if (n.Style() == YAML::EmitterStyle::Flow) {
            return "yaml: did not find expected node content";
          }
          return m.line == 0 ? "yaml: did not find expected key"
                             : absl::StrFormat("yaml: line %d: did not find expected key", m.line);
        }
        stack.push_back(it->first);
        stack.push_back(it->second);
      }
    }
  }
  return std::nullopt;
}

// Error for a failed decode that yaml.v3 treats as fatal (not a TypeError).
struct FatalError {
  std::string message;
};

// Decodes the document into RuleFile like yaml.v3's Decoder with KnownFields(true) decoding
// into Prometheus 2.42's rulefmt.RuleGroups: type errors are collected ("line N: ..."), a
// duration error throws FatalError (caught in ParseRules; never leaves this file).
class Decoder {
 public:
  // `text` is the document's source, which must outlive the decoder.
  Decoder(std::string_view text, size_t node_budget) : text_(text), budget_(node_budget) {}

  const std::vector<std::string>& type_errors() const { return type_errors_; }

  RuleFile DecodeFile(const YAML::Node& root) {
    RuleFile file;
    if (!Visit(root) || IsNullish(root)) return file;
    if (!root.IsMap()) {
      TypeError(root, "rulefmt.RuleGroups");
      return file;
    }
    ForEachField(root, "rulefmt.RuleGroups", {"groups"},
                 [&](std::string_view, const YAML::Node&, const YAML::Node& v) {
                   DecodeGroups(v, &file.groups);
                 });
    return file;
  }

 private:
  static bool IsNullish(const YAML::Node& n) { return !n.IsDefined() || n.IsNull(); }

  bool Visit(const YAML::Node&) {
    if (budget_ == 0) throw FatalError{"yaml: document contains excessive aliasing"};
    --budget_;
    return true;
  }

  // A mapping is checked for duplicate keys before its kind is compared with the target type.
  void TypeError(const YAML::Node& n, std::string_view go_type) {
    if (n.IsMap() && !CheckDuplicateKeys(n)) return;
    type_errors_.push_back(TypeErrorText(n, go_type));
  }

  // yaml.v3 checks each mapping for duplicate keys before decoding it: every pair (i < j) of
  // equal keys is reported, and a mapping with duplicates is not decoded at all. Returns true
  // if `n` has none.
  bool CheckDuplicateKeys(const YAML::Node& n) {
    std::vector<std::string> errors = DuplicateKeyErrors(n);
    type_errors_.insert(type_errors_.end(), errors.begin(), errors.end());
    return errors.empty();
  }

  // Calls `field(name, key, value)` for each known key of mapping `n` in document order, and
  // reports non-string keys and unknown keys (named after the Go type `go_type`).
  template <typename F>
  void ForEachField(const YAML::Node& n, std::string_view go_type,
                    std::initializer_list<std::string_view> known, F field) {
    if (!CheckDuplicateKeys(n)) return;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar() && !key.IsNull()) {
        TypeError(key, "string");
        continue;
      }
      const std::string name = key.IsScalar() ? key.Scalar() : std::string();
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        type_errors_.push_back(
            absl::StrFormat("line %d: field %s not found in type %s", LineOf(key), name, go_type));
        continue;
      }
      field(name, key, value);
    }
  }

  std::string DecodeString(const YAML::Node& n) {
    Visit(n);
    if (IsNullish(n)) return "";
    if (!n.IsScalar()) {
      TypeError(n, "string");
      return "";
    }
    return n.Scalar();
  }

  int64_t DecodeInt(const YAML::Node& n) {
    Visit(n);
    if (IsNullish(n)) return 0;
    const std::string tag = ShortTag(n);
    if (tag == "!!int") {
      // Absent only for an explicit "!!int" tag on a non-integer, which yaml.v3 rejects too.
      if (std::optional<int64_t> v = ParseGoInt(n.Scalar())) return *v;
    }
    if (tag == "!!float") {
      // yaml.v3 accepts any float <= MaxInt64 (as a float: 2^63) and converts it like Go on
      // amd64: truncated toward zero, and INT64_MIN for anything out of int64's range (-.inf,
      // 2^63). NaN and larger values are errors.
      std::string plain = n.Scalar();
      plain.erase(std::remove(plain.begin(), plain.end(), '_'), plain.end());
      double d = std::numeric_limits<double>::quiet_NaN();
      if (plain == "-.inf" || plain == "-.Inf" || plain == "-.INF") {
        d = -std::numeric_limits<double>::infinity();
      } else if (plain.find_first_of("nN") == std::string::npos &&
                 plain.find_first_of("iI") == std::string::npos) {
        char* end = nullptr;
        d = std::strtod(plain.c_str(), &end);
        if (end != plain.c_str() + plain.size()) d = std::numeric_limits<double>::quiet_NaN();
      }
      constexpr double kTwo63 = 9223372036854775808.0;
      if (d <= kTwo63) {  // false for NaN
        if (d >= kTwo63 || d < -kTwo63) return std::numeric_limits<int64_t>::min();
        return static_cast<int64_t>(d);
      }
    }
    TypeError(n, "int");
    return 0;
  }

  // model.Duration.UnmarshalYAML: a string, then model.ParseDuration, whose errors are fatal.
  absl::Duration DecodeDuration(const YAML::Node& n) {
    Visit(n);
    if (IsNullish(n)) return absl::ZeroDuration();
    if (!n.IsScalar()) {
      TypeError(n, "string");
      return absl::ZeroDuration();
    }
    const std::string& text = n.Scalar();
    if (text.empty()) throw FatalError{"empty duration string"};
    absl::StatusOr<absl::Duration> d = config::ParsePrometheusDuration(text);
    if (d.ok()) return *d;
    // ParsePrometheusDuration accepts exactly the syntax of common/model.ParseDuration; only
    // map its reasons onto model's three messages.
    std::string_view why = ToStd(d.status().message());
    if (why.find("out of range") != std::string_view::npos ||
        why.find("too large") != std::string_view::npos) {
      throw FatalError{"duration out of range"};
    }
    throw FatalError{StrCat("not a valid duration string: ", GoQuote(text))};
  }

  std::map<std::string, std::string> DecodeStringMap(const YAML::Node& n) {
    std::map<std::string, std::string> out;
    Visit(n);
    if (IsNullish(n)) return out;
    if (!n.IsMap()) {
      TypeError(n, "map[string]string");
      return out;
    }
    if (!CheckDuplicateKeys(n)) return out;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string name = DecodeString(it->first);
      out[name] = DecodeString(it->second);
    }
    return out;
  }

  // A yaml.Node field (record, alert, expr): any node; its text if scalar, and its position.
  void DecodeNodeField(const YAML::Node& key, const YAML::Node& n, std::string* text,
                       Position* pos) {
    Visit(n);
    *text = n.IsScalar() ? n.Scalar() : std::string();
    *pos = PositionOf(n.Mark());
    // yaml.v3 keeps the text of an explicit null ("~", "null"): `expr: null` is the PromQL
    // expression "null". yaml-cpp drops it, so read it back from the source.
    if (n.IsNull() && !n.Mark().is_null() && !key.Mark().is_null() &&
        n.Mark().line == key.Mark().line && static_cast<size_t>(n.Mark().pos) < text_.size()) {
      std::string_view rest = text_.substr(n.Mark().pos);
      rest = rest.substr(0, rest.find_first_of(" \t\r\n,]}#"));
      if (rest == "~" || rest == "null" || rest == "Null" || rest == "NULL") *text = rest;
    }
    // An empty value ("record:" then a newline): yaml-cpp marks the next token, yaml.v3 the
    // column just after the colon.
    if (n.IsNull() && !key.Mark().is_null() &&
        (n.Mark().is_null() || n.Mark().line != key.Mark().line)) {
      *pos = PositionOf(key.Mark());
      pos->column += static_cast<int>(key.Scalar().size()) + 1;
    }
  }

  void DecodeGroups(const YAML::Node& n, std::vector<RuleGroup>* groups) {
    Visit(n);
    if (IsNullish(n)) return;
    if (!n.IsSequence()) {
      TypeError(n, "[]rulefmt.RuleGroup");
      return;
    }
    for (const YAML::Node& item : n) {
      // yaml.v3 drops sequence items it cannot decode into a struct, nulls included.
      Visit(item);
      if (IsNullish(item)) continue;
      if (!item.IsMap()) {
        TypeError(item, "rulefmt.RuleGroup");
        continue;
      }
      RuleGroup& g = groups->emplace_back();
      g.pos = PositionOf(item.Mark());
      ForEachField(item, "rulefmt.RuleGroup", {"name", "interval", "limit", "rules"},
                   [&](std::string_view k, const YAML::Node&, const YAML::Node& v) {
                     if (k == "name") g.name = DecodeString(v);
                     if (k == "interval") g.interval = DecodeDuration(v);
                     if (k == "limit") g.limit = DecodeInt(v);
                     if (k == "rules") DecodeRules(v, &g.rules);
                   });
    }
  }

  void DecodeRules(const YAML::Node& n, std::vector<Rule>* rules) {
    Visit(n);
    rules->clear();
    if (IsNullish(n)) return;
    if (!n.IsSequence()) {
      TypeError(n, "[]rulefmt.RuleNode");
      return;
    }
    for (const YAML::Node& item : n) {
      Visit(item);
      if (IsNullish(item)) continue;  // dropped, as above
      if (!item.IsMap()) {
        TypeError(item, "rulefmt.RuleNode");
        continue;
      }
      Rule& r = rules->emplace_back();
      ForEachField(item, "rulefmt.RuleNode",
                   {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"},
                   [&](std::string_view k, const YAML::Node& key, const YAML::Node& v) {
                     if (k == "record") DecodeNodeField(key, v, &r.record, &r.record_pos);
                     if (k == "alert") DecodeNodeField(key, v, &r.alert, &r.alert_pos);
                     if (k == "expr") DecodeNodeField(key, v, &r.expr, &r.expr_pos);
                     if (k == "for") r.for_duration = DecodeDuration(v);
                     if (k == "keep_firing_for") r.keep_firing_for = DecodeDuration(v);
                     if (k == "labels") r.labels = DecodeStringMap(v);
                     if (k == "annotations") r.annotations = DecodeStringMap(v);
                   });
    }
  }

  std::string_view text_;
  size_t budget_;
  std::vector<std::string> type_errors_;
};

// Prometheus decodes the text a second time into `struct{ Groups []yaml.Node }` to learn the
// groups' positions; that pass fails only on the document's top-level shape.
std::vector<std::string> NodePassErrors(const YAML::Node& root) {
  std::vector<std::string> errors;
  auto type_error = [&](const YAML::Node& n, std::string_view go_type) {
    std::vector<std::string> dups = n.IsMap() ? DuplicateKeyErrors(n) : std::vector<std::string>();
    if (dups.empty()) dups.push_back(TypeErrorText(n, go_type));
    errors.insert(errors.end(), dups.begin(), dups.end());
  };
  if (!root.IsDefined() || root.IsNull()) return errors;
  if (!root.IsMap()) {
    type_error(root, "rulefmt.ruleGroups");
    return errors;
  }
  errors = DuplicateKeyErrors(root);
  if (!errors.empty()) return errors;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const YAML::Node v = it->second;
    if (it->first.IsScalar() && it->first.Scalar() == "groups" && v.IsDefined() && !v.IsNull() &&
        !v.IsSequence()) {
      type_error(v, "[]yaml.Node");
    }
  }
  return errors;
}

std::string UnmarshalError(const std::vector<std::string>& lines) {
  return StrCat("yaml: unmarshal errors:\n  ", absl::StrJoin(lines, "\n  "));
}

std::string Pos(Position p) { return absl::StrFormat("%d:%d: ", p.line, p.column); }

// Rule.Validate and RuleGroups.Validate of Prometheus 2.42, in the same order.
std::vector<std::string> Validate(const RuleFile& file, const ValidationOptions& options) {
  std::vector<std::string> errors;
  std::set<std::string> names;
  for (const RuleGroup& g : file.groups) {
    if (g.name.empty()) errors.push_back(StrCat(Pos(g.pos), "Groupname must not be empty"));
    if (!names.insert(g.name).second) {
      errors.push_back(
          StrCat(Pos(g.pos), "groupname: \"", g.name, "\" is repeated in the same file"));
    }
    for (size_t i = 0; i < g.rules.size(); ++i) {
      const Rule& r = g.rules[i];
      const std::string where =
          absl::StrFormat("group %s, rule %d, %s: ", GoQuote(g.name), i + 1, GoQuote(r.Name()));
      auto at = [&](Position p, std::string_view msg) {
        errors.push_back(StrCat(Pos(p), where, ToAbsl(msg)));
      };
      auto nowhere = [&](std::string_view msg) { errors.push_back(StrCat(where, ToAbsl(msg))); };

      if (!r.record.empty() && !r.alert.empty()) {
        errors.push_back(StrCat(Pos(r.record_pos), Pos(r.alert_pos), where,
                                "only one of 'record' and 'alert' must be set"));
      }
      if (r.record.empty() && r.alert.empty()) {
        at(r.record_pos, "one of 'record' or 'alert' must be set");
      }
      if (r.expr.empty()) {
        at(r.expr_pos, "field 'expr' must be set in rule");
      } else if (options.validate_expr) {
        absl::Status st;
        try {
          st = options.validate_expr(r.expr);
        } catch (const std::exception& e) {
          st = absl::InternalError(StrCat("expression validator threw: ", e.what()));
        }
        if (!st.ok()) at(r.expr_pos, StrCat("could not parse expression: ", st.message()));
      }
      if (!r.record.empty()) {
        if (!r.annotations.empty())
          at(r.record_pos, "invalid field 'annotations' in recording rule");
        if (r.for_duration != absl::ZeroDuration()) {
          at(r.record_pos, "invalid field 'for' in recording rule");
        }
        if (r.keep_firing_for != absl::ZeroDuration()) {
          at(r.record_pos, "invalid field 'keep_firing_for' in recording rule");
        }
        if (!IsValidMetricName(r.record)) {
          at(r.record_pos, StrCat("invalid recording rule name: ", r.record));
        }
      }
      for (const auto& [name, value] : r.labels) {
        if (!IsValidLabelName(name) || name == "__name__") {
          nowhere(StrCat("invalid label name: ", name));
        }
      }
      for (const auto& [name, value] : r.annotations) {
        if (!IsValidLabelName(name)) nowhere(StrCat("invalid annotation name: ", name));
      }
      if (!r.alert.empty() && options.validate_template) {
        const std::string template_name = StrCat("__alert_", r.alert);
        auto check = [&](std::string_view kind, const std::string& key, const std::string& text) {
          absl::Status st;
          try {
            st = options.validate_template(template_name, text);
          } catch (const std::exception& e) {
            st = absl::InternalError(StrCat("template validator threw: ", e.what()));
          }
          if (!st.ok()) nowhere(StrCat(ToAbsl(kind), " ", GoQuote(key), ": ", st.message()));
        };
        for (const auto& [k, v] : r.labels) check("label", k, v);
        for (const auto& [k, v] : r.annotations) check("annotation", k, v);
      }
    }
  }
  return errors;
}

std::string LowerFirst(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

// Reads a whole file like Go's os.ReadFile, with Go-style error text.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    const int err = errno;
    std::string msg = StrCat("open ", path, ": ", LowerFirst(std::strerror(err)));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::FailedPreconditionError(msg);
  }
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) {
    text.append(buf, n);
    if (text.size() > kMaxRuleFileBytes) {
      std::fclose(f);
      return absl::InvalidArgumentError(
          StrCat("read ", path, ": file is larger than ", kMaxRuleFileBytes, " bytes"));
    }
  }
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    return absl::FailedPreconditionError(
        StrCat("read ", path, ": ", LowerFirst(std::strerror(err))));
  }
  return text;
}

}  // namespace

size_t RuleFile::RuleCount() const {
  size_t n = 0;
  for (const RuleGroup& g : groups) n += g.rules.size();
  return n;
}

ParseResult ParseRules(std::string_view yaml_text, const ValidationOptions& options) {
  ParseResult result;
  if (std::optional<std::string> bad = CheckCharacters(yaml_text)) {
    // Both of Prometheus's decoding passes report it.
    result.errors = {*bad, *bad};
    return result;
  }
  YAML::Node root;
  try {
    // Not LoadAll: in yaml-cpp 0.7 it can loop forever on malformed input. Load reads only the
    // first document, as Prometheus's decoder does.
    const std::string text(yaml_text);
    if (std::optional<YAML::Mark> stuck = StuckDocument(text)) {
      (void)stuck;  // yaml.v3 gives no line for this one
      const std::string msg = "yaml: did not find expected node content";
      result.errors = {msg, msg};
      return result;
    }
    root = YAML::Load(text);
    if (std::optional<std::string> msg = FindKeylessEntry(root, text, 2 * text.size() + 1000)) {
      result.errors = {*msg};
      if (msg->rfind("yaml: document", 0) != 0) result.errors.push_back(*msg);
      return result;
    }
  } catch (const YAML::Exception& e) {
    std::string msg = e.mark.is_null()
                          ? StrCat("yaml: ", e.msg)
                          : absl::StrFormat("yaml: line %d: %s", e.mark.line + 1, e.msg);
    if (e.msg == YAML::ErrorMsg::UNKNOWN_ANCHOR && !e.mark.is_null() &&
        static_cast<size_t>(e.mark.pos) < yaml_text.size() && yaml_text[e.mark.pos] == '*') {
      // yaml.v3's wording, which names the alias.
      std::string_view name = yaml_text.substr(e.mark.pos + 1);
      name = name.substr(0, name.find_first_of(" \t\r\n,[]{}"));
      msg = StrCat("yaml: unknown anchor '", ToAbsl(name), "' referenced");
    }
    result.errors = {msg, msg};
    return result;
  } catch (const std::exception& e) {
    result.errors = {StrCat("yaml: ", e.what())};
    return result;
  }

  try {
    // Without aliases a document has fewer nodes than bytes; the budget stops alias bombs.
    Decoder decoder(yaml_text, 2 * yaml_text.size() + 1000);
    result.file = decoder.DecodeFile(root);
    if (!decoder.type_errors().empty()) {
      result.errors.push_back(UnmarshalError(decoder.type_errors()));
    }
  } catch (const FatalError& e) {
    result.errors.push_back(e.message);
  } catch (const std::exception& e) {  // yaml-cpp, bad_alloc: cannot happen on a loaded tree
    result.errors.push_back(StrCat("yaml: ", e.what()));
  }
  std::vector<std::string> node_errors;
  try {
    node_errors = NodePassErrors(root);
  } catch (const std::exception& e) {
    node_errors = {e.what()};
  }
  if (!node_errors.empty()) result.errors.push_back(UnmarshalError(node_errors));
  if (!result.errors.empty()) {
    result.file = RuleFile();
    return result;
  }
  result.errors = Validate(result.file, options);
  return result;
}

ParseResult ParseRuleFile(std::string_view path, const ValidationOptions& options) {
  absl::StatusOr<std::string> text = ReadFile(std::string(path));
  if (!text.ok()) {
    ParseResult result;
    result.errors.push_back(std::string(text.status().message()));
    return result;
  }
  return ParseRules(*text, options);
}

absl::StatusOr<RuleFile> LoadRuleFile(std::string_view path, const ValidationOptions& options) {
  const std::string p(path);
  absl::StatusOr<std::string> text = ReadFile(p);
  if (!text.ok()) {
    return absl::Status(text.status().code(), StrCat(p, ": ", text.status().message()));
  }
  ParseResult result = ParseRules(*text, options);
  if (result.errors.empty()) return std::move(result.file);
  std::vector<std::string> lines;
  for (const std::string& e : result.errors) lines.push_back(StrCat(p, ": ", e));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

std::vector<DuplicateRule> FindDuplicateRules(const RuleFile& file) {
  std::vector<DuplicateRule> all;
  for (const RuleGroup& g : file.groups) {
    for (const Rule& r : g.rules) {
      all.push_back({r.Name(), {r.labels.begin(), r.labels.end()}});
    }
  }
  auto key = [](const DuplicateRule& d) { return std::tie(d.metric, d.labels); };
  std::sort(all.begin(), all.end(),
            [&](const DuplicateRule& a, const DuplicateRule& b) { return key(a) < key(b); });
  std::vector<DuplicateRule> duplicates;
  for (size_t i = 1; i < all.size(); ++i) {
    if (key(all[i - 1]) != key(all[i])) continue;
    if (duplicates.empty() || key(duplicates.back()) != key(all[i])) duplicates.push_back(all[i]);
  }
  return duplicates;
}

std::string CheckReport::Stdout() const {
  std::string out;
  for (const OutputChunk& c : chunks) {
    if (!c.to_stderr) out += c.text;
  }
  return out;
}

std::string CheckReport::Stderr() const {
  std::string out;
  for (const OutputChunk& c : chunks) {
    if (c.to_stderr) out += c.text;
  }
  return out;
}

CheckReport CheckRuleFiles(const std::vector<std::string>& paths, const CheckOptions& options) {
  CheckReport report;
  bool failed = false;
  bool has_errors = false;
  for (const std::string& path : paths) {
    report.chunks.push_back({false, StrCat("Checking ", path, "\n")});
    ParseResult parsed = ParseRuleFile(path, options.validation);
    std::vector<std::string> errors;
    for (const std::string& e : parsed.errors) errors.push_back(StrCat(path, ": ", e));
    bool lint_only = false;
    if (errors.empty() && options.lint_duplicate_rules) {
      std::vector<DuplicateRule> dups = FindDuplicateRules(parsed.file);
      if (!dups.empty()) {
        std::string msg = StrCat("lint error ", dups.size(), " duplicate rule(s) found.\n");
        for (const DuplicateRule& d : dups) {
          absl::StrAppend(&msg, "Metric: ", d.metric, "\nLabel(s):\n");
          for (const auto& [name, value] : d.labels)
            absl::StrAppend(&msg, "\t", name, ": ", value, "\n");
        }
        msg += "Might cause inconsistency while recording expressions";
        errors.push_back(std::move(msg));
        lint_only = true;
      }
    }
    if (errors.empty()) {
      report.chunks.push_back(
          {false, StrCat("  SUCCESS: ", parsed.file.RuleCount(), " rules found\n")});
    } else {
      std::string text = "  FAILED:\n";
      for (const std::string& e : errors) absl::StrAppend(&text, e, "\n");
      report.chunks.push_back({true, std::move(text)});
      failed = true;
      has_errors = has_errors || !lint_only;
    }
    report.chunks.push_back({false, "\n"});
  }
  if (failed && has_errors) {
    report.exit_code = 1;
  } else if (failed && options.lint_fatal) {
    report.exit_code = 3;
  }
  return report;
}

}  // namespace stakewatch::rules
