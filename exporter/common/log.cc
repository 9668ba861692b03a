#include "common/log.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/strings.h"

namespace stakewatch {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kLogfmt)};

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool NeedsQuotes(std::string_view v) {
  if (v.empty()) return true;
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) >= 0x7f) {
      return true;
    }
  }
  return false;
}

void AppendQuoted(std::string* out, std::string_view v) {
  out->push_back('"');
  for (char c : v) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendLogfmtValue(std::string* out, std::string_view v) {
  if (NeedsQuotes(v)) {
    AppendQuoted(out, v);
  } else {
    out->append(v);
  }
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view s) {
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level \"", ToAbsl(s), "\" (want debug, info, warn or error)"));
}

absl::StatusOr<LogFormat> ParseLogFormat(std::string_view s) {
  if (s == "logfmt") return LogFormat::kLogfmt;
  if (s == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log format \"", ToAbsl(s), "\" (want logfmt or json)"));
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }
void SetLogFormat(LogFormat format) { g_format.store(static_cast<int>(format)); }
bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_level.load(); }

std::string FormatLogLine(LogFormat format, LogLevel level, std::string_view msg,
                          std::initializer_list<LogField> fields, std::string_view timestamp) {
  std::string out;
  out.reserve(128);
  if (format == LogFormat::kJson) {
    out.append("{\"ts\":");
    AppendQuoted(&out, timestamp);
    out.append(",\"level\":");
    AppendQuoted(&out, LevelName(level));
    out.append(",\"msg\":");
    AppendQuoted(&out, msg);
    for (const auto& [k, v] : fields) {
      out.push_back(',');
      AppendQuoted(&out, k);
      out.push_back(':');
      AppendQuoted(&out, v);
    }
    out.append("}\n");
    return out;
  }
  absl::StrAppend(&out, "ts=", ToAbsl(timestamp), " level=", ToAbsl(LevelName(level)), " msg=");
  AppendLogfmtValue(&out, msg);
  for (const auto& [k, v] : fields) {
    out.push_back(' ');
    out.append(k);
    out.push_back('=');
    AppendLogfmtValue(&out, v);
  }
  out.push_back('\n');
  return out;
}

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
  if (!LogEnabled(level)) return;
  const std::string ts = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  const std::string line =
      FormatLogLine(static_cast<LogFormat>(g_format.load()), level, msg, fields, ts);
  // One write per line keeps concurrent lines whole.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace stakewatch
