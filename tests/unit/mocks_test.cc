#include "procsandbox_testing/mocks.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/command.h"
#include "procsandbox/manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox_testing/matchers.h"

namespace {

using ::procsandbox::Command;
using ::procsandbox::Outcome;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::MockManager;
using ::procsandbox_testing::MockProcess;
using ::procsandbox_testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::InSequence;
using ::testing::Return;

// The host function of mocks.h's example: it only knows a Manager&.
absl::StatusOr<Outcome> RunTool(procsandbox::Manager& m) {
  std::shared_ptr<procsandbox::Process> p = m.New("tool", {"--check"});
  if (absl::Status s = p->Start(); !s.ok()) return s;
  return p->Wait();
}

TEST(MocksTest, HostFunctionGetsTheOutcomeTheMockReturns) {
  auto process = std::make_shared<MockProcess>();
  Outcome exited;
  exited.exit_code = 3;
  {
    InSequence in_order;
    EXPECT_CALL(*process, Start()).WillOnce(Return(absl::OkStatus()));
    EXPECT_CALL(*process, Wait()).WillOnce(Return(exited));
  }
  MockManager manager;
  EXPECT_CALL(manager, New(Field(&Command::program, "tool")))
      .WillOnce(Return(process));

  EXPECT_THAT(RunTool(manager), ExitedWith(3));
}

TEST(MocksTest, NewWithProgramAndArgsReachesTheMockedNew) {
  MockManager manager;
  EXPECT_CALL(manager,
              New(AllOf(Field(&Command::program, "tool"),
                        Field(&Command::args, ElementsAre("--check")))))
      .WillOnce(Return(std::make_shared<MockProcess>()));

  EXPECT_NE(manager.New("tool", {"--check"}), nullptr);
}

TEST(MocksTest, HostFunctionReturnsAStartFailureWithoutWaiting) {
  auto process = std::make_shared<MockProcess>();
  EXPECT_CALL(*process, Start())
      .WillOnce(Return(absl::NotFoundError("exec \"tool\": no such file")));
  EXPECT_CALL(*process, Wait()).Times(0);
  MockManager manager;
  EXPECT_CALL(manager, New(::testing::_)).WillOnce(Return(process));

  EXPECT_THAT(RunTool(manager),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("\"tool\"")));
}

TEST(MocksTest, NewWithoutAnExpectationReturnsAFreshProcess) {
  MockManager manager;
  procsandbox::Command cmd("tool", {"--check"});
  cmd.limits.wall_time = absl::Seconds(10);
  std::shared_ptr<procsandbox::Process> first = manager.New(cmd);
  std::shared_ptr<procsandbox::Process> second = manager.New("other", {});
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  EXPECT_EQ(first->command(), cmd);
  EXPECT_EQ(first->GetLimits(), cmd.limits);
  EXPECT_EQ(second->command().program, "other");
  EXPECT_THAT(first->Start(), IsOk());
  EXPECT_THAT(first->Terminate(), IsOk());
}

TEST(MocksTest, TheDefaultProcessNamesWhatIsNotScripted) {
  MockManager manager;
  std::shared_ptr<procsandbox::Process> p = manager.New("tool", {});
  const auto unscripted = [](const char* call) {
    return StatusIs(absl::StatusCode::kUnimplemented,
                    AllOf(HasSubstr(call), HasSubstr("\"tool\""),
                          HasSubstr("EXPECT_CALL(manager, New(")));
  };
  EXPECT_THAT(p->Wait(), unscripted("MockProcess::Wait "));
  EXPECT_THAT(p->TryWait(), unscripted("MockProcess::WaitFor "));
  EXPECT_THAT(p->ReadLine(procsandbox::Stream::kStdout, absl::Seconds(1)),
              unscripted("MockProcess::ReadLine "));
  EXPECT_THAT(p->Read(procsandbox::Stream::kStdout, 10, absl::Seconds(1)),
              unscripted("MockProcess::Read "));
  EXPECT_THAT(p->Verify(), unscripted("MockProcess::Verify "));
  // A host running it reports the error rather than crashing on null.
  EXPECT_THAT(RunTool(manager), StatusIs(absl::StatusCode::kUnimplemented));
}

TEST(MocksTest, AnExpectationWithoutActionStillGetsTheDefaultProcess) {
  MockManager manager;
  EXPECT_CALL(manager, New(Field(&Command::program, "tool"))).Times(1);
  std::shared_ptr<procsandbox::Process> p = manager.New("tool", {"--check"});
  ASSERT_NE(p, nullptr);
  EXPECT_THAT(p->command().args, ElementsAre("--check"));
}

TEST(MocksTest, AnExpectationsActionReplacesTheDefault) {
  auto process = std::make_shared<MockProcess>();
  MockManager manager;
  EXPECT_CALL(manager, New(::testing::_)).WillOnce(Return(process));
  EXPECT_EQ(manager.New("tool", {}), process);
}

TEST(MocksTest, TryWaitReachesTheMockedWaitFor) {
  MockProcess process;
  EXPECT_CALL(process, WaitFor(absl::ZeroDuration()))
      .WillOnce(Return(absl::DeadlineExceededError("still running")));

  EXPECT_THAT(process.TryWait(), StatusIs(absl::StatusCode::kDeadlineExceeded));
}

TEST(MocksTest, ManagerStateMethodsAreMockable) {
  MockManager manager;
  const absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  procsandbox::Limits limits;
  limits.wall_time = absl::Seconds(10);
  EXPECT_CALL(manager, Now()).WillOnce(Return(now));
  EXPECT_CALL(manager, GetDefaultLimits()).WillOnce(Return(limits));
  EXPECT_CALL(manager, Get(1234))
      .WillOnce(Return(absl::NotFoundError("no process 1234")));

  EXPECT_EQ(manager.Now(), now);
  EXPECT_EQ(manager.GetDefaultLimits(), limits);
  EXPECT_THAT(manager.Get(1234), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
