// The in-memory manager: signals and stopping (see core.h for the model).
#include "common/signals.h"

#include <algorithm>
#include <csignal>
#include <functional>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "memory/core.h"

namespace procsandbox::memory_internal {
namespace {

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

}  // namespace

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
    if (auto it = p.handlers.find(signo); it != p.handlers.end()) {
      // A copy: the handler runs unlocked, and the program may replace or
      // remove its handlers meanwhile.
      const std::function<void()> handler = it->second;
      RunHandlerLocked(p, signo, handler);
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
                            const std::function<void()>& handler) {
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
  if (p.phase == Phase::kEnded || p.exited) return;
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
  if (p.phase == Phase::kEnded || p.exited) return;
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
  if (p.phase == Phase::kEnded || p.dying || p.exited) return;
  if (!p.cause) p.cause = cause;
  p.dying = true;
  p.death_signal = signo;
  ScheduleLocked();
  changed.SignalAll();
}

}  // namespace procsandbox::memory_internal
