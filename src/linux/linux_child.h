// The Linux backend under the neutral OS manager (os/platform.h): the state
// one manager's children share (OsManagerCore), and LinuxChild, one process
// tree started with clone and a pidfd, watched by the reactor, contained in
// cgroups where there are some.
#ifndef PROCSANDBOX_SRC_LINUX_LINUX_CHILD_H_
#define PROCSANDBOX_SRC_LINUX_LINUX_CHILD_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "linux/cgroup.h"
#include "linux/reactor.h"
#include "linux/spawn.h"
#include "os/platform.h"
#include "posix/rlimits.h"
#include "posix/unique_fd.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/process.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::RlimitSetting;
using ::procsandbox::posix_internal::UniqueFd;

// What the Linux side of one manager shares with its children. Outlives
// the manager while a process handle does.
struct OsManagerCore {
  OsManagerOptions options;
  std::unique_ptr<Reactor> reactor;
  Capabilities capabilities;
  // The manager raised its own soft RLIMIT_NOFILE (a pidfd per child):
  // children get the host's original back, unless they ask for open_files.
  std::optional<RlimitSetting> child_nofile;
  // The cgroup drivers in use (either may be null): on a hybrid host v2
  // tracks the tree and v1 carries the limits v2 has no controller for.
  std::unique_ptr<CgroupDriver> cgroup_v2;
  std::unique_ptr<CgroupDriver> cgroup_v1;
  // Children start in their v2 group with clone3(CLONE_INTO_CGROUP). Set
  // to false for good by the first spawn that finds clone3 gone (ENOSYS).
  std::atomic<bool> clone_into_cgroup{false};
  // Groups each driver makes ahead of time (CgroupDriver::Prepare): 2, none
  // when the hard RLIMIT_NOFILE is below kSparesFromNofile.
  static constexpr rlim_t kSparesFromNofile = 1024;
  int spare_groups = 2;
  // Tops up the drivers' spare groups to spare_groups.
  void PrepareSpares() const;

  CgroupDriver* DriverFor(Mechanism mechanism) const;
  void Emit(OsManagerEvent::Kind kind, std::string detail) const;
  // At the manager's end: removes the drivers' directories (retried for a
  // bounded time while killed trees exit).
  void RemoveGroups() const;
};

// How `kind` is enforced without cgroups (rlimits), or why it is not.
LimitEnforcement RlimitFallback(LimitKind kind);

// Live figures of a running child from /proc (CPU time from stat, memory
// from status); best effort.
void ReadProcUsage(pid_t pid, ResourceUsage& usage);

// The Platform of a Linux OS manager over `core`.
std::unique_ptr<os_internal::Platform> NewLinuxPlatform(
    std::shared_ptr<OsManagerCore> core);

