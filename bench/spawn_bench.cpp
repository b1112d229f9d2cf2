// The Linux spawn path (src/linux/spawn.cc) against posix_spawn, measured
// interleaved in the same run: spawn + wait of /bin/true and of the tiny
// static helper (no libc start-up, so the spawn path's own cost shows), with
// a small parent and with a parent holding 4 GiB of touched memory (where a
// fork-based spawn is 100x slower; CLONE_VM must stay flat).
//
//   build/release/bench/procsandbox_spawn_bench "[ratio]"
//
// Each round times every variant once per iteration, rotating which goes
// first; the figures are medians over all samples.
#define CATCH_CONFIG_MAIN
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench_util.h"
#include "catch2/catch.hpp"
#include "linux/spawn.h"

namespace {

using procsandbox::bench::Interleave;
using procsandbox::bench::Median;
using procsandbox::bench::PosixSpawnWait;
using procsandbox::bench::TouchedMemory;
using procsandbox::bench::Variant;
using procsandbox::linux_internal::Spawn;
using procsandbox::linux_internal::SpawnPlan;

// Spawn() with the setup a sandboxed child gets: own process group,
// no_new_privs, three rlimits, /dev/null on 0-2 (the caller's descriptors).
bool LibrarySpawn(const SpawnPlan& plan) {
  auto spawned = Spawn(plan);
  if (!spawned.ok()) return false;
  siginfo_t info = {};
  return waitid(static_cast<idtype_t>(P_PIDFD),
                static_cast<id_t>(spawned->pidfd.get()), &info, WEXITED) == 0 &&
         info.si_code == CLD_EXITED;
}

SpawnPlan PlanFor(const char* path, int null_fd) {
  SpawnPlan plan;
  plan.path = path;
  plan.argv = {path};
  plan.envp = {"PATH=/usr/bin:/bin"};
  plan.stdio = {null_fd, null_fd, null_fd};
  plan.rlimits = {{RLIMIT_CPU, 60, 60},
                  {RLIMIT_FSIZE, 1 << 30, 1 << 30},
                  {RLIMIT_NOFILE, 256, 256}};
  return plan;
}

void Report(const char* title, std::vector<Variant>& variants,
            std::size_t baseline) {
  std::printf("\n%s\n", title);
  const double base = Median(variants[baseline].samples);
  for (Variant& v : variants) {
    const double m = Median(v.samples);
    std::printf("  %-44s %8.1f us   %5.3fx %s\n", v.name.c_str(), m * 1e6,
                m / base,
                v.name == variants[baseline].name ? "(baseline)" : "");
  }
}

}  // namespace

TEST_CASE("Spawn() vs posix_spawn, interleaved", "[ratio]") {
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  REQUIRE(null_fd >= 0);
  const SpawnPlan true_plan = PlanFor("/bin/true", null_fd);
  const SpawnPlan tiny_plan = PlanFor(PROCSANDBOX_TINY_HELPER, null_fd);
  std::vector<Variant> variants = {
      {"posix_spawn+waitpid /bin/true",
       [] { return PosixSpawnWait("/bin/true"); },
       {}},
      {"Spawn()+waitid /bin/true (sandbox setup)",
       [&] { return LibrarySpawn(true_plan); },
       {}},
      {"posix_spawn+waitpid tiny static",
       [] { return PosixSpawnWait(PROCSANDBOX_TINY_HELPER); },
       {}},
      {"Spawn()+waitid tiny static (sandbox setup)",
       [&] { return LibrarySpawn(tiny_plan); },
       {}},
  };
  Interleave(variants, 1500);
  std::vector<Variant> true_pair = {variants[0], variants[1]};
  std::vector<Variant> tiny_pair = {variants[2], variants[3]};
  Report("small parent, /bin/true", true_pair, 0);
  Report("small parent, tiny static helper", tiny_pair, 0);

  // The same with 4 GiB of touched memory in the parent.
  TouchedMemory big(std::size_t{4} << 30);
  std::vector<Variant> large = {
      {"posix_spawn+waitpid /bin/true, 4 GiB parent",
       [] { return PosixSpawnWait("/bin/true"); },
       {}},
      {"Spawn()+waitid /bin/true, 4 GiB parent",
       [&] { return LibrarySpawn(true_plan); },
       {}},
  };
  Interleave(large, 500);
  Report("4 GiB parent, /bin/true", large, 0);
  const double small_spawn = Median(variants[1].samples);
  std::printf("  Spawn() with a 4 GiB parent / small parent: %5.3fx\n\n",
              Median(large[1].samples) / small_spawn);
  close(null_fd);
  CHECK(small_spawn > 0);
}
