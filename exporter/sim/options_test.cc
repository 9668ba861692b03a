#include "sim/options.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::sim {
namespace {

using ::testing::HasSubstr;

TEST(ParseSimFlagsTest, ParsesEveryFlag) {
  FakeClock clock;
  absl::StatusOr<SimOptions> o = ParseSimFlags(
      {"simulate", "--port=0", "--listen-address=0.0.0.0", "--validators=1100000",
       "--slot-time=0.1", "--seed=99", "--genesis-time=1600000000", "--missed-slot-rate=0.1",
       "--missed-attestation-rate=0.2", "--late-attestation-rate=0.3", "--wrong-head-rate=0.4",
       "--duplicate-inclusion-rate=0.5", "--ground-truth=/tmp/gt.jsonl",
       "--ground-truth-validators=10-20"},
      clock);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->port, 0);
  EXPECT_EQ(o->listen_address, "0.0.0.0");
  EXPECT_EQ(o->validators, 1100000u);
  EXPECT_DOUBLE_EQ(o->seconds_per_slot, 0.1);
  EXPECT_EQ(o->seed, 99u);
  EXPECT_EQ(o->genesis_time, absl::FromUnixSeconds(1600000000));
  EXPECT_DOUBLE_EQ(o->missed_slot_rate, 0.1);
  EXPECT_DOUBLE_EQ(o->missed_attestation_rate, 0.2);
  EXPECT_DOUBLE_EQ(o->late_attestation_rate, 0.3);
  EXPECT_DOUBLE_EQ(o->wrong_head_rate, 0.4);
  EXPECT_DOUBLE_EQ(o->duplicate_inclusion_rate, 0.5);
  EXPECT_EQ(o->ground_truth_path, "/tmp/gt.jsonl");
  EXPECT_EQ(o->ground_truth_first_validator, 10u);
  EXPECT_EQ(o->ground_truth_last_validator, 20u);
}

TEST(ParseSimFlagsTest, LifecycleBalanceAndSyncFlags) {
  FakeClock clock;
  absl::StatusOr<SimOptions> o =
      ParseSimFlags({"--exited-rate=0.1", "--slashed-rate=0.05", "--pending-count=250",
                     "--withdrawal-every=3", "--sync-miss-rate=0.2"},
                    clock);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_DOUBLE_EQ(o->exited_rate, 0.1);
  EXPECT_DOUBLE_EQ(o->slashed_rate, 0.05);
  EXPECT_EQ(o->pending_count, 250u);
  EXPECT_EQ(o->withdrawal_every, 3u);
  EXPECT_DOUBLE_EQ(o->sync_miss_rate, 0.2);
  absl::StatusOr<SimOptions> d = ParseSimFlags({}, clock);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->exited_rate, 0.0);
  EXPECT_EQ(d->slashed_rate, 0.0);
  EXPECT_EQ(d->pending_count, 0u);
  EXPECT_EQ(d->withdrawal_every, 0u);
  EXPECT_EQ(d->sync_miss_rate, 0.0);
  for (const char* bad :
       {"--exited-rate=1.5", "--slashed-rate=-0.1", "--pending-count=x", "--pending-count=100001",
        "--withdrawal-every=-1", "--sync-miss-rate=2"}) {
    EXPECT_FALSE(ParseSimFlags({bad}, clock).ok()) << bad;
  }
  absl::StatusOr<SimOptions> sum =
      ParseSimFlags({"--exited-rate=0.7", "--slashed-rate=0.4"}, clock);
  ASSERT_FALSE(sum.ok());
  EXPECT_THAT(sum.status().message(), HasSubstr("exited_rate + slashed_rate"));
  EXPECT_THAT(SimUsage(), HasSubstr("--withdrawal-every"));
  EXPECT_THAT(SimUsage(), HasSubstr("--sync-miss-rate"));
}

