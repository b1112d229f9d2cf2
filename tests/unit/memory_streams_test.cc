// MemoryManager: stdin, stdout and stderr in every Stdio mode.
#include <csignal>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/signals.h"  // Windows's <csignal> has no SIGKILL
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "procsandbox/memory_manager.h"
#include "procsandbox/run.h"
#include "real_time.h"

namespace procsandbox {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Echoes each stdin line back as "echo: <line>" until end of file.
int EchoLines(FakeProcess& p) {
  int lines = 0;
  while (std::optional<std::string> line = p.ReadLine()) {
    p.WriteStdout(absl::StrCat("echo: ", *line, "\n"));
    ++lines;
  }
  return lines;
}

TEST(MemoryStreamsTest, StdinDataIsReadLineByLineWithAPartialLastLine) {
  MemoryManager fake;
  fake.Register("echo", EchoLines);
  Command cmd("echo");
  cmd.stdin_ = Stdio::Data("a\nb\nc");
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.exit_code, 3);
  EXPECT_EQ(r->stdout_, "echo: a\necho: b\necho: c\n");
}

TEST(MemoryStreamsTest, StdinDefaultsToTheNullDevice) {
  MemoryManager fake;
  fake.Register("cat", [](FakeProcess& p) {
    p.WriteStdout(p.ReadAll());
    return 0;
  });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, Command("cat"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_, "");
}

TEST(MemoryStreamsTest, StdinFileComesFromTheFakeFileSystem) {
  MemoryManager fake;
  fake.SetFile("/in.txt", "from file\n");
  fake.Register("cat", [](FakeProcess& p) {
    p.WriteStdout(p.ReadAll());
    return 0;
  });
  Command cmd("cat");
  cmd.stdin_ = Stdio::File("/in.txt");
  EXPECT_EQ(procsandbox::RunCommand(fake, cmd)->stdout_, "from file\n");

  cmd.stdin_ = Stdio::File("/missing.txt");
  absl::StatusOr<RunResult> missing = procsandbox::RunCommand(fake, cmd);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("/missing.txt"));
}

TEST(MemoryStreamsTest, StdoutFileIsTruncatedOrAppendedTo) {
  MemoryManager fake;
  fake.SetFile("/log", "old\n");
  fake.Register("log", [](FakeProcess& p) {
    p.WriteStdout("new\n");
    return 0;
  });
  Command append("log");
  append.stdout_ = Stdio::File("/log", FileMode::kAppend);
  ASSERT_TRUE(procsandbox::RunCommand(fake, append).ok());
  EXPECT_EQ(fake.GetFile("/log"), "old\nnew\n");
  Command truncate("log");
  truncate.stdout_ = Stdio::File("/log");
  ASSERT_TRUE(procsandbox::RunCommand(fake, truncate).ok());
  EXPECT_EQ(fake.GetFile("/log"), "new\n");
}

TEST(MemoryStreamsTest, StderrToStdoutMergesInOrder) {
  MemoryManager fake;
  fake.Register("mixed", [](FakeProcess& p) {
    p.WriteStdout("1");
    p.WriteStderr("2");
    p.WriteStdout("3");
    return 0;
  });
  Command cmd("mixed");
  cmd.stderr_ = Stdio::ToStdout();
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stdout_, "123");
  EXPECT_EQ(r->stderr_, "");
}

TEST(MemoryStreamsTest, LinesCallbackGetsEachLineAndTheUnterminatedLast) {
  MemoryManager fake;
  fake.Register("talk", [](FakeProcess& p) {
    p.WriteStdout("one\ntw");
    p.WriteStdout("o\nthree");
    p.WriteStderr("err\n");
    return 0;
  });
  std::vector<std::string> out, err;
  Command cmd("talk");
  cmd.stdout_ =
      Stdio::Lines([&out](absl::string_view l) { out.emplace_back(l); });
  cmd.stderr_ =
      Stdio::Lines([&err](absl::string_view l) { err.emplace_back(l); });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(out, ElementsAre("one", "two", "three"));
  EXPECT_THAT(err, ElementsAre("err"));
  EXPECT_EQ(r->stdout_, "");  // lines are delivered, not captured
}

