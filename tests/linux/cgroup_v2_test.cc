// The cgroup v2 driver: for real on the host's unified hierarchy (as root),
// and against a fake cgroupfs tree of plain files for what a host without
// controllers cannot show (controller enabling, limit files, usage parsing).
//
// The fake's interface files start empty: the driver writes without
// O_TRUNC, as on cgroupfs, so a file's content after one write is exactly
// the value written.
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/cgroup.h"
#include "linux/cgroup_fs.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;

namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::StartsWith;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The "0::" line of /proc/<pid>/cgroup: the process's v2 group.
std::string V2GroupOf(pid_t pid) {
  std::istringstream lines(ReadText(absl::StrCat("/proc/", pid, "/cgroup")));
  for (std::string line; std::getline(lines, line);) {
    if (absl::StartsWith(line, "0::")) return line.substr(3);
  }
  return "";
}

// waitpid for at most `timeout`; the wait status, or nullopt.
std::optional<int> WaitExited(pid_t pid, absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  do {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    absl::SleepFor(absl::Milliseconds(1));
  } while (absl::Now() < give_up);
  return std::nullopt;
}

int OpenFdCount() {
  int count = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++count;
  }
  return count;
}

// The descriptors open in this process.
std::set<int> OpenFds() {
  std::set<int> fds;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/self/fd")) {
    fds.insert(std::stoi(entry.path().filename().string()));
  }
  return fds;
}

// True when every element of `inner` is in `outer`.
bool Within(const std::set<int>& inner, const std::set<int>& outer) {
  return std::includes(outer.begin(), outer.end(), inner.begin(), inner.end());
}

bool KilledBySigkill(std::optional<int> status) {
  return status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL;
}

int64_t CpuNs(const Cgroup& group) {
  return group.ReadUsage().cpu_total_ns.value_or(-1);
}

// True once the group's CPU time grew by `by` (within 5 s).
bool CpuGrows(const Cgroup& group, absl::Duration by) {
  const int64_t start = CpuNs(group);
  // A hang guard: on a loaded machine the child may wait long for a core.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (absl::Now() < give_up) {
    if (CpuNs(group) - start >= absl::ToInt64Nanoseconds(by)) return true;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return false;
}

// --- For real, on the host's unified hierarchy -------------------------------

enum class Work { kSleep, kSpin, kDetachedTree };

[[noreturn]] void ChildWork(Work work, int report_fd) {
  if (work == Work::kSpin) {
    for (volatile uint64_t i = 0;; i = i + 1) {
    }
  }
  if (work == Work::kDetachedTree) {
    // A grandchild in a session of its own, orphaned: out of reach of any
    // process-group kill, not of the cgroup.
    const pid_t middle = fork();
    if (middle == 0) {
      setsid();
      if (fork() == 0) {
        const pid_t self = getpid();
        (void)!write(report_fd, &self, sizeof(self));
        for (;;) pause();
      }
      _exit(0);
    }
    waitpid(middle, nullptr, 0);
  }
  for (;;) pause();
}

