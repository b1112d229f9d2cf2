// Sandbox: per-key quotas when runs race each other and the Sandbox's
// destruction: a run expired by the dispatcher while its key's last run
// leaves, many threads cancelling and timing out at once, ~Sandbox() with a
// run still reporting. Each runs in a child (EXPECT_EXIT), so that a crash
// fails that test only; on the asan preset a use after free shows as one.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

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
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::StatusIs;

// Spins `d` of real time (lets another thread reach a lock it is about to
// take; no sleep).
void Spin(absl::Duration d) {
  const absl::Time until = absl::Now() + d;
  while (absl::Now() < until) std::this_thread::yield();
}

RunRequest Req(std::string id, std::string program, std::string key,
               std::optional<absl::Duration> queue_timeout = std::nullopt) {
  RunRequest r;
  r.id = std::move(id);
  r.program = std::move(program);
  r.quota_key = std::move(key);
  r.queue_timeout = queue_timeout;
  return r;
}

// A Run() on its own thread.
struct Runner {
  std::string id;
  std::optional<absl::StatusOr<SandboxResult>> result;
  std::atomic<bool> done{false};
  std::thread thread;
};

// A quota-enabled sandbox on a fake whose clock moves only by Advance(), with
// programs "sleeper" (10 min), "one" (1 s), "two" (2 s) and "quick" (no
// time). Destroying it cancels every run, then joins every runner.
struct Harness {
  Rig rig;
  absl::Mutex mu;
  std::vector<SandboxEvent> events ABSL_GUARDED_BY(mu);
  // Called for every event (from any thread) before it is recorded.
  std::function<void(const SandboxEvent&)> hook;
  std::list<Runner> runners;
  std::unique_ptr<Sandbox> sandbox;

  explicit Harness(const std::function<void(SandboxPolicy&)>& configure) {
    rig.fake.clock().SetAutoAdvance(false);
    rig.Program("/usr/bin/sleeper", [](FakeProcess& p) {
      p.Sleep(absl::Minutes(10));
      return 0;
    });
    rig.Program("/usr/bin/one", [](FakeProcess& p) {
      p.Sleep(absl::Seconds(1));
      return 0;
    });
    rig.Program("/usr/bin/two", [](FakeProcess& p) {
      p.Sleep(absl::Seconds(2));
      return 0;
    });
    rig.Program("/usr/bin/quick", [](FakeProcess&) { return 0; });
    SandboxPolicy policy = rig.Policy();
    policy.queue.max_concurrent = 1;
    policy.queue.max_queued = 16;
    policy.quota.enabled = true;
    policy.on_event = [this](const SandboxEvent& e) {
      if (hook) hook(e);
      absl::MutexLock lock(&mu);
      events.push_back(e);
    };
    configure(policy);
    absl::StatusOr<std::unique_ptr<Sandbox>> s =
        Sandbox::Create(rig.fake, policy);
    EXPECT_THAT(s, IsOk());
    if (s.ok()) sandbox = *std::move(s);
  }
  // Cancels the runs still going and joins them before destroying the
  // sandbox, so that a test failing half-way does not hang.
  ~Harness() {
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    for (Runner& r : runners) {
      while (sandbox != nullptr && !r.done && absl::Now() < give_up) {
        (void)sandbox->Cancel(r.id);
        std::this_thread::yield();
      }
    }
    for (Runner& r : runners) {
      if (r.done && r.thread.joinable()) r.thread.join();
    }
    sandbox.reset();
    for (Runner& r : runners) {
      if (r.thread.joinable()) r.thread.join();
    }
  }

  // `after` runs on the run's thread once Run() has returned.
  Runner& Start(RunRequest request, std::function<void()> after = nullptr) {
    Runner& r = runners.emplace_back();
    r.id = request.id;
    r.thread = std::thread(
        [this, &r, request = std::move(request), after = std::move(after)] {
          r.result = sandbox->Run(request);
          if (after) after();
          r.done = true;
        });
    return r;
  }
  // Starts `request` and waits until it runs (its program started).
  Runner& StartRunning(RunRequest request,
                       std::function<void()> after = nullptr) {
    const std::string id = request.id;
    Runner& r = Start(std::move(request), std::move(after));
    AwaitState([&] { return Saw(SandboxEvent::Kind::kStarted, id); });
    return r;
  }
  // Starts `request` and waits until it is queued at `position`.
  Runner& StartQueued(RunRequest request, std::size_t position) {
    const std::string id = request.id;
    Runner& r = Start(std::move(request));
    AwaitState([&] { return sandbox->Position(id).value_or(0) == position; });
    return r;
  }
  void Join(Runner& r) { r.thread.join(); }
  bool Saw(SandboxEvent::Kind kind, const std::string& id) {
    absl::MutexLock lock(&mu);
    for (const SandboxEvent& e : events) {
      if (e.kind == kind && e.run_id == id) return true;
    }
    return false;
  }
  void Advance(absl::Duration d) {
    ASSERT_THAT(rig.fake.clock().Advance(d), IsOk());
  }
};

