// The PromQL test-script harness of Prometheus 2.42 (promql/test.go): parses `.test` scripts,
// loads their series into a tsdb::MemStorage, runs every eval through a QueryEngine and checks
// the answers with test.go's rules. The engine itself lives elsewhere (issue #5); this module
// only needs the QueryEngine interface below, so it can be tested with a fake.
//
//   ASSIGN_OR_RETURN(Script script, ParseScript(text));
//   MyEngine engine;                       // implements promqltest::QueryEngine
//   RunReport report = RunScript(script, engine);
//   std::cout << report.ToText();          // failures, then "N passed, M failed"
//
// Script language (2.42; there is no `eval range` yet):
//   # comment                    lines are trimmed; a line starting with '#' counts as blank
//   load <duration>              then one series description per line (series_notation.h) until
//     metric{l="v"} 0+10x100       a blank line; slot i is stored at i * duration, from t=0
//   clear                        drops all data (a fresh MemStorage)
//   eval instant at <dur> <expr>       then the expected result until a blank line:
//   eval_fail instant at <dur> <expr>    `{labels} value` / `name{labels} value` lines, or one
//   eval_ordered instant at <dur> <expr> bare number (a scalar; it ends the block), or nothing
//                                        (an empty vector)
// Command words are matched case-insensitively (`LOAD` is recognised, then rejected by the
// case-sensitive `load` pattern, exactly as test.go does).
//
// How an eval is checked (test.go exec, 2.42):
//   1. The expression runs as an instant query at t, then again for each @-modifier variant:
//      the engine rewrites the expression with `@ t` pinned on every selector and subquery
//      (QueryEngine::PinAt), and it is evaluated at -10t, 0, t/5, t and 10t (or -1s, 0, 1s
//      when t == 0); expressions that call time(), timestamp(), predict_linear or a date
//      function get no variants.
//   2. eval_fail: every query must fail; an error moves on to the next query.
//   3. Otherwise each result is compared (CompareResult): same label sets, values within a
//      relative error of 1e-6 (NaN equals NaN), and for eval_ordered the same order.
//   4. Each query is re-run as a range query from t-1m to t+1m with step 1m, and the points at
//      t are compared the same way (skipped for eval_ordered: range results have no order).
// Unlike test.go, which stops at the first failure, the runner goes on and reports every eval.
//
// Threads: parsing and comparison are pure functions. RunScript calls the engine from the
// calling thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "promqltest/series_notation.h"
#include "tsdb/labels.h"
#include "tsdb/storage.h"

namespace stakewatch::promqltest {

// Engine settings test.go uses (promql.EngineOpts in Test.clear()). An engine that wants to
// pass the Prometheus test data must be configured like this.
inline constexpr int64_t kLookbackDeltaMs = 5 * 60 * 1000;       // default lookback
inline constexpr int64_t kMaxSamples = 10000;                    // per query
inline constexpr int64_t kNoStepSubqueryIntervalMs = 60 * 1000;  // `[5m:]` step
// Relative error allowed between expected and actual sample values (test.go `epsilon`).
inline constexpr double kEpsilon = 0.000001;

// One element of an instant vector.
struct VectorSample {
  tsdb::Labels labels;
  double value = 0;
};

// One series of a range query (or of a range-vector expression evaluated instantly).
struct MatrixSeries {
  tsdb::Labels labels;
  std::vector<tsdb::Sample> points;  // ascending t_ms
};

// The value of a query: exactly one of the four members is meaningful, chosen by `type`.
struct QueryResult {
  enum class Type { kVector, kScalar, kString, kMatrix };
  Type type = Type::kVector;
  std::vector<VectorSample> vector;
  double scalar = 0;
  std::string string;
  std::vector<MatrixSeries> matrix;

