// The POSIX backend's Spawn(): both paths (posix_spawn and fork), run for
// real with tests/helper, on one plan each.
#include "darwin/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "posix/unique_fd.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::darwin_internal {
namespace {

using ::procsandbox::posix_internal::UniqueFd;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

struct Finished {
  int exit_code = -1;  // -1 when a signal ended it
  std::string out;
};

SpawnPlan HelperPlan(std::vector<std::string> steps) {
  SpawnPlan plan;
  plan.path = kHelper;
  plan.argv = {kHelper};
  plan.argv.insert(plan.argv.end(), steps.begin(), steps.end());
  return plan;
}

// A temporary directory, removed with what it holds.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() /
                           "procsandbox-darwin-spawn-XXXXXX")
                              .string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using SpawnFn = absl::StatusOr<pid_t> (*)(const SpawnPlan&);

struct PathParam {
  const char* name;
  SpawnFn spawn;
};

class SpawnPathTest : public ::testing::TestWithParam<PathParam> {
 protected:
  // Spawns `plan` with stdout (and stderr, when `merge`) on a pipe, reads
  // it to the end and reaps the child.
  absl::StatusOr<Finished> RunToEnd(SpawnPlan plan, bool merge = false) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
    UniqueFd read_end(fds[0]);
    UniqueFd write_end(fds[1]);
    plan.stdio[1] = write_end.get();
    if (merge) plan.stdio[2] = write_end.get();
    absl::StatusOr<pid_t> pid = GetParam().spawn(plan);
    write_end.reset();
    if (!pid.ok()) return pid.status();
    Finished finished;
    char buffer[4096];
    for (ssize_t n; (n = read(read_end.get(), buffer, sizeof(buffer))) != 0;) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError("read");
      finished.out.append(buffer, static_cast<std::size_t>(n));
    }
    int status = 0;
    if (waitpid(*pid, &status, 0) != *pid) {
      return absl::InternalError("waitpid");
    }
    if (WIFEXITED(status)) finished.exit_code = WEXITSTATUS(status);
    return finished;
  }

  // The failed spawn left no child behind (each test reaps its own).
  void ExpectNoChildLeft() {
    int status = 0;
    EXPECT_EQ(waitpid(-1, &status, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }
};

TEST(SpawnPathForTest, PosixSpawnUnlessRlimitsOrCredentials) {
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.working_dir = "/";
  plan.new_session = true;
  EXPECT_EQ(PathFor(plan), SpawnPath::kPosixSpawn);
  SpawnPlan limited = plan;
  limited.rlimits.push_back({RLIMIT_FSIZE, 1000, 1000});
  EXPECT_EQ(PathFor(limited), SpawnPath::kFork);
  SpawnPlan as_user = plan;
  as_user.uid = getuid();
  EXPECT_EQ(PathFor(as_user), SpawnPath::kFork);
}

TEST(SpawnByPosixSpawnTest, RefusesAPlanItCannotExpress) {
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.rlimits.push_back({RLIMIT_FSIZE, 1000, 1000});
  EXPECT_THAT(SpawnByPosixSpawn(plan),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_P(SpawnPathTest, RunsTheProgramWithItsArgumentsAndEnvironment) {
  SpawnPlan plan = HelperPlan({"print", "hello", "print-env", "exit", "3"});
  plan.envp = {"B=2", "A=1"};
  absl::StatusOr<Finished> f = RunToEnd(plan);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "hello\nA=1\nB=2\n");
  EXPECT_EQ(f->exit_code, 3);
}

TEST_P(SpawnPathTest, StartsANewProcessGroupOrSession) {
  absl::StatusOr<Finished> group =
      RunToEnd(HelperPlan({"print-pid", "print-pgid"}));
  ASSERT_THAT(group, IsOk());
  std::vector<std::string> lines = absl::StrSplit(group->out, '\n');
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], lines[1]);

  SpawnPlan session_plan = HelperPlan({"print-pid", "print-sid"});
  session_plan.new_session = true;
  absl::StatusOr<Finished> session = RunToEnd(session_plan);
  ASSERT_THAT(session, IsOk());
  lines = absl::StrSplit(session->out, '\n');
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], lines[1]);
}

