// Linux capabilities (Isolation::drop_capabilities, keep_capabilities): the
// parent's plan and the child's two steps.
//
// The child drops the bounding set while it still holds CAP_SETPCAP (before
// setuid), then, after setuid, sets effective = permitted = inheritable =
// the kept capabilities and raises each kept one in the ambient set, so that
// they survive execve also for a program that does not run as root. With
// nothing kept every set is empty, and the program cannot get a capability
// back: not by execve of a setuid-root or file-capability program (the
// bounding set caps what execve can give), not as uid 0.
//
// Inside a user namespace the same calls act on the namespace's sets: the
// child has every capability there, over the namespace's resources only.
#ifndef PROCSANDBOX_SRC_LINUX_CHILD_CAPABILITIES_H_
#define PROCSANDBOX_SRC_LINUX_CHILD_CAPABILITIES_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "linux/spawn_child.h"
#include "procsandbox/isolation.h"

namespace procsandbox::linux_internal {

struct CapabilityPlan {
  // Bit n set: capability n stays in every set.
  uint64_t keep = 0;
  // The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap):
  // the bounding set is dropped from 0 to here.
  int last_cap = 0;
  // The child switches from uid 0 to another uid and keeps capabilities:
  // PR_SET_KEEPCAPS before setuid, or the kernel clears the permitted set.
  bool keep_across_uid_switch = false;
  // The host lacks CAP_SETPCAP (and holds no capability): the bounding set
  // is dropped where the child can (in a user namespace) and left where it
  // gets EPERM.
  bool bounding_best_effort = false;
};

// failed_index of a capability step: a capability's number, or one of these
// for the calls that are not about one capability.
inline constexpr int kCapabilityIndexKeepCaps = -1;      // PR_SET_KEEPCAPS
inline constexpr int kCapabilityIndexCapset = -2;        // capset
inline constexpr int kCapabilityIndexAmbientClear = -3;  // ambient clear

// Can this host start children without capabilities: with CAP_SETPCAP (it
// drops the bounding set), or when it holds none itself (then the bounding
// set stays, out of use under no_new_privs). `detail` says how, or why not.
bool CapabilitiesAvailable(std::string& detail);

// The highest capability number of the running kernel: cap_last_cap, or
// where /proc is not readable the last one PR_CAPBSET_READ accepts. Read
// once per process.
int KernelLastCapability();

// The child's plan for `isolation` (drop_capabilities set, validated).
// FailedPrecondition naming a kept capability this kernel does not have,
// that the host's bounding set lacks or that this process does not hold;
// and without CAP_SETPCAP when no_new_privs is off.
absl::StatusOr<std::shared_ptr<const CapabilityPlan>> PlanCapabilities(
    const Isolation& isolation);

// The Status of a failed kCapabilityBounding or kCapabilities step, naming
// the capability or the call: `drop CAP_SYS_ADMIN from the bounding set:
// operation not permitted (EPERM)`.
absl::Status CapabilityStepError(ChildStep step, int err, int index);

// The child's steps (raw syscalls only; see spawn_child.cc's rules). Each
// returns true, or false with errno set and `failed_index` naming the
// capability or call.
//
// Before setuid: drops every capability but the kept ones from the bounding
// set, and sets PR_SET_KEEPCAPS when plan.keep_across_uid_switch.
PROCSANDBOX_CHILD_CODE bool DropCapabilityBoundingSet(
    const CapabilityPlan& plan, int& failed_index);
// After setuid: effective = permitted = inheritable = plan.keep, the ambient
// set cleared and each kept capability raised in it.
PROCSANDBOX_CHILD_CODE bool SetCapabilitySets(const CapabilityPlan& plan,
                                              int& failed_index);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_CHILD_CAPABILITIES_H_
