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
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
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
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup.h"
#include "linux/cgroup_fs.h"
#include "linux/errno_status.h"
#include "linux/unique_fd.h"
#include "procsandbox/limits.h"

namespace procsandbox::linux_internal {
namespace {

// How long Freeze() waits for "frozen 1", KillAll() for "populated 0".
constexpr absl::Duration kFreezeTimeout = absl::Seconds(1);
constexpr absl::Duration kKillTimeout = absl::Seconds(2);
// Longest sleep between two looks at cgroup.events (kernfs wakes poll(2) on
// every change; this bounds a missed wake-up).
constexpr int kEventPollMs = 10;

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

// The whole of an open file, from its start: reading through the same
// descriptor that poll(2) waits on lets kernfs know what was seen.
absl::StatusOr<std::string> ReadFromStart(int fd, const char* name) {
  if (lseek(fd, 0, SEEK_SET) < 0) {
    return ErrnoStatus(errno, fmt::format("seek {}", name));
  }
  std::string text;
  char block[512];
  for (;;) {
    const ssize_t n = read(fd, block, sizeof(block));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("read {}", name));
    if (n == 0) return text;
    text.append(block, static_cast<std::size_t>(n));
  }
}

std::optional<int64_t> MicrosToNanos(std::optional<int64_t> usec) {
  if (!usec) return std::nullopt;
  return *usec * 1000;
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

// --- One process tree's group ------------------------------------------------

class V2Group final : public Cgroup {
 public:
  V2Group(std::string path, UniqueFd dir, UniqueFd procs, bool clone_into)
      : path_(std::move(path)),
        dir_(std::move(dir)),
        procs_(std::move(procs)),
        has_events_(Exists(dir_.get(), "cgroup.events")),
        has_freeze_(Exists(dir_.get(), "cgroup.freeze")),
        has_kill_(Exists(dir_.get(), "cgroup.kill")),
        joined_(!clone_into) {}

  int clone_into_fd() const override {
    return joined_.load() ? -1 : dir_.get();
  }
  std::vector<int> join_fds() const override {
    if (!joined_.load()) return {};
    return {procs_.get()};
  }
  void JoinFromChild() override { joined_.store(true); }

  CgroupUsage ReadUsage() const override;
  absl::Status Freeze() override;
  absl::Status Thaw() override {
    return WriteCgroupFile(dir_.get(), "cgroup.freeze", "0", path_);
  }
  bool can_freeze() const override { return has_freeze_; }
  absl::Status KillAll() override;
  bool can_kill() const override { return true; }
  bool Empty() const override;
  absl::Status Remove() override;
  std::string Describe() const override { return path_; }

 private:
  std::optional<std::string> Read(const char* name) const {
    absl::StatusOr<std::string> text = ReadCgroupFile(dir_.get(), name);
    if (!text.ok()) return std::nullopt;
    return *std::move(text);
  }
  std::optional<int64_t> ReadInt(const char* name) const {
    std::optional<std::string> text = Read(name);
    if (!text) return std::nullopt;
    return ParseCgroupInt(*text);
  }
  // SIGKILL to each listed process, the group frozen meanwhile so that none
  // forks past the list (before cgroup.kill).
  absl::Status KillByList();
  // Waits until cgroup.events says `key` is `value`, for at most `timeout`.
  absl::Status AwaitEvent(const char* key, int64_t value,
                          absl::Duration timeout,
                          absl::string_view action) const;

  const std::string path_;
  const UniqueFd dir_;
  const UniqueFd procs_;
  const bool has_events_;
  const bool has_freeze_;
  const bool has_kill_;
  // Set once the child is to join through cgroup.procs.
  std::atomic<bool> joined_;
};

CgroupUsage V2Group::ReadUsage() const {
  CgroupUsage usage;
  // cpu.stat is a core file: there even without the cpu controller.
  if (std::optional<std::string> cpu = Read("cpu.stat")) {
    usage.cpu_total_ns = MicrosToNanos(FlatKeyedValue(*cpu, "usage_usec"));
    usage.cpu_user_ns = MicrosToNanos(FlatKeyedValue(*cpu, "user_usec"));
    usage.cpu_system_ns = MicrosToNanos(FlatKeyedValue(*cpu, "system_usec"));
  }
  usage.memory_current = ReadInt("memory.current");
  usage.memory_peak = ReadInt("memory.peak");
  usage.processes = ReadInt("pids.current");
  if (std::optional<std::string> events = Read("memory.events")) {
    usage.oom_kills = FlatKeyedValue(*events, "oom_kill").value_or(0);
    usage.memory_limit_hits = FlatKeyedValue(*events, "max").value_or(0);
  }
  if (std::optional<std::string> events = Read("pids.events")) {
    usage.process_limit_hits = FlatKeyedValue(*events, "max").value_or(0);
  }
  return usage;
}

absl::Status V2Group::Freeze() {
  absl::Status s = WriteCgroupFile(dir_.get(), "cgroup.freeze", "1", path_);
  if (!s.ok()) return s;
  return AwaitEvent("frozen", 1, kFreezeTimeout, "freeze");
}

absl::Status V2Group::KillAll() {
  absl::Status s = has_kill_
                       ? WriteCgroupFile(dir_.get(), "cgroup.kill", "1", path_)
                       : KillByList();
  if (!s.ok() || !has_events_) return s;
  return AwaitEvent("populated", 0, kKillTimeout, "kill every process of");
}

absl::Status V2Group::KillByList() {
  // A frozen process still dies of SIGKILL in cgroup v2.
  const bool frozen = has_freeze_ && Freeze().ok();
  absl::Status s = KillEveryProcess(dir_.get(), kKillTimeout);
  if (frozen) s.Update(Thaw());
  return s;
}

bool V2Group::Empty() const {
  if (std::optional<std::string> events = Read("cgroup.events")) {
    if (std::optional<int64_t> populated =
            FlatKeyedValue(*events, "populated")) {
      return *populated == 0;
    }
  }
  std::optional<std::string> procs = Read("cgroup.procs");
  return !procs || ParsePids(*procs).empty();
}

absl::Status V2Group::Remove() {
  if (rmdir(path_.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  const int err = errno;
  const absl::Status s =
      ErrnoStatus(err, fmt::format("remove cgroup \"{}\"", path_));
  if (err == EBUSY) return absl::UnavailableError(s.message());
  return s;
}

absl::Status V2Group::AwaitEvent(const char* key, int64_t value,
                                 absl::Duration timeout,
                                 absl::string_view action) const {
  UniqueFd events(openat(dir_.get(), "cgroup.events", O_RDONLY | O_CLOEXEC));
  if (!events.valid()) {
    return ErrnoStatus(
        errno,
        fmt::format("{} cgroup \"{}\": open cgroup.events", action, path_));
  }
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    absl::StatusOr<std::string> text =
        ReadFromStart(events.get(), "cgroup.events");
    if (!text.ok()) return text.status();
    if (FlatKeyedValue(*text, key) == value) return absl::OkStatus();
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(fmt::format(
          "{} cgroup \"{}\": cgroup.events does not say \"{} {}\" after {}",
          action, path_, key, value, procsandbox::FormatDuration(timeout)));
    }
    // kernfs reports a change of the file as POLLPRI (cgroup v2 docs).
    pollfd waiter = {events.get(), POLLPRI, 0};
    const int64_t wait_ms =
        std::min<int64_t>(kEventPollMs, absl::ToInt64Milliseconds(left) + 1);
    (void)poll(&waiter, 1, static_cast<int>(wait_ms));
  }
}

// --- The driver --------------------------------------------------------------

class V2Driver final : public CgroupDriver {
 public:
  V2Driver(std::string path, UniqueFd dir, Controllers controllers,
           bool clone_into)
      : path_(std::move(path)),
        dir_(std::move(dir)),
        controllers_(std::move(controllers)),
        clone_into_(clone_into),
        can_track_(Exists(dir_.get(), "cgroup.kill") ||
                   Exists(dir_.get(), "cgroup.freeze")) {}

  Mechanism mechanism() const override { return Mechanism::kCgroupV2; }
  LimitEnforcement Enforces(LimitKind kind) const override;
  bool can_track() const override { return can_track_; }
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
  bool enabled(Controller c) const { return controllers_[c].enabled; }
  LimitEnforcement ByController(LimitKind kind, Controller c,
                                const char* file) const;
  // The name of an empty leaf: a spare, or one made now.
  absl::StatusOr<std::string> TakeLeaf();
  absl::Status MakeLeaf(const std::string& name) const;
  absl::StatusOr<std::unique_ptr<Cgroup>> OpenLeaf(
      const std::string& name, const CgroupRequest& request) const;
  absl::Status WriteLimits(int leaf, const std::string& leaf_path,
                           const CgroupRequest& request) const;

  const std::string path_;
  const UniqueFd dir_;
  const Controllers controllers_;
  const bool clone_into_;
  const bool can_track_;

  absl::Mutex mu_;
  int64_t next_leaf_ ABSL_GUARDED_BY(mu_) = 0;
  std::deque<std::string> spares_ ABSL_GUARDED_BY(mu_);
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
  absl::StatusOr<std::string> name = TakeLeaf();
  if (!name.ok()) return name.status();
  absl::StatusOr<std::unique_ptr<Cgroup>> group = OpenLeaf(*name, request);
  // Nothing half-made: a leaf that could not be set up goes.
  if (!group.ok()) (void)unlinkat(dir_.get(), name->c_str(), AT_REMOVEDIR);
  return group;
}

absl::StatusOr<std::string> V2Driver::TakeLeaf() {
  std::string name;
  {
    absl::MutexLock lock(&mu_);
    if (!spares_.empty()) {
      name = std::move(spares_.front());
      spares_.pop_front();
      return name;
    }
    name = std::to_string(next_leaf_++);
  }
  if (absl::Status s = MakeLeaf(name); !s.ok()) return s;
  return name;
}

absl::Status V2Driver::MakeLeaf(const std::string& name) const {
  if (mkdirat(dir_.get(), name.c_str(), 0755) == 0 || errno == EEXIST) {
    return absl::OkStatus();
  }
  return ErrnoStatus(errno,
                     fmt::format("create cgroup \"{}/{}\"", path_, name));
}

absl::StatusOr<std::unique_ptr<Cgroup>> V2Driver::OpenLeaf(
    const std::string& name, const CgroupRequest& request) const {
  const std::string path = fmt::format("{}/{}", path_, name);
  UniqueFd leaf(
      openat(dir_.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!leaf.valid()) {
    return ErrnoStatus(errno, fmt::format("open cgroup \"{}\"", path));
  }
  if (absl::Status s = WriteLimits(leaf.get(), path, request); !s.ok()) {
    return s;
  }
  UniqueFd procs(openat(leaf.get(), "cgroup.procs", O_WRONLY | O_CLOEXEC));
  if (!procs.valid()) {
    return ErrnoStatus(errno, fmt::format("open {}/cgroup.procs", path));
  }
  return std::unique_ptr<Cgroup>(std::make_unique<V2Group>(
      path, std::move(leaf), std::move(procs), clone_into_));
}

absl::Status V2Driver::WriteLimits(int leaf, const std::string& leaf_path,
                                   const CgroupRequest& request) const {
  struct Write {
    const char* file;
    std::string value;
    bool only_if_present;
  };
  std::vector<Write> writes;
  if (request.memory_bytes && enabled(kMemory)) {
    writes.push_back(
        {"memory.max", std::to_string(*request.memory_bytes), false});
    // Without swap accounting there is no memory.swap.max, nor swap to
    // dodge the limit with.
    writes.push_back({"memory.swap.max", "0", true});
    // An OOM kill takes the whole tree, not one process of it (4.19+).
    writes.push_back({"memory.oom.group", "1", true});
  }
  if (request.processes && enabled(kPids)) {
    writes.push_back({"pids.max", std::to_string(*request.processes), false});
  }
  if (request.cpu_weight && enabled(kCpu)) {
    writes.push_back(
        {"cpu.weight", std::to_string(*request.cpu_weight), false});
  }
  for (const Write& w : writes) {
    if (w.only_if_present && !Exists(leaf, w.file)) continue;
    absl::Status s = WriteCgroupFile(leaf, w.file, w.value, leaf_path);
    if (!s.ok()) return s;
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
  // mkdir off the lock: Create() is not kept waiting.
  std::vector<std::string> made;
  for (std::string& name : names) {
    if (MakeLeaf(name).ok()) made.push_back(std::move(name));
  }
  absl::MutexLock lock(&mu_);
  spares_.insert(spares_.end(), made.begin(), made.end());
}

absl::Status V2Driver::RemoveAll() {
  std::deque<std::string> spares;
  {
    absl::MutexLock lock(&mu_);
    spares.swap(spares_);
  }
  for (const std::string& name : spares) {
    (void)unlinkat(dir_.get(), name.c_str(), AT_REMOVEDIR);
  }
  absl::Status s = RemoveGroupTree(path_);
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

// Makes (or finds) the manager's directory `name` in `parent`.
absl::StatusOr<UniqueFd> MakeManagerDir(int parent, const std::string& name,
                                        const std::string& path) {
  if (mkdirat(parent, name.c_str(), 0755) != 0 && errno != EEXIST) {
    return SetupError(errno, fmt::format("create cgroup \"{}\"", path));
  }
  UniqueFd dir(openat(parent, name.c_str(),
                      O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dir.valid()) {
    return SetupError(errno, fmt::format("open cgroup \"{}\"", path));
  }
  return dir;
}

}  // namespace

absl::StatusOr<std::unique_ptr<CgroupDriver>> NewCgroupV2Driver(
    const CgroupV2Config& config) {
  if (absl::Status s = CheckConfig(config); !s.ok()) return s;
  const std::string& parent_path = config.parent;
  UniqueFd parent(
      open(parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent.valid()) {
    return SetupError(errno,
                      fmt::format("open cgroup v2 parent \"{}\"", parent_path));
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
  Controllers controllers =
      ParentControllers(parent.get(), parent_path, *available, enabled);
  const std::string path = fmt::format("{}/{}", parent_path, config.name);
  absl::StatusOr<UniqueFd> dir =
      MakeManagerDir(parent.get(), config.name, path);
  if (!dir.ok()) return dir.status();
  EnableInManager(dir->get(), path, &controllers);
  return std::unique_ptr<CgroupDriver>(std::make_unique<V2Driver>(
      path, *std::move(dir), std::move(controllers), config.clone_into));
}

}  // namespace procsandbox::linux_internal
