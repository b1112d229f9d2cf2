// `procsandbox run --backend slurm` and `doctor --backend slurm` against a
// real one-node cluster (tests/slurm/slurm_cluster.h), started once for
// the suite; skipped where none can start (not root, Slurm not installed).
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli_fixture.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "slurm/slurm_cluster.h"

namespace procsandbox_cli_test {
namespace {

using ::procsandbox::slurm_testing::SlurmCluster;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The suite's cluster, or why there is none.
struct SuiteCluster {
  SlurmCluster* cluster = nullptr;
  std::string why_not;      // no root, no Slurm: a skip
  std::string start_error;  // it did not start: a failure
};

SuiteCluster& Suite() {
  static auto* const kSuite = new SuiteCluster;
  return *kSuite;
}

class CliSlurmClusterTest : public CliTest {
 protected:
  static void SetUpTestSuite() {
    if (std::optional<std::string> why = SlurmCluster::WhyUnavailable()) {
      Suite().why_not = *why;
      return;
    }
    absl::StatusOr<std::unique_ptr<SlurmCluster>> started =
        SlurmCluster::Start({});
    if (!started.ok()) {
      // Root and Slurm are here: a cluster that does not start is a failure.
      Suite().start_error = started.status().ToString();
      return;
    }
    Suite().cluster = started->release();
  }
  static void TearDownTestSuite() {
    if (Suite().cluster != nullptr) {
      EXPECT_TRUE(Suite().cluster->Stop().ok());
      delete Suite().cluster;
      Suite().cluster = nullptr;
    }
  }

  void SetUp() override {
    if (!Suite().start_error.empty()) {
      GTEST_FAIL() << "the cluster did not start: " << Suite().start_error;
    }
    if (Suite().cluster == nullptr) GTEST_SKIP() << Suite().why_not;
    CliTest::SetUp();
  }
  void TearDown() override {
    if (Suite().cluster == nullptr) return;
    // Every job the tool started has left the queue.
    absl::StatusOr<std::vector<std::string>> queued =
        Suite().cluster->QueuedJobs();
    ASSERT_TRUE(queued.ok()) << queued.status();
    EXPECT_THAT(*queued, IsEmpty());
    CliTest::TearDown();
  }

  // `run --backend slurm` on the cluster with `options`, then the program.
  ToolRun RunJob(std::vector<std::string> options,
                 const std::vector<std::string>& program) {
    std::vector<std::string> args = {"run",          "--backend", "slurm",
                                     "--slurm-conf", conf(),      "--result",
                                     Path("r.json"), "--quiet"};
    args.insert(args.end(), options.begin(), options.end());
    args.emplace_back("--");
    args.insert(args.end(), program.begin(), program.end());
    return Run(args);
  }
  // The --result file; a discarded value when there is none.
  json Result() const {
    return json::parse(ReadFile(Path("r.json")), nullptr,
                       /*allow_exceptions=*/false);
  }

