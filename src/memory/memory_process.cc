#include "memory/memory_process.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "common/line_buffer.h"
#include "common/process_errors.h"
#include "common/signals.h"
#include "common/verify_checks.h"
#include "fmt/format.h"

namespace procsandbox::memory_internal {
namespace {

// Where the fake's checks are read from.
constexpr absl::string_view kVirtualSource = "memory manager (virtual)";

// The clock reading `timeout` after `now`; infinite for an infinite timeout.
absl::Time DeadlineAfter(absl::Time now, absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return absl::InfiniteFuture();
  return now + std::max(timeout, absl::ZeroDuration());
}

}  // namespace

// --- Before Start()
// -------------------------------------------------------------

absl::Status MemoryProcess::SetStream(Stream stream, Stdio stdio) {
  if (absl::Status s = ValidateStdio(stream, stdio); !s.ok()) return s;
  absl::MutexLock lock(&core_->mu);
  if (absl::Status s =
          CheckManagerLocked(fmt::format("set {} of", StreamName(stream)));
      !s.ok()) {
    return s;
  }
  if (p_->phase != Phase::kNew) {
    return internal::AlreadyStartedError(
        fmt::format("set {} of", StreamName(stream)), p_->command, p_->pid);
  }
  Stdio& slot = stream == Stream::kStdin    ? p_->command.stdin_
                : stream == Stream::kStdout ? p_->command.stdout_
                                            : p_->command.stderr_;
  slot = std::move(stdio);
  return absl::OkStatus();
}

absl::Status MemoryProcess::SetStdin(Stdio stdio) {
  return SetStream(Stream::kStdin, std::move(stdio));
}
absl::Status MemoryProcess::SetStdout(Stdio stdio) {
  return SetStream(Stream::kStdout, std::move(stdio));
}
absl::Status MemoryProcess::SetStderr(Stdio stdio) {
  return SetStream(Stream::kStderr, std::move(stdio));
}

absl::Status MemoryProcess::SetLimits(const Limits& limits) {
  if (absl::Status s = ValidateLimits(limits); !s.ok()) return s;
  absl::MutexLock lock(&core_->mu);
  if (absl::Status s = CheckManagerLocked("set limits of"); !s.ok()) return s;
  if (p_->phase != Phase::kNew) {
    return internal::AlreadyStartedError("set limits of", p_->command, p_->pid);
  }
  p_->command.limits = limits;
  return absl::OkStatus();
}

Limits MemoryProcess::GetLimits() const {
  absl::MutexLock lock(&core_->mu);
  if (p_->phase == Phase::kNew) {
    return MergeLimits(p_->command.limits, core_->defaults);
  }
  return p_->applied;
}

Command MemoryProcess::command() const {
  absl::MutexLock lock(&core_->mu);
  return p_->command;
}

// --- Lifecycle
// ---------------------------------------------------------------------

absl::Status MemoryProcess::Start() {
  absl::MutexLock lock(&core_->mu);
  return core_->StartLocked(p_);
}

absl::Status MemoryProcess::CheckManagerLocked(absl::string_view action) const {
  if (core_->shut_down && p_->phase == Phase::kNew) {
    return internal::ManagerGoneError(action, p_->command, "MemoryManager");
  }
  return absl::OkStatus();
}

absl::Status MemoryProcess::CheckStartedLocked(absl::string_view action) const {
  if (p_->phase == Phase::kNew) {
    return internal::NotStartedError(action, p_->command);
  }
  return absl::OkStatus();
}

void MemoryProcess::SettleLocked() const {
  if (p_->phase != Phase::kLazy) return;
  core_->MaterializeLocked(p_);
  core_->QuiesceLocked();
}

absl::StatusOr<Outcome> MemoryProcess::Wait() {
  absl::MutexLock lock(&core_->mu);
  if (absl::Status s = CheckStartedLocked("wait for"); !s.ok()) return s;
  ProgramState* self = core_->CurrentProgram();
  if (self == p_.get()) {
    return absl::FailedPreconditionError(
        fmt::format("wait for \"{}\": a program cannot wait for itself",
                    p_->command.label()));
  }
  State& p = *p_;
  if (self != nullptr) {
    // A scripted program waiting for another one gives up the baton.
    SettleLocked();
    if (p.phase != Phase::kEnded) {
      core_->BlockLocked(*self, [&p] { return p.phase == Phase::kEnded; });
    }
    return *p.outcome;
  }
  if (p.phase == Phase::kLazy && core_->lazy == 1 && core_->baton == 0) {
    // Nothing else is due to run at this instant: run the program on this
    // thread (no thread is created for a plain Start() + Wait()).
    core_->RunInline(p_);
  }
  core_->AwaitLocked([&p] { return p.phase == Phase::kEnded; },
                     /*host_wait=*/true);
  return *p.outcome;
}

absl::StatusOr<Outcome> MemoryProcess::WaitFor(absl::Duration timeout) {
  absl::MutexLock lock(&core_->mu);
  if (absl::Status s = CheckStartedLocked("wait for"); !s.ok()) return s;
  SettleLocked();
  State& p = *p_;
  const absl::Time deadline = DeadlineAfter(core_->now, timeout);
  auto done = [this, &p, deadline]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu) {
    return p.phase == Phase::kEnded || core_->now >= deadline;
  };
  if (ProgramState* self = core_->CurrentProgram(); self != nullptr) {
    if (self == &p) {
      return absl::FailedPreconditionError(
          fmt::format("wait for \"{}\": a program cannot wait for itself",
                      p.command.label()));
    }
    // The deadline is a clock event while this program waits; it goes
    // however the wait ends (the program may be killed in it, unwinding
    // with the lock held).
    const auto it = core_->host_deadlines.insert(deadline);
    try {
      if (!done()) core_->BlockLocked(*self, done);
    } catch (...) {
      core_->host_deadlines.erase(it);
      throw;
    }
    core_->host_deadlines.erase(it);
  } else {
    core_->AwaitLocked(done, /*host_wait=*/true, deadline);
  }
  if (p.phase == Phase::kEnded) return *p.outcome;
  return internal::StillRunningError(p.command, p.pid, timeout);
}

