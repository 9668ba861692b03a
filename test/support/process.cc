#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "httplib.h"

namespace stakewatch::testing {

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(const std::vector<std::string>& argv,
                                                              const std::string& log_prefix) {
  auto p = std::make_unique<Subprocess>();
  p->stdout_path_ = log_prefix + ".stdout";
  p->stderr_path_ = log_prefix + ".stderr";
  std::vector<char*> cargs;
  for (const std::string& a : argv) cargs.push_back(const_cast<char*>(a.c_str()));
  cargs.push_back(nullptr);
  const pid_t pid = fork();
  if (pid < 0) return absl::InternalError("fork failed");
  if (pid == 0) {
    // Child: its own process group, so that Stop() reaches anything it starts.
    setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int out = open(p->stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(p->stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/dev/null", O_RDONLY);
    if (out < 0 || err < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(cargs[0], cargs.data());
    _exit(127);
  }
  p->pid_ = pid;
  return p;
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !exited_) Stop(SIGTERM, absl::Seconds(5));
}

bool Subprocess::Running() {
  if (exited_) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    status_ = status;
    return false;
  }
  return true;
}

int Subprocess::Stop(int sig, absl::Duration grace) {
  if (exited_) return status_;
  kill(pid_, sig);
  const absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    if (!Running()) return status_;
    absl::SleepFor(absl::Milliseconds(20));
  }
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  waitpid(pid_, &status_, 0);
  exited_ = true;
  return status_;
}

std::string Subprocess::Stdout() const { return ReadFile(stdout_path_).value_or(""); }
std::string Subprocess::Stderr() const { return ReadFile(stderr_path_).value_or(""); }

absl::StatusOr<std::string> Subprocess::WaitForOutput(const std::string& needle,
                                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    for (const std::string& text : {Stdout(), Stderr()}) {
      const size_t at = text.find(needle);
      if (at != std::string::npos) {
        const size_t begin = text.rfind('\n', at);
        const size_t end = text.find('\n', at);
        return text.substr(begin == std::string::npos ? 0 : begin + 1,
                           end == std::string::npos
                               ? std::string::npos
                               : end - (begin == std::string::npos ? 0 : begin + 1));
      }
    }
    if (!Running()) {
      return absl::FailedPreconditionError(absl::StrCat("process exited (status ", status_,
                                                        ") before printing \"", needle,
                                                        "\"; stderr:\n", Stderr()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("timed out waiting for \"", needle, "\"; stderr:\n", Stderr()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string tmpl = absl::StrCat("/tmp/", prefix, "-XXXXXX");
  char* dir = mkdtemp(tmpl.data());
  return dir == nullptr ? "/tmp" : std::string(dir);
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary);
  f << content;
  f.close();
  if (!f) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

absl::StatusOr<HttpResult> HttpGet(const std::string& host, int port, const std::string& path,
                                   const std::map<std::string, std::string>& headers) {
  httplib::Client client(host, port);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  client.set_decompress(false);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  auto res = client.Get(path.c_str(), h);
  if (!res) {
    return absl::UnavailableError(
        absl::StrCat("GET ", host, ":", port, path, ": ", httplib::to_string(res.error())));
  }
  HttpResult out;
  out.status = res->status;
  out.body = res->body;
  for (const auto& [k, v] : res->headers) out.headers[k] = v;
  return out;
}

std::map<std::string, double> ParseMetricsText(const std::string& text) {
  std::map<std::string, double> out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    // The value follows the last space outside the label block.
    size_t end_of_key =
        line.find('{') != absl::string_view::npos ? line.rfind('}') + 1 : line.find(' ');
    if (end_of_key == absl::string_view::npos || end_of_key >= line.size()) continue;
    absl::string_view key = line.substr(0, end_of_key);
    absl::string_view rest = line.substr(end_of_key);
    while (!rest.empty() && rest[0] == ' ') rest.remove_prefix(1);
    absl::string_view value = rest.substr(0, rest.find(' '));
    double v = 0;
    if (value == "+Inf") {
      v = HUGE_VAL;
    } else if (value == "-Inf") {
      v = -HUGE_VAL;
    } else if (!absl::SimpleAtod(value, &v)) {
      continue;
    }
    out[std::string(key)] = v;
  }
  return out;
}

std::string StakewatchBinary() { return STAKEWATCH_BINARY_DIR "/exporter/stakewatch"; }

std::map<std::string, double> ScrapeMetrics(const std::string& host, int port) {
  absl::StatusOr<HttpResult> r = HttpGet(host, port, "/metrics");
  if (!r.ok() || r->status != 200) return {};
  return ParseMetricsText(r->body);
}

double WaitForMetric(const std::string& host, int port, const std::string& series, double min,
                     absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  double v = -1;
  while (absl::Now() < deadline) {
    std::map<std::string, double> m = ScrapeMetrics(host, port);
    auto it = m.find(series);
    if (it != m.end()) {
      v = it->second;
      if (v >= min) return v;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  return v;
}

int RunShell(const std::string& command, std::string* output) {
  const std::string full = "(" + command + ") 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (p == nullptr) return -1;
  std::string text;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) text.append(buf, n);
  const int rc = pclose(p);
  if (output != nullptr) *output = std::move(text);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

std::string LogField(const std::string& line, const std::string& key) {
  for (absl::string_view part : absl::StrSplit(line, ' ')) {
    if (absl::StartsWith(part, key + "=")) return std::string(part.substr(key.size() + 1));
  }
  return "";
}

}  // namespace stakewatch::testing
