// procsandbox/sandbox/quota.h: per-key quotas of a Sandbox.
//
// With `QuotaPolicy::enabled`, every request names its key (a client, a
// tenant: RunRequest::quota_key) and is held to that key's `Quota`: runs at
// once, runs waiting, and runs per window (a token bucket). A run over its
// quota is refused at once with ResourceExhausted carrying a `QuotaExceeded`
// payload (with the exact retry-after for a rate). Time is the manager's
// clock, so on the in-memory manager quotas fill and refill in virtual time.
//
// Example:
//   procsandbox::SandboxPolicy policy;
//   policy.quota.enabled = true;
//   policy.quota.default_quota.max_runs = 100;
//   policy.quota.default_quota.window = absl::Hours(1);
//   policy.quota.default_quota.max_concurrent = 2;
//   policy.quota.overrides["batch"].max_concurrent = 8;
//   ...
//   request.quota_key = client_id;
//   absl::StatusOr<procsandbox::SandboxResult> r = sandbox.Run(request);
//   if (auto q = procsandbox::GetQuotaExceeded(r.status()); q &&
//   q->retry_after)
//     RespondTooManyRequests(*q->retry_after);   // HTTP 429, Retry-After
#ifndef PROCSANDBOX_SANDBOX_QUOTA_H_
#define PROCSANDBOX_SANDBOX_QUOTA_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"

namespace procsandbox {

// What one key (a client, a tenant: RunRequest::quota_key) may use. An unset
// field puts no cap of its kind on the key; a set one must be positive
// (max_queued: zero or more).
struct PROCSANDBOX_EXPORT Quota {
  // Runs of the key at once (running, or launched and not finished). More
  // wait in the queue (see max_queued) without holding up other keys' runs
  // behind them: the next free slot goes to the earliest waiting run whose
  // key is under its own cap.
  std::optional<int64_t> max_concurrent;
  // Runs of the key waiting at once, for its max_concurrent or for a free
  // slot; one more is refused at once (ResourceExhausted, a QuotaExceeded of
  // kind kConcurrency). 0: a run that cannot start now is refused instead
  // of waiting. Unset: only QueuePolicy::max_queued bounds them.
  std::optional<int64_t> max_queued;
  // Rate: `max_runs` runs per `window`, as a token bucket of max_runs runs
  // refilled evenly over the window (one run back every window / max_runs;
  // all of them after a window without runs). A run over it is refused at
  // once (ResourceExhausted, kind kRate) with the time the next run will be
  // allowed. A run takes its token when it enters the queue (a run that
  // waits is already counted) and gives back what of it has not refilled yet
  // if it leaves without starting (cancelled, queue timeout, shutdown, a
  // failed start). A key that bursts max_runs runs, then keeps using each
  // refill, gets up to 2 * max_runs - 1 runs within one window's length;
  // over longer spans it never averages more than max_runs per window.
  // (Why a token bucket and not a sliding window: docs/ARCHITECTURE.md.)
  std::optional<int64_t> max_runs;
  // Positive and at most 366 days. Used only with max_runs.
  absl::Duration window = absl::Hours(1);

