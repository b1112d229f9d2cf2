// procsandbox_soak: runs many random runs through the OS manager (the
// `sandbox` mode: Sandbox::Run/Launch; the `cli` mode: the procsandbox
// command), then checks that nothing leaked. Exit 0 when nothing did and
// every run ended as its scenario expects; 1 otherwise; 2 for a bad command
// line or a setup failure. scripts/soak builds and runs it.
//
//   procsandbox_soak --which sandbox --runs 10000 --threads 8 --seed 1
//       [--helper PATH] [--cli PATH] [--warmup 200] [--no-cgroups] [--verbose]
//
// --helper and --cli default to the build's own procsandbox_test_helper and
// procsandbox command.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "soak.h"

namespace procsandbox::soak {
namespace {

constexpr char kUsage[] =
    "usage: procsandbox_soak --which sandbox|cli [--helper PATH] [--cli PATH]\n"
    "         [--runs N] [--warmup N] [--threads N] [--seed N] "
    "[--no-cgroups] [--verbose]\n";

// Host RSS may grow this much over the run after warm-up.
constexpr int64_t kRssSlackKib = 5 * 1024;

absl::StatusOr<SoakOptions> ParseArgs(int argc, char** argv) {
  SoakOptions o;
#ifdef PROCSANDBOX_TEST_HELPER
  o.helper = PROCSANDBOX_TEST_HELPER;
#endif
#ifdef PROCSANDBOX_CLI
  o.cli = PROCSANDBOX_CLI;
#endif
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> absl::StatusOr<std::string> {
      if (i + 1 >= argc) return absl::InvalidArgumentError(arg + ": no value");
      return std::string(argv[++i]);
    };
    auto number = [&](auto* out, int64_t min) -> absl::Status {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      if (!absl::SimpleAtoi(*v, out) || static_cast<int64_t>(*out) < min) {
        return absl::InvalidArgumentError(
            absl::StrCat(arg, ": not a number >= ", min, ": \"", *v, "\""));
      }
      return absl::OkStatus();
    };
    absl::Status s;
    if (arg == "--which") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      o.which = *v;
    } else if (arg == "--helper" || arg == "--cli") {
      absl::StatusOr<std::string> v = value();
      if (!v.ok()) return v.status();
      (arg == "--helper" ? o.helper : o.cli) = *v;
    } else if (arg == "--runs") {
      s = number(&o.runs, 1);
    } else if (arg == "--warmup") {
      s = number(&o.warmup, 0);
    } else if (arg == "--threads") {
      s = number(&o.threads, 1);
    } else if (arg == "--seed") {
      s = number(&o.seed, 0);
    } else if (arg == "--no-cgroups") {
      o.cgroups = false;
    } else if (arg == "--verbose") {
      o.verbose = true;
    } else {
      s = absl::InvalidArgumentError("unknown argument: \"" + arg + "\"");
    }
    if (!s.ok()) return s;
  }
  if (o.which != "sandbox" && o.which != "cli") {
    return absl::InvalidArgumentError("--which: sandbox or cli, not \"" +
                                      o.which + "\"");
  }
  if (o.helper.empty() || o.helper[0] != '/') {
    return absl::InvalidArgumentError("--helper: an absolute path is needed");
  }
  if (o.which == "cli" && (o.cli.empty() || o.cli[0] != '/')) {
    return absl::InvalidArgumentError("--cli: an absolute path is needed");
  }
  if (o.warmup >= o.runs) {
    return absl::InvalidArgumentError("--warmup: must be below --runs");
  }
  return o;
}

// Runs [first, last) over `threads` threads.
void RunRange(SoakMode& mode, const SoakOptions& options, Tally& tally,
              int64_t first, int64_t last) {
  std::atomic<int64_t> next{first};
  std::atomic<int64_t> done{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < options.threads; ++t) {
    workers.emplace_back([&] {
      for (int64_t i = next++; i < last; i = next++) {
        const absl::Time began = absl::Now();
        const RunReport report = mode.RunOne(i);
        tally.Add(report, i, absl::Now() - began);
        const int64_t n = ++done;
        if (options.verbose && !report.unexpected.empty()) {
          std::fprintf(stderr, "run %lld: %s\n", static_cast<long long>(i),
                       report.unexpected.c_str());
        }
        if (n % 1000 == 0) {
          std::fprintf(stderr, "procsandbox_soak: %lld runs\n",
                       static_cast<long long>(first + n));
        }
      }
    });
  }
  for (std::thread& w : workers) w.join();
}

