// The Slurm manager on a real one-node cluster (tests/slurm/shared_cluster.h):
// what the conformance suite does not cover — the cluster's own limits and
// states, what Slurm shows of a job, concurrency, bad options — and that
// nothing is left queued. Waits are for the job's own signals (a line it
// prints, its end), bounded only against hangs.
#include "procsandbox/slurm_manager.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/command.h"
#include "procsandbox/manager.h"
#include "procsandbox/outcome.h"
#include "procsandbox/process.h"
#include "procsandbox/run.h"
#include "procsandbox/stdio.h"
#include "procsandbox_testing/matchers.h"
#include "slurm/shared_cluster.h"

namespace procsandbox::slurm_testing {
namespace {

using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::KilledBy;
using ::procsandbox_testing::StatusIs;
using ::procsandbox_testing::TimedOut;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
constexpr absl::Duration kLineTimeout = absl::Seconds(30);
constexpr absl::Duration kSafetyNet = absl::Seconds(120);

class SlurmManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (SharedCluster() == nullptr) {
      GTEST_SKIP() << "no Slurm cluster here: " << WhyNoCluster();
    }
    absl::StatusOr<std::unique_ptr<Manager>> manager = NewClusterManager();
    ASSERT_THAT(manager, IsOk());
    manager_ = *std::move(manager);
  }

  Manager& manager() { return *manager_; }
  SlurmCluster& cluster() { return *SharedCluster(); }

  static Command Helper(std::vector<std::string> steps) {
    Command command(kHelper, std::move(steps));
    command.limits.wall_time = kSafetyNet;
    return command;
  }

  // `scontrol show job -o ID`: one line of Key=Value.
  std::string ShowJob(Pid id) {
    absl::StatusOr<std::string> shown =
        cluster().Run({"scontrol", "show", "job", "-o", absl::StrCat(id)});
    EXPECT_THAT(shown, IsOk());
    return shown.ok() ? *shown : std::string();
  }

  std::unique_ptr<Manager> manager_;
};

// --- What the cluster enforces
// -------------------------------------------------

TEST_F(SlurmManagerTest, ReportsTheClusterInItsCapabilities) {
  const Capabilities caps = manager().capabilities();
  EXPECT_EQ(caps.backend, "slurm");
  EXPECT_TRUE(caps.Has("cluster"));
  const LimitEnforcement* memory = caps.Find(LimitKind::kMemory);
  ASSERT_NE(memory, nullptr);
  // The fixture's cluster confines memory with task/cgroup where the host's
  // cgroups allow it, and says which it did.
  if (cluster().memory_confinement() == "task/cgroup") {
    EXPECT_EQ(memory->mechanism, Mechanism::kSlurm) << *memory;
    EXPECT_THAT(memory->detail, HasSubstr("ConstrainRAMSpace"));
  }
  EXPECT_FALSE(caps.Find(LimitKind::kCpuWeight)->enforced());
  EXPECT_FALSE(caps.Find(LimitKind::kProcesses)->enforced());
}

TEST_F(SlurmManagerTest, AMemoryBombUnderItsLimitIsOutOfMemory) {
  if (cluster().memory_confinement() != "task/cgroup") {
    GTEST_SKIP() << "the cluster does not confine memory here: "
                 << cluster().memory_confinement_detail();
  }
  Command command = Helper({"alloc-mb", "512", "print", "survived"});
  command.limits.memory_bytes = int64_t{64} << 20;
  absl::StatusOr<RunResult> r = RunCommand(manager(), std::move(command));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->outcome.reason, ExitReason::kMemoryExceeded) << r->outcome;
  EXPECT_EQ(r->outcome.signal, SIGKILL);
  EXPECT_EQ(r->stdout_, "");
  // The cluster asked for whole MiB: exactly the 64 MiB asked.
  EXPECT_EQ(r->outcome.limits.memory_bytes, int64_t{64} << 20);
}

