// Decoded Beacon API events (GET /eth/v1/events) for the four topics stakewatch follows.
//
// Plain values: numbers are integers (decoded from the API's decimal strings), roots are bytes.
// Field names follow the OpenAPI spec (apis/eventstream/index.yaml). Decoders are in
// events/decode.h; the stream client in events/stream.h hands these to its callback.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>

#include "beacon/types.h"

namespace stakewatch::events {

// Topic "head": the node has a new head. When a dependent root changes, duties and committees
// computed from the old one are stale.
struct HeadEvent {
  beacon::Slot slot = 0;
  beacon::Root block{};
  beacon::Root state{};
  bool epoch_transition = false;
  beacon::Root previous_duty_dependent_root{};
  beacon::Root current_duty_dependent_root{};
  bool execution_optimistic = false;

  bool operator==(const HeadEvent&) const = default;
};

// Topic "block": a block was imported by fork choice.
struct BlockEvent {
  beacon::Slot slot = 0;
  beacon::Root block{};
  bool execution_optimistic = false;

  bool operator==(const BlockEvent&) const = default;
};

// Topic "chain_reorg": the head moved to a different branch, `depth` slots deep.
struct ChainReorgEvent {
  beacon::Slot slot = 0;
  uint64_t depth = 0;
  beacon::Root old_head_block{};
  beacon::Root new_head_block{};
  beacon::Root old_head_state{};
  beacon::Root new_head_state{};
  beacon::Epoch epoch = 0;
  bool execution_optimistic = false;

  bool operator==(const ChainReorgEvent&) const = default;
};

// Topic "finalized_checkpoint": the finalized checkpoint advanced.
struct FinalizedCheckpointEvent {
  beacon::Root block{};
  beacon::Root state{};
  beacon::Epoch epoch = 0;
  bool execution_optimistic = false;

  bool operator==(const FinalizedCheckpointEvent&) const = default;
};

// The variant's alternative order is fixed (stream statistics index by it).
using Event = std::variant<HeadEvent, BlockEvent, ChainReorgEvent, FinalizedCheckpointEvent>;

// The topic names, indexed like Event's alternatives.
inline constexpr std::string_view kTopicNames[std::variant_size_v<Event>] = {
    "head", "block", "chain_reorg", "finalized_checkpoint"};

// The topic name of `event`'s alternative ("head", "block", ...).
inline std::string_view TopicName(const Event& event) { return kTopicNames[event.index()]; }

}  // namespace stakewatch::events
