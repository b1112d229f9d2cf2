// Sandbox: working directories (made in a real temporary root: the layer's
// own file system work), events, and Launch() for stdio servers, with
// programs on the in-memory manager.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/testing/testing.h"
#include "sandbox/workdir.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox::testing::ExitedWith;
using ::procsandbox::testing::IsOk;
using ::procsandbox::testing::IsOkAndHolds;
using ::procsandbox::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;
namespace fs = std::filesystem;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

class SandboxWorkdirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/procsandbox-sbx-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
    rig_.Program("/usr/bin/where", [this](FakeProcess& p) {
      seen_cwd_ = p.working_dir();
      seen_tmpdir_ = p.env().Get("TMPDIR").value_or("");
      seen_home_ = p.env().Get("HOME").value_or("");
      // The directory exists while the program runs.
      seen_mode_ = ModeOf(seen_cwd_);
      return p.args().empty() ? 0 : 1;
    });
  }
  void TearDown() override {
    // Every run's directory was removed unless a test kept it on purpose.
    if (!keep_) {
      EXPECT_TRUE(fs::is_empty(root_)) << root_;
    }
    fs::remove_all(root_);
  }
  SandboxPolicy Policy() {
    SandboxPolicy policy = rig_.Policy();
    policy.workdir.root = root_;
    policy.on_event = [this](const SandboxEvent& e) { events_.push_back(e); };
    return policy;
  }

  Rig rig_;
  std::string root_;
  bool keep_ = false;
  std::string seen_cwd_, seen_tmpdir_, seen_home_;
  mode_t seen_mode_ = 0;
  std::vector<SandboxEvent> events_;
};

TEST_F(SandboxWorkdirTest, EachRunGetsAFreshPrivateDirectoryRemovedAfter) {
  SandboxPolicy policy = Policy();
  policy.workdir.set_home = true;
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(seen_cwd_, StartsWith(root_ + "/run-"));
  EXPECT_EQ(seen_cwd_, r->workdir);
  EXPECT_EQ(seen_mode_, 0700u);
  EXPECT_EQ(seen_tmpdir_, seen_cwd_ + "/tmp");
  EXPECT_EQ(seen_home_, seen_cwd_);
  EXPECT_FALSE(r->workdir_kept);
  EXPECT_THAT(r->cleanup_status, IsOk());
  EXPECT_FALSE(fs::exists(r->workdir));
  const std::string first = seen_cwd_;
  ASSERT_THAT(sandbox.Run(Request("where")), IsOk());
  EXPECT_NE(seen_cwd_, first);
}

TEST_F(SandboxWorkdirTest, RelativeWorkingDirectoryIsMadeInsideTheRunOne) {
  Sandbox sandbox(rig_.fake, Policy());
  RunRequest request = Request("where");
  request.working_dir = "src/./app/";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(seen_cwd_, r->workdir + "/src/app");
  EXPECT_EQ(seen_mode_, 0700u);
}

TEST_F(SandboxWorkdirTest, EscapingWorkingDirectoryIsPathTraversal) {
  Sandbox sandbox(rig_.fake, Policy());
  for (const char* dir : {"..", "a/../../etc", "/etc", "a/.."}) {
    RunRequest request = Request("where");
    request.working_dir = dir;
    absl::StatusOr<SandboxResult> r = sandbox.Run(request);
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument)) << dir;
    std::optional<SecurityViolation> v = GetSecurityViolation(r.status());
    ASSERT_TRUE(v.has_value()) << dir;
    EXPECT_EQ(v->kind, SecurityViolation::Kind::kPathTraversal);
    EXPECT_EQ(v->subject, dir);
  }
  EXPECT_THAT(rig_.fake.History(), IsEmpty());
}

TEST_F(SandboxWorkdirTest, SymlinkInsideTheRunDirectoryIsPathTraversal) {
  absl::StatusOr<std::unique_ptr<sandbox_internal::Workdir>> dir =
      sandbox_internal::Workdir::Create(root_);
  ASSERT_THAT(dir, IsOk());
  ASSERT_EQ(symlink("/etc", ((*dir)->path() + "/out").c_str()), 0);
  EXPECT_THAT(
      (*dir)->Subdirectory("out/x"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
  EXPECT_THAT((*dir)->Subdirectory("tmp/ok"),
              IsOkAndHolds((*dir)->path() + "/tmp/ok"));
  // Removal removes the link, never what it points to.
  ASSERT_THAT((*dir)->Remove(absl::Seconds(10)), IsOk());
  EXPECT_TRUE(fs::exists("/etc/passwd"));
}

TEST_F(SandboxWorkdirTest, RemovalTakesDirectoriesAProgramMadeUnwritable) {
  absl::StatusOr<std::unique_ptr<sandbox_internal::Workdir>> dir =
      sandbox_internal::Workdir::Create(root_);
  ASSERT_THAT(dir, IsOk());
  const std::string locked = (*dir)->path() + "/tmp/locked";
  fs::create_directories(locked + "/deep");
  {
    std::FILE* f = std::fopen((locked + "/deep/f").c_str(), "w");
    std::fclose(f);
  }
  ASSERT_EQ(chmod((locked + "/deep").c_str(), 0500), 0);
  ASSERT_EQ(chmod(locked.c_str(), 0), 0);
  EXPECT_THAT((*dir)->Remove(absl::Seconds(10)), IsOk());
}

TEST_F(SandboxWorkdirTest, WorkingDirectoryWithoutARootIsRefused) {
  Sandbox sandbox(rig_.fake, rig_.Policy());
  RunRequest request = Request("where");
  request.working_dir = "src";
  EXPECT_THAT(sandbox.Run(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("workdir.root")));
}

TEST_F(SandboxWorkdirTest, SymlinkedRootIsUnsafe) {
  const std::string link = root_ + "-link";
  ASSERT_EQ(symlink(root_.c_str(), link.c_str()), 0);
  SandboxPolicy policy = Policy();
  policy.workdir.root = link;
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  fs::remove(link);
  EXPECT_THAT(
      r, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("symlink")));
  ASSERT_TRUE(GetSecurityViolation(r.status()).has_value());
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kUnsafeRoot);
  EXPECT_EQ(sandbox.Stats().running, 0u);  // the slot was given back
}

