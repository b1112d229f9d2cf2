// Isolation::mounts on Linux: the filesystem the program sees, checked from
// inside the child (tests/helper's try-write, list-dir; coreutils), and that
// nothing of it reaches the host.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kTmpBytes = int64_t{1} << 20;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

class IsolationMountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OsManagerOptions options;
    options.strict = true;
    absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager(options);
    ASSERT_THAT(m, IsOk());
    manager_ = *std::move(m);
    const IsolationEnforcement* e = nullptr;
    for (const IsolationEnforcement& i : manager_->capabilities().isolation) {
      if (i.kind == IsolationKind::kMountNamespace) e = &i;
    }
    if (e == nullptr || !e->enforced) {
      GTEST_SKIP() << "no mount namespace here: "
                   << (e == nullptr ? "" : e->detail);
    }
    char dir[] = "/tmp/procsandbox-mounts-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    host_dir_ = dir;
    work_ = host_dir_ + "/work";
    ASSERT_EQ(mkdir(work_.c_str(), 0755), 0);
    std::ofstream(host_dir_ + "/secret") << "host only\n";
    mountinfo_before_ = ReadFile("/proc/self/mountinfo");
  }

  void TearDown() override {
    if (host_dir_.empty()) return;
    manager_.reset();
    // Nothing of the runs stays mounted on the host.
    EXPECT_EQ(ReadFile("/proc/self/mountinfo"), mountinfo_before_);
    std::error_code ignored;
    std::filesystem::remove_all(host_dir_, ignored);
  }

  // The root read-only, a private /tmp, the work dir writable. (In a pid
  // namespace where there is one: a user namespace, which a host without
  // root gets, can mount proc only for a pid namespace it owns.)
  Isolation View() const {
    Isolation isolation;
    isolation.namespaces.pid = Enforced(IsolationKind::kPidNamespace);
    isolation.mounts = {Mount::ReadOnlyBind("/"),
                        Mount::Tmpfs("/tmp", kTmpBytes), Mount::Bind(work_),
                        Mount::Proc(), Mount::Dev()};
    return isolation;
  }

  absl::StatusOr<RunResult> RunIn(
      const Isolation& isolation, std::vector<std::string> args,
      std::string program = PROCSANDBOX_TEST_HELPER) {
    Command command(std::move(program), std::move(args));
    command.working_dir = work_;
    command.isolation = isolation;
    command.limits.wall_time = absl::Seconds(60);  // guards a hang only
    return procsandbox::RunCommand(*manager_, command);
  }

  bool Enforced(IsolationKind kind) const {
    for (const IsolationEnforcement& i : manager_->capabilities().isolation) {
      if (i.kind == kind) return i.enforced;
    }
    return false;
  }

  std::unique_ptr<Manager> manager_;
  std::string host_dir_;
  std::string work_;
  std::string mountinfo_before_;
};

TEST_F(IsolationMountsTest, RootIsReadOnlyTmpPrivateAndWorkDirWritable) {
  const std::string leaked = host_dir_ + "-from-child";
  absl::StatusOr<RunResult> r =
      RunIn(View(), {"try-write", "/probe",       "1",    //
                     "try-write", "/usr/probe",   "1",    //
                     "list-dir",  "/tmp",                 //
                     "list-dir",  host_dir_,              //
                     "try-write", leaked,         "100",  //
                     "try-write", "/tmp/big",     std::to_string(2 * kTmpBytes),
                     "try-write", work_ + "/out", "10",  //
                     "print-cwd"});
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->ok()) << *r << r->stderr_;
  const std::string base = std::filesystem::path(host_dir_).filename();
  // /tmp holds only the way to the work directory (its mount point), not
  // the host's files (the secret next to it).
  EXPECT_THAT(Lines(r->stdout_), ElementsAre("EROFS", "EROFS", base, "work",
                                             "ok", "ENOSPC", "ok", work_));
  EXPECT_FALSE(std::filesystem::exists(leaked));
  EXPECT_EQ(std::filesystem::file_size(work_ + "/out"), 10u);
  const IsolationEnforcement* e =
      r->enforcement.Find(IsolationKind::kMountNamespace);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->enforced) << e->detail;
}

TEST_F(IsolationMountsTest, DevHoldsOnlyTheMinimalNodes) {
  absl::StatusOr<RunResult> r =
      RunIn(View(), {"list-dir", "/dev", "try-write", "/dev/null", "1000"});
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->ok()) << *r << r->stderr_;
  std::vector<std::string> want = {
      "fd",     "full",  "null",   "ptmx",    "pts",  "random", "shm",
      "stderr", "stdin", "stdout", "urandom", "zero", "ok"};
  if (access("/dev/tty", F_OK) == 0) {
    want.insert(want.begin() + 10, "tty");
  }
  EXPECT_EQ(Lines(r->stdout_), want);
  // The nodes work: bytes come out of zero and urandom.
  r = RunIn(View(),
            {"-c",
             "head -c 100 /dev/urandom | wc -c; "
             "head -c 100 /dev/zero | tr -d '\\000' | wc -c; "
             "test -e /dev/sda -o -e /dev/mem && echo host-devices"},
            "/bin/sh");
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "100\n0\n") << r->stderr_;
}

