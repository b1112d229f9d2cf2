#include "procsandbox_testing/matchers.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "explain_match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/command.h"
#include "procsandbox/limits.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/run.h"

namespace {

using ::procsandbox::ExitReason;
using ::procsandbox::Outcome;
using ::procsandbox::RunResult;
using ::procsandbox::matchers_test::Explain;
using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::EndedWith;
using ::procsandbox_testing::ExceededCpuTime;
using ::procsandbox_testing::ExceededFileSize;
using ::procsandbox_testing::ExceededMemory;
using ::procsandbox_testing::ExceededOutput;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::KilledBy;
using ::procsandbox_testing::KilledByException;
using ::procsandbox_testing::StatusIs;
using ::procsandbox_testing::StoppedGracefully;
using ::procsandbox_testing::TimedOut;
using ::testing::AllOf;
using ::testing::Eq;
using ::testing::Gt;
using ::testing::HasSubstr;
using ::testing::Not;

// Plain numbers: the tests need no OS header.
constexpr int kSigKill = 9;
constexpr int kSigTerm = 15;
constexpr int kSigSegv = 11;

Outcome MakeOutcome(ExitReason reason, int exit_code, int signal) {
  Outcome outcome;
  outcome.reason = reason;
  outcome.exit_code = exit_code;
  outcome.signal = signal;
  outcome.wall_time = absl::Milliseconds(1500);
  return outcome;
}

// --- Status and StatusOr. ---------------------------------------------------

TEST(MatchersStatusTest, IsOkMatchesOkStatusAndStatusOr) {
  EXPECT_THAT(absl::OkStatus(), IsOk());
  EXPECT_THAT(absl::StatusOr<int>(7), IsOk());
}

TEST(MatchersStatusTest, IsOkRejectsAnErrorAndShowsIt) {
  const absl::Status error = absl::NotFoundError("exec \"cc\": no such file");
  EXPECT_THAT(error, Not(IsOk()));
  EXPECT_THAT(absl::StatusOr<int>(error), Not(IsOk()));
  EXPECT_THAT(Explain(IsOk(), error),
              AllOf(HasSubstr("NOT_FOUND"), HasSubstr("exec \"cc\"")));
  EXPECT_THAT(Explain(IsOk(), absl::StatusOr<int>(error)),
              HasSubstr("NOT_FOUND"));
}

TEST(MatchersStatusTest, StatusIsMatchesTheCodeOfStatusAndStatusOr) {
  const absl::Status error = absl::NotFoundError("exec \"cc\": no such file");
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::StatusOr<int>(error),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kOk));
  EXPECT_THAT(absl::StatusOr<int>(1), StatusIs(absl::StatusCode::kOk));
}

TEST(MatchersStatusTest, StatusIsRejectsAnotherCodeAndShowsTheStatus) {
  const absl::Status error = absl::PermissionDeniedError("exec \"cc\": EACCES");
  EXPECT_THAT(error, Not(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_THAT(absl::StatusOr<int>(error),
              Not(StatusIs(absl::StatusCode::kNotFound)));
  EXPECT_THAT(Explain(StatusIs(absl::StatusCode::kNotFound), error),
              AllOf(HasSubstr("PERMISSION_DENIED"), HasSubstr("EACCES")));
}

TEST(MatchersStatusTest, StatusIsWithMessageMatchesCodeAndMessage) {
  const absl::Status error = absl::NotFoundError("exec \"cc\": no such file");
  EXPECT_THAT(error,
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"cc\"")));
  EXPECT_THAT(absl::StatusOr<int>(error),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"cc\"")));
  EXPECT_THAT(error, StatusIs(absl::StatusCode::kNotFound,
                              "exec \"cc\": no such file"));
}

