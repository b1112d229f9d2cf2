// `procsandbox run`: its options as given, and the checked plan built from
// them before anything starts.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_OPTIONS_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox::cli {

// --backend slurm's own options, as text (run and doctor).
struct SlurmFlags {
  std::string partition, account, qos;  // srun --partition, --account, --qos
  std::string cpus_per_task;            // srun --cpus-per-task
  std::string slurm_conf;               // SLURM_CONF for Slurm's commands
};

// The manager a --backend names, with its options checked.
struct BackendPlan {
  std::string name;     // "linux" (with or without cgroups), "posix", "slurm"
  OsManagerOptions os;  // linux and posix
  SlurmOptions slurm;   // slurm
};

// What the command line said, as text: every value is checked by
// MakeRunPlan(), so that each error names the option and the value.
struct RunOptions {
  std::string timeout, grace, cpu_time, memory, file_size, output_limit;
  std::string open_files, processes, cpu_weight;
  std::vector<std::string> env, pass_env;
  bool inherit_env = false;
  std::string cwd, workdir_root;
  std::string stdin_path, stdout_path, stderr_path;
  std::string result;  // a file, "-" for stdout, empty for none
  bool json = false;
  std::string monitor;    // --monitor INTERVAL
  std::string timeline;   // --timeline FILE
  std::string audit;      // --audit FILE: append the run's audit record
  std::string principal;  // --principal: who asked (default: the user)
  std::string verify;     // --verify[=report|refuse]: "" when not given
  bool strict = false;
  std::string backend = "auto";
  SlurmFlags slurm;  // only with --backend slurm
  std::string uid, gid;
  // Isolation (isolation_options.cc): --isolate and the fine-grained flags.
  bool isolate = false;
  std::string tmp_size;  // --tmp-size: the /tmp of --isolate
  bool net = false;      // --net: the host's network under --isolate
  std::vector<std::string> unshare;
  // --ro-bind, --bind, --tmpfs, --proc, --dev: {option, value} in the order
  // given (a later target may lie inside an earlier one).
  std::vector<std::pair<std::string, std::string>> mounts;
  std::string seccomp;  // default, none or a file
  std::vector<std::string> keep_caps;
  std::string hostname;
  bool quiet = false;
  std::vector<std::string> argv;  // after "--": the program and its arguments
};

// Everything checked and ready to start.
struct RunPlan {
  Command command;
  BackendPlan backend;
  std::string result;    // as in RunOptions
  std::string timeline;  // --timeline: a file, empty for none
  // --monitor or --timeline: the command samples (command.monitor) and the
  // result carries the timeline. A terminal's status line alone samples
  // too (RunProgram), without a timeline in the result.
  bool monitored = false;
  std::string audit;      // as in RunOptions
  std::string principal;  // empty: the real uid's user name
  // --verify: the limits read back right after the start (kRefuse: a
  // mismatch stops the program, exit kExitVerifyRefused).
  VerifyPolicy verify = VerifyPolicy::kOff;
  std::string workdir_root;
  bool quiet = false;
  // --output-limit: output is read by the library (and forwarded line by
  // line) instead of going straight to the destination.
  bool forward_output = false;
  std::string stdout_path, stderr_path;  // when forwarding
  // --workdir-root with --isolate: the run's directory, made at run time, is
  // bound writable at this index of command.isolation.mounts (after the
  // read-only root and /tmp, before the user's own mounts).
  std::optional<std::size_t> workdir_mount_at;
  // No --keep-cap: capabilities are dropped where the manager can drop
  // them (a host that cannot is not refused for a default the user did not
  // ask for; doctor says why).
  bool default_capability_drop = false;
};

// InvalidArgument naming the option and the value for anything wrong:
// malformed durations or sizes, a bad environment name, a missing working
// directory, a result file in a directory that does not exist, ...
absl::StatusOr<RunPlan> MakeRunPlan(const RunOptions& options);

// --backend auto|linux|linux-nocgroup|posix|slurm and, for slurm alone, its
// flags (another backend given one: InvalidArgument naming the flag).
// `strict`: --strict. InvalidArgument naming the option for a bad value or
// a --slurm-conf that is no file (Slurm's commands would wait a minute for
// it to appear).
absl::StatusOr<BackendPlan> MakeBackendPlan(const std::string& backend,
                                            const SlurmFlags& flags,
                                            bool strict);

// The manager of `plan` (NewOsManager, NewPosixManager or NewSlurmManager):
// their errors, e.g. FailedPrecondition when no Slurm controller answers.
absl::StatusOr<std::unique_ptr<Manager>> NewManagerOf(const BackendPlan& plan);

// InvalidArgument `<option> "<value>": <why>`, the form of every error of
// the options.
absl::Status OptionError(const std::string& option, const std::string& value,
                         absl::string_view why);

// A byte size ("64M", "1.5G"), at least 1 and below 2^62.
absl::StatusOr<int64_t> ParseSizeOption(const std::string& option,
                                        const std::string& text);

// "500ms", "2s", "1m30s" (Go-style, as absl::ParseDuration); not negative.
absl::StatusOr<absl::Duration> ParseDurationOption(const std::string& option,
                                                   const std::string& text);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_OPTIONS_H_
