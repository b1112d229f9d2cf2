#include "tool_runner/tool_runner.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "procsandbox/environment.h"
#include "procsandbox/outcome.h"

namespace tool_runner {
namespace {

// The service's rules, as a sandbox policy.
procsandbox::SandboxPolicy MakePolicy(const ToolRunnerOptions& options) {
  procsandbox::SandboxPolicy policy;
  // Nothing of the host's environment (tokens, proxies) leaks in but the
  // allowlisted names; PATH is ours.
  policy.environment.mode = procsandbox::EnvironmentPolicy::Mode::kAllowlist;
  policy.environment.allow = options.host_env_allowlist;
  policy.environment.host = options.host_env;
  policy.environment.set = procsandbox::Environment{{"PATH", options.path}};
  // Only the make we expect: a different one earlier on the PATH is refused,
  // and so are shells and privilege tools (the policy's defaults).
  policy.programs.allow = options.allowed_tools;
  policy.programs.resolver = options.resolver;
  policy.output.max_bytes = options.max_output_bytes;
  policy.output.max_lines = options.max_output_lines;
  policy.queue.max_concurrent = options.max_concurrent_builds;
  policy.queue.max_queued = options.max_queued_builds;
  if (options.max_builds_per_user.has_value()) {
    policy.quota.enabled = true;
    policy.quota.default_quota.max_concurrent = options.max_builds_per_user;
    policy.quota.default_quota.max_queued = 0;  // refused, not queued
  }
  return policy;
}

// The last `count` lines of `text`, without their '\n'.
std::vector<std::string> LastLines(absl::string_view text, std::size_t count) {
  absl::ConsumeSuffix(&text, "\n");
  if (text.empty()) return {};
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (lines.size() > count) {
    lines.erase(lines.begin(),
                lines.end() - static_cast<std::ptrdiff_t>(count));
  }
  return lines;
}

BuildStatus StatusFor(
    const absl::StatusOr<procsandbox::SandboxResult>& result) {
  switch (procsandbox::StatusOf(result)) {
    case procsandbox::SandboxStatus::kCompleted:
      return BuildStatus::kSucceeded;
    case procsandbox::SandboxStatus::kFailed:
    case procsandbox::SandboxStatus::kCancelled:  // stopped from outside
      return BuildStatus::kFailed;
    case procsandbox::SandboxStatus::kTimedOut:
      return BuildStatus::kTimedOut;
    case procsandbox::SandboxStatus::kLimitExceeded:  // memory, CPU, file size
      return result->outcome.reason == procsandbox::ExitReason::kMemoryExceeded
                 ? BuildStatus::kOutOfMemory
                 : BuildStatus::kFailed;
    case procsandbox::SandboxStatus::kRejected:  // nothing ran
      if (procsandbox::GetSecurityViolation(result.status())) {
        return BuildStatus::kRefused;
      }
      return result.status().code() == absl::StatusCode::kResourceExhausted
                 ? BuildStatus::kBusy  // the queue is full, or the user's cap
                 : BuildStatus::kError;
    case procsandbox::SandboxStatus::kError:
      return result.status().code() == absl::StatusCode::kNotFound
                 ? BuildStatus::kToolMissing
                 : BuildStatus::kError;
  }
  return BuildStatus::kError;
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
    case BuildStatus::kRefused:
      return "refused";
    case BuildStatus::kBusy:
      return "busy";
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
    : options_(std::move(options)), sandbox_(manager, MakePolicy(options_)) {}

procsandbox::RunRequest ToolRunner::MakeRequest(
    const BuildRequest& request) const {
  procsandbox::RunRequest run;
  run.program = options_.tool;
  run.args = {"-C", request.project_dir,
              absl::StrCat("-j", std::max(1, request.jobs))};
  run.args.insert(run.args.end(), request.targets.begin(),
                  request.targets.end());
  run.limits.wall_time = request.time_limit;
  run.limits.memory_bytes = request.memory_limit_bytes;
  run.kill_grace = options_.kill_grace;
  run.name = absl::StrCat("build ", request.project_dir);
  run.quota_key = request.user;
  run.principal = request.user;
  return run;
}

absl::StatusOr<procsandbox::SandboxResult> ToolRunner::Execute(
    const BuildRequest& request) {
  return sandbox_.Run(MakeRequest(request));
}

BuildReport ToolRunner::Build(const BuildRequest& request) {
  return Run(MakeRequest(request));
}

BuildReport ToolRunner::BuildWithProgress(const BuildRequest& request,
                                          LineCallback on_line) {
  procsandbox::RunRequest run = MakeRequest(request);
  run.on_line = std::move(on_line);
  return Run(std::move(run));
}

BuildReport ToolRunner::Run(procsandbox::RunRequest request) {
  const absl::StatusOr<procsandbox::SandboxResult> result =
      sandbox_.Run(std::move(request));
  BuildReport report;
  report.status = StatusFor(result);
  if (!result.ok()) {
    // Nothing ran: the message says why (never a secret's value).
    const absl::Status& error = result.status();
    report.summary.assign(error.message().data(), error.message().size());
    report.violation = procsandbox::GetSecurityViolation(error);
    return report;
  }
  report.exit_code = result->outcome.exit_code;
  report.summary = procsandbox::ToString(result->outcome);
  report.output = result->stdout_;
  report.output_truncated =
      result->truncated_by != procsandbox::OutputCap::kNone;
  report.stderr_tail = LastLines(result->stderr_, options_.stderr_tail_lines);
  report.duration = result->wall_time;
  return report;
}

}  // namespace tool_runner
