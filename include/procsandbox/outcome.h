// procsandbox/outcome.h: how a process ended, and what it used.
//
// A child that ran and died is an `Outcome`, never an error Status: the error
// channel is for the library failing (a bad command, a program not found).
// The cause of death is exact: a process the library stopped at its deadline
// is kTimedOut although a signal did the killing, an out-of-memory kill is
// kMemoryExceeded, and a process the host stopped (Terminate, Kill) is
// kCancelled; kSignaled is kept for deaths nobody on the host side asked for.
//
// Example:
//   absl::StatusOr<procsandbox::Outcome> outcome = process->Wait();
//   if (!outcome.ok()) return outcome.status();
//   if (outcome->reason == procsandbox::ExitReason::kTimedOut) { ... }
//   fmt::print("{}\n", *outcome);   // "timed out after 10s (SIGTERM)"
#ifndef PROCSANDBOX_OUTCOME_H_
#define PROCSANDBOX_OUTCOME_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/limits.h"
#include "procsandbox/monitor.h"

namespace procsandbox {

enum class ExitReason {
  kExited,            // the program exited by itself; see exit_code
  kSignaled,          // killed by a signal the host did not send; see signal
  kTimedOut,          // Limits::wall_time passed
  kCpuTimeExceeded,   // Limits::cpu_time passed
  kMemoryExceeded,    // Limits::memory_bytes: out-of-memory kill
  kFileSizeExceeded,  // Limits::file_size_bytes: SIGXFSZ
  kOutputExceeded,    // Limits::output_bytes with OutputLimitAction::kStop
  kCancelled,         // the host stopped it: Terminate(), Kill(), Signal()
  kSeccompViolation,  // a call the seccomp filter kills; see syscall
  // Cluster managers (NewSlurmManager) only: the node running the job
  // failed (Slurm NODE_FAIL, BOOT_FAIL); the job was preempted by another
  // (PREEMPTED). exit_code and signal are what the cluster reported.
  kNodeFailed,
  kPreempted,
};

// "exited", "signaled", "timed_out", "cpu_time_exceeded", "memory_exceeded",
// "file_size_exceeded", "output_exceeded", "cancelled", "seccomp_violation",
// "node_failed", "preempted": stable names for reports and JSON.
PROCSANDBOX_EXPORT absl::string_view ExitReasonName(ExitReason reason);

// "SIGKILL", "SIGTERM", ... for this platform's signal numbers, or
// "signal 42" for one without a name.
PROCSANDBOX_EXPORT std::string SignalName(int signo);

// "STATUS_ACCESS_VIOLATION (0xC0000005)" for a Windows exception status
// (Outcome::exception_code), "exception 0xE0000001" for one without a name.
PROCSANDBOX_EXPORT std::string ExceptionName(uint32_t code);

struct PROCSANDBOX_EXPORT Outcome {
  ExitReason reason = ExitReason::kExited;
  // The exit status when the program exited by itself (also under kTimedOut
  // and kCancelled when it exited gracefully after SIGTERM); -1 when a signal
  // ended it.
  int exit_code = 0;
  // The signal that ended the program, 0 when it exited.
  int signal = 0;
  // Windows: the exception status that ended the program (0xC0000005, an
  // access violation), which Windows reports as its exit code; `signal` is
  // then the POSIX-numbered equivalent (SIGSEGV) and exit_code -1. 0 for
  // any other end, and always on other platforms (except a fake program's
  // FakeProcess::Raise).
  uint32_t exception_code = 0;
  // kSeccompViolation: the call the filter killed the run for, by number on
  // this architecture (-1 when the kernel did not say which) and by name
  // ("ptrace"; empty when unknown). -1 and empty for any other end.
  int syscall = -1;
  std::string syscall_name;
  absl::Duration wall_time = absl::ZeroDuration();
  absl::Duration user_time = absl::ZeroDuration();
  absl::Duration system_time = absl::ZeroDuration();
  // Peak memory of the process (its cgroup's peak when there is one); 0 when
  // the platform cannot tell.
  int64_t peak_memory_bytes = 0;
  // The limits it ran under (the command's merged over the manager's).
  Limits limits;
  // With Command::monitor on: the timeline of usage samples, oldest first,
  // the last one taken at the end (at most Monitoring::max_samples; see
  // monitor.h). Empty otherwise.
  std::vector<UsageSample> samples;

  // Exited by itself with status 0.
  bool ok() const { return reason == ExitReason::kExited && exit_code == 0; }

  friend PROCSANDBOX_EXPORT bool operator==(const Outcome& a, const Outcome& b);
  friend bool operator!=(const Outcome& a, const Outcome& b) {
    return !(a == b);
  }
};

// Live while the process runs, final after it ended.
struct PROCSANDBOX_EXPORT ResourceUsage {
  absl::Duration wall_time = absl::ZeroDuration();
  absl::Duration user_time = absl::ZeroDuration();
  absl::Duration system_time = absl::ZeroDuration();
  int64_t memory_bytes = 0;       // now (0 once ended)
  int64_t peak_memory_bytes = 0;  // highest seen
  int64_t processes = 0;          // live processes in the tree (0 once ended)
  int64_t output_bytes = 0;       // stdout + stderr bytes the library received
  // Forks the tree was refused at Limits::processes (cgroup pids.max): a
  // program that reports "fork failed" hit its limit when this is non-zero.
  int64_t forks_refused = 0;

  friend PROCSANDBOX_EXPORT bool operator==(const ResourceUsage& a,
                                            const ResourceUsage& b);
  friend bool operator!=(const ResourceUsage& a, const ResourceUsage& b) {
    return !(a == b);
  }
};

// "exited 0 in 12ms", "killed by SIGSEGV after 1.2s",
// "killed by STATUS_ACCESS_VIOLATION (0xC0000005) after 1.2s" (Windows),
// "timed out after 10s (SIGTERM)",
// "killed by seccomp: ptrace (101) after 3ms",
// "killed: memory limit 64 MiB exceeded after 410ms (peak 64 MiB)".
PROCSANDBOX_EXPORT std::string ToString(const Outcome& outcome);
PROCSANDBOX_EXPORT std::string ToString(const ResourceUsage& usage);
inline std::string ToString(ExitReason reason) {
  return std::string(ExitReasonName(reason));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::Outcome)
PROCSANDBOX_FORMATTER(procsandbox::ResourceUsage)
PROCSANDBOX_FORMATTER(procsandbox::ExitReason)

#endif  // PROCSANDBOX_OUTCOME_H_
