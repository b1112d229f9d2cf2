// Who may remove a manager's cgroup directory: a manager that starts removes
// the groups of managers that are gone, never those of a live one — not of a
// manager in another pid namespace over the same parent, and not when it
// cannot check the owner (EMFILE); and a manager that cannot name itself
// makes no group. Each manager here runs in a child process of its own
// (forked from this single-threaded test process), over a cgroup parent
// this test makes and removes.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cgroup_inspection.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "linux/cgroup_fs.h"
#include "process_inspection.h"
#include "procsandbox/procsandbox.h"

namespace procsandbox {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

// The threads of this process.
int ThreadCount() {
  return static_cast<int>(SubDirectories("/proc/self/task").size());
}

// Every group below `dir`, `dir` excluded, as paths relative to it, sorted.
std::vector<std::string> GroupsBelow(const std::string& dir) {
  std::vector<std::string> found;
  std::vector<std::string> todo = {dir};
  while (!todo.empty() && found.size() < 4096) {
    const std::string next = todo.back();
    todo.pop_back();
    for (const std::string& sub : SubDirectories(next)) {
      found.push_back(sub.substr(dir.size()));
      todo.push_back(sub);
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

// A group of this test's own in every hierarchy (the managers' cgroup_root):
// nothing but this test's managers use it. At the end every process left in
// it is killed and it is removed.
class PrivateCgroupRoot {
 public:
  PrivateCgroupRoot()
      : root_(absl::StrCat("/procsandbox-ownership-test-", getpid(), "-",
                           absl::ToUnixNanos(absl::Now()))) {
    const linux_internal::CgroupHost host = linux_internal::DetectCgroupHost();
    std::vector<std::string> mounts;
    if (!host.v2_mount.empty()) mounts.push_back(host.v2_mount);
    for (const auto& h : host.v1) mounts.push_back(h.mount);
    for (const std::string& mount : mounts) {
      const std::string dir = mount + root_;
      if (mkdir(dir.c_str(), 0755) == 0) made_.push_back(dir);
    }
  }
  ~PrivateCgroupRoot() {
    for (const std::string& dir : made_) {
      EXPECT_THAT(GroupsBelow(dir), IsEmpty()) << "left in " << dir;
      std::vector<std::string> groups = GroupsBelow(dir);
      for (const std::string& group : groups) {
        const std::string path = dir + group;
        std::ofstream(path + "/cgroup.kill") << "1";
        std::ofstream(path + "/freezer.state") << "THAWED";
        if (auto fd = linux_internal::OpenDirectory(path); fd.ok()) {
          (void)linux_internal::KillEveryProcess(fd->get(), absl::Seconds(5));
        }
      }
      EXPECT_TRUE(linux_internal::RemoveGroupTree(dir).ok()) << dir;
    }
  }
  PrivateCgroupRoot(const PrivateCgroupRoot&) = delete;
  PrivateCgroupRoot& operator=(const PrivateCgroupRoot&) = delete;

  // The group path, the same in every hierarchy.
  const std::string& root() const { return root_; }
  // Its directory in each hierarchy.
  const std::vector<std::string>& directories() const { return made_; }

 private:
  const std::string root_;
  std::vector<std::string> made_;
};

// One line from `fd` (without the newline); empty at EOF, on an error or
// after 30 s (a guard against a hang, not an expected wait).
std::string ReadLineFrom(int fd) {
  std::string line;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    const int64_t left = absl::ToInt64Milliseconds(give_up - absl::Now());
    if (left <= 0 || poll(&p, 1, static_cast<int>(left)) <= 0) return line;
    char c;
    const ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') return line;
    line.push_back(c);
  }
}

void WriteLine(int fd, const std::string& text) {
  const std::string line = text + "\n";
  (void)!write(fd, line.data(), line.size());
}

// In a child process: a manager over `root` with one live run (the helper
// echoing lines). Replies "ready" once the run echoes, then answers each
// "check" with "alive" while the run still echoes a line; ends at EOF.
[[noreturn]] void ServeManager(const std::string& root, int commands,
                               int replies) {
  OsManagerOptions options;
  options.cgroup_root = root;
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewOsManager(options);
  if (!manager.ok()) {
    WriteLine(replies, absl::StrCat("error: ", manager.status().ToString()));
    _exit(1);
  }
  if (!(*manager)->capabilities().Has("cgroups")) {
    WriteLine(replies, absl::StrCat("skip: no usable cgroup: ",
                                    ToString((*manager)->capabilities())));
    _exit(0);
  }
  Command cmd(kHelper, {"echo-lines"});
  cmd.stdin_ = Stdio::Pipe();
  cmd.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> run = (*manager)->New(cmd);
  if (absl::Status s = run->Start(); !s.ok()) {
    WriteLine(replies, absl::StrCat("error: start: ", s.ToString()));
    _exit(1);
  }
  auto alive = [&run] {
    if (!run->Write("ping\n").ok()) return false;
    absl::StatusOr<std::string> line =
        run->ReadLine(Stream::kStdout, absl::Seconds(30));
    return line.ok() && *line == "ping";
  };
  auto dead = [&run] {
    absl::StatusOr<Outcome> outcome = run->WaitFor(absl::Seconds(10));
    return absl::StrCat("dead: ", outcome.ok() ? ToString(*outcome)
                                               : outcome.status().ToString());
  };
  WriteLine(replies, alive() ? "ready" : dead());
  while (ReadLineFrom(commands) == "check") {
    WriteLine(replies, alive() ? "alive" : dead());
  }
  (void)run->Kill();
  (void)run->Wait();
  manager->reset();
  _exit(0);
}

// A manager in a child process, in this pid namespace or in a new one with
// its own /proc (as `unshare --pid --fork --mount-proc` makes), with one live
// run. Fork it only while this process has one thread.
class ManagerChild {
 public:
  ManagerChild(const std::string& root, bool new_pid_namespace) {
    int commands[2];
    int replies[2];
    if (pipe2(commands, O_CLOEXEC) != 0 || pipe2(replies, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe2: " << std::strerror(errno);
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      close(commands[1]);
      close(replies[0]);
      if (new_pid_namespace) EnterNewPidNamespace(replies[1]);
      ServeManager(root, commands[0], replies[1]);
    }
    close(commands[0]);
    close(replies[1]);
    commands_ = commands[1];
    replies_ = replies[0];
  }
  ~ManagerChild() {
    close(commands_);  // EOF: the child ends its run and its manager
    close(replies_);
    int status = 0;
    if (pid_ > 0) {
      EXPECT_EQ(waitpid(pid_, &status, 0), pid_);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    }
  }
  ManagerChild(const ManagerChild&) = delete;
  ManagerChild& operator=(const ManagerChild&) = delete;

  // The next reply ("ready", "alive", "dead: ...", "skip: ...").
  std::string Reply() { return ReadLineFrom(replies_); }
  std::string Ask(const std::string& command) {
    WriteLine(commands_, command);
    return Reply();
  }

 private:
  // In the forked child: a new pid and mount namespace, a child there as
  // its init with /proc of the new namespace mounted; the forked child
  // itself only waits for it.
  static void EnterNewPidNamespace(int replies) {
    if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0) {
      WriteLine(replies, absl::StrCat("skip: unshare(CLONE_NEWPID): ",
                                      std::strerror(errno)));
      _exit(0);
    }
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      WriteLine(replies, absl::StrCat("skip: make mounts private: ",
                                      std::strerror(errno)));
      _exit(0);
    }
    const pid_t init = fork();
    if (init < 0) {
      WriteLine(replies, absl::StrCat("error: fork: ", std::strerror(errno)));
      _exit(1);
    }
    if (init > 0) {
      int status = 0;
      waitpid(init, &status, 0);
      _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
    }
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) != 0) {
      WriteLine(replies,
                absl::StrCat("skip: mount /proc: ", std::strerror(errno)));
      _exit(0);
    }
  }

