// What a new Linux OS manager reports in its Capabilities: each limit's
// mechanism, the features it uses, and what the kernel offers beyond them.
#ifndef PROCSANDBOX_SRC_LINUX_PROBE_H_
#define PROCSANDBOX_SRC_LINUX_PROBE_H_

#include "linux/cgroup_setup.h"
#include "linux/linux_child.h"
#include "procsandbox/capabilities.h"

namespace procsandbox::linux_internal {

// The capabilities of a manager whose cgroups SetUpCgroups set up. The
// rlimit fallback of each limit is RlimitFallback (linux_child.h, where the
// processes use it too; defined in probe.cc).
Capabilities Probe(const OsManagerCore& core, const CgroupSetup& setup);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_PROBE_H_
