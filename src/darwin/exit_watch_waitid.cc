// ExitWatcher where there is no process filter (Linux, the other POSIX
// systems): a thread per child blocks in waitid(P_PID, pid, WEXITED |
// WNOWAIT), calls its closure (which posts to the loop) and ends.
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "darwin/exit_watch.h"
#include "posix/errno_status.h"

namespace procsandbox::darwin_internal {
namespace {

using ::procsandbox::posix_internal::ErrnoStatus;

class ThreadExitWatcher final : public ExitWatcher {
 public:
  static constexpr std::size_t kStackBytes = std::size_t{64} * 1024;

  ~ThreadExitWatcher() override {
    absl::flat_hash_map<pid_t, pthread_t> threads;
    {
      absl::MutexLock lock(&mu_);
      threads.swap(threads_);
    }
    for (auto& [pid, thread] : threads) pthread_join(thread, nullptr);
  }

  absl::Status Watch(pid_t pid, std::function<void()> on_exited) override {
    auto* waiter = new Waiter{pid, std::move(on_exited)};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(
        &attr, std::max<std::size_t>(kStackBytes, PTHREAD_STACK_MIN));
    // The waiter blocks no signal the host's threads would not: it inherits
    // this thread's mask, and waitid restarts after a handler (EINTR loop).
    pthread_t thread;
    const int err = pthread_create(&thread, &attr, &Run, waiter);
    pthread_attr_destroy(&attr);
    if (err != 0) {
      delete waiter;
      const absl::Status s =
          ErrnoStatus(err, "start the exit watcher of a child");
      return absl::ResourceExhaustedError(s.message());
    }
    absl::MutexLock lock(&mu_);
    threads_[pid] = thread;
    return absl::OkStatus();
  }

  void Forget(pid_t pid) override {
    pthread_t thread;
    {
      absl::MutexLock lock(&mu_);
      auto it = threads_.find(pid);
      if (it == threads_.end()) return;
      thread = it->second;
      threads_.erase(it);
    }
    // The child was reaped, so its waiter has returned from waitid: the
    // join waits at most for its closure.
    pthread_join(thread, nullptr);
  }

 private:
  struct Waiter {
    pid_t pid;
    std::function<void()> on_exited;
  };

  static void* Run(void* arg) {
    std::unique_ptr<Waiter> waiter(static_cast<Waiter*>(arg));
    siginfo_t info = {};
    // WNOWAIT: the child stays a zombie for its owner to reap. Returns on
    // its exit only (not WSTOPPED/WCONTINUED: Suspend is not an exit), or
    // with ECHILD when someone else reaped it.
    while (waitid(P_PID, static_cast<id_t>(waiter->pid), &info,
                  WEXITED | WNOWAIT) != 0 &&
           errno == EINTR) {
    }
    waiter->on_exited();
    return nullptr;
  }

  absl::Mutex mu_;
  absl::flat_hash_map<pid_t, pthread_t> threads_ ABSL_GUARDED_BY(mu_);
};
}  // namespace

const char* ExitWatchMechanism() {
  return "waitid(WNOWAIT), one thread per child";
}

absl::StatusOr<std::unique_ptr<ExitWatcher>> ExitWatcher::Create() {
  return std::unique_ptr<ExitWatcher>(std::make_unique<ThreadExitWatcher>());
}

}  // namespace procsandbox::darwin_internal
