// The values a PromQL evaluation produces (Prometheus 2.42's promql/value.go, float samples only):
// instant vectors, range vectors (matrices), scalars and strings.
//
// Plain value types with no shared state: thread-compatible. Timestamps are int64 milliseconds
// since the Unix epoch, as everywhere in stakewatch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tsdb/labels.h"

namespace stakewatch::query {

using tsdb::Labels;
using Point = tsdb::Sample;  // {t_ms, v}

// One element of an instant vector: a series' labels and one value at time `t_ms` (the
// evaluation time, except inside `timestamp(selector)` where it is the sample's own time).
struct VSample {
  Labels metric;
  int64_t t_ms = 0;
  double v = 0;
};
using Vector = std::vector<VSample>;

// One series of a range vector; points ascending by time.
struct Series {
  Labels metric;
  std::vector<Point> points;
};
using Matrix = std::vector<Series>;

struct Scalar {
  int64_t t_ms = 0;
  double v = 0;
};

struct String {
  int64_t t_ms = 0;
  std::string v;
};

// Returns `l` without `__name__` (Prometheus's dropMetricName).
Labels DropMetricName(const Labels& l);

}  // namespace stakewatch::query
