// Beacon API client: typed calls (BeaconClient) and a fail-over implementation over several
// beacon nodes (FailoverBeaconClient).
//
//   ASSIGN_OR_RETURN(auto client, FailoverBeaconClient::FromUrls(
//       {{"", "http://lighthouse:5052"}, {"backup", "https://user:pw@bn.example:443"}},
//       FailoverOptions{}, Clock::Real(), &metrics_observer));
//   RETURN_IF_ERROR(client->CheckHealth());             // also call it periodically
//   ASSIGN_OR_RETURN(std::optional<Block> block, client->GetBlock("8084248"));
//   if (!block) { /* 404: the slot is empty (missed proposal) */ }
//
// Fail-over policy (FailoverBeaconClient):
//   * A request goes to the first *healthy* node in configured order. If that node fails with a
//     node error -- transport error (timeout, connect, io, too_large), HTTP 5xx, 429, another
//     unexpected status, or a 2xx body that does not decode -- the node is marked unhealthy and
//     the request moves on to the next node at once.
//   * An unhealthy node is skipped until `unhealthy_retry_after` has passed; the next request
//     that would use it first re-checks it with GET /eth/v1/node/syncing (a "probe") and uses it
//     only if the probe passes. CheckHealth() probes every node.
//   * A probe passes iff the node answers 200 with a decodable body, is_syncing == false and
//     el_offline == false. (is_optimistic does not fail it; it is reported in SyncStatus.)
//   * When no node is usable (all unhealthy and not yet due for a probe), nodes that failed with
//     a node error are tried anyway, in order, as a last resort: failures are often transient.
//     Nodes that *reported* syncing or el_offline are never used until a probe passes.
//   * If a whole pass over the nodes fails, the client sleeps (through the injected Clock)
//     initial_backoff * 2^(pass-1), capped at max_backoff, and makes another pass, up to
//     max_attempts passes. Then it returns the last error's code with every node's reason in
//     the message.
//   * Request errors are not node errors: HTTP 400 and other 4xx (except 429) end the request at
//     once with that error (400 -> InvalidArgument, 404 -> NotFound, 405 -> Unimplemented,
//     other -> FailedPrecondition)
//     and leave the node healthy. For blocks and headers 404 is a value: std::nullopt (an empty
//     slot; for GetHeadersAtSlot an empty list). Note that a node that is behind also answers
//     404 for a block it has not seen yet; the first healthy node's answer is taken.
//   * State not available: for calls that read a state (GetFinalityCheckpoints, GetCommittees,
//     GetValidators, GetValidatorBalances, GetSyncCommittee, GetAttestationRewards), a 404, or
//     a 400 whose message says the state is unknown/unavailable/pruned, becomes NotFound with a
//     message naming the state (or epoch) and quoting the node, e.g.
//       "node1: state 8084248 is not available on this node (pruned, or not reached yet):
//        HTTP 404 from /eth/v1/beacon/states/8084248/committees?epoch=252632: {...}"
//     and IsStateUnavailable() is true for it. It is never turned into an empty result: callers
//     such as `stakewatch report` must fail rather than print a pruned range as empty. The test
//     is a heuristic on the node's message (a 404 counts if it mentions a state, epoch or slot;
//     a 400 also needs "not found", "not available", "unavailable", "pruned", "missing",
//     "unknown" or "not known"), because clients word it differently; a 404 that mentions none
//     (e.g. an unknown route) stays a plain NotFound.
//
// Metrics without a dependency on the metrics module: every HTTP exchange and every node-state
// evaluation is reported to an optional BeaconClientObserver.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "beacon/decode.h"
#include "beacon/http_transport.h"
#include "beacon/types.h"
#include "common/clock.h"

namespace stakewatch::beacon {

// Outcomes and reasons reported to BeaconClientObserver and kept in NodeHealth::reason. A small
// fixed set, safe as metric label values.
namespace reason {
inline constexpr std::string_view kOk = "ok";
inline constexpr std::string_view kNotFound = "not_found";  // 404 taken as a value
inline constexpr std::string_view kTimeout = "timeout";
inline constexpr std::string_view kConnect = "connect";
inline constexpr std::string_view kIo = "io";
inline constexpr std::string_view kTransport = "transport";
inline constexpr std::string_view kTooLarge = "too_large";
inline constexpr std::string_view kHttp5xx = "http_5xx";
inline constexpr std::string_view kHttp429 = "http_429";
inline constexpr std::string_view kHttp4xx = "http_4xx";
inline constexpr std::string_view kHttpOther = "http_other";  // 1xx/3xx: e.g. a redirect
inline constexpr std::string_view kDecode = "decode";
inline constexpr std::string_view kSyncing = "syncing";
inline constexpr std::string_view kElOffline = "el_offline";
inline constexpr std::string_view kInvalidRequest = "invalid_request";  // rejected before I/O
}  // namespace reason

// Role interface: the Beacon API calls stakewatch makes. Implementations are thread-safe.
// `state_id` is head|finalized|justified|genesis|<slot>|<0x root>; `block_id` is
// head|finalized|genesis|<slot>|<0x root>. Ids with other characters are rejected
// (InvalidArgument) before any I/O.
class BeaconClient {
 public:
  virtual ~BeaconClient() = default;

