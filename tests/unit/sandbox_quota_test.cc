// Sandbox: per-key quotas (runs at once and waiting per key without
// head-of-line blocking, the rate as a token bucket with its retry-after,
// overrides, idle keys, tokens given back, events, stats, bad input), on the
// in-memory manager and its virtual clock.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::AwaitState;
using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kSecret[] = "hunter2-s3cr3t-value";

RunRequest Keyed(std::string id, std::string key,
                 std::string program = "sleeper") {
  RunRequest r = Request(std::move(program));
  r.id = std::move(id);
  r.quota_key = std::move(key);
  return r;
}

Quota Rate(int64_t max_runs, absl::Duration window) {
  Quota q;
  q.max_runs = max_runs;
  q.window = window;
  return q;
}

Quota AtOnce(int64_t max_concurrent, std::optional<int64_t> max_queued = {}) {
  Quota q;
  q.max_concurrent = max_concurrent;
  q.max_queued = max_queued;
  return q;
}

// A rig whose clock moves only by Advance(), with "sleeper" (sleeps until
// cancelled) and "quick" (exits 0 at once), recording every event.
struct QuotaRig {
  Rig rig;
  absl::Mutex mu;
  std::vector<SandboxEvent> events ABSL_GUARDED_BY(mu);

  QuotaRig() {
    rig.fake.clock().SetAutoAdvance(false);
    rig.Program("/usr/bin/sleeper", [](FakeProcess& p) {
      p.Sleep(absl::Hours(1000));
      return 0;
    });
    rig.Program("/usr/bin/quick", [](FakeProcess&) { return 0; });
  }

  SandboxPolicy Policy(const Quota& default_quota,
                       std::size_t max_concurrent = 4) {
    SandboxPolicy policy = rig.Policy();
    policy.queue.max_concurrent = max_concurrent;
    policy.quota.enabled = true;
    policy.quota.default_quota = default_quota;
    policy.on_event = [this](const SandboxEvent& e) {
      absl::MutexLock lock(&mu);
      events.push_back(e);
    };
    return policy;
  }

  std::vector<SandboxEvent> Events() {
    absl::MutexLock lock(&mu);
    return events;
  }
  std::vector<SandboxEvent> EventsOf(const std::string& id) {
    std::vector<SandboxEvent> out;
    for (SandboxEvent& e : Events()) {
      if (e.run_id == id) out.push_back(std::move(e));
    }
    return out;
  }
  absl::Time Now() { return rig.fake.Now(); }
  // Waits until the fake is idle with `waiting` host threads parked (runs
  // in Wait() or in the queue): no polling.
  void Settle(std::size_t waiting) {
    ASSERT_THAT(rig.fake.WaitIdle(waiting), IsOk());
  }
  void Advance(absl::Duration d) {
    ASSERT_THAT(rig.fake.clock().Advance(d), IsOk());
  }
};

// A Run() on its own thread, never waited for without a real-time bound:
// a call that does not return in time is cancelled (so a test that fails
// does not hang).
class Async {
 public:
  Async(Sandbox& sandbox, RunRequest request)
      : sandbox_(sandbox),
        id_(request.id),
        thread_([this, r = std::move(request)]() mutable {
          result_ = sandbox_.Run(std::move(r));
          done_ = true;
        }) {}
  ~Async() { Finish(); }
  Async(const Async&) = delete;
  Async& operator=(const Async&) = delete;

  bool done() const { return done_.load(); }
  // Waits (at most 10 s) for the call to return by itself: the test must
  // have made it (Cancel(), the clock); else it fails, and the run is
  // cancelled.
  const absl::StatusOr<SandboxResult>& Get() {
    AwaitState([this] { return done(); });
    Finish();
    return *result_;
  }

 private:
  void Finish() {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!done() && absl::Now() < give_up) {
      (void)sandbox_.Cancel(id_);
      std::this_thread::yield();
    }
    if (thread_.joinable()) thread_.join();
  }

  Sandbox& sandbox_;
  const std::string id_;
  std::optional<absl::StatusOr<SandboxResult>> result_;
  std::atomic<bool> done_{false};
  std::thread thread_;  // last: started once the rest exists
};

// Run() for a call that must return at once (refused, or a program that
// exits at once): a call left waiting in the queue fails the test instead
// of hanging it.
absl::StatusOr<SandboxResult> RunNow(Sandbox& sandbox, RunRequest request) {
  Async call(sandbox, std::move(request));
  return call.Get();
}

std::size_t PositionOf(const Sandbox& sandbox, absl::string_view id) {
  return sandbox.Position(id).value_or(999);
}

// Waits until run `id` is queued at `position` (0: holds a slot).
void AwaitPosition(const Sandbox& sandbox, absl::string_view id,
                   std::size_t position) {
  AwaitState([&] { return PositionOf(sandbox, id) == position; });
}

// Whether run `id`'s program was started.
bool Started(const MemoryManager& fake, absl::string_view id) {
  for (const FakeRun& run : fake.History()) {
    if (absl::StartsWith(run.command.name, absl::StrCat(id, " "))) {
      return run.pid != 0;
    }
  }
  return false;
}

// Waits until run `id` holds a slot and its program has started.
void AwaitStarted(QuotaRig& q, const Sandbox& sandbox, absl::string_view id) {
  AwaitState(
      [&] { return PositionOf(sandbox, id) == 0 && Started(q.rig.fake, id); });
}

bool HasControlCharacter(absl::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

QuotaKeyStats KeyStatsOf(const Sandbox& sandbox, absl::string_view key) {
  absl::StatusOr<QuotaKeyStats> stats = sandbox.KeyStats(key);
  EXPECT_THAT(stats, IsOk());
  return stats.ok() ? *stats : QuotaKeyStats{};
}

// --- Runs at once per key
// -----------------------------------------------------

TEST(SandboxQuotaTest, EightThreadsOnTenKeysNeverExceedTheKeyOrGlobalCap) {
  constexpr std::size_t kKeys = 10;
  constexpr int kThreads = 8;
  constexpr int kRunsPerThread = 25;
  Rig rig;
  rig.fake.clock().SetAutoAdvance(false);
  absl::Mutex live_mu;
  std::array<int, kKeys> live_per_key{};
  std::array<int, kKeys> most_per_key{};
  int live = 0;
  int most = 0;
  rig.Program("/usr/bin/work", [&](FakeProcess& p) {
    std::size_t k = 0;
    if (p.args().size() != 1 || !absl::SimpleAtoi(p.args()[0], &k) ||
        k >= kKeys) {
      return 3;
    }
    {
      absl::MutexLock lock(&live_mu);
      most_per_key[k] = std::max(most_per_key[k], ++live_per_key[k]);
      most = std::max(most, ++live);
    }
    p.Sleep(absl::Seconds(1));
    {
      absl::MutexLock lock(&live_mu);
      --live_per_key[k];
      --live;
    }
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.queue.max_concurrent = 6;
  policy.queue.max_queued = 200;
  policy.quota.enabled = true;
  policy.quota.default_quota.max_concurrent = 2;
  Sandbox sandbox(rig.fake, policy);

  absl::Mutex mu;
  std::vector<absl::StatusOr<SandboxResult>> results;
  std::atomic<int> threads_done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRunsPerThread; ++i) {
        // Threads 0, 3, 6 share a key at each step (as do 1, 4, 7 and 2, 5):
        // three runs for a cap of two, and three keys of two fill the six
        // global slots.
        const std::string key = absl::StrCat((t % 3 + i) % 10);
        RunRequest r = Keyed(absl::StrCat("t", t, "-", i), key, "work");
        r.args = {key};
        absl::StatusOr<SandboxResult> result = sandbox.Run(std::move(r));
        absl::MutexLock lock(&mu);
        results.push_back(std::move(result));
      }
      ++threads_done;
    });
  }
  // Time moves only once every thread's run is in (running or waiting), or
  // all six slots are busy: so runs overlap as much as the caps allow.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (threads_done.load() < kThreads) {
    const auto active = static_cast<std::size_t>(kThreads - threads_done);
    const QueueStats stats = sandbox.Stats();
    if (stats.running >= 6 || stats.running + stats.pending >= active) {
      ASSERT_THAT(rig.fake.clock().Advance(absl::Milliseconds(250)), IsOk());
    }
    if (absl::Now() > give_up) {
      ADD_FAILURE() << "runs never finished: " << sandbox.Stats();
      std::abort();
    }
    std::this_thread::yield();
  }
  for (std::thread& t : threads) t.join();

  ASSERT_EQ(results.size(), 200u);
  for (const absl::StatusOr<SandboxResult>& r : results) {
    ASSERT_THAT(r, IsOk());
    EXPECT_EQ(r->status, SandboxStatus::kCompleted) << r->id;
  }
  {
    absl::MutexLock lock(&live_mu);
    EXPECT_EQ(most, 6) << "never more than 6 at once (and the caps filled)";
    for (std::size_t k = 0; k < kKeys; ++k) {
      EXPECT_LE(most_per_key[k], 2) << "key " << k;
    }
    EXPECT_EQ(*std::max_element(most_per_key.begin(), most_per_key.end()), 2);
    EXPECT_EQ(live, 0);
  }
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.completed, 200u);
  EXPECT_EQ(stats.running, 0u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.rejected, 0u);
  EXPECT_EQ(stats.quota_rejected, 0u);
  EXPECT_THAT(stats.keys, IsEmpty());
  // Keys without a rate are dropped as their last run leaves.
  EXPECT_EQ(stats.tracked_keys, 0u);
  for (std::size_t k = 0; k < kKeys; ++k) {
    const QuotaKeyStats ks = KeyStatsOf(sandbox, absl::StrCat(k));
    EXPECT_EQ(ks.running, 0u) << k;
    EXPECT_EQ(ks.queued, 0u) << k;
    EXPECT_EQ(ks.quota, AtOnce(2)) << k;
  }
}

