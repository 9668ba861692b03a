// libFuzzer target: the rule-file loader (rules/rulefmt.h) with the validators the daemon and
// `stakewatch check rules` use: promql::ParseExpr for `expr` and tmpl::Template::ParseAlert
// for label values and annotations (as app/check_rules.cc wires them).
//
// For any input, ParseRules must return (no crash, no hang, no leak, no sanitizer report). On
// success the result must satisfy rulefmt.h's contract: every rule has exactly one of
// record/alert and a non-empty expr; FindDuplicateRules is then run over it too.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "promql/parser.h"
#include "rules/rulefmt.h"
#include "template/template.h"

namespace {

namespace rules = stakewatch::rules;

rules::ValidationOptions RealValidation() {
  rules::ValidationOptions v;
  v.validate_expr = [](std::string_view expr) -> absl::Status {
    return stakewatch::promql::ParseExpr(expr).status();
  };
  v.validate_template = [](std::string_view name, std::string_view text) -> absl::Status {
    constexpr std::string_view kPrefix = "__alert_";
    std::string_view rule = name;
    if (rule.substr(0, kPrefix.size()) == kPrefix) rule.remove_prefix(kPrefix.size());
    return stakewatch::tmpl::Template::ParseAlert(rule, text).status();
  };
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rules::ValidationOptions* const kOptions =
      new rules::ValidationOptions(RealValidation());
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  rules::ParseResult r = rules::ParseRules(input, *kOptions);
  if (!r.errors.empty()) return 0;
  for (const rules::RuleGroup& g : r.file.groups) {
    for (const rules::Rule& rule : g.rules) {
      if (rule.record.empty() == rule.alert.empty() || rule.expr.empty()) {
        std::fprintf(stderr, "fuzz_rule_file: accepted an invalid rule in group \"%s\"\n",
                     g.name.c_str());
        __builtin_trap();
      }
    }
  }
  (void)rules::FindDuplicateRules(r.file);
  return 0;
}
