#include "procsandbox/memory_manager.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "common/process_errors.h"
#include "fmt/format.h"
#include "memory/core.h"
#include "memory/memory_process.h"

namespace procsandbox {

using memory_internal::Core;
using memory_internal::MemoryProcess;
using memory_internal::Phase;
using memory_internal::ProgramState;

namespace {

// The host handle of a started process: the one the host holds, or a new
// one when the host dropped it.
std::shared_ptr<Process> HandleOf(const std::shared_ptr<Core>& core,
                                  const std::shared_ptr<ProgramState>& p) {
  std::shared_ptr<Process> handle = p->handle.lock();
  if (handle == nullptr) {
    handle = std::make_shared<MemoryProcess>(core, p);
    p->handle = handle;
  }
  return handle;
}

FakeRun ToFakeRun(const ProgramState& p) {
  FakeRun run;
  run.pid = p.pid;
  run.command = p.command;
  run.resolved_program = p.resolved;
  run.limits = p.applied;
  run.start_status = p.start_status;
  run.start_time = p.start_time;
  if (p.outcome.has_value()) {
    run.end_time = p.end_time;
    run.outcome = p.outcome;
  }
  run.stdin_data = p.stdin_seen;
  run.stdout_data = p.stdout_seen;
  run.stderr_data = p.stderr_seen;
  return run;
}

}  // namespace

// --- VirtualClock
// ---------------------------------------------------------------

absl::Time VirtualClock::Now() const {
  absl::MutexLock lock(&core_->mu);
  return core_->now;
}

absl::Status VirtualClock::Advance(absl::Duration duration) {
  return core_->AdvanceBy(duration);
}

void VirtualClock::SetAutoAdvance(bool on) {
  absl::MutexLock lock(&core_->mu);
  core_->auto_advance = on;
  core_->changed.SignalAll();
}

bool VirtualClock::auto_advance() const {
  absl::MutexLock lock(&core_->mu);
  return core_->auto_advance;
}

// --- MemoryManager
// --------------------------------------------------------------

MemoryManager::MemoryManager(MemoryManagerOptions options)
    : core_(std::make_shared<Core>(std::move(options))), clock_(core_.get()) {}

MemoryManager::~MemoryManager() { core_->Shutdown(); }

void MemoryManager::Register(std::string name_or_path, FakeProgram program) {
  absl::MutexLock lock(&core_->mu);
  core_->programs.insert_or_assign(
      std::move(name_or_path),
      memory_internal::Registration{
          std::make_shared<const FakeProgram>(std::move(program)),
          absl::OkStatus()});
}

void MemoryManager::RegisterStartError(std::string name_or_path,
                                       absl::Status error) {
  if (error.ok()) {
    error = absl::InternalError(fmt::format(
        "RegisterStartError(\"{}\") was given an OK status", name_or_path));
  }
  absl::MutexLock lock(&core_->mu);
  core_->programs[std::move(name_or_path)] =
      memory_internal::Registration{nullptr, std::move(error)};
}

void MemoryManager::RegisterNotExecutable(std::string name_or_path) {
  absl::MutexLock lock(&core_->mu);
  core_->programs.insert_or_assign(
      std::move(name_or_path),
      memory_internal::Registration{
          nullptr, absl::PermissionDeniedError("not executable"),
          /*not_executable=*/true});
}

void MemoryManager::SetFile(std::string path, std::string contents) {
  absl::MutexLock lock(&core_->mu);
  core_->MaterializeAllLocked();  // started programs take their first steps
  core_->QuiesceLocked();
  core_->files[std::move(path)] = std::move(contents);
}

std::optional<std::string> MemoryManager::GetFile(
    absl::string_view path) const {
  absl::MutexLock lock(&core_->mu);
  core_->MaterializeAllLocked();
  core_->QuiesceLocked();
  auto it = core_->files.find(path);
  if (it == core_->files.end()) return std::nullopt;
  return it->second;
}

std::vector<FakeRegistration> MemoryManager::Registrations() const {
  std::vector<FakeRegistration> out;
  {
    absl::MutexLock lock(&core_->mu);
    out.reserve(core_->programs.size());
    for (const auto& [key, r] : core_->programs) {
      FakeRegistration reg;
      reg.name_or_path = key;
      reg.kind = r.not_executable       ? FakeRegistration::Kind::kNotExecutable
                 : r.program == nullptr ? FakeRegistration::Kind::kStartError
                                        : FakeRegistration::Kind::kProgram;
      out.push_back(std::move(reg));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const FakeRegistration& a, const FakeRegistration& b) {
              return a.name_or_path < b.name_or_path;
            });
  return out;
}

absl::Status MemoryManager::WaitIdle(std::size_t waiting_hosts,
                                     absl::Duration timeout) const {
  return core_->WaitIdle(waiting_hosts, timeout);
}

MemoryManager::HostWait::HostWait(const MemoryManager& fake,
                                  absl::Time deadline)
    : core_(fake.core_.get()),
      waiter_(std::make_unique<memory_internal::HostWaiter>()) {
  waiter_->deadline = deadline;
  core_->EnterHostWait(*waiter_);
}

MemoryManager::HostWait::~HostWait() { core_->LeaveHostWait(*waiter_); }

void MemoryManager::HostWait::Release() {
  absl::MutexLock lock(&core_->mu);
  waiter_->released = true;
  core_->changed.SignalAll();
}

MemoryManager::HostCall::HostCall(const MemoryManager& fake)
    : core_(fake.core_.get()) {
  core_->EnterHostCall();
}

MemoryManager::HostCall::~HostCall() { core_->LeaveHostCall(); }

std::vector<FakeRun> MemoryManager::History() const {
  absl::MutexLock lock(&core_->mu);
  core_->MaterializeAllLocked();
  core_->QuiesceLocked();
  std::vector<FakeRun> runs;
  runs.reserve(core_->history.size());
  for (const auto& p : core_->history) runs.push_back(ToFakeRun(*p));
  return runs;
}

void MemoryManager::ClearHistory() {
  absl::MutexLock lock(&core_->mu);
  core_->history.clear();
}

std::shared_ptr<Process> MemoryManager::New(Command command) {
  auto state = std::make_shared<ProgramState>();
  state->command = std::move(command);
  auto process = std::make_shared<MemoryProcess>(core_, state);
  state->handle = process;
  return process;
}

absl::StatusOr<std::shared_ptr<Process>> MemoryManager::Get(Pid pid) const {
  absl::MutexLock lock(&core_->mu);
  auto it = core_->live.find(pid);
  if (it != core_->live.end()) {
    std::shared_ptr<ProgramState> p = it->second;
    if (p->phase == Phase::kLazy) {
      core_->MaterializeLocked(p);
      core_->QuiesceLocked();
    }
    if (p->phase != Phase::kEnded) return HandleOf(core_, p);
  }
  return internal::NoSuchProcessError(pid);
}

std::vector<std::shared_ptr<Process>> MemoryManager::List() const {
  absl::MutexLock lock(&core_->mu);
  core_->MaterializeAllLocked();
  core_->QuiesceLocked();
  std::vector<std::shared_ptr<Process>> processes;
  processes.reserve(core_->live.size());
  for (const auto& [pid, p] : core_->live) {
    processes.push_back(HandleOf(core_, p));
  }
  return processes;
}

absl::Status MemoryManager::SetDefaultLimits(const Limits& limits) {
  if (absl::Status s =
          internal::ValidateDefaultLimits(limits, "set default limits");
      !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&core_->mu);
  core_->defaults = limits;
  return absl::OkStatus();
}

Limits MemoryManager::GetDefaultLimits() const {
  absl::MutexLock lock(&core_->mu);
  return core_->defaults;
}

Capabilities MemoryManager::capabilities() const {
  Capabilities caps;
  caps.backend = "memory";
  caps.strict = core_->options.strict;
  for (LimitKind kind : kAllLimitKinds) {
    LimitEnforcement e = memory_internal::VirtualEnforcement(kind);
    for (const LimitEnforcement& u : core_->options.unenforced) {
      if (u.limit == kind) e = {kind, Mechanism::kNone, u.detail};
    }
    caps.limits.push_back(std::move(e));
  }
  caps.isolation = memory_internal::VirtualIsolation(core_->options);
  // The fake's children (SpawnChildren) are counts that live and die with
  // their program: a kill ends them all, a suspended program stops them too.
  caps.tree_kill = true;
  caps.tree_kill_detail =
      "virtual: a kill ends the program and the children it spawned";
  caps.tree_freeze = true;
  caps.tree_freeze_detail =
      "virtual: Suspend stops the program; its children do no work of their "
      "own";
  caps.features = {
      {"virtual_clock", true, "time moves only in blocking calls"},
  };
  return caps;
}

absl::Time MemoryManager::Now() const {
  absl::MutexLock lock(&core_->mu);
  return core_->now;
}

}  // namespace procsandbox
