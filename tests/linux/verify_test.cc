// Process::Verify() of the Linux OS manager, for real: what it reads back
// of a running process, and what it says once a limit is broken from
// outside (a group's limit raised, an rlimit raised with prlimit(2), the
// process moved to another group). The v2 paths over a fake cgroupfs tree.
#include "linux/verify.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cgroup_inspection.h"
#include "common/verify_checks.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  out.flush();
  return static_cast<bool>(out);
}

// Starts `cmd` with its stdout a pipe and waits for its "ready" line.
std::shared_ptr<Process> StartReady(Manager& manager, Command cmd) {
  cmd.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> p = manager.New(std::move(cmd));
  EXPECT_THAT(p->Start(), IsOk());
  absl::StatusOr<std::string> line =
      p->ReadLine(Stream::kStdout, absl::Seconds(30));
  EXPECT_THAT(line, IsOk());
  if (line.ok()) {
    EXPECT_EQ(*line, "ready");
  }
  return p;
}

Command Ready(Limits limits) {
  Command cmd(kHelper, {"print", "ready", "sleep-forever"});
  cmd.limits = limits;
  return cmd;
}

// Ends `p` and waits for it.
void End(Process& p) {
  EXPECT_THAT(p.Kill(), IsOk());
  EXPECT_THAT(p.Wait(), IsOk());
}

class VerifyTest : public CgroupManagerFixture {};

TEST_F(VerifyTest, ARunningProcessUnderLimitsAndIsolationVerifies) {
  Limits limits;
  limits.wall_time = absl::Seconds(600);
  limits.memory_bytes = int64_t{64} << 20;
  limits.processes = 32;
  limits.file_size_bytes = int64_t{1} << 20;
  limits.open_files = 64;
  limits.cpu_weight = 250;
  Command cmd = Ready(limits);
  cmd.isolation.drop_capabilities = true;
  cmd.isolation.namespaces.net = true;
  cmd.isolation.namespaces.ipc = true;
  std::shared_ptr<Process> p = StartReady(*manager_, cmd);
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->ok()) << *v;
  EXPECT_THAT(v->mismatches(), IsEmpty());
  const std::string proc = absl::StrCat("/proc/", p->Id());
  const Enforcement e = p->enforcement();
  auto expect_source = [&](LimitKind kind, const std::string& cgroup_file,
                           const std::string& rlimit_line) {
    const VerificationCheck* c = v->Find(kind);
    ASSERT_NE(c, nullptr) << LimitKindName(kind);
    const LimitEnforcement* how = e.Find(kind);
    ASSERT_NE(how, nullptr);
    if (how->mechanism == Mechanism::kNone) {
      EXPECT_EQ(c->result, CheckResult::kNotEnforced) << *c;
      return;
    }
    EXPECT_EQ(c->result, CheckResult::kMatch) << *c;
    if (how->mechanism == Mechanism::kRlimit) {
      EXPECT_EQ(c->source, absl::StrCat(proc, "/limits (", rlimit_line, ")"));
    } else {
      EXPECT_THAT(c->source, EndsWith(cgroup_file)) << *c;
    }
  };
  expect_source(LimitKind::kMemory,
                CarriedByCgroup(LimitKind::kMemory, Mechanism::kCgroupV2)
                    ? "/memory.max"
                    : "/memory.limit_in_bytes",
                "Max address space");
  expect_source(LimitKind::kProcesses, "/pids.max", "Max processes");
  expect_source(LimitKind::kCpuWeight,
                CarriedByCgroup(LimitKind::kCpuWeight, Mechanism::kCgroupV2)
                    ? "/cpu.weight"
                    : "/cpu.shares",
                "");
  expect_source(LimitKind::kFileSize, "", "Max file size");
  expect_source(LimitKind::kOpenFiles, "", "Max open files");
  const VerificationCheck* wall = v->Find(LimitKind::kWallTime);
  ASSERT_NE(wall, nullptr);
  EXPECT_EQ(wall->result, CheckResult::kUnverified);
  EXPECT_THAT(wall->detail, HasSubstr("held by the library"));
  // One membership check per hierarchy its group has a directory in.
  const VerificationCheck* cgroup = v->Find("cgroup");
  ASSERT_NE(cgroup, nullptr);
  EXPECT_EQ(cgroup->result, CheckResult::kMatch) << *cgroup;
  EXPECT_THAT(cgroup->source, StartsWith(proc + "/cgroup ("));
  EXPECT_EQ(cgroup->found, cgroup->asked);
  for (IsolationKind kind :
       {IsolationKind::kNoNewPrivs, IsolationKind::kCapabilities,
        IsolationKind::kNetNamespace, IsolationKind::kIpcNamespace}) {
    const VerificationCheck* c = v->Find(kind);
    ASSERT_NE(c, nullptr) << IsolationKindName(kind);
    const IsolationEnforcement* how = e.Find(kind);
    ASSERT_NE(how, nullptr);
    EXPECT_EQ(c->result,
              how->enforced ? CheckResult::kMatch : CheckResult::kNotEnforced)
        << *c;
  }
  EXPECT_EQ(v->Find(IsolationKind::kCapabilities)->found, "all dropped");
  EXPECT_EQ(v->Find(IsolationKind::kNetNamespace)->source, proc + "/ns/net");
  End(*p);
}

