// Spawn for the POSIX backend: posix_spawn where it can express the plan, a
// fork path where it cannot.
//
// The parent prepares a `SpawnPlan` as plain data (resolved program path,
// argv, envp, the descriptors for 0/1/2, credentials, rlimits). Most plans
// go through posix_spawn(3): every signal back to its default action
// (POSIX_SPAWN_SETSIGDEF), none blocked (SETSIGMASK), a new process group
// (SETPGROUP) or session (SETSID), stdio by adddup2, the working directory
// by addchdir_np, every other descriptor closed (addclosefrom_np; on macOS
// POSIX_SPAWN_CLOEXEC_DEFAULT). posix_spawn reports exec errors as its
// return value; nothing is left behind on failure.
//
// What posix_spawn cannot express (rlimits, uid/gid/groups; on a libc
// without addchdir_np/addclosefrom_np/SETSID those too) takes the fork path
// (spawn_fork.cc): vfork() — the child borrows the parent's memory, so the
// cost does not grow with the parent's size — async-signal-safe steps,
// execve, errors back over a close-on-exec pipe. A plan that switches
// credentials uses fork() instead: glibc's setuid/setgid/setgroups signal
// every thread of the process to switch them all, which a child sharing the
// parent's memory would do to the parent's threads. The host's own rlimits
// are never changed to pass them on (other host threads would see them).
// ARCHITECTURE.md has the measured cost of each path.
//
// The caller reaps the child (darwin/exit_watch.h: never waitpid(-1)).
#ifndef PROCSANDBOX_SRC_DARWIN_SPAWN_H_
#define PROCSANDBOX_SRC_DARWIN_SPAWN_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "posix/exec_plan.h"
#include "posix/unique_fd.h"

namespace procsandbox::darwin_internal {

using ::procsandbox::posix_internal::kKeepFd;
using ::procsandbox::posix_internal::RlimitSetting;
// Everything posix_spawn or the fork path sets up (posix/exec_plan.h).
using SpawnPlan = ::procsandbox::posix_internal::ExecPlan;

enum class SpawnPath {
  kPosixSpawn,  // posix_spawn(3)
  kFork,        // fork + async-signal-safe steps + execve
};

// The path Spawn() takes for `plan` on this system.
SpawnPath PathFor(const SpawnPlan& plan);

// Starts `plan.path` in a new process; returns its pid, which the caller
// reaps. On failure nothing is left behind and the Status names the step and
// errno, in the Linux backend's words (posix/spawn_errors.h): NotFound
// (ENOENT), PermissionDenied (EACCES, EPERM), FailedPrecondition (a bad
// working directory), InvalidArgument (ENOEXEC, E2BIG, an empty plan),
// ResourceExhausted (EAGAIN, ENOMEM, EMFILE). Thread-safe.
absl::StatusOr<pid_t> Spawn(const SpawnPlan& plan);

// Implementation details follow.

// How the fork path makes the child: vfork unless the plan switches
// credentials (see above), or as asked (the benchmark compares them).
enum class ForkKind { kByPlan, kVfork, kFork };

// The fork path (spawn_fork.cc), whatever PathFor says: tests and the
// benchmark use it to compare the paths on one plan. kVfork with
// credentials is refused (FailedPrecondition).
absl::StatusOr<pid_t> SpawnByFork(const SpawnPlan& plan,
                                  ForkKind kind = ForkKind::kByPlan);
// The posix_spawn path. FailedPrecondition when PathFor(plan) is kFork.
absl::StatusOr<pid_t> SpawnByPosixSpawn(const SpawnPlan& plan);

// Shared by both paths.
// plan.stdio, with every source below 3 that belongs to another slot
// (stdout -> 2 while stderr -> 1) first copied above 2, close-on-exec, into
// `held`: in the child each slot can then be installed with one dup2.
absl::StatusOr<std::array<int, 3>> LiftStdio(
    const SpawnPlan& plan, std::vector<posix_internal::UniqueFd>& held);

}  // namespace procsandbox::darwin_internal

#endif  // PROCSANDBOX_SRC_DARWIN_SPAWN_H_