TEST(SandboxQuotaTest, KeyAtItsCapDoesNotHoldUpOtherKeys) {
  QuotaRig q;
  SandboxPolicy policy = q.Policy(Quota{}, /*max_concurrent=*/2);
  policy.quota.overrides["a"] = AtOnce(1);
  Sandbox sandbox(q.rig.fake, policy);

  // Each Settle(n) names the runs parked: running (in Wait()) or queued.
  Async a1(sandbox, Keyed("a1", "a"));
  q.Settle(1);  // a1 runs
  EXPECT_TRUE(Started(q.rig.fake, "a1"));
  Async a2(sandbox, Keyed("a2", "a"));
  q.Settle(2);  // a2 queued
  EXPECT_THAT(sandbox.Position("a2"), IsOkAndHolds(1u));
  // A global slot is free: a's second run waits for its key's cap only.
  EXPECT_EQ(sandbox.Stats().running, 1u);
  EXPECT_EQ(sandbox.Stats().pending, 1u);

  // A later run of another key starts at once, passing a2.
  Async b1(sandbox, Keyed("b1", "b"));
  q.Settle(3);
  EXPECT_THAT(sandbox.Position("b1"), IsOkAndHolds(0u));
  EXPECT_TRUE(Started(q.rig.fake, "b1"));
  EXPECT_THAT(sandbox.Position("a2"), IsOkAndHolds(1u));
  EXPECT_FALSE(b1.done());

  // Both slots busy: c1 waits behind a2 in arrival order.
  Async c1(sandbox, Keyed("c1", "c"));
  q.Settle(4);
  EXPECT_THAT(sandbox.Position("c1"), IsOkAndHolds(2u));
  EXPECT_THAT(sandbox.Position("a2"), IsOkAndHolds(1u));

  // b1's slot frees: it goes to c1 (a is still at its cap), not to a2.
  ASSERT_THAT(sandbox.Cancel("b1"), IsOk());
  ASSERT_THAT(b1.Get(), IsOk());
  q.Settle(3);  // a1, c1 running; a2 queued
  EXPECT_THAT(sandbox.Position("c1"), IsOkAndHolds(0u));
  EXPECT_TRUE(Started(q.rig.fake, "c1"));
  EXPECT_THAT(sandbox.Position("a2"), IsOkAndHolds(1u));
  const QuotaKeyStats a = KeyStatsOf(sandbox, "a");
  EXPECT_EQ(a.running, 1u);
  EXPECT_EQ(a.queued, 1u);

  // a1 ends: a2 takes its slot.
  ASSERT_THAT(sandbox.Cancel("a1"), IsOk());
  ASSERT_THAT(a1.Get(), IsOk());
  q.Settle(2);  // c1, a2 running
  EXPECT_THAT(sandbox.Position("a2"), IsOkAndHolds(0u));
  EXPECT_EQ(sandbox.Stats().pending, 0u);
  EXPECT_EQ(q.rig.fake.History().size(), 4u);
}

TEST(SandboxQuotaTest, FreedSlotGoesToTheEarliestRunWhoseKeyIsUnderItsCap) {
  QuotaRig q;
  SandboxPolicy policy = q.Policy(AtOnce(1), /*max_concurrent=*/2);
  Sandbox sandbox(q.rig.fake, policy);
  Async a1(sandbox, Keyed("a1", "a"));
  AwaitStarted(q, sandbox, "a1");
  Async b1(sandbox, Keyed("b1", "b"));
  AwaitStarted(q, sandbox, "b1");
  // Queued in this order: a2 (a at cap), b2 (b at cap), c1, c2.
  Async a2(sandbox, Keyed("a2", "a"));
  AwaitPosition(sandbox, "a2", 1);
  Async b2(sandbox, Keyed("b2", "b"));
  AwaitPosition(sandbox, "b2", 2);
  Async c1(sandbox, Keyed("c1", "c"));
  AwaitPosition(sandbox, "c1", 3);
  Async c2(sandbox, Keyed("c2", "c"));
  AwaitPosition(sandbox, "c2", 4);

  // b1 ends: b2 is the earliest waiting run whose key is under its cap.
  ASSERT_THAT(sandbox.Cancel("b1"), IsOk());
  AwaitStarted(q, sandbox, "b2");
  EXPECT_THAT(sandbox.Position("a2"), IsOkAndHolds(1u));
  EXPECT_THAT(sandbox.Position("c1"), IsOkAndHolds(2u));
  EXPECT_THAT(sandbox.Position("c2"), IsOkAndHolds(3u));

  // b2 ends: a is still at its cap, b has nobody waiting: c1.
  ASSERT_THAT(sandbox.Cancel("b2"), IsOk());
  AwaitStarted(q, sandbox, "c1");
  EXPECT_THAT(sandbox.Position("a2"), IsOkAndHolds(1u));
  EXPECT_THAT(sandbox.Position("c2"), IsOkAndHolds(2u));
}

// A key at its cap keeps its own waiting runs in arrival order while other
// keys' runs pass them, and is no longer tracked once its runs are gone.
TEST(SandboxQuotaTest, AKeyAtItsCapStartsItsWaitingRunsInArrivalOrder) {
  QuotaRig q;
  SandboxPolicy policy = q.Policy(Quota{}, /*max_concurrent=*/2);
  policy.quota.overrides["a"] = AtOnce(1);
  Sandbox sandbox(q.rig.fake, policy);
  Async a1(sandbox, Keyed("a1", "a"));
  AwaitStarted(q, sandbox, "a1");
  Async a2(sandbox, Keyed("a2", "a"));
  AwaitPosition(sandbox, "a2", 1);
  Async a3(sandbox, Keyed("a3", "a"));
  AwaitPosition(sandbox, "a3", 2);
  // A slot is free and "b" is under its cap: it passes a2 and a3.
  Async b1(sandbox, Keyed("b1", "b"));
  AwaitStarted(q, sandbox, "b1");
  Async b2(sandbox, Keyed("b2", "b"));
  AwaitPosition(sandbox, "b2", 3);
  EXPECT_EQ(KeyStatsOf(sandbox, "a").running, 1u);
  EXPECT_EQ(KeyStatsOf(sandbox, "a").queued, 2u);
  // b1 ends: b2 (queued after a2 and a3) takes the slot, "a" being at its cap.
  ASSERT_THAT(sandbox.Cancel("b1"), IsOk());
  AwaitStarted(q, sandbox, "b2");
  // a1 ends: a2, never a3, is next.
  ASSERT_THAT(sandbox.Cancel("a1"), IsOk());
  AwaitStarted(q, sandbox, "a2");
  EXPECT_THAT(sandbox.Position("a3"), IsOkAndHolds(1u));
  EXPECT_FALSE(Started(q.rig.fake, "a3"));
  for (const char* id : {"a2", "a3", "b2"}) {
    ASSERT_THAT(sandbox.Cancel(id), IsOk());
  }
  AwaitState([&] {
    const QueueStats stats = sandbox.Stats();
    return stats.running == 0 && stats.pending == 0;
  });
  EXPECT_EQ(sandbox.Stats().tracked_keys, 0u);
}

// A launched process holds a run of its key until Finish().
TEST(SandboxQuotaTest, ALaunchedProcessCountsAgainstItsKeyUntilFinish) {
  QuotaRig q;
  q.rig.Program("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine().has_value()) {
    }
    return 0;
  });
  Sandbox sandbox(q.rig.fake,
                  q.Policy(AtOnce(1, /*max_queued=*/0), /*max_concurrent=*/4));
  absl::StatusOr<std::unique_ptr<SandboxProcess>> server =
      sandbox.Launch(Keyed("srv", "k", "server"));
  ASSERT_THAT(server, IsOk());
  EXPECT_EQ(KeyStatsOf(sandbox, "k").running, 1u);
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("q", "k", "quick"));
  ASSERT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kConcurrency);
  EXPECT_THAT(RunNow(sandbox, Keyed("other", "j", "quick")), IsOk());
  ASSERT_THAT((*server)->Finish(absl::Seconds(1)), IsOk());
  EXPECT_EQ(KeyStatsOf(sandbox, "k").running, 0u);
  EXPECT_THAT(RunNow(sandbox, Keyed("q2", "k", "quick")), IsOk());
  EXPECT_EQ(sandbox.Stats().running, 0u);
}

