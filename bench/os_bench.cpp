// The Linux OS manager against its floors, each measured in the same run.
//
//   build/release/bench/procsandbox_os_bench "[spawn]"     # vs posix_spawn
//   build/release/bench/procsandbox_os_bench "[many]"      # 2,000 children
//   build/release/bench/procsandbox_os_bench "[capture]"   # vs raw read loops
//   build/release/bench/procsandbox_os_bench "[deadline]"  # timeout precision
//   build/release/bench/procsandbox_os_bench "[cgroup]"    # vs no cgroup
//   build/release/bench/procsandbox_os_bench "[monitor]"   # vs no samples
//
// Variants that are compared run interleaved (round-robin, rotating the
// first), and ratios are ratios of medians from the same run.
#define CATCH_CONFIG_MAIN
#include <dirent.h>
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
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench_util.h"
#include "catch2/catch.hpp"
#include "procsandbox/procsandbox.h"

namespace {

using procsandbox::Command;
using procsandbox::Manager;
using procsandbox::Stdio;
using procsandbox::bench::Interleave;
using procsandbox::bench::Median;
using procsandbox::bench::Percentile;
using procsandbox::bench::PosixSpawnWait;
using procsandbox::bench::TouchedMemory;
using procsandbox::bench::Variant;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
constexpr char kTiny[] = PROCSANDBOX_TINY_HELPER;

std::unique_ptr<Manager> NewManager(
    procsandbox::OsManagerOptions options = {}) {
  auto m = procsandbox::NewOsManager(options);
  if (!m.ok()) FAIL(std::string(m.status().message()));
  return *std::move(m);
}

double Now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool ManagerSpawnWait(Manager& m, const char* path,
                      const procsandbox::Limits& limits = {}) {
  Command cmd(path);
  cmd.limits = limits;
  // Capture off, no limits: the streams are the host's, as posix_spawn's.
  cmd.stdin_ = Stdio::Inherit();
  cmd.stdout_ = Stdio::Inherit();
  cmd.stderr_ = Stdio::Inherit();
  std::shared_ptr<procsandbox::Process> p = m.New(std::move(cmd));
  return p->Start().ok() && p->Wait().ok();
}

long StatusField(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0)
      return std::stol(line.substr(std::strlen(field)));
  }
  return -1;
}

// This process's CPU time (user + system), in seconds.
double SelfCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int OpenFds() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n - 3;  // ".", "..", and the DIR's own descriptor
}

}  // namespace

TEST_CASE("spawn+wait through the manager vs posix_spawn", "[spawn]") {
  // The spawn path itself: no cgroup (they cost extra, see "[cgroup]").
  procsandbox::OsManagerOptions off;
  off.cgroups = false;
  auto m = NewManager(off);
  auto grouped = NewManager();
  std::vector<Variant> v = {
      {"posix_spawn+waitpid /bin/true",
       [] { return PosixSpawnWait("/bin/true"); },
       {}},
      {"manager New+Start+Wait /bin/true",
       [&] { return ManagerSpawnWait(*m, "/bin/true"); },
       {}},
      {"posix_spawn+waitpid tiny", [] { return PosixSpawnWait(kTiny); }, {}},
      {"manager New+Start+Wait tiny",
       [&] { return ManagerSpawnWait(*m, kTiny); },
       {}},
  };
  v.push_back({"manager with cgroups (default) /bin/true",
               [&] { return ManagerSpawnWait(*grouped, "/bin/true"); },
               {}});
  Interleave(v, 1000);
  const double small = Median(v[1].samples);
  std::printf("\n%-40s %8.1f us  %.3fx posix_spawn\n", v[4].name.c_str(),
              Median(v[4].samples) * 1e6,
              Median(v[4].samples) / Median(v[0].samples));
  std::printf(
      "\n%-40s %8.1f us\n%-40s %8.1f us  %.3fx\n%-40s %8.1f us\n%-40s %8.1f us "
      " %.3fx\n",
      v[0].name.c_str(), Median(v[0].samples) * 1e6, v[1].name.c_str(),
      small * 1e6, small / Median(v[0].samples), v[2].name.c_str(),
      Median(v[2].samples) * 1e6, v[3].name.c_str(), Median(v[3].samples) * 1e6,
      Median(v[3].samples) / Median(v[2].samples));

  std::optional<TouchedMemory> big(std::in_place, std::size_t{4} << 30);
  std::vector<Variant> large = {
      {"posix_spawn+waitpid /bin/true, 4 GiB parent",
       [] { return PosixSpawnWait("/bin/true"); },
       {}},
      {"manager /bin/true, 4 GiB parent",
       [&] { return ManagerSpawnWait(*m, "/bin/true"); },
       {}},
  };
  Interleave(large, 400);
  big.reset();
  std::printf(
      "%-40s %8.1f us\n%-40s %8.1f us  %.3fx posix_spawn, %.3fx its "
      "small-parent figure\n\n",
      large[0].name.c_str(), Median(large[0].samples) * 1e6,
      large[1].name.c_str(), Median(large[1].samples) * 1e6,
      Median(large[1].samples) / Median(large[0].samples),
      Median(large[1].samples) / small);
  CHECK(small > 0);
}

