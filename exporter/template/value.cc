#include "template/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace stakewatch::tmpl {

Value Value::Bool(bool v) {
  Value r;
  r.kind = Kind::kBool;
  r.b = v;
  return r;
}
Value Value::Int(int64_t v) {
  Value r;
  r.kind = Kind::kInt;
  r.i = v;
  return r;
}
Value Value::Float(double v) {
  Value r;
  r.kind = Kind::kFloat;
  r.f = v;
  return r;
}
Value Value::String(std::string v) {
  Value r;
  r.kind = Kind::kString;
  r.s = std::move(v);
  return r;
}
Value Value::Labels(std::shared_ptr<const LabelMap> m) {
  Value r;
  r.kind = Kind::kLabels;
  r.labels = std::move(m);
  return r;
}
Value Value::Sample(std::shared_ptr<const QuerySample> s) {
  Value r;
  r.kind = Kind::kSample;
  r.sample = std::move(s);
  return r;
}
Value Value::Samples(std::shared_ptr<const SampleList> l) {
  Value r;
  r.kind = Kind::kSamples;
  r.samples = std::move(l);
  return r;
}
Value Value::Time(int64_t sec, int64_t nsec) {
  Value r;
  r.kind = Kind::kTime;
  r.i = sec;
  r.nsec = nsec;
  return r;
}
Value Value::Data(const TemplateData* d) {
  Value r;
  r.kind = Kind::kData;
  r.data = d;
  return r;
}

std::string GoTypeName(const Value& v) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::kNil:
      return "<nil>";
    case K::kBool:
      return "bool";
    case K::kInt:
      return "int";
    case K::kFloat:
      return "float64";
    case K::kString:
      return v.html ? "template.HTML" : "string";
    case K::kLabels:
      return "map[string]string";
    case K::kSample:
      return "*template.sample";
    case K::kSamples:
      return "template.queryResult";
    case K::kArgs:
      return "map[string]interface {}";
    case K::kTime:
      return "*time.Time";
    case K::kData:
      return "struct { Labels map[string]string; ExternalLabels map[string]string; ExternalURL "
             "string; Value float64 }";
  }
  return "?";
}

bool IsTrue(const Value& v) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::kNil:
      return false;
    case K::kBool:
      return v.b;
    case K::kInt:
      return v.i != 0;
    case K::kFloat:
      return v.f != 0;
    case K::kString:
      return !v.s.empty();
    case K::kLabels:
      return v.labels && !v.labels->empty();
    case K::kSample:
      return v.sample != nullptr;
    case K::kSamples:
      return v.samples && !v.samples->empty();
    case K::kArgs:
      return v.args && !v.args->empty();
    case K::kTime:
    case K::kData:
      return true;
  }
  return false;
}

namespace {

// Shortest round-trip digits of a finite, non-zero-or-zero |v|: digits "d1d2..." and decimal
// exponent `exp` such that v = 0.d1d2... * 10^(exp+1) (i.e. exp is the %e exponent).
void ShortestDigits(double v, std::string* digits, int* exp) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), std::fabs(v), std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
  size_t e = s.find('e');
  digits->clear();
  for (size_t k = 0; k < e; ++k) {
    if (s[k] != '.') digits->push_back(s[k]);
  }
  *exp = std::atoi(std::string(s.substr(e + 1)).c_str());
}

std::string ExpSuffix(int exp, char e) {
  std::string out(1, e);
  out.push_back(exp < 0 ? '-' : '+');
  int a = exp < 0 ? -exp : exp;
  if (a < 10) out.push_back('0');
  absl::StrAppend(&out, a);
  return out;
}

}  // namespace

