// The stakewatch configuration file: plain structs, and a strict YAML loader that fills them.
//
// The file reuses Prometheus's own section names and semantics where Prometheus has the concept
// (`global`, `rule_files`, `alerting`, `scrape_configs`), and adds stakewatch's own sections for
// the rest (`beacon`, `validators`, `storage`). Every section is optional: an empty file is a
// valid configuration, and every field not written keeps the default documented on the struct
// below (and in docs/configuration.md).
//
//   absl::StatusOr<config::Config> cfg = config::LoadConfigFile("stakewatch.yml");
//   if (!cfg.ok()) { LogError("bad config", {{"err", cfg.status().message()}}); return 1; }
//   for (const config::ValidatorGroup& g : cfg->validators.groups) ...
//
// Errors. The loader is strict, like Prometheus: an unknown key, a duplicate key, a value of the
// wrong type or an invalid value is an InvalidArgument status whose message starts with the
// position of the offending node, 1-based, then names the field:
//   stakewatch.yml:12:5: unknown key "nodez" in beacon (did you mean "nodes"?)
//   stakewatch.yml:7:14: global.scrape_interval: invalid duration "1x": unknown unit "x"
// Malformed YAML gives the YAML parser's message at its position. Loading never throws (yaml-cpp's
// exceptions are caught inside this module) and never touches the file system except to read
// the file itself: relative paths (rule_files, *_file, storage.path) are stored as written; the
// caller resolves them (normally against the config file's directory).
//
// A YAML `null` value (`key:` with nothing after it) means "not set" and keeps the default.
//
// Threads: all functions are thread-safe (no shared state). Config is a plain value type.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace stakewatch::config {

// ---------------------------------------------------------------------------------------------
// Shared pieces (Prometheus's common HTTP client config).

// `basic_auth`. At most one of password and password_file may be set.
struct BasicAuth {
  std::string username;
  std::string password;
  std::string password_file;
};

// `authorization`: sends "Authorization: <type> <credentials>". At most one of credentials and
// credentials_file may be set. type "Basic" is rejected (use basic_auth), as in Prometheus.
struct Authorization {
  std::string type = "Bearer";
  std::string credentials;
  std::string credentials_file;
};

// `tls_config`. cert_file and key_file are both set or both empty.
struct TlsConfig {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  bool insecure_skip_verify = false;
};

// One entry of `static_configs`: targets are "host:port" (no scheme, no path; IPv6 in
// brackets). Label names must be valid Prometheus label names ([a-zA-Z_][a-zA-Z0-9_]*).
struct StaticConfig {
  std::vector<std::string> targets;
  std::map<std::string, std::string> labels;
};

enum class RelabelAction {
  kReplace,
  kKeep,
  kDrop,
  kLabelMap,
  kLabelDrop,
  kLabelKeep,
  kHashMod,
  kLowercase,
  kUppercase,
  kKeepEqual,
  kDropEqual,
};

// The YAML spelling of an action ("replace", "labelmap", ...).
std::string_view RelabelActionName(RelabelAction action);

// One relabel config, validated as Prometheus does: the regex compiles with RE2 (it is applied
// fully anchored: see AnchoredRegex), source_labels are valid label names, target_label is set
// for replace/hashmod/lowercase/uppercase/keepequal/dropequal, modulus > 0 for hashmod, and
// labeldrop/labelkeep take only a regex.
struct RelabelConfig {
  std::vector<std::string> source_labels;
  std::string separator = ";";
  // As written in the file, without anchors.
  std::string regex = "(.*)";
  std::string target_label;
  std::string replacement = "$1";
  RelabelAction action = RelabelAction::kReplace;
  uint64_t modulus = 0;
};

// The regex as it must be compiled for matching: "^(?:<regex>)$".
std::string AnchoredRegex(const RelabelConfig& relabel);

// ---------------------------------------------------------------------------------------------
// Sections.

// `global`. Invariant after loading: 0 < scrape_timeout <= scrape_interval. If scrape_interval is
// set below the default timeout and scrape_timeout is not set, the timeout becomes the interval
// (Prometheus's rule).
struct GlobalConfig {
  absl::Duration scrape_interval = absl::Minutes(1);
  absl::Duration scrape_timeout = absl::Seconds(10);
  absl::Duration evaluation_interval = absl::Minutes(1);
  // Valid label names, not starting with "__" (reserved).
  std::map<std::string, std::string> external_labels;
};

// One entry of `alerting.alertmanagers`. Alerts are POSTed to
// <scheme>://<target><path_prefix>/api/v2/alerts.
struct AlertmanagerConfig {
  std::vector<StaticConfig> static_configs;
  std::string scheme = "http";  // "http" or "https"
  std::string path_prefix;      // "" or starting with "/"
  absl::Duration timeout = absl::Seconds(10);
  std::string api_version = "v2";  // only "v2" (Alertmanager removed v1)
  // At most one of basic_auth and authorization.
  std::optional<BasicAuth> basic_auth;
  std::optional<Authorization> authorization;
  TlsConfig tls_config;
};

