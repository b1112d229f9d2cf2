// Reactor: the Linux EventLoop (os/event_loop.h), the one thread of an OS
// manager that watches all of its children.
//
// epoll over the children's pidfds and pipes, one timerfd (absolute
// CLOCK_MONOTONIC) for every deadline, and an eventfd to wake it for work
// posted from other threads. Threads do not grow with the number of
// processes. Every callback runs on the reactor thread; Watch, Unwatch,
// AddTimer and CancelTimer must be called there too (post a closure from
// elsewhere). Watch and Unwatch (descriptors) are Linux-side only: the
// neutral code sees the EventLoop, the Linux child the descriptors.
#ifndef PROCSANDBOX_SRC_LINUX_REACTOR_H_
#define PROCSANDBOX_SRC_LINUX_REACTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "os/event_loop.h"
#include "os/timer_queue.h"
#include "posix/unique_fd.h"

namespace procsandbox::linux_internal {

using ::procsandbox::os_internal::MonotonicNanos;
using ::procsandbox::posix_internal::UniqueFd;

class Reactor final : public os_internal::EventLoop {
 public:
  using FdCallback = std::function<void(uint32_t events)>;

  static absl::StatusOr<std::unique_ptr<Reactor>> Create();
  // Stops the thread; pending closures and timers are dropped.
  ~Reactor() override;
  // Ends the thread (after the callback it runs, if any); nothing runs on it
  // afterwards. Call from another thread; idempotent. (The owner stops the
  // reactor before clearing its pointer: callbacks may use that pointer.)
  void Stop() override;

  // Runs `fn` on the reactor thread soon. Thread-safe.
  void Post(std::function<void()> fn) override;
  bool OnLoopThread() const override;

  // Reactor thread only. Each wake-up runs the due timers and the `urgent`
  // watches (exits) before the others (output), so that a stop is never
  // queued behind blocks of output.
  absl::Status Watch(int fd, uint32_t events, FdCallback callback,
                     bool urgent = false);
  void Unwatch(int fd);
  // Calls `fn` at `deadline_ns` (MonotonicNanos) or soon after; returns an id
  // for CancelTimer.
  uint64_t AddTimer(int64_t deadline_ns, std::function<void()> fn) override;
  void CancelTimer(uint64_t id) override;

 private:
  Reactor(UniqueFd epoll, UniqueFd wake, UniqueFd timer);
  void Loop();
  void ArmTimerFd();
  void RunDueTimers();

  UniqueFd epoll_;
  UniqueFd wake_;   // eventfd
  UniqueFd timer_;  // timerfd
  std::thread thread_;

  absl::Mutex mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Reactor-thread state.
  struct WatchEntry {
    std::shared_ptr<FdCallback> callback;
    bool urgent = false;
  };
  absl::flat_hash_map<int, WatchEntry> watches_;
  os_internal::TimerQueue timers_;
  int64_t armed_for_ = 0;
};

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_REACTOR_H_
