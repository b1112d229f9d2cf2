#include "linux/os_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/exec_errors.h"
#include "common/fmt_absl.h"
#include "common/line_buffer.h"
#include "fmt/format.h"
#include "posix/errno_status.h"
#include "linux/open_file.h"
#include "linux/os_process_util.h"
#include "posix/program_path.h"
#include "linux/spawn.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;
using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::ResolveProgram;

namespace {

// A pipe whose both ends are close-on-exec; the child gets a dup of one.
absl::Status MakePipe(UniqueFd& read_end, UniqueFd& write_end,
                      std::size_t size_hint) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "create a pipe");
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  if (size_hint > 0) {
    // Bulk output moves 2.5x faster through a 1 MiB pipe; the kernel caps
    // the size at pipe-max-size, and failure only costs speed.
    (void)fcntl(fds[0], F_SETPIPE_SZ, static_cast<int>(size_hint));
  }
  return absl::OkStatus();
}

absl::Status SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoStatus(errno, "make a pipe non-blocking");
  }
  return absl::OkStatus();
}

// The descriptor a child gets for an output stream; `parent` receives the
// read end when the library or the host reads the stream.
absl::StatusOr<UniqueFd> OpenOutput(Stream stream, const Stdio& stdio,
                                    std::size_t pipe_size,
                                    absl::Duration open_limit, UniqueFd& parent,
                                    int& child_fd) {
  UniqueFd child;
  switch (stdio.kind()) {
    case Stdio::Kind::kDefault:
    case Stdio::Kind::kNull:
      child.reset(open("/dev/null", O_WRONLY | O_CLOEXEC));
      if (!child.valid()) return ErrnoStatus(errno, "open /dev/null");
      break;
    case Stdio::Kind::kInherit:
      child_fd = kKeepFd;
      return child;
    case Stdio::Kind::kFd:
      child_fd = static_cast<int>(stdio.fd());
      return child;
    case Stdio::Kind::kFile: {
      const int flags =
          O_WRONLY | O_CREAT |
          (stdio.file_mode() == FileMode::kAppend ? O_APPEND : O_TRUNC);
      absl::StatusOr<UniqueFd> opened = OpenWithin(
          stdio.path(), flags, 0644, open_limit,
          fmt::format("open {} file \"{}\"", StreamName(stream), stdio.path()));
      if (!opened.ok()) return opened.status();
      child = *std::move(opened);
      break;
    }
    default: {  // capture, lines, pipe
      absl::Status s = MakePipe(parent, child, pipe_size);
      if (!s.ok()) return s;
      // Non-blocking for the reactor, and for host readers (ReadLine) too:
      // nobody may block in read(2) while holding the process's mutex.
      if (absl::Status nb = SetNonBlocking(parent.get()); !nb.ok()) return nb;
      break;
    }
  }
  child_fd = child.get();
  return child;
}

RlimitSetting Rlimit(int resource, uint64_t value) {
  return {resource, value, value};
}

}  // namespace

OsProcess::~OsProcess() = default;

// --- Before Start()
// -----------------------------------------------------------

absl::Status OsProcess::SetStream(Stream stream, Stdio stdio) {
  if (absl::Status s = ValidateStdio(stream, stdio); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kNew) {
    return absl::FailedPreconditionError(
        fmt::format("set {} of \"{}\": already started (pid {})",
                    StreamName(stream), command_.label(), pid_));
  }
  (stream == Stream::kStdin    ? command_.stdin_
   : stream == Stream::kStdout ? command_.stdout_
                               : command_.stderr_) = std::move(stdio);
  return absl::OkStatus();
}
absl::Status OsProcess::SetStdin(Stdio s) {
  return SetStream(Stream::kStdin, std::move(s));
}
absl::Status OsProcess::SetStdout(Stdio s) {
  return SetStream(Stream::kStdout, std::move(s));
}
absl::Status OsProcess::SetStderr(Stdio s) {
  return SetStream(Stream::kStderr, std::move(s));
}

