// Tests for the PromQL lexer, parser and printer against Prometheus 2.42.
//
// - kParseCases / kFormatCases (promql_test_cases.inc): ~500 inputs, most taken from
//   promql/parser/parse_test.go, with the error text or String() produced by the installed
//   Prometheus 2.42 (`promtool check rules`, and the rules API of a running `prometheus`).
// - AST shapes and lexer token streams below are worked out by hand from the input and from
//   parse_test.go / lex_test.go.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "promql/ast.h"
#include "promql/functions.h"
#include "promql/lexer.h"
#include "promql/parser.h"

namespace stakewatch::promql {
namespace {

#include "promql/promql_test_cases.inc"

using ::testing::ElementsAre;

TEST(ParseTableTest, MatchesPrometheus242) {
  int failures = 0;
  for (const ParseCase& c : kParseCases) {
    absl::StatusOr<ExprPtr> e = ParseExpr(c.input);
    const std::string got = e.ok() ? "OK" : std::string(e.status().message());
    if (got != c.want) {
      ++failures;
      ADD_FAILURE() << "input: " << c.input << "\n want: " << c.want << "\n  got: " << got;
    }
    if (!e.ok()) {
      EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << c.input;
    }
  }
  EXPECT_EQ(failures, 0);
}

TEST(FormatTableTest, MatchesPrometheusStringAndRoundTrips) {
  for (const FormatCase& c : kFormatCases) {
    absl::StatusOr<ExprPtr> e = ParseExpr(c.input);
    ASSERT_TRUE(e.ok()) << c.input << ": " << e.status();
    EXPECT_EQ(Format(**e), c.want) << "input: " << c.input;
    // Printing is a fixed point: the printed form parses back to the same text.
    absl::StatusOr<ExprPtr> again = ParseExpr(c.want);
    ASSERT_TRUE(again.ok()) << c.want << ": " << again.status();
    EXPECT_EQ(Format(**again), c.want);
  }
}

// ---- AST shapes (parse_test.go expectations, checked by hand). ----

ExprPtr MustParse(std::string_view in) {
  absl::StatusOr<ExprPtr> e = ParseExpr(in);
  EXPECT_TRUE(e.ok()) << in << ": " << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

TEST(AstTest, UnaryMinusBindsLooserThanPow) {
  // "-1^2" is -(1^2): UnaryExpr(SUB, BinaryExpr(POW, 1@[1,2), 2@[3,4))).
  ExprPtr e = MustParse("-1^2");
  ASSERT_NE(e, nullptr);
  const auto* u = std::get_if<UnaryExpr>(&e->node);
  ASSERT_NE(u, nullptr);
  EXPECT_EQ(u->op, UnaryOp::kSub);
  const auto* b = std::get_if<BinaryExpr>(&u->expr->node);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->op, BinaryOp::kPow);
  EXPECT_EQ(std::get<NumberLiteral>(b->lhs->node).value, 1);
  EXPECT_EQ(b->lhs->pos.start, 1);
  EXPECT_EQ(b->lhs->pos.end, 2);
  EXPECT_EQ(b->rhs->pos.start, 3);
  EXPECT_EQ(Type(*e), ValueType::kScalar);
}

TEST(AstTest, NegativeLiteralFoldsAndPrecedence) {
  // "+1 + -2 * 1" is 1 + ((-2) * 1); -2 is a NumberLiteral spanning [5,7).
  ExprPtr e = MustParse("+1 + -2 * 1");
  ASSERT_NE(e, nullptr);
  const auto& add = std::get<BinaryExpr>(e->node);
  EXPECT_EQ(add.op, BinaryOp::kAdd);
  EXPECT_EQ(std::get<NumberLiteral>(add.lhs->node).value, 1);
  EXPECT_EQ(add.lhs->pos.start, 0);
  EXPECT_EQ(add.lhs->pos.end, 2);
  const auto& mul = std::get<BinaryExpr>(add.rhs->node);
  EXPECT_EQ(mul.op, BinaryOp::kMul);
  EXPECT_EQ(std::get<NumberLiteral>(mul.lhs->node).value, -2);
  EXPECT_EQ(mul.lhs->pos.start, 5);
  EXPECT_EQ(mul.lhs->pos.end, 7);
  // Scalar-scalar: no vector matching.
  EXPECT_FALSE(add.vector_matching.has_value());
}

TEST(AstTest, PowIsRightAssociativeOthersLeft) {
  ExprPtr e = MustParse("2 ^ 3 ^ 2");
  const auto& top = std::get<BinaryExpr>(e->node);
  EXPECT_EQ(std::get<NumberLiteral>(top.lhs->node).value, 2);
  EXPECT_TRUE(std::holds_alternative<BinaryExpr>(top.rhs->node));
  ExprPtr f = MustParse("8 / 4 / 2");
  const auto& top2 = std::get<BinaryExpr>(f->node);
  EXPECT_TRUE(std::holds_alternative<BinaryExpr>(top2.lhs->node));
  EXPECT_EQ(std::get<NumberLiteral>(top2.rhs->node).value, 2);
}

TEST(AstTest, NumbersLikeGo) {
  struct {
    const char* in;
    double want;
  } cases[] = {{"0xc", 12}, {"0755", 493}, {"-0755", -493}, {"+5.5e-3", 0.0055},
               {".5", 0.5}, {"5.", 5},     {"5e3", 5000},   {"08", 8}};
  for (const auto& c : cases) {
    ExprPtr e = MustParse(c.in);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(std::get<NumberLiteral>(e->node).value, c.want) << c.in;
  }
  EXPECT_TRUE(std::isinf(std::get<NumberLiteral>(MustParse("-Inf")->node).value));
  EXPECT_TRUE(std::isnan(std::get<NumberLiteral>(MustParse("nAN")->node).value));
}

TEST(AstTest, SelectorMatchersInSourceOrderWithNameLast) {
  ExprPtr e = MustParse(R"(foo{a="b", foo!="bar", test=~"test", bar!~"baz",})");
  const auto& vs = std::get<VectorSelector>(e->node);
  EXPECT_EQ(vs.name, "foo");
  ASSERT_EQ(vs.matchers.size(), 5u);
  EXPECT_EQ(vs.matchers[0].name, "a");
  EXPECT_EQ(vs.matchers[0].type, MatchType::kEqual);
  EXPECT_EQ(vs.matchers[1].type, MatchType::kNotEqual);
  EXPECT_EQ(vs.matchers[2].type, MatchType::kRegexMatch);
  EXPECT_EQ(vs.matchers[3].type, MatchType::kRegexNoMatch);
  EXPECT_EQ(vs.matchers[4].name, "__name__");
  EXPECT_EQ(vs.matchers[4].value, "foo");
  // Regexes are fully anchored.
  EXPECT_TRUE(vs.matchers[2].Matches("test"));
  EXPECT_FALSE(vs.matchers[2].Matches("testx"));
  EXPECT_FALSE(vs.matchers[2].Matches("xtest"));
  EXPECT_TRUE(vs.matchers[3].Matches("bazz"));
  EXPECT_FALSE(vs.matchers[3].Matches("baz"));
  EXPECT_EQ(e->pos.start, 0);
  EXPECT_EQ(e->pos.end, 49);
}

TEST(AstTest, OffsetAndAt) {
  {
    ExprPtr held1 = MustParse("foo offset -7m");
    const auto& vs = std::get<VectorSelector>(held1->node);
    EXPECT_EQ(vs.original_offset_ms, -7 * 60 * 1000);
  }
  {
    ExprPtr held2 = MustParse("foo OFFSET 1h30m");
    const auto& vs = std::get<VectorSelector>(held2->node);
    EXPECT_EQ(vs.original_offset_ms, 90 * 60 * 1000);
  }
  {
    ExprPtr held3 = MustParse("foo @ 3.3335");
    const auto& vs = std::get<VectorSelector>(held3->node);
    ASSERT_TRUE(vs.timestamp_ms.has_value());
    EXPECT_EQ(*vs.timestamp_ms, 3334);  // math.Round(3333.5)
  }
  {
    ExprPtr held4 = MustParse("foo @ -100");
    const auto& vs = std::get<VectorSelector>(held4->node);
    EXPECT_EQ(*vs.timestamp_ms, -100000);
  }
  {
    ExprPtr held5 = MustParse("foo[5m30s] @ 1603774568 offset 5m");
    const auto& ms = std::get<MatrixSelector>(held5->node);
    EXPECT_EQ(ms.range_ms, 330000);
    EXPECT_EQ(*ms.vector_selector.timestamp_ms, 1603774568000);
    EXPECT_EQ(ms.vector_selector.original_offset_ms, 300000);
  }
  {
    ExprPtr held6 = MustParse("test[5y] @ end()");
    const auto& ms = std::get<MatrixSelector>(held6->node);
    EXPECT_EQ(ms.vector_selector.start_or_end, AtModifier::kEnd);
    EXPECT_FALSE(ms.vector_selector.timestamp_ms.has_value());
  }
}

TEST(AstTest, Subquery) {
  ExprPtr e = MustParse(R"(foo{bar="baz"}[10m5s:1h6ms] offset 4m)");
  const auto& sq = std::get<SubqueryExpr>(e->node);
  EXPECT_EQ(sq.range_ms, 605000);
  EXPECT_EQ(sq.step_ms, 3600006);
  EXPECT_EQ(sq.original_offset_ms, 240000);
  EXPECT_TRUE(std::holds_alternative<VectorSelector>(sq.expr->node));
  EXPECT_EQ(Type(*e), ValueType::kMatrix);
  ExprPtr held7 = MustParse("foo[10m:]");
  const auto& sq2 = std::get<SubqueryExpr>(held7->node);
  EXPECT_EQ(sq2.step_ms, 0);
}

TEST(AstTest, VectorMatching) {
  {
    ExprPtr held8 = MustParse("foo * on(test,blub) group_left bar");
    const auto& b = std::get<BinaryExpr>(held8->node);
    ASSERT_TRUE(b.vector_matching.has_value());
    EXPECT_EQ(b.vector_matching->card, VectorMatchCardinality::kManyToOne);
    EXPECT_TRUE(b.vector_matching->on);
    EXPECT_THAT(b.vector_matching->matching_labels, ElementsAre("test", "blub"));
    EXPECT_TRUE(b.vector_matching->include.empty());
  }
  {
    ExprPtr held9 = MustParse("foo - ignoring(test,blub) group_right(bar,foo) bar");
    const auto& b = std::get<BinaryExpr>(held9->node);
    EXPECT_EQ(b.vector_matching->card, VectorMatchCardinality::kOneToMany);
    EXPECT_FALSE(b.vector_matching->on);
    EXPECT_THAT(b.vector_matching->include, ElementsAre("bar", "foo"));
  }
  {
    ExprPtr held10 = MustParse("foo and bar");
    const auto& b = std::get<BinaryExpr>(held10->node);
    EXPECT_EQ(b.vector_matching->card, VectorMatchCardinality::kManyToMany);
  }
  {
    ExprPtr held11 = MustParse("foo == bool 1");
    const auto& b = std::get<BinaryExpr>(held11->node);
    EXPECT_TRUE(b.return_bool);
    EXPECT_FALSE(b.vector_matching.has_value());
  }
}

TEST(AstTest, AggregatesAndCalls) {
  {
    ExprPtr held12 = MustParse("sum (some_metric) without (foo)");
    const auto& a = std::get<AggregateExpr>(held12->node);
    EXPECT_EQ(a.op, AggregateOp::kSum);
    EXPECT_TRUE(a.without);
    EXPECT_THAT(a.grouping, ElementsAre("foo"));
    EXPECT_EQ(a.param, nullptr);
  }
  {
    ExprPtr held13 = MustParse("topk(5, some_metric)");
    const auto& a = std::get<AggregateExpr>(held13->node);
    EXPECT_EQ(std::get<NumberLiteral>(a.param->node).value, 5);
    EXPECT_EQ(std::get<VectorSelector>(a.expr->node).name, "some_metric");
  }
  {
    ExprPtr held14 = MustParse("sum without(and, by, avg, count, alert, annotations)(some_metric)");
    const auto& a = std::get<AggregateExpr>(held14->node);
    EXPECT_THAT(a.grouping, ElementsAre("and", "by", "avg", "count", "alert", "annotations"));
  }
  {
    ExprPtr e = MustParse("round(some_metric, 5)");
    const auto& c = std::get<Call>(e->node);
    EXPECT_EQ(c.func->name, "round");
    ASSERT_EQ(c.args.size(), 2u);
    EXPECT_EQ(Type(*e), ValueType::kVector);
    EXPECT_EQ(Type(*MustParse("time()")), ValueType::kScalar);
    EXPECT_EQ(Type(*MustParse("\"x\"")), ValueType::kString);
  }
  {
    // Keywords and aggregator names are metric names where the grammar allows it.
    EXPECT_EQ(std::get<VectorSelector>(MustParse("min")->node).name, "min");
    EXPECT_EQ(std::get<VectorSelector>(MustParse("by")->node).name, "by");
  }
}

TEST(AstTest, StringEscapes) {
  EXPECT_EQ(std::get<StringLiteral>(MustParse(R"("a\tb\x41\101\u00e9")")->node).value,
            "a\tbAA\xc3\xa9");
  EXPECT_EQ(std::get<StringLiteral>(MustParse(R"('it\'s')")->node).value, "it's");
  EXPECT_EQ(std::get<StringLiteral>(MustParse(R"(`a\nb`)")->node).value, "a\\nb");
}

TEST(ParserTest, NestingDepthIsCapped) {
  std::string deep(100000, '(');
  deep += "1";
  deep += std::string(100000, ')');
  absl::StatusOr<ExprPtr> e = ParseExpr(deep);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(std::string(e.status().message()),
              ::testing::HasSubstr("parse error: expression nesting too deep (max 300)"));
  std::string unary(100000, '-');
  unary += "foo";
  EXPECT_FALSE(ParseExpr(unary).ok());
  std::string chain = "1";
  for (int i = 0; i < 100000; ++i) chain += "+1";
  EXPECT_FALSE(ParseExpr(chain).ok());
  std::string pow = "1";
  for (int i = 0; i < 100000; ++i) pow += "^1";
  EXPECT_FALSE(ParseExpr(pow).ok());
  // 250 levels are fine.
  std::string ok = std::string(250, '(') + "1" + std::string(250, ')');
  EXPECT_TRUE(ParseExpr(ok).ok());
}

// Random token soup must never crash or hang, and whatever parses must print to a fixed point.
// ("Inf" is left out: like Prometheus, +Inf prints as "+Inf", so "Inf ^ x" under a unary plus
// reprints with an extra "+".)
TEST(ParserTest, RandomInputsAreSafe) {
  const char* kPieces[] = {"foo",       "bar{a=\"b\"}",
                           "1",         "-",
                           "+",         "*",
                           "/",         "^",
                           "(",         ")",
                           "[5m]",      "[5m:1m]",
                           "offset 1m", "@ 10",
                           "@ start()", "sum",
                           "by (a)",    "rate",
                           ",",         "and",
                           "on(a)",     "group_left",
                           "bool",      "==",
                           "\"s\"",     "{",
                           "}",         "#c\n",
                           " ",         "topk",
                           "1e3",       "[",
                           "]",         ":",
                           "!=",        "=~"};
  std::mt19937 rng(42);
  std::uniform_int_distribution<size_t> pick(0, std::size(kPieces) - 1);
  std::uniform_int_distribution<int> len(1, 12);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string in;
    for (int n = len(rng); n > 0; --n) absl::StrAppend(&in, kPieces[pick(rng)], " ");
    absl::StatusOr<ExprPtr> e = ParseExpr(in);
    if (!e.ok()) {
      EXPECT_THAT(std::string(e.status().message()), ::testing::HasSubstr("parse error: ")) << in;
      continue;
    }
    ++parsed;
    const std::string once = Format(**e);
    absl::StatusOr<ExprPtr> again = ParseExpr(once);
    ASSERT_TRUE(again.ok()) << in << " -> " << once << ": " << again.status();
    EXPECT_EQ(Format(**again), once) << in;
  }
  EXPECT_GT(parsed, 100);
}

TEST(ParserTest, ParseMetricSelector) {
  absl::StatusOr<std::vector<Matcher>> m = ParseMetricSelector(R"(up{job="a",i=~"x.*"})");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0].name, "job");
  EXPECT_EQ((*m)[1].type, MatchType::kRegexMatch);
  EXPECT_TRUE((*m)[1].Matches("xyz"));
  EXPECT_EQ((*m)[2].name, "__name__");
  EXPECT_EQ((*m)[2].value, "up");
  // No type checks: an empty selector is accepted here.
  absl::StatusOr<std::vector<Matcher>> empty = ParseMetricSelector("{}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_FALSE(ParseMetricSelector("up + 1").ok());
  EXPECT_FALSE(ParseMetricSelector("rate(x[5m])").ok());
  EXPECT_FALSE(ParseMetricSelector("").ok());
}

