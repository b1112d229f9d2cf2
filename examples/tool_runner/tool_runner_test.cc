// ToolRunner's unit tests: scripted `make` programs on the in-memory manager
// (virtual time, nothing spawned; the sandbox finds them among the fake's own
// registrations), the procsandbox_testing matchers on the sandbox's results,
// idle-waiting instead of polling for the queue, and two tests with the
// gmock MockManager.
#include "tool_runner/tool_runner.h"

#include <csignal>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/command.h"
#include "procsandbox/environment.h"
#include "procsandbox/limits.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/sandbox.h"
#include "procsandbox/stdio.h"
#include "procsandbox_testing/testing.h"

namespace tool_runner {
namespace {

using ::procsandbox::FakeProcess;
using ::procsandbox::FakeProgram;
using ::procsandbox::FakeProgramResolver;
using ::procsandbox::FakeRun;
using ::procsandbox::MemoryManager;
using ::procsandbox::QuotaExceeded;
using ::procsandbox::SandboxStatus;
using ::procsandbox::SecurityViolation;
using ::procsandbox_testing::ExceededMemory;
using ::procsandbox_testing::ExceededQuota;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::HasSandboxStatus;
using ::procsandbox_testing::HasViolation;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::MockManager;
using ::procsandbox_testing::MockProcess;
using ::procsandbox_testing::StatusIs;
using ::procsandbox_testing::StoppedGracefully;
using ::procsandbox_testing::TimedOut;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::NiceMock;
using ::testing::Return;

constexpr int64_t kMiB = int64_t{1} << 20;

BuildRequest AppRequest() {
  BuildRequest request;
  request.project_dir = "/src/app";
  request.jobs = 4;
  request.time_limit = absl::Seconds(30);
  request.memory_limit_bytes = 512 * kMiB;
  return request;
}

// A fake manager. A Sandbox over it checks programs against the fake's own
// registrations (MemoryProgramResolver), so each scripted program is
// registered once, by the path the sandbox will resolve.
class ToolRunnerTest : public ::testing::Test {
 protected:
  void AddMake(FakeProgram make, const std::string& path = "/usr/bin/make") {
    fake_.Register(path, std::move(make));
  }

  // The defaults, with a fixed host environment.
  ToolRunnerOptions Options() const {
    ToolRunnerOptions options;
    options.host_env =
        procsandbox::Environment{{"HOME", "/home/ci"},
                                 {"LANG", "C.UTF-8"},
                                 {"GITHUB_TOKEN", "ghp_not_for_make"},
                                 {"LD_PRELOAD", "/tmp/evil.so"},
                                 {"LC_ALL", "C"},
                                 {"PATH", "/home/ci/bin:/usr/bin"}};
    return options;
  }

  MemoryManager fake_;
};

TEST_F(ToolRunnerTest, ReportsSuccessWhenMakeExitsZero) {
  AddMake([](FakeProcess& make) {
    make.WriteStdout("cc -c main.c\ncc -o app main.o\n");
    return 0;
  });
  ToolRunner runner(fake_, Options());

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kSucceeded);
  EXPECT_EQ(report.output, "cc -c main.c\ncc -o app main.o\n");
  EXPECT_FALSE(report.output_truncated);
  EXPECT_THAT(report.stderr_tail, IsEmpty());
  ASSERT_EQ(fake_.History().size(), 1u);
  EXPECT_THAT(fake_.History()[0].outcome, ExitedWith(0));
}

TEST_F(ToolRunnerTest, ReportsCompileErrorWithExitCodeAndStderrTail) {
  AddMake([](FakeProcess& make) {
    for (int i = 1; i <= 30; ++i) {
      make.WriteStderr(absl::StrCat("note: line ", i, "\n"));
    }
    make.WriteStderr("main.c:3:1: error: expected ';'\n");
    make.WriteStderr("make: *** [Makefile:2: main.o] Error 1\n");
    return 2;
  });
  ToolRunnerOptions options = Options();
  options.stderr_tail_lines = 3;
  ToolRunner runner(fake_, options);

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kFailed);
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_THAT(report.stderr_tail,
              ElementsAre("note: line 30", "main.c:3:1: error: expected ';'",
                          "make: *** [Makefile:2: main.o] Error 1"));
}

