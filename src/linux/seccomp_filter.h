// Isolation::seccomp as a BPF program for this architecture, compiled in
// the parent with libseccomp (seccomp_filter.cc), and the names of calls.
// Built without libseccomp (PROCSANDBOX_SECCOMP=OFF, or AUTO without it)
// seccomp_filter_none.cc reports the mechanism unavailable instead.
#ifndef PROCSANDBOX_SRC_LINUX_SECCOMP_FILTER_H_
#define PROCSANDBOX_SRC_LINUX_SECCOMP_FILTER_H_

#include <linux/filter.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "procsandbox/isolation.h"

namespace procsandbox::linux_internal {

// OK with how filters are compiled ("libseccomp 2.5.4"), or
// FailedPrecondition saying why there are none here ("built without
// libseccomp").
absl::StatusOr<std::string> SeccompLibrary();

struct SeccompCompileOptions {
  // Kill rules (and a kill default) answer with SECCOMP_RET_USER_NOTIF, for
  // a listener that kills the run and names the call; false: with
  // SECCOMP_RET_KILL_PROCESS.
  bool notify_kills = false;
  // >= 0: sendmsg on this descriptor is allowed (the child sends the
  // listener through it after the filter is installed).
  int allow_sendmsg_fd = -1;
};

// The filter for the native architecture. execve and exit_group are always
// allowed (the filter is installed just before execve, and a failed exec
// must be able to exit); a rule for either is ignored. Calls this
// architecture does not have (libseccomp knows them from others: socketcall
// on x86_64) are skipped: no program here can make them. InvalidArgument
// naming every call libseccomp does not know; Internal for libseccomp's
// own failures.
absl::StatusOr<std::vector<sock_filter>> CompileSeccompFilter(
    const SeccompFilter& filter, const SeccompCompileOptions& options);

// "ptrace" for its number on this architecture; empty when unknown (or
// built without libseccomp).
std::string SyscallName(int number);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_SECCOMP_FILTER_H_
