// Beacon API decoders on simdjson's on-demand API.
//
// Every decoder walks every field of every object it opens (unknown fields are skipped by the
// iterator), so a truncated document or an unbalanced object is always reached and reported;
// after the root object ends, anything but end of input is "trailing content". Errors are built
// from a Path chain that lives on the stack and is rendered only when something goes wrong, so
// the success path allocates nothing for error reporting.
#include "beacon/decode.h"

#include <simdjson.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/strings.h"

namespace stakewatch::beacon {
namespace {

namespace od = simdjson::ondemand;

static_assert(kBodyPadding == simdjson::SIMDJSON_PADDING);

// Largest SSZ Bitlist[MAX_VALIDATORS_PER_COMMITTEE * MAX_COMMITTEES_PER_SLOT] (Electra), with
// its length bit: 131072 bits + 1 -> 16385 bytes. Guards against absurd allocations.
constexpr size_t kMaxAggregationBitsBytes = 131072 / 8 + 1;

// Largest IndexedAttestation.attesting_indices (Electra: MAX_VALIDATORS_PER_COMMITTEE *
// MAX_COMMITTEES_PER_SLOT; 2048 before Electra).
constexpr size_t kMaxAttestingIndices = 131072;

// ---------------------------------------------------------------------------------------------
// Error paths.

// One step of a JSON path ("data", "[3]", ...), linked to its parent on the caller's stack.
// REQUIRES: the parent outlives the child (always true for the stack discipline used here).
class Path {
 public:
  explicit Path(std::string_view endpoint) : endpoint_(endpoint) {}
  Path(const Path& parent, std::string_view key)
      : parent_(&parent), endpoint_(parent.endpoint_), key_(key) {}
  Path(const Path& parent, size_t index)
      : parent_(&parent), endpoint_(parent.endpoint_), index_(index), is_index_(true) {}
  Path(const Path&) = delete;
  Path& operator=(const Path&) = delete;

  // "endpoint: a.b[3].c: msg" (the path part is left out at the document root).
  absl::Status Error(std::string_view msg) const {
    std::string path;
    Append(&path);
    if (path.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(endpoint_), ": ", ToAbsl(msg)));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(endpoint_), ": ", path, ": ", ToAbsl(msg)));
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
  std::string_view endpoint_;
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

// The error for a value of the wrong JSON type. `V` is od::value or od::document.
template <typename V>
absl::Status TypeError(V& v, const Path& p, std::string_view expected) {
  od::json_type t;
  if (auto e = v.type().get(t)) return JsonError(p, e);
  return p.Error(absl::StrCat("expected ", ToAbsl(expected), ", got ", ToAbsl(TypeName(t))));
}

// Quotes a string for an error message, cut to a readable length.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 40;
  if (s.size() <= kMax) return absl::StrCat("\"", ToAbsl(s), "\"");
  return absl::StrCat("\"", ToAbsl(s.substr(0, kMax)), "...\" (", s.size(), " chars)");
}

// ---------------------------------------------------------------------------------------------
// Scalars.

constexpr std::array<int8_t, 256> MakeHexTable() {
  std::array<int8_t, 256> t{};
  for (auto& x : t) x = -1;
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<int8_t>(i);
  for (int i = 0; i < 6; ++i) {
    t['a' + i] = static_cast<int8_t>(10 + i);
    t['A' + i] = static_cast<int8_t>(10 + i);
  }
  return t;
}
constexpr std::array<int8_t, 256> kHexValue = MakeHexTable();

// Decodes 2*n hex digits at `s`; false if any is not a hex digit.
bool DecodeHexDigits(const char* s, size_t n, uint8_t* out) {
  int bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const int hi = kHexValue[static_cast<uint8_t>(s[2 * i])];
    const int lo = kHexValue[static_cast<uint8_t>(s[2 * i + 1])];
    bad |= hi | lo;  // negative iff some digit was invalid
    out[i] = static_cast<uint8_t>(((hi & 0xf) << 4) | (lo & 0xf));
  }
  return bad >= 0;
}

// Why `hex` is not 0x-hex of `want` bytes (want == SIZE_MAX: any length). Called on failure only.
std::string HexProblem(std::string_view hex, size_t want) {
  if (hex.size() < 2 || hex[0] != '0' || hex[1] != 'x') {
    return absl::StrCat("invalid hex: missing 0x prefix in ", Quote(hex));
  }
  const std::string_view digits = hex.substr(2);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (kHexValue[static_cast<uint8_t>(digits[i])] < 0) {
      const char c = digits[i];
      const std::string shown =
          (c >= 0x20 && c < 0x7f) ? std::string(1, c) : absl::StrCat("\\x", absl::Hex(uint8_t(c)));
      return absl::StrCat("invalid hex: non-hex character '", shown, "' at offset ", i + 2);
    }
  }
  if (digits.size() % 2 != 0) {
    return absl::StrCat("invalid hex: odd number of hex digits (", digits.size(), ")");
  }
  if (want != SIZE_MAX && digits.size() != 2 * want) {
    return absl::StrCat("invalid hex: expected ", want, " bytes, got ", digits.size() / 2);
  }
  return "invalid hex";
}

// Digit run of known length 1..20 (all digits) to uint64; false on overflow.
inline bool DigitsToU64(const char* s, size_t n, uint64_t* out) {
  uint64_t v = 0;
  const size_t safe = n < 19 ? n : 19;  // 19 digits never overflow
  for (size_t i = 0; i < safe; ++i) v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  if (n == 20) {
    if (__builtin_mul_overflow(v, uint64_t{10}, &v) ||
        __builtin_add_overflow(v, static_cast<uint64_t>(s[19] - '0'), &v)) {
      return false;
    }
  }
  *out = v;
  return true;
}

inline bool IsDigit(char c) { return static_cast<unsigned>(c - '0') <= 9; }

// Parses the decimal contents of a JSON string whose opening quote precedes `s`. The string is
// known to be closed by a '"' (simdjson validated the token), so the scan is bounded.
inline bool ParseQuotedU64Slow(const char* s, uint64_t* out) {
  size_t n = 0;
  while (n <= 20 && IsDigit(s[n])) ++n;
  if (n == 0 || n > 20 || s[n] != '"') return false;
  return DigitsToU64(s, n, out);
}

// As ParseQuotedU64Slow, with a SWAR fast path for up to 7 digits (every validator index, slot
// and epoch in practice). It loads 8 bytes at `s`: the closing quote is within the input, and
// the input is followed by kBodyPadding readable bytes.
inline bool ParseQuotedU64(const char* s, uint64_t* out) {
  if constexpr (std::endian::native == std::endian::little) {
    uint64_t chunk;
    std::memcpy(&chunk, s, sizeof(chunk));
    const uint64_t x = chunk ^ 0x3030303030303030u;  // digit bytes become 0..9
    // High bit of each byte that is not a digit (x > 9). Carries only move upwards and only out
    // of bytes already flagged by `| x`, so the lowest flagged byte is exact.
    const uint64_t non_digit = ((x + 0x7676767676767676u) | x) & 0x8080808080808080u;
    if (non_digit != 0) {
      const int n = std::countr_zero(non_digit) / 8;
      if (n == 0 || s[n] != '"') return false;
      // Left-align the n digits into 8 (leading zero digits), then combine pairs, quads, eights.
      uint64_t v = x << (8 * (8 - n));
      v = (v * 10) + (v >> 8);
      v = (((v & 0x000000FF000000FFu) * (100 + (1000000ull << 32))) +
           (((v >> 16) & 0x000000FF000000FFu) * (1 + (10000ull << 32)))) >>
          32;
      *out = static_cast<uint32_t>(v);
      return true;
    }
  }
  return ParseQuotedU64Slow(s, out);
}

// Error for a string that ParseQuotedU64 rejected; `s` as in ParseQuotedU64.
absl::Status DecimalError(const Path& p, const char* s) {
  size_t len = 0;
  while (s[len] != '"' && len < 64) ++len;  // bounded by the closing quote
  const std::string_view str(s, len);
  bool all_digits = !str.empty();
  for (char c : str) all_digits = all_digits && IsDigit(c);
  if (all_digits && len < 64) {
    return p.Error(absl::StrCat("decimal string ", Quote(str), " exceeds uint64"));
  }
  return p.Error(absl::StrCat("expected an unsigned decimal string, got ", Quote(str)));
}

absl::Status ReadU64(od::value& v, const Path& p, uint64_t* out) {
  od::raw_json_string raw;
  const auto e = v.get_raw_json_string().get(raw);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "a decimal string");
  if (e) return JsonError(p, e);
  if (!ParseQuotedU64(raw.raw(), out)) return DecimalError(p, raw.raw());
  return absl::OkStatus();
}

// A signed decimal string ("-123", "0", "42"): an optional '-' then 1 to 19 digits, within
// int64. Reward values are the only signed numbers in the API.
absl::Status ReadI64(od::value& v, const Path& p, int64_t* out) {
  std::string_view s;
  const auto e = v.get_string().get(s);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "a signed decimal string");
  if (e) return JsonError(p, e);
  const bool negative = !s.empty() && s[0] == '-';
  const std::string_view digits = negative ? s.substr(1) : s;
  bool all_digits = !digits.empty() && digits.size() <= 20;
  for (char c : digits) all_digits = all_digits && IsDigit(c);
  uint64_t magnitude = 0;
  if (!all_digits) {
    return p.Error(absl::StrCat("expected a signed decimal string, got ", Quote(s)));
  }
  constexpr uint64_t kMaxPositive = uint64_t{INT64_MAX};
  if (!DigitsToU64(digits.data(), digits.size(), &magnitude) ||
      magnitude > kMaxPositive + (negative ? 1 : 0)) {
    return p.Error(absl::StrCat("decimal string ", Quote(s), " exceeds int64"));
  }
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return absl::OkStatus();
}

absl::Status ReadBool(od::value& v, const Path& p, bool* out) {
  const auto e = v.get_bool().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "a boolean");
  if (e) return JsonError(p, e);
  return absl::OkStatus();
}

// The unescaped string; the view lives as long as the parser's document.
absl::Status ReadString(od::value& v, const Path& p, std::string_view* out) {
  const auto e = v.get_string().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "a string");
  if (e) return JsonError(p, e);
  return absl::OkStatus();
}

absl::Status ReadHexInto(od::value& v, const Path& p, uint8_t* out, size_t n) {
  std::string_view s;
  const auto e = v.get_string().get(s);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "a 0x-hex string");
  if (e) return JsonError(p, e);
  if (!ParseHexInto(s, out, n)) return p.Error(HexProblem(s, n));
  return absl::OkStatus();
}

template <size_t N>
absl::Status ReadHex(od::value& v, const Path& p, std::array<uint8_t, N>* out) {
  return ReadHexInto(v, p, out->data(), N);
}

absl::Status ReadHexBytes(od::value& v, const Path& p, std::vector<uint8_t>* out) {
  std::string_view s;
  const auto e = v.get_string().get(s);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "a 0x-hex string");
  if (e) return JsonError(p, e);
  if (!ParseHexBytes(s, out)) return p.Error(HexProblem(s, SIZE_MAX));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Containers.

