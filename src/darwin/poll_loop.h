// PollLoop: the one thread of a POSIX-backend manager, over poll(2).
//
// It runs posted work, timers (CLOCK_MONOTONIC deadlines) and descriptor
// watches (the children's output pipes, stdin being written). A self-pipe
// wakes it for work posted from other threads. Exits are not descriptors
// here: an ExitWatcher (exit_watch.h) posts them. Each wake-up runs the due
// timers and the posted work (exits) before the watches (output), so that a
// stop is never queued behind blocks of output. Watch, Unwatch, AddTimer and
// CancelTimer are for the loop thread (post a closure from elsewhere).
#ifndef PROCSANDBOX_SRC_DARWIN_POLL_LOOP_H_
#define PROCSANDBOX_SRC_DARWIN_POLL_LOOP_H_

#include <poll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "os/event_loop.h"
#include "os/timer_queue.h"
#include "posix/unique_fd.h"

namespace procsandbox::darwin_internal {

class PollLoop final : public os_internal::EventLoop {
 public:
  // poll's event bits (POLLIN, POLLOUT, POLLHUP, POLLERR...), in the type
  // struct pollfd holds them in.
  using PollEvents = decltype(pollfd::events);
  // Called with poll's revents.
  using FdCallback = std::function<void(PollEvents revents)>;

  // Starts the thread. ResourceExhausted when no pipe or thread can be had.
  static absl::StatusOr<std::unique_ptr<PollLoop>> Create();
  // Stops the thread; pending closures and timers are dropped. Not from the
  // loop thread itself.
  ~PollLoop() override;
  PollLoop(const PollLoop&) = delete;
  PollLoop& operator=(const PollLoop&) = delete;

  // Ends the thread (after the callback it runs, if any) and waits for it;
  // nothing runs on it afterwards, and pending closures, timers and watches
  // are destroyed before Stop returns. Idempotent. From the loop thread it
  // only marks the loop (the thread ends after the current callback).
  void Stop() override;
  // Runs `fn` on the loop thread soon. Thread-safe.
  void Post(std::function<void()> fn) override;
  bool OnLoopThread() const override;

  // Loop thread only. One watch per descriptor (a second replaces it).
  void Watch(int fd, PollEvents events, FdCallback callback);
  void Unwatch(int fd);
  // Calls `fn` at `at_ns` (os_internal::MonotonicNanos) or soon after; an
  // id for CancelTimer.
  TimerId AddTimer(int64_t at_ns, std::function<void()> fn) override;
  void CancelTimer(TimerId id) override;

 private:
  PollLoop(posix_internal::UniqueFd wake_read,
           posix_internal::UniqueFd wake_write);
  void Loop();
  // Milliseconds until the first timer, -1 for none (poll's timeout).
  int TimeoutMs() const;

  posix_internal::UniqueFd wake_read_;
  posix_internal::UniqueFd wake_write_;
  std::thread thread_;
  std::thread::id thread_id_;

  absl::Mutex mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_pending_ ABSL_GUARDED_BY(mu_) = false;

  // Loop-thread state.
  struct WatchEntry {
    PollEvents events = 0;
    std::shared_ptr<FdCallback> callback;
  };
  absl::flat_hash_map<int, WatchEntry> watches_;
  os_internal::TimerQueue timers_;
};

}  // namespace procsandbox::darwin_internal

#endif  // PROCSANDBOX_SRC_DARWIN_POLL_LOOP_H_