TEST_F(IsolationMountsTest, ProcIsFreshAndItsKernelKnobsReadOnly) {
  absl::StatusOr<RunResult> r =
      RunIn(View(), {"try-write", "/proc/sys/vm/drop_caches", "1"});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "EROFS\n") << r->stderr_;
  // The child's mount table is its view: no trace of the set-up's roots.
  r = RunIn(View(), {"/proc/self/mountinfo"}, "/bin/cat");
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->ok()) << *r << r->stderr_;
  EXPECT_THAT(r->stdout_, Not(HasSubstr("/oldroot")));
  EXPECT_THAT(r->stdout_, Not(HasSubstr("/newroot")));
  EXPECT_THAT(r->stdout_, HasSubstr(" /proc rw,nosuid,nodev,noexec"));
  EXPECT_THAT(r->stdout_, HasSubstr(" / / ro"));
}

// With a pid namespace /proc shows the run's processes only; with a user
// namespace too (the host's mounts locked, proc owned by the run) the same
// view is built.
TEST_F(IsolationMountsTest, ProcOfAPidNamespaceShowsOnlyTheRun) {
  if (!Enforced(IsolationKind::kPidNamespace) ||
      !Enforced(IsolationKind::kUserNamespace)) {
    GTEST_SKIP() << "no pid or user namespace here";
  }
  for (const bool user : {false, true}) {
    SCOPED_TRACE(user ? "in a user namespace" : "as root");
    Isolation isolation = View();
    isolation.namespaces.pid = true;
    isolation.namespaces.user = user;
    absl::StatusOr<RunResult> r =
        RunIn(isolation,
              {"-c",
               "cd /proc && for p in [0-9]*; do echo $p; done; "
               "touch /usr/x 2>&1 || :; cat /tmp/none 2>&1 || :; "
               "echo hi > /tmp/ok && cat /tmp/ok; ls /dev/null"},
              "/bin/sh");
    ASSERT_THAT(r, IsOk());
    ASSERT_TRUE(r->ok()) << *r << r->stderr_;
    // The shell is pid 1; `for` runs in it: no other process.
    const std::vector<std::string> lines = Lines(r->stdout_);
    ASSERT_GE(lines.size(), 5u) << r->stdout_;
    EXPECT_EQ(lines[0], "1") << r->stdout_;
    EXPECT_THAT(lines[1], HasSubstr("Read-only file system"));
    EXPECT_THAT(lines[2], HasSubstr("No such file"));
    EXPECT_EQ(lines[3], "hi");
    EXPECT_EQ(lines[4], "/dev/null");
  }
  // Without a pid namespace of its own, the user namespace gets no proc.
  Isolation no_pid = View();
  no_pid.namespaces.pid = false;
  no_pid.namespaces.user = true;
  EXPECT_THAT(RunIn(no_pid, {"exit", "0"}),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("mount proc \"/proc\": operation not "
                                 "permitted (EPERM); in a user namespace proc "
                                 "needs a pid namespace")));
}

TEST_F(IsolationMountsTest, AFileBindAndAnEmptyRoot) {
  const std::string data = host_dir_ + "/data.txt";
  std::ofstream(data) << "shown\n";
  Isolation isolation;
  // No "/" entry: the root holds only the helper (static), /tmp and the
  // work directory, and is read-only.
  isolation.mounts = {Mount::ReadOnlyBind(PROCSANDBOX_TEST_HELPER),
                      Mount::Tmpfs("/tmp", kTmpBytes),
                      Mount::ReadOnlyBind(data, "/tmp/in.txt"),
                      Mount::Bind(work_, "/job")};
  Command command(
      PROCSANDBOX_TEST_HELPER,
      {"list-dir", "/", "list-dir", "/tmp", "try-write", "/x", "1", "try-write",
       "/tmp/in.txt", "1", "try-write", "/job/out", "3", "print-cwd"});
  command.working_dir = "/job";
  command.isolation = isolation;
  command.limits.wall_time = absl::Seconds(60);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*manager_, command);
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->ok()) << *r << r->stderr_;
  const std::vector<std::string> parts =
      absl::StrSplit(PROCSANDBOX_TEST_HELPER, '/', absl::SkipEmpty());
  const std::string top = parts.front();
  std::vector<std::string> want = {top, "job", "tmp"};
  std::sort(want.begin(), want.end());
  want.insert(want.end(), {"in.txt", "EROFS", "EROFS", "ok", "/job"});
  EXPECT_EQ(Lines(r->stdout_), want);
  EXPECT_EQ(ReadFile(data), "shown\n");
  EXPECT_EQ(std::filesystem::file_size(work_ + "/out"), 3u);
}

