// The Linux OS manager, for real (the shared behaviour is in
// tests/conformance).
#include "procsandbox/os_manager.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "process_inspection.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"
#include "real_time.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::KilledBy;
using ::procsandbox_testing::StatusIs;
using ::procsandbox_testing::TimedOut;
using ::testing::HasSubstr;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

std::unique_ptr<Manager> NewManager(OsManagerOptions options = {}) {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager(options);
  EXPECT_THAT(m, IsOk());
  return m.ok() ? *std::move(m) : nullptr;
}

Command Helper(std::vector<std::string> steps) {
  return Command(kHelper, std::move(steps));
}

TEST(OsManagerTest, RunsAProgramAndCapturesBothStreams) {
  auto m = NewManager();
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(
      *m, Helper({"print", "out", "print-stderr", "err", "exit", "3"}));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(3));
  EXPECT_EQ(r->stdout_, "out\n");
  EXPECT_EQ(r->stderr_, "err\n");
}

TEST(OsManagerTest, AWallTimeLimitEndsTheRunAsTimedOut) {
  auto m = NewManager();
  Command cmd = Helper({"ignore", "TERM", "print", "ready", "sleep-forever"});
  cmd.kill_grace = absl::Milliseconds(100);
  absl::StatusOr<RunResult> r =
      RunReadyUnderWallTime(*m, cmd, absl::Milliseconds(100));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "ready\n");
  EXPECT_THAT(r, TimedOut());
  EXPECT_THAT(r, KilledBy(SIGKILL));
}

TEST(OsManagerTest, WaitReturnsAlthoughAGrandchildHoldsThePipe) {
  auto m = NewManager();
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(
      *m, Helper({"grandchild-holds-pipe", "print", "done"}));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "done\n");
}

TEST(OsManagerTest, TerminateIsCancelled) {
  auto m = NewManager();
  std::shared_ptr<Process> p = m->New(Helper({"sleep-forever"}));
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Terminate(), IsOk());
  absl::StatusOr<Outcome> o = p->Wait();
  EXPECT_THAT(o, Cancelled());
  EXPECT_THAT(o, KilledBy(SIGTERM));
}

TEST(OsManagerTest, DestroyingTheManagerStopsItsChildren) {
  std::shared_ptr<Process> p;
  {
    auto m = NewManager();
    p = m->New(Helper({"sleep-forever"}));
    ASSERT_THAT(p->Start(), IsOk());
  }
  EXPECT_THAT(p->Wait(), Cancelled());
}

// ---------------------------------------------------------------------------
// Real-process behaviour the conformance suite cannot express: descriptors,
// zombies, process groups, sessions, credentials, pipes and signals of the
// host itself.

constexpr char kTinyHelper[] = PROCSANDBOX_TINY_HELPER;

