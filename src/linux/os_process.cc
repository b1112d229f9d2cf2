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
#include "linux/errno_status.h"
#include "linux/program_path.h"
#include "linux/spawn.h"

namespace procsandbox::linux_internal {
namespace {

constexpr std::size_t kReadBlock = 1024 * 1024;

absl::Duration NanosToDuration(int64_t ns) { return absl::Nanoseconds(ns); }

absl::Duration TimevalToDuration(const struct timeval& tv) {
  return absl::Seconds(tv.tv_sec) + absl::Microseconds(tv.tv_usec);
}

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
                                    std::size_t pipe_size, UniqueFd& parent,
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
          O_WRONLY | O_CREAT | O_CLOEXEC |
          (stdio.file_mode() == FileMode::kAppend ? O_APPEND : O_TRUNC);
      child.reset(open(stdio.path().c_str(), flags, 0644));
      if (!child.valid()) {
        return ErrnoStatus(
            errno, fmt::format("open {} file \"{}\"", StreamName(stream),
                               stdio.path()));
      }
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

// Live figures of a running child from /proc (the final ones come from
// its rusage): CPU time from stat, memory from status. Best effort: a child
// that just ended leaves the fields as they were.
void ReadProcUsage(pid_t pid, ResourceUsage& usage) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%d/stat", static_cast<int>(pid));
  if (FILE* f = std::fopen(path, "re")) {
    char buf[1024];
    const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    // Fields after the command name (which may hold spaces) start past ')'.
    if (const char* rest = std::strrchr(buf, ')')) {
      unsigned long utime = 0, stime = 0;
      // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
      // utime stime
      if (std::sscanf(rest + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                      &utime, &stime) == 2) {
        const long ticks = sysconf(_SC_CLK_TCK);
        usage.user_time = absl::Seconds(static_cast<double>(utime) /
                                        static_cast<double>(ticks));
        usage.system_time = absl::Seconds(static_cast<double>(stime) /
                                          static_cast<double>(ticks));
      }
    }
  }
  std::snprintf(path, sizeof(path), "/proc/%d/status", static_cast<int>(pid));
  if (FILE* f = std::fopen(path, "re")) {
    char line[256];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      long kib = 0;
      if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1)
        usage.memory_bytes = kib * 1024;
      if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1)
        usage.peak_memory_bytes = kib * 1024;
    }
    std::fclose(f);
  }
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
  absl::MutexLock lock(&mu_);
  const bool was_new = phase_ == Phase::kNew;
  absl::Status started = StartLocked();
  if (!started.ok() && was_new && phase_ == Phase::kNew) {
    // A Start() that fails leaves nothing behind: no pipe stays open.
    stdin_pipe_.reset();
    out_ = Output{};
    err_ = Output{};
  }
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
  absl::StatusOr<std::string> path =
      ResolveProgram(command_.program, internal::SearchPathOf(command_.env),
                     command_.working_dir);
  if (!path.ok()) return path.status();
  plan.path = *std::move(path);
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
    const auto secs = static_cast<uint64_t>(
        std::ceil(absl::ToDoubleSeconds(*limits_.cpu_time)));
    plan.rlimits.push_back({RLIMIT_CPU, secs, secs + 1});
  }
  if (limits_.memory_bytes) {
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
  } else if (core_->original_nofile_soft != 0) {
    // The manager raised its own soft limit for many pidfds; children get
    // the host's original one (select()-based programs break above 1024).
    struct rlimit current;
    getrlimit(RLIMIT_NOFILE, &current);
    plan.rlimits.push_back(
        {RLIMIT_NOFILE, core_->original_nofile_soft, current.rlim_max});
  }
  if (limits_.processes) {
    plan.rlimits.push_back(
        Rlimit(RLIMIT_NPROC, static_cast<uint64_t>(*limits_.processes)));
  }

  // Standard streams: what the child gets, and the parent's ends.
  UniqueFd child_in, child_out, child_err;
  const Stdio& in = command_.stdin_;
  switch (in.kind()) {
    case Stdio::Kind::kInherit:
      plan.stdio[0] = kKeepFd;
      break;
    case Stdio::Kind::kFd:
      plan.stdio[0] = static_cast<int>(in.fd());
      break;
    case Stdio::Kind::kFile:
      child_in.reset(open(in.path().c_str(), O_RDONLY | O_CLOEXEC));
      if (!child_in.valid()) {
        if (errno == ENOENT) return internal::StdinFileNotFoundError(in.path());
        return ErrnoStatus(errno,
                           fmt::format("open stdin file \"{}\"", in.path()));
      }
      plan.stdio[0] = child_in.get();
      break;
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
  absl::StatusOr<UniqueFd> out = OpenOutput(Stream::kStdout, command_.stdout_,
                                            pipe_size, out_.fd, plan.stdio[1]);
  if (!out.ok()) return out.status();
  child_out = *std::move(out);
  if (command_.stderr_.kind() == Stdio::Kind::kToStdout) {
    // 2>&1: with stdout the host's own, that is the child's descriptor 1.
    plan.stdio[2] = plan.stdio[1] == kKeepFd ? 1 : plan.stdio[1];
  } else {
    absl::StatusOr<UniqueFd> err = OpenOutput(
        Stream::kStderr, command_.stderr_, pipe_size, err_.fd, plan.stdio[2]);
    if (!err.ok()) return err.status();
    child_err = *std::move(err);
  }
  for (auto [output, stdio] : {std::pair{&out_, &command_.stdout_},
                               std::pair{&err_, &command_.stderr_}}) {
    output->kind = stdio->kind();
    output->open = output->fd.valid() && output->kind != Stdio::Kind::kPipe;
    if (output->kind == Stdio::Kind::kLines)
      output->callback = stdio->callback();
  }

  absl::StatusOr<Spawned> spawned = Spawn(plan);
  if (!spawned.ok()) return spawned.status();
  start_ns_ = MonotonicNanos();
  pid_ = spawned->pid;
  pidfd_ = std::move(spawned->pidfd);
  group_ = plan.new_session || plan.new_process_group;
  phase_ = Phase::kRunning;
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
    return absl::FailedPreconditionError(
        fmt::format("start \"{}\": its manager is gone", command_.label()));
  }
  // Keyed by pid: a pid is unique among the children not yet reaped, and a
  // child leaves the table when it is reaped (see OnExit).
  core_->live.insert_or_assign(pid_, shared_from_this());
  core_->reactor->Post([self = shared_from_this()] { self->Arm(); });
  return absl::OkStatus();
}

