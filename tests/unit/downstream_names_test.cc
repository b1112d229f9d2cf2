// What a host's own test file writes: `using namespace procsandbox;` with
// gtest's names unqualified beside procsandbox_testing's, and a RunCommand()
// call inside a TEST body (testing::Test has a member named Run, which is
// why the free function is not called Run). This file compiling is half the
// test.
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"

using namespace procsandbox;          // NOLINT(google-build-using-namespace)
using namespace procsandbox_testing;  // NOLINT(google-build-using-namespace)

namespace {

TEST(DownstreamNamesTest, GtestNamesStayUnambiguous) {
  MemoryManager fake;
  fake.Register("greet", [](FakeProcess& p) {
    p.WriteStdout("hello\n");
    return 0;
  });
  absl::StatusOr<RunResult> result = RunCommand(fake, Command("greet"));
  EXPECT_THAT(result, ExitedWith(0));
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->stdout_, testing::HasSubstr("hello"));
  EXPECT_THAT(result->stdout_, ::testing::StartsWith("hel"));
}

TEST(DownstreamNamesTest, VersionMacrosMatchTheLibrary) {
  EXPECT_EQ(std::string(Version()), PROCSANDBOX_VERSION_STRING);
  EXPECT_EQ(PROCSANDBOX_VERSION,
            PROCSANDBOX_VERSION_OF(PROCSANDBOX_VERSION_MAJOR,
                                   PROCSANDBOX_VERSION_MINOR,
                                   PROCSANDBOX_VERSION_PATCH));
  // The CMake project's version, read from version.h by CMakeLists.txt.
  EXPECT_EQ(std::string(PROCSANDBOX_TEST_PROJECT_VERSION),
            PROCSANDBOX_VERSION_STRING);
}

}  // namespace
