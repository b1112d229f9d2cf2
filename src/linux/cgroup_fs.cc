#include "linux/cgroup_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup.h"
#include "posix/errno_status.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::UniqueFd;

namespace {

// `write "<value>" to <dir_path>/<name>`, or `to <name>` without a directory.
std::string WriteWhat(absl::string_view value, absl::string_view name,
                      absl::string_view dir_path) {
  return dir_path.empty()
             ? fmt::format("write \"{}\" to {}", value, name)
             : fmt::format("write \"{}\" to {}/{}", value, dir_path, name);
}

}  // namespace

absl::StatusOr<UniqueFd> OpenDirectory(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoStatus(errno, fmt::format("open directory \"{}\"", path));
  }
  return fd;
}

absl::StatusOr<UniqueFd> OpenForWrite(int dir, const char* name) {
  UniqueFd fd(openat(dir, name, O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("open {}", name));
  return fd;
}

absl::StatusOr<std::string> ReadCgroupFile(int dir, const char* name) {
  UniqueFd fd(openat(dir, name, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("open {}", name));
  std::string text;
  char block[4096];
  for (;;) {
    const ssize_t n = read(fd.get(), block, sizeof(block));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("read {}", name));
    if (n == 0) break;
    text.append(block, static_cast<std::size_t>(n));
  }
  return text;
}

absl::Status WriteCgroupFile(int dir, const char* name, absl::string_view value,
                             absl::string_view dir_path) {
  UniqueFd fd(openat(dir, name, O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoStatus(errno, WriteWhat(value, name, dir_path));
  }
  return WriteAt0(fd.get(), value, name, dir_path);
}

absl::StatusOr<std::string> ReadAt0(int fd, absl::string_view name) {
  std::string text;
  char block[4096];
  for (;;) {
    const ssize_t n =
        pread(fd, block, sizeof(block), static_cast<off_t>(text.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("read {}", name));
    text.append(block, static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < sizeof(block)) return text;
  }
}

absl::Status WriteAt0(int fd, absl::string_view value, absl::string_view name,
                      absl::string_view dir_path) {
  ssize_t n;
  while ((n = pwrite(fd, value.data(), value.size(), 0)) < 0 &&
         errno == EINTR) {
  }
  if (n < 0) return ErrnoStatus(errno, WriteWhat(value, name, dir_path));
  if (static_cast<std::size_t>(n) != value.size()) {
    return absl::InternalError(
        fmt::format("{}: short write", WriteWhat(value, name, dir_path)));
  }
  return absl::OkStatus();
}

// --- CgroupFile --------------------------------------------------------------

CgroupFile::CgroupFile(int dir, const char* name, int flags)
    : fd_(openat(dir, name, flags | O_CLOEXEC)),
      name_(name),
      open_errno_(fd_.valid() ? 0 : errno) {}

CgroupFile CgroupFile::Absent(const char* name) {
  CgroupFile file;
  file.name_ = name;
  return file;
}

absl::StatusOr<std::string> CgroupFile::Read(
    const std::string& dir_path) const {
  if (valid()) return ReadAt0(fd_.get(), name_);
  if (absent()) return ErrnoStatus(ENOENT, fmt::format("open {}", name_));
  return ReadCgroupFile(AT_FDCWD,
                        fmt::format("{}/{}", dir_path, name_).c_str());
}

absl::Status CgroupFile::Write(absl::string_view value,
                               const std::string& dir_path) const {
  if (valid()) return WriteAt0(fd_.get(), value, name_, dir_path);
  return WriteCgroupFile(AT_FDCWD,
                         fmt::format("{}/{}", dir_path, name_).c_str(), value);
}

bool OutOfResources(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM;
}

absl::Status CheckOpened(absl::Span<const CgroupFile> files,
                         absl::string_view dir_path) {
  for (const CgroupFile& file : files) {
    if (!file.valid() && OutOfResources(file.open_errno())) {
      return ErrnoStatus(file.open_errno(),
                         fmt::format("open {}/{}", dir_path, file.name()));
    }
  }
  return absl::OkStatus();
}

void CgroupFile::Park() {
  if (!valid()) return;
  fd_.reset();
  open_errno_ = EBADF;  // present: read and written by path from now on
}

void CgroupFile::Close() {
  fd_.reset();
  open_errno_ = ENOENT;
}

std::optional<int64_t> ParseCgroupInt(absl::string_view text) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &value) ||
      value < 0) {
    return std::nullopt;
  }
  return value;
}

