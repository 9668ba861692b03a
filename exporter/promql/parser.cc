#include "promql/parser.h"

#include <locale.h>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/strings.h"
#include "promql/functions.h"
#include "promql/lexer.h"
#include "re2/re2.h"

namespace stakewatch::promql {
namespace {

bool IsSpaceChar(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// model.LabelName.IsValid: ^[a-zA-Z_][a-zA-Z0-9_]*$.
bool IsLabelName(std::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Prometheus's util/strutil.Unquote: Go string-literal unquoting for ', " and ` quoted strings.
bool Unquote(std::string_view s, std::string* out) {
  out->clear();
  if (s.size() < 2) return false;
  const char quote = s[0];
  if (quote != s.back()) return false;
  s = s.substr(1, s.size() - 2);
  if (quote == '`') {
    if (s.find('`') != std::string_view::npos) return false;
    out->assign(s);
    return true;
  }
  if (quote != '"' && quote != '\'') return false;
  if (s.find('\n') != std::string_view::npos) return false;
  auto unhex = [](char c, uint32_t* v) {
    if (c >= '0' && c <= '9')
      *v = c - '0';
    else if (c >= 'a' && c <= 'f')
      *v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      *v = c - 'A' + 10;
    else
      return false;
    return true;
  };
  auto encode = [out](uint32_t r) {
    if (r >= 0xD800 && r < 0xE000) r = 0xFFFD;  // utf8.EncodeRune of a surrogate.
    if (r < 0x80) {
      *out += static_cast<char>(r);
    } else if (r < 0x800) {
      *out += static_cast<char>(0xC0 | (r >> 6));
      *out += static_cast<char>(0x80 | (r & 0x3F));
    } else if (r < 0x10000) {
      *out += static_cast<char>(0xE0 | (r >> 12));
      *out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (r & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | (r >> 18));
      *out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
      *out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (r & 0x3F));
    }
  };
  while (!s.empty()) {
    const char c = s[0];
    if (c == quote) return false;
    if (c != '\\') {
      *out += c;  // Multi-byte UTF-8 is copied byte by byte unchanged.
      s.remove_prefix(1);
      continue;
    }
    if (s.size() <= 1) return false;
    const char e = s[1];
    s.remove_prefix(2);
    switch (e) {
      case 'a':
        *out += '\a';
        break;
      case 'b':
        *out += '\b';
        break;
      case 'f':
        *out += '\f';
        break;
      case 'n':
        *out += '\n';
        break;
      case 'r':
        *out += '\r';
        break;
      case 't':
        *out += '\t';
        break;
      case 'v':
        *out += '\v';
        break;
      case '\\':
        *out += '\\';
        break;
      case '\'':
      case '"':
        if (e != quote) return false;
        *out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (s.size() < n) return false;
        uint32_t v = 0;
        for (size_t j = 0; j < n; ++j) {
          uint32_t x;
          if (!unhex(s[j], &x)) return false;
          v = v << 4 | x;
        }
        s.remove_prefix(n);
        if (e == 'x') {
          *out += static_cast<char>(v);
        } else {
          if (v > 0x10FFFF) return false;
          encode(v);
        }
        break;
      }
      case '0':
      case '1':
      case '2':
      case '3':
      case '4':
      case '5':
      case '6':
      case '7': {
        uint32_t v = e - '0';
        if (s.size() < 2) return false;
        for (int j = 0; j < 2; ++j) {
          const int x = s[j] - '0';
          if (x < 0 || x > 7) return false;
          v = (v << 3) | x;
        }
        s.remove_prefix(2);
        if (v > 255) return false;
        *out += static_cast<char>(v);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

// model.ParseDuration + the parser's "must be greater than 0" rule. Returns ms.
bool ParseDurationMs(std::string_view ds, int64_t* out, std::string* err) {
  // ^(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$
  static constexpr struct {
    std::string_view unit;
    int64_t mult;
  } kUnits[] = {{"y", 1000LL * 60 * 60 * 24 * 365},
                {"w", 1000LL * 60 * 60 * 24 * 7},
                {"d", 1000LL * 60 * 60 * 24},
                {"h", 1000LL * 60 * 60},
                {"m", 1000LL * 60},
                {"s", 1000},
                {"ms", 1}};
  if (ds == "0") {
    *out = 0;
  } else if (ds.empty()) {
    *err = "empty duration string";
    return false;
  } else {
    std::string_view rest = ds;
    size_t next_unit = 0;
    bool overflow = false;
    int64_t total = 0;  // ms; kept saturated-safe below.
    while (!rest.empty()) {
      size_t i = 0;
      while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') ++i;
      if (i == 0) break;
      std::string_view digits = rest.substr(0, i);
      std::string_view after = rest.substr(i);
      size_t u = next_unit;
      for (; u < std::size(kUnits); ++u) {
        const std::string_view unit = kUnits[u].unit;
        if (after.substr(0, unit.size()) != unit) continue;
        // "m" must not swallow the "m" of "ms".
        if (unit == "m" && after.substr(0, 2) == "ms") continue;
        break;
      }
      if (u == std::size(kUnits)) {
        rest = ds;  // Force the no-match error.
        break;
      }
      // strconv.Atoi saturates on overflow; the Go check then reports "duration out of range".
      uint64_t n = 0;
      bool big = false;
      for (char c : digits) {
        if (n > (static_cast<uint64_t>(INT64_MAX) - 9) / 10) big = true;
        if (!big) n = n * 10 + (c - '0');
      }
      const int64_t mult = kUnits[u].mult;
      if (big || n > static_cast<uint64_t>(INT64_MAX / 1000000 / mult)) {
        overflow = true;
      } else {
        const int64_t add = static_cast<int64_t>(n) * mult;
        if (total > INT64_MAX / 1000000 - add)
          overflow = true;
        else
          total += add;
      }
      rest = after.substr(kUnits[u].unit.size());
      next_unit = u + 1;
    }
    if (!rest.empty()) {
      *err = absl::StrCat("not a valid duration string: ", GoQuote(ds));
      return false;
    }
    if (overflow) {
      *err = "duration out of range";
      return false;
    }
    *out = total;
  }
  if (*out == 0) {
    *err = "duration must be greater than 0";
    return false;
  }
  return true;
}

// Go's strconv.ParseInt(s, 0, 64) followed by ParseFloat(s, 64) (parser.number).
bool ParseNumber(std::string_view sv, double* out, std::string* err) {
  const std::string s(sv);
  // ParseInt with base prefix: 0x, 0o, 0b, leading 0 = octal.
  {
    std::string body = s;
    int base = 10;
    if (body.size() > 1 && body[0] == '0') {
      const char p = body[1];
      if (p == 'x' || p == 'X')
        base = 16, body = body.substr(2);
      else if (p == 'o' || p == 'O')
        base = 8, body = body.substr(2);
      else if (p == 'b' || p == 'B')
        base = 2, body = body.substr(2);
      else
        base = 8, body = body.substr(1);
    }
    bool ok = !body.empty();
    for (char c : body) {
      int d = -1;
      if (c >= '0' && c <= '9')
        d = c - '0';
      else if (c >= 'a' && c <= 'f')
        d = c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        d = c - 'A' + 10;
      if (d < 0 || d >= base) ok = false;
    }
    if (ok) {
      errno = 0;
      char* end = nullptr;
      const long long v = std::strtoll(body.c_str(), &end, base);
      if (errno == 0 && end == body.c_str() + body.size()) {
        *out = static_cast<double>(v);
        return true;
      }
    }
  }
  // ParseFloat. The lexer only produces decimal/hex digits, '.', exponents, Inf and NaN.
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "inf" || lower == "+inf" || lower == "infinity") {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (lower == "nan") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  const bool hex = lower.size() > 1 && lower[0] == '0' && lower[1] == 'x';
  bool valid = !lower.empty() && (!hex || lower.find('p') != std::string::npos);
  if (valid && !hex) {
    for (char c : lower) {
      if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == '+' || c == '-')) valid = false;
    }
  }
  char* end = nullptr;
  errno = 0;
  // strtod_l with the "C" locale: the process locale must not change the decimal point.
  static const locale_t kCLocale = newlocale(LC_NUMERIC_MASK, "C", static_cast<locale_t>(0));
  const double v = valid ? strtod_l(s.c_str(), &end, kCLocale) : 0;
  if (!valid || end != s.c_str() + s.size()) {
    *err = absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(s), ": invalid syntax");
    return false;
  }
  if (errno == ERANGE && std::isinf(v)) {
    *err = absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(s), ": value out of range");
    return false;
  }
  *out = v;
  return true;
}

// Go's regexp/syntax error-code texts for RE2's error codes.
std::string_view RegexpErrorText(RE2::ErrorCode code) {
  switch (code) {
    case RE2::ErrorBadEscape:
      return "invalid escape sequence";
    case RE2::ErrorBadCharClass:
      return "invalid character class";
    case RE2::ErrorBadCharRange:
      return "invalid character class range";
    case RE2::ErrorMissingBracket:
      return "missing closing ]";
    case RE2::ErrorMissingParen:
      return "missing closing )";
    case RE2::ErrorUnexpectedParen:
      return "unexpected )";
    case RE2::ErrorTrailingBackslash:
      return "trailing backslash at end of expression";
    case RE2::ErrorRepeatArgument:
      return "missing argument to repetition operator";
    case RE2::ErrorRepeatSize:
      return "invalid repeat count";
    case RE2::ErrorRepeatOp:
      return "invalid nested repetition operator";
    case RE2::ErrorBadPerlOp:
      return "invalid or unsupported Perl syntax";
    case RE2::ErrorBadUTF8:
      return "invalid UTF-8";
    case RE2::ErrorBadNamedCapture:
      return "invalid named capture";
    default:
      return "internal error";
  }
}

// The float -> int64 conversion Go performs on amd64 (out of range gives INT64_MIN).
int64_t GoFloatToInt64(double v) {
  if (!(v > -9.2233720368547758e18 && v < 9.2233720368547758e18)) return INT64_MIN;
  return static_cast<int64_t>(v);
}

// Go's %f for the timestamp-out-of-bounds error.
std::string GoPercentF(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return absl::StrFormat("%f", v);
}

constexpr int kPrecOr = 1, kPrecAndUnless = 2, kPrecCmp = 3, kPrecAdd = 4, kPrecMul = 5,
              kPrecPow = 6;

bool BinaryOpOf(ItemType t, BinaryOp* op, int* prec) {
  switch (t) {
    case ItemType::kLor:
      *op = BinaryOp::kOr, *prec = kPrecOr;
      return true;
    case ItemType::kLand:
      *op = BinaryOp::kAnd, *prec = kPrecAndUnless;
      return true;
    case ItemType::kLunless:
      *op = BinaryOp::kUnless, *prec = kPrecAndUnless;
      return true;
    case ItemType::kEqlc:
      *op = BinaryOp::kEqlc, *prec = kPrecCmp;
      return true;
    case ItemType::kNeq:
      *op = BinaryOp::kNeq, *prec = kPrecCmp;
      return true;
    case ItemType::kLte:
      *op = BinaryOp::kLte, *prec = kPrecCmp;
      return true;
    case ItemType::kLss:
      *op = BinaryOp::kLss, *prec = kPrecCmp;
      return true;
    case ItemType::kGte:
      *op = BinaryOp::kGte, *prec = kPrecCmp;
      return true;
    case ItemType::kGtr:
      *op = BinaryOp::kGtr, *prec = kPrecCmp;
      return true;
    case ItemType::kAdd:
      *op = BinaryOp::kAdd, *prec = kPrecAdd;
      return true;
    case ItemType::kSub:
      *op = BinaryOp::kSub, *prec = kPrecAdd;
      return true;
    case ItemType::kMul:
      *op = BinaryOp::kMul, *prec = kPrecMul;
      return true;
    case ItemType::kDiv:
      *op = BinaryOp::kDiv, *prec = kPrecMul;
      return true;
    case ItemType::kMod:
      *op = BinaryOp::kMod, *prec = kPrecMul;
      return true;
    case ItemType::kAtan2:
      *op = BinaryOp::kAtan2, *prec = kPrecMul;
      return true;
    case ItemType::kPow:
      *op = BinaryOp::kPow, *prec = kPrecPow;
      return true;
    default:
      return false;
  }
}

bool AggregateOpOf(ItemType t, AggregateOp* op) {
  switch (t) {
    case ItemType::kSum:
      *op = AggregateOp::kSum;
      return true;
    case ItemType::kAvg:
      *op = AggregateOp::kAvg;
      return true;
    case ItemType::kCount:
      *op = AggregateOp::kCount;
      return true;
    case ItemType::kMin:
      *op = AggregateOp::kMin;
      return true;
    case ItemType::kMax:
      *op = AggregateOp::kMax;
      return true;
    case ItemType::kGroup:
      *op = AggregateOp::kGroup;
      return true;
    case ItemType::kStddev:
      *op = AggregateOp::kStddev;
      return true;
    case ItemType::kStdvar:
      *op = AggregateOp::kStdvar;
      return true;
    case ItemType::kTopk:
      *op = AggregateOp::kTopk;
      return true;
    case ItemType::kBottomk:
      *op = AggregateOp::kBottomk;
      return true;
    case ItemType::kCountValues:
      *op = AggregateOp::kCountValues;
      return true;
    case ItemType::kQuantile:
      *op = AggregateOp::kQuantile;
      return true;
    default:
      return false;
  }
}

// Tokens the grammar accepts as a metric name (metric_identifier).
bool IsMetricIdentifier(ItemType t) {
  switch (t) {
    case ItemType::kIdentifier:
    case ItemType::kMetricIdentifier:
    case ItemType::kBy:
    case ItemType::kLand:
    case ItemType::kLor:
    case ItemType::kLunless:
    case ItemType::kOffset:
    case ItemType::kWithout:
    case ItemType::kStart:
    case ItemType::kEnd:
      return true;
    default:
      return IsAggregator(t);
  }
}

// Tokens the grammar accepts as a grouping label (maybe_label).
bool IsMaybeLabel(ItemType t) {
  switch (t) {
    case ItemType::kIdentifier:
    case ItemType::kMetricIdentifier:
    case ItemType::kBool:
    case ItemType::kBy:
    case ItemType::kGroupLeft:
    case ItemType::kGroupRight:
    case ItemType::kIgnoring:
    case ItemType::kLand:
    case ItemType::kLor:
    case ItemType::kLunless:
    case ItemType::kOffset:
    case ItemType::kOn:
    case ItemType::kWithout:
    case ItemType::kStart:
    case ItemType::kEnd:
    case ItemType::kAtan2:
      return true;
    default:
      return IsAggregator(t);
  }
}

int ItemEnd(const Item& it) { return it.pos + static_cast<int>(it.val.size()); }

ExprPtr MakeExpr(Expr::Node node, int start, int end) {
  auto e = std::make_unique<Expr>();
  e->node = std::move(node);
  e->pos = {start, end};
  return e;
}

class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input), lex_(input) { Advance(); }

