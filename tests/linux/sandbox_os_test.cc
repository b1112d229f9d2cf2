// The sandbox layer over the Linux OS manager: real working directories,
// real programs resolved on the host, output caps on real pipes.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fs = std::filesystem;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class SandboxOsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
    ASSERT_THAT(m, IsOk());
    manager_ = *std::move(m);
    char templ[] = "/tmp/procsandbox-sbx-os-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
  }
  void TearDown() override {
    EXPECT_TRUE(fs::is_empty(root_)) << "a run's directory was left";
    fs::remove_all(root_);
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }
  // A directory of the test's own beside root_ (which must end empty), for
  // the roots, links and programs a test makes; removed in TearDown.
  std::string Scratch() {
    if (scratch_.empty()) {
      char templ[] = "/tmp/procsandbox-sbx-os-scratch-XXXXXX";
      EXPECT_NE(mkdtemp(templ), nullptr);
      scratch_ = templ;
    }
    return scratch_;
  }
  // A copy of true(1) at `path` (0755), or "" when the host has none.
  static std::string CopyOfTrue(const std::string& path) {
    std::string source = "/bin/true";
    if (!fs::exists(source)) source = "/usr/bin/true";
    if (!fs::exists(source)) return "";
    fs::copy_file(source, path);
    EXPECT_EQ(chmod(path.c_str(), 0755), 0);
    return path;
  }
  SandboxPolicy Policy() const {
    SandboxPolicy policy;
    policy.workdir.root = root_;
    policy.environment.set = Environment{{"PATH", "/usr/bin:/bin"}};
    return policy;
  }
  static RunRequest Helper(std::vector<std::string> steps) {
    RunRequest r;
    r.program = kHelper;
    r.args = std::move(steps);
    r.limits.wall_time = absl::Seconds(30);
    return r;
  }

  std::unique_ptr<Manager> manager_;
  std::string root_;
  std::string scratch_;
};

TEST_F(SandboxOsTest, WorkdirIsPrivateWhileRunningAndRemovedAfter) {
  SandboxPolicy policy = Policy();
  policy.workdir.remove_in_background = false;  // gone when Finish() returns
  Sandbox sandbox(*manager_, policy);
  absl::StatusOr<std::unique_ptr<SandboxProcess>> p =
      sandbox.Launch(Helper({"print-cwd", "echo-lines"}));
  ASSERT_THAT(p, IsOk());
  absl::StatusOr<std::string> cwd =
      (*p)->process().ReadLine(Stream::kStdout, absl::Seconds(10));
  ASSERT_THAT(cwd, IsOk());
  EXPECT_THAT(*cwd, StartsWith(root_ + "/run-"));
  EXPECT_EQ(ModeOf(*cwd), 0700u);
  EXPECT_EQ(ModeOf(*cwd + "/tmp"), 0700u);
  EXPECT_EQ(ModeOf(*cwd + "/log"), 0700u);
  absl::StatusOr<SandboxResult> r = (*p)->Finish();
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExitedWith(0));
  EXPECT_EQ(r->workdir, *cwd);
  EXPECT_FALSE(fs::exists(*cwd));
}

TEST_F(SandboxOsTest, ARunHasNoCapabilityByDefault) {
  const Capabilities host = manager_->capabilities();
  const IsolationEnforcement* caps = host.Find(IsolationKind::kCapabilities);
  ASSERT_NE(caps, nullptr);
  if (!caps->enforced) GTEST_SKIP() << caps->detail;
  Sandbox sandbox(*manager_, Policy());
  absl::StatusOr<SandboxResult> r = sandbox.Run(Helper({"print-caps"}));
  ASSERT_THAT(r, IsOk());
  ASSERT_THAT(r->outcome, ExitedWith(0));
  // Every set of the program is empty (the bounding set too where the host
  // can drop it: root can).
  for (absl::string_view set : {"CapInh", "CapPrm", "CapEff", "CapAmb"}) {
    EXPECT_THAT(r->stdout_, HasSubstr(absl::StrCat(set, "=0000000000000000")));
  }
  if (geteuid() == 0) {
    EXPECT_THAT(r->stdout_, HasSubstr("CapBnd=0000000000000000"));
  }
}

