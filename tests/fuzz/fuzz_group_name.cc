// The stale-group name parser: a manager directory's name is
// "procsandbox-<pid namespace>-<pid>-<start ticks>-<n>", each a decimal
// number written without sign, space or leading zero. A name it accepts is
// exactly the name ManagerGroupName() gives that owner; anything else is
// refused (a directory it cannot parse is never removed).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "fuzz_support.h"
#include "linux/cgroup.h"

namespace {

namespace linux_internal = procsandbox::linux_internal;
using procsandbox::fuzz::Input;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string name(reinterpret_cast<const char*>(data), size);
  if (std::optional<linux_internal::ManagerGroupOwner> owner =
          linux_internal::ParseManagerGroupName(name)) {
    FUZZ_CHECK(owner->pid > 0 && owner->pid_namespace > 0);
    const std::size_t last = name.rfind('-');
    FUZZ_CHECK(last != std::string::npos);
    int64_t n = -1;
    FUZZ_CHECK(absl::SimpleAtoi(name.substr(last + 1), &n) && n >= 0);
    FUZZ_CHECK(linux_internal::ManagerGroupName(*owner, n) == name);
  }
  // Every name the manager gives reads back as its owner.
  Input in(data, size);
  linux_internal::ManagerGroupOwner owner;
  owner.pid_namespace = in.U64() | 1;
  owner.pid = static_cast<int64_t>(in.U64() >> 1) | 1;
  owner.start_ticks = in.U64();
  const int64_t n = static_cast<int64_t>(in.U64() >> 1);
  const std::optional<linux_internal::ManagerGroupOwner> back =
      linux_internal::ParseManagerGroupName(
          linux_internal::ManagerGroupName(owner, n));
  FUZZ_CHECK(back.has_value());
  FUZZ_CHECK(back->pid_namespace == owner.pid_namespace &&
             back->pid == owner.pid && back->start_ticks == owner.start_ticks);
  return 0;
}
