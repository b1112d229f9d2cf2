#include "tool_runner/tool_runner.h"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "procsandbox/environment.h"
#include "procsandbox/outcome.h"
#include "procsandbox/run.h"

namespace tool_runner {
namespace {

// Keeps the last lines handed to it. Stdio::Lines callbacks run on a library
// thread, so the lines are guarded.
class LineTail {
 public:
  explicit LineTail(std::size_t capacity) : capacity_(capacity) {}

  void Add(absl::string_view line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.emplace_back(line);
    if (lines_.size() > capacity_) lines_.pop_front();
  }
  std::vector<std::string> Lines() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {lines_.begin(), lines_.end()};
  }

 private:
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::deque<std::string> lines_;
};

// The last `count` lines of `text`, without their '\n'.
std::vector<std::string> LastLines(absl::string_view text, std::size_t count) {
  LineTail tail(count);
  if (absl::EndsWith(text, "\n")) text.remove_suffix(1);
  if (text.empty()) return {};
  for (absl::string_view line : absl::StrSplit(text, '\n')) tail.Add(line);
  return tail.Lines();
}

BuildStatus StatusFor(const procsandbox::Outcome& outcome) {
  switch (outcome.reason) {
    case procsandbox::ExitReason::kExited:
      return outcome.exit_code == 0 ? BuildStatus::kSucceeded
                                    : BuildStatus::kFailed;
    case procsandbox::ExitReason::kTimedOut:
      return BuildStatus::kTimedOut;
    case procsandbox::ExitReason::kMemoryExceeded:
      return BuildStatus::kOutOfMemory;
    case procsandbox::ExitReason::kSignaled:
    case procsandbox::ExitReason::kCpuTimeExceeded:
    case procsandbox::ExitReason::kFileSizeExceeded:
    case procsandbox::ExitReason::kOutputExceeded:
    case procsandbox::ExitReason::kCancelled:
      return BuildStatus::kFailed;
  }
  return BuildStatus::kFailed;
}

// Maps what Run() returned to a report. A start failure is an error Status
// (NotFound: the tool is not installed); a run, whatever its end, an Outcome.
BuildReport ReportFor(const absl::StatusOr<procsandbox::RunResult>& result,
                      std::vector<std::string> stderr_tail) {
  BuildReport report;
  if (!result.ok()) {
    const absl::Status& error = result.status();
    report.status = error.code() == absl::StatusCode::kNotFound
                        ? BuildStatus::kToolMissing
                        : BuildStatus::kError;
    report.summary.assign(error.message().data(), error.message().size());
    return report;
  }
  const procsandbox::Outcome& outcome = result->outcome;
  report.status = StatusFor(outcome);
  report.exit_code = outcome.exit_code;
  report.summary = procsandbox::ToString(outcome);
  report.stderr_tail = std::move(stderr_tail);
  report.duration = outcome.wall_time;
  return report;
}

}  // namespace

absl::string_view BuildStatusName(BuildStatus status) {
  switch (status) {
    case BuildStatus::kSucceeded:
      return "succeeded";
    case BuildStatus::kFailed:
      return "failed";
    case BuildStatus::kTimedOut:
      return "timed out";
    case BuildStatus::kOutOfMemory:
      return "out of memory";
    case BuildStatus::kToolMissing:
      return "tool missing";
    case BuildStatus::kError:
      return "error";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, BuildStatus status) {
  return os << BuildStatusName(status);
}

ToolRunner::ToolRunner(procsandbox::Manager& manager, ToolRunnerOptions options)
    : manager_(manager), options_(std::move(options)) {}

procsandbox::Command ToolRunner::MakeCommand(
    const BuildRequest& request) const {
  procsandbox::Command command(options_.tool,
                               {"-C", request.project_dir,
                                absl::StrCat("-j", std::max(1, request.jobs))});
  command.args.insert(command.args.end(), request.targets.begin(),
                      request.targets.end());
  // Only PATH: nothing of the host's environment (tokens, proxies) leaks in.
  command.env = procsandbox::Environment{{"PATH", options_.path}};
  command.limits.wall_time = request.time_limit;
  command.limits.memory_bytes = request.memory_limit_bytes;
  command.limits.output_bytes = options_.max_output_bytes;
  command.kill_grace = options_.kill_grace;
  command.name = absl::StrCat("build ", request.project_dir);
  return command;
}

BuildReport ToolRunner::Build(const BuildRequest& request) {
  // Run() captures stdout and stderr by default.
  absl::StatusOr<procsandbox::RunResult> result =
      procsandbox::Run(manager_, MakeCommand(request));
  if (!result.ok()) return ReportFor(result, {});
  BuildReport report =
      ReportFor(result, LastLines(result->stderr_, options_.stderr_tail_lines));
  report.output = std::move(result->stdout_);
  return report;
}

BuildReport ToolRunner::BuildWithProgress(const BuildRequest& request,
                                          const LineCallback& on_line) {
  procsandbox::Command command = MakeCommand(request);
  // Shared: the command (and its callbacks) may outlive this call in the
  // manager's bookkeeping.
  auto tail = std::make_shared<LineTail>(options_.stderr_tail_lines);
  command.stdout_ =
      procsandbox::Stdio::Lines([on_line](absl::string_view line) {
        if (on_line) on_line(procsandbox::Stream::kStdout, line);
      });
  command.stderr_ =
      procsandbox::Stdio::Lines([on_line, tail](absl::string_view line) {
        tail->Add(line);
        if (on_line) on_line(procsandbox::Stream::kStderr, line);
      });
  absl::StatusOr<procsandbox::RunResult> result =
      procsandbox::Run(manager_, std::move(command));
  return ReportFor(result, tail->Lines());
}

}  // namespace tool_runner
