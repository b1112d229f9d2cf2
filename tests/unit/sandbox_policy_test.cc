// Sandbox: the environment and program policies, security violations, and
// the secret scan, on the in-memory manager.
#include <csignal>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::EventLog;
using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;
using ::testing::Pair;
using Kind = SecurityViolation::Kind;

// A program that prints its environment, one NAME=VALUE per line.
int PrintEnv(FakeProcess& p) {
  for (const Environment::Entry& e : p.env().entries()) {
    p.WriteStdout(absl::StrCat(e.name, "=", e.value, "\n"));
  }
  return 0;
}

Kind ViolationKind(const absl::Status& s) {
  std::optional<SecurityViolation> v = GetSecurityViolation(s);
  EXPECT_TRUE(v.has_value()) << s;
  return v.has_value() ? v->kind : Kind::kProgramNotAllowed;
}

TEST(SandboxPolicyTest, RunsAnAllowedProgramAndReportsCompleted) {
  Rig rig;
  rig.Program("/usr/bin/echo", [](FakeProcess& p) {
    p.WriteStdout(absl::StrCat(p.args()[0], "\n"));
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.programs.allow = {"/usr/bin/echo"};
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("echo", {"hi"}));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->status, SandboxStatus::kCompleted);
  EXPECT_THAT(r->outcome, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "hi\n");
  EXPECT_EQ(r->program_path, "/usr/bin/echo");
  EXPECT_EQ(rig.fake.History()[0].command.program, "/usr/bin/echo");
  EXPECT_EQ(StatusOf(r), SandboxStatus::kCompleted);
}

TEST(SandboxPolicyTest, ARequestsMonitoringComesBackAsTheOutcomesSamples) {
  Rig rig;
  rig.Program("/usr/bin/work", [](FakeProcess& p) {
    p.UseCpu(absl::Milliseconds(2500));
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.programs.allow = {"/usr/bin/work"};
  Sandbox sandbox(rig.fake, policy);
  RunRequest request = Request("work", {});
  int calls = 0;
  request.monitor.enabled = true;
  request.monitor.interval = absl::Seconds(1);
  request.monitor.on_sample = [&calls](const UsageSample&) { ++calls; };
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  ASSERT_EQ(r->outcome.samples.size(), 3u);  // 1s, 2s, the end at 2.5s
  EXPECT_EQ(r->outcome.samples[1].user_time, absl::Seconds(2));
  EXPECT_EQ(r->outcome.samples[2].state, ProcessState::kEnded);
  EXPECT_EQ(calls, 3);
  EXPECT_TRUE(rig.fake.History()[0].command.monitor.enabled);
}

TEST(SandboxPolicyTest, RunsDropEveryCapabilityByDefault) {
  Rig rig;
  rig.Program("/usr/bin/echo", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  EXPECT_TRUE(policy.isolation.drop_capabilities);
  EXPECT_TRUE(policy.isolation.keep_capabilities.empty());
  policy.programs.allow = {"/usr/bin/echo"};
  Sandbox sandbox(rig.fake, policy);
  ASSERT_THAT(sandbox.Run(Request("echo", {})), IsOk());
  std::vector<FakeRun> runs = rig.fake.History();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].command.isolation.drop_capabilities);
}

TEST(SandboxPolicyTest, APolicyMayKeepTheHostsCapabilities) {
  Rig rig;
  rig.Program("/usr/bin/echo", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.isolation.drop_capabilities = false;
  policy.programs.allow = {"/usr/bin/echo"};
  Sandbox sandbox(rig.fake, policy);
  ASSERT_THAT(sandbox.Run(Request("echo", {})), IsOk());
  std::vector<FakeRun> runs = rig.fake.History();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0].command.isolation.drop_capabilities);
}

TEST(SandboxPolicyTest, EmptyModeGivesOnlyExplicitVariables) {
  Rig rig;
  rig.Program("/usr/bin/env", PrintEnv);
  SandboxPolicy policy = rig.Policy();
  policy.environment.host = Environment{{"HOME", "/root"}, {"PATH", "/bin"}};
  ASSERT_THAT(policy.environment.set.Set("LANG", "C.UTF-8"), IsOk());
  Sandbox sandbox(rig.fake, policy);
  RunRequest request = Request("/usr/bin/env");
  ASSERT_THAT(request.env.Set("MODE", "fast"), IsOk());
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "LANG=C.UTF-8\nMODE=fast\n");
}

