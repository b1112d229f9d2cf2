// procsandbox: run a program under limits and report exactly what happened.
//
//   procsandbox run [OPTIONS] -- PROGRAM [ARGS...]
//   procsandbox doctor [--json]
//   procsandbox version
//
// Exit status: the program's; 128+N when signal N ended it; 124 on timeout;
// 125 when procsandbox itself failed; 126 found but not executable; 127 not
// found. See README.md for the options and the JSON result.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "doctor.h"
#include "report.h"
#include "run.h"
#include "run_options.h"

namespace {

using procsandbox::cli::kExitToolFailed;
using procsandbox::cli::RunOptions;

int Fail(const std::string& message) {
  std::fprintf(stderr, "procsandbox: %s\n", message.c_str());
  return kExitToolFailed;
}

void AddRunOptions(CLI::App& run, RunOptions& o) {
  run.add_option("--timeout", o.timeout, "wall-clock limit (500ms, 2s, 1m30s)");
  run.add_option("--grace", o.grace, "TERM->KILL grace (default 1s)");
  run.add_option("--cpu-time", o.cpu_time, "CPU time of the whole tree");
  run.add_option("--memory", o.memory, "memory (64M, 1.5G)");
  run.add_option("--file-size", o.file_size, "largest file written");
  run.add_option("--open-files", o.open_files, "open descriptors");
  run.add_option("--processes", o.processes, "processes in the tree");
  run.add_option("--cpu-weight", o.cpu_weight, "CPU weight 1..10000");
  run.add_option("--output-limit", o.output_limit,
                 "stdout+stderr bytes passed on; more stops the program");
  run.add_option("--env", o.env, "NAME=VALUE (repeatable)");
  run.add_option("--pass-env", o.pass_env,
                 "NAME or PREFIX* from this environment");
  run.add_flag("--inherit-env", o.inherit_env,
               "start from this whole environment");
  run.add_option("--cwd", o.cwd, "working directory");
  run.add_option("--workdir-root", o.workdir_root,
                 "a fresh working directory per run in DIR, removed after");
  run.add_option("--stdin", o.stdin_path, "FILE or - (default: inherit)");
  run.add_option("--stdout", o.stdout_path, "FILE (default: inherit)");
  run.add_option("--stderr", o.stderr_path, "FILE (default: inherit)");
  run.add_option("--result", o.result,
                 "write the result as JSON to FILE (- = stdout)");
  run.add_flag("--json", o.json, "same as --result -");
  run.add_flag("--strict", o.strict,
               "fail when a limit cannot be enforced here");
  run.add_option("--backend", o.backend,
                 "auto|linux|posix (posix: no cgroups)");
  run.add_option("--uid", o.uid, "run as this user id");
  run.add_option("--gid", o.gid, "run as this group id");
  run.add_flag("--quiet", o.quiet, "no summary line on stderr");
}

}  // namespace

int main(int argc, char** argv) {
  // Everything after the first "--" is the program: CLI11 sees the rest.
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> program;
  bool separator = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      program.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                     args.end());
      args.resize(i);
      separator = true;
      break;
    }
  }
  if (!args.empty() && args[0] == "run" && !separator) {
    return Fail(
        "run: missing \"--\" before the program (run [OPTIONS] -- PROGRAM "
        "[ARGS...])");
  }
  CLI::App app(
      "procsandbox: run a program under limits and report exactly "
      "what happened",
      "procsandbox");
  app.require_subcommand(1);
  RunOptions options;
  CLI::App* run = app.add_subcommand(
      "run", "run PROGRAM under limits: run [OPTIONS] -- PROGRAM [ARGS...]");
  AddRunOptions(*run, options);
  bool doctor_json = false;
  CLI::App* doctor = app.add_subcommand(
      "doctor", "what this machine can enforce, and why not");
  doctor->add_flag("--json", doctor_json, "as JSON");
  app.add_subcommand("version", "print the version");
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return Fail(e.what());
  }
  if (app.got_subcommand("version")) {
    std::printf("procsandbox %s\n", PROCSANDBOX_VERSION_STRING);
    return 0;
  }
  if (app.got_subcommand("doctor")) {
    if (separator) return Fail("doctor takes no program");
    return procsandbox::cli::Doctor(doctor_json);
  }
  options.argv = std::move(program);
  absl::StatusOr<procsandbox::cli::RunPlan> plan =
      procsandbox::cli::MakeRunPlan(options);
  if (!plan.ok()) return Fail(std::string(plan.status().message()));
  return procsandbox::cli::RunProgram(*std::move(plan));
}
