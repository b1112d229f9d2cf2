// procsandbox: run a program under limits and report exactly what happened.
//
//   procsandbox run [OPTIONS] -- PROGRAM [ARGS...]
//   procsandbox doctor [--json] [--backend NAME [--slurm-conf FILE ...]]
//   procsandbox plot TIMELINE [-o OUT.svg]
//   procsandbox version
//
// Exit status: the program's; 128+N when signal N ended it; 124 on timeout;
// 125 when procsandbox itself failed; 126 found but not executable; 127 not
// found. See README.md for the options and the JSON result.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "command_line.h"
#include "doctor.h"
#include "plot.h"
#include "posix/errno_status.h"
#include "procsandbox/version.h"
#include "report.h"
#include "run.h"
#include "run_options.h"

namespace {

using procsandbox::cli::CommandLine;
using procsandbox::cli::kExitToolFailed;

int Fail(const std::string& message) {
  std::fprintf(stderr, "procsandbox: %s\n", message.c_str());
  return kExitToolFailed;
}

}  // namespace

int main(int argc, char** argv) {
  // A descriptor 0, 1 or 2 the caller closed (`>&-`) would be taken by the
  // next open: the manager's epoll, a cgroup file, and the result or the
  // forwarded output would go there. Each is the null device instead.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      const int null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
      if (null >= 0 && null != fd) {
        (void)dup2(null, fd);
        close(null);
      }
    }
  }
  absl::StatusOr<CommandLine> line = procsandbox::cli::ParseCommandLine(
      std::vector<std::string>(argv + 1, argv + argc));
  if (!line.ok()) return Fail(std::string(line.status().message()));
  switch (line->action) {
    case CommandLine::Action::kHelp:
      std::fputs(line->help.c_str(), stdout);
      return 0;
    case CommandLine::Action::kVersion:
      std::printf("procsandbox %s\n", procsandbox::Version());
      if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        return Fail(std::string(
            procsandbox::posix_internal::ErrnoStatus(errno, "write stdout")
                .message()));
      }
      return 0;
    case CommandLine::Action::kDoctor:
      return procsandbox::cli::Doctor(line->doctor_json, line->doctor_backend,
                                      line->doctor_slurm);
    case CommandLine::Action::kPlot:
      if (absl::Status plotted = procsandbox::cli::PlotCommand(
              line->plot_input, line->plot_output);
          !plotted.ok()) {
        return Fail(absl::StrCat("plot: ", plotted.message()));
      }
      return 0;
    case CommandLine::Action::kRun:
      break;
  }
  absl::StatusOr<procsandbox::cli::RunPlan> plan =
      procsandbox::cli::MakeRunPlan(line->run);
  if (!plan.ok()) return Fail(std::string(plan.status().message()));
  return procsandbox::cli::RunProgram(*std::move(plan));
}
