// The Slurm client outputs the manager reads, parsed. The scontrol and squeue
// texts were recorded from Slurm 22.05.8 (Debian 12's slurm-wlm) on a one-node
// cluster, paths replaced by /tmp/slurm-test; some lines keep only some of
// their fields, in their order. The sacct texts follow sacct(1) (-P:
// '|'-separated, no trailing '|'), that cluster having no accounting.
#include "slurm/slurm_parse.h"

#include <csignal>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/limits.h"
#include "procsandbox/outcome.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox::slurm_internal {
namespace {

using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::Pair;

constexpr int64_t kKiB = int64_t{1} << 10;
constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

// --- Recorded outputs --------------------------------------------------------

// srun -QQ --mem=64M python3 -c "a=b'x'*(300<<20)"
constexpr absl::string_view kOutOfMemoryJob =
    "JobId=3584615 JobName=python3 UserId=root(0) GroupId=root(0) "
    "MCS_label=N/A Priority=4294901743 Nice=0 Account=(null) QOS=(null) "
    "JobState=OUT_OF_MEMORY Reason=OutOfMemory Dependency=(null) Requeue=1 "
    "Restarts=0 BatchFlag=0 Reboot=0 ExitCode=0:125 RunTime=00:00:01 "
    "TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-04T05:38:43 "
    "EligibleTime=2026-12-04T05:38:43 AccrueTime=Unknown "
    "StartTime=2026-12-04T05:38:43 EndTime=2026-12-04T05:38:44 Deadline=N/A "
    "SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T05:38:43 "
    "Scheduler=Main Partition=debug AllocNode:Sid=localhost:6188 "
    "ReqNodeList=(null) ExcNodeList=(null) NodeList=psnode BatchHost=psnode "
    "NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* "
    "TRES=cpu=1,mem=64M,node=1,billing=1 Socks/Node=* "
    "NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=64M "
    "MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK "
    "Contiguous=0 Licenses=(null) Network=(null) Command=python3 WorkDir=/tmp "
    "Power= \n";

// srun -QQ sh -c 'kill -SEGV $$'
constexpr absl::string_view kSegvJob =
    "JobId=3584616 JobName=sh UserId=root(0) GroupId=root(0) MCS_label=N/A "
    "JobState=FAILED Reason=JobLaunchFailure Dependency=(null) Requeue=1 "
    "Restarts=0 BatchFlag=0 Reboot=0 ExitCode=0:11 RunTime=00:00:00 "
    "TimeLimit=UNLIMITED TimeMin=N/A Partition=debug NodeList=psnode "
    "BatchHost=psnode NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 "
    "MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0 Command=sh "
    "WorkDir=/tmp Power= \n";

// srun -QQ sh -c 'exit 3'
constexpr absl::string_view kExit3Job =
    "JobId=3584617 JobName=sh JobState=FAILED Reason=NonZeroExitCode "
    "Dependency=(null) Requeue=1 Restarts=0 BatchFlag=0 Reboot=0 "
    "ExitCode=3:0 RunTime=00:00:00 TimeLimit=UNLIMITED NodeList=psnode "
    "NumCPUs=1 MinMemoryNode=0 Command=sh WorkDir=/tmp Power= \n";

// srun -QQ -J 'sp timeout' --time=1 sleep 300
constexpr absl::string_view kTimeoutJob =
    "JobId=3584624 JobName=sp timeout UserId=root(0) GroupId=root(0) "
    "JobState=TIMEOUT Reason=TimeLimit Dependency=(null) Requeue=1 "
    "Restarts=0 BatchFlag=0 Reboot=0 ExitCode=0:15 RunTime=00:01:04 "
    "TimeLimit=00:01:00 TimeMin=N/A Partition=debug NodeList=psnode "
    "NumCPUs=1 MinMemoryNode=0 Command=sleep WorkDir=/tmp "
    "Power= \n";

// cd '/tmp/slurm-test/work dir'; srun -QQ -J 'sp run' --mem-per-cpu=32M
// --cpus-per-task=2 --comment='a comment with spaces' --time=1-02:03:04
// sleep 100 (running).
constexpr absl::string_view kRunningJob =
    "JobId=3584619 JobName=sp run UserId=root(0) GroupId=root(0) "
    "MCS_label=N/A Priority=4294901739 Nice=0 Account=(null) QOS=(null) "
    "JobState=RUNNING Reason=None Dependency=(null) Requeue=1 Restarts=0 "
    "BatchFlag=0 Reboot=0 ExitCode=0:0 RunTime=00:00:02 TimeLimit=1-02:04:00 "
    "TimeMin=N/A SubmitTime=2026-12-04T05:38:54 "
    "EligibleTime=2026-12-04T05:38:54 AccrueTime=Unknown "
    "StartTime=2026-12-04T05:38:54 EndTime=2026-12-05T07:42:54 Deadline=N/A "
    "SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T05:38:54 "
    "Scheduler=Main Partition=debug AllocNode:Sid=localhost:6188 "
    "ReqNodeList=(null) ExcNodeList=(null) NodeList=psnode BatchHost=psnode "
    "NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=2 ReqB:S:C:T=0:0:*:* "
    "TRES=cpu=2,mem=64M,node=1,billing=2 Socks/Node=* "
    "NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=2 MinMemoryCPU=32M "
    "MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK "
    "Contiguous=0 Licenses=(null) Network=(null) Command=sleep "
    "WorkDir=/tmp/slurm-test/work dir Comment=a comment with spaces  Power= "
    "\n";

// The same job after `scancel`.
constexpr absl::string_view kCancelledJob =
    "JobId=3584619 JobName=sp run JobState=CANCELLED Reason=None "
    "Dependency=(null) Requeue=1 Restarts=0 BatchFlag=0 Reboot=0 "
    "ExitCode=0:9 RunTime=00:00:02 TimeLimit=1-02:04:00 TimeMin=N/A "
    "NodeList=psnode NumCPUs=2 MinMemoryCPU=32M Command=sleep "
    "WorkDir=/tmp/slurm-test/work dir Comment=a comment with spaces  Power= "
    "\n";

// sbatch -J 'sp pend' --begin=now+1hour '/tmp/slurm-test/work dir/job a.sh'
constexpr absl::string_view kPendingJob =
    "JobId=3584620 JobName=sp pend UserId=root(0) GroupId=root(0) "
    "MCS_label=N/A Priority=4294901737 Nice=0 Account=(null) QOS=(null) "
    "JobState=PENDING Reason=BeginTime Dependency=(null) Requeue=1 "
    "Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 RunTime=00:00:00 "
    "TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-04T05:39:05 "
    "EligibleTime=2026-12-04T06:39:05 AccrueTime=2026-12-04T06:39:05 "
    "StartTime=2026-12-04T06:39:05 EndTime=Unknown Deadline=N/A "
    "SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T05:39:05 "
    "Scheduler=Main Partition=debug AllocNode:Sid=localhost:6188 "
    "ReqNodeList=(null) ExcNodeList=(null) NodeList= NumNodes=1 NumCPUs=1 "
    "NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* "
    "TRES=cpu=1,mem=24105M,node=1,billing=1 Socks/Node=* "
    "NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 "
    "MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK "
    "Contiguous=0 Licenses=(null) Network=(null) "
    "Command=/tmp/slurm-test/work dir/job a.sh "
    "WorkDir=/tmp/slurm-test/work dir StdErr=/dev/null StdIn=/dev/null "
    "StdOut=/dev/null Power= \n";

// `scontrol show job -o 1` (stderr; exit status 1).
constexpr absl::string_view kInvalidJobId =
    "slurm_load_jobs error: Invalid job id specified\n";

// `scontrol show step -o 3584619.0` for the running job.
constexpr absl::string_view kRunningStep =
    "StepId=3584619.0 UserId=0 StartTime=2026-12-04T05:38:54 "
    "TimeLimit=UNLIMITED State=RUNNING Partition=debug NodeList=psnode "
    "Nodes=1 CPUs=2 Tasks=1 Name=sp run Network=(null) "
    "TRES=cpu=2,mem=64M,node=1 ResvPorts=(null) CPUFreqReq=Default "
    "Dist=Cyclic SrunHost:Pid=vm:26713\n";

// `squeue -h -t all -o '%i|%T|%r|%j'` after the jobs above.
constexpr absl::string_view kSqueue =
    "3584619|CANCELLED|None|sp run\n"
    "3584620|CANCELLED|BeginTime|sp pend\n"
    "3584622|CANCELLED|None|sp batch\n"
    "3584621|CANCELLED|JobHeldUser|sp held\n"
    "3584618|COMPLETED|None|sp name\n"
    "3584616|FAILED|JobLaunchFailure|sh\n"
    "3584617|FAILED|NonZeroExitCode|sh\n"
    "3584623|FAILED|JobLaunchFailure|sp term\n"
    "3584615|OUT_OF_MEMORY|OutOfMemory|python3\n"
    "3584624|RUNNING|None|sp timeout\n";

std::string ReadTestData(absl::string_view name) {
  std::ifstream in(absl::StrCat(PROCSANDBOX_TESTDATA_DIR, "/", name));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// --- Job states --------------------------------------------------------------

TEST(SlurmJobStateTest, ParsesEveryStateSqueuePrints) {
  const std::vector<std::pair<absl::string_view, JobState>> states = {
      {"BOOT_FAIL", JobState::kBootFail},
      {"CANCELLED", JobState::kCancelled},
      {"COMPLETED", JobState::kCompleted},
      {"CONFIGURING", JobState::kConfiguring},
      {"COMPLETING", JobState::kCompleting},
      {"DEADLINE", JobState::kDeadline},
      {"FAILED", JobState::kFailed},
      {"NODE_FAIL", JobState::kNodeFail},
      {"OUT_OF_MEMORY", JobState::kOutOfMemory},
      {"PENDING", JobState::kPending},
      {"PREEMPTED", JobState::kPreempted},
      {"RUNNING", JobState::kRunning},
      {"RESV_DEL_HOLD", JobState::kPending},
      {"REQUEUE_FED", JobState::kRequeued},
      {"REQUEUE_HOLD", JobState::kRequeued},
      {"REQUEUED", JobState::kRequeued},
      {"RESIZING", JobState::kResizing},
      {"REVOKED", JobState::kRevoked},
      {"SIGNALING", JobState::kRunning},
      {"SPECIAL_EXIT", JobState::kSpecialExit},
      {"STAGE_OUT", JobState::kCompleting},
      {"STOPPED", JobState::kStopped},
      {"SUSPENDED", JobState::kSuspended},
      {"TIMEOUT", JobState::kTimeout},
  };
  for (const auto& [text, state] : states) {
    EXPECT_EQ(ParseJobState(text), state) << text;
  }
}

TEST(SlurmJobStateTest, ParsesSqueueCompactCodes) {
  EXPECT_EQ(ParseJobState("OOM"), JobState::kOutOfMemory);
  EXPECT_EQ(ParseJobState("CD"), JobState::kCompleted);
  EXPECT_EQ(ParseJobState("PD"), JobState::kPending);
  EXPECT_EQ(ParseJobState("R"), JobState::kRunning);
  EXPECT_EQ(ParseJobState("TO"), JobState::kTimeout);
}

TEST(SlurmJobStateTest, ParsesSacctCancelledByAUserAndANarrowColumn) {
  EXPECT_EQ(ParseJobState("CANCELLED by 0"), JobState::kCancelled);
  EXPECT_EQ(ParseJobState("CANCELLED by 1000"), JobState::kCancelled);
  EXPECT_EQ(ParseJobState("CANCELLED+"), JobState::kCancelled);
}

TEST(SlurmJobStateTest, AnythingElseIsUnknown) {
  for (absl::string_view text :
       {"", "?", "pending", "Running", "BOGUS", " RUNNING", "RUNNINGX"}) {
    EXPECT_EQ(ParseJobState(text), JobState::kUnknown) << text;
  }
}

TEST(SlurmJobStateTest, NameParsesBackToItsState) {
  for (JobState state :
       {JobState::kPending, JobState::kConfiguring, JobState::kRunning,
        JobState::kSuspended, JobState::kCompleting, JobState::kCompleted,
        JobState::kFailed, JobState::kTimeout, JobState::kOutOfMemory,
        JobState::kCancelled, JobState::kNodeFail, JobState::kBootFail,
        JobState::kDeadline, JobState::kPreempted, JobState::kRequeued,
        JobState::kResizing, JobState::kRevoked, JobState::kSpecialExit,
        JobState::kStopped}) {
    EXPECT_EQ(ParseJobState(JobStateName(state)), state) << JobStateName(state);
  }
  EXPECT_EQ(JobStateName(JobState::kOutOfMemory), "OUT_OF_MEMORY");
  EXPECT_EQ(JobStateName(JobState::kRequeued), "REQUEUED");
  EXPECT_EQ(JobStateName(JobState::kUnknown), "UNKNOWN");
}

TEST(SlurmJobStateTest, FinalStatesAreThoseThatWillNotRunAgain) {
  for (JobState state :
       {JobState::kCompleted, JobState::kFailed, JobState::kTimeout,
        JobState::kOutOfMemory, JobState::kCancelled, JobState::kNodeFail,
        JobState::kBootFail, JobState::kDeadline, JobState::kPreempted,
        JobState::kRevoked, JobState::kSpecialExit}) {
    EXPECT_TRUE(IsFinal(state)) << JobStateName(state);
    EXPECT_FALSE(IsPending(state)) << JobStateName(state);
  }
  for (JobState state :
       {JobState::kPending, JobState::kConfiguring, JobState::kRunning,
        JobState::kSuspended, JobState::kCompleting, JobState::kRequeued,
        JobState::kResizing, JobState::kStopped, JobState::kUnknown}) {
    EXPECT_FALSE(IsFinal(state)) << JobStateName(state);
  }
  EXPECT_TRUE(IsPending(JobState::kPending));
  EXPECT_TRUE(IsPending(JobState::kConfiguring));
  EXPECT_FALSE(IsPending(JobState::kRunning));
}

// --- Durations, sizes, exit codes --------------------------------------------

TEST(SlurmDurationTest, ParsesEveryFormSlurmPrints) {
  EXPECT_THAT(
      ParseSlurmDuration("1-02:03:04"),
      IsOkAndHolds(absl::Hours(26) + absl::Minutes(3) + absl::Seconds(4)));
  EXPECT_THAT(ParseSlurmDuration("00:01:04"), IsOkAndHolds(absl::Seconds(64)));
  EXPECT_THAT(ParseSlurmDuration("00:01.234"),
              IsOkAndHolds(absl::Milliseconds(1234)));
  EXPECT_THAT(ParseSlurmDuration("12:34"),
              IsOkAndHolds(absl::Minutes(12) + absl::Seconds(34)));
  EXPECT_THAT(ParseSlurmDuration("45"), IsOkAndHolds(absl::Seconds(45)));
  EXPECT_THAT(ParseSlurmDuration("00:00.000123"),
              IsOkAndHolds(absl::Microseconds(123)));
  EXPECT_THAT(ParseSlurmDuration("0-00:00:00"),
              IsOkAndHolds(absl::ZeroDuration()));
}

TEST(SlurmDurationTest, UnlimitedIsInfinite) {
  for (absl::string_view text : {"UNLIMITED", "INFINITE", "Partition_Limit"}) {
    EXPECT_THAT(ParseSlurmDuration(text),
                IsOkAndHolds(absl::InfiniteDuration()))
        << text;
  }
}

TEST(SlurmDurationTest, RejectsOtherTextNamingIt) {
  for (absl::string_view text :
       {"", "N/A", "abc", "1:2:3:4", "1-02:03", "-1", "1-", "00:01.", "01:x",
        "1.5:00", "00:00.1234567890", "+5", " 12"}) {
    EXPECT_THAT(ParseSlurmDuration(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("\"", text, "\""))))
        << text;
  }
}

TEST(SlurmBytesTest, ParsesBinaryUnits) {
  EXPECT_THAT(ParseSlurmBytes("64M"), IsOkAndHolds(64 * kMiB));
  EXPECT_THAT(ParseSlurmBytes("1234K"), IsOkAndHolds(1234 * kKiB));
  EXPECT_THAT(ParseSlurmBytes("2G"), IsOkAndHolds(2 * kGiB));
  EXPECT_THAT(ParseSlurmBytes("1.50G"), IsOkAndHolds(3 * kGiB / 2));
  EXPECT_THAT(ParseSlurmBytes("1T"), IsOkAndHolds(1024 * kGiB));
  EXPECT_THAT(ParseSlurmBytes("0"), IsOkAndHolds(0));
  EXPECT_THAT(ParseSlurmBytes("512"), IsOkAndHolds(512));
}

TEST(SlurmBytesTest, RejectsOtherTextNamingIt) {
  for (absl::string_view text :
       {"", "M", "64X", "-64M", "64 M", "1.2.3G", "0x10", "inf", "nanK", "1e3",
        "9999999999E", "64MB"}) {
    EXPECT_THAT(ParseSlurmBytes(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("\"", text, "\""))))
        << text;
  }
}