TEST(SandboxPolicyTest, AllowlistTakesNamesAndPrefixesFromTheHost) {
  Rig rig;
  rig.Program("/usr/bin/env", PrintEnv);
  SandboxPolicy policy = rig.Policy();
  policy.environment.mode = EnvironmentPolicy::Mode::kAllowlist;
  policy.environment.allow = {"PATH", "MYAPP_*"};
  policy.environment.host = Environment{{"PATH", "/usr/bin"},
                                        {"HOME", "/root"},
                                        {"MYAPP_MODE", "x"},
                                        {"MYAPP_TOKEN", "t0k3n"},
                                        {"OTHER", "y"}};
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("env"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "PATH=/usr/bin\nMYAPP_MODE=x\n");
  // Allowed by name, dropped as a credential.
  EXPECT_THAT(r->dropped_env, ElementsAre("MYAPP_TOKEN"));
}

TEST(SandboxPolicyTest, InheritModeDropsDeniedAndCredentialLookingNames) {
  Rig rig;
  rig.Program("/usr/bin/env", PrintEnv);
  SandboxPolicy policy = rig.Policy();
  policy.environment.mode = EnvironmentPolicy::Mode::kInheritExceptDenied;
  policy.environment.host = Environment{{"PATH", "/usr/bin"},
                                        {"LD_PRELOAD", "/evil.so"},
                                        {"github_token", "x"},
                                        {"DB_PASSWORD", "y"},
                                        {"AWS_SECRET_ACCESS_KEY", "z"},
                                        {"SSH_KEY", "k"},
                                        {"1BAD", "v"},
                                        {"LANG", "C"}};
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("env"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "PATH=/usr/bin\nLANG=C\n");
  EXPECT_THAT(r->dropped_env,
              ElementsAre("LD_PRELOAD", "github_token", "DB_PASSWORD",
                          "AWS_SECRET_ACCESS_KEY", "SSH_KEY"));
}

TEST(SandboxPolicyTest, CredentialNameIsRefusedUnlessGivenAsSecret) {
  Rig rig;
  rig.Program("/usr/bin/env", PrintEnv);
  Sandbox sandbox(rig.fake, rig.Policy());
  RunRequest plain = Request("env");
  ASSERT_THAT(plain.env.Set("API_TOKEN", "abc123"), IsOk());
  absl::StatusOr<SandboxResult> refused = sandbox.Run(plain);
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kPermissionDenied,
                                HasSubstr("SetSecret")));
  EXPECT_EQ(ViolationKind(refused.status()), Kind::kForbiddenEnvironmentName);
  EXPECT_EQ(StatusOf(refused), SandboxStatus::kRejected);

  RunRequest secret = Request("env");
  ASSERT_THAT(secret.env.SetSecret("API_TOKEN", "abc123"), IsOk());
  absl::StatusOr<SandboxResult> r = sandbox.Run(secret);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "API_TOKEN=abc123\n");  // the program's own output
}

TEST(SandboxPolicyTest, HostVariableMarkedSecretStaysSecret) {
  const std::string kValue = "https://svc:pw-9Xq@db.internal";
  Rig rig;
  rig.Program("/usr/bin/show-env", PrintEnv);
  SandboxPolicy policy = rig.Policy();
  policy.environment.mode = EnvironmentPolicy::Mode::kAllowlist;
  policy.environment.allow = {"UPSTREAM_URL"};
  Environment host;
  ASSERT_THAT(host.SetSecret("UPSTREAM_URL", kValue), IsOk());
  policy.environment.host = host;
  std::vector<std::string> details;
  absl::Mutex mu;
  policy.on_event = [&](const SandboxEvent& e) {
    absl::MutexLock lock(&mu);
    details.push_back(e.detail);
  };
  Sandbox sandbox(rig.fake, policy);
  RunRequest request = Request("show-env", {kValue});
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, absl::StrCat("UPSTREAM_URL=", kValue, "\n"));
  EXPECT_TRUE(rig.fake.History()[0].command.env.IsSecret("UPSTREAM_URL"));
  ASSERT_FALSE(details.empty());
  for (const std::string& detail : details) {
    EXPECT_THAT(detail, Not(HasSubstr(kValue)));
  }
}

