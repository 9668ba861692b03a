#include "sim/options.h"

#include <cmath>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace stakewatch::sim {
namespace {

absl::Status Bad(std::string_view flag, std::string_view value, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("simulate: bad value \"", ToAbsl(value),
                                                 "\" for --", ToAbsl(flag), ": ", ToAbsl(why)));
}

absl::Status ParseU64(std::string_view flag, std::string_view value, uint64_t* out) {
  if (value.empty() || !absl::SimpleAtoi(ToAbsl(value), out) || value[0] == '+' ||
      value[0] == '-') {
    return Bad(flag, value, "expected a non-negative integer");
  }
  return absl::OkStatus();
}

absl::Status ParseDouble(std::string_view flag, std::string_view value, double* out) {
  if (value.empty() || !absl::SimpleAtod(ToAbsl(value), out) || !std::isfinite(*out)) {
    return Bad(flag, value, "expected a number");
  }
  return absl::OkStatus();
}

absl::Status ParseRate(std::string_view flag, std::string_view value, double* out) {
  if (absl::Status s = ParseDouble(flag, value, out); !s.ok()) return s;
  if (*out < 0.0 || *out > 1.0) return Bad(flag, value, "expected a probability in [0, 1]");
  return absl::OkStatus();
}

absl::Status CheckRate(const char* name, double v) {
  if (!(v >= 0.0 && v <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrCat("simulate: ", name, " must be in [0, 1]"));
  }
  return absl::OkStatus();
}

