// The storage seam: scrapers and (later) the rule evaluator write through an Appender; queriers
// read through Storage::Select. MemStorage is the in-memory implementation: Prometheus's XOR
// chunks (tsdb/chunk.h), 120 samples per chunk, as in Prometheus's head block.
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

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tsdb/chunk.h"
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

// Addition for the query engine (issue #5): one series' samples in a time range, decoded chunk by
// chunk as it advances instead of into a vector. It holds its own references to the chunks it
// reads (the head chunk is copied when the iterator is made), so it stays valid and unchanged
// while appenders and Compact() run; it sees only what was committed when it was made.
// Threads: a value; one thread at a time.
class SeriesIterator {
 public:
  SeriesIterator() = default;  // no samples

  // Moves to the next sample in range; false at the end (or on corrupt data: see status()).
  bool Next();
  // Moves to the first sample in range with t >= t_ms, staying put if the current one already
  // is; skips whole chunks that end before t_ms without decoding them. False if there is none.
  bool Seek(int64_t t_ms);
  // The current sample. REQUIRES: the last Next()/Seek() returned true.
  Sample At() const { return Sample{it_.t(), it_.v()}; }
  // The newest sample in range with t <= t_ms, or false if there is none. Advances the iterator
  // (afterwards At(), if valid, is the first sample after t_ms), so t_ms must not decrease from
  // one call to the next, and Seek() must not be mixed in. For instant-vector lookback: call
  // AtOrBefore(t) and accept the sample if its t > t - lookback.
  bool AtOrBefore(int64_t t_ms, Sample* out);
  // DataLoss if a chunk could not be decoded (cannot happen for chunks MemStorage wrote).
  const absl::Status& status() const { return status_; }

 private:
  friend class MemStorage;
  SeriesIterator(std::vector<std::shared_ptr<const XorChunk>> chunks, int64_t min_t_ms,
                 int64_t max_t_ms);
  bool RawNext();
  bool Finish();

  std::vector<std::shared_ptr<const XorChunk>> chunks_;  // ascending, overlapping the range
  size_t next_chunk_ = 0;
  XorIterator it_;
  int64_t min_t_ = 0;
  int64_t max_t_ = -1;
  bool valid_ = false;
  bool done_ = false;
  bool has_prev_ = false;
  Sample prev_;  // the sample before the current one, when has_prev_
  absl::Status status_;
};

// Addition (issue #5): a series and an iterator over its samples, from MemStorage::Query.
struct SeriesCursor {
  Labels labels;
  SeriesIterator samples;
};

// Everything in memory: a hash map from Labels to a series of XOR chunks (tsdb/chunk.h), plus two
// ordered indexes (by labels, and by metric name then labels) so that queries walk series in
// label order without sorting, and a query with `__name__="x"` visits only that name's series. A
// series
// appends to its head chunk; after kSamplesPerChunk (120) samples the head is closed (immutable,
// shared with readers) and a new one started. Compact() drops whole chunks whose newest sample is
// older than (newest appended timestamp - retention), removes series left without samples, and
// from then on reads (Select, Query) do not return samples older than that cut-off, which
// Prometheus's head also hides after truncation. Memory (bench_tsdb, 100k series x 130 samples
// of counters, balances and constants, everything counted: labels, map and chunks): 7 bytes per
// sample, against 34 for the plain vector layout it replaced; MemoryBytes() measures it.
class MemStorage final : public Storage {
 public:
  explicit MemStorage(int64_t retention_ms = 6 * 3600 * 1000);
  ~MemStorage() override;
  std::unique_ptr<Appender> NewAppender() override;
  absl::StatusOr<std::vector<Series>> Select(const std::vector<Matcher>& matchers, int64_t min_t_ms,
                                             int64_t max_t_ms) const override;
  // Addition (issue #5): like Select, but the samples are decoded lazily by each cursor's
  // iterator, and only the chunks overlapping [min_t_ms, max_t_ms] are kept. A cursor may yield
  // no samples (its chunks overlap the range, its samples do not). Sorted by labels.
  absl::StatusOr<std::vector<SeriesCursor>> Query(const std::vector<Matcher>& matchers,
                                                  int64_t min_t_ms, int64_t max_t_ms) const;
  // Drops chunks older than the retention; returns how many series were removed.
  size_t Compact();
  size_t NumSeries() const;
  // Samples held in memory (including those of kept chunks that are older than the cut-off).
  size_t NumSamples() const;
  // Addition (issue #5): bytes used by series, labels and chunks (an estimate of the heap; walks
  // every series under the lock, so call it for statistics, not per sample).
  size_t MemoryBytes() const;
  // The longest retention of any series (what Append and reads use as their cut-off).
  int64_t retention_ms() const;
  // Addition (issue #5): changes the retention (e.g. once the rule files say how far back they
  // look); applies from the next Append and Compact(). Clears per-name retentions.
  void SetRetention(int64_t retention_ms);
  // Per metric name: series named in `by_name_ms` keep their samples that long, every other
  // series `default_ms` (so a rule reading 30 days of a few counters does not make every series
  // stay 30 days). Appends and reads use the longest of them as their cut-off.
  void SetRetention(int64_t default_ms, absl::flat_hash_map<std::string, int64_t> by_name_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stakewatch::tsdb
