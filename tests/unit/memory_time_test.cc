// MemoryManager: the virtual clock, deadlines, limits, signals, suspension.
#include <algorithm>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/signals.h"  // Windows's <csignal> has no SIGKILL
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/run.h"

namespace procsandbox {
namespace {

using ::testing::HasSubstr;

void SleepForever(FakeProcess& p) { p.Sleep(absl::InfiniteDuration()); }

TEST(MemoryTimeTest, SleepTakesVirtualTimeOnly) {
  MemoryManager fake;
  const absl::Time t0 = fake.Now();
  fake.Register("sleep", [](FakeProcess& p) {
    p.Sleep(absl::Hours(3));
    return 0;
  });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("sleep"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.wall_time, absl::Hours(3));
  EXPECT_EQ(r->outcome.user_time, absl::ZeroDuration());
  EXPECT_EQ(fake.Now() - t0, absl::Hours(3));
}

TEST(MemoryTimeTest, WallTimeLimitEndsALongSleepAsTimedOutAtOnce) {
  MemoryManager fake;
  fake.Register("slow", [](FakeProcess& p) {
    p.Sleep(absl::Minutes(10));
    return 0;
  });
  Command cmd("slow");
  cmd.limits.wall_time = absl::Seconds(1);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kTimedOut);
  EXPECT_EQ(r->outcome.signal, SIGTERM);
  EXPECT_EQ(r->outcome.exit_code, -1);
  EXPECT_EQ(r->outcome.wall_time, absl::Seconds(1));
}

TEST(MemoryTimeTest, ProgramIgnoringTermIsKilledAfterTheGrace) {
  MemoryManager fake;
  fake.Register("stubborn", [](FakeProcess& p) {
    (void)p.IgnoreSignal(SIGTERM);
    SleepForever(p);
    return 0;
  });
  Command cmd("stubborn");
  cmd.limits.wall_time = absl::Seconds(1);
  cmd.kill_grace = absl::Milliseconds(500);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kTimedOut);
  EXPECT_EQ(r->outcome.signal, internal::kSigKill);
  EXPECT_EQ(r->outcome.wall_time, absl::Milliseconds(1500));
}

TEST(MemoryTimeTest, ProgramCatchingTermCleansUpWithinTheGrace) {
  MemoryManager fake;
  fake.Register("polite", [](FakeProcess& p) {
    (void)p.OnSignal(SIGTERM, [&p] {
      p.Sleep(absl::Milliseconds(200));
      p.WriteStdout("cleaned up\n");
      p.Exit(0);
    });
    SleepForever(p);
    return 1;
  });
  Command cmd("polite");
  cmd.limits.wall_time = absl::Seconds(1);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kTimedOut);
  EXPECT_EQ(r->outcome.signal, 0);
  EXPECT_EQ(r->outcome.exit_code, 0);
  EXPECT_EQ(r->outcome.wall_time, absl::Milliseconds(1200));
  EXPECT_EQ(r->stdout_, "cleaned up\n");
}

TEST(MemoryTimeTest, ZeroGraceKillsAtTheDeadline) {
  MemoryManager fake;
  fake.Register("slow", [](FakeProcess& p) {
    SleepForever(p);
    return 0;
  });
  Command cmd("slow");
  cmd.limits.wall_time = absl::Seconds(2);
  cmd.kill_grace = absl::ZeroDuration();
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kTimedOut);
  EXPECT_EQ(r->outcome.signal, internal::kSigKill);
  EXPECT_EQ(r->outcome.wall_time, absl::Seconds(2));
}

TEST(MemoryTimeTest, MemoryOverTheLimitIsAnOomKill) {
  MemoryManager fake;
  fake.Register("hog", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(3));
    p.UseMemory(200 << 20);
    return 0;
  });
  Command cmd("hog");
  cmd.limits.memory_bytes = 100 << 20;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kMemoryExceeded);
  EXPECT_EQ(r->outcome.signal, internal::kSigKill);
  EXPECT_EQ(r->outcome.wall_time, absl::Seconds(3));
  EXPECT_EQ(r->outcome.peak_memory_bytes, 100 << 20);
}

