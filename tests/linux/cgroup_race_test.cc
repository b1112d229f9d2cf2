// The OS manager's cgroups when threads race: a Start() against the
// manager's destructor, on_event callbacks against the process's lock, kills
// and exits against a busy reactor. Some tests need the reactor busy at a
// chosen moment; they use a Stdio::Lines callback that waits for a condition
// of /proc (never a bare sleep), since callbacks run on the reactor thread.
// Scenarios that could crash run in a re-executed child with a watchdog
// (real_time.h), which reaps its orphans and removes the groups it left.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cgroup_inspection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/cgroup_detect.h"
#include "process_inspection.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"
#include "real_time.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::IsEmpty;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

Command Helper(std::vector<std::string> steps) {
  return Command(kHelper, std::move(steps));
}

// Bytes `pid` wrote with write(2) so far (/proc/<pid>/io wchar), or -1.
int64_t BytesWritten(pid_t pid) {
  if (pid <= 0) return -1;
  const std::string io = ReadWholeFile(absl::StrCat("/proc/", pid, "/io"));
  const std::size_t at = io.find("wchar: ");
  if (at == std::string::npos) return -1;
  return std::atoll(io.c_str() + at + 7);
}

// The directory of `pid`'s cgroup v2 group, or "" when not found.
std::string V2GroupDirectory(pid_t pid) {
  const std::string mount = linux_internal::DetectCgroupHost().v2_mount;
  const std::string text =
      ReadWholeFile(absl::StrCat("/proc/", pid, "/cgroup"));
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, "0::") && !mount.empty()) {
      return absl::StrCat(mount, line.substr(3));
    }
  }
  return "";
}

bool CanUseCgroups(std::string* why) {
  if (geteuid() != 0) {
    *why = "cgroups need root here";
    return false;
  }
  auto m = NewOsManager();
  if (!m.ok() || !(*m)->capabilities().Has("cgroups")) {
    *why = "no usable cgroup here";
    return false;
  }
  return true;
}

// Manager directories (of any process) under the parents.
std::vector<std::string> AllGroupDirectories() {
  std::vector<std::string> found;
  for (const std::string& parent : CgroupParents()) {
    if (DIR* dir = opendir(parent.c_str())) {
      while (const dirent* entry = readdir(dir)) {
        if (absl::StartsWith(entry->d_name, "procsandbox-")) {
          found.push_back(parent + "/" + entry->d_name);
        }
      }
      closedir(dir);
    }
  }
  return found;
}

// Runs `body` in a child with a watchdog (ExpectCompletesWithin), as this
// process's subreaper; then reaps the orphans and removes the manager
// directories a crashed child left (never another live process's).
void ExpectInChild(const std::function<std::string()>& body) {
  const std::vector<std::string> before = AllGroupDirectories();
  {
    ScopedSubreaper subreaper;
    ExpectCompletesWithin(60, body);
    ReapOrphans();
  }
  // A child that crashed leaves its manager's directories: remove the new
  // ones whose host process is gone (never another live process's).
  std::vector<std::string> left;
  for (const std::string& dir : AllGroupDirectories()) {
    if (std::find(before.begin(), before.end(), dir) != before.end()) continue;
    const std::optional<linux_internal::ManagerGroupOwner> owner =
        linux_internal::ParseManagerGroupName(dir.substr(dir.rfind('/') + 1));
    if (owner && kill(static_cast<pid_t>(owner->pid), 0) != 0 &&
        errno == ESRCH) {
      left.push_back(dir);
    }
  }
  RemoveDirectories(left);
}

class CgroupRaceTest : public CgroupManagerFixture {};

