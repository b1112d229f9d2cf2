// The cgroup v2 driver: the manager's own directory under its parent group,
// with the memory, pids and cpu controllers it could enable, and one leaf per
// process tree below it ("0", "1", ...).
//
// Controllers. cgroup v2 hands a controller to a group's children only when
// the group lists it in cgroup.subtree_control, and (below the root) only
// when the group itself holds no process ("no internal processes", EBUSY).
// The driver asks the parent for what it lacks and never moves a process to
// make that possible: a controller it cannot get is reported by Enforces()
// with the reason. The manager's directory holds no process, so it can always
// pass on what the parent gave it.
//
// Enabling writes every controller in one write ("+memory +pids +cpu": one
// syscall, the kernel applies all or none) and, only when that fails, one at
// a time so that each failure has its own reason.
//
// Kernel versions: cgroup.events 4.5, cgroup.freeze 5.2, clone3 with
// CLONE_INTO_CGROUP 5.7, cgroup.kill 5.14, memory.peak 5.19.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup.h"
#include "linux/cgroup_fs.h"
#include "linux/cgroup_v2_internal.h"
#include "posix/errno_status.h"
#include "posix/unique_fd.h"

namespace procsandbox::linux_internal::cgroup_v2 {

using ::procsandbox::posix_internal::ErrnoStatus;

namespace {

// The controllers the driver uses, in the order they are enabled.
enum Controller { kMemory, kPids, kCpu, kControllerCount };
constexpr const char* kControllerNames[kControllerCount] = {"memory", "pids",
                                                            "cpu"};

struct ControllerState {
  bool enabled = false;
  std::string why_not;  // Set when not enabled.
};
using Controllers = std::array<ControllerState, kControllerCount>;
using ControllerSet = std::array<bool, kControllerCount>;

bool Exists(int dir, const char* name) {
  return faccessat(dir, name, F_OK, 0) == 0;
}

// A manager-setup failure: PermissionDenied when the host refuses it,
// FailedPrecondition for anything else about the host's cgroups.
absl::Status SetupError(int err, const std::string& what) {
  const absl::Status s = ErrnoStatus(err, what);
  const bool refused = err == EACCES || err == EPERM || err == EROFS;
  return absl::Status(refused ? absl::StatusCode::kPermissionDenied
                              : absl::StatusCode::kFailedPrecondition,
                      s.message());
}

// True when the space-separated `list` names `word`.
bool Lists(absl::string_view list, absl::string_view word) {
  for (absl::string_view item :
       absl::StrSplit(list, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    if (item == word) return true;
  }
  return false;
}

std::string NotEnabledReason(int controller, const absl::Status& failure) {
  std::string why =
      fmt::format("the {} controller could not be enabled: {}",
                  kControllerNames[controller], failure.message());
  if (absl::IsUnavailable(failure)) {  // EBUSY
    why +=
        " (the group holds processes, and cgroup v2 gives controllers only "
        "to groups without processes of their own)";
  }
  return why;
}

// Enables the `wanted` controllers in `dir`'s cgroup.subtree_control: all in
// one write, or when that fails one by one, so that each failure has its own
// reason in `state`.
void EnableControllers(int dir, const std::string& path,
                       const ControllerSet& wanted, Controllers* state) {
  std::vector<std::string> all;
  for (int c = 0; c < kControllerCount; ++c) {
    if (wanted[c]) all.push_back(fmt::format("+{}", kControllerNames[c]));
  }
  if (all.empty()) return;
  const bool at_once = WriteCgroupFile(dir, "cgroup.subtree_control",
                                       absl::StrJoin(all, " "), path)
                           .ok();
  for (int c = 0; c < kControllerCount; ++c) {
    if (!wanted[c]) continue;
    const absl::Status s =
        at_once
            ? absl::OkStatus()
            : WriteCgroupFile(dir, "cgroup.subtree_control",
                              fmt::format("+{}", kControllerNames[c]), path);
    (*state)[c].enabled = s.ok();
    if (!s.ok()) (*state)[c].why_not = NotEnabledReason(c, s);
  }
}

// Which controllers the parent passes on, after enabling in its
// cgroup.subtree_control those it has but does not pass on yet.
Controllers ParentControllers(int parent, const std::string& parent_path,
                              absl::string_view available,
                              absl::string_view enabled) {
  Controllers state;
  ControllerSet wanted{};
  for (int c = 0; c < kControllerCount; ++c) {
    if (!Lists(available, kControllerNames[c])) {
      state[c].why_not =
          fmt::format("the {} controller is not available in {}/{}",
                      kControllerNames[c], parent_path, "cgroup.controllers");
    } else {
      state[c].enabled = Lists(enabled, kControllerNames[c]);
      wanted[c] = !state[c].enabled;
    }
  }
  EnableControllers(parent, parent_path, wanted, &state);
  return state;
}

// Passes the parent's controllers on to the manager's leaves.
void EnableInManager(int dir, const std::string& path, Controllers* state) {
  ControllerSet wanted{};
  for (int c = 0; c < kControllerCount; ++c) wanted[c] = (*state)[c].enabled;
  EnableControllers(dir, path, wanted, state);
}

absl::Status CheckRequest(const CgroupRequest& request) {
  if (request.memory_bytes && *request.memory_bytes < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "limit cgroup memory to {} bytes: negative", *request.memory_bytes));
  }
  if (request.processes && *request.processes < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "limit cgroup processes to {}: negative", *request.processes));
  }
  if (request.cpu_weight &&
      (*request.cpu_weight < 1 || *request.cpu_weight > 10000)) {
    return absl::InvalidArgumentError(fmt::format(
        "set cpu.weight to {}: outside 1..10000", *request.cpu_weight));
  }
  return absl::OkStatus();
}

