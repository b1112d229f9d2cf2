// Spawn(): the Linux spawn path, run for real with tests/helper.
#include "linux/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;

namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

struct Finished {
  int exit_code = -1;  // -1 when a signal ended it
  int signal = 0;
  std::string out;
};

SpawnPlan HelperPlan(std::vector<std::string> steps) {
  SpawnPlan plan;
  plan.path = kHelper;
  plan.argv = {kHelper};
  plan.argv.insert(plan.argv.end(), steps.begin(), steps.end());
  return plan;
}

// Spawns `plan` with stdout (and stderr, if `merge`) on a pipe, reads it to
// the end and reaps the child.
absl::StatusOr<Finished> RunToEnd(SpawnPlan plan, bool merge = false) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);
  plan.stdio[1] = write_end.get();
  if (merge) plan.stdio[2] = write_end.get();
  absl::StatusOr<Spawned> spawned = Spawn(plan);
  write_end.reset();
  if (!spawned.ok()) return spawned.status();
  Finished finished;
  char buffer[4096];
  for (ssize_t n; (n = read(read_end.get(), buffer, sizeof(buffer))) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError("read");
    finished.out.append(buffer, static_cast<std::size_t>(n));
  }
  siginfo_t info = {};
  if (waitid(static_cast<idtype_t>(P_PIDFD),
             static_cast<id_t>(spawned->pidfd.get()), &info, WEXITED) != 0) {
    return absl::InternalError("waitid");
  }
  if (info.si_code == CLD_EXITED) {
    finished.exit_code = info.si_status;
  } else {
    finished.signal = info.si_status;
  }
  return finished;
}

// No child of this test process is left: neither running nor a zombie.
void ExpectNoChildren() {
  siginfo_t info = {};
  errno = 0;
  EXPECT_EQ(waitid(P_ALL, 0, &info, WEXITED | WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "spawn_test.XXXXXX";
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    for (const std::string& f : files_) unlink(f.c_str());
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name, const std::string& contents,
                   mode_t mode) {
    std::string file = path_ + "/" + name;
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    (void)!write(fd, contents.data(), contents.size());
    close(fd);
    chmod(file.c_str(), mode);
    files_.push_back(file);
    return file;
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

TEST(SpawnTest, ReportsTheExitCode) {
  absl::StatusOr<Finished> f = RunToEnd(HelperPlan({"exit", "7"}));
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->exit_code, 7);
  ExpectNoChildren();
}

TEST(SpawnTest, AMissingProgramIsNotFoundAndLeavesNothing) {
  SpawnPlan plan;
  plan.path = "/no/such/program";
  plan.argv = {"program"};
  EXPECT_THAT(Spawn(plan).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("exec \"/no/such/program\": no such file "
                                 "or directory (ENOENT)")));
  ExpectNoChildren();
}

TEST(SpawnTest, AFileWithoutExecutePermissionIsPermissionDenied) {
  TempDir dir;
  SpawnPlan plan;
  plan.path = dir.File("data", "#!/bin/sh\n", 0644);
  plan.argv = {"data"};
  EXPECT_THAT(
      Spawn(plan).status(),
      StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("EACCES")));
  ExpectNoChildren();
}

TEST(SpawnTest, AnExecutableThatIsNoProgramIsInvalidArgument) {
  TempDir dir;
  SpawnPlan plan;
  plan.path = dir.File("garbage", "this is not a program\n", 0755);
  plan.argv = {"garbage"};
  EXPECT_THAT(Spawn(plan).status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("ENOEXEC")));
  ExpectNoChildren();
}

TEST(SpawnTest, ABadWorkingDirectoryIsFailedPreconditionNamingIt) {
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.working_dir = "/no/such/dir";
  EXPECT_THAT(Spawn(plan).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("\"/no/such/dir\"")));
  ExpectNoChildren();
}

TEST(SpawnTest, TheEnvironmentIsExactlyThePlans) {
  SpawnPlan plan = HelperPlan({"print-env"});
  plan.envp = {"B=2", "A=1"};
  absl::StatusOr<Finished> f = RunToEnd(plan);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "A=1\nB=2\n");
}

TEST(SpawnTest, TheWorkingDirectoryIsApplied) {
  TempDir dir;
  SpawnPlan plan = HelperPlan({"print-cwd"});
  plan.working_dir = dir.path();
  absl::StatusOr<Finished> f = RunToEnd(plan);
  ASSERT_THAT(f, IsOk());
  char real[PATH_MAX];
  ASSERT_NE(realpath(dir.path().c_str(), real), nullptr);
  EXPECT_EQ(f->out, absl::StrCat(real, "\n"));
}

