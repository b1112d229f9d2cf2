// procsandbox_testing/mocks.h: GoogleMock mocks of Manager and Process.
//
// `MockManager` and `MockProcess` mock every pure virtual method of
// `procsandbox::Manager` and `procsandbox::Process`. They suit a test that
// wants to script exact calls or inject a failure the fake does not model;
// for everything else prefer the in-memory `MemoryManager`
// (memory_manager.h), which runs scripted programs and keeps the contract.
//
// `MockManager` keeps the convenience overload `New(program, args)`: it
// forwards to the mocked `New(Command)`, so an expectation on `New` sees the
// Command either way.
//
// Example (the host function under test takes a `Manager&`):
//   absl::StatusOr<procsandbox::Outcome> RunTool(procsandbox::Manager& m) {
//     std::shared_ptr<procsandbox::Process> p = m.New("tool", {"--check"});
//     if (absl::Status s = p->Start(); !s.ok()) return s;
//     return p->Wait();
//   }
//
//   TEST(RunToolTest, ReturnsTheToolsOutcome) {
//     using ::testing::Field;
//     using ::testing::Return;
//     auto process = std::make_shared<procsandbox_testing::MockProcess>();
//     procsandbox::Outcome exited;
//     exited.exit_code = 3;
//     EXPECT_CALL(*process, Start()).WillOnce(Return(absl::OkStatus()));
//     EXPECT_CALL(*process, Wait()).WillOnce(Return(exited));
//     procsandbox_testing::MockManager manager;
//     EXPECT_CALL(manager, New(Field(&procsandbox::Command::program, "tool")))
//         .WillOnce(Return(process));
//     EXPECT_THAT(RunTool(manager), procsandbox_testing::ExitedWith(3));
//   }
//
// A call without an expectation returns gmock's default: an OK
// `absl::Status`, an Unknown-error `absl::StatusOr`, a null pointer, a
// default value. Wrap a mock in `::testing::NiceMock` to silence warnings
// about such calls. Two defaults differ, so that a host under test never
// meets a null process (Manager::New never fails):
//   - `MockManager::New` without a matching expectation returns a fresh
//     `NiceMock<MockProcess>` per call, whose `command()` is the Command
//     given to New and `GetLimits()` its limits. Start(), Terminate(),
//     Kill() and the other Status calls return OK (gmock's default), and
//     Wait(), WaitFor(), ReadLine(), Read() and Verify() return
//     Unimplemented naming the call and how to script it: a host that runs
//     the program sees an error, never a made-up outcome. To script how it
//     ends, return your own MockProcess from a `New` expectation (as in the
//     example), or use the MemoryManager. `EXPECT_CALL(manager, New(m))`
//     without an action checks the Command and still returns such a
//     process (MockManager::DefaultProcess).
//   - An `EXPECT_CALL(manager, New(...))` or `ON_CALL` you write replaces
//     that default as usual.
#ifndef PROCSANDBOX_TESTING_MOCKS_H_
#define PROCSANDBOX_TESTING_MOCKS_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "procsandbox/capabilities.h"
#include "procsandbox/command.h"
#include "procsandbox/limits.h"
#include "procsandbox/manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/stdio.h"
#include "procsandbox/verification.h"

namespace procsandbox_testing {

// A gmock `Process`. Share it as a `std::shared_ptr<Process>` from a
// `MockManager::New` expectation.
class MockProcess : public ::procsandbox::Process {
 public:
  MOCK_METHOD(absl::Status, SetStdin, (::procsandbox::Stdio stdio), (override));
  MOCK_METHOD(absl::Status, SetStdout, (::procsandbox::Stdio stdio),
              (override));
  MOCK_METHOD(absl::Status, SetStderr, (::procsandbox::Stdio stdio),
              (override));
  MOCK_METHOD(absl::Status, SetLimits, (const ::procsandbox::Limits& limits),
              (override));
  MOCK_METHOD(::procsandbox::Limits, GetLimits, (), (const, override));
  MOCK_METHOD(::procsandbox::Command, command, (), (const, override));

  MOCK_METHOD(absl::Status, Start, (), (override));
  MOCK_METHOD(absl::StatusOr<::procsandbox::Outcome>, Wait, (), (override));
  MOCK_METHOD(absl::StatusOr<::procsandbox::Outcome>, WaitFor,
              (absl::Duration timeout), (override));

