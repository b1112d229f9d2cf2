// Sandbox: post-start verification (SandboxPolicy::verify) over the fake,
// with mismatches injected through FakeProcess::AlterLimits().
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
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
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

constexpr int64_t kMiB = int64_t{1} << 20;

class SandboxVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/procsandbox-verify-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
    // Keeps its limits; and one whose memory limit an administrator raises
    // (and whose pids limit goes) as soon as it runs.
    rig_.Program("/usr/bin/steady", [](FakeProcess& p) {
      p.Sleep(absl::Seconds(2));
      return 0;
    });
    rig_.Program("/usr/bin/raised", [this](FakeProcess& p) {
      Limits raised;
      raised.memory_bytes = int64_t{1} << 30;
      EXPECT_THAT(p.AlterLimits(raised), IsOk());
      EXPECT_THAT(p.RemoveLimit(LimitKind::kProcesses), IsOk());
      p.Sleep(absl::Seconds(2));
      finished_ = true;  // not when refused: it is killed in its sleep
      return 0;
    });
    rig_.Program("/usr/bin/quick", [](FakeProcess&) { return 0; });
  }
  void TearDown() override {
    EXPECT_TRUE(fs::is_empty(root_)) << "a run's directory was left";
    fs::remove_all(root_);
  }

  SandboxPolicy Policy(VerifyPolicy verify) {
    SandboxPolicy policy = rig_.Policy();
    policy.verify = verify;
    policy.workdir.root = root_;
    policy.default_limits.memory_bytes = 64 * kMiB;
    policy.default_limits.processes = 8;
    policy.on_event = events_.Sink();
    return policy;
  }
  std::vector<std::string> Kinds() const {
    std::vector<std::string> kinds;
    for (const SandboxEvent& e : events_.events()) {
      kinds.emplace_back(SandboxEventKindName(e.kind));
    }
    return kinds;
  }
  const SandboxEvent* Last(SandboxEvent::Kind kind) const {
    for (const SandboxEvent& e : events_.events()) {
      if (e.kind == kind) last_ = e;
    }
    return last_.kind == kind ? &last_ : nullptr;
  }

  Rig rig_;
  EventLog events_;
  std::string root_;
  bool finished_ = false;
  mutable SandboxEvent last_;
};

TEST_F(SandboxVerifyTest, ReportIsTheDefault) {
  EXPECT_EQ(SandboxPolicy().verify, VerifyPolicy::kReport);
  EXPECT_EQ(VerifyPolicyName(VerifyPolicy::kRefuse), "refuse");
}

TEST_F(SandboxVerifyTest, ReportPutsTheReadingInTheResultAndAnEvent) {
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kReport));
  RunRequest request = Request("steady");
  request.id = "v1";
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_TRUE(r->ok());
  ASSERT_TRUE(r->verification.has_value());
  EXPECT_THAT(r->verify_status, IsOk());
  EXPECT_TRUE(r->verification->ok());
  const VerificationCheck* memory = r->verification->Find(LimitKind::kMemory);
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->result, CheckResult::kMatch);
  EXPECT_EQ(memory->asked, "64 MiB");
  // Read right after the start, at its virtual instant.
  EXPECT_EQ(r->verification->time, r->started_at);
  EXPECT_THAT(Kinds(),
              ElementsAre("queued", "started", "limit_applied", "limit_applied",
                          "limit_applied", "verified", "exited"));
  const SandboxEvent* verified = Last(SandboxEvent::Kind::kVerified);
  ASSERT_NE(verified, nullptr);
  EXPECT_EQ(verified->run_id, "v1");
  EXPECT_EQ(verified->detail, ToString(*r->verification));
  EXPECT_THAT(verified->detail, HasSubstr("verified: "));
}

TEST_F(SandboxVerifyTest, ReportNamesAMismatchAndLetsTheRunGoOn) {
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kReport));
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("raised"));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_TRUE(r->ok());
  EXPECT_TRUE(finished_);
  ASSERT_TRUE(r->verification.has_value());
  EXPECT_FALSE(r->verification->ok());
  EXPECT_EQ(r->verification->mismatches().size(), 2u);
  const SandboxEvent* verified = Last(SandboxEvent::Kind::kVerified);
  ASSERT_NE(verified, nullptr);
  // Every mismatch.
  EXPECT_THAT(verified->detail,
              HasSubstr("MISMATCH: memory_bytes: mismatch: asked 64 MiB, "
                        "found 1 GiB"));
  EXPECT_THAT(verified->detail,
              HasSubstr("processes: mismatch: asked 8, found unlimited"));
  EXPECT_EQ(Last(SandboxEvent::Kind::kRejected), nullptr);
}

TEST_F(SandboxVerifyTest, OffReadsNothing) {
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kOff));
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("raised"));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_FALSE(r->verification.has_value());
  EXPECT_THAT(r->verify_status, IsOk());
  EXPECT_THAT(Kinds(), Not(::testing::Contains("verified")));
  EXPECT_THAT(Kinds(), Not(::testing::Contains("verify_failed")));
}

