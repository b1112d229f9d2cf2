// What the Slurm client commands print, parsed, and Slurm's final job states
// mapped to Outcomes. Pure functions over text: unit-tested on outputs
// recorded from Slurm 22.05 (tests/unit/slurm_parse_test.cc), used by the
// Slurm manager (slurm_manager.cc) on what scontrol, squeue and sacct say.
// Defined in slurm_parse.cc and (configuration, final states)
// slurm_final_state.cc.
#ifndef PROCSANDBOX_SRC_SLURM_SLURM_PARSE_H_
#define PROCSANDBOX_SRC_SLURM_SLURM_PARSE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/limits.h"
#include "procsandbox/outcome.h"

namespace procsandbox::slurm_internal {

// A job's state as Slurm names it (JOB_STATE_BASE plus the flags squeue and
// scontrol print as states).
enum class JobState {
  kPending,
  kConfiguring,
  kRunning,
  kSuspended,
  kCompleting,
  kCompleted,
  kFailed,
  kTimeout,
  kOutOfMemory,
  kCancelled,
  kNodeFail,
  kBootFail,
  kDeadline,
  kPreempted,
  kRequeued,
  kResizing,
  kRevoked,
  kSpecialExit,
  kStopped,
  kUnknown,
};

// "PENDING", "COMPLETED", "CANCELLED by 1000" (sacct), "CANCELLED+",
// "OUT_OF_MEMORY", and squeue's compact codes ("OOM", "CD", "PD"...)
// (case-sensitive, as Slurm prints them); kUnknown for anything else. The
// flags Slurm prints in place of a state map to what they stand for:
// RESV_DEL_HOLD → kPending, REQUEUE_FED and REQUEUE_HOLD → kRequeued,
// SIGNALING → kRunning, STAGE_OUT → kCompleting.
JobState ParseJobState(absl::string_view text);
// "PENDING", "OUT_OF_MEMORY", ...; "UNKNOWN" for kUnknown.
absl::string_view JobStateName(JobState state);
// The job will not run again: COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY,
// CANCELLED, NODE_FAIL, BOOT_FAIL, DEADLINE, PREEMPTED, REVOKED,
// SPECIAL_EXIT. (COMPLETING is not final: its node still cleans up.)
bool IsFinal(JobState state);
// PENDING, CONFIGURING (not yet running the program).
bool IsPending(JobState state);

// `scontrol show job -o ID` and `scontrol show step -o`: one line of
// "Key=Value" pairs separated by spaces. A value may itself hold spaces
// (Command=, Reason=, Comment=, WorkDir=): a pair starts only where a space
// is followed by a key ([A-Za-z][A-Za-z0-9_/:]*) and '='. Values lose their
// trailing spaces ("Comment=a b  Power=" gives "a b"); text before the first
// key is ignored.
absl::flat_hash_map<std::string, std::string> ParseOneLineRecord(
    absl::string_view line);
// `scontrol show config`: "Key                     = Value" lines, and the
// "Cgroup Support Configuration:" section's lines the same way. Headers,
// blank lines and lines without " = " are skipped; "Key = " is an empty
// value.
absl::flat_hash_map<std::string, std::string> ParseConfigText(
    absl::string_view text);

// "DD-HH:MM:SS", "HH:MM:SS", "MM:SS[.fff]", "SS" as scontrol and sacct
// print durations (a fraction of up to 9 digits on the seconds); "UNLIMITED",
// "INFINITE" and "Partition_Limit" are absl::InfiniteDuration().
// InvalidArgument naming the text otherwise.
absl::StatusOr<absl::Duration> ParseSlurmDuration(absl::string_view text);
// "64M", "1234K", "2G", "0", "1.50G", "512" (bytes when no unit),
// binary units K, M, G, T, P, E (K = 1024), rounded to a byte.
// InvalidArgument naming the text otherwise.
absl::StatusOr<int64_t> ParseSlurmBytes(absl::string_view text);
// "3:0" → {3, 0}, "0:9" → {0, 9}. InvalidArgument naming the text
// otherwise.
absl::StatusOr<std::pair<int, int>> ParseExitCode(absl::string_view text);

// srun --time: whole minutes, rounded up, at least 1 ("1", "61");
// "UNLIMITED" for absl::InfiniteDuration().
std::string FormatTimeLimit(absl::Duration wall_time);
// srun --mem: whole MiB, rounded up, at least 1 ("64M").
std::string FormatMemory(int64_t bytes);

// One job as `scontrol show job -o ID` shows it.
struct JobRecord {
  int64_t job_id = 0;
  JobState state = JobState::kUnknown;
  std::string state_text;  // as printed ("OUT_OF_MEMORY")
  std::string reason;      // "None", "Resources", "OutOfMemory", ...
  int exit_code = 0;       // ExitCode=<exit_code>:<signal>
  int signal = 0;
  std::optional<absl::Duration> run_time;
  std::optional<absl::Duration> time_limit;  // InfiniteDuration: UNLIMITED
  // MinMemoryNode (or MinMemoryCPU times NumCPUs) in bytes; nullopt when
  // the job asked for none.
  std::optional<int64_t> memory_bytes;
  int num_cpus = 0;
  std::string node_list;
  std::string partition;
  std::string name;
};
// NotFound for "slurm_load_jobs error: Invalid job id specified" (the job
// left the controller's memory); InvalidArgument naming the missing key
// (JobId, JobState, ExitCode), or a field that does not parse, otherwise.
// Of several lines (a job array) the first is read. NodeList and Partition
// are "" for "(null)".
absl::StatusOr<JobRecord> ParseScontrolJob(absl::string_view text);

// `squeue -h -t all -o %i|%T|%r|%j` lines.
struct QueueEntry {
  int64_t job_id = 0;
  JobState state = JobState::kUnknown;
  std::string reason;
  std::string name;
};
// Blank lines are skipped; a '|' in the name stays in it. InvalidArgument
// naming the bad line.
absl::StatusOr<std::vector<QueueEntry>> ParseSqueue(absl::string_view text);

// `sacct -P -n -j ID --format=JobID,State,ExitCode,UserCPU,SystemCPU,
// Elapsed,MaxRSS`: the job's line ("123|COMPLETED|0:0|...") and its steps'
// ("123.0|...", "123.batch", "123.extern"). State and exit code come from
// the job's line, CPU times are the job's totals, the peak memory is the
// largest MaxRSS of its lines (empty on the job's line). Lines of other jobs
// are skipped.
struct AccountingRecord {
  int64_t job_id = 0;
  JobState state = JobState::kUnknown;
  int exit_code = 0;
  int signal = 0;
  absl::Duration user_time = absl::ZeroDuration();
  absl::Duration system_time = absl::ZeroDuration();
  absl::Duration elapsed = absl::ZeroDuration();
  int64_t peak_memory_bytes = 0;
};
// NotFound when no job line is for `job_id`; InvalidArgument naming a bad
// field or a line without 7 fields.
absl::StatusOr<AccountingRecord> ParseSacct(absl::string_view text,
                                            int64_t job_id);

// What the cluster's configuration (scontrol show config) says it enforces.
struct ClusterConfig {
  std::string cluster_name;    // ClusterName
  std::string version;         // SLURM_VERSION
  std::string task_plugin;     // TaskPlugin
  std::string proctrack_type;  // ProctrackType
  std::string select_type_parameters;
  std::string jobacct_gather_type;
  std::string jobacct_gather_params;
  std::string accounting_storage_type;  // "accounting_storage/none": no sacct
  std::string propagate_resource_limits;
  bool constrain_ram_space = false;   // cgroup.conf ConstrainRAMSpace
  bool constrain_swap_space = false;  // cgroup.conf ConstrainSwapSpace
  absl::Duration kill_wait = absl::Seconds(30);           // KillWait
  absl::Duration min_job_age = absl::Seconds(300);        // MinJobAge
  absl::Duration over_time_limit = absl::ZeroDuration();  // OverTimeLimit
};
// String fields are "" where Slurm prints "(null)"; a key missing keeps the
// default above. InvalidArgument when the text is not a Slurm configuration
// (no ClusterName or SLURM_VERSION), or naming a duration ("30 sec",
// "0 min", "UNLIMITED") that does not parse.
absl::StatusOr<ClusterConfig> ParseClusterConfig(absl::string_view text);

// Whether the cluster confines a job to its --mem, and how or why not:
// "task/cgroup ConstrainRAMSpace=yes", "jobacct_gather OverMemoryKill
// (sampled)", or why nothing does.
struct Confinement {
  bool enforced = false;
  std::string detail;
};
Confinement MemoryConfinementOf(const ClusterConfig& config);
// Whether a signal to the job reaches every process it started
// (proctrack/cgroup, proctrack/linuxproc follow the tree; proctrack/pgid
// only the process group), and why.
Confinement TreeTrackingOf(const ClusterConfig& config);
// sacct has data: an AccountingStorageType other than accounting_storage/none.
bool HasAccounting(const ClusterConfig& config);

// What the host did to the job, which decides the reason over Slurm's.
enum class HostAction {
  kNone,
  kDeadline,  // the wall-time deadline this host keeps (→ kTimedOut)
  kCancel,    // Terminate(), Kill(), Signal() (→ kCancelled)
};

// The reason, exit code and signal of the Outcome for a job that ended in
// `state` with ExitCode=exit_code:signal.
//   - The host's action first: kDeadline → kTimedOut, kCancel → kCancelled.
//   - COMPLETED → kExited. FAILED → kExited with the code, or by its signal:
//     SIGXCPU under a cpu_time limit → kCpuTimeExceeded, SIGXFSZ under a
//     file_size_bytes limit → kFileSizeExceeded, else kSignaled.
//   - TIMEOUT, DEADLINE → kTimedOut; OUT_OF_MEMORY → kMemoryExceeded (signal
//     SIGKILL: Slurm's 125 is its own code); CANCELLED → kCancelled;
//     NODE_FAIL, BOOT_FAIL → kNodeFailed; PREEMPTED → kPreempted; REVOKED
//     (a federation ran it elsewhere) → kCancelled; SPECIAL_EXIT, and a
//     state that is not final, as FAILED.
//   - When a signal ended it, exit_code is -1 (as Outcome documents).
struct FinalState {
  ExitReason reason = ExitReason::kExited;
  int exit_code = 0;
  int signal = 0;
};
FinalState MapFinalState(JobState state, int exit_code, int signal,
                         HostAction host_action, const Limits& limits);

}  // namespace procsandbox::slurm_internal

#endif  // PROCSANDBOX_SRC_SLURM_SLURM_PARSE_H_
