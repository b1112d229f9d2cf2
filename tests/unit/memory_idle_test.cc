// MemoryManager: waiting until the fake is idle (WaitIdle), and the host
// threads it counts (host waits, HostWait and HostCall scopes).
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox_testing/testing.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

// A guard for calls expected to fail: what was not idle is known at once.
constexpr absl::Duration kShort = absl::Milliseconds(50);

// Waits for `process` to end on a thread of its own (a host waiting on the
// fake), keeping the outcome.
class Waiter {
 public:
  explicit Waiter(std::shared_ptr<Process> process)
      : thread_([this, process] { outcome_ = process->Wait(); }) {}
  ~Waiter() {
    if (thread_.joinable()) thread_.join();
  }
  const absl::StatusOr<Outcome>& Get() {
    thread_.join();
    return *outcome_;
  }

 private:
  std::optional<absl::StatusOr<Outcome>> outcome_;
  std::thread thread_;
};

void Sleeper(MemoryManager& fake, absl::Duration d) {
  fake.Register("sleeper", [d](FakeProcess& p) {
    p.Sleep(d);
    return 7;
  });
}

TEST(MemoryIdleTest, WaitIdleReturnsOnceTheExpectedHostsWait) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  Sleeper(fake, absl::Seconds(1));
  const absl::Time t0 = fake.Now();
  std::shared_ptr<Process> a = fake.New(Command("sleeper"));
  std::shared_ptr<Process> b = fake.New(Command("sleeper"));
  ASSERT_THAT(a->Start(), IsOk());
  ASSERT_THAT(b->Start(), IsOk());
  Waiter wa(a);
  Waiter wb(b);
  ASSERT_THAT(fake.WaitIdle(2), IsOk());
  EXPECT_EQ(fake.Now(), t0);
  EXPECT_TRUE(a->Running());
  ASSERT_THAT(fake.clock().Advance(absl::Seconds(1)), IsOk());
  EXPECT_THAT(wa.Get(), IsOkAndHolds(ExitedWith(7)));
  EXPECT_THAT(wb.Get(), IsOkAndHolds(ExitedWith(7)));
  // Both waits are over and returned: idle with nobody waiting.
  EXPECT_THAT(fake.WaitIdle(0), IsOk());
}

TEST(MemoryIdleTest, WaitIdleSaysWhatIsNotIdle) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  Sleeper(fake, absl::Seconds(1));
  std::shared_ptr<Process> a = fake.New(Command("sleeper"));
  ASSERT_THAT(a->Start(), IsOk());
  Waiter wa(a);
  EXPECT_THAT(fake.WaitIdle(2, kShort),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       AllOf(HasSubstr("not idle after 50ms"),
                             HasSubstr("1 host thread(s) wait on the fake, "
                                       "expected 2"))));
  ASSERT_THAT(fake.clock().Advance(absl::Seconds(1)), IsOk());
  EXPECT_THAT(wa.Get(), IsOkAndHolds(ExitedWith(7)));
}

TEST(MemoryIdleTest, WaitIdleRefusesANegativeTimeout) {
  MemoryManager fake;
  EXPECT_THAT(
      fake.WaitIdle(0, absl::Seconds(-1)),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
}

TEST(MemoryIdleTest, WaitIdleFromAProgramIsRefused) {
  MemoryManager fake;
  absl::Status seen;
  fake.Register("inner", [&](FakeProcess&) {
    seen = fake.WaitIdle(0);
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("inner"));
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Wait(), IsOk());
  EXPECT_THAT(seen, StatusIs(absl::StatusCode::kFailedPrecondition,
                             HasSubstr("scripted program")));
}

// With auto-advance on, WaitIdle holds the clock while it waits, so the
// idle instant it finds is the one before time would move.
TEST(MemoryIdleTest, AHostCallHoldsTheClockUntilItEnds) {
  MemoryManager fake;
  Sleeper(fake, absl::Minutes(5));
  const absl::Time t0 = fake.Now();
  std::shared_ptr<Process> a = fake.New(Command("sleeper"));
  ASSERT_THAT(a->Start(), IsOk());
  // Busy: the waiter below cannot move time while this thread is in the
  // scope.
  std::optional<MemoryManager::HostCall> busy;
  busy.emplace(fake);
  Waiter wa(a);
  EXPECT_THAT(fake.WaitIdle(1, kShort),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("1 host thread(s) inside a HostCall")));
  EXPECT_EQ(fake.Now(), t0);
  EXPECT_TRUE(a->Running());
  busy.reset();
  EXPECT_THAT(wa.Get(), IsOkAndHolds(ExitedWith(7)));
  EXPECT_EQ(fake.Now(), t0 + absl::Minutes(5));
}

