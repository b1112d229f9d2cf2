// The in-memory manager: scheduling, the virtual clock, running programs.
// The model is described in core.h.
#include "memory/core.h"

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fmt_absl.h"
#include "common/signals.h"
#include "fmt/format.h"

namespace procsandbox::memory_internal {
namespace {

// The program running on this thread, and the manager it belongs to: a call
// into another manager from a program is a host call there.
struct RunningProgram {
  const Core* core = nullptr;
  ProgramState* program = nullptr;
};
thread_local RunningProgram current_program;
// This thread runs an on_sample callback (Core::DeliverSamplesLocked).
thread_local bool in_sample_callback = false;

// The HostCall scopes of this thread, one entry per manager: how deep, and
// whether the thread waits as a host now (then not counted as busy).
struct BusyEntry {
  const Core* core;
  int depth;
  bool paused;
};
thread_local std::vector<BusyEntry> busy_entries;

BusyEntry* FindBusy(const Core* core) {
  for (BusyEntry& e : busy_entries) {
    if (e.core == core) return &e;
  }
  return nullptr;
}

}  // namespace

ProgramState* Core::CurrentProgram() const {
  return current_program.core == this ? current_program.program : nullptr;
}

Core::Core(MemoryManagerOptions opts)
    : options(std::move(opts)),
      now(options.start_time),
      auto_advance(options.auto_advance),
      next_pid(options.first_pid) {}

// --- Scheduling -------------------------------------------------------------

bool Core::CanProceedLocked(const ProgramState& p) const {
  if (p.phase == Phase::kReady) return true;
  if (p.phase != Phase::kBlocked) return false;
  if (p.dying) return true;
  if (p.suspended) return false;
  if (HasDeliverableSignalLocked(p)) return true;
  return p.wait_until != nullptr && p.wait_until();
}

void Core::ScheduleLocked() {
  if (baton != 0) return;
  for (auto& [pid, p] : live) {
    if (CanProceedLocked(*p)) {
      baton = pid;
      p->phase = Phase::kRunning;
      p->turn.Signal();
      changed.SignalAll();
      return;
    }
  }
}

absl::Time Core::NextEventLocked() const {
  absl::Time next = absl::InfiniteFuture();
  const absl::Time current = now;
  auto consider = [current, &next](absl::Time t) {
    if (t > current && t < next) next = t;
  };
  for (const auto& [pid, p] : live) {
    if (p->phase == Phase::kBlocked && !p->suspended) consider(p->wake_time);
    if (p->burning) {
      consider(p->cpu_since + p->burn_left);
      if (p->limits.cpu_time.has_value()) {
        consider(p->cpu_since + (*p->limits.cpu_time - p->cpu_used));
      }
    }
    if (!p->deadline_fired) consider(p->deadline);
    consider(p->kill_time);
    consider(p->next_sample);
  }
  auto it = host_deadlines.upper_bound(now);
  if (it != host_deadlines.end()) consider(*it);
  return next;
}

void Core::AdvanceToLocked(absl::Time t) {
  now = std::max(now, t);
  // Samples see the instant before anything else happens at it; their
  // callbacks run before any program does.
  std::vector<std::shared_ptr<ProgramState>> sampled;
  for (auto& [pid, sp] : live) {
    if (!sp->timeline || now < sp->next_sample) continue;
    SampleLocked(*sp);
    while (sp->next_sample <= now)
      sp->next_sample += sp->command.monitor.interval;
    if (!sp->samples_due.empty()) sampled.push_back(sp);
  }
  for (const auto& sp : sampled) DeliverSamplesLocked(sp);
  for (auto& [pid, sp] : live) {
    ProgramState& p = *sp;
    if (p.burning) {
      if (p.limits.cpu_time.has_value() &&
          CpuUsedLocked(p) >= *p.limits.cpu_time) {
        StopBurnLocked(p);
        KillLocked(p, ExitReason::kCpuTimeExceeded, internal::kSigXcpu);
      } else if (now >= p.cpu_since + p.burn_left) {
        StopBurnLocked(p);
      }
    }
    if (!p.deadline_fired && now >= p.deadline) {
      p.deadline_fired = true;
      TerminateLocked(p, ExitReason::kTimedOut);
    }
    if (now >= p.kill_time) {
      p.kill_time = absl::InfiniteFuture();
      KillLocked(p, p.cause.value_or(ExitReason::kCancelled),
                 internal::kSigKill);
    }
  }
  ScheduleLocked();
  changed.SignalAll();
}

void Core::AwaitLocked(const std::function<bool()>& done, bool host_wait,
                       absl::Time deadline) {
  bool paused = false;
  if (host_wait) {
    host_waits.push_back(&done);
    paused = PauseBusyLocked();
  }
  const bool timed = deadline != absl::InfiniteFuture();
  std::multiset<absl::Time>::iterator deadline_it;
  if (timed) deadline_it = host_deadlines.insert(deadline);
  while (!done()) {
    if (!host_waits.empty() && baton == 0 && lazy > 0) {
      // Started programs run up to their first blocking call before a
      // waiting host can see anything.
      MaterializeAllLocked();
      continue;
    }
    if ((auto_advance || force_advance > 0) && baton == 0 && sampling == 0 &&
        busy_hosts == 0 && idle_holds == 0 && AllHostsStillWaitLocked()) {
      absl::Time next = NextEventLocked();
      if (next != absl::InfiniteFuture()) {
        AdvanceToLocked(next);
        continue;
      }
    }
    changed.Wait(&mu);
  }
  if (timed) host_deadlines.erase(deadline_it);
  if (host_wait) {
    // With this wait over, the others may now let time advance.
    host_waits.erase(std::find(host_waits.begin(), host_waits.end(), &done));
    ResumeBusyLocked(paused);
    changed.SignalAll();
  }
}

bool Core::AllHostsStillWaitLocked() const {
  if (host_waits.empty()) return false;
  for (const std::function<bool()>* done : host_waits) {
    if ((*done)()) return false;
  }
  return true;
}

void Core::QuiesceLocked() {
  if (CurrentProgram() != nullptr) return;
  ++host_calls;
  AwaitLocked([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return baton == 0; },
              /*host_wait=*/false);
  --host_calls;
  changed.SignalAll();
}

// --- Host threads: calls, waits, idleness ------------------------------------

bool Core::PauseBusyLocked() {
  BusyEntry* e = FindBusy(this);
  if (e == nullptr || e->paused) return false;
  e->paused = true;
  --busy_hosts;
  changed.SignalAll();
  return true;
}

void Core::ResumeBusyLocked(bool paused) {
  if (!paused) return;
  BusyEntry* e = FindBusy(this);
  if (e == nullptr) return;
  e->paused = false;
  ++busy_hosts;
}

void Core::EnterHostCall() {
  absl::MutexLock lock(&mu);
  if (CurrentProgram() != nullptr) return;  // programs hold the baton
  if (BusyEntry* e = FindBusy(this)) {
    ++e->depth;
    return;
  }
  busy_entries.push_back({this, 1, false});
  ++busy_hosts;
}

void Core::LeaveHostCall() {
  absl::MutexLock lock(&mu);
  BusyEntry* e = FindBusy(this);
  if (e == nullptr || --e->depth > 0) return;
  if (!e->paused) --busy_hosts;
  busy_entries.erase(busy_entries.begin() + (e - busy_entries.data()));
  changed.SignalAll();
}

void Core::EnterHostWait(HostWaiter& w) {
  absl::MutexLock lock(&mu);
  if (CurrentProgram() != nullptr) return;
  w.done = [this, &w]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return w.released || now >= w.deadline;
  };
  host_waits.push_back(&w.done);
  if (w.deadline != absl::InfiniteFuture()) host_deadlines.insert(w.deadline);
  w.paused_busy = PauseBusyLocked();
  ++host_wait_scopes;
  StartClockDriverLocked();
  changed.SignalAll();
}

