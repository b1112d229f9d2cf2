// Isolation::drop_capabilities and keep_capabilities on Linux, checked from
// inside the child: its /proc/self/status, what it can bind, which cgroup it
// can move into.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/child_capabilities.h"
#include "linux/spawn.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
constexpr int kNetBindService = 10;
constexpr uint32_t kNobody = 65534;

// What the helper's print-caps prints when exactly `mask` is in each set.
std::string CapsLine(uint64_t mask) {
  const std::string hex = absl::StrFormat("%016x", mask);
  return absl::StrCat("CapInh=", hex, " CapPrm=", hex, " CapEff=", hex,
                      " CapBnd=", hex, " CapAmb=", hex, "\n");
}

// The "<field>:" set of this process's /proc/self/status.
uint64_t OwnSet(const std::string& field) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, field + ":")) {
      uint64_t set = 0;
      if (absl::SimpleHexAtoi(absl::StripAsciiWhitespace(rest), &set)) {
        return set;
      }
    }
  }
  ADD_FAILURE() << "no " << field << " in /proc/self/status";
  return 0;
}

// CAP_SETPCAP: the host can drop a child's bounding set (root can).
bool HostCanDropBoundingSet() { return (OwnSet("CapEff") >> 8) & 1U; }

class CapabilitiesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
    ASSERT_THAT(m, IsOk());
    manager_ = *std::move(m);
    const Capabilities host = manager_->capabilities();
    const IsolationEnforcement* caps = host.Find(IsolationKind::kCapabilities);
    ASSERT_NE(caps, nullptr);
    if (!caps->enforced) GTEST_SKIP() << caps->detail;
  }

  static Command DropAll(std::vector<std::string> steps) {
    Command cmd(kHelper, std::move(steps));
    cmd.isolation.drop_capabilities = true;
    return cmd;
  }

  std::unique_ptr<Manager> manager_;
};

// A port below ip_unprivileged_port_start that this (root) test can bind
// now, or 0 when there is none (then binding needs no capability here).
int FreePrivilegedPort() {
  int start = 1024;
  std::ifstream file("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  if (file) file >> start;
  for (int port = std::min(start, 1024) - 1; port > 0; --port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool bound = bind(fd, reinterpret_cast<const sockaddr*>(&address),
                            sizeof(address)) == 0;
    close(fd);
    if (bound) return port;
  }
  return 0;
}

TEST_F(CapabilitiesTest, DroppingClearsEverySetOfTheProgram) {
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(*manager_, DropAll({"print-caps"}));
  ASSERT_THAT(r, ExitedWith(0));
  if (HostCanDropBoundingSet()) {
    EXPECT_EQ(r->stdout_, CapsLine(0));
  } else {
    // A host holding no capability: the bounding set stays as it is.
    EXPECT_EQ(r->stdout_,
              absl::StrFormat("CapInh=%016x CapPrm=%016x CapEff=%016x "
                              "CapBnd=%016x CapAmb=%016x\n",
                              0, 0, 0, OwnSet("CapBnd"), 0));
  }
}

TEST_F(CapabilitiesTest, WithoutSetpcapDroppingNeedsNoNewPrivs) {
  if (HostCanDropBoundingSet()) GTEST_SKIP() << "the host has CAP_SETPCAP";
  Command cmd = DropAll({"exit", "0"});
  cmd.isolation.no_new_privs = false;
  EXPECT_THAT(manager_->New(cmd)->Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("needs no_new_privs")));
}

TEST_F(CapabilitiesTest, WithoutDroppingTheProgramKeepsTheHostsBoundingSet) {
  absl::StatusOr<RunResult> r =
      procsandbox::RunCommand(*manager_, Command(kHelper, {"print-caps"}));
  ASSERT_THAT(r, ExitedWith(0));
  EXPECT_THAT(r->stdout_, Not(HasSubstr("CapBnd=0000000000000000")));
}

