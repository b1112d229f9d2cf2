// Small file operations on cgroupfs, shared by the v1 and v2 drivers.
//
// Opening a kernfs file costs several microseconds; reading or writing an
// open one, well under one. So the drivers open the files a process tree's
// group needs ahead of time, off the spawn path (CgroupFile), and then read
// them with ReadAt0 and write them with WriteAt0 as often as they like:
//
//   CgroupFile stat(leaf_dir, "cpu.stat", O_RDONLY);  // in Prepare()
//   ...
//   absl::StatusOr<std::string> text = stat.Read(leaf_path);  // each look
#ifndef PROCSANDBOX_SRC_LINUX_CGROUP_FS_H_
#define PROCSANDBOX_SRC_LINUX_CGROUP_FS_H_

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "posix/unique_fd.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;

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

// The content of an open cgroupfs file, read with pread(2) from offset 0.
// kernfs generates a file's text anew on every read from offset 0, so one
// descriptor gives the current value each time (and a plain file, its
// current content). A read shorter than the 4 KiB block ends the text: every
// cgroupfs interface file but the lists is generated in one piece. Not for
// the lists (cgroup.procs, tasks): v1 keeps the pid list it made for an open
// file and hands it out again for up to a second, so a list is read through
// a descriptor opened for that read (ReadCgroupFile). `name` is for the
// message ("read cpu.stat: ..."). Thread-safe (no file offset is used).
absl::StatusOr<std::string> ReadAt0(int fd, absl::string_view name);
// Writes `value` to an open cgroupfs file in one pwrite(2) at offset 0
// (cgroupfs ignores the offset: each write is a new value, any number of
// times; a plain file is overwritten from its start). The Status reads
// `write "<value>" to <dir_path>/<name>: <cause>`.
absl::Status WriteAt0(int fd, absl::string_view value, absl::string_view name,
                      absl::string_view dir_path);

// One file of a group, opened ahead of time and kept with its name. Opening
// never fails: a file that could not be opened is remembered as absent (it
// does not exist, or the caller knows it cannot) or as failed (any other
// cause), and Read / Write then do what ReadCgroupFile / WriteCgroupFile do,
// by path, so that errors are reported as they would have been.
// Not thread-safe to Close() while another thread uses it.
class CgroupFile {
 public:
  // Absent, with no name.
  CgroupFile() = default;
  // Opens `name` (a string literal) inside `dir` with `flags` | O_CLOEXEC.
  CgroupFile(int dir, const char* name, int flags);
  // A file known not to exist (its controller is not enabled), without a
  // syscall.
  static CgroupFile Absent(const char* name);

  CgroupFile(CgroupFile&&) = default;
  CgroupFile& operator=(CgroupFile&&) = default;

  bool valid() const { return fd_.valid(); }
  // Not open because it does not exist (ENOENT) or was declared Absent.
  bool absent() const { return !fd_.valid() && open_errno_ == ENOENT; }
  int fd() const { return fd_.get(); }
  const char* name() const { return name_; }
  // Why it is not open (ENOENT when absent), or 0.
  int open_errno() const { return open_errno_; }

  // ReadAt0 through the descriptor; NotFound when absent (no syscall);
  // ReadCgroupFile of `dir_path`/name when it could not be opened ahead.
  absl::StatusOr<std::string> Read(const std::string& dir_path) const;
  // WriteAt0 through the descriptor, else WriteCgroupFile of
  // `dir_path`/name (which reports why it cannot be opened).
  absl::Status Write(absl::string_view value,
                     const std::string& dir_path) const;
  // Closes the descriptor; the file then counts as absent.
  void Close();
  // Closes the descriptor of a file that is rarely read: later reads and
  // writes open it by path. (Keeps a running tree's descriptors few.)
  void Park();

 private:
  UniqueFd fd_;
  const char* name_ = "";
  int open_errno_ = ENOENT;
};

// Whether `err` says this process or the system is out of descriptors or
// memory (EMFILE, ENFILE, ENOMEM). Setting up a group that fails so is
// ResourceExhausted, never a reason to enforce less.
bool OutOfResources(int err);
// ResourceExhausted naming the first of `files` that could not be opened
// for OutOfResources (`dir_path` names the group), else OK.
absl::Status CheckOpened(absl::Span<const CgroupFile> files,
                         absl::string_view dir_path);

// "123\n" -> 123; "max\n" -> nullopt; anything else -> nullopt. Every
// number read this way is a count or a size: a negative one is nullopt too.
std::optional<int64_t> ParseCgroupInt(absl::string_view text);
// The value of `key` in a flat-keyed file ("oom_kill 3\nmax 0\n"), or
// nullopt.
std::optional<int64_t> FlatKeyedValue(absl::string_view text,
                                      absl::string_view key);
// `value` * `factor` (> 0): cpu.stat's microseconds or cpuacct.stat's
// ticks as nanoseconds. nullopt when `value` is, or the product does not fit
// in int64_t (a corrupt or hostile file, never a real count).
std::optional<int64_t> ScaledCounter(std::optional<int64_t> value,
                                     int64_t factor);
// a + b for two counts (>= 0), INT64_MAX when the sum would not fit.
int64_t AddCounters(int64_t a, int64_t b);
// The pids listed in a cgroup.procs text.
std::vector<int64_t> ParsePids(absl::string_view text);

// SIGKILL to every pid in `dir`'s cgroup.procs, again and again until it is
// empty or `timeout` passed (a process may fork between the read and the
// kill; freeze the group first to rule that out). OK when empty.
absl::Status KillEveryProcess(int dir, absl::Duration timeout);

// Removes the directory `path` and every group below it (deepest first).
// Unavailable when a group still holds a process (EBUSY); NotFound is OK.
absl::Status RemoveGroupTree(const std::string& path);
// The same for the directory held open as `dir` (`path` names it in
// messages), through descriptors only: its sub-groups by openat/unlinkat
// from `dir`, itself from `parent` (from `dir`'s ".." when -1). Works where
// `path` no longer leads to it (cgroupfs covered by another mount, as in a
// private mount namespace).
absl::Status RemoveGroupTreeAt(int dir, int parent, const std::string& path);
// `dir`'s parent, held open, when that parent is the root of its mount: a
// mount covering it (a tmpfs over the hierarchy) would make `..` from `dir`
// lead into the cover. Invalid otherwise (`..` from `dir` then stays within
// the hierarchy), and on failure.
UniqueFd HoldParentIfMountRoot(int dir);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CGROUP_FS_H_
