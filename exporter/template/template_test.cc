// Tests for the alert template engine. Expected outputs come from two independent sources:
//  * Prometheus 2.42's own template/template_test.go table (ported; inputs that Go passed as typed
//    slices are written here as literals of the same Go type),
//  * the installed promtool 2.42: the kPromtoolCases table below was produced by running
//    `promtool test rules` on a rule file whose annotations are these templates (two alerts:
//    instance a:9100 with value 5 and instance b:9100 with value 1234567, external label
//    env=prod, query "m" returning b then a) and copying the annotations promtool printed.
#include "template/template.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::tmpl {
namespace {

using ::testing::HasSubstr;

// --- promtool ground truth ------------------------------------------------------------------

TemplateData PromtoolData(bool b) {
  TemplateData d;
  d.labels = {{"__name__", "m"}, {"instance", b ? "b:9100" : "a:9100"}, {"job", "node"}};
  d.external_labels = {{"env", "prod"}};
  d.external_url = "";  // promtool runs rules with a nil external URL
  d.value = b ? 1234567 : 5;
  return d;
}

// promtool's order of the series returned by `query "m"` differed between the recorded runs
// (rule A's run returned a then b, rules B's and C's b then a), so each rule gets its run's order.
absl::StatusOr<std::vector<QuerySample>> PromtoolQueryOrdered(std::string_view q, bool b_first) {
  if (q == "m") {
    QuerySample a{{{"__name__", "m"}, {"instance", "a:9100"}, {"job", "node"}}, 5};
    QuerySample b{{{"__name__", "m"}, {"instance", "b:9100"}, {"job", "node"}}, 1234567};
    return b_first ? std::vector<QuerySample>{b, a} : std::vector<QuerySample>{a, b};
  }
  if (q == "bad(") return absl::InvalidArgumentError("1:5: parse error: unclosed left parenthesis");
  return std::vector<QuerySample>{};
}

absl::StatusOr<std::vector<QuerySample>> PromtoolQuery(std::string_view q) {
  return PromtoolQueryOrdered(q, true);
}

struct PromtoolCase {
  const char* rule;
  const char* key;
  const char* text;
  const char* want_a;
  const char* want_b;
};

const PromtoolCase
    kPromtoolCases
        [] =
            {
                {"A", "a01", R"tpl({{ $value }})tpl", R"tpl(5)tpl", R"tpl(1.234567e+06)tpl"},
                {"A", "a02",
                 R"tpl({{ $labels.missing }}|{{ .Labels.missing }}|{{ index $labels "missing" }})tpl",
                 R"tpl(||)tpl", R"tpl(||)tpl"},
                {"A", "a03", R"tpl({{ .Foo }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <.Foo>: can't evaluate field Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <.Foo>: can't evaluate field Foo in type struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 }>)tpl"},
                {"A", "a04",
                 R"tpl({{ humanize $value }}|{{ humanize1024 $value }}|{{ humanizeDuration $value }}|{{ humanizePercentage $value }}|{{ humanizeTimestamp $value }})tpl",
                 R"tpl(5|5|5s|500%|1970-01-01 00:00:05 +0000 UTC)tpl",
                 R"tpl(1.235M|1.177Mi|14d 6h 56m 7s|1.235e+08%|1970-01-15 06:56:07 +0000 UTC)tpl"},
                {"A", "a05", R"tpl({{ if gt $value 10 }}big{{ end }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:118: executing "__alert_A" at <gt $value 10>: error calling gt: incompatible types for comparison>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:118: executing "__alert_A" at <gt $value 10>: error calling gt: incompatible types for comparison>)tpl"},
                {"A", "a06", R"tpl({{ if gt $value 10.0 }}big{{ else }}small{{ end }})tpl",
                 R"tpl(small)tpl", R"tpl(big)tpl"},
                {"A", "a07",
                 R"tpl({{ printf "%d|%5.2f|%s|%q|%v|%g|%e|%x" 42 $value "s" "q\"x" $value $value $value 255 }})tpl",
                 R"tpl(42| 5.00|s|"q\"x"|5|5|5.000000e+00|ff)tpl",
                 R"tpl(42|1234567.00|s|"q\"x"|1.234567e+06|1.234567e+06|1.234567e+06|ff)tpl"},
                {"A", "a08",
                 R"tpl({{ printf "%d" "str" }}|{{ printf "%s" }}|{{ printf "%s" "a" "b" }}|{{ printf "%s" 1.5 }})tpl",
                 R"tpl(%!d(string=str)|%!s(MISSING)|a%!(EXTRA string=b)|%!s(float64=1.5))tpl",
                 R"tpl(%!d(string=str)|%!s(MISSING)|a%!(EXTRA string=b)|%!s(float64=1.5))tpl"},
                {"A", "a09", R"tpl({{ $labels }})tpl",
                 R"tpl(map[__name__:m instance:a:9100 job:node])tpl",
                 R"tpl(map[__name__:m instance:b:9100 job:node])tpl"},
                {"A", "a10",
                 R"tpl({{ range $i, $x := query "m" }}{{ $i }}={{ $x.Labels.instance }}:{{ $x.Value }};{{ end }})tpl",
                 R"tpl(0=a:9100:5;1=b:9100:1.234567e+06;)tpl",
                 R"tpl(0=a:9100:5;1=b:9100:1.234567e+06;)tpl"},
                {"A", "a11",
                 R"tpl({{ with query "nothing" }}yes{{ else }}no{{ end }}|{{ query "m" | first | value | humanize }}|{{ query "m" | first }})tpl",
                 R"tpl(no|5|{map[__name__:m instance:a:9100 job:node] 5})tpl",
                 R"tpl(no|5|{map[__name__:m instance:a:9100 job:node] 5})tpl"},
                {"A", "a12", R"tpl({{ toUpper 1 }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:123: executing "__alert_A" at <1>: expected string; found 1>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:123: executing "__alert_A" at <1>: expected string; found 1>)tpl"},
                {"A", "a13", R"tpl({{ "one" | humanizePercentage }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:123: executing "__alert_A" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing "one": invalid syntax>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:123: executing "__alert_A" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: parsing "one": invalid syntax>)tpl"},
                {"A", "a14",
                 R"tpl({{ eq "a" "a" }} {{ eq 1 1 2 }} {{ ne 1 2 }} {{ lt 1 2 }} {{ and 1 0 }} {{ or 0 "" }} {{ not 0 }} {{ len "abc" }} {{ len $labels }})tpl",
                 R"tpl(true true true true 0  true 3 3)tpl",
                 R"tpl(true true true true 0  true 3 3)tpl"},
                {"A", "a15",
                 R"tpl({{ $externalURL }}|{{ $externalLabels.env }}|{{ externalURL }}|{{ pathPrefix }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:160: executing "__alert_A" at <externalURL>: error calling externalURL: runtime error: invalid memory address or nil pointer dereference>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:160: executing "__alert_A" at <externalURL>: error calling externalURL: runtime error: invalid memory address or nil pointer dereference>)tpl"},
                {"A", "a16",
                 R"tpl({{ title "hello world-foo bar_baz" }}|{{ reReplaceAll "(\\w+)@(\\w+)" "$2 at ${1}x" "me@host you@there" }}|{{ match "^a" "abc" }})tpl",
                 R"tpl(Hello World-Foo Bar_baz|host at mex there at youx|true)tpl",
                 R"tpl(Hello World-Foo Bar_baz|host at mex there at youx|true)tpl"},
                {"A", "a17",
                 R"tpl({{ parseDuration "1h2m10ms" }}|{{ toTime 1435065584.128 }}|{{ (toTime 1435065584.128).Unix }})tpl",
                 R"tpl(3720.01|2015-06-23 13:19:44.128 +0000 UTC|1435065584)tpl",
                 R"tpl(3720.01|2015-06-23 13:19:44.128 +0000 UTC|1435065584)tpl"},
                {"A", "a18", R"tpl({{- /* comment */ -}}  x  {{- 3 -}}  y {{ 4 }})tpl",
                 R"tpl(x3y 4)tpl", R"tpl(x3y 4)tpl"},
                {"A", "a19",
                 R"tpl({{ print 1 2 "a" "b" 3 1.5 }}|{{ println 1 "x" }}|{{ print $value }})tpl",
                 R"tpl(1 2ab3 1.5|1 x
|5)tpl",
                 R"tpl(1 2ab3 1.5|1 x
