// The OS process seen from host threads: waiting, interactive pipes, state.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
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

using ::procsandbox::posix_internal::UniqueFd;
using ::procsandbox::posix_internal::ErrnoStatus;

namespace {

// How long a host reader (ReadLine, Read) polls a pipe before it looks
// again whether the process ended (see ReadPipe).
constexpr int64_t kHostPollSliceMs = 50;

}  // namespace

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
      uint64_t utime = 0, stime = 0;
      // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
      // utime stime
      if (std::sscanf(rest + 2,
                      "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %" SCNu64
                      " %" SCNu64,
                      &utime, &stime) == 2) {
        const int64_t ticks = sysconf(_SC_CLK_TCK);
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
      int64_t kib = 0;
      if (std::sscanf(line, "VmRSS: %" SCNd64 " kB", &kib) == 1)
        usage.memory_bytes = kib * 1024;
      if (std::sscanf(line, "VmHWM: %" SCNd64 " kB", &kib) == 1)
        usage.peak_memory_bytes = kib * 1024;
    }
    std::fclose(f);
  }
}

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
    // The process may end while this thread polls without the lock:
    // FinishLocked() then takes what the pipe holds and closes it, and
    // neither wakes this poll when a descendant still holds the write end
    // (nor when the number is reused at once by another open, so that this
    // poll watches some other file). Each slice ends with a look at o->fd
    // under the lock, so a read ends at most a slice after the process.
    const int wait_ms = static_cast<int>(std::min<int64_t>(
        absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
        kHostPollSliceMs));
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
    usage.forks_refused = cgroup_usage_.process_limit_hits;
    return usage;
  }
  if (reaped_) {  // draining its output: the pid may belong to another now
    usage.wall_time = NanosToDuration(end_ns_ - start_ns_);
    ApplyRusage(rusage_, usage.user_time, usage.system_time,
                usage.peak_memory_bytes);
    return usage;
  }
  usage.wall_time = NanosToDuration(MonotonicNanos() - start_ns_);
  usage.processes = 1;
  ReadProcUsage(pid_, usage);
  ReadCgroupUsageLocked(usage);  // the whole tree, where there is a group
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
