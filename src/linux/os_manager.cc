// NewOsManager on Linux: the manager, its capabilities probe, and shutdown.
#include "procsandbox/os_manager.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "posix/errno_status.h"
#include "linux/os_process.h"
#include "linux/spawn.h"

namespace procsandbox {
namespace linux_internal {

using ::procsandbox::posix_internal::ErrnoName;

namespace {

// The limits a cgroup can carry.
bool CgroupKind(LimitKind kind) {
  return kind == LimitKind::kMemory || kind == LimitKind::kProcesses ||
         kind == LimitKind::kCpuTime || kind == LimitKind::kCpuWeight;
}

std::string FeatureDetail(const CgroupDriver* driver, absl::string_view why) {
  if (driver == nullptr) return std::string(why);
  std::vector<std::string> parts;
  for (LimitKind kind : {LimitKind::kMemory, LimitKind::kProcesses,
                         LimitKind::kCpuTime, LimitKind::kCpuWeight}) {
    if (driver->Enforces(kind).enforced()) {
      parts.emplace_back(LimitKindName(kind));
    }
  }
  if (driver->can_track()) parts.emplace_back("tree kill and freeze");
  return fmt::format("{}: {}", fmt::join(driver->directories(), ", "),
                     parts.empty() ? std::string("no controller")
                                   : fmt::format("{}", fmt::join(parts, ", ")));
}

// What the kernel offers beyond what the manager uses today, for doctor
// reports: its release, namespaces, seccomp, no_new_privs.
std::vector<Feature> HostFeatures() {
  std::vector<Feature> features;
  struct utsname uts = {};
  const bool named = uname(&uts) == 0;
  features.push_back({"kernel", named,
                      named ? fmt::format("{} {}", uts.sysname, uts.release)
                            : std::string("uname failed")});
  std::vector<std::string> namespaces;
  for (const char* ns :
       {"user", "pid", "mnt", "net", "ipc", "uts", "cgroup", "time"}) {
    if (access(fmt::format("/proc/self/ns/{}", ns).c_str(), F_OK) == 0) {
      namespaces.emplace_back(ns);
    }
  }
  features.push_back(
      {"namespaces", !namespaces.empty(),
       namespaces.empty()
           ? std::string("none in /proc/self/ns (not used yet)")
           : fmt::format("{} (not used yet)", fmt::join(namespaces, ", "))});
  const bool seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
  features.push_back(
      {"seccomp", seccomp,
       seccomp ? "PR_GET_SECCOMP works (filters not used yet)"
               : fmt::format("PR_GET_SECCOMP: {}", ErrnoName(errno))});
  const bool nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) >= 0;
  features.push_back({"no_new_privs", nnp,
                      nnp ? "PR_SET_NO_NEW_PRIVS before exec (Isolation)"
                          : "PR_GET_NO_NEW_PRIVS failed"});
  return features;
}

absl::Status OutOfResources(const absl::Status& s) {
  return absl::ResourceExhaustedError(
      fmt::format("create the Linux OS manager: {}", s.message()));
}

struct CgroupSetup {
  CgroupHost host;
  std::string v2_why = "no cgroup2 mount";
  std::string v1_why = "no cgroup v1 controller mounted";
};

Capabilities Probe(const OsManagerCore& core, const CgroupSetup& setup) {
  Capabilities caps;
  caps.backend = "linux";
  caps.strict = core.options.strict;
  const bool root = geteuid() == 0;
  for (LimitKind kind : kAllLimitKinds) {
    LimitEnforcement entry = RlimitFallback(kind);
    if (CgroupKind(kind)) {
      std::vector<std::string> why;
      for (const CgroupDriver* d :
           {core.cgroup_v2.get(), core.cgroup_v1.get()}) {
        if (d == nullptr) continue;
        LimitEnforcement e = d->Enforces(kind);
        if (e.enforced()) {
          entry = std::move(e);
          why.clear();
          break;
        }
        why.push_back(
            fmt::format("{}: {}", MechanismName(d->mechanism()), e.detail));
      }
      if (!why.empty()) {
        entry.detail = fmt::format("{} (no cgroup for it: {})", entry.detail,
                                   fmt::join(why, "; "));
      }
    }
    caps.limits.push_back(std::move(entry));
  }
  // close_range(~0, ~0) closes nothing and fails only where it does not
  // exist (ENOSYS).
  const bool close_range = syscall(SYS_close_range, ~0U, ~0U, 0U) == 0;
  caps.features = {
      {"pidfd", true, "CLONE_PIDFD, waitid(P_PIDFD), pidfd_send_signal"},
      {"close_range", close_range,
       close_range ? "" : "falls back to listing /proc/self/fd"},
      {"clone3", Clone3IntoCgroupAvailable(),
       core.clone_into_cgroup
           ? "CLONE_INTO_CGROUP places children"
           : (Clone3IntoCgroupAvailable() ? "available, not used"
                                          : "children join their cgroups "
                                            "themselves before exec")},
      {"cgroups", core.cgroup_v2 != nullptr || core.cgroup_v1 != nullptr,
       fmt::format("mode {}", CgroupModeName(setup.host.mode))},
      {"cgroup-v2", core.cgroup_v2 != nullptr,
       FeatureDetail(core.cgroup_v2.get(), setup.v2_why)},
      {"cgroup-v1", core.cgroup_v1 != nullptr,
       FeatureDetail(core.cgroup_v1.get(), setup.v1_why)},
      {"root", root, root ? "" : fmt::format("euid {}", geteuid())},
  };
  for (Feature& f : HostFeatures()) caps.features.push_back(std::move(f));
  return caps;
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

// Finds the hierarchies, removes groups a crashed earlier host left, and
// makes the drivers. An explicit cgroup_root that cannot be used is an
// error; otherwise what is missing is reported in the capabilities.
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

}  // namespace

LimitEnforcement RlimitFallback(LimitKind kind) {
  switch (kind) {
    case LimitKind::kWallTime:
      return {kind, Mechanism::kReactor, "timerfd deadline, TERM then KILL"};
    case LimitKind::kCpuTime:
      return {kind, Mechanism::kRlimit,
              "RLIMIT_CPU: the first process only, not its children"};
    case LimitKind::kMemory:
      return {kind, Mechanism::kRlimit,
              "RLIMIT_AS: address space, not resident memory; allocations "
              "fail, the death is not reported as memory_exceeded"};
    case LimitKind::kFileSize:
      return {kind, Mechanism::kRlimit, "RLIMIT_FSIZE"};
    case LimitKind::kOpenFiles:
      return {kind, Mechanism::kRlimit, "RLIMIT_NOFILE"};
    case LimitKind::kProcesses:
      if (geteuid() == 0) {
        return {kind, Mechanism::kNone,
                "RLIMIT_NPROC does not apply to root; needs cgroups"};
      }
      return {kind, Mechanism::kRlimit,
              "RLIMIT_NPROC: counts all processes of the user"};
    case LimitKind::kOutput:
      return {kind, Mechanism::kReactor, "captured bytes"};
    case LimitKind::kCpuWeight:
      return {kind, Mechanism::kNone, "needs cgroups"};
  }
  return {kind, Mechanism::kNone, "unknown"};
}

namespace {

class OsManager final : public Manager {
 public:
  explicit OsManager(std::shared_ptr<OsManagerCore> core)
      : core_(std::move(core)) {}

