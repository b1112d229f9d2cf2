// Adversarial review of the sandbox layer (issue 6): each TEST proves one bug
// on the in-memory manager and is expected to FAIL until the bug is fixed.
// Every test says what is wrong, where, and a suggested fix.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox/testing/testing.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox::testing::IsOk;
using ::procsandbox::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

// A private 0700 directory for workdir roots, removed afterwards.
class TempRoot {
 public:
  TempRoot() {
    char templ[] = "/tmp/procsandbox-review-XXXXXX";
    if (mkdtemp(templ) != nullptr) path_ = templ;
  }
  ~TempRoot() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Events collected from any thread.
struct EventLog {
  absl::Mutex mu;
  std::vector<SandboxEvent> events;
  std::function<void(const SandboxEvent&)> Sink() {
    return [this](const SandboxEvent& e) {
      absl::MutexLock lock(&mu);
      events.push_back(e);
    };
  }
  std::string AllText() {
    absl::MutexLock lock(&mu);
    std::string text;
    for (const SandboxEvent& e : events) {
      absl::StrAppend(&text, ToString(e), "\n");
    }
    return text;
  }
};

// BUG: the id the sandbox assigns to a request without one ("run-<n>") is
// not checked against the ids callers chose, so a caller who names a run
// "run-1" makes the next anonymous Run() fail with InvalidArgument ("a live
// run already has this id") although that caller never gave an id.
// Where: src/sandbox/engine.cc Engine::Prepare (next_id_ counter) together
// with src/sandbox/run_queue.cc RunQueue::Enter.
// Fix: assign the id inside RunQueue::Enter under its lock, skipping ids in
// live_ (or use a reserved namespace such as a prefix callers may not use).
TEST(SandboxReviewTest, AnonymousRunCollidesWithCallerChosenRunId) {
  Rig rig;
  rig.Program("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine().has_value()) {
    }
    return 0;
  });
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  Sandbox sandbox(rig.fake, rig.Policy());
  RunRequest named = Request("server");
  named.id = "run-1";
  absl::StatusOr<std::unique_ptr<SandboxProcess>> server =
      sandbox.Launch(named);
  ASSERT_THAT(server, IsOk());

  // No id given: the sandbox must pick a free one.
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("true"));
  EXPECT_THAT(r, IsOk());
  ASSERT_THAT((*server)->Finish(), IsOk());
}

// BUG: with QueuePolicy::max_queued = 0 ("no waiting: run now or refuse")
// every run is refused with ResourceExhausted, even when all slots are free,
// because the "queue full" test counts the run itself before asking whether
// it can be admitted at once. ValidateSandboxPolicy accepts max_queued 0.
// Where: src/sandbox/run_queue.cc RunQueue::Acquire (the
// `queued_.size() >= policy_.max_queued` test comes before admission).
// Fix: admit at once when the queue is empty and running_ < max_concurrent;
// only then apply the max_queued bound (or reject max_queued 0 in
// ValidateSandboxPolicy).
TEST(SandboxReviewTest, MaxQueuedZeroRefusesARunWhileSlotsAreFree) {
  Rig rig;
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.queue.max_concurrent = 4;
  policy.queue.max_queued = 0;
  ASSERT_THAT(ValidateSandboxPolicy(policy), IsOk());
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("true"));
  EXPECT_THAT(r, IsOk());
  EXPECT_EQ(sandbox.Stats().rejected, 0u);
}