// --- The rate
// -------------------------------------------------------------------

TEST(SandboxQuotaTest, HourlyRateRefusesWithRetryAfterAndRefillsInVirtualTime) {
  QuotaRig q;
  const Quota quota = Rate(20, absl::Hours(1));
  Sandbox sandbox(q.rig.fake, q.Policy(quota));
  const absl::Time t0 = q.Now();
  EXPECT_EQ(KeyStatsOf(sandbox, "k").remaining, 20);

  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(RunNow(sandbox, Keyed(absl::StrCat("r", i), "k", "quick")),
                IsOk())
        << i;
  }
  QuotaKeyStats ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 20);
  EXPECT_EQ(ks.remaining, 0);
  EXPECT_EQ(ks.retry_after, absl::Minutes(3));
  EXPECT_EQ(ks.reset_after, absl::Hours(1));

  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("r20", "k", "quick"));
  EXPECT_THAT(refused,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("quota of key \"k\" used up: 20 runs per 1h; "
                                 "retry after 3m")));
  EXPECT_EQ(StatusOf(refused), SandboxStatus::kRejected);
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kRate);
  EXPECT_EQ(exceeded->key, "k");
  EXPECT_EQ(exceeded->quota, quota);
  EXPECT_EQ(exceeded->retry_after, absl::Minutes(3));
  EXPECT_EQ(exceeded->retry_at, t0 + absl::Minutes(3));
  EXPECT_EQ(q.rig.fake.History().size(), 20u);  // nothing started for it

  // One run comes back every 3m: not a moment earlier.
  q.Advance(absl::Minutes(3) - absl::Seconds(1));
  refused = RunNow(sandbox, Keyed("r21", "k", "quick"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("retry after 1s")));
  exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->retry_after, absl::Seconds(1));
  EXPECT_EQ(exceeded->retry_at, t0 + absl::Minutes(3));

  q.Advance(absl::Seconds(1));
  EXPECT_THAT(RunNow(sandbox, Keyed("r22", "k", "quick")), IsOk());
  refused = RunNow(sandbox, Keyed("r23", "k", "quick"));
  exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->retry_after, absl::Minutes(3));
  EXPECT_EQ(exceeded->retry_at, t0 + absl::Minutes(6));

  // A whole window without runs: full again, and no more than full.
  q.Advance(absl::Hours(1));
  ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 0);
  EXPECT_EQ(ks.remaining, 20);
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(RunNow(sandbox, Keyed(absl::StrCat("s", i), "k", "quick")),
                IsOk())
        << i;
  }
  EXPECT_THAT(RunNow(sandbox, Keyed("s20", "k", "quick")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("retry after 3m")));
  EXPECT_EQ(q.rig.fake.History().size(), 41u);
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.quota_rejected, 4u);
  EXPECT_EQ(stats.rejected, 4u);
  EXPECT_EQ(stats.completed, 41u);
  EXPECT_EQ(KeyStatsOf(sandbox, "k").rejected, 4u);
}

// KeyStats().remaining is positive exactly when a run is allowed, to the
// nanosecond of the retry-after a refusal gave; each refusal is one
// kQuotaExceeded event, and every event of a run carries its key.
TEST(SandboxQuotaTest,
     RemainingAndRetryAfterAgreeWithAdmissionToTheNanosecond) {
  QuotaRig q;
  Sandbox sandbox(q.rig.fake, q.Policy(Rate(3, absl::Seconds(30))));
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(KeyStatsOf(sandbox, "k").remaining, 0);
    ASSERT_THAT(RunNow(sandbox, Keyed(absl::StrCat("ok", i), "k", "quick")),
                IsOk());
  }
  EXPECT_EQ(KeyStatsOf(sandbox, "k").remaining, 0);
  absl::StatusOr<SandboxResult> r = RunNow(sandbox, Keyed("no", "k", "quick"));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(r.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kRate);
  EXPECT_EQ(exceeded->key, "k");
  EXPECT_EQ(exceeded->quota, Rate(3, absl::Seconds(30)));
  ASSERT_TRUE(exceeded->retry_after.has_value() &&
              exceeded->retry_at.has_value());
  EXPECT_EQ(*exceeded->retry_after, absl::Seconds(10));
  EXPECT_EQ(*exceeded->retry_at, q.Now() + absl::Seconds(10));
  EXPECT_EQ(KeyStatsOf(sandbox, "k").retry_after, absl::Seconds(10));
  std::vector<SandboxEvent> events = q.EventsOf("no");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, SandboxEvent::Kind::kQuotaExceeded);
  EXPECT_EQ(events[0].quota_key, "k");
  for (const SandboxEvent& e : q.EventsOf("ok0")) EXPECT_EQ(e.quota_key, "k");

  q.Advance(absl::Seconds(10) - absl::Nanoseconds(1));
  EXPECT_EQ(KeyStatsOf(sandbox, "k").remaining, 0);
  EXPECT_THAT(RunNow(sandbox, Keyed("no2", "k", "quick")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  q.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(KeyStatsOf(sandbox, "k").remaining, 1);
  EXPECT_THAT(RunNow(sandbox, Keyed("ok3", "k", "quick")), IsOk());
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.quota_rejected, 2u);
  EXPECT_EQ(stats.rejected, 2u);
  ASSERT_EQ(stats.keys.count("k"), 1u);
  EXPECT_EQ(stats.keys.at("k").rejected, 2u);
}

TEST(SandboxQuotaTest, RetryAfterInTheMessageIsRoundedUp) {
  QuotaRig q;
  Sandbox sandbox(q.rig.fake, q.Policy(Rate(5, absl::Hours(1))));
  const absl::Time t0 = q.Now();
  for (int i = 0; i < 5; ++i) {
    ASSERT_THAT(RunNow(sandbox, Keyed(absl::StrCat("r", i), "k", "quick")),
                IsOk());
  }
  // Next run at t0 + 12m.
  q.Advance(absl::Milliseconds(55'500));
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("x1", "k", "quick"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("5 runs per 1h; retry after 11m5s")));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->retry_after, absl::Milliseconds(11 * 60'000 + 4'500));
  EXPECT_EQ(exceeded->retry_at, t0 + absl::Minutes(12));

  q.Advance(absl::Minutes(11) + absl::Milliseconds(4'500) - absl::Seconds(59));
  EXPECT_THAT(RunNow(sandbox, Keyed("x2", "k", "quick")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       EndsWith("retry after 59s")));
  q.Advance(absl::Milliseconds(58'750));
  refused = RunNow(sandbox, Keyed("x3", "k", "quick"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                EndsWith("retry after 250ms")));
  exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->retry_after, absl::Milliseconds(250));
  q.Advance(absl::Milliseconds(250));
  EXPECT_THAT(RunNow(sandbox, Keyed("x4", "k", "quick")), IsOk());
}

TEST(SandboxQuotaTest, RetryAfterShownIsNeverShorterThanTheWait) {
  // One run per 1h0m30s: the wait after a run is 1h0m30s, and a caller
  // retrying after the figure in the message must be allowed.
  QuotaRig q;
  Sandbox sandbox(q.rig.fake,
                  q.Policy(Rate(1, absl::Hours(1) + absl::Seconds(30))));
  ASSERT_THAT(RunNow(sandbox, Keyed("r0", "k", "quick")), IsOk());
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("r1", "k", "quick"));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->retry_after, absl::Hours(1) + absl::Seconds(30));
  // "1h" would send the caller back 30 s too early: from an hour on the
  // text has no seconds, so it is rounded up to the minute.
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                EndsWith("retry after 1h1m")));
}

