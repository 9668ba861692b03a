// Mapping of validator-client and Web3Signer /metrics samples. Inputs are the recorded-shape
// bodies in test/testdata/signer/ (see SOURCES.md there); expected values were worked out by
// hand from those files and are noted next to each assertion.
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "signer/validator_client.h"
#include "signer/web3signer.h"

namespace stakewatch::signer {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;
using ::testing::Pair;

std::string ReadTestdata(std::string_view name) {
  const std::string path =
      std::string(STAKEWATCH_SOURCE_DIR) + "/test/testdata/signer/" + std::string(name);
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A test-only reader for the simple exposition text in testdata (no escapes, no timestamps):
// `name{k="v",...} value`, trailing comma allowed. Views point into `body`.
std::vector<MetricSample> ParseSimple(const std::string& body) {
  std::vector<MetricSample> out;
  std::string_view rest(body);
  while (!rest.empty()) {
    const size_t eol = rest.find('\n');
    std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view() : rest.substr(eol + 1);
    if (line.empty() || line[0] == '#') continue;
    MetricSample s;
    const size_t name_end = line.find_first_of("{ ");
    s.name = line.substr(0, name_end);
    std::string_view after = line.substr(name_end);
    if (after[0] == '{') {
      const size_t close = after.find('}');
      std::string_view labels = after.substr(1, close - 1);
      while (!labels.empty()) {
        const size_t eq = labels.find('=');
        const std::string_view key = labels.substr(0, eq);
        const size_t vend = labels.find('"', eq + 2);
        s.labels.emplace_back(key, labels.substr(eq + 2, vend - eq - 2));
        labels = labels.substr(vend + 1);
        if (!labels.empty() && labels[0] == ',') labels.remove_prefix(1);
      }
      after = after.substr(close + 1);
    }
    s.value = std::strtod(std::string(after).c_str(), nullptr);
    out.push_back(std::move(s));
  }
  return out;
}

TEST(ParseSimpleTest, ReadsLabelsWithTrailingComma) {
  const std::string body = "a{x=\"1\",y=\"two\",} 3.5\nb 4\n";
  std::vector<MetricSample> s = ParseSimple(body);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].name, "a");
  EXPECT_THAT(s[0].labels, ElementsAre(Pair("x", "1"), Pair("y", "two")));
  EXPECT_EQ(s[0].value, 3.5);
  EXPECT_EQ(s[1].name, "b");
  EXPECT_EQ(s[1].value, 4);
}

TEST(ClientKindTest, NamesRoundTrip) {
  for (ClientKind k : {ClientKind::kLighthouse, ClientKind::kTeku, ClientKind::kPrysm,
                       ClientKind::kNimbus, ClientKind::kLodestar, ClientKind::kAuto}) {
    EXPECT_EQ(ParseClientKind(ClientKindName(k)), k);
  }
  EXPECT_EQ(ParseClientKind("Lighthouse"), std::nullopt);
  EXPECT_EQ(ParseClientKind(""), std::nullopt);
}

TEST(MapValidatorClientTest, Lighthouse) {
  const std::string body = ReadTestdata("lighthouse.metrics");
  const ValidatorClientStatus s = MapValidatorClient(ClientKind::kLighthouse, ParseSimple(body));
  EXPECT_EQ(s.kind, ClientKind::kLighthouse);
  EXPECT_TRUE(s.up);
  EXPECT_THAT(s.validators_enabled, Optional(48.0));
  EXPECT_THAT(s.validators_total, Optional(50.0));
  EXPECT_THAT(s.beacon_nodes_available, Optional(2.0));
  EXPECT_THAT(s.beacon_nodes_synced, Optional(1.0));
  EXPECT_EQ(s.signing_errors, std::nullopt);  // Lighthouse has no such counter
  // attestations{status="slashable"} 2 + beacon_blocks{status="slashable"} 1
  EXPECT_THAT(s.slashable_refused, Optional(3.0));
}

