// Prometheus rule files: the loader and validator of Prometheus 2.42's model/rulefmt, and the
// output of `promtool check rules`.
//
// A rule file is YAML:
//
//   groups:
//     - name: validator.rules          # required, unique in the file
//       interval: 30s                  # optional; 0 = the global evaluation_interval
//       limit: 10                      # optional; 0 = no limit on series/alerts per rule
//       rules:
//         - record: job:up:sum         # a recording rule: record + expr (+ labels)
//           expr: sum by (job) (up)
//         - alert: InstanceDown        # an alerting rule: alert + expr (+ for, keep_firing_for,
//           expr: up == 0              #   labels, annotations; label values and annotations
//           for: 5m                    #   are templates)
//
// Usage:
//
//   rules::ValidationOptions opts;
//   opts.validate_expr = [](std::string_view e) { return promql::ParseExpr(e).status(); };
//   absl::StatusOr<rules::RuleFile> f = rules::LoadRuleFile("alerts.yml", opts);
//
//   // `stakewatch check rules a.yml b.yml`:
//   rules::CheckReport r = rules::CheckRuleFiles({"a.yml", "b.yml"}, {.validation = opts});
//   for (const auto& c : r.chunks) fputs(c.text.c_str(), c.to_stderr ? stderr : stdout);
//   return r.exit_code;
//
// Fidelity. The checks and their messages are those of promtool 2.42 (verified against the
// installed binary; see test/testdata/rules/ and rulefmt_test.cc). As there:
//  - Decoding is strict: an unknown key, a duplicate key or a value of the wrong YAML type is an
//    error, reported yaml.v3-style in one "yaml: unmarshal errors:\n  line N: ..." message.
//  - A bad duration (`for`, `keep_firing_for`, `interval`) aborts decoding: it is then the only
//    error reported ("not a valid duration string: \"5x\"").
//  - If decoding fails, validation does not run. Otherwise every problem in every group and rule
//    is reported, positioned like promtool: "4:17: group \"g\", rule 1, \"name\": ...", where a
//    field that is absent has position 0:0.
//  - Only the first YAML document of the file is read. A YAML syntax error is listed twice, as
//    promtool lists it (Prometheus decodes the text twice).
//  - yaml.v3 quirks are kept: a mapping with a duplicate key is not decoded (only the duplicate
//    is reported), null items in a sequence are dropped, `limit: 1.5` is truncated to 1, and an
//    explicit null keeps its text (`expr: null` is the expression "null").
// Known differences: YAML syntax errors are yaml-cpp's messages (same verdict; the text and line
// can differ), and yaml-cpp and yaml.v3 disagree on a few malformed documents (e.g. a stray
// ":" line is caught, but some documents both reject get a type error here and a syntax error
// from promtool, or the reverse). At most 100 duplicate-key errors are reported per mapping. YAML
// merge keys
// (`<<`) are not supported (yaml-cpp treats them as ordinary keys). Label and annotation
// problems are reported in sorted key order (Go iterates maps in random order).
//
// Threads: every function here is thread-safe if the callbacks are; nothing is shared.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace stakewatch::rules {

// A position in the rule file, 1-based. {0, 0} means "field absent", as promtool prints it.
struct Position {
  int line = 0;
  int column = 0;
};

// One recording or alerting rule, as written. After successful validation exactly one of
// `record` and `alert` is non-empty, and `expr` is non-empty.
struct Rule {
  std::string record;
  std::string alert;
  std::string expr;
  absl::Duration for_duration = absl::ZeroDuration();     // alerting only
  absl::Duration keep_firing_for = absl::ZeroDuration();  // alerting only
  std::map<std::string, std::string> labels;              // values are templates (alerting)
  std::map<std::string, std::string> annotations;         // templates; alerting only
  Position record_pos;  // position of the value of `record`; {0,0} if absent
  Position alert_pos;
  Position expr_pos;

  bool IsAlerting() const { return !alert.empty(); }
  // The rule's name: `alert` if set, otherwise `record`.
  const std::string& Name() const { return alert.empty() ? record : alert; }
};

