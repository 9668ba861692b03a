// Web3Signer as a monitored source: its HTTP status endpoints, its loaded keys compared with the
// keys stakewatch monitors, and the signing numbers from its /metrics.
//
//   ASSIGN_OR_RETURN(auto w3s, Web3SignerClient::Create("http://signer:9000", {}));
//   absl::Status up = w3s->Upcheck();                       // GET /upcheck
//   ASSIGN_OR_RETURN(HealthReport h, w3s->Healthcheck());   // GET /healthcheck (200 or 503)
//   ASSIGN_OR_RETURN(std::vector<std::string> keys, w3s->PublicKeys());
//   KeyReconciliation r = ReconcileKeys(keys, configured_pubkeys);
//   Web3SignerMetrics m = ExtractWeb3SignerMetrics(samples);  // samples of its :9001/metrics
//
// Endpoints and shapes follow Web3Signer's OpenAPI description (openapi-specs/eth2/signing/
// paths/{upcheck,healthcheck,public_keys}.yaml) and its Vert.x health-check handler: /healthcheck
// answers 200 when every check is UP and 503 when any is DOWN, with the same JSON body in both
// cases, so a 503 with a decodable body is a valid DOWN report, not an error.
//
// Errors: transport failures keep the transport's code (beacon/http_transport.h:
// kDeadlineExceeded timeout, kUnavailable connect, kResourceExhausted body too large, kAborted
// broken connection); an unexpected HTTP status is kUnavailable; a body that does not decode is
// kInvalidArgument naming the endpoint and the JSON path. Messages start with
// "web3signer <scheme://host:port> GET <path>: " (no credentials).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "beacon/http_transport.h"
#include "signer/validator_client.h"

namespace stakewatch::signer {

enum class HealthStatus { kUp, kDown };

// "UP" / "DOWN".
std::string_view HealthStatusName(HealthStatus status);

// One check of /healthcheck. Nested checks are flattened: a check "config-files-loading" inside
// "keys-check" has id "keys-check/config-files-loading" and follows its parent in `checks`.
struct HealthCheck {
  std::string id;
  HealthStatus status = HealthStatus::kDown;
  std::optional<int64_t> keys_loaded;  // data."keys-loaded", when present
  std::optional<int64_t> error_count;  // data."error-count", when present
};

struct HealthReport {
  HealthStatus status = HealthStatus::kDown;  // the top-level "status"
  int http_status = 0;                        // 200 or 503 (0 when decoded from a bare body)
  std::vector<HealthCheck> checks;            // depth-first, in response order
};

// Decodes a /healthcheck body. "status" is required and must be "UP" or "DOWN"; "checks" is
// optional (absent: no checks); each check needs a string "id" and a "status"; "data" values
// "keys-loaded" and "error-count", when present, must be non-negative integers. Unknown fields
// are ignored. Nesting deeper than 8 levels is rejected.
absl::StatusOr<HealthReport> DecodeHealthcheck(std::string_view body);

// Decodes a /api/v1/eth2/publicKeys body: a JSON array of BLS public keys. Each element must be
// a string "0x" + 96 hex digits (either case); the result is lower-cased, sorted and without
// duplicates. An error names the element index, e.g.
// "publicKeys: [3]: expected \"0x\" and 96 hex digits, got \"0x12\"".
absl::StatusOr<std::vector<std::string>> DecodePublicKeys(std::string_view body);

// `key` ("0x" + 96 hex digits, either case) in the canonical form used above: lower case.
// InvalidArgument otherwise.
absl::StatusOr<std::string> NormalizePublicKey(std::string_view key);

// Configured (monitored) keys compared with the keys Web3Signer has loaded.
struct KeyReconciliation {
  std::vector<std::string> configured_not_loaded;  // monitored, but no key loaded: cannot sign
  std::vector<std::string> loaded_not_monitored;   // loaded, but stakewatch does not watch them
};

// Both inputs in canonical form (NormalizePublicKey); any order, duplicates allowed. Outputs are
// sorted and without duplicates. O(n log n) (sorts views, then one merge pass).
KeyReconciliation ReconcileKeys(const std::vector<std::string>& loaded,
                                const std::vector<std::string>& configured);

// Numbers from one scrape of Web3Signer's /metrics (Besu metrics library: counters end in
// "_total", timers are summaries). std::nullopt / empty when the series is absent (e.g. the
// metric category is disabled with --metrics-category).
struct Web3SignerMetrics {
  std::optional<double> signing_duration_sum;    // signing_bls_signing_duration_sum
  std::optional<double> signing_duration_count;  // signing_bls_signing_duration_count
  // signing_bls_signing_duration{quantile="q"}: (q, value), sorted by q. Series with an
  // unparsable quantile label are skipped.
  std::vector<std::pair<double, double>> signing_duration_quantiles;
  std::optional<double> prevented_signings;           // eth2_slashingprotection_prevented_...
  std::optional<double> permitted_signings;           // eth2_slashingprotection_permitted_...
  std::optional<double> missing_identifier_requests;  // signing_bls_missing_identifier_count_total
  std::optional<double> keys_loaded;                  // signing_signers_loaded_count
};

// Pure; series with labels not listed above are summed (e.g. several signing-duration
// series), which for these label-less metrics does not happen in practice.
Web3SignerMetrics ExtractWeb3SignerMetrics(const std::vector<MetricSample>& samples);

// Client for one Web3Signer base URL (its main HTTP port, default 9000).
//
// Thread-safety: thread-safe (the transport is; the client holds no other mutable state).
class Web3SignerClient {
 public:
  // Uses an HttplibTransport for `url` (see beacon::HttplibTransportOptions for timeouts and
  // the body size limit).
  static absl::StatusOr<std::unique_ptr<Web3SignerClient>> Create(
      std::string_view url, const beacon::HttplibTransportOptions& options);
  // Uses `transport` (e.g. a fake); `redacted_url` only appears in error messages.
  Web3SignerClient(std::unique_ptr<beacon::HttpTransport> transport, std::string redacted_url);

  Web3SignerClient(const Web3SignerClient&) = delete;
  Web3SignerClient& operator=(const Web3SignerClient&) = delete;

  // GET /upcheck: OK when the answer is 200 with body "OK" (surrounding whitespace ignored);
  // kUnavailable for any other status or body.
  absl::Status Upcheck();
  // GET /healthcheck: the report for 200 and for 503 (http_status says which).
  absl::StatusOr<HealthReport> Healthcheck();
  // GET /api/v1/eth2/publicKeys (200 only), decoded with DecodePublicKeys.
  absl::StatusOr<std::vector<std::string>> PublicKeys();

  const std::string& redacted_url() const { return redacted_url_; }

 private:
  absl::StatusOr<beacon::HttpResponse> Get(std::string_view path);
  absl::Status Annotate(std::string_view path, const absl::Status& status) const;

  std::unique_ptr<beacon::HttpTransport> transport_;
  const std::string redacted_url_;
};

}  // namespace stakewatch::signer
