// ExitWatcher: a known child's exit, reported without reaping it, and no
// other child of the host taken.
#include "darwin/exit_watch.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "darwin/spawn.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::darwin_internal {
namespace {

using ::procsandbox_testing::IsOk;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
// Only a bound on a hang.
constexpr absl::Duration kHang = absl::Seconds(10);

pid_t SpawnHelper(std::vector<std::string> steps) {
  SpawnPlan plan;
  plan.path = kHelper;
  plan.argv = {kHelper};
  plan.argv.insert(plan.argv.end(), steps.begin(), steps.end());
  absl::StatusOr<pid_t> pid = Spawn(plan);
  EXPECT_THAT(pid, IsOk());
  return pid.ok() ? *pid : -1;
}

TEST(ExitWatcherTest, ReportsAnExitAndLeavesTheZombieForItsOwnerToReap) {
  absl::StatusOr<std::unique_ptr<ExitWatcher>> watcher = ExitWatcher::Create();
  ASSERT_THAT(watcher, IsOk());
  const pid_t pid = SpawnHelper({"exit", "7"});
  ASSERT_GT(pid, 0);
  absl::Notification exited;
  ASSERT_THAT((*watcher)->Watch(pid, [&] { exited.Notify(); }), IsOk());
  ASSERT_TRUE(exited.WaitForNotificationWithTimeout(kHang));
  // Not reaped by the watcher: the owner gets its status and usage.
  int status = 0;
  struct rusage usage = {};
  ASSERT_EQ(wait4(pid, &status, 0, &usage), pid);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  (*watcher)->Forget(pid);
}

TEST(ExitWatcherTest, AStoppedAndContinuedChildIsNotAnExit) {
  absl::StatusOr<std::unique_ptr<ExitWatcher>> watcher = ExitWatcher::Create();
  ASSERT_THAT(watcher, IsOk());
  const pid_t pid = SpawnHelper({"sleep-forever"});
  ASSERT_GT(pid, 0);
  absl::Notification exited;
  ASSERT_THAT((*watcher)->Watch(pid, [&] { exited.Notify(); }), IsOk());
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  siginfo_t info = {};
  // Wait (as the owner would not) until the stop has happened.
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(pid), &info, WSTOPPED | WNOWAIT),
            0);
  ASSERT_EQ(kill(pid, SIGCONT), 0);
  EXPECT_FALSE(exited.HasBeenNotified());
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  ASSERT_TRUE(exited.WaitForNotificationWithTimeout(kHang));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  (*watcher)->Forget(pid);
}

TEST(ExitWatcherTest, LeavesTheHostsOtherChildrenAlone) {
  absl::StatusOr<std::unique_ptr<ExitWatcher>> watcher = ExitWatcher::Create();
  ASSERT_THAT(watcher, IsOk());
  const pid_t hosts = SpawnHelper({"exit", "3"});
  const pid_t ours = SpawnHelper({"exit", "4"});
  ASSERT_GT(hosts, 0);
  ASSERT_GT(ours, 0);
  absl::Notification exited;
  ASSERT_THAT((*watcher)->Watch(ours, [&] { exited.Notify(); }), IsOk());
  ASSERT_TRUE(exited.WaitForNotificationWithTimeout(kHang));
  int status = 0;
  ASSERT_EQ(waitpid(ours, &status, 0), ours);
  (*watcher)->Forget(ours);
  // The host's own child is still the host's to reap.
  ASSERT_EQ(waitpid(hosts, &status, 0), hosts);
  EXPECT_EQ(WEXITSTATUS(status), 3);
}

TEST(ExitWatcherTest, AChildReapedBySomeoneElseIsStillReported) {
  absl::StatusOr<std::unique_ptr<ExitWatcher>> watcher = ExitWatcher::Create();
  ASSERT_THAT(watcher, IsOk());
  const pid_t pid = SpawnHelper({"exit", "0"});
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);  // the host took it first
  absl::Notification exited;
  ASSERT_THAT((*watcher)->Watch(pid, [&] { exited.Notify(); }), IsOk());
  ASSERT_TRUE(exited.WaitForNotificationWithTimeout(kHang));
  (*watcher)->Forget(pid);
}

}  // namespace
}  // namespace procsandbox::darwin_internal
