#include "procsandbox/capabilities.h"

#include <algorithm>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/limits.h"
#include "procsandbox/os_manager.h"

namespace procsandbox {
namespace {

LimitEnforcement Entry(LimitKind limit, Mechanism mechanism,
                       std::string detail = "") {
  LimitEnforcement entry;
  entry.limit = limit;
  entry.mechanism = mechanism;
  entry.detail = std::move(detail);
  return entry;
}

Capabilities LinuxCapabilities() {
  Capabilities capabilities;
  capabilities.backend = "linux";
  capabilities.limits = {
      Entry(LimitKind::kWallTime, Mechanism::kReactor),
      Entry(LimitKind::kMemory, Mechanism::kCgroupV2, "memory.max"),
      Entry(LimitKind::kCpuWeight, Mechanism::kNone, "no cpu controller"),
  };
  capabilities.tree_kill = true;
  capabilities.tree_kill_detail = "cgroup.kill";
  capabilities.tree_freeze_detail = "no cgroup.freeze";
  capabilities.features = {{"pidfd", true, ""},
                           {"clone3", false, "kernel 5.2"},
                           {"cgroup_v2", true, "/sys/fs/cgroup/x"}};
  return capabilities;
}

TEST(MechanismNameTest, NamesEveryMechanism) {
  EXPECT_EQ(MechanismName(Mechanism::kNone), "none");
  EXPECT_EQ(MechanismName(Mechanism::kVirtual), "virtual");
  EXPECT_EQ(MechanismName(Mechanism::kReactor), "reactor");
  EXPECT_EQ(MechanismName(Mechanism::kRlimit), "rlimit");
  EXPECT_EQ(MechanismName(Mechanism::kCgroupV2), "cgroup-v2");
  EXPECT_EQ(MechanismName(Mechanism::kCgroupV1), "cgroup-v1");
  EXPECT_EQ(MechanismName(Mechanism::kJobObject), "job-object");
  EXPECT_EQ(fmt::format("{}", Mechanism::kRlimit), "rlimit");
}

TEST(LimitEnforcementTest, EnforcedUnlessTheMechanismIsNone) {
  EXPECT_TRUE(Entry(LimitKind::kMemory, Mechanism::kRlimit).enforced());
  EXPECT_FALSE(Entry(LimitKind::kMemory, Mechanism::kNone).enforced());
}

TEST(EnforcementTest, FindReturnsTheEntryForAKind) {
  Enforcement enforcement;
  enforcement.limits = {Entry(LimitKind::kWallTime, Mechanism::kReactor),
                        Entry(LimitKind::kMemory, Mechanism::kRlimit)};
  const LimitEnforcement* memory = enforcement.Find(LimitKind::kMemory);
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->mechanism, Mechanism::kRlimit);
  EXPECT_EQ(enforcement.Find(LimitKind::kProcesses), nullptr);
}

TEST(EnforcementTest, AllEnforcedIsFalseWithOneUnenforcedEntry) {
  Enforcement enforcement;
  EXPECT_TRUE(enforcement.all_enforced());
  enforcement.limits = {Entry(LimitKind::kWallTime, Mechanism::kReactor)};
  EXPECT_TRUE(enforcement.all_enforced());
  enforcement.limits.push_back(
      Entry(LimitKind::kCpuWeight, Mechanism::kNone, "no cgroup"));
  EXPECT_FALSE(enforcement.all_enforced());
}

TEST(CapabilitiesTest, FindReturnsTheEntryForAKind) {
  const Capabilities capabilities = LinuxCapabilities();
  const LimitEnforcement* memory = capabilities.Find(LimitKind::kMemory);
  ASSERT_NE(memory, nullptr);
  EXPECT_EQ(memory->detail, "memory.max");
  EXPECT_EQ(capabilities.Find(LimitKind::kOpenFiles), nullptr);
}

TEST(CapabilitiesTest, HasOnlyListedAvailableFeatures) {
  const Capabilities capabilities = LinuxCapabilities();
  EXPECT_TRUE(capabilities.Has("pidfd"));
  EXPECT_FALSE(capabilities.Has("clone3"));
  EXPECT_FALSE(capabilities.Has("seccomp"));
}

TEST(CapabilitiesTest, HasAnswersTheDeprecatedNamesOfTheFirstRelease) {
  Capabilities capabilities = LinuxCapabilities();
  EXPECT_TRUE(capabilities.Has("cgroup-v2"));
  EXPECT_FALSE(capabilities.Has("cgroup-v1"));
  EXPECT_TRUE(capabilities.Has("tree-kill"));
  EXPECT_FALSE(capabilities.Has("freeze"));
  EXPECT_FALSE(capabilities.Has("suspend"));
  capabilities.tree_freeze = true;
  EXPECT_TRUE(capabilities.Has("freeze"));
  EXPECT_TRUE(capabilities.Has("suspend"));
  // The new names of the fields are fields, not features.
  EXPECT_FALSE(capabilities.Has("tree_kill"));
}

TEST(CapabilitiesTest, FeatureNamesAreSnakeCaseAndUnique) {
  const std::vector<std::string>& names = FeatureNames();
  ASSERT_FALSE(names.empty());
  for (const std::string& name : names) {
    EXPECT_FALSE(name.empty());
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"),
              std::string::npos)
        << name;
    EXPECT_EQ(std::count(names.begin(), names.end(), name), 1) << name;
  }
}

