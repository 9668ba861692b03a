// Internal to the template module: Prometheus's template functions (template/template.go 2.42)
// as a name -> signature + implementation table. The interpreter (template.cc) checks argument
// counts and types the way Go's text/template does, then calls the implementation; an error
// status's message becomes "error calling <name>: <message>".
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "template/template.h"
#include "template/value.h"

namespace stakewatch::tmpl::internal {

// A Go parameter type, as far as the interpreter needs to check it.
enum class ParamType {
  kAny,      // interface{}: anything, including nil
  kString,   // string
  kSample,   // *template.sample
  kSamples,  // template.queryResult
};

const char* ParamTypeName(ParamType t);

struct CallContext {
  const TemplateData* data;
  const QueryFunc* query;  // may be null or empty
};

struct FuncDef {
  std::vector<ParamType> params;
  bool variadic = false;  // the last param repeats (Go's ...)
  std::function<absl::StatusOr<Value>(const std::vector<Value>&, const CallContext&)> fn;
};

// The Prometheus function named `name`, or null.
const FuncDef* LookupFunc(std::string_view name);

// Go's strconv.ParseFloat(s, 64), with its error text ("strconv.ParseFloat: parsing "x": invalid
// syntax").
absl::StatusOr<double> GoParseFloat(std::string_view s);

// net/url.QueryEscape.
std::string QueryEscape(std::string_view s);

}  // namespace stakewatch::tmpl::internal