TEST_F(SandboxVerifyTest, RefuseWithEverythingInForceRuns) {
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kRefuse));
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("steady"));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_TRUE(r->ok());
  ASSERT_TRUE(r->verification.has_value());
  EXPECT_TRUE(r->verification->ok());
}

TEST_F(SandboxVerifyTest, RefuseKillsAMismatchAndLeavesNothing) {
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kRefuse));
  RunRequest request = Request("raised");
  request.id = "bad";
  const absl::Time before = rig_.fake.Now();
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kPermissionDenied,
                                   HasSubstr("weaker than asked")));
  std::optional<SecurityViolation> v = GetSecurityViolation(r.status());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, SecurityViolation::Kind::kLimitMismatch);
  EXPECT_EQ(v->severity, SecurityViolation::Severity::kCritical);
  EXPECT_EQ(v->subject, "memory_bytes");
  EXPECT_THAT(v->message,
              HasSubstr("memory_bytes asked 64 MiB, found 1 GiB; processes "
                        "asked 8, found unlimited"));
  // Killed at once: it never finished its sleep, and no time passed.
  EXPECT_FALSE(finished_);
  EXPECT_EQ(rig_.fake.Now(), before);
  std::vector<FakeRun> history = rig_.fake.History();
  ASSERT_EQ(history.size(), 1u);
  ASSERT_TRUE(history[0].outcome.has_value());
  EXPECT_EQ(history[0].outcome->reason, ExitReason::kCancelled);
  EXPECT_EQ(history[0].outcome->signal, SIGKILL);

  EXPECT_THAT(Kinds(),
              ElementsAre("queued", "started", "limit_applied", "limit_applied",
                          "limit_applied", "verified", "rejected"));
  const SandboxEvent* rejected = Last(SandboxEvent::Kind::kRejected);
  ASSERT_NE(rejected, nullptr);
  EXPECT_EQ(rejected->run_id, "bad");
  EXPECT_EQ(rejected->detail, r.status().message());

  // Nothing is left: the slot (and its id) is free, the directory gone
  // (TearDown), and the run counted.
  QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.running, 0u);
  EXPECT_EQ(stats.pending, 0u);
  RunRequest again = Request("steady");
  again.id = "bad";
  EXPECT_THAT(sandbox.Run(again).status(), IsOk());
}

TEST_F(SandboxVerifyTest, LaunchIsRefusedTheSameWay) {
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kRefuse));
  absl::StatusOr<std::unique_ptr<SandboxProcess>> p =
      sandbox.Launch(Request("raised"));
  ASSERT_THAT(p.status(), StatusIs(absl::StatusCode::kPermissionDenied));
  ASSERT_TRUE(GetSecurityViolation(p.status()).has_value());
  EXPECT_EQ(GetSecurityViolation(p.status())->kind,
            SecurityViolation::Kind::kLimitMismatch);
  EXPECT_FALSE(finished_);
  EXPECT_EQ(sandbox.Stats().running, 0u);
}

TEST_F(SandboxVerifyTest, LaunchReportsTheReadingInItsResult) {
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kReport));
  absl::StatusOr<std::unique_ptr<SandboxProcess>> p =
      sandbox.Launch(Request("raised"));
  ASSERT_THAT(p.status(), IsOk());
  absl::StatusOr<SandboxResult> r = (*p)->Finish();
  ASSERT_THAT(r.status(), IsOk());
  ASSERT_TRUE(r->verification.has_value());
  EXPECT_EQ(r->verification->mismatches().size(), 2u);
}

TEST_F(SandboxVerifyTest, AProgramThatAlreadyEndedIsReportedNotRefused) {
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kRefuse));
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("quick"));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_TRUE(r->ok());
  EXPECT_FALSE(r->verification.has_value());
  EXPECT_THAT(r->verify_status,
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("ended before it could be verified")));
  EXPECT_THAT(Kinds(),
              ElementsAre("queued", "started", "limit_applied", "limit_applied",
                          "limit_applied", "verify_failed", "exited"));
  EXPECT_EQ(Last(SandboxEvent::Kind::kVerifyFailed)->detail,
            r->verify_status.message());
}