std::optional<int64_t> ScaledCounter(std::optional<int64_t> value,
                                     int64_t factor) {
  if (!value || *value < 0 || factor <= 0 ||
      *value > std::numeric_limits<int64_t>::max() / factor) {
    return std::nullopt;
  }
  return *value * factor;
}

int64_t AddCounters(int64_t a, int64_t b) {
  a = std::max<int64_t>(a, 0);
  b = std::max<int64_t>(b, 0);
  if (a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  return a + b;
}

std::optional<int64_t> FlatKeyedValue(absl::string_view text,
                                      absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(line, absl::MaxSplits(' ', 1));
    if (kv.first == key) return ParseCgroupInt(kv.second);
  }
  return std::nullopt;
}

std::vector<int64_t> ParsePids(absl::string_view text) {
  std::vector<int64_t> pids;
  for (absl::string_view line :
       absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    if (std::optional<int64_t> pid = ParseCgroupInt(line); pid && *pid > 0) {
      pids.push_back(*pid);
    }
  }
  return pids;
}

absl::Status KillEveryProcess(int dir, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  for (int round = 0;; ++round) {
    // Opened anew each round: v1 hands the same pid list to a descriptor
    // for a while.
    absl::StatusOr<std::string> procs = ReadCgroupFile(dir, "cgroup.procs");
    if (!procs.ok()) return procs.status();
    const std::vector<int64_t> pids = ParsePids(*procs);
    if (pids.empty()) return absl::OkStatus();
    if (absl::Now() >= give_up) {
      return absl::DeadlineExceededError(fmt::format(
          "kill every process of a cgroup: {} still listed after {}",
          pids.size(), procsandbox::FormatDuration(timeout)));
    }
    for (int64_t pid : pids) kill(static_cast<pid_t>(pid), SIGKILL);
    // Killed processes leave cgroup.procs when they have exited: give them
    // a moment before the next look, growing up to 1 ms.
    if (round > 0) {
      absl::SleepFor(absl::Microseconds(std::min(1000, 50 * round)));
    }
  }
}