// --- Signals
// -------------------------------------------------------------------------

absl::Status MemoryProcess::SignalLocked(absl::string_view action, int signo) {
  if (absl::Status s = CheckStartedLocked(action); !s.ok()) return s;
  if (!internal::IsValidSignal(signo)) {
    return internal::NotASignalError(action, p_->command, signo);
  }
  SettleLocked();
  if (p_->phase == Phase::kEnded) {
    return internal::EndedError(action, p_->command, p_->pid);
  }
  p_->host_signalled = true;
  core_->SendSignalLocked(*p_, signo);
  core_->QuiesceLocked();
  return absl::OkStatus();
}

absl::Status MemoryProcess::Signal(int signo) {
  absl::MutexLock lock(&core_->mu);
  return SignalLocked(fmt::format("send {} to", SignalName(signo)), signo);
}

absl::Status MemoryProcess::Suspend() {
  absl::MutexLock lock(&core_->mu);
  return SignalLocked("suspend", internal::kSigStop);
}

absl::Status MemoryProcess::Resume() {
  absl::MutexLock lock(&core_->mu);
  return SignalLocked("resume", internal::kSigCont);
}

absl::Status MemoryProcess::Terminate() {
  absl::MutexLock lock(&core_->mu);
  if (absl::Status s = CheckStartedLocked("terminate"); !s.ok()) return s;
  SettleLocked();
  core_->TerminateLocked(*p_, ExitReason::kCancelled);
  core_->QuiesceLocked();
  return absl::OkStatus();
}

absl::Status MemoryProcess::Kill() {
  absl::MutexLock lock(&core_->mu);
  if (absl::Status s = CheckStartedLocked("kill"); !s.ok()) return s;
  SettleLocked();
  core_->KillLocked(*p_, ExitReason::kCancelled, internal::kSigKill);
  core_->QuiesceLocked();
  return absl::OkStatus();
}

// --- Pipes
// ------------------------------------------------------------------------------

