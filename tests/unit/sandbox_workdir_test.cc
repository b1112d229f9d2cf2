// Sandbox: working directories (made in a real temporary root: the layer's
// own file system work), events, and Launch() for stdio servers, with
// programs on the in-memory manager.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"
#include "sandbox/workdir.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::EventLog;
using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
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
  policy.workdir.remove_in_background = false;
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(seen_cwd_, StartsWith(root_ + "/run-"));
  EXPECT_EQ(seen_cwd_, r->workdir);
  EXPECT_EQ(seen_mode_, 0700u);
  EXPECT_EQ(seen_tmpdir_, seen_cwd_ + "/tmp");
  EXPECT_EQ(seen_home_, seen_cwd_);
  EXPECT_FALSE(r->workdir_kept);
  EXPECT_EQ(r->cleanup, WorkdirCleanup::kRemoved);
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

// What a program leaves is removed by the listing's types without
// following a link out of the directory: files, links to a directory and
// to a file outside, a FIFO, empty and nested directories.
TEST_F(SandboxWorkdirTest, RemovalTakesEveryKindOfEntryAndFollowsNoLink) {
  const std::string outside = root_ + "-outside";
  ASSERT_TRUE(fs::create_directory(outside));
  {
    std::FILE* f = std::fopen((outside + "/keep").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  absl::StatusOr<std::unique_ptr<sandbox_internal::Workdir>> dir =
      sandbox_internal::Workdir::Create(root_);
  ASSERT_THAT(dir, IsOk());
  const std::string base = (*dir)->path();
  fs::create_directories(base + "/log/a/b/c");
  fs::create_directory(base + "/empty");
  for (const std::string& file : {base + "/f", base + "/log/a/b/g"}) {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  fs::create_directory_symlink(outside, base + "/to-dir");
  fs::create_directory_symlink(outside, base + "/tmp/to-dir");
  fs::create_symlink(outside + "/keep", base + "/log/to-file");
  fs::create_symlink(base + "/missing", base + "/dangling");
  ASSERT_EQ(mkfifo((base + "/tmp/fifo").c_str(), 0600), 0);

  EXPECT_THAT((*dir)->Remove(absl::Seconds(10)), IsOk());
  EXPECT_FALSE(fs::exists(fs::symlink_status(base)));
  EXPECT_TRUE(fs::exists(outside + "/keep"));
  fs::remove_all(outside);
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
  policy.workdir.remove_in_background = false;
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
  policy.workdir.remove_in_background = false;
  Sandbox sandbox(rig_.fake, policy);
  RunRequest request = Request("where");
  request.id = "r1";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->cleanup_status, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                          HasSubstr(r->workdir)));
  EXPECT_TRUE(r->workdir_kept);
  EXPECT_EQ(r->cleanup, WorkdirCleanup::kFailed);
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
  // verify_failed: it ended before its limits could be read back.
  EXPECT_THAT(kinds, ElementsAre("queued", "started", "limit_applied",
                                 "verify_failed", "exited"));
  EXPECT_THAT(events_[1].detail, HasSubstr("/usr/bin/where"));
  EXPECT_THAT(events_[3].detail,
              HasSubstr("ended before it could be verified"));
  EXPECT_EQ(events_[4].detail, "exited 0 in 0s");
}

TEST_F(SandboxWorkdirTest, LaunchDrivesAStdioServerAndHoldsItsSlot) {
  rig_.Program("/usr/bin/server", [](FakeProcess& p) {
    while (std::optional<std::string> line = p.ReadLine()) {
      p.WriteStdout(absl::StrCat("{\"echo\":\"", *line, "\"}\n"));
    }
    return 0;
  });
  SandboxPolicy policy = Policy();
  policy.workdir.remove_in_background = false;
  Sandbox sandbox(rig_.fake, policy);
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

// --- Removal in the background (WorkdirPolicy::remove_in_background)

bool GoneWithin(const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (fs::exists(path)) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST_F(SandboxWorkdirTest, BackgroundRemovalIsTheDefault) {
  EXPECT_TRUE(WorkdirPolicy{}.remove_in_background);
  EXPECT_EQ(WorkdirCleanupName(WorkdirCleanup::kPending), "pending");
  EXPECT_EQ(WorkdirCleanupName(WorkdirCleanup::kNone), "none");
  EXPECT_EQ(WorkdirCleanupName(WorkdirCleanup::kRemoved), "removed");
  EXPECT_EQ(WorkdirCleanupName(WorkdirCleanup::kKept), "kept");
  EXPECT_EQ(WorkdirCleanupName(WorkdirCleanup::kFailed), "failed");
}

TEST_F(SandboxWorkdirTest, BackgroundRemovalRemovesTheDirectoryAfterRun) {
  rig_.Program("/usr/bin/writer", [](FakeProcess& p) {
    // Real files in the real directory, for the cleaner to take away.
    fs::create_directories(p.working_dir() + "/tmp/a/b");
    std::FILE* f = std::fopen((p.working_dir() + "/tmp/a/b/f").c_str(), "w");
    if (f == nullptr) return 1;
    std::fclose(f);
    return 0;
  });
  EventLog log;
  SandboxPolicy policy = Policy();
  policy.on_event = log.Sink();
  std::string workdir;
  {
    Sandbox sandbox(rig_.fake, policy);
    absl::StatusOr<SandboxResult> r = sandbox.Run(Request("writer"));
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->status, SandboxStatus::kCompleted);
    EXPECT_EQ(r->cleanup, WorkdirCleanup::kPending);
    EXPECT_FALSE(r->workdir_kept);
    EXPECT_THAT(r->cleanup_status, IsOk());
    EXPECT_THAT(r->workdir, StartsWith(root_ + "/run-"));
    workdir = r->workdir;
    // Removed while the sandbox lives on, without anyone asking.
    EXPECT_TRUE(GoneWithin(workdir, absl::Seconds(30))) << workdir;
    absl::StatusOr<SandboxResult> again = sandbox.Run(Request("writer"));
    ASSERT_THAT(again, IsOk());
    EXPECT_NE(again->workdir, workdir);
  }
  // ~Sandbox waited for the second one.
  EXPECT_TRUE(fs::is_empty(root_));
  for (const SandboxEvent& e : log.events()) {
    EXPECT_NE(e.kind, SandboxEvent::Kind::kCleanupFailed) << e;
  }
}

TEST_F(SandboxWorkdirTest, TheDestructorWaitsForPendingRemovals) {
  rig_.Program("/usr/bin/many", [](FakeProcess& p) {
    // Enough files that removal takes a while.
    const std::string dir = p.working_dir() + "/tmp/many";
    fs::create_directories(dir);
    for (int i = 0; i < 300; ++i) {
      std::FILE* f = std::fopen((dir + "/" + std::to_string(i)).c_str(), "w");
      if (f == nullptr) return 1;
      std::fclose(f);
    }
    return 0;
  });
  std::vector<std::string> dirs;
  {
    Sandbox sandbox(rig_.fake, Policy());
    for (int i = 0; i < 8; ++i) {
      absl::StatusOr<SandboxResult> r = sandbox.Run(Request("many"));
      ASSERT_THAT(r, IsOk());
      ASSERT_EQ(r->status, SandboxStatus::kCompleted);
      // Pending, or removed in place when the backlog was full.
      EXPECT_THAT(r->cleanup, ::testing::AnyOf(WorkdirCleanup::kPending,
                                               WorkdirCleanup::kRemoved));
      dirs.push_back(r->workdir);
    }
  }
  for (const std::string& dir : dirs) EXPECT_FALSE(fs::exists(dir)) << dir;
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(SandboxWorkdirTest, AFailedBackgroundRemovalEmitsCleanupFailed) {
  EventLog log;
  SandboxPolicy policy = Policy();
  policy.on_event = log.Sink();
  policy.workdir.removal_timeout = absl::ZeroDuration();  // gives up at once
  // A secret whose value is in the directory's path: redacted in the event.
  const std::string secret = fs::path(root_).filename().string();
  std::string workdir;
  {
    Sandbox sandbox(rig_.fake, policy);
    RunRequest request = Request("where");
    request.id = "r1";
    ASSERT_THAT(request.env.SetSecret("TOKEN", secret), IsOk());
    absl::StatusOr<SandboxResult> r = sandbox.Run(request);
    ASSERT_THAT(r, IsOk());
    // The result was made before the removal was tried.
    EXPECT_EQ(r->cleanup, WorkdirCleanup::kPending);
    EXPECT_THAT(r->cleanup_status, IsOk());
    EXPECT_FALSE(r->workdir_kept);
    // The result shows the path as every text: redacted.
    EXPECT_THAT(r->workdir, HasSubstr("<redacted>"));
    EXPECT_THAT(r->workdir, ::testing::Not(HasSubstr(secret)));
    workdir = seen_cwd_;
  }
  std::vector<SandboxEvent> events = log.events();
  ASSERT_FALSE(events.empty());
  const SandboxEvent& last = events.back();
  EXPECT_EQ(last.kind, SandboxEvent::Kind::kCleanupFailed);
  EXPECT_EQ(last.run_id, "r1");
  EXPECT_THAT(last.detail, HasSubstr("gave up at the time limit"));
  EXPECT_THAT(last.detail, HasSubstr("<redacted>"));
  EXPECT_THAT(last.detail, ::testing::Not(HasSubstr(secret)));
  // Not removed, and not leaked silently: kept, and reported.
  EXPECT_TRUE(fs::is_directory(workdir + "/log"));
  keep_ = true;
}

TEST_F(SandboxWorkdirTest, KeepOnFailureStillKeepsInTheBackgroundMode) {
  SandboxPolicy policy = Policy();
  policy.workdir.keep_on_failure = true;
  std::string kept, removed;
  {
    Sandbox sandbox(rig_.fake, policy);
    absl::StatusOr<SandboxResult> failed = sandbox.Run(Request("where", {"x"}));
    ASSERT_THAT(failed, IsOk());
    EXPECT_EQ(failed->status, SandboxStatus::kFailed);
    EXPECT_EQ(failed->cleanup, WorkdirCleanup::kKept);
    EXPECT_TRUE(failed->workdir_kept);
    kept = failed->workdir;
    absl::StatusOr<SandboxResult> ok = sandbox.Run(Request("where"));
    ASSERT_THAT(ok, IsOk());
    EXPECT_EQ(ok->cleanup, WorkdirCleanup::kPending);
    removed = ok->workdir;
  }
  EXPECT_TRUE(fs::is_directory(kept + "/log"));
  EXPECT_FALSE(fs::exists(removed));
  keep_ = true;
}

TEST_F(SandboxWorkdirTest, LaunchedProcessFinishedInTheBackgroundMode) {
  rig_.Program("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine()) {
    }
    return 0;
  });
  std::string workdir;
  {
    Sandbox sandbox(rig_.fake, Policy());
    absl::StatusOr<std::unique_ptr<SandboxProcess>> server =
        sandbox.Launch(Request("server"));
    ASSERT_THAT(server, IsOk());
    absl::StatusOr<SandboxResult> r = (*server)->Finish();
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->cleanup, WorkdirCleanup::kPending);
    workdir = r->workdir;
  }
  EXPECT_FALSE(fs::exists(workdir));
}