TEST(MemoryTimeTest, PeakMemoryIsTheHighestUse) {
  MemoryManager fake;
  fake.Register("wave", [](FakeProcess& p) {
    p.UseMemory(30 << 20);
    p.FreeMemory(20 << 20);
    p.UseMemory(5 << 20);
    return 0;
  });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("wave"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.peak_memory_bytes, 30 << 20);
}

TEST(MemoryTimeTest, CpuOverTheLimitIsCpuTimeExceeded) {
  MemoryManager fake;
  fake.Register("spin", [](FakeProcess& p) {
    p.UseCpu(absl::Seconds(10));
    return 0;
  });
  Command cmd("spin");
  cmd.limits.cpu_time = absl::Seconds(2);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kCpuTimeExceeded);
  EXPECT_EQ(r->outcome.signal, internal::kSigXcpu);
  EXPECT_EQ(r->outcome.user_time, absl::Seconds(2));
  EXPECT_EQ(r->outcome.wall_time, absl::Seconds(2));
}

TEST(MemoryTimeTest, CpuUnderTheLimitCountsAsUserTime) {
  MemoryManager fake;
  fake.Register("work", [](FakeProcess& p) {
    p.UseCpu(absl::Seconds(1));
    p.Sleep(absl::Seconds(1));
    p.UseCpu(absl::Seconds(1));
    return 0;
  });
  Command cmd("work");
  cmd.limits.cpu_time = absl::Seconds(5);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kExited);
  EXPECT_EQ(r->outcome.user_time, absl::Seconds(2));
  EXPECT_EQ(r->outcome.wall_time, absl::Seconds(3));
}

TEST(MemoryTimeTest, FileOverTheSizeLimitIsFileSizeExceeded) {
  MemoryManager fake;
  fake.Register("writer", [](FakeProcess& p) {
    (void)p.WriteFile("/out.bin", std::string(100, 'x'));
    (void)p.WriteFile("/out.bin", std::string(100, 'y'), /*append=*/true);
    return 0;
  });
  Command cmd("writer");
  cmd.limits.file_size_bytes = 150;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kFileSizeExceeded);
  EXPECT_EQ(r->outcome.signal, internal::kSigXfsz);
  EXPECT_EQ(fake.GetFile("/out.bin")->size(), 150u);
}

TEST(MemoryTimeTest, IgnoringSigxfszMakesTheWriteFailWithEfbig) {
  MemoryManager fake;
  fake.Register("writer", [](FakeProcess& p) {
    (void)p.IgnoreSignal(internal::kSigXfsz);
    absl::Status s = p.WriteFile("/out.bin", std::string(200, 'x'));
    p.WriteStderr(std::string(s.message()));
    return s.code() == absl::StatusCode::kOutOfRange ? 27 : 0;
  });
  Command cmd("writer");
  cmd.limits.file_size_bytes = 150;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kExited);
  EXPECT_EQ(r->outcome.exit_code, 27);
  EXPECT_THAT(r->stderr_, HasSubstr("EFBIG"));
  EXPECT_EQ(fake.GetFile("/out.bin")->size(), 150u);
}

TEST(MemoryTimeTest, OpenFilesOverTheLimitFailInsideTheProgram) {
  MemoryManager fake;
  fake.Register("opener", [](FakeProcess& p) {
    if (!p.OpenFiles(5).ok()) return 1;
    absl::Status s = p.OpenFiles(10);
    p.WriteStderr(std::string(s.message()));
    return s.code() == absl::StatusCode::kResourceExhausted ? 0 : 2;
  });
  Command cmd("opener");
  cmd.limits.open_files = 10;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.exit_code, 0);
  EXPECT_THAT(r->stderr_, HasSubstr("EMFILE"));
}

TEST(MemoryTimeTest, ForkOverTheProcessLimitFailsInsideTheProgram) {
  MemoryManager fake;
  fake.Register("forker", [](FakeProcess& p) {
    int forked = 0;
    while (p.SpawnChildren(1).ok()) ++forked;
    return forked;
  });
  Command cmd("forker");
  cmd.limits.processes = 32;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.exit_code, 31);  // 32 processes with itself
}

