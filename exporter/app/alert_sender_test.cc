// sendAlerts' conversion, with the expected values written from the reference's captured
// Prometheus payload (prometheus-semantics.md §1 "Sending").
#include "app/alert_sender.h"

#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

TEST(AlertSender, FiringAlertUsesFiredAtAndValidUntil) {
  ruleeval::Alert a;
  a.state = ruleeval::AlertState::kFiring;
  a.labels = tsdb::Labels{{"alertname", "ValidatorClientDown"}, {"severity", "critical"}};
  a.annotations = {{"summary", "VC down"}};
  a.active_at = absl::FromUnixMillis(1'000'000);
  a.fired_at = absl::FromUnixMillis(1'010'000);
  a.last_sent_at = absl::FromUnixMillis(1'020'000);
  a.valid_until = absl::FromUnixMillis(1'040'000);
  notifier::Alert n = ToNotifierAlert(a, "eth_validator_up == 0", "http://prom.lab:19090");
  EXPECT_EQ(n.labels, a.labels);
  EXPECT_EQ(n.annotations, a.annotations);
  EXPECT_EQ(n.starts_at, absl::FromUnixMillis(1'010'000));  // FiredAt, not ActiveAt
  EXPECT_EQ(n.ends_at, absl::FromUnixMillis(1'040'000));    // ValidUntil
  EXPECT_EQ(n.generator_url,
            "http://prom.lab:19090/graph?g0.expr=eth_validator_up+%3D%3D+0&g0.tab=1");
}

TEST(AlertSender, ResolvedAlertEndsAtResolvedAt) {
  ruleeval::Alert a;
  a.state = ruleeval::AlertState::kInactive;
  a.fired_at = absl::FromUnixSeconds(100);
  a.resolved_at = absl::FromUnixSeconds(140);
  a.valid_until = absl::FromUnixSeconds(180);
  notifier::Alert n = ToNotifierAlert(a, "sum(rate(x{a=\"b/c\"}[5m])) > 0.5", "http://h");
  EXPECT_EQ(n.ends_at, absl::FromUnixSeconds(140));
  // Go's url.QueryEscape: letters, digits and -_.~ stay; space is '+'; the rest %XX.
  EXPECT_EQ(n.generator_url,
            "http://h/graph?g0.expr=sum%28rate%28x%7Ba%3D%22b%2Fc%22%7D%5B5m%5D%29%29+%3E+0.5"
            "&g0.tab=1");
}

}  // namespace
}  // namespace stakewatch::app
