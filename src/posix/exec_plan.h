// ExecPlan: what every POSIX spawn path runs, prepared by the parent as plain
// data (the child must not allocate or search). Linux's SpawnPlan adds its
// own steps to it (no_new_privs, cgroups); the POSIX backend spawns it as is.
#ifndef PROCSANDBOX_SRC_POSIX_EXEC_PLAN_H_
#define PROCSANDBOX_SRC_POSIX_EXEC_PLAN_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "procsandbox/command.h"

namespace procsandbox::posix_internal {

// In ExecPlan::stdio: leave the host's descriptor in place.
inline constexpr int kKeepFd = -1;

struct RlimitSetting {
  int resource;   // RLIMIT_CPU, RLIMIT_AS, ...
  uint64_t soft;  // RLIM_INFINITY for none
  uint64_t hard;
};

struct ExecPlan {
  // What execve gets: a path (absolute, or relative to working_dir).
  std::string path;
  // How an exec error names the program (internal::ShownProgram: never a
  // path found on a secret PATH); empty: `path`, quoted.
  std::string shown_program;
  std::vector<std::string> argv;
  std::vector<std::string> envp;  // "NAME=VALUE"
  // The child's working directory; empty: the host's.
  std::string working_dir;
  // The descriptor to install as 0, 1, 2 (the parent keeps its own), or
  // kKeepFd. Every other descriptor is closed in the child.
  std::array<int, 3> stdio = {kKeepFd, kKeepFd, kKeepFd};
  bool new_session = false;
  bool new_process_group = true;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::vector<uint32_t> groups;  // set whenever uid or gid is
  std::vector<RlimitSetting> rlimits;
};

// What both backends take from a Command: the program found in the parent
// (ResolveProgram: its errors are Start()'s), argv, envp, the working
// directory, session or group, and credentials. Rlimits, stdio and the
// backend's own steps are the caller's.
absl::Status PlanFromCommand(const Command& command, ExecPlan& plan);

// How exec errors name the program: plan.shown_program, or `"<path>"`.
std::string ShownProgram(const ExecPlan& plan);

// argv/envp as execve takes them: pointers into `strings` (which must
// outlive them), null-terminated.
std::vector<char*> PointersTo(const std::vector<std::string>& strings);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_EXEC_PLAN_H_
