#include "linux/child_namespaces.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/quote.h"
#include "fmt/format.h"
#include "linux/cgroup_fs.h"
#include "posix/errno_status.h"
#include "procsandbox/command.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoName;
using ::procsandbox::posix_internal::ErrnoStatus;

namespace {

// One namespace kind: its name in /proc/self/ns and /proc/sys/user, its
// clone flag, and what having it means.
struct KindInfo {
  IsolationKind kind;
  const char* name;     // as the API says it ("mount")
  const char* ns_name;  // /proc/self/ns/<ns_name>, max_<ns_name>_namespaces
  int flag;
  const char* config;  // the kernel option
  const char* how;
};

constexpr KindInfo kKinds[] = {
    {IsolationKind::kUserNamespace, "user", "user", CLONE_NEWUSER,
     "CONFIG_USER_NS", "CLONE_NEWUSER"},
    {IsolationKind::kMountNamespace, "mount", "mnt", CLONE_NEWNS,
     "CONFIG_NAMESPACES", "CLONE_NEWNS"},
    {IsolationKind::kPidNamespace, "pid", "pid", CLONE_NEWPID, "CONFIG_PID_NS",
     "CLONE_NEWPID: the program is pid 1, the kernel kills the rest when it "
     "exits"},
    {IsolationKind::kNetNamespace, "net", "net", CLONE_NEWNET, "CONFIG_NET_NS",
     "CLONE_NEWNET: loopback only, brought up"},
    {IsolationKind::kIpcNamespace, "ipc", "ipc", CLONE_NEWIPC, "CONFIG_IPC_NS",
     "CLONE_NEWIPC: System V IPC and POSIX message queues of its own"},
    {IsolationKind::kUtsNamespace, "uts", "uts", CLONE_NEWUTS, "CONFIG_UTS_NS",
     "CLONE_NEWUTS: a hostname of its own"},
    {IsolationKind::kCgroupNamespace, "cgroup", "cgroup", CLONE_NEWCGROUP,
     "CONFIG_CGROUPS",
     "unshare(CLONE_NEWCGROUP) once in its group: "
     "/proc/self/cgroup shows /"},
};

const KindInfo& Info(IsolationKind kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return k;
  }
  return kKinds[0];
}

// A number in a /proc/sys file, or nullopt when it is absent or unreadable.
std::optional<int64_t> ReadSysctl(const std::string& path) {
  absl::StatusOr<std::string> text = ReadCgroupFile(AT_FDCWD, path.c_str());
  int64_t value = 0;
  if (!text.ok() ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &value))
    return std::nullopt;
  return value;
}

bool HasNamespaceFile(const KindInfo& k) {
  return access(fmt::format("/proc/self/ns/{}", k.ns_name).c_str(), F_OK) == 0;
}

// Why this kind cannot be had whatever the privilege, or nullopt.
std::optional<std::string> KernelRefuses(const KindInfo& k) {
  if (!HasNamespaceFile(k)) {
    return fmt::format(
        "no {} namespaces: /proc/self/ns/{} is missing (a kernel without {})",
        k.name, k.ns_name, k.config);
  }
  const std::string max =
      fmt::format("/proc/sys/user/max_{}_namespaces", k.ns_name);
  if (ReadSysctl(max) == 0) return fmt::format("{} is 0", max);
  return std::nullopt;
}

// What keeps a host without CAP_SYS_ADMIN from user namespaces, by name.
std::vector<std::string> UserNamespaceBlockers() {
  std::vector<std::string> why;
  if (std::optional<std::string> k =
          KernelRefuses(Info(IsolationKind::kUserNamespace))) {
    why.push_back(*k);
  }
  if (ReadSysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0) {
    why.emplace_back(
        "/proc/sys/kernel/unprivileged_userns_clone is 0 (Debian's switch "
        "for unprivileged user namespaces)");
  }
  if (ReadSysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") ==
      1) {
    why.emplace_back(
        "/proc/sys/kernel/apparmor_restrict_unprivileged_userns is 1 "
        "(AppArmor gives unprivileged user namespaces no capabilities)");
  }
  return why;
}

// SELinux enforcing with a policy that knows user_namespace: it may deny
// user_namespace { create } (not decisive: the probe clone says).
bool SelinuxGuardsUserNamespaces() {
  return ReadSysctl("/sys/fs/selinux/enforce") == 1 &&
         access("/sys/fs/selinux/class/user_namespace", F_OK) == 0;
}

std::string NamesOf(int clone_flags) {
  std::vector<const char*> names;
  for (const KindInfo& k : kKinds) {
    if ((clone_flags & k.flag) != 0) names.push_back(k.name);
  }
  return absl::StrCat("[", absl::StrJoin(names, ","), "]");
}