// on_event is not called with the process's lock held: a callback for a
// kCgroupDegraded event of a Start() may look at that process (state())
// from another thread without waiting for the Start() it is called from.
TEST_F(CgroupRaceTest, OnEventIsNotCalledWithTheProcessMutexHeld) {
  if (!CarriedByCgroup(LimitKind::kMemory, Mechanism::kCgroupV1)) {
    GTEST_SKIP() << "needs the memory limit on cgroup v1: " << caps_;
  }
  // What the callback reaches from another thread, which outlives it.
  struct Probe {
    absl::Mutex mu;
    std::shared_ptr<Process> process;
    absl::Notification answered;
  };
  auto probe = std::make_shared<Probe>();
  std::atomic<int> called{0};
  std::atomic<bool> answered_in_time{false};
  OsManagerOptions options;
  options.on_event = [probe, &called,
                      &answered_in_time](const OsManagerEvent& e) {
    if (e.kind != OsManagerEvent::Kind::kCgroupDegraded) return;
    if (called.fetch_add(1) != 0) return;
    // The host logs the state of the process the event is about.
    std::thread([probe] {
      std::shared_ptr<Process> p;
      {
        absl::MutexLock lock(&probe->mu);
        p = probe->process;
      }
      if (p != nullptr) (void)p->state();
      probe->answered.Notify();
    }).detach();
    answered_in_time =
        probe->answered.WaitForNotificationWithTimeout(absl::Seconds(1));
  };
  const std::vector<std::string> before = OurGroupDirectories();
  auto m = NewOsManager(options);
  ASSERT_THAT(m, IsOk());
  // Its v1 group cannot be made: the start degrades and says so.
  RemoveDirectories(NewDirectories(before, /*v2=*/false));
  Command cmd = Helper({"exit", "0"});
  cmd.limits.memory_bytes = 64 << 20;
  std::shared_ptr<Process> p = (*m)->New(cmd);
  {
    absl::MutexLock lock(&probe->mu);
    probe->process = p;
  }
  ASSERT_THAT(p->Start(), IsOk());
  EXPECT_THAT(p->Wait(), ExitedWith(0));
  probe->answered.WaitForNotification();  // the probe thread is done
  {
    // The callback (held by the manager) holds the probe, which holds the
    // process, which holds the manager's core: break the cycle.
    absl::MutexLock lock(&probe->mu);
    probe->process.reset();
  }
  ASSERT_GT(called.load(), 0) << "no kCgroupDegraded event";
  EXPECT_TRUE(answered_in_time.load())
      << "state() from the on_event callback blocked for 1 s: the callback "
         "runs with the process's mutex held";
}