TEST(MapValidatorClientTest, Teku) {
  const std::string body = ReadTestdata("teku.metrics");
  const ValidatorClientStatus s = MapValidatorClient(ClientKind::kTeku, ParseSimple(body));
  EXPECT_THAT(s.validators_enabled, Optional(32.0));
  EXPECT_EQ(s.validators_total, std::nullopt);
  EXPECT_EQ(s.beacon_nodes_available, std::nullopt);
  EXPECT_EQ(s.beacon_nodes_synced, std::nullopt);
  EXPECT_THAT(s.signing_errors, Optional(7.0));  // failed 4 + timeout 3 (success not counted)
  EXPECT_EQ(s.slashable_refused, std::nullopt);
}

TEST(MapValidatorClientTest, PrysmSumsPerPubkeySeries) {
  const std::string body = ReadTestdata("prysm.metrics");
  const ValidatorClientStatus s = MapValidatorClient(ClientKind::kPrysm, ParseSimple(body));
  EXPECT_EQ(s.validators_enabled, std::nullopt);
  EXPECT_EQ(s.beacon_nodes_available, std::nullopt);
  EXPECT_EQ(s.signing_errors, std::nullopt);  // failed_attestations is not a signing error
  // attestations_rejected 1 + 2, proposals_rejected 1
  EXPECT_THAT(s.slashable_refused, Optional(4.0));
}

TEST(MapValidatorClientTest, PrysmLegacyNamesAreAFallback) {
  const std::string body = ReadTestdata("prysm_legacy.metrics");
  const ValidatorClientStatus s = MapValidatorClient(ClientKind::kPrysm, ParseSimple(body));
  // local 2 + remote 1 attestations, local 1 + remote 1 proposals
  EXPECT_THAT(s.slashable_refused, Optional(5.0));

  // When both generations are present, only the newer names count (no double counting).
  std::string both = ReadTestdata("prysm.metrics") + body;
  EXPECT_THAT(MapValidatorClient(ClientKind::kPrysm, ParseSimple(both)).slashable_refused,
              Optional(4.0));
}

TEST(MapValidatorClientTest, Nimbus) {
  const std::string body = ReadTestdata("nimbus.metrics");
  const ValidatorClientStatus s = MapValidatorClient(ClientKind::kNimbus, ParseSimple(body));
  EXPECT_THAT(s.validators_enabled, Optional(64.0));  // not validators_created
  EXPECT_EQ(s.validators_total, std::nullopt);
  EXPECT_EQ(s.signing_errors, std::nullopt);
  EXPECT_EQ(s.slashable_refused, std::nullopt);
}

TEST(MapValidatorClientTest, Lodestar) {
  const std::string body = ReadTestdata("lodestar.metrics");
  const ValidatorClientStatus s = MapValidatorClient(ClientKind::kLodestar, ParseSimple(body));
  EXPECT_THAT(s.validators_enabled, Optional(16.0));
  EXPECT_EQ(s.beacon_nodes_available, std::nullopt);  // vc_beacon_health is an enum
  EXPECT_THAT(s.signing_errors, Optional(2.0));  // vc_sign_errors_total, remote ones not re-added
  EXPECT_THAT(s.slashable_refused, Optional(1.0));  // block 0 + attestation 1
}

TEST(MapValidatorClientTest, AutoDetectsEveryClient) {
  const std::vector<std::pair<std::string, ClientKind>> cases = {
      {"lighthouse.metrics", ClientKind::kLighthouse}, {"teku.metrics", ClientKind::kTeku},
      {"prysm.metrics", ClientKind::kPrysm},           {"prysm_legacy.metrics", ClientKind::kPrysm},
      {"nimbus.metrics", ClientKind::kNimbus},         {"lodestar.metrics", ClientKind::kLodestar},
  };
  for (const auto& [file, kind] : cases) {
    const std::string body = ReadTestdata(file);
    const std::vector<MetricSample> samples = ParseSimple(body);
    EXPECT_EQ(DetectClientKind(samples), kind) << file;
    const ValidatorClientStatus s = MapValidatorClient(ClientKind::kAuto, samples);
    EXPECT_EQ(s.kind, kind) << file;
    EXPECT_EQ(s.validators_enabled, MapValidatorClient(kind, samples).validators_enabled) << file;
  }
}

