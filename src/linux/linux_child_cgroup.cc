// A Linux child's cgroups: which groups a tree gets, placement, CPU time of
// the whole tree, the end of the tree, usage, and removal.
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/fmt_absl.h"
#include "fmt/format.h"
#include "linux/cgroup.h"
#include "linux/linux_child.h"
#include "linux/spawn.h"

namespace procsandbox::linux_internal {

using ::procsandbox::os_internal::ChildEvents;
using ::procsandbox::os_internal::SpawnRequest;
using ::procsandbox::os_internal::TreeEnd;

namespace {

// How long a group that still holds a process is retried before the
// failure is reported (the manager retries once more at shutdown).
constexpr absl::Duration kRemoveFor = absl::Seconds(5);
constexpr absl::Duration kRemoveEvery = absl::Milliseconds(20);
// How long Wait() waits for the rest of a tree killed at the leader's exit
// (freeing gigabytes takes a while).
constexpr absl::Duration kTreeGoneFor = absl::Seconds(2);
// Meanwhile the group is looked at this often: a backstop where
// cgroup.events wakes the reactor (v2), the check itself where not (v1).
constexpr absl::Duration kTreeBackstopEvery = absl::Milliseconds(10);
constexpr absl::Duration kTreePollEvery = absl::Milliseconds(1);

}  // namespace

CgroupDriver* OsManagerCore::DriverFor(Mechanism mechanism) const {
  if (mechanism == Mechanism::kCgroupV2) return cgroup_v2.get();
  if (mechanism == Mechanism::kCgroupV1) return cgroup_v1.get();
  return nullptr;
}

void OsManagerCore::RemoveGroups() const {
  // Killed processes may still be exiting (their groups are busy until
  // then): retried for a bounded time.
  const absl::Time give_up = absl::Now() + kRemoveFor;
  for (CgroupDriver* driver : {cgroup_v2.get(), cgroup_v1.get()}) {
    if (driver == nullptr) continue;
    absl::Status s = driver->RemoveAll();
    for (int round = 1; absl::IsUnavailable(s) && absl::Now() < give_up;
         ++round) {
      absl::SleepFor(absl::Milliseconds(std::min(round, 20)));
      s = driver->RemoveAll();
    }
    if (!s.ok()) {
      Emit(OsManagerEvent::Kind::kCgroupCleanupFailed,
           std::string(s.message()));
    }
  }
}

void OsManagerCore::PrepareSpares() const {
  if (spare_groups <= 0) return;
  for (CgroupDriver* d : {cgroup_v2.get(), cgroup_v1.get()}) {
    if (d != nullptr) d->Prepare(spare_groups);
  }
}

void OsManagerCore::Emit(OsManagerEvent::Kind kind, std::string detail) const {
  if (options.on_event)
    options.on_event(OsManagerEvent{kind, std::move(detail)});
}

absl::Status LinuxChild::CreateCgroupsLocked(const SpawnRequest& request,
                                             SpawnPlan& plan) {
  const Limits& limits = *request.limits;
  CgroupDriver* v2 = core_->cgroup_v2.get();
  CgroupDriver* v1 = core_->cgroup_v1.get();
  if (v2 == nullptr && v1 == nullptr) return absl::OkStatus();
  // One request per driver, from the mechanism each limit got.
  CgroupRequest requests[2];  // [0] v2, [1] v1
  auto request_of = [&](Mechanism m) -> CgroupRequest* {
    if (m == Mechanism::kCgroupV2) return &requests[0];
    if (m == Mechanism::kCgroupV1) return &requests[1];
    return nullptr;
  };
  for (const LimitEnforcement& e : request.enforcement->limits) {
    CgroupRequest* r = request_of(e.mechanism);
    if (r == nullptr) continue;
    switch (e.limit) {
      case LimitKind::kMemory:
        r->memory_bytes = limits.memory_bytes;
        r->memory_accounting = true;
        break;
      case LimitKind::kProcesses:
        r->processes = limits.processes;
        break;
      case LimitKind::kCpuWeight:
        r->cpu_weight = limits.cpu_weight;
        break;
      case LimitKind::kCpuTime:
        r->cpu_accounting = true;
        break;
      default:
        break;
    }
  }
  // The tree is tracked (stopped and killed as a whole) by one driver; v2
  // also accounts CPU and, with its memory controller, memory.
  const CgroupDriver* tracking = TrackingDriver(v2, v1);
  if (tracking != nullptr && tracking == v2) {
    requests[0].track = true;
    requests[0].cpu_accounting = true;
    requests[0].memory_accounting = v2->can_account_memory();
  } else if (tracking != nullptr) {
    requests[1].track = true;
  }
  CgroupDriver* drivers[2] = {v2, v1};
  for (int i = 0; i < 2; ++i) {
    const CgroupRequest& r = requests[i];
    const bool wanted = r.track || r.cpu_accounting || r.memory_accounting ||
                        r.memory_bytes || r.processes || r.cpu_weight;
    if (!wanted || drivers[i] == nullptr) continue;
    absl::StatusOr<std::unique_ptr<Cgroup>> group = drivers[i]->Create(r);
    if (!group.ok()) {
      absl::Status failed = absl::Status(
          group.status().code(),
          fmt::format("start \"{}\": create its {} group: {}", label_,
                      MechanismName(drivers[i]->mechanism()),
                      group.status().message()));
      // Out of descriptors or memory (EMFILE, ENOMEM): the run fails. A
      // limit quietly carried by RLIMIT_AS instead would be weaker than
      // asked, and the next run may well get its group.
      if (absl::IsResourceExhausted(failed)) {
        RemoveCgroupsNow();
        return failed;
      }
      if (absl::Status s =
              DegradeLocked(request, drivers[i]->mechanism(), failed);
          !s.ok()) {
        RemoveCgroupsNow();
        return s;
      }
      if (r.track) {
        // No group to stop the tree as a whole: refused in strict mode,
        // reported otherwise (stops reach the process group only).
        if (core_->options.strict) {
          RemoveCgroupsNow();
          return absl::FailedPreconditionError(
              fmt::format("{} (the whole tree cannot be stopped without it)",
                          failed.message()));
        }
        request.events->push_back(
            {OsManagerEvent::Kind::kCgroupDegraded,
             fmt::format("{}; stops reach its process group only",
                         failed.message())});
      }
      continue;
    }
    Cgroup* g = group->get();
    if (r.track) tracker_ = g;
    if (r.cpu_accounting && cpu_group_ == nullptr) cpu_group_ = g;
    if (r.memory_accounting && memory_group_ == nullptr) memory_group_ = g;
    if (g->clone_into_fd() >= 0 && plan.cgroup_fd < 0 &&
        core_->clone_into_cgroup) {
      plan.cgroup_fd = g->clone_into_fd();
    } else {
      cgroups_.push_back(*std::move(group));
      if (g->clone_into_fd() >= 0) {
        if (absl::Status s = g->JoinFromChild(); !s.ok()) {
          RemoveCgroupsNow();
          return absl::Status(
              s.code(),
              fmt::format("start \"{}\": place it in its {} group: {}", label_,
                          MechanismName(drivers[i]->mechanism()), s.message()));
        }
      }
      for (int fd : g->join_fds()) plan.cgroup_join_fds.push_back(fd);
      continue;
    }
    cgroups_.push_back(*std::move(group));
  }
  return absl::OkStatus();
}

absl::Status LinuxChild::JoinFromChildInsteadLocked(SpawnPlan& plan) {
  for (auto& g : cgroups_) {
    if (g->clone_into_fd() != plan.cgroup_fd) continue;
    if (absl::Status s = g->JoinFromChild(); !s.ok()) {
      return absl::Status(s.code(),
                          fmt::format("start \"{}\": place it in its group: {}",
                                      label_, s.message()));
    }
    for (int fd : g->join_fds()) plan.cgroup_join_fds.push_back(fd);
    plan.cgroup_fd = -1;
    return absl::OkStatus();
  }
  return absl::InternalError(fmt::format(
      "start \"{}\": no group holds the clone3 descriptor", label_));
}

void LinuxChild::CgroupsPlacedLocked() {
  for (auto& g : cgroups_) g->PlacementDone();
}

absl::Status LinuxChild::DegradeLocked(const SpawnRequest& request,
                                       Mechanism mechanism,
                                       const absl::Status& why) {
  for (LimitEnforcement& e : request.enforcement->limits) {
    if (e.mechanism != mechanism) continue;
    if (core_->options.strict) {
      return absl::FailedPreconditionError(
          fmt::format("{} (limit {} cannot be enforced)", why.message(),
                      LimitKindName(e.limit)));
    }
    LimitEnforcement fallback = RlimitFallback(e.limit);
    fallback.detail =
        fmt::format("{}; cgroup failed: {}", fallback.detail, why.message());
    e = std::move(fallback);
    request.events->push_back(
        {OsManagerEvent::Kind::kCgroupDegraded, e.detail});
  }
  return absl::OkStatus();
}

void LinuxChild::RemoveCgroupsNow() {
  for (auto& g : cgroups_) (void)g->Remove();
  cgroups_.clear();
  tracker_ = cpu_group_ = memory_group_ = nullptr;
}

// --- Reactor side
// ----------------------------------------------------------------

int64_t LinuxChild::CpuKillAtNs() const {
  const int64_t limit = absl::ToInt64Nanoseconds(*cpu_time_);
  // When the first process's RLIMIT_CPU is the budget itself (a whole number
  // of seconds), the kernel's SIGXCPU gets the first chance, as without
  // cgroups: it comes at a scheduler tick while the process runs, so a few
  // ms of CPU after the budget ran out (more on a busy host, where the
  // process waits for the CPU). A tree is then stopped at most this much
  // later than its budget.
  constexpr int64_t kKernelSignalSlack = 50'000'000;  // 50 ms of CPU
  constexpr int64_t kSecond = 1'000'000'000;
  return limit % kSecond == 0 ? limit + kKernelSignalSlack : limit;
}

void LinuxChild::ArmCpuCheck() {
  if (!cpu_time_ || cpu_group_ == nullptr || reaped_) return;
  const int64_t limit = CpuKillAtNs();
  const int64_t used = cgroup_usage_.cpu_total_ns.value_or(0);
  // The tree cannot use more than one CPU second per second and CPU: the
  // budget cannot run out before `left / kCpus` from now.
  static const int64_t kCpus =
      std::max<int64_t>(1, sysconf(_SC_NPROCESSORS_ONLN));
  const int64_t wait = std::max<int64_t>(
      (limit - used) / kCpus, absl::ToInt64Nanoseconds(absl::Milliseconds(1)));
  std::weak_ptr<LinuxChild> weak = weak_from_this();
  cpu_timer_ = core_->reactor->AddTimer(MonotonicNanos() + wait, [weak] {
    if (std::shared_ptr<LinuxChild> self = weak.lock()) self->OnCpuCheck();
  });
}

void LinuxChild::OnCpuCheck() {
  std::shared_ptr<ChildEvents> events;
  {
    absl::MutexLock lock(&mu_);
    cpu_timer_ = 0;
    if (reaped_ || cpu_group_ == nullptr || !cpu_time_) return;
    cgroup_usage_ = cpu_group_->ReadEndUsage();  // the totals, no open()
    const int64_t used = cgroup_usage_.cpu_total_ns.value_or(0);
    if (used < CpuKillAtNs()) {
      ArmCpuCheck();
      return;
    }
    events = events_.lock();
  }
  // Over budget: the neutral side stops the tree.
  if (events != nullptr) events->OnCpuBudgetSpent();
}

bool LinuxChild::EndTree(bool frozen) {
  absl::MutexLock lock(&mu_);
  if (cpu_timer_ != 0) {
    core_->reactor->CancelTimer(cpu_timer_);
    cpu_timer_ = 0;
  }
  if (tracker_ != nullptr && !tracker_->Empty()) {
    // Descendants that left the process group (a daemon) end with it.
    if (frozen) (void)tracker_->Thaw();
    (void)tracker_->SendKill();
    // Watched from timers, so that this thread goes on serving the
    // manager's other processes meanwhile.
    tree_dying_ = true;
    AwaitTreeGone(MonotonicNanos() + absl::ToInt64Nanoseconds(kTreeGoneFor));
  }
  ReadEndUsageLocked();
  return tree_dying_;
}

void LinuxChild::AwaitTreeGone(int64_t give_up_ns) {
  std::weak_ptr<LinuxChild> weak = weak_from_this();
  const int fd = tracker_ != nullptr ? tracker_->events_fd() : -1;
  auto check = [weak, give_up_ns](uint32_t) {
    if (std::shared_ptr<LinuxChild> self = weak.lock())
      self->OnTreeCheck(give_up_ns);
  };
  // Level-triggered: a change since the last read (Empty() just read it)
  // is reported at once, so none falls between that read and this watch.
  if (fd >= 0 &&
      core_->reactor->Watch(fd, EPOLLPRI, check, /*urgent=*/true).ok()) {
    tree_watch_fd_ = fd;
  }
  ArmTreeCheck(give_up_ns);
}

void LinuxChild::ArmTreeCheck(int64_t give_up_ns) {
  // Watched: a backstop against a missed wake-up; else the check itself.
  const absl::Duration every =
      tree_watch_fd_ >= 0 ? kTreeBackstopEvery : kTreePollEvery;
  const int64_t at =
      std::min(give_up_ns, MonotonicNanos() + absl::ToInt64Nanoseconds(every));
  std::weak_ptr<LinuxChild> weak = weak_from_this();
  tree_timer_ = core_->reactor->AddTimer(at, [weak, give_up_ns] {
    std::shared_ptr<LinuxChild> self = weak.lock();
    if (self == nullptr) return;
    {
      absl::MutexLock lock(&self->mu_);
      self->tree_timer_ = 0;
    }
    self->OnTreeCheck(give_up_ns);
  });
}

void LinuxChild::OnTreeCheck(int64_t give_up_ns) {
  std::shared_ptr<ChildEvents> events;
  {
    absl::MutexLock lock(&mu_);
    if (!tree_dying_) return;
    const bool gone = tracker_ == nullptr || tracker_->Empty();
    if (!gone && MonotonicNanos() < give_up_ns) {
      if (tree_timer_ == 0) ArmTreeCheck(give_up_ns);
      return;
    }
    // (A tree that outlives the bound is reported by the removal.)
    StopTreeWatchLocked();
    tree_dying_ = false;
    ReadEndUsageLocked();  // now with the stragglers' last CPU
    events = events_.lock();
  }
  if (events != nullptr) events->OnTreeGone();
}

void LinuxChild::StopTreeWatchLocked() {
  if (tree_watch_fd_ >= 0) core_->reactor->Unwatch(tree_watch_fd_);
  tree_watch_fd_ = -1;
  if (tree_timer_ != 0) core_->reactor->CancelTimer(tree_timer_);
  tree_timer_ = 0;
}

void LinuxChild::ReadEndUsageLocked() {
  CgroupUsage usage;
  for (const auto& g : cgroups_) {
    CgroupUsage u = g->ReadEndUsage();
    if (!usage.cpu_total_ns && g.get() == cpu_group_) {
      usage.cpu_total_ns = u.cpu_total_ns;
      usage.cpu_user_ns = u.cpu_user_ns;
      usage.cpu_system_ns = u.cpu_system_ns;
    }
    if (g.get() == memory_group_) {
      usage.memory_peak = u.memory_peak;
      usage.oom_kills = u.oom_kills;
      usage.memory_limit_hits = u.memory_limit_hits;
    }
    usage.process_limit_hits =
        std::max(usage.process_limit_hits, u.process_limit_hits);
  }
  cgroup_usage_ = usage;
}

void LinuxChild::RemoveCgroups(const std::shared_ptr<LinuxChild>& self,
                               int64_t give_up_ns) {
  std::vector<std::string> busy;
  {
    absl::MutexLock lock(&self->mu_);
    auto& groups = self->cgroups_;
    for (auto it = groups.begin(); it != groups.end();) {
      absl::Status s = (*it)->Remove();
      if (s.ok()) {
        it = groups.erase(it);
        continue;
      }
      if (absl::IsUnavailable(s) && MonotonicNanos() < give_up_ns) {
        ++it;
        continue;
      }
      busy.push_back(std::string(s.message()));
      it = groups.erase(it);  // the manager tries once more at shutdown
    }
    self->tracker_ = self->cpu_group_ = self->memory_group_ = nullptr;
    if (!groups.empty()) {
      Reactor* reactor = self->core_->reactor.get();
      reactor->AddTimer(
          MonotonicNanos() + absl::ToInt64Nanoseconds(kRemoveEvery),
          [self, give_up_ns] { RemoveCgroups(self, give_up_ns); });
    }
  }
  for (const std::string& why : busy) {
    self->core_->Emit(OsManagerEvent::Kind::kCgroupCleanupFailed, why);
  }
}

void LinuxChild::ScheduleCgroupRemoval() {
  if (cgroups_.empty()) return;
  std::shared_ptr<LinuxChild> self = shared_from_this();
  const int64_t give_up =
      MonotonicNanos() + absl::ToInt64Nanoseconds(kRemoveFor);
  // After this turn of the reactor: Wait() returns first.
  core_->reactor->Post([self, give_up] { RemoveCgroups(self, give_up); });
}

// Outcome and usage figures the cgroups know better than rusage: the whole
// tree's CPU time and peak memory, and an out-of-memory kill.
void LinuxChild::ApplyCgroupUsageLocked(Outcome& outcome) const {
  const CgroupUsage& u = cgroup_usage_;
  if (u.cpu_user_ns && u.cpu_system_ns) {
    outcome.user_time =
        std::max(outcome.user_time, absl::Nanoseconds(*u.cpu_user_ns));
    outcome.system_time =
        std::max(outcome.system_time, absl::Nanoseconds(*u.cpu_system_ns));
  }
  if (u.memory_peak) outcome.peak_memory_bytes = *u.memory_peak;
}

void LinuxChild::ReadCgroupUsageLocked(ResourceUsage& usage) const {
  for (const auto& g : cgroups_) {
    CgroupUsage u = g->ReadUsage();
    if (g.get() == cpu_group_ && u.cpu_user_ns && u.cpu_system_ns) {
      usage.user_time = absl::Nanoseconds(*u.cpu_user_ns);
      usage.system_time = absl::Nanoseconds(*u.cpu_system_ns);
    }
    if (g.get() == memory_group_) {
      if (u.memory_current) usage.memory_bytes = *u.memory_current;
      if (u.memory_peak) usage.peak_memory_bytes = *u.memory_peak;
    }
    if (u.processes) usage.processes = *u.processes;
    usage.forks_refused = std::max(usage.forks_refused, u.process_limit_hits);
  }
}

bool LinuxChild::has_cgroups() const {
  absl::MutexLock lock(&mu_);
  return !cgroups_.empty();
}

bool LinuxChild::can_freeze() const {
  absl::MutexLock lock(&mu_);
  return tracker_ != nullptr && tracker_->can_freeze();
}

absl::Status LinuxChild::Freeze() {
  absl::MutexLock lock(&mu_);
  if (tracker_ == nullptr) {
    return absl::FailedPreconditionError("no cgroup freezer for the tree");
  }
  return tracker_->Freeze();
}

absl::Status LinuxChild::Thaw() {
  absl::MutexLock lock(&mu_);
  if (tracker_ == nullptr) return absl::OkStatus();
  return tracker_->Thaw();
}

void LinuxChild::LiveUsage(ResourceUsage& usage) const {
  absl::MutexLock lock(&mu_);
  if (reaped_) return;  // the pid may belong to another process now
  ReadProcUsage(pid_, usage);
  ReadCgroupUsageLocked(usage);  // the whole tree, where there is a group
}

TreeEnd LinuxChild::FinalUsage(Outcome& outcome) const {
  absl::MutexLock lock(&mu_);
  ApplyCgroupUsageLocked(outcome);
  TreeEnd end;
  end.oom_killed = cgroup_usage_.oom_kills > 0;
  end.forks_refused = cgroup_usage_.process_limit_hits;
  return end;
}

}  // namespace procsandbox::linux_internal
