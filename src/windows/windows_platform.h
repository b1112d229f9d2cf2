// The Windows backend's Platform (os/platform.h): what src/os runs over on
// Windows, as NewOsManager().
//
// Children start suspended with CreateProcessW in a new process group,
// inherit exactly their three standard handles, join a Job Object of their
// own and are resumed (spawn.h, job.h). One IocpLoop thread per manager
// takes every completion: the jobs' notifications (exits, the end of the
// tree, the CPU budget, memory limits), the reads of output pipes and the
// writes of stdin data. Limits are the job's: memory as committed memory of
// the job and of each process, processes as the active process limit, CPU
// time as the job's user time; capabilities() says so, and what this host
// (Wine) does not enforce.
#ifndef PROCSANDBOX_SRC_WINDOWS_WINDOWS_PLATFORM_H_
#define PROCSANDBOX_SRC_WINDOWS_WINDOWS_PLATFORM_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "os/platform.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/os_manager.h"

namespace procsandbox::windows_internal {

// Wine's version when this process runs under Wine, else empty.
std::string WineVersion();

// What the Windows backend enforces and how, for `options` on this host.
Capabilities WindowsCapabilities(const OsManagerOptions& options);

// A manager's Platform: starts its loop. ResourceExhausted when the port or
// the thread cannot be had.
absl::StatusOr<std::unique_ptr<os_internal::Platform>> NewWindowsPlatform(
    const OsManagerOptions& options);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_WINDOWS_PLATFORM_H_
