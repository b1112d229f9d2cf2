// Sandbox: the concurrency queue (cap, FIFO, overflow, timeout, cancel,
// stats), on the in-memory manager and its virtual clock.
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::IsOk;
using ::procsandbox_testing::IsOkAndHolds;
using ::procsandbox_testing::StatusIs;
using ::testing::HasSubstr;

RunRequest Named(std::string id, std::string program) {
  RunRequest r = Request(std::move(program));
  r.id = std::move(id);
  return r;
}

// A sandbox of one slot holding a run that sleeps until cancelled (the
// clock only moves by Advance()).
struct Blocked {
  Rig rig;
  std::optional<Sandbox> sandbox;
  std::optional<absl::StatusOr<SandboxResult>> first;
  std::thread runner;

  explicit Blocked(std::size_t max_queued = 4) {
    rig.fake.clock().SetAutoAdvance(false);
    rig.Program("/usr/bin/sleeper", [](FakeProcess& p) {
      p.Sleep(absl::Minutes(10));
      return 0;
    });
    SandboxPolicy policy = rig.Policy();
    policy.queue.max_concurrent = 1;
    policy.queue.max_queued = max_queued;
    sandbox.emplace(rig.fake, policy);
    runner =
        std::thread([this] { first = sandbox->Run(Named("a", "sleeper")); });
    // "a" runs: its thread waits for the program.
    EXPECT_THAT(rig.fake.WaitIdle(1), IsOk());
  }
  ~Blocked() {
    (void)sandbox->Cancel("a");
    runner.join();
  }
};

TEST(SandboxQueueTest,
     EightThreadsOfTwentyNeverRunMoreThanFourAndStartInOrder) {
  Rig rig;
  // The test moves time itself, so that runs overlap (with auto-advance a
  // lone waiting run would jump to its end before the next one started).
  rig.fake.clock().SetAutoAdvance(false);
  std::atomic<int> live{0};
  std::atomic<int> most{0};
  rig.Program("/usr/bin/work", [&](FakeProcess& p) {
    const int now = ++live;
    int seen = most.load();
    while (now > seen && !most.compare_exchange_weak(seen, now)) {
    }
    p.Sleep(absl::Seconds(1));
    --live;
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.queue.max_concurrent = 4;
  policy.queue.max_queued = 160;
  Sandbox sandbox(rig.fake, policy);
  absl::Mutex mu;
  std::vector<SandboxResult> results;
  std::vector<std::thread> threads;
  std::atomic<int> threads_done{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        absl::StatusOr<SandboxResult> r =
            sandbox.Run(Named(absl::StrCat("t", t, "-", i), "work"));
        absl::MutexLock lock(&mu);
        ASSERT_THAT(r, IsOk());
        results.push_back(*r);
      }
      ++threads_done;
    });
  }
  while (threads_done.load() < 8) {
    // Once four run, let them finish; otherwise let more be admitted.
    if (sandbox.Stats().running == 4 || sandbox.Stats().pending == 0) {
      ASSERT_THAT(rig.fake.clock().Advance(absl::Milliseconds(250)), IsOk());
    }
    std::this_thread::yield();
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(results.size(), 160u);
  EXPECT_LE(most.load(), 4);
  EXPECT_EQ(most.load(), 4);
  std::sort(results.begin(), results.end(),
            [](const SandboxResult& a, const SandboxResult& b) {
              return a.ticket < b.ticket;
            });
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].ticket, i + 1);
    EXPECT_EQ(results[i].status, SandboxStatus::kCompleted);
    if (i > 0) {
      // Admitted in arrival order: the clock never runs backwards.
      EXPECT_LE(results[i - 1].queued_at + results[i - 1].queue_time,
                results[i].queued_at + results[i].queue_time)
          << results[i].id;
    }
  }
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.completed, 160u);
  EXPECT_EQ(stats.running, 0u);
  EXPECT_EQ(stats.pending, 0u);
  // (Not exactly 1 s: a run started while another thread advances the
  // clock may have its first instruction one step later.)
  EXPECT_GE(stats.average_run_time, absl::Seconds(1));
  EXPECT_LE(stats.average_run_time, absl::Milliseconds(1250));
}

TEST(SandboxQueueTest, OneAtATimeFinishesInArrivalOrder) {
  Rig rig;
  rig.Program("/usr/bin/work", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(1));
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.queue.max_concurrent = 1;
  policy.queue.max_queued = 100;
  Sandbox sandbox(rig.fake, policy);
  absl::Mutex mu;
  std::vector<SandboxResult> results;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        absl::StatusOr<SandboxResult> r = sandbox.Run(Request("work"));
        absl::MutexLock lock(&mu);
        ASSERT_THAT(r, IsOk());
        results.push_back(*r);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::sort(results.begin(), results.end(),
            [](const SandboxResult& a, const SandboxResult& b) {
              return a.ticket < b.ticket;
            });
  for (std::size_t i = 1; i < results.size(); ++i) {
    EXPECT_LE(results[i - 1].finished_at, results[i].started_at);
  }
}