class CgroupV2Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) {
      GTEST_SKIP() << "cgroup v2: needs root";
    }
    for (const char* mount : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
      if (PathExists(absl::StrCat(mount, "/cgroup.controllers"))) {
        mount_ = mount;
        break;
      }
    }
    const std::string own = V2GroupOf(getpid());
    if (mount_.empty() || own.empty()) {
      GTEST_SKIP() << "cgroup v2: no unified hierarchy mounted";
    }
    parent_ = own == "/" ? mount_ : mount_ + own;
    fds_at_start_ = OpenFdCount();
    // Apart from other suites' managers in this process.
    static int64_t n = 2'000'000;
    const absl::StatusOr<ManagerGroupOwner> me = ThisProcessOwner();
    ASSERT_THAT(me.status(), IsOk());
    name_ = ManagerGroupName(*me, n++);
    manager_ = parent_ + "/" + name_;
    absl::StatusOr<std::unique_ptr<CgroupDriver>> driver =
        NewCgroupV2Driver({parent_, name_, true});
    ASSERT_THAT(driver.status(), IsOk());
    driver_ = *std::move(driver);
  }

  void TearDown() override {
    groups_.clear();
    if (!manager_.empty() && PathExists(manager_)) {
      WriteText(manager_ + "/cgroup.kill", "1");
    }
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    // Children, and orphans reparented to this subreaper.
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    pid_t reaped;
    while ((reaped = waitpid(-1, nullptr, WNOHANG)) >= 0 &&
           absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(1));
    }
    EXPECT_EQ(reaped, -1) << "a child is left";
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    if (manager_.empty()) return;  // skipped
    if (driver_ != nullptr) {
      EXPECT_THAT(driver_->RemoveAll(), IsOk());
      driver_.reset();
    }
    (void)RemoveGroupTree(manager_);
    EXPECT_FALSE(PathExists(manager_)) << manager_;
    EXPECT_EQ(OpenFdCount(), fds_at_start_);
  }

  Cgroup* NewGroup(const CgroupRequest& request = {}) {
    absl::StatusOr<std::unique_ptr<Cgroup>> group = driver_->Create(request);
    EXPECT_THAT(group.status(), IsOk());
    if (!group.ok()) return nullptr;
    groups_.push_back(*std::move(group));
    return groups_.back().get();
  }

  // The group's path as /proc/PID/cgroup shows it.
  std::string Relative(const Cgroup& group) const {
    return group.Describe().substr(mount_.size());
  }

  // Forks a child that joins `group` through its join fd, then does `work`.
  // Returns its pid once it is in the group (and, for kDetachedTree, the
  // grandchild's pid in `grandchild`); -1 when it failed to join.
  pid_t ForkInto(Cgroup& group, Work work, pid_t* grandchild = nullptr) {
    if (!group.JoinFromChild().ok()) return -1;
    const std::vector<int> join = group.join_fds();
    if (join.size() != 1) return -1;
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return -1;
    const pid_t pid = fork();
    if (pid == 0) {
      close(ready[0]);
      if (write(join[0], "0", 1) != 1) _exit(101);
      const pid_t self = getpid();
      if (write(ready[1], &self, sizeof(self)) != sizeof(self)) _exit(102);
      ChildWork(work, ready[1]);
    }
    close(ready[1]);
    pids_.push_back(pid);
    pid_t reported = 0;
    const bool joined = read(ready[0], &reported, sizeof(reported)) ==
                        static_cast<ssize_t>(sizeof(reported));
    if (joined && grandchild != nullptr &&
        read(ready[0], grandchild, sizeof(*grandchild)) ==
            static_cast<ssize_t>(sizeof(*grandchild))) {
      pids_.push_back(*grandchild);
    }
    close(ready[0]);
    return joined ? pid : -1;
  }

  std::string mount_, parent_, name_, manager_;
  std::unique_ptr<CgroupDriver> driver_;
  std::vector<std::unique_ptr<Cgroup>> groups_;
  std::vector<pid_t> pids_;
  int fds_at_start_ = 0;
};

TEST_F(CgroupV2Test, ChildJoinsThroughJoinFdAfterJoinFromChild) {
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  EXPECT_GE(group->clone_into_fd(), 0);
  EXPECT_THAT(group->join_fds(), IsEmpty());
  const pid_t pid = ForkInto(*group, Work::kSleep);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(group->clone_into_fd(), -1);
  EXPECT_EQ(V2GroupOf(pid),
            absl::StrCat(parent_.substr(mount_.size()), "/", name_, "/0"));
}

TEST_F(CgroupV2Test, Clone3IntoCgroupPlacesChild) {
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(group->clone_into_fd());
  const long pid = syscall(SYS_clone3, &args, sizeof(args));
  if (pid == 0) {
    for (;;) pause();
  }
  if (pid < 0 && errno == ENOSYS) {
    GTEST_SKIP() << "no clone3";
  }
  ASSERT_GT(pid, 0) << "clone3: errno " << errno;
  pids_.push_back(static_cast<pid_t>(pid));
  EXPECT_EQ(V2GroupOf(static_cast<pid_t>(pid)), Relative(*group));
  EXPECT_FALSE(group->Empty());
}

TEST_F(CgroupV2Test, ReadUsageCpuGrowsForBusyChild) {
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  const CgroupUsage before = group->ReadUsage();
  ASSERT_TRUE(before.cpu_total_ns.has_value());
  ASSERT_GT(ForkInto(*group, Work::kSpin), 0);
  EXPECT_TRUE(CpuGrows(*group, absl::Milliseconds(20)));
  const CgroupUsage after = group->ReadUsage();
  EXPECT_GT(*after.cpu_total_ns, *before.cpu_total_ns);
  EXPECT_GT(after.cpu_user_ns.value_or(0), 0);
}