TEST(SlurmExitCodeTest, SplitsCodeAndSignal) {
  EXPECT_THAT(ParseExitCode("3:0"), IsOkAndHolds(Pair(3, 0)));
  EXPECT_THAT(ParseExitCode("0:9"), IsOkAndHolds(Pair(0, 9)));
  EXPECT_THAT(ParseExitCode("0:125"), IsOkAndHolds(Pair(0, 125)));
}

TEST(SlurmExitCodeTest, RejectsOtherTextNamingIt) {
  for (absl::string_view text :
       {"", "3", "3:", ":0", "3:0:1", "a:b", "-1:0", "3 :0", "99999999999:0"}) {
    EXPECT_THAT(ParseExitCode(text),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr(absl::StrCat("\"", text, "\""))))
        << text;
  }
}

TEST(SlurmFormatTest, TimeLimitIsWholeMinutesRoundedUp) {
  EXPECT_EQ(FormatTimeLimit(absl::Minutes(1)), "1");
  EXPECT_EQ(FormatTimeLimit(absl::Seconds(61)), "2");
  EXPECT_EQ(FormatTimeLimit(absl::Hours(1) + absl::Milliseconds(1)), "61");
  EXPECT_EQ(FormatTimeLimit(absl::Milliseconds(10)), "1");
  EXPECT_EQ(FormatTimeLimit(absl::ZeroDuration()), "1");
  EXPECT_EQ(FormatTimeLimit(absl::InfiniteDuration()), "UNLIMITED");
}

