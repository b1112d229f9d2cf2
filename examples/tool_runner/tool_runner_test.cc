// ToolRunner's unit tests: scripted `make` programs on the in-memory manager
// (virtual time, nothing spawned), and one test with the gmock MockManager.
#include "tool_runner/tool_runner.h"

#include <cstdint>
#include <memory>
#include <string>
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
#include "procsandbox/stdio.h"
#include "procsandbox/testing/testing.h"

namespace tool_runner {
namespace {

using ::procsandbox::FakeProcess;
using ::procsandbox::FakeRun;
using ::procsandbox::MemoryManager;
using ::procsandbox::testing::ExceededMemory;
using ::procsandbox::testing::ExitedWith;
using ::procsandbox::testing::MockManager;
using ::procsandbox::testing::MockProcess;
using ::procsandbox::testing::StatusIs;
using ::procsandbox::testing::TimedOut;
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

TEST(ToolRunnerTest, ReportsSuccessWhenMakeExitsZero) {
  MemoryManager fake;
  fake.Register("make", [](FakeProcess& make) {
    make.WriteStdout("cc -c main.c\ncc -o app main.o\n");
    return 0;
  });
  ToolRunner runner(fake);

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kSucceeded);
  EXPECT_EQ(report.output, "cc -c main.c\ncc -o app main.o\n");
  EXPECT_THAT(report.stderr_tail, IsEmpty());
  ASSERT_EQ(fake.History().size(), 1u);
  EXPECT_THAT(fake.History()[0].outcome, ExitedWith(0));
}

TEST(ToolRunnerTest, ReportsCompileErrorWithExitCodeAndStderrTail) {
  MemoryManager fake;
  fake.Register("make", [](FakeProcess& make) {
    for (int i = 1; i <= 30; ++i) {
      make.WriteStderr(absl::StrCat("note: line ", i, "\n"));
    }
    make.WriteStderr("main.c:3:1: error: expected ';'\n");
    make.WriteStderr("make: *** [Makefile:2: main.o] Error 1\n");
    return 2;
  });
  ToolRunnerOptions options;
  options.stderr_tail_lines = 3;
  ToolRunner runner(fake, options);

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kFailed);
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_THAT(report.stderr_tail,
              ElementsAre("note: line 30", "main.c:3:1: error: expected ';'",
                          "make: *** [Makefile:2: main.o] Error 1"));
}

TEST(ToolRunnerTest, StopsAHangingBuildAtItsTimeLimitInVirtualTime) {
  MemoryManager fake;
  fake.Register("make", [](FakeProcess& make) {
    make.Sleep(absl::Minutes(10));
    return 0;
  });
  ToolRunnerOptions options;
  ToolRunner runner(fake, options);
  BuildRequest request = AppRequest();
  request.time_limit = absl::Seconds(1);
  const absl::Time start = fake.Now();

  const BuildReport report = runner.Build(request);

  EXPECT_EQ(report.status, BuildStatus::kTimedOut);
  // The clock jumped to the deadline: no 10 virtual minutes, no real wait.
  EXPECT_LE(fake.Now() - start, request.time_limit + options.kill_grace);
  EXPECT_THAT(fake.History()[0].outcome, TimedOut());
}

TEST(ToolRunnerTest, ReportsOutOfMemoryWhenTheBuildExceedsItsMemoryLimit) {
  MemoryManager fake;
  fake.Register("make", [](FakeProcess& make) {
    make.WriteStdout("cc -O3 huge.c\n");
    make.UseMemory(4096 * kMiB);
    return 0;
  });
  ToolRunner runner(fake);

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kOutOfMemory);
  EXPECT_THAT(fake.History()[0].outcome, ExceededMemory());
}

TEST(ToolRunnerTest, ReportsToolMissingNamingMakeWhenNotInstalled) {
  MemoryManager fake;  // nothing registered: no make anywhere
  ToolRunner runner(fake);

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kToolMissing);
  EXPECT_THAT(report.summary, HasSubstr("make"));
  ASSERT_EQ(fake.History().size(), 1u);
  EXPECT_THAT(fake.History()[0].start_status,
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("make")));
}

TEST(ToolRunnerTest, DoesNotFindMakeOutsideItsOwnPath) {
  MemoryManager fake;
  fake.Register("/opt/tools/bin/make", [](FakeProcess&) { return 0; });
  ToolRunner runner(fake);  // PATH=/usr/local/bin:/usr/bin:/bin

  EXPECT_EQ(runner.Build(AppRequest()).status, BuildStatus::kToolMissing);
}

TEST(ToolRunnerTest, RunsMakeWithExactArgvPathOnlyEnvAndLimits) {
  MemoryManager fake;
  procsandbox::Environment seen_env;
  fake.Register("/usr/bin/make", [&seen_env](FakeProcess& make) {
    seen_env = make.env();
    return 0;
  });
  ToolRunner runner(fake);
  BuildRequest request = AppRequest();
  request.targets = {"all", "check"};

  EXPECT_EQ(runner.Build(request).status, BuildStatus::kSucceeded);

  const std::vector<FakeRun> history = fake.History();
  ASSERT_EQ(history.size(), 1u);
  const FakeRun& run = history[0];
  EXPECT_EQ(run.command.program, "make");
  EXPECT_THAT(run.command.args,
              ElementsAre("-C", "/src/app", "-j4", "all", "check"));
  EXPECT_EQ(run.resolved_program, "/usr/bin/make");
  const procsandbox::Environment path_only{
      {"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  EXPECT_EQ(run.command.env, path_only);
  EXPECT_EQ(seen_env, path_only);
  procsandbox::Limits limits;
  limits.wall_time = absl::Seconds(30);
  limits.memory_bytes = 512 * kMiB;
  limits.output_bytes = 1 * kMiB;
  EXPECT_EQ(run.limits, limits);
  EXPECT_EQ(run.command.kill_grace, absl::Seconds(2));
}

TEST(ToolRunnerTest, StreamsOutputLinesInOrderWhileBuilding) {
  MemoryManager fake;
  fake.Register("make", [](FakeProcess& make) {
    make.WriteStdout("[1/2] cc -c main.c\n");
    make.WriteStderr("main.c:7: warning: unused variable 'x'\n");
    make.WriteStdout("[2/2] cc -o app main.o\n");
    return 0;
  });
  ToolRunner runner(fake);
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

// The mock alternative: script the exact calls, here a start failure the
// fake would also model (RegisterNotExecutable), to show the shape.
TEST(ToolRunnerMockTest, ReportsAnErrorWhenMakeCannotBeExecuted) {
  auto make = std::make_shared<NiceMock<MockProcess>>();
  EXPECT_CALL(*make, Start())
      .WillOnce(Return(absl::PermissionDeniedError(
          "exec \"/usr/bin/make\": permission denied (EACCES)")));
  NiceMock<MockManager> manager;
  EXPECT_CALL(manager, New(Field(&procsandbox::Command::program, "make")))
      .WillOnce(Return(make));
  ToolRunner runner(manager);

  const BuildReport report = runner.Build(AppRequest());

  EXPECT_EQ(report.status, BuildStatus::kError);
  EXPECT_THAT(report.summary, HasSubstr("permission denied"));
}

}  // namespace
}  // namespace tool_runner