  ~OsManager() override {
    std::vector<std::shared_ptr<OsProcess>> running;
    absl::Duration grace = absl::ZeroDuration();
    {
      absl::MutexLock lock(&core_->mu);
      core_->shut_down = true;
      for (auto& [pid, p] : core_->live) running.push_back(p);
    }
    for (auto& p : running) {
      grace = std::max(grace, p->command().kill_grace);
      (void)p->Terminate();
    }
    // TERM, then KILL after each one's grace (its own timer); the reap
    // follows within a bounded time. Wait a little past the longest grace,
    // then kill whatever is left and wait for the end.
    const absl::Time give_up = absl::Now() + grace + absl::Seconds(1);
    for (auto& p : running) {
      if (!p->WaitFor(std::max(give_up - absl::Now(), absl::ZeroDuration()))
               .ok()) {
        (void)p->Kill();
        (void)p->Wait();
      }
    }
    // Stopped first: a callback still running may use core_->reactor,
    // which reset() clears before the Reactor is destroyed.
    core_->reactor->Stop();
    core_->reactor.reset();
    // Every group is empty now; remove what is left, the manager's own
    // directories included — unless a Start() that lost the race with this
    // destructor is still under way (blocked opening a FIFO, say): the last
    // one to finish removes them (OsManagerCore::RemoveGroupsIfLast).
    core_->RemoveGroupsIfLast();
  }

