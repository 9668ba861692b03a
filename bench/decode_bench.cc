// Benchmarks for beacon/decode.h against a plain simdjson on-demand baseline on the same bytes.
//
//   (1) A mainnet-sized committees response generated in memory: 1,100,000 validators in
//       32 slots x 64 committees (the spec's compute_committee slicing, ~537 members each),
//       decimal-string indices in a deterministic shuffled order.
//   (2) A real Electra block (test/testdata/beacon/ream/slot_8084249.json, ~400 KB).
//   (3) A mainnet-sized validator_balances response generated in memory: 1,100,000 rows
//       {"index":"i","balance":"b"} (~50 MB), balances of 11 digits (~32 ETH) with one in 64 at
//       13 digits (consolidated, up to 2048 ETH), as POST .../validator_balances with [] returns.
//   (4) A mainnet-sized attestation rewards response generated in memory (~107 MB): 2048
//       ideal_rewards rows (Electra's 1..2048 ETH steps) and 1,100,000 total_rewards rows
//       {"validator_index","head","target","source",["inclusion_delay",]"inactivity"} with
//       realistic magnitudes, one in 16 validators missing (negative target and source), one in
//       64 consolidated (larger rewards), one in 5 rows carrying "inclusion_delay":"0". Also
//       decoded with an unknown top-level key added, which sends it down the simdjson path.
//   (5) A validators response for a 100,000-id slice (~44 MB; a full 1.1 M set is fetched in
//       such chunks), generated in memory: random pubkeys, 0x01/0x02 credentials, mostly
//       active_ongoing with some exited/withdrawn/pending rows, far-future exit epochs for the
//       active ones. Also decoded with an unknown top-level key (the simdjson path).
//
// Baseline: one simdjson on-demand pass over the same padded bytes that visits every value and
// reads every string (counting them), with a reused parser (like the decoders' per-thread one)
// and with a fresh parser per iteration.
// Both report bytes/second of JSON input.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "beacon/decode.h"