TEST_F(CgroupV2Test, FreezeStopsBusyChildAndThawResumesIt) {
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  if (!group->can_freeze()) {
    GTEST_SKIP() << "no cgroup.freeze";
  }
  ASSERT_GT(ForkInto(*group, Work::kSpin), 0);
  ASSERT_TRUE(CpuGrows(*group, absl::Milliseconds(10)));
  ASSERT_THAT(group->Freeze(), IsOk());
  const int64_t frozen_at = CpuNs(*group);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_LE(CpuNs(*group) - frozen_at, 1'000'000);
  ASSERT_THAT(group->Thaw(), IsOk());
  EXPECT_TRUE(CpuGrows(*group, absl::Milliseconds(10)));
}

TEST_F(CgroupV2Test, KillAllKillsDetachedGrandchild) {
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  pid_t grandchild = 0;
  const pid_t child = ForkInto(*group, Work::kDetachedTree, &grandchild);
  ASSERT_GT(child, 0);
  ASSERT_GT(grandchild, 0);
  EXPECT_NE(getsid(grandchild), getsid(child));
  EXPECT_EQ(V2GroupOf(grandchild), Relative(*group));
  EXPECT_TRUE(group->can_kill());
  ASSERT_THAT(group->KillAll(), IsOk());
  EXPECT_TRUE(group->Empty());
  EXPECT_TRUE(KilledBySigkill(WaitExited(child, absl::Seconds(30))));
  EXPECT_TRUE(KilledBySigkill(WaitExited(grandchild, absl::Seconds(30))));
}

TEST_F(CgroupV2Test, EmptyIsFalseWhileAProcessRuns) {
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  EXPECT_TRUE(group->Empty());
  ASSERT_GT(ForkInto(*group, Work::kSleep), 0);
  EXPECT_FALSE(group->Empty());
  ASSERT_THAT(group->KillAll(), IsOk());
  EXPECT_TRUE(group->Empty());
}

TEST_F(CgroupV2Test, RemoveWhileBusyIsUnavailableThenGoneAfterKill) {
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  const pid_t pid = ForkInto(*group, Work::kSleep);
  ASSERT_GT(pid, 0);
  EXPECT_THAT(group->Remove(), StatusIs(absl::StatusCode::kUnavailable,
                                        HasSubstr(group->Describe())));
  ASSERT_THAT(group->KillAll(), IsOk());
  EXPECT_TRUE(KilledBySigkill(WaitExited(pid, absl::Seconds(30))));
  EXPECT_THAT(group->Remove(), IsOk());
  EXPECT_FALSE(PathExists(group->Describe()));
  EXPECT_THAT(group->Remove(), IsOk());
}

TEST_F(CgroupV2Test, PrepareMakesSparesThatCreateUses) {
  driver_->Prepare(2);
  EXPECT_TRUE(PathExists(manager_ + "/0"));
  EXPECT_TRUE(PathExists(manager_ + "/1"));
  EXPECT_FALSE(PathExists(manager_ + "/2"));
  std::vector<std::string> made;
  for (int i = 0; i < 3; ++i) {
    Cgroup* group = NewGroup();
    ASSERT_NE(group, nullptr);
    made.push_back(group->Describe());
  }
  EXPECT_THAT(made,
              ElementsAre(manager_ + "/0", manager_ + "/1", manager_ + "/2"));
}

TEST_F(CgroupV2Test, PrepareOnAnotherThreadNeverSharesALeaf) {
  std::thread preparer([&] {
    for (int i = 0; i < 8; ++i) driver_->Prepare(2);
  });
  std::set<std::string> paths;
  for (int i = 0; i < 16; ++i) {
    Cgroup* group = NewGroup();
    ASSERT_NE(group, nullptr);
    paths.insert(group->Describe());
  }
  preparer.join();
  EXPECT_THAT(paths, SizeIs(16));
}

TEST_F(CgroupV2Test, RemoveAllLeavesNothing) {
  driver_->Prepare(3);
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  ASSERT_GT(ForkInto(*group, Work::kSleep), 0);
  EXPECT_THAT(driver_->RemoveAll(), StatusIs(absl::StatusCode::kUnavailable,
                                             HasSubstr(group->Describe())));
  ASSERT_THAT(group->KillAll(), IsOk());
  EXPECT_THAT(driver_->RemoveAll(), IsOk());
  EXPECT_FALSE(PathExists(manager_));
  EXPECT_THAT(driver_->directories(), ElementsAre(manager_));
}

TEST_F(CgroupV2Test, UnavailableControllersAreNotEnforcedAndNamed) {
  if (driver_->can_account_memory()) {
    GTEST_SKIP() << "the memory controller is enabled in " << parent_;
  }
  const LimitEnforcement memory = driver_->Enforces(LimitKind::kMemory);
  EXPECT_EQ(memory.mechanism, Mechanism::kNone);
  EXPECT_THAT(memory.detail, HasSubstr(parent_ + "/cgroup."));
  EXPECT_EQ(driver_->Enforces(LimitKind::kCpuTime).mechanism,
            Mechanism::kCgroupV2);
  EXPECT_TRUE(driver_->can_track());
  EXPECT_TRUE(driver_->can_account_cpu());
}