TEST_CASE("2,000 concurrent sleeping children", "[many]") {
  auto m = NewManager();
  constexpr int kChildren = 2000;
  const long threads_before = StatusField("Threads:");
  const long rss_before = StatusField("VmRSS:");
  const int fds_before = OpenFds();
  std::vector<std::shared_ptr<procsandbox::Process>> children;
  const double t0 = Now();
  for (int i = 0; i < kChildren; ++i) {
    Command cmd(kHelper, {"sleep-forever"});
    auto p = m->New(std::move(cmd));
    REQUIRE(p->Start().ok());
    children.push_back(std::move(p));
  }
  const double spawned = Now() - t0;
  const long threads = StatusField("Threads:");
  const long rss = StatusField("VmRSS:");
  const int fds = OpenFds();
  const double k0 = Now();
  for (auto& p : children) REQUIRE(p->Kill().ok());
  for (auto& p : children) REQUIRE(p->Wait().ok());
  const double killed = Now() - k0;
  std::printf(
      "\n%d children: spawned in %.3f s (%.0f/s); threads %ld -> %ld; parent "
      "RSS +%ld KiB "
      "(%.1f KiB/child); descriptors %.2f per child; kill+reap all %.1f ms\n\n",
      kChildren, spawned, kChildren / spawned, threads_before, threads,
      rss - rss_before, static_cast<double>(rss - rss_before) / kChildren,
      static_cast<double>(fds - fds_before) / kChildren, killed * 1e3);
  CHECK(threads == threads_before);
}

// The capture benchmarks' writer: the test helper writing `bytes` of its
// pattern into a pipe as large as the manager's (OsManagerOptions'
// capture_pipe_bytes, 1 MiB), read by `drain`. The same program and pipe
// for the raw loops and for the manager.
constexpr long long kCaptureBytes = 1LL << 30;
constexpr int kCapturePipe = 1 << 20;

template <typename Drain>
bool RawCapture(long long bytes, Drain drain) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  fcntl(fds[0], F_SETPIPE_SZ, kCapturePipe);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  const std::string count = std::to_string(bytes);
  pid_t pid = 0;
  char* argv[] = {const_cast<char*>(kHelper), const_cast<char*>("write-stdout"),
                  const_cast<char*>(count.c_str()), nullptr};
  const bool spawned =
      posix_spawn(&pid, kHelper, &actions, nullptr, argv, environ) == 0;
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  const long long total = spawned ? drain(fds[0]) : -1;
  close(fds[0]);
  int status = 0;
  if (spawned) waitpid(pid, &status, 0);
  return total == bytes;
}

// Runs `v` `rounds` times after one warm-up round, round-robin, rotating
// the first variant; prints the medians and v[k]'s ratio to v[0]'s.
void CaptureRounds(std::vector<Variant>& v, int rounds) {
  for (int i = -1; i < rounds; ++i) {
    for (std::size_t k = 0; k < v.size(); ++k) {
      Variant& x = v[(k + static_cast<std::size_t>(i + 1)) % v.size()];
      const double t0 = Now();
      REQUIRE(x.run());
      if (i >= 0) x.samples.push_back(Now() - t0);
    }
  }
  const double gib = static_cast<double>(kCaptureBytes) / (1 << 30);
  std::printf("\n");
  for (const Variant& x : v) {
    std::printf("%-44s %6.2f GiB/s  %.2fx %s (medians of %d; %.2f-%.2f s)\n",
                x.name.c_str(), gib / Median(x.samples),
                Median(v[0].samples) / Median(x.samples), v[0].name.c_str(),
                rounds, *std::min_element(x.samples.begin(), x.samples.end()),
                *std::max_element(x.samples.begin(), x.samples.end()));
  }
  std::printf("\n");
}

