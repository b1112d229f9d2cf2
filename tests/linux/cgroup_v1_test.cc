// The cgroup v1 driver, for real, on this host's v1 hierarchies: each test
// makes its own manager directory (a name no other test process uses) under
// this process's own group in each hierarchy, and removes it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/cgroup.h"
#include "linux/cgroup_fs.h"
#include "process_inspection.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::linux_internal {

using ::procsandbox::posix_internal::UniqueFd;

namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

// `n` processes forked by this test, as the pids controller counts them
// (it counts threads): exactly n; under TSan up to n more, one TSan thread
// in each, which a child forked inside the group may not have started yet
// when the count is read.
auto ForkedTasks(int n) {
  return ::testing::Optional(::testing::AllOf(
      ::testing::Ge(n), ::testing::Le(n * kTasksPerForkedChild)));
}

constexpr const char* kControllers[] = {"memory", "pids", "cpu", "cpuacct",
                                        "freezer"};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string ReadTrimmed(const std::string& path) {
  return std::string(absl::StripAsciiWhitespace(ReadText(path)));
}

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// The sub-directories of `dir` (the leaves of a manager directory).
std::set<std::string> SubDirs(const std::string& dir) {
  std::set<std::string> names;
  for (int i = 0; i < 64; ++i) {
    if (Exists(absl::StrCat(dir, "/", i))) names.insert(absl::StrCat(i));
  }
  return names;
}

// controller -> this process's group in its v1 hierarchy, relative to the
// mount ("/process_api/abc" or "/"), from /proc/self/cgroup.
std::map<std::string, std::string> OwnPaths(const std::string& cgroup_text) {
  std::map<std::string, std::string> paths;
  for (absl::string_view line : absl::StrSplit(cgroup_text, '\n')) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3 || f[1].empty()) continue;
    for (absl::string_view c : absl::StrSplit(f[1], ',')) {
      paths[std::string(c)] = f[2];
    }
  }
  return paths;
}

// controller -> the directory of this process's own group in its v1
// hierarchy, for the controllers this test uses that are mounted.
std::map<std::string, std::string> OwnV1Parents() {
  const std::map<std::string, std::string> own =
      OwnPaths(ReadText("/proc/self/cgroup"));
  std::map<std::string, std::string> parents;
  std::istringstream mounts(ReadText("/proc/self/mounts"));
  std::string dev, dir, type, options, rest;
  while (mounts >> dev >> dir >> type >> options &&
         std::getline(mounts, rest)) {
    if (type != "cgroup") continue;
    for (absl::string_view option : absl::StrSplit(options, ',')) {
      auto it = own.find(std::string(option));
      if (it == own.end()) continue;
      parents[std::string(option)] = it->second == "/" ? dir : dir + it->second;
    }
  }
  return parents;
}

int ReadPipeInt(int fd) {
  int value = INT_MIN;
  pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, 5000) != 1) return INT_MIN;
  if (read(fd, &value, sizeof(value)) != sizeof(value)) return INT_MIN;
  return value;
}

void WriteInt(int fd, int value) { (void)!write(fd, &value, sizeof(value)); }

// Bodies of forked children (only raw syscalls after fork).
[[noreturn]] void Pause(int) {
  for (;;) pause();
}

[[noreturn]] void Spin(int) {
  for (volatile uint64_t i = 0;; i = i + 1) {
  }
}

// Touches 256 MiB; exits 0 if it was allowed to.
[[noreturn]] void Allocate(int) {
  constexpr std::size_t kSize = std::size_t{256} << 20;
  void* m = mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) _exit(2);
  for (std::size_t i = 0; i < kSize; i += 4096) static_cast<char*>(m)[i] = 1;
  _exit(0);
}

// Forks pausing children until fork fails: reports each pid, then -errno.
[[noreturn]] void ForkLoop(int report) {
  for (int i = 0; i < 64; ++i) {
    const pid_t pid = fork();
    if (pid == 0) Pause(report);
    if (pid < 0) {
      WriteInt(report, -errno);
      Pause(report);
    }
    WriteInt(report, pid);
  }
  WriteInt(report, 0);
  Pause(report);
}

