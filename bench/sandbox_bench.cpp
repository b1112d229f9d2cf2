// The sandbox layer's overhead: Sandbox::Run against a bare procsandbox::Run
// of the same program on the same manager, measured interleaved in the same
// run (bench_util.h); and the cost of per-key quotas.
//
//   build/release/bench/procsandbox_sandbox_bench "[fake]"
//   build/release/bench/procsandbox_sandbox_bench "[os]"
//   build/release/bench/procsandbox_sandbox_bench "[quota]"
//
// "[fake]": policy checks only. On the fake the sandbox runs its environment
// and program checks (a FakeProgramResolver), the queue and the output
// collector, without a working directory.
//
// "[os]": + workdir, real spawn. On the OS manager it also resolves the
// program on the real file system and makes a working directory in /tmp (or
// in $PROCSANDBOX_BENCH_WORKDIR_ROOT), removed in the background (the
// default) and, for comparison, in the run (remove_in_background = false).
//
// "[quota]": admission through the internal RunQueue with 100,000 keys
// tracked (issue target: under 1 us per run, under 200 bytes per
// idle-but-tracked key). A run is admitted as Engine::Prepare and
// Engine::Run do it, without a program: Enter (an assigned id), with quotas
// the key checked and set on the slot, Acquire, Leave; each run another key,
// in a shuffled order. Baselines from the same run: the same queue without
// quotas, and a bare flat_hash_map find + update over the same keys (the
// floor of any per-key table). Memory: the heap in use (glibc mallinfo2)
// before and after tracking 100,000 keys of 10 bytes (inline in
// std::string) and of 40 (on the heap); then, a window later, one admission
// sweeps them.
#define CATCH_CONFIG_MAIN
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "bench_util.h"
#include "catch2/catch.hpp"
#include "fmt/format.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/os_manager.h"
#include "procsandbox/run.h"
#include "procsandbox/sandbox.h"
#include "sandbox/quota.h"
#include "sandbox/run_queue.h"

#if defined(__GLIBC__)
#include <malloc.h>  // mallinfo2
#endif

namespace {

using procsandbox::bench::Interleave;
using procsandbox::bench::Median;
using procsandbox::bench::Variant;

void Report(const std::vector<Variant>& v) {
  const double bare = Median(v[0].samples), sandboxed = Median(v[1].samples);
  std::printf("\n%-44s %9.2f us\n%-44s %9.2f us  %.3fx, +%.2f us per run\n\n",
              v[0].name.c_str(), bare * 1e6, v[1].name.c_str(), sandboxed * 1e6,
              sandboxed / bare, (sandboxed - bare) * 1e6);
}

}  // namespace

TEST_CASE("Sandbox::Run vs Run on the fake", "[fake]") {
  procsandbox::MemoryManagerOptions options;
  options.history_limit = 1000;
  procsandbox::MemoryManager fake(options);
  fake.Register("/usr/bin/tool", [](procsandbox::FakeProcess& p) {
    p.WriteStdout("a line of output\n");
    return 0;
  });
  auto resolver = std::make_shared<procsandbox::FakeProgramResolver>();
  resolver->AddProgram("/usr/bin/tool");
  procsandbox::SandboxPolicy policy;
  policy.programs.resolver = resolver;
  policy.programs.allow = {"/usr/bin/tool"};
  policy.environment.mode = procsandbox::EnvironmentPolicy::Mode::kAllowlist;
  policy.environment.allow = {"PATH", "LANG", "LC_*"};
  policy.environment.host = procsandbox::Environment{
      {"PATH", "/usr/bin:/bin"}, {"LANG", "C"}, {"HOME", "/root"}};
  procsandbox::Sandbox sandbox(fake, policy);
  std::vector<Variant> v = {
      {"bare Run(fake, /usr/bin/tool)",
       [&] {
         procsandbox::Command cmd("/usr/bin/tool");
         cmd.env =
             procsandbox::Environment{{"PATH", "/usr/bin:/bin"}, {"LANG", "C"}};
         auto r = procsandbox::RunCommand(fake, cmd);
         return r.ok() && r->ok();
       },
       {}},
      {"Sandbox::Run(tool), checks + queue + caps",
       [&] {
         procsandbox::RunRequest request;
         request.program = "tool";
         auto r = sandbox.Run(request);
         return r.ok() && r->ok();
       },
       {}},
  };
  Interleave(v, 20000);
  Report(v);
  CHECK(Median(v[1].samples) > 0);
}

