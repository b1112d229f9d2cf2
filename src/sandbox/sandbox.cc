// Sandbox and SandboxProcess (the public face of the Engine), policy
// validation, and the names and texts of the sandbox's value types.
#include "procsandbox/sandbox.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "sandbox/engine.h"
#include "sandbox/environment_policy.h"
#include "sandbox/quota.h"
#include "sandbox/workdir.h"

namespace procsandbox {
namespace {

absl::Status ValidatePatterns(absl::string_view field,
                              const std::vector<std::string>& patterns) {
  for (const std::string& p : patterns) {
    if (absl::Status s = sandbox_internal::ValidatePattern(field, p); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status PolicyError(absl::string_view field, absl::string_view why) {
  return absl::InvalidArgumentError(
      fmt::format("sandbox policy {}: {}", field, why));
}

}  // namespace

Isolation SandboxPolicy::DefaultIsolation() {
  Isolation isolation;
  isolation.drop_capabilities = true;
  return isolation;
}

absl::Status ValidateSandboxPolicy(const SandboxPolicy& policy) {
  const EnvironmentPolicy& env = policy.environment;
  if (absl::Status s = ValidatePatterns("environment.allow", env.allow);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidatePatterns("environment.deny", env.deny);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidatePatterns("environment.credential_patterns",
                                        env.credential_patterns);
      !s.ok()) {
    return s;
  }
  for (const Environment::Entry& e : policy.environment.set.entries()) {
    if (!sandbox_internal::IsValidVariableName(e.name)) {
      return PolicyError("environment.set",
                         fmt::format("bad variable name \"{}\"", e.name));
    }
  }
  for (const std::string& path : policy.programs.allow) {
    if (!absl::StartsWith(path, "/")) {
      return PolicyError(
          "programs.allow",
          fmt::format("\"{}\" is not an absolute path", absl::CEscape(path)));
    }
    if (absl::StrContains(path, '\0')) {
      // It would never match (a resolved path has none) or, cut at the NUL
      // by a resolver calling the OS, allow another file.
      return PolicyError(
          "programs.allow",
          fmt::format("\"{}\" contains a NUL byte", absl::CEscape(path)));
    }
  }
  if (policy.queue.max_concurrent == 0) {
    return PolicyError("queue.max_concurrent", "must be at least 1");
  }
  if (policy.queue.queue_timeout < absl::ZeroDuration()) {
    return PolicyError("queue.queue_timeout", "negative");
  }
  if (policy.output.max_bytes <= 0 || policy.output.max_lines <= 0) {
    return PolicyError("output", "max_bytes and max_lines must be positive");
  }
  if (policy.workdir.removal_timeout < absl::ZeroDuration()) {
    return PolicyError("workdir.removal_timeout", "negative");
  }
  if (!policy.workdir.root.empty()) {
    // Trailing slashes are accepted (and ignored); "." and ".." are not:
    // the root is checked as the directory it names, not through a link.
    absl::StatusOr<std::string> root =
        sandbox_internal::NormalizeRoot(policy.workdir.root);
    if (!root.ok()) return PolicyError("workdir.root", root.status().message());
  }
  if (absl::Status s = ValidateQuotaPolicy(policy.quota); !s.ok()) return s;
  for (const auto& [field, limits] :
       {std::pair<absl::string_view, const Limits*>{"default_limits",
                                                    &policy.default_limits},
        {"max_limits", &policy.max_limits}}) {
    if (absl::Status s = ValidateLimits(*limits); !s.ok()) {
      return PolicyError(field, s.message());
    }
  }
  return absl::OkStatus();
}

// --- Sandbox ---------------------------------------------------------------

Sandbox::Sandbox(Manager& manager, SandboxPolicy policy)
    : engine_(std::make_shared<sandbox_internal::Engine>(manager,
                                                         std::move(policy))) {}

absl::StatusOr<std::unique_ptr<Sandbox>> Sandbox::Create(Manager& manager,
                                                         SandboxPolicy policy) {
  if (absl::Status s = ValidateSandboxPolicy(policy); !s.ok()) return s;
  return std::make_unique<Sandbox>(manager, std::move(policy));
}

Sandbox::~Sandbox() {
  engine_->queue().Shutdown();
  // Every Run() has returned; a SandboxProcess still alive removes its own
  // directory from now on.
  engine_->cleaner().Shutdown();
}

absl::StatusOr<SandboxResult> Sandbox::Run(RunRequest request) {
  return engine_->Run(std::move(request));
}

absl::StatusOr<std::unique_ptr<SandboxProcess>> Sandbox::Launch(
    RunRequest request) {
  absl::StatusOr<std::unique_ptr<sandbox_internal::RunState>> run =
      engine_->Launch(std::move(request));
  if (!run.ok()) return run.status();
  auto state = std::make_unique<sandbox_internal::LaunchState>();
  state->engine = engine_;
  state->run = *std::move(run);
  return std::make_unique<SandboxProcess>(std::move(state));
}

absl::Status Sandbox::Cancel(absl::string_view id) {
  return engine_->queue().Cancel(id);
}

absl::StatusOr<std::size_t> Sandbox::Position(absl::string_view id) const {
  return engine_->queue().Position(id);
}

QueueStats Sandbox::Stats() const { return engine_->queue().Stats(); }

absl::StatusOr<QuotaKeyStats> Sandbox::KeyStats(absl::string_view key) const {
  if (!engine_->queue().quotas_enabled()) {
    return absl::FailedPreconditionError(
        fmt::format("quota stats of key \"{}\": quotas are not enabled", key));
  }
  return engine_->queue().KeyStats(key);
}

absl::Status Sandbox::WaitForCleanup(absl::Duration timeout) {
  return engine_->cleaner().WaitForPending(timeout);
}

const SandboxPolicy& Sandbox::policy() const { return engine_->policy(); }

Manager& Sandbox::manager() const { return engine_->manager(); }

// --- SandboxProcess ----------------------------------------------------------

SandboxProcess::SandboxProcess(std::unique_ptr<sandbox_internal::LaunchState> s)
    : state_(std::move(s)) {}

SandboxProcess::~SandboxProcess() { (void)Finish(absl::ZeroDuration()); }

const std::string& SandboxProcess::id() const {
  return state_->run->request.id;
}

Process& SandboxProcess::process() { return *state_->run->process; }

absl::StatusOr<SandboxResult> SandboxProcess::Finish(absl::Duration grace) {
  if (state_->result.has_value()) return *state_->result;
  const sandbox_internal::FakeHostCall busy(state_->engine->fake());
  Process& p = *state_->run->process;
  (void)p.CloseStdin();
  if (!p.WaitFor(grace).ok()) (void)p.Terminate();
  state_->result = state_->engine->Finish(*state_->run);
  return *state_->result;
}

// --- Names and texts ---------------------------------------------------------

absl::string_view SandboxEventKindName(SandboxEvent::Kind kind) {
  switch (kind) {
    case SandboxEvent::Kind::kQueued:
      return "queued";
    case SandboxEvent::Kind::kStarted:
      return "started";
    case SandboxEvent::Kind::kLimitApplied:
      return "limit_applied";
    case SandboxEvent::Kind::kLimitDegraded:
      return "limit_degraded";
    case SandboxEvent::Kind::kOutputTruncated:
      return "output_truncated";
    case SandboxEvent::Kind::kExited:
      return "exited";
    case SandboxEvent::Kind::kRejected:
      return "rejected";
    case SandboxEvent::Kind::kCancelled:
      return "cancelled";
    case SandboxEvent::Kind::kCleanupFailed:
      return "cleanup_failed";
    case SandboxEvent::Kind::kQuotaExceeded:
      return "quota_exceeded";
    case SandboxEvent::Kind::kVerified:
      return "verified";
    case SandboxEvent::Kind::kVerifyFailed:
      return "verify_failed";
    case SandboxEvent::Kind::kAuditFailed:
      return "audit_failed";
  }
  return "unknown";
}

absl::string_view VerifyPolicyName(VerifyPolicy policy) {
  switch (policy) {
    case VerifyPolicy::kOff:
      return "off";
    case VerifyPolicy::kReport:
      return "report";
    case VerifyPolicy::kRefuse:
      return "refuse";
  }
  return "unknown";
}

absl::string_view WorkdirCleanupName(WorkdirCleanup c) {
  switch (c) {
    case WorkdirCleanup::kNone:
      return "none";
    case WorkdirCleanup::kRemoved:
      return "removed";
    case WorkdirCleanup::kPending:
      return "pending";
    case WorkdirCleanup::kKept:
      return "kept";
    case WorkdirCleanup::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::string_view SandboxStatusName(SandboxStatus status) {
  switch (status) {
    case SandboxStatus::kCompleted:
      return "completed";
    case SandboxStatus::kFailed:
      return "failed";
    case SandboxStatus::kTimedOut:
      return "timed_out";
    case SandboxStatus::kLimitExceeded:
      return "limit_exceeded";
    case SandboxStatus::kCancelled:
      return "cancelled";
    case SandboxStatus::kRejected:
      return "rejected";
    case SandboxStatus::kError:
      return "error";
  }
  return "unknown";
}

absl::string_view OutputCapName(OutputCap cap) {
  switch (cap) {
    case OutputCap::kNone:
      return "none";
    case OutputCap::kBytes:
      return "bytes";
    case OutputCap::kLines:
      return "lines";
  }
  return "unknown";
}

SandboxStatus StatusOf(const Outcome& outcome) {
  switch (outcome.reason) {
    case ExitReason::kExited:
      return outcome.exit_code == 0 ? SandboxStatus::kCompleted
                                    : SandboxStatus::kFailed;
    case ExitReason::kSignaled:
    case ExitReason::kSeccompViolation:
    case ExitReason::kNodeFailed:
    case ExitReason::kPreempted:
      return SandboxStatus::kFailed;
    case ExitReason::kTimedOut:
      return SandboxStatus::kTimedOut;
    case ExitReason::kCpuTimeExceeded:
    case ExitReason::kMemoryExceeded:
    case ExitReason::kFileSizeExceeded:
    case ExitReason::kOutputExceeded:
      return SandboxStatus::kLimitExceeded;
    case ExitReason::kCancelled:
      return SandboxStatus::kCancelled;
  }
  return SandboxStatus::kFailed;
}

SandboxStatus StatusOf(const absl::StatusOr<SandboxResult>& result) {
  if (result.ok()) return result->status;
  switch (result.status().code()) {
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDeadlineExceeded:
      return SandboxStatus::kRejected;
    case absl::StatusCode::kCancelled:
      return SandboxStatus::kCancelled;
    default:
      return SandboxStatus::kError;
  }
}

std::string ToString(const SandboxEvent& event) {
  return fmt::format("{} {}: {}", event.run_id,
                     SandboxEventKindName(event.kind), event.detail);
}

std::string ToString(const SandboxResult& result) {
  std::string text = fmt::format("{} {}: {}, stdout {} bytes", result.id,
                                 SandboxStatusName(result.status),
                                 result.outcome, result.stdout_.size());
  if (result.stdout_truncated) text += " (truncated)";
  text += fmt::format(", stderr {} bytes", result.stderr_.size());
  if (result.stderr_truncated) text += " (truncated)";
  if (result.workdir_kept) {
    text += fmt::format(", workdir kept at {}", result.workdir);
  }
  return text;
}

std::string ToString(const QueueStats& stats) {
  std::string text = fmt::format(
      "{}/{} running, {}/{} queued, {} completed, {} rejected, {} cancelled, "
      "average {}, estimated wait {}",
      stats.running, stats.max_concurrent, stats.pending, stats.max_queued,
      stats.completed, stats.rejected, stats.cancelled,
      procsandbox::FormatDuration(stats.average_run_time),
      procsandbox::FormatDuration(stats.estimated_wait));
  if (stats.tracked_keys > 0 || stats.quota_rejected > 0) {
    text += fmt::format(", {} keys tracked, {} rejected by quota",
                        stats.tracked_keys, stats.quota_rejected);
  }
  return text;
}

}  // namespace procsandbox
