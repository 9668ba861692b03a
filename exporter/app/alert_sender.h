// The bridge from the rule manager to the notifier: Prometheus 2.42's sendAlerts
// (rules/manager.go). Turns the alerts an alerting rule needs to send into what is POSTed to
// Alertmanager:
//   startsAt     = FiredAt (when it started firing, not when it became active);
//   endsAt       = ResolvedAt once resolved, otherwise ValidUntil
//                  (evaluation time + 4 x max(resend delay, group interval));
//   generatorURL = <external URL> + "/graph?g0.expr=" + url.QueryEscape(expr) + "&g0.tab=1".
// Labels and annotations are passed as they are; the notifier adds external labels and applies
// alert_relabel_configs.
//
// Threads: the returned NotifyFunc may be called from every group thread at once (the notifier
// is thread-safe). The notifier is not owned and must outlive the function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "notifier/notifier.h"
#include "ruleeval/group.h"
#include "ruleeval/rule.h"

namespace stakewatch::app {

// external_url: without a trailing slash.
notifier::Alert ToNotifierAlert(const ruleeval::Alert& alert, std::string_view expr,
                                std::string_view external_url);

ruleeval::NotifyFunc MakeNotifyFunc(notifier::Notifier* notifier, std::string external_url);

}  // namespace stakewatch::app
