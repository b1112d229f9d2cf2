// child_process.h: the plain-POSIX process helpers SlurmCluster runs its
// daemons and the Slurm client commands with (tests only; no procsandbox).
//
//   std::vector<std::string> env = ClientEnvironment("/tmp/x/slurm.conf");
//   absl::StatusOr<CommandResult> r =
//       RunCommand({"/usr/bin/squeue", "-h"}, env, absl::Seconds(30));
#ifndef PROCSANDBOX_TESTS_SLURM_CHILD_PROCESS_H_
#define PROCSANDBOX_TESTS_SLURM_CHILD_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace procsandbox::slurm_testing {

// `<action>: <strerror> (<ERRNO name>)` as an absl::Status of the code errno
// maps to.
absl::Status ErrnoStatus(int error, absl::string_view action);

// The absolute path of `name`, searched in PATH, then /usr/sbin and /sbin
// (the daemons live there and a user's PATH often lacks them); nullopt when
// absent.
std::optional<std::string> FindProgram(absl::string_view name);

// This process's environment without the variables that would steer a Slurm
// client or daemon elsewhere (SLURM_*, SQUEUE_*, SRUN_*, ...: this process
// may itself run inside a Slurm job), plus SLURM_CONF=`conf_path`.
std::vector<std::string> ClientEnvironment(const std::string& conf_path);

// Starts argv[0] (an absolute path) with `env`, stdin from /dev/null and
// stdout + stderr appended to `log_path`, all signals default and unblocked.
// The caller reaps it (StopChild).
absl::StatusOr<pid_t> SpawnDaemon(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& env,
                                  const std::string& log_path);

// Whether our child `pid` has exited (and reaps it when it has); a pid of 0
// or -1 counts as exited.
bool ChildExited(pid_t pid);

// SIGTERM to our child `pid`, waits up to `grace` for it, then SIGKILL; reaps
// it. Returns true when it left on SIGTERM.
bool StopChild(pid_t pid, absl::Duration grace);

struct CommandResult {
  int exit_code = -1;  // -1 when killed by a signal (then `signal`)
  int signal = 0;
  std::string out;
  std::string err;
};

// Runs argv (argv[0] an absolute path) with `env`, stdin from /dev/null,
// collecting stdout and stderr. DeadlineExceeded (the child is killed) when it
// runs past `timeout`.
absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& env,
                                         absl::Duration timeout);

// The last `lines` lines of the file at `path` ("" when unreadable).
std::string TailOfFile(const std::string& path, int lines);

// Whether `pid` exists and is not a zombie.
bool ProcessRunning(pid_t pid);

// SIGKILLs every process but this one whose environment holds exactly
// `entry` (e.g. "SLURM_CONF=/tmp/ps-slurm-x/slurm.conf") and waits (up to
// 10 s) until they are gone or zombies; the pids killed.
std::vector<pid_t> KillProcessesWithEnvironment(const std::string& entry);

// Every cgroup directory (in each mounted v1 hierarchy and the v2 one) named
// `names` directly under a hierarchy's root or its system.slice: thaws it,
// SIGKILLs its processes and removes it and its subgroups, depth-first.
// Returns the first failure; directories of other names are never touched.
absl::Status RemoveCgroups(const std::vector<std::string>& names);

}  // namespace procsandbox::slurm_testing

#endif  // PROCSANDBOX_TESTS_SLURM_CHILD_PROCESS_H_
