// FakeProcess: the scripted program's side of the in-memory manager. Every
// call runs on the program's own thread while it holds the baton (see
// core.h); blocking calls give the baton back until they can go on.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/exception_codes.h"
#include "common/fmt_absl.h"
#include "common/signals.h"
#include "fmt/format.h"
#include "memory/core.h"
#include "procsandbox/memory_manager.h"

namespace procsandbox {

using memory_internal::Core;
using memory_internal::OutputSink;
using memory_internal::ProgramState;
using memory_internal::UnwindScript;

namespace {

// Writes `data` to the program's `stream`, blocking on a full pipe, and
// delivers complete lines to a Stdio::Lines callback outside the lock.
void WriteStream(Core& core, ProgramState& p, Stream stream,
                 absl::string_view data) {
  std::vector<std::string> lines;
  Stdio::LineCallback callback;
  {
    absl::MutexLock lock(&core.mu);
    core.PollLocked(p);
    OutputSink& sink = Core::SinkFor(p, stream);
    if (sink.kind != Stdio::Kind::kPipe) {
      core.WriteLocked(p, stream, data, &lines);
      callback = sink.callback;
    } else {
      const std::size_t capacity =
          std::max<std::size_t>(1, core.options.pipe_capacity);
      while (!data.empty()) {
        if (sink.buffer.size() >= capacity) {
          core.BlockLocked(
              p, [&sink, capacity] { return sink.buffer.size() < capacity; });
          continue;
        }
        const std::size_t n =
            std::min(data.size(), capacity - sink.buffer.size());
        core.WriteLocked(p, stream, data.substr(0, n), &lines);
        sink.buffer.append(data.data(), n);
        data.remove_prefix(n);
        core.NotifyLocked();
      }
    }
  }
  for (const std::string& line : lines) callback(line);
}

bool Uncatchable(int signo) {
  return signo == internal::kSigKill || signo == internal::kSigStop;
}

}  // namespace

Pid FakeProcess::pid() const { return state_->pid; }
const std::vector<std::string>& FakeProcess::argv() const {
  return state_->argv;
}
const std::vector<std::string>& FakeProcess::args() const {
  return state_->command.args;
}
const std::string& FakeProcess::resolved_program() const {
  return state_->resolved;
}
const Environment& FakeProcess::env() const { return state_->command.env; }
const std::string& FakeProcess::working_dir() const {
  return state_->command.working_dir;
}
const Limits& FakeProcess::limits() const { return state_->limits; }

absl::Time FakeProcess::Now() const {
  absl::MutexLock lock(&core_->mu);
  return core_->now;
}

void FakeProcess::WriteStdout(absl::string_view data) {
  WriteStream(*core_, *state_, Stream::kStdout, data);
}

void FakeProcess::WriteStderr(absl::string_view data) {
  WriteStream(*core_, *state_, Stream::kStderr, data);
}

std::optional<std::string> FakeProcess::ReadLine() {
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  auto ready = [&p] {
    return p.stdin_closed ||
           p.stdin_buffer.find('\n', p.stdin_pos) != std::string::npos;
  };
  if (!ready()) core_->BlockLocked(p, ready);
  if (p.stdin_pos >= p.stdin_buffer.size()) return std::nullopt;
  std::size_t nl = p.stdin_buffer.find('\n', p.stdin_pos);
  const std::size_t end = nl == std::string::npos ? p.stdin_buffer.size() : nl;
  std::string line = p.stdin_buffer.substr(p.stdin_pos, end - p.stdin_pos);
  const std::size_t consumed = (nl == std::string::npos ? end : nl + 1);
  p.stdin_seen.append(p.stdin_buffer, p.stdin_pos, consumed - p.stdin_pos);
  p.stdin_pos = consumed;
  core_->NotifyLocked();  // a host Write() may wait for room
  return line;
}

std::string FakeProcess::Read(std::size_t max_bytes) {
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  if (max_bytes == 0) return "";
  auto ready = [&p] {
    return p.stdin_closed || p.stdin_pos < p.stdin_buffer.size();
  };
  if (!ready()) core_->BlockLocked(p, ready);
  const std::size_t n =
      std::min(max_bytes, p.stdin_buffer.size() - p.stdin_pos);
  std::string data = p.stdin_buffer.substr(p.stdin_pos, n);
  p.stdin_seen.append(data);
  p.stdin_pos += n;
  core_->NotifyLocked();
  return data;
}

std::string FakeProcess::ReadAll() {
  constexpr std::size_t kChunk = std::size_t{64} * 1024;
  std::string all;
  for (std::string chunk = Read(kChunk); !chunk.empty(); chunk = Read(kChunk)) {
    all += chunk;
  }
  return all;
}

void FakeProcess::Sleep(absl::Duration duration) {
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  if (duration <= absl::ZeroDuration()) return;
  // A signal handler may sleep inside this Sleep: each keeps its own
  // wake-up, and the clock is told of the innermost one.
  const absl::Time wake = core_->now + duration;
  const absl::Time interrupted = p.wake_time;
  p.wake_time = wake;
  core_->BlockLocked(p, [this, wake]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                            core_->mu) { return core_->now >= wake; });
  p.wake_time = interrupted;
}

