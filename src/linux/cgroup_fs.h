// Small file operations on cgroupfs, shared by the v1 and v2 drivers.
#ifndef PROCSANDBOX_SRC_LINUX_CGROUP_FS_H_
#define PROCSANDBOX_SRC_LINUX_CGROUP_FS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "linux/unique_fd.h"

namespace procsandbox::linux_internal {

// Opens a directory (O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW of its last part).
absl::StatusOr<UniqueFd> OpenDirectory(const std::string& path);
// Opens `name` inside `dir` for writing (O_CLOEXEC).
absl::StatusOr<UniqueFd> OpenForWrite(int dir, const char* name);

// The whole of a small file inside `dir` (a few KiB at most).
absl::StatusOr<std::string> ReadCgroupFile(int dir, const char* name);
// Writes `value` to `name` inside `dir` in one write(2). The Status names the
// file and the value.
absl::Status WriteCgroupFile(int dir, const char* name, absl::string_view value,
                             absl::string_view dir_path = "");

// "123\n" -> 123; "max\n" -> nullopt; anything else -> nullopt.
std::optional<int64_t> ParseCgroupInt(absl::string_view text);
// The value of `key` in a flat-keyed file ("oom_kill 3\nmax 0\n"), or
// nullopt.
std::optional<int64_t> FlatKeyedValue(absl::string_view text,
                                      absl::string_view key);
// The pids listed in a cgroup.procs text.
std::vector<int64_t> ParsePids(absl::string_view text);

// SIGKILL to every pid in `dir`'s cgroup.procs, again and again until it is
// empty or `timeout` passed (a process may fork between the read and the
// kill; freeze the group first to rule that out). OK when empty.
absl::Status KillEveryProcess(int dir, absl::Duration timeout);

// Removes the directory `path` and every group below it (deepest first).
// Unavailable when a group still holds a process (EBUSY); NotFound is OK.
absl::Status RemoveGroupTree(const std::string& path);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CGROUP_FS_H_
