#include "beacon/client.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace stakewatch::beacon {
namespace {

constexpr std::string_view kSyncingEndpoint = "/eth/v1/node/syncing";

// State and block ids end up in URL paths: allow only the documented forms' characters.
absl::Status ValidateId(std::string_view kind, std::string_view id) {
  if (id.empty() || id.size() > 66) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(kind), " must be 1 to 66 characters, got ", id.size()));
  }
  for (char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(ToAbsl(kind),
                       " may contain only letters and digits (head, finalized, <slot>, 0x<root>)"));
    }
  }
  return absl::OkStatus();
}

// A short, printable excerpt of an error body for messages.
std::string Snippet(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, 200)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  }
  if (body.size() > 200) out += "...";
  return out;
}

// Prefixes a status message, keeping the code and payloads.
absl::Status Annotate(const absl::Status& s, std::string_view prefix) {
  absl::Status out(s.code(), absl::StrCat(ToAbsl(prefix), ": ", s.message()));
  s.ForEachPayload(
      [&](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

// Marks the NotFound of a "state not available" answer (see IsStateUnavailable).
constexpr char kStateUnavailableUrl[] = "type.stakewatch/beacon.StateUnavailable";

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Whether an HTTP 404 or 400 body from a state-reading call says the state (or the epoch's
// data) is not available. A heuristic: clients word it differently ("State not found",
// "NOT_FOUND: beacon state at slot 123", "historical state pruned", ...).
bool SaysStateUnavailable(int http_status, std::string_view body) {
  std::string lower(body.substr(0, 1024));
  for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (!Contains(lower, "state") && !Contains(lower, "epoch") && !Contains(lower, "slot")) {
    return false;
  }
  if (http_status == 404) return true;
  for (std::string_view phrase :
       {"not found", "not available", "unavailable", "pruned", "missing", "unknown", "not known"}) {
    if (Contains(lower, phrase)) return true;
  }
  return false;
}

}  // namespace

bool IsStateUnavailable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kNotFound &&
         status.GetPayload(kStateUnavailableUrl).has_value();
}

absl::StatusOr<std::unique_ptr<FailoverBeaconClient>> FailoverBeaconClient::Create(
    std::vector<BeaconNode> nodes, const FailoverOptions& options, Clock* clock,
    BeaconClientObserver* observer) {
  if (nodes.empty()) return absl::InvalidArgumentError("at least one beacon node is required");
  if (clock == nullptr) return absl::InvalidArgumentError("clock must not be null");
  if (options.max_attempts < 1) return absl::InvalidArgumentError("max_attempts must be >= 1");
  if (options.initial_backoff < absl::ZeroDuration() ||
      options.max_backoff < absl::ZeroDuration() ||
      options.unhealthy_retry_after < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("backoff and retry durations must not be negative");
  }
  std::set<std::string> names;
  for (const BeaconNode& node : nodes) {
    if (node.transport == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("beacon node ", node.name, " has no transport"));
    }
    if (node.name.empty()) return absl::InvalidArgumentError("beacon node names must not be empty");
    if (!names.insert(node.name).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate beacon node name ", node.name));
    }
  }
  return std::unique_ptr<FailoverBeaconClient>(
      new FailoverBeaconClient(std::move(nodes), options, clock, observer));
}

absl::StatusOr<std::unique_ptr<FailoverBeaconClient>> FailoverBeaconClient::FromUrls(
    const std::vector<NodeSpec>& specs, const FailoverOptions& options, Clock* clock,
    BeaconClientObserver* observer) {
  HttplibTransportOptions topts;
  topts.connect_timeout = options.connect_timeout;
  topts.read_timeout = options.read_timeout;
  topts.max_response_bytes = options.max_response_bytes;
  topts.gzip = options.gzip;
  std::vector<BeaconNode> nodes;
  for (size_t i = 0; i < specs.size(); ++i) {
    auto transport = HttplibTransport::Create(specs[i].url, topts);
    if (!transport.ok()) {
      return Annotate(transport.status(), absl::StrCat("beacon node #", i + 1));
    }
    std::string name = specs[i].name.empty() ? (*transport)->redacted_url() : specs[i].name;
    nodes.push_back(BeaconNode{std::move(name), *std::move(transport)});
  }
  return Create(std::move(nodes), options, clock, observer);
}

FailoverBeaconClient::FailoverBeaconClient(std::vector<BeaconNode> nodes,
                                           const FailoverOptions& options, Clock* clock,
                                           BeaconClientObserver* observer)
    : nodes_(std::move(nodes)),
      options_(options),
      clock_(clock),
      observer_(observer),
      state_(nodes_.size()) {}

std::vector<NodeHealth> FailoverBeaconClient::Nodes() const {
  absl::MutexLock lock(&mu_);
  std::vector<NodeHealth> out;
  out.reserve(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const State& s = state_[i];
    out.push_back(NodeHealth{nodes_[i].name, s.healthy, s.reason, s.detail, s.sync,
                             s.healthy ? absl::InfinitePast() : s.next_probe});
  }
  return out;
}

absl::Duration FailoverBeaconClient::Backoff(int pass) const {
  absl::Duration d = options_.initial_backoff;
  for (int i = 1; i < pass && d < options_.max_backoff; ++i) d *= 2;
  return std::min(d, options_.max_backoff);
}

absl::Status FailoverBeaconClient::Probe(size_t index) {
  const BeaconNode& node = nodes_[index];
  HttpRequest request;
  request.target = std::string(kSyncingEndpoint);
  const absl::Time start = clock_->Now();
  absl::StatusOr<HttpResponse> response = node.transport->Send(request);
  const absl::Duration duration = clock_->Now() - start;

  std::string_view why = reason::kOk;
  absl::Status error;
  std::optional<SyncStatus> sync;
  if (!response.ok()) {
    why = TransportErrorReason(response.status());
    error = response.status();
  } else if (response->status != 200) {
    const int code = response->status;
    why = code >= 500   ? reason::kHttp5xx
          : code == 429 ? reason::kHttp429
                        : (code >= 400 ? reason::kHttp4xx : reason::kHttpOther);
    error = absl::UnavailableError(
        absl::StrCat("health check: HTTP ", code, ": ", Snippet(response->body)));
  } else {
    absl::StatusOr<SyncStatus> decoded = DecodeSyncing(response->body);
    if (!decoded.ok()) {
      why = reason::kDecode;
      error = decoded.status();
    } else {
      sync = *decoded;
      if (sync->is_syncing) {
        why = reason::kSyncing;
        error = absl::UnavailableError(absl::StrCat("node is syncing (head_slot ", sync->head_slot,
                                                    ", sync_distance ", sync->sync_distance, ")"));
      } else if (sync->el_offline) {
        why = reason::kElOffline;
        error = absl::UnavailableError("node reports its execution client offline");
      }
    }
  }
  const bool healthy = error.ok();
  if (observer_ != nullptr) {
    // The exchange itself succeeded when a SyncStatus was decoded, even if it says "syncing".
    observer_->OnRequest(node.name, kSyncingEndpoint, duration,
                         sync.has_value() ? reason::kOk : why);
  }
  bool changed = false;
  {
    absl::MutexLock lock(&mu_);
    State& s = state_[index];
    changed = s.healthy != healthy || s.reason != why;
    s.healthy = healthy;
    s.reported_unusable = why == reason::kSyncing || why == reason::kElOffline;
    s.reason = std::string(why);
    s.detail = healthy ? std::string() : std::string(error.message());
    if (sync.has_value()) s.sync = sync;
    s.next_probe = healthy ? absl::InfinitePast() : clock_->Now() + options_.unhealthy_retry_after;
  }
  if (changed) {
    if (healthy) {
      LogInfo("beacon node healthy", {{"node", node.name}});
    } else {
      LogWarn("beacon node unhealthy",
              {{"node", node.name}, {"reason", why}, {"err", ToStd(error.message())}});
    }
  }
  if (observer_ != nullptr) {
    observer_->OnNodeState(node.name, healthy, sync.has_value() ? &*sync : nullptr, why);
  }
  if (healthy) return absl::OkStatus();
  return absl::Status(error.code(), absl::StrCat(ToAbsl(why), ": ", error.message()));
}

absl::Status FailoverBeaconClient::CheckHealth() {
  std::vector<std::string> failures;
  bool any_healthy = false;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    absl::Status s = Probe(i);
    if (s.ok()) {
      any_healthy = true;
    } else {
      failures.push_back(absl::StrCat(nodes_[i].name, ": ", s.message()));
    }
  }
  if (any_healthy) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("no healthy beacon node: ", absl::StrJoin(failures, "; ")));
}

