#include "promql/ast.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/strings.h"
#include "re2/re2.h"

namespace stakewatch::promql {

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kNone:
      return "none";
    case ValueType::kScalar:
      return "scalar";
    case ValueType::kVector:
      return "vector";
    case ValueType::kMatrix:
      return "matrix";
    case ValueType::kString:
      return "string";
  }
  return "none";
}

std::string_view DocumentedTypeName(ValueType t) {
  switch (t) {
    case ValueType::kVector:
      return "instant vector";
    case ValueType::kMatrix:
      return "range vector";
    default:
      return ValueTypeName(t);
  }
}

std::string_view MatchTypeString(MatchType t) {
  switch (t) {
    case MatchType::kEqual:
      return "=";
    case MatchType::kNotEqual:
      return "!=";
    case MatchType::kRegexMatch:
      return "=~";
    case MatchType::kRegexNoMatch:
      return "!~";
  }
  return "=";
}

bool Matcher::Matches(std::string_view v) const {
  switch (type) {
    case MatchType::kEqual:
      return v == value;
    case MatchType::kNotEqual:
      return v != value;
    case MatchType::kRegexMatch:
      return re != nullptr && RE2::FullMatch(v, *re);
    case MatchType::kRegexNoMatch:
      return re != nullptr && !RE2::FullMatch(v, *re);
  }
  return false;
}

std::string_view BinaryOpString(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
    case BinaryOp::kPow:
      return "^";
    case BinaryOp::kAtan2:
      return "atan2";
    case BinaryOp::kEqlc:
      return "==";
    case BinaryOp::kNeq:
      return "!=";
    case BinaryOp::kGtr:
      return ">";
    case BinaryOp::kLss:
      return "<";
    case BinaryOp::kGte:
      return ">=";
    case BinaryOp::kLte:
      return "<=";
    case BinaryOp::kAnd:
      return "and";
    case BinaryOp::kOr:
      return "or";
    case BinaryOp::kUnless:
      return "unless";
  }
  return "?";
}

bool IsComparisonOp(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEqlc:
    case BinaryOp::kNeq:
    case BinaryOp::kGtr:
    case BinaryOp::kLss:
    case BinaryOp::kGte:
    case BinaryOp::kLte:
      return true;
    default:
      return false;
  }
}

bool IsSetOp(BinaryOp op) {
  return op == BinaryOp::kAnd || op == BinaryOp::kOr || op == BinaryOp::kUnless;
}

std::string_view AggregateOpString(AggregateOp op) {
  switch (op) {
    case AggregateOp::kSum:
      return "sum";
    case AggregateOp::kAvg:
      return "avg";
    case AggregateOp::kCount:
      return "count";
    case AggregateOp::kMin:
      return "min";
    case AggregateOp::kMax:
      return "max";
    case AggregateOp::kGroup:
      return "group";
    case AggregateOp::kStddev:
      return "stddev";
    case AggregateOp::kStdvar:
      return "stdvar";
    case AggregateOp::kTopk:
      return "topk";
    case AggregateOp::kBottomk:
      return "bottomk";
    case AggregateOp::kCountValues:
      return "count_values";
    case AggregateOp::kQuantile:
      return "quantile";
  }
  return "?";
}

bool AggregateOpHasParam(AggregateOp op) {
  return op == AggregateOp::kTopk || op == AggregateOp::kBottomk ||
         op == AggregateOp::kCountValues || op == AggregateOp::kQuantile;
}

ValueType Type(const Expr& e) {
  struct Visitor {
    ValueType operator()(const NumberLiteral&) const { return ValueType::kScalar; }
    ValueType operator()(const StringLiteral&) const { return ValueType::kString; }
    ValueType operator()(const VectorSelector&) const { return ValueType::kVector; }
    ValueType operator()(const MatrixSelector&) const { return ValueType::kMatrix; }
    ValueType operator()(const SubqueryExpr&) const { return ValueType::kMatrix; }
    ValueType operator()(const ParenExpr& n) const { return Type(*n.expr); }
    ValueType operator()(const UnaryExpr& n) const { return Type(*n.expr); }
    ValueType operator()(const BinaryExpr& n) const {
      return Type(*n.lhs) == ValueType::kScalar && Type(*n.rhs) == ValueType::kScalar
                 ? ValueType::kScalar
                 : ValueType::kVector;
    }
    ValueType operator()(const AggregateExpr&) const { return ValueType::kVector; }
    ValueType operator()(const Call& n) const {
      return n.func != nullptr ? n.func->return_type : ValueType::kNone;
    }
  };
  return std::visit(Visitor{}, e.node);
}

