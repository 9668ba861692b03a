// The stakewatch subcommands. Each takes the arguments after the subcommand name and returns the
// process exit code; errors are printed to stderr with what to fix.
//
// REQUIRES: called from main's thread after BlockTerminationSignals(), so that every thread the
// command starts inherits the blocked mask and WaitForTerminationSignal() receives the signal.
#pragma once

#include <functional>

#include <string>
#include <vector>

namespace stakewatch::app {

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and threads it creates later).
void BlockTerminationSignals();
// Waits for SIGINT or SIGTERM; returns the signal number.
// SIGHUP calls `on_hangup` (if set) and keeps waiting.
int WaitForTerminationSignal(const std::function<void()>& on_hangup = nullptr);

// `stakewatch run`: the daemon (the default command).
int RunCommand(const std::vector<std::string>& args);
// `stakewatch demo`: the simulator plus the daemon pointed at it, with progress lines.
int DemoCommand(const std::vector<std::string>& args);
// `stakewatch healthcheck [--url=...]`: GETs a URL (default the local /-/healthy) and exits 0 on
// 200, 1 otherwise; for container HEALTHCHECKs without curl (TLS and basic auth supported).
int HealthcheckCommand(const std::vector<std::string>& args);

}  // namespace stakewatch::app