void FailoverBeaconClient::MarkFailed(size_t index, std::string_view why,
                                      const absl::Status& status) {
  bool was_healthy = false;
  {
    absl::MutexLock lock(&mu_);
    State& s = state_[index];
    was_healthy = s.healthy;
    s.healthy = false;
    s.reported_unusable = false;
    s.reason = std::string(why);
    s.detail = std::string(status.message());
    s.next_probe = clock_->Now() + options_.unhealthy_retry_after;
  }
  if (was_healthy) {
    LogWarn("beacon node unhealthy",
            {{"node", nodes_[index].name}, {"reason", why}, {"err", ToStd(status.message())}});
    if (observer_ != nullptr) observer_->OnNodeState(nodes_[index].name, false, nullptr, why);
  }
}

std::vector<FailoverBeaconClient::Candidate> FailoverBeaconClient::PickCandidates() {
  const absl::Time now = clock_->Now();
  std::vector<Candidate> out;
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < nodes_.size(); ++i) {
    State& s = state_[i];
    if (s.healthy) {
      out.push_back({i, false});
    } else if (now >= s.next_probe) {
      // Claim the probe so that concurrent requests do not all probe the same node.
      s.next_probe = now + options_.unhealthy_retry_after;
      out.push_back({i, true});
    }
  }
  if (out.empty()) {
    // Last resort: nodes that failed a request (perhaps transiently), not those that said they
    // are syncing or have no execution client.
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!state_[i].reported_unusable) out.push_back({i, false});
    }
  }
  return out;
}

