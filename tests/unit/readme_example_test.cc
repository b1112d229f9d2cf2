// The example of README.md, compiled and run as written there.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"

using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::TimedOut;

TEST(BuilderTest, ASlowBuildTimesOut) {
  procsandbox::MemoryManager fake;
  fake.Register("make", [](procsandbox::FakeProcess& p) {
    p.WriteStdout("building\n");
    p.Sleep(absl::Minutes(10));  // virtual time: the test takes microseconds
    return 0;
  });
  procsandbox::Command cmd("make", {"-j2"});
  cmd.limits.wall_time = absl::Seconds(1);
  auto result = procsandbox::RunCommand(fake, cmd);  // inside TEST: qualify Run
  EXPECT_THAT(result, TimedOut());
  EXPECT_EQ(fake.History()[0].command.args[0], "-j2");
}

TEST(BuilderTest, AQuickBuildSucceeds) {
  procsandbox::MemoryManager fake;
  fake.Register("make", [](procsandbox::FakeProcess& p) {
    p.Sleep(absl::Seconds(3));
    return 0;
  });
  EXPECT_THAT(procsandbox::RunCommand(fake, procsandbox::Command("make")),
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

// README's "Per-client quotas", as written there, on the fake: the 21st run
// of an hour becomes an HTTP 429 with Retry-After: 180, and three minutes of
// virtual time later the client may run once more.
struct Response {
  int status = 200;
  std::map<std::string, std::string> headers;
  std::string body;
};

TEST(QuotaReadmeExampleTest, MapsARefusalTo429WithRetryAfter) {
  procsandbox::MemoryManager manager;
  manager.clock().SetAutoAdvance(false);
  manager.Register("/usr/bin/tool",
                   [](procsandbox::FakeProcess&) { return 0; });
  auto resolver = std::make_shared<procsandbox::FakeProgramResolver>();
  resolver->AddProgram("/usr/bin/tool");
  procsandbox::SandboxPolicy policy;
  policy.programs.resolver = resolver;

  policy.queue.max_concurrent = 16;  // the whole host
  policy.quota.enabled = true;
  policy.quota.default_quota.max_concurrent = 5;  // per client, at once
  policy.quota.default_quota.max_runs = 20;       // per client, per hour
  policy.quota.default_quota.window = absl::Hours(1);
  procsandbox::Quota premium;
  premium.max_concurrent = 10;
  premium.max_runs = 500;
  policy.quota.overrides["client-premium"] =
      premium;  // replaces the default whole
  absl::StatusOr<std::unique_ptr<procsandbox::Sandbox>> sandbox =
      procsandbox::Sandbox::Create(
          manager, policy);  // a bad quota: InvalidArgument here
  ASSERT_TRUE(sandbox.ok()) << sandbox.status();

  const std::string client_id = "client-7";
  auto handle = [&](procsandbox::RunRequest request) {
    Response response;
    // In the HTTP handler:
    request.quota_key = client_id;
    absl::StatusOr<procsandbox::SandboxResult> r = (*sandbox)->Run(request);
    if (auto refused = procsandbox::GetQuotaExceeded(r.status())) {
      response.status = 429;       // Too Many Requests
      if (refused->retry_after) {  // the rate: when the next run is allowed
        const int64_t seconds = absl::ToInt64Seconds(
            absl::Ceil(*refused->retry_after, absl::Seconds(1)));
        response.headers["Retry-After"] = std::to_string(seconds);
      }  // (too many at once: no time to promise)
      response.body = std::string(r.status().message());
      // quota of key "client-7" used up: 20 runs per 1h; retry after 3m
    }
    return response;
  };
  procsandbox::RunRequest request;
  request.program = "tool";
  for (int i = 0; i < 20; ++i) ASSERT_EQ(handle(request).status, 200) << i;
  Response refused = handle(request);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(refused.headers["Retry-After"], "180");
  EXPECT_THAT(refused.body,
              ::testing::HasSubstr("quota of key \"client-7\" used up: 20 "
                                   "runs per 1h; retry after 3m"));
  ASSERT_TRUE(manager.clock().Advance(absl::Minutes(3)).ok());
  EXPECT_EQ(handle(request).status, 200);
  EXPECT_EQ(handle(request).status, 429);
}