  pid_t pid_ = -1;
  int commands_ = -1;
  int replies_ = -1;
};

// Skips without root; fails when this process has more than one thread
// (the manager children are forked from it), TSan's own one not counted.
#define PROCSANDBOX_REQUIRE_FORKABLE_ROOT()                                  \
  do {                                                                       \
    if (geteuid() != 0) GTEST_SKIP() << "cgroups need root here";            \
    ASSERT_LE(ThreadCount(), 1 + kSanitizerThreads)                          \
        << "managers are forked from this process: it must have one thread " \
           "(run this test on its own); TSan's own thread is fork-safe";     \
  } while (false)

// The parameter: whether the manager in a new pid namespace starts first.
class CgroupOwnershipTest : public ::testing::TestWithParam<bool> {};

TEST_P(CgroupOwnershipTest,
       ManagersInTwoPidNamespacesLeaveEachOthersRunsAlone) {
  PROCSANDBOX_REQUIRE_FORKABLE_ROOT();
  PrivateCgroupRoot root;
  if (root.directories().empty()) GTEST_SKIP() << "no cgroup hierarchy here";
  ScopedSubreaper subreaper;
  {
    const bool namespaced_first = GetParam();
    ManagerChild first(root.root(), namespaced_first);
    std::string reply = first.Reply();
    if (absl::StartsWith(reply, "skip: ")) GTEST_SKIP() << reply;
    ASSERT_EQ(reply, "ready");
    // The second removes stale groups as it starts, and starts a run.
    ManagerChild second(root.root(), !namespaced_first);
    reply = second.Reply();
    if (absl::StartsWith(reply, "skip: ")) GTEST_SKIP() << reply;
    ASSERT_EQ(reply, "ready");
    EXPECT_EQ(first.Ask("check"), "alive")
        << "the manager that started second killed the first one's run";
    EXPECT_EQ(second.Ask("check"), "alive");
  }
  ReapOrphans();
}