// The files of a leaf (cgroup_v2_internal.h) and the controller each needs.
constexpr int kFirstLimit = kMemoryMax;
constexpr int kLastLimit = kCpuWeight;

struct LeafFileSpec {
  const char* name;
  int controller;  // kControllerCount for a core file, always there
  int flags;
};
constexpr LeafFileSpec kLeafFiles[kLeafFileCount] = {
    {"cgroup.events", kControllerCount, O_RDONLY},
    {"cpu.stat", kControllerCount, O_RDONLY},
    {"memory.current", kMemory, O_RDONLY},
    {"memory.peak", kMemory, O_RDONLY},
    {"memory.events", kMemory, O_RDONLY},
    {"pids.current", kPids, O_RDONLY},
    {"pids.events", kPids, O_RDONLY},
    {"memory.max", kMemory, O_WRONLY},
    {"memory.swap.max", kMemory, O_WRONLY},
    {"memory.oom.group", kMemory, O_WRONLY},
    {"pids.max", kPids, O_WRONLY},
    {"cpu.weight", kCpu, O_WRONLY},
    {"cgroup.procs", kControllerCount, O_WRONLY},
};

// --- The driver --------------------------------------------------------------

class V2Driver final : public CgroupDriver {
 public:
  V2Driver(std::string path, UniqueFd dir, Controllers controllers,
           bool clone_into)
      : path_(std::move(path)),
        dir_(std::make_shared<const UniqueFd>(std::move(dir))),
        parent_(HoldParentIfMountRoot(dir_->get())),
        controllers_(std::move(controllers)),
        clone_into_(clone_into),
        has_kill_(Exists(dir_->get(), "cgroup.kill")),
        has_freeze_(Exists(dir_->get(), "cgroup.freeze")) {}

