// Hand-built cases for per-epoch accounting. Every expected value below is worked out by hand
// from the inputs written in the test, not taken from the code's output.
#include "accounting/accounting.h"

#include <map>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::accounting {
namespace {

using beacon::Attestation;
using beacon::Block;
using beacon::Committee;
using beacon::ProposerDuties;
using ::testing::HasSubstr;

constexpr uint64_t kSpe = 4;  // a tiny epoch keeps hand calculation easy
constexpr Epoch kEpoch = 10;  // slots 40..43; next epoch 44..47

// Builds SSZ bitlist bytes from a string of '0'/'1' (bit i = character i), adding the marker.
std::vector<uint8_t> Bitlist(const std::string& bits) {
  std::vector<uint8_t> out(bits.size() / 8 + 1, 0);
  for (size_t i = 0; i < bits.size(); ++i) {
    if (bits[i] == '1') out[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  out[bits.size() / 8] |= static_cast<uint8_t>(1u << (bits.size() % 8));
  return out;
}

Attestation Deneb(Slot slot, uint64_t index, const std::string& bits) {
  Attestation a;
  a.data.slot = slot;
  a.data.index = index;
  a.aggregation_bits = Bitlist(bits);
  return a;
}

Attestation Electra(Slot slot, uint64_t committee_bits, const std::string& bits) {
  Attestation a;
  a.data.slot = slot;
  a.data.index = 0;
  a.committee_bits = committee_bits;
  a.aggregation_bits = Bitlist(bits);
  return a;
}

struct Fixture {
  std::vector<Committee> committees;
  std::map<Slot, Block> block_storage;
  std::map<Slot, const Block*> blocks;
  ProposerDuties duties;
  MonitoredSet monitored;

  Fixture() {
    // Two committees per slot, validators numbered so that slot s, committee c, position i is
    // validator 100*(s-40) + 10*c + i. Committee 0 has 3 members, committee 1 has 4.
    for (Slot s = 40; s < 44; ++s) {
      for (uint64_t c = 0; c < 2; ++c) {
        Committee com;
        com.slot = s;
        com.index = c;
        for (uint64_t i = 0; i < (c == 0 ? 3u : 4u); ++i)
          com.validators.push_back(100 * (s - 40) + 10 * c + i);
        committees.push_back(com);
      }
    }
    for (Slot s = 40; s < 48; ++s) {
      Block b;
      b.slot = s;
      b.proposer_index = 1000 + s;
      block_storage[s] = b;
    }
  }
  std::vector<beacon::BlockHeader> orphaned;
  void MakeEmpty(Slot s) { block_storage.erase(s); }
  Block& At(Slot s) { return block_storage.at(s); }
  // Root of the block at slot s in this test chain: 32 bytes of value s.
  static beacon::Root R(Slot s) {
    beacon::Root r;
    r.fill(static_cast<uint8_t>(s));
    return r;
  }
  absl::StatusOr<EpochResult> Run() {
    blocks.clear();
    Slot prev = 39;  // the chain's block before the range
    for (Slot s = 40; s < 48; ++s) {
      auto it = block_storage.find(s);
      blocks[s] = it == block_storage.end() ? nullptr : &it->second;
      if (it != block_storage.end()) {
        it->second.parent_root = R(prev);
        prev = s;
      }
    }
    EpochInput in;
    in.epoch = kEpoch;
    in.slots_per_epoch = kSpe;
    in.committees = &committees;
    in.blocks = &blocks;
    in.proposer_duties = &duties;
    in.orphaned_headers = &orphaned;
    return AccountEpoch(in, monitored);
  }
};

// A vote with the given head and target roots (target epoch 10, source always the justified one).
Attestation Vote(Attestation a, beacon::Root head, beacon::Root target) {
  a.data.beacon_block_root = head;
  a.data.target.epoch = kEpoch;
  a.data.target.root = target;
  return a;
}

const AttestationResult* Find(const EpochResult& r, ValidatorIndex v) {
  for (const auto& a : r.attestations) {
    if (a.validator == v) return &a;
  }
  return nullptr;
}

TEST(AccountingTest, DenebVoteIncludedNextSlot) {
  Fixture f;
  f.monitored.Add(11, 0);  // slot 40, committee 1, position 1
  f.monitored.Add(12, 0);  // slot 40, committee 1, position 2 (does not vote)
  f.At(41).attestations.push_back(Deneb(40, 1, "0100"));
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->attestations.size(), 2u);
  const AttestationResult* a = Find(*r, 11);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(a->included);
  EXPECT_EQ(a->duty_slot, 40u);
  EXPECT_EQ(a->committee_index, 1u);
  EXPECT_EQ(a->inclusion_slot, 41u);
  EXPECT_EQ(a->inclusion_delay, 1u);
  const AttestationResult* b = Find(*r, 12);
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->included);
}

TEST(AccountingTest, ElectraAggregateSpanningTwoCommittees) {
  Fixture f;
  for (ValidatorIndex v : {200, 201, 202, 210, 211, 212, 213}) f.monitored.Add(v, 1);
  // Slot 42: committee 0 = {200,201,202}, committee 1 = {210,211,212,213}. committee_bits 0b11:
  // bits 0..2 belong to committee 0, bits 3..6 to committee 1. "1010011" -> 200, 202, 212, 213.
  f.At(43).attestations.push_back(Electra(42, 0b11, "1010011"));
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  std::map<ValidatorIndex, bool> included;
  for (const auto& a : r->attestations) included[a.validator] = a.included;
  EXPECT_EQ(included, (std::map<ValidatorIndex, bool>{{200, true},
                                                      {201, false},
                                                      {202, true},
                                                      {210, false},
                                                      {211, false},
                                                      {212, true},
                                                      {213, true}}));
  EXPECT_EQ(Find(*r, 213)->inclusion_slot, 43u);
  EXPECT_EQ(Find(*r, 213)->committee_index, 1u);
  EXPECT_EQ(Find(*r, 213)->group, 1);
}

TEST(AccountingTest, ElectraOnlySecondCommittee) {
  Fixture f;
  f.monitored.Add(310, 0);
  f.monitored.Add(300, 0);
  // committee_bits 0b10: only committee 1 ({310..313}), 4 bits.
  f.At(44).attestations.push_back(Electra(43, 0b10, "1000"));
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(Find(*r, 310)->included);
  EXPECT_EQ(Find(*r, 310)->inclusion_slot, 44u);
  EXPECT_FALSE(Find(*r, 300)->included);
}

TEST(AccountingTest, VoteIncludedTwiceCountsFirstInclusion) {
  Fixture f;
  f.monitored.Add(0, 0);  // slot 40 committee 0 position 0
  f.MakeEmpty(41);
  f.At(42).attestations.push_back(Electra(40, 0b01, "100"));
  f.At(45).attestations.push_back(Electra(40, 0b01, "110"));  // again, plus validator 1
  f.monitored.Add(1, 0);
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Find(*r, 0)->inclusion_slot, 42u);
  EXPECT_EQ(Find(*r, 0)->inclusion_delay, 2u);  // slot 41 was empty: delay 2 (optimal is 2 too)
  EXPECT_EQ(Find(*r, 1)->inclusion_slot, 45u);
  EXPECT_EQ(Find(*r, 1)->inclusion_delay, 5u);
}

