// The POSIX backend (src/darwin) against its floors, interleaved in the same
// run:
//   "[spawn]": its spawn paths (posix_spawn; vfork for rlimits; fork, kept
//   for credential switches) against raw posix_spawn+waitpid of the tiny
//   static helper, with a small parent and with 1 GiB of touched memory in
//   the parent (where fork copies page tables); and the exit watcher's cost
//   (a thread per child blocking in waitid WNOWAIT) over a plain waitpid.
//
//   "[manager]": New+Start+Wait of the tiny helper through NewPosixManager
//   against the Linux manager (with and without cgroups, where it runs) and
//   raw posix_spawn+waitpid.
//
//   build/release/bench/procsandbox_posix_bench "[spawn]"
//   build/release/bench/procsandbox_posix_bench "[manager]"
//
// Each round times every variant once per iteration, rotating which goes
// first; the figures are medians over all samples.
#define CATCH_CONFIG_MAIN
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "bench_util.h"
#include "catch2/catch.hpp"
#include "darwin/exit_watch.h"
#include "darwin/spawn.h"
#include "procsandbox/command.h"
#include "procsandbox/manager.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/process.h"
#include "procsandbox/stdio.h"

namespace {

using procsandbox::bench::Interleave;
using procsandbox::bench::Median;
using procsandbox::bench::PosixSpawnWait;
using procsandbox::bench::TouchedMemory;
using procsandbox::bench::Variant;
using procsandbox::darwin_internal::ExitWatcher;
using procsandbox::darwin_internal::ForkKind;
using procsandbox::darwin_internal::SpawnByFork;
using procsandbox::darwin_internal::SpawnByPosixSpawn;
using procsandbox::darwin_internal::SpawnPlan;

constexpr char kTiny[] = PROCSANDBOX_TINY_HELPER;

bool Reaped(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status);
}

// The setup a child of the backend gets: own group, /dev/null on 0-2,
// every other descriptor closed.
SpawnPlan PlanFor(int null_fd) {
  SpawnPlan plan;
  plan.path = kTiny;
  plan.argv = {kTiny};
  plan.envp = {"PATH=/usr/bin:/bin"};
  plan.stdio = {null_fd, null_fd, null_fd};
  return plan;
}

void Report(const char* title, std::vector<Variant>& variants) {
  std::printf("\n%s\n", title);
  const double base = Median(variants[0].samples);
  for (Variant& v : variants) {
    const double m = Median(v.samples);
    std::printf("  %-52s %8.1f us   %5.3fx %s\n", v.name.c_str(), m * 1e6,
                m / base, &v == &variants[0] ? "(baseline)" : "");
  }
}

std::vector<Variant> SpawnVariants(const SpawnPlan& plan,
                                   const SpawnPlan& limited,
                                   const char* suffix) {
  return {
      {std::string("posix_spawn+waitpid tiny") + suffix,
       [] { return PosixSpawnWait(kTiny); },
       {}},
      {std::string("SpawnByPosixSpawn+waitpid") + suffix,
       [&plan] {
         auto pid = SpawnByPosixSpawn(plan);
         return pid.ok() && Reaped(*pid);
       },
       {}},
      {std::string("SpawnByFork(vfork)+waitpid, 3 rlimits") + suffix,
       [&limited] {
         auto pid = SpawnByFork(limited, ForkKind::kVfork);
         return pid.ok() && Reaped(*pid);
       },
       {}},
      {std::string("SpawnByFork(fork)+waitpid, 3 rlimits") + suffix,
       [&limited] {
         auto pid = SpawnByFork(limited, ForkKind::kFork);
         return pid.ok() && Reaped(*pid);
       },
       {}},
  };
}

bool ManagerSpawnWait(procsandbox::Manager& m) {
  procsandbox::Command cmd(kTiny);
  // The streams are the host's, as posix_spawn's; no limits.
  cmd.stdin_ = procsandbox::Stdio::Inherit();
  cmd.stdout_ = procsandbox::Stdio::Inherit();
  cmd.stderr_ = procsandbox::Stdio::Inherit();
  std::shared_ptr<procsandbox::Process> p = m.New(std::move(cmd));
  return p->Start().ok() && p->Wait().ok();
}

}  // namespace

TEST_CASE("POSIX manager vs Linux manager vs posix_spawn", "[manager]") {
  auto posix = procsandbox::NewPosixManager();
  REQUIRE(posix.ok());
  std::vector<Variant> v = {
      {"posix_spawn+waitpid tiny", [] { return PosixSpawnWait(kTiny); }, {}},
      {"NewPosixManager New+Start+Wait tiny",
       [&] { return ManagerSpawnWait(**posix); },
       {}},
  };
  procsandbox::OsManagerOptions off;
  off.cgroups = false;
  auto linux_plain = procsandbox::NewOsManager(off);
  auto linux_default = procsandbox::NewOsManager();
  if (linux_plain.ok()) {
    v.push_back({"NewOsManager (no cgroups) New+Start+Wait tiny",
                 [&] { return ManagerSpawnWait(**linux_plain); },
                 {}});
  }
  if (linux_default.ok()) {
    v.push_back({"NewOsManager (default) New+Start+Wait tiny",
                 [&] { return ManagerSpawnWait(**linux_default); },
                 {}});
  }
  Interleave(v, 1000);
  Report("Start+Wait through each manager", v);
  std::printf("\n");
  CHECK(Median(v[1].samples) > 0);
}

TEST_CASE("POSIX spawn paths vs posix_spawn, interleaved", "[spawn]") {
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  REQUIRE(null_fd >= 0);
  const SpawnPlan plan = PlanFor(null_fd);
  SpawnPlan limited = plan;
  limited.rlimits = {{RLIMIT_CPU, 60, 60},
                     {RLIMIT_FSIZE, 1 << 30, 1 << 30},
                     {RLIMIT_NOFILE, 256, 256}};

  std::vector<Variant> small = SpawnVariants(plan, limited, "");
  auto watcher = ExitWatcher::Create();
  REQUIRE(watcher.ok());
  small.push_back(
      {"SpawnByPosixSpawn+ExitWatcher+waitpid",
       [&] {
         auto pid = SpawnByPosixSpawn(plan);
         if (!pid.ok()) return false;
         absl::Notification exited;
         if (!(*watcher)->Watch(*pid, [&] { exited.Notify(); }).ok()) {
           return false;
         }
         exited.WaitForNotification();
         const bool ok = Reaped(*pid);
         (*watcher)->Forget(*pid);
         return ok;
       },
       {}});
  Interleave(small, 1000);
  Report("small parent, tiny static helper", small);

  TouchedMemory big(std::size_t{1} << 30);
  std::vector<Variant> large = SpawnVariants(plan, limited, ", 1 GiB parent");
  Interleave(large, 300);
  Report("1 GiB parent, tiny static helper", large);
  std::printf("\n");
  close(null_fd);
  CHECK(Median(small[1].samples) > 0);
}