bool IsAddress(std::string_view s) {
  if (s.size() != 42 || s[0] != '0' || s[1] != 'x') return false;
  for (char c : s.substr(2)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::Status ValidateSimOptions(const SimOptions& o) {
  if (o.validators < 1 || o.validators > 1'100'000) {
    return absl::InvalidArgumentError("simulate: validators must be in 1..1100000");
  }
  if (o.slots_per_epoch < 1 || o.slots_per_epoch > 64) {
    return absl::InvalidArgumentError("simulate: slots_per_epoch must be in 1..64");
  }
  const double ms = o.seconds_per_slot * 1000.0;
  if (!std::isfinite(ms) || ms < 10.0 || ms > 3600'000.0 || std::abs(ms - std::round(ms)) > 1e-6) {
    return absl::InvalidArgumentError(
        "simulate: slot time must be a whole number of milliseconds in [0.01, 3600] seconds");
  }
  if (o.genesis_time != absl::FromUnixSeconds(absl::ToUnixSeconds(o.genesis_time)) ||
      o.genesis_time < absl::UnixEpoch()) {
    return absl::InvalidArgumentError("simulate: genesis time must be whole unix seconds >= 0");
  }
  for (auto [name, v] :
       {std::pair{"missed_slot_rate", o.missed_slot_rate},
        std::pair{"missed_attestation_rate", o.missed_attestation_rate},
        std::pair{"late_attestation_rate", o.late_attestation_rate},
        std::pair{"wrong_head_rate", o.wrong_head_rate},
        std::pair{"duplicate_inclusion_rate", o.duplicate_inclusion_rate},
        std::pair{"exited_rate", o.exited_rate}, std::pair{"slashed_rate", o.slashed_rate},
        std::pair{"sync_miss_rate", o.sync_miss_rate}, std::pair{"orphan_rate", o.orphan_rate},
        std::pair{"wrong_fee_recipient_rate", o.wrong_fee_recipient_rate}}) {
    if (absl::Status s = CheckRate(name, v); !s.ok()) return s;
  }
  if (o.exited_rate + o.slashed_rate > 1.0) {
    return absl::InvalidArgumentError("simulate: exited_rate + slashed_rate must be <= 1");
  }
  if (o.missed_slot_rate + o.orphan_rate > 1.0) {
    return absl::InvalidArgumentError("simulate: missed_slot_rate + orphan_rate must be <= 1");
  }
  if (o.reorg_slots > 64) {
    return absl::InvalidArgumentError("simulate: reorg_slots must be in 0..64");
  }
  if (!IsAddress(o.fee_recipient)) {
    return absl::InvalidArgumentError(
        "simulate: fee_recipient must be 0x followed by 40 hex digits");
  }
  if (o.pending_count > 100'000) {
    return absl::InvalidArgumentError("simulate: pending_count must be in 0..100000");
  }
  if (o.withdrawal_every > 1'000'000) {
    return absl::InvalidArgumentError("simulate: withdrawal_every must be in 0..1000000");
  }
  if (o.port < 0 || o.port > 65535) return absl::InvalidArgumentError("simulate: bad port");
  if (o.ground_truth_first_validator > o.ground_truth_last_validator) {
    return absl::InvalidArgumentError("simulate: empty ground-truth validator range");
  }
  return absl::OkStatus();
}

absl::StatusOr<SimOptions> ParseSimFlags(const std::vector<std::string>& args, Clock& clock) {
  SimOptions o;
  bool genesis_set = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (i == 0 && arg == "simulate") continue;
    if (arg.substr(0, 2) != "--") {
      return absl::InvalidArgumentError(absl::StrCat("simulate: unexpected argument \"",
                                                     ToAbsl(arg), "\" (flags are --name=value)"));
    }
    const size_t eq = arg.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("simulate: flag ", ToAbsl(arg), " needs a value (--name=value)"));
    }
    const std::string_view name = arg.substr(2, eq - 2);
    const std::string_view value = arg.substr(eq + 1);
    absl::Status s;
    if (name == "port") {
      uint64_t p = 0;
      s = ParseU64(name, value, &p);
      if (s.ok() && p > 65535) s = Bad(name, value, "expected a port in 0..65535");
      o.port = static_cast<int>(p);
    } else if (name == "listen-address") {
      if (value.empty()) s = Bad(name, value, "empty address");
      o.listen_address = std::string(value);
    } else if (name == "validators") {
      s = ParseU64(name, value, &o.validators);
      if (s.ok() && (o.validators < 1 || o.validators > 1'100'000)) {
        s = Bad(name, value, "expected 1..1100000");
      }
    } else if (name == "slot-time") {
      s = ParseDouble(name, value, &o.seconds_per_slot);
    } else if (name == "seed") {
      s = ParseU64(name, value, &o.seed);
    } else if (name == "peers") {
      s = ParseU64(name, value, &o.peers);
    } else if (name == "genesis-time") {
      uint64_t t = 0;
      s = ParseU64(name, value, &t);
      if (s.ok() && t > (uint64_t{1} << 40)) s = Bad(name, value, "too large");
      o.genesis_time = absl::FromUnixSeconds(static_cast<int64_t>(t));
      genesis_set = true;
    } else if (name == "missed-slot-rate" || name == "missed-proposal-rate") {
      s = ParseRate(name, value, &o.missed_slot_rate);
    } else if (name == "missed-attestation-rate") {
      s = ParseRate(name, value, &o.missed_attestation_rate);
    } else if (name == "late-attestation-rate") {
      s = ParseRate(name, value, &o.late_attestation_rate);
    } else if (name == "wrong-head-rate") {
      s = ParseRate(name, value, &o.wrong_head_rate);
    } else if (name == "duplicate-inclusion-rate") {
      s = ParseRate(name, value, &o.duplicate_inclusion_rate);
    } else if (name == "exited-rate") {
      s = ParseRate(name, value, &o.exited_rate);
    } else if (name == "slashed-rate") {
      s = ParseRate(name, value, &o.slashed_rate);
    } else if (name == "pending-count") {
      s = ParseU64(name, value, &o.pending_count);
      if (s.ok() && o.pending_count > 100'000) s = Bad(name, value, "expected 0..100000");
    } else if (name == "withdrawal-every") {
      s = ParseU64(name, value, &o.withdrawal_every);
      if (s.ok() && o.withdrawal_every > 1'000'000) s = Bad(name, value, "expected 0..1000000");
    } else if (name == "sync-miss-rate") {
      s = ParseRate(name, value, &o.sync_miss_rate);
    } else if (name == "orphan-rate") {
      s = ParseRate(name, value, &o.orphan_rate);
    } else if (name == "reorg-slots") {
      s = ParseU64(name, value, &o.reorg_slots);
      if (s.ok() && o.reorg_slots > 64) s = Bad(name, value, "expected 0..64");
    } else if (name == "fee-recipient") {
      if (!IsAddress(value)) s = Bad(name, value, "expected 0x followed by 40 hex digits");
      o.fee_recipient = std::string(value);
    } else if (name == "wrong-fee-recipient-rate") {
      s = ParseRate(name, value, &o.wrong_fee_recipient_rate);
    } else if (name == "ground-truth") {
      if (value.empty()) s = Bad(name, value, "empty path");
      o.ground_truth_path = std::string(value);
    } else if (name == "ground-truth-validators") {
      std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(value), '-');
      if (parts.size() != 2) {
        s = Bad(name, value, "expected A-B");
      } else {
        s = ParseU64(name, ToStd(parts[0]), &o.ground_truth_first_validator);
        if (s.ok()) s = ParseU64(name, ToStd(parts[1]), &o.ground_truth_last_validator);
        if (s.ok() && o.ground_truth_first_validator > o.ground_truth_last_validator) {
          s = Bad(name, value, "A must be <= B");
        }
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("simulate: unknown flag --", ToAbsl(name), " (see --help)"));
    }
    if (!s.ok()) return s;
  }
  if (absl::Status s = ValidateSimOptions(o); !s.ok()) return s;
  if (!genesis_set) {
    const int64_t now = absl::ToUnixSeconds(clock.Now());
    const double history = 4.0 * static_cast<double>(o.slots_per_epoch) * o.seconds_per_slot;
    o.genesis_time = absl::FromUnixSeconds(now - static_cast<int64_t>(std::ceil(history)));
  }
  return o;
}

