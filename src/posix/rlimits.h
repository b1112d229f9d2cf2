// The rlimits that carry a Limits in a child (set between fork/clone and
// exec). POSIX resources only: the darwin backend uses the same plan.
#ifndef PROCSANDBOX_SRC_POSIX_RLIMITS_H_
#define PROCSANDBOX_SRC_POSIX_RLIMITS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "posix/exec_plan.h"
#include "procsandbox/limits.h"

namespace procsandbox::posix_internal {

// Which limits rlimits carry where a container might carry them instead.
struct RlimitChoice {
  bool memory = false;     // RLIMIT_AS for memory_bytes
  bool processes = false;  // RLIMIT_NPROC for processes
  // With no open_files limit: what the child gets (the host's original
  // soft RLIMIT_NOFILE when the manager raised its own), or nothing.
  std::optional<RlimitSetting> nofile_default;
};

// RLIMIT_CPU (soft at cpu_time rounded up to a second: SIGXCPU, hard a
// second later: SIGKILL if it is caught), RLIMIT_AS, RLIMIT_FSIZE,
// RLIMIT_NOFILE, RLIMIT_NPROC, in that order, for the limits set.
std::vector<RlimitSetting> RlimitPlan(const Limits& limits,
                                      const RlimitChoice& choice);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_RLIMITS_H_