namespace {

// Removes `path` (a group directory) after its sub-groups.
absl::Status RemoveTree(const std::string& path, int depth) {
  if (depth > 32) {
    return absl::FailedPreconditionError(
        fmt::format("remove cgroup \"{}\": nested too deep", path));
  }
  if (DIR* dir = opendir(path.c_str())) {
    std::vector<std::string> children;
    while (const dirent* entry = readdir(dir)) {
      const std::string name = entry->d_name;
      if (name == "." || name == ".." || entry->d_type != DT_DIR) continue;
      children.push_back(absl::StrCat(path, "/", name));
    }
    closedir(dir);
    for (const std::string& child : children) {
      if (absl::Status s = RemoveTree(child, depth + 1); !s.ok()) return s;
    }
  } else if (errno == ENOENT) {
    return absl::OkStatus();
  }
  if (rmdir(path.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  const int err = errno;
  absl::Status s = ErrnoStatus(err, fmt::format("remove cgroup \"{}\"", path));
  if (err == EBUSY) return absl::UnavailableError(s.message());
  return s;
}

// rmdir of `name` in `parent`: gone is fine, busy is Unavailable.
absl::Status RmdirAt(int parent, const std::string& name,
                     const std::string& path) {
  if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) == 0 || errno == ENOENT) {
    return absl::OkStatus();
  }
  const int err = errno;
  absl::Status s = ErrnoStatus(err, fmt::format("remove cgroup \"{}\"", path));
  if (err == EBUSY) return absl::UnavailableError(s.message());
  return s;
}

// Removes the groups below `dir` (named `path`), deepest first.
absl::Status RemoveChildrenAt(int dir, const std::string& path, int depth) {
  if (depth > 32) {
    return absl::FailedPreconditionError(
        fmt::format("remove cgroup \"{}\": nested too deep", path));
  }
  const int listing = openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (listing < 0) {
    if (errno == ENOENT) return absl::OkStatus();  // removed already
    return ErrnoStatus(errno, fmt::format("list cgroup \"{}\"", path));
  }
  DIR* d = fdopendir(listing);
  if (d == nullptr) {
    const int err = errno;
    close(listing);
    return ErrnoStatus(err, fmt::format("list cgroup \"{}\"", path));
  }
  std::vector<std::string> children;
  while (const dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || entry->d_type != DT_DIR) continue;
    children.push_back(name);
  }
  closedir(d);
  for (const std::string& name : children) {
    const std::string child_path = absl::StrCat(path, "/", name);
    UniqueFd child(openat(dir, name.c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (child.valid()) {
      absl::Status s = RemoveChildrenAt(child.get(), child_path, depth + 1);
      if (!s.ok()) return s;
    } else if (errno != ENOENT) {
      return ErrnoStatus(errno, fmt::format("open cgroup \"{}\"", child_path));
    }
    if (absl::Status s = RmdirAt(dir, name, child_path); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RemoveGroupTree(const std::string& path) {
  return RemoveTree(path, 0);
}

absl::Status RemoveGroupTreeAt(int dir, int parent, const std::string& path) {
  if (absl::Status s = RemoveChildrenAt(dir, path, 0); !s.ok()) return s;
  UniqueFd opened;
  if (parent < 0) {
    opened.reset(openat(dir, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!opened.valid()) {
      if (errno == ENOENT) return absl::OkStatus();  // removed already
      return ErrnoStatus(errno,
                         fmt::format("open the parent of cgroup \"{}\"", path));
    }
    parent = opened.get();
  }
  return RmdirAt(parent, path.substr(path.rfind('/') + 1), path);
}

UniqueFd HoldParentIfMountRoot(int dir) {
  UniqueFd parent(openat(dir, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat inside = {};
  struct stat above = {};
  if (!parent.valid() || fstat(parent.get(), &inside) != 0 ||
      fstatat(parent.get(), "..", &above, 0) != 0) {
    return UniqueFd();
  }
  // At a mount's root ".." leaves the mount (another device), or stays put
  // at the root of the name space.
  const bool root =
      inside.st_dev != above.st_dev || inside.st_ino == above.st_ino;
  return root ? std::move(parent) : UniqueFd();
}

// --- Naming and ownership --------------------------------------------------

namespace {

// A failure to make or open a manager directory: PermissionDenied when the
// parent refuses it, FailedPrecondition otherwise.
absl::Status SetupStatus(int err, const std::string& what) {
  const absl::Status s = ErrnoStatus(err, what);
  const bool refused = err == EACCES || err == EPERM || err == EROFS;
  return absl::Status(refused ? absl::StatusCode::kPermissionDenied
                              : absl::StatusCode::kFailedPrecondition,
                      s.message());
}

// The start time in the stat file at `path` (/proc/PID/stat): NotFound when
// the process is gone.
absl::StatusOr<uint64_t> StartTicksAt(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  // ESRCH: the process ended between open and read.
  auto fail = [&path](int err, const char* action) {
    return ErrnoStatus(err == ESRCH ? ENOENT : err,
                       fmt::format("{} {}", action, path));
  };
  if (!fd.valid()) return fail(errno, "open");
  char buf[1024];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof(buf) - 1)) < 0 && errno == EINTR) {
  }
  if (n < 0) return fail(errno, "read");
  buf[n] = '\0';
  // Fields after the command name (which may hold spaces) start past ')'.
  const char* rest = std::strrchr(buf, ')');
  uint64_t start = 0;
  // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice threads itrealvalue starttime
  if (rest == nullptr || rest[1] == '\0' ||
      std::sscanf(rest + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
                  "%*d %*d %*d %*d %*d %" SCNu64,
                  &start) != 1) {
    return absl::FailedPreconditionError(
        fmt::format("read {}: no start time in it", path));
  }
  return start;
}

absl::Status Raced(const std::string& path) {
  return absl::AbortedError(fmt::format(
      "lock cgroup \"{}\": held or removed by another manager meanwhile",
      path));
}

}  // namespace

absl::StatusOr<ManagerGroupOwner> ThisProcessOwner() {
  // /proc/self is this process even under a /proc of another pid namespace
  // (unshare --pid without --mount-proc), where /proc/<getpid()> is not.
  struct stat ns;
  if (stat("/proc/self/ns/pid", &ns) != 0) {
    return absl::FailedPreconditionError(
        ErrnoStatus(errno, "name the manager's cgroup: stat /proc/self/ns/pid")
            .message());
  }
  absl::StatusOr<uint64_t> started = StartTicksAt("/proc/self/stat");
  if (!started.ok()) {
    return absl::FailedPreconditionError(fmt::format(
        "name the manager's cgroup: {}", started.status().message()));
  }
  ManagerGroupOwner owner;
  owner.pid_namespace = static_cast<uint64_t>(ns.st_ino);
  owner.pid = getpid();
  owner.start_ticks = *started;
  return owner;
}

std::string ManagerGroupName(const ManagerGroupOwner& owner, int64_t n) {
  return fmt::format("procsandbox-{}-{}-{}-{}", owner.pid_namespace, owner.pid,
                     owner.start_ticks, n);
}

std::optional<ManagerGroupOwner> ParseManagerGroupName(
    const std::string& name) {
  constexpr absl::string_view kPrefix = "procsandbox-";
  if (name.compare(0, kPrefix.size(), kPrefix.data(), kPrefix.size()) != 0) {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(name).substr(kPrefix.size()), '-');
  // Exactly as ManagerGroupName writes them: digits only, no sign, space or
  // leading zero (SimpleAtoi alone takes "+1", " 1" and "01", so two names
  // would parse as one owner).
  uint64_t values[4] = {};
  if (parts.size() != 4) return std::nullopt;
  for (std::size_t i = 0; i < 4; ++i) {
    const absl::string_view part = parts[i];
    if (part.empty() || (part.size() > 1 && part[0] == '0') ||
        !std::all_of(part.begin(), part.end(),
                     [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(part, &values[i])) {
      return std::nullopt;
    }
  }
  constexpr uint64_t kInt64Max = std::numeric_limits<int64_t>::max();
  if (values[0] == 0 || values[1] == 0 || values[1] > kInt64Max ||
      values[3] > kInt64Max) {
    return std::nullopt;
  }
  ManagerGroupOwner owner;
  owner.pid_namespace = values[0];
  owner.pid = static_cast<int64_t>(values[1]);
  owner.start_ticks = values[2];
  return owner;
}

absl::StatusOr<uint64_t> ProcessStartTicks(int64_t pid) {
  if (pid <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("read the start time of process {}: not a pid", pid));
  }
  return StartTicksAt(fmt::format("/proc/{}/stat", pid));
}

absl::StatusOr<UniqueFd> MakeManagerDirectory(int parent,
                                              const std::string& name,
                                              const std::string& path,
                                              bool* created) {
  const bool made = mkdirat(parent, name.c_str(), 0755) == 0;
  if (created != nullptr) *created = false;
  if (!made && errno != EEXIST) {
    return SetupStatus(errno, fmt::format("create cgroup \"{}\"", path));
  }
  auto undo = [&] {
    if (made) (void)unlinkat(parent, name.c_str(), AT_REMOVEDIR);
  };
  UniqueFd dir(openat(parent, name.c_str(),
                      O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dir.valid()) {
    const int err = errno;
    if (err == ENOENT) return Raced(path);  // a sweep removed it
    undo();
    return SetupStatus(err, fmt::format("open cgroup \"{}\"", path));
  }
  if (flock(dir.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    // Held by a sweep (the directory is made, no manager has it yet; a
    // sweep that finds its owner alive leaves it), or by a live manager (it
    // was there: not ours).
    undo();
    if (err == EWOULDBLOCK) return Raced(path);
    return SetupStatus(err, fmt::format("lock cgroup \"{}\"", path));
  }
  // A sweep that had the lock before us removed the directory: this
  // descriptor is then of a directory no longer there.
  struct stat held;
  struct stat there;
  if (fstat(dir.get(), &held) != 0 ||
      fstatat(parent, name.c_str(), &there, AT_SYMLINK_NOFOLLOW) != 0 ||
      held.st_ino != there.st_ino || held.st_dev != there.st_dev) {
    return Raced(path);
  }
  if (created != nullptr) *created = made;
  return dir;
}

namespace {

// Checks the owner of the manager directory `path`. When it is gone: a
// descriptor holding the directory's lock (held while the group is
// removed). When it is alive: an invalid descriptor. An error when it
// cannot tell (NotFound: the directory is gone).
absl::StatusOr<UniqueFd> LockIfOwnerGone(const std::string& path,
                                         const ManagerGroupOwner& owner) {
  UniqueFd dir(
      open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dir.valid()) {
    return ErrnoStatus(errno,
                       fmt::format("check the owner of \"{}\": open", path));
  }
  if (flock(dir.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return UniqueFd();  // its manager holds it
    return ErrnoStatus(errno,
                       fmt::format("check the owner of \"{}\": flock", path));
  }
  // No lock held. The owner is gone — unless it still runs in this /proc's
  // pid namespace and let its lock go (a host that closed every descriptor).
  absl::StatusOr<uint64_t> started = ProcessStartTicks(owner.pid);
  if (started.ok() && *started == owner.start_ticks) return UniqueFd();
  if (!started.ok() && !absl::IsNotFound(started.status())) {
    return absl::Status(started.status().code(),
                        fmt::format("check the owner of \"{}\": {}", path,
                                    started.status().message()));
  }
  return dir;
}

// Kills what is left in the group `path` and below (the host that would
// have stopped it is gone), then removes the tree.
absl::Status KillAndRemove(const std::string& path) {
  std::vector<std::string> groups = {path};
  for (std::size_t i = 0; i < groups.size() && i < 4096; ++i) {
    if (DIR* d = opendir(groups[i].c_str())) {
      while (const dirent* entry = readdir(d)) {
        const std::string name = entry->d_name;
        if (entry->d_type == DT_DIR && name != "." && name != "..") {
          groups.push_back(groups[i] + "/" + name);
        }
      }
      closedir(d);
    }
  }
  for (const std::string& group : groups) {
    absl::StatusOr<UniqueFd> fd = OpenDirectory(group);
    if (!fd.ok()) continue;
    // v2 kills the whole group at once where it can; v1 thaws a frozen
    // group so that its processes can die.
    (void)WriteCgroupFile(fd->get(), "cgroup.kill", "1");
    (void)WriteCgroupFile(fd->get(), "freezer.state", "THAWED");
    (void)WriteCgroupFile(fd->get(), "cgroup.freeze", "0");
    (void)KillEveryProcess(fd->get(), absl::Seconds(1));
  }
  return RemoveGroupTree(path);
}

}  // namespace

std::vector<std::string> RemoveStaleGroups(const std::string& parent,
                                           std::vector<std::string>* failed) {
  std::vector<std::string> removed;
  DIR* dir = opendir(parent.c_str());
  if (dir == nullptr) return removed;
  struct Stale {
    std::string path;
    UniqueFd lock;
  };
  std::vector<Stale> stale;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_type != DT_DIR) continue;
    const std::optional<ManagerGroupOwner> owner =
        ParseManagerGroupName(entry->d_name);
    if (!owner) continue;
    std::string path = parent + "/" + entry->d_name;
    absl::StatusOr<UniqueFd> lock = LockIfOwnerGone(path, *owner);
    if (lock.ok() && lock->valid()) {
      stale.push_back({std::move(path), *std::move(lock)});
    } else if (!lock.ok() && !absl::IsNotFound(lock.status()) &&
               failed != nullptr) {
      failed->push_back(fmt::format("{}; left alone", lock.status().message()));
    }
  }
  closedir(dir);
  for (const Stale& group : stale) {
    if (absl::Status s = KillAndRemove(group.path); s.ok()) {
      removed.push_back(group.path);
    } else if (failed != nullptr) {
      failed->push_back(std::string(s.message()));
    }
  }
  return removed;
}

}  // namespace procsandbox::linux_internal
