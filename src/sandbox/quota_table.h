// Per-key quota state: the rate as a token bucket in its GCRA form (one
// "theoretical arrival time" per key), the counts of running and waiting
// runs, and the key's own FIFO of waiting runs (linked through the slots, so
// a key costs no container of its own). Not thread-safe: the RunQueue owns
// one and calls it under its lock.
//
// GCRA: with T = window / max_runs (one run's share of the window) and a
// burst tolerance of (max_runs - 1) * T, a run at `now` is allowed when
// max(tat, now) - tolerance <= now, and then moves tat to max(tat, now) + T.
// tat <= now means a full bucket, which is also what a key never seen has:
// so state can be dropped once tat has passed and the key has no runs.
#ifndef PROCSANDBOX_SRC_SANDBOX_QUOTA_TABLE_H_
#define PROCSANDBOX_SRC_SANDBOX_QUOTA_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/sandbox/quota.h"

namespace procsandbox::sandbox_internal {

struct Slot;

// A Quota in the form admission uses.
struct ResolvedQuota {
  explicit ResolvedQuota(const Quota& q);

  Quota quota;
  // Unset: no cap.
  int64_t max_concurrent = std::numeric_limits<int64_t>::max();
  int64_t max_queued = std::numeric_limits<int64_t>::max();
  bool has_rate = false;
  int64_t interval_ns = 0;   // T, rounded up: never more than the rate
  int64_t tolerance_ns = 0;  // (max_runs - 1) * T
};

// One key. 56 bytes; with its node, its table slot and a key of up to 15
// bytes, 108 bytes (172 with a 40-byte key: bench/sandbox_bench.cpp,
// "[quota]").
struct KeyState {
  const ResolvedQuota* quota = nullptr;
  // Nanoseconds since the table's epoch; <= now: a full bucket.
  int64_t tat_ns = 0;
  // Waiting runs of this key, oldest first (Slot::next_in_key).
  Slot* head = nullptr;
  Slot* tail = nullptr;
  // The head's ticket while it is in the queue's ready set, else 0.
  uint64_t ready_ticket = 0;
  uint32_t running = 0;
  uint32_t queued = 0;
  uint32_t rejected = 0;

  bool UnderConcurrency() const { return running < quota->max_concurrent; }
};

class QuotaTable {
 public:
  // `epoch`: the time 0 of the nanosecond counts (the manager's clock).
  QuotaTable(const QuotaPolicy& policy, absl::Time epoch);
  QuotaTable(const QuotaTable&) = delete;
  QuotaTable& operator=(const QuotaTable&) = delete;

  int64_t ToNanos(absl::Time t) const;
  absl::Time FromNanos(int64_t ns) const;

  // The key's state, made when missing (then, from time to time, idle keys
  // are swept: see MaybeSweep). The reference stays valid until the key is
  // dropped, which happens only while it has no runs.
  KeyState& Get(absl::string_view key, int64_t now_ns);
  // Null when not tracked.
  const KeyState* Find(absl::string_view key) const;
  const ResolvedQuota& QuotaFor(absl::string_view key) const;

  // Takes a token when the rate allows a run now: 0, and `*token` is the
  // token's refill time (the new tat; only with a rate); otherwise nothing
  // changes and the result is how long until one is allowed (> 0).
  int64_t TryTake(KeyState& key, int64_t now_ns, int64_t* token) const;
  // Undoes a TryTake() whose token refills at `token` (a run that never
  // started): only what of it has not refilled by `now_ns` comes back, so a
  // token returned late is not credited twice.
  void GiveBack(KeyState& key, int64_t token, int64_t now_ns) const;

  // Drops `state`, the key's, when it has no runs and a full bucket.
  void DropIfIdle(absl::string_view key, const KeyState& state, int64_t now_ns);

  // A tracked key's stats (`state` may be a copy: it needs only its quota,
  // which lives as long as the table).
  static QuotaKeyStats StatsOf(absl::string_view key, const KeyState& state,
                               int64_t now_ns);
  // A key not tracked: its full quota.
  QuotaKeyStats UntrackedStats(absl::string_view key) const;
  // No runs and a full bucket: the same as a key never seen (droppable;
  // not listed in stats).
  static bool Idle(const KeyState& state, int64_t now_ns);

  std::size_t size() const { return keys_.size(); }
  template <typename F>
  void ForEach(F f) const {
    for (const auto& [key, state] : keys_) f(key, state);
  }

 private:
  // Drops every idle key, when the table has doubled since the last sweep or
  // the shortest window has passed since then: O(1) per new key amortized.
  void MaybeSweep(int64_t now_ns);

  const absl::Time epoch_;
  const ResolvedQuota default_;
  // Built once; its values are never moved afterwards.
  absl::flat_hash_map<std::string, ResolvedQuota> overrides_;
  // Node-based: KeyState addresses stay valid while other keys come and go.
  absl::node_hash_map<std::string, KeyState> keys_;
  int64_t sweep_period_ns_ = 0;
  int64_t next_sweep_ns_ = 0;
  std::size_t sweep_size_ = 1024;
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_QUOTA_TABLE_H_
