#include "app/check_rules.h"

#include <cstdio>
#include <iostream>
#include <string_view>

#include <filesystem>

#include "absl/strings/match.h"
#include "app/rules_runtime.h"
#include "common/strings.h"
#include "config/config.h"
#include "notifier/notifier.h"
#include "promql/parser.h"
#include "template/template.h"
#include "webconfig/webconfig.h"

namespace stakewatch::app {

namespace {

constexpr char kCheckUsage[] =
    "usage: stakewatch check rules [--lint=duplicate-rules|none] [--lint-fatal] FILE...\n"
    "       stakewatch check config FILE...\n"
    "       stakewatch check web-config FILE...\n"
    "\n"
    "check rules: Prometheus rule files, as `promtool check rules` does (same checks, same\n"
    "output). check config: stakewatch configuration files, every section, and the rule files\n"
    "they name; errors as file:line:column. check web-config: --web.config.file files\n"
    "(exporter-toolkit's format), including that certificates and keys load.\n";

// `stakewatch check config FILE...`: promtool check config's shape.
int CheckConfigFiles(const std::vector<std::string>& files) {
  int exit_code = 0;
  for (const std::string& file : files) {
    std::cout << "Checking " << file << "\n";
    absl::StatusOr<config::Config> cfg = config::LoadConfigFile(file);
    absl::Status s =
        cfg.ok() ? notifier::Notifier::ValidateConfig(cfg->global, cfg->alerting) : cfg.status();
    std::vector<std::string> rule_files;
    if (s.ok()) {
      const std::filesystem::path parent = std::filesystem::path(file).parent_path();
      const std::string dir = parent.empty() ? std::string(".") : parent.string();
      absl::StatusOr<std::vector<std::string>> resolved = ResolveRuleFiles(cfg->rule_files, dir);
      if (resolved.ok()) {
        rule_files = *std::move(resolved);
      } else {
        s = resolved.status();
      }
    }
    if (!s.ok()) {
      std::cout << "  FAILED: " << s.message() << "\n\n";
      exit_code = 1;
      continue;
    }
    std::cout << "  SUCCESS: " << rule_files.size() << " rule files found\n"
              << " SUCCESS: " << file << " is valid stakewatch config file syntax\n\n";
    std::cout.flush();
    if (rule_files.empty()) continue;
    rules::CheckOptions options;
    options.validation = RuleValidation();
    const rules::CheckReport report = rules::CheckRuleFiles(rule_files, options);
    for (const rules::OutputChunk& c : report.chunks) {
      std::fputs(c.text.c_str(), c.to_stderr ? stderr : stdout);
    }
    std::fflush(stdout);
    if (report.exit_code != 0) exit_code = 1;
  }
  return exit_code;
}

int CheckWebConfigFiles(const std::vector<std::string>& files) {
  int exit_code = 0;
  for (const std::string& file : files) {
    if (absl::Status s = webconfig::CheckWebConfigFile(file); !s.ok()) {
      std::cout << "  FAILED: " << s.message() << "\n";
      exit_code = 1;
    } else {
      std::cout << file << " SUCCESS\n";
    }
  }
  return exit_code;
}

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
  if (args[0] == "config" || args[0] == "web-config") {
    std::vector<std::string> files(args.begin() + 1, args.end());
    if (files.empty() || files[0] == "--help" || files[0] == "-h") {
      std::cout << kCheckUsage;
      return files.empty() ? 2 : 0;
    }
    return args[0] == "config" ? CheckConfigFiles(files) : CheckWebConfigFiles(files);
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