TEST_F(VerifyTest, AMemoryLimitRaisedFromOutsideIsAMismatch) {
  if (!CarriedByCgroup(LimitKind::kMemory)) {
    GTEST_SKIP() << "no cgroup carries memory here";
  }
  Limits limits;
  limits.memory_bytes = int64_t{64} << 20;
  std::shared_ptr<Process> p = StartReady(*manager_, Ready(limits));
  absl::StatusOr<Verification> before = p->Verify();
  ASSERT_THAT(before, IsOk());
  const VerificationCheck* c = before->Find(LimitKind::kMemory);
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->result, CheckResult::kMatch) << *c;
  // Found is written as asked is, not as the file's raw bytes.
  EXPECT_EQ(c->found, c->asked);
  EXPECT_EQ(c->found, "64 MiB");
  const std::string file = c->source;
  const std::string raised = std::to_string(int64_t{128} << 20);
  // v1 wants memory + swap >= memory at every step: that one first.
  if (absl::EndsWith(file, "/memory.limit_in_bytes")) {
    const std::string memsw =
        file.substr(0, file.rfind('/')) + "/memory.memsw.limit_in_bytes";
    if (access(memsw.c_str(), F_OK) == 0) {
      ASSERT_TRUE(WriteText(memsw, raised));
    }
  }
  ASSERT_TRUE(WriteText(file, raised)) << file;
  absl::StatusOr<Verification> after = p->Verify();
  ASSERT_THAT(after, IsOk());
  EXPECT_FALSE(after->ok());
  const std::vector<VerificationCheck> bad = after->mismatches();
  ASSERT_EQ(bad.size(), 1u) << *after;
  const VerificationCheck& m = bad[0];
  EXPECT_EQ(m.limit, LimitKind::kMemory);
  EXPECT_EQ(m.asked, "64 MiB");
  EXPECT_EQ(m.found, "128 MiB");
  EXPECT_EQ(m.source, file);
  EXPECT_THAT(ToString(*after), HasSubstr("MISMATCH: memory_bytes"));
  End(*p);
}

TEST_F(VerifyTest, AMemoryLimitTheKernelRoundedToAPageIsAMatch) {
  if (!CarriedByCgroup(LimitKind::kMemory)) {
    GTEST_SKIP() << "no cgroup carries memory here";
  }
  Limits limits;
  limits.memory_bytes = (int64_t{64} << 20) + 100;
  std::shared_ptr<Process> p = StartReady(*manager_, Ready(limits));
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v, IsOk());
  const VerificationCheck* c = v->Find(LimitKind::kMemory);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->result, CheckResult::kMatch) << *c;
  EXPECT_EQ(c->detail, "") << *c;
  End(*p);
}