// --- Reactor side
// -------------------------------------------------------------

void OsProcess::Arm() {
  std::shared_ptr<OsProcess> self = shared_from_this();
  Reactor& reactor = *core_->reactor;
  absl::MutexLock lock(&mu_);
  (void)reactor.Watch(pidfd_.get(), EPOLLIN,
                      [self](uint32_t) { self->OnExit(); });
  if (out_.open) {
    (void)reactor.Watch(out_.fd.get(), EPOLLIN,
                        [self](uint32_t) { self->OnOutput(Stream::kStdout); });
  }
  if (err_.open) {
    (void)reactor.Watch(err_.fd.get(), EPOLLIN,
                        [self](uint32_t) { self->OnOutput(Stream::kStderr); });
  }
  if (command_.stdin_.kind() == Stdio::Kind::kData && stdin_pipe_) {
    (void)reactor.Watch(stdin_pipe_->get(), EPOLLOUT,
                        [self](uint32_t) { self->OnStdinWritable(); });
  }
  if (limits_.wall_time && !reaped_) {
    deadline_timer_ = reactor.AddTimer(
        start_ns_ + absl::ToInt64Nanoseconds(*limits_.wall_time),
        [self] { self->OnDeadline(); });
  }
}

void OsProcess::OnStdinWritable() {
  absl::MutexLock lock(&mu_);
  if (!stdin_pipe_) return;
  while (stdin_written_ < stdin_data_.size()) {
    const ssize_t n =
        write(stdin_pipe_->get(), stdin_data_.data() + stdin_written_,
              stdin_data_.size() - stdin_written_);
    if (n > 0) {
      stdin_written_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;  // a child that does not read
    if (n < 0 && errno == EPIPE) {
      // The child closed stdin or ended. The SIGPIPE this raised is blocked
      // on the reactor thread: consume it.
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      const struct timespec zero = {0, 0};
      sigtimedwait(&pipe_set, nullptr, &zero);
    }
    break;
  }
  core_->reactor->Unwatch(stdin_pipe_->get());
  stdin_pipe_.reset();
}

void OsProcess::OnOutput(Stream stream) {
  std::vector<std::string> lines;
  Stdio::LineCallback callback;
  bool stream_ended = false;
  {
    absl::MutexLock lock(&mu_);
    Output& o = stream == Stream::kStdout ? out_ : err_;
    if (!o.open) return;
    static thread_local std::string block(kReadBlock, '\0');
    for (;;) {
      const ssize_t n = read(o.fd.get(), block.data(), block.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n <= 0) {  // end of file (or an error: the same for us)
        core_->reactor->Unwatch(o.fd.get());
        o.fd.reset();
        o.open = false;
        if (o.kind == Stdio::Kind::kLines && !o.partial.empty()) {
          lines.push_back(std::move(o.partial));
          o.partial.clear();
        }
        break;
      }
      received_ += n;
      absl::string_view data(block.data(), static_cast<std::size_t>(n));
      if (limits_.output_bytes) {
        const int64_t room =
            std::max<int64_t>(0, *limits_.output_bytes - kept_);
        if (static_cast<int64_t>(data.size()) > room) {
          data = data.substr(0, static_cast<std::size_t>(room));
          o.truncated = true;
          if (command_.on_output_limit == OutputLimitAction::kStop) {
            TerminateLocked(ExitReason::kOutputExceeded);
          }
        }
      }
      kept_ += static_cast<int64_t>(data.size());
      if (o.kind == Stdio::Kind::kCapture) {
        o.kept.append(data.data(), data.size());
      } else {
        o.partial.append(data.data(), data.size());
        internal::TakeCompleteLines(o.partial, lines);
      }
      // A short read drained the pipe: back to epoll (level-triggered)
      // without the read(2) that would only say EAGAIN.
      if (static_cast<std::size_t>(n) < block.size()) break;
    }
    stream_ended = !o.open;
    callback = o.callback;
    if (!lines.empty() && !callback) lines.clear();
  }
  for (const std::string& line : lines) callback(line);
  if (!stream_ended) return;  // only an end of file can finish the process
  absl::MutexLock lock(&mu_);
  MaybeFinish();
}

void OsProcess::OnExit() {
  absl::MutexLock lock(&mu_);
  if (reaped_) return;
  // The rest of its process group goes with it — sent while the leader is a
  // zombie, so its pid (the group id) cannot have been reused.
  if (group_) kill(-pid_, SIGKILL);
  // waitid(2) with the rusage argument glibc's wrapper does not expose.
  while (syscall(SYS_waitid, P_PIDFD, pidfd_.get(), &status_, WEXITED,
                 &rusage_) != 0 &&
         errno == EINTR) {
  }
  reaped_ = true;
  end_ns_ = MonotonicNanos();
  {
    // The pid is free from now on; the table must not hold it. (The
    // reactor's callback keeps this process alive while it runs.)
    absl::MutexLock core_lock(&core_->mu);
    auto it = core_->live.find(pid_);
    if (it != core_->live.end() && it->second.get() == this)
      core_->live.erase(it);
  }
  core_->reactor->Unwatch(pidfd_.get());
  if (deadline_timer_ != 0) core_->reactor->CancelTimer(deadline_timer_);
  if (out_.open || err_.open) {
    // A descendant outside its group may still hold the pipes: drain them
    // for a bounded time, then stop waiting.
    std::shared_ptr<OsProcess> self = shared_from_this();
    core_->reactor->AddTimer(
        end_ns_ + absl::ToInt64Nanoseconds(core_->options.drain_after_exit),
        [self] {
          absl::MutexLock l(&self->mu_);
          self->drain_expired_ = true;
          self->MaybeFinish();
        });
  }
  MaybeFinish();
}

void OsProcess::OnDeadline() {
  absl::MutexLock lock(&mu_);
  deadline_timer_ = 0;
  TerminateLocked(ExitReason::kTimedOut);
}

void OsProcess::MaybeFinish() {
  if (phase_ != Phase::kRunning || !reaped_) return;
  if ((out_.open || err_.open) && !drain_expired_) return;
  // The drain gave up on pipes a descendant still holds: their unterminated
  // last lines are delivered all the same, before Wait() can return.
  std::vector<std::pair<Stdio::LineCallback, std::string>> tails;
  for (Output* o : {&out_, &err_}) {
    if (o->open && o->kind == Stdio::Kind::kLines && !o->partial.empty() &&
        o->callback) {
      tails.emplace_back(o->callback, std::move(o->partial));
      o->partial.clear();
    }
  }
  if (!tails.empty()) {
    mu_.Unlock();
    for (auto& [callback, line] : tails) callback(line);
    mu_.Lock();
    if (phase_ != Phase::kRunning) return;
  }
  FinishLocked();
}

void OsProcess::FinishLocked() {
  for (Output* o : {&out_, &err_}) {
    if (o->open) {
      core_->reactor->Unwatch(o->fd.get());
      o->fd.reset();
      o->open = false;
    }
    if (o->kind == Stdio::Kind::kPipe && o->fd.valid()) {
      // Nothing stays open after the end: what the host has not read yet
      // moves to its buffer (ReadLine serves it), then end of file.
      char block[64 * 1024];
      for (ssize_t n; (n = read(o->fd.get(), block, sizeof(block))) > 0;) {
        o->host_buffer.append(block, static_cast<std::size_t>(n));
      }
      o->fd.reset();
      o->host_eof = true;
    }
  }
  if (stdin_pipe_) {
    if (command_.stdin_.kind() == Stdio::Kind::kData) {
      core_->reactor->Unwatch(stdin_pipe_->get());
    }
    stdin_pipe_.reset();  // nothing is left open once Wait() returns
  }
  Outcome outcome;
  const bool signaled =
      status_.si_code == CLD_KILLED || status_.si_code == CLD_DUMPED;
  outcome.exit_code = signaled ? -1 : status_.si_status;
  outcome.signal = signaled ? status_.si_status : 0;
  outcome.wall_time = NanosToDuration(end_ns_ - start_ns_);
  outcome.user_time = TimevalToDuration(rusage_.ru_utime);
  outcome.system_time = TimevalToDuration(rusage_.ru_stime);
  outcome.peak_memory_bytes = int64_t{rusage_.ru_maxrss} * 1024;
  outcome.limits = limits_;
  // The cause of death, by ordered evidence: our own deadline, cancel or
  // output stop; then the limit signals; then a signal the host sent.
  const absl::Duration cpu = outcome.user_time + outcome.system_time;
  if (cause_) {
    outcome.reason = *cause_;
  } else if (signaled && (outcome.signal == SIGXCPU ||
                          (outcome.signal == SIGKILL && limits_.cpu_time &&
                           cpu >= *limits_.cpu_time))) {
    outcome.reason = ExitReason::kCpuTimeExceeded;
  } else if (signaled && outcome.signal == SIGXFSZ && limits_.file_size_bytes) {
    outcome.reason = ExitReason::kFileSizeExceeded;
  } else if (signaled && host_signals_.count(outcome.signal) != 0) {
    outcome.reason = ExitReason::kCancelled;
  } else {
    outcome.reason = signaled ? ExitReason::kSignaled : ExitReason::kExited;
  }
  outcome_ = outcome;
  phase_ = Phase::kEnded;
  pidfd_.reset();
  ended_.SignalAll();
}

// --- Stopping
// -----------------------------------------------------------------

void OsProcess::SignalTreeLocked(int signo) {
  if (reaped_ || pid_ == 0) return;
  // The group, and the leader through its pidfd: a leader that moved itself
  // to another group cannot escape a stop. (Descendants that leave the group
  // need cgroups: the next issue.)
  if (group_) kill(-pid_, signo);
  syscall(SYS_pidfd_send_signal, pidfd_.get(), signo, nullptr, 0);
}

bool OsProcess::ExitedLocked() const {
  if (reaped_) return true;
  // A zombie not reaped yet: it ended by itself, whatever is sent now.
  siginfo_t info = {};
  return waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()),
                &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid != 0;
}

