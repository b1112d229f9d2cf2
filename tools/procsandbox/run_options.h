// `procsandbox run`: its options as given, and the checked plan built from
// them before anything starts.
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_OPTIONS_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_OPTIONS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox::cli {

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
  bool strict = false;
  std::string backend = "auto";
  std::string uid, gid;
  bool quiet = false;
  std::vector<std::string> argv;  // after "--": the program and its arguments
};

// Everything checked and ready to start.
struct RunPlan {
  Command command;
  OsManagerOptions manager;
  std::string backend;  // "linux" (with or without cgroups) or "posix"
  std::string result;   // as in RunOptions
  std::string workdir_root;
  bool quiet = false;
  // --output-limit: output is read by the library (and forwarded line by
  // line) instead of going straight to the destination.
  bool forward_output = false;
  std::string stdout_path, stderr_path;  // when forwarding
};

// InvalidArgument naming the option and the value for anything wrong:
// malformed durations or sizes, a bad environment name, a missing working
// directory, a result file in a directory that does not exist, ...
absl::StatusOr<RunPlan> MakeRunPlan(const RunOptions& options);

// "500ms", "2s", "1m30s" (Go-style, as absl::ParseDuration); not negative.
absl::StatusOr<absl::Duration> ParseDurationOption(const std::string& option,
                                                   const std::string& text);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_RUN_OPTIONS_H_
