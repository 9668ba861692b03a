// Orphans, the reorg view, headers?slot=, the event stream (pure and over SSE). Expected values
// come from the documented model (which slots are orphaned, SlotOutcome) worked out by hand
// here, and from other routes of the same view (a header's root is checked against the list
// form, the blocks route and the events).
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "sim/server.h"
#include "sim/simulator.h"
#include "sim/test_util.h"
#include "simdjson.h"

namespace stakewatch::sim {
namespace {

using ::stakewatch::sim::testing::Arr;
using ::stakewatch::sim::testing::Field;
using ::stakewatch::sim::testing::Num;
using ::stakewatch::sim::testing::Str;
using ::stakewatch::sim::testing::Unhex;

constexpr int64_t kGenesis = 1'700'000'000;

SimOptions Options(uint64_t k) {
  SimOptions o;
  o.validators = 2000;
  o.seed = 31;
  o.genesis_time = absl::FromUnixSeconds(kGenesis);
  o.missed_slot_rate = 0.1;
  o.orphan_rate = 0.15;
  o.reorg_slots = k;
  return o;
}

void SetHead(FakeClock& clock, Slot h) {
  clock.SetTime(absl::FromUnixSeconds(kGenesis + static_cast<int64_t>(h) * 12 + 6));
}

std::unique_ptr<ChainSimulator> Make(const SimOptions& o, FakeClock& clock) {
  absl::StatusOr<std::unique_ptr<ChainSimulator>> sim = ChainSimulator::Create(o, &clock);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return std::move(sim).value();
}

// The first orphan slot >= from with no other orphan within k slots on either side.
Slot IsolatedOrphan(const ChainSimulator& sim, Slot from, uint64_t k) {
  for (Slot s = from;; ++s) {
    if (sim.Outcome(s) != SlotOutcome::kOrphaned) continue;
    bool alone = true;
    for (Slot x = s - k; x <= s + k; ++x) {
      alone = alone && (x == s || sim.Outcome(x) != SlotOutcome::kOrphaned);
    }
    if (alone) return s;
  }
}

// The latest slot <= s with a canonical block, from the outcomes.
Slot CanonicalAtOrBefore(const ChainSimulator& sim, Slot s) {
  while (s > 0 && sim.Outcome(s) != SlotOutcome::kProposed) --s;
  return s;
}

struct Header {
  int status = 0;
  std::string root;
  bool canonical = false;
  uint64_t slot = 0;
  std::string parent_root;
  std::string state_root;
};

Header ParseHeader(simdjson::dom::element data) {
  Header h;
  h.status = 200;
  h.root = std::string(Str(data, "root"));
  EXPECT_EQ(data["canonical"].get_bool().get(h.canonical), simdjson::SUCCESS);
  simdjson::dom::element msg = Field(Field(data, "header"), "message");
  h.slot = Num(msg, "slot");
  h.parent_root = std::string(Str(msg, "parent_root"));
  h.state_root = std::string(Str(msg, "state_root"));
  return h;
}

Header GetHeader(const ChainSimulator& sim, const std::string& id) {
  ApiResponse r = sim.Get("/eth/v1/beacon/headers/" + id, {});
  if (r.status != 200) return Header{r.status};
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
  return ParseHeader(Field(doc, "data"));
}

std::vector<Header> GetHeaderList(const ChainSimulator& sim, Slot slot) {
  ApiResponse r = sim.Get("/eth/v1/beacon/headers", {{"slot", std::to_string(slot)}});
  EXPECT_EQ(r.status, 200) << r.Body();
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(r.Body()).get(doc), simdjson::SUCCESS);
  std::vector<Header> out;
  for (simdjson::dom::element e : Arr(doc, "data")) out.push_back(ParseHeader(e));
  return out;
}

TEST(ReorgTest, OrphanViewsAtSAndSPlusKMinus1AndSPlusK) {
  const uint64_t k = 3;
  FakeClock clock;
  auto sim = Make(Options(k), clock);
  const Slot s = IsolatedOrphan(*sim, 40, k);
  const Slot parent = CanonicalAtOrBefore(*sim, s - 1);

  // The canonical chain once the reorg is over (h = s + K): slot s is empty.
  SetHead(clock, s + k);
  const Header parent_header = GetHeader(*sim, std::to_string(parent));
  ASSERT_EQ(parent_header.status, 200);
  EXPECT_EQ(GetHeader(*sim, std::to_string(s)).status, 404);
  const Slot canonical_head = CanonicalAtOrBefore(*sim, s + k);
  const Header head_after = GetHeader(*sim, "head");
  EXPECT_EQ(head_after.slot, canonical_head);
  EXPECT_TRUE(head_after.canonical);
  for (Slot x = s + 1; x <= s + k; ++x) {
    EXPECT_EQ(GetHeader(*sim, std::to_string(x)).status,
              sim->Outcome(x) == SlotOutcome::kProposed ? 200 : 404)
        << x;
  }
  // The orphan is still known: in the list for its slot and by root, not canonical.
  std::vector<Header> list = GetHeaderList(*sim, s);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_FALSE(list[0].canonical);
  EXPECT_EQ(list[0].slot, s);
  EXPECT_EQ(list[0].parent_root, parent_header.root);
  const std::string orphan_root = list[0].root;
  const Header by_root = GetHeader(*sim, orphan_root);
  EXPECT_EQ(by_root.status, 200);
  EXPECT_FALSE(by_root.canonical);
  EXPECT_EQ(by_root.slot, s);
  EXPECT_NE(head_after.root, orphan_root);

  // h = s: the orphan is the head and the block at s.
  for (Slot h : {s, s + k - 1}) {
    SCOPED_TRACE(h);
    SetHead(clock, h);
    const Header head = GetHeader(*sim, "head");
    EXPECT_EQ(head.root, orphan_root);
    EXPECT_EQ(head.slot, s);
    EXPECT_TRUE(head.canonical);
    EXPECT_EQ(head.parent_root, parent_header.root);
    EXPECT_EQ(GetHeader(*sim, std::to_string(s)).root, orphan_root);
    std::vector<Header> now = GetHeaderList(*sim, s);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_TRUE(now[0].canonical);
    // Canonical blocks after s are not shown yet, neither by slot nor by root.
    for (Slot x = s + 1; x <= h; ++x) {
      EXPECT_EQ(GetHeader(*sim, std::to_string(x)).status, 404) << x;
      EXPECT_TRUE(GetHeaderList(*sim, x).empty()) << x;
    }
    // The block: no attestations, an all-zero sync aggregate, a payload, no withdrawals.
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ApiResponse b = sim->Get("/eth/v2/beacon/blocks/head", {});
    ASSERT_EQ(b.status, 200);
    ASSERT_EQ(parser.parse(b.Body()).get(doc), simdjson::SUCCESS);
    simdjson::dom::element msg = Field(Field(doc, "data"), "message");
    EXPECT_EQ(Num(msg, "slot"), s);
    EXPECT_EQ(Num(msg, "proposer_index"), sim->Proposer(s));
    EXPECT_EQ(Str(msg, "parent_root"), parent_header.root);
    simdjson::dom::element body = Field(msg, "body");
    EXPECT_EQ(Arr(body, "attestations").size(), 0u);
    auto bits = Unhex(Str(Field(body, "sync_aggregate"), "sync_committee_bits"));
    ASSERT_TRUE(bits && bits->size() == 64);
    EXPECT_EQ(std::count(bits->begin(), bits->end(), 0), 64);
    simdjson::dom::element payload = Field(body, "execution_payload");
    EXPECT_EQ(Unhex(Str(payload, "block_hash"))->size(), 32u);
    EXPECT_EQ(Arr(payload, "withdrawals").size(), 0u);
    ApiResponse atts = sim->Get("/eth/v2/beacon/blocks/" + orphan_root + "/attestations", {});
    ASSERT_EQ(atts.status, 200);
    ASSERT_EQ(parser.parse(atts.Body()).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(Arr(doc, "data").size(), 0u);
    // syncing: head_slot is the wall-clock slot.
    ApiResponse sy = sim->Get("/eth/v1/node/syncing", {});
    ASSERT_EQ(parser.parse(sy.Body()).get(doc), simdjson::SUCCESS);
    EXPECT_EQ(Num(Field(doc, "data"), "head_slot"), h);
  }
  // Before s the orphan does not exist yet.
  SetHead(clock, s - 1);
  EXPECT_EQ(GetHeader(*sim, orphan_root).status, 404);
  EXPECT_TRUE(GetHeaderList(*sim, s).empty());

  // Ground truth: the slot's outcome.
  SetHead(clock, (s / 32 + 2) * 32);
  absl::StatusOr<EpochGroundTruth> gt = sim->GroundTruth(s / 32, 0, 0);
  ASSERT_TRUE(gt.ok());
  const SlotTruth& st = gt->slots[s % 32];
  EXPECT_EQ(st.outcome, SlotOutcome::kOrphaned);
  EXPECT_FALSE(st.proposed);
  uint64_t orphaned = 0;
  for (const SlotTruth& t : gt->slots) {
    orphaned += t.outcome == SlotOutcome::kOrphaned;
    EXPECT_EQ(t.proposed, t.outcome == SlotOutcome::kProposed);
  }
  EXPECT_GE(orphaned, 1u);
}

TEST(ReorgTest, WithoutReorgSlotsAnOrphanIsNeverTheHead) {
  FakeClock clock;
  auto sim = Make(Options(0), clock);
  const Slot s = IsolatedOrphan(*sim, 40, 1);
  SetHead(clock, s);
  const Header head = GetHeader(*sim, "head");
  EXPECT_EQ(head.slot, CanonicalAtOrBefore(*sim, s));
  EXPECT_EQ(GetHeader(*sim, std::to_string(s)).status, 404);
  std::vector<Header> list = GetHeaderList(*sim, s);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_FALSE(list[0].canonical);
  EXPECT_EQ(GetHeader(*sim, list[0].root).slot, s);
  // A canonical slot lists its block; a missed one nothing; a future one nothing.
  Slot proposed = s + 1, missed = s + 1;
  while (sim->Outcome(proposed) != SlotOutcome::kProposed) ++proposed;
  while (sim->Outcome(missed) != SlotOutcome::kMissed) ++missed;
  SetHead(clock, std::max(proposed, missed) + 1);
  std::vector<Header> p = GetHeaderList(*sim, proposed);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_TRUE(p[0].canonical);
  EXPECT_EQ(p[0].root, GetHeader(*sim, std::to_string(proposed)).root);
  EXPECT_TRUE(GetHeaderList(*sim, missed).empty());
  EXPECT_TRUE(GetHeaderList(*sim, 1'000'000).empty());
  EXPECT_EQ(sim->Get("/eth/v1/beacon/headers", {{"slot", "x"}}).status, 400);
  // Default: the head block's slot.
  ApiResponse d = sim->Get("/eth/v1/beacon/headers", {});
  EXPECT_NE(d.Body().find(GetHeader(*sim, "head").root), std::string::npos);
}

struct ParsedEvent {
  std::string topic;
  std::map<std::string, std::string> fields;  // string fields; booleans as "true"/"false"
};

ParsedEvent ParseEvent(std::string_view topic, const std::string& data) {
  ParsedEvent e{std::string(topic), {}};
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  EXPECT_EQ(parser.parse(data).get(doc), simdjson::SUCCESS) << data;
  simdjson::dom::object obj;
  EXPECT_EQ(doc.get_object().get(obj), simdjson::SUCCESS);
  for (auto [key, value] : obj) {
    std::string_view sv;
    bool b = false;
    if (value.get_string().get(sv) == simdjson::SUCCESS) {
      e.fields[std::string(key)] = std::string(sv);
    } else if (value.get_bool().get(b) == simdjson::SUCCESS) {
      e.fields[std::string(key)] = b ? "true" : "false";
    } else {
      ADD_FAILURE() << "unexpected value type for " << key;
    }
  }
  return e;
}

// Events for a range of heads that includes a reorg and a finality change, each checked against
// the view's other routes at that head.
TEST(EventsTest, HeadsBlocksReorgAndFinalityOverARange) {
  const uint64_t k = 2;
  FakeClock clock;
  auto sim = Make(Options(k), clock);
  const Slot s = IsolatedOrphan(*sim, 94, k);
  const Slot lo = 94, hi = std::max<Slot>(s + k + 1, 97);
  int blocks = 0, heads = 0, reorgs = 0, finals = 0;
  SetHead(clock, lo - 1);
  std::string prev_head_root = GetHeader(*sim, "head").root;
  uint64_t prev_head_slot = GetHeader(*sim, "head").slot;
  for (Slot h = lo; h <= hi; ++h) {
    SCOPED_TRACE(h);
    SetHead(clock, h);
    std::vector<ParsedEvent> got;
    for (const SimEvent& ev : sim->EventsAt(h)) got.push_back(ParseEvent(ev.topic, ev.data));
    // Expected from the model: a block at h in the view, unless an orphan in (h - K, h) hides it.
    bool hidden = false;
    for (Slot x = h - k + 1; x < h; ++x)
      hidden = hidden || sim->Outcome(x) == SlotOutcome::kOrphaned;
    const bool block = !hidden && sim->Outcome(h) != SlotOutcome::kMissed;
    const bool reorg = sim->Outcome(h - k) == SlotOutcome::kOrphaned;
    const bool final = h % 32 == 0 && h / 32 >= 3;
    std::vector<std::string> topics;
    if (block) topics.push_back("block");
    if (reorg) topics.push_back("chain_reorg");
    if (block || reorg) topics.push_back("head");
    if (final) topics.push_back("finalized_checkpoint");
    std::vector<std::string> got_topics;
    for (const ParsedEvent& e : got) got_topics.push_back(e.topic);
    ASSERT_EQ(got_topics, topics);
    const Header head = GetHeader(*sim, "head");
    for (const ParsedEvent& e : got) {
      EXPECT_EQ(e.fields.at("execution_optimistic"), "false");
      if (e.topic == "block") {
        ++blocks;
        EXPECT_EQ(e.fields.at("slot"), std::to_string(h));
        EXPECT_EQ(e.fields.at("block"), GetHeaderList(*sim, h).at(0).root);
      } else if (e.topic == "chain_reorg") {
        ++reorgs;
        const Slot o = h - k;  // the orphan that was the head until now
        EXPECT_EQ(e.fields.at("slot"), std::to_string(h));
        EXPECT_EQ(e.fields.at("epoch"), std::to_string(h / 32));
        EXPECT_EQ(e.fields.at("depth"), std::to_string(o - CanonicalAtOrBefore(*sim, o - 1)));
        EXPECT_EQ(e.fields.at("old_head_block"), GetHeaderList(*sim, o).at(0).root);
        EXPECT_EQ(e.fields.at("old_head_block"), prev_head_root);
        EXPECT_EQ(e.fields.at("new_head_block"), head.root);
        EXPECT_EQ(e.fields.at("new_head_state"), head.state_root);
        EXPECT_EQ(Unhex(e.fields.at("old_head_state"))->size(), 32u);
      } else if (e.topic == "head") {
        ++heads;
        EXPECT_EQ(e.fields.at("slot"), std::to_string(head.slot));
        EXPECT_EQ(e.fields.at("block"), head.root);
        EXPECT_EQ(e.fields.at("state"), head.state_root);
        EXPECT_EQ(e.fields.at("epoch_transition"),
                  head.slot / 32 != prev_head_slot / 32 ? "true" : "false");
        // Dependent roots: the block roots at the last slots of the two previous epochs.
        const Slot e0 = head.slot / 32 * 32;
        EXPECT_EQ(e.fields.at("current_duty_dependent_root"),
                  GetHeader(*sim, std::to_string(CanonicalAtOrBefore(*sim, e0 - 1))).root);
        EXPECT_EQ(e.fields.at("previous_duty_dependent_root"),
                  GetHeader(*sim, std::to_string(CanonicalAtOrBefore(*sim, e0 - 33))).root);
      } else {
        ++finals;
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        ApiResponse f = sim->Get("/eth/v1/beacon/states/head/finality_checkpoints", {});
        ASSERT_EQ(parser.parse(f.Body()).get(doc), simdjson::SUCCESS);
        simdjson::dom::element fin = Field(Field(doc, "data"), "finalized");
        EXPECT_EQ(e.fields.at("epoch"), std::to_string(h / 32 - 2));
        EXPECT_EQ(e.fields.at("epoch"), std::to_string(Num(fin, "epoch")));
        EXPECT_EQ(e.fields.at("block"), Str(fin, "root"));
        EXPECT_EQ(Unhex(e.fields.at("state"))->size(), 32u);
      }
    }
    prev_head_root = head.root;
    prev_head_slot = head.slot;
  }
  EXPECT_GE(reorgs, 1);
  EXPECT_EQ(finals, static_cast<int>(hi / 32 - (lo - 1) / 32));
  EXPECT_GT(blocks, 0);
  EXPECT_GE(heads, blocks);
}

// Reads an SSE body into (topic, data) pairs; ":" comments are skipped.
std::vector<std::pair<std::string, std::string>> ParseSse(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string topic;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, "event: ")) topic = std::string(line);
    if (absl::ConsumePrefix(&line, "data: ")) out.emplace_back(topic, std::string(line));
  }
  return out;
}

