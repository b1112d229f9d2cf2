#include "procsandbox/stdio.h"

#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace procsandbox {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

Stdio SomeLines() {
  return Stdio::Lines([](absl::string_view) {});
}

// --- Names -------------------------------------------------------------------

TEST(StreamNameTest, NamesTheThreeStreams) {
  EXPECT_EQ(StreamName(Stream::kStdin), "stdin");
  EXPECT_EQ(StreamName(Stream::kStdout), "stdout");
  EXPECT_EQ(StreamName(Stream::kStderr), "stderr");
  EXPECT_EQ(fmt::format("{}", Stream::kStderr), "stderr");
}

TEST(StdioKindNameTest, NamesEveryKind) {
  EXPECT_EQ(StdioKindName(Stdio::Kind::kDefault), "default");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kInherit), "inherit");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kNull), "null");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kPipe), "pipe");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kCapture), "capture");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kFile), "file");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kFd), "fd");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kData), "data");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kLines), "lines");
  EXPECT_EQ(StdioKindName(Stdio::Kind::kToStdout), "to_stdout");
}

// --- Factories ---------------------------------------------------------------

TEST(StdioTest, DefaultIsTheLibraryDefault) {
  EXPECT_EQ(Stdio().kind(), Stdio::Kind::kDefault);
}

TEST(StdioTest, FactoriesWithoutPayloadSetTheirKind) {
  EXPECT_EQ(Stdio::Inherit().kind(), Stdio::Kind::kInherit);
  EXPECT_EQ(Stdio::Null().kind(), Stdio::Kind::kNull);
  EXPECT_EQ(Stdio::Pipe().kind(), Stdio::Kind::kPipe);
  EXPECT_EQ(Stdio::Capture().kind(), Stdio::Kind::kCapture);
  EXPECT_EQ(Stdio::ToStdout().kind(), Stdio::Kind::kToStdout);
}

TEST(StdioTest, FileKeepsPathAndMode) {
  const Stdio stdio = Stdio::File("out.log", FileMode::kAppend);
  EXPECT_EQ(stdio.kind(), Stdio::Kind::kFile);
  EXPECT_EQ(stdio.path(), "out.log");
  EXPECT_EQ(stdio.file_mode(), FileMode::kAppend);
  EXPECT_EQ(Stdio::File("in.txt").file_mode(), FileMode::kDefault);
}

TEST(StdioTest, FdKeepsTheDescriptor) {
  const Stdio stdio = Stdio::Fd(7);
  EXPECT_EQ(stdio.kind(), Stdio::Kind::kFd);
  EXPECT_EQ(stdio.fd(), 7);
}

TEST(StdioTest, DataKeepsItsBytesIncludingNul) {
  const std::string bytes("a\0b", 3);
  const Stdio stdio = Stdio::Data(bytes);
  EXPECT_EQ(stdio.kind(), Stdio::Kind::kData);
  EXPECT_EQ(stdio.data(), bytes);
}

TEST(StdioTest, LinesCallsTheGivenCallback) {
  std::vector<std::string> lines;
  const Stdio stdio = Stdio::Lines(
      [&lines](absl::string_view line) { lines.emplace_back(line); });
  EXPECT_EQ(stdio.kind(), Stdio::Kind::kLines);
  stdio.callback()("hello");
  EXPECT_EQ(lines, std::vector<std::string>{"hello"});
}

TEST(StdioTest, ChunksCallsTheGivenCallback) {
  std::string bytes;
  const Stdio stdio = Stdio::Chunks([&bytes](absl::string_view chunk) {
    bytes.append(chunk.data(), chunk.size());
  });
  EXPECT_EQ(stdio.kind(), Stdio::Kind::kChunks);
  EXPECT_EQ(StdioKindName(stdio.kind()), "chunks");
  stdio.callback()("a\nb");
  EXPECT_EQ(bytes, "a\nb");
  const Stdio copy = stdio;
  EXPECT_EQ(copy, stdio);
  EXPECT_NE(stdio, Stdio::Chunks([](absl::string_view) {}));
}

