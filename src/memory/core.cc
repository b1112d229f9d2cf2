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
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/exec_errors.h"
#include "common/fmt_absl.h"
#include "common/signals.h"
#include "fmt/format.h"
#include "procsandbox/command.h"
#include "procsandbox/limits.h"

namespace procsandbox::memory_internal {
namespace {

// The program running on this thread, and the manager it belongs to: a call
// into another manager from a program is a host call there.
struct RunningProgram {
  const Core* core = nullptr;
  ProgramState* program = nullptr;
};
thread_local RunningProgram current_program;

// History keeps the first this many bytes of each stream of a run.
constexpr std::size_t kHistoryStreamBytes = 1 << 20;

void AppendCapped(std::string& to, absl::string_view data) {
  if (to.size() >= kHistoryStreamBytes) return;
  to.append(data.data(),
            std::min(data.size(), kHistoryStreamBytes - to.size()));
}

// Signals whose default action stops the process (as SIGSTOP does).
bool StopsByDefault(int signo) {
#if defined(SIGTSTP) && defined(SIGTTIN) && defined(SIGTTOU)
  return signo == SIGTSTP || signo == SIGTTIN || signo == SIGTTOU;
#else
  (void)signo;
  return false;
#endif
}

// Signals whose default action is to do nothing.
bool IgnoredByDefault(int signo) {
#if defined(SIGCHLD) && defined(SIGURG) && defined(SIGWINCH)
  if (signo == SIGCHLD || signo == SIGURG || signo == SIGWINCH) return true;
#endif
  return signo == internal::kSigCont;
}

void OpenSink(const Stdio& stdio, OutputSink& sink,
              std::map<std::string, std::string, std::less<>>& files) {
  sink.kind = stdio.kind();
  switch (stdio.kind()) {
    case Stdio::Kind::kDefault:
      sink.kind = Stdio::Kind::kNull;
      break;
    case Stdio::Kind::kLines:
      sink.callback = stdio.callback();
      break;
    case Stdio::Kind::kFile: {
      sink.path = stdio.path();
      std::string& file = files[sink.path];
      if (stdio.file_mode() != FileMode::kAppend) file.clear();
      break;
    }
    default:
      break;
  }
}

void ClearLimit(Limits& limits, LimitKind kind) {
  switch (kind) {
    case LimitKind::kWallTime:
      limits.wall_time.reset();
      break;
    case LimitKind::kCpuTime:
      limits.cpu_time.reset();
      break;
    case LimitKind::kMemory:
      limits.memory_bytes.reset();
      break;
    case LimitKind::kFileSize:
      limits.file_size_bytes.reset();
      break;
    case LimitKind::kOpenFiles:
      limits.open_files.reset();
      break;
    case LimitKind::kProcesses:
      limits.processes.reset();
      break;
    case LimitKind::kOutput:
      limits.output_bytes.reset();
      break;
    case LimitKind::kCpuWeight:
      limits.cpu_weight.reset();
      break;
  }
}

// Collapses "//", "/./" and a trailing "/." (".." is kept: it may cross a
// symlink).
std::string NormalizePath(absl::string_view path) {
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    parts.push_back(part);
  }
  std::string joined = absl::StrJoin(parts, "/");
  if (absl::StartsWith(path, "/")) return absl::StrCat("/", joined);
  return joined.empty() ? "." : joined;
}

}  // namespace

LimitEnforcement VirtualEnforcement(LimitKind kind) {
  // Scripted programs never compete for a CPU in virtual time, so a weight
  // has nothing to act on; it is recorded, not simulated.
  if (kind == LimitKind::kCpuWeight) {
    return {kind, Mechanism::kVirtual,
            "recorded; no CPU contention in virtual time"};
  }
  return {kind, Mechanism::kVirtual, "simulated"};
}

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
  auto consider = [&](absl::Time t) {
    if (t > now && t < next) next = t;
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
  }
  auto it = host_deadlines.upper_bound(now);
  if (it != host_deadlines.end()) consider(*it);
  return next;
}

