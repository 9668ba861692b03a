#include "promqltest/script.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "re2/re2.h"

namespace stakewatch::promqltest {
namespace {

// Go's %q for a string: double-quoted with Go escapes.
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          absl::StrAppendFormat(&out, "\\x%02x", static_cast<unsigned char>(c));
        } else {
          out.push_back(c);
        }
    }
  }
  out += "\"";
  return out;
}

// Go's %v of []parser.SequenceValue: "[1.000000]" (SequenceValue.String uses %f, "_" if omitted).
std::string FormatValues(const SequenceValue& v) {
  return absl::StrCat("[", v.omitted ? std::string("_") : FormatGoFixed(v.value), "]");
}

// Go's %v of a test.go entry: "<pos>: [<values>]".
std::string FormatEntry(const ExpectedSample& e) {
  return absl::StrCat(e.pos, ": ", FormatValues(e.value));
}

absl::Status Mismatch(std::string msg) { return absl::FailedPreconditionError(std::move(msg)); }

// A ParseErr at the start of script line `line` (0-based index), as test.go's raise() prints it.
absl::Status Raise(size_t line, std::string_view msg) {
  return absl::InvalidArgumentError(absl::StrFormat("%d:1: parse error: %s", line + 1, msg));
}

// Moves a series-description error ("1:<col>: parse error: ...") to script line `line`.
absl::Status AtLine(size_t line, const absl::Status& s) {
  std::string_view m = ToStd(s.message());
  if (absl::StartsWith(ToAbsl(m), "1:")) m.remove_prefix(2);
  return absl::InvalidArgumentError(absl::StrCat(line + 1, ":", ToAbsl(m)));
}

// test.go getLines: split on '\n', trim, blank out comment lines.
std::vector<std::string> GetLines(std::string_view text) {
  std::vector<std::string> lines = absl::StrSplit(ToAbsl(text), '\n');
  for (std::string& l : lines) {
    l = std::string(absl::StripAsciiWhitespace(l));
    if (!l.empty() && l[0] == '#') l.clear();
  }
  return lines;
}

std::string FirstWordLower(std::string_view l) {
  size_t n = 0;
  while (n < l.size() && l[n] != ' ' && l[n] != '\t') ++n;
  return absl::AsciiStrToLower(ToAbsl(l.substr(0, n)));
}

absl::Status ParseLoad(const std::vector<std::string>& lines, size_t* i, Command* cmd) {
  static const LazyRE2 kPatLoad = {R"(^load\s+(.+?)$)"};
  std::string step;
  if (!RE2::FullMatch(lines[*i], *kPatLoad, &step)) {
    return Raise(*i, "invalid load command. (load <step:duration>)");
  }
  absl::StatusOr<int64_t> gap = ParseGoDuration(step);
  if (!gap.ok()) {
    return Raise(*i, absl::StrFormat("invalid step definition %s: %s", GoQuote(step),
                                     ToStd(gap.status().message())));
  }
  cmd->kind = Command::Kind::kLoad;
  cmd->load.step_ms = *gap;
  while (*i + 1 < lines.size()) {
    ++*i;
    if (lines[*i].empty()) {
      --*i;
      break;
    }
    absl::StatusOr<SeriesDescription> d = ParseSeriesDescription(lines[*i]);
    if (!d.ok()) return AtLine(*i, d.status());
    bool replaced = false;
    for (SeriesDescription& existing : cmd->load.series) {
      if (existing.labels == d->labels) {
        existing = *std::move(d);
        replaced = true;
        break;
      }
    }
    if (!replaced) cmd->load.series.push_back(*std::move(d));
  }
  return absl::OkStatus();
}