  absl::StatusOr<ExprPtr> ParseTop() {
    if (cur_.type == ItemType::kEOF) {
      AddError(0, "no expression found in input");
      return Finish();
    }
    ExprPtr e = ParseExpr(kPrecOr, 0);
    if (!failed_ && cur_.type != ItemType::kEOF) Unexpected("", "");
    if (first_error_.empty()) Check(*e);
    if (!first_error_.empty()) return Finish();
    return e;
  }

  absl::StatusOr<std::vector<Matcher>> ParseSelectorTop() {
    ExprPtr e;
    if (cur_.type == ItemType::kLeftBrace || IsMetricIdentifier(cur_.type)) {
      e = ParseSelector();
    } else {
      Unexpected("", "");
    }
    if (!failed_ && cur_.type != ItemType::kEOF) Unexpected("", "");
    if (!first_error_.empty()) return Finish();
    return std::move(std::get<VectorSelector>(e->node).matchers);
  }

 private:
  absl::Status Finish() {
    int line = 1;
    int last_break = -1;
    std::string pos;
    if (error_pos_ < 0 || error_pos_ > static_cast<int>(input_.size())) {
      pos = "invalid position:";
    } else {
      for (int i = 0; i < error_pos_; ++i) {
        if (input_[i] == '\n') {
          last_break = i;
          ++line;
        }
      }
      pos = absl::StrFormat("%d:%d:", line, error_pos_ - last_break);
    }
    return absl::InvalidArgumentError(absl::StrCat(pos, " parse error: ", first_error_));
  }