// A tree killed on the reactor (by the grace timer here) is not waited for
// there: while it stays populated, other processes' exits are served.
//
// The dying tree is held, not made slow: its second process is traced with
// PTRACE_O_TRACEEXIT, so SIGKILL leaves it in its exit stop (the group stays
// populated) until the test lets it go. How fast a machine frees memory does
// not matter. While it is held, another process's exit must be served: the
// bound (1 s, against the ~1 ms it takes) only tells a reactor that serves
// it from one stuck waiting for the held tree.
TEST_F(CgroupRaceTest, AKillOnTheReactorDoesNotDelayOtherProcesses) {
  if (!HasV2Tracking()) GTEST_SKIP() << "needs cgroup.kill: " << caps_;
  Command dying = Helper(
      {"ignore", "TERM", "fork", "1", "print", "ready", "sleep-forever"});
  dying.stdout_ = Stdio::Pipe();
  dying.kill_grace = absl::Milliseconds(10);  // the reactor's grace timer kills
  std::shared_ptr<Process> a = manager_->New(dying);
  ASSERT_THAT(a->Start(), IsOk());
  ASSERT_THAT(a->ReadLine(Stream::kStdout, absl::Seconds(60)),
              ::procsandbox_testing::IsOkAndHolds("ready"));
  const pid_t leader = static_cast<pid_t>(a->Id());
  const std::string children = ReadWholeFile(
      absl::StrCat("/proc/", leader, "/task/", leader, "/children"));
  pid_t held = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(children), &held))
      << "the leader's one child: '" << children << "'";
  if (ptrace(PTRACE_SEIZE, held, nullptr, PTRACE_O_TRACEEXIT) != 0) {
    const int error = errno;
    ASSERT_THAT(a->Kill(), IsOk());
    EXPECT_THAT(a->Wait(), Cancelled());
    GTEST_SKIP() << "cannot trace the tree: " << std::strerror(error);
  }
  Command other = Helper({"print", "ready", "sleep-forever"});
  other.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> b = manager_->New(other);
  ASSERT_THAT(b->Start(), IsOk());
  ASSERT_THAT(b->ReadLine(Stream::kStdout, absl::Seconds(60)),
              ::procsandbox_testing::IsOkAndHolds("ready"));

  ASSERT_THAT(a->Terminate(), IsOk());  // TERM ignored; SIGKILL after 10 ms
  // Other stops on the way (the signals, a freeze) are let go on.
  int status = 0;
  ASSERT_TRUE(Eventually(
      [&] {
        if (waitpid(held, &status, __WALL | WNOHANG) != held) return false;
        if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) return true;
        const int pass =
            WIFSTOPPED(status) && status >> 16 == 0 ? WSTOPSIG(status) : 0;
        (void)ptrace(PTRACE_CONT, held, nullptr, pass);
        return false;
      },
      absl::Seconds(60)))
      << "the traced process never reached its exit stop (status " << status
      << ")";
  // The reactor has written cgroup.kill; the tree stays populated.
  ASSERT_EQ(kill(static_cast<pid_t>(b->Id()), SIGKILL), 0);
  absl::StatusOr<Outcome> outcome = b->WaitFor(absl::Seconds(1));
  ASSERT_EQ(ptrace(PTRACE_CONT, held, nullptr, nullptr), 0);
  EXPECT_EQ(waitpid(held, &status, __WALL), held);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_THAT(outcome, IsOk())
      << "another process's exit was not served while a killed tree was "
         "held: the reactor was waiting for that tree to die";
  EXPECT_THAT(a->Wait(), Cancelled());
  EXPECT_THAT(b->Wait(), ::procsandbox_testing::KilledBy(SIGKILL));
}

// Nothing of an ended tree is left open once Wait() returns, its groups'
// descriptors included, however busy the reactor is (their directories may
// be removed later).
TEST_F(CgroupRaceTest, TheTreesGroupDescriptorsAreClosedWhenWaitReturns) {
  if (!HasV2Tracking()) GTEST_SKIP() << "needs a v2 group: " << caps_;
  // R's callback holds the reactor while P and Q start (their Arm() runs
  // after it, P's first): P's exit and Q's line then come in one batch, and
  // Q's callback holds the reactor after P's OnExit until Wait() returned
  // and the descriptors were listed.
  absl::Notification reactor_held;
  absl::Notification both_started;
  absl::Notification release_q;
  std::atomic<pid_t> p_pid{0};
  std::atomic<pid_t> q_pid{0};
  Command r = Helper({"print", "r", "sleep-forever"});
  r.stdout_ = Stdio::Lines([&](absl::string_view) {
    reactor_held.Notify();
    both_started.WaitForNotificationWithTimeout(absl::Seconds(5));
    Eventually(
        [&] { return ProcState(p_pid) == 'Z' && BytesWritten(q_pid) >= 2; });
  });
  Command q = Helper({"print", "q", "sleep-forever"});
  q.stdout_ = Stdio::Lines([&](absl::string_view) {
    release_q.WaitForNotificationWithTimeout(absl::Seconds(5));
  });
  std::shared_ptr<Process> rp = manager_->New(r);
  ASSERT_THAT(rp->Start(), IsOk());
  ASSERT_TRUE(reactor_held.WaitForNotificationWithTimeout(absl::Seconds(5)));
  std::shared_ptr<Process> pp =
      manager_->New(Helper({"sleep-ms", "50", "exit", "0"}));
  ASSERT_THAT(pp->Start(), IsOk());
  p_pid = static_cast<pid_t>(pp->Id());
  const std::string p_group = V2GroupDirectory(p_pid);
  std::shared_ptr<Process> qp = manager_->New(q);
  ASSERT_THAT(qp->Start(), IsOk());
  q_pid = static_cast<pid_t>(qp->Id());
  both_started.Notify();
  ASSERT_THAT(pp->Wait(), ExitedWith(0));
  const std::vector<std::string> open_fds = DescriptorsUnder(p_group);
  release_q.Notify();
  EXPECT_FALSE(p_group.empty());
  EXPECT_THAT(open_fds, IsEmpty())
      << "descriptors on the ended tree's group " << p_group
      << " still open after Wait() returned";
  ASSERT_THAT(rp->Kill(), IsOk());
  ASSERT_THAT(qp->Kill(), IsOk());
  EXPECT_THAT(rp->Wait(), Cancelled());
  EXPECT_THAT(qp->Wait(), Cancelled());
}

