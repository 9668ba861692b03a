// The implementations of Prometheus 2.42's PromQL functions (promql/functions.go), called by the
// engine (query/engine.cc) once per evaluation step, exactly as Prometheus's FunctionCall:
//
//  * Instant-vector arguments arrive as the vector at this step; scalar arguments as a vector with
//    one sample (empty labels) holding the scalar's value; string arguments are not evaluated (read
//    them from the AST, `call.args[i]`, which is a promql::StringLiteral after unwrapping
//    parentheses).
//  * A function with a range-vector argument (rate, *_over_time, ...) is called once per series of
//    that argument: `matrix` is that one series with its points in the window
//    [t - offset - range, t - offset] (2.42 closes both ends), and `range_ms`/`offset_ms` are
//    the selector's (or subquery's) range and effective offset (after `@` was turned into an
//    offset), which extrapolatedRate needs.
//  * The function appends its result samples to `*out` (as Prometheus appends to enh.Out); every
//    output sample gets t_ms = ctx.ts_ms. Functions drop `__name__` where Prometheus does.
//  * Errors (Prometheus panics with them) are returned as InvalidArgument with Prometheus's
//    message, e.g. "invalid regular expression in label_replace(): (". The engine reports them as
//    the query's error.
//
// Thread-safety: the table is immutable; implementations are pure apart from `ctx.cache`, which
// belongs to one evaluation (one thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "promql/ast.h"
#include "query/value.h"

namespace stakewatch::query {

// Per-evaluation-node scratch space that survives from one step to the next (Prometheus's
// EvalNodeHelper caches, e.g. label_replace results keyed by input labels). Functions may store
// anything here through `slot`; the engine creates one per Call node and query.
struct FunctionCache {
  virtual ~FunctionCache() = default;
};

struct FunctionContext {
  int64_t ts_ms = 0;                   // the evaluation time of this step
  const promql::Call* call = nullptr;  // the call's AST (args as written, incl. string literals)
  // One entry per argument, in order: the instant vector (or one-sample scalar vector); nullptr
  // for string arguments and for the range-vector argument.
  std::vector<const Vector*> args;
  // The range-vector argument's series for this call (see above); nullptr if there is none.
  const Series* matrix = nullptr;
  int64_t range_ms = 0;   // of the range-vector argument
  int64_t offset_ms = 0;  // of the range-vector argument (effective, after @)
  // Owned by the engine; the function may replace it (e.g. with its own subclass).
  std::unique_ptr<FunctionCache>* cache = nullptr;
};

using FunctionImpl = absl::Status (*)(const FunctionContext& ctx, Vector* out);

// The implementation of the function called `name` (any name in promql::AllFunctions()), or
// nullptr if there is none.
FunctionImpl LookupFunctionImpl(std::string_view name);

}  // namespace stakewatch::query
