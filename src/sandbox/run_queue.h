// The concurrency queue: at most N runs at once, the rest waiting, bounded
// in length and in waiting time (the manager's clock), each cancellable
// while queued or running; with quotas, per-key caps on runs at once, runs
// waiting, and runs per window (QuotaTable).
//
// Admission is decided in one place, `DispatchLocked`: while a slot is free,
// it admits the earliest-queued run (by ticket) among the "ready" ones, the
// first waiting run of each key under its max_concurrent. Within a key runs
// start in arrival order; a key at its cap holds up only its own runs.
// Without quotas every run belongs to one key without caps, which makes
// this plain FIFO. The admitted run's thread is woken through its own
// condition variable.
#ifndef PROCSANDBOX_SRC_SANDBOX_RUN_QUEUE_H_
#define PROCSANDBOX_SRC_SANDBOX_RUN_QUEUE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "procsandbox/manager.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/process.h"
#include "procsandbox/sandbox.h"
#include "sandbox/quota_table.h"

namespace procsandbox::sandbox_internal {

// One live run, from Enter() to Leave().
struct Slot {
  std::string id;
  // RunRequest::quota_key (checked by Enter()); unused without quotas.
  std::string quota_key;
  // The key as events show it: redacted with the run's secrets.
  std::string shown_key;
  uint64_t ticket = 0;
  absl::Time queued_at;
  absl::Time admitted_at;
  absl::Time deadline = absl::InfiniteFuture();
  bool admitted = false;
  // Written under the queue's lock, but read without it by the run's
  // result (engine.cc, after Wait): atomic, not guarded.
  std::atomic<bool> cancelled{false};
  // The queue timeout passed before it was admitted (set by the dispatcher).
  bool expired = false;
  // A rate token was taken for it (given back if it never starts), and when
  // it refills (QuotaTable::TryTake).
  bool took_token = false;
  int64_t token = 0;
  // From Acquire() to Leave() (or until it expired): its key's state (the
  // queue's own key without quotas), and the next waiting run of the same
  // key.
  KeyState* key = nullptr;
  Slot* next_in_key = nullptr;
  // Wakes its Acquire(): admitted, expired, cancelled.
  absl::CondVar wake;
  // On a MemoryManager: the fake counts the queued thread as a waiting host
  // (see RunQueue::Acquire); released with `wake`.
  MemoryManager::HostWait* host_wait = nullptr;
  // Launch() returned: the slot is held by a SandboxProcess, not by a call
  // (MarkLaunched).
  bool launched = false;
  std::shared_ptr<Process> process;
};

class RunQueue {
 public:
  // kQueued events are emitted through `emit` with the lock held, so they
  // come in arrival order.
  using Emit = std::function<void(SandboxEvent::Kind, const Slot& slot,
                                  std::string detail)>;
  // `quota`: per-key quotas when enabled; must pass ValidateQuotaPolicy.
  RunQueue(const QueuePolicy& policy, const QuotaPolicy& quota,
           const Manager& clock, Emit emit);

  // Registers `id` (empty: assigns "run-<n>", one no live run has):
  // InvalidArgument when a live run has it, FailedPrecondition after
  // Shutdown(). No waiting.
  absl::StatusOr<std::shared_ptr<Slot>> Enter(std::string id);
  // Queues the slot and blocks until it may run: at once when a slot is free
  // and its key is under its max_concurrent (whatever max_queued and the
  // timeout; a rate is still checked); else, at once, ResourceExhausted
  // when its key's rate is used up (a QuotaExceeded payload with the
  // retry-after), when its key's max_queued runs already wait (also a
  // payload), or when max_queued runs already wait; DeadlineExceeded after
  // `timeout` (checked when a slot frees and at least every 20 ms of real
  // time), Cancelled by Cancel(). On any error the slot is no longer queued
  // and a token it took is given back (Leave() it).
  absl::Status Acquire(const std::shared_ptr<Slot>& slot,
                       absl::Duration timeout);
  // Launch() is returning the run: Shutdown() no longer waits for it.
  void MarkLaunched(const std::shared_ptr<Slot>& slot);
  // Records the started process; false when the run was cancelled meanwhile
  // (the caller stops it).
  bool Attach(const std::shared_ptr<Slot>& slot,
              std::shared_ptr<Process> process);
  // Frees the slot's place (running or not) and its id. `run_time` (when it
  // ran) feeds the average; without it the run never started, and a rate
  // token it took is given back.
  void Leave(const std::shared_ptr<Slot>& slot,
             std::optional<absl::Duration> run_time);

  // See Sandbox::Cancel / Position / Stats.
  absl::Status Cancel(absl::string_view id);
  absl::StatusOr<std::size_t> Position(absl::string_view id) const;
  QueueStats Stats() const;
  // Quotas enabled only.
  QuotaKeyStats KeyStats(absl::string_view key) const;
  bool quotas_enabled() const { return quotas_enabled_; }

  // Cancels everything and refuses new runs; then waits until every Run()
  // call has left (launched processes are terminated, not waited for).
  void Shutdown();

 private:
  // Admits ready runs while slots are free (expiring those whose queue
  // timeout passed). Called after anything that frees a slot or changes
  // which runs are ready.
  void DispatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AdmitLocked(Slot& slot, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Wakes the slot's Acquire() (and tells the fake its wait is over).
  static void WakeLocked(Slot& slot);
  // The run refused or ended before it ran: out of the queue, its key's
  // count and token given back, its admission undone. Not its id.
  void WithdrawLocked(Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts the key's first waiting run in ready_ when its key may run more.
  void RefreshReadyLocked(KeyState& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnreadyLocked(KeyState& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReleaseKeyLocked(Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status QuotaRefusal(const Slot& slot, QuotaExceeded refusal)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool NoCallLiveLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Stats() under the lock: all but the per-key map, and copies of the keys
  // in use with the clock's reading.
  QueueStats StatsWithoutKeys(
      std::vector<std::pair<std::string, KeyState>>& in_use, int64_t& now) const
      ABSL_LOCKS_EXCLUDED(mu_);

  const QueuePolicy policy_;
  const bool quotas_enabled_;
  const Manager& clock_;
  // The manager when it is the in-memory fake, else null (see Acquire).
  const MemoryManager* const fake_;
  const Emit emit_;
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  QuotaTable quotas_ ABSL_GUARDED_BY(mu_);
  // Without quotas: the one key every run belongs to (no caps, no rate).
  const ResolvedQuota no_quota_{Quota{}};
  KeyState unkeyed_ ABSL_GUARDED_BY(mu_);
  // The first waiting run of each key under its cap, by ticket.
  std::map<uint64_t, Slot*> ready_ ABSL_GUARDED_BY(mu_);
  uint64_t quota_rejected_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::size_t running_ ABSL_GUARDED_BY(mu_) = 0;
  // Every waiting run in arrival order (Position, Stats).
  std::deque<Slot*> queued_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::shared_ptr<Slot>, std::less<>> live_
      ABSL_GUARDED_BY(mu_);
  uint64_t completed_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t rejected_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cancelled_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<absl::Duration> recent_ ABSL_GUARDED_BY(mu_);
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_RUN_QUEUE_H_