TEST_F(SandboxWorkdirTest, AProcessFinishedAfterItsSandboxRemovesItsOwn) {
  rig_.Program("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine()) {
    }
    return 0;
  });
  std::unique_ptr<SandboxProcess> server;
  {
    Sandbox sandbox(rig_.fake, Policy());
    absl::StatusOr<std::unique_ptr<SandboxProcess>> launched =
        sandbox.Launch(Request("server"));
    ASSERT_THAT(launched, IsOk());
    server = *std::move(launched);
  }
  // The cleaner is gone with the Sandbox: Finish() removes it in place.
  absl::StatusOr<SandboxResult> r = server->Finish();
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->cleanup, WorkdirCleanup::kRemoved);
  EXPECT_FALSE(fs::exists(r->workdir));
}

TEST_F(SandboxWorkdirTest, SynchronousModeReportsInTheResult) {
  SandboxPolicy policy = Policy();
  policy.workdir.remove_in_background = false;
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->cleanup, WorkdirCleanup::kRemoved);
  EXPECT_FALSE(fs::exists(r->workdir));
  // Without a root there is nothing to clean.
  rig_.Program("/usr/bin/ok", [](FakeProcess&) { return 0; });
  Sandbox no_root(rig_.fake, rig_.Policy());
  absl::StatusOr<SandboxResult> none = no_root.Run(Request("ok"));
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(none->cleanup, WorkdirCleanup::kNone);
  EXPECT_EQ(none->workdir, "");
}

