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
#include "linux/spawn_child.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace procsandbox::linux_internal {
namespace {

[[noreturn]] void Fail(ChildContext* c, ChildStep step, int index = 0) {
  c->failed_errno = errno;
  c->failed_index = index;
  c->failed_step = step;
  _exit(127);
}

// Every handled or ignored signal back to its default action: the program
// starts as if from a fresh shell, whatever the host had installed.
void ResetSignalDispositions() {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old = {};
    // glibc refuses its own two internal signals with EINVAL: skip them.
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if (old.sa_handler != SIG_DFL) sigaction(sig, &dfl, nullptr);
  }
}

// Closes every descriptor from 3 up, without allocating.
bool CloseDescriptorsFrom3() {
#if defined(SYS_close_range)
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return true;
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
      const long n = syscall(SYS_getdents64, dir, buffer, sizeof(buffer));
      if (n <= 0) break;
      for (long offset = 0; offset < n;) {
        // struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name.
        unsigned short reclen = 0;
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
        if (number && fd >= 3 && fd != dir) {
          close(fd);
          closed_any = true;
        }
        offset += reclen;
      }
    }
    close(dir);
    if (!closed_any) return true;
  }
}

// Installs plan.stdio as 0, 1, 2. A source below 3 that belongs to another
// slot is first moved above 2, so that swaps (stdout -> 2, stderr -> 1) work.
void SetUpStdio(ChildContext* c) {
  int source[3];
  for (int i = 0; i < 3; ++i)
    source[i] = c->plan->stdio[static_cast<std::size_t>(i)];
  for (int i = 0; i < 3; ++i) {
    if (source[i] >= 0 && source[i] < 3 && source[i] != i) {
      source[i] = fcntl(source[i], F_DUPFD_CLOEXEC, 3);
      if (source[i] < 0) Fail(c, ChildStep::kStdio, i);
    }
  }
  for (int i = 0; i < 3; ++i) {
    if (source[i] == kKeepFd) continue;
    if (source[i] == i) {
      // Already in place: only make sure it survives execve.
      if (fcntl(i, F_SETFD, 0) != 0) Fail(c, ChildStep::kStdio, i);
    } else if (dup2(source[i], i) < 0) {
      Fail(c, ChildStep::kStdio, i);
    }
  }
}

}  // namespace

int ChildMain(void* context) {
  auto* c = static_cast<ChildContext*>(context);
  const SpawnPlan& plan = *c->plan;

  // Into its cgroups first: every later step, and the program, runs under
  // the group's limits.
  for (std::size_t i = 0; i < plan.cgroup_join_fds.size(); ++i) {
    if (write(plan.cgroup_join_fds[i], "0", 1) != 1) {
      Fail(c, ChildStep::kJoinCgroup, static_cast<int>(i));
    }
  }

  ResetSignalDispositions();

  if (plan.new_session) {
    if (setsid() < 0) Fail(c, ChildStep::kSetsid);
  } else if (plan.new_process_group) {
    if (setpgid(0, 0) != 0) Fail(c, ChildStep::kSetpgid);
  }

  if (plan.die_with_parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
      Fail(c, ChildStep::kDeathSignal);
    }
    // The parent may have died before prctl took effect.
    if (getppid() != c->parent_pid) {
      errno = ESRCH;
      Fail(c, ChildStep::kParentGone);
    }
  }

  if (plan.uid.has_value() || plan.gid.has_value()) {
    if (syscall(SYS_setgroups, c->group_count, c->groups) != 0) {
      Fail(c, ChildStep::kSetgroups);
    }
    if (plan.gid.has_value()) {
      const unsigned int gid = *plan.gid;
      if (syscall(SYS_setresgid, gid, gid, gid) != 0)
        Fail(c, ChildStep::kSetgid);
    }
    if (plan.uid.has_value()) {
      const unsigned int uid = *plan.uid;
      if (syscall(SYS_setresuid, uid, uid, uid) != 0)
        Fail(c, ChildStep::kSetuid);
    }
  }

  for (std::size_t i = 0; i < plan.rlimits.size(); ++i) {
    const RlimitSetting& r = plan.rlimits[i];
    struct rlimit value = {static_cast<rlim_t>(r.soft),
                           static_cast<rlim_t>(r.hard)};
    if (setrlimit(static_cast<__rlimit_resource_t>(r.resource), &value) != 0) {
      Fail(c, ChildStep::kRlimit, static_cast<int>(i));
    }
  }

  if (plan.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    Fail(c, ChildStep::kNoNewPrivs);
  }

  if (!plan.working_dir.empty() && chdir(plan.working_dir.c_str()) != 0) {
    Fail(c, ChildStep::kChdir);
  }

  SetUpStdio(c);
  if (!CloseDescriptorsFrom3()) Fail(c, ChildStep::kCloseFds);

  // The program starts with no signal blocked, whatever the host thread had.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);

  execve(plan.path.c_str(), c->argv, c->envp);
  Fail(c, ChildStep::kExec);
}

}  // namespace procsandbox::linux_internal
