// Execution JSON-RPC and relay data-API decoders on simdjson's on-demand API.
//
// As in beacon/decode.cc, every decoder walks every field of every object it opens, so truncated
// input is always reached and reported, and anything after the root value is "trailing content".
// Error paths are a chain of Path objects on the stack, rendered only on failure.
#include "execution/decode.h"

#include <simdjson.h>

#include <array>
#include <bit>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace stakewatch::execution {
namespace {

namespace od = simdjson::ondemand;

constexpr char kJsonRpcCodePayload[] = "type.stakewatch/execution.jsonrpc_code";

// One step of a JSON path, linked to its parent on the caller's stack.
class Path {
 public:
  explicit Path(std::string_view method) : method_(method) {}
  Path(const Path& parent, std::string_view key)
      : parent_(&parent), method_(parent.method_), key_(key) {}
  Path(const Path& parent, size_t index)
      : parent_(&parent), method_(parent.method_), index_(index), is_index_(true) {}
  Path(const Path&) = delete;
  Path& operator=(const Path&) = delete;

  std::string_view method() const { return method_; }

  // "method: a.b[3].c: msg" (no path part at the root).
  absl::Status Error(std::string_view msg) const {
    std::string path;
    Append(&path);
    if (path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(method_), ": ", ToAbsl(msg)));
    }
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(method_), ": ", path, ": ", ToAbsl(msg)));
  }

 private:
  void Append(std::string* out) const {
    if (parent_ == nullptr) return;
    parent_->Append(out);
    if (is_index_) {
      absl::StrAppend(out, "[", index_, "]");
    } else {
      if (!out->empty()) out->push_back('.');
      absl::StrAppend(out, ToAbsl(key_));
    }
  }

  const Path* parent_ = nullptr;
  std::string_view method_;
  std::string_view key_;
  size_t index_ = 0;
  bool is_index_ = false;
};

absl::Status JsonError(const Path& p, simdjson::error_code e) {
  return p.Error(absl::StrCat("malformed or truncated JSON (", simdjson::error_message(e), ")"));
}

std::string_view TypeName(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "unknown";
}

// `V` is od::value or od::document.
template <typename V>
absl::Status TypeError(V& v, const Path& p, std::string_view expected) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(p, e);
  return p.Error(absl::StrCat("expected ", ToAbsl(expected), ", got ", ToAbsl(TypeName(t))));
}

template <typename V>
absl::StatusOr<bool> IsNull(V& v, const Path& p) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(p, e);
  return t == od::json_type::null;
}

// Quotes a string for an error message, cut to a readable length and printable ASCII.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    const char c = s[i];
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(c);
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(static_cast<uint8_t>(c), absl::kZeroPad2));
    }
  }
  out.push_back('"');
  if (s.size() > kMax) absl::StrAppend(&out, "... (", s.size(), " chars)");
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a QUANTITY into *out if its value has at most `max_bits` bits (64 or 128); on failure
// returns why.
std::optional<std::string> ParseQuantityBits(std::string_view s, int max_bits, absl::uint128* out) {
  if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
    return absl::StrCat("invalid quantity: missing 0x prefix in ", Quote(s));
  }
  std::string_view digits = s.substr(2);
  if (digits.empty()) return std::string("invalid quantity: no digits after 0x");
  for (size_t i = 0; i < digits.size(); ++i) {
    if (HexValue(digits[i]) < 0) {
      return absl::StrCat("invalid quantity: non-hex character in ", Quote(s));
    }
  }
  if (digits.size() > 64) {
    return absl::StrCat("invalid quantity: ", digits.size(), " hex digits is more than 256 bits");
  }
  while (digits.size() > 1 && digits[0] == '0') digits.remove_prefix(1);
  const size_t bits = digits.size() * 4 - (4 - std::bit_width(unsigned(HexValue(digits[0]))));
  if (digits != "0" && bits > static_cast<size_t>(max_bits)) {
    return absl::StrCat("quantity ", Quote(s), " exceeds ", max_bits, " bits");
  }
  absl::uint128 v = 0;
  for (char c : digits) v = (v << 4) | static_cast<uint64_t>(HexValue(c));
  *out = v;
  return std::nullopt;
}