FailoverBeaconClient::AttemptResult FailoverBeaconClient::Attempt(
    size_t index, std::string_view endpoint, const HttpRequest& request, bool not_found_is_value,
    const Decoder& decode, std::string_view state_subject) {
  const BeaconNode& node = nodes_[index];
  const absl::Time start = clock_->Now();
  absl::StatusOr<HttpResponse> response = node.transport->Send(request);
  const absl::Duration duration = clock_->Now() - start;

  AttemptResult result{AttemptResult::kSuccess, reason::kOk, absl::OkStatus()};
  if (!response.ok()) {
    result = {AttemptResult::kNodeError, TransportErrorReason(response.status()),
              response.status()};
  } else {
    const int code = response->status;
    const std::string what = absl::StrCat("HTTP ", code, " from ", request.target);
    if (code >= 200 && code < 300) {
      absl::Status decoded = decode(&response->body);
      if (!decoded.ok()) {
        result = {AttemptResult::kNodeError, reason::kDecode,
                  Annotate(decoded, absl::StrCat("undecodable response to ", request.target))};
      }
    } else if (code == 404 && not_found_is_value) {
      result = {AttemptResult::kNotFound, reason::kNotFound, absl::OkStatus()};
    } else if (code >= 500) {
      result = {AttemptResult::kNodeError, reason::kHttp5xx,
                absl::UnavailableError(absl::StrCat(what, ": ", Snippet(response->body)))};
    } else if (code == 429) {
      result = {AttemptResult::kNodeError, reason::kHttp429,
                absl::UnavailableError(absl::StrCat(what, " (rate limited)"))};
    } else if (code >= 400) {
      const std::string message = absl::StrCat(what, ": ", Snippet(response->body));
      absl::Status status = code == 400   ? absl::InvalidArgumentError(message)
                            : code == 404 ? absl::NotFoundError(message)
                            : code == 405 ? absl::UnimplementedError(message)
                                          : absl::FailedPreconditionError(message);
      if (!state_subject.empty() && (code == 400 || code == 404) &&
          SaysStateUnavailable(code, response->body)) {
        status = absl::NotFoundError(
            absl::StrCat(ToAbsl(state_subject),
                         " is not available on this node (pruned, or not reached yet): ", message));
        status.SetPayload(kStateUnavailableUrl, absl::Cord(ToAbsl(state_subject)));
      }
      result = {AttemptResult::kRequestError, reason::kHttp4xx, std::move(status)};
    } else {
      result = {AttemptResult::kNodeError, reason::kHttpOther,
                absl::UnavailableError(absl::StrCat(what, ": unexpected status"))};
    }
  }
  if (observer_ != nullptr) observer_->OnRequest(node.name, endpoint, duration, result.reason);
  return result;
}