template <typename V>
absl::Status GetObject(V& v, const Path& p, od::object* out) {
  const auto e = v.get_object().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "an object");
  if (e) return JsonError(p, e);
  return absl::OkStatus();
}

absl::Status GetArray(od::value& v, const Path& p, od::array* out) {
  const auto e = v.get_array().get(*out);
  if (e == simdjson::INCORRECT_TYPE) return TypeError(v, p, "an array");
  if (e) return JsonError(p, e);
  return absl::OkStatus();
}

template <size_t N>
using Keys = std::array<std::string_view, N>;

// Bit mask of key indices, for the `required` argument of ForFields.
constexpr uint32_t Bits(std::initializer_list<int> indices) {
  uint32_t m = 0;
  for (int i : indices) m |= uint32_t{1} << i;
  return m;
}

// Walks every field of `obj`. For a key listed in `keys`, calls
// on_field(int key_index, od::value& value, const Path& field_path) -> absl::Status; other keys
// are skipped. Then reports the first key of `required` (a mask over `keys`) that was absent.
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

// GetObject then ForFields.
template <typename V, size_t N, typename Fn>
absl::Status ReadObject(V& v, const Path& p, const Keys<N>& keys, uint32_t required,
                        Fn&& on_field) {
  od::object obj;
  RETURN_IF_ERROR(GetObject(v, p, &obj));
  return ForFields(obj, p, keys, required, std::forward<Fn>(on_field));
}

// Calls on_elem(od::value& element, const Path& element_path) for each element of an array.
template <typename Fn>
absl::Status ForElements(od::value& v, const Path& p, Fn&& on_elem) {
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

// ---------------------------------------------------------------------------------------------
// Driver: size checks, padding, parser, root object, trailing content.

absl::Status CheckBodySize(std::string_view endpoint, std::string_view body) {
  if (body.size() > kMaxResponseBytes) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(endpoint), ": response body of ",
                                                   body.size(), " bytes exceeds the limit of ",
                                                   kMaxResponseBytes, " bytes"));
  }
  if (body.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(ToAbsl(endpoint), ": empty response body"));
  }
  return absl::OkStatus();
}

// Bodies up to this size are parsed by a per-thread parser and (for the std::string_view
// overloads) copied into a per-thread buffer, both kept between calls. Fresh multi-megabyte
// buffers cost more in page faults than the parse itself (measured: a 10 MB committees decode
// took 2x longer with a new parser per call). Larger bodies get their own, freed after the call.
constexpr size_t kReuseLimitBytes = 16 << 20;

// Per-thread reusable state. The decoders never re-enter one another, so one set per thread is
// enough.
struct ThreadScratch {
  od::parser parser;  // allocates on first use; capacity only grows (up to kReuseLimitBytes)
  std::string copy;   // padded copy of the body for the std::string_view overloads
};

ThreadScratch& Scratch() {
  thread_local ThreadScratch scratch;
  return scratch;
}

// Parses `body` (padded) and calls decode_root(od::object& root, const Path& root_path, T* out).
template <typename T, typename Fn>
absl::StatusOr<T> DecodePadded(std::string_view endpoint, PaddedBody padded, Fn&& decode_root) {
  const std::string_view body = padded.body();
  RETURN_IF_ERROR(CheckBodySize(endpoint, body));
  const Path root(endpoint);
  std::optional<od::parser> own_parser;
  od::parser* parser = &Scratch().parser;
  if (body.size() > kReuseLimitBytes) parser = &own_parser.emplace();
  od::document doc;
  if (auto e = parser->iterate(body.data(), body.size(), body.size() + kBodyPadding).get(doc)) {
    return JsonError(root, e);
  }
  od::object obj;
  RETURN_IF_ERROR(GetObject(doc, root, &obj));
  T out{};
  RETURN_IF_ERROR(decode_root(obj, root, &out));
  // The root object has been walked to its closing brace; only the end of input may follow.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return root.Error("trailing content after the JSON document");
  }
  return out;
}

// Copies `body` into a padded buffer (after the size checks, so a huge body is rejected before
// it is copied) and decodes it.
template <typename T, typename Fn>
absl::StatusOr<T> DecodeCopy(std::string_view endpoint, std::string_view body, Fn&& decode_root) {
  RETURN_IF_ERROR(CheckBodySize(endpoint, body));
  if (body.size() <= kReuseLimitBytes) {
    std::string& copy = Scratch().copy;
    copy.reserve(body.size() + kBodyPadding);
    copy.assign(body.data(), body.size());
    return DecodePadded<T>(endpoint, PaddedBody::Of(&copy), std::forward<Fn>(decode_root));
  }
  const simdjson::padded_string copy(body);
  if (copy.data() == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat(ToAbsl(endpoint), ": cannot allocate ", body.size(), " bytes"));
  }
  return DecodePadded<T>(endpoint, PaddedBody::AssumePadded(std::string_view(copy)),
                         std::forward<Fn>(decode_root));
}

// ---------------------------------------------------------------------------------------------
// Shared pieces.

// A JSON array of decimal-string indices into `*scratch` (cleared first). Defined with the
// committees decoder, whose hot path it is.
absl::Status ReadValidatorIndices(od::value& v, const Path& p, std::vector<uint64_t>* scratch);

// Forks in order; kUnknown for a version string this code does not know (decoded leniently).
enum class Fork { kUnknown = -1, kPhase0, kAltair, kBellatrix, kCapella, kDeneb, kElectra, kFulu };

Fork ForkOf(std::string_view version) {
  static constexpr std::pair<std::string_view, Fork> kForks[] = {
      {"phase0", Fork::kPhase0},   {"altair", Fork::kAltair}, {"bellatrix", Fork::kBellatrix},
      {"capella", Fork::kCapella}, {"deneb", Fork::kDeneb},   {"electra", Fork::kElectra},
      {"fulu", Fork::kFulu}};
  for (const auto& [name, fork] : kForks) {
    if (version == name) return fork;
  }
  return Fork::kUnknown;
}

bool AtLeast(Fork f, Fork min) {
  return f != Fork::kUnknown && static_cast<int>(f) >= static_cast<int>(min);
}

absl::Status ReadCheckpoint(od::value& v, const Path& p, Checkpoint* out) {
  static constexpr Keys<2> kKeys = {"epoch", "root"};
  return ReadObject(v, p, kKeys, Bits({0, 1}), [&](int k, od::value& f, const Path& fp) {
    return k == 0 ? ReadU64(f, fp, &out->epoch) : ReadHex(f, fp, &out->root);
  });
}

absl::Status ReadAttestationData(od::value& v, const Path& p, AttestationData* out) {
  enum { kSlot, kIndex, kRoot, kSource, kTarget };
  static constexpr Keys<5> kKeys = {"slot", "index", "beacon_block_root", "source", "target"};
  return ReadObject(v, p, kKeys, Bits({kSlot, kIndex, kRoot, kSource, kTarget}),
                    [&](int k, od::value& f, const Path& fp) -> absl::Status {
                      switch (k) {
                        case kSlot:
                          return ReadU64(f, fp, &out->slot);
                        case kIndex:
                          return ReadU64(f, fp, &out->index);
                        case kRoot:
                          return ReadHex(f, fp, &out->beacon_block_root);
                        case kSource:
                          return ReadCheckpoint(f, fp, &out->source);
                        default:
                          return ReadCheckpoint(f, fp, &out->target);
                      }
                    });
}

absl::Status ReadAttestation(od::value& v, const Path& p, Attestation* out) {
  enum { kBits, kData, kCommitteeBits };
  static constexpr Keys<3> kKeys = {"aggregation_bits", "data", "committee_bits"};
  return ReadObject(
      v, p, kKeys, Bits({kBits, kData}), [&](int k, od::value& f, const Path& fp) -> absl::Status {
        switch (k) {
          case kBits: {
            RETURN_IF_ERROR(ReadHexBytes(f, fp, &out->aggregation_bits));
            if (out->aggregation_bits.empty() || out->aggregation_bits.back() == 0) {
              return fp.Error("bitlist has no length bit (empty, or last byte is zero)");
            }
            if (out->aggregation_bits.size() > kMaxAggregationBitsBytes) {
              return fp.Error(absl::StrCat("bitlist of ", out->aggregation_bits.size(),
                                           " bytes exceeds the maximum of ",
                                           kMaxAggregationBitsBytes));
            }
            return absl::OkStatus();
          }
          case kData:
            return ReadAttestationData(f, fp, &out->data);
          default: {
            std::array<uint8_t, 8> bytes;
            RETURN_IF_ERROR(ReadHex(f, fp, &bytes));
            uint64_t bits = 0;
            for (size_t i = 0; i < bytes.size(); ++i) bits |= uint64_t{bytes[i]} << (8 * i);
            out->committee_bits = bits;
            return absl::OkStatus();
          }
        }
      });
}

absl::Status ReadAttestations(od::value& v, const Path& p, std::vector<Attestation>* out) {
  return ForElements(v, p, [&](od::value& e, const Path& ep) {
    out->emplace_back();
    return ReadAttestation(e, ep, &out->back());
  });
}

// Electra changed the attestation type: committee_bits is required from Electra on and does not
// exist before it. `list` is the path of the attestation array.
absl::Status CheckCommitteeBits(const std::vector<Attestation>& atts, Fork fork,
                                std::string_view version, const Path& list) {
  if (fork == Fork::kUnknown) return absl::OkStatus();
  const bool electra = AtLeast(fork, Fork::kElectra);
  for (size_t i = 0; i < atts.size(); ++i) {
    if (atts[i].committee_bits.has_value() == electra) continue;
    const Path ap(list, i);
    const Path cp(ap, "committee_bits");
    return cp.Error(electra ? absl::StrCat("missing required field for version ", ToAbsl(version))
                            : absl::StrCat("unexpected field for version ", ToAbsl(version),
                                           " (committee_bits exists from electra on)"));
  }
  return absl::OkStatus();
}

// Which optional body fields a block had: for the per-fork checks, and to infer the fork of a
// bare signed block that came without a "version".
struct BodyShape {
  bool sync_aggregate = false;
  bool payload = false;  // execution_payload or execution_payload_header
  bool blinded = false;  // it was execution_payload_header
  bool withdrawals = false;
  bool bls_changes = false;
  bool blob_commitments = false;
  bool execution_requests = false;
};

absl::Status ReadWithdrawal(od::value& v, const Path& p, Withdrawal* out) {
  enum { kIndex, kValidator, kAddress, kAmount };
  static constexpr Keys<4> kKeys = {"index", "validator_index", "address", "amount"};
  return ReadObject(v, p, kKeys, Bits({kIndex, kValidator, kAddress, kAmount}),
                    [&](int k, od::value& f, const Path& fp) -> absl::Status {
                      switch (k) {
                        case kIndex:
                          return ReadU64(f, fp, &out->index);
                        case kValidator:
                          return ReadU64(f, fp, &out->validator_index);
                        case kAddress:
                          return ReadHex(f, fp, &out->address);
                        default:
                          return ReadU64(f, fp, &out->amount);
                      }
                    });
}