TEST_F(CgroupV2Test, LimitsWithoutControllersAreSkipped) {
  if (driver_->can_account_memory()) {
    GTEST_SKIP() << "the memory controller is enabled in " << parent_;
  }
  CgroupRequest request;
  request.memory_bytes = 64 << 20;
  Cgroup* group = NewGroup(request);
  ASSERT_NE(group, nullptr);
  EXPECT_FALSE(PathExists(group->Describe() + "/memory.max"));
}

TEST_F(CgroupV2Test, OneDescriptorReadsCpuStatAnewWhileAChildBurnsCpu) {
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  const UniqueFd stat(
      open((group->Describe() + "/cpu.stat").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(stat.valid());
  ASSERT_GT(ForkInto(*group, Work::kSpin), 0);
  absl::StatusOr<std::string> first = ReadAt0(stat.get(), "cpu.stat");
  ASSERT_THAT(first.status(), IsOk());
  const std::optional<int64_t> before = FlatKeyedValue(*first, "usage_usec");
  ASSERT_TRUE(before.has_value()) << *first;
  // Reads through the same descriptor until the CPU shows (polled: the
  // bound only guards a hang).
  absl::StatusOr<std::string> second;
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  do {
    absl::SleepFor(absl::Milliseconds(10));
    second = ReadAt0(stat.get(), "cpu.stat");
    ASSERT_THAT(second.status(), IsOk());
  } while (FlatKeyedValue(*second, "usage_usec").value_or(0) <=
               *before + 10000 &&
           absl::Now() < give_up);
  EXPECT_GT(FlatKeyedValue(*second, "usage_usec").value_or(0), *before + 10000)
      << *first << "---\n"
      << *second;
}

TEST_F(CgroupV2Test, CreateFromASpareOpensNothingAndATreeKeepsFewDescriptors) {
  const int start = OpenFdCount();
  driver_->Prepare(1);
  const std::set<int> prepared = OpenFds();
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  // Every descriptor the group has was open before Create().
  EXPECT_TRUE(Within(OpenFds(), prepared));
  ASSERT_GE(group->clone_into_fd(), 0);
  group->PlacementDone();
  EXPECT_EQ(group->clone_into_fd(), -1);
  EXPECT_THAT(group->join_fds(), IsEmpty());
  // cgroup.events and cpu.stat, and the usage files of the controllers.
  const bool memory = driver_->can_account_memory();
  const bool pids = driver_->Enforces(LimitKind::kProcesses).mechanism ==
                    Mechanism::kCgroupV2;
  EXPECT_EQ(OpenFdCount() - start, 2 + (memory ? 3 : 0) + (pids ? 2 : 0));
  EXPECT_TRUE(group->Empty());
  EXPECT_TRUE(group->ReadUsage().cpu_total_ns.has_value());
}

TEST_F(CgroupV2Test, StopsAndCountsThroughKeptDescriptorsAfterPlacementDone) {
  Cgroup* group = NewGroup();
  ASSERT_NE(group, nullptr);
  ASSERT_GT(ForkInto(*group, Work::kSpin), 0);
  group->PlacementDone();
  EXPECT_THAT(group->join_fds(), IsEmpty());
  EXPECT_FALSE(group->Empty());
  EXPECT_TRUE(CpuGrows(*group, absl::Milliseconds(10)));
  if (group->can_freeze()) {
    ASSERT_THAT(group->Freeze(), IsOk());
    ASSERT_THAT(group->Thaw(), IsOk());
  }
  ASSERT_THAT(group->KillAll(), IsOk());
  EXPECT_TRUE(group->Empty());
}

// --- Against a fake cgroupfs tree --------------------------------------------

constexpr const char* kInterfaceFiles[] = {
    "cgroup.procs", "cgroup.subtree_control", "cgroup.freeze",    "cgroup.kill",
    "memory.max",   "memory.swap.max",        "memory.oom.group", "pids.max",
    "cpu.weight",   "memory.events",          "cpu.stat",         "pids.events",
    "memory.peak",  "memory.current",         "pids.current"};

class CgroupV2FakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char root[] = "/tmp/procsandbox-cgroup-v2-XXXXXX";
    ASSERT_NE(mkdtemp(root), nullptr);
    root_ = root;
    parent_ = root_ + "/parent";
    manager_ = parent_ + "/procsandbox-1-2-3";
    leaf_ = manager_ + "/0";
    ASSERT_EQ(mkdir(parent_.c_str(), 0755), 0);
    WriteText(parent_ + "/cgroup.controllers", "cpu io memory pids\n");
    WriteText(parent_ + "/cgroup.subtree_control", "");
    MakeGroupDir(manager_);
    MakeGroupDir(leaf_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static void MakeGroupDir(const std::string& dir) {
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    for (const char* file : kInterfaceFiles) WriteText(dir + "/" + file, "");
    WriteText(dir + "/cgroup.events", "populated 0\nfrozen 0\n");
  }

  std::unique_ptr<CgroupDriver> NewDriver(bool clone_into = true) {
    absl::StatusOr<std::unique_ptr<CgroupDriver>> driver =
        NewCgroupV2Driver({parent_, "procsandbox-1-2-3", clone_into});
    EXPECT_THAT(driver.status(), IsOk());
    return driver.ok() ? *std::move(driver) : nullptr;
  }
  std::unique_ptr<Cgroup> NewGroup(const CgroupRequest& request = {}) {
    std::unique_ptr<CgroupDriver> driver = NewDriver();
    if (driver == nullptr) return nullptr;
    absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
    EXPECT_THAT(group.status(), IsOk());
    return group.ok() ? *std::move(group) : nullptr;
  }
  std::string Leaf(const char* file) const {
    return ReadText(leaf_ + "/" + file);
  }

  std::string root_, parent_, manager_, leaf_;
};

TEST_F(CgroupV2FakeTest, EnablesEachControllerInParentThenManager) {
  std::unique_ptr<CgroupDriver> driver = NewDriver();
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(ReadText(parent_ + "/cgroup.subtree_control"),
            "+memory +pids +cpu");
  EXPECT_EQ(ReadText(manager_ + "/cgroup.subtree_control"),
            "+memory +pids +cpu");
  EXPECT_EQ(driver->Enforces(LimitKind::kMemory),
            (LimitEnforcement{LimitKind::kMemory, Mechanism::kCgroupV2,
                              "memory.max (+ memory.swap.max 0)"}));
  EXPECT_EQ(driver->Enforces(LimitKind::kProcesses).detail, "pids.max");
  EXPECT_EQ(driver->Enforces(LimitKind::kCpuWeight).detail, "cpu.weight");
  EXPECT_EQ(driver->Enforces(LimitKind::kWallTime),
            (LimitEnforcement{LimitKind::kWallTime, Mechanism::kNone,
                              "not a cgroup limit"}));
  EXPECT_TRUE(driver->can_account_memory());
  EXPECT_EQ(driver->mechanism(), Mechanism::kCgroupV2);
}

TEST_F(CgroupV2FakeTest, SkipsControllersTheParentAlreadyEnabled) {
  WriteText(parent_ + "/cgroup.subtree_control", "cpu memory\n");
  ASSERT_NE(NewDriver(), nullptr);
  // "+pids" written over the start of the old content.
  const std::string parent_control =
      ReadText(parent_ + "/cgroup.subtree_control");
  EXPECT_THAT(parent_control, StartsWith("+pids"));
  EXPECT_THAT(parent_control, Not(HasSubstr("+memory")));
  EXPECT_THAT(parent_control, Not(HasSubstr("+cpu")));
  EXPECT_EQ(ReadText(manager_ + "/cgroup.subtree_control"),
            "+memory +pids +cpu");
}

TEST_F(CgroupV2FakeTest, ControllerMissingFromParentIsNotEnforced) {
  WriteText(parent_ + "/cgroup.controllers", "cpu pids\n");
  std::unique_ptr<CgroupDriver> driver = NewDriver();
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(ReadText(manager_ + "/cgroup.subtree_control"), "+pids +cpu");
  const LimitEnforcement memory = driver->Enforces(LimitKind::kMemory);
  EXPECT_EQ(memory.mechanism, Mechanism::kNone);
  EXPECT_THAT(memory.detail, HasSubstr(parent_ + "/cgroup.controllers"));
  EXPECT_FALSE(driver->can_account_memory());
}

TEST_F(CgroupV2FakeTest, ParentRefusingControllersIsReportedPerController) {
  // A directory in place of the file: every write fails (EISDIR).
  const std::string control = parent_ + "/cgroup.subtree_control";
  ASSERT_EQ(unlink(control.c_str()), 0);
  ASSERT_EQ(mkdir(control.c_str(), 0755), 0);
  std::unique_ptr<CgroupDriver> driver = NewDriver();
  ASSERT_NE(driver, nullptr);
  for (LimitKind kind :
       {LimitKind::kMemory, LimitKind::kProcesses, LimitKind::kCpuWeight}) {
    const LimitEnforcement e = driver->Enforces(kind);
    EXPECT_EQ(e.mechanism, Mechanism::kNone);
    EXPECT_THAT(e.detail, HasSubstr(control));
  }
  EXPECT_THAT(driver->Enforces(LimitKind::kMemory).detail,
              HasSubstr("\"+memory\""));
  EXPECT_EQ(ReadText(manager_ + "/cgroup.subtree_control"), "");
}

TEST_F(CgroupV2FakeTest, WritesLimitFilesWithExactValues) {
  CgroupRequest request;
  request.memory_bytes = 64 << 20;
  request.processes = 32;
  request.cpu_weight = 250;
  std::unique_ptr<Cgroup> group = NewGroup(request);
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->Describe(), leaf_);
  EXPECT_EQ(Leaf("memory.max"), "67108864");
  EXPECT_EQ(Leaf("memory.swap.max"), "0");
  EXPECT_EQ(Leaf("memory.oom.group"), "1");
  EXPECT_EQ(Leaf("pids.max"), "32");
  EXPECT_EQ(Leaf("cpu.weight"), "250");
}

TEST_F(CgroupV2FakeTest, SkipsOptionalMemoryFilesThatDoNotExist) {
  ASSERT_EQ(unlink((leaf_ + "/memory.swap.max").c_str()), 0);
  CgroupRequest request;
  request.memory_bytes = 4096;
  ASSERT_NE(NewGroup(request), nullptr);
  EXPECT_EQ(Leaf("memory.max"), "4096");
  EXPECT_FALSE(PathExists(leaf_ + "/memory.swap.max"));
}

TEST_F(CgroupV2FakeTest, SkipsLimitsWhoseControllerIsMissing) {
  WriteText(parent_ + "/cgroup.controllers", "cpu\n");
  CgroupRequest request;
  request.memory_bytes = 4096;
  request.processes = 5;
  request.cpu_weight = 7;
  ASSERT_NE(NewGroup(request), nullptr);
  EXPECT_EQ(Leaf("memory.max"), "");
  EXPECT_EQ(Leaf("pids.max"), "");
  EXPECT_EQ(Leaf("cpu.weight"), "7");
}

TEST_F(CgroupV2FakeTest, FailedWriteNamesFileAndValue) {
  ASSERT_EQ(unlink((leaf_ + "/pids.max").c_str()), 0);
  ASSERT_EQ(mkdir((leaf_ + "/pids.max").c_str(), 0755), 0);
  std::unique_ptr<CgroupDriver> driver = NewDriver();
  ASSERT_NE(driver, nullptr);
  CgroupRequest request;
  request.processes = 32;
  EXPECT_THAT(driver->Create(request).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("\"32\" to " + leaf_ + "/pids.max")));
}

