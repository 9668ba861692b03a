#include "sim/ground_truth.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace stakewatch::sim {

GroundTruthWriter::GroundTruthWriter(const ChainSimulator* sim, std::string path,
                                     ValidatorIndex first, ValidatorIndex last)
    : sim_(sim), path_(std::move(path)), first_(first), last_(last) {}

GroundTruthWriter::~GroundTruthWriter() {
  if (fd_ >= 0) close(fd_);
}

absl::Status GroundTruthWriter::Open() {
  fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    return absl::UnavailableError(
        absl::StrCat("ground truth: cannot open ", path_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string GroundTruthWriter::Render(const EpochGroundTruth& gt) {
  std::string out;
  out.reserve(gt.validators.size() * 200 + gt.slots.size() * 60);
  for (const ValidatorEpochTruth& t : gt.validators) {
    absl::StrAppend(&out, "{\"epoch\":", gt.epoch, ",\"validator_index\":", t.validator_index,
                    ",\"duty_slot\":", t.duty_slot,
                    ",\"included\":", t.included ? "true" : "false");
    if (t.included) {
      absl::StrAppend(&out, ",\"inclusion_slot\":", t.inclusion_slot,
                      ",\"inclusion_delay\":", t.inclusion_slot - t.duty_slot);
    } else {
      out += ",\"inclusion_slot\":null,\"inclusion_delay\":null";
    }
    absl::StrAppend(&out, ",\"committee_index\":", t.committee_index,
                    ",\"committee_position\":", t.committee_position,
                    ",\"attested\":", t.attested ? "true" : "false",
                    ",\"wrong_head\":", t.wrong_head ? "true" : "false");
    absl::StrAppend(&out, ",\"status\":\"", ToAbsl(t.status),
                    "\",\"active\":", t.active ? "true" : "false",
                    ",\"start_balance\":", t.start_balance, ",\"balance\":", t.balance,
                    ",\"effective_balance\":", t.effective_balance,
                    ",\"timely_head\":", t.timely_head ? "true" : "false",
                    ",\"timely_source\":", t.timely_source ? "true" : "false",
                    ",\"timely_target\":", t.timely_target ? "true" : "false");
    absl::StrAppend(
        &out, ",\"reward_head\":", t.reward.head, ",\"reward_target\":", t.reward.target,
        ",\"reward_source\":", t.reward.source, ",\"reward_inactivity\":", t.reward.inactivity,
        ",\"sync_slots\":", t.sync_slots, ",\"sync_participated\":", t.sync_participated,
        ",\"sync_missed\":", t.sync_missed, ",\"proposer_reward\":", t.proposer_reward,
        ",\"sync_reward\":", t.sync_reward, "}\n");
  }
  size_t w = 0;  // gt.withdrawals is in slot order
  for (const SlotTruth& s : gt.slots) {
    absl::StrAppend(&out, "{\"slot\":", s.slot, ",\"proposer_index\":", s.proposer_index,
                    ",\"proposed\":", s.proposed ? "true" : "false", ",\"outcome\":\"",
                    ToAbsl(SlotOutcomeName(s.outcome)), "\",\"fee_recipient\":");
    if (s.fee_recipient) {
      out += '"';
      out += "0x";
      for (uint8_t byte : *s.fee_recipient) {
        static constexpr char kDigits[] = "0123456789abcdef";
        out += kDigits[byte >> 4];
        out += kDigits[byte & 15];
      }
      out += '"';
    } else {
      out += "null";
    }
    absl::StrAppend(&out, ",\"block_reward\":{\"attestations\":", s.reward.attestations,
                    ",\"sync_aggregate\":", s.reward.sync_aggregate,
                    ",\"proposer_slashings\":", s.reward.proposer_slashings,
                    ",\"attester_slashings\":", s.reward.attester_slashings,
                    ",\"total\":", s.reward.total(), "},\"slashings\":[");
    for (size_t i = 0; i < s.slashings.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", "{\"validator_index\":", s.slashings[i].validator_index,
                      ",\"kind\":\"",
                      s.slashings[i].kind == SlashingKind::kAttester ? "attester" : "proposer",
                      "\"}");
    }
    out += "],\"withdrawals\":[";
    for (bool first = true; w < gt.withdrawals.size() && gt.withdrawals[w].first == s.slot;
         ++w, first = false) {
      const Withdrawal& x = gt.withdrawals[w].second;
      absl::StrAppend(&out, first ? "" : ",", "{\"index\":", x.index,
                      ",\"validator_index\":", x.validator_index, ",\"amount\":", x.amount, "}");
    }
    out += "]}\n";
  }
  return out;
}

absl::StatusOr<int> GroundTruthWriter::WriteCompletedEpochs(int max_epochs) {
  if (fd_ < 0) return absl::FailedPreconditionError("ground truth: file not open");
  int written = 0;
  while (written < max_epochs) {
    absl::StatusOr<EpochGroundTruth> gt = sim_->GroundTruth(next_epoch_, first_, last_);
    if (absl::IsFailedPrecondition(gt.status())) break;  // not final yet
    if (!gt.ok()) return gt.status();
    const std::string text = Render(*gt);
    size_t off = 0;
    while (off < text.size()) {
      const ssize_t n = write(fd_, text.data() + off, text.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return absl::UnavailableError(
            absl::StrCat("ground truth: write to ", path_, " failed: ", std::strerror(errno)));
      }
      off += static_cast<size_t>(n);
    }
    ++next_epoch_;
    ++written;
  }
  return written;
}

}  // namespace stakewatch::sim