// Runs `body` in a child that gtest starts by re-executing this binary, and
// expects it to exit 0: a signal that would kill the host (SIGPIPE) fails
// this one test instead of ending the whole binary. `body` returns what went
// wrong, or "" when all is well.
void ExpectHostSurvives(const std::function<std::string()>& body) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const std::string error = body();
        std::fputs(error.c_str(), stderr);
        std::_Exit(error.empty() ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(OsManagerTest, DescriptorsStayPrivateWhileEightThreadsStartProcesses) {
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  std::atomic<bool> stop{false};
  // Descriptors without O_CLOEXEC come and go while children are spawned:
  // none may reach a child.
  std::thread churn([&stop] {
    while (!stop.load()) {
      const int fds[] = {open("/dev/null", O_RDONLY), dup(STDERR_FILENO)};
      for (int fd : fds) {
        if (fd >= 0) close(fd);
      }
    }
  });
  constexpr int kThreads = 8;
  constexpr int kRunsPerThread = 20;
  std::vector<std::vector<std::string>> outputs(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, &outputs, t] {
      for (int i = 0; i < kRunsPerThread; ++i) {
        absl::StatusOr<RunResult> r =
            procsandbox::RunCommand(*m, Helper({"print-fds"}));
        outputs[t].push_back(
            r.ok() && r->ok()
                ? r->stdout_
                : absl::StrCat("failed: ", ::testing::PrintToString(r)));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  stop = true;
  churn.join();
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(outputs[t].size(), std::size_t{kRunsPerThread});
    for (int i = 0; i < kRunsPerThread; ++i) {
      EXPECT_EQ(outputs[t][i], "0\n1\n2\n") << "thread " << t << ", run " << i;
    }
  }
}

TEST(OsManagerTest, NoZombieIsLeftAfterFiveThousandRuns) {
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  for (int i = 0; i < 5000; ++i) {
    absl::StatusOr<RunResult> r =
        procsandbox::RunCommand(*m, Command(kTinyHelper, {}));
    ASSERT_THAT(r, ExitedWith(0)) << "run " << i;
  }
  const pid_t self = getpid();
  for (const ProcStat& p : ListProcesses()) {
    EXPECT_FALSE(p.ppid == self && p.state == 'Z') << "zombie child " << p.pid;
  }
  ExpectNoChildren();
}

TEST(OsManagerTest, ADaemonisedGrandchildInTheGroupIsKilledOnTimeout) {
  // The helper's forked child is orphaned when the helper dies: as the
  // subreaper this test becomes its parent and can reap it.
  ScopedSubreaper subreaper;
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  Command cmd = Helper({"fork", "1", "print", "ready", "sleep-forever"});
  cmd.stdout_ = Stdio::Pipe();
  // The limit must run out after the fork: doubled until it did (a loaded
  // machine may not fork within 200 ms), up to about 20 s.
  std::shared_ptr<Process> p;
  absl::StatusOr<Outcome> outcome;
  bool forked = false;
  for (absl::Duration wall = absl::Milliseconds(200); !forked; wall *= 2) {
    cmd.limits.wall_time = wall;
    p = m->New(cmd);
    ASSERT_THAT(p->Start(), IsOk());
    forked = p->ReadLine(Stream::kStdout, absl::Seconds(60)).ok() ||
             wall > absl::Seconds(10);
    outcome = p->Wait();
    if (!forked) {  // reap what a late fork orphaned to us
      while (waitpid(-static_cast<pid_t>(p->Id()), nullptr, 0) > 0) {
      }
    }
  }
  const auto pgid = static_cast<pid_t>(p->Id());
  ASSERT_GT(pgid, 0);
  EXPECT_THAT(outcome, TimedOut());
  // Wait() returned after the manager sent SIGKILL to the group: every member
  // dies without help. Reap those that were orphaned to us. (The bound only
  // keeps a regression from hanging the suite.)
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  for (;;) {
    const pid_t reaped = waitpid(-pgid, nullptr, WNOHANG);
    if (reaped < 0 && errno == ECHILD) break;
    if (reaped == 0 && absl::Now() > give_up) {
      ADD_FAILURE() << "a member of process group " << pgid
                    << " survived the timeout";
      kill(-pgid, SIGKILL);
      while (waitpid(-pgid, nullptr, 0) > 0) {
      }
      break;
    }
    if (reaped == 0) absl::SleepFor(absl::Milliseconds(1));
  }
  errno = 0;
  EXPECT_EQ(kill(-pgid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  ExpectNoChildren();
}

TEST(OsManagerTest, AGrandchildThatLeftTheGroupCannotHoldWaitForever) {
  // The escaped grandchild is orphaned to this test (the subreaper), which
  // kills and reaps it at the end. Without cgroups nothing else can find it
  // (with them, it dies with the tree: tests/linux/cgroup_test.cc).
  ScopedSubreaper subreaper;
  OsManagerOptions no_cgroups;
  no_cgroups.cgroups = false;
  auto m = NewManager(no_cgroups);
  ASSERT_NE(m, nullptr);
  // The grandchild is a fork of the helper: its command line carries this
  // marker, which no other process has.
  const std::string marker =
      absl::StrCat("MARKER-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(
      *m, Helper({"daemonize", "print", "done", "print-stderr", marker}));
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "done\n");
  EXPECT_EQ(r->stderr_, marker + "\n");

  std::vector<pid_t> escaped;
  for (const ProcStat& p : ListProcesses()) {
    const std::vector<std::string> args = CommandLineOf(p.pid);
    if (!args.empty() && args[0] == kHelper &&
        std::find(args.begin(), args.end(), marker) != args.end()) {
      escaped.push_back(p.pid);
      EXPECT_NE(p.session, getsid(0)) << "the grandchild kept our session";
    }
  }
  EXPECT_EQ(escaped.size(), 1u) << "the daemonised grandchild";
  for (pid_t pid : escaped) {
    EXPECT_EQ(kill(pid, SIGKILL), 0);
    EXPECT_EQ(waitpid(pid, nullptr, 0), pid);
  }
  ExpectNoChildren();
}

TEST(OsManagerTest, ReadLineEndsWithTheProcessWhileADaemonHoldsThePipe) {
  // Without cgroups the daemonised grandchild outlives the run, holding
  // stdout open and writing nothing: the end of the process must end the
  // read, not the read's deadline. It is orphaned to this test (the
  // subreaper), which finds it by the marker in its command line, kills and
  // reaps it.
  ScopedSubreaper subreaper;
  OsManagerOptions no_cgroups;
  no_cgroups.cgroups = false;
  auto m = NewManager(no_cgroups);
  ASSERT_NE(m, nullptr);
  const std::string marker =
      absl::StrCat("MARKER-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
  Command cmd = Helper({"daemonize", "print-stderr", marker, "exit", "0"});
  cmd.stdout_ = Stdio::Pipe();
  cmd.stderr_ = Stdio::Null();
  std::shared_ptr<Process> p = m->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  absl::StatusOr<std::string> line;
  absl::Notification read_done;
  std::thread reader([&] {
    line = p->ReadLine(Stream::kStdout, absl::InfiniteDuration());
    read_done.Notify();
  });
  // A guard against the hang only: the read ends moments after the process.
  const bool ended_first =
      read_done.WaitForNotificationWithTimeout(absl::Seconds(30));
  EXPECT_THAT(p->Wait(), ExitedWith(0));

  // Killing the daemon ends a read that is still waiting (its pipe closes).
  std::vector<pid_t> escaped;
  for (const ProcStat& s : ListProcesses()) {
    const std::vector<std::string> args = CommandLineOf(s.pid);
    if (!args.empty() && args[0] == kHelper &&
        std::find(args.begin(), args.end(), marker) != args.end()) {
      escaped.push_back(s.pid);
    }
  }
  EXPECT_EQ(escaped.size(), 1u) << "the daemonised grandchild";
  for (pid_t pid : escaped) {
    EXPECT_EQ(kill(pid, SIGKILL), 0);
    EXPECT_EQ(waitpid(pid, nullptr, 0), pid);
  }
  reader.join();
  EXPECT_TRUE(ended_first) << "the read outlived the process";
  EXPECT_THAT(line, StatusIs(absl::StatusCode::kOutOfRange));
  ExpectNoChildren();
}

TEST(OsManagerTest, TheHostsOwnChildIsLeftForTheHost) {
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  // A process the manager keeps running while the host's child ends.
  Command cat = Helper({"count-stdin"});
  cat.stdin_ = Stdio::Pipe();
  std::shared_ptr<Process> running = m->New(cat);
  ASSERT_THAT(running->Start(), IsOk());

  // The host's child exits when its pipe closes (read(2) and _exit(2) only:
  // this process has threads).
  int go[2];
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  const pid_t host_child = fork();
  ASSERT_GE(host_child, 0) << std::strerror(errno);
  if (host_child == 0) {
    close(go[1]);
    char byte;
    while (read(go[0], &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(7);
  }
  close(go[0]);
  close(go[1]);
  // It has exited (not reaped: WNOWAIT) while the manager's process runs.
  siginfo_t info = {};
  ASSERT_EQ(
      waitid(P_PID, static_cast<id_t>(host_child), &info, WEXITED | WNOWAIT),
      0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_THAT(procsandbox::RunCommand(*m, Helper({"exit", absl::StrCat(i)})),
                ExitedWith(i));
  }
  ASSERT_THAT(running->CloseStdin(), IsOk());
  EXPECT_THAT(running->Wait(), ExitedWith(0));

  int status = 0;
  ASSERT_EQ(waitpid(host_child, &status, 0), host_child);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 7);
  ExpectNoChildren();
}

TEST(OsManagerTest, CredentialsDropWhenRoot) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "setting uid and gid needs root (CAP_SETUID, CAP_SETGID)";
  }
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  Command cmd = Helper({"print-ids"});
  cmd.isolation.uid = 65534;
  cmd.isolation.gid = 65534;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*m, cmd);
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "uid=65534 gid=65534 euid=65534 egid=65534 groups=\n");
}

TEST(OsManagerTest, BothStreamsFloodingAHundredMegabytesEachDoNotDeadlock) {
  constexpr std::size_t kBytes = 100 << 20;
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  Command cmd = Helper({"write-both", absl::StrCat(kBytes)});
  cmd.stdout_ = Stdio::Capture();
  cmd.stderr_ = Stdio::Capture();
  cmd.limits.output_bytes = int64_t{1} << 30;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*m, cmd);
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_FALSE(r->stdout_truncated);
  EXPECT_FALSE(r->stderr_truncated);
  // Sizes and the first wrong byte, not 100 MB of gtest output.
  for (const std::string* stream : {&r->stdout_, &r->stderr_}) {
    EXPECT_EQ(stream->size(), kBytes);
    std::size_t wrong = 0;
    while (wrong < stream->size() &&
           (*stream)[wrong] == static_cast<char>('a' + wrong % 26)) {
      ++wrong;
    }
    EXPECT_EQ(wrong, stream->size()) << "first byte off the pattern";
  }
}