TEST(SandboxPolicyTest, DeniedNameFromTheRequestIsAViolation) {
  Rig rig;
  rig.Program("/usr/bin/env", PrintEnv);
  Sandbox sandbox(rig.fake, rig.Policy());
  RunRequest request = Request("env");
  ASSERT_THAT(request.env.Set("LD_PRELOAD", "/tmp/x.so"), IsOk());
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied,
                          HasSubstr("LD_PRELOAD")));
  EXPECT_EQ(ViolationKind(r.status()), Kind::kForbiddenEnvironmentName);
  EXPECT_TRUE(rig.fake.History().empty());
}

TEST(SandboxPolicyTest, InvalidVariableNameIsInvalidArgument) {
  Rig rig;
  rig.Program("/usr/bin/env", PrintEnv);
  Sandbox sandbox(rig.fake, rig.Policy());
  RunRequest request = Request("env");
  ASSERT_THAT(request.env.Set("MY-VAR", "1"), IsOk());
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  EXPECT_THAT(
      r, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("MY-VAR")));
  std::optional<SecurityViolation> v = GetSecurityViolation(r.status());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, Kind::kInvalidEnvironmentName);
  EXPECT_EQ(v->severity, SecurityViolation::Severity::kLow);
  EXPECT_EQ(v->subject, "MY-VAR");
}

TEST(SandboxPolicyTest, ProgramOffTheAllowlistIsRefused) {
  Rig rig;
  rig.Program("/usr/bin/python3", [](FakeProcess&) { return 0; });
  rig.Program("/usr/bin/perl", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.programs.allow = {"/usr/bin/python3"};
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("perl"));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied,
                          HasSubstr("/usr/bin/perl")));
  EXPECT_EQ(ViolationKind(r.status()), Kind::kProgramNotAllowed);
  EXPECT_TRUE(rig.fake.History().empty());
}

TEST(SandboxPolicyTest, AllowlistComparesResolvedSymlinks) {
  Rig rig;
  rig.Program("/usr/bin/python3.11", [](FakeProcess&) { return 7; });
  rig.resolver->AddSymlink("/usr/bin/python3", "/usr/bin/python3.11");
  rig.resolver->AddSymlink("/usr/local/bin/py", "/usr/bin/python3.11");
  SandboxPolicy policy = rig.Policy();
  policy.programs.allow = {"/usr/bin/python3"};  // a symlink: its target
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("py"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExitedWith(7));
  EXPECT_EQ(r->status, SandboxStatus::kFailed);
  EXPECT_EQ(r->program_path, "/usr/bin/python3.11");
}

TEST(SandboxPolicyTest, PrivilegeToolIsRefusedEvenThroughASymlink) {
  Rig rig;
  rig.Program("/usr/bin/sudo", [](FakeProcess&) { return 0; });
  rig.resolver->AddSymlink("/usr/local/bin/helper", "/usr/bin/sudo");
  SandboxPolicy policy = rig.Policy();
  Sandbox sandbox(rig.fake, policy);
  for (const char* program : {"sudo", "helper", "/usr/local/bin/helper"}) {
    absl::StatusOr<SandboxResult> r = sandbox.Run(Request(program));
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied,
                            HasSubstr("privilege tool")))
        << program;
    std::optional<SecurityViolation> v = GetSecurityViolation(r.status());
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(v->kind, Kind::kPrivilegeTool);
    EXPECT_EQ(v->severity, SecurityViolation::Severity::kCritical);
  }
}

