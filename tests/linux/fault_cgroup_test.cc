// Fault injection around cgroups: a run's group made read-only or taken
// away under a running tree, the host's own pids limit, and the host killed
// mid-run. Each case runs in a forked child (fault_case.h): its mounts and
// cgroup membership never reach the test process. Needs root and a cgroup
// v2 hierarchy that tracks trees (cgroup.kill); skipped with the reason
// otherwise.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cgroup_inspection.h"
#include "fault_case.h"
#include "gtest/gtest.h"
#include "linux/cgroup_detect.h"
#include "linux/cgroup_fs.h"
#include "process_inspection.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox {
namespace {

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

std::string Show(const absl::Status& s) { return s.ToString(); }

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return text;
}

// The v2 group of `pid` as a directory ("" when not visible).
std::string V2GroupDirOf(pid_t pid) {
  const linux_internal::CgroupHost host = linux_internal::DetectCgroupHost();
  if (host.v2_mount.empty()) return "";
  for (absl::string_view line :
       absl::StrSplit(ReadText(absl::StrCat("/proc/", pid, "/cgroup")), '\n')) {
    if (absl::StartsWith(line, "0::")) {
      return absl::StrCat(host.v2_mount, line.substr(3));
    }
  }
  return "";
}

std::vector<pid_t> PidsIn(const std::string& group) {
  std::vector<pid_t> pids;
  for (int64_t pid :
       linux_internal::ParsePids(ReadText(group + "/cgroup.procs"))) {
    pids.push_back(static_cast<pid_t>(pid));
  }
  return pids;
}

bool Alive(pid_t pid) {
  // A zombie is dead: only its parent's wait is missing.
  const std::string stat = ReadText(absl::StrCat("/proc/", pid, "/stat"));
  const std::size_t close_paren = stat.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < stat.size() &&
         stat[close_paren + 2] != 'Z' && stat[close_paren + 2] != 'X';
}

