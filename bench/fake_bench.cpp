// Benchmarks of the in-memory manager, each against a baseline measured in
// the same run: a real posix_spawn + waitpid of /bin/true.
//
//   build/release/bench/procsandbox_fake_bench            # all cases
//   build/release/bench/procsandbox_fake_bench "[ratio]"  # the summary only
//
// The "[ratio]" case times the variants interleaved (round-robin, after a
// warm-up), takes medians of per-round means and prints runs/second and the
// ratio to the real spawn. The BENCHMARK cases give Catch2's own statistics.
#define CATCH_CONFIG_MAIN
#define CATCH_CONFIG_ENABLE_BENCHMARKING
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench_util.h"
#include "catch2/catch.hpp"
#include "procsandbox/memory_manager.h"
#include "procsandbox/run.h"

namespace {

bool SpawnTrueBaseline() {
  return procsandbox::bench::PosixSpawnWait("/bin/true");
}

using procsandbox::Command;
using procsandbox::FakeProcess;
using procsandbox::MemoryManager;
using procsandbox::MemoryManagerOptions;

MemoryManagerOptions BenchOptions() {
  MemoryManagerOptions options;
  options.history_limit = 1000;  // keep memory flat over millions of runs
  return options;
}

void RegisterPrograms(MemoryManager& fake) {
  fake.Register("true", [](FakeProcess&) { return 0; });
  fake.Register("build", [](FakeProcess& p) {
    static const std::string kKiB(1024, 'x');
    p.WriteStdout(kKiB);
    p.Sleep(absl::Seconds(1));
    return 0;
  });
}

bool FakeTrue(MemoryManager& fake) {
  std::shared_ptr<procsandbox::Process> p = fake.New(Command("true"));
  return p->Start().ok() && p->Wait().ok();
}

bool FakeBuild(MemoryManager& fake) {
  absl::StatusOr<procsandbox::RunResult> r =
      procsandbox::RunCommand(fake, Command("build"));
  return r.ok() && r->stdout_.size() == 1024;
}

// Mean seconds per call of `fn` over `n` calls.
double TimePerCall(int n, const std::function<bool()>& fn) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    if (!fn()) FAIL("benchmark step failed");
  }
  const std::chrono::duration<double> took =
      std::chrono::steady_clock::now() - start;
  return took.count() / n;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

TEST_CASE("fake run vs real spawn, interleaved", "[ratio]") {
  MemoryManager fake(BenchOptions());
  RegisterPrograms(fake);
  constexpr int kRounds = 15;
  constexpr int kFakeCalls = 20000;
  constexpr int kSpawnCalls = 100;
  std::vector<double> trivial, build, spawn;
  TimePerCall(1000, [&] { return FakeTrue(fake); });  // warm-up
  TimePerCall(20, SpawnTrueBaseline);
  for (int round = 0; round < kRounds; ++round) {
    trivial.push_back(TimePerCall(kFakeCalls, [&] { return FakeTrue(fake); }));
    build.push_back(TimePerCall(kFakeCalls, [&] { return FakeBuild(fake); }));
    spawn.push_back(TimePerCall(kSpawnCalls, SpawnTrueBaseline));
  }
  const double t = Median(trivial), b = Median(build), s = Median(spawn);
  std::printf(
      "\nfake New+Start+Wait (trivial):        %8.3f us  %10.0f runs/s  "
      "%6.0fx faster than a real spawn\n"
      "fake Run (1 KiB out, 1 s virtual):    %8.3f us  %10.0f runs/s  "
      "%6.0fx faster than a real spawn\n"
      "baseline posix_spawn+waitpid /bin/true %8.1f us\n\n",
      t * 1e6, 1 / t, s / t, b * 1e6, 1 / b, s / b, s * 1e6);
  CHECK(t > 0);
}

TEST_CASE("2,000 concurrent sleeping fake programs", "[many]") {
  MemoryManager fake(BenchOptions());
  fake.Register("sleep", [](FakeProcess& p) {
    p.Sleep(absl::Milliseconds(std::stoi(p.args()[0])));
    return 0;
  });
  constexpr int kPrograms = 2000;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<procsandbox::Process>> programs;
  for (int i = 0; i < kPrograms; ++i) {
    programs.push_back(fake.New(Command("sleep", {std::to_string(i + 1)})));
    REQUIRE(programs.back()->Start().ok());
  }
  for (const auto& p : programs) REQUIRE(p->Wait().ok());
  const std::chrono::duration<double> took =
      std::chrono::steady_clock::now() - start;
  std::printf(
      "\n%d programs sleeping 1..%d ms of virtual time, all at once: %.3f s "
      "(one thread each; the same 2,000 as real children: see os_bench)\n\n",
      kPrograms, kPrograms, took.count());
  CHECK(took.count() > 0);
}

TEST_CASE("fake benchmarks", "[bench]") {
  MemoryManager fake(BenchOptions());
  RegisterPrograms(fake);
  BENCHMARK("fake New+Start+Wait of a trivial program") {
    return FakeTrue(fake);
  };
  BENCHMARK("fake Run: 1 KiB of output and 1 s of virtual sleep") {
    return FakeBuild(fake);
  };
  BENCHMARK("baseline: posix_spawn+waitpid of /bin/true") {
    return SpawnTrueBaseline();
  };
}
