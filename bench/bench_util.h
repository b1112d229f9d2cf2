// Interleaved timing for the benchmarks: variants that are compared run
// round-robin, rotating which goes first, after a warm-up, so that drift and
// the other load of a shared machine hit every variant alike. Ratios are
// then ratios of medians from the same run (see shared BASELINES.md).
#ifndef PROCSANDBOX_BENCH_INTERLEAVE_H_
#define PROCSANDBOX_BENCH_INTERLEAVE_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "catch2/catch.hpp"

namespace procsandbox::bench {

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

}  // namespace procsandbox::bench

#endif  // PROCSANDBOX_BENCH_INTERLEAVE_H_