TEST_CASE("Sandbox::Run vs Run on the OS manager", "[os]") {
  procsandbox::OsManagerOptions options;
  options.cgroups =
      false;  // the spawn path alone (cgroups: os_bench "[cgroup]")
  auto manager = procsandbox::NewOsManager(options);
  REQUIRE(manager.ok());
  const char* dir = std::getenv("PROCSANDBOX_BENCH_WORKDIR_ROOT");
  std::string templ_text =
      std::string(dir != nullptr ? dir : "/tmp") + "/procsandbox-bench-XXXXXX";
  char* templ = templ_text.data();
  REQUIRE(mkdtemp(templ) != nullptr);
  {  // the sandboxes go (their pending removals done) before the root
    procsandbox::SandboxPolicy policy;
    policy.workdir.root = templ;
    procsandbox::Sandbox sandbox(**manager, policy);
    procsandbox::SandboxPolicy sync_policy = policy;
    sync_policy.workdir.remove_in_background = false;
    procsandbox::Sandbox sync_removal(**manager, sync_policy);
    procsandbox::Sandbox no_workdir(**manager, procsandbox::SandboxPolicy{});
    // What the default post-start verification (VerifyPolicy::kReport)
    // costs: the same as `sandbox`, without it.
    procsandbox::SandboxPolicy unverified_policy = policy;
    unverified_policy.verify = procsandbox::VerifyPolicy::kOff;
    procsandbox::Sandbox unverified(**manager, unverified_policy);
    std::vector<Variant> v = {
        {"bare Run(os, /bin/true)",
         [&] {
           auto r = procsandbox::RunCommand(**manager,
                                            procsandbox::Command("/bin/true"));
           return r.ok() && r->ok();
         },
         {}},
        {"Sandbox::Run(/bin/true), + resolve + workdir",
         [&] {
           procsandbox::RunRequest request;
           request.program = "/bin/true";
           auto r = sandbox.Run(request);
           return r.ok() && r->ok();
         },
         {}},
        {"Sandbox::Run(/bin/true), workdir removed in run",
         [&] {
           procsandbox::RunRequest request;
           request.program = "/bin/true";
           auto r = sync_removal.Run(request);
           return r.ok() && r->ok();
         },
         {}},
        {"Sandbox::Run(/bin/true), verify off",
         [&] {
           procsandbox::RunRequest request;
           request.program = "/bin/true";
           auto r = unverified.Run(request);
           return r.ok() && r->ok();
         },
         {}},
        {"Sandbox::Run(/bin/true), no workdir",
         [&] {
           procsandbox::RunRequest request;
           request.program = "/bin/true";
           auto r = no_workdir.Run(request);
           return r.ok() && r->ok();
         },
         {}},
        // The sandbox's default isolation drops every capability (a root
        // host): 41 PR_CAPBSET_DROPs in the child, each a copy of its
        // credentials. The same Command through a bare Run() is the floor
        // the layer's own cost is measured against.
        {"bare Run(os, /bin/true), capabilities dropped",
         [&] {
           procsandbox::Command cmd("/bin/true");
           cmd.isolation = procsandbox::SandboxPolicy::DefaultIsolation();
           auto r = procsandbox::RunCommand(**manager, cmd);
           return r.ok() && r->ok();
         },
         {}},
        {"bare Run(os, /bin/true), Stdio::Lines sinks",
         [&] {
           procsandbox::Command cmd("/bin/true");
           cmd.stdout_ = procsandbox::Stdio::Lines([](absl::string_view) {});
           cmd.stderr_ = procsandbox::Stdio::Lines([](absl::string_view) {});
           auto r = procsandbox::RunCommand(**manager, cmd);
           return r.ok() && r->ok();
         },
         {}},
    };
    Interleave(v, 1000);
    for (std::size_t i = 2; i < v.size(); ++i) {
      std::printf("%-44s %9.2f us  %.3fx\n", v[i].name.c_str(),
                  Median(v[i].samples) * 1e6,
                  Median(v[i].samples) / Median(v[0].samples));
    }
    Report(v);
    // The layer's own cost: the sandbox's run over a bare Run() of the same
    // Command (capabilities dropped alike).
    std::printf("%-44s %.3fx\n", "sandbox layer (workdir) / same isolation",
                Median(v[1].samples) / Median(v[5].samples));
    std::printf("%-44s %.3fx\n", "sandbox layer (no workdir) / same isolation",
                Median(v[4].samples) / Median(v[5].samples));
    CHECK(Median(v[1].samples) > 0);
  }
  std::filesystem::remove_all(templ);
}

