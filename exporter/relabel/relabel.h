// Relabelling: Prometheus 2.42's model/relabel, applied to a LabelsBuilder.
//
// A Relabeler holds a list of validated config::RelabelConfig with their regexes compiled once
// (fully anchored, RE2, which accepts Go's regexp syntax). Process() runs the steps in order on
// the builder, exactly as relabel.Process does, and returns false when a step drops the series:
//
//   ASSIGN_OR_RETURN(auto relabeler, relabel::Relabeler::Create(cfg.metric_relabel_configs));
//   tsdb::LabelsBuilder b(series_labels);
//   if (!relabeler->Process(b)) return;  // dropped
//   tsdb::Labels out = b.Build();
//
// Actions: replace (replacement and target_label expanded like Go's regexp.Expand: $1, ${1},
// $name, ${name}, $$; a target that expands to an invalid label name is skipped; an empty
// result deletes the target), keep, drop, keepequal, dropequal, hashmod (md5 of the joined
// source values, last 8 bytes big-endian, modulo `modulus`), labelmap, labeldrop, labelkeep,
// lowercase, uppercase. Each step sees the labels as the previous step left them.
//
// Used for metric_relabel_configs by the scraper and for alert_relabel_configs by the notifier.
//
// Threads: a Relabeler is immutable after Create(); Process() may be called from any number of
// threads at once (each with its own builder).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "config/config.h"
#include "tsdb/labels.h"

namespace re2 {
class RE2;
}

namespace stakewatch::relabel {

class Relabeler {
 public:
  // Compiles every regex. InvalidArgument (naming the step, 0-based) for a regex RE2 rejects or
  // a step that config::RelabelConfig's validation would reject (e.g. hashmod with modulus 0).
  static absl::StatusOr<std::unique_ptr<Relabeler>> Create(
      const std::vector<config::RelabelConfig>& configs);
  ~Relabeler();
  Relabeler(const Relabeler&) = delete;
  Relabeler& operator=(const Relabeler&) = delete;

  // Applies every step in order to `builder`. Returns false if the series is dropped (the
  // builder's contents are then unspecified).
  bool Process(tsdb::LabelsBuilder& builder) const;

  // Convenience: Process() on a copy; an empty Labels when dropped.
  tsdb::Labels Process(const tsdb::Labels& labels, bool* keep) const;

  bool empty() const { return steps_.empty(); }

 private:
  struct Step;
  Relabeler() = default;
  std::vector<Step> steps_;
};

// Go's regexp.Expand: appends `tmpl` to `out` with $n, ${n}, $name, ${name} replaced by the
// submatches of `re` (groups[i] is group i; absent groups are empty) and $$ by "$". A name is
// the longest run of [A-Za-z0-9_]; a number with a leading zero or a name not in `re` expands
// to ""; a "$" not followed by a valid name is copied as it is. Exposed for tests.
void ExpandTemplate(const re2::RE2& re, const std::vector<std::string_view>& groups,
                    std::string_view tmpl, std::string* out);

// md5(value), last 8 bytes as a big-endian integer, modulo `modulus` (> 0). Exposed for tests.
uint64_t HashMod(std::string_view value, uint64_t modulus);

}  // namespace stakewatch::relabel
