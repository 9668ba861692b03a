// libFuzzer target: the text 0.0.4 / OpenMetrics parser (textparse/textparse.h).
//
// The first byte selects the format (even: text 0.0.4, odd: OpenMetrics); the rest is the
// scrape body. Next() is called until kEof or an error, reading the accessors documented for each
// entry (the views must stay readable, which ASan checks). After an error, Next() must keep
// returning an error, as the header promises.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "textparse/textparse.h"

namespace tp = stakewatch::textparse;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const tp::Format format = (data[0] & 1) ? tp::Format::kOpenMetrics : tp::Format::kText004;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  tp::Parser p(body, format);
  volatile size_t sink = 0;
  // Every entry consumes at least one byte, so size + 2 calls reach the end.
  for (size_t i = 0; i < size + 2; ++i) {
    absl::StatusOr<tp::Entry> e = p.Next();
    if (!e.ok()) {
      if (p.Next().ok()) __builtin_trap();
      return 0;
    }
    if (*e == tp::Entry::kEof) return 0;
    switch (*e) {
      case tp::Entry::kSeries:
        sink = sink + p.series().size() + p.metric_name().size() + p.labels().size();
        for (const tp::LabelView& l : p.labels()) sink = sink + l.name.size() + l.value.size();
        sink = sink + (p.value() > 0) + p.timestamp_ms().value_or(0);
        break;
      case tp::Entry::kType:
        sink = sink + static_cast<size_t>(p.type()) + p.metric_name().size();
        break;
      case tp::Entry::kHelp:
        sink = sink + p.help().size() + p.metric_name().size();
        break;
      case tp::Entry::kUnit:
        sink = sink + p.unit().size() + p.metric_name().size();
        break;
      case tp::Entry::kComment:
        sink = sink + p.comment().size();
        break;
      case tp::Entry::kEof:
        break;
    }
    sink = sink + static_cast<size_t>(p.line());
  }
  __builtin_trap();  // Next() never reached the end: a hang in the making.
}
