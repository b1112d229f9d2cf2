// The cgroup v1 driver (being written).
#include "linux/cgroup.h"

namespace procsandbox::linux_internal {

absl::StatusOr<std::unique_ptr<CgroupDriver>> NewCgroupV1Driver(
    const CgroupV1Config&) {
  return absl::UnimplementedError("cgroup v1 driver: not written yet");
}

}  // namespace procsandbox::linux_internal
