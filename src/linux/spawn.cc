#include "linux/spawn.h"

#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "linux/child_capabilities.h"
#include "linux/child_mounts.h"
#include "linux/child_namespaces.h"
#include "linux/child_seccomp.h"
#include "linux/spawn_child.h"
#include "posix/errno_status.h"
#include "posix/spawn_errors.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::ExecError;
using ::procsandbox::posix_internal::PointersTo;
using ::procsandbox::posix_internal::RlimitError;
using ::procsandbox::posix_internal::ShownProgram;
using ::procsandbox::posix_internal::SpawnStep;
using ::procsandbox::posix_internal::SpawnStepError;
using ::procsandbox::posix_internal::UniqueFd;
using ::procsandbox::posix_internal::WorkingDirError;

namespace {

// The child's stack: one per spawning thread, reused (CLONE_VFORK suspends
// the thread until the child has exec'd, so one child at a time uses it).
class ChildStack {
 public:
  static constexpr std::size_t kSize = std::size_t{64} * 1024;

  ~ChildStack() {
    if (base_ != nullptr) munmap(base_, kSize);
  }
  // The top of the stack (it grows down), or null when mmap failed.
  void* top() {
    if (base_ == nullptr) {
      void* mem = mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
      if (mem == MAP_FAILED) return nullptr;
      base_ = mem;
    }
    return static_cast<char*>(base_) + kSize;
  }

