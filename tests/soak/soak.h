// tests/soak: many random runs through the real OS manager, then a check
// that nothing leaked (descriptors, threads, children, zombies, cgroup and
// temporary directories, memory). Not part of ctest: scripts/soak runs it.
//
// A mode (`SoakMode`) runs one numbered run at a time from several threads;
// run i draws everything from a generator seeded by (seed, i), so a seed
// names the same runs whatever the thread count. The driver (soak_main.cc)
// runs the warm-up, records the host, runs the rest, tears the mode down and
// compares.
#ifndef PROCSANDBOX_TESTS_SOAK_SOAK_H_
#define PROCSANDBOX_TESTS_SOAK_SOAK_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace procsandbox::soak {

struct SoakOptions {
  std::string which = "sandbox";  // sandbox | cli
  int64_t runs = 10'000;          // in all, warm-up included
  int64_t warmup = 200;           // the first runs, before the baseline
  int threads = 8;
  uint64_t seed = 1;
  bool cgroups = true;
  std::string helper;  // procsandbox_test_helper
  std::string cli;     // the procsandbox command
  bool verbose = false;
};

// The random source of one run.
class RunRandom {
 public:
  RunRandom(uint64_t seed, int64_t index);
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi);
  // True with probability `p`.
  bool Chance(double p);
  template <typename T>
  const T& Pick(const std::vector<T>& from) {
    return from[static_cast<std::size_t>(
        Between(0, static_cast<int64_t>(from.size()) - 1))];
  }

 private:
  std::mt19937_64 engine_;
};

// What one run did: its scenario, and a line when it did not do what the
// scenario expects (empty when it did).
struct RunReport {
  std::string scenario;
  std::string unexpected;
};

// A run taking longer is reported as slow (a stall worth a look, not a
// failure: the host may be loaded).
inline constexpr absl::Duration kSlowRun = absl::Seconds(10);

// Counts per scenario, the first few unexpected results and slow runs;
// thread-safe.
class Tally {
 public:
  // `took`: the run's wall time; a run over kSlowRun is listed.
  void Add(const RunReport& report, int64_t index, absl::Duration took);
  int64_t unexpected() const;
  // "exit 1234, signal 1100, ..." and the unexpected lines.
  std::string Summary() const;

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, int64_t> by_scenario_ ABSL_GUARDED_BY(mu_);
  int64_t unexpected_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t slow_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration slowest_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  std::vector<std::string> slow_examples_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> examples_ ABSL_GUARDED_BY(mu_);
};

// What is left over after a mode is torn down. Each count must be 0.
struct Leftovers {
  int64_t children = 0;     // our children, zombies included
  int64_t zombies = 0;      // of them, zombies
  int64_t strays = 0;       // live processes running the helper binary
  int64_t cgroup_dirs = 0;  // the mode's managers' directories
  int64_t temp_dirs = 0;    // entries in the mode's scratch roots
  std::vector<std::string> details;
};

class SoakMode {
 public:
  virtual ~SoakMode() = default;
  // Runs run `index`; called from several threads at once.
  virtual RunReport RunOne(int64_t index) = 0;
  // Removes what the mode holds (sandboxes, managers), as a host would
  // when it shuts down; the checks come after.
  virtual void TearDown() = 0;
  // Adds what the mode's own roots and managers left (cgroup and temporary
  // directories, strays), called after TearDown().
  virtual void CheckLeftovers(Leftovers& out) = 0;
  // Failures the mode counted on the way (cleanup failures, manager
  // events), printed in the summary; non-zero ones that mean a leak are
  // also added to `out.details` by CheckLeftovers.
  virtual std::string Counters() const = 0;
  // Removes its scratch directory (after the checks).
  virtual void RemoveScratch() = 0;
};

absl::StatusOr<std::unique_ptr<SoakMode>> NewSandboxSoak(
    const SoakOptions& options);
absl::StatusOr<std::unique_ptr<SoakMode>> NewCliSoak(
    const SoakOptions& options);

// --- The host, as /proc shows it (soak_host.cc).
// ------------------------------
// The whole file at `path` (empty when it cannot be read).
std::string ReadFile(const std::string& path);

struct HostSample {
  int64_t fds = 0;
  int64_t threads = 0;
  int64_t rss_kib = 0;
};
HostSample SampleHost();

// Our children (ppid == us), and of them the zombies.
void CountChildren(Leftovers& out);
// Every process a soak starts has this variable, PROCSANDBOX_SOAK=<our
// pid>, in its environment (its forks inherit it): what tells our strays
// from the processes of other soaks and tests running the same binaries.
inline constexpr char kMarkerName[] = "PROCSANDBOX_SOAK";
std::string MarkerValue();
// Live (non-zombie) processes running the executable `program` with our
// marker in their environment.
int64_t CountProcessesRunning(const std::string& program,
                              std::vector<std::string>* pids = nullptr);
// Entries in directory `dir` (not "." or ".."); -1 when it cannot be read.
int64_t CountEntries(const std::string& dir);
// Manager directories (procsandbox-<ns>-<pid>-...) under the parents a
// manager of this process uses, owned by a pid in `pids` of our pid
// namespace. Paths appended to `found` when given.
int64_t CountManagerGroups(const std::vector<int64_t>& pids,
                           std::vector<std::string>* found = nullptr);
// The run groups inside this process's own manager directories.
int64_t CountRunGroupsOfThisProcess();
// A fresh 0700 directory under $TMPDIR (or /tmp).
absl::StatusOr<std::string> MakeScratchDir(const std::string& prefix);
// rm -r, never following links; OK when it is gone.
absl::Status RemoveTree(const std::string& path);

}  // namespace procsandbox::soak

#endif  // PROCSANDBOX_TESTS_SOAK_SOAK_H_
