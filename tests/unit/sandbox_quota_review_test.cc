// Adversarial review of the per-key quotas (sandbox.h "Per-key quotas",
// run_queue, quota_table, quota). Tests marked FIXED proved a defect of the
// first version (each failed then) and now guard against its return; tests
// marked RISK pass and guard a risk the review looked at. All run on the
// in-memory manager.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
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
#include "procsandbox/testing/testing.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::AwaitState;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox::testing::IsOk;
using ::procsandbox::testing::StatusIs;
using ::testing::HasSubstr;

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

Quota Rate(int64_t max_runs, absl::Duration window) {
  Quota q;
  q.max_runs = max_runs;
  q.window = window;
  return q;
}

bool HasControlChar(const std::string& s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

// A Run() on its own thread.
struct Runner {
  std::string id;
  std::optional<absl::StatusOr<SandboxResult>> result;
  std::atomic<bool> done{false};
  std::thread thread;
};

// A quota-enabled sandbox on a fake whose clock moves only by Advance(), with
// programs "sleeper" (10 min), "one" (1 s), "two" (2 s), "quick" (no time)
// and "broken" (fails to start). Destroying it cancels every run, then joins
// every runner.
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
    rig.resolver->AddProgram("/usr/bin/broken");
    rig.fake.RegisterStartError("/usr/bin/broken",
                                absl::PermissionDeniedError("start refused"));
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
  // sandbox (~Sandbox does not wait for every Run() call to return: OPEN
  // BUG B).
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
  std::vector<SandboxEvent> EventsOf(const std::string& id) {
    absl::MutexLock lock(&mu);
    std::vector<SandboxEvent> out;
    for (const SandboxEvent& e : events) {
      if (e.run_id == id) out.push_back(e);
    }
    return out;
  }
  QuotaKeyStats Key(const std::string& key) {
    absl::StatusOr<QuotaKeyStats> s = sandbox->KeyStats(key);
    EXPECT_THAT(s, IsOk());
    return s.ok() ? *s : QuotaKeyStats{};
  }
  void Advance(absl::Duration d) {
    ASSERT_THAT(rig.fake.clock().Advance(d), IsOk());
  }
};

// ---------------------------------------------------------------------------
// FIXED (use after free of a KeyState): a run expired by the dispatcher kept
// pointing at its key's state, which another thread could erase before the
// run's own thread woke up.
// DispatchLocked (src/sandbox/run_queue.cc, the `now >= slot.deadline`
// branch) takes the expired run out of its key's list (--key.queued), gives
// its token back and signals it, but leaves `slot.key` set. The key may now
// have running == 0 and queued == 0. If its last running run leaves before
// the expired run's thread gets the lock (WithdrawLocked -> ReleaseKeyLocked
// -> QuotaTable::DropIfIdle erases the node), or a new key's Get() sweeps it
// (MaybeSweep), the expired thread then runs WithdrawLocked(*slot) ->
// ReleaseKeyLocked -> RefreshReadyLocked(*slot.key) on freed memory: a read
// and a write (ready_ticket = 0) of a freed node, and through `key.head` and
// `key.quota` a wild dereference once the memory is reused (SIGSEGV in
// KeyState::UnderConcurrency, quota_table.h). No rate is needed: a key
// without one is dropped as soon as it has no runs.
// The test orders the lock holders: a run's kQueued event is emitted under
// the queue's lock, so the hook holds the lock while the Leave() of "o"
// (frees a slot; its dispatch expires "x"), the Leave() of "r" (the last run
// of x's key: drops the key), 16 Stats() callers (they delay x) and, at its
// 20 ms clock poll, x's thread queue up behind it, in that order. Right
// after its Run() returns, r's thread reuses the freed block (the key state
// node, 88 bytes) with non-zero bytes. On the dev build the child dies of
// SIGSEGV; on the asan build ASan reports heap-use-after-free in
// RunQueue::UnreadyLocked (freed by QuotaTable::DropIfIdle).
// Fix: when the dispatcher expires a run, finish its key there: refresh the
// key, set slot.key = nullptr and drop the key if idle (as ReleaseKeyLocked
// does), so the thread's WithdrawLocked has nothing left to touch; or keep
// the expired run counted (e.g. in key.queued) until its thread withdraws.
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

