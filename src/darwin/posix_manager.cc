// NewPosixManager: the neutral OS manager (src/os) over the POSIX backend.
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "darwin/posix_platform.h"
#include "os/os_manager.h"
#include "os/platform.h"
#include "procsandbox/manager.h"
#include "procsandbox/os_manager.h"

namespace procsandbox {

absl::StatusOr<std::unique_ptr<Manager>> NewPosixManager(
    OsManagerOptions options) {
  if (absl::Status s = os_internal::ValidateManagerOptions(options); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<os_internal::Platform>> platform =
      darwin_internal::NewPosixPlatform(options);
  if (!platform.ok()) return platform.status();
  return os_internal::NewManager(std::move(options), *std::move(platform));
}

}  // namespace procsandbox
