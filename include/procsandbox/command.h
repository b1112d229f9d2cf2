// procsandbox/command.h: what to run, and how.
//
// A `Command` is a plain value, set field by field. It names the program and
// its arguments, the exact environment, the working directory, the three
// standard streams, the limits (merged over the manager's defaults), how long
// a graceful stop may take, and the isolation of the child.
//
// Example:
//   procsandbox::Command cmd("cc", {"-c", "main.c"});
//   cmd.env = {{"PATH", "/usr/bin:/bin"}};
//   cmd.working_dir = "/tmp/build";
//   cmd.limits.wall_time = absl::Seconds(30);
//   cmd.kill_grace = absl::Milliseconds(500);
//   cmd.name = "compile main.c";
#ifndef PROCSANDBOX_COMMAND_H_
#define PROCSANDBOX_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "procsandbox/environment.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"
#include "procsandbox/monitor.h"
#include "procsandbox/stdio.h"

namespace procsandbox {

// What the library does when captured output reaches Limits::output_bytes.
enum class OutputLimitAction {
  // Keep the first output_bytes bytes, read and drop the rest, mark the
  // capture truncated. The program runs on.
  kTruncate,
  // As kTruncate, and stop the process (TERM, then KILL after the grace): the
  // outcome is kOutputExceeded — also when the program had already exited
  // (with any status) before the stop reached it: output was dropped, so the
  // run never reads as a clean exit. Only other evidence of the end is
  // reported instead: an earlier deadline or cancel, a limit's signal (CPU,
  // file size), the OOM killer, a signal the host sent.
  kStop,
};

// The grace between SIGTERM and SIGKILL when nothing else is said.
inline constexpr absl::Duration kDefaultKillGrace = absl::Seconds(1);

struct PROCSANDBOX_EXPORT Command {
  Command() = default;
  // (Parameter names differ from the members for -Wshadow.)
  explicit Command(std::string program_path,
                   std::vector<std::string> arguments = {})
      : program(std::move(program_path)), args(std::move(arguments)) {}

  // The program: a path (it contains '/'), or a name looked up in the PATH of
  // `env` (execvpe semantics; "/usr/local/bin:/usr/bin:/bin" when env has no
  // PATH). Never run through a shell.
  std::string program;
  // argv[1..]; argv[0] is `program` as given.
  std::vector<std::string> args;
  // Exactly the child's environment; see environment.h.
  Environment env;
  // The child's working directory; empty = the host's.
  std::string working_dir;
  // The standard streams; see stdio.h. (Trailing underscores because stdin,
  // stdout and stderr are macros in C.)
  Stdio stdin_;
  Stdio stdout_;
  Stdio stderr_;
  // Merged over the manager's defaults at Start().
  Limits limits;
  // SIGTERM -> SIGKILL grace for Terminate() and for limits that stop the
  // process (wall_time, output). Zero: SIGKILL at once.
  absl::Duration kill_grace = kDefaultKillGrace;
  // What happens at Limits::output_bytes.
  OutputLimitAction on_output_limit = OutputLimitAction::kTruncate;
  Isolation isolation;
  // Live usage sampling while it runs (monitor.h); off by default.
  Monitoring monitor;
  // A label for List(), logs and history; defaults to `program`.
  std::string name;

  // `name`, or `program` when it is empty.
  const std::string& label() const { return name.empty() ? program : name; }

  friend PROCSANDBOX_EXPORT bool operator==(const Command& a, const Command& b);
  friend bool operator!=(const Command& a, const Command& b) {
    return !(a == b);
  }
};

// OK, or InvalidArgument naming the first thing wrong, before anything is
// started: empty program; a NUL byte in the program, an argument, the working
// directory or an environment entry; a bad environment name; an invalid limit
// (ValidateLimits); a stream kind the stream does not accept (ValidateStdio);
// a negative kill_grace; an invalid isolation (ValidateIsolation); a
// monitor interval under 1 ms or max_samples under 2. Never
// shows a secret.
PROCSANDBOX_EXPORT absl::Status ValidateCommand(const Command& command);

// `program arg1 'arg with space' $'line\n'`, POSIX-shell-quoted for reading
// (never executed).
PROCSANDBOX_EXPORT std::string FormatArgv(const Command& command);

// "truncate", "stop".
PROCSANDBOX_EXPORT absl::string_view OutputLimitActionName(
    OutputLimitAction action);

// `cc -c main.c (cwd "/tmp/build", env {PATH=...}, limits {...})`: the argv,
// then the parts that differ from a default Command; stdin data never shown,
// nor a secret's value wherever it appears (`--token=<redacted>`; a program
// found on a secret PATH: `<redacted>/tool`).
PROCSANDBOX_EXPORT std::string ToString(const Command& command);

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::Command)

#endif  // PROCSANDBOX_COMMAND_H_
