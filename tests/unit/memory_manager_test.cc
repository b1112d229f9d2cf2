// MemoryManager: starting, start failures, history, Get/List, defaults,
// strict mode, threads, destruction.
#include "procsandbox/memory_manager.h"

#include <atomic>
#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/signals.h"  // Windows's <csignal> has no SIGKILL
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/run.h"
#include "real_time.h"

namespace procsandbox {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

int ReturnZero(FakeProcess&) { return 0; }

TEST(MemoryManagerTest, RunsARegisteredProgramAndCapturesItsOutput) {
  MemoryManager fake;
  fake.Register("hello", [](FakeProcess& p) {
    p.WriteStdout("hello\n");
    p.WriteStderr("warn\n");
    return 3;
  });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("hello"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome.reason, ExitReason::kExited);
  EXPECT_EQ(r->outcome.exit_code, 3);
  EXPECT_EQ(r->stdout_, "hello\n");
  EXPECT_EQ(r->stderr_, "warn\n");
  EXPECT_EQ(r->pid, 1000);
}

TEST(MemoryManagerTest, ExitCodesWrapLikeTheOs) {
  MemoryManager fake;
  fake.Register("code", [](FakeProcess& p) { return std::stoi(p.args()[0]); });
  for (int code : {0, 1, 42, 255, 256, 257}) {
    absl::StatusOr<RunResult> r =
        procsandbox::RunCommand(fake, Command("code", {std::to_string(code)}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome.exit_code, code & 0xff) << code;
  }
}

TEST(MemoryManagerTest, UnknownProgramFailsStartWithNotFoundNamingItAndPath) {
  MemoryManager fake;
  Command cmd("no-such-tool");
  ASSERT_TRUE(cmd.env.Set("PATH", "/opt/bin:/usr/bin").ok());
  absl::Status s = fake.New(cmd)->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("\"no-such-tool\""));
  EXPECT_THAT(std::string(s.message()), HasSubstr("/opt/bin:/usr/bin"));
}

TEST(MemoryManagerTest, UnknownPathFailsStartWithNotFoundNamingIt) {
  MemoryManager fake;
  absl::Status s = fake.New(Command("/no/such/tool"))->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.message()), HasSubstr("/no/such/tool"));
}

TEST(MemoryManagerTest, RegisteredPathIsFoundThroughTheCommandsPath) {
  MemoryManager fake;
  fake.Register("/opt/go/bin/go", ReturnZero);
  Command on_path("go");
  ASSERT_TRUE(on_path.env.Set("PATH", "/usr/bin:/opt/go/bin").ok());
  EXPECT_TRUE(fake.New(on_path)->Start().ok());
  EXPECT_TRUE(fake.New(Command("/opt/go/bin/go"))->Start().ok());
  // Not on the default PATH.
  EXPECT_EQ(fake.New(Command("go"))->Start().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(fake.History()[0].resolved_program, "/opt/go/bin/go");
}

TEST(MemoryManagerTest, BareNameIsFoundWhateverThePath) {
  MemoryManager fake;
  fake.Register("make", ReturnZero);
  Command cmd("make");
  ASSERT_TRUE(cmd.env.Set("PATH", "/nowhere").ok());
  EXPECT_TRUE(fake.New(cmd)->Start().ok());
}

TEST(MemoryManagerTest, NotExecutableFailsWithPermissionDenied) {
  MemoryManager fake;
  fake.RegisterNotExecutable("/etc/passwd");
  absl::Status s = fake.New(Command("/etc/passwd"))->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()), HasSubstr("/etc/passwd"));
}

