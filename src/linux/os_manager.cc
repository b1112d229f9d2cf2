// NewOsManager on Linux: the checks, the reactor, the cgroups and the
// capabilities, under the neutral manager (os/os_manager.h). The cgroup
// set-up is in cgroup_setup.cc, the capabilities probe in probe.cc.
#include "procsandbox/os_manager.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup_setup.h"
#include "linux/linux_child.h"
#include "linux/probe.h"
#include "linux/spawn.h"
#include "os/os_manager.h"
#include "posix/errno_status.h"

namespace procsandbox {

absl::StatusOr<std::unique_ptr<Manager>> NewOsManager(
    OsManagerOptions options) {
  using linux_internal::OsManagerCore;
  if (absl::Status s = os_internal::ValidateManagerOptions(options); !s.ok()) {
    return s;
  }
  // pidfds (CLONE_PIDFD, waitid(P_PIDFD)) need Linux 5.4.
  const int64_t pidfd = syscall(SYS_pidfd_open, getpid(), 0U);
  if (pidfd < 0) {
    return absl::FailedPreconditionError(
        fmt::format("create the Linux OS manager: pidfd_open failed ({}): it "
                    "needs Linux 5.4 "
                    "or later",
                    posix_internal::ErrnoName(errno)));
  }
  close(static_cast<int>(pidfd));
  auto core = std::make_shared<OsManagerCore>();
  absl::StatusOr<std::unique_ptr<linux_internal::Reactor>> reactor =
      linux_internal::Reactor::Create();
  if (!reactor.ok()) return reactor.status();
  core->reactor = *std::move(reactor);
  core->options = options;
  // Spare groups hold about 10 descriptors each (more on v1): worth it for
  // a host that may run many trees, not under a small hard limit, where
  // they would leave too few for the run itself.
  struct rlimit hard;
  if (getrlimit(RLIMIT_NOFILE, &hard) == 0 &&
      hard.rlim_max < OsManagerCore::kSparesFromNofile) {
    core->spare_groups = 0;
  }
  linux_internal::CgroupSetup setup;
  if (absl::Status s = linux_internal::SetUpCgroups(*core, setup); !s.ok()) {
    return s;
  }
  core->capabilities = linux_internal::Probe(*core, setup);
  // Every child costs a pidfd: raise this process's soft descriptor limit to
  // its hard one (children get the original back).
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur < nofile.rlim_max) {
    const rlim_t original = nofile.rlim_cur;
    nofile.rlim_cur = nofile.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nofile) == 0) {
      core->child_nofile = linux_internal::RlimitSetting{
          RLIMIT_NOFILE, original, nofile.rlim_max};
    }
  }
  return os_internal::NewManager(
      std::move(options), linux_internal::NewLinuxPlatform(std::move(core)));
}

}  // namespace procsandbox
