// The Linux OS manager's capabilities probe.
#include "linux/probe.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "linux/cgroup_setup.h"
#include "linux/isolation.h"
#include "linux/linux_child.h"
#include "linux/spawn.h"
#include "posix/errno_status.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoName;

namespace {

// The limits a cgroup can carry.
bool CgroupKind(LimitKind kind) {
  return kind == LimitKind::kMemory || kind == LimitKind::kProcesses ||
         kind == LimitKind::kCpuTime || kind == LimitKind::kCpuWeight;
}

std::string FeatureDetail(const CgroupDriver* driver, absl::string_view why) {
  if (driver == nullptr) return std::string(why);
  std::vector<std::string> parts;
  for (LimitKind kind : {LimitKind::kMemory, LimitKind::kProcesses,
                         LimitKind::kCpuTime, LimitKind::kCpuWeight}) {
    if (driver->Enforces(kind).enforced()) {
      parts.emplace_back(LimitKindName(kind));
    }
  }
  return fmt::format("{}: {}", fmt::join(driver->directories(), ", "),
                     parts.empty() ? std::string("no controller")
                                   : fmt::format("{}", fmt::join(parts, ", ")));
}

// What the kernel offers beyond what the manager uses today, for doctor
// reports: its release, namespaces, seccomp, no_new_privs.
std::vector<Feature> HostFeatures() {
  std::vector<Feature> features;
  struct utsname uts = {};
  const bool named = uname(&uts) == 0;
  features.push_back({"kernel", named,
                      named ? fmt::format("{} {}", uts.sysname, uts.release)
                            : std::string("uname failed")});
  std::vector<std::string> namespaces;
  for (const char* ns :
       {"user", "pid", "mnt", "net", "ipc", "uts", "cgroup", "time"}) {
    if (access(fmt::format("/proc/self/ns/{}", ns).c_str(), F_OK) == 0) {
      namespaces.emplace_back(ns);
    }
  }
  features.push_back(
      {"namespaces", !namespaces.empty(),
       namespaces.empty()
           ? std::string("none in /proc/self/ns")
           : fmt::format("{} (see isolation)", fmt::join(namespaces, ", "))});
  const bool seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  features.push_back(
      {"seccomp", seccomp,
       seccomp ? "PR_GET_SECCOMP works (filters not used yet)"
               : fmt::format("PR_GET_SECCOMP: {}", ErrnoName(errno))});
  const bool nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) >= 0;
  features.push_back({"no_new_privs", nnp,
                      nnp ? "PR_SET_NO_NEW_PRIVS before exec (Isolation)"
                          : "PR_GET_NO_NEW_PRIVS failed"});
  return features;
}

// Capabilities::tree_kill and tree_freeze: what the tracking driver's group
// does (LinuxChild stops a tree through it), else the process group.
void SetTreeControl(const OsManagerCore& core, Capabilities& caps) {
  const CgroupDriver* tracking =
      TrackingDriver(core.cgroup_v2.get(), core.cgroup_v1.get());
  const char* why = core.cgroup_v2 == nullptr && core.cgroup_v1 == nullptr
                        ? "no usable cgroup"
                        : "no cgroup.kill, cgroup.freeze or cgroup v1 freezer";
  caps.tree_kill = tracking != nullptr;
  caps.tree_kill_detail =
      tracking != nullptr
          ? tracking->tree_kill()
          : fmt::format(
                "{}: SIGKILL to the child's process group and pidfd; "
                "a process that left the group survives",
                why);
  caps.tree_freeze_detail =
      tracking != nullptr ? tracking->tree_freeze() : std::string();
  caps.tree_freeze = !caps.tree_freeze_detail.empty();
  if (!caps.tree_freeze) {
    caps.tree_freeze_detail =
        fmt::format("{}: SIGSTOP to the child's process group",
                    tracking != nullptr ? "no cgroup.freeze" : why);
  }
}

}  // namespace