absl::StatusOr<bool> FailoverBeaconClient::Execute(std::string_view endpoint,
                                                   const HttpRequest& request,
                                                   bool not_found_is_value, const Decoder& decode,
                                                   std::string_view state_subject) {
  // The latest reason per node during this call, for the final error message.
  std::vector<std::string> last_reason(nodes_.size());
  absl::Status last_error;
  int passes = 0;
  for (int pass = 1; pass <= options_.max_attempts; ++pass) {
    if (pass > 1) clock_->SleepFor(Backoff(pass - 1));
    std::vector<Candidate> candidates = PickCandidates();
    // Nothing to try: every node reported itself unusable (syncing, el_offline) and is not due
    // for a probe; retrying within this call will not change that.
    if (candidates.empty()) break;
    ++passes;
    for (const Candidate& c : candidates) {
      if (c.probe_first) {
        absl::Status probe = Probe(c.index);
        if (!probe.ok()) {
          last_reason[c.index] = absl::StrCat("health check failed: ", probe.message());
          last_error = probe;
          continue;
        }
      }
      AttemptResult r =
          Attempt(c.index, endpoint, request, not_found_is_value, decode, state_subject);
      switch (r.kind) {
        case AttemptResult::kSuccess:
          return true;
        case AttemptResult::kNotFound:
          return false;
        case AttemptResult::kRequestError:
          return Annotate(r.status, nodes_[c.index].name);
        case AttemptResult::kNodeError:
          MarkFailed(c.index, r.reason, r.status);
          last_reason[c.index] = absl::StrCat(ToAbsl(r.reason), ": ", r.status.message());
          last_error = r.status;
          break;
      }
    }
  }
  // Name every node, including those skipped as unhealthy without being tried in this call.
  std::vector<std::string> parts;
  {
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!last_reason[i].empty()) {
        parts.push_back(absl::StrCat(nodes_[i].name, ": ", last_reason[i]));
      } else {
        parts.push_back(absl::StrCat(nodes_[i].name, ": skipped, unhealthy (", state_[i].reason,
                                     state_[i].detail.empty() ? "" : ": ", state_[i].detail, ")"));
      }
    }
  }
  const absl::StatusCode code =
      last_error.ok() ? absl::StatusCode::kUnavailable : last_error.code();
  const std::string summary = passes == 0 ? std::string("no usable beacon node")
                                          : absl::StrCat("all beacon nodes failed (", passes,
                                                         passes == 1 ? " pass" : " passes", ")");
  return absl::Status(
      code, absl::StrCat(ToAbsl(endpoint), ": ", summary, ": ", absl::StrJoin(parts, "; ")));
}

// ---- Typed calls ----

namespace {

// Wraps a decoder into Execute's callback, storing the value in `*out`. The body is parsed in
// place (PaddedBody) to avoid copying multi-megabyte responses.
template <typename T>
std::function<absl::Status(std::string*)> Into(std::optional<T>* out,
                                               absl::StatusOr<T> (*decode)(PaddedBody)) {
  return [out, decode](std::string* body) -> absl::Status {
    absl::StatusOr<T> v = decode(PaddedBody::Of(body));
    if (!v.ok()) return v.status();
    *out = *std::move(v);
    return absl::OkStatus();
  };
}

HttpRequest Get(std::string target) {
  HttpRequest r;
  r.target = std::move(target);
  return r;
}

// The subject of a "state not available" message for a state-reading call.
std::string StateSubject(std::string_view state_id) {
  return absl::StrCat("state ", ToAbsl(state_id));
}

}  // namespace

