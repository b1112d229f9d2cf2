// The example of README.md, compiled and run as written there.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/testing/testing.h"

using ::procsandbox::testing::ExitedWith;
using ::procsandbox::testing::TimedOut;

TEST(BuilderTest, ASlowBuildTimesOut) {
  procsandbox::MemoryManager fake;
  fake.Register("make", [](procsandbox::FakeProcess& p) {
    p.WriteStdout("building\n");
    p.Sleep(absl::Minutes(10));  // virtual time: the test takes microseconds
    return 0;
  });
  procsandbox::Command cmd("make", {"-j2"});
  cmd.limits.wall_time = absl::Seconds(1);
  auto result = procsandbox::Run(fake, cmd);  // inside TEST: qualify Run
  EXPECT_THAT(result, TimedOut());
  EXPECT_EQ(fake.History()[0].command.args[0], "-j2");
}

TEST(BuilderTest, AQuickBuildSucceeds) {
  procsandbox::MemoryManager fake;
  fake.Register("make", [](procsandbox::FakeProcess& p) {
    p.Sleep(absl::Seconds(3));
    return 0;
  });
  EXPECT_THAT(procsandbox::Run(fake, procsandbox::Command("make")),
              ExitedWith(0));
}