TEST_F(SandboxWorkdirTest, GroupWritableRootIsUnsafe) {
  ASSERT_EQ(chmod(root_.c_str(), 0770), 0);
  Sandbox sandbox(rig_.fake, Policy());
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  EXPECT_THAT(
      r, StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("mode 0770")));
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kUnsafeRoot);
}

TEST_F(SandboxWorkdirTest, KeepOnFailureKeepsTheDirectoryOfAFailedRun) {
  SandboxPolicy policy = Policy();
  policy.workdir.keep_on_failure = true;
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> failed = sandbox.Run(Request("where", {"x"}));
  ASSERT_THAT(failed, IsOk());
  EXPECT_EQ(failed->status, SandboxStatus::kFailed);
  EXPECT_TRUE(failed->workdir_kept);
  EXPECT_TRUE(fs::is_directory(failed->workdir + "/log"));
  absl::StatusOr<SandboxResult> ok = sandbox.Run(Request("where"));
  ASSERT_THAT(ok, IsOk());
  EXPECT_FALSE(ok->workdir_kept);
  EXPECT_FALSE(fs::exists(ok->workdir));
  keep_ = true;
}

TEST_F(SandboxWorkdirTest, RemovalPastItsTimeBoundIsReportedNotLeakedSilently) {
  SandboxPolicy policy = Policy();
  policy.workdir.removal_timeout = absl::ZeroDuration();
  Sandbox sandbox(rig_.fake, policy);
  RunRequest request = Request("where");
  request.id = "r1";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->cleanup_status, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                          HasSubstr(r->workdir)));
  EXPECT_TRUE(r->workdir_kept);
  EXPECT_TRUE(fs::exists(r->workdir));
  ASSERT_FALSE(events_.empty());
  EXPECT_EQ(events_.back().kind, SandboxEvent::Kind::kCleanupFailed);
  EXPECT_THAT(ToString(events_.back()),
              StartsWith("r1 cleanup_failed: remove \"" + root_));
  keep_ = true;
}

TEST_F(SandboxWorkdirTest, EventsFollowTheRun) {
  Sandbox sandbox(rig_.fake, Policy());
  RunRequest request = Request("where");
  request.id = "r7";
  ASSERT_THAT(sandbox.Run(request), IsOk());
  std::vector<std::string> kinds;
  for (const SandboxEvent& e : events_) {
    EXPECT_EQ(e.run_id, "r7");
    EXPECT_EQ(e.time, rig_.fake.Now());
    kinds.emplace_back(SandboxEventKindName(e.kind));
  }
  EXPECT_THAT(kinds,
              ElementsAre("queued", "started", "limit_applied", "exited"));
  EXPECT_THAT(events_[1].detail, HasSubstr("/usr/bin/where"));
  EXPECT_EQ(events_[3].detail, "exited 0 in 0s");
}

TEST_F(SandboxWorkdirTest, LaunchDrivesAStdioServerAndHoldsItsSlot) {
  rig_.Program("/usr/bin/server", [](FakeProcess& p) {
    while (std::optional<std::string> line = p.ReadLine()) {
      p.WriteStdout(absl::StrCat("{\"echo\":\"", *line, "\"}\n"));
    }
    return 0;
  });
  Sandbox sandbox(rig_.fake, Policy());
  RunRequest request = Request("server");
  request.id = "mcp";
  absl::StatusOr<std::unique_ptr<SandboxProcess>> server =
      sandbox.Launch(request);
  ASSERT_THAT(server, IsOk());
  EXPECT_EQ((*server)->id(), "mcp");
  EXPECT_THAT(sandbox.Position("mcp"), IsOkAndHolds(0u));
  ASSERT_THAT((*server)->process().Write("ping\n"), IsOk());
  EXPECT_THAT((*server)->process().ReadLine(Stream::kStdout, absl::Seconds(1)),
              IsOkAndHolds("{\"echo\":\"ping\"}"));
  absl::StatusOr<SandboxResult> r = (*server)->Finish();
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExitedWith(0));
  EXPECT_EQ(sandbox.Stats().running, 0u);
  EXPECT_FALSE(fs::exists(r->workdir));
  EXPECT_THAT((*server)->Finish(), IsOk());  // the same result again
}

TEST_F(SandboxWorkdirTest, LaunchRefusesWhatRunRefuses) {
  rig_.Program("/usr/bin/su", [](FakeProcess&) { return 0; });
  Sandbox sandbox(rig_.fake, Policy());
  EXPECT_THAT(sandbox.Launch(Request("su")),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

}  // namespace
}  // namespace procsandbox
