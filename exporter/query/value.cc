#include "query/value.h"

#include <utility>
#include <vector>

namespace stakewatch::query {

Labels DropMetricName(const Labels& l) {
  if (!l.Has(tsdb::kMetricName)) return l;
  std::vector<tsdb::Label> out;
  out.reserve(l.size() - 1);
  for (const tsdb::Label& x : l) {
    if (x.name != tsdb::kMetricName) out.push_back(x);
  }
  return Labels::FromSorted(std::move(out));
}

}  // namespace stakewatch::query
