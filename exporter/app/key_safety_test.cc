#include "app/key_safety.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

using ::testing::ElementsAre;

TEST(ReconcileTest, EveryCaseOfTheTruthTable) {
  // Group 0: v1 included+recorded (fine), v2 included+no row (elsewhere), v3 not included+row
  // (not included), v4 not included+no row (a plain miss: nothing to say).
  // Group 1: v5 included, not registered (unknown), v6 included, pruned (unknown).
  const std::vector<ChainDuty> duties = {{1, 0, true},  {2, 0, true}, {3, 0, false},
                                         {4, 0, false}, {5, 1, true}, {6, 1, true}};
  const std::vector<DbFact> facts = {{true, true, false},   {true, false, false},
                                     {true, true, false},   {true, false, false},
                                     {false, false, false}, {true, false, true}};
  // Blocks: v7 (group 1) recorded; v8 (group 0) no row: elsewhere; v9 unregistered.
  const std::vector<ChainBlock> blocks = {{7, 1, 100}, {8, 0, 101}, {9, 0, 102}};
  const std::vector<DbFact> block_facts = {
      {true, true, false}, {true, false, false}, {false, false, false}};
  const KeySafetyResult r = Reconcile(duties, facts, blocks, block_facts, 2);
  ASSERT_EQ(r.attestations.size(), 2u);
  EXPECT_EQ(r.attestations[0].checked, 4u);
  EXPECT_EQ(r.attestations[0].signed_elsewhere, 1u);
  EXPECT_EQ(r.attestations[0].not_included, 1u);
  EXPECT_EQ(r.attestations[0].unknown, 0u);
  EXPECT_EQ(r.attestations[1].checked, 0u);
  EXPECT_EQ(r.attestations[1].unknown, 2u);
  EXPECT_EQ(r.blocks[0].checked, 1u);
  EXPECT_EQ(r.blocks[0].signed_elsewhere, 1u);
  EXPECT_EQ(r.blocks[0].unknown, 1u);
  EXPECT_EQ(r.blocks[1].checked, 1u);
  EXPECT_EQ(r.blocks[1].signed_elsewhere, 0u);
  EXPECT_THAT(r.flagged, ElementsAre(2, 8));
  EXPECT_THAT(r.flagged_counts, ElementsAre(1, 1));
  EXPECT_THAT(r.not_included, ElementsAre(3));
}

TEST(ReconcileTest, LiveWithoutARowIsCountedApartNeverAsSignedElsewhere) {
  // v1: live, not included, no row: the weaker signal. v2: live, not included, row: our vote,
  // not included. v3: not live, not included, no row: a plain miss. v4: live, not included, no
  // attestation row, but it proposed a block in E (its liveness may be the block): nothing.
  const std::vector<ChainDuty> duties = {
      {1, 0, false, true}, {2, 0, false, true}, {3, 0, false, false}, {4, 0, false, true}};
  const std::vector<DbFact> facts = {
      {true, false, false}, {true, true, false}, {true, false, false}, {true, false, false}};
  const std::vector<ChainBlock> blocks = {{4, 0, 33}};
  const std::vector<DbFact> block_facts = {{true, true, false}};
  const KeySafetyResult r = Reconcile(duties, facts, blocks, block_facts, 1);
  EXPECT_EQ(r.attestations[0].signed_elsewhere, 0u);
  EXPECT_EQ(r.attestations[0].live_unrecorded, 1u);
  EXPECT_EQ(r.attestations[0].not_included, 1u);
  EXPECT_TRUE(r.flagged.empty());
  EXPECT_THAT(r.not_included, ElementsAre(2));
}

TEST(ReconcileTest, AValidatorFlaggedTwiceIsListedOnce) {
  const std::vector<ChainDuty> duties = {{5, 0, true}};
  const std::vector<DbFact> facts = {{true, false, false}};
  const std::vector<ChainBlock> blocks = {{5, 0, 7}};
  const std::vector<DbFact> block_facts = {{true, false, false}};
  const KeySafetyResult r = Reconcile(duties, facts, blocks, block_facts, 1);
  EXPECT_THAT(r.flagged, ElementsAre(5));
  EXPECT_THAT(r.flagged_counts, ElementsAre(2));
  EXPECT_EQ(r.attestations[0].signed_elsewhere + r.blocks[0].signed_elsewhere, 2u);
}

}  // namespace
}  // namespace stakewatch::app
