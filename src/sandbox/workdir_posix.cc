// Workdir: POSIX openat/mkdirat/unlinkat with O_NOFOLLOW (see workdir.h).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "posix/errno_status.h"
#include "procsandbox/limits.h"
#include "procsandbox/sandbox/violation.h"
#include "sandbox/security_violation.h"
#include "sandbox/workdir.h"

namespace procsandbox::sandbox_internal {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

absl::Status Errno(int error, absl::string_view action,
                   absl::string_view path) {
  return posix_internal::ErrnoStatus(
      error, fmt::format("{} \"{}\"", action, absl::CEscape(path)));
}

absl::Status UnsafeRoot(const std::string& root, absl::string_view why) {
  return Violation(
      SecurityViolation::Kind::kUnsafeRoot, root,
      fmt::format("use workdir root \"{}\": {}", absl::CEscape(root), why));
}

absl::Status Traversal(absl::string_view relative, absl::string_view why) {
  return Violation(SecurityViolation::Kind::kPathTraversal,
                   std::string(relative),
                   fmt::format("working directory \"{}\": {}",
                               absl::CEscape(relative), why));
}

uint32_t RandomName() {
  static std::mutex mu;
  static std::mt19937 engine{std::random_device{}()};
  std::lock_guard<std::mutex> lock(mu);
  return static_cast<uint32_t>(engine());
}

// Makes `name` (0700, exactly: the umask may not widen or narrow it) in
// `parent` and opens it. EEXIST is returned for the caller to decide.
int MakeDirectory(int parent, const std::string& name, bool exclusive,
                  int& error) {
  if (mkdirat(parent, name.c_str(), 0700) != 0 &&
      (errno != EEXIST || exclusive)) {
    error = errno;
    return -1;
  }
  const int fd = openat(parent, name.c_str(), kDirFlags);
  if (fd < 0) {
    error = errno;
    return -1;
  }
  return fd;
}

// One entry of a directory listing: its name and its type as the listing
// gives it (DT_UNKNOWN where the file system does not say).
struct DirEntry {
  std::string name;
  unsigned char type;
};

// The entries of the directory `fd` (without "." and ".."), read from its
// offset on; false when it cannot be listed. `fd`'s offset is left at the
// end: a caller that reads it again rewinds it.
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 30)
bool ListEntries(int fd, std::vector<DirEntry>& entries) {
  // Straight through `fd`: no dup, no DIR buffer (this runs on a run's path
  // and once per directory removed).
  alignas(alignof(struct dirent64)) char buf[2048];
  while (true) {
    const ssize_t n = getdents64(fd, buf, sizeof buf);
    if (n < 0) return false;
    if (n == 0) return true;
    for (ssize_t off = 0; off < n;) {
      struct dirent64 entry;
      std::memcpy(&entry, buf + off,
                  std::min(sizeof entry, static_cast<size_t>(n - off)));
      if (entry.d_reclen == 0) return false;
      const absl::string_view name(buf + off +
                                   offsetof(struct dirent64, d_name));
      if (name != "." && name != "..") {
        entries.push_back(DirEntry{std::string(name), entry.d_type});
      }
      off += entry.d_reclen;
    }
  }
}
#else
bool ListEntries(int fd, std::vector<DirEntry>& entries) {
  const int listing = dup(fd);
  if (listing < 0) return false;
  DIR* dir = fdopendir(listing);
  if (dir == nullptr) {
    close(listing);
    return false;
  }
  while (const dirent* entry = readdir(dir)) {
    const absl::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      entries.push_back(DirEntry{std::string(name), entry->d_type});
    }
  }
  closedir(dir);
  return true;
}
#endif

absl::Status RemoveContents(int fd, const std::string& path,
                            absl::Time deadline);

absl::Status RemoveEntry(int parent, const std::string& parent_path,
                         const std::string& name, unsigned char type,
                         absl::Time deadline) {
  const std::string path = absl::StrCat(parent_path, "/", name);
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError(fmt::format(
        "remove \"{}\": gave up at the time limit", absl::CEscape(path)));
  }
  // Most entries go in one call, by the type the listing gave: a file (a
  // symlink is never followed) with unlink, an empty directory with rmdir.
  // Should the entry have changed since (a running program), the call
  // fails and the path below looks at what is there now.
  if (type == DT_DIR) {
    if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) {
      return absl::OkStatus();
    }
  } else if (type != DT_UNKNOWN) {
    if (unlinkat(parent, name.c_str(), 0) == 0 || errno == ENOENT) {
      return absl::OkStatus();
    }
  }
  struct stat st;
  if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? absl::OkStatus() : Errno(errno, "stat", path);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) {
      return Errno(errno, "remove", path);
    }
    return absl::OkStatus();
  }
  int child = openat(parent, name.c_str(), kDirFlags);
  if (child < 0 && errno == EACCES) {
    // A program took its own permissions away; the directory is ours. Not
    // following a symlink the program may have put there meanwhile (where
    // that cannot be promised the call fails, and so does the removal).
    const int chmod_error =
        fchmodat(parent, name.c_str(), 0700, AT_SYMLINK_NOFOLLOW) == 0 ? 0
                                                                       : errno;
    child = openat(parent, name.c_str(), kDirFlags);
    if (child < 0 && chmod_error != 0) return Errno(chmod_error, "chmod", path);
  }
  if (child < 0) return Errno(errno, "open", path);
  (void)fchmod(child, 0700);
  absl::Status s = RemoveContents(child, path, deadline);
  close(child);
  if (!s.ok()) return s;
  if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return Errno(errno, "remove", path);
  }
  return absl::OkStatus();
}