namespace {

using procsandbox::sandbox_internal::RunQueue;
using procsandbox::sandbox_internal::Slot;

constexpr std::size_t kQuotaKeys = 100'000;
constexpr std::size_t kFewKeys = 1'000;
// Runs per timed sample; the clock moves 1 us per run.
constexpr int kQuotaBatch = 10'000;

// Bytes malloc has handed out and not taken back, mmapped blocks included
// (a large table is one), or -1 without glibc 2.33.
int64_t HeapInUse() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  const struct mallinfo2 info = mallinfo2();
  return static_cast<int64_t>(info.uordblks + info.hblkhd);
#else
  return -1;
#endif
}

// kQuotaKeys distinct keys of `length` (>= 10) bytes: "key-000042", padded
// in front.
std::vector<std::string> MakeKeys(std::size_t length) {
  std::vector<std::string> keys;
  keys.reserve(kQuotaKeys);
  for (std::size_t i = 0; i < kQuotaKeys; ++i) {
    std::string key = fmt::format("key-{:06}", i);
    keys.push_back(std::string(length - key.size(), 'k') + key);
  }
  return keys;
}

// The field name Engine::Prepare checks the key under (the run's id is
// added to the message only on failure).
constexpr char kKeyField[] = "RunRequest::quota_key";

// One run's admission as Engine::Prepare and Engine::Run do it, without the
// program; `key` null: quotas are off.
bool Admit(RunQueue& queue, const std::string* key) {
  absl::StatusOr<std::shared_ptr<Slot>> slot = queue.Enter("");
  if (!slot.ok()) return false;
  if (key != nullptr) {
    if (!procsandbox::sandbox_internal::CheckQuotaKey(kKeyField, *key).ok()) {
      return false;
    }
    (*slot)->quota_key = *key;
  }
  const bool ok = queue.Acquire(*slot, absl::InfiniteDuration()).ok();
  queue.Leave(*slot, ok ? std::optional<absl::Duration>(absl::Microseconds(1))
                        : std::nullopt);
  return ok;
}

// A queue as a Sandbox makes it: an event callback that does nothing (no
// SandboxPolicy::on_event).
std::unique_ptr<RunQueue> NewQueue(const procsandbox::QuotaPolicy& quota,
                                   const procsandbox::Manager& clock) {
  return std::make_unique<RunQueue>(
      procsandbox::QueuePolicy{}, quota, clock,
      [](procsandbox::SandboxEvent::Kind, const Slot&, std::string) {});
}

// Runs every key once, 1 us apart, after a warm-up: each is then tracked,
// idle, with one token counted. Returns the heap it took, in bytes.
int64_t TrackAll(RunQueue& queue, procsandbox::MemoryManager& fake,
                 const std::vector<std::string>& keys) {
  const std::string warm = "warm-up";
  for (int i = 0; i < 200; ++i) REQUIRE(Admit(queue, &warm));
  const int64_t before = HeapInUse();
  for (const std::string& key : keys) {
    REQUIRE(Admit(queue, &key));
    REQUIRE(fake.clock().Advance(absl::Microseconds(1)).ok());
  }
  return HeapInUse() - before;
}