TEST_CASE("capture 1 GiB, 64 MiB kept, vs a raw loop with one 1 MiB buffer",
          "[capture][capture-bounded]") {
  auto m = NewManager();
  auto raw = [] {
    return RawCapture(kCaptureBytes, [](int fd) {
      static std::vector<char> block(kCapturePipe);
      long long total = 0;
      for (ssize_t n; (n = read(fd, block.data(), block.size())) > 0;)
        total += n;
      return total;
    });
  };
  auto managed = [&] {
    Command cmd(kHelper, {"write-stdout", std::to_string(kCaptureBytes)});
    cmd.limits.output_bytes = 64 << 20;  // keep 64 MiB, read and drop the rest
    auto r = procsandbox::RunCommand(*m, std::move(cmd));
    return r.ok() && r->stdout_truncated && r->stdout_.size() == 64 << 20;
  };
  // The same with nothing kept: the path that reads and drops alone.
  auto dropped = [&] {
    Command cmd(kHelper, {"write-stdout", std::to_string(kCaptureBytes)});
    cmd.limits.output_bytes = 1;
    auto r = procsandbox::RunCommand(*m, std::move(cmd));
    return r.ok() && r->stdout_truncated && r->stdout_.size() == 1;
  };
  std::vector<Variant> v = {
      {"raw read loop, one reused 1 MiB buffer", raw, {}},
      {"manager capture (Run), 64 MiB kept", managed, {}},
      {"manager capture (Run), 1 byte kept", dropped, {}}};
  CaptureRounds(v, 15);
  CHECK(Median(v[1].samples) > 0);
}

TEST_CASE("capture 1 GiB, all kept, vs a raw loop into a growing string",
          "[capture][capture-all]") {
  auto m = NewManager();
  auto raw = [] {
    return RawCapture(kCaptureBytes, [](int fd) {
      // Fresh memory, as the manager's: the string the caller gets, grown
      // by resize() (geometric) as the reads need room.
      std::string out;
      std::size_t size = 0;
      for (;;) {
        if (out.size() - size < kCapturePipe) out.resize(size + kCapturePipe);
        const ssize_t n = read(fd, out.data() + size, out.size() - size);
        if (n <= 0) break;
        size += static_cast<std::size_t>(n);
      }
      out.resize(size);
      return static_cast<long long>(out.size());
    });
  };
  auto managed = [&] {
    Command cmd(kHelper, {"write-stdout", std::to_string(kCaptureBytes)});
    auto r = procsandbox::RunCommand(*m, std::move(cmd));
    return r.ok() && !r->stdout_truncated &&
           static_cast<long long>(r->stdout_.size()) == kCaptureBytes;
  };
  std::vector<Variant> v = {
      {"raw read loop into a growing std::string", raw, {}},
      {"manager capture (Run), all kept", managed, {}}};
  CaptureRounds(v, 5);
  CHECK(Median(v[1].samples) > 0);
}

TEST_CASE("deadline precision", "[deadline]") {
  auto m = NewManager();
  for (absl::Duration limit :
       {absl::Milliseconds(100), absl::Milliseconds(400)}) {
    std::vector<double> late;
    const int n = limit < absl::Milliseconds(200) ? 100 : 25;
    for (int i = 0; i < n; ++i) {
      Command cmd(kHelper, {"sleep-forever"});
      cmd.limits.wall_time = limit;
      cmd.kill_grace = absl::ZeroDuration();  // SIGKILL at the deadline
      auto r = procsandbox::RunCommand(*m, std::move(cmd));
      REQUIRE(r.ok());
      late.push_back(absl::ToDoubleMicroseconds(r->outcome.wall_time - limit));
    }
    std::printf(
        "\ndeadline %s: start->reaped minus the limit: median %.0f us, p90 "
        "%.0f us, "
        "p99 %.0f us, max %.0f us (n=%d)\n",
        absl::FormatDuration(limit).c_str(), Median(late),
        Percentile(late, 0.9), Percentile(late, 0.99), Percentile(late, 1.0),
        n);
  }
  std::printf("\n");
}