void FakeProcess::UseCpu(absl::Duration duration) {
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  if (duration <= absl::ZeroDuration()) return;
  // A signal handler may burn CPU inside this burn: the interrupted one
  // resumes with what it had left when the handler returns.
  const bool interrupted_in_burn = p.in_burn;
  const absl::Duration interrupted_left = p.burn_left;
  core_->StartBurnLocked(p, duration);
  core_->BlockLocked(p, [&p] { return p.burn_left <= absl::ZeroDuration(); });
  p.in_burn = interrupted_in_burn;
  p.burn_left = interrupted_left;
}

void FakeProcess::UseMemory(int64_t bytes) {
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  p.memory += std::max<int64_t>(0, bytes);
  p.peak_memory = std::max(p.peak_memory, p.memory);
  if (p.limits.memory_bytes.has_value() && p.memory > *p.limits.memory_bytes) {
    // The cgroup OOM killer: SIGKILL, reported as the memory limit.
    p.peak_memory = *p.limits.memory_bytes;
    core_->KillLocked(p, ExitReason::kMemoryExceeded, internal::kSigKill);
    core_->PollLocked(p);
  }
}

void FakeProcess::FreeMemory(int64_t bytes) {
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(*state_);
  state_->memory -= std::min(state_->memory, std::max<int64_t>(0, bytes));
}

absl::Status FakeProcess::OpenFiles(int64_t count) {
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  count = std::max<int64_t>(0, count);
  constexpr int64_t kStandardStreams = 3;
  if (p.limits.open_files.has_value() &&
      kStandardStreams + p.open_files + count > *p.limits.open_files) {
    return absl::ResourceExhaustedError(
        fmt::format("open: too many open files (EMFILE): limit open_files {}",
                    *p.limits.open_files));
  }
  p.open_files += count;
  return absl::OkStatus();
}

void FakeProcess::CloseFiles(int64_t count) {
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(*state_);
  state_->open_files -=
      std::min(state_->open_files, std::max<int64_t>(0, count));
}

absl::Status FakeProcess::SpawnChildren(int64_t count) {
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  count = std::max<int64_t>(0, count);
  if (p.limits.processes.has_value() &&
      1 + p.children + count > *p.limits.processes) {
    ++p.forks_refused;
    return absl::ResourceExhaustedError(fmt::format(
        "fork: resource temporarily unavailable (EAGAIN): limit processes {}",
        *p.limits.processes));
  }
  p.children += count;
  return absl::OkStatus();
}

absl::Status FakeProcess::WriteFile(absl::string_view path,
                                    absl::string_view contents, bool append) {
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(*state_);
  absl::Status written =
      core_->WriteFileLocked(*state_, path, contents, append);
  core_->PollLocked(*state_);
  return written;
}

std::optional<std::string> FakeProcess::ReadFile(absl::string_view path) const {
  absl::MutexLock lock(&core_->mu);
  auto it = core_->files.find(path);
  if (it == core_->files.end()) return std::nullopt;
  return it->second;
}

