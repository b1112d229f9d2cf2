// The output_bytes rule both managers apply to the output they keep.
#include "common/output_cap.h"

#include <optional>

#include "gtest/gtest.h"
#include "procsandbox/command.h"

namespace procsandbox::internal {
namespace {

TEST(CapOutputTest, KeepsEveryBlockWithoutALimit) {
  const OutputCap cap =
      CapOutput(std::nullopt, 1 << 30, 4096, OutputLimitAction::kStop);
  EXPECT_EQ(cap.keep, 4096u);
  EXPECT_FALSE(cap.truncated);
  EXPECT_FALSE(cap.stop);
}

TEST(CapOutputTest, KeepsABlockThatFitsExactly) {
  const OutputCap cap = CapOutput(10, 6, 4, OutputLimitAction::kStop);
  EXPECT_EQ(cap.keep, 4u);
  EXPECT_FALSE(cap.truncated);
  EXPECT_FALSE(cap.stop);
}

TEST(CapOutputTest, KeepsTheRoomLeftAndTruncatesTheRest) {
  const OutputCap cap = CapOutput(10, 6, 5, OutputLimitAction::kTruncate);
  EXPECT_EQ(cap.keep, 4u);
  EXPECT_TRUE(cap.truncated);
  EXPECT_FALSE(cap.stop);
}

TEST(CapOutputTest, StopsACommandThatAskedForIt) {
  const OutputCap cap = CapOutput(10, 6, 5, OutputLimitAction::kStop);
  EXPECT_EQ(cap.keep, 4u);
  EXPECT_TRUE(cap.truncated);
  EXPECT_TRUE(cap.stop);
}

TEST(CapOutputTest, KeepsNothingOnceTheCapIsReached) {
  const OutputCap cap = CapOutput(10, 10, 1, OutputLimitAction::kStop);
  EXPECT_EQ(cap.keep, 0u);
  EXPECT_TRUE(cap.truncated);
  EXPECT_TRUE(cap.stop);
}

TEST(CapOutputTest, TruncatesAnEmptyBlockNever) {
  const OutputCap cap = CapOutput(10, 10, 0, OutputLimitAction::kStop);
  EXPECT_EQ(cap.keep, 0u);
  EXPECT_FALSE(cap.truncated);
  EXPECT_FALSE(cap.stop);
}

}  // namespace
}  // namespace procsandbox::internal