TEST(MatchersStatusTest, StatusIsWithMessageRejectsAnotherMessage) {
  const absl::Status error = absl::NotFoundError("exec \"cc\": no such file");
  EXPECT_THAT(error,
              Not(StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"go\""))));
  EXPECT_THAT(absl::StatusOr<int>(error),
              Not(StatusIs(absl::StatusCode::kNotFound, "exec \"cc\"")));
  EXPECT_THAT(error, Not(StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("\"cc\""))));
}

TEST(MatchersStatusTest, StatusIsDescribesCodeAndMessage) {
  EXPECT_EQ(::testing::DescribeMatcher<absl::Status>(
                StatusIs(absl::StatusCode::kNotFound, HasSubstr("cc"))),
            "has status code NOT_FOUND and a message that has substring "
            "\"cc\"");
  EXPECT_EQ(::testing::DescribeMatcher<absl::Status>(
                StatusIs(absl::StatusCode::kNotFound), /*negation=*/true),
            "does not have status code NOT_FOUND");
}

TEST(MatchersStatusTest, IsOkAndHoldsMatchesTheValue) {
  EXPECT_THAT(absl::StatusOr<int64_t>(64 << 20), IsOkAndHolds(64 << 20));
  EXPECT_THAT(absl::StatusOr<std::string>("42\n"),
              IsOkAndHolds(HasSubstr("42")));
  EXPECT_THAT(absl::StatusOr<int>(5), IsOkAndHolds(Gt(4)));
}

TEST(MatchersStatusTest, IsOkAndHoldsRejectsAnotherValueAndShowsIt) {
  const absl::StatusOr<int> five = 5;
  EXPECT_THAT(five, Not(IsOkAndHolds(6)));
  EXPECT_THAT(Explain(IsOkAndHolds(6), five), HasSubstr("with value 5"));
}

TEST(MatchersStatusTest, IsOkAndHoldsRejectsAnErrorAndShowsIt) {
  const absl::StatusOr<int> error = absl::InvalidArgumentError("bad size");
  EXPECT_THAT(error, Not(IsOkAndHolds(Eq(5))));
  EXPECT_THAT(Explain(IsOkAndHolds(5), error),
              AllOf(HasSubstr("INVALID_ARGUMENT"), HasSubstr("bad size")));
  EXPECT_EQ(::testing::DescribeMatcher<absl::StatusOr<int>>(IsOkAndHolds(5)),
            "is OK and has a value that is equal to 5");
}

// --- Outcome matchers, on every type they accept. ---------------------------

// Builds each accepted type around an Outcome.
template <typename T>
struct Wrap;
template <>
struct Wrap<Outcome> {
  static Outcome Of(const Outcome& outcome) { return outcome; }
};
template <>
struct Wrap<RunResult> {
  static RunResult Of(const Outcome& outcome) {
    RunResult result;
    result.outcome = outcome;
    result.stderr_ = "main.c:3: error: expected ';'\n";
    return result;
  }
};
template <>
struct Wrap<std::optional<Outcome>> {
  static std::optional<Outcome> Of(const Outcome& outcome) { return outcome; }
};
template <typename T>
struct Wrap<absl::StatusOr<T>> {
  static absl::StatusOr<T> Of(const Outcome& outcome) {
    return Wrap<T>::Of(outcome);
  }
};

template <typename T>
class MatchersOutcomeTest : public ::testing::Test {
 protected:
  static T Of(ExitReason reason, int exit_code, int signal) {
    return Wrap<T>::Of(MakeOutcome(reason, exit_code, signal));
  }
};

using OutcomeTypes =
    ::testing::Types<Outcome, absl::StatusOr<Outcome>, RunResult,
                     absl::StatusOr<RunResult>, std::optional<Outcome>>;

class OutcomeTypeNames {
 public:
  template <typename T>
  static std::string GetName(int index) {
    const char* const names[] = {"Outcome", "StatusOrOutcome", "RunResult",
                                 "StatusOrRunResult", "OptionalOutcome"};
    return names[index];
  }
};

TYPED_TEST_SUITE(MatchersOutcomeTest, OutcomeTypes, OutcomeTypeNames);

