// src/posix's pipes and rlimit plan, run for real (both backends use them).
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "posix/pipes.h"
#include "posix/rlimits.h"
#include "posix/unique_fd.h"
#include "procsandbox/limits.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::posix_internal {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;

TEST(PosixPipesTest, AWriteNobodyReadsReturnsEpipeAndLeavesNoSigpipe) {
  UniqueFd read_end, write_end;
  ASSERT_THAT(MakePipe(read_end, write_end), IsOk());
  read_end.reset();
  // SIGPIPE at its default would end this test binary.
  struct sigaction old = {};
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &old);
  EXPECT_EQ(WriteAllWithoutSigpipe(write_end.get(), "nobody reads"), EPIPE);
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
  sigaction(SIGPIPE, &old, nullptr);
}

TEST(PosixPipesTest, BothEndsAreCloseOnExec) {
  UniqueFd read_end, write_end;
  ASSERT_THAT(MakePipe(read_end, write_end), IsOk());
  EXPECT_NE(fcntl(read_end.get(), F_GETFD) & FD_CLOEXEC, 0);
  EXPECT_NE(fcntl(write_end.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST(PosixPipesTest, TheHostReadSeesDataThenNothingThenTheEnd) {
  UniqueFd read_end, write_end;
  ASSERT_THAT(MakePipe(read_end, write_end), IsOk());
  ASSERT_THAT(SetNonBlocking(read_end.get()), IsOk());
  EXPECT_THAT(WaitReadable(read_end.get(), 0), IsOkAndHolds(false));
  std::string buffer;
  EXPECT_EQ(ReadSome(read_end.get(), buffer), PipeRead::kNothing);
  ASSERT_EQ(WriteAllWithoutSigpipe(write_end.get(), "line\n"), 0);
  EXPECT_THAT(WaitReadable(read_end.get(), 10'000), IsOkAndHolds(true));
  EXPECT_EQ(ReadSome(read_end.get(), buffer), PipeRead::kData);
  EXPECT_EQ(buffer, "line\n");
  write_end.reset();
  EXPECT_EQ(ReadSome(read_end.get(), buffer), PipeRead::kEnd);
}

TEST(PosixPipesTest, ReadAvailableTakesEverythingThere) {
  UniqueFd read_end, write_end;
  ASSERT_THAT(MakePipe(read_end, write_end), IsOk());
  ASSERT_THAT(SetNonBlocking(read_end.get()), IsOk());
  const std::string data(100'000, 'x');  // more than one 64 KiB read
  std::string buffer;
  // A pipe holds 64 KiB by default: write and drain in turns.
  ASSERT_EQ(WriteAllWithoutSigpipe(write_end.get(), data.substr(0, 60'000)), 0);
  ReadAvailable(read_end.get(), buffer);
  ASSERT_EQ(WriteAllWithoutSigpipe(write_end.get(), data.substr(60'000)), 0);
  ReadAvailable(read_end.get(), buffer);
  EXPECT_EQ(buffer, data);
}

TEST(PosixRlimitsTest, ThePlanCarriesEachLimitSetInOrder) {
  Limits limits;
  limits.cpu_time = absl::Milliseconds(1500);
  limits.memory_bytes = 1 << 30;
  limits.file_size_bytes = 4096;
  limits.processes = 10;
  RlimitChoice choice;
  choice.memory = true;
  choice.processes = true;
  const std::vector<RlimitSetting> plan = RlimitPlan(limits, choice);
  ASSERT_EQ(plan.size(), 4u);
  // SIGXCPU at the second the budget reaches, SIGKILL one later.
  EXPECT_EQ(plan[0].resource, RLIMIT_CPU);
  EXPECT_EQ(plan[0].soft, 2u);
  EXPECT_EQ(plan[0].hard, 3u);
  EXPECT_EQ(plan[1].resource, RLIMIT_AS);
  EXPECT_EQ(plan[1].soft, uint64_t{1} << 30);
  EXPECT_EQ(plan[2].resource, RLIMIT_FSIZE);
  EXPECT_EQ(plan[2].hard, 4096u);
  EXPECT_EQ(plan[3].resource, RLIMIT_NPROC);
  EXPECT_EQ(plan[3].soft, 10u);
}

TEST(PosixRlimitsTest, LimitsAContainerCarriesAreLeftOut) {
  Limits limits;
  limits.memory_bytes = 1 << 30;
  limits.processes = 10;
  EXPECT_TRUE(RlimitPlan(limits, RlimitChoice{}).empty());
}

TEST(PosixRlimitsTest, WithoutOpenFilesTheChildGetsTheHostsOriginal) {
  RlimitChoice choice;
  choice.nofile_default = RlimitSetting{RLIMIT_NOFILE, 1024, 4096};
  std::vector<RlimitSetting> plan = RlimitPlan(Limits{}, choice);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(plan[0].soft, 1024u);
  EXPECT_EQ(plan[0].hard, 4096u);

  Limits limits;
  limits.open_files = 64;
  plan = RlimitPlan(limits, choice);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].soft, 64u);
  EXPECT_EQ(plan[0].hard, 64u);
}

}  // namespace
}  // namespace procsandbox::posix_internal
