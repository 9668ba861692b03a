#include "promqltest/series_notation.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"

namespace stakewatch::promqltest {
namespace {

// Character classes of Prometheus's lexer (promql/parser/lex.go).
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }
char Lower(char c) { return absl::ascii_tolower(static_cast<unsigned char>(c)); }

// Go's %q of a single byte, close enough for messages: 'x' or '\x01'.
std::string QuoteChar(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f && c != '\'' && c != '\\')
    return absl::StrCat("'", std::string(1, c), "'");
  return absl::StrFormat("'\\x%02x'", u);
}

absl::Status ParseError(size_t pos, std::string_view msg) {
  return absl::InvalidArgumentError(absl::StrFormat("1:%d: parse error: %s", pos + 1, msg));
}

// The words the lexer turns into keywords (lex.go `key`, 2.42). Those in kMetricKeywords may
// still name a metric (grammar rule metric_identifier); the others may not.
constexpr std::string_view kMetricKeywords[] = {
    "and",      "or",     "unless", "sum",     "avg",   "count",   "min",
    "max",      "group",  "stddev", "stdvar",  "topk",  "bottomk", "count_values",
    "quantile", "offset", "by",     "without", "start", "end"};
constexpr std::string_view kOtherKeywords[] = {"on",          "ignoring", "group_left",
                                               "group_right", "bool",     "atan2"};

template <size_t N>
bool In(const std::string_view (&set)[N], std::string_view w) {
  for (std::string_view s : set) {
    if (s == w) return true;
  }
  return false;
}

