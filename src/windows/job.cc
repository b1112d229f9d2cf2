#include "windows/job.h"

#include <windows.h>
// After windows.h, which it needs.
#include <tlhelp32.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {
namespace {

// Suspend rounds: each catches the threads and processes started while the
// previous one ran.
constexpr int kSuspendRounds = 8;

}  // namespace

absl::Duration FromHundredNanos(int64_t ticks) {
  return absl::Nanoseconds(ticks * 100);
}

absl::StatusOr<UniqueHandle> CreateJob(const Limits& limits, HANDLE port,
                                       uint64_t key,
                                       std::vector<LimitNotKept>& not_kept) {
  UniqueHandle job(CreateJobObjectW(nullptr, nullptr));
  if (!job.valid()) return LastErrorStatus("create a job object");

  // Over the CPU budget the job posts END_OF_JOB_TIME and the loop stops
  // the tree (as for a cgroup's CPU budget), rather than the system ending
  // it with an exit code nobody can tell from a program's own. Where the
  // job cannot post it (Wine) its user-time limit is left unset: the
  // loop's check of the job's accounting (user + kernel) holds the budget.
  bool cpu_time = limits.cpu_time.has_value();
  if (cpu_time) {
    JOBOBJECT_END_OF_JOB_TIME_INFORMATION end = {};
    end.EndOfJobTimeAction = JOB_OBJECT_POST_AT_END_OF_JOB;
    cpu_time =
        SetInformationJobObject(job.get(), JobObjectEndOfJobTimeInformation,
                                &end, sizeof(end)) != FALSE;
  }
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info = {};
  DWORD flags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE |
                JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
  if (limits.memory_bytes) {
    flags |= JOB_OBJECT_LIMIT_JOB_MEMORY | JOB_OBJECT_LIMIT_PROCESS_MEMORY;
    info.JobMemoryLimit = static_cast<SIZE_T>(*limits.memory_bytes);
    info.ProcessMemoryLimit = static_cast<SIZE_T>(*limits.memory_bytes);
  }
  if (limits.processes) {
    flags |= JOB_OBJECT_LIMIT_ACTIVE_PROCESS;
    info.BasicLimitInformation.ActiveProcessLimit =
        static_cast<DWORD>(std::min<int64_t>(*limits.processes, MAXDWORD));
  }
  if (cpu_time) {
    flags |= JOB_OBJECT_LIMIT_JOB_TIME;
    info.BasicLimitInformation.PerJobUserTimeLimit.QuadPart =
        std::max<int64_t>(1, absl::ToInt64Nanoseconds(*limits.cpu_time) / 100);
  }
  info.BasicLimitInformation.LimitFlags = flags;
  if (!SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation,
                               &info, sizeof(info))) {
    return LastErrorStatus("set the limits of a job object");
  }
  JOBOBJECT_ASSOCIATE_COMPLETION_PORT assoc = {};
  assoc.CompletionKey = reinterpret_cast<PVOID>(static_cast<uintptr_t>(key));
  assoc.CompletionPort = port;
  if (!SetInformationJobObject(job.get(),
                               JobObjectAssociateCompletionPortInformation,
                               &assoc, sizeof(assoc))) {
    return LastErrorStatus("attach a job object to the completion port");
  }

  // Read back: a limit the system accepted without keeping is reported,
  // not trusted.
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION back = {};
  if (!QueryInformationJobObject(job.get(), JobObjectExtendedLimitInformation,
                                 &back, sizeof(back), nullptr)) {
    const std::string why =
        absl::StrCat("the job's limits could not be read back: ",
                     LastErrorStatus("query a job object").message());
    if (limits.memory_bytes) not_kept.push_back({LimitKind::kMemory, why});
    if (limits.processes) not_kept.push_back({LimitKind::kProcesses, why});
    if (cpu_time) not_kept.push_back({LimitKind::kCpuTime, why});
    return job;
  }
  const DWORD kept = back.BasicLimitInformation.LimitFlags;
  if (limits.memory_bytes && ((kept & JOB_OBJECT_LIMIT_JOB_MEMORY) == 0 ||
                              back.JobMemoryLimit != info.JobMemoryLimit)) {
    not_kept.push_back({LimitKind::kMemory,
                        "the job did not keep its memory limit (read back)"});
  }
  if (limits.processes && ((kept & JOB_OBJECT_LIMIT_ACTIVE_PROCESS) == 0 ||
                           back.BasicLimitInformation.ActiveProcessLimit !=
                               info.BasicLimitInformation.ActiveProcessLimit)) {
    not_kept.push_back({LimitKind::kProcesses,
                        "the job did not keep its process limit (read back)"});
  }
  if (cpu_time &&
      ((kept & JOB_OBJECT_LIMIT_JOB_TIME) == 0 ||
       back.BasicLimitInformation.PerJobUserTimeLimit.QuadPart !=
           info.BasicLimitInformation.PerJobUserTimeLimit.QuadPart)) {
    not_kept.push_back({LimitKind::kCpuTime,
                        "the job did not keep its CPU time limit (read back)"});
  }
  return job;
}

