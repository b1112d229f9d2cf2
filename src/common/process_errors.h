// The Statuses a Process reports in the same words on every manager (the
// fake and the OS ones), so that a host's handling of them is tested on the
// fake and holds on the OS. One function per text; the conformance suite
// checks them on each manager.
//
// `action` is the call's verb phrase as the message starts with it ("set
// limits of", "wait for", "read stdout of" ...); `command` names the process
// by its label().
//
// Example:
//   if (phase != Phase::kNew) {
//     return internal::AlreadyStartedError("start", command, pid);
//   }
#ifndef PROCSANDBOX_SRC_COMMON_PROCESS_ERRORS_H_
#define PROCSANDBOX_SRC_COMMON_PROCESS_ERRORS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/command.h"
#include "procsandbox/limits.h"
#include "procsandbox/process.h"
#include "procsandbox/stdio.h"

namespace procsandbox::internal {

// --- Before and at Start() ---------------------------------------------

// FailedPrecondition: `set limits of "job": already started (pid 1000)`.
absl::Status AlreadyStartedError(absl::string_view action,
                                 const Command& command, Pid pid);
// FailedPrecondition: `start "job": its manager is gone`; `manager` names
// the manager as its users know it ("manager", "MemoryManager").
absl::Status ManagerGoneError(absl::string_view action, const Command& command,
                              absl::string_view manager);
// FailedPrecondition: `start "job": limit memory_bytes cannot be enforced
// here: <detail>` (a strict process).
absl::Status LimitNotEnforceableError(const Command& command, LimitKind kind,
                                      absl::string_view detail);
// NotFound: `get process 1000: no running process of this manager`.
absl::Status NoSuchProcessError(Pid pid);
// InvalidArgument: `<action>: <why>` for default limits that
// ValidateLimits() refuses ("set default limits", "default limits"); OK for
// valid ones.
absl::Status ValidateDefaultLimits(const Limits& limits,
                                   absl::string_view action);

// --- After Start() -------------------------------------------------------

// FailedPrecondition: `wait for "job": not started`.
absl::Status NotStartedError(absl::string_view action, const Command& command);
// DeadlineExceeded: `wait for "job" (pid 1000): still running after 2s`.
absl::Status StillRunningError(const Command& command, Pid pid,
                               absl::Duration timeout);
// InvalidArgument: `signal "job": 99 is not a signal number`.
absl::Status NotASignalError(absl::string_view action, const Command& command,
                             int signo);
// FailedPrecondition: `signal "job" (pid 1000): it has ended`.
absl::Status EndedError(absl::string_view action, const Command& command,
                        Pid pid);
// FailedPrecondition: `verify "job" (pid 1000): it ended before it could be
// verified` (Process::Verify() once the process has ended, or when it ends
// while it is read).
absl::Status EndedBeforeVerifiedError(const Command& command, Pid pid);

// --- Host pipes ----------------------------------------------------------

// FailedPrecondition: `write to stdin of "job": stdin is not a pipe (it is
// null)`, naming command.stdin_.
absl::Status StdinNotAPipeError(absl::string_view action,
                                const Command& command);
// FailedPrecondition: `write to stdin of "job": stdin was closed`.
absl::Status StdinClosedError(const Command& command);
// Unavailable: `write to stdin of "job" (pid 1000): it has ended (EPIPE)`.
absl::Status StdinEndedError(const Command& command, Pid pid);
// FailedPrecondition: `read stdout of "job": stdout is not a pipe`.
absl::Status StreamNotAPipeError(absl::string_view action, Stream stream,
                                 const Command& command);
// InvalidArgument: `read stdout of "job": max_bytes is 0`.
absl::Status ZeroMaxBytesError(Stream stream, const Command& command);
// DeadlineExceeded: `read a line of stdout of "job" (pid 1000): nothing after
// 1s`; `action` is "read" or "read a line of".
absl::Status NothingAfterError(absl::string_view action, Stream stream,
                               const Command& command, Pid pid,
                               absl::Duration timeout);
// OutOfRange: `read stdout of "job" (pid 1000): end of file`.
absl::Status EndOfFileError(absl::string_view action, Stream stream,
                            const Command& command, Pid pid);

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_PROCESS_ERRORS_H_