TEST(SandboxQuotaTest, OverridesReplaceTheDefaultWhole) {
  QuotaRig q;
  Quota basic = Rate(2, absl::Hours(1));
  basic.max_concurrent = 1;
  basic.max_queued = 0;
  const Quota premium = Rate(5, absl::Hours(1));  // no caps on runs at once
  SandboxPolicy policy = q.Policy(basic, /*max_concurrent=*/8);
  policy.quota.overrides["premium"] = premium;
  Sandbox sandbox(q.rig.fake, policy);

  // premium: three at once (basic would allow one), then five in the hour.
  Async p1(sandbox, Keyed("p1", "premium"));
  Async p2(sandbox, Keyed("p2", "premium"));
  Async p3(sandbox, Keyed("p3", "premium"));
  AwaitState([&] {
    return PositionOf(sandbox, "p1") + PositionOf(sandbox, "p2") +
               PositionOf(sandbox, "p3") ==
           0;
  });
  EXPECT_EQ(KeyStatsOf(sandbox, "premium").running, 3u);
  EXPECT_THAT(RunNow(sandbox, Keyed("p4", "premium", "quick")), IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("p5", "premium", "quick")), IsOk());
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("p6", "premium", "quick"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("5 runs per 1h; retry after 12m")));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->quota, premium);
  EXPECT_EQ(exceeded->retry_after, absl::Minutes(12));

  // Any other key: the default.
  Async b1(sandbox, Keyed("b1", "basic-1"));
  AwaitStarted(q, sandbox, "b1");
  refused = RunNow(sandbox, Keyed("b2", "basic-1", "quick"));
  exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kConcurrency);
  EXPECT_EQ(exceeded->quota, basic);
  EXPECT_THAT(RunNow(sandbox, Keyed("c1", "basic-2", "quick")), IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("c2", "basic-2", "quick")), IsOk());
  refused = RunNow(sandbox, Keyed("c3", "basic-2", "quick"));
  exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kRate);
  EXPECT_EQ(exceeded->quota, basic);
  EXPECT_EQ(exceeded->retry_after, absl::Minutes(30));

  EXPECT_EQ(KeyStatsOf(sandbox, "premium").quota, premium);
  EXPECT_EQ(KeyStatsOf(sandbox, "basic-2").quota, basic);
  EXPECT_EQ(KeyStatsOf(sandbox, "never-seen").quota, basic);
}

// --- Tokens given back
// ----------------------------------------------------------

TEST(SandboxQuotaTest, CancelledWhileQueuedGivesItsTokenBack) {
  QuotaRig q;
  Sandbox sandbox(q.rig.fake,
                  q.Policy(Rate(2, absl::Hours(1)), /*max_concurrent=*/1));
  Async a1(sandbox, Keyed("a1", "k"));
  AwaitStarted(q, sandbox, "a1");
  auto a2 = std::make_unique<Async>(sandbox, Keyed("a2", "k"));
  AwaitPosition(sandbox, "a2", 1);
  QuotaKeyStats ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 2);  // a waiting run is counted
  EXPECT_EQ(ks.remaining, 0);
  EXPECT_EQ(ks.queued, 1u);
  EXPECT_THAT(RunNow(sandbox, Keyed("a3", "k", "quick")),
              StatusIs(absl::StatusCode::kResourceExhausted));

  ASSERT_THAT(sandbox.Cancel("a2"), IsOk());
  EXPECT_THAT(a2->Get(), StatusIs(absl::StatusCode::kCancelled));
  a2.reset();
  ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 1);
  EXPECT_EQ(ks.remaining, 1);
  EXPECT_EQ(ks.queued, 0u);
  EXPECT_EQ(ks.retry_after, absl::ZeroDuration());
  EXPECT_EQ(ks.reset_after, absl::Minutes(30));
  // The token is there to be taken again.
  Async a4(sandbox, Keyed("a4", "k"));
  AwaitPosition(sandbox, "a4", 1);
  EXPECT_EQ(KeyStatsOf(sandbox, "k").used, 2);
  EXPECT_EQ(sandbox.Stats().cancelled, 1u);
}

TEST(SandboxQuotaTest, QueueTimeoutGivesItsTokenBack) {
  QuotaRig q;
  Sandbox sandbox(q.rig.fake,
                  q.Policy(Rate(2, absl::Hours(1)), /*max_concurrent=*/1));
  Async a1(sandbox, Keyed("a1", "k"));
  AwaitStarted(q, sandbox, "a1");
  RunRequest r = Keyed("a2", "k");
  r.queue_timeout = absl::Minutes(1);
  Async a2(sandbox, std::move(r));
  AwaitPosition(sandbox, "a2", 1);
  EXPECT_EQ(KeyStatsOf(sandbox, "k").used, 2);
  q.Advance(absl::Minutes(1));
  EXPECT_THAT(a2.Get(), StatusIs(absl::StatusCode::kDeadlineExceeded));
  const QuotaKeyStats ks = KeyStatsOf(sandbox, "k");
  // Only a1's token, 1m into its 30m.
  EXPECT_EQ(ks.used, 1);
  EXPECT_EQ(ks.remaining, 1);
  EXPECT_EQ(ks.reset_after, absl::Minutes(29));
  EXPECT_EQ(ks.queued, 0u);
  EXPECT_EQ(q.rig.fake.History().size(), 1u);
}

TEST(SandboxQuotaTest, TokenGivenBackAfterItRefilledIsNotCreditedTwice) {
  QuotaRig q;
  Sandbox sandbox(q.rig.fake,
                  q.Policy(Rate(1, absl::Hours(1)), /*max_concurrent=*/1));
  Async b1(sandbox, Keyed("b1", "other"));
  AwaitStarted(q, sandbox, "b1");
  // k1 takes k's token at t0 and waits for the slot for two hours: by then
  // its token has refilled, and k2 takes the bucket's only one.
  auto k1 = std::make_unique<Async>(sandbox, Keyed("k1", "k"));
  AwaitPosition(sandbox, "k1", 1);
  q.Advance(absl::Hours(2));
  Async k2(sandbox, Keyed("k2", "k"));
  AwaitPosition(sandbox, "k2", 2);
  EXPECT_EQ(KeyStatsOf(sandbox, "k").used, 1);
  // k1 leaves: nothing of its token is still owed, so nothing comes back.
  ASSERT_THAT(sandbox.Cancel("k1"), IsOk());
  EXPECT_THAT(k1->Get(), StatusIs(absl::StatusCode::kCancelled));
  k1.reset();
  const QuotaKeyStats ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 1);
  EXPECT_EQ(ks.remaining, 0);
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("k3", "k", "quick"));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value()) << refused.status();
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kRate);
  EXPECT_EQ(exceeded->retry_after, absl::Hours(1));
}

TEST(SandboxQuotaTest, TokenGivenBackReturnsOnlyWhatIsStillOwed) {
  QuotaRig q;
  // T = 10m.
  Sandbox sandbox(q.rig.fake,
                  q.Policy(Rate(6, absl::Hours(1)), /*max_concurrent=*/1));
  Async b1(sandbox, Keyed("b1", "other"));
  AwaitStarted(q, sandbox, "b1");
  auto k1 = std::make_unique<Async>(sandbox, Keyed("k1", "k"));
  AwaitPosition(sandbox, "k1", 1);
  auto k2 = std::make_unique<Async>(sandbox, Keyed("k2", "k"));
  AwaitPosition(sandbox, "k2", 2);
  // Two tokens: the first refills at t0+10m, the second at t0+20m.
  q.Advance(absl::Minutes(15));
  QuotaKeyStats ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 1);
  EXPECT_EQ(ks.reset_after, absl::Minutes(5));
  // k1's token has refilled already: its leaving changes nothing.
  ASSERT_THAT(sandbox.Cancel("k1"), IsOk());
  EXPECT_THAT(k1->Get(), StatusIs(absl::StatusCode::kCancelled));
  k1.reset();
  ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 1);
  EXPECT_EQ(ks.remaining, 5);
  EXPECT_EQ(ks.reset_after, absl::Minutes(5));
  // k2 leaves with half its token owed: that half comes back.
  ASSERT_THAT(sandbox.Cancel("k2"), IsOk());
  EXPECT_THAT(k2->Get(), StatusIs(absl::StatusCode::kCancelled));
  k2.reset();
  ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 0);
  EXPECT_EQ(ks.remaining, 6);
  EXPECT_EQ(ks.reset_after, absl::ZeroDuration());
}

