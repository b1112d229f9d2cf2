// EventLoop: the one thread of an OS manager, as the neutral code sees it.
//
// Every OS manager runs one loop thread that serves all of its children:
// the platform reports their events on it (see platform.h) and the neutral
// code (os_process.cc) runs its deadlines, kill graces and drain timers on
// it. Threads do not grow with the number of processes.
//
// The loop knows closures and timers only. How a platform learns that bytes
// arrived or that a child exited (epoll over pidfds on Linux, kqueue or
// poll on other POSIX systems, a completion port on Windows) stays behind
// its Child; this interface never speaks of descriptors.
//
// Example (from a host thread):
//
//   loop.Post([&] {  // now on the loop thread
//     timer = loop.AddTimer(MonotonicNanos() + 1'000'000, [] { ... });
//   });
//
// Thread rules: Post() and OnLoopThread() from any thread; AddTimer() and
// CancelTimer() on the loop thread only (post a closure from elsewhere);
// Stop() from any thread but the loop's own. Callbacks run one at a time,
// on the loop thread, with no lock of the loop held: they may take a
// process's lock, and may add or cancel timers.
#ifndef PROCSANDBOX_SRC_OS_EVENT_LOOP_H_
#define PROCSANDBOX_SRC_OS_EVENT_LOOP_H_

#include <cstdint>
#include <functional>

namespace procsandbox::os_internal {

// The monotonic clock in nanoseconds (std::chrono::steady_clock: on Linux
// CLOCK_MONOTONIC). Timers are set in this clock.
int64_t MonotonicNanos();

class EventLoop {
 public:
  using TimerId = uint64_t;

  virtual ~EventLoop() = default;

  // Runs `fn` on the loop thread soon, after the events of the current
  // turn. Thread-safe. After Stop(), `fn` is dropped without running.
  virtual void Post(std::function<void()> fn) = 0;

  // True on the loop thread (inside a callback). Thread-safe.
  virtual bool OnLoopThread() const = 0;

  // Loop thread only. Calls `fn` at `at_ns` (MonotonicNanos) or soon after
  // — a timer due at a turn runs before that turn's output events, so that
  // a stop is never queued behind blocks of output. Returns a non-zero id
  // for CancelTimer.
  virtual TimerId AddTimer(int64_t at_ns, std::function<void()> fn) = 0;

  // Loop thread only. Drops the timer (nothing happens if it already ran or
  // was cancelled).
  virtual void CancelTimer(TimerId id) = 0;

  // Ends the thread after the callback it runs, if any; nothing runs on it
  // afterwards, pending closures and timers are dropped. Idempotent. Not
  // from the loop thread.
  virtual void Stop() = 0;
};

}  // namespace procsandbox::os_internal

#endif  // PROCSANDBOX_SRC_OS_EVENT_LOOP_H_