TEST_F(SandboxOsTest, TmpdirIsHonouredAndItsFilesRemoved) {
  if (!fs::exists("/usr/bin/mktemp")) GTEST_SKIP() << "no /usr/bin/mktemp";
  SandboxPolicy policy = Policy();
  policy.workdir.remove_in_background = false;  // gone when Run() returns
  Sandbox sandbox(*manager_, policy);
  RunRequest request;
  request.program = "mktemp";  // creates a file in $TMPDIR
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExitedWith(0));
  EXPECT_THAT(r->stdout_, StartsWith(r->workdir + "/tmp/tmp."));
  EXPECT_FALSE(fs::exists(r->workdir));
}

TEST_F(SandboxOsTest, FilesWrittenInARelativeWorkingDirectoryGoWithIt) {
  SandboxPolicy policy = Policy();
  policy.workdir.remove_in_background = false;  // gone when Run() returns
  Sandbox sandbox(*manager_, policy);
  RunRequest request = Helper({"write-file", "out.bin", "5000", "print-cwd"});
  request.working_dir = "build/obj";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExitedWith(0));
  EXPECT_EQ(r->stdout_, r->workdir + "/build/obj\n");
  EXPECT_FALSE(fs::exists(r->workdir));
}

TEST_F(SandboxOsTest, BackgroundRemovalIsDoneWhenTheSandboxIsDestroyed) {
  std::vector<std::string> dirs;
  {
    Sandbox sandbox(*manager_, Policy());  // remove_in_background: default
    for (int i = 0; i < 5; ++i) {
      RunRequest request =
          Helper({"write-file", "out.bin", "5000", "print-cwd"});
      request.working_dir = "build/obj";
      absl::StatusOr<SandboxResult> r = sandbox.Run(request);
      ASSERT_THAT(r, IsOk());
      EXPECT_THAT(r->outcome, ExitedWith(0));
      EXPECT_EQ(r->stdout_, r->workdir + "/build/obj\n");
      EXPECT_THAT(r->cleanup, ::testing::AnyOf(WorkdirCleanup::kPending,
                                               WorkdirCleanup::kRemoved));
      EXPECT_FALSE(r->workdir_kept);
      dirs.push_back(r->workdir);
    }
  }
  for (const std::string& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(SandboxOsTest, TraversalIsRefusedBeforeAnythingRuns) {
  Sandbox sandbox(*manager_, Policy());
  RunRequest request = Helper({"print-cwd"});
  request.working_dir = "a/../../etc";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("leaves the run's directory")));
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value());
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kPathTraversal);
  EXPECT_TRUE(manager_->List().empty());
}

TEST_F(SandboxOsTest, LargeOutputOnBothStreamsIsTruncatedWithoutDeadlock) {
  SandboxPolicy policy = Policy();
  policy.output.max_bytes = 64 << 10;
  Sandbox sandbox(*manager_, policy);
  absl::StatusOr<SandboxResult> r =
      sandbox.Run(Helper({"write-both", "20000000"}));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExitedWith(0));  // read and dropped to the end
  EXPECT_EQ(r->truncated_by, OutputCap::kBytes);
  EXPECT_LE(r->stdout_.size() + r->stderr_.size(), std::size_t{64} << 10);
  EXPECT_TRUE(r->stdout_truncated || r->stderr_truncated);
}

TEST_F(SandboxOsTest, LineCapOnARealProgramKeepsTheFirstLines) {
  if (!fs::exists("/usr/bin/seq")) GTEST_SKIP() << "no /usr/bin/seq";
  Sandbox sandbox(*manager_, Policy());
  RunRequest request;
  request.program = "seq";
  request.args = {"1", "200000"};
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExitedWith(0));
  EXPECT_EQ(r->stdout_lines, 10'000);
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->truncated_by, OutputCap::kLines);
  EXPECT_THAT(r->stdout_, StartsWith("1\n2\n3\n"));
  EXPECT_TRUE(absl::EndsWith(r->stdout_, "\n10000\n"));
}

TEST_F(SandboxOsTest, StopAtTheCapEndsARealProgram) {
  SandboxPolicy policy = Policy();
  policy.output.max_bytes = 4096;
  policy.output.on_limit = OutputLimitAction::kStop;
  Sandbox sandbox(*manager_, policy);
  absl::StatusOr<SandboxResult> r =
      sandbox.Run(Helper({"write-stdout", "100000000"}));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome.reason, ExitReason::kOutputExceeded);
  EXPECT_EQ(r->status, SandboxStatus::kLimitExceeded);
  EXPECT_EQ(r->stdout_.size(), 4096u);
}

