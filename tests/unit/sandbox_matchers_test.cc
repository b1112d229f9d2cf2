// The matchers of procsandbox_testing/matchers.h on what a Sandbox returns
// (SandboxResult, StatusOr<SandboxResult>, a refusal's Status): built by
// hand and from a Sandbox over the in-memory manager. Apart from
// matchers_test.cc because the sandbox layer is not in the Windows build.
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "explain_match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/sandbox.h"
#include "procsandbox/sandbox/quota.h"
#include "procsandbox/sandbox/result.h"
#include "procsandbox/sandbox/violation.h"
#include "procsandbox_testing/matchers.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::matchers_test::Explain;
using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::ExceededQuota;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::HasSandboxStatus;
using ::procsandbox_testing::HasViolation;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::KilledBy;
using ::procsandbox_testing::StatusIs;
using ::procsandbox_testing::StoppedGracefully;
using ::procsandbox_testing::TimedOut;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kSigKill = 9;
constexpr int kSigTerm = 15;

SandboxResult Failed(int exit_code, std::string stderr_text) {
  SandboxResult result;
  result.id = "run-1";
  result.status = SandboxStatus::kFailed;
  result.outcome.reason = ExitReason::kExited;
  result.outcome.exit_code = exit_code;
  result.stderr_ = std::move(stderr_text);
  return result;
}

absl::Status Refusal(SecurityViolation::Kind kind) {
  SecurityViolation v;
  v.kind = kind;
  v.severity = SecurityViolation::Severity::kCritical;
  v.subject = "/usr/bin/sudo";
  v.message = "a privilege tool is not allowed";
  return ToStatus(v);
}

// --- Outcome matchers on SandboxResult and StatusOr<SandboxResult>. ---------

TEST(SandboxMatchersTest, OutcomeMatchersAcceptASandboxResult) {
  const SandboxResult failed = Failed(2, "");
  EXPECT_THAT(failed, ExitedWith(2));
  EXPECT_THAT(failed, Not(ExitedWith(0)));
  EXPECT_THAT(failed, Not(TimedOut()));
  EXPECT_THAT(absl::StatusOr<SandboxResult>(failed), ExitedWith(2));
  EXPECT_THAT(absl::StatusOr<SandboxResult>(failed), Not(ExitedWith(0)));
  EXPECT_EQ(::testing::DescribeMatcher<SandboxResult>(ExitedWith(0)),
            "is an outcome that exited with code 0");
  EXPECT_EQ(::testing::DescribeMatcher<absl::StatusOr<SandboxResult>>(
                TimedOut(), /*negation=*/true),
            "is not an outcome that ended as timed_out");
}

TEST(SandboxMatchersTest, OutcomeMismatchShowsStatusOutcomeAndStderrTail) {
  const SandboxResult failed =
      Failed(2, std::string(2000, 'x') + "main.c:3: error: expected ';'");
  for (const std::string& explanation :
       {Explain(ExitedWith(0), failed),
        Explain(ExitedWith(0), absl::StatusOr<SandboxResult>(failed))}) {
    EXPECT_THAT(
        explanation,
        AllOf(HasSubstr(ToString(failed.outcome)), HasSubstr("exit code 2"),
              HasSubstr("sandbox status failed"), HasSubstr("stderr ends with"),
              HasSubstr("error: expected ';'")));
    EXPECT_THAT(explanation, Not(HasSubstr(std::string(600, 'x'))));
  }
}

TEST(SandboxMatchersTest, ARefusalIsNoOutcomeAndShowsItsViolation) {
  const absl::StatusOr<SandboxResult> refused =
      Refusal(SecurityViolation::Kind::kPrivilegeTool);
  EXPECT_THAT(refused, Not(ExitedWith(0)));
  EXPECT_THAT(refused, Not(Cancelled()));
  EXPECT_THAT(Explain(ExitedWith(0), refused),
              AllOf(HasSubstr("sandbox status rejected"),
                    HasSubstr("PERMISSION_DENIED"),
                    HasSubstr("security violation privilege_tool"),
                    HasSubstr("/usr/bin/sudo")));
}