void OsProcess::TerminateLocked(ExitReason cause) {
  if (ExitedLocked()) return;
  if (!cause_) cause_ = cause;
  if (command_.kill_grace <= absl::ZeroDuration()) {
    SignalTreeLocked(SIGKILL);
    return;
  }
  SignalTreeLocked(SIGTERM);
  // A stopped process acts on TERM only when resumed.
  SignalTreeLocked(SIGCONT);
  suspended_ = false;
  if (kill_scheduled_) return;
  kill_scheduled_ = true;
  const int64_t at =
      MonotonicNanos() + absl::ToInt64Nanoseconds(command_.kill_grace);
  std::weak_ptr<OsProcess> weak = weak_from_this();
  Reactor* reactor = core_->reactor.get();
  auto arm = [weak, at, reactor] {
    // A weak reference: a process that ended is not kept for the grace.
    reactor->AddTimer(at, [weak] {
      if (std::shared_ptr<OsProcess> self = weak.lock()) {
        absl::MutexLock lock(&self->mu_);
        self->SignalTreeLocked(SIGKILL);
      }
    });
  };
  if (core_->reactor->OnReactorThread()) {
    arm();
  } else {
    core_->reactor->Post(arm);
  }
}

absl::Status OsProcess::CheckStartedLocked(absl::string_view action) const {
  if (phase_ == Phase::kNew) {
    return absl::FailedPreconditionError(
        fmt::format("{} \"{}\": not started", action, command_.label()));
  }
  return absl::OkStatus();
}

