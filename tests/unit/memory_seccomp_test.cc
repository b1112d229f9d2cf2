// The fake's seccomp simulation (FakeProcess::Syscall) and the
// KilledBySeccomp matcher.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/isolation.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/run.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::KilledBySeccomp;
using ::testing::Not;

// The fake numbers signals as Linux does (SIGKILL is 9), also on Windows,
// whose C library has no SIGKILL.
constexpr int kSigKill = 9;

// Prints what each call returned, as the test helper's `syscall` step.
int CallEach(FakeProcess& p, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    const absl::Status s = p.Syscall(name);
    p.WriteStdout(name + " " +
                  (s.ok() ? "ok" : absl::StatusCodeToString(s.code())) + "\n");
  }
  return 0;
}

absl::StatusOr<RunResult> RunFiltered(MemoryManager& fake,
                                      std::vector<std::string> names,
                                      std::optional<SeccompFilter> filter) {
  fake.Register("t", [names](FakeProcess& p) { return CallEach(p, names); });
  Command cmd("t");
  cmd.isolation.seccomp = std::move(filter);
  return procsandbox::RunCommand(fake, cmd);
}

TEST(FakeSeccompTest, WithoutAFilterEveryCallPasses) {
  MemoryManager fake;
  absl::StatusOr<RunResult> r =
      RunFiltered(fake, {"ptrace", "mount"}, std::nullopt);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "ptrace ok\nmount ok\n");
}

TEST(FakeSeccompTest, TheDefaultDenyListAnswersAsTheKernelWould) {
  MemoryManager fake;
  absl::StatusOr<RunResult> r = RunFiltered(
      fake, {"ptrace", "clone3", "getpid"}, SeccompFilter::DefaultDenyList());
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, ExitedWith(0));
  EXPECT_EQ(r->stdout_,
            "ptrace PERMISSION_DENIED\nclone3 UNIMPLEMENTED\ngetpid ok\n");
}

TEST(FakeSeccompTest, CloneIsDeniedOnlyWithANamespaceFlag) {
  MemoryManager fake;
  fake.Register("t", [](FakeProcess& p) {
    EXPECT_THAT(p.Syscall("clone", 0x11 /* SIGCHLD */), IsOk());
    EXPECT_EQ(p.Syscall("clone", 0x10000000 /* CLONE_NEWUSER */).code(),
              absl::StatusCode::kPermissionDenied);
    return 0;
  });
  Command cmd("t");
  cmd.isolation.seccomp = SeccompFilter::DefaultDenyList();
  EXPECT_THAT(procsandbox::RunCommand(fake, cmd), ExitedWith(0));
}

TEST(FakeSeccompTest, AKillRuleEndsTheRunNamingTheCall) {
  MemoryManager fake;
  absl::StatusOr<RunResult> r =
      RunFiltered(fake, {"getpid", "bpf", "getpid"},
                  SeccompFilter::DefaultDenyList(SeccompAction::kKill));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, KilledBySeccomp("bpf"));
  EXPECT_THAT(*r, KilledBySeccomp());
  EXPECT_THAT(*r, Not(KilledBySeccomp("ptrace")));
  EXPECT_EQ(r->outcome.signal, kSigKill);
  EXPECT_EQ(r->outcome.syscall, -1);
  EXPECT_EQ(r->stdout_, "getpid ok\n");
}

TEST(FakeSeccompTest, AnAllowListKillsWhatItDoesNotName) {
  MemoryManager fake;
  SeccompFilter filter;
  filter.default_action = SeccompAction::kKill;
  filter.rules = {{"read", SeccompAction::kAllow, 0},
                  {"write", SeccompAction::kAllow, 0}};
  absl::StatusOr<RunResult> r =
      RunFiltered(fake, {"read", "execve", "socket"}, filter);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, KilledBySeccomp("socket"));
  EXPECT_EQ(r->stdout_, "read ok\nexecve ok\n");
}

TEST(FakeSeccompTest, AnUnenforcedFilterIsNotApplied) {
  MemoryManagerOptions options;
  options.unenforced_isolation = {
      {IsolationKind::kSeccomp, false, "built without libseccomp"}};
  MemoryManager fake(options);
  absl::StatusOr<RunResult> r = RunFiltered(
      fake, {"ptrace"}, SeccompFilter::DefaultDenyList(SeccompAction::kKill));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(*r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "ptrace ok\n");
}

TEST(KilledBySeccompTest, MatchesTheReasonAndTheName) {
  Outcome outcome;
  outcome.reason = ExitReason::kSeccompViolation;
  outcome.signal = kSigKill;
  outcome.exit_code = -1;
  outcome.syscall = 101;
  outcome.syscall_name = "ptrace";
  EXPECT_THAT(outcome, KilledBySeccomp("ptrace"));
  EXPECT_THAT(outcome, Not(KilledBySeccomp("mount")));
  outcome.reason = ExitReason::kSignaled;
  EXPECT_THAT(outcome, Not(KilledBySeccomp()));
  EXPECT_THAT(outcome, Not(KilledBySeccomp("ptrace")));
  EXPECT_EQ(::testing::DescribeMatcher<Outcome>(KilledBySeccomp("ptrace")),
            "is an outcome that was killed by seccomp for ptrace");
}

}  // namespace
}  // namespace procsandbox
