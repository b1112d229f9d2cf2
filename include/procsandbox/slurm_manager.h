// procsandbox/slurm_manager.h: a Manager whose processes run as Slurm jobs.
//
// `NewSlurmManager()` runs each process as a job of a Slurm cluster: a local
// `srun` started through this host's OS manager, so stdio (capture, lines,
// stdin data, interactive pipes, files) works as for a local process, while
// the program runs on a node the cluster picks. Limits become srun options
// (memory_bytes → --mem, wall_time → --time as the cluster's backstop, with
// the exact deadline kept by this host; cpu_time, file_size_bytes and
// open_files → rlimits srun propagates); what the cluster cannot enforce is
// "none" in enforcement() and refused in strict mode. Stops, signals and
// Suspend() reach the job through scancel and scontrol, not only the local
// srun. The outcome is the job's final state as the controller reports it
// (TIMEOUT → kTimedOut, OUT_OF_MEMORY → kMemoryExceeded, CANCELLED →
// kCancelled, NODE_FAIL → kNodeFailed, PREEMPTED → kPreempted).
//
// Example:
//   procsandbox::SlurmOptions options;
//   options.partition = "batch";
//   absl::StatusOr<std::unique_ptr<procsandbox::Manager>> manager =
//       procsandbox::NewSlurmManager(options);
//   if (!manager.ok()) return manager.status();   // no cluster reachable
//   procsandbox::Command cmd("/usr/bin/python3", {"-c", "print(42)"});
//   cmd.limits.memory_bytes = int64_t{1} << 30;
//   cmd.limits.wall_time = absl::Minutes(10);
//   auto result = procsandbox::RunCommand(**manager, cmd);
//
// What differs from a local process (docs/ARCHITECTURE.md lists each):
//   - Id() is the Slurm job id, known once Start() returned.
//   - The program is resolved on this host (PATH of the command's own
//     environment); the node must have it at the same path, as it must have
//     the working directory.
//   - The environment is the command's (srun --export with the names only;
//     the values never appear on a command line), plus what Slurm adds to
//     every task: SLURM_* and SLURMD_NODENAME, and TMPDIR.
//   - Output reaches this host a line at a time (slurmstepd forwards lines):
//     a partial line arrives with its newline or at the end.
//   - Slurm writes its own notices into the task's stderr ("slurmstepd:
//     error: Detected 1 oom-kill event(s) ...").
//   - Usage (CPU time, peak memory) comes from Slurm's accounting (sacct)
//     where the cluster has it; 0 otherwise. Usage samples carry time,
//     state and the bytes of each stream, no CPU or memory.
//   - Start() returns once the job runs (a job pending past start_timeout
//     is cancelled): a loop of Start() calls waits for each job in turn;
//     start many from threads of their own.
//   - srun ignores SIGPIPE: a reader of an inherited stream (Inherit, Fd, a
//     file that is a pipe) that goes away does not end the job. Read the
//     output through the library (Capture, Lines, Chunks, Pipe) and send
//     Signal(SIGPIPE) on EPIPE, as `procsandbox run --backend slurm` does.
//   - A host that dies leaves its jobs running until their --time (or the
//     cluster's InactiveLimit).
//
// Thread-safety: the manager and its processes may be used from any thread.
#ifndef PROCSANDBOX_SLURM_MANAGER_H_
#define PROCSANDBOX_SLURM_MANAGER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"
#include "procsandbox/os_manager.h"

namespace procsandbox {

struct PROCSANDBOX_EXPORT SlurmOptions {
  // Where jobs go (srun --partition, --account, --qos); empty: the
  // cluster's default partition, the user's default account and QOS.
  std::string partition;
  std::string account;
  std::string qos;
  // CPUs each job is given (--cpus-per-task); at least 1.
  int cpus_per_task = 1;
  // Further srun options, before the program ("--constraint=avx2",
  // "--gres=gpu:1"). An option the manager sets itself (--export, --mem,
  // --time, --chdir, --job-name, --propagate, --partition, --account, --qos,
  // --cpus-per-task, --ntasks, --nodes, --jobid, --quiet, --unbuffered,
  // --pty, the stdio options) is refused with InvalidArgument naming it.
  std::vector<std::string> srun_args;
  // Jobs are named "<job_name>-<n>" (squeue shows it): letters, digits,
  // '-', '_' and '.', at most 64 characters.
  std::string job_name = "procsandbox";
  // How long Start() waits for a pending job to start; then the job is
  // cancelled and Start() fails with DeadlineExceeded and Slurm's pending
  // reason ("Resources", "PartitionDown", ...).
  absl::Duration start_timeout = absl::Minutes(5);
  // Once srun has ended, how long the manager keeps asking the controller
  // for the job's final state (it is COMPLETING while its node cleans up).
  // Past it the outcome is taken from srun's exit status.
  absl::Duration final_state_timeout = absl::Seconds(30);
  // The directory holding srun, scancel, scontrol, squeue and sacct; empty:
  // searched in this process's PATH (then /usr/bin).
  std::string slurm_bin_dir;
  // SLURM_CONF for the client commands; empty: the host's own (its
  // SLURM_CONF, or Slurm's compiled-in default).
  std::string slurm_conf;
  // Start() fails with FailedPrecondition when a requested limit is not
  // enforced by the cluster, instead of running without it.
  bool strict = false;
  // Merged under every command's limits (Manager::SetDefaultLimits).
  Limits default_limits;
  // The OS manager that runs srun and the client commands on this host: its
  // capture_pipe_bytes, drain_after_exit and fifo_open_timeout apply. Its
  // strict, default_limits, cgroups and cgroup_root are not used: srun runs
  // without a cgroup of its own.
  OsManagerOptions local;
};

// A manager over the Slurm cluster the client commands reach. It asks the
// controller for its configuration once (scontrol show config) and reports
// what the cluster enforces in capabilities() (backend "slurm").
// FailedPrecondition naming what is missing when no srun is found or no
// controller answers; InvalidArgument naming the option for a bad one.
PROCSANDBOX_EXPORT absl::StatusOr<std::unique_ptr<Manager>> NewSlurmManager(
    SlurmOptions options = {});

}  // namespace procsandbox

#endif  // PROCSANDBOX_SLURM_MANAGER_H_
