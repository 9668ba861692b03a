// Lexer, parser and interpreter for the Go text/template subset (Go 1.19 semantics, as in the
// Prometheus 2.42 binaries). The structure follows text/template/parse/{lex,parse}.go and
// text/template/exec.go closely so that error messages and their positions match Go's.
#include "template/template.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "template/funcs.h"

namespace stakewatch::tmpl {

// ---------------------------------------------------------------------------------------------
// Syntax tree.

struct PipeNode;

struct ArgNode {
  enum class T {
    kIdentifier,
    kField,
    kVariable,
    kDot,
    kNil,
    kBool,
    kNumber,
    kString,
    kPipe,
    kChain
  };
  T type = T::kNil;
  int pos = 0;
  std::string str;                  // Go's Node.String()
  std::string ident;                // kIdentifier
  std::vector<std::string> fields;  // kField: names; kVariable: [$name, names...]; kChain: names
  Value constant;                   // kBool, kNumber, kString
  std::shared_ptr<PipeNode> pipe;   // kPipe
  std::shared_ptr<ArgNode> base;    // kChain
};

struct CommandNode {
  int pos = 0;
  std::string str;
  std::vector<ArgNode> args;
};

struct PipeNode {
  int pos = 0;
  std::string str;
  bool is_assign = false;
  std::vector<std::string> decl;
  std::vector<CommandNode> cmds;
};

struct Node {
  enum class T { kText, kAction, kIf, kRange, kWith, kBreak, kContinue, kEnd, kElse };
  T type = T::kText;
  int pos = 0;
  std::string str;
  std::string text;  // kText
  std::shared_ptr<PipeNode> pipe;
  std::vector<Node> list, else_list;
};

struct ParsedTemplate {
  std::string name;
  std::string text;
  std::vector<size_t> newlines;  // offsets of '\n' in text
  std::vector<Node> root;
};

namespace {

constexpr int kMaxDepth = 100;  // nesting of parentheses and control structures

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
// Go's isAlphaNumeric (letter, digit or '_') at byte p. Non-ASCII runes count as letters except
// the Latin-1 symbols, general punctuation and special spaces (no Unicode tables here).
bool IsAlnumAt(std::string_view in, size_t p) {
  unsigned char c = static_cast<unsigned char>(in[p]);
  if (c < 0x80) return absl::ascii_isalnum(c) || c == '_';
  if ((c & 0xc0) == 0x80) return true;  // continuation of an accepted rune
  int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (len == 0 || p + len > in.size()) return false;
  uint32_t r = c & (0x7f >> len);
  for (int k = 1; k < len; ++k) r = (r << 6) | (static_cast<unsigned char>(in[p + k]) & 0x3f);
  if (r >= 0x80 && r <= 0xbf) return r == 0xaa || r == 0xb5 || r == 0xba;
  return r != 0xd7 && r != 0xf7 && !(r >= 0x2000 && r <= 0x206f) && r != 0x3000 && r != 0xfeff;
}

// ---------------------------------------------------------------------------------------------
// Lexer (text/template/parse/lex.go).

enum class Tok {
  kError,
  kEOF,
  kText,
  kLeftDelim,
  kRightDelim,
  kSpace,
  kIdentifier,
  kField,
  kVariable,
  kString,
  kRawString,
  kCharConstant,
  kNumber,
  kBool,
  kNil,
  kDot,
  kPipe,
  kLeftParen,
  kRightParen,
  kDeclare,
  kAssign,
  kChar,
  // keywords
  kKeyword,
  kBlock,
  kBreak,
  kContinue,
  kDefine,
  kElse,
  kEnd,
  kIf,
  kRange,
  kTemplate,
  kWith,
};

struct Token {
  Tok type;
  int pos;
  std::string val;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : in_(text) {}

  std::vector<Token> Run() {
    while (LexText()) {
    }
    return std::move(out_);
  }

 private:
  void Emit(Tok t, size_t start, size_t end) {
    out_.push_back({t, static_cast<int>(start), std::string(in_.substr(start, end - start))});
  }
  bool Error(size_t at, std::string msg) {
    out_.push_back({Tok::kError, static_cast<int>(at), std::move(msg)});
    return false;
  }
  static bool HasLeftTrim(std::string_view s) {
    return s.size() >= 2 && s[0] == '-' && IsSpace(s[1]);
  }
  static bool HasRightTrim(std::string_view s) {
    return s.size() >= 2 && IsSpace(s[0]) && s[1] == '-';
  }
  // Whether pos is at "}}" or " -}}"; sets *trim for the latter.
  bool AtRightDelim(size_t pos, bool* trim) const {
    std::string_view rest = in_.substr(std::min(pos, in_.size()));
    if (rest.substr(0, 2) == "}}") {
      *trim = false;
      return true;
    }
    if (HasRightTrim(rest) && rest.substr(2, 2) == "}}") {
      *trim = true;
      return true;
    }
    return false;
  }
  size_t SkipLeadingSpace(size_t pos) const {
    while (pos < in_.size() && IsSpace(in_[pos])) ++pos;
    return pos;
  }

  // Returns false when lexing is over (EOF or error emitted).
  bool LexText() {
    size_t x = in_.find("{{", pos_);
    if (x == std::string_view::npos) {
      if (pos_ < in_.size()) Emit(Tok::kText, pos_, in_.size());
      out_.push_back({Tok::kEOF, static_cast<int>(in_.size()), ""});
      return false;
    }
    size_t text_end = x;
    bool ltrim = HasLeftTrim(in_.substr(x + 2));
    if (ltrim) {
      while (text_end > pos_ && IsSpace(in_[text_end - 1])) --text_end;
    }
    if (text_end > pos_) Emit(Tok::kText, pos_, text_end);
    pos_ = x + 2;
    size_t after = ltrim ? 2 : 0;
    if (in_.substr(pos_ + after, 2) == "/*") {
      size_t e = in_.find("*/", pos_ + after + 2);
      if (e == std::string_view::npos) return Error(x, "unclosed comment");
      pos_ = e + 2;
      bool rtrim = false;
      if (!AtRightDelim(pos_, &rtrim)) return Error(x, "comment ends before closing delimiter");
      pos_ += (rtrim ? 2 : 0) + 2;
      if (rtrim) pos_ = SkipLeadingSpace(pos_);
      return true;
    }
    Emit(Tok::kLeftDelim, x, x + 2);
    pos_ += after;
    return LexInsideAction();
  }

  bool AtTerminator(size_t p) const {
    if (p >= in_.size()) return true;
    char c = in_[p];
    if (IsSpace(c)) return true;
    switch (c) {
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
      default:
        break;
    }
    return in_.substr(p, 2) == "}}";
  }

  std::string BadChar(char c) const {
    unsigned char u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return absl::StrFormat("U+%04X '%c'", u, c);
    return absl::StrFormat("U+%04X", u);
  }

  // Decodes the rune at p for error messages ("U+00A0").
  std::string RuneAt(size_t p) const {
    unsigned char c = static_cast<unsigned char>(in_[p]);
    if (c < 0x80) return BadChar(in_[p]);
    uint32_t r = 0;
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    if (len == 1 || p + len > in_.size()) return "U+FFFD";
    r = c & (0x7f >> len);
    for (int k = 1; k < len; ++k) r = (r << 6) | (static_cast<unsigned char>(in_[p + k]) & 0x3f);
    return absl::StrFormat("U+%04X", r);
  }

