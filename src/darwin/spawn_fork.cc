// The fork path of Spawn(): for the plans posix_spawn cannot express
// (rlimits, uid/gid/groups, or what this libc's posix_spawn lacks).
//
// RULES for the child (between vfork/fork and execve). The host may have
// other threads, holding any lock. After vfork the child runs on the
// parent's memory and stack while the parent thread is suspended (as inside
// glibc's posix_spawn); after fork only this thread exists in a copy. So the
// child:
//   - does not allocate, lock, log, format, throw or touch stdio;
//   - calls only async-signal-safe functions (signal-safety(7)), plus
//     setrlimit and closefrom, which are plain syscalls; setgroups, setgid
//     and setuid only after fork (glibc makes them signal every thread of
//     the process: after vfork those would be the parent's);
//   - never returns from the function that called vfork (ChildMain ends in
//     execve or _exit);
//   - reads only the ChildPlan the parent prepared before fork;
//   - on failure writes {step, errno, index} to the close-on-exec pipe and
//     _exit(127)s; the parent turns that into the Status of Spawn().
// Every signal is blocked when it starts (the parent blocked them before
// fork), so no handler of the host runs in it.
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "darwin/spawn.h"
#include "posix/errno_status.h"
#include "posix/signal_reset.h"
#include "posix/spawn_errors.h"
#include "posix/unique_fd.h"

namespace procsandbox::darwin_internal {

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

enum class Step : int {
  kNone = 0,
  kSetsid,
  kSetpgid,
  kSetgroups,
  kSetgid,
  kSetuid,
  kRlimit,
  kChdir,
  kStdio,
  kCloseFds,
  kExec,
};

// What the child writes to the pipe when a step fails.
struct Failure {
  Step step = Step::kNone;
  int err = 0;
  int index = 0;  // which rlimit or stdio slot
};

// Everything the child reads, as plain data.
struct ChildPlan {
  const char* path = nullptr;
  char* const* argv = nullptr;
  char* const* envp = nullptr;
  const char* working_dir = nullptr;  // null: the host's
  std::array<int, 3> stdio = {kKeepFd, kKeepFd, kKeepFd};
  bool new_session = false;
  bool new_process_group = false;
  bool set_ids = false;
  bool has_gid = false;
  bool has_uid = false;
  gid_t gid = 0;
  uid_t uid = 0;
  const gid_t* groups = nullptr;
  std::size_t group_count = 0;
  const RlimitSetting* rlimits = nullptr;
  std::size_t rlimit_count = 0;
  int report_fd = -1;  // the pipe's write end
  int max_fd = 0;      // closed up to here without closefrom
};

[[noreturn]] void Fail(const ChildPlan& c, Step step, int index = 0) {
  Failure failure;
  failure.step = step;
  failure.err = errno;
  failure.index = index;
  // One small write to a pipe is atomic; nothing to do if it fails.
  (void)!write(c.report_fd, &failure, sizeof(failure));
  _exit(127);
}

// Every descriptor from 3 up but the report pipe.
void CloseDescriptors(const ChildPlan& c) {
  for (int fd = 3; fd < c.report_fd; ++fd) close(fd);
#if defined(PROCSANDBOX_HAVE_CLOSEFROM)
  closefrom(c.report_fd + 1);
#else
  for (int fd = c.report_fd + 1; fd < c.max_fd; ++fd) close(fd);
#endif
}

[[noreturn]] void ChildMain(const ChildPlan& c) {
  posix_internal::ResetSignalDispositions();

  if (c.new_session) {
    if (setsid() < 0) Fail(c, Step::kSetsid);
  } else if (c.new_process_group) {
    if (setpgid(0, 0) != 0) Fail(c, Step::kSetpgid);
  }

  if (c.set_ids) {
#if defined(__APPLE__)
    const int group_count = static_cast<int>(c.group_count);
#else
    const std::size_t group_count = c.group_count;
#endif
    if (setgroups(group_count, c.groups) != 0) {
      Fail(c, Step::kSetgroups);
    }
    if (c.has_gid && setgid(c.gid) != 0) Fail(c, Step::kSetgid);
    if (c.has_uid && setuid(c.uid) != 0) Fail(c, Step::kSetuid);
  }

  for (std::size_t i = 0; i < c.rlimit_count; ++i) {
    struct rlimit value = {};
    value.rlim_cur = static_cast<rlim_t>(c.rlimits[i].soft);
    value.rlim_max = static_cast<rlim_t>(c.rlimits[i].hard);
    // The child's own limits, never the host's.
    if (setrlimit(c.rlimits[i].resource, &value) != 0) {
      Fail(c, Step::kRlimit, static_cast<int>(i));
    }
  }

  if (c.working_dir != nullptr && chdir(c.working_dir) != 0) {
    Fail(c, Step::kChdir);
  }

  for (int i = 0; i < 3; ++i) {
    const int source = c.stdio[static_cast<std::size_t>(i)];
    if (source == kKeepFd) continue;
    if (source == i) {
      // Already in place: only make sure it survives execve.
      if (fcntl(i, F_SETFD, 0) != 0) Fail(c, Step::kStdio, i);
    } else if (dup2(source, i) < 0) {
      Fail(c, Step::kStdio, i);
    }
  }
  CloseDescriptors(c);

  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(c.path, c.argv, c.envp);
  Fail(c, Step::kExec);
}

absl::Status StepStatus(const SpawnPlan& plan, const Failure& f) {
  switch (f.step) {
    case Step::kExec:
      return ExecError(f.err, ShownProgram(plan));
    case Step::kChdir:
      return WorkingDirError(f.err, plan.working_dir);
    case Step::kSetsid:
      return SpawnStepError(SpawnStep::kSetsid, f.err);
    case Step::kSetpgid:
      return SpawnStepError(SpawnStep::kSetpgid, f.err);
    case Step::kSetgroups:
      return SpawnStepError(SpawnStep::kSetgroups, f.err);
    case Step::kSetgid:
      return SpawnStepError(SpawnStep::kSetgid, f.err, plan.gid.value_or(0));
    case Step::kSetuid:
      return SpawnStepError(SpawnStep::kSetuid, f.err, plan.uid.value_or(0));
    case Step::kRlimit:
      if (f.index >= 0 &&
          static_cast<std::size_t>(f.index) < plan.rlimits.size()) {
        const RlimitSetting& r =
            plan.rlimits[static_cast<std::size_t>(f.index)];
        return RlimitError(f.err, r.resource, r.soft);
      }
      break;
    case Step::kStdio:
      return SpawnStepError(SpawnStep::kStdio, f.err, f.index);
    case Step::kCloseFds:
      return SpawnStepError(SpawnStep::kCloseFds, f.err);
    case Step::kNone:
      break;
  }
  return absl::InternalError("spawn: the child reported an unknown step");
}

// A close-on-exec pipe: pipe2 where it exists, else pipe + FD_CLOEXEC
// (macOS; another thread's fork in between could inherit it for a moment).
absl::Status ReportPipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
#if defined(__linux__)
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return ErrnoStatus(errno, "spawn: open the report pipe");
  }