TEST(ValidateStdioTest, ChunksIsForOutputWithACallback) {
  const Stdio chunks = Stdio::Chunks([](absl::string_view) {});
  EXPECT_TRUE(ValidateStdio(Stream::kStdout, chunks).ok());
  EXPECT_TRUE(ValidateStdio(Stream::kStderr, chunks).ok());
  const absl::Status on_stdin = ValidateStdio(Stream::kStdin, chunks);
  EXPECT_TRUE(absl::IsInvalidArgument(on_stdin));
  EXPECT_THAT(std::string(on_stdin.message()),
              ::testing::HasSubstr("Stdio::Chunks is only for stdout"));
  const absl::Status empty =
      ValidateStdio(Stream::kStdout, Stdio::Chunks(nullptr));
  EXPECT_THAT(std::string(empty.message()),
              ::testing::HasSubstr("Stdio::Chunks has an empty callback"));
}

TEST(StdioTest, CallbackOfOtherKindsIsEmpty) {
  EXPECT_FALSE(Stdio::Capture().callback());
  EXPECT_FALSE(Stdio().callback());
}

// --- Equality ----------------------------------------------------------------

TEST(StdioEqualityTest, SameKindWithoutPayloadIsEqual) {
  EXPECT_EQ(Stdio::Pipe(), Stdio::Pipe());
  EXPECT_EQ(Stdio(), Stdio());
  EXPECT_NE(Stdio::Pipe(), Stdio::Capture());
  EXPECT_NE(Stdio(), Stdio::Null());
}

TEST(StdioEqualityTest, FilesCompareByPathAndMode) {
  EXPECT_EQ(Stdio::File("a"), Stdio::File("a"));
  EXPECT_NE(Stdio::File("a"), Stdio::File("b"));
  EXPECT_NE(Stdio::File("a", FileMode::kAppend),
            Stdio::File("a", FileMode::kTruncate));
}

TEST(StdioEqualityTest, FdsAndDataCompareByPayload) {
  EXPECT_EQ(Stdio::Fd(3), Stdio::Fd(3));
  EXPECT_NE(Stdio::Fd(3), Stdio::Fd(4));
  EXPECT_EQ(Stdio::Data("x"), Stdio::Data("x"));
  EXPECT_NE(Stdio::Data("x"), Stdio::Data("y"));
}

TEST(StdioEqualityTest, PayloadOfAnotherKindDoesNotMakeThemEqual) {
  EXPECT_NE(Stdio::Data("a"), Stdio::File("a"));
}

TEST(StdioEqualityTest, LinesAreEqualOnlyAsCopiesOfOneValue) {
  const Stdio lines = SomeLines();
  const Stdio copy =
      lines;  // NOLINT(performance-unnecessary-copy-initialization)
  EXPECT_EQ(lines, copy);
  EXPECT_NE(SomeLines(), SomeLines());
}

// --- ValidateStdio: accepted kinds -------------------------------------------

TEST(ValidateStdioTest, StdinAcceptsItsKinds) {
  for (const Stdio& stdio :
       {Stdio(), Stdio::Inherit(), Stdio::Null(), Stdio::Pipe(),
        Stdio::File("in.txt"), Stdio::File("in.txt", FileMode::kRead),
        Stdio::Fd(0), Stdio::Data("bytes"), Stdio::Data("")}) {
    EXPECT_TRUE(ValidateStdio(Stream::kStdin, stdio).ok()) << stdio;
  }
}

TEST(ValidateStdioTest, StdoutAndStderrAcceptTheirKinds) {
  for (Stream stream : {Stream::kStdout, Stream::kStderr}) {
    for (const Stdio& stdio :
         {Stdio(), Stdio::Inherit(), Stdio::Null(), Stdio::Pipe(),
          Stdio::Capture(), Stdio::File("out.log"),
          Stdio::File("out.log", FileMode::kTruncate),
          Stdio::File("out.log", FileMode::kAppend), Stdio::Fd(1),
          SomeLines()}) {
      EXPECT_TRUE(ValidateStdio(stream, stdio).ok()) << stream << " " << stdio;
    }
  }
}

TEST(ValidateStdioTest, StderrAcceptsToStdout) {
  EXPECT_TRUE(ValidateStdio(Stream::kStderr, Stdio::ToStdout()).ok());
}

// --- ValidateStdio: rejected kinds -------------------------------------------