  bool LexInsideAction() {
    int paren = 0;
    while (true) {
      bool rtrim = false;
      if (AtRightDelim(pos_, &rtrim)) {
        if (paren != 0) return Error(pos_, "unclosed left paren");
        if (rtrim) pos_ += 2;
        Emit(Tok::kRightDelim, pos_, pos_ + 2);
        pos_ += 2;
        if (rtrim) pos_ = SkipLeadingSpace(pos_);
        return true;
      }
      if (pos_ >= in_.size()) return Error(pos_, "unclosed action");
      size_t start = pos_;
      char c = in_[pos_];
      if (IsSpace(c)) {
        size_t e = pos_;
        while (e < in_.size() && IsSpace(in_[e])) ++e;
        // A space before "-}}" belongs to the trim marker.
        bool trim = false;
        if (AtRightDelim(e - 1, &trim) && trim) {
          --e;
          if (e == pos_) continue;
        }
        Emit(Tok::kSpace, pos_, e);
        pos_ = e;
        continue;
      }
      ++pos_;
      switch (c) {
        case '=':
          Emit(Tok::kAssign, start, pos_);
          continue;
        case ':':
          if (pos_ >= in_.size() || in_[pos_] != '=') return Error(start, "expected :=");
          ++pos_;
          Emit(Tok::kDeclare, start, pos_);
          continue;
        case '|':
          Emit(Tok::kPipe, start, pos_);
          continue;
        case '"':
          while (true) {
            if (pos_ >= in_.size() || in_[pos_] == '\n') {
              return Error(start, "unterminated quoted string");
            }
            char q = in_[pos_++];
            if (q == '\\') {
              if (pos_ >= in_.size() || in_[pos_] == '\n') {
                return Error(start, "unterminated quoted string");
              }
              ++pos_;
            } else if (q == '"') {
              break;
            }
          }
          Emit(Tok::kString, start, pos_);
          continue;
        case '`': {
          size_t e = in_.find('`', pos_);
          if (e == std::string_view::npos) return Error(start, "unterminated raw quoted string");
          pos_ = e + 1;
          Emit(Tok::kRawString, start, pos_);
          continue;
        }
        case '\'':
          while (true) {
            if (pos_ >= in_.size() || in_[pos_] == '\n') {
              return Error(start, "unterminated character constant");
            }
            char q = in_[pos_++];
            if (q == '\\') {
              if (pos_ < in_.size()) ++pos_;
            } else if (q == '\'') {
              break;
            }
          }
          Emit(Tok::kCharConstant, start, pos_);
          continue;
        case '$':
        case '.': {
          if (c == '.' && pos_ < in_.size() && absl::ascii_isdigit(in_[pos_])) break;  // number
          if (AtTerminator(pos_)) {
            Emit(c == '.' ? Tok::kDot : Tok::kVariable, start, pos_);
            continue;
          }
          while (pos_ < in_.size() && IsAlnumAt(in_, pos_)) ++pos_;
          if (!AtTerminator(pos_)) return Error(start, "bad character " + RuneAt(pos_));
          Emit(c == '.' ? Tok::kField : Tok::kVariable, start, pos_);
          continue;
        }
        case '(':
          Emit(Tok::kLeftParen, start, pos_);
          if (++paren > kMaxDepth) return Error(start, "parentheses nested too deeply");
          continue;
        case ')':
          Emit(Tok::kRightParen, start, pos_);
          if (--paren < 0) return Error(start, "unexpected right paren");
          continue;
        default:
          break;
      }
      if (c == '.' || c == '+' || c == '-' || absl::ascii_isdigit(c)) {
        pos_ = start;
        if (!LexNumber())
          return Error(
              start, absl::StrCat("bad number syntax: ", GoQuote(in_.substr(start, pos_ - start))));
        Emit(Tok::kNumber, start, pos_);
        continue;
      }
      if (IsAlnumAt(in_, start)) {
        while (pos_ < in_.size() && IsAlnumAt(in_, pos_)) ++pos_;
        if (!AtTerminator(pos_)) return Error(start, "bad character " + RuneAt(pos_));
        std::string_view word = in_.substr(start, pos_ - start);
        static const std::pair<std::string_view, Tok> kKeywords[] = {
            {"block", Tok::kBlock},
            {"break", Tok::kBreak},
            {"continue", Tok::kContinue},
            {"define", Tok::kDefine},
            {"else", Tok::kElse},
            {"end", Tok::kEnd},
            {"if", Tok::kIf},
            {"range", Tok::kRange},
            {"nil", Tok::kNil},
            {"template", Tok::kTemplate},
            {"with", Tok::kWith},
        };
        Tok t = Tok::kIdentifier;
        for (const auto& [k, v] : kKeywords) {
          if (word == k) t = v;
        }
        if (word == "true" || word == "false") t = Tok::kBool;
        Emit(t, start, pos_);
        continue;
      }
      if (static_cast<unsigned char>(c) < 0x7f && static_cast<unsigned char>(c) >= 0x20) {
        Emit(Tok::kChar, start, pos_);
        continue;
      }
      return Error(start, "unrecognized character in action: " + RuneAt(start));
    }
  }

  bool LexNumber() {
    auto accept = [&](std::string_view set) {
      if (pos_ < in_.size() && set.find(in_[pos_]) != std::string_view::npos) {
        ++pos_;
        return true;
      }
      return false;
    };
    auto accept_run = [&](std::string_view set) {
      while (accept(set)) {
      }
    };
    accept("+-");
    std::string_view digits = "0123456789_";
    if (accept("0")) {
      if (accept("xX")) {
        digits = "0123456789abcdefABCDEF_";
      } else if (accept("oO")) {
        digits = "01234567_";
      } else if (accept("bB")) {
        digits = "01_";
      }
    }
    accept_run(digits);
    if (accept(".")) accept_run(digits);
    if (digits.size() == 11 && accept("eE")) {
      accept("+-");
      accept_run("0123456789_");
    }
    if (digits.size() == 23 && accept("pP")) {
      accept("+-");
      accept_run("0123456789_");
    }
    accept("i");
    if (pos_ < in_.size() && IsAlnumAt(in_, pos_)) {
      ++pos_;
      return false;
    }
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::vector<Token> out_;
};

// strconv.Unquote for "..." and `...` literals; '...' yields the rune value.
std::optional<std::string> Unquote(std::string_view q) {
  if (q.size() < 2) return std::nullopt;
  if (q[0] == '`') return std::string(q.substr(1, q.size() - 2));
  std::string out;
  std::string_view s = q.substr(1, q.size() - 2);
  auto append_rune = [&out](uint32_t r) {
    if (r < 0x80) {
      out.push_back(static_cast<char>(r));
    } else if (r < 0x800) {
      out.push_back(static_cast<char>(0xc0 | (r >> 6)));
      out.push_back(static_cast<char>(0x80 | (r & 0x3f)));
    } else if (r < 0x10000) {
      out.push_back(static_cast<char>(0xe0 | (r >> 12)));
      out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (r & 0x3f)));
    } else {
      out.push_back(static_cast<char>(0xf0 | (r >> 18)));
      out.push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3f)));
      out.push_back(static_cast<char>(0x80 | (r & 0x3f)));
    }
  };
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] != '\\') {
      if (s[k] == q[0]) return std::nullopt;
      out.push_back(s[k]);
      continue;
    }
    if (++k >= s.size()) return std::nullopt;
    char e = s[k];
    switch (e) {
      case 'a':
        out.push_back('\a');
        break;
      case 'b':
        out.push_back('\b');
        break;
      case 'f':
        out.push_back('\f');
        break;
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case 'v':
        out.push_back('\v');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '"':
      case '\'':
        if (e != q[0]) return std::nullopt;
        out.push_back(e);
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (k + n >= s.size() + 0 && k + n > s.size() - 1 + 1) return std::nullopt;
        uint32_t v = 0;
        for (size_t j = 1; j <= n; ++j) {
          if (k + j >= s.size() || !absl::ascii_isxdigit(s[k + j])) return std::nullopt;
          char h = s[k + j];
          v = v * 16 + (absl::ascii_isdigit(h) ? h - '0' : (absl::ascii_tolower(h) - 'a' + 10));
        }
        k += n;
        if (e == 'x') {
          out.push_back(static_cast<char>(v));
        } else {
          if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) return std::nullopt;
          append_rune(v);
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          uint32_t v = 0;
          for (size_t j = 0; j < 3; ++j) {
            if (k + j >= s.size() || s[k + j] < '0' || s[k + j] > '7') return std::nullopt;
            v = v * 8 + (s[k + j] - '0');
          }
          if (v > 255) return std::nullopt;
          k += 2;
          out.push_back(static_cast<char>(v));
          break;
        }
        return std::nullopt;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parser (text/template/parse/parse.go).

