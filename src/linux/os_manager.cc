// NewOsManager on Linux: the manager, its capabilities probe, and shutdown.
#include "procsandbox/os_manager.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/errno_status.h"
#include "linux/os_process.h"

namespace procsandbox {
namespace linux_internal {
namespace {

Capabilities Probe(bool strict) {
  Capabilities caps;
  caps.backend = "linux";
  caps.strict = strict;
  const bool root = geteuid() == 0;
  caps.limits = {
      {LimitKind::kWallTime, Mechanism::kReactor,
       "timerfd deadline, TERM then KILL"},
      {LimitKind::kCpuTime, Mechanism::kRlimit,
       "RLIMIT_CPU: the first process only, not its children"},
      {LimitKind::kMemory, Mechanism::kRlimit,
       "RLIMIT_AS: address space, not resident memory; allocations fail, the "
       "death is not reported as memory_exceeded"},
      {LimitKind::kFileSize, Mechanism::kRlimit, "RLIMIT_FSIZE"},
      {LimitKind::kOpenFiles, Mechanism::kRlimit, "RLIMIT_NOFILE"},
      root ? LimitEnforcement{LimitKind::kProcesses, Mechanism::kNone,
                              "RLIMIT_NPROC does not apply to root; needs "
                              "cgroups"}
           : LimitEnforcement{LimitKind::kProcesses, Mechanism::kRlimit,
                              "RLIMIT_NPROC: counts all processes of the user"},
      {LimitKind::kOutput, Mechanism::kReactor, "captured bytes"},
      {LimitKind::kCpuWeight, Mechanism::kNone, "needs cgroups"},
  };
  // close_range(~0, ~0) closes nothing and fails only where it does not
  // exist (ENOSYS).
  const bool close_range = syscall(SYS_close_range, ~0U, ~0U, 0U) == 0;
  caps.features = {
      {"pidfd", true, "CLONE_PIDFD, waitid(P_PIDFD), pidfd_send_signal"},
      {"close_range", close_range,
       close_range ? "" : "falls back to listing /proc/self/fd"},
      {"cgroups", false, "not used yet"},
      {"root", root, ""},
  };
  return caps;
}

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
    core_->reactor.reset();
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
  const long pidfd = syscall(SYS_pidfd_open, getpid(), 0U);
  if (pidfd < 0) {
    return absl::FailedPreconditionError(
        fmt::format("create the Linux OS manager: pidfd_open failed ({}): it "
                    "needs Linux 5.4 "
                    "or later",
                    linux_internal::ErrnoName(errno)));
  }
  close(static_cast<int>(pidfd));
  auto core = std::make_shared<OsManagerCore>();
  absl::StatusOr<std::unique_ptr<linux_internal::Reactor>> reactor =
      linux_internal::Reactor::Create();
  if (!reactor.ok()) return reactor.status();
  core->reactor = *std::move(reactor);
  core->capabilities = linux_internal::Probe(options.strict);
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
    core->defaults = options.default_limits;
  }
  core->options = std::move(options);
  return std::unique_ptr<Manager>(
      new linux_internal::OsManager(std::move(core)));
}

}  // namespace procsandbox