TEST(MemoryTimeTest, RefusedForksAreCountedInUsage) {
  MemoryManager fake;
  fake.Register("forker", [](FakeProcess& p) {
    (void)p.SpawnChildren(3);
    (void)p.SpawnChildren(1);  // refused: 4 with itself
    (void)p.SpawnChildren(5);  // refused
    return 0;
  });
  Command cmd("forker");
  cmd.limits.processes = 4;
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_EQ(p->Usage().forks_refused, 2);
  EXPECT_THAT(ToString(p->Usage()), HasSubstr("forks_refused=2"));
}

TEST(MemoryTimeTest, TerminateIsCancelledWithTheSignalRecorded) {
  MemoryManager fake;
  fake.Register("server", [](FakeProcess& p) {
    SleepForever(p);
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("server"));
  ASSERT_TRUE(p->Start().ok());
  EXPECT_TRUE(p->Running());
  ASSERT_TRUE(p->Terminate().ok());
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kCancelled);
  EXPECT_EQ(outcome->signal, SIGTERM);
  EXPECT_EQ(outcome->wall_time, absl::ZeroDuration());
  EXPECT_TRUE(p->Terminate().ok());  // again, after the end
  EXPECT_TRUE(p->Kill().ok());
}

TEST(MemoryTimeTest, KillIsCancelledBySigkill) {
  MemoryManager fake;
  fake.Register("server", [](FakeProcess& p) {
    (void)p.IgnoreSignal(SIGTERM);
    SleepForever(p);
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("server"));
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(p->Kill().ok());
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kCancelled);
  EXPECT_EQ(outcome->signal, internal::kSigKill);
  EXPECT_FALSE(p->ExitCode().has_value());
}

TEST(MemoryTimeTest, AnUncaughtSignalFromTheHostIsCancelled) {
  MemoryManager fake;
  fake.Register("server", [](FakeProcess& p) {
    SleepForever(p);
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("server"));
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(p->Signal(SIGINT).ok());
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kCancelled);
  EXPECT_EQ(outcome->signal, SIGINT);
  EXPECT_EQ(p->Signal(SIGINT).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MemoryTimeTest, ACaughtSignalRunsTheHandlerAndTheProgramGoesOn) {
  MemoryManager fake;
  fake.Register("reloader", [](FakeProcess& p) {
    int reloads = 0;
    (void)p.OnSignal(internal::kSigHup, [&reloads] { ++reloads; });
    p.Sleep(absl::Seconds(10));
    return reloads;
  });
  std::shared_ptr<Process> p = fake.New(Command("reloader"));
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(p->Signal(internal::kSigHup).ok());
  ASSERT_TRUE(p->Signal(internal::kSigHup).ok());
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kExited);
  EXPECT_EQ(outcome->exit_code, 2);
  EXPECT_EQ(outcome->wall_time, absl::Seconds(10));
}

