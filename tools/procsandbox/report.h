// What `procsandbox` reports: the exit status, the one-line summary, and the
// JSON result of a run (field names are stable; README documents them).
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_REPORT_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "procsandbox/procsandbox.h"

namespace procsandbox::cli {

// Exit statuses of the command (shell and coreutils conventions).
inline constexpr int kExitTimedOut = 124;
inline constexpr int kExitToolFailed = 125;
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;
// --verify=refuse found a limit weaker than asked (or could not read them
// back) and killed the program.
inline constexpr int kExitVerifyRefused = 123;

// What --verify found right after the start.
struct VerifyReport {
  VerifyPolicy policy = VerifyPolicy::kOff;
  std::optional<Verification> verification;
  std::string error;     // why it could not be read; empty when it was
  bool refused = false;  // --verify=refuse stopped the program
};
// The JSON of `report`: null without --verify; else policy, ok (null when
// nothing could be read), all_verified, refused, summary, error, and the
// checks (item, asked, found, source, result, detail).
nlohmann::ordered_json VerificationJson(const VerifyReport& report);

// The program's exit code; 128+N when a signal N ended it (128+SIGSYS for a
// seccomp kill, 128+SIGKILL for a memory kill reported without a signal);
// 124 on timeout; 125 for a cluster job whose node failed or that was
// preempted with neither a signal nor an exit code.
int ExitStatusOf(const Outcome& outcome);
// 127 when the program was not found, 126 when found but not executable,
// 125 otherwise (procsandbox itself failed).
int ExitStatusOfStartFailure(const absl::Status& status);

// The JSON of a run that started; `error`: what procsandbox failed to do
// meanwhile (pass output on), empty for none. `samples`: the outcome's.
nlohmann::ordered_json ResultJson(const Outcome& outcome, Pid pid,
                                  const Enforcement& enforcement,
                                  const ResourceUsage& usage,
                                  const std::string& error = "");
// The limits set, by their JSON names ("memory_bytes", "wall_time_s").
nlohmann::ordered_json LimitsJson(const Limits& limits);
// One sample of the timeline: elapsed_ms, time, user_ms, system_ms,
// cpu_percent, memory_bytes, peak_memory_bytes, processes, stdout_bytes,
// stderr_bytes, state.
nlohmann::ordered_json SampleJson(const UsageSample& sample);

// The summary line (without "procsandbox: "): the outcome, and the forks
// and threads the processes limit refused.
std::string Summary(const Outcome& outcome, const ResourceUsage& usage);
// One line (without "procsandbox: ") per requested limit that nothing
// enforces, or that a weaker mechanism enforces than the one `capabilities`
// says this host has for it (RLIMIT_AS standing in for a memory cgroup that
// could not be made); and one per requested isolation mechanism that is not
// in force (no_new_privs aside: best effort).
std::vector<std::string> EnforcementWarnings(const Enforcement& enforcement,
                                             const Capabilities& capabilities);
// The JSON of a run that could not start: what the host could give for
// each limit and isolation mechanism of `command`.
nlohmann::ordered_json StartFailureJson(const absl::Status& status,
                                        const Command& command,
                                        const Capabilities& capabilities);

// The JSON of a run that signal `signal`, taken before the program
// started, ended: status "cancelled", pid null, the signal in "error".
nlohmann::ordered_json CancelledBeforeStartJson(
    int signal, const Command& command, const Capabilities& capabilities);

// `json` as text, indented, with a newline. Always UTF-8: the bytes of a
// string that are not (a path, an argument, a cgroup name) are replaced, each
// invalid sequence by U+FFFD, as Python's bytes.decode("utf-8", "replace").
std::string JsonText(const nlohmann::ordered_json& json);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_REPORT_H_