TEST(SandboxPolicyTest, SetuidProgramIsRefusedUnlessAllowed) {
  Rig rig;
  rig.Program(
      "/usr/bin/passwd2", [](FakeProcess&) { return 0; }, 04755);
  rig.Program(
      "/usr/bin/wall2", [](FakeProcess&) { return 0; }, 02755);
  SandboxPolicy policy = rig.Policy();
  {
    Sandbox sandbox(rig.fake, policy);
    for (const char* program : {"passwd2", "wall2"}) {
      absl::StatusOr<SandboxResult> r = sandbox.Run(Request(program));
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied,
                              HasSubstr("setuid/setgid")));
      EXPECT_EQ(ViolationKind(r.status()), Kind::kSetuidProgram);
    }
  }
  policy.programs.allow_setuid = true;
  Sandbox sandbox(rig.fake, policy);
  EXPECT_THAT(sandbox.Run(Request("passwd2")), IsOk());
}

TEST(SandboxPolicyTest, ShellIsRefusedUnlessAllowedByName) {
  Rig rig;
  rig.Program("/usr/bin/bash", [](FakeProcess&) { return 0; });
  rig.resolver->AddSymlink("/bin/sh", "/usr/bin/bash");
  SandboxPolicy policy = rig.Policy();
  {
    Sandbox sandbox(rig.fake, policy);
    absl::StatusOr<SandboxResult> r = sandbox.Run(Request("/bin/sh"));
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied,
                            HasSubstr("shells are refused")));
    EXPECT_EQ(ViolationKind(r.status()), Kind::kShellRefused);
  }
  policy.programs.allowed_shells = {"sh", "bash"};
  Sandbox sandbox(rig.fake, policy);
  EXPECT_THAT(sandbox.Run(Request("/bin/sh", {"-c", "true"})), IsOk());
}

TEST(SandboxPolicyTest, WorldWritableOrNonRegularProgramIsUnsafe) {
  Rig rig;
  rig.Program(
      "/usr/bin/open", [](FakeProcess&) { return 0; }, 0777);
  rig.resolver->AddProgram("/usr/bin/notexec", 0644);
  rig.resolver->AddProgram("/usr/bin/dir", 0755, /*regular_file=*/false);
  Sandbox sandbox(rig.fake, rig.Policy());
  for (const char* program : {"open", "notexec", "dir"}) {
    absl::StatusOr<SandboxResult> r = sandbox.Run(Request(program));
    EXPECT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied)) << program;
    EXPECT_EQ(ViolationKind(r.status()), Kind::kUnsafeProgramFile) << program;
  }
}

TEST(SandboxPolicyTest, RelativeProgramPathIsRefused) {
  Rig rig;
  Sandbox sandbox(rig.fake, rig.Policy());
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("./run.sh"));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied,
                          HasSubstr("relative path")));
  EXPECT_EQ(ViolationKind(r.status()), Kind::kProgramNotAllowed);
}

TEST(SandboxPolicyTest, UnknownProgramIsNotFoundNamingThePath) {
  Rig rig;
  Sandbox sandbox(rig.fake, rig.Policy());
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("nosuch"));
  EXPECT_THAT(r, StatusIs(absl::StatusCode::kNotFound,
                          HasSubstr("/usr/local/bin:/usr/bin:/bin")));
  EXPECT_EQ(StatusOf(r), SandboxStatus::kError);
}

TEST(SandboxPolicyTest, InvalidPolicyFailsEveryRun) {
  Rig rig;
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.environment.allow = {"A*B"};
  EXPECT_THAT(ValidateSandboxPolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("A*B")));
  Sandbox sandbox(rig.fake, policy);
  EXPECT_THAT(sandbox.Run(Request("true")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("A*B")));
}

// Found by fuzz_policy_path: a NUL byte in an allowlist path or the
// working-directory root was accepted; a path handed to the OS ends at it.
TEST(SandboxPolicyTest, APolicyPathWithANulByteIsRefused) {
  SandboxPolicy policy;
  policy.programs.allow = {std::string("/usr/bin/true\0/x", 16)};
  EXPECT_THAT(ValidateSandboxPolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"/usr/bin/true\\000/x\" contains a NUL")));
  policy.programs.allow.clear();
  policy.workdir.root = std::string("/srv\0/runs", 10);
  EXPECT_THAT(ValidateSandboxPolicy(policy),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("contains a NUL byte")));
  policy.workdir.root = "//srv//runs/";
  EXPECT_THAT(ValidateSandboxPolicy(policy), IsOk());
}