// `alerting`.
struct AlertingConfig {
  std::vector<AlertmanagerConfig> alertmanagers;
  std::vector<RelabelConfig> alert_relabel_configs;
};

// One entry of `scrape_configs`. Durations are resolved against `global` when loading, so
// scrape_interval and scrape_timeout always hold the effective values (timeout <= interval).
struct ScrapeConfig {
  std::string job_name;  // required, unique across scrape_configs
  absl::Duration scrape_interval;
  absl::Duration scrape_timeout;
  std::string metrics_path = "/metrics";
  std::map<std::string, std::vector<std::string>> params;
  std::string scheme = "http";  // "http" or "https"
  bool honor_labels = false;
  // At most one of basic_auth, bearer_token_file and authorization.
  std::optional<BasicAuth> basic_auth;
  std::string bearer_token_file;
  std::optional<Authorization> authorization;
  TlsConfig tls_config;
  std::vector<StaticConfig> static_configs;
  std::vector<RelabelConfig> metric_relabel_configs;
};

// `beacon`: the beacon node(s) to read from, tried in order (fail-over).
struct BeaconConfig {
  // Absolute http:// or https:// URLs, no duplicates. Empty by default: the daemon then needs a
  // node from elsewhere (e.g. its command line).
  std::vector<std::string> nodes;
  absl::Duration timeout = absl::Seconds(10);         // whole request; > 0
  absl::Duration connect_timeout = absl::Seconds(2);  // > 0
  uint64_t max_response_bytes = uint64_t{128} << 20;  // > 0; "64MiB" or a plain integer
  uint64_t retries = 3;
  absl::Duration poll_interval = absl::ZeroDuration();       // 0 = the chain's slot time
  absl::Duration health_check_interval = absl::Seconds(30);  // 0 = no health checks
  // After downtime, catch up on at most this many missed epochs (older ones are skipped and
  // counted in stakewatch_epochs_skipped_total). 225 epochs = one day on mainnet.
  uint64_t max_backfill_epochs = 225;
  // Follow /eth/v1/events (head, block, chain_reorg, finalized_checkpoint) for prompt updates and
  // reorg notices; REST polling runs either way and is the fallback while the stream is down.
  bool events = true;
  // Counters count an epoch only once it is finalized (its blocks and the next epoch's can no
  // longer change); before that its results are provisional gauges, recomputed after a reorg.
  // false: count as soon as the inclusion window closed (head in epoch E+2), as the first version
  // did; a later reorg then cannot be taken back.
  bool count_finalized_only = true;
};

// `execution`: where execution rewards of proposed blocks come from.
struct ExecutionConfig {
  // Execution client JSON-RPC URL (http/https), e.g. http://geth:8545. Empty: no EL rewards.
  std::string endpoint;
  // MEV-Boost relay URLs whose data API (/relay/v1/data/bidtraces/proposer_payload_delivered)
  // is asked about every proposed block. No duplicates.
  std::vector<std::string> relays;
  absl::Duration timeout = absl::Seconds(10);  // per request; > 0
};

// `slashing_db`: Web3Signer's PostgreSQL slashing-protection database, read-only. The libpq
// connection string (key=value or postgresql:// URI) is read from the file `dsn_file` (re-read
// on every reconnect, so a rotated password is picked up) or from the environment variable
// `dsn_env`; exactly one of the two is set. It never appears on a command line or in a log line.
struct SlashingDbConfig {
  std::string dsn_file;
  std::string dsn_env;
  absl::Duration poll_interval = absl::Seconds(30);     // > 0
  absl::Duration statement_timeout = absl::Seconds(5);  // > 0, every query
  absl::Duration connect_timeout = absl::Seconds(5);    // > 0, whole seconds (libpq)
  // Compare each counted epoch's on-chain attestations and blocks with the records.
  bool reconcile = true;
};

// `web3signer`: one Web3Signer instance.
struct Web3SignerConfig {
  std::string url;          // http(s) base URL of the signing API, e.g. http://web3signer:9000
  std::string metrics_url;  // its /metrics (separate port), e.g. http://web3signer:9001/metrics
  absl::Duration poll_interval = absl::Seconds(30);  // > 0
  absl::Duration timeout = absl::Seconds(10);        // > 0, per request
  // Monitor every key Web3Signer holds: keys in no configured group join `discover_group`
  // (created with `discover_labels` when no group of that name is configured).
  bool auto_discover = false;
  std::string discover_group = "web3signer";
  std::map<std::string, std::string> discover_labels;
};

// One entry of `validator_clients`: a validator client's metrics endpoint.
struct ValidatorClientConfig {
  std::string name;             // required, unique; the `target` label
  std::string url;              // http(s) URL of its /metrics
  std::string client = "auto";  // auto, lighthouse, teku, prysm, nimbus, lodestar
  absl::Duration poll_interval = absl::Seconds(30);  // > 0
  absl::Duration timeout = absl::Seconds(10);        // > 0
};

