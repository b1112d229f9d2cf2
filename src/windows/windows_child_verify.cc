// WindowsChild's read-back for Process::Verify(): the job's limits as the
// system keeps them, and whether the leader is still in its job.
#include <windows.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/verify_checks.h"
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
  // Unknown membership (the call failed) is not held against it.
  BOOL in_job = TRUE;
  if (!IsProcessInJob(process_.get(), job_.get(), &in_job)) in_job = TRUE;
  Limits found;
  found.memory_bytes = kept->memory_bytes;
  found.processes = kept->processes;
  found.cpu_time = kept->cpu_time;
  for (VerificationCheck& c : verification.checks) {
    if (!internal::AwaitsReadBack(c) || !c.limit) continue;
    const LimitEnforcement* e = enforcement.Find(*c.limit);
    if (e == nullptr || e->mechanism != Mechanism::kJobObject) continue;
    const char* field = *c.limit == LimitKind::kMemory ? "JobMemoryLimit"
                        : *c.limit == LimitKind::kProcesses
                            ? "ActiveProcessLimit"
                            : "PerJobUserTimeLimit";
    if (*c.limit == LimitKind::kCpuTime && !kept->cpu_time) {
      // Where the job cannot post END_OF_JOB_TIME, the loop holds the
      // budget over the job's accounting (job.h).
      c.detail = "held by the library over the job's accounting";
      continue;
    }
    c = internal::CompareLimit(limits, found, *c.limit,
                               absl::StrCat("its job object (", field, ")"));
    if (!in_job && c.result == CheckResult::kMatch) {
      c.result = CheckResult::kMismatch;
      c.detail = "the process is not in its job";
    }
  }
  internal::LeaveUnread(verification, internal::kPlatformCannotReadBack);
  return absl::OkStatus();
}

}  // namespace procsandbox::windows_internal