TEST(SlurmFormatTest, MemoryIsWholeMebibytesRoundedUp) {
  EXPECT_EQ(FormatMemory(64 * kMiB), "64M");
  EXPECT_EQ(FormatMemory(64 * kMiB + 1), "65M");
  EXPECT_EQ(FormatMemory(1), "1M");
  EXPECT_EQ(FormatMemory(0), "1M");
  EXPECT_EQ(FormatMemory(2 * kGiB), "2048M");
}

// --- Key=Value records -------------------------------------------------------

TEST(SlurmOneLineRecordTest, KeepsSpacesInsideValues) {
  auto record = ParseOneLineRecord(kRunningJob);
  EXPECT_EQ(record["JobName"], "sp run");
  EXPECT_EQ(record["WorkDir"], "/tmp/slurm-test/work dir");
  EXPECT_EQ(record["Comment"], "a comment with spaces");
  EXPECT_EQ(record["Power"], "");
  EXPECT_EQ(record["TRES"], "cpu=2,mem=64M,node=1,billing=2");
  EXPECT_EQ(record["AllocNode:Sid"], "localhost:6188");
  EXPECT_EQ(record["CPUs/Task"], "2");
  EXPECT_EQ(record["NtasksPerN:B:S:C"], "0:0:*:*");
  EXPECT_EQ(record["MCS_label"], "N/A");
}

