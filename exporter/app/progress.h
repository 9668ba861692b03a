// Progress: the epoch the daemon will account next, kept on disk across restarts.
//
// The file (`<storage.path>/progress`) is a few `key=value` lines:
//   genesis_time=1655733600
//   next_epoch=240250
// genesis_time ties it to one chain: progress for another chain is ignored. It is written
// atomically (temporary file, fsync, rename, fsync of the directory), so a crash leaves either
// the old or the new file, never a torn one. Thread-compatible; the daemon's polling thread
// owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace stakewatch::app {

struct Progress {
  uint64_t genesis_time = 0;
  uint64_t next_epoch = 0;
};

// Reads the progress file in `dir`. nullopt if there is none; an error if it is unreadable or
// malformed (the caller logs it and starts afresh).
absl::StatusOr<std::optional<Progress>> LoadProgress(const std::string& dir);
// Writes it atomically, creating `dir` if needed.
absl::Status SaveProgress(const std::string& dir, const Progress& progress);

}  // namespace stakewatch::app