absl::StatusOr<Genesis> FailoverBeaconClient::GetGenesis() {
  std::optional<Genesis> out;
  absl::StatusOr<bool> found = Execute("/eth/v1/beacon/genesis", Get("/eth/v1/beacon/genesis"),
                                       false, Into(&out, DecodeGenesis));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

absl::StatusOr<ChainSpec> FailoverBeaconClient::GetSpec() {
  std::optional<ChainSpec> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/config/spec", Get("/eth/v1/config/spec"), false, Into(&out, DecodeSpec));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

absl::StatusOr<SyncStatus> FailoverBeaconClient::GetSyncing() {
  std::optional<SyncStatus> out;
  absl::StatusOr<bool> found = Execute(kSyncingEndpoint, Get(std::string(kSyncingEndpoint)), false,
                                       Into(&out, DecodeSyncing));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

absl::StatusOr<FinalityCheckpoints> FailoverBeaconClient::GetFinalityCheckpoints(
    std::string_view state_id) {
  if (absl::Status s = ValidateId("state_id", state_id); !s.ok()) return s;
  std::optional<FinalityCheckpoints> out;
  absl::StatusOr<bool> found = Execute(
      "/eth/v1/beacon/states/{state_id}/finality_checkpoints",
      Get(absl::StrCat("/eth/v1/beacon/states/", ToAbsl(state_id), "/finality_checkpoints")), false,
      Into(&out, DecodeFinalityCheckpoints), StateSubject(state_id));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

absl::StatusOr<std::optional<BlockHeader>> FailoverBeaconClient::GetHeader(
    std::string_view block_id) {
  if (absl::Status s = ValidateId("block_id", block_id); !s.ok()) return s;
  std::optional<BlockHeader> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/beacon/headers/{block_id}",
              Get(absl::StrCat("/eth/v1/beacon/headers/", ToAbsl(block_id))), true,
              Into(&out, DecodeHeader));
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<BlockHeader>();
  return out;
}

absl::StatusOr<std::optional<Block>> FailoverBeaconClient::GetBlock(std::string_view block_id) {
  if (absl::Status s = ValidateId("block_id", block_id); !s.ok()) return s;
  std::optional<Block> out;
  absl::StatusOr<bool> found = Execute(
      "/eth/v2/beacon/blocks/{block_id}",
      Get(absl::StrCat("/eth/v2/beacon/blocks/", ToAbsl(block_id))), true, Into(&out, DecodeBlock));
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<Block>();
  return out;
}

absl::StatusOr<std::optional<std::vector<Attestation>>> FailoverBeaconClient::GetBlockAttestations(
    std::string_view block_id) {
  if (absl::Status s = ValidateId("block_id", block_id); !s.ok()) return s;
  std::optional<std::vector<Attestation>> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v2/beacon/blocks/{block_id}/attestations",
              Get(absl::StrCat("/eth/v2/beacon/blocks/", ToAbsl(block_id), "/attestations")), true,
              Into(&out, DecodeBlockAttestations));
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<std::vector<Attestation>>();
  return out;
}

absl::StatusOr<std::vector<Committee>> FailoverBeaconClient::GetCommittees(
    std::string_view state_id, Epoch epoch) {
  if (absl::Status s = ValidateId("state_id", state_id); !s.ok()) return s;
  std::optional<std::vector<Committee>> out;
  absl::StatusOr<bool> found = Execute(
      "/eth/v1/beacon/states/{state_id}/committees",
      Get(absl::StrCat("/eth/v1/beacon/states/", ToAbsl(state_id), "/committees?epoch=", epoch)),
      false, Into(&out, DecodeCommittees), StateSubject(state_id));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

absl::StatusOr<ProposerDuties> FailoverBeaconClient::GetProposerDuties(Epoch epoch) {
  std::optional<ProposerDuties> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/validator/duties/proposer/{epoch}",
              Get(absl::StrCat("/eth/v1/validator/duties/proposer/", epoch)), false,
              Into(&out, DecodeProposerDuties));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

// ---- Endpoints added for accounting and `stakewatch report` ----

absl::StatusOr<AttestationRewards> BeaconClient::GetAttestationRewards(
    Epoch, const std::vector<ValidatorIndex>&) {
  return absl::UnimplementedError("GetAttestationRewards is not implemented by this client");
}
absl::StatusOr<std::vector<ValidatorInfo>> BeaconClient::GetValidators(
    std::string_view, const std::vector<std::string>&, const std::vector<std::string>&) {
  return absl::UnimplementedError("GetValidators is not implemented by this client");
}
absl::StatusOr<std::vector<ValidatorLiveness>> BeaconClient::GetLiveness(
    Epoch, const std::vector<ValidatorIndex>&) {
  return absl::UnimplementedError("GetLiveness is not implemented by this client");
}
absl::StatusOr<SyncCommittee> BeaconClient::GetSyncCommittee(std::string_view, Epoch) {
  return absl::UnimplementedError("GetSyncCommittee is not implemented by this client");
}
absl::StatusOr<std::optional<BlockRewards>> BeaconClient::GetBlockRewards(std::string_view) {
  return absl::UnimplementedError("GetBlockRewards is not implemented by this client");
}
absl::StatusOr<std::optional<std::vector<SyncCommitteeReward>>>
BeaconClient::GetSyncCommitteeRewards(std::string_view, const std::vector<ValidatorIndex>&) {
  return absl::UnimplementedError("GetSyncCommitteeRewards is not implemented by this client");
}
absl::StatusOr<std::vector<BlockHeader>> BeaconClient::GetHeadersAtSlot(Slot) {
  return absl::UnimplementedError("GetHeadersAtSlot is not implemented by this client");
}
absl::StatusOr<std::vector<ValidatorBalance>> BeaconClient::GetValidatorBalances(
    std::string_view, const std::vector<ValidatorIndex>&) {
  return absl::UnimplementedError("GetValidatorBalances is not implemented by this client");
}

namespace {

// ["1","2",...]: the Beacon API's body for lists of validator indices.
std::string IndexListJson(const std::vector<ValidatorIndex>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) absl::StrAppend(&out, i ? ",\"" : "\"", ids[i], "\"");
  out += "]";
  return out;
}

// ["a","b"] for strings already validated to need no escaping.
std::string StringListJson(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    absl::StrAppend(&out, i ? ",\"" : "\"", items[i], "\"");
  }
  out += "]";
  return out;
}

HttpRequest Post(std::string target, std::string body) {
  HttpRequest r;
  r.method = HttpMethod::kPost;
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

// A validator id: a decimal index or a 0x pubkey.
absl::Status ValidateValidatorId(std::string_view id) {
  uint64_t index;
  if (ParseUint64(id, &index)) return absl::OkStatus();
  Pubkey pubkey;
  if (ParseHexFixed(id, &pubkey)) return absl::OkStatus();
  std::string shown(id.substr(0, 20));
  for (char& c : shown) {
    if (c < 0x20 || c >= 0x7f) c = '?';
  }
  return absl::InvalidArgumentError(absl::StrCat("validator id \"", shown,
                                                 id.size() > 20 ? "..." : "",
                                                 "\" is neither a decimal index nor a 0x pubkey"));
}

// A validator status filter: lower-case letters and '_' only.
absl::Status ValidateStatus(std::string_view status) {
  bool ok = !status.empty() && status.size() <= 32;
  for (char c : status) ok = ok && ((c >= 'a' && c <= 'z') || c == '_');
  if (!ok) {
    return absl::InvalidArgumentError(
        "validator status filters may contain only lower-case letters and '_'");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AttestationRewards> FailoverBeaconClient::GetAttestationRewards(
    Epoch epoch, const std::vector<ValidatorIndex>& ids) {
  std::optional<AttestationRewards> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/beacon/rewards/attestations/{epoch}",
              Post(absl::StrCat("/eth/v1/beacon/rewards/attestations/", epoch), IndexListJson(ids)),
              false, Into(&out, DecodeAttestationRewards),
              absl::StrCat("the state for epoch ", epoch, " (attestation rewards)"));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

absl::StatusOr<std::vector<ValidatorInfo>> FailoverBeaconClient::GetValidators(
    std::string_view state_id, const std::vector<std::string>& ids,
    const std::vector<std::string>& statuses) {
  if (absl::Status s = ValidateId("state_id", state_id); !s.ok()) return s;
  for (const std::string& id : ids) RETURN_IF_ERROR(ValidateValidatorId(id));
  for (const std::string& status : statuses) RETURN_IF_ERROR(ValidateStatus(status));
  const std::string path = absl::StrCat("/eth/v1/beacon/states/", ToAbsl(state_id), "/validators");
  std::optional<std::vector<ValidatorInfo>> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/beacon/states/{state_id}/validators",
              Post(path, absl::StrCat("{\"ids\":", StringListJson(ids),
                                      ",\"statuses\":", StringListJson(statuses), "}")),
              false, Into(&out, DecodeValidators), StateSubject(state_id));
  if (found.ok()) return *std::move(out);
  // Some servers lack the POST form: a 404 (no such route; also what an unknown state gives, in
  // which case the GET fails the same way) or a 405.
  if (found.status().code() != absl::StatusCode::kNotFound &&
      found.status().code() != absl::StatusCode::kUnimplemented) {
    return found.status();
  }
  std::vector<ValidatorInfo> all;
  std::string status_query;
  if (!statuses.empty()) status_query = absl::StrCat("&status=", absl::StrJoin(statuses, ","));
  // With no ids, one unfiltered GET; otherwise one GET per chunk of ids.
  const size_t chunks =
      ids.empty() ? 1 : (ids.size() + kValidatorIdsPerGet - 1) / kValidatorIdsPerGet;
  for (size_t c = 0; c < chunks; ++c) {
    std::string query;
    if (!ids.empty()) {
      const size_t begin = c * kValidatorIdsPerGet;
      const size_t end = std::min(ids.size(), begin + kValidatorIdsPerGet);
      query = absl::StrCat("?id=", absl::StrJoin(ids.begin() + begin, ids.begin() + end, ","),
                           status_query);
    } else if (!status_query.empty()) {
      query = absl::StrCat("?", status_query.substr(1));
    }
    std::optional<std::vector<ValidatorInfo>> part;
    absl::StatusOr<bool> got =
        Execute("/eth/v1/beacon/states/{state_id}/validators", Get(path + query), false,
                Into(&part, DecodeValidators), StateSubject(state_id));
    if (!got.ok()) return got.status();
    for (ValidatorInfo& v : *part) all.push_back(std::move(v));
  }
  return all;
}

absl::StatusOr<std::vector<ValidatorLiveness>> FailoverBeaconClient::GetLiveness(
    Epoch epoch, const std::vector<ValidatorIndex>& ids) {
  std::optional<std::vector<ValidatorLiveness>> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/validator/liveness/{epoch}",
              Post(absl::StrCat("/eth/v1/validator/liveness/", epoch), IndexListJson(ids)), false,
              Into(&out, DecodeLiveness));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

absl::StatusOr<SyncCommittee> FailoverBeaconClient::GetSyncCommittee(std::string_view state_id,
                                                                     Epoch epoch) {
  if (absl::Status s = ValidateId("state_id", state_id); !s.ok()) return s;
  std::optional<SyncCommittee> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/beacon/states/{state_id}/sync_committees",
              Get(absl::StrCat("/eth/v1/beacon/states/", ToAbsl(state_id),
                               "/sync_committees?epoch=", epoch)),
              false, Into(&out, DecodeSyncCommittee), StateSubject(state_id));
  if (!found.ok()) return found.status();
  return *std::move(out);
}

absl::StatusOr<std::optional<BlockRewards>> FailoverBeaconClient::GetBlockRewards(
    std::string_view block_id) {
  if (absl::Status s = ValidateId("block_id", block_id); !s.ok()) return s;
  std::optional<BlockRewards> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/beacon/rewards/blocks/{block_id}",
              Get(absl::StrCat("/eth/v1/beacon/rewards/blocks/", ToAbsl(block_id))), true,
              Into(&out, DecodeBlockRewards));
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<BlockRewards>();
  return out;
}

absl::StatusOr<std::optional<std::vector<SyncCommitteeReward>>>
FailoverBeaconClient::GetSyncCommitteeRewards(std::string_view block_id,
                                              const std::vector<ValidatorIndex>& ids) {
  if (absl::Status s = ValidateId("block_id", block_id); !s.ok()) return s;
  std::optional<std::vector<SyncCommitteeReward>> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/beacon/rewards/sync_committee/{block_id}",
              Post(absl::StrCat("/eth/v1/beacon/rewards/sync_committee/", ToAbsl(block_id)),
                   IndexListJson(ids)),
              true, Into(&out, DecodeSyncCommitteeRewards));
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<std::vector<SyncCommitteeReward>>();
  return out;
}

absl::StatusOr<std::vector<BlockHeader>> FailoverBeaconClient::GetHeadersAtSlot(Slot slot) {
  std::optional<std::vector<BlockHeader>> out;
  absl::StatusOr<bool> found =
      Execute("/eth/v1/beacon/headers", Get(absl::StrCat("/eth/v1/beacon/headers?slot=", slot)),
              true, Into(&out, DecodeHeaders));
  if (!found.ok()) return found.status();
  if (!*found) return std::vector<BlockHeader>();
  return *std::move(out);
}

absl::StatusOr<std::vector<ValidatorBalance>> FailoverBeaconClient::GetValidatorBalances(
    std::string_view state_id, const std::vector<ValidatorIndex>& ids) {
  if (absl::Status s = ValidateId("state_id", state_id); !s.ok()) return s;
  constexpr std::string_view kEndpoint = "/eth/v1/beacon/states/{state_id}/validator_balances";
  const std::string path =
      absl::StrCat("/eth/v1/beacon/states/", ToAbsl(state_id), "/validator_balances");
  const std::string subject = StateSubject(state_id);
  std::optional<std::vector<ValidatorBalance>> out;
  absl::StatusOr<bool> found = Execute(kEndpoint, Post(path, IndexListJson(ids)), false,
                                       Into(&out, DecodeValidatorBalances), subject);
  if (found.ok()) return *std::move(out);
  // As for GetValidators: a 404 (no such route, or no such state -- then the GET fails the same
  // way) or a 405 means "try GET".
  if (found.status().code() != absl::StatusCode::kNotFound &&
      found.status().code() != absl::StatusCode::kUnimplemented) {
    return found.status();
  }
  std::vector<ValidatorBalance> all;
  const size_t chunks =
      ids.empty() ? 1 : (ids.size() + kValidatorIdsPerGet - 1) / kValidatorIdsPerGet;
  for (size_t c = 0; c < chunks; ++c) {
    std::string query;
    if (!ids.empty()) {
      const size_t begin = c * kValidatorIdsPerGet;
      const size_t end = std::min(ids.size(), begin + kValidatorIdsPerGet);
      query = absl::StrCat("?id=", absl::StrJoin(ids.begin() + begin, ids.begin() + end, ","));
    }
    std::optional<std::vector<ValidatorBalance>> part;
    absl::StatusOr<bool> got =
        Execute(kEndpoint, Get(path + query), false, Into(&part, DecodeValidatorBalances), subject);
    if (!got.ok()) return got.status();
    if (all.empty()) {
      all = *std::move(part);
    } else {
      all.insert(all.end(), part->begin(), part->end());
    }
  }
  return all;
}

}  // namespace stakewatch::beacon
