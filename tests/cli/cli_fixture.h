// The fixture of the tests of the `procsandbox` command: it runs the tool
// (as installed) with arguments, stdio in files of a fresh temporary
// directory, and gives back its exit status, stdout and stderr.
#ifndef PROCSANDBOX_TESTS_CLI_CLI_FIXTURE_H_
#define PROCSANDBOX_TESTS_CLI_CLI_FIXTURE_H_

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

extern "C" char** environ;

namespace procsandbox_cli_test {

using json = nlohmann::json;

inline constexpr char kTool[] = PROCSANDBOX_CLI;

// Starts the tool with `args` (after the tool's name) and its stdout the
// write end of a new pipe; returns its pid (0 on failure) and the read end
// in `read_end`.
inline pid_t SpawnIntoPipe(std::vector<std::string> args, int& read_end) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return 0;
  args.insert(args.begin(), kTool);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  pid_t pid = 0;
  if (posix_spawn(&pid, kTool, &actions, nullptr, argv.data(), environ) != 0) {
    pid = 0;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  read_end = fds[0];
  return pid;
}

inline constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

struct ToolRun {
  int status = -1;  // the exit status, or 128+N for a signal
  std::string out;
  std::string err;
  json Json() const { return json::parse(out); }
};

// How a test starts the tool besides its arguments.
struct SpawnOptions {
  std::string stdin_path = "/dev/null";
  std::optional<rlim_t> open_files;  // the tool's RLIMIT_NOFILE
  std::string cgroup_procs;          // a cgroup.procs file the tool joins
  std::optional<uid_t> user;         // the tool runs as this uid (and gid)
};

// The exit status, or 128+N for a signal.
inline int StatusOf(int wstatus) {
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

// Waits for `pid`; a guard against a hang (far beyond what the test needs)
// kills it and returns -1.
inline int WaitExit(pid_t pid, absl::Duration guard = absl::Seconds(60)) {
  const absl::Time give_up = absl::Now() + guard;
  int wstatus = 0;
  while (true) {
    const pid_t done = waitpid(pid, &wstatus, WNOHANG);
    if (done == pid) return StatusOf(wstatus);
    if (done < 0) return -1;
    if (absl::Now() > give_up) {
      kill(pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
      ADD_FAILURE() << "the tool did not end; killed";
      return -1;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/procsandbox-cli-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    ASSERT_EQ(std::system(("rm -rf '" + dir_ + "'").c_str()), 0);
  }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  // Runs the tool with `args` (stdin /dev/null), stdout to `out` (default a
  // file of the test, read into ToolRun::out) and stderr to a file.
  ToolRun Run(std::vector<std::string> args, std::string out = "",
              const SpawnOptions& options = {}) {
    const bool own_out = out.empty();
    if (own_out) out = Path(".out");
    const std::string err = Path(".err");
    ToolRun run;
    const pid_t pid = Spawn(std::move(args), out, err, options);
    if (pid <= 0) return run;
    run.status = WaitExit(pid);
    if (own_out) run.out = ReadFile(out);
    run.err = ReadFile(err);
    return run;
  }

  pid_t Spawn(std::vector<std::string> args, const std::string& out,
              const std::string& err, const SpawnOptions& options = {}) {
    args.insert(args.begin(), kTool);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Only async-signal-safe calls in the child.
    const pid_t pid = fork();
    if (pid == 0) {
      const int in = open(options.stdin_path.c_str(), O_RDONLY);
      const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in < 0 || o < 0 || e < 0) _exit(121);
      if (dup2(in, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0) _exit(122);
      if (options.open_files) {
        const struct rlimit limit = {*options.open_files, *options.open_files};
        if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(123);
      }
      if (!options.cgroup_procs.empty()) {
        const int procs = open(options.cgroup_procs.c_str(), O_WRONLY);
        if (procs < 0 || write(procs, "0", 1) != 1) _exit(124);
        close(procs);
      }
      if (options.user.has_value() &&
          (setgroups(0, nullptr) != 0 ||
           setresgid(*options.user, *options.user, *options.user) != 0 ||
           setresuid(*options.user, *options.user, *options.user) != 0)) {
        _exit(125);
      }
      execve(kTool, argv.data(), environ);
      _exit(127);
    }
    EXPECT_GT(pid, 0) << "fork: " << std::strerror(errno);
    return pid;
  }

  // What the tool says enforces `limit` here ("cgroup-v1", "rlimit", ...).
  std::string MechanismOf(const std::string& limit) {
    ToolRun doctor = Run({"doctor", "--json"});
    return doctor.Json()["limits"][limit]["mechanism"].get<std::string>();
  }

  std::string dir_;
};

}  // namespace procsandbox_cli_test

#endif  // PROCSANDBOX_TESTS_CLI_CLI_FIXTURE_H_