// A daemon: a child that calls setsid and forks a pausing grandchild, then
// exits (reaped here). Reports the grandchild's pid, then 0 once the child
// is reaped.
[[noreturn]] void Daemonize(int report) {
  const pid_t child = fork();
  if (child == 0) {
    setsid();
    const pid_t grandchild = fork();
    if (grandchild == 0) Pause(report);
    WriteInt(report, grandchild);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  WriteInt(report, 0);  // the tree is now this process and the grandchild
  Pause(report);
}

class CgroupV1Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    parents_ = OwnV1Parents();
    for (const char* c : kControllers) {
      if (parents_.count(c) == 0) {
        GTEST_SKIP() << "no cgroup v1 " << c << " hierarchy mounted";
      }
    }
    static std::atomic<int> counter{0};
    std::random_device random;
    const absl::StatusOr<ManagerGroupOwner> me = ThisProcessOwner();
    ASSERT_THAT(me.status(), IsOk());
    name_ = ManagerGroupName(
        *me, int64_t{counter++} * 1'000'000 + random() % 1'000'000);
    // Orphans of the trees the tests make come to this process: reap them.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
    subreaper_ = true;
  }

  void TearDown() override {
    for (pid_t pid : std::set<pid_t>(children_)) {
      kill(pid, SIGKILL);
      Wait(pid);
    }
    for (const auto& [controller, parent] : parents_) {
      const std::string dir = parent + "/" + name_;
      if (!Exists(dir)) continue;
      ADD_FAILURE() << "left behind: " << dir;
      for (const std::string& leaf : SubDirs(dir)) {
        const std::string path = dir + "/" + leaf;
        if (controller == "freezer") {
          std::ofstream(path + "/freezer.state") << "THAWED";
        }
        if (absl::StatusOr<UniqueFd> fd = OpenDirectory(path); fd.ok()) {
          (void)KillEveryProcess(fd->get(), absl::Seconds(1));
        }
      }
      (void)RemoveGroupTree(dir);
    }
    if (subreaper_) prctl(PR_SET_CHILD_SUBREAPER, 0);
  }

  CgroupV1Config Config(std::vector<std::string> controllers = {
                            kControllers, kControllers + 5}) const {
    CgroupV1Config config;
    for (const std::string& c : controllers) config.parents[c] = parents_.at(c);
    config.name = name_;
    return config;
  }

  std::unique_ptr<CgroupDriver> Driver(CgroupV1Config config) {
    absl::StatusOr<std::unique_ptr<CgroupDriver>> driver =
        NewCgroupV1Driver(config);
    EXPECT_THAT(driver.status(), IsOk());
    return driver.ok() ? std::move(*driver) : nullptr;
  }

  // The leaf `n` of controller `c`'s hierarchy.
  std::string Leaf(const std::string& c, int n = 0) const {
    return absl::StrCat(parents_.at(c), "/", name_, "/", n);
  }

  // Forks a child that joins `group` (writes "0" to every join fd), then
  // runs `body` with the write end of a report pipe. Returns its pid once
  // it joined, and the read end of the pipe in `report`.
  pid_t ForkInto(const Cgroup& group, void (*body)(int), UniqueFd* report) {
    const std::vector<int> fds = group.join_fds();
    int pipe_fds[2];
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
    const pid_t pid = fork();
    if (pid == 0) {
      close(pipe_fds[0]);
      for (int fd : fds) {
        if (write(fd, "0", 1) != 1) _exit(120);
      }
      WriteInt(pipe_fds[1], 1);
      body(pipe_fds[1]);
      _exit(0);
    }
    close(pipe_fds[1]);
    UniqueFd read_end(pipe_fds[0]);
    if (pid < 0) return -1;
    children_.insert(pid);
    EXPECT_EQ(ReadPipeInt(read_end.get()), 1) << "child did not join";
    if (report != nullptr) *report = std::move(read_end);
    return pid;
  }

  // waitpid: the wait status, or -1.
  int Wait(pid_t pid) {
    int status = 0;
    pid_t r;
    while ((r = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    children_.erase(pid);
    return r == pid ? status : -1;
  }

  // Kills a group's tree and removes it; expects both to work.
  void KillAndRemove(Cgroup& group, std::vector<pid_t> pids) {
    EXPECT_THAT(group.KillAll(), IsOk());
    for (pid_t pid : pids) Wait(pid);
    EXPECT_THAT(group.Remove(), IsOk());
  }

  std::map<std::string, std::string> parents_;
  std::string name_;
  std::set<pid_t> children_;
  bool subreaper_ = false;
};

// The descriptors open in this process.
std::set<int> OpenFds() {
  std::set<int> fds;
  for (int fd = 0; fd < 4096; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0) fds.insert(fd);
  }
  return fds;
}