  static std::string conf() { return Suite().cluster->conf_path(); }
};

TEST_F(CliSlurmClusterTest, DoctorReportsTheCluster) {
  const ToolRun r =
      Run({"doctor", "--backend", "slurm", "--slurm-conf", conf(),
           "--partition", Suite().cluster->partition(), "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  const json doctor = r.Json();
  EXPECT_EQ(doctor["backend"], "slurm");
  EXPECT_EQ(doctor["features"]["cluster"]["available"], true) << r.out;
  for (const char* feature : {"accounting", "suspend"}) {
    EXPECT_TRUE(doctor["features"][feature]["available"].is_boolean())
        << feature;
  }
  EXPECT_EQ(doctor["limits"]["memory_bytes"]["mechanism"], "slurm") << r.out;

  const ToolRun text =
      Run({"doctor", "--backend", "slurm", "--slurm-conf", conf()});
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("backend: slurm\n"));
  EXPECT_THAT(text.out, ::testing::ContainsRegex("\n  cluster +yes "));
}

TEST_F(CliSlurmClusterTest, RunsTheProgramAsAJobWithTheSlurmFlags) {
  const ToolRun r = RunJob(
      {"--partition", Suite().cluster->partition(), "--cpus-per-task", "2"},
      {"/bin/sh", "-c",
       "echo \"$SLURM_JOB_PARTITION $SLURM_CPUS_PER_TASK\"; exit 3"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, absl::StrCat(Suite().cluster->partition(), " 2\n"));
  const json result = Result();
  EXPECT_EQ(result["status"], "exited");
  EXPECT_EQ(result["exit_code"], 3);
  EXPECT_TRUE(result["pid"].is_number()) << "the job id: " << result["pid"];
  EXPECT_EQ(result["error"], nullptr);
}

TEST_F(CliSlurmClusterTest, TimeoutEndsTheJobWith124) {
  const ToolRun r =
      RunJob({"--timeout", "1s", "--grace", "0s"}, {"/bin/sleep", "60"});
  EXPECT_EQ(r.status, 124) << r.err;
  const json result = Result();
  EXPECT_EQ(result["status"], "timed_out");
  EXPECT_EQ(result["limits"]["wall_time_s"], 1.0);
}

TEST_F(CliSlurmClusterTest, TermToTheToolCancelsTheJob) {
  const std::string marker = Path("running");
  const pid_t tool =
      Spawn({"run", "--backend", "slurm", "--slurm-conf", conf(), "--result",
             Path("r.json"), "--", "/bin/sh", "-c",
             absl::StrCat("touch '", marker, "'; exec /bin/sleep 60")},
            Path("out"), Path("err"));
  ASSERT_GT(tool, 0);
  // The job runs once its program made the marker (the node is this host).
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  while (access(marker.c_str(), F_OK) != 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(access(marker.c_str(), F_OK), 0) << ReadFile(Path("err"));
  ASSERT_EQ(kill(tool, SIGTERM), 0);
  EXPECT_EQ(WaitExit(tool), 128 + SIGTERM) << ReadFile(Path("err"));
  const json result = Result();
  EXPECT_EQ(result["status"], "cancelled") << result.dump();
}

TEST_F(CliSlurmClusterTest, AReaderThatGoesAwayStopsTheJobAsAPipelineWould) {
  // `procsandbox run --backend slurm -- yes | head -1`: srun ignores
  // SIGPIPE (it would read the job's output for ever, at full CPU), so the
  // tool reads it, and the job gets SIGPIPE once the reader is gone.
  int reader = -1;
  const pid_t pid =
      SpawnIntoPipe({"run", "--quiet", "--backend", "slurm", "--slurm-conf",
                     conf(), "--timeout", "60s", "--", "/usr/bin/yes"},
                    reader);
  ASSERT_GT(pid, 0);
  char first[2] = {};
  ASSERT_EQ(read(reader, first, sizeof(first)), 2);  // "y\n": it runs
  close(reader);                                     // the reader goes away
  EXPECT_EQ(WaitExit(pid), 128 + SIGPIPE);
}

TEST_F(CliSlurmClusterTest, MemoryLimitIsTheJobsAndAKillIs137) {
  if (Suite().cluster->memory_confinement().empty()) {
    GTEST_SKIP() << "jobs' memory not confined by cgroups here: "
                 << Suite().cluster->memory_confinement_detail();
  }
  const ToolRun r = RunJob({"--memory", "64M"}, {kHelper, "alloc-mb", "300"});
  EXPECT_EQ(r.status, 137) << r.err;
  const json result = Result();
  EXPECT_EQ(result["status"], "memory_exceeded") << result.dump();
  EXPECT_EQ(result["enforcement"]["memory_bytes"]["mechanism"], "slurm");
}

}  // namespace
}  // namespace procsandbox_cli_test