TEST_F(ToolRunnerTest, StopsAHangingBuildAtItsTimeLimitInVirtualTime) {
  AddMake([](FakeProcess& make) {
    make.Sleep(absl::Minutes(10));
    return 0;
  });
  const ToolRunnerOptions options = Options();
  ToolRunner runner(fake_, options);
  BuildRequest request = AppRequest();
  request.time_limit = absl::Seconds(1);
  const absl::Time start = fake_.Now();

  const BuildReport report = runner.Build(request);

  EXPECT_EQ(report.status, BuildStatus::kTimedOut);
  // The clock jumped to the deadline: no 10 virtual minutes, no real wait.
  EXPECT_LE(fake_.Now() - start, request.time_limit + options.kill_grace);
  EXPECT_THAT(fake_.History()[0].outcome, TimedOut());
}

TEST_F(ToolRunnerTest, ReportsOutOfMemoryWhenTheBuildExceedsItsMemoryLimit) {
  AddMake([](FakeProcess& make) {
    make.WriteStdout("cc -O3 huge.c\n");
    make.UseMemory(4096 * kMiB);
    return 0;
  });
  ToolRunner runner(fake_, Options());

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kOutOfMemory);
  EXPECT_THAT(fake_.History()[0].outcome, ExceededMemory());
}

TEST_F(ToolRunnerTest, KeepsOutputUpToTheLineCapAndLetsMakeFinish) {
  AddMake([](FakeProcess& make) {
    for (int i = 1; i <= 50; ++i) {
      make.WriteStdout(absl::StrCat("cc -c file", i, ".c\n"));
    }
    return 0;
  });
  ToolRunnerOptions options = Options();
  options.max_output_lines = 3;
  ToolRunner runner(fake_, options);

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kSucceeded);  // it ran to its end
  EXPECT_TRUE(report.output_truncated);
  EXPECT_EQ(report.output, "cc -c file1.c\ncc -c file2.c\ncc -c file3.c\n");
}

TEST_F(ToolRunnerTest, RefusesAMakeThatIsNotOnTheAllowlist) {
  // A make planted earlier on the PATH than the allowed /usr/bin/make.
  AddMake([](FakeProcess&) { return 0; }, "/usr/local/bin/make");
  AddMake([](FakeProcess&) { return 0; });
  ToolRunner runner(fake_, Options());

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kRefused);
  ASSERT_TRUE(report.violation.has_value());
  EXPECT_EQ(report.violation->kind,
            SecurityViolation::Kind::kProgramNotAllowed);
  EXPECT_EQ(report.violation->subject, "/usr/local/bin/make");
  EXPECT_THAT(report.summary, HasSubstr("not on the program allowlist"));
  EXPECT_THAT(fake_.History(), IsEmpty());  // nothing started
}

TEST_F(ToolRunnerTest, ReportsBusyWhenTheQueueIsFull) {
  // Builds run until the test lets virtual time move.
  fake_.clock().SetAutoAdvance(false);
  AddMake([](FakeProcess& make) {
    make.Sleep(absl::Seconds(10));  // within the 30 s limit
    return 0;
  });
  ToolRunnerOptions options = Options();
  options.max_concurrent_builds = 1;
  options.max_queued_builds = 1;
  ToolRunner runner(fake_, options);
  BuildReport running;
  BuildReport waiting;
  std::thread first([&] { running = runner.Build(AppRequest()); });
  // One host thread waits on the fake: the first build's, in Wait().
  ASSERT_THAT(fake_.WaitIdle(1), IsOk());
  std::thread second([&] { waiting = runner.Build(AppRequest()); });
  // Two: the second build waits in the sandbox's queue, which the fake counts
  // as waiting on it. No polling, nothing left to chance.
  ASSERT_THAT(fake_.WaitIdle(2), IsOk());
  EXPECT_EQ(runner.Stats().running, 1u);
  EXPECT_EQ(runner.Stats().pending, 1u);

  const BuildReport refused = runner.Build(AppRequest());

  EXPECT_EQ(refused.status, BuildStatus::kBusy);
  EXPECT_THAT(refused.summary, HasSubstr("queue is full"));
  fake_.clock().SetAutoAdvance(true);  // both builds run to their end
  first.join();
  second.join();
  EXPECT_EQ(running.status, BuildStatus::kSucceeded);
  EXPECT_EQ(waiting.status, BuildStatus::kSucceeded);
  EXPECT_EQ(fake_.History().size(), 2u);
}