  MOCK_METHOD(absl::Status, Signal, (int signo), (override));
  MOCK_METHOD(absl::Status, Terminate, (), (override));
  MOCK_METHOD(absl::Status, Kill, (), (override));
  MOCK_METHOD(absl::Status, Suspend, (), (override));
  MOCK_METHOD(absl::Status, Resume, (), (override));

  MOCK_METHOD(absl::Status, Write, (absl::string_view data), (override));
  MOCK_METHOD(absl::Status, CloseStdin, (), (override));
  MOCK_METHOD(absl::StatusOr<std::string>, ReadLine,
              (::procsandbox::Stream stream, absl::Duration timeout),
              (override));
  MOCK_METHOD(absl::StatusOr<std::string>, Read,
              (::procsandbox::Stream stream, std::size_t max_bytes,
               absl::Duration timeout),
              (override));

  MOCK_METHOD(::procsandbox::Pid, Id, (), (const, override));
  MOCK_METHOD(::procsandbox::ProcessState, state, (), (const, override));
  MOCK_METHOD(bool, Running, (), (const, override));
  MOCK_METHOD(std::optional<int>, ExitCode, (), (const, override));
  MOCK_METHOD(::procsandbox::ResourceUsage, Usage, (), (const, override));
  MOCK_METHOD(::procsandbox::Enforcement, enforcement, (), (const, override));
  MOCK_METHOD(::procsandbox::CapturedOutput, Captured, (), (const, override));
  MOCK_METHOD(absl::StatusOr<::procsandbox::Verification>, Verify, (),
              (override));
};

// A gmock `Manager`. `New(program, args)` stays usable and reaches the mocked
// `New(Command)`.
class MockManager : public ::procsandbox::Manager {
 public:
  // New() without an expectation returns DefaultProcess(command).
  MockManager() {
    ON_CALL(*this, New(::testing::_))
        .WillByDefault(&MockManager::DefaultProcess);
  }

  // A fresh NiceMock<MockProcess> for `command`, with the defaults the file
  // comment lists.
  static std::shared_ptr<::procsandbox::Process> DefaultProcess(
      const ::procsandbox::Command& command) {
    using ::procsandbox::Outcome;
    using ::procsandbox::Verification;
    using ::testing::_;
    using ::testing::Return;
    auto process = std::make_shared<::testing::NiceMock<MockProcess>>();
    const std::string& program = command.program;
    ON_CALL(*process, command()).WillByDefault(Return(command));
    ON_CALL(*process, GetLimits()).WillByDefault(Return(command.limits));
    ON_CALL(*process, Wait())
        .WillByDefault(Return(Unscripted<Outcome>("Wait", program)));
    ON_CALL(*process, WaitFor(_))
        .WillByDefault(Return(Unscripted<Outcome>("WaitFor", program)));
    ON_CALL(*process, ReadLine(_, _))
        .WillByDefault(Return(Unscripted<std::string>("ReadLine", program)));
    ON_CALL(*process, Read(_, _, _))
        .WillByDefault(Return(Unscripted<std::string>("Read", program)));
    ON_CALL(*process, Verify())
        .WillByDefault(Return(Unscripted<Verification>("Verify", program)));
    return process;
  }

  using ::procsandbox::Manager::New;
  MOCK_METHOD(std::shared_ptr<::procsandbox::Process>, New,
              (::procsandbox::Command command), (override));
  MOCK_METHOD(absl::StatusOr<std::shared_ptr<::procsandbox::Process>>, Get,
              (::procsandbox::Pid pid), (const, override));
  MOCK_METHOD(std::vector<std::shared_ptr<::procsandbox::Process>>, List, (),
              (const, override));
  MOCK_METHOD(absl::Status, SetDefaultLimits,
              (const ::procsandbox::Limits& limits), (override));
  MOCK_METHOD(::procsandbox::Limits, GetDefaultLimits, (), (const, override));
  MOCK_METHOD(::procsandbox::Capabilities, capabilities, (), (const, override));
  MOCK_METHOD(absl::Time, Now, (), (const, override));

 private:
  // What the default process's unscripted calls return.
  template <typename T>
  static absl::StatusOr<T> Unscripted(const char* call,
                                      const std::string& program) {
    return absl::UnimplementedError(
        std::string("MockProcess::") + call + " of \"" + program +
        "\": not scripted (the default process of MockManager::New; return "
        "your own MockProcess from EXPECT_CALL(manager, New(...)))");
  }
};

}  // namespace procsandbox_testing

#endif  // PROCSANDBOX_TESTING_MOCKS_H_