TEST(ValidateStdioTest, RejectsDataOnStdout) {
  const absl::Status s = ValidateStdio(Stream::kStdout, Stdio::Data("x"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "stdout: Stdio::Data is only for stdin");
}

TEST(ValidateStdioTest, RejectsToStdoutOnStdoutAndStdin) {
  const absl::Status out = ValidateStdio(Stream::kStdout, Stdio::ToStdout());
  EXPECT_EQ(out.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(out.message()),
            "stdout: Stdio::ToStdout is only for stderr");
  const absl::Status in = ValidateStdio(Stream::kStdin, Stdio::ToStdout());
  EXPECT_EQ(in.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(in.message()),
            "stdin: Stdio::ToStdout is only for stderr");
}

TEST(ValidateStdioTest, RejectsCaptureOnStdin) {
  const absl::Status s = ValidateStdio(Stream::kStdin, Stdio::Capture());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "stdin: Stdio::Capture is only for stdout and stderr");
}

TEST(ValidateStdioTest, RejectsLinesOnStdin) {
  const absl::Status s = ValidateStdio(Stream::kStdin, SomeLines());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "stdin: Stdio::Lines is only for stdout and stderr");
}

TEST(ValidateStdioTest, RejectsLinesWithAnEmptyCallback) {
  const absl::Status s =
      ValidateStdio(Stream::kStderr, Stdio::Lines(Stdio::LineCallback()));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "stderr: Stdio::Lines has an empty callback");
}

TEST(ValidateStdioTest, RejectsAFileOpenedForReadingOnStdout) {
  const absl::Status s =
      ValidateStdio(Stream::kStdout, Stdio::File("in.txt", FileMode::kRead));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "stdout: Stdio::File \"in.txt\" mode read is only for stdin");
}

TEST(ValidateStdioTest, RejectsAFileOpenedForWritingOnStdin) {
  for (FileMode mode : {FileMode::kTruncate, FileMode::kAppend}) {
    const absl::Status s =
        ValidateStdio(Stream::kStdin, Stdio::File("out.log", mode));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("stdin: Stdio::File \"out.log\" mode "));
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("is only for stdout and stderr"));
  }
}

TEST(ValidateStdioTest, RejectsAnEmptyPath) {
  const absl::Status s = ValidateStdio(Stream::kStdout, Stdio::File(""));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "stdout: Stdio::File has an empty path");
}

TEST(ValidateStdioTest, RejectsANulByteInThePathShowingItEscaped) {
  const absl::Status s =
      ValidateStdio(Stream::kStdin, Stdio::File(std::string("in\0.txt", 7)));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "stdin: Stdio::File path \"in\\x00.txt\" contains a NUL byte");
}

TEST(ValidateStdioTest, RejectsANegativeDescriptor) {
  const absl::Status s = ValidateStdio(Stream::kStderr, Stdio::Fd(-1));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "stderr: Stdio::Fd -1 is negative");
}

// --- ToString ----------------------------------------------------------------

TEST(StdioToStringTest, PrintsKindsWithoutPayloadByName) {
  EXPECT_EQ(ToString(Stdio()), "default");
  EXPECT_EQ(ToString(Stdio::Capture()), "capture");
  EXPECT_EQ(ToString(Stdio::ToStdout()), "to_stdout");
  EXPECT_EQ(ToString(SomeLines()), "lines");
}

TEST(StdioToStringTest, PrintsAFileWithItsModeUnlessDefault) {
  EXPECT_EQ(ToString(Stdio::File("out.log", FileMode::kAppend)),
            "file \"out.log\" (append)");
  EXPECT_EQ(ToString(Stdio::File("in.txt")), "file \"in.txt\"");
}

TEST(StdioToStringTest, PrintsTheDescriptor) {
  EXPECT_EQ(ToString(Stdio::Fd(3)), "fd 3");
}

TEST(StdioToStringTest, PrintsTheSizeOfDataNotItsBytes) {
  EXPECT_EQ(ToString(Stdio::Data("password=hunter2")), "data (16 bytes)");
  EXPECT_EQ(ToString(Stdio::Data("x")), "data (1 byte)");
  EXPECT_THAT(ToString(Stdio::Data("hunter2")), Not(HasSubstr("hunter2")));
}

TEST(StdioToStringTest, FmtAndStreamsPrintTheSame) {
  std::ostringstream os;
  os << Stdio::Fd(4);
  EXPECT_EQ(os.str(), "fd 4");
  EXPECT_EQ(fmt::format("{}", Stdio::Null()), "null");
}

}  // namespace
}  // namespace procsandbox
