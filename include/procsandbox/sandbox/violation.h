// procsandbox/sandbox/violation.h: what the sandbox's policy refused, and why.
//
// A request refused by the policy (a program not allowed, a privilege tool, a
// forbidden variable, a path escaping the run's directory...) fails Run() and
// Launch() with an error Status carrying a `SecurityViolation` as a payload:
// structured data a service can log or show its user. Subjects and messages
// never contain a secret's value.
//
// Example:
//   absl::StatusOr<procsandbox::SandboxResult> r = sandbox.Run(request);
//   if (auto v = procsandbox::GetSecurityViolation(r.status())) {
//     LOG(WARNING) << *v;   // "privilege_tool (critical): ..."
//     if (v->severity == procsandbox::SecurityViolation::Severity::kCritical)
//       Alert(v->subject);
//   }
#ifndef PROCSANDBOX_SANDBOX_VIOLATION_H_
#define PROCSANDBOX_SANDBOX_VIOLATION_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"

namespace procsandbox {

// A request the policy refused, as structured data. Returned inside the error
// Status of Run()/Launch() as a payload (`GetSecurityViolation`): the Status
// code is InvalidArgument for kInvalidEnvironmentName and kPathTraversal
// (bad input), PermissionDenied for the others.
struct PROCSANDBOX_EXPORT SecurityViolation {
  enum class Kind {
    kProgramNotAllowed,         // not on the allowlist, or a relative path
    kPrivilegeTool,             // sudo, su, doas, pkexec, chroot, setpriv...
    kSetuidProgram,             // setuid/setgid bit, not allowed by the policy
    kShellRefused,              // a shell or an exec wrapper (env, nice,
                                // timeout, xargs...), not allowed by name
    kUnsafeProgramFile,         // not a regular executable, world-writable,
                                // or in a directory others can change
    kPathTraversal,             // a working directory escaping the run's one
    kUnsafeRoot,                // the workdir root: a symlink, not ours, g/o+w
    kForbiddenEnvironmentName,  // denied, or looks like a credential
    kInvalidEnvironmentName,    // not [A-Za-z_][A-Za-z0-9_]*
    kLimitMismatch,             // VerifyPolicy::kRefuse: a limit read back
                                // after start is weaker than asked (the run
                                // was killed; subject: the limit), or the
                                // limits could not be read ("verification")
  };
  enum class Severity { kLow, kMedium, kHigh, kCritical };

  Kind kind = Kind::kProgramNotAllowed;
  Severity severity = Severity::kMedium;
  // What was refused: the program, path or variable name (never a value).
  // From Run()/Launch(), the subject and message have every secret's value
  // redacted, as the Status message has.
  std::string subject;
  // One sentence a service may show its user.
  std::string message;

  friend bool operator==(const SecurityViolation& a,
                         const SecurityViolation& b) {
    return a.kind == b.kind && a.severity == b.severity &&
           a.subject == b.subject && a.message == b.message;
  }
  friend bool operator!=(const SecurityViolation& a,
                         const SecurityViolation& b) {
    return !(a == b);
  }
};

// "program_not_allowed", "privilege_tool", "setuid_program", "shell_refused",
// "unsafe_program_file", "path_traversal", "unsafe_root",
// "forbidden_environment_name", "invalid_environment_name",
// "limit_mismatch".
PROCSANDBOX_EXPORT absl::string_view SecurityViolationKindName(
    SecurityViolation::Kind kind);
// "low", "medium", "high", "critical".
PROCSANDBOX_EXPORT absl::string_view SeverityName(
    SecurityViolation::Severity severity);
// The type URL of the payload.
inline constexpr char kSecurityViolationUrl[] =
    "type.googleapis.com/procsandbox.SecurityViolation";
// The Status for `violation` (code as above, message = its message), with
// the violation attached as a payload.
PROCSANDBOX_EXPORT absl::Status ToStatus(const SecurityViolation& violation);
// The violation attached to `status`, or nullopt.
PROCSANDBOX_EXPORT std::optional<SecurityViolation> GetSecurityViolation(
    const absl::Status& status);

PROCSANDBOX_EXPORT std::string ToString(const SecurityViolation& violation);

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::SecurityViolation)

#endif  // PROCSANDBOX_SANDBOX_VIOLATION_H_
