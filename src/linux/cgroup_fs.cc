#include "linux/cgroup_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup.h"
#include "linux/errno_status.h"

namespace procsandbox::linux_internal {

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
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &value)) {
    return std::nullopt;
  }
  return value;
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
      children.push_back(path + "/" + name);
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

}  // namespace

absl::Status RemoveGroupTree(const std::string& path) {
  return RemoveTree(path, 0);
}

// --- Naming ----------------------------------------------------------------

std::string ManagerGroupName(int64_t pid, uint64_t start_ticks, int64_t n) {
  return fmt::format("procsandbox-{}-{}-{}", pid, start_ticks, n);
}

std::optional<ManagerGroupOwner> ParseManagerGroupName(
    const std::string& name) {
  constexpr absl::string_view kPrefix = "procsandbox-";
  if (name.compare(0, kPrefix.size(), kPrefix.data(), kPrefix.size()) != 0) {
    return std::nullopt;
  }
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(name).substr(kPrefix.size()), '-');
  ManagerGroupOwner owner;
  int64_t n = 0;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &owner.pid) ||
      !absl::SimpleAtoi(parts[1], &owner.start_ticks) ||
      !absl::SimpleAtoi(parts[2], &n) || owner.pid <= 0 || n < 0) {
    return std::nullopt;
  }
  return owner;
}

std::optional<uint64_t> ProcessStartTicks(int64_t pid) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%lld/stat",
                static_cast<long long>(pid));
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return std::nullopt;
  char buf[1024];
  const std::size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  // Fields after the command name (which may hold spaces) start past ')'.
  const char* rest = std::strrchr(buf, ')');
  if (rest == nullptr) return std::nullopt;
  unsigned long long start = 0;
  // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice threads itrealvalue starttime
  if (std::sscanf(rest + 2,
                  "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
                  "%*d %*d %*d %*d %*d %llu",
                  &start) != 1) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(start);
}

std::vector<std::string> RemoveStaleGroups(const std::string& parent,
                                           std::vector<std::string>* failed) {
  std::vector<std::string> removed;
  DIR* dir = opendir(parent.c_str());
  if (dir == nullptr) return removed;
  std::vector<std::string> stale;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_type != DT_DIR) continue;
    const std::optional<ManagerGroupOwner> owner =
        ParseManagerGroupName(entry->d_name);
    if (!owner) continue;
    // A live manager: its host process runs, with the same start time.
    if (ProcessStartTicks(owner->pid) == owner->start_ticks) continue;
    stale.push_back(parent + "/" + entry->d_name);
  }
  closedir(dir);
  for (const std::string& path : stale) {
    // Every group below: kill what is left in it (the host that would have
    // stopped it is gone), then remove the tree.
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
    if (absl::Status s = RemoveGroupTree(path); s.ok()) {
      removed.push_back(path);
    } else if (failed != nullptr) {
      failed->push_back(std::string(s.message()));
    }
  }
  return removed;
}

}  // namespace procsandbox::linux_internal
