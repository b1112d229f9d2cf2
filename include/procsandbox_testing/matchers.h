// procsandbox_testing/matchers.h: gtest matchers for Status, Outcome and
// the Sandbox's results.
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
// `RunResult`, a `SandboxResult`, an `absl::StatusOr` of any of them (an
// error never matches), and a `std::optional<Outcome>` (`FakeRun::outcome`;
// nullopt never matches):
//   ExitedWith(n)        exited by itself (kExited) with exit code n
//   KilledBy(signo)      ended by signal `signo`, whatever the reason
//   KilledByException(code)  Windows: ended by exception status `code`
//                        (Outcome::exception_code, 0xC0000005)
//   StoppedGracefully(n) asked to stop (Terminate(), Sandbox::Cancel(), the
//                        wall-time deadline, an output stop) and exited by
//                        itself with code n within the kill grace
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
// and the end of a RunResult's or SandboxResult's stderr (with the
// SandboxResult's status).
//
// Sandbox matchers (sandbox/result.h, violation.h, quota.h):
//   HasSandboxStatus(s)  a SandboxResult, or what Sandbox::Run() returned
//                        (`absl::StatusOr<SandboxResult>`: an error maps
//                        through StatusOf()), or an error `absl::Status`
//                        (mapped the same way; an OK Status never matches)
//   HasViolation(kind)   an error `absl::Status` / `absl::StatusOr<T>`
//                        carrying a SecurityViolation of `kind`
//                        (GetSecurityViolation); a SandboxResult records no
//                        violation (a refused run is an error), so it does
//                        not compile there
//   ExceededQuota(kind)  an error `absl::Status` / `absl::StatusOr<T>`
//                        carrying a QuotaExceeded of `kind`
//                        (GetQuotaExceeded)
// A failure prints the status, the outcome, the violation or quota refusal,
// and the end of stderr. These need the sandbox layer, which the Windows
// build does not have yet (using them there fails to link; the others work).
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
//   // And through a Sandbox:
//   EXPECT_THAT(sandbox.Run(request), ExitedWith(0));
//   EXPECT_THAT(sandbox.Run(sudo_request),
//               AllOf(HasSandboxStatus(SandboxStatus::kRejected),
//                     HasViolation(SecurityViolation::Kind::kPrivilegeTool)));
//
// The namespace is `procsandbox_testing`, not `procsandbox::testing`: under
// `using namespace procsandbox;` a nested `testing` made gtest's
// `testing::HasSubstr` ambiguous (Abseil moved its matchers to `absl_testing`
// for the same reason). The old spelling stays for one release, deprecated,
// through the old headers procsandbox/testing/*.h.
#ifndef PROCSANDBOX_TESTING_MATCHERS_H_
#define PROCSANDBOX_TESTING_MATCHERS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/outcome.h"
#include "procsandbox/run.h"
#include "procsandbox/sandbox/quota.h"
#include "procsandbox/sandbox/result.h"
#include "procsandbox/sandbox/violation.h"

