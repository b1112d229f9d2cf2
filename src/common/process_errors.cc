#include "common/process_errors.h"

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "procsandbox/command.h"
#include "procsandbox/limits.h"
#include "procsandbox/process.h"
#include "procsandbox/stdio.h"

namespace procsandbox::internal {

absl::Status AlreadyStartedError(absl::string_view action,
                                 const Command& command, Pid pid) {
  return absl::FailedPreconditionError(fmt::format(
      "{} \"{}\": already started (pid {})", action, command.label(), pid));
}

absl::Status ManagerGoneError(absl::string_view action, const Command& command,
                              absl::string_view manager) {
  return absl::FailedPreconditionError(fmt::format(
      "{} \"{}\": its {} is gone", action, command.label(), manager));
}

absl::Status LimitNotEnforceableError(const Command& command, LimitKind kind,
                                      absl::string_view detail) {
  return absl::FailedPreconditionError(
      fmt::format("start \"{}\": limit {} cannot be enforced here: {}",
                  command.label(), LimitKindName(kind), detail));
}

absl::Status NoSuchProcessError(Pid pid) {
  return absl::NotFoundError(
      fmt::format("get process {}: no running process of this manager", pid));
}

absl::Status ValidateDefaultLimits(const Limits& limits,
                                   absl::string_view action) {
  if (absl::Status s = ValidateLimits(limits); !s.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", action, s.message()));
  }
  return absl::OkStatus();
}

absl::Status NotStartedError(absl::string_view action, const Command& command) {
  return absl::FailedPreconditionError(
      fmt::format("{} \"{}\": not started", action, command.label()));
}

absl::Status StillRunningError(const Command& command, Pid pid,
                               absl::Duration timeout) {
  return absl::DeadlineExceededError(
      fmt::format("wait for \"{}\" (pid {}): still running after {}",
                  command.label(), pid, procsandbox::FormatDuration(timeout)));
}

absl::Status NotASignalError(absl::string_view action, const Command& command,
                             int signo) {
  return absl::InvalidArgumentError(fmt::format(
      "{} \"{}\": {} is not a signal number", action, command.label(), signo));
}

absl::Status EndedError(absl::string_view action, const Command& command,
                        Pid pid) {
  return absl::FailedPreconditionError(fmt::format(
      "{} \"{}\" (pid {}): it has ended", action, command.label(), pid));
}

absl::Status EndedBeforeVerifiedError(const Command& command, Pid pid) {
  return absl::FailedPreconditionError(fmt::format(
      "verify \"{}\" (pid {}): it ended before it could be verified",
      command.label(), pid));
}

absl::Status StdinNotAPipeError(absl::string_view action,
                                const Command& command) {
  return absl::FailedPreconditionError(
      fmt::format("{} \"{}\": stdin is not a pipe (it is {})", action,
                  command.label(), command.stdin_));
}

absl::Status StdinClosedError(const Command& command) {
  return absl::FailedPreconditionError(fmt::format(
      "write to stdin of \"{}\": stdin was closed", command.label()));
}

absl::Status StdinEndedError(const Command& command, Pid pid) {
  return absl::UnavailableError(
      fmt::format("write to stdin of \"{}\" (pid {}): it has ended (EPIPE)",
                  command.label(), pid));
}

absl::Status StreamNotAPipeError(absl::string_view action, Stream stream,
                                 const Command& command) {
  return absl::FailedPreconditionError(
      fmt::format("{} {} of \"{}\": {} is not a pipe", action,
                  StreamName(stream), command.label(), StreamName(stream)));
}

absl::Status ZeroMaxBytesError(Stream stream, const Command& command) {
  return absl::InvalidArgumentError(
      fmt::format("read {} of \"{}\": max_bytes is 0", StreamName(stream),
                  command.label()));
}

absl::Status NothingAfterError(absl::string_view action, Stream stream,
                               const Command& command, Pid pid,
                               absl::Duration timeout) {
  return absl::DeadlineExceededError(fmt::format(
      "{} {} of \"{}\" (pid {}): nothing after {}", action, StreamName(stream),
      command.label(), pid, procsandbox::FormatDuration(timeout)));
}

absl::Status EndOfFileError(absl::string_view action, Stream stream,
                            const Command& command, Pid pid) {
  return absl::OutOfRangeError(
      fmt::format("{} {} of \"{}\" (pid {}): end of file", action,
                  StreamName(stream), command.label(), pid));
}

}  // namespace procsandbox::internal
