// Test support: child processes, free ports, HTTP GETs and a small Prometheus text parser.
//
// Used by the integration and end-to-end tests, which run real binaries (stakewatch, Prometheus,
// promtool) as child processes on loopback ports chosen at run time. Nothing here is used by
// stakewatch itself. Thread-compatible.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace stakewatch::testing {

// A child process whose stdout and stderr go to files in a temporary directory.
// The destructor stops it (SIGTERM, then SIGKILL after 5 s).
class Subprocess {
 public:
  // Starts `argv[0]` (a path) with `argv`. Output goes to `log_prefix`.{stdout,stderr}.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(const std::vector<std::string>& argv,
                                                           const std::string& log_prefix);
  ~Subprocess();

  // Waits until `needle` appears in stdout or stderr; returns the line containing it.
  absl::StatusOr<std::string> WaitForOutput(const std::string& needle, absl::Duration timeout);
  // Sends `sig` and waits for exit (SIGKILL after `grace`); returns the exit status.
  int Stop(int sig = 15, absl::Duration grace = absl::Seconds(10));
  // Whether the process is still running.
  bool Running();
  std::string Stdout() const;
  std::string Stderr() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = 0;
  std::string stdout_path_;
  std::string stderr_path_;
};

// A free TCP port on 127.0.0.1 (bound and released; a small race is accepted in tests).
int FreePort();
// A fresh temporary directory (removed by the caller or left for inspection on failure).
std::string MakeTempDir(const std::string& prefix);
// Writes a file; aborts the test on failure via the returned status.
absl::Status WriteFile(const std::string& path, const std::string& content);
absl::StatusOr<std::string> ReadFile(const std::string& path);

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};
// GET http://host:port/path with optional request headers.
absl::StatusOr<HttpResult> HttpGet(const std::string& host, int port, const std::string& path,
                                   const std::map<std::string, std::string>& headers = {});

// Parses Prometheus text format 0.0.4 into series -> value, where the series key is the sample
// line's name and label block exactly as written (e.g. `foo{a="b"}`). Comments are skipped.
// Written independently of stakewatch's renderer, for tests only.
std::map<std::string, double> ParseMetricsText(const std::string& text);

// Path of the stakewatch binary in the build tree.
std::string StakewatchBinary();

// GET http://host:port/metrics parsed with ParseMetricsText; empty when it does not answer 200.
std::map<std::string, double> ScrapeMetrics(const std::string& host, int port);
// Polls ScrapeMetrics every 200 ms until `series` is at least `min` or `timeout` passes; returns
// the last value seen (-1 if the series never appeared).
double WaitForMetric(const std::string& host, int port, const std::string& series, double min,
                     absl::Duration timeout);

// Runs `command` with /bin/sh; its stdout and stderr go to *output (if not null). Returns the
// exit status, or -1 if it could not run or was killed by a signal.
int RunShell(const std::string& command, std::string* output = nullptr);

// The value of `key=value` in a logfmt line whose values have no spaces ("" if absent).
std::string LogField(const std::string& line, const std::string& key);

}  // namespace stakewatch::testing