  void AddError(int pos, std::string msg) {
    if (!first_error_.empty()) return;
    first_error_ = std::move(msg);
    error_pos_ = pos;
  }

  // A syntax error: Prometheus's parser.unexpected(context, expected) for the current token.
  // Parsing stops. Returns nullptr for convenience.
  ExprPtr Unexpected(std::string_view context, std::string_view expected) {
    failed_ = true;
    if (cur_.type == ItemType::kError) return nullptr;  // Already reported by Advance().
    std::string msg = absl::StrCat("unexpected ", DescribeItem(cur_));
    if (!context.empty()) absl::StrAppend(&msg, " in ", ToAbsl(context));
    if (!expected.empty()) absl::StrAppend(&msg, ", expected ", ToAbsl(expected));
    AddError(cur_.pos, std::move(msg));
    return nullptr;
  }

  void Advance() {
    prev_end_ = cur_.type == ItemType::kEOF ? prev_end_ : ItemEnd(cur_);
    do {
      cur_ = lex_.Next();
    } while (cur_.type == ItemType::kComment);
    if (cur_.type == ItemType::kError) {
      AddError(cur_.pos, cur_.error);
      failed_ = true;
    }
  }

  bool TooDeep(int depth) {
    if (depth <= kMaxNestingDepth) return false;
    failed_ = true;
    AddError(cur_.pos, absl::StrFormat("expression nesting too deep (max %d)", kMaxNestingDepth));
    return true;
  }

