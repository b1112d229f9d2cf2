// The standard streams of a Windows child: the handles it gets (the null
// device, the host's own, a handle the host named, a file, or the client end
// of a named pipe) and the parent's ends of the pipes.
//
// Anonymous pipes cannot be overlapped, so every pipe is a named one that
// only this process can reach: \\.\pipe\procsandbox-<pid>-<n>-<random>,
// created with FILE_FLAG_FIRST_PIPE_INSTANCE (a squatter who took the name
// first makes the creation fail, and another name is tried) and
// PIPE_REJECT_REMOTE_CLIENTS. The child's end is synchronous, as programs
// expect of their standard streams.
#ifndef PROCSANDBOX_SRC_WINDOWS_PIPES_H_
#define PROCSANDBOX_SRC_WINDOWS_PIPES_H_

#include <windows.h>

#include <array>

#include "absl/status/status.h"
#include "procsandbox/command.h"
#include "windows/win_error.h"

namespace procsandbox::windows_internal {

// A new pipe: `parent` is the server end (it reads when `parent_reads`,
// else it writes), overlapped when `overlapped`; `child` the client end.
// Neither is inheritable. `size` is the buffer size asked for.
absl::Status MakePipe(bool parent_reads, bool overlapped, DWORD size,
                      UniqueHandle& parent, UniqueHandle& child);

struct ChildStdio {
  // The child's stdin, stdout, stderr: three distinct handles of this
  // process (not inheritable; the spawn lets the child inherit exactly
  // these), closed by the parent after the spawn.
  std::array<UniqueHandle, 3> child;
  // The write end of a Data (overlapped) or Pipe (blocking) stdin.
  UniqueHandle stdin_write;
  // The overlapped read ends of stdout and stderr when the library or the
  // host reads them (capture, lines, chunks, pipe).
  UniqueHandle stdout_read;
  UniqueHandle stderr_read;
};

// Opens the streams `command` asks for. `pipe_size`: the buffer asked for
// output pipes. A stdin file that does not exist is
// internal::StdinFileNotFoundError; other failures name the stream.
absl::Status OpenChildStdio(const Command& command, DWORD pipe_size,
                            ChildStdio& out);

}  // namespace procsandbox::windows_internal

#endif  // PROCSANDBOX_SRC_WINDOWS_PIPES_H_