// A manager whose processes cannot read their limits back (Verify()'s
// default): report goes on, refuse stops the run.
class NoVerifyProcess : public Process {
 public:
  explicit NoVerifyProcess(std::shared_ptr<Process> inner)
      : inner_(std::move(inner)) {}
  absl::Status SetStdin(Stdio s) override { return inner_->SetStdin(s); }
  absl::Status SetStdout(Stdio s) override { return inner_->SetStdout(s); }
  absl::Status SetStderr(Stdio s) override { return inner_->SetStderr(s); }
  absl::Status SetLimits(const Limits& l) override {
    return inner_->SetLimits(l);
  }
  Limits GetLimits() const override { return inner_->GetLimits(); }
  Command command() const override { return inner_->command(); }
  absl::Status Start() override { return inner_->Start(); }
  absl::StatusOr<Outcome> Wait() override { return inner_->Wait(); }
  absl::StatusOr<Outcome> WaitFor(absl::Duration t) override {
    return inner_->WaitFor(t);
  }
  absl::Status Signal(int signo) override { return inner_->Signal(signo); }
  absl::Status Terminate() override { return inner_->Terminate(); }
  absl::Status Kill() override { return inner_->Kill(); }
  absl::Status Suspend() override { return inner_->Suspend(); }
  absl::Status Resume() override { return inner_->Resume(); }
  absl::Status Write(absl::string_view d) override { return inner_->Write(d); }
  absl::Status CloseStdin() override { return inner_->CloseStdin(); }
  absl::StatusOr<std::string> ReadLine(Stream s, absl::Duration t) override {
    return inner_->ReadLine(s, t);
  }
  absl::StatusOr<std::string> Read(Stream s, std::size_t n,
                                   absl::Duration t) override {
    return inner_->Read(s, n, t);
  }
  Pid Id() const override { return inner_->Id(); }
  ProcessState state() const override { return inner_->state(); }
  bool Running() const override { return inner_->Running(); }
  std::optional<int> ExitCode() const override { return inner_->ExitCode(); }
  ResourceUsage Usage() const override { return inner_->Usage(); }
  Enforcement enforcement() const override { return inner_->enforcement(); }
  CapturedOutput Captured() const override { return inner_->Captured(); }

 private:
  std::shared_ptr<Process> inner_;
};

class NoVerifyManager : public Manager {
 public:
  explicit NoVerifyManager(Manager& inner) : inner_(inner) {}
  using Manager::New;
  std::shared_ptr<Process> New(Command command) override {
    return std::make_shared<NoVerifyProcess>(inner_.New(std::move(command)));
  }
  absl::StatusOr<std::shared_ptr<Process>> Get(Pid pid) const override {
    return inner_.Get(pid);
  }
  std::vector<std::shared_ptr<Process>> List() const override {
    return inner_.List();
  }
  absl::Status SetDefaultLimits(const Limits& limits) override {
    return inner_.SetDefaultLimits(limits);
  }
  Limits GetDefaultLimits() const override { return inner_.GetDefaultLimits(); }
  Capabilities capabilities() const override { return inner_.capabilities(); }
  absl::Time Now() const override { return inner_.Now(); }

 private:
  Manager& inner_;
};

TEST_F(SandboxVerifyTest, AProcessThatCannotVerifyIsReportedUnderReport) {
  NoVerifyManager manager(rig_.fake);
  Sandbox sandbox(manager, Policy(VerifyPolicy::kReport));
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("steady"));
  ASSERT_THAT(r.status(), IsOk());
  EXPECT_TRUE(r->ok());
  EXPECT_FALSE(r->verification.has_value());
  EXPECT_THAT(r->verify_status, StatusIs(absl::StatusCode::kUnimplemented));
  ASSERT_NE(Last(SandboxEvent::Kind::kVerifyFailed), nullptr);
}

TEST_F(SandboxVerifyTest, AProcessThatCannotVerifyIsRefusedUnderRefuse) {
  NoVerifyManager manager(rig_.fake);
  Sandbox sandbox(manager, Policy(VerifyPolicy::kRefuse));
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("steady"));
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kPermissionDenied,
                                   HasSubstr("could not be read back")));
  std::optional<SecurityViolation> v = GetSecurityViolation(r.status());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, SecurityViolation::Kind::kLimitMismatch);
  EXPECT_EQ(v->subject, "verification");
  EXPECT_THAT(Kinds(),
              ElementsAre("queued", "started", "limit_applied", "limit_applied",
                          "limit_applied", "verify_failed", "rejected"));
  EXPECT_EQ(sandbox.Stats().running, 0u);
  std::vector<FakeRun> history = rig_.fake.History();
  ASSERT_EQ(history.size(), 1u);
  ASSERT_TRUE(history[0].outcome.has_value());
  EXPECT_EQ(history[0].outcome->signal, SIGKILL);
}

TEST_F(SandboxVerifyTest, NoSecretReachesTheVerificationOrItsRefusal) {
  const std::string secret = "s3cr3t-token-value";
  rig_.Program("/usr/bin/leaky", [](FakeProcess& p) {
    Limits raised;
    raised.memory_bytes = int64_t{1} << 30;
    (void)p.AlterLimits(raised);
    p.Sleep(absl::Seconds(1));
    return 0;
  });
  Sandbox sandbox(rig_.fake, Policy(VerifyPolicy::kRefuse));
  RunRequest request = Request("leaky", {secret});
  ASSERT_THAT(request.env.SetSecret("TOKEN", secret), IsOk());
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r.status(), StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr(secret)));
  EXPECT_THAT(ToString(*GetSecurityViolation(r.status())),
              Not(HasSubstr(secret)));
  EXPECT_THAT(events_.AllText(), Not(HasSubstr(secret)));
}

}  // namespace
}  // namespace procsandbox
