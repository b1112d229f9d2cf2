#include "os/event_loop.h"

#include <chrono>
#include <cstdint>

namespace procsandbox::os_internal {

int64_t MonotonicNanos() {
  // steady_clock is CLOCK_MONOTONIC on Linux (a vDSO call, no syscall), the
  // clock the Linux reactor's timerfd runs on.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace procsandbox::os_internal
