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
// `WorkdirProvider` is where a Sandbox gets its run directories
// (WorkdirPolicy::provider): the host's file system by default, or a
// `MemoryWorkdirProvider` that never touches the disk, for unit tests on the
// in-memory manager (which accepts any working directory):
//   auto dirs = std::make_shared<procsandbox::MemoryWorkdirProvider>();
//   policy.workdir.root = "/runs";            // never made
//   policy.workdir.provider = dirs;
//   ... sandbox.Run(request) ...              // working_dir "/runs/run-1"
//   ASSERT_THAT(sandbox.WaitForCleanup(absl::Seconds(10)), IsOk());
//   EXPECT_THAT(dirs->present(), IsEmpty());  // every directory removed
//
// Platforms: RunDirectory and the default provider use the POSIX file API
// (openat, mkdirat, unlinkat with O_NOFOLLOW); MemoryWorkdirProvider none.
#ifndef PROCSANDBOX_SANDBOX_WORKDIR_H_
#define PROCSANDBOX_SANDBOX_WORKDIR_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

// Makes a Sandbox's run directories (WorkdirPolicy::provider). Create() is
// called from the threads of concurrent runs; a Directory's Remove() from a
// run's thread or the Sandbox's background cleaner: implementations are
// thread-safe.
class PROCSANDBOX_EXPORT WorkdirProvider {
 public:
  // One run's directory. Destroying it removes nothing: Remove() does.
  class PROCSANDBOX_EXPORT Directory {
   public:
    virtual ~Directory();
    // Its absolute path: the run's working directory, TMPDIR (path/tmp) and
    // HOME (WorkdirPolicy::set_tmpdir, set_home).
    virtual const std::string& path() const = 0;
    // RunRequest::working_dir below it, made where missing: its path.
    // InvalidArgument with a kPathTraversal SecurityViolation for an
    // absolute path, a ".." component or a NUL byte (and, on disk, a
    // component that is a symlink or not a directory).
    virtual absl::StatusOr<std::string> Subdirectory(
        absl::string_view relative) = 0;
    // Removes it and everything in it: OK when removed (or already);
    // DeadlineExceeded when not done within `timeout`; else why not.
    virtual absl::Status Remove(absl::Duration timeout) = 0;
  };

  virtual ~WorkdirProvider();
  // A fresh directory, of its own, for one run under `root`
  // (WorkdirPolicy::root as given). An error fails the run (kError).
  virtual absl::StatusOr<std::unique_ptr<Directory>> Create(
      const std::string& root) = 0;
};

// Run directories that exist only in memory, for unit tests: Create() hands
// out "<root>/run-1", "<root>/run-2", ... (root without trailing slashes,
// never checked or made), records what was made and removed, and can be
// told to fail. Thread-safe; directories it handed out may outlive it.
class PROCSANDBOX_EXPORT MemoryWorkdirProvider final : public WorkdirProvider {
 public:
  MemoryWorkdirProvider();
  ~MemoryWorkdirProvider() override;

  absl::StatusOr<std::unique_ptr<Directory>> Create(
      const std::string& root) override;

  // The next `count` Create() calls fail with `error` (nothing is made; an
  // OK status becomes Internal).
  void FailCreate(absl::Status error, std::size_t count = 1);
  // The next `count` removals fail with `error` (the directory stays).
  void FailRemove(absl::Status error, std::size_t count = 1);

  // Every directory made, in order; every one removed, in order; those
  // made and not removed, in order made.
  std::vector<std::string> created() const;
  std::vector<std::string> removed() const;
  std::vector<std::string> present() const;
  // Every RunRequest::working_dir made, as full paths, in order.
  std::vector<std::string> subdirectories() const;

  // Implementation details follow.
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace procsandbox

#endif  // PROCSANDBOX_SANDBOX_WORKDIR_H_