TEST(MemoryManagerTest, RegisteredStartErrorIsReturnedAndNothingRuns) {
  MemoryManager fake;
  fake.RegisterStartError("busy", absl::ResourceExhaustedError("fork: EAGAIN"));
  std::shared_ptr<Process> p = fake.New(Command("busy"));
  EXPECT_EQ(p->Start().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(p->Id(), 0);
  EXPECT_EQ(p->state(), ProcessState::kNew);
  EXPECT_TRUE(fake.List().empty());
}

TEST(MemoryManagerTest, InvalidCommandFailsStartWithInvalidArgument) {
  MemoryManager fake;
  EXPECT_EQ(fake.New(Command(""))->Start().code(),
            absl::StatusCode::kInvalidArgument);
  Command nul("tool", {std::string("a\0b", 3)});
  fake.Register("tool", ReturnZero);
  EXPECT_EQ(fake.New(nul)->Start().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemoryManagerTest, StartTwiceFailsWithFailedPrecondition) {
  MemoryManager fake;
  fake.Register("t", ReturnZero);
  std::shared_ptr<Process> p = fake.New(Command("t"));
  ASSERT_TRUE(p->Start().ok());
  absl::Status s = p->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("already started"));
}

TEST(MemoryManagerTest, SettersAfterStartFailWithFailedPrecondition) {
  MemoryManager fake;
  fake.Register("t", ReturnZero);
  std::shared_ptr<Process> p = fake.New(Command("t"));
  ASSERT_TRUE(p->SetStdout(Stdio::Capture()).ok());
  ASSERT_TRUE(p->Start().ok());
  EXPECT_EQ(p->SetStdin(Stdio::Null()).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->SetStdout(Stdio::Null()).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->SetStderr(Stdio::Null()).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->SetLimits(Limits{}).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MemoryManagerTest, SettersRejectBadValues) {
  MemoryManager fake;
  std::shared_ptr<Process> p = fake.New(Command("t"));
  EXPECT_EQ(p->SetStdin(Stdio::Capture()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p->SetStdout(Stdio::Data("x")).code(),
            absl::StatusCode::kInvalidArgument);
  Limits bad;
  bad.memory_bytes = -1;
  EXPECT_EQ(p->SetLimits(bad).code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemoryManagerTest, CallsBeforeStartFailWithFailedPrecondition) {
  MemoryManager fake;
  std::shared_ptr<Process> p = fake.New(Command("t"));
  EXPECT_EQ(p->Wait().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->WaitFor(absl::Seconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->Terminate().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->Kill().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->Signal(SIGTERM).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->Write("x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(p->Running());
  EXPECT_EQ(p->ExitCode(), std::nullopt);
}

TEST(MemoryManagerTest, ProgramSeesItsArgvEnvWorkingDirAndLimits) {
  MemoryManager fake;
  std::vector<std::string> argv;
  std::optional<std::string> token;
  std::string cwd;
  Limits limits;
  fake.Register("tool", [&](FakeProcess& p) {
    argv = p.argv();
    token = p.env().Get("TOKEN");
    cwd = p.working_dir();
    limits = p.limits();
    return 0;
  });
  Command cmd("tool", {"-v", "x y"});
  ASSERT_TRUE(cmd.env.SetSecret("TOKEN", "s3cret").ok());
  cmd.working_dir = "/work";
  cmd.limits.wall_time = absl::Seconds(5);
  ASSERT_TRUE(procsandbox::RunCommand(fake, cmd).ok());
  EXPECT_THAT(argv, ElementsAre("tool", "-v", "x y"));
  EXPECT_EQ(token, "s3cret");
  EXPECT_EQ(cwd, "/work");
  EXPECT_EQ(limits.wall_time, absl::Seconds(5));
}

TEST(MemoryManagerTest, DefaultLimitsMergeUnderTheCommandsOwn) {
  MemoryManager fake;
  Limits defaults;
  defaults.wall_time = absl::Seconds(60);
  defaults.memory_bytes = 1 << 20;
  ASSERT_TRUE(fake.SetDefaultLimits(defaults).ok());
  EXPECT_EQ(fake.GetDefaultLimits(), defaults);
  fake.Register("t", ReturnZero);
  Command cmd("t");
  cmd.limits.wall_time = absl::Seconds(2);
  std::shared_ptr<Process> p = fake.New(cmd);
  EXPECT_EQ(p->GetLimits().wall_time, absl::Seconds(2));
  EXPECT_EQ(p->GetLimits().memory_bytes, 1 << 20);
  ASSERT_TRUE(p->Start().ok());
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->limits, p->GetLimits());
}

TEST(MemoryManagerTest, SetDefaultLimitsRejectsAnInvalidValueAndKeepsTheOld) {
  MemoryManager fake;
  Limits bad;
  bad.processes = 0;
  absl::Status s = fake.SetDefaultLimits(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("processes"));
  EXPECT_EQ(fake.GetDefaultLimits(), Limits{});
}

TEST(MemoryManagerTest, PidsAreDeterministic) {
  MemoryManagerOptions options;
  options.first_pid = 42;
  MemoryManager fake(options);
  fake.Register("t", ReturnZero);
  EXPECT_EQ(procsandbox::RunCommand(fake, Command("t"))->pid, 42);
  EXPECT_EQ(procsandbox::RunCommand(fake, Command("t"))->pid, 43);
}

TEST(MemoryManagerTest, HistoryRecordsEveryCommandAndRefusal) {
  MemoryManager fake;
  fake.Register("echo", [](FakeProcess& p) {
    p.WriteStdout(p.ReadAll());
    p.Sleep(absl::Seconds(2));
    return 0;
  });
  Command cmd("echo", {"a"});
  cmd.stdin_ = Stdio::Data("in");
  cmd.stdout_ = Stdio::Null();  // recorded in history all the same
  ASSERT_TRUE(procsandbox::RunCommand(fake, cmd).ok());
  EXPECT_FALSE(procsandbox::RunCommand(fake, Command("missing")).ok());

  std::vector<FakeRun> history = fake.History();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].command.args, std::vector<std::string>{"a"});
  EXPECT_EQ(history[0].stdin_data, "in");
  EXPECT_EQ(history[0].stdout_data, "in");
  ASSERT_TRUE(history[0].outcome.has_value());
  EXPECT_EQ(*history[0].end_time - history[0].start_time, absl::Seconds(2));
  EXPECT_EQ(history[1].pid, 0);
  EXPECT_EQ(history[1].start_status.code(), absl::StatusCode::kNotFound);
  fake.ClearHistory();
  EXPECT_TRUE(fake.History().empty());
}

TEST(MemoryManagerTest, HistoryKeepsAtMostItsLimit) {
  MemoryManagerOptions options;
  options.history_limit = 2;
  MemoryManager fake(options);
  fake.Register("t", ReturnZero);
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(procsandbox::RunCommand(fake, Command("t")).ok());
  std::vector<FakeRun> history = fake.History();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[1].pid, 1004);
}

TEST(MemoryManagerTest, GetAndListShowRunningProcessesOnly) {
  MemoryManager fake;
  fake.Register("sleeper", [](FakeProcess& p) {
    p.Sleep(absl::Hours(1));
    return 0;
  });
  fake.Register("quick", ReturnZero);
  std::shared_ptr<Process> sleeper = fake.New(Command("sleeper"));
  std::shared_ptr<Process> quick = fake.New(Command("quick"));
  ASSERT_TRUE(sleeper->Start().ok());
  ASSERT_TRUE(quick->Start().ok());
  std::vector<std::shared_ptr<Process>> listed = fake.List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0], sleeper);
  EXPECT_EQ(*fake.Get(sleeper->Id()), sleeper);
  EXPECT_EQ(fake.Get(quick->Id()).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(fake.Get(12345).status().code(), absl::StatusCode::kNotFound);
}

TEST(MemoryManagerTest, StrictModeRefusesALimitItCannotEnforce) {
  MemoryManagerOptions options;
  options.strict = true;
  options.unenforced = {{LimitKind::kMemory, Mechanism::kNone, "no cgroup"}};
  MemoryManager fake(options);
  fake.Register("t", ReturnZero);
  Command cmd("t");
  cmd.limits.memory_bytes = 1 << 20;
  absl::Status s = fake.New(cmd)->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("memory_bytes"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("no cgroup"));
  EXPECT_TRUE(procsandbox::RunCommand(fake, Command("t"))
                  .ok());  // without the limit it runs
}

TEST(MemoryManagerTest, DroppedCapabilitiesAreReportedAsEnforced) {
  MemoryManager fake;
  fake.Register("t", ReturnZero);
  Command cmd("t");
  cmd.isolation.drop_capabilities = true;
  cmd.isolation.keep_capabilities = {"CAP_NET_BIND_SERVICE"};
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  const IsolationEnforcement* caps =
      r->enforcement.Find(IsolationKind::kCapabilities);
  ASSERT_NE(caps, nullptr);
  EXPECT_TRUE(caps->enforced);
  EXPECT_EQ(caps->detail, "virtual");
}

TEST(MemoryManagerTest, StrictModeRefusesCapabilitiesItCannotDrop) {
  MemoryManagerOptions options;
  options.strict = true;
  options.unenforced_isolation = {
      {IsolationKind::kCapabilities, false, "no CAP_SETPCAP"}};
  MemoryManager fake(options);
  fake.Register("t", ReturnZero);
  const Capabilities host = fake.capabilities();
  ASSERT_NE(host.Find(IsolationKind::kCapabilities), nullptr);
  EXPECT_FALSE(host.Find(IsolationKind::kCapabilities)->enforced);
  Command cmd("t");
  cmd.isolation.drop_capabilities = true;
  absl::Status s = fake.New(cmd)->Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(s.message()), HasSubstr("capabilities"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("no CAP_SETPCAP"));
  EXPECT_TRUE(procsandbox::RunCommand(fake, Command("t"))
                  .ok());  // without them it runs
}
TEST(MemoryManagerTest,
     WithoutStrictModeAnUnenforcedLimitIsReportedAndNotApplied) {
  MemoryManagerOptions options;
  options.unenforced = {{LimitKind::kMemory, Mechanism::kNone, "no cgroup"}};
  MemoryManager fake(options);
  fake.Register("hog", [](FakeProcess& p) {
    p.UseMemory(1 << 30);
    return 0;
  });
  Command cmd("hog");
  cmd.limits.memory_bytes = 1 << 20;
  cmd.limits.wall_time = absl::Seconds(1);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kExited);
  const LimitEnforcement* memory = r->enforcement.Find(LimitKind::kMemory);
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->mechanism, Mechanism::kNone);
  EXPECT_EQ(memory->detail, "no cgroup");
  EXPECT_EQ(r->enforcement.Find(LimitKind::kWallTime)->mechanism,
            Mechanism::kVirtual);
  EXPECT_EQ(fake.capabilities().Find(LimitKind::kMemory)->mechanism,
            Mechanism::kNone);
}