absl::Status OsProcess::SetLimits(const Limits& limits) {
  if (absl::Status s = ValidateLimits(limits); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kNew) {
    return absl::FailedPreconditionError(
        fmt::format("set limits of \"{}\": already started (pid {})",
                    command_.label(), pid_));
  }
  command_.limits = limits;
  return absl::OkStatus();
}

Limits OsProcess::GetLimits() const {
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kNew) return limits_;
  absl::MutexLock core_lock(&core_->mu);
  return MergeLimits(command_.limits, core_->defaults);
}

Command OsProcess::command() const {
  absl::MutexLock lock(&mu_);
  return command_;
}

// --- Start
// --------------------------------------------------------------------

absl::Status OsProcess::Start() {
  std::vector<OsManagerEvent> events;
  absl::Status started;
  {
    absl::MutexLock lock(&mu_);
    const bool was_new = phase_ == Phase::kNew;
    started = StartLocked();
    if (!started.ok() && was_new && phase_ == Phase::kNew) {
      // A Start() that fails leaves nothing behind: no pipe stays open.
      stdin_pipe_.reset();
      out_ = Output{};
      err_ = Output{};
      RemoveCgroupsNow();
    }
    if (starting_registered_) {
      starting_registered_ = false;
      absl::MutexLock core_lock(&core_->mu);
      --core_->starting;
    }
    events.swap(pending_events_);
  }
  // The manager may have gone meanwhile: the last Start() removes its groups.
  core_->RemoveGroupsIfLast();
  // Outside the lock: the host's callback may look at this process.
  for (OsManagerEvent& e : events) core_->Emit(e.kind, std::move(e.detail));
  return started;
}