TEST_F(SlurmManagerTest, AJobPastItsWallTimeIsTimedOutAndLeavesTheQueue) {
  std::shared_ptr<Process> p =
      manager().New(Helper({"print", "ready", "sleep-forever"}));
  Limits limits;
  limits.wall_time = absl::Milliseconds(500);
  ASSERT_THAT(p->SetLimits(limits), IsOk());
  ASSERT_THAT(p->SetStdout(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->ReadLine(Stream::kStdout, kLineTimeout),
              IsOkAndHolds("ready"));
  EXPECT_THAT(p->Wait(), AllOf(TimedOut(), KilledBy(SIGTERM)));
  // The cluster's backstop is whole minutes, rounded up past the grace.
  EXPECT_THAT(ShowJob(p->Id()), HasSubstr("TimeLimit=00:01:00"));
  EXPECT_THAT(cluster().QueuedJobs(), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(SlurmManagerTest, CpuTimeAndFileSizeLimitsReachTheNodeAsRlimits) {
  Command command = Helper({"print-rlimit", "cpu", "print-rlimit", "fsize",
                            "print-rlimit", "nofile"});
  command.limits.cpu_time = absl::Seconds(7);
  command.limits.file_size_bytes = int64_t{1} << 20;
  command.limits.open_files = 100;
  absl::StatusOr<RunResult> r = RunCommand(manager(), std::move(command));
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_EQ(r->stdout_, "7\n1048576\n100\n");
}

// --- Stopping reaches the job ------------------------------------------------

TEST_F(SlurmManagerTest, TerminateReachesTheJobOnTheNode) {
  Command command = Helper({"print-pid", "sleep-forever"});
  std::shared_ptr<Process> p = manager().New(std::move(command));
  ASSERT_THAT(p->SetStdout(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->Start(), IsOk());
  absl::StatusOr<std::string> pid = p->ReadLine(Stream::kStdout, kLineTimeout);
  ASSERT_THAT(pid, IsOk());
  EXPECT_THAT(ShowJob(p->Id()), HasSubstr("JobState=RUNNING"));
  ASSERT_THAT(p->Terminate(), IsOk());
  EXPECT_THAT(p->Wait(), AllOf(Cancelled(), KilledBy(SIGTERM)));
  // The program itself is gone, not only the local srun.
  EXPECT_NE(kill(std::stoi(*pid), 0), 0);
  EXPECT_THAT(ShowJob(p->Id()), Not(HasSubstr("JobState=RUNNING")));
}

TEST_F(SlurmManagerTest, SuspendStopsTheJobAndResumeLetsItFinish) {
  // It ends once stdin is closed, whatever the machine's speed.
  std::shared_ptr<Process> p =
      manager().New(Helper({"print", "ready", "count-stdin"}));
  ASSERT_THAT(p->SetStdin(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->SetStdout(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->ReadLine(Stream::kStdout, kLineTimeout),
              IsOkAndHolds("ready"));
  ASSERT_THAT(p->Suspend(), IsOk());
  EXPECT_THAT(ShowJob(p->Id()), HasSubstr("JobState=SUSPENDED"));
  EXPECT_EQ(p->state(), ProcessState::kSuspended);
  ASSERT_THAT(p->Resume(), IsOk());
  EXPECT_THAT(ShowJob(p->Id()), HasSubstr("JobState=RUNNING"));
  ASSERT_THAT(p->CloseStdin(), IsOk());
  EXPECT_THAT(p->ReadLine(Stream::kStdout, kLineTimeout), IsOkAndHolds("0"));
  EXPECT_THAT(p->Wait(), ExitedWith(0));
}

TEST_F(SlurmManagerTest, TwentyConcurrentRunsAllEndAsTheyShould) {
  constexpr int kRuns = 20;
  std::vector<std::shared_ptr<Process>> processes;
  processes.reserve(kRuns);
  for (int i = 0; i < kRuns; ++i) {
    // Three kinds, interleaved: exits with its number, killed by a signal,
    // cancelled by the host.
    std::vector<std::string> steps;
    switch (i % 3) {
      case 0:
        steps = {"print", absl::StrCat(i), "exit", absl::StrCat(i)};
        break;
      case 1:
        steps = {"print", absl::StrCat(i), "signal", "SEGV"};
        break;
      default:
        steps = {"print", absl::StrCat(i), "sleep-forever"};
        break;
    }
    processes.push_back(manager().New(Helper(std::move(steps))));
  }
  std::vector<std::thread> starters;
  std::vector<absl::Status> started(kRuns);
  starters.reserve(kRuns);
  for (int i = 0; i < kRuns; ++i) {
    ASSERT_THAT(processes[i]->SetStdout(Stdio::Capture()), IsOk());
    starters.emplace_back([&, i] { started[i] = processes[i]->Start(); });
  }
  for (std::thread& t : starters) t.join();
  for (int i = 0; i < kRuns; ++i) ASSERT_THAT(started[i], IsOk()) << i;
  for (int i = 2; i < kRuns; i += 3) {
    // Killed once it has said it runs (its output arrives by line); the
    // bound only turns a hang into a failure.
    const absl::Time give_up = absl::Now() + kLineTimeout;
    while (processes[i]->Captured().stdout_.empty() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_FALSE(processes[i]->Captured().stdout_.empty()) << i;
    ASSERT_THAT(processes[i]->Kill(), IsOk());
  }
  for (int i = 0; i < kRuns; ++i) {
    absl::StatusOr<Outcome> outcome = processes[i]->Wait();
    switch (i % 3) {
      case 0:
        EXPECT_THAT(outcome, ExitedWith(i)) << i;
        break;
      case 1:
        EXPECT_THAT(outcome, KilledBy(SIGSEGV)) << i;
        break;
      default:
        EXPECT_THAT(outcome, AllOf(Cancelled(), KilledBy(SIGKILL))) << i;
        break;
    }
    EXPECT_EQ(processes[i]->Captured().stdout_, absl::StrCat(i, "\n")) << i;
  }
  EXPECT_THAT(cluster().QueuedJobs(), IsOkAndHolds(::testing::IsEmpty()));
}

// --- What Slurm shows of a job
// --------------------------------------------------

TEST_F(SlurmManagerTest, IdIsTheJobIdAndSecretsStayOffCommandLines) {
  Command command = Helper({"print", "ready", "sleep-forever"});
  ASSERT_THAT(command.env.SetSecret("API_TOKEN", "s3cr3t-value"), IsOk());
  std::shared_ptr<Process> p = manager().New(std::move(command));
  ASSERT_THAT(p->SetStdout(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->ReadLine(Stream::kStdout, kLineTimeout),
              IsOkAndHolds("ready"));
  const std::string shown = ShowJob(p->Id());
  EXPECT_THAT(shown, HasSubstr(absl::StrCat("JobId=", p->Id(), " ")));
  EXPECT_THAT(shown, Not(HasSubstr("s3cr3t-value")));
  // No process's command line on this host shows it either.
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    const std::string cmdline(std::istreambuf_iterator<char>(in), {});
    EXPECT_THAT(cmdline, Not(HasSubstr("s3cr3t-value"))) << entry.path();
  }
  ASSERT_THAT(p->Kill(), IsOk());
  EXPECT_THAT(p->Wait(), Cancelled());
}

TEST_F(SlurmManagerTest, VerifyReadsTheJobsMemoryBackFromTheController) {
  Command command = Helper({"print", "ready", "sleep-forever"});
  command.limits.memory_bytes = int64_t{200} << 20;
  std::shared_ptr<Process> p = manager().New(std::move(command));
  ASSERT_THAT(p->SetStdout(Stdio::Pipe()), IsOk());
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->ReadLine(Stream::kStdout, kLineTimeout),
              IsOkAndHolds("ready"));
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v, IsOk());
  const VerificationCheck* memory = v->Find(LimitKind::kMemory);
  ASSERT_NE(memory, nullptr);
  if (cluster().memory_confinement() == "task/cgroup") {
    EXPECT_EQ(memory->result, CheckResult::kMatch) << *memory;
    EXPECT_EQ(memory->found, "200 MiB");
  }
  ASSERT_THAT(p->Kill(), IsOk());
  EXPECT_THAT(p->Wait(), Cancelled());
}

// --- Bad options and refusals
// --------------------------------------------------

TEST_F(SlurmManagerTest, AJobTheControllerRefusesFailsStartWithItsReason) {
  SlurmOptions options;
  options.partition = "no_such_partition";
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewClusterManager(options);
  ASSERT_THAT(manager, IsOk());
  std::shared_ptr<Process> p = (*manager)->New(Helper({"exit", "0"}));
  EXPECT_THAT(p->Start(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                   AllOf(HasSubstr("Slurm refused the job"),
                                         HasSubstr("nvalid partition"))));
  EXPECT_EQ(p->state(), ProcessState::kNew);
}

TEST_F(SlurmManagerTest, AJobPendingPastTheStartTimeoutIsCancelled) {
  SlurmOptions options;
  // More CPUs than the node has free while another job holds them all.
  options.start_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<Manager>> waiting = NewClusterManager(options);
  ASSERT_THAT(waiting, IsOk());
  SlurmOptions all_cpus;
  all_cpus.cpus_per_task = StartOptions().cpus;
  absl::StatusOr<std::unique_ptr<Manager>> holding =
      NewClusterManager(all_cpus);
  ASSERT_THAT(holding, IsOk());
  std::shared_ptr<Process> holder =
      (*holding)->New(Helper({"print", "ready", "sleep-forever"}));
  ASSERT_THAT(holder->SetStdout(Stdio::Pipe()), IsOk());
  ASSERT_THAT(holder->Start(), IsOk());
  ASSERT_THAT(holder->ReadLine(Stream::kStdout, kLineTimeout),
              IsOkAndHolds("ready"));
  std::shared_ptr<Process> p = (*waiting)->New(Helper({"exit", "0"}));
  EXPECT_THAT(p->Start(), StatusIs(absl::StatusCode::kDeadlineExceeded,
                                   AllOf(HasSubstr("still pending after 2s"),
                                         HasSubstr("Resources"))));
  ASSERT_THAT(holder->Kill(), IsOk());
  EXPECT_THAT(holder->Wait(), Cancelled());
  EXPECT_THAT(cluster().QueuedJobs(), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(SlurmManagerTest, RefusesOptionsItSetsItselfAndBadNames) {
  SlurmOptions options;
  options.srun_args = {"--mem=1G"};
  EXPECT_THAT(NewClusterManager(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("--mem=1G is an option the Slurm manager "
                                 "sets itself")));
  options.srun_args = {"-pdebug"};
  EXPECT_THAT(
      NewClusterManager(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("-pdebug")));
  options.srun_args = {"--constraint", "x"};
  EXPECT_THAT(NewClusterManager(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"x\" is not an option")));
  options = SlurmOptions();
  options.job_name = "two words";
  EXPECT_THAT(
      NewClusterManager(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("job_name")));
  options = SlurmOptions();
  options.cpus_per_task = 0;
  EXPECT_THAT(
      NewClusterManager(options),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cpus_per_task")));
}

TEST_F(SlurmManagerTest, RefusesVariablesThatWouldConfigureSrun) {
  Command command = Helper({"exit", "0"});
  ASSERT_THAT(command.env.Set("SLURM_MEM_PER_NODE", "1"), IsOk());
  std::shared_ptr<Process> p = manager().New(std::move(command));
  EXPECT_THAT(p->Start(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("SLURM_MEM_PER_NODE")));
}

TEST_F(SlurmManagerTest, StrictModeRefusesALimitTheClusterCannotEnforce) {
  SlurmOptions options;
  options.strict = true;
  absl::StatusOr<std::unique_ptr<Manager>> strict = NewClusterManager(options);
  ASSERT_THAT(strict, IsOk());
  Command command = Helper({"exit", "0"});
  command.limits.cpu_weight = 100;
  EXPECT_THAT((*strict)->New(std::move(command))->Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cpu_weight cannot be enforced")));
}

TEST(SlurmManagerWithoutClusterTest, AnUnreadableConfigurationIsNamed) {
  SlurmOptions options;
  options.slurm_conf = "/nonexistent/slurm.conf";
  absl::StatusOr<std::unique_ptr<Manager>> manager = NewSlurmManager(options);
  if (absl::IsFailedPrecondition(manager.status()) &&
      absl::StrContains(manager.status().message(), "no srun")) {
    GTEST_SKIP() << "Slurm's client commands are not installed here";
  }
  EXPECT_THAT(
      manager,
      StatusIs(absl::StatusCode::kFailedPrecondition,
               HasSubstr("\"/nonexistent/slurm.conf\" cannot be read")));
}

TEST_F(SlurmManagerTest, AClusterThatDoesNotAnswerIsAClearError) {
  // A configuration naming a controller on a port nobody listens on.
  std::ifstream in(cluster().conf_path());
  std::string conf((std::istreambuf_iterator<char>(in)), {});
  const std::string port = "SlurmctldPort=";
  const std::size_t at = conf.find(port);
  ASSERT_NE(at, std::string::npos);
  conf.replace(at, conf.find('\n', at) - at, port + "1");
  const std::string path = cluster().dir() + "/silent.conf";
  {
    std::ofstream out(path);
    out << conf;
  }
  SlurmOptions options;
  options.slurm_conf = path;
  EXPECT_THAT(NewSlurmManager(options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no controller answered")));
  std::filesystem::remove(path);
}

TEST(SlurmManagerWithoutClusterTest, MissingToolsAreNamed) {
  SlurmOptions options;
  options.slurm_bin_dir = "/nonexistent";
  EXPECT_THAT(NewSlurmManager(options),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no srun in \"/nonexistent\"")));
}

}  // namespace
}  // namespace procsandbox::slurm_testing