TEST_P(SpawnPathTest, ResetsSignalsTheHostBlockedOrIgnored) {
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction saved_action = {};
  ASSERT_EQ(sigaction(SIGUSR1, &ignore, &saved_action), 0);
  sigset_t block, saved_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &saved_mask), 0);
  absl::StatusOr<Finished> f =
      RunToEnd(HelperPlan({"print-sigmask", "print-sigign"}));
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  sigaction(SIGUSR1, &saved_action, nullptr);
  ASSERT_THAT(f, IsOk());
  std::vector<std::string> lines = absl::StrSplit(f->out, '\n');
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "0000000000000000");
  // glibc's posix_spawn leaves its own two internal signals (32 and 33,
  // below SIGRTMIN) ignored in the child; every signal a program may use
  // is back to its default.
  uint64_t ignored = std::stoull(lines[1], nullptr, 16);
  for (int sig = 32; sig < SIGRTMIN; ++sig)
    ignored &= ~(uint64_t{1} << (sig - 1));
  EXPECT_EQ(ignored, 0u) << lines[1];
}

TEST_P(SpawnPathTest, ClosesEveryDescriptorButTheThreeStandardOnes) {
  // Inheritable on purpose: the spawn must close it, not the flag.
  UniqueFd leak(open("/dev/null", O_RDONLY));
  ASSERT_TRUE(leak.valid());
  absl::StatusOr<Finished> f = RunToEnd(HelperPlan({"print-fds"}));
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "0\n1\n2\n");
}

TEST_P(SpawnPathTest, ChangesToTheWorkingDirectoryBeforeARelativeProgram) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string copy = dir.path() + "/helper";
  std::filesystem::copy_file(kHelper, copy);
  SpawnPlan plan = HelperPlan({"print-cwd"});
  plan.path = "./helper";
  plan.working_dir = dir.path();
  absl::StatusOr<Finished> f = RunToEnd(plan);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST_P(SpawnPathTest, SwapsStdoutAndStderr) {
  int out[2];
  int err[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(err, O_CLOEXEC), 0);
  UniqueFd out_read(out[0]), out_write(out[1]);
  UniqueFd err_read(err[0]), err_write(err[1]);
  // The host's 1 and 2 are moved aside; the child's 1 and 2 swap them.
  UniqueFd saved1(dup(1)), saved2(dup(2));
  ASSERT_GE(dup2(out_write.get(), 1), 0);
  ASSERT_GE(dup2(err_write.get(), 2), 0);
  SpawnPlan plan = HelperPlan({"print", "to-out", "print-stderr", "to-err"});
  plan.stdio[1] = 2;
  plan.stdio[2] = 1;
  absl::StatusOr<pid_t> pid = GetParam().spawn(plan);
  dup2(saved1.get(), 1);
  dup2(saved2.get(), 2);
  out_write.reset();
  err_write.reset();
  ASSERT_THAT(pid, IsOk());
  int status = 0;
  ASSERT_EQ(waitpid(*pid, &status, 0), *pid);
  char buffer[64] = {};
  ASSERT_GT(read(err_read.get(), buffer, sizeof(buffer) - 1), 0);
  EXPECT_STREQ(buffer, "to-out\n");
  char buffer2[64] = {};
  ASSERT_GT(read(out_read.get(), buffer2, sizeof(buffer2) - 1), 0);
  EXPECT_STREQ(buffer2, "to-err\n");
}

TEST_P(SpawnPathTest, AMissingProgramIsNotFound) {
  SpawnPlan plan = HelperPlan({});
  plan.path = "/no/such/program";
  plan.shown_program = "\"prog\" in PATH <redacted>";
  EXPECT_THAT(RunToEnd(plan),
              StatusIs(absl::StatusCode::kNotFound,
                       "exec \"prog\" in PATH <redacted>: no such file or "
                       "directory (ENOENT)"));
  ExpectNoChildLeft();
}

TEST_P(SpawnPathTest, AFileWithoutExecutePermissionIsPermissionDenied) {
  TempDir dir;
  const std::string file = dir.path() + "/not-executable";
  std::ofstream(file) << "#!/bin/sh\n";
  SpawnPlan plan = HelperPlan({});
  plan.path = file;
  EXPECT_THAT(RunToEnd(plan),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       absl::StrCat("exec \"", file,
                                    "\": permission denied (EACCES)")));
  ExpectNoChildLeft();
}

TEST_P(SpawnPathTest, AFileOfNoKnownFormatIsInvalidArgument) {
  TempDir dir;
  const std::string file = dir.path() + "/garbage";
  std::ofstream(file) << "\x7f\x01\x02 not a program";
  ASSERT_EQ(chmod(file.c_str(), 0700), 0);
  SpawnPlan plan = HelperPlan({});
  plan.path = file;
  EXPECT_THAT(RunToEnd(plan), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("(ENOEXEC)")));
  ExpectNoChildLeft();
}

TEST_P(SpawnPathTest, AMissingWorkingDirectoryIsFailedPrecondition) {
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.working_dir = "/no/such/dir";
  EXPECT_THAT(RunToEnd(plan),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       "change to working directory \"/no/such/dir\": no "
                       "such file or directory (ENOENT)"));
  ExpectNoChildLeft();
}

