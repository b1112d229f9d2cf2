// The spellings of 0.1 still work for one release, with a deprecation
// warning (silenced here: this file checks that they still compile and
// behave as the new names).
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/run.h"
#include "procsandbox/testing/testing.h"

namespace {

TEST(DeprecatedNamesTest, RunAndTheTestingNamespaceStillWork) {
  procsandbox::MemoryManager fake;
  fake.Register("fail", [](procsandbox::FakeProcess&) { return 3; });
  EXPECT_THAT(procsandbox::Run(fake, procsandbox::Command("fail")),
              procsandbox::testing::ExitedWith(3));
  procsandbox::testing::MockManager manager;
  EXPECT_CALL(manager, Now()).WillOnce(::testing::Return(absl::UnixEpoch()));
  EXPECT_EQ(manager.Now(), absl::UnixEpoch());
}

}  // namespace
