// UsageTimeline: the samples of one monitored process (Command::monitor),
// kept the same way by every manager.
//
// A manager takes a sample every Monitoring::interval and one at the end,
// fills in the figures it reads, and hands each to Add() (AddFinal() for
// the last): the timeline computes cpu_percent over the wall time since the
// previous sample taken (not the previous one kept), keeps the peak memory
// from going down, and bounds what it keeps at max_samples. Past that bound
// every other kept sample is dropped (the first stays) and only every
// 2^k-th sample taken is kept from then on, so the kept samples stay evenly
// spaced; the final sample is always kept.
//
// Example:
//   internal::UsageTimeline timeline(command.monitor.max_samples);
//   UsageSample s = ReadUsage();            // every interval
//   s = timeline.Add(s);                    // s.cpu_percent is now set
//   if (command.monitor.on_sample) deliver(s);  // outside any lock
//   ...
//   outcome.samples = timeline.Finish(final_sample);
//
// Not thread-safe: the owner guards it (the process's lock).
#ifndef PROCSANDBOX_SRC_COMMON_USAGE_TIMELINE_H_
#define PROCSANDBOX_SRC_COMMON_USAGE_TIMELINE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "procsandbox/monitor.h"

namespace procsandbox::internal {

class UsageTimeline {
 public:
  // `max_samples` as validated (at least 2).
  explicit UsageTimeline(std::size_t max_samples);

  // Completes `sample` (cpu_percent over the time since the previous sample
  // taken, or since Start(); peak_memory_bytes at least the previous peak
  // and the memory now), keeps it when its turn says so, and returns it as
  // completed, for the callback.
  UsageSample Add(UsageSample sample);
  // The sample at the end: completed as by Add() and always kept. Returns
  // the timeline (oldest first, at most max_samples), and leaves it empty.
  std::vector<UsageSample> Finish(UsageSample& sample);

  // Samples taken so far (kept or not), and the kept ones.
  int64_t taken() const { return taken_; }
  const std::vector<UsageSample>& kept() const { return kept_; }

 private:
  void Complete(UsageSample& sample);
  // Drops every other kept sample, the first staying; doubles the stride.
  void Decimate();

  std::size_t max_samples_;
  int64_t stride_ = 1;  // a sample taken is kept when taken_ % stride_ == 0
  int64_t taken_ = 0;
  bool has_previous_ = false;
  UsageSample previous_;  // the last one taken
  std::vector<UsageSample> kept_;
};

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_USAGE_TIMELINE_H_
