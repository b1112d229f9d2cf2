// Hostile programs on the Linux OS manager: floods on both streams, output
// past a cap, FIFOs as files. Each test failed against the code it was
// written for.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::IsOk;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
// Guards against hangs only: what is measured here takes milliseconds.
constexpr absl::Duration kHangGuard = absl::Seconds(60);

Command Helper(std::vector<std::string> steps) {
  return Command(kHelper, std::move(steps));
}

// Polls `done` every millisecond until it holds or `kHangGuard` passes.
template <typename Predicate>
bool AwaitTrue(Predicate done) {
  const absl::Time give_up = absl::Now() + kHangGuard;
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// --- A flood never stalls the reactor
// -----------------------------------------

// Eight programs keep both of their pipes full of 64-byte lines, each line
// to a callback. A deadline, Kill(), Signal() and Terminate() on them must
// each land at once: before the fix the reactor read one stream for as long
// as it stayed full, and the stops waited behind it for tens of seconds.
TEST(FloodTest, StopsLandWhileEightProgramsFloodBothStreams) {
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
  ASSERT_THAT(manager.status(), IsOk());
  constexpr int kPrograms = 8;
  constexpr absl::Duration kDeadline = absl::Milliseconds(300);
  // How late a stop may be before this test calls the reactor stalled: far
  // above the few milliseconds it takes (bench/ measures it), far below the
  // tens of seconds of a stalled reactor.
  constexpr absl::Duration kLate = absl::Seconds(5);
  std::array<std::atomic<int64_t>, kPrograms> lines{};
  std::vector<std::shared_ptr<Process>> processes;
  for (int i = 0; i < kPrograms; ++i) {
    Command command = Helper({"flood-lines", "64"});
    auto count = [&lines, i](absl::string_view) { ++lines[i]; };
    command.stdout_ = Stdio::Lines(count);
    command.stderr_ = Stdio::Lines(count);
    command.limits.output_bytes = int64_t{10} << 30;
    if (i < 2) command.limits.wall_time = kDeadline;
    processes.push_back((*manager)->New(command));
    ASSERT_THAT(processes.back()->Start(), IsOk());
  }
  // The floods have begun once every program's lines arrive.
  ASSERT_TRUE(AwaitTrue([&] {
    for (int i = 2; i < kPrograms; ++i) {
      if (lines[i] == 0) return false;
    }
    return true;
  }));
  std::vector<absl::Time> asked(kPrograms);
  for (int i = 2; i < kPrograms; ++i) {
    asked[i] = absl::Now();
    switch (i % 3) {
      case 0:
        ASSERT_THAT(processes[i]->Kill(), IsOk());
        break;
      case 1:
        ASSERT_THAT(processes[i]->Signal(SIGUSR1), IsOk());
        break;
      default:
        ASSERT_THAT(processes[i]->Terminate(), IsOk());
        break;
    }
  }
  for (int i = 0; i < kPrograms; ++i) {
    absl::StatusOr<Outcome> outcome = processes[i]->WaitFor(kHangGuard);
    ASSERT_THAT(outcome.status(), IsOk()) << "program " << i;
    if (i < 2) {
      EXPECT_EQ(outcome->reason, ExitReason::kTimedOut) << *outcome;
      EXPECT_LT(outcome->wall_time - kDeadline, kLate)
          << "program " << i << ": the deadline landed late: " << *outcome;
    } else {
      EXPECT_NE(outcome->reason, ExitReason::kExited) << *outcome;
      EXPECT_LT(absl::Now() - asked[i], kLate)
          << "program " << i << ": the stop landed late: " << *outcome;
    }
    EXPECT_GT(lines[i], 0) << "program " << i;
  }
}

// Chunks deliver the stream unchanged (3 MB without a newline: no line is
// held whole) and a cap cuts them at the exact byte.
TEST(FloodTest, ChunksDeliverTheBytesUnchangedUpToTheCap) {
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
  ASSERT_THAT(manager.status(), IsOk());
  constexpr int64_t kBytes = 3'000'000;
  std::string expected;
  for (int64_t i = 0; i < kBytes; ++i) {
    expected.push_back(static_cast<char>('a' + i % 26));
  }
  std::string out;
  Command command = Helper({"write-stdout", absl::StrCat(kBytes)});
  command.stdout_ = Stdio::Chunks([&](absl::string_view bytes) {
    EXPECT_FALSE(bytes.empty());
    out.append(bytes.data(), bytes.size());
  });
  absl::StatusOr<RunResult> result =
      procsandbox::RunCommand(**manager, command);
  ASSERT_THAT(result.status(), IsOk());
  EXPECT_EQ(result->outcome.reason, ExitReason::kExited);
  EXPECT_TRUE(out == expected) << out.size() << " bytes";

  out.clear();
  command.limits.output_bytes = 100'000;
  result = procsandbox::RunCommand(**manager, command);
  ASSERT_THAT(result.status(), IsOk());
  EXPECT_TRUE(out == expected.substr(0, 100'000)) << out.size() << " bytes";
}

// --- Results tell the truth
// ----------------------------------------------------

// Output past the cap with kStop, read only after the program exited by
// itself (with 0): the stop reaches nobody, but output was dropped, so the
// outcome is output_exceeded, never a clean exit. The program prints "go",
// waits for the end of its stdin, then writes past the cap and exits; the
// callback for "go" closes that stdin and holds the reactor until the
// program is a zombie, so the bytes past the cap are read after the exit
// every time (before the fix: kExited, exit 0).
TEST(OutputCapTest, AStopThatFindsTheProgramExitedStillSaysOutputExceeded) {
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
  ASSERT_THAT(manager.status(), IsOk());
  std::atomic<Process*> self{nullptr};
  std::atomic<bool> exited{false};
  Command command = Helper(
      {"print", "go", "count-stdin", "write-stdout", "4096", "exit", "0"});
  command.limits.output_bytes = 100;
  command.on_output_limit = OutputLimitAction::kStop;
  command.stdin_ = Stdio::Pipe();
  command.stdout_ = Stdio::Lines([&](absl::string_view line) {
    if (line != "go") return;
    exited = AwaitTrue([&] {
      Process* process = self.load();
      if (process == nullptr) return false;
      (void)process->CloseStdin();
      siginfo_t info = {};
      return waitid(P_PID, static_cast<id_t>(process->Id()), &info,
                    WEXITED | WNOHANG | WNOWAIT) == 0 &&
             info.si_pid != 0;
    });
  });
  std::shared_ptr<Process> process = (*manager)->New(command);
  ASSERT_THAT(process->Start(), IsOk());
  self = process.get();
  absl::StatusOr<Outcome> outcome = process->WaitFor(kHangGuard);
  ASSERT_THAT(outcome.status(), IsOk());
  ASSERT_TRUE(exited) << "the program did not exit by itself";
  EXPECT_EQ(outcome->reason, ExitReason::kOutputExceeded) << *outcome;
  EXPECT_EQ(outcome->exit_code, 0) << *outcome;
}

// --- Nothing blocks before the deadline starts
// -----------------------------------

// A private directory with a FIFO in it, removed at the end.
class FifoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                     "/procsandbox-fifo-XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    dir_ = pattern;
    fifo_ = dir_ + "/fifo";
    ASSERT_EQ(mkfifo(fifo_.c_str(), 0600), 0) << std::strerror(errno);
  }
  void TearDown() override {
    (void)unlink(fifo_.c_str());
    (void)rmdir(dir_.c_str());
  }

  std::string dir_, fifo_;
};

// The wall-time bound and FIFOs whose other end comes are conformance tests
// (tests/conformance: FifoFiles*), for the POSIX backend too.
TEST_F(FifoTest, StdoutFifoWithoutAReaderFailsWithinTheManagersBound) {
  OsManagerOptions options;
  options.fifo_open_timeout = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager(options);
  ASSERT_THAT(manager.status(), IsOk());
  Command command = Helper({"print", "hi"});
  command.stdout_ = Stdio::File(fifo_);
  std::shared_ptr<Process> process = (*manager)->New(command);
  absl::Status started = process->Start();
  EXPECT_TRUE(absl::IsDeadlineExceeded(started)) << started;
  EXPECT_THAT(std::string(started.message()),
              ::testing::HasSubstr(absl::StrCat("stdout file \"", fifo_)));
}

// A FIFO to read from that this process may not open for writing: the
// watchdog could never end the wait (its partner open fails with EACCES),
// so Start() fails at once instead of hanging (before: for ever). Needs a
// non-root user: root opens any FIFO.
TEST_F(FifoTest, AFifoWhoseWaitCannotBeEndedFailsAtOnce) {
  if (geteuid() != 0) GTEST_SKIP() << "switching to another user needs root";
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  ASSERT_EQ(chmod(fifo_.c_str(), 0444), 0);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        std::thread([] {
          absl::SleepFor(kHangGuard);
          std::_Exit(3);  // hung
        }).detach();
        // This child ran SetUp too (the threadsafe style re-executes the
        // test) but never runs TearDown: nobody gets the directory, not the
        // FIFO, so it can remove both when done.
        if (chown(dir_.c_str(), 65534, 65534) != 0) std::_Exit(6);
        if (setresgid(65534, 65534, 65534) != 0 ||
            setresuid(65534, 65534, 65534) != 0) {
          std::_Exit(4);
        }
        OsManagerOptions options;
        options.cgroups = false;  // nobody may not make groups
        absl::StatusOr<std::unique_ptr<Manager>> manager =
            NewOsManager(options);
        if (!manager.ok()) std::_Exit(5);
        Command command = Helper({"count-stdin"});
        command.stdin_ = Stdio::File(fifo_);
        const absl::Status started = (*manager)->New(command)->Start();
        std::fputs(std::string(started.message()).c_str(), stderr);
        if (unlink(fifo_.c_str()) != 0 || rmdir(dir_.c_str()) != 0) {
          std::_Exit(7);
        }
        std::_Exit(absl::IsFailedPrecondition(started) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "may not open for writing");
}

}  // namespace
}  // namespace procsandbox
