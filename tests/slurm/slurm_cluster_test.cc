// The test fixture's own tests: a real one-node Slurm cluster starts, runs
// jobs, runs beside another one and leaves nothing behind. Skipped (with the
// reason) where WhyUnavailable() says no cluster can start.
#include "slurm/slurm_cluster.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox_testing/matchers.h"
#include "slurm/child_process.h"

namespace procsandbox::slurm_testing {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// `Key=value` of `scontrol show ... -o` output ("" when absent).
std::string Field(const std::string& record, const std::string& key) {
  for (absl::string_view word :
       absl::StrSplit(record, absl::ByAnyChar(" \n"))) {
    if (absl::ConsumePrefix(&word, key + "=")) return std::string(word);
  }
  return "";
}

// The job's record once it left the queue (bounded: its end is a condition
// the controller reports a moment after srun returns).
std::string FinishedJob(const SlurmCluster& cluster, const std::string& id) {
  std::string record;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> out =
        cluster.Run({"scontrol", "show", "job", "-o", id});
    if (!out.ok()) return std::string(out.status().message());
    record = *out;
    const std::string state = Field(record, "JobState");
    if (state != "RUNNING" && state != "COMPLETING" && state != "PENDING" &&
        state != "CONFIGURING") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return record;
}

// Processes whose environment holds SLURM_CONF=`conf`.
std::vector<int> ProcessesOf(const std::string& conf) {
  std::vector<int> out;
  DIR* proc = opendir("/proc");
  while (proc != nullptr) {
    dirent* e = readdir(proc);
    if (e == nullptr) break;
    int pid = 0;
    if (!absl::SimpleAtoi(e->d_name, &pid) || pid == getpid()) continue;
    const std::string env = ReadFile(fmt::format("/proc/{}/environ", pid));
    for (absl::string_view var : absl::StrSplit(env, '\0')) {
      if (var == "SLURM_CONF=" + conf) out.push_back(pid);
    }
  }
  if (proc != nullptr) closedir(proc);
  return out;
}

// Cgroup directories named after `node` in any hierarchy.
std::vector<std::string> CgroupsOf(const std::string& node) {
  std::vector<std::string> out;
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() < 3 || (f[2] != "cgroup" && f[2] != "cgroup2")) continue;
    for (const std::string& path :
         {f[1] + "/slurm_" + node,
          f[1] + "/system.slice/" + node + "_slurmstepd.scope"}) {
      if (access(path.c_str(), F_OK) == 0) out.push_back(path);
    }
  }
  return out;
}

class SlurmClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (SlurmCluster::WhyUnavailable()) return;
    absl::StatusOr<std::unique_ptr<SlurmCluster>> started =
        SlurmCluster::Start({});
    if (started.ok()) {
      cluster = *std::move(started);
    } else {
      start_error = new absl::Status(started.status());
    }
  }
  static void TearDownTestSuite() {
    if (cluster != nullptr) {
      EXPECT_THAT(cluster->Stop(), IsOk());
    }
    cluster.reset();
    delete start_error;
    start_error = nullptr;
  }
  void SetUp() override {
    if (std::optional<std::string> why = SlurmCluster::WhyUnavailable()) {
      GTEST_SKIP() << *why;
    }
    ASSERT_NE(cluster, nullptr) << *start_error;
  }
  void TearDown() override {
    if (cluster != nullptr && !IsSkipped()) {
      EXPECT_THAT(cluster->QueuedJobs(), IsOkAndHolds(IsEmpty()));
    }
  }

  static std::unique_ptr<SlurmCluster> cluster;
  static absl::Status* start_error;
};

std::unique_ptr<SlurmCluster> SlurmClusterTest::cluster;
absl::Status* SlurmClusterTest::start_error = nullptr;