// Parses an unsigned decimal string into *out if it fits in `max_bits` (64 or 128) bits.
std::optional<std::string> ParseDecimalBits(std::string_view s, int max_bits, absl::uint128* out) {
  if (s.empty() || s.size() > 40) {
    return absl::StrCat("expected an unsigned decimal string, got ", Quote(s));
  }
  const absl::uint128 limit = max_bits == 64 ? absl::uint128(UINT64_MAX) : absl::Uint128Max();
  absl::uint128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return absl::StrCat("expected an unsigned decimal string, got ", Quote(s));
    }
    const unsigned d = static_cast<unsigned>(c - '0');
    if (v > (limit - d) / 10) {
      return absl::StrCat("decimal string ", Quote(s), " exceeds ", max_bits, " bits");
    }
    v = v * 10 + d;
  }
  *out = v;
  return std::nullopt;
}

absl::Status ReadString(od::value& v, const Path& p, std::string_view expected,
                        std::string_view* out) {
  const auto e = v.get_string().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, expected);
  if (e) return JsonError(p, e);
  return absl::OkStatus();
}

absl::Status ReadQuantity(od::value& v, const Path& p, absl::uint128* out) {
  std::string_view s;
  RETURN_IF_ERROR(ReadString(v, p, "a 0x-hex quantity string", &s));
  if (auto why = ParseQuantityBits(s, 128, out)) return p.Error(*why);
  return absl::OkStatus();
}

absl::Status ReadQuantity(od::value& v, const Path& p, uint64_t* out) {
  std::string_view s;
  RETURN_IF_ERROR(ReadString(v, p, "a 0x-hex quantity string", &s));
  absl::uint128 wide = 0;
  if (auto why = ParseQuantityBits(s, 64, &wide)) return p.Error(*why);
  *out = absl::Uint128Low64(wide);
  return absl::OkStatus();
}

absl::Status ReadDecimal(od::value& v, const Path& p, absl::uint128* out) {
  std::string_view s;
  RETURN_IF_ERROR(ReadString(v, p, "an unsigned decimal string", &s));
  if (auto why = ParseDecimalBits(s, 128, out)) return p.Error(*why);
  return absl::OkStatus();
}

absl::Status ReadDecimal(od::value& v, const Path& p, uint64_t* out) {
  std::string_view s;
  RETURN_IF_ERROR(ReadString(v, p, "an unsigned decimal string", &s));
  absl::uint128 wide = 0;
  if (auto why = ParseDecimalBits(s, 64, &wide)) return p.Error(*why);
  *out = absl::Uint128Low64(wide);
  return absl::OkStatus();
}

// Why `s` is not 0x-hex of exactly `n` bytes; nullopt if it is (then *out holds the bytes).
std::optional<std::string> ParseHexBytes(std::string_view s, size_t n, uint8_t* out) {
  if (s.size() < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
    return absl::StrCat("invalid hex: missing 0x prefix in ", Quote(s));
  }
  const std::string_view digits = s.substr(2);
  for (char c : digits) {
    if (HexValue(c) < 0) return absl::StrCat("invalid hex: non-hex character in ", Quote(s));
  }
  if (digits.size() != 2 * n) {
    return absl::StrCat("invalid hex: expected ", n, " bytes (", 2 * n, " hex digits), got ",
                        digits.size(), " hex digits");
  }
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(HexValue(digits[2 * i]) << 4 | HexValue(digits[2 * i + 1]));
  }
  return std::nullopt;
}

template <size_t N>
absl::Status ReadHex(od::value& v, const Path& p, std::array<uint8_t, N>* out) {
  std::string_view s;
  RETURN_IF_ERROR(ReadString(v, p, "a 0x-hex string", &s));
  if (auto why = ParseHexBytes(s, N, out->data())) return p.Error(*why);
  return absl::OkStatus();
}

// A 48-byte BLS pubkey, validated and kept as served.
absl::Status ReadPubkey(od::value& v, const Path& p, std::string* out) {
  std::string_view s;
  RETURN_IF_ERROR(ReadString(v, p, "a 0x-hex string", &s));
  std::array<uint8_t, 48> bytes;
  if (auto why = ParseHexBytes(s, bytes.size(), bytes.data())) return p.Error(*why);
  *out = std::string(s);
  return absl::OkStatus();
}

template <typename V>
absl::Status GetObject(V& v, const Path& p, od::object* out) {
  const auto e = v.get_object().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "an object");
  if (e) return JsonError(p, e);
  return absl::OkStatus();
}

template <typename V>
absl::Status GetArray(V& v, const Path& p, od::array* out) {
  const auto e = v.get_array().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "an array");
  if (e) return JsonError(p, e);
  return absl::OkStatus();
}

