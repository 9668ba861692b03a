// ValidatorMetrics turns accounting results into series: checked on the rendered text, with the
// expected counts worked out by hand from the hand-built results.
#include "app/validator_metrics.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

accounting::AttestationResult Att(uint64_t v, int32_t group, bool included, uint64_t delay) {
  accounting::AttestationResult a;
  a.validator = v;
  a.group = group;
  a.duty_slot = 100;
  a.included = included;
  a.inclusion_slot = included ? 100 + delay : 0;
  a.inclusion_delay = included ? delay : 0;
  return a;
}

TEST(ValidatorMetricsTest, GroupRollupsAndPerValidator) {
  exposition::SeriesStore store;
  std::vector<GroupInfo> groups = {{"a", {{"operator", "x"}}}, {"b", {}}};
  std::vector<std::pair<uint64_t, int32_t>> validators = {{1, 0}, {2, 0}, {7, 1}};
  auto m = ValidatorMetrics::Create(&store, groups, validators, {.enabled = true, .limit = 2});
  ASSERT_TRUE(m.ok()) << m.status();

  accounting::EpochResult r;
  r.attestations = {Att(1, 0, true, 1), Att(2, 0, false, 0), Att(7, 1, true, 3)};
  accounting::ProposalResult p;
  p.validator = 2;
  p.group = 0;
  p.slot = 101;
  p.outcome = accounting::ProposalOutcome::kMissed;
  r.proposals = {p};
  (*m)->RecordEpoch(r);
  (*m)->RecordEpoch(r);  // twice: counters accumulate

  std::string text;
  store.Render(exposition::Format::kText004, &text);
  // Group a: 2 duties x 2 epochs = 4; 1 included x 2 = 2; 1 missed x 2 = 2.
  EXPECT_THAT(text, HasSubstr("eth_validator_group_attestation_duties_total{group=\"a\","
                              "operator=\"x\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_group_attestations_included_total{group=\"a\","
                              "operator=\"x\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_group_attestations_missed_total{group=\"a\","
                              "operator=\"x\"} 2\n"));
  // Group b has no operator label value: rendered empty.
  EXPECT_THAT(text, HasSubstr("eth_validator_group_attestations_included_total{group=\"b\","
                              "operator=\"\"} 2\n"));
  // Delay histogram of group b: two observations of 3 -> le=3 bucket 2, le=2 bucket 0, sum 6.
  EXPECT_THAT(text, HasSubstr("eth_validator_group_attestation_inclusion_delay_slots_bucket{"
                              "group=\"b\",operator=\"\",le=\"2\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_group_attestation_inclusion_delay_slots_bucket{"
                              "group=\"b\",operator=\"\",le=\"3\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_group_attestation_inclusion_delay_slots_sum{"
                              "group=\"b\",operator=\"\"} 6\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_group_proposals_total{group=\"a\",operator=\"x\","
                              "outcome=\"missed\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_group_proposals_total{group=\"a\",operator=\"x\","
                              "outcome=\"proposed\"} 0\n"));
  // Per-validator, limited to the two lowest indices (1 and 2); 7 has none.
  EXPECT_THAT(text, HasSubstr("eth_validator_attestations_included_total{group=\"a\","
                              "validator_index=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_attestations_missed_total{group=\"a\","
                              "validator_index=\"2\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_attestation_inclusion_delay_slots_total{group=\"a\","
                              "validator_index=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_proposals_total{group=\"a\",validator_index=\"2\","
                              "outcome=\"missed\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("eth_validator_proposals_total{group=\"a\",validator_index=\"2\","
                              "outcome=\"proposed\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("validator_index=\"7\"")));
}

TEST(ValidatorMetricsTest, PerValidatorOffByDefault) {
  exposition::SeriesStore store;
  auto m = ValidatorMetrics::Create(&store, {{"a", {}}}, {{1, 0}}, {});
  ASSERT_TRUE(m.ok()) << m.status();
  std::string text;
  store.Render(exposition::Format::kText004, &text);
  EXPECT_THAT(text, Not(HasSubstr("validator_index")));
  EXPECT_THAT(text, HasSubstr("eth_validator_group_attestation_duties_total{group=\"a\"} 0\n"));
}

}  // namespace
}  // namespace stakewatch::app