bool IsBuiltin(std::string_view name) {
  static const std::string_view kNames[] = {"and",   "or",     "not",     "len", "index",
                                            "print", "printf", "println", "eq",  "ne",
                                            "lt",    "le",     "gt",      "ge",  "urlquery"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}
bool IsUnsupportedBuiltin(std::string_view name) {
  return name == "html" || name == "js" || name == "slice" || name == "call";
}

class Parser {
 public:
  Parser(const ParsedTemplate* t, std::vector<Token> tokens) : t_(t), toks_(std::move(tokens)) {}

  absl::Status Parse(std::vector<Node>* root) {
    vars_.push_back("$");
    while (Peek().type != Tok::kEOF) {
      Node n;
      RETURN_IF_ERROR(TextOrAction(&n));
      if (n.type == Node::T::kEnd || n.type == Node::T::kElse) {
        return Errorf(absl::StrCat("unexpected ", n.str));
      }
      root->push_back(std::move(n));
    }
    return absl::OkStatus();
  }

 private:
  int LineOf(int pos) const {
    return 1 + static_cast<int>(std::upper_bound(t_->newlines.begin(), t_->newlines.end(),
                                                 static_cast<size_t>(pos)) -
                                t_->newlines.begin());
  }
  // Go reports the line of the most recently read token.
  absl::Status Errorf(std::string msg) const {
    int pos = last_ < toks_.size() ? toks_[last_].pos : 0;
    return absl::InvalidArgumentError(
        absl::StrCat("template: ", t_->name, ":", LineOf(pos), ": ", msg));
  }
  const Token& Peek() const { return toks_[std::min(i_, toks_.size() - 1)]; }
  const Token& Next() {
    last_ = std::min(i_, toks_.size() - 1);
    i_ = last_ + 1;
    return toks_[last_];
  }
  void Backup() { --i_; }
  const Token& PeekNonSpace() {
    while (Peek().type == Tok::kSpace) Next();
    return Peek();
  }
  const Token& NextNonSpace() {
    while (Peek().type == Tok::kSpace) Next();
    return Next();
  }
  static std::string TokString(const Token& t) {
    if (t.type == Tok::kEOF) return "EOF";
    if (t.type == Tok::kError) return t.val;
    // In Go's item order '.' and nil are keywords too.
    if (t.type > Tok::kKeyword || t.type == Tok::kDot || t.type == Tok::kNil) {
      return absl::StrCat("<", t.val, ">");
    }
    if (t.val.size() > 10) return GoQuote(t.val.substr(0, 10)) + "...";
    return GoQuote(t.val);
  }
  absl::Status Unexpected(const Token& t, std::string_view context) {
    if (t.type == Tok::kError) return Errorf(t.val);
    return Errorf(absl::StrCat("unexpected ", TokString(t), " in ", ToAbsl(context)));
  }
  absl::Status Expect(Tok type, std::string_view context, Token* out = nullptr) {
    const Token& t = NextNonSpace();
    if (t.type != type) return Unexpected(t, context);
    if (out != nullptr) *out = t;
    return absl::OkStatus();
  }

  absl::Status TextOrAction(Node* n) {
    const Token& t = NextNonSpace();
    switch (t.type) {
      case Tok::kText:
        n->type = Node::T::kText;
        n->pos = t.pos;
        n->text = t.val;
        n->str = t.val;
        return absl::OkStatus();
      case Tok::kLeftDelim:
        return Action(n);
      default:
        return Unexpected(t, "input");
    }
  }

  absl::Status Action(Node* n) {
    const Token& t = NextNonSpace();
    n->pos = t.pos;
    switch (t.type) {
      case Tok::kBlock:
      case Tok::kDefine:
      case Tok::kTemplate:
        return Errorf(absl::StrCat("{{", t.val, "}} is not supported by stakewatch"));
      case Tok::kBreak:
      case Tok::kContinue: {
        if (range_depth_ == 0) return Errorf(absl::StrCat("{{", t.val, "}} outside {{range}}"));
        n->type = t.type == Tok::kBreak ? Node::T::kBreak : Node::T::kContinue;
        n->str = absl::StrCat("{{", t.val, "}}");
        return Expect(Tok::kRightDelim, absl::StrCat("{{", t.val, "}}"));
      }
      case Tok::kElse: {
        n->type = Node::T::kElse;
        n->str = "{{else}}";
        if (PeekNonSpace().type == Tok::kIf) return absl::OkStatus();  // "else if"
        return Expect(Tok::kRightDelim, "else");
      }
      case Tok::kEnd:
        n->type = Node::T::kEnd;
        n->str = "{{end}}";
        return Expect(Tok::kRightDelim, "end");
      case Tok::kIf:
        return Control(n, Node::T::kIf, "if");
      case Tok::kRange:
        return Control(n, Node::T::kRange, "range");
      case Tok::kWith:
        return Control(n, Node::T::kWith, "with");
      default:
        break;
    }
    Backup();
    n->type = Node::T::kAction;
    n->pos = PeekNonSpace().pos;
    ASSIGN_OR_RETURN(n->pipe, Pipeline("command", Tok::kRightDelim));
    n->str = absl::StrCat("{{", n->pipe->str, "}}");
    return absl::OkStatus();
  }

  // List of nodes up to {{end}} or {{else}}, which is returned in *stop.
  absl::Status ItemList(std::vector<Node>* list, Node* stop) {
    while (PeekNonSpace().type != Tok::kEOF) {
      Node n;
      RETURN_IF_ERROR(TextOrAction(&n));
      if (n.type == Node::T::kEnd || n.type == Node::T::kElse) {
        *stop = std::move(n);
        return absl::OkStatus();
      }
      list->push_back(std::move(n));
    }
    if (Peek().type == Tok::kEOF && last_ + 1 < toks_.size()) Next();
    return Errorf("unexpected EOF");
  }

  absl::Status Control(Node* n, Node::T type, std::string_view context) {
    if (++depth_ > kMaxDepth) return Errorf("control structures nested too deeply");
    size_t saved_vars = vars_.size();
    n->type = type;
    ASSIGN_OR_RETURN(n->pipe, Pipeline(context, Tok::kRightDelim));
    n->pos = n->pipe->pos;
    if (type == Node::T::kRange) ++range_depth_;
    Node stop;
    RETURN_IF_ERROR(ItemList(&n->list, &stop));
    if (type == Node::T::kRange) --range_depth_;
    if (stop.type == Node::T::kElse) {
      if (type == Node::T::kIf && Peek().type == Tok::kIf) {
        Next();
        Node elseif;
        elseif.pos = stop.pos;
        RETURN_IF_ERROR(Control(&elseif, Node::T::kIf, "if"));
        n->else_list.push_back(std::move(elseif));
      } else {
        RETURN_IF_ERROR(ItemList(&n->else_list, &stop));
        if (stop.type != Node::T::kEnd)
          return Errorf(absl::StrCat("expected end; found ", stop.str));
      }
    }
    vars_.resize(saved_vars);
    --depth_;
    n->str = absl::StrCat("{{", ToAbsl(context), " ", n->pipe->str, "}}");
    return absl::OkStatus();
  }

  absl::StatusOr<std::shared_ptr<PipeNode>> Pipeline(std::string_view context, Tok end) {
    auto pipe = std::make_shared<PipeNode>();
    pipe->pos = PeekNonSpace().pos;
    while (PeekNonSpace().type == Tok::kVariable) {
      Token v = Next();
      Tok after_var = Peek().type;
      size_t mark = i_;
      const Token& next = PeekNonSpace();
      if (next.type == Tok::kAssign || next.type == Tok::kDeclare) {
        pipe->is_assign = next.type == Tok::kAssign;
        NextNonSpace();
        pipe->decl.push_back(v.val);
        vars_.push_back(v.val);
        break;
      }
      if (next.type == Tok::kChar && next.val == ",") {
        NextNonSpace();
        pipe->decl.push_back(v.val);
        if (context == "range" && pipe->decl.size() < 2) {
          Tok p = PeekNonSpace().type;
          if (p == Tok::kVariable || p == Tok::kRightDelim || p == Tok::kRightParen) continue;
          return Errorf("range can only initialize variables");
        }
        return Errorf(absl::StrCat("too many declarations in ", ToAbsl(context)));
      }
      // Not a declaration: push the variable (and the space after it) back.
      (void)after_var;
      i_ = mark - 1;
      break;
    }
    if (!pipe->decl.empty() && pipe->decl.size() == 2 && vars_.size() >= 1 &&
        std::find(vars_.begin(), vars_.end(), pipe->decl[0]) == vars_.end()) {
      vars_.push_back(pipe->decl[0]);
    }
    while (true) {
      const Token& t = NextNonSpace();
      if (t.type == end) {
        if (pipe->cmds.empty()) return Errorf(absl::StrCat("missing value for ", ToAbsl(context)));
        for (size_t k = 1; k < pipe->cmds.size(); ++k) {
          switch (pipe->cmds[k].args[0].type) {
            case ArgNode::T::kBool:
            case ArgNode::T::kDot:
            case ArgNode::T::kNil:
            case ArgNode::T::kNumber:
            case ArgNode::T::kString:
              return Errorf(absl::StrCat("non executable command in pipeline stage ", k + 1));
            default:
              break;
          }
        }
        std::vector<std::string> cmds;
        for (const CommandNode& c : pipe->cmds) cmds.push_back(c.str);
        pipe->str = absl::StrCat(
            pipe->decl.empty()
                ? ""
                : absl::StrCat(absl::StrJoin(pipe->decl, ", "), pipe->is_assign ? " = " : " := "),
            absl::StrJoin(cmds, " | "));
        return pipe;
      }
      switch (t.type) {
        case Tok::kBool:
        case Tok::kCharConstant:
        case Tok::kDot:
        case Tok::kField:
        case Tok::kIdentifier:
        case Tok::kNumber:
        case Tok::kNil:
        case Tok::kRawString:
        case Tok::kString:
        case Tok::kVariable:
        case Tok::kLeftParen: {
          Backup();
          CommandNode cmd;
          RETURN_IF_ERROR(Command(&cmd));
          pipe->cmds.push_back(std::move(cmd));
          break;
        }
        default:
          return Unexpected(t, context);
      }
    }
  }

  absl::Status Command(CommandNode* cmd) {
    cmd->pos = PeekNonSpace().pos;
    while (true) {
      PeekNonSpace();
      std::optional<ArgNode> operand;
      RETURN_IF_ERROR(Operand(&operand));
      if (operand) cmd->args.push_back(std::move(*operand));
      const Token& t = Next();
      if (t.type == Tok::kSpace) continue;
      if (t.type == Tok::kRightDelim || t.type == Tok::kRightParen) {
        Backup();
      } else if (t.type != Tok::kPipe) {
        return Unexpected(t, "operand");
      }
      break;
    }
    if (cmd->args.empty()) return Errorf("empty command");
    std::vector<std::string> parts;
    for (const ArgNode& a : cmd->args) {
      parts.push_back(a.type == ArgNode::T::kPipe ? absl::StrCat("(", a.str, ")") : a.str);
    }
    cmd->str = absl::StrJoin(parts, " ");
    return absl::OkStatus();
  }

  absl::Status Operand(std::optional<ArgNode>* out) {
    std::optional<ArgNode> term;
    RETURN_IF_ERROR(Term(&term));
    if (!term) return absl::OkStatus();
    if (Peek().type == Tok::kField) {
      int chain_pos = Peek().pos;
      std::vector<std::string> fields;
      std::string suffix;
      while (Peek().type == Tok::kField) {
        const Token& f = Next();
        fields.push_back(f.val.substr(1));
        suffix += f.val;
      }
      switch (term->type) {
        case ArgNode::T::kField:
        case ArgNode::T::kVariable:
          term->pos = chain_pos;
          term->fields.insert(term->fields.end(), fields.begin(), fields.end());
          term->str += suffix;
          break;
        case ArgNode::T::kBool:
        case ArgNode::T::kString:
        case ArgNode::T::kNumber:
        case ArgNode::T::kNil:
        case ArgNode::T::kDot:
          return Errorf(absl::StrCat("unexpected . after term ", GoQuote(term->str)));
        default: {
          ArgNode chain;
          chain.type = ArgNode::T::kChain;
          chain.pos = chain_pos;
          chain.fields = std::move(fields);
          chain.str = absl::StrCat(
              term->type == ArgNode::T::kPipe ? absl::StrCat("(", term->str, ")") : term->str,
              suffix);
          chain.base = std::make_shared<ArgNode>(std::move(*term));
          term = std::move(chain);
        }
      }
    }
    *out = std::move(term);
    return absl::OkStatus();
  }

  absl::Status Term(std::optional<ArgNode>* out) {
    const Token& t = NextNonSpace();
    ArgNode a;
    a.pos = t.pos;
    a.str = t.val;
    switch (t.type) {
      case Tok::kIdentifier:
        if (IsUnsupportedBuiltin(t.val)) {
          return Errorf(
              absl::StrCat("function ", GoQuote(t.val), " is not supported by stakewatch"));
        }
        if (!IsBuiltin(t.val) && internal::LookupFunc(t.val) == nullptr) {
          return Errorf(absl::StrCat("function ", GoQuote(t.val), " not defined"));
        }
        a.type = ArgNode::T::kIdentifier;
        a.ident = t.val;
        break;
      case Tok::kDot:
        a.type = ArgNode::T::kDot;
        break;
      case Tok::kNil:
        a.type = ArgNode::T::kNil;
        break;
      case Tok::kVariable: {
        // t.val is "$x" possibly followed by nothing; fields come as separate tokens.
        if (std::find(vars_.begin(), vars_.end(), t.val) == vars_.end()) {
          return Errorf(absl::StrCat("undefined variable ", GoQuote(t.val)));
        }
        a.type = ArgNode::T::kVariable;
        a.fields = {t.val};
        break;
      }
      case Tok::kField:
        a.type = ArgNode::T::kField;
        a.fields = {t.val.substr(1)};
        break;
      case Tok::kBool:
        a.type = ArgNode::T::kBool;
        a.constant = Value::Bool(t.val == "true");
        break;
      case Tok::kCharConstant:
      case Tok::kNumber: {
        a.type = ArgNode::T::kNumber;
        absl::StatusOr<Value> v = ParseNumber(t.val, t.type == Tok::kCharConstant);
        if (!v.ok()) return Errorf(std::string(v.status().message()));
        a.constant = *v;
        break;
      }
      case Tok::kLeftParen: {
        if (++depth_ > kMaxDepth) return Errorf("parentheses nested too deeply");
        ASSIGN_OR_RETURN(a.pipe, Pipeline("parenthesized pipeline", Tok::kRightParen));
        --depth_;
        a.type = ArgNode::T::kPipe;
        a.pos = a.pipe->pos;
        a.str = a.pipe->str;
        break;
      }
      case Tok::kString:
      case Tok::kRawString: {
        std::optional<std::string> s = Unquote(t.val);
        if (!s) return Errorf("invalid syntax");
        a.type = ArgNode::T::kString;
        a.constant = Value::String(std::move(*s));
        break;
      }
      default:
        Backup();
        return absl::OkStatus();
    }
    *out = std::move(a);
    return absl::OkStatus();
  }

  // parse.newNumber + exec.idealConstant: an int unless the text looks like a float.
  static absl::StatusOr<Value> ParseNumber(const std::string& text, bool is_char) {
    if (is_char) {
      std::optional<std::string> s = Unquote("\"" + text.substr(1, text.size() - 2) + "\"");
      auto malformed = [&text]() {
        return absl::InvalidArgumentError("malformed character constant: " + text);
      };
      if (!s || s->empty()) return malformed();
      unsigned char c = static_cast<unsigned char>((*s)[0]);
      size_t rune_len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
      if (s->size() != rune_len) return malformed();
      uint32_t r = c;
      if (c >= 0x80) {
        int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
        r = c & (0x7f >> len);
        for (int k = 1; k < len && k < static_cast<int>(s->size()); ++k) {
          r = (r << 6) | (static_cast<unsigned char>((*s)[k]) & 0x3f);
        }
      }
      return Value::Int(r);
    }
    if (!text.empty() && text.back() == 'i') {
      return absl::InvalidArgumentError("complex numbers are not supported: " + text);
    }
    std::string clean;
    for (char c : text) {
      if (c != '_') clean.push_back(c);
    }
    std::string lower = absl::AsciiStrToLower(clean);
    std::string_view body = lower;
    bool neg = false;
    if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
      neg = body[0] == '-';
      body.remove_prefix(1);
    }
    bool hex = body.substr(0, 2) == "0x";
    bool floaty = hex ? body.find('p') != std::string_view::npos
                      : body.find_first_of(".e") != std::string_view::npos;
    if (!floaty) {
      int base = 10;
      std::string_view digits = body;
      if (hex) {
        base = 16;
        digits.remove_prefix(2);
      } else if (body.substr(0, 2) == "0o") {
        base = 8;
        digits.remove_prefix(2);
      } else if (body.substr(0, 2) == "0b") {
        base = 2;
        digits.remove_prefix(2);
      } else if (body.size() > 1 && body[0] == '0') {
        base = 8;
        digits.remove_prefix(1);
      }
      uint64_t u = 0;
      auto res = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
      if (digits.empty() || res.ptr != digits.data() + digits.size()) {
        return absl::InvalidArgumentError("illegal number syntax: " + GoQuote(text));
      }
      if (res.ec != std::errc() || u > (neg ? 9223372036854775808ULL : 9223372036854775807ULL)) {
        return absl::InvalidArgumentError("integer overflow: " + GoQuote(text));
      }
      return Value::Int(neg ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u));
    }
    absl::StatusOr<double> f = internal::GoParseFloat(clean);
    if (!f.ok()) return absl::InvalidArgumentError("illegal number syntax: " + GoQuote(text));
    return Value::Float(*f);
  }

  const ParsedTemplate* t_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  size_t last_ = 0;
  std::vector<std::string> vars_;
  int range_depth_ = 0;
  int depth_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Interpreter (text/template/exec.go).

