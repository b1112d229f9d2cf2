// tool_runner/tool_runner.h: an example host component that builds projects
// with `make` through an injected procsandbox::Manager.
//
// `ToolRunner` depends only on `procsandbox::Manager&`: production passes an
// OS manager, unit tests the in-memory `procsandbox::MemoryManager` (see
// tool_runner_test.cc) or a `procsandbox::testing::MockManager`. It shows the
// usual host duties: an explicit environment (PATH only, nothing inherited
// from the host), limits from the request, captured output, and a report
// that tells the outcomes a user cares about apart.
//
// Example:
//   tool_runner::ToolRunner runner(manager);
//   tool_runner::BuildRequest request;
//   request.project_dir = "/src/app";
//   request.jobs = 4;
//   request.time_limit = absl::Minutes(5);
//   request.memory_limit_bytes = int64_t{2} << 30;
//   tool_runner::BuildReport report = runner.Build(request);
//   if (report.status == tool_runner::BuildStatus::kFailed) {
//     for (const std::string& line : report.stderr_tail) std::cerr << line;
//   }
#ifndef TOOL_RUNNER_TOOL_RUNNER_H_
#define TOOL_RUNNER_TOOL_RUNNER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/command.h"
#include "procsandbox/manager.h"
#include "procsandbox/stdio.h"

namespace tool_runner {

struct BuildRequest {
  // The directory holding the Makefile: `make -C <project_dir>`.
  std::string project_dir;
  // Parallel jobs: `-j<jobs>`.
  int jobs = 1;
  // Targets to build; empty builds the default one.
  std::vector<std::string> targets;
  // The build is stopped after this much time: BuildStatus::kTimedOut.
  absl::Duration time_limit = absl::Minutes(10);
  // Memory for the whole build; unset means no limit.
  std::optional<int64_t> memory_limit_bytes;
};

enum class BuildStatus {
  kSucceeded,    // make exited 0
  kFailed,       // make exited non-zero, or died of a signal
  kTimedOut,     // time_limit passed
  kOutOfMemory,  // memory_limit_bytes exceeded
  kToolMissing,  // make is not installed (not found on the PATH)
  kError,        // anything else that kept make from running
};

// "succeeded", "failed", "timed out", "out of memory", "tool missing",
// "error".
absl::string_view BuildStatusName(BuildStatus status);
std::ostream& operator<<(std::ostream& os, BuildStatus status);

struct BuildReport {
  BuildStatus status = BuildStatus::kError;
  // make's exit code under kFailed (-1 when a signal ended it).
  int exit_code = 0;
  // One line for people: the outcome ("exited 2 in 3s") or the error.
  std::string summary;
  // make's stdout (Build() only; capped by ToolRunnerOptions::max_output).
  std::string output;
  // The last lines of make's stderr, without '\n': what a failed build said.
  std::vector<std::string> stderr_tail;
  // How long make ran (the manager's clock).
  absl::Duration duration = absl::ZeroDuration();
};

struct ToolRunnerOptions {
  // The build tool, looked up on `path`.
  std::string tool = "make";
  // The PATH of the tool's environment: its only variable.
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  // How many stderr lines a report keeps.
  std::size_t stderr_tail_lines = 20;
  // Cap on captured stdout + stderr.
  int64_t max_output_bytes = int64_t{1} << 20;
  // SIGTERM -> SIGKILL grace when the time limit passes.
  absl::Duration kill_grace = absl::Seconds(2);
};

// Runs builds. Thread-safe: builds may run concurrently (as the manager's
// processes).
class ToolRunner {
 public:
  explicit ToolRunner(procsandbox::Manager& manager,
                      ToolRunnerOptions options = {});

  // Runs the build to its end and reports how it went.
  BuildReport Build(const BuildRequest& request);

  // As Build(), but hands each line of make's output to `on_line` as it
  // arrives (from a library thread, one call at a time) instead of
  // collecting stdout; the report's `output` stays empty.
  using LineCallback =
      std::function<void(procsandbox::Stream stream, absl::string_view line)>;
  BuildReport BuildWithProgress(const BuildRequest& request,
                                const LineCallback& on_line);

  // The command Build() runs for `request`.
  procsandbox::Command MakeCommand(const BuildRequest& request) const;

 private:
  procsandbox::Manager& manager_;
  ToolRunnerOptions options_;
};

}  // namespace tool_runner

#endif  // TOOL_RUNNER_TOOL_RUNNER_H_
