// OsProcess: the Process of an OS manager, on any platform (platform.h).
//
// The state machine (kNew → kRunning → kEnded), Start()'s neutral prologue
// and epilogue, deadlines and kill graces, the cause of death, the drain
// after the exit, the output cap, lines/chunks/capture delivery, the host's
// pipe buffers, usage and state. What touches the OS is the platform's
// Child; ManagerState is what every process of one manager shares.
#ifndef PROCSANDBOX_SRC_OS_OS_PROCESS_H_
#define PROCSANDBOX_SRC_OS_OS_PROCESS_H_

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
#include "common/captured_handover.h"
#include "common/usage_timeline.h"
#include "os/capture_buffer.h"
#include "os/platform.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/process.h"

namespace procsandbox::os_internal {

class OsProcess;

// What every process of one manager shares. Outlives the manager while a
// process handle does.
struct ManagerState {
  OsManagerOptions options;
  std::unique_ptr<Platform> platform;

  void Emit(OsManagerEvent::Kind kind, std::string detail) const;
  // After shut_down: removes the platform's containers once no Start() is
  // under way (once).
  void RemoveContainersIfLast();

  absl::Mutex mu;
  Limits defaults ABSL_GUARDED_BY(mu);
  bool shut_down ABSL_GUARDED_BY(mu) = false;
  std::map<Pid, std::shared_ptr<OsProcess>> live ABSL_GUARDED_BY(mu);
  // Reaped (out of `live`) but not ended: draining their output or waiting
  // for the rest of their tree. The destructor ends them too.
  std::map<const OsProcess*, std::shared_ptr<OsProcess>> ending
      ABSL_GUARDED_BY(mu);
  // Start() calls past their shut_down check, and whether the manager's
  // containers were removed (by the destructor, or the last of those
  // Start()s).
  int starting ABSL_GUARDED_BY(mu) = 0;
  bool containers_removed ABSL_GUARDED_BY(mu) = false;
};

class OsProcess final : public Process,
                        public internal::CapturedHandover,
                        public ChildEvents,
                        public std::enable_shared_from_this<OsProcess> {
 public:
  OsProcess(std::shared_ptr<ManagerState> manager, Command command)
      : manager_(std::move(manager)), command_(std::move(command)) {}
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
  CapturedOutput TakeCaptured() override;
  absl::StatusOr<Verification> Verify() override;

  // ChildEvents (loop thread, the lock not held).
  bool OnOutput(Stream stream, absl::string_view data) override;
  void OnOutputDiscarded(Stream stream, std::size_t count) override;
  void OnOutputEnd(Stream stream) override;
  void OnExit(const ChildExit& exit) override;
  void OnCpuBudgetSpent() override;
  void OnSeccompViolation(int syscall, std::string name) override;
  void OnTreeGone() override;

  // At the manager's shutdown, for a process reaped but not ended: stops
  // waiting for its pipes (as when drain_after_exit passes), on the loop.
  void EndDrain();

 private:
  // One output stream the library reads (capture, lines, chunks), or the
  // host reads (pipe).
  struct Output {
    Stdio::Kind kind = Stdio::Kind::kNull;
    bool open = false;       // not at its end yet (capture, lines, chunks)
    CaptureBuffer kept;      // capture
    bool truncated = false;  // capture
    std::string partial;     // lines: the unterminated tail
    Stdio::LineCallback callback;  // lines or chunks
    std::string host_buffer;       // pipe: read by the host, not returned yet
    bool host_eof = false;         // pipe
    int64_t received = 0;          // bytes read from it (before the cap)
  };

  absl::Status SetStream(Stream stream, Stdio stdio);
  absl::Status StartLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckStartedLocked(absl::string_view action) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Signals the tree while the leader is not reaped.
  void SignalTreeLocked(int signo) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void TerminateLocked(ExitReason cause) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The child has ended (reaped, or a zombie not reaped yet).
  bool ExitedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts `count` bytes read from `o` and applies the output cap to them:
  // how many of them may be kept (the rest is dropped).
  std::size_t ReceiveLocked(Output& o, std::size_t count)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Output& OutputOf(Stream stream) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stream == Stream::kStdout ? out_ : err_;
  }