std::string FormatFloat(double v, char fmt, int prec) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  const bool upper = fmt == 'E' || fmt == 'G';
  const char lower = static_cast<char>(upper ? fmt - 'A' + 'a' : fmt);
  if (prec >= 0 || lower == 'f') {
    if (prec < 0) prec = 6;  // 'f' shortest is not used by templates; fall back to %f.
    char spec[8] = {'%', '.', '*', fmt == 'F' ? 'f' : fmt, 0};
    char buf[512];
    int n = std::snprintf(buf, sizeof(buf), spec, prec, v);
    if (n >= 0 && static_cast<size_t>(n) < sizeof(buf)) return std::string(buf, n);
    std::string big(static_cast<size_t>(n) + 1, '\0');
    std::snprintf(big.data(), big.size(), spec, prec, v);
    big.resize(n);
    return big;
  }
  // Shortest representation ('e' or 'g' with prec -1).
  std::string digits;
  int exp = 0;
  ShortestDigits(v, &digits, &exp);
  std::string out = std::signbit(v) ? "-" : "";
  bool use_e = lower == 'e';
  if (lower == 'g') use_e = exp < -4 || exp >= 6;  // strconv: shortest uses eprec 6
  if (use_e) {
    out.push_back(digits[0]);
    if (digits.size() > 1) absl::StrAppend(&out, ".", digits.substr(1));
    absl::StrAppend(&out, ExpSuffix(exp, upper ? 'E' : 'e'));
    return out;
  }
  // %f with as many digits as needed.
  if (exp < 0) {
    absl::StrAppend(&out, "0.", std::string(static_cast<size_t>(-exp - 1), '0'), digits);
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    absl::StrAppend(&out, digits, std::string(exp + 1 - digits.size(), '0'));
  } else {
    absl::StrAppend(&out, digits.substr(0, exp + 1), ".", digits.substr(exp + 1));
  }
  return out;
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t k = 0; k < s.size(); ++k) {
    unsigned char c = static_cast<unsigned char>(s[k]);
    switch (c) {
      case '\a':
        out += "\\a";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\v':
        out += "\\v";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '"':
        out += "\\\"";
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7f) {
      out += absl::StrFormat("\\x%02x", c);
      continue;
    }
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    // Multi-byte UTF-8: copy a well-formed sequence as is, escape stray bytes.
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    bool ok = len > 0 && k + len <= s.size();
    for (int j = 1; ok && j < len; ++j) {
      ok = (static_cast<unsigned char>(s[k + j]) & 0xc0) == 0x80;
    }
    if (!ok) {
      out += absl::StrFormat("\\x%02x", c);
      continue;
    }
    out.append(s.substr(k, len));
    k += len - 1;
  }
  out.push_back('"');
  return out;
}

std::string GoTimeString(int64_t sec, int64_t nsec) {
  absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixSeconds(sec), absl::UTCTimeZone());
  std::string out = absl::StrFormat("%04d-%02d-%02d %02d:%02d:%02d", cs.year(), cs.month(),
                                    cs.day(), cs.hour(), cs.minute(), cs.second());
  if (nsec != 0) {
    std::string frac = absl::StrFormat("%09d", nsec);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    absl::StrAppend(&out, ".", frac);
  }
  absl::StrAppend(&out, " +0000 UTC");
  return out;
}

namespace {

std::string LabelMapString(const LabelMap* m) {
  std::string out = "map[";
  bool first = true;
  if (m != nullptr) {
    for (const auto& [k, v] : *m) {
      if (!first) out.push_back(' ');
      first = false;
      absl::StrAppend(&out, k, ":", v);
    }
  }
  out.push_back(']');
  return out;
}

std::string SampleBody(const QuerySample& s) {
  return absl::StrCat("{", LabelMapString(&s.labels), " ", FormatFloat(s.value, 'g', -1), "}");
}

}  // namespace

