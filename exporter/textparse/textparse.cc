// Ports of Prometheus 2.42's model/textparse lexers (golex DFAs of promlex.l and
// openmetricslex.l) and parsers (promparse.go, openmetricsparse.go). The lexers mirror the
// generated state machines: every `c = l.next()` of the Go code is a NextChar() here, every
// "default: goto yyabort" an Invalid (text 0.0.4: a comment when in the comment state), and state
// changes happen only where a rule's action changes l.state, because l.next() skips NUL bytes
// depending on the state it is called in.
#include "textparse/textparse.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstring>
#include <limits>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace stakewatch::textparse {

enum class Parser::Tok : int8_t {
  kInvalid = -1,
  kEOF = 0,
  kLinebreak,
  kWhitespace,
  kHelp,
  kType,
  kUnit,
  kEOFWord,
  kText,
  kComment,
  kMName,
  kBraceOpen,
  kBraceClose,
  kLName,
  kLValue,
  kComma,
  kEqual,
  kTimestamp,
  kValue,
};

namespace {

// Character classes of the lexers, one bit each.
enum : uint8_t {
  kM = 1,             // [a-zA-Z_:]  first byte of a metric name
  kMD = 2,            // [a-zA-Z_:0-9]
  kL = 4,             // [a-zA-Z_]   first byte of a label name
  kLD = 8,            // [a-zA-Z_0-9]
  kTextValue = 16,    // text 0.0.4 value bytes: [^{ \t\n\0]
  kOmValue = 32,      // OpenMetrics value/timestamp bytes: [^ \n\0]
  kPlainQuoted = 64,  // inside quotes, needs no attention: [^"\\\n\0]
};

constexpr std::array<uint8_t, 256> MakeClasses() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t v = 0;
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (alpha || c == ':') v |= kM | kMD;
    if (digit) v |= kMD;
    if (alpha) v |= kL | kLD;
    if (digit) v |= kLD;
    if (c != '{' && c != ' ' && c != '\t' && c != '\n' && c != 0) v |= kTextValue;
    if (c != ' ' && c != '\n' && c != 0) v |= kOmValue;
    if (c != '"' && c != '\\' && c != '\n' && c != 0) v |= kPlainQuoted;
    t[c] = v;
  }
  return t;
}
constexpr std::array<uint8_t, 256> kClass = MakeClasses();

inline bool Is(unsigned char c, uint8_t cls) { return (kClass[c] & cls) != 0; }
inline bool IsBlank(unsigned char c) { return c == ' ' || c == '\t'; }

// Go's strconv.Quote, enough for error messages: printable ASCII and valid UTF-8 stay, the
// rest is escaped.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\v':
        out += "\\v";
        continue;
      default:
        break;
    }
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
      continue;
    }
    if (c >= 0x80) {
      // Keep a valid multi-byte sequence as is.
      int len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
      if (len > 0 && i + len <= s.size()) {
        bool ok = true;
        for (int k = 1; k < len; ++k) ok &= (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
        if (ok) {
          out.append(s.substr(i, len));
          i += len - 1;
          continue;
        }
      }
    }
    absl::StrAppendFormat(&out, "\\x%02x", c);
  }
  out += '"';
  return out;
}

