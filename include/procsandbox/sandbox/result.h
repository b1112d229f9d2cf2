// procsandbox/sandbox/result.h: what a Sandbox reports about its runs.
//
// `SandboxResult` is what Run() and SandboxProcess::Finish() return for a
// program that ran: a `SandboxStatus` a service can map to directly, the
// Outcome, the kept output, times, the working directory's fate. `StatusOf()`
// gives the status of a result or of the error Run() returned instead.
// `SandboxEvent` is each step as it happens (SandboxPolicy::on_event), and
// `QueueStats` the queue at one instant (Sandbox::Stats()).
//
// Naming: the result type is `SandboxResult` (not `RunResult`, which is what
// the plain `procsandbox::RunCommand()` of run.h returns).
//
// Example:
//   absl::StatusOr<procsandbox::SandboxResult> r = sandbox.Run(request);
//   switch (procsandbox::StatusOf(r)) {
//     case procsandbox::SandboxStatus::kCompleted: Reply(r->stdout_); break;
//     case procsandbox::SandboxStatus::kRejected: Refuse(r.status()); break;
//     default: Fail(r.ok() ? procsandbox::ToString(*r) :
//     r.status().ToString());
//   }
#ifndef PROCSANDBOX_SANDBOX_RESULT_H_
#define PROCSANDBOX_SANDBOX_RESULT_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/sandbox/quota.h"
#include "procsandbox/verification.h"

namespace procsandbox {

// Something the sandbox did, for the host's logs and metrics. Texts never
// contain a secret's value.
struct PROCSANDBOX_EXPORT SandboxEvent {
  enum class Kind {
    kQueued,           // entered the queue (detail: ticket, and position
                       // or "starts at once")
    kStarted,          // the program started (detail: the command)
    kLimitApplied,     // a limit in force (detail: "memory_bytes: cgroup-v2
                       // ..."); a ceiling's cap comes after kQueued
    kLimitDegraded,    // a limit asked for and not enforced here (why)
    kOutputTruncated,  // a cap was reached (detail: which)
    kExited,           // the program ended (detail: the outcome, or why
                       // waiting for it failed)
    kRejected,         // refused before running (detail: why)
    kCancelled,        // cancelled while queued or running
    kCleanupFailed,    // the working directory could not be removed (why)
    kQuotaExceeded,    // refused by its key's quota (detail: which, and
                       // when to retry for a rate)
    kVerified,         // its limits were read back after start (detail:
                       // the summary, or every mismatch)
    kVerifyFailed,     // they could not be read back (detail: why)
    kAuditFailed,      // the audit sink failed for this run (detail: why)
  };
  Kind kind = Kind::kQueued;
  std::string run_id;
  // The run's RunRequest::quota_key ("" without quotas).
  std::string quota_key;
  absl::Time time;  // the manager's clock
  std::string detail;

  friend bool operator==(const SandboxEvent& a, const SandboxEvent& b) {
    return a.kind == b.kind && a.run_id == b.run_id &&
           a.quota_key == b.quota_key && a.time == b.time &&
           a.detail == b.detail;
  }
  friend bool operator!=(const SandboxEvent& a, const SandboxEvent& b) {
    return !(a == b);
  }
};
// "queued", "started", "limit_applied", "limit_degraded", "output_truncated",
// "exited", "rejected", "cancelled", "cleanup_failed", "quota_exceeded",
// "verified", "verify_failed", "audit_failed".
PROCSANDBOX_EXPORT absl::string_view SandboxEventKindName(
    SandboxEvent::Kind kind);

// What a service can map a run to directly.
enum class SandboxStatus {
  kCompleted,      // exited 0
  kFailed,         // exited non-zero, or killed by a signal nobody sent
  kTimedOut,       // wall_time passed
  kLimitExceeded,  // cpu time, memory, file size or output (kStop)
  kCancelled,      // Cancel(), or the host stopped it
  kRejected,       // refused before running: policy, queue full, queue timeout
  kError,          // the library could not run it (start failed, workdir)
};
// "completed", "failed", "timed_out", "limit_exceeded", "cancelled",
// "rejected", "error".
PROCSANDBOX_EXPORT absl::string_view SandboxStatusName(SandboxStatus status);
// The status of an outcome (the program ran).
PROCSANDBOX_EXPORT SandboxStatus StatusOf(const Outcome& outcome);

// Which cap cut the output.
enum class OutputCap { kNone, kBytes, kLines };
// "none", "bytes", "lines".
PROCSANDBOX_EXPORT absl::string_view OutputCapName(OutputCap cap);

// What became of a run's working directory when the result was made.
enum class WorkdirCleanup {
  kNone,     // no directory (no WorkdirPolicy::root)
  kRemoved,  // removed before the result was returned
  kPending,  // handed to the background cleaner (remove_in_background); a
             // failure comes later as a kCleanupFailed event, not here
  kKept,     // kept on purpose (keep_on_failure)
  kFailed,   // removal failed or timed out: kept, cleanup_status says why
};
// "none", "removed", "pending", "kept", "failed".
PROCSANDBOX_EXPORT absl::string_view WorkdirCleanupName(WorkdirCleanup c);

struct PROCSANDBOX_EXPORT SandboxResult {
  std::string id;
  SandboxStatus status = SandboxStatus::kCompleted;
  Outcome outcome;  // a sandbox stop for output is kOutputExceeded
  Pid pid = 0;
  // Kept output; every kept line ends with '\n' (a last line without one
  // gets one), a line cut at the byte cap does not.
  std::string stdout_;
  std::string stderr_;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  OutputCap truncated_by = OutputCap::kNone;
  int64_t stdout_lines = 0;
  int64_t stderr_lines = 0;
  // From the outcome: wall time, user+system CPU, peak memory.
  absl::Duration wall_time = absl::ZeroDuration();
  absl::Duration cpu_time = absl::ZeroDuration();
  int64_t peak_memory_bytes = 0;
  Enforcement enforcement;
  // The resolved program, and host variables dropped by the policy (names).
  // A secret's value in the path (a secret PATH's directory) is redacted.
  std::string program_path;
  std::vector<std::string> dropped_env;
  // The run's directory ("" without a root); kept only when
  // WorkdirPolicy::keep_on_failure applied, or its removal failed. Redacted
  // as program_path.
  std::string workdir;
  // kKept or kFailed (not known yet for kPending).
  bool workdir_kept = false;
  WorkdirCleanup cleanup = WorkdirCleanup::kNone;
  // Why the directory could not be removed (kFailed; also a kCleanupFailed
  // event). OK otherwise, kPending included: that outcome is not known yet.
  absl::Status cleanup_status;
  // The manager's clock.
  absl::Time queued_at;
  absl::Time started_at;
  absl::Time finished_at;
  absl::Duration queue_time = absl::ZeroDuration();
  // Arrival order in the queue (1, 2, ...).
  uint64_t ticket = 0;
  // SandboxPolicy::verify on: what Process::Verify() read right after the
  // start; nullopt when off, or when it could not be read (verify_status
  // says why: the program had already ended, ...).
  std::optional<Verification> verification;
  absl::Status verify_status;
  // SandboxPolicy::audit set: why the sink failed for this run's record
  // (also a kAuditFailed event); OK otherwise.
  absl::Status audit_status;