TEST_F(SandboxOsTest, ShellIsRefusedThroughItsSymlink) {
  Sandbox sandbox(*manager_, Policy());
  RunRequest request;
  request.program = "/bin/sh";
  request.args = {"-c", "true"};
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value());
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kShellRefused);
}

TEST_F(SandboxOsTest, SetuidProgramOnTheHostIsRefused) {
  std::string setuid;
  for (const char* p : {"/usr/bin/passwd", "/usr/bin/chsh", "/usr/bin/mount"}) {
    struct stat st;
    if (stat(p, &st) == 0 && (st.st_mode & S_ISUID) != 0) setuid = p;
  }
  if (setuid.empty()) GTEST_SKIP() << "no setuid program found";
  Sandbox sandbox(*manager_, Policy());
  RunRequest request;
  request.program = setuid;
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value()) << r.status();
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kSetuidProgram);
}

TEST_F(SandboxOsTest, AllowlistAcceptsTheHelperByItsResolvedPath) {
  SandboxPolicy policy = Policy();
  policy.programs.allow = {fs::canonical(kHelper).string()};
  Sandbox sandbox(*manager_, policy);
  EXPECT_THAT(sandbox.Run(Helper({"exit", "0"})), IsOk());
  RunRequest other;
  other.program = "true";
  absl::StatusOr<SandboxResult> r = sandbox.Run(other);
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value()) << r.status();
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kProgramNotAllowed);
}

// A root that is a symlink is unsafe also when written with a trailing
// slash (with which open(O_NOFOLLOW) would follow it): the root is
// normalised before it is checked.
TEST_F(SandboxOsTest, ASymlinkedRootWithATrailingSlashIsUnsafe) {
  const std::string real = Scratch() + "/real";
  const std::string link = Scratch() + "/link";
  ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  if (!fs::exists("/bin/true") && !fs::exists("/usr/bin/true")) {
    GTEST_SKIP() << "no true(1)";
  }
  SandboxPolicy policy = Policy();
  policy.workdir.root = link + "/";
  Sandbox sandbox(*manager_, policy);
  RunRequest request;
  request.program = "true";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value());
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kUnsafeRoot);
}

// A real root written with trailing slashes works, and its runs' paths are
// shown without a doubled slash.
TEST_F(SandboxOsTest, ARootWithTrailingSlashesIsUsedNormalised) {
  const std::string real = Scratch() + "/real";
  ASSERT_EQ(mkdir(real.c_str(), 0700), 0);
  if (!fs::exists("/bin/true") && !fs::exists("/usr/bin/true")) {
    GTEST_SKIP() << "no true(1)";
  }
  SandboxPolicy policy = Policy();
  policy.workdir.root = real + "//";
  Sandbox sandbox(*manager_, policy);
  RunRequest request;
  request.program = "true";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(fs::path(r->workdir).parent_path().string(), real);
}

// A program in a directory others may write without the sticky bit is
// refused: anyone could rename another file over it between the check and
// the exec.
TEST_F(SandboxOsTest, AProgramInAWorldWritableDirectoryIsRefused) {
  const std::string dir = Scratch() + "/shared";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);  // no sticky bit
  const std::string tool = CopyOfTrue(dir + "/tool");
  if (tool.empty()) GTEST_SKIP() << "no true(1)";
  Sandbox sandbox(*manager_, Policy());
  RunRequest request;
  request.program = tool;
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value());
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kUnsafeProgramFile);
}

// A program of this user in a sticky directory others may write (as /tmp)
// is accepted: others cannot rename or remove a file they do not own.
TEST_F(SandboxOsTest, AProgramInAStickyDirectoryIsAccepted) {
  const std::string dir = Scratch() + "/sticky";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  ASSERT_EQ(chmod(dir.c_str(), 01777), 0);
  const std::string tool = CopyOfTrue(dir + "/tool");
  if (tool.empty()) GTEST_SKIP() << "no true(1)";
  Sandbox sandbox(*manager_, Policy());
  RunRequest request;
  request.program = tool;
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, SandboxStatus::kCompleted);
}

