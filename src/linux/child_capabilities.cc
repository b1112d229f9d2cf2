#include "linux/child_capabilities.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "linux/cgroup_fs.h"
#include "posix/errno_status.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoStatus;

namespace {

constexpr int kCapSetPcap = 8;  // CAP_SETPCAP

// This process's effective, permitted and inheritable sets.
struct OwnSets {
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
};

OwnSets ReadOwnSets() {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  OwnSets sets;
  if (syscall(SYS_capget, &header, data) != 0) return sets;
  for (int i = 0; i < 2; ++i) {
    sets.effective |= uint64_t{data[i].effective} << (32 * i);
    sets.permitted |= uint64_t{data[i].permitted} << (32 * i);
    sets.inheritable |= uint64_t{data[i].inheritable} << (32 * i);
  }
  return sets;
}

bool Has(uint64_t set, int cap) { return ((set >> cap) & 1U) != 0; }

// Without CAP_SETPCAP the bounding set cannot be dropped. A process that
// holds no capability (permitted empty, so ambient too; inheritable empty)
// still starts children without any: only execve of a setuid-root or
// file-capability program could grant some, which no_new_privs forbids.
bool HoldsNoCapability(const OwnSets& sets) {
  return sets.permitted == 0 && sets.inheritable == 0;
}

int ReadLastCapability() {
  absl::StatusOr<std::string> text =
      ReadCgroupFile(AT_FDCWD, "/proc/sys/kernel/cap_last_cap");
  int last = -1;
  if (text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &last) &&
      last >= 0 && last < 64) {
    return last;
  }
  // No /proc: the kernel answers PR_CAPBSET_READ with EINVAL past its last.
  last = 0;
  while (last + 1 < 64 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) {
    ++last;
  }
  return last;
}

}  // namespace

int KernelLastCapability() {
  static const int kLast = ReadLastCapability();
  return kLast;
}

bool CapabilitiesAvailable(std::string& detail) {
  const OwnSets own = ReadOwnSets();
  if (Has(own.effective, kCapSetPcap)) {
    detail = absl::StrCat(
        "PR_CAPBSET_DROP before setuid; capset and the ambient set after it "
        "(capabilities 0 to ",
        KernelLastCapability(), ")");
    return true;
  }
  if (HoldsNoCapability(own)) {
    detail =
        "this process holds no capability, so neither does the child; "
        "without CAP_SETPCAP the bounding set stays (but in a user "
        "namespace) and no_new_privs keeps exec from granting any";
    return true;
  }
  detail =
      "this process holds capabilities but not CAP_SETPCAP, which dropping "
      "the bounding set needs";
  return false;
}

absl::StatusOr<std::shared_ptr<const CapabilityPlan>> PlanCapabilities(
    const Isolation& isolation) {
  auto plan = std::make_shared<CapabilityPlan>();
  plan->last_cap = KernelLastCapability();
  const OwnSets own = ReadOwnSets();
  if (!Has(own.effective, kCapSetPcap)) {
    if (!isolation.no_new_privs) {
      return absl::FailedPreconditionError(
          "drop_capabilities: without CAP_SETPCAP the bounding set stays, "
          "so it needs no_new_privs (a setuid-root program would get "
          "capabilities back)");
    }
    plan->bounding_best_effort = true;
  }
  for (const std::string& name : isolation.keep_capabilities) {
    absl::StatusOr<int> cap = ParseCapability(name);
    if (!cap.ok()) return cap.status();
    const std::string shown = CapabilityName(*cap);
    if (*cap > plan->last_cap) {
      return absl::FailedPreconditionError(
          absl::StrCat("keep ", shown, ": this kernel has capabilities 0 to ",
                       plan->last_cap, " only"));
    }
    if (prctl(PR_CAPBSET_READ, *cap, 0, 0, 0) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("keep ", shown,
                       ": the host's bounding set lacks it, so no process "
                       "started from here can have it"));
    }
    if (!Has(own.permitted, *cap)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "keep ", shown, ": this process does not hold it (not permitted)"));
    }
    plan->keep |= uint64_t{1} << *cap;
  }
  // setresuid from uid 0 to another clears the permitted set unless
  // PR_SET_KEEPCAPS (capabilities(7), "Effect of user ID changes").
  plan->keep_across_uid_switch =
      plan->keep != 0 && isolation.uid.has_value() && *isolation.uid != 0;
  return std::shared_ptr<const CapabilityPlan>(std::move(plan));
}

absl::Status CapabilityStepError(ChildStep step, int err, int index) {
  if (step == ChildStep::kCapabilityBounding) {
    if (index == kCapabilityIndexKeepCaps) {
      return ErrnoStatus(err,
                         "keep capabilities across setuid "
                         "(PR_SET_KEEPCAPS)");
    }
    return ErrnoStatus(err, absl::StrCat("drop ", CapabilityName(index),
                                         " from the bounding set"));
  }
  switch (index) {
    case kCapabilityIndexCapset:
      return ErrnoStatus(err, "set the capability sets (capset)");
    case kCapabilityIndexAmbientClear:
      return ErrnoStatus(err, "clear the ambient capability set");
    default:
      return ErrnoStatus(err, absl::StrCat("raise ", CapabilityName(index),
                                           " in the ambient set"));
  }
}

// --- The child (raw syscalls only) ------------------------------------------

PROCSANDBOX_CHILD_CODE bool DropCapabilityBoundingSet(
    const CapabilityPlan& plan, int& failed_index) {
  for (int cap = 0; cap <= plan.last_cap; ++cap) {
    if ((plan.keep >> cap) & 1U) continue;
    if (syscall(SYS_prctl, PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      // Not ours to drop (no CAP_SETPCAP, no user namespace): the plan
      // checked that the host holds no capability to pass on.
      if (errno == EPERM && plan.bounding_best_effort) break;
      failed_index = cap;
      return false;
    }
  }
  if (plan.keep_across_uid_switch &&
      syscall(SYS_prctl, PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    failed_index = kCapabilityIndexKeepCaps;
    return false;
  }
  return true;
}

PROCSANDBOX_CHILD_CODE bool SetCapabilitySets(const CapabilityPlan& plan,
                                              int& failed_index) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    const auto half = static_cast<uint32_t>(plan.keep >> (32 * i));
    data[i].effective = half;
    data[i].permitted = half;
    data[i].inheritable = half;
  }
  if (syscall(SYS_capset, &header, data) != 0) {
    failed_index = kCapabilityIndexCapset;
    return false;
  }
  if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) !=
      0) {
    failed_index = kCapabilityIndexAmbientClear;
    return false;
  }
  for (int cap = 0; cap <= plan.last_cap; ++cap) {
    if (((plan.keep >> cap) & 1U) == 0) continue;
    if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) !=
        0) {
      failed_index = cap;
      return false;
    }
  }
  return true;
}

}  // namespace procsandbox::linux_internal