std::string GoPrintV(const Value& v, bool top_level) {
  using K = Value::Kind;
  switch (v.kind) {
    case K::kNil:
      return top_level ? "<no value>" : "<nil>";
    case K::kBool:
      return v.b ? "true" : "false";
    case K::kInt:
      return absl::StrCat(v.i);
    case K::kFloat:
      return FormatFloat(v.f, 'g', -1);
    case K::kString:
      return v.s;
    case K::kLabels:
      return LabelMapString(v.labels.get());
    case K::kSample:
      if (v.sample == nullptr) return "<nil>";
      return absl::StrCat(top_level ? "" : "&", SampleBody(*v.sample));
    case K::kSamples: {
      // Go prints the element pointers' addresses here; we print their contents instead.
      std::string out = "[";
      if (v.samples) {
        for (size_t k = 0; k < v.samples->size(); ++k) {
          if (k > 0) out.push_back(' ');
          out += "&" + SampleBody(*(*v.samples)[k]);
        }
      }
      return out + "]";
    }
    case K::kArgs: {
      std::string out = "map[";
      if (v.args) {
        for (size_t k = 0; k < v.args->size(); ++k) {
          if (k > 0) out.push_back(' ');
          absl::StrAppend(&out, (*v.args)[k].first, ":", GoPrintV((*v.args)[k].second));
        }
      }
      return out + "]";
    }
    case K::kTime:
      return GoTimeString(v.i, v.nsec);
    case K::kData:
      return absl::StrCat("{", LabelMapString(&v.data->labels), " ",
                          LabelMapString(&v.data->external_labels), " ", v.data->external_url, " ",
                          FormatFloat(v.data->value, 'g', -1), "}");
  }
  return "";
}

std::string GoSprint(const std::vector<Value>& args) {
  std::string out;
  for (size_t k = 0; k < args.size(); ++k) {
    bool is_string = args[k].kind == Value::Kind::kString;
    // fmt.Sprint adds a space between operands when neither is a string.
    if (k > 0 && !is_string && args[k - 1].kind != Value::Kind::kString) out.push_back(' ');
    out += GoPrintV(args[k]);
  }
  return out;
}

std::string GoSprintln(const std::vector<Value>& args) {
  std::string out;
  for (size_t k = 0; k < args.size(); ++k) {
    if (k > 0) out.push_back(' ');
    out += GoPrintV(args[k]);
  }
  out.push_back('\n');
  return out;
}

