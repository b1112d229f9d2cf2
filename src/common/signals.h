// Signal numbers of this platform, shared by every manager so that the fake
// reports the same numbers as the OS backend. <csignal> is the C++ standard
// header (not an OS one); POSIX-only signals fall back to Linux's numbers
// where the platform's C library does not define them (Windows).
#ifndef PROCSANDBOX_SRC_COMMON_SIGNALS_H_
#define PROCSANDBOX_SRC_COMMON_SIGNALS_H_

#include <csignal>

namespace procsandbox::internal {

#if defined(SIGKILL)
inline constexpr int kSigKill = SIGKILL;
#else
inline constexpr int kSigKill = 9;
#endif
#if defined(SIGSTOP)
inline constexpr int kSigStop = SIGSTOP;
#else
inline constexpr int kSigStop = 19;
#endif
#if defined(SIGCONT)
inline constexpr int kSigCont = SIGCONT;
#else
inline constexpr int kSigCont = 18;
#endif
#if defined(SIGXCPU)
inline constexpr int kSigXcpu = SIGXCPU;
#else
inline constexpr int kSigXcpu = 24;
#endif
#if defined(SIGXFSZ)
inline constexpr int kSigXfsz = SIGXFSZ;
#else
inline constexpr int kSigXfsz = 25;
#endif
#if defined(SIGSYS)
inline constexpr int kSigSys = SIGSYS;
#else
inline constexpr int kSigSys = 31;
#endif
#if defined(SIGPIPE)
inline constexpr int kSigPipe = SIGPIPE;
#else
inline constexpr int kSigPipe = 13;
#endif
#if defined(SIGTRAP)
inline constexpr int kSigTrap = SIGTRAP;
#else
inline constexpr int kSigTrap = 5;
#endif
#if defined(SIGBUS)
inline constexpr int kSigBus = SIGBUS;
#else
inline constexpr int kSigBus = 7;
#endif
// Catchable signals with no meaning of their own (tests use them too).
#if defined(SIGHUP)
inline constexpr int kSigHup = SIGHUP;
#else
inline constexpr int kSigHup = 1;
#endif
#if defined(SIGUSR1)
inline constexpr int kSigUsr1 = SIGUSR1;
#else
inline constexpr int kSigUsr1 = 10;
#endif
inline constexpr int kSigTerm = SIGTERM;
inline constexpr int kSigInt = SIGINT;
inline constexpr int kSigAbrt = SIGABRT;
inline constexpr int kSigSegv = SIGSEGV;
inline constexpr int kSigIll = SIGILL;
inline constexpr int kSigFpe = SIGFPE;

// The largest signal number a Signal() call accepts.
inline constexpr int kMaxSignal = 64;

// True for 1..kMaxSignal.
constexpr bool IsValidSignal(int signo) {
  return signo >= 1 && signo <= kMaxSignal;
}

}  // namespace procsandbox::internal

#endif  // PROCSANDBOX_SRC_COMMON_SIGNALS_H_
