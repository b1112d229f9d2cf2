// A Job Object per process tree: its limits (set, then read back), its
// notifications on the manager's completion port, its accounting, and
// suspending every thread of its processes.
//
// Every child is created suspended, assigned to its own job, then resumed:
// no instruction of the tree runs outside the job. JOB_OBJECT_LIMIT_KILL_
// ON_JOB_CLOSE ends the tree when the last handle to the job closes (the
// child's Close(), or the host process's death).
#ifndef PROCSANDBOX_SRC_WINDOWS_JOB_H_
#define PROCSANDBOX_SRC_WINDOWS_JOB_H_

#include <windows.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "procsandbox/limits.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {

// A limit the job was given but did not keep (the read-back differs).
struct LimitNotKept {
  LimitKind kind;
  std::string detail;
};

// A new job with KILL_ON_JOB_CLOSE, DIE_ON_UNHANDLED_EXCEPTION (no error
// dialog waits for a click) and these of `limits`: memory_bytes as the
// job's and each process's committed memory, processes as the active
// process limit, cpu_time as the job's user time (the job posts
// END_OF_JOB_TIME instead of killing; left unset where the job cannot post
// it, the loop checking the job's accounting all the same). Its notifications
// go to `port` with `key`. The limit information is read back: `not_kept` lists
// what did not stick. Errors name the step.
absl::StatusOr<UniqueHandle> CreateJob(const Limits& limits, HANDLE port,
                                       uint64_t key,
                                       std::vector<LimitNotKept>& not_kept);

// What the job accounts, each part only when the system answered.
struct JobUsage {
  bool have_times = false;
  absl::Duration user_time;    // of every process the job had
  absl::Duration kernel_time;  // idem
  bool have_active = false;
  int64_t active_processes = 0;
  bool have_peak = false;
  int64_t peak_memory_bytes = 0;  // PeakJobMemoryUsed (committed)
};
JobUsage ReadJobUsage(HANDLE job);

// A job's limits as the system keeps them now (Process::Verify()): each
// one whose flag is set.
struct JobLimits {
  std::optional<int64_t> memory_bytes;     // JobMemoryLimit
  std::optional<int64_t> processes;        // ActiveProcessLimit
  std::optional<absl::Duration> cpu_time;  // PerJobUserTimeLimit
};
absl::StatusOr<JobLimits> ReadJobLimits(HANDLE job);

// The ids of the job's processes now (empty when the query fails).
std::vector<DWORD> JobProcessIds(HANDLE job);

// Suspends every thread of every process in the job (again while new
// threads or processes appear, a bounded number of rounds); the threads
// suspended are appended to `suspended`, for ResumeThreads.
absl::Status SuspendJob(HANDLE job, std::vector<UniqueHandle>& suspended);
// Resumes and closes them.
void ResumeThreads(std::vector<UniqueHandle>& suspended);

// A 100-nanosecond count (FILETIME, LARGE_INTEGER times) as a Duration.
absl::Duration FromHundredNanos(int64_t ticks);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_JOB_H_
