#include "procsandbox/outcome.h"

#include <csignal>
#include <sstream>
#include <string>

#include "absl/time/time.h"
#include "common/signals.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/limits.h"

namespace procsandbox {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;

Outcome Ended(ExitReason reason, absl::Duration wall_time) {
  Outcome outcome;
  outcome.reason = reason;
  outcome.wall_time = wall_time;
  return outcome;
}

Outcome KilledBy(ExitReason reason, int signo, absl::Duration wall_time) {
  Outcome outcome = Ended(reason, wall_time);
  outcome.exit_code = -1;
  outcome.signal = signo;
  return outcome;
}

// --- Names -------------------------------------------------------------------

TEST(ExitReasonNameTest, NamesEveryReasonStably) {
  EXPECT_EQ(ExitReasonName(ExitReason::kExited), "exited");
  EXPECT_EQ(ExitReasonName(ExitReason::kSignaled), "signaled");
  EXPECT_EQ(ExitReasonName(ExitReason::kTimedOut), "timed_out");
  EXPECT_EQ(ExitReasonName(ExitReason::kCpuTimeExceeded), "cpu_time_exceeded");
  EXPECT_EQ(ExitReasonName(ExitReason::kMemoryExceeded), "memory_exceeded");
  EXPECT_EQ(ExitReasonName(ExitReason::kFileSizeExceeded),
            "file_size_exceeded");
  EXPECT_EQ(ExitReasonName(ExitReason::kOutputExceeded), "output_exceeded");
  EXPECT_EQ(ExitReasonName(ExitReason::kCancelled), "cancelled");
  EXPECT_EQ(fmt::format("{}", ExitReason::kTimedOut), "timed_out");
}

TEST(SignalNameTest, NamesTheSignalsTheLibrarySends) {
  EXPECT_EQ(SignalName(internal::kSigKill), "SIGKILL");
  EXPECT_EQ(SignalName(internal::kSigTerm), "SIGTERM");
  EXPECT_EQ(SignalName(internal::kSigStop), "SIGSTOP");
  EXPECT_EQ(SignalName(internal::kSigCont), "SIGCONT");
  EXPECT_EQ(SignalName(internal::kSigXcpu), "SIGXCPU");
  EXPECT_EQ(SignalName(internal::kSigXfsz), "SIGXFSZ");
}

TEST(SignalNameTest, NamesCommonCrashSignals) {
  EXPECT_EQ(SignalName(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(SignalName(SIGABRT), "SIGABRT");
  EXPECT_EQ(SignalName(SIGINT), "SIGINT");
  EXPECT_EQ(SignalName(SIGFPE), "SIGFPE");
}

TEST(SignalNameTest, NumbersASignalWithoutAName) {
  EXPECT_EQ(SignalName(42), "signal 42");
  EXPECT_EQ(SignalName(0), "signal 0");
  EXPECT_EQ(SignalName(-3), "signal -3");
}

// --- Outcome -----------------------------------------------------------------

TEST(OutcomeTest, OkOnlyWhenExitedWithZero) {
  EXPECT_TRUE(Outcome().ok());
  Outcome failed;
  failed.exit_code = 1;
  EXPECT_FALSE(failed.ok());
  Outcome timed_out = Ended(ExitReason::kTimedOut, absl::Seconds(1));
  EXPECT_FALSE(timed_out.ok());
}

TEST(OutcomeTest, EqualityComparesEveryField) {
  Outcome a = Ended(ExitReason::kExited, absl::Milliseconds(12));
  a.peak_memory_bytes = 100;
  a.limits.wall_time = absl::Seconds(1);
  Outcome b = a;
  EXPECT_EQ(a, b);
  b.user_time = absl::Milliseconds(1);
  EXPECT_NE(a, b);
  b = a;
  b.limits.wall_time = absl::Seconds(2);
  EXPECT_NE(a, b);
  b = a;
  b.signal = 9;
  EXPECT_NE(a, b);
  b = a;
  b.peak_memory_bytes = 101;
  EXPECT_NE(a, b);
  b = a;
  b.exception_code = 0xC0000005;
  EXPECT_NE(a, b);
}

// --- ToString(Outcome) -------------------------------------------------------

TEST(OutcomeToStringTest, PrintsAnExit) {
  EXPECT_EQ(ToString(Ended(ExitReason::kExited, absl::Milliseconds(12))),
            "exited 0 in 12ms");
  Outcome failed = Ended(ExitReason::kExited, absl::Seconds(2));
  failed.exit_code = 3;
  EXPECT_EQ(ToString(failed), "exited 3 in 2s");
}

TEST(OutcomeToStringTest, PrintsAnUnrequestedSignal) {
  EXPECT_EQ(ToString(KilledBy(ExitReason::kSignaled, SIGSEGV,
                              absl::Milliseconds(1200))),
            "killed by SIGSEGV after 1.2s");
}

TEST(OutcomeToStringTest, PrintsAWindowsExceptionByNameAndCode) {
  Outcome outcome =
      KilledBy(ExitReason::kSignaled, SIGSEGV, absl::Milliseconds(1200));
  outcome.exception_code = 0xC0000005;
  EXPECT_EQ(ToString(outcome),
            "killed by STATUS_ACCESS_VIOLATION (0xC0000005) after 1.2s");
  outcome.reason = ExitReason::kCancelled;
  outcome.exception_code = 0xC000013A;
  EXPECT_EQ(ToString(outcome),
            "cancelled after 1.2s (STATUS_CONTROL_C_EXIT (0xC000013A))");
}

TEST(ExceptionNameTest, NamesKnownStatusesAndNumbersOthers) {
  EXPECT_EQ(ExceptionName(0xC00000FD), "STATUS_STACK_OVERFLOW (0xC00000FD)");
  EXPECT_EQ(ExceptionName(0xC0000409),
            "STATUS_STACK_BUFFER_OVERRUN (0xC0000409)");
  EXPECT_EQ(ExceptionName(0xE0000001), "exception 0xE0000001");
}

TEST(OutcomeToStringTest, PrintsATimeoutWithItsLimitAndSignal) {
  Outcome outcome =
      KilledBy(ExitReason::kTimedOut, internal::kSigTerm, absl::Seconds(10));
  outcome.limits.wall_time = absl::Seconds(10);
  EXPECT_EQ(ToString(outcome), "timed out after 10s (limit 10s, SIGTERM)");
}

TEST(OutcomeToStringTest, PrintsATimeoutThatExitedGracefully) {
  Outcome outcome = Ended(ExitReason::kTimedOut, absl::Seconds(10));
  outcome.limits.wall_time = absl::Seconds(10);
  EXPECT_EQ(ToString(outcome), "timed out after 10s (limit 10s, exited 0)");
}

TEST(OutcomeToStringTest, OmitsAnUnsetWallTimeLimit) {
  const Outcome outcome = KilledBy(ExitReason::kTimedOut, internal::kSigKill,
                                   absl::Milliseconds(10500));
  EXPECT_EQ(ToString(outcome), "timed out after 10.5s (SIGKILL)");
}

TEST(OutcomeToStringTest, PrintsAMemoryKillWithLimitAndPeak) {
  Outcome outcome = KilledBy(ExitReason::kMemoryExceeded, internal::kSigKill,
                             absl::Milliseconds(410));
  outcome.limits.memory_bytes = 64 * kMiB;
  outcome.peak_memory_bytes = 64 * kMiB;
  EXPECT_EQ(ToString(outcome),
            "killed: memory limit 64 MiB exceeded after 410ms (peak 64 MiB)");
}

TEST(OutcomeToStringTest, OmitsAnUnknownPeakAndAnUnsetLimit) {
  const Outcome outcome = KilledBy(ExitReason::kMemoryExceeded,
                                   internal::kSigKill, absl::Milliseconds(410));
  EXPECT_EQ(ToString(outcome), "killed: memory limit exceeded after 410ms");
}

TEST(OutcomeToStringTest, PrintsACpuTimeKill) {
  Outcome outcome = KilledBy(ExitReason::kCpuTimeExceeded, internal::kSigXcpu,
                             absl::Milliseconds(1100));
  outcome.limits.cpu_time = absl::Seconds(1);
  EXPECT_EQ(ToString(outcome), "killed: cpu time limit 1s exceeded after 1.1s");
}

TEST(OutcomeToStringTest, AddsTheCpuTimeUsedWhenKnown) {
  Outcome outcome = KilledBy(ExitReason::kCpuTimeExceeded, internal::kSigXcpu,
                             absl::Seconds(3));
  outcome.limits.cpu_time = absl::Seconds(1);
  outcome.user_time = absl::Milliseconds(900);
  outcome.system_time = absl::Milliseconds(150);
  EXPECT_EQ(ToString(outcome),
            "killed: cpu time limit 1s exceeded after 3s (cpu 1s)");
}

TEST(OutcomeToStringTest, PrintsAFileSizeKill) {
  Outcome outcome = KilledBy(ExitReason::kFileSizeExceeded, internal::kSigXfsz,
                             absl::Milliseconds(30));
  outcome.limits.file_size_bytes = kMiB;
  EXPECT_EQ(ToString(outcome),
            "killed: file size limit 1 MiB exceeded after 30ms");
}

TEST(OutcomeToStringTest, PrintsAnOutputStop) {
  Outcome outcome = KilledBy(ExitReason::kOutputExceeded, internal::kSigTerm,
                             absl::Seconds(2));
  outcome.limits.output_bytes = kMiB;
  EXPECT_EQ(ToString(outcome), "stopped: output limit 1 MiB exceeded after 2s");
}

TEST(OutcomeToStringTest, PrintsACancellationWithItsSignal) {
  EXPECT_EQ(ToString(KilledBy(ExitReason::kCancelled, internal::kSigTerm,
                              absl::Seconds(3))),
            "cancelled after 3s (SIGTERM)");
}

TEST(OutcomeToStringTest, PrintsACancellationThatExitedGracefully) {
  Outcome outcome = Ended(ExitReason::kCancelled, absl::Seconds(3));
  outcome.exit_code = 143;
  EXPECT_EQ(ToString(outcome), "cancelled after 3s (exited 143)");
}

TEST(OutcomeToStringTest, FmtAndStreamsPrintTheSame) {
  const Outcome outcome = Ended(ExitReason::kExited, absl::Milliseconds(12));
  std::ostringstream os;
  os << outcome;
  EXPECT_EQ(os.str(), "exited 0 in 12ms");
  EXPECT_EQ(fmt::format("tool finished: {}", outcome),
            "tool finished: exited 0 in 12ms");
}

// --- ResourceUsage -----------------------------------------------------------

TEST(ResourceUsageTest, EqualityComparesEveryField) {
  ResourceUsage a;
  a.memory_bytes = 10;
  ResourceUsage b = a;
  EXPECT_EQ(a, b);
  b.output_bytes = 1;
  EXPECT_NE(a, b);
  b = a;
  b.processes = 2;
  EXPECT_NE(a, b);
  b = a;
  b.system_time = absl::Seconds(1);
  EXPECT_NE(a, b);
}

TEST(ResourceUsageToStringTest, PrintsEveryField) {
  ResourceUsage usage;
  usage.wall_time = absl::Milliseconds(1500);
  usage.user_time = absl::Seconds(1);
  usage.system_time = absl::Milliseconds(200);
  usage.memory_bytes = 10 * kMiB;
  usage.peak_memory_bytes = 64 * kMiB;
  usage.processes = 3;
  usage.output_bytes = 12 * 1024;
  EXPECT_EQ(ToString(usage),
            "{wall_time=1.5s, user_time=1s, system_time=200ms, "
            "memory_bytes=10 MiB, peak_memory_bytes=64 MiB, processes=3, "
            "output_bytes=12 KiB}");
  EXPECT_EQ(fmt::format("{}", ResourceUsage()),
            "{wall_time=0s, user_time=0s, system_time=0s, memory_bytes=0 B, "
            "peak_memory_bytes=0 B, processes=0, output_bytes=0 B}");
}

}  // namespace
}  // namespace procsandbox
