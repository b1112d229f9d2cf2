#include "slurm/child_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "fmt/format.h"

extern char** environ;

namespace procsandbox::slurm_testing {
namespace {

constexpr std::array<absl::string_view, 9> kSlurmVariablePrefixes = {
    "SLURM_",  "SLURMD_", "SQUEUE_",  "SINFO_", "SRUN_",
    "SALLOC_", "SBATCH_", "SCANCEL_", "SACCT_"};

// argv/envp arrays pointing into `strings` (which must outlive them).
std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// posix_spawn with every signal reset to its default and none blocked: the
// test runner may block or ignore some, and the daemons must see SIGTERM.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env,
                            posix_spawn_file_actions_t* actions) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/') {
    return absl::InvalidArgumentError(fmt::format(
        "spawn \"{}\": not an absolute path", argv.empty() ? "" : argv[0]));
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> c_argv = CStrings(argv);
  std::vector<char*> c_env = CStrings(env);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0].c_str(), actions, &attr,
                                c_argv.data(), c_env.data());
  posix_spawnattr_destroy(&attr);
  if (error != 0) {
    return ErrnoStatus(error, fmt::format("spawn \"{}\"", argv[0]));
  }
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> SubdirectoriesOf(const std::string& path) {
  std::vector<std::string> out;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_type != DT_DIR || std::strcmp(e->d_name, ".") == 0 ||
        std::strcmp(e->d_name, "..") == 0) {
      continue;
    }
    out.push_back(path + "/" + e->d_name);
  }
  closedir(dir);
  return out;
}

