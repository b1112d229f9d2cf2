#include "common/signals.h"

#include <csignal>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "procsandbox/outcome.h"

namespace procsandbox {
namespace {

struct SignalEntry {
  int number;
  absl::string_view name;
};

// A table, not a switch: aliases share a number on some platforms (SIGIOT and
// SIGABRT, SIGPOLL and SIGIO), and the first entry of a number wins. The
// signals of internal/signals.h use its constants, so that the names match the
// numbers every manager reports even where <csignal> lacks them (Windows).
constexpr SignalEntry kSignals[] = {
#ifdef SIGHUP
    {SIGHUP, "SIGHUP"},
#endif
    {internal::kSigInt, "SIGINT"},
#ifdef SIGQUIT
    {SIGQUIT, "SIGQUIT"},
#endif
    {internal::kSigIll, "SIGILL"},
    {internal::kSigTrap, "SIGTRAP"},
    {internal::kSigAbrt, "SIGABRT"},
    {internal::kSigBus, "SIGBUS"},
    {internal::kSigFpe, "SIGFPE"},
    {internal::kSigKill, "SIGKILL"},
#ifdef SIGUSR1
    {SIGUSR1, "SIGUSR1"},
#endif
    {internal::kSigSegv, "SIGSEGV"},
#ifdef SIGUSR2
    {SIGUSR2, "SIGUSR2"},
#endif
    {internal::kSigPipe, "SIGPIPE"},
#ifdef SIGALRM
    {SIGALRM, "SIGALRM"},
#endif
    {internal::kSigTerm, "SIGTERM"},
#ifdef SIGSTKFLT
    {SIGSTKFLT, "SIGSTKFLT"},
#endif
#ifdef SIGCHLD
    {SIGCHLD, "SIGCHLD"},
#endif
    {internal::kSigCont, "SIGCONT"},
    {internal::kSigStop, "SIGSTOP"},
#ifdef SIGTSTP
    {SIGTSTP, "SIGTSTP"},
#endif
#ifdef SIGTTIN
    {SIGTTIN, "SIGTTIN"},
#endif
#ifdef SIGTTOU
    {SIGTTOU, "SIGTTOU"},
#endif
#ifdef SIGURG
    {SIGURG, "SIGURG"},
#endif
    {internal::kSigXcpu, "SIGXCPU"},
    {internal::kSigXfsz, "SIGXFSZ"},
#ifdef SIGVTALRM
    {SIGVTALRM, "SIGVTALRM"},
#endif
#ifdef SIGPROF
    {SIGPROF, "SIGPROF"},
#endif
#ifdef SIGWINCH
    {SIGWINCH, "SIGWINCH"},
#endif
#ifdef SIGIO
    {SIGIO, "SIGIO"},
#endif
#ifdef SIGPWR
    {SIGPWR, "SIGPWR"},
#endif
#ifdef SIGINFO
    {SIGINFO, "SIGINFO"},
#endif
#ifdef SIGSYS
    {SIGSYS, "SIGSYS"},
#endif
#ifdef SIGEMT
    {SIGEMT, "SIGEMT"},
#endif
};

}  // namespace

std::string SignalName(int signo) {
  for (const SignalEntry& entry : kSignals) {
    if (entry.number == signo) return std::string(entry.name);
  }
  return absl::StrCat("signal ", signo);
}

}  // namespace procsandbox
