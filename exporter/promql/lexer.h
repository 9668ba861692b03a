// The PromQL lexer: a port of Prometheus 2.42's promql/parser/lex.go (expression mode only; the
// promtool series-description mode is not implemented).
//
// Lexer produces one Item at a time; after an ERROR item (whose `error` is the message) or EOF it
// keeps returning EOF. Items point into the input, which must outlive the Lexer.
//
//   Lexer lex("rate(x[5m])");
//   for (Item it = lex.Next(); it.type != ItemType::kEOF; it = lex.Next()) { ... }
//
// Not thread-safe; one Lexer per input.
#pragma once

#include <string>
#include <string_view>

namespace stakewatch::promql {

enum class ItemType {
  kError,
  kEOF,
  kComment,
  kIdentifier,
  kMetricIdentifier,
  kLeftParen,
  kRightParen,
  kLeftBrace,
  kRightBrace,
  kLeftBracket,
  kRightBracket,
  kComma,
  kEql,  // "=" (label matching)
  kColon,
  kString,
  kNumber,
  kDuration,
  // Operators.
  kSub,
  kAdd,
  kMul,
  kMod,
  kDiv,
  kLand,
  kLor,
  kLunless,
  kEqlc,
  kNeq,
  kLte,
  kLss,
  kGte,
  kGtr,
  kEqlRegex,
  kNeqRegex,
  kPow,
  kAtan2,
  kAt,
  // Aggregators.
  kAvg,
  kBottomk,
  kCount,
  kCountValues,
  kGroup,
  kMax,
  kMin,
  kQuantile,
  kStddev,
  kStdvar,
  kSum,
  kTopk,
  // Keywords.
  kBool,
  kBy,
  kGroupLeft,
  kGroupRight,
  kIgnoring,
  kOffset,
  kOn,
  kWithout,
  // Preprocessors.
  kStart,
  kEnd,
};

bool IsOperator(ItemType t);
bool IsAggregator(ItemType t);
bool IsKeyword(ItemType t);

struct Item {
  ItemType type = ItemType::kEOF;
  int pos = 0;           // Byte offset of the item's start.
  std::string_view val;  // The item's text (a view into the input); empty for kError.
  std::string error;     // Owned message of a kError item.
};

// How Prometheus names an item in "unexpected ..." errors (Item.desc()): `end of input`,
// `identifier "foo"`, `number "1"`, `"("`, `<op:+>`, `<aggr:sum>`, `<by>`.
std::string DescribeItem(const Item& item);

class Lexer {
 public:
  explicit Lexer(std::string_view input) : input_(input) {}
  Lexer(const Lexer&) = delete;
  Lexer& operator=(const Lexer&) = delete;

  // Scans and returns the next item (comments included).
  Item Next();

 private:
  enum class State { kStatements, kInsideBraces, kDone };

  int NextRune();  // -1 at EOF; decodes UTF-8 (invalid bytes return 0xFFFD, width 1).
  int Peek();
  void Backup() { pos_ -= width_; }
  bool Accept(std::string_view valid);
  void AcceptRun(std::string_view valid);
  Item Emit(ItemType t);
  Item Errorf(std::string msg);

  bool LexStatements(Item* out);
  bool LexInsideBraces(Item* out);
  Item LexString();
  Item LexRawString();
  bool LexEscape(std::string* err);
  Item LexNumberOrDuration();
  Item LexDuration();
  Item LexKeywordOrIdentifier();
  Item LexIdentifier();
  Item LexLineComment();
  void SkipSpaces();
  bool ScanNumber();
  bool AcceptRemainingDuration();

  std::string_view input_;
  State state_ = State::kStatements;
  int pos_ = 0;
  int start_ = 0;
  int width_ = 0;
  int paren_depth_ = 0;
  bool brace_open_ = false;
  bool bracket_open_ = false;
  bool got_colon_ = false;
  bool pending_duration_ = false;  // The next item is the duration after '['.
  int string_open_ = 0;
};

// Go's %q of a rune: 'a', '\\', '\'', '\n', '\x00'.
std::string GoQuoteRune(int r);

}  // namespace stakewatch::promql
