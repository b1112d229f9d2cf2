// Process::Usage() of a running child on the OS manager: live from /proc.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox::testing::Cancelled;
using ::procsandbox::testing::IsOk;

TEST(UsageTest, CpuTimeAndMemoryAreLiveWhileTheChildRuns) {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  std::shared_ptr<Process> p = (*m)->New(
      Command(PROCSANDBOX_TEST_HELPER, {"alloc-mb", "32", "burn-forever"}));
  ASSERT_THAT(p->Start(), IsOk());
  // Polls until the child has burnt some CPU (bounded: 10 s of real time).
  ResourceUsage usage;
  for (int i = 0; i < 1000 && usage.user_time < absl::Milliseconds(50); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    usage = p->Usage();
  }
  EXPECT_GE(usage.user_time, absl::Milliseconds(50));
  EXPECT_GE(usage.memory_bytes, 32 << 20);
  EXPECT_GE(usage.peak_memory_bytes, usage.memory_bytes);
  EXPECT_EQ(usage.processes, 1);
  ASSERT_THAT(p->Kill(), IsOk());
  absl::StatusOr<Outcome> outcome = p->Wait();
  EXPECT_THAT(outcome, Cancelled());
  EXPECT_GE(outcome->user_time, usage.user_time);
  EXPECT_GE(outcome->peak_memory_bytes, 32 << 20);
}

}  // namespace
}  // namespace procsandbox
