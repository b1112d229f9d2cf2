#include "procsandbox/monitor.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "procsandbox/limits.h"

namespace procsandbox {

bool operator==(const UsageSample& a, const UsageSample& b) {
  return a.time == b.time && a.elapsed == b.elapsed &&
         a.user_time == b.user_time && a.system_time == b.system_time &&
         a.cpu_percent == b.cpu_percent && a.memory_bytes == b.memory_bytes &&
         a.peak_memory_bytes == b.peak_memory_bytes &&
         a.processes == b.processes && a.stdout_bytes == b.stdout_bytes &&
         a.stderr_bytes == b.stderr_bytes && a.state == b.state;
}

// A callback cannot be compared: two Monitorings are equal when both have
// one or neither has.
bool operator==(const Monitoring& a, const Monitoring& b) {
  return a.enabled == b.enabled && a.interval == b.interval &&
         a.max_samples == b.max_samples &&
         static_cast<bool>(a.on_sample) == static_cast<bool>(b.on_sample);
}

std::string ToString(const UsageSample& sample) {
  return absl::StrFormat(
      "%s: cpu %.0f%% (%s), memory %s (peak %s), %d process%s, out %s, "
      "err %s, %s",
      procsandbox::FormatDuration(sample.elapsed), sample.cpu_percent,
      procsandbox::FormatDuration(sample.user_time + sample.system_time),
      FormatByteSize(sample.memory_bytes),
      FormatByteSize(sample.peak_memory_bytes), sample.processes,
      sample.processes == 1 ? "" : "es", FormatByteSize(sample.stdout_bytes),
      FormatByteSize(sample.stderr_bytes), ProcessStateName(sample.state));
}

}  // namespace procsandbox
