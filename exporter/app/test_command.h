// `stakewatch test ...`: test commands for rule authors.
//
//   stakewatch test promql FILE...   runs Prometheus promqltest scripts (load / clear / eval ...)
//                                    against stakewatch's PromQL engine, with the checks of
//                                    Prometheus's own harness (range re-check, @ re-check); prints
//                                    each failure, then the line "N passed, M failed".
//   stakewatch test rules FILE...    runs rule unit tests in promtool's format, printing exactly
//                                    what `promtool test rules` prints (unittest/test_rules.h).
//
// Threads: call from one thread (a command).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace stakewatch::app {

// `args` are the arguments after "test". Returns the exit code: 0 when every case passed, 1 when
// any failed or a file could not be read or parsed, 2 on usage errors.
int TestCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace stakewatch::app