void Core::StartClockDriverLocked() {
  if (clock_driver || shut_down) return;
  // Without a thread the HostWait still counts, only nothing drives the
  // clock for it alone (a host waiting in a call still does).
  clock_driver =
      StartWorkerLocked([core = shared_from_this()] { core->DriveClock(); });
}

bool Core::StartWorkerLocked(std::function<void()> body) {
  std::thread thread;
  try {
    thread = std::thread(
        [core = shared_from_this(), body = std::move(body)]() mutable {
          // Threads that ended before this one: joined here, off the lock, so
          // they never pile up in a long-lived fake.
          std::vector<std::thread> ended;
          {
            absl::MutexLock lock(&core->mu);
            ended.swap(core->ended_workers);
          }
          for (std::thread& t : ended) t.join();
          body();
          body = nullptr;  // its captures go before the thread counts as ended
          absl::MutexLock lock(&core->mu);
          auto self = core->workers.extract(std::this_thread::get_id());
          core->ended_workers.push_back(std::move(self.mapped()));
          core->changed.SignalAll();
        });
  } catch (const std::system_error&) {
    return false;
  }
  // The new thread waits for `mu` (held here) before it looks itself up.
  workers.emplace(thread.get_id(), std::move(thread));
  return true;
}

void Core::DriveClock() {
  absl::MutexLock lock(&mu);
  // Moves time (and runs started programs to their first blocking call) as
  // any waiting host would, as long as HostWait scopes exist.
  AwaitLocked([this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                  mu) { return host_wait_scopes == 0 || shut_down; },
              /*host_wait=*/false);
  clock_driver = false;
  changed.SignalAll();
}