|1.234567e+06)tpl"},
                {"A", "a20",
                 R"tpl({{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }})tpl",
                 R"tpl(2)tpl", R"tpl(2)tpl"},
                {"A", "a21",
                 R"tpl({{ 1.0 }} {{ 1e3 }} {{ 0x10 }} {{ -5 }} {{ 1.5e-7 }} {{ 100000000.0 }} {{ true }} {{ nil | print }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:197: executing "__alert_A" at <nil>: nil is not a command>)tpl", R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:197: executing "__alert_A" at <nil>: nil is not a command>)tpl"},
                {"A", "a22",
                 R"tpl({{ range $labels }}{{ . }},{{ end }}|{{ range $k, $v := $labels }}{{ $k }}={{ $v }},{{ end }})tpl",
                 R"tpl(m,a:9100,node,|__name__=m,instance=a:9100,job=node,)tpl",
                 R"tpl(m,b:9100,node,|__name__=m,instance=b:9100,job=node,)tpl"},
                {"A", "a23",
                 R"tpl({{ index $labels "job" }}|{{ len (query "m") }}|{{ (query "m" | sortByLabel "instance" | first).Labels.instance }})tpl",
                 R"tpl(node|2|a:9100)tpl", R"tpl(node|2|a:9100)tpl"},
                {"A", "a24",
                 R"tpl({{ stripPort "host.example.com:9100" }}|{{ stripDomain "host.example.com:9100" }}|{{ args 1 "x" }})tpl",
                 R"tpl(host.example.com|host:9100|map[arg0:1 arg1:x])tpl",
                 R"tpl(host.example.com|host:9100|map[arg0:1 arg1:x])tpl"},
                {"A", "a25", R"tpl({{ $value.Foo }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:121: executing "__alert_A" at <$value.Foo>: can't evaluate field Foo in type float64>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:121: executing "__alert_A" at <$value.Foo>: can't evaluate field Foo in type float64>)tpl"},
                {"A", "a26", R"tpl({{ eq 1 1.0 }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <eq 1 1.0>: error calling eq: incompatible types for comparison>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <eq 1 1.0>: error calling eq: incompatible types for comparison>)tpl"},
                {"A", "a27",
                 R"tpl({{ 1.5 | printf "%.3f" }}|{{ printf "%08.3f|%-6d|%+d|%6s|%-6s|" 3.14159 42 5 "ab" "cd" }})tpl",
                 R"tpl(1.500|0003.142|42    |+5|    ab|cd    |)tpl",
                 R"tpl(1.500|0003.142|42    |+5|    ab|cd    |)tpl"},
                {"A", "a28",
                 R"tpl({{ humanize "1234567" }}|{{ humanize 0.000012345 }}|{{ humanize -1500 }}|{{ humanize1024 1023 }}|{{ humanize1024 1048577 }}|{{ humanizeDuration 0.5 }}|{{ humanizeDuration -0.5 }})tpl",
                 R"tpl(1.235M|12.35u|-1.5k|1023|1Mi|500ms|-500ms)tpl",
                 R"tpl(1.235M|12.35u|-1.5k|1023|1Mi|500ms|-500ms)tpl"},
                {"A", "a29",
                 R"tpl({{ printf "%v %v %v %v %v" 1e21 1e20 123456789.0 0.00001 -0.0 }})tpl",
                 R"tpl(1e+21 1e+20 1.23456789e+08 1e-05 -0)tpl",
                 R"tpl(1e+21 1e+20 1.23456789e+08 1e-05 -0)tpl"},
                {"A", "a30", R"tpl({{ query "bad(" }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <query "bad(">: error calling query: 1:5: parse error: unclosed left parenthesis>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_A: template: __alert_A:1:115: executing "__alert_A" at <query "bad(">: error calling query: 1:5: parse error: unclosed left parenthesis>)tpl"},
                {"B", "b01", R"tpl({{ title "don't stop me.now 3am x:y foo_bar o'neil" }})tpl",
                 R"tpl(Don'T Stop Me.Now 3am X:Y Foo_bar O'Neil)tpl",
                 R"tpl(Don'T Stop Me.Now 3am X:Y Foo_bar O'Neil)tpl"},
                {"B", "b02",
                 R"tpl({{ if eq $labels.instance "a:9100" }}A{{ else if eq $labels.instance "b:9100" }}B{{ else }}C{{ end }})tpl",
                 R"tpl(A)tpl", R"tpl(B)tpl"},
                {"B", "b03",
                 R"tpl({{ range $i, $x := query "nothing" }}{{ $i }}{{ else }}empty{{ end }}|{{ range query "m" }}{{ if eq .Labels.instance "b:9100" }}{{ break }}{{ end }}{{ .Labels.instance }}{{ end }}|{{ range $k, $v := $labels }}{{ if eq $k "job" }}{{ continue }}{{ end }}{{ $k }};{{ end }})tpl",
                 R"tpl(empty||__name__;instance;)tpl", R"tpl(empty||__name__;instance;)tpl"},
                {"B", "b04",
                 R"tpl({{ with $labels.job }}job={{ . }}{{ end }}|{{ with $labels.nope }}x{{ else }}none{{ end }}|{{ and 1 "x" }}|{{ or 0 "" nil }}|{{ and 0 .Nope }})tpl",
                 R"tpl(job=node|none|x|<no value>|0)tpl", R"tpl(job=node|none|x|<no value>|0)tpl"},
                {"B", "b05", R"tpl(a  {{- 1 }}  b {{ 2 -}}  
 c {{- /* hi */}} d)tpl",
                 R"tpl(a1  b 2c d)tpl", R"tpl(a1  b 2c d)tpl"},
                {"B", "b06",
                 R"tpl({{ printf "%6.2f|%-8.3e|%+.1f|%x|%X|%o|%b|%c|%5t|%%|%T|%T|%q" 3.14159 1234.5 2.25 "hi" 255 8 5 65 true $value $labels 65 }})tpl",
                 R"tpl(  3.14|1.234e+03|+2.2|6869|FF|10|101|A| true|%|float64|map[string]string|'A')tpl",
                 R"tpl(  3.14|1.234e+03|+2.2|6869|FF|10|101|A| true|%|float64|map[string]string|'A')tpl"},
                {"B", "b07",
                 R"tpl({{ humanize -0.000001234 }}|{{ humanize 999.95 }}|{{ humanize 1e27 }}|{{ humanize 1e-30 }}|{{ humanize1024 -2048 }}|{{ humanizeDuration 86399.999 }}|{{ humanizeDuration 0.000000001234 }}|{{ humanizePercentage 1 }})tpl",
                 R"tpl(-1.234u|1000|1000Y|1e-06y|-2ki|23h 59m 59s|1.234ns|100%)tpl",
                 R"tpl(-1.234u|1000|1000Y|1e-06y|-2ki|23h 59m 59s|1.234ns|100%)tpl"},
                {"B", "b08",
                 R"tpl({{ humanizeTimestamp 1.5 }}|{{ humanizeTimestamp -1.5 }}|{{ humanizeTimestamp 1700000000.123456 }}|{{ (toTime 1435065584.128).Format "2006-01-02T15:04:05.000Z07:00 Mon Jan _2 3PM" }})tpl", R"tpl(1970-01-01 00:00:01.5 +0000 UTC|1969-12-31 23:59:58.5 +0000 UTC|2023-11-14 22:13:20.123 +0000 UTC|2015-06-23T13:19:44.128Z Tue Jun 23 1PM)tpl", R"tpl(1970-01-01 00:00:01.5 +0000 UTC|1969-12-31 23:59:58.5 +0000 UTC|2023-11-14 22:13:20.123 +0000 UTC|2015-06-23T13:19:44.128Z Tue Jun 23 1PM)tpl"},
                {"B", "b09",
                 R"tpl({{ stripDomain "[2001:db8::1]:80" }}|{{ stripDomain "foo.bar" }}|{{ stripPort "[::1]" }}|{{ stripPort "a:b:c" }}|{{ stripDomain "host.example.com:" }})tpl",
                 R"tpl([2001:db8::1]:80|foo|[::1]|a:b:c|host)tpl",
                 R"tpl([2001:db8::1]:80|foo|[::1]|a:b:c|host)tpl"},
                {"B", "b10",
                 R"tpl({{ reReplaceAll "a*" "-" "baaac" }}|{{ reReplaceAll "(?P<first>\\w+) (?P<last>\\w+)" "$last, ${first}" "john smith" }}|{{ reReplaceAll "x" "$$" "axb" }}|{{ reReplaceAll "(" "" "a" }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:268: executing "__alert_B" at <reReplaceAll "(" "" "a">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:268: executing "__alert_B" at <reReplaceAll "(" "" "a">: error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`>)tpl"},
                {"B", "b11",
                 R"tpl({{ index (query "m") 1 | label "instance" }}|{{ len (query "m") }}|{{ (index (query "m") 0).Value }}|{{ query "m" | first | strvalue }}|{{ (query "m" | first).Labels }})tpl",
                 R"tpl(a:9100|2|1.234567e+06||map[__name__:m instance:b:9100 job:node])tpl",
                 R"tpl(a:9100|2|1.234567e+06||map[__name__:m instance:b:9100 job:node])tpl"},
                {"B", "b12", R"tpl({{ $ }}|{{ $.Value }}|{{ $.Labels.job }}|{{ .ExternalURL }})tpl",
                 R"tpl({map[__name__:m instance:a:9100 job:node] map[env:prod]  5}|5|node|)tpl",
                 R"tpl({map[__name__:m instance:b:9100 job:node] map[env:prod]  1.234567e+06}|1.234567e+06|node|)tpl"},
                {"B", "b13",
                 R"tpl({{ eq "a" "b" "c" "a" }} {{ ne "a" "b" }} {{ lt "a" "b" }} {{ le 2 2 }} {{ gt 1.5 1.0 }} {{ ge 1 2 }} {{ eq $value 5.0 }} {{ not "" }} {{ eq nil nil }})tpl",
                 R"tpl(true true true true true false true true true)tpl",
                 R"tpl(true true true true true false false true true)tpl"},
                {"B", "b14",
                 R"tpl({{ printf "%s %v" (args 1 2.5 "x" true) (args) }}|{{ (args 1 "x").arg1 }}|{{ (args 1).arg9 }})tpl",
                 R"tpl(map[arg0:%!s(int=1) arg1:%!s(float64=2.5) arg2:x arg3:%!s(bool=true)] map[]|x|<no value>)tpl",
                 R"tpl(map[arg0:%!s(int=1) arg1:%!s(float64=2.5) arg2:x arg3:%!s(bool=true)] map[]|x|<no value>)tpl"},
                {"B", "b15",
                 R"tpl({{ print "a" 1 2 "b" }}|{{ print }}|{{ println }}|{{ printf "%5s|%-5s|%.2s|%05d|%x" "ab" "cd" "xyz" -42 -255 }})tpl",
                 R"tpl(a1 2b||
|   ab|cd   |xy|-0042|-ff)tpl",
                 R"tpl(a1 2b||
|   ab|cd   |xy|-0042|-ff)tpl"},
                {"B", "b16",
                 R"tpl({{ 1 | printf "%d %d" 2 }}|{{ "x" | printf "%s-%s" "y" }}|{{ parseDuration "1y2w3d4h5m6s7ms" }}|{{ parseDuration "0" }}|{{ parseDuration "5x" }})tpl", R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:235: executing "__alert_B" at <parseDuration "5x">: error calling parseDuration: not a valid duration string: "5x">)tpl", R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:235: executing "__alert_B" at <parseDuration "5x">: error calling parseDuration: not a valid duration string: "5x">)tpl"},
                {"B", "b17",
                 R"tpl({{ len "héllo" }}|{{ toUpper "héllo" }}|{{ printf "%q" "tab\there\u00e9\x01" }}|{{ "\u00e9\x41\101" }}|{{ `raw\n` }}|{{ 'a' }})tpl",
                 R"tpl(6|HÉLLO|"tab\thereé\x01"|éAA|raw\n|97)tpl",
                 R"tpl(6|HÉLLO|"tab\thereé\x01"|éAA|raw\n|97)tpl"},
                {"B", "b18",
                 R"tpl({{ printf "%v|%v|%v|%v|%v|%v" 0.1 100000.0 1000000.0 0.0001 0.00001 123456789012345678.0 }}|{{ printf "%.3g|%g|%e|%.0f|%8.3f|%-8.2f|%08.2f|% d|%+d" 1234567.0 1e-7 0.0 2.5 -3.14159 1.5 -1.5 5 -5 }})tpl",
                 R"tpl(0.1|100000|1e+06|0.0001|1e-05|1.2345678901234568e+17|1.23e+06|1e-07|0.000000e+00|2|  -3.142|1.50    |-0001.50| 5|-5)tpl",
                 R"tpl(0.1|100000|1e+06|0.0001|1e-05|1.2345678901234568e+17|1.23e+06|1e-07|0.000000e+00|2|  -3.142|1.50    |-0001.50| 5|-5)tpl"},
                {"B", "b19",
                 R"tpl({{ printf "%d" 1.5 }}|{{ printf "%v %v" nil 1 }}|{{ printf "%d %s" }}|{{ printf "%!" }}|{{ printf "%z" 3 }}|{{ printf "%" }}|{{ printf "%s" 1 2 "x" }})tpl",
                 R"tpl(%!d(float64=1.5)|<nil> 1|%!d(MISSING) %!s(MISSING)|%!!(MISSING)|%!z(int=3)|%!(NOVERB)|%!s(int=1)%!(EXTRA int=2, string=x))tpl",
                 R"tpl(%!d(float64=1.5)|<nil> 1|%!d(MISSING) %!s(MISSING)|%!!(MISSING)|%!z(int=3)|%!(NOVERB)|%!s(int=1)%!(EXTRA int=2, string=x))tpl"},
                {"B", "b20",
                 R"tpl({{ graphLink "rate(x[5m]) > 1" }}|{{ tableLink "a b&c" }}|{{ urlquery "a b&c/d" }}|{{ safeHtml "<b>" }}|{{ match "^b" $labels.instance }})tpl",
                 R"tpl(/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=0|/graph?g0.expr=a+b%26c&g0.tab=1|a+b%26c%2Fd|<b>|false)tpl",
                 R"tpl(/graph?g0.expr=rate%28x%5B5m%5D%29+%3E+1&g0.tab=0|/graph?g0.expr=a+b%26c&g0.tab=1|a+b%26c%2Fd|<b>|true)tpl"},
                {"B", "b21", R"tpl({{ humanize $labels }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <humanize $labels>: error calling humanize: can't convert map[string]string to float>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <humanize $labels>: error calling humanize: can't convert map[string]string to float>)tpl"},
                {"B", "b22", R"tpl({{ toUpper $value }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:123: executing "__alert_B" at <$value>: wrong type for value; expected string; got float64>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:123: executing "__alert_B" at <$value>: wrong type for value; expected string; got float64>)tpl"},
                {"B", "b23", R"tpl({{ $labels.job.foo }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:122: executing "__alert_B" at <$labels.job.foo>: can't evaluate field foo in type string>)tpl", R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:122: executing "__alert_B" at <$labels.job.foo>: can't evaluate field foo in type string>)tpl"},
                {"B", "b24", R"tpl({{ first (query "nothing") }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <first (query "nothing")>: error calling first: first() called on vector with no elements>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <first (query "nothing")>: error calling first: first() called on vector with no elements>)tpl"},
                {"B", "b25", R"tpl({{ len 3 }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <len 3>: error calling len: len of type int>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <len 3>: error calling len: len of type int>)tpl"},
                {"B", "b26", R"tpl({{ index $labels 1 }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <index $labels 1>: error calling index: value has type int; should be string>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <index $labels 1>: error calling index: value has type int; should be string>)tpl"},
                {"B", "b27", R"tpl({{ range 5 }}x{{ end }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:121: executing "__alert_B" at <5>: range can't iterate over 5>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:121: executing "__alert_B" at <5>: range can't iterate over 5>)tpl"},
                {"B", "b28", R"tpl({{ toUpper "a" "b" }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <toUpper>: wrong number of args for toUpper: want 1 got 2>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <toUpper>: wrong number of args for toUpper: want 1 got 2>)tpl"},
                {"B", "b29", R"tpl({{ $labels | toUpper }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:125: executing "__alert_B" at <toUpper>: wrong type for value; expected string; got map[string]string>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:125: executing "__alert_B" at <toUpper>: wrong type for value; expected string; got map[string]string>)tpl"},
                {"B", "b30", R"tpl({{ parseDuration "5x" }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <parseDuration "5x">: error calling parseDuration: not a valid duration string: "5x">)tpl", R"tpl(<error expanding template: error executing template __alert_B: template: __alert_B:1:115: executing "__alert_B" at <parseDuration "5x">: error calling parseDuration: not a valid duration string: "5x">)tpl"},
                {"C", "c01", R"tpl({{ humanizeTimestamp -9223372036854775807 }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_C: template: __alert_C:1:115: executing "__alert_C" at <humanizeTimestamp -9223372036854775807>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_C: template: __alert_C:1:115: executing "__alert_C" at <humanizeTimestamp -9223372036854775807>: error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64>)tpl"},
                {"C", "c02", R"tpl({{ $x = 1 }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_C: template: __alert_C:1:120: executing "__alert_C" at <1>: undefined variable: $x>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_C: template: __alert_C:1:120: executing "__alert_C" at <1>: undefined variable: $x>)tpl"},
                {"C", "c03",
                 R"tpl({{ range $i, $e := $labels }}{{ $i }}{{ end }}|{{ range $labels }}{{ $ | printf "%T" }}{{ break }}{{ end }})tpl",
                 R"tpl(__name__instancejob|struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 })tpl",
                 R"tpl(__name__instancejob|struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL string; Value float64 })tpl"},
                {"C", "c04",
                 R"tpl({{ with $x := $labels.job }}{{ $x }}{{ . }}{{ end }}|{{ if and (eq $labels.job "node") (gt $value 1.0) }}both{{ end }})tpl",
                 R"tpl(nodenode|both)tpl", R"tpl(nodenode|both)tpl"},
                {"C", "c05",
                 R"tpl({{ humanize 0.001 }}|{{ humanize 999999 }}|{{ humanize1024 1024 }}|{{ humanize1024 0.5 }}|{{ humanizeDuration 59.9999 }}|{{ humanizeDuration 3599.5 }}|{{ humanizePercentage 0.000012345 }})tpl",
                 R"tpl(1m|1000k|1ki|0.5|60s|59m 59s|0.001234%)tpl",
                 R"tpl(1m|1000k|1ki|0.5|60s|59m 59s|0.001234%)tpl"},
                {"C", "c06",
                 R"tpl({{ printf "%v" (query "m" | first) }}|{{ printf "%s" $labels }}|{{ printf "%d" $labels }})tpl",
                 R"tpl(&{map[__name__:m instance:b:9100 job:node] 1.234567e+06}|map[__name__:m instance:a:9100 job:node]|map[%!d(string=__name__):%!d(string=m) %!d(string=instance):%!d(string=a:9100) %!d(string=job):%!d(string=node)])tpl",
                 R"tpl(&{map[__name__:m instance:b:9100 job:node] 1.234567e+06}|map[__name__:m instance:b:9100 job:node]|map[%!d(string=__name__):%!d(string=m) %!d(string=instance):%!d(string=b:9100) %!d(string=job):%!d(string=node)])tpl"},
                {"C", "c07", R"tpl({{ toTime "x" }})tpl",
                 R"tpl(<error expanding template: error executing template __alert_C: template: __alert_C:1:115: executing "__alert_C" at <toTime "x">: error calling toTime: strconv.ParseFloat: parsing "x": invalid syntax>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_C: template: __alert_C:1:115: executing "__alert_C" at <toTime "x">: error calling toTime: strconv.ParseFloat: parsing "x": invalid syntax>)tpl"},
                {"C", "c08",
                 R"tpl({{ (toTime 1.5).Unix }}|{{ toTime 0 }}|{{ printf "%T" (toTime 1) }})tpl",
                 R"tpl(1|1970-01-01 00:00:00 +0000 UTC|*time.Time)tpl",
                 R"tpl(1|1970-01-01 00:00:00 +0000 UTC|*time.Time)tpl"},
                {"C", "c09",
                 R"tpl({{- "  a  " -}}|{{ print 1.0 2 }}|{{ 010 }} {{ 0x1F }} {{ 1_000 }} {{ 0b11 }} {{ +3 }} {{ .5 }} {{ 1e2 }} {{ 0x1p4 }})tpl",
                 R"tpl(  a  |1 2|8 31 1000 3 3 0.5 100 16)tpl",
                 R"tpl(  a  |1 2|8 31 1000 3 3 0.5 100 16)tpl"},
                {"C", "c10",
                 R"tpl({{ eq $labels "x" }})tpl", R"tpl(<error expanding template: error executing template __alert_C: template: __alert_C:1:115: executing "__alert_C" at <eq $labels "x">: error calling eq: incompatible types for comparison>)tpl",
                 R"tpl(<error expanding template: error executing template __alert_C: template: __alert_C:1:115: executing "__alert_C" at <eq $labels "x">: error calling eq: incompatible types for comparison>)tpl"},
};

TEST(TemplatePromtool, MatchesPromtoolOutput) {
  for (const PromtoolCase& c : kPromtoolCases) {
    absl::StatusOr<Template> t = Template::ParseAlert(c.rule, c.text);
    ASSERT_TRUE(t.ok()) << c.key << ": " << t.status();
    const bool b_first = std::string(c.rule) != "A";
    QueryFunc query = [b_first](std::string_view q) { return PromtoolQueryOrdered(q, b_first); };
    EXPECT_EQ(t->Expand(PromtoolData(false), query), c.want_a) << c.key << ": " << c.text;
    EXPECT_EQ(t->Expand(PromtoolData(true), query), c.want_b) << c.key << ": " << c.text;
  }
}

// The summary table of /work/shared/reference/prometheus-semantics.md (verified with promtool).
TEST(TemplatePromtool, ValueAndHumanizeTable) {
  struct Row {
    double v;
    const char* value;
    const char* humanize;
    const char* duration;
    const char* percent;
  };
  const Row rows[] = {
      {31999995000, "3.1999995e+10", "32G", nullptr, nullptr},
      {1234567, "1.234567e+06", "1.235M", nullptr, nullptr},
      {100000, "100000", "100k", nullptr, nullptr},
      {123456.7, "123456.7", "123.5k", "1d 10h 17m 36s", nullptr},
      {1.0 / 3, "0.3333333333333333", "333.3m", "333.3ms", "33.33%"},
      {1.234e-05, "1.234e-05", "12.34u", "12.34us", nullptr},
      {0.1234, nullptr, nullptr, nullptr, "12.34%"},
      {3725, nullptr, nullptr, "1h 2m 5s", nullptr},
  };
  absl::StatusOr<Template> t = Template::ParseAlert(
      "X",
      "{{$value}}|{{humanize $value}}|{{humanizeDuration $value}}|{{humanizePercentage $value}}");
  ASSERT_TRUE(t.ok()) << t.status();
  for (const Row& r : rows) {
    TemplateData d;
    d.value = r.v;
    std::vector<std::string> parts = absl::StrSplit(t->Expand(d, nullptr), '|');
    ASSERT_EQ(parts.size(), 4u);
    const char* want[4] = {r.value, r.humanize, r.duration, r.percent};
    for (int k = 0; k < 4; ++k) {
      if (want[k] != nullptr) {
        EXPECT_EQ(parts[k], want[k]) << r.v << " column " << k;
      }
    }
  }
}

// Parse errors as `promtool check rules` reports them for an annotation of alert "P".
TEST(TemplatePromtool, ParseErrors) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"{{ foo }}", R"e(template: __alert_P:1: function "foo" not defined)e"},
      {"{{ $x }}", R"e(template: __alert_P:1: undefined variable "$x")e"},
      {"{{ end }}", "template: __alert_P:1: unexpected {{end}}"},
      {"{{ if 1 }}", "template: __alert_P:1: unexpected EOF"},
      {"{{", "template: __alert_P:1: unclosed action"},
      {"{{ 1 | 2 }}", "template: __alert_P:1: non executable command in pipeline stage 2"},
      {"{{ else }}", "template: __alert_P:1: unexpected {{else}}"},
      {"{{ range $i, $x, $y := 1 }}{{end}}",
       "template: __alert_P:1: too many declarations in range"},
      {"{{ .a.b. }}", "template: __alert_P:1: unexpected <.> in operand"},
      {"{{ \"abc }}", "template: __alert_P:1: unterminated quoted string"},
      {"{{ ( 1 }}", "template: __alert_P:1: unclosed left paren"},
      {"{{ 1 ) }}", R"e(template: __alert_P:1: unexpected ")" in command)e"},
      {"{{ | }}", R"e(template: __alert_P:1: unexpected "|" in command)e"},
      {"{{ }}", "template: __alert_P:1: missing value for command"},
      {"{{ 3x }}", R"e(template: __alert_P:1: bad number syntax: "3x")e"},
      {"{{ break }}", "template: __alert_P:1: {{break}} outside {{range}}"},
      {"{{ 'ab' }}", "template: __alert_P:1: malformed character constant: 'ab'"},
      {"{{ nil.x }}", R"e(template: __alert_P:1: unexpected . after term "nil")e"},
      {"{{/* x */ 1 }}", "template: __alert_P:1: comment ends before closing delimiter"},
      {"{{ @ }}", R"e(template: __alert_P:1: unexpected "@" in command)e"},
      {"{{ if 1 }}{{ else }}{{ else }}{{ end }}",
       "template: __alert_P:1: expected end; found {{else}}"},
      {"x\n{{ if 1 }}\ny", "template: __alert_P:3: unexpected EOF"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Template> t = Template::ParseAlert("P", c.text);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(t.status().message()), c.error) << c.text;
  }
  // These parse in Go too.
  EXPECT_TRUE(Template::ParseAlert("P", R"e({{ "a" .x }})e").ok());
}

