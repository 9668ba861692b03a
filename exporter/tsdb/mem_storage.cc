// MemStorage: one mutex over a hash map from Labels to a sample vector. Appenders queue samples
// locally and take the lock only to validate (Append) and to publish (Commit).
#include <algorithm>
#include <bit>
#include <limits>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "re2/re2.h"
#include "tsdb/storage.h"

namespace stakewatch::tsdb {
namespace {

struct LabelsHash {
  size_t operator()(const Labels& l) const { return static_cast<size_t>(l.Hash()); }
};

bool SameValue(double a, double b) {
  // Prometheus compares the bits: two NaNs with the same payload are the same value.
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// The shared state behind MemStorage and its appenders.
struct MemState {
  explicit MemState(int64_t retention) : retention_ms(retention) {}

  // Whether (t, v) may follow a series whose newest sample is `last` (nullptr: empty series).
  static AppendError Check(const Sample* last, int64_t t, double v) {
    if (last == nullptr) return AppendError::kNone;
    if (t < last->t_ms) return AppendError::kOutOfOrder;
    if (t == last->t_ms) {
      return SameValue(v, last->v) ? AppendError::kNone : AppendError::kDuplicateTimestamp;
    }
    return AppendError::kNone;
  }

  const int64_t retention_ms;
  mutable absl::Mutex mu;
  absl::flat_hash_map<Labels, std::vector<Sample>, LabelsHash> series ABSL_GUARDED_BY(mu);
  int64_t max_t ABSL_GUARDED_BY(mu) = std::numeric_limits<int64_t>::min();
  size_t num_samples ABSL_GUARDED_BY(mu) = 0;
};

class MemAppender final : public Appender {
 public:
  explicit MemAppender(MemState* impl) : impl_(impl) {}

  AppendError Append(const Labels& labels, int64_t t_ms, double v) override {
    auto pit = pending_last_.find(labels);
    if (pit != pending_last_.end()) {
      AppendError e = MemState::Check(&pit->second, t_ms, v);
      if (e != AppendError::kNone) return e;
      if (pit->second.t_ms == t_ms) return AppendError::kNone;  // same sample again: ignored
    } else {
      absl::MutexLock lock(&impl_->mu);
      if (impl_->max_t != std::numeric_limits<int64_t>::min() &&
          t_ms < impl_->max_t - impl_->retention_ms) {
        return AppendError::kOutOfBounds;
      }
      auto it = impl_->series.find(labels);
      if (it != impl_->series.end() && !it->second.empty()) {
        const Sample& last = it->second.back();
        AppendError e = MemState::Check(&last, t_ms, v);
        if (e != AppendError::kNone) return e;
        if (last.t_ms == t_ms) return AppendError::kNone;
      }
    }
    pending_last_[labels] = Sample{t_ms, v};
    queue_.push_back({labels, Sample{t_ms, v}});
    return AppendError::kNone;
  }

  absl::Status Commit() override {
    {
      absl::MutexLock lock(&impl_->mu);
      for (auto& [labels, s] : queue_) {
        std::vector<Sample>& v = impl_->series[labels];
        // Another appender may have committed newer samples since Append(): re-check, and
        // drop what no longer fits (Prometheus reports these at commit as well).
        if (!v.empty() && (s.t_ms <= v.back().t_ms)) continue;
        v.push_back(s);
        ++impl_->num_samples;
        impl_->max_t = std::max(impl_->max_t, s.t_ms);
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
  }

  MemState* impl_;
  std::vector<std::pair<Labels, Sample>> queue_;
  absl::flat_hash_map<Labels, Sample, LabelsHash> pending_last_;
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

absl::StatusOr<std::vector<Series>> MemStorage::Select(const std::vector<Matcher>& matchers,
                                                       int64_t min_t_ms, int64_t max_t_ms) const {
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
  std::vector<Series> out;
  {
    absl::MutexLock lock(&impl_->mu);
    for (const auto& [labels, samples] : impl_->series) {
      bool ok = true;
      for (const CompiledMatcher& c : compiled) {
        if (!c.Matches(labels.Get(c.m->name))) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      auto lo = std::lower_bound(samples.begin(), samples.end(), min_t_ms,
                                 [](const Sample& s, int64_t t) { return s.t_ms < t; });
      auto hi = std::upper_bound(samples.begin(), samples.end(), max_t_ms,
                                 [](int64_t t, const Sample& s) { return t < s.t_ms; });
      if (lo >= hi) continue;
      out.push_back(Series{labels, std::vector<Sample>(lo, hi)});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Series& a, const Series& b) { return a.labels < b.labels; });
  return out;
}

size_t MemStorage::Compact() {
  absl::MutexLock lock(&impl_->mu);
  if (impl_->max_t == std::numeric_limits<int64_t>::min()) return 0;
  const int64_t min_keep = impl_->max_t - impl_->retention_ms;
  size_t removed = 0;
  for (auto it = impl_->series.begin(); it != impl_->series.end();) {
    std::vector<Sample>& v = it->second;
    auto keep = std::lower_bound(v.begin(), v.end(), min_keep,
                                 [](const Sample& s, int64_t t) { return s.t_ms < t; });
    impl_->num_samples -= static_cast<size_t>(keep - v.begin());
    v.erase(v.begin(), keep);
    if (v.empty()) {
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

}  // namespace stakewatch::tsdb