TEST(MemoryManagerTest, AnExceptionEscapingAProgramIsAnAbort) {
  MemoryManager fake;
  fake.Register("thrower",
                [](FakeProcess&) -> int { throw std::runtime_error("boom"); });
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(fake, Command("thrower"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kSignaled);
  EXPECT_EQ(r->outcome.signal, SIGABRT);
  EXPECT_THAT(r->stderr_, HasSubstr("boom"));
}

TEST(MemoryManagerTest, DestructionStopsWhatStillRunsAndTheHandleOutlivesIt) {
  std::shared_ptr<Process> p;
  {
    MemoryManager fake;
    fake.Register("server", [](FakeProcess& program) {
      program.Sleep(absl::InfiniteDuration());
      return 0;
    });
    p = fake.New(Command("server"));
    ASSERT_TRUE(p->Start().ok());
  }
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kCancelled);
  EXPECT_EQ(outcome->signal, SIGTERM);
  EXPECT_EQ(p->Start().code(), absl::StatusCode::kFailedPrecondition);
}

// Set by the thread-exit cleanup of a program's thread: the last thing such
// a thread does.
std::atomic<bool> program_thread_gone{false};

struct OnThreadExit {
  ~OnThreadExit() {
    // Widens the window between a thread's body and its real end, where a
    // thread the manager let go would still run after its destruction.
    absl::SleepFor(absl::Milliseconds(50));
    program_thread_gone = true;
  }
};

