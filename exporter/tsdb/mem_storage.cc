// MemStorage: one mutex over a hash map from Labels to a chunked series. Appenders queue samples
// locally and take the lock only to validate (Append) and to publish (Commit). Readers take the
// lock only to collect references to the chunks they need (closed chunks are immutable and
// shared; the head chunk is copied), then decode without it.
#include <algorithm>
#include <atomic>
#include <bit>
#include <deque>
#include <limits>
#include <memory>
#include <utility>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/strings.h"
#include "re2/re2.h"
#include "tsdb/storage.h"

namespace stakewatch::tsdb {
namespace {

// A Labels and its hash, computed once per Append: the maps below look it up without hashing
// the label strings again (heterogeneous lookup).
struct LabelsRef {
  const Labels* labels;
  uint64_t hash;
};

struct LabelsHash {
  using is_transparent = void;
  size_t operator()(const Labels& l) const { return static_cast<size_t>(l.Hash()); }
  size_t operator()(const LabelsRef& r) const { return static_cast<size_t>(r.hash); }
};

struct LabelsEq {
  using is_transparent = void;
  static const Labels& Get(const Labels& l) { return l; }
  static const Labels& Get(const LabelsRef& r) { return *r.labels; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return Get(a) == Get(b);
  }
};

bool SameValue(double a, double b) {
  // Prometheus compares the bits: two NaNs with the same payload are the same value.
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// One series: closed chunks (immutable, shared with readers) and the head chunk being appended.
struct MemSeries {
  std::vector<std::shared_ptr<const XorChunk>> closed;  // ascending time
  XorChunk head;

  bool empty() const { return head.empty() && closed.empty(); }
  // The newest sample; REQUIRES !empty(). The head is empty only if nothing was ever appended.
  Sample Last() const { return Sample{head.max_t(), head.last_v()}; }
  void Append(int64_t t, double v) {
    if (head.num_samples() >= kSamplesPerChunk) {
      head.Shrink();
      closed.push_back(std::make_shared<const XorChunk>(std::move(head)));
      head = XorChunk();
    }
    head.Append(t, v);
  }
};

using SeriesMap = absl::node_hash_map<Labels, MemSeries, LabelsHash, LabelsEq>;
using Entry = SeriesMap::value_type;  // node-based: its address is stable until erased

// Index orders. A query walks series in label order (the order Prometheus's postings give), so
// its result needs no sort; one with `__name__="x"` walks only the series of that name.
std::string_view MetricNameOf(const Labels& l) { return l.Get(kMetricName); }
struct ByLabels {
  bool operator()(const Entry* a, const Entry* b) const { return a->first < b->first; }
};
struct ByName {
  using is_transparent = void;
  bool operator()(const Entry* a, const Entry* b) const {
    const std::string_view na = MetricNameOf(a->first), nb = MetricNameOf(b->first);
    if (na != nb) return na < nb;
    return a->first < b->first;
  }
  bool operator()(const Entry* a, std::string_view name) const {
    return MetricNameOf(a->first) < name;
  }
  bool operator()(std::string_view name, const Entry* b) const {
    return name < MetricNameOf(b->first);
  }
};

// The shared state behind MemStorage and its appenders.
struct MemState {
  explicit MemState(int64_t retention) : retention_ms(retention), default_retention_ms(retention) {}

  // Whether (t, v) may follow a series whose newest sample is `last` (nullptr: empty series).
  static AppendError Check(const Sample* last, int64_t t, double v) {
    if (last == nullptr) return AppendError::kNone;
    if (t < last->t_ms) return AppendError::kOutOfOrder;
    if (t == last->t_ms) {
      return SameValue(v, last->v) ? AppendError::kNone : AppendError::kDuplicateTimestamp;
    }
    return AppendError::kNone;
  }

  // The longest retention of any series (the default or a per-name one): appends older than
  // max_t - retention_ms are out of bounds, and reads hide what is older.
  std::atomic<int64_t> retention_ms;
  mutable absl::Mutex mu;
  int64_t default_retention_ms ABSL_GUARDED_BY(mu) = 0;
  absl::flat_hash_map<std::string, int64_t> name_retention_ms ABSL_GUARDED_BY(mu);
  SeriesMap series ABSL_GUARDED_BY(mu);
  absl::btree_set<const Entry*, ByLabels> by_labels ABSL_GUARDED_BY(mu);
  absl::btree_set<const Entry*, ByName> by_name ABSL_GUARDED_BY(mu);
  int64_t max_t ABSL_GUARDED_BY(mu) = std::numeric_limits<int64_t>::min();
  // Reads return nothing older than this (the last Compact()'s cut-off).
  int64_t min_visible_t ABSL_GUARDED_BY(mu) = std::numeric_limits<int64_t>::min();
  size_t num_samples ABSL_GUARDED_BY(mu) = 0;
};

class MemAppender final : public Appender {
 public:
  explicit MemAppender(MemState* impl) : impl_(impl) {}

  AppendError Append(const Labels& labels, int64_t t_ms, double v) override {
    const LabelsRef ref{&labels, labels.Hash()};
    const Sample sample{t_ms, v};
    auto pit = pending_last_.find(ref);
    if (pit != pending_last_.end()) {
      AppendError e = MemState::Check(&pit->second, t_ms, v);
      if (e != AppendError::kNone) return e;
      if (pit->second.t_ms == t_ms) return AppendError::kNone;  // same sample again: ignored
      pit->second = sample;
      queue_.push_back(Pending{pit->first, sample});
      return AppendError::kNone;
    }
    {
      absl::MutexLock lock(&impl_->mu);
      if (impl_->max_t != std::numeric_limits<int64_t>::min() &&
          t_ms < impl_->max_t - impl_->retention_ms) {
        return AppendError::kOutOfBounds;
      }
      auto it = impl_->series.find(ref);
      if (it != impl_->series.end() && !it->second.empty()) {
        const Sample last = it->second.Last();
        AppendError e = MemState::Check(&last, t_ms, v);
        if (e != AppendError::kNone) return e;
        if (last.t_ms == t_ms) return AppendError::kNone;
      }
    }
    // One copy of the labels per series and appender; deque addresses stay put.
    owned_labels_.push_back(labels);
    const LabelsRef owned{&owned_labels_.back(), ref.hash};
    pending_last_.emplace(owned, sample);
    queue_.push_back(Pending{owned, sample});
    return AppendError::kNone;
  }

  absl::Status Commit() override {
    {
      absl::MutexLock lock(&impl_->mu);
      for (const Pending& p : queue_) {
        auto it = impl_->series.find(p.ref);
        if (it == impl_->series.end()) {
          it = impl_->series.try_emplace(*p.ref.labels).first;
          impl_->by_labels.insert(&*it);
          impl_->by_name.insert(&*it);
        }
        MemSeries& series = it->second;
        // Another appender may have committed newer samples since Append(): re-check, and
        // drop what no longer fits (Prometheus reports these at commit as well).
        if (!series.empty() && p.s.t_ms <= series.Last().t_ms) continue;
        series.Append(p.s.t_ms, p.s.v);
        ++impl_->num_samples;
        impl_->max_t = std::max(impl_->max_t, p.s.t_ms);
      }
    }
    Clear();
    return absl::OkStatus();
  }

  void Rollback() override { Clear(); }

 private:
  void Clear() {
    queue_.clear();
    pending_last_.clear();
    owned_labels_.clear();
  }

  struct Pending {
    LabelsRef ref;  // into owned_labels_
    Sample s;
  };
  struct RefHash {
    size_t operator()(const LabelsRef& r) const { return static_cast<size_t>(r.hash); }
  };
  struct RefEq {
    bool operator()(const LabelsRef& a, const LabelsRef& b) const {
      return a.hash == b.hash && *a.labels == *b.labels;
    }
  };

  MemState* impl_;
  std::deque<Labels> owned_labels_;
  std::vector<Pending> queue_;
  absl::flat_hash_map<LabelsRef, Sample, RefHash, RefEq> pending_last_;
};

struct CompiledMatcher {
  const Matcher* m;
  std::unique_ptr<RE2> re;
  bool Matches(std::string_view v) const {
    switch (m->type) {
      case Matcher::Type::kEqual:
        return v == m->value;
      case Matcher::Type::kNotEqual:
        return v != m->value;
      case Matcher::Type::kRegexMatch:
        return RE2::FullMatch(re2::StringPiece(v), *re);
      case Matcher::Type::kRegexNoMatch:
        return !RE2::FullMatch(re2::StringPiece(v), *re);
    }
    return false;
  }
};

}  // namespace

struct MemStorage::Impl : MemState {
  using MemState::MemState;
};

MemStorage::MemStorage(int64_t retention_ms) : impl_(std::make_unique<Impl>(retention_ms)) {}
MemStorage::~MemStorage() = default;

std::unique_ptr<Appender> MemStorage::NewAppender() {
  return std::make_unique<MemAppender>(impl_.get());
}

absl::StatusOr<std::vector<SeriesCursor>> MemStorage::Query(const std::vector<Matcher>& matchers,
                                                            int64_t min_t_ms,
                                                            int64_t max_t_ms) const {
  std::vector<CompiledMatcher> compiled;
  compiled.reserve(matchers.size());
  for (const Matcher& m : matchers) {
    CompiledMatcher c{&m, nullptr};
    if (m.type == Matcher::Type::kRegexMatch || m.type == Matcher::Type::kRegexNoMatch) {
      RE2::Options opts;
      opts.set_log_errors(false);
      c.re = std::make_unique<RE2>("^(?:" + m.value + ")$", opts);
      if (!c.re->ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid regex for label ", m.name, ": ", c.re->error()));
      }
    }
    compiled.push_back(std::move(c));
  }
  // An equality matcher on the metric name selects one range of the name index.
  const Matcher* name_eq = nullptr;
  for (const Matcher& m : matchers) {
    if (m.type == Matcher::Type::kEqual && m.name == kMetricName) name_eq = &m;
  }
  std::vector<SeriesCursor> out;
  absl::MutexLock lock(&impl_->mu);
  min_t_ms = std::max(min_t_ms, impl_->min_visible_t);
  if (min_t_ms > max_t_ms) return out;
  auto visit = [&](const Entry* e) {
    const Labels& labels = e->first;
    const MemSeries& series = e->second;
    if (series.empty() || series.Last().t_ms < min_t_ms) return;
    for (const CompiledMatcher& c : compiled) {
      if (!c.Matches(labels.Get(c.m->name))) return;
    }
    std::vector<std::shared_ptr<const XorChunk>> chunks;
    // Closed chunks are ascending: skip those ending before the range, stop after it.
    auto first = std::lower_bound(
        series.closed.begin(), series.closed.end(), min_t_ms,
        [](const std::shared_ptr<const XorChunk>& c, int64_t t) { return c->max_t() < t; });
    for (auto c = first; c != series.closed.end() && (*c)->min_t() <= max_t_ms; ++c) {
      chunks.push_back(*c);
    }
    if (!series.head.empty() && series.head.min_t() <= max_t_ms &&
        series.head.max_t() >= min_t_ms) {
      chunks.push_back(std::make_shared<const XorChunk>(series.head));
    }
    if (chunks.empty()) return;
    out.push_back(SeriesCursor{labels, SeriesIterator(std::move(chunks), min_t_ms, max_t_ms)});
  };
  if (name_eq != nullptr) {
    // Within one name, ByName orders by labels: the result is in label order.
    const std::string_view name = name_eq->value;
    for (auto it = impl_->by_name.lower_bound(name);
         it != impl_->by_name.end() && MetricNameOf((*it)->first) == name; ++it) {
      visit(*it);
    }
  } else {
    for (const Entry* e : impl_->by_labels) visit(e);
  }
  return out;
}

absl::StatusOr<std::vector<Series>> MemStorage::Select(const std::vector<Matcher>& matchers,
                                                       int64_t min_t_ms, int64_t max_t_ms) const {
  absl::StatusOr<std::vector<SeriesCursor>> cursors = Query(matchers, min_t_ms, max_t_ms);
  if (!cursors.ok()) return cursors.status();
  std::vector<Series> out;
  out.reserve(cursors->size());
  std::vector<Sample> scratch;  // decoded once, then copied at its exact size
  for (SeriesCursor& c : *cursors) {
    scratch.clear();
    while (c.samples.Next()) scratch.push_back(c.samples.At());
    if (!c.samples.status().ok()) return c.samples.status();
    if (scratch.empty()) continue;
    out.push_back(Series{std::move(c.labels), std::vector<Sample>(scratch.begin(), scratch.end())});
  }
  return out;
}

size_t MemStorage::Compact() {
  absl::MutexLock lock(&impl_->mu);
  if (impl_->max_t == std::numeric_limits<int64_t>::min()) return 0;
  const int64_t longest_keep = impl_->max_t - impl_->retention_ms;
  impl_->min_visible_t = std::max(impl_->min_visible_t, longest_keep);
  const int64_t default_keep = impl_->max_t - impl_->default_retention_ms;
  size_t removed = 0;
  for (auto it = impl_->series.begin(); it != impl_->series.end();) {
    MemSeries& s = it->second;
    int64_t min_keep = default_keep;
    if (!impl_->name_retention_ms.empty()) {
      auto r = impl_->name_retention_ms.find(ToAbsl(MetricNameOf(it->first)));
      if (r != impl_->name_retention_ms.end()) min_keep = impl_->max_t - r->second;
    }
    auto keep = std::find_if(
        s.closed.begin(), s.closed.end(),
        [min_keep](const std::shared_ptr<const XorChunk>& c) { return c->max_t() >= min_keep; });
    for (auto c = s.closed.begin(); c != keep; ++c) impl_->num_samples -= (*c)->num_samples();
    s.closed.erase(s.closed.begin(), keep);
    if (s.closed.empty() && (s.head.empty() || s.head.max_t() < min_keep)) {
      impl_->num_samples -= s.head.num_samples();
      impl_->by_labels.erase(&*it);
      impl_->by_name.erase(&*it);
      impl_->series.erase(it++);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

size_t MemStorage::NumSeries() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->series.size();
}

size_t MemStorage::NumSamples() const {
  absl::MutexLock lock(&impl_->mu);
  return impl_->num_samples;
}

int64_t MemStorage::retention_ms() const { return impl_->retention_ms.load(); }

void MemStorage::SetRetention(int64_t retention_ms) { SetRetention(retention_ms, {}); }

void MemStorage::SetRetention(int64_t default_ms,
                              absl::flat_hash_map<std::string, int64_t> by_name_ms) {
  absl::MutexLock lock(&impl_->mu);
  int64_t longest = default_ms;
  for (const auto& [name, ms] : by_name_ms) longest = std::max(longest, ms);
  impl_->default_retention_ms = default_ms;
  impl_->name_retention_ms = std::move(by_name_ms);
  impl_->retention_ms.store(longest);
}

size_t MemStorage::MemoryBytes() const {
  // Rough heap model: every allocation is counted at its requested size (no allocator slack).
  constexpr size_t kSharedChunkOverhead = 16;  // make_shared's control block
  absl::MutexLock lock(&impl_->mu);
  using Slot = std::pair<const Labels, MemSeries>;
  // Per series: the hash slot (a pointer), the node, and one pointer in each of the two indexes
  // (B-tree nodes are about 3/4 full).
  size_t bytes = sizeof(MemState) + impl_->series.capacity() * (sizeof(void*) + 1) +
                 impl_->series.size() * (sizeof(Slot) + 2 * sizeof(void*) * 4 / 3);
  for (const auto& [labels, s] : impl_->series) {
    bytes += labels.items().capacity() * sizeof(Label);
    for (const Label& l : labels) {
      if (l.name.capacity() > 15) bytes += l.name.capacity() + 1;  // beyond the SSO buffer
      if (l.value.capacity() > 15) bytes += l.value.capacity() + 1;
    }
    bytes += s.head.MemoryBytes() - sizeof(XorChunk);  // the head itself lives in the slot
    bytes += s.closed.capacity() * sizeof(std::shared_ptr<const XorChunk>);
    for (const auto& c : s.closed) bytes += c->MemoryBytes() + kSharedChunkOverhead;
  }
  return bytes;
}

// SeriesIterator.

SeriesIterator::SeriesIterator(std::vector<std::shared_ptr<const XorChunk>> chunks,
                               int64_t min_t_ms, int64_t max_t_ms)
    : chunks_(std::move(chunks)), min_t_(min_t_ms), max_t_(max_t_ms) {}

bool SeriesIterator::RawNext() {
  while (true) {
    if (it_.Next()) return true;
    if (!it_.status().ok()) {
      status_ = it_.status();
      return false;
    }
    if (next_chunk_ >= chunks_.size()) return false;
    it_ = XorIterator(chunks_[next_chunk_++]->bytes());
  }
}

bool SeriesIterator::Finish() {
  valid_ = false;
  done_ = true;
  return false;
}

bool SeriesIterator::Next() {
  if (done_) return false;
  if (valid_) {
    prev_ = At();
    has_prev_ = true;
  }
  do {
    if (!RawNext()) return Finish();
  } while (it_.t() < min_t_);
  if (it_.t() > max_t_) return Finish();
  valid_ = true;
  return true;
}

bool SeriesIterator::Seek(int64_t t_ms) {
  if (done_) return false;
  if (valid_ && it_.t() >= t_ms) return true;
  t_ms = std::max(t_ms, min_t_);
  // Skip whole chunks that end before t_ms, unless the open one reaches it.
  const bool open_reaches = next_chunk_ > 0 && chunks_[next_chunk_ - 1]->max_t() >= t_ms;
  if (!open_reaches) {
    while (next_chunk_ < chunks_.size() && chunks_[next_chunk_]->max_t() < t_ms) ++next_chunk_;
    if (next_chunk_ >= chunks_.size()) return Finish();
    it_ = XorIterator(chunks_[next_chunk_++]->bytes());
  }
  has_prev_ = false;  // samples are being skipped
  do {
    if (!RawNext()) return Finish();
  } while (it_.t() < t_ms);
  if (it_.t() > max_t_) return Finish();
  valid_ = true;
  return true;
}

bool SeriesIterator::AtOrBefore(int64_t t_ms, Sample* out) {
  if (!valid_ && !done_ && !has_prev_) Next();  // first call
  while (valid_ && it_.t() <= t_ms) Next();
  if (has_prev_ && prev_.t_ms <= t_ms) {
    *out = prev_;
    return true;
  }
  return false;
}

}  // namespace stakewatch::tsdb