TEST(AccountingTest, LateInclusionIsNotAMiss) {
  Fixture f;
  f.monitored.Add(100, 0);                               // slot 41
  f.At(47).attestations.push_back(Deneb(41, 0, "100"));  // last slot of the next epoch
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(Find(*r, 100)->included);
  EXPECT_EQ(Find(*r, 100)->inclusion_delay, 6u);
}

TEST(AccountingTest, NextEpochVotesAreIgnored) {
  Fixture f;
  f.monitored.Add(0, 0);
  // A vote for slot 44 (epoch 11) in block 45 is not a vote of epoch 10, even for a validator
  // that has a duty in epoch 10 at the same committee position.
  f.At(45).attestations.push_back(Deneb(44, 0, "111"));
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(Find(*r, 0)->included);
}

TEST(AccountingTest, UnmonitoredValidatorsAreNotReported) {
  Fixture f;
  f.monitored.Add(311, 3);
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->attestations.size(), 1u);
  EXPECT_EQ(r->attestations[0].validator, 311u);
  EXPECT_EQ(r->attestations[0].group, 3);
  EXPECT_EQ(r->attestations[0].duty_slot, 43u);
}

TEST(AccountingTest, Proposals) {
  Fixture f;
  f.monitored.Add(7, 2);
  f.monitored.Add(8, 2);
  f.monitored.Add(9, 2);
  f.duties.duties = {{{}, 7, 40}, {{}, 8, 41}, {{}, 9, 42}, {{}, 55, 43}};
  f.At(40).proposer_index = 7;
  f.MakeEmpty(41);
  f.At(42).proposer_index = 1234;  // someone else's block at 9's slot
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->proposals.size(), 3u);  // 55 is not monitored
  EXPECT_EQ(r->proposals[0].validator, 7u);
  EXPECT_EQ(r->proposals[0].outcome, ProposalOutcome::kProposed);
  EXPECT_EQ(r->proposals[1].validator, 8u);
  EXPECT_EQ(r->proposals[1].outcome, ProposalOutcome::kMissed);
  EXPECT_EQ(r->proposals[2].validator, 9u);
  EXPECT_EQ(r->proposals[2].outcome, ProposalOutcome::kMissed);
}

