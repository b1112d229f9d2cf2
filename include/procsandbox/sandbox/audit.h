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
#include "procsandbox/format.h"
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
  // When the record was made: the manager's clock (real time on the OS
  // managers, the virtual clock on the fake, so tests see fixed times).
  absl::Time time;
  // RunRequest::id (as assigned), principal and quota_key (redacted).
  std::string run_id;
  std::string principal;
  std::string quota_key;
  // What was asked to run, and the file that ran ("" when it was not
  // resolved); argv is program then args; redacted.
  std::string program;
  std::string program_path;
  std::vector<std::string> argv;
  // The names of the child's variables (sorted; the request's own when the
  // environment was not built), and of those that were secrets (sorted);
  // never a value.
  std::vector<std::string> env_names;
  std::vector<std::string> secret_names;
  // The directory the program ran in (absolute) once it started; before
  // that, RunRequest::working_dir as asked ("" without one). Redacted.
  std::string working_dir;
  // The request's own limits, and what the run got (merged with the
  // policy's defaults and capped by its ceilings; empty when refused
  // before they were worked out).
  Limits limits_asked;
  Limits limits;
  // How each was enforced (empty when it did not start).
  Enforcement enforcement;
  // SandboxPolicy::verify: what was read back (SandboxResult::verification),
  // or why it could not be (verify_status's message, redacted; "" when OK).
  std::optional<Verification> verification;
  std::string verify_error;
  // SandboxStatusName() of the result, or of the error Run() returned
  // ("rejected", "cancelled", "error").
  std::string status;
  // The program ran: how it ended, and what it used (including the samples
  // when the request asked for monitoring).
  std::optional<Outcome> outcome;
  Pid pid = 0;               // 0 when it did not start
  int64_t stdout_bytes = 0;  // kept (SandboxResult::stdout_)
  int64_t stderr_bytes = 0;
  // It did not run: the error's code (absl::StatusCodeToString:
  // "INVALID_ARGUMENT") and message (redacted), and the policy's violation
  // when there is one. Empty when it ran.
  std::string error_code;
  std::string error;
  std::optional<SecurityViolation> violation;
  // The manager's clock: queued_at when it entered the queue (when it was
  // received, for a run refused before); started_at unset when it never
  // started.
  absl::Time queued_at;
  std::optional<absl::Time> started_at;
  absl::Time finished_at;
  absl::Duration duration = absl::ZeroDuration();  // queued_at..finished_at

  friend PROCSANDBOX_EXPORT bool operator==(const AuditRecord& a,
                                            const AuditRecord& b);
  friend bool operator!=(const AuditRecord& a, const AuditRecord& b) {
    return !(a == b);
  }
};

// Receives one record per run; an error is reported, never fatal. Called
// from the run's thread (several at once), never with a lock of the
// sandbox held; it must be thread-safe and must not call into the Sandbox.
// An exception it throws is caught and reported as an error would be.
using AuditSink = std::function<absl::Status(const AuditRecord&)>;

// `record` as one line of JSON (no newline), the schema of docs/AUDIT.md:
// fields in a fixed order, every one present (null when not applicable),
// times as RFC 3339 UTC strings with microseconds, durations in
// milliseconds. Always valid UTF-8: each invalid sequence in a string
// becomes U+FFFD, control characters are escaped. Thread-safe.
PROCSANDBOX_EXPORT std::string AuditRecordJson(const AuditRecord& record);

// A sink appending AuditRecordJson(record) + '\n' to the file at `path`,
// created (mode 0600) when missing. Each record is one write(2) to a
// descriptor opened with O_APPEND for that record, under an exclusive
// flock(2): records of several threads and processes sharing the file
// never interleave. Errors name the path and the cause ("append the audit
// record to "/var/log/x": permission denied (EACCES)"). POSIX only, as
// the rest of the sandbox layer.
PROCSANDBOX_EXPORT AuditSink AuditFileSink(std::string path);

// The JSON line.
inline std::string ToString(const AuditRecord& record) {
  return AuditRecordJson(record);
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::AuditRecord)

#endif  // PROCSANDBOX_SANDBOX_AUDIT_H_
