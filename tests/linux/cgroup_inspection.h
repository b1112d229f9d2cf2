// What the cgroup tests of the OS manager look at: the parents the managers
// use on this host, this process's manager directories, orphans to reap, and
// the manager's events (tests/linux).
#ifndef PROCSANDBOX_TESTS_LINUX_CGROUP_INSPECTION_H_
#define PROCSANDBOX_TESTS_LINUX_CGROUP_INSPECTION_H_

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "process_inspection.h"
#include "procsandbox/os_manager.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {

// The parents the managers use on this host (own group in each hierarchy).
inline std::vector<std::string> CgroupParents() {
  const linux_internal::CgroupHost host = linux_internal::DetectCgroupHost();
  std::vector<std::string> parents;
  if (!host.v2_group.empty()) parents.push_back(host.v2_group);
  for (const auto& h : host.v1) {
    if (!h.group.empty()) parents.push_back(h.group);
  }
  return parents;
}

// Manager directories of this process under the parents.
inline std::vector<std::string> OurGroupDirectories() {
  std::vector<std::string> found;
  const absl::StatusOr<linux_internal::ManagerGroupOwner> me =
      linux_internal::ThisProcessOwner();
  EXPECT_TRUE(me.ok()) << me.status();
  if (!me.ok()) return found;
  for (const std::string& parent : CgroupParents()) {
    if (DIR* dir = opendir(parent.c_str())) {
      while (const dirent* entry = readdir(dir)) {
        const std::optional<linux_internal::ManagerGroupOwner> owner =
            linux_internal::ParseManagerGroupName(entry->d_name);
        if (owner && owner->pid_namespace == me->pid_namespace &&
            owner->pid == me->pid) {
          found.push_back(parent + "/" + entry->d_name);
        }
      }
      closedir(dir);
    }
  }
  return found;
}

// The directories directly in `dir`.
inline std::vector<std::string> SubDirectories(const std::string& dir) {
  std::vector<std::string> subs;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* entry = readdir(d)) {
      if (entry->d_type == DT_DIR && entry->d_name[0] != '.') {
        subs.push_back(dir + "/" + entry->d_name);
      }
    }
    closedir(d);
  }
  return subs;
}

// Manager directories that are not in `before`: v2 (the unified hierarchy)
// or v1 ones.
inline std::vector<std::string> NewDirectories(
    const std::vector<std::string>& before, bool v2) {
  const std::string v2_parent = linux_internal::DetectCgroupHost().v2_group;
  std::vector<std::string> found;
  for (const std::string& dir : OurGroupDirectories()) {
    if (std::find(before.begin(), before.end(), dir) != before.end()) continue;
    const bool is_v2 =
        !v2_parent.empty() && absl::StartsWith(dir, v2_parent + "/");
    if (is_v2 == v2) found.push_back(dir);
  }
  return found;
}

// Removes manager directories (and the empty groups in them) behind the
// manager's back.
inline void RemoveDirectories(const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    for (const std::string& leaf : SubDirectories(dir)) rmdir(leaf.c_str());
    rmdir(dir.c_str());
  }
}

// Reaps the children this (subreaper) process inherited, for at most 2 s.
// Call it only while no process of a manager runs.
inline void ReapOrphans() {
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  for (;;) {
    const pid_t pid = waitpid(-1, nullptr, WNOHANG);
    if (pid > 0) continue;
    if (pid < 0 || absl::Now() >= give_up) return;
    absl::SleepFor(absl::Milliseconds(2));
  }
}

// Collects a manager's events.
struct EventLog {
  absl::Mutex mu;
  std::vector<OsManagerEvent> events;

  std::function<void(const OsManagerEvent&)> Sink() {
    return [this](const OsManagerEvent& e) {
      absl::MutexLock lock(&mu);
      events.push_back(e);
    };
  }
  std::vector<OsManagerEvent> Take() {
    absl::MutexLock lock(&mu);
    return events;
  }
};

// A manager with its events logged, for tests that need cgroups: skips
// (saying why) without root or a usable cgroup; at the end, no directory of
// this process's managers and no child is left.
class CgroupManagerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "cgroups need root here";
    OsManagerOptions options;
    options.on_event = events_.Sink();
    auto m = NewOsManager(options);
    ASSERT_THAT(m, ::procsandbox_testing::IsOk());
    manager_ = *std::move(m);
    caps_ = manager_->capabilities();
    if (!caps_.Has("cgroups")) {
      GTEST_SKIP() << "no usable cgroup here: " << caps_;
    }
  }
  void TearDown() override {
    manager_.reset();
    EXPECT_THAT(OurGroupDirectories(), ::testing::IsEmpty());
    ExpectNoChildren();
  }
  // Whether `kind` is carried by a cgroup (of version `m` when given).
  bool CarriedByCgroup(LimitKind kind,
                       std::optional<Mechanism> m = std::nullopt) const {
    const LimitEnforcement* e = caps_.Find(kind);
    if (e == nullptr) return false;
    if (m) return e->mechanism == *m;
    return e->mechanism == Mechanism::kCgroupV1 ||
           e->mechanism == Mechanism::kCgroupV2;
  }
  // Whether a v2 group tracks each tree (cgroup.kill, freeze).
  bool HasV2Tracking() const {
    return caps_.Has("cgroup_v2") && caps_.tree_kill &&
           absl::StartsWith(caps_.tree_kill_detail, "cgroup v2");
  }

  EventLog events_;
  std::unique_ptr<Manager> manager_;
  Capabilities caps_;
};

}  // namespace procsandbox

#endif  // PROCSANDBOX_TESTS_LINUX_CGROUP_INSPECTION_H_