// A run whose queue timeout has passed is expired by the dispatcher when a
// slot frees, and withdrawn later by its own thread; if its key's last run
// leaves in between (dropping the key's state), that withdrawal must not
// touch the key's state. The hook orders the lock holders: a run's kQueued
// event is emitted under the queue's lock, so while the hook holds it the
// Leave() of "o" (frees a slot; its dispatch expires "x"), the Leave() of
// "r" (the last run of x's key), 16 Stats() callers and, at its 20 ms clock
// poll, x's thread queue up behind it, in that order. Right after its Run()
// returns, r's thread reuses freed blocks of the key state's size with
// non-zero bytes, so a use of the freed state crashes (dev) or is reported
// (asan: heap-use-after-free).
void RoundsOfExpiryRacingTheKeysLastLeave(int rounds) {
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  absl::Mutex garbage_mu;
  std::vector<std::unique_ptr<char[]>> garbage;
  Harness h([](SandboxPolicy& p) {
    p.queue.max_concurrent = 2;
    p.queue.max_queued = 8;
  });
  h.hook = [&](const SandboxEvent& e) {
    // Only the "e<n>" runs are held (each once, at its kQueued).
    if (e.kind != SandboxEvent::Kind::kQueued || e.run_id[0] != 'e') return;
    holding = true;
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!release && absl::Now() < give_up) std::this_thread::yield();
  };
  auto reuse_freed_blocks = [&] {
    std::vector<std::unique_ptr<char[]>> mine;
    for (int j = 0; j < 64; ++j) {
      auto block = std::make_unique<char[]>(88);
      std::memset(block.get(), 0x41, 88);
      mine.push_back(std::move(block));
    }
    absl::MutexLock lock(&garbage_mu);
    for (auto& block : mine) garbage.push_back(std::move(block));
  };
  // x's poll may come before r's Leave queues (then x sees its timeout
  // itself, the safe path): a few rounds make the ordering all but certain.
  for (int i = 0; i < rounds; ++i) {
    const std::string n = absl::StrCat(i);
    holding = false;
    release = false;
    Runner& o = h.StartRunning(Req("o" + n, "one", "other" + n));
    Runner& r =
        h.StartRunning(Req("r" + n, "two", "k" + n), reuse_freed_blocks);
    Runner& x =
        h.StartQueued(Req("x" + n, "sleeper", "k" + n, absl::Seconds(3)), 1);
    h.Start(Req("e" + n, "sleeper", "e" + n));
    AwaitState([&] { return holding.load(); });
    h.Advance(absl::Seconds(1));  // o ends: its Leave waits for the lock
    AwaitState([&] { return h.Saw(SandboxEvent::Kind::kExited, "o" + n); });
    Spin(absl::Microseconds(500));
    h.Advance(absl::Seconds(1));  // r ends: its Leave waits behind o's
    AwaitState([&] { return h.Saw(SandboxEvent::Kind::kExited, "r" + n); });
    Spin(absl::Microseconds(500));
    std::vector<std::thread> waiters;
    for (int j = 0; j < 16; ++j) {
      waiters.emplace_back([&] { (void)h.sandbox->Stats(); });
    }
    h.Advance(absl::Seconds(1));  // x's queue timeout has passed
    // x looks at the clock every 20 ms of real time: within this wait its
    // thread queues for the lock too, behind the others.
    Spin(absl::Milliseconds(25));
    release = true;
    for (std::thread& t : waiters) t.join();
    h.Join(x);
    EXPECT_THAT(*x.result, StatusIs(absl::StatusCode::kDeadlineExceeded));
    h.Join(o);
    h.Join(r);
    ASSERT_THAT(h.sandbox->Cancel("e" + n), IsOk());
    AwaitState([&] { return h.sandbox->Stats().running == 0; });
  }
  const QueueStats stats = h.sandbox->Stats();
  EXPECT_EQ(stats.running, 0u);
  EXPECT_EQ(stats.pending, 0u);
}