TYPED_TEST(MatchersOutcomeTest, ExitedWithMatchesTheExitCode) {
  const TypeParam exited_2 = this->Of(ExitReason::kExited, 2, 0);
  EXPECT_THAT(exited_2, ExitedWith(2));
  EXPECT_THAT(exited_2, Not(ExitedWith(0)));
}

TYPED_TEST(MatchersOutcomeTest, ExitedWithRejectsTheCodeUnderAnotherReason) {
  // A program that exited 0 after SIGTERM at its deadline timed out.
  EXPECT_THAT(this->Of(ExitReason::kTimedOut, 0, 0), Not(ExitedWith(0)));
  EXPECT_THAT(this->Of(ExitReason::kCancelled, 0, 0), Not(ExitedWith(0)));
}

TYPED_TEST(MatchersOutcomeTest, KilledByMatchesTheSignalWhateverTheReason) {
  EXPECT_THAT(this->Of(ExitReason::kSignaled, -1, kSigKill),
              KilledBy(kSigKill));
  EXPECT_THAT(this->Of(ExitReason::kMemoryExceeded, -1, kSigKill),
              KilledBy(kSigKill));
  EXPECT_THAT(this->Of(ExitReason::kTimedOut, -1, kSigTerm),
              Not(KilledBy(kSigKill)));
  EXPECT_THAT(this->Of(ExitReason::kExited, 0, 0), Not(KilledBy(kSigKill)));
}

TYPED_TEST(MatchersOutcomeTest, KilledByExceptionMatchesTheExceptionCode) {
  Outcome crashed = MakeOutcome(ExitReason::kSignaled, -1, kSigSegv);
  crashed.exception_code = 0xC0000005;
  EXPECT_THAT(Wrap<TypeParam>::Of(crashed), KilledByException(0xC0000005));
  EXPECT_THAT(Wrap<TypeParam>::Of(crashed), KilledBy(kSigSegv));
  EXPECT_THAT(Wrap<TypeParam>::Of(crashed), Not(KilledByException(0xC00000FD)));
  // A POSIX SIGSEGV has no exception code.
  EXPECT_THAT(this->Of(ExitReason::kSignaled, -1, kSigSegv),
              Not(KilledByException(0xC0000005)));
  EXPECT_THAT(
      Explain(KilledByException(0xC00000FD), Wrap<TypeParam>::Of(crashed)),
      HasSubstr("exception STATUS_ACCESS_VIOLATION (0xC0000005)"));
  EXPECT_EQ(
      ::testing::DescribeMatcher<TypeParam>(KilledByException(0xC00000FD)),
      "is an outcome that was ended by STATUS_STACK_OVERFLOW "
      "(0xC00000FD)");
}

TYPED_TEST(MatchersOutcomeTest, StoppedGracefullyMatchesAnExitAfterAStop) {
  for (ExitReason stop : {ExitReason::kCancelled, ExitReason::kTimedOut,
                          ExitReason::kOutputExceeded}) {
    EXPECT_THAT(this->Of(stop, 3, 0), StoppedGracefully(3)) << stop;
    EXPECT_THAT(this->Of(stop, 3, 0), Not(StoppedGracefully(0))) << stop;
    // The grace ran out: killed, not stopped gracefully.
    EXPECT_THAT(this->Of(stop, -1, kSigKill), Not(StoppedGracefully(-1)))
        << stop;
  }
  // Nobody asked it to stop.
  EXPECT_THAT(this->Of(ExitReason::kExited, 3, 0), Not(StoppedGracefully(3)));
  EXPECT_THAT(this->Of(ExitReason::kMemoryExceeded, 3, 0),
              Not(StoppedGracefully(3)));
}

