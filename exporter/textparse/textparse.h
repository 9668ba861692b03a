// A streaming parser for the Prometheus text exposition format 0.0.4 and OpenMetrics 1.0, with
// the acceptance rules of Prometheus 2.42's model/textparse (promparse.go + promlex.l,
// openmetricsparse.go + openmetricslex.l): whatever Prometheus 2.42 accepts is accepted, whatever
// it rejects is rejected, and an error names the 1-based line and uses Prometheus's wording:
//
//   line 2: expected label name, got "EQUAL" while parsing: "empty_label_name{=\""
//
// The two lexers are ports of the golex DFAs, byte for byte, including their quirks: text 0.0.4
// allows whitespace almost anywhere, labels without commas and raw newlines inside label values,
// treats a NUL byte at the start of a line as the end of input, and its timestamps are unsigned
// decimal integers of milliseconds; OpenMetrics wants single spaces, no blank lines or comments,
// `# EOF` as the last line, float seconds as timestamps, and exemplars only on `_total` and
// `_bucket` samples (2.42; lifted in 2.43). Values follow Go's strconv.ParseFloat minus what
// 2.42 refuses ('p', 'P' and '_' anywhere, so no hex floats and no digit separators). Label
// values and HELP text must be valid UTF-8. Exemplars are checked and then dropped.
// textparse_test.cc replays 875 bodies whose outcome was recorded from the Prometheus 2.42.0
// binary (test/testdata/textparse/); outcomes and error wording agree.
//
// Not here, as in Prometheus, where the scrape loop does it after metric relabeling (which may
// drop the sample first): rejecting an invalid metric name ("invalid metric name or label
// names: ...") and duplicate label names, a `__name__` in the label block included ("label name
// \"b\" is not unique: invalid sample"). Both fail the whole scrape in 2.42.
//
// Zero-copy: the parser never copies the body. Names and label names are views into the body;
// a label value is a view into the body when it has no escapes, otherwise into a scratch buffer
// owned by the parser. Every view stays valid until the next call to Next() (views into the body
// as long as the body lives). In the steady state Next() does not allocate.
//
//   Parser p(body, Format::kOpenMetrics);
//   for (;;) {
//     absl::StatusOr<Entry> e = p.Next();
//     if (!e.ok()) return e.status();     // the scrape fails, as in Prometheus
//     if (*e == Entry::kEof) break;
//     if (*e == Entry::kSeries) Use(p.series(), p.metric_name(), p.labels(), p.value(),
//     p.timestamp_ms());
//   }
//
// Threads: a Parser is used by one thread; distinct parsers are independent.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace stakewatch::textparse {

enum class Format { kText004, kOpenMetrics };

// Prometheus's choice from a response Content-Type: OpenMetrics for media type
// "application/openmetrics-text" (any parameters), otherwise text 0.0.4. As in Go's
// mime.ParseMediaType, the media type is case-insensitive and a malformed parameter list makes
// the whole header unusable (text 0.0.4).
Format FormatFromContentType(std::string_view content_type);

enum class MetricType {
  kUnknown,  // "untyped" in text 0.0.4, "unknown" in OpenMetrics, or no TYPE line
  kCounter,
  kGauge,
  kHistogram,
  kGaugeHistogram,
  kSummary,
  kInfo,
  kStateset,
};

enum class Entry { kSeries, kType, kHelp, kUnit, kComment, kEof };

struct LabelView {
  std::string_view name;
  std::string_view value;  // unescaped
};

class Parser {
 public:
  // `body` must outlive the parser and every view it returns.
  Parser(std::string_view body, Format format);

  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;

  // The next entry, kEof at the end (OpenMetrics: after "# EOF"; content after it is an error).
  // After an error the parser must not be used again (it keeps returning the same error).
  absl::StatusOr<Entry> Next();

