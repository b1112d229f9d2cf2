// procsandbox_testing/matchers.h: gtest matchers for Status and Outcome.
//
// Status matchers work on `absl::Status` and on any `absl::StatusOr<T>`:
//   IsOk()                        the status is OK
//   StatusIs(code)                the status has this code
//   StatusIs(code, message)       ... and a message matching `message` (a
//                                 string or a matcher such as HasSubstr)
//   IsOkAndHolds(matcher)         a StatusOr that is OK and whose value matches
// There is deliberately no `NotOk()`: check the specific error.
//
// Outcome matchers say how a process ended. Each works on an `Outcome`, a
// `RunResult`, an `absl::StatusOr` of either (an error never matches), and a
// `std::optional<Outcome>` (`FakeRun::outcome`; nullopt never matches):
//   ExitedWith(n)        exited by itself (kExited) with exit code n
//   KilledBy(signo)      ended by signal `signo`, whatever the reason
//   KilledByException(code)  Windows: ended by exception status `code`
//                        (Outcome::exception_code, 0xC0000005)
//   TimedOut()           kTimedOut: Limits::wall_time passed
//   ExceededMemory()     kMemoryExceeded: out-of-memory kill
//   ExceededCpuTime()    kCpuTimeExceeded: Limits::cpu_time passed
//   ExceededFileSize()   kFileSizeExceeded: SIGXFSZ
//   ExceededOutput()     kOutputExceeded: stopped at Limits::output_bytes
//   Cancelled()          kCancelled: the host stopped it
//   KilledBySeccomp(name)  kSeccompViolation for the call `name` ("ptrace");
//                        KilledBySeccomp() for any call (also an unknown one)
//   EndedWith(reason)    any ExitReason
// A failure prints the Outcome ("exited 2 in 3s"), the Status of an error,
// and the end of a RunResult's stderr.
//
// Example:
//   using ::procsandbox_testing::ExitedWith;
//   using ::procsandbox_testing::IsOkAndHolds;
//   using ::procsandbox_testing::StatusIs;
//   using ::testing::HasSubstr;
//
//   EXPECT_THAT(procsandbox::ParseByteSize("64M"), IsOkAndHolds(64 << 20));
//   EXPECT_THAT(procsandbox::ParseByteSize("64X"),
//               StatusIs(absl::StatusCode::kInvalidArgument,
//                        HasSubstr("64X")));
//   procsandbox::Outcome outcome;  // exited 0
//   EXPECT_THAT(outcome, ExitedWith(0));
//   // A host's test, on the fake or a real manager:
//   EXPECT_THAT(procsandbox::RunCommand(manager, cmd), ExitedWith(0));
//
// The namespace is `procsandbox_testing`, not `procsandbox::testing`: under
// `using namespace procsandbox;` a nested `testing` made gtest's
// `testing::HasSubstr` ambiguous (Abseil moved its matchers to `absl_testing`
// for the same reason). The old spelling stays for one release, deprecated,
// through the old headers procsandbox/testing/*.h.
#ifndef PROCSANDBOX_TESTING_MATCHERS_H_
#define PROCSANDBOX_TESTING_MATCHERS_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/outcome.h"
#include "procsandbox/run.h"

namespace procsandbox_testing {
namespace matchers_internal {
class IsOkMatcher;
class StatusIsMatcher;
template <typename InnerMatcher>
class IsOkAndHoldsMatcher;
class OutcomeMatcher;
}  // namespace matchers_internal

// --- Status and StatusOr. ---------------------------------------------------

// Matches an OK `absl::Status`, or an OK `absl::StatusOr<T>`.
//   EXPECT_THAT(env.Set("PATH", "/bin"), IsOk());
inline ::testing::PolymorphicMatcher<matchers_internal::IsOkMatcher> IsOk();

// Matches a Status (or a StatusOr's status) with code `code`.
//   EXPECT_THAT(process->Wait(),
//               StatusIs(absl::StatusCode::kFailedPrecondition));
inline ::testing::PolymorphicMatcher<matchers_internal::StatusIsMatcher>
StatusIs(absl::StatusCode code);

// As above, and the message matches `message`: a string (equality) or a
// string matcher.
//   EXPECT_THAT(ValidateLimits(limits),
//               StatusIs(absl::StatusCode::kInvalidArgument,
//                        HasSubstr("wall_time")));
inline ::testing::PolymorphicMatcher<matchers_internal::StatusIsMatcher>
StatusIs(absl::StatusCode code, ::testing::Matcher<const std::string&> message);

// Matches an OK `absl::StatusOr<T>` whose value matches `matcher` (a value
// for equality, or a matcher of T).
//   EXPECT_THAT(ParseByteSize("64M"), IsOkAndHolds(64 << 20));
template <typename InnerMatcher>
matchers_internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& matcher);