// A Start() that loses the race with the manager's destructor: the child is
// placed in its v2 group and, until it execs, Start() waits in the vfork
// (freezing the manager's v2 directory keeps it there; in production the
// window is the child's setup and exec). Meanwhile the destructor resets the
// reactor and runs RemoveAll(), which finds the group busy.
struct LostRace {
  std::string error;  // set when the scenario itself could not be set up
  absl::Status started = absl::UnknownError("Start() did not return");
  ProcessState state = ProcessState::kNew;
  absl::Status waited;                 // WaitFor(500ms)
  std::vector<std::string> left;       // manager directories left
  std::vector<OsManagerEvent> events;  // of the destroyed manager
};

LostRace StartWhileTheManagerIsDestroyed() {
  LostRace race;
  const std::vector<std::string> before = OurGroupDirectories();
  EventLog log;
  OsManagerOptions options;
  options.on_event = log.Sink();
  auto m = NewOsManager(options);
  if (!m.ok()) {
    race.error = m.status().ToString();
    return race;
  }
  const std::vector<std::string> v2 = NewDirectories(before, /*v2=*/true);
  if (v2.size() != 1) {
    race.error = "no v2 manager directory";
    return race;
  }
  const std::string v2_dir = v2.front();
  WriteFile(v2_dir + "/cgroup.freeze", "1");
  std::shared_ptr<Process> p = (*m)->New(Helper({"sleep-forever"}));
  std::thread starter([&] { race.started = p->Start(); });
  const bool placed = Eventually([&] {
    for (const std::string& leaf : SubDirectories(v2_dir)) {
      if (!ReadWholeFile(leaf + "/cgroup.procs").empty()) return true;
    }
    return false;
  });
  // The destructor, while Start() is inside Spawn(): it waits for that
  // Start() to finish, which the thaw lets happen.
  std::thread destroyer([&] { m->reset(); });
  absl::SleepFor(absl::Milliseconds(100));
  WriteFile(v2_dir + "/cgroup.freeze", "0");
  destroyer.join();
  starter.join();
  if (!placed) race.error = "the child never showed in a v2 group";
  race.state = p->state();
  race.waited = p->WaitFor(absl::Milliseconds(500)).status();
  race.left = NewDirectories(before, true);
  for (const std::string& d : NewDirectories(before, false)) {
    race.left.push_back(d);
  }
  race.events = log.Take();
  RemoveDirectories(race.left);  // leave the host clean
  return race;
}

thread_local bool in_starter = false;