TEST_P(SpawnPathTest, AWorkingDirectoryThatIsAFileIsFailedPrecondition) {
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.working_dir = kHelper;
  EXPECT_THAT(RunToEnd(plan), StatusIs(absl::StatusCode::kFailedPrecondition,
                                       HasSubstr("(ENOTDIR)")));
  ExpectNoChildLeft();
}

TEST_P(SpawnPathTest, ABadStdioDescriptorNamesItsSlot) {
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.stdio[0] = 1000;  // not open
  EXPECT_THAT(GetParam().spawn(plan),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("set up descriptor 0")));
  ExpectNoChildLeft();
}

TEST_P(SpawnPathTest, AnEmptyPlanIsInvalidArgument) {
  EXPECT_THAT(GetParam().spawn(SpawnPlan{}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

INSTANTIATE_TEST_SUITE_P(
    Paths, SpawnPathTest,
    ::testing::Values(PathParam{"PosixSpawn", SpawnByPosixSpawn},
                      PathParam{"Vfork",
                                [](const SpawnPlan& plan) {
                                  return SpawnByFork(plan, ForkKind::kVfork);
                                }},
                      PathParam{"Fork",
                                [](const SpawnPlan& plan) {
                                  return SpawnByFork(plan, ForkKind::kFork);
                                }}),
    [](const ::testing::TestParamInfo<PathParam>& param_info) {
      return std::string(param_info.param.name);
    });

// The fork path alone: what posix_spawn cannot express.

TEST(SpawnByForkTest, SetsTheChildsRlimitsNotTheHosts) {
  struct rlimit before = {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &before), 0);
  SpawnPlan plan = HelperPlan({"print-rlimit", "fsize"});
  plan.rlimits.push_back({RLIMIT_FSIZE, 4096, 8192});
  ASSERT_EQ(PathFor(plan), SpawnPath::kFork);
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  plan.stdio[1] = write_end.get();
  absl::StatusOr<pid_t> pid = Spawn(plan);
  write_end.reset();
  ASSERT_THAT(pid, IsOk());
  char buffer[64] = {};
  ASSERT_GT(read(read_end.get(), buffer, sizeof(buffer) - 1), 0);
  int status = 0;
  ASSERT_EQ(waitpid(*pid, &status, 0), *pid);
  EXPECT_STREQ(buffer, "4096\n");
  struct rlimit after = {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &after), 0);
  EXPECT_EQ(after.rlim_cur, before.rlim_cur);
}

TEST(SpawnByForkTest, AnRlimitAboveTheHardLimitNamesIt) {
  struct rlimit nofile = {};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &nofile), 0);
  if (geteuid() == 0) GTEST_SKIP() << "root may raise its hard limit";
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.rlimits.push_back(
      {RLIMIT_NOFILE, nofile.rlim_max + 1, nofile.rlim_max + 1});
  EXPECT_THAT(Spawn(plan), StatusIs(absl::StatusCode::kPermissionDenied,
                                    HasSubstr("set RLIMIT_NOFILE to")));
}

TEST(SpawnByForkTest, ASwitchToAnotherUserWithoutPrivilegeIsRefused) {
  if (geteuid() == 0) GTEST_SKIP() << "root may switch users";
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.uid = 0;
  plan.gid = 0;
  EXPECT_THAT(Spawn(plan), StatusIs(absl::StatusCode::kPermissionDenied,
                                    HasSubstr("set supplementary groups")));
}

TEST(SpawnByForkTest, ACredentialSwitchIsNeverDoneAfterVfork) {
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.uid = getuid();
  EXPECT_THAT(SpawnByFork(plan, ForkKind::kVfork),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(SpawnByForkTest, RunsAsTheGivenUserAndGroups) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch users";
  SpawnPlan plan = HelperPlan({"print-ids"});
  plan.uid = 65534;
  plan.gid = 65534;
  plan.groups = {65534, 100};
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  plan.stdio[1] = write_end.get();
  absl::StatusOr<pid_t> pid = Spawn(plan);
  write_end.reset();
  ASSERT_THAT(pid, IsOk());
  char buffer[128] = {};
  ASSERT_GT(read(read_end.get(), buffer, sizeof(buffer) - 1), 0);
  int status = 0;
  ASSERT_EQ(waitpid(*pid, &status, 0), *pid);
  EXPECT_STREQ(buffer,
               "uid=65534 gid=65534 euid=65534 egid=65534 groups=100,65534\n");
}

}  // namespace
}  // namespace procsandbox::darwin_internal