TEST(SlurmOneLineRecordTest, KeepsACommandLineWhole) {
  auto record = ParseOneLineRecord(
      "JobId=7 Command=/bin/sh -c 'a b' Reason=launch failed requeued held "
      "WorkDir=/home/a user/x");
  EXPECT_EQ(record["JobId"], "7");
  EXPECT_EQ(record["Command"], "/bin/sh -c 'a b'");
  EXPECT_EQ(record["Reason"], "launch failed requeued held");
  EXPECT_EQ(record["WorkDir"], "/home/a user/x");
  EXPECT_EQ(record.size(), 4u);
  EXPECT_EQ(ParseOneLineRecord(kPendingJob)["Command"],
            "/tmp/slurm-test/work dir/job a.sh");
}

TEST(SlurmOneLineRecordTest, ReadsAStep) {
  auto record = ParseOneLineRecord(kRunningStep);
  EXPECT_EQ(record["StepId"], "3584619.0");
  EXPECT_EQ(record["State"], "RUNNING");
  EXPECT_EQ(record["Name"], "sp run");
  EXPECT_EQ(record["SrunHost:Pid"], "vm:26713");
}

TEST(SlurmOneLineRecordTest, IgnoresTextBeforeTheFirstKey) {
  EXPECT_THAT(ParseOneLineRecord(""), IsEmpty());
  EXPECT_THAT(ParseOneLineRecord("no pairs here"), IsEmpty());
  auto record = ParseOneLineRecord("junk =x A=1 9B=2");
  EXPECT_EQ(record.size(), 1u);
  EXPECT_EQ(record["A"], "1 9B=2");
}

// --- scontrol show job -------------------------------------------------------

TEST(SlurmScontrolJobTest, ReadsAnOutOfMemoryJob) {
  absl::StatusOr<JobRecord> job = ParseScontrolJob(kOutOfMemoryJob);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->job_id, 3584615);
  EXPECT_EQ(job->state, JobState::kOutOfMemory);
  EXPECT_EQ(job->state_text, "OUT_OF_MEMORY");
  EXPECT_EQ(job->reason, "OutOfMemory");
  EXPECT_EQ(job->exit_code, 0);
  EXPECT_EQ(job->signal, 125);
  EXPECT_THAT(job->run_time, Optional(absl::Seconds(1)));
  EXPECT_THAT(job->time_limit, Optional(absl::InfiniteDuration()));
  EXPECT_THAT(job->memory_bytes, Optional(64 * kMiB));
  EXPECT_EQ(job->num_cpus, 1);
  EXPECT_EQ(job->node_list, "psnode");
  EXPECT_EQ(job->partition, "debug");
  EXPECT_EQ(job->name, "python3");
}