// execution_payload, or (blinded) execution_payload_header, which has withdrawals_root instead
// of withdrawals.
absl::Status ReadPayload(od::value& v, const Path& p, bool blinded, ExecutionPayloadSummary* out,
                         BodyShape* shape) {
  enum { kFeeRecipient, kBlockNumber, kBlockHash, kWithdrawals };
  static constexpr Keys<4> kKeys = {"fee_recipient", "block_number", "block_hash", "withdrawals"};
  out->blinded = blinded;
  return ReadObject(v, p, kKeys, Bits({kFeeRecipient, kBlockNumber, kBlockHash}),
                    [&](int k, od::value& f, const Path& fp) -> absl::Status {
                      switch (k) {
                        case kFeeRecipient:
                          return ReadHex(f, fp, &out->fee_recipient);
                        case kBlockNumber:
                          return ReadU64(f, fp, &out->block_number);
                        case kBlockHash:
                          return ReadHex(f, fp, &out->block_hash);
                        default:
                          if (blinded)
                            return absl::OkStatus();  // not part of the header type; ignore
                          shape->withdrawals = true;
                          out->withdrawals.reserve(16);  // MAX_WITHDRAWALS_PER_PAYLOAD
                          return ForElements(f, fp, [&](od::value& e, const Path& ep) {
                            out->withdrawals.emplace_back();
                            return ReadWithdrawal(e, ep, &out->withdrawals.back());
                          });
                      }
                    });
}

// SignedBeaconBlockHeader -> message.proposer_index (the other header fields are not needed).
absl::Status ReadSignedHeaderProposer(od::value& v, const Path& p, ValidatorIndex* out) {
  static constexpr Keys<1> kSigned = {"message"};
  return ReadObject(v, p, kSigned, Bits({0}), [&](int, od::value& m, const Path& mp) {
    static constexpr Keys<1> kMsg = {"proposer_index"};
    return ReadObject(m, mp, kMsg, Bits({0}),
                      [&](int, od::value& g, const Path& gp) { return ReadU64(g, gp, out); });
  });
}

// body.proposer_slashings: the slashed proposer of each, after checking that both headers name
// the same one (consensus-specs process_proposer_slashing).
absl::Status ReadProposerSlashings(od::value& v, const Path& p, std::vector<ValidatorIndex>* out) {
  return ForElements(v, p, [&](od::value& e, const Path& ep) -> absl::Status {
    ValidatorIndex proposer[2] = {0, 0};
    static constexpr Keys<2> kKeys = {"signed_header_1", "signed_header_2"};
    RETURN_IF_ERROR(
        ReadObject(e, ep, kKeys, Bits({0, 1}), [&](int k, od::value& f, const Path& fp) {
          return ReadSignedHeaderProposer(f, fp, &proposer[k]);
        }));
    if (proposer[0] != proposer[1]) {
      const Path hp(ep, "signed_header_2");
      const Path mp(hp, "message");
      return Path(mp, "proposer_index")
          .Error(absl::StrCat("names proposer ", proposer[1], " but signed_header_1 names ",
                              proposer[0], " (a proposer slashing needs one proposer)"));
    }
    out->push_back(proposer[0]);
    return absl::OkStatus();
  });
}

// IndexedAttestation -> attesting_indices, sorted and deduplicated (the spec requires them
// sorted and unique already; a block that breaks this is invalid, but the set is what matters).
absl::Status ReadAttestingIndices(od::value& v, const Path& p, std::vector<uint64_t>* out) {
  static constexpr Keys<1> kKeys = {"attesting_indices"};
  return ReadObject(v, p, kKeys, Bits({0}), [&](int, od::value& f, const Path& fp) {
    RETURN_IF_ERROR(ReadValidatorIndices(f, fp, out));
    if (out->size() > kMaxAttestingIndices) {
      return fp.Error(
          absl::StrCat(out->size(), " indices exceed the maximum of ", kMaxAttestingIndices));
    }
    std::sort(out->begin(), out->end());
    out->erase(std::unique(out->begin(), out->end()), out->end());
    return absl::OkStatus();
  });
}

// body.attester_slashings: appends each slashing's intersection of the two attestations'
// indices to `out` (unsorted across slashings; the caller sorts and deduplicates).
absl::Status ReadAttesterSlashings(od::value& v, const Path& p, std::vector<ValidatorIndex>* out) {
  std::vector<uint64_t> indices[2];
  return ForElements(v, p, [&](od::value& e, const Path& ep) -> absl::Status {
    static constexpr Keys<2> kKeys = {"attestation_1", "attestation_2"};
    RETURN_IF_ERROR(
        ReadObject(e, ep, kKeys, Bits({0, 1}), [&](int k, od::value& f, const Path& fp) {
          return ReadAttestingIndices(f, fp, &indices[k]);
        }));
    std::set_intersection(indices[0].begin(), indices[0].end(), indices[1].begin(),
                          indices[1].end(), std::back_inserter(*out));
    return absl::OkStatus();
  });
}

// body.deposits[i].data.{pubkey, amount}.
absl::Status ReadDeposits(od::value& v, const Path& p, std::vector<DepositSummary>* out) {
  return ForElements(v, p, [&](od::value& e, const Path& ep) {
    out->emplace_back();
    DepositSummary& d = out->back();
    static constexpr Keys<1> kDeposit = {"data"};
    return ReadObject(e, ep, kDeposit, Bits({0}), [&](int, od::value& f, const Path& fp) {
      static constexpr Keys<2> kData = {"pubkey", "amount"};
      return ReadObject(f, fp, kData, Bits({0, 1}),
                        [&](int k, od::value& g, const Path& gp) -> absl::Status {
                          if (k == 0) return ReadHex(g, gp, &d.pubkey);
                          return ReadU64(g, gp, &d.amount);
                        });
    });
  });
}

// Electra body.execution_requests {deposits, withdrawals, consolidations}, all required.
absl::Status ReadExecutionRequests(od::value& v, const Path& p, ExecutionRequests* out) {
  enum { kDeposits, kWithdrawals, kConsolidations };
  static constexpr Keys<3> kKeys = {"deposits", "withdrawals", "consolidations"};
  return ReadObject(
      v, p, kKeys, Bits({kDeposits, kWithdrawals, kConsolidations}),
      [&](int k, od::value& f, const Path& fp) -> absl::Status {
        switch (k) {
          case kDeposits:
            return ForElements(f, fp, [&](od::value& e, const Path& ep) {
              out->deposits.emplace_back();
              DepositRequest& d = out->deposits.back();
              enum { kPubkey, kCredentials, kAmount, kIndex };
              static constexpr Keys<4> kReq = {"pubkey", "withdrawal_credentials", "amount",
                                               "index"};
              return ReadObject(e, ep, kReq, Bits({kPubkey, kCredentials, kAmount, kIndex}),
                                [&](int j, od::value& g, const Path& gp) -> absl::Status {
                                  switch (j) {
                                    case kPubkey:
                                      return ReadHex(g, gp, &d.pubkey);
                                    case kCredentials:
                                      return ReadHex(g, gp, &d.withdrawal_credentials);
                                    case kAmount:
                                      return ReadU64(g, gp, &d.amount);
                                    default:
                                      return ReadU64(g, gp, &d.index);
                                  }
                                });
            });
          case kWithdrawals:
            return ForElements(f, fp, [&](od::value& e, const Path& ep) {
              out->withdrawals.emplace_back();
              WithdrawalRequest& w = out->withdrawals.back();
              enum { kSource, kPubkey, kAmount };
              static constexpr Keys<3> kReq = {"source_address", "validator_pubkey", "amount"};
              return ReadObject(e, ep, kReq, Bits({kSource, kPubkey, kAmount}),
                                [&](int j, od::value& g, const Path& gp) -> absl::Status {
                                  switch (j) {
                                    case kSource:
                                      return ReadHex(g, gp, &w.source_address);
                                    case kPubkey:
                                      return ReadHex(g, gp, &w.validator_pubkey);
                                    default:
                                      return ReadU64(g, gp, &w.amount);
                                  }
                                });
            });
          default:
            return ForElements(f, fp, [&](od::value& e, const Path& ep) {
              out->consolidations.emplace_back();
              ConsolidationRequest& c = out->consolidations.back();
              enum { kSource, kFrom, kTo };
              static constexpr Keys<3> kReq = {"source_address", "source_pubkey", "target_pubkey"};
              return ReadObject(e, ep, kReq, Bits({kSource, kFrom, kTo}),
                                [&](int j, od::value& g, const Path& gp) -> absl::Status {
                                  switch (j) {
                                    case kSource:
                                      return ReadHex(g, gp, &c.source_address);
                                    case kFrom:
                                      return ReadHex(g, gp, &c.source_pubkey);
                                    default:
                                      return ReadHex(g, gp, &c.target_pubkey);
                                  }
                                });
            });
        }
      });
}

absl::Status ReadBody(od::value& v, const Path& p, Block* out, BodyShape* shape) {
  enum {
    kAttestations,
    kSyncAggregate,
    kPayload,
    kPayloadHeader,
    kBlsChanges,
    kBlobCommitments,
    kExecutionRequests,
    kProposerSlashings,
    kAttesterSlashings,
    kDeposits
  };
  static constexpr Keys<10> kKeys = {"attestations",
                                     "sync_aggregate",
                                     "execution_payload",
                                     "execution_payload_header",
                                     "bls_to_execution_changes",
                                     "blob_kzg_commitments",
                                     "execution_requests",
                                     "proposer_slashings",
                                     "attester_slashings",
                                     "deposits"};
  RETURN_IF_ERROR(ReadObject(
      v, p, kKeys, Bits({kAttestations}), [&](int k, od::value& f, const Path& fp) -> absl::Status {
        switch (k) {
          case kAttestations:
            out->attestations.reserve(128);  // MAX_ATTESTATIONS before Electra (8 after)
            return ReadAttestations(f, fp, &out->attestations);
          case kSyncAggregate: {
            shape->sync_aggregate = true;
            static constexpr Keys<1> kSyncKeys = {"sync_committee_bits"};
            out->sync_aggregate.emplace();
            return ReadObject(f, fp, kSyncKeys, Bits({0}), [&](int, od::value& b, const Path& bp) {
              return ReadHex(b, bp, &out->sync_aggregate->sync_committee_bits);
            });
          }
          case kPayload:
          case kPayloadHeader:
            if (shape->payload) {
              return fp.Error(
                  "a body cannot have both execution_payload and "
                  "execution_payload_header");
            }
            shape->payload = true;
            shape->blinded = k == kPayloadHeader;
            out->execution_payload.emplace();
            return ReadPayload(f, fp, shape->blinded, &*out->execution_payload, shape);
          case kBlsChanges:
            shape->bls_changes = true;  // presence only (the value is skipped)
            return absl::OkStatus();
          case kBlobCommitments:
            shape->blob_commitments = true;
            return absl::OkStatus();
          case kExecutionRequests:
            shape->execution_requests = true;
            out->execution_requests.emplace();
            return ReadExecutionRequests(f, fp, &*out->execution_requests);
          case kProposerSlashings:
            return ReadProposerSlashings(f, fp, &out->proposer_slashings);
          case kAttesterSlashings:
            return ReadAttesterSlashings(f, fp, &out->attester_slashed);
          default:
            return ReadDeposits(f, fp, &out->deposits);
        }
      }));
  std::vector<ValidatorIndex>& slashed = out->attester_slashed;
  std::sort(slashed.begin(), slashed.end());
  slashed.erase(std::unique(slashed.begin(), slashed.end()), slashed.end());
  return absl::OkStatus();
}

