// The cgroup v1 driver: one hierarchy per controller (or per co-mounted set,
// "cpu,cpuacct"), a manager directory `<parent>/<name>` in each, and one leaf
// directory per process tree, named by a sequence number, in each hierarchy
// the tree's request needs:
//
//   memory   memory_bytes, memory_accounting  memory.limit_in_bytes (+memsw)
//   pids     processes                        pids.max
//   cpu      cpu_weight                       cpu.shares
//   cpuacct  cpu_accounting                   cpuacct.usage
//   freezer  track                            freezer.state
//
// v1 has no clone-into-cgroup: the child writes "0" to the `cgroup.procs` of
// each leaf (join_fds) before it execs, and its descendants inherit them all.
// So every leaf lists the whole tree; the freezer is what makes a kill that a
// fork cannot race (freeze, kill, thaw).
//
// Descriptors: Prepare() makes a spare leaf in each hierarchy and opens its
// cgroup.procs, limit and usage files; Create() writes the limits through
// them and closes them; PlacementDone() closes cgroup.procs. A running tree
// keeps its usage files, freezer.state and the freezer leaf's directory
// open. cgroup.procs is never read through a kept descriptor: v1 hands an
// open file the pid list it made for it for up to a second (the kernel's
// pidlist cache), so Empty and KillAll open it anew for each look.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
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

constexpr char kMemoryLimit[] = "memory.limit_in_bytes";
constexpr char kMemswLimit[] = "memory.memsw.limit_in_bytes";
constexpr char kFreezerState[] = "freezer.state";

// A file that only a (non-root) directory of `controller`'s hierarchy has, or
// null for a controller this driver does not know.
const char* ControllerFile(absl::string_view controller) {
  if (controller == "memory") return kMemoryLimit;
  if (controller == "pids") return "pids.max";
  if (controller == "cpu") return "cpu.shares";
  if (controller == "cpuacct") return "cpuacct.usage";
  if (controller == "freezer") return kFreezerState;
  return nullptr;
}

bool FileExists(int dir, const char* name) {
  return faccessat(dir, name, F_OK, 0) == 0;
}

// mkdir(2) of a leaf directory; an existing one is fine.
absl::Status MakeGroupDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) {
    return absl::OkStatus();
  }
  const int err = errno;
  absl::Status s = ErrnoStatus(err, fmt::format("create cgroup \"{}\"", path));
  if (s.code() == absl::StatusCode::kPermissionDenied) return s;
  return absl::FailedPreconditionError(s.message());
}

// The files of a leaf (cgroup_v1_internal.h): name, hierarchy, mode.
struct LeafFileSpec {
  const char* name;
  const char* controller;  // null: every hierarchy
  int flags;
};
constexpr LeafFileSpec kLeafFiles[kLeafFileCount] = {
    {"memory.usage_in_bytes", "memory", O_RDONLY},
    {"memory.max_usage_in_bytes", "memory", O_RDONLY},
    {"memory.oom_control", "memory", O_RDONLY},
    {"memory.failcnt", "memory", O_RDONLY},
    {"memory.memsw.failcnt", "memory", O_RDONLY},
    {"pids.current", "pids", O_RDONLY},
    {"pids.events", "pids", O_RDONLY},
    {"cpuacct.usage", "cpuacct", O_RDONLY},
    {"cpuacct.usage_user", "cpuacct", O_RDONLY},
    {"cpuacct.usage_sys", "cpuacct", O_RDONLY},
    {"cpuacct.stat", "cpuacct", O_RDONLY},
    {kFreezerState, "freezer", O_RDWR},
    {kMemoryLimit, "memory", O_WRONLY},
    {kMemswLimit, "memory", O_WRONLY},
    {"pids.max", "pids", O_WRONLY},
    {"cpu.shares", "cpu", O_WRONLY},
    {"cgroup.procs", nullptr, O_WRONLY},
};

