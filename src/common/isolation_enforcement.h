// Which isolation mechanisms a command asks for, and the enforcement report
// a manager gives for them at Start(): shared by the fake and the OS
// managers so that strict mode refuses the same things in the same words.
#ifndef PROCSANDBOX_SRC_COMMON_ISOLATION_ENFORCEMENT_H_
#define PROCSANDBOX_SRC_COMMON_ISOLATION_ENFORCEMENT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/isolation.h"

namespace procsandbox::internal {

// The mechanisms `isolation` asks for, in kAllIsolationKinds order:
// no_new_privs, credentials (uid, gid), capabilities (drop_capabilities),
// each namespace (a mount list asks for the mount namespace, a hostname for
// the uts one), seccomp.
std::vector<IsolationKind> RequestedIsolation(const Isolation& isolation);

// Whether `isolation` has a seccomp filter that kills for some call (a kill
// rule or a kill default).
bool SeccompKills(const Isolation& isolation);

// One entry per requested mechanism, copied from what the manager can have
// (`available`, its capabilities().isolation; a kind it does not list is
// "not available on this manager"). In strict mode the first requested
// mechanism that is not available fails with FailedPrecondition:
// `start "job": isolation seccomp cannot be had here: <detail>`.
// no_new_privs is exempt: it is on by default and best effort where the
// system has no such thing.
absl::Status PlanIsolationEnforcement(
    const Command& command, const std::vector<IsolationEnforcement>& available,
    bool strict, std::vector<IsolationEnforcement>& report);

// Every IsolationKind, `enforced` or not with `detail`: a platform starts
// from this and sets the kinds it differs on with SetIsolation.
std::vector<IsolationEnforcement> UniformIsolation(bool enforced,
                                                   absl::string_view detail);
void SetIsolation(std::vector<IsolationEnforcement>& isolation,
                  IsolationKind kind, bool enforced, std::string detail);

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_ISOLATION_ENFORCEMENT_H_
