// Live usage samples (Command::monitor): the shared timeline, and the
// in-memory manager's samples, exact in virtual time.
#include "procsandbox/monitor.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/usage_timeline.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/run.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr int64_t kMiB = 1 << 20;

UsageSample At(absl::Duration elapsed, absl::Duration cpu) {
  UsageSample s;
  s.time = absl::UnixEpoch() + elapsed;
  s.elapsed = elapsed;
  s.user_time = cpu;
  return s;
}

// Collects what on_sample receives (from a library thread).
struct Received {
  absl::Mutex mu;
  std::vector<UsageSample> samples;
  Monitoring Every(absl::Duration interval) {
    Monitoring m;
    m.enabled = true;
    m.interval = interval;
    m.on_sample = [this](const UsageSample& s) {
      absl::MutexLock lock(&mu);
      samples.push_back(s);
    };
    return m;
  }
  std::vector<UsageSample> Get() {
    absl::MutexLock lock(&mu);
    return samples;
  }
};

// --- The timeline ------------------------------------------------------------

TEST(UsageTimelineTest, CpuPercentIsOverTheTimeSinceThePreviousSampleTaken) {
  internal::UsageTimeline timeline(2);
  // 1s of CPU in the first second, half a second in the next two.
  EXPECT_EQ(timeline.Add(At(absl::Seconds(1), absl::Seconds(1))).cpu_percent,
            100);
  EXPECT_EQ(timeline.Add(At(absl::Seconds(2), absl::Seconds(1))).cpu_percent,
            0);
  // Sample 2 was taken (and dropped past max_samples 2): the next one's
  // interval starts at it, not at the last one kept.
  EXPECT_EQ(
      timeline.Add(At(absl::Seconds(3), absl::Milliseconds(1500))).cpu_percent,
      50);
  EXPECT_EQ(timeline.taken(), 3);
}

TEST(UsageTimelineTest, TwoCoresBusyIsTwoHundredPercent) {
  internal::UsageTimeline timeline(10);
  UsageSample s = At(absl::Milliseconds(500), absl::Milliseconds(600));
  s.system_time = absl::Milliseconds(400);
  EXPECT_EQ(timeline.Add(s).cpu_percent, 200);
}

TEST(UsageTimelineTest, PeakNeverGoesDown) {
  internal::UsageTimeline timeline(10);
  UsageSample a = At(absl::Seconds(1), absl::ZeroDuration());
  a.memory_bytes = 5 * kMiB;  // a platform that reads no peak
  EXPECT_EQ(timeline.Add(a).peak_memory_bytes, 5 * kMiB);
  UsageSample b = At(absl::Seconds(2), absl::ZeroDuration());
  b.memory_bytes = 1 * kMiB;
  b.peak_memory_bytes = 2 * kMiB;
  EXPECT_EQ(timeline.Add(b).peak_memory_bytes, 5 * kMiB);
}

TEST(UsageTimelineTest, AnEndAtTheInstantOfASampleKeepsItsPercent) {
  internal::UsageTimeline timeline(10);
  timeline.Add(At(absl::Seconds(1), absl::Milliseconds(250)));
  UsageSample end = At(absl::Seconds(1), absl::Milliseconds(250));
  std::vector<UsageSample> kept = timeline.Finish(end);
  EXPECT_EQ(end.cpu_percent, 25);
  EXPECT_THAT(kept, SizeIs(2));
}

TEST(UsageTimelineTest, DecimationKeepsTheFirstEvenlySpacedAndTheEnd) {
  internal::UsageTimeline timeline(4);
  for (int i = 1; i <= 9; ++i) {
    timeline.Add(At(absl::Seconds(i), absl::ZeroDuration()));
  }
  // Taken 1..9: 1,2,3,4 fill it; 5 halves it to 1,3 (stride 2) and is kept;
  // 7 fills it; 9 halves it to 1,5 (stride 4) and is kept.
  std::vector<absl::Duration> times;
  for (const UsageSample& s : timeline.kept()) times.push_back(s.elapsed);
  EXPECT_THAT(
      times, ElementsAre(absl::Seconds(1), absl::Seconds(5), absl::Seconds(9)));
  UsageSample end = At(absl::Seconds(10), absl::ZeroDuration());
  std::vector<UsageSample> kept = timeline.Finish(end);
  ASSERT_THAT(kept, SizeIs(4));
  EXPECT_EQ(kept.back().elapsed, absl::Seconds(10));
}

