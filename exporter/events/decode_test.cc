#include "events/decode.h"

#include <string>
#include <string_view>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::events {
namespace {

using ::testing::HasSubstr;

// Test-local hex decoding (std::stoul per byte), independent of the decoder's own hex parser.
beacon::Root R(std::string_view hex) {
  beacon::Root r{};
  EXPECT_EQ(hex.size(), 66u) << hex;
  for (size_t i = 0; i < 32 && 2 + 2 * i + 2 <= hex.size(); ++i) {
    r[i] = static_cast<uint8_t>(std::stoul(std::string(hex.substr(2 + 2 * i, 2)), nullptr, 16));
  }
  return r;
}

constexpr std::string_view kRootA =
    "0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf";
constexpr std::string_view kRootB =
    "0x600e852a08c1200654ddf11025f1ceacb3c2e74bdd5c630cde0838b2591b69f9";
constexpr std::string_view kRootC =
    "0x5e0043f107cb57913498fbf2f99ff55e730bf1e151f02f221e977c91a90a0e91";
constexpr std::string_view kRootD =
    "0x76262e91970d375a19bfe8a867288d7b9cde43c8635f598d93d39d041706fc76";

// The examples from apis/eventstream/index.yaml, verbatim.
constexpr std::string_view kHeadExample =
    R"({"slot":"10", "block":"0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf", "state":"0x600e852a08c1200654ddf11025f1ceacb3c2e74bdd5c630cde0838b2591b69f9", "epoch_transition":false, "previous_duty_dependent_root":"0x5e0043f107cb57913498fbf2f99ff55e730bf1e151f02f221e977c91a90a0e91", "current_duty_dependent_root":"0x5e0043f107cb57913498fbf2f99ff55e730bf1e151f02f221e977c91a90a0e91", "execution_optimistic": false})";
constexpr std::string_view kBlockExample =
    R"({"slot":"10", "block":"0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf", "execution_optimistic": false})";
constexpr std::string_view kFinalizedExample =
    R"({"block":"0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf", "state":"0x600e852a08c1200654ddf11025f1ceacb3c2e74bdd5c630cde0838b2591b69f9", "epoch":"2", "execution_optimistic": false })";
constexpr std::string_view kReorgExample =
    R"({"slot":"200", "depth":"50", "old_head_block":"0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf", "new_head_block":"0x76262e91970d375a19bfe8a867288d7b9cde43c8635f598d93d39d041706fc76", "old_head_state":"0x9a2fefd2fdb57f74993c7780ea5b9030d2897b615b89f808011ca5aebed54eaf", "new_head_state":"0x600e852a08c1200654ddf11025f1ceacb3c2e74bdd5c630cde0838b2591b69f9", "epoch":"2", "execution_optimistic": false})";

template <typename T>
T DecodeAs(std::string_view topic, std::string_view data) {
  absl::StatusOr<std::optional<Event>> e = DecodeEvent(topic, data);
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok() || !e->has_value() || !std::holds_alternative<T>(**e)) {
    ADD_FAILURE() << "not a " << topic << " event";
    return T{};
  }
  return std::get<T>(**e);
}

std::string ErrorOf(std::string_view topic, std::string_view data) {
  absl::StatusOr<std::optional<Event>> e = DecodeEvent(topic, data);
  EXPECT_FALSE(e.ok()) << topic << ": " << data;
  if (e.ok()) return "";
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(e.status().message());
}

// Replaces the first `from` in `s` by `to`.
std::string Replace(std::string_view s, std::string_view from, std::string_view to) {
  std::string out(s);
  const size_t at = out.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) out.replace(at, from.size(), to);
  return out;
}

TEST(DecodeEventTest, HeadExample) {
  HeadEvent want;
  want.slot = 10;
  want.block = R(kRootA);
  want.state = R(kRootB);
  want.epoch_transition = false;
  want.previous_duty_dependent_root = R(kRootC);
  want.current_duty_dependent_root = R(kRootC);
  want.execution_optimistic = false;
  EXPECT_EQ(DecodeAs<HeadEvent>("head", kHeadExample), want);
  EXPECT_EQ(want.block[0], 0x9a);  // spot check of the test's own hex helper
  EXPECT_EQ(want.block[31], 0xaf);
}

TEST(DecodeEventTest, HeadFlagsTrue) {
  std::string data =
      Replace(kHeadExample, R"("epoch_transition":false)", R"("epoch_transition":true)");
  data = Replace(data, R"("execution_optimistic": false)", R"("execution_optimistic": true)");
  const HeadEvent e = DecodeAs<HeadEvent>("head", data);
  EXPECT_TRUE(e.epoch_transition);
  EXPECT_TRUE(e.execution_optimistic);
}

TEST(DecodeEventTest, BlockExample) {
  EXPECT_EQ(DecodeAs<BlockEvent>("block", kBlockExample), (BlockEvent{10, R(kRootA), false}));
}

TEST(DecodeEventTest, FinalizedCheckpointExample) {
  EXPECT_EQ(DecodeAs<FinalizedCheckpointEvent>("finalized_checkpoint", kFinalizedExample),
            (FinalizedCheckpointEvent{R(kRootA), R(kRootB), 2, false}));
}

TEST(DecodeEventTest, ChainReorgExample) {
  ChainReorgEvent want;
  want.slot = 200;
  want.depth = 50;
  want.old_head_block = R(kRootA);
  want.new_head_block = R(kRootD);
  want.old_head_state = R(kRootA);
  want.new_head_state = R(kRootB);
  want.epoch = 2;
  EXPECT_EQ(DecodeAs<ChainReorgEvent>("chain_reorg", kReorgExample), want);
}