TEST_F(CapabilitiesTest, TheEnforcementReportListsCapabilities) {
  Command cmd = DropAll({"exit", "0"});
  std::shared_ptr<Process> p = manager_->New(cmd);
  ASSERT_THAT(p->Start(), IsOk());
  const Enforcement enforcement = p->enforcement();
  const IsolationEnforcement* caps =
      enforcement.Find(IsolationKind::kCapabilities);
  ASSERT_NE(caps, nullptr);
  EXPECT_TRUE(caps->enforced);
  EXPECT_THAT(caps->detail,
              HasSubstr(HostCanDropBoundingSet() ? "PR_CAPBSET_DROP"
                                                 : "holds no capability"));
  EXPECT_THAT(p->Wait(), ExitedWith(0));
}

TEST_F(CapabilitiesTest, AKeptCapabilityStaysInEverySetAsRoot) {
  if (geteuid() != 0) GTEST_SKIP() << "the host is not root";
  const int port = FreePrivilegedPort();
  if (port == 0) GTEST_SKIP() << "no privileged port is free, or none exists";
  Command cmd = DropAll({"print-caps", "bind-port", absl::StrCat(port)});
  cmd.isolation.keep_capabilities = {"net_bind_service"};
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*manager_, cmd);
  ASSERT_THAT(r, ExitedWith(0)) << r->stderr_;
  EXPECT_EQ(r->stdout_, absl::StrCat(CapsLine(uint64_t{1} << kNetBindService),
                                     "bound ", port, "\n"));
}

TEST_F(CapabilitiesTest, AKeptCapabilitySurvivesTheSwitchToAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "switching uid needs root";
  const int port = FreePrivilegedPort();
  if (port == 0) GTEST_SKIP() << "no privileged port is free, or none exists";
  Command cmd =
      DropAll({"print-ids", "print-caps", "bind-port", absl::StrCat(port)});
  cmd.isolation.uid = kNobody;
  cmd.isolation.gid = kNobody;
  cmd.isolation.keep_capabilities = {"CAP_NET_BIND_SERVICE"};
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*manager_, cmd);
  ASSERT_THAT(r, ExitedWith(0)) << r->stderr_;
  EXPECT_EQ(r->stdout_,
            absl::StrCat("uid=65534 gid=65534 euid=65534 egid=65534 groups=\n",
                         CapsLine(uint64_t{1} << kNetBindService), "bound ",
                         port, "\n"));
}

TEST_F(CapabilitiesTest, AnotherUserWithoutTheCapabilityCannotBindThePort) {
  if (geteuid() != 0) GTEST_SKIP() << "switching uid needs root";
  const int port = FreePrivilegedPort();
  if (port == 0) GTEST_SKIP() << "no privileged port is free, or none exists";
  Command cmd = DropAll({"bind-port", absl::StrCat(port)});
  cmd.isolation.uid = kNobody;
  cmd.isolation.gid = kNobody;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*manager_, cmd);
  ASSERT_THAT(r, ExitedWith(1));
  EXPECT_THAT(r->stderr_, HasSubstr("Permission denied"));
}

TEST_F(CapabilitiesTest, RootWithoutCapabilitiesCannotWriteAnotherUsersFile) {
  if (geteuid() != 0) GTEST_SKIP() << "the host is not root";
  // Mode 0000, owned by nobody: only CAP_DAC_OVERRIDE opens it for root.
  char dir_template[] = "/tmp/procsandbox-caps-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string file = absl::StrCat(dir_template, "/secret");
  { std::ofstream(file) << "x"; }
  ASSERT_EQ(chown(file.c_str(), kNobody, kNobody), 0);
  ASSERT_EQ(chmod(file.c_str(), 0), 0);
  Command cmd = DropAll({"write-file", file, "1"});
  absl::StatusOr<RunResult> dropped = procsandbox::RunCommand(*manager_, cmd);
  cmd.isolation.drop_capabilities = false;
  absl::StatusOr<RunResult> kept = procsandbox::RunCommand(*manager_, cmd);
  unlink(file.c_str());
  rmdir(dir_template);
  ASSERT_THAT(dropped, ExitedWith(1));
  EXPECT_THAT(dropped->stderr_, HasSubstr("Permission denied"));
  EXPECT_THAT(kept, ExitedWith(0));
}