JobUsage ReadJobUsage(HANDLE job) {
  JobUsage usage;
  JOBOBJECT_BASIC_ACCOUNTING_INFORMATION basic = {};
  if (QueryInformationJobObject(job, JobObjectBasicAccountingInformation,
                                &basic, sizeof(basic), nullptr)) {
    usage.have_times = true;
    usage.user_time = FromHundredNanos(basic.TotalUserTime.QuadPart);
    usage.kernel_time = FromHundredNanos(basic.TotalKernelTime.QuadPart);
    usage.have_active = true;
    usage.active_processes = basic.ActiveProcesses;
  }
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION extended = {};
  if (QueryInformationJobObject(job, JobObjectExtendedLimitInformation,
                                &extended, sizeof(extended), nullptr)) {
    usage.have_peak = extended.PeakJobMemoryUsed > 0;
    usage.peak_memory_bytes = static_cast<int64_t>(extended.PeakJobMemoryUsed);
  }
  return usage;
}

absl::StatusOr<JobLimits> ReadJobLimits(HANDLE job) {
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION info = {};
  if (!QueryInformationJobObject(job, JobObjectExtendedLimitInformation, &info,
                                 sizeof(info), nullptr)) {
    return LastErrorStatus("query the limits of a job object");
  }
  const DWORD flags = info.BasicLimitInformation.LimitFlags;
  JobLimits limits;
  if ((flags & JOB_OBJECT_LIMIT_JOB_MEMORY) != 0) {
    limits.memory_bytes = static_cast<int64_t>(info.JobMemoryLimit);
  }
  if ((flags & JOB_OBJECT_LIMIT_ACTIVE_PROCESS) != 0) {
    limits.processes = info.BasicLimitInformation.ActiveProcessLimit;
  }
  if ((flags & JOB_OBJECT_LIMIT_JOB_TIME) != 0) {
    limits.cpu_time = FromHundredNanos(
        info.BasicLimitInformation.PerJobUserTimeLimit.QuadPart);
  }
  return limits;
}

std::vector<DWORD> JobProcessIds(HANDLE job) {
  std::vector<unsigned char> buffer(sizeof(JOBOBJECT_BASIC_PROCESS_ID_LIST) +
                                    64 * sizeof(ULONG_PTR));
  for (int attempt = 0; attempt < 6; ++attempt) {
    auto* list =
        reinterpret_cast<JOBOBJECT_BASIC_PROCESS_ID_LIST*>(buffer.data());
    if (QueryInformationJobObject(job, JobObjectBasicProcessIdList, list,
                                  static_cast<DWORD>(buffer.size()), nullptr) ||
        GetLastError() == ERROR_MORE_DATA) {
      if (list->NumberOfProcessIdsInList >= list->NumberOfAssignedProcesses) {
        std::vector<DWORD> ids;
        for (DWORD i = 0; i < list->NumberOfProcessIdsInList; ++i) {
          ids.push_back(static_cast<DWORD>(list->ProcessIdList[i]));
        }
        return ids;
      }
      buffer.resize(sizeof(JOBOBJECT_BASIC_PROCESS_ID_LIST) +
                    (list->NumberOfAssignedProcesses + 64) * sizeof(ULONG_PTR));
      continue;
    }
    break;
  }
  return {};
}

absl::Status SuspendJob(HANDLE job, std::vector<UniqueHandle>& suspended) {
  absl::flat_hash_set<DWORD> done;  // thread ids suspended
  for (int round = 0; round < kSuspendRounds; ++round) {
    const std::vector<DWORD> ids = JobProcessIds(job);
    if (ids.empty()) {
      return round == 0 ? LastErrorStatus("list the job's processes")
                        : absl::OkStatus();
    }
    const absl::flat_hash_set<DWORD> pids(ids.begin(), ids.end());
    UniqueHandle snapshot(CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0));
    if (!snapshot.valid()) return LastErrorStatus("list the job's threads");
    THREADENTRY32 entry = {};
    entry.dwSize = sizeof(entry);
    bool more = false;
    for (BOOL ok = Thread32First(snapshot.get(), &entry); ok;
         ok = Thread32Next(snapshot.get(), &entry)) {
      if (!pids.contains(entry.th32OwnerProcessID) ||
          done.contains(entry.th32ThreadID)) {
        continue;
      }
      UniqueHandle thread(
          OpenThread(THREAD_SUSPEND_RESUME, FALSE, entry.th32ThreadID));
      // A thread that ended meanwhile cannot be opened: nothing to stop.
      if (!thread.valid()) continue;
      if (SuspendThread(thread.get()) == static_cast<DWORD>(-1)) continue;
      done.insert(entry.th32ThreadID);
      suspended.push_back(std::move(thread));
      more = true;
    }
    if (!more) return absl::OkStatus();
  }
  return absl::OkStatus();
}

void ResumeThreads(std::vector<UniqueHandle>& suspended) {
  for (UniqueHandle& thread : suspended) ResumeThread(thread.get());
  suspended.clear();
}

}  // namespace procsandbox::windows_internal