absl::Status ParseEval(const std::vector<std::string>& lines, size_t* i,
                       const ParseOptions& options, Command* cmd) {
  static const LazyRE2 kPatEval = {
      R"(^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$)"};
  std::string mod, at, expr;
  if (!RE2::FullMatch(lines[*i], *kPatEval, &mod, &at, &expr)) {
    return Raise(*i,
                 "invalid evaluation command. (eval[_fail|_ordered] instant [at "
                 "<offset:duration>] <query>");
  }
  if (options.validate_expr) {
    if (absl::Status s = options.validate_expr(expr); !s.ok()) {
      return Raise(*i, absl::StrCat("invalid expression ", GoQuote(expr), ": ", s.message()));
    }
  }
  absl::StatusOr<int64_t> offset = ParseGoDuration(at);
  if (!offset.ok()) {
    return Raise(*i, absl::StrFormat("invalid step definition %s: %s", GoQuote(at),
                                     ToStd(offset.status().message())));
  }
  cmd->kind = Command::Kind::kEval;
  EvalCommand& ev = cmd->eval;
  ev.expr = expr;
  ev.t_ms = *offset;
  ev.fail = mod == "fail";
  ev.ordered = mod == "ordered";
  for (int j = 1; *i + 1 < lines.size(); ++j) {
    ++*i;
    const std::string& def = lines[*i];
    if (def.empty()) {
      --*i;
      break;
    }
    if (absl::StatusOr<double> f = ParseGoNumber(def); f.ok()) {
      ev.scalar =
          ExpectedSample{tsdb::Labels(), SequenceValue{*f, false}, 0, static_cast<int>(*i + 1)};
      break;  // as in test.go, a scalar line ends the block
    }
    absl::StatusOr<SeriesDescription> d = ParseSeriesDescription(def);
    if (!d.ok()) return AtLine(*i, d.status());
    if (d->values.size() > 1) {
      return Raise(*i, "expecting multiple values in instant evaluation not allowed");
    }
    if (d->values.empty()) {
      // test.go accepts this line and then crashes comparing against it.
      return Raise(*i, "expected result line has no value");
    }
    ExpectedSample e{std::move(d->labels), d->values[0], j, static_cast<int>(*i + 1)};
    bool replaced = false;  // test.go keeps expectations in a map: a repeated label set wins
    for (ExpectedSample& existing : ev.expected) {
      if (existing.labels == e.labels) {
        existing = e;
        replaced = true;
        break;
      }
    }
    if (!replaced) ev.expected.push_back(std::move(e));
  }
  return absl::OkStatus();
}

std::unique_ptr<tsdb::MemStorage> NewStorage() {
  // Test data spans days; nothing may fall out of retention.
  return std::make_unique<tsdb::MemStorage>(std::numeric_limits<int64_t>::max() / 4);
}

std::string_view AppendErrorText(tsdb::AppendError e) {
  switch (e) {
    case tsdb::AppendError::kOutOfOrder:
      return "out of order sample";
    case tsdb::AppendError::kDuplicateTimestamp:
      return "duplicate sample for timestamp";
    case tsdb::AppendError::kOutOfBounds:
      return "out of bounds";
    case tsdb::AppendError::kNone:
      break;
  }
  return "ok";
}

// The eval part of test.go's exec(); OK when the eval passes.
absl::Status RunEval(const Command& cmd, QueryEngine& engine, tsdb::Storage* storage,
                     int* at_skipped) {
  const EvalCommand& ev = cmd.eval;
  struct Query {
    std::string expr;
    int64_t t_ms;
  };
  std::vector<Query> queries = {{ev.expr, ev.t_ms}};
  absl::StatusOr<std::optional<std::string>> pinned = engine.PinAt(ev.expr, ev.t_ms);
  if (!pinned.ok()) {
    if (!absl::IsUnimplemented(pinned.status())) return pinned.status();
    ++*at_skipped;
  } else if (pinned->has_value()) {
    const int64_t ts = ev.t_ms;
    std::vector<int64_t> times = {-10 * ts, 0, ts / 5, ts, 10 * ts};
    if (ts == 0) times = {-1000, 0, 1000};
    for (int64_t t : times) queries.push_back({**pinned, t});
  }
  for (const Query& q : queries) {
    absl::StatusOr<QueryResult> res = engine.Instant(q.expr, q.t_ms, storage);
    if (!res.ok()) {
      if (ev.fail) continue;
      return Mismatch(absl::StrFormat("error evaluating query %s (line %d): %s", GoQuote(q.expr),
                                      cmd.line, ToStd(res.status().message())));
    }
    if (ev.fail) {
      return Mismatch(absl::StrFormat("expected error evaluating query %s (line %d) but got none",
                                      GoQuote(q.expr), cmd.line));
    }
    if (absl::Status s = CompareResult(ev, *res); !s.ok()) {
      return Mismatch(absl::StrFormat("error in eval %s: %s", q.expr, ToStd(s.message())));
    }
    // The same query in range mode must agree at its middle step.
    absl::StatusOr<QueryResult> range =
        engine.Range(q.expr, q.t_ms - 60000, q.t_ms + 60000, 60000, storage);
    if (!range.ok()) {
      return Mismatch(absl::StrFormat("error evaluating query %s (line %d) in range mode: %s",
                                      GoQuote(q.expr), cmd.line, ToStd(range.status().message())));
    }
    if (ev.ordered) continue;  // ordering isn't defined for range queries
    if (range->type != QueryResult::Type::kMatrix) {
      return Mismatch(
          absl::StrFormat("error in eval %s (line %d) range mode: got a %s, not a matrix", q.expr,
                          cmd.line, TypeName(range->type)));
    }
    std::vector<VectorSample> vec;
    for (const MatrixSeries& series : range->matrix) {
      for (const tsdb::Sample& p : series.points) {
        if (p.t_ms == q.t_ms) {
          vec.push_back({series.labels, p.v});
          break;
        }
      }
    }
    absl::Status s;
    if (res->type == QueryResult::Type::kScalar) {
      s = vec.empty() ? Mismatch("no point at the evaluation time in range mode")
                      : CompareResult(ev, QueryResult::Scalar(vec[0].value));
    } else {
      s = CompareResult(ev, QueryResult::Vector(std::move(vec)));
    }
    if (!s.ok()) {
      return Mismatch(absl::StrFormat("error in eval %s (line %d) range mode: %s", q.expr, cmd.line,
                                      ToStd(s.message())));
    }
  }
  return absl::OkStatus();
}

}  // namespace

