// Links procsandbox::testing; configured (never built) by tests/packaging to
// check that the exported target and its GTest dependency resolve.
#include "gmock/gmock.h"
#include "gtest/gtest.h"

TEST(ConsumerTest, Links) { EXPECT_THAT(1, testing::Eq(1)); }
