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
// a render sees each family at one instant (not the whole store), and holds that family's lock
// (shared) while it renders it, so writers to that family wait for at most one family's render.
// For bulk updates take a Family::Writer, which holds the family's lock for its lifetime.
//
// Memory: per series, its escaped label text (`group="lido",validator="123456"`), a 4-byte
// offset, an 8-byte value (histograms: 8 bytes per bucket more), and about 5 bytes of hash index
// (a set of series ids hashed by their label text; lookups need no per-series std::string).
// Use MemoryBytes() to measure.
//
// Output formats (see prometheus-semantics.md §6):
// - Text 0.0.4: `# HELP` (escapes `\\`, `\n`), `# TYPE`, `name{l="v"} value`. Values that are
//   integers with |v| < 2^53 print as integers, others as the shortest round-trip decimal;
//   `NaN`, `+Inf`, `-Inf`. Histogram `le` values are formatted like Go's strconv 'g' (0.005, 1,
//   2.5, 1e+06, +Inf), as client_golang and Prometheus do.
// - OpenMetrics 1.0.0: as text, except counters are declared without `_total`, untyped is
//   `unknown`, `# HELP` also escapes `"`, `le` values are canonical floats (`1.0`, 0.005), and
//   the body ends with `# EOF`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

namespace stakewatch::exposition {

enum class MetricType { kCounter, kGauge, kHistogram, kUntyped };

// Exposition formats stakewatch can render.
enum class Format {
  kText004,         // text/plain; version=0.0.4
  kOpenMetrics100,  // application/openmetrics-text; version=1.0.0
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
  // Returned by GetOrCreate for a call that breaks its REQUIRES (wrong number of label values)
  // or when the family is full (2^32-1 series or 4 GiB of label text). Mutators ignore it.
  static constexpr uint32_t kInvalid = 0xFFFFFFFFu;
  uint32_t index = 0;
  bool valid() const { return index != kInvalid; }
};

// Returns OK if `name` is a valid Prometheus metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
absl::Status ValidateMetricName(std::string_view name);
// Returns OK if `name` is a valid, non-reserved label name: [a-zA-Z_][a-zA-Z0-9_]*, not "__*".
absl::Status ValidateLabelName(std::string_view name);

class Family;

class SeriesStore {
 public:
  SeriesStore();
  ~SeriesStore();
  SeriesStore(const SeriesStore&) = delete;
  SeriesStore& operator=(const SeriesStore&) = delete;

  // Registers a family. Fails (InvalidArgument / AlreadyExists) on an invalid metric or label
  // name, a duplicate label name, `le` as a histogram label, a duplicate family name or one whose
  // exposed sample names (x_bucket, x_sum, x_count, or a counter's OpenMetrics name) collide with
  // another family's, a counter not ending in _total, or unsorted or non-finite histogram buckets
  // (or buckets on a non-histogram).
  absl::StatusOr<Family*> AddFamily(FamilyDesc desc);

  // Looks up a family by name; nullptr if absent.
  Family* FindFamily(std::string_view name) const;

  // Appends the whole exposition in `format` to *out (families in registration order; families
  // with no series are omitted; OpenMetrics ends with "# EOF\n"). Reserves a worst-case
  // capacity up front (about 1.5x the body) and, on Linux, advises huge pages for it, so a fresh
  // string is faulted in cheaply; reuse one string across scrapes to skip even that.
  void Render(Format format, std::string* out) const;

  // Names of all registered families (for the docs/metrics.md drift test).
  std::vector<std::string> FamilyNames() const;

  // Approximate heap bytes held by all families (capacity, not size).
  size_t MemoryBytes() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Family*> by_name_ ABSL_GUARDED_BY(mu_);
  // Every sample or family name any registered family exposes, in either format.
  absl::flat_hash_set<std::string> exposed_names_ ABSL_GUARDED_BY(mu_);
};

class Family {
 public:
  // Holds the family's lock; unlocked variants of the mutators for bulk updates.
  // Do not call the Family's own methods from the thread holding a Writer (self-deadlock).
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

