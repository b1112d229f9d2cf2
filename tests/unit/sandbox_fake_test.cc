// Sandbox over the in-memory manager as a downstream test suite uses it:
// programs registered once (with the fake), working directories in memory
// (MemoryWorkdirProvider), waiting for removals (WaitForCleanup), the
// queue's waiting runs seen by the fake (WaitIdle, auto-advance), and what
// QueueStats::running counts.
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::EventLog;
using ::procsandbox::sandbox_test::Request;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A policy as a downstream test writes it: no resolver (the fake's
// registrations are the programs), no host environment.
SandboxPolicy FakePolicy() {
  SandboxPolicy policy;
  policy.environment.host = Environment{};
  return policy;
}

RunRequest Named(std::string id, std::string program) {
  RunRequest r = Request(std::move(program));
  r.id = std::move(id);
  return r;
}

TEST(SandboxFakeTest, ProgramsRegisteredWithTheFakeRunWithoutAResolver) {
  MemoryManager fake;
  fake.Register("/usr/bin/tool", [](FakeProcess& p) {
    p.WriteStdout(p.argv()[0] + "\n");
    return 0;
  });
  Sandbox sandbox(fake, FakePolicy());
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("tool"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, SandboxStatus::kCompleted);
  EXPECT_EQ(r->program_path, "/usr/bin/tool");
  EXPECT_EQ(r->stdout_, "/usr/bin/tool\n");
  EXPECT_NE(sandbox.policy().programs.resolver, nullptr);
}

TEST(SandboxFakeTest, TheFakesResolverSeesLaterRegistrations) {
  MemoryManager fake;
  Sandbox sandbox(fake, FakePolicy());
  EXPECT_THAT(
      sandbox.Run(Request("late")),
      StatusIs(absl::StatusCode::kNotFound, HasSubstr("not found on PATH")));
  fake.Register("/bin/late", [](FakeProcess&) { return 3; });
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("late"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->program_path, "/bin/late");
  EXPECT_EQ(r->outcome.exit_code, 3);
}

TEST(SandboxFakeTest, TheFakesResolverReportsWhatWasRegistered) {
  MemoryManager fake;
  fake.RegisterNotExecutable("/usr/bin/data");
  fake.RegisterStartError("/usr/bin/broken",
                          absl::ResourceExhaustedError("no more pids"));
  fake.Register("bare", [](FakeProcess&) { return 0; });
  std::shared_ptr<const ProgramResolver> resolver = MemoryProgramResolver(fake);
  absl::StatusOr<ProgramFile> data =
      resolver->Resolve("data", "/usr/local/bin:/usr/bin");
  ASSERT_THAT(data, IsOk());
  EXPECT_EQ(data->path, "/usr/bin/data");
  EXPECT_FALSE(data->executable);
  EXPECT_EQ(data->mode, 0644u);
  absl::StatusOr<ProgramFile> broken = resolver->Resolve("/usr/bin/broken", "");
  ASSERT_THAT(broken, IsOk());
  EXPECT_TRUE(broken->executable);
  EXPECT_THAT(resolver->Resolve("bare", "/usr/bin"),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("register a path such as \"/usr/bin/bare\"")));
  EXPECT_THAT(resolver->Resolve("rel/x", "/usr/bin"),
              StatusIs(absl::StatusCode::kInvalidArgument));

  Sandbox sandbox(fake, FakePolicy());
  EXPECT_THAT(sandbox.Run(Request("data")),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("not a regular executable")));
  EXPECT_THAT(sandbox.Run(Request("broken")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("no more pids")));
}

// --- Working directories in memory -------------------------------------------

struct MemoryDirs {
  MemoryManager fake;
  std::shared_ptr<MemoryWorkdirProvider> dirs =
      std::make_shared<MemoryWorkdirProvider>();
  EventLog events;
  std::string seen_cwd, seen_tmpdir;

  MemoryDirs() {
    fake.Register("/usr/bin/where", [this](FakeProcess& p) {
      seen_cwd = p.working_dir();
      seen_tmpdir = p.env().Get("TMPDIR").value_or("");
      return 0;
    });
    fake.Register("/usr/bin/fail", [](FakeProcess&) { return 1; });
  }
  SandboxPolicy Policy(bool background = true) {
    SandboxPolicy policy = FakePolicy();
    policy.workdir.root = "/runs/";
    policy.workdir.provider = dirs;
    policy.workdir.remove_in_background = background;
    policy.on_event = events.Sink();
    return policy;
  }
};