// No thread of the fake outlives it: one still ending while the host
// process exits can hang that exit (MinGW's runtime did, under Wine).
TEST(MemoryManagerTest, DestructionWaitsForTheProgramThreadsToEnd) {
  program_thread_gone = false;
  {
    MemoryManager fake;
    fake.Register("server", [](FakeProcess& program) {
      static thread_local OnThreadExit cleanup;
      (void)&cleanup;
      program.Sleep(absl::InfiniteDuration());
      return 0;
    });
    std::shared_ptr<Process> p = fake.New(Command("server"));
    ASSERT_TRUE(p->Start().ok());
    EXPECT_TRUE(p->Running());  // runs it on a thread of its own
  }
  EXPECT_TRUE(program_thread_gone);
}

TEST(MemoryManagerTest, DestructionKillsAProgramThatIgnoresTermAfterTheGrace) {
  std::shared_ptr<Process> p;
  {
    MemoryManager fake;
    fake.clock().SetAutoAdvance(false);  // destruction moves time all the same
    fake.Register("stubborn", [](FakeProcess& program) {
      (void)program.IgnoreSignal(SIGTERM);
      program.Sleep(absl::InfiniteDuration());
      return 0;
    });
    p = fake.New(Command("stubborn"));
    ASSERT_TRUE(p->Start().ok());
  }
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kCancelled);
  EXPECT_EQ(outcome->signal, internal::kSigKill);
  EXPECT_EQ(outcome->wall_time, kDefaultKillGrace);
}

