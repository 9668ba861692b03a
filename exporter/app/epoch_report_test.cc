// EpochEnricher against a node that answers with rows nobody asked for.
#include "app/epoch_report.h"

#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

constexpr beacon::ValidatorIndex kHuge = beacon::ValidatorIndex{1} << 60;

// Answers validators and balances with the requested rows plus one for index 2^60.
class LyingNode : public beacon::BeaconClient {
 public:
  absl::StatusOr<beacon::Genesis> GetGenesis() override { return absl::UnimplementedError(""); }
  absl::StatusOr<beacon::ChainSpec> GetSpec() override { return absl::UnimplementedError(""); }
  absl::StatusOr<beacon::SyncStatus> GetSyncing() override { return absl::UnimplementedError(""); }
  absl::StatusOr<beacon::FinalityCheckpoints> GetFinalityCheckpoints(std::string_view) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<std::optional<beacon::BlockHeader>> GetHeader(std::string_view) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<std::optional<beacon::Block>> GetBlock(std::string_view) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<std::optional<std::vector<beacon::Attestation>>> GetBlockAttestations(
      std::string_view) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<std::vector<beacon::Committee>> GetCommittees(std::string_view,
                                                               beacon::Epoch) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<beacon::ProposerDuties> GetProposerDuties(beacon::Epoch) override {
    return absl::UnimplementedError("");
  }
  absl::StatusOr<std::vector<beacon::ValidatorInfo>> GetValidators(
      std::string_view, const std::vector<std::string>& ids,
      const std::vector<std::string>&) override {
    std::vector<beacon::ValidatorInfo> out;
    for (const std::string& id : ids) {
      beacon::ValidatorInfo v;
      v.index = std::stoull(id);
      v.status = "active_ongoing";
      v.effective_balance = 32'000'000'000;
      out.push_back(v);
    }
    beacon::ValidatorInfo liar;
    liar.index = kHuge;
    liar.status = "active_ongoing";
    out.push_back(liar);
    return out;
  }
  absl::StatusOr<std::vector<beacon::ValidatorBalance>> GetValidatorBalances(
      std::string_view, const std::vector<beacon::ValidatorIndex>& ids) override {
    std::vector<beacon::ValidatorBalance> out;
    out.push_back({kHuge, 1});
    for (beacon::ValidatorIndex v : ids) out.push_back({v, 31'000'000'000 + v});
    return out;
  }
};

TEST(EpochEnricherTest, RowsNotAskedForAreIgnored) {
  LyingNode node;
  beacon::ChainSpec spec;
  spec.slots_per_epoch = 32;
  EpochEnricher enricher(&node, spec, {});
  ASSERT_TRUE(enricher.Prime(10, {3, 5}).ok());
  // The table covers only what was asked for (index 5), not 2^60.
  ASSERT_EQ(enricher.states().size(), 6u);
  EXPECT_EQ(enricher.states()[3].status, ValidatorStatus::kActiveOngoing);
  EXPECT_EQ(enricher.states()[5].balance, 31'000'000'005u);
  EXPECT_EQ(enricher.states()[5].balance_epoch, 9u);
  EXPECT_FALSE(enricher.states()[4].has_balance);
}

}  // namespace
}  // namespace stakewatch::app
