#include "posix/sigchld.h"

#include <signal.h>

#include "absl/status/status.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"

namespace procsandbox::posix_internal {

absl::Status CheckSigchldNotIgnored(absl::string_view label) {
  // With SIGCHLD ignored (SIG_IGN or SA_NOCLDWAIT) the kernel reaps children
  // at once and waitid on the pidfd fails: the exit status would be lost.
  struct sigaction sigchld = {};
  if (sigaction(SIGCHLD, nullptr, &sigchld) == 0 &&
      (sigchld.sa_handler == SIG_IGN ||
       (sigchld.sa_flags & SA_NOCLDWAIT) != 0)) {
    return absl::FailedPreconditionError(fmt::format(
        "start \"{}\": the host ignores SIGCHLD (SIG_IGN or SA_NOCLDWAIT), so "
        "the kernel would reap the child and lose its exit status",
        label));
  }
  return absl::OkStatus();
}

}  // namespace procsandbox::posix_internal