absl::Status OsProcess::Terminate() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckStartedLocked("terminate"); !s.ok()) return s;
  TerminateLocked(ExitReason::kCancelled);
  return absl::OkStatus();
}

absl::Status OsProcess::Kill() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckStartedLocked("kill"); !s.ok()) return s;
  if (ExitedLocked()) return absl::OkStatus();
  if (!cause_) cause_ = ExitReason::kCancelled;
  SignalTreeLocked(SIGKILL);
  return absl::OkStatus();
}

absl::Status OsProcess::Signal(int signo) {
  absl::MutexLock lock(&mu_);
  const std::string action = fmt::format("send {} to", SignalName(signo));
  if (absl::Status s = CheckStartedLocked(action); !s.ok()) return s;
  if (signo < 1 || signo >= NSIG) {
    return absl::InvalidArgumentError(
        fmt::format("{} \"{}\": {} is not a signal number", action,
                    command_.label(), signo));
  }
  if (ExitedLocked()) {
    return absl::FailedPreconditionError(fmt::format(
        "{} \"{}\" (pid {}): it has ended", action, command_.label(), pid_));
  }
  if (signo == SIGSTOP) suspended_ = true;
  if (signo == SIGCONT) suspended_ = false;
  if (signo != SIGSTOP && signo != SIGCONT) host_signals_.insert(signo);
  SignalTreeLocked(signo);
  return absl::OkStatus();
}