  ExprPtr ParseExpr(int min_prec, int depth) {
    if (TooDeep(depth)) return nullptr;
    ExprPtr lhs = ParseUnary(depth);
    int chain = 0;
    while (lhs != nullptr && !failed_) {
      BinaryOp op;
      int prec;
      if (!BinaryOpOf(cur_.type, &op, &prec) || prec < min_prec) break;
      ++chain;
      if (TooDeep(depth + chain)) return nullptr;
      Advance();
      BinaryExpr bin;
      bin.op = op;
      VectorMatching vm;
      if (cur_.type == ItemType::kBool) {
        bin.return_bool = true;
        Advance();
      }
      if (cur_.type == ItemType::kOn || cur_.type == ItemType::kIgnoring) {
        vm.on = cur_.type == ItemType::kOn;
        Advance();
        if (!ParseGroupingLabels(&vm.matching_labels)) return nullptr;
        if (cur_.type == ItemType::kGroupLeft || cur_.type == ItemType::kGroupRight) {
          vm.card = cur_.type == ItemType::kGroupLeft ? VectorMatchCardinality::kManyToOne
                                                      : VectorMatchCardinality::kOneToMany;
          Advance();
          if (cur_.type == ItemType::kLeftParen && !ParseGroupingLabels(&vm.include)) {
            return nullptr;
          }
        }
      }
      bin.vector_matching = std::move(vm);
      // ^ is right-associative; everything else is left-associative.
      ExprPtr rhs = ParseExpr(op == BinaryOp::kPow ? prec : prec + 1, depth + chain + 1);
      if (rhs == nullptr) return nullptr;
      const int start = lhs->pos.start;
      const int end = rhs->pos.end;
      bin.lhs = std::move(lhs);
      bin.rhs = std::move(rhs);
      lhs = MakeExpr(std::move(bin), start, end);
    }
    return failed_ ? nullptr : std::move(lhs);
  }

  ExprPtr ParseUnary(int depth) {
    if (cur_.type != ItemType::kAdd && cur_.type != ItemType::kSub) return ParsePostfix(depth);
    const Item op = cur_;
    Advance();
    // unary_op expr %prec MUL: only ^ binds tighter than a unary operator.
    ExprPtr operand = ParseExpr(kPrecPow, depth + 1);
    if (operand == nullptr) return nullptr;
    if (auto* num = std::get_if<NumberLiteral>(&operand->node)) {
      if (op.type == ItemType::kSub) num->value *= -1;
      operand->pos.start = op.pos;
      return operand;
    }
    const int end = operand->pos.end;
    UnaryExpr u;
    u.op = op.type == ItemType::kSub ? UnaryOp::kSub : UnaryOp::kAdd;
    u.expr = std::move(operand);
    return MakeExpr(std::move(u), op.pos, end);
  }

  ExprPtr ParsePostfix(int depth) {
    ExprPtr e = ParsePrimary(depth);
    while (e != nullptr && !failed_) {
      switch (cur_.type) {
        case ItemType::kLeftBracket:
          e = ParseRangeOrSubquery(std::move(e));
          break;
        case ItemType::kOffset:
          e = ParseOffset(std::move(e));
          break;
        case ItemType::kAt:
          e = ParseAt(std::move(e));
          break;
        default:
          return e;
      }
    }
    return failed_ ? nullptr : std::move(e);
  }