TEST_F(CgroupV2FakeTest, RejectsCpuWeightOutOfRange) {
  std::unique_ptr<CgroupDriver> driver = NewDriver();
  ASSERT_NE(driver, nullptr);
  for (uint32_t weight : {0u, 10001u}) {
    CgroupRequest request;
    request.cpu_weight = weight;
    EXPECT_THAT(driver->Create(request).status(),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(std::to_string(weight))));
  }
  EXPECT_EQ(Leaf("cpu.weight"), "");
}

TEST_F(CgroupV2FakeTest, ReadsUsageFromInterfaceFiles) {
  WriteText(leaf_ + "/cpu.stat",
            "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\n"
            "nice_usec 0\n");
  WriteText(leaf_ + "/memory.current", "4096\n");
  WriteText(leaf_ + "/memory.peak", "8192\n");
  WriteText(leaf_ + "/pids.current", "3\n");
  WriteText(leaf_ + "/memory.events",
            "low 0\nhigh 0\nmax 5\noom 1\noom_kill 2\noom_group_kill 0\n");
  WriteText(leaf_ + "/pids.events", "max 4\n");
  std::unique_ptr<Cgroup> group = NewGroup();
  ASSERT_NE(group, nullptr);
  const CgroupUsage usage = group->ReadUsage();
  EXPECT_EQ(usage.cpu_total_ns, 3'000'000);
  EXPECT_EQ(usage.cpu_user_ns, 2'000'000);
  EXPECT_EQ(usage.cpu_system_ns, 1'000'000);
  EXPECT_EQ(usage.memory_current, 4096);
  EXPECT_EQ(usage.memory_peak, 8192);
  EXPECT_EQ(usage.processes, 3);
  EXPECT_EQ(usage.oom_kills, 2);
  EXPECT_EQ(usage.memory_limit_hits, 5);
  EXPECT_EQ(usage.process_limit_hits, 4);
}