TEST_CASE("spawn+wait with cgroups vs the plain path", "[cgroup]") {
  procsandbox::OsManagerOptions off;
  off.cgroups = false;
  auto plain = NewManager(off);
  auto grouped = NewManager();
  const procsandbox::Capabilities caps = grouped->capabilities();
  std::printf("\n%s\n", procsandbox::ToString(caps).c_str());
  if (!caps.Has("cgroups")) {
    WARN("no usable cgroup here: nothing to compare");
    return;
  }
  procsandbox::Limits limits;
  limits.memory_bytes = 64 << 20;
  limits.processes = 32;
  std::vector<Variant> v = {
      {"plain: no cgroup, no limits",
       [&] { return ManagerSpawnWait(*plain, "/bin/true"); },
       {}},
      {"plain: no cgroup, memory+pids as rlimits",
       [&] { return ManagerSpawnWait(*plain, "/bin/true", limits); },
       {}},
      {"cgroups: tree group only (no limits)",
       [&] { return ManagerSpawnWait(*grouped, "/bin/true"); },
       {}},
      {"cgroups: memory+pids limits",
       [&] { return ManagerSpawnWait(*grouped, "/bin/true", limits); },
       {}},
      {"cgroups: memory+pids limits, tiny",
       [&] { return ManagerSpawnWait(*grouped, kTiny, limits); },
       {}},
      {"plain: no cgroup, no limits, tiny",
       [&] { return ManagerSpawnWait(*plain, kTiny); },
       {}},
  };
  Interleave(v, 1000);
  const double base = Median(v[0].samples);
  const double tiny_base = Median(v[5].samples);
  std::printf("\n/bin/true:\n");
  for (std::size_t i = 0; i < 4; ++i) {
    std::printf("  %-44s %8.1f us  %.3fx\n", v[i].name.c_str(),
                Median(v[i].samples) * 1e6, Median(v[i].samples) / base);
  }
  std::printf(
      "tiny static helper:\n  %-44s %8.1f us\n  %-44s %8.1f us  "
      "%.3fx\n\n",
      v[5].name.c_str(), tiny_base * 1e6, v[4].name.c_str(),
      Median(v[4].samples) * 1e6, Median(v[4].samples) / tiny_base);
  CHECK(base > 0);
}

TEST_CASE("spawn+wait of a busy program, sampled every 10 ms vs not",
          "[monitor]") {
  auto m = NewManager();
  int64_t samples = 0;
  // 100 ms of CPU: ~10 samples in each monitored run.
  auto run = [&m, &samples](bool monitored) {
    Command cmd(kHelper, {"burn-ms", "100"});
    cmd.stdin_ = Stdio::Inherit();
    cmd.stdout_ = Stdio::Inherit();
    cmd.stderr_ = Stdio::Inherit();
    cmd.monitor.enabled = monitored;
    cmd.monitor.interval = absl::Milliseconds(10);
    std::shared_ptr<procsandbox::Process> p = m->New(std::move(cmd));
    if (!p->Start().ok()) return false;
    absl::StatusOr<procsandbox::Outcome> outcome = p->Wait();
    if (outcome.ok()) samples += static_cast<int64_t>(outcome->samples.size());
    return outcome.ok() && outcome->ok() &&
           outcome->samples.empty() != monitored;
  };
  std::vector<Variant> v = {
      {"not monitored", [&] { return run(false); }, {}},
      {"monitored every 10 ms", [&] { return run(true); }, {}},
  };
  // The host's own CPU (the loop thread's sampling shows here), per run.
  const double cpu_before = SelfCpuSeconds();
  Interleave(v, 100);
  const double cpu = SelfCpuSeconds() - cpu_before;
  // Each variant's host CPU, measured alone after the interleaved timing.
  int64_t monitored_samples = 0;
  auto host_cpu_per_run = [&](bool monitored) {
    samples = 0;
    const double before = SelfCpuSeconds();
    for (int i = 0; i < 50; ++i) {
      if (!run(monitored)) FAIL("benchmark step failed");
    }
    monitored_samples = samples;
    return (SelfCpuSeconds() - before) / 50;
  };
  const double off_cpu = host_cpu_per_run(false);
  const double on_cpu = host_cpu_per_run(true);
  const double off = Median(v[0].samples);
  const double on = Median(v[1].samples);
  std::printf(
      "\nburn-ms 100 (spawn+wait):\n  %-24s %8.2f ms wall  %6.0f us host CPU\n"
      "  %-24s %8.2f ms wall  %6.0f us host CPU  (%.3fx wall, +%.0f us "
      "host CPU per run, ~%.1f us per sample)\n  (host CPU in the "
      "interleaved runs: %.2f s)\n\n",
      v[0].name.c_str(), off * 1e3, off_cpu * 1e6, v[1].name.c_str(), on * 1e3,
      on_cpu * 1e6, on / off, (on_cpu - off_cpu) * 1e6,
      (on_cpu - off_cpu) * 1e6 * 50 /
          static_cast<double>(std::max<int64_t>(monitored_samples, 1)),
      cpu);
  CHECK(off > 0);
}
