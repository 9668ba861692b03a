// Prometheus alert templates: the Go text/template subset that rule files use, with the functions
// and output formatting of Prometheus 2.42's template/template.go.
//
// An alert's labels and annotations are Go templates executed for every alert at every evaluation.
// Prometheus prefixes each with variable definitions, so `$labels`, `$externalLabels`,
// `$externalURL` and `$value` are in scope; the template name is "__alert_<rule name>"; parsing
// uses missingkey=zero (a missing label is ""); and a failed execution becomes the text
// "<error expanding template: ...>". This module reproduces that text, including Go's error
// messages with their line:column positions (which count the prefix).
//
//   ASSIGN_OR_RETURN(tmpl::Template t,
//                    tmpl::Template::ParseAlert("DiskFull", "{{ $value | humanize }}B free"));
//   tmpl::TemplateData data{.labels = {{"instance", "a"}}, .value = 1234567};
//   std::string text = t.Expand(data, query_fn);   // "1.235MB free"
//
// Supported: text and {{actions}} with {{- -}} trimming and /* comments */; pipelines; variables
// (:= and =); fields on maps and samples; if / else if / else, range (with $i, $x :=, else, break,
// continue), with / else; literals (strings, raw strings, numbers, chars, true/false/nil); the
// builtins and, or, not, len, index, print, printf, println, eq, ne, lt, le, gt, ge, urlquery;
// and Prometheus's query, first, label, value, strvalue, sortByLabel, args, reReplaceAll, match,
// title, toUpper, toLower, safeHtml, stripPort, stripDomain, humanize, humanize1024,
// humanizeDuration, humanizePercentage, humanizeTimestamp, toTime, parseDuration, pathPrefix,
// externalURL, graphLink, tableLink. Not supported (a parse error says so): define, template,
// block, html, js, slice, call. Time values support .Unix, .UnixMilli and .Format with the common
// layout elements.
//
// Thread-safety: a parsed Template is immutable; Execute/Expand may run concurrently from any
// threads. The query callback is called on the executing thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "template/value.h"

namespace stakewatch::tmpl {

// Runs a PromQL instant query (at the evaluation timestamp the caller chose) for the template's
// `query` function. An error is reported as the template error "error calling query: <message>".
using QueryFunc = std::function<absl::StatusOr<std::vector<QuerySample>>(std::string_view promql)>;

// The text Prometheus puts in front of every alert label and annotation template.
inline constexpr std::string_view kAlertTemplatePrefix =
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}";

struct ParsedTemplate;  // the syntax tree; internal

class Template {
 public:
  // An empty template named `name` (Go's template name, used in error messages).
  explicit Template(std::string name = "template");

  // Parses `text` (as is, no prefix). On error returns InvalidArgument with Go's message, e.g.
  // "template: __alert_A:1: function \"foo\" not defined", and leaves the template empty.
  absl::Status Parse(std::string_view text);

  // Parses an alert label/annotation: name "__alert_<rule_name>", text prefixed with
  // kAlertTemplatePrefix, exactly as Prometheus does at rule load and at every evaluation.
  static absl::StatusOr<Template> ParseAlert(std::string_view rule_name, std::string_view text);

  // Executes the template with `.` = data. On failure returns an error whose message is Go's
  // execution error ("template: NAME:1:115: executing \"NAME\" at <.Foo>: ..."). `query` may be
  // empty, in which case `query` calls fail. REQUIRES: Parse succeeded.
  absl::StatusOr<std::string> Execute(const TemplateData& data, const QueryFunc& query) const;

  // Execute, but an error yields Prometheus's annotation text
  // "<error expanding template: error executing template NAME: ...>".
  std::string Expand(const TemplateData& data, const QueryFunc& query) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::shared_ptr<const ParsedTemplate> tree_;
};

}  // namespace stakewatch::tmpl
