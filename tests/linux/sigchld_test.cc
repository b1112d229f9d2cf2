// A host that ignores SIGCHLD: the kernel would reap our children at once.
#include <signal.h>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

TEST(SigchldTest, StartRefusesWhenTheHostIgnoresSigchld) {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  struct sigaction ignore = {}, old = {};
  ignore.sa_handler = SIG_IGN;
  ASSERT_EQ(sigaction(SIGCHLD, &ignore, &old), 0);
  absl::Status refused =
      (*m)->New(Command(PROCSANDBOX_TEST_HELPER, {"exit", "0"}))->Start();
  sigaction(SIGCHLD, &old, nullptr);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kFailedPrecondition,
                                HasSubstr("ignores SIGCHLD")));
  // With the disposition restored it runs.
  EXPECT_THAT(procsandbox::RunCommand(
                  **m, Command(PROCSANDBOX_TEST_HELPER, {"exit", "4"})),
              ExitedWith(4));
}

}  // namespace
}  // namespace procsandbox
