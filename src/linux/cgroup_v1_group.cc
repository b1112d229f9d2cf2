// The cgroup v1 group of one process tree: a leaf in each hierarchy its
// request needs. Its limits, usage, the freezer, the kill of the whole tree
// (freeze, kill what is listed, thaw) and its removal.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup.h"
#include "linux/cgroup_fs.h"
#include "linux/cgroup_v1_internal.h"
#include "posix/errno_status.h"
#include "posix/unique_fd.h"

namespace procsandbox::linux_internal::cgroup_v1 {

using ::procsandbox::posix_internal::ErrnoStatus;

namespace {

constexpr absl::Duration kFreezeTimeout = absl::Seconds(1);
constexpr absl::Duration kKillTimeout = absl::Seconds(2);
// PID_MAX_LIMIT on 64-bit kernels: pids.max refuses more, and no tree can
// have more processes anyway, so a larger limit is written as "max".
constexpr int64_t kPidMaxLimit = int64_t{4} * 1024 * 1024;

// cpu.weight (1..10000, 100 = default) -> cpu.shares (1024 = default), in
// the kernel's range [2, 262144].
int64_t CpuShares(uint32_t weight) {
  return std::clamp<int64_t>(int64_t{weight} * 1024 / 100, 2, 262144);
}

class V1Cgroup final : public Cgroup {
 public:
  V1Cgroup(std::vector<Leaf> leaves, Facts facts)
      : leaves_(std::move(leaves)), facts_(facts) {}

  // Writes the limits through the leaves' descriptors and closes them;
  // checks that every cgroup.procs is open. On failure the caller removes
  // the group.
  absl::Status Setup(const CgroupRequest& request);

  int clone_into_fd() const override { return -1; }
  std::vector<int> join_fds() const override;
  absl::Status JoinFromChild() override { return absl::OkStatus(); }
  void PlacementDone() override;
  CgroupUsage ReadUsage() const override;
  CgroupUsage ReadEndUsage() const override;
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  bool can_freeze() const override { return Find("freezer") != nullptr; }
  absl::Status KillAll() override;
  absl::Status SendKill() override;
  void CloseDescriptors() override;
  bool can_kill() const override { return !leaves_.empty(); }
  bool Empty() const override;
  absl::Status Remove() override;
  std::string Describe() const override;
  std::vector<CgroupPlace> Places() const override;
  std::vector<CgroupLimitReading> ReadLimits() const override;

 private:
  // A limit Setup() wrote, for Verify().
  struct Written {
    LimitKind limit;
    std::string path;
    std::string value;
  };
  const Leaf* Find(absl::string_view controller) const;
  absl::StatusOr<const Leaf*> Freezer(const char* action) const;
  absl::Status WriteLimits(const CgroupRequest& request);
  void ReadMemory(const Leaf& leaf, CgroupUsage& usage) const;
  void ReadCpu(const Leaf& leaf, CgroupUsage& usage) const;
  // The tree's processes as `leaf`'s cgroup.procs lists them now.
  absl::StatusOr<std::string> List(const Leaf& leaf) const;
  // SIGKILL to the processes `leaf` lists until none is left.
  absl::Status KillListed(const Leaf& leaf) const;