// --- HasSandboxStatus. -------------------------------------------------------

TEST(SandboxMatchersTest, HasSandboxStatusMatchesAResult) {
  const SandboxResult failed = Failed(2, "boom\n");
  EXPECT_THAT(failed, HasSandboxStatus(SandboxStatus::kFailed));
  EXPECT_THAT(failed, Not(HasSandboxStatus(SandboxStatus::kCompleted)));
  EXPECT_THAT(absl::StatusOr<SandboxResult>(failed),
              HasSandboxStatus(SandboxStatus::kFailed));
  EXPECT_THAT(absl::StatusOr<SandboxResult>(failed),
              Not(HasSandboxStatus(SandboxStatus::kCompleted)));
  EXPECT_THAT(Explain(HasSandboxStatus(SandboxStatus::kCompleted), failed),
              AllOf(HasSubstr("which has sandbox status failed"),
                    HasSubstr(ToString(failed.outcome)),
                    HasSubstr("stderr is \"boom\\n\"")));
  // A match leaves stderr out.
  EXPECT_THAT(Explain(HasSandboxStatus(SandboxStatus::kFailed), failed),
              Not(HasSubstr("boom")));
}

TEST(SandboxMatchersTest, HasSandboxStatusMapsAnErrorThroughStatusOf) {
  const absl::Status refused = Refusal(SecurityViolation::Kind::kPrivilegeTool);
  const absl::Status cancelled = absl::CancelledError("run-1: cancelled");
  const absl::Status broken = absl::InternalError("start: broken pipe");
  EXPECT_THAT(refused, HasSandboxStatus(SandboxStatus::kRejected));
  EXPECT_THAT(absl::StatusOr<SandboxResult>(refused),
              HasSandboxStatus(SandboxStatus::kRejected));
  EXPECT_THAT(cancelled, HasSandboxStatus(SandboxStatus::kCancelled));
  EXPECT_THAT(absl::StatusOr<SandboxResult>(broken),
              HasSandboxStatus(SandboxStatus::kError));
  EXPECT_THAT(broken, Not(HasSandboxStatus(SandboxStatus::kRejected)));
  EXPECT_THAT(Explain(HasSandboxStatus(SandboxStatus::kCompleted), refused),
              AllOf(HasSubstr("an error with sandbox status rejected"),
                    HasSubstr("PERMISSION_DENIED"),
                    HasSubstr("security violation privilege_tool")));
}

TEST(SandboxMatchersTest, HasSandboxStatusNeverMatchesAnOkStatus) {
  for (SandboxStatus s : {SandboxStatus::kCompleted, SandboxStatus::kError}) {
    EXPECT_THAT(absl::OkStatus(), Not(HasSandboxStatus(s)));
  }
  EXPECT_THAT(
      Explain(HasSandboxStatus(SandboxStatus::kCompleted), absl::OkStatus()),
      HasSubstr("says nothing about a run"));
}

TEST(SandboxMatchersTest, HasSandboxStatusDescribesTheStatus) {
  EXPECT_EQ(::testing::DescribeMatcher<SandboxResult>(
                HasSandboxStatus(SandboxStatus::kTimedOut)),
            "has sandbox status timed_out");
  EXPECT_EQ(::testing::DescribeMatcher<absl::Status>(
                HasSandboxStatus(SandboxStatus::kRejected), true),
            "does not have sandbox status rejected");
}

// --- HasViolation. -----------------------------------------------------------

