// The procsandbox command's arguments: any argument vector (the input split
// at NUL bytes) is parsed into an action or an InvalidArgument, never an
// escaped exception or a crash; the program is exactly what follows the
// first "--"; a run's options then go through MakeRunPlan() (which only
// looks at files: stat, realpath, reads a --seccomp file of at most 1 MiB;
// never creates one).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "command_line.h"
#include "fuzz_support.h"
#include "run_options.h"

namespace {

namespace cli = procsandbox::cli;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> args = absl::StrSplit(text, '\0');
  absl::StatusOr<cli::CommandLine> line = cli::ParseCommandLine(args);
  if (!line.ok()) {
    FUZZ_CHECK(line.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(!line.status().message().empty());
    return 0;
  }
  if (line->action == cli::CommandLine::Action::kHelp) {
    FUZZ_CHECK(!line->help.empty());
    return 0;
  }
  if (line->action != cli::CommandLine::Action::kRun) return 0;
  // `run`: the program is what follows the first "--", untouched.
  const auto dashes = std::find(args.begin(), args.end(), "--");
  FUZZ_CHECK(dashes != args.end());
  FUZZ_CHECK(line->run.argv ==
             std::vector<std::string>(dashes + 1, args.end()));
  absl::StatusOr<cli::RunPlan> plan = cli::MakeRunPlan(line->run);
  if (!plan.ok()) {
    FUZZ_CHECK(plan.status().code() == absl::StatusCode::kInvalidArgument ||
               plan.status().code() == absl::StatusCode::kNotFound ||
               plan.status().code() == absl::StatusCode::kFailedPrecondition);
    return 0;
  }
  const std::string& backend = plan->backend.name;
  FUZZ_CHECK(backend == "linux" || backend == "posix" || backend == "slurm");
  // The Slurm flags are --backend slurm's alone.
  if (backend != "slurm") {
    const cli::SlurmFlags& slurm = line->run.slurm;
    FUZZ_CHECK(slurm.partition.empty() && slurm.account.empty() &&
               slurm.qos.empty() && slurm.cpus_per_task.empty() &&
               slurm.slurm_conf.empty());
  } else {
    FUZZ_CHECK(plan->backend.slurm.cpus_per_task >= 1);
  }
  FUZZ_CHECK(plan->command.program == line->run.argv.at(0));
  FUZZ_CHECK(procsandbox::ValidateLimits(plan->command.limits).ok());
  // The durations the command accepts are finite and not negative.
  for (const std::string& value :
       {line->run.timeout, line->run.grace, line->run.cpu_time}) {
    if (value.empty()) continue;
    absl::StatusOr<absl::Duration> d =
        cli::ParseDurationOption("--timeout", value);
    if (d.ok()) {
      FUZZ_CHECK(*d >= absl::ZeroDuration() && *d < absl::InfiniteDuration());
    }
  }
  return 0;
}