  std::shared_ptr<Process> New(Command command) override {
    return std::make_shared<OsProcess>(core_, std::move(command));
  }

  absl::StatusOr<std::shared_ptr<Process>> Get(Pid pid) const override {
    absl::MutexLock lock(&core_->mu);
    auto it = core_->live.find(pid);
    if (it == core_->live.end()) {
      return absl::NotFoundError(fmt::format(
          "get process {}: no running process of this manager", pid));
    }
    return std::shared_ptr<Process>(it->second);
  }

  std::vector<std::shared_ptr<Process>> List() const override {
    absl::MutexLock lock(&core_->mu);
    std::vector<std::shared_ptr<Process>> list;
    for (const auto& [pid, p] : core_->live) list.push_back(p);
    return list;
  }

  absl::Status SetDefaultLimits(const Limits& limits) override {
    if (absl::Status s = ValidateLimits(limits); !s.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("set default limits: {}", s.message()));
    }
    absl::MutexLock lock(&core_->mu);
    core_->defaults = limits;
    return absl::OkStatus();
  }

  Limits GetDefaultLimits() const override {
    absl::MutexLock lock(&core_->mu);
    return core_->defaults;
  }

  Capabilities capabilities() const override { return core_->capabilities; }

  absl::Time Now() const override { return absl::Now(); }

 private:
  std::shared_ptr<OsManagerCore> core_;
};

}  // namespace
}  // namespace linux_internal

absl::StatusOr<std::unique_ptr<Manager>> NewOsManager(
    OsManagerOptions options) {
  using linux_internal::OsManagerCore;
  if (absl::Status s = ValidateLimits(options.default_limits); !s.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("default limits: {}", s.message()));
  }
  // pidfds (CLONE_PIDFD, waitid(P_PIDFD)) need Linux 5.4.
  const int64_t pidfd = syscall(SYS_pidfd_open, getpid(), 0U);
  if (pidfd < 0) {
    return absl::FailedPreconditionError(
        fmt::format("create the Linux OS manager: pidfd_open failed ({}): it "
                    "needs Linux 5.4 "
                    "or later",
                    posix_internal::ErrnoName(errno)));
  }
  close(static_cast<int>(pidfd));
  auto core = std::make_shared<OsManagerCore>();
  absl::StatusOr<std::unique_ptr<linux_internal::Reactor>> reactor =
      linux_internal::Reactor::Create();
  if (!reactor.ok()) return reactor.status();
  core->reactor = *std::move(reactor);
  core->options = std::move(options);
  // Spare groups hold about 10 descriptors each (more on v1): worth it for
  // a host that may run many trees, not under a small hard limit, where
  // they would leave too few for the run itself.
  struct rlimit hard;
  if (getrlimit(RLIMIT_NOFILE, &hard) == 0 &&
      hard.rlim_max < OsManagerCore::kSparesFromNofile) {
    core->spare_groups = 0;
  }
  linux_internal::CgroupSetup setup;
  if (absl::Status s = linux_internal::SetUpCgroups(*core, setup); !s.ok()) {
    return s;
  }
  core->capabilities = linux_internal::Probe(*core, setup);
  // Every child costs a pidfd: raise this process's soft descriptor limit to
  // its hard one (children get the original back).
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
      nofile.rlim_cur < nofile.rlim_max) {
    const rlim_t original = nofile.rlim_cur;
    nofile.rlim_cur = nofile.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nofile) == 0) {
      core->child_nofile = linux_internal::RlimitSetting{
          RLIMIT_NOFILE, original, nofile.rlim_max};
    }
  }
  {
    absl::MutexLock lock(&core->mu);
    core->defaults = core->options.default_limits;
  }
  return std::unique_ptr<Manager>(
      new linux_internal::OsManager(std::move(core)));
}

}  // namespace procsandbox