TEST(SandboxQuotaTest, TokensComeBackNoFasterThanTheWindow) {
  QuotaRig q;
  // 3 per 1s: a third of a second is not a whole number of nanoseconds.
  Sandbox sandbox(q.rig.fake, q.Policy(Rate(3, absl::Seconds(1))));
  for (int i = 0; i < 3; ++i) {
    ASSERT_THAT(RunNow(sandbox, Keyed(absl::StrCat("a", i), "k", "quick")),
                IsOk());
  }
  // Just before the window's end, two have come back, not three: else six
  // runs would fit in one window (the most is 2 * max_runs - 1).
  q.Advance(absl::Seconds(1) - absl::Nanoseconds(1));
  EXPECT_EQ(KeyStatsOf(sandbox, "k").remaining, 2);
  ASSERT_THAT(RunNow(sandbox, Keyed("b0", "k", "quick")), IsOk());
  ASSERT_THAT(RunNow(sandbox, Keyed("b1", "k", "quick")), IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("b2", "k", "quick")),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

// A key that bursts max_runs runs, then takes each refill as it comes, gets
// at most 2 * max_runs - 1 runs within one window's length, also when
// window / max_runs is not a whole number of nanoseconds (7 an hour).
TEST(SandboxQuotaTest, ABurstAndItsRefillsStayWithinTwiceMaxRunsMinusOne) {
  QuotaRig q;
  Sandbox sandbox(q.rig.fake, q.Policy(Rate(7, absl::Hours(1))));
  const absl::Time t0 = q.Now();
  int allowed = 0;
  for (int i = 0; i < 40; ++i) {
    absl::StatusOr<SandboxResult> r =
        RunNow(sandbox, Keyed(absl::StrCat("r", i), "k", "quick"));
    if (r.ok()) {
      if (r->started_at < t0 + absl::Hours(1)) ++allowed;
      continue;
    }
    std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(r.status());
    ASSERT_TRUE(exceeded.has_value()) << r.status();
    ASSERT_TRUE(exceeded->retry_after.has_value());
    if (q.Now() + *exceeded->retry_after >= t0 + absl::Hours(1)) break;
    q.Advance(*exceeded->retry_after);
  }
  EXPECT_LE(allowed, 2 * 7 - 1) << "runs started within [t0, t0 + 1h)";
}

// The refusal's payload gives back the key's quota exactly, a window that is
// not a whole number of nanoseconds (an hour / 7) included.
TEST(SandboxQuotaTest, TheRefusalsPayloadKeepsAFractionalWindow) {
  QuotaRig q;
  const Quota quota = Rate(1, absl::Hours(1) / 7);
  Sandbox sandbox(q.rig.fake, q.Policy(quota));
  ASSERT_THAT(RunNow(sandbox, Keyed("a", "k", "quick")), IsOk());
  absl::StatusOr<SandboxResult> r = RunNow(sandbox, Keyed("b", "k", "quick"));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(r.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->quota, quota)
      << absl::FormatDuration(exceeded->quota.window) << " vs "
      << absl::FormatDuration(quota.window);
}

TEST(SandboxQuotaTest, FailedStartGivesItsTokenBack) {
  QuotaRig q;
  q.rig.resolver->AddProgram("/usr/bin/broken");
  q.rig.fake.RegisterStartError("/usr/bin/broken",
                                absl::ResourceExhaustedError("fork: EAGAIN"));
  Sandbox sandbox(q.rig.fake, q.Policy(Rate(1, absl::Hours(1))));
  absl::StatusOr<SandboxResult> failed =
      RunNow(sandbox, Keyed("f1", "k", "broken"));
  ASSERT_THAT(failed, StatusIs(absl::StatusCode::kResourceExhausted,
                               HasSubstr("fork: EAGAIN")));
  EXPECT_FALSE(GetQuotaExceeded(failed.status()).has_value());
  EXPECT_EQ(KeyStatsOf(sandbox, "k").used, 0);
  EXPECT_THAT(RunNow(sandbox, Keyed("ok", "k", "quick")), IsOk());
  EXPECT_EQ(KeyStatsOf(sandbox, "k").used, 1);
}

TEST(SandboxQuotaTest, RefusedRunsTakeNoTokenAndAdmittedRunsKeepTheirs) {
  QuotaRig q;
  SandboxPolicy policy =
      q.Policy(Rate(3, absl::Hours(1)), /*max_concurrent=*/2);
  policy.queue.max_queued = 0;
  Quota capped = Rate(3, absl::Hours(1));
  capped.max_concurrent = 1;
  capped.max_queued = 0;
  policy.quota.overrides["capped"] = capped;
  Sandbox sandbox(q.rig.fake, policy);

  Async a1(sandbox, Keyed("a1", "k"));
  AwaitStarted(q, sandbox, "a1");
  Async c1(sandbox, Keyed("c1", "capped"));
  AwaitStarted(q, sandbox, "c1");
  // Refused by the key's own cap on waiting runs.
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("c2", "capped", "quick"));
  ASSERT_TRUE(GetQuotaExceeded(refused.status()).has_value());
  EXPECT_EQ(KeyStatsOf(sandbox, "capped").used, 1);
  // Refused by the global queue (no quota payload).
  refused = RunNow(sandbox, Keyed("a2", "k", "quick"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("queue is full")));
  EXPECT_FALSE(GetQuotaExceeded(refused.status()).has_value());
  EXPECT_EQ(KeyStatsOf(sandbox, "k").used, 1);

  // A run that was admitted keeps its token, cancelled or not.
  ASSERT_THAT(sandbox.Cancel("a1"), IsOk());
  ASSERT_THAT(a1.Get(), IsOk());
  EXPECT_EQ(a1.Get()->status, SandboxStatus::kCancelled);
  EXPECT_EQ(KeyStatsOf(sandbox, "k").used, 1);
  EXPECT_THAT(RunNow(sandbox, Keyed("a3", "k", "quick")), IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("a4", "k", "quick")), IsOk());
  const QuotaKeyStats ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 3);
  EXPECT_EQ(ks.remaining, 0);
  // a1, a3 and a4 used the three; the two refusals did not.
  EXPECT_THAT(RunNow(sandbox, Keyed("a5", "k", "quick")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("3 runs per 1h; retry after 20m")));
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.rejected, 3u);
  EXPECT_EQ(stats.quota_rejected, 2u);
}

// A waiting run whose queue timeout has passed leaves its key's list when a
// slot frees; its thread withdraws it later. If the key's last run leaves
// in between, the key's state must still be there for that withdrawal.
// (A race by nature: under the asan preset a key state dropped too early
// shows as a heap-use-after-free within a few rounds.)
TEST(SandboxQuotaTest, TimedOutRunWithdrawsAfterItsKeysLastRunLeft) {
  for (int round = 0; round < 50; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    QuotaRig q;
    Sandbox sandbox(q.rig.fake, q.Policy(Quota{}, /*max_concurrent=*/2));
    Async k1(sandbox, Keyed("k1", "k"));
    AwaitStarted(q, sandbox, "k1");
    Async b1(sandbox, Keyed("b1", "b"));
    AwaitStarted(q, sandbox, "b1");
    RunRequest r = Keyed("s", "k");
    r.queue_timeout = absl::Seconds(1);
    Async s(sandbox, std::move(r));
    AwaitPosition(sandbox, "s", 1);
    q.Advance(absl::Seconds(2));
    // b1's slot frees (s is out of time: not admitted), then k1 leaves.
    ASSERT_THAT(sandbox.Cancel("b1"), IsOk());
    ASSERT_THAT(sandbox.Cancel("k1"), IsOk());
    EXPECT_THAT(s.Get(), StatusIs(absl::StatusCode::kDeadlineExceeded));
    EXPECT_THAT(b1.Get(), IsOk());
    EXPECT_THAT(k1.Get(), IsOk());
    const QueueStats stats = sandbox.Stats();
    EXPECT_EQ(stats.running + stats.pending, 0u);
    EXPECT_EQ(stats.tracked_keys, 0u);
    EXPECT_THAT(RunNow(sandbox, Keyed("after", "k", "quick")), IsOk());
  }
}

// --- Runs waiting per key
// --------------------------------------------------------

TEST(SandboxQuotaTest, MaxQueuedZeroRefusesARunThatCannotStartNow) {
  QuotaRig q;
  const Quota quota = AtOnce(1, /*max_queued=*/0);
  Sandbox sandbox(q.rig.fake, q.Policy(quota, /*max_concurrent=*/2));
  Async a1(sandbox, Keyed("a1", "a"));
  AwaitStarted(q, sandbox, "a1");

  // Its key is at its cap: refused at once, not queued.
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("a2", "a", "quick"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("quota of key \"a\"")));
  EXPECT_EQ(StatusOf(refused), SandboxStatus::kRejected);
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kConcurrency);
  EXPECT_EQ(exceeded->key, "a");
  EXPECT_EQ(exceeded->quota, quota);
  EXPECT_FALSE(exceeded->retry_after.has_value());
  EXPECT_FALSE(exceeded->retry_at.has_value());

  // Under its cap with a free slot: runs at once whatever max_queued.
  Async b1(sandbox, Keyed("b1", "b"));
  AwaitStarted(q, sandbox, "b1");
  // Under its cap, but no free slot: it would have to wait, so refused.
  refused = RunNow(sandbox, Keyed("c1", "c", "quick"));
  exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kConcurrency);
  EXPECT_EQ(exceeded->key, "c");

  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.quota_rejected, 2u);
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(q.rig.fake.History().size(), 2u);
}