TEST(OsManagerTest, DataForStdinDoesNotBlockTheHostWhenTheChildNeverReads) {
  ExpectHostSurvives([]() -> std::string {
    absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd = Helper({"sleep-ms", "100", "exit", "0"});
    cmd.stdin_ = Stdio::Data(std::string(8 << 20, 'x'));
    absl::StatusOr<RunResult> r = procsandbox::RunCommand(**m, cmd);
    if (!r.ok()) return r.status().ToString();
    if (!r->ok()) return absl::StrCat("outcome: ", ToString(*r));
    return "";
  });
}

TEST(OsManagerTest, WriteToAnEndedProcessIsUnavailableAndRaisesNoSigpipe) {
  ExpectHostSurvives([]() -> std::string {
    absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd = Helper({"exit", "0"});
    cmd.stdin_ = Stdio::Pipe();
    std::shared_ptr<Process> p = (*m)->New(cmd);
    if (absl::Status s = p->Start(); !s.ok()) return s.ToString();
    absl::StatusOr<Outcome> o = p->Wait();
    if (!o.ok() || !o->ok()) return "exit 0 did not exit 0";
    const absl::Status written = p->Write("x");
    if (written.code() != absl::StatusCode::kUnavailable) {
      return absl::StrCat("Write: want UNAVAILABLE, got ", written.ToString());
    }
    return "";
  });
}

