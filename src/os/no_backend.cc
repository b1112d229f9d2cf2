// NewOsManager() where the library has no OS backend (CMake builds this file
// on systems other than Linux and Apple's): FailedPrecondition, as
// procsandbox/os_manager.h promises, instead of a link error. The in-memory
// manager and, on other POSIX systems, NewPosixManager() remain.
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "procsandbox/manager.h"
#include "procsandbox/os_manager.h"

namespace procsandbox {

absl::StatusOr<std::unique_ptr<Manager>> NewOsManager(
    OsManagerOptions /*options*/) {
  return absl::FailedPreconditionError(
      "create the OS manager: procsandbox has no backend for this platform");
}

}  // namespace procsandbox
