// procsandbox/monitor.h: live usage samples of a running process tree.
//
// With `Command::monitor` on, the manager samples the tree every `interval`
// while it runs: CPU (cumulative, and percent of one core over the
// interval), memory now and at its peak, live processes, bytes received on
// each stream, and the state. Each sample goes to `on_sample` as it is
// taken, and the samples are kept as a bounded timeline in
// `Outcome::samples`: past `max_samples` the timeline is decimated (every
// other sample dropped, and the spacing doubled from then on), so a day-long
// run stays small; the first and the last sample are always kept. The last
// sample is taken at the end, with the final figures (those of the
// Outcome; its peak_memory_bytes is at least the highest sampled), and goes
// to `on_sample` before Wait() returns. Samples are taken while the leader
// runs; descendants that outlive it are in the sample at the end only.
//
// Example:
//   procsandbox::Command cmd("make", {"-j4"});
//   cmd.monitor.enabled = true;
//   cmd.monitor.interval = absl::Milliseconds(500);
//   cmd.monitor.on_sample = [](const procsandbox::UsageSample& s) {
//     fmt::print(stderr, "{}\n", s);   // "1.5s: cpu 98% mem 120 MiB ..."
//   };
//
// On the in-memory manager samples come from the virtual clock and the
// simulated usage, so they are the same on every run.
#ifndef PROCSANDBOX_MONITOR_H_
#define PROCSANDBOX_MONITOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"

namespace procsandbox {

enum class ProcessState {
  kNew,        // created, not started (or its Start() failed)
  kRunning,    // started and not ended
  kSuspended,  // stopped by Suspend() (or SIGSTOP)
  kEnded,      // ended; Wait() returns at once
};
// "new", "running", "suspended", "ended".
PROCSANDBOX_EXPORT absl::string_view ProcessStateName(ProcessState state);

// The tree at one instant.
struct PROCSANDBOX_EXPORT UsageSample {
  // The manager's clock (virtual time on the fake), and since Start().
  absl::Time time;
  absl::Duration elapsed = absl::ZeroDuration();
  // CPU of the tree since Start() (what the platform can see of it: the
  // cgroup's, else the leader's).
  absl::Duration user_time = absl::ZeroDuration();
  absl::Duration system_time = absl::ZeroDuration();
  // (user + system) over the wall time since the previous sample taken
  // (since Start() for the first one), in percent of one core: 250 is two
  // and a half cores busy. The previous sample's figure when no time passed
  // (an end at the instant of a sample).
  double cpu_percent = 0;
  int64_t memory_bytes = 0;       // now (0 in the sample at the end)
  int64_t peak_memory_bytes = 0;  // highest seen so far
  int64_t processes = 0;          // live processes in the tree
  // Bytes the library received from each stream so far (0 for a stream it
  // does not read: inherited, a file, null).
  int64_t stdout_bytes = 0;
  int64_t stderr_bytes = 0;
  ProcessState state = ProcessState::kRunning;

  friend PROCSANDBOX_EXPORT bool operator==(const UsageSample& a,
                                            const UsageSample& b);
  friend bool operator!=(const UsageSample& a, const UsageSample& b) {
    return !(a == b);
  }
};

// The sampling interval when nothing else is said: what services that watch
// their tools commonly use.
inline constexpr absl::Duration kDefaultSampleInterval = absl::Seconds(2);

// Sampling of one process (Command::monitor). Off by default.
struct PROCSANDBOX_EXPORT Monitoring {
  bool enabled = false;
  // Between samples; at least 1 ms (ValidateCommand).
  absl::Duration interval = kDefaultSampleInterval;
  // The timeline in Outcome::samples keeps at most this many (at least 2).
  std::size_t max_samples = 1000;
  // Each sample as it is taken, from a library thread, one call at a time
  // per process, in order, never with a lock of the library held. It must
  // return quickly (on an OS manager it runs on the thread that watches
  // every process of the manager); it may call the process's own methods
  // except Wait() and WaitFor(). On the in-memory manager it runs on the
  // thread that moves the virtual clock (VirtualClock::Advance, or a
  // Wait()), before any program runs at that instant, and the clock stands
  // still until it returns (Advance() from it: FailedPrecondition).
  std::function<void(const UsageSample&)> on_sample;

  friend PROCSANDBOX_EXPORT bool operator==(const Monitoring& a,
                                            const Monitoring& b);
  friend bool operator!=(const Monitoring& a, const Monitoring& b) {
    return !(a == b);
  }
};

// "1.5s: cpu 98% (1.4s), memory 120 MiB (peak 130 MiB), 3 processes,
// out 4 KiB, err 0 B, running".
PROCSANDBOX_EXPORT std::string ToString(const UsageSample& sample);
inline std::string ToString(ProcessState state) {
  return std::string(ProcessStateName(state));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::UsageSample)
PROCSANDBOX_FORMATTER(procsandbox::ProcessState)

#endif  // PROCSANDBOX_MONITOR_H_
