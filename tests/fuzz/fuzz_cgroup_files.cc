// The cgroup texts the Linux backend reads: /proc/self/mountinfo with
// /proc/self/cgroup (ParseCgroupHost), and the flat-keyed and single-value
// files (memory.events, pids.events, cpu.stat, memory.stat, cpuacct.stat,
// memory.oom_control, cgroup.procs). Input: mountinfo, a NUL byte, then
// /proc/self/cgroup; the whole input is also read as each cgroup file.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "fuzz_support.h"
#include "linux/cgroup_detect.h"
#include "linux/cgroup_fs.h"

namespace {

namespace linux_internal = procsandbox::linux_internal;
using linux_internal::CgroupHost;

// A group directory found is the mount itself or a path below it, with no
// "." or ".." component: nothing outside what is mounted.
void CheckGroup(const std::string& mount, const std::string& group) {
  if (group.empty()) return;
  FUZZ_CHECK(absl::StartsWith(group, mount));
  const absl::string_view below = absl::string_view(group).substr(mount.size());
  if (below.empty()) return;
  FUZZ_CHECK(below[0] == '/' || absl::EndsWith(mount, "/"));
  for (absl::string_view part : absl::StrSplit(below, '/')) {
    FUZZ_CHECK(part != ".." && part != ".");
  }
}

void CheckHost(const CgroupHost& host) {
  const bool v2 = !host.v2_mount.empty();
  const bool v1 = !host.v1.empty();
  switch (host.mode) {
    case CgroupHost::Mode::kNone:
      FUZZ_CHECK(!v1);
      break;
    case CgroupHost::Mode::kV1:
      FUZZ_CHECK(v1);
      break;
    case CgroupHost::Mode::kV2:
      FUZZ_CHECK(!v1);
      break;
    case CgroupHost::Mode::kHybrid:
      FUZZ_CHECK(v1);
      break;
  }
  (void)v2;
  CheckGroup(host.v2_mount, host.v2_group);
  for (const CgroupHost::V1& h : host.v1) {
    FUZZ_CHECK(!h.controllers.empty());
    for (const std::string& c : h.controllers) {
      FUZZ_CHECK(host.FindV1(c) != nullptr);
    }
    CheckGroup(h.mount, h.group);
  }
}

// A counter scaled to nanoseconds (cpu.stat's usec, cpuacct.stat's ticks)
// is non-negative and exact, or absent when it would not fit.
void CheckScaled(std::optional<int64_t> value, int64_t factor) {
  const std::optional<int64_t> scaled =
      linux_internal::ScaledCounter(value, factor);
  if (!value.has_value()) {
    FUZZ_CHECK(!scaled.has_value());
    return;
  }
  FUZZ_CHECK(*value >= 0);
  if (*value <= std::numeric_limits<int64_t>::max() / factor) {
    FUZZ_CHECK(scaled == *value * factor);
  } else {
    FUZZ_CHECK(!scaled.has_value());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = text.find('\0');
  const absl::string_view mountinfo = text.substr(0, nul);
  const absl::string_view cgroup = nul == absl::string_view::npos
                                       ? absl::string_view()
                                       : text.substr(nul + 1);
  CheckHost(linux_internal::ParseCgroupHost(mountinfo, cgroup));

  // Every number read from a cgroup file is a count: never negative.
  if (std::optional<int64_t> v = linux_internal::ParseCgroupInt(text)) {
    FUZZ_CHECK(*v >= 0);
  }
  for (const char* key : {"oom_kill", "oom", "max", "low", "high", "populated",
                          "frozen", "usage_usec", "user_usec", "system_usec",
                          "user", "system", "anon", "file", "pgfault"}) {
    const std::optional<int64_t> v = linux_internal::FlatKeyedValue(text, key);
    if (v.has_value()) FUZZ_CHECK(*v >= 0);
    CheckScaled(v, 1000);        // cpu.stat: microseconds
    CheckScaled(v, 10000000);    // cpuacct.stat: USER_HZ 100
    CheckScaled(v, 1000000000);  // cpuacct.stat: USER_HZ 1
  }
  for (int64_t pid : linux_internal::ParsePids(text)) FUZZ_CHECK(pid > 0);
  // Sums of two counters (memory.failcnt + memory.memsw.failcnt).
  const std::optional<int64_t> a = linux_internal::ParseCgroupInt(mountinfo);
  const std::optional<int64_t> b = linux_internal::ParseCgroupInt(cgroup);
  const int64_t sum = linux_internal::AddCounters(a.value_or(0), b.value_or(0));
  FUZZ_CHECK(sum >= a.value_or(0) && sum >= b.value_or(0));
  return 0;
}
