#include "events/sse.h"

#include <string>
#include <string_view>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::events {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Every rule at least once: BOM, comment, LF / CRLF / CR line ends, one stripped space (and only
// one), a field without colon, id persistence, retry, unknown field, an event without data, an
// event without type, and an unfinished event at the end.
constexpr std::string_view kStream =
    "\xEF\xBB\xBF: keep-alive comment\n"
    "event: head\n"
    "data: {\"slot\":\"1\"}\n"
    "\n"
    "event:block\r\n"
    "data:  two spaces\r\n"
    "data\r\n"
    "id: 7\r\n"
    "\r\n"
    "event: finalized_checkpoint\r"
    "data: first\r"
    "data: second\r"
    "retry: 1500\r"
    "unknown: ignored\r"
    "\r"
    "event: no_data\n"
    "id: 8\n"
    "\n"
    "data: message without type\n"
    "\n"
    "data: unfinished";

// Read by hand from kStream.
std::vector<SseEvent> ExpectedEvents() {
  return {
      {"head", R"({"slot":"1"})", ""},
      {"block", " two spaces\n", "7"},
      {"finalized_checkpoint", "first\nsecond", "7"},
      {"message", "message without type", "8"},
  };
}

std::vector<SseEvent> ParseChunks(const std::vector<std::string_view>& chunks) {
  SseParser parser;
  std::vector<SseEvent> out;
  for (std::string_view c : chunks) EXPECT_TRUE(parser.Feed(c, &out).ok());
  return out;
}

TEST(SseParserTest, WholeInput) {
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.Feed(kStream, &out).ok());
  EXPECT_EQ(out, ExpectedEvents());
  EXPECT_EQ(parser.retry_ms(), 1500u);
}

TEST(SseParserTest, OneByteAtATime) {
  std::vector<std::string_view> chunks;
  for (size_t i = 0; i < kStream.size(); ++i) chunks.push_back(kStream.substr(i, 1));
  EXPECT_EQ(ParseChunks(chunks), ExpectedEvents());
}

TEST(SseParserTest, EveryTwoChunkSplit) {
  for (size_t i = 0; i <= kStream.size(); ++i) {
    EXPECT_EQ(ParseChunks({kStream.substr(0, i), kStream.substr(i)}), ExpectedEvents())
        << "split at " << i;
  }
}

TEST(SseParserTest, EveryThreeChunkSplit) {
  for (size_t i = 0; i <= kStream.size(); ++i) {
    for (size_t j = i; j <= kStream.size(); ++j) {
      ASSERT_EQ(ParseChunks({kStream.substr(0, i), kStream.substr(i, j - i), kStream.substr(j)}),
                ExpectedEvents())
          << "splits at " << i << ", " << j;
    }
  }
}

TEST(SseParserTest, CrLfSplitBetweenCrAndLfIsOneLineEnd) {
  // If the '\n' after a chunk-final '\r' counted as a second line end, the empty line would
  // dispatch "a" before "b" was read.
  EXPECT_THAT(ParseChunks({"data: a\r", "\ndata: b\r", "\n\r", "\n"}),
              ElementsAre(SseEvent{"message", "a\nb", ""}));
}

TEST(SseParserTest, CrAloneEndsLinesAndBlankCrDispatches) {
  EXPECT_THAT(ParseChunks({"event: x\rdata: 1\r\r", "data: 2\r\r"}),
              ElementsAre(SseEvent{"x", "1", ""}, SseEvent{"message", "2", ""}));
}

TEST(SseParserTest, CommentsOnlyDispatchNothing) {
  EXPECT_THAT(ParseChunks({":\n\n: ping\n\n:data: x\n\n"}), IsEmpty());
}

TEST(SseParserTest, EmptyDataLineIsDispatched) {
  // "data" and "data:" both add an empty line, so the event has data "\n" minus the last '\n'.
  EXPECT_THAT(ParseChunks({"data\ndata:\n\n"}), ElementsAre(SseEvent{"message", "\n", ""}));
  EXPECT_THAT(ParseChunks({"data:\n\n"}), ElementsAre(SseEvent{"message", "", ""}));
}

