#include "exposition/series_store.h"

#include <sys/mman.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace stakewatch::exposition {
namespace {

// Longest output of WriteValue: "-2.2250738585072014e-308" is 24 characters.
constexpr size_t kMaxValueChars = 32;
constexpr double kTwoTo53 = 9007199254740992.0;

bool IsMetricNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool IsMetricNameChar(char c) { return IsMetricNameStart(c) || (c >= '0' && c <= '9'); }
bool IsLabelNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsLabelNameChar(char c) { return IsLabelNameStart(c) || (c >= '0' && c <= '9'); }

// Appends `s` with `\` -> `\\` and newline -> `\n`, and `"` -> `\"` if `quote`.
void AppendEscaped(std::string_view s, bool quote, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const char* rep = nullptr;
    if (c == '\\') {
      rep = "\\\\";
    } else if (c == '\n') {
      rep = "\\n";
    } else if (c == '"' && quote) {
      rep = "\\\"";
    }
    if (rep != nullptr) {
      out->append(s.data() + start, i - start);
      out->append(rep, 2);
      start = i + 1;
    }
  }
  out->append(s.data() + start, s.size() - start);
}

char* WriteBytes(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// Sample value: integers (|v| < 2^53) exactly, otherwise the shortest round-trip decimal.
char* WriteValue(char* p, double v) {
  if (std::isnan(v)) return WriteBytes(p, "NaN");
  if (std::isinf(v)) return WriteBytes(p, v > 0 ? "+Inf" : "-Inf");
  if (std::fabs(v) < kTwoTo53 && v == std::trunc(v)) {
    return std::to_chars(p, p + kMaxValueChars, static_cast<int64_t>(v)).ptr;
  }
  return std::to_chars(p, p + kMaxValueChars, v).ptr;
}

// Makes room for `extra` more bytes in *out without touching them, and asks Linux to back the
// spare capacity with transparent huge pages (madvise mode): on this class of VM, first-touch
// page faults on a fresh 74 MB body cost ~200 ms with 4 KiB pages and ~10 ms with 2 MiB pages.
// The advice changes no contents and is skipped for small spare regions; errors are ignored.
void ReserveForAppend(size_t extra, std::string* out) {
  if (out->capacity() - out->size() < extra) out->reserve(out->size() + extra);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  auto begin = reinterpret_cast<uintptr_t>(out->data() + out->size());
  auto end = reinterpret_cast<uintptr_t>(out->data() + out->capacity());
  begin = (begin + kHuge - 1) & ~(kHuge - 1);
  end &= ~(kHuge - 1);
  if (end > begin && end - begin >= 2 * kHuge) {
    madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
  }
#endif
}

char* WriteCount(char* p, uint64_t v) { return std::to_chars(p, p + kMaxValueChars, v).ptr; }

// Go's strconv.FormatFloat(v, 'g', -1, 64): shortest round-trip digits, in exponent form when the
// decimal exponent is < -4 or >= 6 (Go's threshold for the shortest mode).
std::string FormatGoG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view s(buf, sci.ptr - buf);
  const size_t e = s.find('e');
  int exp = 0;
  std::from_chars(s.data() + e + (s[e + 1] == '+' ? 2 : 1), s.data() + s.size(), exp);
  if (exp < -4 || exp >= 6) return std::string(s);  // to_chars' %e form equals Go's: 1e+06
  auto fixed = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::fixed);
  return std::string(buf, fixed.ptr - buf);
}

