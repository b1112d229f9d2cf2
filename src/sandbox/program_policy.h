// Which program a run may start: resolution to a real file, then the
// policy's checks on it.
#ifndef PROCSANDBOX_SRC_SANDBOX_PROGRAM_POLICY_H_
#define PROCSANDBOX_SRC_SANDBOX_PROGRAM_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "procsandbox/sandbox/policy.h"

namespace procsandbox::sandbox_internal {

// Resolves `program` on `search_path` with the policy's resolver and checks
// it (see ProgramPolicy; `args` only tells whether an exec wrapper was given
// any argument). The file to run, or a violation (or NotFound).
absl::StatusOr<ProgramFile> CheckProgram(const ProgramPolicy& policy,
                                         absl::string_view program,
                                         const std::vector<std::string>& args,
                                         absl::string_view search_path);

// The part of `path` after its last '/'.
absl::string_view BaseName(absl::string_view path);

}  // namespace procsandbox::sandbox_internal

#endif  // PROCSANDBOX_SRC_SANDBOX_PROGRAM_POLICY_H_
