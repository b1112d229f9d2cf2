// procsandbox/isolation.h: how far the child is set apart from the host.
//
// `Isolation` is a plain value in `Command::isolation`. Its defaults suit
// any tool (an own process group, no_new_privs, death with the starting
// thread); the rest is opt-in, applied in the child before exec, and
// reported per mechanism by `Process::enforcement().isolation`:
//   - capabilities: drop every Linux capability (or keep a named few);
//   - namespaces: user, mount, pid, net, ipc, uts, cgroup;
//   - mounts: the filesystem the program sees, as a small declarative list
//     (read-only and read-write binds, tmpfs, /proc, a minimal /dev);
//   - seccomp: a syscall filter (a deny list or an allow list).
// A mechanism the host cannot give is refused by Start() in strict mode
// (FailedPrecondition); otherwise the run goes on and the report says so.
//
// Example: what a container runtime calls `cap_drop: ALL`, a read-only root,
// a tmpfs for scratch and no network.
//   procsandbox::Command cmd("python3", {"solution.py"});
//   cmd.working_dir = "/srv/runs/42";
//   cmd.isolation = procsandbox::Isolation::Untrusted(cmd.working_dir);
#ifndef PROCSANDBOX_ISOLATION_H_
#define PROCSANDBOX_ISOLATION_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"

namespace procsandbox {

// The namespaces the child gets of its own (Linux). Each is created before
// the program's first instruction.
struct PROCSANDBOX_EXPORT Namespaces {
  // A user namespace mapping the caller's uid and gid to Isolation::uid and
  // gid inside (root when unset): what gives a host that is not root the
  // other namespaces and the mounts. Turned on by the library when another
  // namespace or a mount list is asked for and the host lacks CAP_SYS_ADMIN
  // (the enforcement report says so). Only that one id is mapped, so
  // Isolation::groups is refused with it (FailedPrecondition); on a root
  // host it maps root to root (capabilities then count only inside) and
  // refuses another uid or gid.
  bool user = false;
  // A mount namespace: the mounts below change only the child's view.
  bool mount = false;
  // A pid namespace: the program is pid 1 of it, and when it exits the
  // kernel kills every process left in it. As any pid 1 it ignores signals
  // it has no handler for, SIGKILL aside: Terminate() then ends in SIGKILL
  // after the grace.
  bool pid = false;
  // A network namespace with only a loopback interface, brought up.
  bool net = false;
  // System V IPC and POSIX message queues of its own.
  bool ipc = false;
  // Hostname and domain name of its own (Isolation::hostname).
  bool uts = false;
  // A cgroup namespace rooted at the run's own group: /proc/self/cgroup
  // shows "/", and other groups are out of reach.
  bool cgroup = false;

  // All of them but user (which the library adds when it is needed).
  static Namespaces All();
  bool any() const {
    return user || mount || pid || net || ipc || uts || cgroup;
  }

  friend PROCSANDBOX_EXPORT bool operator==(const Namespaces& a,
                                            const Namespaces& b);
  friend bool operator!=(const Namespaces& a, const Namespaces& b) {
    return !(a == b);
  }
};

// One entry of the filesystem the program sees (needs a mount namespace,
// which a non-empty Isolation::mounts turns on). With mounts, the program's
// root starts empty and holds only what the list puts there, in order: a
// later target may lie inside an earlier one.
struct PROCSANDBOX_EXPORT Mount {
  enum class Type {
    kBindReadOnly,  // `source` of the host at `target`, read-only (recursive)
    kBind,          // `source` of the host at `target`, writable
    kTmpfs,         // an empty tmpfs of at most size_bytes at `target`
    kProc,          // a fresh /proc (of the pid namespace, when there is one)
    kDev,           // a minimal /dev: null zero full random urandom tty,
                    // fd stdin stdout stderr, a shm tmpfs, a pts instance
  };
  Type type = Type::kBindReadOnly;
  // A host path (binds only): absolute; it must exist at Start().
  std::string source;
  // Where the program sees it: absolute, without "." or ".." parts.
  std::string target;
  // kTmpfs, kDev: the most the filesystem holds; 0 for the kernel's default
  // (half of RAM: set one for untrusted code).
  int64_t size_bytes = 0;

  static Mount ReadOnlyBind(std::string source, std::string target = "");
  static Mount Bind(std::string source, std::string target = "");
  static Mount Tmpfs(std::string target, int64_t size_bytes);
  static Mount Proc(std::string target = "/proc");
  static Mount Dev(std::string target = "/dev");