absl::Status MemoryProcess::Write(absl::string_view data) {
  absl::MutexLock lock(&core_->mu);
  State& p = *p_;
  if (absl::Status s = CheckStartedLocked("write to stdin of"); !s.ok())
    return s;
  if (p.command.stdin_.kind() != Stdio::Kind::kPipe) {
    return internal::StdinNotAPipeError("write to stdin of", p.command);
  }
  if (p.stdin_closed) {
    return internal::StdinClosedError(p.command);
  }
  SettleLocked();
  const std::size_t capacity =
      std::max<std::size_t>(1, core_->options.pipe_capacity);
  while (true) {
    if (p.phase == Phase::kEnded) {
      return internal::StdinEndedError(p.command, p.pid);
    }
    if (data.empty()) break;
    if (p.stdin_pos > 0 && p.stdin_pos * 2 >= p.stdin_buffer.size()) {
      p.stdin_buffer.erase(0, p.stdin_pos);
      p.stdin_pos = 0;
    }
    const std::size_t queued = p.stdin_buffer.size() - p.stdin_pos;
    if (queued >= capacity) {
      core_->AwaitLocked(
          [&p, capacity] {
            return p.phase == Phase::kEnded ||
                   p.stdin_buffer.size() - p.stdin_pos < capacity;
          },
          /*host_wait=*/true);
      continue;
    }
    const std::size_t n = std::min(data.size(), capacity - queued);
    p.stdin_buffer.append(data.data(), n);
    data.remove_prefix(n);
    core_->NotifyLocked();
  }
  core_->QuiesceLocked();
  return absl::OkStatus();
}

absl::Status MemoryProcess::CloseStdin() {
  absl::MutexLock lock(&core_->mu);
  if (absl::Status s = CheckStartedLocked("close stdin of"); !s.ok()) return s;
  if (p_->command.stdin_.kind() != Stdio::Kind::kPipe) {
    return internal::StdinNotAPipeError("close stdin of", p_->command);
  }
  SettleLocked();
  p_->stdin_closed = true;
  core_->NotifyLocked();
  core_->QuiesceLocked();
  return absl::OkStatus();
}

absl::StatusOr<std::string> MemoryProcess::ReadPipe(Stream stream,
                                                    std::size_t max_bytes,
                                                    bool line,
                                                    absl::Duration timeout) {
  const absl::string_view action = line ? "read a line of" : "read";
  absl::MutexLock lock(&core_->mu);
  State& p = *p_;
  if (absl::Status s = CheckStartedLocked(
          fmt::format("{} {} of", action, StreamName(stream)));
      !s.ok()) {
    return s;
  }
  const Stdio& stdio =
      stream == Stream::kStdout ? p.command.stdout_ : p.command.stderr_;
  if (stream == Stream::kStdin || stdio.kind() != Stdio::Kind::kPipe) {
    return internal::StreamNotAPipeError(action, stream, p.command);
  }
  if (max_bytes == 0) {
    return internal::ZeroMaxBytesError(stream, p.command);
  }
  SettleLocked();
  OutputSink& sink = Core::SinkFor(p, stream);
  const absl::Time deadline = DeadlineAfter(core_->now, timeout);
  // The host drains the pipe into its own buffer as it reads, so a line
  // longer than the pipe's capacity still arrives (the writer never waits
  // for a reader that waits for more).
  auto ready = [&sink, line] {
    return sink.closed ||
           (line ? sink.host_buffer.find('\n') != std::string::npos
                 : !sink.host_buffer.empty());
  };
  for (;;) {
    if (!sink.buffer.empty()) {
      sink.host_buffer += sink.buffer;
      sink.buffer.clear();
      core_->NotifyLocked();  // a writer may wait for room
    }
    if (ready() || core_->now >= deadline) break;
    core_->AwaitLocked(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(core_->mu) {
          return !sink.buffer.empty() || sink.closed || core_->now >= deadline;
        },
        /*host_wait=*/true, deadline);
  }
  if (!ready()) {
    return internal::NothingAfterError(action, stream, p.command, p.pid,
                                       timeout);
  }
  if (sink.host_buffer.empty()) {
    return internal::EndOfFileError(action, stream, p.command, p.pid);
  }
  std::string data = internal::TakeFront(sink.host_buffer, line, max_bytes);
  core_->QuiesceLocked();
  return data;
}

absl::StatusOr<std::string> MemoryProcess::ReadLine(Stream stream,
                                                    absl::Duration timeout) {
  return ReadPipe(stream, 1, /*line=*/true, timeout);
}

