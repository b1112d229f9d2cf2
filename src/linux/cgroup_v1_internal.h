// What the cgroup v1 driver (cgroup_v1_driver.cc) and the group of one
// process tree (cgroup_v1_group.cc) share: the facts found about the
// hierarchies, a leaf directory and the files kept open in it. Private to
// those two files.
#ifndef PROCSANDBOX_SRC_LINUX_CGROUP_V1_INTERNAL_H_
#define PROCSANDBOX_SRC_LINUX_CGROUP_V1_INTERNAL_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "linux/cgroup.h"
#include "linux/cgroup_fs.h"
#include "posix/unique_fd.h"

namespace procsandbox::linux_internal::cgroup_v1 {

using ::procsandbox::posix_internal::UniqueFd;

// What the driver found out about the hierarchies once, for every group.
struct Facts {
  bool memsw = false;       // memory.memsw.limit_in_bytes (swap accounting)
  bool usage_user = false;  // cpuacct.usage_user / usage_sys (nanoseconds)
  int64_t ticks_per_second = 100;  // USER_HZ, for cpuacct.stat
};

// Whether `list` holds `item`.
inline bool Contains(const std::vector<std::string>& list,
                     absl::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The files of a leaf that descriptors are kept on, opened by Prepare() (or
// by Create() without a spare) for the controllers of the leaf's hierarchy.
enum LeafFile {
  // Read while the tree runs.
  kUsageInBytes,
  kMaxUsageInBytes,
  kOomControl,
  kFailcnt,
  kMemswFailcnt,
  kPidsCurrent,
  kPidsEvents,
  kCpuacctUsage,
  kCpuacctUsageUser,
  kCpuacctUsageSys,
  kCpuacctStat,
  kFreezerStateFile,
  // Written once, by Create().
  kLimitInBytes,
  kMemswLimitInBytes,
  kPidsMax,
  kCpuShares,
  // For the child to join.
  kProcs,
  kLeafFileCount
};
constexpr int kFirstLimit = kLimitInBytes;
constexpr int kLastLimit = kCpuShares;

// One directory of a group, in one hierarchy, and its open files.
struct Leaf {
  std::string path;
  std::vector<std::string> controllers;  // those of its hierarchy we use
  std::array<CgroupFile, kLeafFileCount> files;
  // Kept in the freezer's hierarchy only: Empty() and KillAll() open its
  // cgroup.procs.
  UniqueFd dir;
  bool removed = false;

  bool Has(absl::string_view controller) const {
    return Contains(controllers, controller);
  }
  // The file's text, or nullopt.
  std::optional<std::string> Read(LeafFile file) const {
    absl::StatusOr<std::string> text = files[file].Read(path);
    if (!text.ok()) return std::nullopt;
    return *std::move(text);
  }
  // The number in the file, or the value of `key` in it when given.
  std::optional<int64_t> ReadInt(LeafFile file,
                                 absl::string_view key = "") const {
    std::optional<std::string> text = Read(file);
    if (!text) return std::nullopt;
    return key.empty() ? ParseCgroupInt(*text) : FlatKeyedValue(*text, key);
  }
};

// rmdir(2) of a leaf: gone is fine; busy (a process is in it) is Unavailable.
absl::Status RemoveLeafDir(const std::string& path);

// The group of one process tree in `leaves` (one per hierarchy it needs):
// writes `request`'s limits through the leaves' descriptors and closes
// them. On failure the leaves are removed: nothing half-made stays.
absl::StatusOr<std::unique_ptr<Cgroup>> NewGroup(std::vector<Leaf> leaves,
                                                 Facts facts,
                                                 const CgroupRequest& request);

}  // namespace procsandbox::linux_internal::cgroup_v1

#endif  // PROCSANDBOX_SRC_LINUX_CGROUP_V1_INTERNAL_H_