TEST(SandboxQueueTest, FullQueueRefusesAtOnce) {
  Blocked b(/*max_queued=*/1);
  std::optional<absl::StatusOr<SandboxResult>> second;
  std::thread queued([&] { second = b.sandbox->Run(Named("b", "sleeper")); });
  ASSERT_THAT(b.rig.fake.WaitIdle(2), IsOk());  // "b" waits in the queue
  EXPECT_EQ(b.sandbox->Stats().pending, 1u);
  absl::StatusOr<SandboxResult> third = b.sandbox->Run(Named("c", "sleeper"));
  EXPECT_THAT(third, StatusIs(absl::StatusCode::kResourceExhausted,
                              HasSubstr("queue is full")));
  EXPECT_EQ(StatusOf(third), SandboxStatus::kRejected);
  EXPECT_EQ(b.sandbox->Stats().rejected, 1u);
  ASSERT_THAT(b.sandbox->Cancel("b"), IsOk());
  queued.join();
  EXPECT_THAT(*second, StatusIs(absl::StatusCode::kCancelled));
}

TEST(SandboxQueueTest, CancelledWhileQueuedReturnsCancelled) {
  Blocked b;
  std::optional<absl::StatusOr<SandboxResult>> second;
  std::thread queued([&] { second = b.sandbox->Run(Named("b", "sleeper")); });
  ASSERT_THAT(b.rig.fake.WaitIdle(2), IsOk());
  EXPECT_THAT(b.sandbox->Position("b"), IsOkAndHolds(1u));
  ASSERT_THAT(b.sandbox->Cancel("b"), IsOk());
  queued.join();
  EXPECT_THAT(*second, StatusIs(absl::StatusCode::kCancelled,
                                HasSubstr("cancelled while queued")));
  EXPECT_EQ(StatusOf(*second), SandboxStatus::kCancelled);
  EXPECT_EQ(b.sandbox->Stats().cancelled, 1u);
  EXPECT_EQ(b.rig.fake.History().size(), 1u);  // never started
}