CgroupRequest Everything() {
  CgroupRequest request;
  request.memory_bytes = int64_t{64} << 20;
  request.processes = 8;
  request.cpu_weight = 100;
  request.cpu_accounting = true;
  request.track = true;
  return request;
}

TEST_F(CgroupV1Test, MakesManagerDirectoriesAndRemoveAllRemovesThem) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config());
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(driver->mechanism(), Mechanism::kCgroupV1);
  ASSERT_EQ(driver->directories().size(), 5u);
  for (const char* c : kControllers) {
    EXPECT_TRUE(Exists(parents_[c] + "/" + name_)) << c;
  }
  EXPECT_THAT(driver->RemoveAll(), IsOk());
  for (const char* c : kControllers) {
    EXPECT_FALSE(Exists(parents_[c] + "/" + name_)) << c;
  }
  EXPECT_THAT(driver->Create(Everything()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(CgroupV1Test, WritesLimitsToTheLeafFiles) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config());
  ASSERT_NE(driver, nullptr);
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(Everything());
  ASSERT_THAT(group.status(), IsOk());
  EXPECT_EQ(ReadTrimmed(Leaf("memory") + "/memory.limit_in_bytes"), "67108864");
  if (Exists(Leaf("memory") + "/memory.memsw.limit_in_bytes")) {
    EXPECT_EQ(ReadTrimmed(Leaf("memory") + "/memory.memsw.limit_in_bytes"),
              "67108864");
  }
  EXPECT_EQ(ReadTrimmed(Leaf("pids") + "/pids.max"), "8");
  EXPECT_EQ(ReadTrimmed(Leaf("cpu") + "/cpu.shares"), "1024");
  EXPECT_EQ(ReadTrimmed(Leaf("freezer") + "/freezer.state"), "THAWED");
  EXPECT_EQ((*group)->clone_into_fd(), -1);
  EXPECT_EQ((*group)->join_fds().size(), 5u);
  EXPECT_TRUE((*group)->Empty());
  EXPECT_THAT((*group)->Remove(), IsOk());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, MapsCpuWeightToSharesWithinKernelRange) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"cpu", "pids"}));
  ASSERT_NE(driver, nullptr);
  const std::pair<uint32_t, std::string> cases[] = {
      {0, "2"},      {1, "10"},         {50, "512"},
      {100, "1024"}, {10000, "102400"}, {1000000, "262144"}};
  int n = 0;
  for (const auto& [weight, shares] : cases) {
    CgroupRequest request;
    request.cpu_weight = weight;
    request.processes = int64_t{1} << 40;  // above PID_MAX_LIMIT: "max"
    absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
    ASSERT_THAT(group.status(), IsOk()) << weight;
    EXPECT_EQ(ReadTrimmed(Leaf("cpu", n) + "/cpu.shares"), shares) << weight;
    EXPECT_EQ(ReadTrimmed(Leaf("pids", n) + "/pids.max"), "max");
    EXPECT_THAT((*group)->Remove(), IsOk());
    ++n;
  }
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, PlacesChildInTheLeafOfEveryHierarchy) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config());
  ASSERT_NE(driver, nullptr);
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(Everything());
  ASSERT_THAT(group.status(), IsOk());
  const pid_t pid = ForkInto(**group, Pause, nullptr);
  ASSERT_GT(pid, 0);
  const std::map<std::string, std::string> own =
      OwnPaths(ReadText("/proc/self/cgroup"));
  const std::map<std::string, std::string> placed =
      OwnPaths(ReadText(absl::StrCat("/proc/", pid, "/cgroup")));
  for (const char* c : kControllers) {
    const std::string base = own.at(c) == "/" ? "" : own.at(c);
    EXPECT_EQ(placed.at(c), base + "/" + name_ + "/0") << c;
  }
  const CgroupUsage usage = (*group)->ReadUsage();
  EXPECT_THAT(usage.processes, ForkedTasks(1));
  EXPECT_TRUE(usage.memory_current.has_value());
  EXPECT_TRUE(usage.memory_peak.has_value());
  EXPECT_TRUE(usage.cpu_total_ns.has_value());
  EXPECT_TRUE(usage.cpu_user_ns.has_value());
  EXPECT_TRUE(usage.cpu_system_ns.has_value());
  EXPECT_FALSE((*group)->Empty());
  KillAndRemove(**group, {pid});
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, ReadUsageLeavesHierarchiesNotInTheGroupEmpty) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config());
  ASSERT_NE(driver, nullptr);
  CgroupRequest request;
  request.processes = 4;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  EXPECT_EQ((*group)->join_fds().size(), 1u);
  EXPECT_FALSE((*group)->can_freeze());
  EXPECT_TRUE((*group)->can_kill());
  EXPECT_FALSE(Exists(Leaf("memory")));
  const CgroupUsage usage = (*group)->ReadUsage();
  EXPECT_EQ(usage.processes, 0);
  EXPECT_FALSE(usage.memory_current.has_value());
  EXPECT_FALSE(usage.memory_peak.has_value());
  EXPECT_FALSE(usage.cpu_total_ns.has_value());
  EXPECT_FALSE(usage.cpu_user_ns.has_value());
  EXPECT_THAT((*group)->Freeze(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT((*group)->Remove(), IsOk());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, ChildOverMemoryLimitIsOomKilledAndCounted) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"memory"}));
  ASSERT_NE(driver, nullptr);
  CgroupRequest request;
  request.memory_bytes = int64_t{32} << 20;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  const pid_t pid = ForkInto(**group, Allocate, nullptr);
  ASSERT_GT(pid, 0);
  const int status = Wait(pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "exit " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  const CgroupUsage usage = (*group)->ReadUsage();
  EXPECT_GE(usage.oom_kills, 1);
  EXPECT_GE(usage.memory_limit_hits, 1);
  ASSERT_TRUE(usage.memory_peak.has_value());
  EXPECT_LE(*usage.memory_peak, int64_t{32} << 20);
  EXPECT_GE(*usage.memory_peak, int64_t{24} << 20);
  EXPECT_THAT((*group)->Remove(), IsOk());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, ForkFailsAtProcessLimitAndIsCounted) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"pids", "freezer"}));
  ASSERT_NE(driver, nullptr);
  CgroupRequest request;
  request.processes = 8;
  request.track = true;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  UniqueFd report;
  const pid_t pid = ForkInto(**group, ForkLoop, &report);
  ASSERT_GT(pid, 0);
  std::vector<pid_t> pids = {pid};
  int value;
  while ((value = ReadPipeInt(report.get())) > 0) {
    pids.push_back(value);
    children_.insert(value);  // reparented here if the child dies first
  }
  EXPECT_EQ(value, -EAGAIN);
  // 8 processes; under TSan 4 to 8 (two tasks each, the last ones' TSan
  // threads perhaps not started when the next fork met pids.max).
  EXPECT_GE(pids.size(), std::size_t{8 / kTasksPerForkedChild});
  EXPECT_LE(pids.size(), 8u);
  const CgroupUsage usage = (*group)->ReadUsage();
  EXPECT_EQ(usage.processes, 8);
  EXPECT_GE(usage.process_limit_hits, 1);
  EXPECT_THAT((*group)->KillAll(), IsOk());
  EXPECT_TRUE((*group)->Empty());
  EXPECT_TRUE(WIFSIGNALED(Wait(pid)));
  for (std::size_t i = 1; i < pids.size(); ++i) Wait(pids[i]);
  EXPECT_THAT((*group)->Remove(), IsOk());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, AccountsCpuTimeOfBusyChild) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"cpuacct"}));
  ASSERT_NE(driver, nullptr);
  EXPECT_TRUE(driver->can_account_cpu());
  EXPECT_FALSE(driver->can_account_memory());
  CgroupRequest request;
  request.cpu_accounting = true;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  const pid_t pid = ForkInto(**group, Spin, nullptr);
  ASSERT_GT(pid, 0);
  // Polled until the CPU shows (the bound only guards a hang).
  CgroupUsage usage = (*group)->ReadUsage();
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while ((usage.cpu_total_ns.value_or(0) <= 20'000'000 ||
          usage.cpu_user_ns.value_or(0) <= 10'000'000) &&
         absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    usage = (*group)->ReadUsage();
  }
  ASSERT_TRUE(usage.cpu_total_ns.has_value());
  EXPECT_GT(*usage.cpu_total_ns, 20'000'000);
  EXPECT_GT(usage.cpu_user_ns.value_or(0), 10'000'000);
  // user / system are tick-sampled (cpustat); the total is exact.
  EXPECT_TRUE(usage.cpu_system_ns.has_value());
  KillAndRemove(**group, {pid});
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, FreezeStopsBusyChildAndThawResumesIt) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"cpuacct", "freezer"}));
  ASSERT_NE(driver, nullptr);
  CgroupRequest request;
  request.cpu_accounting = true;
  request.track = true;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  ASSERT_TRUE((*group)->can_freeze());
  const pid_t pid = ForkInto(**group, Spin, nullptr);
  ASSERT_GT(pid, 0);
  auto cpu = [&] { return (*group)->ReadUsage().cpu_total_ns.value_or(-1); };
  ASSERT_THAT((*group)->Freeze(), IsOk());
  EXPECT_EQ(ReadTrimmed(Leaf("freezer") + "/freezer.state"), "FROZEN");
  const int64_t frozen = cpu();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_LT(cpu() - frozen, 1'000'000) << "ran while frozen";
  ASSERT_THAT((*group)->Thaw(), IsOk());
  EXPECT_EQ(ReadTrimmed(Leaf("freezer") + "/freezer.state"), "THAWED");
  const int64_t thawed = cpu();
  const absl::Time give_up = absl::Now() + absl::Seconds(60);  // a hang guard
  while (cpu() - thawed <= 5'000'000 && absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(cpu() - thawed, 5'000'000) << "did not run after Thaw";
  KillAndRemove(**group, {pid});
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, KillAllWithFreezerKillsSetsidDoubleForkedGrandchild) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config());
  ASSERT_NE(driver, nullptr);
  EXPECT_TRUE(driver->can_track());
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(Everything());
  ASSERT_THAT(group.status(), IsOk());
  UniqueFd report;
  const pid_t pid = ForkInto(**group, Daemonize, &report);
  ASSERT_GT(pid, 0);
  const int daemon = ReadPipeInt(report.get());
  ASSERT_GT(daemon, 0);
  children_.insert(daemon);
  ASSERT_EQ(ReadPipeInt(report.get()), 0);
  EXPECT_NE(getsid(daemon), getsid(pid));
  EXPECT_THAT((*group)->ReadUsage().processes, ForkedTasks(2));
  EXPECT_THAT((*group)->KillAll(), IsOk());
  EXPECT_TRUE((*group)->Empty());
  const int child_status = Wait(pid);
  EXPECT_TRUE(WIFSIGNALED(child_status) && WTERMSIG(child_status) == SIGKILL);
  const int daemon_status = Wait(daemon);
  EXPECT_TRUE(WIFSIGNALED(daemon_status) && WTERMSIG(daemon_status) == SIGKILL);
  EXPECT_EQ(ReadTrimmed(Leaf("freezer") + "/freezer.state"), "THAWED");
  EXPECT_THAT((*group)->Remove(), IsOk());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, KillAllWithoutFreezerKillsTreeByListing) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"memory", "pids"}));
  ASSERT_NE(driver, nullptr);
  EXPECT_FALSE(driver->can_track());
  CgroupRequest request;
  request.processes = 16;
  request.memory_accounting = true;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  EXPECT_FALSE((*group)->can_freeze());
  EXPECT_TRUE((*group)->can_kill());
  UniqueFd report;
  const pid_t pid = ForkInto(**group, Daemonize, &report);
  ASSERT_GT(pid, 0);
  const int daemon = ReadPipeInt(report.get());
  ASSERT_GT(daemon, 0);
  children_.insert(daemon);
  ASSERT_EQ(ReadPipeInt(report.get()), 0);
  EXPECT_THAT((*group)->ReadUsage().processes, ForkedTasks(2));
  EXPECT_THAT((*group)->KillAll(), IsOk());
  EXPECT_TRUE((*group)->Empty());
  EXPECT_TRUE(WIFSIGNALED(Wait(pid)));
  const int daemon_status = Wait(daemon);
  EXPECT_TRUE(WIFSIGNALED(daemon_status) && WTERMSIG(daemon_status) == SIGKILL);
  EXPECT_THAT((*group)->Remove(), IsOk());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, RemoveIsUnavailableWhileAProcessIsInside) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config());
  ASSERT_NE(driver, nullptr);
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(Everything());
  ASSERT_THAT(group.status(), IsOk());
  const pid_t pid = ForkInto(**group, Pause, nullptr);
  ASSERT_GT(pid, 0);
  EXPECT_THAT((*group)->Remove(), StatusIs(absl::StatusCode::kUnavailable,
                                           HasSubstr(name_ + "/0")));
  EXPECT_THAT(driver->RemoveAll(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr(name_)));
  EXPECT_TRUE(Exists(Leaf("memory")));
  KillAndRemove(**group, {pid});
  EXPECT_THAT((*group)->Remove(), IsOk());  // again: nothing to do
  for (const char* c : kControllers) EXPECT_FALSE(Exists(Leaf(c))) << c;
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, CreateTakesSparesMadeByPrepare) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config());
  ASSERT_NE(driver, nullptr);
  std::thread([&] { driver->Prepare(2); }).join();
  const std::string memory_dir = parents_["memory"] + "/" + name_;
  for (const char* c : kControllers) {
    EXPECT_EQ(SubDirs(parents_[c] + "/" + name_),
              (std::set<std::string>{"0", "1"}))
        << c;
  }
  absl::StatusOr<std::unique_ptr<Cgroup>> first = driver->Create(Everything());
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_THAT((*first)->Describe(), HasSubstr(name_ + "/0"));
  EXPECT_EQ(ReadTrimmed(Leaf("pids") + "/pids.max"), "8");
  absl::StatusOr<std::unique_ptr<Cgroup>> second = driver->Create(Everything());
  ASSERT_THAT(second.status(), IsOk());
  EXPECT_THAT((*second)->Describe(), HasSubstr(name_ + "/1"));
  EXPECT_EQ(SubDirs(memory_dir), (std::set<std::string>{"0", "1"}));
  absl::StatusOr<std::unique_ptr<Cgroup>> third = driver->Create(Everything());
  ASSERT_THAT(third.status(), IsOk());
  EXPECT_EQ(SubDirs(memory_dir), (std::set<std::string>{"0", "1", "2"}));
  // Unused spares go with RemoveAll.
  driver->Prepare(1);
  EXPECT_EQ(SubDirs(memory_dir).size(), 4u);
  for (auto* group : {&*first, &*second, &*third}) {
    EXPECT_THAT((*group)->Remove(), IsOk());
  }
  EXPECT_THAT(driver->RemoveAll(), IsOk());
  EXPECT_FALSE(Exists(memory_dir));
}