TEST_F(ToolRunnerTest, RefusesAUsersSecondBuildWhileOthersStillRun) {
  fake_.clock().SetAutoAdvance(false);
  AddMake([](FakeProcess& make) {
    make.Sleep(absl::Seconds(10));
    return 0;
  });
  ToolRunnerOptions options = Options();
  options.max_builds_per_user = 1;
  ToolRunner runner(fake_, options);
  BuildRequest alice = AppRequest();
  alice.user = "alice";
  BuildRequest bob = AppRequest();
  bob.user = "bob";
  absl::StatusOr<procsandbox::SandboxResult> alices_first;
  absl::StatusOr<procsandbox::SandboxResult> bobs;
  std::thread first([&] { alices_first = runner.Execute(alice); });
  std::thread other([&] { bobs = runner.Execute(bob); });
  ASSERT_THAT(fake_.WaitIdle(2), IsOk());  // both builds run

  const absl::StatusOr<procsandbox::SandboxResult> alices_second =
      runner.Execute(alice);

  EXPECT_THAT(alices_second,
              AllOf(StatusIs(absl::StatusCode::kResourceExhausted),
                    ExceededQuota(QuotaExceeded::Kind::kConcurrency),
                    HasSandboxStatus(SandboxStatus::kRejected)));
  EXPECT_EQ(runner.Build(alice).status, BuildStatus::kBusy);
  fake_.clock().SetAutoAdvance(true);
  first.join();
  other.join();
  EXPECT_THAT(alices_first, ExitedWith(0));
  EXPECT_THAT(bobs, ExitedWith(0));
}

TEST_F(ToolRunnerTest, ExecuteGivesTheSandboxResultOfAStoppedBuild) {
  // A make that cleans up when told to stop, and exits 2 within the grace.
  AddMake([](FakeProcess& make) {
    make.OnSignal(
            SIGTERM,
            [&make] {
              make.WriteStderr("make: *** interrupted, removing main.o\n");
              make.Exit(2);
            })
        .IgnoreError();
    make.Sleep(absl::Minutes(10));
    return 0;
  });
  ToolRunner runner(fake_, Options());
  BuildRequest request = AppRequest();
  request.time_limit = absl::Seconds(1);

  const absl::StatusOr<procsandbox::SandboxResult> result =
      runner.Execute(request);

  EXPECT_THAT(result, AllOf(TimedOut(), StoppedGracefully(2),
                            HasSandboxStatus(SandboxStatus::kTimedOut)));
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->stderr_, HasSubstr("interrupted"));
}

TEST_F(ToolRunnerTest, ExecuteCarriesTheViolationOfARefusedBuild) {
  AddMake([](FakeProcess&) { return 0; }, "/usr/local/bin/make");
  ToolRunner runner(fake_, Options());

  EXPECT_THAT(runner.Execute(AppRequest()),
              AllOf(HasSandboxStatus(SandboxStatus::kRejected),
                    HasViolation(SecurityViolation::Kind::kProgramNotAllowed)));
}

TEST_F(ToolRunnerTest, ReportsToolMissingNamingMakeWhenNotInstalled) {
  ToolRunner runner(fake_, Options());  // no make anywhere

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kToolMissing);
  EXPECT_THAT(report.summary, HasSubstr("make"));
  EXPECT_THAT(fake_.History(), IsEmpty());
}

TEST_F(ToolRunnerTest, DoesNotFindMakeOutsideItsOwnPath) {
  AddMake([](FakeProcess&) { return 0; }, "/opt/tools/bin/make");
  ToolRunner runner(fake_, Options());  // PATH=/usr/local/bin:/usr/bin:/bin

  EXPECT_EQ(runner.Build(AppRequest()).status, BuildStatus::kToolMissing);
}

