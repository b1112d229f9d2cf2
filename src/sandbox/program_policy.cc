// ProgramPolicy: defaults and the checks on a resolved program.
#include "sandbox/program_policy.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "sandbox/security_violation.h"

namespace procsandbox {

std::vector<std::string> ProgramPolicy::DefaultPrivilegeTools() {
  return {"sudo",    "sudoedit", "su",      "doas",    "pkexec", "chroot",
          "setpriv", "runuser",  "nsenter", "unshare", "capsh",  "setcap",
          "newgrp",  "sg",       "ksu",     "calife",  "super",  "firejail"};
}

std::vector<std::string> ProgramPolicy::Shells() {
  return {"sh",      "bash",   "dash", "zsh",  "ksh",        "mksh",  "pdksh",
          "ksh93",   "csh",    "tcsh", "fish", "ash",        "rbash", "yash",
          "busybox", "elvish", "nu",   "pwsh", "powershell", "xonsh"};
}

std::vector<std::string> ProgramPolicy::ExecWrappers() {
  // Programs whose job is to start the program their arguments name.
  return {"env",       "nice",        "nohup",        "timeout",
          "stdbuf",    "xargs",       "time",         "ionice",
          "chrt",      "taskset",     "setsid",       "flock",
          "script",    "watch",       "parallel",     "prlimit",
          "numactl",   "setarch",     "linux32",      "linux64",
          "cgexec",    "systemd-run", "run-parts",    "start-stop-daemon",
          "daemonize", "unbuffer",    "rlwrap",       "expect",
          "strace",    "ltrace",      "valgrind",     "gdb",
          "faketime",  "fakeroot",    "proot",        "bwrap",
          "torsocks",  "proxychains", "proxychains4", "tini",
          "dumb-init", "entr",        "chpst",        "softlimit",
          "envdir",    "setlock",     "catchsegv",    "toybox"};
}

namespace sandbox_internal {
namespace {

// Exec wrappers that start nothing when given no argument at all: they
// print (the environment, the niceness, the I/O class, the limits).
constexpr absl::string_view kPrintWithoutArguments[] = {"env", "nice", "ionice",
                                                        "prlimit"};

using Kind = SecurityViolation::Kind;

bool Listed(const std::vector<std::string>& names, absl::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

absl::string_view BaseName(absl::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == absl::string_view::npos ? path : path.substr(slash + 1);
}

absl::StatusOr<ProgramFile> CheckProgram(const ProgramPolicy& policy,
                                         absl::string_view program,
                                         const std::vector<std::string>& args,
                                         absl::string_view search_path) {
  const std::string quoted = absl::CEscape(program);
  if (program.find('/') != absl::string_view::npos &&
      !absl::StartsWith(program, "/")) {
    return Violation(Kind::kProgramNotAllowed, std::string(program),
                     fmt::format("run \"{}\": a program is a name on the PATH "
                                 "or an absolute path, not a relative path",
                                 quoted));
  }
  std::shared_ptr<const ProgramResolver> resolver =
      policy.resolver != nullptr ? policy.resolver : HostProgramResolver();
  absl::StatusOr<ProgramFile> file = resolver->Resolve(program, search_path);
  if (!file.ok()) return file.status();
  const absl::string_view asked = BaseName(program);
  const absl::string_view real = BaseName(file->path);

  for (absl::string_view name : {asked, real}) {
    if (Listed(ProgramPolicy::Shells(), name) &&
        !Listed(policy.allowed_shells, name)) {
      return Violation(
          Kind::kShellRefused, file->path,
          fmt::format("run \"{}\" ({}): shells are refused unless the policy "
                      "allows \"{}\" by name",
                      quoted, file->path, name));
    }
  }
  for (absl::string_view name : {asked, real}) {
    if (!Listed(ProgramPolicy::ExecWrappers(), name) ||
        Listed(policy.allowed_exec_wrappers, name)) {
      continue;
    }
    if (args.empty() && std::find(std::begin(kPrintWithoutArguments),
                                  std::end(kPrintWithoutArguments),
                                  name) != std::end(kPrintWithoutArguments)) {
      continue;
    }
    return Violation(
        Kind::kShellRefused, file->path,
        fmt::format("run \"{}\" ({}): \"{}\" is an exec wrapper (it starts "
                    "the program its arguments name, a shell or a privilege "
                    "tool as well); refused unless the policy allows \"{}\" "
                    "by name",
                    quoted, file->path, name, name));
  }
  for (absl::string_view name : {asked, real}) {
    if (Listed(policy.deny, name)) {
      return Violation(
          Kind::kPrivilegeTool, file->path,
          fmt::format("run \"{}\" ({}): \"{}\" is a privilege tool, refused",
                      quoted, file->path, name));
    }
  }
  if (!policy.allow.empty()) {
    bool allowed = false;
    for (const std::string& entry : policy.allow) {
      absl::StatusOr<ProgramFile> allowed_file =
          resolver->Resolve(entry, search_path);
      if (entry == file->path ||
          (allowed_file.ok() && allowed_file->path == file->path)) {
        allowed = true;
        break;
      }
    }
    if (!allowed) {
      return Violation(Kind::kProgramNotAllowed, file->path,
                       fmt::format("run \"{}\": {} is not on the program "
                                   "allowlist",
                                   quoted, file->path));
    }
  }
  if (!file->regular_file || !file->executable) {
    return Violation(Kind::kUnsafeProgramFile, file->path,
                     fmt::format("run \"{}\": {} is not a regular executable "
                                 "file",
                                 quoted, file->path));
  }
  if (!file->unsafe_location.empty()) {
    return Violation(Kind::kUnsafeProgramFile, file->path,
                     fmt::format("run \"{}\": {} could be replaced by "
                                 "another user before it runs: {}",
                                 quoted, file->path, file->unsafe_location));
  }
  if ((file->mode & 0002) != 0) {
    return Violation(Kind::kUnsafeProgramFile, file->path,
                     fmt::format("run \"{}\": {} is writable by others "
                                 "(mode {:04o})",
                                 quoted, file->path, file->mode & 07777));
  }
  if ((file->mode & 06000) != 0 && !policy.allow_setuid) {
    return Violation(
        Kind::kSetuidProgram, file->path,
        fmt::format("run \"{}\": {} is set{}id (mode {:04o}); the policy does "
                    "not allow setuid/setgid programs",
                    quoted, file->path, (file->mode & 04000) != 0 ? "u" : "g",
                    file->mode & 07777));
  }
  return file;
}

}  // namespace sandbox_internal
}  // namespace procsandbox