  ExprPtr ParsePrimary(int depth) {
    const Item tok = cur_;
    switch (tok.type) {
      case ItemType::kNumber: {
        Advance();
        double v = 0;
        std::string err;
        if (!ParseNumber(tok.val, &v, &err)) AddError(tok.pos, "error parsing number: " + err);
        return MakeExpr(NumberLiteral{v}, tok.pos, ItemEnd(tok));
      }
      case ItemType::kString: {
        Advance();
        return MakeExpr(StringLiteral{UnquoteToken(tok)}, tok.pos, ItemEnd(tok));
      }
      case ItemType::kLeftParen: {
        Advance();
        ExprPtr inner = ParseExpr(kPrecOr, depth + 1);
        if (inner == nullptr) return nullptr;
        if (cur_.type != ItemType::kRightParen) return Unexpected("", "");
        const int end = ItemEnd(cur_);
        Advance();
        return MakeExpr(ParenExpr{std::move(inner)}, tok.pos, end);
      }
      case ItemType::kLeftBrace:
        return ParseSelector();
      case ItemType::kIdentifier:
        Advance();
        if (cur_.type == ItemType::kLeftParen) return ParseCall(tok, depth);
        return ParseSelectorAfterName(tok);
      default:
        break;
    }
    AggregateOp agg;
    if (AggregateOpOf(tok.type, &agg)) {
      Advance();
      if (cur_.type == ItemType::kLeftParen || cur_.type == ItemType::kBy ||
          cur_.type == ItemType::kWithout) {
        return ParseAggregate(tok, agg, depth);
      }
      return ParseSelectorAfterName(tok);
    }
    if (IsMetricIdentifier(tok.type)) {
      Advance();
      return ParseSelectorAfterName(tok);
    }
    return Unexpected("", "");
  }

  std::string UnquoteToken(const Item& tok) {
    std::string out;
    if (!Unquote(tok.val, &out)) {
      AddError(tok.pos,
               absl::StrCat("error unquoting string ", GoQuote(tok.val), ": invalid syntax"));
    }
    return out;
  }

  // `{...}` with no name, or a full selector at the start of ParseMetricSelector.
  ExprPtr ParseSelector() {
    if (cur_.type == ItemType::kLeftBrace) {
      const int start = cur_.pos;
      VectorSelector vs;
      int end = 0;
      if (!ParseLabelMatchers(&vs.matchers, &end)) return nullptr;
      return MakeExpr(std::move(vs), start, end);
    }
    const Item name = cur_;
    Advance();
    return ParseSelectorAfterName(name);
  }

  ExprPtr ParseSelectorAfterName(const Item& name) {
    VectorSelector vs;
    vs.name = std::string(name.val);
    int end = ItemEnd(name);
    if (cur_.type == ItemType::kLeftBrace && !ParseLabelMatchers(&vs.matchers, &end)) {
      return nullptr;
    }
    Matcher m;
    m.type = MatchType::kEqual;
    m.name = "__name__";
    m.value = vs.name;
    vs.matchers.push_back(std::move(m));
    return MakeExpr(std::move(vs), name.pos, end);
  }

  bool ParseLabelMatchers(std::vector<Matcher>* out, int* end) {
    Advance();  // '{'
    for (;;) {
      if (cur_.type == ItemType::kRightBrace) break;  // `{}` or a trailing comma.
      if (cur_.type != ItemType::kIdentifier) {
        Unexpected("label matching", "identifier or \"}\"");
        return false;
      }
      const Item label = cur_;
      Advance();
      MatchType type;
      switch (cur_.type) {
        case ItemType::kEql:
          type = MatchType::kEqual;
          break;
        case ItemType::kNeq:
          type = MatchType::kNotEqual;
          break;
        case ItemType::kEqlRegex:
          type = MatchType::kRegexMatch;
          break;
        case ItemType::kNeqRegex:
          type = MatchType::kRegexNoMatch;
          break;
        default:
          Unexpected("label matching", "label matching operator");
          return false;
      }
      Advance();
      if (cur_.type != ItemType::kString) {
        Unexpected("label matching", "string");
        return false;
      }
      const Item value = cur_;
      Advance();
      Matcher m;
      m.type = type;
      m.name = std::string(label.val);
      m.value = UnquoteToken(value);
      if (type == MatchType::kRegexMatch || type == MatchType::kRegexNoMatch) {
        RE2::Options opts;
        opts.set_log_errors(false);
        const std::string pattern = absl::StrCat("^(?:", m.value, ")$");
        auto re = std::make_shared<const RE2>(pattern, opts);
        if (!re->ok()) {
          AddError(label.pos,
                   absl::StrCat("error parsing regexp: ", ToAbsl(RegexpErrorText(re->error_code())),
                                ": `", re->error_arg(), "`"));
        }
        m.re = std::move(re);
      }
      out->push_back(std::move(m));
      if (cur_.type == ItemType::kComma) {
        Advance();
        continue;
      }
      if (cur_.type == ItemType::kRightBrace) break;
      Unexpected("label matching", "\",\" or \"}\"");
      return false;
    }
    *end = ItemEnd(cur_);
    Advance();  // '}'
    return true;
  }

  bool ParseGroupingLabels(std::vector<std::string>* out) {
    if (cur_.type != ItemType::kLeftParen) {
      Unexpected("grouping opts", "\"(\"");
      return false;
    }
    Advance();
    for (;;) {
      if (cur_.type == ItemType::kRightParen) break;  // `()` or a trailing comma.
      if (!IsMaybeLabel(cur_.type) || !IsLabelName(cur_.val)) {
        Unexpected("grouping opts", "label");
        return false;
      }
      out->emplace_back(cur_.val);
      Advance();
      if (cur_.type == ItemType::kComma) {
        Advance();
        continue;
      }
      if (cur_.type == ItemType::kRightParen) break;
      Unexpected("grouping opts", "\",\" or \")\"");
      return false;
    }
    Advance();  // ')'
    return true;
  }

