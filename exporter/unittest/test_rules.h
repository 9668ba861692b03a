// `stakewatch test rules FILE...`: promtool 2.42's `test rules` (cmd/promtool/unittest.go) run
// against stakewatch's rule groups (ruleeval/) and PromQL engine (query/).
//
//   std::vector<std::string> files = {"alerts_test.yml"};
//   int code = unittest::TestRulesCommand(files, std::cout, std::cerr);   // 0 pass, 1 fail
//
// A unit-test file (strict YAML: unknown keys are errors, as yaml.v2's UnmarshalStrict):
//
//   rule_files: [alerts.yml]         # globs, relative to the test file's directory
//   evaluation_interval: 1m          # default 1m
//   group_eval_order: [g1, g2]       # groups not listed come first (order index 0)
//   tests:
//     - interval: 1m                 # input step and default group interval (unset: 0, so
//       name: t1                     #   every input sample lands at t=0, as in promtool)
//       external_labels: {cluster: lab}
//       external_url: http://prom:9090
//       input_series: [{series: 'up{job="a"}', values: '1 0 0 0'}]
//       alert_rule_test: [{eval_time: 3m, alertname: Down, exp_alerts: [{exp_labels: {...},
//                          exp_annotations: {...}}]}]
//       promql_expr_test: [{expr: up, eval_time: 2m, exp_samples: [{labels: 'up{job="a"}',
//                           value: 0}]}]
//
// How a test group runs (as promtool): the input series are loaded lazily (before each
// evaluation at ts, only samples with t <= ts are appended); every rule group is evaluated at
// 0, evaluation_interval, ... up to the largest eval_time, in group_eval_order, with every
// alerting rule restored; a rule evaluation error ends the test group ("    rule: R, time: 5m0s,
// err: ..."); alert tests are checked at the evaluation with ts <= eval_time < ts + interval
// (firing alerts only, alertname added to the expected labels, sorted by labels then
// annotations); promql_expr_test cases are queried after the loop and compared with exact float
// equality (NaN never equals). The output, streams and exit code are promtool's.
//
// Known differences from promtool: YAML syntax errors carry yaml-cpp's message after
// "yaml: line N: " (promtool prints yaml.v2's); the YAML 1.1 resolution of plain scalars for
// `value` covers null, bool, decimal/hex/octal/binary ints, floats, .inf and .nan (not
// timestamps); GoQuote escapes control characters but not other non-printable Unicode code
// points; groups not named in group_eval_order run in file order (promtool: random order).
//
// Threads: every function is thread-compatible and uses no shared state except the streams
// it is given.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace stakewatch::unittest {

// Runs every file (as promtool test rules does) and writes promtool's output: stdout
// "Unit Testing:  FILE", then "  SUCCESS" or, on stderr, "  FAILED:" and each error (each
// followed by a blank line on stdout), then a blank line. Returns 0 if all passed, else 1.
int TestRulesCommand(const std::vector<std::string>& files, std::ostream& out, std::ostream& err);

// Runs one file and returns its errors as promtool prints them (empty = success). Warnings
// ("  WARNING: no file match pattern P") are written to `warn` as they happen.
std::vector<std::string> RunTestFile(const std::string& path, std::ostream& warn);

// --- Go formatting helpers (exposed for tests) ---

// strconv.FormatFloat(v, 'E', -1, 64): shortest round-trip digits, "2E-01", "1.5E+00",
// "3.333333333333333E-01", "+Inf", "-Inf", "NaN".
std::string FormatFloatE(double v);
// prometheus/common model.Duration.String(): "0s", "1m", "1h30m", "1d", "2w", "1y", "1m30s500ms".
std::string FormatModelDuration(int64_t ms);
// Go time.Duration.String() of a non-negative nanosecond count: "0s", "5m0s", "1h0m0s", "1.5s",
// "500ms".
std::string FormatGoDuration(int64_t ns);
// strconv.Quote for ASCII/UTF-8 text: "\"a\\\"b\"", control characters as \n, \t, \x01.
std::string GoQuote(std::string_view s);
// labels.Labels.String() of sorted pairs (empty values kept): {a="1", b="2"}.
std::string FormatLabelMap(const std::map<std::string, std::string>& labels);
// filepath.Clean, filepath.Join(dir, rel) and filepath.Dir (Unix).
std::string GoPathClean(std::string_view path);
std::string GoPathJoin(std::string_view dir, std::string_view rel);
std::string GoPathDir(std::string_view path);

}  // namespace stakewatch::unittest