bool Wanted(const Enforcement& enforcement, IsolationKind kind) {
  const IsolationEnforcement* e = enforcement.Find(kind);
  return e != nullptr && e->enforced;
}

// The user namespace's entry, added where the host needs it, in
// kAllIsolationKinds order.
IsolationEnforcement& UserEntry(std::vector<IsolationEnforcement>& entries) {
  auto at = entries.begin();
  while (at != entries.end() &&
         static_cast<int>(at->kind) <
             static_cast<int>(IsolationKind::kUserNamespace)) {
    ++at;
  }
  if (at != entries.end() && at->kind == IsolationKind::kUserNamespace) {
    return *at;
  }
  return *entries.insert(at,
                         {IsolationKind::kUserNamespace, true,
                          "added: the host is not root (no CAP_SYS_ADMIN)"});
}

// "<inside> <outside> 1\n" into `out`.
template <std::size_t N>
std::size_t FormatMap(char (&out)[N], unsigned inside, unsigned outside) {
  const auto r = fmt::format_to_n(out, N - 1, "{} {} 1\n", inside, outside);
  return r.size;
}

}  // namespace

bool HostCanMakeNamespaces() {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return geteuid() == 0;
  return (data[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32))) !=
         0;
}

UserNamespaceProbe ProbeUserNamespace() {
  const bool privileged = HostCanMakeNamespaces();
  if (std::optional<std::string> k =
          KernelRefuses(Info(IsolationKind::kUserNamespace))) {
    return {false, *k};
  }
  std::vector<std::string> blockers =
      privileged ? std::vector<std::string>{} : UserNamespaceBlockers();
  const bool selinux = SelinuxGuardsUserNamespaces();
  if (const int err = TryCloneNamespaces(CLONE_NEWUSER); err != 0) {
    if (selinux) {
      blockers.emplace_back(
          "SELinux is enforcing and its policy has the user_namespace class");
    }
    return {false, fmt::format("clone(CLONE_NEWUSER) fails with {}{}{}",
                               ErrnoName(err), blockers.empty() ? "" : ": ",
                               absl::StrJoin(blockers, "; "))};
  }
  // AppArmor's restriction lets the clone succeed but leaves the namespace
  // without capabilities: nothing could be set up in it.
  if (!blockers.empty()) return {false, absl::StrJoin(blockers, "; ")};
  std::string how = privileged
                        ? "CLONE_NEWUSER, mapping root to root only (the child "
                          "writes its own map: capabilities count only inside)"
                        : fmt::format(
                              "CLONE_NEWUSER, mapping uid {} and gid {} to "
                              "root inside; setgroups denied",
                              geteuid(), getegid());
  if (selinux) how += " (SELinux enforcing allows it)";
  return {true, std::move(how)};
}

const char* NamespaceFileName(IsolationKind kind) {
  for (const KindInfo& k : kKinds) {
    if (k.kind == kind) return k.ns_name;
  }
  return nullptr;
}

IsolationEnforcement ProbeNamespace(IsolationKind kind,
                                    const UserNamespaceProbe& user_namespace) {
  const KindInfo& k = Info(kind);
  if (kind == IsolationKind::kUserNamespace) {
    return {kind, user_namespace.available, user_namespace.detail};
  }
  if (std::optional<std::string> why = KernelRefuses(k)) {
    return {kind, false, *why};
  }
  if (HostCanMakeNamespaces()) return {kind, true, k.how};
  if (user_namespace.available) {
    return {kind, true,
            fmt::format("{}; in a user namespace (the host lacks "
                        "CAP_SYS_ADMIN)",
                        k.how)};
  }
  return {kind, false,
          fmt::format("needs CAP_SYS_ADMIN or a user namespace, and {}",
                      user_namespace.detail)};
}

std::vector<IsolationEnforcement> ProbeNamespaces() {
  const UserNamespaceProbe user = ProbeUserNamespace();
  std::vector<IsolationEnforcement> entries;
  for (const KindInfo& k : kKinds) {
    if (k.kind == IsolationKind::kMountNamespace) continue;
    entries.push_back(ProbeNamespace(k.kind, user));
  }
  return entries;
}

