// The cgroup v2 group of one process tree: a leaf of the manager's
// directory. Its usage, freeze and thaw, the kill of the whole tree
// (cgroup.kill, or freeze, kill what is listed, thaw), and its removal.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup.h"
#include "linux/cgroup_fs.h"
#include "linux/cgroup_v2_internal.h"
#include "posix/errno_status.h"
#include "posix/unique_fd.h"
#include "procsandbox/limits.h"

namespace procsandbox::linux_internal::cgroup_v2 {

using ::procsandbox::posix_internal::ErrnoStatus;

namespace {

// How long Freeze() waits for "frozen 1", KillAll() for "populated 0".
constexpr absl::Duration kFreezeTimeout = absl::Seconds(1);
constexpr absl::Duration kKillTimeout = absl::Seconds(2);
// Longest sleep between two looks at cgroup.events (kernfs wakes poll(2) on
// every change; this bounds a missed wake-up).
constexpr int kEventPollMs = 10;

std::optional<int64_t> MicrosToNanos(std::optional<int64_t> usec) {
  return ScaledCounter(usec, 1000);
}

class V2Group final : public Cgroup {
 public:
  // `leaf`'s limit files are closed already. `manager_dir` is the driver's
  // directory (shared: a group may outlive its driver): every file opened
  // later, and the removal, go through it, so that they work where the
  // group's path no longer leads to it (cgroupfs covered by another mount).
  V2Group(Leaf leaf, bool clone_into,
          std::shared_ptr<const UniqueFd> manager_dir)
      : manager_dir_(std::move(manager_dir)),
        name_(leaf.name),
        manager_path_(leaf.path.substr(0, leaf.path.rfind('/'))),
        dir_(std::move(leaf.dir)),
        procs_(std::move(leaf.files[kProcs])),
        joined_(!clone_into),
        path_(std::move(leaf.path)),
        files_(std::move(leaf.files)),
        has_events_(!files_[kEvents].absent()),
        has_freeze_(leaf.has_freeze),
        has_kill_(leaf.has_kill),
        written_(std::move(leaf.written)) {}

  int clone_into_fd() const override {
    absl::MutexLock lock(&mu_);
    return joined_ ? -1 : dir_.get();
  }
  std::vector<int> join_fds() const override {
    absl::MutexLock lock(&mu_);
    if (!joined_ || !procs_.valid()) return {};
    return {procs_.fd()};
  }
  absl::Status JoinFromChild() override {
    absl::MutexLock lock(&mu_);
    // After PlacementDone() there is nothing left to place.
    if (joined_ || !dir_.valid()) return absl::OkStatus();
    procs_ = CgroupFile(dir_.get(), "cgroup.procs", O_WRONLY);
    if (!procs_.valid()) {
      return ErrnoStatus(procs_.open_errno(),
                         fmt::format("open {}/cgroup.procs", path_));
    }
    joined_ = true;
    return absl::OkStatus();
  }
  void PlacementDone() override {
    absl::MutexLock lock(&mu_);
    dir_.reset();
    procs_.Close();
    // Only live Usage() reads these: by path then, so that a running tree
    // keeps few descriptors (the manager may run thousands).
    files_[kMemoryCurrent].Park();
    files_[kPidsCurrent].Park();
  }

  CgroupUsage ReadUsage() const override;
  CgroupUsage ReadEndUsage() const override;
  // CPU, memory peak and events, pids events: through kept descriptors.
  void ReadTotals(CgroupUsage& usage) const;
  absl::Status Freeze() override;
  absl::Status Thaw() override { return WriteFile("cgroup.freeze", "0"); }
  bool can_freeze() const override { return has_freeze_; }
  absl::Status KillAll() override;
  absl::Status SendKill() override;
  void CloseDescriptors() override {
    absl::MutexLock lock(&mu_);
    dir_.reset();
    procs_.Close();
    for (CgroupFile& file : files_) file.Park();
  }
  bool can_kill() const override { return true; }
  bool Empty() const override;
  int events_fd() const override {
    return files_[kEvents].valid() ? files_[kEvents].fd() : -1;
  }
  absl::Status Remove() override;
  std::string Describe() const override { return path_; }
  std::vector<CgroupPlace> Places() const override { return {{"", path_}}; }
  std::vector<CgroupLimitReading> ReadLimits() const override;