TYPED_TEST(MatchersOutcomeTest, StoppedGracefullyDescribesAndExplains) {
  EXPECT_EQ(::testing::DescribeMatcher<TypeParam>(StoppedGracefully(0)),
            "is an outcome that was asked to stop and exited by itself with "
            "code 0 within its grace");
  EXPECT_EQ(::testing::DescribeMatcher<TypeParam>(StoppedGracefully(0), true),
            "is not an outcome that was asked to stop and exited by itself "
            "with code 0 within its grace");
  EXPECT_THAT(Explain(StoppedGracefully(0),
                      this->Of(ExitReason::kTimedOut, -1, kSigKill)),
              AllOf(HasSubstr("reason timed_out"), HasSubstr("exit code -1"),
                    HasSubstr("signal " + procsandbox::SignalName(kSigKill))));
}

TYPED_TEST(MatchersOutcomeTest, EachReasonMatcherMatchesOnlyItsReason) {
  const std::vector<
      std::pair<::testing::PolymorphicMatcher<
                    procsandbox_testing::matchers_internal::OutcomeMatcher>,
                ExitReason>>
      matchers = {
          {TimedOut(), ExitReason::kTimedOut},
          {ExceededMemory(), ExitReason::kMemoryExceeded},
          {ExceededCpuTime(), ExitReason::kCpuTimeExceeded},
          {ExceededFileSize(), ExitReason::kFileSizeExceeded},
          {ExceededOutput(), ExitReason::kOutputExceeded},
          {Cancelled(), ExitReason::kCancelled},
          {EndedWith(ExitReason::kSignaled), ExitReason::kSignaled},
          {EndedWith(ExitReason::kExited), ExitReason::kExited},
      };
  for (const auto& [matcher, reason] : matchers) {
    for (const auto& [unused, other] : matchers) {
      const TypeParam value = this->Of(other, -1, kSigKill);
      EXPECT_EQ(::testing::Matches(matcher)(value), other == reason)
          << "matcher for " << reason << " on an outcome " << other;
    }
  }
}

TYPED_TEST(MatchersOutcomeTest, MismatchShowsTheOutcome) {
  const Outcome outcome = MakeOutcome(ExitReason::kExited, 2, 0);
  const std::string explanation =
      Explain(ExitedWith(0), Wrap<TypeParam>::Of(outcome));
  EXPECT_THAT(explanation, AllOf(HasSubstr(procsandbox::ToString(outcome)),
                                 HasSubstr("exit code 2")));
}

TYPED_TEST(MatchersOutcomeTest, DescribesWhatItExpects) {
  EXPECT_EQ(::testing::DescribeMatcher<TypeParam>(ExitedWith(2)),
            "is an outcome that exited with code 2");
  EXPECT_EQ(::testing::DescribeMatcher<TypeParam>(TimedOut(), true),
            "is not an outcome that ended as timed_out");
  EXPECT_EQ(
      ::testing::DescribeMatcher<TypeParam>(KilledBy(kSigKill)),
      "is an outcome that was ended by " + procsandbox::SignalName(kSigKill));
}

TEST(MatchersOutcomeTest, AnErrorIsNoOutcomeAndShowsTheStatus) {
  const absl::StatusOr<RunResult> error =
      absl::NotFoundError("exec \"cc\": no such file");
  EXPECT_THAT(error, Not(ExitedWith(0)));
  EXPECT_THAT(error, Not(TimedOut()));
  EXPECT_THAT(Explain(ExitedWith(0), error),
              AllOf(HasSubstr("NOT_FOUND"), HasSubstr("exec \"cc\"")));
  EXPECT_THAT(absl::StatusOr<Outcome>(error.status()), Not(ExitedWith(0)));
}

TEST(MatchersOutcomeTest, NoOutcomeYetDoesNotMatch) {
  const std::optional<Outcome> none;
  EXPECT_THAT(none, Not(ExitedWith(0)));
  EXPECT_THAT(Explain(ExitedWith(0), none), HasSubstr("no outcome"));
}

