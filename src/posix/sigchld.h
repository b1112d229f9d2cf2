// Whether the host lets a manager reap its own children.
#ifndef PROCSANDBOX_SRC_POSIX_SIGCHLD_H_
#define PROCSANDBOX_SRC_POSIX_SIGCHLD_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace procsandbox::posix_internal {

// FailedPrecondition ("start \"<label>\": the host ignores SIGCHLD ...")
// when SIGCHLD is ignored (SIG_IGN or SA_NOCLDWAIT): the kernel then reaps
// children at once and their exit status is lost.
absl::Status CheckSigchldNotIgnored(absl::string_view label);

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_SIGCHLD_H_
