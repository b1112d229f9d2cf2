#include "posix/spawn_errors.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "posix/errno_status.h"

namespace procsandbox::posix_internal {

absl::Status ExecError(int err, absl::string_view shown) {
  absl::Status s = ErrnoStatus(err, absl::StrCat("exec ", shown));
  if (err == ENOEXEC || err == E2BIG) {
    return absl::InvalidArgumentError(s.message());
  }
  return s;
}

absl::Status WorkingDirError(int err, absl::string_view dir) {
  const absl::Status s = ErrnoStatus(
      err, absl::StrCat("change to working directory \"", dir, "\""));
  return absl::FailedPreconditionError(s.message());
}

const char* RlimitName(int resource) {
  switch (resource) {
    case RLIMIT_CPU:
      return "RLIMIT_CPU";
    case RLIMIT_AS:
      return "RLIMIT_AS";
    case RLIMIT_FSIZE:
      return "RLIMIT_FSIZE";
    case RLIMIT_NOFILE:
      return "RLIMIT_NOFILE";
    case RLIMIT_NPROC:
      return "RLIMIT_NPROC";
    case RLIMIT_CORE:
      return "RLIMIT_CORE";
    default:
      return "rlimit";
  }
}

absl::Status RlimitError(int err, int resource, uint64_t soft) {
  return ErrnoStatus(err,
                     absl::StrCat("set ", RlimitName(resource), " to ", soft));
}

absl::Status SpawnStepError(SpawnStep step, int err, int64_t value) {
  switch (step) {
    case SpawnStep::kSetsid:
      return ErrnoStatus(err, "start a new session");
    case SpawnStep::kSetpgid:
      return ErrnoStatus(err, "start a new process group");
    case SpawnStep::kSetgroups:
      return ErrnoStatus(err, "set supplementary groups");
    case SpawnStep::kSetgid:
      return ErrnoStatus(err, absl::StrCat("set gid ", value));
    case SpawnStep::kSetuid:
      return ErrnoStatus(err, absl::StrCat("set uid ", value));
    case SpawnStep::kStdio:
      return ErrnoStatus(err, absl::StrCat("set up descriptor ", value));
    case SpawnStep::kCloseFds:
      return ErrnoStatus(err, "close inherited descriptors");
  }
  return absl::InternalError(
      absl::StrCat("spawn: unknown step ", static_cast<int>(step)));
}

}  // namespace procsandbox::posix_internal