absl::Status OsProcess::Suspend() { return Signal(SIGSTOP); }
absl::Status OsProcess::Resume() { return Signal(SIGCONT); }

// --- Waiting
// ------------------------------------------------------------------

absl::StatusOr<Outcome> OsProcess::Wait() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckStartedLocked("wait for"); !s.ok()) return s;
  while (phase_ != Phase::kEnded) ended_.Wait(&mu_);
  return *outcome_;
}

absl::StatusOr<Outcome> OsProcess::WaitFor(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckStartedLocked("wait for"); !s.ok()) return s;
  const absl::Time deadline =
      absl::Now() + std::max(timeout, absl::ZeroDuration());
  while (phase_ != Phase::kEnded) {
    if (ended_.WaitWithDeadline(&mu_, deadline) && phase_ != Phase::kEnded)
      break;
  }
  if (phase_ == Phase::kEnded) return *outcome_;
  return absl::DeadlineExceededError(fmt::format(
      "wait for \"{}\" (pid {}): still running after {}", command_.label(),
      pid_, procsandbox::FormatDuration(timeout)));
}

// --- Pipes
// --------------------------------------------------------------------

absl::Status OsProcess::Write(absl::string_view data) {
  std::shared_ptr<UniqueFd> pipe;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = CheckStartedLocked("write to stdin of"); !s.ok())
      return s;
    if (command_.stdin_.kind() != Stdio::Kind::kPipe) {
      return absl::FailedPreconditionError(fmt::format(
          "write to stdin of \"{}\": stdin is not a pipe (it is {})",
          command_.label(), command_.stdin_));
    }
    if (stdin_closed_) {
      return absl::FailedPreconditionError(fmt::format(
          "write to stdin of \"{}\": stdin was closed", command_.label()));
    }
    if (!stdin_pipe_) {
      return absl::UnavailableError(
          fmt::format("write to stdin of \"{}\" (pid {}): it has ended (EPIPE)",
                      command_.label(), pid_));
    }
    pipe = stdin_pipe_;  // kept open for this call even if CloseStdin() runs
  }
  // A write to a pipe nobody reads raises SIGPIPE: block it in this thread
  // and consume it, so the host never sees it.
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  int err = 0;
  while (!data.empty()) {
    const ssize_t n = write(pipe->get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (err != 0) {
    const struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) == SIGPIPE) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (err == EPIPE) {
    absl::MutexLock lock(&mu_);
    return absl::UnavailableError(
        fmt::format("write to stdin of \"{}\" (pid {}): it has ended (EPIPE)",
                    command_.label(), pid_));
  }
  if (err != 0) return ErrnoStatus(err, "write to stdin");
  return absl::OkStatus();
}