TEST(MemoryTimeTest, SignalRejectsABadNumber) {
  MemoryManager fake;
  fake.Register("s", [](FakeProcess& p) {
    SleepForever(p);
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("s"));
  ASSERT_TRUE(p->Start().ok());
  EXPECT_EQ(p->Signal(0).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p->Signal(999).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemoryTimeTest, KillAndStopCannotBeCaught) {
  MemoryManager fake;
  absl::Status kill_status, stop_status;
  fake.Register("t", [&](FakeProcess& p) {
    kill_status = p.OnSignal(internal::kSigKill, [] {});
    stop_status = p.IgnoreSignal(internal::kSigStop);
    return 0;
  });
  ASSERT_TRUE(procsandbox::RunCommand(fake, Command("t")).ok());
  EXPECT_EQ(kill_status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(stop_status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemoryTimeTest, ADeathTheHostDidNotAskForIsSignaled) {
  MemoryManager fake;
  fake.Register("crash", [](FakeProcess& p) -> int { p.Die(SIGSEGV); });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("crash"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kSignaled);
  EXPECT_EQ(r->outcome.signal, SIGSEGV);
}

TEST(MemoryTimeTest, AWindowsExceptionIsSignaledWithItsCode) {
  MemoryManager fake;
  fake.Register("crash", [](FakeProcess& p) -> int { p.Raise(0xC0000005); });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("crash"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kSignaled);
  EXPECT_EQ(r->outcome.signal, SIGSEGV);
  EXPECT_EQ(r->outcome.exit_code, -1);
  EXPECT_EQ(r->outcome.exception_code, 0xC0000005u);
}

TEST(MemoryTimeTest, AnUnknownExceptionCodeIsAnExitWithThatCode) {
  MemoryManager fake;
  fake.Register("fail", [](FakeProcess& p) -> int { p.Raise(0xE0000001); });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("fail"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kExited);
  EXPECT_EQ(r->outcome.exit_code, static_cast<int>(0xE0000001));
  EXPECT_EQ(r->outcome.exception_code, 0u);
}

TEST(MemoryTimeTest, SuspendStopsCpuButNotTheWallClock) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  fake.Register("spin", [](FakeProcess& p) {
    p.UseCpu(absl::Seconds(10));
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("spin"));
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(fake.clock().Advance(absl::Seconds(2)).ok());
  ASSERT_TRUE(p->Suspend().ok());
  EXPECT_EQ(p->state(), ProcessState::kSuspended);
  ASSERT_TRUE(fake.clock().Advance(absl::Seconds(5)).ok());
  EXPECT_EQ(p->Usage().user_time, absl::Seconds(2));
  EXPECT_EQ(p->Usage().wall_time, absl::Seconds(7));
  ASSERT_TRUE(p->Resume().ok());
  EXPECT_EQ(p->state(), ProcessState::kRunning);
  ASSERT_TRUE(fake.clock().Advance(absl::Seconds(8)).ok());
  EXPECT_EQ(p->state(), ProcessState::kEnded);
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->user_time, absl::Seconds(10));
  EXPECT_EQ(outcome->wall_time, absl::Seconds(15));
}

TEST(MemoryTimeTest, DeadlinesRunOnWhileSuspended) {
  MemoryManager fake;
  fake.Register("s", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(1));
    return 0;
  });
  Command cmd("s");
  cmd.limits.wall_time = absl::Seconds(5);
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(p->Suspend().ok());
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kTimedOut);
  EXPECT_EQ(outcome->wall_time, absl::Seconds(5));
}

TEST(MemoryTimeTest, ManualClockMovesOnlyWhenAdvanced) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  EXPECT_FALSE(fake.clock().auto_advance());
  fake.Register("s", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(5));
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("s"));
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(fake.clock().Advance(absl::Seconds(4)).ok());
  EXPECT_TRUE(p->Running());
  EXPECT_EQ(p->TryWait().status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(fake.clock().Advance(absl::Seconds(1)).ok());
  EXPECT_FALSE(p->Running());
  EXPECT_EQ(p->ExitCode(), 0);
}

TEST(MemoryTimeTest, AdvanceRejectsANegativeDuration) {
  MemoryManager fake;
  EXPECT_EQ(fake.clock().Advance(absl::Seconds(-1)).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MemoryTimeTest, WaitForGivesUpAfterItsTimeoutInVirtualTime) {
  MemoryManager fake;
  fake.Register("s", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(10));
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("s"));
  ASSERT_TRUE(p->Start().ok());
  const absl::Time t0 = fake.Now();
  absl::StatusOr<Outcome> early = p->WaitFor(absl::Seconds(3));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(early.status().message()), HasSubstr("3s"));
  EXPECT_EQ(fake.Now() - t0, absl::Seconds(3));
  absl::StatusOr<Outcome> done = p->WaitFor(absl::Seconds(30));
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(fake.Now() - t0, absl::Seconds(10));
}