  // function_call_body: "(" [args] ")". `context` is "aggregation" for aggregations.
  bool ParseCallBody(std::vector<ExprPtr>* args, int* end, std::string_view context, int depth) {
    if (cur_.type != ItemType::kLeftParen) {
      Unexpected(context, "");
      return false;
    }
    Advance();
    if (cur_.type != ItemType::kRightParen) {
      for (;;) {
        ExprPtr arg = ParseExpr(kPrecOr, depth + 1);
        if (arg == nullptr) return false;
        args->push_back(std::move(arg));
        // `args ","` followed by ")" or another "," reduces with a trailing-comma error and
        // goes on (function_call_args: function_call_args COMMA).
        bool done = false;
        bool more = false;
        while (cur_.type == ItemType::kComma) {
          const int comma = cur_.pos;
          Advance();
          if (cur_.type == ItemType::kRightParen || cur_.type == ItemType::kComma) {
            AddError(comma, "trailing commas not allowed in function call args");
            done = cur_.type == ItemType::kRightParen;
            continue;
          }
          more = true;
          break;
        }
        if (failed_) return false;
        if (done) break;
        if (more) continue;
        if (cur_.type == ItemType::kRightParen) break;
        Unexpected(context, "");
        return false;
      }
    }
    *end = ItemEnd(cur_);
    Advance();  // ')'
    return true;
  }

  ExprPtr ParseCall(const Item& name, int depth) {
    const Function* f = GetFunction(name.val);
    if (f == nullptr) {
      AddError(name.pos, absl::StrCat("unknown function with name ", GoQuote(name.val)));
    }
    Call call;
    call.func = f;
    int end = 0;
    if (!ParseCallBody(&call.args, &end, "", depth)) return nullptr;
    return MakeExpr(std::move(call), name.pos, end);
  }

  bool ParseAggregateModifier(AggregateExpr* agg) {
    agg->without = cur_.type == ItemType::kWithout;
    Advance();
    return ParseGroupingLabels(&agg->grouping);
  }

  ExprPtr ParseAggregate(const Item& op_tok, AggregateOp op, int depth) {
    AggregateExpr agg;
    agg.op = op;
    bool have_modifier = false;
    if (cur_.type == ItemType::kBy || cur_.type == ItemType::kWithout) {
      if (!ParseAggregateModifier(&agg)) return nullptr;
      have_modifier = true;
    }
    std::vector<ExprPtr> args;
    int end = 0;
    if (!ParseCallBody(&args, &end, "aggregation", depth)) return nullptr;
    if (!have_modifier && (cur_.type == ItemType::kBy || cur_.type == ItemType::kWithout)) {
      if (!ParseAggregateModifier(&agg)) return nullptr;
      end = prev_end_;
    }
    // newAggregateExpr.
    if (args.empty()) {
      AddError(op_tok.pos, "no arguments for aggregate expression provided");
    } else {
      const size_t desired = AggregateOpHasParam(op) ? 2 : 1;
      if (args.size() != desired) {
        AddError(op_tok.pos,
                 absl::StrFormat("wrong number of arguments for aggregate expression provided, "
                                 "expected %d, got %d",
                                 desired, args.size()));
      } else {
        if (desired == 2) agg.param = std::move(args[0]);
        agg.expr = std::move(args[desired - 1]);
      }
    }
    return MakeExpr(std::move(agg), op_tok.pos, end);
  }

  ExprPtr ParseRangeOrSubquery(ExprPtr e) {
    const Item lbracket = cur_;
    Advance();
    if (cur_.type != ItemType::kDuration) return Unexpected("subquery selector", "duration");
    const int64_t range = DurationOf(cur_);
    Advance();
    if (cur_.type == ItemType::kRightBracket) {
      const int end = ItemEnd(cur_);
      Advance();
      auto* vs = std::get_if<VectorSelector>(&e->node);
      std::string_view msg;
      if (vs == nullptr) {
        msg = "ranges only allowed for vector selectors";
      } else if (vs->original_offset_ms != 0) {
        msg = "no offset modifiers allowed before range";
      } else if (vs->timestamp_ms.has_value()) {
        msg = "no @ modifiers allowed before range";
      }
      if (!msg.empty()) {
        AddError(lbracket.pos, std::string(msg));
        return e;  // The tree is discarded because of the error.
      }
      MatrixSelector ms;
      ms.vector_selector = std::move(*vs);
      ms.range_ms = range;
      return MakeExpr(std::move(ms), e->pos.start, end);
    }
    if (cur_.type != ItemType::kColon) return Unexpected("subquery or range", "\":\" or \"]\"");
    Advance();
    int64_t step = 0;
    if (cur_.type == ItemType::kDuration) {
      step = DurationOf(cur_);
      Advance();
      if (cur_.type != ItemType::kRightBracket) return Unexpected("subquery selector", "\"]\"");
    } else if (cur_.type != ItemType::kRightBracket) {
      return Unexpected("subquery selector", "duration or \"]\"");
    }
    const int end = ItemEnd(cur_);
    Advance();
    SubqueryExpr sq;
    const int start = e->pos.start;
    sq.expr = std::move(e);
    sq.range_ms = range;
    sq.step_ms = step;
    return MakeExpr(std::move(sq), start, end);
  }

  int64_t DurationOf(const Item& tok) {
    int64_t ms = 0;
    std::string err;
    if (!ParseDurationMs(tok.val, &ms, &err)) AddError(tok.pos, err);
    return ms;
  }