TEST(SandboxQuotaTest, MaxQueuedBoundsTheKeysWaitingRuns) {
  QuotaRig q;
  Sandbox sandbox(q.rig.fake,
                  q.Policy(AtOnce(1, /*max_queued=*/2), /*max_concurrent=*/4));
  Async a1(sandbox, Keyed("a1", "a"));
  AwaitStarted(q, sandbox, "a1");
  Async a2(sandbox, Keyed("a2", "a"));
  AwaitPosition(sandbox, "a2", 1);
  auto a3 = std::make_unique<Async>(sandbox, Keyed("a3", "a"));
  AwaitPosition(sandbox, "a3", 2);
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("a4", "a", "quick"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("quota of key \"a\"")));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(refused.status());
  ASSERT_TRUE(exceeded.has_value());
  EXPECT_EQ(exceeded->kind, QuotaExceeded::Kind::kConcurrency);
  EXPECT_FALSE(exceeded->retry_after.has_value());
  QuotaKeyStats ks = KeyStatsOf(sandbox, "a");
  EXPECT_EQ(ks.running, 1u);
  EXPECT_EQ(ks.queued, 2u);
  EXPECT_EQ(ks.rejected, 1u);

  // Other keys are not affected.
  Async b1(sandbox, Keyed("b1", "b"));
  AwaitStarted(q, sandbox, "b1");
  // A waiting run leaves: one more of a's may wait.
  ASSERT_THAT(sandbox.Cancel("a3"), IsOk());
  EXPECT_THAT(a3->Get(), StatusIs(absl::StatusCode::kCancelled));
  a3.reset();
  Async a5(sandbox, Keyed("a5", "a"));
  AwaitPosition(sandbox, "a5", 2);
  EXPECT_EQ(KeyStatsOf(sandbox, "a").queued, 2u);
  EXPECT_EQ(sandbox.Stats().quota_rejected, 1u);
}

TEST(SandboxQuotaTest, GlobalQueueLimitsStillHold) {
  QuotaRig q;
  SandboxPolicy policy = q.Policy(AtOnce(5), /*max_concurrent=*/1);
  policy.queue.max_queued = 1;
  Sandbox sandbox(q.rig.fake, policy);
  Async a1(sandbox, Keyed("a1", "a"));
  AwaitStarted(q, sandbox, "a1");
  Async b1(sandbox, Keyed("b1", "b"));
  AwaitPosition(sandbox, "b1", 1);
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, Keyed("c1", "c", "quick"));
  EXPECT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("queue is full")));
  EXPECT_FALSE(GetQuotaExceeded(refused.status()).has_value());
  EXPECT_EQ(sandbox.Stats().running, 1u);
  EXPECT_EQ(sandbox.Stats().quota_rejected, 0u);
  EXPECT_EQ(sandbox.Stats().rejected, 1u);
}

// --- Idle keys
// ------------------------------------------------------------------

TEST(SandboxQuotaTest, IdleKeysAreDroppedAfterTheWindow) {
  QuotaRig q;
  const Quota quota = Rate(2, absl::Hours(1));
  SandboxPolicy policy = q.Policy(quota);
  policy.quota.overrides["free"] = Quota{};  // no rate: dropped at once
  Sandbox sandbox(q.rig.fake, policy);

  ASSERT_THAT(RunNow(sandbox, Keyed("o1", "old", "quick")), IsOk());
  ASSERT_THAT(RunNow(sandbox, Keyed("o2", "old", "quick")), IsOk());
  ASSERT_THAT(RunNow(sandbox, Keyed("o3", "old", "quick")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_THAT(RunNow(sandbox, Keyed("f1", "free", "quick")), IsOk());
  QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.tracked_keys, 1u);
  ASSERT_EQ(stats.keys.count("old"), 1u);
  EXPECT_EQ(stats.keys.count("free"), 0u);
  EXPECT_EQ(stats.keys.at("old"), KeyStatsOf(sandbox, "old"));
  EXPECT_EQ(stats.keys.at("old").used, 2);
  EXPECT_EQ(stats.keys.at("old").rejected, 1u);

  // Half a window later a new key does not drop "old" (still counted).
  q.Advance(absl::Minutes(30));
  ASSERT_THAT(RunNow(sandbox, Keyed("m1", "mid", "quick")), IsOk());
  stats = sandbox.Stats();
  EXPECT_EQ(stats.tracked_keys, 2u);
  EXPECT_EQ(stats.keys.count("old"), 1u);
  EXPECT_EQ(stats.keys.at("old").used, 1);

  // A window after their last runs, both are idle: no longer listed, kept
  // until a new key comes.
  q.Advance(absl::Minutes(30));
  stats = sandbox.Stats();
  EXPECT_THAT(stats.keys, IsEmpty());
  EXPECT_EQ(stats.tracked_keys, 2u);
  EXPECT_EQ(KeyStatsOf(sandbox, "old").remaining, 2);

  ASSERT_THAT(RunNow(sandbox, Keyed("n1", "new", "quick")), IsOk());
  stats = sandbox.Stats();
  EXPECT_EQ(stats.tracked_keys, 1u);
  ASSERT_EQ(stats.keys.size(), 1u);
  EXPECT_EQ(stats.keys.begin()->first, "new");
  // A dropped key reads as a new one: its full quota, nothing counted.
  QuotaKeyStats fresh;
  fresh.key = "old";
  fresh.quota = quota;
  fresh.remaining = 2;
  EXPECT_EQ(KeyStatsOf(sandbox, "old"), fresh);
  // And behaves as one.
  ASSERT_THAT(RunNow(sandbox, Keyed("o4", "old", "quick")), IsOk());
  ASSERT_THAT(RunNow(sandbox, Keyed("o5", "old", "quick")), IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("o6", "old", "quick")),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST(SandboxQuotaTest, KeyStatsOfAnUntrackedKeyIsItsFullQuota) {
  QuotaRig q;
  const Quota quota = Rate(7, absl::Minutes(7));
  Sandbox sandbox(q.rig.fake, q.Policy(quota));
  QuotaKeyStats fresh;
  fresh.key = "nobody";
  fresh.quota = quota;
  fresh.remaining = 7;
  EXPECT_THAT(sandbox.KeyStats("nobody"), IsOkAndHolds(fresh));
  EXPECT_EQ(sandbox.Stats().tracked_keys, 0u);
  ASSERT_THAT(RunNow(sandbox, Keyed("r1", "k", "quick")), IsOk());
  const QuotaKeyStats ks = KeyStatsOf(sandbox, "k");
  EXPECT_EQ(ks.used, 1);
  EXPECT_EQ(ks.remaining, 6);
  EXPECT_EQ(ks.reset_after, absl::Minutes(1));
  EXPECT_EQ(ks.retry_after, absl::ZeroDuration());
}

// A 366-day window and a max_runs of INT64_MAX do not overflow the time
// arithmetic; idle keys, those two included once their buckets are full,
// are swept when the shortest window has passed.
TEST(SandboxQuotaTest, ExtremeQuotasDoNotOverflowAndIdleKeysAreSwept) {
  QuotaRig q;
  SandboxPolicy policy =
      q.Policy(Rate(2, absl::Seconds(1)), /*max_concurrent=*/4);
  policy.quota.overrides["year"] = Rate(1, absl::Hours(24 * 366));
  policy.quota.overrides["huge"] =
      Rate(std::numeric_limits<int64_t>::max(), absl::Hours(24 * 366));
  Sandbox sandbox(q.rig.fake, policy);
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(RunNow(sandbox, Keyed(absl::StrCat("r", i),
                                      absl::StrCat("key", i), "quick")),
                IsOk());
  }
  EXPECT_EQ(sandbox.Stats().tracked_keys, 50u);
  ASSERT_THAT(RunNow(sandbox, Keyed("y1", "year", "quick")), IsOk());
  absl::StatusOr<SandboxResult> y2 =
      RunNow(sandbox, Keyed("y2", "year", "quick"));
  ASSERT_THAT(y2, StatusIs(absl::StatusCode::kResourceExhausted));
  std::optional<QuotaExceeded> exceeded = GetQuotaExceeded(y2.status());
  ASSERT_TRUE(exceeded.has_value() && exceeded->retry_after.has_value());
  EXPECT_EQ(*exceeded->retry_after, absl::Hours(24 * 366));
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(RunNow(sandbox, Keyed(absl::StrCat("h", i), "huge", "quick")),
                IsOk());
  }
  EXPECT_GT(KeyStatsOf(sandbox, "huge").remaining, 0);
  q.Advance(absl::Seconds(2));
  ASSERT_THAT(RunNow(sandbox, Keyed("new", "fresh", "quick")), IsOk());
  // Swept: the 50 idle keys and "huge" (20 ns of its bucket, refilled);
  // kept: "year" (its bucket is not full) and "fresh" (its run's token).
  EXPECT_EQ(sandbox.Stats().tracked_keys, 2u);
  EXPECT_EQ(KeyStatsOf(sandbox, "key0").used, 0);
}