TEST(SandboxQueueTest, CancelledWhileRunningEndsCancelled) {
  Blocked b;
  ASSERT_THAT(b.sandbox->Cancel("a"), IsOk());
  b.runner.join();
  b.runner = std::thread([] {});
  ASSERT_TRUE(b.first.has_value());
  ASSERT_THAT(*b.first, IsOk());
  EXPECT_EQ((*b.first)->status, SandboxStatus::kCancelled);
  EXPECT_THAT((*b.first)->outcome, Cancelled());
  EXPECT_THAT(b.sandbox->Cancel("a"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(SandboxQueueTest, QueueTimeoutPassesInVirtualTime) {
  Blocked b;
  std::optional<absl::StatusOr<SandboxResult>> second;
  std::thread queued([&] {
    RunRequest r = Named("b", "sleeper");
    r.queue_timeout = absl::Minutes(1);
    second = b.sandbox->Run(r);
  });
  ASSERT_THAT(b.rig.fake.WaitIdle(2), IsOk());
  ASSERT_THAT(b.rig.fake.clock().Advance(absl::Seconds(59)), IsOk());
  // Still queued one second before its timeout.
  ASSERT_THAT(b.rig.fake.WaitIdle(2), IsOk());
  EXPECT_EQ(b.sandbox->Stats().pending, 1u);
  ASSERT_THAT(b.rig.fake.clock().Advance(absl::Seconds(1)), IsOk());
  queued.join();
  EXPECT_THAT(*second, StatusIs(absl::StatusCode::kDeadlineExceeded,
                                HasSubstr("queue timeout of 1m")));
  EXPECT_EQ(StatusOf(*second), SandboxStatus::kRejected);
}

TEST(SandboxQueueTest, PositionAndStatsDescribeTheQueue) {
  Blocked b;
  std::thread q1([&] { (void)b.sandbox->Run(Named("b", "sleeper")); });
  ASSERT_THAT(b.rig.fake.WaitIdle(2), IsOk());
  std::thread q2([&] { (void)b.sandbox->Run(Named("c", "sleeper")); });
  ASSERT_THAT(b.rig.fake.WaitIdle(3), IsOk());
  EXPECT_THAT(b.sandbox->Position("a"), IsOkAndHolds(0u));
  EXPECT_THAT(b.sandbox->Position("b"), IsOkAndHolds(1u));
  EXPECT_THAT(b.sandbox->Position("c"), IsOkAndHolds(2u));
  EXPECT_THAT(b.sandbox->Position("zz"), StatusIs(absl::StatusCode::kNotFound));
  const QueueStats stats = b.sandbox->Stats();
  EXPECT_EQ(stats.running, 1u);
  EXPECT_EQ(stats.pending, 2u);
  EXPECT_EQ(stats.max_concurrent, 1u);
  // A second run with a live id is refused.
  EXPECT_THAT(b.sandbox->Run(Named("b", "sleeper")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("already has this id")));
  ASSERT_THAT(b.sandbox->Cancel("c"), IsOk());
  ASSERT_THAT(b.sandbox->Cancel("b"), IsOk());
  q1.join();
  q2.join();
}

TEST(SandboxQueueTest, EstimatedWaitUsesTheAverageRunTime) {
  Rig rig;
  rig.Program("/usr/bin/work", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(3));
    return 0;
  });
  Sandbox sandbox(rig.fake, rig.Policy());
  ASSERT_THAT(sandbox.Run(Request("work")), IsOk());
  const QueueStats stats = sandbox.Stats();
  EXPECT_EQ(stats.average_run_time, absl::Seconds(3));
  EXPECT_EQ(stats.estimated_wait, absl::ZeroDuration());  // a slot is free
  EXPECT_EQ(ToString(stats),
            "0/4 running, 0/64 queued, 1 completed, 0 rejected, 0 cancelled, "
            "average 3s, estimated wait 0s");
}

TEST(SandboxQueueTest, DestroyingTheSandboxCancelsQueuedAndRunning) {
  Rig rig;
  rig.fake.clock().SetAutoAdvance(false);
  rig.Program("/usr/bin/sleeper", [](FakeProcess& p) {
    p.Sleep(absl::Hours(1));
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.queue.max_concurrent = 1;
  auto sandbox = std::make_unique<Sandbox>(rig.fake, policy);
  std::optional<absl::StatusOr<SandboxResult>> a, b;
  std::thread ta([&] { a = sandbox->Run(Named("a", "sleeper")); });
  ASSERT_THAT(rig.fake.WaitIdle(1), IsOk());
  std::thread tb([&] { b = sandbox->Run(Named("b", "sleeper")); });
  ASSERT_THAT(rig.fake.WaitIdle(2), IsOk());
  EXPECT_EQ(sandbox->Stats().pending, 1u);
  sandbox.reset();
  ta.join();
  tb.join();
  ASSERT_THAT(*a, IsOk());
  EXPECT_EQ((*a)->status, SandboxStatus::kCancelled);
  EXPECT_THAT(*b, StatusIs(absl::StatusCode::kCancelled));
}

// The id assigned to a request without one ("run-<n>") is one no live run
// has, a caller's chosen "run-1" included.
TEST(SandboxQueueTest, AnAnonymousRunNeverTakesACallerChosenId) {
  Rig rig;
  rig.Program("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine().has_value()) {
    }
    return 0;
  });
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  Sandbox sandbox(rig.fake, rig.Policy());
  absl::StatusOr<std::unique_ptr<SandboxProcess>> server =
      sandbox.Launch(Named("run-1", "server"));
  ASSERT_THAT(server, IsOk());
  EXPECT_THAT(sandbox.Run(Request("true")), IsOk());
  ASSERT_THAT((*server)->Finish(), IsOk());
}

// max_queued 0 means "run now or be refused": a run that finds a free slot
// and nobody waiting starts.
TEST(SandboxQueueTest, MaxQueuedZeroStartsARunWhileASlotIsFree) {
  Rig rig;
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.queue.max_concurrent = 4;
  policy.queue.max_queued = 0;
  ASSERT_THAT(ValidateSandboxPolicy(policy), IsOk());
  Sandbox sandbox(rig.fake, policy);
  EXPECT_THAT(sandbox.Run(Request("true")), IsOk());
  EXPECT_EQ(sandbox.Stats().rejected, 0u);
}

// ... and a run that would have to wait is refused at once.
TEST(SandboxQueueTest, MaxQueuedZeroRefusesARunThatWouldWait) {
  Rig rig;
  rig.Program("/usr/bin/server", [](FakeProcess& p) {
    while (p.ReadLine().has_value()) {
    }
    return 0;
  });
  rig.Program("/usr/bin/true", [](FakeProcess&) { return 0; });
  SandboxPolicy policy = rig.Policy();
  policy.queue.max_concurrent = 1;
  policy.queue.max_queued = 0;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<std::unique_ptr<SandboxProcess>> server =
      sandbox.Launch(Request("server"));
  ASSERT_THAT(server, IsOk());
  EXPECT_THAT(sandbox.Run(Request("true")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(sandbox.Stats().rejected, 1u);
  ASSERT_THAT((*server)->Finish(), IsOk());
}

}  // namespace
}  // namespace procsandbox
