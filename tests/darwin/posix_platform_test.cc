// The POSIX backend's Platform and Child (os/platform.h), driven directly:
// spawn, arm on the loop, events in order, signals, the end.
#include "darwin/posix_platform.h"

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "os/platform.h"
#include "procsandbox/command.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::darwin_internal {
namespace {

using ::procsandbox::os_internal::Child;
using ::procsandbox::os_internal::ChildEvents;
using ::procsandbox::os_internal::ChildExit;
using ::procsandbox::os_internal::Platform;
using ::procsandbox::os_internal::SpawnRequest;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
// Only a bound on a hang.
constexpr absl::Duration kHang = absl::Seconds(10);

// Records what the child reports; done once it exited and both outputs
// ended.
class Recorder final : public ChildEvents {
 public:
  bool OnOutput(Stream stream, absl::string_view bytes) override {
    absl::MutexLock lock(&mu_);
    (stream == Stream::kStdout ? out_ : err_)
        .append(bytes.data(), bytes.size());
    order_.push_back(stream == Stream::kStdout ? "out" : "err");
    return true;
  }
  void OnOutputDiscarded(Stream, std::size_t) override {}
  void OnOutputEnd(Stream stream) override {
    absl::MutexLock lock(&mu_);
    order_.push_back(stream == Stream::kStdout ? "out-end" : "err-end");
    ++ended_;
  }
  void OnExit(const ChildExit& exit) override {
    absl::MutexLock lock(&mu_);
    exit_ = exit;
    exited_ = true;
    order_.push_back("exit");
  }
  void OnCpuBudgetSpent() override {}
  void OnSeccompViolation(int /*syscall*/, std::string /*name*/) override {}
  void OnTreeGone() override {}

  bool WaitForEnd(int outputs) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return exited_ && ended_ >= outputs;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&done), kHang);
  }
  std::string out() {
    absl::MutexLock lock(&mu_);
    return out_;
  }
  ChildExit exit() {
    absl::MutexLock lock(&mu_);
    return exit_;
  }

 private:
  absl::Mutex mu_;
  std::string out_ ABSL_GUARDED_BY(mu_);
  std::string err_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> order_ ABSL_GUARDED_BY(mu_);
  int ended_ ABSL_GUARDED_BY(mu_) = 0;
  bool exited_ ABSL_GUARDED_BY(mu_) = false;
  ChildExit exit_ ABSL_GUARDED_BY(mu_);
};

class PosixPlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Platform>> platform =
        NewPosixPlatform(OsManagerOptions{});
    ASSERT_THAT(platform, IsOk());
    platform_ = *std::move(platform);
  }
  void TearDown() override {
    if (platform_ != nullptr) platform_->StopLoop();
    platform_.reset();
  }

  absl::StatusOr<std::shared_ptr<Child>> Spawn(const Command& command) {
    Enforcement enforcement;
    std::vector<OsManagerEvent> events;
    SpawnRequest request;
    request.command = &command;
    request.limits = &command.limits;
    request.enforcement = &enforcement;
    request.events = &events;
    return platform_->Spawn(request);
  }

  // Arms the child on the loop, as the neutral side does.
  void Arm(const std::shared_ptr<Child>& child,
           const std::shared_ptr<Recorder>& recorder) {
    absl::Notification armed;
    platform_->loop().Post([&] {
      child->Arm(recorder);
      armed.Notify();
    });
    ASSERT_TRUE(armed.WaitForNotificationWithTimeout(kHang));
  }

  void Close(const std::shared_ptr<Child>& child) {
    absl::Notification closed;
    platform_->loop().Post([&] {
      child->Close();
      closed.Notify();
    });
    ASSERT_TRUE(closed.WaitForNotificationWithTimeout(kHang));
  }

  std::unique_ptr<Platform> platform_;
};

