// procsandbox/os_manager.h: the manager that runs real processes.
//
// `NewOsManager()` picks this platform's backend: on Linux, children are
// spawned with clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) with every limit
// and all isolation applied before their first instruction, and one reactor
// thread (epoll over pidfds, pipes, a timerfd and an eventfd) watches all of
// them: deadlines, output, exits.
//
// Example:
//   absl::StatusOr<std::unique_ptr<procsandbox::Manager>> manager =
//       procsandbox::NewOsManager();
//   if (!manager.ok()) return manager.status();
//   procsandbox::Command cmd("python3", {"-c", "print(42)"});
//   cmd.env.Set("PATH", "/usr/bin:/bin").IgnoreError();
//   cmd.limits.wall_time = absl::Seconds(2);
//   auto result = procsandbox::Run(**manager, cmd);
//
// Thread-safety: the manager and its processes may be used from any thread.
#ifndef PROCSANDBOX_OS_MANAGER_H_
#define PROCSANDBOX_OS_MANAGER_H_

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"

namespace procsandbox {

struct PROCSANDBOX_EXPORT OsManagerOptions {
  // Start() fails with FailedPrecondition when a requested limit cannot be
  // enforced here, instead of running without it.
  bool strict = false;
  // Merged under every command's limits (Manager::SetDefaultLimits).
  Limits default_limits;
  // Size asked for capture and line pipes (F_SETPIPE_SZ, capped by
  // /proc/sys/fs/pipe-max-size): larger pipes move bulk output faster.
  std::size_t capture_pipe_bytes = 1 << 20;
  // After the child exited, how long output still held open by a descendant
  // (a daemonised grandchild) is drained before Wait() returns anyway.
  absl::Duration drain_after_exit = absl::Milliseconds(200);
};

// The OS manager of this platform. FailedPrecondition when this platform has
// no backend, or the kernel lacks what it needs (naming it).
PROCSANDBOX_EXPORT absl::StatusOr<std::unique_ptr<Manager>> NewOsManager(
    OsManagerOptions options = {});

}  // namespace procsandbox

#endif  // PROCSANDBOX_OS_MANAGER_H_
