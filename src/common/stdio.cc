#include "procsandbox/stdio.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/quote.h"

namespace procsandbox {
namespace {

// The factory a kind comes from, as users write it in code.
absl::string_view FactoryName(Stdio::Kind kind) {
  switch (kind) {
    case Stdio::Kind::kDefault:
      return "Stdio()";
    case Stdio::Kind::kInherit:
      return "Stdio::Inherit";
    case Stdio::Kind::kNull:
      return "Stdio::Null";
    case Stdio::Kind::kPipe:
      return "Stdio::Pipe";
    case Stdio::Kind::kCapture:
      return "Stdio::Capture";
    case Stdio::Kind::kFile:
      return "Stdio::File";
    case Stdio::Kind::kFd:
      return "Stdio::Fd";
    case Stdio::Kind::kData:
      return "Stdio::Data";
    case Stdio::Kind::kLines:
      return "Stdio::Lines";
    case Stdio::Kind::kChunks:
      return "Stdio::Chunks";
    case Stdio::Kind::kToStdout:
      return "Stdio::ToStdout";
  }
  return "Stdio::?";
}

absl::string_view FileModeName(FileMode mode) {
  switch (mode) {
    case FileMode::kDefault:
      return "default";
    case FileMode::kRead:
      return "read";
    case FileMode::kTruncate:
      return "truncate";
    case FileMode::kAppend:
      return "append";
  }
  return "unknown";
}

absl::Status StdioError(Stream stream, absl::string_view cause) {
  return absl::InvalidArgumentError(
      absl::StrCat(StreamName(stream), ": ", cause));
}

absl::Status ValidateFile(Stream stream, const Stdio& stdio) {
  if (stdio.path().empty()) {
    return StdioError(stream, "Stdio::File has an empty path");
  }
  if (stdio.path().find('\0') != std::string::npos) {
    return StdioError(
        stream, absl::StrCat("Stdio::File path ", internal::Quote(stdio.path()),
                             " contains a NUL byte"));
  }
  const FileMode mode = stdio.file_mode();
  if (stream == Stream::kStdin && mode != FileMode::kDefault &&
      mode != FileMode::kRead) {
    return StdioError(
        stream,
        absl::StrCat("Stdio::File ", internal::Quote(stdio.path()), " mode ",
                     FileModeName(mode), " is only for stdout and stderr"));
  }
  if (stream != Stream::kStdin && mode == FileMode::kRead) {
    return StdioError(
        stream, absl::StrCat("Stdio::File ", internal::Quote(stdio.path()),
                             " mode read is only for stdin"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view StreamName(Stream stream) {
  switch (stream) {
    case Stream::kStdin:
      return "stdin";
    case Stream::kStdout:
      return "stdout";
    case Stream::kStderr:
      return "stderr";
  }
  return "unknown stream";
}

Stdio Stdio::Inherit() {
  Stdio stdio;
  stdio.kind_ = Kind::kInherit;
  return stdio;
}

Stdio Stdio::Null() {
  Stdio stdio;
  stdio.kind_ = Kind::kNull;
  return stdio;
}

Stdio Stdio::Pipe() {
  Stdio stdio;
  stdio.kind_ = Kind::kPipe;
  return stdio;
}

Stdio Stdio::Capture() {
  Stdio stdio;
  stdio.kind_ = Kind::kCapture;
  return stdio;
}

Stdio Stdio::File(std::string path, FileMode mode) {
  Stdio stdio;
  stdio.kind_ = Kind::kFile;
  stdio.text_ = std::move(path);
  stdio.mode_ = mode;
  return stdio;
}

Stdio Stdio::Fd(NativeHandle fd) {
  Stdio stdio;
  stdio.kind_ = Kind::kFd;
  stdio.fd_ = fd;
  return stdio;
}

Stdio Stdio::Data(std::string bytes) {
  Stdio stdio;
  stdio.kind_ = Kind::kData;
  stdio.text_ = std::move(bytes);
  return stdio;
}

Stdio Stdio::Lines(LineCallback callback) {
  Stdio stdio;
  stdio.kind_ = Kind::kLines;
  stdio.callback_ = std::make_shared<const LineCallback>(std::move(callback));
  return stdio;
}

Stdio Stdio::Chunks(ChunkCallback callback) {
  Stdio stdio;
  stdio.kind_ = Kind::kChunks;
  stdio.callback_ = std::make_shared<const ChunkCallback>(std::move(callback));
  return stdio;
}

Stdio Stdio::ToStdout() {
  Stdio stdio;
  stdio.kind_ = Kind::kToStdout;
  return stdio;
}

const Stdio::LineCallback& Stdio::callback() const {
  // Leaked on purpose: no destructor runs at exit for a static.
  static const LineCallback* const kNoCallback = new LineCallback();
  return callback_ != nullptr ? *callback_ : *kNoCallback;
}

bool operator==(const Stdio& a, const Stdio& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Stdio::Kind::kFile:
      return a.text_ == b.text_ && a.mode_ == b.mode_;
    case Stdio::Kind::kFd:
      return a.fd_ == b.fd_;
    case Stdio::Kind::kData:
      return a.text_ == b.text_;
    case Stdio::Kind::kLines:
    case Stdio::Kind::kChunks:
      return a.callback_ == b.callback_;
    case Stdio::Kind::kDefault:
    case Stdio::Kind::kInherit:
    case Stdio::Kind::kNull:
    case Stdio::Kind::kPipe:
    case Stdio::Kind::kCapture:
    case Stdio::Kind::kToStdout:
      return true;
  }
  return false;
}

absl::string_view StdioKindName(Stdio::Kind kind) {
  switch (kind) {
    case Stdio::Kind::kDefault:
      return "default";
    case Stdio::Kind::kInherit:
      return "inherit";
    case Stdio::Kind::kNull:
      return "null";
    case Stdio::Kind::kPipe:
      return "pipe";
    case Stdio::Kind::kCapture:
      return "capture";
    case Stdio::Kind::kFile:
      return "file";
    case Stdio::Kind::kFd:
      return "fd";
    case Stdio::Kind::kData:
      return "data";
    case Stdio::Kind::kLines:
      return "lines";
    case Stdio::Kind::kChunks:
      return "chunks";
    case Stdio::Kind::kToStdout:
      return "to_stdout";
  }
  return "unknown";
}

absl::Status ValidateStdio(Stream stream, const Stdio& stdio) {
  const bool is_stdin = stream == Stream::kStdin;
  switch (stdio.kind()) {
    case Stdio::Kind::kDefault:
    case Stdio::Kind::kInherit:
    case Stdio::Kind::kNull:
    case Stdio::Kind::kPipe:
      return absl::OkStatus();
    case Stdio::Kind::kCapture:
    case Stdio::Kind::kLines:
    case Stdio::Kind::kChunks:
      if (is_stdin) {
        return StdioError(stream,
                          absl::StrCat(FactoryName(stdio.kind()),
                                       " is only for stdout and stderr"));
      }
      if (stdio.kind() != Stdio::Kind::kCapture && !stdio.callback()) {
        return StdioError(stream, absl::StrCat(FactoryName(stdio.kind()),
                                               " has an empty callback"));
      }
      return absl::OkStatus();
    case Stdio::Kind::kFile:
      return ValidateFile(stream, stdio);
    case Stdio::Kind::kFd:
      if (stdio.fd() < 0) {
        return StdioError(
            stream, absl::StrCat("Stdio::Fd ", stdio.fd(), " is negative"));
      }
      return absl::OkStatus();
    case Stdio::Kind::kData:
      if (!is_stdin) {
        return StdioError(stream, "Stdio::Data is only for stdin");
      }
      return absl::OkStatus();
    case Stdio::Kind::kToStdout:
      if (stream != Stream::kStderr) {
        return StdioError(stream, "Stdio::ToStdout is only for stderr");
      }
      return absl::OkStatus();
  }
  return StdioError(stream, "unknown Stdio kind");
}

std::string ToString(const Stdio& stdio) {
  switch (stdio.kind()) {
    case Stdio::Kind::kFile:
      if (stdio.file_mode() == FileMode::kDefault) {
        return absl::StrCat("file ", internal::Quote(stdio.path()));
      }
      return absl::StrCat("file ", internal::Quote(stdio.path()), " (",
                          FileModeName(stdio.file_mode()), ")");
    case Stdio::Kind::kFd:
      return absl::StrCat("fd ", stdio.fd());
    case Stdio::Kind::kData:
      return absl::StrCat("data (", stdio.data().size(),
                          stdio.data().size() == 1 ? " byte)" : " bytes)");
    default:
      return std::string(StdioKindName(stdio.kind()));
  }
}

}  // namespace procsandbox
