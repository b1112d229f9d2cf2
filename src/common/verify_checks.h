// The pieces of a Verification that every manager builds alike: how a limit
// or an isolation mechanism that was asked for reads, the checks of limits
// the library holds itself or the host cannot enforce, and the comparison
// of a limit found with the one asked. The fake and the OS managers use
// them so that the same situation reads the same everywhere.
#ifndef PROCSANDBOX_SRC_COMMON_VERIFY_CHECKS_H_
#define PROCSANDBOX_SRC_COMMON_VERIFY_CHECKS_H_

#include <string>

#include "procsandbox/capabilities.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"
#include "procsandbox/verification.h"

namespace procsandbox::internal {

// The value of `kind` in `limits`, exactly ("64 MiB", "1100 B", "10s",
// "1.25s", "32"); "unlimited" when it is unset.
std::string LimitValueText(const Limits& limits, LimitKind kind);

// What `isolation` asks of `kind`, for people: "on" (no_new_privs), "uid
// 1000, gid 1000, groups []", "all dropped" or "all dropped but
// CAP_NET_BIND_SERVICE", "own" (a namespace), the filter's summary.
std::string IsolationAskedText(const Isolation& isolation, IsolationKind kind);

// Whether the library itself holds `kind` (wall_time: its timer;
// output_bytes: its output accounting), so that the kernel has nothing to
// read it back from.
bool HeldByLibrary(LimitKind kind);

// The check of a limit HeldByLibrary(): kUnverified, the detail says what
// holds it ("held by the library's timer, not by the kernel").
VerificationCheck LibraryHeldCheck(const Limits& asked, LimitKind kind);

// The check of something asked for and not enforced here: kNotEnforced,
// `why` (the enforcement report's detail) as the detail, nothing found.
VerificationCheck NotEnforcedCheck(const Limits& asked, LimitKind kind,
                                   std::string why);
VerificationCheck NotEnforcedCheck(const Isolation& asked, IsolationKind kind,
                                   std::string why);

// Compares limit `kind` as found (an unset field of `found`: no limit) with
// the one asked, read from `source`: kMatch when it is as strict (detail
// "stricter than asked" when it is stricter), kMismatch when it is weaker or
// gone ("weaker than asked", "removed"). cpu_weight is a share, not a
// bound: any other value is a mismatch ("differs from what was asked").
VerificationCheck CompareLimit(const Limits& asked, const Limits& found,
                               LimitKind kind, std::string source);

// --- The OS managers' plan -------------------------------------------------
//
// An OS manager starts from PlanVerification() and reads back the checks
// left awaiting it (a cgroup limit, an rlimit, a namespace...), replacing
// found, source, result and detail:
//   Verification v = internal::PlanVerification(limits, isolation, report);
//   for (VerificationCheck& c : v.checks) {
//     if (!internal::AwaitsReadBack(c)) continue;
//     ...  // read it, set c.found, c.source, c.result, c.detail
//   }

// The detail of a check that the platform has still to read back.
inline constexpr char kNotReadBack[] = "not read back";
// The detail for what a platform cannot read of another process.
inline constexpr char kPlatformCannotReadBack[] =
    "this platform cannot read it back";

// One check per entry of `enforcement` (limits first, then isolation, in
// its order): NotEnforcedCheck for an entry that is not enforced,
// LibraryHeldCheck for a limit the library holds (Mechanism::kReactor), and
// for anything else kUnverified with detail kNotReadBack, `asked` filled
// in. `time` is left to the caller (its clock).
Verification PlanVerification(const Limits& limits, const Isolation& isolation,
                              const Enforcement& enforcement);

// Whether `check` still waits for the platform (see PlanVerification).
bool AwaitsReadBack(const VerificationCheck& check);

// Marks every check still awaiting a read-back as kUnverified with `why`.
void LeaveUnread(Verification& verification, const std::string& why);

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_VERIFY_CHECKS_H_