// --- Events and stats
// ------------------------------------------------------------

TEST(SandboxQuotaTest, RefusalEmitsOneQuotaEventAndEveryEventCarriesTheKey) {
  QuotaRig q;
  SandboxPolicy policy =
      q.Policy(Rate(1, absl::Hours(1)), /*max_concurrent=*/2);
  policy.quota.overrides["solo"] = AtOnce(1, /*max_queued=*/0);
  Sandbox sandbox(q.rig.fake, policy);
  auto with_secret = [](RunRequest r) {
    EXPECT_THAT(r.env.SetSecret("API_TOKEN", kSecret), IsOk());
    r.args = {"--token", kSecret};
    return r;
  };

  ASSERT_THAT(RunNow(sandbox, with_secret(Keyed("ok", "tenant-1", "quick"))),
              IsOk());
  const std::vector<SandboxEvent> ok_events = q.EventsOf("ok");
  std::vector<SandboxEvent::Kind> kinds;
  for (const SandboxEvent& e : ok_events) {
    kinds.push_back(e.kind);
    EXPECT_EQ(e.quota_key, "tenant-1") << e;
  }
  EXPECT_THAT(kinds, ::testing::IsSupersetOf({SandboxEvent::Kind::kQueued,
                                              SandboxEvent::Kind::kStarted,
                                              SandboxEvent::Kind::kExited}));

  // Over the rate.
  absl::StatusOr<SandboxResult> refused =
      RunNow(sandbox, with_secret(Keyed("over", "tenant-1", "quick")));
  ASSERT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr(kSecret)));
  std::vector<SandboxEvent> over = q.EventsOf("over");
  ASSERT_EQ(over.size(), 1u) << ::testing::PrintToString(over);
  EXPECT_EQ(over[0].kind, SandboxEvent::Kind::kQuotaExceeded);
  EXPECT_EQ(SandboxEventKindName(over[0].kind), "quota_exceeded");
  EXPECT_EQ(over[0].quota_key, "tenant-1");
  EXPECT_EQ(over[0].time, q.Now());
  EXPECT_THAT(over[0].detail,
              AllOf(HasSubstr("\"tenant-1\""), HasSubstr("retry after 1h")));
  EXPECT_THAT(ToString(over[0]), HasSubstr("quota_exceeded"));

  // Over the runs at once.
  Async s1(sandbox, with_secret(Keyed("s1", "solo")));
  AwaitStarted(q, sandbox, "s1");
  refused = RunNow(sandbox, with_secret(Keyed("s2", "solo", "quick")));
  ASSERT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_THAT(refused.status().message(), Not(HasSubstr(kSecret)));
  std::vector<SandboxEvent> s2 = q.EventsOf("s2");
  ASSERT_EQ(s2.size(), 1u) << ::testing::PrintToString(s2);
  EXPECT_EQ(s2[0].kind, SandboxEvent::Kind::kQuotaExceeded);
  EXPECT_EQ(s2[0].quota_key, "solo");
  EXPECT_THAT(s2[0].detail, HasSubstr("\"solo\""));
  ASSERT_THAT(sandbox.Cancel("s1"), IsOk());
  ASSERT_THAT(s1.Get(), IsOk());

  std::size_t quota_events = 0;
  for (const SandboxEvent& e : q.Events()) {
    EXPECT_THAT(e.detail, Not(HasSubstr(kSecret))) << e;
    EXPECT_THAT(ToString(e), Not(HasSubstr(kSecret)));
    EXPECT_FALSE(e.quota_key.empty()) << e;
    if (e.kind == SandboxEvent::Kind::kQuotaExceeded) ++quota_events;
  }
  EXPECT_EQ(quota_events, 2u);
  for (const SandboxEvent& e : q.EventsOf("s1")) {
    EXPECT_EQ(e.quota_key, "solo") << e;
  }
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.quota_rejected, 2u);
  EXPECT_EQ(stats.rejected, 2u);
  EXPECT_EQ(KeyStatsOf(sandbox, "tenant-1").rejected, 1u);
}

TEST(SandboxQuotaTest, StatsListKeysWithRunsOrCountedRuns) {
  QuotaRig q;
  SandboxPolicy policy = q.Policy(AtOnce(1), /*max_concurrent=*/4);
  policy.quota.overrides["rated"] = Rate(4, absl::Hours(1));
  Sandbox sandbox(q.rig.fake, policy);
  Async a1(sandbox, Keyed("a1", "a"));
  AwaitStarted(q, sandbox, "a1");
  Async a2(sandbox, Keyed("a2", "a"));
  AwaitPosition(sandbox, "a2", 1);
  ASSERT_THAT(RunNow(sandbox, Keyed("r1", "rated", "quick")), IsOk());
  ASSERT_THAT(RunNow(sandbox, Keyed("f1", "other", "quick")), IsOk());

  QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.tracked_keys, 2u);
  ASSERT_EQ(stats.keys.size(), 2u);
  const QuotaKeyStats& a = stats.keys.at("a");
  EXPECT_EQ(a.key, "a");
  EXPECT_EQ(a.running, 1u);
  EXPECT_EQ(a.queued, 1u);
  EXPECT_EQ(a.used, 0);
  EXPECT_EQ(a.quota, AtOnce(1));
  EXPECT_EQ(a, KeyStatsOf(sandbox, "a"));
  const QuotaKeyStats& rated = stats.keys.at("rated");
  EXPECT_EQ(rated.running, 0u);
  EXPECT_EQ(rated.used, 1);
  EXPECT_EQ(rated.remaining, 3);
  EXPECT_EQ(rated.reset_after, absl::Minutes(15));
  EXPECT_EQ(rated, KeyStatsOf(sandbox, "rated"));
  EXPECT_EQ(stats.running, 1u);
  EXPECT_EQ(stats.pending, 1u);

  ASSERT_THAT(sandbox.Cancel("a2"), IsOk());
  ASSERT_THAT(sandbox.Cancel("a1"), IsOk());
  AwaitState([&] { return a1.done() && a2.done(); });
  q.Advance(absl::Minutes(15));
  stats = sandbox.Stats();
  EXPECT_THAT(stats.keys, IsEmpty());
  EXPECT_EQ(stats.running, 0u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(KeyStatsOf(sandbox, "a").running, 0u);
  EXPECT_EQ(KeyStatsOf(sandbox, "a").queued, 0u);
}

// --- Bad input
// ------------------------------------------------------------------

TEST(SandboxQuotaTest, BadQuotaKeyIsRefusedBeforeAnythingRuns) {
  QuotaRig q;
  Sandbox sandbox(q.rig.fake, q.Policy(Rate(10, absl::Hours(1))));
  const std::vector<std::string> bad = {
      "",
      std::string(257, 'k'),
      "a\nb",
      "tab\there",
      std::string("nul\0x", 5),
      "\x7f",
      "\x1b[31mred",
      "\x1b]0;owned\x07\n" + std::string(300, 'a')};
  int n = 0;
  for (const std::string& key : bad) {
    const std::string id = absl::StrCat("bad", n++);
    const absl::StatusOr<SandboxResult> refused =
        RunNow(sandbox, Keyed(id, key, "quick"));
    EXPECT_THAT(refused, StatusIs(absl::StatusCode::kInvalidArgument,
                                  HasSubstr("quota_key")))
        << id;
    // The key is refused because it would reach logs: it is not repeated
    // raw in the message or the event.
    EXPECT_FALSE(HasControlCharacter(refused.status().message())) << id;
    const std::vector<SandboxEvent> events = q.EventsOf(id);
    EXPECT_EQ(events.size(), 1u) << id;
    for (const SandboxEvent& e : events) {
      EXPECT_EQ(e.kind, SandboxEvent::Kind::kRejected) << e;
      EXPECT_FALSE(HasControlCharacter(e.quota_key)) << id;
      EXPECT_FALSE(HasControlCharacter(e.detail)) << id;
    }
  }
  EXPECT_THAT(q.rig.fake.History(), IsEmpty());
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.tracked_keys, 0u);
  EXPECT_EQ(stats.quota_rejected, 0u);
  EXPECT_EQ(stats.running + stats.pending, 0u);

  // The bounds themselves are fine: 256 bytes, any printable byte.
  EXPECT_THAT(RunNow(sandbox, Keyed("ok1", std::string(256, 'k'), "quick")),
              IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("ok2", "t\xc3\xa9nant \"x\" ~", "quick")),
              IsOk());
  EXPECT_EQ(q.rig.fake.History().size(), 2u);
}