TEST(SlurmScontrolJobTest, ReadsExitCodesAndSignals) {
  absl::StatusOr<JobRecord> segv = ParseScontrolJob(kSegvJob);
  ASSERT_TRUE(segv.ok()) << segv.status();
  EXPECT_EQ(segv->state, JobState::kFailed);
  EXPECT_EQ(segv->reason, "JobLaunchFailure");
  EXPECT_EQ(segv->signal, SIGSEGV);
  EXPECT_EQ(segv->memory_bytes, std::nullopt);  // MinMemoryNode=0
  absl::StatusOr<JobRecord> exit3 = ParseScontrolJob(kExit3Job);
  ASSERT_TRUE(exit3.ok()) << exit3.status();
  EXPECT_EQ(exit3->exit_code, 3);
  EXPECT_EQ(exit3->signal, 0);
  EXPECT_EQ(exit3->reason, "NonZeroExitCode");
}

TEST(SlurmScontrolJobTest, ReadsATimedOutJob) {
  absl::StatusOr<JobRecord> job = ParseScontrolJob(kTimeoutJob);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kTimeout);
  EXPECT_EQ(job->reason, "TimeLimit");
  EXPECT_EQ(job->signal, SIGTERM);
  EXPECT_THAT(job->run_time, Optional(absl::Seconds(64)));
  EXPECT_THAT(job->time_limit, Optional(absl::Minutes(1)));
  EXPECT_EQ(job->name, "sp timeout");
}

TEST(SlurmScontrolJobTest, MemoryPerCpuCountsEveryCpu) {
  absl::StatusOr<JobRecord> job = ParseScontrolJob(kRunningJob);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kRunning);
  EXPECT_EQ(job->num_cpus, 2);
  EXPECT_THAT(job->memory_bytes, Optional(64 * kMiB));
  EXPECT_THAT(job->time_limit, Optional(absl::Hours(26) + absl::Minutes(4)));
  EXPECT_EQ(job->name, "sp run");
  absl::StatusOr<JobRecord> cancelled = ParseScontrolJob(kCancelledJob);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);
  EXPECT_EQ(cancelled->signal, SIGKILL);
}

TEST(SlurmScontrolJobTest, APendingJobHasNoNodes) {
  absl::StatusOr<JobRecord> job = ParseScontrolJob(kPendingJob);
  ASSERT_TRUE(job.ok()) << job.status();
  EXPECT_EQ(job->state, JobState::kPending);
  EXPECT_EQ(job->reason, "BeginTime");
  EXPECT_EQ(job->node_list, "");
  EXPECT_EQ(job->memory_bytes, std::nullopt);
}

TEST(SlurmScontrolJobTest, AJobTheControllerForgotIsNotFound) {
  EXPECT_THAT(ParseScontrolJob(kInvalidJobId),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("Invalid job id specified")));
}

TEST(SlurmScontrolJobTest, AMissingKeyIsNamed) {
  EXPECT_THAT(
      ParseScontrolJob("JobId=5 JobName=x ExitCode=0:0"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no JobState")));
  EXPECT_THAT(
      ParseScontrolJob("JobName=x JobState=RUNNING ExitCode=0:0"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no JobId")));
  EXPECT_THAT(
      ParseScontrolJob("JobId=5 JobState=RUNNING"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no ExitCode")));
  EXPECT_THAT(ParseScontrolJob(""), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("no JobId")));
}

TEST(SlurmScontrolJobTest, ABadFieldIsNamed) {
  EXPECT_THAT(ParseScontrolJob("JobId=5 JobState=FAILED ExitCode=x"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("ExitCode"), HasSubstr("\"x\""))));
  EXPECT_THAT(
      ParseScontrolJob("JobId=5 JobState=FAILED ExitCode=0:0 RunTime=soon"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("RunTime"), HasSubstr("\"soon\""))));
  EXPECT_THAT(
      ParseScontrolJob("JobId=5x JobState=FAILED ExitCode=0:0"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("\"5x\"")));
  EXPECT_THAT(
      ParseScontrolJob(
          "JobId=5 JobState=FAILED ExitCode=0:0 MinMemoryNode=lots"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("MinMemoryNode"), HasSubstr("\"lots\""))));
}

// --- squeue ------------------------------------------------------------------

TEST(SlurmSqueueTest, ReadsEveryLine) {
  absl::StatusOr<std::vector<QueueEntry>> entries = ParseSqueue(kSqueue);
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 10u);
  EXPECT_EQ((*entries)[0].job_id, 3584619);
  EXPECT_EQ((*entries)[0].state, JobState::kCancelled);
  EXPECT_EQ((*entries)[0].reason, "None");
  EXPECT_EQ((*entries)[0].name, "sp run");
  EXPECT_EQ((*entries)[3].reason, "JobHeldUser");
  EXPECT_EQ((*entries)[8].state, JobState::kOutOfMemory);
  EXPECT_EQ((*entries)[9].state, JobState::kRunning);
}

TEST(SlurmSqueueTest, ANameMayHoldABar) {
  absl::StatusOr<std::vector<QueueEntry>> entries =
      ParseSqueue("12|SUSPENDED|None|a|b\n");
  ASSERT_TRUE(entries.ok()) << entries.status();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].state, JobState::kSuspended);
  EXPECT_EQ((*entries)[0].name, "a|b");
}