Capabilities Probe(const OsManagerCore& core, const CgroupSetup& setup) {
  Capabilities caps;
  caps.backend = "linux";
  caps.strict = core.options.strict;
  SetTreeControl(core, caps);
  const bool root = geteuid() == 0;
  for (LimitKind kind : kAllLimitKinds) {
    LimitEnforcement entry = RlimitFallback(kind);
    if (CgroupKind(kind)) {
      std::vector<std::string> why;
      for (const CgroupDriver* d :
           {core.cgroup_v2.get(), core.cgroup_v1.get()}) {
        if (d == nullptr) continue;
        LimitEnforcement e = d->Enforces(kind);
        if (e.enforced()) {
          entry = std::move(e);
          why.clear();
          break;
        }
        why.push_back(
            fmt::format("{}: {}", MechanismName(d->mechanism()), e.detail));
      }
      if (!why.empty()) {
        entry.detail = fmt::format("{} (no cgroup for it: {})", entry.detail,
                                   fmt::join(why, "; "));
      }
    }
    caps.limits.push_back(std::move(entry));
  }
  // close_range(~0, ~0) closes nothing and fails only where it does not
  // exist (ENOSYS).
  const bool close_range = syscall(SYS_close_range, ~0U, ~0U, 0U) == 0;
  caps.features = {
      {"pidfd", true, "CLONE_PIDFD, waitid(P_PIDFD), pidfd_send_signal"},
      {"close_range", close_range,
       close_range ? "" : "falls back to listing /proc/self/fd"},
      {"clone3", Clone3IntoCgroupAvailable(),
       core.clone_into_cgroup
           ? "CLONE_INTO_CGROUP places children"
           : (Clone3IntoCgroupAvailable() ? "available, not used"
                                          : "children join their cgroups "
                                            "themselves before exec")},
      {"cgroups", core.cgroup_v2 != nullptr || core.cgroup_v1 != nullptr,
       fmt::format("mode {}", CgroupModeName(setup.host.mode))},
      {"cgroup_v2", core.cgroup_v2 != nullptr,
       FeatureDetail(core.cgroup_v2.get(), setup.v2_why)},
      {"cgroup_v1", core.cgroup_v1 != nullptr,
       FeatureDetail(core.cgroup_v1.get(), setup.v1_why)},
      {"root", root, root ? "" : fmt::format("euid {}", geteuid())},
  };
  for (Feature& f : HostFeatures()) caps.features.push_back(std::move(f));
  caps.isolation = ProbeIsolation();
  return caps;
}

LimitEnforcement RlimitFallback(LimitKind kind) {
  switch (kind) {
    case LimitKind::kWallTime:
      return {kind, Mechanism::kReactor, "timerfd deadline, TERM then KILL"};
    case LimitKind::kCpuTime:
      return {kind, Mechanism::kRlimit,
              "RLIMIT_CPU: the first process only, not its children"};
    case LimitKind::kMemory:
      return {kind, Mechanism::kRlimit,
              "RLIMIT_AS: address space, not resident memory; allocations "
              "fail, the death is not reported as memory_exceeded"};
    case LimitKind::kFileSize:
      return {kind, Mechanism::kRlimit, "RLIMIT_FSIZE"};
    case LimitKind::kOpenFiles:
      return {kind, Mechanism::kRlimit, "RLIMIT_NOFILE"};
    case LimitKind::kProcesses:
      if (geteuid() == 0) {
        return {kind, Mechanism::kNone,
                "RLIMIT_NPROC does not apply to root; needs cgroups"};
      }
      return {kind, Mechanism::kRlimit,
              "RLIMIT_NPROC: counts all processes of the user"};
    case LimitKind::kOutput:
      return {kind, Mechanism::kReactor, "captured bytes"};
    case LimitKind::kCpuWeight:
      return {kind, Mechanism::kNone, "needs cgroups"};
  }
  return {kind, Mechanism::kNone, "unknown"};
}

}  // namespace procsandbox::linux_internal