  friend bool operator==(const Quota& a, const Quota& b) {
    return a.max_concurrent == b.max_concurrent &&
           a.max_queued == b.max_queued && a.max_runs == b.max_runs &&
           a.window == b.window;
  }
  friend bool operator!=(const Quota& a, const Quota& b) { return !(a == b); }
};

// Per-key quotas, on top of the global QueuePolicy. With `enabled`, every
// request must name its key (RunRequest::quota_key). Time is the manager's
// clock, so the in-memory manager's virtual time fills and refills quotas.
// Memory: a key is tracked while it has runs, and while its bucket is not
// full again (at most a window after its last run; then its state is exactly
// that of a new key). A key without a rate is dropped when its last run
// leaves; others are swept when a new key arrives and the table has doubled
// or the shortest window has passed since the last sweep (a scan under the
// queue's lock). The memory per key and the sweep's cost are measured in
// docs/ARCHITECTURE.md.
struct PROCSANDBOX_EXPORT QuotaPolicy {
  bool enabled = false;
  // For keys not in `overrides`.
  Quota default_quota;
  // Keys with their own quota (whole: unset fields are not taken from the
  // default).
  std::map<std::string, Quota, std::less<>> overrides;
};

// Why a run was refused by its key's quota: the payload of the
// ResourceExhausted Status Run()/Launch() return (`GetQuotaExceeded`).
struct PROCSANDBOX_EXPORT QuotaExceeded {
  enum class Kind {
    kRate,         // max_runs per window used up
    kConcurrency,  // max_concurrent running and max_queued waiting
  };
  Kind kind = Kind::kRate;
  // From Run()/Launch(), a secret's value in it redacted.
  std::string key;
  // The key's quota (the default's, or its override).
  Quota quota;
  // kRate: how long until the key's next run is allowed (exact, on the
  // manager's clock; round up for an HTTP Retry-After), and when. kConcurrency:
  // unset (when one of the key's runs ends).
  std::optional<absl::Duration> retry_after;
  std::optional<absl::Time> retry_at;

  friend bool operator==(const QuotaExceeded& a, const QuotaExceeded& b) {
    return a.kind == b.kind && a.key == b.key && a.quota == b.quota &&
           a.retry_after == b.retry_after && a.retry_at == b.retry_at;
  }
  friend bool operator!=(const QuotaExceeded& a, const QuotaExceeded& b) {
    return !(a == b);
  }
};
// "rate", "concurrency".
PROCSANDBOX_EXPORT absl::string_view QuotaExceededKindName(
    QuotaExceeded::Kind kind);
// The type URL of the payload.
inline constexpr char kQuotaExceededUrl[] =
    "type.googleapis.com/procsandbox.QuotaExceeded";
// The quota refusal attached to `status`, or nullopt.
PROCSANDBOX_EXPORT std::optional<QuotaExceeded> GetQuotaExceeded(
    const absl::Status& status);

// One key's use of its quota, at the time of the call.
struct PROCSANDBOX_EXPORT QuotaKeyStats {
  std::string key;
  Quota quota;
  std::size_t running = 0;
  std::size_t queued = 0;
  // With max_runs: runs counted in the bucket now (they come back one every
  // window / max_runs) and runs allowed now; both 0 without a rate.
  int64_t used = 0;
  int64_t remaining = 0;
  // Until the next run is allowed (0 while remaining > 0), and until used
  // is back to 0.
  absl::Duration retry_after = absl::ZeroDuration();
  absl::Duration reset_after = absl::ZeroDuration();
  // Quota refusals since the key was last untracked.
  uint64_t rejected = 0;

  friend bool operator==(const QuotaKeyStats& a, const QuotaKeyStats& b) {
    return a.key == b.key && a.quota == b.quota && a.running == b.running &&
           a.queued == b.queued && a.used == b.used &&
           a.remaining == b.remaining && a.retry_after == b.retry_after &&
           a.reset_after == b.reset_after && a.rejected == b.rejected;
  }
  friend bool operator!=(const QuotaKeyStats& a, const QuotaKeyStats& b) {
    return !(a == b);
  }
};

// The quota part of ValidateSandboxPolicy.
PROCSANDBOX_EXPORT absl::Status ValidateQuotaPolicy(const QuotaPolicy& policy);

PROCSANDBOX_EXPORT std::string ToString(const Quota& quota);
PROCSANDBOX_EXPORT std::string ToString(const QuotaExceeded& exceeded);
PROCSANDBOX_EXPORT std::string ToString(const QuotaKeyStats& stats);

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::Quota)
PROCSANDBOX_FORMATTER(procsandbox::QuotaExceeded)
PROCSANDBOX_FORMATTER(procsandbox::QuotaKeyStats)

#endif  // PROCSANDBOX_SANDBOX_QUOTA_H_