absl::Status PlanNamespaces(const os_internal::SpawnRequest& request,
                            SpawnPlan& plan) {
  const Isolation& isolation = request.command->isolation;
  Enforcement& enforcement = *request.enforcement;
  int flags = 0;
  for (const KindInfo& k :
       {Info(IsolationKind::kPidNamespace), Info(IsolationKind::kNetNamespace),
        Info(IsolationKind::kIpcNamespace),
        Info(IsolationKind::kUtsNamespace)}) {
    if (Wanted(enforcement, k.kind)) flags |= k.flag;
  }
  const bool cgroup = Wanted(enforcement, IsolationKind::kCgroupNamespace);
  const bool others = flags != 0 || cgroup ||
                      Wanted(enforcement, IsolationKind::kMountNamespace);
  const bool added = others && !HostCanMakeNamespaces() &&
                     !Wanted(enforcement, IsolationKind::kUserNamespace);
  const bool user = added || Wanted(enforcement, IsolationKind::kUserNamespace);
  if (!user && !others) return absl::OkStatus();

  auto ns = std::make_shared<NamespacePlan>();
  if (user) {
    const std::string label = request.command->label();
    if (!isolation.groups.empty()) {
      return absl::FailedPreconditionError(fmt::format(
          "start \"{}\": isolation groups [{}] cannot be set in a user "
          "namespace: setgroups is denied there (the kernel's condition for "
          "the map the child writes itself)",
          label, absl::StrJoin(isolation.groups, ", ")));
    }
    const unsigned outer_uid = geteuid();
    const unsigned outer_gid = getegid();
    const unsigned uid = isolation.uid.value_or(0);
    const unsigned gid = isolation.gid.value_or(0);
    for (auto [id, outer, what] : {std::tuple{uid, outer_uid, "uid"},
                                   std::tuple{gid, outer_gid, "gid"}}) {
      if (outer == 0 && id != 0) {
        return absl::FailedPreconditionError(fmt::format(
            "start \"{}\": isolation {} {} with a user namespace on a root "
            "host: the child can map only its own {} 0 into it, so {} {} "
            "would be host root under another name (root needs no user "
            "namespace for the others: drop namespaces.user)",
            label, what, id, what, what, id));
      }
    }
    ns->user = true;
    ns->uid_map_size = FormatMap(ns->uid_map, uid, outer_uid);
    ns->gid_map_size = FormatMap(ns->gid_map, gid, outer_gid);
    flags |= CLONE_NEWUSER;
    IsolationEnforcement& entry = UserEntry(enforcement.isolation);
    entry.detail = fmt::format(
        "{}uid {} inside is uid {} outside, gid {} is gid {}; setgroups "
        "denied",
        added ? "added: the host is not root (no CAP_SYS_ADMIN); " : "", uid,
        outer_uid, gid, outer_gid);
  }
  ns->cgroup = cgroup;
  if ((flags & CLONE_NEWUTS) != 0 && !isolation.hostname.empty()) {
    if (isolation.hostname.size() >= sizeof(ns->hostname)) {
      return absl::InvalidArgumentError(
          fmt::format("isolation hostname {}: is longer than 64 bytes",
                      internal::Quote(isolation.hostname)));
    }
    isolation.hostname.copy(ns->hostname, isolation.hostname.size());
    ns->hostname_size = isolation.hostname.size();
  }
  ns->loopback_up = (flags & CLONE_NEWNET) != 0;
  plan.clone_namespace_flags |= flags;
  plan.namespaces = std::move(ns);
  return absl::OkStatus();
}

absl::Status NamespaceCloneError(int clone_flags, int err) {
  std::string cause;
  absl::StatusCode code = absl::StatusCode::kFailedPrecondition;
  if (err == EPERM) {
    code = absl::StatusCode::kPermissionDenied;
    if ((clone_flags & CLONE_NEWUSER) != 0) {
      std::vector<std::string> why = UserNamespaceBlockers();
      if (SelinuxGuardsUserNamespaces()) {
        why.emplace_back("SELinux is enforcing with the user_namespace class");
      }
      cause = why.empty() ? "the kernel refused the user namespace (a "
                            "security module, a seccomp filter of the host, "
                            "or a chrooted host)"
                          : "user namespaces are refused here: " +
                                absl::StrJoin(why, "; ");
    } else if (!HostCanMakeNamespaces()) {
      cause = "they need CAP_SYS_ADMIN, which the host lacks";
    } else {
      cause = "refused by a security module or a seccomp filter of the host";
    }
  } else if (err == ENOSPC || err == EUSERS) {
    code = absl::StatusCode::kResourceExhausted;
    std::vector<std::string> limits;
    for (const KindInfo& k : kKinds) {
      if ((clone_flags & k.flag) == 0) continue;
      const std::string path =
          fmt::format("/proc/sys/user/max_{}_namespaces", k.ns_name);
      if (std::optional<int64_t> v = ReadSysctl(path)) {
        limits.push_back(fmt::format("{} is {}", path, *v));
      }
    }
    cause = fmt::format(
        "a namespace limit was reached ({}; or 32 nested user or pid "
        "namespaces)",
        limits.empty() ? "max_*_namespaces" : absl::StrJoin(limits, ", "));
  } else {
    std::vector<std::string> missing;
    for (const KindInfo& k : kKinds) {
      if ((clone_flags & k.flag) != 0 && !HasNamespaceFile(k)) {
        missing.emplace_back(k.name);
      }
    }
    cause = missing.empty() ? "the kernel refused the combination"
                            : fmt::format("the kernel has no {} namespaces",
                                          absl::StrJoin(missing, ", "));
  }
  return absl::Status(code,
                      fmt::format("spawn: clone with namespaces {}: {} ({})",
                                  NamesOf(clone_flags), cause, ErrnoName(err)));
}