// One entry of `validators.groups`.
struct ValidatorGroup {
  std::string name;  // required, non-empty, unique
  // Extra labels on the group's series. Valid label names; "group", "validator_index" and
  // names starting with "__" are reserved.
  std::map<std::string, std::string> labels;
  // Expanded from items and "A-B" ranges: sorted, without duplicates.
  std::vector<uint64_t> indices;
  // 0x + 96 hex digits, lower-cased, without duplicates, in file order.
  std::vector<std::string> pubkeys;
  // The fee recipient the group's validators are configured with: "" (not checked) or 0x + 40
  // hex digits, lower-cased. A proposed block paying another address counts as a wrong fee
  // recipient.
  std::string fee_recipient;
};

// `validators`. No validator (index or pubkey) is in two groups. A group lists at least one
// validator, except the web3signer auto-discovery group, which the loader creates empty when
// it is not configured.
struct ValidatorsConfig {
  bool per_validator_metrics = false;
  uint64_t per_validator_limit = 10000;
  std::vector<ValidatorGroup> groups;
};

// `storage`.
struct StorageConfig {
  std::string path = "data/";  // state directory; non-empty
  // How long the in-memory series store (rules, the query API) keeps samples. 0: the longest
  // range the loaded rule files look back (ranges, offsets, subqueries, the 5m lookback) plus
  // one hour, and at least 6 hours.
  absl::Duration retention = absl::ZeroDuration();
  // Whether stakewatch scrapes its own /metrics into that store every global.scrape_interval
  // (job "stakewatch"), as Prometheus would, so rule files can use its series.
  bool self_scrape = true;
};

// The whole file.
struct Config {
  GlobalConfig global;
  std::vector<std::string> rule_files;  // globs allowed; stored as written
  AlertingConfig alerting;
  std::vector<ScrapeConfig> scrape_configs;
  BeaconConfig beacon;
  ExecutionConfig execution;
  ValidatorsConfig validators;
  StorageConfig storage;
  std::optional<SlashingDbConfig> slashing_db;  // unset: no database is watched
  std::optional<Web3SignerConfig> web3signer;
  std::vector<ValidatorClientConfig> validator_clients;
};

// ---------------------------------------------------------------------------------------------
// Loading.

// Reads and parses the file at `path` (at most kMaxConfigFileBytes). Errors name `path`.
absl::StatusOr<Config> LoadConfigFile(std::string_view path);
// The text of a configuration file (NotFound, FailedPrecondition, or InvalidArgument when it is
// larger than kMaxConfigFileBytes).
absl::StatusOr<std::string> ReadConfigFile(std::string_view path);
// The top-level keys whose contents differ between two configuration texts (comments and
// formatting ignored), sorted; {"*"} if either is not YAML.
std::vector<std::string> ChangedSections(std::string_view old_yaml, std::string_view new_yaml);

// Parses `yaml_text`; `filename` is used only in error messages.
absl::StatusOr<Config> ParseConfig(std::string_view yaml_text, std::string_view filename);

inline constexpr size_t kMaxConfigFileBytes = 64 << 20;

// ---------------------------------------------------------------------------------------------
// Value syntaxes, exposed for the CLI and for tests.

// Parses a Prometheus duration: "0", or one or more <digits><unit> with units y (365d), w, d, h,
// m, s, ms, each at most once and in that order ("1h30m", "500ms", "2w"). No sign, no spaces.
// The result must fit in int64 nanoseconds.
absl::StatusOr<absl::Duration> ParsePrometheusDuration(std::string_view text);

// Formats like Prometheus's model.Duration: "0s" for zero; otherwise units from y down to ms,
// with y and w used only when they divide the duration exactly ("1m30s", "2w", "90d", "1y").
// Sub-millisecond parts are dropped. A negative duration is formatted as "-" + its magnitude.
std::string FormatPrometheusDuration(absl::Duration d);

// Parses a byte size: a plain integer ("1048576"), or an integer followed by a unit:
// B, KiB, MiB, GiB, TiB (powers of 1024) or kB/KB, MB, GB, TB (powers of 1000). No spaces.
absl::StatusOr<uint64_t> ParseByteSize(std::string_view text);

// Validators named on a command line or in a config string.
struct ValidatorSpec {
  std::vector<uint64_t> indices;     // sorted, without duplicates
  std::vector<std::string> pubkeys;  // lower-cased, without duplicates, in input order
};

// At most this many indices in one expanded spec or group (mainnet has ~2M validators).
inline constexpr uint64_t kMaxValidatorIndices = uint64_t{1} << 24;

// Parses a comma-separated list of validator indices ("7"), inclusive ranges ("10-20", start
// <= end) and pubkeys ("0x" + 96 hex digits), e.g. "1,2,10-20,0xa1b2...". Spaces around items
// are ignored; an empty spec or an empty item is an error. Memory: 8 bytes per expanded index.
absl::StatusOr<ValidatorSpec> ParseValidatorSpec(std::string_view spec);

// True for a valid Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view name);

}  // namespace stakewatch::config