 private:
  void* base_ = nullptr;
};

thread_local ChildStack child_stack;

#if defined(__x86_64__) && defined(SYS_clone3)
#define PROCSANDBOX_HAVE_CLONE3_VM 1
// clone3 has no libc wrapper that runs a function on a new stack, and a
// CLONE_VM child cannot return through syscall(): it would pop the parent's
// frames from its fresh stack. This entry does what glibc's clone() does for
// clone(2): the child (rax == 0, on the stack clone3 gave it) calls fn(arg)
// and exits with its result; the parent returns clone3's result.
//   int64_t procsandbox_clone3_vm(struct clone_args* args, size_t size,
//                              int (*fn)(void*), void* arg);
// r8 and r9 carry fn and arg across the syscall (it preserves them; the
// child starts with the parent's registers).
extern "C" int64_t procsandbox_clone3_vm(void* args, std::size_t size,
                                         int (*fn)(void*), void* arg);
asm(R"(
  .text
  .globl procsandbox_clone3_vm
  .hidden procsandbox_clone3_vm
  .type procsandbox_clone3_vm, @function
procsandbox_clone3_vm:
  .cfi_startproc
  mov %rdx, %r8
  mov %rcx, %r9
  mov $435, %eax
  syscall
  test %rax, %rax
  jnz 1f
  .cfi_undefined %rip
  xor %ebp, %ebp
  mov %r9, %rdi
  call *%r8
  mov %eax, %edi
  mov $60, %eax
  syscall
  hlt
1:
  ret
  .cfi_endproc
  .size procsandbox_clone3_vm, .-procsandbox_clone3_vm
  .text
)");
static_assert(SYS_clone3 == 435, "the entry above hard-codes clone3's number");

// struct clone_args of <linux/sched.h>, as of Linux 5.7 (cgroup).
struct CloneArgs {
  uint64_t flags;
  uint64_t pidfd;
  uint64_t child_tid;
  uint64_t parent_tid;
  uint64_t exit_signal;
  uint64_t stack;
  uint64_t stack_size;
  uint64_t tls;
  uint64_t set_tid;
  uint64_t set_tid_size;
  uint64_t cgroup;
};
#endif

// clone(CLONE_VM | CLONE_VFORK | CLONE_PIDFD) running fn(arg) (ChildMain)
// on `stack`, through clone3 into `cgroup_fd` when it is set. Returns the
// pid or -1 (errno set).
pid_t CloneChild(int (*fn)(void*), void* arg, void* stack, int cgroup_fd,
                 int namespace_flags, int* pidfd) {
#if PROCSANDBOX_HAVE_CLONE3_VM
  // Under TSan always: its clone interceptor treats the child as a fork
  // and rewrites TSan's state, which this CLONE_VM child shares.
  if (cgroup_fd >= 0 || PROCSANDBOX_TSAN) {
    CloneArgs args = {};
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD |
                 static_cast<uint64_t>(static_cast<unsigned>(namespace_flags));
    if (cgroup_fd >= 0) {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = static_cast<uint64_t>(cgroup_fd);
    }
    args.pidfd = reinterpret_cast<uint64_t>(pidfd);
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<uint64_t>(static_cast<char*>(stack) -
                                            ChildStack::kSize);
    args.stack_size = ChildStack::kSize;
    const int64_t pid = procsandbox_clone3_vm(&args, sizeof(args), fn, arg);
    if (pid < 0) {
      errno = static_cast<int>(-pid);
      return -1;
    }
    return static_cast<pid_t>(pid);
  }
#else
  if (cgroup_fd >= 0) {
    errno = ENOSYS;
    return -1;
  }
#endif
#if PROCSANDBOX_TSAN && !PROCSANDBOX_HAVE_CLONE3_VM
#error "a TSan build needs the clone3 entry (x86_64)"
#endif
  return clone(fn, stack,
               CLONE_VM | CLONE_VFORK | CLONE_PIDFD | namespace_flags | SIGCHLD,
               arg, pidfd);
}

// The child of TryCloneNamespaces: nothing to do.
PROCSANDBOX_CHILD_CODE int ExitAtOnce(void*) {
  for (;;) syscall(SYS_exit_group, 0);
}

// The Status of a failed child step, naming what it was doing.
absl::Status StepError(const SpawnPlan& plan, ChildStep step, int err,
                       int index) {
  switch (step) {
    case ChildStep::kExec:
      return ExecError(err, ShownProgram(plan));
    case ChildStep::kChdir:
      return WorkingDirError(err, plan.working_dir);
    case ChildStep::kSetsid:
      return SpawnStepError(SpawnStep::kSetsid, err);
    case ChildStep::kSetpgid:
      return SpawnStepError(SpawnStep::kSetpgid, err);
    case ChildStep::kDeathSignal:
      return ErrnoStatus(err, "set the parent-death signal");
    case ChildStep::kParentGone:
      return ErrnoStatus(err, "start: the parent exited");
    case ChildStep::kSetgroups:
      return SpawnStepError(SpawnStep::kSetgroups, err);
    case ChildStep::kSetgid:
      return SpawnStepError(SpawnStep::kSetgid, err, plan.gid.value_or(0));
    case ChildStep::kSetuid:
      return SpawnStepError(SpawnStep::kSetuid, err, plan.uid.value_or(0));
    case ChildStep::kRlimit: {
      const RlimitSetting& r = plan.rlimits[static_cast<std::size_t>(index)];
      return RlimitError(err, r.resource, r.soft);
    }
    case ChildStep::kNoNewPrivs:
      return ErrnoStatus(err, "set no_new_privs");
    case ChildStep::kStdio:
      return SpawnStepError(SpawnStep::kStdio, err, index);
    case ChildStep::kCloseFds:
      return SpawnStepError(SpawnStep::kCloseFds, err);
    case ChildStep::kJoinCgroup:
      return ErrnoStatus(err, "join the process's cgroup");
    // [isolation steps] each plan's file names its own failure.
    case ChildStep::kNamespaces:
      return NamespaceStepError(plan, err, index);
    case ChildStep::kCapabilityBounding:
    case ChildStep::kCapabilities:
      return CapabilityStepError(step, err, index);
    case ChildStep::kMounts:
      return MountStepError(*plan.mounts, err, index);
    case ChildStep::kSeccomp:
      return SeccompStepError(err, index);
    case ChildStep::kResetSignals:
    case ChildStep::kNone:
      break;
  }
  return absl::InternalError(
      absl::StrCat("spawn: unknown child step ", static_cast<int>(step)));
}

// Blocks every signal for the lifetime of the object, then restores the
// thread's mask (and errno, which the CLONE_VM child shares).
class SignalsBlocked {
 public:
  SignalsBlocked() : saved_errno_(errno) {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &saved_);
  }
  ~SignalsBlocked() {
    pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
    errno = saved_errno_;
  }
  SignalsBlocked(const SignalsBlocked&) = delete;
  SignalsBlocked& operator=(const SignalsBlocked&) = delete;

 private:
  sigset_t saved_;
  int saved_errno_;
};

// Reaps the child of `pidfd`, which has exited (or is about to).
void ReapExited(int pidfd) {
  siginfo_t info;
  while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
                WEXITED) != 0 &&
         errno == EINTR) {
  }
}

}  // namespace