absl::StatusOr<SimOptions> ParseSimFlags(const std::vector<std::string>& args) {
  return ParseSimFlags(args, *Clock::Real());
}

std::string SimUsage() {
  return R"(usage: stakewatch simulate [--name=value ...]

Serves a deterministic Electra beacon chain over the Beacon API (JSON) on HTTP.

  --port=5052                    TCP port; 0 picks a free one
  --listen-address=127.0.0.1     address to bind
  --validators=1000              active validators (1..1100000)
  --slot-time=12                 seconds per slot (whole milliseconds, >= 0.01)
  --seed=1                       seed of every random decision
  --peers=50                     connected peers reported by /eth/v1/node/peer_count
  --genesis-time=UNIX            genesis (default: now minus 4 epochs)
  --missed-slot-rate=0           probability that a slot is empty (a missed proposal);
                                 alias --missed-proposal-rate
  --missed-attestation-rate=0    probability that a validator does not attest
  --late-attestation-rate=0      probability that a vote is included 2..8 slots late
  --wrong-head-rate=0            probability that a vote names a wrong head root
  --duplicate-inclusion-rate=0   probability that a vote is included a second time
  --exited-rate=0                fraction of validators that exit (unslashed) at an epoch
                                 1..32 chosen per validator; exited ones leave committees
  --slashed-rate=0               fraction of validators slashed (and so exited) likewise
  --pending-count=0              extra validators deposited but never activated
  --withdrawal-every=0           epochs between a validator's withdrawal sweeps; 0 = auto
                                 (<= 16 withdrawals per block, like mainnet)
  --sync-miss-rate=0             probability that a sync committee member misses a slot
  --orphan-rate=0                probability that a slot's block is orphaned (published but
                                 not canonical); missed-slot-rate + orphan-rate <= 1
  --reorg-slots=0                K: the node follows an orphan at slot s as its head until
                                 slot s + K, then reorgs (0 = orphans are never the head); 0..64
  --fee-recipient=0x00000000000000000000000000000000000fee01
                                 every validator's configured fee recipient
  --wrong-fee-recipient-rate=0   probability that a block pays another fee recipient
  --ground-truth=FILE            write per-epoch ground truth as JSON Lines
  --ground-truth-validators=A-B  only validators A..B (inclusive) in that file
)";
}

std::string SimNodeVersion(const SimOptions& options) {
  return absl::StrCat("stakewatch-sim/v1/", options.seed);
}

}  // namespace stakewatch::sim