TEST_F(SlurmClusterTest, StartedClusterHasAnIdleNodeInItsPartition) {
  EXPECT_THAT(cluster->Run({"sinfo", "-h", "-o", "%P %N %t"}),
              IsOkAndHolds(fmt::format("{}* {} idle\n", cluster->partition(),
                                       cluster->node_name())));
  EXPECT_THAT(cluster->Run({"scontrol", "show", "config"}),
              IsOkAndHolds(HasSubstr(cluster->cluster_name())));
  EXPECT_EQ(cluster->conf_path(), cluster->dir() + "/slurm.conf");
}

TEST_F(SlurmClusterTest, SrunRunsAJobAndReturnsItsOutput) {
  EXPECT_THAT(cluster->Run({"srun", "true"}), IsOkAndHolds(""));
  EXPECT_THAT(cluster->Run({"srun", "echo", "hello"}), IsOkAndHolds("hello\n"));
}

TEST_F(SlurmClusterTest, RunReportsANonZeroExitWithStderr) {
  EXPECT_THAT(cluster->Run({"srun", "sh", "-c", "echo oops >&2; exit 3"}),
              StatusIs(absl::StatusCode::kUnknown,
                       AllOf(HasSubstr("exit code"), HasSubstr("oops"))));
  EXPECT_THAT(cluster->Run({"no-such-slurm-command"}),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("no-such-slurm-command")));
}

TEST_F(SlurmClusterTest, FinishedJobReadsCompletedInScontrol) {
  absl::StatusOr<std::string> id =
      cluster->Run({"srun", "sh", "-c", "echo $SLURM_JOB_ID"});
  ASSERT_THAT(id, IsOk());
  const std::string job(absl::StripAsciiWhitespace(*id));
  int64_t number = 0;
  ASSERT_TRUE(absl::SimpleAtoi(job, &number)) << job;
  EXPECT_GE(number, 1000000);
  const std::string record = FinishedJob(*cluster, job);
  EXPECT_EQ(Field(record, "JobState"), "COMPLETED") << record;
  EXPECT_EQ(Field(record, "ExitCode"), "0:0") << record;
  EXPECT_EQ(Field(record, "Partition"), cluster->partition()) << record;
}

constexpr char kAllocate300MiB[] =
    "exec python3 -c 'import time; b = bytearray(300 << 20); time.sleep(60)'";

TEST_F(SlurmClusterTest, MemoryOverTheLimitEndsTheJob) {
  // 300 MiB touched under --mem=64M.
  absl::StatusOr<std::string> submitted =
      cluster->Run({"sbatch", "--parsable", "--mem=64M", "--output=/dev/null",
                    "--wrap", kAllocate300MiB});
  ASSERT_THAT(submitted, IsOk());
  const std::string job(absl::StripAsciiWhitespace(*submitted));
  const std::string record = FinishedJob(*cluster, job);
  if (cluster->memory_confinement() == "task/cgroup") {
    // The cgroup's OOM killer; Slurm reports it as such.
    EXPECT_EQ(Field(record, "JobState"), "OUT_OF_MEMORY") << record;
    EXPECT_EQ(Field(record, "ExitCode"), "0:125") << record;
  } else {
    // OverMemoryKill's SIGKILL (sampled every second): a plain failure.
    EXPECT_EQ(Field(record, "JobState"), "FAILED") << record;
    EXPECT_EQ(Field(record, "ExitCode"), "0:9") << record;
  }
}

TEST_F(SlurmClusterTest, JobsWithoutAMemoryRequestRunSideBySide) {
  std::vector<std::string> jobs;
  jobs.reserve(2);
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<std::string> id = cluster->Run(
        {"sbatch", "--parsable", "--output=/dev/null", "--wrap", "sleep 300"});
    ASSERT_THAT(id, IsOk());
    jobs.emplace_back(absl::StripAsciiWhitespace(*id));
  }
  std::string states;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (states != "RUNNING\nRUNNING\n" && absl::Now() < deadline) {
    absl::StatusOr<std::string> out = cluster->Run(
        {"squeue", "-h", "-j", jobs[0] + "," + jobs[1], "-o", "%T"});
    states = out.ok() ? *out : std::string(out.status().message());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(states, "RUNNING\nRUNNING\n");
  EXPECT_THAT(cluster->Run({"scancel", jobs[0], jobs[1]}), IsOk());
  absl::StatusOr<std::vector<std::string>> queued = cluster->QueuedJobs();
  while (queued.ok() && !queued->empty() && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    queued = cluster->QueuedJobs();
  }
}