  friend PROCSANDBOX_EXPORT bool operator==(const Mount& a, const Mount& b);
  friend bool operator!=(const Mount& a, const Mount& b) { return !(a == b); }
};

// "ro-bind", "bind", "tmpfs", "proc", "dev".
PROCSANDBOX_EXPORT absl::string_view MountTypeName(Mount::Type type);

// What a seccomp rule does to a matching call.
enum class SeccompAction {
  kAllow,   // run it
  kEperm,   // fail it with EPERM
  kEnosys,  // fail it with ENOSYS (for calls a libc falls back from, clone3)
  kKill,    // kill the whole run: ExitReason::kSeccompViolation
};

// "allow", "eperm", "enosys", "kill".
PROCSANDBOX_EXPORT absl::string_view SeccompActionName(SeccompAction action);

struct PROCSANDBOX_EXPORT SeccompRule {
  // The call's name as in <sys/syscall.h> without SYS_ ("ptrace").
  std::string syscall;
  SeccompAction action = SeccompAction::kEperm;
  // Nonzero: the rule applies only when the first argument has one of these
  // bits set (clone's CLONE_NEW* flags, for instance).
  uint64_t arg0_any_bits = 0;

  friend PROCSANDBOX_EXPORT bool operator==(const SeccompRule& a,
                                            const SeccompRule& b);
  friend bool operator!=(const SeccompRule& a, const SeccompRule& b) {
    return !(a == b);
  }
};

// A syscall filter: every call not named by a rule gets `default_action`.
// A deny list: default kAllow and rules that deny. An allow list: default
// kEperm (or kKill) and rules that allow; execve and exit_group are always
// allowed (the filter is installed just before execve). Needs no_new_privs
// (Isolation). Linux with libseccomp only (capabilities().isolation says).
// Start() fails with InvalidArgument naming the calls libseccomp does not
// know; a call this architecture lacks (socketcall on x86_64) is skipped.
// A kill ends the whole tree as ExitReason::kSeccompViolation with the call
// in Outcome::syscall (a descendant's call too).
struct PROCSANDBOX_EXPORT SeccompFilter {
  SeccompAction default_action = SeccompAction::kAllow;
  std::vector<SeccompRule> rules;

  // The deny list for untrusted code: kernel-wide and introspection calls
  // (ptrace, process_vm_*, kexec_*, *_module, bpf, perf_event_open,
  // userfaultfd, keyctl, add_key, request_key, mount and the new mount API,
  // umount2, pivot_root, swapon/swapoff, reboot, settimeofday and friends,
  // acct, quotactl, unshare, setns, clone with a CLONE_NEW* flag, ...)
  // answered with `action`; clone3 gets ENOSYS (its flags cannot be
  // inspected; libcs then use clone).
  static SeccompFilter DefaultDenyList(
      SeccompAction action = SeccompAction::kEperm);

  friend PROCSANDBOX_EXPORT bool operator==(const SeccompFilter& a,
                                            const SeccompFilter& b);
  friend bool operator!=(const SeccompFilter& a, const SeccompFilter& b) {
    return !(a == b);
  }
};

// Reads a filter from text, one statement per line, '#' starts a comment:
//   default allow|eperm|enosys|kill
//   allow|eperm|enosys|kill SYSCALL [SYSCALL...]
//   include default-deny-list [eperm|kill]
// InvalidArgument naming the line and what is wrong. Names are checked
// where the filter is compiled (an unknown call fails Start()).
PROCSANDBOX_EXPORT absl::StatusOr<SeccompFilter> ParseSeccompFilter(
    absl::string_view text);

// The mechanisms of Isolation, as reported by enforcement()/capabilities().
enum class IsolationKind {
  kNoNewPrivs,
  kCredentials,  // uid, gid, groups
  kCapabilities,
  kUserNamespace,
  kMountNamespace,
  kPidNamespace,
  kNetNamespace,
  kIpcNamespace,
  kUtsNamespace,
  kCgroupNamespace,
  kSeccomp,
};

inline constexpr IsolationKind kAllIsolationKinds[] = {
    IsolationKind::kNoNewPrivs,     IsolationKind::kCredentials,
    IsolationKind::kCapabilities,   IsolationKind::kUserNamespace,
    IsolationKind::kMountNamespace, IsolationKind::kPidNamespace,
    IsolationKind::kNetNamespace,   IsolationKind::kIpcNamespace,
    IsolationKind::kUtsNamespace,   IsolationKind::kCgroupNamespace,
    IsolationKind::kSeccomp,
};

// "no_new_privs", "credentials", "capabilities", "user_namespace",
// "mount_namespace", "pid_namespace", "net_namespace", "ipc_namespace",
// "uts_namespace", "cgroup_namespace", "seccomp".
PROCSANDBOX_EXPORT absl::string_view IsolationKindName(IsolationKind kind);

// How the child is set apart from the host. The defaults suit any tool: an
// own process group (so a stop reaches its children too), no new privileges
// through setuid binaries, and death with the thread that started it (see
// die_with_parent). Untrusted() adds the rest.
struct PROCSANDBOX_EXPORT Isolation {
  // The child leads a new process group; Terminate/Kill/Suspend and deadlines
  // signal the whole group. Without it only the child itself is signalled.
  bool new_process_group = true;
  // The child leads a new session (implies a new process group): it has no
  // controlling terminal.
  bool new_session = false;
  // PR_SET_NO_NEW_PRIVS: setuid/setgid binaries and file capabilities grant
  // nothing to the child.
  bool no_new_privs = true;
  // The child gets SIGKILL when the thread that started it exits
  // (PR_SET_PDEATHSIG follows the thread, not the process): start children
  // from threads that live as long as they should, or turn this off.
  bool die_with_parent = true;
  // Run as this user / group (needs the privilege to switch). Supplementary
  // groups are set to `groups` (empty: none) whenever uid or gid is set.
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::vector<uint32_t> groups;

