// procsandbox/process.h: one child process, from New() to its Outcome.
//
// A `Process` comes from `Manager::New(command)`. Until Start() its streams
// and limits may still be changed; Start() validates everything, applies the
// limits before the program's first instruction, and runs it. Wait() and
// friends return the `Outcome` once it has ended, as often as asked, from any
// thread.
//
// Example:
//   std::shared_ptr<procsandbox::Process> p = manager.New(cmd);
//   if (absl::Status s = p->Start(); !s.ok()) return s;    // NotFound, ...
//   absl::StatusOr<procsandbox::Outcome> outcome = p->Wait();
//
// Lifecycle contract: a Start() that fails has started nothing and leaves
// nothing behind. A started process is stopped and reaped by its manager's
// destructor if nobody waited for it. A `Process` may outlive its manager;
// calls then fail with FailedPrecondition, except accessors of a finished
// process, which keep answering.
//
// Thread-safety: every method may be called from any thread at any time.
#ifndef PROCSANDBOX_PROCESS_H_
#define PROCSANDBOX_PROCESS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/limits.h"
#include "procsandbox/monitor.h"
#include "procsandbox/outcome.h"
#include "procsandbox/stdio.h"
#include "procsandbox/verification.h"

namespace procsandbox {

// A process id: the OS pid, or the fake's deterministic id.
using Pid = int64_t;

// What Stdio::Capture collected. Complete after Wait(); partial while the
// process runs.
struct PROCSANDBOX_EXPORT CapturedOutput {
  std::string stdout_;
  std::string stderr_;
  bool stdout_truncated = false;
  bool stderr_truncated = false;

  friend bool operator==(const CapturedOutput& a, const CapturedOutput& b) {
    return a.stdout_ == b.stdout_ && a.stderr_ == b.stderr_ &&
           a.stdout_truncated == b.stdout_truncated &&
           a.stderr_truncated == b.stderr_truncated;
  }
  friend bool operator!=(const CapturedOutput& a, const CapturedOutput& b) {
    return !(a == b);
  }
};

class PROCSANDBOX_EXPORT Process {
 public:
  virtual ~Process();

  // --- Before Start(). Each returns FailedPrecondition once started. -------
  // InvalidArgument when the Stdio does not fit the stream (ValidateStdio).
  virtual absl::Status SetStdin(Stdio stdio) = 0;
  virtual absl::Status SetStdout(Stdio stdio) = 0;
  virtual absl::Status SetStderr(Stdio stdio) = 0;
  // Replaces the command's limits. InvalidArgument for an invalid value.
  virtual absl::Status SetLimits(const Limits& limits) = 0;
  // The limits it runs under: the command's merged over the manager's
  // defaults (as of now before Start(), as applied after it).
  virtual Limits GetLimits() const = 0;
  // The command as given (with the setters above applied).
  virtual Command command() const = 0;

  // --- Lifecycle. ----------------------------------------------------------
  // Starts the program with every limit in force before its first
  // instruction. Errors (nothing is started): InvalidArgument (the command,
  // ValidateCommand), NotFound (the program, naming it and the PATH
  // searched, `PATH <redacted>` when it is a secret; a stdin file),
  // PermissionDenied (not executable; a file or directory not accessible),
  // FailedPrecondition (already started; a bad working directory; a limit
  // strict mode cannot enforce; the manager is gone), ResourceExhausted (out
  // of processes or descriptors).
  virtual absl::Status Start() = 0;
  // Blocks until the process has ended and its output is collected; returns
  // the same Outcome every time. FailedPrecondition before Start().
  virtual absl::StatusOr<Outcome> Wait() = 0;
  // As Wait(), but DeadlineExceeded when it has not ended within `timeout`
  // (the manager's clock: virtual time on the fake).
  virtual absl::StatusOr<Outcome> WaitFor(absl::Duration timeout) = 0;
  // The Outcome if ended, else DeadlineExceeded at once.
  absl::StatusOr<Outcome> TryWait() { return WaitFor(absl::ZeroDuration()); }

  // --- Stopping and signals. -----------------------------------------------
  // Sends `signo` to the process (its group when it leads one). The outcome
  // of a death it causes is kCancelled. FailedPrecondition before Start()
  // or after the end; InvalidArgument for a signal number out of range.
  virtual absl::Status Signal(int signo) = 0;
  // Graceful stop of the whole tree: SIGTERM (and SIGCONT, so a suspended
  // process can act on it), then SIGKILL after the command's kill_grace.
  // Returns at once; Wait() for the end. OK when already ended.
  virtual absl::Status Terminate() = 0;
  // SIGKILL to the whole tree now. OK when already ended.
  virtual absl::Status Kill() = 0;
  // SIGSTOP / SIGCONT to the whole tree. Wall time keeps running while
  // suspended; CPU time does not.
  virtual absl::Status Suspend() = 0;
  virtual absl::Status Resume() = 0;

  // --- Streams of Stdio::Pipe(). FailedPrecondition when the stream is not a
  // pipe or the process was not started. -----------------------------------
  // Writes all of `data` to stdin, blocking while the pipe is full.
  // FailedPrecondition once stdin is closed; Unavailable when the child has
  // closed its end (it ended).
  virtual absl::Status Write(absl::string_view data) = 0;
  // Closes stdin: the child reads end of file. OK when already closed.
  virtual absl::Status CloseStdin() = 0;
  // The next line of stdout or stderr without its '\n' (a last line without
  // one at end of file). DeadlineExceeded after `timeout` with no complete
  // line; OutOfRange at end of file.
  virtual absl::StatusOr<std::string> ReadLine(Stream stream,
                                               absl::Duration timeout) = 0;
  // Between 1 and `max_bytes` bytes, as soon as any are there.
  // DeadlineExceeded after `timeout` with none; OutOfRange at end of file;
  // InvalidArgument for max_bytes == 0.
  virtual absl::StatusOr<std::string> Read(Stream stream, std::size_t max_bytes,
                                           absl::Duration timeout) = 0;

  // --- State. --------------------------------------------------------------
  // The pid; 0 before Start().
  virtual Pid Id() const = 0;
  virtual ProcessState state() const = 0;
  // Started and not ended (suspended counts as running).
  virtual bool Running() const = 0;
  // The exit code once it exited by itself; nullopt while running, before
  // Start(), or when a signal ended it.
  virtual std::optional<int> ExitCode() const = 0;
  virtual ResourceUsage Usage() const = 0;
  // Per requested limit, by which mechanism it is enforced (empty before
  // Start()).
  virtual Enforcement enforcement() const = 0;
  // What Stdio::Capture collected so far.
  virtual CapturedOutput Captured() const = 0;

  // --- Verification. --------------------------------------------------------
  // Reads back from the kernel what holds for the running process now: per
  // limit and isolation mechanism it asked for, what was asked, what was
  // found, where it was read, and whether they match (verification.h). A
  // limit the host does not enforce is kNotEnforced, never a match.
  // FailedPrecondition before Start() and once the process has ended (it
  // can no longer be read); Unimplemented for a Process that cannot verify
  // (this default).
  virtual absl::StatusOr<Verification> Verify();
};

}  // namespace procsandbox

#endif  // PROCSANDBOX_PROCESS_H_