TEST(OsManagerTest, ReadLineTimesOutOnASilentProgram) {
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  Command cmd = Helper({"sleep-forever"});
  cmd.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> p = m->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  EXPECT_THAT(p->ReadLine(Stream::kStdout, absl::Milliseconds(50)),
              StatusIs(absl::StatusCode::kDeadlineExceeded));
  ASSERT_THAT(p->Kill(), IsOk());
  EXPECT_THAT(p->Wait(), Cancelled());
}

TEST(OsManagerTest, StrictModeRefusesALimitNothingEnforcesHere) {
  // Without cgroups nothing enforces a CPU weight.
  Command cmd = Helper({"exit", "0"});
  cmd.limits.cpu_weight = 100;
  OsManagerOptions no_cgroups;
  no_cgroups.cgroups = false;
  {
    OsManagerOptions options = no_cgroups;
    options.strict = true;
    absl::StatusOr<std::unique_ptr<Manager>> strict = NewOsManager(options);
    ASSERT_THAT(strict, IsOk());
    EXPECT_THAT((*strict)->New(cmd)->Start(),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("cpu_weight")));
    ExpectNoChildren();
  }
  auto lenient = NewManager(no_cgroups);
  ASSERT_NE(lenient, nullptr);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*lenient, cmd);
  ASSERT_THAT(r, ExitedWith(0));
  const LimitEnforcement* weight = r->enforcement.Find(LimitKind::kCpuWeight);
  ASSERT_NE(weight, nullptr);
  EXPECT_EQ(weight->mechanism, Mechanism::kNone);
}