 private:
  std::optional<std::string> Read(LeafFile file) const {
    absl::StatusOr<std::string> text = files_[file].Read(path_);
    if (!text.ok()) return std::nullopt;
    return *std::move(text);
  }
  std::optional<int64_t> ReadInt(LeafFile file) const {
    std::optional<std::string> text = Read(file);
    if (!text) return std::nullopt;
    return ParseCgroupInt(*text);
  }
  // Writes a file no descriptor is kept on (cgroup.freeze, cgroup.kill),
  // opened from the manager's directory: rare, and the error names
  // `<path>/<name>`.
  absl::Status WriteFile(const char* name, absl::string_view value) const {
    return WriteCgroupFile(manager_dir_->get(),
                           fmt::format("{}/{}", name_, name).c_str(), value,
                           manager_path_);
  }
  // SIGKILL to each listed process, the group frozen meanwhile so that none
  // forks past the list (before cgroup.kill).
  absl::Status KillByList();
  // Waits until cgroup.events says `key` is `value`, for at most `timeout`.
  absl::Status AwaitEvent(const char* key, int64_t value,
                          absl::Duration timeout,
                          absl::string_view action) const;

  const std::shared_ptr<const UniqueFd> manager_dir_;
  const std::string name_;  // in the manager's directory
  const std::string manager_path_;
  // The placement descriptors, until PlacementDone().
  mutable absl::Mutex mu_;
  UniqueFd dir_ ABSL_GUARDED_BY(mu_);
  CgroupFile procs_ ABSL_GUARDED_BY(mu_);
  // Set once the child is to join through cgroup.procs.
  bool joined_ ABSL_GUARDED_BY(mu_);