void Core::LeaveHostWait(HostWaiter& w) {
  absl::MutexLock lock(&mu);
  if (!w.done) return;
  --host_wait_scopes;
  host_waits.erase(std::find(host_waits.begin(), host_waits.end(), &w.done));
  if (w.deadline != absl::InfiniteFuture()) {
    host_deadlines.erase(host_deadlines.find(w.deadline));
  }
  ResumeBusyLocked(w.paused_busy);
  w.paused_busy = false;
  changed.SignalAll();
}

std::string Core::NotIdleLocked(std::size_t waiting_hosts) const {
  std::vector<std::string> why;
  if (baton != 0) {
    auto it = live.find(baton);
    why.push_back(fmt::format(
        "program {} (\"{}\") runs", baton,
        it != live.end() ? it->second->command.program : std::string("?")));
  }
  for (const auto& [pid, p] : live) {
    if (pid != baton && p->phase == Phase::kReady) {
      why.push_back(fmt::format("program {} (\"{}\") is ready to run", pid,
                                p->command.program));
    }
  }
  if (sampling > 0) why.emplace_back("an on_sample callback runs");
  if (busy_hosts > 0) {
    why.push_back(fmt::format("{} host thread(s) inside a HostCall not waiting",
                              busy_hosts));
  }
  if (host_calls > 0) {
    why.push_back(fmt::format("{} host call(s) in flight", host_calls));
  }
  std::size_t over = 0;
  for (const std::function<bool()>* done : host_waits) {
    if ((*done)()) ++over;
  }
  if (over > 0) {
    why.push_back(
        fmt::format("{} host wait(s) over and not returned yet", over));
  }
  if (host_waits.size() != waiting_hosts) {
    why.push_back(fmt::format("{} host thread(s) wait on the fake, expected {}",
                              host_waits.size(), waiting_hosts));
  }
  std::string text;
  for (const std::string& w : why) {
    if (!text.empty()) text += "; ";
    text += w;
  }
  return text;
}