TEST(MemoryTimeTest, HostCallsBetweenStartAndAWaitHappenAtTheSameInstant) {
  MemoryManager fake;
  fake.Register("slow", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(1));
    return 0;
  });
  Command cmd("slow");
  cmd.limits.wall_time = absl::Milliseconds(100);
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  // Nobody waits, so no time passes: the process is still running.
  EXPECT_TRUE(p->Running());
  EXPECT_EQ(p->Usage().wall_time, absl::ZeroDuration());
}

TEST(MemoryTimeTest, UsageIsLiveWhileRunning) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  fake.Register("busy", [](FakeProcess& p) {
    p.UseMemory(4096);
    (void)p.SpawnChildren(2);
    p.WriteStdout("12345");
    p.UseCpu(absl::Seconds(4));
    return 0;
  });
  std::shared_ptr<Process> p = fake.New(Command("busy"));
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(fake.clock().Advance(absl::Seconds(1)).ok());
  ResourceUsage usage = p->Usage();
  EXPECT_EQ(usage.user_time, absl::Seconds(1));
  EXPECT_EQ(usage.memory_bytes, 4096);
  EXPECT_EQ(usage.processes, 3);
  EXPECT_EQ(usage.output_bytes, 5);
  ASSERT_TRUE(p->Kill().ok());
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_EQ(p->Usage().processes, 0);
}

