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

sigset_t RelayedSet() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : kRelayed) sigaddset(&set, sig);
  return set;
}

}  // namespace

SignalRelay::SignalRelay() {
  const sigset_t set = RelayedSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this] { Loop(); });
}

SignalRelay::~SignalRelay() {
  done_ = true;
  thread_.join();
}

void SignalRelay::Attach(std::shared_ptr<Process> process) {
  int pending = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    process_ = process;
    pending = std::exchange(pending_, 0);
    if (pending == SIGINT || pending == SIGTERM) stops_ = 1;
  }
  if (pending != 0) (void)process->Signal(pending);
}

void SignalRelay::Detach() {
  std::lock_guard<std::mutex> lock(mu_);
  process_.reset();
}

void SignalRelay::Loop() {
  const sigset_t set = RelayedSet();
  const struct timespec tick = {0, 50 * 1000 * 1000};
  while (!done_) {
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig <= 0) continue;
    std::shared_ptr<Process> target;
    bool kill = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      target = process_;
      if (target == nullptr && pending_ == 0) pending_ = sig;
      if (target != nullptr && (sig == SIGINT || sig == SIGTERM)) {
        kill = ++stops_ >= 2;
      }
    }
    if (target == nullptr) continue;
    // Outside the lock: the process takes its own.
    (void)(kill ? target->Kill() : target->Signal(sig));
  }
}

}  // namespace procsandbox::cli