TEST(SlurmClusterStartTest, RejectsBadOptionsBeforeStartingAnything) {
  StartOptions options;
  options.cpus = 0;
  EXPECT_THAT(SlurmCluster::Start(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cpus")));
  options = StartOptions();
  options.partition = "has space";
  EXPECT_THAT(
      SlurmCluster::Start(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has space")));
}

class SlurmClusterLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::optional<std::string> why = SlurmCluster::WhyUnavailable()) {
      GTEST_SKIP() << *why;
    }
  }
};

TEST_F(SlurmClusterLifecycleTest, TwoClustersRunAtOnceApart) {
  absl::StatusOr<std::unique_ptr<SlurmCluster>> a = SlurmCluster::Start({});
  ASSERT_THAT(a, IsOk());
  absl::StatusOr<std::unique_ptr<SlurmCluster>> b = SlurmCluster::Start({});
  ASSERT_THAT(b, IsOk());
  SlurmCluster& first = **a;
  SlurmCluster& second = **b;
  EXPECT_NE(first.node_name(), second.node_name());
  EXPECT_NE(first.dir(), second.dir());
  // A job held running on the first is not in the second's queue.
  absl::StatusOr<std::string> held = first.Run(
      {"sbatch", "--parsable", "--output=/dev/null", "--wrap", "sleep 300"});
  ASSERT_THAT(held, IsOk());
  const std::string job(absl::StripAsciiWhitespace(*held));
  EXPECT_THAT(first.QueuedJobs(), IsOkAndHolds(::testing::ElementsAre(job)));
  EXPECT_THAT(second.QueuedJobs(), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(second.Run({"srun", "echo", "two"}), IsOkAndHolds("two\n"));
  EXPECT_THAT(second.Run({"sinfo", "-h", "-o", "%N"}),
              IsOkAndHolds(second.node_name() + "\n"));
  EXPECT_THAT(second.Stop(), IsOk());
  // Stopping the second left the first's job alone.
  EXPECT_THAT(first.QueuedJobs(), IsOkAndHolds(::testing::ElementsAre(job)));
  EXPECT_THAT(first.Stop(), IsOk());
}

TEST_F(SlurmClusterLifecycleTest, StopLeavesNoProcessCgroupOrDirectory) {
  absl::StatusOr<std::unique_ptr<SlurmCluster>> started =
      SlurmCluster::Start({});
  ASSERT_THAT(started, IsOk());
  SlurmCluster& cluster = **started;
  const std::string conf = cluster.conf_path();
  const std::string dir = cluster.dir();
  const std::string node = cluster.node_name();
  absl::StatusOr<std::string> held = cluster.Run(
      {"sbatch", "--parsable", "--output=/dev/null", "--wrap", "sleep 300"});
  ASSERT_THAT(held, IsOk());
  const std::string job(absl::StripAsciiWhitespace(*held));
  // The job's processes (the batch shell and its sleep, as slurmd lists
  // them) run before Stop.
  std::vector<int> pids;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (pids.size() < 2 && absl::Now() < deadline) {
    absl::StatusOr<std::string> listed =
        cluster.Run({"scontrol", "listpids", job});
    pids.clear();
    for (absl::string_view row :
         absl::StrSplit(listed.ok() ? *listed : "", '\n', absl::SkipEmpty())) {
      int pid = 0;
      if (absl::SimpleAtoi(row.substr(0, row.find(' ')), &pid)) {
        pids.push_back(pid);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GE(pids.size(), 2u) << "job " << job << " never ran";
  EXPECT_THAT(ProcessesOf(conf), Not(IsEmpty()));
  if (cluster.memory_confinement() == "task/cgroup") {
    EXPECT_THAT(CgroupsOf(node), Not(IsEmpty()));
  }

  EXPECT_THAT(cluster.Stop(), IsOk());
  EXPECT_THAT(ProcessesOf(conf), IsEmpty());
  EXPECT_THAT(CgroupsOf(node), IsEmpty());
  for (int pid : pids) {
    EXPECT_FALSE(ProcessRunning(pid)) << "job process " << pid << " is left";
  }
  struct stat st;
  EXPECT_NE(stat(dir.c_str(), &st), 0) << dir << " is left";
  EXPECT_THAT(cluster.Stop(), IsOk());  // idempotent
}

TEST_F(SlurmClusterLifecycleTest, BadConfigLineFailsNamingTheLog) {
  StartOptions options;
  options.extra_config = {"NoSuchParameter=1"};
  absl::StatusOr<std::unique_ptr<SlurmCluster>> started =
      SlurmCluster::Start(options);
  EXPECT_THAT(started, StatusIs(absl::StatusCode::kUnavailable,
                                AllOf(HasSubstr("start slurmctld"),
                                      HasSubstr("slurmctld.out"),
                                      HasSubstr("NoSuchParameter"))));
}

TEST_F(SlurmClusterLifecycleTest, FallbackWithoutCgroupsRunsJobs) {
  StartOptions options;
  options.confinement = Confinement::kNone;
  absl::StatusOr<std::unique_ptr<SlurmCluster>> started =
      SlurmCluster::Start(options);
  ASSERT_THAT(started, IsOk());
  SlurmCluster& cluster = **started;
  EXPECT_EQ(cluster.memory_confinement(), "");
  EXPECT_THAT(cluster.memory_confinement_detail(), HasSubstr("kNone"));
  EXPECT_THAT(cluster.Run({"scontrol", "show", "config"}),
              IsOkAndHolds(AllOf(HasSubstr("proctrack/linuxproc"),
                                 HasSubstr("OverMemoryKill"))));
  EXPECT_THAT(cluster.Run({"srun", "echo", "fallback"}),
              IsOkAndHolds("fallback\n"));
  const std::string node = cluster.node_name();
  EXPECT_THAT(cluster.Stop(), IsOk());
  EXPECT_THAT(CgroupsOf(node), IsEmpty());
}

// The cgroup plugin this host does not have: slurmd cannot start with it.
std::string WrongCgroupPlugin() {
  return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0
             ? "CgroupPlugin=cgroup/v1"
             : "CgroupPlugin=cgroup/v2";
}

TEST_F(SlurmClusterLifecycleTest, FallsBackWhenSlurmdRejectsTaskCgroup) {
  if (const char* forced = std::getenv("PROCSANDBOX_SLURM_CONFINEMENT")) {
    GTEST_SKIP() << "PROCSANDBOX_SLURM_CONFINEMENT=" << forced
                 << " decides instead of slurmd";
  }
  StartOptions options;
  options.extra_cgroup_config = {WrongCgroupPlugin()};
  absl::StatusOr<std::unique_ptr<SlurmCluster>> started =
      SlurmCluster::Start(options);
  ASSERT_THAT(started, IsOk());
  EXPECT_EQ((*started)->memory_confinement(), "");
  EXPECT_THAT((*started)->memory_confinement_detail(),
              AllOf(HasSubstr("task/cgroup failed"), HasSubstr("slurmd")));
  EXPECT_THAT((*started)->Run({"srun", "echo", "fallback"}),
              IsOkAndHolds("fallback\n"));
  EXPECT_THAT((*started)->Stop(), IsOk());
}

TEST_F(SlurmClusterLifecycleTest, CgroupOnlyFailsNamingSlurmdsLog) {
  StartOptions options;
  options.confinement = Confinement::kCgroup;
  options.extra_cgroup_config = {WrongCgroupPlugin()};
  EXPECT_THAT(
      SlurmCluster::Start(options),
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr("start slurmd"), HasSubstr("slurmd.log"))));
}

}  // namespace
}  // namespace procsandbox::slurm_testing