  // GET /eth/v1/beacon/genesis
  virtual absl::StatusOr<Genesis> GetGenesis() = 0;
  // GET /eth/v1/config/spec
  virtual absl::StatusOr<ChainSpec> GetSpec() = 0;
  // GET /eth/v1/node/syncing (of whichever node serves the request)
  virtual absl::StatusOr<SyncStatus> GetSyncing() = 0;
  // GET /eth/v1/beacon/states/{state_id}/finality_checkpoints
  virtual absl::StatusOr<FinalityCheckpoints> GetFinalityCheckpoints(std::string_view state_id) = 0;
  // GET /eth/v1/beacon/headers/{block_id}; nullopt on 404 (no block at that slot).
  virtual absl::StatusOr<std::optional<BlockHeader>> GetHeader(std::string_view block_id) = 0;
  // GET /eth/v2/beacon/blocks/{block_id}; nullopt on 404 (empty slot).
  virtual absl::StatusOr<std::optional<Block>> GetBlock(std::string_view block_id) = 0;
  // GET /eth/v2/beacon/blocks/{block_id}/attestations; nullopt on 404 (empty slot).
  virtual absl::StatusOr<std::optional<std::vector<Attestation>>> GetBlockAttestations(
      std::string_view block_id) = 0;
  // GET /eth/v1/beacon/states/{state_id}/committees?epoch={epoch}
  virtual absl::StatusOr<std::vector<Committee>> GetCommittees(std::string_view state_id,
                                                               Epoch epoch) = 0;
  // GET /eth/v1/validator/duties/proposer/{epoch}
  virtual absl::StatusOr<ProposerDuties> GetProposerDuties(Epoch epoch) = 0;

  // The calls below have default implementations returning Unimplemented, so that test fakes
  // need to provide only what they use.