TEST(SandboxQuotaRaceTest, ARunExpiredAsItsKeysLastRunLeavesEndsCleanly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // In a child, so that the crash fails this test only.
  EXPECT_EXIT(
      {
        RoundsOfExpiryRacingTheKeysLastLeave(5);
        std::exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

// The same without choreography: 8 threads of runs over 3 keys with random
// cancels and queue timeouts (auto-advancing clock). Every Run() returns, and
// nothing is left running, queued or tracked.
void StressRound() {
  Harness h([](SandboxPolicy& p) {
    p.queue.max_concurrent = 3;
    p.queue.max_queued = 64;
    Quota q;
    q.max_concurrent = 1;
    q.max_queued = 6;
    p.quota.default_quota = q;
  });
  h.rig.fake.clock().SetAutoAdvance(true);
  std::atomic<int> returned{0};
  std::atomic<bool> stop{false};
  constexpr int kThreads = 8;
  constexpr int kRuns = 40;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<uint32_t>(t));
      for (int i = 0; i < kRuns; ++i) {
        RunRequest r = Req(absl::StrCat("s", t, "-", i),
                           (rng() % 4 == 0) ? "one" : "quick",
                           absl::StrCat("key", rng() % 3));
        if (rng() % 3 == 0) r.queue_timeout = absl::Milliseconds(rng() % 500);
        (void)h.sandbox->Run(r);
        ++returned;
      }
    });
  }
  std::thread canceller([&] {
    std::mt19937 rng(99);
    while (!stop) {
      (void)h.sandbox->Cancel(
          absl::StrCat("s", rng() % kThreads, "-", rng() % kRuns));
      std::this_thread::yield();
    }
  });
  for (std::thread& t : threads) t.join();
  stop = true;
  canceller.join();
  EXPECT_EQ(returned.load(), kThreads * kRuns);
  const QueueStats stats = h.sandbox->Stats();
  EXPECT_EQ(stats.running, 0u);
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.tracked_keys, 0u);
  EXPECT_TRUE(stats.keys.empty());
}

TEST(SandboxQuotaRaceTest, StressWithCancelsAndTimeoutsLeavesNothingBehind) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        for (int i = 0; i < 8 && !::testing::Test::HasFailure(); ++i) {
          StressRound();
        }
        std::exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

// ~Sandbox() waits for every Run() call to return, the events it emits on
// the way out included: a refused or cancelled run leaves the queue before
// it reports, and the Engine it reports through (its policy's on_event, its
// redactor) must outlive that. The kCancelled event of a queued run waits
// (up to 300 ms) for ~Sandbox() to return; it must find it still waiting.
struct DestroyFlags {
  std::atomic<bool> destroyed{false};
  std::atomic<bool> event_after_destruction{false};
};

void CancelledEventOutlivesTheSandbox() {
  DestroyFlags flags;
  DestroyFlags* const captured = &flags;
  Harness h([captured](SandboxPolicy& p) {
    p.on_event = [captured](const SandboxEvent& e) {
      // Read once: the closure lives in the Engine, which may be gone below.
      DestroyFlags* const f = captured;
      if (e.kind != SandboxEvent::Kind::kCancelled || e.run_id != "x") return;
      const absl::Time give_up = absl::Now() + absl::Milliseconds(300);
      while (!f->destroyed && absl::Now() < give_up) std::this_thread::yield();
      f->event_after_destruction = f->destroyed.load();
    };
  });
  Runner& blocker = h.Start(Req("blocker", "sleeper", "b"));
  AwaitState([&] { return h.sandbox->Position("blocker").value_or(9) == 0; });
  Runner& x = h.StartQueued(Req("x", "sleeper", "k"), 1);
  h.sandbox.reset();  // cancels both; "waits for those calls to return"
  flags.destroyed = true;
  h.Join(x);
  h.Join(blocker);
  if (flags.event_after_destruction) {
    // The child's stderr is what the parent shows.
    std::fprintf(stderr,
                 "~Sandbox returned while Run(\"x\") was still emitting its "
                 "kCancelled event\n");
  }
  EXPECT_FALSE(flags.event_after_destruction);
  ASSERT_TRUE(x.result.has_value());
  EXPECT_THAT(*x.result, StatusIs(absl::StatusCode::kCancelled));
}

TEST(SandboxQuotaRaceTest, TheDestructorWaitsForAQueuedRunToReturn) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // In a child: the run touches the freed Engine on its way out.
  EXPECT_EXIT(
      {
        CancelledEventOutlivesTheSandbox();
        std::exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace procsandbox