TEST_F(SandboxWorkdirTest, TheCleanerRefusesWhenFullOrShutDown) {
  absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> dir =
      sandbox_internal::Workdir::Create(root_);
  ASSERT_THAT(dir, IsOk());
  {
    sandbox_internal::WorkdirCleaner full(absl::Seconds(10), 0);
    EXPECT_FALSE(full.Submit(*dir, nullptr));
    ASSERT_NE(*dir, nullptr);  // left with the caller
  }
  sandbox_internal::WorkdirCleaner cleaner(absl::Seconds(10), 4);
  const std::string path = (*dir)->path();
  EXPECT_TRUE(cleaner.Submit(*dir, nullptr));
  EXPECT_EQ(*dir, nullptr);
  cleaner.Shutdown();
  EXPECT_EQ(cleaner.pending(), 0u);
  EXPECT_FALSE(fs::exists(path));
  absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> late =
      sandbox_internal::Workdir::Create(root_);
  ASSERT_THAT(late, IsOk());
  EXPECT_FALSE(cleaner.Submit(*late, nullptr));
  ASSERT_NE(*late, nullptr);
  EXPECT_THAT((*late)->Remove(absl::Seconds(10)), IsOk());
}

// --- Directories made ahead of time (spares)

// The run-* entries directly under `root`.
std::set<std::string> RunDirs(const std::string& root) {
  std::set<std::string> out;
  for (const fs::directory_entry& e : fs::directory_iterator(root)) {
    if (absl::StartsWith(e.path().filename().string(), "run-")) {
      out.insert(e.path().string());
    }
  }
  return out;
}