// --- Outcome, RunResult, StatusOr<...>, std::optional<Outcome>. -------------

// The process exited by itself with `exit_code`.
//   EXPECT_THAT(procsandbox::RunCommand(fake, cmd), ExitedWith(0));
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExitedWith(int exit_code);

// The process was ended by signal `signo` (> 0), whatever the reason:
// KilledBy(SIGKILL) matches an OOM kill, a Kill() and a timeout alike.
//   EXPECT_THAT(outcome, KilledBy(SIGSEGV));
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
KilledBy(int signo);

// Windows: the process was ended by the exception status `code`
// (Outcome::exception_code), whatever the reason; on the fake, by
// FakeProcess::Raise(code).
//   EXPECT_THAT(outcome, KilledByException(0xC0000005));  // access violation
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
KilledByException(uint32_t code);

// The process ended with `reason` (any exit code or signal).
//   EXPECT_THAT(outcome, EndedWith(procsandbox::ExitReason::kSignaled));
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
EndedWith(::procsandbox::ExitReason reason);

// EndedWith(kTimedOut): Limits::wall_time passed.
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
TimedOut();
// EndedWith(kMemoryExceeded): killed for Limits::memory_bytes.
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExceededMemory();
// EndedWith(kCpuTimeExceeded): Limits::cpu_time passed.
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExceededCpuTime();
// EndedWith(kFileSizeExceeded): wrote past Limits::file_size_bytes.
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExceededFileSize();
// EndedWith(kOutputExceeded): stopped at Limits::output_bytes (kStop).
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExceededOutput();
// EndedWith(kCancelled): the host stopped it (Terminate, Kill, Signal).
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
Cancelled();
// kSeccompViolation: a call the seccomp filter kills for, named `syscall`
// (Outcome::syscall_name); without a name, any call.
//   EXPECT_THAT(outcome, KilledBySeccomp("ptrace"));
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
KilledBySeccomp(std::optional<std::string> syscall = std::nullopt);

// Implementation details follow.

namespace matchers_internal {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

class IsOkMatcher {
 public:
  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    if (!status.ok()) *listener << "which has status " << status;
    return status.ok();
  }
  void DescribeTo(std::ostream* os) const { *os << "is OK"; }
  void DescribeNegationTo(std::ostream* os) const { *os << "is not OK"; }
};

class StatusIsMatcher {
 public:
  StatusIsMatcher(absl::StatusCode code,
                  std::optional<::testing::Matcher<const std::string&>> message)
      : code_(code), message_(std::move(message)) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status& status = GetStatus(value);
    *listener << "which has status " << status;
    if (status.code() != code_) return false;
    if (!message_.has_value()) return true;
    const std::string message(status.message());
    ::testing::StringMatchResultListener message_listener;
    const bool matches = message_->MatchAndExplain(message, &message_listener);
    if (!message_listener.str().empty()) {
      *listener << ", whose message " << message_listener.str();
    }
    return matches;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has status code " << absl::StatusCodeToString(code_);
    if (message_.has_value()) {
      *os << " and a message that ";
      message_->DescribeTo(os);
    }
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "does not have status code " << absl::StatusCodeToString(code_);
    if (message_.has_value()) {
      *os << " with a message that ";
      message_->DescribeTo(os);
    }
  }

 private:
  absl::StatusCode code_;
  std::optional<::testing::Matcher<const std::string&>> message_;
};

// Becomes a Matcher<const StatusOr<T>&> for the T it is used on, casting the
// inner matcher to a Matcher<const T&> (gmock's way for polymorphic inner
// matchers: a Describe needs T).
template <typename InnerMatcher>
class IsOkAndHoldsMatcher {
 public:
  explicit IsOkAndHoldsMatcher(InnerMatcher inner) : inner_(std::move(inner)) {}

  template <typename StatusOrType>
  operator ::testing::Matcher<StatusOrType>() const {  // NOLINT: implicit
    return ::testing::Matcher<StatusOrType>(
        new Impl<const StatusOrType&>(inner_));
  }

 private:
  template <typename StatusOrRef>
  class Impl : public ::testing::MatcherInterface<StatusOrRef> {
   public:
    using Value = typename std::decay_t<StatusOrRef>::value_type;

