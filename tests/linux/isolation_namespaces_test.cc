// Namespaces other than mount (user, pid, net, ipc, uts, cgroup), checked
// from inside the child: what the program sees, not that Start() said OK.
#include <dirent.h>
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/child_namespaces.h"
#include "linux/spawn.h"
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
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
constexpr char kProbe[] = PROCSANDBOX_NAMESPACES_PROBE;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Command Shell(const std::string& script) {
  return Command("/bin/sh", {"-c", script});
}

class NamespacesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OsManagerOptions options;
    options.strict = true;  // a namespace not made fails Start()
    absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager(options);
    ASSERT_THAT(m, IsOk());
    manager_ = *std::move(m);
  }

  // Empty when the host can have every kind; else why not.
  std::string Missing(std::vector<IsolationKind> kinds) const {
    for (IsolationKind kind : kinds) {
      const IsolationEnforcement* e = manager_->capabilities().Find(kind);
      if (e == nullptr) return ToString(kind) + ": not reported";
      if (!e->enforced) return ToString(*e);
    }
    return "";
  }

  absl::StatusOr<RunResult> Run(Command command) {
    return procsandbox::RunCommand(*manager_, std::move(command));
  }

  std::unique_ptr<Manager> manager_;
};

#define SKIP_UNLESS(...)                                             \
  do {                                                               \
    const std::string why = Missing({__VA_ARGS__});                  \
    if (!why.empty()) GTEST_SKIP() << "cannot be had here: " << why; \
  } while (false)

// --- pid --------------------------------------------------------------------

TEST_F(NamespacesTest, PidNamespaceMakesTheProgramPid1) {
  SKIP_UNLESS(IsolationKind::kPidNamespace);
  Command cmd(kHelper, {"print-pid"});
  cmd.isolation.namespaces.pid = true;
  absl::StatusOr<RunResult> r = Run(cmd);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "1\n");
  const IsolationEnforcement* e =
      r->enforcement.Find(IsolationKind::kPidNamespace);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->enforced);
}

TEST_F(NamespacesTest, ThePidOfAProcessInAPidNamespaceIsTheHosts) {
  SKIP_UNLESS(IsolationKind::kPidNamespace);
  Command cmd(kHelper, {"sleep-forever"});
  cmd.isolation.namespaces.pid = true;
  std::shared_ptr<Process> p = manager_->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  // NSpid: the pid in each namespace, the host's first.
  std::string nspid;
  for (absl::string_view line : absl::StrSplit(
           ReadFile(absl::StrCat("/proc/", p->Id(), "/status")), '\n')) {
    if (absl::ConsumePrefix(&line, "NSpid:")) nspid = std::string(line);
  }
  EXPECT_THAT(absl::StrSplit(nspid, '\t', absl::SkipWhitespace()),
              ElementsAre(absl::StrCat(p->Id()), "1"));
  ASSERT_THAT(p->Kill(), IsOk());
  EXPECT_THAT(p->Wait(), KilledBy(SIGKILL));
}

// As pid 1 the program ignores TERM (it has no handler): Terminate() ends it
// with KILL after the grace.
TEST_F(NamespacesTest, TerminateKillsPid1AfterTheGrace) {
  SKIP_UNLESS(IsolationKind::kPidNamespace);
  Command cmd(kHelper, {"sleep-forever"});
  cmd.isolation.namespaces.pid = true;
  cmd.kill_grace = absl::Milliseconds(100);
  std::shared_ptr<Process> p = manager_->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Terminate(), IsOk());
  absl::StatusOr<Outcome> o = p->Wait();
  EXPECT_THAT(o, Cancelled());
  EXPECT_THAT(o, KilledBy(SIGKILL));
}