bool SparesWithin(const sandbox_internal::WorkdirCleaner& cleaner,
                  std::size_t n, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (cleaner.spares() < n) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

TEST_F(SandboxWorkdirTest, ARunUsesADirectoryMadeAheadOfTime) {
  Sandbox sandbox(rig_.fake, Policy());
  absl::StatusOr<SandboxResult> first = sandbox.Run(Request("where"));
  ASSERT_THAT(first, IsOk());
  // Wait until the first run's directory is gone and spares (complete:
  // with tmp/ and log/) are there.
  ASSERT_TRUE(GoneWithin(first->workdir, absl::Seconds(30)));
  std::set<std::string> before;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    before = RunDirs(root_);
    std::size_t complete = 0;
    for (const std::string& dir : before) {
      if (fs::exists(dir + "/tmp") && fs::exists(dir + "/log")) ++complete;
    }
    if (complete >= 2) break;
    ASSERT_LT(absl::Now(), deadline);
    absl::SleepFor(absl::Milliseconds(1));
  }
  absl::SleepFor(absl::Milliseconds(20));  // handed to the pool
  absl::StatusOr<SandboxResult> second = sandbox.Run(Request("where"));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->status, SandboxStatus::kCompleted);
  EXPECT_EQ(seen_cwd_, second->workdir);
  EXPECT_EQ(seen_mode_, 0700u);
  EXPECT_EQ(seen_tmpdir_, seen_cwd_ + "/tmp");
  // The run's directory existed before the run.
  EXPECT_EQ(before.count(second->workdir), 1u) << second->workdir;
  // TearDown: ~Sandbox removed the unused spares too.
}

