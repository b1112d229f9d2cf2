// `procsandbox run`: the signals the tool takes for its program.
//
// HUP, INT, QUIT, TERM, USR1, USR2, PIPE, ALRM, VTALRM and PROF (the
// catchable signals that would end the tool, as a user, a terminal or a
// supervisor sends them) are blocked in every thread and taken by the
// relay's own thread — each unless the tool's caller set it to be ignored
// (nohup's HUP): that one stays ignored, for the program too. While the program
// runs, each is passed on to it (to its process group), as timeout(1) and tini
// do; the second INT or TERM kills its whole tree instead (SIGKILL), so a
// program that ignores the first cannot hold the tool. A write to a closed pipe
// fails with EPIPE instead of ending the tool.
//
// With no program running (before it started, after it ended) the first
// signal is kept as stop_signal(), and the thread that made the relay is
// interrupted until it is done (see AllowInterrupts): whatever it blocks in
// (opening a FIFO that has no other end yet, writing to a full pipe) fails
// with EINTR, so the tool can end at once.
//
//   SignalRelay relay;  // before any other thread exists: they inherit
//                       // the block
//   manager = NewOsManager();
//   relay.AllowInterrupts();
//   ... set up; if (relay.stop_signal() != 0) end without starting ...
//   ... process->Start() (on failure, look at stop_signal() too) ...
//   relay.Attach(process);
//   process->Wait();
//   relay.Detach();
//   ... write the result; on EINTR, stop_signal() says why ...
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_SIGNALS_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_SIGNALS_H_

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox::cli {

class SignalRelay {
 public:
  // Blocks the relayed signals in the calling thread (so in every thread it
  // creates afterwards) and starts the relay's thread.
  SignalRelay();
  // Stops the relay's thread at once (it waits without a tick; a private
  // real-time signal, SIGRTMIN+1, wakes it); the signals stay blocked.
  ~SignalRelay();
  SignalRelay(const SignalRelay&) = delete;
  SignalRelay& operator=(const SignalRelay&) = delete;

  // From now on, while stop_signal() is set and no program is attached,
  // the thread that made the relay gets a real-time signal every 50ms whose
  // handler does nothing (installed without SA_RESTART): a blocking call
  // fails with EINTR. Call it from that thread once the threads that must
  // never see that signal exist (the manager's): they inherit the mask.
  void AllowInterrupts() ABSL_LOCKS_EXCLUDED(mu_);
  // The first signal taken while no program was attached (0 for none).
  int stop_signal() const ABSL_LOCKS_EXCLUDED(mu_);
  // The program started: signals go to it from now on, and one taken
  // before (Start() raced with it) goes to it at once.
  void Attach(const std::shared_ptr<Process>& process) ABSL_LOCKS_EXCLUDED(mu_);
  // The program ended: signals are no longer passed on, see stop_signal().
  void Detach() ABSL_LOCKS_EXCLUDED(mu_);
  // An INT, TERM, HUP or QUIT was passed on to the program (or its tree
  // killed): the run is ending. Thread-safe, lock-free.
  bool ending() const { return ending_; }

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  const pthread_t owner_;   // the thread that made the relay
  const sigset_t relayed_;  // the relayed signals not ignored at the start
  mutable absl::Mutex mu_;
  std::shared_ptr<Process> process_ ABSL_GUARDED_BY(mu_);
  int stop_signal_ ABSL_GUARDED_BY(mu_) = 0;
  int stops_ ABSL_GUARDED_BY(mu_) = 0;  // INT and TERM passed on
  bool interruptible_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<bool> done_{false};
  std::atomic<bool> ending_{false};
  std::thread thread_;
};

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_SIGNALS_H_
