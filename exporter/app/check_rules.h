// `stakewatch check rules FILE...`: promtool's `check rules`, with stakewatch's own PromQL
// parser (promql/) and template engine (template/) as the expression and template checks.
//
// Threads: call from one thread (a command).
#pragma once

#include <string>
#include <vector>

#include "rules/rulefmt.h"

namespace stakewatch::app {

// Expression validation through promql::ParseExpr, template validation through
// tmpl::Template::ParseAlert, with the messages promtool prints.
rules::ValidationOptions RuleValidation();

// `stakewatch check rules [--lint=duplicate-rules|none] [--lint-fatal] FILE...`; `args` are the
// arguments after "check". Prints like promtool and returns its exit code (0 ok, 1 errors, 3
// lint findings with --lint-fatal, 2 usage).
int CheckCommand(const std::vector<std::string>& args);

}  // namespace stakewatch::app
