// Event decoders: one table of (JSON key, member) per topic and one generic walker.
//
// The walker visits every field of the root object (so truncated JSON is always reached),
// decodes the known ones into the struct through member pointers, and then checks that every
// table entry was seen and that nothing follows the object.
#include "events/decode.h"

#include <simdjson.h>

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "beacon/decode.h"
#include "common/strings.h"

namespace stakewatch::events {
namespace {

namespace od = simdjson::ondemand;

// One known key of a topic's object and the member it fills.
template <typename T>
struct Field {
  std::string_view key;
  std::variant<uint64_t T::*, beacon::Root T::*, bool T::*> member;
};

constexpr Field<HeadEvent> kHeadFields[] = {
    {"slot", &HeadEvent::slot},
    {"block", &HeadEvent::block},
    {"state", &HeadEvent::state},
    {"epoch_transition", &HeadEvent::epoch_transition},
    {"previous_duty_dependent_root", &HeadEvent::previous_duty_dependent_root},
    {"current_duty_dependent_root", &HeadEvent::current_duty_dependent_root},
    {"execution_optimistic", &HeadEvent::execution_optimistic},
};

constexpr Field<BlockEvent> kBlockFields[] = {
    {"slot", &BlockEvent::slot},
    {"block", &BlockEvent::block},
    {"execution_optimistic", &BlockEvent::execution_optimistic},
};

constexpr Field<ChainReorgEvent> kChainReorgFields[] = {
    {"slot", &ChainReorgEvent::slot},
    {"depth", &ChainReorgEvent::depth},
    {"old_head_block", &ChainReorgEvent::old_head_block},
    {"new_head_block", &ChainReorgEvent::new_head_block},
    {"old_head_state", &ChainReorgEvent::old_head_state},
    {"new_head_state", &ChainReorgEvent::new_head_state},
    {"epoch", &ChainReorgEvent::epoch},
    {"execution_optimistic", &ChainReorgEvent::execution_optimistic},
};

constexpr Field<FinalizedCheckpointEvent> kFinalizedCheckpointFields[] = {
    {"block", &FinalizedCheckpointEvent::block},
    {"state", &FinalizedCheckpointEvent::state},
    {"epoch", &FinalizedCheckpointEvent::epoch},
    {"execution_optimistic", &FinalizedCheckpointEvent::execution_optimistic},
};

// "head event: slot: msg" (or "head event: msg" for the whole document when key is empty).
absl::Status Error(std::string_view topic, std::string_view key, std::string_view msg) {
  if (key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(topic), " event: ", ToAbsl(msg)));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(topic), " event: ", ToAbsl(key), ": ", ToAbsl(msg)));
}

absl::Status JsonError(std::string_view topic, std::string_view key, simdjson::error_code e) {
  return Error(topic, key,
               absl::StrCat("malformed or truncated JSON (", simdjson::error_message(e), ")"));
}

std::string_view TypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "unknown";
}

template <typename V>
absl::Status TypeError(V& v, std::string_view topic, std::string_view key,
                       std::string_view expected) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(topic, key, e);
  return Error(topic, key,
               absl::StrCat("expected ", ToAbsl(expected), ", got ", ToAbsl(TypeName(t))));
}

// Quotes a string for an error message, cut to a readable length.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() <= kMax) return absl::StrCat("\"", ToAbsl(s), "\"");
  return absl::StrCat("\"", ToAbsl(s.substr(0, kMax)), "...\" (", s.size(), " chars)");
}

absl::Status ReadString(od::value& v, std::string_view topic, std::string_view key,
                        std::string_view expected, std::string_view* out) {
  const auto e = v.get_string().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, topic, key, expected);
  if (e) return JsonError(topic, key, e);
  return absl::OkStatus();
}

