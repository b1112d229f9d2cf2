// PollLoop: posted work, timers and descriptor watches on its one thread.
#include "darwin/poll_loop.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "posix/unique_fd.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::darwin_internal {
namespace {

using ::procsandbox::posix_internal::UniqueFd;
using ::procsandbox_testing::IsOk;
using ::testing::ElementsAre;

// Only a bound on a hang.
constexpr absl::Duration kHang = absl::Seconds(10);

int64_t Now() { return os_internal::MonotonicNanos(); }

std::unique_ptr<PollLoop> NewLoop() {
  absl::StatusOr<std::unique_ptr<PollLoop>> loop = PollLoop::Create();
  EXPECT_THAT(loop, IsOk());
  return loop.ok() ? *std::move(loop) : nullptr;
}

TEST(PollLoopTest, RunsPostedWorkInOrderOnItsThread) {
  std::unique_ptr<PollLoop> loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  EXPECT_FALSE(loop->OnLoopThread());
  absl::Mutex mu;
  std::vector<int> order;
  bool on_thread = true;
  absl::Notification done;
  for (int i = 0; i < 100; ++i) {
    loop->Post([&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
      on_thread = on_thread && loop->OnLoopThread();
      if (i == 99) done.Notify();
    });
  }
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kHang));
  absl::MutexLock lock(&mu);
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[static_cast<size_t>(i)], i);
  EXPECT_TRUE(on_thread);
}

TEST(PollLoopTest, FiresTimersInDeadlineOrderNeverEarlyAndNotCancelledOnes) {
  std::unique_ptr<PollLoop> loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  absl::Mutex mu;
  std::vector<std::string> fired;
  int64_t late_ns = 0;
  absl::Notification done;
  loop->Post([&] {
    const int64_t now = Now();
    loop->AddTimer(now + 30'000'000, [&, at = now + 30'000'000] {
      absl::MutexLock lock(&mu);
      fired.push_back("30ms");
      late_ns = Now() - at;
      done.Notify();
    });
    const uint64_t cancelled =
        loop->AddTimer(now + 10'000'000, [&] { fired.push_back("cancelled"); });
    loop->AddTimer(now + 20'000'000, [&] {
      absl::MutexLock lock(&mu);
      fired.push_back("20ms");
    });
    loop->AddTimer(now, [&] {
      absl::MutexLock lock(&mu);
      fired.push_back("now");
    });
    loop->CancelTimer(cancelled);
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kHang));
  absl::MutexLock lock(&mu);
  EXPECT_THAT(fired, ElementsAre("now", "20ms", "30ms"));
  EXPECT_GE(late_ns, 0);
}

TEST(PollLoopTest, CallsAWatchWhenItsDescriptorIsReadableUntilUnwatched) {
  std::unique_ptr<PollLoop> loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  ASSERT_EQ(fcntl(read_end.get(), F_SETFL, O_NONBLOCK), 0);
  absl::Mutex mu;
  std::string received;
  bool hung_up = false;
  absl::Notification done;
  loop->Post([&] {
    loop->Watch(read_end.get(), POLLIN, [&](PollLoop::PollEvents revents) {
      char buffer[16];
      const ssize_t n = read(read_end.get(), buffer, sizeof(buffer));
      absl::MutexLock lock(&mu);
      if (n > 0) received.append(buffer, static_cast<size_t>(n));
      if (n == 0 || (revents & POLLHUP) != 0) {
        if (n == 0) {
          hung_up = true;
          loop->Unwatch(read_end.get());
          done.Notify();
        }
      }
    });
  });
  ASSERT_EQ(write(write_end.get(), "abc", 3), 3);
  ASSERT_EQ(write(write_end.get(), "def", 3), 3);
  write_end.reset();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kHang));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(received, "abcdef");
  EXPECT_TRUE(hung_up);
}

TEST(PollLoopTest, NothingRunsAfterStop) {
  std::unique_ptr<PollLoop> loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  absl::Notification ran;
  loop->Post([&] { ran.Notify(); });
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(kHang));
  loop->Stop();
  bool late = false;
  loop->Post([&] { late = true; });
  loop.reset();  // joins the thread
  EXPECT_FALSE(late);
}

TEST(PollLoopTest, StopReleasesWhatPendingTimersHold) {
  std::unique_ptr<PollLoop> loop = NewLoop();
  ASSERT_NE(loop, nullptr);
  auto held = std::make_shared<int>(1);
  std::weak_ptr<int> weak = held;
  absl::Notification added;
  loop->Post([&loop, &added, held] {
    loop->AddTimer(Now() + int64_t{3600} * 1'000'000'000, [held] {});
    added.Notify();
  });
  held.reset();
  ASSERT_TRUE(added.WaitForNotificationWithTimeout(kHang));
  loop->Stop();
  // Released by Stop(), not only when the loop is destroyed: an owner that
  // a timer holds (a process, its manager) is not kept alive by its loop.
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace procsandbox::darwin_internal
