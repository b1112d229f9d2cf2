#include "common/verify_checks.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"
#include "procsandbox/verification.h"

namespace procsandbox::internal {
namespace {

// The value of `kind` as a number to compare (nanoseconds for a duration);
// nullopt when unset.
std::optional<int64_t> LimitNumber(const Limits& limits, LimitKind kind) {
  if (!limits.has(kind)) return std::nullopt;
  switch (kind) {
    case LimitKind::kWallTime:
      return absl::ToInt64Nanoseconds(*limits.wall_time);
    case LimitKind::kCpuTime:
      return absl::ToInt64Nanoseconds(*limits.cpu_time);
    case LimitKind::kMemory:
      return *limits.memory_bytes;
    case LimitKind::kFileSize:
      return *limits.file_size_bytes;
    case LimitKind::kOpenFiles:
      return *limits.open_files;
    case LimitKind::kProcesses:
      return *limits.processes;
    case LimitKind::kOutput:
      return *limits.output_bytes;
    case LimitKind::kCpuWeight:
      return *limits.cpu_weight;
  }
  return std::nullopt;
}

VerificationCheck LimitItem(const Limits& asked, LimitKind kind) {
  VerificationCheck check;
  check.item = std::string(LimitKindName(kind));
  check.limit = kind;
  check.asked = LimitValueText(asked, kind);
  return check;
}

}  // namespace

std::string IsolationAskedText(const Isolation& isolation, IsolationKind kind) {
  switch (kind) {
    case IsolationKind::kNoNewPrivs:
      return isolation.no_new_privs ? "on" : "off";
    case IsolationKind::kCredentials: {
      std::vector<std::string> parts;
      if (isolation.uid) parts.push_back(absl::StrCat("uid ", *isolation.uid));
      if (isolation.gid) parts.push_back(absl::StrCat("gid ", *isolation.gid));
      parts.push_back(
          absl::StrCat("groups [", absl::StrJoin(isolation.groups, ","), "]"));
      return absl::StrJoin(parts, ", ");
    }
    case IsolationKind::kCapabilities:
      if (isolation.keep_capabilities.empty()) return "all dropped";
      return absl::StrCat("all dropped but ",
                          absl::StrJoin(isolation.keep_capabilities, ", "));
    case IsolationKind::kSeccomp:
      return isolation.seccomp ? ToString(*isolation.seccomp) : "none";
    default:
      return "own";  // a namespace
  }
}

bool HeldByLibrary(LimitKind kind) {
  return kind == LimitKind::kWallTime || kind == LimitKind::kOutput;
}

VerificationCheck LibraryHeldCheck(const Limits& asked, LimitKind kind) {
  VerificationCheck check = LimitItem(asked, kind);
  check.result = CheckResult::kUnverified;
  check.detail = kind == LimitKind::kWallTime
                     ? "held by the library's timer, not by the kernel"
                     : "held by the library's output accounting, not by the "
                       "kernel";
  return check;
}

VerificationCheck NotEnforcedCheck(const Limits& asked, LimitKind kind,
                                   std::string why) {
  VerificationCheck check = LimitItem(asked, kind);
  check.result = CheckResult::kNotEnforced;
  check.detail = std::move(why);
  return check;
}

VerificationCheck NotEnforcedCheck(const Isolation& asked, IsolationKind kind,
                                   std::string why) {
  VerificationCheck check;
  check.item = std::string(IsolationKindName(kind));
  check.isolation = kind;
  check.asked = IsolationAskedText(asked, kind);
  check.result = CheckResult::kNotEnforced;
  check.detail = std::move(why);
  return check;
}

VerificationCheck CompareLimit(const Limits& asked, const Limits& found,
                               LimitKind kind, std::string source) {
  VerificationCheck check = LimitItem(asked, kind);
  check.found = LimitValueText(found, kind);
  check.source = std::move(source);
  const std::optional<int64_t> want = LimitNumber(asked, kind);
  const std::optional<int64_t> got = LimitNumber(found, kind);
  if (!got.has_value()) {
    check.result =
        want.has_value() ? CheckResult::kMismatch : CheckResult::kMatch;
    if (want.has_value()) check.detail = "removed";
  } else if (!want.has_value() || *got == *want) {
    // Nothing asked (a check of a limit nobody asked for), or the same.
    check.result = CheckResult::kMatch;
  } else if (kind == LimitKind::kCpuWeight) {
    check.result = CheckResult::kMismatch;
    check.detail = "differs from what was asked";
  } else if (*got > *want) {
    check.result = CheckResult::kMismatch;
    check.detail = "weaker than asked";
  } else {
    check.result = CheckResult::kMatch;
    check.detail = "stricter than asked";
  }
  return check;
}

Verification PlanVerification(const Limits& limits, const Isolation& isolation,
                              const Enforcement& enforcement) {
  Verification v;
  for (const LimitEnforcement& e : enforcement.limits) {
    if (!e.enforced()) {
      v.checks.push_back(NotEnforcedCheck(limits, e.limit, e.detail));
    } else if (e.mechanism == Mechanism::kReactor) {
      v.checks.push_back(LibraryHeldCheck(limits, e.limit));
    } else {
      VerificationCheck check = LimitItem(limits, e.limit);
      check.result = CheckResult::kUnverified;
      check.detail = kNotReadBack;
      v.checks.push_back(std::move(check));
    }
  }
  for (const IsolationEnforcement& e : enforcement.isolation) {
    VerificationCheck check = NotEnforcedCheck(isolation, e.kind, e.detail);
    if (e.enforced) {
      check.result = CheckResult::kUnverified;
      check.detail = kNotReadBack;
    }
    v.checks.push_back(std::move(check));
  }
  return v;
}

bool AwaitsReadBack(const VerificationCheck& check) {
  return check.result == CheckResult::kUnverified &&
         check.detail == kNotReadBack;
}

void LeaveUnread(Verification& verification, const std::string& why) {
  for (VerificationCheck& check : verification.checks) {
    if (AwaitsReadBack(check)) check.detail = why;
  }
}

}  // namespace procsandbox::internal