// A handler that sleeps inside an interrupted Sleep() leaves that Sleep its own
// wake-up: the call resumes when the handler returns and ends at 10 s.
TEST(MemoryTimeTest, SleepInASignalHandlerKeepsTheInterruptedSleep) {
  MemoryManager fake;
  fake.Register("napper", [](FakeProcess& p) {
    (void)p.OnSignal(internal::kSigUsr1, [&p] { p.Sleep(absl::Seconds(1)); });
    p.Sleep(absl::Seconds(10));
    return 7;
  });
  std::shared_ptr<Process> proc = fake.New(Command("napper"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_EQ(proc->WaitFor(absl::Seconds(2)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(proc->Signal(internal::kSigUsr1).ok());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->exit_code, 7);
  EXPECT_EQ(outcome->wall_time, absl::Seconds(10));
}

// UseCpu() in a handler that interrupts UseCpu() adds to it: 10 s + 1 s of
// CPU, ending at 11 s, the CPU burnt before the signal kept.
TEST(MemoryTimeTest, UseCpuInASignalHandlerDoesNotCutTheInterruptedBurn) {
  MemoryManager fake;
  fake.Register("burner", [](FakeProcess& p) {
    (void)p.OnSignal(internal::kSigUsr1, [&p] { p.UseCpu(absl::Seconds(1)); });
    p.UseCpu(absl::Seconds(10));
    return 0;
  });
  std::shared_ptr<Process> proc = fake.New(Command("burner"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_EQ(proc->WaitFor(absl::Seconds(2)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(proc->Signal(internal::kSigUsr1).ok());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->user_time, absl::Seconds(11));
  EXPECT_EQ(outcome->wall_time, absl::Seconds(11));
}

// A busy loop does not run while its handler sleeps: 10 s of CPU with a 5 s
// sleep in a handler at 2 s end at 15 s.
TEST(MemoryTimeTest, SleepingHandlerDuringUseCpuBurnsNoCpu) {
  MemoryManager fake;
  fake.Register("burner", [](FakeProcess& p) {
    (void)p.OnSignal(internal::kSigUsr1, [&p] { p.Sleep(absl::Seconds(5)); });
    p.UseCpu(absl::Seconds(10));
    return 0;
  });
  std::shared_ptr<Process> proc = fake.New(Command("burner"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_EQ(proc->WaitFor(absl::Seconds(2)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(proc->Signal(internal::kSigUsr1).ok());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->user_time, absl::Seconds(10));
  EXPECT_EQ(outcome->wall_time, absl::Seconds(15));
}

// SIGCONT can be caught: its handler runs when the process is continued, by
// Resume() or Signal(SIGCONT).
TEST(MemoryTimeTest, ASigcontHandlerRunsOnResume) {
  MemoryManager fake;
  fake.Register("cont", [](FakeProcess& p) {
    int continued = 0;
    EXPECT_TRUE(
        p.OnSignal(internal::kSigCont, [&continued] { ++continued; }).ok());
    p.Sleep(absl::Seconds(10));
    return continued;
  });
  std::shared_ptr<Process> proc = fake.New(Command("cont"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_TRUE(proc->Suspend().ok());
  ASSERT_TRUE(proc->Resume().ok());
  ASSERT_TRUE(proc->Signal(internal::kSigCont).ok());
  absl::StatusOr<Outcome> outcome = proc->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->exit_code, 2);
}

#if defined(SIGTSTP)  // job control: not on Windows, and not in its fake
// SIGTSTP's default action stops the program (as the OS does); it does not
// end it.
TEST(MemoryTimeTest, SigtstpStopsTheProgramInsteadOfKillingIt) {
  MemoryManager fake;
  fake.Register("job", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(10));
    return 0;
  });
  std::shared_ptr<Process> proc = fake.New(Command("job"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_TRUE(proc->Signal(SIGTSTP).ok());
  EXPECT_TRUE(proc->Running());
  EXPECT_EQ(proc->state(), ProcessState::kSuspended);
  ASSERT_TRUE(proc->Resume().ok() || !proc->Running());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kExited);
}
#endif  // SIGTSTP

// A signal is blocked while its own handler runs (no SA_NODEFER): a second
// SIGUSR1 waits until the first handler returns, never nests inside it.
TEST(MemoryTimeTest, ASignalIsBlockedWhileItsOwnHandlerRuns) {
  MemoryManager fake;
  fake.Register("reentrant", [](FakeProcess& p) {
    int depth = 0;
    int max_depth = 0;
    (void)p.OnSignal(internal::kSigUsr1, [&] {
      max_depth = std::max(max_depth, ++depth);
      (void)p.ReadLine();
      --depth;
    });
    p.Sleep(absl::Seconds(10));
    return max_depth;
  });
  Command cmd("reentrant");
  cmd.stdin_ = Stdio::Pipe();
  std::shared_ptr<Process> proc = fake.New(cmd);
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_TRUE(
      proc->Signal(internal::kSigUsr1).ok());  // handler 1 waits on stdin
  ASSERT_TRUE(proc->Signal(internal::kSigUsr1).ok());  // must stay pending
  ASSERT_TRUE(proc->Write("a\nb\n").ok());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->exit_code, 1);
}

// A program killed inside WaitFor() leaves no deadline behind for the clock
// to auto-advance to: a later program waiting only for its stdin takes no
// virtual time.
TEST(MemoryTimeTest, AKilledProgramInWaitForLeavesNoClockEventBehind) {
  MemoryManager fake;
  std::shared_ptr<Process> target;
  fake.Register("target", [](FakeProcess& p) {
    p.Sleep(absl::Hours(10));
    return 0;
  });
  fake.Register("watcher", [&target](FakeProcess&) {
    (void)target->WaitFor(absl::Hours(1));
    return 0;
  });
  fake.Register("reader", [](FakeProcess& p) {
    (void)p.ReadLine();
    return 0;
  });
  target = fake.New(Command("target"));
  ASSERT_TRUE(target->Start().ok());
  std::shared_ptr<Process> watcher = fake.New(Command("watcher"));
  ASSERT_TRUE(watcher->Start().ok());
  ASSERT_TRUE(watcher->Kill().ok());  // killed inside WaitFor
  ASSERT_TRUE(target->Kill().ok());
  ASSERT_TRUE(watcher->Wait().ok());
  ASSERT_TRUE(target->Wait().ok());

  Command cmd("reader");
  cmd.stdin_ = Stdio::Pipe();
  std::shared_ptr<Process> reader = fake.New(cmd);
  ASSERT_TRUE(reader->Start().ok());
  std::thread closer([&reader] {
    absl::SleepFor(absl::Milliseconds(200));  // real time: let Wait() block
    (void)reader->CloseStdin();
  });
  absl::StatusOr<Outcome> outcome = reader->Wait();
  closer.join();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->wall_time, absl::ZeroDuration());
}

}  // namespace
}  // namespace procsandbox
