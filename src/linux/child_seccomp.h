// The seccomp step of Spawn: the filter, installed by the child just before
// execve (ChildMain's [seccomp] step), and the listener through which the
// parent learns which call a kill rule stopped.
//
// Kill rules answer with SECCOMP_RET_USER_NOTIF where the kernel has it
// (Linux 5.0): the child installs the filter with
// SECCOMP_FILTER_FLAG_NEW_LISTENER and sends the listener to the parent over
// a socket pair the parent made; the reactor reads each notification (which
// process, which call), kills the tree and reports
// ExitReason::kSeccompViolation with the call. Descendants inherit the
// filter, so theirs are reported too. Where there can be no listener (an
// older kernel, or the host itself under a filter with one: EBUSY) kill
// rules are SECCOMP_RET_KILL_PROCESS, and a SIGSYS death is reported as the
// violation without the call.
#ifndef PROCSANDBOX_SRC_LINUX_CHILD_SECCOMP_H_
#define PROCSANDBOX_SRC_LINUX_CHILD_SECCOMP_H_

#include <linux/filter.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "linux/spawn_child.h"
#include "posix/unique_fd.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/isolation.h"

namespace procsandbox::linux_internal {

struct SeccompPlan {
  // Kill rules as USER_NOTIF, installed with a new listener; empty when the
  // filter has no kill rule or there can be no listener.
  std::vector<sock_filter> listened;
  // Kill rules as KILL_PROCESS: the fallback, or the only program.
  std::vector<sock_filter> plain;
  // What the child reads (pointing into the vectors above).
  sock_fprog listened_prog = {};
  sock_fprog plain_prog = {};
  // The socket pair for the listener (both -1 without `listened`): the
  // child sends on child_socket (which survives the close step; it is
  // close-on-exec), the parent receives on parent_socket.
  posix_internal::UniqueFd child_socket;
  posix_internal::UniqueFd parent_socket;
  int child_socket_fd = -1;
};

// Whether this host can have filters, and how (capabilities().isolation).
IsolationEnforcement ProbeSeccomp();

// Whether kill rules can be reported with the call: the kernel answers
// SECCOMP_RET_USER_NOTIF (asked once).
bool SeccompListenerAvailable();

// The plan for `isolation.seccomp` (set): compiled programs and the socket
// pair.
// InvalidArgument for an unknown call; FailedPrecondition built without
// libseccomp.
absl::StatusOr<std::shared_ptr<const SeccompPlan>> PlanSeccomp(
    const Isolation& isolation);

// Child code: installs the filter. False with errno set and `*part` saying
// what failed (0 installing it, 1 sending the listener).
PROCSANDBOX_CHILD_CODE bool InstallSeccomp(const SeccompPlan& plan, int* part);

// The Status of a failed seccomp step.
absl::Status SeccompStepError(int err, int part);

// After the spawn: the listener the child sent, or an invalid descriptor
// when it installed the plain program (no listener here).
posix_internal::UniqueFd ReceiveSeccompListener(const SeccompPlan& plan);

// One notification of the listener: the call a kill rule stopped and the
// process (its pid in the host's namespace) that made it.
struct SeccompViolation {
  int pid = 0;
  int syscall = -1;
};
// Reads one pending notification; false when there is none (any more).
// The process stays blocked in the call until it is killed (or the
// listener closes: the call then fails with ENOSYS).
bool ReadSeccompViolation(int listener, SeccompViolation& violation);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CHILD_SECCOMP_H_