TEST(AccountingTest, OrphanedProposals) {
  Fixture f;
  f.monitored.Add(7, 0);
  f.monitored.Add(8, 0);
  f.monitored.Add(9, 0);
  f.duties.duties = {{{}, 7, 40}, {{}, 8, 41}, {{}, 9, 42}};
  f.At(40).proposer_index = 7;
  f.At(40).execution_payload.emplace();
  f.At(40).execution_payload->fee_recipient.fill(0xfe);
  f.At(40).execution_payload->block_number = 777;
  // Slot 41: empty on the canonical chain, but 8's block was seen there and orphaned.
  f.MakeEmpty(41);
  beacon::BlockHeader orphan;
  orphan.slot = 41;
  orphan.proposer_index = 8;
  orphan.canonical = false;
  // Slot 42: empty; the only block seen there is by another validator (not 9's orphan), and a
  // canonical header by 9 in the list must not count either.
  f.MakeEmpty(42);
  beacon::BlockHeader other = orphan;
  other.slot = 42;
  other.proposer_index = 1234;
  beacon::BlockHeader canonical_claim = orphan;
  canonical_claim.slot = 42;
  canonical_claim.proposer_index = 9;
  canonical_claim.canonical = true;
  f.orphaned = {orphan, other, canonical_claim};
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->proposals.size(), 3u);
  EXPECT_EQ(r->proposals[0].outcome, ProposalOutcome::kProposed);
  ASSERT_TRUE(r->proposals[0].fee_recipient.has_value());
  EXPECT_EQ((*r->proposals[0].fee_recipient)[19], 0xfe);
  EXPECT_EQ(r->proposals[0].execution_block_number, 777u);
  EXPECT_EQ(r->proposals[1].outcome, ProposalOutcome::kOrphaned);
  EXPECT_FALSE(r->proposals[1].fee_recipient.has_value());
  EXPECT_EQ(r->proposals[2].outcome, ProposalOutcome::kMissed);
  EXPECT_EQ(ProposalOutcomeName(ProposalOutcome::kOrphaned), "orphaned");
}

TEST(AccountingTest, BitLengthMismatchIsAnError) {
  Fixture f;
  f.At(41).attestations.push_back(Electra(40, 0b11, "101"));  // 3 bits, committees hold 7
  auto r = f.Run();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("length 3 != committee sizes 7"));
}

TEST(AccountingTest, UnknownCommitteeIsAnError) {
  Fixture f;
  f.At(41).attestations.push_back(Electra(40, 0b100, "1000"));  // committee 2 does not exist
  auto r = f.Run();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("no committee 2 at slot 40"));
}

TEST(AccountingTest, MissingMarkerIsAnError) {
  Fixture f;
  Attestation a = Deneb(40, 0, "101");
  a.aggregation_bits = {0x05, 0x00};
  f.At(41).attestations.push_back(a);
  auto r = f.Run();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("no length marker"));
}

