// MemoryManager: Process::Verify() against the fake's own records, and
// limits changed from outside with FakeProcess::AlterLimits().
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/run.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kMiB = int64_t{1} << 20;

// Registers "tool": runs `before` (before its first blocking call, so that
// a Verify() right after Start() sees what it did), then sleeps an hour.
void RegisterTool(MemoryManager& fake,
                  std::function<void(FakeProcess&)> before = nullptr) {
  fake.Register("tool", [before](FakeProcess& p) {
    if (before) before(p);
    p.Sleep(absl::Hours(1));
    return 0;
  });
}

std::shared_ptr<Process> StartTool(MemoryManager& fake, const Limits& limits,
                                   Isolation isolation = {}) {
  Command cmd("tool");
  cmd.limits = limits;
  cmd.isolation = std::move(isolation);
  std::shared_ptr<Process> p = fake.New(cmd);
  EXPECT_THAT(p->Start(), IsOk());
  return p;
}

Limits SomeLimits() {
  Limits limits;
  limits.wall_time = absl::Seconds(10);
  limits.cpu_time = absl::Seconds(5);
  limits.memory_bytes = 64 * kMiB;
  limits.file_size_bytes = 1 * kMiB;
  limits.open_files = 64;
  limits.processes = 16;
  limits.output_bytes = 4 * kMiB;
  limits.cpu_weight = 50;
  return limits;
}

TEST(MemoryVerifyTest, EveryLimitAskedIsCheckedInOrder) {
  MemoryManager fake;
  RegisterTool(fake);
  std::shared_ptr<Process> p = StartTool(fake, SomeLimits());
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v.status(), IsOk());
  EXPECT_EQ(v->time, fake.Now());
  // The limits, then the isolation asked (no_new_privs, on by default).
  const char* items[] = {"wall_time",       "cpu_time",   "memory_bytes",
                         "file_size_bytes", "open_files", "processes",
                         "output_bytes",    "cpu_weight", "no_new_privs"};
  ASSERT_EQ(v->checks.size(), std::size(items));
  for (std::size_t i = 0; i < std::size(items); ++i) {
    EXPECT_EQ(v->checks[i].item, items[i]);
  }
  EXPECT_TRUE(v->ok());
  EXPECT_FALSE(v->all_verified());  // wall_time and output_bytes

  const VerificationCheck* memory = v->Find(LimitKind::kMemory);
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->result, CheckResult::kMatch);
  EXPECT_EQ(memory->asked, "64 MiB");
  EXPECT_EQ(memory->found, "64 MiB");
  EXPECT_EQ(memory->source, "memory manager (virtual)");
  EXPECT_EQ(memory->detail, "");
  EXPECT_EQ(v->Find(LimitKind::kCpuTime)->found, "5s");
  EXPECT_EQ(v->Find(LimitKind::kProcesses)->found, "16");
  EXPECT_EQ(v->Find(LimitKind::kCpuWeight)->found, "50");

  for (LimitKind held : {LimitKind::kWallTime, LimitKind::kOutput}) {
    const VerificationCheck* c = v->Find(held);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(c->result, CheckResult::kUnverified) << *c;
    EXPECT_EQ(c->found, "");
    EXPECT_THAT(c->detail, HasSubstr("held by the library"));
  }
  EXPECT_EQ(v->Find(LimitKind::kWallTime)->asked, "10s");
  EXPECT_EQ(ToString(*v), "verified: 7 match, 2 unverified");
}

TEST(MemoryVerifyTest, NoLimitsNoIsolationAskedMeansOnlyNoNewPrivs) {
  MemoryManager fake;
  RegisterTool(fake);
  std::shared_ptr<Process> p = StartTool(fake, Limits{});
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v.status(), IsOk());
  // no_new_privs is on by default: the one thing asked.
  ASSERT_EQ(v->checks.size(), 1u);
  EXPECT_EQ(v->checks[0].item, "no_new_privs");
  EXPECT_EQ(v->checks[0].asked, "on");
  EXPECT_EQ(v->checks[0].result, CheckResult::kMatch);
  EXPECT_TRUE(v->all_verified());
}