  ExprPtr ParseOffset(ExprPtr e) {
    Advance();  // offset
    bool negative = false;
    if (cur_.type == ItemType::kSub) {
      negative = true;
      Advance();
    }
    if (cur_.type != ItemType::kDuration) return Unexpected("offset", "duration");
    int64_t off = DurationOf(cur_);
    if (negative) off = -off;
    const int end = ItemEnd(cur_);
    Advance();
    int64_t* orig = nullptr;
    if (auto* vs = std::get_if<VectorSelector>(&e->node)) {
      orig = &vs->original_offset_ms;
    } else if (auto* ms = std::get_if<MatrixSelector>(&e->node)) {
      orig = &ms->vector_selector.original_offset_ms;
    } else if (auto* sq = std::get_if<SubqueryExpr>(&e->node)) {
      orig = &sq->original_offset_ms;
    } else {
      AddError(e->pos.start,
               "offset modifier must be preceded by an instant vector selector or range vector "
               "selector or a subquery");
      return e;
    }
    if (*orig != 0) {
      AddError(e->pos.start, "offset may not be set multiple times");
    } else {
      *orig = off;
    }
    e->pos.end = end;
    return e;
  }

  // getAtModifierVars: the @ fields of `e`, or null after reporting why there are none.
  bool AtFields(Expr* e, std::optional<int64_t>** ts, AtModifier** se) {
    if (auto* vs = std::get_if<VectorSelector>(&e->node)) {
      *ts = &vs->timestamp_ms, *se = &vs->start_or_end;
    } else if (auto* ms = std::get_if<MatrixSelector>(&e->node)) {
      *ts = &ms->vector_selector.timestamp_ms, *se = &ms->vector_selector.start_or_end;
    } else if (auto* sq = std::get_if<SubqueryExpr>(&e->node)) {
      *ts = &sq->timestamp_ms, *se = &sq->start_or_end;
    } else {
      AddError(e->pos.start,
               "@ modifier must be preceded by an instant vector selector or range vector selector "
               "or a subquery");
      return false;
    }
    if ((*ts)->has_value() || **se != AtModifier::kNone) {
      AddError(e->pos.start, "@ <timestamp> may not be set multiple times");
      return false;
    }
    return true;
  }

  ExprPtr ParseAt(ExprPtr e) {
    Advance();  // @
    if (cur_.type == ItemType::kStart || cur_.type == ItemType::kEnd) {
      const AtModifier which =
          cur_.type == ItemType::kStart ? AtModifier::kStart : AtModifier::kEnd;
      Advance();
      if (cur_.type != ItemType::kLeftParen) return Unexpected("@", "timestamp");
      Advance();
      if (cur_.type != ItemType::kRightParen) return Unexpected("@", "timestamp");
      const int end = ItemEnd(cur_);
      Advance();
      std::optional<int64_t>* ts;
      AtModifier* se;
      if (AtFields(e.get(), &ts, &se)) {
        *se = which;
        e->pos.end = end;
      }
      return e;
    }
    double sign = 1;
    if (cur_.type == ItemType::kAdd || cur_.type == ItemType::kSub) {
      sign = cur_.type == ItemType::kSub ? -1 : 1;
      Advance();
      if (cur_.type != ItemType::kNumber) return Unexpected("@", "timestamp");
    } else if (cur_.type != ItemType::kNumber) {
      return Unexpected("@", "timestamp");
    }
    double v = 0;
    std::string err;
    if (!ParseNumber(cur_.val, &v, &err)) AddError(cur_.pos, "error parsing number: " + err);
    v *= sign;
    const int end = ItemEnd(cur_);
    Advance();
    if (std::isinf(v) || std::isnan(v) || v >= 9223372036854775807.0 ||
        v <= -9223372036854775808.0) {
      AddError(e->pos.start, "timestamp out of bounds for @ modifier: " + GoPercentF(v));
    }
    std::optional<int64_t>* ts;
    AtModifier* se;
    if (AtFields(e.get(), &ts, &se)) {
      *ts = GoFloatToInt64(std::round(v * 1000));
      e->pos.end = end;
    }
    return e;
  }

  // ---- Type checks (parse.go checkAST). ----

  ValueType Check(Expr& e) {
    const ValueType typ = Type(e);
    std::visit([&](auto& n) { CheckNode(e, n); }, e.node);
    return typ;
  }

  void ExpectType(Expr& e, ValueType want, std::string_view context) {
    const ValueType t = Check(e);
    if (t != want) {
      AddError(e.pos.start, absl::StrCat("expected type ", ToAbsl(DocumentedTypeName(want)), " in ",
                                         ToAbsl(context), ", got ", ToAbsl(DocumentedTypeName(t))));
    }
  }

  void CheckNode(Expr&, NumberLiteral&) {}
  void CheckNode(Expr&, StringLiteral&) {}
  void CheckNode(Expr&, ParenExpr& n) { Check(*n.expr); }
  void CheckNode(Expr& e, MatrixSelector& n) { CheckSelector(e.pos.start, n.vector_selector); }
  void CheckNode(Expr& e, VectorSelector& n) { CheckSelector(e.pos.start, n); }

  void CheckSelector(int pos, const VectorSelector& n) {
    if (!n.name.empty()) {
      for (size_t i = 0; i + 1 < n.matchers.size(); ++i) {
        if (n.matchers[i].name == "__name__") {
          AddError(pos, absl::StrCat("metric name must not be set twice: ", GoQuote(n.name), " or ",
                                     GoQuote(n.matchers[i].value)));
        }
      }
      return;
    }
    for (const Matcher& m : n.matchers) {
      if (!m.Matches("")) return;
    }
    AddError(pos, "vector selector must contain at least one non-empty matcher");
  }

  void CheckNode(Expr& e, SubqueryExpr& n) {
    const ValueType t = Check(*n.expr);
    if (t != ValueType::kVector) {
      AddError(e.pos.start, absl::StrCat("subquery is only allowed on instant vector, got ",
                                         ToAbsl(ValueTypeName(t)), " instead"));
    }
  }