double NanosPerRun(const Variant& v) {
  return Median(v.samples) * 1e9 / kQuotaBatch;
}

// v: the baseline, the three queues with quotas, then the key check and the
// floor (parts of a run, not runs: no ratio to the baseline).
void ReportQuotaAdmission(const std::vector<Variant>& v, int batches) {
  const double bare = NanosPerRun(v[0]);
  std::printf(
      "\nAdmission per run, %zu keys tracked (median of %d batches of %d)"
      "\n%-46s %8.1f ns\n",
      kQuotaKeys, batches, kQuotaBatch, v[0].name.c_str(), bare);
  for (std::size_t i = 1; i < 4; ++i) {
    const double ns = NanosPerRun(v[i]);
    std::printf("%-46s %8.1f ns  %.2fx, %+.1f ns per run\n", v[i].name.c_str(),
                ns, ns / bare, ns - bare);
  }
  const double added = NanosPerRun(v[1]) - bare, floor = NanosPerRun(v[5]);
  std::printf(
      "%-46s %8.1f ns\n%-46s %8.1f ns  added cost of 10-byte keys: "
      "%.1fx the floor\n",
      v[4].name.c_str(), NanosPerRun(v[4]), v[5].name.c_str(), floor,
      added / floor);
  const double worst = std::max(NanosPerRun(v[1]), NanosPerRun(v[2]));
  std::printf("target under 1 us per run with quotas: %s (%.2f us)\n",
              worst < 1000 ? "met" : "NOT met", worst / 1000);
}

void ReportKeyBytes(const char* what, int64_t bytes) {
  const double per_key =
      static_cast<double>(bytes) / static_cast<double>(kQuotaKeys);
  if (bytes < 0) {
    std::printf("%-46s n/a (no mallinfo2)\n", what);
    return;
  }
  std::printf("%-46s %8.1f bytes/key  target under 200: %s\n", what, per_key,
              per_key < 200 ? "met" : "NOT met");
}

}  // namespace