TEST(MemoryVerifyTest, UnenforcedLimitIsNeverAMatch) {
  MemoryManagerOptions options;
  options.unenforced = {
      {LimitKind::kMemory, Mechanism::kNone, "no memory controller"}};
  MemoryManager fake(options);
  RegisterTool(fake);
  Limits limits;
  limits.memory_bytes = 64 * kMiB;
  std::shared_ptr<Process> p = StartTool(fake, limits);
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v.status(), IsOk());
  const VerificationCheck* memory = v->Find(LimitKind::kMemory);
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->result, CheckResult::kNotEnforced);
  EXPECT_EQ(memory->asked, "64 MiB");
  EXPECT_EQ(memory->found, "");
  EXPECT_EQ(memory->detail, "no memory controller");
  EXPECT_TRUE(v->ok());  // not a mismatch either
  EXPECT_FALSE(v->all_verified());
}

TEST(MemoryVerifyTest, IsolationAskedIsCheckedAndUnenforcedIsolationIsNot) {
  MemoryManagerOptions options;
  options.unenforced_isolation = {
      {IsolationKind::kNetNamespace, false, "no user namespaces here"}};
  MemoryManager fake(options);
  RegisterTool(fake);
  Isolation isolation;
  isolation.uid = 1000;
  isolation.gid = 1000;
  isolation.drop_capabilities = true;
  isolation.keep_capabilities = {"CAP_NET_BIND_SERVICE"};
  isolation.namespaces.pid = true;
  isolation.namespaces.net = true;
  std::shared_ptr<Process> p = StartTool(fake, Limits{}, isolation);
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v.status(), IsOk());
  const VerificationCheck* creds = v->Find(IsolationKind::kCredentials);
  ASSERT_NE(creds, nullptr);
  EXPECT_EQ(creds->result, CheckResult::kMatch);
  EXPECT_EQ(creds->asked, "uid 1000, gid 1000, groups []");
  EXPECT_EQ(creds->found, creds->asked);
  EXPECT_EQ(creds->source, "memory manager (virtual)");
  EXPECT_EQ(v->Find(IsolationKind::kCapabilities)->asked,
            "all dropped but CAP_NET_BIND_SERVICE");
  EXPECT_EQ(v->Find(IsolationKind::kPidNamespace)->result, CheckResult::kMatch);
  const VerificationCheck* net = v->Find(IsolationKind::kNetNamespace);
  ASSERT_NE(net, nullptr);
  EXPECT_EQ(net->result, CheckResult::kNotEnforced);
  EXPECT_EQ(net->detail, "no user namespaces here");
  EXPECT_EQ(v->Find(IsolationKind::kMountNamespace), nullptr);  // not asked
}

TEST(MemoryVerifyTest, FailsBeforeStartAndOnceEnded) {
  MemoryManager fake;
  fake.Register("quick", [](FakeProcess&) { return 0; });
  std::shared_ptr<Process> p = fake.New(Command("quick"));
  EXPECT_THAT(p->Verify().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("not started")));
  ASSERT_THAT(p->Start(), IsOk());
  // It ends in its first steps: there is nothing left to read back.
  EXPECT_THAT(p->Verify().status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("it ended before it could be verified")));
}

TEST(MemoryVerifyTest, AlteredLimitIsAMismatchNamingBoth) {
  MemoryManager fake;
  RegisterTool(fake, [](FakeProcess& p) {
    Limits raised;
    raised.memory_bytes = int64_t{1} << 30;
    EXPECT_THAT(p.AlterLimits(raised), IsOk());
  });
  std::shared_ptr<Process> p = StartTool(fake, SomeLimits());
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v.status(), IsOk());
  EXPECT_FALSE(v->ok());
  const std::vector<VerificationCheck> mismatches = v->mismatches();
  ASSERT_EQ(mismatches.size(), 1u);
  const VerificationCheck& bad = mismatches[0];
  EXPECT_EQ(bad.item, "memory_bytes");
  EXPECT_EQ(bad.asked, "64 MiB");
  EXPECT_EQ(bad.found, "1 GiB");
  EXPECT_EQ(bad.detail, "weaker than asked");
  EXPECT_EQ(ToString(*v),
            "MISMATCH: memory_bytes: mismatch: asked 64 MiB, found 1 GiB "
            "(memory manager (virtual)): weaker than asked");
  // What was asked is still what GetLimits() and the outcome report.
  EXPECT_EQ(p->GetLimits().memory_bytes, 64 * kMiB);
}