TEST(UsageTimelineTest, TheEndIsKeptWhenTheTimelineIsFull) {
  internal::UsageTimeline timeline(2);
  timeline.Add(At(absl::Seconds(1), absl::ZeroDuration()));
  timeline.Add(At(absl::Seconds(2), absl::ZeroDuration()));
  UsageSample end = At(absl::Seconds(3), absl::ZeroDuration());
  std::vector<UsageSample> kept = timeline.Finish(end);
  ASSERT_THAT(kept, SizeIs(2));
  EXPECT_EQ(kept.front().elapsed, absl::Seconds(1));
  EXPECT_EQ(kept.back().elapsed, absl::Seconds(3));
}

// --- The in-memory manager ---------------------------------------------------

TEST(MemoryMonitorTest, SamplesTheSimulatedUsageAtExactInstants) {
  MemoryManager fake;
  fake.Register("work", [](FakeProcess& p) {
    p.UseMemory(10 * kMiB);
    (void)p.SpawnChildren(2);
    p.WriteStdout("abc\n");
    p.UseCpu(absl::Milliseconds(1500));  // 0 .. 1.5s
    p.Sleep(absl::Seconds(1));           // .. 2.5s
    p.WriteStderr("xy");
    p.UseMemory(5 * kMiB);
    p.FreeMemory(12 * kMiB);
    p.Sleep(absl::Milliseconds(700));  // .. 3.2s
    return 0;
  });
  Received got;
  Command cmd("work");
  cmd.stdout_ = Stdio::Capture();
  cmd.stderr_ = Stdio::Capture();
  cmd.monitor = got.Every(absl::Seconds(1));
  const absl::Time t0 = fake.Now();
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok()) << r.status();

  auto sample = [t0](int64_t ms, int64_t cpu_ms, double percent, int64_t memory,
                     int64_t peak, int64_t processes, int64_t out, int64_t err,
                     ProcessState state) {
    UsageSample s;
    s.time = t0 + absl::Milliseconds(ms);
    s.elapsed = absl::Milliseconds(ms);
    s.user_time = absl::Milliseconds(cpu_ms);
    s.cpu_percent = percent;
    s.memory_bytes = memory;
    s.peak_memory_bytes = peak;
    s.processes = processes;
    s.stdout_bytes = out;
    s.stderr_bytes = err;
    s.state = state;
    return s;
  };
  const auto kRun = ProcessState::kRunning;
  EXPECT_THAT(
      r->outcome.samples,
      ElementsAre(
          sample(1000, 1000, 100, 10 * kMiB, 10 * kMiB, 3, 4, 0, kRun),
          sample(2000, 1500, 50, 10 * kMiB, 10 * kMiB, 3, 4, 0, kRun),
          sample(3000, 1500, 0, 3 * kMiB, 15 * kMiB, 3, 4, 2, kRun),
          sample(3200, 1500, 0, 0, 15 * kMiB, 0, 4, 2, ProcessState::kEnded)));
  // The last sample is the outcome's figures.
  EXPECT_EQ(r->outcome.samples.back().user_time, r->outcome.user_time);
  EXPECT_EQ(r->outcome.samples.back().elapsed, r->outcome.wall_time);
  EXPECT_EQ(r->outcome.samples.back().peak_memory_bytes,
            r->outcome.peak_memory_bytes);
  // Every sample went to the callback, the same.
  EXPECT_EQ(got.Get(), r->outcome.samples);
}

TEST(MemoryMonitorTest, SamplesAreTheSameOnEveryRun) {
  auto run = [] {
    MemoryManager fake;
    fake.Register("burn", [](FakeProcess& p) {
      p.UseCpu(absl::Milliseconds(750));
      p.UseMemory(kMiB);
      p.Sleep(absl::Milliseconds(330));
      return 0;
    });
    Command cmd("burn");
    cmd.monitor.enabled = true;
    cmd.monitor.interval = absl::Milliseconds(100);
    return procsandbox::RunCommand(fake, cmd)->outcome.samples;
  };
  const std::vector<UsageSample> first = run();
  EXPECT_THAT(first, SizeIs(11));  // 100ms .. 1s, and the end at 1.08s
  EXPECT_EQ(run(), first);
}