TEST_F(VerifyTest, AnOpenFilesLimitRaisedWithPrlimitIsAMismatch) {
  Limits limits;
  limits.open_files = 64;
  std::shared_ptr<Process> p = StartReady(*manager_, Ready(limits));
  absl::StatusOr<Verification> before = p->Verify();
  ASSERT_THAT(before, IsOk());
  ASSERT_TRUE(before->ok()) << *before;
  EXPECT_EQ(before->Find(LimitKind::kOpenFiles)->found, "soft 64, hard 64");
  // Raising a hard limit takes CAP_SYS_RESOURCE (this host may lack it;
  // RaisedSoftCpuLimitIsAMismatch breaks an rlimit without it).
  const rlimit raised = {64, 4096};
  if (prlimit(static_cast<pid_t>(p->Id()), RLIMIT_NOFILE, &raised, nullptr) !=
      0) {
    const int err = errno;
    End(*p);
    if (err == EPERM)
      GTEST_SKIP() << "raising a hard rlimit needs CAP_SYS_RESOURCE";
    FAIL() << "prlimit: " << strerror(err);
  }
  absl::StatusOr<Verification> after = p->Verify();
  ASSERT_THAT(after, IsOk());
  const VerificationCheck* c = after->Find(LimitKind::kOpenFiles);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->result, CheckResult::kMismatch) << *c;
  EXPECT_EQ(c->asked, "64");
  EXPECT_EQ(c->found, "soft 64, hard 4096");
  EXPECT_EQ(c->source,
            absl::StrCat("/proc/", p->Id(), "/limits (Max open files)"));
  End(*p);
}

TEST_F(VerifyTest, AProcessMovedToAnotherGroupIsAMismatch) {
  if (!CarriedByCgroup(LimitKind::kProcesses)) {
    GTEST_SKIP() << "no cgroup carries processes here";
  }
  Limits limits;
  limits.processes = 16;
  std::shared_ptr<Process> p = StartReady(*manager_, Ready(limits));
  absl::StatusOr<Verification> before = p->Verify();
  ASSERT_THAT(before, IsOk());
  ASSERT_TRUE(before->ok()) << *before;
  // A group of the test's own, beside the manager's directory.
  const std::string pids_file = before->Find(LimitKind::kProcesses)->source;
  const std::string leaf = pids_file.substr(0, pids_file.rfind('/'));
  const std::string manager_dir = leaf.substr(0, leaf.rfind('/'));
  const std::string parent = manager_dir.substr(0, manager_dir.rfind('/'));
  const std::string elsewhere = absl::StrCat(parent, "/verify-test-", getpid());
  ASSERT_EQ(mkdir(elsewhere.c_str(), 0755), 0) << strerror(errno);
  ASSERT_TRUE(WriteText(elsewhere + "/cgroup.procs", std::to_string(p->Id())));
  absl::StatusOr<Verification> after = p->Verify();
  ASSERT_THAT(after, IsOk());
  bool flagged = false;
  for (const VerificationCheck& c : after->mismatches()) {
    if (c.item != "cgroup") continue;
    flagged = true;
    EXPECT_EQ(c.asked, leaf);
    EXPECT_EQ(c.found, elsewhere);
    EXPECT_THAT(c.detail, HasSubstr("moved out of its group"));
  }
  EXPECT_TRUE(flagged) << *after;
  End(*p);
  EXPECT_EQ(rmdir(elsewhere.c_str()), 0) << strerror(errno);
}

TEST(VerifyWithoutCgroupsTest, ALimitTheHostCannotCarryIsNotEnforced) {
  OsManagerOptions options;
  options.cgroups = false;
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager(options);
  ASSERT_THAT(m, IsOk());
  Limits limits;
  limits.cpu_weight = 200;
  limits.open_files = 32;
  std::shared_ptr<Process> p = StartReady(**m, Ready(limits));
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v, IsOk());
  const VerificationCheck* c = v->Find(LimitKind::kCpuWeight);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->result, CheckResult::kNotEnforced);
  EXPECT_EQ(c->detail, p->enforcement().Find(LimitKind::kCpuWeight)->detail);
  EXPECT_TRUE(v->ok());
  EXPECT_FALSE(v->all_verified());
  EXPECT_EQ(v->Find(LimitKind::kOpenFiles)->result, CheckResult::kMatch);
  EXPECT_EQ(v->Find("cgroup"), nullptr);
  End(*p);
}

