// Process::Verify() on Linux: what the kernel says holds for a running
// process, read back and compared with what it asked for.
//
// Read (LinuxChild::ReadBack): through a descriptor of /proc/PID opened
// while the leader was known not to be reaped (so the directory is that
// process's, whatever happens to the pid later): `limits` (the rlimits),
// `status` (Uid, Gid, Groups, NoNewPrivs, the capability sets, Seccomp),
// `cgroup` (membership per hierarchy), `uid_map`/`gid_map` (ids inside a
// user namespace) and `ns/<x>`; and the limit files of the tree's groups.
// The comparison (FillVerification) takes those texts, so that tests feed
// it what a host cannot show (a v2 hierarchy, a raised limit).
#ifndef PROCSANDBOX_SRC_LINUX_VERIFY_H_
#define PROCSANDBOX_SRC_LINUX_VERIFY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "posix/exec_plan.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/isolation.h"
#include "procsandbox/limits.h"
#include "procsandbox/verification.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::RlimitSetting;

// What was read of one process (and of the manager, to compare with).
struct ProcessReadings {
  std::string proc_dir;  // "/proc/123": the sources name files in it
  absl::StatusOr<std::string> limits = std::string();
  absl::StatusOr<std::string> status = std::string();
  absl::StatusOr<std::string> uid_map = std::string();
  absl::StatusOr<std::string> gid_map = std::string();
  // Where /proc/PID/cgroup puts the process, through the manager's mounts
  // (ParseCgroupHost of /proc/self/mountinfo and /proc/PID/cgroup), and the
  // error when those could not be read.
  CgroupHost cgroups_seen;
  absl::Status cgroups_read;
  // The tree's groups: their directories and their limit files read now.
  std::vector<CgroupPlace> places;
  std::vector<CgroupLimitReading> cgroup_limits;
  // Per namespace asked for: the links /proc/PID/ns/<x> and
  // /proc/self/ns/<x> ("net:[4026531840]").
  struct NamespaceLinks {
    absl::StatusOr<std::string> process = std::string();
    absl::StatusOr<std::string> manager = std::string();
  };
  std::map<IsolationKind, NamespaceLinks> namespaces;
  // The manager holds CAP_SETPCAP (it can empty a child's bounding set).
  bool manager_has_setpcap = true;
};

// Fills in every check of `verification` awaiting a read-back
// (internal::AwaitsReadBack) from `readings`, and appends one "cgroup"
// check per directory of the tree's groups. `limits`, `enforcement` and
// `isolation` are what the process asked for and got at Start().
void FillVerification(const Limits& limits, const Enforcement& enforcement,
                      const Isolation& isolation,
                      const ProcessReadings& readings,
                      Verification& verification);

// The soft and hard values of `resource` (RLIMIT_NOFILE, ...) in the text
// of /proc/PID/limits (RLIM_INFINITY for "unlimited"), or nullopt.
std::optional<RlimitSetting> ParseProcLimit(absl::string_view limits_text,
                                            int resource);
// The value of `key` in the text of /proc/PID/status ("Uid" ->
// "0\t0\t0\t0"), or nullopt.
std::optional<std::string> StatusField(absl::string_view status_text,
                                       absl::string_view key);

}  // namespace procsandbox::linux_internal

#endif  // PROCSANDBOX_SRC_LINUX_VERIFY_H_