TEST(MemoryManagerTest, ManyThreadsRunManyProgramsAtOnce) {
  MemoryManager fake;
  fake.Register("work", [](FakeProcess& p) {
    p.Sleep(absl::Milliseconds(std::stoi(p.args()[0])));
    p.WriteStdout(p.args()[0]);
    return std::stoi(p.args()[0]) % 7;
  });
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        const int ms = t * 100 + i;
        absl::StatusOr<RunResult> r = procsandbox::RunCommand(
            fake, Command("work", {std::to_string(ms)}));
        if (!r.ok() || r->outcome.exit_code != ms % 7 ||
            r->stdout_ != std::to_string(ms)) {
          ++wrong;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(fake.History().size(), 800u);
  EXPECT_TRUE(fake.List().empty());
}

TEST(MemoryManagerTest, ProgramsAtTheSameInstantRunInPidOrder) {
  MemoryManager fake;
  absl::Mutex mu;
  std::vector<std::string> order;
  fake.Register("step", [&](FakeProcess& p) {
    for (int i = 0; i < 3; ++i) {
      {
        absl::MutexLock lock(&mu);
        order.push_back(p.args()[0] + std::to_string(i));
      }
      p.Sleep(absl::Seconds(1));
    }
    return 0;
  });
  std::shared_ptr<Process> a = fake.New(Command("step", {"a"}));
  std::shared_ptr<Process> b = fake.New(Command("step", {"b"}));
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(b->Start().ok());
  ASSERT_TRUE(b->Wait().ok());
  ASSERT_TRUE(a->Wait().ok());
  EXPECT_THAT(order, ElementsAre("a0", "b0", "a1", "b1", "a2", "b2"));
}

TEST(MemoryManagerTest, AProgramCanStartAndWaitForAnother) {
  MemoryManager fake;
  fake.Register("child", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(2));
    p.WriteStdout("child done\n");
    return 7;
  });
  fake.Register("parent", [&fake](FakeProcess& p) {
    Command child("child");
    child.stdout_ = Stdio::Capture();
    std::shared_ptr<Process> c = fake.New(child);
    if (!c->Start().ok()) return 100;
    absl::StatusOr<Outcome> outcome = c->Wait();
    p.WriteStdout(c->Captured().stdout_);
    return outcome.ok() ? outcome->exit_code : 101;
  });
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(fake, Command("parent"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.exit_code, 7);
  EXPECT_EQ(r->stdout_, "child done\n");
  EXPECT_EQ(r->outcome.wall_time, absl::Seconds(2));
}

TEST(MemoryManagerTest, CapabilitiesDescribeTheFake) {
  MemoryManager fake;
  Capabilities caps = fake.capabilities();
  EXPECT_EQ(caps.backend, "memory");
  EXPECT_EQ(caps.limits.size(), std::size(kAllLimitKinds));
  EXPECT_TRUE(caps.Has("virtual_clock"));
  for (const Feature& f : caps.features) {
    EXPECT_THAT(FeatureNames(), Contains(f.name));
  }
}

// The fake's children (SpawnChildren) live and die with their program, so
// it says it kills and freezes whole trees; a host reading tree_kill sees
// what an OS manager with cgroups would say.
TEST(MemoryManagerTest, CapabilitiesSayAKillAndASuspendReachTheWholeTree) {
  MemoryManager fake;
  const Capabilities caps = fake.capabilities();
  EXPECT_TRUE(caps.tree_kill);
  EXPECT_THAT(caps.tree_kill_detail, HasSubstr("virtual"));
  EXPECT_TRUE(caps.tree_freeze);
  EXPECT_THAT(caps.tree_freeze_detail, HasSubstr("virtual"));
}