TEST_F(NamespacesTest, AWallTimeLimitKillsPid1) {
  SKIP_UNLESS(IsolationKind::kPidNamespace);
  Command cmd(kHelper, {"print", "ready", "sleep-forever"});
  cmd.isolation.namespaces.pid = true;
  cmd.kill_grace = absl::Milliseconds(100);
  absl::StatusOr<RunResult> r =
      RunReadyUnderWallTime(*manager_, cmd, absl::Milliseconds(200));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "ready\n");
  EXPECT_THAT(r, TimedOut());
  EXPECT_THAT(r, KilledBy(SIGKILL));
}

// Processes whose command line holds `token`.
std::vector<int> ProcessesWith(const std::string& token) {
  std::vector<int> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = readdir(proc)) {
    int pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::string cmdline = ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
    if (absl::StrContains(cmdline, token)) pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

TEST_F(NamespacesTest, WhenPid1ExitsTheKernelKillsTheRest) {
  SKIP_UNLESS(IsolationKind::kPidNamespace);
  // Without cgroups and with the daemon in a session of its own, nothing but
  // the pid namespace ends it when the program exits.
  OsManagerOptions options;
  options.strict = true;
  options.cgroups = false;
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager(options);
  ASSERT_THAT(m, IsOk());
  const std::string token = absl::StrCat("pid1-exits-", getpid());
  Command cmd(kHelper, {"print", token, "daemonize", "print", "forked"});
  cmd.isolation.namespaces.pid = true;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(**m, cmd);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, token + "\nforked\n");
  // pid 1's exit waits until the kernel has killed and reaped the rest.
  const std::vector<int> left = ProcessesWith(token);
  EXPECT_THAT(left, ::testing::IsEmpty());
  for (int pid : left) kill(pid, SIGKILL);
}

// --- net --------------------------------------------------------------------

TEST_F(NamespacesTest, NetNamespaceHasOnlyLoopbackAndItIsUp) {
  SKIP_UNLESS(IsolationKind::kNetNamespace);
  // /proc/net is the reader's namespace (/sys/class/net would be the host's
  // sysfs). 127.0.0.1 is in the local table only once lo is up.
  Command cmd = Shell("cat /proc/net/dev; echo ---; cat /proc/net/fib_trie");
  cmd.isolation.namespaces.net = true;
  absl::StatusOr<RunResult> r = Run(cmd);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(0));
  std::vector<std::string> parts = absl::StrSplit(r->stdout_, "---\n");
  ASSERT_EQ(parts.size(), 2u) << r->stdout_;
  std::vector<std::string> interfaces;
  for (absl::string_view line : absl::StrSplit(parts[0], '\n')) {
    const std::size_t colon = line.find(':');
    if (colon == absl::string_view::npos) continue;  // the two headers
    interfaces.emplace_back(absl::StripAsciiWhitespace(line.substr(0, colon)));
  }
  EXPECT_THAT(interfaces, ElementsAre("lo"));
  EXPECT_THAT(parts[1], HasSubstr("127.0.0.1"));
}

// --- uts --------------------------------------------------------------------

TEST_F(NamespacesTest, UtsNamespaceHasTheGivenHostname) {
  SKIP_UNLESS(IsolationKind::kUtsNamespace);
  const std::string host = ReadFile("/proc/sys/kernel/hostname");
  Command cmd = Shell("cat /proc/sys/kernel/hostname");
  cmd.isolation.namespaces.uts = true;
  cmd.isolation.hostname = "sbx-ns-test";
  absl::StatusOr<RunResult> r = Run(cmd);
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "sbx-ns-test\n");
  EXPECT_EQ(ReadFile("/proc/sys/kernel/hostname"), host);
}

// --- cgroup -----------------------------------------------------------------

TEST_F(NamespacesTest, CgroupNamespaceShowsItsGroupsAsTheRoot) {
  SKIP_UNLESS(IsolationKind::kCgroupNamespace);
  Command cmd = Shell("cat /proc/self/cgroup");
  cmd.isolation.namespaces.cgroup = true;
  absl::StatusOr<RunResult> r = Run(cmd);
  ASSERT_THAT(r, IsOk());
  std::vector<std::string> lines =
      absl::StrSplit(r->stdout_, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty());
  for (const std::string& line : lines) {
    EXPECT_TRUE(absl::EndsWith(line, ":/")) << line;
  }
}