// --- Prometheus's template_test.go ----------------------------------------------------------

struct GoCase {
  const char* text;
  const char* output;  // expected expansion, or the full error text when fail is set
  bool fail = false;
  std::vector<QuerySample> query = {};
};

std::string ExpandGo(const GoCase& c) {
  Template t("test");
  absl::Status st = t.Parse(c.text);
  if (!st.ok()) return "<parse: " + std::string(st.message()) + ">";
  TemplateData d;
  d.external_url = "http://testhost:9090/path/prefix";
  std::vector<QuerySample> q = c.query;
  return t.Expand(d, [q](std::string_view) { return q; });
}

TEST(TemplateGoTable, Expansion) {
  const QuerySample a11{{{"__name__", "metric"}, {"instance", "a"}}, 11};
  const QuerySample b21{{{"__name__", "metric"}, {"instance", "b"}}, 21};
  const GoCase cases[] = {
      {"plain text", "plain text"},
      {"{{ 1 }}", "1"},
      {"{{ \"<b>\" }}", "<b>"},
      {"{{ query \"1.5\" | first | value }}", "1.5", false, {{{}, 1.5}}},
      {"{{ query \"metric{instance='a'}\" | first | value }}", "11", false, {a11}},
      {"{{ query \"metric{instance='a'}\" | first | label \"instance\" }}", "a", false, {a11}},
      {"{{ query \"metric{__value__='a'}\" | first | strvalue }}",
       "a",
       false,
       {{{{"__name__", "metric"}, {"__value__", "a"}}, 11}}},
      {"{{ query \"metric{instance='a'}\" | first | label \"foo\" }}", "", false, {a11}},
      {"{{ $x := query \"metric\" | first }}{{ $x.Labels.foo }}", "", false, {a11}},
      {"{{ range query \"metric\" | sortByLabel \"instance\" }}{{.Labels.instance}}:{{.Value}}: "
       "{{end}}",
       "a:11: b:21: ",
       false,
       {b21, a11}},
      {"{{ \"foo.example.com\" | stripPort }}", "foo.example.com"},
      {"{{ \"foo.example.com:12345\" | stripPort }}", "foo.example.com"},
      {"{{ \"192.0.2.1\" | stripPort }}", "192.0.2.1"},
      {"{{ \"192.0.2.1:12345\" | stripPort }}", "192.0.2.1"},
      {"{{ \"2001:0DB8::1\" | stripPort }}", "2001:0DB8::1"},
      {"{{ \"[2001:0DB8::1]:12345\" | stripPort }}", "2001:0DB8::1"},
      {"{{ \"[2001:0DB8::1]::12345\" | stripPort }}", "[2001:0DB8::1]::12345"},
      {"{{ query \"missing\" | first }}",
       "<error expanding template: error executing template test: template: test:1:21: executing "
       "\"test\" at <first>: error calling first: first() called on vector with no elements>",
       true},
      {"{{ (query \"missing\").banana }}",
       "<error expanding template: error executing template test: template: test:1:10: executing "
       "\"test\" at <\"missing\">: can't evaluate field banana in type template.queryResult>",
       true},
      {"{{ reReplaceAll \"(a)b\" \"x$1\" \"ab\" }}", "xa"},
      // Humanize: float64, string and int inputs.
      {"{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}",
       "0:1:1.235M:120m"},
      {"{{ humanize \"0.0\" }}:{{ humanize \"1.0\" }}:{{ humanize \"1234567.0\" }}:{{ humanize "
       "\".12\" }}",
       "0:1:1.235M:120m"},
      {"{{ humanize \"one\" }}",
       "<error expanding template: error executing template test: template: test:1:3: executing "
       "\"test\" at <humanize \"one\">: error calling humanize: strconv.ParseFloat: parsing "
       "\"one\": invalid syntax>",
       true},
      {"{{ humanize 0 }}:{{ humanize -1 }}:{{ humanize 1 }}:{{ humanize 1234567 }}:{{ humanize "
       "9223372036854775807 }}",
       "0:-1:1:1.235M:9.223E"},
      {"{{ humanize1024 0.0 }}:{{ humanize1024 1.0 }}:{{ humanize1024 1048576.0 }}:{{ "
       "humanize1024 .12 }}",
       "0:1:1Mi:0.12"},
      {"{{ humanize1024 \"1048576.0\" }}:{{ humanize1024 \".12\" }}", "1Mi:0.12"},
      {"{{ humanize1024 -1 }}:{{ humanize1024 1234567 }}:{{ humanize1024 9223372036854775807 }}",
       "-1:1.177Mi:8Ei"},
      {"{{ humanizeDuration 0 }}:{{ humanizeDuration 1 }}:{{ humanizeDuration 60 }}:{{ "
       "humanizeDuration 3600 }}:{{ humanizeDuration 86400 }}:{{ humanizeDuration 90000 }}:{{ "
       "humanizeDuration -183845 }}:{{ humanizeDuration 899.99 }}",
       "0s:1s:1m 0s:1h 0m 0s:1d 0h 0m 0s:1d 1h 0m 0s:-2d 3h 4m 5s:14m 59s"},
      {"{{ humanizeDuration .1 }}:{{ humanizeDuration .0001 }}:{{ humanizeDuration .12345 }}:{{ "
       "humanizeDuration 60.1 }}:{{ humanizeDuration 60.5 }}:{{ humanizeDuration 1.2345 }}:{{ "
       "humanizeDuration 12.345 }}",
       "100ms:100us:123.5ms:1m 0s:1m 0s:1.234s:12.35s"},
      {"{{ humanizeDuration \".12345\" }}:{{ humanizeDuration \"86400\" }}", "123.5ms:1d 0h 0m 0s"},
      {"{{ humanizeDuration -1 }}:{{ humanizeDuration 1234567 }}", "-1s:14d 6h 56m 7s"},
      {"{{ range $x := args \"+Inf\" \"-Inf\" \"NaN\" }}{{ humanize $x }}:{{ humanize1024 $x }}:{{ "
       "humanizeDuration $x }}:{{humanizeTimestamp $x}}:{{ end }}",
       "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"},
      {"{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | "
       "humanizePercentage }}:{{ 1.23456 | humanizePercentage }}",
       "-22.22%:0%:12.35%:123.5%"},
      {"{{ humanizePercentage 0 }}:{{ humanizePercentage -1 }}:{{ humanizePercentage 1234567 "
       "}}:{{ humanizePercentage 9223372036854775807 }}",
       "0%:-100%:1.235e+08%:9.223e+20%"},
      {"{{ \"one\" | humanizePercentage }}",
       "<error expanding template: error executing template test: template: test:1:11: executing "
       "\"test\" at <humanizePercentage>: error calling humanizePercentage: strconv.ParseFloat: "
       "parsing \"one\": invalid syntax>",
       true},
      {"{{ humanizeTimestamp 0 }}:{{ humanizeTimestamp -1 }}:{{ humanizeTimestamp 1234567 }}:{{ "
       "humanizeTimestamp 9223372036 }}",
       "1970-01-01 00:00:00 +0000 UTC:1969-12-31 23:59:59 +0000 UTC:1970-01-15 06:56:07 +0000 "
       "UTC:2262-04-11 23:47:16 +0000 UTC"},
      {"{{ 1435065584.128 | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC"},
      {"{{ \"1435065584.128\" | humanizeTimestamp }}", "2015-06-23 13:19:44.128 +0000 UTC"},
      {"{{ (1435065584.128 | toTime).Format \"2006\" }}", "2015"},
      {"{{ (\"1435065584.128\" | toTime).Format \"2006\" }}", "2015"},
      {"{{ \"aa bb CC\" | title }}", "Aa Bb CC"},
      {"{{ \"aa bb CC\" | toUpper }}", "AA BB CC"},
      {"{{ \"aA bB CC\" | toLower }}", "aa bb cc"},
      {"{{ match \"a+\" \"aa\" }} {{ match \"a+\" \"b\" }}", "true false"},
      {"{{ graphLink \"up\" }}", "/graph?g0.expr=up&g0.tab=0"},
      {"{{ tableLink \"up\" }}", "/graph?g0.expr=up&g0.tab=1"},
      {"{{ pathPrefix }}", "/path/prefix"},
      {"{{ externalURL }}", "http://testhost:9090/path/prefix"},
      {"{{ printf \"%0.2f\" (parseDuration \"1h2m10ms\") }}", "3720.01"},
      {"{{ \"foo.example.com\" | stripDomain }}", "foo"},
      {"{{ \"foo.example.com:12345\" | stripDomain }}", "foo:12345"},
      {"{{ \"192.0.2.1\" | stripDomain }}", "192.0.2.1"},
      {"{{ \"192.0.2.1:12345\" | stripDomain }}", "192.0.2.1:12345"},
      {"{{ \"2001:0DB8::1\" | stripDomain }}", "2001:0DB8::1"},
      {"{{ \"[2001:0DB8::1]:12345\" | stripDomain }}", "[2001:0DB8::1]:12345"},
      {"{{ \"[2001:0DB8::1]::12345\" | stripDomain }}", "[2001:0DB8::1]::12345"},
  };
  for (const GoCase& c : cases) {
    EXPECT_EQ(ExpandGo(c), c.output) << c.text;
  }
}

