// Structured logging in logfmt (default) or JSON, to stderr, one line per event.
//
//   LogInfo("epoch processed", {{"epoch", absl::StrCat(e)}, {"node", url}});
//   -> ts=2026-11-29T04:12:18.123Z level=info msg="epoch processed" epoch=123 node=http://...
//
// The level and format are process-wide and may be changed at any time (SetLogLevel). All
// functions are thread-safe; each line is written with a single write.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"

namespace stakewatch {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kLogfmt, kJson };

using LogField = std::pair<std::string_view, std::string_view>;

// Parses "debug" | "info" | "warn" | "error".
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view s);
// Parses "logfmt" | "json".
absl::StatusOr<LogFormat> ParseLogFormat(std::string_view s);

void SetLogLevel(LogLevel level);
void SetLogFormat(LogFormat format);
bool LogEnabled(LogLevel level);

// Formats one line (without writing it); exposed for tests.
std::string FormatLogLine(LogFormat format, LogLevel level, std::string_view msg,
                          std::initializer_list<LogField> fields, std::string_view timestamp);

void Log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields = {});
inline void LogDebug(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kDebug, msg, fields);
}
inline void LogInfo(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kInfo, msg, fields);
}
inline void LogWarn(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kWarn, msg, fields);
}
inline void LogError(std::string_view msg, std::initializer_list<LogField> fields = {}) {
  Log(LogLevel::kError, msg, fields);
}

}  // namespace stakewatch
