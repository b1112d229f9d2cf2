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
  Command command(PROCSANDBOX_TEST_HELPER,
                  {"alloc-mb", "32", "print", "ready", "burn-forever"});
  command.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> p = (*m)->New(command);
  ASSERT_THAT(p->Start(), IsOk());
  // The child says when its 32 MiB are touched (a page fault costs 25x more
  // on some machines than on others: no amount of CPU time means "done").
  ASSERT_THAT(p->ReadLine(Stream::kStdout, absl::Seconds(120)),
              ::procsandbox::testing::IsOkAndHolds("ready"));
  // Then polls until it has burnt some CPU (the bound only guards a hang).
  ResourceUsage usage = p->Usage();
  for (int i = 0; i < 12000 && usage.user_time < absl::Milliseconds(50); ++i) {
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
