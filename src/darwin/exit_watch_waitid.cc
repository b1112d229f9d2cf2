// ExitWatcher where there is no process filter (Linux, the other POSIX
// systems): a thread per running child blocks in waitid(P_PID, pid,
// WEXITED | WNOWAIT), calls its closure (which posts to the loop), then
// waits for the next child.
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
#include <vector>

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

// Waiter threads are kept for the next child once theirs has exited: a
// Watch() reuses an idle one (a condition-variable hand-over) and creates a
// thread only when all are busy, so their number follows the peak of
// running children and a spawn rarely pays for pthread_create.
class ThreadExitWatcher final : public ExitWatcher {
 public:
  static constexpr std::size_t kStackBytes = std::size_t{64} * 1024;

  ~ThreadExitWatcher() override {
    std::vector<pthread_t> threads;
    std::vector<Worker*> workers;
    {
      absl::MutexLock lock(&mu_);
      quit_ = true;
      threads.swap(threads_);
      workers.swap(all_);
    }
    // A waiter whose child still runs holds this up: every watched child
    // must have exited (the manager stops them all first).
    for (pthread_t thread : threads) pthread_join(thread, nullptr);
    for (Worker* w : workers) delete w;
  }

  absl::Status Watch(pid_t pid, std::function<void()> on_exited) override {
    {
      absl::MutexLock lock(&mu_);
      if (!idle_.empty()) {
        Worker* w = idle_.back();
        idle_.pop_back();
        w->pid = pid;
        w->on_exited = std::move(on_exited);
        w->has_work = true;
        return absl::OkStatus();
      }
    }
    auto* w = new Worker;
    w->owner = this;
    w->pid = pid;
    w->on_exited = std::move(on_exited);
    w->has_work = true;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(
        &attr, std::max<std::size_t>(kStackBytes, PTHREAD_STACK_MIN));
    // The waiter blocks no signal the host's threads would not: it inherits
    // this thread's mask, and waitid restarts after a handler (EINTR loop).
    pthread_t thread;
    const int err = pthread_create(&thread, &attr, &Run, w);
    pthread_attr_destroy(&attr);
    if (err != 0) {
      delete w;
      const absl::Status s =
          ErrnoStatus(err, "start the exit watcher of a child");
      return absl::ResourceExhaustedError(s.message());
    }
    absl::MutexLock lock(&mu_);
    threads_.push_back(thread);
    all_.push_back(w);
    return absl::OkStatus();
  }

  // Nothing to release: the waiter went back to the idle list once it had
  // reported the exit.
  void Forget(pid_t /*pid*/) override {}

 private:
  struct Worker {
    ThreadExitWatcher* owner = nullptr;
    // Guarded by owner->mu_.
    pid_t pid = 0;
    std::function<void()> on_exited;
    bool has_work = false;
  };

  static void* Run(void* arg) {
    auto* w = static_cast<Worker*>(arg);
    ThreadExitWatcher* owner = w->owner;
    for (;;) {
      pid_t pid = 0;
      std::function<void()> on_exited;
      {
        absl::MutexLock lock(&owner->mu_);
        auto ready = [w, owner]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(owner->mu_) {
          return w->has_work || owner->quit_;
        };
        owner->mu_.Await(absl::Condition(&ready));
        if (!w->has_work) return nullptr;  // quit, idle
        pid = w->pid;
        on_exited = std::move(w->on_exited);
      }
      siginfo_t info = {};
      // WNOWAIT: the child stays a zombie for its owner to reap. Returns on
      // its exit only (not WSTOPPED/WCONTINUED: Suspend is not an exit), or
      // with ECHILD when someone else reaped it.
      while (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) !=
                 0 &&
             errno == EINTR) {
      }
      on_exited();
      on_exited = nullptr;
      absl::MutexLock lock(&owner->mu_);
      w->has_work = false;
      if (owner->quit_) return nullptr;
      owner->idle_.push_back(w);
    }
  }

  absl::Mutex mu_;
  bool quit_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<pthread_t> threads_ ABSL_GUARDED_BY(mu_);
  std::vector<Worker*> all_ ABSL_GUARDED_BY(mu_);
  std::vector<Worker*> idle_ ABSL_GUARDED_BY(mu_);
};
}  // namespace

const char* ExitWatchMechanism() {
  return "waitid(WNOWAIT), one thread per running child, reused";
}

absl::StatusOr<std::unique_ptr<ExitWatcher>> ExitWatcher::Create() {
  return std::unique_ptr<ExitWatcher>(std::make_unique<ThreadExitWatcher>());
}

}  // namespace procsandbox::darwin_internal
