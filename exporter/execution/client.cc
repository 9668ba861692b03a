#include "execution/client.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "execution/decode.h"

namespace stakewatch::execution {
namespace {

// The first bytes of an error body, printable ASCII only, for error messages.
std::string Snippet(std::string_view body) {
  constexpr size_t kMax = 200;
  std::string out;
  for (size_t i = 0; i < body.size() && i < kMax; ++i) {
    const char c = body[i];
    out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  }
  if (body.size() > kMax) out += "...";
  return out;
}

// The error for a non-200 HTTP response.
absl::Status HttpStatusError(std::string_view what, std::string_view server, int status,
                             std::string_view body) {
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  if (status == 429) code = absl::StatusCode::kResourceExhausted;
  if (status == 401 || status == 403) code = absl::StatusCode::kPermissionDenied;
  return absl::Status(code, absl::StrCat(ToAbsl(what), ": HTTP ", status, " from ", ToAbsl(server),
                                         ": ", Snippet(body)));
}

// `s` with a new message, keeping its code and payloads (the JSON-RPC error code).
absl::Status WithMessage(const absl::Status& s, std::string_view message) {
  absl::Status out(s.code(), ToAbsl(message));
  s.ForEachPayload([&out](absl::string_view type_url, const absl::Cord& payload) {
    out.SetPayload(type_url, payload);
  });
  return out;
}

// Prefixes a transport or decode error with what was being asked.
absl::Status Annotate(const absl::Status& s, std::string_view what) {
  return WithMessage(s, absl::StrCat(ToAbsl(what), ": ", s.message()));
}

absl::StatusOr<beacon::NodeUrl> ParseUrl(std::string_view url) {
  absl::StatusOr<beacon::NodeUrl> parsed = beacon::ParseNodeUrl(url);
  if (!parsed.ok()) return parsed.status();  // ParseNodeUrl never echoes credentials
  return parsed;
}

}  // namespace

// ---- ExecutionClient ----

absl::StatusOr<std::unique_ptr<ExecutionClient>> ExecutionClient::Create(
    std::string_view url, const beacon::HttplibTransportOptions& options) {
  ASSIGN_OR_RETURN(beacon::NodeUrl parsed, ParseUrl(url));
  ASSIGN_OR_RETURN(std::unique_ptr<beacon::HttplibTransport> transport,
                   beacon::HttplibTransport::Create(url, options));
  return std::make_unique<ExecutionClient>(std::move(transport), parsed.Redacted());
}

ExecutionClient::ExecutionClient(std::unique_ptr<beacon::HttpTransport> transport, std::string name)
    : transport_(std::move(transport)), name_(std::move(name)) {}

absl::StatusOr<beacon::HttpResponse> ExecutionClient::Call(std::string_view method,
                                                           std::string_view params, uint64_t* id) {
  *id = next_id_.fetch_add(1, std::memory_order_relaxed);
  const beacon::HttpRequest request{
      .method = beacon::HttpMethod::kPost,
      .target = std::string(1, '/'),
      .body = absl::StrCat(R"({"jsonrpc":"2.0","id":)", *id, R"(,"method":")", ToAbsl(method),
                           R"(","params":)", ToAbsl(params), "}")};
  absl::StatusOr<beacon::HttpResponse> response = transport_->Send(request);
  if (!response.ok()) {
    return Annotate(response.status(), absl::StrCat(ToAbsl(method), "(", ToAbsl(params), ")"));
  }
  return response;
}

namespace {

// Decodes a JSON-RPC response with `decode`. A non-200 response is an error, but one that
// carries a JSON-RPC error object (some servers answer 4xx/5xx with one) reports that error.
template <typename T>
absl::StatusOr<T> DecodeRpc(const beacon::HttpResponse& response, std::string_view server,
                            std::string_view what, uint64_t id,
                            absl::StatusOr<T> (*decode)(std::string_view,
                                                        std::optional<uint64_t>)) {
  absl::StatusOr<T> decoded = decode(response.body, id);
  if (response.status != 200) {
    if (!decoded.ok() && JsonRpcErrorCode(decoded.status()).has_value()) {
      return WithMessage(decoded.status(), absl::StrCat(ToAbsl(server), ": HTTP ", response.status,
                                                        ": ", decoded.status().message()));
    }
    return HttpStatusError(what, server, response.status, response.body);
  }
  if (!decoded.ok()) return Annotate(decoded.status(), server);
  return decoded;
}

}  // namespace