absl::Status OsProcess::CloseStdin() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckStartedLocked("close stdin of"); !s.ok()) return s;
  if (command_.stdin_.kind() != Stdio::Kind::kPipe) {
    return absl::FailedPreconditionError(
        fmt::format("close stdin of \"{}\": stdin is not a pipe (it is {})",
                    command_.label(), command_.stdin_));
  }
  stdin_closed_ = true;
  stdin_pipe_.reset();  // closed once no Write() in progress holds it
  return absl::OkStatus();
}

absl::StatusOr<std::string> OsProcess::ReadPipe(Stream stream,
                                                std::size_t max_bytes,
                                                bool line,
                                                absl::Duration timeout) {
  const absl::string_view action = line ? "read a line of" : "read";
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckStartedLocked(
          fmt::format("{} {} of", action, StreamName(stream)));
      !s.ok()) {
    return s;
  }
  Output* o = stream == Stream::kStdout   ? &out_
              : stream == Stream::kStderr ? &err_
                                          : nullptr;
  if (o == nullptr || o->kind != Stdio::Kind::kPipe) {
    return absl::FailedPreconditionError(
        fmt::format("{} {} of \"{}\": {} is not a pipe", action,
                    StreamName(stream), command_.label(), StreamName(stream)));
  }
  if (max_bytes == 0) {
    return absl::InvalidArgumentError(
        fmt::format("read {} of \"{}\": max_bytes is 0", StreamName(stream),
                    command_.label()));
  }
  const absl::Time deadline = timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + timeout;
  auto ready = [&] {
    return o->host_eof || (line ? o->host_buffer.find('\n') != std::string::npos
                                : !o->host_buffer.empty());
  };
  char block[64 * 1024];
  while (!ready() && o->fd.valid()) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    struct pollfd pfd = {o->fd.get(), POLLIN, 0};
    const int wait_ms = left == absl::InfiniteDuration()
                            ? -1
                            : static_cast<int>(std::min<int64_t>(
                                  absl::ToInt64Milliseconds(
                                      absl::Ceil(left, absl::Milliseconds(1))),
                                  1 << 30));
    mu_.Unlock();
    const int r = poll(&pfd, 1, wait_ms);
    mu_.Lock();
    if (r < 0 && errno != EINTR) return ErrnoStatus(errno, "poll a pipe");
    if (r <= 0 || !o->fd.valid()) continue;  // (the process may have ended)
    const ssize_t n = read(o->fd.get(), block, sizeof(block));
    if (n > 0) {
      o->host_buffer.append(block, static_cast<std::size_t>(n));
    } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
      o->host_eof = true;  // (EAGAIN: another reader took the data)
    }
  }
  if (!ready()) {
    return absl::DeadlineExceededError(
        fmt::format("{} {} of \"{}\" (pid {}): nothing after {}", action,
                    StreamName(stream), command_.label(), pid_,
                    procsandbox::FormatDuration(timeout)));
  }
  if (o->host_buffer.empty()) {
    return absl::OutOfRangeError(
        fmt::format("{} {} of \"{}\" (pid {}): end of file", action,
                    StreamName(stream), command_.label(), pid_));
  }
  std::string data = internal::TakeFront(o->host_buffer, line, max_bytes);
  return data;
}

