#include "signer/web3signer.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "beacon/decode.h"
#include "common/status_macros.h"
#include "common/strings.h"
#include "simdjson.h"

namespace stakewatch::signer {
namespace {

namespace dom = simdjson::dom;

constexpr int kMaxCheckDepth = 8;
constexpr size_t kPublicKeyHexDigits = 96;
constexpr size_t kMaxQuotedBytes = 40;  // of offending input echoed in an error

// The first kMaxQuotedBytes of `s`, quoted and escaped for an error message.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  const size_t n = std::min(s.size(), kMaxQuotedBytes);
  out += absl::CEscape(ToAbsl(s.substr(0, n)));
  out += s.size() > n ? "\"..." : "\"";
  return out;
}

absl::Status Error(std::string_view endpoint, std::string_view path, std::string_view msg) {
  if (path.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(endpoint), ": ", ToAbsl(msg)));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(endpoint), ": ", ToAbsl(path), ": ", ToAbsl(msg)));
}

const char* TypeName(dom::element_type t) {
  switch (t) {
    case dom::element_type::ARRAY:
      return "array";
    case dom::element_type::OBJECT:
      return "object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "number";
    case dom::element_type::STRING:
      return "string";
    case dom::element_type::BOOL:
      return "boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "value";
}

// Parses `body` into `parser`, rejecting empty and oversized bodies.
absl::StatusOr<dom::element> Parse(std::string_view endpoint, std::string_view body,
                                   dom::parser* parser) {
  if (body.empty()) return Error(endpoint, "", "empty body");
  if (body.size() > beacon::kMaxResponseBytes) {
    return Error(endpoint, "", absl::StrCat("body of ", body.size(), " bytes exceeds the limit"));
  }
  dom::element root;
  if (auto e = parser->parse(body.data(), body.size()).get(root)) {
    return Error(endpoint, "", absl::StrCat("invalid JSON: ", simdjson::error_message(e)));
  }
  return root;
}

absl::Status DecodeStatus(dom::element v, std::string_view path, HealthStatus* out) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) {
    return Error("healthcheck", path,
                 absl::StrCat("expected \"UP\" or \"DOWN\", got ", TypeName(v.type())));
  }
  if (s == "UP") {
    *out = HealthStatus::kUp;
  } else if (s == "DOWN") {
    *out = HealthStatus::kDown;
  } else {
    return Error("healthcheck", path, absl::StrCat("expected \"UP\" or \"DOWN\", got ", Quote(s)));
  }
  return absl::OkStatus();
}

absl::Status DecodeCount(dom::element v, std::string_view path, std::optional<int64_t>* out) {
  int64_t n = 0;
  if (v.get_int64().get(n) != simdjson::SUCCESS || n < 0) {
    return Error("healthcheck", path,
                 absl::StrCat("expected a non-negative integer, got ",
                              v.is_number() ? "another number" : TypeName(v.type())));
  }
  *out = n;
  return absl::OkStatus();
}