TEST(MemoryMonitorTest, StreamsTheLibraryDoesNotReadCountNothing) {
  MemoryManager fake;
  fake.Register("talk", [](FakeProcess& p) {
    p.WriteStdout("to nowhere\n");
    p.WriteStderr("seen\n");
    p.Sleep(absl::Seconds(1));
    return 0;
  });
  Command cmd("talk");
  cmd.stdout_ = Stdio::Null();
  cmd.stderr_ = Stdio::Lines([](absl::string_view) {});
  cmd.monitor.enabled = true;
  cmd.monitor.interval = absl::Milliseconds(500);
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  ASSERT_THAT(r->outcome.samples, SizeIs(3));
  EXPECT_EQ(r->outcome.samples[0].stdout_bytes, 0);
  EXPECT_EQ(r->outcome.samples[0].stderr_bytes, 5);
}

TEST(MemoryMonitorTest, ARunShorterThanTheIntervalHasTheEndOnly) {
  MemoryManager fake;
  fake.Register("quick", [](FakeProcess& p) {
    p.UseCpu(absl::Milliseconds(300));
    return 0;
  });
  Command cmd("quick");
  cmd.monitor.enabled = true;  // every 2s by default
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  ASSERT_THAT(r->outcome.samples, SizeIs(1));
  EXPECT_EQ(r->outcome.samples[0].state, ProcessState::kEnded);
  EXPECT_EQ(r->outcome.samples[0].cpu_percent, 100);
  EXPECT_EQ(r->outcome.samples[0].elapsed, absl::Milliseconds(300));
}

TEST(MemoryMonitorTest, NoSamplesWhenMonitoringIsOff) {
  MemoryManager fake;
  fake.Register("nap", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(10));
    return 0;
  });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("nap"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->outcome.samples.empty());
}

TEST(MemoryMonitorTest, ASuspendedProcessIsSampledSuspended) {
  MemoryManager fake;
  fake.clock().SetAutoAdvance(false);
  fake.Register("burn", [](FakeProcess& p) {
    p.UseCpu(absl::Seconds(10));
    return 0;
  });
  Received got;
  Command cmd("burn");
  cmd.monitor = got.Every(absl::Seconds(1));
  std::shared_ptr<Process> proc = fake.New(cmd);
  ASSERT_TRUE(proc->Start().ok());
  ASSERT_TRUE(fake.clock().Advance(absl::Seconds(1)).ok());
  ASSERT_TRUE(proc->Suspend().ok());
  ASSERT_TRUE(fake.clock().Advance(absl::Seconds(1)).ok());
  ASSERT_TRUE(proc->Resume().ok());
  ASSERT_TRUE(fake.clock().Advance(absl::Milliseconds(500)).ok());
  ASSERT_TRUE(proc->Kill().ok());
  absl::StatusOr<Outcome> outcome = proc->Wait();
  ASSERT_TRUE(outcome.ok());
  const std::vector<UsageSample>& s = outcome->samples;
  ASSERT_THAT(s, SizeIs(3));
  EXPECT_EQ(s[0].state, ProcessState::kRunning);
  EXPECT_EQ(s[0].cpu_percent, 100);
  EXPECT_EQ(s[1].state, ProcessState::kSuspended);
  EXPECT_EQ(s[1].cpu_percent, 0);  // no CPU while stopped
  EXPECT_EQ(s[1].user_time, absl::Seconds(1));
  EXPECT_EQ(s[2].state, ProcessState::kEnded);
  EXPECT_EQ(s[2].elapsed, absl::Milliseconds(2500));
  EXPECT_EQ(s[2].user_time, absl::Milliseconds(1500));
  EXPECT_EQ(got.Get(), s);
}

