#include "linux/cgroup_detect.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"
#include "posix/errno_status.h"
#include "posix/unique_fd.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::ErrnoStatus;
using ::procsandbox::posix_internal::UniqueFd;

namespace {

absl::StatusOr<std::string> ReadWhole(const char* path) {
  UniqueFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(errno, fmt::format("open {}", path));
  std::string text;
  char block[4096];
  for (;;) {
    const ssize_t n = read(fd.get(), block, sizeof(block));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("read {}", path));
    if (n == 0) return text;
    text.append(block, static_cast<std::size_t>(n));
  }
}

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(absl::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' &&
        s[i + 1] <= '3' && IsOctal(s[i + 2]) && IsOctal(s[i + 3])) {
      out.push_back(static_cast<char>((s[i + 1] - '0') * 64 +
                                      (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// "/" or "/a/b": absolute, no empty, "." or ".." component, no NUL. The
// kernel writes group paths and mount roots so; anything else (a corrupt or
// forged file) could name a directory outside the hierarchy.
bool IsCleanAbsolute(absl::string_view path) {
  if (path == "/") return true;
  if (!absl::StartsWith(path, "/") || absl::StrContains(path, '\0')) {
    return false;
  }
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

// The directory of `group` (a path in the hierarchy, "/a/b") under a mount
// whose root is `root`: empty when the group is outside what is mounted, or
// either path is not a clean absolute one.
std::string GroupDirectory(const std::string& mount, const std::string& root,
                           const std::string& group) {
  if (!IsCleanAbsolute(root) || !IsCleanAbsolute(group)) return "";
  if (root == "/") return group == "/" ? mount : mount + group;
  if (group == root) return mount;
  if (absl::StartsWith(group, root + "/")) {
    return mount + group.substr(root.size());
  }
  return "";
}

struct Mount {
  std::string root;
  std::string point;
  std::vector<std::string> controllers;  // v1
};

}  // namespace

const CgroupHost::V1* CgroupHost::FindV1(absl::string_view controller) const {
  for (const V1& h : v1) {
    for (const std::string& c : h.controllers) {
      if (c == controller) return &h;
    }
  }
  return nullptr;
}

absl::string_view CgroupModeName(CgroupHost::Mode mode) {
  switch (mode) {
    case CgroupHost::Mode::kNone:
      return "none";
    case CgroupHost::Mode::kV1:
      return "v1";
    case CgroupHost::Mode::kV2:
      return "v2";
    case CgroupHost::Mode::kHybrid:
      return "hybrid";
  }
  return "none";
}

CgroupHost ParseCgroupHost(absl::string_view mountinfo,
                           absl::string_view proc_self_cgroup) {
  std::vector<Mount> v1_mounts;
  std::optional<Mount> v2_mount;
  for (absl::string_view line :
       absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // id parent major:minor root point options [optional...] - type source
    // super-options
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    std::size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    // Up to the super options: a line cut after the source has none.
    if (dash < 6 || dash + 3 >= f.size()) continue;
    const absl::string_view type = f[dash + 1];
    Mount m{Unescape(f[3]), Unescape(f[4]), {}};
    if (type == "cgroup2") {
      if (!v2_mount) v2_mount = m;  // the first one
    } else if (type == "cgroup") {
      for (absl::string_view opt : absl::StrSplit(f[dash + 3], ',')) {
        if (opt == "memory" || opt == "pids" || opt == "cpu" ||
            opt == "cpuacct" || opt == "freezer" || opt == "cpuset" ||
            opt == "blkio" || opt == "devices" || opt == "hugetlb" ||
            opt == "net_cls" || opt == "net_prio" || opt == "perf_event" ||
            opt == "rdma" || opt == "misc") {
          m.controllers.emplace_back(opt);
        }
      }
      if (!m.controllers.empty()) v1_mounts.push_back(std::move(m));
    }
  }
  // hierarchy-id:controllers:path
  std::map<std::string, std::string> group_of;  // controller -> path
  std::string v2_path;
  bool has_v2_line = false;
  for (absl::string_view line :
       absl::StrSplit(proc_self_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f =
        absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (f[0] == "0" && f[1].empty()) {
      v2_path = std::string(f[2]);
      has_v2_line = true;
      continue;
    }
    for (absl::string_view c : absl::StrSplit(f[1], ',')) {
      group_of[std::string(c)] = std::string(f[2]);
    }
  }
  CgroupHost host;
  if (v2_mount) {
    host.v2_mount = v2_mount->point;
    if (has_v2_line) {
      host.v2_group = GroupDirectory(v2_mount->point, v2_mount->root, v2_path);
    }
  }
  for (const Mount& m : v1_mounts) {
    CgroupHost::V1 h{m.point, m.controllers, ""};
    auto it = group_of.find(m.controllers.front());
    if (it != group_of.end()) {
      h.group = GroupDirectory(m.point, m.root, it->second);
    }
    host.v1.push_back(std::move(h));
  }
  if (v2_mount && !host.v1.empty()) {
    host.mode = CgroupHost::Mode::kHybrid;
  } else if (v2_mount) {
    host.mode = CgroupHost::Mode::kV2;
  } else if (!host.v1.empty()) {
    host.mode = CgroupHost::Mode::kV1;
  }
  return host;
}

absl::StatusOr<CgroupHost> ReadCgroupHost() {
  absl::StatusOr<std::string> mountinfo = ReadWhole("/proc/self/mountinfo");
  if (!mountinfo.ok()) return mountinfo.status();
  absl::StatusOr<std::string> cgroup = ReadWhole("/proc/self/cgroup");
  if (!cgroup.ok()) return cgroup.status();
  return ParseCgroupHost(*mountinfo, *cgroup);
}

CgroupHost DetectCgroupHost() {
  return ReadCgroupHost().value_or(CgroupHost{});
}

}  // namespace procsandbox::linux_internal
