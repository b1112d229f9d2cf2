// The procsandbox command's argument parsing, apart from main() so that a
// test or a fuzzer can call it with any argument vector.
//
//   absl::StatusOr<CommandLine> line = ParseCommandLine({"run", "--", "ls"});
//   // line->action == CommandLine::Action::kRun, line->run.argv == {"ls"}
//
// Nothing here starts a process or writes a file; the values of `run` are
// checked later by MakeRunPlan().
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_COMMAND_LINE_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_COMMAND_LINE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "run_options.h"

namespace procsandbox::cli {

struct CommandLine {
  enum class Action { kRun, kDoctor, kPlot, kVersion, kHelp };
  Action action = Action::kHelp;
  RunOptions run;            // kRun: the options, and the program in argv
  bool doctor_json = false;  // kDoctor
  std::string doctor_backend = "auto";  // kDoctor: --backend
  SlurmFlags doctor_slurm;              // kDoctor: with --backend slurm
  std::string plot_input;               // kPlot: the timeline file
  std::string plot_output;              // kPlot: the SVG file, empty for stdout
  std::string help;                     // kHelp: the text to print on stdout
};

// Parses the arguments after the command's name ("run", "--memory", "64M",
// "--", "prog"). Everything after the first "--" is the program, never an
// option. InvalidArgument with the message to show for a malformed line:
// `run` without "--", an unknown option, a missing or empty value, a program
// given to `doctor`.
absl::StatusOr<CommandLine> ParseCommandLine(std::vector<std::string> args);

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_COMMAND_LINE_H_