TEST(AccountingTest, SlotNotLookedUpIsAnError) {
  Fixture f;
  f.committees.erase(f.committees.begin());  // fine by itself
  auto r = f.Run();
  ASSERT_TRUE(r.ok());
  std::map<Slot, const Block*> partial;
  EpochInput in;
  in.epoch = kEpoch;
  in.slots_per_epoch = kSpe;
  in.committees = &f.committees;
  in.blocks = &partial;
  in.proposer_duties = &f.duties;
  auto r2 = AccountEpoch(in, f.monitored);
  ASSERT_FALSE(r2.ok());
  EXPECT_THAT(r2.status().message(), HasSubstr("slot 40 was not looked up"));
}

TEST(AccountingTest, CommitteeOutsideEpochIsAnError) {
  Fixture f;
  f.committees[0].slot = 39;
  auto r = f.Run();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("outside the epoch"));
}

TEST(AccountingTest, VoteNotEarlierThanBlockIsAnError) {
  Fixture f;
  f.At(41).attestations.push_back(Deneb(41, 0, "100"));
  auto r = f.Run();
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("is not earlier"));
}

TEST(AccountingTest, CorrectnessTimelinessAndEffectiveness) {
  Fixture f;
  using F = Fixture;
  // Slot 41 is empty. Target root of epoch 10 = root of the block at slot 40.
  f.MakeEmpty(41);
  for (ValidatorIndex v : {0, 1, 2, 100, 101, 102, 200, 201}) f.monitored.Add(v, 0);
  // Slot 40 votes (committee 0 = {0,1,2}): included at 42 (delay 2, optimal 2: 41 is empty).
  //   0: head = block 40 (correct), target correct.   -> timely source, target; not head (delay 2)
  //   1: head = block 39 (wrong), target correct.
  f.At(42).attestations.push_back(Vote(Electra(40, 0b01, "100"), F::R(40), F::R(40)));
  f.At(42).attestations.push_back(Vote(Electra(40, 0b01, "010"), F::R(39), F::R(40)));
  // Slot 41 (empty) votes, committee 0 = {100,101,102}: the canonical head at 41 is block 40.
  //   100: head 40 (correct), included at 42: delay 1, optimal 1 -> all three timely.
  //   101: head 40, wrong target (block 39), included at 47: delay 6 -> only head correct.
  f.At(42).attestations.push_back(Vote(Electra(41, 0b01, "100"), F::R(40), F::R(40)));
  f.At(47).attestations.push_back(Vote(Electra(41, 0b01, "010"), F::R(40), F::R(39)));
  // Slot 42 votes, committee 0 = {200,201,202}: 200 included at 47, the last block of the range,
  // voting for head 42. 201 never included.
  f.At(47).attestations.push_back(Vote(Electra(42, 0b01, "100"), F::R(42), F::R(40)));
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();

  const AttestationResult* a0 = Find(*r, 0);
  EXPECT_EQ(a0->inclusion_delay, 2u);
  EXPECT_EQ(a0->optimal_delay, 2u);
  EXPECT_DOUBLE_EQ(a0->effectiveness, 1.0);
  EXPECT_TRUE(a0->head_correct);
  EXPECT_TRUE(a0->target_correct);
  EXPECT_TRUE(a0->source_correct);
  EXPECT_TRUE(a0->timely_source);
  EXPECT_TRUE(a0->timely_target);
  EXPECT_FALSE(a0->timely_head);

  const AttestationResult* a1 = Find(*r, 1);
  EXPECT_FALSE(a1->head_correct);
  EXPECT_TRUE(a1->target_correct);
  EXPECT_FALSE(a1->timely_head);
  EXPECT_TRUE(a1->timely_target);

  const AttestationResult* a100 = Find(*r, 100);
  EXPECT_EQ(a100->inclusion_delay, 1u);
  EXPECT_EQ(a100->optimal_delay, 1u);
  EXPECT_TRUE(a100->head_correct);
  EXPECT_TRUE(a100->timely_head);
  EXPECT_TRUE(a100->timely_source);

  const AttestationResult* a101 = Find(*r, 101);
  EXPECT_EQ(a101->inclusion_delay, 6u);
  EXPECT_TRUE(a101->head_correct);
  EXPECT_FALSE(a101->target_correct);
  EXPECT_FALSE(a101->timely_source);  // 6 > integer_squareroot(4) = 2
  EXPECT_FALSE(a101->timely_target);
  EXPECT_FALSE(a101->timely_head);
  EXPECT_DOUBLE_EQ(a101->effectiveness, 1.0 / 6.0);

  const AttestationResult* a200 = Find(*r, 200);
  EXPECT_EQ(a200->inclusion_slot, 47u);
  EXPECT_EQ(a200->optimal_delay, 1u);
  EXPECT_TRUE(a200->head_correct);
  EXPECT_DOUBLE_EQ(a200->effectiveness, 0.2);

  const AttestationResult* a201 = Find(*r, 201);
  EXPECT_FALSE(a201->included);
  EXPECT_EQ(a201->optimal_delay, 1u);
  EXPECT_EQ(a201->effectiveness, 0);
  EXPECT_FALSE(a201->head_correct);
}

