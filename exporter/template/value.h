// Dynamic values of the template interpreter, and Go `fmt` emulation over them.
//
// Go's text/template is statically typed through reflection; this module models the handful of Go
// types that Prometheus alert templates can produce (bool, int, float64, string, map[string]string,
// *template.sample, template.queryResult, map[string]interface{}, *time.Time and the alert data
// struct) as one tagged value, so that printing, comparison and error messages can name the Go type
// exactly as Prometheus 2.42 does ("wrong type for value; expected string; got float64").
//
// The formatting helpers reproduce Go's output byte for byte for the cases alert templates use:
//   FormatFloat(1234567, 'g', -1) == "1.234567e+06"   (Go %v of a float64)
//   GoSprintf("%5.2f|%d", {Value::Float(5), Value::Int(42)}) == " 5.00|42"
// Everything here is a pure function or an immutable value: safe to use from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stakewatch::tmpl {

// A label set, ordered by name (Go prints maps with sorted keys).
using LabelMap = std::map<std::string, std::string>;

// One element of a query result: Prometheus's `template.sample` {Labels, Value}.
struct QuerySample {
  LabelMap labels;
  double value = 0;
};

// The data an alert template is executed against (Prometheus's AlertTemplateData).
struct TemplateData {
  LabelMap labels;           // the alert sample's labels, including __name__ if present
  LabelMap external_labels;  // global external labels
  std::string external_url;  // --web.external-url, e.g. "http://prom.example:9090/prefix"
  double value = 0;          // the alert sample's value
};

struct Value;
using ArgsMap = std::vector<std::pair<std::string, Value>>;  // sorted by key
using SampleList = std::vector<std::shared_ptr<const QuerySample>>;

// A Go value as seen by the template engine. Cheap to copy (aggregates are shared, immutable).
struct Value {
  enum class Kind {
    kNil,      // untyped nil / invalid reflect.Value: prints "<no value>"
    kBool,     // bool
    kInt,      // int
    kFloat,    // float64
    kString,   // string (or template.HTML when `html` is set)
    kLabels,   // map[string]string
    kSample,   // *template.sample (sample may be null: a nil pointer)
    kSamples,  // template.queryResult
    kArgs,     // map[string]interface {} (from `args`)
    kTime,     // *time.Time (UTC)
    kData,     // the alert data struct
  };
  Kind kind = Kind::kNil;
  bool b = false;
  int64_t i = 0;      // kInt; kTime: Unix seconds
  double f = 0;       // kFloat
  int64_t nsec = 0;   // kTime: nanoseconds in [0, 1e9)
  bool html = false;  // kString produced by safeHtml
  std::string s;
  std::shared_ptr<const LabelMap> labels;
  std::shared_ptr<const QuerySample> sample;
  std::shared_ptr<const SampleList> samples;
  std::shared_ptr<const ArgsMap> args;
  const TemplateData* data = nullptr;  // kData; not owned, outlives the execution

  static Value Nil() { return Value(); }
  static Value Bool(bool v);
  static Value Int(int64_t v);
  static Value Float(double v);
  static Value String(std::string v);
  static Value Labels(std::shared_ptr<const LabelMap> m);
  static Value Sample(std::shared_ptr<const QuerySample> s);
  static Value Samples(std::shared_ptr<const SampleList> l);
  static Value Time(int64_t sec, int64_t nsec);
  static Value Data(const TemplateData* d);

  bool is_nil() const { return kind == Kind::kNil; }
};

// The Go type name of `v`, as reflect prints it ("float64", "*template.sample", ...).
std::string GoTypeName(const Value& v);

// Go's text/template truth: false, 0, "", empty map/list and nil are false.
bool IsTrue(const Value& v);

// strconv.FormatFloat(v, fmt, prec, 64) for fmt in 'e', 'f', 'g' (prec -1 = shortest).
// Specials print as Go's fmt does: "NaN", "+Inf", "-Inf".
std::string FormatFloat(double v, char fmt, int prec);

// fmt.Sprint(v) ("%v"). `top_level` is text/template's printValue, which dereferences a pointer
// before printing (a *sample prints "{map[..] 5}" there, "&{map[..] 5}" inside fmt).
std::string GoPrintV(const Value& v, bool top_level = false);

// Go's fmt.Sprint / fmt.Sprintln / fmt.Sprintf over template values.
std::string GoSprint(const std::vector<Value>& args);
std::string GoSprintln(const std::vector<Value>& args);
std::string GoSprintf(std::string_view format, const std::vector<Value>& args);

// strconv.Quote.
std::string GoQuote(std::string_view s);

// time.Time.String() of a UTC instant: "2015-06-23 13:19:44.128 +0000 UTC".
std::string GoTimeString(int64_t sec, int64_t nsec);

}  // namespace stakewatch::tmpl