TEST(SandboxQuotaReviewTest, RunExpiredByDispatcherOutlivesItsKeyState) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // In a child, so that the crash fails this test only.
  EXPECT_EXIT(
      {
        RoundsOfExpiryRacingTheKeysLastLeave(5);
        std::exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

// FIXED (bug A), seen without any choreography: 8 threads of runs over 3 keys
// with random cancels and queue timeouts (auto-advancing clock) crash the
// process in about 1 run of 3 on the dev build (SIGSEGV in
// KeyState::UnderConcurrency via Acquire's timeout branch -> WithdrawLocked
// -> ReleaseKeyLocked -> RefreshReadyLocked). Also the RISK check: every
// Run() returns and nothing is left running, queued or tracked.
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

TEST(SandboxQuotaReviewTest, StressWithCancelsAndTimeoutsLeavesNothingBehind) {
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

// ---------------------------------------------------------------------------
// FIXED (bug B, older than the quota change; found by these tests under
// asan): ~Sandbox() returned while a Run() call is still inside the sandbox.
// The header promises it "waits for those calls to return" (and ~Sandbox's
// comment says "Every Run() has returned"), but RunQueue::Shutdown waits only
// until every slot has left live_, and a refused or cancelled run leaves
// first and reports afterwards: Engine::Start (src/sandbox/engine.cc, the
// failure path: queue_.Leave(...) then Refuse(run, s)) and Prepare's
// `refuse` lambda emit the kCancelled/kRejected/kQuotaExceeded event after
// Leave(). So the Engine (its policy_, whose on_event is being called, its
// redactor, its manager_) can be freed under that thread: asan reports
// heap-use-after-free in the host's on_event lambda or in Engine::Emit (seen
// here in PerKeyAndGlobalMaxQueuedBothHold before the Harness cancelled its
// runs itself). The test makes it deterministic: the kCancelled event of the
// queued run waits (up to 300 ms) for ~Sandbox to return; it must not.
// Fix: count the Run()/Launch() calls in flight in the Engine (a guard in
// Engine::Run/Launch) and have Shutdown wait for zero, or emit the refusal
// event before Leave() (as Finish() does for kExited).
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

TEST(SandboxQuotaReviewTest, DestructorReturnsBeforeAQueuedRunHasReturned) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // In a child: the run touches the freed Engine on its way out.
  EXPECT_EXIT(
      {
        CancelledEventOutlivesTheSandbox();
        std::exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

// ---------------------------------------------------------------------------
// FIXED (passes; guards the fix). In the first version QuotaTable::GiveBack
// moved tat back by a whole T whatever the time: a run that waited past its
// token's refill and then left gave the key a token it no longer owed (here
// x, taken at t=0 and cancelled at t=10 s, freed y's token: w got in too,
// 2 runs at one instant with max_runs 1). Now only what has not refilled
// comes back (Slot::token, clamp(token - now, 0, T)).
TEST(SandboxQuotaReviewTest, TokenGivenBackAfterARefillIsNotCreditedAgain) {
  Harness h([](SandboxPolicy& p) {
    p.quota.overrides["k"] = Rate(1, absl::Seconds(10));
  });
  // "blocker" (default quota: no caps) holds the only slot.
  h.StartRunning(Req("blocker", "sleeper", "blocker"));
  Runner& x = h.StartQueued(Req("x", "sleeper", "k"), 1);
  EXPECT_EQ(h.Key("k").remaining, 0);
  h.Advance(absl::Seconds(10));
  EXPECT_EQ(h.Key("k").remaining, 1);  // refilled
  h.StartQueued(Req("y", "sleeper", "k"), 2);
  EXPECT_EQ(h.Key("k").remaining, 0);  // y holds this window's run

  ASSERT_THAT(h.sandbox->Cancel("x"), IsOk());
  h.Join(x);
  EXPECT_THAT(*x.result, StatusIs(absl::StatusCode::kCancelled));
  // x's token had refilled long ago: giving it back must not free y's.
  EXPECT_EQ(h.Key("k").remaining, 0) << ToString(h.Key("k"));
  // A zero queue timeout: a refusal comes back at once, and so does a run
  // let in (DeadlineExceeded, as the slot is busy).
  absl::StatusOr<SandboxResult> w =
      h.sandbox->Run(Req("w", "sleeper", "k", absl::ZeroDuration()));
  EXPECT_THAT(w, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_TRUE(GetQuotaExceeded(w.status()).has_value()) << w.status();
}

// ---------------------------------------------------------------------------
// FIXED (passes; guards the fix). In the first version RunQueue::Leave kept
// the token of every admitted slot, so a run whose program failed to start
// (or whose workdir could not be made) used up the key's rate.
TEST(SandboxQuotaReviewTest, RunWhoseProgramFailsToStartGetsItsTokenBack) {
  Harness h([](SandboxPolicy& p) {
    p.quota.default_quota = Rate(1, absl::Hours(1));
  });
  absl::StatusOr<SandboxResult> broken =
      h.sandbox->Run(Req("b", "broken", "k"));
  ASSERT_THAT(broken, StatusIs(absl::StatusCode::kPermissionDenied,
                               HasSubstr("start refused")));
  EXPECT_EQ(h.Key("k").remaining, 1) << ToString(h.Key("k"));
  EXPECT_THAT(h.sandbox->Run(Req("q", "quick", "k")), IsOk());
}

// ---------------------------------------------------------------------------
// FIXED (passes; guards the fix). In the first version T = window / max_runs
// was truncated: with 7 per hour 7T = 1h - 5 ns and a burst plus refills got
// 14 runs within one hour, over the documented 2 * max_runs - 1.
TEST(SandboxQuotaReviewTest, BurstThenRefillsStayWithinTwiceMaxRunsMinusOne) {
  Harness h([](SandboxPolicy& p) {
    p.quota.default_quota = Rate(7, absl::Hours(1));
  });
  const absl::Time t0 = h.rig.fake.Now();
  int allowed = 0;
  for (int i = 0; i < 40; ++i) {
    absl::StatusOr<SandboxResult> r =
        h.sandbox->Run(Req(absl::StrCat("r", i), "quick", "k"));
    if (r.ok()) {
      if (r->started_at < t0 + absl::Hours(1)) ++allowed;
      continue;
    }
    std::optional<QuotaExceeded> q = GetQuotaExceeded(r.status());
    ASSERT_TRUE(q.has_value()) << r.status();
    ASSERT_TRUE(q->retry_after.has_value());
    if (h.rig.fake.Now() + *q->retry_after >= t0 + absl::Hours(1)) break;
    h.Advance(*q->retry_after);
  }
  EXPECT_LE(allowed, 2 * 7 - 1) << "runs started within [t0, t0 + 1h)";
}

// ---------------------------------------------------------------------------
// FIXED (passes; guards the fix). In the first version the payload held the
// window as whole nanoseconds, so a window like absl::Hours(1) / 7 (quarter
// nanoseconds) came back different from the key's quota.
TEST(SandboxQuotaReviewTest, PayloadRoundTripsAFractionalWindow) {
  const Quota quota = Rate(1, absl::Hours(1) / 7);
  Harness h([&](SandboxPolicy& p) { p.quota.default_quota = quota; });
  ASSERT_THAT(h.sandbox->Run(Req("a", "quick", "k")), IsOk());
  absl::StatusOr<SandboxResult> r = h.sandbox->Run(Req("b", "quick", "k"));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
  std::optional<QuotaExceeded> q = GetQuotaExceeded(r.status());
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->quota, quota) << absl::FormatDuration(q->quota.window) << " vs "
                             << absl::FormatDuration(quota.window);
}

// ---------------------------------------------------------------------------
// FIXED (passes; guards the fix). In the first version CheckQuotaKey tested
// the length first and printed the first 32 bytes of a too-long key raw, so
// an escape sequence or a newline from a client reached the message.
TEST(SandboxQuotaReviewTest, OverlongKeyMessageHasNoRawControlCharacters) {
  Harness h([](SandboxPolicy&) {});
  const std::string key = "\x1b]0;owned\x07\n" + std::string(300, 'a');
  absl::StatusOr<SandboxResult> r = h.sandbox->Run(Req("a", "quick", key));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kInvalidArgument,
                          HasSubstr("bytes (at most 256)")));
  EXPECT_FALSE(HasControlChar(std::string(r.status().message()))) << r.status();
}

// ---------------------------------------------------------------------------
// FIXED (passes; guards the fix). In the first version the kRejected event of
// a request refused for its quota_key carried the raw key (control
// characters included) in SandboxEvent::quota_key.
TEST(SandboxQuotaReviewTest, RejectedEventOmitsAnInvalidKey) {
  Harness h([](SandboxPolicy&) {});
  const std::string key = "tenant\nFAKE LOG LINE";
  EXPECT_THAT(h.sandbox->Run(Req("a", "quick", key)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::vector<SandboxEvent> events = h.EventsOf("a");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, SandboxEvent::Kind::kRejected);
  EXPECT_FALSE(HasControlChar(events[0].quota_key))
      << "event quota_key: " << events[0].quota_key;
}

// ---------------------------------------------------------------------------
// FIXED (passes; guards the fix). In the first version the Sandbox
// constructor built the QuotaTable from an unvalidated policy and divided by
// max_runs 0 (SIGFPE) instead of refusing every run with the policy error.
// Run as a death test so that a crash fails this test only.
TEST(SandboxQuotaReviewTest, MaxRunsZeroDoesNotCrashTheSandboxConstructor) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        Rig rig;
        rig.Program("/usr/bin/quick", [](FakeProcess&) { return 0; });
        SandboxPolicy policy = rig.Policy();
        policy.quota.default_quota.max_runs = 0;  // invalid (and disabled)
        Sandbox sandbox(rig.fake, policy);
        RunRequest r;
        r.program = "quick";
        absl::StatusOr<SandboxResult> result = sandbox.Run(r);
        std::exit(result.status().code() == absl::StatusCode::kInvalidArgument
                      ? 0
                      : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// ---------------------------------------------------------------------------
// RISK (passes): a run admitted by the dispatcher and cancelled before its
// thread runs gives back its slot, its key count and its token exactly once;
// FIFO within a key; a key at its cap does not hold up another key.
TEST(SandboxQuotaReviewTest, KeyAtCapLetsOthersPassAndKeepsItsOwnOrder) {
  Harness h([](SandboxPolicy& p) {
    p.queue.max_concurrent = 2;
    Quota capped;
    capped.max_concurrent = 1;
    p.quota.overrides["a"] = capped;
  });
  h.StartRunning(Req("a1", "sleeper", "a"));
  h.StartQueued(Req("a2", "sleeper", "a"), 1);
  h.StartQueued(Req("a3", "sleeper", "a"), 2);
  // A slot is free and "b" is under its cap: it passes a2 and a3.
  h.StartRunning(Req("b1", "sleeper", "b"));
  EXPECT_THAT(h.sandbox->Position("b1"), testing::IsOkAndHolds(0u));
  h.StartQueued(Req("b2", "sleeper", "b"), 3);
  EXPECT_EQ(h.Key("a").running, 1u);
  EXPECT_EQ(h.Key("a").queued, 2u);
  // b1 ends: b2 (ticket after a2, a3) takes the slot since "a" is at cap.
  ASSERT_THAT(h.sandbox->Cancel("b1"), IsOk());
  AwaitState([&] { return h.Saw(SandboxEvent::Kind::kStarted, "b2"); });
  // a1 ends: a2, never a3, is next.
  ASSERT_THAT(h.sandbox->Cancel("a1"), IsOk());
  AwaitState([&] { return h.Saw(SandboxEvent::Kind::kStarted, "a2"); });
  EXPECT_THAT(h.sandbox->Position("a3"), testing::IsOkAndHolds(1u));
  EXPECT_FALSE(h.Saw(SandboxEvent::Kind::kStarted, "a3"));
  for (const char* id : {"a2", "a3", "b2"}) {
    ASSERT_THAT(h.sandbox->Cancel(id), IsOk());
  }
  AwaitState([&] {
    const QueueStats s = h.sandbox->Stats();
    return s.running == 0 && s.pending == 0;
  });
  EXPECT_EQ(h.sandbox->Stats().tracked_keys, 0u);
}

// RISK (passes): Launch() holds a slot of its key until Finish().
TEST(SandboxQuotaReviewTest, LaunchCountsAgainstItsKeyUntilFinish) {
  Harness h([](SandboxPolicy& p) {
    p.queue.max_concurrent = 4;
    Quota capped;
    capped.max_concurrent = 1;
    capped.max_queued = 0;
    p.quota.default_quota = capped;
  });
  h.rig.Program("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine().has_value()) {
    }
    return 0;
  });
  RunRequest launch = Req("srv", "server", "k");
  absl::StatusOr<std::unique_ptr<SandboxProcess>> srv =
      h.sandbox->Launch(launch);
  ASSERT_THAT(srv, IsOk());
  EXPECT_EQ(h.Key("k").running, 1u);
  absl::StatusOr<SandboxResult> refused =
      h.sandbox->Run(Req("q", "quick", "k"));
  ASSERT_THAT(refused, StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_TRUE(GetQuotaExceeded(refused.status()).has_value());
  EXPECT_EQ(GetQuotaExceeded(refused.status())->kind,
            QuotaExceeded::Kind::kConcurrency);
  EXPECT_THAT(h.sandbox->Run(Req("other", "quick", "j")), IsOk());
  ASSERT_THAT((*srv)->Finish(absl::Seconds(1)), IsOk());
  EXPECT_EQ(h.Key("k").running, 0u);
  EXPECT_THAT(h.sandbox->Run(Req("q2", "quick", "k")), IsOk());
  EXPECT_EQ(h.sandbox->Stats().running, 0u);
}

// RISK (passes): retry_after is exact; KeyStats().remaining > 0 exactly when
// a run is allowed; one quota_exceeded event per refusal, every event of a
// run carries its key; the payload round-trips.
TEST(SandboxQuotaReviewTest, RetryAfterIsExactAndStatsAgreeWithAdmission) {
  Harness h([](SandboxPolicy& p) {
    p.quota.default_quota = Rate(3, absl::Seconds(30));
  });
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(h.Key("k").remaining, 0);
    ASSERT_THAT(h.sandbox->Run(Req(absl::StrCat("ok", i), "quick", "k")),
                IsOk());
  }
  EXPECT_EQ(h.Key("k").remaining, 0);
  absl::StatusOr<SandboxResult> r = h.sandbox->Run(Req("no", "quick", "k"));
  ASSERT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted));
  std::optional<QuotaExceeded> q = GetQuotaExceeded(r.status());
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->kind, QuotaExceeded::Kind::kRate);
  EXPECT_EQ(q->key, "k");
  EXPECT_EQ(q->quota, Rate(3, absl::Seconds(30)));
  ASSERT_TRUE(q->retry_after.has_value() && q->retry_at.has_value());
  EXPECT_EQ(*q->retry_after, absl::Seconds(10));
  EXPECT_EQ(*q->retry_at, h.rig.fake.Now() + absl::Seconds(10));
  EXPECT_EQ(h.Key("k").retry_after, absl::Seconds(10));
  std::vector<SandboxEvent> ev = h.EventsOf("no");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, SandboxEvent::Kind::kQuotaExceeded);
  EXPECT_EQ(ev[0].quota_key, "k");
  for (const SandboxEvent& e : h.EventsOf("ok0")) EXPECT_EQ(e.quota_key, "k");

  h.Advance(absl::Seconds(10) - absl::Nanoseconds(1));
  EXPECT_EQ(h.Key("k").remaining, 0);
  EXPECT_THAT(h.sandbox->Run(Req("no2", "quick", "k")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  h.Advance(absl::Nanoseconds(1));
  EXPECT_EQ(h.Key("k").remaining, 1);
  EXPECT_THAT(h.sandbox->Run(Req("ok3", "quick", "k")), IsOk());
  const QueueStats stats = h.sandbox->Stats();
  EXPECT_EQ(stats.quota_rejected, 2u);
  EXPECT_EQ(stats.rejected, 2u);
  ASSERT_EQ(stats.keys.count("k"), 1u);
  EXPECT_EQ(stats.keys.at("k").rejected, 2u);
}

// RISK (passes): the per-key max_queued and the global max_queued each
// refuse; a refused run takes no token.
TEST(SandboxQuotaReviewTest, PerKeyAndGlobalMaxQueuedBothHold) {
  Harness h([](SandboxPolicy& p) {
    p.queue.max_queued = 2;
    Quota q = Rate(100, absl::Hours(1));
    q.max_queued = 1;
    p.quota.default_quota = q;
  });
  h.StartRunning(Req("run", "sleeper", "a"));
  h.StartQueued(Req("a1", "sleeper", "a"), 1);
  absl::StatusOr<SandboxResult> a2 = h.sandbox->Run(Req("a2", "quick", "a"));
  ASSERT_THAT(a2, StatusIs(absl::StatusCode::kResourceExhausted));
  ASSERT_TRUE(GetQuotaExceeded(a2.status()).has_value());
  EXPECT_EQ(GetQuotaExceeded(a2.status())->kind,
            QuotaExceeded::Kind::kConcurrency);
  EXPECT_EQ(h.Key("a").used, 2);
  h.StartQueued(Req("b1", "sleeper", "b"), 2);
  absl::StatusOr<SandboxResult> c1 = h.sandbox->Run(Req("c1", "quick", "c"));
  EXPECT_THAT(c1, StatusIs(absl::StatusCode::kResourceExhausted,
                           HasSubstr("queue is full")));
  EXPECT_FALSE(GetQuotaExceeded(c1.status()).has_value());
  EXPECT_EQ(h.Key("c").used, 0);
  EXPECT_EQ(h.sandbox->Stats().quota_rejected, 1u);
  EXPECT_EQ(h.sandbox->Stats().rejected, 2u);
}

// RISK (passes): idle keys are swept once the shortest window has passed;
// a 366-day window and a huge max_runs do not overflow the time math.
TEST(SandboxQuotaReviewTest, SweepDropsIdleKeysAndExtremeQuotasWork) {
  Harness h([](SandboxPolicy& p) {
    p.queue.max_concurrent = 4;
    p.quota.default_quota = Rate(2, absl::Seconds(1));
    p.quota.overrides["year"] = Rate(1, absl::Hours(24 * 366));
    p.quota.overrides["huge"] =
        Rate(std::numeric_limits<int64_t>::max(), absl::Hours(24 * 366));
  });
  for (int i = 0; i < 50; ++i) {
    ASSERT_THAT(h.sandbox->Run(
                    Req(absl::StrCat("r", i), "quick", absl::StrCat("key", i))),
                IsOk());
  }
  EXPECT_EQ(h.sandbox->Stats().tracked_keys, 50u);
  ASSERT_THAT(h.sandbox->Run(Req("y1", "quick", "year")), IsOk());
  absl::StatusOr<SandboxResult> y2 = h.sandbox->Run(Req("y2", "quick", "year"));
  ASSERT_THAT(y2, StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(*GetQuotaExceeded(y2.status())->retry_after, absl::Hours(24 * 366));
  for (int i = 0; i < 20; ++i) {
    ASSERT_THAT(h.sandbox->Run(Req(absl::StrCat("h", i), "quick", "huge")),
                IsOk());
  }
  EXPECT_GT(h.Key("huge").remaining, 0);
  h.Advance(absl::Seconds(2));
  ASSERT_THAT(h.sandbox->Run(Req("new", "quick", "fresh")), IsOk());
  // Swept: the 50 idle keys and "huge" (20 ns of its bucket, refilled);
  // kept: "year" (its bucket is not full) and "fresh" (its run's token).
  EXPECT_EQ(h.sandbox->Stats().tracked_keys, 2u);
  EXPECT_EQ(h.Key("key0").used, 0);
}

}  // namespace
}  // namespace procsandbox
