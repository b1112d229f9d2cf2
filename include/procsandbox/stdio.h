// procsandbox/stdio.h: where a child's stdin, stdout and stderr go.
//
// A `Stdio` is a plain value describing one standard stream. The default
// (`Stdio()`) means "the library's default": the null device for a bare
// `Process`, and capture of stdout/stderr for `Run()`.
//
// Example:
//   procsandbox::Command cmd("grep", {"-c", "error"});
//   cmd.stdin_ = procsandbox::Stdio::Data("ok\nerror: x\n");
//   cmd.stdout_ = procsandbox::Stdio::Capture();
//   cmd.stderr_ = procsandbox::Stdio::Lines(
//       [](absl::string_view line) { LOG(INFO) << "grep: " << line; });
//
// Which kinds a stream accepts (checked by `ValidateStdio` and at Start()):
//   stdin:          Inherit, Null, Pipe, File (read), Fd, Data
//   stdout, stderr: Inherit, Null, Pipe, Capture, File (truncate/append), Fd,
//                   Lines, Chunks; stderr also ToStdout (merged into stdout's
//                   sink).
#ifndef PROCSANDBOX_STDIO_H_
#define PROCSANDBOX_STDIO_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "procsandbox/export.h"
#include "procsandbox/format.h"

namespace procsandbox {

// One of a child's standard streams.
enum class Stream { kStdin, kStdout, kStderr };
// "stdin", "stdout", "stderr".
PROCSANDBOX_EXPORT absl::string_view StreamName(Stream stream);

// How Stdio::File opens its path.
enum class FileMode {
  kDefault,   // read for stdin, truncate for stdout/stderr
  kRead,      // stdin only; the file must exist
  kTruncate,  // created (0644 before umask) or truncated
  kAppend,    // created or appended to
};

// A descriptor on POSIX, a HANDLE on Windows.
using NativeHandle = std::intptr_t;

class PROCSANDBOX_EXPORT Stdio {
 public:
  enum class Kind {
    kDefault,  // the library's default (see the file comment)
    kInherit,  // the host's own stream
    kNull,     // the null device
    kPipe,     // interactive: Process::Write/CloseStdin, Process::ReadLine/Read
    kCapture,  // collected by the library, capped by Limits::output_bytes
    kFile,     // a file, opened by the library in the host before the spawn
    kFd,       // a descriptor/handle the host owns; the child gets a copy
    kData,     // stdin: these bytes, then end of file
    kLines,    // stdout/stderr: each line to a callback, as it arrives
    kChunks,   // stdout/stderr: the bytes to a callback, as they arrive
    kToStdout,  // stderr: the same sink as stdout (2>&1)
  };

  // Called with each line, without its trailing '\n'; a last line without a
  // newline is delivered at end of file. Called from a library thread (the OS
  // manager's reactor, or the fake's program thread), one call at a time per
  // process; it must not block for long. On the OS manager it must not wait
  // for a process of the same manager (Wait() would wait for the thread that
  // runs it) nor destroy the manager; Kill(), Terminate() and a short Write()
  // are fine.
  //
  // The OS manager reads a stream one block at a time (at most the pipe's
  // size) between its other work, so a program that floods its pipes delays
  // nothing else; what it holds for lines is that block and the unterminated
  // tail (a line without a newline is held whole until it ends, or until
  // Limits::output_bytes cuts it), however much the program writes.
  using LineCallback = std::function<void(absl::string_view line)>;
  // Called with the stream's bytes as they arrive, unchanged, in pieces of
  // any size (on the OS manager, one read of the pipe), never empty; the
  // same threads and rules as LineCallback. For forwarding output elsewhere
  // byte for byte (a last line without a newline stays without one) while
  // Limits::output_bytes counts it.
  using ChunkCallback = std::function<void(absl::string_view bytes)>;

  Stdio() = default;

  static Stdio Inherit();
  static Stdio Null();
  static Stdio Pipe();
  static Stdio Capture();
  static Stdio File(std::string path, FileMode mode = FileMode::kDefault);
  static Stdio Fd(NativeHandle fd);
  static Stdio Data(std::string bytes);
  static Stdio Lines(LineCallback callback);
  static Stdio Chunks(ChunkCallback callback);
  static Stdio ToStdout();

  Kind kind() const { return kind_; }
  // kFile: the path and mode.
  const std::string& path() const { return text_; }
  FileMode file_mode() const { return mode_; }
  // kFd: the descriptor.
  NativeHandle fd() const { return fd_; }
  // kData: the bytes.
  const std::string& data() const { return text_; }
  // kLines, kChunks: the callback (never null for them).
  const LineCallback& callback() const;

  // Equal kinds and payloads; two kLines (kChunks) values are equal only when
  // they are copies of the same Stdio::Lines() (Stdio::Chunks()) value.
  friend PROCSANDBOX_EXPORT bool operator==(const Stdio& a, const Stdio& b);
  friend bool operator!=(const Stdio& a, const Stdio& b) { return !(a == b); }

 private:
  Kind kind_ = Kind::kDefault;
  std::string text_;
  FileMode mode_ = FileMode::kDefault;
  NativeHandle fd_ = -1;
  std::shared_ptr<const LineCallback> callback_;
};

// "default", "inherit", "null", "pipe", "capture", "file", "fd", "data",
// "lines", "chunks", "to_stdout".
PROCSANDBOX_EXPORT absl::string_view StdioKindName(Stdio::Kind kind);

// OK, or InvalidArgument naming the stream and what is wrong: a kind the
// stream does not accept, an empty path or one with a NUL byte, a file mode
// that does not fit the stream, a negative descriptor, a null callback.
PROCSANDBOX_EXPORT absl::Status ValidateStdio(Stream stream,
                                              const Stdio& stdio);

// "capture", "file \"out.log\" (append)", "data (12 bytes)", ...
PROCSANDBOX_EXPORT std::string ToString(const Stdio& stdio);
inline std::string ToString(Stream stream) {
  return std::string(StreamName(stream));
}

}  // namespace procsandbox

PROCSANDBOX_FORMATTER(procsandbox::Stdio)
PROCSANDBOX_FORMATTER(procsandbox::Stream)

#endif  // PROCSANDBOX_STDIO_H_
