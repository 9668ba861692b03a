// The PromQL parser: Prometheus 2.42's promql/parser (generated_parser.y + parse.go) as a
// hand-written precedence-climbing parser producing the AST of promql/ast.h.
//
//   absl::StatusOr<ExprPtr> e = ParseExpr("sum by (job) (rate(http_requests_total[5m]))");
//   if (!e.ok()) { /* e.status().message() == "1:14: parse error: ..." */ }
//
// Errors are absl::InvalidArgument whose message is exactly Prometheus's ParseErr text,
// "<line>:<column>: parse error: <message>" (column in bytes, 1-based); like Prometheus only the
// first error is reported, and type checks (checkAST) run only when there was no syntax error.
// Nesting deeper than kMaxNestingDepth (parentheses, calls, aggregations, unary and binary
// operands) is rejected with "... parse error: expression nesting too deep (max 300)" instead of
// overflowing the stack; Prometheus has no such limit.
//
// Functions are pure and thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "promql/ast.h"

namespace stakewatch::promql {

inline constexpr int kMaxNestingDepth = 300;

// Parses and type-checks a PromQL expression.
absl::StatusOr<ExprPtr> ParseExpr(std::string_view input);

// Parses a series selector such as `up{job="x"}` or `{__name__=~"a.*"}` into its matchers (the
// metric name becomes a trailing `__name__` equality matcher). No type checks, so `{}` is allowed.
absl::StatusOr<std::vector<Matcher>> ParseMetricSelector(std::string_view input);

}  // namespace stakewatch::promql
