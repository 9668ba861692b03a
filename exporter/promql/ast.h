// The PromQL abstract syntax tree, as produced by promql/parser.h (Prometheus 2.42 semantics).
//
// An expression is an `Expr`: a position range plus a std::variant over the ten node kinds.
// Children are owned through `ExprPtr` (std::unique_ptr<Expr>), so a tree is a plain value that
// an evaluator walks with std::visit or std::get_if:
//
//   absl::StatusOr<ExprPtr> e = ParseExpr("sum by (job) (rate(x[5m]))");
//   if (auto* agg = std::get_if<AggregateExpr>(&(*e)->node)) { ... agg->expr ... }
//
// Trees are immutable after parsing by convention; a tree may be read from any number of threads
// at once. Durations and offsets are int64 milliseconds (Prometheus's resolution).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace re2 {
class RE2;
}

namespace stakewatch::promql {

// The type an expression evaluates to (Prometheus's parser.ValueType).
enum class ValueType { kNone, kScalar, kVector, kMatrix, kString };

// "scalar", "vector", "matrix", "string", "none" (Prometheus's ValueType strings).
std::string_view ValueTypeName(ValueType t);
// As above but "instant vector" / "range vector" for vectors and matrices (documentedType).
std::string_view DocumentedTypeName(ValueType t);

// Byte offsets into the parsed input: [start, end).
struct PositionRange {
  int start = 0;
  int end = 0;
};

enum class MatchType { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };

// "=", "!=", "=~", "!~".
std::string_view MatchTypeString(MatchType t);

// One label matcher. Regex matchers hold the compiled, fully anchored RE2 ("^(?:value)$"); the
// compiled program is shared between copies and is safe to use from several threads.
struct Matcher {
  MatchType type = MatchType::kEqual;
  std::string name;
  std::string value;
  std::shared_ptr<const re2::RE2> re;  // Set for kRegexMatch and kRegexNoMatch only.

  // Whether a label value `v` satisfies this matcher (a missing label has value "").
  bool Matches(std::string_view v) const;
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct NumberLiteral {
  double value = 0;
};

struct StringLiteral {
  std::string value;  // Unquoted.
};

// Which @ preprocessor was used: `@ start()` / `@ end()`.
enum class AtModifier { kNone, kStart, kEnd };

struct VectorSelector {
  std::string name;  // Empty when the selector is only `{...}`.
  // The matchers in source order; when `name` is set, a final `__name__="name"` matcher is appended
  // (as Prometheus does).
  std::vector<Matcher> matchers;
  int64_t original_offset_ms = 0;       // As written, may be negative.
  std::optional<int64_t> timestamp_ms;  // `@ <number>`, in ms (rounded like Prometheus).
  AtModifier start_or_end = AtModifier::kNone;
};

struct MatrixSelector {
  VectorSelector vector_selector;
  int64_t range_ms = 0;
};

struct SubqueryExpr {
  ExprPtr expr;
  int64_t range_ms = 0;
  int64_t step_ms = 0;  // 0 means "default step" (`[5m:]`).
  int64_t original_offset_ms = 0;
  std::optional<int64_t> timestamp_ms;
  AtModifier start_or_end = AtModifier::kNone;
};

struct ParenExpr {
  ExprPtr expr;
};

enum class UnaryOp { kAdd, kSub };

struct UnaryExpr {
  UnaryOp op = UnaryOp::kSub;
  ExprPtr expr;
};

enum class BinaryOp {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kPow,
  kAtan2,
  kEqlc,  // ==
  kNeq,
  kGtr,
  kLss,
  kGte,
  kLte,
  kAnd,
  kOr,
  kUnless,
};

// "+", "-", ..., "==", "and", "atan2".
std::string_view BinaryOpString(BinaryOp op);
bool IsComparisonOp(BinaryOp op);
bool IsSetOp(BinaryOp op);

enum class VectorMatchCardinality { kOneToOne, kManyToOne, kOneToMany, kManyToMany };

struct VectorMatching {
  VectorMatchCardinality card = VectorMatchCardinality::kOneToOne;
  std::vector<std::string> matching_labels;  // on(...) / ignoring(...) labels.
  bool on = false;                           // true: on(...); false: ignoring(...) or none.
  std::vector<std::string> include;          // group_left(...) / group_right(...) labels.
};

struct BinaryExpr {
  BinaryOp op = BinaryOp::kAdd;
  ExprPtr lhs;
  ExprPtr rhs;
  // Set only when both sides are instant vectors (as after Prometheus's checkAST). Set operators
  // get kManyToMany.
  std::optional<VectorMatching> vector_matching;
  bool return_bool = false;
};

enum class AggregateOp {
  kSum,
  kAvg,
  kCount,
  kMin,
  kMax,
  kGroup,
  kStddev,
  kStdvar,
  kTopk,
  kBottomk,
  kCountValues,
  kQuantile,
};

std::string_view AggregateOpString(AggregateOp op);  // "sum", "count_values", ...
bool AggregateOpHasParam(AggregateOp op);            // topk, bottomk, count_values, quantile.

struct AggregateExpr {
  AggregateOp op = AggregateOp::kSum;
  ExprPtr expr;
  ExprPtr param;  // Null unless AggregateOpHasParam(op).
  std::vector<std::string> grouping;
  bool without = false;
};

// A function of promql/parser/functions.go (see functions.h).
struct Function {
  std::string_view name;
  std::vector<ValueType> arg_types;
  // 0: exactly arg_types.size() args; -1: the last type repeats without limit; n > 0: up to n
  // extra optional args of the last type (so arg_types.size()-1 .. arg_types.size()-1+n args).
  int variadic = 0;
  ValueType return_type = ValueType::kVector;
};

struct Call {
  const Function* func = nullptr;  // Points into the static function table; never null.
  std::vector<ExprPtr> args;
};

struct Expr {
  using Node = std::variant<NumberLiteral, StringLiteral, VectorSelector, MatrixSelector,
                            SubqueryExpr, ParenExpr, UnaryExpr, BinaryExpr, AggregateExpr, Call>;
  Node node;
  PositionRange pos;
};

// The value type of an expression (Prometheus's Expr.Type()).
ValueType Type(const Expr& e);

// Prints `e` like Prometheus 2.42's String() methods (printer.go): canonical spacing, sorted label
// matchers, `offset 1m`, `@ 10.000`, `sum by (a) (x)`, `a + on(b) group_left(c) d`.
std::string Format(const Expr& e);

// Prometheus's model.Duration String(): 90000 -> "1m30s", 0 -> "0s".
std::string FormatDuration(int64_t ms);

// Go's fmt.Sprint(float64): shortest round-trip digits, exponent form when the decimal exponent is
// < -4 or >= 6 ("1e+06", "123456", "1e-05", "+Inf", "NaN").
std::string FormatFloat(double v);

// Go's unicode.IsPrint for a code point: ASCII printable plus letters, marks, numbers,
// punctuation and symbols; spaces other than ' ', controls, format characters, private use and
// surrogates are not printable. (Unassigned code points are treated as printable: Go would escape
// them, we do not carry the Unicode tables.)
bool IsGoPrintRune(int r);

// Go's strconv.Quote (%q) for a string: `"a\"b\n"`.
std::string GoQuote(std::string_view s);

}  // namespace stakewatch::promql