// A host call returns once every program it woke is blocked again: a started
// program's first step (a file written before any blocking call) is seen by
// GetFile() right after Start().
TEST(MemoryManagerTest, AStartedProgramsFirstStepIsVisibleToGetFile) {
  MemoryManager fake;
  fake.Register("writer", [](FakeProcess& p) {
    (void)p.WriteFile("/tmp/ready", "1");
    p.Sleep(absl::Hours(1));
    return 0;
  });
  std::shared_ptr<Process> proc = fake.New(Command("writer"));
  ASSERT_TRUE(proc->Start().ok());
  EXPECT_EQ(fake.GetFile("/tmp/ready"), std::optional<std::string>("1"));
  // Any look at the process materializes it; then the file is there.
  (void)proc->Running();
  EXPECT_EQ(fake.GetFile("/tmp/ready"), std::optional<std::string>("1"));
}

// A never-started Process that outlives its manager refuses its setters and
// Start() with FailedPrecondition, as process.h promises.
TEST(MemoryManagerTest, SettersFailOnceTheManagerIsGone) {
  std::shared_ptr<Process> proc;
  {
    MemoryManager fake;
    proc = fake.New(Command("x"));
  }
  EXPECT_EQ(proc->SetStdin(Stdio::Null()).code(),
            absl::StatusCode::kFailedPrecondition);
  Limits limits;
  limits.wall_time = absl::Seconds(1);
  EXPECT_EQ(proc->SetLimits(limits).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(proc->Start().code(), absl::StatusCode::kFailedPrecondition);
}

// An empty PATH entry is the current directory, which for the child is
// Command::working_dir (the OS manager searches after the chdir).
TEST(MemoryManagerTest, AnEmptyPathEntryIsTheWorkingDirectory) {
  MemoryManager fake;
  fake.Register("/srv/app/tool", [](FakeProcess&) { return 0; });
  Command cmd("tool");
  ASSERT_TRUE(cmd.env.Set("PATH", ":/usr/bin").ok());
  cmd.working_dir = "/srv/app";
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok());
}

// A scripted program may run a command on another MemoryManager (a tool that
// shells out through an injected Manager&): each manager schedules only its
// own programs. In a child with a watchdog, so a hang fails the test.
TEST(MemoryManagerTest, AProgramMayRunACommandOnAnotherManager) {
  ExpectCompletesWithin(5, []() -> std::string {
    MemoryManager a;
    MemoryManager b;
    b.Register("cc", [](FakeProcess& p) {
      p.Sleep(absl::Seconds(1));
      p.WriteStdout("compiled\n");
      return 0;
    });
    a.Register("make", [&b](FakeProcess& p) {
      absl::StatusOr<RunResult> r = procsandbox::RunCommand(b, Command("cc"));
      if (!r.ok()) return 100;
      p.WriteStdout(r->stdout_);
      return r->outcome.exit_code;
    });
    absl::StatusOr<RunResult> r = procsandbox::RunCommand(a, Command("make"));
    if (!r.ok()) return r.status().ToString();
    return r->ok() && r->stdout_ == "compiled\n" ? "" : ToString(*r);
  });
}

// 2,000 concurrent sleeping programs all finish. (How fast is measured in
// bench/fake_bench.cpp "[many]", not asserted here; the watchdog only turns a
// hang into a failure.)
TEST(MemoryManagerTest, TwoThousandSleepingProgramsAllFinish) {
  ExpectCompletesWithin(120, []() -> std::string {
    MemoryManager fake;
    fake.Register("sleep", [](FakeProcess& p) {
      p.Sleep(absl::Milliseconds(std::stoi(p.args()[0])));
      return 0;
    });
    std::vector<std::shared_ptr<Process>> procs;
    for (int i = 0; i < 2000; ++i) {
      procs.push_back(fake.New(Command("sleep", {std::to_string(i + 1)})));
      if (absl::Status s = procs.back()->Start(); !s.ok()) return s.ToString();
    }
    for (const auto& proc : procs) {
      if (absl::StatusOr<Outcome> o = proc->Wait(); !o.ok()) {
        return o.status().ToString();
      }
    }
    return "";
  });
}

}  // namespace
}  // namespace procsandbox
