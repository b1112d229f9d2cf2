// Spawn: start one program with everything set up before its first
// instruction, without fork.
//
// The parent prepares a `SpawnPlan` as plain data (resolved program path,
// argv, envp, the descriptors for 0/1/2, credentials, rlimits). `Spawn()`
// blocks every signal, clones with CLONE_VM | CLONE_VFORK | CLONE_PIDFD on a
// private stack (the parent's memory is shared, not copied: the cost does not
// grow with the parent's size, unlike fork), and the child runs the steps of
// spawn_child.cc — raw, async-signal-safe calls only — up to execve. The
// parent resumes when the child has exec'd or failed; a failure comes back as
// {step, errno} through the shared memory and becomes the Status of Spawn().
//
// Reap the child with waitid(P_PIDFD) on its pidfd: never waitpid(-1), which
// would take the host's own children. (A host that itself reaps with
// waitpid(-1) can take ours: execve makes every child an ordinary SIGCHLD
// child, whatever the clone flags said.)
#ifndef PROCSANDBOX_SRC_LINUX_SPAWN_H_
#define PROCSANDBOX_SRC_LINUX_SPAWN_H_

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "posix/exec_plan.h"
#include "posix/unique_fd.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;

using ::procsandbox::posix_internal::kKeepFd;
using ::procsandbox::posix_internal::RlimitSetting;

// The POSIX plan, with the steps only Linux has.
// The isolation steps, each prepared by its own file as plain data for the
// child (child_capabilities.h, child_namespaces.h, child_mounts.h,
// child_seccomp.h).
struct CapabilityPlan;
struct NamespacePlan;
struct MountPlan;
struct SeccompPlan;

struct SpawnPlan : posix_internal::ExecPlan {
  bool no_new_privs = true;
  // PR_SET_PDEATHSIG(SIGKILL): the child dies with the *thread* that
  // spawned it (a kernel rule), so spawn from a thread that lives as long as
  // the children should.
  bool die_with_parent = false;
  // A cgroup directory to start the child in, atomically
  // (clone3 CLONE_INTO_CGROUP; needs Clone3IntoCgroupAvailable()), or -1.
  int cgroup_fd = -1;
  // Open `cgroup.procs` descriptors the child writes "0" to, first thing
  // after clone: it is in those groups before anything else runs.
  std::vector<int> cgroup_join_fds;
  // CLONE_NEW* flags for clone itself (user, pid, mount, net, ipc, uts;
  // the cgroup namespace is unshared by the child once it is in its group).
  int clone_namespace_flags = 0;
  // Null: the step is not taken.
  std::shared_ptr<const NamespacePlan> namespaces;
  std::shared_ptr<const MountPlan> mounts;
  std::shared_ptr<const CapabilityPlan> capabilities;
  std::shared_ptr<const SeccompPlan> seccomp;
};

struct Spawned {
  pid_t pid = 0;
  UniqueFd pidfd;  // CLONE_PIDFD: signal and wait without pid reuse races
};

// True when Spawn() can honour SpawnPlan::cgroup_fd: clone3 exists (Linux
// 5.7+ for CLONE_INTO_CGROUP) and this architecture has the library's clone3
// entry (x86_64).
bool Clone3IntoCgroupAvailable();

// Clones a child with `namespace_flags` (CLONE_NEW*) that exits at once, and
// reaps it: 0 when the kernel let this process make those namespaces, else
// clone's errno. What probes use to learn the truth cheaply (no exec).
int TryCloneNamespaces(int namespace_flags);

// Starts `plan.path`. On failure nothing is left behind (the failed child is
// reaped) and the Status names the step and errno: NotFound (ENOENT),
// PermissionDenied (EACCES, EPERM), FailedPrecondition (a bad working
// directory), InvalidArgument (ENOEXEC, E2BIG, EINVAL), ResourceExhausted
// (EAGAIN, ENOMEM, EMFILE).
absl::StatusOr<Spawned> Spawn(const SpawnPlan& plan);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_SPAWN_H_