std::string FormatDuration(int64_t ms) {
  if (ms == 0) return "0s";
  std::string r;
  auto f = [&](std::string_view unit, int64_t mult, bool exact) {
    if (exact && ms % mult != 0) return;
    if (int64_t v = ms / mult; v > 0) {
      absl::StrAppend(&r, v, ToAbsl(unit));
      ms -= v * mult;
    }
  };
  f("y", 1000LL * 60 * 60 * 24 * 365, true);
  f("w", 1000LL * 60 * 60 * 24 * 7, true);
  f("d", 1000LL * 60 * 60 * 24, false);
  f("h", 1000LL * 60 * 60, false);
  f("m", 1000LL * 60, false);
  f("s", 1000, false);
  f("ms", 1, false);
  return r;
}

std::string FormatFloat(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == 0) return std::signbit(v) ? "-0" : "0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // e.g. "-1.2345e+06"
  const size_t e = sci.find('e');
  std::string mant = sci.substr(0, e);
  const int exp = std::atoi(sci.c_str() + e + 1);
  std::string sign;
  if (mant[0] == '-') {
    sign = "-";
    mant.erase(0, 1);
  }
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits += c;
  }
  if (exp < -4 || exp >= 6) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    return out + absl::StrFormat("e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  }
  const int nd = static_cast<int>(digits.size());
  if (exp < 0) return sign + "0." + std::string(-exp - 1, '0') + digits;
  if (nd <= exp + 1) return sign + digits + std::string(exp + 1 - nd, '0');
  return sign + digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
}

bool IsGoPrintRune(int r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  if (r < 0xA0 || r > 0x10FFFF) return false;
  struct Range {
    int lo, hi;
  };
  // Zs/Zl/Zp (except ' '), Cf, Co and Cs code points.
  static constexpr Range kNotPrint[] = {
      {0x00A0, 0x00A0},    {0x00AD, 0x00AD},   {0x0600, 0x0605},   {0x061C, 0x061C},
      {0x06DD, 0x06DD},    {0x070F, 0x070F},   {0x08E2, 0x08E2},   {0x1680, 0x1680},
      {0x180E, 0x180E},    {0x2000, 0x200F},   {0x2028, 0x202F},   {0x205F, 0x2064},
      {0x2066, 0x206F},    {0x3000, 0x3000},   {0xD800, 0xF8FF},   {0xFEFF, 0xFEFF},
      {0xFFF9, 0xFFFB},    {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F},
      {0x1BCA0, 0x1BCA3},  {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
      {0xF0000, 0x10FFFF},
  };
  for (const Range& x : kNotPrint) {
    if (r >= x.lo && r <= x.hi) return false;
  }
  return (r & 0xFFFE) != 0xFFFE;  // Noncharacters.
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
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
      continue;
    }
    // Decode one UTF-8 sequence strictly.
    int r = -1;
    size_t w = 1;
    auto cont = [&](size_t k) { return i + k < n && (p[i + k] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF && cont(1)) {
      r = ((c & 0x1F) << 6) | (p[i + 1] & 0x3F), w = 2;
    } else if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2) && !(c == 0xE0 && p[i + 1] < 0xA0) &&
               !(c == 0xED && p[i + 1] > 0x9F)) {
      r = ((c & 0x0F) << 12) | ((p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F), w = 3;
    } else if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3) &&
               !(c == 0xF0 && p[i + 1] < 0x90) && !(c == 0xF4 && p[i + 1] > 0x8F)) {
      r = ((c & 0x07) << 18) | ((p[i + 1] & 0x3F) << 12) | ((p[i + 2] & 0x3F) << 6) |
          (p[i + 3] & 0x3F);
      w = 4;
    }
    if (r < 0) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
      ++i;
      continue;
    }
    if (IsGoPrintRune(r)) {
      out.append(s.substr(i, w));
    } else if (r < 0x10000) {
      absl::StrAppendFormat(&out, "\\u%04x", r);
    } else {
      absl::StrAppendFormat(&out, "\\U%08x", r);
    }
    i += w;
  }
  return out + "\"";
}

