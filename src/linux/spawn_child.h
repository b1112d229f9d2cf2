// The child side of Spawn(): the code between clone and execve. See the
// rules at the top of spawn_child.cc.
#ifndef PROCSANDBOX_SRC_LINUX_SPAWN_CHILD_H_
#define PROCSANDBOX_SRC_LINUX_SPAWN_CHILD_H_

#include <sys/types.h>

#include <cstddef>

#include "linux/spawn.h"

// PROCSANDBOX_TSAN: built with ThreadSanitizer (GCC or clang). The child
// then runs uninstrumented and is started by a raw clone3 (spawn.cc).
#if defined(__SANITIZE_THREAD__)
#define PROCSANDBOX_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PROCSANDBOX_TSAN 1
#endif
#endif
#ifndef PROCSANDBOX_TSAN
#define PROCSANDBOX_TSAN 0
#endif

// Marks the code that runs in the child under TSan: not instrumented.
#if PROCSANDBOX_TSAN
#define PROCSANDBOX_CHILD_CODE __attribute__((no_sanitize("thread")))
#else
#define PROCSANDBOX_CHILD_CODE
#endif

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
  // Isolation (failed_index says which part; see each plan's file).
  kNamespaces,
  kMounts,
  kCapabilityBounding,
  kCapabilities,
  kSeccomp,
};

// Everything the child reads, prepared by the parent as plain data (the
// child calls no C++ library code, not even vector::size: under TSan that
// would be instrumented code), and where it writes its failure (the memory
// is shared: CLONE_VM).
struct ChildContext {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* working_dir = nullptr;  // null: the host's
  const int* cgroup_join_fds = nullptr;
  std::size_t cgroup_join_fd_count = 0;
  const RlimitSetting* rlimits = nullptr;
  std::size_t rlimit_count = 0;
  int stdio[3] = {kKeepFd, kKeepFd, kKeepFd};
  bool new_session = false;
  bool new_process_group = false;
  bool die_with_parent = false;
  bool no_new_privs = false;
  bool set_ids = false;  // setgroups, then gid and uid when set
  bool has_gid = false;
  bool has_uid = false;
  unsigned int gid = 0;
  unsigned int uid = 0;
  const unsigned int* groups = nullptr;  // gid_t
  std::size_t group_count = 0;
  pid_t parent_pid = 0;
  // Set when the child is pid 1 of a new pid namespace (getppid() is 0).
  bool new_pid_namespace = false;
  // Isolation plans (null: not taken), owned by the SpawnPlan.
  const NamespacePlan* namespaces = nullptr;
  const MountPlan* mounts = nullptr;
  const CapabilityPlan* capabilities = nullptr;
  const SeccompPlan* seccomp = nullptr;
  // A descriptor above 2 the close step leaves open (close-on-exec: the
  // seccomp step's socket), or -1.
  int keep_fd = -1;
  // Written by the child before it exits with 127; read by the parent after
  // clone.
  volatile ChildStep failed_step = ChildStep::kNone;
  volatile int failed_errno = 0;
  volatile int failed_index = 0;  // which rlimit / stdio slot
};

// The clone entry point. Never returns on success (execve).
int ChildMain(void* context);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_SPAWN_CHILD_H_