// Go's underscoreOK (strconv/atoi.go): underscores only between digits or after a base prefix.
bool UnderscoreOk(std::string_view s) {
  char saw = '^';
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (Lower(s[1]) == 'b' || Lower(s[1]) == 'o' || Lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = Lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (IsDigit(c) || (hex && Lower(c) >= 'a' && Lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// strconv.ParseInt(s, 0, 64).
std::optional<int64_t> GoParseInt(std::string_view s0) {
  std::string_view s = s0;
  if (s.empty()) return std::nullopt;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    s.remove_prefix(1);
    if (s.empty()) return std::nullopt;
  }
  int base = 10;
  if (s[0] == '0') {
    if (s.size() >= 3 && Lower(s[1]) == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && Lower(s[1]) == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (s.size() >= 3 && Lower(s[1]) == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
  }
  bool underscores = false;
  uint64_t n = 0;
  for (char c : s) {
    int d;
    if (c == '_') {
      underscores = true;
      continue;
    } else if (IsDigit(c)) {
      d = c - '0';
    } else if (Lower(c) >= 'a' && Lower(c) <= 'z') {
      d = Lower(c) - 'a' + 10;
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    if (n > (std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(d)) /
                static_cast<uint64_t>(base)) {
      return std::nullopt;  // out of range
    }
    n = n * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
  }
  if (underscores && !UnderscoreOk(s0)) return std::nullopt;
  constexpr uint64_t kCutoff = uint64_t{1} << 63;
  if (!neg && n >= kCutoff) return std::nullopt;
  if (neg && n > kCutoff) return std::nullopt;
  if (neg) return n == kCutoff ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(n);
  return static_cast<int64_t>(n);
}

size_t CommonPrefixLenIgnoreCase(std::string_view s, std::string_view prefix) {
  size_t n = 0;
  while (n < s.size() && n < prefix.size() && Lower(s[n]) == prefix[n]) ++n;
  return n;
}

// strconv.ParseFloat(s, 64): the syntax is checked here as Go does, then strtod (which agrees
// with Go on the value of every string Go accepts) computes the nearest double.
std::optional<double> GoParseFloat(std::string_view s, bool* out_of_range = nullptr) {
  if (s.empty()) return std::nullopt;
  // special(): [+-]inf, [+-]infinity, nan (no sign), any case, and nothing after.
  {
    std::string_view t = s;
    double sign = 1;
    bool signed_ = false;
    if (t[0] == '+' || t[0] == '-') {
      sign = t[0] == '-' ? -1 : 1;
      signed_ = true;
      t.remove_prefix(1);
    }
    size_t n = CommonPrefixLenIgnoreCase(t, "infinity");
    if ((n == 3 || n == 8) && n == t.size()) return sign * std::numeric_limits<double>::infinity();
    if (!signed_ && t.size() == 3 && CommonPrefixLenIgnoreCase(t, "nan") == 3) {
      return std::numeric_limits<double>::quiet_NaN();
    }
  }
  size_t i = 0;
  if (s[i] == '+' || s[i] == '-') ++i;
  bool hex = false;
  if (i + 2 < s.size() && s[i] == '0' && Lower(s[i + 1]) == 'x') {
    hex = true;
    i += 2;
  }
  bool underscores = false, saw_dot = false, saw_digits = false;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      underscores = true;
    } else if (c == '.') {
      if (saw_dot) break;
      saw_dot = true;
    } else if (IsDigit(c) || (hex && Lower(c) >= 'a' && Lower(c) <= 'f')) {
      saw_digits = true;
    } else {
      break;
    }
  }
  if (!saw_digits) return std::nullopt;
  const char exp_char = hex ? 'p' : 'e';
  if (i < s.size() && Lower(s[i]) == exp_char) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !IsDigit(s[i])) return std::nullopt;
    for (; i < s.size() && (IsDigit(s[i]) || s[i] == '_'); ++i) {
      if (s[i] == '_') underscores = true;
    }
  } else if (hex) {
    return std::nullopt;  // "hexadecimal mantissa requires a 'p' exponent"
  }
  if (i != s.size()) return std::nullopt;
  if (underscores && !UnderscoreOk(s)) return std::nullopt;
  std::string clean;
  clean.reserve(s.size());
  for (char c : s) {
    if (c != '_') clean.push_back(c);
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  if (std::isinf(v)) {  // ErrRange: Go returns an error for overflow
    if (out_of_range != nullptr) *out_of_range = true;
    return std::nullopt;
  }
  return v;
}

// strconv's error text, which Prometheus shows after "error parsing number: ".
std::string NumberError(std::string_view s) {
  bool range = false;
  (void)GoParseFloat(s, &range);
  return absl::StrFormat("error parsing number: strconv.ParseFloat: parsing \"%s\": %s",
                         std::string(s), range ? "value out of range" : "invalid syntax");
}

// Parses the expanding notation. Positions are byte offsets into `in_`.
class DescParser {
 public:
  explicit DescParser(std::string_view in) : in_(in) {}

  absl::Status ParseMetric(tsdb::Labels* out) {
    SkipSpaces();
    if (pos_ >= in_.size()) return ParseError(pos_, "unexpected end of input, expected metric");
    std::string name;
    std::vector<std::pair<std::string, std::string>> pairs;
    bool has_name = false;
    const char c = in_[pos_];
    if (IsAlpha(c) || c == ':') {
      const size_t start = pos_;
      while (pos_ < in_.size() && (IsAlnum(in_[pos_]) || in_[pos_] == ':')) ++pos_;
      name = std::string(in_.substr(start, pos_ - start));
      const std::string lower = absl::AsciiStrToLower(name);
      if (lower == "inf" || lower == "nan") {
        return ParseError(start,
                          absl::StrFormat("unexpected number \"%s\", expected metric", name));
      }
      if (In(kOtherKeywords, lower)) {
        return ParseError(start, absl::StrFormat("unexpected <%s>, expected metric", name));
      }
      has_name = true;
      if (pos_ < in_.size() && in_[pos_] == '{') {
        if (absl::Status s = ParseLabelSet(&pairs); !s.ok()) return s;
      }
    } else if (c == '{') {
      if (absl::Status s = ParseLabelSet(&pairs); !s.ok()) return s;
    } else {
      return ParseError(pos_, absl::StrCat("unexpected character ", QuoteChar(c),
                                           ", expected metric name or \"{\""));
    }
    tsdb::LabelsBuilder b(tsdb::Labels::FromPairs(pairs));
    if (has_name) b.Set(tsdb::kMetricName, name);
    *out = b.Build();
    return absl::OkStatus();
  }

  absl::Status ParseValues(std::vector<SequenceValue>* out) {
    if (absl::Status s = Tokenize(); !s.ok()) return s;
    size_t i = 0;
    auto at = [&](size_t k) -> const Token& { return tokens_[std::min(k, tokens_.size() - 1)]; };
    while (true) {
      const Token& sep = at(i);
      if (sep.type == kEof) return absl::OkStatus();
      if (sep.type != kSpace) {
        return ParseError(sep.pos, absl::StrCat("unexpected ", Describe(sep),
                                                " in series values, expected space"));
      }
      ++i;
      if (at(i).type == kEof || at(i).type == kSpace) continue;
      // One item.
      const Token& first = at(i);
      if (first.type == kBlank) {
        ++i;
        uint64_t n = 1;
        if (at(i).type == kTimes) {
          ++i;
          if (absl::Status s = ToUint(at(i), &n); !s.ok()) return s;
          ++i;
        }
        if (absl::Status s = Reserve(out, n, first.pos); !s.ok()) return s;
        out->insert(out->end(), n, SequenceValue{0, true});
        continue;
      }
      double v = 0;
      if (first.type == kNumber) {
        if (absl::Status s = ToNumber(first, &v); !s.ok()) return s;
        ++i;
      } else if ((first.type == kAdd || first.type == kSub) && at(i + 1).type == kNumber) {
        if (absl::Status s = ToNumber(at(i + 1), &v); !s.ok()) return s;
        if (first.type == kSub) v = -v;
        i += 2;
      } else if (first.type == kIdent && first.text == "stale") {
        v = tsdb::StaleNaN();
        ++i;
      } else {
        return ParseError(first.pos, absl::StrCat("unexpected ", Describe(first),
                                                  " in series values, expected number or "
                                                  "\"stale\""));
      }
      if (at(i).type == kTimes) {
        ++i;
        uint64_t n = 0;
        if (absl::Status s = ToUint(at(i), &n); !s.ok()) return s;
        ++i;
        if (absl::Status s = Reserve(out, n, first.pos, 1); !s.ok()) return s;
        out->insert(out->end(), n + 1, SequenceValue{v, false});
      } else if ((at(i).type == kAdd || at(i).type == kSub) && at(i + 1).type == kNumber) {
        double delta = 0;
        if (absl::Status s = ToNumber(at(i + 1), &delta); !s.ok()) return s;
        if (at(i).type == kSub) delta = -delta;
        i += 2;
        if (at(i).type != kTimes) {
          return ParseError(at(i).pos, absl::StrCat("unexpected ", Describe(at(i)),
                                                    " in series values, expected \"x\""));
        }
        ++i;
        uint64_t n = 0;
        if (absl::Status s = ToUint(at(i), &n); !s.ok()) return s;
        ++i;
        if (absl::Status s = Reserve(out, n, first.pos, 1); !s.ok()) return s;
        // Go adds the increment step by step (`$1 += $2`); so do we, for identical rounding.
        for (uint64_t k = 0; k <= n; ++k) {
          out->push_back(SequenceValue{v, false});
          v += delta;
        }
      } else {
        out->push_back(SequenceValue{v, false});
        if (out->size() > kMaxSeriesValues) return TooMany(first.pos);
      }
    }
  }

  // After ParseMetric: true when only blanks remain.
  bool OnlySpacesLeft() {
    SkipSpaces();
    return pos_ >= in_.size();
  }
  size_t pos() const { return pos_; }

 private:
  enum TokenType { kSpace, kAdd, kSub, kTimes, kBlank, kNumber, kIdent, kKeyword, kOther, kEof };
  struct Token {
    TokenType type;
    size_t pos;
    std::string_view text;
  };

  void SkipSpaces() {
    while (pos_ < in_.size() && IsSpace(in_[pos_])) ++pos_;
  }

  static std::string Describe(const Token& t) {
    switch (t.type) {
      case kEof:
        return "end of input";
      case kSpace:
        return "<space>";
      case kNumber:
        return absl::StrFormat("number \"%s\"", std::string(t.text));
      case kIdent:
        return absl::StrFormat("identifier \"%s\"", std::string(t.text));
      case kKeyword:
        return absl::StrFormat("<%s>", std::string(t.text));
      default:
        return absl::StrFormat("\"%s\"", std::string(t.text));
    }
  }

  // lexValueSequence: the token stream after the metric.
  absl::Status Tokenize() {
    while (pos_ < in_.size()) {
      const size_t start = pos_;
      const char c = in_[pos_];
      if (IsSpace(c)) {
        SkipSpaces();
        tokens_.push_back({kSpace, start, in_.substr(start, pos_ - start)});
      } else if (c == '+' || c == '-' || c == 'x' || c == '_') {
        ++pos_;
        TokenType t = c == '+' ? kAdd : c == '-' ? kSub : c == 'x' ? kTimes : kBlank;
        tokens_.push_back({t, start, in_.substr(start, 1)});
      } else if (IsDigit(c) || (c == '.' && pos_ + 1 < in_.size() && IsDigit(in_[pos_ + 1]))) {
        // scanNumber with hexadecimal disabled (ambiguous with the `x` repetition).
        auto run = [&] {
          while (pos_ < in_.size() && IsDigit(in_[pos_])) ++pos_;
        };
        run();
        if (pos_ < in_.size() && in_[pos_] == '.') {
          ++pos_;
          run();
        }
        if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
          ++pos_;
          if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-')) ++pos_;
          run();
        }
        if (pos_ < in_.size() && in_[pos_] != 'x' && IsAlnum(in_[pos_])) {
          return ParseError(start, absl::StrFormat("bad number syntax: \"%s\"",
                                                   std::string(in_.substr(start, pos_ - start))));
        }
        tokens_.push_back({kNumber, start, in_.substr(start, pos_ - start)});
      } else if (IsAlpha(c)) {
        while (pos_ < in_.size() && (IsAlnum(in_[pos_]) || in_[pos_] == ':')) ++pos_;
        std::string_view word = in_.substr(start, pos_ - start);
        std::string lower = absl::AsciiStrToLower(std::string(word));
        TokenType t = kIdent;
        if (lower == "inf" || lower == "nan") {
          t = kNumber;
        } else if (In(kMetricKeywords, lower) || In(kOtherKeywords, lower)) {
          t = kKeyword;
        } else if (word.find(':') != std::string_view::npos) {
          t = kOther;
        }
        tokens_.push_back({t, start, word});
      } else {
        return ParseError(start,
                          absl::StrCat("unexpected character in series sequence: ", QuoteChar(c)));
      }
    }
    tokens_.push_back({kEof, pos_, {}});
    return absl::OkStatus();
  }

  // The grammar's `number`: ParseInt(s, 0, 64), then ParseFloat.
  static absl::Status ToNumber(const Token& t, double* v) {
    if (std::optional<int64_t> n = GoParseInt(t.text)) {
      *v = static_cast<double>(*n);
      return absl::OkStatus();
    }
    if (std::optional<double> f = GoParseFloat(t.text)) {
      *v = *f;
      return absl::OkStatus();
    }
    return ParseError(t.pos, NumberError(t.text));
  }

  // The grammar's `uint`: strconv.ParseUint(s, 10, 64).
  static absl::Status ToUint(const Token& t, uint64_t* n) {
    if (t.type != kNumber) {
      // The grammar's generic `error` alternative: no "expected" part, and a space token is
      // described by its text (as promtool 2.42 prints it).
      return ParseError(t.pos, absl::StrCat("unexpected ", t.type == kSpace ? "\" \"" : Describe(t),
                                            " in series values"));
    }
    const char* b = t.text.data();
    auto [p, ec] = std::from_chars(b, b + t.text.size(), *n, 10);
    if (ec != std::errc() || p != b + t.text.size()) {
      return ParseError(
          t.pos,
          absl::StrFormat(
              "invalid repetition in series values: strconv.ParseUint: parsing \"%s\": %s",
              std::string(t.text),
              ec == std::errc::result_out_of_range ? "value out of range" : "invalid syntax"));
    }
    return absl::OkStatus();
  }

  static absl::Status TooMany(size_t pos) {
    return ParseError(pos,
                      absl::StrCat("series expands to more than ", kMaxSeriesValues, " values"));
  }
  static absl::Status Reserve(const std::vector<SequenceValue>* out, uint64_t n, size_t pos,
                              uint64_t extra = 0) {
    if (n > kMaxSeriesValues || out->size() + n + extra > kMaxSeriesValues) return TooMany(pos);
    return absl::OkStatus();
  }

  // '{' [name '=' string {',' name '=' string}] [','] '}'
  absl::Status ParseLabelSet(std::vector<std::pair<std::string, std::string>>* pairs) {
    ++pos_;                  // '{'
    bool need_item = false;  // after a comma another item or '}' may follow
    while (true) {
      SkipSpaces();
      if (pos_ >= in_.size()) return ParseError(pos_, "unexpected end of input inside braces");
      const char c = in_[pos_];
      if (c == '}') {
        ++pos_;
        return absl::OkStatus();
      }
      if (!pairs->empty() && !need_item) {
        return ParseError(pos_, absl::StrCat("unexpected character ", QuoteChar(c),
                                             " in label set, expected \",\" or \"}\""));
      }
      if (!IsAlpha(c)) {
        return ParseError(pos_, absl::StrCat("unexpected character ", QuoteChar(c),
                                             " in label set, expected identifier or \"}\""));
      }
      const size_t start = pos_;
      while (pos_ < in_.size() && IsAlnum(in_[pos_])) ++pos_;
      std::string name(in_.substr(start, pos_ - start));
      SkipSpaces();
      if (pos_ >= in_.size() || in_[pos_] != '=' ||
          (pos_ + 1 < in_.size() && in_[pos_ + 1] == '~')) {
        return UnexpectedInBraces("\"=\"");
      }
      ++pos_;
      SkipSpaces();
      std::string value;
      if (absl::Status s = ParseString(&value); !s.ok()) return s;
      pairs->emplace_back(std::move(name), std::move(value));
      SkipSpaces();
      need_item = false;
      if (pos_ < in_.size() && in_[pos_] == ',') {
        ++pos_;
        need_item = true;
      }
    }
  }

  // The parse error for the token at pos_ inside a label set, worded as Prometheus's parser
  // (yacc's "unexpected <item> in label set, expected <what>") or lexer (lexInsideBraces) words
  // it: `unexpected identifier "b" in label set, expected string`, `unexpected "}" ...`,
  // `unexpected <op:=~> ...`, `unexpected character inside braces: '5'`.
  absl::Status UnexpectedInBraces(std::string_view expected) const {
    if (pos_ >= in_.size()) return ParseError(pos_, "unexpected end of input inside braces");
    const char c = in_[pos_];
    const std::string_view rest = in_.substr(pos_);
    std::string item;
    if (IsAlpha(c)) {
      size_t end = pos_;
      while (end < in_.size() && IsAlnum(in_[end])) ++end;
      item = absl::StrFormat("identifier \"%s\"", std::string(in_.substr(pos_, end - pos_)));
    } else if (absl::StartsWith(ToAbsl(rest), "=~") || absl::StartsWith(ToAbsl(rest), "!~") ||
               absl::StartsWith(ToAbsl(rest), "!=")) {
      item = absl::StrCat("<op:", ToAbsl(rest.substr(0, 2)), ">");
    } else if (c == '=') {
      item = "<op:=>";
    } else if (c == '}' || c == ',' || c == '{') {
      item = absl::StrCat("\"", std::string(1, c), "\"");
    } else {
      return ParseError(pos_, absl::StrCat("unexpected character inside braces: ", QuoteChar(c)));
    }
    return ParseError(
        pos_, absl::StrCat("unexpected ", item, " in label set, expected ", ToAbsl(expected)));
  }

  // A PromQL string literal: "..." or '...' with Go escapes, or `...` raw.
  absl::Status ParseString(std::string* out) {
    if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'' && in_[pos_] != '`')) {
      return UnexpectedInBraces("string");
    }
    const char quote = in_[pos_];
    const size_t start = pos_++;
    if (quote == '`') {
      while (pos_ < in_.size() && in_[pos_] != '`') {
        if (in_[pos_] != '\r') out->push_back(in_[pos_]);  // strconv.Unquote drops \r
        ++pos_;
      }
      if (pos_ >= in_.size()) return ParseError(start, "unterminated raw string");
      ++pos_;
      return CheckUtf8(*out, start);
    }
    while (true) {
      if (pos_ >= in_.size() || in_[pos_] == '\n') {
        return ParseError(start, "unterminated quoted string");
      }
      const char c = in_[pos_++];
      if (c == quote) break;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= in_.size()) return ParseError(pos_, "escape sequence not terminated");
      const char e = in_[pos_++];
      switch (e) {
        case 'a':
          out->push_back('\a');
          continue;
        case 'b':
          out->push_back('\b');
          continue;
        case 'f':
          out->push_back('\f');
          continue;
        case 'n':
          out->push_back('\n');
          continue;
        case 'r':
          out->push_back('\r');
          continue;
        case 't':
          out->push_back('\t');
          continue;
        case 'v':
          out->push_back('\v');
          continue;
        case '\\':
          out->push_back('\\');
          continue;
        default:
          break;
      }
      if (e == quote) {
        out->push_back(e);
        continue;
      }
      int n = 0, base = 0;
      uint32_t max = 0;
      if (e >= '0' && e <= '7') {
        n = 3, base = 8, max = 255;
        --pos_;  // the first digit is part of the value
      } else if (e == 'x') {
        n = 2, base = 16, max = 255;
      } else if (e == 'u') {
        n = 4, base = 16, max = 0x10FFFF;
      } else if (e == 'U') {
        n = 8, base = 16, max = 0x10FFFF;
      } else {
        return ParseError(pos_ - 1, absl::StrCat("unknown escape sequence ", QuoteChar(e)));
      }
      uint32_t x = 0;
      for (int k = 0; k < n; ++k) {
        if (pos_ >= in_.size()) return ParseError(pos_, "escape sequence not terminated");
        const char d = in_[pos_++];
        int dv = IsDigit(d)                             ? d - '0'
                 : (Lower(d) >= 'a' && Lower(d) <= 'f') ? Lower(d) - 'a' + 10
                                                        : 16;
        if (dv >= base) {
          return ParseError(
              pos_ - 1, absl::StrCat("illegal character ", QuoteChar(d), " in escape sequence"));
        }
        x = x * static_cast<uint32_t>(base) + static_cast<uint32_t>(dv);
      }
      if (x > max || (x >= 0xD800 && x < 0xE000)) {
        return ParseError(pos_, "escape sequence is an invalid Unicode code point");
      }
      if (e == 'u' || e == 'U') {
        AppendUtf8(x, out);
      } else {
        out->push_back(static_cast<char>(x));  // \x and octal give raw bytes, as in Go
      }
    }
    return CheckUtf8(std::string_view(in_.data() + start, pos_ - start), start);
  }

  static void AppendUtf8(uint32_t r, std::string* out) {
    if (r < 0x80) {
      out->push_back(static_cast<char>(r));
    } else if (r < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (r >> 6)));
      out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else if (r < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (r >> 12)));
      out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (r >> 18)));
      out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
    }
  }

  // The lexer rejects invalid UTF-8 inside string literals ("invalid UTF-8 rune").
  static absl::Status CheckUtf8(std::string_view s, size_t pos) {
    size_t i = 0;
    while (i < s.size()) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      size_t len = c < 0x80           ? 1
                   : (c >> 5) == 0x6  ? 2
                   : (c >> 4) == 0xE  ? 3
                   : (c >> 3) == 0x1E ? 4
                                      : 0;
      if (len == 0 || i + len > s.size()) return ParseError(pos, "invalid UTF-8 rune");
      for (size_t k = 1; k < len; ++k) {
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
          return ParseError(pos, "invalid UTF-8 rune");
        }
      }
      i += len;
    }
    return absl::OkStatus();
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::vector<Token> tokens_;
};

}  // namespace