// Empties the cgroup at `path` and its subgroups and removes them, deepest
// first. A frozen group (a suspended job) is thawed so SIGKILL lands.
absl::Status RemoveCgroupTree(const std::string& path) {
  absl::Status first;
  for (const std::string& child : SubdirectoriesOf(path)) {
    absl::Status s = RemoveCgroupTree(child);
    if (first.ok()) first = s;
  }
  if (access((path + "/freezer.state").c_str(), W_OK) == 0) {
    std::ofstream(path + "/freezer.state") << "THAWED";
  }
  if (access((path + "/cgroup.freeze").c_str(), W_OK) == 0) {
    std::ofstream(path + "/cgroup.freeze") << "0";
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (true) {
    const std::string procs = ReadFile(path + "/cgroup.procs");
    if (procs.empty()) break;
    for (absl::string_view line :
         absl::StrSplit(procs, '\n', absl::SkipEmpty())) {
      const int pid = std::atoi(std::string(line).c_str());
      if (pid > 0 && pid != getpid()) kill(pid, SIGKILL);
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(fmt::format(
          "empty cgroup \"{}\": processes left after 10 s: {}", path, procs));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  // rmdir can see EBUSY for a moment after the last task left.
  for (int attempt = 0;; ++attempt) {
    if (rmdir(path.c_str()) == 0 || errno == ENOENT) break;
    if (errno != EBUSY || attempt == 200) {
      const absl::Status s =
          ErrnoStatus(errno, fmt::format("rmdir \"{}\"", path));
      return first.ok() ? s : first;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return first;
}

// Mount points of the cgroup (v1) and cgroup2 file systems.
std::vector<std::string> CgroupMounts() {
  std::vector<std::string> out;
  std::ifstream mounts("/proc/self/mounts");
  std::string line;
  while (std::getline(mounts, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ');
    if (f.size() >= 3 && (f[2] == "cgroup" || f[2] == "cgroup2")) {
      out.push_back(f[1]);
    }
  }
  return out;
}

}  // namespace

absl::Status ErrnoStatus(int error, absl::string_view action) {
  const char* name = strerrorname_np(error);
  return absl::ErrnoToStatus(
      error,
      fmt::format("{}: {} ({})", std::string(action), std::strerror(error),
                  name != nullptr ? name : std::to_string(error)));
}

std::optional<std::string> FindProgram(absl::string_view name) {
  if (absl::StrContains(name, '/')) {
    if (access(std::string(name).c_str(), X_OK) == 0) return std::string(name);
    return std::nullopt;
  }
  const char* path_env = std::getenv("PATH");
  std::vector<std::string> dirs = absl::StrSplit(
      path_env != nullptr ? path_env : "", ':', absl::SkipEmpty());
  dirs.emplace_back("/usr/sbin");
  dirs.emplace_back("/sbin");
  for (const std::string& dir : dirs) {
    std::string candidate = absl::StrCat(dir, "/", name);
    struct stat st;
    if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return std::nullopt;
}

std::vector<std::string> ClientEnvironment(const std::string& conf_path) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    bool slurm = false;
    for (absl::string_view prefix : kSlurmVariablePrefixes) {
      slurm = slurm || absl::StartsWith(entry, prefix);
    }
    if (!slurm) env.emplace_back(entry);
  }
  env.push_back("SLURM_CONF=" + conf_path);
  return env;
}

absl::StatusOr<pid_t> SpawnDaemon(const std::vector<std::string>& argv,
                                  const std::vector<std::string>& env,
                                  const std::string& log_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  absl::StatusOr<pid_t> pid = Spawn(argv, env, &actions);
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

bool ChildExited(pid_t pid) {
  if (pid <= 0) return true;
  int status = 0;
  const pid_t r = waitpid(pid, &status, WNOHANG);
  return r == pid || (r < 0 && errno == ECHILD);
}

bool StopChild(pid_t pid, absl::Duration grace) {
  if (ChildExited(pid)) return true;
  kill(pid, SIGTERM);
  const absl::Time deadline = absl::Now() + grace;
  while (absl::Now() < deadline) {
    if (ChildExited(pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return false;
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& env,
                                         absl::Duration timeout) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe2");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    const int error = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return ErrnoStatus(error, "pipe2");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  absl::StatusOr<pid_t> pid = Spawn(argv, env, &actions);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (!pid.ok()) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return pid.status();
  }
  CommandResult result;
  std::array<pollfd, 2> fds = {pollfd{out_pipe[0], POLLIN, 0},
                               pollfd{err_pipe[0], POLLIN, 0}};
  std::array<std::string*, 2> sinks = {&result.out, &result.err};
  const absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    const int n = poll(fds.data(), fds.size(),
                       static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (n < 0 && errno != EINTR) break;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  if (timed_out) kill(*pid, SIGKILL);
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    return absl::DeadlineExceededError(
        fmt::format("run \"{}\": still running after {}; killed; stderr: {}",
                    argv[0], absl::FormatDuration(timeout), result.err));
  }
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.signal = WTERMSIG(status);
  }
  return result;
}

std::string TailOfFile(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > static_cast<size_t>(lines)) last.pop_front();
  }
  std::string out;
  for (const std::string& l : last) out += l + "\n";
  return out;
}

std::vector<pid_t> KillProcessesWithEnvironment(const std::string& entry) {
  std::vector<pid_t> killed;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return killed;
  while (dirent* e = readdir(proc)) {
    const int pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    const std::string environ_text =
        ReadFile(fmt::format("/proc/{}/environ", pid));
    for (absl::string_view var : absl::StrSplit(environ_text, '\0')) {
      if (var == entry) {
        if (kill(pid, SIGKILL) == 0) killed.push_back(pid);
        break;
      }
    }
  }
  closedir(proc);
  // kill() returns before the process is gone: wait (bounded) until each
  // is reaped or a zombie, so that the caller's next look finds none.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  for (pid_t pid : killed) {
    while (ProcessRunning(pid) && absl::Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return killed;
}

bool ProcessRunning(pid_t pid) {
  const std::string stat = ReadFile(fmt::format("/proc/{}/stat", pid));
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  return stat[paren + 2] != 'Z' && stat[paren + 2] != 'X';
}

absl::Status RemoveCgroups(const std::vector<std::string>& names) {
  absl::Status first;
  for (const std::string& mount : CgroupMounts()) {
    for (const std::string& name : names) {
      for (const std::string& path :
           {fmt::format("{}/{}", mount, name),
            fmt::format("{}/system.slice/{}", mount, name)}) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        absl::Status s = RemoveCgroupTree(path);
        if (first.ok()) first = s;
      }
    }
  }
  return first;
}

}  // namespace procsandbox::slurm_testing