absl::Status RemoveContents(int fd, const std::string& path,
                            absl::Time deadline) {
  std::vector<DirEntry> entries;
  if (!ListEntries(fd, entries)) return Errno(errno, "list", path);
  for (const DirEntry& entry : entries) {
    if (absl::Status s =
            RemoveEntry(fd, path, entry.name, entry.type, deadline);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> NormalizeRoot(absl::string_view root) {
  if (!absl::StartsWith(root, "/")) {
    return absl::InvalidArgumentError(fmt::format(
        "workdir root \"{}\": not an absolute path", absl::CEscape(root)));
  }
  if (absl::StrContains(root, '\0')) {
    // The kernel would see the path up to the NUL: another directory.
    return absl::InvalidArgumentError(fmt::format(
        "workdir root \"{}\": contains a NUL byte", absl::CEscape(root)));
  }
  std::string out;
  for (absl::string_view part : absl::StrSplit(root, '/', absl::SkipEmpty())) {
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(
          fmt::format("workdir root \"{}\": a \"{}\" component (give the "
                      "directory itself)",
                      absl::CEscape(root), part));
    }
    absl::StrAppend(&out, "/", part);
  }
  return out.empty() ? std::string("/") : out;
}

absl::StatusOr<int> Workdir::OpenRoot(const std::string& given_root,
                                      std::string& root) {
  // Without trailing slashes: "link/" would make open() follow the link
  // despite O_NOFOLLOW (the link is then not the last component).
  absl::StatusOr<std::string> normal = NormalizeRoot(given_root);
  if (!normal.ok()) {
    return UnsafeRoot(given_root, normal.status().message());
  }
  root = *std::move(normal);
  const int root_fd = open(root.c_str(), kDirFlags);
  if (root_fd < 0) {
    const int error = errno;
    struct stat link;
    if ((error == ELOOP || error == ENOTDIR) &&
        lstat(root.c_str(), &link) == 0) {
      return UnsafeRoot(
          root, S_ISLNK(link.st_mode) ? "it is a symlink" : "not a directory");
    }
    return Errno(error, "open workdir root", root);
  }
  struct stat st;
  absl::Status bad;
  if (fstat(root_fd, &st) != 0) {
    bad = Errno(errno, "stat workdir root", root);
  } else if (st.st_uid != geteuid()) {
    bad = UnsafeRoot(root, fmt::format("owned by uid {}, not by this user ({})",
                                       st.st_uid, geteuid()));
  } else if ((st.st_mode & 0022) != 0) {
    bad = UnsafeRoot(root, fmt::format("writable by group or others (mode "
                                       "{:04o})",
                                       st.st_mode & 07777));
  }
  if (!bad.ok()) {
    close(root_fd);
    return bad;
  }
  return root_fd;
}

absl::StatusOr<std::unique_ptr<Workdir>> Workdir::Create(
    const std::string& given_root) {
  std::string root;
  absl::StatusOr<int> root_fd = OpenRoot(given_root, root);
  if (!root_fd.ok()) return root_fd.status();
  return MakeIn(*root_fd, root);
}

absl::StatusOr<std::unique_ptr<Workdir>> Workdir::Create(
    const std::string& given_root,
    const std::function<std::unique_ptr<Workdir>()>& next_spare,
    const std::function<void(std::unique_ptr<Workdir>)>& discard) {
  std::string root;
  absl::StatusOr<int> root_fd = OpenRoot(given_root, root);
  if (!root_fd.ok()) return root_fd.status();
  while (std::unique_ptr<Workdir> spare = next_spare()) {
    const int fd = spare->ReopenIfPristine(*root_fd, root);
    if (fd >= 0) {
      std::unique_ptr<Workdir> dir(
          new Workdir(*root_fd, fd, spare->name_, spare->path_));
      dir->dev_ = spare->dev_;
      dir->ino_ = spare->ino_;
      return dir;  // the spare's own descriptors close with it
    }
    discard(std::move(spare));
  }
  return MakeIn(*root_fd, root);
}

namespace {

// A directory reached through `fd` that is owned by this user and has mode
// exactly 0700.
bool PrivateDirectory(const struct stat& st) {
  return S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
         (st.st_mode & 07777) == 0700;
}

}  // namespace

int Workdir::ReopenIfPristine(int root_fd, const std::string& root) const {
  if (path_ != absl::StrCat(root == "/" ? "" : root, "/", name_)) return -1;
  const int fd = openat(root_fd, name_.c_str(), kDirFlags);
  if (fd < 0) return -1;
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && PrivateDirectory(st) &&
            static_cast<uint64_t>(st.st_dev) == dev_ &&
            static_cast<uint64_t>(st.st_ino) == ino_;
  std::vector<DirEntry> names;
  // Listed, then rewound: the run's directory is used through `fd`.
  ok = ok && ListEntries(fd, names) && names.size() == 2 &&
       lseek(fd, 0, SEEK_SET) == 0;
  for (const char* sub : {"tmp", "log"}) {
    if (!ok) break;
    const int sub_fd = openat(fd, sub, kDirFlags);
    if (sub_fd < 0) {
      ok = false;
      break;
    }
    std::vector<DirEntry> inside;
    ok = fstat(sub_fd, &st) == 0 && PrivateDirectory(st) &&
         ListEntries(sub_fd, inside) && inside.empty();
    close(sub_fd);
  }
  if (!ok) {
    close(fd);
    return -1;
  }
  return fd;
}

absl::StatusOr<std::unique_ptr<Workdir>> Workdir::MakeIn(
    int root_fd, const std::string& root) {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const std::string name = fmt::format("run-{:08x}", RandomName());
    int error = 0;
    const int fd = MakeDirectory(root_fd, name, /*exclusive=*/true, error);
    if (fd < 0 && error == EEXIST) continue;
    const std::string path = absl::StrCat(root == "/" ? "" : root, "/", name);
    if (fd < 0) {
      close(root_fd);
      return Errno(error, "make working directory", path);
    }
    std::unique_ptr<Workdir> workdir(new Workdir(root_fd, fd, name, path));
    (void)fchmod(fd, 0700);
    struct stat st;
    if (fstat(fd, &st) == 0) {
      workdir->dev_ = static_cast<uint64_t>(st.st_dev);
      workdir->ino_ = static_cast<uint64_t>(st.st_ino);
    }
    for (const char* sub : {"tmp", "log"}) {
      const int sub_fd = MakeDirectory(fd, sub, /*exclusive=*/true, error);
      if (sub_fd < 0) {
        absl::Status s = Errno(error, "make", absl::StrCat(path, "/", sub));
        (void)workdir->Remove(absl::Seconds(1));
        return s;
      }
      (void)fchmod(sub_fd, 0700);
      close(sub_fd);
    }
    return workdir;
  }
  close(root_fd);
  return absl::AlreadyExistsError(fmt::format(
      "make working directory in \"{}\": no free name after 100 tries",
      absl::CEscape(root)));
}

Workdir::~Workdir() {
  if (fd_ >= 0) close(fd_);
  if (root_fd_ >= 0) close(root_fd_);
}

absl::Status CheckRelativePath(absl::string_view relative) {
  if (absl::StrContains(relative, '\0')) {
    return Traversal(relative, "contains a NUL byte");
  }
  if (absl::StartsWith(relative, "/")) {
    return Traversal(relative,
                     "absolute; give a path relative to the run's directory");
  }
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part == "..") {
      return Traversal(relative, "\"..\" leaves the run's directory");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Workdir::Subdirectory(absl::string_view relative) {
  if (absl::Status s = CheckRelativePath(relative); !s.ok()) return s;
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (!part.empty() && part != ".") parts.emplace_back(part);
  }
  int current = dup(fd_);
  if (current < 0) return Errno(errno, "open", path_);
  std::string path = path_;
  for (const std::string& part : parts) {
    int error = 0;
    const int next = MakeDirectory(current, part, /*exclusive=*/false, error);
    close(current);
    if (next < 0) {
      if (error == ELOOP || error == ENOTDIR || error == EEXIST) {
        return Traversal(relative, fmt::format("\"{}\" is a symlink or not a "
                                               "directory",
                                               absl::CEscape(part)));
      }
      return Errno(error, "make", absl::StrCat(path, "/", part));
    }
    current = next;
    absl::StrAppend(&path, "/", part);
  }
  close(current);
  return path;
}

WorkdirCleaner::~WorkdirCleaner() { Shutdown(); }

void WorkdirCleaner::StartLocked() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
}