TEST(SandboxMatchersTest, HasViolationMatchesTheKindOnStatusAndStatusOr) {
  const absl::Status refused = Refusal(SecurityViolation::Kind::kPrivilegeTool);
  EXPECT_THAT(refused, HasViolation(SecurityViolation::Kind::kPrivilegeTool));
  EXPECT_THAT(absl::StatusOr<SandboxResult>(refused),
              HasViolation(SecurityViolation::Kind::kPrivilegeTool));
  EXPECT_THAT(absl::StatusOr<int>(refused),
              HasViolation(SecurityViolation::Kind::kPrivilegeTool));
  EXPECT_THAT(refused,
              Not(HasViolation(SecurityViolation::Kind::kShellRefused)));
  EXPECT_THAT(
      Explain(HasViolation(SecurityViolation::Kind::kShellRefused), refused),
      AllOf(HasSubstr("which carries security violation "
                      "privilege_tool (critical)"),
            HasSubstr("/usr/bin/sudo")));
}

TEST(SandboxMatchersTest, HasViolationRejectsOkAndOtherErrors) {
  const auto kind = SecurityViolation::Kind::kPrivilegeTool;
  EXPECT_THAT(absl::OkStatus(), Not(HasViolation(kind)));
  EXPECT_THAT(absl::StatusOr<int>(3), Not(HasViolation(kind)));
  const absl::Status plain = absl::PermissionDeniedError("no");
  EXPECT_THAT(plain, Not(HasViolation(kind)));
  EXPECT_THAT(Explain(HasViolation(kind), plain),
              HasSubstr("which carries no security violation: "
                        "PERMISSION_DENIED: no"));
  EXPECT_THAT(Explain(HasViolation(kind), absl::OkStatus()),
              HasSubstr("which is OK"));
  EXPECT_EQ(::testing::DescribeMatcher<absl::Status>(HasViolation(kind)),
            "is an error carrying a security violation of kind "
            "privilege_tool");
  EXPECT_EQ(::testing::DescribeMatcher<absl::Status>(HasViolation(kind), true),
            "is not an error carrying a security violation of kind "
            "privilege_tool");
}

// --- Through a Sandbox over the fake. ----------------------------------------

TEST(SandboxMatchersTest, MatchWhatASandboxRunReturns) {
  Rig rig;
  rig.Program("/usr/bin/cc", [](FakeProcess& p) {
    p.WriteStderr("main.c:3: error: expected ';'\n");
    return 1;
  });
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  rig.Program("/usr/bin/sudo", [](FakeProcess&) { return 0; });
  Sandbox sandbox(rig.fake, rig.Policy());

  EXPECT_THAT(
      sandbox.Run(Request("true")),
      AllOf(ExitedWith(0), HasSandboxStatus(SandboxStatus::kCompleted)));

  const absl::StatusOr<SandboxResult> failed = sandbox.Run(Request("cc"));
  EXPECT_THAT(failed,
              AllOf(ExitedWith(1), HasSandboxStatus(SandboxStatus::kFailed),
                    Not(HasSandboxStatus(SandboxStatus::kCompleted))));
  EXPECT_THAT(Explain(ExitedWith(0), failed),
              AllOf(HasSubstr("sandbox status failed"),
                    HasSubstr("error: expected ';'")));

  const absl::StatusOr<SandboxResult> refused = sandbox.Run(Request("sudo"));
  EXPECT_THAT(
      refused,
      AllOf(HasSandboxStatus(SandboxStatus::kRejected),
            HasViolation(SecurityViolation::Kind::kPrivilegeTool),
            Not(HasViolation(SecurityViolation::Kind::kProgramNotAllowed)),
            Not(ExitedWith(0))));
}