TEST_F(CgroupV2FakeTest, MissingUsageFilesLeaveFieldsEmpty) {
  for (const char* file : {"memory.peak", "memory.current", "pids.current",
                           "memory.events", "pids.events"}) {
    ASSERT_EQ(unlink((leaf_ + "/" + file).c_str()), 0) << file;
  }
  WriteText(leaf_ + "/cpu.stat", "usage_usec 7\n");
  std::unique_ptr<Cgroup> group = NewGroup();
  ASSERT_NE(group, nullptr);
  const CgroupUsage usage = group->ReadUsage();
  EXPECT_EQ(usage.cpu_total_ns, 7000);
  EXPECT_EQ(usage.cpu_user_ns, std::nullopt);
  EXPECT_EQ(usage.memory_peak, std::nullopt);
  EXPECT_EQ(usage.memory_current, std::nullopt);
  EXPECT_EQ(usage.processes, std::nullopt);
  EXPECT_EQ(usage.oom_kills, 0);
  EXPECT_EQ(usage.process_limit_hits, 0);
}

TEST_F(CgroupV2FakeTest, JoinsFromChildWhenCloneIntoIsOff) {
  std::unique_ptr<CgroupDriver> driver = NewDriver(/*clone_into=*/false);
  ASSERT_NE(driver, nullptr);
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create({});
  ASSERT_THAT(group.status(), IsOk());
  EXPECT_EQ((*group)->clone_into_fd(), -1);
  ASSERT_THAT((*group)->join_fds(), SizeIs(1));
  EXPECT_EQ(write((*group)->join_fds()[0], "0", 1), 1);
  EXPECT_EQ(Leaf("cgroup.procs"), "0");
}