TEST(CapabilitiesTest, EqualityComparesEveryField) {
  EXPECT_EQ(LinuxCapabilities(), LinuxCapabilities());
  Capabilities other = LinuxCapabilities();
  other.strict = true;
  EXPECT_NE(LinuxCapabilities(), other);
  other = LinuxCapabilities();
  other.tree_kill = false;
  EXPECT_NE(LinuxCapabilities(), other);
  other = LinuxCapabilities();
  other.tree_kill_detail = "freezer";
  EXPECT_NE(LinuxCapabilities(), other);
  other = LinuxCapabilities();
  other.tree_freeze = true;
  EXPECT_NE(LinuxCapabilities(), other);
  other = LinuxCapabilities();
  other.tree_freeze_detail = "cgroup.freeze";
  EXPECT_NE(LinuxCapabilities(), other);
  other = LinuxCapabilities();
  other.features[0].available = false;
  EXPECT_NE(LinuxCapabilities(), other);
}

TEST(CapabilitiesToStringTest, PrintsAnEntryWithItsDetail) {
  EXPECT_EQ(ToString(Entry(LimitKind::kMemory, Mechanism::kCgroupV1,
                           "memory.limit_in_bytes")),
            "memory_bytes: cgroup-v1 (memory.limit_in_bytes)");
  EXPECT_EQ(ToString(Entry(LimitKind::kWallTime, Mechanism::kReactor)),
            "wall_time: reactor");
}

TEST(CapabilitiesToStringTest, PrintsAnEnforcementReport) {
  Enforcement enforcement;
  EXPECT_EQ(ToString(enforcement), "{}");
  enforcement.limits = {
      Entry(LimitKind::kWallTime, Mechanism::kReactor),
      Entry(LimitKind::kMemory, Mechanism::kNone, "no cgroup")};
  EXPECT_EQ(ToString(enforcement),
            "{wall_time: reactor, memory_bytes: none (no cgroup)}");
}

TEST(CapabilitiesToStringTest, PrintsBackendLimitsAndFeatures) {
  const std::string expected =
      "{backend=linux, strict=false, tree_kill=yes (cgroup.kill), "
      "tree_freeze=no (no cgroup.freeze), limits={wall_time: reactor, "
      "memory_bytes: cgroup-v2 (memory.max), cpu_weight: none (no cpu "
      "controller)}, features={pidfd=yes, clone3=no (kernel 5.2), "
      "cgroup_v2=yes (/sys/fs/cgroup/x)}}";
  EXPECT_EQ(ToString(LinuxCapabilities()), expected);
  std::ostringstream os;
  os << LinuxCapabilities();
  EXPECT_EQ(os.str(), expected);
  EXPECT_EQ(fmt::format("{}", LinuxCapabilities()), expected);
}

TEST(OsManagerEventTest, PrintsItsKindAndDetail) {
  const OsManagerEvent stale{OsManagerEvent::Kind::kStaleCgroupRemoved,
                             "/sys/fs/cgroup/procsandbox-1-2-3"};
  EXPECT_EQ(ToString(stale),
            "stale_cgroup_removed: /sys/fs/cgroup/procsandbox-1-2-3");
  EXPECT_EQ(fmt::format("{}", stale), ToString(stale));
  std::ostringstream out;
  out << OsManagerEvent{OsManagerEvent::Kind::kCgroupDegraded, "x"};
  EXPECT_EQ(out.str(), "cgroup_degraded: x");
  EXPECT_EQ(OsManagerEventKindName(OsManagerEvent::Kind::kCgroupCleanupFailed),
            "cgroup_cleanup_failed");
  EXPECT_NE(stale, (OsManagerEvent{OsManagerEvent::Kind::kCgroupDegraded,
                                   stale.detail}));
}

}  // namespace
}  // namespace procsandbox