TEST(EventsTest, StreamsOverLoopbackAsTheClockAdvances) {
  const uint64_t k = 2;
  FakeClock clock;
  auto sim = Make(Options(k), clock);
  const Slot s = IsolatedOrphan(*sim, 94, k);
  SetHead(clock, s - 2);
  SimServer server(sim.get(), "127.0.0.1", 0);
  ASSERT_TRUE(server.Start().ok());
  httplib::Client client("127.0.0.1", server.port());

  // Bad topics are 400 with a JSON error.
  httplib::Result bad = client.Get("/eth/v1/events?topics=head,bogus");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("\"code\":400"), std::string::npos);
  httplib::Result none = client.Get("/eth/v1/events");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 400);

  // A stream of head and chain_reorg events while the clock moves from s - 1 to s + K + 1.
  std::string received;
  std::atomic<bool> done{false};
  std::string content_type;
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(10, 0);
    httplib::Result r = c.Get(
        "/eth/v1/events?topics=head,chain_reorg,attestation",
        [&](const httplib::Response& res) {
          content_type = res.get_header_value("Content-Type");
          return res.status == 200;
        },
        [&](const char* data, size_t n) {
          received.append(data, n);
          return received.find("event: chain_reorg") == std::string::npos ||
                 received.rfind("\n\n") != received.size() - 2 ||
                 received.find("event: head", received.find("event: chain_reorg")) ==
                     std::string::npos;
        });
    done = true;
  });
  for (int i = 0; i < 200 && server.active_streams() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(server.active_streams(), 1);
  for (Slot h = s - 1; h <= s + k + 1; ++h) {
    SetHead(clock, h);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
  for (int i = 0; i < 400 && !done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(done) << received;
  reader.join();
  EXPECT_EQ(content_type, "text/event-stream");
  // Exactly the pure events of heads s - 1 .. s + K (the reader stops after the reorg's head
  // event), filtered by topic, in order.
  std::vector<std::pair<std::string, std::string>> want;
  for (Slot h = s - 1; h <= s + k; ++h) {
    for (const SimEvent& ev : sim->EventsAt(h)) {
      if (ev.topic == "head" || ev.topic == "chain_reorg") want.emplace_back(ev.topic, ev.data);
    }
  }
  EXPECT_EQ(ParseSse(received), want);
  // The closed client is noticed (by the keep-alive write) and the stream ends.
  for (int i = 0; i < 400 && server.active_streams() > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server.active_streams(), 0);

  // Stop() ends an open stream promptly.
  std::thread idle([&] {
    httplib::Client c("127.0.0.1", server.port());
    c.Get("/eth/v1/events?topics=block", [](const char*, size_t) { return true; });
  });
  for (int i = 0; i < 200 && server.active_streams() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(server.active_streams(), 1);
  const auto t0 = std::chrono::steady_clock::now();
  server.Stop();
  const auto t1 = std::chrono::steady_clock::now();
  idle.join();
  EXPECT_LT(std::chrono::duration<double>(t1 - t0).count(), 1.0);
}

}  // namespace
}  // namespace stakewatch::sim