// --- ipc --------------------------------------------------------------------

TEST_F(NamespacesTest, IpcNamespaceHidesTheHostsSharedMemory) {
  SKIP_UNLESS(IsolationKind::kIpcNamespace);
  const int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  ASSERT_GE(id, 0) << "shmget: errno " << errno;
  // The shmid column of /proc/sysvipc/shm, one segment a line.
  auto ids = [](const std::string& table) {
    std::vector<std::string> out;
    for (absl::string_view line : absl::StrSplit(table, '\n')) {
      std::vector<std::string> fields =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() > 1) out.push_back(fields[1]);
    }
    return out;
  };
  Command cmd = Shell("cat /proc/sysvipc/shm");
  cmd.isolation.namespaces.ipc = true;
  absl::StatusOr<RunResult> r = Run(cmd);
  shmctl(id, IPC_RMID, nullptr);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(0));
  EXPECT_THAT(ids(r->stdout_), Not(::testing::Contains(absl::StrCat(id))));
  EXPECT_THAT(ids(r->stdout_), ElementsAre("shmid"));  // the header alone
}

// --- user -------------------------------------------------------------------

// The three numbers of each line of a uid_map or gid_map.
std::vector<std::string> MapNumbers(const std::string& map) {
  return absl::StrSplit(map, absl::ByAnyChar(" \n"), absl::SkipEmpty());
}

TEST_F(NamespacesTest, AnExplicitUserNamespaceOnARootHostMapsRootToRoot) {
  SKIP_UNLESS(IsolationKind::kUserNamespace);
  if (geteuid() != 0) GTEST_SKIP() << "needs root (the root host's mapping)";
  Command cmd = Shell("cat /proc/self/uid_map /proc/self/gid_map; id -u");
  cmd.isolation.namespaces.user = true;
  absl::StatusOr<RunResult> r = Run(cmd);
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r, ExitedWith(0));
  EXPECT_THAT(MapNumbers(r->stdout_),
              ElementsAre("0", "0", "1", "0", "0", "1", "0"));
  const IsolationEnforcement* e =
      r->enforcement.Find(IsolationKind::kUserNamespace);
  ASSERT_NE(e, nullptr);
  EXPECT_THAT(e->detail, HasSubstr("uid 0 inside is uid 0 outside"));
}

TEST_F(NamespacesTest, AUserNamespaceOnARootHostRefusesAnotherUid) {
  SKIP_UNLESS(IsolationKind::kUserNamespace);
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  Command cmd(kHelper, {"print-ids"});
  cmd.isolation.namespaces.user = true;
  cmd.isolation.uid = 1000;
  EXPECT_THAT(Run(cmd).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("uid 1000"),
                             HasSubstr("host root under another name"))));
}

TEST_F(NamespacesTest, AUserNamespaceRefusesSupplementaryGroups) {
  SKIP_UNLESS(IsolationKind::kUserNamespace);
  Command cmd(kHelper, {"print-ids"});
  cmd.isolation.namespaces.user = true;
  cmd.isolation.uid = 0;
  cmd.isolation.groups = {5};
  EXPECT_THAT(Run(cmd).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("groups [5]"),
                             HasSubstr("setgroups is denied"))));
}

// The unprivileged path for real: procsandbox_namespaces_probe runs as uid
// 65534 (this manager's credential drop), makes its own manager, and runs
// `argv` in pid, net, ipc, uts and cgroup namespaces. Empty when skipped.
struct ProbeRun {
  absl::StatusOr<RunResult> result;
  std::string skipped;
};

ProbeRun RunProbeAsNobody(Manager& manager, std::vector<std::string> argv) {
  Command cmd(kProbe, std::move(argv));
  cmd.isolation.uid = 65534;
  cmd.isolation.gid = 65534;
  ProbeRun run{procsandbox::RunCommand(manager, cmd), ""};
  if (run.result.ok() && run.result->outcome.reason == ExitReason::kExited &&
      run.result->outcome.exit_code == 77) {
    run.skipped = run.result->stdout_;
  }
  return run;
}

