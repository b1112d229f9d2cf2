// A run's private working directory: made fresh under a checked root, walked
// and removed through descriptors with O_NOFOLLOW, never by following a name
// the program could have swapped for a symlink.
#ifndef PROCSANDBOX_SRC_SANDBOX_WORKDIR_H_
#define PROCSANDBOX_SRC_SANDBOX_WORKDIR_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "procsandbox/sandbox/workdir.h"

namespace procsandbox::sandbox_internal {

// kPathTraversal (InvalidArgument) for a path that is absolute, has a ".."
// component or a NUL byte; no file system access.
absl::Status CheckRelativePath(absl::string_view relative);

// `root` without trailing or repeated slashes; InvalidArgument when it is
// not absolute or has a "." or ".." component. No file system access.
absl::StatusOr<std::string> NormalizeRoot(absl::string_view root);

// The default WorkdirProvider::Directory: on the host's file system.
class Workdir final : public WorkdirProvider::Directory {
 public:
  // Normalises `root` (NormalizeRoot; kUnsafeRoot when it cannot be), opens
  // it (O_NOFOLLOW: a symlink is refused, also when written with a trailing
  // slash), checks it is a directory owned by this user and not writable by
  // group or others (kUnsafeRoot otherwise), and makes `root/run-XXXXXXXX`
  // (0700) with `tmp/` and `log/` (0700).
  static absl::StatusOr<std::unique_ptr<Workdir>> Create(
      const std::string& root);
  // Create(), but after checking the root (each time, as Create() does) it
  // first takes directories made ahead of time from `next_spare` (until it
  // gives null) and uses the first that, reached again through the checked
  // root's descriptor with O_NOFOLLOW, is still the very directory it was
  // (same device and inode), owned by this user, mode exactly 0700, and
  // holds nothing but `tmp/` and `log/`, each an empty directory owned by
  // this user with mode exactly 0700. A spare failing that is handed to
  // `discard` (to be removed); when none passes, a fresh one is made.
  static absl::StatusOr<std::unique_ptr<Workdir>> Create(
      const std::string& root,
      const std::function<std::unique_ptr<Workdir>()>& next_spare,
      const std::function<void(std::unique_ptr<Workdir>)>& discard);
  ~Workdir() override;  // closes its descriptors; removes nothing
  Workdir(const Workdir&) = delete;
  Workdir& operator=(const Workdir&) = delete;

  // The directory's absolute path (as reached through the normalised
  // `root`).
  const std::string& path() const override { return path_; }

  // `relative` below the directory, made (0700) where missing, component by
  // component with O_NOFOLLOW. kPathTraversal for an absolute path, "..", a
  // NUL byte, or a component that is a symlink or not a directory.
  absl::StatusOr<std::string> Subdirectory(absl::string_view relative) override;

  // Removes the directory and everything in it (links are removed, never
  // followed; directories a program made unwritable are made writable
  // first). DeadlineExceeded when not done within `timeout` (real time);
  // else the first error, naming the path.
  absl::Status Remove(absl::Duration timeout) override;

 private:
  // Opens and checks the root (see Create()); `root` is set to its
  // normalised form.
  static absl::StatusOr<int> OpenRoot(const std::string& given_root,
                                      std::string& root);
  // Makes a fresh directory in the checked root (takes `root_fd`).
  static absl::StatusOr<std::unique_ptr<Workdir>> MakeIn(
      int root_fd, const std::string& root);
  // This spare, reopened through `root_fd`, when it passes the checks
  // described at Create(); else -1.
  int ReopenIfPristine(int root_fd, const std::string& root) const;

  Workdir(int root_fd, int fd, std::string name, std::string path)
      : root_fd_(root_fd),
        fd_(fd),
        name_(std::move(name)),
        path_(std::move(path)) {}