TEST(VerifyWithoutCgroupsTest, ASoftCpuLimitRaisedWithPrlimitIsAMismatch) {
  OsManagerOptions options;
  options.cgroups = false;  // cpu_time by RLIMIT_CPU
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager(options);
  ASSERT_THAT(m, IsOk());
  Limits limits;
  limits.cpu_time = absl::Seconds(2);
  std::shared_ptr<Process> p = StartReady(**m, Ready(limits));
  absl::StatusOr<Verification> before = p->Verify();
  ASSERT_THAT(before, IsOk());
  ASSERT_EQ(p->enforcement().Find(LimitKind::kCpuTime)->mechanism,
            Mechanism::kRlimit);
  EXPECT_EQ(before->Find(LimitKind::kCpuTime)->found, "soft 2s, hard 3s");
  ASSERT_TRUE(before->ok()) << *before;
  // Soft up to the hard limit: no privilege needed.
  const rlimit raised = {3, 3};
  ASSERT_EQ(prlimit(static_cast<pid_t>(p->Id()), RLIMIT_CPU, &raised, nullptr),
            0)
      << strerror(errno);
  absl::StatusOr<Verification> after = p->Verify();
  ASSERT_THAT(after, IsOk());
  const VerificationCheck* c = after->Find(LimitKind::kCpuTime);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->result, CheckResult::kMismatch) << *c;
  EXPECT_EQ(c->asked, "2s");
  EXPECT_EQ(c->found, "soft 3s, hard 3s");
  EXPECT_EQ(c->source,
            absl::StrCat("/proc/", p->Id(), "/limits (Max cpu time)"));
  End(*p);
}

TEST(VerifyWithoutCgroupsTest, FailsBeforeStartAndOnceEnded) {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  std::shared_ptr<Process> p = (*m)->New(Command(kHelper, {"exit", "0"}));
  EXPECT_THAT(p->Verify(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("not started")));
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_THAT(p->Wait(), IsOk());
  EXPECT_THAT(p->Verify(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("ended before it could be verified")));
}

TEST(VerifyIsolationTest, CredentialsSeccompAndNamespacesVerify) {
  if (geteuid() != 0) GTEST_SKIP() << "switching credentials needs root";
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  Command cmd = Ready({});
  cmd.isolation.uid = 65534;
  cmd.isolation.gid = 65534;
  cmd.isolation.namespaces.pid = true;
  cmd.isolation.namespaces.uts = true;
  const IsolationEnforcement* seccomp =
      (*m)->capabilities().Find(IsolationKind::kSeccomp);
  const bool has_seccomp = seccomp != nullptr && seccomp->enforced;
  if (has_seccomp) cmd.isolation.seccomp = SeccompFilter::DefaultDenyList();
  std::shared_ptr<Process> p = StartReady(**m, cmd);
  absl::StatusOr<Verification> v = p->Verify();
  ASSERT_THAT(v, IsOk());
  EXPECT_TRUE(v->all_verified()) << *v;
  const VerificationCheck* ids = v->Find(IsolationKind::kCredentials);
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->found, "uid 65534, gid 65534, groups []");
  EXPECT_EQ(ids->found, ids->asked);
  for (IsolationKind kind :
       {IsolationKind::kPidNamespace, IsolationKind::kUtsNamespace}) {
    const VerificationCheck* ns = v->Find(kind);
    ASSERT_NE(ns, nullptr) << IsolationKindName(kind);
    EXPECT_THAT(ns->found, StartsWith("own ("));
  }
  if (has_seccomp) {
    const VerificationCheck* filter = v->Find(IsolationKind::kSeccomp);
    ASSERT_NE(filter, nullptr);
    EXPECT_THAT(filter->found, StartsWith("mode 2"));
  }
  End(*p);
}

