#include "query/promqltest_engine.h"

#include <utility>
#include <variant>

#include "common/status_macros.h"

namespace stakewatch::query {
namespace {

EngineOptions TestOptions() {
  EngineOptions o;
  o.lookback_delta_ms = promqltest::kLookbackDeltaMs;
  o.max_samples = promqltest::kMaxSamples;
  o.no_step_subquery_interval_ms = promqltest::kNoStepSubqueryIntervalMs;
  return o;
}

std::vector<promqltest::MatrixSeries> ToMatrix(Matrix m) {
  std::vector<promqltest::MatrixSeries> out;
  out.reserve(m.size());
  for (Series& s : m) out.push_back({std::move(s.metric), std::move(s.points)});
  return out;
}

}  // namespace

PromqlTestEngine::PromqlTestEngine() : engine_(TestOptions()) {}

promqltest::QueryResult ToQueryResult(Value v) {
  if (auto* vec = std::get_if<Vector>(&v)) {
    std::vector<promqltest::VectorSample> out;
    out.reserve(vec->size());
    for (VSample& s : *vec) out.push_back({std::move(s.metric), s.v});
    return promqltest::QueryResult::Vector(std::move(out));
  }
  if (auto* m = std::get_if<Matrix>(&v)) return promqltest::QueryResult::Matrix(ToMatrix(*m));
  if (auto* s = std::get_if<Scalar>(&v)) return promqltest::QueryResult::Scalar(s->v);
  return promqltest::QueryResult::String(std::get<String>(v).v);
}

absl::StatusOr<promqltest::QueryResult> PromqlTestEngine::Instant(const std::string& expr,
                                                                  int64_t t_ms,
                                                                  tsdb::Storage* storage) {
  ASSIGN_OR_RETURN(Value v, engine_.Instant(expr, t_ms, *storage));
  return ToQueryResult(std::move(v));
}

absl::StatusOr<promqltest::QueryResult> PromqlTestEngine::Range(const std::string& expr,
                                                                int64_t start_ms, int64_t end_ms,
                                                                int64_t step_ms,
                                                                tsdb::Storage* storage) {
  ASSIGN_OR_RETURN(Matrix m, engine_.Range(expr, start_ms, end_ms, step_ms, *storage));
  return promqltest::QueryResult::Matrix(ToMatrix(std::move(m)));
}

absl::StatusOr<std::optional<std::string>> PromqlTestEngine::PinAt(const std::string& expr,
                                                                   int64_t t_ms) {
  return query::PinAt(expr, t_ms);
}

}  // namespace stakewatch::query
