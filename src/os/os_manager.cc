#include "os/os_manager.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/process_errors.h"
#include "os/os_process.h"

namespace procsandbox::os_internal {
namespace {

class OsManager final : public Manager {
 public:
  explicit OsManager(std::shared_ptr<ManagerState> state)
      : state_(std::move(state)) {}

  ~OsManager() override {
    std::vector<std::shared_ptr<OsProcess>> running;
    absl::Duration grace = absl::ZeroDuration();
    {
      absl::MutexLock lock(&state_->mu);
      state_->shut_down = true;
      for (auto& [pid, p] : state_->live) running.push_back(p);
      // Reaped, still draining: their pipes are not waited for any more
      // (the loop stops below; Wait() must not wait for it in vain).
      for (auto& [key, p] : state_->ending) {
        p->EndDrain();
        running.push_back(p);
      }
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
    // Stopped first: a callback still running may use the loop.
    state_->platform->StopLoop();
    // Every container is empty now; remove what is left, the manager's own
    // included — unless a Start() that lost the race with this destructor
    // is still under way (blocked opening a FIFO, say): the last one to
    // finish removes them (ManagerState::RemoveContainersIfLast).
    state_->RemoveContainersIfLast();
  }

  std::shared_ptr<Process> New(Command command) override {
    return std::make_shared<OsProcess>(state_, std::move(command));
  }

  absl::StatusOr<std::shared_ptr<Process>> Get(Pid pid) const override {
    absl::MutexLock lock(&state_->mu);
    auto it = state_->live.find(pid);
    if (it == state_->live.end()) {
      return internal::NoSuchProcessError(pid);
    }
    return std::shared_ptr<Process>(it->second);
  }

  std::vector<std::shared_ptr<Process>> List() const override {
    absl::MutexLock lock(&state_->mu);
    std::vector<std::shared_ptr<Process>> list;
    for (const auto& [pid, p] : state_->live) list.push_back(p);
    return list;
  }

  absl::Status SetDefaultLimits(const Limits& limits) override {
    if (absl::Status s =
            internal::ValidateDefaultLimits(limits, "set default limits");
        !s.ok()) {
      return s;
    }
    absl::MutexLock lock(&state_->mu);
    state_->defaults = limits;
    return absl::OkStatus();
  }

  Limits GetDefaultLimits() const override {
    absl::MutexLock lock(&state_->mu);
    return state_->defaults;
  }

  Capabilities capabilities() const override {
    return state_->platform->capabilities();
  }

  absl::Time Now() const override { return absl::Now(); }

 private:
  std::shared_ptr<ManagerState> state_;
};

}  // namespace

absl::Status ValidateManagerOptions(const OsManagerOptions& options) {
  return internal::ValidateDefaultLimits(options.default_limits,
                                         "default limits");
}

std::unique_ptr<Manager> NewManager(OsManagerOptions options,
                                    std::unique_ptr<Platform> platform) {
  auto state = std::make_shared<ManagerState>();
  state->options = std::move(options);
  state->platform = std::move(platform);
  {
    absl::MutexLock lock(&state->mu);
    state->defaults = state->options.default_limits;
  }
  return std::make_unique<OsManager>(std::move(state));
}

}  // namespace procsandbox::os_internal
