// NewOsManager on Windows: the neutral OS manager (src/os) over the Windows
// backend (Job Objects and an I/O completion port); and NewPosixManager,
// which has no backend here (CMake builds this file instead of
// os/no_backend.cc).
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "os/os_manager.h"
#include "os/platform.h"
#include "procsandbox/manager.h"
#include "procsandbox/os_manager.h"
#include "windows/windows_platform.h"

namespace procsandbox {

absl::StatusOr<std::unique_ptr<Manager>> NewOsManager(
    OsManagerOptions options) {
  if (absl::Status s = os_internal::ValidateManagerOptions(options); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<os_internal::Platform>> platform =
      windows_internal::NewWindowsPlatform(options);
  if (!platform.ok()) return platform.status();
  return os_internal::NewManager(std::move(options), *std::move(platform));
}

absl::StatusOr<std::unique_ptr<Manager>> NewPosixManager(
    OsManagerOptions /*options*/) {
  return absl::FailedPreconditionError(
      "create the POSIX manager: Windows is not a POSIX system (use "
      "NewOsManager)");
}

}  // namespace procsandbox
