// tool_runner/tool_runner.h: an example host component that builds projects
// with `make` for its users' requests, through the procsandbox sandbox layer.
//
// `ToolRunner` depends only on `procsandbox::Manager&`: production passes an
// OS manager, unit tests the in-memory `procsandbox::MemoryManager` (see
// tool_runner_test.cc) or a `procsandbox_testing::MockManager`. Over it, it
// builds one `procsandbox::Sandbox` whose `SandboxPolicy` does the usual host
// duties: an environment from an allowlist (credentials never pass), only the
// `make` it expects (resolved, checked against an allowlist), capped output,
// and at most a few builds at once with a bounded queue. It maps each
// `SandboxStatus` to a report that tells the outcomes a user cares about
// apart.
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
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/environment.h"
#include "procsandbox/manager.h"
#include "procsandbox/sandbox.h"
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
  // Who asked: builds are counted per user when
  // ToolRunnerOptions::max_builds_per_user is set (then it must not be
  // empty).
  std::string user;
};

enum class BuildStatus {
  kSucceeded,    // make exited 0
  kFailed,       // make exited non-zero, died of a signal, or was stopped
  kTimedOut,     // time_limit passed
  kOutOfMemory,  // memory_limit_bytes exceeded
  kRefused,      // the policy refused the program (BuildReport::violation)
  kBusy,         // too many builds running and waiting, in all or for this
                 // user: try again later
  kToolMissing,  // make is not installed (not found on the PATH)
  kError,        // anything else that kept make from running
};

// "succeeded", "failed", "timed out", "out of memory", "refused", "busy",
// "tool missing", "error".
absl::string_view BuildStatusName(BuildStatus status);
std::ostream& operator<<(std::ostream& os, BuildStatus status);

struct BuildReport {
  BuildStatus status = BuildStatus::kError;
  // make's exit code under kFailed (-1 when a signal ended it).
  int exit_code = 0;
  // One line for people: the outcome ("exited 2 in 3s") or the error.
  std::string summary;
  // make's stdout, capped (see ToolRunnerOptions::max_output_*).
  std::string output;
  // Output was dropped at a cap (make ran on to its end).
  bool output_truncated = false;
  // The last lines of make's stderr, without '\n': what a failed build said.
  std::vector<std::string> stderr_tail;
  // How long make ran (the manager's clock).
  absl::Duration duration = absl::ZeroDuration();
  // Under kRefused: what the policy refused, and why.
  std::optional<procsandbox::SecurityViolation> violation;
};

struct ToolRunnerOptions {
  // The build tool, looked up on `path`.
  std::string tool = "make";
  // The PATH of the tool's environment.
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  // The only programs `tool` may resolve to (absolute, symlinks resolved).
  std::vector<std::string> allowed_tools = {"/usr/bin/make"};
  // Host variables the tool sees besides PATH (names or `PREFIX*`); names
  // that look like credentials are dropped even when listed.
  std::vector<std::string> host_env_allowlist = {"LANG", "LC_*", "TZ"};
  // How many stderr lines a report keeps.
  std::size_t stderr_tail_lines = 20;
  // Caps on captured stdout + stderr together; the rest is dropped.
  int64_t max_output_bytes = int64_t{1} << 20;
  int64_t max_output_lines = 10'000;
  // Builds at once, and builds waiting for a slot (one more: kBusy).
  std::size_t max_concurrent_builds = 2;
  std::size_t max_queued_builds = 16;
  // Builds of one user (BuildRequest::user) at once; one more is refused at
  // once (kBusy) rather than waiting. Unset: no per-user cap.
  std::optional<int64_t> max_builds_per_user;
  // SIGTERM -> SIGKILL grace when the time limit passes.
  absl::Duration kill_grace = absl::Seconds(2);

  // For tests: where programs are looked up (null: the host's file system),
  // and the host environment to take variables from (nullopt: this
  // process's).
  std::shared_ptr<const procsandbox::ProgramResolver> resolver;
  std::optional<procsandbox::Environment> host_env;
};

// Runs builds. Thread-safe: builds may be asked for from many threads at
// once; the sandbox runs them in arrival order, a few at a time.
class ToolRunner {
 public:
  // `manager` must outlive the runner.
  explicit ToolRunner(procsandbox::Manager& manager,
                      ToolRunnerOptions options = {});

  // Runs the build to its end (waiting for a slot first) and reports how it
  // went.
  BuildReport Build(const BuildRequest& request);

  // As Build(), and hands each kept line of make's output to `on_line` as it
  // arrives (from a library thread, one call at a time).
  using LineCallback =
      std::function<void(procsandbox::Stream stream, absl::string_view line)>;
  BuildReport BuildWithProgress(const BuildRequest& request,
                                LineCallback on_line);

  // The sandbox's own result of the build, for a caller that wants every
  // detail (events, usage, the violation of a refused build); Build() maps
  // it to a BuildReport.
  absl::StatusOr<procsandbox::SandboxResult> Execute(
      const BuildRequest& request);

  // The sandbox request Build() makes for `request`.
  procsandbox::RunRequest MakeRequest(const BuildRequest& request) const;

  // Running and waiting builds, for a service's status page.
  procsandbox::QueueStats Stats() const { return sandbox_.Stats(); }

 private:
  BuildReport Run(procsandbox::RunRequest request);

  ToolRunnerOptions options_;
  procsandbox::Sandbox sandbox_;
};

}  // namespace tool_runner

#endif  // TOOL_RUNNER_TOOL_RUNNER_H_