// The host once descriptors, threads and run groups have held still for
// five samples 50 ms apart (at most 10 s): processes just killed, groups just
// emptied and directories handed to the background cleaner take moments to
// go, and a sample among them would make a noisy baseline.
HostSample QuietSample(const std::string& which, int64_t* groups) {
  HostSample last;
  int64_t last_groups = -1;
  int still = 0;
  for (int i = 0; i < 200 && still < 5; ++i) {
    if (i > 0) absl::SleepFor(absl::Milliseconds(50));
    const HostSample now = SampleHost();
    const int64_t now_groups =
        which == "sandbox" ? CountRunGroupsOfThisProcess() : 0;
    still = now.fds == last.fds && now.threads == last.threads &&
                    now_groups == last_groups
                ? still + 1
                : 1;
    last = now;
    last_groups = now_groups;
  }
  *groups = last_groups;
  return last;
}

std::string Describe(const HostSample& s) {
  return absl::StrFormat("fds %d, threads %d, RSS %d KiB", s.fds, s.threads,
                         s.rss_kib);
}

int Main(int argc, char** argv) {
  absl::StatusOr<SoakOptions> options = ParseArgs(argc, argv);
  if (!options.ok()) {
    std::fprintf(stderr, "procsandbox_soak: %s\n%s",
                 std::string(options.status().message()).c_str(), kUsage);
    return 2;
  }
  // Signals that dump core would fill the disk with cores of the helper.
  const rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);

  absl::StatusOr<std::unique_ptr<SoakMode>> mode =
      options->which == "sandbox" ? NewSandboxSoak(*options)
                                  : NewCliSoak(*options);
  if (!mode.ok()) {
    std::fprintf(stderr, "procsandbox_soak: setup: %s\n",
                 mode.status().ToString().c_str());
    return 2;
  }
  Tally tally;
  const absl::Time start = absl::Now();
  RunRange(**mode, *options, tally, 0, options->warmup);
  int64_t groups_before = 0;
  const HostSample before = QuietSample(options->which, &groups_before);
  RunRange(**mode, *options, tally, options->warmup, options->runs);
  const absl::Duration elapsed = absl::Now() - start;
  int64_t groups_after = 0;
  const HostSample after = QuietSample(options->which, &groups_after);
  (*mode)->TearDown();
  Leftovers left;
  for (int i = 0; i < 100; ++i) {
    left = Leftovers();
    CountChildren(left);
    (*mode)->CheckLeftovers(left);
    if (left.children == 0 && left.strays == 0 && left.cgroup_dirs == 0 &&
        left.temp_dirs == 0) {
      break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  const HostSample torn_down = SampleHost();

  const int64_t measured = options->runs - options->warmup;
  const double seconds = absl::ToDoubleSeconds(elapsed);
  std::printf(
      "procsandbox_soak --which %s --runs %lld --warmup %lld --threads %d "
      "--seed %llu%s\n",
      options->which.c_str(), static_cast<long long>(options->runs),
      static_cast<long long>(options->warmup), options->threads,
      static_cast<unsigned long long>(options->seed),
      options->cgroups ? "" : " --no-cgroups");
  std::printf("time: %.1f s, %.1f runs/s\n", seconds,
              static_cast<double>(options->runs) / seconds);
  std::printf("runs: %s\n", tally.Summary().c_str());
  std::printf("%s\n", (*mode)->Counters().c_str());
  std::printf("after warm-up: %s; run groups %lld\n", Describe(before).c_str(),
              static_cast<long long>(groups_before));
  std::printf("after %lld more runs: %s; run groups %lld\n",
              static_cast<long long>(measured), Describe(after).c_str(),
              static_cast<long long>(groups_after));
  std::printf("after teardown: %s\n", Describe(torn_down).c_str());
  std::printf(
      "left over: children %lld (zombies %lld), strays %lld, cgroup dirs "
      "%lld, temp dirs %lld\n",
      static_cast<long long>(left.children),
      static_cast<long long>(left.zombies), static_cast<long long>(left.strays),
      static_cast<long long>(left.cgroup_dirs),
      static_cast<long long>(left.temp_dirs));
  for (const std::string& d : left.details) std::printf("  %s\n", d.c_str());

  std::vector<std::string> failures;
  if (after.fds > before.fds) {
    failures.push_back(
        absl::StrCat("descriptors ", before.fds, " -> ", after.fds));
  }
  if (after.threads > before.threads) {
    failures.push_back(
        absl::StrCat("threads ", before.threads, " -> ", after.threads));
  }
  if (after.rss_kib - before.rss_kib > kRssSlackKib) {
    failures.push_back(absl::StrCat("RSS +", after.rss_kib - before.rss_kib,
                                    " KiB (allowed ", kRssSlackKib, ")"));
  }
  if (groups_after > groups_before) {
    failures.push_back(
        absl::StrCat("run groups ", groups_before, " -> ", groups_after));
  }
  if (left.children + left.strays + left.cgroup_dirs + left.temp_dirs > 0) {
    failures.push_back("left over (above)");
  }
  if (tally.unexpected() > 0) {
    failures.push_back(absl::StrCat(tally.unexpected(), " unexpected runs"));
  }
  (*mode)->RemoveScratch();
  if (failures.empty()) {
    std::printf("OK\n");
    return 0;
  }
  for (const std::string& f : failures) std::printf("FAIL: %s\n", f.c_str());
  return 1;
}

}  // namespace

