// ExitWatcher on macOS: one kqueue, one thread, EVFILT_PROC/NOTE_EXIT per
// child. CMake builds this file on Apple systems only (written, not built on
// the Linux machine that runs the tests: Linux has no kqueue).
#include <sys/event.h>
#include <sys/types.h>

#include <cerrno>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "darwin/exit_watch.h"
#include "posix/errno_status.h"
#include "posix/unique_fd.h"

namespace procsandbox::darwin_internal {
namespace {

using ::procsandbox::posix_internal::ErrnoStatus;

class KqueueExitWatcher final : public ExitWatcher {
 public:
  explicit KqueueExitWatcher(posix_internal::UniqueFd kq)
      : kq_(std::move(kq)) {}
  ~KqueueExitWatcher() override {
    struct kevent stop;
    EV_SET(&stop, 0, EVFILT_USER, EV_ADD | EV_ONESHOT, NOTE_TRIGGER, 0,
           nullptr);
    kevent(kq_.get(), &stop, 1, nullptr, 0, nullptr);
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start() {
    try {
      thread_ = std::thread([this] { Loop(); });
    } catch (const std::system_error& e) {
      return absl::ResourceExhaustedError(
          std::string("start the exit watcher: ") + e.what());
    }
    return absl::OkStatus();
  }

  absl::Status Watch(pid_t pid, std::function<void()> on_exited) override {
    {
      absl::MutexLock lock(&mu_);
      callbacks_[pid] = std::move(on_exited);
    }
    struct kevent change;
    EV_SET(&change, pid, EVFILT_PROC, EV_ADD | EV_ONESHOT, NOTE_EXIT, 0,
           nullptr);
    if (kevent(kq_.get(), &change, 1, nullptr, 0, nullptr) != 0) {
      // ESRCH: it has exited already (a zombie has no process filter).
      Fire(pid);
    }
    return absl::OkStatus();
  }

  void Forget(pid_t pid) override {
    absl::MutexLock lock(&mu_);
    callbacks_.erase(pid);
  }

 private:
  void Fire(pid_t pid) {
    std::function<void()> fn;
    {
      absl::MutexLock lock(&mu_);
      auto it = callbacks_.find(pid);
      if (it == callbacks_.end() || !it->second) return;
      fn = std::exchange(it->second, nullptr);
    }
    fn();
  }

  void Loop() {
    for (;;) {
      struct kevent events[16];
      const int n = kevent(kq_.get(), nullptr, 0, events, 16, nullptr);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return;
      for (int i = 0; i < n; ++i) {
        if (events[i].filter == EVFILT_USER) return;
        Fire(static_cast<pid_t>(events[i].ident));
      }
    }
  }

  posix_internal::UniqueFd kq_;
  std::thread thread_;
  absl::Mutex mu_;
  absl::flat_hash_map<pid_t, std::function<void()>> callbacks_
      ABSL_GUARDED_BY(mu_);
};
}  // namespace

const char* ExitWatchMechanism() {
  return "kqueue EVFILT_PROC, one thread per manager";
}

absl::StatusOr<std::unique_ptr<ExitWatcher>> ExitWatcher::Create() {
  posix_internal::UniqueFd kq(kqueue());
  if (!kq.valid()) {
    const absl::Status s =
        ErrnoStatus(errno, "create the exit watcher: kqueue");
    return absl::ResourceExhaustedError(s.message());
  }
  auto watcher = std::make_unique<KqueueExitWatcher>(std::move(kq));
  if (absl::Status s = watcher->Start(); !s.ok()) return s;
  return std::unique_ptr<ExitWatcher>(std::move(watcher));
}

}  // namespace procsandbox::darwin_internal
