// The PromQL engine (query/engine.h) behind the promqltest harness's QueryEngine interface, so
// Prometheus's `.test` scripts run against it: `stakewatch test promql FILE...` and the
// conformance test use this.
//
// Engine settings are those of Prometheus's test harness (promqltest::kLookbackDeltaMs,
// kMaxSamples, kNoStepSubqueryIntervalMs). Threads: one thread at a time, like the harness.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "promqltest/script.h"
#include "query/engine.h"

namespace stakewatch::query {

class PromqlTestEngine final : public promqltest::QueryEngine {
 public:
  PromqlTestEngine();
  absl::StatusOr<promqltest::QueryResult> Instant(const std::string& expr, int64_t t_ms,
                                                  tsdb::Storage* storage) override;
  absl::StatusOr<promqltest::QueryResult> Range(const std::string& expr, int64_t start_ms,
                                                int64_t end_ms, int64_t step_ms,
                                                tsdb::Storage* storage) override;
  absl::StatusOr<std::optional<std::string>> PinAt(const std::string& expr, int64_t t_ms) override;

 private:
  Engine engine_;
};

// Converts an engine value to the harness's result type.
promqltest::QueryResult ToQueryResult(Value v);

}  // namespace stakewatch::query