TEST(SseParserTest, ValueKeepsColonsAndFurtherSpaces) {
  EXPECT_THAT(ParseChunks({"data:a: b\ndata:   c\n\n"}),
              ElementsAre(SseEvent{"message", "a: b\n  c", ""}));
}

TEST(SseParserTest, BomOnlyAtStreamStart) {
  // A BOM after the first line is part of the field name, so the line is an unknown field.
  EXPECT_THAT(ParseChunks({"data: 1\n\n\xEF\xBB\xBF"
                           "data: 2\n\n"}),
              ElementsAre(SseEvent{"message", "1", ""}));
}

TEST(SseParserTest, IdWithNulIgnoredAndRetryNeedsDigits) {
  SseParser parser;
  std::vector<SseEvent> out;
  using namespace std::string_literals;
  const std::string input = "id: a\ndata: 1\n\nid: b\0c\ndata: 2\n\n"s +
                            "retry: 100\nretry: 12x\nretry: -5\nretry\ndata: 3\n\n";
  ASSERT_TRUE(parser.Feed(input, &out).ok());
  EXPECT_THAT(out, ElementsAre(SseEvent{"message", "1", "a"}, SseEvent{"message", "2", "a"},
                               SseEvent{"message", "3", "a"}));
  EXPECT_EQ(parser.retry_ms(), 100u);
}

TEST(SseParserTest, LineAtLimitIsAcceptedLongerIsError) {
  SseParser parser(16);
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.Feed("data: 0123456789\n\n", &out).ok());  // 16-byte line
  EXPECT_THAT(out, ElementsAre(SseEvent{"message", "0123456789", ""}));

  out.clear();
  const absl::Status s = parser.Feed("data: 1\n\ndata: 01234567890\n\n", &out);  // 17 bytes
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("16 bytes"));
  // The event completed before the bad line is still delivered.
  EXPECT_THAT(out, ElementsAre(SseEvent{"message", "1", ""}));
}

TEST(SseParserTest, LongLineAcrossChunksFailsWithoutNewline) {
  SseParser parser(16);
  std::vector<SseEvent> out;
  EXPECT_TRUE(parser.Feed("aaaaaaaaaa", &out).ok());
  EXPECT_EQ(parser.Feed("aaaaaaa", &out).code(), absl::StatusCode::kResourceExhausted);
  // Stays failed until Reset().
  EXPECT_EQ(parser.Feed("\n\ndata: x\n\n", &out).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(out, IsEmpty());
  parser.Reset();
  ASSERT_TRUE(parser.Feed("data: x\n\n", &out).ok());
  EXPECT_THAT(out, ElementsAre(SseEvent{"message", "x", ""}));
}

TEST(SseParserTest, DefaultLimitIsOneMegabyte) {
  SseParser parser;
  std::vector<SseEvent> out;
  const std::string one_mb(size_t{1} << 20, 'a');
  EXPECT_TRUE(parser.Feed(one_mb, &out).ok());
  EXPECT_EQ(parser.Feed("a", &out).code(), absl::StatusCode::kResourceExhausted);
}

TEST(SseParserTest, JoinedDataIsBoundedToo) {
  SseParser parser(16);
  std::vector<SseEvent> out;
  // Each line is short, but the joined data (11 + 11 bytes) exceeds 16.
  EXPECT_EQ(parser.Feed("data: 0123456789\ndata: 0123456789\n", &out).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(SseParserTest, ResetDropsPartialEventAndId) {
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.Feed("id: 5\nevent: head\ndata: partial\n", &out).ok());
  parser.Reset();
  ASSERT_TRUE(parser.Feed("data: fresh\n\n", &out).ok());
  EXPECT_THAT(out, ElementsAre(SseEvent{"message", "fresh", ""}));
}

}  // namespace
}  // namespace stakewatch::events