TEST(ParserTest, ErrorPositionCountsLines) {
  absl::StatusOr<ExprPtr> e = ParseExpr("foo +\n  bar baz");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "2:7: parse error: unexpected identifier \"baz\"");
}

TEST(FunctionsTest, Table) {
  EXPECT_EQ(AllFunctions().size(), 70u);
  const Function* f = GetFunction("label_join");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->variadic, -1);
  EXPECT_THAT(f->arg_types, ElementsAre(ValueType::kVector, ValueType::kString, ValueType::kString,
                                        ValueType::kString));
  EXPECT_EQ(GetFunction("nope"), nullptr);
  EXPECT_EQ(GetFunction("scalar")->return_type, ValueType::kScalar);
}

TEST(FormatTest, Helpers) {
  EXPECT_EQ(FormatDuration(0), "0s");
  EXPECT_EQ(FormatDuration(90000), "1m30s");
  EXPECT_EQ(FormatDuration(8 * 86400000LL), "8d");  // w only when exact
  EXPECT_EQ(FormatDuration(14 * 86400000LL), "2w");
  EXPECT_EQ(FormatDuration(366 * 86400000LL), "366d");
  EXPECT_EQ(FormatFloat(1e6), "1e+06");
  EXPECT_EQ(FormatFloat(123456), "123456");
  EXPECT_EQ(FormatFloat(1e-5), "1e-05");
  EXPECT_EQ(FormatFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatFloat(-2.5), "-2.5");
  EXPECT_EQ(FormatFloat(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(GoQuote("a\"b\\\n\x01\xff"), "\"a\\\"b\\\\\\n\\x01\\xff\"");
}

// ---- Lexer (lex_test.go cases, expected tokens worked out by hand). ----

struct Tok {
  ItemType type;
  int pos;
  std::string val;
  bool operator==(const Tok& o) const { return type == o.type && pos == o.pos && val == o.val; }
};

void PrintTo(const Tok& t, std::ostream* os) {
  *os << "{" << static_cast<int>(t.type) << "," << t.pos << ",\"" << t.val << "\"}";
}

std::vector<Tok> LexAll(std::string_view in, std::string* err) {
  Lexer lex(in);
  std::vector<Tok> out;
  for (;;) {
    Item it = lex.Next();
    if (it.type == ItemType::kEOF) break;
    if (it.type == ItemType::kError) {
      *err = it.error;
      break;
    }
    out.push_back({it.type, it.pos, std::string(it.val)});
  }
  return out;
}

TEST(LexerTest, Tokens) {
  using T = ItemType;
  struct Case {
    const char* in;
    std::vector<Tok> want;
  } cases[] = {
      {",", {{T::kComma, 0, ","}}},
      {"()", {{T::kLeftParen, 0, "("}, {T::kRightParen, 1, ")"}}},
      {"{}", {{T::kLeftBrace, 0, "{"}, {T::kRightBrace, 1, "}"}}},
      {"[5m]", {{T::kLeftBracket, 0, "["}, {T::kDuration, 1, "5m"}, {T::kRightBracket, 3, "]"}}},
      {"[ 5m]", {{T::kLeftBracket, 0, "["}, {T::kDuration, 2, "5m"}, {T::kRightBracket, 4, "]"}}},
      {"[5m :1m]",
       {{T::kLeftBracket, 0, "["},
        {T::kDuration, 1, "5m"},
        {T::kColon, 4, ":"},
        {T::kDuration, 5, "1m"},
        {T::kRightBracket, 7, "]"}}},
      {"\r\n\r", {}},
      {"1", {{T::kNumber, 0, "1"}}},
      {"4.23", {{T::kNumber, 0, "4.23"}}},
      {".3", {{T::kNumber, 0, ".3"}}},
      {"5.", {{T::kNumber, 0, "5."}}},
      {"NaN", {{T::kNumber, 0, "NaN"}}},
      {"nAN", {{T::kNumber, 0, "nAN"}}},
      {"NaN 123", {{T::kNumber, 0, "NaN"}, {T::kNumber, 4, "123"}}},
      {"NaN123", {{T::kIdentifier, 0, "NaN123"}}},
      {"iNf", {{T::kNumber, 0, "iNf"}}},
      {"+Inf", {{T::kAdd, 0, "+"}, {T::kNumber, 1, "Inf"}}},
      {"Infoo", {{T::kIdentifier, 0, "Infoo"}}},
      {"0x123", {{T::kNumber, 0, "0x123"}}},
      {"\"test\\tsequence\"", {{T::kString, 0, "\"test\\tsequence\""}}},
      {"`test\\tsequence`", {{T::kString, 0, "`test\\tsequence`"}}},
      {"5s", {{T::kDuration, 0, "5s"}}},
      {"123m", {{T::kDuration, 0, "123m"}}},
      {"1h", {{T::kDuration, 0, "1h"}}},
      {"3w", {{T::kDuration, 0, "3w"}}},
      {"1y", {{T::kDuration, 0, "1y"}}},
      {"abc", {{T::kIdentifier, 0, "abc"}}},
      {"a:bc", {{T::kMetricIdentifier, 0, "a:bc"}}},
      {"abc d", {{T::kIdentifier, 0, "abc"}, {T::kIdentifier, 4, "d"}}},
      {":bc", {{T::kMetricIdentifier, 0, ":bc"}}},
      {"# some comment", {{T::kComment, 0, "# some comment"}}},
      {"5 # 1+1\n5", {{T::kNumber, 0, "5"}, {T::kComment, 2, "# 1+1"}, {T::kNumber, 8, "5"}}},
      {"=", {{T::kEql, 0, "="}}},
      {"{=}", {{T::kLeftBrace, 0, "{"}, {T::kEql, 1, "="}, {T::kRightBrace, 2, "}"}}},
      {"==", {{T::kEqlc, 0, "=="}}},
      {"!=", {{T::kNeq, 0, "!="}}},
      {"<", {{T::kLss, 0, "<"}}},
      {">=", {{T::kGte, 0, ">="}}},
      {"%", {{T::kMod, 0, "%"}}},
      {"^", {{T::kPow, 0, "^"}}},
      {"@", {{T::kAt, 0, "@"}}},
      {"and", {{T::kLand, 0, "and"}}},
      {"unless", {{T::kLunless, 0, "unless"}}},
      {"atan2", {{T::kAtan2, 0, "atan2"}}},
      {"AVG", {{T::kAvg, 0, "AVG"}}},
      {"count_values", {{T::kCountValues, 0, "count_values"}}},
      {"offset", {{T::kOffset, 0, "offset"}}},
      {"group_left", {{T::kGroupLeft, 0, "group_left"}}},
      {"start", {{T::kStart, 0, "start"}}},
      {"{foo='bar'}",
       {{T::kLeftBrace, 0, "{"},
        {T::kIdentifier, 1, "foo"},
        {T::kEql, 4, "="},
        {T::kString, 5, "'bar'"},
        {T::kRightBrace, 10, "}"}}},
      {"{NaN\t!= \"bar\" }",
       {{T::kLeftBrace, 0, "{"},
        {T::kIdentifier, 1, "NaN"},
        {T::kNeq, 5, "!="},
        {T::kString, 8, "\"bar\""},
        {T::kRightBrace, 14, "}"}}},
      {"{alert=~\"bar\" }",
       {{T::kLeftBrace, 0, "{"},
        {T::kIdentifier, 1, "alert"},
        {T::kEqlRegex, 6, "=~"},
        {T::kString, 8, "\"bar\""},
        {T::kRightBrace, 14, "}"}}},
      {"{on!~\"bar\"}",
       {{T::kLeftBrace, 0, "{"},
        {T::kIdentifier, 1, "on"},
        {T::kNeqRegex, 3, "!~"},
        {T::kString, 5, "\"bar\""},
        {T::kRightBrace, 10, "}"}}},
      {"test:name{on!~\"b:ar\"}[4m:4s] offset 10m",
       {{T::kMetricIdentifier, 0, "test:name"},
        {T::kLeftBrace, 9, "{"},
        {T::kIdentifier, 10, "on"},
        {T::kNeqRegex, 12, "!~"},
        {T::kString, 14, "\"b:ar\""},
        {T::kRightBrace, 20, "}"},
        {T::kLeftBracket, 21, "["},
        {T::kDuration, 22, "4m"},
        {T::kColon, 24, ":"},
        {T::kDuration, 25, "4s"},
        {T::kRightBracket, 27, "]"},
        {T::kOffset, 29, "offset"},
        {T::kDuration, 36, "10m"}}},
  };
  for (const Case& c : cases) {
    std::string err;
    EXPECT_EQ(LexAll(c.in, &err), c.want) << c.in;
    EXPECT_EQ(err, "") << c.in;
  }
}

TEST(LexerTest, Errors) {
  struct {
    const char* in;
    const char* err;
  } cases[] = {
      {"=~", "unexpected character after '=': '~'"},
      {"!~", "unexpected character after '!': '~'"},
      {"!(", "unexpected character after '!': '('"},
      {"1a", "bad number or duration syntax: \"1\""},
      {"(", "unclosed left parenthesis"},
      {"())", "unexpected right parenthesis ')'"},
      {"{", "unexpected end of input inside braces"},
      {"}", "unexpected character: '}'"},
      {"{{", "unexpected left brace '{'"},
      {"[", "missing unit character in duration"},
      {"[[", "missing unit character in duration"},
      {"[5m][", "missing unit character in duration"},
      {"[5m] [5m]]", "unexpected right bracket ']'"},
      {"]", "unexpected right bracket ']'"},
      {"\"\xff\"", "invalid UTF-8 rune"},
      {"`\xff`", "invalid UTF-8 rune"},
      {"\"abc", "unterminated quoted string"},
      {"`abc", "unterminated raw string"},
      {"\"\\q\"", "unknown escape sequence U+0071 'q'"},
      {"\"\\xZZ\"", "illegal character U+005A 'Z' in escape sequence"},
      {"\"\\uD800\"", "escape sequence is an invalid Unicode code point"},
      {"{0a='a'}", "unexpected character inside braces: '0'"},
      {"\xe5\x8f\xb0", "unexpected character: '\xe5\x8f\xb0'"},
      {"[5]", "missing unit character in duration"},
      {"[5x]", "bad duration syntax: \"5\""},
  };
  for (const auto& c : cases) {
    std::string err;
    LexAll(c.in, &err);
    EXPECT_EQ(err, c.err) << c.in;
  }
}

TEST(LexerTest, DescribeItem) {
  Lexer lex("foo 1 \"a long string here\" sum by + () @");
  std::vector<std::string> got;
  for (Item it = lex.Next(); it.type != ItemType::kEOF; it = lex.Next()) {
    got.push_back(DescribeItem(it));
  }
  EXPECT_THAT(got, ElementsAre("identifier \"foo\"", "number \"1\"", "string \"\\\"a long st\"...",
                               "<aggr:sum>", "<by>", "<op:+>", "\"(\"", "\")\"",
                               "\"<Item 57385>\" <op:@>"));
}

}  // namespace
}  // namespace stakewatch::promql