TEST_F(CapabilitiesTest, AnUnknownNameIsInvalidArgument) {
  Command cmd = DropAll({"exit", "0"});
  cmd.isolation.keep_capabilities = {"CAP_NO_SUCH"};
  EXPECT_THAT(manager_->New(cmd)->Start(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("\"CAP_NO_SUCH\"")));
}

TEST_F(CapabilitiesTest, KeepingWithoutDroppingIsInvalidArgument) {
  Command cmd(kHelper, {"exit", "0"});
  cmd.isolation.keep_capabilities = {"CAP_NET_BIND_SERVICE"};
  EXPECT_THAT(manager_->New(cmd)->Start(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("without drop_capabilities")));
}

TEST_F(CapabilitiesTest, KeepingOneTheHostsBoundingSetLacksFailsNamingIt) {
  int missing = -1;
  for (int cap = 0; cap <= 40 && missing < 0; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0) missing = cap;
  }
  if (missing < 0) GTEST_SKIP() << "this host's bounding set is full";
  Command cmd = DropAll({"exit", "0"});
  cmd.isolation.keep_capabilities = {CapabilityName(missing)};
  EXPECT_THAT(manager_->New(cmd)->Start(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(absl::StrCat("keep ", CapabilityName(missing),
                                              ": the host's bounding set"))));
}

// The escape of issue 17: a program moves itself into another cgroup by
// writing its pid to that group's cgroup.procs. On cgroup v1 a writer whose
// euid is 0 may move any task (no capability is checked) and the file is
// root's, mode 0644: dropping capabilities alone does not stop it; a uid
// other than root with them dropped does (as do a read-only /sys and a user
// namespace that maps to another uid).
class CgroupEscapeTest : public CapabilitiesTest {
 protected:
  void SetUp() override {
    CapabilitiesTest::SetUp();
    if (IsSkipped()) return;
    if (geteuid() != 0) GTEST_SKIP() << "the escape is a root program's";
    struct statfs fs = {};
    const std::string hierarchy = "/sys/fs/cgroup/pids";
    if (statfs(hierarchy.c_str(), &fs) != 0 ||
        fs.f_type != 0x27e0eb /* CGROUP_SUPER_MAGIC: v1 */) {
      GTEST_SKIP() << "no cgroup v1 pids hierarchy at " << hierarchy;
    }
    group_ = absl::StrCat(hierarchy, "/procsandbox-caps-test-", getpid());
    ASSERT_EQ(mkdir(group_.c_str(), 0755), 0) << group_;
  }
  void TearDown() override {
    if (!group_.empty()) {
      EXPECT_EQ(rmdir(group_.c_str()), 0) << errno;
    }
  }

  // A shell that writes its pid to the group's cgroup.procs, then prints
  // the pids line of its /proc/self/cgroup.
  Command Escape() const {
    Command cmd("/bin/sh",
                {"-c", absl::StrCat("echo $$ > ", group_,
                                    "/cgroup.procs || exit 3; grep pids: "
                                    "/proc/self/cgroup")});
    cmd.isolation.drop_capabilities = true;
    return cmd;
  }

  std::string group_;
};

TEST_F(CgroupEscapeTest, RootWithoutCapabilitiesStillMovesItselfOnCgroupV1) {
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*manager_, Escape());
  ASSERT_THAT(r, ExitedWith(0)) << r->stderr_;
  EXPECT_THAT(r->stdout_,
              HasSubstr(absl::StrCat("/procsandbox-caps-test-", getpid())));
}

TEST_F(CgroupEscapeTest, AnotherUserWithoutCapabilitiesCannotMoveItself) {
  Command cmd = Escape();
  cmd.isolation.uid = kNobody;
  cmd.isolation.gid = kNobody;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*manager_, cmd);
  ASSERT_THAT(r, ExitedWith(3)) << r->stdout_;
  EXPECT_THAT(r->stderr_, HasSubstr("Permission denied"));
}

