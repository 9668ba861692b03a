#include "app/progress.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/atomic_file.h"

namespace stakewatch::app {
namespace {

std::string FilePath(const std::string& dir) { return absl::StrCat(dir, "/progress"); }

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::optional<Progress>> LoadProgress(const std::string& dir) {
  const std::string path = FilePath(dir);
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::optional<Progress>();
    return Errno(absl::StrCat("open ", path));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  Progress p;
  bool has_genesis = false, has_epoch = false;
  for (absl::string_view line : absl::StrSplit(ss.str(), '\n', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(line, '=');
    uint64_t value = 0;
    if (!absl::SimpleAtoi(kv.second, &value)) {
      return absl::DataLossError(absl::StrCat(path, ": bad line \"", line, "\""));
    }
    if (kv.first == "genesis_time") {
      p.genesis_time = value;
      has_genesis = true;
    } else if (kv.first == "next_epoch") {
      p.next_epoch = value;
      has_epoch = true;
    }
  }
  if (!has_genesis || !has_epoch) {
    return absl::DataLossError(absl::StrCat(path, ": genesis_time or next_epoch missing"));
  }
  return std::optional<Progress>(p);
}

absl::Status SaveProgress(const std::string& dir, const Progress& progress) {
  return WriteFileAtomically(dir, "progress",
                             absl::StrCat("genesis_time=", progress.genesis_time,
                                          "\nnext_epoch=", progress.next_epoch, "\n"));
}

}  // namespace stakewatch::app
