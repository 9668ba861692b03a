#include "app/progress.h"

#include <stdlib.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace stakewatch::app {
namespace {

std::string TempDir() {
  std::string tmpl = "/tmp/stakewatch-progress-XXXXXX";
  return mkdtemp(tmpl.data());
}

TEST(ProgressTest, MissingFileIsNoProgress) {
  auto p = LoadProgress(TempDir());
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->has_value());
}

TEST(ProgressTest, RoundTripAndOverwrite) {
  const std::string dir = TempDir() + "/sub";  // created by SaveProgress
  ASSERT_TRUE(SaveProgress(dir, {1655733600, 240250}).ok());
  ASSERT_TRUE(SaveProgress(dir, {1655733600, 240251}).ok());
  std::ifstream f(dir + "/progress");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "genesis_time=1655733600\nnext_epoch=240251\n");
  auto p = LoadProgress(dir);
  ASSERT_TRUE(p.ok() && p->has_value());
  EXPECT_EQ((*p)->genesis_time, 1655733600u);
  EXPECT_EQ((*p)->next_epoch, 240251u);
}

TEST(ProgressTest, MalformedFileIsAnError) {
  const std::string dir = TempDir();
  std::ofstream(dir + "/progress") << "genesis_time=12\nnext_epoch=abc\n";
  auto p = LoadProgress(dir);
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), ::testing::HasSubstr("bad line \"next_epoch=abc\""));
  std::ofstream(dir + "/progress") << "genesis_time=12\n";
  EXPECT_THAT(LoadProgress(dir).status().message(), ::testing::HasSubstr("missing"));
}

TEST(ProgressTest, UnwritableDirectoryIsAnError) {
  EXPECT_FALSE(SaveProgress("/proc/stakewatch-cannot-write-here", {1, 2}).ok());
}

}  // namespace
}  // namespace stakewatch::app
