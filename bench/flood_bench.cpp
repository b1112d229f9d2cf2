// Hostile output: how late stops land while programs flood their pipes, and
// what the procsandbox command's forwarding costs against `cat`.
//
//   build/release/bench/procsandbox_flood_bench "[flood]"    # stop latency
//   build/release/bench/procsandbox_flood_bench "[forward]"  # vs cat, RSS
//
// Each figure is next to its floor from the same run: the same stops on an
// idle manager; the same bytes through `cat`.
#define CATCH_CONFIG_MAIN
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench_util.h"
#include "catch2/catch.hpp"
#include "procsandbox/procsandbox.h"

namespace {

using procsandbox::Command;
using procsandbox::Manager;
using procsandbox::Process;
using procsandbox::Stdio;
using procsandbox::bench::Median;
using procsandbox::bench::Percentile;

constexpr char kHelper[] = PROCSANDBOX_TEST_HELPER;
constexpr char kCli[] = PROCSANDBOX_CLI;

std::unique_ptr<Manager> NewManager() {
  auto m = procsandbox::NewOsManager();
  if (!m.ok()) FAIL(std::string(m.status().message()));
  return *std::move(m);
}

// `floods` programs keeping both pipes full of 64-byte lines, each line to a
// callback, until destroyed.
class Floods {
 public:
  Floods(Manager& m, int floods) {
    for (int i = 0; i < floods; ++i) {
      Command cmd(kHelper, {"flood-lines", "64"});
      auto count = [this](absl::string_view) { ++lines_; };
      cmd.stdout_ = Stdio::Lines(count);
      cmd.stderr_ = Stdio::Lines(count);
      cmd.limits.output_bytes = int64_t{1} << 40;
      processes_.push_back(m.New(std::move(cmd)));
      REQUIRE(processes_.back()->Start().ok());
    }
    while (floods > 0 && lines_ < 1'000'000) {
      absl::SleepFor(absl::Milliseconds(1));
    }
  }
  ~Floods() {
    for (auto& p : processes_) {
      (void)p->Kill();
      (void)p->Wait();
    }
  }
  int64_t lines() const { return lines_; }

 private:
  std::atomic<int64_t> lines_{0};
  std::vector<std::shared_ptr<Process>> processes_;
};

// Milliseconds past each stop: a 100 ms deadline (start->reaped minus the
// limit), Kill() and Signal(SIGTERM) (call->Wait() returned), on a program
// that floods too.
struct Lateness {
  std::vector<double> deadline, kill, signal;
};

void MeasureStops(Manager& m, int rounds, Lateness& out) {
  for (int i = 0; i < rounds; ++i) {
    Command timed(kHelper, {"flood-lines", "64"});
    timed.stdout_ = Stdio::Lines([](absl::string_view) {});
    timed.stderr_ = Stdio::Lines([](absl::string_view) {});
    timed.limits.wall_time = absl::Milliseconds(100);
    timed.kill_grace = absl::ZeroDuration();
    auto r = procsandbox::RunCommand(m, timed);
    REQUIRE(r.ok());
    out.deadline.push_back(absl::ToDoubleMilliseconds(r->outcome.wall_time -
                                                      absl::Milliseconds(100)));
    for (int how = 0; how < 2; ++how) {
      std::atomic<bool> flowing{false};
      Command cmd(kHelper, {"flood-lines", "64"});
      cmd.stdout_ = Stdio::Lines([&](absl::string_view) { flowing = true; });
      cmd.stderr_ = Stdio::Lines([](absl::string_view) {});
      std::shared_ptr<Process> p = m.New(cmd);
      REQUIRE(p->Start().ok());
      while (!flowing) absl::SleepFor(absl::Microseconds(100));
      const absl::Time asked = absl::Now();
      REQUIRE((how == 0 ? p->Kill() : p->Signal(SIGTERM)).ok());
      REQUIRE(p->Wait().ok());
      (how == 0 ? out.kill : out.signal)
          .push_back(absl::ToDoubleMilliseconds(absl::Now() - asked));
    }
  }
}

void Print(const char* name, const std::vector<double>& v) {
  std::printf("  %-28s median %7.2f ms  p90 %7.2f ms  max %7.2f ms\n", name,
              Median(v), Percentile(v, 0.9), Percentile(v, 1.0));
}

// posix_spawn of `sh -c script`: its wall time, and the largest RSS of the
// shell and every process it waited for (wait4 folds those in): for the
// procsandbox command, an upper bound of its own.
struct ShellRun {
  double seconds = 0;
  long max_rss_kib = 0;
  bool ok = false;
};

ShellRun Shell(const std::string& script) {
  ShellRun run;
  pid_t pid = 0;
  char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                  const_cast<char*>(script.c_str()), nullptr};
  const auto t0 = std::chrono::steady_clock::now();
  if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv, environ) != 0) {
    return run;
  }
  int status = 0;
  struct rusage usage = {};
  if (wait4(pid, &status, 0, &usage) != pid) return run;
  run.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  run.max_rss_kib = usage.ru_maxrss;
  run.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return run;
}

}  // namespace

