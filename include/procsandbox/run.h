// procsandbox/run.h: run a command to completion and collect what it did.
//
// `RunCommand()` is the one-call form of New + Start + Wait. It captures
// stdout and stderr (within Limits::output_bytes) unless the command says
// otherwise, feeds Stdio::Data to stdin, and returns a start failure as its
// error Status. A program that ran, whatever its end, is an OK result with an
// Outcome.
//
// Example:
//   procsandbox::Command cmd("python3", {"-c", "print(42)"});
//   cmd.limits.wall_time = absl::Seconds(2);
//   absl::StatusOr<procsandbox::RunResult> r =
//       procsandbox::RunCommand(manager, cmd);
//   if (!r.ok()) return r.status();     // e.g. NotFound: no python3
//   if (r->ok()) use(r->stdout_);       // "42\n"
#ifndef PROCSANDBOX_RUN_H_
#define PROCSANDBOX_RUN_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"

namespace procsandbox {

struct PROCSANDBOX_EXPORT RunResult {
  Outcome outcome;
  Pid pid = 0;
  // Captured output (empty for a stream not captured).
  std::string stdout_;
  std::string stderr_;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  Enforcement enforcement;

  // outcome.ok(): exited by itself with status 0.
  bool ok() const { return outcome.ok(); }

  friend PROCSANDBOX_EXPORT bool operator==(const RunResult& a,
                                            const RunResult& b);
  friend bool operator!=(const RunResult& a, const RunResult& b) {
    return !(a == b);
  }
};

// Starts `command` on `manager` and waits for its end.
// Stdio::kDefault stdout/stderr become Stdio::Capture(); stdin stays the null
// device unless given. Errors: whatever Start() returns (nothing was started
// then); FailedPrecondition when a stream is Stdio::Pipe() (use Process for
// that).
PROCSANDBOX_EXPORT absl::StatusOr<RunResult> RunCommand(Manager& manager,
                                                        Command command);

#ifndef PROCSANDBOX_NO_DEPRECATED
// The old name of RunCommand(), kept for one release (0.2): an unqualified
// `Run(...)` inside a gtest TEST body finds testing::Test::Run instead.
[[deprecated("procsandbox::Run is now procsandbox::RunCommand")]] inline absl::
    StatusOr<RunResult>
    Run(Manager& manager, Command command) {
  return RunCommand(manager, std::move(command));
}
#endif

// "exited 0 in 12ms, stdout 42 bytes, stderr 0 bytes".
PROCSANDBOX_EXPORT std::string ToString(const RunResult& result);

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::RunResult)

#endif  // PROCSANDBOX_RUN_H_