  // POST /eth/v1/beacon/rewards/attestations/{epoch} with body ["<index>",...]; an empty `ids`
  // asks for every validator.
  virtual absl::StatusOr<AttestationRewards> GetAttestationRewards(
      Epoch epoch, const std::vector<ValidatorIndex>& ids);
  // POST /eth/v1/beacon/states/{state_id}/validators with body {"ids":[...],"statuses":[...]}.
  // `ids` are decimal indices or 0x pubkeys (96 hex digits); others are rejected before I/O.
  // Empty `ids` / `statuses` mean "no filter". Servers without the POST (HTTP 404 or 405 on it)
  // are asked with GET ...?id=a,b,c[&status=...] instead, in chunks of kValidatorIdsPerGet ids.
  virtual absl::StatusOr<std::vector<ValidatorInfo>> GetValidators(
      std::string_view state_id, const std::vector<std::string>& ids,
      const std::vector<std::string>& statuses);
  // POST /eth/v1/validator/liveness/{epoch} with body ["<index>",...].
  virtual absl::StatusOr<std::vector<ValidatorLiveness>> GetLiveness(
      Epoch epoch, const std::vector<ValidatorIndex>& ids);
  // GET /eth/v1/beacon/states/{state_id}/sync_committees?epoch={epoch}
  virtual absl::StatusOr<SyncCommittee> GetSyncCommittee(std::string_view state_id, Epoch epoch);
  // GET /eth/v1/beacon/rewards/blocks/{block_id}; nullopt on 404 (empty slot).
  virtual absl::StatusOr<std::optional<BlockRewards>> GetBlockRewards(std::string_view block_id);
  // POST /eth/v1/beacon/rewards/sync_committee/{block_id} with body ["<index>",...] (empty: the
  // whole committee); nullopt on 404 (empty slot).
  virtual absl::StatusOr<std::optional<std::vector<SyncCommitteeReward>>> GetSyncCommitteeRewards(
      std::string_view block_id, const std::vector<ValidatorIndex>& ids);
  // GET /eth/v1/beacon/headers?slot={slot}: every header the node knows at `slot`, canonical or
  // not (orphaned blocks still in fork choice appear with canonical == false), in the node's
  // order. Empty when the node knows none (an empty list, or a 404).
  virtual absl::StatusOr<std::vector<BlockHeader>> GetHeadersAtSlot(Slot slot);
  // POST /eth/v1/beacon/states/{state_id}/validator_balances with body ["<index>",...]; an empty
  // `ids` asks for every validator. Servers without the POST (HTTP 404 or 405 on it) are asked
  // with GET ...?id=a,b,c instead, in chunks of kValidatorIdsPerGet ids (one unfiltered GET for
  // empty `ids`). Rows come in the node's order; unknown indices are simply absent.
  virtual absl::StatusOr<std::vector<ValidatorBalance>> GetValidatorBalances(
      std::string_view state_id, const std::vector<ValidatorIndex>& ids);
};

// True iff `status` is the NotFound that FailoverBeaconClient returns when a node answered that
// the requested state (or an epoch's data) is not available, e.g. pruned (see the file comment).
bool IsStateUnavailable(const absl::Status& status);

// Ids per GET request when GetValidators falls back from POST (keeps URLs well under the 8 KB
// that servers commonly accept: 64 pubkeys are about 6.3 KB).
inline constexpr size_t kValidatorIdsPerGet = 64;

// Receives what the client does, e.g. to export metrics. Called from whichever thread made the
// client call, never with the client's lock held, so implementations must be thread-safe and
// may call back into the client. String arguments are valid only during the call.
class BeaconClientObserver {
 public:
  virtual ~BeaconClientObserver() = default;
  // One HTTP exchange with `node` finished (health probes included). `endpoint` is a route
  // template such as "/eth/v2/beacon/blocks/{block_id}"; `outcome` is reason::kOk,
  // reason::kNotFound or an error reason from `reason`. `duration` is measured on the client's
  // Clock.
  virtual void OnRequest(std::string_view node, std::string_view endpoint, absl::Duration duration,
                         std::string_view outcome) = 0;
  // `node`'s health was evaluated: after every probe (with the decoded SyncStatus if the node
  // answered one, else null), and when a request error turns a healthy node unhealthy (null).
  // `reason` is reason::kOk when healthy.
  virtual void OnNodeState(std::string_view node, bool healthy, const SyncStatus* status,
                           std::string_view reason) = 0;
};

struct FailoverOptions {
  // Used by FromUrls to build HttplibTransports.
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration read_timeout = absl::Seconds(10);
  size_t max_response_bytes = kMaxResponseBytes;
  bool gzip = true;
  // Passes over the node list per request (>= 1).
  int max_attempts = 3;
  // Sleep before pass k+1 (k >= 1): initial_backoff * 2^(k-1), capped at max_backoff.
  absl::Duration initial_backoff = absl::Milliseconds(200);
  absl::Duration max_backoff = absl::Seconds(5);
  // How long an unhealthy node is skipped before it is probed again.
  absl::Duration unhealthy_retry_after = absl::Seconds(10);
};

// One configured beacon node.
struct BeaconNode {
  std::string name;  // for logs and metric labels; must not hold secrets
  std::unique_ptr<HttpTransport> transport;
};

// A node as configured by the user. An empty name means "the URL without credentials or path".
struct NodeSpec {
  std::string name;
  std::string url;
};

// A snapshot of one node's health, for status pages and tests.
struct NodeHealth {
  std::string name;
  bool healthy = true;  // nodes start healthy (unchecked) until a request or probe says otherwise
  std::string reason = std::string(reason::kOk);
  std::string detail;                            // the last error message, empty when healthy
  std::optional<SyncStatus> sync;                // from the last probe that decoded a SyncStatus
  absl::Time next_probe = absl::InfinitePast();  // unhealthy only: when it may be probed again
};

// BeaconClient over several nodes with health checks and fail-over (policy: file comment).
// Thread-safe: any method may be called from any thread; node state is guarded by a mutex that
// is never held during I/O, sleeps or observer calls.
class FailoverBeaconClient final : public BeaconClient {
 public:
  // `nodes` non-empty with non-null transports and distinct names; `clock` non-null. `clock` and
  // `observer` (may be null) must outlive the client.
  static absl::StatusOr<std::unique_ptr<FailoverBeaconClient>> Create(
      std::vector<BeaconNode> nodes, const FailoverOptions& options, Clock* clock,
      BeaconClientObserver* observer = nullptr);
  // Builds one HttplibTransport per URL (see HttplibTransport for URL forms).
  static absl::StatusOr<std::unique_ptr<FailoverBeaconClient>> FromUrls(
      const std::vector<NodeSpec>& nodes, const FailoverOptions& options, Clock* clock,
      BeaconClientObserver* observer = nullptr);

  FailoverBeaconClient(const FailoverBeaconClient&) = delete;
  FailoverBeaconClient& operator=(const FailoverBeaconClient&) = delete;