// Chunks get the bytes unchanged (no line splitting, a last line keeps its
// missing newline) and count against the output cap like capture.
TEST(MemoryStreamsTest, ChunksCallbackGetsTheBytesUnchangedUpToTheCap) {
  MemoryManager fake;
  fake.Register("talk", [](FakeProcess& p) {
    p.WriteStdout("one\ntw");
    p.WriteStderr("err");
    p.WriteStdout("o\nthree");
    return 0;
  });
  std::string out, err;
  Command cmd("talk");
  cmd.stdout_ = Stdio::Chunks([&out](absl::string_view b) {
    EXPECT_FALSE(b.empty());
    out.append(b.data(), b.size());
  });
  cmd.stderr_ = Stdio::Chunks(
      [&err](absl::string_view b) { err.append(b.data(), b.size()); });
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(out, "one\ntwo\nthree");
  EXPECT_EQ(err, "err");

  out.clear();
  err.clear();
  cmd.limits.output_bytes = 8;
  cmd.on_output_limit = OutputLimitAction::kStop;
  r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(out + err, "one\ntwer");
  EXPECT_EQ(r->outcome.reason, ExitReason::kOutputExceeded);
}

TEST(MemoryStreamsTest, CaptureIsTruncatedAtTheOutputLimitAndTheProgramRunsOn) {
  MemoryManager fake;
  fake.Register("flood", [](FakeProcess& p) {
    for (int i = 0; i < 100; ++i) p.WriteStdout("0123456789");
    p.WriteStderr("tail");
    return 0;
  });
  Command cmd("flood");
  cmd.limits.output_bytes = 25;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kExited);
  EXPECT_EQ(r->stdout_, "0123456789012345678901234");
  EXPECT_TRUE(r->stdout_truncated);
  EXPECT_EQ(r->stderr_, "");
  EXPECT_TRUE(r->stderr_truncated);
}

TEST(MemoryStreamsTest, OutputLimitWithStopEndsTheProgramAsOutputExceeded) {
  MemoryManager fake;
  fake.Register("flood", [](FakeProcess& p) {
    for (;;) {
      p.WriteStdout("0123456789");
      p.Sleep(absl::Milliseconds(1));
    }
    return 0;
  });
  Command cmd("flood");
  cmd.limits.output_bytes = 25;
  cmd.on_output_limit = OutputLimitAction::kStop;
  absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome.reason, ExitReason::kOutputExceeded);
  EXPECT_EQ(r->outcome.signal, SIGTERM);
  EXPECT_EQ(r->stdout_.size(), 25u);
}

TEST(MemoryStreamsTest, AnInteractivePipeDrivesAJsonRpcServer) {
  MemoryManager fake;
  fake.Register("rpc", [](FakeProcess& p) {
    while (std::optional<std::string> request = p.ReadLine()) {
      p.Sleep(absl::Milliseconds(10));  // thinking
      p.WriteStdout(
          absl::StrCat(R"({"jsonrpc":"2.0","result":)", *request, "}\n"));
    }
    return 0;
  });
  Command cmd("rpc");
  cmd.stdin_ = Stdio::Pipe();
  cmd.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(p->Write(absl::StrCat(i, "\n")).ok());
    absl::StatusOr<std::string> reply =
        p->ReadLine(Stream::kStdout, absl::Seconds(1));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(*reply, absl::StrCat(R"({"jsonrpc":"2.0","result":)", i, "}"));
  }
  ASSERT_TRUE(p->CloseStdin().ok());
  EXPECT_EQ(p->ReadLine(Stream::kStdout, absl::Seconds(1)).status().code(),
            absl::StatusCode::kOutOfRange);
  absl::StatusOr<Outcome> outcome = p->Wait();
  ASSERT_TRUE(outcome.ok());
  EXPECT_TRUE(outcome->ok());
  EXPECT_EQ(outcome->wall_time, absl::Milliseconds(30));
  EXPECT_EQ(fake.History()[0].stdin_data, "0\n1\n2\n");
}