template <size_t N>
using Keys = std::array<std::string_view, N>;

constexpr uint32_t Bits(std::initializer_list<int> indices) {
  uint32_t m = 0;
  for (int i : indices) m |= uint32_t{1} << i;
  return m;
}

// Walks every field of `obj`; calls on_field(key_index, value, field_path) for listed keys, then
// reports the first key of the `required` mask that was absent.
template <size_t N, typename Fn>
absl::Status ForFields(od::object& obj, const Path& p, const Keys<N>& keys, uint32_t required,
                       Fn&& on_field) {
  static_assert(N <= 32);
  uint32_t seen = 0;
  for (auto field_result : obj) {
    od::field field;
    if (auto e = std::move(field_result).get(field)) return JsonError(p, e);
    const od::raw_json_string key = field.key();
    for (size_t i = 0; i < N; ++i) {
      if (key == keys[i]) {
        const Path fp(p, keys[i]);
        RETURN_IF_ERROR(on_field(static_cast<int>(i), field.value(), fp));
        seen |= uint32_t{1} << i;
        break;
      }
    }
  }
  if (const uint32_t missing = required & ~seen; missing != 0) {
    return Path(p, keys[std::countr_zero(missing)]).Error("missing required field");
  }
  return absl::OkStatus();
}

template <typename V, size_t N, typename Fn>
absl::Status ReadObject(V& v, const Path& p, const Keys<N>& keys, uint32_t required,
                        Fn&& on_field) {
  od::object obj;
  RETURN_IF_ERROR(GetObject(v, p, &obj));
  return ForFields(obj, p, keys, required, std::forward<Fn>(on_field));
}

// Calls on_elem(element, element_path) for each element of the array `v`.
template <typename V, typename Fn>
absl::Status ForElements(V& v, const Path& p, Fn&& on_elem) {
  od::array arr;
  RETURN_IF_ERROR(GetArray(v, p, &arr));
  size_t i = 0;
  for (auto elem_result : arr) {
    const Path ep(p, i);
    od::value elem;
    if (auto e = std::move(elem_result).get(elem)) return JsonError(ep, e);
    RETURN_IF_ERROR(on_elem(elem, ep));
    ++i;
  }
  return absl::OkStatus();
}

// Copies `body` into a padded buffer, parses it and calls decode_root(od::document&, root_path);
// then requires the end of input.
template <typename Fn>
absl::Status Decode(std::string_view method, std::string_view body, Fn&& decode_root) {
  const Path root(method);
  if (body.empty()) return root.Error("empty response body");
  thread_local od::parser parser;
  const simdjson::padded_string padded(body);
  if (padded.data() == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(ToAbsl(method), ": cannot allocate ", body.size(), " bytes"));
  }
  od::document doc;
  if (auto e = parser.iterate(padded).get(doc)) return JsonError(root, e);
  RETURN_IF_ERROR(decode_root(doc, root));
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return root.Error("trailing content after the JSON document");
  }
  return absl::OkStatus();
}

absl::StatusCode CodeForJsonRpcError(int64_t code) {
  switch (code) {
    case -32601:
      return absl::StatusCode::kUnimplemented;
    case -32005:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kUnknown;
  }
}

