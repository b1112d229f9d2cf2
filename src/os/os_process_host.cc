// The OS process seen from host threads: waiting, interactive pipes, state.
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/fmt_absl.h"
#include "common/line_buffer.h"
#include "common/process_errors.h"
#include "fmt/format.h"
#include "os/os_process.h"

namespace procsandbox::os_internal {
namespace {

// How long a host reader (ReadLine, Read) waits for its pipe before it
// looks again whether the process ended (see ReadPipe).
constexpr int64_t kHostPollSliceMs = 50;

// What Stdio::Capture kept of the two streams, each text as `text` gives
// it from its buffer (a copy, or moved out).
template <typename Output, typename Text>
CapturedOutput CollectCaptured(Output& out, Output& err, Text text) {
  CapturedOutput captured;
  if (out.kind == Stdio::Kind::kCapture) {
    captured.stdout_ = text(out.kept);
    captured.stdout_truncated = out.truncated;
  }
  if (err.kind == Stdio::Kind::kCapture) {
    captured.stderr_ = text(err.kept);
    captured.stderr_truncated = err.truncated;
  }
  return captured;
}

}  // namespace

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
  return internal::StillRunningError(command_, pid_, timeout);
}

// --- Pipes
// --------------------------------------------------------------------

absl::Status OsProcess::Write(absl::string_view data) {
  std::shared_ptr<HostStdin> pipe;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = CheckStartedLocked("write to stdin of"); !s.ok())
      return s;
    if (command_.stdin_.kind() != Stdio::Kind::kPipe) {
      return internal::StdinNotAPipeError("write to stdin of", command_);
    }
    if (stdin_closed_) {
      return internal::StdinClosedError(command_);
    }
    if (!host_stdin_) return internal::StdinEndedError(command_, pid_);
    pipe = host_stdin_;  // kept open for this call even if CloseStdin() runs
  }
  bool reader_gone = false;
  absl::Status written = pipe->Write(data, reader_gone);
  if (reader_gone) {
    absl::MutexLock lock(&mu_);
    return internal::StdinEndedError(command_, pid_);
  }
  return written;
}

absl::Status OsProcess::CloseStdin() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckStartedLocked("close stdin of"); !s.ok()) return s;
  if (command_.stdin_.kind() != Stdio::Kind::kPipe) {
    return internal::StdinNotAPipeError("close stdin of", command_);
  }
  stdin_closed_ = true;
  host_stdin_.reset();  // closed once no Write() in progress holds it
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
    return internal::StreamNotAPipeError(action, stream, command_);
  }
  if (max_bytes == 0) {
    return internal::ZeroMaxBytesError(stream, command_);
  }
  const absl::Time deadline = timeout == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + timeout;
  auto ready = [&] {
    return o->host_eof || (line ? o->host_buffer.find('\n') != std::string::npos
                                : !o->host_buffer.empty());
  };
  while (!ready() && child_->HostPipeOpen(stream)) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) break;
    // The process may end while this thread waits without the lock:
    // FinishLocked() then takes what the pipe holds and closes it, and
    // neither ends this wait when a descendant still holds the write end.
    // Each slice ends with a look at the pipe under the lock, so a read
    // ends at most a slice after the process.
    const absl::Duration wait =
        std::min(absl::Ceil(left, absl::Milliseconds(1)),
                 absl::Milliseconds(kHostPollSliceMs));
    std::shared_ptr<Child> child = child_;
    mu_.Unlock();
    absl::StatusOr<bool> readable = child->AwaitHostPipe(stream, wait);
    mu_.Lock();
    if (!readable.ok()) return readable.status();
    // (The process may have ended meanwhile.)
    if (!*readable || !child_->HostPipeOpen(stream)) continue;
    if (child_->ReadHostPipe(stream, o->host_buffer) == HostRead::kEnd) {
      o->host_eof = true;  // (kNothing: another reader took the data)
    }
  }
  if (!ready()) {
    return internal::NothingAfterError(action, stream, command_, pid_, timeout);
  }
  if (o->host_buffer.empty()) {
    return internal::EndOfFileError(action, stream, command_, pid_);
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
    usage.forks_refused = forks_refused_;
    return usage;
  }
  if (reaped_) {  // draining its output: the pid may belong to another now
    usage.wall_time = absl::Nanoseconds(exit_.end_ns - start_ns_);
    usage.user_time = exit_.user_time;
    usage.system_time = exit_.system_time;
    usage.peak_memory_bytes = exit_.peak_memory_bytes;
    return usage;
  }
  return LiveUsageLocked();
}

ResourceUsage OsProcess::LiveUsageLocked() const {
  ResourceUsage usage;
  usage.output_bytes = received_;
  usage.wall_time = absl::Nanoseconds(MonotonicNanos() - start_ns_);
  usage.processes = 1;
  child_->LiveUsage(usage);  // the whole tree, where the platform sees it
  return usage;
}

Enforcement OsProcess::enforcement() const {
  absl::MutexLock lock(&mu_);
  return phase_ == Phase::kNew ? Enforcement{} : enforcement_;
}

CapturedOutput OsProcess::Captured() const {
  absl::MutexLock lock(&mu_);
  return CollectCaptured(out_, err_,
                         [](const CaptureBuffer& b) { return b.text(); });
}

CapturedOutput OsProcess::TakeCaptured() {
  absl::MutexLock lock(&mu_);
  return CollectCaptured(out_, err_, [](CaptureBuffer& b) { return b.Take(); });
}

}  // namespace procsandbox::os_internal