TEST_F(CgroupEscapeTest, ACgroupNamespaceDoesNotStopItOnCgroupV1) {
  const Capabilities host = manager_->capabilities();
  const IsolationEnforcement* ns = host.Find(IsolationKind::kCgroupNamespace);
  ASSERT_NE(ns, nullptr);
  if (!ns->enforced) GTEST_SKIP() << ns->detail;
  Command cmd = Escape();
  cmd.isolation.namespaces.cgroup = true;
  // A pids limit puts the run in a v1 pids group of its own: the
  // namespace's root in that hierarchy.
  cmd.limits.processes = 64;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*manager_, cmd);
  ASSERT_THAT(r, IsOk());
  const LimitEnforcement* pids = r->enforcement.Find(LimitKind::kProcesses);
  ASSERT_NE(pids, nullptr);
  if (pids->mechanism != Mechanism::kCgroupV1) {
    GTEST_SKIP() << "the run has no v1 pids group: " << pids->detail;
  }
  // v1 checks neither a capability nor that the target lies under the
  // namespace's root: the program lands outside it, shown as "/..".
  ASSERT_THAT(r, ExitedWith(0)) << r->stderr_;
  EXPECT_THAT(r->stdout_, HasSubstr("pids:/../"));
  EXPECT_THAT(r->stdout_,
              HasSubstr(absl::StrCat("/procsandbox-caps-test-", getpid())));
}

TEST_F(CgroupEscapeTest,
       RootWithoutCapabilitiesCannotMoveItselfInAReadOnlyView) {
  const Capabilities host = manager_->capabilities();
  const IsolationEnforcement* mounts =
      host.Find(IsolationKind::kMountNamespace);
  ASSERT_NE(mounts, nullptr);
  if (!mounts->enforced) GTEST_SKIP() << mounts->detail;
  Command cmd = Escape();
  cmd.isolation.mounts = {Mount::ReadOnlyBind("/")};
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(*manager_, cmd);
  ASSERT_THAT(r, ExitedWith(3)) << r->stdout_;
  EXPECT_THAT(r->stderr_, HasSubstr("Read-only file system"));
}

}  // namespace
}  // namespace procsandbox

// The child's failures, through Spawn() with plans PlanCapabilities would
// refuse: each Status names the capability or the call and the errno.
namespace procsandbox::linux_internal {
namespace {

using ::procsandbox::HostCanDropBoundingSet;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

SpawnPlan PlanWithCapabilities(CapabilityPlan caps) {
  SpawnPlan plan;
  plan.path = PROCSANDBOX_TEST_HELPER;
  plan.argv = {plan.path, "exit", "0"};
  plan.capabilities = std::make_shared<const CapabilityPlan>(caps);
  return plan;
}

TEST(CapabilityStepTest, ABoundingDropPastTheKernelsLastNamesTheCapability) {
  if (!HostCanDropBoundingSet()) GTEST_SKIP() << "no CAP_SETPCAP";
  if (prctl(PR_CAPBSET_READ, 63, 0, 0, 0) >= 0) {
    GTEST_SKIP() << "this kernel knows capability 63";
  }
  CapabilityPlan caps;
  caps.last_cap = 63;
  EXPECT_THAT(
      Spawn(PlanWithCapabilities(caps)).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr(absl::StrCat("drop cap_", KernelLastCapability() + 1,
                                      " from the bounding set"))));
}

TEST(CapabilityStepTest, KeepingOneOutsideTheBoundingSetFailsAtCapset) {
  int missing = -1;
  for (int cap = 0; cap <= KernelLastCapability() && missing < 0; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 0) missing = cap;
  }
  if (missing < 0) GTEST_SKIP() << "this host's bounding set is full";
  if (!HostCanDropBoundingSet()) GTEST_SKIP() << "no CAP_SETPCAP";
  CapabilityPlan caps;
  caps.last_cap = KernelLastCapability();
  caps.keep = uint64_t{1} << missing;
  EXPECT_THAT(Spawn(PlanWithCapabilities(caps)).status(),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("set the capability sets (capset): "
                                 "operation not permitted (EPERM)")));
}

}  // namespace
}  // namespace procsandbox::linux_internal
