// Hand-built tests for accounting/sync_committee.h. Expected counts are worked out by hand in the
// comments from the bits set below.
#include "accounting/sync_committee.h"

#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::accounting {
namespace {

using ::testing::HasSubstr;

beacon::Block BlockWithBits(Slot slot, const std::vector<size_t>& set_positions) {
  beacon::Block b;
  b.slot = slot;
  b.sync_aggregate.emplace();
  for (size_t i : set_positions) {
    b.sync_aggregate->sync_committee_bits[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  return b;
}

// A 512-position committee where position i is held by validator 1000 + i, except that
// validator 7 holds positions 3 and 300 and validator 8 holds position 511.
std::vector<ValidatorIndex> Committee() {
  std::vector<ValidatorIndex> c(512);
  for (size_t i = 0; i < c.size(); ++i) c[i] = 1000 + i;
  c[3] = 7;
  c[300] = 7;
  c[511] = 8;
  return c;
}

TEST(AccountSyncCommitteeTest, TwoPositionsAndAnEmptySlot) {
  // Vote slots 100..103; their votes are carried by blocks 101..104. Slot 102 is empty, so the
  // votes for slot 101 are nowhere: 3 counted vote slots (100, 102, 103).
  const beacon::Block b101 = BlockWithBits(101, {3, 300, 511});  // vote 100: 7 x2, 8
  const beacon::Block b103 = BlockWithBits(103, {300});          // vote 102: 7 once; 8 missed
  const beacon::Block b104 = BlockWithBits(104, {3, 511, 5});    // vote 103: 7 once, 8
  const std::map<Slot, const beacon::Block*> blocks = {
      {101, &b101}, {102, nullptr}, {103, &b103}, {104, &b104}};
  MonitoredSet monitored;
  monitored.Add(7, 0);
  monitored.Add(8, 2);
  monitored.Add(9, 0);  // not in the committee: no result
  const auto r = AccountSyncCommittee(Committee(), blocks, 100, 103, monitored);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  const SyncCommitteeResult& v7 = (*r)[0];
  EXPECT_EQ(v7.validator, 7u);
  EXPECT_EQ(v7.group, 0);
  EXPECT_EQ(v7.positions, 2u);
  EXPECT_EQ(v7.slots, 6u);         // 2 positions x 3 counted vote slots
  EXPECT_EQ(v7.participated, 4u);  // 2 (vote 100) + 1 (vote 102) + 1 (vote 103)
  EXPECT_EQ(v7.missed, 2u);
  const SyncCommitteeResult& v8 = (*r)[1];
  EXPECT_EQ(v8.validator, 8u);
  EXPECT_EQ(v8.group, 2);
  EXPECT_EQ(v8.positions, 1u);
  EXPECT_EQ(v8.slots, 3u);
  EXPECT_EQ(v8.participated, 2u);  // votes 100 and 103
  EXPECT_EQ(v8.missed, 1u);        // vote 102
}

TEST(AccountSyncCommitteeTest, OnlyEmptyNextSlotsMeansNoDuties) {
  const std::map<Slot, const beacon::Block*> blocks = {{11, nullptr}, {12, nullptr}};
  MonitoredSet monitored;
  monitored.Add(8, 1);
  const auto r = AccountSyncCommittee(Committee(), blocks, 10, 11, monitored);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].validator, 8u);
  EXPECT_EQ((*r)[0].slots, 0u);
  EXPECT_EQ((*r)[0].participated, 0u);
  EXPECT_EQ((*r)[0].missed, 0u);
}

TEST(AccountSyncCommitteeTest, NoMonitoredMemberGivesNoResults) {
  const beacon::Block b = BlockWithBits(5, {});
  const std::map<Slot, const beacon::Block*> blocks = {{5, &b}};
  MonitoredSet monitored;
  monitored.Add(2, 0);
  const auto r = AccountSyncCommittee(Committee(), blocks, 4, 4, monitored);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->empty());
}

TEST(AccountSyncCommitteeTest, BadInputIsAnError) {
  MonitoredSet monitored;
  monitored.Add(7, 0);
  const beacon::Block b5 = BlockWithBits(5, {3});
  beacon::Block no_aggregate;
  no_aggregate.slot = 5;
  const beacon::Block wrong_slot = BlockWithBits(6, {});
  const std::map<Slot, const beacon::Block*> good = {{5, &b5}};

  EXPECT_THAT(AccountSyncCommittee({}, good, 4, 4, monitored).status().message(),
              HasSubstr("sync committee has 0 positions"));
  EXPECT_THAT(AccountSyncCommittee(std::vector<ValidatorIndex>(513, 7), good, 4, 4, monitored)
                  .status()
                  .message(),
              HasSubstr("513 positions"));
  EXPECT_THAT(AccountSyncCommittee(Committee(), good, 5, 4, monitored).status().message(),
              HasSubstr("is empty"));
  EXPECT_THAT(AccountSyncCommittee(Committee(), good, 4, 5, monitored).status().message(),
              HasSubstr("no block entry for slot 6"));
  EXPECT_THAT(
      AccountSyncCommittee(Committee(), {{5, &no_aggregate}}, 4, 4, monitored).status().message(),
      HasSubstr("block at slot 5 has no sync_aggregate"));
  EXPECT_THAT(
      AccountSyncCommittee(Committee(), {{5, &wrong_slot}}, 4, 4, monitored).status().message(),
      HasSubstr("holds a block of slot 6"));
  // A small committee works too (positions beyond its size are ignored).
  const auto r = AccountSyncCommittee({7, 1, 7}, good, 4, 4, monitored);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].slots, 2u);         // positions 0 and 2
  EXPECT_EQ((*r)[0].participated, 0u);  // only bit 3 is set
}

}  // namespace
}  // namespace stakewatch::accounting
