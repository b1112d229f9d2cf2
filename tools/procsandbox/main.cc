// procsandbox: run a program under limits and report exactly what happened.
//
//   procsandbox run [OPTIONS] -- PROGRAM [ARGS...]
//   procsandbox doctor [--json]
//   procsandbox version
//
// Exit status: the program's; 128+N when signal N ended it; 124 on timeout;
// 125 when procsandbox itself failed; 126 found but not executable; 127 not
// found. See README.md for the options and the JSON result.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
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

// Adds the options of `run`; returns those that take a value.
std::vector<CLI::Option*> AddRunOptions(CLI::App& run, RunOptions& o) {
  std::vector<CLI::Option*> values;
  auto add = [&run, &values](const char* name, auto& value, const char* help) {
    values.push_back(run.add_option(name, value, help));
  };
  add("--timeout", o.timeout, "wall-clock limit (500ms, 2s, 1m30s)");
  add("--grace", o.grace, "TERM->KILL grace (default 1s)");
  add("--cpu-time", o.cpu_time, "CPU time of the whole tree");
  add("--memory", o.memory, "memory (64M, 1.5G)");
  add("--file-size", o.file_size, "largest file written");
  add("--open-files", o.open_files, "open descriptors");
  add("--processes", o.processes,
      "processes and threads in the tree (each thread counts)");
  add("--cpu-weight", o.cpu_weight, "CPU weight 1..10000");
  add("--output-limit", o.output_limit,
      "stdout+stderr bytes passed on; more stops the program");
  add("--env", o.env, "NAME=VALUE (repeatable)");
  add("--pass-env", o.pass_env, "NAME or PREFIX* from this environment");
  run.add_flag("--inherit-env", o.inherit_env,
               "start from this whole environment");
  add("--cwd", o.cwd, "working directory");
  add("--workdir-root", o.workdir_root,
      "a fresh working directory per run in DIR, removed after");
  add("--stdin", o.stdin_path, "FILE or - (default: inherit)");
  add("--stdout", o.stdout_path, "FILE (default: inherit)");
  add("--stderr", o.stderr_path, "FILE (default: inherit)");
  add("--result", o.result, "write the result as JSON to FILE (- = stdout)");
  run.add_flag("--json", o.json, "same as --result -");
  run.add_flag("--strict", o.strict,
               "fail when a limit cannot be enforced here");
  add("--backend", o.backend, "auto|linux|posix (posix: no cgroups)");
  add("--uid", o.uid, "run as this user id");
  add("--gid", o.gid, "run as this group id");
  run.add_flag("--quiet", o.quiet, "no summary line on stderr");
  return values;
}

// An empty value is a mistake (an unset shell variable), not "not given":
// `--timeout ""` would otherwise run without a timeout.
std::string EmptyValue(const std::vector<CLI::Option*>& options) {
  for (const CLI::Option* option : options) {
    for (const std::string& value : option->results()) {
      if (value.empty()) {
        return option->get_name() +
               " \"\": empty (give a value or leave the option out)";
      }
    }
  }
  return "";
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
  const bool help = std::find_if(args.begin(), args.end(), [](const auto& a) {
                      return a == "--help" || a == "-h";
                    }) != args.end();
  if (!args.empty() && args[0] == "run" && !separator && !help) {
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
  const std::vector<CLI::Option*> run_values = AddRunOptions(*run, options);
  run->footer(
      "Signals HUP INT QUIT TERM USR1 USR2 PIPE ALRM VTALRM PROF go on to the\n"
      "program; a second INT or TERM kills its whole tree.");
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
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      return Fail(std::string("write stdout: ") + std::strerror(errno));
    }
    return 0;
  }
  if (app.got_subcommand("doctor")) {
    if (separator) return Fail("doctor takes no program");
    return procsandbox::cli::Doctor(doctor_json);
  }
  if (std::string empty = EmptyValue(run_values); !empty.empty()) {
    return Fail(empty);
  }
  options.argv = std::move(program);
  absl::StatusOr<procsandbox::cli::RunPlan> plan =
      procsandbox::cli::MakeRunPlan(options);
  if (!plan.ok()) return Fail(std::string(plan.status().message()));
  return procsandbox::cli::RunProgram(*std::move(plan));
}