TEST(OsManagerTest, AnInvalidCommandFailsBeforeAnythingStarts) {
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  EXPECT_THAT(m->New(Command("", {}))->Start(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ExpectNoChildren();

  const std::string missing = ::testing::TempDir() + "no-such-stdin-file";
  Command from_missing_file = Helper({"count-stdin"});
  from_missing_file.stdin_ = Stdio::File(missing);
  EXPECT_THAT(m->New(from_missing_file)->Start(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(missing)));
  ExpectNoChildren();

  const std::string no_dir = ::testing::TempDir() + "no-such-working-dir";
  Command in_missing_dir = Helper({"print-cwd"});
  in_missing_dir.working_dir = no_dir;
  EXPECT_THAT(
      m->New(in_missing_dir)->Start(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(no_dir)));
  ExpectNoChildren();
}

// The conformance suite checks the texts of a program not found, or not
// executable, on a secret PATH; an exec error is the OS manager's alone.
TEST(OsManagerTest, AnExecErrorOnASecretPathDoesNotShowWhereTheProgramIs) {
  auto m = NewManager();
  ASSERT_NE(m, nullptr);
  std::string dir = ::testing::TempDir() + "S3cr3t-bin.XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr) << std::strerror(errno);
  const std::string tool = dir + "/tool";
  {
    std::ofstream out(tool);
    out << "no #! line: not a program execve can run\n";
  }
  ASSERT_EQ(chmod(tool.c_str(), 0755), 0) << std::strerror(errno);
  Command cmd("tool");
  ASSERT_THAT(cmd.env.SetSecret("PATH", dir), IsOk());
  EXPECT_THAT(m->New(cmd)->Start(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "exec \"tool\" in PATH <redacted>: exec format error "
                       "(ENOEXEC)"));
  ExpectNoChildren();
  EXPECT_EQ(unlink(tool.c_str()), 0);
  EXPECT_EQ(rmdir(dir.c_str()), 0);
}

// Open descriptors, except the manager's on cgroup files: it keeps some on
// groups made ahead of time, and how many varies with when the reactor
// refills them.
int CountOpenFds() {
  int n = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (const struct dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    char target[512] = {};
    const std::string link = absl::StrCat("/proc/self/fd/", e->d_name);
    if (readlink(link.c_str(), target, sizeof(target) - 1) > 0 &&
        std::string(target).rfind("/sys/fs/cgroup", 0) == 0) {
      continue;
    }
    ++n;
  }
  closedir(dir);
  return n - 1;  // opendir's own
}

// A Start() under way (here: opening a FIFO for stdin) while its manager is
// destroyed fails with FailedPrecondition, or, if it got through, the child
// is stopped all the same: nothing crashes, nothing runs on unmanaged.
TEST(OsManagerTest, StartRacingManagerDestructionDoesNotCrashOrLeak) {
  ExpectCompletesWithin(60, []() -> std::string {
    ScopedTempDir tmp;  // in the child, which runs the body
    const std::string fifo = tmp.path() + "/stdin.fifo";
    if (mkfifo(fifo.c_str(), 0600) != 0) return "mkfifo failed";
    auto m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd = Helper({"sleep-forever"});
    cmd.stdin_ = Stdio::File(fifo);  // Start() blocks opening it
    std::shared_ptr<Process> p = (*m)->New(cmd);
    absl::Status started = absl::UnknownError("not returned");
    std::thread starter([&] { started = p->Start(); });
    absl::SleepFor(absl::Milliseconds(300));  // Start() is inside open()
    m->reset();                               // the manager goes away
    const int w = open(fifo.c_str(), O_WRONLY | O_CLOEXEC);  // let it go on
    if (w >= 0) close(w);
    starter.join();
    unlink(fifo.c_str());
    if (started.ok()) {
      // Started after all: the gone manager must still not leave it running.
      if (!p->WaitFor(absl::Seconds(3)).ok()) {
        kill(static_cast<pid_t>(p->Id()), SIGKILL);
        return "Start() succeeded after the manager was destroyed and the "
               "child runs on, unmanaged";
      }
      return "";
    }
    if (started.code() != absl::StatusCode::kFailedPrecondition) {
      return "Start(): " + started.ToString();
    }
    return "";
  });
}

// A Start() that fails after its pipes were made leaves nothing behind, not
// even while the process handle is alive.
TEST(OsManagerTest, AFailedStartLeavesNoDescriptorBehind) {
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  const int before = CountOpenFds();
  Command cmd = Helper({"exit", "0"});
  cmd.stdin_ = Stdio::Pipe();
  cmd.stdout_ = Stdio::Capture();
  cmd.stderr_ = Stdio::File("/nonexistent-dir/for/stderr.log");
  std::shared_ptr<Process> p = (*m)->New(cmd);
  ASSERT_FALSE(p->Start().ok());
  EXPECT_EQ(CountOpenFds(), before)
      << "descriptors left open by a failed Start() (process handle alive)";
}

// After Wait() returns no descriptor of the process is left, the write end of
// a Stdio::Pipe() stdin included (while the handle still exists).
TEST(OsManagerTest, WaitLeavesNoDescriptorForAPipeStdin) {
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  const int before = CountOpenFds();
  Command cmd = Helper({"sleep-forever"});
  cmd.stdin_ = Stdio::Pipe();
  std::shared_ptr<Process> p = (*m)->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Kill(), IsOk());
  ASSERT_THAT(p->Wait(), IsOk());
  EXPECT_EQ(CountOpenFds(), before) << "a descriptor is left after Wait()";
}

// Kill() reaches a child that moved itself to another process group of its
// session (the stop is not only kill(-pgid)).
TEST(OsManagerTest, KillCannotBeEscapedByLeavingTheProcessGroup) {
  if (access("/usr/bin/perl", X_OK) != 0) GTEST_SKIP() << "needs perl";
  ExpectCompletesWithin(120, []() -> std::string {
    auto m = NewOsManager();
    if (!m.ok()) return m.status().ToString();
    Command cmd("/usr/bin/perl",
                {"-e",
                 "$| = 1; setpgrp(0, getpgrp(getppid())) or die; "
                 "print qq(moved\\n); sleep 1000;"});
    cmd.stdout_ = Stdio::Pipe();
    std::shared_ptr<Process> p = (*m)->New(cmd);
    if (absl::Status s = p->Start(); !s.ok()) return s.ToString();
    absl::StatusOr<std::string> line =
        p->ReadLine(Stream::kStdout, absl::Seconds(60));
    if (!line.ok() || *line != "moved") return "perl did not move its group";
    (void)p->Kill();
    const bool ended = p->WaitFor(absl::Seconds(30)).ok();
    if (!ended) {
      // Clean up through our own pidfd so the destructor does not hang.
      const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, p->Id(), 0U));
      syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0U);
      close(pidfd);
      (void)p->Wait();
      return "Kill() did not kill a child that left its process group";
    }
    return "";
  });
}

