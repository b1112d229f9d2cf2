// The example of README.md, compiled and run as written there.
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/testing/testing.h"

using ::procsandbox::testing::ExitedWith;
using ::procsandbox::testing::TimedOut;

TEST(BuilderTest, ASlowBuildTimesOut) {
  procsandbox::MemoryManager fake;
  fake.Register("make", [](procsandbox::FakeProcess& p) {
    p.WriteStdout("building\n");
    p.Sleep(absl::Minutes(10));  // virtual time: the test takes microseconds
    return 0;
  });
  procsandbox::Command cmd("make", {"-j2"});
  cmd.limits.wall_time = absl::Seconds(1);
  auto result = procsandbox::Run(fake, cmd);  // inside TEST: qualify Run
  EXPECT_THAT(result, TimedOut());
  EXPECT_EQ(fake.History()[0].command.args[0], "-j2");
}

TEST(BuilderTest, AQuickBuildSucceeds) {
  procsandbox::MemoryManager fake;
  fake.Register("make", [](procsandbox::FakeProcess& p) {
    p.Sleep(absl::Seconds(3));
    return 0;
  });
  EXPECT_THAT(procsandbox::Run(fake, procsandbox::Command("make")),
              ExitedWith(0));
}

// The example at the top of procsandbox/sandbox.h, as written there, on the
// fake: the program is registered by its resolved path and the working
// directory root is a fresh temporary directory.
TEST(SandboxHeaderExampleTest, RunsAsWritten) {
  char root[] = "/tmp/procsandbox-header-example-XXXXXX";
  ASSERT_NE(mkdtemp(root), nullptr);
  procsandbox::MemoryManager manager;
  manager.Register("/usr/bin/python3", [](procsandbox::FakeProcess& p) {
    p.WriteStdout("42\n");
    return 0;
  });
  auto resolver = std::make_shared<procsandbox::FakeProgramResolver>();
  resolver->AddProgram("/usr/bin/python3");
  const std::string token = "s3cr3t-token-value";

  procsandbox::SandboxPolicy policy;
  policy.environment.mode = procsandbox::EnvironmentPolicy::Mode::kAllowlist;
  policy.environment.allow = {"PATH", "LANG", "MYAPP_*"};
  policy.programs.allow = {"/usr/bin/python3"};
  policy.programs.resolver = resolver;  // (the fake's files)
  policy.workdir.root = root;           // 0700, owned by us
  policy.queue.max_concurrent = 4;
  {
    procsandbox::Sandbox sandbox(manager, policy);

    procsandbox::RunRequest request;
    request.id = "req-42";
    request.program = "python3";
    request.args = {"-c", "print(42)"};
    request.env.SetSecret("API_TOKEN", token).IgnoreError();
    request.limits.wall_time = absl::Seconds(10);
    absl::StatusOr<procsandbox::SandboxResult> r = sandbox.Run(request);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(procsandbox::StatusOf(r), procsandbox::SandboxStatus::kCompleted);
    EXPECT_EQ(r->stdout_, "42\n");
    EXPECT_FALSE(procsandbox::GetSecurityViolation(r.status()).has_value());
    // A privilege tool is refused with a violation attached.
    request.id = "req-43";
    request.program = "/usr/bin/sudo";
    resolver->AddProgram("/usr/bin/sudo");
    absl::StatusOr<procsandbox::SandboxResult> refused = sandbox.Run(request);
    EXPECT_EQ(procsandbox::StatusOf(refused),
              procsandbox::SandboxStatus::kRejected);
    EXPECT_TRUE(
        procsandbox::GetSecurityViolation(refused.status()).has_value());
  }  // the background removal of the run's directory is done here
  EXPECT_EQ(rmdir(root), 0) << "the run's directory was left";
}