TEST_F(CgroupV1Test, OneDescriptorTakesWriteAfterWriteAndRereadsAnew) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"pids"}));
  ASSERT_NE(driver, nullptr);
  CgroupRequest request;
  request.processes = 4;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  const UniqueFd max(
      open((Leaf("pids") + "/pids.max").c_str(), O_WRONLY | O_CLOEXEC));
  const UniqueFd current(
      open((Leaf("pids") + "/pids.current").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(max.valid() && current.valid());
  EXPECT_THAT(WriteAt0(max.get(), "8", "pids.max", Leaf("pids")), IsOk());
  EXPECT_EQ(ReadTrimmed(Leaf("pids") + "/pids.max"), "8");
  EXPECT_THAT(WriteAt0(max.get(), "max", "pids.max", Leaf("pids")), IsOk());
  EXPECT_EQ(ReadTrimmed(Leaf("pids") + "/pids.max"), "max");
  EXPECT_THAT(WriteAt0(max.get(), "16", "pids.max", Leaf("pids")), IsOk());
  EXPECT_EQ(ReadTrimmed(Leaf("pids") + "/pids.max"), "16");
  EXPECT_EQ(ParseCgroupInt(ReadAt0(current.get(), "pids.current").value_or("")),
            0);
  const pid_t pid = ForkInto(**group, Pause, nullptr);
  ASSERT_GT(pid, 0);
  EXPECT_THAT(
      ParseCgroupInt(ReadAt0(current.get(), "pids.current").value_or("")),
      ForkedTasks(1));
  KillAndRemove(**group, {pid});
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, CreateFromSparesOpensNothingAndATreeKeepsItsUsageFiles) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"memory", "pids"}));
  ASSERT_NE(driver, nullptr);
  const std::set<int> start = OpenFds();
  driver->Prepare(1);
  const std::set<int> prepared = OpenFds();
  CgroupRequest request;
  request.memory_bytes = int64_t{64} << 20;
  request.processes = 8;
  request.memory_accounting = true;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  // Every descriptor the group has was open before Create().
  const std::set<int> created = OpenFds();
  EXPECT_TRUE(std::includes(prepared.begin(), prepared.end(), created.begin(),
                            created.end()));
  EXPECT_EQ(ReadTrimmed(Leaf("memory") + "/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(ReadTrimmed(Leaf("pids") + "/pids.max"), "8");
  ASSERT_EQ((*group)->join_fds().size(), 2u);
  const pid_t pid = ForkInto(**group, Pause, nullptr);
  ASSERT_GT(pid, 0);
  (*group)->PlacementDone();
  EXPECT_TRUE((*group)->join_fds().empty());
  // Kept: memory max_usage and oom_control, pids events (what the end of
  // the run reads); the live-only files (usage, failcnt, pids.current) are
  // read by path.
  EXPECT_EQ(OpenFds().size() - start.size(), 3u);
  const CgroupUsage usage = (*group)->ReadUsage();
  EXPECT_THAT(usage.processes, ForkedTasks(1));
  EXPECT_GT(usage.memory_current.value_or(0), 0);
  EXPECT_GT(usage.memory_peak.value_or(0), 0);
  EXPECT_FALSE((*group)->Empty());
  KillAndRemove(**group, {pid});
  EXPECT_TRUE((*group)->Empty());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, FreezerLeafStillListsTheTreeAfterPlacementDone) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"pids", "freezer"}));
  ASSERT_NE(driver, nullptr);
  driver->Prepare(1);
  CgroupRequest request;
  request.processes = 16;
  request.track = true;
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(request);
  ASSERT_THAT(group.status(), IsOk());
  UniqueFd report;
  const pid_t pid = ForkInto(**group, Daemonize, &report);
  ASSERT_GT(pid, 0);
  const int daemon = ReadPipeInt(report.get());
  ASSERT_GT(daemon, 0);
  children_.insert(daemon);
  ASSERT_EQ(ReadPipeInt(report.get()), 0);
  (*group)->PlacementDone();
  EXPECT_TRUE((*group)->join_fds().empty());
  EXPECT_FALSE((*group)->Empty());
  ASSERT_THAT((*group)->Freeze(), IsOk());
  EXPECT_EQ(ReadTrimmed(Leaf("freezer") + "/freezer.state"), "FROZEN");
  ASSERT_THAT((*group)->Thaw(), IsOk());
  EXPECT_EQ(ReadTrimmed(Leaf("freezer") + "/freezer.state"), "THAWED");
  EXPECT_THAT((*group)->ReadUsage().processes, ForkedTasks(2));
  EXPECT_THAT((*group)->KillAll(), IsOk());
  EXPECT_TRUE((*group)->Empty());
  EXPECT_TRUE(WIFSIGNALED(Wait(pid)));
  const int daemon_status = Wait(daemon);
  EXPECT_TRUE(WIFSIGNALED(daemon_status) && WTERMSIG(daemon_status) == SIGKILL);
  EXPECT_THAT((*group)->Remove(), IsOk());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, MissingParentIsAnErrorNamingItAndNothingStays) {
  CgroupV1Config config = Config({"freezer"});
  config.parents["memory"] = parents_["memory"] + "/no-such-parent";
  EXPECT_THAT(NewCgroupV1Driver(config).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(parents_["memory"] + "/no-such-parent")));
  EXPECT_FALSE(Exists(parents_["freezer"] + "/" + name_));
}

