// Durable whole-file writes and bounded whole-file reads for stakewatch's small state files
// (epoch progress, persisted alert state).
//
//   RETURN_IF_ERROR(WriteFileAtomically("/var/lib/stakewatch", "alerts.json", data));
//   absl::StatusOr<std::optional<std::string>> d = ReadWholeFile("/var/lib/stakewatch/x", 1 << 20);
//
// WriteFileAtomically creates `dir` (one level) if needed, writes `<dir>/<name>.tmp`, fsyncs it,
// renames it over `<dir>/<name>` and fsyncs the directory, so a crash leaves either the old or
// the new contents, never a mix. Errors name the failing step and path (errno text).
//
// Thread-compatible: two concurrent writers of the same file must be serialised by the caller.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stakewatch {

absl::Status WriteFileAtomically(const std::string& dir, std::string_view name,
                                 std::string_view data);

// The file's contents; nullopt when it does not exist; an error when it cannot be read or is
// larger than `max_bytes`.
absl::StatusOr<std::optional<std::string>> ReadWholeFile(const std::string& path, size_t max_bytes);

}  // namespace stakewatch