// --- The comparison, over texts and a fake v2 tree
// ----------------------------
// ----------------------------

using linux_internal::CgroupHost;
using linux_internal::CgroupLimitReading;
using linux_internal::CgroupPlace;
using linux_internal::ProcessReadings;

TEST(VerifyParseTest, ReadsSoftAndHardFromProcLimits) {
  const char* text =
      "Limit                     Soft Limit           Hard Limit           "
      "Units     \n"
      "Max cpu time              2                    3                    "
      "seconds   \n"
      "Max file size             unlimited            unlimited            "
      "bytes     \n"
      "Max open files            64                   4096                 "
      "files     \n";
  auto nofile = linux_internal::ParseProcLimit(text, RLIMIT_NOFILE);
  ASSERT_TRUE(nofile.has_value());
  EXPECT_EQ(nofile->soft, 64u);
  EXPECT_EQ(nofile->hard, 4096u);
  auto fsize = linux_internal::ParseProcLimit(text, RLIMIT_FSIZE);
  ASSERT_TRUE(fsize.has_value());
  EXPECT_EQ(fsize->soft, RLIM_INFINITY);
  EXPECT_FALSE(linux_internal::ParseProcLimit(text, RLIMIT_AS).has_value());
}

// What /proc/PID/status of a process that got none of its isolation says.
constexpr char kBareStatus[] =
    "Name:\thelper\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\t\n"
    "NoNewPrivs:\t0\nCapInh:\t0000000000000000\n"
    "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
    "CapBnd:\t0000000000200000\nCapAmb:\t0000000000000000\n"
    "Seccomp:\t0\nSeccomp_filters:\t0\n";

struct IsolationCase {
  Isolation isolation;
  Enforcement enforcement;
  ProcessReadings readings;

  IsolationCase() {
    isolation.uid = 1000;
    isolation.gid = 1000;
    isolation.drop_capabilities = true;
    isolation.namespaces.net = true;
    isolation.seccomp = SeccompFilter::DefaultDenyList();
    for (IsolationKind kind :
         {IsolationKind::kNoNewPrivs, IsolationKind::kCredentials,
          IsolationKind::kCapabilities, IsolationKind::kNetNamespace,
          IsolationKind::kSeccomp}) {
      enforcement.isolation.push_back({kind, true, "test"});
    }
    readings.proc_dir = "/proc/77";
    readings.status = std::string(kBareStatus);
    readings.uid_map = std::string("0 0 4294967295\n");
    readings.gid_map = std::string("0 0 4294967295\n");
    readings.namespaces[IsolationKind::kNetNamespace] = {
        std::string("net:[4026531840]"), std::string("net:[4026531840]")};
  }
  Verification Verify() const {
    Verification v =
        internal::PlanVerification(Limits{}, isolation, enforcement);
    linux_internal::FillVerification(Limits{}, enforcement, isolation, readings,
                                     v);
    return v;
  }
};

TEST(VerifyIsolationTextTest, IsolationThatDidNotHoldIsAMismatchEach) {
  const Verification v = IsolationCase().Verify();
  EXPECT_EQ(v.mismatches().size(), 5u) << v;
  EXPECT_EQ(v.Find(IsolationKind::kNoNewPrivs)->found, "off");
  EXPECT_EQ(v.Find(IsolationKind::kCredentials)->found,
            "uid 0, gid 0, groups []");
  EXPECT_EQ(v.Find(IsolationKind::kCapabilities)->detail,
            "CapBnd holds CAP_SYS_ADMIN");
  EXPECT_EQ(v.Find(IsolationKind::kNetNamespace)->detail,
            "shares the manager's namespace");
  EXPECT_EQ(v.Find(IsolationKind::kSeccomp)->found, "mode 0, 0 filters");
  EXPECT_EQ(v.Find(IsolationKind::kSeccomp)->source,
            "/proc/77/status (Seccomp, Seccomp_filters)");
}

