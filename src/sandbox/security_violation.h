// Making the Status of a refused request: one helper per violation, so each
// kind has one severity and one wording.
#ifndef PROCSANDBOX_SRC_SANDBOX_SECURITY_VIOLATION_H_
#define PROCSANDBOX_SRC_SANDBOX_SECURITY_VIOLATION_H_

#include <string>

#include "absl/status/status.h"
#include "procsandbox/sandbox/violation.h"

namespace procsandbox::sandbox_internal {

// The Status for a violation of `kind` about `subject` (a program, path or
// variable name; never a value), with its default severity.
absl::Status Violation(SecurityViolation::Kind kind, std::string subject,
                       std::string message);

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_SECURITY_VIOLATION_H_
