#include "slurm/slurm_client.h"

#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "procsandbox/command.h"
#include "procsandbox/run.h"
#include "procsandbox/stdio.h"

namespace procsandbox::slurm_internal {
namespace {

// No client command takes this long on a cluster that answers.
constexpr absl::Duration kToolTimeout = absl::Seconds(60);

bool IsExecutableFile(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

// `tool` in `bin_dir`, else in the PATH entries, else /usr/bin; empty when
// nowhere.
std::string FindTool(absl::string_view tool, absl::string_view bin_dir,
                     absl::string_view search_path) {
  if (!bin_dir.empty()) {
    std::string path = absl::StrCat(bin_dir, "/", tool);
    return IsExecutableFile(path) ? path : std::string();
  }
  std::vector<absl::string_view> dirs =
      absl::StrSplit(search_path, ':', absl::SkipEmpty());
  dirs.emplace_back("/usr/bin");
  for (absl::string_view dir : dirs) {
    if (!absl::StartsWith(dir, "/")) continue;  // never relative to our cwd
    std::string path = absl::StrCat(dir, "/", tool);
    if (IsExecutableFile(path)) return path;
  }
  return std::string();
}

// "srun: error: Invalid job id specified\n" -> "Invalid job id specified".
std::string Message(absl::string_view stderr_text) {
  std::vector<std::string> lines;
  for (absl::string_view line :
       absl::StrSplit(stderr_text, '\n', absl::SkipWhitespace())) {
    for (absl::string_view prefix :
         {"srun: ", "scancel: ", "scontrol: ", "squeue: ", "sacct: "}) {
      absl::ConsumePrefix(&line, prefix);
    }
    absl::ConsumePrefix(&line, "error: ");
    lines.emplace_back(absl::StripAsciiWhitespace(line));
  }
  return absl::StrJoin(lines, "; ");
}

}  // namespace

absl::StatusOr<SlurmTools> FindSlurmTools(absl::string_view bin_dir,
                                          absl::string_view search_path) {
  SlurmTools tools;
  const std::pair<absl::string_view, std::string*> required[] = {
      {"srun", &tools.srun},
      {"scancel", &tools.scancel},
      {"scontrol", &tools.scontrol},
      {"squeue", &tools.squeue}};
  for (const auto& [name, path] : required) {
    *path = FindTool(name, bin_dir, search_path);
    if (path->empty()) {
      return absl::FailedPreconditionError(
          bin_dir.empty()
              ? absl::StrCat("create the Slurm manager: no ", name,
                             " in PATH \"", search_path,
                             "\" or /usr/bin (install Slurm's client "
                             "commands, or set SlurmOptions::slurm_bin_dir)")
              : absl::StrCat("create the Slurm manager: no ", name, " in \"",
                             bin_dir, "\" (SlurmOptions::slurm_bin_dir)"));
    }
  }
  tools.sacct = FindTool("sacct", bin_dir, search_path);
  tools.sstat = FindTool("sstat", bin_dir, search_path);
  return tools;
}

SlurmClient::SlurmClient(Manager& local, SlurmTools tools,
                         absl::string_view slurm_conf)
    : local_(local), tools_(std::move(tools)) {
  env_ = Environment{{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  if (!slurm_conf.empty()) env_.Set("SLURM_CONF", slurm_conf).IgnoreError();
}

absl::StatusOr<std::string> SlurmClient::Run(
    const std::string& tool, std::vector<std::string> args) const {
  Command command(tool, std::move(args));
  command.env = env_;
  command.stdin_ = Stdio::Null();
  command.stdout_ = Stdio::Capture();
  command.stderr_ = Stdio::Capture();
  command.limits.wall_time = kToolTimeout;
  absl::StatusOr<RunResult> result = RunCommand(local_, command);
  if (!result.ok()) return result.status();
  if (result->ok()) return std::move(result->stdout_);
  const std::string message = Message(result->stderr_);
  const std::string text =
      absl::StrCat(FormatArgv(command), ": ", ToString(result->outcome),
                   message.empty() ? "" : ": ", message);
  if (absl::StrContains(message, "Invalid job id")) {
    return absl::NotFoundError(text);
  }
  if (absl::StrContains(message, "ermission denied")) {
    return absl::FailedPreconditionError(text);
  }
  return absl::UnavailableError(text);
}

absl::Status SlurmClient::Signal(int64_t job_id, int signo) const {
  if (signo == 0) {
    return Run(tools_.scancel, {absl::StrCat(job_id)}).status();
  }
  return Run(tools_.scancel,
             {absl::StrCat("--signal=", signo), absl::StrCat(job_id, ".0")})
      .status();
}

absl::Status SlurmClient::Suspend(int64_t job_id) const {
  return Run(tools_.scontrol, {"suspend", absl::StrCat(job_id)}).status();
}

absl::Status SlurmClient::Resume(int64_t job_id) const {
  return Run(tools_.scontrol, {"resume", absl::StrCat(job_id)}).status();
}

}  // namespace procsandbox::slurm_internal
