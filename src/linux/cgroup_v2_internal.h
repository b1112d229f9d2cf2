// What the cgroup v2 driver (cgroup_v2_driver.cc) and the group of one
// process tree (cgroup_v2_group.cc) share: a leaf directory and the files
// kept open in it. Private to those two files.
#ifndef PROCSANDBOX_SRC_LINUX_CGROUP_V2_INTERNAL_H_
#define PROCSANDBOX_SRC_LINUX_CGROUP_V2_INTERNAL_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "linux/cgroup.h"
#include "linux/cgroup_fs.h"
#include "posix/unique_fd.h"
#include "procsandbox/limits.h"

namespace procsandbox::linux_internal::cgroup_v2 {

using ::procsandbox::posix_internal::UniqueFd;

// The files of a leaf that descriptors are kept on. Prepare() (or Create()
// without a spare) opens them all; Create() closes the limit files once
// written, PlacementDone() the placement ones; the rest serve the running
// tree. cgroup.freeze and cgroup.kill, written only to stop a tree, are
// opened by path then.
enum LeafFile {
  // Read while the tree runs.
  kEvents,
  kCpuStat,
  kMemoryCurrent,
  kMemoryPeak,
  kMemoryEvents,
  kPidsCurrent,
  kPidsEvents,
  // Written once, by Create().
  kMemoryMax,
  kMemorySwapMax,
  kMemoryOomGroup,
  kPidsMax,
  kCpuWeight,
  // For a child that joins by writing "0": opened only when clone3
  // placement is off (or JoinFromChild() asks), never for a clone3 spawn.
  kProcs,
  kLeafFileCount
};

// One leaf directory and its open files.
struct Leaf {
  std::string name;  // "12"
  std::string path;  // "<manager>/12"
  UniqueFd dir;      // for clone3(CLONE_INTO_CGROUP)
  std::array<CgroupFile, kLeafFileCount> files;
  bool has_freeze = false;
  bool has_kill = false;
  // The limits Create() wrote (file name in the leaf, value), for Verify().
  struct Written {
    LimitKind limit;
    const char* file;
    std::string value;
  };
  std::vector<Written> written;
};

// The group of one process tree in `leaf` (its limits written, the limit
// files closed). `manager_dir` is the driver's directory (shared: a group
// may outlive its driver).
std::unique_ptr<Cgroup> NewGroup(Leaf leaf, bool clone_into,
                                 std::shared_ptr<const UniqueFd> manager_dir);

}  // namespace procsandbox::linux_internal::cgroup_v2

#endif  // PROCSANDBOX_SRC_LINUX_CGROUP_V2_INTERNAL_H_
