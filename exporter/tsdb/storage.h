// The storage seam: scrapers and (later) the rule evaluator write through an Appender; queriers
// read through Storage::Select. MemStorage is the in-memory implementation used today; issue #5
// may replace its layout (compressed chunks) behind the same interface.
//
// Semantics follow Prometheus's storage.Appender: samples appended to one Appender become
// visible together at Commit(); Rollback() discards them. Appending a sample whose timestamp is
// older than the series' newest sample is an out-of-order error for that sample only; the same
// timestamp with the same value is silently ignored, with a different value it is a
// "duplicate sample for timestamp" error. A staleness marker (StaleNaN) is stored like any value.
//
// Threads: Storage is thread-safe. One Appender is used by one thread at a time; any number of
// appenders and queriers may be open at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/labels.h"

namespace stakewatch::tsdb {

// Per-sample append errors, as in Prometheus (storage.ErrOutOfOrderSample, ...). The scrape
// loop counts them and goes on; they do not fail a scrape.
enum class AppendError { kNone, kOutOfOrder, kDuplicateTimestamp, kOutOfBounds };

class Appender {
 public:
  virtual ~Appender() = default;
  // Queues one sample; `labels` must be valid (non-empty __name__ or at least one label).
  virtual AppendError Append(const Labels& labels, int64_t t_ms, double v) = 0;
  // Makes every queued sample visible at once.
  virtual absl::Status Commit() = 0;
  // Discards every queued sample.
  virtual void Rollback() = 0;
};

// A label matcher (=, !=, =~, !~); regexes are fully anchored RE2, as in Prometheus.
struct Matcher {
  enum class Type { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
  Type type = Type::kEqual;
  std::string name;
  std::string value;
};

struct Series {
  Labels labels;
  std::vector<Sample> samples;  // ascending t_ms
};

class Storage {
 public:
  virtual ~Storage() = default;
  virtual std::unique_ptr<Appender> NewAppender() = 0;
  // Every series matching all `matchers` with its samples in [min_t_ms, max_t_ms], sorted by
  // labels. InvalidArgument for a regex that does not compile.
  virtual absl::StatusOr<std::vector<Series>> Select(const std::vector<Matcher>& matchers,
                                                     int64_t min_t_ms, int64_t max_t_ms) const = 0;
};

// Everything in memory: a hash map from Labels to a growing sample vector. Samples older than
// (newest appended timestamp - retention) are dropped by Compact(), and a series with no samples
// left is removed. Memory: about 16 bytes per sample plus the labels once per series.
class MemStorage final : public Storage {
 public:
  explicit MemStorage(int64_t retention_ms = 6 * 3600 * 1000);
  ~MemStorage() override;
  std::unique_ptr<Appender> NewAppender() override;
  absl::StatusOr<std::vector<Series>> Select(const std::vector<Matcher>& matchers, int64_t min_t_ms,
                                             int64_t max_t_ms) const override;
  // Drops samples older than the retention; returns how many series were removed.
  size_t Compact();
  size_t NumSeries() const;
  size_t NumSamples() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stakewatch::tsdb