  static QueryResult Vector(std::vector<VectorSample> v);
  static QueryResult Scalar(double v);
  static QueryResult String(std::string s);
  static QueryResult Matrix(std::vector<MatrixSeries> m);
};

std::string_view TypeName(QueryResult::Type t);

// What the harness needs from a PromQL engine. Implementations are used by one thread at a time.
class QueryEngine {
 public:
  virtual ~QueryEngine() = default;
  // Evaluates `expr` at `t_ms` against `storage` (not owned; valid for the call). Any error
  // (parse or evaluation) is a non-OK status.
  virtual absl::StatusOr<QueryResult> Instant(const std::string& expr, int64_t t_ms,
                                              tsdb::Storage* storage) = 0;
  // Evaluates `expr` at start, start+step, ..., end; the result must be a matrix.
  virtual absl::StatusOr<QueryResult> Range(const std::string& expr, int64_t start_ms,
                                            int64_t end_ms, int64_t step_ms,
                                            tsdb::Storage* storage) = 0;
  // test.go's atModifierTestCases rewrite: `expr` printed back with `@ <t_ms/1000>` set on every
  // vector selector, matrix selector and subquery that has none, except inside a subquery that
  // already has one. std::nullopt when the expression calls a function that is not
  // step-invariant (time, timestamp, predict_linear, day_of_month, day_of_week, day_of_year,
  // days_in_month, hour, minute, month, year): then there are no @ variants. The default
  // returns Unimplemented, and the runner skips the @ checks (and counts that it did).
  virtual absl::StatusOr<std::optional<std::string>> PinAt(const std::string& expr, int64_t t_ms);
};

// One expected result line of an eval.
struct ExpectedSample {
  tsdb::Labels labels;
  SequenceValue value;  // an expected `_` compares as 0, as in test.go
  int pos = 0;          // 1-based line position inside the eval block (for eval_ordered)
  int line = 0;         // 1-based line in the script
};

struct LoadCommand {
  int64_t step_ms = 0;
  // In first-definition order; a series defined twice in one block keeps the last definition.
  std::vector<SeriesDescription> series;
};

struct EvalCommand {
  std::string expr;
  int64_t t_ms = 0;
  bool fail = false;
  bool ordered = false;
  std::vector<ExpectedSample> expected;  // unique label sets, in order of first appearance
  std::optional<ExpectedSample> scalar;  // a bare-number line (labels empty)
};

struct Command {
  enum class Kind { kLoad, kClear, kEval };
  Kind kind = Kind::kClear;
  int line = 0;      // 1-based line of the command word
  std::string text;  // the command line as written (trimmed)
  LoadCommand load;  // kind == kLoad
  EvalCommand eval;  // kind == kEval
};

struct Script {
  std::vector<Command> commands;
  size_t NumEvals() const;
  size_t NumLoads() const;
  size_t NumClears() const;
};

struct ParseOptions {
  // Checks the syntax of each eval expression, as test.go does with parser.ParseExpr; the error
  // is reported at the eval's line. Unset: expressions are taken as written.
  std::function<absl::Status(std::string_view expr)> validate_expr;
};

// Parses a whole script. InvalidArgument naming the 1-based line on the first error, e.g.
// `12:1: parse error: invalid command "evaluate instant at 1m x"`.
absl::StatusOr<Script> ParseScript(std::string_view text, const ParseOptions& options = {});

// test.go's almostEqual: NaN equals NaN; otherwise equal, or relative error below `epsilon`
// (absolute error below epsilon * smallest normal when either side is 0 or tiny).
bool AlmostEqual(double a, double b, double epsilon = kEpsilon);

// test.go's compareResult: OK when `result` matches the expectations of `eval`; otherwise a
// FailedPrecondition whose message reads like Prometheus's (e.g. `expected 2 for
// {__name__="x"} but got 3`). A matrix or string result is always a mismatch.
absl::Status CompareResult(const EvalCommand& eval, const QueryResult& result);

// Appends a load block's samples into `storage` in one transaction. An append error (out of
// order, duplicate timestamp) rolls back the whole block and is returned.
absl::Status LoadInto(const LoadCommand& load, tsdb::Storage* storage);

struct CaseResult {
  int line = 0;
  std::string command;  // e.g. "eval instant at 5m rate(x[1m])"
  bool passed = false;
  std::string message;  // failure reason, empty when passed
};

struct RunReport {
  std::vector<CaseResult> cases;  // every eval, plus every load that failed
  int passed = 0;
  int failed = 0;
  int at_checks_skipped = 0;  // evals whose @-modifier variants the engine could not produce
  // "N passed, M failed".
  std::string Summary() const;
  // One "FAILED line L: <command>\n    <message>" entry per failure, then Summary().
  std::string ToText() const;
};

// Runs every command in order. Never fails as a whole: problems are failed cases.
RunReport RunScript(const Script& script, QueryEngine& engine);

}  // namespace stakewatch::promqltest
