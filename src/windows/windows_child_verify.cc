// WindowsChild's read-back for Process::Verify(): the job's limits as the
// system keeps them, and whether the leader is still in its job.
#include <windows.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/verification_plan.h"
#include "windows/job.h"
#include "windows/windows_child.h"

namespace procsandbox::windows_internal {

absl::Status WindowsChild::ReadBack(const Limits& limits,
                                    const Enforcement& enforcement,
                                    const Isolation& /*isolation*/,
                                    Verification& verification) const {
  absl::MutexLock lock(&mu_);
  if (!job_.valid() || !process_.valid()) {
    return absl::FailedPreconditionError("read back its job: it is closed");
  }
  absl::StatusOr<JobLimits> kept = ReadJobLimits(job_.get());
  if (!kept.ok()) return kept.status();
  BOOL in_job = FALSE;
  if (!IsProcessInJob(process_.get(), job_.get(), &in_job)) {
    return LastErrorStatus("ask whether it is in its job");
  }
  for (VerificationCheck& c : verification.checks) {
    if (!internal::AwaitsReadBack(c) || !c.limit) continue;
    const LimitEnforcement* e = enforcement.Find(*c.limit);
    if (e == nullptr || e->mechanism != Mechanism::kJobObject) continue;
    switch (*c.limit) {
      case LimitKind::kMemory:
        c.source = "its job object (JobMemoryLimit)";
        internal::CompareAtMost(
            *limits.memory_bytes, kept->memory_bytes,
            kept->memory_bytes ? FormatByteSize(*kept->memory_bytes) : "none",
            c);
        break;
      case LimitKind::kProcesses:
        c.source = "its job object (ActiveProcessLimit)";
        internal::CompareAtMost(
            *limits.processes, kept->processes,
            kept->processes ? absl::StrCat(*kept->processes) : "none", c);
        break;
      case LimitKind::kCpuTime:
        if (!kept->cpu_time) {
          // Where the job cannot post END_OF_JOB_TIME, the loop holds the
          // budget over the job's accounting (job.h).
          c.detail = "held by the library over the job's accounting";
          break;
        }
        c.source = "its job object (PerJobUserTimeLimit)";
        internal::CompareAtMost(
            absl::ToInt64Nanoseconds(*limits.cpu_time),
            absl::ToInt64Nanoseconds(*kept->cpu_time),
            procsandbox::FormatDuration(*kept->cpu_time), c);
        break;
      default:
        break;
    }
    if (!in_job && c.result == CheckResult::kMatch) {
      c.result = CheckResult::kMismatch;
      c.detail = "the process is not in its job";
    }
  }
  internal::LeaveUnread(verification, internal::kPlatformCannotReadBack);
  return absl::OkStatus();
}

}  // namespace procsandbox::windows_internal
