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
#include "sandbox/quota.h"

namespace procsandbox::sandbox_internal {
namespace {

// How often a queued run looks at the manager's clock when nothing wakes it:
// the fake's virtual time moves without telling anyone.
constexpr absl::Duration kClockPoll = absl::Milliseconds(20);
constexpr std::size_t kAverageOver = 100;

}  // namespace

RunQueue::RunQueue(const QueuePolicy& policy, const QuotaPolicy& quota,
                   const Manager& clock, Emit emit)
    : policy_(policy),
      quotas_enabled_(quota.enabled),
      clock_(clock),
      fake_(dynamic_cast<const MemoryManager*>(&clock)),
      emit_(std::move(emit)),
      quotas_(quota, clock.Now()) {
  unkeyed_.quota = &no_quota_;
}

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

void RunQueue::UnreadyLocked(KeyState& key) {
  if (key.ready_ticket != 0) {
    ready_.erase(key.ready_ticket);
    key.ready_ticket = 0;
  }
}

void RunQueue::RefreshReadyLocked(KeyState& key) {
  UnreadyLocked(key);
  if (key.head != nullptr && key.UnderConcurrency()) {
    key.ready_ticket = key.head->ticket;
    ready_.emplace(key.ready_ticket, key.head);
  }
}

void RunQueue::WakeLocked(Slot& slot) {
  slot.wake.Signal();
  if (slot.host_wait != nullptr) slot.host_wait->Release();
}

void RunQueue::AdmitLocked(Slot& slot, absl::Time now) {
  ++running_;
  ++slot.key->running;
  slot.admitted = true;
  slot.admitted_at = now;
  WakeLocked(slot);
}

void RunQueue::DispatchLocked() {
  if (ready_.empty() || running_ >= policy_.max_concurrent) return;
  const absl::Time now = clock_.Now();
  while (!ready_.empty() && running_ < policy_.max_concurrent) {
    Slot& slot = *ready_.begin()->second;
    KeyState& key = *slot.key;
    // The head of its key's list (ready_ holds only heads).
    UnreadyLocked(key);
    key.head = slot.next_in_key;
    if (key.head == nullptr) key.tail = nullptr;
    slot.next_in_key = nullptr;
    --key.queued;
    queued_.erase(std::find(queued_.begin(), queued_.end(), &slot));
    if (now >= slot.deadline) {
      // Its time was up before a slot freed: it is not admitted because one
      // happens to be free now. Its thread reports the timeout; it holds
      // nothing of its key any more (which may be dropped before it wakes).
      slot.expired = true;
      if (slot.took_token) {
        quotas_.GiveBack(key, slot.token, quotas_.ToNanos(now));
        slot.took_token = false;
      }
      WakeLocked(slot);
      ReleaseKeyLocked(slot);
    } else {
      AdmitLocked(slot, now);
      RefreshReadyLocked(key);
    }
  }
}

void RunQueue::ReleaseKeyLocked(Slot& slot) {
  KeyState* key = slot.key;
  if (key == nullptr) return;
  slot.key = nullptr;
  RefreshReadyLocked(*key);
  if (key != &unkeyed_ && key->running == 0 && key->queued == 0) {
    quotas_.DropIfIdle(slot.quota_key, *key, quotas_.ToNanos(clock_.Now()));
  }
}

void RunQueue::WithdrawLocked(Slot& slot) {
  KeyState* key = slot.key;
  if (key == nullptr) return;
  if (slot.admitted) {
    slot.admitted = false;
    --running_;
    --key->running;
  } else {
    auto it = std::find(queued_.begin(), queued_.end(), &slot);
    if (it != queued_.end()) {
      queued_.erase(it);
      UnreadyLocked(*key);
      // Unlink from the key's list.
      Slot* prev = nullptr;
      for (Slot* s = key->head; s != nullptr; prev = s, s = s->next_in_key) {
        if (s != &slot) continue;
        (prev == nullptr ? key->head : prev->next_in_key) = s->next_in_key;
        if (key->tail == s) key->tail = prev;
        --key->queued;
        break;
      }
      slot.next_in_key = nullptr;
    }
  }
  if (slot.took_token) {
    quotas_.GiveBack(*key, slot.token, quotas_.ToNanos(clock_.Now()));
    slot.took_token = false;
  }
  ReleaseKeyLocked(slot);
  DispatchLocked();
}

absl::Status RunQueue::QuotaRefusal(const Slot& slot, QuotaExceeded refusal) {
  ++rejected_;
  ++quota_rejected_;
  ++slot.key->rejected;
  std::string message;
  const Quota& q = refusal.quota;
  if (refusal.kind == QuotaExceeded::Kind::kRate) {
    message = fmt::format(
        "run {}: quota of key \"{}\" used up: {} runs per {}; retry after {}",
        slot.id, refusal.key, *q.max_runs,
        procsandbox::FormatDuration(q.window),
        FormatRetryAfter(*refusal.retry_after));
  } else {
    message = fmt::format(
        "run {}: quota of key \"{}\": {} runs at once and {} waiting "
        "(max_concurrent {}, max_queued {})",
        slot.id, refusal.key, slot.key->running, slot.key->queued,
        q.max_concurrent.has_value() ? fmt::to_string(*q.max_concurrent)
                                     : std::string("none"),
        *q.max_queued);
  }
  absl::Status status = absl::ResourceExhaustedError(message);
  SetQuotaExceeded(status, refusal);
  return status;
}

absl::Status RunQueue::Acquire(const std::shared_ptr<Slot>& slot,
                               absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  if (slot->cancelled) {
    ++cancelled_;
    return absl::CancelledError(
        fmt::format("run {}: cancelled while queued", slot->id));
  }
  const absl::Time now = clock_.Now();
  slot->queued_at = now;
  slot->deadline = timeout == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                       : now + timeout;
  KeyState& key = quotas_enabled_
                      ? quotas_.Get(slot->quota_key, quotas_.ToNanos(now))
                      : unkeyed_;
  slot->key = &key;
  // A run that can start now never waits, so the bounds on waiting runs do
  // not apply to it (max_queued 0: "run now or refuse"). Dispatching keeps
  // ready_ empty while a slot is free, so nobody eligible is ahead of it.
  const bool at_once =
      running_ < policy_.max_concurrent && key.UnderConcurrency();
  const ResolvedQuota& quota = *key.quota;
  absl::Status refused;
  if (const int64_t wait =
          quotas_.TryTake(key, quotas_.ToNanos(now), &slot->token);
      wait > 0) {
    QuotaExceeded refusal;
    refusal.kind = QuotaExceeded::Kind::kRate;
    refusal.key = slot->quota_key;
    refusal.quota = quota.quota;
    refusal.retry_after = absl::Nanoseconds(wait);
    refusal.retry_at = now + absl::Nanoseconds(wait);
    refused = QuotaRefusal(*slot, std::move(refusal));
  } else {
    slot->took_token = quota.has_rate;
    if (!at_once && key.queued >= quota.max_queued) {
      QuotaExceeded refusal;
      refusal.kind = QuotaExceeded::Kind::kConcurrency;
      refusal.key = slot->quota_key;
      refusal.quota = quota.quota;
      refused = QuotaRefusal(*slot, std::move(refusal));
    } else if (!at_once && queued_.size() >= policy_.max_queued) {
      ++rejected_;
      refused = absl::ResourceExhaustedError(fmt::format(
          "queue run {}: the queue is full ({} waiting, {} running)", slot->id,
          queued_.size(), running_));
    }
  }
  if (!refused.ok()) {
    WithdrawLocked(*slot);
    return refused;
  }
  // The ticket is taken with the place in the queue: it is the FIFO order.
  slot->ticket = next_ticket_++;
  if (emit_) {
    // A run that starts at once is at no position (runs of keys at their
    // cap may be waiting).
    emit_(SandboxEvent::Kind::kQueued, *slot,
          at_once ? fmt::format("ticket {}, starts at once, {} running",
                                slot->ticket, running_)
                  : fmt::format("ticket {}, position {}, {} running",
                                slot->ticket, queued_.size() + 1, running_));
  }
  if (at_once) {
    AdmitLocked(*slot, now);
    return absl::OkStatus();
  }
  queued_.push_back(slot.get());
  ++key.queued;
  (key.tail == nullptr ? key.head : key.tail->next_in_key) = slot.get();
  key.tail = slot.get();
  RefreshReadyLocked(key);
  DispatchLocked();
  // On the in-memory fake this thread now waits on something only the
  // fake's programs (or its clock, at the deadline) can release: counted as
  // a waiting host, the clock may auto-advance and WaitIdle() sees it. (The
  // lock order queue -> fake is the one clock_.Now() takes.)
  std::optional<MemoryManager::HostWait> host_wait;
  if (fake_ != nullptr && !slot->admitted && !slot->expired) {
    host_wait.emplace(*fake_, slot->deadline);
    slot->host_wait = &*host_wait;
  }
  struct Unlink {
    Slot& slot;
    ~Unlink() { slot.host_wait = nullptr; }
  } unlink{*slot};
  for (;;) {
    if (slot->cancelled) {
      WithdrawLocked(*slot);
      ++cancelled_;
      return absl::CancelledError(
          fmt::format("run {}: cancelled while queued", slot->id));
    }
    if (slot->admitted) return absl::OkStatus();
    const absl::Time t = clock_.Now();
    if (slot->expired || t >= slot->deadline) {
      WithdrawLocked(*slot);
      ++rejected_;
      return absl::DeadlineExceededError(
          fmt::format("run {}: no slot within the queue timeout of {}",
                      slot->id, procsandbox::FormatDuration(timeout)));
    }
    if (slot->deadline == absl::InfiniteFuture()) {
      slot->wake.Wait(&mu_);
    } else {
      // The fake's virtual time moves without telling anyone: look again.
      slot->wake.WaitWithTimeout(&mu_,
                                 std::min(slot->deadline - t, kClockPoll));
    }
  }
}

void RunQueue::MarkLaunched(const std::shared_ptr<Slot>& slot) {
  absl::MutexLock lock(&mu_);
  slot->launched = true;
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
  if (slot->key != nullptr) {
    // A run that ran keeps its token; one that never started (refused,
    // cancelled, timed out, failed to start) gets it back.
    if (run_time.has_value()) slot->took_token = false;
    WithdrawLocked(*slot);
  }
  if (run_time.has_value()) {
    ++completed_;
    recent_.push_back(*run_time);
    if (recent_.size() > kAverageOver) recent_.pop_front();
  }
  auto it = live_.find(slot->id);
  if (it != live_.end() && it->second == slot) live_.erase(it);
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
    WakeLocked(*it->second);
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
  // Keys in use are copied under the lock and turned into stats after it:
  // with many keys, building the map is the slow part.
  std::vector<std::pair<std::string, KeyState>> in_use;
  int64_t now = 0;
  QueueStats stats = StatsWithoutKeys(in_use, now);
  for (auto& [key, state] : in_use) {
    QuotaKeyStats k = QuotaTable::StatsOf(key, state, now);
    stats.keys.emplace(std::move(key), std::move(k));
  }
  return stats;
}

QueueStats RunQueue::StatsWithoutKeys(
    std::vector<std::pair<std::string, KeyState>>& in_use, int64_t& now) const {
  absl::MutexLock lock(&mu_);
  QueueStats stats;
  stats.running = running_;
  stats.pending = queued_.size();
  stats.max_concurrent = policy_.max_concurrent;
  stats.max_queued = policy_.max_queued;
  stats.completed = completed_;
  stats.rejected = rejected_;
  stats.quota_rejected = quota_rejected_;
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
  if (quotas_enabled_) {
    now = quotas_.ToNanos(clock_.Now());
    stats.tracked_keys = quotas_.size();
    quotas_.ForEach([&](const std::string& key, const KeyState& state) {
      if (!QuotaTable::Idle(state, now)) in_use.emplace_back(key, state);
    });
  }
  return stats;
}

QuotaKeyStats RunQueue::KeyStats(absl::string_view key) const {
  absl::MutexLock lock(&mu_);
  const int64_t now = quotas_.ToNanos(clock_.Now());
  if (const KeyState* state = quotas_.Find(key)) {
    return QuotaTable::StatsOf(key, *state, now);
  }
  return quotas_.UntrackedStats(key);
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
      WakeLocked(*slot);
      if (slot->process != nullptr) to_stop.push_back(slot->process);
    }
  }
  for (const std::shared_ptr<Process>& p : to_stop) (void)p->Terminate();
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &RunQueue::NoCallLiveLocked));
}

}  // namespace procsandbox::sandbox_internal
