// TimerQueue: the timers of one event loop thread (EventLoop::AddTimer and
// CancelTimer), kept by deadline; the loop asks for the next deadline, to
// sleep until it, and runs what is due. Shared by the Linux reactor and the
// POSIX backend's poll loop. Not thread-safe: the loop thread only.
#ifndef PROCSANDBOX_SRC_OS_TIMER_QUEUE_H_
#define PROCSANDBOX_SRC_OS_TIMER_QUEUE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace procsandbox::os_internal {

class TimerQueue {
 public:
  using TimerId = uint64_t;

  // `fn` at `at_ns` (MonotonicNanos); a non-zero id for Cancel.
  TimerId Add(int64_t at_ns, std::function<void()> fn);
  // Drops the timer (nothing happens if it already ran or was cancelled).
  void Cancel(TimerId id);
  // The earliest deadline, if any timer is set.
  std::optional<int64_t> Next() const;
  // Runs every timer due at `now_ns`, earliest first. A callback may add
  // and cancel timers (one it adds that is due already runs too).
  void RunDue(int64_t now_ns);
  // Drops every timer. The callbacks are destroyed after the queue is
  // empty: one whose destructor cancels a timer finds nothing.
  void Clear();

 private:
  std::multimap<int64_t, TimerId> by_time_;
  absl::flat_hash_map<TimerId, std::pair<int64_t, std::function<void()>>>
      timers_;
  TimerId next_id_ = 1;
};

}  // namespace procsandbox::os_internal

#endif  // PROCSANDBOX_SRC_OS_TIMER_QUEUE_H_