TEST(MemoryStreamsTest, ReadLineTimesOutInVirtualTime) {
  MemoryManager fake;
  fake.Register("quiet", [](FakeProcess& p) {
    p.Sleep(absl::Minutes(1));
    p.WriteStdout("late\n");
    return 0;
  });
  Command cmd("quiet");
  cmd.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  const absl::Time t0 = fake.Now();
  absl::StatusOr<std::string> line =
      p->ReadLine(Stream::kStdout, absl::Seconds(5));
  EXPECT_EQ(line.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(fake.Now() - t0, absl::Seconds(5));
  EXPECT_EQ(*p->ReadLine(Stream::kStdout, absl::InfiniteDuration()), "late");
}

TEST(MemoryStreamsTest, ReadReturnsWhatIsThereThenEndOfFile) {
  MemoryManager fake;
  fake.Register("chunks", [](FakeProcess& p) {
    p.WriteStderr("abcdef");
    return 0;
  });
  Command cmd("chunks");
  cmd.stderr_ = Stdio::Pipe();
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  EXPECT_EQ(*p->Read(Stream::kStderr, 4, absl::Seconds(1)), "abcd");
  EXPECT_EQ(*p->Read(Stream::kStderr, 4, absl::Seconds(1)), "ef");
  EXPECT_EQ(p->Read(Stream::kStderr, 4, absl::Seconds(1)).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(p->Read(Stream::kStderr, 0, absl::Seconds(1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MemoryStreamsTest, AFullPipeBlocksTheWriterUntilTheHostReads) {
  MemoryManagerOptions options;
  options.pipe_capacity = 1024;
  MemoryManager fake(options);
  fake.Register("big", [](FakeProcess& p) {
    p.WriteStdout(std::string(1 << 20, 'x'));
    return 0;
  });
  Command cmd("big");
  cmd.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  EXPECT_TRUE(p->Running());  // blocked on the full pipe
  std::size_t total = 0;
  for (absl::StatusOr<std::string> chunk =
           p->Read(Stream::kStdout, 4096, absl::Seconds(1));
       chunk.ok(); chunk = p->Read(Stream::kStdout, 4096, absl::Seconds(1))) {
    EXPECT_LE(chunk->size(), 1024u);
    total += chunk->size();
  }
  EXPECT_EQ(total, 1u << 20);
  EXPECT_TRUE(p->Wait()->ok());
}

TEST(MemoryStreamsTest, WriteNeedsAPipeAndAnOpenStdin) {
  MemoryManager fake;
  fake.Register("cat", [](FakeProcess& p) {
    p.WriteStdout(p.ReadAll());
    return 0;
  });
  std::shared_ptr<Process> data = fake.New(Command("cat"));
  ASSERT_TRUE(data->SetStdin(Stdio::Data("x")).ok());
  ASSERT_TRUE(data->Start().ok());
  absl::Status not_pipe = data->Write("y");
  EXPECT_EQ(not_pipe.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(not_pipe.message()), HasSubstr("not a pipe"));

  Command cmd("cat");
  cmd.stdin_ = Stdio::Pipe();
  std::shared_ptr<Process> piped = fake.New(cmd);
  ASSERT_TRUE(piped->Start().ok());
  ASSERT_TRUE(piped->CloseStdin().ok());
  EXPECT_EQ(piped->Write("late").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(piped->CloseStdin().ok());
}

TEST(MemoryStreamsTest, WriteToAnEndedProcessIsUnavailable) {
  MemoryManager fake;
  fake.Register("quit", [](FakeProcess&) { return 0; });
  Command cmd("quit");
  cmd.stdin_ = Stdio::Pipe();
  std::shared_ptr<Process> p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  absl::Status s = p->Write("hello\n");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()), HasSubstr("EPIPE"));
}

TEST(MemoryStreamsTest, ReadLineNeedsAPipe) {
  MemoryManager fake;
  fake.Register("t", [](FakeProcess&) { return 0; });
  std::shared_ptr<Process> p = fake.New(Command("t"));
  ASSERT_TRUE(p->Start().ok());
  EXPECT_EQ(p->ReadLine(Stream::kStdout, absl::Seconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(p->ReadLine(Stream::kStdin, absl::Seconds(1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(MemoryStreamsTest, RunRefusesAPipeBecauseNobodyWouldDriveIt) {
  MemoryManager fake;
  Command cmd("t");
  cmd.stdin_ = Stdio::Pipe();
  EXPECT_EQ(procsandbox::RunCommand(fake, cmd).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(fake.History().empty());
}

TEST(MemoryStreamsTest, ALineCallbackMayTalkBackToItsProcess) {
  MemoryManager fake;
  fake.Register("asker", [](FakeProcess& p) {
    p.WriteStdout("name?\n");
    std::optional<std::string> answer = p.ReadLine();
    p.WriteStderr(answer.value_or("none"));
    return 0;
  });
  std::shared_ptr<Process> p;
  Command cmd("asker");
  cmd.stdin_ = Stdio::Pipe();
  cmd.stdout_ = Stdio::Lines([&p](absl::string_view line) {
    if (line == "name?") (void)p->Write("fake\n");
  });
  cmd.stderr_ = Stdio::Capture();
  p = fake.New(cmd);
  ASSERT_TRUE(p->Start().ok());
  ASSERT_TRUE(p->Wait().ok());
  EXPECT_EQ(p->Captured().stderr_, "fake");
}

// ReadLine() returns a line longer than the pipe's capacity (64 KiB), as the
// OS manager does: lines of 100 KiB are common (minified JSON, base64).
TEST(MemoryStreamsTest, ReadLineReturnsALineLongerThanThePipeCapacity) {
  MemoryManager fake;  // pipe_capacity 64 KiB
  fake.Register("jsonrpc", [](FakeProcess& p) {
    p.WriteStdout(std::string(100 * 1024, 'x') + "\n");
    return 0;
  });
  Command cmd("jsonrpc");
  cmd.stdout_ = Stdio::Pipe();
  std::shared_ptr<Process> proc = fake.New(cmd);
  ASSERT_TRUE(proc->Start().ok());
  absl::StatusOr<std::string> line =
      proc->ReadLine(Stream::kStdout, absl::Seconds(10));
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(line->size(), 100u * 1024);
}

// A Stdio::Lines callback that throws for the last, unterminated line ends the
// program as for any other line, without crashing the host (in a child).
TEST(MemoryStreamsTest, AThrowingLinesCallbackOnTheLastLineDoesNotCrash) {
  ExpectCompletesWithin(5, []() -> std::string {
    MemoryManager fake;
    fake.Register("tail", [](FakeProcess& p) {
      p.WriteStdout("first\nlast-without-newline");
      return 0;
    });
    Command cmd("tail");
    cmd.stdout_ = Stdio::Lines([](absl::string_view line) {
      if (line == "last-without-newline") throw std::runtime_error("bad line");
    });
    absl::StatusOr<RunResult> r = procsandbox::RunCommand(fake, cmd);
    return r.ok() ? "" : r.status().ToString();
  });
}

// A Stdio::Lines callback for the last line of a killed program may wait for
// another process (in a child: a crash fails this test only).
TEST(MemoryStreamsTest, ALinesCallbackOfAKilledProgramMayWaitForAnother) {
  ExpectCompletesWithin(5, []() -> std::string {
    MemoryManager fake;
    fake.Register("other", [](FakeProcess& p) {
      p.Sleep(absl::Seconds(5));
      return 0;
    });
    fake.Register("server", [](FakeProcess& p) {
      p.WriteStdout("partial");
      p.Sleep(absl::Hours(1));
      return 0;
    });
    std::shared_ptr<Process> other = fake.New(Command("other"));
    if (absl::Status s = other->Start(); !s.ok()) return s.ToString();
    Command cmd("server");
    cmd.stdout_ =
        Stdio::Lines([&other](absl::string_view) { (void)other->Wait(); });
    std::shared_ptr<Process> server = fake.New(cmd);
    if (absl::Status s = server->Start(); !s.ok()) return s.ToString();
    if (absl::Status s = server->Kill(); !s.ok()) return s.ToString();
    absl::StatusOr<Outcome> outcome = server->Wait();
    if (!outcome.ok()) return outcome.status().ToString();
    return outcome->signal == internal::kSigKill ? "" : ToString(*outcome);
  });
}

}  // namespace
}  // namespace procsandbox
