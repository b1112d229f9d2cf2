// What the benchmarks share: the posix_spawn baseline, a parent holding
// touched memory, and interleaved timing. Variants that are compared run
// round-robin, rotating which goes first, after a warm-up, so that drift and
// the other load of a shared machine hit every variant alike. Ratios are
// then ratios of medians from the same run (see shared BASELINES.md).
#ifndef PROCSANDBOX_BENCH_BENCH_UTIL_H_
#define PROCSANDBOX_BENCH_BENCH_UTIL_H_

#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "catch2/catch.hpp"

extern "C" char** environ;

namespace procsandbox::bench {

// The baseline every spawn is compared with: glibc's posix_spawn of `path`
// (no file actions, the host's environment), then waitpid.
inline bool PosixSpawnWait(const char* path) {
  pid_t pid = 0;
  char* argv[] = {const_cast<char*>(path), nullptr};
  if (posix_spawn(&pid, path, nullptr, nullptr, argv, environ) != 0)
    return false;
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status);
}

// `bytes` of anonymous memory, every page touched, for as long as it lives:
// a large parent (where a fork-based spawn copies page tables).
class TouchedMemory {
 public:
  explicit TouchedMemory(std::size_t bytes) : bytes_(bytes) {
    mem_ = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(mem_ != MAP_FAILED);
    std::memset(mem_, 1, bytes);
  }
  ~TouchedMemory() { munmap(mem_, bytes_); }
  TouchedMemory(const TouchedMemory&) = delete;
  TouchedMemory& operator=(const TouchedMemory&) = delete;

 private:
  void* mem_;
  std::size_t bytes_;
};

struct Variant {
  std::string name;
  std::function<bool()> run;    // false fails the benchmark
  std::vector<double> samples;  // seconds
};

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The nearest-rank `p` quantile (0..1).
inline double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(v.size()));
  return v[std::min(v.size() - 1, rank)];
}

// Runs every variant `iterations` times, interleaved, after 20 warm-up rounds.
inline void Interleave(std::vector<Variant>& variants, int iterations) {
  for (int warm = 0; warm < 20; ++warm) {
    for (Variant& v : variants) v.run();
  }
  for (int i = 0; i < iterations; ++i) {
    for (std::size_t k = 0; k < variants.size(); ++k) {
      Variant& v =
          variants[(k + static_cast<std::size_t>(i)) % variants.size()];
      const auto start = std::chrono::steady_clock::now();
      if (!v.run()) FAIL("benchmark step failed: " + v.name);
      v.samples.push_back(std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - start)
                              .count());
    }
  }
}

// Like Interleave, but each round runs the variants in a new random order
// (fixed seed): a variant whose cost goes on after it returns (the kernel
// tearing down a namespace on a work queue) then lands on a random next
// variant, not always on the same one.
inline void InterleaveShuffled(std::vector<Variant>& variants, int iterations,
                               unsigned seed = 17) {
  std::vector<std::size_t> order(variants.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::mt19937 random(seed);
  for (int round = -20; round < iterations; ++round) {
    std::shuffle(order.begin(), order.end(), random);
    for (std::size_t k : order) {
      Variant& v = variants[k];
      const auto start = std::chrono::steady_clock::now();
      if (!v.run()) FAIL("benchmark step failed: " + v.name);
      if (round < 0) continue;  // warm-up
      v.samples.push_back(std::chrono::duration<double>(
                              std::chrono::steady_clock::now() - start)
                              .count());
    }
  }
}

}  // namespace procsandbox::bench

#endif  // PROCSANDBOX_BENCH_BENCH_UTIL_H_