// Whether a leaf of a hierarchy with `controllers` uses `file`.
bool Uses(int file, const std::vector<std::string>& controllers,
          const Facts& facts) {
  const LeafFileSpec& spec = kLeafFiles[file];
  if (spec.controller != nullptr && !Contains(controllers, spec.controller)) {
    return false;
  }
  switch (file) {
    case kMemswFailcnt:
    case kMemswLimitInBytes:
      return facts.memsw;
    case kCpuacctUsageUser:
    case kCpuacctUsageSys:
      return facts.usage_user;
    case kCpuacctStat:
      return !facts.usage_user;
    default:
      return true;
  }
}

// Whether a spare's directory is still there: one pread of a file it keeps
// open for reading (a removed directory's read ENODEV). A leaf with none
// (cpu alone) is written to by Create(), which finds out then.
bool StillThere(const Leaf& leaf) {
  for (int f = 0; f < kFirstLimit; ++f) {
    if (leaf.files[f].valid()) {
      return ReadAt0(leaf.files[f].fd(), leaf.files[f].name()).ok();
    }
  }
  return true;
}

// Opens the files a leaf at `path` (already made) uses. Best effort: a file
// that cannot be opened now is opened by path when used; but out of
// descriptors or memory (OutOfResources) it is ResourceExhausted.
absl::StatusOr<Leaf> OpenLeaf(std::string path,
                              std::vector<std::string> controllers,
                              const Facts& facts) {
  Leaf leaf;
  leaf.path = std::move(path);
  leaf.controllers = std::move(controllers);
  UniqueFd dir(open(leaf.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid() && OutOfResources(errno)) {
    return ErrnoStatus(errno, fmt::format("open cgroup \"{}\"", leaf.path));
  }
  for (int f = 0; f < kLeafFileCount; ++f) {
    const LeafFileSpec& spec = kLeafFiles[f];
    leaf.files[f] = Uses(f, leaf.controllers, facts)
                        ? CgroupFile(dir.get(), spec.name, spec.flags)
                        : CgroupFile::Absent(spec.name);
  }
  if (absl::Status s = CheckOpened(leaf.files, leaf.path); !s.ok()) return s;
  if (leaf.Has("freezer")) leaf.dir = std::move(dir);
  return leaf;
}

// --- The driver -------------------------------------------------------------

// One hierarchy the driver uses: its manager directory and the configured
// controllers mounted there.
struct Hierarchy {
  std::string dir;
  std::vector<std::string> controllers;
};

class V1Driver final : public CgroupDriver {
 public:
  V1Driver(std::vector<Hierarchy> hierarchies, std::vector<UniqueFd> locks,
           Facts facts)
      : hierarchies_(std::move(hierarchies)),
        locks_(std::move(locks)),
        facts_(facts),
        spares_(hierarchies_.size()) {
    for (const UniqueFd& lock : locks_) {
      parents_.push_back(HoldParentIfMountRoot(lock.get()));
    }
  }

  Mechanism mechanism() const override { return Mechanism::kCgroupV1; }
  LimitEnforcement Enforces(LimitKind kind) const override;
  // Freezing, and a kill that a fork cannot race, need the freezer. Without
  // it a group can still be killed (Cgroup::can_kill) by listing the
  // cgroup.procs of its memory or pids leaf and killing round after round.
  bool can_track() const override { return Has("freezer"); }
  std::string tree_kill() const override {
    return can_track() ? "cgroup v1 freezer: freeze, SIGKILL each process of "
                         "cgroup.procs, thaw"
                       : "";
  }
  std::string tree_freeze() const override {
    return can_track() ? "cgroup v1 freezer: freezer.state FROZEN" : "";
  }
  bool can_account_cpu() const override { return Has("cpuacct"); }
  bool can_account_memory() const override { return Has("memory"); }
  absl::StatusOr<std::unique_ptr<Cgroup>> Create(
      const CgroupRequest& request) override;
  void Prepare(int count) override;
  std::vector<std::string> directories() const override;
  absl::Status RemoveAll() override;

 private:
  // The index of the hierarchy `controller` is in, or -1.
  int IndexOf(absl::string_view controller) const;
  bool Has(absl::string_view controller) const {
    return IndexOf(controller) >= 0;
  }
  // The hierarchies `request` needs, each once; FailedPrecondition when a
  // controller it needs is not there.
  absl::StatusOr<std::vector<int>> Needed(const CgroupRequest& request) const;
  // A leaf in each of `needed`: spares when each has one, else new ones.
  absl::StatusOr<std::vector<Leaf>> TakeLeaves(const std::vector<int>& needed);
  std::string LeafPath(int hierarchy, int64_t n) const {
    return fmt::format(
        "{}/{}", hierarchies_[static_cast<std::size_t>(hierarchy)].dir, n);
  }
  // Opens the files of leaf `n` (made already) of a hierarchy.
  absl::StatusOr<Leaf> OpenLeafOf(int hierarchy, int64_t n) const {
    return OpenLeaf(
        LeafPath(hierarchy, n),
        hierarchies_[static_cast<std::size_t>(hierarchy)].controllers, facts_);
  }

  const std::vector<Hierarchy> hierarchies_;
  // Per hierarchy: its directory, open with its ownership lock held
  // (MakeManagerDirectory) for the driver's life.
  const std::vector<UniqueFd> locks_;
  // Per hierarchy: the parent when it is the root of the mount
  // (HoldParentIfMountRoot), for removing the manager's directory.
  std::vector<UniqueFd> parents_;
  const Facts facts_;
  absl::Mutex prepare_mu_;  // one Prepare / RemoveAll at a time
  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;  // after RemoveAll
  int64_t next_ ABSL_GUARDED_BY(mu_) = 0;     // the next leaf's number
  // Per hierarchy: empty leaves made ahead of time, their files open.
  std::vector<std::deque<Leaf>> spares_ ABSL_GUARDED_BY(mu_);
};

int V1Driver::IndexOf(absl::string_view controller) const {
  for (std::size_t i = 0; i < hierarchies_.size(); ++i) {
    const std::vector<std::string>& c = hierarchies_[i].controllers;
    if (std::find(c.begin(), c.end(), controller) != c.end()) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

LimitEnforcement V1Driver::Enforces(LimitKind kind) const {
  struct Way {
    LimitKind kind;
    const char* controller;
    const char* detail;
  };
  static constexpr Way kWays[] = {
      {LimitKind::kMemory, "memory",
       "memory.limit_in_bytes (+ memory.memsw.limit_in_bytes)"},
      {LimitKind::kProcesses, "pids", "pids.max"},
      {LimitKind::kCpuTime, "cpuacct",
       "cpuacct.usage of the tree, checked by the reactor"},
      {LimitKind::kCpuWeight, "cpu", "cpu.shares"},
  };
  for (const Way& way : kWays) {
    if (way.kind != kind) continue;
    if (!Has(way.controller)) {
      return {kind, Mechanism::kNone,
              fmt::format("{} controller not mounted", way.controller)};
    }
    if (kind == LimitKind::kMemory && !facts_.memsw) {
      return {kind, Mechanism::kCgroupV1,
              "memory.limit_in_bytes (swap not limited: no memsw)"};
    }
    return {kind, Mechanism::kCgroupV1, way.detail};
  }
  return {kind, Mechanism::kNone, "not a cgroup limit"};
}

absl::StatusOr<std::vector<int>> V1Driver::Needed(
    const CgroupRequest& request) const {
  if ((request.memory_bytes && *request.memory_bytes < 0) ||
      (request.processes && *request.processes < 0)) {
    return absl::InvalidArgumentError(
        "create a cgroup v1 group: negative memory or process limit");
  }
  std::vector<const char*> controllers;
  if (request.memory_bytes || request.memory_accounting) {
    controllers.push_back("memory");
  }
  if (request.processes) controllers.push_back("pids");
  if (request.cpu_weight) controllers.push_back("cpu");
  if (request.cpu_accounting) controllers.push_back("cpuacct");
  if (request.track) controllers.push_back("freezer");
  std::vector<int> needed;
  for (const char* controller : controllers) {
    const int index = IndexOf(controller);
    if (index < 0) {
      return absl::FailedPreconditionError(fmt::format(
          "create a cgroup v1 group: the {} controller is not mounted",
          controller));
    }
    if (std::find(needed.begin(), needed.end(), index) == needed.end()) {
      needed.push_back(index);
    }
  }
  return needed;
}

absl::StatusOr<std::vector<Leaf>> V1Driver::TakeLeaves(
    const std::vector<int>& needed) {
  std::vector<Leaf> leaves;
  int64_t n = 0;
  {
    absl::MutexLock lock(&mu_);
    if (closed_) {
      return absl::FailedPreconditionError(
          "create a cgroup v1 group: the driver's directories were removed");
    }
    bool fresh = false;
    for (int h : needed) {
      if (spares_[static_cast<std::size_t>(h)].empty()) {
        fresh = true;
        break;
      }
    }
    if (!fresh) {
      for (int h : needed) {
        std::deque<Leaf>& pool = spares_[static_cast<std::size_t>(h)];
        leaves.push_back(std::move(pool.front()));
        pool.pop_front();
      }
    } else {
      n = next_++;
    }
  }
  if (!leaves.empty()) {
    if (std::all_of(leaves.begin(), leaves.end(), StillThere)) return leaves;
    // Spares removed behind the driver's back go; new leaves say why not.
    for (const Leaf& leaf : leaves) (void)RemoveLeafDir(leaf.path);
    leaves.clear();
    absl::MutexLock lock(&mu_);
    n = next_++;
  }
  for (int h : needed) {
    if (absl::Status s = MakeGroupDir(LeafPath(h, n)); !s.ok()) {
      for (const Leaf& made : leaves) (void)RemoveLeafDir(made.path);
      return s;
    }
    absl::StatusOr<Leaf> leaf = OpenLeafOf(h, n);
    if (!leaf.ok()) {
      (void)RemoveLeafDir(LeafPath(h, n));
      for (const Leaf& made : leaves) (void)RemoveLeafDir(made.path);
      return leaf.status();
    }
    leaves.push_back(*std::move(leaf));
  }
  return leaves;
}

absl::StatusOr<std::unique_ptr<Cgroup>> V1Driver::Create(
    const CgroupRequest& request) {
  absl::StatusOr<std::vector<int>> needed = Needed(request);
  if (!needed.ok()) return needed.status();
  absl::StatusOr<std::vector<Leaf>> leaves = TakeLeaves(*needed);
  if (!leaves.ok()) return leaves.status();
  return NewGroup(std::move(*leaves), facts_, request);
}

void V1Driver::Prepare(int count) {
  absl::MutexLock prepare(&prepare_mu_);
  // One number at a time, in each hierarchy short of spares (so that a
  // group's leaves usually share a name); mkdir outside mu_, Create goes on.
  for (int round = 0; round < count; ++round) {
    std::vector<int> short_of;
    int64_t n = 0;
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return;
      for (std::size_t h = 0; h < spares_.size(); ++h) {
        if (spares_[h].size() < static_cast<std::size_t>(count)) {
          short_of.push_back(static_cast<int>(h));
        }
      }
      if (short_of.empty()) return;
      n = next_++;
    }
    std::vector<std::pair<int, Leaf>> made;
    for (int h : short_of) {
      if (!MakeGroupDir(LeafPath(h, n)).ok()) continue;
      absl::StatusOr<Leaf> leaf = OpenLeafOf(h, n);
      if (leaf.ok()) {
        made.emplace_back(h, *std::move(leaf));
      } else {
        (void)RemoveLeafDir(LeafPath(h, n));
      }
    }
    const bool all = made.size() == short_of.size();
    absl::MutexLock lock(&mu_);
    for (auto& [h, leaf] : made) {
      spares_[static_cast<std::size_t>(h)].push_back(std::move(leaf));
    }
    if (!all) return;  // best effort
  }
}

std::vector<std::string> V1Driver::directories() const {
  std::vector<std::string> dirs;
  for (const Hierarchy& h : hierarchies_) dirs.push_back(h.dir);
  return dirs;
}

absl::Status V1Driver::RemoveAll() {
  absl::MutexLock prepare(&prepare_mu_);
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (std::deque<Leaf>& pool : spares_) pool.clear();
  }
  // The spares, and any group left behind empty, go with the tree.
  absl::Status worst;  // Unavailable (busy) over any other failure
  std::vector<std::string> left;
  for (std::size_t i = 0; i < hierarchies_.size(); ++i) {
    // Through the held descriptor: also where the path no longer leads
    // there (cgroupfs covered by another mount).
    const Hierarchy& h = hierarchies_[i];
    absl::Status s =
        i < locks_.size() && locks_[i].valid()
            ? RemoveGroupTreeAt(locks_[i].get(), parents_[i].get(), h.dir)
            : RemoveGroupTree(h.dir);
    if (s.ok()) continue;
    left.emplace_back(s.message());
    if (worst.ok() || absl::IsUnavailable(s)) worst = s;
  }
  if (left.empty()) return absl::OkStatus();
  return absl::Status(worst.code(),
                      fmt::format("remove cgroup v1 directories: {}",
                                  absl::StrJoin(left, "; ")));
}

// --- Construction -----------------------------------------------------------

// The configured controllers grouped by parent directory, checked.
absl::StatusOr<std::vector<Hierarchy>> Group(const CgroupV1Config& config) {
  if (config.name.empty() || config.name == "." || config.name == ".." ||
      config.name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "create the cgroup v1 driver: bad group name \"{}\"", config.name));
  }
  std::map<std::string, std::vector<std::string>> by_parent;
  for (const auto& [controller, parent] : config.parents) {
    if (ControllerFile(controller) == nullptr || parent.empty() ||
        parent[0] != '/') {
      return absl::InvalidArgumentError(fmt::format(
          "create the cgroup v1 driver: unknown controller \"{}\" or "
          "relative parent \"{}\"",
          controller, parent));
    }
    std::string dir = parent;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    by_parent[dir].push_back(controller);
  }
  std::vector<Hierarchy> hierarchies;
  hierarchies.reserve(by_parent.size());
  for (auto& [parent, controllers] : by_parent) {
    hierarchies.push_back(
        {fmt::format("{}/{}", parent == "/" ? "" : parent, config.name),
         std::move(controllers)});
  }
  return hierarchies;
}

