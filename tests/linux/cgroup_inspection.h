// What the cgroup tests of the OS manager look at: the parents the managers
// use on this host, this process's manager directories, orphans to reap, and
// the manager's events (tests/linux).
#ifndef PROCSANDBOX_TESTS_LINUX_CGROUP_INSPECTION_H_
#define PROCSANDBOX_TESTS_LINUX_CGROUP_INSPECTION_H_

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "linux/cgroup_detect.h"
#include "procsandbox/os_manager.h"

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
  const std::string prefix = absl::StrCat("procsandbox-", getpid(), "-");
  for (const std::string& parent : CgroupParents()) {
    if (DIR* dir = opendir(parent.c_str())) {
      while (const dirent* entry = readdir(dir)) {
        if (absl::StartsWith(entry->d_name, prefix)) {
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

}  // namespace procsandbox

#endif  // PROCSANDBOX_TESTS_LINUX_CGROUP_INSPECTION_H_