// Appends the checks of array `v` (at JSON path `path`) to `out`, depth first. Ids of nested
// checks are prefixed with their parent's id and '/'.
absl::Status DecodeChecks(dom::element v, const std::string& path, int depth,
                          std::vector<HealthCheck>* out) {
  if (depth > kMaxCheckDepth) {
    return Error("healthcheck", path,
                 absl::StrCat("checks nested deeper than ", kMaxCheckDepth, " levels"));
  }
  dom::array arr;
  if (v.get_array().get(arr) != simdjson::SUCCESS) {
    return Error("healthcheck", path, absl::StrCat("expected an array, got ", TypeName(v.type())));
  }
  size_t i = 0;
  for (dom::element item : arr) {
    const std::string item_path = absl::StrCat(path, "[", i++, "]");
    dom::object obj;
    if (item.get_object().get(obj) != simdjson::SUCCESS) {
      return Error("healthcheck", item_path,
                   absl::StrCat("expected an object, got ", TypeName(item.type())));
    }
    HealthCheck check;
    bool has_id = false;
    bool has_status = false;
    std::vector<HealthCheck> children;
    for (dom::key_value_pair field : obj) {
      const std::string field_path = absl::StrCat(item_path, ".", ToAbsl(field.key));
      if (field.key == "id") {
        std::string_view id;
        if (field.value.get_string().get(id) != simdjson::SUCCESS) {
          return Error("healthcheck", field_path,
                       absl::StrCat("expected a string, got ", TypeName(field.value.type())));
        }
        check.id = std::string(id);
        has_id = true;
      } else if (field.key == "status") {
        RETURN_IF_ERROR(DecodeStatus(field.value, field_path, &check.status));
        has_status = true;
      } else if (field.key == "data") {
        dom::object data;
        if (field.value.get_object().get(data) != simdjson::SUCCESS) {
          return Error("healthcheck", field_path,
                       absl::StrCat("expected an object, got ", TypeName(field.value.type())));
        }
        for (dom::key_value_pair d : data) {
          const std::string data_path = absl::StrCat(field_path, ".", ToAbsl(d.key));
          if (d.key == "keys-loaded") {
            RETURN_IF_ERROR(DecodeCount(d.value, data_path, &check.keys_loaded));
          } else if (d.key == "error-count") {
            RETURN_IF_ERROR(DecodeCount(d.value, data_path, &check.error_count));
          }
        }
      } else if (field.key == "checks") {
        RETURN_IF_ERROR(DecodeChecks(field.value, field_path, depth + 1, &children));
      }
    }
    if (!has_id) return Error("healthcheck", item_path, "missing \"id\"");
    if (!has_status) return Error("healthcheck", item_path, "missing \"status\"");
    for (HealthCheck& child : children) child.id = absl::StrCat(check.id, "/", child.id);
    out->push_back(std::move(check));
    for (HealthCheck& child : children) out->push_back(std::move(child));
  }
  return absl::OkStatus();
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Canonical form of `key`, or std::nullopt if it is not "0x" + 96 hex digits.
std::optional<std::string> Canonical(std::string_view key) {
  if (key.size() != 2 + kPublicKeyHexDigits || key[0] != '0' || (key[1] != 'x' && key[1] != 'X')) {
    return std::nullopt;
  }
  std::string out(key);
  out[1] = 'x';
  for (size_t i = 2; i < out.size(); ++i) {
    if (!IsHexDigit(out[i])) return std::nullopt;
    out[i] = absl::ascii_tolower(static_cast<unsigned char>(out[i]));
  }
  return out;
}

// Sorted, unique views of `keys`.
std::vector<std::string_view> SortedViews(const std::vector<std::string>& keys) {
  std::vector<std::string_view> v(keys.begin(), keys.end());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

std::string_view HealthStatusName(HealthStatus status) {
  return status == HealthStatus::kUp ? "UP" : "DOWN";
}

absl::StatusOr<HealthReport> DecodeHealthcheck(std::string_view body) {
  dom::parser parser;
  ASSIGN_OR_RETURN(dom::element root, Parse("healthcheck", body, &parser));
  dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return Error("healthcheck", "",
                 absl::StrCat("expected an object, got ", TypeName(root.type())));
  }
  HealthReport report;
  bool has_status = false;
  for (dom::key_value_pair field : obj) {
    if (field.key == "status") {
      RETURN_IF_ERROR(DecodeStatus(field.value, "status", &report.status));
      has_status = true;
    } else if (field.key == "checks") {
      RETURN_IF_ERROR(DecodeChecks(field.value, "checks", 1, &report.checks));
    }
  }
  if (!has_status) return Error("healthcheck", "", "missing \"status\"");
  return report;
}

absl::StatusOr<std::vector<std::string>> DecodePublicKeys(std::string_view body) {
  dom::parser parser;
  ASSIGN_OR_RETURN(dom::element root, Parse("publicKeys", body, &parser));
  dom::array arr;
  if (root.get_array().get(arr) != simdjson::SUCCESS) {
    return Error("publicKeys", "", absl::StrCat("expected an array, got ", TypeName(root.type())));
  }
  std::vector<std::string> keys;
  keys.reserve(arr.size());
  size_t i = 0;
  for (dom::element item : arr) {
    const std::string path = absl::StrCat("[", i++, "]");
    std::string_view s;
    if (item.get_string().get(s) != simdjson::SUCCESS) {
      return Error("publicKeys", path,
                   absl::StrCat("expected a string, got ", TypeName(item.type())));
    }
    std::optional<std::string> key = Canonical(s);
    if (!key) {
      return Error("publicKeys", path,
                   absl::StrCat("expected \"0x\" and 96 hex digits, got ", Quote(s)));
    }
    keys.push_back(std::move(*key));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

absl::StatusOr<std::string> NormalizePublicKey(std::string_view key) {
  std::optional<std::string> k = Canonical(key);
  if (!k) {
    return absl::InvalidArgumentError(
        absl::StrCat("public key: expected \"0x\" and 96 hex digits, got ", Quote(key)));
  }
  return *std::move(k);
}

KeyReconciliation ReconcileKeys(const std::vector<std::string>& loaded,
                                const std::vector<std::string>& configured) {
  const std::vector<std::string_view> l = SortedViews(loaded);
  const std::vector<std::string_view> c = SortedViews(configured);
  KeyReconciliation out;
  size_t i = 0;
  size_t j = 0;
  while (i < l.size() || j < c.size()) {
    if (j == c.size() || (i < l.size() && l[i] < c[j])) {
      out.loaded_not_monitored.emplace_back(l[i++]);
    } else if (i == l.size() || c[j] < l[i]) {
      out.configured_not_loaded.emplace_back(c[j++]);
    } else {
      ++i;
      ++j;
    }
  }
  return out;
}

Web3SignerMetrics ExtractWeb3SignerMetrics(const std::vector<MetricSample>& samples) {
  Web3SignerMetrics m;
  auto add = [](std::optional<double>* field, double v) { *field = field->value_or(0) + v; };
  for (const MetricSample& s : samples) {
    if (s.name == "signing_bls_signing_duration") {
      const std::optional<std::string_view> q = LabelValue(s, "quantile");
      double quantile = 0;
      if (q && absl::SimpleAtod(ToAbsl(*q), &quantile)) {
        m.signing_duration_quantiles.emplace_back(quantile, s.value);
      }
    } else if (s.name == "signing_bls_signing_duration_sum") {
      add(&m.signing_duration_sum, s.value);
    } else if (s.name == "signing_bls_signing_duration_count") {
      add(&m.signing_duration_count, s.value);
    } else if (s.name == "eth2_slashingprotection_prevented_signings_total") {
      add(&m.prevented_signings, s.value);
    } else if (s.name == "eth2_slashingprotection_permitted_signings_total") {
      add(&m.permitted_signings, s.value);
    } else if (s.name == "signing_bls_missing_identifier_count_total") {
      add(&m.missing_identifier_requests, s.value);
    } else if (s.name == "signing_signers_loaded_count") {
      add(&m.keys_loaded, s.value);
    }
  }
  std::sort(m.signing_duration_quantiles.begin(), m.signing_duration_quantiles.end());
  return m;
}

// ---- Web3SignerClient ----

absl::StatusOr<std::unique_ptr<Web3SignerClient>> Web3SignerClient::Create(
    std::string_view url, const beacon::HttplibTransportOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<beacon::HttplibTransport> transport,
                   beacon::HttplibTransport::Create(url, options));
  std::string redacted = transport->redacted_url();
  return std::make_unique<Web3SignerClient>(std::move(transport), std::move(redacted));
}

Web3SignerClient::Web3SignerClient(std::unique_ptr<beacon::HttpTransport> transport,
                                   std::string redacted_url)
    : transport_(std::move(transport)), redacted_url_(std::move(redacted_url)) {}

absl::Status Web3SignerClient::Annotate(std::string_view path, const absl::Status& status) const {
  return absl::Status(status.code(), absl::StrCat("web3signer ", redacted_url_, " GET ",
                                                  ToAbsl(path), ": ", status.message()));
}

absl::StatusOr<beacon::HttpResponse> Web3SignerClient::Get(std::string_view path) {
  absl::StatusOr<beacon::HttpResponse> r = transport_->Send({.target = std::string(path)});
  if (!r.ok()) return Annotate(path, r.status());
  return r;
}

absl::Status Web3SignerClient::Upcheck() {
  constexpr std::string_view kPath = "/upcheck";
  ASSIGN_OR_RETURN(beacon::HttpResponse r, Get(kPath));
  if (r.status != 200) {
    return Annotate(kPath, absl::UnavailableError(absl::StrCat("HTTP status ", r.status)));
  }
  if (absl::StripAsciiWhitespace(r.body) != "OK") {
    return Annotate(kPath, absl::UnavailableError(absl::StrCat("HTTP 200 with body ", Quote(r.body),
                                                               ", expected \"OK\"")));
  }
  return absl::OkStatus();
}

absl::StatusOr<HealthReport> Web3SignerClient::Healthcheck() {
  constexpr std::string_view kPath = "/healthcheck";
  ASSIGN_OR_RETURN(beacon::HttpResponse r, Get(kPath));
  if (r.status != 200 && r.status != 503) {
    return Annotate(kPath, absl::UnavailableError(absl::StrCat("HTTP status ", r.status)));
  }
  absl::StatusOr<HealthReport> report = DecodeHealthcheck(r.body);
  if (!report.ok()) {
    return Annotate(kPath,
                    absl::Status(report.status().code(),
                                 absl::StrCat("HTTP ", r.status, ": ", report.status().message())));
  }
  report->http_status = r.status;
  return report;
}

absl::StatusOr<std::vector<std::string>> Web3SignerClient::PublicKeys() {
  constexpr std::string_view kPath = "/api/v1/eth2/publicKeys";
  ASSIGN_OR_RETURN(beacon::HttpResponse r, Get(kPath));
  if (r.status != 200) {
    return Annotate(kPath, absl::UnavailableError(absl::StrCat("HTTP status ", r.status)));
  }
  absl::StatusOr<std::vector<std::string>> keys = DecodePublicKeys(r.body);
  if (!keys.ok()) return Annotate(kPath, keys.status());
  return keys;
}

}  // namespace stakewatch::signer