// BeaconBlock or BlindedBeaconBlock: {slot, proposer_index, parent_root, state_root, body}.
absl::Status ReadBeaconBlock(od::value& v, const Path& p, Block* out, BodyShape* shape) {
  enum { kSlot, kProposer, kParent, kState, kBody };
  static constexpr Keys<5> kKeys = {"slot", "proposer_index", "parent_root", "state_root", "body"};
  return ReadObject(v, p, kKeys, Bits({kSlot, kProposer, kParent, kState, kBody}),
                    [&](int k, od::value& f, const Path& fp) -> absl::Status {
                      switch (k) {
                        case kSlot:
                          return ReadU64(f, fp, &out->slot);
                        case kProposer:
                          return ReadU64(f, fp, &out->proposer_index);
                        case kParent:
                          return ReadHex(f, fp, &out->parent_root);
                        case kState:
                          return ReadHex(f, fp, &out->state_root);
                        default:
                          return ReadBody(f, fp, out, shape);
                      }
                    });
}

// The earliest fork whose block body has the fields seen.
std::string_view InferVersion(const BodyShape& s) {
  if (s.execution_requests) return "electra";
  if (s.blob_commitments) return "deneb";
  if (s.bls_changes) return "capella";
  if (s.payload) return "bellatrix";
  if (s.sync_aggregate) return "altair";
  return "phase0";
}

absl::Status CheckBlockForFork(const Block& b, const BodyShape& shape, const Path& body) {
  const Fork fork = ForkOf(b.version);
  const auto missing = [&](const Path& fp) {
    return fp.Error(absl::StrCat("missing required field for version ", b.version));
  };
  if (AtLeast(fork, Fork::kAltair) && !shape.sync_aggregate) {
    return missing(Path(body, "sync_aggregate"));
  }
  if (AtLeast(fork, Fork::kBellatrix) && !shape.payload) {
    return missing(Path(body, "execution_payload"));
  }
  if (AtLeast(fork, Fork::kCapella) && shape.payload && !shape.blinded && !shape.withdrawals) {
    const Path pp(body, "execution_payload");
    return missing(Path(pp, "withdrawals"));
  }
  if (AtLeast(fork, Fork::kElectra) && !shape.execution_requests) {
    return missing(Path(body, "execution_requests"));
  }
  return CheckCommitteeBits(b.attestations, fork, b.version, Path(body, "attestations"));
}

absl::Status ReadGenesis(od::object& root, const Path& p, Genesis* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    enum { kTime, kRoot, kFork };
    static constexpr Keys<3> kKeys = {"genesis_time", "genesis_validators_root",
                                      "genesis_fork_version"};
    return ReadObject(d, dp, kKeys, Bits({kTime, kRoot, kFork}),
                      [&](int k, od::value& f, const Path& fp) -> absl::Status {
                        switch (k) {
                          case kTime:
                            return ReadU64(f, fp, &out->genesis_time);
                          case kRoot:
                            return ReadHex(f, fp, &out->genesis_validators_root);
                          default:
                            return ReadHex(f, fp, &out->genesis_fork_version);
                        }
                      });
  });
}

absl::Status ReadSpec(od::object& root, const Path& p, ChainSpec* out) {
  static constexpr Keys<1> kTop = {"data"};
  enum {
    kSecondsPerSlot,
    kSlotDurationMs,
    kSlotsPerEpoch,
    kMaxCommittees,
    kTargetCommitteeSize,
    kSyncCommitteeSize,
    kEpochsPerSyncPeriod,
    kMinInclusionDelay,
    kAltairEpoch,
    kDenebEpoch,
    kElectraEpoch,
    kConfigName
  };
  static constexpr Keys<12> kKeys = {"SECONDS_PER_SLOT",
                                     "SLOT_DURATION_MS",
                                     "SLOTS_PER_EPOCH",
                                     "MAX_COMMITTEES_PER_SLOT",
                                     "TARGET_COMMITTEE_SIZE",
                                     "SYNC_COMMITTEE_SIZE",
                                     "EPOCHS_PER_SYNC_COMMITTEE_PERIOD",
                                     "MIN_ATTESTATION_INCLUSION_DELAY",
                                     "ALTAIR_FORK_EPOCH",
                                     "DENEB_FORK_EPOCH",
                                     "ELECTRA_FORK_EPOCH",
                                     "CONFIG_NAME"};
  uint64_t* const targets[] = {&out->seconds_per_slot,
                               &out->slot_duration_ms,
                               &out->slots_per_epoch,
                               &out->max_committees_per_slot,
                               &out->target_committee_size,
                               &out->sync_committee_size,
                               &out->epochs_per_sync_committee_period,
                               &out->min_attestation_inclusion_delay,
                               &out->altair_fork_epoch,
                               &out->deneb_fork_epoch,
                               &out->electra_fork_epoch};
  bool has_seconds = false;
  bool has_ms = false;
  const Path data(p, "data");
  RETURN_IF_ERROR(ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    return ReadObject(d, dp, kKeys, 0, [&](int k, od::value& f, const Path& fp) -> absl::Status {
      if (k == kConfigName) {
        std::string_view name;
        RETURN_IF_ERROR(ReadString(f, fp, &name));
        out->config_name = std::string(name);
        return absl::OkStatus();
      }
      has_seconds |= k == kSecondsPerSlot;
      has_ms |= k == kSlotDurationMs;
      return ReadU64(f, fp, targets[k]);
    });
  }));
  // SLOT_DURATION_MS is newer; derive whichever of the two slot lengths the node left out.
  if (has_ms && !has_seconds) out->seconds_per_slot = out->slot_duration_ms / 1000;
  if (!has_ms) {
    if (out->seconds_per_slot == 0) return Path(data, kKeys[kSecondsPerSlot]).Error("must be > 0");
    if (out->seconds_per_slot > UINT64_MAX / 1000) {
      return Path(data, kKeys[kSecondsPerSlot]).Error("too large");
    }
    out->slot_duration_ms = out->seconds_per_slot * 1000;
  }
  if (out->slot_duration_ms == 0) return Path(data, kKeys[kSlotDurationMs]).Error("must be > 0");
  if (out->slots_per_epoch == 0) return Path(data, kKeys[kSlotsPerEpoch]).Error("must be > 0");
  return absl::OkStatus();
}

absl::Status ReadSyncing(od::object& root, const Path& p, SyncStatus* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    enum { kHead, kDistance, kSyncing, kOptimistic, kElOffline };
    static constexpr Keys<5> kKeys = {"head_slot", "sync_distance", "is_syncing", "is_optimistic",
                                      "el_offline"};
    return ReadObject(d, dp, kKeys, Bits({kHead, kDistance, kSyncing}),
                      [&](int k, od::value& f, const Path& fp) -> absl::Status {
                        switch (k) {
                          case kHead:
                            return ReadU64(f, fp, &out->head_slot);
                          case kDistance:
                            return ReadU64(f, fp, &out->sync_distance);
                          case kSyncing:
                            return ReadBool(f, fp, &out->is_syncing);
                          case kOptimistic:
                            return ReadBool(f, fp, &out->is_optimistic);
                          default:
                            return ReadBool(f, fp, &out->el_offline);
                        }
                      });
  });
}

absl::Status ReadPeerCount(od::object& root, const Path& p, PeerCount* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    static constexpr Keys<4> kKeys = {"connected", "connecting", "disconnected", "disconnecting"};
    uint64_t* const targets[] = {&out->connected, &out->connecting, &out->disconnected,
                                 &out->disconnecting};
    return ReadObject(d, dp, kKeys, Bits({0, 1, 2, 3}),
                      [&](int k, od::value& f, const Path& fp) -> absl::Status {
                        return ReadU64(f, fp, targets[k]);
                      });
  });
}

absl::Status ReadNodeVersion(od::object& root, const Path& p, NodeVersion* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    static constexpr Keys<1> kKeys = {"version"};
    return ReadObject(d, dp, kKeys, Bits({0}),
                      [&](int, od::value& f, const Path& fp) -> absl::Status {
                        std::string_view v;
                        RETURN_IF_ERROR(ReadString(f, fp, &v));
                        out->version = std::string(v.substr(0, 256));
                        return absl::OkStatus();
                      });
  });
}

absl::Status ReadFinality(od::object& root, const Path& p, FinalityCheckpoints* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    static constexpr Keys<3> kKeys = {"previous_justified", "current_justified", "finalized"};
    Checkpoint* const targets[] = {&out->previous_justified, &out->current_justified,
                                   &out->finalized};
    return ReadObject(d, dp, kKeys, Bits({0, 1, 2}), [&](int k, od::value& f, const Path& fp) {
      return ReadCheckpoint(f, fp, targets[k]);
    });
  });
}

// One header object {root, canonical, header:{message:{...}, signature}}.
absl::Status ReadHeaderObject(od::value& d, const Path& dp, BlockHeader* out) {
  enum { kRoot, kCanonical, kHeader };
  static constexpr Keys<3> kKeys = {"root", "canonical", "header"};
  return ReadObject(
      d, dp, kKeys, Bits({kRoot, kCanonical, kHeader}),
      [&](int k, od::value& f, const Path& fp) -> absl::Status {
        if (k == kRoot) return ReadHex(f, fp, &out->root);
        if (k == kCanonical) return ReadBool(f, fp, &out->canonical);
        static constexpr Keys<1> kSigned = {"message"};
        return ReadObject(f, fp, kSigned, Bits({0}), [&](int, od::value& m, const Path& mp) {
          enum { kSlot, kProposer, kParent, kState, kBody };
          static constexpr Keys<5> kMsg = {"slot", "proposer_index", "parent_root", "state_root",
                                           "body_root"};
          return ReadObject(m, mp, kMsg, Bits({kSlot, kProposer, kParent, kState, kBody}),
                            [&](int j, od::value& g, const Path& gp) -> absl::Status {
                              switch (j) {
                                case kSlot:
                                  return ReadU64(g, gp, &out->slot);
                                case kProposer:
                                  return ReadU64(g, gp, &out->proposer_index);
                                case kParent:
                                  return ReadHex(g, gp, &out->parent_root);
                                case kState:
                                  return ReadHex(g, gp, &out->state_root);
                                default:
                                  return ReadHex(g, gp, &out->body_root);
                              }
                            });
        });
      });
}

absl::Status ReadHeader(od::object& root, const Path& p, BlockHeader* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}),
                   [&](int, od::value& d, const Path& dp) { return ReadHeaderObject(d, dp, out); });
}

