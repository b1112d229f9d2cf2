// The OS process on the loop thread: the platform's events (output, exit,
// CPU budget, the end of the tree), deadlines, the drain after the exit and
// the outcome; and stopping (TERM, then KILL after the grace).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "common/isolation_enforcement.h"
#include "common/line_buffer.h"
#include "common/output_cap.h"
#include "common/process_errors.h"
#include "common/signals.h"
#include "fmt/format.h"
#include "os/os_process.h"

namespace procsandbox::os_internal {

using internal::kSigCont;
using internal::kSigKill;
using internal::kSigStop;
using internal::kSigSys;
using internal::kSigTerm;
using internal::kSigXcpu;
using internal::kSigXfsz;

namespace {

// The run's seccomp filter was installed (not reported unavailable).
bool SeccompEnforced(const Enforcement& enforcement) {
  const IsolationEnforcement* e = enforcement.Find(IsolationKind::kSeccomp);
  return e != nullptr && e->enforced;
}

}  // namespace

// --- Loop side
// ----------------------------------------------------------------

void OsProcess::Arm() {
  std::shared_ptr<OsProcess> self = shared_from_this();
  EventLoop& loop = manager_->platform->loop();
  absl::MutexLock lock(&mu_);
  child_->Arm(self);
  if (limits_.wall_time && !reaped_) {
    deadline_timer_ =
        loop.AddTimer(start_ns_ + absl::ToInt64Nanoseconds(*limits_.wall_time),
                      [self] { self->OnDeadline(); });
  }
  if (timeline_ && !reaped_) {
    next_sample_ns_ = start_ns_;
    ArmSampleLocked(start_ns_);
  }
}

// --- Sampling (Command::monitor)
// ----------------------------------------------

void OsProcess::ArmSampleLocked(int64_t now_ns) {
  // On the grid start + k * interval: a late turn skips the instants it
  // missed rather than sampling in a burst.
  const int64_t interval = absl::ToInt64Nanoseconds(command_.monitor.interval);
  next_sample_ns_ += interval;
  if (next_sample_ns_ <= now_ns) {
    next_sample_ns_ +=
        (now_ns - next_sample_ns_) / interval * interval + interval;
  }
  std::shared_ptr<OsProcess> self = shared_from_this();
  sample_timer_ = manager_->platform->loop().AddTimer(
      next_sample_ns_, [self] { self->OnSampleDue(); });
}

void OsProcess::OnSampleDue() {
  UsageSample sample;
  std::function<void(const UsageSample&)> callback;
  {
    absl::MutexLock lock(&mu_);
    sample_timer_ = 0;
    if (phase_ != Phase::kRunning || reaped_ || !timeline_) return;
    // Cheap on purpose (a few small files, no allocation of note): it runs
    // on the thread that serves every deadline of the manager.
    const ResourceUsage usage = LiveUsageLocked();
    sample.elapsed = usage.wall_time;
    sample.time = start_time_ + usage.wall_time;
    sample.user_time = usage.user_time;
    sample.system_time = usage.system_time;
    sample.memory_bytes = usage.memory_bytes;
    sample.peak_memory_bytes = usage.peak_memory_bytes;
    sample.processes = usage.processes;
    sample.stdout_bytes = out_.received;
    sample.stderr_bytes = err_.received;
    sample.state = suspended_ ? procsandbox::ProcessState::kSuspended
                              : procsandbox::ProcessState::kRunning;
    sample = timeline_->Add(sample);
    ArmSampleLocked(start_ns_ + absl::ToInt64Nanoseconds(usage.wall_time));
    callback = command_.monitor.on_sample;
  }
  // No lock held: the callback may call this process's methods.
  if (callback) callback(sample);
}

UsageSample OsProcess::EndSampleLocked() {
  Outcome figures;
  (void)EndFiguresLocked(figures);
  UsageSample sample;
  sample.elapsed = figures.wall_time;
  sample.time = start_time_ + figures.wall_time;
  sample.user_time = figures.user_time;
  sample.system_time = figures.system_time;
  sample.peak_memory_bytes = figures.peak_memory_bytes;
  sample.stdout_bytes = out_.received;
  sample.stderr_bytes = err_.received;
  sample.state = procsandbox::ProcessState::kEnded;
  samples_ = timeline_->Finish(sample);
  return sample;
}

bool OsProcess::OnOutput(Stream stream, absl::string_view data) {
  // The lines of this block are delivered after the mutex is released, as
  // views into the block: what is held for lines is the block and the
  // unterminated tail, however much the program writes.
  std::string head;        // the tail of earlier blocks + its end
  absl::string_view body;  // complete lines inside `data`
  Stdio::LineCallback callback;
  bool chunks = false;
  bool wanted = true;
  {
    absl::MutexLock lock(&mu_);
    Output& o = OutputOf(stream);
    if (!o.open) return true;
    data = data.substr(0, ReceiveLocked(o, data.size()));
    kept_ += static_cast<int64_t>(data.size());
    wanted = !limits_.output_bytes.has_value() || kept_ < *limits_.output_bytes;
    if (o.kind == Stdio::Kind::kCapture) {
      std::optional<std::size_t> room;  // what the cap still allows after
      if (limits_.output_bytes.has_value()) {
        room = static_cast<std::size_t>(
            std::max<int64_t>(0, *limits_.output_bytes - kept_));
      }
      o.kept.Append(data, room, *manager_->platform);
    } else if (o.kind == Stdio::Kind::kChunks) {
      body = data;
    } else {
      internal::SplitLines(o.partial, data, head, body);
    }
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
  return wanted;
}

void OsProcess::OnOutputDiscarded(Stream stream, std::size_t count) {
  absl::MutexLock lock(&mu_);
  Output& o = OutputOf(stream);
  if (o.open) (void)ReceiveLocked(o, count);
}

std::size_t OsProcess::ReceiveLocked(Output& o, std::size_t count) {
  received_ += static_cast<int64_t>(count);
  o.received += static_cast<int64_t>(count);
  const internal::OutputCap cap = internal::CapOutput(
      limits_.output_bytes, kept_, count, command_.on_output_limit);
  if (cap.truncated) o.truncated = true;
  if (cap.stop) {
    // Output was dropped: the outcome says so even when the program has
    // already exited and the stop reaches nobody (FinishLocked).
    output_dropped_ = true;
    TerminateLocked(ExitReason::kOutputExceeded);
  }
  return cap.keep;
}

void OsProcess::OnOutputEnd(Stream stream) {
  std::string head;  // the unterminated last line
  Stdio::LineCallback callback;
  {
    absl::MutexLock lock(&mu_);
    Output& o = OutputOf(stream);
    if (!o.open) return;
    o.open = false;
    if (o.kind == Stdio::Kind::kLines && !o.partial.empty()) {
      head = std::move(o.partial);
      o.partial = std::string();
    }
    if (o.kind == Stdio::Kind::kLines && o.callback) callback = o.callback;
  }
  if (callback) internal::DeliverLines(callback, head, absl::string_view());
  // Only an end of file (or the exit) can finish the process.
  absl::MutexLock lock(&mu_);
  MaybeFinish();
}

void OsProcess::OnExit(const ChildExit& exit) {
  absl::MutexLock lock(&mu_);
  if (reaped_) return;
  reaped_ = true;
  exit_ = exit;
  // Descendants that outlive the leader end with it; Wait() returns once
  // they are gone (OnTreeGone), the loop serving other processes meanwhile.
  tree_dying_ = child_->EndTree(frozen_);
  frozen_ = false;
  {
    // The pid is free from now on; the table must not hold it. (The
    // platform's callback keeps this process alive while it runs.)
    absl::MutexLock manager_lock(&manager_->mu);
    auto it = manager_->live.find(pid_);
    if (it != manager_->live.end() && it->second.get() == this)
      manager_->live.erase(it);
    manager_->ending.insert_or_assign(this, shared_from_this());
  }
  EventLoop& loop = manager_->platform->loop();
  if (deadline_timer_ != 0) loop.CancelTimer(deadline_timer_);
  // Samples stop with the leader; the one at the end has the final figures.
  if (sample_timer_ != 0) loop.CancelTimer(sample_timer_);
  sample_timer_ = 0;
  if (out_.open || err_.open) {
    // A descendant outside its group may still hold the pipes: drain them
    // for a bounded time, then stop waiting.
    std::shared_ptr<OsProcess> self = shared_from_this();
    loop.AddTimer(exit_.end_ns + absl::ToInt64Nanoseconds(
                                     manager_->options.drain_after_exit),
                  [self] {
                    absl::MutexLock l(&self->mu_);
                    self->drain_expired_ = true;
                    self->MaybeFinish();
                  });
  }
  MaybeFinish();
}

void OsProcess::OnCpuBudgetSpent() {
  absl::MutexLock lock(&mu_);
  // A leader that ended by itself (a zombie not reaped yet) is not stopped.
  if (reaped_ || ExitedLocked()) return;
  // Over budget: the whole tree, at once (no grace: it would spend more).
  if (!cause_) cause_ = ExitReason::kCpuTimeExceeded;
  SignalTreeLocked(kSigKill);
}

void OsProcess::OnSeccompViolation(int syscall, std::string name) {
  absl::MutexLock lock(&mu_);
  if (reaped_) return;
  // The first cause stands (a deadline that already stopped the tree, an
  // earlier violation); the tree is killed either way.
  if (!cause_) {
    cause_ = ExitReason::kSeccompViolation;
    violation_syscall_ = syscall;
    violation_name_ = std::move(name);
  }
  SignalTreeLocked(kSigKill);
}

void OsProcess::OnTreeGone() {
  absl::MutexLock lock(&mu_);
  if (!tree_dying_) return;
  // (A tree that outlives the platform's bound is reported by its removal.)
  tree_dying_ = false;
  MaybeFinish();
}

void OsProcess::EndDrain() {
  std::shared_ptr<OsProcess> self = shared_from_this();
  manager_->platform->loop().Post([self] {
    absl::MutexLock lock(&self->mu_);
    self->drain_expired_ = true;
    self->MaybeFinish();
  });
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
  if (timeline_ && !samples_) {
    // The sample at the end goes to the callback before Wait() returns.
    const UsageSample end = EndSampleLocked();
    if (command_.monitor.on_sample) {
      const std::function<void(const UsageSample&)> callback =
          command_.monitor.on_sample;
      mu_.Unlock();
      callback(end);
      mu_.Lock();
      if (phase_ != Phase::kRunning) return;
    }
  }
  FinishLocked();
}

TreeEnd OsProcess::EndFiguresLocked(Outcome& outcome) const {
  outcome.wall_time = absl::Nanoseconds(exit_.end_ns - start_ns_);
  outcome.user_time = exit_.user_time;
  outcome.system_time = exit_.system_time;
  outcome.peak_memory_bytes = exit_.peak_memory_bytes;
  return child_->FinalUsage(outcome);
}

void OsProcess::FinishLocked() {
  for (const Stream stream : {Stream::kStdout, Stream::kStderr}) {
    Output& o = OutputOf(stream);
    o.open = false;  // the child stops reading it (Close below)
    if (o.kind == Stdio::Kind::kPipe && child_->HostPipeOpen(stream)) {
      // Nothing stays open after the end: what the host has not read yet
      // moves to its buffer (ReadLine serves it), then end of file.
      child_->DrainHostPipe(stream, o.host_buffer);
      o.host_eof = true;
    }
  }
  host_stdin_.reset();  // nothing is left open once Wait() returns
  Outcome outcome;
  const bool signaled = exit_.signaled;
  outcome.exit_code = signaled ? -1 : exit_.exit_code;
  outcome.signal = signaled ? exit_.signal : 0;
  outcome.exception_code = signaled ? exit_.exception_code : 0;
  const TreeEnd tree = EndFiguresLocked(outcome);
  forks_refused_ = tree.forks_refused;
  outcome.limits = limits_;
  if (samples_ && !samples_->empty()) {
    // A live reading (/proc's VmHWM) may have seen a higher peak than the
    // figure read at the end (rusage): the outcome has the highest seen.
    outcome.peak_memory_bytes =
        std::max(outcome.peak_memory_bytes, samples_->back().peak_memory_bytes);
    outcome.samples = std::move(*samples_);
  }
  // The cause of death, by ordered evidence: our own deadline, cancel or
  // output stop; then the limit signals; then a signal the host sent.
  const absl::Duration cpu = outcome.user_time + outcome.system_time;
  if (cause_) {
    outcome.reason = *cause_;
  } else if (signaled && outcome.signal == kSigSys &&
             internal::SeccompKills(command_.isolation) &&
             SeccompEnforced(enforcement_)) {
    // A kill rule without a listener (SECCOMP_RET_KILL_PROCESS): the
    // kernel does not say which call.
    outcome.reason = ExitReason::kSeccompViolation;
  } else if (signaled && (outcome.signal == kSigXcpu ||
                          (outcome.signal == kSigKill && limits_.cpu_time &&
                           cpu >= *limits_.cpu_time))) {
    outcome.reason = ExitReason::kCpuTimeExceeded;
  } else if (signaled && outcome.signal == kSigXfsz &&
             limits_.file_size_bytes) {
    outcome.reason = ExitReason::kFileSizeExceeded;
  } else if (signaled && host_signals_.count(outcome.signal) != 0) {
    outcome.reason = ExitReason::kCancelled;
  } else if ((signaled && outcome.signal == kSigKill && tree.oom_killed) ||
             ((tree.oom_killed || tree.memory_refused) &&
              limits_.memory_bytes)) {
    // The kernel's OOM killer (nobody on the host sent SIGKILL); or, under
    // the memory limit, it killed another process of the tree (the leader
    // then ended by itself), or memory over the limit was refused (a
    // Windows job): however the program ended after that, the limit ended
    // it, as a peer that kills only the leader would also say.
    outcome.reason = ExitReason::kMemoryExceeded;
  } else if (output_dropped_) {
    // Past the cap with kStop, and nothing else explains the end: the stop
    // found the program already gone, its output cut all the same.
    outcome.reason = ExitReason::kOutputExceeded;
  } else {
    outcome.reason = signaled ? ExitReason::kSignaled : ExitReason::kExited;
  }
  if (outcome.reason == ExitReason::kSeccompViolation) {
    outcome.syscall = violation_syscall_;
    outcome.syscall_name = violation_name_;
  }
  outcome_ = outcome;
  phase_ = Phase::kEnded;
  {
    absl::MutexLock manager_lock(&manager_->mu);
    manager_->ending.erase(this);
  }
  // Nothing stays open once Wait() returns; the containers are removed
  // after this (their final figures are in the outcome).
  child_->Close();
  ended_.SignalAll();
}

// --- Stopping
// -----------------------------------------------------------------

void OsProcess::SignalTreeLocked(int signo) {
  if (reaped_ || child_ == nullptr) return;
  child_->SignalTree(signo);
}

bool OsProcess::ExitedLocked() const {
  if (reaped_) return true;
  return child_ != nullptr && child_->Exited();
}

void OsProcess::TerminateLocked(ExitReason cause) {
  if (ExitedLocked()) return;
  if (!cause_) cause_ = cause;
  if (command_.kill_grace <= absl::ZeroDuration()) {
    SignalTreeLocked(kSigKill);
    return;
  }
  SignalTreeLocked(kSigTerm);
  // A stopped or frozen process acts on TERM only when resumed.
  SignalTreeLocked(kSigCont);
  if (frozen_) (void)child_->Thaw();
  frozen_ = false;
  suspended_ = false;
  if (kill_scheduled_) return;
  kill_scheduled_ = true;
  const int64_t at =
      MonotonicNanos() + absl::ToInt64Nanoseconds(command_.kill_grace);
  std::weak_ptr<OsProcess> weak = weak_from_this();
  EventLoop* loop = &manager_->platform->loop();
  auto arm = [weak, at, loop] {
    // A weak reference: a process that ended is not kept for the grace.
    loop->AddTimer(at, [weak] {
      if (std::shared_ptr<OsProcess> self = weak.lock()) {
        absl::MutexLock lock(&self->mu_);
        self->SignalTreeLocked(kSigKill);
      }
    });
  };
  if (loop->OnLoopThread()) {
    arm();
  } else {
    loop->Post(arm);
  }
}

absl::Status OsProcess::CheckStartedLocked(absl::string_view action) const {
  if (phase_ == Phase::kNew) {
    return internal::NotStartedError(action, command_);
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
  SignalTreeLocked(kSigKill);
  return absl::OkStatus();
}

absl::Status OsProcess::Signal(int signo) {
  absl::MutexLock lock(&mu_);
  const std::string action = fmt::format("send {} to", SignalName(signo));
  if (absl::Status s = CheckStartedLocked(action); !s.ok()) return s;
  if (!internal::IsValidSignal(signo)) {
    return internal::NotASignalError(action, command_, signo);
  }
  if (ExitedLocked()) {
    return internal::EndedError(action, command_, pid_);
  }
  if (absl::Status s = child_->CheckSignal(signo); !s.ok()) {
    return absl::Status(s.code(),
                        fmt::format("{} \"{}\" (pid {}): {}", action,
                                    command_.label(), pid_, s.message()));
  }
  if (signo == kSigStop) suspended_ = true;
  if (signo == kSigCont) {
    suspended_ = false;
    if (frozen_) (void)child_->Thaw();
    frozen_ = false;
  }
  if (signo != kSigStop && signo != kSigCont) host_signals_.insert(signo);
  SignalTreeLocked(signo);
  return absl::OkStatus();
}

absl::Status OsProcess::Suspend() {
  {
    absl::MutexLock lock(&mu_);
    if (child_ != nullptr && child_->can_freeze() && !ExitedLocked() &&
        phase_ == Phase::kRunning) {
      // Frozen, the whole tree stops and cannot tell (no SIGSTOP to catch
      // or to notice through a parent's waitpid).
      if (absl::Status s = child_->Freeze(); !s.ok()) {
        return absl::Status(s.code(),
                            fmt::format("suspend \"{}\" (pid {}): {}",
                                        command_.label(), pid_, s.message()));
      }
      frozen_ = true;
      suspended_ = true;
      return absl::OkStatus();
    }
  }
  return Signal(kSigStop);
}

absl::Status OsProcess::Resume() {
  {
    absl::MutexLock lock(&mu_);
    if (frozen_ && child_ != nullptr) {
      if (absl::Status s = child_->Thaw(); !s.ok()) {
        return absl::Status(s.code(),
                            fmt::format("resume \"{}\" (pid {}): {}",
                                        command_.label(), pid_, s.message()));
      }
      frozen_ = false;
      suspended_ = false;
    }
  }
  // Also what a SIGSTOP (the program's own, or Signal()) stopped.
  return Signal(kSigCont);
}

}  // namespace procsandbox::os_internal