  // Linux capabilities: clear the bounding, ambient, inheritable, permitted
  // and effective sets but for `keep_capabilities` (which stay in all five,
  // so that they survive exec also as a user other than root).
  bool drop_capabilities = false;
  // Names as in capabilities(7), "CAP_NET_BIND_SERVICE" (any case, the
  // "CAP_" optional). Only with drop_capabilities.
  std::vector<std::string> keep_capabilities;

  Namespaces namespaces;
  // The filesystem the program sees; see Mount. Non-empty: a mount
  // namespace of its own.
  std::vector<Mount> mounts;
  // The program's hostname (needs namespaces.uts); empty: the host's.
  std::string hostname;

  // The syscall filter; none when empty.
  std::optional<SeccompFilter> seccomp;

  // For untrusted code: capabilities dropped, every namespace (mount, pid,
  // net, ipc, uts, cgroup; user where the host needs it), the host's root
  // read-only with `working_dir` writable (when given), a private /tmp and
  // an empty /run (hiding the host's sockets: a read-only mount does not
  // stop connect(2)), each a tmpfs of tmp_bytes, a fresh /proc, a minimal
  // /dev (its /dev/shm also of tmp_bytes), hostname "sandbox", and the
  // default seccomp deny list (EPERM). What else the host's root holds stays
  // readable (its /home, /root, /etc): hide it with more tmpfs entries.
  static Isolation Untrusted(const std::string& working_dir = "",
                             int64_t tmp_bytes = int64_t{64} << 20);

  friend PROCSANDBOX_EXPORT bool operator==(const Isolation& a,
                                            const Isolation& b);
  friend bool operator!=(const Isolation& a, const Isolation& b) {
    return !(a == b);
  }
};

// OK, or InvalidArgument naming the first thing wrong: groups without uid
// or gid; keep_capabilities without drop_capabilities or with an unknown
// name; a mount with a relative, empty or ".."-holding path, a source on a
// tmpfs/proc/dev, a negative size; a hostname that is not a valid one (or
// without namespaces.uts); seccomp without no_new_privs, a rule with an
// empty syscall name, or two rules for the same call with different
// actions and arguments.
PROCSANDBOX_EXPORT absl::Status ValidateIsolation(const Isolation& isolation);

// The number of a capability name ("CAP_SYS_ADMIN", "sys_admin" -> 21), or
// InvalidArgument naming it.
PROCSANDBOX_EXPORT absl::StatusOr<int> ParseCapability(absl::string_view name);
// "CAP_SYS_ADMIN" for 21; "cap_63" for a number without a name.
PROCSANDBOX_EXPORT std::string CapabilityName(int number);

PROCSANDBOX_EXPORT std::string ToString(const Isolation& isolation);
PROCSANDBOX_EXPORT std::string ToString(const Namespaces& namespaces);
PROCSANDBOX_EXPORT std::string ToString(const Mount& mount);
PROCSANDBOX_EXPORT std::string ToString(const SeccompFilter& filter);
inline std::string ToString(IsolationKind kind) {
  return std::string(IsolationKindName(kind));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::Isolation)
PROCSANDBOX_FORMATTER(procsandbox::Namespaces)
PROCSANDBOX_FORMATTER(procsandbox::Mount)
PROCSANDBOX_FORMATTER(procsandbox::SeccompFilter)
PROCSANDBOX_FORMATTER(procsandbox::IsolationKind)

#endif  // PROCSANDBOX_ISOLATION_H_
