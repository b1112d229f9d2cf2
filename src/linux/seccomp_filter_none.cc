// Built without libseccomp (PROCSANDBOX_SECCOMP): no filters.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "linux/seccomp_filter.h"

namespace procsandbox::linux_internal {

absl::StatusOr<std::string> SeccompLibrary() {
  return absl::FailedPreconditionError(
      "built without libseccomp (PROCSANDBOX_SECCOMP)");
}

absl::StatusOr<std::vector<sock_filter>> CompileSeccompFilter(
    const SeccompFilter& /*filter*/, const SeccompCompileOptions& /*options*/) {
  return SeccompLibrary().status();
}

std::string SyscallName(int /*number*/) { return ""; }

}  // namespace procsandbox::linux_internal