TEST(SandboxQuotaTest, QuotaKeyIgnoredAndKeyStatsRefusedWhenQuotasAreOff) {
  QuotaRig q;
  SandboxPolicy policy = q.Policy(Rate(1, absl::Hours(1)));
  policy.quota.enabled = false;
  Sandbox sandbox(q.rig.fake, policy);
  EXPECT_THAT(RunNow(sandbox, Keyed("r1", "", "quick")), IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("r2", "k", "quick")), IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("r3", "k", "quick")), IsOk());
  EXPECT_THAT(RunNow(sandbox, Keyed("r4", "a\nb", "quick")), IsOk());
  EXPECT_THAT(sandbox.KeyStats("k"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.tracked_keys, 0u);
  EXPECT_THAT(stats.keys, IsEmpty());
  for (const SandboxEvent& e : q.Events()) {
    EXPECT_EQ(e.quota_key, "") << e;
  }
}

struct BadPolicy {
  std::string name;
  std::function<void(QuotaPolicy&)> edit;
  std::string field;
  std::string value;
};

std::vector<BadPolicy> BadQuotaPolicies() {
  return {
      {"max_concurrent 0",
       [](QuotaPolicy& p) { p.default_quota.max_concurrent = 0; },
       "quota.default_quota.max_concurrent", "0"},
      {"max_concurrent -2",
       [](QuotaPolicy& p) { p.default_quota.max_concurrent = -2; },
       "quota.default_quota.max_concurrent", "-2"},
      {"max_runs -3", [](QuotaPolicy& p) { p.default_quota.max_runs = -3; },
       "quota.default_quota.max_runs", "-3"},
      {"max_queued -1", [](QuotaPolicy& p) { p.default_quota.max_queued = -1; },
       "quota.default_quota.max_queued", "-1"},
      {"window 0",
       [](QuotaPolicy& p) {
         p.default_quota.max_runs = 5;
         p.default_quota.window = absl::ZeroDuration();
       },
       "quota.default_quota.window", "0s"},
      {"window -1s",
       [](QuotaPolicy& p) {
         p.default_quota.max_runs = 5;
         p.default_quota.window = absl::Seconds(-1);
       },
       "quota.default_quota.window", "-1s"},
      {"window 367 days",
       [](QuotaPolicy& p) {
         p.default_quota.max_runs = 5;
         p.default_quota.window = absl::Hours(24 * 367);
       },
       "quota.default_quota.window", "8808h"},
      {"override window",
       [](QuotaPolicy& p) { p.overrides["k"] = Rate(3, -absl::Minutes(1)); },
       "quota.overrides[\"k\"].window", "-1m"},
      {"override max_queued",
       [](QuotaPolicy& p) { p.overrides["k"] = AtOnce(1, /*max_queued=*/-4); },
       "quota.overrides[\"k\"].max_queued", "-4"},
      {"override empty key", [](QuotaPolicy& p) { p.overrides[""] = Quota{}; },
       "quota.overrides", "empty"},
      {"override key with a control character",
       [](QuotaPolicy& p) { p.overrides["a\tb"] = Quota{}; }, "quota.overrides",
       "control character"},
  };
}

TEST(SandboxQuotaTest, InvalidQuotaPoliciesAreRefusedNamingTheField) {
  QuotaRig q;
  for (const BadPolicy& bad : BadQuotaPolicies()) {
    SCOPED_TRACE(bad.name);
    SandboxPolicy policy = q.Policy(Quota{});
    bad.edit(policy.quota);
    const auto names_it =
        StatusIs(absl::StatusCode::kInvalidArgument,
                 AllOf(HasSubstr(bad.field), HasSubstr(bad.value)));
    EXPECT_THAT(ValidateQuotaPolicy(policy.quota), names_it);
    EXPECT_THAT(ValidateSandboxPolicy(policy), names_it);
    EXPECT_THAT(Sandbox::Create(q.rig.fake, policy), names_it);
  }
  // The bounds are accepted.
  SandboxPolicy policy = q.Policy(Rate(1, absl::Hours(24 * 366)));
  policy.quota.default_quota.max_queued = 0;
  policy.quota.default_quota.max_concurrent = 1;
  policy.quota.overrides[std::string(256, 'k')] = Rate(1, absl::Nanoseconds(1));
  EXPECT_THAT(ValidateSandboxPolicy(policy), IsOk());
  EXPECT_THAT(Sandbox::Create(q.rig.fake, policy), IsOk());
}

TEST(SandboxQuotaTest, SandboxBuiltWithAnInvalidQuotaPolicyRefusesEveryRun) {
  QuotaRig q;
  for (const BadPolicy& bad : BadQuotaPolicies()) {
    SCOPED_TRACE(bad.name);
    SandboxPolicy policy = q.Policy(Quota{});
    bad.edit(policy.quota);
    Sandbox sandbox(q.rig.fake, policy);
    EXPECT_THAT(
        RunNow(sandbox, Keyed("r", "k", "quick")),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.field)));
  }
  EXPECT_THAT(q.rig.fake.History(), IsEmpty());
}

// What a sandbox does with max_runs 0 (in the default or an override), as an
// exit code: 0 when the policy is refused naming the field everywhere and a
// directly built Sandbox refuses runs with it.
int MaxRunsZeroExitCode(bool enabled, bool in_override) {
  QuotaRig q;
  SandboxPolicy policy = q.Policy(Quota{});
  policy.quota.enabled = enabled;
  Quota zero;
  zero.max_runs = 0;
  if (in_override) {
    policy.quota.overrides["k"] = zero;
  } else {
    policy.quota.default_quota = zero;
  }
  const std::string field = in_override ? "quota.overrides[\"k\"].max_runs"
                                        : "quota.default_quota.max_runs";
  auto names_field = [&](const absl::Status& s) {
    return s.code() == absl::StatusCode::kInvalidArgument &&
           absl::StrContains(s.message(), field);
  };
  if (!names_field(ValidateSandboxPolicy(policy))) return 2;
  if (!names_field(Sandbox::Create(q.rig.fake, policy).status())) return 3;
  Sandbox sandbox(q.rig.fake, policy);
  if (!names_field(sandbox.Run(Keyed("r", "k", "quick")).status())) return 4;
  return 0;
}

// In a child process: a division by max_runs would end the whole binary.
TEST(SandboxQuotaTest, MaxRunsZeroIsRefusedNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const bool enabled : {true, false}) {
    for (const bool in_override : {false, true}) {
      SCOPED_TRACE(
          absl::StrCat("enabled ", enabled, ", override ", in_override));
      EXPECT_EXIT(std::_Exit(MaxRunsZeroExitCode(enabled, in_override)),
                  ::testing::ExitedWithCode(0), "");
    }
  }
}

TEST(SandboxQuotaTest, TextsNameTheKeyTheQuotaAndARoundedUpRetry) {
  Quota q;
  q.max_concurrent = 1;
  q.max_runs = 4;
  q.window = absl::Minutes(10);
  EXPECT_EQ(ToString(q), "{1 at once, 4 per 10m}");
  EXPECT_EQ(ToString(Quota{}), "{no caps}");

  QuotaExceeded rate;
  rate.kind = QuotaExceeded::Kind::kRate;
  rate.key = "client-0";
  rate.quota = q;
  rate.retry_after = absl::Minutes(2) + absl::Milliseconds(29'950);
  // 2m29.95s is shown as 2m30s: never shorter than the wait.
  EXPECT_EQ(fmt::format("{}", rate),
            "quota of key \"client-0\" used up {1 at once, 4 per 10m}; "
            "retry after 2m30s");
  QuotaExceeded busy;
  busy.kind = QuotaExceeded::Kind::kConcurrency;
  busy.key = "client-1";
  busy.quota = q;
  EXPECT_EQ(ToString(busy),
            "quota of key \"client-1\": too many runs at once {1 at once, 4 "
            "per 10m}");
  EXPECT_EQ(QuotaExceededKindName(busy.kind), "concurrency");

  QuotaKeyStats stats;
  stats.key = "client-0";
  stats.quota = q;
  stats.used = 4;
  stats.retry_after = absl::Seconds(149) + absl::Milliseconds(100);
  stats.rejected = 2;
  EXPECT_EQ(ToString(stats),
            "key \"client-0\" {1 at once, 4 per 10m}: 0 running, 0 queued, 4 "
            "used, 0 remaining, retry after 2m30s, 2 rejected");
}

// A refusal read back from a Status may carry any key (the payload is
// text anyone can attach): its texts show control characters escaped.
TEST(SandboxQuotaTest, TextsShowAKeysControlCharactersEscaped) {
  QuotaExceeded busy;
  busy.kind = QuotaExceeded::Kind::kConcurrency;
  busy.key = "a\nb\x1b[2J";
  EXPECT_EQ(ToString(busy),
            "quota of key \"a\\nb\\x1b[2J\": too many runs at once {no caps}");
  QuotaKeyStats stats;
  stats.key = "tab\tkey";
  EXPECT_THAT(ToString(stats), HasSubstr("key \"tab\\tkey\" {no caps}"));
}

}  // namespace
}  // namespace procsandbox
