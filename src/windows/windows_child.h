// WindowsChild: one process tree of the Windows backend (os/platform.h's
// Child), in a Job Object of its own, watched by the manager's IocpLoop.
//
// How the loop's completions become ChildEvents:
//   job EXIT_PROCESS / ABNORMAL_EXIT_PROCESS of the leader -> OnExit, with
//       its exit code, times and peak memory (the handle keeps its pid);
//       a thread-pool wait on the leader's handle posts the same message
//       (Wine posts none for TerminateJobObject): the first one counts;
//   job ACTIVE_PROCESS_ZERO after EndTree() killed the rest -> OnTreeGone;
//   job END_OF_JOB_TIME (the CPU budget)                      ->
//   OnCpuBudgetSpent; job MEMORY_LIMIT messages -> remembered, FinalUsage()'s
//   oom_killed; a read of a captured, line or chunk pipe -> OnOutput, then the
//   next
//       read is issued (one block per completion); its end -> OnOutputEnd;
//   a read of a host pipe (Stdio::Pipe) -> the child's host buffer, read by
//       ReadHostPipe (reading pauses while 64 KiB wait there).
// Signals: KILL is TerminateJobObject (the whole tree, also what left the
// process group); TERM, INT and BREAK are CTRL_BREAK_EVENT to the child's
// process group; STOP and CONT suspend and resume every thread of the job.
#ifndef PROCSANDBOX_SRC_WINDOWS_WINDOWS_CHILD_H_
#define PROCSANDBOX_SRC_WINDOWS_WINDOWS_CHILD_H_

#include <windows.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "os/platform.h"
#include "procsandbox/os_manager.h"
#include "windows/iocp_loop.h"
#include "windows/spawn.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {

// The exit code TerminateJobObject gives the tree when the library kills
// it (reported as SIGKILL, as on POSIX).
inline constexpr UINT kKillExitCode = 1;

class WindowsChild final : public os_internal::Child,
                           public std::enable_shared_from_this<WindowsChild> {
 public:
  WindowsChild(IocpLoop* loop, const OsManagerOptions* options)
      : loop_(loop), options_(options) {}
  // Forgets its job's notifications (a Spawn() that failed).
  ~WindowsChild() override;

  // The platform middle of Start(): the job and its limits, the stdio, the
  // spawn. On failure nothing is left.
  absl::Status Start(const os_internal::SpawnRequest& request,
                     const SpawnPlan& plan);

  Pid pid() const override { return static_cast<Pid>(pid_.load()); }
  int64_t start_ns() const override { return start_ns_; }
  void Arm(std::shared_ptr<os_internal::ChildEvents> events) override;
  void SignalTree(int signo) override;
  absl::Status CheckSignal(int signo) const override;
  bool Exited() const override;
  bool can_freeze() const override { return true; }
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  bool EndTree(bool frozen) override;
  void LiveUsage(ResourceUsage& usage) const override;
  // The job's limits, read back (windows_child_verify.cc).
  absl::Status ReadBack(const Limits& limits, const Enforcement& enforcement,
                        const Isolation& isolation,
                        Verification& verification) const override;
  os_internal::TreeEnd FinalUsage(Outcome& outcome) const override;
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
  // An output the loop reads: capture, lines, chunks (to the events), or a
  // host pipe (to `host`).
  struct Output {
    Stdio::Kind kind = Stdio::Kind::kNull;
    // Loop thread (and the spawning thread before Arm).
    UniqueHandle handle;
    std::string block;                  // the read in flight fills it
    IocpLoop::Operation* op = nullptr;  // that read, until it completes
    bool closed = false;                // no more reads, nor reports
    // Host pipe: what the loop read and the host has not taken.
    mutable absl::Mutex host_mu;
    absl::CondVar host_cv;
    std::string host ABSL_GUARDED_BY(host_mu);
    bool host_end ABSL_GUARDED_BY(host_mu) = false;   // the pipe ended
    bool host_open ABSL_GUARDED_BY(host_mu) = false;  // not drained
    bool paused ABSL_GUARDED_BY(host_mu) = false;     // full: no read
  };
  Output& OutputOf(Stream stream) {
    return stream == Stream::kStderr ? err_ : out_;
  }
  const Output& OutputOf(Stream stream) const {
    return stream == Stream::kStderr ? err_ : out_;
  }

  // One read per completion: small enough that a flood leaves the port soon
  // for the timers and the exits, large enough that one stream moves fast.
  static constexpr std::size_t kReadBlock = std::size_t{64} * 1024;

  // The host's end of a Stdio::Pipe stdin (windows_child_host.cc).
  static std::shared_ptr<os_internal::HostStdin> NewHostStdin(
      UniqueHandle pipe);

  // Loop thread.
  void OnJobMessage(DWORD message, DWORD pid);
  void OnLeaderExit();
  void StartIo();
  void IssueRead(Stream stream);
  void OnRead(Stream stream, DWORD bytes, DWORD error);
  void EndOutput(Stream stream);
  void CloseOutput(Output& o);
  void WriteStdinData();
  void CheckTreeGone(int64_t give_up_ns);
  // Reports OnCpuBudgetSpent once the job's CPU time (user + kernel)
  // reaches the budget, else looks again when it could first have.
  void CheckCpu();
  // Ends the thread-pool wait for the leader (any thread, once).
  void StopExitWait();

  IocpLoop* const loop_;
  const OsManagerOptions* const options_;  // the platform's, outlives this
  uint64_t job_key_ = 0;                   // set once by Start()
  // Set by Start() once the child runs; the loop thread compares the job's
  // messages with it, possibly before (the leader's exit then comes from
  // the thread-pool wait).
  std::atomic<DWORD> pid_{0};
  int64_t start_ns_ = 0;
  bool memory_limited_ = false;
  int64_t cpu_budget_ns_ = 0;  // Limits::cpu_time; 0: none
  // The thread pool's wait for the leader's handle, and its context.
  HANDLE exit_wait_ = nullptr;
  void* exit_wait_context_ = nullptr;

  mutable absl::Mutex mu_;
  UniqueHandle job_ ABSL_GUARDED_BY(mu_);
  UniqueHandle process_ ABSL_GUARDED_BY(mu_);
  bool reaped_ ABSL_GUARDED_BY(mu_) = false;  // its exit reported
  bool killed_ ABSL_GUARDED_BY(mu_) = false;  // TerminateJobObject by us
  bool memory_hit_ ABSL_GUARDED_BY(mu_) = false;
  int64_t forks_refused_ ABSL_GUARDED_BY(mu_) = 0;
  DWORD exit_code_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<UniqueHandle> suspended_ ABSL_GUARDED_BY(mu_);  // frozen

  // Loop-thread state.
  std::shared_ptr<os_internal::ChildEvents> events_;
  bool armed_ = false;
  bool exit_pending_ = false;       // the leader ended before Arm
  bool cpu_spent_pending_ = false;  // the budget ran out before Arm
  bool tree_empty_ = false;         // ACTIVE_PROCESS_ZERO seen
  bool awaiting_tree_ = false;      // EndTree() returned true
  uint64_t cpu_timer_ = 0;          // the next CheckCpu()
  Output out_;
  Output err_;
  UniqueHandle stdin_data_;
  std::string stdin_bytes_;
  std::size_t stdin_written_ = 0;
  IocpLoop::Operation* stdin_op_ = nullptr;
  std::shared_ptr<os_internal::HostStdin> host_stdin_;  // until taken
};

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_WINDOWS_CHILD_H_