namespace stakewatch::beacon {
namespace {

namespace od = simdjson::ondemand;

constexpr uint64_t kValidators = 1'100'000;
constexpr uint64_t kSlotsPerEpoch = 32;
constexpr uint64_t kCommitteesPerSlot = 64;
constexpr uint64_t kFirstSlot = 10'000'000;

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

// The committees response for one epoch, in the Beacon API's JSON shape.
std::string MakeCommitteesResponse() {
  std::vector<uint64_t> order(kValidators);
  std::iota(order.begin(), order.end(), 0);
  uint64_t seed = 42;
  for (uint64_t i = kValidators - 1; i > 0; --i) {  // Fisher-Yates
    std::swap(order[i], order[SplitMix64(&seed) % (i + 1)]);
  }
  std::string out = R"({"execution_optimistic":false,"finalized":true,"data":[)";
  out.reserve(12 << 20);
  const uint64_t total = kSlotsPerEpoch * kCommitteesPerSlot;
  for (uint64_t k = 0; k < total; ++k) {
    const uint64_t begin = kValidators * k / total;
    const uint64_t end = kValidators * (k + 1) / total;
    if (k > 0) out += ',';
    out += "{\"index\":\"" + std::to_string(k % kCommitteesPerSlot) + "\",\"slot\":\"" +
           std::to_string(kFirstSlot + k / kCommitteesPerSlot) + "\",\"validators\":[";
    for (uint64_t i = begin; i < end; ++i) {
      if (i > begin) out += ',';
      out += '"';
      out += std::to_string(order[i]);
      out += '"';
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

// The validator_balances response for every validator.
std::string MakeBalancesResponse() {
  std::string out = R"({"execution_optimistic":false,"finalized":true,"data":[)";
  out.reserve(52 << 20);
  uint64_t seed = 7;
  for (uint64_t i = 0; i < kValidators; ++i) {
    const uint64_t r = SplitMix64(&seed);
    const uint64_t balance = (r % 64 == 0) ? 1'000'000'000'000 + r % 1'000'000'000'000
                                           : 31'000'000'000 + r % 2'000'000'000;
    if (i > 0) out += ',';
    out += "{\"index\":\"";
    out += std::to_string(i);
    out += "\",\"balance\":\"";
    out += std::to_string(balance);
    out += "\"}";
  }
  out += "]}";
  return out;
}

// The attestation rewards response for every validator (see (4) above).
std::string MakeRewardsResponse() {
  std::string out = R"({"execution_optimistic":false,"finalized":true,"data":{"ideal_rewards":[)";
  out.reserve(110 << 20);
  auto row_tail = [&out](uint64_t head, int64_t target, int64_t source, bool inclusion_delay,
                         int64_t inactivity) {
    out += "\",\"head\":\"";
    out += std::to_string(head);
    out += "\",\"target\":\"";
    out += std::to_string(target);
    out += "\",\"source\":\"";
    out += std::to_string(source);
    if (inclusion_delay) out += "\",\"inclusion_delay\":\"0";
    out += "\",\"inactivity\":\"";
    out += std::to_string(inactivity);
    out += "\"}";
  };
  for (uint64_t eth = 1; eth <= 2048; ++eth) {
    if (eth > 1) out += ',';
    out += "{\"effective_balance\":\"";
    out += std::to_string(eth * 1'000'000'000);
    row_tail(89 * eth, int64_t(172 * eth), int64_t(92 * eth), false, 0);
  }
  out += R"(],"total_rewards":[)";
  uint64_t seed = 11;
  for (uint64_t i = 0; i < kValidators; ++i) {
    const uint64_t r = SplitMix64(&seed);
    const uint64_t eth = (r % 64 == 0) ? 32 + (r >> 8) % 2017 : 32;
    const bool missed = (r >> 20) % 16 == 0;
    if (i > 0) out += ',';
    out += "{\"validator_index\":\"";
    out += std::to_string(i);
    row_tail(missed ? 0 : 89 * eth, (missed ? -1 : 1) * int64_t(172 * eth),
             (missed ? -1 : 1) * int64_t(92 * eth), i % 5 == 0, 0);
  }
  out += "]}}";
  return out;
}

// A validators response for ids [first, first + n) (see (5) above).
constexpr uint64_t kValidatorsSlice = 100'000;

std::string MakeValidatorsResponse(uint64_t first, uint64_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr const char* kStatuses[] = {"pending_queued",   "active_exiting",
                                              "exited_unslashed", "withdrawal_possible",
                                              "withdrawal_done",  "active_slashed"};
  constexpr uint64_t kFarFuture = UINT64_MAX;
  std::string out = R"({"execution_optimistic":false,"finalized":true,"data":[)";
  out.reserve(n * 460 + 1024);
  uint64_t seed = 13;
  auto hex = [&](size_t bytes) {
    for (size_t i = 0; i < bytes; i += 8) {
      uint64_t r = SplitMix64(&seed);
      for (size_t j = 0; j < 8 && i + j < bytes; ++j, r >>= 8) {
        out += kHex[(r >> 4) & 0xf];
        out += kHex[r & 0xf];
      }
    }
  };
  for (uint64_t i = first; i < first + n; ++i) {
    const uint64_t r = SplitMix64(&seed);
    const bool odd = r % 16 == 0;  // one in 16 rows is not active_ongoing
    const char* status = odd ? kStatuses[(r >> 8) % 6] : "active_ongoing";
    const uint64_t effective =
        (r >> 16) % 64 == 0 ? 32'000'000'000 + ((r >> 24) % 2016) * 1'000'000'000 : 32'000'000'000;
    const uint64_t activation = (r >> 32) % 300'000;
    if (i > first) out += ',';
    out += "{\"index\":\"";
    out += std::to_string(i);
    out += "\",\"balance\":\"";
    out += std::to_string(effective + (r >> 40) % 1'000'000'000);
    out += "\",\"status\":\"";
    out += status;
    out += "\",\"validator\":{\"pubkey\":\"0x";
    hex(48);
    out += (r >> 50) % 2 ? "\",\"withdrawal_credentials\":\"0x010000000000000000000000"
                         : "\",\"withdrawal_credentials\":\"0x020000000000000000000000";
    hex(20);
    out += "\",\"effective_balance\":\"";
    out += std::to_string(effective);
    out += "\",\"slashed\":";
    out += odd && (r >> 8) % 6 == 5 ? "true" : "false";
    out += ",\"activation_eligibility_epoch\":\"";
    out += std::to_string(activation);
    out += "\",\"activation_epoch\":\"";
    out += std::to_string(activation + 5);
    out += "\",\"exit_epoch\":\"";
    out += std::to_string(odd ? activation + 1000 : kFarFuture);
    out += "\",\"withdrawable_epoch\":\"";
    out += std::to_string(odd ? activation + 1256 : kFarFuture);
    out += "\"}}";
  }
  out += "]}";
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Inputs are built once; PaddedBody::Of gives them simdjson's padding.
std::string& CommitteesBody() {
  static std::string* body = [] {
    auto* s = new std::string(MakeCommitteesResponse());
    PaddedBody::Of(s);
    return s;
  }();
  return *body;
}

std::string& BlockBody() {
  static std::string* body = [] {
    auto* s = new std::string(
        ReadFile(STAKEWATCH_SOURCE_DIR "/test/testdata/beacon/ream/slot_8084249.json"));
    PaddedBody::Of(s);
    return s;
  }();
  return *body;
}

std::string& BalancesBody() {
  static std::string* body = [] {
    auto* s = new std::string(MakeBalancesResponse());
    PaddedBody::Of(s);
    return s;
  }();
  return *body;
}

std::string& RewardsBody() {
  static std::string* body = [] {
    auto* s = new std::string(MakeRewardsResponse());
    PaddedBody::Of(s);
    return s;
  }();
  return *body;
}

// The same rows with an unknown top-level key first: valid, but not the shape the fast path
// takes, so this measures the simdjson path.
std::string& RewardsBodyForSimdjsonPath() {
  static std::string* body = [] {
    auto* s = new std::string(R"({"x":0,)" + RewardsBody().substr(1));
    PaddedBody::Of(s);
    return s;
  }();
  return *body;
}

std::string& ValidatorsBody() {
  static std::string* body = [] {
    auto* s = new std::string(MakeValidatorsResponse(1'000'000, kValidatorsSlice));
    PaddedBody::Of(s);
    return s;
  }();
  return *body;
}

std::string& ValidatorsBodyForSimdjsonPath() {
  static std::string* body = [] {
    auto* s = new std::string(R"({"x":0,)" + ValidatorsBody().substr(1));
    PaddedBody::Of(s);
    return s;
  }();
  return *body;
}

// Baseline: visit every value, read every string value, count them.
simdjson::error_code CountStrings(od::value v, uint64_t* count) {
  od::json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case od::json_type::object: {
      od::object obj;
      if (auto e = v.get_object().get(obj)) return e;
      for (auto field : obj) {
        od::value child;
        if (auto e = field.value().get(child)) return e;
        if (auto e = CountStrings(child, count)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array arr;
      if (auto e = v.get_array().get(arr)) return e;
      for (auto elem : arr) {
        od::value child;
        if (auto e = elem.get(child)) return e;
        if (auto e = CountStrings(child, count)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return e;
      ++*count;
      return simdjson::SUCCESS;
    }
    default:
      return simdjson::SUCCESS;  // numbers, booleans, null: skipped by the iterator
  }
}

uint64_t CountStringsInBody(const std::string& body, od::parser& parser) {
  od::document doc;
  if (parser.iterate(body.data(), body.size(), body.capacity()).get(doc)) return 0;
  od::object root;
  if (doc.get_object().get(root)) return 0;
  uint64_t count = 0;
  for (auto field : root) {
    od::value child;
    if (field.value().get(child) || CountStrings(child, &count)) return 0;
  }
  return count;
}

void BM_Committees_Decode_Padded(benchmark::State& state) {
  std::string& body = CommitteesBody();
  size_t validators = 0;
  for (auto _ : state) {
    auto c = DecodeCommittees(PaddedBody::Of(&body));
    if (!c.ok()) {
      state.SkipWithError(std::string(c.status().message()).c_str());
      return;
    }
    validators = 0;
    for (const Committee& cm : *c) validators += cm.validators.size();
    benchmark::DoNotOptimize(c);
  }
  if (validators != kValidators) state.SkipWithError("wrong validator count");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["validators"] = double(validators);
}
BENCHMARK(BM_Committees_Decode_Padded)->Unit(benchmark::kMillisecond);

// The std::string_view overload: includes the copy into simdjson's padded buffer.
void BM_Committees_Decode_Copy(benchmark::State& state) {
  const std::string& body = CommitteesBody();
  for (auto _ : state) {
    auto c = DecodeCommittees(std::string_view(body));
    if (!c.ok()) {
      state.SkipWithError(std::string(c.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(c);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}
BENCHMARK(BM_Committees_Decode_Copy)->Unit(benchmark::kMillisecond);

// state.range(0): 1 = one parser reused across iterations (as the decoders do per thread),
// 0 = a fresh parser per iteration (pays for fresh buffers' page faults every time).
void BM_Committees_SimdjsonCountStrings(benchmark::State& state) {
  const std::string& body = CommitteesBody();
  uint64_t count = 0;
  od::parser reused;
  for (auto _ : state) {
    od::parser fresh;
    count = CountStringsInBody(body, state.range(0) ? reused : fresh);
    benchmark::DoNotOptimize(count);
  }
  // Every validator index plus each committee's index and slot.
  if (count != kValidators + 2 * kSlotsPerEpoch * kCommitteesPerSlot) {
    state.SkipWithError("baseline miscounted");
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["strings"] = double(count);
}
BENCHMARK(BM_Committees_SimdjsonCountStrings)
    ->ArgName("reuse_parser")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond);

void BM_ElectraBlock_Decode_Padded(benchmark::State& state) {
  std::string& body = BlockBody();
  for (auto _ : state) {
    auto b = DecodeBlock(PaddedBody::Of(&body));
    if (!b.ok()) {
      state.SkipWithError(std::string(b.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(b);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}
BENCHMARK(BM_ElectraBlock_Decode_Padded)->Unit(benchmark::kMicrosecond);

void BM_ElectraBlock_SimdjsonCountStrings(benchmark::State& state) {
  const std::string& body = BlockBody();
  uint64_t count = 0;
  od::parser reused;
  for (auto _ : state) {
    od::parser fresh;
    count = CountStringsInBody(body, state.range(0) ? reused : fresh);
    benchmark::DoNotOptimize(count);
  }
  if (count == 0) state.SkipWithError("baseline failed");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["strings"] = double(count);
}
BENCHMARK(BM_ElectraBlock_SimdjsonCountStrings)
    ->ArgName("reuse_parser")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMicrosecond);

void BM_ValidatorBalances_Decode_Padded(benchmark::State& state) {
  std::string& body = BalancesBody();
  size_t rows = 0;
  for (auto _ : state) {
    auto b = DecodeValidatorBalances(PaddedBody::Of(&body));
    if (!b.ok()) {
      state.SkipWithError(std::string(b.status().message()).c_str());
      return;
    }
    rows = b->size();
    benchmark::DoNotOptimize(b);
  }
  if (rows != kValidators) state.SkipWithError("wrong row count");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["rows"] = double(rows);
  state.counters["MB"] = double(body.size()) / 1e6;
}
BENCHMARK(BM_ValidatorBalances_Decode_Padded)->Unit(benchmark::kMillisecond);

// The std::string_view overload: bodies over 16 MB get a fresh padded copy per call.
void BM_ValidatorBalances_Decode_Copy(benchmark::State& state) {
  const std::string& body = BalancesBody();
  for (auto _ : state) {
    auto b = DecodeValidatorBalances(std::string_view(body));
    if (!b.ok()) {
      state.SkipWithError(std::string(b.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(b);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}
BENCHMARK(BM_ValidatorBalances_Decode_Copy)->Unit(benchmark::kMillisecond);

void BM_ValidatorBalances_SimdjsonCountStrings(benchmark::State& state) {
  const std::string& body = BalancesBody();
  uint64_t count = 0;
  od::parser reused;
  for (auto _ : state) {
    od::parser fresh;
    count = CountStringsInBody(body, state.range(0) ? reused : fresh);
    benchmark::DoNotOptimize(count);
  }
  if (count != 2 * kValidators) state.SkipWithError("baseline miscounted");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["strings"] = double(count);
}
BENCHMARK(BM_ValidatorBalances_SimdjsonCountStrings)
    ->ArgName("reuse_parser")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond);

// state.range(0): 1 = the body as generated (fast path), 0 = with an unknown top-level key
// (simdjson path).
void BM_AttestationRewards_Decode_Padded(benchmark::State& state) {
  std::string& body = state.range(0) ? RewardsBody() : RewardsBodyForSimdjsonPath();
  size_t rows = 0;
  for (auto _ : state) {
    auto r = DecodeAttestationRewards(PaddedBody::Of(&body));
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    rows = r->total_rewards.size();
    benchmark::DoNotOptimize(r);
  }
  if (rows != kValidators) state.SkipWithError("wrong row count");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["rows"] = double(rows);
  state.counters["MB"] = double(body.size()) / 1e6;
}
BENCHMARK(BM_AttestationRewards_Decode_Padded)
    ->ArgName("fast_shape")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond);

// The std::string_view overload (the fast path needs no copy).
void BM_AttestationRewards_Decode_Copy(benchmark::State& state) {
  const std::string& body = RewardsBody();
  for (auto _ : state) {
    auto r = DecodeAttestationRewards(std::string_view(body));
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}
BENCHMARK(BM_AttestationRewards_Decode_Copy)->Unit(benchmark::kMillisecond);

void BM_AttestationRewards_SimdjsonCountStrings(benchmark::State& state) {
  const std::string& body = RewardsBody();
  uint64_t count = 0;
  od::parser reused;
  for (auto _ : state) {
    od::parser fresh;
    count = CountStringsInBody(body, state.range(0) ? reused : fresh);
    benchmark::DoNotOptimize(count);
  }
  // Five strings per row, plus inclusion_delay in one total row in five.
  if (count != 5 * (2048 + kValidators) + (kValidators + 4) / 5) {
    state.SkipWithError("baseline miscounted");
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["strings"] = double(count);
}
BENCHMARK(BM_AttestationRewards_SimdjsonCountStrings)
    ->ArgName("reuse_parser")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond);

// state.range(0): 1 = the body as generated (fast path), 0 = with an unknown top-level key
// (simdjson path).
void BM_Validators_Decode_Padded(benchmark::State& state) {
  std::string& body = state.range(0) ? ValidatorsBody() : ValidatorsBodyForSimdjsonPath();
  size_t rows = 0;
  for (auto _ : state) {
    auto v = DecodeValidators(PaddedBody::Of(&body));
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      return;
    }
    rows = v->size();
    benchmark::DoNotOptimize(v);
  }
  if (rows != kValidatorsSlice) state.SkipWithError("wrong row count");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["rows"] = double(rows);
  state.counters["MB"] = double(body.size()) / 1e6;
}
BENCHMARK(BM_Validators_Decode_Padded)
    ->ArgName("fast_shape")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond);

// The std::string_view overload (the fast path needs no copy).
void BM_Validators_Decode_Copy(benchmark::State& state) {
  const std::string& body = ValidatorsBody();
  for (auto _ : state) {
    auto v = DecodeValidators(std::string_view(body));
    if (!v.ok()) {
      state.SkipWithError(std::string(v.status().message()).c_str());
      return;
    }
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
}
BENCHMARK(BM_Validators_Decode_Copy)->Unit(benchmark::kMillisecond);

void BM_Validators_SimdjsonCountStrings(benchmark::State& state) {
  const std::string& body = ValidatorsBody();
  uint64_t count = 0;
  od::parser reused;
  for (auto _ : state) {
    od::parser fresh;
    count = CountStringsInBody(body, state.range(0) ? reused : fresh);
    benchmark::DoNotOptimize(count);
  }
  // Ten strings per row (all but "slashed").
  if (count != 10 * kValidatorsSlice) state.SkipWithError("baseline miscounted");
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(body.size()));
  state.counters["strings"] = double(count);
}
BENCHMARK(BM_Validators_SimdjsonCountStrings)
    ->ArgName("reuse_parser")
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace stakewatch::beacon

BENCHMARK_MAIN();