#else
  if (pipe(fds) != 0) return ErrnoStatus(errno, "spawn: open the report pipe");
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(fds[1], F_SETFD, FD_CLOEXEC);
#endif
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<pid_t> SpawnByFork(const SpawnPlan& plan, ForkKind kind) {
  if (plan.path.empty() || plan.argv.empty()) {
    return absl::InvalidArgumentError("spawn: empty program path or argv");
  }
  const bool credentials =
      plan.uid.has_value() || plan.gid.has_value() || !plan.groups.empty();
  if (kind == ForkKind::kVfork && credentials) {
    return absl::FailedPreconditionError(
        "spawn: a credential switch needs fork, not vfork");
  }
  const bool use_vfork =
      kind == ForkKind::kVfork || (kind == ForkKind::kByPlan && !credentials);
  std::vector<UniqueFd> held;
  absl::StatusOr<std::array<int, 3>> sources = LiftStdio(plan, held);
  if (!sources.ok()) return sources.status();
  const std::vector<char*> argv = PointersTo(plan.argv);
  const std::vector<char*> envp = PointersTo(plan.envp);
  std::vector<gid_t> groups(plan.groups.begin(), plan.groups.end());
  UniqueFd read_end, write_end;
  if (absl::Status s = ReportPipe(read_end, write_end); !s.ok()) return s;

  ChildPlan c;
  c.path = plan.path.c_str();
  c.argv = argv.data();
  c.envp = envp.data();
  if (!plan.working_dir.empty()) c.working_dir = plan.working_dir.c_str();
  c.stdio = *sources;
  c.new_session = plan.new_session;
  c.new_process_group = plan.new_process_group;
  c.set_ids = plan.uid.has_value() || plan.gid.has_value();
  c.has_gid = plan.gid.has_value();
  c.gid = static_cast<gid_t>(plan.gid.value_or(0));
  c.has_uid = plan.uid.has_value();
  c.uid = static_cast<uid_t>(plan.uid.value_or(0));
  c.groups = groups.data();
  c.group_count = groups.size();
  c.rlimits = plan.rlimits.data();
  c.rlimit_count = plan.rlimits.size();
  c.report_fd = write_end.get();
  c.max_fd = static_cast<int>(sysconf(_SC_OPEN_MAX));

  // Every signal blocked across fork: no host handler runs in the child
  // before it has reset them.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  const pid_t pid = use_vfork ? vfork() : fork();
  const int fork_errno = errno;
  if (pid == 0) ChildMain(c);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (pid < 0) {
    const absl::Status s =
        ErrnoStatus(fork_errno, use_vfork ? "spawn: vfork" : "spawn: fork");
    if (fork_errno == EAGAIN) return absl::ResourceExhaustedError(s.message());
    return s;
  }
  write_end.reset();

  // End of file: the child exec'd. Otherwise it failed and _exit'ed.
  Failure failure;
  ssize_t n = 0;
  do {
    n = read(read_end.get(), &failure, sizeof(failure));
  } while (n < 0 && errno == EINTR);
  if (n == 0) return pid;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n != static_cast<ssize_t>(sizeof(failure))) {
    return absl::InternalError("spawn: a short report from the child");
  }
  return StepStatus(plan, failure);
}

}  // namespace procsandbox::darwin_internal