    explicit Impl(const InnerMatcher& inner)
        : inner_(::testing::SafeMatcherCast<const Value&>(inner)) {}

    bool MatchAndExplain(
        StatusOrRef status_or,
        ::testing::MatchResultListener* listener) const override {
      if (!status_or.ok()) {
        *listener << "which has status " << status_or.status();
        return false;
      }
      *listener << "which is OK, with value "
                << ::testing::PrintToString(*status_or);
      ::testing::StringMatchResultListener inner_listener;
      const bool matches = inner_.MatchAndExplain(*status_or, &inner_listener);
      if (!inner_listener.str().empty())
        *listener << ", " << inner_listener.str();
      return matches;
    }
    void DescribeTo(std::ostream* os) const override {
      *os << "is OK and has a value that ";
      inner_.DescribeTo(os);
    }
    void DescribeNegationTo(std::ostream* os) const override {
      *os << "is not OK, or has a value that ";
      inner_.DescribeNegationTo(os);
    }

   private:
    ::testing::Matcher<const Value&> inner_;
  };

  InnerMatcher inner_;
};

// The Outcome inside each supported type, or null (explained) when there is
// none.
inline const ::procsandbox::Outcome* GetOutcome(const ::procsandbox::Outcome& outcome,
                                 ::testing::MatchResultListener*) {
  return &outcome;
}
inline const ::procsandbox::Outcome* GetOutcome(const ::procsandbox::RunResult& result,
                                 ::testing::MatchResultListener*) {
  return &result.outcome;
}
inline const ::procsandbox::Outcome* GetOutcome(const std::optional<::procsandbox::Outcome>& outcome,
                                 ::testing::MatchResultListener* listener) {
  if (!outcome.has_value()) {
    *listener << "which has no outcome (not started, or not ended)";
    return nullptr;
  }
  return &*outcome;
}
template <typename T>
const ::procsandbox::Outcome* GetOutcome(const absl::StatusOr<T>& status_or,
                          ::testing::MatchResultListener* listener) {
  if (!status_or.ok()) {
    *listener << "which is an error, not an outcome: " << status_or.status();
    return nullptr;
  }
  return GetOutcome(*status_or, listener);
}

// The end of a RunResult's stderr, which usually says why a run failed.
constexpr std::size_t kStderrTailBytes = 512;
inline void ExplainOutput(const ::procsandbox::Outcome&, ::testing::MatchResultListener*) {}
inline void ExplainOutput(const std::optional<::procsandbox::Outcome>&,
                          ::testing::MatchResultListener*) {}
inline void ExplainOutput(const ::procsandbox::RunResult& result,
                          ::testing::MatchResultListener* listener) {
  if (result.stderr_.empty()) return;
  const std::size_t size = result.stderr_.size();
  const std::size_t start =
      size > kStderrTailBytes ? size - kStderrTailBytes : 0;
  *listener << ", and stderr " << (start > 0 ? "ends with " : "is ")
            << ::testing::PrintToString(result.stderr_.substr(start));
}
template <typename T>
void ExplainOutput(const absl::StatusOr<T>& status_or,
                   ::testing::MatchResultListener* listener) {
  if (status_or.ok()) ExplainOutput(*status_or, listener);
}

// What an Outcome must be; an unset field matches anything.
struct OutcomeSpec {
  std::optional<::procsandbox::ExitReason> reason;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<uint32_t> exception_code;
  std::optional<std::string> syscall_name;
};

