// A Process whose Wait() fails has no outcome: the Sandbox reports the
// error, never a default outcome ("exited 0") as the run's, and still frees
// the run's slot.
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/sandbox.h"
#include "procsandbox_testing/testing.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::HasSandboxStatus;
using ::procsandbox_testing::MockManager;
using ::procsandbox_testing::MockProcess;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::NiceMock;
using ::testing::Return;

SandboxPolicy PolicyOver(std::shared_ptr<FakeProgramResolver> programs) {
  SandboxPolicy policy;
  policy.programs.resolver = std::move(programs);
  policy.environment.host = Environment{};
  policy.queue.max_concurrent = 1;
  return policy;
}

TEST(SandboxWaitErrorTest, AFailedWaitIsAnErrorAndFreesTheSlot) {
  auto programs = std::make_shared<FakeProgramResolver>();
  programs->AddProgram("/bin/tool");
  NiceMock<MockManager> manager;  // its processes' Wait() is Unimplemented
  Sandbox sandbox(manager, PolicyOver(programs));
  RunRequest request;
  request.program = "/bin/tool";
  request.id = "first";

  const absl::StatusOr<SandboxResult> first = sandbox.Run(request);

  EXPECT_THAT(first, StatusIs(absl::StatusCode::kUnimplemented,
                              HasSubstr("run first: waiting for the program "
                                        "failed")));
  EXPECT_THAT(first, HasSandboxStatus(SandboxStatus::kError));
  EXPECT_EQ(sandbox.Stats().running, 0u);
  // The one slot is free again: a process that ends is reported as usual.
  auto ended = std::make_shared<NiceMock<MockProcess>>();
  ON_CALL(*ended, Wait()).WillByDefault(Return(Outcome{}));
  EXPECT_CALL(manager, New(::testing::_)).WillOnce(Return(ended));
  request.id = "second";
  EXPECT_THAT(sandbox.Run(request),
              HasSandboxStatus(SandboxStatus::kCompleted));
}

}  // namespace
}  // namespace procsandbox