namespace {

struct Spec {
  bool plus = false, minus = false, sharp = false, space = false, zero = false;
  int width = -1;
  int prec = -1;
  char verb = 'v';
};

std::string Pad(std::string_view s, const Spec& sp, bool zero) {
  size_t w = sp.width < 0 ? 0 : static_cast<size_t>(sp.width);
  // Go pads by rune count.
  size_t runes = 0;
  for (char c : s) runes += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  if (runes >= w) return std::string(s);
  std::string fill(w - runes, zero && !sp.minus ? '0' : ' ');
  return sp.minus ? std::string(s) + fill : fill + std::string(s);
}

std::string BadVerb(char verb, const Value& v) {
  if (v.is_nil()) return absl::StrCat("%!", std::string(1, verb), "(<nil>)");
  return absl::StrCat("%!", std::string(1, verb), "(", GoTypeName(v), "=", GoPrintV(v), ")");
}

std::string FormatInt(int64_t x, const Spec& sp) {
  int base = 10;
  const char* digits = "0123456789abcdef";
  switch (sp.verb) {
    case 'b':
      base = 2;
      break;
    case 'o':
    case 'O':
      base = 8;
      break;
    case 'x':
      base = 16;
      break;
    case 'X':
      base = 16;
      digits = "0123456789ABCDEF";
      break;
    default:
      break;
  }
  bool neg = x < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(x) : static_cast<uint64_t>(x);
  std::string num;
  do {
    num.insert(num.begin(), digits[u % base]);
    u /= base;
  } while (u != 0);
  if (sp.prec >= 0) {
    if (sp.prec == 0 && x == 0) num.clear();
    while (num.size() < static_cast<size_t>(sp.prec)) num.insert(num.begin(), '0');
  }
  std::string prefix;
  if (sp.sharp) {
    if (base == 16) prefix = sp.verb == 'X' ? "0X" : "0x";
    if (base == 8 && (num.empty() || num[0] != '0')) prefix = "0";
    if (base == 2) prefix = "0b";
  }
  if (sp.verb == 'O') prefix = "0o";
  std::string sign = neg ? "-" : sp.plus ? "+" : sp.space ? " " : "";
  bool zero = sp.zero && sp.prec < 0 && !sp.minus;
  if (zero && sp.width > 0) {
    size_t body = sign.size() + prefix.size() + num.size();
    if (body < static_cast<size_t>(sp.width)) num.insert(0, sp.width - body, '0');
    return sign + prefix + num;
  }
  return Pad(sign + prefix + num, sp, false);
}

std::string FormatFloatSpec(double v, const Spec& sp) {
  char verb = sp.verb;
  int prec = sp.prec;
  if (verb == 'v') verb = 'g';
  if (prec < 0 && (verb == 'e' || verb == 'E' || verb == 'f' || verb == 'F')) prec = 6;
  std::string num = FormatFloat(v, verb, prec);
  if (num[0] != '-' && num[0] != '+') num.insert(num.begin(), '+');
  if (sp.space && num[0] == '+' && !sp.plus) num[0] = ' ';
  if (num[1] == 'I' || num[1] == 'N') {
    if (num[1] == 'N' && !sp.space && !sp.plus) num.erase(0, 1);
    return Pad(num, sp, false);
  }
  if (sp.plus || num[0] != '+') {
    if (sp.zero && !sp.minus && sp.width > static_cast<int>(num.size())) {
      return num.substr(0, 1) + std::string(sp.width - num.size(), '0') + num.substr(1);
    }
    return Pad(num, sp, false);
  }
  return Pad(num.substr(1), sp, sp.zero);
}

std::string FormatString(const std::string& s, const Spec& sp) {
  std::string body = s;
  if (sp.prec >= 0) {
    // Truncate to prec runes.
    size_t runes = 0, k = 0;
    for (; k < body.size(); ++k) {
      if ((static_cast<unsigned char>(body[k]) & 0xc0) != 0x80) {
        if (runes == static_cast<size_t>(sp.prec)) break;
        ++runes;
      }
    }
    body.resize(k);
  }
  switch (sp.verb) {
    case 'v':
    case 's':
      return Pad(body, sp, sp.zero);
    case 'q':
      return Pad(GoQuote(body), sp, sp.zero);
    case 'x':
    case 'X': {
      std::string hex;
      for (unsigned char c : body) {
        hex += sp.verb == 'x' ? absl::StrFormat("%02x", c) : absl::StrFormat("%02X", c);
      }
      return Pad(hex, sp, sp.zero);
    }
    default:
      return BadVerb(sp.verb, Value::String(s));
  }
}

std::string FormatArg(const Value& v, const Spec& sp) {
  using K = Value::Kind;
  if (sp.verb == 'T') return Pad(GoTypeName(v), sp, false);
  switch (v.kind) {
    case K::kNil:
      if (sp.verb == 'v') return Pad("<nil>", sp, false);
      return BadVerb(sp.verb, v);
    case K::kBool:
      if (sp.verb == 'v' || sp.verb == 't') return Pad(v.b ? "true" : "false", sp, false);
      return BadVerb(sp.verb, v);
    case K::kInt:
      switch (sp.verb) {
        case 'v':
        case 'd':
        case 'b':
        case 'o':
        case 'O':
        case 'x':
        case 'X':
          return FormatInt(v.i, sp);
        case 'q':
          return Pad("'" + std::string(1, static_cast<char>(v.i)) + "'", sp, false);
        case 'c': {
          std::string r;
          uint32_t c = static_cast<uint32_t>(v.i);
          if (c < 0x80) {
            r.push_back(static_cast<char>(c));
          } else if (c < 0x800) {
            r.push_back(static_cast<char>(0xc0 | (c >> 6)));
            r.push_back(static_cast<char>(0x80 | (c & 0x3f)));
          } else {
            r.push_back(static_cast<char>(0xe0 | ((c >> 12) & 0x0f)));
            r.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3f)));
            r.push_back(static_cast<char>(0x80 | (c & 0x3f)));
          }
          return Pad(r, sp, sp.zero);
        }
        default:
          return BadVerb(sp.verb, v);
      }
    case K::kFloat:
      switch (sp.verb) {
        case 'v':
        case 'e':
        case 'E':
        case 'f':
        case 'F':
        case 'g':
        case 'G':
          return FormatFloatSpec(v.f, sp);
        default:
          return BadVerb(sp.verb, v);
      }
    case K::kString:
      return FormatString(v.s, sp);
    case K::kTime:
      if (sp.verb == 'v' || sp.verb == 's' || sp.verb == 'q' || sp.verb == 'x' || sp.verb == 'X') {
        return FormatString(GoTimeString(v.i, v.nsec), sp);
      }
      return BadVerb(sp.verb, v);
    case K::kLabels:
    case K::kArgs: {
      // fmt applies the verb to each key and element of a map.
      std::string out = "map[";
      if (v.kind == K::kLabels) {
        bool first = true;
        for (const auto& [k, e] : *v.labels) {
          if (!first) out.push_back(' ');
          first = false;
          absl::StrAppend(&out, FormatArg(Value::String(k), sp), ":",
                          FormatArg(Value::String(e), sp));
        }
      } else {
        for (size_t k = 0; k < v.args->size(); ++k) {
          if (k > 0) out.push_back(' ');
          absl::StrAppend(&out, FormatArg(Value::String((*v.args)[k].first), sp), ":",
                          FormatArg((*v.args)[k].second, sp));
        }
      }
      return out + "]";
    }
    case K::kSample:
      if (v.sample == nullptr)
        return sp.verb == 'v' ? Pad("<nil>", sp, false) : BadVerb(sp.verb, v);
      return absl::StrCat(
          "&{", FormatArg(Value::Labels(std::make_shared<LabelMap>(v.sample->labels)), sp), " ",
          FormatArg(Value::Float(v.sample->value), sp), "}");
    default:
      if (sp.verb == 'v' || sp.verb == 's') return Pad(GoPrintV(v), sp, false);
      return BadVerb(sp.verb, v);
  }
}

}  // namespace

