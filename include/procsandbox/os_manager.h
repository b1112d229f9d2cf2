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
//   cmd.env = {{"PATH", "/usr/bin:/bin"}};
//   cmd.limits.wall_time = absl::Seconds(2);
//   auto result = procsandbox::RunCommand(**manager, cmd);
//
// Thread-safety: the manager and its processes may be used from any thread.
#ifndef PROCSANDBOX_OS_MANAGER_H_
#define PROCSANDBOX_OS_MANAGER_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"

namespace procsandbox {

// What the manager did on its own, for the host's logs and metrics.
struct PROCSANDBOX_EXPORT OsManagerEvent {
  enum class Kind {
    // At creation: a group left by an earlier host of this library that
    // crashed was killed and removed (detail: its directory). A group whose
    // manager is alive, in any pid namespace, is never removed.
    kStaleCgroupRemoved,
    // A group could not be removed after its process ended (detail: which,
    // and why); the manager tries again when it is destroyed. At creation:
    // a stale group could not be removed, or another manager's group could
    // not be checked ("...; left alone").
    kCgroupCleanupFailed,
    // A process ran without a cgroup it should have had, on rlimits
    // (detail: the limit and why); never in strict mode, which fails Start().
    kCgroupDegraded,
  };
  Kind kind = Kind::kStaleCgroupRemoved;
  std::string detail;

  friend bool operator==(const OsManagerEvent& a, const OsManagerEvent& b) {
    return a.kind == b.kind && a.detail == b.detail;
  }
  friend bool operator!=(const OsManagerEvent& a, const OsManagerEvent& b) {
    return !(a == b);
  }
};

// "stale_cgroup_removed", "cgroup_cleanup_failed", "cgroup_degraded".
PROCSANDBOX_EXPORT absl::string_view OsManagerEventKindName(
    OsManagerEvent::Kind kind);
// "stale_cgroup_removed: /sys/fs/cgroup/...".
PROCSANDBOX_EXPORT std::string ToString(const OsManagerEvent& event);

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
  // A Stdio::File that is a FIFO opens when its other end is opened too, as
  // a shell's `<` and `>` do: Start() waits for that at most the command's
  // wall-time limit, or this long without one, then fails with
  // DeadlineExceeded naming the file. No open(2) blocks past it: a FIFO to
  // read from that this process may not open for writing (the watchdog ends
  // the wait by opening that end for a moment) fails at once
  // (FailedPrecondition). Each of the three streams waits on its own.
  absl::Duration fifo_open_timeout = absl::Seconds(10);
  // Linux: put each process tree in a cgroup of its own where this host
  // allows it (capabilities() says what it found). Memory, processes, CPU
  // time and CPU weight then hold for every descendant, usage covers the
  // whole tree, and a stop reaches processes that left the process group.
  // Off: rlimits and process groups only.
  bool cgroups = true;
  // Linux: where the manager creates its groups. Empty: this process's own
  // cgroup in each hierarchy. Otherwise a group path delegated to this
  // process, the same in every hierarchy used ("/services/runner": under the
  // cgroup2 mount and under each v1 controller's mount); a directory under
  // the cgroup2 mount ("/sys/fs/cgroup/services/runner") means the same. The
  // manager creates one directory of its own in it and never moves the host.
  // InvalidArgument when not absolute; FailedPrecondition naming it when it
  // cannot be used.
  std::string cgroup_root;
  // Called with what the manager did on its own (see OsManagerEvent), from
  // the thread that created the manager or from the manager's thread; it
  // must not call back into the manager. Empty: nothing is reported.
  std::function<void(const OsManagerEvent&)> on_event;
};

// The OS manager of this platform: the Linux backend on Linux, the POSIX
// backend (NewPosixManager) on macOS. FailedPrecondition when this platform
// has no backend, or the kernel lacks what it needs (naming it).
PROCSANDBOX_EXPORT absl::StatusOr<std::unique_ptr<Manager>> NewOsManager(
    OsManagerOptions options = {});

// The portable POSIX backend, on any POSIX system (macOS's OS manager; on
// Linux an alternative to NewOsManager, with the same Outcomes). Children
// start with posix_spawn (a fork path for rlimits and credentials), each in
// a new process group; stops and Suspend reach the group and the leader.
// Limits are rlimits only (no cgroups): memory as RLIMIT_AS of each process,
// processes as RLIMIT_NPROC (nothing for root), CPU time as RLIMIT_CPU of the
// first process; cpu_weight is not enforced; capabilities() says so, with
// backend "posix". Isolation::no_new_privs and die_with_parent (Linux only)
// are not applied. `options.cgroups` and `cgroup_root` are ignored. A FIFO
// given as a Stdio::File waits for its other end as with NewOsManager (at
// most the wall time, or `fifo_open_timeout`).
// InvalidArgument for bad default limits; ResourceExhausted when its thread
// cannot be started.
PROCSANDBOX_EXPORT absl::StatusOr<std::unique_ptr<Manager>> NewPosixManager(
    OsManagerOptions options = {});

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::OsManagerEvent)

#endif  // PROCSANDBOX_OS_MANAGER_H_
