// The neutral OS manager: a Manager over one Platform (platform.h).
//
// The live table (keyed by pid, a process leaves it when reaped), New, Get,
// List, the default limits, and the shutdown: TERM to every running
// process, a wait a little past the longest kill grace, KILL to what is
// left, then the loop stops and the platform removes its containers — once
// no Start() that raced with the shutdown is still under way.
//
// A backend's factory (NewOsManager on Linux) validates the options with
// ValidateManagerOptions first, makes its Platform, then calls NewManager.
#ifndef PROCSANDBOX_SRC_OS_OS_MANAGER_H_
#define PROCSANDBOX_SRC_OS_OS_MANAGER_H_

#include <memory>

#include "absl/status/status.h"
#include "os/platform.h"
#include "procsandbox/manager.h"
#include "procsandbox/os_manager.h"

namespace procsandbox::os_internal {

// InvalidArgument ("default limits: ...") for default limits that
// ValidateLimits refuses.
absl::Status ValidateManagerOptions(const OsManagerOptions& options);

// A manager that runs its processes on `platform` (owned).
std::unique_ptr<Manager> NewManager(OsManagerOptions options,
                                    std::unique_ptr<Platform> platform);

}  // namespace procsandbox::os_internal

#endif  // PROCSANDBOX_SRC_OS_OS_MANAGER_H_
