#include "run_options.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "isolation_options.h"

extern "C" char** environ;

namespace procsandbox::cli {
namespace {

absl::Status Bad(const std::string& option, const std::string& value,
                 absl::string_view why) {
  return OptionError(option, value, why);
}

absl::StatusOr<int64_t> ParseCount(const std::string& option,
                                   const std::string& text, int64_t min,
                                   int64_t max) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(text, &n) || absl::StrContains(text, ' ') ||
      absl::StartsWith(text, "+")) {
    return Bad(option, text, "not a whole number");
  }
  if (n < min || n > max) {
    return Bad(option, text, absl::StrCat("must be in ", min, "..", max));
  }
  return n;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The directory a file would be created in exists.
absl::Status CheckParentDirectory(const std::string& option,
                                  const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  if (!IsDirectory(dir)) {
    return Bad(option, path,
               absl::StrCat("directory \"", dir, "\" does not exist"));
  }
  return absl::OkStatus();
}

// What tells two names of one file apart from two files: the device and
// inode of a file that exists, else the path with its directory resolved
// (that directory exists: CheckParentDirectory).
std::string FileIdentity(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    return absl::StrCat("inode ", st.st_dev, ":", st.st_ino);
  }
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const std::string base =
      slash == std::string::npos ? path : path.substr(slash + 1);
  char* resolved = realpath(dir.c_str(), nullptr);
  if (resolved == nullptr) return absl::StrCat("path ", path);
  std::string identity = absl::StrCat("path ", resolved, "/", base);
  free(resolved);
  return identity;
}

bool IsFile(const std::string& stream_path) {
  return !stream_path.empty() && stream_path != "-";
}

// --stdout and --stderr naming one file share one open file description,
// as `>F 2>&1` (two would overwrite each other from offset 0). The result
// is written over a stream's file: refused.
absl::Status CheckSharedFiles(const RunOptions& o, RunPlan& plan) {
  if (IsFile(o.stdout_path) && IsFile(o.stderr_path) &&
      FileIdentity(o.stdout_path) == FileIdentity(o.stderr_path)) {
    plan.command.stderr_ = Stdio::ToStdout();
    plan.stderr_path.clear();
  }
  if (!o.timeline.empty()) {
    const std::string timeline = FileIdentity(o.timeline);
    for (const auto& [option, path] : {std::pair{"--stdin", &o.stdin_path},
                                       std::pair{"--stdout", &o.stdout_path},
                                       std::pair{"--stderr", &o.stderr_path},
                                       std::pair{"--result", &o.result}}) {
      if (IsFile(*path) && FileIdentity(*path) == timeline) {
        return Bad(
            "--timeline", o.timeline,
            absl::StrCat("the same file as ", option, " \"", *path, "\""));
      }
    }
  }
  if (!IsFile(o.result)) return absl::OkStatus();
  const std::string result = FileIdentity(o.result);
  for (const auto& [option, path] : {std::pair{"--stdin", &o.stdin_path},
                                     std::pair{"--stdout", &o.stdout_path},
                                     std::pair{"--stderr", &o.stderr_path}}) {
    if (IsFile(*path) && FileIdentity(*path) == result) {
      return Bad("--result", o.result,
                 absl::StrCat("the same file as ", option, " \"", *path, "\""));
    }
  }
  return absl::OkStatus();
}

// Shell names, [A-Za-z_][A-Za-z0-9_]*: what a person types and every shell
// can read (the library itself accepts any name without '=' or NUL).
bool IsShellName(absl::string_view name) {
  if (name.empty() ||
      absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) {
    return false;
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return false;
    }
  }
  return true;
}