TEST_F(CgroupV2FakeTest, LimitsAndUsageGoThroughDescriptorsOpenedByPrepare) {
  std::unique_ptr<CgroupDriver> driver = NewDriver();
  ASSERT_NE(driver, nullptr);
  driver->Prepare(1);  // takes the leaf "0" and opens its files
  // Moved away: only the kept descriptors still reach the files.
  const std::string moved = manager_ + "/moved";
  ASSERT_EQ(rename(leaf_.c_str(), moved.c_str()), 0);
  WriteText(moved + "/cpu.stat", "usage_usec 9\n");
  CgroupRequest request;
  request.memory_bytes = 64 << 20;
  request.processes = 32;
  request.cpu_weight = 250;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  EXPECT_EQ(ReadText(moved + "/memory.max"), "67108864");
  EXPECT_EQ(ReadText(moved + "/memory.swap.max"), "0");
  EXPECT_EQ(ReadText(moved + "/memory.oom.group"), "1");
  EXPECT_EQ(ReadText(moved + "/pids.max"), "32");
  EXPECT_EQ(ReadText(moved + "/cpu.weight"), "250");
  EXPECT_EQ((*group)->ReadUsage().cpu_total_ns, 9000);
  EXPECT_TRUE((*group)->Empty());
  WriteText(moved + "/cgroup.events", "populated 1\nfrozen 0\n");
  EXPECT_FALSE((*group)->Empty());
}

TEST_F(CgroupV2FakeTest,
       ACloneIntoGroupOpensCgroupProcsOnlyToJoinFromTheChild) {
  std::unique_ptr<CgroupDriver> driver = NewDriver(/*clone_into=*/true);
  ASSERT_NE(driver, nullptr);
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create({});
  ASSERT_THAT(group.status(), IsOk());
  EXPECT_GE((*group)->clone_into_fd(), 0);
  EXPECT_THAT((*group)->join_fds(), IsEmpty());
  ASSERT_THAT((*group)->JoinFromChild(), IsOk());
  EXPECT_EQ((*group)->clone_into_fd(), -1);
  ASSERT_THAT((*group)->join_fds(), SizeIs(1));
  EXPECT_EQ(write((*group)->join_fds()[0], "0", 1), 1);
  EXPECT_EQ(Leaf("cgroup.procs"), "0");
}

