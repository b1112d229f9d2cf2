// Isolation on Linux, the parent's side: what the host can have
// (ProbeIsolation, for capabilities()) and the child's plans for one process
// (PlanIsolation, for Spawn). The child's side of each mechanism is in its
// own file: child_namespaces, child_mounts, child_capabilities,
// child_seccomp.
#ifndef PROCSANDBOX_SRC_LINUX_ISOLATION_H_
#define PROCSANDBOX_SRC_LINUX_ISOLATION_H_

#include <vector>

#include "absl/status/status.h"
#include "linux/spawn.h"
#include "os/platform.h"
#include "procsandbox/capabilities.h"

namespace procsandbox::linux_internal {

// One entry per IsolationKind: can this host have it, how, or why not.
std::vector<IsolationEnforcement> ProbeIsolation();

// Fills plan's isolation steps for the mechanisms the process asked for and
// can have (request.enforcement->isolation: a mechanism reported as not
// enforced is skipped; strict mode refused it before). Errors name what is
// wrong (a mount source that does not exist, an unknown syscall) and leave
// nothing behind.
absl::Status PlanIsolation(const os_internal::SpawnRequest& request,
                           SpawnPlan& plan);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_ISOLATION_H_