  Mechanism mechanism() const override { return Mechanism::kCgroupV2; }
  LimitEnforcement Enforces(LimitKind kind) const override;
  bool can_track() const override { return has_kill_ || has_freeze_; }
  std::string tree_kill() const override {
    if (has_kill_) return "cgroup v2: write cgroup.kill";
    if (has_freeze_) {
      return "cgroup v2 without cgroup.kill (Linux < 5.14): freeze, SIGKILL "
             "each process of cgroup.procs, thaw";
    }
    return "";
  }
  std::string tree_freeze() const override {
    return has_freeze_ ? "cgroup v2: write cgroup.freeze" : "";
  }
  bool can_account_cpu() const override { return true; }
  bool can_account_memory() const override {
    return controllers_[kMemory].enabled;
  }
  absl::StatusOr<std::unique_ptr<Cgroup>> Create(
      const CgroupRequest& request) override;
  void Prepare(int count) override;
  std::vector<std::string> directories() const override { return {path_}; }
  absl::Status RemoveAll() override;

 private:
  bool enabled(int c) const { return controllers_[c].enabled; }
  LimitEnforcement ByController(LimitKind kind, Controller c,
                                const char* file) const;
  // An empty leaf with its files open: a spare, or one made now.
  absl::StatusOr<Leaf> TakeLeaf();
  // Whether a spare's directory is still there.
  static bool StillThere(const Leaf& leaf);
  // Makes the directory `name` and opens its files; nothing stays on
  // failure.
  absl::StatusOr<Leaf> NewLeaf(std::string name) const;
  // Writes `request`'s limits through the leaf's descriptors, then closes
  // them; checks that the placement descriptors are open.
  absl::Status SetUp(Leaf& leaf, const CgroupRequest& request) const;

  const std::string path_;
  // Holds the ownership lock (MakeManagerDirectory); shared with the
  // groups, which open and remove through it.
  const std::shared_ptr<const UniqueFd> dir_;
  // The parent when it is the root of the cgroup2 mount
  // (HoldParentIfMountRoot): the manager's directory is removed through it.
  const UniqueFd parent_;
  const Controllers controllers_;
  const bool clone_into_;
  const bool has_kill_;    // cgroup.kill, Linux 5.14
  const bool has_freeze_;  // cgroup.freeze, Linux 5.2

  absl::Mutex mu_;
  int64_t next_leaf_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<Leaf> spares_ ABSL_GUARDED_BY(mu_);
};

LimitEnforcement V2Driver::ByController(LimitKind kind, Controller c,
                                        const char* file) const {
  if (!enabled(c)) return {kind, Mechanism::kNone, controllers_[c].why_not};
  return {kind, Mechanism::kCgroupV2, file};
}

LimitEnforcement V2Driver::Enforces(LimitKind kind) const {
  switch (kind) {
    case LimitKind::kMemory:
      return ByController(kind, kMemory, "memory.max (+ memory.swap.max 0)");
    case LimitKind::kProcesses:
      return ByController(kind, kPids, "pids.max");
    case LimitKind::kCpuWeight:
      return ByController(kind, kCpu, "cpu.weight");
    case LimitKind::kCpuTime:
      // cpu.stat is a core file, there without the cpu controller.
      return {kind, Mechanism::kCgroupV2,
              "cpu.stat usage of the tree, checked by the reactor"};
    default:
      return {kind, Mechanism::kNone, "not a cgroup limit"};
  }
}

absl::StatusOr<std::unique_ptr<Cgroup>> V2Driver::Create(
    const CgroupRequest& request) {
  if (absl::Status s = CheckRequest(request); !s.ok()) return s;
  absl::StatusOr<Leaf> leaf = TakeLeaf();
  if (!leaf.ok()) return leaf.status();
  if (absl::Status s = SetUp(*leaf, request); !s.ok()) {
    // Nothing half-made: a leaf that could not be set up goes.
    (void)unlinkat(dir_->get(), leaf->name.c_str(), AT_REMOVEDIR);
    return s;
  }
  return NewGroup(*std::move(leaf), clone_into_, dir_);
}

absl::StatusOr<Leaf> V2Driver::TakeLeaf() {
  for (;;) {
    Leaf leaf;
    {
      absl::MutexLock lock(&mu_);
      if (spares_.empty()) break;
      leaf = std::move(spares_.front());
      spares_.pop_front();
    }
    // A spare removed behind the driver's back (its descriptors then read
    // ENODEV) is dropped: the next one, or a new leaf, which says why not.
    if (StillThere(leaf)) return leaf;
    (void)unlinkat(dir_->get(), leaf.name.c_str(), AT_REMOVEDIR);
  }
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    name = std::to_string(next_leaf_++);
  }
  return NewLeaf(std::move(name));
}