TEST(ParseSimFlagsTest, OrphanReorgAndFeeRecipientFlags) {
  FakeClock clock;
  absl::StatusOr<SimOptions> o =
      ParseSimFlags({"--orphan-rate=0.05", "--reorg-slots=2",
                     "--fee-recipient=0xABCDEF0000000000000000000000000000000001",
                     "--wrong-fee-recipient-rate=0.3"},
                    clock);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_DOUBLE_EQ(o->orphan_rate, 0.05);
  EXPECT_EQ(o->reorg_slots, 2u);
  EXPECT_EQ(o->fee_recipient, "0xABCDEF0000000000000000000000000000000001");
  EXPECT_DOUBLE_EQ(o->wrong_fee_recipient_rate, 0.3);
  absl::StatusOr<SimOptions> d = ParseSimFlags({}, clock);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->orphan_rate, 0.0);
  EXPECT_EQ(d->reorg_slots, 0u);
  EXPECT_EQ(d->fee_recipient, "0x00000000000000000000000000000000000fee01");
  EXPECT_EQ(d->wrong_fee_recipient_rate, 0.0);
  for (const char* bad :
       {"--orphan-rate=1.5", "--reorg-slots=65", "--reorg-slots=-1", "--fee-recipient=0x12",
        "--fee-recipient=0xZZCDEF0000000000000000000000000000000001",
        "--wrong-fee-recipient-rate=2"}) {
    EXPECT_FALSE(ParseSimFlags({bad}, clock).ok()) << bad;
  }
  absl::StatusOr<SimOptions> sum =
      ParseSimFlags({"--missed-slot-rate=0.7", "--orphan-rate=0.4"}, clock);
  ASSERT_FALSE(sum.ok());
  EXPECT_THAT(sum.status().message(), HasSubstr("missed_slot_rate + orphan_rate"));
  for (const char* flag :
       {"--orphan-rate", "--reorg-slots", "--fee-recipient", "--wrong-fee-recipient-rate"}) {
    EXPECT_THAT(SimUsage(), HasSubstr(flag));
  }
}

TEST(ParseSimFlagsTest, DefaultsAndAlias) {
  FakeClock clock(absl::FromUnixSeconds(1700000000) + absl::Milliseconds(700));
  absl::StatusOr<SimOptions> o = ParseSimFlags({"--missed-proposal-rate=0.25"}, clock);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_DOUBLE_EQ(o->missed_slot_rate, 0.25);
  EXPECT_EQ(o->validators, 1000u);
  EXPECT_DOUBLE_EQ(o->seconds_per_slot, 12.0);
  // Now (rounded down to a second) minus 4 epochs of 32 slots of 12 s.
  EXPECT_EQ(o->genesis_time, absl::FromUnixSeconds(1700000000 - 4 * 32 * 12));
  EXPECT_EQ(o->port, 5052);
  EXPECT_EQ(o->listen_address, "127.0.0.1");
}

TEST(ParseSimFlagsTest, RejectsBadInput) {
  FakeClock clock;
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{"--bogus=1"}, "unknown flag --bogus"},
      {{"--validators"}, "needs a value"},
      {{"validators=3"}, "unexpected argument"},
      {{"--validators=0"}, "1..1100000"},
      {{"--validators=1100001"}, "1..1100000"},
      {{"--validators=abc"}, "non-negative integer"},
      {{"--validators=-5"}, "non-negative integer"},
      {{"--port=70000"}, "port"},
      {{"--slot-time=abc"}, "expected a number"},
      {{"--slot-time=0.0001"}, "milliseconds"},
      {{"--slot-time=0.1005"}, "milliseconds"},
      {{"--missed-slot-rate=1.5"}, "probability"},
      {{"--wrong-head-rate=-0.1"}, "probability"},
      {{"--late-attestation-rate=nan"}, "number"},
      {{"--ground-truth-validators=5-2"}, "A must be <= B"},
      {{"--ground-truth-validators=5"}, "expected A-B"},
      {{"--genesis-time=1.5"}, "non-negative integer"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<SimOptions> o = ParseSimFlags(c.args, clock);
    ASSERT_FALSE(o.ok()) << c.args[0];
    EXPECT_TRUE(absl::IsInvalidArgument(o.status())) << c.args[0];
    EXPECT_THAT(std::string(o.status().message()), HasSubstr(c.message)) << c.args[0];
  }
}

}  // namespace
}  // namespace stakewatch::sim