  const std::string path_;
  // The files read while the tree runs (the limit files are closed, the
  // placement one moved to procs_).
  // (Not const: PlacementDone() parks the live-only ones.)
  std::array<CgroupFile, kLeafFileCount> files_;
  const bool has_events_;
  const bool has_freeze_;
  const bool has_kill_;
  const std::vector<Leaf::Written> written_;
};

std::vector<CgroupLimitReading> V2Group::ReadLimits() const {
  std::vector<CgroupLimitReading> readings;
  for (const Leaf::Written& w : written_) {
    // Through the manager's directory, as every later open of this group.
    readings.push_back(
        {w.limit, fmt::format("{}/{}", path_, w.file), w.value,
         ReadCgroupFile(manager_dir_->get(),
                        fmt::format("{}/{}", name_, w.file).c_str())});
  }
  return readings;
}

CgroupUsage V2Group::ReadUsage() const {
  CgroupUsage usage;
  ReadTotals(usage);
  usage.memory_current = ReadInt(kMemoryCurrent);
  usage.processes = ReadInt(kPidsCurrent);
  return usage;
}

void V2Group::ReadTotals(CgroupUsage& usage) const {
  // cpu.stat is a core file: there even without the cpu controller.
  if (std::optional<std::string> cpu = Read(kCpuStat)) {
    usage.cpu_total_ns = MicrosToNanos(FlatKeyedValue(*cpu, "usage_usec"));
    usage.cpu_user_ns = MicrosToNanos(FlatKeyedValue(*cpu, "user_usec"));
    usage.cpu_system_ns = MicrosToNanos(FlatKeyedValue(*cpu, "system_usec"));
  }
  usage.memory_peak = ReadInt(kMemoryPeak);
  if (std::optional<std::string> events = Read(kMemoryEvents)) {
    usage.oom_kills = FlatKeyedValue(*events, "oom_kill").value_or(0);
    usage.memory_limit_hits = FlatKeyedValue(*events, "max").value_or(0);
  }
  if (std::optional<std::string> events = Read(kPidsEvents)) {
    usage.process_limit_hits = FlatKeyedValue(*events, "max").value_or(0);
  }
}

CgroupUsage V2Group::ReadEndUsage() const {
  CgroupUsage usage;
  ReadTotals(usage);
  return usage;
}

absl::Status V2Group::Freeze() {
  absl::Status s = WriteFile("cgroup.freeze", "1");
  if (!s.ok()) return s;
  return AwaitEvent("frozen", 1, kFreezeTimeout, "freeze");
}

absl::Status V2Group::SendKill() {
  if (has_kill_) {
    absl::Status s = WriteFile("cgroup.kill", "1");
    // A cgroup.kill that cannot be written (a read-only mount, a file made
    // read-only, EACCES) still leaves the list: kill what it names.
    if (s.ok() || absl::IsNotFound(s)) return s;
    absl::Status listed = KillByList();
    if (listed.ok()) return listed;
    return s;
  }
  return KillByList();
}

absl::Status V2Group::KillAll() {
  absl::Status s = SendKill();
  if (!s.ok() || !has_events_) return s;
  return AwaitEvent("populated", 0, kKillTimeout, "kill every process of");
}

absl::Status V2Group::KillByList() {
  // A frozen process still dies of SIGKILL in cgroup v2.
  const bool frozen = has_freeze_ && Freeze().ok();
  UniqueFd dir(openat(manager_dir_->get(), name_.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  absl::Status s =
      dir.valid()
          ? KillEveryProcess(dir.get(), kKillTimeout)
          : ErrnoStatus(errno, fmt::format("open cgroup \"{}\"", path_));
  if (frozen) s.Update(Thaw());
  return s;
}

bool V2Group::Empty() const {
  if (std::optional<std::string> events = Read(kEvents)) {
    if (std::optional<int64_t> populated =
            FlatKeyedValue(*events, "populated")) {
      return *populated == 0;
    }
  }
  absl::StatusOr<std::string> procs = ReadCgroupFile(
      manager_dir_->get(), fmt::format("{}/cgroup.procs", name_).c_str());
  return !procs.ok() || ParsePids(*procs).empty();
}

absl::Status V2Group::Remove() {
  if (unlinkat(manager_dir_->get(), name_.c_str(), AT_REMOVEDIR) == 0 ||
      errno == ENOENT) {
    return absl::OkStatus();
  }
  const int err = errno;
  absl::Status s = ErrnoStatus(err, fmt::format("remove cgroup \"{}\"", path_));
  if (err == EBUSY) return absl::UnavailableError(s.message());
  return s;
}

absl::Status V2Group::AwaitEvent(const char* key, int64_t value,
                                 absl::Duration timeout,
                                 absl::string_view action) const {
  // The kept descriptor, or one opened now when Prepare could not.
  UniqueFd opened;
  int events = files_[kEvents].fd();
  if (!files_[kEvents].valid()) {
    opened.reset(openat(manager_dir_->get(),
                        fmt::format("{}/cgroup.events", name_).c_str(),
                        O_RDONLY | O_CLOEXEC));
    if (!opened.valid()) {
      return ErrnoStatus(
          errno,
          fmt::format("{} cgroup \"{}\": open cgroup.events", action, path_));
    }
    events = opened.get();
  }
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    // Reading through the descriptor poll(2) waits on tells kernfs what was
    // seen.
    absl::StatusOr<std::string> text = ReadAt0(events, "cgroup.events");
    if (!text.ok()) return text.status();
    if (FlatKeyedValue(*text, key) == value) return absl::OkStatus();
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(fmt::format(
          "{} cgroup \"{}\": cgroup.events does not say \"{} {}\" after {}",
          action, path_, key, value, procsandbox::FormatDuration(timeout)));
    }
    // kernfs reports a change of the file as POLLPRI (cgroup v2 docs).
    pollfd waiter = {events, POLLPRI, 0};
    const int64_t wait_ms =
        std::min<int64_t>(kEventPollMs, absl::ToInt64Milliseconds(left) + 1);
    (void)poll(&waiter, 1, static_cast<int>(wait_ms));
  }
}

}  // namespace

std::unique_ptr<Cgroup> NewGroup(Leaf leaf, bool clone_into,
                                 std::shared_ptr<const UniqueFd> manager_dir) {
  return std::make_unique<V2Group>(std::move(leaf), clone_into,
                                   std::move(manager_dir));
}

}  // namespace procsandbox::linux_internal::cgroup_v2