// Kill() of a child that already exited by itself (a zombie the reactor has
// not reaped yet, busy with another process's output) is OK and keeps the
// child's own exit: "exit 0" stays exited 0, not cancelled.
TEST(OsManagerTest, KillAfterTheChildExitedByItselfKeepsItsOwnExit) {
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  absl::Notification in_callback, release;
  Command busy = Helper({"print", "x", "sleep-forever"});
  busy.stdout_ = Stdio::Lines([&](absl::string_view) {
    in_callback.Notify();
    release.WaitForNotificationWithTimeout(absl::Seconds(5));
  });
  std::shared_ptr<Process> b = (*m)->New(busy);
  ASSERT_THAT(b->Start(), IsOk());
  ASSERT_TRUE(in_callback.WaitForNotificationWithTimeout(absl::Seconds(5)));
  // The reactor is busy; this one exits 0 on its own.
  std::shared_ptr<Process> p = (*m)->New(Helper({"exit", "0"}));
  ASSERT_THAT(p->Start(), IsOk());
  siginfo_t info = {};
  ASSERT_EQ(waitid(P_PID, static_cast<id_t>(p->Id()), &info, WEXITED | WNOWAIT),
            0);                    // it has exited (not reaped)
  ASSERT_THAT(p->Kill(), IsOk());  // "OK when already ended"
  release.Notify();
  absl::StatusOr<Outcome> o = p->Wait();
  ASSERT_THAT(o, IsOk());
  EXPECT_EQ(o->reason, ExitReason::kExited)
      << "it exited 0 before Kill(): " << ToString(*o);
  EXPECT_EQ(o->exit_code, 0);
  (void)b->Kill();
  (void)b->Wait();
}

