// The Slurm manager (NewSlurmManager) against a local run through
// NewOsManager in the same run, on a one-node cluster the benchmark starts
// (tests/slurm/slurm_cluster.h: root, Debian's slurmd, slurmctld, munge).
//
//   build/release/bench/procsandbox_slurm_bench "[slurm]"
//   PROCSANDBOX_BENCH_ITERATIONS=20 build/release/bench/procsandbox_slurm_bench
//
// "[one]": New+Start+Wait of /bin/true, one at a time, interleaved (Slurm,
// local), medians and their ratio. "[many]": 20 started at once, then all
// waited for, rounds alternating between the two managers. Where no cluster
// can start here (not root, Slurm not installed), the benchmark says why and
// ends with success.
#define CATCH_CONFIG_MAIN
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "bench_util.h"
#include "catch2/catch.hpp"
#include "procsandbox/procsandbox.h"
#include "slurm/slurm_cluster.h"

namespace {

using procsandbox::Command;
using procsandbox::Manager;
using procsandbox::Process;
using procsandbox::Stdio;
using procsandbox::bench::Interleave;
using procsandbox::bench::Median;
using procsandbox::bench::Variant;
using procsandbox::slurm_testing::SlurmCluster;

constexpr int kConcurrent = 20;

int Iterations(int fallback) {
  const char* text = std::getenv("PROCSANDBOX_BENCH_ITERATIONS");
  const int n = text == nullptr ? 0 : std::atoi(text);
  return n > 0 ? n : fallback;
}

// The cluster and the two managers every case uses: started once.
struct Setup {
  std::unique_ptr<SlurmCluster> cluster;
  std::unique_ptr<Manager> slurm;
  std::unique_ptr<Manager> local;
  std::unique_ptr<Manager> plain;  // local, no cgroups
  // The floor: srun itself, posix_spawn'ed with the cluster's environment.
  std::string srun;
  std::vector<std::string> srun_argv, srun_env;
};

// The shared setup, or nullptr (and the reason printed) where no cluster
// can start here. It lives until the program exits: the managers go first,
// then the cluster stops (its destructor) and removes what it made.
Setup* TheSetup() {
  static std::unique_ptr<Setup> setup;
  static bool tried = false;
  if (tried) return setup.get();
  tried = true;
  if (std::optional<std::string> why = SlurmCluster::WhyUnavailable()) {
    std::printf("\nno Slurm cluster here: %s (nothing measured)\n\n",
                why->c_str());
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<SlurmCluster>> cluster =
      SlurmCluster::Start({});
  if (!cluster.ok()) FAIL(std::string(cluster.status().message()));
  auto made = std::make_unique<Setup>();
  made->cluster = *std::move(cluster);
  procsandbox::SlurmOptions slurm;
  slurm.slurm_conf = made->cluster->conf_path();
  slurm.partition = made->cluster->partition();
  slurm.job_name = "slurm-bench";
  absl::StatusOr<std::unique_ptr<Manager>> m =
      procsandbox::NewSlurmManager(slurm);
  if (!m.ok()) FAIL(std::string(m.status().message()));
  made->slurm = *std::move(m);
  m = procsandbox::NewOsManager();
  if (!m.ok()) FAIL(std::string(m.status().message()));
  made->local = *std::move(m);
  procsandbox::OsManagerOptions plain;
  plain.cgroups = false;
  m = procsandbox::NewOsManager(plain);
  if (!m.ok()) FAIL(std::string(m.status().message()));
  made->plain = *std::move(m);
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    const std::string path = std::string(dir) + "/srun";
    if (access(path.c_str(), X_OK) == 0) {
      made->srun = path;
      break;
    }
  }
  if (made->srun.empty()) FAIL("no srun in /usr/bin, /usr/local/bin, /bin");
  made->srun_argv = {made->srun, "--quiet", "--quiet",
                     "--partition=" + made->cluster->partition(), "/bin/true"};
  made->srun_env = made->cluster->ClientEnvironment();
  std::printf("\n%s\n",
              procsandbox::ToString(made->slurm->capabilities()).c_str());
  setup = std::move(made);
  return setup.get();
}

// /bin/true with the null device on every stream: nothing to forward.
std::shared_ptr<Process> NewTrue(Manager& m) {
  Command cmd("/bin/true");
  cmd.stdin_ = Stdio::Null();
  cmd.stdout_ = Stdio::Null();
  cmd.stderr_ = Stdio::Null();
  return m.New(std::move(cmd));
}

bool RunTrue(Manager& m) {
  std::shared_ptr<Process> p = NewTrue(m);
  if (absl::Status s = p->Start(); !s.ok()) {
    std::printf("start: %s\n", std::string(s.message()).c_str());
    return false;
  }
  absl::StatusOr<procsandbox::Outcome> outcome = p->Wait();
  if (!outcome.ok() || !outcome->ok()) {
    std::printf("wait: %s\n",
                outcome.ok() ? procsandbox::ToString(*outcome).c_str()
                             : std::string(outcome.status().message()).c_str());
    return false;
  }
  return true;
}

double Seconds(std::chrono::steady_clock::time_point since);

// `n` started one after the other, then each waited for: all exited 0.
// `started`: when given, the seconds the n Start() calls took.
bool RunTrueAtOnce(Manager& m, int n, std::vector<double>* started = nullptr) {
  const auto begin = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<Process>> running;
  running.reserve(static_cast<std::size_t>(n));
  bool ok = true;
  for (int i = 0; i < n; ++i) {
    running.push_back(NewTrue(m));
    if (absl::Status s = running.back()->Start(); !s.ok()) {
      std::printf("start: %s\n", std::string(s.message()).c_str());
      ok = false;
    }
  }
  if (started != nullptr) started->push_back(Seconds(begin));
  for (const std::shared_ptr<Process>& p : running) {
    absl::StatusOr<procsandbox::Outcome> outcome = p->Wait();
    ok = ok && outcome.ok() && outcome->ok();
  }
  return ok;
}

// `n` threads, each a New+Start+Wait: all exited 0. Start() returns once
// the job runs, so a loop of Start() calls waits for each job in turn.
bool RunTrueOnThreads(Manager& m, int n) {
  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(n));
  std::atomic<int> failed{0};
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&m, &failed] {
      if (!RunTrue(m)) ++failed;
    });
  }
  for (std::thread& t : threads) t.join();
  return failed == 0;
}