  // The directories and the descriptors read while the tree runs are fixed
  // once Setup() returns; mu_ guards what Remove() and PlacementDone()
  // change and serializes freeze / kill / remove.
  std::vector<Leaf> leaves_;
  const Facts facts_;
  std::vector<Written> written_;  // fixed once Setup() returns
  mutable absl::Mutex mu_;
  bool placed_ ABSL_GUARDED_BY(mu_) = false;
};

const Leaf* V1Cgroup::Find(absl::string_view controller) const {
  for (const Leaf& leaf : leaves_) {
    if (leaf.Has(controller)) return &leaf;
  }
  return nullptr;
}

absl::Status V1Cgroup::Setup(const CgroupRequest& request) {
  if (absl::Status s = WriteLimits(request); !s.ok()) return s;
  for (Leaf& leaf : leaves_) {
    // Written once: a running tree keeps no limit descriptor.
    for (int f = kFirstLimit; f <= kLastLimit; ++f) leaf.files[f].Close();
    if (leaf.files[kProcs].valid()) continue;
    // Prepare could not open it: once more, to report why.
    absl::StatusOr<UniqueFd> dir = OpenDirectory(leaf.path);
    if (!dir.ok()) return dir.status();
    leaf.files[kProcs] = CgroupFile(dir->get(), "cgroup.procs", O_WRONLY);
    if (!leaf.files[kProcs].valid()) {
      return ErrnoStatus(leaf.files[kProcs].open_errno(),
                         fmt::format("open \"{}/cgroup.procs\"", leaf.path));
    }
  }
  return absl::OkStatus();
}

absl::Status V1Cgroup::WriteLimits(const CgroupRequest& request) {
  struct Write {
    const char* controller;
    LeafFile file;
    std::string value;
    std::optional<LimitKind> limit;  // what Verify() reads it back for
  };
  std::vector<Write> writes;
  if (request.memory_bytes) {
    const std::string value = absl::StrCat(*request.memory_bytes);
    writes.push_back({"memory", kLimitInBytes, value, LimitKind::kMemory});
    // memsw (memory + swap) second: the kernel wants memsw >= memory at
    // every step, and an unlimited memsw would let the tree swap past it.
    if (facts_.memsw) {
      writes.push_back({"memory", kMemswLimitInBytes, value, std::nullopt});
    }
  }
  if (request.processes) {
    writes.push_back({"pids", kPidsMax,
                      *request.processes > kPidMaxLimit
                          ? std::string("max")
                          : absl::StrCat(*request.processes),
                      LimitKind::kProcesses});
  }
  if (request.cpu_weight) {
    writes.push_back({"cpu", kCpuShares,
                      absl::StrCat(CpuShares(*request.cpu_weight)),
                      LimitKind::kCpuWeight});
  }
  for (const Write& w : writes) {
    const Leaf* leaf = Find(w.controller);
    absl::Status s = leaf->files[w.file].Write(w.value, leaf->path);
    if (!s.ok()) return s;
    if (w.limit) {
      written_.push_back(
          {*w.limit,
           fmt::format("{}/{}", leaf->path, leaf->files[w.file].name()),
           w.value});
    }
  }
  return absl::OkStatus();
}

std::vector<CgroupPlace> V1Cgroup::Places() const {
  std::vector<CgroupPlace> places;
  for (const Leaf& leaf : leaves_) {
    if (!leaf.controllers.empty()) {
      places.push_back({leaf.controllers.front(), leaf.path});
    }
  }
  return places;
}

std::vector<CgroupLimitReading> V1Cgroup::ReadLimits() const {
  std::vector<CgroupLimitReading> readings;
  for (const Written& w : written_) {
    readings.push_back(
        {w.limit, w.path, w.value, ReadCgroupFile(AT_FDCWD, w.path.c_str())});
  }
  return readings;
}

std::vector<int> V1Cgroup::join_fds() const {
  absl::MutexLock lock(&mu_);
  std::vector<int> fds;
  if (placed_) return fds;
  for (const Leaf& leaf : leaves_) {
    if (leaf.files[kProcs].valid()) fds.push_back(leaf.files[kProcs].fd());
  }
  return fds;
}

void V1Cgroup::PlacementDone() {
  absl::MutexLock lock(&mu_);
  placed_ = true;
  for (Leaf& leaf : leaves_) {
    leaf.files[kProcs].Close();
    // Only live Usage() reads these: by path then, so that a running tree
    // keeps few descriptors (the manager may run thousands).
    for (int file : {kUsageInBytes, kFailcnt, kMemswFailcnt, kPidsCurrent}) {
      leaf.files[file].Park();
    }
  }
}

void V1Cgroup::ReadMemory(const Leaf& leaf, CgroupUsage& usage) const {
  usage.memory_current = leaf.ReadInt(kUsageInBytes);
  usage.memory_peak = leaf.ReadInt(kMaxUsageInBytes);
  // oom_kill is in memory.oom_control since Linux 4.13.
  usage.oom_kills = leaf.ReadInt(kOomControl, "oom_kill").value_or(0);
  // A charge is checked against memsw first, then memory: a refused one
  // counts in one of the two failcnt files. Linux 6.12+ keeps no
  // memsw.failcnt, so hits at a memsw limit go uncounted there: an OOM kill
  // is at least one hit.
  const int64_t failcnt =
      AddCounters(leaf.ReadInt(kFailcnt).value_or(0),
                  facts_.memsw ? leaf.ReadInt(kMemswFailcnt).value_or(0) : 0);
  usage.memory_limit_hits = std::max(failcnt, usage.oom_kills);
}

void V1Cgroup::ReadCpu(const Leaf& leaf, CgroupUsage& usage) const {
  usage.cpu_total_ns = leaf.ReadInt(kCpuacctUsage);
  if (facts_.usage_user) {
    usage.cpu_user_ns = leaf.ReadInt(kCpuacctUsageUser);
    usage.cpu_system_ns = leaf.ReadInt(kCpuacctUsageSys);
    return;
  }
  // Older kernels: cpuacct.stat in USER_HZ ticks.
  std::optional<std::string> stat = leaf.Read(kCpuacctStat);
  if (!stat) return;
  const int64_t ns_per_tick = 1'000'000'000 / facts_.ticks_per_second;
  usage.cpu_user_ns = ScaledCounter(FlatKeyedValue(*stat, "user"), ns_per_tick);
  usage.cpu_system_ns =
      ScaledCounter(FlatKeyedValue(*stat, "system"), ns_per_tick);
}

CgroupUsage V1Cgroup::ReadUsage() const {
  CgroupUsage usage;
  if (const Leaf* memory = Find("memory")) ReadMemory(*memory, usage);
  if (const Leaf* pids = Find("pids")) {
    usage.processes = pids->ReadInt(kPidsCurrent);
    usage.process_limit_hits = pids->ReadInt(kPidsEvents, "max").value_or(0);
  }
  if (const Leaf* cpuacct = Find("cpuacct")) ReadCpu(*cpuacct, usage);
  return usage;
}

CgroupUsage V1Cgroup::ReadEndUsage() const {
  CgroupUsage usage;
  if (const Leaf* memory = Find("memory")) {
    usage.memory_peak = memory->ReadInt(kMaxUsageInBytes);
    usage.oom_kills = memory->ReadInt(kOomControl, "oom_kill").value_or(0);
    usage.memory_limit_hits = usage.oom_kills;
  }
  if (const Leaf* pids = Find("pids")) {
    usage.process_limit_hits = pids->ReadInt(kPidsEvents, "max").value_or(0);
  }
  if (const Leaf* cpuacct = Find("cpuacct")) ReadCpu(*cpuacct, usage);
  return usage;
}

absl::StatusOr<const Leaf*> V1Cgroup::Freezer(const char* action) const {
  if (const Leaf* freezer = Find("freezer")) return freezer;
  return absl::FailedPreconditionError(
      fmt::format("{} {}: no freezer directory", action, Describe()));
}

absl::Status V1Cgroup::Freeze() {
  absl::StatusOr<const Leaf*> freezer = Freezer("freeze");
  if (!freezer.ok()) return freezer.status();
  const CgroupFile& state_file = (*freezer)->files[kFreezerStateFile];
  const std::string& path = (*freezer)->path;
  const absl::Time give_up = absl::Now() + kFreezeTimeout;
  std::string state;
  for (int round = 0;; ++round) {
    // Writing FROZEN again while FREEZING retries the tasks that were busy
    // (in a syscall, or newly forked) on the last pass.
    if (absl::Status s = state_file.Write("FROZEN", path); !s.ok()) return s;
    absl::StatusOr<std::string> text = state_file.Read(path);
    if (!text.ok()) return text.status();
    state = std::string(absl::StripAsciiWhitespace(*text));
    if (state == "FROZEN") return absl::OkStatus();
    if (absl::Now() >= give_up) break;
    absl::SleepFor(absl::Microseconds(std::min(1000, 50 * (round + 1))));
  }
  return absl::DeadlineExceededError(
      fmt::format("freeze \"{}\": still {} after {}", path, state,
                  procsandbox::FormatDuration(kFreezeTimeout)));
}

absl::Status V1Cgroup::Thaw() {
  absl::StatusOr<const Leaf*> freezer = Freezer("thaw");
  if (!freezer.ok()) return freezer.status();
  return (*freezer)->files[kFreezerStateFile].Write("THAWED", (*freezer)->path);
}

absl::StatusOr<std::string> V1Cgroup::List(const Leaf& leaf) const {
  if (leaf.dir.valid()) return ReadCgroupFile(leaf.dir.get(), "cgroup.procs");
  return ReadCgroupFile(AT_FDCWD,
                        fmt::format("{}/cgroup.procs", leaf.path).c_str());
}

absl::Status V1Cgroup::KillListed(const Leaf& leaf) const {
  if (leaf.dir.valid()) return KillEveryProcess(leaf.dir.get(), kKillTimeout);
  absl::StatusOr<UniqueFd> dir = OpenDirectory(leaf.path);
  if (!dir.ok()) return dir.status();
  return KillEveryProcess(dir->get(), kKillTimeout);
}

absl::Status V1Cgroup::KillAll() {
  absl::MutexLock lock(&mu_);
  if (leaves_.empty()) {
    return absl::FailedPreconditionError(
        "kill a cgroup v1 group: it has no directory");
  }
  const Leaf* freezer = Find("freezer");
  if (freezer == nullptr) {
    // Every leaf lists the whole tree; a fork racing the kill shows up in
    // the next round.
    return KillListed(leaves_.front());
  }
  // Frozen, nothing can fork; SIGKILL is queued and acts once thawed. A
  // freeze that timed out still stopped most: the kill goes on.
  (void)Freeze();
  if (absl::StatusOr<std::string> procs = List(*freezer); procs.ok()) {
    for (int64_t pid : ParsePids(*procs)) {
      kill(static_cast<pid_t>(pid), SIGKILL);
    }
  }
  const absl::Status thawed = Thaw();
  absl::Status empty = KillListed(*freezer);
  return empty.ok() ? thawed : empty;
}

absl::Status V1Cgroup::SendKill() {
  absl::MutexLock lock(&mu_);
  if (leaves_.empty()) {
    return absl::FailedPreconditionError(
        "kill a cgroup v1 group: it has no directory");
  }
  const Leaf* freezer = Find("freezer");
  // Frozen, nothing can fork past the list; without a freezer a fork that
  // races this pass is caught by the kill at the leader's exit.
  if (freezer != nullptr) (void)Freeze();
  const Leaf& listed = freezer != nullptr ? *freezer : leaves_.front();
  absl::StatusOr<std::string> procs = List(listed);
  if (procs.ok()) {
    for (int64_t pid : ParsePids(*procs)) {
      kill(static_cast<pid_t>(pid), SIGKILL);
    }
  }
  if (freezer != nullptr) (void)Thaw();
  return procs.status();
}

void V1Cgroup::CloseDescriptors() {
  absl::MutexLock lock(&mu_);
  placed_ = true;
  for (Leaf& leaf : leaves_) {
    for (CgroupFile& file : leaf.files) file.Park();
    leaf.dir.reset();
  }
}

bool V1Cgroup::Empty() const {
  absl::MutexLock lock(&mu_);
  // Every leaf lists the whole tree: one says it all, the freezer's through
  // its kept directory. A removed directory holds nothing (reading it
  // fails).
  if (leaves_.empty()) return true;
  const Leaf* freezer = Find("freezer");
  const Leaf& leaf = freezer != nullptr ? *freezer : leaves_.front();
  if (leaf.removed) return true;
  absl::StatusOr<std::string> procs = List(leaf);
  return !procs.ok() || ParsePids(*procs).empty();
}

absl::Status V1Cgroup::Remove() {
  absl::MutexLock lock(&mu_);
  absl::Status result;
  for (Leaf& leaf : leaves_) {
    if (leaf.removed) continue;
    absl::Status s = RemoveLeafDir(leaf.path);
    if (s.ok()) {
      leaf.removed = true;
    } else {
      result.Update(s);
    }
  }
  return result;
}

std::string V1Cgroup::Describe() const {
  std::vector<absl::string_view> paths;
  paths.reserve(leaves_.size());
  for (const Leaf& leaf : leaves_) paths.emplace_back(leaf.path);
  return fmt::format("cgroup v1 {{{}}}", absl::StrJoin(paths, ", "));
}

}  // namespace

absl::Status RemoveLeafDir(const std::string& path) {
  if (rmdir(path.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  const int err = errno;
  absl::Status s = ErrnoStatus(err, fmt::format("remove cgroup \"{}\"", path));
  if (err == EBUSY) return absl::UnavailableError(s.message());
  return s;
}

absl::StatusOr<std::unique_ptr<Cgroup>> NewGroup(std::vector<Leaf> leaves,
                                                 Facts facts,
                                                 const CgroupRequest& request) {
  auto group = std::make_unique<V1Cgroup>(std::move(leaves), facts);
  if (absl::Status s = group->Setup(request); !s.ok()) {
    (void)group->Remove();  // nothing half-made stays
    return s;
  }
  return group;
}

}  // namespace procsandbox::linux_internal::cgroup_v1