TEST_F(CgroupV1Test, ParentInAnotherHierarchyIsAnError) {
  CgroupV1Config config = Config({"memory"});
  config.parents["pids"] = parents_["memory"];
  EXPECT_THAT(
      NewCgroupV1Driver(config).status(),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("pids.max")));
  EXPECT_FALSE(Exists(parents_["memory"] + "/" + name_));
  config.parents = {{"memory", "relative/path"}};
  EXPECT_THAT(
      NewCgroupV1Driver(config).status(),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("relative/path")));
  config.parents = {{"blkio", parents_["memory"]}};
  EXPECT_THAT(NewCgroupV1Driver(config).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("blkio")));
}

TEST_F(CgroupV1Test, RefusedLimitNamesTheFileAndRemovesTheLeaves) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config());
  ASSERT_NE(driver, nullptr);
  driver->Prepare(1);
  // The kernel refuses memory.limit_in_bytes above memory.memsw.limit_in_bytes.
  const std::string spare = Leaf("memory");
  if (!Exists(spare + "/memory.memsw.limit_in_bytes")) {
    GTEST_SKIP() << "no memory.memsw.limit_in_bytes (swap accounting off)";
  }
  std::ofstream(spare + "/memory.limit_in_bytes") << (8 << 20);
  std::ofstream(spare + "/memory.memsw.limit_in_bytes") << (16 << 20);
  ASSERT_EQ(ReadTrimmed(spare + "/memory.memsw.limit_in_bytes"), "16777216");
  absl::StatusOr<std::unique_ptr<Cgroup>> group = driver->Create(Everything());
  EXPECT_THAT(group.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                       HasSubstr("\"67108864\" to " + spare +
                                                 "/memory.limit_in_bytes")));
  for (const char* c : kControllers) EXPECT_FALSE(Exists(Leaf(c))) << c;
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, CreateNeedingAnAbsentControllerFailsBeforeMakingAnything) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"pids"}));
  ASSERT_NE(driver, nullptr);
  CgroupRequest request;
  request.processes = 4;
  request.memory_bytes = 1 << 20;
  EXPECT_THAT(driver->Create(request).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("memory controller")));
  request.memory_bytes.reset();
  request.processes = -1;
  EXPECT_THAT(driver->Create(request).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(SubDirs(parents_["pids"] + "/" + name_).empty());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

TEST_F(CgroupV1Test, EnforcesNamesTheFileOrWhyNot) {
  std::unique_ptr<CgroupDriver> driver = Driver(Config({"pids", "cpuacct"}));
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(driver->Enforces(LimitKind::kProcesses),
            (LimitEnforcement{LimitKind::kProcesses, Mechanism::kCgroupV1,
                              "pids.max"}));
  EXPECT_EQ(driver->Enforces(LimitKind::kCpuTime).mechanism,
            Mechanism::kCgroupV1);
  EXPECT_THAT(driver->Enforces(LimitKind::kCpuTime).detail,
              HasSubstr("cpuacct.usage"));
  EXPECT_EQ(driver->Enforces(LimitKind::kMemory),
            (LimitEnforcement{LimitKind::kMemory, Mechanism::kNone,
                              "memory controller not mounted"}));
  EXPECT_EQ(driver->Enforces(LimitKind::kCpuWeight).detail,
            "cpu controller not mounted");
  EXPECT_EQ(driver->Enforces(LimitKind::kWallTime),
            (LimitEnforcement{LimitKind::kWallTime, Mechanism::kNone,
                              "not a cgroup limit"}));
  EXPECT_FALSE(driver->can_track());
  EXPECT_FALSE(driver->can_account_memory());
  EXPECT_THAT(driver->RemoveAll(), IsOk());
}

}  // namespace
}  // namespace procsandbox::linux_internal
