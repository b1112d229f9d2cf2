// RunQueue: admission, waiting, cancellation, statistics (see run_queue.h).
#include "sandbox/run_queue.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"

namespace procsandbox::sandbox_internal {
namespace {

// How often a queued run looks at the manager's clock when nothing wakes it:
// the fake's virtual time moves without telling anyone.
constexpr absl::Duration kClockPoll = absl::Milliseconds(20);
constexpr std::size_t kAverageOver = 100;

}  // namespace

absl::StatusOr<std::shared_ptr<Slot>> RunQueue::Enter(std::string id) {
  absl::MutexLock lock(&mu_);
  if (id.empty()) {
    // Assigned here, under the lock, so it can collide neither with a
    // caller's id nor with another assigned one.
    do {
      id = fmt::format("run-{}", next_id_++);
    } while (live_.count(id) != 0);
  }
  if (shut_down_) {
    return absl::FailedPreconditionError(
        fmt::format("run {}: the sandbox is shutting down", id));
  }
  if (live_.count(id) != 0) {
    return absl::InvalidArgumentError(
        fmt::format("run {}: a live run already has this id", id));
  }
  auto slot = std::make_shared<Slot>();
  slot->id = id;
  live_[std::move(id)] = slot;
  return slot;
}

bool RunQueue::CanAdmitLocked(const Slot& slot) const {
  // FIFO: only the head, and only while a slot is free. (Per-tenant quotas
  // belong here.)
  return !queued_.empty() && queued_.front() == &slot &&
         running_ < policy_.max_concurrent;
}

void RunQueue::RemoveQueuedLocked(const Slot& slot) {
  auto it = std::find(queued_.begin(), queued_.end(), &slot);
  if (it != queued_.end()) queued_.erase(it);
  // The next in line may now be admissible.
  changed_.SignalAll();
}

absl::Status RunQueue::Acquire(const std::shared_ptr<Slot>& slot,
                               absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  slot->queued_at = clock_.Now();
  // A run that can start now never waits, so the bound on waiting runs does
  // not apply to it (max_queued 0: "run now or refuse").
  const bool at_once = queued_.empty() && running_ < policy_.max_concurrent;
  if (!at_once && queued_.size() >= policy_.max_queued) {
    ++rejected_;
    return absl::ResourceExhaustedError(
        fmt::format("queue run {}: the queue is full ({} waiting, {} running)",
                    slot->id, queued_.size(), running_));
  }
  // The ticket is taken with the place in the queue: it is the FIFO order.
  slot->ticket = next_ticket_++;
  queued_.push_back(slot.get());
  const std::size_t position = queued_.size();
  if (emit_) {
    emit_(SandboxEvent::Kind::kQueued, slot->id,
          fmt::format("ticket {}, position {}, {} running", slot->ticket,
                      position, running_));
  }
  const absl::Time deadline = slot->queued_at + timeout;
  for (bool waited = false;; waited = true) {
    if (slot->cancelled) {
      RemoveQueuedLocked(*slot);
      ++cancelled_;
      return absl::CancelledError(
          fmt::format("run {}: cancelled while queued", slot->id));
    }
    const absl::Time now = clock_.Now();
    // After a wait the deadline comes first: a run whose time is up is not
    // admitted because a slot happens to be free when it wakes.
    const bool expired = now >= deadline;
    if ((!waited || !expired) && CanAdmitLocked(*slot)) {
      queued_.pop_front();
      ++running_;
      slot->admitted = true;
      slot->admitted_at = now;
      changed_.SignalAll();
      return absl::OkStatus();
    }
    if (expired) {
      RemoveQueuedLocked(*slot);
      ++rejected_;
      return absl::DeadlineExceededError(
          fmt::format("run {}: no slot within the queue timeout of {}",
                      slot->id, procsandbox::FormatDuration(timeout)));
    }
    if (deadline == absl::InfiniteFuture()) {
      changed_.Wait(&mu_);
    } else {
      changed_.WaitWithTimeout(&mu_, std::min(deadline - now, kClockPoll));
    }
  }
}

bool RunQueue::Attach(const std::shared_ptr<Slot>& slot,
                      std::shared_ptr<Process> process) {
  absl::MutexLock lock(&mu_);
  slot->process = std::move(process);
  return !slot->cancelled;
}

void RunQueue::Leave(const std::shared_ptr<Slot>& slot,
                     std::optional<absl::Duration> run_time) {
  absl::MutexLock lock(&mu_);
  if (slot->admitted) {
    slot->admitted = false;
    --running_;
  } else {
    auto it = std::find(queued_.begin(), queued_.end(), slot.get());
    if (it != queued_.end()) queued_.erase(it);
  }
  if (run_time.has_value()) {
    ++completed_;
    recent_.push_back(*run_time);
    if (recent_.size() > kAverageOver) recent_.pop_front();
  }
  auto it = live_.find(slot->id);
  if (it != live_.end() && it->second == slot) live_.erase(it);
  changed_.SignalAll();
}

absl::Status RunQueue::Cancel(absl::string_view id) {
  std::shared_ptr<Process> to_stop;
  {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(id);
    if (it == live_.end()) {
      return absl::NotFoundError(
          fmt::format("cancel run {}: no live run has this id", id));
    }
    it->second->cancelled = true;
    to_stop = it->second->process;
    changed_.SignalAll();
  }
  if (to_stop != nullptr) return to_stop->Terminate();
  return absl::OkStatus();
}

absl::StatusOr<std::size_t> RunQueue::Position(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = live_.find(id);
  if (it == live_.end()) {
    return absl::NotFoundError(
        fmt::format("position of run {}: no live run has this id", id));
  }
  if (it->second->admitted) return std::size_t{0};
  auto q = std::find(queued_.begin(), queued_.end(), it->second.get());
  if (q == queued_.end()) {
    return absl::NotFoundError(
        fmt::format("position of run {}: not queued yet (being checked)", id));
  }
  return static_cast<std::size_t>(q - queued_.begin()) + 1;
}

QueueStats RunQueue::Stats() const {
  absl::MutexLock lock(&mu_);
  QueueStats stats;
  stats.running = running_;
  stats.pending = queued_.size();
  stats.max_concurrent = policy_.max_concurrent;
  stats.max_queued = policy_.max_queued;
  stats.completed = completed_;
  stats.rejected = rejected_;
  stats.cancelled = cancelled_;
  if (!recent_.empty()) {
    absl::Duration sum = absl::ZeroDuration();
    for (absl::Duration d : recent_) sum += d;
    stats.average_run_time = sum / static_cast<int64_t>(recent_.size());
  }
  if (running_ >= policy_.max_concurrent) {
    const auto rounds =
        static_cast<int64_t>(queued_.size() / policy_.max_concurrent + 1);
    stats.estimated_wait = stats.average_run_time * rounds;
  }
  return stats;
}

bool RunQueue::NoCallLiveLocked() const {
  for (const auto& [id, slot] : live_) {
    if (!slot->launched) return false;
  }
  return true;
}

void RunQueue::Shutdown() {
  std::vector<std::shared_ptr<Process>> to_stop;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    for (auto& [id, slot] : live_) {
      slot->cancelled = true;
      if (slot->process != nullptr) to_stop.push_back(slot->process);
    }
    changed_.SignalAll();
  }
  for (const std::shared_ptr<Process>& p : to_stop) (void)p->Terminate();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &RunQueue::NoCallLiveLocked));
}

}  // namespace procsandbox::sandbox_internal
