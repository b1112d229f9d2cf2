// `procsandbox run --audit FILE`: one record per run in the sandbox's audit
// schema (procsandbox/sandbox/audit.h, docs/AUDIT.md), appended to FILE with
// AuditFileSink, also for a run that did not start.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_AUDIT_LOG_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_AUDIT_LOG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/sandbox/audit.h"

namespace procsandbox::cli {

// A fresh id for this invocation's run: "cli-" and 16 hex digits from the
// system's random source.
std::string NewRunId();

// The user name of the real uid, "uid N" when it has none.
std::string RealUserName();

// What the run's record says besides the command and how it ended.
struct AuditLog {
  std::string path;  // empty: no audit
  std::string principal;
  std::string run_id;
  absl::Time received_at;  // when the tool began (the record's queued_at)

  bool wanted() const { return !path.empty(); }
  // Appends `record` (run_id, principal, queued_at and the times filled in
  // here); the sink's error, naming the file and the cause.
  absl::Status Append(AuditRecord record) const;
};

// The record of a run that started and ended.
AuditRecord RecordOfRun(const Command& command, const Outcome& outcome, Pid pid,
                        const Enforcement& enforcement, absl::Time started_at);
// The record of a run that did not start: `why` (a Cancelled error for a
// signal that came first).
AuditRecord RecordOfStartFailure(const Command& command,
                                 const absl::Status& why);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_AUDIT_LOG_H_
