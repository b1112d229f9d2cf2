// The part of Process::Verify() every manager shares: one check per entry
// of a process's enforcement report, with what was asked in the same words
// everywhere, and the verdict for what nothing in the kernel can show.
//
// A manager starts from PlanVerification() and then reads back the entries
// left kUnverified with kNotReadBack as their detail (a cgroup limit, an
// rlimit, a namespace...), replacing found, source, result and detail.
//
// Example:
//   Verification v = internal::PlanVerification(limits, isolation, report);
//   for (VerificationCheck& c : v.checks) {
//     if (!internal::AwaitsReadBack(c)) continue;
//     ...  // read it, set c.found, c.source, c.result, c.detail
//   }
#ifndef PROCSANDBOX_SRC_COMMON_VERIFICATION_PLAN_H_
#define PROCSANDBOX_SRC_COMMON_VERIFICATION_PLAN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "procsandbox/capabilities.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"
#include "procsandbox/verification.h"

namespace procsandbox::internal {

// The detail of a check that the platform has still to read back.
inline constexpr char kNotReadBack[] = "not read back";
// The detail for what a platform cannot read of another process.
inline constexpr char kPlatformCannotReadBack[] =
    "this platform cannot read it back";

// What was asked, for people: "64 MiB", "10s", "32", "uid 1000, gid 1000,
// groups []", "none" (capabilities dropped, none kept), "own" (a
// namespace), "on" (no_new_privs), "a filter of 3 rules" (seccomp).
std::string AskedLimit(const Limits& limits, LimitKind kind);
std::string AskedIsolation(const Isolation& isolation, IsolationKind kind);

// One check per entry of `enforcement` (limits first, then isolation, in
// its order), `asked` filled in from `limits` and `isolation`:
//   - not enforced (Mechanism::kNone, or an isolation entry that is not
//     enforced): kNotEnforced, the entry's detail saying why;
//   - held by the library (Mechanism::kReactor: wall_time, output_bytes):
//     kUnverified, the detail saying what holds it;
//   - anything else: kUnverified with detail kNotReadBack, for the manager
//     to read back.
// `time` is left to the caller (its clock).
Verification PlanVerification(const Limits& limits, const Isolation& isolation,
                              const Enforcement& enforcement);

// Whether `check` still waits for the platform (see PlanVerification).
bool AwaitsReadBack(const VerificationCheck& check);

// Sets `check`'s found, result and detail for a limit read back as `found`
// (nullopt: no limit in force) that holds when it is at most `asked`: a
// match ("stricter than asked" below it), else a mismatch. `found_text` is
// `found` for people ("64 MiB", "none").
void CompareAtMost(int64_t asked, std::optional<int64_t> found,
                   std::string found_text, VerificationCheck& check);

// Marks every check still awaiting a read-back as kUnverified with `why`.
void LeaveUnread(Verification& verification, const std::string& why);

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_VERIFICATION_PLAN_H_
