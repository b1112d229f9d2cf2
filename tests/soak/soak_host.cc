// The host as /proc and the cgroup file systems show it, for the soak's
// before/after comparison.
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "linux/cgroup.h"
#include "linux/cgroup_detect.h"
#include "soak.h"

namespace procsandbox::soak {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

namespace {

// The value of "Name:\t value kB" in /proc/self/status, or -1.
int64_t StatusField(const std::string& status, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(status, '\n')) {
    if (!absl::ConsumePrefix(&line, name) || !absl::ConsumePrefix(&line, ":")) {
      continue;
    }
    line = absl::StripAsciiWhitespace(line);
    absl::ConsumeSuffix(&line, " kB");
    int64_t value = 0;
    if (absl::SimpleAtoi(line, &value)) return value;
  }
  return -1;
}

std::vector<std::string> NumericEntries(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = opendir(dir.c_str())) {
    while (const dirent* entry = readdir(d)) {
      const std::string name = entry->d_name;
      if (!name.empty() &&
          name.find_first_not_of("0123456789") == std::string::npos) {
        names.push_back(name);
      }
    }
    closedir(d);
  }
  return names;
}

struct Stat {
  char state = '?';
  int64_t ppid = 0;
};

std::optional<Stat> ReadStat(const std::string& pid) {
  const std::string stat = ReadFile("/proc/" + pid + "/stat");
  // The command name may hold spaces and parentheses: fields follow the
  // last ')'.
  const std::size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  Stat s;
  if (!(fields >> s.state >> s.ppid)) return std::nullopt;
  return s;
}

// The parents this process's managers make their directories in.
std::vector<std::string> ManagerParents() {
  const linux_internal::CgroupHost host = linux_internal::DetectCgroupHost();
  std::vector<std::string> parents;
  if (!host.v2_group.empty()) parents.push_back(host.v2_group);
  for (const auto& h : host.v1) {
    if (!h.group.empty()) parents.push_back(h.group);
  }
  return parents;
}

std::vector<std::string> SubDirectories(const std::string& dir) {
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

}  // namespace

std::string MarkerValue() { return absl::StrCat(getpid()); }

HostSample SampleHost() {
  HostSample sample;
  // Minus the descriptor opendir holds while listing.
  sample.fds = static_cast<int64_t>(NumericEntries("/proc/self/fd").size()) - 1;
  const std::string status = ReadFile("/proc/self/status");
  sample.threads = StatusField(status, "Threads");
  sample.rss_kib = StatusField(status, "VmRSS");
  return sample;
}

void CountChildren(Leftovers& out) {
  const int64_t self = getpid();
  for (const std::string& pid : NumericEntries("/proc")) {
    const std::optional<Stat> stat = ReadStat(pid);
    if (!stat || stat->ppid != self) continue;
    ++out.children;
    if (stat->state == 'Z') ++out.zombies;
    out.details.push_back(
        absl::StrCat("child ", pid, " (state ", std::string(1, stat->state),
                     "): ", ReadFile("/proc/" + pid + "/comm")));
  }
}

int64_t CountProcessesRunning(const std::string& program,
                              std::vector<std::string>* pids) {
  std::error_code error;
  const std::filesystem::path want = std::filesystem::canonical(program, error);
  if (error) return 0;
  int64_t count = 0;
  for (const std::string& pid : NumericEntries("/proc")) {
    // The executable, however it was named (a zombie or a process that is
    // gone has none).
    const std::filesystem::path exe =
        std::filesystem::read_symlink("/proc/" + pid + "/exe", error);
    if (error || exe != want) continue;
    const std::string marker = absl::StrCat(kMarkerName, "=", MarkerValue());
    bool marked = false;
    for (absl::string_view var :
         absl::StrSplit(ReadFile("/proc/" + pid + "/environ"), '\0')) {
      marked = marked || var == marker;
    }
    if (!marked) continue;
    const std::optional<Stat> stat = ReadStat(pid);
    if (!stat || stat->state == 'Z') continue;
    ++count;
    if (pids != nullptr) pids->push_back(pid);
  }
  return count;
}

int64_t CountEntries(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return -1;
  int64_t count = 0;
  while (const dirent* entry = readdir(d)) {
    const absl::string_view name = entry->d_name;
    if (name != "." && name != "..") ++count;
  }
  closedir(d);
  return count;
}

int64_t CountManagerGroups(const std::vector<int64_t>& pids,
                           std::vector<std::string>* found) {
  const absl::StatusOr<linux_internal::ManagerGroupOwner> me =
      linux_internal::ThisProcessOwner();
  if (!me.ok()) return 0;
  int64_t count = 0;
  for (const std::string& parent : ManagerParents()) {
    for (const std::string& dir : SubDirectories(parent)) {
      const std::optional<linux_internal::ManagerGroupOwner> owner =
          linux_internal::ParseManagerGroupName(dir.substr(dir.rfind('/') + 1));
      if (!owner || owner->pid_namespace != me->pid_namespace) continue;
      bool ours = false;
      for (int64_t pid : pids) ours = ours || owner->pid == pid;
      if (!ours) continue;
      ++count;
      if (found != nullptr) found->push_back(dir);
    }
  }
  return count;
}

int64_t CountRunGroupsOfThisProcess() {
  std::vector<std::string> mine;
  CountManagerGroups({getpid()}, &mine);
  int64_t count = 0;
  for (const std::string& dir : mine) {
    count += static_cast<int64_t>(SubDirectories(dir).size());
  }
  return count;
}

absl::StatusOr<std::string> MakeScratchDir(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string path = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                                  "/", prefix, "-XXXXXX");
  if (mkdtemp(path.data()) == nullptr) {
    return absl::InternalError(
        absl::StrCat("mkdtemp \"", path, "\": ", std::strerror(errno)));
  }
  return path;
}

absl::Status RemoveTree(const std::string& path) {
  std::error_code error;
  std::filesystem::remove_all(path, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("remove \"", path, "\": ", error.message()));
  }
  return absl::OkStatus();
}

}  // namespace procsandbox::soak
