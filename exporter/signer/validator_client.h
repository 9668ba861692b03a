// Validator-client health from the client's own /metrics: a small common set of numbers mapped
// from each client's real metric names (Lighthouse, Teku, Prysm, Nimbus, Lodestar).
//
// The daemon scrapes the validator client, parses the exposition text (scrape/ does that) into
// MetricSample values and calls MapValidatorClient:
//
//   std::vector<MetricSample> samples = ...;  // views into the parsed body
//   ValidatorClientStatus s = MapValidatorClient(ClientKind::kAuto, samples);
//   if (s.validators_enabled) Publish("validators_enabled", *s.validators_enabled);
//
// Rules:
//   * A field is std::nullopt when the client does not expose a metric for it, or when none of
//     the metrics that feed it appear in the samples. Nothing is invented or estimated.
//   * A field fed by several series (labels, or several metric names) is their sum, e.g. for
//     Lighthouse slashable_refused = vc_signed_beacon_blocks_total{status="slashable"}
//     + vc_signed_attestations_total{status="slashable"}. Counters stay counters: callers
//     compute rates or increases over time.
//   * Which metric feeds which field, with the source file each name was found in, is in
//     docs/sources.md; the names are listed in validator_client.cc next to each client.
//
// Threads: all functions are pure and thread-safe. MetricSample views are only read during
// the call; the result owns nothing borrowed.
#pragma once

#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace stakewatch::signer {

// One sample of a scraped series: the series name exactly as exposed (for a summary or
// histogram this is e.g. "foo_sum", "foo_count", "foo_bucket"; quantile and le stay labels),
// its labels, and its value. All views are borrowed from the caller for the duration of a call.
struct MetricSample {
  std::string_view name;
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  double value = 0;
};

// The value of label `label_name` of `sample`, or std::nullopt when it has none.
std::optional<std::string_view> LabelValue(const MetricSample& sample, std::string_view label_name);

enum class ClientKind { kLighthouse, kTeku, kPrysm, kNimbus, kLodestar, kAuto };

// "lighthouse", "teku", "prysm", "nimbus", "lodestar", "auto".
std::string_view ClientKindName(ClientKind kind);
// The inverse of ClientKindName (exact, lower case); std::nullopt for anything else.
std::optional<ClientKind> ParseClientKind(std::string_view name);

// Guesses the client from metric names that only that client exposes (see
// validator_client.cc, kMarkers). The client with the most distinct marker names present wins;
// Nimbus, whose only marker is its generic `validators` gauge, wins only when no other client
// has a marker. std::nullopt when no marker is present. Never returns kAuto.
std::optional<ClientKind> DetectClientKind(const std::vector<MetricSample>& samples);

// The common set. Counters are cumulative as the client reports them (they reset when the
// client restarts).
struct ValidatorClientStatus {
  // The client whose names were used: the requested one, or the detected one for kAuto.
  // kAuto when detection found nothing (then every optional below is std::nullopt).
  ClientKind kind = ClientKind::kAuto;
  // The scrape itself succeeded. MapValidatorClient sets it to true (it is only called with a
  // successful scrape); the daemon reports a failed scrape as {.kind = kind, .up = false}.
  bool up = false;
  std::optional<double> validators_enabled;      // gauge: validators the client will sign for
  std::optional<double> validators_total;        // gauge: enabled + disabled
  std::optional<double> beacon_nodes_available;  // gauge: beacon nodes reachable
  std::optional<double> beacon_nodes_synced;     // gauge: beacon nodes reachable and synced
  std::optional<double> signing_errors;          // counter: signature requests that failed
  std::optional<double> slashable_refused;       // counter: signings refused as slashable
};

// Maps one scrape of a validator client's /metrics to the common set. For ClientKind::kAuto the
// client is detected first (DetectClientKind). Samples of other metrics are ignored.
// Cost: one pass over `samples` with one hash lookup per sample.
ValidatorClientStatus MapValidatorClient(ClientKind kind, const std::vector<MetricSample>& samples);

}  // namespace stakewatch::signer
