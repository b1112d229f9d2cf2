// Process::Verify() of an OS process: the checks every platform shares
// (common/verify_checks.h), then the platform's read-back.
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/process_errors.h"
#include "common/verify_checks.h"
#include "os/os_process.h"
#include "os/platform.h"

namespace procsandbox::os_internal {

absl::Status Child::ReadBack(const Limits& /*limits*/,
                             const Enforcement& /*enforcement*/,
                             const Isolation& /*isolation*/,
                             Verification& verification) const {
  internal::LeaveUnread(verification, internal::kPlatformCannotReadBack);
  return absl::OkStatus();
}

absl::StatusOr<Verification> OsProcess::Verify() {
  absl::MutexLock lock(&mu_);
  if (absl::Status s = CheckStartedLocked("verify"); !s.ok()) return s;
  // Once the leader ended, nothing of it can be read (its pid may belong to
  // another process, its group may be empty or gone).
  if (phase_ == Phase::kEnded || ExitedLocked()) {
    return internal::EndedBeforeVerifiedError(command_, pid_);
  }
  Verification v =
      internal::PlanVerification(limits_, command_.isolation, enforcement_);
  v.time = absl::Now();  // the OS managers' clock (Manager::Now())
  absl::Status read =
      child_->ReadBack(limits_, enforcement_, command_.isolation, v);
  // A leader that ended while it was read may have shown a zombie's or
  // half-dismantled state: nothing of it is trusted.
  if (ExitedLocked()) return internal::EndedBeforeVerifiedError(command_, pid_);
  if (!read.ok()) return read;
  // Whatever the platform left unread is said to be so, never a match.
  internal::LeaveUnread(v, internal::kPlatformCannotReadBack);
  return v;
}

}  // namespace procsandbox::os_internal