TEST(SpawnTest, OnlyTheStandardDescriptorsAreInherited) {
  // A descriptor without O_CLOEXEC, as careless host code leaves them.
  const int leaky = open("/dev/null", O_RDONLY);
  ASSERT_GE(leaky, 3);
  absl::StatusOr<Finished> f = RunToEnd(HelperPlan({"print-fds"}));
  close(leaky);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "0\n1\n2\n");
}

TEST(SpawnTest, StdoutAndStderrCanShareOneDescriptor) {
  absl::StatusOr<Finished> f = RunToEnd(
      HelperPlan({"print", "out", "print-stderr", "err"}), /*merge=*/true);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "out\nerr\n");
}

TEST(SpawnTest, TheChildLeadsANewProcessGroup) {
  absl::StatusOr<Finished> f =
      RunToEnd(HelperPlan({"print-pid", "print-pgid"}));
  ASSERT_THAT(f, IsOk());
  const std::size_t nl = f->out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_EQ(f->out.substr(0, nl + 1), f->out.substr(nl + 1));
}

TEST(SpawnTest, RlimitsAreInForceInTheChild) {
  SpawnPlan plan =
      HelperPlan({"print-rlimit", "nofile", "print-rlimit", "fsize"});
  plan.rlimits = {{RLIMIT_NOFILE, 64, 64}, {RLIMIT_FSIZE, 4096, 4096}};
  absl::StatusOr<Finished> f = RunToEnd(plan);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "64\n4096\n");
}

TEST(SpawnTest, RaisingAHardRlimitWithoutPrivilegeNamesTheLimit) {
  if (geteuid() == 0) GTEST_SKIP() << "root may raise hard limits";
  struct rlimit current;
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &current), 0);
  SpawnPlan plan = HelperPlan({"exit", "0"});
  plan.rlimits = {{RLIMIT_NOFILE, current.rlim_max, current.rlim_max + 1}};
  EXPECT_THAT(Spawn(plan).status(),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("RLIMIT_NOFILE")));
}

TEST(SpawnTest, SignalMaskAndDispositionsStartClean) {
  sigset_t usr1, old_mask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &usr1, &old_mask), 0);
  struct sigaction ignore = {}, old_usr2 = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGUSR2, &ignore, &old_usr2), 0);

  absl::StatusOr<Finished> f =
      RunToEnd(HelperPlan({"print-sigmask", "print-sigign"}));

  sigaction(SIGUSR2, &old_usr2, nullptr);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "0000000000000000\n0000000000000000\n");
}

TEST(SpawnTest, NoNewPrivsIsSet) {
  absl::StatusOr<Finished> f = RunToEnd(HelperPlan({"print-no-new-privs"}));
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "1\n");
}

TEST(SpawnTest, TheHostsOwnChildIsLeftForTheHost) {
  // The host starts a child of its own, the plain way.
  const pid_t host_child = fork();
  ASSERT_GE(host_child, 0);
  if (host_child == 0) _exit(3);
  absl::StatusOr<Finished> f = RunToEnd(HelperPlan({"exit", "5"}));
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->exit_code, 5);
  int status = 0;
  ASSERT_EQ(waitpid(host_child, &status, 0), host_child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  ExpectNoChildren();
}

TEST(SpawnTest, CredentialsDropWhenRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch user";
  SpawnPlan plan = HelperPlan({"print-ids"});
  plan.uid = 65534;
  plan.gid = 65534;
  absl::StatusOr<Finished> f = RunToEnd(plan);
  ASSERT_THAT(f, IsOk());
  EXPECT_EQ(f->out, "uid=65534 gid=65534 euid=65534 egid=65534 groups=\n");
}

TEST(SpawnTest, DescriptorsStayPrivateWhileThreadsSpawnAtOnce) {
  std::atomic<bool> stop{false};
  // A thread that keeps opening descriptors without O_CLOEXEC.
  std::thread leaker([&stop] {
    while (!stop) {
      const int fd = open("/dev/null", O_RDONLY);
      if (fd >= 0) close(fd);
    }
  });
  std::atomic<int> wrong{0};
  std::vector<std::thread> spawners;
  for (int t = 0; t < 8; ++t) {
    spawners.emplace_back([&wrong] {
      for (int i = 0; i < 25; ++i) {
        absl::StatusOr<Finished> f = RunToEnd(HelperPlan({"print-fds"}));
        if (!f.ok() || f->out != "0\n1\n2\n") ++wrong;
      }
    });
  }
  for (std::thread& t : spawners) t.join();
  stop = true;
  leaker.join();
  EXPECT_EQ(wrong.load(), 0);
  ExpectNoChildren();
}

}  // namespace
}  // namespace procsandbox::linux_internal