  void CheckNode(Expr& e, UnaryExpr& n) {
    const ValueType t = Check(*n.expr);
    if (t != ValueType::kScalar && t != ValueType::kVector) {
      AddError(e.pos.start,
               absl::StrCat("unary expression only allowed on expressions of type scalar or "
                            "instant vector, got ",
                            GoQuote(DocumentedTypeName(t))));
    }
  }

  void CheckNode(Expr& e, AggregateExpr& n) {
    ExpectType(*n.expr, ValueType::kVector, "aggregation expression");
    if (n.op == AggregateOp::kTopk || n.op == AggregateOp::kBottomk ||
        n.op == AggregateOp::kQuantile) {
      ExpectType(*n.param, ValueType::kScalar, "aggregation parameter");
    }
    if (n.op == AggregateOp::kCountValues) {
      ExpectType(*n.param, ValueType::kString, "aggregation parameter");
    }
    (void)e;
  }

  void CheckNode(Expr& e, Call& n) {
    const Function& f = *n.func;
    const int nargs = static_cast<int>(f.arg_types.size());
    const int got = static_cast<int>(n.args.size());
    if (f.variadic == 0) {
      if (nargs != got) {
        AddError(e.pos.start, absl::StrFormat("expected %d argument(s) in call to %s, got %d",
                                              nargs, GoQuote(f.name), got));
      }
    } else {
      const int na = nargs - 1;
      if (na > got) {
        AddError(e.pos.start,
                 absl::StrFormat("expected at least %d argument(s) in call to %s, got %d", na,
                                 GoQuote(f.name), got));
      } else if (f.variadic > 0 && na + f.variadic < got) {
        AddError(e.pos.start,
                 absl::StrFormat("expected at most %d argument(s) in call to %s, got %d",
                                 na + f.variadic, GoQuote(f.name), got));
      }
    }
    for (int i = 0; i < got; ++i) {
      int ti = i;
      if (ti >= nargs) {
        if (f.variadic == 0) break;
        ti = nargs - 1;
      }
      ExpectType(*n.args[i], f.arg_types[ti], absl::StrCat("call to function ", GoQuote(f.name)));
    }
  }

  void CheckNode(Expr& e, BinaryExpr& n) {
    const ValueType lt = Check(*n.lhs);
    const ValueType rt = Check(*n.rhs);
    auto op_pos = [&]() {
      int p = n.lhs->pos.end;
      while (p < static_cast<int>(input_.size()) && IsSpaceChar(input_[p])) ++p;
      return p;
    };
    const std::string op_name(BinaryOpString(n.op));
    if (n.return_bool && !IsComparisonOp(n.op)) {
      AddError(op_pos(), "bool modifier can only be used on comparison operators");
    }
    if (IsComparisonOp(n.op) && !n.return_bool && Type(*n.rhs) == ValueType::kScalar &&
        Type(*n.lhs) == ValueType::kScalar) {
      AddError(op_pos(), "comparisons between scalars must use BOOL modifier");
    }
    VectorMatching& vm = *n.vector_matching;
    if (IsSetOp(n.op) && vm.card == VectorMatchCardinality::kOneToOne) {
      vm.card = VectorMatchCardinality::kManyToMany;
    }
    for (const std::string& l1 : vm.matching_labels) {
      for (const std::string& l2 : vm.include) {
        if (l1 == l2 && vm.on) {
          AddError(op_pos(), absl::StrCat("label ", GoQuote(l1),
                                          " must not occur in ON and GROUP clause at once"));
        }
      }
    }
    if (lt != ValueType::kScalar && lt != ValueType::kVector) {
      AddError(n.lhs->pos.start,
               "binary expression must contain only scalar and instant vector types");
    }
    if (rt != ValueType::kScalar && rt != ValueType::kVector) {
      AddError(n.rhs->pos.start,
               "binary expression must contain only scalar and instant vector types");
    }
    if (lt != ValueType::kVector || rt != ValueType::kVector) {
      if (!vm.matching_labels.empty()) {
        AddError(e.pos.start, "vector matching only allowed between instant vectors");
      }
      n.vector_matching.reset();
    } else if (IsSetOp(n.op)) {
      if (vm.card == VectorMatchCardinality::kOneToMany ||
          vm.card == VectorMatchCardinality::kManyToOne) {
        AddError(e.pos.start,
                 absl::StrCat("no grouping allowed for ", GoQuote(op_name), " operation"));
      }
      if (vm.card != VectorMatchCardinality::kManyToMany) {
        AddError(e.pos.start, "set operations must always be many-to-many");
      }
    }
    if ((lt == ValueType::kScalar || rt == ValueType::kScalar) && IsSetOp(n.op)) {
      AddError(e.pos.start, absl::StrCat("set operator ", GoQuote(op_name),
                                         " not allowed in binary scalar expression"));
    }
  }

  std::string_view input_;
  Lexer lex_;
  Item cur_;
  int prev_end_ = 0;
  bool failed_ = false;  // A syntax error stopped parsing.
  std::string first_error_;
  int error_pos_ = 0;
};

}  // namespace

absl::StatusOr<ExprPtr> ParseExpr(std::string_view input) {
  Parser p(input);
  return p.ParseTop();
}

absl::StatusOr<std::vector<Matcher>> ParseMetricSelector(std::string_view input) {
  Parser p(input);
  return p.ParseSelectorTop();
}

}  // namespace stakewatch::promql