// A host thread blocked on something of its own, released by a program, is
// a waiting host: the clock auto-advances for it (without the scope nobody
// would wait on the fake, and time would never move).
TEST(MemoryIdleTest, AHostWaitLetsTheClockAutoAdvance) {
  MemoryManager fake;
  absl::Mutex mu;
  bool written = false;
  fake.Register("late", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(30));
    p.WriteStdout("ready\n");
    (void)p.ReadLine();  // no clock event: time stops here
    return 0;
  });
  Command cmd("late");
  cmd.stdin_ = Stdio::Pipe();
  cmd.stdout_ = Stdio::Lines([&mu, &written](absl::string_view) {
    absl::MutexLock lock(&mu);
    written = true;
  });
  const absl::Time t0 = fake.Now();
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  {
    MemoryManager::HostWait waiting(fake);
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&written));
  }
  EXPECT_EQ(fake.Now(), t0 + absl::Seconds(30));
  ASSERT_THAT(p->CloseStdin(), IsOk());
  EXPECT_THAT(p->Wait(), IsOkAndHolds(ExitedWith(0)));
}

TEST(MemoryIdleTest, AHostWaitCountsForWaitIdleUntilItsDeadline) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  const absl::Time deadline = fake.Now() + absl::Minutes(1);
  absl::Mutex mu;
  bool leave = false;
  std::thread host([&] {
    MemoryManager::HostWait waiting(fake, deadline);
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(&leave));
  });
  ASSERT_THAT(fake.WaitIdle(1), IsOk());
  ASSERT_THAT(fake.clock().Advance(absl::Seconds(59)), IsOk());
  EXPECT_THAT(fake.WaitIdle(1), IsOk());
  ASSERT_THAT(fake.clock().Advance(absl::Seconds(1)), IsOk());
  // Its deadline passed: it is about to time out, not waiting any more.
  EXPECT_THAT(fake.WaitIdle(1, kShort),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("1 host wait(s) over")));
  {
    absl::MutexLock lock(&mu);
    leave = true;
  }
  host.join();
  EXPECT_THAT(fake.WaitIdle(0), IsOk());
}

TEST(MemoryIdleTest, AReleasedHostWaitIsNoLongerWaiting) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  absl::Mutex mu;
  bool leave = false;
  std::optional<MemoryManager::HostWait> waiting;
  absl::Notification entered;
  std::thread host([&] {
    waiting.emplace(fake);
    entered.Notify();
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(&leave));
    }
    waiting.reset();
  });
  entered.WaitForNotification();
  ASSERT_THAT(fake.WaitIdle(1), IsOk());
  waiting->Release();
  EXPECT_THAT(fake.WaitIdle(1, kShort),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("1 host wait(s) over")));
  {
    absl::MutexLock lock(&mu);
    leave = true;
  }
  host.join();
  EXPECT_THAT(fake.WaitIdle(0), IsOk());
}

TEST(MemoryIdleTest, HostCallScopesNest) {
  MemoryManager fake;
  {
    MemoryManager::HostCall outer(fake);
    { MemoryManager::HostCall inner(fake); }
    EXPECT_THAT(fake.WaitIdle(0, kShort),
                StatusIs(absl::StatusCode::kDeadlineExceeded,
                         HasSubstr("inside a HostCall")));
  }
  EXPECT_THAT(fake.WaitIdle(0), IsOk());
}

TEST(MemoryIdleTest, RegistrationsListsEveryKind) {
  MemoryManager fake;
  fake.Register("/usr/bin/b", [](FakeProcess&) { return 0; });
  fake.RegisterNotExecutable("/usr/bin/a");
  fake.RegisterStartError("c", absl::PermissionDeniedError("no"));
  EXPECT_THAT(
      fake.Registrations(),
      ::testing::ElementsAre(
          FakeRegistration{"/usr/bin/a",
                           FakeRegistration::Kind::kNotExecutable},
          FakeRegistration{"/usr/bin/b", FakeRegistration::Kind::kProgram},
          FakeRegistration{"c", FakeRegistration::Kind::kStartError}));
}

}  // namespace
}  // namespace procsandbox
