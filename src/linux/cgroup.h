// cgroups for the Linux OS manager: one group per process tree, so that
// memory, process count, CPU time and CPU weight hold for every descendant,
// usage is exact, and a stop reaches processes that left the process group.
//
// A driver (`CgroupDriver`) is one cgroup version in use by one manager; it
// owns a directory of its own (ManagerGroupName) under the parent group it
// was given in each hierarchy, holds its ownership lock (MakeManagerDirectory)
// for its life, and creates one `Cgroup` per process tree below it. On a hybrid
// host the manager uses both: the v2 group tracks the tree (placement, kill,
// freeze, CPU accounting) and v1 controllers carry the limits the unified
// hierarchy has no controller for.
//
// Descriptors: opening a cgroupfs file costs several microseconds, so the
// driver opens what a group needs in Prepare(), off the spawn path: Create()
// from a spare opens nothing, writes the limits through the kept descriptors
// and closes them; PlacementDone() closes the placement ones. A running tree
// keeps only the few descriptors it reads later (v2: cgroup.events, cpu.stat
// and the usage files of the enabled controllers; v1: the usage files of its
// hierarchies, freezer.state and the freezer leaf's directory), so that
// thousands of trees fit in the descriptor limit.
//
// Thread-safety: a driver may be used from any thread. A `Cgroup` is used by
// one process at a time (its mutex guards it).
#ifndef PROCSANDBOX_SRC_LINUX_CGROUP_H_
#define PROCSANDBOX_SRC_LINUX_CGROUP_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "posix/unique_fd.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/limits.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;

// What one process tree's group is asked to do.
struct CgroupRequest {
  std::optional<int64_t> memory_bytes;  // memory.max / memory.limit_in_bytes
  std::optional<int64_t> processes;     // pids.max
  std::optional<uint32_t> cpu_weight;   // cpu.weight (1..10000) / cpu.shares
  // Account CPU time of the tree (cpu.stat / cpuacct), for Limits::cpu_time.
  bool cpu_accounting = false;
  // Able to stop and kill the whole tree (cgroup.kill, cgroup.freeze / the v1
  // freezer).
  bool track = false;
  // Account memory of the tree (peak, OOM kills) even without a limit.
  bool memory_accounting = false;
};

// What a group says about its tree; what the driver cannot read stays empty.
struct CgroupUsage {
  std::optional<int64_t> cpu_user_ns;
  std::optional<int64_t> cpu_system_ns;
  std::optional<int64_t> cpu_total_ns;
  std::optional<int64_t> memory_current;
  std::optional<int64_t> memory_peak;
  std::optional<int64_t> processes;  // pids.current
  // Processes the kernel's OOM killer ended in this group (memory.events
  // oom_kill; v1 memory.oom_control oom_kill).
  int64_t oom_kills = 0;
  // Times the memory limit was hit (memory.events max; v1 memory.failcnt).
  int64_t memory_limit_hits = 0;
  // Forks refused at pids.max (pids.events max).
  int64_t process_limit_hits = 0;
};

// One directory of a group, for Process::Verify(): where the tree should
// be, as /proc/PID/cgroup would show it.
struct CgroupPlace {
  // v1: a controller of the directory's hierarchy ("memory", "cpu"), by
  // which its line of /proc/PID/cgroup is found; v2: "" (the unified one).
  std::string controller;
  std::string path;  // the directory
};

// A limit file of a group as Verify() reads it back.
struct CgroupLimitReading {
  LimitKind limit = LimitKind::kMemory;  // kMemory, kProcesses, kCpuWeight
  std::string path;                      // "<group>/memory.max"
  std::string written;  // what Create() wrote ("67108864", "max", "2560")
  absl::StatusOr<std::string> text;  // what it says now
};

