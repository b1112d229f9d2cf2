// The Linux OS manager, for real (the shared behaviour is in tests/conformance).
#include "procsandbox/os_manager.h"

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox::testing::Cancelled;
using ::procsandbox::testing::ExitedWith;
using ::procsandbox::testing::IsOk;
using ::procsandbox::testing::KilledBy;
using ::procsandbox::testing::TimedOut;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

std::unique_ptr<Manager> NewManager() {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  EXPECT_THAT(m, IsOk());
  return m.ok() ? *std::move(m) : nullptr;
}

Command Helper(std::vector<std::string> steps) { return Command(kHelper, std::move(steps)); }

TEST(OsManagerTest, RunsAProgramAndCapturesBothStreams) {
  auto m = NewManager();
  absl::StatusOr<RunResult> r =
      procsandbox::Run(*m, Helper({"print", "out", "print-stderr", "err", "exit", "3"}));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(3));
  EXPECT_EQ(r->stdout_, "out\n");
  EXPECT_EQ(r->stderr_, "err\n");
}

TEST(OsManagerTest, AWallTimeLimitEndsTheRunAsTimedOut) {
  auto m = NewManager();
  Command cmd = Helper({"ignore", "TERM", "sleep-forever"});
  cmd.limits.wall_time = absl::Milliseconds(100);
  cmd.kill_grace = absl::Milliseconds(100);
  absl::StatusOr<RunResult> r = procsandbox::Run(*m, cmd);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, TimedOut());
  EXPECT_THAT(r, KilledBy(SIGKILL));
}

TEST(OsManagerTest, WaitReturnsAlthoughAGrandchildHoldsThePipe) {
  auto m = NewManager();
  absl::StatusOr<RunResult> r =
      procsandbox::Run(*m, Helper({"grandchild-holds-pipe", "print", "done"}));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "done\n");
}

TEST(OsManagerTest, TerminateIsCancelled) {
  auto m = NewManager();
  std::shared_ptr<Process> p = m->New(Helper({"sleep-forever"}));
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Terminate(), IsOk());
  absl::StatusOr<Outcome> o = p->Wait();
  EXPECT_THAT(o, Cancelled());
  EXPECT_THAT(o, KilledBy(SIGTERM));
}

TEST(OsManagerTest, DestroyingTheManagerStopsItsChildren) {
  std::shared_ptr<Process> p;
  {
    auto m = NewManager();
    p = m->New(Helper({"sleep-forever"}));
    ASSERT_THAT(p->Start(), IsOk());
  }
  EXPECT_THAT(p->Wait(), Cancelled());
}

}  // namespace
}  // namespace procsandbox