TEST(VerifyIsolationTextTest,
     IdsAreComparedAsTheProgramSeesThemInItsNamespace) {
  IsolationCase c;
  // Inside its user namespace uid and gid 1000 are the manager's 0.
  c.readings.uid_map = std::string("      1000          0          1\n");
  c.readings.gid_map = std::string("      1000          0          1\n");
  const Verification v = c.Verify();
  const VerificationCheck* ids = v.Find(IsolationKind::kCredentials);
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->result, CheckResult::kMatch) << *ids;
  EXPECT_EQ(ids->found, "uid 1000, gid 1000, groups []");
}

TEST(VerifyIsolationTextTest, AKeptBoundingSetIsAMatchOnlyWithoutSetpcap) {
  IsolationCase c;
  c.readings.manager_has_setpcap = false;
  const VerificationCheck* caps = c.Verify().Find(IsolationKind::kCapabilities);
  ASSERT_NE(caps, nullptr);
  EXPECT_EQ(caps->result, CheckResult::kMatch) << *caps;
  EXPECT_THAT(caps->detail, HasSubstr("CAP_SETPCAP"));
}

// A fake unified hierarchy mounted at a temp directory, with one group made
// by the v2 driver.
class VerifyV2FakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char root[] = "/tmp/procsandbox-verify-v2-XXXXXX";
    ASSERT_NE(mkdtemp(root), nullptr);
    root_ = root;
    parent_ = root_ + "/parent";
    leaf_ = parent_ + "/procsandbox-1-2-3/0";
    ASSERT_EQ(mkdir(parent_.c_str(), 0755), 0);
    WriteText(parent_ + "/cgroup.controllers", "cpu memory pids\n");
    WriteText(parent_ + "/cgroup.subtree_control", "");
    for (const std::string& dir : {parent_ + "/procsandbox-1-2-3", leaf_}) {
      ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
      for (const char* file :
           {"cgroup.procs", "cgroup.subtree_control", "memory.max",
            "memory.swap.max", "memory.oom.group", "pids.max", "cpu.weight"}) {
        WriteText(dir + "/" + file, "");
      }
    }
    auto driver =
        linux_internal::NewCgroupV2Driver({parent_, "procsandbox-1-2-3", true});
    ASSERT_THAT(driver, IsOk());
    linux_internal::CgroupRequest request;
    request.memory_bytes = (int64_t{64} << 20) + 100;  // not a page multiple
    request.processes = 32;
    request.cpu_weight = 250;
    auto group = (*driver)->Create(request);
    ASSERT_THAT(group, IsOk());
    group_ = *std::move(group);
    limits_.memory_bytes = request.memory_bytes;
    limits_.processes = request.processes;
    limits_.cpu_weight = request.cpu_weight;
    for (LimitKind kind :
         {LimitKind::kMemory, LimitKind::kProcesses, LimitKind::kCpuWeight}) {
      enforcement_.limits.push_back({kind, Mechanism::kCgroupV2, "fake"});
    }
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Verify() as the Linux manager does it, with the process's
  // /proc/PID/cgroup saying `group` ("/parent/procsandbox-1-2-3/0").
  Verification Verify(const std::string& group) {
    ProcessReadings r;
    r.proc_dir = "/proc/77";
    const std::string mountinfo = absl::StrCat(
        "30 20 0:26 / ", root_, " rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    r.cgroups_seen =
        linux_internal::ParseCgroupHost(mountinfo, absl::StrCat("0::", group));
    r.places = group_->Places();
    r.cgroup_limits = group_->ReadLimits();
    Verification v =
        internal::PlanVerification(limits_, Isolation{}, enforcement_);
    // no_new_privs is not asked here (no enforcement entry).
    linux_internal::FillVerification(limits_, enforcement_, Isolation{}, r, v);
    return v;
  }

  std::string root_, parent_, leaf_;
  std::unique_ptr<linux_internal::Cgroup> group_;
  Limits limits_;
  Enforcement enforcement_;
};

