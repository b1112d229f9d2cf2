// The procsandbox command as a whole process, against the tools a script
// would use instead: its start-up and exit cost around /bin/true, and how
// late its --timeout ends a program.
//
//   build/release/bench/procsandbox_command_bench "[command]"
//
// Every variant is a process spawned and waited for (wall time, fork/exec
// included), interleaved round-robin with a rotating first variant; medians
// from the same run.
#define CATCH_CONFIG_MAIN
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.h"
#include "catch2/catch.hpp"

namespace {

using procsandbox::bench::Interleave;
using procsandbox::bench::Median;
using procsandbox::bench::Percentile;
using procsandbox::bench::Variant;

constexpr char kCli[] = PROCSANDBOX_CLI;

// Spawns `argv` (searched in PATH) with /dev/null on 0, 1 and 2, waits, and
// says whether it exited with `want`.
bool SpawnWait(const std::vector<std::string>& args, int want) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.data()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int error =
      posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return false;
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == want;
}

Variant Process(const std::string& name, std::vector<std::string> args,
                int want = 0) {
  return {name, [args, want] { return SpawnWait(args, want); }, {}};
}

void Print(const Variant& v, double subtract = 0) {
  std::printf("  %-62s median %7.2f ms  p99 %7.2f ms\n", v.name.c_str(),
              (Median(v.samples) - subtract) * 1e3,
              (Percentile(v.samples, 0.99) - subtract) * 1e3);
}

}  // namespace

TEST_CASE("the command around /bin/true vs prlimit + timeout", "[command]") {
  // The same limits on both sides: 256 MiB of memory, 5 s of wall time.
  std::vector<Variant> v = {
      Process("procsandbox run --quiet --memory 256M --timeout 5s /bin/true",
              {kCli, "run", "--quiet", "--memory", "256M", "--timeout", "5s",
               "--", "/bin/true"}),
      Process("prlimit --as=268435456 timeout 5 /bin/true",
              {"prlimit", "--as=268435456", "timeout", "5", "/bin/true"}),
      Process("timeout 5 /bin/true", {"timeout", "5", "/bin/true"}),
      Process("procsandbox version", {kCli, "version"}),
  };
  Interleave(v, 200);
  std::printf("\nwhole process, spawn to reaped (n=%zu each):\n",
              v[0].samples.size());
  for (const Variant& x : v) Print(x);
  std::printf("  command / (prlimit + timeout): %.2fx\n\n",
              Median(v[0].samples) / Median(v[1].samples));
}

TEST_CASE("the command's --timeout 100ms vs timeout 0.1", "[command]") {
  std::vector<Variant> v = {
      Process(
          "procsandbox run --quiet --timeout 100ms sleep 10",
          {kCli, "run", "--quiet", "--timeout", "100ms", "--", "sleep", "10"},
          124),
      Process("timeout 0.1 sleep 10", {"timeout", "0.1", "sleep", "10"}, 124),
  };
  Interleave(v, 150);
  std::printf(
      "\nlate past 100 ms, spawn to reaped minus 100 ms (n=%zu each):\n",
      v[0].samples.size());
  for (const Variant& x : v) Print(x, 0.1);
  std::printf("  command / timeout, late by: median %.2fx  p99 %.2fx\n\n",
              (Median(v[0].samples) - 0.1) / (Median(v[1].samples) - 0.1),
              (Percentile(v[0].samples, 0.99) - 0.1) /
                  (Percentile(v[1].samples, 0.99) - 0.1));
}