  int root_fd_;
  int fd_;
  uint64_t dev_ = 0;  // identity when made, for ReopenIfPristine()
  uint64_t ino_ = 0;
  std::string name_;
  std::string path_;
};

// One background thread removing run directories handed to it, one at a
// time in the order given, each with Workdir::Remove(timeout) (the time
// bound counts from when its removal starts), and, when made with spares,
// keeping that many directories made ahead of time under the root for
// Take() (refilled after each Take(), before pending removals). The thread
// is started by the first Submit() or Take(). Thread-safe.
class WorkdirCleaner {
 public:
  // Called from the cleaner's thread with Remove()'s error.
  using OnFailure = std::function<void(const absl::Status& status)>;

  // At most `max_pending` directories wait (the one being removed included).
  WorkdirCleaner(absl::Duration timeout, std::size_t max_pending)
      : timeout_(timeout), max_pending_(max_pending) {}
  // Also keeps up to `spares` ready directories under `root` (0: none).
  // With a `provider`, Take() asks it instead (and there are no spares).
  WorkdirCleaner(absl::Duration timeout, std::size_t max_pending,
                 std::string root, std::size_t spares,
                 std::shared_ptr<WorkdirProvider> provider = nullptr)
      : timeout_(timeout),
        max_pending_(max_pending),
        root_(std::move(root)),
        spare_target_(provider == nullptr ? spares : 0),
        provider_(std::move(provider)) {}
  ~WorkdirCleaner();  // Shutdown()
  WorkdirCleaner(const WorkdirCleaner&) = delete;
  WorkdirCleaner& operator=(const WorkdirCleaner&) = delete;

  // Takes `dir` (leaving it null) to remove in the background; false (and
  // `dir` untouched) when max_pending wait already or after Shutdown(): the
  // caller removes it itself.
  bool Submit(std::unique_ptr<WorkdirProvider::Directory>& dir,
              OnFailure on_failure);

  // A run's directory under the root given at construction:
  // Workdir::Create(root, spares...), the root checked each time; a spare
  // failing its checks is removed in the background (or here after
  // Shutdown()). Then asks the thread to make spares up to the target.
  // Without spares (or after Shutdown()) just Workdir::Create(root); with a
  // provider, provider->Create(root).
  absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> Take();

  // Waits until every directory handed over so far (and meanwhile) has been
  // removed or given up on (its failure callback run): OK, or
  // DeadlineExceeded after `timeout` of real time naming how many remain.
  absl::Status WaitForPending(absl::Duration timeout) const;

  // Refuses new directories, hands the unused spares over for removal,
  // waits until every one handed over has been removed or given up on
  // (each within the timeout), and stops the thread. Later calls return at
  // once.
  void Shutdown();

  // Directories handed over and not yet removed or given up on.
  std::size_t pending() const;

  // Spares ready for Take(); spares discarded by Take() for failing their
  // checks, so far.
  std::size_t spares() const;
  std::size_t discarded() const;

 private:
  struct Job {
    std::unique_ptr<WorkdirProvider::Directory> dir;
    OnFailure on_failure;
  };
  void Loop();
  bool NeedsSpare() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return refill_ && !stopping_ && spares_.size() < spare_target_;
  }
  // Refilling wakes the thread only once the spares ran out; otherwise it
  // waits for the next removal handed over (after a run's result), to keep
  // the file system work away from the run's spawn.
  bool HasWorkOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !jobs_.empty() || stopping_ || (NeedsSpare() && spares_.empty());
  }
  void StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool Drained() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return jobs_.empty() && in_flight_ == 0;
  }

  const absl::Duration timeout_;
  const std::size_t max_pending_;
  const std::string root_;
  const std::size_t spare_target_ = 0;
  const std::shared_ptr<WorkdirProvider> provider_;
  mutable absl::Mutex mu_;
  std::deque<Job> jobs_ ABSL_GUARDED_BY(mu_);
  std::size_t in_flight_ ABSL_GUARDED_BY(mu_) = 0;  // taken, being removed
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<std::unique_ptr<Workdir>> spares_ ABSL_GUARDED_BY(mu_);
  bool refill_ ABSL_GUARDED_BY(mu_) = false;  // asked for by Take()
  std::size_t discarded_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
  // Serialises Shutdown() callers (the join happens outside mu_).
  absl::Mutex shutdown_mu_;
};

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_WORKDIR_H_