absl::Status Core::WaitIdle(std::size_t waiting_hosts, absl::Duration timeout) {
  absl::MutexLock lock(&mu);
  if (CurrentProgram() != nullptr || in_sample_callback) {
    return absl::FailedPreconditionError(
        "wait for the fake to be idle: called from a scripted program or a "
        "callback (it would wait for itself)");
  }
  if (timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        fmt::format("wait for the fake to be idle: timeout {} is negative",
                    procsandbox::FormatDuration(timeout)));
  }
  const absl::Time give_up = absl::Now() + timeout;  // real time: a guard
  ++idle_holds;
  std::string why;
  while (true) {
    if (lazy > 0) MaterializeAllLocked();
    why = NotIdleLocked(waiting_hosts);
    if (why.empty()) break;
    if (changed.WaitWithDeadline(&mu, give_up)) {
      why = NotIdleLocked(waiting_hosts);
      break;
    }
  }
  --idle_holds;
  changed.SignalAll();  // auto-advance may go on
  if (why.empty()) return absl::OkStatus();
  return absl::DeadlineExceededError(fmt::format(
      "wait for the fake to be idle: not idle after {} (real time): {}",
      procsandbox::FormatDuration(timeout), why));
}

// --- Running programs -------------------------------------------------------

void Core::MaterializeLocked(const std::shared_ptr<ProgramState>& p) {
  if (p->phase != Phase::kLazy) return;
  --lazy;
  p->phase = Phase::kReady;
  const bool started = StartWorkerLocked([core = shared_from_this(), p] {
    absl::MutexLock lock(&core->mu);
    core->Execute(p);
  });
  if (!started) {
    // No thread to run it on: it dies before its first instruction, as a
    // process the OS could not schedule would.
    p->dying = true;
    p->death_signal = internal::kSigKill;
    if (!p->cause) p->cause = ExitReason::kCancelled;
    FinishLocked(*p, std::nullopt);
    return;
  }
  ScheduleLocked();
}

void Core::MaterializeAllLocked() {
  if (lazy == 0) return;
  std::vector<std::shared_ptr<ProgramState>> lazies;
  for (auto& [pid, p] : live) {
    if (p->phase == Phase::kLazy) lazies.push_back(p);
  }
  for (auto& p : lazies) MaterializeLocked(p);
}

void Core::RunInline(const std::shared_ptr<ProgramState>& p) {
  if (p->phase != Phase::kLazy) return;
  --lazy;
  p->phase = Phase::kReady;
  p->inline_run = true;
  ScheduleLocked();
  // This thread is a host waiting for the end of `p`, so the clock may
  // advance while the program blocks.
  const std::function<bool()> ended = [&p]() {
    return p->phase == Phase::kEnded;
  };
  host_waits.push_back(&ended);
  const bool paused = PauseBusyLocked();
  Execute(p);
  host_waits.erase(std::find(host_waits.begin(), host_waits.end(), &ended));
  ResumeBusyLocked(paused);
  changed.SignalAll();
}

void Core::AwaitTurnLocked(ProgramState& p) {
  if (p.inline_run) {
    // This thread is also the host waiting for `p`: it keeps the clock going.
    AwaitLocked(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return baton == p.pid; },
        /*host_wait=*/false);
    return;
  }
  while (baton != p.pid) p.turn.Wait(&mu);
}

