// Slurm's client commands (srun, scancel, scontrol, squeue, sacct), found
// once and run on this host through a local manager: the Slurm manager's
// only way of talking to the cluster (no libslurm, whose API changes with
// every release; the commands' output is stable and documented).
#ifndef PROCSANDBOX_SRC_SLURM_SLURM_CLIENT_H_
#define PROCSANDBOX_SRC_SLURM_SLURM_CLIENT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/environment.h"
#include "procsandbox/manager.h"

namespace procsandbox::slurm_internal {

// The tools, by absolute path.
struct SlurmTools {
  std::string srun;
  std::string scancel;
  std::string scontrol;
  std::string squeue;
  std::string sacct;  // empty when not installed (accounting is optional)
  std::string sstat;  // likewise
};

// Finds the tools in `bin_dir`, or else in `search_path` (the host's PATH)
// then /usr/bin. FailedPrecondition naming the first required one missing
// and where it was looked for.
absl::StatusOr<SlurmTools> FindSlurmTools(absl::string_view bin_dir,
                                          absl::string_view search_path);

class SlurmClient {
 public:
  // `local` runs the commands; it must outlive the client.
  SlurmClient(Manager& local, SlurmTools tools, absl::string_view slurm_conf);

  const SlurmTools& tools() const { return tools_; }
  // The environment every tool runs with: a fixed PATH, SLURM_CONF when
  // set, nothing of the host's (a SLURM_JOB_ID there would turn srun's job
  // into a step of the host's own allocation).
  const Environment& environment() const { return env_; }

  // Runs `tool` (a path of tools()) with `args`; its stdout. On a non-zero
  // exit: Unavailable (FailedPrecondition for "Access/permission denied",
  // NotFound for "Invalid job id") with the tool, its arguments and its
  // stderr.
  absl::StatusOr<std::string> Run(const std::string& tool,
                                  std::vector<std::string> args) const;

  // `scancel --signal=<signo> JOB.0`: the job's (only) step, so the signal
  // reaches every process of the program and nothing else. signo 0: a plain
  // `scancel JOB` (the whole job, pending or not).
  absl::Status Signal(int64_t job_id, int signo) const;
  // `scontrol suspend JOB` / `scontrol resume JOB`.
  absl::Status Suspend(int64_t job_id) const;
  absl::Status Resume(int64_t job_id) const;

 private:
  Manager& local_;
  SlurmTools tools_;
  Environment env_;
};

}  // namespace procsandbox::slurm_internal

#endif  // PROCSANDBOX_SRC_SLURM_SLURM_CLIENT_H_