// Reads a JSON-RPC 2.0 response envelope; decode_result(od::value& result, const Path&) is
// called for a non-null "result". Sets *null_result when "result" is null.
template <typename Fn>
absl::Status DecodeEnvelope(od::document& doc, const Path& root,
                            std::optional<uint64_t> expected_id, bool* null_result,
                            Fn&& decode_result) {
  enum { kJsonRpc, kId, kResult, kError };
  static constexpr Keys<4> kKeys = {"jsonrpc", "id", "result", "error"};
  bool has_result = false;
  bool has_error = false;
  int64_t error_code = 0;
  std::string error_message;
  *null_result = false;
  od::object obj;
  RETURN_IF_ERROR(GetObject(doc, root, &obj));
  RETURN_IF_ERROR(
      ForFields(obj, root, kKeys, 0, [&](int k, od::value& v, const Path& fp) -> absl::Status {
        switch (k) {
          case kJsonRpc: {
            std::string_view version;
            RETURN_IF_ERROR(ReadString(v, fp, "a string", &version));
            if (version != "2.0") {
              return fp.Error(absl::StrCat("expected \"2.0\", got ", Quote(version)));
            }
            return absl::OkStatus();
          }
          case kId: {
            od::json_type t;
            if (auto e = v.type().get(t)) return JsonError(fp, e);
            if (t != od::json_type::number || !expected_id.has_value()) return absl::OkStatus();
            uint64_t id = 0;
            if (v.get_uint64().get(id) != simdjson::SUCCESS || id != *expected_id) {
              return fp.Error(
                  absl::StrCat("response id does not match the request id ", *expected_id));
            }
            return absl::OkStatus();
          }
          case kResult: {
            has_result = true;
            ASSIGN_OR_RETURN(const bool is_null, IsNull(v, fp));
            if (is_null) {
              *null_result = true;
              return absl::OkStatus();
            }
            return decode_result(v, fp);
          }
          default: {
            has_error = true;
            static constexpr Keys<2> kErrorKeys = {"code", "message"};
            return ReadObject(v, fp, kErrorKeys, Bits({0, 1}),
                              [&](int ek, od::value& ev, const Path& efp) -> absl::Status {
                                if (ek == 0) {
                                  const auto e = ev.get_int64().get(error_code);
                                  if (e == simdjson::INCORRECT_TYPE) {
                                    return TypeError(ev, efp, "an integer");
                                  }
                                  if (e) return JsonError(efp, e);
                                  return absl::OkStatus();
                                }
                                std::string_view msg;
                                RETURN_IF_ERROR(ReadString(ev, efp, "a string", &msg));
                                error_message = std::string(msg.substr(0, 500));
                                return absl::OkStatus();
                              });
          }
        }
      }));
  if (has_error && has_result) return root.Error("response has both \"result\" and \"error\"");
  if (has_error) {
    absl::Status status(
        CodeForJsonRpcError(error_code),
        absl::StrCat(ToAbsl(root.method()), ": JSON-RPC error ", error_code, ": ", error_message));
    status.SetPayload(kJsonRpcCodePayload, absl::Cord(absl::StrCat(error_code)));
    return status;
  }
  if (!has_result) return root.Error("response has neither \"result\" nor \"error\"");
  return absl::OkStatus();
}

absl::Status ReadTx(od::value& v, const Path& p, ExecTx* tx) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(p, e);
  if (t != od::json_type::object) {
    return p.Error(absl::StrCat(
        "expected a transaction object (request the block with full transactions), got ",
        ToAbsl(TypeName(t))));
  }
  enum { kHash, kFrom, kTo, kValue };
  static constexpr Keys<4> kKeys = {"hash", "from", "to", "value"};
  return ReadObject(v, p, kKeys, Bits({kHash, kFrom, kTo, kValue}),
                    [&](int k, od::value& f, const Path& fp) -> absl::Status {
                      switch (k) {
                        case kHash:
                          return ReadHex(f, fp, &tx->hash);
                        case kFrom:
                          return ReadHex(f, fp, &tx->from);
                        case kTo: {
                          ASSIGN_OR_RETURN(const bool to_null, IsNull(f, fp));
                          if (to_null) return absl::OkStatus();  // contract creation
                          return ReadHex(f, fp, &tx->to.emplace());
                        }
                        default:
                          return ReadQuantity(f, fp, &tx->value);
                      }
                    });
}

absl::Status ReadBlock(od::value& v, const Path& p, ExecBlock* block) {
  enum { kNumber, kHash, kMiner, kBaseFee, kGasUsed, kTransactions };
  static constexpr Keys<6> kKeys = {"number",        "hash",    "miner",
                                    "baseFeePerGas", "gasUsed", "transactions"};
  return ReadObject(v, p, kKeys, Bits({kNumber, kHash, kMiner, kBaseFee, kGasUsed, kTransactions}),
                    [&](int k, od::value& f, const Path& fp) -> absl::Status {
                      switch (k) {
                        case kNumber:
                          return ReadQuantity(f, fp, &block->number);
                        case kHash:
                          return ReadHex(f, fp, &block->hash);
                        case kMiner:
                          return ReadHex(f, fp, &block->miner);
                        case kBaseFee:
                          return ReadQuantity(f, fp, &block->base_fee_per_gas);
                        case kGasUsed:
                          return ReadQuantity(f, fp, &block->gas_used);
                        default:
                          return ForElements(f, fp, [&](od::value& e, const Path& ep) {
                            return ReadTx(e, ep, &block->transactions.emplace_back());
                          });
                      }
                    });
}

