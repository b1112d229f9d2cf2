// What a cluster's configuration enforces, and how its jobs' final states
// map to Outcomes (slurm_parse.h).
#include <csignal>
#include <string>

#include "absl/strings/match.h"
#include "fmt/format.h"
#include "procsandbox/limits.h"
#include "procsandbox/outcome.h"
#include "slurm/slurm_parse.h"  // IWYU pragma: associated

namespace procsandbox::slurm_internal {
namespace {

// An end decided by the program itself (FAILED, SPECIAL_EXIT): its exit
// code, or the signal that killed it, which may be a limit's.
FinalState ByExitOrSignal(int exit_code, int signal, const Limits& limits) {
  if (signal == 0) return {ExitReason::kExited, exit_code, 0};
  ExitReason reason = ExitReason::kSignaled;
  if (signal == SIGXCPU && limits.cpu_time.has_value()) {
    reason = ExitReason::kCpuTimeExceeded;
  } else if (signal == SIGXFSZ && limits.file_size_bytes.has_value()) {
    reason = ExitReason::kFileSizeExceeded;
  }
  return {reason, -1, signal};
}

FinalState WithReason(ExitReason reason, int exit_code, int signal) {
  return {reason, signal != 0 ? -1 : exit_code, signal};
}

}  // namespace

Confinement MemoryConfinementOf(const ClusterConfig& config) {
  const bool task_cgroup = absl::StrContains(config.task_plugin, "task/cgroup");
  if (task_cgroup && config.constrain_ram_space) {
    return {true, "task/cgroup ConstrainRAMSpace=yes"};
  }
  const bool gathers = !config.jobacct_gather_type.empty() &&
                       config.jobacct_gather_type != "jobacct_gather/none";
  if (gathers &&
      absl::StrContains(config.jobacct_gather_params, "OverMemoryKill")) {
    return {true, "jobacct_gather OverMemoryKill (sampled)"};
  }
  return {false, fmt::format(
                     "TaskPlugin={} {} and no JobAcctGatherParams="
                     "OverMemoryKill: --mem is not enforced",
                     config.task_plugin.empty() ? "(none)" : config.task_plugin,
                     task_cgroup ? "without ConstrainRAMSpace=yes"
                                 : "has no task/cgroup")};
}

Confinement TreeTrackingOf(const ClusterConfig& config) {
  const std::string& type = config.proctrack_type;
  if (type == "proctrack/cgroup") {
    return {true, "proctrack/cgroup: every process of the job, by cgroup"};
  }
  if (type == "proctrack/linuxproc") {
    return {true,
            "proctrack/linuxproc: the process tree, by parent pid (a process "
            "re-parented to init escapes)"};
  }
  if (type == "proctrack/pgid") {
    return {false,
            "proctrack/pgid: only the process group (a child that calls "
            "setsid escapes)"};
  }
  return {false, fmt::format("ProctrackType={}: not known to follow the "
                             "process tree",
                             type.empty() ? "(none)" : type)};
}

bool HasAccounting(const ClusterConfig& config) {
  return !config.accounting_storage_type.empty() &&
         config.accounting_storage_type != "accounting_storage/none";
}

FinalState MapFinalState(JobState state, int exit_code, int signal,
                         HostAction host_action, const Limits& limits) {
  // Slurm's ExitCode=0:125 under OUT_OF_MEMORY is its own code; the kernel's
  // out-of-memory killer sends SIGKILL.
  if (state == JobState::kOutOfMemory) signal = SIGKILL;
  switch (host_action) {
    case HostAction::kDeadline:
      return WithReason(ExitReason::kTimedOut, exit_code, signal);
    case HostAction::kCancel:
      return WithReason(ExitReason::kCancelled, exit_code, signal);
    case HostAction::kNone:
      break;
  }
  switch (state) {
    case JobState::kTimeout:
    case JobState::kDeadline:
      return WithReason(ExitReason::kTimedOut, exit_code, signal);
    case JobState::kOutOfMemory:
      return WithReason(ExitReason::kMemoryExceeded, exit_code, signal);
    case JobState::kCancelled:
    case JobState::kRevoked:
      return WithReason(ExitReason::kCancelled, exit_code, signal);
    case JobState::kNodeFail:
    case JobState::kBootFail:
      return WithReason(ExitReason::kNodeFailed, exit_code, signal);
    case JobState::kPreempted:
      return WithReason(ExitReason::kPreempted, exit_code, signal);
    default:  // COMPLETED, FAILED, SPECIAL_EXIT, and a state not yet final
      return ByExitOrSignal(exit_code, signal, limits);
  }
}

}  // namespace procsandbox::slurm_internal
