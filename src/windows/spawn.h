// Starting a Windows child: CreateProcessW suspended, its own new process
// group, exactly its three standard handles inherited, assigned to its job,
// then resumed.
//
// PlanSpawn does every check that needs no side effect first (the program
// looked up in PATH with PATHEXT, the command line, the environment block,
// the working directory), so that a bad command leaves nothing behind.
#ifndef PROCSANDBOX_SRC_WINDOWS_SPAWN_H_
#define PROCSANDBOX_SRC_WINDOWS_SPAWN_H_

#include <windows.h>

#include <array>
#include <string>

#include "absl/status/statusor.h"
#include "procsandbox/command.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {

struct SpawnPlan {
  std::string found;               // the program's path (UTF-8), for errors
  std::wstring application;        // CreateProcessW's lpApplicationName
  std::wstring command_line;       // argv quoted as the C runtime parses it
  std::wstring environment;        // the sorted block, double-NUL ended
  std::wstring working_directory;  // empty: the host's
};

// NotFound naming the PATH searched (as the POSIX backends), InvalidArgument
// for an argument, an environment entry or a path that Windows cannot take,
// FailedPrecondition naming a working directory that is not one, or for
// Isolation::uid/gid (POSIX ids: the account is not switched here).
absl::StatusOr<SpawnPlan> PlanSpawn(const Command& command);

struct Spawned {
  UniqueHandle process;
  DWORD pid = 0;
};

// Starts `plan` with `stdio` (handles of this process, made inheritable for
// the call only and listed in PROC_THREAD_ATTRIBUTE_HANDLE_LIST, so that a
// concurrent spawn never inherits them), suspended, assigns it to `job`,
// and resumes it. On failure no process is left. Errors as the POSIX
// backends word them: NotFound, PermissionDenied (`exec "x": permission
// denied`), FailedPrecondition for the working directory.
absl::StatusOr<Spawned> SpawnInJob(const Command& command,
                                   const SpawnPlan& plan,
                                   const std::array<HANDLE, 3>& stdio,
                                   HANDLE job);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_SPAWN_H_
