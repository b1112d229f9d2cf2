// Quota values: checking policies and keys, and the QuotaExceeded payload.
#ifndef PROCSANDBOX_SRC_SANDBOX_QUOTA_H_
#define PROCSANDBOX_SRC_SANDBOX_QUOTA_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "procsandbox/sandbox.h"

namespace procsandbox::sandbox_internal {

// OK, or InvalidArgument naming `field` and why: empty, over 256 bytes, or
// a control character.
absl::Status CheckQuotaKey(absl::string_view field, absl::string_view key);

// Attaches `refusal` to `status` (kQuotaExceededUrl).
void SetQuotaExceeded(absl::Status& status, const QuotaExceeded& refusal);

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_QUOTA_H_
