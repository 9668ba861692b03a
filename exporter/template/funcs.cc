// Prometheus 2.42's template functions (template/template.go), reimplemented over tmpl::Value.
#include "template/funcs.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "common/strings.h"
#include "re2/re2.h"

namespace stakewatch::tmpl::internal {
namespace {

using Args = std::vector<Value>;
using Result = absl::StatusOr<Value>;

absl::Status GoError(std::string msg) { return absl::InvalidArgumentError(std::move(msg)); }

const char kNilDeref[] = "runtime error: invalid memory address or nil pointer dereference";

// template.go convertToFloat: float64, string (strconv.ParseFloat) and Go integers.
absl::StatusOr<double> ConvertToFloat(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kFloat:
      return v.f;
    case Value::Kind::kInt:
      return static_cast<double>(v.i);
    case Value::Kind::kString:
      return GoParseFloat(v.s);
    default:
      return GoError(absl::StrCat("can't convert ", GoTypeName(v), " to float"));
  }
}

std::string Sprintf4g(double v, std::string_view suffix = "") {
  return absl::StrCat(FormatFloat(v, 'g', 4), ToAbsl(suffix));
}

Result Humanize(const Args& a, const CallContext&) {
  absl::StatusOr<double> f = ConvertToFloat(a[0]);
  if (!f.ok()) return f.status();
  double v = *f;
  if (v == 0 || std::isnan(v) || std::isinf(v)) return Value::String(Sprintf4g(v));
  if (std::fabs(v) >= 1) {
    std::string prefix;
    for (const char* p : {"k", "M", "G", "T", "P", "E", "Z", "Y"}) {
      if (std::fabs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
    return Value::String(Sprintf4g(v, prefix));
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Value::String(Sprintf4g(v, prefix));
}

Result Humanize1024(const Args& a, const CallContext&) {
  absl::StatusOr<double> f = ConvertToFloat(a[0]);
  if (!f.ok()) return f.status();
  double v = *f;
  if (std::fabs(v) <= 1 || std::isnan(v) || std::isinf(v)) return Value::String(Sprintf4g(v));
  std::string prefix;
  for (const char* p : {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"}) {
    if (std::fabs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return Value::String(Sprintf4g(v, prefix));
}

// Go's int64(f) for a float already known to be within range of int64 after truncation.
int64_t TruncToInt64(double v) {
  if (v >= 9.223372036854775807e18 || v < -9.223372036854775807e18 || std::isnan(v)) {
    return std::numeric_limits<int64_t>::min();  // what amd64's CVTTSD2SQ yields
  }
  return static_cast<int64_t>(v);
}

Result HumanizeDuration(const Args& a, const CallContext&) {
  absl::StatusOr<double> f = ConvertToFloat(a[0]);
  if (!f.ok()) return f.status();
  double v = *f;
  if (std::isnan(v) || std::isinf(v)) return Value::String(Sprintf4g(v));
  if (v == 0) return Value::String(Sprintf4g(v, "s"));
  if (std::fabs(v) >= 1) {
    std::string sign;
    if (v < 0) {
      sign = "-";
      v = -v;
    }
    int64_t d = TruncToInt64(v);
    int64_t seconds = d % 60, minutes = (d / 60) % 60, hours = (d / 60 / 60) % 24,
            days = d / 60 / 60 / 24;
    if (days != 0) {
      return Value::String(
          absl::StrCat(sign, days, "d ", hours, "h ", minutes, "m ", seconds, "s"));
    }
    if (hours != 0)
      return Value::String(absl::StrCat(sign, hours, "h ", minutes, "m ", seconds, "s"));
    if (minutes != 0) return Value::String(absl::StrCat(sign, minutes, "m ", seconds, "s"));
    return Value::String(absl::StrCat(sign, Sprintf4g(v, "s")));
  }
  std::string prefix;
  for (const char* p : {"m", "u", "n", "p", "f", "a", "z", "y"}) {
    if (std::fabs(v) >= 1) break;
    prefix = p;
    v *= 1000;
  }
  return Value::String(Sprintf4g(v, prefix + "s"));
}

Result HumanizePercentage(const Args& a, const CallContext&) {
  absl::StatusOr<double> f = ConvertToFloat(a[0]);
  if (!f.ok()) return f.status();
  return Value::String(Sprintf4g(*f * 100, "%"));
}

// template.go floatToTime: seconds -> model.Time (ms, truncated) -> time.Time UTC.
absl::StatusOr<Value> FloatToTime(double v) {
  if (std::isnan(v) || std::isinf(v)) return GoError("value is NaN or Inf");
  double ts = v * 1e9;
  // Go compares against float64(MaxInt64) == 2^63, so exactly 2^63 passes.
  if (ts > 9.223372036854775808e18 || ts < -9.223372036854775808e18) {
    return GoError(absl::StrCat(FormatFloat(v, 'g', -1),
                                " cannot be represented as a nanoseconds timestamp since it "
                                "overflows int64"));
  }
  int64_t ms = TruncToInt64(ts) / 1000000;
  int64_t sec = ms / 1000;
  int64_t nsec = (ms % 1000) * 1000000;
  if (nsec < 0) {
    nsec += 1000000000;
    --sec;
  }
  return Value::Time(sec, nsec);
}

Result HumanizeTimestamp(const Args& a, const CallContext&) {
  absl::StatusOr<double> f = ConvertToFloat(a[0]);
  if (!f.ok()) return f.status();
  if (std::isnan(*f) || std::isinf(*f)) return Value::String(Sprintf4g(*f));
  absl::StatusOr<Value> t = FloatToTime(*f);
  if (!t.ok()) return t.status();
  return Value::String(GoTimeString(t->i, t->nsec));
}

Result ToTime(const Args& a, const CallContext&) {
  absl::StatusOr<double> f = ConvertToFloat(a[0]);
  if (!f.ok()) return f.status();
  return FloatToTime(*f);
}

Result Query(const Args& a, const CallContext& ctx) {
  if (ctx.query == nullptr || !*ctx.query) return GoError("no query function configured");
  absl::StatusOr<std::vector<QuerySample>> r = (*ctx.query)(a[0].s);
  if (!r.ok()) return GoError(std::string(r.status().message()));
  auto list = std::make_shared<SampleList>();
  for (QuerySample& s : *r) list->push_back(std::make_shared<const QuerySample>(std::move(s)));
  return Value::Samples(std::move(list));
}

Result First(const Args& a, const CallContext&) {
  if (a[0].samples == nullptr || a[0].samples->empty()) {
    return GoError("first() called on vector with no elements");
  }
  return Value::Sample(a[0].samples->front());
}

Result Label(const Args& a, const CallContext&) {
  if (a[1].sample == nullptr) return GoError(kNilDeref);
  auto it = a[1].sample->labels.find(a[0].s);
  return Value::String(it == a[1].sample->labels.end() ? "" : it->second);
}

Result SampleValue(const Args& a, const CallContext&) {
  if (a[0].sample == nullptr) return GoError(kNilDeref);
  return Value::Float(a[0].sample->value);
}

Result StrValue(const Args& a, const CallContext&) {
  if (a[0].sample == nullptr) return GoError(kNilDeref);
  auto it = a[0].sample->labels.find("__value__");
  return Value::String(it == a[0].sample->labels.end() ? "" : it->second);
}

Result MakeArgs(const Args& a, const CallContext&) {
  auto m = std::make_shared<ArgsMap>();
  for (size_t k = 0; k < a.size(); ++k) m->emplace_back(absl::StrCat("arg", k), a[k]);
  // Go map printing sorts keys as strings: arg0, arg1, arg10, arg2, ...
  std::sort(m->begin(), m->end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  Value v;
  v.kind = Value::Kind::kArgs;
  v.args = std::move(m);
  return v;
}

std::string GoRegexpQuote(const std::string& s) {
  bool can_backquote = s.find('`') == std::string::npos;
  for (unsigned char c : s) {
    if ((c < ' ' && c != '\t') || c == 0x7f) can_backquote = false;
  }
  return can_backquote ? absl::StrCat("`", s, "`") : GoQuote(s);
}

// Go's regexp/syntax error text for an RE2 compile failure: "error parsing regexp: <code>: `arg`".
std::string RegexpSyntaxError(const RE2& re) {
  const char* code = "invalid or unsupported Perl syntax";
  switch (re.error_code()) {
    case RE2::ErrorMissingParen:
      code = "missing closing )";
      break;
    case RE2::ErrorMissingBracket:
      code = "missing closing ]";
      break;
    case RE2::ErrorBadEscape:
      code = "invalid escape sequence";
      break;
    case RE2::ErrorRepeatArgument:
      code = "missing argument to repetition operator";
      break;
    case RE2::ErrorUnexpectedParen:
      code = "unexpected )";
      break;
    case RE2::ErrorBadCharRange:
      code = "invalid character class range";
      break;
    case RE2::ErrorBadCharClass:
      code = "invalid character class";
      break;
    case RE2::ErrorRepeatSize:
      code = "invalid repeat count";
      break;
    case RE2::ErrorRepeatOp:
      code = "invalid nested repetition operator";
      break;
    case RE2::ErrorBadNamedCapture:
      code = "invalid named capture";
      break;
    case RE2::ErrorTrailingBackslash:
      code = "trailing backslash at end of expression";
      break;
    case RE2::ErrorBadUTF8:
      code = "invalid UTF-8";
      break;
    default:
      break;
  }
  return absl::StrCat("error parsing regexp: ", code, ": `", re.error_arg(), "`");
}

std::unique_ptr<RE2> CompileGo(const std::string& pattern) {
  RE2::Options opts;
  opts.set_log_errors(false);
  return std::make_unique<RE2>(pattern, opts);
}

Result Match(const Args& a, const CallContext&) {
  std::unique_ptr<RE2> re = CompileGo(a[0].s);
  if (!re->ok()) return GoError(RegexpSyntaxError(*re));
  return Value::Bool(RE2::PartialMatch(a[1].s, *re));
}

// Go's Regexp.Expand template syntax: $1, ${1}, $name, ${name}, $$.
void ExpandReplacement(std::string_view repl, const RE2& re, const std::vector<re2::StringPiece>& m,
                       std::string* out) {
  const std::map<std::string, int>& named = re.NamedCapturingGroups();
  auto is_name_char = [](char c) { return absl::ascii_isalnum(c) || c == '_'; };
  size_t i = 0;
  while (i < repl.size()) {
    size_t d = repl.find('$', i);
    if (d == std::string_view::npos) {
      out->append(repl.substr(i));
      return;
    }
    out->append(repl.substr(i, d - i));
    i = d + 1;
    if (i < repl.size() && repl[i] == '$') {
      out->push_back('$');
      ++i;
      continue;
    }
    std::string name;
    size_t after = i;
    if (i < repl.size() && repl[i] == '{') {
      size_t e = i + 1;
      while (e < repl.size() && is_name_char(repl[e])) ++e;
      if (e < repl.size() && repl[e] == '}' && e > i + 1) {
        name = std::string(repl.substr(i + 1, e - i - 1));
        after = e + 1;
      }
    } else {
      size_t e = i;
      while (e < repl.size() && is_name_char(repl[e])) ++e;
      if (e > i) {
        name = std::string(repl.substr(i, e - i));
        after = e;
      }
    }
    if (name.empty()) {  // malformed: Go emits the '$' literally
      out->push_back('$');
      continue;
    }
    i = after;
    int group = -1;
    bool numeric = std::all_of(name.begin(), name.end(), absl::ascii_isdigit);
    if (numeric) {
      if (name.size() < 10) group = std::atoi(name.c_str());
    } else {
      auto it = named.find(name);
      if (it != named.end()) group = it->second;
    }
    if (group >= 0 && static_cast<size_t>(group) < m.size() && m[group].data() != nullptr) {
      out->append(m[group].data(), m[group].size());
    }
  }
}

Result ReReplaceAll(const Args& a, const CallContext&) {
  const std::string& pattern = a[0].s;
  std::unique_ptr<RE2> re = CompileGo(pattern);
  if (!re->ok()) {
    // regexp.MustCompile panics; Go's template call recovers the panic as this error.
    return GoError(
        absl::StrCat("regexp: Compile(", GoRegexpQuote(pattern), "): ", RegexpSyntaxError(*re)));
  }
  const std::string& src = a[2].s;
  std::vector<re2::StringPiece> m(static_cast<size_t>(re->NumberOfCapturingGroups()) + 1);
  std::string out;
  size_t last_end = 0, search = 0;
  bool have_last = false;
  while (search <= src.size()) {
    if (!re->Match(src, search, src.size(), RE2::UNANCHORED, m.data(),
                   static_cast<int>(m.size()))) {
      break;
    }
    size_t begin = static_cast<size_t>(m[0].data() - src.data());
    size_t end = begin + m[0].size();
    out.append(src, last_end, begin - last_end);
    // Go skips an empty match right after the previous match.
    if (end > last_end || begin == 0 || !have_last) ExpandReplacement(a[1].s, *re, m, &out);
    last_end = end;
    have_last = true;
    size_t width = 1;
    if (search < src.size()) {
      unsigned char c = static_cast<unsigned char>(src[search]);
      width = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    }
    if (search + width > end) {
      search += width;
    } else if (search + 1 > end) {
      ++search;
    } else {
      search = end;
    }
  }
  out.append(src, last_end, std::string::npos);
  return Value::String(std::move(out));
}

// Upper/lower-cases ASCII and the Latin-1 Supplement letters (U+00C0..U+00FE); other runes are
// copied unchanged. With first_only, only the first rune is mapped.
std::string CaseMapUtf8(std::string_view in, bool upper, bool first_only) {
  std::string out;
  out.reserve(in.size());
  bool done = false;
  for (size_t k = 0; k < in.size(); ++k) {
    unsigned char c = static_cast<unsigned char>(in[k]);
    if (done) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (c < 0x80) {
      out.push_back(upper ? absl::ascii_toupper(c) : absl::ascii_tolower(c));
    } else if ((c == 0xc3) && k + 1 < in.size()) {
      // U+00C0..U+00FF are encoded as C3 80..C3 BF.
      unsigned char d = static_cast<unsigned char>(in[k + 1]);
      uint32_t r = 0xc0 + (d & 0x3f);
      if (upper && r >= 0xe0 && r <= 0xfe && r != 0xf7) r -= 0x20;
      if (!upper && r >= 0xc0 && r <= 0xde && r != 0xd7) r += 0x20;
      out.push_back(static_cast<char>(0xc3));
      out.push_back(static_cast<char>(0x80 | (r - 0xc0)));
      ++k;
    } else {
      out.push_back(static_cast<char>(c));
      while (k + 1 < in.size() && (static_cast<unsigned char>(in[k + 1]) & 0xc0) == 0x80) {
        out.push_back(in[++k]);
      }
    }
    done = first_only;
  }
  return out;
}

// strings.Title: upper-case each letter that follows a separator (Go 1.19 isSeparator: ASCII other
// than letters, digits and '_', and spaces; non-ASCII runes count as letters).
Result Title(const Args& a, const CallContext&) {
  std::string s = a[0].s;
  bool prev_sep = true;
  for (size_t k = 0; k < s.size(); ++k) {
    unsigned char c = static_cast<unsigned char>(s[k]);
    if (c >= 0x80) {
      if (prev_sep && (c & 0xc0) != 0x80) {
        std::string one = CaseMapUtf8(s.substr(k), true, true);
        size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
        s.replace(k, std::min(len, s.size() - k), one.substr(0, std::min(len, one.size())));
      }
      prev_sep = false;
      continue;
    }
    if (prev_sep) s[k] = absl::ascii_toupper(c);
    prev_sep = !(absl::ascii_isalnum(c) || c == '_');
  }
  return Value::String(std::move(s));
}

Result ToUpper(const Args& a, const CallContext&) {
  return Value::String(CaseMapUtf8(a[0].s, true, false));
}
Result ToLower(const Args& a, const CallContext&) {
  return Value::String(CaseMapUtf8(a[0].s, false, false));
}

Result SafeHtml(const Args& a, const CallContext&) {
  Value v = Value::String(a[0].s);
  v.html = true;
  return v;
}

Result SortByLabel(const Args& a, const CallContext&) {
  auto list = std::make_shared<SampleList>();
  if (a[1].samples) *list = *a[1].samples;
  const std::string& by = a[0].s;
  auto get = [&by](const std::shared_ptr<const QuerySample>& s) -> std::string {
    if (s == nullptr) return "";
    auto it = s->labels.find(by);
    return it == s->labels.end() ? "" : it->second;
  };
  std::stable_sort(list->begin(), list->end(),
                   [&](const auto& x, const auto& y) { return get(x) < get(y); });
  return Value::Samples(std::move(list));
}

// net.SplitHostPort.
bool SplitHostPort(const std::string& hp, std::string* host, std::string* port) {
  size_t i = hp.rfind(':');
  if (i == std::string::npos) return false;
  size_t j = 0, k = 0;
  if (!hp.empty() && hp[0] == '[') {
    size_t end = hp.find(']');
    if (end == std::string::npos) return false;
    if (end + 1 == hp.size()) return false;
    if (end + 1 != i) return false;
    *host = hp.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    *host = hp.substr(0, i);
    if (host->find(':') != std::string::npos) return false;
  }
  if (hp.find('[', j) != std::string::npos) return false;
  if (hp.find(']', k) != std::string::npos) return false;
  *port = hp.substr(i + 1);
  return true;
}

bool IsIP(const std::string& s) {
  unsigned char buf[16];
  if (s.find('%') != std::string::npos) return false;
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

Result StripPort(const Args& a, const CallContext&) {
  std::string host, port;
  if (!SplitHostPort(a[0].s, &host, &port)) return Value::String(a[0].s);
  return Value::String(host);
}

Result StripDomain(const Args& a, const CallContext&) {
  const std::string& hp = a[0].s;
  std::string host, port;
  if (!SplitHostPort(hp, &host, &port)) {
    host = hp;
    port.clear();
  }
  if (IsIP(host)) return Value::String(hp);
  host = host.substr(0, host.find('.'));
  if (!port.empty()) {
    if (host.find(':') != std::string::npos)
      return Value::String(absl::StrCat("[", host, "]:", port));
    return Value::String(absl::StrCat(host, ":", port));
  }
  return Value::String(host);
}

// The path component of an absolute URL ("http://h:9090/prefix?x" -> "/prefix").
std::string UrlPath(const std::string& url) {
  size_t start = 0;
  size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    start = url.find('/', scheme + 3);
    if (start == std::string::npos) return "";
  }
  size_t end = url.find_first_of("?#", start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

Result PathPrefix(const Args&, const CallContext& ctx) {
  if (ctx.data == nullptr || ctx.data->external_url.empty()) return GoError(kNilDeref);
  return Value::String(UrlPath(ctx.data->external_url));
}

Result ExternalUrl(const Args&, const CallContext& ctx) {
  if (ctx.data == nullptr || ctx.data->external_url.empty()) return GoError(kNilDeref);
  return Value::String(ctx.data->external_url);
}

// prometheus/common model.ParseDuration, returned in seconds.
Result ParseDuration(const Args& a, const CallContext&) {
  const std::string& s = a[0].s;
  if (s == "0") return Value::Float(0);
  if (s.empty()) return GoError("empty duration string");
  static const RE2* const kRe = new RE2(
      "(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?");
  std::string g[14];
  if (!RE2::FullMatch(s, *kRe, &g[0], &g[1], &g[2], &g[3], &g[4], &g[5], &g[6], &g[7], &g[8], &g[9],
                      &g[10], &g[11], &g[12], &g[13])) {
    return GoError(absl::StrCat("not a valid duration string: ", GoQuote(s)));
  }
  const int64_t mults[7] = {1000LL * 60 * 60 * 24 * 365,
                            1000LL * 60 * 60 * 24 * 7,
                            1000LL * 60 * 60 * 24,
                            1000LL * 60 * 60,
                            1000LL * 60,
                            1000,
                            1};
  int64_t dur_ns = 0;
  bool overflow = false;
  for (int k = 0; k < 7; ++k) {
    const std::string& digits = g[2 * k + 1];
    if (digits.empty()) continue;
    int64_t n = 0;
    auto res = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (res.ec != std::errc()) n = std::numeric_limits<int64_t>::max();
    const int64_t limit = std::numeric_limits<int64_t>::max() / mults[k] / 1000000;
    if (n > limit) {
      overflow = true;
      continue;
    }
    if (__builtin_add_overflow(dur_ns, n * 1000000 * mults[k], &dur_ns) || dur_ns < 0) {
      overflow = true;
    }
  }
  if (overflow) return GoError("duration out of range");
  return Value::Float(static_cast<double>(dur_ns) / 1e9);
}

Result GraphLink(const Args& a, const CallContext&) {
  return Value::String(absl::StrCat("/graph?g0.expr=", QueryEscape(a[0].s), "&g0.tab=0"));
}
Result TableLink(const Args& a, const CallContext&) {
  return Value::String(absl::StrCat("/graph?g0.expr=", QueryEscape(a[0].s), "&g0.tab=1"));
}

const std::map<std::string, FuncDef, std::less<>>& Table() {
  using P = ParamType;
  static const auto* const kTable = new std::map<std::string, FuncDef, std::less<>>{
      {"query", {{P::kString}, false, Query}},
      {"first", {{P::kSamples}, false, First}},
      {"label", {{P::kString, P::kSample}, false, Label}},
      {"value", {{P::kSample}, false, SampleValue}},
      {"strvalue", {{P::kSample}, false, StrValue}},
      {"args", {{P::kAny}, true, MakeArgs}},
      {"reReplaceAll", {{P::kString, P::kString, P::kString}, false, ReReplaceAll}},
      {"safeHtml", {{P::kString}, false, SafeHtml}},
      {"match", {{P::kString, P::kString}, false, Match}},
      {"title", {{P::kString}, false, Title}},
      {"toUpper", {{P::kString}, false, ToUpper}},
      {"toLower", {{P::kString}, false, ToLower}},
      {"graphLink", {{P::kString}, false, GraphLink}},
      {"tableLink", {{P::kString}, false, TableLink}},
      {"sortByLabel", {{P::kString, P::kSamples}, false, SortByLabel}},
      {"stripPort", {{P::kString}, false, StripPort}},
      {"stripDomain", {{P::kString}, false, StripDomain}},
      {"humanize", {{P::kAny}, false, Humanize}},
      {"humanize1024", {{P::kAny}, false, Humanize1024}},
      {"humanizeDuration", {{P::kAny}, false, HumanizeDuration}},
      {"humanizePercentage", {{P::kAny}, false, HumanizePercentage}},
      {"humanizeTimestamp", {{P::kAny}, false, HumanizeTimestamp}},
      {"toTime", {{P::kAny}, false, ToTime}},
      {"pathPrefix", {{}, false, PathPrefix}},
      {"externalURL", {{}, false, ExternalUrl}},
      {"parseDuration", {{P::kString}, false, ParseDuration}},
  };
  return *kTable;
}

}  // namespace

const char* ParamTypeName(ParamType t) {
  switch (t) {
    case ParamType::kAny:
      return "interface {}";
    case ParamType::kString:
      return "string";
    case ParamType::kSample:
      return "*template.sample";
    case ParamType::kSamples:
      return "template.queryResult";
  }
  return "?";
}

const FuncDef* LookupFunc(std::string_view name) {
  const auto& t = Table();
  auto it = t.find(name);
  return it == t.end() ? nullptr : &it->second;
}

absl::StatusOr<double> GoParseFloat(std::string_view s) {
  auto syntax = [&]() {
    return GoError(absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(s), ": invalid syntax"));
  };
  std::string_view body = s;
  bool neg = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  std::string lower = absl::AsciiStrToLower(ToAbsl(body));
  if (lower == "inf" || lower == "infinity") {
    return neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  if (lower == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (body.empty() || !(absl::ascii_isdigit(body[0]) || body[0] == '.')) return syntax();
  // Digits, one '.', an exponent; underscores and hex floats are not accepted here.
  bool hex = lower.size() > 2 && lower[0] == '0' && lower[1] == 'x';
  std::string text(body);
  if (hex) {
    for (char c : lower.substr(2)) {
      if (!(absl::ascii_isxdigit(c) || c == '.' || c == 'p' || c == '+' || c == '-')) {
        return syntax();
      }
    }
    if (lower.find('p') == std::string::npos) return syntax();  // Go requires the p exponent
  } else {
    for (char c : lower) {
      if (!(absl::ascii_isdigit(c) || c == '.' || c == 'e' || c == '+' || c == '-')) {
        return syntax();
      }
    }
  }
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) return syntax();
  if (std::isinf(v)) {
    return GoError(
        absl::StrCat("strconv.ParseFloat: parsing ", GoQuote(s), ": value out of range"));
  }
  return neg ? -v : v;
}

std::string QueryEscape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out += absl::StrFormat("%%%02X", c);
    }
  }
  return out;
}

}  // namespace stakewatch::tmpl::internal
