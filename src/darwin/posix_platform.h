// The POSIX backend's Platform (os/platform.h): what src/os runs over on
// macOS, and on Linux as `NewPosixManager()`.
//
// Children start through darwin/spawn.h (posix_spawn; fork for rlimits and
// credentials), each leading a new process group. One PollLoop thread per
// manager reads their output and feeds their Stdio::Data stdin; an
// ExitWatcher reports their exits (kqueue on macOS, a waitid(WNOWAIT)
// thread per child elsewhere), and the loop reaps the leader with wait4,
// after a SIGKILL to the rest of its group. Limits are rlimits only (no
// cgroups): memory as RLIMIT_AS, processes as RLIMIT_NPROC (none for root),
// CPU time as RLIMIT_CPU of the leader; capabilities() says so. Suspend is
// SIGSTOP/SIGCONT to the group, stops reach the group and the leader.
#ifndef PROCSANDBOX_SRC_DARWIN_POSIX_PLATFORM_H_
#define PROCSANDBOX_SRC_DARWIN_POSIX_PLATFORM_H_

#include <memory>

#include "absl/status/statusor.h"
#include "os/platform.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/os_manager.h"

namespace procsandbox::darwin_internal {

// What the POSIX backend enforces and how, for `options` on this host.
Capabilities PosixCapabilities(const OsManagerOptions& options);

// A manager's Platform: starts its loop and exit watcher. ResourceExhausted
// when a thread or descriptor for them cannot be had.
absl::StatusOr<std::unique_ptr<os_internal::Platform>> NewPosixPlatform(
    const OsManagerOptions& options);

}  // namespace procsandbox::darwin_internal

#endif  // PROCSANDBOX_SRC_DARWIN_POSIX_PLATFORM_H_
