// A sandboxed run's Redactor: every message, event detail and Status about
// the run goes through it (belt and braces over Environment's own
// redaction; see common/redactor.h for the texts).
#ifndef PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_
#define PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "common/redactor.h"

namespace procsandbox::sandbox_internal {

class Redactor : public internal::Redactor {
 public:
  using internal::Redactor::Redact;

  // The same code and payloads, the message redacted.
  absl::Status Redact(const absl::Status& status) const {
    if (status.ok() || empty()) return status;
    absl::Status out(status.code(), Redact(status.message()));
    status.ForEachPayload(
        [&out](absl::string_view url, const absl::Cord& payload) {
          out.SetPayload(url, payload);
        });
    return out;
  }
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_REDACTOR_H_