namespace procsandbox_testing {
namespace matchers_internal {
class IsOkMatcher;
class StatusIsMatcher;
template <typename InnerMatcher>
class IsOkAndHoldsMatcher;
class OutcomeMatcher;
class SandboxStatusMatcher;
template <typename Payload>
class PayloadMatcher;
struct ViolationPayload;
struct QuotaPayload;
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

// --- Outcome, RunResult, SandboxResult, StatusOr<...>, optional<Outcome>. ---

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

// The library asked the process to stop and it exited by itself with
// `exit_code` before the kill grace (Command::kill_grace) ran out: the
// reason is the one the stop was for (kCancelled for Terminate(),
// Sandbox::Cancel() or SandboxProcess::Finish(); kTimedOut for
// Limits::wall_time; kOutputExceeded for an output stop), and no signal
// ended it (Outcome::signal 0, no exception). A process the grace ran out
// on was killed (KilledBy(SIGKILL)) and does not match; neither does one
// that exited before any stop (ExitedWith).
//   process->Terminate();
//   EXPECT_THAT(process->Wait(), StoppedGracefully(0));
inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
StoppedGracefully(int exit_code);

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

// --- The Sandbox's results and refusals. ------------------------------------

// The run's SandboxStatus: SandboxResult::status; for what Sandbox::Run()
// returned, StatusOf() (an error maps to kRejected, kCancelled or kError);
// for an error `absl::Status` (Launch()'s), the same mapping. An OK
// `absl::Status` never matches: it says nothing about a run.
//   EXPECT_THAT(sandbox.Run(request),
//   HasSandboxStatus(SandboxStatus::kFailed));
inline ::testing::PolymorphicMatcher<matchers_internal::SandboxStatusMatcher>
HasSandboxStatus(::procsandbox::SandboxStatus status);

// An error Status (or a StatusOr's) carrying a SecurityViolation of `kind`
// (GetSecurityViolation): the policy refused the request. An OK status, or
// an error without that payload, does not match.
//   EXPECT_THAT(sandbox.Run(sudo),
//               HasViolation(SecurityViolation::Kind::kPrivilegeTool));
inline ::testing::PolymorphicMatcher<
    matchers_internal::PayloadMatcher<matchers_internal::ViolationPayload>>
HasViolation(::procsandbox::SecurityViolation::Kind kind);

// An error Status (or a StatusOr's) carrying a QuotaExceeded of `kind`
// (GetQuotaExceeded): the request's key was over its quota.
//   EXPECT_THAT(sandbox.Run(request),
//               ExceededQuota(QuotaExceeded::Kind::kRate));
inline ::testing::PolymorphicMatcher<
    matchers_internal::PayloadMatcher<matchers_internal::QuotaPayload>>
ExceededQuota(::procsandbox::QuotaExceeded::Kind kind);

// Implementation details follow.

namespace matchers_internal {

inline const absl::Status& GetStatus(const absl::Status& status) {
  return status;
}
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}
template <typename T>
struct IsStatusOr : std::false_type {};
template <typename T>
struct IsStatusOr<absl::StatusOr<T>> : std::true_type {};

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

// For a type no matcher accepts: a readable error instead of a failed
// overload resolution deep in gmock.
template <typename T>
struct AlwaysFalse : std::false_type {};

// A violation with its subject (the program, path or variable refused).
inline void ExplainViolation(const ::procsandbox::SecurityViolation& v,
                             ::testing::MatchResultListener* listener) {
  *listener << "security violation " << ::procsandbox::ToString(v);
  if (!v.subject.empty()) {
    *listener << " (subject " << ::testing::PrintToString(v.subject) << ")";
  }
}

// What the Status says besides its code and message: the security violation
// or the quota refusal it carries.
inline void ExplainPayload(const absl::Status& status,
                           ::testing::MatchResultListener* listener) {
  if (auto v = ::procsandbox::GetSecurityViolation(status)) {
    *listener << ", with ";
    ExplainViolation(*v, listener);
  }
  if (auto q = ::procsandbox::GetQuotaExceeded(status)) {
    *listener << ", with quota exceeded " << ::procsandbox::ToString(*q);
  }
}

// The Outcome inside each supported type, or null (explained) when there is
// none.
inline const ::procsandbox::Outcome* GetOutcome(
    const ::procsandbox::Outcome& outcome, ::testing::MatchResultListener*) {
  return &outcome;
}
inline const ::procsandbox::Outcome* GetOutcome(
    const ::procsandbox::RunResult& result, ::testing::MatchResultListener*) {
  return &result.outcome;
}
inline const ::procsandbox::Outcome* GetOutcome(
    const ::procsandbox::SandboxResult& result,
    ::testing::MatchResultListener*) {
  return &result.outcome;
}
inline const ::procsandbox::Outcome* GetOutcome(
    const std::optional<::procsandbox::Outcome>& outcome,
    ::testing::MatchResultListener* listener) {
  if (!outcome.has_value()) {
    *listener << "which has no outcome (not started, or not ended)";
    return nullptr;
  }
  return &*outcome;
}
template <typename T>
const ::procsandbox::Outcome* GetOutcome(
    const absl::StatusOr<T>& status_or,
    ::testing::MatchResultListener* listener) {
  if (!status_or.ok()) {
    *listener << "which is an error, not an outcome: " << status_or.status();
    return nullptr;
  }
  return GetOutcome(*status_or, listener);
}
// What Sandbox::Run() returned: an error says why the run was refused.
inline const ::procsandbox::Outcome* GetOutcome(
    const absl::StatusOr<::procsandbox::SandboxResult>& result,
    ::testing::MatchResultListener* listener) {
  if (!result.ok()) {
    *listener << "which is an error, not an outcome (sandbox status "
              << ::procsandbox::SandboxStatusName(
                     ::procsandbox::StatusOf(result))
              << "): " << result.status();
    ExplainPayload(result.status(), listener);
    return nullptr;
  }
  return &result->outcome;
}
template <typename T>
const ::procsandbox::Outcome* GetOutcome(const T&,
                                         ::testing::MatchResultListener*) {
  static_assert(AlwaysFalse<T>::value,
                "the outcome matchers (ExitedWith, TimedOut, ...) accept an "
                "Outcome, RunResult, SandboxResult, absl::StatusOr of these, "
                "or std::optional<Outcome>");
  return nullptr;
}

// The end of a captured stderr, which usually says why a run failed.
constexpr std::size_t kStderrTailBytes = 512;
inline void ExplainStderr(const std::string& stderr_text,
                          ::testing::MatchResultListener* listener) {
  if (stderr_text.empty()) return;
  const std::size_t size = stderr_text.size();
  const std::size_t start =
      size > kStderrTailBytes ? size - kStderrTailBytes : 0;
  *listener << ", and stderr " << (start > 0 ? "ends with " : "is ")
            << ::testing::PrintToString(stderr_text.substr(start));
}
// What a mismatch adds after the outcome: nothing for a bare Outcome.
inline void ExplainOutput(const ::procsandbox::Outcome&,
                          ::testing::MatchResultListener*) {}
inline void ExplainOutput(const std::optional<::procsandbox::Outcome>&,
                          ::testing::MatchResultListener*) {}
inline void ExplainOutput(const ::procsandbox::RunResult& result,
                          ::testing::MatchResultListener* listener) {
  ExplainStderr(result.stderr_, listener);
}
inline void ExplainOutput(const ::procsandbox::SandboxResult& result,
                          ::testing::MatchResultListener* listener) {
  *listener << ", sandbox status "
            << ::procsandbox::SandboxStatusName(result.status);
  ExplainStderr(result.stderr_, listener);
}
template <typename T>
void ExplainOutput(const absl::StatusOr<T>& status_or,
                   ::testing::MatchResultListener* listener) {
  if (status_or.ok()) ExplainOutput(*status_or, listener);
}
// A type GetOutcome refuses (its static_assert says why).
template <typename T>
void ExplainOutput(const T&, ::testing::MatchResultListener*) {}

// What an Outcome must be; an unset field matches anything.
struct OutcomeSpec {
  std::optional<::procsandbox::ExitReason> reason;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<uint32_t> exception_code;
  std::optional<std::string> syscall_name;
  // StoppedGracefully: a reason of a stop the library asks for with a grace
  // (kCancelled, kTimedOut, kOutputExceeded), and no signal or exception.
  bool stopped_gracefully = false;
};

// The ends the library brings about by asking first (SIGTERM, then SIGKILL
// after the grace): Terminate() and the Sandbox's cancel, the wall-time
// deadline, an output stop.
inline bool IsGracefulStopReason(::procsandbox::ExitReason reason) {
  return reason == ::procsandbox::ExitReason::kCancelled ||
         reason == ::procsandbox::ExitReason::kTimedOut ||
         reason == ::procsandbox::ExitReason::kOutputExceeded;
}

class OutcomeMatcher {
 public:
  explicit OutcomeMatcher(OutcomeSpec spec) : spec_(std::move(spec)) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const ::procsandbox::Outcome* outcome = GetOutcome(value, listener);
    if (outcome == nullptr) return false;
    *listener << "whose outcome is \"" << *outcome << "\" (reason "
              << ::procsandbox::ExitReasonName(outcome->reason)
              << ", exit code " << outcome->exit_code << ", signal "
              << (outcome->signal == 0
                      ? "none"
                      : ::procsandbox::SignalName(outcome->signal));
    if (outcome->exception_code != 0) {
      *listener << ", exception "
                << ::procsandbox::ExceptionName(outcome->exception_code);
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
           (!spec_.syscall_name ||
            outcome.syscall_name == *spec_.syscall_name) &&
           (!spec_.stopped_gracefully ||
            (IsGracefulStopReason(outcome.reason) && outcome.signal == 0 &&
             outcome.exception_code == 0));
  }
  void Describe(std::ostream* os, bool negated) const {
    *os << (negated ? "is not an outcome that " : "is an outcome that ");
    if (spec_.stopped_gracefully && spec_.exit_code) {
      *os << "was asked to stop and exited by itself with code "
          << *spec_.exit_code << " within its grace";
    } else if (spec_.syscall_name) {
      *os << "was killed by seccomp for " << *spec_.syscall_name;
    } else if (spec_.reason == ::procsandbox::ExitReason::kExited &&
               spec_.exit_code) {
      *os << "exited with code " << *spec_.exit_code;
    } else if (spec_.exception_code) {
      *os << "was ended by "
          << ::procsandbox::ExceptionName(*spec_.exception_code);
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

// The SandboxStatus of each supported type, or nullopt (explained) when it
// has none.
inline std::optional<::procsandbox::SandboxStatus> GetSandboxStatus(
    const ::procsandbox::SandboxResult& result,
    ::testing::MatchResultListener* listener) {
  *listener << "which has sandbox status "
            << ::procsandbox::SandboxStatusName(result.status) << " (outcome \""
            << result.outcome << "\")";
  return result.status;
}
inline std::optional<::procsandbox::SandboxStatus> GetSandboxStatus(
    const absl::Status& status, ::testing::MatchResultListener* listener) {
  if (status.ok()) {
    *listener << "which is OK, and an OK Status says nothing about a run";
    return std::nullopt;
  }
  const ::procsandbox::SandboxStatus mapped = ::procsandbox::StatusOf(
      absl::StatusOr<::procsandbox::SandboxResult>(status));
  *listener << "which is an error with sandbox status "
            << ::procsandbox::SandboxStatusName(mapped) << ": " << status;
  ExplainPayload(status, listener);
  return mapped;
}
inline std::optional<::procsandbox::SandboxStatus> GetSandboxStatus(
    const absl::StatusOr<::procsandbox::SandboxResult>& result,
    ::testing::MatchResultListener* listener) {
  if (!result.ok()) return GetSandboxStatus(result.status(), listener);
  return GetSandboxStatus(*result, listener);
}
template <typename T>
std::optional<::procsandbox::SandboxStatus> GetSandboxStatus(
    const T&, ::testing::MatchResultListener*) {
  static_assert(AlwaysFalse<T>::value,
                "HasSandboxStatus accepts a SandboxResult, an "
                "absl::StatusOr<SandboxResult> or an absl::Status");
  return std::nullopt;
}

class SandboxStatusMatcher {
 public:
  explicit SandboxStatusMatcher(::procsandbox::SandboxStatus status)
      : status_(status) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const std::optional<::procsandbox::SandboxStatus> status =
        GetSandboxStatus(value, listener);
    const bool matches = status.has_value() && *status == status_;
    if (!matches) ExplainOutput(value, listener);
    return matches;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "has sandbox status " << ::procsandbox::SandboxStatusName(status_);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "does not have sandbox status "
        << ::procsandbox::SandboxStatusName(status_);
  }

 private:
  // A mismatched result's stderr (its status is already said).
  static void ExplainOutput(const ::procsandbox::SandboxResult& result,
                            ::testing::MatchResultListener* listener) {
    ExplainStderr(result.stderr_, listener);
  }
  static void ExplainOutput(
      const absl::StatusOr<::procsandbox::SandboxResult>& result,
      ::testing::MatchResultListener* listener) {
    if (result.ok()) ExplainOutput(*result, listener);
  }
  // An error Status (already said), or a type GetSandboxStatus refuses.
  template <typename T>
  static void ExplainOutput(const T&, ::testing::MatchResultListener*) {}

  ::procsandbox::SandboxStatus status_;
};

// The Status of a type the payload matchers accept.
template <typename T>
absl::Status GetPayloadStatus(const T& value) {
  static_assert(
      std::is_same_v<T, absl::Status> || IsStatusOr<T>::value,
      "HasViolation and ExceededQuota accept an absl::Status or an "
      "absl::StatusOr<T>: a refused run is an error, never a SandboxResult");
  if constexpr (std::is_same_v<T, absl::Status> || IsStatusOr<T>::value) {
    return GetStatus(value);
  } else {
    return absl::OkStatus();
  }
}

// The two payloads a refusal carries: how each is read, named and shown.
struct ViolationPayload {
  using Kind = ::procsandbox::SecurityViolation::Kind;
  static constexpr const char* kWhat = "security violation";
  static std::optional<::procsandbox::SecurityViolation> Get(
      const absl::Status& status) {
    return ::procsandbox::GetSecurityViolation(status);
  }
  static absl::string_view KindName(Kind kind) {
    return ::procsandbox::SecurityViolationKindName(kind);
  }
  static void Explain(const ::procsandbox::SecurityViolation& v,
                      ::testing::MatchResultListener* listener) {
    ExplainViolation(v, listener);
  }
};
struct QuotaPayload {
  using Kind = ::procsandbox::QuotaExceeded::Kind;
  static constexpr const char* kWhat = "quota refusal";
  static std::optional<::procsandbox::QuotaExceeded> Get(
      const absl::Status& status) {
    return ::procsandbox::GetQuotaExceeded(status);
  }
  static absl::string_view KindName(Kind kind) {
    return ::procsandbox::QuotaExceededKindName(kind);
  }
  static void Explain(const ::procsandbox::QuotaExceeded& q,
                      ::testing::MatchResultListener* listener) {
    *listener << "quota exceeded " << ::procsandbox::ToString(q);
  }
};

// HasViolation and ExceededQuota: an error carrying `Payload` of a kind.
template <typename Payload>
class PayloadMatcher {
 public:
  explicit PayloadMatcher(typename Payload::Kind kind) : kind_(kind) {}

  template <typename T>
  bool MatchAndExplain(const T& value,
                       ::testing::MatchResultListener* listener) const {
    const absl::Status status = GetPayloadStatus(value);
    const auto payload = Payload::Get(status);
    if (!payload.has_value()) {
      if (status.ok()) {
        *listener << "which is OK";
      } else {
        *listener << "which carries no " << Payload::kWhat << ": " << status;
        ExplainPayload(status, listener);  // the other kind, if any
      }
      return false;
    }
    *listener << "which carries ";
    Payload::Explain(*payload, listener);
    return payload->kind == kind_;
  }
  void DescribeTo(std::ostream* os) const {
    *os << "is an error carrying a " << Payload::kWhat << " of kind "
        << Payload::KindName(kind_);
  }
  void DescribeNegationTo(std::ostream* os) const {
    *os << "is not an error carrying a " << Payload::kWhat << " of kind "
        << Payload::KindName(kind_);
  }

 private:
  typename Payload::Kind kind_;
};

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
  return matchers_internal::MakeOutcomeMatcher(
      {::procsandbox::ExitReason::kExited, exit_code, std::nullopt,
       std::nullopt, std::nullopt});
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

inline ::testing::PolymorphicMatcher<matchers_internal::OutcomeMatcher>
StoppedGracefully(int exit_code) {
  matchers_internal::OutcomeSpec spec;
  spec.exit_code = exit_code;
  spec.stopped_gracefully = true;
  return matchers_internal::MakeOutcomeMatcher(std::move(spec));
}

inline ::testing::PolymorphicMatcher<matchers_internal::SandboxStatusMatcher>
HasSandboxStatus(::procsandbox::SandboxStatus status) {
  return ::testing::MakePolymorphicMatcher(
      matchers_internal::SandboxStatusMatcher(status));
}

inline ::testing::PolymorphicMatcher<
    matchers_internal::PayloadMatcher<matchers_internal::ViolationPayload>>
HasViolation(::procsandbox::SecurityViolation::Kind kind) {
  return ::testing::MakePolymorphicMatcher(
      matchers_internal::PayloadMatcher<matchers_internal::ViolationPayload>(
          kind));
}

inline ::testing::PolymorphicMatcher<
    matchers_internal::PayloadMatcher<matchers_internal::QuotaPayload>>
ExceededQuota(::procsandbox::QuotaExceeded::Kind kind) {
  return ::testing::MakePolymorphicMatcher(
      matchers_internal::PayloadMatcher<matchers_internal::QuotaPayload>(kind));
}

}  // namespace procsandbox_testing

#endif  // PROCSANDBOX_TESTING_MATCHERS_H_
