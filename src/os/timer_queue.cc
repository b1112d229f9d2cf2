#include "os/timer_queue.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <utility>

namespace procsandbox::os_internal {

TimerQueue::TimerId TimerQueue::Add(int64_t at_ns, std::function<void()> fn) {
  const TimerId id = next_id_++;
  by_time_.emplace(at_ns, id);
  timers_.emplace(id, std::make_pair(at_ns, std::move(fn)));
  return id;
}

void TimerQueue::Cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  auto [first, last] = by_time_.equal_range(it->second.first);
  for (auto t = first; t != last; ++t) {
    if (t->second == id) {
      by_time_.erase(t);
      break;
    }
  }
  timers_.erase(it);
}

std::optional<int64_t> TimerQueue::Next() const {
  if (by_time_.empty()) return std::nullopt;
  return by_time_.begin()->first;
}

void TimerQueue::RunDue(int64_t now_ns) {
  while (!by_time_.empty() && by_time_.begin()->first <= now_ns) {
    const TimerId id = by_time_.begin()->second;
    by_time_.erase(by_time_.begin());
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;
    std::function<void()> fn = std::move(it->second.second);
    timers_.erase(it);
    fn();
  }
}

void TimerQueue::Clear() {
  auto timers = std::move(timers_);
  timers_.clear();
  by_time_.clear();
}

}  // namespace procsandbox::os_internal