TEST(SlurmSqueueTest, NoJobsIsEmpty) {
  EXPECT_THAT(ParseSqueue(""), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(ParseSqueue("\n"), IsOkAndHolds(IsEmpty()));
}

TEST(SlurmSqueueTest, ABadLineIsNamed) {
  EXPECT_THAT(ParseSqueue("12|RUNNING|None|a\n12 RUNNING\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"12 RUNNING\"")));
  EXPECT_THAT(ParseSqueue("x12|RUNNING|None|a\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"x12|RUNNING|None|a\"")));
}

// --- sacct -------------------------------------------------------------------

// A batch job with an srun step, cancelled by root.
constexpr absl::string_view kSacctCancelled =
    "3584700|CANCELLED by 0|0:15|00:01.500|00:00.250|00:00:05|\n"
    "3584700.batch|CANCELLED|0:15|00:00.010|00:00.020|00:00:05|4200K\n"
    "3584700.extern|COMPLETED|0:0|00:00:00|00:00.001|00:00:05|0\n"
    "3584700.0|CANCELLED by 0|0:15|00:01.490|00:00.229|00:00:04|215644K\n";

TEST(SlurmSacctTest, TakesTheJobLineAndThePeakOfItsSteps) {
  absl::StatusOr<AccountingRecord> record =
      ParseSacct(kSacctCancelled, 3584700);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->job_id, 3584700);
  EXPECT_EQ(record->state, JobState::kCancelled);
  EXPECT_EQ(record->exit_code, 0);
  EXPECT_EQ(record->signal, SIGTERM);
  EXPECT_EQ(record->user_time, absl::Milliseconds(1500));
  EXPECT_EQ(record->system_time, absl::Milliseconds(250));
  EXPECT_EQ(record->elapsed, absl::Seconds(5));
  EXPECT_EQ(record->peak_memory_bytes, 215644 * kKiB);
}

TEST(SlurmSacctTest, ReadsAnOutOfMemoryStepAndLongTimes) {
  constexpr absl::string_view kText =
      "3584701|OUT_OF_MEMORY|0:125|01:02:03|1-00:00:01|1-02:03:04|\n"
      "3584701.extern|COMPLETED|0:0|00:00:00|00:00:00|1-02:03:04|1.50M\n"
      "3584701.0|OUT_OF_MEMORY|0:125|01:02:03|1-00:00:01|1-02:03:04|64M\n";
  absl::StatusOr<AccountingRecord> record = ParseSacct(kText, 3584701);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->state, JobState::kOutOfMemory);
  EXPECT_EQ(record->signal, 125);
  EXPECT_EQ(record->user_time,
            absl::Hours(1) + absl::Minutes(2) + absl::Seconds(3));
  EXPECT_EQ(record->system_time, absl::Hours(24) + absl::Seconds(1));
  EXPECT_EQ(record->elapsed,
            absl::Hours(26) + absl::Minutes(3) + absl::Seconds(4));
  EXPECT_EQ(record->peak_memory_bytes, 64 * kMiB);
}

TEST(SlurmSacctTest, ReadsOnlyTheLinesOfItsJob) {
  constexpr absl::string_view kText =
      "41|COMPLETED|0:0|00:00.100|00:00.100|00:00:01|\n"
      "41.0|COMPLETED|0:0|00:00.100|00:00.100|00:00:01|9G\n"
      "42|FAILED|3:0|00:00.001|00:00.002|00:00:01|\n"
      "42.0|FAILED|3:0|00:00.001|00:00.002|00:00:01|1024K\n"
      "420.0|FAILED|3:0|00:00.001|00:00.002|00:00:01|2G\n";
  absl::StatusOr<AccountingRecord> record = ParseSacct(kText, 42);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->state, JobState::kFailed);
  EXPECT_EQ(record->exit_code, 3);
  EXPECT_EQ(record->peak_memory_bytes, kMiB);
}

TEST(SlurmSacctTest, NoJobLineIsNotFound) {
  EXPECT_THAT(ParseSacct("", 42),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("42")));
  EXPECT_THAT(ParseSacct(kSacctCancelled, 42),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("42")));
}

TEST(SlurmSacctTest, ABadFieldIsNamed) {
  EXPECT_THAT(ParseSacct("42|COMPLETED|0:0|00:00.100|00:00.100|00:00:01\n", 42),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("6 fields, expected 7")));
  EXPECT_THAT(ParseSacct("42|COMPLETED|0:0|later|00:00.100|00:00:01|\n", 42),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("UserCPU"), HasSubstr("\"later\""))));
  EXPECT_THAT(ParseSacct("42|COMPLETED|0|00:00.1|00:00.100|00:00:01|\n", 42),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("ExitCode"), HasSubstr("\"0\""))));
  EXPECT_THAT(ParseSacct("42|COMPLETED|0:0|00:00.1|00:00.100|00:00:01|\n"
                         "42.0|COMPLETED|0:0|00:00.1|00:00.100|00:00:01|12Q\n",
                         42),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("MaxRSS"), HasSubstr("\"12Q\""))));
}

// --- scontrol show config ----------------------------------------------------

TEST(SlurmConfigTextTest, ReadsBothSectionsOfTheRecordedConfig) {
  const std::string text = ReadTestData("slurm_show_config.txt");
  ASSERT_THAT(text, HasSubstr("SLURM_VERSION")) << "testdata not found";
  auto config = ParseConfigText(text);
  EXPECT_EQ(config["ClusterName"], "procsandbox");
  EXPECT_EQ(config["AuthInfo"], "socket=/tmp/slurm-test/munge/sock");
  EXPECT_EQ(config["SlurmctldHost[0]"], "vm(127.0.0.1)");
  EXPECT_EQ(config["KillWait"], "30 sec");
  EXPECT_EQ(config["ConstrainRAMSpace"], "yes");  // the cgroup section
  EXPECT_EQ(config["MinRAMSpace"], "30 MB");
  EXPECT_THAT(config, Contains(Pair("PowerPlugin", "")));
  EXPECT_FALSE(config.contains("Configuration data as of"));
  EXPECT_FALSE(config.contains("Cgroup Support Configuration:"));
}