absl::StatusOr<std::string> MemoryProcess::Read(Stream stream,
                                                std::size_t max_bytes,
                                                absl::Duration timeout) {
  return ReadPipe(stream, max_bytes, /*line=*/false, timeout);
}

// --- State
// -------------------------------------------------------------------------------

Pid MemoryProcess::Id() const {
  absl::MutexLock lock(&core_->mu);
  return p_->pid;
}

procsandbox::ProcessState MemoryProcess::state() const {
  absl::MutexLock lock(&core_->mu);
  SettleLocked();
  switch (p_->phase) {
    case Phase::kNew:
      return procsandbox::ProcessState::kNew;
    case Phase::kEnded:
      return procsandbox::ProcessState::kEnded;
    default:
      return p_->suspended ? procsandbox::ProcessState::kSuspended
                           : procsandbox::ProcessState::kRunning;
  }
}

bool MemoryProcess::Running() const {
  absl::MutexLock lock(&core_->mu);
  SettleLocked();
  return p_->phase != Phase::kNew && p_->phase != Phase::kEnded;
}

std::optional<int> MemoryProcess::ExitCode() const {
  absl::MutexLock lock(&core_->mu);
  SettleLocked();
  if (!p_->outcome.has_value() || p_->outcome->signal != 0) return std::nullopt;
  return p_->outcome->exit_code;
}

ResourceUsage MemoryProcess::Usage() const {
  absl::MutexLock lock(&core_->mu);
  SettleLocked();
  const State& p = *p_;
  ResourceUsage usage;
  if (p.phase == Phase::kNew) return usage;
  usage.wall_time =
      (p.phase == Phase::kEnded ? p.end_time : core_->now) - p.start_time;
  usage.user_time = core_->CpuUsedLocked(p);
  usage.memory_bytes = p.memory;
  usage.peak_memory_bytes = p.peak_memory;
  usage.processes = p.phase == Phase::kEnded ? 0 : 1 + p.children;
  usage.output_bytes = p.output_bytes;
  usage.forks_refused = p.forks_refused;
  return usage;
}

Enforcement MemoryProcess::enforcement() const {
  absl::MutexLock lock(&core_->mu);
  return p_->phase == Phase::kNew ? Enforcement{} : p_->enforcement;
}

CapturedOutput MemoryProcess::Captured() const {
  absl::MutexLock lock(&core_->mu);
  SettleLocked();
  CapturedOutput captured;
  if (p_->out.kind == Stdio::Kind::kCapture) {
    captured.stdout_ = p_->out.buffer;
    captured.stdout_truncated = p_->out.truncated;
  }
  if (p_->err.kind == Stdio::Kind::kCapture) {
    captured.stderr_ = p_->err.buffer;
    captured.stderr_truncated = p_->err.truncated;
  }
  return captured;
}

// --- Verification
// ------------------------------------------------------------------------

absl::StatusOr<Verification> MemoryProcess::Verify() {
  absl::MutexLock lock(&core_->mu);
  if (absl::Status s = CheckStartedLocked("verify"); !s.ok()) return s;
  SettleLocked();
  const State& p = *p_;
  if (p.phase == Phase::kEnded) {
    return internal::EndedBeforeVerifiedError(p.command, p.pid);
  }
  // As the OS managers read them back: each limit and isolation mechanism
  // asked for, against what is in force now (AlterLimits may have changed
  // it).
  const Isolation& isolation = p.command.isolation;
  Verification verification =
      internal::PlanVerification(p.asked, isolation, p.enforcement);
  verification.time = core_->now;
  for (VerificationCheck& check : verification.checks) {
    if (!internal::AwaitsReadBack(check)) continue;
    if (check.limit && internal::HeldByLibrary(*check.limit)) {
      check = internal::LibraryHeldCheck(p.asked, *check.limit);
    } else if (check.limit) {
      check = internal::CompareLimit(p.asked, p.limits, *check.limit,
                                     std::string(kVirtualSource));
    } else {
      check.found = check.asked;
      check.source = std::string(kVirtualSource);
      check.result = CheckResult::kMatch;
      check.detail.clear();
    }
  }
  return verification;
}

}  // namespace procsandbox::memory_internal