TEST(DecodeEventTest, UnknownTopicIsSkippedNotDecoded) {
  for (std::string_view topic : {"attestation", "message", "", "HEAD", "block_gossip"}) {
    absl::StatusOr<std::optional<Event>> e = DecodeEvent(topic, "not json at all");
    ASSERT_TRUE(e.ok()) << topic;
    EXPECT_FALSE(e->has_value()) << topic;
  }
}

TEST(DecodeEventTest, UnknownFieldsIgnoredInAnyOrder) {
  const BlockEvent e = DecodeAs<BlockEvent>(
      "block", R"({"extra":{"a":[1,"2",{"slot":"9"}]},"execution_optimistic":true,)"
               R"("block":"0x9A2FEFD2FDB57F74993C7780EA5B9030D2897B615B89F808011CA5AEBED54EAF",)"
               R"("slot":"18446744073709551615","more":null})");
  EXPECT_EQ(e, (BlockEvent{18446744073709551615u, R(kRootA), true}));
}

TEST(DecodeEventTest, Truncated) {
  for (size_t n : {size_t{1}, size_t{10}, size_t{30}, size_t{80}, kBlockExample.size() - 1}) {
    EXPECT_THAT(ErrorOf("block", kBlockExample.substr(0, n)), HasSubstr("block event")) << n;
  }
}

TEST(DecodeEventTest, WrongTypes) {
  EXPECT_EQ(ErrorOf("head", Replace(kHeadExample, R"("slot":"10")", R"("slot":10)")),
            "head event: slot: expected a decimal string, got number");
  EXPECT_EQ(ErrorOf("block", Replace(kBlockExample, R"("execution_optimistic": false)",
                                     R"("execution_optimistic": "false")")),
            "block event: execution_optimistic: expected a boolean, got string");
  EXPECT_EQ(ErrorOf("finalized_checkpoint",
                    Replace(kFinalizedExample, R"("block":"0x9a2f)", R"("block":["0x9a2f)")),
            "finalized_checkpoint event: block: expected a 0x-hex string, got array");
  EXPECT_EQ(ErrorOf("block", R"(["slot"])"), "block event: expected an object, got array");
  EXPECT_EQ(ErrorOf("block", R"("text")"), "block event: expected an object, got string");
}

TEST(DecodeEventTest, BadValues) {
  EXPECT_EQ(ErrorOf("chain_reorg",
                    Replace(kReorgExample, R"("depth":"50")", R"("depth":"18446744073709551616")")),
            "chain_reorg event: depth: decimal string \"18446744073709551616\" exceeds uint64");
  EXPECT_THAT(ErrorOf("block", Replace(kBlockExample, R"("slot":"10")", R"("slot":"-1")")),
              HasSubstr("block event: slot: expected an unsigned decimal string"));
  EXPECT_THAT(ErrorOf("block", Replace(kBlockExample, R"("slot":"10")", R"("slot":"")")),
              HasSubstr("block event: slot: expected an unsigned decimal string"));
  EXPECT_THAT(ErrorOf("block", Replace(kBlockExample, R"("slot":"10")", R"("slot":"1e3")")),
              HasSubstr("block event: slot: expected an unsigned decimal string"));
  // 63 hex digits, a non-hex digit, no 0x prefix.
  EXPECT_THAT(ErrorOf("block", Replace(kBlockExample, "eaf\"", "ea\"")),
              HasSubstr("block event: block: expected 0x followed by 64 hex digits"));
  EXPECT_THAT(ErrorOf("block", Replace(kBlockExample, "0x9a2f", "0x9z2f")),
              HasSubstr("block event: block: expected 0x followed by 64 hex digits"));
  EXPECT_THAT(ErrorOf("block", Replace(kBlockExample, "\"0x9a2f", "\"009a2f")),
              HasSubstr("block event: block: expected 0x followed by 64 hex digits"));
}

TEST(DecodeEventTest, MissingFields) {
  EXPECT_EQ(
      ErrorOf(
          "head",
          Replace(
              kHeadExample,
              R"("state":"0x600e852a08c1200654ddf11025f1ceacb3c2e74bdd5c630cde0838b2591b69f9", )",
              "")),
      "head event: state: missing required field");
  EXPECT_EQ(ErrorOf("chain_reorg", Replace(kReorgExample, R"("depth":"50", )", "")),
            "chain_reorg event: depth: missing required field");
  EXPECT_EQ(ErrorOf("finalized_checkpoint", "{}"),
            "finalized_checkpoint event: block: missing required field");
  EXPECT_EQ(ErrorOf("block", Replace(kBlockExample, R"(, "execution_optimistic": false)", "")),
            "block event: execution_optimistic: missing required field");
}

TEST(DecodeEventTest, DocumentLevelErrors) {
  EXPECT_EQ(ErrorOf("head", ""), "head event: empty data");
  EXPECT_EQ(ErrorOf("block", std::string(kBlockExample) + " {}"),
            "block event: trailing content after the JSON object");
  EXPECT_EQ(
      ErrorOf("block", Replace(kBlockExample, R"("slot":"10")", R"("slot":"10", "slot":"11")")),
      "block event: slot: duplicate field");
  const std::string huge = R"({"slot":"1","pad":")" + std::string(kMaxEventDataBytes, 'x') + "\"}";
  EXPECT_THAT(ErrorOf("block", huge), HasSubstr("exceeds the limit"));
}

}  // namespace
}  // namespace stakewatch::events