// posix_spawn of srun running /bin/true (its streams the null device);
// the pid, or -1.
pid_t SpawnSrun(const Setup& s) {
  std::vector<char*> argv, envp;
  argv.reserve(s.srun_argv.size() + 1);
  envp.reserve(s.srun_env.size() + 1);
  for (const std::string& a : s.srun_argv) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  for (const std::string& e : s.srun_env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int fd = 0; fd <= 2; ++fd) {
    posix_spawn_file_actions_addopen(&actions, fd, "/dev/null",
                                     fd == 0 ? O_RDONLY : O_WRONLY, 0);
  }
  pid_t pid = -1;
  const int error = posix_spawn(&pid, s.srun.c_str(), &actions, nullptr,
                                argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

bool ReapedZero(pid_t pid) {
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

bool RawSrunAtOnce(const Setup& s, int n) {
  std::vector<pid_t> pids;
  pids.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) pids.push_back(SpawnSrun(s));
  bool ok = true;
  for (pid_t pid : pids) ok = ReapedZero(pid) && ok;
  return ok;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

void CheckQueueEmpty(const SlurmCluster& cluster) {
  absl::StatusOr<std::vector<std::string>> queued = cluster.QueuedJobs();
  REQUIRE(queued.ok());
  CHECK(queued->empty());
}

}  // namespace

TEST_CASE("one /bin/true: Slurm job vs local run", "[slurm][one]") {
  Setup* s = TheSetup();
  if (s == nullptr) return;
  std::vector<Variant> v = {
      {"local: NewOsManager New+Start+Wait /bin/true",
       [s] { return RunTrue(*s->local); },
       {}},
      {"slurm: NewSlurmManager New+Start+Wait /bin/true",
       [s] { return RunTrue(*s->slurm); },
       {}},
      {"local, cgroups off", [s] { return RunTrue(*s->plain); }, {}},
      {"floor: posix_spawn srun /bin/true + waitpid",
       [s] { return ReapedZero(SpawnSrun(*s)); },
       {}},
  };
  const int n = Iterations(100);
  Interleave(v, n);
  const double local = Median(v[0].samples);
  const double slurm = Median(v[1].samples);
  const double srun = Median(v[3].samples);
  std::printf("\none at a time, %d each, interleaved (medians):\n", n);
  for (const Variant& x : v) {
    std::printf("  %-50s %10.1f us\n", x.name.c_str(), Median(x.samples) * 1e6);
  }
  std::printf(
      "  slurm / local: %.1fx (+%.1f ms per run); slurm / bare srun: "
      "%.2fx (+%.1f ms)\n\n",
      slurm / local, (slurm - local) * 1e3, slurm / srun, (slurm - srun) * 1e3);
  CheckQueueEmpty(*s->cluster);
  CHECK(local > 0);
}

TEST_CASE("20 /bin/true at once: Slurm jobs vs local runs", "[slurm][many]") {
  Setup* s = TheSetup();
  if (s == nullptr) return;
  const int rounds = std::max(3, Iterations(100) / 10);
  // local, slurm, bare srun, slurm on threads: one batch each per round,
  // rotating the first.
  constexpr int kBatches = 4;
  std::vector<double> samples[kBatches];
  std::vector<double> slurm_started;  // the 20 Start() calls alone
  const std::function<bool()> batch[kBatches] = {
      [s] { return RunTrueAtOnce(*s->local, kConcurrent); },
      [s, &slurm_started] {
        return RunTrueAtOnce(*s->slurm, kConcurrent, &slurm_started);
      },
      [s] { return RawSrunAtOnce(*s, kConcurrent); },
      [s] { return RunTrueOnThreads(*s->slurm, kConcurrent); },
  };
  for (int round = -1; round < rounds; ++round) {  // -1: warm-up
    for (int k = 0; k < kBatches; ++k) {
      const int which = (k + round + kBatches) % kBatches;
      const auto start = std::chrono::steady_clock::now();
      REQUIRE(batch[which]());
      if (round >= 0) samples[which].push_back(Seconds(start));
    }
  }
  slurm_started.erase(slurm_started.begin());  // the warm-up's
  const double l = Median(samples[0]);
  const double j = Median(samples[1]);
  const double r = Median(samples[2]);
  const double t = Median(samples[3]);
  std::printf(
      "\n%d at once (start all, then wait all), %d rounds each (medians):\n"
      "  local:       %10.1f ms  (%.0f runs/s)\n"
      "  slurm:       %10.1f ms  (%.1f runs/s; the %d Start() calls "
      "%.1f ms)\n"
      "  slurm, each New+Start+Wait on a thread of its own: %10.1f ms  "
      "(%.1f runs/s)\n"
      "  bare srun:   %10.1f ms  (%.1f runs/s)\n"
      "  slurm / local: %.1fx; slurm / bare srun: %.2fx; on threads: %.1fx "
      "local, %.2fx bare srun\n\n",
      kConcurrent, rounds, l * 1e3, kConcurrent / l, j * 1e3, kConcurrent / j,
      kConcurrent, Median(slurm_started) * 1e3, t * 1e3, kConcurrent / t,
      r * 1e3, kConcurrent / r, j / l, j / r, t / l, t / r);
  CheckQueueEmpty(*s->cluster);
  CHECK(l > 0);
}