TEST_F(VerifyV2FakeTest, TheLimitFilesAsWrittenAndTheGroupMatch) {
  // The kernel keeps memory.max in pages: rounded down, still a match.
  WriteText(leaf_ + "/memory.max", std::to_string(int64_t{64} << 20));
  const Verification v = Verify("/parent/procsandbox-1-2-3/0");
  EXPECT_TRUE(v.all_verified()) << v;
  ASSERT_EQ(v.checks.size(), 4u) << v;
  EXPECT_EQ(v.Find(LimitKind::kMemory)->source, leaf_ + "/memory.max");
  EXPECT_EQ(v.Find(LimitKind::kMemory)->detail, "");
  EXPECT_EQ(v.Find(LimitKind::kProcesses)->source, leaf_ + "/pids.max");
  EXPECT_EQ(v.Find(LimitKind::kCpuWeight)->found, "250");
  const VerificationCheck* cgroup = v.Find("cgroup");
  ASSERT_NE(cgroup, nullptr);
  EXPECT_EQ(cgroup->asked, leaf_);
  EXPECT_EQ(cgroup->found, leaf_);
  EXPECT_EQ(cgroup->source, "/proc/77/cgroup (unified)");
}

TEST_F(VerifyV2FakeTest, LimitsChangedFromOutsideAreMismatches) {
  WriteText(leaf_ + "/memory.max", "max\n");
  WriteText(leaf_ + "/pids.max", "64\n");
  WriteText(leaf_ + "/cpu.weight", "100\n");
  const Verification v = Verify("/parent/procsandbox-1-2-3/0");
  ASSERT_EQ(v.mismatches().size(), 3u) << v;
  EXPECT_EQ(v.Find(LimitKind::kMemory)->found, "unlimited");
  EXPECT_THAT(v.Find(LimitKind::kMemory)->detail, HasSubstr("removed"));
  EXPECT_EQ(v.Find(LimitKind::kProcesses)->found, "64");
  EXPECT_THAT(v.Find(LimitKind::kProcesses)->detail,
              HasSubstr("weaker than asked (changed from outside"));
  EXPECT_EQ(v.Find(LimitKind::kCpuWeight)->found, "100");
}

TEST_F(VerifyV2FakeTest, ALowerLimitIsAStricterMatch) {
  WriteText(leaf_ + "/pids.max", "8\n");
  const Verification v = Verify("/parent/procsandbox-1-2-3/0");
  EXPECT_TRUE(v.ok()) << v;
  EXPECT_EQ(v.Find(LimitKind::kProcesses)->result, CheckResult::kMatch);
  EXPECT_EQ(v.Find(LimitKind::kProcesses)->detail, "stricter than asked");
}

TEST_F(VerifyV2FakeTest, AProcessInAnotherGroupIsAMismatch) {
  const Verification v = Verify("/parent/elsewhere");
  const std::vector<VerificationCheck> bad = v.mismatches();
  ASSERT_EQ(bad.size(), 1u) << v;
  const VerificationCheck& c = bad[0];
  EXPECT_EQ(c.item, "cgroup");
  EXPECT_EQ(c.found, parent_ + "/elsewhere");
  EXPECT_EQ(c.detail, "moved out of its group");
}

TEST_F(VerifyV2FakeTest, AProcessOutsideTheMountIsAMismatch) {
  const Verification v = Verify("/");
  // "/" is the mount's root: the fake root itself, not the group.
  const std::vector<VerificationCheck> bad = v.mismatches();
  ASSERT_EQ(bad.size(), 1u) << v;
  EXPECT_EQ(bad[0].item, "cgroup");
}

TEST_F(VerifyV2FakeTest, AnUnreadableLimitFileIsUnverifiedNeverAMatch) {
  ASSERT_EQ(unlink((leaf_ + "/pids.max").c_str()), 0);
  const Verification v = Verify("/parent/procsandbox-1-2-3/0");
  const VerificationCheck* c = v.Find(LimitKind::kProcesses);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->result, CheckResult::kUnverified);
  EXPECT_THAT(c->detail, HasSubstr("could not read it"));
}

}  // namespace
}  // namespace procsandbox
