// The PromQL engine: evaluates parsed expressions (promql/ast.h) against a tsdb::Storage with the
// semantics of Prometheus 2.42's promql/engine.go (float samples only, no native histograms).
//
//   query::Engine engine(query::EngineOptions{});
//   absl::StatusOr<query::Value> v = engine.Instant("sum by (job) (rate(x[5m]))", t_ms, storage);
//   absl::StatusOr<query::Matrix> m = engine.Range(expr, start_ms, end_ms, step_ms, storage);
//
// How it evaluates (as Prometheus does): every node is evaluated over all steps of the query at
// once and yields a matrix (one point per step and series); an instant query is a range query with
// one step. `@` is turned into an offset relative to the query start (setOffsetForAtModifier),
// and subtrees that do not depend on the step (`@`, literals) are evaluated once and repeated
// (StepInvariantExpr). Instant vectors look back 5 minutes (lookback_delta) for the newest sample
// at or before each step, and a staleness marker ends a series. Range selectors include both ends
// of the window, [t - range, t] (2.42; Prometheus 3 made it left-open). Subqueries are aligned
// to multiples of their step.
//
// Limits, as Prometheus's: `max_samples` bounds the samples held in memory at once (error "query
// processing would load too many samples into memory in query execution"), `timeout` bounds the
// wall time of one query ("query timed out in expression evaluation"). Error messages are
// Prometheus's (for example "vector cannot contain metrics with the same labelset",
// "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)").
//
// Threads: an Engine is immutable after construction; any number of threads may run queries at
// once. A query reads the storage through Storage::Select, which is thread-safe. The parsed
// expression is not modified (per-query state lives in the evaluator), so one parsed rule may be
// evaluated by several threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "promql/ast.h"
#include "query/value.h"
#include "tsdb/storage.h"

namespace stakewatch::query {

struct EngineOptions {
  int64_t lookback_delta_ms = 5 * 60 * 1000;  // --query.lookback-delta
  int64_t max_samples = 50'000'000;           // --query.max-samples
  absl::Duration timeout = absl::Minutes(2);  // --query.timeout
  // Step of a subquery written without one (`x[1h:]`): Prometheus uses the global evaluation
  // interval (1m by default).
  int64_t no_step_subquery_interval_ms = 60 * 1000;
  // Source of time for the timeout; nullptr means the real clock. Not owned.
  Clock* clock = nullptr;
};

// The result of a query: an instant vector, a range vector, a scalar or a string.
using Value = std::variant<Vector, Matrix, Scalar, String>;

class Engine {
 public:
  explicit Engine(EngineOptions options = {});

  // Instant query at `t_ms`. A vector result has every sample's t_ms set to `t_ms`.
  absl::StatusOr<Value> Instant(const promql::Expr& expr, int64_t t_ms,
                                const tsdb::Storage& storage) const;
  // Parses `query` (a parse error is returned as is: "1:5: parse error: ...") and runs it.
  absl::StatusOr<Value> Instant(std::string_view query, int64_t t_ms,
                                const tsdb::Storage& storage) const;

  // Range query: steps start, start+step, ..., <= end. Only scalar and instant-vector
  // expressions are allowed ("invalid expression type \"range vector\" for range query, must be
  // Scalar or instant Vector"). The series are sorted by labels; a scalar becomes one series
  // without labels.
  absl::StatusOr<Matrix> Range(const promql::Expr& expr, int64_t start_ms, int64_t end_ms,
                               int64_t step_ms, const tsdb::Storage& storage) const;
  absl::StatusOr<Matrix> Range(std::string_view query, int64_t start_ms, int64_t end_ms,
                               int64_t step_ms, const tsdb::Storage& storage) const;

  const EngineOptions& options() const { return options_; }

 private:
  EngineOptions options_;
};

// Functions whose result depends on the evaluation time in a way `@` cannot pin
// (Prometheus's AtModifierUnsafeFunctions): time, timestamp, predict_linear and the date
// functions.
// The parser's matchers as the storage's (for Storage::Select / MemStorage::Query).
std::vector<tsdb::Matcher> ToStorageMatchers(const std::vector<promql::Matcher>& ms);

bool IsAtModifierUnsafeFunction(std::string_view name);

// Prometheus's promql/test.go atModifierTestCases rewrite: `query` printed back with `@ <t>` on
// every vector selector, matrix selector and subquery that has none, except inside subqueries.
// std::nullopt when the expression calls an @-unsafe function.
absl::StatusOr<std::optional<std::string>> PinAt(std::string_view query, int64_t t_ms);

}  // namespace stakewatch::query