TEST_F(NamespacesTest, AHostThatIsNotRootGetsThemThroughAUserNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to start the probe as 65534";
  ProbeRun run = RunProbeAsNobody(
      *manager_,
      {"/bin/sh", "-c",
       "echo pid=$$; id -u; cat /proc/sys/kernel/hostname /proc/self/uid_map; "
       "cat /proc/net/dev"});
  if (!run.skipped.empty()) GTEST_SKIP() << run.skipped;
  ASSERT_THAT(run.result, IsOk());
  const RunResult& r = *run.result;
  EXPECT_THAT(r, ExitedWith(0)) << r.stderr_;
  std::vector<std::string> lines = absl::StrSplit(r.stdout_, '\n');
  ASSERT_GE(lines.size(), 6u) << r.stdout_;
  EXPECT_THAT(lines[0], ::testing::StartsWith("cgroup_v2: "));
  lines.erase(lines.begin());
  EXPECT_EQ(lines[0], "pid=1");
  EXPECT_EQ(lines[1], "0");  // root inside
  EXPECT_EQ(lines[2], "inner");
  EXPECT_THAT(MapNumbers(lines[3]), ElementsAre("0", "65534", "1"));
  EXPECT_THAT(r.stdout_, HasSubstr("lo:"));
  EXPECT_THAT(r.stdout_, Not(HasSubstr("eth0:")));
  EXPECT_THAT(r.stdout_,
              HasSubstr("user_namespace: yes (added: the host is not root"));
}

// The cgroup2 mount point, or "" (from /proc/self/mountinfo: field 5 is the
// mount point, the type follows " - ").
std::string CgroupV2Mount() {
  for (absl::string_view line :
       absl::StrSplit(ReadFile("/proc/self/mountinfo"), '\n')) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    for (std::size_t i = 0; i + 1 < fields.size(); ++i) {
      if (fields[i] == "-" && fields[i + 1] == "cgroup2" && fields.size() > 4) {
        return fields[4];
      }
    }
  }
  return "";
}

// A host that is not root keeps its cgroups through a delegated v2 group: a
// group chowned to 65534, with the uid-65534 host inside it (root moves the
// shell in, setpriv drops to 65534). Its manager makes its group there and
// the namespaced child is born in a leaf of it (pid 1 of its namespace).
TEST_F(NamespacesTest, AHostThatIsNotRootUsesADelegatedV2Group) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to delegate a group";
  const std::string mount = CgroupV2Mount();
  if (mount.empty()) GTEST_SKIP() << "no cgroup2 mount";
  if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv";
  const std::string group =
      absl::StrCat(mount, "/procsandbox-delegated-", getpid());
  ASSERT_EQ(mkdir(group.c_str(), 0755), 0) << group << ": errno " << errno;
  // Delegation: the directory and its cgroup.procs, cgroup.subtree_control
  // and cgroup.threads (cgroup-v2.rst), chowned to the delegatee.
  for (const char* file :
       {"", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads"}) {
    EXPECT_EQ(chown((group + file).c_str(), 65534, 65534), 0) << file;
  }
  OsManagerOptions options;
  options.cgroups = false;  // the shell moves itself: keep it out of ours
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager(options);
  ASSERT_THAT(m, IsOk());
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(
      **m, Shell(absl::StrCat(
               "echo $$ > ", group, "/cgroup.procs && exec /usr/bin/setpriv ",
               "--reuid=65534 --regid=65534 --clear-groups ", kProbe,
               " /bin/sh -c 'cat ", group, "/*/*/cgroup.procs'")));
  rmdir(group.c_str());
  ASSERT_THAT(r, IsOk());
  if (r->outcome.reason == ExitReason::kExited && r->outcome.exit_code == 77) {
    GTEST_SKIP() << r->stdout_;
  }
  EXPECT_THAT(*r, ExitedWith(0)) << r->stderr_;
  EXPECT_THAT(r->stdout_, HasSubstr("cgroup_v2: yes " + group + "/"));
  // The leaf's cgroup.procs, read from the child's pid namespace: itself.
  EXPECT_THAT(r->stdout_, HasSubstr("\n1\n"));
}