TEST(TemplateGoTable, ParseErrors) {
  Template t("test");
  EXPECT_EQ(std::string(t.Parse("{{").message()), "template: test:1: unclosed action");
  EXPECT_EQ(std::string(t.Parse("{{\xc2\xa0}}").message()),
            "template: test:1: unrecognized character in action: U+00A0");
}

// --- API contract and robustness ------------------------------------------------------------

TEST(Template, ExecuteBeforeParseFails) {
  Template t("x");
  EXPECT_EQ(t.Execute(TemplateData{}, nullptr).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(t.Parse("{{ end }}").ok());
  EXPECT_FALSE(t.Execute(TemplateData{}, nullptr).ok());  // a failed Parse leaves it empty
}

TEST(Template, ParsedOnceExecutedManyTimes) {
  absl::StatusOr<Template> t = Template::ParseAlert("X", "{{ $labels.i }}={{ $value }}");
  ASSERT_TRUE(t.ok());
  for (int i = 0; i < 3; ++i) {
    TemplateData d;
    d.labels = {{"i", std::to_string(i)}};
    d.value = i * 0.5;
    EXPECT_EQ(*t->Execute(d, nullptr), std::to_string(i) + "=" +
                                           (i == 0   ? "0"
                                            : i == 1 ? "0.5"
                                                     : "1"));
  }
}

TEST(Template, QueryWithoutCallbackIsAnError) {
  absl::StatusOr<Template> t = Template::ParseAlert("X", "{{ query \"up\" }}");
  ASSERT_TRUE(t.ok());
  EXPECT_THAT(t->Expand(TemplateData{}, nullptr), HasSubstr("error calling query"));
}

TEST(Template, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  Template t("d");
  EXPECT_FALSE(t.Parse(deep).ok());
  std::string ifs;
  for (int i = 0; i < 5000; ++i) ifs += "{{ if 1 }}";
  for (int i = 0; i < 5000; ++i) ifs += "{{ end }}";
  EXPECT_FALSE(t.Parse(ifs).ok());
  std::string ok = "{{ " + std::string(50, '(') + "1" + std::string(50, ')') + " }}";
  ASSERT_TRUE(t.Parse(ok).ok());
  EXPECT_EQ(*t.Execute(TemplateData{}, nullptr), "1");
}

TEST(Template, GarbageNeverCrashes) {
  const std::string alphabet = "{}()$.|:=\"`'-/* \nab1eif rangewithend";
  uint32_t seed = 12345;
  for (int n = 0; n < 3000; ++n) {
    std::string s;
    int len = static_cast<int>(seed % 40);
    for (int k = 0; k < len; ++k) {
      seed = seed * 1103515245 + 12345;
      s.push_back(alphabet[(seed >> 16) % alphabet.size()]);
    }
    seed = seed * 1103515245 + 12345;
    Template t("g");
    if (t.Parse(s).ok()) (void)t.Expand(TemplateData{}, PromtoolQuery);
  }
}

}  // namespace
}  // namespace stakewatch::tmpl