bool WorkdirCleaner::Submit(std::unique_ptr<WorkdirProvider::Directory>& dir,
                            OnFailure on_failure) {
  absl::MutexLock lock(&mu_);
  if (stopping_ || jobs_.size() + in_flight_ >= max_pending_) return false;
  StartLocked();
  jobs_.push_back(Job{std::move(dir), std::move(on_failure)});
  return true;
}

absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>>
WorkdirCleaner::Take() {
  if (provider_ != nullptr) return provider_->Create(root_);
  if (spare_target_ == 0) return Workdir::Create(root_);
  auto next_spare = [this]() -> std::unique_ptr<Workdir> {
    absl::MutexLock lock(&mu_);
    if (spares_.empty()) return nullptr;
    std::unique_ptr<Workdir> spare = std::move(spares_.front());
    spares_.pop_front();
    return spare;
  };
  auto discard = [this](std::unique_ptr<Workdir> spare) {
    {
      absl::MutexLock lock(&mu_);
      ++discarded_;
      if (!stopping_) {
        // Not bounded by max_pending: at most spare_target_ at a time.
        StartLocked();
        jobs_.push_back(Job{std::move(spare), nullptr});
        return;
      }
    }
    (void)spare->Remove(timeout_);
  };
  absl::StatusOr<std::unique_ptr<Workdir>> dir =
      Workdir::Create(root_, next_spare, discard);
  if (!dir.ok()) return dir.status();
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      refill_ = true;
      StartLocked();
    }
  }
  return std::unique_ptr<WorkdirProvider::Directory>(*std::move(dir));
}