  // Returns the id of the series with these label values, creating it at 0 if new. Label values
  // may hold any bytes; they are escaped once here. Looking up an existing series does not
  // allocate.
  // REQUIRES: label_values.size() == desc().label_names.size() (otherwise returns an invalid id).
  SeriesId GetOrCreate(absl::Span<const std::string_view> label_values);
  // Counter/gauge/untyped only (no-op on histograms); an invalid or stale id is ignored.
  void Set(SeriesId id, double v);
  void Add(SeriesId id, double delta);
  // Histograms only: counts `v` into its bucket, _sum and _count (NaN goes to +Inf, as in Go).
  void Observe(SeriesId id, double v);
  // Current value (counter/gauge), or the _count of a histogram; NaN for an invalid id.
  double Value(SeriesId id) const;
  // Number of series.
  size_t size() const;
  // Drops every series (ids become invalid).
  void Clear();

  // Appends this family in `format` to *out (nothing if it has no series; never "# EOF").
  void Render(Format format, std::string* out) const;

  // Approximate heap bytes held by this family's series (capacity, not size).
  size_t MemoryBytes() const;

 private:
  friend class SeriesStore;

  // Hash and equality over series ids, comparing their label text in the arena; transparent,
  // so a std::string_view of label text can be looked up without building a std::string.
  struct KeyHash {
    using is_transparent = void;
    const Family* f;
    size_t operator()(uint32_t id) const;
    size_t operator()(std::string_view labels) const;
  };
  struct KeyEq {
    using is_transparent = void;
    const Family* f;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, std::string_view b) const;
    bool operator()(std::string_view a, uint32_t b) const { return (*this)(b, a); }
  };

  explicit Family(FamilyDesc desc);
  SeriesId GetOrCreateLocked(absl::Span<const std::string_view> label_values)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetLocked(SeriesId id, double v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddLocked(SeriesId id, double delta) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ObserveLocked(SeriesId id, double v) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Label text of series `id` (caller holds mu_; not annotated because the hash functors use it).
  std::string_view LabelsOf(uint32_t id) const;
  // Upper bound on the bytes the samples of series [first, last) render to (header excluded).
  size_t RenderBoundLocked(size_t first, size_t last) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Upper bound for the whole family, header included (takes the lock).
  size_t RenderBound() const;
  // Write the samples of series [first, last) at p; return the end of what was written.
  char* RenderScalarsLocked(size_t first, size_t last, char* p) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  char* RenderHistogramsLocked(const std::vector<std::string>& les, size_t first, size_t last,
                               char* p) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const FamilyDesc desc_;
  // Precomputed `# HELP`/`# TYPE` lines per format, and `le` label values per format.
  std::string header_text_;
  std::string header_om_;
  std::vector<std::string> le_text_;  // buckets.size()+1 entries, last "+Inf"
  std::vector<std::string> le_om_;
  size_t max_le_size_ = 0;

  mutable absl::Mutex mu_;
  // Rendered label sets, e.g. `group="lido",node="a"` (without braces), back to back. A vector
  // rather than a std::string so that growth is ours to choose (1.5x, not libstdc++'s 2x).
  std::vector<char> label_arena_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> label_offsets_ ABSL_GUARDED_BY(mu_);  // size()+1 entries
  absl::flat_hash_set<uint32_t, KeyHash, KeyEq> index_ ABSL_GUARDED_BY(mu_);
  // Reused buffer for the label text of a lookup (keeps its capacity, so lookups don't allocate).
  std::string key_scratch_ ABSL_GUARDED_BY(mu_);
  std::vector<double> values_ ABSL_GUARDED_BY(mu_);  // counter/gauge value; histogram _sum
  // Histograms: per series, buckets.size()+1 per-bucket (non-cumulative) counts, the last for
  // values above every bound; cumulated at render.
  std::vector<uint64_t> bucket_counts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stakewatch::exposition