TEST(SlurmClusterConfigTest, ReadsTheRecordedConfig) {
  absl::StatusOr<ClusterConfig> config =
      ParseClusterConfig(ReadTestData("slurm_show_config.txt"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->cluster_name, "procsandbox");
  EXPECT_EQ(config->version, "22.05.8");
  EXPECT_EQ(config->task_plugin, "task/cgroup");
  EXPECT_EQ(config->proctrack_type, "proctrack/cgroup");
  EXPECT_EQ(config->select_type_parameters, "CR_CORE_MEMORY");
  EXPECT_EQ(config->jobacct_gather_type, "jobacct_gather/cgroup");
  EXPECT_EQ(config->jobacct_gather_params, "");  // (null)
  EXPECT_EQ(config->accounting_storage_type, "accounting_storage/none");
  EXPECT_EQ(config->propagate_resource_limits, "ALL");
  EXPECT_TRUE(config->constrain_ram_space);
  EXPECT_TRUE(config->constrain_swap_space);
  EXPECT_EQ(config->kill_wait, absl::Seconds(30));
  EXPECT_EQ(config->min_job_age, absl::Seconds(300));
  EXPECT_EQ(config->over_time_limit, absl::ZeroDuration());
  EXPECT_TRUE(MemoryConfinementOf(*config).enforced);
  EXPECT_TRUE(TreeTrackingOf(*config).enforced);
  EXPECT_FALSE(HasAccounting(*config));
}

TEST(SlurmClusterConfigTest, TextWithoutClusterNameOrVersionIsNotAConfig) {
  EXPECT_THAT(ParseClusterConfig("SLURM_VERSION = 22.05.8\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no ClusterName")));
  EXPECT_THAT(ParseClusterConfig("ClusterName = c\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("no SLURM_VERSION")));
  EXPECT_THAT(ParseClusterConfig(kInvalidJobId),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SlurmClusterConfigTest, MissingKeysKeepTheirDefaults) {
  absl::StatusOr<ClusterConfig> config = ParseClusterConfig(
      "ClusterName             = c\nSLURM_VERSION           = 23.02.1\n"
      "OverTimeLimit           = UNLIMITED\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->kill_wait, absl::Seconds(30));
  EXPECT_EQ(config->min_job_age, absl::Seconds(300));
  EXPECT_EQ(config->over_time_limit, absl::InfiniteDuration());
  EXPECT_FALSE(config->constrain_ram_space);
  EXPECT_EQ(config->task_plugin, "");
}

TEST(SlurmClusterConfigTest, ABadDurationIsNamed) {
  EXPECT_THAT(
      ParseClusterConfig("ClusterName = c\nSLURM_VERSION = 22.05.8\n"
                         "KillWait = 30 fortnights\n"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("KillWait"), HasSubstr("\"30 fortnights\""))));
}

ClusterConfig ConfigWith(absl::string_view task_plugin, bool constrain_ram,
                         absl::string_view gather_params) {
  ClusterConfig config;
  config.task_plugin = std::string(task_plugin);
  config.constrain_ram_space = constrain_ram;
  config.jobacct_gather_type = "jobacct_gather/linux";
  config.jobacct_gather_params = std::string(gather_params);
  return config;
}

TEST(SlurmConfinementTest, MemoryIsConfinedByCgroupOrOverMemoryKill) {
  Confinement cgroup =
      MemoryConfinementOf(ConfigWith("task/affinity,task/cgroup", true, ""));
  EXPECT_TRUE(cgroup.enforced);
  EXPECT_THAT(cgroup.detail, HasSubstr("ConstrainRAMSpace=yes"));

  Confinement sampled = MemoryConfinementOf(
      ConfigWith("task/affinity", false, "NoShared,OverMemoryKill"));
  EXPECT_TRUE(sampled.enforced);
  EXPECT_THAT(sampled.detail, HasSubstr("OverMemoryKill (sampled)"));

  Confinement no_constrain =
      MemoryConfinementOf(ConfigWith("task/cgroup", false, ""));
  EXPECT_FALSE(no_constrain.enforced);
  EXPECT_THAT(no_constrain.detail, HasSubstr("without ConstrainRAMSpace"));

  Confinement affinity =
      MemoryConfinementOf(ConfigWith("task/affinity", false, ""));
  EXPECT_FALSE(affinity.enforced);
  EXPECT_THAT(affinity.detail, HasSubstr("task/affinity"));

  ClusterConfig no_gather =
      ConfigWith("task/affinity", false, "OverMemoryKill");
  no_gather.jobacct_gather_type = "jobacct_gather/none";
  EXPECT_FALSE(MemoryConfinementOf(no_gather).enforced);
}

TEST(SlurmConfinementTest, TreeTrackingDependsOnProctrack) {
  ClusterConfig config;
  config.proctrack_type = "proctrack/cgroup";
  EXPECT_TRUE(TreeTrackingOf(config).enforced);
  config.proctrack_type = "proctrack/linuxproc";
  EXPECT_TRUE(TreeTrackingOf(config).enforced);
  EXPECT_THAT(TreeTrackingOf(config).detail, HasSubstr("parent pid"));
  config.proctrack_type = "proctrack/pgid";
  EXPECT_FALSE(TreeTrackingOf(config).enforced);
  EXPECT_THAT(TreeTrackingOf(config).detail, HasSubstr("process group"));
  config.proctrack_type = "";
  EXPECT_FALSE(TreeTrackingOf(config).enforced);
  EXPECT_THAT(TreeTrackingOf(config).detail, HasSubstr("(none)"));
}

TEST(SlurmConfinementTest, AccountingNeedsAStorage) {
  ClusterConfig config;
  EXPECT_FALSE(HasAccounting(config));
  config.accounting_storage_type = "accounting_storage/none";
  EXPECT_FALSE(HasAccounting(config));
  config.accounting_storage_type = "accounting_storage/slurmdbd";
  EXPECT_TRUE(HasAccounting(config));
}

// --- Final states ------------------------------------------------------------

MATCHER_P3(IsFinalState, reason, exit_code, signal, "") {
  *result_listener << "reason " << ExitReasonName(arg.reason) << ", exit "
                   << arg.exit_code << ", signal " << arg.signal;
  return arg.reason == reason && arg.exit_code == exit_code &&
         arg.signal == signal;
}

FinalState Map(JobState state, int exit_code, int signal,
               HostAction action = HostAction::kNone,
               const Limits& limits = Limits()) {
  return MapFinalState(state, exit_code, signal, action, limits);
}

TEST(SlurmFinalStateTest, TheProgramsOwnEnd) {
  EXPECT_THAT(Map(JobState::kCompleted, 0, 0),
              IsFinalState(ExitReason::kExited, 0, 0));
  EXPECT_THAT(Map(JobState::kFailed, 3, 0),
              IsFinalState(ExitReason::kExited, 3, 0));
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGSEGV),
              IsFinalState(ExitReason::kSignaled, -1, SIGSEGV));
  EXPECT_THAT(Map(JobState::kSpecialExit, 4, 0),
              IsFinalState(ExitReason::kExited, 4, 0));
}

TEST(SlurmFinalStateTest, LimitSignalsCountOnlyUnderTheirLimit) {
  Limits limits;
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGXCPU, HostAction::kNone, limits),
              IsFinalState(ExitReason::kSignaled, -1, SIGXCPU));
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGXFSZ, HostAction::kNone, limits),
              IsFinalState(ExitReason::kSignaled, -1, SIGXFSZ));
  limits.cpu_time = absl::Seconds(5);
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGXCPU, HostAction::kNone, limits),
              IsFinalState(ExitReason::kCpuTimeExceeded, -1, SIGXCPU));
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGXFSZ, HostAction::kNone, limits),
              IsFinalState(ExitReason::kSignaled, -1, SIGXFSZ));
  limits.file_size_bytes = kMiB;
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGXFSZ, HostAction::kNone, limits),
              IsFinalState(ExitReason::kFileSizeExceeded, -1, SIGXFSZ));
}

