// The Linux OS manager's process and the state its processes share.
#ifndef PROCSANDBOX_SRC_LINUX_OS_PROCESS_H_
#define PROCSANDBOX_SRC_LINUX_OS_PROCESS_H_

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
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
#include "posix/unique_fd.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/process.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;

class OsProcess;

// What every process of one manager shares. Outlives the manager while a
// process handle does.
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
  // After shut_down: removes the drivers' directories once no Start() is
  // under way (once).
  void RemoveGroupsIfLast();

  absl::Mutex mu;
  Limits defaults ABSL_GUARDED_BY(mu);
  bool shut_down ABSL_GUARDED_BY(mu) = false;
  std::map<Pid, std::shared_ptr<OsProcess>> live ABSL_GUARDED_BY(mu);
  // Start() calls past their shut_down check, and whether the manager's
  // groups were removed (by the destructor, or the last of those Start()s).
  int starting ABSL_GUARDED_BY(mu) = 0;
  bool groups_removed ABSL_GUARDED_BY(mu) = false;
};

// How `kind` is enforced without cgroups (rlimits), or why it is not.
LimitEnforcement RlimitFallback(LimitKind kind);

class OsProcess final : public Process,
                        public std::enable_shared_from_this<OsProcess> {
 public:
  OsProcess(std::shared_ptr<OsManagerCore> core, Command command)
      : core_(std::move(core)), command_(std::move(command)) {}
  ~OsProcess() override;

  absl::Status SetStdin(Stdio stdio) override;
  absl::Status SetStdout(Stdio stdio) override;
  absl::Status SetStderr(Stdio stdio) override;
  absl::Status SetLimits(const Limits& limits) override;
  Limits GetLimits() const override;
  Command command() const override;

  absl::Status Start() override;
  absl::StatusOr<Outcome> Wait() override;
  absl::StatusOr<Outcome> WaitFor(absl::Duration timeout) override;
  absl::Status Signal(int signo) override;
  absl::Status Terminate() override;
  absl::Status Kill() override;
  absl::Status Suspend() override;
  absl::Status Resume() override;
  absl::Status Write(absl::string_view data) override;
  absl::Status CloseStdin() override;
  absl::StatusOr<std::string> ReadLine(Stream stream,
                                       absl::Duration timeout) override;
  absl::StatusOr<std::string> Read(Stream stream, std::size_t max_bytes,
                                   absl::Duration timeout) override;
  Pid Id() const override;
  procsandbox::ProcessState state() const override;
  bool Running() const override;
  std::optional<int> ExitCode() const override;
  ResourceUsage Usage() const override;
  Enforcement enforcement() const override;
  CapturedOutput Captured() const override;

 private:
  // One output stream the library reads (capture or lines), or the host
  // reads (pipe).
  struct Output {
    Stdio::Kind kind = Stdio::Kind::kNull;
    UniqueFd fd;             // the parent's read end (capture, lines, pipe)
    bool open = false;       // not at end of file yet (capture, lines)
    std::string kept;        // capture
    bool truncated = false;  // capture
    std::string partial;     // lines: the unterminated tail
    Stdio::LineCallback callback;  // lines or chunks
    std::string host_buffer;       // pipe: read by the host, not returned yet
    bool host_eof = false;         // pipe
  };

  absl::Status SetStream(Stream stream, Stdio stdio);
  absl::Status StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckStartedLocked(absl::string_view action) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Signals the child's group (or the child) while it is not reaped.
  void SignalTreeLocked(int signo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TerminateLocked(ExitReason cause) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The child has ended (reaped, or a zombie not reaped yet).
  bool ExitedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Reactor thread.
  void Arm();
  void OnExit();
  void OnOutput(Stream stream);
  void OnStdinWritable();
  void OnDeadline();
  void MaybeFinish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // cgroups (os_process_cgroup.cc).
  absl::Status CreateCgroupsLocked(SpawnPlan& plan)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The groups of `mechanism` could not be made: rlimits instead (or, in
  // strict mode, the error).
  absl::Status DegradeLocked(Mechanism mechanism, const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveCgroupsNow() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // clone3 failed with ENOSYS: the group `plan` would have started the
  // child in is joined from the child instead (as where clone3 is missing).
  absl::Status JoinFromChildInsteadLocked(SpawnPlan& plan)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After the spawn: placement descriptors closed, spares made ahead.
  void CgroupsPlacedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The tree's CPU time (ns) at which the reactor stops it.
  int64_t CpuKillAtNs() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ArmCpuCheck() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnCpuCheck();
  // After the reap: the rest of the tree is killed, final usage read.
  void EndTreeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Checks every millisecond until the killed rest of the tree is gone (or
  // `give_up_ns`), then lets the process finish.
  void AwaitTreeGone(int64_t give_up_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadEndUsageLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ScheduleCgroupRemoval() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void RemoveCgroups(const std::shared_ptr<OsProcess>& self,
                            int64_t give_up_ns);
  void ApplyCgroupUsageLocked(Outcome& outcome) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReadCgroupUsageLocked(ResourceUsage& usage) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::StatusOr<std::string> ReadPipe(Stream stream, std::size_t max_bytes,
                                       bool line, absl::Duration timeout);

  const std::shared_ptr<OsManagerCore> core_;
  mutable absl::Mutex mu_;
  absl::CondVar ended_;
  Command command_ ABSL_GUARDED_BY(mu_);
  enum class Phase {
    kNew,
    kRunning,
    kEnded
  } phase_ ABSL_GUARDED_BY(mu_) = Phase::kNew;
  Limits limits_ ABSL_GUARDED_BY(mu_);
  Enforcement enforcement_ ABSL_GUARDED_BY(mu_);
  pid_t pid_ ABSL_GUARDED_BY(mu_) = 0;
  UniqueFd pidfd_ ABSL_GUARDED_BY(mu_);
  bool group_ ABSL_GUARDED_BY(mu_) = false;  // the child leads a group
  bool suspended_ ABSL_GUARDED_BY(mu_) = false;
  int64_t start_ns_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t end_ns_ ABSL_GUARDED_BY(mu_) = 0;

  // Data (written by the reactor) or Pipe (by the host): shared, so that a
  // Write() in progress keeps the descriptor while CloseStdin() drops it.
  std::shared_ptr<UniqueFd> stdin_pipe_ ABSL_GUARDED_BY(mu_);
  bool stdin_closed_ ABSL_GUARDED_BY(mu_) = false;  // by CloseStdin()
  std::string stdin_data_ ABSL_GUARDED_BY(mu_);
  std::size_t stdin_written_ ABSL_GUARDED_BY(mu_) = 0;
  Output out_ ABSL_GUARDED_BY(mu_);
  Output err_ ABSL_GUARDED_BY(mu_);
  int64_t received_ ABSL_GUARDED_BY(mu_) = 0;  // output bytes read
  int64_t kept_ ABSL_GUARDED_BY(mu_) = 0;      // captured or delivered

  std::optional<ExitReason> cause_ ABSL_GUARDED_BY(mu_);
  std::set<int> host_signals_ ABSL_GUARDED_BY(mu_);
  bool kill_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
  siginfo_t status_ ABSL_GUARDED_BY(mu_) = {};
  struct rusage rusage_ ABSL_GUARDED_BY(mu_) = {};
  bool drain_expired_ ABSL_GUARDED_BY(mu_) = false;
  // Output went past the cap with OutputLimitAction::kStop.
  bool output_dropped_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Outcome> outcome_ ABSL_GUARDED_BY(mu_);
  uint64_t deadline_timer_ = 0;  // reactor thread

  // The process tree's groups (none without cgroups), and which of them
  // stops the tree, accounts its CPU, its memory.
  std::vector<std::unique_ptr<Cgroup>> cgroups_ ABSL_GUARDED_BY(mu_);
  Cgroup* tracker_ ABSL_GUARDED_BY(mu_) = nullptr;
  Cgroup* cpu_group_ ABSL_GUARDED_BY(mu_) = nullptr;
  Cgroup* memory_group_ ABSL_GUARDED_BY(mu_) = nullptr;
  CgroupUsage cgroup_usage_ ABSL_GUARDED_BY(mu_);  // last read; final at end
  bool frozen_ ABSL_GUARDED_BY(mu_) = false;       // Suspend() froze it
  bool tree_dying_ ABSL_GUARDED_BY(mu_) = false;   // killed at the exit
  // Events of a Start(), emitted once its lock is released.
  std::vector<OsManagerEvent> pending_events_ ABSL_GUARDED_BY(mu_);
  bool starting_registered_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t cpu_timer_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_OS_PROCESS_H_