// A group of rules evaluated sequentially at one interval.
struct RuleGroup {
  std::string name;
  absl::Duration interval = absl::ZeroDuration();  // 0 = global evaluation_interval
  int64_t limit = 0;                               // 0 = unlimited
  std::vector<Rule> rules;
  Position pos;  // position of the group's mapping (its first key)
};

// The contents of one rule file.
struct RuleFile {
  std::vector<RuleGroup> groups;

  // Number of rules over all groups (what promtool reports as "N rules found").
  size_t RuleCount() const;
};

// Checks one PromQL expression. Returns OK, or an error whose message is the parser's, e.g.
// "1:7: parse error: unclosed left parenthesis"; it becomes
// "could not parse expression: <message>". Must not throw.
using ExprValidator = std::function<absl::Status(std::string_view expr)>;

// Test-parses one label value or annotation of alerting rule `template_name` (which is
// "__alert_" + the alert name; Prometheus parses the text with the prefix
// "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}
// {{$value := .Value}}" (one line), which the callback must add if its engine needs it).
// Returns OK or the template engine's error, e.g. "template: __alert_A:1: unclosed action"; it
// becomes "label \"severity\": <message>" or "annotation \"summary\": <message>". Must not throw.
using TemplateValidator =
    std::function<absl::Status(std::string_view template_name, std::string_view text)>;

// Options for parsing and validating. A null callback skips that check.
struct ValidationOptions {
  ExprValidator validate_expr;
  TemplateValidator validate_template;
};

// The result of parsing one rule file: `errors` lists every problem found, each formatted as
// promtool prints it after "FILENAME: " (without that prefix). `file` is meaningful only when
// `errors` is empty.
struct ParseResult {
  RuleFile file;
  std::vector<std::string> errors;
};

// Parses and validates the rule-file text `yaml_text`. Never throws; any input gives a result.
ParseResult ParseRules(std::string_view yaml_text, const ValidationOptions& options);

// Largest rule file read from disk.
inline constexpr size_t kMaxRuleFileBytes = 64 << 20;

// Reads the file at `path` and parses it. A file that cannot be read gives one error,
// "open PATH: no such file or directory" (as Go's os.ReadFile).
ParseResult ParseRuleFile(std::string_view path, const ValidationOptions& options);

// Reads, parses and validates the file at `path`. On any problem returns InvalidArgument (or
// NotFound if the file does not exist) whose message is all errors, each "PATH: <error>",
// joined by newlines.
absl::StatusOr<RuleFile> LoadRuleFile(std::string_view path, const ValidationOptions& options);

// A set of rules with the same name (record or alert) and the same labels, over all groups of
// a file: promtool's "duplicate-rules" lint.
struct DuplicateRule {
  std::string metric;
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
};

// Returns each duplicated (name, labels) once, sorted by name then labels.
std::vector<DuplicateRule> FindDuplicateRules(const RuleFile& file);

// Options for CheckRuleFiles, mirroring promtool's flags.
struct CheckOptions {
  ValidationOptions validation;
  bool lint_duplicate_rules = true;  // --lint=duplicate-rules (the default); false = --lint=none
  bool lint_fatal = false;           // --lint-fatal
};

// Text for one output stream, in the order promtool writes it.
struct OutputChunk {
  bool to_stderr = false;
  std::string text;
};

// What `promtool check rules FILE...` prints, and its exit code: 0 on success (lint findings
// alone do not fail unless lint_fatal), 1 if any file has errors, 3 if only lint findings and
// lint_fatal. Per file: stdout "Checking FILE\n"; then stdout "  SUCCESS: N rules found\n" or
// stderr "  FAILED:\n" and one line per error; then stdout "\n".
struct CheckReport {
  std::vector<OutputChunk> chunks;
  int exit_code = 0;

  std::string Stdout() const;  // the stdout chunks concatenated
  std::string Stderr() const;  // the stderr chunks concatenated
};

CheckReport CheckRuleFiles(const std::vector<std::string>& paths, const CheckOptions& options);

}  // namespace stakewatch::rules