enum class Flow { kNormal, kBreak, kContinue };

struct NodeRef {
  int pos;
  const std::string* str;
};

class Exec {
 public:
  Exec(const ParsedTemplate* t, const TemplateData* data, const QueryFunc* query)
      : t_(t), ctx_{data, query} {}

  absl::StatusOr<std::string> Run() {
    Value dot = Value::Data(ctx_.data);
    vars_.push_back({"$", dot});
    for (const Node& n : t_->root) {
      ASSIGN_OR_RETURN(Flow f, Walk(dot, n));
      (void)f;
    }
    return std::move(out_);
  }

 private:
  void At(int pos, const std::string& str) { at_ = {pos, &str}; }
  absl::Status Errorf(absl::string_view msg) const {
    int pos = at_.pos;
    size_t nl = t_->text.rfind('\n', pos == 0 ? 0 : pos - 1);
    int line = 1 + static_cast<int>(std::count(t_->text.begin(), t_->text.begin() + pos, '\n'));
    int col = nl == std::string::npos || pos == 0 ? pos : pos - static_cast<int>(nl) - 1;
    std::string context = at_.str ? *at_.str : "";
    return absl::InvalidArgumentError(absl::StrCat("template: ", t_->name, ":", line, ":", col,
                                                   ": executing \"", t_->name, "\" at <", context,
                                                   ">: ", msg));
  }

