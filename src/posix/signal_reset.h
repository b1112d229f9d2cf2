// ResetSignalDispositions: in a child between fork/vfork/clone and exec,
// every handled or ignored signal back to its default action, so that the
// program starts as if from a fresh shell, whatever the host had installed.
// Async-signal-safe: sigaction(2) only, no allocation, no lock.
#ifndef PROCSANDBOX_SRC_POSIX_SIGNAL_RESET_H_
#define PROCSANDBOX_SRC_POSIX_SIGNAL_RESET_H_

namespace procsandbox::posix_internal {

void ResetSignalDispositions();

}  // namespace procsandbox::posix_internal

#endif  // PROCSANDBOX_SRC_POSIX_SIGNAL_RESET_H_
