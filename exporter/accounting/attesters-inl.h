// Implementation of accounting::ForEachAttester (a template, so the per-bit callback inlines).
// Include accounting/accounting.h, not this file.
#pragma once

#include <bit>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace stakewatch::accounting {

template <typename SizeFn, typename Fn>
absl::Status ForEachAttester(const beacon::Attestation& att, SizeFn committee_size,
                             Fn on_attester) {
  const std::vector<uint8_t>& bits = att.aggregation_bits;
  // SSZ Bitlist: the highest set bit of the last byte marks the length.
  if (bits.empty() || bits.back() == 0) {
    return absl::InvalidArgumentError("aggregation_bits has no length marker");
  }
  const uint64_t length = (bits.size() - 1) * 8 + (std::bit_width(bits.back()) - 1);

  uint64_t committees_mask;
  if (att.committee_bits.has_value()) {
    committees_mask = *att.committee_bits;
    if (committees_mask == 0) return absl::InvalidArgumentError("committee_bits is empty");
  } else {
    if (att.data.index >= 64) {
      return absl::InvalidArgumentError(
          absl::StrCat("committee index ", att.data.index, " out of range"));
    }
    committees_mask = uint64_t{1} << att.data.index;
  }

  // First pass: sizes must add up to the bitlist length, or the bits mean nothing.
  uint64_t total = 0;
  for (uint64_t m = committees_mask; m != 0; m &= m - 1) {
    const int c = std::countr_zero(m);
    const int64_t size = committee_size(static_cast<uint64_t>(c));
    if (size < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("no committee ", c, " at slot ", att.data.slot));
    }
    total += static_cast<uint64_t>(size);
  }
  if (total != length) {
    return absl::InvalidArgumentError(absl::StrCat("aggregation_bits length ", length,
                                                   " != committee sizes ", total, " at slot ",
                                                   att.data.slot));
  }

  uint64_t offset = 0;
  for (uint64_t m = committees_mask; m != 0; m &= m - 1) {
    const uint64_t c = static_cast<uint64_t>(std::countr_zero(m));
    const uint64_t size = static_cast<uint64_t>(committee_size(c));
    for (uint64_t i = 0; i < size; ++i) {
      const uint64_t bit = offset + i;
      if ((bits[bit >> 3] >> (bit & 7)) & 1) on_attester(c, i);
    }
    offset += size;
  }
  return absl::OkStatus();
}

}  // namespace stakewatch::accounting