std::string StartHeldInCreateCgroupsWhileTheManagerIsDestroyed() {
  const std::vector<std::string> before = OurGroupDirectories();
  absl::Notification in_callback;
  absl::Notification go_on;
  OsManagerOptions options;
  options.on_event = [&](const OsManagerEvent& e) {
    // Holds Start() only where it emits inline (on the starting thread).
    if (e.kind != OsManagerEvent::Kind::kCgroupDegraded || !in_starter) return;
    in_callback.Notify();
    go_on.WaitForNotificationWithTimeout(absl::Seconds(5));
  };
  auto m = NewOsManager(options);
  if (!m.ok()) return m.status().ToString();
  const std::vector<std::string> v1 = NewDirectories(before, /*v2=*/false);
  if (v1.empty()) return "";  // no v1 group to degrade: not this host
  RemoveDirectories(v1);
  Command cmd = Helper({"exit", "0"});
  cmd.limits.memory_bytes = 64 << 20;
  std::shared_ptr<Process> p = (*m)->New(cmd);
  absl::Status started = absl::UnknownError("Start() did not return");
  absl::Notification start_returned;
  std::thread starter([&] {
    in_starter = true;
    started = p->Start();
    start_returned.Notify();
  });
  Eventually([&] {
    return in_callback.HasBeenNotified() || start_returned.HasBeenNotified();
  });
  const bool held = in_callback.HasBeenNotified();
  if (held) m->reset();  // while Start() waits in the callback
  go_on.Notify();
  starter.join();
  (void)p->WaitFor(absl::Seconds(2));
  m->reset();
  RemoveDirectories(NewDirectories(before, true));
  if (held && !started.ok() &&
      started.code() != absl::StatusCode::kFailedPrecondition) {
    return "Start() held in CreateCgroupsLocked: " + started.ToString();
  }
  return "";
}

// A Start() that loses the race with the manager's destructor, held in
// Spawn() or in the group set-up (by a degraded group's event callback),
// fails with FailedPrecondition; it never uses the reactor the destructor
// reset.
TEST(CgroupRaceDeathTest, StartLosingTheRaceWithTheDestructorFailsCleanly) {
  std::string why;
  if (!CanUseCgroups(&why)) GTEST_SKIP() << why;
  ExpectInChild([]() -> std::string {
    if (std::string e = StartHeldInCreateCgroupsWhileTheManagerIsDestroyed();
        !e.empty()) {
      return e;
    }
    LostRace race = StartWhileTheManagerIsDestroyed();
    if (!race.error.empty()) return race.error;
    if (race.started.code() != absl::StatusCode::kFailedPrecondition) {
      return "Start() held in Spawn(): " + race.started.ToString();
    }
    return "";
  });
}

// A Start() that failed because the manager went away while its child was
// spawned leaves the process not running, and Wait() does not hang.
TEST(CgroupRaceDeathTest, AStartThatFailsBecauseTheManagerIsGoneIsNotRunning) {
  std::string why;
  if (!CanUseCgroups(&why)) GTEST_SKIP() << why;
  ExpectInChild([]() -> std::string {
    LostRace race = StartWhileTheManagerIsDestroyed();
    if (!race.error.empty()) return race.error;
    if (race.started.ok()) return "";  // started: not this path
    std::string error;
    if (race.state == ProcessState::kRunning) {
      error += absl::StrCat("Start() failed (", race.started.ToString(),
                            ") but state() is running\n");
    }
    if (absl::IsDeadlineExceeded(race.waited)) {
      error += absl::StrCat("WaitFor(500ms) after the failed Start(): ",
                            race.waited.ToString(), "\n");
    }
    return error;
  });
}

// ~OsManager waits for the Start() calls in progress: a Start() that lost
// the race leaves none of the manager's directories behind.
TEST(CgroupRaceDeathTest,
     NoGroupIsLeftWhenAStartLosesTheRaceWithTheDestructor) {
  std::string why;
  if (!CanUseCgroups(&why)) GTEST_SKIP() << why;
  ExpectInChild([]() -> std::string {
    LostRace race = StartWhileTheManagerIsDestroyed();
    if (!race.error.empty()) return race.error;
    if (race.left.empty()) return "";
    return absl::StrCat("left behind: ", ::testing::PrintToString(race.left),
                        "; events ", ::testing::PrintToString(race.events),
                        "\n");
  });
}

}  // namespace
}  // namespace procsandbox
