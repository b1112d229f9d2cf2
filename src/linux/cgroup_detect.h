// Which cgroup hierarchies this host has, and where this process is in them.
#ifndef PROCSANDBOX_SRC_LINUX_CGROUP_DETECT_H_
#define PROCSANDBOX_SRC_LINUX_CGROUP_DETECT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace procsandbox::linux_internal {

struct CgroupHost {
  enum class Mode {
    kNone,    // no cgroup filesystem mounted
    kV1,      // per-controller hierarchies only
    kV2,      // the unified hierarchy only
    kHybrid,  // both (v1 controllers beside a cgroup2 mount)
  };
  Mode mode = Mode::kNone;
  // The cgroup2 mount, and this process's group as a directory in it
  // (empty when there is no cgroup2 mount, or the group is not visible).
  std::string v2_mount;
  std::string v2_group;
  struct V1 {
    std::string mount;
    std::vector<std::string> controllers;  // "cpu", "cpuacct"; no "name="
    // This process's group in the hierarchy, as a directory (empty when not
    // visible under the mount).
    std::string group;
  };
  std::vector<V1> v1;

  // The v1 hierarchy carrying `controller`, or null.
  const V1* FindV1(absl::string_view controller) const;
};

// "none", "v1", "v2", "hybrid".
absl::string_view CgroupModeName(CgroupHost::Mode mode);

// From the texts of /proc/self/mountinfo and /proc/self/cgroup (split out for
// tests).
CgroupHost ParseCgroupHost(absl::string_view mountinfo,
                           absl::string_view proc_self_cgroup);
// Reads them for this process. An error (ErrnoStatus of the open or read:
// EMFILE is ResourceExhausted) when either cannot be read: a host out of
// descriptors is not a host without cgroups.
absl::StatusOr<CgroupHost> ReadCgroupHost();
// ReadCgroupHost(), or a host without cgroups when it fails (for tests and
// reports).
CgroupHost DetectCgroupHost();

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CGROUP_DETECT_H_