absl::Status ReadValue(od::value& v, std::string_view topic, std::string_view key, uint64_t* out) {
  std::string_view s;
  if (absl::Status st = ReadString(v, topic, key, "a decimal string", &s); !st.ok()) return st;
  if (beacon::ParseUint64(s, out)) return absl::OkStatus();
  bool all_digits = !s.empty();
  for (char c : s) all_digits = all_digits && c >= '0' && c <= '9';
  if (all_digits) {
    return Error(topic, key, absl::StrCat("decimal string ", Quote(s), " exceeds uint64"));
  }
  return Error(topic, key, absl::StrCat("expected an unsigned decimal string, got ", Quote(s)));
}

absl::Status ReadValue(od::value& v, std::string_view topic, std::string_view key,
                       beacon::Root* out) {
  std::string_view s;
  if (absl::Status st = ReadString(v, topic, key, "a 0x-hex string", &s); !st.ok()) return st;
  if (beacon::ParseHexFixed(s, out)) return absl::OkStatus();
  return Error(topic, key, absl::StrCat("expected 0x followed by 64 hex digits, got ", Quote(s)));
}

absl::Status ReadValue(od::value& v, std::string_view topic, std::string_view key, bool* out) {
  const auto e = v.get_bool().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, topic, key, "a boolean");
  if (e) return JsonError(topic, key, e);
  return absl::OkStatus();
}

// Per-thread parser and padded copy buffer, reused across calls.
struct Scratch {
  od::parser parser;
  std::string copy;
};

template <typename T>
absl::StatusOr<Event> DecodeObject(std::string_view topic, std::string_view data,
                                   std::span<const Field<T>> fields) {
  if (data.empty()) return Error(topic, "", "empty data");
  if (data.size() > kMaxEventDataBytes) {
    return Error(topic, "",
                 absl::StrCat("data of ", data.size(), " bytes exceeds the limit of ",
                              kMaxEventDataBytes, " bytes"));
  }
  thread_local Scratch scratch;
  scratch.copy.reserve(data.size() + simdjson::SIMDJSON_PADDING);
  scratch.copy.assign(data.data(), data.size());

  od::document doc;
  if (auto e =
          scratch.parser.iterate(scratch.copy.data(), scratch.copy.size(), scratch.copy.capacity())
              .get(doc)) {
    return JsonError(topic, "", e);
  }
  od::object obj;
  if (auto e = doc.get_object().get(obj)) {
    if (e == simdjson::INCORRECT_TYPE) return TypeError(doc, topic, "", "an object");
    return JsonError(topic, "", e);
  }
  T out{};
  uint32_t seen = 0;
  for (auto field_result : obj) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return JsonError(topic, "", e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return JsonError(topic, "", e);
    for (size_t i = 0; i < fields.size(); ++i) {
      if (fields[i].key != key) continue;
      const std::string_view k = fields[i].key;  // `key` dies with the next field
      if (seen & (uint32_t{1} << i)) return Error(topic, k, "duplicate field");
      seen |= uint32_t{1} << i;
      absl::Status st = std::visit(
          [&](auto member) { return ReadValue(field.value(), topic, k, &(out.*member)); },
          fields[i].member);
      if (!st.ok()) return st;
      break;
    }
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (!(seen & (uint32_t{1} << i))) return Error(topic, fields[i].key, "missing required field");
  }
  // The object has been walked to its closing brace; only the end of input may follow.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return Error(topic, "", "trailing content after the JSON object");
  }
  return Event(std::move(out));
}

}  // namespace

absl::StatusOr<std::optional<Event>> DecodeEvent(std::string_view topic, std::string_view data) {
  absl::StatusOr<Event> event;
  if (topic == "head") {
    event = DecodeObject<HeadEvent>(topic, data, kHeadFields);
  } else if (topic == "block") {
    event = DecodeObject<BlockEvent>(topic, data, kBlockFields);
  } else if (topic == "chain_reorg") {
    event = DecodeObject<ChainReorgEvent>(topic, data, kChainReorgFields);
  } else if (topic == "finalized_checkpoint") {
    event = DecodeObject<FinalizedCheckpointEvent>(topic, data, kFinalizedCheckpointFields);
  } else {
    return std::optional<Event>();
  }
  if (!event.ok()) return event.status();
  return std::optional<Event>(*std::move(event));
}

}  // namespace stakewatch::events