TEST(AccountingTest, RootsComeFromTheParentChain) {
  Fixture f;
  f.monitored.Add(300, 0);  // slot 43: its root is block 44's parent_root
  f.monitored.Add(200, 0);  // slot 42: its root is block 43's parent_root
  f.At(47).attestations.push_back(Vote(Electra(43, 0b01, "100"), Fixture::R(43), Fixture::R(40)));
  f.At(43).attestations.push_back(Vote(Electra(42, 0b01, "100"), Fixture::R(42), Fixture::R(40)));
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(Find(*r, 200)->head_correct);  // root of 42 = parent of 43
  EXPECT_TRUE(Find(*r, 300)->head_correct);  // root of 43 = parent of 44
  EXPECT_TRUE(Find(*r, 300)->target_correct);
}

TEST(AccountingTest, TargetWhenEpochStartsEmpty) {
  Fixture f;
  f.MakeEmpty(40);
  f.monitored.Add(100, 0);  // slot 41
  // The epoch's first slot is empty: the target root is the latest block before it (slot 39).
  f.At(42).attestations.push_back(Vote(Deneb(41, 0, "100"), Fixture::R(41), Fixture::R(39)));
  auto r = f.Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(Find(*r, 100)->target_correct);
  EXPECT_TRUE(Find(*r, 100)->head_correct);
}

TEST(AttestationRewardTest, ActualAgainstIdeal) {
  beacon::AttestationRewards rewards;
  rewards.ideal_rewards = {{31000000000, 1, 2, 3, 0}, {32000000000, 700, 1300, 690, 0}};
  rewards.total_rewards = {{5, 700, 1300, 690, 0}, {6, 0, -1300, -690, 0}, {7, 0, 1300, 690, 0}};
  auto full = AttestationReward(rewards, 5, 32000000000);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->reward, 2690);
  EXPECT_EQ(full->ideal_reward, 2690);
  EXPECT_DOUBLE_EQ(full->effectiveness, 1.0);
  auto penalised = AttestationReward(rewards, 6, 32000000000);
  ASSERT_TRUE(penalised.ok());
  EXPECT_EQ(penalised->reward, -1990);
  EXPECT_DOUBLE_EQ(penalised->effectiveness, -1990.0 / 2690.0);
  auto no_head = AttestationReward(rewards, 7, 32000000000);
  EXPECT_DOUBLE_EQ(no_head->effectiveness, 1990.0 / 2690.0);
  EXPECT_EQ(AttestationReward(rewards, 8, 32000000000).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(AttestationReward(rewards, 5, 30000000000).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(MonitoredSetTest, CountsAndOverrides) {
  MonitoredSet m;
  m.Add(5, 1);
  m.Add(5, 2);
  m.Add(1000, 0);
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.GroupOf(5), 2);
  EXPECT_EQ(m.GroupOf(6), MonitoredSet::kNotMonitored);
  EXPECT_EQ(m.GroupOf(5000), MonitoredSet::kNotMonitored);
}

}  // namespace
}  // namespace stakewatch::accounting