void Core::Execute(const std::shared_ptr<ProgramState>& p) {
  AwaitTurnLocked(*p);
  const RunningProgram outer = current_program;
  current_program = {this, p.get()};

  std::optional<int> returned;
  std::string abort_message;
  bool aborted = false;
  mu.Unlock();
  try {
    FakeProcess handle(this, p.get());
    returned = (*p->program)(handle);
  } catch (const UnwindScript&) {
  } catch (const std::exception& e) {
    aborted = true;
    abort_message = fmt::format(
        "terminate called after throwing an exception\n  what():  {}\n",
        e.what());
  } catch (...) {
    aborted = true;
    abort_message = "terminate called after throwing an unknown exception\n";
  }

  // Deliver what the program wrote last: the abort message, and the
  // unterminated last lines of Stdio::Lines sinks (outside the lock).
  std::vector<std::pair<Stdio::LineCallback, std::string>> deliveries;
  mu.Lock();
  if (aborted) {
    std::vector<std::string> lines;
    WriteLocked(*p, Stream::kStderr, abort_message, &lines);
    for (auto& line : lines) {
      deliveries.emplace_back(SinkFor(*p, Stream::kStderr).callback,
                              std::move(line));
    }
    p->dying = true;
    p->death_signal = internal::kSigAbrt;
  }
  for (OutputSink* sink : {&p->out, &p->err}) {
    if (sink->kind == Stdio::Kind::kLines && !sink->partial_line.empty()) {
      deliveries.emplace_back(sink->callback, std::move(sink->partial_line));
      sink->partial_line.clear();
    }
  }
  if (!deliveries.empty()) {
    mu.Unlock();
    for (auto& [callback, line] : deliveries) {
      // The program has ended: a callback that throws (or, from here, tries
      // to block on the program's behalf) loses only its own delivery.
      try {
        callback(line);
      } catch (...) {
      }
    }
    mu.Lock();
  }
  // The sample at the end goes to the callback before Wait() returns.
  p->exited = true;
  StopBurnLocked(*p);
  p->memory = 0;
  p->children = 0;
  if (p->timeline && !p->samples) {
    SampleEndLocked(*p);
    DeliverSamplesLocked(p);
  }
  current_program = outer;
  FinishLocked(*p, returned);
}

void Core::FinishLocked(ProgramState& p, std::optional<int> returned) {
  StopBurnLocked(p);
  Outcome outcome;
  if (p.death_signal != 0) {
    outcome.signal = p.death_signal;
    outcome.exit_code = -1;
    outcome.exception_code = p.death_exception;
  } else if (p.exit_code.has_value()) {
    outcome.exit_code = *p.exit_code;
  } else {
    outcome.exit_code = returned.value_or(0) & 0xff;
  }
  if (p.cause.has_value()) {
    outcome.reason = *p.cause;
    if (*p.cause == ExitReason::kSeccompViolation) {
      outcome.syscall_name = p.violation_syscall;
    }
  } else {
    outcome.reason =
        outcome.signal != 0 ? ExitReason::kSignaled : ExitReason::kExited;
  }
  outcome.wall_time = now - p.start_time;
  outcome.user_time = p.cpu_used;
  outcome.peak_memory_bytes = p.peak_memory;
  outcome.limits = p.applied;
  if (p.timeline && !p.samples) SampleEndLocked(p);
  if (p.samples) outcome.samples = std::move(*p.samples);

  p.outcome = outcome;
  p.end_time = now;
  p.phase = Phase::kEnded;
  p.memory = 0;
  p.children = 0;
  p.open_files = 0;
  p.suspended = false;
  p.out.closed = true;
  p.err.closed = true;
  p.wait_until = nullptr;
  live.erase(p.pid);
  if (baton == p.pid) baton = 0;
  ScheduleLocked();
  changed.SignalAll();
}

// --- Blocking and signals (program side) -------------------------------------

void Core::BlockLocked(ProgramState& p, std::function<bool()> until) {
  p.wait_until = until;
  p.phase = Phase::kBlocked;
  if (baton == p.pid) baton = 0;
  changed.SignalAll();  // a host may wait for quiescence
  ScheduleLocked();
  AwaitTurnLocked(p);
  p.wait_until = nullptr;
  // A signal that was ignored or handled does not end the wait: the call
  // resumes until what it waits for has happened.
  PollLocked(p);
  if (!until()) BlockLocked(p, std::move(until));
}

void Core::NotifyLocked() {
  ScheduleLocked();
  changed.SignalAll();
}

// --- Clock and shutdown
// ----------------------------------------------------------

