#include "common/usage_timeline.h"

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace procsandbox::internal {

UsageTimeline::UsageTimeline(std::size_t max_samples)
    : max_samples_(std::max<std::size_t>(max_samples, 2)) {}

void UsageTimeline::Complete(UsageSample& sample) {
  const absl::Duration cpu = sample.user_time + sample.system_time;
  const absl::Duration previous_cpu =
      has_previous_ ? previous_.user_time + previous_.system_time
                    : absl::ZeroDuration();
  const absl::Duration previous_elapsed =
      has_previous_ ? previous_.elapsed : absl::ZeroDuration();
  const absl::Duration wall = sample.elapsed - previous_elapsed;
  if (wall > absl::ZeroDuration()) {
    // CPU read from two sources (a cgroup, then rusage at the end) may
    // step back a little: never a negative percentage.
    sample.cpu_percent =
        std::max(0.0, absl::FDivDuration(cpu - previous_cpu, wall) * 100);
  } else {
    // No time passed (the end at the instant of a sample): nothing new.
    sample.cpu_percent = has_previous_ ? previous_.cpu_percent : 0;
  }
  int64_t peak = std::max(sample.peak_memory_bytes, sample.memory_bytes);
  if (has_previous_) peak = std::max(peak, previous_.peak_memory_bytes);
  sample.peak_memory_bytes = peak;
  previous_ = sample;
  has_previous_ = true;
}

void UsageTimeline::Decimate() {
  std::size_t out = 0;
  for (std::size_t i = 0; i < kept_.size(); i += 2) kept_[out++] = kept_[i];
  kept_.resize(out);
  stride_ *= 2;
}

UsageSample UsageTimeline::Add(UsageSample sample) {
  Complete(sample);
  const int64_t index = taken_++;
  if (index % stride_ != 0) return sample;
  if (kept_.size() >= max_samples_) {
    Decimate();
    // The kept samples are the multiples of the new stride.
    if (index % stride_ != 0) return sample;
  }
  kept_.push_back(sample);
  return sample;
}

std::vector<UsageSample> UsageTimeline::Finish(UsageSample& sample) {
  Complete(sample);
  ++taken_;
  if (kept_.size() >= max_samples_) Decimate();
  kept_.push_back(sample);
  std::vector<UsageSample> timeline = std::move(kept_);
  kept_.clear();
  return timeline;
}

}  // namespace procsandbox::internal