// A pid freed by a reaped child whose output is still draining, and taken by
// a new child meanwhile, belongs to the new child: it is in Get() and List(),
// and the manager's destructor stops it. (Forcing the reuse needs root.)
TEST(OsManagerTest, APidReusedDuringTheDrainStaysManaged) {
  if (geteuid() != 0 || access("/proc/sys/kernel/ns_last_pid", W_OK) != 0) {
    GTEST_SKIP() << "forcing pid reuse needs ns_last_pid (root)";
  }
  ScopedSubreaper subreaper;
  const std::string marker = Unique("REUSE");
  OsManagerOptions options;
  // Long enough for A's reap and B's start on a loaded machine.
  options.drain_after_exit = absl::Seconds(10);
  options.cgroups = false;  // a cgroup would end the grandchild with A
  auto m = NewOsManager(options);
  ASSERT_THAT(m, IsOk());
  // A exits at once; its daemonised grandchild holds the pipes: drain.
  Command a_cmd = Helper({"daemonize", "print-stderr", marker});
  a_cmd.stdout_ = Stdio::Capture();
  a_cmd.stderr_ = Stdio::Capture();
  std::shared_ptr<Process> a = (*m)->New(a_cmd);
  ASSERT_THAT(a->Start(), IsOk());
  const pid_t pid = static_cast<pid_t>(a->Id());
  const std::string proc = absl::StrCat("/proc/", pid);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (access(proc.c_str(), F_OK) == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_NE(access(proc.c_str(), F_OK), 0) << "A was not reaped";
  ASSERT_TRUE(a->Running()) << "A should still be draining";
  {
    std::ofstream last("/proc/sys/kernel/ns_last_pid");
    last << (pid - 1);
  }
  std::shared_ptr<Process> b = (*m)->New(Helper({"sleep-forever"}));
  ASSERT_THAT(b->Start(), IsOk());
  if (b->Id() != pid) {
    (void)b->Kill();
    (void)b->Wait();
    (void)a->Wait();
    KillAndReapMarked(marker);
    GTEST_SKIP() << "could not force the pid's reuse";
  }
  ASSERT_THAT(a->Wait(), IsOk());  // the drain ends
  absl::StatusOr<std::shared_ptr<Process>> got = (*m)->Get(pid);
  EXPECT_TRUE(got.ok() && got->get() == b.get())
      << "B (pid " << pid << ") runs but Get() says " << got.status();
  std::vector<std::shared_ptr<Process>> list = (*m)->List();
  EXPECT_NE(std::find(list.begin(), list.end(), b), list.end())
      << "B missing from List()";
  m->reset();  // must stop B
  absl::StatusOr<Outcome> ob = b->WaitFor(absl::Seconds(30));
  EXPECT_TRUE(ob.ok()) << "B still runs after its manager was destroyed";
  if (!ob.ok()) {
    // Nothing watches B any more (the reactor is gone): Wait() would hang.
    // Kill and reap it here; it is this process's child.
    const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0U));
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0U);
    siginfo_t info = {};
    waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info,
           WEXITED);
    close(pidfd);
  }
  KillAndReapMarked(marker);
}

// The SIGKILL timer Terminate() arms does not keep an ended process (and its
// captured output) alive for the rest of kill_grace.
TEST(OsManagerTest, AnEndedProcessIsNotHeldByItsKillTimer) {
  auto m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  Command cmd = Helper({"sleep-forever"});
  cmd.kill_grace = absl::Hours(1);
  std::shared_ptr<Process> p = (*m)->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Terminate(), IsOk());
  ASSERT_THAT(p->Wait(), IsOk());
  std::weak_ptr<Process> weak = p;
  p.reset();
  // Polled (the reactor may hold it for a moment on a loaded machine); the
  // bound is far below the hour the timer would keep it.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (!weak.expired() && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(weak.expired())
      << "the ended process is kept alive (use_count " << weak.use_count()
      << ") by the kill timer for kill_grace";
}

}  // namespace
}  // namespace procsandbox