TEST(SandboxFakeTest, AMemoryProviderHandsOutFreshPathsAndRecordsRemovals) {
  MemoryDirs m;
  Sandbox sandbox(m.fake, m.Policy());
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(m.seen_cwd, "/runs/run-1");
  EXPECT_EQ(m.seen_tmpdir, "/runs/run-1/tmp");
  EXPECT_EQ(r->workdir, "/runs/run-1");
  EXPECT_EQ(r->cleanup, WorkdirCleanup::kPending);
  ASSERT_THAT(sandbox.Run(Request("where")), IsOk());
  EXPECT_EQ(m.seen_cwd, "/runs/run-2");
  // The removals are waited for without destroying the Sandbox.
  ASSERT_THAT(sandbox.WaitForCleanup(absl::Seconds(10)), IsOk());
  EXPECT_THAT(m.dirs->created(), ElementsAre("/runs/run-1", "/runs/run-2"));
  EXPECT_THAT(m.dirs->removed(), ElementsAre("/runs/run-1", "/runs/run-2"));
  EXPECT_THAT(m.dirs->present(), IsEmpty());
}

TEST(SandboxFakeTest, AMemoryProviderMakesTheRequestsWorkingDir) {
  MemoryDirs m;
  Sandbox sandbox(m.fake, m.Policy(/*background=*/false));
  RunRequest request = Request("where");
  request.working_dir = "src/./lib";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(m.seen_cwd, "/runs/run-1/src/lib");
  EXPECT_EQ(r->cleanup, WorkdirCleanup::kRemoved);
  EXPECT_THAT(m.dirs->subdirectories(), ElementsAre("/runs/run-1/src/lib"));
  request.working_dir = "../escape";
  absl::StatusOr<SandboxResult> refused = sandbox.Run(request);
  ASSERT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      GetSecurityViolation(refused.status()),
      ::testing::Optional(::testing::Field(
          &SecurityViolation::kind, SecurityViolation::Kind::kPathTraversal)));
}

TEST(SandboxFakeTest, AMemoryProviderFailsWhenToldTo) {
  MemoryDirs m;
  Sandbox sandbox(m.fake, m.Policy(/*background=*/false));
  m.dirs->FailCreate(absl::UnavailableError("disk gone"));
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  EXPECT_THAT(r,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("disk gone")));
  EXPECT_EQ(StatusOf(r), SandboxStatus::kError);
  EXPECT_TRUE(m.fake.History().empty());  // nothing started

  m.dirs->FailRemove(absl::PermissionDeniedError("busy"));
  absl::StatusOr<SandboxResult> kept = sandbox.Run(Request("where"));
  ASSERT_THAT(kept, IsOk());
  EXPECT_EQ(kept->cleanup, WorkdirCleanup::kFailed);
  EXPECT_THAT(kept->cleanup_status,
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(m.dirs->present(), ElementsAre("/runs/run-1"));
}

TEST(SandboxFakeTest, WaitForCleanupWaitsForAFailedBackgroundRemoval) {
  MemoryDirs m;
  Sandbox sandbox(m.fake, m.Policy());
  m.dirs->FailRemove(absl::PermissionDeniedError("busy"));
  ASSERT_THAT(sandbox.Run(Request("where")), IsOk());
  ASSERT_THAT(sandbox.WaitForCleanup(absl::Seconds(10)), IsOk());
  // Its kCleanupFailed event was sent before WaitForCleanup returned.
  EXPECT_THAT(m.events.AllText(), HasSubstr("cleanup_failed: busy"));
  EXPECT_THAT(m.dirs->present(), ElementsAre("/runs/run-1"));
}

// A provider whose removals wait for the test: what is pending can be seen.
class GatedProvider : public WorkdirProvider {
 public:
  absl::StatusOr<std::unique_ptr<Directory>> Create(
      const std::string& root) override {
    return std::make_unique<Gated>(this, root + "/only");
  }
  absl::Notification open;
  std::function<void()> on_remove;

 private:
  class Gated : public Directory {
   public:
    Gated(GatedProvider* owner, std::string path)
        : owner_(owner), path_(std::move(path)) {}
    const std::string& path() const override { return path_; }
    absl::StatusOr<std::string> Subdirectory(absl::string_view) override {
      return path_;
    }
    absl::Status Remove(absl::Duration) override {
      if (owner_->on_remove) owner_->on_remove();
      owner_->open.WaitForNotification();
      return absl::OkStatus();
    }

   private:
    GatedProvider* owner_;
    std::string path_;
  };
};

TEST(SandboxFakeTest, WaitForCleanupNamesWhatIsStillPending) {
  MemoryManager fake;
  fake.Register("/usr/bin/quick", [](FakeProcess&) { return 0; });
  auto gated = std::make_shared<GatedProvider>();
  SandboxPolicy policy = FakePolicy();
  policy.workdir.root = "/runs";
  policy.workdir.provider = gated;
  Sandbox sandbox(fake, policy);
  ASSERT_THAT(sandbox.Run(Request("quick")), IsOk());
  EXPECT_THAT(sandbox.WaitForCleanup(absl::ZeroDuration()),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       HasSubstr("1 still pending")));
  gated->open.Notify();
  EXPECT_THAT(sandbox.WaitForCleanup(absl::Seconds(10)), IsOk());
}

// --- QueueStats::running
// --------------------------------------------------------