absl::StatusOr<std::string> OsProcess::ReadLine(Stream stream,
                                                absl::Duration timeout) {
  return ReadPipe(stream, 1, /*line=*/true, timeout);
}

absl::StatusOr<std::string> OsProcess::Read(Stream stream,
                                            std::size_t max_bytes,
                                            absl::Duration timeout) {
  return ReadPipe(stream, max_bytes, /*line=*/false, timeout);
}

// --- State
// --------------------------------------------------------------------

Pid OsProcess::Id() const {
  absl::MutexLock lock(&mu_);
  return pid_;
}

procsandbox::ProcessState OsProcess::state() const {
  absl::MutexLock lock(&mu_);
  switch (phase_) {
    case Phase::kNew:
      return procsandbox::ProcessState::kNew;
    case Phase::kEnded:
      return procsandbox::ProcessState::kEnded;
    default:
      return suspended_ ? procsandbox::ProcessState::kSuspended
                        : procsandbox::ProcessState::kRunning;
  }
}

bool OsProcess::Running() const {
  absl::MutexLock lock(&mu_);
  return phase_ == Phase::kRunning;
}

std::optional<int> OsProcess::ExitCode() const {
  absl::MutexLock lock(&mu_);
  if (!outcome_ || outcome_->signal != 0) return std::nullopt;
  return outcome_->exit_code;
}

ResourceUsage OsProcess::Usage() const {
  absl::MutexLock lock(&mu_);
  ResourceUsage usage;
  if (phase_ == Phase::kNew) return usage;
  usage.output_bytes = received_;
  if (outcome_) {
    usage.wall_time = outcome_->wall_time;
    usage.user_time = outcome_->user_time;
    usage.system_time = outcome_->system_time;
    usage.peak_memory_bytes = outcome_->peak_memory_bytes;
    return usage;
  }
  if (reaped_) {  // draining its output: the pid may belong to another now
    usage.wall_time = NanosToDuration(end_ns_ - start_ns_);
    usage.user_time = TimevalToDuration(rusage_.ru_utime);
    usage.system_time = TimevalToDuration(rusage_.ru_stime);
    usage.peak_memory_bytes = int64_t{rusage_.ru_maxrss} * 1024;
    return usage;
  }
  usage.wall_time = NanosToDuration(MonotonicNanos() - start_ns_);
  usage.processes = 1;
  ReadProcUsage(pid_, usage);
  return usage;
}

Enforcement OsProcess::enforcement() const {
  absl::MutexLock lock(&mu_);
  return phase_ == Phase::kNew ? Enforcement{} : enforcement_;
}

CapturedOutput OsProcess::Captured() const {
  absl::MutexLock lock(&mu_);
  CapturedOutput captured;
  if (out_.kind == Stdio::Kind::kCapture) {
    captured.stdout_ = out_.kept;
    captured.stdout_truncated = out_.truncated;
  }
  if (err_.kind == Stdio::Kind::kCapture) {
    captured.stderr_ = err_.kept;
    captured.stderr_truncated = err_.truncated;
  }
  return captured;
}

}  // namespace procsandbox::linux_internal