absl::Status NamespaceStepError(const SpawnPlan& plan, int err, int index) {
  const NamespacePlan* ns = plan.namespaces.get();
  auto map = [](const char* text, std::size_t size) {
    std::string line(text, size);
    if (!line.empty() && line.back() == '\n') line.pop_back();
    return internal::Quote(line);
  };
  std::string what;
  switch (static_cast<NamespaceStep>(index)) {
    case NamespaceStep::kSetgroupsDeny:
      what = "write \"deny\" to /proc/self/setgroups";
      break;
    case NamespaceStep::kUidMap:
      what = fmt::format("write {} to /proc/self/uid_map",
                         ns ? map(ns->uid_map, ns->uid_map_size) : "");
      break;
    case NamespaceStep::kGidMap:
      what = fmt::format("write {} to /proc/self/gid_map",
                         ns ? map(ns->gid_map, ns->gid_map_size) : "");
      break;
    case NamespaceStep::kCgroupNamespace:
      what = "unshare the cgroup namespace";
      break;
    case NamespaceStep::kHostname:
      what = fmt::format(
          "set the hostname {}",
          ns ? internal::Quote(std::string(ns->hostname, ns->hostname_size))
             : "");
      break;
    case NamespaceStep::kLoopbackSocket:
      what = "open a socket to bring \"lo\" up";
      break;
    case NamespaceStep::kLoopbackUp:
      what = "bring \"lo\" up";
      break;
    default:
      what = fmt::format("namespace step {}", index);
  }
  return ErrnoStatus(err, "start: " + what);
}

// --- The child (spawn_child.cc's rules) ------------------------------------

namespace {

// Writes `size` bytes of `text` to `path` in one write. False with errno.
PROCSANDBOX_CHILD_CODE bool WriteProcFile(const char* path, const char* text,
                                          std::size_t size) {
  const int fd = static_cast<int>(
      syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CLOEXEC));
  if (fd < 0) return false;
  const int64_t n = syscall(SYS_write, fd, text, size);
  const int err = errno;
  syscall(SYS_close, fd);
  if (n == static_cast<int64_t>(size)) return true;
  errno = n < 0 ? err : EIO;
  return false;
}

PROCSANDBOX_CHILD_CODE bool BringLoopbackUp(int* failed) {
  const int fd = static_cast<int>(
      syscall(SYS_socket, AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd < 0) {
    *failed = static_cast<int>(NamespaceStep::kLoopbackSocket);
    return false;
  }
  struct ifreq request;
  __builtin_memset(&request, 0, sizeof(request));
  request.ifr_name[0] = 'l';
  request.ifr_name[1] = 'o';
  bool ok = syscall(SYS_ioctl, fd, SIOCGIFFLAGS, &request) == 0;
  if (ok) {
    request.ifr_flags = static_cast<int16_t>(request.ifr_flags | IFF_UP);
    ok = syscall(SYS_ioctl, fd, SIOCSIFFLAGS, &request) == 0;
  }
  const int err = errno;
  syscall(SYS_close, fd);
  if (ok) return true;
  errno = err;
  *failed = static_cast<int>(NamespaceStep::kLoopbackUp);
  return false;
}

}  // namespace

PROCSANDBOX_CHILD_CODE bool SetUpNamespaces(const NamespacePlan& plan,
                                            int* failed) {
  if (plan.user) {
    // setgroups first: an unprivileged gid_map needs it denied.
    if (!WriteProcFile("/proc/self/setgroups", "deny", 4)) {
      *failed = static_cast<int>(NamespaceStep::kSetgroupsDeny);
      return false;
    }
    if (!WriteProcFile("/proc/self/uid_map", plan.uid_map, plan.uid_map_size)) {
      *failed = static_cast<int>(NamespaceStep::kUidMap);
      return false;
    }
    if (!WriteProcFile("/proc/self/gid_map", plan.gid_map, plan.gid_map_size)) {
      *failed = static_cast<int>(NamespaceStep::kGidMap);
      return false;
    }
  }
  if (plan.cgroup && syscall(SYS_unshare, CLONE_NEWCGROUP) != 0) {
    *failed = static_cast<int>(NamespaceStep::kCgroupNamespace);
    return false;
  }
  if (plan.hostname_size > 0 &&
      syscall(SYS_sethostname, plan.hostname, plan.hostname_size) != 0) {
    *failed = static_cast<int>(NamespaceStep::kHostname);
    return false;
  }
  if (plan.loopback_up) return BringLoopbackUp(failed);
  return true;
}

}  // namespace procsandbox::linux_internal
