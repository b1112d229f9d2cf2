// procsandbox/sandbox/workdir.h: a run's private working directory, for a
// host that runs programs without a Sandbox.
//
// The directory a Sandbox makes for each run (WorkdirPolicy), on its own:
// `root/run-XXXXXXXX` (mode 0700, with empty `tmp/` and `log/`, 0700) made
// fresh under a root that is checked first, and removed after the run
// through descriptors, never following a link the program left (the
// procsandbox command's --workdir-root uses it).
//
// Example:
//   absl::StatusOr<procsandbox::RunDirectory> dir =
//       procsandbox::RunDirectory::Create("/var/lib/myapp/runs");
//   if (!dir.ok()) return dir.status();
//   command.working_dir = dir->path();
//   ... run the command ...
//   if (absl::Status s = dir->Remove(absl::Minutes(1)); !s.ok()) return s;
//
// Platforms: the POSIX file API (openat, mkdirat, unlinkat with O_NOFOLLOW).
#ifndef PROCSANDBOX_SANDBOX_WORKDIR_H_
#define PROCSANDBOX_SANDBOX_WORKDIR_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"

namespace procsandbox {
namespace sandbox_internal {
class Workdir;
}  // namespace sandbox_internal

// One run's private working directory. Move-only; not thread-safe (one
// owner). Destroying it closes its descriptors and removes nothing: call
// Remove().
class PROCSANDBOX_EXPORT RunDirectory {
 public:
  // Makes `root/run-XXXXXXXX` (0700, exactly: the umask plays no part) with
  // `tmp/` and `log/` (0700). `root` must be an absolute path (trailing
  // slashes are ignored; "." and ".." components are refused), a directory
  // and not a symlink, owned by this user and not writable by group or
  // others. PermissionDenied with a SecurityViolation of kind kUnsafeRoot
  // (violation.h) when it is not; the errno's code (`(ENOENT)` named in the
  // message) when the file system fails.
  static absl::StatusOr<RunDirectory> Create(const std::string& root);

  RunDirectory(RunDirectory&& other) noexcept;
  RunDirectory& operator=(RunDirectory&& other) noexcept;
  ~RunDirectory();

  // The directory's absolute path (below the root as given, normalised);
  // empty after a move.
  const std::string& path() const;

  // Removes the directory and everything in it. Links are removed, never
  // followed; directories the program made unreadable or unwritable are
  // made accessible first. DeadlineExceeded when not done within `timeout`
  // of real time; else the first error, naming its path. OK when already
  // removed (or moved from).
  absl::Status Remove(absl::Duration timeout);

 private:
  explicit RunDirectory(std::unique_ptr<sandbox_internal::Workdir> dir);

  std::unique_ptr<sandbox_internal::Workdir> dir_;
};

}  // namespace procsandbox

#endif  // PROCSANDBOX_SANDBOX_WORKDIR_H_