absl::Status OsProcess::StartLocked() {
  if (phase_ != Phase::kNew) {
    return absl::FailedPreconditionError(fmt::format(
        "start \"{}\": already started (pid {})", command_.label(), pid_));
  }
  if (absl::Status s = ValidateCommand(command_); !s.ok()) return s;
  // With SIGCHLD ignored (SIG_IGN or SA_NOCLDWAIT) the kernel reaps children
  // at once and waitid on the pidfd fails: the exit status would be lost.
  struct sigaction sigchld = {};
  if (sigaction(SIGCHLD, nullptr, &sigchld) == 0 &&
      (sigchld.sa_handler == SIG_IGN ||
       (sigchld.sa_flags & SA_NOCLDWAIT) != 0)) {
    return absl::FailedPreconditionError(fmt::format(
        "start \"{}\": the host ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT), so "
        "the kernel would reap the child and lose its exit status",
        command_.label()));
  }
  {
    absl::MutexLock core_lock(&core_->mu);
    if (core_->shut_down) {
      return absl::FailedPreconditionError(
          fmt::format("start \"{}\": its manager is gone", command_.label()));
    }
    // Counted: a manager destroyed meanwhile leaves the removal of its
    // groups to the last such Start().
    ++core_->starting;
    starting_registered_ = true;
    limits_ = MergeLimits(command_.limits, core_->defaults);
  }
  // Which mechanism applies each requested limit; strict mode refuses one
  // that nothing here enforces.
  enforcement_.limits.clear();
  for (LimitKind kind : kAllLimitKinds) {
    if (!limits_.has(kind)) continue;
    const LimitEnforcement* e = core_->capabilities.Find(kind);
    LimitEnforcement entry =
        e != nullptr ? *e : LimitEnforcement{kind, Mechanism::kNone, "unknown"};
    if (!entry.enforced() && core_->options.strict) {
      return absl::FailedPreconditionError(
          fmt::format("start \"{}\": limit {} cannot be enforced here: {}",
                      command_.label(), LimitKindName(kind), entry.detail));
    }
    enforcement_.limits.push_back(std::move(entry));
  }

  SpawnPlan plan;
  if (absl::Status s = CreateCgroupsLocked(plan); !s.ok()) return s;
  auto by_rlimit = [this](LimitKind kind) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const LimitEnforcement* e = enforcement_.Find(kind);
    return e != nullptr && e->mechanism == Mechanism::kRlimit;
  };
  absl::StatusOr<std::string> path =
      ResolveProgram(command_.program, command_.env, command_.working_dir);
  if (!path.ok()) return path.status();
  plan.path = *std::move(path);
  plan.shown_program =
      internal::ShownProgram(command_.program, plan.path, command_.env);
  plan.argv.reserve(command_.args.size() + 1);
  plan.argv.push_back(command_.program);
  plan.argv.insert(plan.argv.end(), command_.args.begin(), command_.args.end());
  plan.envp = command_.env.ToStrings();
  plan.working_dir = command_.working_dir;
  plan.new_session = command_.isolation.new_session;
  plan.new_process_group = command_.isolation.new_process_group;
  plan.no_new_privs = command_.isolation.no_new_privs;
  plan.die_with_parent = command_.isolation.die_with_parent;
  plan.uid = command_.isolation.uid;
  plan.gid = command_.isolation.gid;
  plan.groups = command_.isolation.groups;
  if (limits_.cpu_time) {
    // SIGXCPU at the soft limit, SIGKILL a second later if it is caught.
    // Under a cgroup the reactor stops the whole tree first; this stays as
    // a backstop for the first process.
    const auto secs = static_cast<uint64_t>(
        std::ceil(absl::ToDoubleSeconds(*limits_.cpu_time)));
    plan.rlimits.push_back({RLIMIT_CPU, secs, secs + 1});
  }
  if (limits_.memory_bytes && by_rlimit(LimitKind::kMemory)) {
    plan.rlimits.push_back(
        Rlimit(RLIMIT_AS, static_cast<uint64_t>(*limits_.memory_bytes)));
  }
  if (limits_.file_size_bytes) {
    plan.rlimits.push_back(
        Rlimit(RLIMIT_FSIZE, static_cast<uint64_t>(*limits_.file_size_bytes)));
  }
  if (limits_.open_files) {
    plan.rlimits.push_back(
        Rlimit(RLIMIT_NOFILE, static_cast<uint64_t>(*limits_.open_files)));
  } else if (core_->child_nofile) {
    // select()-based programs break above 1024 descriptors.
    plan.rlimits.push_back(*core_->child_nofile);
  }
  if (limits_.processes && by_rlimit(LimitKind::kProcesses)) {
    plan.rlimits.push_back(
        Rlimit(RLIMIT_NPROC, static_cast<uint64_t>(*limits_.processes)));
  }

  // Standard streams: what the child gets, and the parent's ends.
  UniqueFd child_in, child_out, child_err;
  const Stdio& in = command_.stdin_;
  const absl::Duration open_limit =
      limits_.wall_time.value_or(core_->options.fifo_open_timeout);
  switch (in.kind()) {
    case Stdio::Kind::kInherit:
      plan.stdio[0] = kKeepFd;
      break;
    case Stdio::Kind::kFd:
      plan.stdio[0] = static_cast<int>(in.fd());
      break;
    case Stdio::Kind::kFile: {
      absl::StatusOr<UniqueFd> opened =
          OpenWithin(in.path(), O_RDONLY, 0, open_limit,
                     fmt::format("open stdin file \"{}\"", in.path()));
      if (absl::IsNotFound(opened.status())) {
        return internal::StdinFileNotFoundError(in.path());
      }
      if (!opened.ok()) return opened.status();
      child_in = *std::move(opened);
      plan.stdio[0] = child_in.get();
      break;
    }
    case Stdio::Kind::kData:
    case Stdio::Kind::kPipe: {
      UniqueFd read_end, write_end;
      if (absl::Status s = MakePipe(read_end, write_end, 0); !s.ok()) return s;
      child_in = std::move(read_end);
      plan.stdio[0] = child_in.get();
      if (in.kind() == Stdio::Kind::kData) {
        stdin_data_ = in.data();
        if (absl::Status s = SetNonBlocking(write_end.get()); !s.ok()) return s;
      }
      stdin_pipe_ = std::make_shared<UniqueFd>(std::move(write_end));
      break;
    }
    default:  // default, null
      child_in.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!child_in.valid()) return ErrnoStatus(errno, "open /dev/null");
      plan.stdio[0] = child_in.get();
      break;
  }
  const std::size_t pipe_size = core_->options.capture_pipe_bytes;
  absl::StatusOr<UniqueFd> out =
      OpenOutput(Stream::kStdout, command_.stdout_, pipe_size, open_limit,
                 out_.fd, plan.stdio[1]);
  if (!out.ok()) return out.status();
  child_out = *std::move(out);
  if (command_.stderr_.kind() == Stdio::Kind::kToStdout) {
    // 2>&1: with stdout the host's own, that is the child's descriptor 1.
    plan.stdio[2] = plan.stdio[1] == kKeepFd ? 1 : plan.stdio[1];
  } else {
    absl::StatusOr<UniqueFd> err =
        OpenOutput(Stream::kStderr, command_.stderr_, pipe_size, open_limit,
                   err_.fd, plan.stdio[2]);
    if (!err.ok()) return err.status();
    child_err = *std::move(err);
  }
  for (auto [output, stdio] : {std::pair{&out_, &command_.stdout_},
                               std::pair{&err_, &command_.stderr_}}) {
    output->kind = stdio->kind();
    output->open = output->fd.valid() && output->kind != Stdio::Kind::kPipe;
    if (output->kind == Stdio::Kind::kLines ||
        output->kind == Stdio::Kind::kChunks) {
      output->callback = stdio->callback();
    }
  }

  absl::StatusOr<Spawned> spawned = Spawn(plan);
  if (!spawned.ok() && plan.cgroup_fd >= 0 &&
      absl::IsUnimplemented(spawned.status())) {
    // clone3 is gone since the manager found it: a seccomp filter installed
    // later (container runtimes answer clone3 with ENOSYS). This child and
    // the manager's next ones join their group from the child.
    core_->clone_into_cgroup = false;
    if (absl::Status s = JoinFromChildInsteadLocked(plan); !s.ok()) return s;
    spawned = Spawn(plan);
  }
  if (!spawned.ok()) {
    absl::MutexLock core_lock(&core_->mu);
    if (core_->shut_down) {
      // Its group went with the manager's directories.
      return absl::FailedPreconditionError(
          fmt::format("start \"{}\": its manager is gone", command_.label()));
    }
    return spawned.status();
  }
  start_ns_ = MonotonicNanos();
  CgroupsPlacedLocked();
  pid_ = spawned->pid;
  pidfd_ = std::move(spawned->pidfd);
  group_ = plan.new_session || plan.new_process_group;
  absl::MutexLock core_lock(&core_->mu);
  if (core_->shut_down) {
    // The manager went away while this child was being spawned: stop it
    // and reap it here, so nothing outlives the manager.
    kill(-pid_, SIGKILL);
    syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    siginfo_t info;
    while (waitid(static_cast<idtype_t>(P_PIDFD),
                  static_cast<id_t>(pidfd_.get()), &info, WEXITED) != 0 &&
           errno == EINTR) {
    }
    if (tracker_ != nullptr) (void)tracker_->KillAll();
    // As any failed Start(): not started, nothing left (Start() drops the
    // pipes and groups).
    pid_ = 0;
    pidfd_.reset();
    return absl::FailedPreconditionError(
        fmt::format("start \"{}\": its manager is gone", command_.label()));
  }
  phase_ = Phase::kRunning;
  if (!cgroups_.empty() && core_->spare_groups > 0) {
    // The next process's groups, made after this spawn (not competing with
    // it for the CPU), on the reactor thread.
    core_->reactor->Post([core = core_] { core->PrepareSpares(); });
  }
  // Keyed by pid: a pid is unique among the children not yet reaped, and a
  // child leaves the table when it is reaped (see OnExit).
  core_->live.insert_or_assign(pid_, shared_from_this());
  core_->reactor->Post([self = shared_from_this()] { self->Arm(); });
  return absl::OkStatus();
}

}  // namespace procsandbox::linux_internal
