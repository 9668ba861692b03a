// SeriesStore: stakewatch's columnar store of current metric values, rendered for /metrics.
//
// One store holds every family stakewatch exposes (validator accounting, beacon-node health,
// stakewatch's own health). It is built for a million series: each series' label set is
// rendered and interned once, when the series is created, into one contiguous byte arena; its
// value lives in a plain array indexed by SeriesId. Rendering walks the arrays and appends
// straight into one output buffer; there is no per-series object and no per-scrape label work.
//
//   SeriesStore store;
//   Family* included = store.AddFamily({.name = "eth_validator_group_attestations_included_total",
//                                       .help = "...", .type = MetricType::kCounter,
//                                       .label_names = {"group"}}).value();
//   SeriesId s = included->GetOrCreate({"lido"});
//   included->Add(s, 1);
//   std::string body;
//   store.Render(Format::kText004, &body);
//
// Ownership: the store owns its families; Family* stays valid for the store's lifetime.
// Threads: every method of SeriesStore and Family is thread-safe. Each family has its own lock;
// a render sees each family at one instant (not the whole store). For bulk updates take a
// Family::Writer, which holds the family's lock for its lifetime.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace stakewatch::exposition {

enum class MetricType { kCounter, kGauge, kHistogram, kUntyped };

// Exposition formats stakewatch can render.
enum class Format {
  kText004,          // text/plain; version=0.0.4
  kOpenMetrics100,   // application/openmetrics-text; version=1.0.0
};

struct FamilyDesc {
  // Full sample name as exposed in the text format. Counters must end in "_total" (OpenMetrics
  // declares the family without it). Histograms name the base (samples get _bucket/_sum/_count).
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<std::string> label_names;
  // Histograms only: finite upper bounds, strictly ascending; +Inf is implied.
  std::vector<double> buckets;
};

// Dense index of a series within its family.
struct SeriesId {
  uint32_t index = 0;
};

class Family;

class SeriesStore {
 public:
  SeriesStore();
  ~SeriesStore();
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  // Registers a family. Fails on an invalid metric or label name, a duplicate family name, a
  // counter not ending in _total, or unsorted histogram buckets.
  absl::StatusOr<Family*> AddFamily(FamilyDesc desc);

  // Looks up a family by name; nullptr if absent.
  Family* FindFamily(std::string_view name) const;

  // Appends the whole exposition in `format` to *out (families in registration order; families
  // with no series are omitted; OpenMetrics ends with "# EOF\n").
  void Render(Format format, std::string* out) const;

  // Names of all registered families (for the docs/metrics.md drift test).
  std::vector<std::string> FamilyNames() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Family*> by_name_ ABSL_GUARDED_BY(mu_);
};

class Family {
 public:
  // Holds the family's lock; unlocked variants of the mutators for bulk updates.
  class Writer {
   public:
    explicit Writer(Family* f);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    SeriesId GetOrCreate(absl::Span<const std::string_view> label_values);
    void Set(SeriesId id, double v);
    void Add(SeriesId id, double delta);
    void Observe(SeriesId id, double v);  // histograms only

   private:
    Family* f_;
  };

  const FamilyDesc& desc() const { return desc_; }

  // Returns the id of the series with these label values, creating it at 0 if new.
  // REQUIRES: label_values.size() == desc().label_names.size().
  SeriesId GetOrCreate(absl::Span<const std::string_view> label_values);
  void Set(SeriesId id, double v);
  void Add(SeriesId id, double delta);
  // Histograms only: counts `v` into its bucket, _sum and _count.
  void Observe(SeriesId id, double v);
  // Current value (counter/gauge), or the _count of a histogram.
  double Value(SeriesId id) const;
  // Number of series.
  size_t size() const;
  // Drops every series (ids become invalid).
  void Clear();

  // Appends this family in `format` to *out.
  void Render(Format format, std::string* out) const;

 private:
  friend class SeriesStore;
  explicit Family(FamilyDesc desc);
  SeriesId GetOrCreateLocked(absl::Span<const std::string_view> label_values)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ObserveLocked(SeriesId id, double v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const FamilyDesc desc_;
  mutable absl::Mutex mu_;
  // Rendered label sets, e.g. `group="lido",node="a"` (without braces), back to back.
  std::string label_arena_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> label_offsets_ ABSL_GUARDED_BY(mu_);  // size()+1 entries
  absl::flat_hash_map<std::string, uint32_t> index_ ABSL_GUARDED_BY(mu_);
  std::vector<double> values_ ABSL_GUARDED_BY(mu_);  // counter/gauge value; histogram _sum
  // Histograms: per series, buckets.size()+1 cumulative-at-render counts (last is +Inf).
  std::vector<uint64_t> bucket_counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stakewatch::exposition
