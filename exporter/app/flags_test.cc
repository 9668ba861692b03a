#include "app/flags.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

using ::testing::HasSubstr;

struct Flags {
  FlagSet set{"test"};
  std::string file = "default.yml";
  std::vector<std::string> listen = {":9787"};
  uint64_t n = 5;
  int64_t i = -1;
  double d = 0.5;
  bool b = false;
  Flags() {
    set.String("config.file", &file, "file");
    set.StringList("web.listen-address", &listen, "listen");
    set.Uint("validators", &n, "n");
    set.Int("offset", &i, "i");
    set.Double("slot-time", &d, "d");
    set.Bool("verbose", &b, "b");
  }
};

TEST(FlagSetTest, ParsesBothForms) {
  Flags f;
  ASSERT_TRUE(f.set
                  .Parse({"--config.file=a.yml", "--validators", "12", "--slot-time=0.1",
                          "--verbose", "--offset=-3"})
                  .ok());
  EXPECT_EQ(f.file, "a.yml");
  EXPECT_EQ(f.n, 12u);
  EXPECT_DOUBLE_EQ(f.d, 0.1);
  EXPECT_TRUE(f.b);
  EXPECT_EQ(f.i, -3);
  EXPECT_EQ(f.listen, std::vector<std::string>{":9787"});  // default kept
}

TEST(FlagSetTest, RepeatableReplacesDefaultThenAppends) {
  Flags f;
  ASSERT_TRUE(f.set.Parse({"--web.listen-address=:1", "--web.listen-address", ":2"}).ok());
  EXPECT_EQ(f.listen, (std::vector<std::string>{":1", ":2"}));
}

TEST(FlagSetTest, BoolForms) {
  Flags f;
  ASSERT_TRUE(f.set.Parse({"--verbose=true", "--no-verbose"}).ok());
  EXPECT_FALSE(f.b);
  EXPECT_THAT(f.set.Parse({"--verbose=maybe"}).message(), HasSubstr("not true or false"));
}

TEST(FlagSetTest, Errors) {
  Flags f;
  EXPECT_THAT(f.set.Parse({"--nope=1"}).message(), HasSubstr("unknown flag --nope"));
  EXPECT_THAT(f.set.Parse({"--validators=-1"}).message(), HasSubstr("not a non-negative"));
  EXPECT_THAT(f.set.Parse({"--validators=x"}).message(), HasSubstr("not a non-negative"));
  EXPECT_THAT(f.set.Parse({"--slot-time=fast"}).message(), HasSubstr("not a number"));
  EXPECT_THAT(f.set.Parse({"--config.file"}).message(), HasSubstr("needs a value"));
  EXPECT_THAT(f.set.Parse({"positional"}).message(), HasSubstr("unexpected argument"));
}

TEST(FlagSetTest, Help) {
  Flags f;
  ASSERT_TRUE(f.set.Parse({"--help"}).ok());
  EXPECT_TRUE(f.set.help_requested());
  EXPECT_THAT(f.set.Usage(), HasSubstr("--config.file=VALUE"));
  EXPECT_THAT(f.set.Usage(), HasSubstr("(default: default.yml)"));
}

}  // namespace
}  // namespace stakewatch::app
