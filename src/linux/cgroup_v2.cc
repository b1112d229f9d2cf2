// The cgroup v2 driver (being written).
#include "linux/cgroup.h"

namespace procsandbox::linux_internal {

absl::StatusOr<std::unique_ptr<CgroupDriver>> NewCgroupV2Driver(
    const CgroupV2Config&) {
  return absl::UnimplementedError("cgroup v2 driver: not written yet");
}

}  // namespace procsandbox::linux_internal
