// The Slurm manager (procsandbox/slurm_manager.h). Being written: until it
// lands, NewSlurmManager() says so.
#include "procsandbox/slurm_manager.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "procsandbox/manager.h"

namespace procsandbox {

absl::StatusOr<std::unique_ptr<Manager>> NewSlurmManager(
    SlurmOptions /*options*/) {
  return absl::UnimplementedError("create the Slurm manager: not yet built");
}

}  // namespace procsandbox
