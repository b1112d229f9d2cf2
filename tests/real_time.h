// Real-time helpers for the tests that run real processes: a wall-time limit
// is a race between the deadline and the program's own setup, which a slow
// or loaded machine can lose. These let such a test tell "the limit ended a
// program that was ready" from "the machine was too slow to get there".
// And a watchdog, for tests whose failure would be a hang or a crash.
#ifndef PROCSANDBOX_TESTS_REAL_TIME_H_
#define PROCSANDBOX_TESTS_REAL_TIME_H_

#if __has_include(<execinfo.h>)  // glibc, macOS; not Windows
#include <execinfo.h>
#include <unistd.h>
#define PROCSANDBOX_TESTS_HAVE_BACKTRACE 1
#endif

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox {

// Runs `command`, whose steps print "ready" once set up (signals ignored or
// caught, children forked), under a wall-time limit of `wall`. When the limit
// ran out before "ready" reached stdout, runs it again with the limit doubled,
// up to about 20 s in all: the result then tells what the limit does to a
// program that was ready, never how fast this machine started one.
inline absl::StatusOr<RunResult> RunReadyUnderWallTime(Manager& manager,
                                                       Command command,
                                                       absl::Duration wall) {
  for (;;) {
    command.limits.wall_time = wall;
    absl::StatusOr<RunResult> r = procsandbox::RunCommand(manager, command);
    if (!r.ok() || absl::StrContains(r->stdout_, "ready") ||
        wall > absl::Seconds(10)) {
      return r;
    }
    wall *= 2;
  }
}

// Whether this is a ThreadSanitizer build (gcc says so one way, clang
// another).
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// How much longer than usual everything takes under ThreadSanitizer (5-15x:
// 2,000 fake programs took 72 s of a 120 s guard on two busy cores).
inline constexpr int kSanitizerSlowdown = kThreadSanitizer ? 10 : 1;

// For a death-test child: prints the stack of a crash to stderr (which the
// parent shows), then dies of the signal.
inline void PrintStackAndDie(int signo) {
  std::fprintf(stderr, "child crashed (signal %d):\n", signo);
#if defined(PROCSANDBOX_TESTS_HAVE_BACKTRACE)
  void* frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
#endif
  std::signal(signo, SIG_DFL);
  std::raise(signo);
}

// Makes a crash (SIGSEGV, SIGBUS) call PrintStackAndDie.
inline void PrintStackOnCrash() {
  std::signal(SIGSEGV, PrintStackAndDie);
#if defined(SIGBUS)  // not on Windows
  std::signal(SIGBUS, PrintStackAndDie);
#endif
}

// Runs `body` in a child (gtest's death-test machinery re-runs the test)
// with a watchdog, so that a failure cannot take the whole suite with it:
// a hang (the watchdog exits 3 after `secs` real seconds, times
// kSanitizerSlowdown), a crash (the child dies by its signal) or a non-empty
// result from `body` (what went wrong, printed; exit 1) fails the test, and
// only "" passes. The watchdog turns a hang into a failure; it measures
// nothing.
inline void ExpectCompletesWithin(int secs,
                                  const std::function<std::string()>& body) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        // A crash prints its stack (addr2line -Cfe <test binary> on the
        // offsets) before the child dies of its signal.
        PrintStackOnCrash();
        std::thread([secs] {
          std::this_thread::sleep_for(
              std::chrono::seconds(secs * kSanitizerSlowdown));
          std::fputs("watchdog: the body hung\n", stderr);
          std::_Exit(3);
        }).detach();
        const std::string error = body();
        std::fputs(error.c_str(), stderr);
        std::_Exit(error.empty() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace procsandbox

#endif  // PROCSANDBOX_TESTS_REAL_TIME_H_
