// Labels: a series' identity as Prometheus defines it, a set of (name, value) pairs kept sorted
// by name with unique names. `__name__` holds the metric name. Empty values do not exist: setting
// a label to "" removes it (Prometheus's rule).
//
// Used by the scraper (stakewatch's view of scraped targets), the in-memory storage, relabelling
// and, later, the rules engine. A plain value type: thread-compatible, no shared state.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stakewatch::tsdb {

inline constexpr std::string_view kMetricName = "__name__";

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
};

class Labels {
 public:
  Labels() = default;
  // Sorts by name; for duplicate names the last one wins; pairs with empty values are dropped.
  Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs);
  static Labels FromPairs(const std::vector<std::pair<std::string, std::string>>& pairs);
  // `sorted` must already be sorted by name, unique and without empty values (checked in debug
  // builds only). For hot paths that build labels in order.
  static Labels FromSorted(std::vector<Label> sorted);

  // The value of `name`, or "" when absent.
  std::string_view Get(std::string_view name) const;
  bool Has(std::string_view name) const;
  size_t size() const { return labels_.size(); }
  bool empty() const { return labels_.empty(); }
  std::vector<Label>::const_iterator begin() const { return labels_.begin(); }
  std::vector<Label>::const_iterator end() const { return labels_.end(); }
  const std::vector<Label>& items() const { return labels_; }

  // 64-bit hash of the names and values (stable within one process; not persisted).
  uint64_t Hash() const;
  // Prometheus's String(): {__name__="up", job="x"} with Go-quoted values (\\, \", \n escaped).
  std::string ToString() const;

  friend bool operator==(const Labels&, const Labels&) = default;
  // Lexicographic by (name, value) pairs, then by length: Prometheus's labels.Compare.
  friend bool operator<(const Labels& a, const Labels& b);

 private:
  std::vector<Label> labels_;
};

// Builds a Labels from a base set with changes; used by relabelling and target labels.
class LabelsBuilder {
 public:
  explicit LabelsBuilder(const Labels& base = {});
  void Reset(const Labels& base);
  // Sets `name` to `value`; an empty value deletes the label.
  LabelsBuilder& Set(std::string_view name, std::string_view value);
  LabelsBuilder& Del(std::string_view name);
  // The current value of `name` ("" when absent), reflecting the changes so far.
  std::string_view Get(std::string_view name) const;
  // Calls f(name, value) for every current label, in name order.
  template <typename F>
  void Range(F&& f) const {
    for (const Label& l : Build()) f(l.name, l.value);
  }
  Labels Build() const;

 private:
  std::vector<Label> current_;  // sorted by name, no empty values
};

// A float sample. Timestamps are milliseconds since the Unix epoch, as in Prometheus.
struct Sample {
  int64_t t_ms = 0;
  double v = 0;
};

// Prometheus's staleness marker: a NaN with this exact bit pattern (value.StaleNaN).
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ULL;
double StaleNaN();
bool IsStaleNaN(double v);

// True for [a-zA-Z_][a-zA-Z0-9_]* (label names) and [a-zA-Z_:][a-zA-Z0-9_:]* (metric names).
bool IsValidLabelName(std::string_view name);
bool IsValidMetricName(std::string_view name);

}  // namespace stakewatch::tsdb
