// ExitWatcher: learns that a known child has exited, without waitpid(-1)
// and without a SIGCHLD handler (both belong to the host), and without
// reaping it: the caller reaps the zombie (wait4 on its pid, which gives its
// rusage), so its pid cannot be reused while the manager still signals it.
//
// macOS: one thread per manager blocks in kevent() on a kqueue with an
// EVFILT_PROC/NOTE_EXIT filter per child. Elsewhere (Linux and other POSIX
// systems, which have no process filter): one thread per running child, on
// a small stack, blocks in waitid(P_PID, pid, WEXITED | WNOWAIT), then waits
// to be reused for the next child. ARCHITECTURE.md gives the cost per child.
#ifndef PROCSANDBOX_SRC_DARWIN_EXIT_WATCH_H_
#define PROCSANDBOX_SRC_DARWIN_EXIT_WATCH_H_

#include <sys/types.h>

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace procsandbox::darwin_internal {

// How this system's ExitWatcher works, for Capabilities::features.
const char* ExitWatchMechanism();

class ExitWatcher {
 public:
  // ResourceExhausted when its kqueue or thread cannot be had.
  static absl::StatusOr<std::unique_ptr<ExitWatcher>> Create();
  // Joins its threads: every watched child must have exited by then.
  virtual ~ExitWatcher() = default;

  // Calls `on_exited` once, on a watcher thread, when `pid` (a child of this
  // process) has exited; it stays a zombie until the caller reaps it. Also
  // called when the child cannot be waited for (already reaped by someone
  // else: ECHILD), so that its owner never hangs. ResourceExhausted when no
  // thread can be had (nothing is watched then). Thread-safe.
  virtual absl::Status Watch(pid_t pid, std::function<void()> on_exited) = 0;
  // After the caller reaped `pid`: releases what watched it. Thread-safe.
  virtual void Forget(pid_t pid) = 0;
};

}  // namespace procsandbox::darwin_internal

#endif  // PROCSANDBOX_SRC_DARWIN_EXIT_WATCH_H_