absl::StatusOr<SeriesDescription> ParseSeriesDescription(std::string_view line) {
  DescParser p(line);
  SeriesDescription d;
  if (absl::Status s = p.ParseMetric(&d.labels); !s.ok()) return s;
  if (absl::Status s = p.ParseValues(&d.values); !s.ok()) return s;
  return d;
}

absl::StatusOr<SeriesDescription> ParseInputSeries(std::string_view series,
                                                   std::string_view values) {
  std::string line(series);
  line += ' ';
  line += values;
  return ParseSeriesDescription(line);
}

absl::StatusOr<tsdb::Labels> ParseMetric(std::string_view text) {
  DescParser p(text);
  tsdb::Labels labels;
  if (absl::Status s = p.ParseMetric(&labels); !s.ok()) return s;
  if (!p.OnlySpacesLeft()) return ParseError(p.pos(), "unexpected input after metric");
  return labels;
}

std::vector<tsdb::Sample> ExpandToSamples(const SeriesDescription& desc, int64_t step_ms,
                                          int64_t start_ms) {
  std::vector<tsdb::Sample> out;
  out.reserve(desc.values.size());
  int64_t t = start_ms;
  for (const SequenceValue& v : desc.values) {
    if (!v.omitted) out.push_back(tsdb::Sample{t, v.value});
    t += step_ms;
  }
  return out;
}

