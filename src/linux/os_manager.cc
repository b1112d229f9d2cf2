// NewOsManager on Linux: the manager and its shutdown. The cgroup set-up is
// in cgroup_setup.cc, the capabilities probe in probe.cc.
#include "procsandbox/os_manager.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup_setup.h"
#include "linux/os_process.h"
#include "linux/probe.h"
#include "linux/spawn.h"
#include "posix/errno_status.h"

namespace procsandbox {
namespace linux_internal {

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