TEST_F(SandboxWorkdirTest, TheDestructorRemovesUnusedSpares) {
  {
    Sandbox sandbox(rig_.fake, Policy());
    ASSERT_THAT(sandbox.Run(Request("where")), IsOk());
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (RunDirs(root_).size() < 3) {
      ASSERT_LT(absl::Now(), deadline);
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(SandboxWorkdirTest, TheSynchronousModeMakesNoSpares) {
  SandboxPolicy policy = Policy();
  policy.workdir.remove_in_background = false;
  Sandbox sandbox(rig_.fake, policy);
  ASSERT_THAT(sandbox.Run(Request("where")), IsOk());
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(SandboxWorkdirTest, ATamperedSpareIsNotUsed) {
  struct Tamper {
    const char* what;
    std::function<void(const std::string& spare)> apply;
  };
  const std::string elsewhere = root_ + "/elsewhere";
  const std::vector<Tamper> tampers = {
      {"extra file",
       [](const std::string& spare) {
         std::FILE* f = std::fopen((spare + "/extra").c_str(), "w");
         ASSERT_NE(f, nullptr);
         std::fclose(f);
       }},
      {"file in tmp/",
       [](const std::string& spare) {
         std::FILE* f = std::fopen((spare + "/tmp/x").c_str(), "w");
         ASSERT_NE(f, nullptr);
         std::fclose(f);
       }},
      {"wrong mode",
       [](const std::string& spare) {
         ASSERT_EQ(chmod(spare.c_str(), 0750), 0);
       }},
      {"wrong mode of log/",
       [](const std::string& spare) {
         ASSERT_EQ(chmod((spare + "/log").c_str(), 0755), 0);
       }},
      {"tmp/ replaced by a symlink",
       [](const std::string& spare) {
         ASSERT_EQ(rmdir((spare + "/tmp").c_str()), 0);
         ASSERT_EQ(symlink("/tmp", (spare + "/tmp").c_str()), 0);
       }},
      {"replaced by a symlink to a look-alike",
       [&elsewhere](const std::string& spare) {
         // The look-alike is the very directory, moved: pristine inside.
         ASSERT_EQ(rename(spare.c_str(), elsewhere.c_str()), 0);
         ASSERT_EQ(symlink(elsewhere.c_str(), spare.c_str()), 0);
       }},
      {"replaced by a look-alike directory",
       [](const std::string& spare) {
         fs::remove_all(spare);
         for (const std::string& d : {spare, spare + "/tmp", spare + "/log"}) {
           ASSERT_EQ(mkdir(d.c_str(), 0700), 0);
           ASSERT_EQ(chmod(d.c_str(), 0700), 0);
         }
       }},
  };
  for (const Tamper& tamper : tampers) {
    SCOPED_TRACE(tamper.what);
    sandbox_internal::WorkdirCleaner cleaner(absl::Seconds(10), 16, root_, 1);
    absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> first =
        cleaner.Take();
    ASSERT_THAT(first, IsOk());
    ASSERT_TRUE(SparesWithin(cleaner, 1, absl::Seconds(30)));
    std::set<std::string> dirs = RunDirs(root_);
    dirs.erase((*first)->path());
    ASSERT_EQ(dirs.size(), 1u);
    const std::string spare = *dirs.begin();
    tamper.apply(spare);
    absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> second =
        cleaner.Take();
    ASSERT_THAT(second, IsOk());
    EXPECT_NE((*second)->path(), spare);
    EXPECT_EQ(cleaner.discarded(), 1u);
    EXPECT_EQ(ModeOf((*second)->path()), 0700u);
    EXPECT_TRUE(fs::is_empty((*second)->path() + "/tmp"));
    cleaner.Shutdown();
    EXPECT_EQ(cleaner.spares(), 0u);
    EXPECT_THAT((*first)->Remove(absl::Seconds(10)), IsOk());
    EXPECT_THAT((*second)->Remove(absl::Seconds(10)), IsOk());
    // The discarded spare (a symlink: the link, never its target) and the
    // new one made after the take are gone.
    EXPECT_FALSE(fs::exists(fs::symlink_status(spare))) << spare;
    EXPECT_TRUE(fs::exists("/tmp"));
    fs::remove_all(elsewhere);
    EXPECT_TRUE(fs::is_empty(root_));
  }
}

TEST_F(SandboxWorkdirTest, ARootTurnedUnsafeIsRefusedDespiteSpares) {
  sandbox_internal::WorkdirCleaner cleaner(absl::Seconds(10), 16, root_, 2);
  absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> first =
      cleaner.Take();
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(SparesWithin(cleaner, 2, absl::Seconds(30)));
  ASSERT_EQ(chmod(root_.c_str(), 0770), 0);
  absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> refused =
      cleaner.Take();
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kPermissionDenied,
                                HasSubstr("mode 0770")));
  EXPECT_EQ(cleaner.spares(), 2u);  // untouched
  ASSERT_EQ(chmod(root_.c_str(), 0700), 0);
  absl::StatusOr<std::unique_ptr<WorkdirProvider::Directory>> again =
      cleaner.Take();
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(cleaner.discarded(), 0u);
  cleaner.Shutdown();
  EXPECT_THAT((*first)->Remove(absl::Seconds(10)), IsOk());
  EXPECT_THAT((*again)->Remove(absl::Seconds(10)), IsOk());
  EXPECT_TRUE(fs::is_empty(root_));
}

// set_home/set_tmpdir replace values inherited from the host.
TEST_F(SandboxWorkdirTest, SetHomeAndTmpdirReplaceTheHostsValues) {
  SandboxPolicy policy = Policy();
  policy.environment.mode = EnvironmentPolicy::Mode::kInheritExceptDenied;
  policy.environment.host =
      Environment{{"HOME", "/home/host"}, {"TMPDIR", "/tmp"}};
  policy.workdir.set_home = true;
  policy.workdir.set_tmpdir = true;
  Sandbox sandbox(rig_.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(seen_home_, r->workdir) << "HOME was not the run's directory";
  EXPECT_EQ(seen_tmpdir_, absl::StrCat(r->workdir, "/tmp"))
      << "TMPDIR was not the run's tmp/";
}

// HOME set by the request itself still wins over set_home.
TEST_F(SandboxWorkdirTest, HomeSetByTheRequestWinsOverSetHome) {
  SandboxPolicy policy = Policy();
  policy.environment.mode = EnvironmentPolicy::Mode::kInheritExceptDenied;
  policy.environment.host = Environment{{"HOME", "/home/host"}};
  policy.workdir.set_home = true;
  Sandbox sandbox(rig_.fake, policy);
  RunRequest request = Request("where");
  ASSERT_THAT(request.env.Set("HOME", "/custom"), IsOk());
  ASSERT_THAT(sandbox.Run(request), IsOk());
  EXPECT_EQ(seen_home_, "/custom");
}

}  // namespace
}  // namespace procsandbox