absl::StatusOr<double> ParseGoNumber(std::string_view s) {
  if (std::optional<int64_t> n = GoParseInt(s)) return static_cast<double>(*n);
  if (std::optional<double> f = GoParseFloat(s)) return *f;
  return absl::InvalidArgumentError(NumberError(s));
}

absl::StatusOr<int64_t> ParseGoDuration(std::string_view s) {
  if (s == "0") return 0;
  if (s.empty()) return absl::InvalidArgumentError("empty duration string");
  auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrFormat("not a valid duration string: \"%s\"", std::string(s)));
  };
  struct Unit {
    std::string_view name;
    int64_t ms;
  };
  static constexpr Unit kUnits[] = {{"y", 365LL * 24 * 3600 * 1000},
                                    {"w", 7LL * 24 * 3600 * 1000},
                                    {"d", 24LL * 3600 * 1000},
                                    {"h", 3600LL * 1000},
                                    {"m", 60LL * 1000},
                                    {"s", 1000},
                                    {"ms", 1}};
  constexpr int64_t kMaxNanos = std::numeric_limits<int64_t>::max();
  size_t i = 0;
  int next_unit = 0;  // units must appear in this order, each at most once
  int64_t total_ns = 0;
  bool overflow = false;
  while (i < s.size()) {
    const size_t digits_start = i;
    while (i < s.size() && IsDigit(s[i])) ++i;
    if (i == digits_start) return invalid();
    std::string_view digits = s.substr(digits_start, i - digits_start);
    int u = -1;
    if (s.substr(i, 2) == "ms") {
      u = 6;
      i += 2;
    } else if (i < s.size()) {
      for (int k = 0; k < 6; ++k) {
        if (s[i] == kUnits[k].name[0]) u = k;
      }
      ++i;
    }
    if (u < next_unit) return invalid();
    next_unit = u + 1;
    uint64_t n = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    (void)p;
    const int64_t ns_per_unit = kUnits[u].ms * 1000000;
    if (ec != std::errc() || n > static_cast<uint64_t>(kMaxNanos / ns_per_unit)) {
      overflow = true;
      continue;
    }
    const int64_t add = static_cast<int64_t>(n) * ns_per_unit;
    if (total_ns > kMaxNanos - add) {
      overflow = true;
    } else {
      total_ns += add;
    }
  }
  if (overflow) return absl::InvalidArgumentError("duration out of range");
  return total_ns / 1000000;
}

