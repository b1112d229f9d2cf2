#include "posix/signal_reset.h"

#include <signal.h>

namespace procsandbox::posix_internal {

void ResetSignalDispositions() {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    struct sigaction old = {};
    // The libc's own internal signals are refused (EINVAL): skipped.
    if (sigaction(sig, nullptr, &old) != 0) continue;
    if (old.sa_handler != SIG_DFL) sigaction(sig, &dfl, nullptr);
  }
}

}  // namespace procsandbox::posix_internal