  // The tree's figures now, while the leader is not reaped.
  ResourceUsage LiveUsageLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The final wall time, CPU and peak memory (the whole tree's where the
  // platform accounts it), after the exit; and what else the platform knows.
  TreeEnd EndFiguresLocked(Outcome& outcome) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Loop thread.
  void Arm();
  void OnDeadline();
  // Command::monitor: a sample every interval while the leader runs, and
  // the one at the end (taken by MaybeFinish before FinishLocked).
  void ArmSampleLocked(int64_t now_ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnSampleDue();
  UsageSample EndSampleLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void MaybeFinish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::StatusOr<std::string> ReadPipe(Stream stream, std::size_t max_bytes,
                                       bool line, absl::Duration timeout);

  const std::shared_ptr<ManagerState> manager_;
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
  // The started tree (null before, and after a failed Start()).
  std::shared_ptr<Child> child_ ABSL_GUARDED_BY(mu_);
  Pid pid_ ABSL_GUARDED_BY(mu_) = 0;
  bool suspended_ ABSL_GUARDED_BY(mu_) = false;
  bool frozen_ ABSL_GUARDED_BY(mu_) = false;  // Suspend() froze it
  int64_t start_ns_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time start_time_ ABSL_GUARDED_BY(mu_);  // the wall clock at start_ns_

  // Stdio::Pipe stdin: shared, so that a Write() in progress keeps it while
  // CloseStdin() drops it.
  std::shared_ptr<HostStdin> host_stdin_ ABSL_GUARDED_BY(mu_);
  bool stdin_closed_ ABSL_GUARDED_BY(mu_) = false;  // by CloseStdin()
  Output out_ ABSL_GUARDED_BY(mu_);
  Output err_ ABSL_GUARDED_BY(mu_);
  int64_t received_ ABSL_GUARDED_BY(mu_) = 0;  // output bytes read
  int64_t kept_ ABSL_GUARDED_BY(mu_) = 0;      // captured or delivered

  std::optional<ExitReason> cause_ ABSL_GUARDED_BY(mu_);
  // kSeccompViolation: the call, when the platform named it.
  int violation_syscall_ ABSL_GUARDED_BY(mu_) = -1;
  std::string violation_name_ ABSL_GUARDED_BY(mu_);
  std::set<int> host_signals_ ABSL_GUARDED_BY(mu_);
  bool kill_scheduled_ ABSL_GUARDED_BY(mu_) = false;
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;
  ChildExit exit_ ABSL_GUARDED_BY(mu_);
  bool tree_dying_ ABSL_GUARDED_BY(mu_) = false;  // EndTree() awaits it
  bool drain_expired_ ABSL_GUARDED_BY(mu_) = false;
  // Output went past the cap with OutputLimitAction::kStop.
  bool output_dropped_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<Outcome> outcome_ ABSL_GUARDED_BY(mu_);
  int64_t forks_refused_ ABSL_GUARDED_BY(mu_) = 0;  // at the end
  EventLoop::TimerId deadline_timer_ = 0;           // loop thread
  // Command::monitor: the samples (set at Start()), the next one's instant
  // and timer (loop thread), and the timeline once the end was sampled.
  std::optional<internal::UsageTimeline> timeline_ ABSL_GUARDED_BY(mu_);
  int64_t next_sample_ns_ ABSL_GUARDED_BY(mu_) = 0;
  EventLoop::TimerId sample_timer_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<std::vector<UsageSample>> samples_ ABSL_GUARDED_BY(mu_);
  // Events of a Start(), emitted once its lock is released.
  std::vector<OsManagerEvent> pending_events_ ABSL_GUARDED_BY(mu_);
  bool starting_registered_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace procsandbox::os_internal

#endif  // PROCSANDBOX_SRC_OS_OS_PROCESS_H_
