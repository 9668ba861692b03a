#include "promql/lexer.h"

#include <cctype>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "promql/ast.h"

namespace stakewatch::promql {
namespace {

constexpr int kEofRune = -1;
constexpr int kRuneError = 0xFFFD;

bool IsSpace(int r) { return r == ' ' || r == '\t' || r == '\n' || r == '\r'; }
bool IsDigit(int r) { return r >= '0' && r <= '9'; }
bool IsAlpha(int r) { return r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'); }
bool IsAlphaNumeric(int r) { return IsAlpha(r) || IsDigit(r); }
bool Contains(std::string_view set, int r) {
  return r >= 0 && r < 128 && set.find(static_cast<char>(r)) != std::string_view::npos;
}

struct Keyword {
  std::string_view word;
  ItemType type;
};
constexpr Keyword kKeywords[] = {
    {"and", ItemType::kLand},
    {"or", ItemType::kLor},
    {"unless", ItemType::kLunless},
    {"atan2", ItemType::kAtan2},
    {"sum", ItemType::kSum},
    {"avg", ItemType::kAvg},
    {"count", ItemType::kCount},
    {"min", ItemType::kMin},
    {"max", ItemType::kMax},
    {"group", ItemType::kGroup},
    {"stddev", ItemType::kStddev},
    {"stdvar", ItemType::kStdvar},
    {"topk", ItemType::kTopk},
    {"bottomk", ItemType::kBottomk},
    {"count_values", ItemType::kCountValues},
    {"quantile", ItemType::kQuantile},
    {"offset", ItemType::kOffset},
    {"by", ItemType::kBy},
    {"without", ItemType::kWithout},
    {"on", ItemType::kOn},
    {"ignoring", ItemType::kIgnoring},
    {"group_left", ItemType::kGroupLeft},
    {"group_right", ItemType::kGroupRight},
    {"bool", ItemType::kBool},
    {"start", ItemType::kStart},
    {"end", ItemType::kEnd},
    {"inf", ItemType::kNumber},
    {"nan", ItemType::kNumber},
};

bool LookupKeyword(std::string_view word, ItemType* type) {
  std::string lower = absl::AsciiStrToLower(absl::string_view(word.data(), word.size()));
  for (const Keyword& k : kKeywords) {
    if (k.word == lower) {
      *type = k.type;
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsOperator(ItemType t) { return t >= ItemType::kSub && t <= ItemType::kAt; }
bool IsAggregator(ItemType t) { return t >= ItemType::kAvg && t <= ItemType::kTopk; }
bool IsKeyword(ItemType t) { return t >= ItemType::kBool && t <= ItemType::kWithout; }

std::string GoQuoteRune(int r) {
  switch (r) {
    case '\a':
      return "'\\a'";
    case '\b':
      return "'\\b'";
    case '\f':
      return "'\\f'";
    case '\n':
      return "'\\n'";
    case '\r':
      return "'\\r'";
    case '\t':
      return "'\\t'";
    case '\v':
      return "'\\v'";
    case '\\':
      return "'\\\\'";
    case '\'':
      return "'\\''";
    default:
      break;
  }
  if (r < 0) r = kRuneError;
  if (IsGoPrintRune(r)) {
    std::string out = "'";
    // UTF-8 encode.
    if (r < 0x80) {
      out += static_cast<char>(r);
    } else if (r < 0x800) {
      out += static_cast<char>(0xC0 | (r >> 6));
      out += static_cast<char>(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
      out += static_cast<char>(0xE0 | (r >> 12));
      out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (r & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (r >> 18));
      out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (r & 0x3F));
    }
    return out + "'";
  }
  if (r < 0x20 || r == 0x7f) return absl::StrFormat("'\\x%02x'", r);
  if (r < 0x10000) return absl::StrFormat("'\\u%04x'", r);
  return absl::StrFormat("'\\U%08x'", r);
}

namespace {

// Go's %#U: "U+0071 'q'" (the quoted rune only when printable).
std::string GoSharpU(int r) {
  if (r < 0) r = kRuneError;
  std::string out = absl::StrFormat("U+%04X", r);
  if (IsGoPrintRune(r)) {
    // %#U prints the rune itself between plain quotes, unescaped: U+0027 '''.
    std::string q = GoQuoteRune(r);
    if (r == '\\' || r == '\'') q = std::string("'") + static_cast<char>(r) + "'";
    out += " " + q;
  }
  return out;
}

}  // namespace

std::string DescribeItem(const Item& item) {
  const ItemType t = item.type;
  auto quote_trunc = [](std::string_view v) {
    // Go's "%.10q...": at most 10 runes, quoted, then "..." when longer.
    int runes = 0;
    size_t i = 0;
    while (i < v.size() && runes < 10) {
      unsigned char c = static_cast<unsigned char>(v[i]);
      size_t w = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      i += w;
      ++runes;
    }
    if (i >= v.size()) return GoQuote(v);
    return GoQuote(v.substr(0, i)) + "...";
  };
  auto item_string = [&]() -> std::string {
    if (t == ItemType::kIdentifier || t == ItemType::kMetricIdentifier) return GoQuote(item.val);
    if (IsKeyword(t)) return absl::StrCat("<", std::string(item.val), ">");
    if (IsOperator(t)) return absl::StrCat("<op:", std::string(item.val), ">");
    if (IsAggregator(t)) return absl::StrCat("<aggr:", std::string(item.val), ">");
    return quote_trunc(item.val);
  };
  switch (t) {
    case ItemType::kEOF:
      return "end of input";
    case ItemType::kError:
      return item.error;
    case ItemType::kComment:
      return "comment " + item_string();
    case ItemType::kIdentifier:
      return "identifier " + item_string();
    case ItemType::kMetricIdentifier:
      return "metric identifier " + item_string();
    case ItemType::kString:
      return "string " + item_string();
    case ItemType::kNumber:
      return "number " + item_string();
    case ItemType::kDuration:
      return "duration " + item_string();
    case ItemType::kAt:
      // AT is missing from 2.42's ItemTypeStr, so Go prints its yacc token number.
      return "\"<Item 57385>\" " + item_string();
    default:
      return item_string();
  }
}

int Lexer::NextRune() {
  if (pos_ >= static_cast<int>(input_.size())) {
    width_ = 0;
    return kEofRune;
  }
  const auto* s = reinterpret_cast<const unsigned char*>(input_.data()) + pos_;
  const int left = static_cast<int>(input_.size()) - pos_;
  int r = s[0];
  int w = 1;
  if (r >= 0x80) {
    // Strict UTF-8 decode like Go's utf8.DecodeRuneInString.
    auto cont = [&](int i) { return i < left && (s[i] & 0xC0) == 0x80; };
    if (r >= 0xC2 && r <= 0xDF && cont(1)) {
      r = ((r & 0x1F) << 6) | (s[1] & 0x3F);
      w = 2;
    } else if (r >= 0xE0 && r <= 0xEF && cont(1) && cont(2) && !(r == 0xE0 && s[1] < 0xA0) &&
               !(r == 0xED && s[1] > 0x9F)) {
      r = ((r & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
      w = 3;
    } else if (r >= 0xF0 && r <= 0xF4 && cont(1) && cont(2) && cont(3) &&
               !(r == 0xF0 && s[1] < 0x90) && !(r == 0xF4 && s[1] > 0x8F)) {
      r = ((r & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
      w = 4;
    } else {
      r = kRuneError;
      w = 1;
    }
  }
  width_ = w;
  pos_ += w;
  return r;
}

int Lexer::Peek() {
  int r = NextRune();
  Backup();
  return r;
}

bool Lexer::Accept(std::string_view valid) {
  if (Contains(valid, NextRune())) return true;
  Backup();
  return false;
}

void Lexer::AcceptRun(std::string_view valid) {
  while (Contains(valid, NextRune())) {
  }
  Backup();
}

Item Lexer::Emit(ItemType t) {
  Item it;
  it.type = t;
  it.pos = start_;
  it.val = input_.substr(start_, pos_ - start_);
  start_ = pos_;
  return it;
}

Item Lexer::Errorf(std::string msg) {
  Item it;
  it.type = ItemType::kError;
  it.pos = start_;
  it.error = std::move(msg);  // `val` stays empty: a view of `error` would dangle on copy.
  state_ = State::kDone;
  return it;
}

Item Lexer::Next() {
  Item out;
  if (pending_duration_ && state_ != State::kDone) {
    pending_duration_ = false;
    return LexDuration();
  }
  for (;;) {
    switch (state_) {
      case State::kDone: {
        start_ = pos_;
        Item eof;
        eof.type = ItemType::kEOF;
        eof.pos = pos_;
        return eof;
      }
      case State::kStatements:
        if (LexStatements(&out)) return out;
        break;
      case State::kInsideBraces:
        if (LexInsideBraces(&out)) return out;
        break;
    }
  }
}

void Lexer::SkipSpaces() {
  while (IsSpace(Peek())) NextRune();
  start_ = pos_;
}

Item Lexer::LexLineComment() {
  pos_ += 1;  // '#'
  int r = NextRune();
  while (r != '\r' && r != '\n' && r != kEofRune) r = NextRune();
  Backup();
  return Emit(ItemType::kComment);
}

// Returns true when an item was produced into *out.
bool Lexer::LexStatements(Item* out) {
  if (brace_open_) {
    state_ = State::kInsideBraces;
    return false;
  }
  if (input_.substr(pos_).substr(0, 1) == "#") {
    *out = LexLineComment();
    return true;
  }
  const int r = NextRune();
  auto emit = [&](ItemType t) {
    *out = Emit(t);
    return true;
  };
  if (r == kEofRune) {
    if (paren_depth_ != 0) {
      *out = Errorf("unclosed left parenthesis");
      return true;
    }
    if (bracket_open_) {
      *out = Errorf("unclosed left bracket");
      return true;
    }
    *out = Emit(ItemType::kEOF);
    state_ = State::kDone;
    return true;
  }
  if (IsSpace(r)) {
    SkipSpaces();
    return false;
  }
  switch (r) {
    case ',':
      return emit(ItemType::kComma);
    case '*':
      return emit(ItemType::kMul);
    case '/':
      return emit(ItemType::kDiv);
    case '%':
      return emit(ItemType::kMod);
    case '+':
      return emit(ItemType::kAdd);
    case '-':
      return emit(ItemType::kSub);
    case '^':
      return emit(ItemType::kPow);
    case '@':
      return emit(ItemType::kAt);
    case '=': {
      const int t = Peek();
      if (t == '=') {
        NextRune();
        return emit(ItemType::kEqlc);
      }
      if (t == '~') {
        *out = Errorf("unexpected character after '=': " + GoQuoteRune(t));
        return true;
      }
      return emit(ItemType::kEql);
    }
    case '!': {
      const int t = NextRune();
      if (t != '=') {
        *out = Errorf("unexpected character after '!': " + GoQuoteRune(t));
        return true;
      }
      return emit(ItemType::kNeq);
    }
    case '<':
      if (Peek() == '=') {
        NextRune();
        return emit(ItemType::kLte);
      }
      return emit(ItemType::kLss);
    case '>':
      if (Peek() == '=') {
        NextRune();
        return emit(ItemType::kGte);
      }
      return emit(ItemType::kGtr);
    case '"':
    case '\'':
      string_open_ = r;
      *out = LexString();
      return true;
    case '`':
      string_open_ = r;
      *out = LexRawString();
      return true;
    case '(':
      ++paren_depth_;
      return emit(ItemType::kLeftParen);
    case ')':
      *out = Emit(ItemType::kRightParen);
      if (--paren_depth_ < 0) *out = Errorf("unexpected right parenthesis " + GoQuoteRune(r));
      return true;
    case '{':
      brace_open_ = true;
      return emit(ItemType::kLeftBrace);
    case '[':
      if (bracket_open_) {
        *out = Errorf("unexpected left bracket " + GoQuoteRune(r));
        return true;
      }
      got_colon_ = false;
      *out = Emit(ItemType::kLeftBracket);
      if (IsSpace(Peek())) SkipSpaces();
      bracket_open_ = true;
      // The duration right after '[' is lexed by LexDuration on the next call.
      pending_duration_ = true;
      return true;
    case ']':
      if (!bracket_open_) {
        *out = Errorf("unexpected right bracket " + GoQuoteRune(r));
        return true;
      }
      bracket_open_ = false;
      return emit(ItemType::kRightBracket);
    default:
      break;
  }
  if (IsDigit(r) || (r == '.' && IsDigit(Peek()))) {
    Backup();
    *out = LexNumberOrDuration();
    return true;
  }
  if (IsAlpha(r) || r == ':') {
    if (!bracket_open_) {
      Backup();
      *out = LexKeywordOrIdentifier();
      return true;
    }
    if (got_colon_) {
      *out = Errorf("unexpected colon " + GoQuoteRune(r));
      return true;
    }
    got_colon_ = true;
    return emit(ItemType::kColon);
  }
  *out = Errorf("unexpected character: " + GoQuoteRune(r));
  return true;
}

bool Lexer::LexInsideBraces(Item* out) {
  if (input_.substr(pos_).substr(0, 1) == "#") {
    *out = LexLineComment();
    return true;
  }
  const int r = NextRune();
  if (r == kEofRune) {
    *out = Errorf("unexpected end of input inside braces");
    return true;
  }
  if (IsSpace(r)) {
    SkipSpaces();
    return false;
  }
  if (IsAlpha(r)) {
    Backup();
    *out = LexIdentifier();
    return true;
  }
  switch (r) {
    case ',':
      *out = Emit(ItemType::kComma);
      return true;
    case '"':
    case '\'':
      string_open_ = r;
      *out = LexString();
      return true;
    case '`':
      string_open_ = r;
      *out = LexRawString();
      return true;
    case '=':
      if (NextRune() == '~') {
        *out = Emit(ItemType::kEqlRegex);
        return true;
      }
      Backup();
      *out = Emit(ItemType::kEql);
      return true;
    case '!': {
      const int nr = NextRune();
      if (nr == '~') {
        *out = Emit(ItemType::kNeqRegex);
      } else if (nr == '=') {
        *out = Emit(ItemType::kNeq);
      } else {
        *out = Errorf("unexpected character after '!' inside braces: " + GoQuoteRune(nr));
      }
      return true;
    }
    case '{':
      *out = Errorf("unexpected left brace " + GoQuoteRune(r));
      return true;
    case '}':
      brace_open_ = false;
      state_ = State::kStatements;
      *out = Emit(ItemType::kRightBrace);
      return true;
    default:
      *out = Errorf("unexpected character inside braces: " + GoQuoteRune(r));
      return true;
  }
}

Item Lexer::LexString() {
  for (;;) {
    const int r = NextRune();
    if (r == '\\') {
      std::string err;
      if (!LexEscape(&err)) return Errorf(std::move(err));
      continue;
    }
    if (r == kRuneError && width_ == 1) return Errorf("invalid UTF-8 rune");
    if (r == kEofRune || r == '\n') return Errorf("unterminated quoted string");
    if (r == string_open_) break;
  }
  return Emit(ItemType::kString);
}

Item Lexer::LexRawString() {
  for (;;) {
    const int r = NextRune();
    if (r == kRuneError && width_ == 1) return Errorf("invalid UTF-8 rune");
    if (r == kEofRune) return Errorf("unterminated raw string");
    if (r == string_open_) break;
  }
  return Emit(ItemType::kString);
}

bool Lexer::LexEscape(std::string* err) {
  int n = 0;
  uint32_t base = 0;
  uint32_t max = 0;
  int ch = NextRune();
  switch (ch) {
    case 'a':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
    case 'v':
    case '\\':
      return true;
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
      n = 3, base = 8, max = 255;
      break;
    case 'x':
      ch = NextRune();
      n = 2, base = 16, max = 255;
      break;
    case 'u':
      ch = NextRune();
      n = 4, base = 16, max = 0x10FFFF;
      break;
    case 'U':
      ch = NextRune();
      n = 8, base = 16, max = 0x10FFFF;
      break;
    case kEofRune:
      *err = "escape sequence not terminated";
      return false;
    default:
      if (ch == string_open_) return true;
      *err = "unknown escape sequence " + GoSharpU(ch);
      return false;
  }
  uint32_t x = 0;
  while (n > 0) {
    uint32_t d = 16;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    if (d >= base) {
      if (ch == kEofRune) {
        *err = "escape sequence not terminated";
        return false;
      }
      *err = "illegal character " + GoSharpU(ch) + " in escape sequence";
      return false;
    }
    x = x * base + d;
    --n;
    if (n > 0) ch = NextRune();
  }
  if (x > max || (x >= 0xD800 && x < 0xE000)) {
    *err = "escape sequence is an invalid Unicode code point";
    return false;
  }
  return true;
}

bool Lexer::ScanNumber() {
  std::string_view digits = "0123456789";
  if (Accept("0") && Accept("xX")) digits = "0123456789abcdefABCDEF";
  AcceptRun(digits);
  if (Accept(".")) AcceptRun(digits);
  if (Accept("eE")) {
    Accept("+-");
    AcceptRun("0123456789");
  }
  return !IsAlphaNumeric(Peek());
}

bool Lexer::AcceptRemainingDuration() {
  if (!Accept("smhdwy")) return false;
  Accept("s");  // ms
  while (Accept("0123456789")) {
    while (Accept("0123456789")) {
    }
    if (!Accept("smhdw")) return false;
    Accept("s");
  }
  return !IsAlphaNumeric(NextRune());
}

Item Lexer::LexNumberOrDuration() {
  if (ScanNumber()) return Emit(ItemType::kNumber);
  if (AcceptRemainingDuration()) {
    Backup();
    return Emit(ItemType::kDuration);
  }
  return Errorf(absl::StrFormat("bad number or duration syntax: %s",
                                GoQuote(input_.substr(start_, pos_ - start_))));
}

Item Lexer::LexDuration() {
  if (ScanNumber()) return Errorf("missing unit character in duration");
  if (!AcceptRemainingDuration()) {
    return Errorf(
        absl::StrFormat("bad duration syntax: %s", GoQuote(input_.substr(start_, pos_ - start_))));
  }
  Backup();
  return Emit(ItemType::kDuration);
}

Item Lexer::LexKeywordOrIdentifier() {
  for (;;) {
    const int r = NextRune();
    if (IsAlphaNumeric(r) || r == ':') continue;
    Backup();
    break;
  }
  std::string_view word = input_.substr(start_, pos_ - start_);
  ItemType kw;
  if (LookupKeyword(word, &kw)) return Emit(kw);
  if (word.find(':') == std::string_view::npos) return Emit(ItemType::kIdentifier);
  return Emit(ItemType::kMetricIdentifier);
}

Item Lexer::LexIdentifier() {
  while (IsAlphaNumeric(NextRune())) {
  }
  Backup();
  Item it = Emit(ItemType::kIdentifier);
  state_ = State::kStatements;  // Go returns lexStatements, which re-enters braces mode.
  return it;
}

}  // namespace stakewatch::promql
