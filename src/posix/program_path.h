// Finding the program to exec, before the spawn (the child must not search).
#ifndef PROCSANDBOX_SRC_POSIX_PROGRAM_PATH_H_
#define PROCSANDBOX_SRC_POSIX_PROGRAM_PATH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/environment.h"

namespace procsandbox::posix_internal {

// execvpe's search, done in the parent: a program containing '/' is used as
// given (a relative one is relative to the child's working directory, as
// execve after chdir sees it). A bare name is looked up in each entry of
// env's PATH (internal::SearchPathOf; an empty entry is "."; relative entries
// are relative to `working_dir`, or to the host's directory when it is
// empty); the first regular file we may execute wins. Errors: NotFound
// naming the program and the PATH, PermissionDenied when only non-executable
// candidates exist (common/exec_errors.h: the in-memory manager's texts,
// a secret PATH never shown).
absl::StatusOr<std::string> ResolveProgram(absl::string_view program,
                                           const Environment& env,
                                           absl::string_view working_dir);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_PROGRAM_PATH_H_
