// The child side of Spawn(): the code between clone and execve. See the
// rules at the top of spawn_child.cc.
#ifndef PROCSANDBOX_SRC_LINUX_SPAWN_CHILD_H_
#define PROCSANDBOX_SRC_LINUX_SPAWN_CHILD_H_

#include <sys/types.h>

#include <array>
#include <cstddef>

#include "linux/spawn.h"

namespace procsandbox::linux_internal {

// The step of the child that failed (reported with its errno).
enum class ChildStep : int {
  kNone = 0,
  kResetSignals,
  kJoinCgroup,
  kSetsid,
  kSetpgid,
  kDeathSignal,
  kParentGone,
  kSetgroups,
  kSetgid,
  kSetuid,
  kRlimit,
  kNoNewPrivs,
  kChdir,
  kStdio,
  kCloseFds,
  kExec,
};

// Everything the child reads, prepared by the parent, and where it writes
// its failure (the memory is shared: CLONE_VM).
struct ChildContext {
  const SpawnPlan* plan = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const unsigned int* groups = nullptr;  // gid_t
  std::size_t group_count = 0;
  pid_t parent_pid = 0;
  // Written by the child before _exit(127); read by the parent after clone.
  volatile ChildStep failed_step = ChildStep::kNone;
  volatile int failed_errno = 0;
  volatile int failed_index = 0;  // which rlimit / stdio slot
};

// The clone entry point. Never returns on success (execve).
int ChildMain(void* context);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_SPAWN_CHILD_H_
