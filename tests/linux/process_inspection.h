// What tests of real processes look at: this test's children, /proc, and
// orphans (tests/linux); and the scratch they make.
#ifndef PROCSANDBOX_TESTS_LINUX_PROCESS_INSPECTION_H_
#define PROCSANDBOX_TESTS_LINUX_PROCESS_INSPECTION_H_

#include <dirent.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "real_time.h"

namespace procsandbox {

// Threads of ThreadSanitizer's runtime: it runs a background thread of its
// own, in this process once it has started a thread (so 0 or 1 here), and
// in every child forked from it (the fork interceptor starts one there).
inline constexpr int kSanitizerThreads = kThreadSanitizer ? 1 : 0;

// The tasks a child forked by a test is for the pids controller, which
// counts threads: the child, and TSan's thread in it.
inline constexpr int kTasksPerForkedChild = 1 + kSanitizerThreads;

// No child of this test process is left: neither running nor a zombie.
inline void ExpectNoChildren() {
  siginfo_t info = {};
  errno = 0;
  EXPECT_EQ(waitid(P_ALL, 0, &info, WEXITED | WNOHANG), -1)
      << "a child is left: pid " << info.si_pid;
  EXPECT_EQ(errno, ECHILD);
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// What /proc/<pid>/stat says about one process.
struct ProcStat {
  pid_t pid = 0;
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  pid_t session = 0;
};

// Every process visible in /proc (one that ends while listed is skipped).
inline std::vector<ProcStat> ListProcesses() {
  std::vector<ProcStat> list;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) {
    ADD_FAILURE() << "opendir /proc: " << std::strerror(errno);
    return list;
  }
  while (const struct dirent* entry = readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() ||
        name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    const std::string stat = ReadWholeFile("/proc/" + name + "/stat");
    // The command name may hold spaces and parentheses: fields follow the
    // last ')'.
    const std::size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    ProcStat p;
    p.pid = static_cast<pid_t>(std::stol(name));
    std::istringstream fields(stat.substr(paren + 1));
    if (fields >> p.state >> p.ppid >> p.pgrp >> p.session) list.push_back(p);
  }
  closedir(proc);
  return list;
}

// The NUL-separated arguments of `pid`, empty when it is gone.
inline std::vector<std::string> CommandLineOf(pid_t pid) {
  const std::string raw =
      ReadWholeFile(absl::StrCat("/proc/", pid, "/cmdline"));
  return absl::StrSplit(raw, '\0', absl::SkipEmpty());
}

// Makes this process the reaper of its orphaned descendants while in scope
// (PR_SET_CHILD_SUBREAPER, Linux 3.4), so a test can reap the grandchildren
// it provokes instead of leaving zombies to an init that may never reap
// them.
class ScopedSubreaper {
 public:
  ScopedSubreaper() {
    EXPECT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0)
        << std::strerror(errno);
  }
  ~ScopedSubreaper() { prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0); }
  ScopedSubreaper(const ScopedSubreaper&) = delete;
  ScopedSubreaper& operator=(const ScopedSubreaper&) = delete;
};

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Open descriptors of this process whose /proc link is `path` or below it
// (every descriptor when `path` is empty).
inline std::vector<std::string> DescriptorsUnder(const std::string& path) {
  std::vector<std::string> found;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return found;
  while (const dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    char target[512] = {};
    const std::string link = absl::StrCat("/proc/self/fd/", entry->d_name);
    if (readlink(link.c_str(), target, sizeof(target) - 1) <= 0) continue;
    const std::string t = target;
    if (path.empty() || t == path || absl::StartsWith(t, path + "/")) {
      found.push_back(t);
    }
  }
  closedir(dir);
  return found;
}

// The state letter of /proc/<pid>/stat ('?' when it is gone).
inline char ProcState(pid_t pid) {
  if (pid <= 0) return '?';
  const std::string stat = ReadWholeFile(absl::StrCat("/proc/", pid, "/stat"));
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return '?';
  return stat[paren + 2];
}

// Polls `done` every millisecond for at most `timeout` (a hang guard).
inline bool Eventually(const std::function<bool()>& done,
                       absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time give_up = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= give_up) return false;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return true;
}

// A name no other test run uses: `what`, this process's pid and the time.
inline std::string Unique(absl::string_view what) {
  return absl::StrCat(what, "-", getpid(), "-", absl::ToUnixNanos(absl::Now()));
}

// The test helpers (PROCSANDBOX_TEST_HELPER) alive whose command line
// carries `marker`, wherever they went (orphans, other groups).
inline std::vector<pid_t> HelpersWithMarker(const std::string& marker) {
  std::vector<pid_t> found;
  for (const ProcStat& p : ListProcesses()) {
    if (p.state == 'Z') continue;
    const std::vector<std::string> args = CommandLineOf(p.pid);
    if (!args.empty() && args[0] == PROCSANDBOX_TEST_HELPER &&
        std::find(args.begin(), args.end(), marker) != args.end()) {
      found.push_back(p.pid);
    }
  }
  return found;
}

// Kills the helpers carrying `marker` and reaps them (this process is their
// reaper under a ScopedSubreaper).
inline void KillAndReapMarked(const std::string& marker) {
  for (pid_t pid : HelpersWithMarker(marker)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
}

// A fresh directory under gtest's temp dir, removed with everything in it
// when it goes out of scope. A body run in a death-test child makes its own
// there (the child re-runs the test and leaves through _Exit).
class ScopedTempDir {
 public:
  ScopedTempDir() {
    std::string pattern = ::testing::TempDir() + "procsandbox_XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~ScopedTempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  ScopedTempDir(const ScopedTempDir&) = delete;
  ScopedTempDir& operator=(const ScopedTempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace procsandbox

#endif  // PROCSANDBOX_TESTS_LINUX_PROCESS_INSPECTION_H_