absl::Status ReadHeaders(od::object& root, const Path& p, std::vector<BlockHeader>* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    return ForElements(d, dp, [&](od::value& e, const Path& ep) {
      out->emplace_back();
      return ReadHeaderObject(e, ep, &out->back());
    });
  });
}

absl::Status ReadBlock(od::object& root, const Path& p, Block* out) {
  enum { kVersion, kOptimistic, kFinalized, kData, kMessage };
  static constexpr Keys<5> kKeys = {"version", "execution_optimistic", "finalized", "data",
                                    "message"};
  BodyShape shape;
  bool has_version = false, wrapped = false, bare = false;
  RETURN_IF_ERROR(
      ForFields(root, p, kKeys, 0, [&](int k, od::value& f, const Path& fp) -> absl::Status {
        switch (k) {
          case kVersion: {
            has_version = true;
            std::string_view version;
            RETURN_IF_ERROR(ReadString(f, fp, &version));
            out->version = std::string(version);
            return absl::OkStatus();
          }
          case kOptimistic:
            return ReadBool(f, fp, &out->execution_optimistic);
          case kFinalized:
            return ReadBool(f, fp, &out->finalized);
          case kData: {
            wrapped = true;
            static constexpr Keys<1> kSigned = {"message"};
            return ReadObject(f, fp, kSigned, Bits({0}), [&](int, od::value& m, const Path& mp) {
              return ReadBeaconBlock(m, mp, out, &shape);
            });
          }
          default:
            bare = true;
            return ReadBeaconBlock(f, fp, out, &shape);
        }
      }));
  if (wrapped && bare) return Path(p, "message").Error("both \"data\" and a bare \"message\"");
  if (!wrapped && !bare) return Path(p, "data").Error("missing required field");
  if (wrapped && !has_version) return Path(p, "version").Error("missing required field");
  if (!has_version) out->version = std::string(InferVersion(shape));
  if (wrapped) {
    const Path dp(p, "data");
    const Path mp(dp, "message");
    return CheckBlockForFork(*out, shape, Path(mp, "body"));
  }
  const Path mp(p, "message");
  return CheckBlockForFork(*out, shape, Path(mp, "body"));
}

absl::Status ReadBlockAttestations(od::object& root, const Path& p, std::vector<Attestation>* out) {
  enum { kVersion, kData };
  static constexpr Keys<2> kKeys = {"version", "data"};
  std::string version;
  RETURN_IF_ERROR(ForFields(root, p, kKeys, Bits({kVersion, kData}),
                            [&](int k, od::value& f, const Path& fp) -> absl::Status {
                              if (k == kData) return ReadAttestations(f, fp, out);
                              std::string_view v;
                              RETURN_IF_ERROR(ReadString(f, fp, &v));
                              version = std::string(v);
                              return absl::OkStatus();
                            }));
  return CheckCommitteeBits(*out, ForkOf(version), version, Path(p, "data"));
}

// The hot path: ~1.1 M validator indices per mainnet epoch. Indices are parsed straight from the
// input buffer (no unescaping copy) into a scratch vector reused across committees, then copied
// once into an exactly sized vector.
absl::Status ReadValidatorIndices(od::value& v, const Path& p, std::vector<uint64_t>* scratch) {
  od::array arr;
  RETURN_IF_ERROR(GetArray(v, p, &arr));
  scratch->clear();
  for (auto elem_result : arr) {
    od::value elem;
    od::raw_json_string raw;
    uint64_t index;
    if (auto e = std::move(elem_result).get(elem)) {
      return JsonError(Path(p, scratch->size()), e);
    }
    if (auto e = elem.get_raw_json_string().get(raw)) {
      const Path ep(p, scratch->size());
      return e == simdjson::INCORRECT_TYPE ? TypeError(elem, ep, "a decimal string")
                                           : JsonError(ep, e);
    }
    if (!ParseQuotedU64(raw.raw(), &index)) {
      return DecimalError(Path(p, scratch->size()), raw.raw());
    }
    scratch->push_back(index);
  }
  return absl::OkStatus();
}

absl::Status ReadCommittees(od::object& root, const Path& p, std::vector<Committee>* out) {
  static constexpr Keys<1> kTop = {"data"};
  std::vector<uint64_t> scratch;
  scratch.reserve(1024);
  out->reserve(64);
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    return ForElements(d, dp, [&](od::value& e, const Path& ep) {
      out->emplace_back();
      Committee& c = out->back();
      enum { kIndex, kSlot, kValidators };
      static constexpr Keys<3> kKeys = {"index", "slot", "validators"};
      return ReadObject(e, ep, kKeys, Bits({kIndex, kSlot, kValidators}),
                        [&](int k, od::value& f, const Path& fp) -> absl::Status {
                          switch (k) {
                            case kIndex:
                              return ReadU64(f, fp, &c.index);
                            case kSlot:
                              return ReadU64(f, fp, &c.slot);
                            default:
                              RETURN_IF_ERROR(ReadValidatorIndices(f, fp, &scratch));
                              c.validators.assign(scratch.begin(), scratch.end());
                              return absl::OkStatus();
                          }
                        });
    });
  });
}

absl::Status ReadProposerDuties(od::object& root, const Path& p, ProposerDuties* out) {
  enum { kDependentRoot, kOptimistic, kData };
  static constexpr Keys<3> kKeys = {"dependent_root", "execution_optimistic", "data"};
  return ForFields(root, p, kKeys, Bits({kDependentRoot, kData}),
                   [&](int k, od::value& f, const Path& fp) -> absl::Status {
                     if (k == kDependentRoot) return ReadHex(f, fp, &out->dependent_root);
                     if (k == kOptimistic) return ReadBool(f, fp, &out->execution_optimistic);
                     out->duties.reserve(32);
                     return ForElements(f, fp, [&](od::value& e, const Path& ep) {
                       out->duties.emplace_back();
                       ProposerDuty& duty = out->duties.back();
                       enum { kPubkey, kValidator, kSlot };
                       static constexpr Keys<3> kDutyKeys = {"pubkey", "validator_index", "slot"};
                       return ReadObject(e, ep, kDutyKeys, Bits({kPubkey, kValidator, kSlot}),
                                         [&](int j, od::value& g, const Path& gp) -> absl::Status {
                                           switch (j) {
                                             case kPubkey:
                                               return ReadHex(g, gp, &duty.pubkey);
                                             case kValidator:
                                               return ReadU64(g, gp, &duty.validator_index);
                                             default:
                                               return ReadU64(g, gp, &duty.slot);
                                           }
                                         });
                     });
                   });
}

// ---------------------------------------------------------------------------------------------
// Validators, liveness, sync committees, rewards.

absl::Status ReadValidators(od::object& root, const Path& p, std::vector<ValidatorInfo>* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    return ForElements(d, dp, [&](od::value& e, const Path& ep) {
      out->emplace_back();
      ValidatorInfo& info = out->back();
      enum { kIndex, kBalance, kStatus, kValidator };
      static constexpr Keys<4> kKeys = {"index", "balance", "status", "validator"};
      return ReadObject(e, ep, kKeys, Bits({kIndex, kBalance, kStatus, kValidator}),
                        [&](int k, od::value& f, const Path& fp) -> absl::Status {
                          switch (k) {
                            case kIndex:
                              return ReadU64(f, fp, &info.index);
                            case kBalance:
                              return ReadU64(f, fp, &info.balance);
                            case kStatus: {
                              std::string_view status;
                              RETURN_IF_ERROR(ReadString(f, fp, &status));
                              info.status = std::string(status);
                              return absl::OkStatus();
                            }
                            default:
                              break;
                          }
                          enum {
                            kPubkey,
                            kCredentials,
                            kEffective,
                            kSlashed,
                            kEligibility,
                            kActivation,
                            kExit,
                            kWithdrawable
                          };
                          static constexpr Keys<8> kInner = {"pubkey",
                                                             "withdrawal_credentials",
                                                             "effective_balance",
                                                             "slashed",
                                                             "activation_eligibility_epoch",
                                                             "activation_epoch",
                                                             "exit_epoch",
                                                             "withdrawable_epoch"};
                          return ReadObject(
                              f, fp, kInner,
                              Bits({kPubkey, kCredentials, kEffective, kSlashed, kEligibility,
                                    kActivation, kExit, kWithdrawable}),
                              [&](int j, od::value& g, const Path& gp) -> absl::Status {
                                switch (j) {
                                  case kPubkey:
                                    return ReadHex(g, gp, &info.pubkey);
                                  case kCredentials:
                                    return ReadHex(g, gp, &info.withdrawal_credentials);
                                  case kEffective:
                                    return ReadU64(g, gp, &info.effective_balance);
                                  case kSlashed:
                                    return ReadBool(g, gp, &info.slashed);
                                  case kEligibility:
                                    return ReadU64(g, gp, &info.activation_eligibility_epoch);
                                  case kActivation:
                                    return ReadU64(g, gp, &info.activation_epoch);
                                  case kExit:
                                    return ReadU64(g, gp, &info.exit_epoch);
                                  default:
                                    return ReadU64(g, gp, &info.withdrawable_epoch);
                                }
                              });
                        });
    });
  });
}

// The other hot path: a balances response for every validator is ~1.1 M rows (~50 MB). Each row
// is walked with the same checks as elsewhere, but without the generic per-field dispatch: the
// two keys are compared inline and numbers are parsed straight from the input buffer.
absl::Status ReadBalanceRow(od::value& e, const Path& ep, ValidatorBalance* row) {
  od::object obj;
  RETURN_IF_ERROR(GetObject(e, ep, &obj));
  bool has_index = false, has_balance = false;
  for (auto field_result : obj) {
    od::field field;
    if (auto err = std::move(field_result).get(field)) return JsonError(ep, err);
    const od::raw_json_string key = field.key();
    uint64_t* target;
    std::string_view name;
    if (key == std::string_view("index")) {
      target = &row->index;
      name = "index";
      has_index = true;
    } else if (key == std::string_view("balance")) {
      target = &row->balance;
      name = "balance";
      has_balance = true;
    } else {
      continue;  // unknown keys are skipped by the iterator
    }
    od::raw_json_string raw;
    if (auto err = field.value().get_raw_json_string().get(raw)) {
      const Path fp(ep, name);
      return err == simdjson::INCORRECT_TYPE ? TypeError(field.value(), fp, "a decimal string")
                                             : JsonError(fp, err);
    }
    if (!ParseQuotedU64(raw.raw(), target)) return DecimalError(Path(ep, name), raw.raw());
  }
  if (!has_index) return Path(ep, "index").Error("missing required field");
  if (!has_balance) return Path(ep, "balance").Error("missing required field");
  return absl::OkStatus();
}

// `expected_rows` only sizes the first allocation.
absl::Status ReadValidatorBalances(od::object& root, const Path& p, size_t expected_rows,
                                   std::vector<ValidatorBalance>* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    out->reserve(expected_rows);
    od::array arr;
    RETURN_IF_ERROR(GetArray(d, dp, &arr));
    for (auto elem_result : arr) {
      od::value elem;
      if (auto e = std::move(elem_result).get(elem)) return JsonError(Path(dp, out->size()), e);
      ValidatorBalance row;
      if (absl::Status s = ReadBalanceRow(elem, Path(dp, out->size()), &row); !s.ok()) return s;
      out->push_back(row);
    }
    return absl::OkStatus();
  });
}