absl::Status ReadReceipt(od::value& v, const Path& p, ExecReceipt* r) {
  enum { kTxHash, kGasUsed, kPrice };
  static constexpr Keys<3> kKeys = {"transactionHash", "gasUsed", "effectiveGasPrice"};
  return ReadObject(v, p, kKeys, Bits({kTxHash, kGasUsed, kPrice}),
                    [&](int k, od::value& f, const Path& fp) -> absl::Status {
                      switch (k) {
                        case kTxHash:
                          return ReadHex(f, fp, &r->transaction_hash);
                        case kGasUsed:
                          return ReadQuantity(f, fp, &r->gas_used);
                        default:
                          return ReadQuantity(f, fp, &r->effective_gas_price);
                      }
                    });
}

absl::Status ReadDelivery(od::value& v, const Path& p, RelayDelivery* d) {
  enum { kSlot, kBlockHash, kBlockNumber, kFeeRecipient, kProposer, kValue, kBuilder };
  static constexpr Keys<7> kKeys = {
      "slot",  "block_hash",    "block_number", "proposer_fee_recipient", "proposer_pubkey",
      "value", "builder_pubkey"};
  return ReadObject(v, p, kKeys,
                    Bits({kSlot, kBlockHash, kFeeRecipient, kProposer, kValue, kBuilder}),
                    [&](int k, od::value& f, const Path& fp) -> absl::Status {
                      switch (k) {
                        case kSlot:
                          return ReadDecimal(f, fp, &d->slot);
                        case kBlockHash:
                          return ReadHex(f, fp, &d->block_hash);
                        case kBlockNumber:
                          return ReadDecimal(f, fp, &d->block_number);
                        case kFeeRecipient:
                          return ReadHex(f, fp, &d->proposer_fee_recipient);
                        case kProposer:
                          return ReadPubkey(f, fp, &d->proposer_pubkey);
                        case kValue:
                          return ReadDecimal(f, fp, &d->value);
                        default:
                          return ReadPubkey(f, fp, &d->builder_pubkey);
                      }
                    });
}

}  // namespace

absl::StatusOr<absl::uint128> ParseQuantity(std::string_view text) {
  absl::uint128 v = 0;
  if (auto why = ParseQuantityBits(text, 128, &v)) {
    return absl::InvalidArgumentError(*why);
  }
  return v;
}

std::optional<int64_t> JsonRpcErrorCode(const absl::Status& status) {
  const auto payload = status.GetPayload(kJsonRpcCodePayload);
  if (!payload.has_value()) return std::nullopt;
  int64_t code = 0;
  if (!absl::SimpleAtoi(std::string(*payload), &code)) return std::nullopt;
  return code;
}

absl::StatusOr<std::optional<ExecBlock>> DecodeGetBlockByNumber(
    std::string_view body, std::optional<uint64_t> expected_id) {
  std::optional<ExecBlock> out;
  bool null_result = false;
  RETURN_IF_ERROR(Decode("eth_getBlockByNumber", body, [&](od::document& doc, const Path& root) {
    return DecodeEnvelope(doc, root, expected_id, &null_result, [&](od::value& v, const Path& p) {
      return ReadBlock(v, p, &out.emplace());
    });
  }));
  if (null_result) out.reset();
  return out;
}

absl::StatusOr<std::optional<std::vector<ExecReceipt>>> DecodeGetBlockReceipts(
    std::string_view body, std::optional<uint64_t> expected_id) {
  std::optional<std::vector<ExecReceipt>> out;
  bool null_result = false;
  RETURN_IF_ERROR(Decode("eth_getBlockReceipts", body, [&](od::document& doc, const Path& root) {
    return DecodeEnvelope(doc, root, expected_id, &null_result, [&](od::value& v, const Path& p) {
      std::vector<ExecReceipt>& receipts = out.emplace();
      return ForElements(v, p, [&](od::value& e, const Path& ep) {
        return ReadReceipt(e, ep, &receipts.emplace_back());
      });
    });
  }));
  if (null_result) out.reset();
  return out;
}

absl::StatusOr<std::vector<RelayDelivery>> DecodeProposerPayloadDelivered(std::string_view body) {
  std::vector<RelayDelivery> out;
  RETURN_IF_ERROR(
      Decode("proposer_payload_delivered", body, [&](od::document& doc, const Path& root) {
        return ForElements(doc, root, [&](od::value& e, const Path& ep) {
          return ReadDelivery(e, ep, &out.emplace_back());
        });
      }));
  return out;
}

}  // namespace stakewatch::execution