// One process tree. Its own mutex guards what the reactor's callbacks and
// the host's threads share (the pidfd and the reap, the cgroups); the
// descriptors of library-read output and of stdin data are the reactor
// thread's alone.
class LinuxChild final : public os_internal::Child,
                         public std::enable_shared_from_this<LinuxChild> {
 public:
  explicit LinuxChild(std::shared_ptr<OsManagerCore> core)
      : core_(std::move(core)) {}
  // Removes the groups still held (a Spawn() that failed).
  ~LinuxChild() override;

  // The platform middle of Start(): groups, program, stdio, the spawn.
  absl::Status Start(const os_internal::SpawnRequest& request);
  bool has_cgroups() const;

  Pid pid() const override { return pid_; }
  int64_t start_ns() const override { return start_ns_; }
  void Arm(std::shared_ptr<os_internal::ChildEvents> events) override;
  void SignalTree(int signo) override;
  bool Exited() const override;
  bool can_freeze() const override;
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  bool EndTree(bool frozen) override;
  void LiveUsage(ResourceUsage& usage) const override;
  os_internal::TreeEnd FinalUsage(Outcome& outcome) const override;
  // verify.cc.
  absl::Status ReadBack(const Limits& limits, const Enforcement& enforcement,
                        const Isolation& isolation,
                        Verification& verification) const override;
  std::shared_ptr<os_internal::HostStdin> TakeHostStdin() override;
  bool HostPipeOpen(Stream stream) const override;
  absl::StatusOr<bool> AwaitHostPipe(Stream stream,
                                     absl::Duration wait) override;
  os_internal::HostRead ReadHostPipe(Stream stream,
                                     std::string& buffer) override;
  void DrainHostPipe(Stream stream, std::string& buffer) override;
  void Close() override;
  void Discard() override;

 private:
  // One output stream the library reads (capture, lines, chunks) or the
  // host reads (pipe): the parent's read end.
  struct Output {
    Stdio::Kind kind = Stdio::Kind::kNull;
    UniqueFd fd;
    // Pipe: the number, for a host thread that waits without the lock.
    std::atomic<int> host_fd{-1};
    // Past the output cap (loop thread): nothing more is kept, and what
    // comes goes to `sink` (/dev/null) unread where it could be opened.
    bool wanted = true;
    UniqueFd sink;
  };
  Output& OutputOf(Stream stream) {
    return stream == Stream::kStdout ? out_ : err_;
  }
  const Output& OutputOf(Stream stream) const {
    return stream == Stream::kStdout ? out_ : err_;
  }

  absl::Status OpenStdio(const Command& command, const Limits& limits,
                         SpawnPlan& plan, UniqueFd& child_in,
                         UniqueFd& child_out, UniqueFd& child_err);

  // Reactor thread.
  void OnExitReadable(const std::shared_ptr<os_internal::ChildEvents>& events);
  void OnOutputReadable(
      Stream stream, const std::shared_ptr<os_internal::ChildEvents>& events);
  void OnStdinWritable();
  void OnSeccompReadable(
      uint32_t revents,
      const std::shared_ptr<os_internal::ChildEvents>& events);

  // cgroups (linux_child_cgroup.cc).
  absl::Status CreateCgroupsLocked(const os_internal::SpawnRequest& request,
                                   SpawnPlan& plan)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The groups of `mechanism` could not be made: rlimits instead (or, in
  // strict mode, the error).
  absl::Status DegradeLocked(const os_internal::SpawnRequest& request,
                             Mechanism mechanism, const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveCgroupsNow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // clone3 failed with ENOSYS: the group `plan` would have started the
  // child in is joined from the child instead (as where clone3 is missing).
  absl::Status JoinFromChildInsteadLocked(SpawnPlan& plan)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After the spawn: placement descriptors closed.
  void CgroupsPlacedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The tree's CPU time (ns) at which the reactor stops it.
  int64_t CpuKillAtNs() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmCpuCheck() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnCpuCheck();
  // Waits until the killed rest of the tree is gone (or `give_up_ns`), then
  // reports OnTreeGone: woken by the group's cgroup.events where it has one
  // (v2), with a slow check as a backstop; checked every millisecond
  // otherwise.
  void AwaitTreeGone(int64_t give_up_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmTreeCheck(int64_t give_up_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnTreeCheck(int64_t give_up_ns);
  void StopTreeWatchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadEndUsageLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleCgroupRemoval() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RemoveCgroups(const std::shared_ptr<LinuxChild>& self,
                            int64_t give_up_ns);
  void ApplyCgroupUsageLocked(Outcome& outcome) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadCgroupUsageLocked(ResourceUsage& usage) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<OsManagerCore> core_;
  std::string label_;  // the command's, for messages
  mutable absl::Mutex mu_;
  pid_t pid_ = 0;  // set once by Start()
  int64_t start_ns_ = 0;
  bool group_ = false;  // the child leads a process group
  UniqueFd pidfd_ ABSL_GUARDED_BY(mu_);
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Duration> cpu_time_;  // the CPU budget, if any

  // Reactor-thread state: library-read output and stdin data.
  Output out_;
  Output err_;
  UniqueFd stdin_data_fd_;
  std::string stdin_data_;
  std::size_t stdin_written_ = 0;
  std::shared_ptr<os_internal::HostStdin> host_stdin_;  // until taken
  // The seccomp filter's listener (child_seccomp.h), when it has one.
  UniqueFd seccomp_listener_;
  // The neutral process, for timer events (the watches hold it strongly).
  std::weak_ptr<os_internal::ChildEvents> events_ ABSL_GUARDED_BY(mu_);

  // The process tree's groups (none without cgroups), and which of them
  // stops the tree, accounts its CPU, its memory.
  std::vector<std::unique_ptr<Cgroup>> cgroups_ ABSL_GUARDED_BY(mu_);
  Cgroup* tracker_ ABSL_GUARDED_BY(mu_) = nullptr;
  Cgroup* cpu_group_ ABSL_GUARDED_BY(mu_) = nullptr;
  Cgroup* memory_group_ ABSL_GUARDED_BY(mu_) = nullptr;
  CgroupUsage cgroup_usage_ ABSL_GUARDED_BY(mu_);  // last read; final at end
  bool tree_dying_ ABSL_GUARDED_BY(mu_) = false;   // killed at the exit
  // While tree_dying_: the watched cgroup.events descriptor (or -1) and the
  // backstop timer.
  int tree_watch_fd_ ABSL_GUARDED_BY(mu_) = -1;
  uint64_t tree_timer_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cpu_timer_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_LINUX_CHILD_H_