TEST(SlurmFinalStateTest, TheClustersEnds) {
  EXPECT_THAT(Map(JobState::kTimeout, 0, SIGTERM),
              IsFinalState(ExitReason::kTimedOut, -1, SIGTERM));
  EXPECT_THAT(Map(JobState::kTimeout, 0, 0),
              IsFinalState(ExitReason::kTimedOut, 0, 0));
  EXPECT_THAT(Map(JobState::kDeadline, 0, SIGKILL),
              IsFinalState(ExitReason::kTimedOut, -1, SIGKILL));
  EXPECT_THAT(Map(JobState::kOutOfMemory, 0, 125),
              IsFinalState(ExitReason::kMemoryExceeded, -1, SIGKILL));
  EXPECT_THAT(Map(JobState::kCancelled, 0, SIGTERM),
              IsFinalState(ExitReason::kCancelled, -1, SIGTERM));
  EXPECT_THAT(Map(JobState::kCancelled, 0, 0),
              IsFinalState(ExitReason::kCancelled, 0, 0));
  EXPECT_THAT(Map(JobState::kNodeFail, 0, 0),
              IsFinalState(ExitReason::kNodeFailed, 0, 0));
  EXPECT_THAT(Map(JobState::kBootFail, 1, 0),
              IsFinalState(ExitReason::kNodeFailed, 1, 0));
  EXPECT_THAT(Map(JobState::kPreempted, 0, SIGTERM),
              IsFinalState(ExitReason::kPreempted, -1, SIGTERM));
  EXPECT_THAT(Map(JobState::kRevoked, 0, 0),
              IsFinalState(ExitReason::kCancelled, 0, 0));
}

TEST(SlurmFinalStateTest, TheHostsActionComesFirst) {
  // scancel --signal=TERM JOB: FAILED 0:15; the host asked for it.
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGTERM, HostAction::kCancel),
              IsFinalState(ExitReason::kCancelled, -1, SIGTERM));
  EXPECT_THAT(Map(JobState::kCompleted, 0, 0, HostAction::kCancel),
              IsFinalState(ExitReason::kCancelled, 0, 0));
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGKILL, HostAction::kDeadline),
              IsFinalState(ExitReason::kTimedOut, -1, SIGKILL));
  EXPECT_THAT(Map(JobState::kCancelled, 0, SIGTERM, HostAction::kDeadline),
              IsFinalState(ExitReason::kTimedOut, -1, SIGTERM));
  EXPECT_THAT(Map(JobState::kFailed, 2, 0, HostAction::kDeadline),
              IsFinalState(ExitReason::kTimedOut, 2, 0));
  EXPECT_THAT(Map(JobState::kOutOfMemory, 0, 125, HostAction::kCancel),
              IsFinalState(ExitReason::kCancelled, -1, SIGKILL));
  Limits limits;
  limits.cpu_time = absl::Seconds(1);
  EXPECT_THAT(Map(JobState::kFailed, 0, SIGXCPU, HostAction::kCancel, limits),
              IsFinalState(ExitReason::kCancelled, -1, SIGXCPU));
}

}  // namespace
}  // namespace procsandbox::slurm_internal