TEST(MatchersOutcomeTest, RunResultMismatchShowsTheEndOfStderr) {
  RunResult result;
  result.outcome = MakeOutcome(ExitReason::kExited, 2, 0);
  result.stderr_ = std::string(2000, 'x') + "main.c:3: error: expected ';'";
  const std::string explanation = Explain(ExitedWith(0), result);
  EXPECT_THAT(explanation, AllOf(HasSubstr("stderr ends with"),
                                 HasSubstr("error: expected ';'")));
  EXPECT_THAT(explanation, Not(HasSubstr(std::string(600, 'x'))));
  EXPECT_THAT(Explain(ExitedWith(0), absl::StatusOr<RunResult>(result)),
              HasSubstr("error: expected ';'"));
}

TEST(MatchersOutcomeTest, RunResultMatchLeavesStderrOut) {
  RunResult result;
  result.stderr_ = "warning: unused variable";
  EXPECT_THAT(Explain(ExitedWith(0), result), Not(HasSubstr("warning")));
}

// The fake's programs, stopped by the host or by their deadline.
TEST(MatchersStoppedGracefullyTest, MatchesAProgramThatHandlesTheStop) {
  procsandbox::MemoryManager fake;
  fake.Register("polite", [](procsandbox::FakeProcess& p) {
    (void)p.OnSignal(kSigTerm, [&p] { p.Exit(0); });
    p.Sleep(absl::Hours(1));
    return 1;
  });
  std::shared_ptr<procsandbox::Process> process =
      fake.New(procsandbox::Command("polite"));
  ASSERT_THAT(process->Start(), IsOk());
  ASSERT_THAT(process->Terminate(), IsOk());
  EXPECT_THAT(process->Wait(),
              AllOf(StoppedGracefully(0), Cancelled(), Not(ExitedWith(0))));

  procsandbox::Command deadline("polite");
  deadline.limits.wall_time = absl::Seconds(1);
  EXPECT_THAT(procsandbox::RunCommand(fake, deadline),
              AllOf(StoppedGracefully(0), TimedOut()));
}

TEST(MatchersStoppedGracefullyTest, RejectsAProgramKilledAfterItsGrace) {
  procsandbox::MemoryManager fake;
  fake.Register("stubborn", [](procsandbox::FakeProcess& p) {
    (void)p.IgnoreSignal(kSigTerm);
    p.Sleep(absl::Hours(1));
    return 0;
  });
  procsandbox::Command cmd("stubborn");
  cmd.kill_grace = absl::Seconds(2);
  std::shared_ptr<procsandbox::Process> process = fake.New(cmd);
  ASSERT_THAT(process->Start(), IsOk());
  ASSERT_THAT(process->Terminate(), IsOk());
  const absl::StatusOr<Outcome> outcome = process->Wait();
  EXPECT_THAT(outcome, AllOf(Not(StoppedGracefully(0)), KilledBy(kSigKill),
                             Cancelled()));
  EXPECT_THAT(Explain(StoppedGracefully(0), outcome),
              HasSubstr("reason cancelled, exit code -1"));
}

TEST(MatchersStoppedGracefullyTest, RejectsAProgramThatEndedBeforeAnyStop) {
  procsandbox::MemoryManager fake;
  fake.Register("quick", [](procsandbox::FakeProcess&) { return 0; });
  const absl::StatusOr<RunResult> result =
      procsandbox::RunCommand(fake, procsandbox::Command("quick"));
  EXPECT_THAT(result, AllOf(ExitedWith(0), Not(StoppedGracefully(0))));
}

TEST(MatchersExampleTest, HeaderExampleHolds) {
  EXPECT_THAT(procsandbox::ParseByteSize("64M"), IsOkAndHolds(64 << 20));
  EXPECT_THAT(procsandbox::ParseByteSize("64X"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("64X")));
  procsandbox::Outcome outcome;  // exited 0
  EXPECT_THAT(outcome, ExitedWith(0));
}

}  // namespace