absl::Status AddEnvironment(const RunOptions& o, Environment& env) {
  if (o.inherit_env) env = Environment::FromHost();
  for (const std::string& pattern : o.pass_env) {
    if (pattern.empty()) return Bad("--pass-env", pattern, "empty name");
    const bool prefix = absl::EndsWith(pattern, "*");
    const std::string stem =
        prefix ? pattern.substr(0, pattern.size() - 1) : pattern;
    if (!IsShellName(stem) && !(prefix && stem.empty())) {
      return Bad("--pass-env", pattern,
                 "want a NAME or a PREFIX* (one '*', at the end)");
    }
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
      const std::string entry = *e;
      const std::size_t eq = entry.find('=');
      if (eq == std::string::npos) continue;
      const std::string name = entry.substr(0, eq);
      if (prefix ? absl::StartsWith(name, stem) : name == stem) {
        if (absl::Status s = env.Set(name, entry.substr(eq + 1)); !s.ok()) {
          return Bad("--pass-env", pattern, s.message());
        }
      }
    }
  }
  for (const std::string& assignment : o.env) {
    const std::size_t eq = assignment.find('=');
    if (eq == std::string::npos) {
      return Bad("--env", assignment, "want NAME=VALUE");
    }
    if (!IsShellName(assignment.substr(0, eq))) {
      return Bad("--env", assignment.substr(0, eq),
                 "not a variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    absl::Status s =
        env.Set(assignment.substr(0, eq), assignment.substr(eq + 1));
    if (!s.ok()) return Bad("--env", assignment.substr(0, eq), s.message());
  }
  return absl::OkStatus();
}

absl::Status SetLimits(const RunOptions& o, Command& cmd) {
  Limits& l = cmd.limits;
  if (!o.timeout.empty()) {
    absl::StatusOr<absl::Duration> d =
        ParseDurationOption("--timeout", o.timeout);
    if (!d.ok()) return d.status();
    if (*d == absl::ZeroDuration())
      return Bad("--timeout", o.timeout, "must be above 0");
    l.wall_time = *d;
  }
  if (!o.cpu_time.empty()) {
    absl::StatusOr<absl::Duration> d =
        ParseDurationOption("--cpu-time", o.cpu_time);
    if (!d.ok()) return d.status();
    if (*d == absl::ZeroDuration())
      return Bad("--cpu-time", o.cpu_time, "must be above 0");
    l.cpu_time = *d;
  }
  if (!o.grace.empty()) {
    absl::StatusOr<absl::Duration> d = ParseDurationOption("--grace", o.grace);
    if (!d.ok()) return d.status();
    cmd.kill_grace = *d;
  }
  struct SizeOption {
    const char* name;
    const std::string& text;
    std::optional<int64_t>& limit;
  };
  for (const SizeOption& s :
       {SizeOption{"--memory", o.memory, l.memory_bytes},
        SizeOption{"--file-size", o.file_size, l.file_size_bytes},
        SizeOption{"--output-limit", o.output_limit, l.output_bytes}}) {
    if (s.text.empty()) continue;
    absl::StatusOr<int64_t> bytes = ParseSizeOption(s.name, s.text);
    if (!bytes.ok()) return bytes.status();
    s.limit = *bytes;
  }
  if (!o.open_files.empty()) {
    absl::StatusOr<int64_t> n =
        ParseCount("--open-files", o.open_files, 1, 1 << 30);
    if (!n.ok()) return n.status();
    l.open_files = *n;
  }
  if (!o.processes.empty()) {
    absl::StatusOr<int64_t> n =
        ParseCount("--processes", o.processes, 1, 1 << 22);
    if (!n.ok()) return n.status();
    l.processes = *n;
  }
  if (!o.cpu_weight.empty()) {
    absl::StatusOr<int64_t> n =
        ParseCount("--cpu-weight", o.cpu_weight, 1, 10000);
    if (!n.ok()) return n.status();
    l.cpu_weight = static_cast<uint32_t>(*n);
  }
  if (absl::Status s = ValidateLimits(l); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  return absl::OkStatus();
}

// --monitor INTERVAL and --timeline FILE: sampling, at INTERVAL or every
// kDefaultSampleInterval.
absl::Status SetMonitoring(const RunOptions& o, RunPlan& plan) {
  Monitoring& monitor = plan.command.monitor;
  if (!o.monitor.empty()) {
    absl::StatusOr<absl::Duration> d =
        ParseDurationOption("--monitor", o.monitor);
    if (!d.ok()) return d.status();
    if (*d < absl::Milliseconds(1)) {
      return Bad("--monitor", o.monitor, "below 1ms");
    }
    monitor.interval = *d;
  }
  if (!o.timeline.empty()) {
    if (IsDirectory(o.timeline)) {
      return Bad("--timeline", o.timeline, "a directory");
    }
    if (absl::Status s = CheckParentDirectory("--timeline", o.timeline);
        !s.ok()) {
      return s;
    }
    plan.timeline = o.timeline;
  }
  plan.monitored = !o.monitor.empty() || !o.timeline.empty();
  monitor.enabled = plan.monitored;
  return absl::OkStatus();
}

absl::Status SetStreams(const RunOptions& o, RunPlan& plan) {
  Command& cmd = plan.command;
  if (!o.stdin_path.empty() && o.stdin_path != "-") {
    struct stat st;
    if (stat(o.stdin_path.c_str(), &st) != 0) {
      return Bad("--stdin", o.stdin_path, "no such file");
    }
    if (S_ISDIR(st.st_mode)) return Bad("--stdin", o.stdin_path, "a directory");
    cmd.stdin_ = Stdio::File(o.stdin_path);
  } else {
    cmd.stdin_ = Stdio::Inherit();
  }
  for (const auto& [option, path] : {std::pair{"--stdout", &o.stdout_path},
                                     std::pair{"--stderr", &o.stderr_path}}) {
    if (path->empty() || *path == "-") continue;
    if (IsDirectory(*path)) return Bad(option, *path, "a directory");
    if (absl::Status s = CheckParentDirectory(option, *path); !s.ok()) return s;
  }
  auto destination = [](const std::string& path) {
    return path.empty() || path == "-" ? Stdio::Inherit()
                                       : Stdio::File(path, FileMode::kTruncate);
  };
  cmd.stdout_ = destination(o.stdout_path);
  cmd.stderr_ = destination(o.stderr_path);
  // An output cap needs the library to read the output: it forwards it, and
  // stops the program once it wrote more (output_exceeded).
  plan.forward_output = cmd.limits.output_bytes.has_value();
  cmd.on_output_limit = OutputLimitAction::kStop;
  plan.stdout_path = o.stdout_path == "-" ? "" : o.stdout_path;
  plan.stderr_path = o.stderr_path == "-" ? "" : o.stderr_path;
  return absl::OkStatus();
}

// A partition, account or QOS name: printable, no blank (srun takes it as
// one argument; Slurm itself says whether it exists).
absl::Status CheckSlurmName(const char* option, const std::string& name) {
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      return Bad(option, absl::CHexEscape(name),
                 "contains a blank or a control character");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<SlurmOptions> MakeSlurmOptions(const SlurmFlags& flags) {
  SlurmOptions slurm;
  for (const auto& [option, text, field] :
       {std::tuple{"--partition", &flags.partition, &slurm.partition},
        std::tuple{"--account", &flags.account, &slurm.account},
        std::tuple{"--qos", &flags.qos, &slurm.qos}}) {
    if (absl::Status s = CheckSlurmName(option, *text); !s.ok()) return s;
    *field = *text;
  }
  if (!flags.cpus_per_task.empty()) {
    absl::StatusOr<int64_t> n =
        ParseCount("--cpus-per-task", flags.cpus_per_task, 1, 1 << 16);
    if (!n.ok()) return n.status();
    slurm.cpus_per_task = static_cast<int>(*n);
  }
  if (!flags.slurm_conf.empty()) {
    // Slurm's commands wait up to a minute for a missing file to appear.
    struct stat st;
    if (stat(flags.slurm_conf.c_str(), &st) != 0) {
      return Bad("--slurm-conf", flags.slurm_conf, "no such file");
    }
    if (!S_ISREG(st.st_mode)) {
      return Bad("--slurm-conf", flags.slurm_conf, "not a regular file");
    }
    slurm.slurm_conf = flags.slurm_conf;
  }
  return slurm;
}

}  // namespace

absl::Status OptionError(const std::string& option, const std::string& value,
                         absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat(option, " \"", value, "\": ", why));
}

absl::StatusOr<int64_t> ParseSizeOption(const std::string& option,
                                        const std::string& text) {
  absl::StatusOr<int64_t> bytes = ParseByteSize(text);
  if (!bytes.ok()) return Bad(option, text, bytes.status().message());
  // The range ValidateLimits() accepts, checked here so that the message
  // names the text given ("0.5" is 0 bytes).
  if (*bytes < 1) {
    return Bad(option, text,
               "is 0 bytes, want at least 1 (a fraction of a byte rounds "
               "down)");
  }
  if (*bytes >= int64_t{1} << 62) return Bad(option, text, "not below 2^62");
  return *bytes;
}

absl::StatusOr<absl::Duration> ParseDurationOption(const std::string& option,
                                                   const std::string& text) {
  absl::Duration d;
  if (text.empty() || !absl::ParseDuration(text, &d) ||
      d == absl::InfiniteDuration()) {
    return Bad(option, text, "not a duration (e.g. 500ms, 2s, 1m30s)");
  }
  if (d < absl::ZeroDuration()) return Bad(option, text, "negative");
  return d;
}

absl::StatusOr<BackendPlan> MakeBackendPlan(const std::string& backend,
                                            const SlurmFlags& flags,
                                            bool strict) {
  BackendPlan plan;
  if (backend == "auto" || backend == "linux") {
    plan.name = "linux";
  } else if (backend == "linux-nocgroup") {
    // The Linux manager on rlimits and process groups alone.
    plan.name = "linux";
    plan.os.cgroups = false;
  } else if (backend == "posix") {
    // The portable POSIX backend (macOS's): posix_spawn, rlimits.
    plan.name = "posix";
  } else if (backend == "slurm") {
    // A job of the Slurm cluster the client commands reach: a local srun.
    plan.name = "slurm";
  } else {
    return Bad("--backend", backend,
               "want auto, linux, linux-nocgroup, posix or slurm");
  }
  if (plan.name != "slurm") {
    for (const auto& [option, text] :
         {std::pair{"--partition", &flags.partition},
          std::pair{"--account", &flags.account},
          std::pair{"--qos", &flags.qos},
          std::pair{"--cpus-per-task", &flags.cpus_per_task},
          std::pair{"--slurm-conf", &flags.slurm_conf}}) {
      if (!text->empty()) {
        return Bad(option, *text,
                   absl::StrCat("only with --backend slurm (the backend is ",
                                backend, ")"));
      }
    }
    plan.os.strict = strict;
    return plan;
  }
  absl::StatusOr<SlurmOptions> slurm = MakeSlurmOptions(flags);
  if (!slurm.ok()) return slurm.status();
  plan.slurm = *std::move(slurm);
  plan.slurm.strict = strict;
  return plan;
}

absl::StatusOr<std::unique_ptr<Manager>> NewManagerOf(const BackendPlan& plan) {
  if (plan.name == "slurm") return NewSlurmManager(plan.slurm);
  if (plan.name == "posix") return NewPosixManager(plan.os);
  return NewOsManager(plan.os);
}

absl::StatusOr<RunPlan> MakeRunPlan(const RunOptions& o) {
  RunPlan plan;
  if (o.argv.empty() || o.argv[0].empty()) {
    return absl::InvalidArgumentError("run: no program given after --");
  }
  Command& cmd = plan.command;
  cmd.program = o.argv[0];
  cmd.args.assign(o.argv.begin() + 1, o.argv.end());
  if (absl::Status s = SetLimits(o, cmd); !s.ok()) return s;
  if (absl::Status s = AddEnvironment(o, cmd.env); !s.ok()) return s;
  if (!o.cwd.empty()) {
    if (!o.workdir_root.empty()) {
      return Bad("--cwd", o.cwd, "--cwd and --workdir-root exclude each other");
    }
    if (!IsDirectory(o.cwd)) return Bad("--cwd", o.cwd, "not a directory");
    cmd.working_dir = o.cwd;
  }
  if (!o.workdir_root.empty()) {
    struct stat st;
    if (lstat(o.workdir_root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Bad("--workdir-root", o.workdir_root,
                 "not a directory (symlinks are refused)");
    }
    plan.workdir_root = o.workdir_root;
  }
  if (absl::Status s = SetStreams(o, plan); !s.ok()) return s;
  if (!o.result.empty() && o.result != "-") {
    if (IsDirectory(o.result)) return Bad("--result", o.result, "a directory");
    if (absl::Status s = CheckParentDirectory("--result", o.result); !s.ok()) {
      return s;
    }
  }
  if (!o.audit.empty()) {
    if (IsDirectory(o.audit)) return Bad("--audit", o.audit, "a directory");
    if (absl::Status s = CheckParentDirectory("--audit", o.audit); !s.ok()) {
      return s;
    }
  }
  plan.audit = o.audit;
  // A quota key's rules (RunRequest::principal): it lands in a log.
  if (o.principal.size() > 256) {
    return Bad("--principal", o.principal.substr(0, 32) + "...",
               absl::StrCat(o.principal.size(), " bytes (at most 256)"));
  }
  for (char c : o.principal) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      return Bad("--principal", absl::CHexEscape(o.principal),
                 "contains a control character");
    }
  }
  plan.principal = o.principal;
  if (absl::Status s = SetMonitoring(o, plan); !s.ok()) return s;
  if (absl::Status s = CheckSharedFiles(o, plan); !s.ok()) return s;
  plan.result = o.json && o.result.empty() ? "-" : o.result;
  if (absl::Status s = SetIsolation(o, plan); !s.ok()) return s;
  for (const auto& [option, text, id] :
       {std::tuple{"--uid", &o.uid, &cmd.isolation.uid},
        std::tuple{"--gid", &o.gid, &cmd.isolation.gid}}) {
    if (text->empty()) continue;
    absl::StatusOr<int64_t> n = ParseCount(option, *text, 0, 4294967294);
    if (!n.ok()) return n.status();
    *id = static_cast<uint32_t>(*n);
  }
  absl::StatusOr<BackendPlan> backend =
      MakeBackendPlan(o.backend, o.slurm, o.strict);
  if (!backend.ok()) return backend.status();
  plan.backend = *std::move(backend);
  // srun ignores SIGPIPE: a reader of its output that goes away (`| head`)
  // would leave the job running, srun reading it for ever. The tool reads
  // a job's output itself and passes SIGPIPE on, as in a pipeline.
  if (plan.backend.name == "slurm") plan.forward_output = true;
  plan.quiet = o.quiet;
  if (o.verify == "report") {
    plan.verify = VerifyPolicy::kReport;
  } else if (o.verify == "refuse") {
    plan.verify = VerifyPolicy::kRefuse;
  } else if (!o.verify.empty()) {
    return Bad("--verify", o.verify, "want report or refuse");
  }
  if (absl::Status s = ValidateCommand(cmd); !s.ok()) {
    return absl::InvalidArgumentError(s.message());
  }
  return plan;
}

}  // namespace procsandbox::cli
