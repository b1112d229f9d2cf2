// SecurityViolation: names, the Status payload, and its text.
#include "sandbox/security_violation.h"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "procsandbox/sandbox/violation.h"

namespace procsandbox {
namespace {

using Kind = SecurityViolation::Kind;
using Severity = SecurityViolation::Severity;

constexpr Kind kAllKinds[] = {
    Kind::kProgramNotAllowed,
    Kind::kPrivilegeTool,
    Kind::kSetuidProgram,
    Kind::kShellRefused,
    Kind::kUnsafeProgramFile,
    Kind::kPathTraversal,
    Kind::kUnsafeRoot,
    Kind::kForbiddenEnvironmentName,
    Kind::kInvalidEnvironmentName,
    Kind::kLimitMismatch,
};
constexpr Severity kAllSeverities[] = {Severity::kLow, Severity::kMedium,
                                       Severity::kHigh, Severity::kCritical};

Severity DefaultSeverity(Kind kind) {
  switch (kind) {
    case Kind::kPrivilegeTool:
    case Kind::kLimitMismatch:
      return Severity::kCritical;
    case Kind::kSetuidProgram:
    case Kind::kUnsafeProgramFile:
    case Kind::kPathTraversal:
    case Kind::kUnsafeRoot:
      return Severity::kHigh;
    case Kind::kProgramNotAllowed:
    case Kind::kShellRefused:
    case Kind::kForbiddenEnvironmentName:
      return Severity::kMedium;
    case Kind::kInvalidEnvironmentName:
      return Severity::kLow;
  }
  return Severity::kMedium;
}

// Payload: "<kind>\n<severity>\n<subject size>\n<subject><message>" (the
// subject may hold any byte, so it is length-prefixed).
std::string Encode(const SecurityViolation& v) {
  return fmt::format("{}\n{}\n{}\n{}{}", SecurityViolationKindName(v.kind),
                     SeverityName(v.severity), v.subject.size(), v.subject,
                     v.message);
}

// Takes the text up to the next '\n' from `in`; false when there is none.
bool TakeField(absl::string_view& in, absl::string_view& field) {
  const std::size_t nl = in.find('\n');
  if (nl == absl::string_view::npos) return false;
  field = in.substr(0, nl);
  in.remove_prefix(nl + 1);
  return true;
}

std::optional<SecurityViolation> Decode(absl::string_view in) {
  absl::string_view kind_name, severity_name, size_text;
  if (!TakeField(in, kind_name) || !TakeField(in, severity_name) ||
      !TakeField(in, size_text)) {
    return std::nullopt;
  }
  SecurityViolation v;
  bool kind_found = false, severity_found = false;
  for (Kind k : kAllKinds) {
    if (SecurityViolationKindName(k) == kind_name) {
      v.kind = k;
      kind_found = true;
    }
  }
  for (Severity s : kAllSeverities) {
    if (SeverityName(s) == severity_name) {
      v.severity = s;
      severity_found = true;
    }
  }
  std::size_t size = 0;
  if (!kind_found || !severity_found || !absl::SimpleAtoi(size_text, &size) ||
      size > in.size()) {
    return std::nullopt;
  }
  v.subject = std::string(in.substr(0, size));
  v.message = std::string(in.substr(size));
  return v;
}

}  // namespace

absl::string_view SecurityViolationKindName(SecurityViolation::Kind kind) {
  switch (kind) {
    case Kind::kProgramNotAllowed:
      return "program_not_allowed";
    case Kind::kPrivilegeTool:
      return "privilege_tool";
    case Kind::kSetuidProgram:
      return "setuid_program";
    case Kind::kShellRefused:
      return "shell_refused";
    case Kind::kUnsafeProgramFile:
      return "unsafe_program_file";
    case Kind::kPathTraversal:
      return "path_traversal";
    case Kind::kUnsafeRoot:
      return "unsafe_root";
    case Kind::kForbiddenEnvironmentName:
      return "forbidden_environment_name";
    case Kind::kInvalidEnvironmentName:
      return "invalid_environment_name";
    case Kind::kLimitMismatch:
      return "limit_mismatch";
  }
  return "unknown";
}

absl::string_view SeverityName(SecurityViolation::Severity severity) {
  switch (severity) {
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "unknown";
}

absl::Status ToStatus(const SecurityViolation& violation) {
  const bool bad_input = violation.kind == Kind::kInvalidEnvironmentName ||
                         violation.kind == Kind::kPathTraversal;
  absl::Status status(bad_input ? absl::StatusCode::kInvalidArgument
                                : absl::StatusCode::kPermissionDenied,
                      violation.message);
  status.SetPayload(kSecurityViolationUrl, absl::Cord(Encode(violation)));
  return status;
}

std::optional<SecurityViolation> GetSecurityViolation(
    const absl::Status& status) {
  auto payload = status.GetPayload(kSecurityViolationUrl);
  if (!payload.has_value()) return std::nullopt;
  return Decode(std::string(*payload));
}

std::string ToString(const SecurityViolation& violation) {
  return fmt::format("{} ({}): {}", SecurityViolationKindName(violation.kind),
                     SeverityName(violation.severity), violation.message);
}

namespace sandbox_internal {

absl::Status Violation(SecurityViolation::Kind kind, std::string subject,
                       std::string message) {
  SecurityViolation v;
  v.kind = kind;
  v.severity = DefaultSeverity(kind);
  v.subject = std::move(subject);
  v.message = std::move(message);
  return ToStatus(v);
}

}  // namespace sandbox_internal
}  // namespace procsandbox