TEST(SandboxMatchersTest, StoppedGracefullyOnASandboxDeadlineAndFinish) {
  Rig rig;
  rig.Program("/usr/bin/server", [](FakeProcess& p) {
    (void)p.OnSignal(kSigTerm, [&p] { p.Exit(3); });
    p.Sleep(absl::Hours(1));
    return 1;
  });
  rig.Program("/usr/bin/stubborn", [](FakeProcess& p) {
    (void)p.IgnoreSignal(kSigTerm);
    p.Sleep(absl::Hours(1));
    return 0;
  });
  Sandbox sandbox(rig.fake, rig.Policy());

  RunRequest deadline = Request("server");
  deadline.limits.wall_time = absl::Seconds(1);
  EXPECT_THAT(sandbox.Run(deadline),
              AllOf(StoppedGracefully(3), TimedOut(),
                    HasSandboxStatus(SandboxStatus::kTimedOut)));

  absl::StatusOr<std::unique_ptr<SandboxProcess>> launched =
      sandbox.Launch(Request("server"));
  ASSERT_THAT(launched, IsOk());
  EXPECT_THAT((*launched)->Finish(absl::Seconds(1)),
              AllOf(StoppedGracefully(3), Cancelled(),
                    HasSandboxStatus(SandboxStatus::kCancelled)));

  RunRequest killed = Request("stubborn");
  killed.limits.wall_time = absl::Seconds(1);
  const absl::StatusOr<SandboxResult> result = sandbox.Run(killed);
  EXPECT_THAT(result,
              AllOf(Not(StoppedGracefully(0)), KilledBy(kSigKill), TimedOut()));
  EXPECT_THAT(Explain(StoppedGracefully(0), result),
              HasSubstr("sandbox status timed_out"));
}

TEST(SandboxMatchersTest, ExceededQuotaMatchesARefusalByKind) {
  Rig rig;
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.quota.enabled = true;
  policy.quota.default_quota.max_runs = 1;
  policy.quota.default_quota.window = absl::Hours(1);
  Sandbox sandbox(rig.fake, policy);
  RunRequest request = Request("true");
  request.quota_key = "tenant-a";
  ASSERT_THAT(sandbox.Run(request), ExitedWith(0));

  const absl::StatusOr<SandboxResult> refused = sandbox.Run(request);
  EXPECT_THAT(refused,
              AllOf(ExceededQuota(QuotaExceeded::Kind::kRate),
                    Not(ExceededQuota(QuotaExceeded::Kind::kConcurrency)),
                    HasSandboxStatus(SandboxStatus::kRejected),
                    StatusIs(absl::StatusCode::kResourceExhausted)));
  EXPECT_THAT(refused.status(), ExceededQuota(QuotaExceeded::Kind::kRate));
  EXPECT_THAT(
      Explain(ExceededQuota(QuotaExceeded::Kind::kConcurrency), refused),
      AllOf(HasSubstr("which carries quota exceeded"), HasSubstr("tenant-a")));
  EXPECT_THAT(
      Explain(ExitedWith(0), refused),
      AllOf(HasSubstr("RESOURCE_EXHAUSTED"), HasSubstr("with quota exceeded")));
}

TEST(SandboxMatchersTest, ExceededQuotaRejectsOkAndOtherErrors) {
  const auto kind = QuotaExceeded::Kind::kRate;
  EXPECT_THAT(absl::OkStatus(), Not(ExceededQuota(kind)));
  EXPECT_THAT(absl::StatusOr<int>(1), Not(ExceededQuota(kind)));
  const absl::Status refused = Refusal(SecurityViolation::Kind::kPrivilegeTool);
  EXPECT_THAT(refused, Not(ExceededQuota(kind)));
  EXPECT_THAT(Explain(ExceededQuota(kind), refused),
              AllOf(HasSubstr("which carries no quota refusal: "),
                    HasSubstr("security violation privilege_tool")));
  EXPECT_THAT(absl::ResourceExhaustedError("queue full"),
              Not(ExceededQuota(kind)));
  EXPECT_EQ(::testing::DescribeMatcher<absl::Status>(ExceededQuota(kind)),
            "is an error carrying a quota refusal of kind rate");
  EXPECT_EQ(::testing::DescribeMatcher<absl::StatusOr<SandboxResult>>(
                ExceededQuota(QuotaExceeded::Kind::kConcurrency), true),
            "is not an error carrying a quota refusal of kind concurrency");
}

}  // namespace
}  // namespace procsandbox