namespace {

// Why limit `kind` cannot be changed from outside on `p`, or OK.
absl::Status CheckAlterable(const ProgramState& p, LimitKind kind,
                            absl::string_view action) {
  if (kind == LimitKind::kWallTime || kind == LimitKind::kOutput) {
    return absl::InvalidArgumentError(
        fmt::format("{} {}: held by the library, nothing outside changes it",
                    action, LimitKindName(kind)));
  }
  const LimitEnforcement* e = p.enforcement.Find(kind);
  if (e != nullptr && !e->enforced()) {
    return absl::FailedPreconditionError(
        fmt::format("{} {}: not enforced here: {}", action, LimitKindName(kind),
                    e->detail));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FakeProcess::AlterLimits(const Limits& altered) {
  if (absl::Status s = ValidateLimits(altered); !s.ok()) return s;
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  for (LimitKind kind : kAllLimitKinds) {
    if (!altered.has(kind)) continue;
    if (absl::Status s = CheckAlterable(p, kind, "alter"); !s.ok()) return s;
  }
  p.limits = MergeLimits(altered, p.limits);
  if (p.limits.memory_bytes.has_value() && p.memory > *p.limits.memory_bytes) {
    // A group limit lowered below the usage: the OOM killer.
    p.peak_memory = std::min(p.peak_memory, *p.limits.memory_bytes);
    core_->KillLocked(p, ExitReason::kMemoryExceeded, internal::kSigKill);
  }
  core_->PollLocked(p);
  return absl::OkStatus();
}

absl::Status FakeProcess::RemoveLimit(LimitKind kind) {
  ProgramState& p = *state_;
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(p);
  if (absl::Status s = CheckAlterable(p, kind, "remove"); !s.ok()) return s;
  memory_internal::ClearLimit(p.limits, kind);
  return absl::OkStatus();
}

namespace {

// The kernel's order of precedence of seccomp actions.
int Severity(SeccompAction action) {
  switch (action) {
    case SeccompAction::kAllow:
      return 0;
    case SeccompAction::kEperm:
    case SeccompAction::kEnosys:
      return 1;
    case SeccompAction::kKill:
      return 2;
  }
  return 0;
}

SeccompAction SeccompActionFor(const SeccompFilter& filter,
                               absl::string_view name, uint64_t arg0) {
  if (name == "execve" || name == "exit_group") return SeccompAction::kAllow;
  std::optional<SeccompAction> found;
  for (const SeccompRule& rule : filter.rules) {
    if (rule.syscall != name) continue;
    if (rule.arg0_any_bits != 0 && (arg0 & rule.arg0_any_bits) == 0) continue;
    if (!found || Severity(rule.action) > Severity(*found)) found = rule.action;
  }
  return found.value_or(filter.default_action);
}

}  // namespace

absl::Status FakeProcess::Syscall(absl::string_view name, uint64_t arg0) {
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(*state_);
  const std::optional<SeccompFilter>& filter =
      state_->command.isolation.seccomp;
  const IsolationEnforcement* e =
      state_->enforcement.Find(IsolationKind::kSeccomp);
  if (!filter.has_value() || e == nullptr || !e->enforced) {
    return absl::OkStatus();
  }
  switch (SeccompActionFor(*filter, name, arg0)) {
    case SeccompAction::kAllow:
      return absl::OkStatus();
    case SeccompAction::kEperm:
      return absl::PermissionDeniedError(
          fmt::format("{}: operation not permitted (EPERM)", name));
    case SeccompAction::kEnosys:
      return absl::UnimplementedError(
          fmt::format("{}: function not implemented (ENOSYS)", name));
    case SeccompAction::kKill:
      break;
  }
  if (!state_->cause) {
    state_->cause = ExitReason::kSeccompViolation;
    state_->violation_syscall = std::string(name);
  }
  state_->dying = true;
  state_->death_signal = internal::kSigKill;
  throw UnwindScript{};
}

absl::Status FakeProcess::OnSignal(int signo, std::function<void()> handler) {
  if (!internal::IsValidSignal(signo) || Uncatchable(signo)) {
    return absl::InvalidArgumentError(
        fmt::format("catch signal {}: it cannot be caught", SignalName(signo)));
  }
  if (!handler) {
    return absl::InvalidArgumentError(fmt::format(
        "catch signal {}: the handler is empty", SignalName(signo)));
  }
  absl::MutexLock lock(&core_->mu);
  state_->ignored.erase(signo);
  state_->handlers[signo] = std::move(handler);
  return absl::OkStatus();
}

absl::Status FakeProcess::IgnoreSignal(int signo) {
  if (!internal::IsValidSignal(signo) || Uncatchable(signo)) {
    return absl::InvalidArgumentError(fmt::format(
        "ignore signal {}: it cannot be ignored", SignalName(signo)));
  }
  absl::MutexLock lock(&core_->mu);
  state_->handlers.erase(signo);
  state_->ignored.insert(signo);
  return absl::OkStatus();
}

void FakeProcess::Exit(int code) {
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(*state_);
  state_->exit_code = code & 0xff;
  state_->dying = true;
  throw UnwindScript{};
}

void FakeProcess::Raise(uint32_t exception_code) {
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(*state_);
  state_->dying = true;
  const internal::ExceptionExit* exit =
      internal::FindExceptionExit(exception_code);
  if (exit == nullptr) {
    // Windows reports it as the exit code it is.
    state_->exit_code = static_cast<int>(exception_code);
  } else {
    state_->death_signal = exit->signal;
    state_->death_exception = exception_code;
  }
  throw UnwindScript{};
}

void FakeProcess::Die(int signo) {
  absl::MutexLock lock(&core_->mu);
  core_->PollLocked(*state_);
  state_->dying = true;
  state_->death_signal =
      internal::IsValidSignal(signo) ? signo : internal::kSigKill;
  throw UnwindScript{};
}

}  // namespace procsandbox
