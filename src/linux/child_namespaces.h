// Namespaces other than mount (user, pid, net, ipc, uts, cgroup): what the
// host can have (ProbeNamespace), the parent's plan for one process
// (PlanNamespaces) and the child's steps (SetUpNamespaces).
//
// The pid, net, ipc and uts namespaces, and the user namespace, come from
// the clone flags (SpawnPlan::clone_namespace_flags); the cgroup namespace
// is unshared by the child once it is in its group, so that the group it
// sees as "/" is its own. A host without CAP_SYS_ADMIN gets them through a
// user namespace, added by PlanNamespaces.
//
// The user namespace maps exactly one uid and one gid: the host's euid and
// egid, to Isolation::uid and Isolation::gid (0 when unset). A process in a
// fresh user namespace may write such a map itself (user_namespaces(7));
// any other map needs CAP_SETUID outside, in a process other than the child,
// and the thread that starts it is suspended (CLONE_VFORK) until exec. So:
//   - on a host that is not root, the program is root inside (or the uid it
//     asked for) and the host's user outside: every other id shows as the
//     overflow id 65534 and cannot be switched to;
//   - on a root host an explicit Namespaces::user maps root to root (0 -> 0
//     only): capabilities then count only inside the namespace (no
//     CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_MODULE... over the host), and
//     root's powers over files reach only files of uid 0. Another uid inside
//     would be host root under another name: refused;
//   - setgroups is denied in it (the kernel's condition for such a map), so
//     Isolation::groups is refused, and the host's supplementary groups stay
//     (shown as 65534 inside).
#ifndef PROCSANDBOX_SRC_LINUX_CHILD_NAMESPACES_H_
#define PROCSANDBOX_SRC_LINUX_CHILD_NAMESPACES_H_

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "linux/spawn.h"
#include "linux/spawn_child.h"
#include "os/platform.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/isolation.h"

namespace procsandbox::linux_internal {

// The parts of the child's [namespaces] step, in order (failed_index).
enum class NamespaceStep : int {
  kSetgroupsDeny = 0,  // "deny" to /proc/self/setgroups
  kUidMap,             // /proc/self/uid_map
  kGidMap,             // /proc/self/gid_map
  kCgroupNamespace,    // unshare(CLONE_NEWCGROUP)
  kHostname,           // sethostname
  kLoopbackSocket,     // socket() for the ioctls
  kLoopbackUp,         // SIOCGIFFLAGS / SIOCSIFFLAGS on "lo"
};

// What the child does, as plain data (see spawn_child.cc's rules).
struct NamespacePlan {
  // In a new user namespace: write "deny", uid_map and gid_map (each one
  // line "<inside> <outside> 1\n").
  bool user = false;
  char uid_map[48] = {};
  std::size_t uid_map_size = 0;
  char gid_map[48] = {};
  std::size_t gid_map_size = 0;
  bool cgroup = false;     // unshare(CLONE_NEWCGROUP)
  char hostname[65] = {};  // HOST_NAME_MAX + 1; empty: keep it
  std::size_t hostname_size = 0;
  bool loopback_up = false;  // in a new net namespace: bring "lo" up
};

// --- The parent's side ---------------------------------------------------

// Whether this host can have a namespace of `kind` (any namespace kind,
// mount too), how, or why not: /proc/self/ns/<x> missing, a
// /proc/sys/user/max_<x>_namespaces of 0, and for a host without
// CAP_SYS_ADMIN whether a user namespace can be made (sysctls, AppArmor,
// SELinux, and a real clone(CLONE_NEWUSER) once per call).
// `user_namespace` is ProbeUserNamespace()'s answer (pass it to probe many
// kinds with one clone).
struct UserNamespaceProbe {
  bool available = false;
  std::string detail;  // how, or why not
};
UserNamespaceProbe ProbeUserNamespace();
IsolationEnforcement ProbeNamespace(IsolationKind kind,
                                    const UserNamespaceProbe& user_namespace);

// The name of `kind`'s file in /proc/PID/ns ("mnt" for the mount
// namespace); null for a kind that is not a namespace.
const char* NamespaceFileName(IsolationKind kind);

// The entries for user, pid, net, ipc, uts and cgroup (mount is the mounts
// step's): what ProbeIsolation reports and `procsandbox doctor` prints.
std::vector<IsolationEnforcement> ProbeNamespaces();

// True when this process holds CAP_SYS_ADMIN in its effective set: it can
// make namespaces without a user namespace.
bool HostCanMakeNamespaces();

// Sets plan.clone_namespace_flags (CLONE_NEWUSER, NEWPID, NEWNET, NEWIPC,
// NEWUTS) and plan.namespaces for the kinds the process asked for and can
// have (its enforcement entries). Adds a user namespace when a namespace or
// a mount list is wanted and the host cannot make them itself, with an
// enforcement entry "added: the host is not root ...". FailedPrecondition
// for credentials a user namespace cannot give (groups; another uid or gid
// than 0 when the host is root).
absl::Status PlanNamespaces(const os_internal::SpawnRequest& request,
                            SpawnPlan& plan);

// The Status of a clone that failed with `err` while asking for
// `clone_flags`' namespaces, naming them and the likely cause (EPERM: no
// CAP_SYS_ADMIN or user namespaces refused, and by what; ENOSPC, EUSERS: a
// max_*_namespaces limit or the nesting depth; EINVAL: a kernel without
// one of them).
absl::Status NamespaceCloneError(int clone_flags, int err);

// The Status of the child's failed [namespaces] step `index` (NamespaceStep).
absl::Status NamespaceStepError(const SpawnPlan& plan, int err, int index);

// --- The child's side ----------------------------------------------------

// Runs the plan's steps in NamespaceStep order. On failure returns false
// with errno set and *failed the NamespaceStep.
bool SetUpNamespaces(const NamespacePlan& plan, int* failed);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CHILD_NAMESPACES_H_