  absl::StatusOr<Flow> WalkList(const Value& dot, const std::vector<Node>& list) {
    for (const Node& n : list) {
      ASSIGN_OR_RETURN(Flow f, Walk(dot, n));
      if (f != Flow::kNormal) return f;
    }
    return Flow::kNormal;
  }

  absl::StatusOr<Flow> Walk(const Value& dot, const Node& n) {
    switch (n.type) {
      case Node::T::kText:
        out_ += n.text;
        return Flow::kNormal;
      case Node::T::kAction: {
        At(n.pos, n.str);
        ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, *n.pipe));
        if (n.pipe->decl.empty()) out_ += GoPrintV(v, /*top_level=*/true);
        return Flow::kNormal;
      }
      case Node::T::kIf:
      case Node::T::kWith: {
        size_t mark = vars_.size();
        ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, *n.pipe));
        absl::StatusOr<Flow> f;
        if (IsTrue(v)) {
          f = WalkList(n.type == Node::T::kWith ? v : dot, n.list);
        } else {
          f = WalkList(dot, n.else_list);
        }
        vars_.resize(mark);
        return f;
      }
      case Node::T::kRange:
        return WalkRange(dot, n);
      case Node::T::kBreak:
        return Flow::kBreak;
      case Node::T::kContinue:
        return Flow::kContinue;
      default:
        return Errorf("unknown node");
    }
  }

  absl::StatusOr<Flow> WalkRange(const Value& dot, const Node& n) {
    At(n.pos, n.str);
    size_t outer = vars_.size();
    ASSIGN_OR_RETURN(Value v, EvalPipeline(dot, *n.pipe));
    size_t mark = vars_.size();
    auto one = [&](const Value& index, const Value& elem) -> absl::StatusOr<Flow> {
      if (!n.pipe->decl.empty()) vars_[vars_.size() - 1].second = elem;
      if (n.pipe->decl.size() > 1) vars_[vars_.size() - 2].second = index;
      absl::StatusOr<Flow> f = WalkList(elem, n.list);
      vars_.resize(mark);
      return f;
    };
    bool any = false;
    using K = Value::Kind;
    switch (v.kind) {
      case K::kSamples:
        if (v.samples) {
          for (size_t k = 0; k < v.samples->size(); ++k) {
            any = true;
            ASSIGN_OR_RETURN(
                Flow f, one(Value::Int(static_cast<int64_t>(k)), Value::Sample((*v.samples)[k])));
            if (f == Flow::kBreak) break;
          }
        }
        break;
      case K::kLabels:
        if (v.labels) {
          for (const auto& [key, val] : *v.labels) {
            any = true;
            ASSIGN_OR_RETURN(Flow f, one(Value::String(key), Value::String(val)));
            if (f == Flow::kBreak) break;
          }
        }
        break;
      case K::kArgs:
        if (v.args) {
          for (const auto& [key, val] : *v.args) {
            any = true;
            ASSIGN_OR_RETURN(Flow f, one(Value::String(key), val));
            if (f == Flow::kBreak) break;
          }
        }
        break;
      case K::kNil:
        break;
      default:
        return Errorf(absl::StrCat("range can't iterate over ", GoPrintV(v)));
    }
    absl::StatusOr<Flow> f = Flow::kNormal;
    if (!any) f = WalkList(dot, n.else_list);
    vars_.resize(outer);
    if (!f.ok()) return f.status();
    return Flow::kNormal;
  }

  absl::StatusOr<Value> EvalPipeline(const Value& dot, const PipeNode& pipe) {
    At(pipe.pos, pipe.str);
    std::optional<Value> value;
    for (const CommandNode& cmd : pipe.cmds) {
      ASSIGN_OR_RETURN(Value v, EvalCommand(dot, cmd, value));
      value = std::move(v);
    }
    for (const std::string& var : pipe.decl) {
      if (pipe.is_assign) {
        bool found = false;
        for (size_t k = vars_.size(); k-- > 0;) {
          if (vars_[k].first == var) {
            vars_[k].second = *value;
            found = true;
            break;
          }
        }
        if (!found) return Errorf(absl::StrCat("undefined variable: ", var));
      } else {
        vars_.push_back({var, *value});
      }
    }
    return *value;
  }

  absl::Status NotAFunction(const CommandNode& cmd, const std::optional<Value>& final) {
    if (cmd.args.size() > 1 || final) {
      return Errorf(absl::StrCat("can't give argument to non-function ", cmd.args[0].str));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Value> EvalCommand(const Value& dot, const CommandNode& cmd,
                                    const std::optional<Value>& final) {
    const ArgNode& first = cmd.args[0];
    switch (first.type) {
      case ArgNode::T::kField:
        At(first.pos, first.str);
        return EvalFieldChain(dot, dot, first.fields, 0, &cmd, final);
      case ArgNode::T::kChain:
        return EvalChain(dot, first, &cmd, final);
      case ArgNode::T::kIdentifier:
        return EvalFunction(dot, first, cmd, final);
      case ArgNode::T::kPipe: {
        At(first.pos, first.str);
        RETURN_IF_ERROR(NotAFunction(cmd, final));
        return EvalPipeline(dot, *first.pipe);
      }
      case ArgNode::T::kVariable:
        return EvalVariable(dot, first, &cmd, final);
      default:
        break;
    }
    At(first.pos, first.str);
    RETURN_IF_ERROR(NotAFunction(cmd, final));
    switch (first.type) {
      case ArgNode::T::kBool:
      case ArgNode::T::kNumber:
      case ArgNode::T::kString:
        return first.constant;
      case ArgNode::T::kDot:
        return dot;
      case ArgNode::T::kNil:
        return Errorf("nil is not a command");
      default:
        return Errorf(absl::StrCat("can't evaluate command ", GoQuote(first.str)));
    }
  }

  absl::StatusOr<Value> EvalVariable(const Value& dot, const ArgNode& a, const CommandNode* cmd,
                                     const std::optional<Value>& final) {
    At(a.pos, a.str);
    Value v;
    bool found = false;
    for (size_t k = vars_.size(); k-- > 0;) {
      if (vars_[k].first == a.fields[0]) {
        v = vars_[k].second;
        found = true;
        break;
      }
    }
    if (!found) return Errorf(absl::StrCat("undefined variable: ", a.fields[0]));
    if (a.fields.size() == 1) {
      if (cmd != nullptr) RETURN_IF_ERROR(NotAFunction(*cmd, final));
      return v;
    }
    return EvalFieldChain(dot, v, a.fields, 1, cmd, final);
  }

  absl::StatusOr<Value> EvalChain(const Value& dot, const ArgNode& a, const CommandNode* cmd,
                                  const std::optional<Value>& final) {
    At(a.pos, a.str);
    if (a.base->type == ArgNode::T::kNil) {
      return Errorf(absl::StrCat("indirection through explicit nil in ", a.str));
    }
    ASSIGN_OR_RETURN(Value base, EvalArg(dot, std::nullopt, *a.base));
    return EvalFieldChain(dot, base, a.fields, 0, cmd, final);
  }

  absl::StatusOr<Value> EvalFieldChain(const Value& dot, Value receiver,
                                       const std::vector<std::string>& fields, size_t from,
                                       const CommandNode* cmd, const std::optional<Value>& final) {
    for (size_t k = from; k + 1 < fields.size(); ++k) {
      ASSIGN_OR_RETURN(receiver, EvalField(dot, fields[k], receiver, nullptr, std::nullopt));
    }
    return EvalField(dot, fields.back(), receiver, cmd, final);
  }

  absl::StatusOr<Value> EvalField(const Value& dot, const std::string& name, const Value& recv,
                                  const CommandNode* cmd, const std::optional<Value>& final) {
    using K = Value::Kind;
    const bool has_args = (cmd != nullptr && cmd->args.size() > 1) || final.has_value();
    switch (recv.kind) {
      case K::kNil:
        return Value::Nil();
      case K::kTime:
        return TimeMethod(dot, recv, name, cmd, final);
      case K::kData: {
        if (name != "Labels" && name != "ExternalLabels" && name != "ExternalURL" &&
            name != "Value") {
          break;
        }
        if (has_args) return Errorf(name + " has arguments but cannot be invoked as function");
        const TemplateData* d = recv.data;
        if (name == "Labels") return Value::Labels(std::make_shared<LabelMap>(d->labels));
        if (name == "ExternalLabels") {
          return Value::Labels(std::make_shared<LabelMap>(d->external_labels));
        }
        if (name == "ExternalURL") return Value::String(d->external_url);
        return Value::Float(d->value);
      }
      case K::kSample:
        if (name != "Labels" && name != "Value") break;
        if (recv.sample == nullptr) {
          return Errorf(absl::StrCat("nil pointer evaluating *template.sample.", name));
        }
        if (has_args) return Errorf(name + " has arguments but cannot be invoked as function");
        if (name == "Labels") return Value::Labels(std::make_shared<LabelMap>(recv.sample->labels));
        return Value::Float(recv.sample->value);
      case K::kLabels: {
        if (has_args) return Errorf(name + " is not a method but has arguments");
        auto it = recv.labels->find(name);
        return Value::String(it == recv.labels->end() ? "" : it->second);  // missingkey=zero
      }
      case K::kArgs: {
        if (has_args) return Errorf(name + " is not a method but has arguments");
        for (const auto& [k, v] : *recv.args) {
          if (k == name) return v;
        }
        return Value::Nil();
      }
      default:
        break;
    }
    return Errorf(absl::StrCat("can't evaluate field ", name, " in type ", GoTypeName(recv)));
  }

  // Methods of *time.Time that templates use.
  absl::StatusOr<Value> TimeMethod(const Value& dot, const Value& t, const std::string& name,
                                   const CommandNode* cmd, const std::optional<Value>& final) {
    std::vector<Value> args;
    if (cmd != nullptr) {
      for (size_t k = 1; k < cmd->args.size(); ++k) {
        ASSIGN_OR_RETURN(Value v, EvalArg(dot, internal::ParamType::kString, cmd->args[k]));
        args.push_back(std::move(v));
      }
    }
    if (final) args.push_back(*final);
    size_t want = name == "Format" ? 1 : 0;
    if (name != "Format" && name != "Unix" && name != "UnixMilli" && name != "UnixNano" &&
        name != "String" && name != "UTC") {
      return Errorf(absl::StrCat("can't evaluate field ", name, " in type *time.Time"));
    }
    if (args.size() != want) {
      return Errorf(
          absl::StrCat("wrong number of args for ", name, ": want ", want, " got ", args.size()));
    }
    if (name == "Unix") return Value::Int(t.i);
    if (name == "UnixMilli") return Value::Int(t.i * 1000 + t.nsec / 1000000);
    if (name == "UnixNano") return Value::Int(t.i * 1000000000 + t.nsec);
    if (name == "String") return Value::String(GoTimeString(t.i, t.nsec));
    if (name == "UTC") return t;
    if (args[0].kind != Value::Kind::kString) {
      return Errorf(
          absl::StrCat("wrong type for value; expected string; got ", GoTypeName(args[0])));
    }
    return Value::String(FormatTime(t, args[0].s));
  }

  // time.Time.Format for the common layout elements, in UTC.
  static std::string FormatTime(const Value& t, std::string_view layout) {
    absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixSeconds(t.i), absl::UTCTimeZone());
    static const char* kMonths[] = {"January",   "February", "March",    "April",
                                    "May",       "June",     "July",     "August",
                                    "September", "October",  "November", "December"};
    static const char* kDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                  "Friday", "Saturday", "Sunday"};
    int wd = static_cast<int>(absl::GetWeekday(cs));  // absl: Monday == 0
    int hour12 = cs.hour() % 12 == 0 ? 12 : cs.hour() % 12;
    struct Elem {
      std::string_view token;
      std::string value;
    };
    const Elem elems[] = {
        {"January", kMonths[cs.month() - 1]},
        {"Jan", std::string(kMonths[cs.month() - 1]).substr(0, 3)},
        {"Monday", kDays[wd]},
        {"Mon", std::string(kDays[wd]).substr(0, 3)},
        {"2006", absl::StrFormat("%04d", cs.year())},
        {"Z07:00", "Z"},
        {"-07:00", "+00:00"},
        {"-0700", "+0000"},
        {"Z0700", "Z"},
        {"MST", "UTC"},
        {".000000000", absl::StrFormat(".%09d", t.nsec)},
        {".000000", absl::StrFormat(".%06d", t.nsec / 1000)},
        {".000", absl::StrFormat(".%03d", t.nsec / 1000000)},
        {"01", absl::StrFormat("%02d", cs.month())},
        {"02", absl::StrFormat("%02d", cs.day())},
        {"_2", absl::StrFormat("%2d", cs.day())},
        {"03", absl::StrFormat("%02d", hour12)},
        {"04", absl::StrFormat("%02d", cs.minute())},
        {"05", absl::StrFormat("%02d", cs.second())},
        {"06", absl::StrFormat("%02d", cs.year() % 100)},
        {"15", absl::StrFormat("%d", cs.hour())},
        {"PM", cs.hour() >= 12 ? "PM" : "AM"},
        {"pm", cs.hour() >= 12 ? "pm" : "am"},
        {"1", absl::StrCat(cs.month())},
        {"2", absl::StrCat(cs.day())},
        {"3", absl::StrCat(hour12)},
        {"4", absl::StrCat(cs.minute())},
        {"5", absl::StrCat(cs.second())},
    };
    std::string out;
    size_t i = 0;
    while (i < layout.size()) {
      bool matched = false;
      for (const Elem& e : elems) {
        if (layout.substr(i, e.token.size()) == e.token) {
          out += e.value;
          i += e.token.size();
          matched = true;
          break;
        }
      }
      if (!matched) out.push_back(layout[i++]);
    }
    return out;
  }

  absl::StatusOr<Value> EvalArg(const Value& dot, std::optional<internal::ParamType> type,
                                const ArgNode& a) {
    using P = internal::ParamType;
    At(a.pos, a.str);
    std::optional<Value> v;
    switch (a.type) {
      case ArgNode::T::kDot:
        v = dot;
        break;
      case ArgNode::T::kNil:
        if (!type || *type != P::kString) return Value::Nil();
        return Errorf("cannot assign nil to string");
      case ArgNode::T::kField: {
        ASSIGN_OR_RETURN(Value r, EvalFieldChain(dot, dot, a.fields, 0, nullptr, std::nullopt));
        v = std::move(r);
        break;
      }
      case ArgNode::T::kVariable: {
        ASSIGN_OR_RETURN(Value r, EvalVariable(dot, a, nullptr, std::nullopt));
        v = std::move(r);
        break;
      }
      case ArgNode::T::kPipe: {
        ASSIGN_OR_RETURN(Value r, EvalPipeline(dot, *a.pipe));
        v = std::move(r);
        break;
      }
      case ArgNode::T::kIdentifier: {
        CommandNode lone;
        lone.pos = a.pos;
        lone.str = a.str;
        lone.args = {a};
        ASSIGN_OR_RETURN(Value r, EvalFunction(dot, a, lone, std::nullopt));
        v = std::move(r);
        break;
      }
      case ArgNode::T::kChain: {
        ASSIGN_OR_RETURN(Value r, EvalChain(dot, a, nullptr, std::nullopt));
        v = std::move(r);
        break;
      }
      default:
        break;
    }
    if (v) return ValidateType(*v, type);
    // A literal constant.
    if (!type || *type == P::kAny) return a.constant;
    if (*type == P::kString) {
      if (a.type == ArgNode::T::kString) return a.constant;
      return Errorf(absl::StrCat("expected string; found ", a.str));
    }
    return Errorf(
        absl::StrCat("can't handle ", a.str, " for arg of type ", internal::ParamTypeName(*type)));
  }

  absl::StatusOr<Value> ValidateType(const Value& v, std::optional<internal::ParamType> type) {
    using P = internal::ParamType;
    if (!type || *type == P::kAny) return v;
    if (v.is_nil()) {
      if (*type == P::kString) return Errorf("invalid value; expected string");
      return *type == P::kSample ? Value::Sample(nullptr) : Value::Samples(nullptr);
    }
    bool ok = (*type == P::kString && v.kind == Value::Kind::kString && !v.html) ||
              (*type == P::kSample && v.kind == Value::Kind::kSample) ||
              (*type == P::kSamples && v.kind == Value::Kind::kSamples);
    if (!ok) {
      return Errorf(absl::StrCat("wrong type for value; expected ", internal::ParamTypeName(*type),
                                 "; got ", GoTypeName(v)));
    }
    return v;
  }

  absl::StatusOr<Value> EvalFunction(const Value& dot, const ArgNode& ident, const CommandNode& cmd,
                                     const std::optional<Value>& final) {
    At(ident.pos, ident.str);
    const std::string& name = ident.ident;
    const size_t nargs = cmd.args.size() - 1 + (final ? 1 : 0);
    auto error_calling = [&](absl::string_view msg) {
      At(cmd.pos, cmd.str);
      return Errorf(absl::StrCat("error calling ", name, ": ", msg));
    };
    auto want_at_least = [&](size_t n) -> absl::Status {
      if (nargs < n) {
        return Errorf(absl::StrCat("wrong number of args for ", name, ": want at least ", n,
                                   " got ", cmd.args.size() - 1));
      }
      return absl::OkStatus();
    };
    auto want_exactly = [&](size_t n) -> absl::Status {
      if (nargs != n) {
        return Errorf(
            absl::StrCat("wrong number of args for ", name, ": want ", n, " got ", nargs));
      }
      return absl::OkStatus();
    };
    // Evaluates all arguments (plus the piped final value) as interface{} values.
    auto eval_all = [&](std::optional<internal::ParamType> first_type,
                        std::vector<Value>* out) -> absl::Status {
      for (size_t k = 1; k < cmd.args.size(); ++k) {
        ASSIGN_OR_RETURN(Value v, EvalArg(dot, k == 1 ? first_type : std::nullopt, cmd.args[k]));
        out->push_back(std::move(v));
      }
      if (final) {
        if (out->empty() && first_type) {
          ASSIGN_OR_RETURN(Value v, ValidateType(*final, first_type));
          out->push_back(std::move(v));
        } else {
          out->push_back(*final);
        }
      }
      return absl::OkStatus();
    };

    if (name == "and" || name == "or") {
      RETURN_IF_ERROR(want_at_least(1));
      Value v;
      for (size_t k = 1; k < cmd.args.size(); ++k) {
        ASSIGN_OR_RETURN(v, EvalArg(dot, std::nullopt, cmd.args[k]));
        if (IsTrue(v) == (name == "or")) return v;
      }
      if (final) v = *final;
      return v;
    }
    if (internal::LookupFunc(name) == nullptr) {
      std::vector<Value> args;
      if (name == "not" || name == "len") {
        RETURN_IF_ERROR(want_exactly(1));
      } else if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
        RETURN_IF_ERROR(want_exactly(2));
      } else if (name == "index" || name == "eq" || name == "ne") {
        RETURN_IF_ERROR(name == "ne" ? want_exactly(2) : want_at_least(1));
      } else if (name == "printf") {
        RETURN_IF_ERROR(want_at_least(1));
      }
      RETURN_IF_ERROR(eval_all(
          name == "printf" ? std::optional(internal::ParamType::kString) : std::nullopt, &args));
      absl::StatusOr<Value> r = CallBuiltin(name, args);
      if (!r.ok()) return error_calling(r.status().message());
      return r;
    }
    const internal::FuncDef& def = *internal::LookupFunc(name);
    const size_t nparams = def.params.size();
    if (def.variadic) {
      RETURN_IF_ERROR(want_at_least(nparams - 1));
    } else {
      RETURN_IF_ERROR(want_exactly(nparams));
    }
    std::vector<Value> args;
    for (size_t k = 1; k < cmd.args.size(); ++k) {
      internal::ParamType pt = def.params[std::min(k - 1, nparams - 1)];
      ASSIGN_OR_RETURN(Value v, EvalArg(dot, pt, cmd.args[k]));
      args.push_back(std::move(v));
    }
    if (final) {
      internal::ParamType pt = def.params[std::min(args.size(), nparams - 1)];
      ASSIGN_OR_RETURN(Value v, ValidateType(*final, pt));
      args.push_back(std::move(v));
    }
    absl::StatusOr<Value> r = def.fn(args, ctx_);
    if (!r.ok()) return error_calling(r.status().message());
    return r;
  }

  // Go's basicKind for comparisons.
  enum class Basic { kBool, kInt, kFloat, kString, kInvalid };
  static Basic BasicKind(const Value& v) {
    switch (v.kind) {
      case Value::Kind::kBool:
        return Basic::kBool;
      case Value::Kind::kInt:
        return Basic::kInt;
      case Value::Kind::kFloat:
        return Basic::kFloat;
      case Value::Kind::kString:
        return Basic::kString;
      default:
        return Basic::kInvalid;
    }
  }

  static absl::StatusOr<bool> Eq(const Value& a, const std::vector<Value>& rest) {
    if (rest.empty()) return absl::InvalidArgumentError("missing argument for comparison");
    Basic k1 = BasicKind(a);
    for (const Value& b : rest) {
      Basic k2 = BasicKind(b);
      bool truth = false;
      if (k1 != k2) {
        if (!a.is_nil() && !b.is_nil()) {
          return absl::InvalidArgumentError("incompatible types for comparison");
        }
      } else {
        switch (k1) {
          case Basic::kBool:
            truth = a.b == b.b;
            break;
          case Basic::kInt:
            truth = a.i == b.i;
            break;
          case Basic::kFloat:
            truth = a.f == b.f;
            break;
          case Basic::kString:
            truth = a.s == b.s;
            break;
          case Basic::kInvalid:
            if (a.is_nil() || b.is_nil()) {
              truth = a.is_nil() && b.is_nil();
            } else {
              return absl::InvalidArgumentError("invalid type for comparison");
            }
        }
      }
      if (truth) return true;
    }
    return false;
  }

  static absl::StatusOr<bool> Lt(const Value& a, const Value& b) {
    Basic k1 = BasicKind(a), k2 = BasicKind(b);
    if (k1 == Basic::kInvalid || k2 == Basic::kInvalid) {
      return absl::InvalidArgumentError("invalid type for comparison");
    }
    if (k1 != k2) return absl::InvalidArgumentError("incompatible types for comparison");
    switch (k1) {
      case Basic::kInt:
        return a.i < b.i;
      case Basic::kFloat:
        return a.f < b.f;
      case Basic::kString:
        return a.s < b.s;
      default:
        return absl::InvalidArgumentError("invalid type for comparison");
    }
  }

  static absl::StatusOr<Value> CallBuiltin(const std::string& name, const std::vector<Value>& a) {
    if (name == "not") return Value::Bool(!IsTrue(a[0]));
    if (name == "print") return Value::String(GoSprint(a));
    if (name == "println") return Value::String(GoSprintln(a));
    if (name == "printf") {
      return Value::String(GoSprintf(a[0].s, std::vector<Value>(a.begin() + 1, a.end())));
    }
    if (name == "urlquery") {
      std::string s = a.size() == 1 && a[0].kind == Value::Kind::kString ? a[0].s : GoSprint(a);
      return Value::String(internal::QueryEscape(s));
    }
    if (name == "eq" || name == "ne") {
      absl::StatusOr<bool> r = Eq(a[0], std::vector<Value>(a.begin() + 1, a.end()));
      if (!r.ok()) return r.status();
      return Value::Bool(name == "eq" ? *r : !*r);
    }
    if (name == "lt" || name == "ge") {
      absl::StatusOr<bool> r = Lt(a[0], a[1]);
      if (!r.ok()) return r.status();
      return Value::Bool(name == "lt" ? *r : !*r);
    }
    if (name == "le" || name == "gt") {
      absl::StatusOr<bool> lt = Lt(a[0], a[1]);
      if (!lt.ok()) return lt.status();
      bool le = *lt;
      if (!le) {
        absl::StatusOr<bool> eq = Eq(a[0], {a[1]});
        if (!eq.ok()) return eq.status();
        le = *eq;
      }
      return Value::Bool(name == "le" ? le : !le);
    }
    if (name == "len") {
      switch (a[0].kind) {
        case Value::Kind::kString:
          return Value::Int(static_cast<int64_t>(a[0].s.size()));
        case Value::Kind::kLabels:
          return Value::Int(static_cast<int64_t>(a[0].labels->size()));
        case Value::Kind::kSamples:
          return Value::Int(a[0].samples ? static_cast<int64_t>(a[0].samples->size()) : 0);
        case Value::Kind::kArgs:
          return Value::Int(static_cast<int64_t>(a[0].args->size()));
        case Value::Kind::kNil:
          return absl::InvalidArgumentError("len of nil pointer");
        default:
          return absl::InvalidArgumentError(absl::StrCat("len of type ", GoTypeName(a[0])));
      }
    }
    if (name == "index") {
      Value item = a[0];
      if (item.is_nil()) return absl::InvalidArgumentError("index of untyped nil");
      for (size_t k = 1; k < a.size(); ++k) {
        const Value& key = a[k];
        switch (item.kind) {
          case Value::Kind::kLabels: {
            if (key.kind != Value::Kind::kString) {
              return absl::InvalidArgumentError(
                  absl::StrCat("value has type ", GoTypeName(key), "; should be string"));
            }
            auto it = item.labels->find(key.s);
            item = Value::String(it == item.labels->end() ? "" : it->second);
            break;
          }
          case Value::Kind::kArgs: {
            if (key.kind != Value::Kind::kString) {
              return absl::InvalidArgumentError(
                  absl::StrCat("value has type ", GoTypeName(key), "; should be string"));
            }
            Value found;
            for (const auto& [name2, v] : *item.args) {
              if (name2 == key.s) found = v;
            }
            item = found;
            break;
          }
          case Value::Kind::kSamples:
          case Value::Kind::kString: {
            if (key.kind != Value::Kind::kInt) {
              return absl::InvalidArgumentError(
                  absl::StrCat("cannot index slice/array with type ", GoTypeName(key)));
            }
            int64_t len = item.kind == Value::Kind::kString
                              ? static_cast<int64_t>(item.s.size())
                              : (item.samples ? static_cast<int64_t>(item.samples->size()) : 0);
            if (key.i < 0 || key.i >= len) {
              return absl::InvalidArgumentError(absl::StrCat("index out of range: ", key.i));
            }
            if (item.kind == Value::Kind::kString) {
              item = Value::Int(static_cast<unsigned char>(item.s[key.i]));  // a byte (uint8)
            } else {
              item = Value::Sample((*item.samples)[key.i]);
            }
            break;
          }
          default:
            return absl::InvalidArgumentError(
                absl::StrCat("can't index item of type ", GoTypeName(item)));
        }
      }
      return item;
    }
    return absl::InternalError("unknown builtin " + name);
  }

  const ParsedTemplate* t_;
  internal::CallContext ctx_;
  std::vector<std::pair<std::string, Value>> vars_;
  std::string out_;
  NodeRef at_{0, nullptr};
};

}  // namespace

