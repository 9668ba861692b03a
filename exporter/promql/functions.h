// The PromQL function table of Prometheus 2.42 (promql/parser/functions.go): name, argument
// types, variadic rule and return type of every function. The table is static and immutable, so
// it may be read from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "promql/ast.h"

namespace stakewatch::promql {

// The function called `name`, or nullptr when there is none.
const Function* GetFunction(std::string_view name);

// All functions, sorted by name.
const std::vector<Function>& AllFunctions();

}  // namespace stakewatch::promql