TEST_CASE("Quota admission with 100,000 keys, and bytes per key", "[quota]") {
  procsandbox::MemoryManagerOptions options;
  options.auto_advance = false;
  procsandbox::MemoryManager fake(options);
  procsandbox::QuotaPolicy quota;
  quota.enabled = true;
  quota.default_quota.max_concurrent = 4;
  quota.default_quota.max_runs = 1000;
  quota.default_quota.window = absl::Hours(1);

  const std::vector<std::string> short_keys = MakeKeys(10);
  const std::vector<std::string> long_keys = MakeKeys(40);
  // The keys of the timed runs: shuffled, so that the table's entries (made
  // in key order) are reached at random; copied, so that the key a run
  // brings is read from memory nearby, as from a request just parsed.
  std::vector<std::size_t> order(kQuotaKeys);
  for (std::size_t i = 0; i < kQuotaKeys; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
  std::vector<std::string> short_requests, long_requests, few_requests;
  for (std::size_t i : order) {
    short_requests.push_back(short_keys[i]);
    long_requests.push_back(long_keys[i]);
    few_requests.push_back(short_keys[i % kFewKeys]);
  }
  absl::flat_hash_map<std::string, int64_t> floor_table;
  for (const std::string& key : short_keys) floor_table.emplace(key, 0);

  auto unkeyed = NewQueue(procsandbox::QuotaPolicy{}, fake);
  auto short_queue = NewQueue(quota, fake);
  auto long_queue = NewQueue(quota, fake);
  const int64_t short_bytes = TrackAll(*short_queue, fake, short_keys);
  const int64_t long_bytes = TrackAll(*long_queue, fake, long_keys);
  // The same code on a table that stays in the CPU's caches. Its keys run
  // 100 times as often: a rate they do not reach.
  procsandbox::QuotaPolicy few_quota = quota;
  few_quota.default_quota.max_runs = 1'000'000;
  auto few_queue = NewQueue(few_quota, fake);
  TrackAll(*few_queue, fake,
           std::vector<std::string>(
               short_keys.begin(),
               short_keys.begin() + static_cast<std::ptrdiff_t>(kFewKeys)));

  // A batch of runs, each of the next key in `keys`; null: no key.
  auto admissions = [&](RunQueue& queue, const std::vector<std::string>* keys) {
    return [&, &q = queue, keys, next = std::size_t{0}]() mutable {
      for (int i = 0; i < kQuotaBatch; ++i) {
        const std::string* key = keys != nullptr ? &(*keys)[next] : nullptr;
        next = (next + 1) % kQuotaKeys;
        if (!Admit(q, key)) return false;
      }
      return fake.clock().Advance(absl::Microseconds(kQuotaBatch)).ok();
    };
  };
  std::vector<Variant> v = {
      {"RunQueue, no quotas (baseline)", admissions(*unkeyed, nullptr), {}},
      {"RunQueue, quotas, 10-byte keys",
       admissions(*short_queue, &short_requests),
       {}},
      {"RunQueue, quotas, 40-byte keys",
       admissions(*long_queue, &long_requests),
       {}},
      {"RunQueue, quotas, 10-byte keys, 1,000 of them",
       admissions(*few_queue, &few_requests),
       {}},
      {"part: Engine's key check (CheckQuotaKey)",
       [&, next = std::size_t{0}]() mutable {
         for (int i = 0; i < kQuotaBatch; ++i) {
           const std::string& key = short_requests[next];
           next = (next + 1) % kQuotaKeys;
           if (!procsandbox::sandbox_internal::CheckQuotaKey(kKeyField, key)
                    .ok()) {
             return false;
           }
         }
         return true;
       },
       {}},
      {"floor: flat_hash_map find + update",
       [&, next = std::size_t{0}]() mutable {
         for (int i = 0; i < kQuotaBatch; ++i) {
           auto it = floor_table.find(short_requests[next]);
           next = (next + 1) % kQuotaKeys;
           if (it == floor_table.end()) return false;
           ++it->second;
         }
         return true;
       },
       {}},
  };
  constexpr int kBatches = 50;
  Interleave(v, kBatches);
  ReportQuotaAdmission(v, kBatches);

  std::printf("\nHeap per idle-but-tracked key (%zu keys, mallinfo2)\n",
              kQuotaKeys);
  ReportKeyBytes("10-byte keys (inline std::string)", short_bytes);
  ReportKeyBytes("40-byte keys (+ the key on the heap)", long_bytes);

  // Listing the keys costs O(keys) under the queue's lock.
  auto start = std::chrono::steady_clock::now();
  const procsandbox::QueueStats stats = short_queue->Stats();
  const double stats_ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  // A window later every key is idle; the next new key's admission sweeps.
  REQUIRE(
      fake.clock().Advance(quota.default_quota.window + absl::Minutes(1)).ok());
  const int64_t heap_before = HeapInUse();
  const std::string new_key = "key-new";
  start = std::chrono::steady_clock::now();
  REQUIRE(Admit(*short_queue, &new_key));
  const double sweep_ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - start)
                              .count();
  const std::size_t tracked_after = short_queue->Stats().tracked_keys;
  const int64_t freed = heap_before - HeapInUse();
  std::printf(
      "\nStats() with %zu keys in use: %.1f ms (keys copied under the lock)\n"
      "a window later, 10-byte keys: tracked %zu -> %zu after one admission "
      "(%.1f ms, the sweep)\nheap freed %.2f MB of %.2f MB (%.1f bytes/key "
      "kept: the table's slots)\n\n",
      stats.keys.size(), stats_ms, stats.tracked_keys, tracked_after, sweep_ms,
      static_cast<double>(freed) / 1e6, static_cast<double>(short_bytes) / 1e6,
      static_cast<double>(short_bytes - freed) /
          static_cast<double>(kQuotaKeys));
  CHECK(stats.tracked_keys == kQuotaKeys + 1);  // + "warm-up"
  CHECK(tracked_after == 1);                    // "key-new"
  CHECK(Median(v[1].samples) > 0);
}
