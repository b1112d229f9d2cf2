// The OS process before and at Start(): streams, limits, and Start()'s
// neutral prologue and epilogue around the platform's Spawn().
#include "os/os_process.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/isolation_enforcement.h"
#include "common/process_errors.h"

namespace procsandbox::os_internal {

OsProcess::~OsProcess() = default;

void ManagerState::Emit(OsManagerEvent::Kind kind, std::string detail) const {
  if (options.on_event)
    options.on_event(OsManagerEvent{kind, std::move(detail)});
}

void ManagerState::RemoveContainersIfLast() {
  {
    absl::MutexLock lock(&mu);
    if (!shut_down || starting > 0 || containers_removed) return;
    containers_removed = true;
  }
  platform->RemoveContainers();
}

// --- Before Start()
// -----------------------------------------------------------

absl::Status OsProcess::SetStream(Stream stream, Stdio stdio) {
  if (absl::Status s = ValidateStdio(stream, stdio); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kNew) {
    return internal::AlreadyStartedError(
        absl::StrCat("set ", StreamName(stream), " of"), command_, pid_);
  }
  (stream == Stream::kStdin    ? command_.stdin_
   : stream == Stream::kStdout ? command_.stdout_
                               : command_.stderr_) = std::move(stdio);
  return absl::OkStatus();
}
absl::Status OsProcess::SetStdin(Stdio s) {
  return SetStream(Stream::kStdin, std::move(s));
}
absl::Status OsProcess::SetStdout(Stdio s) {
  return SetStream(Stream::kStdout, std::move(s));
}
absl::Status OsProcess::SetStderr(Stdio s) {
  return SetStream(Stream::kStderr, std::move(s));
}

absl::Status OsProcess::SetLimits(const Limits& limits) {
  if (absl::Status s = ValidateLimits(limits); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kNew) {
    return internal::AlreadyStartedError("set limits of", command_, pid_);
  }
  command_.limits = limits;
  return absl::OkStatus();
}

Limits OsProcess::GetLimits() const {
  absl::MutexLock lock(&mu_);
  if (phase_ != Phase::kNew) return limits_;
  absl::MutexLock manager_lock(&manager_->mu);
  return MergeLimits(command_.limits, manager_->defaults);
}

Command OsProcess::command() const {
  absl::MutexLock lock(&mu_);
  return command_;
}

// --- Start
// --------------------------------------------------------------------

absl::Status OsProcess::Start() {
  std::vector<OsManagerEvent> events;
  absl::Status started;
  {
    absl::MutexLock lock(&mu_);
    const bool was_new = phase_ == Phase::kNew;
    started = StartLocked();
    if (!started.ok() && was_new && phase_ == Phase::kNew) {
      // A Start() that fails leaves nothing behind: no pipe stays open, no
      // container (the platform's Spawn() cleaned up after itself).
      if (child_ != nullptr) child_->Discard();
      child_.reset();
      host_stdin_.reset();
      out_ = Output{};
      err_ = Output{};
    }
    if (starting_registered_) {
      starting_registered_ = false;
      absl::MutexLock manager_lock(&manager_->mu);
      --manager_->starting;
    }
    events.swap(pending_events_);
  }
  // The manager may have gone meanwhile: the last Start() removes its
  // containers.
  manager_->RemoveContainersIfLast();
  // Outside the lock: the host's callback may look at this process.
  for (OsManagerEvent& e : events) manager_->Emit(e.kind, std::move(e.detail));
  return started;
}

absl::Status OsProcess::StartLocked() {
  if (phase_ != Phase::kNew) {
    return internal::AlreadyStartedError("start", command_, pid_);
  }
  if (absl::Status s = ValidateCommand(command_); !s.ok()) return s;
  Platform& platform = *manager_->platform;
  if (absl::Status s = platform.CheckHost(command_.label()); !s.ok()) return s;
  {
    absl::MutexLock manager_lock(&manager_->mu);
    if (manager_->shut_down) {
      return internal::ManagerGoneError("start", command_, "manager");
    }
    // Counted: a manager destroyed meanwhile leaves the removal of its
    // containers to the last such Start().
    ++manager_->starting;
    starting_registered_ = true;
    limits_ = MergeLimits(command_.limits, manager_->defaults);
  }
  // Which mechanism applies each requested limit; strict mode refuses one
  // that nothing here enforces.
  enforcement_.limits.clear();
  for (LimitKind kind : kAllLimitKinds) {
    if (!limits_.has(kind)) continue;
    const LimitEnforcement* e = platform.capabilities().Find(kind);
    LimitEnforcement entry =
        e != nullptr ? *e : LimitEnforcement{kind, Mechanism::kNone, "unknown"};
    if (!entry.enforced() && manager_->options.strict) {
      return internal::LimitNotEnforceableError(command_, kind, entry.detail);
    }
    enforcement_.limits.push_back(std::move(entry));
  }
  if (absl::Status s = internal::PlanIsolationEnforcement(
          command_, platform.capabilities().isolation, manager_->options.strict,
          enforcement_.isolation);
      !s.ok()) {
    return s;
  }

  // The platform's middle: program, stdio, containment, spawn.
  SpawnRequest request;
  request.command = &command_;
  request.limits = &limits_;
  request.enforcement = &enforcement_;
  request.events = &pending_events_;
  absl::StatusOr<std::shared_ptr<Child>> spawned = platform.Spawn(request);
  if (!spawned.ok()) {
    absl::MutexLock manager_lock(&manager_->mu);
    if (manager_->shut_down) {
      // Its container went with the manager's.
      return internal::ManagerGoneError("start", command_, "manager");
    }
    return spawned.status();
  }
  child_ = *std::move(spawned);
  start_ns_ = child_->start_ns();
  start_time_ = absl::Now() - absl::Nanoseconds(MonotonicNanos() - start_ns_);
  if (command_.monitor.enabled) timeline_.emplace(command_.monitor.max_samples);
  pid_ = child_->pid();
  for (auto [output, stdio] : {std::pair{&out_, &command_.stdout_},
                               std::pair{&err_, &command_.stderr_}}) {
    output->kind = stdio->kind();
    output->open = output->kind == Stdio::Kind::kCapture ||
                   output->kind == Stdio::Kind::kLines ||
                   output->kind == Stdio::Kind::kChunks;
    if (output->kind == Stdio::Kind::kLines ||
        output->kind == Stdio::Kind::kChunks) {
      output->callback = stdio->callback();
    }
  }
  host_stdin_ = child_->TakeHostStdin();
  absl::MutexLock manager_lock(&manager_->mu);
  if (manager_->shut_down) {
    // The manager went away while this child was being spawned: Start()
    // stops and reaps it (Discard), so nothing outlives the manager. As any
    // failed Start(): not started, nothing left.
    pid_ = 0;
    return internal::ManagerGoneError("start", command_, "manager");
  }
  phase_ = Phase::kRunning;
  platform.Started(*child_);
  // Keyed by pid: a pid is unique among the children not yet reaped, and a
  // child leaves the table when it is reaped (see OnExit).
  manager_->live.insert_or_assign(pid_, shared_from_this());
  platform.loop().Post([self = shared_from_this()] { self->Arm(); });
  return absl::OkStatus();
}

}  // namespace procsandbox::os_internal