TEST(MapValidatorClientTest, UnknownClientGivesOnlyUp) {
  const std::string body = "process_cpu_seconds_total 12\nsomething_else{a=\"b\"} 1\n";
  const ValidatorClientStatus s = MapValidatorClient(ClientKind::kAuto, ParseSimple(body));
  EXPECT_EQ(s.kind, ClientKind::kAuto);
  EXPECT_TRUE(s.up);
  EXPECT_EQ(s.validators_enabled, std::nullopt);
  EXPECT_EQ(s.slashable_refused, std::nullopt);
  EXPECT_EQ(DetectClientKind({}), std::nullopt);
}

TEST(MapValidatorClientTest, WrongClientNamesYieldNothing) {
  // Teku's names mean nothing to the Lighthouse table: all fields absent, none invented.
  const std::string body = ReadTestdata("teku.metrics");
  const ValidatorClientStatus s = MapValidatorClient(ClientKind::kLighthouse, ParseSimple(body));
  EXPECT_EQ(s.validators_enabled, std::nullopt);
  EXPECT_EQ(s.signing_errors, std::nullopt);
  EXPECT_EQ(s.slashable_refused, std::nullopt);
}

TEST(MapValidatorClientTest, ManySeriesAreSummedInOnePass) {
  // 100k per-pubkey Prysm series of value 1 plus one of value 0.5.
  std::vector<std::string> keys;
  for (int i = 0; i < 100000; ++i) keys.push_back(std::to_string(i));
  std::vector<MetricSample> samples;
  for (const std::string& k : keys) {
    samples.push_back({"validator_attestations_rejected_total", {{"pubkey", k}}, 1.0});
  }
  samples.push_back({"validator_proposals_rejected_total", {{"pubkey", "x"}}, 0.5});
  EXPECT_THAT(MapValidatorClient(ClientKind::kPrysm, samples).slashable_refused,
              Optional(100000.5));
}

TEST(ExtractWeb3SignerMetricsTest, FromRecordedShape) {
  const std::string body = ReadTestdata("web3signer.metrics");
  const Web3SignerMetrics m = ExtractWeb3SignerMetrics(ParseSimple(body));
  EXPECT_THAT(m.signing_duration_sum, Optional(251.3));
  EXPECT_THAT(m.signing_duration_count, Optional(104402.0));
  EXPECT_THAT(m.signing_duration_quantiles, ElementsAre(Pair(0.5, 0.0021), Pair(0.95, 0.0048),
                                                        Pair(0.99, 0.0093), Pair(1.0, 0.041)));
  EXPECT_THAT(m.prevented_signings, Optional(2.0));
  EXPECT_THAT(m.permitted_signings, Optional(104400.0));
  EXPECT_THAT(m.missing_identifier_requests, Optional(5.0));
  EXPECT_THAT(m.keys_loaded, Optional(64.0));
}

TEST(ExtractWeb3SignerMetricsTest, AbsentSeriesStayAbsent) {
  const std::string body =
      "signing_bls_signing_duration{quantile=\"bogus\"} 1\nprocess_release{version=\"x\"} 1\n";
  const Web3SignerMetrics m = ExtractWeb3SignerMetrics(ParseSimple(body));
  EXPECT_EQ(m.signing_duration_sum, std::nullopt);
  EXPECT_TRUE(m.signing_duration_quantiles.empty());  // unparsable quantile skipped
  EXPECT_EQ(m.prevented_signings, std::nullopt);
  EXPECT_EQ(m.keys_loaded, std::nullopt);
}

}  // namespace
}  // namespace stakewatch::signer
