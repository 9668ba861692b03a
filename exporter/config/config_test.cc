#include "config/config.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::StartsWith;

// Expected values below are written by hand from the YAML inputs; line:column positions were
// counted by hand (1-based; the trailing "# N" comments in the inputs give the line number).

const std::string kPubkeyUpper = "0x" + std::string(96, 'A');
const std::string kPubkeyLower = "0x" + std::string(96, 'a');
const std::string kPubkeyB = "0x" + std::string(94, 'b') + "01";

// Parses `yaml`, expecting an InvalidArgument error whose message is exactly `message`.
void ExpectError(const std::string& yaml, const std::string& message) {
  absl::StatusOr<Config> c = ParseConfig(yaml, "t.yml");
  ASSERT_FALSE(c.ok()) << "expected error: " << message;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(c.status().message()), message);
}

// Parses `yaml`, expecting an InvalidArgument error that starts with `prefix` and contains
// `substring` (for messages that quote another library's text, e.g. RE2's).
void ExpectErrorPrefix(const std::string& yaml, const std::string& prefix,
                       const std::string& substring) {
  absl::StatusOr<Config> c = ParseConfig(yaml, "t.yml");
  ASSERT_FALSE(c.ok()) << "expected error: " << prefix;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), StartsWith(prefix));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(substring));
}

Config ParseOk(const std::string& yaml) {
  absl::StatusOr<Config> c = ParseConfig(yaml, "t.yml");
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : Config{};
}

// ---------------------------------------------------------------------------------------------
// Whole files.

