// The cgroup set-up of a new Linux OS manager.
#include "linux/cgroup_setup.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "linux/linux_child.h"
#include "linux/spawn.h"

namespace procsandbox::linux_internal {
namespace {

absl::Status OutOfResources(const absl::Status& s) {
  return absl::ResourceExhaustedError(
      fmt::format("create the Linux OS manager: {}", s.message()));
}

// The v1 controllers the manager uses, given what v2 already covers.
std::vector<std::string> V1ControllersNeeded(const CgroupDriver* v2) {
  auto covered = [&](LimitKind kind) {
    return v2 != nullptr && v2->Enforces(kind).enforced();
  };
  std::vector<std::string> needed;
  if (!covered(LimitKind::kMemory)) needed.emplace_back("memory");
  if (!covered(LimitKind::kProcesses)) needed.emplace_back("pids");
  if (!covered(LimitKind::kCpuWeight)) needed.emplace_back("cpu");
  if (v2 == nullptr || !v2->can_account_cpu()) needed.emplace_back("cpuacct");
  if (v2 == nullptr || !v2->can_track()) needed.emplace_back("freezer");
  return needed;
}

}  // namespace

absl::Status SetUpCgroups(OsManagerCore& core, CgroupSetup& setup) {
  const OsManagerOptions& options = core.options;
  if (!options.cgroups) {
    setup.v2_why = setup.v1_why = "off (OsManagerOptions::cgroups)";
    return absl::OkStatus();
  }
  // Out of descriptors (EMFILE) or memory: an error, not a host without
  // cgroups whose limits would quietly fall back to rlimits.
  absl::StatusOr<CgroupHost> host_read = ReadCgroupHost();
  if (absl::IsResourceExhausted(host_read.status())) {
    return absl::ResourceExhaustedError(fmt::format(
        "create the Linux OS manager: {}", host_read.status().message()));
  }
  if (host_read.ok()) setup.host = *std::move(host_read);
  const CgroupHost& host = setup.host;
  // A group path, the same in every hierarchy ("/services/runner"); a
  // directory under the cgroup2 mount is taken as its group path too.
  std::string root = options.cgroup_root;
  if (!root.empty() && root.front() != '/') {
    return absl::InvalidArgumentError(fmt::format(
        "cgroup_root \"{}\": must be an absolute group path", root));
  }
  if (!host.v2_mount.empty() && absl::StartsWith(root, host.v2_mount + "/")) {
    root = root.substr(host.v2_mount.size());
  }
  absl::StatusOr<ManagerGroupOwner> owner = ThisProcessOwner();
  if (!owner.ok()) {
    if (!root.empty()) {
      return absl::FailedPreconditionError(
          fmt::format("cgroup_root: {}", owner.status().message()));
    }
    setup.v2_why = setup.v1_why = std::string(owner.status().message());
    return absl::OkStatus();
  }
  // One name in every hierarchy; another when a stale-group sweep of
  // another manager took the directory between mkdir and flock (Aborted).
  static std::atomic<int64_t> managers{0};
  const std::string first_name =
      ManagerGroupName(*owner, managers.fetch_add(1));
  auto make_driver = [&owner, &first_name](const auto& make) {
    auto driver = make(first_name);
    for (int retry = 0; retry < 2 && absl::IsAborted(driver.status());
         ++retry) {
      driver = make(ManagerGroupName(*owner, managers.fetch_add(1)));
    }
    return driver;
  };
  auto remove_stale = [&core](const std::string& parent) {
    std::vector<std::string> failed;
    for (const std::string& dir : RemoveStaleGroups(parent, &failed)) {
      core.Emit(OsManagerEvent::Kind::kStaleCgroupRemoved, dir);
    }
    for (const std::string& why : failed) {
      core.Emit(OsManagerEvent::Kind::kCgroupCleanupFailed, why);
    }
  };
  if (!host.v2_mount.empty()) {
    const std::string parent =
        root.empty() ? host.v2_group : host.v2_mount + root;
    if (parent.empty()) {
      setup.v2_why = fmt::format(
          "this process's cgroup is not visible under {}", host.v2_mount);
    } else {
      remove_stale(parent);
      absl::StatusOr<std::unique_ptr<CgroupDriver>> v2 =
          make_driver([&parent](const std::string& name) {
            return NewCgroupV2Driver(
                {parent, name, Clone3IntoCgroupAvailable()});
          });
      if (v2.ok()) {
        core.cgroup_v2 = *std::move(v2);
        core.clone_into_cgroup = Clone3IntoCgroupAvailable();
      } else if (absl::IsResourceExhausted(v2.status())) {
        return OutOfResources(v2.status());
      } else if (!root.empty() && host.v1.empty()) {
        return absl::FailedPreconditionError(
            fmt::format("cgroup_root: {}", v2.status().message()));
      } else {
        setup.v2_why = std::string(v2.status().message());
      }
    }
  }
  if (!host.v1.empty()) {
    CgroupV1Config config;
    std::vector<std::string> missing;
    for (const std::string& controller :
         V1ControllersNeeded(core.cgroup_v2.get())) {
      const CgroupHost::V1* h = host.FindV1(controller);
      if (h == nullptr) continue;
      const std::string parent = root.empty() ? h->group : h->mount + root;
      if (parent.empty()) {
        missing.push_back(controller);
        continue;
      }
      config.parents[controller] = parent;
    }
    std::set<std::string> parents;
    for (const auto& [controller, parent] : config.parents) {
      parents.insert(parent);
    }
    for (const std::string& parent : parents) remove_stale(parent);
    if (config.parents.empty()) {
      setup.v1_why = missing.empty()
                         ? "no v1 controller needed beside cgroup v2"
                         : fmt::format(
                               "this process's group is not visible "
                               "in the {} hierarchies",
                               fmt::join(missing, ", "));
    } else {
      absl::StatusOr<std::unique_ptr<CgroupDriver>> v1 =
          make_driver([&config](const std::string& name) {
            config.name = name;
            return NewCgroupV1Driver(config);
          });
      if (v1.ok()) {
        core.cgroup_v1 = *std::move(v1);
      } else if (absl::IsResourceExhausted(v1.status())) {
        return OutOfResources(v1.status());
      } else if (!root.empty()) {
        return absl::FailedPreconditionError(
            fmt::format("cgroup_root: {}", v1.status().message()));
      } else {
        setup.v1_why = std::string(v1.status().message());
      }
    }
  }
  core.PrepareSpares();
  return absl::OkStatus();
}

}  // namespace procsandbox::linux_internal