TEST(SandboxFakeTest, RunningCountsASynchronousRemoval) {
  MemoryManager fake;
  fake.Register("/usr/bin/quick", [](FakeProcess&) { return 0; });
  auto gated = std::make_shared<GatedProvider>();
  gated->open.Notify();
  SandboxPolicy policy = FakePolicy();
  policy.workdir.root = "/runs";
  policy.workdir.provider = gated;
  policy.workdir.remove_in_background = false;
  Sandbox sandbox(fake, policy);
  std::optional<QueueStats> during;
  gated->on_remove = [&] { during = sandbox.Stats(); };
  ASSERT_THAT(sandbox.Run(Request("quick")), IsOk());
  ASSERT_TRUE(during.has_value());
  EXPECT_EQ(during->running, 1u);
  EXPECT_EQ(during->completed, 0u);
  EXPECT_EQ(sandbox.Stats().running, 0u);
  EXPECT_EQ(sandbox.Stats().completed, 1u);
}

TEST(SandboxFakeTest, RunningCountsALaunchedProcessUntilFinish) {
  MemoryManager fake;
  fake.Register("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine().has_value()) {
    }
    return 0;
  });
  Sandbox sandbox(fake, FakePolicy());
  absl::StatusOr<std::unique_ptr<SandboxProcess>> server =
      sandbox.Launch(Request("server"));
  ASSERT_THAT(server, IsOk());
  EXPECT_EQ(sandbox.Stats().running, 1u);
  ASSERT_THAT((*server)->process().CloseStdin(), IsOk());
  ASSERT_THAT((*server)->process().Wait(), IsOk());
  // The program ended; the slot is the SandboxProcess's until Finish().
  EXPECT_EQ(sandbox.Stats().running, 1u);
  ASSERT_THAT((*server)->Finish(), IsOk());
  EXPECT_EQ(sandbox.Stats().running, 0u);
}

// --- The queue's waiting runs, seen by the fake
// ----------------------------------

// A one-slot sandbox whose slot a launched process holds, and whose clock
// auto-advances: a queued run is the only host thread, waiting in the
// queue. The fake counts it as a waiting host and its queue deadline as a
// clock event, so it times out at once, in virtual time.
TEST(SandboxFakeTest, AQueuedRunTimesOutInVirtualTimeWithAutoAdvance) {
  MemoryManager fake;
  fake.Register("/usr/bin/sleeper", [](FakeProcess& p) {
    p.Sleep(absl::Hours(1));
    return 0;
  });
  SandboxPolicy policy = FakePolicy();
  policy.queue.max_concurrent = 1;
  Sandbox sandbox(fake, policy);
  absl::StatusOr<std::unique_ptr<SandboxProcess>> holder =
      sandbox.Launch(Request("sleeper"));
  ASSERT_THAT(holder, IsOk());
  const absl::Time t0 = fake.Now();
  RunRequest queued = Request("sleeper");
  queued.queue_timeout = absl::Minutes(1);
  EXPECT_THAT(sandbox.Run(queued), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                            HasSubstr("queue timeout of 1m")));
  EXPECT_EQ(fake.Now(), t0 + absl::Minutes(1));
  ASSERT_THAT((*holder)->Finish(absl::ZeroDuration()), IsOk());
}

// The downstream pattern without polling: each WaitIdle names the host
// threads the test expects parked (in Wait() or in the queue).
TEST(SandboxFakeTest, WaitIdleSeesRunsQueuedAndRunning) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  fake.Register("/usr/bin/sleeper", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(10));
    return 0;
  });
  SandboxPolicy policy = FakePolicy();
  policy.queue.max_concurrent = 1;
  Sandbox sandbox(fake, policy);
  std::optional<absl::StatusOr<SandboxResult>> ra, rb;
  std::thread ta([&] { ra = sandbox.Run(Named("a", "sleeper")); });
  ASSERT_THAT(fake.WaitIdle(1), IsOk());  // "a" runs, its thread in Wait()
  std::thread tb([&] { rb = sandbox.Run(Named("b", "sleeper")); });
  ASSERT_THAT(fake.WaitIdle(2), IsOk());  // "b" queued behind it
  EXPECT_THAT(sandbox.Position("a"), IsOkAndHolds(0u));
  EXPECT_THAT(sandbox.Position("b"), IsOkAndHolds(1u));
  EXPECT_EQ(sandbox.Stats().running, 1u);
  EXPECT_EQ(sandbox.Stats().pending, 1u);
  ASSERT_THAT(fake.clock().Advance(absl::Seconds(10)), IsOk());
  ta.join();
  // "a" ended; "b" took the slot and waits for its program.
  ASSERT_THAT(fake.WaitIdle(1), IsOk());
  EXPECT_THAT(sandbox.Position("b"), IsOkAndHolds(0u));
  EXPECT_EQ(fake.History().size(), 2u);
  ASSERT_THAT(fake.clock().Advance(absl::Seconds(10)), IsOk());
  tb.join();
  ASSERT_THAT(*ra, IsOk());
  ASSERT_THAT(*rb, IsOk());
  EXPECT_EQ((*rb)->queue_time, absl::Seconds(10));
}

}  // namespace
}  // namespace procsandbox
