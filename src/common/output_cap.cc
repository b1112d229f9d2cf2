#include "common/output_cap.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "procsandbox/command.h"

namespace procsandbox::internal {

OutputCap CapOutput(std::optional<int64_t> limit, int64_t kept,
                    std::size_t block, OutputLimitAction on_limit) {
  OutputCap cap;
  cap.keep = block;
  if (!limit.has_value()) return cap;
  const int64_t room = std::max<int64_t>(0, *limit - kept);
  if (static_cast<int64_t>(block) > room) {
    cap.keep = static_cast<std::size_t>(room);
    cap.truncated = true;
    cap.stop = on_limit == OutputLimitAction::kStop;
  }
  return cap;
}

}  // namespace procsandbox::internal
