// NewSlurmManager() where the library has no Slurm manager (Windows: Slurm's
// client commands are POSIX programs): FailedPrecondition, instead of a link
// error.
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "procsandbox/manager.h"
#include "procsandbox/slurm_manager.h"

namespace procsandbox {

absl::StatusOr<std::unique_ptr<Manager>> NewSlurmManager(
    SlurmOptions /*options*/) {
  return absl::FailedPreconditionError(
      "create the Slurm manager: Slurm's client commands are not available "
      "on this platform");
}

}  // namespace procsandbox
