#include "common/verification_plan.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace procsandbox::internal {

std::string AskedLimit(const Limits& limits, LimitKind kind) {
  switch (kind) {
    case LimitKind::kWallTime:
      return limits.wall_time ? procsandbox::FormatDuration(*limits.wall_time)
                              : "";
    case LimitKind::kCpuTime:
      return limits.cpu_time ? procsandbox::FormatDuration(*limits.cpu_time)
                             : "";
    case LimitKind::kMemory:
      return limits.memory_bytes ? FormatByteSize(*limits.memory_bytes) : "";
    case LimitKind::kFileSize:
      return limits.file_size_bytes ? FormatByteSize(*limits.file_size_bytes)
                                    : "";
    case LimitKind::kOpenFiles:
      return limits.open_files ? absl::StrCat(*limits.open_files) : "";
    case LimitKind::kProcesses:
      return limits.processes ? absl::StrCat(*limits.processes) : "";
    case LimitKind::kOutput:
      return limits.output_bytes ? FormatByteSize(*limits.output_bytes) : "";
    case LimitKind::kCpuWeight:
      return limits.cpu_weight ? absl::StrCat(*limits.cpu_weight) : "";
  }
  return "";
}

std::string AskedIsolation(const Isolation& isolation, IsolationKind kind) {
  switch (kind) {
    case IsolationKind::kNoNewPrivs:
      return "on";
    case IsolationKind::kCredentials: {
      std::vector<std::string> parts;
      if (isolation.uid) parts.push_back(absl::StrCat("uid ", *isolation.uid));
      if (isolation.gid) parts.push_back(absl::StrCat("gid ", *isolation.gid));
      parts.push_back(
          isolation.groups.empty()
              ? std::string("groups none")
              : absl::StrCat("groups ", absl::StrJoin(isolation.groups, ",")));
      return absl::StrJoin(parts, ", ");
    }
    case IsolationKind::kCapabilities: {
      if (isolation.keep_capabilities.empty()) return "none";
      std::vector<std::string> names;
      for (const std::string& name : isolation.keep_capabilities) {
        absl::StatusOr<int> number = ParseCapability(name);
        names.push_back(number.ok() ? CapabilityName(*number) : name);
      }
      return absl::StrCat("only ", absl::StrJoin(names, ", "));
    }
    case IsolationKind::kSeccomp:
      if (!isolation.seccomp) return "a filter";
      return absl::StrCat("a filter (default ",
                          SeccompActionName(isolation.seccomp->default_action),
                          ", ", isolation.seccomp->rules.size(), " rules)");
    case IsolationKind::kUserNamespace:
    case IsolationKind::kMountNamespace:
    case IsolationKind::kPidNamespace:
    case IsolationKind::kNetNamespace:
    case IsolationKind::kIpcNamespace:
    case IsolationKind::kUtsNamespace:
    case IsolationKind::kCgroupNamespace:
      return "own";
  }
  return "";
}

Verification PlanVerification(const Limits& limits, const Isolation& isolation,
                              const Enforcement& enforcement) {
  Verification v;
  for (const LimitEnforcement& e : enforcement.limits) {
    VerificationCheck c;
    c.item = std::string(LimitKindName(e.limit));
    c.limit = e.limit;
    c.asked = AskedLimit(limits, e.limit);
    c.result = CheckResult::kUnverified;
    if (e.mechanism == Mechanism::kNone) {
      c.result = CheckResult::kNotEnforced;
      c.detail = e.detail;
    } else if (e.mechanism == Mechanism::kReactor) {
      c.detail =
          absl::StrCat("held by the library, not the kernel (", e.detail, ")");
    } else {
      c.detail = kNotReadBack;
    }
    v.checks.push_back(std::move(c));
  }
  for (const IsolationEnforcement& e : enforcement.isolation) {
    VerificationCheck c;
    c.item = std::string(IsolationKindName(e.kind));
    c.isolation = e.kind;
    c.asked = AskedIsolation(isolation, e.kind);
    c.result =
        e.enforced ? CheckResult::kUnverified : CheckResult::kNotEnforced;
    c.detail = e.enforced ? std::string(kNotReadBack) : e.detail;
    v.checks.push_back(std::move(c));
  }
  return v;
}

bool AwaitsReadBack(const VerificationCheck& check) {
  return check.result == CheckResult::kUnverified &&
         check.detail == kNotReadBack;
}

void CompareAtMost(int64_t asked, std::optional<int64_t> found,
                   std::string found_text, VerificationCheck& check) {
  check.found = std::move(found_text);
  if (found && *found <= asked) {
    check.result = CheckResult::kMatch;
    check.detail = *found < asked ? "stricter than asked" : "";
    return;
  }
  check.result = CheckResult::kMismatch;
  check.detail = found ? "weaker than asked" : "no limit in force";
}

void LeaveUnread(Verification& verification, const std::string& why) {
  for (VerificationCheck& c : verification.checks) {
    if (AwaitsReadBack(c)) c.detail = why;
  }
}

}  // namespace procsandbox::internal
