// The audit record of a sandboxed run (procsandbox/sandbox/audit.h), made
// from its state: every text redacted by the run's redactor.
#ifndef PROCSANDBOX_SRC_SANDBOX_RUN_AUDIT_H_
#define PROCSANDBOX_SRC_SANDBOX_RUN_AUDIT_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "procsandbox/sandbox/audit.h"
#include "procsandbox/sandbox/result.h"
#include "sandbox/engine.h"

namespace procsandbox::sandbox_internal {

// A run that ran: its result. `now` is the manager's clock.
AuditRecord RecordOf(const RunState& run, const SandboxResult& result,
                     absl::Time now);
// A run refused before it ran: `error` (already redacted) is what Run() or
// Launch() returns.
AuditRecord RecordOf(const RunState& run, const absl::Status& error,
                     absl::Time now);

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_RUN_AUDIT_H_
