// Regression tests from a review of the in-memory fake (src/memory/): each
// test failed on the first version of the fake; the comment above it says
// what went wrong then and what the contract requires.
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/run.h"

namespace procsandbox {
namespace {

using ::testing::HasSubstr;

// Runs `body` in a child process (gtest's death-test machinery) with a
// watchdog: the test fails, instead of hanging or crashing the whole suite,
// when `body` deadlocks (the watchdog exits 3 after `secs` real seconds),
// crashes (a signal), or returns false (exit 1).
// Under ThreadSanitizer everything runs 5-15x slower (2000 programs took
// 72 s of the 120 on two busy cores): the guard grows with it.
#if defined(__SANITIZE_THREAD__)
constexpr int kSanitizerSlowdown = 10;
#else
constexpr int kSanitizerSlowdown = 1;
#endif

void ExpectCompletesWithin(int secs, const std::function<bool()>& body) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::thread([secs] {
          std::this_thread::sleep_for(
              std::chrono::seconds(secs * kSanitizerSlowdown));
          std::_Exit(3);
        }).detach();
        const bool ok = body();
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// A handler that sleeps, run inside an interrupted Sleep(), destroys the
// outer Sleep's wake-up: both share ProgramState::wake_time, and the inner
// Sleep resets it to InfiniteFuture on return, so
// the outer Sleep's condition `now >= wake_time` never holds again and the
// program sleeps forever. Expected (process.h/OnSignal: "the call resumes
// when the handler returns"): the outer Sleep ends at its own wake-up, 10 s.
TEST(MemoryReviewTest, SleepInASignalHandlerKeepsTheInterruptedSleep) {
  MemoryManager fake;
  fake.Register("napper", [](FakeProcess& p) {
    (void)p.OnSignal(SIGUSR1, [&p] { p.Sleep(absl::Seconds(1)); });
    p.Sleep(absl::Seconds(10));
    return 7;
  });
  std::shared_ptr<Process> proc = fake.New(Command("napper"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_EQ(proc->WaitFor(absl::Seconds(2)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(proc->Signal(SIGUSR1).ok());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();  // fake: DeadlineExceeded
  EXPECT_EQ(outcome->exit_code, 7);
  EXPECT_EQ(outcome->wall_time, absl::Seconds(10));
}

// UseCpu() in a handler that interrupts UseCpu(): StartBurnLocked
// overwrites burn_left/cpu_since without first banking the CPU
// already burnt (no StopBurnLocked), and the inner call's end sets
// burn_left = 0, which also satisfies the outer call's wait
//. The outer 10 s burn returns as soon as the inner
// 1 s one does (t = 3 s), and the 2 s burnt before the signal are lost:
// user_time 1 s. Expected: 10 s + 1 s of CPU, ending at 11 s.
TEST(MemoryReviewTest, UseCpuInASignalHandlerDoesNotCutTheInterruptedBurn) {
  MemoryManager fake;
  fake.Register("burner", [](FakeProcess& p) {
    (void)p.OnSignal(SIGUSR1, [&p] { p.UseCpu(absl::Seconds(1)); });
    p.UseCpu(absl::Seconds(10));
    return 0;
  });
  std::shared_ptr<Process> proc = fake.New(Command("burner"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_EQ(proc->WaitFor(absl::Seconds(2)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(proc->Signal(SIGUSR1).ok());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->user_time, absl::Seconds(11));  // fake: 1s
  EXPECT_EQ(outcome->wall_time, absl::Seconds(11));  // fake: 3s
}

// A handler that sleeps while UseCpu() is interrupted: the burn keeps
// running (ProgramState::burning stays true through PollLocked's handler),
// so the handler's 5 s of sleep are counted as CPU and the busy loop
// "finishes" while the handler sleeps. On an OS the loop does not run while
// its handler sleeps: 10 s of CPU end at 2 + 5 + 8 = 15 s.
TEST(MemoryReviewTest, SleepingHandlerDuringUseCpuBurnsNoCpu) {
  MemoryManager fake;
  fake.Register("burner", [](FakeProcess& p) {
    (void)p.OnSignal(SIGUSR1, [&p] { p.Sleep(absl::Seconds(5)); });
    p.UseCpu(absl::Seconds(10));
    return 0;
  });
  std::shared_ptr<Process> proc = fake.New(Command("burner"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_EQ(proc->WaitFor(absl::Seconds(2)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(proc->Signal(SIGUSR1).ok());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->user_time, absl::Seconds(10));
  EXPECT_EQ(outcome->wall_time, absl::Seconds(15));  // fake: 10s
}

// SIGCONT can be caught on every POSIX system (its handler runs when the
// process is continued), but SendSignalLocked only clears
// `suspended` and never queues SIGCONT, so a handler registered with
// OnSignal(SIGCONT) never runs: not after Resume(), not after
// Signal(SIGCONT), not after Terminate()'s TERM+CONT.
TEST(MemoryReviewTest, ASigcontHandlerRunsOnResume) {
  MemoryManager fake;
  fake.Register("cont", [](FakeProcess& p) {
    int continued = 0;
    EXPECT_TRUE(p.OnSignal(SIGCONT, [&continued] { ++continued; }).ok());
    p.Sleep(absl::Seconds(10));
    return continued;
  });
  std::shared_ptr<Process> proc = fake.New(Command("cont"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_TRUE(proc->Suspend().ok());
  ASSERT_TRUE(proc->Resume().ok());
  ASSERT_TRUE(proc->Signal(SIGCONT).ok());
  absl::StatusOr<Outcome> outcome = proc->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->exit_code, 2);  // fake: 0
}

// The default action of SIGTSTP (and SIGTTIN, SIGTTOU) is to stop the
// process, not to end it. PollLocked treats every signal
// that is not in IgnoredByDefault() as fatal, so Signal(SIGTSTP) kills a
// fake program (kCancelled, signal SIGTSTP) where the OS manager would leave
// it suspended.
TEST(MemoryReviewTest, SigtstpStopsTheProgramInsteadOfKillingIt) {
  MemoryManager fake;
  fake.Register("job", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(10));
    return 0;
  });
  std::shared_ptr<Process> proc = fake.New(Command("job"));
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_TRUE(proc->Signal(SIGTSTP).ok());
  EXPECT_TRUE(proc->Running());                        // fake: false
  EXPECT_EQ(proc->state(), ProcessState::kSuspended);  // fake: kEnded
  ASSERT_TRUE(proc->Resume().ok() || !proc->Running());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kExited);  // fake: kCancelled
}

// A signal is blocked while its own handler runs (no SA_NODEFER), so a
// second SIGUSR1 that arrives while the first handler is blocked waits until
// the handler returns. The fake runs the handler again, nested inside the
// first one's blocking call (PollLocked,; handling_depth is
// counted but never consulted).
TEST(MemoryReviewTest, ASignalIsBlockedWhileItsOwnHandlerRuns) {
  MemoryManager fake;
  fake.Register("reentrant", [](FakeProcess& p) {
    int depth = 0;
    int max_depth = 0;
    (void)p.OnSignal(SIGUSR1, [&] {
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
  ASSERT_TRUE(proc->Signal(SIGUSR1).ok());  // handler 1 waits on stdin
  ASSERT_TRUE(proc->Signal(SIGUSR1).ok());  // must stay pending
  ASSERT_TRUE(proc->Write("a\nb\n").ok());
  absl::StatusOr<Outcome> outcome = proc->WaitFor(absl::Hours(1));
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->exit_code, 1);  // fake: 2
}

// WaitFor() called by a scripted program registers its deadline in
// Core::host_deadlines and erases it after
// BlockLocked (:149); when the program is killed while waiting, BlockLocked
// throws UnwindScript and the erase is skipped. The stale deadline stays an
// auto-advance event forever: here a later program that only waits for its
// stdin is seen to have run for 1 virtual hour (the leaked deadline) instead
// of no virtual time at all.
TEST(MemoryReviewTest, AKilledProgramInWaitForLeavesNoClockEventBehind) {
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
  EXPECT_EQ(outcome->wall_time, absl::ZeroDuration());  // fake: 1h
}

// Lazy start is visible: a started program has not run at all until some
// call "looks" at it, and MemoryManager::GetFile is not one of those calls.
// memory_manager.h promises that host calls return "only when every program
// it woke is blocked again", and core.h that lazy and materialized orders
// are indistinguishable; here the program's first step (writing a file,
// before any blocking call) is missing after Start() returns.
TEST(MemoryReviewTest, AStartedProgramsFirstStepIsVisibleToGetFile) {
  MemoryManager fake;
  fake.Register("writer", [](FakeProcess& p) {
    (void)p.WriteFile("/tmp/ready", "1");
    p.Sleep(absl::Hours(1));
    return 0;
  });
  std::shared_ptr<Process> proc = fake.New(Command("writer"));
  ASSERT_TRUE(proc->Start().ok());
  EXPECT_EQ(fake.GetFile("/tmp/ready"), std::optional<std::string>("1"));
  // Any look at the process materializes it; then the file is there.
  (void)proc->Running();
  EXPECT_EQ(fake.GetFile("/tmp/ready"), std::optional<std::string>("1"));
}

// process.h: "A Process may outlive its manager; calls then fail with
// FailedPrecondition, except accessors of a finished process". The setters
// of a never-started process keep answering OK (
// check only the phase, never Core::shut_down).
TEST(MemoryReviewTest, SettersFailOnceTheManagerIsGone) {
  std::shared_ptr<Process> proc;
  {
    MemoryManager fake;
    proc = fake.New(Command("x"));
  }
  EXPECT_EQ(proc->SetStdin(Stdio::Null()).code(),
            absl::StatusCode::kFailedPrecondition);
  Limits limits;
  limits.wall_time = absl::Seconds(1);
  EXPECT_EQ(proc->SetLimits(limits).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(proc->Start().code(), absl::StatusCode::kFailedPrecondition);
}

// An empty PATH entry means the current directory, and the child's current
// directory is Command::working_dir (execvpe runs after the chdir).
// ResolveLocked turns it into the literal "./tool", so a
// program registered at "/srv/app/tool" is not found for a command run in
// /srv/app, though the OS manager would exec it.
TEST(MemoryReviewTest, AnEmptyPathEntryIsTheWorkingDirectory) {
  MemoryManager fake;
  fake.Register("/srv/app/tool", [](FakeProcess&) { return 0; });
  Command cmd("tool");
  ASSERT_TRUE(cmd.env.Set("PATH", ":/usr/bin").ok());
  cmd.working_dir = "/srv/app";
  absl::StatusOr<RunResult> r = procsandbox::Run(fake, cmd);
  ASSERT_TRUE(r.ok()) << r.status();  // fake: NotFound
  EXPECT_TRUE(r->ok());
}

// A line longer than the pipe's capacity can never be read: ReadPipe
// waits for a '\n' inside OutputSink::buffer,
// but the writer blocks once the buffer holds pipe_capacity bytes
//, so neither side moves. An OS manager's ReadLine
// drains the pipe into its own buffer and returns the line (the OS pipe is
// 64 KiB too; lines of 100 KiB are common: minified JSON, base64).
TEST(MemoryReviewTest, ReadLineReturnsALineLongerThanThePipeCapacity) {
  MemoryManager fake;  // pipe_capacity 64 KiB
  fake.Register("jsonrpc", [](FakeProcess& p) {
    p.WriteStdout(std::string(100 * 1024, 'x') + "\n");
    return 0;
  });
  Command cmd("jsonrpc");
  cmd.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> proc = fake.New(cmd);
  ASSERT_TRUE(proc->Start().ok());
  absl::StatusOr<std::string> line =
      proc->ReadLine(Stream::kStdout, absl::Seconds(10));
  ASSERT_TRUE(line.ok()) << line.status();  // fake: DeadlineExceeded
  EXPECT_EQ(line->size(), 100u * 1024);
}

// Deadlock (guarded: runs in a child with a 5 s watchdog). A scripted
// program of one MemoryManager that runs a command on *another* one (a tool
// that shells out through an injected Manager&) hangs for ever.
// CurrentProgram() (, thread_local) is not tied to a Core, so
// MemoryProcess::Wait on the other manager's
// process takes the "a program waits for another program" path and calls
// BlockLocked on manager B with manager A's ProgramState: it waits for B's
// baton to reach A's pid, which B never schedules; with equal pids (both
// start at 1000) it even resets B's baton, stranding B's own
// program in kRunning with no baton. QuiesceLocked and AdvanceBy have the
// same confusion.
TEST(MemoryReviewTest, AProgramMayRunACommandOnAnotherManager) {
  ExpectCompletesWithin(5, [] {
    MemoryManager a;
    MemoryManager b;
    b.Register("cc", [](FakeProcess& p) {
      p.Sleep(absl::Seconds(1));
      p.WriteStdout("compiled\n");
      return 0;
    });
    a.Register("make", [&b](FakeProcess& p) {
      absl::StatusOr<RunResult> r = procsandbox::Run(b, Command("cc"));
      if (!r.ok()) return 100;
      p.WriteStdout(r->stdout_);
      return r->outcome.exit_code;
    });
    absl::StatusOr<RunResult> r = procsandbox::Run(a, Command("make"));
    return r.ok() && r->ok() && r->stdout_ == "compiled\n";
  });
}

// Crash (guarded: runs in a child). An exception thrown by a Stdio::Lines
// callback for a line in the middle of the output ends the program as
// SIGABRT (it unwinds through the program), but for the last, unterminated
// line Core::Execute calls the callback outside any try block with `mu`
// unlocked: the exception leaves Execute without the lock
// and, on the inline path, Wait()'s MutexLock releases a mutex it does not
// hold ("thread releasing lock it does not hold", abort); on a program
// thread it is std::terminate. Expected: the same outcome as for any other
// line, and no crash of the host.
TEST(MemoryReviewTest, AThrowingLinesCallbackOnTheLastLineDoesNotCrash) {
  ExpectCompletesWithin(5, [] {
    MemoryManager fake;
    fake.Register("tail", [](FakeProcess& p) {
      p.WriteStdout("first\nlast-without-newline");
      return 0;
    });
    Command cmd("tail");
    cmd.stdout_ = Stdio::Lines([](absl::string_view line) {
      if (line == "last-without-newline") throw std::runtime_error("bad line");
    });
    absl::StatusOr<RunResult> r = procsandbox::Run(fake, cmd);
    return r.ok();
  });
}

// Crash (guarded: runs in a child). A Stdio::Lines callback for the last,
// unterminated line of a killed program runs on the program's thread with
// CurrentProgram() still set; if it waits for another
// process, MemoryProcess::Wait treats it as the dying program blocking
// (BlockLocked), PollLocked throws UnwindScript for the pending death, and
// the exception escapes Core::Execute: std::terminate ("terminate called
// after throwing an instance of UnwindScript").
TEST(MemoryReviewTest, ALinesCallbackOfAKilledProgramMayWaitForAnother) {
  ExpectCompletesWithin(5, [] {
    MemoryManager fake;
    fake.Register("other", [](FakeProcess& p) {
      p.Sleep(absl::Seconds(5));
      return 0;
    });
    fake.Register("server", [](FakeProcess& p) {
      p.WriteStdout("partial");
      p.Sleep(absl::Hours(1));
      return 0;
    });
    std::shared_ptr<Process> other = fake.New(Command("other"));
    if (!other->Start().ok()) return false;
    Command cmd("server");
    cmd.stdout_ =
        Stdio::Lines([&other](absl::string_view) { (void)other->Wait(); });
    std::shared_ptr<Process> server = fake.New(cmd);
    if (!server->Start().ok() || !server->Kill().ok()) return false;
    absl::StatusOr<Outcome> outcome = server->Wait();
    return outcome.ok() && outcome->signal == SIGKILL;
  });
}

// Scale: 2,000 concurrent sleeping programs all finish. (The first version
// woke every program thread at every clock event and took ~50 s; how fast
// it is now is measured in bench/fake_bench.cpp "[many]", not asserted
// here. The watchdog only turns a hang into a failure.)
TEST(MemoryReviewTest, TwoThousandSleepingProgramsAllFinish) {
  ExpectCompletesWithin(120, [] {
    MemoryManager fake;
    fake.Register("sleep", [](FakeProcess& p) {
      p.Sleep(absl::Milliseconds(std::stoi(p.args()[0])));
      return 0;
    });
    std::vector<std::shared_ptr<Process>> procs;
    for (int i = 0; i < 2000; ++i) {
      procs.push_back(fake.New(Command("sleep", {std::to_string(i + 1)})));
      if (!procs.back()->Start().ok()) return false;
    }
    for (const auto& proc : procs) {
      if (!proc->Wait().ok()) return false;
    }
    return true;
  });
}

}  // namespace
}  // namespace procsandbox