QueryResult QueryResult::Vector(std::vector<VectorSample> v) {
  QueryResult r;
  r.type = Type::kVector;
  r.vector = std::move(v);
  return r;
}
QueryResult QueryResult::Scalar(double v) {
  QueryResult r;
  r.type = Type::kScalar;
  r.scalar = v;
  return r;
}
QueryResult QueryResult::String(std::string s) {
  QueryResult r;
  r.type = Type::kString;
  r.string = std::move(s);
  return r;
}
QueryResult QueryResult::Matrix(std::vector<MatrixSeries> m) {
  QueryResult r;
  r.type = Type::kMatrix;
  r.matrix = std::move(m);
  return r;
}

std::string_view TypeName(QueryResult::Type t) {
  switch (t) {
    case QueryResult::Type::kVector:
      return "vector";
    case QueryResult::Type::kScalar:
      return "scalar";
    case QueryResult::Type::kString:
      return "string";
    case QueryResult::Type::kMatrix:
      return "matrix";
  }
  return "unknown";
}

absl::StatusOr<std::optional<std::string>> QueryEngine::PinAt(const std::string& /*expr*/,
                                                              int64_t /*t_ms*/) {
  return absl::UnimplementedError("this engine cannot rewrite expressions with @");
}

size_t Script::NumEvals() const {
  size_t n = 0;
  for (const Command& c : commands) n += c.kind == Command::Kind::kEval;
  return n;
}
size_t Script::NumLoads() const {
  size_t n = 0;
  for (const Command& c : commands) n += c.kind == Command::Kind::kLoad;
  return n;
}
size_t Script::NumClears() const {
  size_t n = 0;
  for (const Command& c : commands) n += c.kind == Command::Kind::kClear;
  return n;
}

absl::StatusOr<Script> ParseScript(std::string_view text, const ParseOptions& options) {
  std::vector<std::string> lines = GetLines(text);
  Script script;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    if (l.empty()) continue;
    Command cmd;
    cmd.line = static_cast<int>(i + 1);
    cmd.text = l;
    const std::string c = FirstWordLower(l);
    if (c == "clear") {
      cmd.kind = Command::Kind::kClear;
    } else if (c == "load") {
      if (absl::Status s = ParseLoad(lines, &i, &cmd); !s.ok()) return s;
    } else if (absl::StartsWith(c, "eval")) {
      if (absl::Status s = ParseEval(lines, &i, options, &cmd); !s.ok()) return s;
    } else {
      return Raise(i, absl::StrFormat("invalid command %s", GoQuote(l)));
    }
    script.commands.push_back(std::move(cmd));
  }
  return script;
}

bool AlmostEqual(double a, double b, double epsilon) {
  if (std::isnan(a) && std::isnan(b)) return true;
  if (a == b) return true;
  const double min_normal = std::numeric_limits<double>::min();  // 0x0010000000000000
  const double diff = std::fabs(a - b);
  if (a == 0 || b == 0 || diff < min_normal) return diff < epsilon * min_normal;
  return diff / (std::fabs(a) + std::fabs(b)) < epsilon;
}

