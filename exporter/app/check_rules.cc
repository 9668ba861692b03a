#include "app/check_rules.h"

#include <cstdio>
#include <iostream>
#include <string_view>

#include "absl/strings/match.h"
#include "common/strings.h"
#include "promql/parser.h"
#include "template/template.h"

namespace stakewatch::app {

namespace {

constexpr char kCheckUsage[] =
    "usage: stakewatch check rules [--lint=duplicate-rules|none] [--lint-fatal] FILE...\n"
    "\n"
    "Checks Prometheus rule files as `promtool check rules` does (same checks, same output).\n";

}  // namespace

rules::ValidationOptions RuleValidation() {
  rules::ValidationOptions v;
  v.validate_expr = [](std::string_view expr) -> absl::Status {
    absl::StatusOr<promql::ExprPtr> e = promql::ParseExpr(expr);
    return e.ok() ? absl::OkStatus() : e.status();
  };
  v.validate_template = [](std::string_view name, std::string_view text) -> absl::Status {
    constexpr std::string_view kPrefix = "__alert_";
    std::string_view rule = name;
    if (rule.substr(0, kPrefix.size()) == kPrefix) rule.remove_prefix(kPrefix.size());
    absl::StatusOr<tmpl::Template> t = tmpl::Template::ParseAlert(rule, text);
    return t.ok() ? absl::OkStatus() : t.status();
  };
  return v;
}

int CheckCommand(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kCheckUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] != "rules") {
    std::cerr << "stakewatch check: unknown check \"" << args[0] << "\"\n\n" << kCheckUsage;
    return 2;
  }
  rules::CheckOptions options;
  options.validation = RuleValidation();
  std::vector<std::string> files;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--lint=none") {
      options.lint_duplicate_rules = false;
    } else if (a == "--lint=duplicate-rules") {
      options.lint_duplicate_rules = true;
    } else if (a == "--lint-fatal") {
      options.lint_fatal = true;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "stakewatch check rules: unknown flag " << a << "\n\n" << kCheckUsage;
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::cerr << kCheckUsage;
    return 2;
  }
  const rules::CheckReport report = rules::CheckRuleFiles(files, options);
  for (const rules::OutputChunk& c : report.chunks) {
    std::fputs(c.text.c_str(), c.to_stderr ? stderr : stdout);
  }
  std::fflush(stdout);
  return report.exit_code;
}

}  // namespace stakewatch::app
