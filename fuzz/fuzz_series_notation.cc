// libFuzzer target: promqltest's series "expanding notation" (promqltest/series_notation.h),
// which reads `load` blocks, expected results and promtool's input_series.
//
// For any input, ParseSeriesDescription and ParseGoNumber/ParseGoDuration must return (no
// crash, no hang, no sanitizer report). A description that parses has at most
// kMaxSeriesValues values; small ones are also expanded to samples, whose count must equal the
// number of non-omitted values.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "promqltest/series_notation.h"

namespace pt = stakewatch::promqltest;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)pt::ParseGoNumber(input);
  (void)pt::ParseGoDuration(input);
  (void)pt::ParseMetric(input);
  absl::StatusOr<pt::SeriesDescription> d = pt::ParseSeriesDescription(input);
  if (!d.ok()) return 0;
  if (d->values.size() > pt::kMaxSeriesValues) __builtin_trap();
  if (d->values.size() <= 4096) {
    size_t present = 0;
    for (const pt::SequenceValue& v : d->values) present += v.omitted ? 0 : 1;
    if (pt::ExpandToSamples(*d, 15000).size() != present) __builtin_trap();
  }
  return 0;
}