// --- The cgroup escape of issue 17 -------------------------------------------

// A v1 group of the pids hierarchy, made by the test and removed after.
class EscapeGroup {
 public:
  EscapeGroup()
      : path_(
            absl::StrCat("/sys/fs/cgroup/pids/procsandbox-escape-", getpid())) {
    made_ = mkdir(path_.c_str(), 0755) == 0;
  }
  ~EscapeGroup() {
    if (made_) rmdir(path_.c_str());
  }
  bool made() const { return made_; }
  std::string procs() const { return path_ + "/cgroup.procs"; }
  std::string Members() const { return ReadFile(procs()); }

 private:
  std::string path_;
  bool made_ = false;
};

std::string EscapeScript(const EscapeGroup& group) {
  return absl::StrCat("echo 0 > ", group.procs(),
                      " && echo moved || echo refused");
}

// cgroup v1 checks the writer's uid (root, or the owner of the target), not
// a capability, and knows nothing of cgroup namespaces: root leaves its group
// whatever namespace it is in (isolation_capabilities_test.cc shows it). (On
// v2 a cgroup namespace does stop it: the target must lie under the
// namespace's root.)
// In a user namespace the program is root only inside: the group's files
// belong to the host's root, whom it is not, so the open fails (EACCES).
TEST_F(NamespacesTest, AUserNamespaceStopsTheCgroupEscape) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to make a v1 group";
  EscapeGroup group;
  if (!group.made()) GTEST_SKIP() << "no v1 pids hierarchy to make a group in";
  ProbeRun run =
      RunProbeAsNobody(*manager_, {"/bin/sh", "-c", EscapeScript(group)});
  if (!run.skipped.empty()) GTEST_SKIP() << run.skipped;
  ASSERT_THAT(run.result, IsOk());
  EXPECT_THAT(run.result->stdout_, HasSubstr("refused\n"));
  EXPECT_THAT(run.result->stderr_, HasSubstr("Permission denied"));
  EXPECT_EQ(group.Members(), "");
}

// --- What a failure says -----------------------------------------------------

TEST(NamespaceErrorsTest, ACloneOverANamespaceLimitNamesTheLimits) {
  EXPECT_THAT(
      linux_internal::NamespaceCloneError(CLONE_NEWPID | CLONE_NEWNET, ENOSPC),
      StatusIs(absl::StatusCode::kResourceExhausted,
               AllOf(HasSubstr("clone with namespaces [pid,net]"),
                     HasSubstr("/proc/sys/user/max_pid_namespaces is"),
                     HasSubstr("(ENOSPC)"))));
}

TEST(NamespaceErrorsTest, ARefusedUserNamespaceSaysSo) {
  EXPECT_THAT(
      linux_internal::NamespaceCloneError(CLONE_NEWUSER | CLONE_NEWPID, EPERM),
      StatusIs(absl::StatusCode::kPermissionDenied,
               AllOf(HasSubstr("[user,pid]"), HasSubstr("user namespace"),
                     HasSubstr("(EPERM)"))));
}

TEST(NamespaceErrorsTest, AFailedChildStepNamesTheStepAndTheValue) {
  linux_internal::SpawnPlan plan;
  auto ns = std::make_shared<linux_internal::NamespacePlan>();
  std::string name = "box";
  name.copy(ns->hostname, name.size());
  ns->hostname_size = name.size();
  plan.namespaces = ns;
  EXPECT_THAT(linux_internal::NamespaceStepError(
                  plan, EPERM,
                  static_cast<int>(linux_internal::NamespaceStep::kHostname)),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("start: set the hostname \"box\": "
                                 "operation not permitted (EPERM)")));
}

}  // namespace
}  // namespace procsandbox