TEST_F(IsolationMountsTest, ANamespaceAloneIsAPrivateCopyOfTheHostsView) {
  Isolation isolation;
  isolation.namespaces.mount = true;
  absl::StatusOr<RunResult> r =
      RunIn(isolation,
            {"-c", "cat " + host_dir_ + "/secret; readlink /proc/self/ns/mnt"},
            "/bin/sh");
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->ok()) << *r << r->stderr_;
  std::vector<std::string> lines = Lines(r->stdout_);
  ASSERT_EQ(lines.size(), 2u) << r->stdout_;
  EXPECT_EQ(lines[0], "host only");
  char own[64] = {};
  ASSERT_GT(readlink("/proc/self/ns/mnt", own, sizeof(own) - 1), 0);
  EXPECT_NE(lines[1], own);
}

TEST_F(IsolationMountsTest, BadMountsFailStartAndStartNothing) {
  Isolation missing = View();
  missing.mounts.push_back(Mount::Bind(host_dir_ + "/nothing-here", "/data"));
  EXPECT_THAT(RunIn(missing, {"exit", "0"}),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("nothing-here\" does not exist")));

  Isolation under_read_only = View();
  under_read_only.mounts.push_back(
      Mount::Tmpfs("/procsandbox-no-such-dir", kTmpBytes));
  EXPECT_THAT(
      RunIn(under_read_only, {"exit", "0"}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("isolation mount tmpfs \"/procsandbox-no-such-dir\" "
                         "(1 MiB): create the mount point")));

  Isolation hidden = View();
  hidden.mounts = {Mount::ReadOnlyBind(PROCSANDBOX_TEST_HELPER),
                   Mount::Tmpfs("/tmp", 0)};
  EXPECT_THAT(RunIn(hidden, {"exit", "0"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("the working directory \"", work_,
                                              "\" is not in"))));
  Isolation no_program = View();
  no_program.mounts = {Mount::ReadOnlyBind("/usr"), Mount::Bind(work_)};
  EXPECT_THAT(
      RunIn(no_program, {"exit", "0"}),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr(absl::StrCat("the program \"", PROCSANDBOX_TEST_HELPER,
                                      "\" is not in"))));

  // A target through a symlink of the view would land outside it.
  const std::string link = work_ + "/link";
  ASSERT_EQ(symlink("/usr", link.c_str()), 0);
  Isolation through_link = View();
  through_link.mounts.push_back(Mount::Tmpfs(link + "/scratch", kTmpBytes));
  EXPECT_THAT(RunIn(through_link, {"exit", "0"}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("the target goes through the "
                                              "symlink \"",
                                              link, "\" (-> \"/usr\")"))));

  Isolation relative = View();
  relative.mounts.push_back(Mount::Tmpfs("scratch", kTmpBytes));
  EXPECT_THAT(RunIn(relative, {"exit", "0"}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("is not absolute")));
  // TearDown checks that no mount stayed behind.
}

// The unprivileged path for real: this suite again, run as uid 65534 (the
// manager's credential drop), where the library adds a user namespace (its
// mounts locked, proc mountable only for a pid namespace it owns).
TEST(IsolationMountsUnprivilegedTest, TheSuitePassesAsUid65534) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to start the suite as 65534";
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  char self[4096] = {};
  ASSERT_GT(readlink("/proc/self/exe", self, sizeof(self) - 1), 0);
  Command command(self, {"--gtest_filter=IsolationMountsTest.*"});
  command.isolation.uid = 65534;
  command.isolation.gid = 65534;
  command.working_dir = "/";
  command.limits.wall_time = absl::Seconds(120);  // guards a hang only
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(**m, command);
  if (absl::IsPermissionDenied(r.status())) {
    GTEST_SKIP() << "uid 65534 cannot reach this binary: " << r.status();
  }
  ASSERT_THAT(r, IsOk());
  if (r->stdout_.find("[  SKIPPED ]") != std::string::npos) {
    GTEST_SKIP() << "uid 65534 cannot have the view here:\n" << r->stdout_;
  }
  EXPECT_TRUE(r->ok()) << *r << "\n" << r->stdout_ << r->stderr_;
  EXPECT_THAT(r->stdout_, HasSubstr("[  PASSED  ]"));
  EXPECT_THAT(r->stdout_, Not(HasSubstr("[  FAILED  ]")));
}

}  // namespace
}  // namespace procsandbox
