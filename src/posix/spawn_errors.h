// The Statuses of a failed spawn step, in the same words on every POSIX
// backend (Linux's clone child, Darwin's posix_spawn and fork paths), so a
// host's handling of them is tested once.
#ifndef PROCSANDBOX_SRC_POSIX_SPAWN_ERRORS_H_
#define PROCSANDBOX_SRC_POSIX_SPAWN_ERRORS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace procsandbox::posix_internal {

// execve failed: ErrnoStatus's code (NotFound for ENOENT, PermissionDenied
// for EACCES...), InvalidArgument for ENOEXEC and E2BIG (about the file, not
// the caller's state): `exec "/x": exec format error (ENOEXEC)`. `shown` is
// the program as start errors name it (internal::ShownProgram), quoted.
absl::Status ExecError(int err, absl::string_view shown);

// chdir to the working directory failed: FailedPrecondition,
// `change to working directory "/no/such": no such file or directory (ENOENT)`.
absl::Status WorkingDirError(int err, absl::string_view dir);

// "RLIMIT_CPU" for RLIMIT_CPU, ...; "rlimit" for another resource.
const char* RlimitName(int resource);

// setrlimit failed: `set RLIMIT_AS to 1024: ...`.
absl::Status RlimitError(int err, int resource, uint64_t soft);

// The steps between fork/clone and exec that every POSIX spawn path has.
enum class SpawnStep {
  kSetsid,     // "start a new session"
  kSetpgid,    // "start a new process group"
  kSetgroups,  // "set supplementary groups"
  kSetgid,     // "set gid <value>"
  kSetuid,     // "set uid <value>"
  kStdio,      // "set up descriptor <value>"
  kCloseFds,   // "close inherited descriptors"
};

// ErrnoStatus naming the step, with `value` where the text has one.
absl::Status SpawnStepError(SpawnStep step, int err, int64_t value = 0);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_SPAWN_ERRORS_H_
