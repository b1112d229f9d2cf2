// procsandbox/verification.h: what the kernel says holds for a running
// process, against what was asked ("apply before start, verify after").
//
// `Process::Verify()` reads back, for a running process, each limit and
// isolation mechanism it asked for: its rlimits, the cgroup it is in (per
// hierarchy) and that group's limit files, its credentials, no_new_privs,
// capabilities, namespaces and seccomp mode. Each is one `VerificationCheck`:
// asked, found, where it was read, and the verdict.
//
// Example:
//   absl::StatusOr<procsandbox::Verification> v = process->Verify();
//   if (!v.ok()) return v.status();    // ended already, not started, ...
//   if (!v->ok()) {                    // a limit is weaker than asked
//     for (const auto& c : v->mismatches()) LOG(ERROR) << c;
//     // "memory_bytes: mismatch: asked 64 MiB, found 1 GiB
//     //  (/sys/fs/cgroup/memory/procsandbox-1-7/memory.limit_in_bytes)"
//     process->Kill().IgnoreError();
//   }
#ifndef PROCSANDBOX_VERIFICATION_H_
#define PROCSANDBOX_VERIFICATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"

namespace procsandbox {

enum class CheckResult {
  // Read back, and in force at least as strictly as asked (a memory limit
  // the kernel rounded down to a page is a match; `detail` says when it is
  // stricter than asked).
  kMatch,
  // Read back, and weaker than asked or different: a limit raised (or
  // removed) from outside, a process not in its group, a capability it
  // should not have. `detail` says how.
  kMismatch,
  // Asked for, and not enforced on this host (Process::enforcement() says
  // why): never counted as verified.
  kNotEnforced,
  // Enforced, but nothing in the kernel to read it from: a limit the
  // library holds itself (wall_time, output_bytes, a CPU budget kept by
  // the reactor), or a mechanism this platform cannot read back for
  // another process. `detail` says which.
  kUnverified,
};
// "match", "mismatch", "not_enforced", "unverified".
PROCSANDBOX_EXPORT absl::string_view CheckResultName(CheckResult result);

struct PROCSANDBOX_EXPORT VerificationCheck {
  // What is checked: a limit (LimitKindName: "memory_bytes"), an isolation
  // mechanism (IsolationKindName: "no_new_privs", "net_namespace"), or
  // "cgroup" for the process's membership in its group (one per
  // hierarchy; `source` names it).
  std::string item;
  // Set when `item` is a limit, resp. an isolation mechanism.
  std::optional<LimitKind> limit;
  std::optional<IsolationKind> isolation;
  // For people: "64 MiB", "uid 1000", "none" (no capability), "own".
  std::string asked;
  std::string found;  // "" when nothing could be read
  // Where `found` was read: "/proc/123/limits (Max address space)",
  // "/sys/fs/cgroup/memory/procsandbox-1-7/memory.limit_in_bytes".
  std::string source;
  CheckResult result = CheckResult::kMatch;
  // Why it is a mismatch, not enforced or unverified; "stricter than
  // asked" for a match that is.
  std::string detail;

  friend PROCSANDBOX_EXPORT bool operator==(const VerificationCheck& a,
                                            const VerificationCheck& b);
  friend bool operator!=(const VerificationCheck& a,
                         const VerificationCheck& b) {
    return !(a == b);
  }
};

struct PROCSANDBOX_EXPORT Verification {
  std::vector<VerificationCheck> checks;
  // When it was read (the manager's clock).
  absl::Time time;

  // No check is a mismatch.
  bool ok() const;
  // Every check is a match (nothing unverified or not enforced).
  bool all_verified() const;
  // The checks that are mismatches, in order.
  std::vector<VerificationCheck> mismatches() const;
  // The first check of `kind` (resp. `item`), or null.
  const VerificationCheck* Find(LimitKind kind) const;
  const VerificationCheck* Find(IsolationKind kind) const;
  const VerificationCheck* Find(absl::string_view item) const;

  friend PROCSANDBOX_EXPORT bool operator==(const Verification& a,
                                            const Verification& b);
  friend bool operator!=(const Verification& a, const Verification& b) {
    return !(a == b);
  }
};

// "memory_bytes: match: asked 64 MiB, found 64 MiB
// (/sys/fs/cgroup/.../memory.max)", "wall_time: unverified: asked 10s
// (held by the library's timer)".
PROCSANDBOX_EXPORT std::string ToString(const VerificationCheck& check);
// "verified: 5 match, 1 unverified" or "MISMATCH: memory_bytes (...); ...".
PROCSANDBOX_EXPORT std::string ToString(const Verification& verification);
inline std::string ToString(CheckResult result) {
  return std::string(CheckResultName(result));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::VerificationCheck)
PROCSANDBOX_FORMATTER(procsandbox::Verification)
PROCSANDBOX_FORMATTER(procsandbox::CheckResult)

#endif  // PROCSANDBOX_VERIFICATION_H_