// Quotas over real processes: a key at its cap waits while another key's run
// goes ahead, and the key's rate refuses its fourth run with the time of the
// next one, before anything starts.
TEST_F(SandboxOsTest, QuotasHoldAKeyAndLetOthersPassOnRealProcesses) {
  SandboxPolicy policy = Policy();
  policy.quota.enabled = true;
  policy.quota.default_quota.max_concurrent = 1;
  policy.quota.default_quota.max_runs = 3;
  policy.quota.default_quota.window = absl::Hours(1);
  absl::Mutex mu;
  std::vector<SandboxEvent> events;
  policy.on_event = [&](const SandboxEvent& e) {
    absl::MutexLock lock(&mu);
    events.push_back(e);
  };
  absl::StatusOr<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Create(*manager_, policy);
  ASSERT_THAT(sandbox, IsOk());
  Sandbox& s = **sandbox;

  RunRequest first = Helper({"echo-lines"});
  first.id = "a1";
  first.quota_key = "tenant-a";
  absl::StatusOr<std::unique_ptr<SandboxProcess>> held = s.Launch(first);
  ASSERT_THAT(held, IsOk());

  // tenant-a's second run waits for the first ...
  RunRequest second = Helper({"exit", "0"});
  second.id = "a2";
  second.quota_key = "tenant-a";
  std::optional<absl::StatusOr<SandboxResult>> second_result;
  std::thread waiter([&] { second_result = s.Run(second); });
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (s.Position("a2").value_or(0) != 1) {
    ASSERT_LT(absl::Now(), give_up) << "a2 never queued";
    absl::SleepFor(absl::Milliseconds(1));
  }
  // ... while tenant-b's run starts and ends at once.
  RunRequest other = Helper({"exit", "0"});
  other.id = "b1";
  other.quota_key = "tenant-b";
  other.queue_timeout = absl::Seconds(10);  // a failure, not a hang
  absl::StatusOr<SandboxResult> b = s.Run(other);
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(b->status, SandboxStatus::kCompleted);
  EXPECT_EQ(s.Position("a2").value_or(0), 1u) << "a2 ran beside a1";

  ASSERT_THAT((*held)->Finish(absl::Seconds(10)), IsOk());
  waiter.join();
  ASSERT_TRUE(second_result.has_value());
  ASSERT_THAT(*second_result, IsOk());
  EXPECT_EQ((*second_result)->status, SandboxStatus::kCompleted);

  RunRequest third = Helper({"exit", "0"});
  third.quota_key = "tenant-a";
  ASSERT_THAT(s.Run(third), IsOk());
  RunRequest fourth = Helper({"exit", "0"});
  fourth.id = "a4";
  fourth.quota_key = "tenant-a";
  absl::StatusOr<SandboxResult> refused = s.Run(fourth);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("quota of key \"tenant-a\" used up: "
                                          "3 runs per 1h; retry after")));
  auto why = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(why.has_value());
  EXPECT_EQ(why->kind, QuotaExceeded::Kind::kRate);
  EXPECT_EQ(why->key, "tenant-a");
  // One run back every 20 minutes; the first was taken moments ago.
  ASSERT_TRUE(why->retry_after.has_value());
  EXPECT_GT(*why->retry_after, absl::Minutes(19));
  EXPECT_LE(*why->retry_after, absl::Minutes(20));

  absl::StatusOr<QuotaKeyStats> a = s.KeyStats("tenant-a");
  ASSERT_THAT(a, IsOk());
  EXPECT_EQ(a->used, 3);
  EXPECT_EQ(a->remaining, 0);
  EXPECT_EQ(a->rejected, 1u);
  EXPECT_EQ(s.Stats().quota_rejected, 1u);

  absl::MutexLock lock(&mu);
  int started = 0;
  int refusals = 0;
  for (const SandboxEvent& e : events) {
    EXPECT_FALSE(e.quota_key.empty()) << ToString(e);
    if (e.kind == SandboxEvent::Kind::kStarted) ++started;
    if (e.kind == SandboxEvent::Kind::kQuotaExceeded) {
      ++refusals;
      EXPECT_EQ(e.run_id, "a4");
      EXPECT_EQ(e.quota_key, "tenant-a");
    }
  }
  EXPECT_EQ(started, 4) << "the refused run started";
  EXPECT_EQ(refusals, 1);
}

}  // namespace
}  // namespace procsandbox
