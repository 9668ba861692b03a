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

namespace stakewatch::app {
namespace {

std::string FilePath(const std::string& dir) { return absl::StrCat(dir, "/progress"); }

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(absl::StrCat("write ", path));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
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
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Errno(absl::StrCat("mkdir ", dir));
  }
  const std::string path = FilePath(dir);
  const std::string tmp = absl::StrCat(path, ".tmp");
  const std::string data = absl::StrCat("genesis_time=", progress.genesis_time,
                                        "\nnext_epoch=", progress.next_epoch, "\n");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno(absl::StrCat("open ", tmp));
  absl::Status st = WriteAll(fd, data, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = Errno(absl::StrCat("fsync ", tmp));
  if (::close(fd) != 0 && st.ok()) st = Errno(absl::StrCat("close ", tmp));
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = Errno(absl::StrCat("rename ", tmp));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  // Make the rename itself durable.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace stakewatch::app
