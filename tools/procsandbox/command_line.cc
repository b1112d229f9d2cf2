#include "command_line.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace procsandbox::cli {
namespace {

// The options that each add a mount, in RunOptions::mounts.
constexpr const char* kMountOptions[] = {"--ro-bind", "--bind", "--tmpfs",
                                         "--proc", "--dev"};

struct MountValues {
  std::vector<std::string> values[std::size(kMountOptions)];
};

// Adds the isolation options of `run` to `values`.
void AddIsolationOptions(CLI::App& run, RunOptions& o, MountValues& mounts,
                         std::vector<CLI::Option*>& values) {
  auto add = [&run, &values](const char* name, auto& value, const char* help) {
    values.push_back(run.add_option(name, value, help));
  };
  run.add_flag("--isolate", o.isolate,
               "untrusted code: no capabilities, own mount pid net ipc uts "
               "cgroup namespaces, read-only root, the working directory "
               "writable, private /tmp, fresh /proc, minimal /dev, hostname "
               "sandbox, seccomp deny list");
  add("--tmp-size", o.tmp_size, "size of the /tmp of --isolate (default 64M)");
  run.add_flag("--net", o.net, "keep the host's network under --isolate");
  add("--unshare", o.unshare,
      "own namespaces: user,mount,pid,net,ipc,uts,cgroup or all (repeatable)");
  const char* mount_help[] = {
      "bind SRC read-only at DST (default SRC); repeatable, in order",
      "bind SRC writable at DST (default SRC); repeatable",
      "a tmpfs at DST of SIZE (default 64M); repeatable",
      "a fresh /proc at DIR",
      "a minimal /dev at DIR",
  };
  const char* mount_value[] = {"SRC[:DST]", "SRC[:DST]", "DST[:SIZE]", "DIR",
                               "DIR"};
  for (std::size_t i = 0; i < std::size(kMountOptions); ++i) {
    values.push_back(
        run.add_option(kMountOptions[i], mounts.values[i], mount_help[i])
            ->type_name(mount_value[i]));
  }
  add("--seccomp", o.seccomp,
      "default (a deny list: EPERM), none, or a filter FILE");
  add("--keep-cap", o.keep_caps,
      "keep this capability (repeatable); all keeps every one (default: "
      "all dropped)");
  add("--hostname", o.hostname, "the program's hostname (own uts namespace)");
}

// The mount options in the order given (CLI11 keeps the values of each
// option, not their order among options): `args` are the arguments as
// typed, before "--".
std::vector<std::pair<std::string, std::string>> MountsInOrder(
    const std::vector<std::string>& args, MountValues& mounts) {
  std::vector<std::pair<std::string, std::string>> ordered;
  std::size_t next[std::size(kMountOptions)] = {};
  for (const std::string& arg : args) {
    for (std::size_t i = 0; i < std::size(kMountOptions); ++i) {
      const std::string name = kMountOptions[i];
      if ((arg == name || arg.rfind(name + "=", 0) == 0) &&
          next[i] < mounts.values[i].size()) {
        ordered.emplace_back(name, mounts.values[i][next[i]++]);
      }
    }
  }
  return ordered;
}

// Adds --backend slurm's own options to `app` (run, doctor).
void AddSlurmOptions(CLI::App& app, SlurmFlags& flags,
                     std::vector<CLI::Option*>& values, bool with_cpus) {
  values.push_back(app.add_option("--partition", flags.partition,
                                  "slurm: the partition (default: the "
                                  "cluster's default)"));
  values.push_back(app.add_option("--account", flags.account,
                                  "slurm: the account to charge"));
  values.push_back(
      app.add_option("--qos", flags.qos, "slurm: the quality of service"));
  if (with_cpus) {
    values.push_back(app.add_option("--cpus-per-task", flags.cpus_per_task,
                                    "slurm: CPUs given to the job (default "
                                    "1)"));
  }
  values.push_back(app.add_option(
      "--slurm-conf", flags.slurm_conf,
      "slurm: the cluster's slurm.conf (default: this host's SLURM_CONF)"));
}

// Adds the options of `run`; returns those that take a value.
std::vector<CLI::Option*> AddRunOptions(CLI::App& run, RunOptions& o,
                                        MountValues& mounts) {
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
  add("--monitor", o.monitor,
      "sample CPU, memory and processes every INTERVAL (default 2s with "
      "--timeline); the samples go into the result");
  add("--timeline", o.timeline,
      "write the run as JSON lines to FILE while it runs (procsandbox plot "
      "draws it)");
  add("--audit", o.audit, "append the run's audit record (JSON line) to FILE");
  add("--principal", o.principal,
      "who asked, for --audit (default: this user's name)");
  run.add_flag("--strict", o.strict,
               "fail when a limit or an isolation asked for cannot be had "
               "here");
  add("--backend", o.backend,
      "auto|linux|linux-nocgroup|posix|slurm (posix: the portable backend; "
      "slurm: a job of a Slurm cluster, run by srun)");
  AddSlurmOptions(run, o.slurm, values, /*with_cpus=*/true);
  add("--uid", o.uid, "run as this user id");
  add("--gid", o.gid, "run as this group id");
  AddIsolationOptions(run, o, mounts, values);
  run.add_flag("--verify{report}", o.verify,
               "read the limits back after the start; --verify=refuse "
               "also kills the program when one is weaker than asked");
  run.add_flag("--quiet", o.quiet, "no summary line, no status line on stderr");
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

absl::StatusOr<CommandLine> ParseCommandLine(std::vector<std::string> args) {
  // Everything after the first "--" is the program: CLI11 sees the rest.
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
    return absl::InvalidArgumentError(
        "run: missing \"--\" before the program (run [OPTIONS] -- PROGRAM "
        "[ARGS...])");
  }
  CLI::App app(
      "procsandbox: run a program under limits and report exactly "
      "what happened",
      "procsandbox");
  app.require_subcommand(1);
  CommandLine line;
  CLI::App* run = app.add_subcommand(
      "run", "run PROGRAM under limits: run [OPTIONS] -- PROGRAM [ARGS...]");
  MountValues mounts;
  const std::vector<CLI::Option*> run_values =
      AddRunOptions(*run, line.run, mounts);
  const std::vector<std::string> typed = args;
  run->footer(
      "Signals HUP INT QUIT TERM USR1 USR2 PIPE ALRM VTALRM PROF go on to the\n"
      "program; a second INT or TERM kills its whole tree.");
  CLI::App* doctor = app.add_subcommand(
      "doctor", "what this machine can enforce, and why not");
  doctor->add_flag("--json", line.doctor_json, "as JSON");
  std::vector<CLI::Option*> doctor_values = {doctor->add_option(
      "--backend", line.doctor_backend,
      "auto|linux|linux-nocgroup|posix|slurm: the backend to report "
      "(slurm: the cluster SLURM_CONF or --slurm-conf names)")};
  AddSlurmOptions(*doctor, line.doctor_slurm, doctor_values,
                  /*with_cpus=*/false);
  CLI::App* plot = app.add_subcommand(
      "plot", "an SVG chart of a timeline (run --timeline FILE)");
  plot->add_option("TIMELINE", line.plot_input, "the timeline file")
      ->required();
  plot->add_option("-o,--output", line.plot_output,
                   "write the SVG to FILE (default: stdout)");
  app.add_subcommand("version", "print the version");
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    line.action = CommandLine::Action::kHelp;
    line.help = app.help();
    return line;
  } catch (const CLI::CallForAllHelp&) {
    line.action = CommandLine::Action::kHelp;
    line.help = app.help("", CLI::AppFormatMode::All);
    return line;
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }
  if (app.got_subcommand("version")) {
    line.action = CommandLine::Action::kVersion;
    return line;
  }
  if (app.got_subcommand("doctor")) {
    if (separator) return absl::InvalidArgumentError("doctor takes no program");
    if (std::string empty = EmptyValue(doctor_values); !empty.empty()) {
      return absl::InvalidArgumentError(empty);
    }
    line.action = CommandLine::Action::kDoctor;
    return line;
  }
  if (app.got_subcommand("plot")) {
    if (separator) return absl::InvalidArgumentError("plot takes no program");
    if (line.plot_input.empty()) {
      return absl::InvalidArgumentError(
          "plot: TIMELINE \"\": empty (give a file)");
    }
    line.action = CommandLine::Action::kPlot;
    return line;
  }
  if (std::string empty = EmptyValue(run_values); !empty.empty()) {
    return absl::InvalidArgumentError(empty);
  }
  line.action = CommandLine::Action::kRun;
  line.run.mounts = MountsInOrder(typed, mounts);
  line.run.argv = std::move(program);
  return line;
}

}  // namespace procsandbox::cli
