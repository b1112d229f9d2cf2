// Command::monitor on the OS manager: samples of a real process tree.
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/matchers.h"

namespace procsandbox {
namespace {

using ::procsandbox_testing::Cancelled;
using ::procsandbox_testing::IsOk;
using ::testing::AllOf;
using ::testing::Ge;
using ::testing::Le;
using ::testing::SizeIs;

constexpr int64_t kMiB = int64_t{1} << 20;

// What on_sample received, and a wait for a sample that matches.
class Samples {
 public:
  Monitoring Every(absl::Duration interval) {
    Monitoring m;
    m.enabled = true;
    m.interval = interval;
    m.on_sample = [this](const UsageSample& s) {
      absl::MutexLock lock(&mu_);
      got_.push_back(s);
    };
    return m;
  }
  std::vector<UsageSample> Get() {
    absl::MutexLock lock(&mu_);
    return got_;
  }
  // Waits for a sample past the first `after` that satisfies `pred` (the
  // bound only guards a hang).
  bool AwaitOne(std::size_t after, bool (*pred)(const UsageSample&)) {
    absl::MutexLock lock(&mu_);
    auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (std::size_t i = after; i < got_.size(); ++i) {
        if (pred(got_[i])) return true;
      }
      return false;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&found), absl::Seconds(60));
  }
  std::size_t count() {
    absl::MutexLock lock(&mu_);
    return got_.size();
  }

 private:
  absl::Mutex mu_;
  std::vector<UsageSample> got_ ABSL_GUARDED_BY(mu_);
};

// The "done when": a 10 s run sampled every 100 ms has about 100
// samples, whose CPU and memory end at the outcome's totals.
TEST(OsMonitorTest, ATenSecondRunSampledEveryTenthOfASecond) {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  Samples got;
  // 32 MiB held while it spins for 10 s of wall time.
  Command command(PROCSANDBOX_TEST_HELPER,
                  {"alloc-mb", "32", "burn-wall-ms", "10000"});
  command.monitor = got.Every(absl::Milliseconds(100));
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(**m, command);
  ASSERT_THAT(r, IsOk());
  ASSERT_TRUE(r->outcome.ok()) << r->outcome;
  const std::vector<UsageSample>& s = r->outcome.samples;
  // A sample every 100 ms of a run of 10 s and a little: ~100 and the end
  // (a loaded machine may skip an instant, never add one).
  EXPECT_THAT(s, SizeIs(AllOf(Ge(90u), Le(110u))));
  ASSERT_GE(s.size(), 2u);
  EXPECT_EQ(got.Get(), s);  // no decimation under 1000: all delivered
  const UsageSample& end = s.back();
  EXPECT_EQ(end.state, ProcessState::kEnded);
  EXPECT_EQ(end.user_time + end.system_time,
            r->outcome.user_time + r->outcome.system_time);
  EXPECT_EQ(end.peak_memory_bytes, r->outcome.peak_memory_bytes);
  EXPECT_EQ(end.elapsed, r->outcome.wall_time);
  EXPECT_EQ(end.memory_bytes, 0);
  EXPECT_EQ(end.processes, 0);
  // The last sample taken while it ran is within a tick or two of the
  // totals: the timeline follows the run to its end.
  const UsageSample& last = s[s.size() - 2];
  EXPECT_EQ(last.state, ProcessState::kRunning);
  EXPECT_EQ(last.processes, 1);
  // Its exit may fall inside that sample: the kernel frees a process's
  // memory as it exits and counts it until it is reaped, so the 32 MiB are
  // looked for a tick earlier.
  ASSERT_GE(s.size(), 3u);
  EXPECT_GE(s[s.size() - 3].memory_bytes, 32 * kMiB);
  EXPECT_LE(last.peak_memory_bytes, r->outcome.peak_memory_bytes);
  EXPECT_GE(last.peak_memory_bytes, 32 * kMiB);
  const absl::Duration total = r->outcome.user_time + r->outcome.system_time;
  EXPECT_LE(last.user_time + last.system_time, total);
  EXPECT_GE(last.user_time + last.system_time, total - absl::Milliseconds(500));
  // Evenly spaced on the 100 ms grid, from the first interval on.
  EXPECT_GE(s[0].elapsed, absl::Milliseconds(100));
  for (std::size_t i = 1; i + 1 < s.size(); ++i) {
    EXPECT_GT(s[i].elapsed, s[i - 1].elapsed) << i;
    EXPECT_GE(s[i].peak_memory_bytes, s[i - 1].peak_memory_bytes) << i;
  }
}

TEST(OsMonitorTest, ASuspendedTreeIsSampledSuspended) {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  Samples got;
  Command command(PROCSANDBOX_TEST_HELPER, {"burn-forever"});
  command.monitor = got.Every(absl::Milliseconds(20));
  std::shared_ptr<Process> p = (*m)->New(command);
  ASSERT_THAT(p->Start(), IsOk());
  ASSERT_TRUE(got.AwaitOne(0, [](const UsageSample& s) {
    return s.state == ProcessState::kRunning;
  }));
  ASSERT_THAT(p->Suspend(), IsOk());
  const std::size_t before = got.count();
  ASSERT_TRUE(got.AwaitOne(before, [](const UsageSample& s) {
    return s.state == ProcessState::kSuspended;
  }));
  ASSERT_THAT(p->Resume(), IsOk());
  const std::size_t resumed = got.count();
  ASSERT_TRUE(got.AwaitOne(resumed, [](const UsageSample& s) {
    return s.state == ProcessState::kRunning;
  }));
  ASSERT_THAT(p->Kill(), IsOk());
  absl::StatusOr<Outcome> outcome = p->Wait();
  EXPECT_THAT(outcome, Cancelled());
  EXPECT_EQ(outcome->samples.back().state, ProcessState::kEnded);
}

TEST(OsMonitorTest, TheCallbackMayCallTheProcessAndNothingFollowsTheEnd) {
  absl::StatusOr<std::unique_ptr<Manager>> m = NewOsManager();
  ASSERT_THAT(m, IsOk());
  std::shared_ptr<Process> p;
  absl::Mutex mu;
  int calls = 0;
  std::vector<int64_t> processes_seen;
  Command command(PROCSANDBOX_TEST_HELPER, {"sleep-forever"});
  command.monitor.enabled = true;
  command.monitor.interval = absl::Milliseconds(10);
  command.monitor.on_sample = [&](const UsageSample&) {
    const ResourceUsage usage = p->Usage();  // takes the process's lock
    absl::MutexLock lock(&mu);
    processes_seen.push_back(usage.processes);
    if (++calls == 3) {
      EXPECT_THAT(p->Kill(), IsOk());
    }
  };
  p = (*m)->New(command);
  ASSERT_THAT(p->Start(), IsOk());
  absl::StatusOr<Outcome> outcome = p->Wait();
  EXPECT_THAT(outcome, Cancelled());
  int calls_at_wait;
  {
    absl::MutexLock lock(&mu);
    calls_at_wait = calls;
  }
  // Three while it ran (the third killed it), maybe more taken before the
  // kill was reaped (a slow machine), and the end, before Wait() returned;
  // none after.
  m->reset();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(calls, calls_at_wait);
  EXPECT_GE(calls, 4);
  ASSERT_THAT(outcome->samples, SizeIs(calls));
  EXPECT_EQ(outcome->samples.back().state, ProcessState::kEnded);
  ASSERT_THAT(processes_seen, SizeIs(calls));
  EXPECT_EQ(processes_seen[0], 1);
}

}  // namespace
}  // namespace procsandbox