TEST_F(CgroupV2FakeTest, PlacementDoneClosesThePlacementDescriptors) {
  for (bool clone_into : {true, false}) {
    std::unique_ptr<CgroupDriver> driver = NewDriver(clone_into);
    ASSERT_NE(driver, nullptr);
    absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create({});
    ASSERT_THAT(group.status(), IsOk());
    EXPECT_EQ((*group)->clone_into_fd() >= 0, clone_into);
    EXPECT_THAT((*group)->join_fds(), SizeIs(clone_into ? 0 : 1));
    (*group)->PlacementDone();
    EXPECT_EQ((*group)->clone_into_fd(), -1);
    EXPECT_THAT((*group)->join_fds(), IsEmpty());
    EXPECT_THAT((*group)->JoinFromChild(), IsOk());
    EXPECT_THAT((*group)->join_fds(), IsEmpty());
    EXPECT_TRUE((*group)->Empty());
  }
}

TEST_F(CgroupV2FakeTest, FreezeWaitsForFrozenAndThawWritesZero) {
  WriteText(leaf_ + "/cgroup.events", "populated 1\nfrozen 1\n");
  std::unique_ptr<Cgroup> group = NewGroup();
  ASSERT_NE(group, nullptr);
  ASSERT_TRUE(group->can_freeze());
  EXPECT_THAT(group->Freeze(), IsOk());
  EXPECT_EQ(Leaf("cgroup.freeze"), "1");
  EXPECT_THAT(group->Thaw(), IsOk());
  EXPECT_EQ(Leaf("cgroup.freeze"), "0");
}

TEST_F(CgroupV2FakeTest, FreezeGivesUpWhenNeverFrozen) {
  std::unique_ptr<Cgroup> group = NewGroup();
  ASSERT_NE(group, nullptr);
  EXPECT_THAT(group->Freeze(), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                        HasSubstr("frozen 1")));
}

TEST_F(CgroupV2FakeTest, KillAllWritesCgroupKillAndWaitsForEmpty) {
  std::unique_ptr<Cgroup> group = NewGroup();
  ASSERT_NE(group, nullptr);
  EXPECT_THAT(group->KillAll(), IsOk());
  EXPECT_EQ(Leaf("cgroup.kill"), "1");
  EXPECT_TRUE(group->Empty());
  WriteText(leaf_ + "/cgroup.events", "populated 1\nfrozen 0\n");
  EXPECT_FALSE(group->Empty());
}

TEST_F(CgroupV2FakeTest, KillAllWithoutCgroupKillFreezesKillsAndThaws) {
  ASSERT_EQ(unlink((leaf_ + "/cgroup.kill").c_str()), 0);
  WriteText(leaf_ + "/cgroup.events", "populated 0\nfrozen 1\n");
  const pid_t pid = fork();
  if (pid == 0) {
    for (;;) pause();
  }
  ASSERT_GT(pid, 0);
  WriteText(leaf_ + "/cgroup.procs", absl::StrCat(pid, "\n"));
  std::unique_ptr<Cgroup> group = NewGroup();
  ASSERT_NE(group, nullptr);
  // The kernel's part: the process leaves cgroup.procs once dead.
  std::optional<int> status;
  std::thread kernel([&] {
    status = WaitExited(pid, absl::Seconds(30));
    WriteText(leaf_ + "/cgroup.procs", "");
  });
  EXPECT_THAT(group->KillAll(), IsOk());
  kernel.join();
  if (!status) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  EXPECT_TRUE(KilledBySigkill(status));
  EXPECT_EQ(Leaf("cgroup.freeze"), "0");
}

TEST_F(CgroupV2FakeTest, MissingParentIsNamed) {
  const std::string missing = root_ + "/no-such-parent";
  EXPECT_THAT(
      NewCgroupV2Driver({missing, "procsandbox-1-2-3", true}).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(missing)));
}

TEST_F(CgroupV2FakeTest, ParentThatIsNotACgroupIsNamed) {
  EXPECT_THAT(NewCgroupV2Driver({root_, "procsandbox-1-2-3", true}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("\"" + root_ + "\" is not a cgroup v2")));
}

TEST_F(CgroupV2FakeTest, ManagerPathThatIsAFileIsNamed) {
  WriteText(parent_ + "/procsandbox-4-5-6", "");
  EXPECT_THAT(NewCgroupV2Driver({parent_, "procsandbox-4-5-6", true}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(parent_ + "/procsandbox-4-5-6")));
}

TEST_F(CgroupV2FakeTest, RejectsANameWithASlash) {
  EXPECT_THAT(NewCgroupV2Driver({parent_, "a/b", true}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a/b")));
}

}  // namespace
}  // namespace procsandbox::linux_internal