bool Clone3IntoCgroupAvailable() {
#if PROCSANDBOX_HAVE_CLONE3_VM
  // clone3 with a too-small size fails with EINVAL where it exists and
  // ENOSYS where it does not; nothing is created either way.
  static const bool kAvailable =
      syscall(SYS_clone3, nullptr, std::size_t{0}) < 0 && errno != ENOSYS;
  return kAvailable;
#else
  return false;
#endif
}

int TryCloneNamespaces(int namespace_flags) {
  void* stack = child_stack.top();
  if (stack == nullptr) return errno;
  int pidfd = -1;
  pid_t pid = -1;
  int clone_errno = 0;
  {
    SignalsBlocked blocked;
    pid = CloneChild(ExitAtOnce, nullptr, stack, -1, namespace_flags, &pidfd);
    if (pid < 0) clone_errno = errno;
  }
  if (pid < 0) return clone_errno;
  UniqueFd owned(pidfd);
  ReapExited(pidfd);
  return 0;
}

absl::StatusOr<Spawned> Spawn(const SpawnPlan& plan) {
  if (plan.path.empty() || plan.argv.empty()) {
    return absl::InvalidArgumentError("spawn: empty program path or argv");
  }
  const std::vector<char*> argv = PointersTo(plan.argv);
  const std::vector<char*> envp = PointersTo(plan.envp);
  std::vector<unsigned int> groups(plan.groups.begin(), plan.groups.end());

  ChildContext context;
  context.path = plan.path.c_str();
  context.argv = argv.data();
  context.envp = envp.data();
  if (!plan.working_dir.empty()) context.working_dir = plan.working_dir.c_str();
  context.cgroup_join_fds = plan.cgroup_join_fds.data();
  context.cgroup_join_fd_count = plan.cgroup_join_fds.size();
  context.rlimits = plan.rlimits.data();
  context.rlimit_count = plan.rlimits.size();
  for (std::size_t i = 0; i < 3; ++i) context.stdio[i] = plan.stdio[i];
  context.new_session = plan.new_session;
  context.new_process_group = plan.new_process_group;
  context.die_with_parent = plan.die_with_parent;
  context.no_new_privs = plan.no_new_privs;
  context.set_ids = plan.uid.has_value() || plan.gid.has_value();
  context.has_gid = plan.gid.has_value();
  context.gid = plan.gid.value_or(0);
  context.has_uid = plan.uid.has_value();
  context.uid = plan.uid.value_or(0);
  context.groups = groups.data();
  context.group_count = groups.size();
  context.parent_pid = getpid();
  context.new_pid_namespace = (plan.clone_namespace_flags & CLONE_NEWPID) != 0;
  context.namespaces = plan.namespaces.get();
  context.mounts = plan.mounts.get();
  context.capabilities = plan.capabilities.get();
  context.seccomp = plan.seccomp.get();
  if (plan.seccomp != nullptr) context.keep_fd = plan.seccomp->child_socket_fd;

  void* stack = child_stack.top();
  if (stack == nullptr)
    return ErrnoStatus(errno, "spawn: map the child's stack");

  int pidfd = -1;
  pid_t pid = -1;
  int clone_errno = 0;
  {
    SignalsBlocked blocked;
    pid = CloneChild(ChildMain, &context, stack, plan.cgroup_fd,
                     plan.clone_namespace_flags, &pidfd);
    if (pid < 0) clone_errno = errno;
  }
  if (pid < 0 && plan.clone_namespace_flags != 0 &&
      (clone_errno == EPERM || clone_errno == EINVAL || clone_errno == ENOSPC ||
       clone_errno == EUSERS)) {
    return NamespaceCloneError(plan.clone_namespace_flags, clone_errno);
  }
  if (pid < 0) {
    const absl::Status s = ErrnoStatus(
        clone_errno,
        plan.cgroup_fd >= 0 ? "spawn: clone3 into the cgroup" : "spawn: clone");
    // EAGAIN from clone is a limit reached (RLIMIT_NPROC, the pids.max of
    // the host's own group, threads-max), not a passing state (Unavailable).
    if (clone_errno == EAGAIN) return absl::ResourceExhaustedError(s.message());
    return s;
  }

  Spawned spawned{pid, UniqueFd(pidfd)};
  if (context.failed_step != ChildStep::kNone) {
    // The child _exit'ed: reap it so nothing is left behind.
    ReapExited(pidfd);
    return StepError(plan, context.failed_step, context.failed_errno,
                     context.failed_index);
  }
  return spawned;
}

}  // namespace procsandbox::linux_internal
