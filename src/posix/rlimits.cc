#include "posix/rlimits.h"

#include <sys/resource.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"

namespace procsandbox::posix_internal {
namespace {

RlimitSetting Rlimit(int resource, uint64_t value) {
  return {resource, value, value};
}

}  // namespace

std::vector<RlimitSetting> RlimitPlan(const Limits& limits,
                                      const RlimitChoice& choice) {
  std::vector<RlimitSetting> plan;
  if (limits.cpu_time) {
    // SIGXCPU at the soft limit, SIGKILL a second later if it is caught.
    // Under a cgroup the reactor stops the whole tree first; this stays as
    // a backstop for the first process.
    const auto secs = static_cast<uint64_t>(
        std::ceil(absl::ToDoubleSeconds(*limits.cpu_time)));
    plan.push_back({RLIMIT_CPU, secs, secs + 1});
  }
  if (limits.memory_bytes && choice.memory) {
    plan.push_back(
        Rlimit(RLIMIT_AS, static_cast<uint64_t>(*limits.memory_bytes)));
  }
  if (limits.file_size_bytes) {
    plan.push_back(
        Rlimit(RLIMIT_FSIZE, static_cast<uint64_t>(*limits.file_size_bytes)));
  }
  if (limits.open_files) {
    plan.push_back(
        Rlimit(RLIMIT_NOFILE, static_cast<uint64_t>(*limits.open_files)));
  } else if (choice.nofile_default) {
    // select()-based programs break above 1024 descriptors.
    plan.push_back(*choice.nofile_default);
  }
  if (limits.processes && choice.processes) {
    plan.push_back(
        Rlimit(RLIMIT_NPROC, static_cast<uint64_t>(*limits.processes)));
  }
  return plan;
}

}  // namespace procsandbox::posix_internal