// Go's utf8.Valid.
bool Utf8Valid(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ull) break;
      i += 8;
    }
    if (i >= n) break;
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    auto cont = [&](size_t k, unsigned char lo, unsigned char hi) {
      return i + k < n && p[i + k] >= lo && p[i + k] <= hi;
    };
    if (c >= 0xc2 && c <= 0xdf) {
      if (!cont(1, 0x80, 0xbf)) return false;
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      const unsigned char lo = c == 0xe0 ? 0xa0 : 0x80;
      const unsigned char hi = c == 0xed ? 0x9f : 0xbf;
      if (!cont(1, lo, hi) || !cont(2, 0x80, 0xbf)) return false;
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      const unsigned char lo = c == 0xf0 ? 0x90 : 0x80;
      const unsigned char hi = c == 0xf4 ? 0x8f : 0xbf;
      if (!cont(1, lo, hi) || !cont(2, 0x80, 0xbf) || !cont(3, 0x80, 0xbf)) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

// Debian's abseil has its own string_view; our signatures use std::string_view.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool EqualFoldAscii(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

constexpr uint64_t kNormalNaN = 0x7ff8000000000001ull;  // Prometheus value.NormalNaN

// Prometheus 2.42 textparse.parseFloat: strconv.ParseFloat(s, 64) after refusing 'p', 'P' and
// '_' anywhere. Returns false with Go's error text.
bool ParseGoFloat(std::string_view s, double* out, std::string* err) {
  if (s.find_first_of("pP_") != std::string_view::npos) {
    *err = "unsupported character in float";
    return false;
  }
  auto syntax = [&] {
    *err = absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(s), ": invalid syntax");
    return false;
  };
  if (s.empty()) return syntax();
  // special(): [+-]?(inf|infinity) and nan, case-insensitive; the whole string must match.
  size_t i = 0;
  bool neg = false;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  const std::string_view rest = s.substr(i);
  if (EqualFoldAscii(rest, "inf") || EqualFoldAscii(rest, "infinity")) {
    *out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    return true;
  }
  if (i == 0 && EqualFoldAscii(rest, "nan")) {
    *out = std::bit_cast<double>(kNormalNaN);  // Go's math.NaN() has these bits too
    return true;
  }
  // Decimal: digits with at most one '.', at least one digit, then [eE][+-]?digits. Hex floats
  // need a 'p' exponent, refused above, so "0x..." is always a syntax error.
  size_t j = i;
  size_t int_digits = 0, frac_digits = 0;
  size_t first_nonzero_int = std::string_view::npos;  // index into the integer digits
  size_t leading_frac_zeros = 0;
  bool frac_nonzero = false;
  while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
    if (s[j] != '0' && first_nonzero_int == std::string_view::npos) first_nonzero_int = int_digits;
    ++int_digits;
    ++j;
  }
  if (j < s.size() && s[j] == '.') {
    ++j;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
      if (s[j] != '0') frac_nonzero = true;
      if (!frac_nonzero) ++leading_frac_zeros;
      ++frac_digits;
      ++j;
    }
  }
  if (int_digits + frac_digits == 0) return syntax();
  int64_t exp = 0;
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    ++j;
    bool eneg = false;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) {
      eneg = s[j] == '-';
      ++j;
    }
    if (j >= s.size() || s[j] < '0' || s[j] > '9') return syntax();
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
      if (exp < 100000000) exp = exp * 10 + (s[j] - '0');
      ++j;
    }
    if (eneg) exp = -exp;
  }
  if (j != s.size()) return syntax();
  double v = 0;
  const char* b = s.data() + i;
  const std::from_chars_result r = std::from_chars(b, s.data() + s.size(), v);
  if (r.ec == std::errc::result_out_of_range) {
    // Overflow is an error in Go; underflow rounds to zero without one. The decimal magnitude
    // tells them apart: the value is out of range, so it is either huge or tiny.
    int64_t magnitude;
    if (first_nonzero_int != std::string_view::npos) {
      magnitude = exp + static_cast<int64_t>(int_digits - first_nonzero_int);
    } else {
      magnitude = exp - static_cast<int64_t>(leading_frac_zeros);
    }
    if (magnitude > 0) {
      *err = absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(s), ": value out of range");
      return false;
    }
    v = 0;
  } else if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    return syntax();
  }
  *out = neg ? -v : v;
  return true;
}

// strconv.ParseInt(s, 10, 64) for the text format's timestamp token, which is [0-9]+.
bool ParseGoInt64(std::string_view s, int64_t* out, std::string* err) {
  uint64_t v = 0;
  for (char ch : s) {
    const uint64_t d = static_cast<uint64_t>(ch - '0');
    if (v > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - d) / 10) {
      *err = absl::StrCat("strconv.ParseInt: parsing ", GoQuote(s), ": value out of range");
      return false;
    }
    v = v * 10 + d;
  }
  *out = static_cast<int64_t>(v);
  return true;
}

// Go's int64(f) on amd64 (CVTTSD2SQ): truncation, and the "integer indefinite" value
// math.MinInt64 when out of range.
int64_t GoFloatToInt64(double f) {
  if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(f);
}

// strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\n`, "\n") (label values; OpenMetrics HELP), or
// without the quote pair (text 0.0.4 HELP). A backslash before anything else stays.
void Unescape(std::string_view s, bool quotes, std::string* out) {
  size_t i = 0;
  while (i < s.size()) {
    const size_t bs = s.find('\\', i);
    if (bs == std::string_view::npos) {
      out->append(s.substr(i));
      return;
    }
    out->append(s.substr(i, bs - i));
    if (bs + 1 < s.size()) {
      const char n = s[bs + 1];
      if (n == '\\' || n == 'n' || (quotes && n == '"')) {
        out->push_back(n == 'n' ? '\n' : n);
        i = bs + 2;
        continue;
      }
    }
    out->push_back('\\');
    i = bs + 1;
  }
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// mime.ParseMediaType's token: ASCII > 0x20, < 0x7f, not a tspecial.
bool IsTokenChar(char c) {
  return c > 0x20 && c < 0x7f && std::strchr("()<>@,;:\\\"/[]?=", c) == nullptr;
}
bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
std::string_view TrimLeftSpace(std::string_view s) {
  while (!s.empty() && IsAsciiSpace(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view TrimSpace(std::string_view s) {
  s = TrimLeftSpace(s);
  while (!s.empty() && IsAsciiSpace(s.back())) s.remove_suffix(1);
  return s;
}
std::string_view ConsumeToken(std::string_view* s) {
  size_t i = 0;
  while (i < s->size() && IsTokenChar((*s)[i])) ++i;
  std::string_view tok = s->substr(0, i);
  s->remove_prefix(i);
  return tok;
}

}  // namespace

Format FormatFromContentType(std::string_view content_type) {
  // Go's mime.ParseMediaType, as used by textparse.New: any error means text 0.0.4.
  const size_t semi = content_type.find(';');
  std::string media(TrimSpace(content_type.substr(0, semi)));
  for (char& c : media) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  {
    std::string_view m = media;
    if (ConsumeToken(&m).empty()) return Format::kText004;
    if (!m.empty()) {
      if (m.front() != '/') return Format::kText004;
      m.remove_prefix(1);
      if (ConsumeToken(&m).empty() || !m.empty()) return Format::kText004;
    }
  }
  if (media != "application/openmetrics-text") return Format::kText004;
  std::string_view v = semi == std::string_view::npos ? "" : content_type.substr(semi);
  std::vector<std::pair<std::string, std::string>> params;
  while (!v.empty()) {
    v = TrimLeftSpace(v);
    if (v.empty()) break;
    // consumeMediaParam
    std::string_view rest = v;
    bool ok = false;
    std::string key, value;
    if (!rest.empty() && rest.front() == ';') {
      rest = TrimLeftSpace(rest.substr(1));
      key = std::string(ConsumeToken(&rest));
      for (char& c : key) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
      rest = TrimLeftSpace(rest);
      if (!key.empty() && !rest.empty() && rest.front() == '=') {
        rest = TrimLeftSpace(rest.substr(1));
        if (!rest.empty() && rest.front() == '"') {
          for (size_t i = 1; i < rest.size(); ++i) {
            const char r = rest[i];
            if (r == '"') {
              rest.remove_prefix(i + 1);
              ok = true;
              break;
            }
            if (r == '\\' && i + 1 < rest.size() && std::strchr("()<>@,;:\\\"/[]?=", rest[i + 1]) &&
                rest[i + 1] != '\0') {
              value.push_back(rest[++i]);
              continue;
            }
            if (r == '\r' || r == '\n') break;
            value.push_back(r);
          }
        } else {
          value = std::string(ConsumeToken(&rest));
          ok = !value.empty();
        }
      }
    }
    if (!ok) {
      if (TrimSpace(v) == ";") break;  // a trailing semicolon is fine
      return Format::kText004;
    }
    for (const auto& [k, val] : params) {
      if (k == key && val != value) return Format::kText004;  // duplicate parameter
    }
    params.emplace_back(std::move(key), std::move(value));
    v = rest;
  }
  return Format::kOpenMetrics;
}

const char* Parser::TokName(Tok t) {
  using T = Parser::Tok;
  switch (t) {
    case T::kInvalid:
      return "INVALID";
    case T::kEOF:
      return "EOF";
    case T::kLinebreak:
      return "LINEBREAK";
    case T::kWhitespace:
      return "WHITESPACE";
    case T::kHelp:
      return "HELP";
    case T::kType:
      return "TYPE";
    case T::kUnit:
      return "UNIT";
    case T::kEOFWord:
      return "EOFWORD";
    case T::kText:
      return "TEXT";
    case T::kComment:
      return "COMMENT";
    case T::kMName:
      return "MNAME";
    case T::kBraceOpen:
      return "BOPEN";
    case T::kBraceClose:
      return "BCLOSE";
    case T::kLName:
      return "LNAME";
    case T::kLValue:
      return "LVALUE";
    case T::kComma:
      return "COMMA";
    case T::kEqual:
      return "EQUAL";
    case T::kTimestamp:
      return "TIMESTAMP";
    case T::kValue:
      return "VALUE";
  }
  return "?";
}

Parser::Parser(std::string_view body, Format format)
    : body_(body),
      end_(format == Format::kText004 ? body.size() + 1 : body.size()),
      format_(format) {}

// golex's l.next(): advance; 0 at the end; NUL bytes are skipped in label values, HELP text and
// comments (in the state the lexer is in when it reads them).
inline unsigned char Parser::NextChar() {
  ++pos_;
  if (pos_ >= end_) return 0;
  unsigned char c = At(pos_);
  if (c == 0 && (state_ == sLValue || state_ == sMeta2 || state_ == sComment)) {
    do {
      ++pos_;
      if (pos_ >= end_) return 0;
      c = At(pos_);
    } while (c == 0);
  }
  return c;
}

// promlex.l's consumeComment(), from the current byte `c` (l.cur()).
Parser::Tok Parser::TextConsumeComment(unsigned char c) {
  for (;; c = NextChar()) {
    if (c == 0) return Tok::kEOF;
    if (c == '\n') {
      state_ = sInit;
      return Tok::kComment;
    }
  }
}

Parser::Tok Parser::LexText() {
  if (pos_ >= end_) return Tok::kEOF;
  unsigned char c = At(pos_);
  tok_start_ = pos_;
  const char* data = body_.data();
  const size_t n = body_.size();
  // Counts plain bytes of class `cls` ahead; NextChar() then reads the first other one. Only for
  // states where NextChar() skips nothing.
  auto Skip = [&](uint8_t cls) {
    while (pos_ + 1 < n && Is(static_cast<unsigned char>(data[pos_ + 1]), cls)) ++pos_;
  };
  auto blanks = [&] {
    do c = NextChar();
    while (IsBlank(c));
    return Tok::kWhitespace;
  };
  auto abort = [&] { return state_ == sComment ? TextConsumeComment(c) : Tok::kInvalid; };
  for (;;) {
    switch (state_) {
      case sInit:
        if (Is(c, kM)) {
          while (pos_ + 1 < n && Is(static_cast<unsigned char>(data[pos_ + 1]), kMD)) ++pos_;
          do c = NextChar();
          while (Is(c, kMD));
          state_ = sValue;
          return Tok::kMName;
        }
        if (c == '#') {
          c = NextChar();
          if (!IsBlank(c)) return TextConsumeComment(c);  // "#": a comment
          do c = NextChar();
          while (IsBlank(c));
          state_ = sComment;  // "#[ \t]+", then match in the comment state
          continue;
        }
        if (c == '\n') {
          NextChar();
          state_ = sInit;
          return Tok::kLinebreak;
        }
        if (IsBlank(c)) return blanks();
        if (c == 0) {
          NextChar();
          return Tok::kEOF;
        }
        return abort();
      case sComment: {
        const char* word;
        Tok tok;
        if (c == 'H') {
          word = "ELP";
          tok = Tok::kHelp;
        } else if (c == 'T') {
          word = "YPE";
          tok = Tok::kType;
        } else if (IsBlank(c)) {
          return blanks();
        } else {
          return abort();
        }
        for (const char* w = word; *w != '\0'; ++w) {
          c = NextChar();
          if (c != static_cast<unsigned char>(*w)) return abort();
        }
        c = NextChar();
        if (!IsBlank(c)) return abort();
        do c = NextChar();
        while (IsBlank(c));
        state_ = sMeta1;
        return tok;
      }
      case sMeta1:
        if (Is(c, kM)) {
          do c = NextChar();
          while (Is(c, kMD));
          state_ = sMeta2;
          return Tok::kMName;
        }
        if (IsBlank(c)) return blanks();
        return abort();
      case sMeta2:
        if (IsBlank(c)) {
          do c = NextChar();
          while (IsBlank(c));
          if (c == 0 || c == '\n') return Tok::kWhitespace;
        } else if (c == 0 || c == '\n') {
          state_ = sInit;  // {C}* matches the empty string
          return Tok::kText;
        }
        do c = NextChar();
        while (c != 0 && c != '\n');
        state_ = sInit;
        return Tok::kText;
      case sLabels:
        if (Is(c, kL)) {
          Skip(kLD);
          do c = NextChar();
          while (Is(c, kLD));
          return Tok::kLName;
        }
        if (c == '=') {
          NextChar();
          state_ = sLValue;
          return Tok::kEqual;
        }
        if (c == ',') {
          NextChar();
          return Tok::kComma;
        }
        if (c == '}') {
          NextChar();
          state_ = sValue;
          return Tok::kBraceClose;
        }
        if (IsBlank(c)) return blanks();
        return abort();
      case sLValue:
        if (IsBlank(c)) return blanks();
        if (c != '"') return abort();
        saw_escape_ = false;
        for (;;) {
          // Plain bytes are only counted; NextChar() below sees the rest, NULs included.
          while (pos_ + 1 < n && Is(static_cast<unsigned char>(data[pos_ + 1]), kPlainQuoted)) {
            ++pos_;
          }
          c = NextChar();
          if (c == '"') {
            NextChar();
            state_ = sLabels;
            return Tok::kLValue;
          }
          if (c == '\\') {
            saw_escape_ = true;
            c = NextChar();
            if (c == 0 || c == '\n') return abort();
            continue;
          }
          if (c == 0) return abort();  // '\n' is allowed in text 0.0.4 label values
        }
      case sValue:
        if (Is(c, kTextValue)) {
          Skip(kTextValue);
          do c = NextChar();
          while (Is(c, kTextValue));
          state_ = sTimestamp;
          return Tok::kValue;
        }
        if (IsBlank(c)) return blanks();
        if (c == '{') {
          NextChar();
          state_ = sLabels;
          return Tok::kBraceOpen;
        }
        return abort();
      case sTimestamp:
        if (c == '\n') {
          NextChar();
          state_ = sInit;
          return Tok::kLinebreak;
        }
        if (IsBlank(c)) return blanks();
        if (c >= '0' && c <= '9') {
          do c = NextChar();
          while (c >= '0' && c <= '9');
          return Tok::kTimestamp;
        }
        return abort();
      default:
        return abort();
    }
  }
}

Parser::Tok Parser::LexOm() {
  if (pos_ >= end_) return Tok::kEOF;
  unsigned char c = At(pos_);
  tok_start_ = pos_;
  const char* data = body_.data();
  const size_t n = body_.size();
  // Counts plain bytes of class `cls` ahead; NextChar() then reads the first other one. Only for
  // states where NextChar() skips nothing.
  auto Skip = [&](uint8_t cls) {
    while (pos_ + 1 < n && Is(static_cast<unsigned char>(data[pos_ + 1]), cls)) ++pos_;
  };
  // Matches `word` byte by byte, each read with NextChar(), then reads one more byte.
  auto word = [&](const char* w) {
    for (; *w != '\0'; ++w) {
      c = NextChar();
      if (c != static_cast<unsigned char>(*w)) return false;
    }
    c = NextChar();
    return true;
  };
  // "..." with \\. escapes, no raw newline.
  auto quoted = [&](LexState after) {
    saw_escape_ = false;
    for (;;) {
      while (pos_ + 1 < n && Is(static_cast<unsigned char>(data[pos_ + 1]), kPlainQuoted)) ++pos_;
      c = NextChar();
      if (c == '"') {
        NextChar();
        state_ = after;
        return Tok::kLValue;
      }
      if (c == '\\') {
        saw_escape_ = true;
        c = NextChar();
        if (c == 0 || c == '\n') return Tok::kInvalid;
        continue;
      }
      if (c == 0 || c == '\n') return Tok::kInvalid;
    }
  };
  // " " then [^ \n\0]+
  auto spaced_value = [&]() {
    c = NextChar();
    if (!Is(c, kOmValue)) return false;
    while (pos_ + 1 < n && Is(static_cast<unsigned char>(data[pos_ + 1]), kOmValue)) ++pos_;
    do c = NextChar();
    while (Is(c, kOmValue));
    return true;
  };
  for (;;) {
    switch (state_) {
      case sInit:
        if (Is(c, kM)) {
          while (pos_ + 1 < n && Is(static_cast<unsigned char>(data[pos_ + 1]), kMD)) ++pos_;
          do c = NextChar();
          while (Is(c, kMD));
          state_ = sValue;
          return Tok::kMName;
        }
        if (c == '#') {
          c = NextChar();
          if (c != ' ') return Tok::kInvalid;
          c = NextChar();
          state_ = sComment;
          continue;
        }
        return Tok::kInvalid;
      case sComment:
        switch (c) {
          case 'E':
            c = NextChar();
            if (c != 'O') return Tok::kInvalid;
            c = NextChar();
            if (c != 'F') return Tok::kInvalid;
            c = NextChar();
            if (c == '\n') NextChar();
            state_ = sInit;
            return Tok::kEOFWord;
          case 'H':
            if (!word("ELP ")) return Tok::kInvalid;
            state_ = sMeta1;
            return Tok::kHelp;
          case 'T':
            if (!word("YPE ")) return Tok::kInvalid;
            state_ = sMeta1;
            return Tok::kType;
          case 'U':
            if (!word("NIT ")) return Tok::kInvalid;
            state_ = sMeta1;
            return Tok::kUnit;
          default:
            return Tok::kInvalid;
        }
      case sMeta1:
        if (!Is(c, kM)) return Tok::kInvalid;
        do c = NextChar();
        while (Is(c, kMD));
        state_ = sMeta2;
        return Tok::kMName;
      case sMeta2:
        if (c != ' ') return Tok::kInvalid;
        for (;;) {
          c = NextChar();
          if (c == '\n') {
            NextChar();
            state_ = sInit;
            return Tok::kText;
          }
          if (c == 0) return Tok::kInvalid;
        }
      case sLabels:
      case sExemplar: {
        const bool ex = state_ == sExemplar;
        if (Is(c, kL)) {
          Skip(kLD);
          do c = NextChar();
          while (Is(c, kLD));
          return Tok::kLName;
        }
        if (c == '=') {
          NextChar();
          state_ = ex ? sEValue : sLValue;
          return Tok::kEqual;
        }
        if (c == ',') {
          NextChar();
          return Tok::kComma;
        }
        if (c == '}') {
          NextChar();
          state_ = ex ? sEValue : sValue;
          return Tok::kBraceClose;
        }
        return Tok::kInvalid;
      }
      case sLValue:
        if (c != '"') return Tok::kInvalid;
        return quoted(sLabels);
      case sValue:
        if (c == ' ') {
          if (!spaced_value()) return Tok::kInvalid;
          state_ = sTimestamp;
          return Tok::kValue;
        }
        if (c == '{') {
          NextChar();
          state_ = sLabels;
          return Tok::kBraceOpen;
        }
        return Tok::kInvalid;
      case sTimestamp:
        if (c == '\n') {
          NextChar();
          state_ = sInit;
          return Tok::kLinebreak;
        }
        if (c != ' ') return Tok::kInvalid;
        c = NextChar();
        if (c == '#') {
          c = NextChar();
          if (c == ' ') {
            c = NextChar();
            if (c != '{') return Tok::kInvalid;
            NextChar();
            state_ = sExemplar;
            return Tok::kComment;  // " # {": an exemplar follows
          }
          while (Is(c, kOmValue)) c = NextChar();
          return Tok::kTimestamp;  // "#..." is a (bad) timestamp
        }
        if (!Is(c, kOmValue)) return Tok::kInvalid;
        do c = NextChar();
        while (Is(c, kOmValue));
        return Tok::kTimestamp;
      case sEValue:
        if (c == ' ') {
          if (!spaced_value()) return Tok::kInvalid;
          state_ = sETimestamp;
          return Tok::kValue;
        }
        if (c == '"') return quoted(sExemplar);
        return Tok::kInvalid;
      case sETimestamp:
        if (c == '\n') {
          NextChar();
          state_ = sInit;
          return Tok::kLinebreak;
        }
        if (c != ' ') return Tok::kInvalid;
        if (!spaced_value()) return Tok::kInvalid;
        return Tok::kTimestamp;
      default:
        return Tok::kInvalid;
    }
  }
}

Parser::Tok Parser::NextTextToken() {
  for (;;) {
    const Tok t = LexText();
    if (t != Tok::kWhitespace) return t;
  }
}

int Parser::LineAt(size_t pos) const {
  pos = std::min(pos, body_.size());
  if (pos < line_pos_) {
    line_pos_ = 0;
    line_count_ = 0;
  }
  const char* p = body_.data() + line_pos_;
  const char* const end = body_.data() + pos;
  while (p < end) {
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    if (nl == nullptr) break;
    ++line_count_;
    p = static_cast<const char*>(nl) + 1;
  }
  line_pos_ = pos;
  return line_count_ + 1;
}

absl::Status Parser::Fail(std::string_view message) {
  // Where: the start of the offending token, or of the entry when the lexer had nothing left.
  const size_t at = std::max(tok_start_, entry_start_);
  // Context as in Prometheus 2.43+: the entry up to one byte past the current token.
  const size_t ctx_end = std::min(std::max(pos_ + 1, entry_start_), body_.size());
  std::string_view ctx = body_.substr(entry_start_, ctx_end - entry_start_);
  constexpr size_t kMaxContext = 256;
  std::string suffix;
  if (!ctx.empty()) {
    if (ctx.size() > kMaxContext) {
      suffix = absl::StrCat(" while parsing: ", GoQuote(ctx.substr(0, kMaxContext)), "...");
    } else {
      suffix = absl::StrCat(" while parsing: ", GoQuote(ctx));
    }
  }
  error_ = absl::InvalidArgumentError(absl::StrCat("line ", LineAt(at), ": ", A(message), suffix));
  return error_;
}

absl::Status Parser::ParseError(std::string_view expected, Tok got) {
  return Fail(absl::StrCat(A(expected), ", got \"", TokName(got), "\""));
}

absl::StatusOr<Entry> Parser::Next() {
  if (!error_.ok()) return error_;
  if (eof_seen_) return Entry::kEof;
  return format_ == Format::kText004 ? NextText() : NextOm();
}

absl::Status Parser::AddLabel(std::string_view name, std::string_view raw, bool escaped) {
  if (!Utf8Valid(raw)) return Fail("invalid UTF-8 label value");
  labels_.push_back({name, raw.substr(1, raw.size() - 2)});
  label_escaped_.push_back(escaped ? 1 : 0);
  return absl::OkStatus();
}

// Unescapes the label values that need it into scratch_, sized once so that no view moves.
void Parser::FinishLabels() {
  size_t need = 0;
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (label_escaped_[i]) need += labels_[i].value.size();
  }
  if (need == 0) return;
  scratch_.clear();
  scratch_.reserve(need);
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (!label_escaped_[i]) continue;
    const size_t from = scratch_.size();
    Unescape(labels_[i].value, /*quotes=*/true, &scratch_);
    labels_[i].value = std::string_view(scratch_).substr(from);
  }
}

absl::StatusOr<Entry> Parser::NextText() {
  for (;;) {
    entry_start_ = pos_;
    const Tok t = NextTextToken();
    switch (t) {
      case Tok::kEOF:
        eof_seen_ = true;
        return Entry::kEof;
      case Tok::kLinebreak:
        continue;  // blank lines are allowed
      case Tok::kHelp:
      case Tok::kType: {
        const bool help = t == Tok::kHelp;
        const Tok t2 = NextTextToken();
        if (t2 != Tok::kMName) {
          return ParseError(
              help ? "expected metric name after HELP" : "expected metric name after TYPE", t2);
        }
        name_ = TokBuf();
        if (NextTextToken() != Tok::kText) {
          return Fail(help ? "expected text in HELP" : "expected text in TYPE");
        }
        const std::string_view buf = TokBuf();
        std::string_view text = buf.size() > 1 ? buf.substr(1) : std::string_view();
        if (help) {
          if (!Utf8Valid(text)) return Fail("help text is not a valid utf8 string");
          if (text.find('\\') != std::string_view::npos) {
            scratch_.clear();
            Unescape(text, /*quotes=*/false, &scratch_);
            text = scratch_;
          }
          text_ = text;
        } else if (text == "counter") {
          type_ = MetricType::kCounter;
        } else if (text == "gauge") {
          type_ = MetricType::kGauge;
        } else if (text == "histogram") {
          type_ = MetricType::kHistogram;
        } else if (text == "summary") {
          type_ = MetricType::kSummary;
        } else if (text == "untyped") {
          type_ = MetricType::kUnknown;
        } else {
          return Fail(absl::StrCat("invalid metric type ", GoQuote(text)));
        }
        if (const Tok t3 = NextTextToken(); t3 != Tok::kLinebreak) {
          return ParseError("linebreak expected after metadata", t3);
        }
        return help ? Entry::kHelp : Entry::kType;
      }
      case Tok::kComment: {
        text_ = TokBuf();
        if (const Tok t2 = NextTextToken(); t2 != Tok::kLinebreak) {
          return ParseError("linebreak expected after comment", t2);
        }
        return Entry::kComment;
      }
      case Tok::kMName: {
        // As in 2.42, the name (and the series) start where the line does, blanks included.
        const size_t name_start = entry_start_;
        name_ = body_.substr(name_start, tok_end() - name_start);
        labels_.clear();
        label_escaped_.clear();
        size_t series_end = tok_end();
        Tok t2 = NextTextToken();
        if (t2 == Tok::kBraceOpen) {
          t2 = NextTextToken();
          for (;;) {
            if (t2 == Tok::kBraceClose) break;
            if (t2 != Tok::kLName) return ParseError("expected label name", t2);
            const std::string_view lname = TokBuf();
            if (const Tok t3 = NextTextToken(); t3 != Tok::kEqual) {
              return ParseError("expected equal", t3);
            }
            if (const Tok t3 = NextTextToken(); t3 != Tok::kLValue) {
              return ParseError("expected label value", t3);
            }
            if (absl::Status s = AddLabel(lname, TokBuf(), saw_escape_); !s.ok()) return s;
            // Commas are optional, and one may trail.
            t2 = NextTextToken();
            if (t2 == Tok::kComma) t2 = NextTextToken();
          }
          series_end = tok_end();
          t2 = NextTextToken();
        }
        series_ = body_.substr(name_start, series_end - name_start);
        if (t2 != Tok::kValue) return ParseError("expected value after metric", t2);
        std::string err;
        if (!ParseGoFloat(TokBuf(), &value_, &err)) return Fail(err);
        if (value_ != value_) value_ = std::bit_cast<double>(kNormalNaN);
        ts_.reset();
        const Tok t3 = NextTextToken();
        if (t3 == Tok::kTimestamp) {
          int64_t ts;
          if (!ParseGoInt64(TokBuf(), &ts, &err)) return Fail(err);
          ts_ = ts;
          if (const Tok t4 = NextTextToken(); t4 != Tok::kLinebreak) {
            return ParseError("expected next entry after timestamp", t4);
          }
        } else if (t3 != Tok::kLinebreak) {
          return ParseError("expected timestamp or new record", t3);
        }
        FinishLabels();
        return Entry::kSeries;
      }
      default:
        return Fail(absl::StrCat("\"", TokName(t), "\" is not a valid start token"));
    }
  }
}

absl::Status Parser::OmLabels(bool exemplar) {
  bool first = true;
  for (;;) {
    Tok t = LexOm();
    switch (t) {
      case Tok::kBraceClose:
        return absl::OkStatus();
      case Tok::kComma:
        if (first) return ParseError("expected label name or left brace", t);
        t = LexOm();
        if (t != Tok::kLName) return ParseError("expected label name", t);
        break;
      case Tok::kLName:
        if (!first) return ParseError("expected comma", t);
        break;
      default:
        return ParseError(
            first ? "expected label name or left brace" : "expected comma or left brace", t);
    }
    first = false;
    const std::string_view lname = TokBuf();
    if (const Tok t2 = LexOm(); t2 != Tok::kEqual) return ParseError("expected equal", t2);
    if (const Tok t2 = LexOm(); t2 != Tok::kLValue) return ParseError("expected label value", t2);
    if (exemplar) {
      if (!Utf8Valid(TokBuf())) return Fail("invalid UTF-8 label value");
    } else if (absl::Status s = AddLabel(lname, TokBuf(), saw_escape_); !s.ok()) {
      return s;
    }
  }
}

absl::Status Parser::OmFloat(Tok t, const char* after, double* out) {
  if (t != Tok::kValue) return ParseError(absl::StrCat("expected value after ", after), t);
  std::string err;
  if (!ParseGoFloat(TokBuf().substr(1), out, &err)) return Fail(err);
  return absl::OkStatus();
}

// The part after " # {": exemplar labels, value, optional timestamp. Checked, then dropped.
absl::Status Parser::OmExemplar() {
  if (!EndsWith(name_, "_total") && !EndsWith(name_, "_bucket")) {
    return Fail(absl::StrCat("metric name ", A(name_), " does not support exemplars"));
  }
  if (absl::Status s = OmLabels(/*exemplar=*/true); !s.ok()) return s;
  double v;
  if (absl::Status s = OmFloat(LexOm(), "exemplar labels", &v); !s.ok()) return s;
  switch (const Tok t = LexOm(); t) {
    case Tok::kEOF:
      return Fail("data does not end with # EOF");
    case Tok::kLinebreak:
      return absl::OkStatus();
    case Tok::kTimestamp: {
      double ts;
      std::string err;
      if (!ParseGoFloat(TokBuf().substr(1), &ts, &err)) return Fail(err);
      if (ts != ts || ts == std::numeric_limits<double>::infinity() ||
          ts == -std::numeric_limits<double>::infinity()) {
        return Fail("invalid exemplar timestamp");
      }
      if (const Tok t2 = LexOm(); t2 != Tok::kLinebreak) {
        return ParseError("expected next entry after exemplar timestamp", t2);
      }
      return absl::OkStatus();
    }
    default:
      return ParseError("expected timestamp or comment", t);
  }
}

absl::StatusOr<Entry> Parser::NextOm() {
  entry_start_ = pos_;
  const Tok t = LexOm();
  switch (t) {
    case Tok::kEOFWord:
      if (LexOm() != Tok::kEOF) return Fail("unexpected data after # EOF");
      eof_seen_ = true;
      return Entry::kEof;
    case Tok::kEOF:
      return Fail("data does not end with # EOF");
    case Tok::kHelp:
    case Tok::kType:
    case Tok::kUnit: {
      const char* what = TokName(t);
      const Tok t2 = LexOm();
      if (t2 != Tok::kMName)
        return ParseError(absl::StrCat("expected metric name after ", what), t2);
      name_ = TokBuf();
      if (LexOm() != Tok::kText) return Fail(absl::StrCat("expected text in ", what));
      const std::string_view buf = TokBuf();  // " text\n"
      std::string_view text = buf.size() > 1 ? buf.substr(1, buf.size() - 2) : std::string_view();
      if (t == Tok::kType) {
        static constexpr std::pair<std::string_view, MetricType> kTypes[] = {
            {"counter", MetricType::kCounter},     {"gauge", MetricType::kGauge},
            {"histogram", MetricType::kHistogram}, {"gaugehistogram", MetricType::kGaugeHistogram},
            {"summary", MetricType::kSummary},     {"info", MetricType::kInfo},
            {"stateset", MetricType::kStateset},   {"unknown", MetricType::kUnknown},
        };
        const auto* it = std::find_if(std::begin(kTypes), std::end(kTypes),
                                      [&](const auto& p) { return p.first == text; });
        if (it == std::end(kTypes))
          return Fail(absl::StrCat("invalid metric type ", GoQuote(text)));
        type_ = it->second;
        return Entry::kType;
      }
      if (t == Tok::kHelp) {
        if (!Utf8Valid(text)) return Fail("help text is not a valid utf8 string");
        if (text.find('\\') != std::string_view::npos) {
          scratch_.clear();
          Unescape(text, /*quotes=*/true, &scratch_);
          text = scratch_;
        }
        text_ = text;
        return Entry::kHelp;
      }
      // UNIT: empty, or a suffix of the name after an underscore.
      if (!text.empty() && (!EndsWith(name_, text) || name_.size() < text.size() + 1 ||
                            name_[name_.size() - text.size() - 1] != '_')) {
        return Fail(absl::StrCat("unit not a suffix of metric ", GoQuote(name_)));
      }
      text_ = text;
      return Entry::kUnit;
    }
    case Tok::kMName: {
      name_ = TokBuf();
      series_ = name_;
      labels_.clear();
      label_escaped_.clear();
      Tok t2 = LexOm();
      if (t2 == Tok::kBraceOpen) {
        if (absl::Status s = OmLabels(/*exemplar=*/false); !s.ok()) return s;
        series_ = body_.substr(entry_start_, tok_end() - entry_start_);
        t2 = LexOm();
      }
      if (absl::Status s = OmFloat(t2, "metric", &value_); !s.ok()) return s;
      ts_.reset();
      switch (const Tok t3 = LexOm(); t3) {
        case Tok::kEOF:
          return Fail("data does not end with # EOF");
        case Tok::kLinebreak:
          break;
        case Tok::kComment:
          if (absl::Status s = OmExemplar(); !s.ok()) return s;
          break;
        case Tok::kTimestamp: {
          double ts;
          std::string err;
          if (!ParseGoFloat(TokBuf().substr(1), &ts, &err)) return Fail(err);
          if (ts != ts || ts == std::numeric_limits<double>::infinity() ||
              ts == -std::numeric_limits<double>::infinity()) {
            return Fail("invalid timestamp");
          }
          ts_ = GoFloatToInt64(ts * 1000);
          switch (const Tok t4 = LexOm(); t4) {
            case Tok::kLinebreak:
              break;
            case Tok::kComment:
              if (absl::Status s = OmExemplar(); !s.ok()) return s;
              break;
            default:
              return ParseError("expected next entry after timestamp", t4);
          }
          break;
        }
        default:
          return ParseError("expected timestamp or # symbol", t3);
      }
      FinishLabels();
      return Entry::kSeries;
    }
    default: {
      // Go: fmt.Errorf("%q %q is not a valid start token", t, string(p.l.cur())), where cur()
      // is ' ' past the end and string(byte) reads the byte as a code point.
      const unsigned char cur = pos_ < body_.size() ? At(pos_) : ' ';
      std::string as_rune;
      if (cur < 0x80) {
        as_rune.push_back(static_cast<char>(cur));
      } else {
        as_rune.push_back(static_cast<char>(0xc0 | (cur >> 6)));
        as_rune.push_back(static_cast<char>(0x80 | (cur & 0x3f)));
      }
      return Fail(
          absl::StrCat("\"", TokName(t), "\" ", GoQuote(as_rune), " is not a valid start token"));
    }
  }
}

}  // namespace stakewatch::textparse