std::string FormatGoFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(res.ptr - buf));  // e.g. -1.2345e+05
  bool neg = false;
  if (sci[0] == '-') {
    neg = true;
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits.push_back(c);
  }
  int exp = 0;
  std::string_view exp_text = sci.substr(e + 1);
  if (!exp_text.empty() && exp_text[0] == '+') exp_text.remove_prefix(1);
  std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp);
  std::string out = neg ? "-" : "";
  const int nd = static_cast<int>(digits.size());
  if (exp < -4 || exp >= 6) {
    out += digits[0];
    if (nd > 1) absl::StrAppend(&out, ".", digits.substr(1));
    absl::StrAppend(&out, "e", exp < 0 ? "-" : "+", absl::StrFormat("%02d", exp < 0 ? -exp : exp));
    return out;
  }
  const int dp = exp + 1;  // digits before the decimal point
  if (dp <= 0) {
    absl::StrAppend(&out, "0.", std::string(static_cast<size_t>(-dp), '0'), digits);
  } else if (dp >= nd) {
    absl::StrAppend(&out, digits, std::string(static_cast<size_t>(dp - nd), '0'));
  } else {
    absl::StrAppend(&out, digits.substr(0, static_cast<size_t>(dp)), ".",
                    digits.substr(static_cast<size_t>(dp)));
  }
  return out;
}

std::string FormatGoFixed(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%f", v);
}

}  // namespace stakewatch::promqltest