absl::Status CompareResult(const EvalCommand& eval, const QueryResult& result) {
  switch (result.type) {
    case QueryResult::Type::kMatrix:
      return Mismatch("received range result on instant evaluation");
    case QueryResult::Type::kString:
      return Mismatch(absl::StrCat("unexpected result type string: ", GoQuote(result.string)));
    case QueryResult::Type::kScalar:
      if (!eval.scalar.has_value()) {
        return Mismatch(absl::StrCat("unexpected scalar ", FormatGoFloat(result.scalar),
                                     " in result, expected a vector"));
      }
      if (!AlmostEqual(eval.scalar->value.value, result.scalar)) {
        return Mismatch(absl::StrCat("expected Scalar ", FormatGoFloat(eval.scalar->value.value),
                                     " but got ", FormatGoFloat(result.scalar)));
      }
      return absl::OkStatus();
    case QueryResult::Type::kVector:
      break;
  }
  std::vector<bool> seen(eval.expected.size(), false);
  for (size_t pos = 0; pos < result.vector.size(); ++pos) {
    const VectorSample& s = result.vector[pos];
    size_t k = 0;
    while (k < eval.expected.size() && !(eval.expected[k].labels == s.labels)) ++k;
    if (k == eval.expected.size()) {
      return Mismatch(absl::StrCat("unexpected metric ", s.labels.ToString(), " in result"));
    }
    const ExpectedSample& exp = eval.expected[k];
    if (eval.ordered && exp.pos != static_cast<int>(pos + 1)) {
      return Mismatch(absl::StrFormat("expected metric %s with %s at position %d but was at %d",
                                      s.labels.ToString(), FormatValues(exp.value), exp.pos,
                                      pos + 1));
    }
    if (!AlmostEqual(exp.value.value, s.value)) {
      return Mismatch(absl::StrCat("expected ", FormatGoFloat(exp.value.value), " for ",
                                   s.labels.ToString(), " but got ", FormatGoFloat(s.value)));
    }
    seen[k] = true;
  }
  for (size_t k = 0; k < eval.expected.size(); ++k) {
    if (!seen[k]) {
      return Mismatch(absl::StrCat("expected metric ", eval.expected[k].labels.ToString(), " with ",
                                   FormatEntry(eval.expected[k]), " not found"));
    }
  }
  if (eval.scalar.has_value()) {
    return Mismatch(absl::StrCat("expected metric {} with ", FormatEntry(*eval.scalar),
                                 " not found (a scalar was expected, got a vector)"));
  }
  return absl::OkStatus();
}

absl::Status LoadInto(const LoadCommand& load, tsdb::Storage* storage) {
  std::unique_ptr<tsdb::Appender> app = storage->NewAppender();
  for (const SeriesDescription& d : load.series) {
    if (d.labels.empty()) {
      app->Rollback();
      return absl::InvalidArgumentError("empty labelset");
    }
    for (const tsdb::Sample& s : ExpandToSamples(d, load.step_ms)) {
      tsdb::AppendError e = app->Append(d.labels, s.t_ms, s.v);
      if (e != tsdb::AppendError::kNone) {
        app->Rollback();
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s: series %s at t=%dms", AppendErrorText(e), d.labels.ToString(), s.t_ms));
      }
    }
  }
  return app->Commit();
}

std::string RunReport::Summary() const {
  return absl::StrFormat("%d passed, %d failed", passed, failed);
}

std::string RunReport::ToText() const {
  std::string out;
  for (const CaseResult& c : cases) {
    if (c.passed) continue;
    absl::StrAppendFormat(&out, "FAILED line %d: %s\n    %s\n", c.line, c.command, c.message);
  }
  if (at_checks_skipped > 0) {
    absl::StrAppendFormat(&out, "@-modifier re-checks skipped for %d evals (engine has no PinAt)\n",
                          at_checks_skipped);
  }
  absl::StrAppend(&out, Summary(), "\n");
  return out;
}

RunReport RunScript(const Script& script, QueryEngine& engine) {
  RunReport report;
  std::unique_ptr<tsdb::MemStorage> storage = NewStorage();
  auto record = [&report](const Command& cmd, const absl::Status& s) {
    CaseResult r{cmd.line, cmd.text, s.ok(), std::string(ToStd(s.message()))};
    (r.passed ? report.passed : report.failed)++;
    report.cases.push_back(std::move(r));
  };
  for (const Command& cmd : script.commands) {
    switch (cmd.kind) {
      case Command::Kind::kClear:
        storage = NewStorage();
        break;
      case Command::Kind::kLoad:
        if (absl::Status s = LoadInto(cmd.load, storage.get()); !s.ok()) record(cmd, s);
        break;
      case Command::Kind::kEval:
        record(cmd, RunEval(cmd, engine, storage.get(), &report.at_checks_skipped));
        break;
    }
  }
  return report;
}

}  // namespace stakewatch::promqltest
