// QuotaTable: per-key state and the GCRA rate (see quota_table.h).
#include "sandbox/quota_table.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace procsandbox::sandbox_internal {
namespace {

constexpr int64_t kNoSweep = std::numeric_limits<int64_t>::max();

// ceil(a / b) for a >= 0, b > 0.
int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

}  // namespace

ResolvedQuota::ResolvedQuota(const Quota& q) : quota(q) {
  if (q.max_concurrent.has_value()) max_concurrent = *q.max_concurrent;
  if (q.max_queued.has_value()) max_queued = *q.max_queued;
  if (q.max_runs.has_value()) {
    // Validated (ValidateQuotaPolicy; the Engine passes no quota for an
    // invalid policy): max_runs >= 1, 0 < window <= 366 days (< 2^55 ns).
    has_rate = true;
    // Rounded up, so max_runs runs never come back in less than the window
    // (and at least 1 ns).
    interval_ns = CeilDiv(
        absl::ToInt64Nanoseconds(absl::Ceil(q.window, absl::Nanoseconds(1))),
        *q.max_runs);
    tolerance_ns = interval_ns * (*q.max_runs - 1);
  }
}

QuotaTable::QuotaTable(const QuotaPolicy& policy, absl::Time epoch)
    : epoch_(epoch), default_(policy.default_quota) {
  int64_t shortest = kNoSweep;
  auto consider = [&](const ResolvedQuota& q) {
    if (q.has_rate) {
      shortest = std::min(shortest, absl::ToInt64Nanoseconds(q.quota.window));
    }
  };
  consider(default_);
  for (const auto& [key, quota] : policy.overrides) {
    consider(overrides_.emplace(key, ResolvedQuota(quota)).first->second);
  }
  // Without any rate, a key is dropped as soon as its last run leaves; the
  // size trigger alone remains (for keys dropped by nothing else: none).
  sweep_period_ns_ = shortest;
  next_sweep_ns_ = shortest;
}

int64_t QuotaTable::ToNanos(absl::Time t) const {
  return absl::ToInt64Nanoseconds(t - epoch_);
}

absl::Time QuotaTable::FromNanos(int64_t ns) const {
  return epoch_ + absl::Nanoseconds(ns);
}

const ResolvedQuota& QuotaTable::QuotaFor(absl::string_view key) const {
  auto it = overrides_.find(key);
  return it != overrides_.end() ? it->second : default_;
}

KeyState& QuotaTable::Get(absl::string_view key, int64_t now_ns) {
  auto it = keys_.find(key);
  if (it != keys_.end()) return it->second;
  MaybeSweep(now_ns);
  KeyState& state = keys_.emplace(key, KeyState{}).first->second;
  state.quota = &QuotaFor(key);
  state.tat_ns = now_ns;  // a full bucket
  return state;
}

const KeyState* QuotaTable::Find(absl::string_view key) const {
  auto it = keys_.find(key);
  return it != keys_.end() ? &it->second : nullptr;
}

int64_t QuotaTable::TryTake(KeyState& key, int64_t now_ns,
                            int64_t* token) const {
  const ResolvedQuota& q = *key.quota;
  if (!q.has_rate) return 0;
  const int64_t tat = std::max(key.tat_ns, now_ns);
  const int64_t allowed_at = tat - q.tolerance_ns;
  if (allowed_at > now_ns) return allowed_at - now_ns;
  key.tat_ns = tat + q.interval_ns;
  *token = key.tat_ns;
  return 0;
}

void QuotaTable::GiveBack(KeyState& key, int64_t token, int64_t now_ns) const {
  if (!key.quota->has_rate) return;
  // The bucket's debt drains oldest token first: this one occupies
  // [token - T, token), and what of it lies ahead of now is still owed.
  const int64_t owed =
      std::clamp<int64_t>(token - now_ns, 0, key.quota->interval_ns);
  key.tat_ns -= owed;
}

bool QuotaTable::Idle(const KeyState& state, int64_t now_ns) {
  return state.running == 0 && state.queued == 0 && state.tat_ns <= now_ns;
}

void QuotaTable::DropIfIdle(absl::string_view key, const KeyState& state,
                            int64_t now_ns) {
  // Checked on the state first: a key that just ran with a rate is not
  // idle, and needs no lookup.
  if (Idle(state, now_ns)) keys_.erase(key);
}

void QuotaTable::MaybeSweep(int64_t now_ns) {
  if (keys_.size() < sweep_size_ && now_ns < next_sweep_ns_) return;
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (Idle(it->second, now_ns)) {
      keys_.erase(it++);
    } else {
      ++it;
    }
  }
  // The slot array does not shrink by itself: fitted to the keys left when
  // most are gone (rehash(0) rebuilds the table even when it fits).
  if (keys_.size() * 4 < keys_.bucket_count()) keys_.rehash(0);
  sweep_size_ = std::max<std::size_t>(1024, 2 * keys_.size());
  next_sweep_ns_ = sweep_period_ns_ == kNoSweep
                       ? kNoSweep
                       : now_ns + std::min(sweep_period_ns_, kNoSweep - now_ns);
}

QuotaKeyStats QuotaTable::StatsOf(absl::string_view key, const KeyState& state,
                                  int64_t now_ns) {
  const ResolvedQuota& q = *state.quota;
  QuotaKeyStats stats;
  stats.key = std::string(key);
  stats.quota = q.quota;
  stats.running = state.running;
  stats.queued = state.queued;
  stats.rejected = state.rejected;
  if (q.has_rate) {
    const int64_t max_runs = *q.quota.max_runs;
    const int64_t ahead = std::max<int64_t>(0, state.tat_ns - now_ns);
    stats.used = std::min(max_runs, CeilDiv(ahead, q.interval_ns));
    stats.remaining = max_runs - stats.used;
    stats.reset_after = absl::Nanoseconds(ahead);
    stats.retry_after =
        absl::Nanoseconds(std::max<int64_t>(0, ahead - q.tolerance_ns));
  }
  return stats;
}

QuotaKeyStats QuotaTable::UntrackedStats(absl::string_view key) const {
  const ResolvedQuota& q = QuotaFor(key);
  QuotaKeyStats stats;
  stats.key = std::string(key);
  stats.quota = q.quota;
  if (q.has_rate) stats.remaining = *q.quota.max_runs;
  return stats;
}

}  // namespace procsandbox::sandbox_internal