TEST_F(ToolRunnerTest, RunsMakeWithExactArgvAllowlistedEnvAndLimits) {
  procsandbox::Environment seen_env;
  AddMake([&seen_env](FakeProcess& make) {
    seen_env = make.env();
    return 0;
  });
  ToolRunner runner(fake_, Options());
  BuildRequest request = AppRequest();
  request.targets = {"all", "check"};

  EXPECT_EQ(runner.Build(request).status, BuildStatus::kSucceeded);

  const std::vector<FakeRun> history = fake_.History();
  ASSERT_EQ(history.size(), 1u);
  const FakeRun& run = history[0];
  // The sandbox runs the resolved, checked path.
  EXPECT_EQ(run.command.program, "/usr/bin/make");
  EXPECT_THAT(run.command.args,
              ElementsAre("-C", "/src/app", "-j4", "all", "check"));
  // The allowlisted host variables, then our PATH: no HOME, token,
  // LD_PRELOAD or host PATH.
  const procsandbox::Environment expected_env{
      {"LANG", "C.UTF-8"},
      {"LC_ALL", "C"},
      {"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  EXPECT_EQ(run.command.env, expected_env);
  EXPECT_EQ(seen_env, expected_env);
  procsandbox::Limits limits;
  limits.wall_time = absl::Seconds(30);
  limits.memory_bytes = 512 * kMiB;
  limits.output_bytes = 1 * kMiB;  // the output cap
  EXPECT_EQ(run.limits, limits);
  EXPECT_EQ(run.command.kill_grace, absl::Seconds(2));
}

TEST_F(ToolRunnerTest, StreamsOutputLinesInOrderWhileBuilding) {
  AddMake([](FakeProcess& make) {
    make.WriteStdout("[1/2] cc -c main.c\n");
    make.WriteStderr("main.c:7: warning: unused variable 'x'\n");
    make.WriteStdout("[2/2] cc -o app main.o\n");
    return 0;
  });
  ToolRunner runner(fake_, Options());
  std::vector<std::string> lines;

  const BuildReport report = runner.BuildWithProgress(
      AppRequest(),
      [&lines](procsandbox::Stream stream, absl::string_view line) {
        lines.push_back(
            absl::StrCat(procsandbox::StreamName(stream), ": ", line));
      });

  EXPECT_EQ(report.status, BuildStatus::kSucceeded);
  EXPECT_THAT(lines,
              ElementsAre("stdout: [1/2] cc -c main.c",
                          "stderr: main.c:7: warning: unused variable 'x'",
                          "stdout: [2/2] cc -o app main.o"));
  EXPECT_THAT(report.stderr_tail,
              ElementsAre("main.c:7: warning: unused variable 'x'"));
}

// A mock manager is no MemoryManager: the sandbox needs a table of the
// programs it may find.
ToolRunnerOptions MockOptions() {
  auto programs = std::make_shared<FakeProgramResolver>();
  programs->AddProgram("/usr/bin/make");
  ToolRunnerOptions options;
  options.resolver = programs;
  options.host_env = procsandbox::Environment{};
  return options;
}

// The mock alternative: script the exact calls, here a start failure the
// fake would also model (RegisterNotExecutable), to show the shape.
TEST(ToolRunnerMockTest, ReportsAnErrorWhenMakeCannotBeExecuted) {
  auto make = std::make_shared<NiceMock<MockProcess>>();
  EXPECT_CALL(*make, Start())
      .WillOnce(Return(absl::PermissionDeniedError(
          "exec \"/usr/bin/make\": permission denied (EACCES)")));
  NiceMock<MockManager> manager;
  EXPECT_CALL(manager,
              New(Field(&procsandbox::Command::program, "/usr/bin/make")))
      .WillOnce(Return(make));
  ToolRunner runner(manager, MockOptions());

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kError);
  EXPECT_THAT(report.summary, HasSubstr("permission denied"));
  EXPECT_FALSE(report.violation.has_value());
}

// Without an expectation, MockManager::New hands out a NiceMock process
// that starts and whose Wait() reports it was not scripted: the runner
// reports an error, never a null process or a made-up outcome.
TEST(ToolRunnerMockTest, ReportsAnErrorWhenTheProcessIsNotScripted) {
  NiceMock<MockManager> manager;
  ToolRunner runner(manager, MockOptions());

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kError);
}

}  // namespace
}  // namespace tool_runner
