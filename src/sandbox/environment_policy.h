// The environment a sandboxed run gets: the host's variables the policy lets
// through, the policy's own, then the request's, every name checked.
#ifndef PROCSANDBOX_SRC_SANDBOX_ENVIRONMENT_POLICY_H_
#define PROCSANDBOX_SRC_SANDBOX_ENVIRONMENT_POLICY_H_

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/environment.h"
#include "procsandbox/sandbox/policy.h"

namespace procsandbox::sandbox_internal {

// "NAME", "PREFIX*", "*SUFFIX" or "*PART*" against `name`.
bool MatchesPattern(absl::string_view pattern, absl::string_view name,
                    bool ignore_case);
bool MatchesAny(const std::vector<std::string>& patterns,
                absl::string_view name, bool ignore_case);
// InvalidArgument naming `field` for an empty pattern or a '*' elsewhere
// than at its ends, or other characters than a variable name has.
absl::Status ValidatePattern(absl::string_view field,
                             absl::string_view pattern);
// [A-Za-z_][A-Za-z0-9_]*
bool IsValidVariableName(absl::string_view name);

struct BuiltEnvironment {
  Environment env;
  // Host variables the policy let through by mode but dropped (denied, or
  // looking like a credential), by name.
  std::vector<std::string> dropped;
  // Names set explicitly (policy.set or the request), as opposed to taken
  // from the host.
  std::set<std::string, std::less<>> explicit_names;
};

// The environment for a run: `host` filtered by the policy, then
// policy.set, then `request`; a secret stays secret whatever its source. An
// explicit variable (policy.set or request) with an invalid name is
// kInvalidEnvironmentName; one that is denied, or looks like a credential and
// is not a secret, kForbiddenEnvironmentName.
absl::StatusOr<BuiltEnvironment> BuildEnvironment(
    const EnvironmentPolicy& policy, const Environment& host,
    const Environment& request);

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_ENVIRONMENT_POLICY_H_