TEST(MemoryVerifyTest, RemovedLimitIsAMismatchAndStricterIsAMatch) {
  MemoryManager fake;
  RegisterTool(fake, [](FakeProcess& p) {
    EXPECT_THAT(p.RemoveLimit(LimitKind::kProcesses), IsOk());
    Limits lowered;
    lowered.open_files = 32;
    lowered.cpu_weight = 100;
    EXPECT_THAT(p.AlterLimits(lowered), IsOk());
  });
  std::shared_ptr<Process> p = StartTool(fake, SomeLimits());
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v.status(), IsOk());
  const VerificationCheck* processes = v->Find(LimitKind::kProcesses);
  EXPECT_EQ(processes->result, CheckResult::kMismatch);
  EXPECT_EQ(processes->found, "unlimited");
  EXPECT_EQ(processes->detail, "removed");
  const VerificationCheck* files = v->Find(LimitKind::kOpenFiles);
  EXPECT_EQ(files->result, CheckResult::kMatch);
  EXPECT_EQ(files->found, "32");
  EXPECT_EQ(files->detail, "stricter than asked");
  // A weight is a share: another one is a mismatch, whichever way.
  EXPECT_EQ(v->Find(LimitKind::kCpuWeight)->result, CheckResult::kMismatch);
  EXPECT_EQ(v->mismatches().size(), 2u);
}

TEST(MemoryVerifyTest, TheFakeEnforcesTheAlteredLimit) {
  MemoryManager fake;
  fake.Register("grow", [](FakeProcess& p) {
    Limits raised;
    raised.memory_bytes = 256 * kMiB;
    EXPECT_THAT(p.AlterLimits(raised), IsOk());
    p.UseMemory(128 * kMiB);  // over the 64 MiB asked, under the 256 MiB
    p.Sleep(absl::Seconds(1));
    return 0;
  });
  Command cmd("grow");
  cmd.limits.memory_bytes = 64 * kMiB;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->outcome.reason, ExitReason::kExited);
  EXPECT_EQ(r->outcome.peak_memory_bytes, 128 * kMiB);
  EXPECT_EQ(r->outcome.limits.memory_bytes, 64 * kMiB);  // as asked
}

TEST(MemoryVerifyTest, LoweringMemoryBelowUseIsAnOomKill) {
  MemoryManager fake;
  fake.Register("big", [](FakeProcess& p) {
    p.UseMemory(100 * kMiB);
    Limits lowered;
    lowered.memory_bytes = 10 * kMiB;
    (void)p.AlterLimits(lowered);
    ADD_FAILURE() << "still running under a limit below its use";
    return 0;
  });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("big"));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_EQ(r->outcome.reason, ExitReason::kMemoryExceeded);
}

TEST(MemoryVerifyTest, AlterRefusesLibraryLimitsBadValuesAndUnenforced) {
  MemoryManagerOptions options;
  options.unenforced = {
      {LimitKind::kProcesses, Mechanism::kNone, "no pids controller"}};
  MemoryManager fake(options);
  RegisterTool(fake, [](FakeProcess& p) {
    Limits wall;
    wall.wall_time = absl::Seconds(1);
    EXPECT_THAT(p.AlterLimits(wall),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("held by the library")));
    EXPECT_THAT(p.RemoveLimit(LimitKind::kOutput),
                StatusIs(absl::StatusCode::kInvalidArgument));
    Limits bad;
    bad.memory_bytes = -1;
    EXPECT_THAT(p.AlterLimits(bad),
                StatusIs(absl::StatusCode::kInvalidArgument));
    Limits pids;
    pids.processes = 1000;
    EXPECT_THAT(p.AlterLimits(pids),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("no pids controller")));
  });
  Limits limits;
  limits.processes = 4;
  std::shared_ptr<Process> p = StartTool(fake, limits);
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v.status(), IsOk());
  EXPECT_EQ(v->Find(LimitKind::kProcesses)->result, CheckResult::kNotEnforced);
}

}  // namespace
}  // namespace procsandbox
