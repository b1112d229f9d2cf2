// Quota keys and the QuotaExceeded payload a refusal carries: a valid key
// survives the payload's round trip with every other field, any payload text
// decodes or is refused without a crash (and what decodes encodes back to
// itself), and the texts shown (errors, ToString) carry no control
// character, whatever the key holds.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "fuzz_support.h"
#include "procsandbox/sandbox.h"
#include "sandbox/quota.h"

namespace {

using procsandbox::QuotaExceeded;
using procsandbox::fuzz::Input;
namespace internal = procsandbox::sandbox_internal;

void CheckPrintable(absl::string_view text) {
  for (char c : text) {
    FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
  }
}

std::optional<int64_t> MaybeCount(Input& in) {
  if (!in.Bool()) return std::nullopt;
  return in.I64();
}

std::optional<QuotaExceeded> Roundtrip(const QuotaExceeded& q) {
  absl::Status status = absl::ResourceExhaustedError("quota");
  internal::SetQuotaExceeded(status, q);
  return procsandbox::GetQuotaExceeded(status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  Input in(data, size);
  const std::string key = in.Line();
  const bool valid = internal::IsValidQuotaKey(key);
  const absl::Status checked = internal::CheckQuotaKey("key", key);
  FUZZ_CHECK(checked.ok() == valid);
  CheckPrintable(checked.message());

  QuotaExceeded q;
  q.kind = in.Bool() ? QuotaExceeded::Kind::kRate
                     : QuotaExceeded::Kind::kConcurrency;
  q.key = key;
  q.quota.max_concurrent = MaybeCount(in);
  q.quota.max_queued = MaybeCount(in);
  q.quota.max_runs = MaybeCount(in);
  q.quota.window = absl::Nanoseconds(in.I64());
  if (in.Bool()) q.retry_after = absl::Nanoseconds(in.I64());
  if (in.Bool()) q.retry_at = absl::FromUnixNanos(in.I64());
  CheckPrintable(procsandbox::ToString(q));
  if (valid) {
    const std::optional<QuotaExceeded> back = Roundtrip(q);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == q);
  }

  // The rest as a payload someone else attached.
  absl::Status status = absl::ResourceExhaustedError("quota");
  status.SetPayload(procsandbox::kQuotaExceededUrl, absl::Cord(in.Rest()));
  if (std::optional<QuotaExceeded> decoded =
          procsandbox::GetQuotaExceeded(status)) {
    CheckPrintable(procsandbox::ToString(*decoded));
    if (internal::IsValidQuotaKey(decoded->key)) {
      FUZZ_CHECK(Roundtrip(*decoded) == decoded);
    }
  }
  return 0;
}
