// A sandboxed run's Redactor: every message, event detail, Status (with its
// payloads) and result path about the run goes through it (belt and braces
// over Environment's own redaction; see common/redactor.h for the texts).
#ifndef PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_
#define PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_

#include "absl/status/status.h"
#include "common/redactor.h"

namespace procsandbox::sandbox_internal {

class Redactor : public internal::Redactor {
 public:
  using internal::Redactor::Redact;

  // The same code, the message redacted, and the payloads: a
  // SecurityViolation's subject and message, a QuotaExceeded's key redacted;
  // a payload of another kind dropped when it holds a secret's value (its
  // encoding is not ours to edit).
  absl::Status Redact(const absl::Status& status) const;
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_
