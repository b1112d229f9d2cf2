// Sandbox: output caps by bytes and lines, drop or stop, per-line callbacks.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/procsandbox.h"
#include "procsandbox_testing/testing.h"
#include "sandbox_test_util.h"

namespace procsandbox {
namespace {

using ::procsandbox::sandbox_test::Request;
using ::procsandbox::sandbox_test::Rig;
using ::procsandbox_testing::ExceededOutput;
using ::procsandbox_testing::ExitedWith;
using ::procsandbox_testing::IsOk;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// Writes `n` lines "line 1".."line n" to stdout, then exits 0.
FakeProgram Lines(int n) {
  return [n](FakeProcess& p) {
    for (int i = 1; i <= n; ++i) p.WriteStdout(absl::StrCat("line ", i, "\n"));
    return 0;
  };
}

std::string ExpectedLines(int n) {
  std::string s;
  for (int i = 1; i <= n; ++i) absl::StrAppend(&s, "line ", i, "\n");
  return s;
}

TEST(SandboxOutputTest, KeepsTheDefaultTenThousandLinesAndDropsTheRest) {
  Rig rig;
  rig.Program("/usr/bin/gen", Lines(10'050));
  Sandbox sandbox(rig.fake, rig.Policy());
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("gen"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExitedWith(0));  // it ran on
  EXPECT_EQ(r->status, SandboxStatus::kCompleted);
  EXPECT_EQ(r->stdout_lines, 10'000);
  EXPECT_EQ(r->stdout_, ExpectedLines(10'000));
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_FALSE(r->stderr_truncated);
  EXPECT_EQ(r->truncated_by, OutputCap::kLines);
}

TEST(SandboxOutputTest, LineCapCountsBothStreams) {
  Rig rig;
  rig.Program("/usr/bin/gen", [](FakeProcess& p) {
    p.WriteStdout("o1\n");
    p.WriteStderr("e1\n");
    p.WriteStdout("o2\n");
    p.WriteStderr("e2\n");
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.output.max_lines = 3;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("gen"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "o1\no2\n");
  EXPECT_EQ(r->stderr_, "e1\n");
  EXPECT_FALSE(r->stdout_truncated);
  EXPECT_TRUE(r->stderr_truncated);
}

TEST(SandboxOutputTest, ByteCapCutsTheCrossingLineAndDropsTheRest) {
  Rig rig;
  rig.Program("/usr/bin/gen", Lines(100));
  SandboxPolicy policy = rig.Policy();
  policy.output.max_bytes = 20;  // "line 1\n" .. "line 2\n" = 14, then 6 of 7
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("gen"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "line 1\nline 2\nline 3");
  EXPECT_EQ(r->stdout_.size(), 20u);
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->truncated_by, OutputCap::kBytes);
  EXPECT_EQ(r->status, SandboxStatus::kCompleted);
}

TEST(SandboxOutputTest, StopAtTheLineCapEndsAsOutputExceeded) {
  Rig rig;
  rig.Program("/usr/bin/gen", [](FakeProcess& p) {
    for (int i = 0;; ++i) {
      p.WriteStdout("spam\n");
      p.Sleep(absl::Milliseconds(1));
    }
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.output.max_lines = 5;
  policy.output.on_limit = OutputLimitAction::kStop;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("gen"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExceededOutput());
  EXPECT_EQ(r->status, SandboxStatus::kLimitExceeded);
  EXPECT_EQ(r->stdout_lines, 5);
  EXPECT_TRUE(r->stdout_truncated);
}

TEST(SandboxOutputTest, StopAtTheByteCapEndsAsOutputExceeded) {
  Rig rig;
  rig.Program("/usr/bin/gen", [](FakeProcess& p) {
    for (;;) {
      p.WriteStdout(std::string(1000, 'x'));  // no newline, ever
      p.Sleep(absl::Milliseconds(1));
    }
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.output.max_bytes = 4096;
  policy.output.on_limit = OutputLimitAction::kStop;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("gen"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->outcome, ExceededOutput());
  EXPECT_EQ(r->stdout_.size(), 4096u);
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->truncated_by, OutputCap::kBytes);
}

TEST(SandboxOutputTest, LineCallbackGetsKeptLinesTaggedWithTheirStream) {
  Rig rig;
  rig.Program("/usr/bin/gen", [](FakeProcess& p) {
    p.WriteStdout("a\n");
    p.WriteStderr("warn\n");
    p.WriteStdout("b\nc\n");
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.output.max_lines = 3;
  Sandbox sandbox(rig.fake, policy);
  auto seen = std::make_shared<std::vector<std::pair<Stream, std::string>>>();
  auto mu = std::make_shared<absl::Mutex>();
  RunRequest request = Request("gen");
  request.on_line = [seen, mu](Stream s, absl::string_view line) {
    absl::MutexLock lock(mu.get());
    seen->emplace_back(s, std::string(line));
  };
  ASSERT_THAT(sandbox.Run(request), IsOk());
  EXPECT_THAT(*seen, ElementsAre(Pair(Stream::kStdout, "a"),
                                 Pair(Stream::kStderr, "warn"),
                                 Pair(Stream::kStdout, "b")));
}

TEST(SandboxOutputTest, TruncationIsAnEvent) {
  Rig rig;
  rig.Program("/usr/bin/gen", Lines(10));
  SandboxPolicy policy = rig.Policy();
  policy.output.max_lines = 2;
  std::vector<SandboxEvent> events;
  policy.on_event = [&events](const SandboxEvent& e) { events.push_back(e); };
  Sandbox sandbox(rig.fake, policy);
  RunRequest request = Request("gen");
  request.id = "r1";
  ASSERT_THAT(sandbox.Run(request), IsOk());
  std::vector<std::string> kinds;
  for (const SandboxEvent& e : events) {
    kinds.emplace_back(SandboxEventKindName(e.kind));
    if (e.kind == SandboxEvent::Kind::kOutputTruncated) {
      EXPECT_EQ(ToString(e),
                "r1 output_truncated: lines cap reached (1048576 bytes, 2 "
                "lines): the rest dropped");
    }
  }
  // (limit_applied: the output cap, enforced by the fake; verify_failed:
  // the program ended before its limits could be read back.)
  EXPECT_THAT(kinds,
              ElementsAre("queued", "started", "limit_applied", "verify_failed",
                          "output_truncated", "exited"));
}

// A request's Limits::output_bytes below OutputPolicy::max_bytes is the cap
// for that run, and cutting there is reported as truncation.
TEST(SandboxOutputTest, ARequestsOwnByteCapIsReportedAsTruncation) {
  Rig rig;
  rig.Program("/usr/bin/chatty", [](FakeProcess& p) {
    for (int i = 0; i < 100; ++i) p.WriteStdout("0123456789\n");
    return 0;
  });
  Sandbox sandbox(rig.fake, rig.Policy());
  RunRequest request = Request("chatty");
  request.limits.output_bytes = 22;  // two lines' worth
  absl::StatusOr<SandboxResult> r = sandbox.Run(request);
  ASSERT_THAT(r, IsOk());
  EXPECT_LE(r->stdout_.size(), 22u) << r->stdout_;
  EXPECT_TRUE(r->stdout_truncated)
      << "1100 bytes written, " << r->stdout_.size() << " kept";
  EXPECT_NE(r->truncated_by, OutputCap::kNone);
}

// A last line without '\n' that fills the byte cap exactly is all kept: the
// newline the sandbox adds is not charged against the cap.
TEST(SandboxOutputTest, APartialLastLineFillingTheByteCapIsNotTruncated) {
  Rig rig;
  rig.Program("/usr/bin/printf", [](FakeProcess& p) {
    p.WriteStdout("abcd");  // 4 bytes, no newline
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.output.max_bytes = 4;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("printf"));
  ASSERT_THAT(r, IsOk());
  EXPECT_THAT(r->stdout_, HasSubstr("abcd"));
  EXPECT_FALSE(r->stdout_truncated) << "all 4 bytes were kept";
  EXPECT_EQ(r->truncated_by, OutputCap::kNone);
}

// One byte more than the cap is truncation.
TEST(SandboxOutputTest, APartialLastLineOverTheByteCapIsTruncated) {
  Rig rig;
  rig.Program("/usr/bin/printf", [](FakeProcess& p) {
    p.WriteStdout("abcde");
    return 0;
  });
  SandboxPolicy policy = rig.Policy();
  policy.output.max_bytes = 4;
  Sandbox sandbox(rig.fake, policy);
  absl::StatusOr<SandboxResult> r = sandbox.Run(Request("printf"));
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->stdout_, "abcd");
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->truncated_by, OutputCap::kBytes);
}

}  // namespace
}  // namespace procsandbox