// ---------------------------------------------------------------------------------------------

Template::Template(std::string name) : name_(std::move(name)) {}

absl::Status Template::Parse(std::string_view text) {
  tree_.reset();
  auto t = std::make_shared<ParsedTemplate>();
  t->name = name_;
  t->text = std::string(text);
  for (size_t k = 0; k < text.size(); ++k) {
    if (text[k] == '\n') t->newlines.push_back(k);
  }
  Parser p(t.get(), Lexer(t->text).Run());
  RETURN_IF_ERROR(p.Parse(&t->root));
  tree_ = std::move(t);
  return absl::OkStatus();
}

absl::StatusOr<Template> Template::ParseAlert(std::string_view rule_name, std::string_view text) {
  Template t(absl::StrCat("__alert_", ToAbsl(rule_name)));
  RETURN_IF_ERROR(t.Parse(absl::StrCat(ToAbsl(kAlertTemplatePrefix), ToAbsl(text))));
  return t;
}

absl::StatusOr<std::string> Template::Execute(const TemplateData& data,
                                              const QueryFunc& query) const {
  if (tree_ == nullptr) return absl::FailedPreconditionError("template was not parsed");
  Exec e(tree_.get(), &data, &query);
  return e.Run();
}

std::string Template::Expand(const TemplateData& data, const QueryFunc& query) const {
  absl::StatusOr<std::string> r = Execute(data, query);
  if (r.ok()) return *std::move(r);
  return absl::StrCat("<error expanding template: error executing template ", name_, ": ",
                      r.status().message(), ">");
}

}  // namespace stakewatch::tmpl
