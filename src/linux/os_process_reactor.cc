// The OS process on the reactor thread: output, stdin data, exit and reap,
// deadlines; and stopping (signals to the group and the leader).
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
#include "linux/os_process.h"
#include "linux/os_process_util.h"
#include "posix/program_path.h"
#include "linux/spawn.h"

namespace procsandbox::linux_internal {
namespace {

// What one wake-up reads of one stream: small enough that a batch of full
// pipes leaves the reactor soon for its timers and exits, large enough that
// a single stream still moves at pipe speed.
constexpr std::size_t kReadBlock = std::size_t{256} * 1024;

}  // namespace

// --- Reactor side
// -------------------------------------------------------------

void OsProcess::Arm() {
  std::shared_ptr<OsProcess> self = shared_from_this();
  Reactor& reactor = *core_->reactor;
  absl::MutexLock lock(&mu_);
  (void)reactor.Watch(
      pidfd_.get(), EPOLLIN, [self](uint32_t) { self->OnExit(); },
      /*urgent=*/true);
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
  ArmCpuCheck();
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
  // One read per wake-up: a program that keeps its pipe full gets one block
  // and then waits its turn behind the timers, the other descriptors and
  // the posted work (epoll is level-triggered and queues a ready descriptor
  // behind the others). The lines of that block are delivered after the
  // mutex is released, as views into the block: what is held for lines is
  // the block and the unterminated tail, however much the program writes.
  static thread_local std::string block(kReadBlock, '\0');
  std::string head;        // the tail of earlier blocks + its end
  absl::string_view body;  // complete lines inside `block`
  Stdio::LineCallback callback;
  bool chunks = false;
  bool stream_ended = false;
  {
    absl::MutexLock lock(&mu_);
    Output& o = stream == Stream::kStdout ? out_ : err_;
    if (!o.open) return;
    ssize_t n;
    do {
      n = read(o.fd.get(), block.data(), block.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {  // end of file (or an error: the same for us)
      core_->reactor->Unwatch(o.fd.get());
      o.fd.reset();
      o.open = false;
      if (o.kind == Stdio::Kind::kLines && !o.partial.empty()) {
        head = std::move(o.partial);
        o.partial = std::string();
      }
    } else {
      received_ += n;
      absl::string_view data(block.data(), static_cast<std::size_t>(n));
      if (limits_.output_bytes) {
        const int64_t room =
            std::max<int64_t>(0, *limits_.output_bytes - kept_);
        if (static_cast<int64_t>(data.size()) > room) {
          data = data.substr(0, static_cast<std::size_t>(room));
          o.truncated = true;
          if (command_.on_output_limit == OutputLimitAction::kStop) {
            // Output was dropped: the outcome says so even when the program
            // has already exited and the stop reaches nobody (FinishLocked).
            output_dropped_ = true;
            TerminateLocked(ExitReason::kOutputExceeded);
          }
        }
      }
      kept_ += static_cast<int64_t>(data.size());
      if (o.kind == Stdio::Kind::kCapture) {
        o.kept.append(data.data(), data.size());
      } else if (o.kind == Stdio::Kind::kChunks) {
        body = data;
      } else {
        internal::SplitLines(o.partial, data, head, body);
      }
    }
    stream_ended = !o.open;
    chunks = o.kind == Stdio::Kind::kChunks;
    if (o.callback) callback = o.callback;
  }
  if (callback) {
    if (chunks) {
      if (!body.empty()) callback(body);
    } else {
      internal::DeliverLines(callback, head, body);
    }
  }
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
  EndTreeLocked();
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
  if (phase_ != Phase::kRunning || !reaped_ || tree_dying_) return;
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
  ApplyRusage(rusage_, outcome.user_time, outcome.system_time,
              outcome.peak_memory_bytes);
  ApplyCgroupUsageLocked(outcome);
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
  } else if (signaled && outcome.signal == SIGKILL &&
             cgroup_usage_.oom_kills > 0) {
    // The kernel's OOM killer (nobody on the host sent SIGKILL).
    outcome.reason = ExitReason::kMemoryExceeded;
  } else if (output_dropped_) {
    // Past the cap with kStop, and nothing else explains the end: the stop
    // found the program already gone, its output cut all the same.
    outcome.reason = ExitReason::kOutputExceeded;
  } else {
    outcome.reason = signaled ? ExitReason::kSignaled : ExitReason::kExited;
  }
  outcome_ = outcome;
  phase_ = Phase::kEnded;
  pidfd_.reset();
  // Nothing stays open once Wait() returns; the groups are removed by path,
  // after this (their final figures are in the outcome).
  for (auto& g : cgroups_) g->CloseDescriptors();
  ScheduleCgroupRemoval();
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
  // The cgroup holds the whole tree, also what left the process group.
  // Not waiting for the exits (the reap follows): this may run on the
  // reactor thread, which serves every process of the manager.
  if (signo == SIGKILL && tracker_ != nullptr) (void)tracker_->SendKill();
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
  // A stopped or frozen process acts on TERM only when resumed.
  SignalTreeLocked(SIGCONT);
  if (frozen_ && tracker_ != nullptr) (void)tracker_->Thaw();
  frozen_ = false;
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
  if (core_->reactor->OnLoopThread()) {
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
  if (signo == SIGCONT) {
    suspended_ = false;
    if (frozen_ && tracker_ != nullptr) (void)tracker_->Thaw();
    frozen_ = false;
  }
  if (signo != SIGSTOP && signo != SIGCONT) host_signals_.insert(signo);
  SignalTreeLocked(signo);
  return absl::OkStatus();
}

absl::Status OsProcess::Suspend() {
  {
    absl::MutexLock lock(&mu_);
    if (tracker_ != nullptr && tracker_->can_freeze() && !ExitedLocked() &&
        phase_ == Phase::kRunning) {
      // Frozen, the whole tree stops and cannot tell (no SIGSTOP to catch
      // or to notice through a parent's waitpid).
      if (absl::Status s = tracker_->Freeze(); !s.ok()) {
        return absl::Status(s.code(),
                            fmt::format("suspend \"{}\" (pid {}): {}",
                                        command_.label(), pid_, s.message()));
      }
      frozen_ = true;
      suspended_ = true;
      return absl::OkStatus();
    }
  }
  return Signal(SIGSTOP);
}

absl::Status OsProcess::Resume() {
  {
    absl::MutexLock lock(&mu_);
    if (frozen_ && tracker_ != nullptr) {
      if (absl::Status s = tracker_->Thaw(); !s.ok()) {
        return absl::Status(s.code(),
                            fmt::format("resume \"{}\" (pid {}): {}",
                                        command_.label(), pid_, s.message()));
      }
      frozen_ = false;
      suspended_ = false;
    }
  }
  // Also what a SIGSTOP (the program's own, or Signal()) stopped.
  return Signal(SIGCONT);
}

}  // namespace procsandbox::linux_internal
