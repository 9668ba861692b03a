#include "app/alert_sender.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "template/funcs.h"

namespace stakewatch::app {

notifier::Alert ToNotifierAlert(const ruleeval::Alert& alert, std::string_view expr,
                                std::string_view external_url) {
  notifier::Alert out;
  out.labels = alert.labels;
  out.annotations = alert.annotations;
  out.starts_at = alert.fired_at;
  out.ends_at = ruleeval::IsZeroTime(alert.resolved_at) ? alert.valid_until : alert.resolved_at;
  out.generator_url = absl::StrCat(
      ToAbsl(external_url), "/graph?g0.expr=", tmpl::internal::QueryEscape(expr), "&g0.tab=1");
  return out;
}

ruleeval::NotifyFunc MakeNotifyFunc(notifier::Notifier* notifier, std::string external_url) {
  return [notifier, url = std::move(external_url)](std::string_view expr,
                                                   const std::vector<ruleeval::Alert>& alerts) {
    std::vector<notifier::Alert> out;
    out.reserve(alerts.size());
    for (const ruleeval::Alert& a : alerts) out.push_back(ToNotifierAlert(a, expr, url));
    notifier->Send(std::move(out));
  };
}

}  // namespace stakewatch::app