TEST(MemoryMonitorTest, TheCallbackMayCallTheProcess) {
  MemoryManager fake;
  fake.Register("forever", [](FakeProcess& p) {
    p.UseMemory(kMiB);
    p.Sleep(absl::InfiniteDuration());
    return 0;
  });
  std::shared_ptr<Process> proc;
  int calls = 0;
  std::vector<int64_t> memory_seen;
  Command cmd("forever");
  cmd.monitor.enabled = true;
  cmd.monitor.interval = absl::Seconds(1);
  cmd.monitor.on_sample = [&](const UsageSample& s) {
    ++calls;
    memory_seen.push_back(proc->Usage().memory_bytes);
    // The third sample stops it: at that instant.
    if (calls == 3) {
      EXPECT_TRUE(proc->Kill().ok());
    }
    (void)s;
  };
  proc = fake.New(cmd);
  ASSERT_TRUE(proc->Start().ok());
  absl::StatusOr<Outcome> outcome = proc->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_EQ(outcome->reason, ExitReason::kCancelled);
  EXPECT_EQ(outcome->wall_time, absl::Seconds(3));
  EXPECT_THAT(outcome->samples, SizeIs(4));
  EXPECT_EQ(calls, 4);
  EXPECT_THAT(memory_seen, ElementsAre(kMiB, kMiB, kMiB, 0));
}

TEST(MemoryMonitorTest, AVirtualDayAtOneSecondStaysWithinMaxSamples) {
  MemoryManager fake;
  fake.Register("day", [](FakeProcess& p) {
    p.Sleep(absl::Hours(24));
    return 0;
  });
  int64_t calls = 0;
  Command cmd("day");
  cmd.monitor.enabled = true;
  cmd.monitor.interval = absl::Seconds(1);
  cmd.monitor.max_samples = 100;
  cmd.monitor.on_sample = [&calls](const UsageSample&) { ++calls; };
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  // 86,400 samples and the end were taken; the stride doubled from 1 to
  // 1024 (the timeline was full at 100, 200, ... 51,200 samples), so the
  // kept ones are taken samples 0, 1024, ... 86,016 (at 1s, 1025s, ...)
  // and the end.
  EXPECT_EQ(calls, 86'401);
  const std::vector<UsageSample>& s = r->outcome.samples;
  ASSERT_THAT(s, SizeIs(86));
  for (std::size_t i = 0; i + 1 < s.size(); ++i) {
    EXPECT_EQ(s[i].elapsed, absl::Seconds(1 + 1024 * static_cast<int64_t>(i)))
        << i;
  }
  EXPECT_EQ(s.back().elapsed, absl::Hours(24));
  EXPECT_EQ(s.back().state, ProcessState::kEnded);
}

TEST(MemoryMonitorTest, AnIntervalUnderAMillisecondIsRefused) {
  MemoryManager fake;
  fake.Register("x", [](FakeProcess&) { return 0; });
  Command cmd("x");
  cmd.monitor.enabled = true;
  cmd.monitor.interval = absl::Microseconds(999);
  EXPECT_THAT(fake.New(cmd)->Start(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("monitor.interval")));
  cmd.monitor.interval = absl::Seconds(1);
  cmd.monitor.max_samples = 1;
  EXPECT_THAT(fake.New(cmd)->Start(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("monitor.max_samples")));
}

TEST(MemoryMonitorTest, AdvancingTheClockFromACallbackIsRefused) {
  MemoryManager fake;
  fake.Register("nap", [](FakeProcess& p) {
    p.Sleep(absl::Seconds(2));
    return 0;
  });
  absl::Status advanced;
  Command cmd("nap");
  cmd.monitor.enabled = true;
  cmd.monitor.interval = absl::Seconds(1);
  cmd.monitor.on_sample = [&](const UsageSample& s) {
    if (s.state == ProcessState::kRunning) {
      advanced = fake.clock().Advance(absl::Seconds(1));
    }
  };
  ASSERT_TRUE(procsandbox::RunCommand(fake, cmd).ok());
  EXPECT_THAT(advanced, StatusIs(absl::StatusCode::kFailedPrecondition,
                                 HasSubstr("on_sample")));
}

}  // namespace
}  // namespace procsandbox