// client_golang's writeOpenMetricsFloat: Go 'g', plus ".0" when there is no '.' or 'e'.
std::string FormatOpenMetricsFloat(double v) {
  std::string s = FormatGoG(v);
  if (std::isfinite(v) && s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string_view TypeName(MetricType t, Format f) {
  switch (t) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kUntyped:
      return f == Format::kOpenMetrics100 ? "unknown" : "untyped";
  }
  return "untyped";
}

constexpr std::string_view kTotal = "_total";

// The family name OpenMetrics declares (a counter's name without _total).
std::string_view OpenMetricsFamilyName(const FamilyDesc& d) {
  std::string_view n = d.name;
  if (d.type == MetricType::kCounter) n.remove_suffix(kTotal.size());
  return n;
}

std::string Header(const FamilyDesc& d, Format f) {
  const std::string_view name =
      f == Format::kOpenMetrics100 ? OpenMetricsFamilyName(d) : std::string_view(d.name);
  std::string h;
  if (!d.help.empty()) {
    h.append("# HELP ").append(name).append(" ");
    AppendEscaped(d.help, /*quote=*/f == Format::kOpenMetrics100, &h);
    h.append("\n");
  }
  h.append("# TYPE ").append(name).append(" ").append(TypeName(d.type, f)).append("\n");
  return h;
}

// Every name the family exposes in either format, for collision checks.
std::vector<std::string> ExposedNames(const FamilyDesc& d) {
  std::vector<std::string> names = {d.name};
  if (d.type == MetricType::kCounter) names.emplace_back(OpenMetricsFamilyName(d));
  if (d.type == MetricType::kHistogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) names.push_back(d.name + suffix);
  }
  return names;
}

