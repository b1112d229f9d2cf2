// TimerQueue (src/os): the timers both event loops (the Linux reactor, the
// POSIX poll loop) keep, by deadline.
#include "os/timer_queue.h"

#include <cstdint>
#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace procsandbox::os_internal {
namespace {

TEST(TimerQueueTest, RunsWhatIsDueEarliestFirstAndKeepsTheRest) {
  TimerQueue timers;
  std::string ran;
  timers.Add(30, [&] { ran += "c"; });
  timers.Add(10, [&] { ran += "a"; });
  timers.Add(20, [&] { ran += "b"; });
  timers.Add(40, [&] { ran += "d"; });
  EXPECT_EQ(timers.Next(), std::optional<int64_t>(10));
  timers.RunDue(30);
  EXPECT_EQ(ran, "abc");
  EXPECT_EQ(timers.Next(), std::optional<int64_t>(40));
  timers.RunDue(40);
  EXPECT_EQ(ran, "abcd");
  EXPECT_EQ(timers.Next(), std::nullopt);
}

TEST(TimerQueueTest, ACancelledTimerNeverRunsAndOthersAtItsTimeDo) {
  TimerQueue timers;
  std::string ran;
  const TimerQueue::TimerId first = timers.Add(10, [&] { ran += "a"; });
  timers.Add(10, [&] { ran += "b"; });
  EXPECT_NE(first, 0u);
  timers.Cancel(first);
  timers.Cancel(first);  // twice: nothing
  timers.RunDue(10);
  EXPECT_EQ(ran, "b");
}

TEST(TimerQueueTest, CallbacksMayAddAndCancelTimers) {
  TimerQueue timers;
  std::string ran;
  TimerQueue::TimerId later = 0;
  timers.Add(10, [&] {
    ran += "a";
    timers.Cancel(later);
    timers.Add(5, [&] { ran += "b"; });  // due already: runs in this call
  });
  later = timers.Add(15, [&] { ran += "x"; });
  timers.RunDue(20);
  EXPECT_EQ(ran, "ab");
  EXPECT_EQ(timers.Next(), std::nullopt);
}

TEST(TimerQueueTest, ClearDropsEveryTimer) {
  TimerQueue timers;
  bool ran = false;
  timers.Add(10, [&] { ran = true; });
  timers.Clear();
  EXPECT_EQ(timers.Next(), std::nullopt);
  timers.RunDue(100);
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace procsandbox::os_internal