TEST(SandboxPolicyTest, ViolationSurvivesAsAPayload) {
  SecurityViolation v;
  v.kind = Kind::kPathTraversal;
  v.severity = SecurityViolation::Severity::kHigh;
  v.subject = "a\nb";
  v.message = "working directory: no";
  absl::Status s = ToStatus(v);
  EXPECT_THAT(
      s, StatusIs(absl::StatusCode::kInvalidArgument, "working directory: no"));
  EXPECT_THAT(GetSecurityViolation(s), Optional(v));
  EXPECT_EQ(ToString(v), "path_traversal (high): working directory: no");
  EXPECT_EQ(GetSecurityViolation(absl::InternalError("x")), std::nullopt);
}

TEST(SandboxPolicyTest, LimitsAreMergedAndCappedAtTheCeiling) {
  Rig rig;
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.default_limits.memory_bytes = 64 << 20;
  policy.max_limits.wall_time = absl::Seconds(10);
  std::vector<SandboxEvent> events;
  policy.on_event = [&events](const SandboxEvent& e) { events.push_back(e); };
  Sandbox sandbox(rig.fake, policy);
  RunRequest request = Request("true");
  request.limits.wall_time = absl::Hours(1);
  ASSERT_THAT(sandbox.Run(request), IsOk());
  const Limits applied = rig.fake.History()[0].limits;  // a copy
  EXPECT_EQ(applied.wall_time, absl::Seconds(10));
  EXPECT_EQ(applied.memory_bytes, 64 << 20);
  bool capped = false;
  for (const SandboxEvent& e : events) {
    if (e.kind == SandboxEvent::Kind::kLimitApplied &&
        e.detail == "wall_time capped at 10s (asked 1h)") {
      capped = true;
    }
  }
  EXPECT_TRUE(capped) << ::testing::PrintToString(events);
}

TEST(SandboxPolicyTest, DegradedLimitIsAnEvent) {
  MemoryManagerOptions options;
  options.unenforced = {{LimitKind::kMemory, Mechanism::kNone, "no cgroup"}};
  MemoryManager fake(options);
  auto resolver = std::make_shared<FakeProgramResolver>();
  resolver->AddProgram("/usr/bin/true");
  fake.Register("/usr/bin/true", [](FakeProcess&) { return 0; });
  SandboxPolicy policy;
  policy.programs.resolver = resolver;
  policy.environment.host = Environment{};
  std::vector<SandboxEvent> events;
  policy.on_event = [&events](const SandboxEvent& e) { events.push_back(e); };
  Sandbox sandbox(fake, policy);
  RunRequest request = Request("true");
  request.limits.memory_bytes = 1 << 20;
  ASSERT_THAT(sandbox.Run(request), IsOk());
  std::vector<std::string> degraded;
  for (const SandboxEvent& e : events) {
    if (e.kind == SandboxEvent::Kind::kLimitDegraded) {
      degraded.push_back(e.detail);
    }
  }
  EXPECT_THAT(degraded, ElementsAre(HasSubstr("memory_bytes: none")));
}

// Every string the library produced about runs given a secret: events,
// errors with their payloads, results, the fake's history as printed, and a
// plain manager's start error.
TEST(SandboxPolicyTest, AQuotaKeyThatIsASecretsValueIsRedactedInEvents) {
  const std::string kSecret = "tenant-s3cr3t-7";
  Rig rig;
  rig.Program("/usr/bin/tool", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.quota.enabled = true;
  policy.programs.allow = {"/usr/bin/tool"};
  std::vector<std::string> keys;
  absl::Mutex mu;
  policy.on_event = [&](const SandboxEvent& e) {
    absl::MutexLock lock(&mu);
    keys.push_back(e.quota_key);
    keys.push_back(ToString(e));
  };
  {
    Sandbox sandbox(rig.fake, policy);
    RunRequest request = Request("tool");
    request.quota_key = kSecret;
    ASSERT_THAT(request.env.SetSecret("TOKEN", kSecret), IsOk());
    ASSERT_THAT(sandbox.Run(request).status(), IsOk());
  }
  absl::MutexLock lock(&mu);
  ASSERT_FALSE(keys.empty());
  for (const std::string& text : keys) {
    EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr(kSecret)));
  }
}