TEST(ParseConfigTest, FullExample) {
  const std::string yaml = absl::StrCat(R"yaml(global:
  scrape_interval: 30s
  scrape_timeout: 5s
  evaluation_interval: 15s
  external_labels:
    network: mainnet
    region: eu
rule_files:
  - rules/*.yml
  - /etc/stakewatch/extra.yml
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["am1:9093", "[::1]:9093"]
          labels: {dc: a}
      scheme: https
      path_prefix: /am
      timeout: 5s
      api_version: v2
      basic_auth: {username: u, password_file: /p}
      tls_config:
        ca_file: ca.pem
        cert_file: c.pem
        key_file: k.pem
        server_name: am.local
        insecure_skip_verify: true
    - static_configs: [{targets: [am2:9093]}]
      authorization: {credentials_file: /tok}
  alert_relabel_configs:
    - source_labels: [dc, region]
      separator: ","
      regex: "a,(.*)"
      target_label: where
      replacement: "x_$1"
      action: replace
    - action: hashmod
      source_labels: [instance]
      target_label: shard
      modulus: 4
    - action: labeldrop
      regex: "tmp_.*"
scrape_configs:
  - job_name: vc
    scrape_interval: 15s
    scrape_timeout: 15s
    metrics_path: /m
    params: {module: [a, b], x: []}
    scheme: https
    honor_labels: true
    bearer_token_file: /token
    static_configs:
      - targets: [vc:8008, web3signer]
        labels: {client: lighthouse}
    metric_relabel_configs:
      - action: drop
        source_labels: [__name__]
        regex: go_.*
  - job_name: fast
    scrape_interval: 2s
  - job_name: plain
    basic_auth: {username: me, password: secret}
beacon:
  nodes: [http://localhost:5052, "https://user:pw@beacon.example.com:443/prefix"]
  timeout: 20s
  connect_timeout: 500ms
  max_response_bytes: 64MiB
  retries: 5
  poll_interval: 6s
  health_check_interval: 1m
validators:
  per_validator_metrics: true
  per_validator_limit: 500
  groups:
    - name: main
      labels: {operator: acme}
      indices: [5, "1-3", 3, "10-12"]
      pubkeys: [)yaml",
                                        kPubkeyUpper, ", ", kPubkeyUpper, R"yaml(]
    - name: second
      indices: "20,22-23, 21"
      pubkeys:
        - )yaml",
                                        kPubkeyB, R"yaml(
storage:
  path: /var/lib/stakewatch
)yaml");
  Config c = ParseOk(yaml);

  EXPECT_EQ(c.global.scrape_interval, absl::Seconds(30));
  EXPECT_EQ(c.global.scrape_timeout, absl::Seconds(5));
  EXPECT_EQ(c.global.evaluation_interval, absl::Seconds(15));
  EXPECT_THAT(c.global.external_labels,
              ElementsAre(Pair("network", "mainnet"), Pair("region", "eu")));

  EXPECT_THAT(c.rule_files, ElementsAre("rules/*.yml", "/etc/stakewatch/extra.yml"));

  ASSERT_EQ(c.alerting.alertmanagers.size(), 2u);
  const AlertmanagerConfig& am = c.alerting.alertmanagers[0];
  ASSERT_EQ(am.static_configs.size(), 1u);
  EXPECT_THAT(am.static_configs[0].targets, ElementsAre("am1:9093", "[::1]:9093"));
  EXPECT_THAT(am.static_configs[0].labels, ElementsAre(Pair("dc", "a")));
  EXPECT_EQ(am.scheme, "https");
  EXPECT_EQ(am.path_prefix, "/am");
  EXPECT_EQ(am.timeout, absl::Seconds(5));
  EXPECT_EQ(am.api_version, "v2");
  ASSERT_TRUE(am.basic_auth.has_value());
  EXPECT_EQ(am.basic_auth->username, "u");
  EXPECT_EQ(am.basic_auth->password, "");
  EXPECT_EQ(am.basic_auth->password_file, "/p");
  EXPECT_FALSE(am.authorization.has_value());
  EXPECT_EQ(am.tls_config.ca_file, "ca.pem");
  EXPECT_EQ(am.tls_config.cert_file, "c.pem");
  EXPECT_EQ(am.tls_config.key_file, "k.pem");
  EXPECT_EQ(am.tls_config.server_name, "am.local");
  EXPECT_TRUE(am.tls_config.insecure_skip_verify);
  const AlertmanagerConfig& am2 = c.alerting.alertmanagers[1];
  ASSERT_EQ(am2.static_configs.size(), 1u);
  EXPECT_THAT(am2.static_configs[0].targets, ElementsAre("am2:9093"));
  EXPECT_TRUE(am2.static_configs[0].labels.empty());
  EXPECT_EQ(am2.scheme, "http");
  EXPECT_EQ(am2.path_prefix, "");
  EXPECT_EQ(am2.timeout, absl::Seconds(10));
  EXPECT_FALSE(am2.basic_auth.has_value());
  ASSERT_TRUE(am2.authorization.has_value());
  EXPECT_EQ(am2.authorization->type, "Bearer");
  EXPECT_EQ(am2.authorization->credentials, "");
  EXPECT_EQ(am2.authorization->credentials_file, "/tok");
  EXPECT_FALSE(am2.tls_config.insecure_skip_verify);

  ASSERT_EQ(c.alerting.alert_relabel_configs.size(), 3u);
  const RelabelConfig& r0 = c.alerting.alert_relabel_configs[0];
  EXPECT_THAT(r0.source_labels, ElementsAre("dc", "region"));
  EXPECT_EQ(r0.separator, ",");
  EXPECT_EQ(r0.regex, "a,(.*)");
  EXPECT_EQ(AnchoredRegex(r0), "^(?:a,(.*))$");
  EXPECT_EQ(r0.target_label, "where");
  EXPECT_EQ(r0.replacement, "x_$1");
  EXPECT_EQ(r0.action, RelabelAction::kReplace);
  const RelabelConfig& r1 = c.alerting.alert_relabel_configs[1];
  EXPECT_EQ(r1.action, RelabelAction::kHashMod);
  EXPECT_THAT(r1.source_labels, ElementsAre("instance"));
  EXPECT_EQ(r1.target_label, "shard");
  EXPECT_EQ(r1.modulus, 4u);
  EXPECT_EQ(r1.separator, ";");
  EXPECT_EQ(r1.regex, "(.*)");
  EXPECT_EQ(r1.replacement, "$1");
  const RelabelConfig& r2 = c.alerting.alert_relabel_configs[2];
  EXPECT_EQ(r2.action, RelabelAction::kLabelDrop);
  EXPECT_EQ(r2.regex, "tmp_.*");

  ASSERT_EQ(c.scrape_configs.size(), 3u);
  const ScrapeConfig& vc = c.scrape_configs[0];
  EXPECT_EQ(vc.job_name, "vc");
  EXPECT_EQ(vc.scrape_interval, absl::Seconds(15));
  EXPECT_EQ(vc.scrape_timeout, absl::Seconds(15));
  EXPECT_EQ(vc.metrics_path, "/m");
  EXPECT_THAT(vc.params,
              ElementsAre(Pair("module", ElementsAre("a", "b")), Pair("x", ElementsAre())));
  EXPECT_EQ(vc.scheme, "https");
  EXPECT_TRUE(vc.honor_labels);
  EXPECT_EQ(vc.bearer_token_file, "/token");
  EXPECT_FALSE(vc.basic_auth.has_value());
  EXPECT_FALSE(vc.authorization.has_value());
  ASSERT_EQ(vc.static_configs.size(), 1u);
  EXPECT_THAT(vc.static_configs[0].targets, ElementsAre("vc:8008", "web3signer"));
  EXPECT_THAT(vc.static_configs[0].labels, ElementsAre(Pair("client", "lighthouse")));
  ASSERT_EQ(vc.metric_relabel_configs.size(), 1u);
  EXPECT_EQ(vc.metric_relabel_configs[0].action, RelabelAction::kDrop);
  EXPECT_THAT(vc.metric_relabel_configs[0].source_labels, ElementsAre("__name__"));
  EXPECT_EQ(vc.metric_relabel_configs[0].regex, "go_.*");
  // Interval 2s is below the global timeout 5s, so the timeout becomes 2s.
  const ScrapeConfig& fast = c.scrape_configs[1];
  EXPECT_EQ(fast.job_name, "fast");
  EXPECT_EQ(fast.scrape_interval, absl::Seconds(2));
  EXPECT_EQ(fast.scrape_timeout, absl::Seconds(2));
  EXPECT_EQ(fast.metrics_path, "/metrics");
  EXPECT_EQ(fast.scheme, "http");
  EXPECT_FALSE(fast.honor_labels);
  // Inherits both from global.
  const ScrapeConfig& plain = c.scrape_configs[2];
  EXPECT_EQ(plain.scrape_interval, absl::Seconds(30));
  EXPECT_EQ(plain.scrape_timeout, absl::Seconds(5));
  ASSERT_TRUE(plain.basic_auth.has_value());
  EXPECT_EQ(plain.basic_auth->username, "me");
  EXPECT_EQ(plain.basic_auth->password, "secret");

  EXPECT_THAT(c.beacon.nodes, ElementsAre("http://localhost:5052",
                                          "https://user:pw@beacon.example.com:443/prefix"));
  EXPECT_EQ(c.beacon.timeout, absl::Seconds(20));
  EXPECT_EQ(c.beacon.connect_timeout, absl::Milliseconds(500));
  EXPECT_EQ(c.beacon.max_response_bytes, 64u * 1024 * 1024);
  EXPECT_EQ(c.beacon.retries, 5u);
  EXPECT_EQ(c.beacon.poll_interval, absl::Seconds(6));
  EXPECT_EQ(c.beacon.health_check_interval, absl::Minutes(1));

  EXPECT_TRUE(c.validators.per_validator_metrics);
  EXPECT_EQ(c.validators.per_validator_limit, 500u);
  ASSERT_EQ(c.validators.groups.size(), 2u);
  const ValidatorGroup& main = c.validators.groups[0];
  EXPECT_EQ(main.name, "main");
  EXPECT_THAT(main.labels, ElementsAre(Pair("operator", "acme")));
  EXPECT_THAT(main.indices, ElementsAre(1, 2, 3, 5, 10, 11, 12));
  EXPECT_THAT(main.pubkeys, ElementsAre(kPubkeyLower));
  const ValidatorGroup& second = c.validators.groups[1];
  EXPECT_EQ(second.name, "second");
  EXPECT_TRUE(second.labels.empty());
  EXPECT_THAT(second.indices, ElementsAre(20, 21, 22, 23));
  EXPECT_THAT(second.pubkeys, ElementsAre(kPubkeyB));

  EXPECT_EQ(c.storage.path, "/var/lib/stakewatch");
}

void ExpectDefaults(const GlobalConfig& g) {
  EXPECT_EQ(g.scrape_interval, absl::Minutes(1));
  EXPECT_EQ(g.scrape_timeout, absl::Seconds(10));
  EXPECT_EQ(g.evaluation_interval, absl::Minutes(1));
  EXPECT_TRUE(g.external_labels.empty());
}

void ExpectDefaults(const BeaconConfig& b) {
  EXPECT_TRUE(b.nodes.empty());
  EXPECT_EQ(b.timeout, absl::Seconds(10));
  EXPECT_EQ(b.connect_timeout, absl::Seconds(2));
  EXPECT_EQ(b.max_response_bytes, 128u * 1024 * 1024);
  EXPECT_EQ(b.retries, 3u);
  EXPECT_EQ(b.poll_interval, absl::ZeroDuration());
  EXPECT_EQ(b.health_check_interval, absl::Seconds(30));
}

void ExpectDefaults(const ValidatorsConfig& v) {
  EXPECT_FALSE(v.per_validator_metrics);
  EXPECT_EQ(v.per_validator_limit, 10000u);
  EXPECT_TRUE(v.groups.empty());
}

void ExpectEmptySections(const Config& c) {
  EXPECT_TRUE(c.rule_files.empty());
  EXPECT_TRUE(c.alerting.alertmanagers.empty());
  EXPECT_TRUE(c.alerting.alert_relabel_configs.empty());
  EXPECT_TRUE(c.scrape_configs.empty());
}

TEST(ParseConfigTest, EmptyFileIsDefaults) {
  for (const char* text : {"", "\n", "# only a comment\n", "---\n", "~\n"}) {
    SCOPED_TRACE(text);
    Config c = ParseOk(text);
    ExpectDefaults(c.global);
    ExpectEmptySections(c);
    ExpectDefaults(c.beacon);
    ExpectDefaults(c.validators);
    EXPECT_EQ(c.storage.path, "data/");
  }
}

TEST(ParseConfigTest, NullSectionsAreDefaults) {
  Config c = ParseOk("global:\nbeacon:\nvalidators:\nstorage:\nrule_files:\n");
  ExpectDefaults(c.global);
  ExpectDefaults(c.beacon);
  ExpectDefaults(c.validators);
  EXPECT_EQ(c.storage.path, "data/");
}

TEST(ParseConfigTest, OnlyRuleFilesAndAlerting) {
  Config c = ParseOk(
      "rule_files: [a.yml]\n"
      "alerting:\n"
      "  alertmanagers:\n"
      "    - static_configs: [{targets: ['localhost:9093']}]\n");
  EXPECT_THAT(c.rule_files, ElementsAre("a.yml"));
  ASSERT_EQ(c.alerting.alertmanagers.size(), 1u);
  EXPECT_THAT(c.alerting.alertmanagers[0].static_configs[0].targets, ElementsAre("localhost:9093"));
  EXPECT_EQ(c.alerting.alertmanagers[0].api_version, "v2");
  ExpectDefaults(c.global);
  ExpectDefaults(c.beacon);
  ExpectDefaults(c.validators);
}

TEST(ParseConfigTest, GlobalAlone) {
  Config c = ParseOk("global:\n  scrape_interval: 1h30m\n  external_labels: {a: b}\n");
  EXPECT_EQ(c.global.scrape_interval, absl::Seconds(5400));
  EXPECT_EQ(c.global.scrape_timeout, absl::Seconds(10));
  EXPECT_EQ(c.global.evaluation_interval, absl::Minutes(1));
  EXPECT_THAT(c.global.external_labels, ElementsAre(Pair("a", "b")));
  ExpectEmptySections(c);
  ExpectDefaults(c.beacon);
}

TEST(ParseConfigTest, GlobalShortIntervalLowersDefaultTimeout) {
  // Prometheus's rule: an unset timeout above the interval becomes the interval.
  Config c = ParseOk("global:\n  scrape_interval: 5s\n");
  EXPECT_EQ(c.global.scrape_timeout, absl::Seconds(5));
}

TEST(ParseConfigTest, ScrapeConfigsAlone) {
  Config c = ParseOk(
      "scrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_timeout: 1m\n"
      "    scrape_interval: 2m\n");
  ASSERT_EQ(c.scrape_configs.size(), 2u);
  EXPECT_EQ(c.scrape_configs[0].job_name, "a");
  EXPECT_EQ(c.scrape_configs[0].scrape_interval, absl::Minutes(1));
  EXPECT_EQ(c.scrape_configs[0].scrape_timeout, absl::Seconds(10));
  EXPECT_EQ(c.scrape_configs[0].metrics_path, "/metrics");
  EXPECT_TRUE(c.scrape_configs[0].static_configs.empty());
  EXPECT_EQ(c.scrape_configs[1].scrape_interval, absl::Minutes(2));
  EXPECT_EQ(c.scrape_configs[1].scrape_timeout, absl::Minutes(1));
  ExpectDefaults(c.global);
  ExpectDefaults(c.beacon);
}

TEST(ParseConfigTest, BeaconAlone) {
  Config c = ParseOk(
      "beacon:\n  nodes: ['http://[::1]:5052/', 'https://node']\n  max_response_bytes: 1000\n"
      "  poll_interval: 0\n  health_check_interval: 0s\n  retries: 0\n");
  EXPECT_THAT(c.beacon.nodes, ElementsAre("http://[::1]:5052/", "https://node"));
  EXPECT_EQ(c.beacon.max_response_bytes, 1000u);
  EXPECT_EQ(c.beacon.poll_interval, absl::ZeroDuration());
  EXPECT_EQ(c.beacon.health_check_interval, absl::ZeroDuration());
  EXPECT_EQ(c.beacon.retries, 0u);
  EXPECT_EQ(c.beacon.timeout, absl::Seconds(10));
  ExpectDefaults(c.global);
  ExpectDefaults(c.validators);
  ExpectEmptySections(c);
}

TEST(ParseConfigTest, ValidatorsAlone) {
  Config c = ParseOk(
      "validators:\n  groups:\n    - name: g\n      indices: 7\n"
      "    - name: h\n      indices: '8, 9-9'\n");
  ASSERT_EQ(c.validators.groups.size(), 2u);
  EXPECT_THAT(c.validators.groups[0].indices, ElementsAre(7));
  EXPECT_THAT(c.validators.groups[1].indices, ElementsAre(8, 9));
  EXPECT_FALSE(c.validators.per_validator_metrics);
  EXPECT_EQ(c.validators.per_validator_limit, 10000u);
  ExpectDefaults(c.beacon);
  ExpectEmptySections(c);
}

TEST(ParseConfigTest, FeeRecipientEventsAndExecution) {
  Config c = ParseOk(
      "beacon:\n  events: false\n  count_finalized_only: false\n"
      "execution:\n  endpoint: http://geth:8545\n"
      "  relays: ['https://relay.example/', 'http://user:pw@relay2:9000']\n  timeout: 3s\n"
      "validators:\n  groups:\n    - name: g\n      indices: 7\n"
      "      fee_recipient: '0xAbCdEf0123456789aBCDEF0123456789abcdef01'\n");
  EXPECT_FALSE(c.beacon.events);
  EXPECT_FALSE(c.beacon.count_finalized_only);
  EXPECT_EQ(c.execution.endpoint, "http://geth:8545");
  EXPECT_THAT(c.execution.relays,
              ElementsAre("https://relay.example/", "http://user:pw@relay2:9000"));
  EXPECT_EQ(c.execution.timeout, absl::Seconds(3));
  ASSERT_EQ(c.validators.groups.size(), 1u);
  // Lower-cased as written by hand.
  EXPECT_EQ(c.validators.groups[0].fee_recipient, "0xabcdef0123456789abcdef0123456789abcdef01");
  Config d = ParseOk("");
  EXPECT_TRUE(d.beacon.events);
  EXPECT_TRUE(d.beacon.count_finalized_only);
  EXPECT_TRUE(d.execution.endpoint.empty());
}

TEST(ConfigErrorTest, FeeRecipientAndExecution) {
  ExpectError(
      "validators:\n  groups:\n    - name: g\n      indices: 7\n"
      "      fee_recipient: '0x12'\n",
      "t.yml:5:22: validators.groups[0].fee_recipient: bad fee_recipient \"0x12\": want 0x "
      "followed by 40 hex digits");
  ExpectError(
      "validators:\n  groups:\n    - name: g\n      indices: 7\n"
      "      fee_recipient: '0xzz3456789012345678901234567890123456789a'\n",
      "t.yml:5:22: validators.groups[0].fee_recipient: bad fee_recipient "
      "\"0xzz3456789012345678901234567890123456789a\": want 0x "
      "followed by 40 hex digits");
  ExpectErrorPrefix("execution:\n  endpoint: geth:8545\n",
                    "t.yml:2:13: execution.endpoint: bad URL \"geth:8545\"",
                    "must start with http");
  ExpectError("execution:\n  relays: ['http://r', 'http://r']\n",
              "t.yml:2:24: execution.relays[1]: duplicate relay \"http://r\"");
  ExpectErrorPrefix("execution:\n  timeout: 0s\n", "t.yml:2:12: ", "timeout");
}

TEST(ParseConfigTest, StorageAlone) {
  Config c = ParseOk("storage:\n  path: /tmp/sw\n");
  EXPECT_EQ(c.storage.path, "/tmp/sw");
  ExpectDefaults(c.global);
  ExpectDefaults(c.beacon);
  ExpectDefaults(c.validators);
}

TEST(ParseConfigTest, RelabelActionsAreCaseInsensitiveAndAllKnown) {
  Config c = ParseOk(
      "alerting:\n  alert_relabel_configs:\n"
      "    - {action: KEEP, source_labels: [a], regex: x}\n"
      "    - {action: labelmap, regex: 'meta_(.+)', replacement: '${1}'}\n"
      "    - {action: labelkeep, regex: 'a|b'}\n"
      "    - {action: lowercase, source_labels: [a], target_label: b}\n"
      "    - {action: uppercase, source_labels: [a], target_label: b}\n"
      "    - {action: keepequal, source_labels: [a], target_label: b}\n"
      "    - {action: dropequal, source_labels: [a], target_label: b}\n"
      "    - {source_labels: [a], target_label: 'x_${1}'}\n");
  const auto& r = c.alerting.alert_relabel_configs;
  ASSERT_EQ(r.size(), 8u);
  EXPECT_EQ(r[0].action, RelabelAction::kKeep);
  EXPECT_EQ(r[1].action, RelabelAction::kLabelMap);
  EXPECT_EQ(r[2].action, RelabelAction::kLabelKeep);
  EXPECT_EQ(r[3].action, RelabelAction::kLowercase);
  EXPECT_EQ(r[4].action, RelabelAction::kUppercase);
  EXPECT_EQ(r[5].action, RelabelAction::kKeepEqual);
  EXPECT_EQ(r[6].action, RelabelAction::kDropEqual);
  EXPECT_EQ(r[7].action, RelabelAction::kReplace);
  EXPECT_EQ(r[7].target_label, "x_${1}");
}

// ---------------------------------------------------------------------------------------------
// Errors, with positions counted by hand.

TEST(ConfigErrorTest, UnknownKeys) {
  ExpectError("remote_write: []\n", "t.yml:1:1: unknown key \"remote_write\" at top level");
  ExpectError(
      "beacon:\n"        // 1
      "  timeout: 5s\n"  // 2
      "  nodez: []\n",   // 3
      "t.yml:3:3: unknown key \"nodez\" in beacon (did you mean \"nodes\"?)");
  ExpectError(
      "alerting:\n"           // 1
      "  alertmanagers:\n"    // 2
      "    - scheme: http\n"  // 3
      "      tls_config:\n"   // 4
      "        ca_fil: x\n",  // 5
      "t.yml:5:9: unknown key \"ca_fil\" in alerting.alertmanagers[0].tls_config "
      "(did you mean \"ca_file\"?)");
  ExpectError(
      "validators:\n"         // 1
      "  groups:\n"           // 2
      "    - name: a\n"       // 3
      "      indices: [1]\n"  // 4
      "    - name: b\n"       // 5
      "      colour: red\n",  // 6
      "t.yml:6:7: unknown key \"colour\" in validators.groups[1]");
  ExpectError(
      "scrape_configs:\n"
      "  - job_name: a\n"
      "    static_configs:\n"
      "      - {targets: [a:1], lables: {}}\n",  // 4: "      - {targets: [a:1], " = 25
      "t.yml:4:26: unknown key \"lables\" in scrape_configs[0].static_configs[0] "
      "(did you mean \"labels\"?)");
  ExpectError("global:\n  scrape_interval: 1m\n  scrape_interval: 2m\n",
              "t.yml:3:3: duplicate key \"scrape_interval\" in global");
}

TEST(ConfigErrorTest, WrongTypes) {
  ExpectError("global: [1]\n", "t.yml:1:9: global: expected a map, got a list");
  ExpectError("beacon:\n  retries: many\n",
              "t.yml:2:12: beacon.retries: expected a non-negative integer, got scalar \"many\"");
  ExpectError("beacon:\n  retries: -1\n",
              "t.yml:2:12: beacon.retries: expected a non-negative integer, got scalar \"-1\"");
  ExpectError("validators:\n  groups: {a: 1}\n",
              "t.yml:2:11: validators.groups: expected a list, got a map");
  ExpectError("validators:\n  per_validator_metrics: maybe\n",
              "t.yml:2:26: validators.per_validator_metrics: expected true or false, "
              "got scalar \"maybe\"");
  ExpectError("rule_files:\n  - [a]\n", "t.yml:2:5: rule_files[0]: expected a string, got a list");
  ExpectError("storage:\n  path: {a: b}\n",
              "t.yml:2:9: storage.path: expected a string, got a map");
  ExpectError("beacon:\n  max_response_bytes: 12XB\n",
              "t.yml:2:23: beacon.max_response_bytes: invalid size \"12XB\": unknown unit \"XB\" "
              "(want B, KiB, MiB, GiB, TiB, kB, MB, GB or TB)");
  ExpectError("- a\n", "t.yml:1:1: expected a map, got a list");
}

TEST(ConfigErrorTest, BadDurations) {
  ExpectError("global:\n  scrape_interval: 1x\n",
              "t.yml:2:20: global.scrape_interval: invalid duration \"1x\": unknown unit \"x\" "
              "(want y, w, d, h, m, s or ms)");
  ExpectError("beacon:\n  timeout: 10\n",
              "t.yml:2:12: beacon.timeout: invalid duration \"10\": missing unit "
              "(one of y, w, d, h, m, s, ms)");
  ExpectError("beacon:\n  timeout: 0s\n", "t.yml:2:12: beacon.timeout: must be greater than 0");
  ExpectError("global:\n  scrape_interval: 10s\n  scrape_timeout: 11s\n",
              "t.yml:3:19: global.scrape_timeout: must not be greater than scrape_interval (10s)");
  ExpectError(
      "scrape_configs:\n"
      "  - job_name: a\n"
      "    scrape_interval: 90s\n"
      "    scrape_timeout: 2m\n",
      "t.yml:4:21: scrape_configs[0].scrape_timeout: must not be greater than "
      "scrape_interval (1m30s)");
}

TEST(ConfigErrorTest, BadUrls) {
  ExpectError(
      "beacon:\n"
      "  nodes:\n"
      "    - http://ok:5052\n"
      "    - ftp://x\n",
      "t.yml:4:7: beacon.nodes[1]: bad URL \"ftp://x\": URL must start with http:// or "
      "https://");
  ExpectError("beacon:\n  nodes: ['http://h:99999']\n",
              "t.yml:2:11: beacon.nodes[0]: bad URL \"http://h:99999\": bad port \"99999\"");
  ExpectError("beacon:\n  nodes: ['http:///x']\n",
              "t.yml:2:11: beacon.nodes[0]: bad URL \"http:///x\": missing host");
  ExpectError("beacon:\n  nodes: ['http://a b']\n",
              "t.yml:2:11: beacon.nodes[0]: bad URL \"http://a b\": URL contains a space or "
              "control character");
  ExpectError("beacon:\n  nodes: [http://a, http://a]\n",
              "t.yml:2:21: beacon.nodes[1]: duplicate node \"http://a\"");
  ExpectError(
      "alerting:\n  alertmanagers:\n    - static_configs: [{targets: ['http://am:9093']}]\n",
      "t.yml:3:35: alerting.alertmanagers[0].static_configs[0].targets[0]: target "
      "\"http://am:9093\" must be host:port, without scheme or path");
}

TEST(ConfigErrorTest, Groups) {
  ExpectError(
      "validators:\n"         // 1
      "  groups:\n"           // 2
      "    - name: a\n"       // 3
      "      indices: [1]\n"  // 4
      "    - name: a\n"       // 5
      "      indices: [2]\n",
      "t.yml:5:13: validators.groups[1].name: duplicate group name \"a\" "
      "(also validators.groups[0])");
  ExpectError("validators:\n  groups:\n    - indices: [1]\n",
              "t.yml:3:7: validators.groups[0]: name is required");
  ExpectError("validators:\n  groups:\n    - name: ''\n      indices: [1]\n",
              "t.yml:3:13: validators.groups[0].name: name must not be empty");
  ExpectError("validators:\n  groups:\n    - name: e\n",
              "t.yml:3:7: validators.groups[0]: group \"e\" lists no validators "
              "(set indices or pubkeys)");
  ExpectError("validators:\n  groups:\n    - name: a\n      indices: ['20-10']\n",
              "t.yml:4:17: validators.groups[0].indices[0]: bad validator range \"20-10\": "
              "start is greater than end");
  ExpectError("validators:\n  groups:\n    - name: a\n      indices: '1,,2'\n",
              "t.yml:4:16: validators.groups[0].indices: empty item in validator list");
  ExpectError("validators:\n  groups:\n    - name: a\n      pubkeys: [0x1234]\n",
              "t.yml:4:17: validators.groups[0].pubkeys[0]: bad pubkey \"0x1234\": want 0x "
              "followed by 96 hex digits");
}

TEST(ConfigErrorTest, OverlappingValidators) {
  ExpectError(
      "validators:\n"              // 1
      "  groups:\n"                // 2
      "    - name: a\n"            // 3
      "      indices: \"1-10\"\n"  // 4
      "    - name: b\n"            // 5
      "      indices: [20, 5]\n",  // 6
      "t.yml:6:16: validators.groups[1].indices: validator 5 is in two groups: \"a\" "
      "and \"b\"");
  // The later group is blamed even when it sorts first in the merge.
  ExpectError(
      "validators:\n"
      "  groups:\n"
      "    - name: x\n"
      "      indices: [100]\n"
      "    - name: y\n"
      "      indices: [0-99]\n"
      "    - name: z\n"         // 7
      "      indices: [99]\n",  // 8
      "t.yml:8:16: validators.groups[2].indices: validator 99 is in two groups: \"y\" "
      "and \"z\"");
  ExpectError(absl::StrCat("validators:\n"
                           "  groups:\n"
                           "    - name: a\n"
                           "      pubkeys: [",
                           kPubkeyLower,
                           "]\n"
                           "    - name: b\n"
                           "      pubkeys:\n"
                           "        - ",
                           kPubkeyUpper, "\n"),  // 7
              absl::StrCat("t.yml:7:11: validators.groups[1].pubkeys[0]: pubkey ", kPubkeyLower,
                           " is in two groups: \"a\" and \"b\""));
}

TEST(ConfigErrorTest, BadLabelNames) {
  ExpectError("global:\n  external_labels:\n    1bad: x\n",
              "t.yml:3:5: global.external_labels: invalid label name \"1bad\" "
              "(want [a-zA-Z_][a-zA-Z0-9_]*)");
  ExpectError("global:\n  external_labels:\n    __x: y\n",
              "t.yml:3:5: global.external_labels: label name \"__x\" is reserved");
  ExpectError(
      "validators:\n  groups:\n    - name: a\n      indices: [1]\n"
      "      labels: {ok: 1, group: x}\n",  // "      labels: {ok: 1, " = 22
      "t.yml:5:23: validators.groups[0].labels: label name \"group\" is reserved");
  ExpectError(
      "validators:\n  groups:\n    - name: a\n      indices: [1]\n"
      "      labels:\n        validator_index: x\n",
      "t.yml:6:9: validators.groups[0].labels: label name \"validator_index\" is reserved");
  ExpectError("alerting:\n  alert_relabel_configs:\n    - source_labels: [a-b]\n",
              "t.yml:3:23: alerting.alert_relabel_configs[0].source_labels[0]: invalid label "
              "name \"a-b\"");
}

TEST(ConfigErrorTest, BadRelabel) {
  ExpectErrorPrefix(
      "alerting:\n"                 // 1
      "  alert_relabel_configs:\n"  // 2
      "    - regex: \"a(b\"\n",     // 3
      "t.yml:3:14: alerting.alert_relabel_configs[0].regex: invalid regex \"a(b\": ", "missing )");
  ExpectError("alerting:\n  alert_relabel_configs:\n    - action: frob\n",
              "t.yml:3:15: alerting.alert_relabel_configs[0].action: unknown action \"frob\" "
              "(want replace, keep, drop, labelmap, labeldrop, labelkeep, hashmod, lowercase, "
              "uppercase, keepequal or dropequal)");
  ExpectError("alerting:\n  alert_relabel_configs:\n    - action: hashmod\n      target_label: s\n",
              "t.yml:3:15: alerting.alert_relabel_configs[0].action: hashmod action requires "
              "modulus greater than 0");
  ExpectError(
      "alerting:\n  alert_relabel_configs:\n    - action: labeldrop\n"
      "      source_labels: [a]\n",
      "t.yml:3:15: alerting.alert_relabel_configs[0].action: labeldrop action takes only "
      "regex, and no other fields");
  ExpectError("alerting:\n  alert_relabel_configs:\n    - source_labels: [a]\n",
              "t.yml:3:7: alerting.alert_relabel_configs[0]: replace action requires target_label");
  ExpectError(
      "alerting:\n  alert_relabel_configs:\n    - {action: lowercase, target_label: 'a$1'}\n",
      "t.yml:3:41: alerting.alert_relabel_configs[0].target_label: invalid target_label "
      "\"a$1\" for lowercase action");
}

TEST(ConfigErrorTest, Alertmanagers) {
  ExpectError(
      "alerting:\n"               // 1
      "  alertmanagers:\n"        // 2
      "    - api_version: v1\n",  // 3
      "t.yml:3:20: alerting.alertmanagers[0].api_version: v1 is not supported "
      "(Alertmanager removed its v1 API); use v2");
  ExpectError("alerting:\n  alertmanagers:\n    - api_version: v3\n",
              "t.yml:3:20: alerting.alertmanagers[0].api_version: unsupported version \"v3\"; "
              "use v2");
  ExpectError("alerting:\n  alertmanagers:\n    - scheme: ftp\n",
              "t.yml:3:15: alerting.alertmanagers[0].scheme: must be http or https, got \"ftp\"");
  ExpectError("alerting:\n  alertmanagers:\n    - authorization: {type: basic}\n",
              "t.yml:3:29: alerting.alertmanagers[0].authorization.type: type cannot be Basic; "
              "use basic_auth instead");
  ExpectError("alerting:\n  alertmanagers:\n    - tls_config: {cert_file: c}\n",
              "t.yml:3:19: alerting.alertmanagers[0].tls_config: cert_file and key_file must be "
              "set together");
  ExpectError("alerting:\n  alertmanagers:\n    - basic_auth: {password: a, password_file: b}\n",
              "t.yml:3:19: alerting.alertmanagers[0].basic_auth: at most one of password and "
              "password_file may be set");
}

TEST(ConfigErrorTest, ScrapeConfigs) {
  ExpectError("scrape_configs:\n  - scrape_interval: 1m\n",
              "t.yml:2:5: scrape_configs[0]: job_name is required");
  ExpectError("scrape_configs:\n  - job_name: a\n  - job_name: a\n",
              "t.yml:3:15: scrape_configs[1].job_name: duplicate job_name \"a\" (first defined "
              "at line 2)");
  ExpectError(
      "scrape_configs:\n  - job_name: a\n    bearer_token_file: x\n"
      "    authorization: {credentials: y}\n",
      "t.yml:2:5: scrape_configs[0]: at most one of basic_auth, bearer_token_file and "
      "authorization may be set");
  ExpectError("scrape_configs:\n  - job_name: a\n    metrics_path: metrics\n",
              "t.yml:3:19: scrape_configs[0].metrics_path: must start with /");
}

TEST(ConfigErrorTest, MalformedYaml) {
  // Line 3, "y: a: b": the parser stops at the second ':' (column 5).
  ExpectError("beacon:\n  nodes: []\ny: a: b\n", "t.yml:3:5: malformed YAML: illegal map value");
  ExpectErrorPrefix("beacon:\n  nodes: [http://a\n", "t.yml:", "malformed YAML: ");
  ExpectError("storage: {}\n---\nbeacon: {}\n", "t.yml:2:1: only one YAML document is allowed");
  // yaml-cpp 0.7's LoadAll never returns on these (jbeder/yaml-cpp#1040).
  ExpectError(",lobal:\n  scrape_interval: 1m\n",
              "t.yml:1:1: malformed YAML: unexpected token near \",\"");
  ExpectError(",\n", "t.yml:1:1: malformed YAML: unexpected token near \",\"");
  ExpectErrorPrefix("}\n", "t.yml:1:1: malformed YAML: ", "");
}

TEST(ConfigErrorTest, NullValueBlamesItsKey) {
  // "name:" has a null value; the error points at the key, not the next line.
  ExpectError("validators:\n  groups:\n    - name:\n      indices: [1]\n",
              "t.yml:3:7: validators.groups[0]: name is required");
  ExpectError("validators:\n  groups:\n    -\n",
              "t.yml:3:5: validators.groups[0]: name is required");
}

TEST(ConfigErrorTest, HostileInputsGiveStatusNotCrash) {
  // Deep nesting: the YAML parser's depth guard, or our shape checks, must reject it.
  std::string deep = "a: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  EXPECT_FALSE(ParseConfig(deep, "t.yml").ok());
  // Aliases are fine but still checked.
  Config c = ParseOk("beacon:\n  nodes: &n [http://a]\nrule_files: *n\n");
  EXPECT_THAT(c.rule_files, ElementsAre("http://a"));
  EXPECT_FALSE(ParseConfig(std::string("\0\xff\xfe", 3), "t.yml").ok());
  // Beyond the index budget.
  ExpectError("validators:\n  groups:\n    - name: a\n      indices: 0-18446744073709551615\n",
              "t.yml:4:16: validators.groups[0].indices: too many validator indices (the limit "
              "is 16777216)");
  ExpectError("validators:\n  groups:\n    - name: a\n      indices: 0-99999999999999999999\n",
              "t.yml:4:16: validators.groups[0].indices: bad validator range "
              "\"0-99999999999999999999\": want A-B with decimal A <= B");
}

// ---------------------------------------------------------------------------------------------
// Value syntaxes.

TEST(DurationTest, Parses) {
  struct Case {
    const char* text;
    absl::Duration want;
  };
  const Case cases[] = {
      {"0", absl::ZeroDuration()},
      {"0s", absl::ZeroDuration()},
      {"1h30m", absl::Seconds(5400)},
      {"500ms", absl::Milliseconds(500)},
      {"90s", absl::Seconds(90)},
      {"1d", absl::Hours(24)},
      {"2w", absl::Hours(24 * 14)},
      {"1y", absl::Hours(24 * 365)},
      {"1y2w3d4h5m6s7ms", absl::Hours(24 * 365 + 24 * 14 + 24 * 3 + 4) + absl::Minutes(5) +
                              absl::Seconds(6) + absl::Milliseconds(7)},
      {"0010s", absl::Seconds(10)},
  };
  for (const Case& c : cases) {
    absl::StatusOr<absl::Duration> d = ParsePrometheusDuration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.status();
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(DurationTest, Rejects) {
  for (const char* text : {"", "1", "s", "-1s", "+1s", "1.5s", "1s1m", "1m1m", "1 s", "1S", "1h ",
                           "1us", "1ns", "1000000y", "99999999999999999999s"}) {
    EXPECT_FALSE(ParsePrometheusDuration(text).ok()) << text;
  }
  // Largest: 292y is about 9.2e18 ns; 293y overflows int64 nanoseconds.
  EXPECT_TRUE(ParsePrometheusDuration("292y").ok());
  EXPECT_FALSE(ParsePrometheusDuration("293y").ok());
}

TEST(DurationTest, FormatsLikePrometheus) {
  EXPECT_EQ(FormatPrometheusDuration(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(FormatPrometheusDuration(absl::Seconds(5400)), "1h30m");
  EXPECT_EQ(FormatPrometheusDuration(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatPrometheusDuration(absl::Milliseconds(1500)), "1s500ms");
  EXPECT_EQ(FormatPrometheusDuration(absl::Hours(24 * 14)), "2w");
  // Weeks and years only when exact.
  EXPECT_EQ(FormatPrometheusDuration(absl::Hours(24 * 8)), "8d");
  EXPECT_EQ(FormatPrometheusDuration(absl::Hours(24 * 90)), "90d");
  EXPECT_EQ(FormatPrometheusDuration(absl::Hours(24 * 365)), "1y");
  EXPECT_EQ(FormatPrometheusDuration(absl::Hours(24 * 366)), "366d");
  EXPECT_EQ(FormatPrometheusDuration(absl::Hours(25) + absl::Milliseconds(1)), "1d1h1ms");
  EXPECT_EQ(FormatPrometheusDuration(absl::Microseconds(999)), "0s");
  EXPECT_EQ(FormatPrometheusDuration(-absl::Seconds(61)), "-1m1s");
}

TEST(DurationTest, RoundTrips) {
  for (const char* text : {"1m30s", "2w", "1y", "8d", "1d1h1ms", "500ms", "3h", "1w"}) {
    absl::StatusOr<absl::Duration> d = ParsePrometheusDuration(text);
    ASSERT_TRUE(d.ok()) << text;
    EXPECT_EQ(FormatPrometheusDuration(*d), text);
  }
}

TEST(ByteSizeTest, ParsesAndRejects) {
  EXPECT_EQ(*ParseByteSize("0"), 0u);
  EXPECT_EQ(*ParseByteSize("1048576"), 1048576u);
  EXPECT_EQ(*ParseByteSize("12B"), 12u);
  EXPECT_EQ(*ParseByteSize("2KiB"), 2048u);
  EXPECT_EQ(*ParseByteSize("64MiB"), 67108864u);
  EXPECT_EQ(*ParseByteSize("1GiB"), 1073741824u);
  EXPECT_EQ(*ParseByteSize("3TiB"), 3298534883328u);
  EXPECT_EQ(*ParseByteSize("5kB"), 5000u);
  EXPECT_EQ(*ParseByteSize("5KB"), 5000u);
  EXPECT_EQ(*ParseByteSize("7MB"), 7000000u);
  EXPECT_EQ(*ParseByteSize("2GB"), 2000000000u);
  for (const char* text :
       {"", "MiB", "-1", "1 MiB", "1mib", "1.5MiB", "99999999999TiB", "18446744073709551616"}) {
    EXPECT_FALSE(ParseByteSize(text).ok()) << text;
  }
}

TEST(ValidatorSpecTest, ParsesIndicesRangesAndPubkeys) {
  absl::StatusOr<ValidatorSpec> s =
      ParseValidatorSpec(absl::StrCat("1,2, 10-12 ,2,", kPubkeyUpper, ",11,", kPubkeyLower));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->indices, ElementsAre(1, 2, 10, 11, 12));
  EXPECT_THAT(s->pubkeys, ElementsAre(kPubkeyLower));
  s = ParseValidatorSpec("18446744073709551614-18446744073709551615");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->indices, ElementsAre(18446744073709551614u, 18446744073709551615u));
  s = ParseValidatorSpec("5-5,4-6,6-7");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->indices, ElementsAre(4, 5, 6, 7));
}

TEST(ValidatorSpecTest, Rejects) {
  for (const char* spec : {"", " ", "1,", ",1", "a", "1-", "-1", "3-2", "1-2-3", "0x12", "1.5",
                           "18446744073709551616", "0-20000000"}) {
    EXPECT_FALSE(ParseValidatorSpec(spec).ok()) << spec;
  }
  absl::StatusOr<ValidatorSpec> s = ParseValidatorSpec("3-2");
  EXPECT_EQ(std::string(s.status().message()),
            "bad validator range \"3-2\": start is greater than end");
}

TEST(ValidatorSpecTest, LargeRangeIsFastAndCompact) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<Config> c = ParseConfig(
      "validators:\n  groups:\n    - name: big\n      indices: \"0-1099999\"\n"
      "    - name: other\n      indices: [1100000, 2000000-2000009]\n",
      "t.yml");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(c.ok()) << c.status();
  const std::vector<uint64_t>& big = c->validators.groups[0].indices;
  ASSERT_EQ(big.size(), 1100000u);
  // 8 bytes per index: the vector was sized exactly, not grown by doubling.
  EXPECT_EQ(big.capacity(), big.size());
  uint64_t sum = 0;
  bool consecutive = true;
  for (size_t i = 0; i < big.size(); ++i) {
    sum += big[i];
    consecutive = consecutive && big[i] == i;
  }
  EXPECT_TRUE(consecutive);
  EXPECT_EQ(sum, uint64_t{1099999} * 1100000 / 2);
  EXPECT_EQ(c->validators.groups[1].indices.size(), 11u);
  // Generous bound (sanitizer builds); an accidental quadratic overlap check takes minutes.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count(), 5000);
}

TEST(LabelNameTest, Validates) {
  for (const char* ok : {"a", "_", "__name__", "A_9", "job"}) EXPECT_TRUE(IsValidLabelName(ok));
  for (const char* bad : {"", "9a", "a-b", "a.b", "é", "a b"}) EXPECT_FALSE(IsValidLabelName(bad));
}

// ---------------------------------------------------------------------------------------------
// Files.

TEST(LoadConfigFileTest, ReadsFileAndNamesItInErrors) {
  const std::string path = testing::TempDir() + "/config_test_load.yml";
  {
    std::ofstream out(path);
    out << "beacon:\n  nodes: [http://n:5052]\n  retriez: 1\n";
  }
  absl::StatusOr<Config> c = LoadConfigFile(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(std::string(c.status().message()),
            path + ":3:3: unknown key \"retriez\" in beacon (did you mean \"retries\"?)");
  {
    std::ofstream out(path);
    out << "beacon:\n  nodes: [http://n:5052]\n";
  }
  c = LoadConfigFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->beacon.nodes, ElementsAre("http://n:5052"));
  std::remove(path.c_str());
  c = LoadConfigFile(path);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(path));
  EXPECT_FALSE(LoadConfigFile(testing::TempDir()).ok());  // a directory
}

// Every ```yaml block in docs/configuration.md must load.
TEST(DocsTest, ConfigurationExamplesParse) {
  std::ifstream in(std::string(STAKEWATCH_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in.good());
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string doc = buf.str();
  int blocks = 0;
  for (size_t pos = doc.find("```yaml\n"); pos != std::string::npos;
       pos = doc.find("```yaml\n", pos)) {
    pos += 8;
    size_t end = doc.find("```", pos);
    ASSERT_NE(end, std::string::npos);
    absl::StatusOr<Config> c = ParseConfig(doc.substr(pos, end - pos), "configuration.md");
    EXPECT_TRUE(c.ok()) << "block " << blocks << ": " << c.status();
    ++blocks;
    pos = end + 3;
  }
  EXPECT_GE(blocks, 3);
}

// ---------------------------------------------------------------------------------------------
// Signing path: slashing_db, web3signer, validator_clients.

TEST(ParseConfigTest, SigningPathSections) {
  Config c = ParseOk(
      "validators:\n"
      "  groups:\n"
      "    - {name: a, indices: [1]}\n"
      "slashing_db:\n"
      "  dsn_file: /run/secrets/db.dsn\n"
      "  poll_interval: 1m\n"
      "  statement_timeout: 2s\n"
      "  reconcile: false\n"
      "web3signer:\n"
      "  url: http://w3s:9000\n"
      "  metrics_url: http://w3s:9001/metrics\n"
      "  auto_discover: true\n"
      "  discover_labels: {team: ops}\n"
      "validator_clients:\n"
      "  - {name: vc1, url: 'http://vc:5064/metrics', client: lighthouse}\n"
      "  - {name: vc2, url: 'http://vc2:8008/metrics', timeout: 3s}\n");
  ASSERT_TRUE(c.slashing_db.has_value());
  EXPECT_EQ(c.slashing_db->dsn_file, "/run/secrets/db.dsn");
  EXPECT_EQ(c.slashing_db->dsn_env, "");
  EXPECT_EQ(c.slashing_db->poll_interval, absl::Minutes(1));
  EXPECT_EQ(c.slashing_db->statement_timeout, absl::Seconds(2));
  EXPECT_EQ(c.slashing_db->connect_timeout, absl::Seconds(5));
  EXPECT_FALSE(c.slashing_db->reconcile);
  ASSERT_TRUE(c.web3signer.has_value());
  EXPECT_EQ(c.web3signer->url, "http://w3s:9000");
  EXPECT_EQ(c.web3signer->metrics_url, "http://w3s:9001/metrics");
  EXPECT_TRUE(c.web3signer->auto_discover);
  // The discovery group did not exist: it is added, empty, with the discovery labels.
  ASSERT_EQ(c.validators.groups.size(), 2u);
  EXPECT_EQ(c.validators.groups[1].name, "web3signer");
  EXPECT_TRUE(c.validators.groups[1].indices.empty());
  EXPECT_THAT(c.validators.groups[1].labels, ElementsAre(Pair("team", "ops")));
  ASSERT_EQ(c.validator_clients.size(), 2u);
  EXPECT_EQ(c.validator_clients[0].client, "lighthouse");
  EXPECT_EQ(c.validator_clients[1].client, "auto");
  EXPECT_EQ(c.validator_clients[1].timeout, absl::Seconds(3));
  EXPECT_EQ(c.validator_clients[1].poll_interval, absl::Seconds(30));
}

TEST(ParseConfigTest, DiscoveryIntoAConfiguredGroupAddsNoGroup) {
  Config c = ParseOk(
      "validators:\n  groups:\n    - {name: mine, indices: [1]}\n"
      "web3signer: {url: 'http://w3s:9000', auto_discover: true, discover_group: mine}\n");
  EXPECT_EQ(c.validators.groups.size(), 1u);
}

TEST(ParseConfigTest, SigningPathErrors) {
  ExpectError("slashing_db: {poll_interval: 1m}\n",
              "t.yml:1:14: slashing_db: set exactly one of dsn_file and dsn_env (the connection "
              "string is never written in this file)");
  ExpectError("slashing_db: {dsn_file: a, dsn_env: B}\n",
              "t.yml:1:14: slashing_db: set exactly one of dsn_file and dsn_env (the connection "
              "string is never written in this file)");
  ExpectError("slashing_db: {dsn_env: 1BAD}\n",
              "t.yml:1:24: slashing_db.dsn_env: bad environment variable name \"1BAD\"");
  ExpectErrorPrefix("slashing_db: {dsn_env: X, dsn: 'host=db password=secret'}\n",
                    "t.yml:1:27: unknown key \"dsn\" in slashing_db", "");
  ExpectErrorPrefix("web3signer: {metrics_url: 'http://x/metrics'}\n", "t.yml:1:13: web3signer",
                    "url is required");
  ExpectErrorPrefix("validator_clients:\n  - {name: a, url: 'http://a/metrics', client: geth}\n",
                    "t.yml:2:48: validator_clients[0].client", "unknown client \"geth\"");
  ExpectErrorPrefix(
      "validator_clients:\n  - {name: a, url: 'http://a/m'}\n  - {name: a, url: 'http://b/m'}\n",
      "t.yml:3:12: validator_clients[1].name", "duplicate validator client name \"a\"");
}

TEST(ChangedSectionsTest, ComparesTopLevelSectionsIgnoringFormatting) {
  const std::string a =
      "global:\n  evaluation_interval: 1m\nrule_files: [a.yml]\nbeacon:\n  nodes: [x]\n";
  // Same content, other formatting and a comment: nothing changed.
  EXPECT_THAT(ChangedSections(a,
                              "# c\nrule_files:\n  - a.yml\nbeacon: {nodes: [x]}\n"
                              "global: {evaluation_interval: 1m}\n"),
              ::testing::IsEmpty());
  EXPECT_THAT(ChangedSections(a,
                              "global:\n  evaluation_interval: 2m\nrule_files: [a.yml]\n"
                              "validators: {groups: []}\n"),
              ::testing::ElementsAre("beacon", "global", "validators"));
  EXPECT_THAT(ChangedSections(a, "[not, a, map"), ::testing::ElementsAre("*"));
}

}  // namespace
}  // namespace stakewatch::config