  bool ok() const { return status == SandboxStatus::kCompleted; }
};

// The status of what Run() returned: the result's, or for an error
// kRejected (PermissionDenied, InvalidArgument, ResourceExhausted,
// DeadlineExceeded), kCancelled (Cancelled) or kError (anything else).
PROCSANDBOX_EXPORT SandboxStatus
StatusOf(const absl::StatusOr<SandboxResult>& result);

struct PROCSANDBOX_EXPORT QueueStats {
  // Runs holding one of the max_concurrent slots (never more): from
  // admission (Position() 0) until the run leaves the queue. That covers
  // making its working directory, starting, running, a launched process
  // until SandboxProcess::Finish() (or its destruction) returns, the
  // removal of its directory when synchronous (remove_in_background false)
  // and its audit record. A background removal holds no slot: the run
  // leaves once it has handed its directory over. A run refused after
  // admission (its start failed, VerifyPolicy::kRefuse) counts until its
  // refusal is reported.
  std::size_t running = 0;
  // Runs waiting for a slot (Position() 1 and up).
  std::size_t pending = 0;
  std::size_t max_concurrent = 0;
  std::size_t max_queued = 0;
  uint64_t completed = 0;       // runs that ran and ended
  uint64_t rejected = 0;        // queue full, queue timeout, or a quota
  uint64_t quota_rejected = 0;  // of which by a quota
  uint64_t cancelled = 0;       // cancelled while queued
  // Mean run time (the manager's clock) over the last 100 runs.
  absl::Duration average_run_time = absl::ZeroDuration();
  // For a run queued now: pending / max_concurrent rounds of the average.
  absl::Duration estimated_wait = absl::ZeroDuration();
  // With quotas: keys whose state is kept (including idle keys not yet
  // swept), and each key with runs or with runs counted in its bucket, by
  // key. Listing every key costs O(keys); Sandbox::KeyStats() reads one.
  std::size_t tracked_keys = 0;
  std::map<std::string, QuotaKeyStats, std::less<>> keys;

  friend bool operator==(const QueueStats& a, const QueueStats& b) {
    return a.running == b.running && a.pending == b.pending &&
           a.max_concurrent == b.max_concurrent &&
           a.max_queued == b.max_queued && a.completed == b.completed &&
           a.rejected == b.rejected && a.quota_rejected == b.quota_rejected &&
           a.cancelled == b.cancelled &&
           a.average_run_time == b.average_run_time &&
           a.estimated_wait == b.estimated_wait &&
           a.tracked_keys == b.tracked_keys && a.keys == b.keys;
  }
  friend bool operator!=(const QueueStats& a, const QueueStats& b) {
    return !(a == b);
  }
};

PROCSANDBOX_EXPORT std::string ToString(const SandboxEvent& event);
PROCSANDBOX_EXPORT std::string ToString(const SandboxResult& result);
PROCSANDBOX_EXPORT std::string ToString(const QueueStats& stats);
inline std::string ToString(SandboxStatus status) {
  return std::string(SandboxStatusName(status));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::SandboxEvent)
PROCSANDBOX_FORMATTER(procsandbox::SandboxResult)
PROCSANDBOX_FORMATTER(procsandbox::QueueStats)
PROCSANDBOX_FORMATTER(procsandbox::SandboxStatus)

#endif  // PROCSANDBOX_SANDBOX_RESULT_H_