absl::Status Core::AdvanceBy(absl::Duration duration) {
  if (duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        fmt::format("advance the virtual clock: {} is negative",
                    procsandbox::FormatDuration(duration)));
  }
  absl::MutexLock lock(&mu);
  if (in_sample_callback) {
    return absl::FailedPreconditionError(
        "advance the virtual clock: called from an on_sample callback");
  }
  if (CurrentProgram() != nullptr) {
    return absl::FailedPreconditionError(
        "advance the virtual clock: called from a scripted program (use "
        "FakeProcess::Sleep)");
  }
  MaterializeAllLocked();
  QuiesceLocked();
  // Another thread's sample callbacks finish at their instant first.
  auto no_sampling = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    return sampling == 0;
  };
  AwaitLocked(no_sampling, /*host_wait=*/false);
  const absl::Time target = now + duration;
  for (absl::Time next = NextEventLocked(); next <= target;
       next = NextEventLocked()) {
    AdvanceToLocked(next);
    QuiesceLocked();
    AwaitLocked(no_sampling, /*host_wait=*/false);
  }
  AdvanceToLocked(target);
  QuiesceLocked();
  return absl::OkStatus();
}

// --- Samples (Command::monitor)
// ----------------------------------------------------------

void Core::SampleLocked(ProgramState& p) const {
  UsageSample sample;
  sample.time = now;
  sample.elapsed = now - p.start_time;
  sample.user_time = CpuUsedLocked(p);
  sample.memory_bytes = p.memory;
  sample.peak_memory_bytes = p.peak_memory;
  sample.processes = 1 + p.children;
  sample.stdout_bytes = p.stdout_bytes;
  sample.stderr_bytes = p.stderr_bytes;
  sample.state =
      p.suspended ? ProcessState::kSuspended : ProcessState::kRunning;
  sample = p.timeline->Add(sample);
  if (p.command.monitor.on_sample) p.samples_due.push_back(sample);
}

void Core::SampleEndLocked(ProgramState& p) const {
  StopBurnLocked(p);
  UsageSample sample;
  sample.time = now;
  sample.elapsed = now - p.start_time;
  sample.user_time = p.cpu_used;
  sample.peak_memory_bytes = p.peak_memory;
  sample.stdout_bytes = p.stdout_bytes;
  sample.stderr_bytes = p.stderr_bytes;
  sample.state = ProcessState::kEnded;
  p.samples = p.timeline->Finish(sample);
  if (p.command.monitor.on_sample) p.samples_due.push_back(sample);
}

void Core::DeliverSamplesLocked(const std::shared_ptr<ProgramState>& p) {
  if (p->delivering) return;  // the thread delivering them takes these too
  p->delivering = true;
  ++sampling;
  const bool outer = in_sample_callback;
  in_sample_callback = true;
  while (!p->samples_due.empty()) {
    const UsageSample sample = p->samples_due.front();
    p->samples_due.pop_front();
    const std::function<void(const UsageSample&)> callback =
        p->command.monitor.on_sample;
    mu.Unlock();
    callback(sample);
    mu.Lock();
  }
  in_sample_callback = outer;
  --sampling;
  p->delivering = false;
  changed.SignalAll();
}

void Core::Shutdown() {
  absl::ReleasableMutexLock lock(&mu);
  shut_down = true;
  MaterializeAllLocked();
  QuiesceLocked();
  for (auto& [pid, p] : live) TerminateLocked(*p, ExitReason::kCancelled);
  ++force_advance;
  AwaitLocked([this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return live.empty(); },
              /*host_wait=*/true);
  AwaitLocked([this]()
                  ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return workers.empty(); },
              /*host_wait=*/false);
  --force_advance;
  std::vector<std::thread> ended;
  ended.swap(ended_workers);
  lock.Release();
  // Every thread the core started is here or was joined by one that is: no
  // more can start (shut_down), so none outlives the manager.
  for (std::thread& t : ended) t.join();
}

}  // namespace procsandbox::memory_internal
