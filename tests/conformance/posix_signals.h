// The POSIX signal names the suite and the helper's twin use, on every
// platform. Windows' C library defines only INT, ILL, FPE, SEGV, TERM, BREAK
// and ABRT; the library reports the others with Linux's numbers
// (src/common/signals.h: SIGKILL is 9 in an Outcome on Windows too), so the
// missing ones are defined here with those numbers; but TTIN and TTOU, whose
// Linux numbers 21 and 22 are BREAK and ABRT on Windows, get unused ones.
#ifndef PROCSANDBOX_TESTS_CONFORMANCE_POSIX_SIGNALS_H_
#define PROCSANDBOX_TESTS_CONFORMANCE_POSIX_SIGNALS_H_

#include <csignal>

#if defined(_WIN32)
#define SIGHUP 1
#define SIGQUIT 3
#define SIGTRAP 5
#define SIGBUS 7
#define SIGKILL 9
#define SIGUSR1 10
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 40
#define SIGTTOU 41
#define SIGURG 23
#define SIGXCPU 24
#define SIGXFSZ 25
#define SIGVTALRM 26
#define SIGPROF 27
#define SIGWINCH 28
#define SIGSYS 31
#endif

#endif  // PROCSANDBOX_TESTS_CONFORMANCE_POSIX_SIGNALS_H_