void Core::AdvanceToLocked(absl::Time t) {
  now = std::max(now, t);
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
  if (host_wait) host_waits.push_back(&done);
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
    if ((auto_advance || force_advance > 0) && baton == 0 &&
        AllHostsStillWaitLocked()) {
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
  AwaitLocked([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return baton == 0; },
              /*host_wait=*/false);
}

// --- Running programs -------------------------------------------------------

void Core::MaterializeLocked(const std::shared_ptr<ProgramState>& p) {
  if (p->phase != Phase::kLazy) return;
  --lazy;
  p->phase = Phase::kReady;
  ++threads;
  try {
    std::thread([core = shared_from_this(), p] {
      absl::MutexLock lock(&core->mu);
      core->Execute(p);
      --core->threads;
      core->changed.SignalAll();
    }).detach();
  } catch (const std::system_error&) {
    // No thread to run it on: it dies before its first instruction, as a
    // process the OS could not schedule would.
    --threads;
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
  const std::function<bool()> ended = [&p]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return p->phase == Phase::kEnded;
  };
  host_waits.push_back(&ended);
  Execute(p);
  host_waits.erase(std::find(host_waits.begin(), host_waits.end(), &ended));
  changed.SignalAll();
}

void Core::AwaitTurnLocked(ProgramState& p) {
  if (p.inline_run) {
    // This thread is also the host waiting for `p`: it keeps the clock going.
    AwaitLocked([&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return baton == p.pid; },
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
  current_program = outer;
  FinishLocked(*p, returned);
}

void Core::FinishLocked(ProgramState& p, std::optional<int> returned) {
  StopBurnLocked(p);
  Outcome outcome;
  if (p.death_signal != 0) {
    outcome.signal = p.death_signal;
    outcome.exit_code = -1;
  } else if (p.exit_code.has_value()) {
    outcome.exit_code = *p.exit_code;
  } else {
    outcome.exit_code = returned.value_or(0) & 0xff;
  }
  if (p.cause.has_value()) {
    outcome.reason = *p.cause;
  } else {
    outcome.reason =
        outcome.signal != 0 ? ExitReason::kSignaled : ExitReason::kExited;
  }
  outcome.wall_time = now - p.start_time;
  outcome.user_time = p.cpu_used;
  outcome.peak_memory_bytes = p.peak_memory;
  outcome.limits = p.limits;

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

void Core::PollLocked(ProgramState& p) {
  if (p.dying) throw UnwindScript{};
  for (;;) {
    if (p.suspended) break;
    // The first pending signal not blocked by its own running handler.
    auto next = std::find_if(p.pending.begin(), p.pending.end(), [&p](int s) {
      return p.in_handler.count(s) == 0;
    });
    if (next == p.pending.end()) break;
    const int signo = *next;
    p.pending.erase(next);
    if (p.ignored.count(signo) != 0) continue;
    auto handler = p.handlers.find(signo);
    if (handler != p.handlers.end()) {
      RunHandlerLocked(p, signo, handler->second);
      continue;
    }
    if (IgnoredByDefault(signo)) continue;
    if (StopsByDefault(signo)) {
      StopBurnLocked(p);
      p.suspended = true;
      continue;
    }
    // The default action of every other signal ends the program. The host
    // sent it (limits set their own cause first), so the death is a
    // cancellation.
    if (!p.cause) p.cause = ExitReason::kCancelled;
    p.dying = true;
    p.death_signal = signo;
    throw UnwindScript{};
  }
  // Stopped (SIGTSTP and friends) while running: wait for SIGCONT.
  if (p.suspended) BlockLocked(p, [] { return true; });
}

void Core::RunHandlerLocked(ProgramState& p, int signo,
                            std::function<void()> handler) {
  // The handler's own time is not the interrupted UseCpu()'s burn, and the
  // signal stays blocked while its handler runs (as sigaction does).
  StopBurnLocked(p);
  p.in_handler.insert(signo);
  mu.Unlock();
  try {
    handler();
  } catch (...) {
    mu.Lock();
    p.in_handler.erase(signo);
    throw;
  }
  mu.Lock();
  p.in_handler.erase(signo);
  if (p.dying) throw UnwindScript{};
  if (p.in_burn && p.burn_left > absl::ZeroDuration() && !p.suspended) {
    p.burning = true;
    p.cpu_since = now;
  }
}

bool Core::HasDeliverableSignalLocked(const ProgramState& p) const {
  for (int signo : p.pending) {
    if (p.in_handler.count(signo) == 0) return true;
  }
  return false;
}

void Core::SendSignalLocked(ProgramState& p, int signo) {
  if (p.phase == Phase::kEnded) return;
  if (signo == internal::kSigKill) {
    KillLocked(p, ExitReason::kCancelled, signo);
    return;
  }
  if (signo == internal::kSigStop) {
    if (!p.suspended) {
      StopBurnLocked(p);
      p.suspended = true;
    }
  } else if (signo == internal::kSigCont) {
    if (p.suspended) {
      p.suspended = false;
      if (p.in_burn && p.burn_left > absl::ZeroDuration()) {
        p.burning = true;
        p.cpu_since = now;
      }
    }
    // SIGCONT resumes whatever else happens to it; a handler also runs.
    if (p.handlers.count(signo) != 0) p.pending.push_back(signo);
  } else {
    p.pending.push_back(signo);
  }
  ScheduleLocked();
  changed.SignalAll();
}

void Core::TerminateLocked(ProgramState& p, ExitReason cause) {
  if (p.phase == Phase::kEnded) return;
  if (!p.cause) p.cause = cause;
  if (p.command.kill_grace <= absl::ZeroDuration()) {
    KillLocked(p, cause, internal::kSigKill);
    return;
  }
  SendSignalLocked(p, internal::kSigTerm);
  SendSignalLocked(p, internal::kSigCont);
  if (p.kill_time == absl::InfiniteFuture()) {
    p.kill_time = now + p.command.kill_grace;
  }
}

void Core::KillLocked(ProgramState& p, ExitReason cause, int signo) {
  if (p.phase == Phase::kEnded || p.dying) return;
  if (!p.cause) p.cause = cause;
  p.dying = true;
  p.death_signal = signo;
  ScheduleLocked();
  changed.SignalAll();
}

// --- Resources
// ----------------------------------------------------------------

absl::Duration Core::CpuUsedLocked(const ProgramState& p) const {
  return p.burning ? p.cpu_used + (now - p.cpu_since) : p.cpu_used;
}

void Core::StartBurnLocked(ProgramState& p, absl::Duration d) {
  StopBurnLocked(p);  // count what an interrupted burn used so far
  p.in_burn = true;
  p.burn_left = d;
  if (!p.suspended) {
    p.burning = true;
    p.cpu_since = now;
  }
  if (p.limits.cpu_time.has_value() && p.cpu_used >= *p.limits.cpu_time) {
    StopBurnLocked(p);
    KillLocked(p, ExitReason::kCpuTimeExceeded, internal::kSigXcpu);
  }
}

void Core::StopBurnLocked(ProgramState& p) {
  if (!p.burning) return;
  const absl::Duration ran = now - p.cpu_since;
  p.cpu_used += ran;
  p.burn_left = std::max(absl::ZeroDuration(), p.burn_left - ran);
  p.burning = false;
}

// --- Output
// -------------------------------------------------------------------

OutputSink& Core::SinkFor(ProgramState& p, Stream stream) {
  if (stream == Stream::kStderr && !p.err_to_out) return p.err;
  return p.out;
}

void Core::WriteLocked(ProgramState& p, Stream stream, absl::string_view data,
                       std::vector<std::string>* lines) {
  AppendCapped(stream == Stream::kStdout ? p.stdout_seen : p.stderr_seen, data);
  p.output_bytes += static_cast<int64_t>(data.size());
  OutputSink& sink = SinkFor(p, stream);
  switch (sink.kind) {
    case Stdio::Kind::kFile:
      WriteFileLocked(p, sink.path, data, /*append=*/true);
      return;
    case Stdio::Kind::kCapture:
    case Stdio::Kind::kLines:
      break;
    default:  // null, inherit, a descriptor: nothing to keep
      return;
  }
  absl::string_view kept = data;
  if (p.limits.output_bytes.has_value()) {
    const int64_t room =
        std::max<int64_t>(0, *p.limits.output_bytes - p.kept_bytes);
    if (static_cast<int64_t>(kept.size()) > room) {
      kept = kept.substr(0, static_cast<std::size_t>(room));
      sink.truncated = true;
      if (p.command.on_output_limit == OutputLimitAction::kStop) {
        TerminateLocked(p, ExitReason::kOutputExceeded);
      }
    }
  }
  p.kept_bytes += static_cast<int64_t>(kept.size());
  if (sink.kind == Stdio::Kind::kCapture) {
    sink.buffer.append(kept.data(), kept.size());
    return;
  }
  sink.partial_line.append(kept.data(), kept.size());
  std::size_t start = 0;
  for (std::size_t nl = sink.partial_line.find('\n'); nl != std::string::npos;
       nl = sink.partial_line.find('\n', start)) {
    lines->emplace_back(sink.partial_line, start, nl - start);
    start = nl + 1;
  }
  sink.partial_line.erase(0, start);
}

void Core::WriteFileLocked(ProgramState& p, absl::string_view path,
                           absl::string_view contents, bool append) {
  std::string& file = files[std::string(path)];
  if (!append) file.clear();
  if (p.limits.file_size_bytes.has_value()) {
    const auto limit = static_cast<std::size_t>(*p.limits.file_size_bytes);
    if (file.size() + contents.size() > limit) {
      // The kernel writes up to the limit, then raises SIGXFSZ.
      if (file.size() < limit) {
        file.append(contents.data(), limit - file.size());
      }
      KillLocked(p, ExitReason::kFileSizeExceeded, internal::kSigXfsz);
      return;
    }
  }
  file.append(contents.data(), contents.size());
}

// --- Start
// --------------------------------------------------------------------

absl::Status Core::ResolveLocked(ProgramState& p) {
  const std::string& program = p.command.program;
  const std::string& cwd = p.command.working_dir;
  // Relative paths, and relative or empty PATH entries, are looked up from
  // the child's working directory, as execve after chdir does.
  auto from_cwd = [&cwd](absl::string_view path) {
    if (cwd.empty() || absl::StartsWith(path, "/")) return NormalizePath(path);
    return NormalizePath(absl::StrCat(cwd, "/", path));
  };
  const Registration* found = nullptr;
  auto try_key = [&](const std::string& key) {
    if (found != nullptr) return;
    auto it = programs.find(key);
    if (it == programs.end()) return;
    found = &it->second;
    p.resolved = key;
  };
  std::string search_path;
  if (program.find('/') != std::string::npos) {
    try_key(program);
    try_key(from_cwd(program));
  } else {
    search_path = internal::SearchPathOf(p.command.env);
    for (absl::string_view dir : absl::StrSplit(search_path, ':')) {
      try_key(from_cwd(absl::StrCat(dir.empty() ? "." : dir, "/", program)));
    }
    try_key(program);  // registered by bare name: found on any PATH
  }
  if (found == nullptr) {
    return internal::ProgramNotFoundError(program, search_path);
  }
  if (!found->error.ok()) return found->error;
  p.program = found->program;
  return absl::OkStatus();
}

absl::Status Core::OpenStreamsLocked(ProgramState& p) {
  const Stdio& in = p.command.stdin_;
  switch (in.kind()) {
    case Stdio::Kind::kData:
      p.stdin_buffer = in.data();
      break;
    case Stdio::Kind::kFile: {
      auto it = files.find(in.path());
      if (it == files.end()) return internal::StdinFileNotFoundError(in.path());
      p.stdin_buffer = it->second;
      break;
    }
    case Stdio::Kind::kPipe:
      p.stdin_closed = false;
      break;
    default:
      break;
  }
  OpenSink(p.command.stdout_, p.out, files);
  if (p.command.stderr_.kind() == Stdio::Kind::kToStdout) {
    p.err_to_out = true;
    p.err.kind = Stdio::Kind::kToStdout;
  } else {
    OpenSink(p.command.stderr_, p.err, files);
  }
  return absl::OkStatus();
}

void Core::RecordLocked(const std::shared_ptr<ProgramState>& p) {
  history.push_back(p);
  while (history.size() > options.history_limit) history.pop_front();
}

absl::Status Core::StartLocked(const std::shared_ptr<ProgramState>& p) {
  if (p->phase != Phase::kNew) {
    return absl::FailedPreconditionError(fmt::format(
        "start \"{}\": already started (pid {})", p->command.label(), p->pid));
  }
  if (shut_down) {
    return absl::FailedPreconditionError(fmt::format(
        "start \"{}\": its MemoryManager is gone", p->command.label()));
  }
  absl::Status status = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS -> absl::Status {
    if (absl::Status s = ValidateCommand(p->command); !s.ok()) return s;
    p->limits = MergeLimits(p->command.limits, defaults);
    p->enforcement.limits.clear();
    for (LimitKind kind : kAllLimitKinds) {
      if (!p->limits.has(kind)) continue;
      LimitEnforcement e = VirtualEnforcement(kind);
      for (const LimitEnforcement& u : options.unenforced) {
        if (u.limit == kind) e = {kind, Mechanism::kNone, u.detail};
      }
      if (!e.enforced()) {
        if (options.strict) {
          return absl::FailedPreconditionError(
              fmt::format("start \"{}\": limit {} cannot be enforced here: {}",
                          p->command.label(), LimitKindName(kind), e.detail));
        }
        ClearLimit(p->limits, kind);  // reported, not applied
      }
      p->enforcement.limits.push_back(std::move(e));
    }
    if (absl::Status s = ResolveLocked(*p); !s.ok()) return s;
    return OpenStreamsLocked(*p);
  }();
  p->start_status = status;
  if (!status.ok()) {
    // Record the refusal as it was; the process may be fixed and started.
    auto refused = std::make_shared<ProgramState>();
    refused->command = p->command;
    refused->start_status = status;
    refused->start_time = now;
    refused->limits = MergeLimits(p->command.limits, defaults);
    RecordLocked(refused);
    p->resolved.clear();
    p->program = nullptr;
    return status;
  }
  p->pid = next_pid++;
  p->start_time = now;
  p->argv.reserve(p->command.args.size() + 1);
  p->argv.push_back(p->command.program);
  p->argv.insert(p->argv.end(), p->command.args.begin(), p->command.args.end());
  if (p->limits.wall_time.has_value()) {
    p->deadline = now + *p->limits.wall_time;
  }
  p->phase = Phase::kLazy;
  ++lazy;
  live.emplace(p->pid, p);
  RecordLocked(p);
  return absl::OkStatus();
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
  if (CurrentProgram() != nullptr) {
    return absl::FailedPreconditionError(
        "advance the virtual clock: called from a scripted program (use "
        "FakeProcess::Sleep)");
  }
  MaterializeAllLocked();
  QuiesceLocked();
  const absl::Time target = now + duration;
  for (absl::Time next = NextEventLocked(); next <= target;
       next = NextEventLocked()) {
    AdvanceToLocked(next);
    QuiesceLocked();
  }
  AdvanceToLocked(target);
  QuiesceLocked();
  return absl::OkStatus();
}

void Core::Shutdown() {
  absl::MutexLock lock(&mu);
  shut_down = true;
  MaterializeAllLocked();
  QuiesceLocked();
  for (auto& [pid, p] : live) TerminateLocked(*p, ExitReason::kCancelled);
  ++force_advance;
  AwaitLocked([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return live.empty(); },
              /*host_wait=*/true);
  AwaitLocked([this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return threads == 0; },
              /*host_wait=*/false);
  --force_advance;
}

}  // namespace procsandbox::memory_internal
