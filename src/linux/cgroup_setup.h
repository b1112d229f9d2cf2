// The cgroup set-up of a new Linux OS manager: finds the hierarchies,
// removes groups a crashed earlier host left, and makes the drivers.
#ifndef PROCSANDBOX_SRC_LINUX_CGROUP_SETUP_H_
#define PROCSANDBOX_SRC_LINUX_CGROUP_SETUP_H_

#include <string>

#include "absl/status/status.h"
#include "linux/cgroup_detect.h"
#include "linux/linux_child.h"

namespace procsandbox::linux_internal {

// What the set-up found, and why a version is not used (for Probe).
struct CgroupSetup {
  CgroupHost host;
  std::string v2_why = "no cgroup2 mount";
  std::string v1_why = "no cgroup v1 controller mounted";
};

// Finds the hierarchies, removes groups a crashed earlier host left, and
// makes the drivers (core.cgroup_v2, core.cgroup_v1; either may stay null).
// An explicit cgroup_root that cannot be used is an error; otherwise what is
// missing is reported in the capabilities (setup's reasons).
absl::Status SetUpCgroups(OsManagerCore& core, CgroupSetup& setup);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CGROUP_SETUP_H_
