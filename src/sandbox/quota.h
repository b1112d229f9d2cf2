// Quota values: checking policies and keys, and the QuotaExceeded payload.
#ifndef PROCSANDBOX_SRC_SANDBOX_QUOTA_H_
#define PROCSANDBOX_SRC_SANDBOX_QUOTA_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/sandbox/quota.h"

namespace procsandbox::sandbox_internal {

// 1 to 256 bytes, no control character.
bool IsValidQuotaKey(absl::string_view key);
// OK, or InvalidArgument naming `field` and why: empty, over 256 bytes, or
// a control character (the key shown escaped).
absl::Status CheckQuotaKey(absl::string_view field, absl::string_view key);

// A retry-after for a message, rounded up to the precision shown ("12m4s",
// "1h1m").
std::string FormatRetryAfter(absl::Duration d);

// Attaches `refusal` to `status` (kQuotaExceededUrl).
void SetQuotaExceeded(absl::Status& status, const QuotaExceeded& refusal);

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_QUOTA_H_
