// RecordOf(): what the audit log says of a run (see run_audit.h).
#include "sandbox/run_audit.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "procsandbox/environment.h"
#include "procsandbox/sandbox/violation.h"

namespace procsandbox::sandbox_internal {
namespace {

// What every record says: who asked, what, where, under which limits.
AuditRecord Common(const RunState& run, absl::Time now) {
  const RunRequest& r = run.request;
  const Redactor& redact = run.redactor;
  AuditRecord record;
  record.time = now;
  record.run_id = redact.Redact(r.id);
  record.principal = redact.Redact(r.principal);
  record.quota_key = redact.Redact(r.quota_key);
  record.program = redact.Redact(r.program);
  record.program_path = redact.Redact(run.program.path);
  record.argv.push_back(record.program);
  for (const std::string& arg : r.args) {
    record.argv.push_back(redact.Redact(arg));
  }
  // The child's environment once built; the request's before that.
  const Environment& env = run.env_built ? run.env : r.env;
  for (const Environment::Entry& e : env.entries()) {
    record.env_names.push_back(e.name);
    if (e.secret) record.secret_names.push_back(e.name);
  }
  std::sort(record.env_names.begin(), record.env_names.end());
  std::sort(record.secret_names.begin(), record.secret_names.end());
  if (run.started && run.workdir != nullptr) {
    record.working_dir = redact.Redact(
        run.workdir_path.empty() ? run.workdir->path() : run.workdir_path);
  } else if (!run.started) {
    record.working_dir = redact.Redact(r.working_dir);
  }
  record.limits_asked = r.limits;
  record.limits = run.limits;
  // The slot's time once it entered the queue (Start()), unset before.
  record.queued_at = run.slot != nullptr
                         ? std::max(run.received_at, run.slot->queued_at)
                         : run.received_at;
  record.finished_at = now;
  record.duration = record.finished_at - record.queued_at;
  return record;
}

}  // namespace

AuditRecord RecordOf(const RunState& run, const SandboxResult& result,
                     absl::Time now) {
  AuditRecord record = Common(run, now);
  record.enforcement = result.enforcement;
  record.verification = result.verification;
  record.verify_error = run.redactor.Redact(result.verify_status.message());
  record.status = std::string(SandboxStatusName(result.status));
  record.outcome = result.outcome;
  record.pid = result.pid;
  record.stdout_bytes = static_cast<int64_t>(result.stdout_.size());
  record.stderr_bytes = static_cast<int64_t>(result.stderr_.size());
  record.queued_at = result.queued_at;
  record.started_at = result.started_at;
  record.finished_at = result.finished_at;
  record.duration = result.finished_at - result.queued_at;
  return record;
}

AuditRecord RecordOf(const RunState& run, const absl::Status& error,
                     absl::Time now) {
  AuditRecord record = Common(run, now);
  record.status = std::string(
      SandboxStatusName(StatusOf(absl::StatusOr<SandboxResult>(error))));
  record.error_code = absl::StatusCodeToString(error.code());
  record.error = run.redactor.Redact(error.message());
  record.violation = GetSecurityViolation(error);
  // Refused after the start (VerifyPolicy::kRefuse): the process that ran
  // and was killed, and what was read back.
  record.verification = run.verification;
  record.verify_error = run.redactor.Redact(run.verify_status.message());
  if (run.started && run.process != nullptr) {
    record.enforcement = run.process->enforcement();
    record.pid = run.process->Id();
    record.started_at = run.started_at;
  }
  return record;
}

}  // namespace procsandbox::sandbox_internal