std::string GoSprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  size_t argn = 0;
  size_t i = 0;
  while (i < format.size()) {
    if (format[i] != '%') {
      size_t next = format.find('%', i);
      if (next == std::string_view::npos) next = format.size();
      out.append(format.substr(i, next - i));
      i = next;
      continue;
    }
    ++i;
    Spec sp;
    for (; i < format.size(); ++i) {
      char c = format[i];
      if (c == '+') {
        sp.plus = true;
      } else if (c == '-') {
        sp.minus = true;
        sp.zero = false;
      } else if (c == '#') {
        sp.sharp = true;
      } else if (c == ' ') {
        sp.space = true;
      } else if (c == '0') {
        sp.zero = !sp.minus;
      } else {
        break;
      }
    }
    auto read_num = [&](int* dst) {
      if (i < format.size() && format[i] == '*') {
        ++i;
        if (argn < args.size() && args[argn].kind == Value::Kind::kInt) {
          *dst = static_cast<int>(args[argn].i);
          if (*dst < 0 && dst == &sp.width) {
            sp.minus = true;
            sp.zero = false;
            *dst = -*dst;
          }
        } else {
          out += dst == &sp.width ? "%!(BADWIDTH)" : "%!(BADPREC)";
        }
        ++argn;
        return;
      }
      int n = -1;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9' && n < 1000000) {
        n = (n < 0 ? 0 : n * 10) + (format[i] - '0');
        ++i;
      }
      *dst = n;
    };
    read_num(&sp.width);
    if (i < format.size() && format[i] == '.') {
      ++i;
      read_num(&sp.prec);
      if (sp.prec < 0) sp.prec = 0;
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    sp.verb = format[i++];
    if (sp.verb == '%') {
      out.push_back('%');
      continue;
    }
    if (argn >= args.size()) {
      absl::StrAppend(&out, "%!", std::string(1, sp.verb), "(MISSING)");
      continue;
    }
    out += FormatArg(args[argn++], sp);
  }
  if (argn < args.size()) {
    out += "%!(EXTRA ";
    for (size_t k = argn; k < args.size(); ++k) {
      if (k > argn) out += ", ";
      if (args[k].is_nil()) {
        out += "<nil>";
      } else {
        absl::StrAppend(&out, GoTypeName(args[k]), "=", GoPrintV(args[k]));
      }
    }
    out += ")";
  }
  return out;
}

}  // namespace stakewatch::tmpl
