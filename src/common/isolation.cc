#include "procsandbox/isolation.h"

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "common/quote.h"
#include "procsandbox/limits.h"

namespace procsandbox {
namespace {

// capabilities(7), by number (linux/capability.h, up to Linux 5.9).
constexpr absl::string_view kCapabilityNames[] = {
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
};

// clone's namespace flags (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
// NEWPID, NEWNET, NEWTIME), spelled out: <sched.h> is not portable.
constexpr uint64_t kCloneNamespaceFlags = 0x00020000 | 0x02000000 | 0x04000000 |
                                          0x08000000 | 0x10000000 | 0x20000000 |
                                          0x40000000 | 0x00000080;

absl::Status IsolationError(absl::string_view subject,
                            absl::string_view cause) {
  return absl::InvalidArgumentError(
      absl::StrCat("isolation ", subject, ": ", cause));
}

// Absolute, no NUL, no empty, "." or ".." part (but "/" itself).
absl::Status CheckMountPath(absl::string_view role, const Mount& mount,
                            absl::string_view path) {
  auto error = [&](absl::string_view cause) {
    return IsolationError(absl::StrCat("mount ", ToString(mount), ": ", role,
                                       " ", internal::Quote(path)),
                          cause);
  };
  if (path.empty()) return error("is empty");
  if (path.find('\0') != absl::string_view::npos) {
    return error("contains a NUL byte");
  }
  if (path.front() != '/') return error("is not absolute");
  if (path.size() >= 4096) return error("is longer than PATH_MAX");
  if (path == "/") return absl::OkStatus();
  for (absl::string_view part :
       absl::StrSplit(absl::StripSuffix(path.substr(1), "/"), '/')) {
    if (part.empty()) return error("has an empty part (\"//\")");
    if (part == "." || part == "..") {
      return error(absl::StrCat("has a \"", part, "\" part"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckMount(const Mount& mount) {
  const bool bind = mount.type == Mount::Type::kBindReadOnly ||
                    mount.type == Mount::Type::kBind;
  if (bind) {
    if (absl::Status s = CheckMountPath("source", mount, mount.source);
        !s.ok()) {
      return s;
    }
  } else if (!mount.source.empty()) {
    return IsolationError(absl::StrCat("mount ", ToString(mount)),
                          absl::StrCat("a ", MountTypeName(mount.type),
                                       " mount takes no source"));
  }
  if (absl::Status s = CheckMountPath("target", mount, mount.target); !s.ok()) {
    return s;
  }
  if (mount.size_bytes < 0) {
    return IsolationError(absl::StrCat("mount ", ToString(mount)),
                          "size_bytes is negative");
  }
  if (mount.size_bytes > 0 && mount.type != Mount::Type::kTmpfs &&
      mount.type != Mount::Type::kDev) {
    return IsolationError(absl::StrCat("mount ", ToString(mount)),
                          "only tmpfs and dev mounts take a size");
  }
  return absl::OkStatus();
}

// RFC 1123 labels: letters, digits, '-' and '.', at most 64 bytes
// (HOST_NAME_MAX).
absl::Status CheckHostname(absl::string_view name) {
  if (name.size() > 64) {
    return IsolationError(absl::StrCat("hostname ", internal::Quote(name)),
                          "is longer than 64 bytes");
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' &&
        c != '.') {
      return IsolationError(
          absl::StrCat("hostname ", internal::Quote(name)),
          "holds a character other than a letter, a digit, '-' or '.'");
    }
  }
  return absl::OkStatus();
}

// The rules of one filter, checked one by one (so that a parser can name
// the line of the first bad one): a syscall name, and no call given two
// different actions for the same arguments.
class RuleChecker {
 public:
  absl::Status Add(const SeccompRule& rule) {
    if (rule.syscall.empty()) {
      return IsolationError("seccomp rule", "has an empty syscall name");
    }
    for (char c : rule.syscall) {
      if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') {
        return IsolationError(
            absl::StrCat("seccomp rule ", internal::Quote(rule.syscall)),
            "is not a syscall name (letters, digits and '_')");
      }
    }
    auto [it, inserted] =
        seen_.try_emplace({rule.syscall, rule.arg0_any_bits}, rule.action);
    if (!inserted && it->second != rule.action) {
      return IsolationError(
          absl::StrCat("seccomp rule ", internal::Quote(rule.syscall)),
          absl::StrCat("is given twice, as ", SeccompActionName(it->second),
                       " and ", SeccompActionName(rule.action)));
    }
    return absl::OkStatus();
  }

 private:
  absl::flat_hash_map<std::pair<std::string, uint64_t>, SeccompAction> seen_;
};

absl::Status CheckSeccomp(const Isolation& isolation) {
  if (!isolation.no_new_privs) {
    return IsolationError(
        "seccomp",
        "needs no_new_privs (a filter installed without it needs "
        "CAP_SYS_ADMIN and could be lifted by a setuid program)");
  }
  RuleChecker checker;
  for (const SeccompRule& rule : isolation.seccomp->rules) {
    if (absl::Status s = checker.Add(rule); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<SeccompAction> ParseAction(absl::string_view word) {
  for (SeccompAction a : {SeccompAction::kAllow, SeccompAction::kEperm,
                          SeccompAction::kEnosys, SeccompAction::kKill}) {
    if (word == SeccompActionName(a)) return a;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown action ", internal::Quote(word),
                   " (allow, eperm, enosys or kill)"));
}

const char* YesNo(bool b) { return b ? "true" : "false"; }

}  // namespace

// --- Namespaces, mounts -------------------------------------------------

Namespaces Namespaces::All() {
  Namespaces n;
  n.mount = n.pid = n.net = n.ipc = n.uts = n.cgroup = true;
  return n;
}

bool operator==(const Namespaces& a, const Namespaces& b) {
  return a.user == b.user && a.mount == b.mount && a.pid == b.pid &&
         a.net == b.net && a.ipc == b.ipc && a.uts == b.uts &&
         a.cgroup == b.cgroup;
}

Mount Mount::ReadOnlyBind(std::string source, std::string target) {
  Mount m;
  m.type = Type::kBindReadOnly;
  if (target.empty()) target = source;
  m.source = std::move(source);
  m.target = std::move(target);
  return m;
}

Mount Mount::Bind(std::string source, std::string target) {
  Mount m = ReadOnlyBind(std::move(source), std::move(target));
  m.type = Type::kBind;
  return m;
}

Mount Mount::Tmpfs(std::string target, int64_t size_bytes) {
  Mount m;
  m.type = Type::kTmpfs;
  m.target = std::move(target);
  m.size_bytes = size_bytes;
  return m;
}

Mount Mount::Proc(std::string target) {
  Mount m;
  m.type = Type::kProc;
  m.target = std::move(target);
  return m;
}

Mount Mount::Dev(std::string target) {
  Mount m;
  m.type = Type::kDev;
  m.target = std::move(target);
  return m;
}

bool operator==(const Mount& a, const Mount& b) {
  return a.type == b.type && a.source == b.source && a.target == b.target &&
         a.size_bytes == b.size_bytes;
}

absl::string_view MountTypeName(Mount::Type type) {
  switch (type) {
    case Mount::Type::kBindReadOnly:
      return "ro-bind";
    case Mount::Type::kBind:
      return "bind";
    case Mount::Type::kTmpfs:
      return "tmpfs";
    case Mount::Type::kProc:
      return "proc";
    case Mount::Type::kDev:
      return "dev";
  }
  return "unknown";
}

// --- seccomp ---------------------------------------------------------------

absl::string_view SeccompActionName(SeccompAction action) {
  switch (action) {
    case SeccompAction::kAllow:
      return "allow";
    case SeccompAction::kEperm:
      return "eperm";
    case SeccompAction::kEnosys:
      return "enosys";
    case SeccompAction::kKill:
      return "kill";
  }
  return "unknown";
}

bool operator==(const SeccompRule& a, const SeccompRule& b) {
  return a.syscall == b.syscall && a.action == b.action &&
         a.arg0_any_bits == b.arg0_any_bits;
}

bool operator==(const SeccompFilter& a, const SeccompFilter& b) {
  return a.default_action == b.default_action && a.rules == b.rules;
}

SeccompFilter SeccompFilter::DefaultDenyList(SeccompAction action) {
  SeccompFilter filter;
  filter.default_action = SeccompAction::kAllow;
  for (const char* name :
       {// Reading or changing other processes.
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
        "pidfd_getfd",
        // The kernel itself: modules, kexec, BPF, perf, keyrings.
        "init_module", "finit_module", "delete_module", "kexec_load",
        "kexec_file_load", "bpf", "perf_event_open", "userfaultfd", "keyctl",
        "add_key", "request_key", "lookup_dcookie", "open_by_handle_at",
        "name_to_handle_at", "syslog", "iopl", "ioperm", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "fanotify_init",
        // Filesystems and namespaces.
        "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig",
        "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
        "unshare", "setns", "swapon", "swapoff", "quotactl", "quotactl_fd",
        "acct",
        // The machine: time, power.
        "reboot", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
        "vhangup"}) {
    filter.rules.push_back({name, action, 0});
  }
  filter.rules.push_back({"clone", action, kCloneNamespaceFlags});
  filter.rules.push_back({"clone3", SeccompAction::kEnosys, 0});
  return filter;
}

absl::StatusOr<SeccompFilter> ParseSeccompFilter(absl::string_view text) {
  SeccompFilter filter;
  RuleChecker checker;
  bool has_default = false;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto error = [&](absl::string_view cause) {
      return absl::InvalidArgumentError(
          absl::StrCat("seccomp filter line ", line_number, ": ", cause));
    };
    if (size_t hash = line.find('#'); hash != absl::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
    if (words.empty()) continue;
    if (words[0] == "default") {
      if (words.size() != 2) return error("default takes one action");
      if (has_default) return error("a second default");
      absl::StatusOr<SeccompAction> a = ParseAction(words[1]);
      if (!a.ok()) return error(a.status().message());
      filter.default_action = *a;
      has_default = true;
      continue;
    }
    if (words[0] == "include") {
      if (words.size() < 2 || words[1] != "default-deny-list" ||
          words.size() > 3) {
        return error("include takes default-deny-list [eperm|kill]");
      }
      SeccompAction action = SeccompAction::kEperm;
      if (words.size() == 3) {
        absl::StatusOr<SeccompAction> a = ParseAction(words[2]);
        if (!a.ok()) return error(a.status().message());
        action = *a;
      }
      for (SeccompRule& rule : SeccompFilter::DefaultDenyList(action).rules) {
        if (absl::Status s = checker.Add(rule); !s.ok()) {
          return error(s.message());
        }
        filter.rules.push_back(std::move(rule));
      }
      continue;
    }
    absl::StatusOr<SeccompAction> a = ParseAction(words[0]);
    if (!a.ok()) {
      return error(absl::StrCat("expected default, include or an action, not ",
                                internal::Quote(words[0])));
    }
    if (words.size() < 2) return error("an action without a syscall");
    for (std::size_t i = 1; i < words.size(); ++i) {
      SeccompRule rule{std::string(words[i]), *a, 0};
      if (absl::Status s = checker.Add(rule); !s.ok()) {
        return error(s.message());
      }
      filter.rules.push_back(std::move(rule));
    }
  }
  return filter;
}

// --- Kinds, capabilities ----------------------------------------------------

absl::string_view IsolationKindName(IsolationKind kind) {
  switch (kind) {
    case IsolationKind::kNoNewPrivs:
      return "no_new_privs";
    case IsolationKind::kCredentials:
      return "credentials";
    case IsolationKind::kCapabilities:
      return "capabilities";
    case IsolationKind::kUserNamespace:
      return "user_namespace";
    case IsolationKind::kMountNamespace:
      return "mount_namespace";
    case IsolationKind::kPidNamespace:
      return "pid_namespace";
    case IsolationKind::kNetNamespace:
      return "net_namespace";
    case IsolationKind::kIpcNamespace:
      return "ipc_namespace";
    case IsolationKind::kUtsNamespace:
      return "uts_namespace";
    case IsolationKind::kCgroupNamespace:
      return "cgroup_namespace";
    case IsolationKind::kSeccomp:
      return "seccomp";
  }
  return "unknown";
}

absl::StatusOr<int> ParseCapability(absl::string_view name) {
  std::string upper = absl::AsciiStrToUpper(name);
  absl::string_view bare = upper;
  absl::ConsumePrefix(&bare, "CAP_");
  for (std::size_t i = 0; i < std::size(kCapabilityNames); ++i) {
    if (bare == kCapabilityNames[i]) return static_cast<int>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown capability ", internal::Quote(name),
                   " (see capabilities(7): CAP_NET_BIND_SERVICE, ...)"));
}

std::string CapabilityName(int number) {
  if (number >= 0 &&
      static_cast<std::size_t>(number) < std::size(kCapabilityNames)) {
    return absl::StrCat("CAP_", kCapabilityNames[number]);
  }
  return absl::StrCat("cap_", number);
}

// --- Isolation ---------------------------------------------------------------

Isolation Isolation::Untrusted(const std::string& working_dir,
                               int64_t tmp_bytes) {
  Isolation isolation;
  isolation.drop_capabilities = true;
  isolation.namespaces = Namespaces::All();
  isolation.mounts.push_back(Mount::ReadOnlyBind("/"));
  isolation.mounts.push_back(Mount::Tmpfs("/tmp", tmp_bytes));
  // The host's sockets live in /run (D-Bus, container runtimes): a
  // read-only mount does not stop connect(2), and a program running as root
  // would talk to them as root.
  isolation.mounts.push_back(Mount::Tmpfs("/run", tmp_bytes));
  if (!working_dir.empty()) {
    isolation.mounts.push_back(Mount::Bind(working_dir));
  }
  isolation.mounts.push_back(Mount::Proc());
  Mount dev = Mount::Dev();
  dev.size_bytes = tmp_bytes;  // its /dev/shm
  isolation.mounts.push_back(dev);
  isolation.hostname = "sandbox";
  isolation.seccomp = SeccompFilter::DefaultDenyList();
  return isolation;
}

bool operator==(const Isolation& a, const Isolation& b) {
  return a.new_process_group == b.new_process_group &&
         a.new_session == b.new_session && a.no_new_privs == b.no_new_privs &&
         a.die_with_parent == b.die_with_parent && a.uid == b.uid &&
         a.gid == b.gid && a.groups == b.groups &&
         a.drop_capabilities == b.drop_capabilities &&
         a.keep_capabilities == b.keep_capabilities &&
         a.namespaces == b.namespaces && a.mounts == b.mounts &&
         a.hostname == b.hostname && a.seccomp == b.seccomp;
}

absl::Status ValidateIsolation(const Isolation& isolation) {
  if (!isolation.groups.empty() && !isolation.uid.has_value() &&
      !isolation.gid.has_value()) {
    return IsolationError(
        absl::StrCat("groups [", absl::StrJoin(isolation.groups, ", "), "]"),
        "given without uid or gid");
  }
  if (!isolation.keep_capabilities.empty() && !isolation.drop_capabilities) {
    return IsolationError(
        "keep_capabilities",
        "given without drop_capabilities (every capability is kept then)");
  }
  for (const std::string& name : isolation.keep_capabilities) {
    if (absl::StatusOr<int> n = ParseCapability(name); !n.ok()) {
      return IsolationError("keep_capabilities", n.status().message());
    }
  }
  for (const Mount& mount : isolation.mounts) {
    if (absl::Status s = CheckMount(mount); !s.ok()) return s;
  }
  if (!isolation.hostname.empty()) {
    if (!isolation.namespaces.uts) {
      return IsolationError(
          absl::StrCat("hostname ", internal::Quote(isolation.hostname)),
          "needs namespaces.uts (it would rename the host)");
    }
    if (absl::Status s = CheckHostname(isolation.hostname); !s.ok()) return s;
  }
  if (isolation.seccomp.has_value()) {
    if (absl::Status s = CheckSeccomp(isolation); !s.ok()) return s;
  }
  return absl::OkStatus();
}

std::string ToString(const Namespaces& namespaces) {
  std::vector<absl::string_view> names;
  const std::pair<bool, absl::string_view> all[] = {
      {namespaces.user, "user"},    {namespaces.mount, "mount"},
      {namespaces.pid, "pid"},      {namespaces.net, "net"},
      {namespaces.ipc, "ipc"},      {namespaces.uts, "uts"},
      {namespaces.cgroup, "cgroup"}};
  for (const auto& [on, name] : all) {
    if (on) names.push_back(name);
  }
  return absl::StrCat("[", absl::StrJoin(names, ","), "]");
}

std::string ToString(const Mount& mount) {
  std::string text(MountTypeName(mount.type));
  if (!mount.source.empty() && mount.source != mount.target) {
    absl::StrAppend(&text, " ", internal::Quote(mount.source), " ->");
  }
  absl::StrAppend(&text, " ", internal::Quote(mount.target));
  if (mount.size_bytes > 0) {
    absl::StrAppend(&text, " (", FormatByteSize(mount.size_bytes), ")");
  }
  return text;
}

std::string ToString(const SeccompFilter& filter) {
  std::vector<std::string> rules;
  rules.reserve(filter.rules.size());
  for (const SeccompRule& r : filter.rules) {
    rules.push_back(absl::StrCat(SeccompActionName(r.action), " ", r.syscall));
    if (r.arg0_any_bits != 0) {
      absl::StrAppend(&rules.back(), "(arg0 & 0x", absl::Hex(r.arg0_any_bits),
                      ")");
    }
  }
  std::string text =
      absl::StrCat("{default ", SeccompActionName(filter.default_action), ", ",
                   rules.size(), rules.size() == 1 ? " rule" : " rules");
  if (!rules.empty()) absl::StrAppend(&text, ": ", absl::StrJoin(rules, ", "));
  return text + "}";
}

std::string ToString(const Isolation& isolation) {
  std::string text =
      absl::StrCat("{new_process_group=", YesNo(isolation.new_process_group),
                   ", new_session=", YesNo(isolation.new_session),
                   ", no_new_privs=", YesNo(isolation.no_new_privs),
                   ", die_with_parent=", YesNo(isolation.die_with_parent));
  if (isolation.uid.has_value()) {
    absl::StrAppend(&text, ", uid=", *isolation.uid);
  }
  if (isolation.gid.has_value()) {
    absl::StrAppend(&text, ", gid=", *isolation.gid);
  }
  if (!isolation.groups.empty()) {
    absl::StrAppend(&text, ", groups=[", absl::StrJoin(isolation.groups, ","),
                    "]");
  }
  if (isolation.drop_capabilities) {
    absl::StrAppend(&text, ", drop_capabilities=true");
    if (!isolation.keep_capabilities.empty()) {
      absl::StrAppend(&text, ", keep_capabilities=[",
                      absl::StrJoin(isolation.keep_capabilities, ","), "]");
    }
  }
  if (isolation.namespaces.any()) {
    absl::StrAppend(&text, ", namespaces=", ToString(isolation.namespaces));
  }
  if (!isolation.mounts.empty()) {
    std::vector<std::string> mounts;
    mounts.reserve(isolation.mounts.size());
    for (const Mount& m : isolation.mounts) mounts.push_back(ToString(m));
    absl::StrAppend(&text, ", mounts=[", absl::StrJoin(mounts, "; "), "]");
  }
  if (!isolation.hostname.empty()) {
    absl::StrAppend(&text, ", hostname=", internal::Quote(isolation.hostname));
  }
  if (isolation.seccomp.has_value()) {
    absl::StrAppend(&text, ", seccomp=", ToString(*isolation.seccomp));
  }
  return text + "}";
}

}  // namespace procsandbox