TEST_CASE("stops under a flood of 8 programs on both streams", "[flood]") {
  auto m = NewManager();
  constexpr int kRounds = 20;
  Lateness idle, flooded;
  MeasureStops(*m, kRounds, idle);
  int64_t lines = 0;
  {
    Floods floods(*m, 8);
    MeasureStops(*m, kRounds, flooded);
    lines = floods.lines();
  }
  std::printf("\nidle manager (n=%d):\n", kRounds);
  Print("deadline 100ms, late by", idle.deadline);
  Print("Kill() -> Wait() returned", idle.kill);
  Print("Signal(TERM) -> Wait()", idle.signal);
  std::printf("8 programs flooding both streams (%lld lines delivered):\n",
              static_cast<long long>(lines));
  Print("deadline 100ms, late by", flooded.deadline);
  Print("Kill() -> Wait() returned", flooded.kill);
  Print("Signal(TERM) -> Wait()", flooded.signal);
  std::printf("\n");
  // The bound: every stop within 50 ms of its time under the flood.
  CHECK(Percentile(flooded.deadline, 0.9) < 50);
  CHECK(Percentile(flooded.kill, 0.9) < 50);
  CHECK(Percentile(flooded.signal, 0.9) < 50);
}

TEST_CASE("command forwarding (--output-limit) vs cat", "[forward]") {
  // 2 GiB of 64-byte lines (63 letters and '\n'), made by the program under
  // procsandbox and by the same pipeline into cat.
  const std::string line(63, 'x');
  const std::string source = "yes " + line + " | head -c 2147483648";
  const std::string cat = source + " | cat > /dev/null";
  const std::string ours = std::string(kCli) +
                           " run --quiet --output-limit 3G -- sh -c '" +
                           source + "' > /dev/null";
  std::vector<double> cat_s, ours_s;
  long rss = 0;
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < 2; ++k) {
      const bool is_cat = (i + k) % 2 == 0;
      ShellRun r = Shell(is_cat ? cat : ours);
      REQUIRE(r.ok);
      (is_cat ? cat_s : ours_s).push_back(r.seconds);
      if (!is_cat) rss = std::max(rss, r.max_rss_kib);
    }
  }
  // One 100 MB line without a newline.
  ShellRun long_line = Shell(std::string(kCli) +
                             " run --quiet --output-limit 1G -- sh -c "
                             "'head -c 100000000 /dev/zero | tr \"\\\\0\" a' "
                             "> /dev/null");
  REQUIRE(long_line.ok);
  const long long_rss = long_line.max_rss_kib;
  std::printf(
      "\n2 GiB of 64-byte lines: cat %.2f s, procsandbox run --output-limit "
      "%.2f s (%.2fx cat)\n  max RSS of the run's processes %.1f MiB; with one "
      "100 MB line without a newline %.1f MiB\n\n",
      Median(cat_s), Median(ours_s), Median(ours_s) / Median(cat_s),
      static_cast<double>(rss) / 1024, static_cast<double>(long_rss) / 1024);
  CHECK(Median(ours_s) / Median(cat_s) < 2.0);
  CHECK(rss < 64 * 1024);
  CHECK(long_rss < 2 * 100'000'000 / 1024);
}