namespace {

std::string AtOffsetSuffix(int64_t offset_ms, const std::optional<int64_t>& ts, AtModifier se) {
  std::string at;
  if (ts.has_value()) {
    at = absl::StrFormat(" @ %.3f", static_cast<double>(*ts) / 1000.0);
  } else if (se == AtModifier::kStart) {
    at = " @ start()";
  } else if (se == AtModifier::kEnd) {
    at = " @ end()";
  }
  std::string offset;
  if (offset_ms > 0) {
    offset = " offset " + FormatDuration(offset_ms);
  } else if (offset_ms < 0) {
    offset = " offset -" + FormatDuration(-offset_ms);
  }
  return at + offset;
}

std::string SelectorBase(const VectorSelector& n) {
  std::vector<std::string> parts;
  for (const Matcher& m : n.matchers) {
    if (m.name == "__name__" && m.type == MatchType::kEqual && m.value == n.name) continue;
    parts.push_back(absl::StrCat(m.name, ToAbsl(MatchTypeString(m.type)), GoQuote(m.value)));
  }
  if (parts.empty()) return n.name;
  std::sort(parts.begin(), parts.end());
  return absl::StrCat(n.name, "{", absl::StrJoin(parts, ","), "}");
}

struct Printer {
  std::string operator()(const NumberLiteral& n) const { return FormatFloat(n.value); }
  std::string operator()(const StringLiteral& n) const { return GoQuote(n.value); }
  std::string operator()(const VectorSelector& n) const {
    return SelectorBase(n) + AtOffsetSuffix(n.original_offset_ms, n.timestamp_ms, n.start_or_end);
  }
  std::string operator()(const MatrixSelector& n) const {
    const VectorSelector& vs = n.vector_selector;
    return absl::StrCat(SelectorBase(vs), "[", FormatDuration(n.range_ms), "]",
                        AtOffsetSuffix(vs.original_offset_ms, vs.timestamp_ms, vs.start_or_end));
  }
  std::string operator()(const SubqueryExpr& n) const {
    return absl::StrCat(Format(*n.expr), "[", FormatDuration(n.range_ms), ":",
                        n.step_ms != 0 ? FormatDuration(n.step_ms) : "", "]",
                        AtOffsetSuffix(n.original_offset_ms, n.timestamp_ms, n.start_or_end));
  }
  std::string operator()(const ParenExpr& n) const { return "(" + Format(*n.expr) + ")"; }
  std::string operator()(const UnaryExpr& n) const {
    return (n.op == UnaryOp::kSub ? "-" : "+") + Format(*n.expr);
  }
  std::string operator()(const BinaryExpr& n) const {
    std::string matching;
    if (const auto& vm = n.vector_matching; vm && (!vm->matching_labels.empty() || vm->on)) {
      matching = absl::StrCat(" ", vm->on ? "on" : "ignoring", " (",
                              absl::StrJoin(vm->matching_labels, ", "), ")");
      if (vm->card == VectorMatchCardinality::kManyToOne ||
          vm->card == VectorMatchCardinality::kOneToMany) {
        absl::StrAppend(&matching, " group_",
                        vm->card == VectorMatchCardinality::kManyToOne ? "left" : "right", " (",
                        absl::StrJoin(vm->include, ", "), ")");
      }
    }
    return absl::StrCat(Format(*n.lhs), " ", ToAbsl(BinaryOpString(n.op)),
                        n.return_bool ? " bool" : "", matching, " ", Format(*n.rhs));
  }
  std::string operator()(const AggregateExpr& n) const {
    std::string s(AggregateOpString(n.op));
    if (n.without) {
      absl::StrAppend(&s, " without (", absl::StrJoin(n.grouping, ", "), ") ");
    } else if (!n.grouping.empty()) {
      absl::StrAppend(&s, " by (", absl::StrJoin(n.grouping, ", "), ") ");
    }
    s += "(";
    if (AggregateOpHasParam(n.op) && n.param != nullptr)
      absl::StrAppend(&s, Format(*n.param), ", ");
    if (n.expr != nullptr) s += Format(*n.expr);
    return s + ")";
  }
  std::string operator()(const Call& n) const {
    std::vector<std::string> args;
    for (const ExprPtr& a : n.args) args.push_back(Format(*a));
    return absl::StrCat(ToAbsl(n.func != nullptr ? n.func->name : "<unknown>"), "(",
                        absl::StrJoin(args, ", "), ")");
  }
};

}  // namespace

std::string Format(const Expr& e) { return std::visit(Printer{}, e.node); }

}  // namespace stakewatch::promql