INSTANTIATE_TEST_SUITE_P(BothOrders, CgroupOwnershipTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "NamespacedFirst"
                                              : "ThisNamespaceFirst";
                         });

// Leaves exactly one descriptor free below a lowered RLIMIT_NOFILE: the
// next open() after one more fails with EMFILE. (In a forked child.)
void LeaveOneDescriptorFree() {
  rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 256);
  setrlimit(RLIMIT_NOFILE, &limit);
  int last = -1;
  for (int fd; (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;) last = fd;
  close(last);
}

TEST(CgroupOwnershipCheckTest, ASweepThatCannotCheckTheOwnerLeavesItsGroups) {
  PROCSANDBOX_REQUIRE_FORKABLE_ROOT();
  PrivateCgroupRoot root;
  if (root.directories().empty()) GTEST_SKIP() << "no cgroup hierarchy here";
  ScopedSubreaper subreaper;
  {
    ManagerChild owner(root.root(), false);
    const std::string reply = owner.Reply();
    if (absl::StartsWith(reply, "skip: ")) GTEST_SKIP() << reply;
    ASSERT_EQ(reply, "ready");
    // The manager directories (the owner refills its spare leaves below
    // them on its own thread: their number is not fixed).
    std::vector<std::vector<std::string>> before;
    for (const std::string& dir : root.directories()) {
      before.push_back(SubDirectories(dir));
    }
    // A sweep of each parent in a child that can open one descriptor more:
    // enough to list the parent, not to check an owner as well.
    int results[2];
    ASSERT_EQ(pipe2(results, O_CLOEXEC), 0);
    const pid_t sweeper = fork();
    if (sweeper == 0) {
      close(results[0]);
      LeaveOneDescriptorFree();
      for (const std::string& dir : root.directories()) {
        std::vector<std::string> failed;
        for (const std::string& removed :
             linux_internal::RemoveStaleGroups(dir, &failed)) {
          WriteLine(results[1], "removed " + removed);
        }
        for (const std::string& why : failed) {
          WriteLine(results[1], "failed " + why);
        }
      }
      _exit(0);
    }
    close(results[1]);
    std::vector<std::string> removed;
    std::vector<std::string> failed;
    for (std::string line; !(line = ReadLineFrom(results[0])).empty();) {
      (absl::StartsWith(line, "removed ") ? removed : failed).push_back(line);
    }
    close(results[0]);
    int status = 0;
    ASSERT_EQ(waitpid(sweeper, &status, 0), sweeper);
    EXPECT_THAT(removed, IsEmpty());
    // Each manager directory could not be checked, and says so.
    EXPECT_THAT(failed,
                Each(AllOf(HasSubstr("EMFILE"), HasSubstr("left alone"))));
    EXPECT_THAT(failed, ::testing::Not(IsEmpty()));
    for (std::size_t i = 0; i < root.directories().size(); ++i) {
      EXPECT_THAT(SubDirectories(root.directories()[i]),
                  ::testing::UnorderedElementsAreArray(before[i]))
          << "in " << root.directories()[i];
    }
    EXPECT_EQ(owner.Ask("check"), "alive");
  }
  ReapOrphans();
}

