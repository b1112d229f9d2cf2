// The concurrency queue: at most N runs at once, the rest waiting in FIFO
// order, bounded in length and in waiting time (the manager's clock), each
// cancellable while queued or running. Admission is decided in one place
// (`CanAdmitLocked`), where per-tenant quotas will go.
#ifndef PROCSANDBOX_SRC_SANDBOX_RUN_QUEUE_H_
#define PROCSANDBOX_SRC_SANDBOX_RUN_QUEUE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "procsandbox/manager.h"
#include "procsandbox/process.h"
#include "procsandbox/sandbox.h"

namespace procsandbox::sandbox_internal {

// One live run, from Enter() to Leave().
struct Slot {
  std::string id;
  uint64_t ticket = 0;
  absl::Time queued_at;
  absl::Time admitted_at;
  bool admitted = false;
  bool cancelled = false;
  // Launch(): the slot is held by a SandboxProcess, not by a call.
  bool launched = false;
  std::shared_ptr<Process> process;
};

class RunQueue {
 public:
  // kQueued events are emitted through `emit` with the lock held, so they
  // come in arrival order.
  using Emit = std::function<void(SandboxEvent::Kind, const std::string& id,
                                  std::string detail)>;
  RunQueue(const QueuePolicy& policy, const Manager& clock, Emit emit)
      : policy_(policy), clock_(clock), emit_(std::move(emit)) {}

  // Registers `id` (empty: assigns "run-<n>", one no live run has):
  // InvalidArgument when a live run has it, FailedPrecondition after
  // Shutdown(). No waiting.
  absl::StatusOr<std::shared_ptr<Slot>> Enter(std::string id);
  // Queues the slot and blocks until it may run: at once when nothing waits
  // and a slot is free (whatever max_queued and the timeout); else
  // ResourceExhausted at once when max_queued runs already wait,
  // DeadlineExceeded after `timeout` (checked when a slot frees and at least
  // every 20 ms of real time), Cancelled by Cancel(). On any error the slot is
  // no longer queued (Leave() it).
  absl::Status Acquire(const std::shared_ptr<Slot>& slot,
                       absl::Duration timeout);
  // Records the started process; false when the run was cancelled meanwhile
  // (the caller stops it).
  bool Attach(const std::shared_ptr<Slot>& slot,
              std::shared_ptr<Process> process);
  // Frees the slot's place (running or not) and its id. `run_time` (when it
  // ran) feeds the average.
  void Leave(const std::shared_ptr<Slot>& slot,
             std::optional<absl::Duration> run_time);

  // See Sandbox::Cancel / Position / Stats.
  absl::Status Cancel(absl::string_view id);
  absl::StatusOr<std::size_t> Position(absl::string_view id) const;
  QueueStats Stats() const;

  // Cancels everything and refuses new runs; then waits until every Run()
  // call has left (launched processes are terminated, not waited for).
  void Shutdown();

 private:
  bool CanAdmitLocked(const Slot& slot) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveQueuedLocked(const Slot& slot) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool NoCallLiveLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const QueuePolicy policy_;
  const Manager& clock_;
  const Emit emit_;
  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::size_t running_ ABSL_GUARDED_BY(mu_) = 0;
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