TEST(SandboxPolicyTest, SecretValueAppearsInNoTextTheLibraryMakes) {
  const std::string kSecret = "s3cr3t-Value-42";
  const std::string kSecretDir = absl::StrCat("/opt/", kSecret, "/bin");
  Rig rig;
  rig.Program("/usr/bin/tool", [](FakeProcess& p) {
    p.WriteStderr("working\n");
    return 3;
  });
  rig.Program("/usr/bin/slow", [](FakeProcess& p) {
    p.Sleep(absl::Hours(1));
    return 0;
  });
  // On a secret PATH: one allowed, one not.
  rig.Program(kSecretDir + "/found", [](FakeProcess&) { return 0; });
  rig.Program(kSecretDir + "/perl", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  ASSERT_THAT(policy.environment.set.SetSecret("HOST_API_KEY", kSecret),
              IsOk());
  std::vector<std::string> texts;
  absl::Mutex mu;
  policy.on_event = [&](const SandboxEvent& e) {
    absl::MutexLock lock(&mu);
    texts.push_back(ToString(e));
    texts.push_back(fmt::format("{}", e));
    texts.push_back(e.run_id);
    texts.push_back(e.quota_key);
  };
  policy.programs.allow = {"/usr/bin/tool", "/usr/bin/slow",
                           kSecretDir + "/found"};
  int audited = 0;
  policy.audit = [&](const AuditRecord& r) {
    absl::MutexLock lock(&mu);
    ++audited;
    texts.push_back(AuditRecordJson(r));
    return absl::OkStatus();
  };
  // A Status as logged, and each payload the library attaches, read back.
  auto scan_status = [&](const absl::Status& s) {
    texts.push_back(s.ToString());
    texts.push_back(s.ToString(absl::StatusToStringMode::kWithEverything));
    if (std::optional<SecurityViolation> v = GetSecurityViolation(s)) {
      texts.push_back(ToString(*v));
      texts.push_back(fmt::format("{}", *v));
      std::ostringstream logged;
      logged << *v;
      texts.push_back(logged.str());
      texts.push_back(v->subject);
      texts.push_back(v->message);
    }
    if (std::optional<QuotaExceeded> q = GetQuotaExceeded(s)) {
      texts.push_back(ToString(*q));
      texts.push_back(q->key);
    }
  };
  int violations = 0;
  auto scan = [&](const absl::StatusOr<SandboxResult>& r) {
    if (!r.ok()) {
      if (GetSecurityViolation(r.status()).has_value()) ++violations;
      scan_status(r.status());
      return;
    }
    texts.push_back(ToString(*r));
    texts.push_back(r->id);
    texts.push_back(r->program_path);
    texts.push_back(r->workdir);
    scan_status(r->cleanup_status);
  };
  {
    Sandbox sandbox(rig.fake, policy);
    // A completed run, a refused program, a secret as argument name only,
    // a timed-out run, a forbidden variable next to a secret, a secret in
    // a refused program's name, a secret PATH (a program found on it run,
    // one refused).
    RunRequest ok = Request("tool", {"--flag"});
    ASSERT_THAT(ok.env.SetSecret("TOKEN", kSecret), IsOk());
    scan(sandbox.Run(ok));
    RunRequest refused = Request("perl");
    ASSERT_THAT(refused.env.SetSecret("TOKEN", kSecret), IsOk());
    scan(sandbox.Run(refused));
    RunRequest slow = Request("slow");
    slow.limits.wall_time = absl::Seconds(1);
    ASSERT_THAT(slow.env.SetSecret("DB_PASSWORD", kSecret), IsOk());
    scan(sandbox.Run(slow));
    RunRequest bad = Request("tool");
    ASSERT_THAT(bad.env.SetSecret("TOKEN", kSecret), IsOk());
    ASSERT_THAT(bad.env.Set("LD_PRELOAD", kSecret), IsOk());
    scan(sandbox.Run(bad));
    RunRequest relative = Request(absl::StrCat("bin/", kSecret));
    ASSERT_THAT(relative.env.SetSecret("TOKEN", kSecret), IsOk());
    scan(sandbox.Run(relative));
    RunRequest found = Request("found");
    ASSERT_THAT(found.env.SetSecret("PATH", kSecretDir), IsOk());
    scan(sandbox.Run(found));
    RunRequest not_allowed = Request("perl");
    ASSERT_THAT(not_allowed.env.SetSecret("PATH", kSecretDir), IsOk());
    scan(sandbox.Run(not_allowed));
    texts.push_back(ToString(sandbox.Stats()));
  }
  // The manager alone, on a secret PATH.
  Command missing("no-such-tool");
  ASSERT_THAT(missing.env.SetSecret("PATH", kSecretDir), IsOk());
  scan_status(rig.fake.New(missing)->Start());
  for (const FakeRun& run : rig.fake.History()) {
    texts.push_back(ToString(run.command));
    texts.push_back(fmt::format("{}", run.command.env));
    scan_status(run.start_status);
  }
  ASSERT_GT(texts.size(), 10u);
  EXPECT_EQ(violations, 3);
  EXPECT_EQ(audited, 7);  // a record per run
  for (const std::string& text : texts) {
    EXPECT_THAT(text, Not(HasSubstr(kSecret)));
  }
  // The secret did reach the program.
  EXPECT_EQ(rig.fake.History()[0].command.env.Get("TOKEN"), kSecret);
}

// `env sh -c ...` is refused as the shell itself is: env is an exec wrapper.
TEST(SandboxPolicyTest, AShellReachedThroughEnvIsRefused) {
  Rig rig;
  rig.Program("/usr/bin/env", [](FakeProcess&) { return 0; });
  rig.Program("/bin/sh", [](FakeProcess&) { return 0; });
  Sandbox sandbox(rig.fake, rig.Policy());
  ASSERT_THAT(sandbox.Run(Request("sh", {"-c", "id"})),
              StatusIs(absl::StatusCode::kPermissionDenied));
  absl::StatusOr<SandboxResult> r =
      sandbox.Run(Request("env", {"sh", "-c", "id"}));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_EQ(ViolationKind(r.status()), Kind::kShellRefused);
}

// Exec wrappers: refused with arguments unless allowed by name; env with no
// argument at all only prints the environment and is accepted.
TEST(SandboxPolicyTest, ExecWrappersAreRefusedUnlessAllowedByName) {
  Rig rig;
  rig.Program("/usr/bin/env", [](FakeProcess&) { return 0; });
  rig.Program("/usr/bin/nice", [](FakeProcess&) { return 0; });
  rig.Program("/usr/bin/timeout", [](FakeProcess&) { return 0; });
  {
    Sandbox sandbox(rig.fake, rig.Policy());
    EXPECT_THAT(sandbox.Run(Request("env")), IsOk());
    absl::StatusOr<SandboxResult> r =
        sandbox.Run(Request("timeout", {"5", "make"}));
    ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied,
                            HasSubstr("exec wrapper")));
    EXPECT_EQ(ViolationKind(r.status()), Kind::kShellRefused);
    EXPECT_THAT(sandbox.Run(Request("nice", {"-n", "5", "make"})),
                StatusIs(absl::StatusCode::kPermissionDenied));
  }
  SandboxPolicy policy = rig.Policy();
  policy.programs.allowed_exec_wrappers = {"nice"};
  Sandbox sandbox(rig.fake, policy);
  EXPECT_THAT(sandbox.Run(Request("nice", {"-n", "5", "make"})), IsOk());
  EXPECT_THAT(sandbox.Run(Request("timeout", {"5", "make"})),
              StatusIs(absl::StatusCode::kPermissionDenied));
}