  // kSeries: the bytes of the series, from the metric name to the end of the label block,
  // exactly as in the body (Prometheus uses them as the scrape cache key). Text 0.0.4 allows
  // blanks between the name and "{"; they are part of it, as in Prometheus.
  std::string_view series() const { return series_; }
  // kSeries, kType, kHelp, kUnit: the metric (family) name. Text 0.0.4 quirk kept from 2.42:
  // blanks before a sample's name belong to it (and to series()), so "  up 1" has the name
  // "  up", which the scrape loop's validity check then rejects.
  std::string_view metric_name() const { return name_; }
  // kSeries: labels in order of appearance, without the metric name.
  const std::vector<LabelView>& labels() const { return labels_; }
  // kSeries: the value; NaN is always Prometheus's normal NaN (bits 0x7ff8000000000001).
  double value() const { return value_; }
  // kSeries: the sample's timestamp in ms, if it has one (OpenMetrics seconds are converted
  // as Prometheus does: int64(seconds * 1000), truncated).
  std::optional<int64_t> timestamp_ms() const { return ts_; }
  // kType.
  MetricType type() const { return type_; }
  // kHelp (unescaped), kUnit.
  std::string_view help() const { return text_; }
  std::string_view unit() const { return text_; }
  // kComment (text 0.0.4 only): the whole comment line from '#', without the newline.
  std::string_view comment() const { return text_; }
  // The 1-based line of the current entry (computed on demand).
  int line() const { return LineAt(entry_start_); }

 private:
  enum class Tok : int8_t;
  static const char* TokName(Tok t);
  enum LexState : uint8_t {
    sInit,
    sComment,
    sMeta1,
    sMeta2,
    sLabels,
    sLValue,
    sValue,
    sTimestamp,
    sExemplar,
    sEValue,
    sETimestamp,
  };

  // The byte at `i`: text 0.0.4 sees the body followed by one '\n', as Prometheus appends it.
  unsigned char At(size_t i) const {
    return i < body_.size() ? static_cast<unsigned char>(body_[i]) : '\n';
  }
  unsigned char NextChar();  // golex's l.next()
  Tok LexText();             // promlex.l
  Tok LexOm();               // openmetricslex.l
  Tok TextConsumeComment(unsigned char c);
  Tok NextTextToken();  // skips whitespace tokens
  std::string_view TokBuf() const { return body_.substr(tok_start_, tok_end() - tok_start_); }
  size_t tok_end() const { return pos_ < body_.size() ? pos_ : body_.size(); }

  absl::StatusOr<Entry> NextText();
  absl::StatusOr<Entry> NextOm();
  absl::Status TextLabels();
  absl::Status OmLabels(bool exemplar);
  absl::Status OmExemplar();
  absl::Status AddLabel(std::string_view name, std::string_view raw_value, bool escaped);
  void FinishLabels();
  absl::Status OmFloat(Tok t, const char* after, double* out);

  absl::Status Fail(std::string_view message);                  // at the current token
  absl::Status ParseError(std::string_view expected, Tok got);  // "<exp>, got \"TOKEN\""
  int LineAt(size_t pos) const;

  std::string_view body_;
  size_t end_;  // bytes the lexer sees: body_.size() (+1 for text 0.0.4's virtual '\n')
  Format format_;
  size_t pos_ = 0;        // lexer position (golex l.i)
  size_t tok_start_ = 0;  // golex l.start
  size_t entry_start_ = 0;
  LexState state_ = sInit;
  bool saw_escape_ = false;  // the last label value / text token had a backslash

  std::string_view series_;
  std::string_view name_;
  std::vector<LabelView> labels_;
  std::vector<uint8_t> label_escaped_;
  double value_ = 0;
  std::optional<int64_t> ts_;
  MetricType type_ = MetricType::kUnknown;
  std::string_view text_;  // help, unit or comment
  std::string scratch_;    // unescaped label values / help
  bool eof_seen_ = false;
  absl::Status error_;

  mutable size_t line_pos_ = 0;  // LineAt cache: line_count_ newlines lie before line_pos_
  mutable int line_count_ = 0;
};

}  // namespace stakewatch::textparse