bool V2Driver::StillThere(const Leaf& leaf) {
  // One pread (no open): cgroup.events, or cpu.stat before Linux 4.5.
  for (LeafFile file : {kEvents, kCpuStat}) {
    if (leaf.files[file].valid()) {
      return ReadAt0(leaf.files[file].fd(), kLeafFiles[file].name).ok();
    }
  }
  return true;
}

absl::StatusOr<Leaf> V2Driver::NewLeaf(std::string name) const {
  Leaf leaf;
  leaf.path = fmt::format("{}/{}", path_, name);
  if (mkdirat(dir_->get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(errno, fmt::format("create cgroup \"{}\"", leaf.path));
  }
  leaf.dir.reset(
      openat(dir_->get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!leaf.dir.valid()) {
    const int err = errno;
    (void)unlinkat(dir_->get(), name.c_str(), AT_REMOVEDIR);
    return ErrnoStatus(err, fmt::format("open cgroup \"{}\"", leaf.path));
  }
  for (int f = 0; f < kLeafFileCount; ++f) {
    const LeafFileSpec& spec = kLeafFiles[f];
    // A controller's files exist only where it is enabled: no syscall to
    // find out. A clone3 spawn places the child through the directory:
    // cgroup.procs costs no descriptor then.
    const bool wanted = f == kProcs ? !clone_into_
                                    : spec.controller == kControllerCount ||
                                          enabled(spec.controller);
    leaf.files[f] = wanted ? CgroupFile(leaf.dir.get(), spec.name, spec.flags)
                           : CgroupFile::Absent(spec.name);
  }
  // Out of descriptors: no leaf, rather than one whose files fail later.
  if (absl::Status s = CheckOpened(leaf.files, leaf.path); !s.ok()) {
    leaf = Leaf();
    (void)unlinkat(dir_->get(), name.c_str(), AT_REMOVEDIR);
    return s;
  }
  leaf.has_freeze = Exists(leaf.dir.get(), "cgroup.freeze");
  leaf.has_kill = Exists(leaf.dir.get(), "cgroup.kill");
  leaf.name = std::move(name);
  return leaf;
}

absl::Status V2Driver::SetUp(Leaf& leaf, const CgroupRequest& request) const {
  struct Write {
    LeafFile file;
    std::string value;
    bool only_if_present;
  };
  std::vector<Write> writes;
  if (request.memory_bytes && enabled(kMemory)) {
    writes.push_back(
        {kMemoryMax, std::to_string(*request.memory_bytes), false});
    // Without swap accounting there is no memory.swap.max, nor swap to
    // dodge the limit with.
    writes.push_back({kMemorySwapMax, "0", true});
    // An OOM kill takes the whole tree, not one process of it (4.19+).
    writes.push_back({kMemoryOomGroup, "1", true});
  }
  if (request.processes && enabled(kPids)) {
    writes.push_back({kPidsMax, std::to_string(*request.processes), false});
  }
  if (request.cpu_weight && enabled(kCpu)) {
    writes.push_back({kCpuWeight, std::to_string(*request.cpu_weight), false});
  }
  for (const Write& w : writes) {
    const CgroupFile& file = leaf.files[w.file];
    if (w.only_if_present && file.absent()) continue;
    if (absl::Status s = file.Write(w.value, leaf.path); !s.ok()) return s;
    const std::optional<LimitKind> limit =
        w.file == kMemoryMax   ? std::optional(LimitKind::kMemory)
        : w.file == kPidsMax   ? std::optional(LimitKind::kProcesses)
        : w.file == kCpuWeight ? std::optional(LimitKind::kCpuWeight)
                               : std::nullopt;
    if (limit)
      leaf.written.push_back({*limit, kLeafFiles[w.file].name, w.value});
  }
  // Written once: a running tree keeps no limit descriptor.
  for (int f = kFirstLimit; f <= kLastLimit; ++f) leaf.files[f].Close();
  if (!clone_into_ && !leaf.files[kProcs].valid()) {
    // Prepare could not open it: once more, to report why.
    leaf.files[kProcs] = CgroupFile(leaf.dir.get(), "cgroup.procs", O_WRONLY);
    if (!leaf.files[kProcs].valid()) {
      return ErrnoStatus(leaf.files[kProcs].open_errno(),
                         fmt::format("open {}/cgroup.procs", leaf.path));
    }
  }
  return absl::OkStatus();
}

void V2Driver::Prepare(int count) {
  std::vector<std::string> names;
  {
    absl::MutexLock lock(&mu_);
    for (int i = static_cast<int>(spares_.size()); i < count; ++i) {
      names.push_back(std::to_string(next_leaf_++));
    }
  }
  // mkdir and open off the lock: Create() is not kept waiting.
  std::vector<Leaf> made;
  for (std::string& name : names) {
    absl::StatusOr<Leaf> leaf = NewLeaf(std::move(name));
    if (leaf.ok()) made.push_back(*std::move(leaf));
  }
  absl::MutexLock lock(&mu_);
  for (Leaf& leaf : made) spares_.push_back(std::move(leaf));
}

absl::Status V2Driver::RemoveAll() {
  std::deque<Leaf> spares;
  {
    absl::MutexLock lock(&mu_);
    spares.swap(spares_);
  }
  for (const Leaf& leaf : spares) {
    (void)unlinkat(dir_->get(), leaf.name.c_str(), AT_REMOVEDIR);
  }
  spares.clear();  // their descriptors
  // Through the held descriptor: also where the path no longer leads here.
  absl::Status s = RemoveGroupTreeAt(dir_->get(), parent_.get(), path_);
  if (s.ok()) return s;
  // The message names the first group still busy.
  return absl::Status(
      s.code(), fmt::format("remove the manager's cgroup: {}", s.message()));
}

absl::Status CheckConfig(const CgroupV2Config& config) {
  if (config.parent.empty()) {
    return absl::InvalidArgumentError("cgroup v2 driver: no parent directory");
  }
  if (config.name.empty() || config.name == "." || config.name == ".." ||
      config.name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("cgroup v2 driver: bad group name \"{}\"", config.name));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace procsandbox::linux_internal::cgroup_v2

namespace procsandbox::linux_internal {

absl::StatusOr<std::unique_ptr<CgroupDriver>> NewCgroupV2Driver(
    const CgroupV2Config& config) {
  if (absl::Status s = cgroup_v2::CheckConfig(config); !s.ok()) return s;
  const std::string& parent_path = config.parent;
  posix_internal::UniqueFd parent(
      open(parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) {
    return cgroup_v2::SetupError(
        errno, fmt::format("open cgroup v2 parent \"{}\"", parent_path));
  }
  absl::StatusOr<std::string> available =
      ReadCgroupFile(parent.get(), "cgroup.controllers");
  if (!available.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("\"{}\" is not a cgroup v2 directory: {}", parent_path,
                    available.status().message()));
  }
  const std::string enabled =
      ReadCgroupFile(parent.get(), "cgroup.subtree_control").value_or("");
  cgroup_v2::Controllers controllers = cgroup_v2::ParentControllers(
      parent.get(), parent_path, *available, enabled);
  const std::string path = fmt::format("{}/{}", parent_path, config.name);
  // The descriptor holds the directory's ownership lock: the driver keeps
  // it open for its life.
  absl::StatusOr<posix_internal::UniqueFd> dir =
      MakeManagerDirectory(parent.get(), config.name, path);
  if (!dir.ok()) return dir.status();
  cgroup_v2::EnableInManager(dir->get(), path, &controllers);
  return std::unique_ptr<CgroupDriver>(std::make_unique<cgroup_v2::V2Driver>(
      path, *std::move(dir), std::move(controllers), config.clone_into));
}

}  // namespace procsandbox::linux_internal