class OutcomeMatcher {
 public:
  explicit OutcomeMatcher(OutcomeSpec spec) : spec_(std::move(spec)) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const ::procsandbox::Outcome* outcome = GetOutcome(value, listener);
    if (outcome == nullptr) return false;
    *listener << "whose outcome is \"" << *outcome << "\" (reason "
              << ::procsandbox::ExitReasonName(outcome->reason) << ", exit code "
              << outcome->exit_code << ", signal "
              << (outcome->signal == 0 ? "none" : ::procsandbox::SignalName(outcome->signal));
    if (outcome->exception_code != 0) {
      *listener << ", exception " << ::procsandbox::ExceptionName(outcome->exception_code);
    }
    *listener << ")";
    const bool matches = Matches(*outcome);
    if (!matches) ExplainOutput(value, listener);
    return matches;
  }
  void DescribeTo(std::ostream* os) const { Describe(os, false); }
  void DescribeNegationTo(std::ostream* os) const { Describe(os, true); }

 private:
  bool Matches(const ::procsandbox::Outcome& outcome) const {
    return (!spec_.reason || outcome.reason == *spec_.reason) &&
           (!spec_.exit_code || outcome.exit_code == *spec_.exit_code) &&
           (!spec_.signal || outcome.signal == *spec_.signal) &&
           (!spec_.exception_code ||
            outcome.exception_code == *spec_.exception_code) &&
           (!spec_.syscall_name || outcome.syscall_name == *spec_.syscall_name);
  }
  void Describe(std::ostream* os, bool negated) const {
    *os << (negated ? "is not an outcome that " : "is an outcome that ");
    if (spec_.syscall_name) {
      *os << "was killed by seccomp for " << *spec_.syscall_name;
    } else if (spec_.reason == ::procsandbox::ExitReason::kExited && spec_.exit_code) {
      *os << "exited with code " << *spec_.exit_code;
    } else if (spec_.exception_code) {
      *os << "was ended by " << ::procsandbox::ExceptionName(*spec_.exception_code);
    } else if (spec_.signal) {
      *os << "was ended by " << ::procsandbox::SignalName(*spec_.signal);
    } else if (spec_.reason) {
      *os << "ended as " << ::procsandbox::ExitReasonName(*spec_.reason);
    }
  }

  OutcomeSpec spec_;
};

inline ::testing::PolymorphicMatcher<OutcomeMatcher> MakeOutcomeMatcher(
    OutcomeSpec spec) {
  return ::testing::MakePolymorphicMatcher(OutcomeMatcher(spec));
}

}  // namespace matchers_internal

inline ::testing::PolymorphicMatcher<matchers_internal::IsOkMatcher> IsOk() {
  return ::testing::MakePolymorphicMatcher(matchers_internal::IsOkMatcher());
}

inline ::testing::PolymorphicMatcher<matchers_internal::StatusIsMatcher>
StatusIs(absl::StatusCode code) {
  return ::testing::MakePolymorphicMatcher(
      matchers_internal::StatusIsMatcher(code, std::nullopt));
}

inline ::testing::PolymorphicMatcher<matchers_internal::StatusIsMatcher>
StatusIs(absl::StatusCode code,
         ::testing::Matcher<const std::string&> message) {
  return ::testing::MakePolymorphicMatcher(
      matchers_internal::StatusIsMatcher(code, std::move(message)));
}

template <typename InnerMatcher>
matchers_internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>> IsOkAndHolds(
    InnerMatcher&& matcher) {
  return matchers_internal::IsOkAndHoldsMatcher<std::decay_t<InnerMatcher>>(
      std::forward<InnerMatcher>(matcher));
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExitedWith(int exit_code) {
  return matchers_internal::MakeOutcomeMatcher({::procsandbox::ExitReason::kExited, exit_code,
                                                std::nullopt, std::nullopt,
                                                std::nullopt});
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
KilledBy(int signo) {
  return matchers_internal::MakeOutcomeMatcher(
      {std::nullopt, std::nullopt, signo, std::nullopt, std::nullopt});
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
KilledByException(uint32_t code) {
  return matchers_internal::MakeOutcomeMatcher(
      {std::nullopt, std::nullopt, std::nullopt, code, std::nullopt});
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
EndedWith(::procsandbox::ExitReason reason) {
  return matchers_internal::MakeOutcomeMatcher(
      {reason, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
TimedOut() {
  return EndedWith(::procsandbox::ExitReason::kTimedOut);
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExceededMemory() {
  return EndedWith(::procsandbox::ExitReason::kMemoryExceeded);
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExceededCpuTime() {
  return EndedWith(::procsandbox::ExitReason::kCpuTimeExceeded);
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExceededFileSize() {
  return EndedWith(::procsandbox::ExitReason::kFileSizeExceeded);
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
ExceededOutput() {
  return EndedWith(::procsandbox::ExitReason::kOutputExceeded);
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
Cancelled() {
  return EndedWith(::procsandbox::ExitReason::kCancelled);
}

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
KilledBySeccomp(std::optional<std::string> syscall) {
  matchers_internal::OutcomeSpec spec;
  spec.reason = ::procsandbox::ExitReason::kSeccompViolation;
  spec.syscall_name = std::move(syscall);
  return matchers_internal::MakeOutcomeMatcher(std::move(spec));
}

}  // namespace procsandbox_testing

#endif  // PROCSANDBOX_TESTING_MATCHERS_H_