// --- RunRandom, Tally
// ------------------------------------------------------------

RunRandom::RunRandom(uint64_t seed, int64_t index) {
  std::seed_seq seq{static_cast<uint32_t>(seed),
                    static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(index),
                    static_cast<uint32_t>(static_cast<uint64_t>(index) >> 32)};
  engine_.seed(seq);
}

int64_t RunRandom::Between(int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(engine_);
}

bool RunRandom::Chance(double p) {
  return std::uniform_real_distribution<double>(0, 1)(engine_) < p;
}

void Tally::Add(const RunReport& report, int64_t index, absl::Duration took) {
  absl::MutexLock lock(&mu_);
  ++by_scenario_[report.scenario];
  slowest_ = std::max(slowest_, took);
  if (took > kSlowRun) {
    ++slow_;
    if (slow_examples_.size() < 10) {
      slow_examples_.push_back(absl::StrCat("run ", index, " (",
                                            report.scenario, ") took ",
                                            absl::FormatDuration(took)));
    }
  }
  if (report.unexpected.empty()) return;
  ++unexpected_;
  if (examples_.size() < 10) {
    examples_.push_back(absl::StrCat("run ", index, " (", report.scenario,
                                     "): ", report.unexpected));
  }
}

int64_t Tally::unexpected() const {
  absl::MutexLock lock(&mu_);
  return unexpected_;
}

std::string Tally::Summary() const {
  absl::MutexLock lock(&mu_);
  std::string text;
  for (const auto& [scenario, count] : by_scenario_) {
    absl::StrAppend(&text, text.empty() ? "" : ", ", scenario, " ", count);
  }
  absl::StrAppend(&text, "; unexpected ", unexpected_);
  for (const std::string& e : examples_) absl::StrAppend(&text, "\n  ", e);
  absl::StrAppend(&text, "\nslowest run ", absl::FormatDuration(slowest_),
                  "; over ", absl::FormatDuration(kSlowRun), ": ", slow_);
  for (const std::string& e : slow_examples_) {
    absl::StrAppend(&text, "\n  ", e);
  }
  return text;
}

}  // namespace procsandbox::soak

int main(int argc, char** argv) { return procsandbox::soak::Main(argc, argv); }