// In a forked child: what is wrong with a manager made while this process's
// /proc/PID/stat reads empty (/dev/null bound over it in a mount namespace of
// its own), or "skip: ..." when that cannot be arranged.
std::string ManagerWithoutAStartTime(const std::string& root) {
  if (unshare(CLONE_NEWNS) != 0 ||
      mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return absl::StrCat("skip: a mount namespace: ", std::strerror(errno));
  }
  const std::string stat = absl::StrCat("/proc/", getpid(), "/stat");
  if (mount("/dev/null", stat.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return absl::StrCat("skip: bind /dev/null over ", stat, ": ",
                        std::strerror(errno));
  }
  std::string errors;
  OsManagerOptions options;
  options.cgroup_root = root;
  absl::StatusOr<std::unique_ptr<Manager>> rooted = NewOsManager(options);
  if (rooted.ok() ||
      rooted.status().code() != absl::StatusCode::kFailedPrecondition ||
      !absl::StrContains(rooted.status().message(), "/proc/self/stat")) {
    errors += absl::StrCat("with cgroup_root: ",
                           rooted.ok() ? ToString((*rooted)->capabilities())
                                       : rooted.status().ToString(),
                           "\n");
  }
  rooted = absl::StatusOr<std::unique_ptr<Manager>>();  // destroyed first
  absl::StatusOr<std::unique_ptr<Manager>> plain = NewOsManager();
  if (!plain.ok()) {
    errors += absl::StrCat("without: ", plain.status().ToString(), "\n");
  } else if ((*plain)->capabilities().Has("cgroups") ||
             !absl::StrContains(ToString((*plain)->capabilities()),
                                "/proc/self/stat")) {
    errors +=
        absl::StrCat("without: ", ToString((*plain)->capabilities()), "\n");
  }
  return errors;
}

TEST(CgroupOwnershipCheckTest, AManagerThatCannotReadItsStartTimeMakesNoGroup) {
  PROCSANDBOX_REQUIRE_FORKABLE_ROOT();
  PrivateCgroupRoot root;
  if (root.directories().empty()) GTEST_SKIP() << "no cgroup hierarchy here";
  ScopedSubreaper subreaper;
  int report[2];
  ASSERT_EQ(pipe2(report, O_CLOEXEC), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(report[0]);
    const std::string errors = ManagerWithoutAStartTime(root.root());
    (void)!write(report[1], errors.data(), errors.size());
    _exit(0);
  }
  close(report[1]);
  std::string errors;
  char block[4096];
  for (ssize_t n; (n = read(report[0], block, sizeof(block))) > 0;) {
    errors.append(block, static_cast<std::size_t>(n));
  }
  close(report[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  if (absl::StartsWith(errors, "skip: ")) GTEST_SKIP() << errors;
  EXPECT_EQ(errors, "");
  ReapOrphans();
}

}  // namespace
}  // namespace procsandbox
