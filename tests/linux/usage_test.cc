// Process::Usage() of a running child on the OS manager: live from /proc.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::IsOk;

TEST(UsageTest, CpuTimeAndMemoryAreLiveWhileTheChildRuns) {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  // 8 MiB: enough to stand out from the helper's own ~1 MiB.
  constexpr int64_t kTouched = int64_t{8} << 20;
  Command command(PROCSANDBOX_TEST_HELPER,
                  {"alloc-mb", "8", "print", "ready", "burn-forever"});
  command.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> p = (*m)->New(command);
  ASSERT_THAT(p->Start(), IsOk());
  // The child says when its memory is touched (a page fault costs 25x more
  // on some machines than on others: no amount of CPU time means "done").
  ASSERT_THAT(p->ReadLine(Stream::kStdout, absl::Seconds(60)),
              ::procsandbox_testing::IsOkAndHolds("ready"));
  // Then polls until its CPU time shows (the bound only guards a hang).
  ResourceUsage usage = p->Usage();
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (usage.user_time < absl::Milliseconds(50) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
    usage = p->Usage();
  }
  EXPECT_GE(usage.user_time, absl::Milliseconds(50));
  EXPECT_GE(usage.memory_bytes, kTouched);
  EXPECT_GE(usage.peak_memory_bytes, usage.memory_bytes);
  EXPECT_EQ(usage.processes, 1);
  ASSERT_THAT(p->Kill(), IsOk());
  absl::StatusOr<Outcome> outcome = p->Wait();
  EXPECT_THAT(outcome, Cancelled());
  EXPECT_GE(outcome->user_time, usage.user_time);
  EXPECT_GE(outcome->peak_memory_bytes, kTouched);
}

}  // namespace
}  // namespace procsandbox