absl::Status ReadLiveness(od::object& root, const Path& p, std::vector<ValidatorLiveness>* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    return ForElements(d, dp, [&](od::value& e, const Path& ep) {
      out->emplace_back();
      ValidatorLiveness& row = out->back();
      enum { kIndex, kLive };
      static constexpr Keys<2> kKeys = {"index", "is_live"};
      return ReadObject(e, ep, kKeys, Bits({kIndex, kLive}),
                        [&](int k, od::value& f, const Path& fp) -> absl::Status {
                          if (k == kIndex) return ReadU64(f, fp, &row.index);
                          return ReadBool(f, fp, &row.is_live);
                        });
    });
  });
}

absl::Status ReadSyncCommittee(od::object& root, const Path& p, SyncCommittee* out) {
  static constexpr Keys<1> kTop = {"data"};
  std::vector<uint64_t> scratch;
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    enum { kValidators, kAggregates };
    static constexpr Keys<2> kKeys = {"validators", "validator_aggregates"};
    return ReadObject(d, dp, kKeys, Bits({kValidators, kAggregates}),
                      [&](int k, od::value& f, const Path& fp) -> absl::Status {
                        if (k == kValidators) {
                          RETURN_IF_ERROR(ReadValidatorIndices(f, fp, &scratch));
                          out->validators.assign(scratch.begin(), scratch.end());
                          return absl::OkStatus();
                        }
                        return ForElements(f, fp, [&](od::value& e, const Path& ep) {
                          RETURN_IF_ERROR(ReadValidatorIndices(e, ep, &scratch));
                          out->validator_aggregates.emplace_back(scratch.begin(), scratch.end());
                          return absl::OkStatus();
                        });
                      });
  });
}

absl::Status ReadAttestationRewards(od::object& root, const Path& p, AttestationRewards* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    enum { kIdeal, kTotal };
    static constexpr Keys<2> kKeys = {"ideal_rewards", "total_rewards"};
    return ReadObject(
        d, dp, kKeys, Bits({kIdeal, kTotal}),
        [&](int k, od::value& f, const Path& fp) -> absl::Status {
          // Both row kinds share head/target/source/inactivity at keys 1..4.
          enum { kFirst, kHead, kTarget, kSource, kInactivity };
          constexpr uint32_t kAll = Bits({kFirst, kHead, kTarget, kSource, kInactivity});
          if (k == kIdeal) {
            static constexpr Keys<5> kRow = {"effective_balance", "head", "target", "source",
                                             "inactivity"};
            return ForElements(f, fp, [&](od::value& e, const Path& ep) {
              out->ideal_rewards.emplace_back();
              IdealAttestationReward& r = out->ideal_rewards.back();
              return ReadObject(e, ep, kRow, kAll,
                                [&](int j, od::value& g, const Path& gp) -> absl::Status {
                                  switch (j) {
                                    case kFirst:
                                      return ReadU64(g, gp, &r.effective_balance);
                                    case kHead:
                                      return ReadI64(g, gp, &r.head);
                                    case kTarget:
                                      return ReadI64(g, gp, &r.target);
                                    case kSource:
                                      return ReadI64(g, gp, &r.source);
                                    default:
                                      return ReadI64(g, gp, &r.inactivity);
                                  }
                                });
            });
          }
          static constexpr Keys<5> kRow = {"validator_index", "head", "target", "source",
                                           "inactivity"};
          return ForElements(f, fp, [&](od::value& e, const Path& ep) {
            out->total_rewards.emplace_back();
            TotalAttestationReward& r = out->total_rewards.back();
            return ReadObject(e, ep, kRow, kAll,
                              [&](int j, od::value& g, const Path& gp) -> absl::Status {
                                switch (j) {
                                  case kFirst:
                                    return ReadU64(g, gp, &r.validator_index);
                                  case kHead:
                                    return ReadI64(g, gp, &r.head);
                                  case kTarget:
                                    return ReadI64(g, gp, &r.target);
                                  case kSource:
                                    return ReadI64(g, gp, &r.source);
                                  default:
                                    return ReadI64(g, gp, &r.inactivity);
                                }
                              });
          });
        });
  });
}

absl::Status ReadBlockRewards(od::object& root, const Path& p, BlockRewards* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    static constexpr Keys<6> kKeys = {"proposer_index",     "total",
                                      "attestations",       "sync_aggregate",
                                      "proposer_slashings", "attester_slashings"};
    uint64_t* const fields[6] = {&out->proposer_index,     &out->total,
                                 &out->attestations,       &out->sync_aggregate,
                                 &out->proposer_slashings, &out->attester_slashings};
    return ReadObject(d, dp, kKeys, Bits({0, 1, 2, 3, 4, 5}),
                      [&](int k, od::value& f, const Path& fp) -> absl::Status {
                        return ReadU64(f, fp, fields[k]);
                      });
  });
}