// Makes a manager directory and takes its ownership lock (in `lock`),
// checks that it is in the right hierarchy and notes what its files say
// about the kernel in `facts`.
absl::Status MakeManagerDir(const Hierarchy& h, bool* created, UniqueFd& lock,
                            Facts& facts) {
  absl::StatusOr<UniqueFd> dir =
      MakeManagerDirectory(AT_FDCWD, h.dir, h.dir, created);
  if (!dir.ok()) return dir.status();
  lock = *std::move(dir);
  const int fd = lock.get();
  for (const std::string& controller : h.controllers) {
    const char* file = ControllerFile(controller);
    if (!FileExists(fd, file)) {
      return absl::FailedPreconditionError(
          fmt::format("use \"{}\" for the {} controller: it has no {}", h.dir,
                      controller, file));
    }
    if (controller == "memory") facts.memsw = FileExists(fd, kMemswLimit);
    if (controller == "cpuacct") {
      facts.usage_user = FileExists(fd, "cpuacct.usage_user") &&
                         FileExists(fd, "cpuacct.usage_sys");
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace procsandbox::linux_internal::cgroup_v1

namespace procsandbox::linux_internal {

absl::StatusOr<std::unique_ptr<CgroupDriver>> NewCgroupV1Driver(
    const CgroupV1Config& config) {
  absl::StatusOr<std::vector<cgroup_v1::Hierarchy>> hierarchies =
      cgroup_v1::Group(config);
  if (!hierarchies.ok()) return hierarchies.status();
  cgroup_v1::Facts facts;
  facts.ticks_per_second = std::max<int64_t>(1, sysconf(_SC_CLK_TCK));
  std::vector<std::string> made;
  std::vector<posix_internal::UniqueFd> locks(hierarchies->size());
  for (std::size_t i = 0; i < hierarchies->size(); ++i) {
    const cgroup_v1::Hierarchy& h = (*hierarchies)[i];
    bool created = false;
    absl::Status s = cgroup_v1::MakeManagerDir(h, &created, locks[i], facts);
    if (created) made.push_back(h.dir);
    if (!s.ok()) {
      for (const std::string& dir : made) (void)cgroup_v1::RemoveLeafDir(dir);
      return s;
    }
  }
  return std::unique_ptr<CgroupDriver>(new cgroup_v1::V1Driver(
      std::move(*hierarchies), std::move(locks), facts));
}

}  // namespace procsandbox::linux_internal
