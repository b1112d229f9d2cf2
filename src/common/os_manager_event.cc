// OsManagerEvent: names and text (every platform).
#include <string>

#include "absl/strings/str_cat.h"
#include "procsandbox/os_manager.h"

namespace procsandbox {

absl::string_view OsManagerEventKindName(OsManagerEvent::Kind kind) {
  switch (kind) {
    case OsManagerEvent::Kind::kStaleCgroupRemoved:
      return "stale_cgroup_removed";
    case OsManagerEvent::Kind::kCgroupCleanupFailed:
      return "cgroup_cleanup_failed";
    case OsManagerEvent::Kind::kCgroupDegraded:
      return "cgroup_degraded";
  }
  return "unknown";
}

std::string ToString(const OsManagerEvent& event) {
  return absl::StrCat(OsManagerEventKindName(event.kind), ": ", event.detail);
}

}  // namespace procsandbox