absl::Status ReadSyncCommitteeRewards(od::object& root, const Path& p,
                                      std::vector<SyncCommitteeReward>* out) {
  static constexpr Keys<1> kTop = {"data"};
  return ForFields(root, p, kTop, Bits({0}), [&](int, od::value& d, const Path& dp) {
    return ForElements(d, dp, [&](od::value& e, const Path& ep) {
      out->emplace_back();
      SyncCommitteeReward& row = out->back();
      enum { kIndex, kReward };
      static constexpr Keys<2> kKeys = {"validator_index", "reward"};
      return ReadObject(e, ep, kKeys, Bits({kIndex, kReward}),
                        [&](int k, od::value& f, const Path& fp) -> absl::Status {
                          if (k == kIndex) return ReadU64(f, fp, &row.validator_index);
                          return ReadI64(f, fp, &row.reward);
                        });
    });
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Public entry points.

#define SW_DEFINE_DECODER(Name, Type, endpoint, reader) \
  absl::StatusOr<Type> Name(std::string_view body) {    \
    return DecodeCopy<Type>(endpoint, body, reader);    \
  }                                                     \
  absl::StatusOr<Type> Name(PaddedBody body) { return DecodePadded<Type>(endpoint, body, reader); }

SW_DEFINE_DECODER(DecodeGenesis, Genesis, "genesis", ReadGenesis)
SW_DEFINE_DECODER(DecodeSpec, ChainSpec, "spec", ReadSpec)
SW_DEFINE_DECODER(DecodeSyncing, SyncStatus, "syncing", ReadSyncing)
SW_DEFINE_DECODER(DecodePeerCount, PeerCount, "peer_count", ReadPeerCount)
SW_DEFINE_DECODER(DecodeNodeVersion, NodeVersion, "node_version", ReadNodeVersion)
SW_DEFINE_DECODER(DecodeFinalityCheckpoints, FinalityCheckpoints, "finality_checkpoints",
                  ReadFinality)
SW_DEFINE_DECODER(DecodeHeader, BlockHeader, "header", ReadHeader)
SW_DEFINE_DECODER(DecodeHeaders, std::vector<BlockHeader>, "headers", ReadHeaders)
SW_DEFINE_DECODER(DecodeBlock, Block, "block", ReadBlock)
SW_DEFINE_DECODER(DecodeBlockAttestations, std::vector<Attestation>, "block_attestations",
                  ReadBlockAttestations)
SW_DEFINE_DECODER(DecodeCommittees, std::vector<Committee>, "committees", ReadCommittees)
SW_DEFINE_DECODER(DecodeProposerDuties, ProposerDuties, "proposer_duties", ReadProposerDuties)
SW_DEFINE_DECODER(DecodeLiveness, std::vector<ValidatorLiveness>, "liveness", ReadLiveness)
SW_DEFINE_DECODER(DecodeSyncCommittee, SyncCommittee, "sync_committee", ReadSyncCommittee)
SW_DEFINE_DECODER(DecodeBlockRewards, BlockRewards, "block_rewards", ReadBlockRewards)
SW_DEFINE_DECODER(DecodeSyncCommitteeRewards, std::vector<SyncCommitteeReward>,
                  "sync_committee_rewards", ReadSyncCommitteeRewards)

#undef SW_DEFINE_DECODER

namespace {

// ---------------------------------------------------------------------------------------------
// Strict fast paths for the large responses.
//
// A full validators, validator_balances or attestation rewards response is tens of megabytes,
// and simdjson's on-demand API (compiled here for its fallback kernel) reads ~70 MB/s. For each
// of them a hand-written scanner accepts a strict subset of JSON -- the shape servers send --
// and decodes it straight from the body: no simdjson buffers, no padding, only reads inside
// [begin, end). Anything else (other keys or key order, escapes, an out-of-range number,
// truncation, any error) makes it give up and the simdjson decoder runs instead: it accepts
// every valid variant and writes the error messages. Every body a scanner accepts is valid JSON
// that the simdjson decoder decodes to the same value, so the fast path changes speed, never
// results. Only printable ASCII is accepted inside strings, so UTF-8 needs no check.
//
// The envelope all three share:
//   ws { ws member (ws , ws member)* ws } ws          members: "data" exactly once, optionally
//   "execution_optimistic" / "finalized" with true|false (any number of times),
// with JSON whitespace anywhere between tokens.
class StrictScanner {
 protected:
  explicit StrictScanner(std::string_view body)
      : p_(body.data()), end_(body.data() + body.size()) {}

  // The envelope above; `data()` reads the value of "data", called with p_ just past its ':'.
  template <typename Fn>
  bool Envelope(Fn&& data) {
    Ws();
    if (!Char('{')) return false;
    bool has_data = false;
    for (;;) {
      Ws();
      if (Lit("\"data\"")) {
        if (has_data) return false;
        has_data = true;
        Ws();
        if (!Char(':') || !data()) return false;
      } else if (Lit("\"execution_optimistic\"") || Lit("\"finalized\"")) {
        Ws();
        if (!Char(':')) return false;
        Ws();
        if (!Lit("true") && !Lit("false")) return false;
      } else {
        return false;
      }
      Ws();
      if (Char('}')) break;
      if (!Char(',')) return false;
    }
    Ws();
    return has_data && p_ == end_;
  }

  // Calls row() for each element of an array (ws [ ws ] or ws [ ws row (ws , ws row)* ws ]);
  // row() starts at the element's first byte.
  template <typename Fn>
  bool Array(Fn&& row) {
    Ws();
    if (!Char('[')) return false;
    Ws();
    if (Char(']')) return true;
    for (;;) {
      Ws();
      if (!row()) return false;
      Ws();
      if (Char(']')) return true;
      if (!Char(',')) return false;
    }
  }

  // --- Bounds-checked pieces.
  size_t Left() const { return static_cast<size_t>(end_ - p_); }
  void Ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool Char(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool Lit(std::string_view s) {
    if (Left() < s.size() || std::memcmp(p_, s.data(), s.size()) != 0) return false;
    p_ += s.size();
    return true;
  }
  // ws? "key" ws? : ws?  (`quoted_key` includes the quotes).
  bool Key(std::string_view quoted_key) {
    Ws();
    if (!Lit(quoted_key)) return false;
    Ws();
    if (!Char(':')) return false;
    Ws();
    return true;
  }
  // ws? , (between two fields of an object).
  bool Comma() {
    Ws();
    return Char(',');
  }
  // The digits of a quoted number, after its opening quote: 1 to 20 of them, then the closing
  // quote (the slow path's ReadU64 rules). Returns the magnitude; false on overflow.
  bool QuotedDigits(uint64_t* out) {
    const char* digits = p_;
    while (p_ < end_ && IsDigit(*p_)) ++p_;
    const size_t n = static_cast<size_t>(p_ - digits);
    if (n == 0 || n > 20 || !DigitsToU64(digits, n, out)) return false;
    return Char('"');
  }
  bool QuotedU64(uint64_t* out) { return Char('"') && QuotedDigits(out); }

  // --- Unchecked pieces, for the compact rows: each caller makes sure that enough input is left.

  // The digits at `s` up to a closing quote: 1 to 20 digits within uint64. Returns the number
  // of bytes consumed (digits and quote), or 0. REQUIRES: 29 readable bytes at `s`.
  static size_t ScanDigits(const char* s, uint64_t* out) {
    if constexpr (std::endian::native == std::endian::little) {
      uint64_t chunk;
      std::memcpy(&chunk, s, sizeof(chunk));
      const uint64_t x = chunk ^ 0x3030303030303030u;
      const uint64_t non_digit = ((x + 0x7676767676767676u) | x) & 0x8080808080808080u;
      if (non_digit != 0) {  // as in ParseQuotedU64
        const int n = std::countr_zero(non_digit) / 8;
        if (n == 0 || s[n] != '"') return 0;
        uint64_t v = x << (8 * (8 - n));
        v = (v * 10) + (v >> 8);
        v = (((v & 0x000000FF000000FFu) * (100 + (1000000ull << 32))) +
             (((v >> 16) & 0x000000FF000000FFu) * (1 + (10000ull << 32)))) >>
            32;
        *out = static_cast<uint32_t>(v);
        return static_cast<size_t>(n) + 1;
      }
    }
    size_t n = 0;
    while (n <= 20 && IsDigit(s[n])) ++n;
    if (n == 0 || n > 20 || s[n] != '"' || !DigitsToU64(s, n, out)) return 0;
    return n + 1;
  }
  // Matches the literal `lit` (without its terminating NUL) at `*s` and moves past it.
  template <size_t N>
  static bool Match(const char** s, const char (&lit)[N]) {
    if (std::memcmp(*s, lit, N - 1) != 0) return false;
    *s += N - 1;
    return true;
  }
  static bool U64(const char** s, uint64_t* v) {
    const size_t n = ScanDigits(*s, v);
    *s += n;
    return n != 0;
  }

  const char* p_;
  const char* const end_;
};

// A row of the balances response is at least {"index":"0","balance":"0"} plus a separator (33
// bytes) and typically ~44 (7-digit index, 11-digit balance); reserving for 40-byte rows
// avoids regrowing the vector for a full mainnet response without over-allocating much.
size_t ExpectedBalanceRows(std::string_view body) { return body.size() / 40; }

// validator_balances: rows { "index" : "<digits>" , "balance" : "<digits>" } in that order,
// 1-20 digits within uint64, in the envelope above. A 50 MB body would need ~45 MB of simdjson
// structural indexes, and faulting those pages in costs more than the parse (measured in
// bench/decode_bench.cc).
class BalancesScanner : public StrictScanner {
 public:
  explicit BalancesScanner(std::string_view body) : StrictScanner(body) {}

  bool Scan(std::vector<ValidatorBalance>* out) {
    return Envelope([&] {
      return Array([&] {
        ValidatorBalance row;
        if (!Char('{') || !Key("\"index\"") || !QuotedU64(&row.index) || !Comma() ||
            !Key("\"balance\"") || !QuotedU64(&row.balance)) {
          return false;
        }
        Ws();
        if (!Char('}')) return false;
        out->push_back(row);
        return true;
      });
    });
  }
};

// Asks the kernel to back the whole 2 MB pages inside [data, data + bytes) with transparent
// huge pages (best effort; a no-op where unsupported). Writing a fresh 44 MB row vector page by
// page costs ~11 k page faults, which took more time than the scan (measured in
// bench/decode_bench.cc: ~60% of the rewards fast path without this). When malloc hands out
// fresh pages (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072 forces that in the bench) it
// also takes the 1.1 M-row balances decode from ~95 to ~42 ms and the 100 k-row validators
// decode from ~88 to ~30 ms; with pages malloc recycled from an earlier call it changes
// nothing measurable.
void AdviseHugePages(const void* data, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHugePage = uintptr_t{2} << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(kHugePage - 1);
  if (end > begin) {
    (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice only
  }
#else
  (void)data;
  (void)bytes;
#endif
}

// Reserves `rows` rows and advises huge pages for them.
template <typename Row>
void ReserveRows(std::vector<Row>* v, size_t rows) {
  v->reserve(rows);
  AdviseHugePages(v->data(), v->capacity() * sizeof(Row));
}

// Size checks, then the fast path, then (if it gave up) `slow`.
template <typename Slow>
absl::StatusOr<std::vector<ValidatorBalance>> DecodeBalances(std::string_view body, Slow&& slow) {
  RETURN_IF_ERROR(CheckBodySize("validator_balances", body));
  std::vector<ValidatorBalance> out;
  ReserveRows(&out, ExpectedBalanceRows(body));
  if (BalancesScanner(body).Scan(&out)) return out;
  out = {};  // free the reservation before the slow path makes its own
  return slow();
}

// Attestation rewards: a full response is ~1.1 M total_rewards rows (~106 MB on mainnet).
// In the envelope above:
//   data: { "ideal_rewards" : [ideal rows] , "total_rewards" : [total rows] } (either order,
//   each exactly once);
//   ideal row: { "effective_balance" : U , "head" : I , "target" : I , "source" : I ,
//   ["inclusion_delay" : I ,] "inactivity" : I } in that order (total rows: "validator_index"
//   in place of "effective_balance"),
// where U is "<1-20 digits>" within uint64 and I is "[-]<1-20 digits>" within int64 (the
// slow path's ReadU64 / ReadI64 rules; inclusion_delay, ignored by the slow path, is only
// accepted in that form here). Rows are read by an unchecked straight-line matcher for the
// compact form (no whitespace) while at least kCompactRowSlack bytes remain, else (or on any
// mismatch) by a bounds-checked one for the grammar above.
//
// What differs between the two row types: the unsigned first field.
template <typename Row>
struct RewardRow;
template <>
struct RewardRow<IdealAttestationReward> {
  static constexpr std::string_view kKey = "\"effective_balance\"";
  static constexpr char kCompactOpening[] = "{\"effective_balance\":\"";
  static uint64_t* First(IdealAttestationReward* r) { return &r->effective_balance; }
};
template <>
struct RewardRow<TotalAttestationReward> {
  static constexpr std::string_view kKey = "\"validator_index\"";
  static constexpr char kCompactOpening[] = "{\"validator_index\":\"";
  static uint64_t* First(TotalAttestationReward* r) { return &r->validator_index; }
};

class AttestationRewardsScanner : public StrictScanner {
 public:
  explicit AttestationRewardsScanner(std::string_view body) : StrictScanner(body) {}

  bool Scan(AttestationRewards* out) {
    return Envelope([&] { return Data(out); });
  }

 private:
  bool QuotedI64(int64_t* out) {
    if (!Char('"')) return false;
    const bool negative = Char('-');
    uint64_t magnitude;
    if (!QuotedDigits(&magnitude) || magnitude > uint64_t{INT64_MAX} + (negative ? 1 : 0)) {
      return false;
    }
    *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return true;
  }

  bool Data(AttestationRewards* out) {
    Ws();
    if (!Char('{')) return false;
    bool has_ideal = false, has_total = false;
    for (;;) {
      Ws();
      if (Lit("\"ideal_rewards\"")) {
        if (has_ideal) return false;
        has_ideal = true;
        Ws();
        if (!Char(':') || !Rows(&out->ideal_rewards)) return false;
      } else if (Lit("\"total_rewards\"")) {
        if (has_total) return false;
        has_total = true;
        Ws();
        if (!Char(':') || !Rows(&out->total_rewards)) return false;
      } else {
        return false;
      }
      Ws();
      if (Char('}')) break;
      if (!Char(',')) return false;
    }
    return has_ideal && has_total;
  }

  // Both row types. Each row is first tried in its compact form (no whitespace) by CompactRow,
  // then, if that fails, by GeneralRow.
  template <typename Row>
  bool Rows(std::vector<Row>* out) {
    return Array([&] {
      Row row;
      if (!CompactRow(&row) && !GeneralRow(&row)) return false;
      out->push_back(row);
      return true;
    });
  }

  // CompactRow reads at most 89 bytes of punctuation and keys (the ideal row with
  // inclusion_delay) and six values of at most 22 bytes ('-', 20 digits, quote), plus at most
  // 22 bytes of lookahead past the last place it stops: well under this many, so with this much
  // input left it needs no bounds checks.
  static constexpr size_t kCompactRowSlack = 256;

  // As ScanDigits for a signed value with an optional '-'.
  static size_t ScanSigned(const char* s, int64_t* out) {
    const bool negative = *s == '-';
    uint64_t magnitude;
    const size_t n = ScanDigits(s + (negative ? 1 : 0), &magnitude);
    if (n == 0 || magnitude > uint64_t{INT64_MAX} + (negative ? 1 : 0)) return 0;
    *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
    return n + (negative ? 1 : 0);
  }
  static bool I64(const char** s, int64_t* v) {
    const size_t n = ScanSigned(*s, v);
    *s += n;
    return n != 0;
  }

  // The row exactly as servers print it, with no whitespace; p_ moves only on success.
  template <typename Row>
  bool CompactRow(Row* row) {
    if (Left() < kCompactRowSlack) return false;
    const char* s = p_;
    int64_t ignored;
    if (!Match(&s, RewardRow<Row>::kCompactOpening) || !U64(&s, RewardRow<Row>::First(row)) ||
        !Match(&s, ",\"head\":\"") || !I64(&s, &row->head) || !Match(&s, ",\"target\":\"") ||
        !I64(&s, &row->target) || !Match(&s, ",\"source\":\"") || !I64(&s, &row->source) ||
        (Match(&s, ",\"inclusion_delay\":\"") && !I64(&s, &ignored)) ||
        !Match(&s, ",\"inactivity\":\"") || !I64(&s, &row->inactivity) || !Match(&s, "}")) {
      return false;
    }
    p_ = s;
    return true;
  }

  // Any row of the accepted shape, whitespace included; bounds-checked.
  template <typename Row>
  bool GeneralRow(Row* row) {
    if (!Char('{')) return false;
    if (!Key(RewardRow<Row>::kKey) || !QuotedU64(RewardRow<Row>::First(row))) return false;
    if (!Comma() || !Key("\"head\"") || !QuotedI64(&row->head)) return false;
    if (!Comma() || !Key("\"target\"") || !QuotedI64(&row->target)) return false;
    if (!Comma() || !Key("\"source\"") || !QuotedI64(&row->source)) return false;
    if (!Comma()) return false;
    Ws();
    if (Lit("\"inclusion_delay\"")) {
      int64_t ignored;
      Ws();
      if (!Char(':')) return false;
      Ws();
      if (!QuotedI64(&ignored) || !Comma()) return false;
    }
    if (!Key("\"inactivity\"") || !QuotedI64(&row->inactivity)) return false;
    Ws();
    return Char('}');
  }
};

// The smallest total_rewards row, {"validator_index":"0","head":"0","target":"0","source":"0",
// "inactivity":"0"}, and its separator take 79 bytes, so this many rows never regrow the
// vector (the reservation is virtual memory; only the pages written are touched).
size_t MaxTotalRewardRows(std::string_view body) { return body.size() / 79 + 1; }

template <typename Slow>
absl::StatusOr<AttestationRewards> DecodeRewards(std::string_view body, Slow&& slow) {
  RETURN_IF_ERROR(CheckBodySize("attestation_rewards", body));
  AttestationRewards out;
  ReserveRows(&out.total_rewards, MaxTotalRewardRows(body));
  if (AttestationRewardsScanner(body).Scan(&out)) return out;
  out = {};  // free the reservation before the slow path makes its own
  return slow();
}

// Validators: a 100 k-validator slice is ~44 MB. In the envelope above, rows
//   { "index" : U , "balance" : U , "status" : S , "validator" : { "pubkey" : H48 ,
//   "withdrawal_credentials" : H32 , "effective_balance" : U , "slashed" : true|false ,
//   "activation_eligibility_epoch" : U , "activation_epoch" : U , "exit_epoch" : U ,
//   "withdrawable_epoch" : U } }
// in that order, where U is as for rewards, S is a string of printable ASCII without '"' or
// '\' (no escapes; the slow path keeps any string as served) and Hn is "0x" and exactly 2n hex
// digits of either case (ParseHexInto's rules). Compact rows (no whitespace, a status of at
// most kMaxCompactStatus chars) are read unchecked while kCompactRowSlack bytes remain.
class ValidatorsScanner : public StrictScanner {
 public:
  explicit ValidatorsScanner(std::string_view body) : StrictScanner(body) {}

  bool Scan(std::vector<ValidatorInfo>* out) {
    return Envelope([&] {
      return Array([&] {
        ValidatorInfo& row = out->emplace_back();
        return CompactRow(&row) || GeneralRow(&row);
      });
    });
  }

 private:
  static bool IsStatusChar(char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; }

  // The compact matcher reads ~390 bytes of keys and punctuation, 160 hex digits, seven numbers
  // of at most 21 bytes with 29 bytes of lookahead each, and a status of at most
  // kMaxCompactStatus + 1 bytes: well under kCompactRowSlack.
  static constexpr size_t kMaxCompactStatus = 64;
  static constexpr size_t kCompactRowSlack = 1024;

  // 2 * N hex digits at `*s` into `out`, moving past them.
  template <size_t N>
  static bool Hex(const char** s, std::array<uint8_t, N>* out) {
    if (!DecodeHexDigits(*s, N, out->data())) return false;
    *s += 2 * N;
    return true;
  }
  // A status after its opening quote, through its closing quote.
  static bool Status(const char** s, std::string* out) {
    const char* begin = *s;
    size_t n = 0;
    while (n <= kMaxCompactStatus && IsStatusChar(begin[n])) ++n;
    if (n > kMaxCompactStatus || begin[n] != '"') return false;
    out->assign(begin, n);
    *s += n + 1;
    return true;
  }
  static bool Bool(const char** s, bool* out) {
    if (Match(s, "false")) {
      *out = false;
      return true;
    }
    if (Match(s, "true")) {
      *out = true;
      return true;
    }
    return false;
  }

  // The row exactly as servers print it, with no whitespace; p_ moves only on success.
  bool CompactRow(ValidatorInfo* row) {
    if (Left() < kCompactRowSlack) return false;
    const char* s = p_;
    if (!Match(&s, "{\"index\":\"") || !U64(&s, &row->index) || !Match(&s, ",\"balance\":\"") ||
        !U64(&s, &row->balance) || !Match(&s, ",\"status\":\"") || !Status(&s, &row->status) ||
        !Match(&s, ",\"validator\":{\"pubkey\":\"0x") || !Hex(&s, &row->pubkey) ||
        !Match(&s, "\",\"withdrawal_credentials\":\"0x") ||
        !Hex(&s, &row->withdrawal_credentials) || !Match(&s, "\",\"effective_balance\":\"") ||
        !U64(&s, &row->effective_balance) || !Match(&s, ",\"slashed\":") ||
        !Bool(&s, &row->slashed) || !Match(&s, ",\"activation_eligibility_epoch\":\"") ||
        !U64(&s, &row->activation_eligibility_epoch) || !Match(&s, ",\"activation_epoch\":\"") ||
        !U64(&s, &row->activation_epoch) || !Match(&s, ",\"exit_epoch\":\"") ||
        !U64(&s, &row->exit_epoch) || !Match(&s, ",\"withdrawable_epoch\":\"") ||
        !U64(&s, &row->withdrawable_epoch) || !Match(&s, "}}")) {
      return false;
    }
    p_ = s;
    return true;
  }

  // Bounds-checked forms of the pieces above, for GeneralRow.
  bool QuotedStatus(std::string* out) {
    if (!Char('"')) return false;
    const char* begin = p_;
    while (p_ < end_ && IsStatusChar(*p_)) ++p_;
    out->assign(begin, static_cast<size_t>(p_ - begin));
    return Char('"');
  }
  template <size_t N>
  bool QuotedHex(std::array<uint8_t, N>* out) {
    if (!Lit("\"0x") || Left() < 2 * N || !DecodeHexDigits(p_, N, out->data())) return false;
    p_ += 2 * N;
    return Char('"');
  }
  bool QuotedBool(bool* out) {
    if (Lit("false")) {
      *out = false;
      return true;
    }
    if (Lit("true")) {
      *out = true;
      return true;
    }
    return false;
  }

  // Any row of the accepted shape, whitespace included.
  bool GeneralRow(ValidatorInfo* row) {
    return Char('{') && Key("\"index\"") && QuotedU64(&row->index) && Comma() &&
           Key("\"balance\"") && QuotedU64(&row->balance) && Comma() && Key("\"status\"") &&
           QuotedStatus(&row->status) && Comma() && Key("\"validator\"") && Char('{') &&
           Key("\"pubkey\"") && QuotedHex(&row->pubkey) && Comma() &&
           Key("\"withdrawal_credentials\"") && QuotedHex(&row->withdrawal_credentials) &&
           Comma() && Key("\"effective_balance\"") && QuotedU64(&row->effective_balance) &&
           Comma() && Key("\"slashed\"") && QuotedBool(&row->slashed) && Comma() &&
           Key("\"activation_eligibility_epoch\"") &&
           QuotedU64(&row->activation_eligibility_epoch) && Comma() &&
           Key("\"activation_epoch\"") && QuotedU64(&row->activation_epoch) && Comma() &&
           Key("\"exit_epoch\"") && QuotedU64(&row->exit_epoch) && Comma() &&
           Key("\"withdrawable_epoch\"") && QuotedU64(&row->withdrawable_epoch) && Closing() &&
           Closing();
  }
  bool Closing() {
    Ws();
    return Char('}');
  }
};

// The smallest validators row (one-digit numbers, an empty status, "slashed":true) and its
// separator take 397 bytes, so this many rows never regrow the vector.
size_t MaxValidatorRows(std::string_view body) { return body.size() / 397 + 1; }

template <typename Slow>
absl::StatusOr<std::vector<ValidatorInfo>> DecodeValidatorRows(std::string_view body, Slow&& slow) {
  RETURN_IF_ERROR(CheckBodySize("validators", body));
  std::vector<ValidatorInfo> out;
  ReserveRows(&out, MaxValidatorRows(body));
  if (ValidatorsScanner(body).Scan(&out)) return out;
  out = {};  // free the reservation before the slow path makes its own
  return slow();
}

}  // namespace

absl::StatusOr<std::vector<ValidatorInfo>> DecodeValidators(std::string_view body) {
  return DecodeValidatorRows(body, [&] {
    return DecodeCopy<std::vector<ValidatorInfo>>("validators", body, ReadValidators);
  });
}
absl::StatusOr<std::vector<ValidatorInfo>> DecodeValidators(PaddedBody body) {
  return DecodeValidatorRows(body.body(), [&] {
    return DecodePadded<std::vector<ValidatorInfo>>("validators", body, ReadValidators);
  });
}

absl::StatusOr<AttestationRewards> DecodeAttestationRewards(std::string_view body) {
  return DecodeRewards(body, [&] {
    return DecodeCopy<AttestationRewards>("attestation_rewards", body, ReadAttestationRewards);
  });
}
absl::StatusOr<AttestationRewards> DecodeAttestationRewards(PaddedBody body) {
  return DecodeRewards(body.body(), [&] {
    return DecodePadded<AttestationRewards>("attestation_rewards", body, ReadAttestationRewards);
  });
}

absl::StatusOr<std::vector<ValidatorBalance>> DecodeValidatorBalances(std::string_view body) {
  return DecodeBalances(body, [&] {
    return DecodeCopy<std::vector<ValidatorBalance>>(
        "validator_balances", body,
        [rows = ExpectedBalanceRows(body)](od::object& root, const Path& p,
                                           std::vector<ValidatorBalance>* out) {
          return ReadValidatorBalances(root, p, rows, out);
        });
  });
}
absl::StatusOr<std::vector<ValidatorBalance>> DecodeValidatorBalances(PaddedBody body) {
  return DecodeBalances(body.body(), [&] {
    return DecodePadded<std::vector<ValidatorBalance>>(
        "validator_balances", body,
        [rows = ExpectedBalanceRows(body.body())](od::object& root, const Path& p,
                                                  std::vector<ValidatorBalance>* out) {
          return ReadValidatorBalances(root, p, rows, out);
        });
  });
}

bool ParseHexInto(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 + 2 * n || hex[0] != '0' || hex[1] != 'x') return false;
  return DecodeHexDigits(hex.data() + 2, n, out);
}

bool ParseHexBytes(std::string_view hex, std::vector<uint8_t>* out) {
  if (hex.size() < 2 || hex[0] != '0' || hex[1] != 'x' || hex.size() % 2 != 0) return false;
  out->resize((hex.size() - 2) / 2);
  return DecodeHexDigits(hex.data() + 2, out->size(), out->data());
}

bool ParseUint64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return DigitsToU64(s.data(), s.size(), out);
}

std::string ToHex(const uint8_t* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 + 2 * size, '0');
  out[1] = 'x';
  for (size_t i = 0; i < size; ++i) {
    out[2 + 2 * i] = kDigits[data[i] >> 4];
    out[3 + 2 * i] = kDigits[data[i] & 0xf];
  }
  return out;
}

}  // namespace stakewatch::beacon