// One process tree's group (one directory per hierarchy used).
class Cgroup {
 public:
  virtual ~Cgroup() = default;
  // A directory descriptor for clone3(CLONE_INTO_CGROUP), or -1.
  virtual int clone_into_fd() const = 0;
  // Open `cgroup.procs` descriptors that the child writes "0" to before it
  // execs (v1, or v2 when clone3 placement is not used).
  virtual std::vector<int> join_fds() const = 0;
  // Stop using CLONE_INTO_CGROUP: the child joins through join_fds(), which
  // this opens when the group was made for clone3 placement (no descriptor
  // is spent on cgroup.procs otherwise). The open's error (EMFILE:
  // ResourceExhausted) when it fails; OK with nothing to do after
  // PlacementDone().
  virtual absl::Status JoinFromChild() = 0;
  // The child is placed; placement descriptors are closed: clone_into_fd()
  // is -1 and join_fds() empty from now on. Call it once the spawn returned
  // (placed or failed); without it they stay open until the group is gone.
  virtual void PlacementDone() = 0;
  virtual CgroupUsage ReadUsage() const = 0;
  // What an Outcome needs once the tree ended — CPU times, memory peak, OOM
  // kills, refused forks — through kept descriptors only (no open()).
  virtual CgroupUsage ReadEndUsage() const = 0;
  // Stops every process of the tree (they stay stopped until Thaw); returns
  // once the kernel says it is frozen, or after a bounded wait.
  virtual absl::Status Freeze() = 0;
  virtual absl::Status Thaw() = 0;
  virtual bool can_freeze() const = 0;
  // SIGKILL to every process of the tree, including any forked meanwhile.
  virtual absl::Status KillAll() = 0;
  // SIGKILL to every process of the tree without waiting for them to exit
  // (for the manager's thread: the exits come as events; Empty() says when
  // they are gone).
  virtual absl::Status SendKill() = 0;
  // Closes every descriptor the group keeps (after the tree ended); Remove()
  // still works, by path.
  virtual void CloseDescriptors() = 0;
  virtual bool can_kill() const = 0;
  // True when no process is left in the group.
  virtual bool Empty() const = 0;
  // A descriptor that polls EPOLLPRI when the group's population changes
  // (v2: the kept cgroup.events; kernfs notifies every change, and Empty()
  // reading it consumes the notification), or -1 where there is none (v1):
  // Empty() is then polled. Valid until CloseDescriptors().
  virtual int events_fd() const { return -1; }
  // Removes the group's directories: Unavailable (EBUSY) while a process is
  // still in it (the caller retries), other codes for other failures.
  virtual absl::Status Remove() = 0;
  // The group's directories, for messages.
  virtual std::string Describe() const = 0;

  // For Process::Verify(): the group's directories, and each limit file
  // Create() wrote, read now (by path: a running tree keeps no limit
  // descriptor).
  virtual std::vector<CgroupPlace> Places() const = 0;
  virtual std::vector<CgroupLimitReading> ReadLimits() const = 0;
};

class CgroupDriver {
 public:
  virtual ~CgroupDriver() = default;
  virtual Mechanism mechanism() const = 0;  // kCgroupV2 or kCgroupV1
  // How this driver would enforce `kind` (memory, processes, cpu_time,
  // cpu_weight): its mechanism and the file, or kNone and why not.
  virtual LimitEnforcement Enforces(LimitKind kind) const = 0;
  // Whether a group can be frozen / killed as a whole, and account CPU time.
  virtual bool can_track() const = 0;
  // How a group kills / freezes its whole tree, for Capabilities ("write
  // cgroup.kill"); empty when it cannot.
  virtual std::string tree_kill() const = 0;
  virtual std::string tree_freeze() const = 0;
  virtual bool can_account_cpu() const = 0;
  virtual bool can_account_memory() const = 0;
  // A group for one process tree with `request` applied. Takes a directory
  // made ahead of time when there is one (see Prepare): then no file is
  // opened, the limits go through its kept descriptors. Without a spare it
  // makes and opens one now.
  virtual absl::StatusOr<std::unique_ptr<Cgroup>> Create(
      const CgroupRequest& request) = 0;
  // Makes up to `count` empty groups ahead of time, off the spawn path, and
  // opens every descriptor Create() and the running tree will use (the
  // placement directory or cgroup.procs, the limit and the usage files).
  // Best effort: a file it could not open is opened by Create() or the read
  // that needs it, which report the failure.
  virtual void Prepare(int count) = 0;
  // The manager's own directories (one per hierarchy).
  virtual std::vector<std::string> directories() const = 0;
  // Removes the spare groups and the manager's directories (at shutdown,
  // after every process group was removed). Best effort; says what is left.
  virtual absl::Status RemoveAll() = 0;
};

// --- Naming and ownership, shared by both versions --------------------------
//
// A manager's directory is named after the process that made it, and that
// process holds an exclusive flock(2) on an open descriptor of the directory
// for as long as the driver lives. flock works on cgroupfs directories, and
// the lock belongs to the directory, not to a pid namespace: it is what
// tells a manager starting elsewhere (another pid namespace, another /proc)
// that the directory is in use. The lock goes when the process dies, and it
// is never inherited across exec (the descriptor is close-on-exec).

