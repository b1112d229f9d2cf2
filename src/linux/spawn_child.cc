// The child between clone and execve.
//
// RULES for everything in this file. The child shares the parent's memory
// (CLONE_VM) while the parent thread is suspended (CLONE_VFORK), and other
// threads of the host may hold any lock. So from clone to execve the child:
//   - does not allocate, lock, log, format, throw or touch stdio;
//   - calls only async-signal-safe functions (signal-safety(7)) and raw
//     syscalls, and never a glibc wrapper that signals other threads (setuid,
//     setgid and setgroups go through syscall(2) for that reason);
//   - reads only the prepared ChildContext, and writes only its failure
//     fields before _exit(127).
// Every signal is blocked when it starts (the parent blocked them before
// clone), so no handler of the host can run on this stack.
//
// The child calls the kernel through syscall(2) (the Sys* helpers below),
// never through the libc wrappers that ThreadSanitizer intercepts (write,
// close, dup2, sigaction, sigprocmask, prctl, _exit...): an interceptor
// updates TSan's state, which lives in the memory this child shares with
// the parent (its fd table, signal handlers, thread state). For the same
// reason, under TSan every function here is not instrumented
// (PROCSANDBOX_CHILD_CODE), the child reads plain data only, and Spawn
// starts it with a raw clone3 (TSan intercepts clone too).
#include "linux/spawn_child.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "linux/child_capabilities.h"
#include "linux/child_mounts.h"
#include "linux/child_namespaces.h"
#include "linux/child_seccomp.h"
#include "posix/signal_reset.h"

namespace procsandbox::linux_internal {
namespace {

// syscall(2) returns -1 and sets errno on failure, like the wrappers.
PROCSANDBOX_CHILD_CODE int Sys(int64_t result) {
  return static_cast<int>(result);
}

[[noreturn]] PROCSANDBOX_CHILD_CODE void SysExit(int status) {
  for (;;) syscall(SYS_exit_group, status);
}

PROCSANDBOX_CHILD_CODE int SysClose(int fd) {
  return Sys(syscall(SYS_close, fd));
}

[[noreturn]] PROCSANDBOX_CHILD_CODE void Fail(ChildContext* c, ChildStep step,
                                              int index = 0) {
  c->failed_errno = errno;
  c->failed_index = index;
  c->failed_step = step;
  SysExit(127);
}

// Every handled or ignored signal back to its default action: the program
// starts as if from a fresh shell, whatever the host had installed.
#if PROCSANDBOX_TSAN
// The kernel's struct sigaction on x86_64 and aarch64 (the handler comes
// first; an all-zero struct is SIG_DFL with no flags and an empty mask).
struct KernelSigaction {
  void* handler;
  uint64_t flags;
  void* restorer;
  uint64_t mask;
};

PROCSANDBOX_CHILD_CODE void ResetSignalDispositions() {
  const KernelSigaction dfl = {};
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    KernelSigaction old = {};
    if (syscall(SYS_rt_sigaction, sig, nullptr, &old, sizeof(old.mask)) != 0)
      continue;
    if (old.handler != nullptr) {
      syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(dfl.mask));
    }
  }
}
#else
// posix/signal_reset.cc's, shared with the POSIX backend's fork path.
using ::procsandbox::posix_internal::ResetSignalDispositions;
#endif

// Closes every descriptor from 3 up but `keep` (-1: none), without
// allocating.
PROCSANDBOX_CHILD_CODE bool CloseDescriptorsFrom3(int keep) {
#if defined(SYS_close_range)
  if (keep < 3) {
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return true;
  } else if ((keep == 3 || syscall(SYS_close_range, 3U,
                                   static_cast<unsigned>(keep - 1), 0U) == 0) &&
             syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0U,
                     0U) == 0) {
    return true;
  }
#endif
  // Before Linux 5.9: list /proc/self/fd with getdents64 into a stack
  // buffer, closing as we go, until a pass finds nothing left.
  for (;;) {
    const int dir =
        static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/fd",
                                 O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir < 0) return false;
    alignas(8) char buffer[4096];
    bool closed_any = false;
    for (;;) {
      const int64_t n = syscall(SYS_getdents64, dir, buffer, sizeof(buffer));
      if (n <= 0) break;
      for (int64_t offset = 0; offset < n;) {
        // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
        uint16_t reclen = 0;
        __builtin_memcpy(&reclen, buffer + offset + 16, sizeof(reclen));
        const char* name = buffer + offset + 19;
        int fd = 0;
        bool number = *name != '\0';
        for (const char* ch = name; *ch != '\0'; ++ch) {
          if (*ch < '0' || *ch > '9') {
            number = false;
            break;
          }
          fd = fd * 10 + (*ch - '0');
        }
        if (number && fd >= 3 && fd != dir && fd != keep) {
          SysClose(fd);
          closed_any = true;
        }
        offset += reclen;
      }
    }
    SysClose(dir);
    if (!closed_any) return true;
  }
}