// BUG: WorkdirPolicy::set_home / set_tmpdir are silently ignored under
// EnvironmentPolicy::Mode::kInheritExceptDenied (and kAllowlist with HOME or
// TMPDIR allowed): MakeWorkdir only sets them when the environment does not
// already contain them, and the host's inherited HOME/TMPDIR count as
// "already set". The program then writes to the host user's home and the
// shared /tmp instead of its private directory; nothing is reported.
// Where: src/sandbox/engine.cc Engine::MakeWorkdir (`!run.env.Contains(...)`).
// Fix: remember which names the policy/request set explicitly
// (BuildEnvironment can return them) and only let those win; always replace
// host-inherited TMPDIR/HOME when the policy asks for them.
TEST(SandboxReviewTest, SetHomeAndTmpdirIgnoredWhenTheHostHasThem) {
  TempRoot root;
  ASSERT_FALSE(root.path().empty());
  Rig rig;
  auto seen = std::make_shared<std::pair<std::string, std::string>>();
  rig.Program("/usr/bin/where", [seen](FakeProcess& p) {
    seen->first = p.env().Get("HOME").value_or("");
    seen->second = p.env().Get("TMPDIR").value_or("");
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.environment.mode = EnvironmentPolicy::Mode::kInheritExceptDenied;
  policy.environment.host =
      Environment{{"HOME", "/home/host"}, {"TMPDIR", "/tmp"}};
  policy.workdir.root = root.path();
  policy.workdir.set_home = true;
  policy.workdir.set_tmpdir = true;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("where"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(seen->first, r->workdir) << "HOME was not the run's directory";
  EXPECT_EQ(seen->second, absl::StrCat(r->workdir, "/tmp"))
      << "TMPDIR was not the run's tmp/";
}

// BUG: a secret whose value contains a quote (or a control character) leaks
// into the kStarted event: the detail is ToString(Command), which shell-quotes
// each argument ('p'\''w0rd...' / $'...\t...'), and the Redactor only
// replaces the raw value, which no longer appears verbatim. Anyone reading
// the log recovers the secret by unquoting.
// Where: src/sandbox/engine.cc Engine::Start (`run.redactor.Redact(ToString(
// cmd))`) and src/sandbox/redactor.h Redactor::Redact.
// Fix: redact before formatting (replace secret values in a copy of the
// Command's args/name/working_dir with "<redacted>" and format that copy), or
// also register each secret's quoted/escaped forms with the Redactor.
TEST(SandboxReviewTest, SecretWithAQuoteLeaksShellQuotedIntoStartedEvent) {
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
  // The shell-quoted form of the value is the value.
  EXPECT_THAT(text, Not(HasSubstr("Xq9-very-secret-tail"))) << text;
}

// BUG: a request's own Limits::output_bytes (below OutputPolicy::max_bytes)
// makes the manager cut the output, but the result claims nothing was
// truncated: truncated_by is kNone and both flags are false, because the
// collector compares what the manager received only with the policy's
// max_bytes, not with the cap actually given to the manager.
// Where: src/sandbox/engine.cc Engine::MakeCommand (cap = min(policy,
// request)) vs Engine::Finish -> src/sandbox/output_collector.cc
// OutputCollector::Finish (`received_bytes > policy_.max_bytes`).
// Fix: give the collector the effective byte cap (the min) and use it both
// for line accounting and in Finish().
TEST(SandboxReviewTest, RequestOutputBytesCapTruncatesWithoutSayingSo) {
  Rig rig;
  rig.Program("/usr/bin/chatty", [](FakeProcess& p) {
    for (int i = 0; i < 100; ++i) p.WriteStdout("0123456789\n");
    return 0;
  });
  Sandbox sandbox(rig.fake, rig.Policy());
  RunRequest request = Request("chatty");
  request.limits.output_bytes = 22;  // two lines' worth
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_LE(r->stdout_.size(), 22u) << r->stdout_;
  EXPECT_TRUE(r->stdout_truncated)
      << "1100 bytes written, " << r->stdout_.size() << " kept";
  EXPECT_NE(r->truncated_by, OutputCap::kNone);
}

// BUG (policy gap): "a shell as the program is refused unless allowed by
// name" is bypassed by a trampoline: `env sh -c ...` (or env sudo, nice,
// timeout, nohup, xargs, stdbuf ...) runs any shell or privilege tool while
// the program checked is `env`. With an empty allowlist this is the easiest
// way around the shell and privilege-tool rules.
// Where: src/sandbox/program_policy.cc CheckProgram (only the program's own
// names are checked).
// Fix: treat known exec trampolines (env, nice, nohup, timeout, stdbuf,
// xargs, time, ionice, taskset, setsid, flock ...) as refused like shells
// unless allowed by name, or resolve and check their first non-option
// argument as the program.
TEST(SandboxReviewTest, ShellReachedThroughEnvIsNotRefused) {
  Rig rig;
  rig.Program("/usr/bin/env", [](FakeProcess&) { return 0; });
  rig.Program("/bin/sh", [](FakeProcess&) { return 0; });
  Sandbox sandbox(rig.fake, rig.Policy());
  // The direct form is refused...
  ASSERT_THAT(sandbox.Run(Request("sh", {"-c", "id"})),
              StatusIs(absl::StatusCode::kPermissionDenied));
  // ...the same shell through env is not.
  absl::StatusOr<SandboxResult> r =
      sandbox.Run(Request("env", {"sh", "-c", "id"}));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kPermissionDenied));
  std::optional<SecurityViolation> v = GetSecurityViolation(r.status());
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->kind, SecurityViolation::Kind::kShellRefused);
}