// Who made a manager directory: its pid namespace (the inode number of
// /proc/self/ns/pid), its pid there and its start time in clock ticks since
// boot (field 22 of /proc/PID/stat). Unique among the processes alive.
struct ManagerGroupOwner {
  uint64_t pid_namespace = 0;
  int64_t pid = 0;
  uint64_t start_ticks = 0;
};
// This process. FailedPrecondition, naming the /proc file, when /proc does
// not say (a manager never makes up a name it cannot stand behind).
absl::StatusOr<ManagerGroupOwner> ThisProcessOwner();
// "procsandbox-<pid namespace>-<pid>-<start ticks>-<n>": the name of a
// manager's own directory.
std::string ManagerGroupName(const ManagerGroupOwner& owner, int64_t n);
// The owner in a manager directory's name, or nullopt when the name is not
// one of this format. (Directories named by earlier versions,
// "procsandbox-<pid>-<start ticks>-<n>", hold no lock and say nothing of
// their pid namespace: they are not parsed, so never removed.)
std::optional<ManagerGroupOwner> ParseManagerGroupName(const std::string& name);
// The start time of a process (field 22 of /proc/PID/stat) as this
// process's /proc shows it: NotFound when there is no such process, another
// code when it could not be read (EMFILE, EACCES, ...).
absl::StatusOr<uint64_t> ProcessStartTicks(int64_t pid);

// Makes the manager directory `name` in `parent` (a directory descriptor, or
// AT_FDCWD with `name` a path) and takes its ownership lock: the returned
// descriptor holds an exclusive flock(2) until it is closed. `path` names the
// directory in messages; `created` (if given) says whether this call made it
// (a directory of the same name — this very process's — is reused).
// Aborted when a stale-group sweep or another manager holds or removed it
// meanwhile (name another); PermissionDenied when the parent refuses it;
// FailedPrecondition for any other failure. Nothing this call made is left
// on failure.
absl::StatusOr<UniqueFd> MakeManagerDirectory(int parent,
                                              const std::string& name,
                                              const std::string& path,
                                              bool* created = nullptr);

// The driver whose group stops and kills a whole tree: v2 where it can (it
// also accounts CPU and memory at no extra cost), else the v1 freezer; null
// when neither can (stops then reach the child's process group only).
inline CgroupDriver* TrackingDriver(CgroupDriver* v2, CgroupDriver* v1) {
  if (v2 != nullptr && v2->can_track()) return v2;
  if (v1 != nullptr && v1->can_track()) return v1;
  return nullptr;
}

// --- The v2 driver -----------------------------------------------------------

struct CgroupV2Config {
  // The directory the manager creates its own group in: the host's own
  // cgroup (or OsManagerOptions::cgroup_root).
  std::string parent;
  std::string name;  // ManagerGroupName(...)
  // Place children with clone3(CLONE_INTO_CGROUP).
  bool clone_into = true;
};
// Creates the manager's directory and enables the controllers it can in its
// cgroup.subtree_control. PermissionDenied / FailedPrecondition naming the
// directory when that is not possible.
absl::StatusOr<std::unique_ptr<CgroupDriver>> NewCgroupV2Driver(
    const CgroupV2Config& config);

// --- The v1 driver -----------------------------------------------------------

struct CgroupV1Config {
  // Per controller used ("memory", "pids", "cpu", "cpuacct", "freezer"): the
  // directory in its hierarchy the manager creates its own group in. Two
  // controllers mounted together ("cpu,cpuacct") share a directory.
  std::map<std::string, std::string> parents;
  std::string name;  // ManagerGroupName(...)
};
absl::StatusOr<std::unique_ptr<CgroupDriver>> NewCgroupV1Driver(
    const CgroupV1Config& config);

// Kills and removes the groups of managers that are gone, directly under
// `parent`. A directory named by ManagerGroupName is stale only when its
// ownership lock can be taken (no process holds it, in any pid namespace)
// and no process with its pid and start time is visible here; it is killed
// and removed with the lock held. Anything else is left alone: a lock held,
// a name of another format, and an owner that cannot be checked (open or
// flock failing: EMFILE, EACCES, ...; a /proc read failing). Returns the
// directories removed; `failed` lists removals that failed and owners that
// could not be checked ("...; left alone").
std::vector<std::string> RemoveStaleGroups(const std::string& parent,
                                           std::vector<std::string>* failed);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CGROUP_H_