// Where a program lives: a directory others may write without the sticky
// bit is refused; a sticky one (as /tmp) is not.
TEST(SandboxPolicyTest, AProgramBelowADirectoryOthersMayWriteIsRefused) {
  Rig rig;
  rig.Program("/srv/shared/bin/tool", [](FakeProcess&) { return 0; });
  rig.Program("/tmp/tool", [](FakeProcess&) { return 0; });
  rig.resolver->AddDirectory("/srv/shared", 0777);
  rig.resolver->AddDirectory("/tmp", 01777);
  Sandbox sandbox(rig.fake, rig.Policy());
  absl::StatusOr<SandboxResult> r =
      sandbox.Run(Request("/srv/shared/bin/tool"));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied,
                          HasSubstr("/srv/shared")));
  EXPECT_EQ(ViolationKind(r.status()), Kind::kUnsafeProgramFile);
  EXPECT_THAT(sandbox.Run(Request("/tmp/tool")), IsOk());
}

// A ceiling's kLimitApplied comes after kQueued (it applies to a run that
// got its slot), not before the run is even queued.
TEST(SandboxPolicyTest, ACeilingIsReportedAfterQueued) {
  Rig rig;
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  EventLog log;
  SandboxPolicy policy = rig.Policy();
  policy.max_limits.wall_time = absl::Seconds(5);
  policy.on_event = log.Sink();
  Sandbox sandbox(rig.fake, policy);
  ASSERT_THAT(sandbox.Run(Request("true")), IsOk());
  const std::vector<SandboxEvent> events = log.events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].kind, SandboxEvent::Kind::kQueued);
  EXPECT_EQ(events[1].kind, SandboxEvent::Kind::kLimitApplied);
  EXPECT_THAT(events[1].detail, HasSubstr("capped at"));
}

