// procsandbox/sandbox/audit.h: one structured record per run, for an audit
// log.
//
// A Sandbox with `SandboxPolicy::audit` set hands every run it was asked for
// (refused ones too) to that sink once its result is known: when, who asked,
// what ran, where, under which limits (asked, applied, enforced, verified),
// how it ended and what it used, and the run id that ties it to the run's
// events. Environment variables appear by name only; a secret's value never
// appears anywhere in a record (argv, paths, messages are redacted as the
// result's are).
//
// `AuditRecordJson()` writes the record as one line of JSON whose fields are
// a stable, versioned schema (docs/AUDIT.md): fields are only ever added
// within a `schema` version. `AuditFileSink(path)` appends those lines to a
// file, each record whole (one write under an exclusive lock), so several
// processes may share one log.
//
// Example:
//   procsandbox::SandboxPolicy policy;
//   policy.audit = procsandbox::AuditFileSink("/var/log/myapp/runs.jsonl");
//   ...
//   request.principal = "alice@example.com";
//   absl::StatusOr<procsandbox::SandboxResult> r = sandbox.Run(request);
//   if (r.ok() && !r->audit_status.ok()) Alert(r->audit_status);
#ifndef PROCSANDBOX_SANDBOX_AUDIT_H_
#define PROCSANDBOX_SANDBOX_AUDIT_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/export.h"
#include "procsandbox/limits.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/sandbox/violation.h"
#include "procsandbox/verification.h"

namespace procsandbox {

// The schema version AuditRecordJson() writes.
inline constexpr int kAuditSchemaVersion = 1;

struct PROCSANDBOX_EXPORT AuditRecord {
  int schema = kAuditSchemaVersion;
  // When the record was made (real time, whatever the manager's clock).
  absl::Time time;
  // RunRequest::id (as assigned), principal and quota_key.
  std::string run_id;
  std::string principal;
  std::string quota_key;
  // What was asked to run, and the file that ran ("" when it did not get
  // that far); argv is program then args; redacted.
  std::string program;
  std::string program_path;
  std::vector<std::string> argv;
  // The names of the child's variables (sorted), and of those that were
  // secrets; never a value.
  std::vector<std::string> env_names;
  std::vector<std::string> secret_names;
  // The run's working directory ("" without one); redacted.
  std::string working_dir;
  // The request's own limits, and what the run got (merged with the
  // policy's defaults and capped by its ceilings).
  Limits limits_asked;
  Limits limits;
  // How each was enforced (empty when it did not start).
  Enforcement enforcement;
  // SandboxPolicy::verify: what was read back, or why it could not be.
  std::optional<Verification> verification;
  std::string verify_error;
  // SandboxStatusName() of the result, or of the error Run() returned
  // ("rejected", "error", ...).
  std::string status;
  // The program ran: how it ended, and what it used (including the samples
  // when the request asked for monitoring).
  std::optional<Outcome> outcome;
  Pid pid = 0;
  int64_t stdout_bytes = 0;  // kept
  int64_t stderr_bytes = 0;
  // It did not run: the error's code and message (redacted), and the
  // policy's violation when there is one.
  std::string error_code;
  std::string error;
  std::optional<SecurityViolation> violation;
  // The manager's clock; started_at/finished_at unset when it never started.
  absl::Time queued_at;
  std::optional<absl::Time> started_at;
  absl::Time finished_at;
  absl::Duration duration = absl::ZeroDuration();  // queued_at..finished_at
};

// Receives one record per run; an error is reported, never fatal.
using AuditSink = std::function<absl::Status(const AuditRecord&)>;

}  // namespace procsandbox

#endif  // PROCSANDBOX_SANDBOX_AUDIT_H_