TEST_F(PosixPlatformTest, SaysWhatItEnforcesWithoutCgroups) {
  const Capabilities& caps = platform_->capabilities();
  EXPECT_EQ(caps.backend, "posix");
  ASSERT_NE(caps.Find(LimitKind::kMemory), nullptr);
  EXPECT_EQ(caps.Find(LimitKind::kMemory)->mechanism, Mechanism::kRlimit);
  EXPECT_EQ(caps.Find(LimitKind::kCpuTime)->mechanism, Mechanism::kRlimit);
  EXPECT_EQ(caps.Find(LimitKind::kCpuWeight)->mechanism, Mechanism::kNone);
  EXPECT_FALSE(caps.tree_kill);
  EXPECT_THAT(caps.tree_kill_detail, HasSubstr("process group"));
  EXPECT_FALSE(caps.tree_freeze);
  EXPECT_THAT(caps.tree_freeze_detail, HasSubstr("SIGSTOP"));
  for (const Feature& f : caps.features) {
    EXPECT_THAT(FeatureNames(), Contains(f.name));
  }
}

TEST_F(PosixPlatformTest, ReportsOutputThenTheExitOfTheLeader) {
  Command command(kHelper,
                  {"print", "hello", "write-stdout", "300000", "exit", "3"});
  command.stdout_ = Stdio::Capture();
  command.stderr_ = Stdio::Capture();
  absl::StatusOr<std::shared_ptr<Child>> child = Spawn(command);
  ASSERT_THAT(child, IsOk());
  auto recorder = std::make_shared<Recorder>();
  Arm(*child, recorder);
  ASSERT_TRUE(recorder->WaitForEnd(2));
  const std::string out = recorder->out();
  EXPECT_EQ(out.size(), 6u + 300000u);
  EXPECT_EQ(out.substr(0, 6), "hello\n");
  EXPECT_FALSE(recorder->exit().signaled);
  EXPECT_EQ(recorder->exit().exit_code, 3);
  EXPECT_TRUE((*child)->Exited());
  Close(*child);
}

TEST_F(PosixPlatformTest, FeedsDataToStdinThenEndOfFile) {
  Command command(kHelper, {"count-stdin"});
  command.stdin_ = Stdio::Data(std::string(200000, 'x'));
  command.stdout_ = Stdio::Capture();
  absl::StatusOr<std::shared_ptr<Child>> child = Spawn(command);
  ASSERT_THAT(child, IsOk());
  auto recorder = std::make_shared<Recorder>();
  Arm(*child, recorder);
  ASSERT_TRUE(recorder->WaitForEnd(1));
  EXPECT_EQ(recorder->out(), "200000\n");
  Close(*child);
}

TEST_F(PosixPlatformTest, SignalsTheTreeUntilTheLeaderIsReaped) {
  Command command(kHelper, {"print", "ready", "sleep-forever"});
  command.stdout_ = Stdio::Capture();
  absl::StatusOr<std::shared_ptr<Child>> child = Spawn(command);
  ASSERT_THAT(child, IsOk());
  auto recorder = std::make_shared<Recorder>();
  Arm(*child, recorder);
  EXPECT_FALSE((*child)->Exited());
  (*child)->SignalTree(SIGTERM);
  ASSERT_TRUE(recorder->WaitForEnd(1));
  EXPECT_TRUE(recorder->exit().signaled);
  EXPECT_EQ(recorder->exit().signal, SIGTERM);
  (*child)->SignalTree(SIGKILL);  // reaped: nothing is sent
  Close(*child);
}

TEST_F(PosixPlatformTest, AMissingProgramLeavesNothingBehind) {
  Command command("/no/such/program");
  EXPECT_THAT(Spawn(command), StatusIs(absl::StatusCode::kNotFound,
                                       HasSubstr("/no/such/program")));
}

TEST_F(PosixPlatformTest, ADiscardedChildIsKilledAndReaped) {
  Command command(kHelper, {"sleep-forever"});
  absl::StatusOr<std::shared_ptr<Child>> child = Spawn(command);
  ASSERT_THAT(child, IsOk());
  (*child)->Discard();
  EXPECT_TRUE((*child)->Exited());
}

}  // namespace
}  // namespace procsandbox::darwin_internal