// The workdir root: trailing slashes are accepted (ignored), "." and ".."
// components and relative paths are not.
TEST(SandboxPolicyTest, AWorkdirRootMustBeAbsoluteWithoutDotComponents) {
  Rig rig;
  SandboxPolicy policy = rig.Policy();
  policy.workdir.root = "/var/lib/app/runs/";
  EXPECT_THAT(ValidateSandboxPolicy(policy), IsOk());
  for (const char* bad : {"/var/lib/../app", "/var/./runs", "runs"}) {
    policy.workdir.root = bad;
    EXPECT_THAT(
        ValidateSandboxPolicy(policy),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("workdir.root")))
        << bad;
  }
}

// A secret holding a quote is shell-quoted in the kStarted event's command;
// redaction happens before quoting, so no quoted form of it shows.
TEST(SandboxPolicyTest, ASecretWithAQuoteIsRedactedInTheStartedEvent) {
  Rig rig;
  rig.Program("/usr/bin/client", [](FakeProcess&) { return 0; });
  EventLog log;
  SandboxPolicy policy = rig.Policy();
  policy.on_event = log.Sink();
  Sandbox sandbox(rig.fake, policy);
  const std::string secret = "hunter2'Xq9-very-secret-tail";
  RunRequest request = Request("client", {absl::StrCat("--token=", secret)});
  ASSERT_THAT(request.env.SetSecret("API_TOKEN", secret), IsOk());
  ASSERT_THAT(sandbox.Run(request), IsOk());
  const std::string text = log.AllText();
  EXPECT_THAT(text, Not(HasSubstr("Xq9-very-secret-tail"))) << text;
}

// Two secrets overlapping in a text ("abcd" and "cdef" in "abcdef") are both
// covered, nothing of either left behind.
TEST(SandboxPolicyTest, OverlappingSecretsAreRedactedWhole) {
  Rig rig;
  rig.Program("/usr/bin/client", [](FakeProcess&) { return 0; });
  EventLog log;
  SandboxPolicy policy = rig.Policy();
  policy.on_event = log.Sink();
  Sandbox sandbox(rig.fake, policy);
  RunRequest request = Request("client", {"--pair=abcdef"});
  ASSERT_THAT(request.env.SetSecret("TOKEN_A", "abcd"), IsOk());
  ASSERT_THAT(request.env.SetSecret("TOKEN_B", "cdef"), IsOk());
  ASSERT_THAT(sandbox.Run(request), IsOk());
  const std::string text = log.AllText();
  EXPECT_THAT(text, HasSubstr("--pair=<redacted>")) << text;
  EXPECT_THAT(text, Not(HasSubstr("<redacted>ef"))) << text;
  EXPECT_THAT(text, Not(HasSubstr("ab<redacted>"))) << text;
}

}  // namespace
}  // namespace procsandbox
