#include "signals.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include <utility>

namespace procsandbox::cli {
namespace {

// Every catchable signal whose default action ends the process and that
// comes from outside (a user, a terminal, a supervisor, a timer). Not the
// ones the kernel sends for the tool's own faults (SEGV, BUS, FPE, ILL,
// TRAP, SYS, ABRT) or its own limits (XCPU, XFSZ).
constexpr int kRelayed[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM,   SIGUSR1,
                            SIGUSR2, SIGPIPE, SIGALRM, SIGVTALRM, SIGPROF};

// Sent to the relay's owner thread to interrupt a blocking call; glibc
// keeps the first real-time signals for itself, SIGRTMIN is past them.
int InterruptSignal() { return SIGRTMIN; }

// Sent to the relay's thread alone (pthread_kill) to end its wait: when the
// relay is destroyed, and when AllowInterrupts() finds a stop to act on.
// Blocked in every thread, it stays pending on that thread until its wait
// takes it, so a wake-up sent just before the wait starts is not lost.
int WakeSignal() { return SIGRTMIN + 1; }

extern "C" void OnInterrupt(int) {}

// The relayed signals the tool's caller did not set to be ignored: under
// nohup (HUP) or in a non-interactive shell's background job (INT, QUIT)
// they stay ignored, for the program too (it inherits the disposition).
sigset_t RelayedSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kRelayed) {
    struct sigaction action = {};
    if (sigaction(sig, nullptr, &action) == 0 && action.sa_handler == SIG_IGN) {
      continue;
    }
    sigaddset(&set, sig);
  }
  return set;
}

}  // namespace

SignalRelay::SignalRelay() : owner_(pthread_self()), relayed_(RelayedSet()) {
  struct sigaction interrupt = {};
  interrupt.sa_handler = OnInterrupt;  // no SA_RESTART: the call fails
  sigemptyset(&interrupt.sa_mask);
  sigaction(InterruptSignal(), &interrupt, nullptr);
  sigset_t set = relayed_;
  sigaddset(&set, InterruptSignal());  // until AllowInterrupts()
  sigaddset(&set, WakeSignal());
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

SignalRelay::~SignalRelay() {
  done_ = true;
  pthread_kill(thread_.native_handle(), WakeSignal());
  thread_.join();
}

void SignalRelay::AllowInterrupts() {
  absl::MutexLock lock(&mu_);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, InterruptSignal());
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  interruptible_ = true;
  // A signal taken before: the relay's thread, waiting without a tick,
  // starts interrupting this one.
  if (stop_signal_ != 0 && process_ == nullptr) {
    pthread_kill(thread_.native_handle(), WakeSignal());
  }
}

int SignalRelay::stop_signal() const {
  absl::MutexLock lock(&mu_);
  return stop_signal_;
}

void SignalRelay::Attach(const std::shared_ptr<Process>& process) {
  int pending = 0;
  {
    absl::MutexLock lock(&mu_);
    process_ = process;
    pending = std::exchange(stop_signal_, 0);
    if (pending == SIGINT || pending == SIGTERM) stops_ = 1;
  }
  if (pending != 0) (void)process->Signal(pending);
}

void SignalRelay::Detach() {
  absl::MutexLock lock(&mu_);
  process_.reset();
}

void SignalRelay::Loop() {
  sigset_t set = relayed_;
  sigaddset(&set, WakeSignal());
  const struct timespec tick = {0, 50L * 1000 * 1000};
  while (!done_) {
    bool interrupting = false;
    {
      absl::MutexLock lock(&mu_);
      interrupting = process_ == nullptr && stop_signal_ != 0 && interruptible_;
      if (interrupting) pthread_kill(owner_, InterruptSignal());
    }
    // While the owner is interrupted, again at every tick: one sent before
    // it entered the call that blocks was spent on nothing. Otherwise no
    // tick: a signal, or the wake-up of the destructor, ends the wait.
    const int sig = interrupting ? sigtimedwait(&set, nullptr, &tick)
                                 : sigwaitinfo(&set, nullptr);
    if (sig <= 0 || sig == WakeSignal()) continue;
    std::shared_ptr<Process> target;
    bool kill = false;
    {
      absl::MutexLock lock(&mu_);
      target = process_;
      if (target == nullptr && stop_signal_ == 0) stop_signal_ = sig;
      if (target != nullptr && (sig == SIGINT || sig == SIGTERM)) {
        kill = ++stops_ >= 2;
      }
    }
    if (target == nullptr) continue;
    if (kill || sig == SIGINT || sig == SIGTERM || sig == SIGHUP ||
        sig == SIGQUIT) {
      ending_ = true;
    }
    // Outside the lock: the process takes its own.
    (void)(kill ? target->Kill() : target->Signal(sig));
  }
}

}  // namespace procsandbox::cli