absl::Status WorkdirCleaner::WaitForPending(absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  if (mu_.AwaitWithTimeout(absl::Condition(this, &WorkdirCleaner::Drained),
                           timeout)) {
    return absl::OkStatus();
  }
  return absl::DeadlineExceededError(fmt::format(
      "wait for working directory removal: {} still pending after {}",
      jobs_.size() + in_flight_, procsandbox::FormatDuration(timeout)));
}

std::size_t WorkdirCleaner::spares() const {
  absl::MutexLock lock(&mu_);
  return spares_.size();
}

std::size_t WorkdirCleaner::discarded() const {
  absl::MutexLock lock(&mu_);
  return discarded_;
}

std::size_t WorkdirCleaner::pending() const {
  absl::MutexLock lock(&mu_);
  return jobs_.size() + in_flight_;
}

void WorkdirCleaner::Loop() {
  absl::MutexLock lock(&mu_);
  while (true) {
    mu_.Await(absl::Condition(this, &WorkdirCleaner::HasWorkOrStop));
    // Spares first, all of them once woken: the next run may wait for one,
    // nobody waits for a removal.
    while (NeedsSpare()) {
      mu_.Unlock();
      absl::StatusOr<std::unique_ptr<Workdir>> spare = Workdir::Create(root_);
      mu_.Lock();
      if (!spare.ok()) {
        refill_ = false;  // runs make their own until the next Take()
      } else if (stopping_) {
        jobs_.push_back(Job{*std::move(spare), nullptr});
      } else {
        spares_.push_back(*std::move(spare));
        if (spares_.size() >= spare_target_) refill_ = false;
      }
    }
    if (jobs_.empty()) {
      if (stopping_) return;  // everything removed
      continue;
    }
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    ++in_flight_;
    mu_.Unlock();
    absl::Status s = job.dir->Remove(timeout_);
    if (!s.ok() && job.on_failure) job.on_failure(s);
    job = Job{};  // closes the directory's descriptors outside the lock
    mu_.Lock();
    --in_flight_;
  }
}

void WorkdirCleaner::Shutdown() {
  absl::MutexLock serial(&shutdown_mu_);
  std::thread thread;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    // Unused spares are removed with the rest (the thread that made them
    // is running).
    while (!spares_.empty()) {
      jobs_.push_back(Job{std::move(spares_.front()), nullptr});
      spares_.pop_front();
    }
    thread = std::move(thread_);
  }
  // The thread drains what was handed over before it returns.
  if (thread.joinable()) thread.join();
}

absl::Status Workdir::Remove(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  if (root_fd_ < 0) return absl::OkStatus();
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  absl::Status s =
      RemoveEntry(root_fd_, path_.substr(0, path_.size() - name_.size() - 1),
                  name_, DT_UNKNOWN, deadline);
  if (s.ok()) {
    close(root_fd_);
    root_fd_ = -1;
  }
  return s;
}

}  // namespace procsandbox::sandbox_internal