absl::Status ValidateDesc(const FamilyDesc& d) {
  if (absl::Status s = ValidateMetricName(d.name); !s.ok()) return s;
  if (d.type == MetricType::kCounter) {
    std::string_view n = d.name;
    if (n.size() <= kTotal.size() || n.substr(n.size() - kTotal.size()) != kTotal) {
      return absl::InvalidArgumentError(
          absl::StrCat("counter name \"", d.name, "\" must end in _total"));
    }
  }
  for (size_t i = 0; i < d.label_names.size(); ++i) {
    const std::string& ln = d.label_names[i];
    if (absl::Status s = ValidateLabelName(ln); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("family ", d.name, ": ", s.message()));
    }
    if (d.type == MetricType::kHistogram && ln == "le") {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", d.name, ": label name \"le\" is reserved"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (d.label_names[j] == ln) {
        return absl::InvalidArgumentError(
            absl::StrCat("family ", d.name, ": duplicate label name \"", ln, "\""));
      }
    }
  }
  if (d.type != MetricType::kHistogram && !d.buckets.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("family ", d.name, ": buckets given for a non-histogram"));
  }
  for (size_t i = 0; i < d.buckets.size(); ++i) {
    if (!std::isfinite(d.buckets[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", d.name, ": bucket bounds must be finite (+Inf is implied)"));
    }
    if (i > 0 && !(d.buckets[i - 1] < d.buckets[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram ", d.name, ": bucket bounds must be strictly ascending"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateMetricName(std::string_view name) {
  bool ok = !name.empty() && IsMetricNameStart(name[0]);
  for (size_t i = 1; ok && i < name.size(); ++i) ok = IsMetricNameChar(name[i]);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid metric name \"", ToAbsl(name), "\": want [a-zA-Z_:][a-zA-Z0-9_:]*"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabelName(std::string_view name) {
  bool ok = !name.empty() && IsLabelNameStart(name[0]);
  for (size_t i = 1; ok && i < name.size(); ++i) ok = IsLabelNameChar(name[i]);
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid label name \"", ToAbsl(name), "\": want [a-zA-Z_][a-zA-Z0-9_]*"));
  }
  if (name.size() >= 2 && name[0] == '_' && name[1] == '_') {
    return absl::InvalidArgumentError(absl::StrCat("invalid label name \"", ToAbsl(name),
                                                   "\": names starting with __ are reserved"));
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// SeriesStore

SeriesStore::SeriesStore() = default;
SeriesStore::~SeriesStore() = default;

absl::StatusOr<Family*> SeriesStore::AddFamily(FamilyDesc desc) {
  if (absl::Status s = ValidateDesc(desc); !s.ok()) return s;
  std::vector<std::string> names = ExposedNames(desc);
  absl::MutexLock l(&mu_);
  if (by_name_.contains(desc.name)) {
    return absl::AlreadyExistsError(absl::StrCat("family ", desc.name, " already registered"));
  }
  for (const std::string& n : names) {
    if (exposed_names_.contains(n)) {
      return absl::AlreadyExistsError(absl::StrCat("family ", desc.name, ": exposed name ", n,
                                                   " collides with another family's"));
    }
  }
  auto family = std::unique_ptr<Family>(new Family(std::move(desc)));
  Family* f = family.get();
  families_.push_back(std::move(family));
  by_name_.emplace(f->desc().name, f);
  for (std::string& n : names) exposed_names_.insert(std::move(n));
  return f;
}

Family* SeriesStore::FindFamily(std::string_view name) const {
  absl::ReaderMutexLock l(&mu_);
  auto it = by_name_.find(ToAbsl(name));
  return it == by_name_.end() ? nullptr : it->second;
}

void SeriesStore::Render(Format format, std::string* out) const {
  absl::ReaderMutexLock l(&mu_);
  // Reserve once for the whole body (families may grow before their turn; each family
  // reserves again if needed), so that one buffer is allocated and faulted in.
  size_t bound = 0;
  for (const auto& f : families_) bound += f->RenderBound();
  ReserveForAppend(bound + bound / 16 + 16, out);
  for (const auto& f : families_) f->Render(format, out);
  if (format == Format::kOpenMetrics100) out->append("# EOF\n");
}

std::vector<std::string> SeriesStore::FamilyNames() const {
  absl::ReaderMutexLock l(&mu_);
  std::vector<std::string> names;
  names.reserve(families_.size());
  for (const auto& f : families_) names.push_back(f->desc().name);
  return names;
}

size_t SeriesStore::MemoryBytes() const {
  absl::ReaderMutexLock l(&mu_);
  size_t n = 0;
  for (const auto& f : families_) n += f->MemoryBytes();
  return n;
}

// ---------------------------------------------------------------------------------------------
// Family

size_t Family::KeyHash::operator()(uint32_t id) const { return (*this)(f->LabelsOf(id)); }
size_t Family::KeyHash::operator()(std::string_view labels) const {
  return absl::Hash<absl::string_view>{}(ToAbsl(labels));
}
bool Family::KeyEq::operator()(uint32_t a, std::string_view b) const { return f->LabelsOf(a) == b; }

Family::Family(FamilyDesc desc)
    : desc_(std::move(desc)),
      header_text_(Header(desc_, Format::kText004)),
      header_om_(Header(desc_, Format::kOpenMetrics100)),
      label_offsets_{0},
      index_(0, KeyHash{this}, KeyEq{this}) {
  if (desc_.type == MetricType::kHistogram) {
    for (double b : desc_.buckets) {
      le_text_.push_back(FormatGoG(b));
      le_om_.push_back(FormatOpenMetricsFloat(b));
    }
    le_text_.push_back("+Inf");
    le_om_.push_back("+Inf");
    for (const auto& v : {&le_text_, &le_om_}) {
      for (const std::string& s : *v) max_le_size_ = std::max(max_le_size_, s.size());
    }
  }
}

std::string_view Family::LabelsOf(uint32_t id) const ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return std::string_view(label_arena_.data() + label_offsets_[id],
                          label_offsets_[id + 1] - label_offsets_[id]);
}

Family::Writer::Writer(Family* f) : f_(f) { f_->mu_.Lock(); }
Family::Writer::~Writer() { f_->mu_.Unlock(); }
SeriesId Family::Writer::GetOrCreate(absl::Span<const std::string_view> label_values)
    ABSL_NO_THREAD_SAFETY_ANALYSIS {
  return f_->GetOrCreateLocked(label_values);
}
void Family::Writer::Set(SeriesId id, double v) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  f_->SetLocked(id, v);
}
void Family::Writer::Add(SeriesId id, double delta) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  f_->AddLocked(id, delta);
}
void Family::Writer::Observe(SeriesId id, double v) ABSL_NO_THREAD_SAFETY_ANALYSIS {
  f_->ObserveLocked(id, v);
}

SeriesId Family::GetOrCreate(absl::Span<const std::string_view> label_values) {
  absl::MutexLock l(&mu_);
  return GetOrCreateLocked(label_values);
}
void Family::Set(SeriesId id, double v) {
  absl::MutexLock l(&mu_);
  SetLocked(id, v);
}
void Family::Add(SeriesId id, double delta) {
  absl::MutexLock l(&mu_);
  AddLocked(id, delta);
}
void Family::Observe(SeriesId id, double v) {
  absl::MutexLock l(&mu_);
  ObserveLocked(id, v);
}

SeriesId Family::GetOrCreateLocked(absl::Span<const std::string_view> label_values) {
  if (label_values.size() != desc_.label_names.size()) return SeriesId{SeriesId::kInvalid};
  key_scratch_.clear();
  for (size_t i = 0; i < label_values.size(); ++i) {
    if (i > 0) key_scratch_.push_back(',');
    key_scratch_.append(desc_.label_names[i]).append("=\"");
    AppendEscaped(label_values[i], /*quote=*/true, &key_scratch_);
    key_scratch_.push_back('"');
  }
  const std::string_view key = key_scratch_;
  if (auto it = index_.find(key); it != index_.end()) return SeriesId{*it};
  if (values_.size() >= SeriesId::kInvalid - 1 ||
      label_arena_.size() + key.size() > std::numeric_limits<uint32_t>::max()) {
    return SeriesId{SeriesId::kInvalid};
  }
  const auto id = static_cast<uint32_t>(values_.size());
  if (label_arena_.capacity() - label_arena_.size() < key.size()) {
    label_arena_.reserve(
        std::max(label_arena_.size() + key.size(), label_arena_.capacity() * 3 / 2 + 64));
  }
  label_arena_.insert(label_arena_.end(), key.begin(), key.end());
  label_offsets_.push_back(static_cast<uint32_t>(label_arena_.size()));
  values_.push_back(0);
  if (desc_.type == MetricType::kHistogram) {
    bucket_counts_.resize(bucket_counts_.size() + desc_.buckets.size() + 1, 0);
  }
  index_.insert(id);
  return SeriesId{id};
}

void Family::SetLocked(SeriesId id, double v) {
  if (id.index >= values_.size() || desc_.type == MetricType::kHistogram) return;
  values_[id.index] = v;
}

void Family::AddLocked(SeriesId id, double delta) {
  if (id.index >= values_.size() || desc_.type == MetricType::kHistogram) return;
  values_[id.index] += delta;
}

void Family::ObserveLocked(SeriesId id, double v) {
  if (id.index >= values_.size() || desc_.type != MetricType::kHistogram) return;
  const std::vector<double>& b = desc_.buckets;
  // Go's sort.SearchFloat64s: first bound >= v; NaN compares false everywhere, so it lands in
  // the +Inf bucket.
  const size_t bucket =
      std::isnan(v) ? b.size() : std::lower_bound(b.begin(), b.end(), v) - b.begin();
  bucket_counts_[static_cast<size_t>(id.index) * (b.size() + 1) + bucket] += 1;
  values_[id.index] += v;
}

double Family::Value(SeriesId id) const {
  absl::ReaderMutexLock l(&mu_);
  if (id.index >= values_.size()) return std::numeric_limits<double>::quiet_NaN();
  if (desc_.type != MetricType::kHistogram) return values_[id.index];
  const size_t n = desc_.buckets.size() + 1;
  uint64_t count = 0;
  for (size_t i = 0; i < n; ++i) count += bucket_counts_[id.index * n + i];
  return static_cast<double>(count);
}

size_t Family::size() const {
  absl::ReaderMutexLock l(&mu_);
  return values_.size();
}

void Family::Clear() {
  absl::MutexLock l(&mu_);
  label_arena_.clear();
  label_offsets_.assign(1, 0);
  index_.clear();
  values_.clear();
  bucket_counts_.clear();
}

size_t Family::MemoryBytes() const {
  absl::ReaderMutexLock l(&mu_);
  return label_arena_.capacity() + key_scratch_.capacity() +
         label_offsets_.capacity() * sizeof(uint32_t) + index_.capacity() * (sizeof(uint32_t) + 1) +
         values_.capacity() * sizeof(double) + bucket_counts_.capacity() * sizeof(uint64_t);
}

size_t Family::RenderBoundLocked(size_t first, size_t last) const {
  // Per sample line: name + suffix (<= "_bucket" = 7) + '{' + labels + ',' + `le="` + le +
  // `"} ` + value + '\n'.
  const size_t lines_per_series =
      desc_.type == MetricType::kHistogram ? desc_.buckets.size() + 3 : 1;
  const size_t per_line = desc_.name.size() + 7 + 1 + 1 + 4 + max_le_size_ + 3 + kMaxValueChars + 1;
  return lines_per_series *
         ((last - first) * per_line + (label_offsets_[last] - label_offsets_[first]));
}

size_t Family::RenderBound() const {
  absl::ReaderMutexLock l(&mu_);
  return std::max(header_text_.size(), header_om_.size()) + RenderBoundLocked(0, values_.size());
}

void Family::Render(Format format, std::string* out) const {
  absl::ReaderMutexLock l(&mu_);
  const size_t n = values_.size();
  if (n == 0) return;
  const std::string& header = format == Format::kOpenMetrics100 ? header_om_ : header_text_;
  ReserveForAppend(header.size() + RenderBoundLocked(0, n), out);
  out->append(header);
  // Each batch: grow the string by its worst case (within the reserved capacity), write with a
  // raw pointer (no per-sample capacity checks), then trim to what was written.
  constexpr size_t kBatch = 1024;
  const std::vector<std::string>& les = format == Format::kOpenMetrics100 ? le_om_ : le_text_;
  for (size_t first = 0; first < n; first += kBatch) {
    const size_t last = std::min(n, first + kBatch);
    const size_t start = out->size();
    out->resize(start + RenderBoundLocked(first, last));
    char* p = out->data() + start;
    p = desc_.type == MetricType::kHistogram ? RenderHistogramsLocked(les, first, last, p)
                                             : RenderScalarsLocked(first, last, p);
    out->resize(p - out->data());
  }
}

char* Family::RenderScalarsLocked(size_t first, size_t last, char* p) const {
  const std::string_view name = desc_.name;
  const char* arena = label_arena_.data();
  for (size_t i = first; i < last; ++i) {
    p = WriteBytes(p, name);
    const uint32_t lo = label_offsets_[i], hi = label_offsets_[i + 1];
    if (hi != lo) {
      *p++ = '{';
      std::memcpy(p, arena + lo, hi - lo);
      p += hi - lo;
      *p++ = '}';
    }
    *p++ = ' ';
    p = WriteValue(p, values_[i]);
    *p++ = '\n';
  }
  return p;
}

char* Family::RenderHistogramsLocked(const std::vector<std::string>& les, size_t first, size_t last,
                                     char* p) const {
  const std::string_view name = desc_.name;
  const char* arena = label_arena_.data();
  const size_t nb = les.size();
  // Writes `name<suffix>` and the series' label set (in braces, if any).
  auto write_name = [&](char* q, std::string_view suffix, std::string_view labels) {
    q = WriteBytes(q, name);
    q = WriteBytes(q, suffix);
    if (!labels.empty()) {
      *q++ = '{';
      q = WriteBytes(q, labels);
      *q++ = '}';
    }
    return q;
  };
  for (size_t i = first; i < last; ++i) {
    const std::string_view labels(arena + label_offsets_[i],
                                  label_offsets_[i + 1] - label_offsets_[i]);
    const uint64_t* counts = bucket_counts_.data() + i * nb;
    uint64_t cumulative = 0;
    for (size_t b = 0; b < nb; ++b) {
      cumulative += counts[b];
      p = WriteBytes(p, name);
      p = WriteBytes(p, "_bucket{");
      if (!labels.empty()) {
        p = WriteBytes(p, labels);
        *p++ = ',';
      }
      p = WriteBytes(p, "le=\"");
      p = WriteBytes(p, les[b]);
      p = WriteBytes(p, "\"} ");
      p = WriteCount(p, cumulative);
      *p++ = '\n';
    }
    p = write_name(p, "_sum", labels);
    *p++ = ' ';
    p = WriteValue(p, values_[i]);
    *p++ = '\n';
    p = write_name(p, "_count", labels);
    *p++ = ' ';
    p = WriteCount(p, cumulative);
    *p++ = '\n';
  }
  return p;
}

}  // namespace stakewatch::exposition
