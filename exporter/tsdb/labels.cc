#include "tsdb/labels.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdio>

namespace stakewatch::tsdb {
namespace {

bool ByName(const Label& a, const Label& b) { return a.name < b.name; }

// Sorts by name (stable, so that among equal names the last one stays last), keeps the last of
// each name and drops empty values.
std::vector<Label> Normalize(std::vector<Label> in) {
  std::stable_sort(in.begin(), in.end(), ByName);
  std::vector<Label> out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (i + 1 < in.size() && in[i + 1].name == in[i].name) continue;  // a later one wins
    if (in[i].value.empty()) continue;
    out.push_back(std::move(in[i]));
  }
  return out;
}

std::vector<Label>::const_iterator Find(const std::vector<Label>& v, std::string_view name) {
  auto it = std::lower_bound(v.begin(), v.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != v.end() && it->name == name) return it;
  return v.end();
}

}  // namespace

Labels::Labels(std::initializer_list<std::pair<std::string_view, std::string_view>> pairs) {
  std::vector<Label> v;
  v.reserve(pairs.size());
  for (const auto& [n, val] : pairs) v.push_back(Label{std::string(n), std::string(val)});
  labels_ = Normalize(std::move(v));
}

Labels Labels::FromPairs(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<Label> v;
  v.reserve(pairs.size());
  for (const auto& [n, val] : pairs) v.push_back(Label{n, val});
  Labels l;
  l.labels_ = Normalize(std::move(v));
  return l;
}

Labels Labels::FromSorted(std::vector<Label> sorted) {
#ifndef NDEBUG
  for (size_t i = 0; i < sorted.size(); ++i) {
    assert(!sorted[i].value.empty());
    assert(i == 0 || sorted[i - 1].name < sorted[i].name);
  }
#endif
  Labels l;
  l.labels_ = std::move(sorted);
  return l;
}

std::string_view Labels::Get(std::string_view name) const {
  auto it = Find(labels_, name);
  return it == labels_.end() ? std::string_view() : std::string_view(it->value);
}

bool Labels::Has(std::string_view name) const { return Find(labels_, name) != labels_.end(); }

uint64_t Labels::Hash() const {
  // FNV-1a over name 0xff value 0xff ..., with a final avalanche (splitmix64) so that the low
  // bits are usable as a bucket index.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  for (const Label& l : labels_) {
    mix(l.name);
    mix(l.value);
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

namespace {

// Go's strconv.Quote for the ASCII range; bytes >= 0x80 are copied as they are.
void AppendGoQuoted(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

std::string Labels::ToString() const {
  std::string out = "{";
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0) out += ", ";
    out += labels_[i].name;
    out += '=';
    AppendGoQuoted(out, labels_[i].value);
  }
  out += '}';
  return out;
}

bool operator<(const Labels& a, const Labels& b) {
  const size_t n = std::min(a.labels_.size(), b.labels_.size());
  for (size_t i = 0; i < n; ++i) {
    const Label& x = a.labels_[i];
    const Label& y = b.labels_[i];
    if (x.name != y.name) return x.name < y.name;
    if (x.value != y.value) return x.value < y.value;
  }
  return a.labels_.size() < b.labels_.size();
}

LabelsBuilder::LabelsBuilder(const Labels& base) : current_(base.items()) {}

void LabelsBuilder::Reset(const Labels& base) { current_ = base.items(); }

LabelsBuilder& LabelsBuilder::Set(std::string_view name, std::string_view value) {
  if (value.empty()) return Del(name);
  auto it = std::lower_bound(current_.begin(), current_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != current_.end() && it->name == name) {
    it->value.assign(value.data(), value.size());
  } else {
    current_.insert(it, Label{std::string(name), std::string(value)});
  }
  return *this;
}

LabelsBuilder& LabelsBuilder::Del(std::string_view name) {
  auto it = std::lower_bound(current_.begin(), current_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != current_.end() && it->name == name) current_.erase(it);
  return *this;
}

std::string_view LabelsBuilder::Get(std::string_view name) const {
  auto it = Find(current_, name);
  return it == current_.end() ? std::string_view() : std::string_view(it->value);
}

Labels LabelsBuilder::Build() const { return Labels::FromSorted(current_); }

double StaleNaN() { return std::bit_cast<double>(kStaleNaNBits); }

bool IsStaleNaN(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

namespace {
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!IsAlpha(name[i]) && (i == 0 || !IsDigit(name[i]))) return false;
  }
  return true;
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!IsAlpha(c) && c != ':' && (i == 0 || !IsDigit(c))) return false;
  }
  return true;
}

}  // namespace stakewatch::tsdb
