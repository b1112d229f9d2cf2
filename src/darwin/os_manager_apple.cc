// NewOsManager on Apple systems: the POSIX backend (CMake builds this file
// there only; written, not built on the Linux machine that runs the tests).
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "procsandbox/manager.h"
#include "procsandbox/os_manager.h"

namespace procsandbox {

absl::StatusOr<std::unique_ptr<Manager>> NewOsManager(
    OsManagerOptions options) {
  return NewPosixManager(std::move(options));
}

}  // namespace procsandbox