// Waits for `pid` (a child or an orphan of this subreaper); after `guard`
// (a guard against a hang) kills it and returns -1.
int WaitStatusOf(pid_t pid, absl::Duration guard = absl::Seconds(30)) {
  const absl::Time give_up = absl::Now() + guard;
  int status = 0;
  for (;;) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return -1;
    if (absl::Now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

// Until `pid` is dead (a zombie counts), for at most `guard` (a guard
// against a hang: SIGKILL takes effect when the process next runs).
bool Dies(pid_t pid, absl::Duration guard = absl::Seconds(10)) {
  const absl::Time give_up = absl::Now() + guard;
  while (Alive(pid)) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// In the child: a manager whose runs are tracked by a v2 group with
// cgroup.kill, or a skip saying why not.
std::unique_ptr<Manager> TrackingManager(FaultVerdict& v) {
  if (geteuid() != 0) {
    v.Skip("cgroups need root here");
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager();
  if (!v.Check(manager.ok(), "NewOsManager: " + Show(manager.status()))) {
    return nullptr;
  }
  const linux_internal::CgroupHost host = linux_internal::DetectCgroupHost();
  const std::vector<std::string> dirs = OurGroupDirectories();
  bool v2 = false;
  for (const std::string& dir : dirs) {
    if (!host.v2_mount.empty() && absl::StartsWith(dir, host.v2_mount + "/") &&
        access((dir + "/cgroup.kill").c_str(), F_OK) == 0) {
      v2 = true;
    }
  }
  if (!v2) {
    v.Skip("no cgroup v2 group with cgroup.kill for the manager here");
    return nullptr;
  }
  return *std::move(manager);
}

// A run whose daemon (setsid, out of the process group) is in its group;
// "ready" read. Returns the process, or null with the failure recorded.
std::shared_ptr<Process> StartTreeWithDaemon(Manager& manager,
                                             FaultVerdict& v) {
  Command cmd(kHelper, {"daemonize", "print", "ready", "sleep-forever"});
  cmd.stdout_ = Stdio::Pipe();
  cmd.limits.wall_time = absl::Seconds(60);
  std::shared_ptr<Process> p = manager.New(cmd);
  absl::Status s = p->Start();
  if (!v.Check(s.ok(), "Start: " + Show(s))) return nullptr;
  absl::StatusOr<std::string> line =
      p->ReadLine(Stream::kStdout, absl::Seconds(30));
  if (!v.Check(line.ok() && *line == "ready",
               "ready: " + (line.ok() ? *line : Show(line.status())))) {
    (void)p->Kill();
    (void)p->Wait();
    return nullptr;
  }
  return p;
}

// In the child: a private mount namespace (so a remount or a mount over
// cgroupfs stays here).
bool PrivateMounts(FaultVerdict& v) {
  if (unshare(CLONE_NEWNS) != 0 ||
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    v.Skip(absl::StrCat("a private mount namespace: ", std::strerror(errno)));
    return false;
  }
  return true;
}

TEST(FaultCgroupTest, AReadOnlyCgroupKillFallsBackToKillingTheListedTree) {
  PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
    if (geteuid() == 0 && !PrivateMounts(v)) return;
    std::unique_ptr<Manager> manager = TrackingManager(v);
    if (manager == nullptr) return;
    std::shared_ptr<Process> p = StartTreeWithDaemon(*manager, v);
    if (p == nullptr) return;
    const std::string group = V2GroupDirOf(static_cast<pid_t>(p->Id()));
    const std::vector<pid_t> tree = PidsIn(group);
    v.Check(tree.size() == 2,
            absl::StrCat(tree.size(), " processes in ", group, ", expected 2"));
    // cgroup.kill (and cgroup.freeze) can no longer be written.
    const std::string mount_point = linux_internal::DetectCgroupHost().v2_mount;
    // The manager's thread may be writing there (refilling its spare
    // groups): a remount fails then (EBUSY, EAGAIN) and is tried again.
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    int remounted = -1;
    while ((remounted = mount(nullptr, mount_point.c_str(), nullptr,
                              MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr)) !=
               0 &&
           (errno == EBUSY || errno == EAGAIN) && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    if (!v.Check(remounted == 0,
                 absl::StrCat("remount ", mount_point,
                              " read-only: ", std::strerror(errno)))) {
      (void)p->Kill();
      (void)p->Wait();
      return;
    }
    v.Check(p->Kill().ok(), "Kill");
    absl::StatusOr<Outcome> outcome = p->Wait();
    v.Check(outcome.ok() && outcome->reason == ExitReason::kCancelled,
            "Wait: " +
                (outcome.ok() ? ToString(*outcome) : Show(outcome.status())));
    for (pid_t pid : tree) {
      v.Check(Dies(pid), absl::StrCat("process ", pid, " of the tree lives"));
    }
    // Writable again, so that the manager can remove its groups.
    (void)mount(nullptr, mount_point.c_str(), nullptr, MS_BIND | MS_REMOUNT,
                nullptr);
    p.reset();
    manager.reset();
    v.Check(OurGroupDirectories().empty(), "a manager directory was left");
  });
}

TEST(FaultCgroupTest, ARunWhoseGroupWasTakenAwayStillEndsCleanly) {
  // Another agent moves the tree out of its group and removes the group
  // while the tree runs: the stop still reaches it (its process group), the
  // outcome is clear, and the manager leaves nothing.
  PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
    std::unique_ptr<Manager> manager = TrackingManager(v);
    if (manager == nullptr) return;
    Command cmd(kHelper, {"fork", "2", "print", "ready", "sleep-forever"});
    cmd.stdout_ = Stdio::Pipe();
    cmd.limits.wall_time = absl::Seconds(60);
    cmd.limits.memory_bytes = 64 << 20;
    std::shared_ptr<Process> p = manager->New(cmd);
    if (!v.Check(p->Start().ok(), "Start")) return;
    absl::StatusOr<std::string> line =
        p->ReadLine(Stream::kStdout, absl::Seconds(30));
    v.Check(line.ok() && *line == "ready", "ready");
    const std::string group = V2GroupDirOf(static_cast<pid_t>(p->Id()));
    const std::string away = linux_internal::DetectCgroupHost().v2_group;
    const std::vector<pid_t> tree = PidsIn(group);
    for (pid_t pid : tree) {
      std::ofstream(away + "/cgroup.procs") << pid;
    }
    v.Check(rmdir(group.c_str()) == 0,
            absl::StrCat("rmdir ", group, ": ", std::strerror(errno)));
    v.Check(p->Kill().ok(), "Kill");
    absl::StatusOr<Outcome> outcome = p->Wait();
    v.Check(outcome.ok() && outcome->reason == ExitReason::kCancelled,
            "Wait: " +
                (outcome.ok() ? ToString(*outcome) : Show(outcome.status())));
    for (pid_t pid : tree) {
      v.Check(Dies(pid), absl::StrCat("process ", pid, " of the tree lives"));
    }
    p.reset();
    manager.reset();
    v.Check(OurGroupDirectories().empty(), "a manager directory was left");
  });
}

TEST(FaultCgroupTest, CgroupfsCoveredBetweenTwoRunsLeavesNothingBehind) {
  // A tmpfs mounted over every cgroup hierarchy (in a private mount
  // namespace) between two runs: paths no longer lead to the manager's
  // groups, its descriptors still do. The second run ends clearly, and the
  // manager removes everything through the descriptors it holds.
  PROCSANDBOX_FAULT_CASE([](FaultVerdict& v) {
    if (geteuid() == 0 && !PrivateMounts(v)) return;
    std::unique_ptr<Manager> manager = TrackingManager(v);
    if (manager == nullptr) return;
    const std::vector<std::string> dirs = OurGroupDirectories();
    Command cmd(kHelper, {"print", "hi"});
    cmd.limits.memory_bytes = 64 << 20;
    cmd.limits.wall_time = absl::Seconds(30);
    absl::StatusOr<RunResult> first = procsandbox::RunCommand(*manager, cmd);
    v.Check(first.ok() && first->outcome.ok() && first->stdout_ == "hi\n",
            "first run: " +
                (first.ok() ? ToString(first->outcome) : Show(first.status())));
    const linux_internal::CgroupHost host = linux_internal::DetectCgroupHost();
    std::vector<std::string> covered;
    std::vector<std::string> mounts;
    if (!host.v2_mount.empty()) mounts.push_back(host.v2_mount);
    for (const auto& h : host.v1) mounts.push_back(h.mount);
    for (const std::string& m : mounts) {
      if (mount("tmpfs", m.c_str(), "tmpfs", 0, "size=64k") == 0) {
        covered.push_back(m);
      } else {
        v.Check(false, absl::StrCat("cover ", m, ": ", std::strerror(errno)));
      }
    }
    absl::StatusOr<RunResult> second = procsandbox::RunCommand(*manager, cmd);
    if (second.ok()) {
      v.Check(second->outcome.ok() && second->stdout_ == "hi\n",
              "second run: " + ToString(second->outcome));
    } else {
      v.Check(!second.status().message().empty(), "second run: no message");
    }
    manager.reset();
    for (const std::string& m : covered) {
      v.Check(umount2(m.c_str(), MNT_DETACH) == 0,
              absl::StrCat("uncover ", m, ": ", std::strerror(errno)));
    }
    for (const std::string& dir : dirs) {
      v.Check(access(dir.c_str(), F_OK) != 0, "left: " + dir);
    }
    v.Check(OurGroupDirectories().empty(), "a manager directory was left");
  });
}

// The pids hierarchy (v1) or v2 group the host child can be put in with a
// pids.max of its own: a fresh group under this process's.
std::string NewPidsGroup() {
  const linux_internal::CgroupHost host = linux_internal::DetectCgroupHost();
  std::string parent;
  if (const auto* pids = host.FindV1("pids"); pids != nullptr) {
    parent = pids->group;
  } else if (!host.v2_group.empty() &&
             absl::StrContains(ReadText(host.v2_group + "/cgroup.controllers"),
                               "pids")) {
    parent = host.v2_group;
  }
  if (parent.empty()) return "";
  const std::string group =
      absl::StrCat(parent, "/procsandbox-fault-pids-", getpid());
  if (mkdir(group.c_str(), 0755) != 0) return "";
  return group;
}

TEST(FaultCgroupTest, CloneAtTheHostsOwnPidsMaxIsResourceExhausted) {
  if (geteuid() != 0) GTEST_SKIP() << "cgroups need root here";
  ScopedSubreaper subreaper;
  const std::string group = NewPidsGroup();
  if (group.empty()) GTEST_SKIP() << "no pids controller to limit the host";
  PROCSANDBOX_FAULT_CASE([&group](FaultVerdict& v) {
    OsManagerOptions options;
    options.cgroups = false;  // the host's own group is the point here
    absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager(options);
    if (!v.Check(manager.ok(), "NewOsManager: " + Show(manager.status()))) {
      return;
    }
    // This process (both its threads) into the group, and no room for more.
    std::ofstream(group + "/cgroup.procs") << getpid();
    const std::string current = ReadText(group + "/pids.current");
    std::ofstream(group + "/pids.max") << current;
    Command cmd(kHelper, {"print", "hi"});
    std::shared_ptr<Process> p = (*manager)->New(cmd);
    const absl::Status s = p->Start();
    v.Check(absl::IsResourceExhausted(s) &&
                absl::StrContains(s.message(), "EAGAIN"),
            "Start at pids.max " + current + ": " + Show(s));
  });
  ReapOrphans();
  EXPECT_EQ(rmdir(group.c_str()), 0) << std::strerror(errno);
}

TEST(FaultCgroupTest, AKilledHostsLeaderDiesAndTheNextManagerEndsItsTree) {
  if (geteuid() != 0) GTEST_SKIP() << "cgroups need root here";
  ScopedSubreaper subreaper;  // the orphans come to this process
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  const pid_t host = fork();
  ASSERT_GE(host, 0);
  if (host == 0) {
    // The host: a manager and a run with a daemon; tells the leader and the
    // daemon, then waits to be killed.
    close(pipe_fds[0]);
    FaultVerdict v;
    std::unique_ptr<Manager> manager = TrackingManager(v);
    std::string line = v.Line();
    std::shared_ptr<Process> p;
    if (manager != nullptr) p = StartTreeWithDaemon(*manager, v);
    if (p != nullptr) {
      const std::vector<pid_t> tree =
          PidsIn(V2GroupDirOf(static_cast<pid_t>(p->Id())));
      line = absl::StrCat("run");
      for (pid_t pid : tree) absl::StrAppend(&line, " ", pid);
      absl::StrAppend(&line, " leader ", p->Id());
    } else {
      line = v.Line();
    }
    line += "\n";
    (void)!write(pipe_fds[1], line.data(), line.size());
    for (;;) pause();
  }
  close(pipe_fds[1]);
  std::string report;
  char c;
  while (read(pipe_fds[0], &c, 1) == 1 && c != '\n') report.push_back(c);
  close(pipe_fds[0]);
  kill(host, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(host, &status, 0), host);
  if (absl::StartsWith(report, "skip: ")) GTEST_SKIP() << report.substr(6);
  ASSERT_TRUE(absl::StartsWith(report, "run ")) << report;
  std::vector<std::string> words = absl::StrSplit(report, ' ');
  ASSERT_EQ(words.size(), 5u) << report;  // run A B leader L
  pid_t leader = 0, a = 0, b = 0;
  ASSERT_TRUE(absl::SimpleAtoi(words[4], &leader));
  ASSERT_TRUE(absl::SimpleAtoi(words[1], &a));
  ASSERT_TRUE(absl::SimpleAtoi(words[2], &b));
  const pid_t daemon = a == leader ? b : a;
  // The leader dies with its host (PR_SET_PDEATHSIG) and comes to this
  // subreaper.
  const int leader_status = WaitStatusOf(leader);
  EXPECT_TRUE(WIFSIGNALED(leader_status) && WTERMSIG(leader_status) == SIGKILL)
      << leader_status;
  // The daemon left the process group and lives on in the dead host's
  // group: the window until a manager starts here again. Any manager: one
  // of another test process in this cgroup (ctest runs suites side by
  // side) may start first, find the dead host's group stale and end it —
  // the promise holds then too, by that manager, and this test's own next
  // manager has nothing left to show.
  if (!Alive(daemon)) {
    const int swept = WaitStatusOf(daemon);
    EXPECT_TRUE(WIFSIGNALED(swept) && WTERMSIG(swept) == SIGKILL) << swept;
    ReapOrphans();
    GTEST_SKIP() << "another manager on this machine ended the dead host's "
                    "tree first (SIGKILL, as this test expects of its own)";
  }
  EventLog events;
  {
    OsManagerOptions options;
    options.on_event = events.Sink();
    absl::StatusOr<std::unique_ptr<Manager>> next = NewOsManager(options);
    ASSERT_TRUE(next.ok()) << next.status();
  }
  const int daemon_status = WaitStatusOf(daemon);
  EXPECT_NE(daemon_status, -1)
      << "the next manager did not end the dead host's tree";
  EXPECT_TRUE(WIFSIGNALED(daemon_status) && WTERMSIG(daemon_status) == SIGKILL)
      << daemon_status;
  bool removed = false;
  for (const OsManagerEvent& e : events.Take()) {
    if (e.kind == OsManagerEvent::Kind::kStaleCgroupRemoved &&
        absl::StrContains(e.detail, absl::StrCat("-", host, "-"))) {
      removed = true;
    }
  }
  EXPECT_TRUE(removed) << "no kStaleCgroupRemoved for the dead host " << host;
  ReapOrphans();
}

}  // namespace
}  // namespace procsandbox
