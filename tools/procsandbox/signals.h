// `procsandbox run`: the signals the tool takes for its program.
//
// HUP, INT, QUIT, TERM, USR1, USR2, PIPE, ALRM, VTALRM and PROF (the
// catchable signals that would end the tool, as a user, a terminal or a
// supervisor sends them) are blocked in every thread and taken by the
// relay's own thread. While the program runs, each is passed on to it (to
// its process group), as timeout(1) and tini do; the second INT or TERM
// kills its whole tree instead (SIGKILL), so a program that ignores the
// first cannot hold the tool. A write to a closed pipe fails with EPIPE
// instead of ending the tool.
//
//   SignalRelay relay;  // before any other thread exists: they inherit
//                       // the block
//   ... process->Start() ...
//   relay.Attach(process);
//   process->Wait();
//   relay.Detach();
#ifndef PROCSANDBOX_TOOLS_PROCSANDBOX_SIGNALS_H_
#define PROCSANDBOX_TOOLS_PROCSANDBOX_SIGNALS_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "procsandbox/procsandbox.h"

namespace procsandbox::cli {

class SignalRelay {
 public:
  // Blocks the relayed signals in the calling thread (so in every thread it
  // creates afterwards) and starts the relay's thread.
  SignalRelay();
  // Stops the relay's thread; the signals stay blocked.
  ~SignalRelay();
  SignalRelay(const SignalRelay&) = delete;
  SignalRelay& operator=(const SignalRelay&) = delete;

  // The program started: signals go to it from now on, and the first one
  // taken before goes to it at once.
  void Attach(std::shared_ptr<Process> process);
  // The program ended: signals are no longer passed on.
  void Detach();

 private:
  void Loop();

  std::mutex mu_;
  std::shared_ptr<Process> process_;  // guarded by mu_
  int pending_ = 0;                   // taken with no program; mu_
  int stops_ = 0;                     // INT and TERM passed on; mu_
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace procsandbox::cli

#endif  // PROCSANDBOX_TOOLS_PROCSANDBOX_SIGNALS_H_