absl::StatusOr<std::optional<ExecBlock>> ExecutionClient::GetBlockByNumber(uint64_t number) {
  const std::string params = absl::StrCat(R"(["0x)", absl::Hex(number), R"(",true])");
  uint64_t id = 0;
  ASSIGN_OR_RETURN(beacon::HttpResponse response, Call("eth_getBlockByNumber", params, &id));
  ASSIGN_OR_RETURN(std::optional<ExecBlock> block,
                   DecodeRpc(response, name_, "eth_getBlockByNumber", id, &DecodeGetBlockByNumber));
  if (block.has_value() && block->number != number) {
    return absl::InvalidArgumentError(absl::StrCat(name_, ": eth_getBlockByNumber: asked for ",
                                                   number, ", got block ", block->number));
  }
  return block;
}

absl::StatusOr<std::optional<std::vector<ExecReceipt>>> ExecutionClient::GetBlockReceipts(
    uint64_t number) {
  const std::string params = absl::StrCat(R"(["0x)", absl::Hex(number), R"("])");
  uint64_t id = 0;
  ASSIGN_OR_RETURN(beacon::HttpResponse response, Call("eth_getBlockReceipts", params, &id));
  return DecodeRpc(response, name_, "eth_getBlockReceipts", id, &DecodeGetBlockReceipts);
}

// ---- RelayClient ----

absl::StatusOr<std::unique_ptr<RelayClient>> RelayClient::Create(
    std::string_view url, const beacon::HttplibTransportOptions& options, std::string_view name) {
  ASSIGN_OR_RETURN(beacon::NodeUrl parsed, ParseUrl(url));
  ASSIGN_OR_RETURN(std::unique_ptr<beacon::HttplibTransport> transport,
                   beacon::HttplibTransport::Create(url, options));
  return std::make_unique<RelayClient>(std::move(transport),
                                       name.empty() ? parsed.host : std::string(name));
}

RelayClient::RelayClient(std::unique_ptr<beacon::HttpTransport> transport, std::string name)
    : transport_(std::move(transport)), name_(std::move(name)) {}

absl::StatusOr<std::vector<RelayDelivery>> RelayClient::GetDeliveredPayload(uint64_t slot) {
  beacon::HttpRequest request;
  request.target = absl::StrCat("/relay/v1/data/bidtraces/proposer_payload_delivered?slot=", slot);
  const std::string what =
      absl::StrCat("relay ", name_, ": proposer_payload_delivered?slot=", slot);
  absl::StatusOr<beacon::HttpResponse> response = transport_->Send(request);
  if (!response.ok()) return Annotate(response.status(), what);
  if (response->status != 200) {
    return HttpStatusError(what, name_, response->status, response->body);
  }
  absl::StatusOr<std::vector<RelayDelivery>> deliveries =
      DecodeProposerPayloadDelivered(response->body);
  if (!deliveries.ok()) return Annotate(deliveries.status(), absl::StrCat("relay ", name_));
  std::erase_if(*deliveries, [slot](const RelayDelivery& d) { return d.slot != slot; });
  return deliveries;
}

// ---- FetchBlockRewards ----

absl::StatusOr<BlockExecutionRewards> FetchBlockRewards(ExecutionClient* el,
                                                        const std::vector<RelayClient*>& relays,
                                                        uint64_t block_number, uint64_t slot,
                                                        const Address& proposer_fee_recipient) {
  ASSIGN_OR_RETURN(std::optional<ExecBlock> block, el->GetBlockByNumber(block_number));
  if (!block.has_value()) {
    return absl::NotFoundError(
        absl::StrCat(el->name(), ": execution block ", block_number, " not found"));
  }
  ASSIGN_OR_RETURN(std::optional<std::vector<ExecReceipt>> receipts,
                   el->GetBlockReceipts(block_number));
  if (!receipts.has_value()) {
    return absl::NotFoundError(
        absl::StrCat(el->name(), ": receipts of execution block ", block_number, " not found"));
  }
  BlockExecutionRewards out;
  out.block_number = block->number;
  out.block_hash = block->hash;
  out.coinbase = block->miner;
  ASSIGN_OR_RETURN(out.reward, ComputeExecutionReward(*block, *receipts, proposer_fee_recipient));

  out.relays.reserve(relays.size());
  for (RelayClient* relay : relays) {
    RelayOutcome& outcome = out.relays.emplace_back();
    outcome.relay = relay->name();
    absl::StatusOr<std::vector<RelayDelivery>> deliveries = relay->GetDeliveredPayload(slot);
    if (!deliveries.ok()) {
      outcome.status = deliveries.status();
      continue;
    }
    for (const RelayDelivery& d : *deliveries) {
      if (d.block_hash == block->hash) {
        outcome.delivered_value = d.value;
      } else {
        outcome.block_hash_mismatch = true;
      }
    }
    if (outcome.delivered_value.has_value()) out.relay_delivered = true;
  }
  return out;
}

}  // namespace stakewatch::execution
