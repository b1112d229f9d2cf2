// Redactor: the Status and its payloads (the texts: common/redactor.h).
#include "sandbox/redactor.h"

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "procsandbox/sandbox/quota.h"
#include "procsandbox/sandbox/violation.h"
#include "sandbox/quota.h"

namespace procsandbox::sandbox_internal {

absl::Status Redactor::Redact(const absl::Status& status) const {
  if (status.ok() || empty()) return status;
  absl::Status out(status.code(), Redact(status.message()));
  status.ForEachPayload([&](absl::string_view url, const absl::Cord& payload) {
    if (url == kSecurityViolationUrl) {
      if (std::optional<SecurityViolation> v = GetSecurityViolation(status)) {
        v->subject = Redact(v->subject);
        v->message = Redact(v->message);
        out.SetPayload(url, *ToStatus(*v).GetPayload(url));
        return;
      }
    } else if (url == kQuotaExceededUrl) {
      if (std::optional<QuotaExceeded> q = GetQuotaExceeded(status)) {
        q->key = Redact(q->key);
        SetQuotaExceeded(out, *q);
        return;
      }
    }
    const std::string bytes(payload);
    if (Redact(bytes) == bytes) out.SetPayload(url, payload);
  });
  return out;
}

}  // namespace procsandbox::sandbox_internal