// Installs c->stdio as 0, 1, 2. A source below 3 that belongs to another
// slot is first moved above 2, so that swaps (stdout -> 2, stderr -> 1) work.
PROCSANDBOX_CHILD_CODE void SetUpStdio(ChildContext* c) {
  int source[3];
  for (int i = 0; i < 3; ++i) source[i] = c->stdio[i];
  for (int i = 0; i < 3; ++i) {
    if (source[i] >= 0 && source[i] < 3 && source[i] != i) {
      source[i] = Sys(syscall(SYS_fcntl, source[i], F_DUPFD_CLOEXEC, 3));
      if (source[i] < 0) Fail(c, ChildStep::kStdio, i);
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (source[i] == kKeepFd) continue;
    if (source[i] == i) {
      // Already in place: only make sure it survives execve.
      if (syscall(SYS_fcntl, i, F_SETFD, 0) != 0) Fail(c, ChildStep::kStdio, i);
    } else if (syscall(SYS_dup3, source[i], i, 0) < 0) {
      // dup3, not dup2 (which aarch64 lacks): source[i] != i here.
      Fail(c, ChildStep::kStdio, i);
    }
  }
}

}  // namespace

PROCSANDBOX_CHILD_CODE int ChildMain(void* context) {
  auto* c = static_cast<ChildContext*>(context);

  // Into its cgroups first: every later step, and the program, runs under
  // the group's limits.
  for (std::size_t i = 0; i < c->cgroup_join_fd_count; ++i) {
    if (syscall(SYS_write, c->cgroup_join_fds[i], "0", 1) != 1) {
      Fail(c, ChildStep::kJoinCgroup, static_cast<int>(i));
    }
  }

  ResetSignalDispositions();

  // The user namespace's maps, then the cgroup namespace (now that the child
  // is in its group), the hostname, the loopback interface.
  if (c->namespaces != nullptr) {
    int part = 0;
    if (!SetUpNamespaces(*c->namespaces, &part)) {
      Fail(c, ChildStep::kNamespaces, part);
    }
  }

  // [mounts] the filesystem the program sees, then pivot_root into it.
  if (c->mounts != nullptr) {
    int failed = 0;
    if (!ApplyMountPlan(*c->mounts, &failed)) {
      Fail(c, ChildStep::kMounts, failed);
    }
  }

  if (c->new_session) {
    if (syscall(SYS_setsid) < 0) Fail(c, ChildStep::kSetsid);
  } else if (c->new_process_group) {
    if (syscall(SYS_setpgid, 0, 0) != 0) Fail(c, ChildStep::kSetpgid);
  }

  if (c->die_with_parent) {
    if (syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
      Fail(c, ChildStep::kDeathSignal);
    }
    // The parent may have died before prctl took effect. (In a new pid
    // namespace the parent is outside it: getppid() is 0.)
    if (syscall(SYS_getppid) != (c->new_pid_namespace ? 0 : c->parent_pid)) {
      errno = ESRCH;
      Fail(c, ChildStep::kParentGone);
    }
  }

  // [capabilities: bounding set] dropped while CAP_SETPCAP is still held.
  if (c->capabilities != nullptr) {
    int index = 0;
    if (!DropCapabilityBoundingSet(*c->capabilities, index)) {
      Fail(c, ChildStep::kCapabilityBounding, index);
    }
  }

  if (c->set_ids) {
    // In a user namespace setgroups is denied (and groups refused before).
    const bool in_user_namespace =
        c->namespaces != nullptr && c->namespaces->user;
    if (!in_user_namespace &&
        syscall(SYS_setgroups, c->group_count, c->groups) != 0) {
      Fail(c, ChildStep::kSetgroups);
    }
    if (c->has_gid && syscall(SYS_setresgid, c->gid, c->gid, c->gid) != 0) {
      Fail(c, ChildStep::kSetgid);
    }
    if (c->has_uid && syscall(SYS_setresuid, c->uid, c->uid, c->uid) != 0) {
      Fail(c, ChildStep::kSetuid);
    }
  }

  // [capabilities: sets] effective, permitted, inheritable, ambient.
  if (c->capabilities != nullptr) {
    int index = 0;
    if (!SetCapabilitySets(*c->capabilities, index)) {
      Fail(c, ChildStep::kCapabilities, index);
    }
  }

  for (std::size_t i = 0; i < c->rlimit_count; ++i) {
    const RlimitSetting& r = c->rlimits[i];
    // struct rlimit64, whatever the width of rlim_t.
    const uint64_t value[2] = {r.soft, r.hard};
    if (syscall(SYS_prlimit64, 0, r.resource, value, nullptr) != 0) {
      Fail(c, ChildStep::kRlimit, static_cast<int>(i));
    }
  }

  if (c->no_new_privs &&
      syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    Fail(c, ChildStep::kNoNewPrivs);
  }

  if (c->working_dir != nullptr && syscall(SYS_chdir, c->working_dir) != 0) {
    Fail(c, ChildStep::kChdir);
  }

  SetUpStdio(c);
  if (!CloseDescriptorsFrom3(c->keep_fd)) Fail(c, ChildStep::kCloseFds);

  // The program starts with no signal blocked, whatever the host thread had
  // (the kernel's sigset: 64 bits).
  const uint64_t none = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof(none));

  // The seccomp filter, last: from here on only execve runs (and sendmsg of
  // the listener, which the filter allows).
  if (c->seccomp != nullptr) {
    int part = 0;
    if (!InstallSeccomp(*c->seccomp, &part)) Fail(c, ChildStep::kSeccomp, part);
  }

  syscall(SYS_execve, c->path, c->argv, c->envp);
  Fail(c, ChildStep::kExec);
}

}  // namespace procsandbox::linux_internal
