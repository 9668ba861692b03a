#include "events/sse.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace stakewatch::events {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Parses the value of a "retry" field: ASCII digits only, within uint64.
std::optional<uint64_t> ParseRetry(std::string_view value) {
  if (value.empty() || value.size() > 19) return std::nullopt;  // 19 digits always fit
  uint64_t v = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

}  // namespace

SseParser::SseParser(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

void SseParser::Reset() {
  line_.clear();
  after_cr_ = false;
  first_line_ = true;
  type_.clear();
  data_.clear();
  last_id_.clear();
  retry_ms_.reset();
  error_ = absl::OkStatus();
}

absl::Status SseParser::Append(std::string_view bytes) {
  if (bytes.size() > max_line_bytes_ - line_.size()) {
    error_ = absl::ResourceExhaustedError(
        absl::StrCat("event stream line longer than the limit of ", max_line_bytes_, " bytes"));
    line_.clear();
    line_.shrink_to_fit();
    return error_;
  }
  line_.append(bytes.data(), bytes.size());
  return absl::OkStatus();
}

absl::Status SseParser::Feed(std::string_view chunk, std::vector<SseEvent>* out) {
  if (!error_.ok()) return error_;
  size_t i = 0;
  while (i < chunk.size()) {
    if (after_cr_) {
      after_cr_ = false;
      if (chunk[i] == '\n') {  // the second half of "\r\n"
        ++i;
        continue;
      }
    }
    const size_t end = chunk.find_first_of("\r\n", i);
    if (end == std::string_view::npos) return Append(chunk.substr(i));
    if (absl::Status s = Append(chunk.substr(i, end - i)); !s.ok()) return s;
    after_cr_ = chunk[end] == '\r';
    i = end + 1;
    if (absl::Status s = ProcessLine(out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SseParser::ProcessLine(std::vector<SseEvent>* out) {
  std::string_view line = line_;
  if (first_line_) {
    first_line_ = false;
    if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
  }
  absl::Status status;
  if (line.empty()) {
    Dispatch(out);
  } else if (line[0] != ':') {  // lines starting with ':' are comments
    std::string_view field = line;
    std::string_view value;
    if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
      field = line.substr(0, colon);
      value = line.substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "event") {
      type_.assign(value.data(), value.size());
    } else if (field == "data") {
      // data_ never exceeds the limit, so the subtraction cannot wrap.
      if (value.size() + 1 > max_line_bytes_ - data_.size()) {
        error_ = absl::ResourceExhaustedError(absl::StrCat(
            "event stream event data longer than the limit of ", max_line_bytes_, " bytes"));
        data_.clear();
        data_.shrink_to_fit();
        status = error_;
      } else {
        data_.append(value.data(), value.size());
        data_.push_back('\n');
      }
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_id_.assign(value.data(), value.size());
    } else if (field == "retry") {
      if (std::optional<uint64_t> ms = ParseRetry(value)) retry_ms_ = ms;
    }
    // Other fields are ignored.
  }
  line_.clear();
  return status;
}

void SseParser::Dispatch(std::vector<SseEvent>* out) {
  if (data_.empty()) {
    type_.clear();
    return;
  }
  data_.pop_back();  // the '\n' after the last data line
  SseEvent event;
  event.type = type_.empty() ? "message" : std::move(type_);
  event.data = std::move(data_);
  event.id = last_id_;
  out->push_back(std::move(event));
  type_.clear();
  data_.clear();
}

}  // namespace stakewatch::events