// BUG: output that fits the byte cap exactly but lacks a final newline is
// reported truncated (kBytes) although every byte was kept: the collector
// charges the synthetic '\n' it adds to a partial last line against the cap
// while the manager's raw cap (the same number) let all bytes through.
// Where: src/sandbox/output_collector.cc OutputCollector::OnLine (cost =
// size + 1 for a line that had no '\n').
// Fix: know whether a line ended with '\n' (or at EOF) and charge the
// newline only when it was really there; do not set truncated when nothing
// was dropped.
TEST(SandboxReviewTest, PartialLastLineAtExactByteCapReportedTruncated) {
  Rig rig;
  rig.Program("/usr/bin/printf", [](FakeProcess& p) {
    p.WriteStdout("abcd");  // 4 bytes, no newline
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.output.max_bytes = 4;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("printf"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->stdout_, HasSubstr("abcd"));
  EXPECT_FALSE(r->stdout_truncated) << "all 4 bytes were kept";
  EXPECT_EQ(r->truncated_by, OutputCap::kNone);
}

// --- Added with the fixes: the rest of the review, and the designs chosen.

// Two secrets overlapping in a text ("abcd" and "cdef" in "abcdef") are both
// covered: replacing one, then looking for the other, left "ef" behind.
TEST(SandboxReviewTest, OverlappingSecretsAreRedactedWhole) {
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

// Exec wrappers: refused with arguments unless allowed by name; env with no
// argument at all only prints the environment and is accepted.
TEST(SandboxReviewTest, ExecWrappersAreRefusedUnlessAllowedByName) {
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
    EXPECT_EQ(GetSecurityViolation(r.status())->kind,
              SecurityViolation::Kind::kShellRefused);
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
TEST(SandboxReviewTest, ProgramBelowAWritableDirectoryIsRefusedOnTheFake) {
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
  EXPECT_EQ(GetSecurityViolation(r.status())->kind,
            SecurityViolation::Kind::kUnsafeProgramFile);
  EXPECT_THAT(sandbox.Run(Request("/tmp/tool")), IsOk());
}

// max_queued bounds the runs that wait, still: with the only slot busy and
// max_queued 0, a second run is refused at once.
TEST(SandboxReviewTest, MaxQueuedZeroStillRefusesARunThatWouldWait) {
  Rig rig;
  rig.Program("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine().has_value()) {
    }
    return 0;
  });
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.queue.max_concurrent = 1;
  policy.queue.max_queued = 0;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<std::unique_ptr<SandboxProcess>> server =
      sandbox.Launch(Request("server"));
  ASSERT_THAT(server, IsOk());
  EXPECT_THAT(sandbox.Run(Request("true")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(sandbox.Stats().rejected, 1u);
  ASSERT_THAT((*server)->Finish(), IsOk());
}

// A ceiling's kLimitApplied comes after kQueued (it applies to a run that
// got its slot), not before the run is even queued.
TEST(SandboxReviewTest, CeilingIsReportedAfterQueued) {
  Rig rig;
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  EventLog log;
  SandboxPolicy policy = rig.Policy();
  policy.max_limits.wall_time = absl::Seconds(5);
  policy.on_event = log.Sink();
  Sandbox sandbox(rig.fake, policy);
  ASSERT_THAT(sandbox.Run(Request("true")), IsOk());
  absl::MutexLock lock(&log.mu);
  ASSERT_FALSE(log.events.empty());
  EXPECT_EQ(log.events[0].kind, SandboxEvent::Kind::kQueued);
  EXPECT_EQ(log.events[1].kind, SandboxEvent::Kind::kLimitApplied);
  EXPECT_THAT(log.events[1].detail, HasSubstr("capped at"));
}

// HOME/TMPDIR set by the request itself still win over set_home/set_tmpdir.
TEST(SandboxReviewTest, ExplicitHomeWinsOverSetHome) {
  TempRoot root;
  ASSERT_FALSE(root.path().empty());
  Rig rig;
  auto seen = std::make_shared<std::string>();
  rig.Program("/usr/bin/where", [seen](FakeProcess& p) {
    *seen = p.env().Get("HOME").value_or("");
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.environment.mode = EnvironmentPolicy::Mode::kInheritExceptDenied;
  policy.environment.host = Environment{{"HOME", "/home/host"}};
  policy.workdir.root = root.path();
  policy.workdir.set_home = true;
  Sandbox sandbox(rig.fake, policy);
  RunRequest request = Request("where");
  ASSERT_THAT(request.env.Set("HOME", "/custom"), IsOk());
  ASSERT_THAT(sandbox.Run(request), IsOk());
  EXPECT_EQ(*seen, "/custom");
}

// The workdir root: trailing slashes are accepted (ignored), "." and ".."
// components and relative paths are not.
TEST(SandboxReviewTest, WorkdirRootMustBeAbsoluteWithoutDotComponents) {
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

// A last line without '\n' that fits is kept with one; one byte more than
// the cap is truncation.
TEST(SandboxReviewTest, PartialLastLineOverTheCapIsTruncated) {
  Rig rig;
  rig.Program("/usr/bin/printf", [](FakeProcess& p) {
    p.WriteStdout("abcde");
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.output.max_bytes = 4;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("printf"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "abcd");
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->truncated_by, OutputCap::kBytes);
}

}  // namespace
}  // namespace procsandbox