  // Probes every node now (GET /eth/v1/node/syncing) and updates its health. Returns OK if at
  // least one node is healthy, else Unavailable naming every node's reason.
  absl::Status CheckHealth();
  // Current health of every node, in configured order.
  std::vector<NodeHealth> Nodes() const;

  absl::StatusOr<Genesis> GetGenesis() override;
  absl::StatusOr<ChainSpec> GetSpec() override;
  absl::StatusOr<SyncStatus> GetSyncing() override;
  absl::StatusOr<FinalityCheckpoints> GetFinalityCheckpoints(std::string_view state_id) override;
  absl::StatusOr<std::optional<BlockHeader>> GetHeader(std::string_view block_id) override;
  absl::StatusOr<std::optional<Block>> GetBlock(std::string_view block_id) override;
  absl::StatusOr<std::optional<std::vector<Attestation>>> GetBlockAttestations(
      std::string_view block_id) override;
  absl::StatusOr<std::vector<Committee>> GetCommittees(std::string_view state_id,
                                                       Epoch epoch) override;
  absl::StatusOr<ProposerDuties> GetProposerDuties(Epoch epoch) override;
  absl::StatusOr<AttestationRewards> GetAttestationRewards(
      Epoch epoch, const std::vector<ValidatorIndex>& ids) override;
  absl::StatusOr<std::vector<ValidatorInfo>> GetValidators(
      std::string_view state_id, const std::vector<std::string>& ids,
      const std::vector<std::string>& statuses) override;
  absl::StatusOr<std::vector<ValidatorLiveness>> GetLiveness(
      Epoch epoch, const std::vector<ValidatorIndex>& ids) override;
  absl::StatusOr<SyncCommittee> GetSyncCommittee(std::string_view state_id, Epoch epoch) override;
  absl::StatusOr<std::optional<BlockRewards>> GetBlockRewards(std::string_view block_id) override;
  absl::StatusOr<std::optional<std::vector<SyncCommitteeReward>>> GetSyncCommitteeRewards(
      std::string_view block_id, const std::vector<ValidatorIndex>& ids) override;
  absl::StatusOr<std::vector<BlockHeader>> GetHeadersAtSlot(Slot slot) override;
  absl::StatusOr<std::vector<ValidatorBalance>> GetValidatorBalances(
      std::string_view state_id, const std::vector<ValidatorIndex>& ids) override;

 private:
  // Per-node mutable state (index-aligned with nodes_).
  struct State {
    bool healthy = true;
    // True when the node itself reported it is unusable (syncing/el_offline): not used even as
    // a last resort.
    bool reported_unusable = false;
    std::string reason = std::string(reason::kOk);
    std::string detail;
    std::optional<SyncStatus> sync;
    absl::Time next_probe = absl::InfinitePast();
  };
  struct Candidate {
    size_t index;
    bool probe_first;
  };
  // Result of one exchange with one node.
  struct AttemptResult {
    enum Kind { kSuccess, kNotFound, kRequestError, kNodeError } kind;
    std::string_view reason;
    absl::Status status;  // non-OK for kRequestError and kNodeError
  };
  // Decodes a 2xx body (which it may pad in place) into the caller's variable.
  using Decoder = std::function<absl::Status(std::string* body)>;

  FailoverBeaconClient(std::vector<BeaconNode> nodes, const FailoverOptions& options, Clock* clock,
                       BeaconClientObserver* observer);

  // Runs `request` with the fail-over policy. Returns true when a 2xx body was decoded by
  // `decode`, false on a 404 when `not_found_is_value`. A non-empty `state_subject` ("state
  // 123", "the state for epoch 7") marks a state-reading call: a "state not available" answer
  // then becomes the NotFound described in the file comment.
  absl::StatusOr<bool> Execute(std::string_view endpoint, const HttpRequest& request,
                               bool not_found_is_value, const Decoder& decode,
                               std::string_view state_subject = {});
  AttemptResult Attempt(size_t index, std::string_view endpoint, const HttpRequest& request,
                        bool not_found_is_value, const Decoder& decode,
                        std::string_view state_subject);
  // Probes node `index` and records the result. Returns OK iff the node is healthy.
  absl::Status Probe(size_t index);
  std::vector<Candidate> PickCandidates();
  void MarkFailed(size_t index, std::string_view reason, const absl::Status& status);
  absl::Duration Backoff(int pass) const;

  const std::vector<BeaconNode> nodes_;
  const FailoverOptions options_;
  Clock* const clock_;
  BeaconClientObserver* const observer_;

  mutable absl::Mutex mu_;
  std::vector<State> state_ ABSL_GUARDED_BY(mu_);
};

}  // namespace stakewatch::beacon
